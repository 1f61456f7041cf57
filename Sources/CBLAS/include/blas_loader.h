// The BLAS behind the local MiniLM embedder, loaded on first use with dlopen instead of linked: loading the
// extension then neither needs libopenblas on the host nor starts OpenBLAS's thread pool in every process
// that never embeds locally.
#ifndef AIQ_BLAS_LOADER_H
#define AIQ_BLAS_LOADER_H

/// Loads OpenBLAS (else any CBLAS: Debian's libblas3 or libcblas) once per process. Returns NULL when sgemm is
/// ready, otherwise a static message naming the libraries that were tried.
const char *aiq_blas_load(void);

/// C[m, n] = alpha * A[m, k] * B[k, n] + beta * C, all row-major. Only after aiq_blas_load returned NULL.
void aiq_sgemm(int m, int n, int k, float alpha, const float *a, int lda, const float *b, int ldb, float beta,
               float *c, int ldc);

/// The threads the loaded BLAS runs sgemm on (OPENBLAS_NUM_THREADS, else the cores); 1 for a serial BLAS.
int aiq_blas_threads(void);

#endif
