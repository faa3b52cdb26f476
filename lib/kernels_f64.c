/* The double instantiation of lib/kernels_t.c (see lib/kernels.h). */
#include <float.h>
#include <math.h>
#include <string.h>

#include "kernels.h"
#include "parallel.h"
#include "vmath.h"

#if !defined(SOMA_GEMM_NAIVE)
#include <cblas.h>
#endif

#define SOMA_T double
#define SOMA_SFX(name) name##_f64
#define SOMA_K_FABS fabs
#define SOMA_K_SQRT sqrt
#define SOMA_K_CBLAS_GEMM cblas_dgemm
#define SOMA_K_GEMM_SMALL soma__gemm_small
/* The largest finite value (swish clamps -inf to its negative). */
#define SOMA_K_MAX DBL_MAX
/* Below this |z|, sigmoid(z) = 1/2 to double precision. */
#define SOMA_K_SWISH_TINY 0x1p-600
#define SOMA_K_LOSS_EPS SOMA_LOSS_EPS

#include "kernels_t.c"
