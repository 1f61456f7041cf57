#include "blas_loader.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stddef.h>

// CBLAS's enum values (cblas.h): passed as ints, which is how the enums are passed on every supported ABI.
enum { ROW_MAJOR = 101, NO_TRANS = 111 };

typedef void (*sgemm_fn)(int order, int trans_a, int trans_b, int m, int n, int k, float alpha, const float *a,
                         int lda, const float *b, int ldb, float beta, float *c, int ldc);
typedef int (*threads_fn)(void);

static pthread_once_t once = PTHREAD_ONCE_INIT;
static sgemm_fn sgemm;
static threads_fn openblas_threads;
static const char *failure;

static void load(void) {
    // Debian's libopenblas0 (pthread, openmp or serial variant through alternatives) first; the reference
    // CBLAS is correct but several times slower.
    static const char *const candidates[] = {"libopenblas.so.0", "libopenblas.so", "libblas.so.3", "libcblas.so.3"};
    for (size_t i = 0; i < sizeof candidates / sizeof *candidates; i++) {
        void *library = dlopen(candidates[i], RTLD_NOW | RTLD_LOCAL);
        if (library == NULL) continue;
        sgemm = (sgemm_fn)dlsym(library, "cblas_sgemm");
        if (sgemm == NULL) {
            dlclose(library);
            continue;
        }
        openblas_threads = (threads_fn)dlsym(library, "openblas_get_num_threads");
        return;  // kept loaded for the life of the process, like the extension itself
    }
    failure = "no BLAS library found (tried libopenblas.so.0, libopenblas.so, libblas.so.3, libcblas.so.3); "
              "install OpenBLAS with scripts/setup or apt-get install libopenblas0";
}

const char *aiq_blas_load(void) {
    pthread_once(&once, load);
    return failure;
}

void aiq_sgemm(int m, int n, int k, float alpha, const float *a, int lda, const float *b, int ldb, float beta,
               float *c, int ldc) {
    sgemm(ROW_MAJOR, NO_TRANS, NO_TRANS, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

int aiq_blas_threads(void) {
    int threads = openblas_threads != NULL ? openblas_threads() : 1;
    return threads > 0 ? threads : 1;
}
