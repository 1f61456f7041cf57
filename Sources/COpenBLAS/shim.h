// OpenBLAS's CBLAS for the local MiniLM embedder's matrix products.
// Debian/Ubuntu (libopenblas-dev) put cblas.h under /usr/include/<multiarch>/, which the compiler searches by
// default; the file is an alternatives link to openblas-pthread/cblas.h (or openblas-openmp/, -serial/).
#ifndef AIQ_COPENBLAS_SHIM_H
#define AIQ_COPENBLAS_SHIM_H
#include <cblas.h>
#endif
