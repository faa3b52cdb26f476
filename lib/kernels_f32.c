/* The float instantiation of lib/kernels_t.c (see lib/kernels.h). */
#include <float.h>
#include <math.h>
#include <string.h>

#include "kernels.h"
#include "parallel.h"
#include "vmath.h"

#if !defined(SOMA_GEMM_NAIVE)
#include <cblas.h>
#endif

#define SOMA_T float
#define SOMA_SFX(name) name##_f32
#define SOMA_K_FABS fabsf
#define SOMA_K_SQRT sqrtf
#define SOMA_K_CBLAS_GEMM cblas_sgemm
/* The largest finite value (swish clamps -inf to its negative). */
#define SOMA_K_MAX FLT_MAX
/* Below this |z|, sigmoid(z) = 1/2 to float precision (and z / 2 is normal). */
#define SOMA_K_SWISH_TINY 0x1p-60f
/* 1 - SOMA_LOSS_EPS rounds to 1 in float: float models clamp with 2^-24,
 * whose complement 1 - 2^-24 is the largest float below 1. */
#define SOMA_K_LOSS_EPS ((float)SOMA_LOSS_EPS_F32)

#include "kernels_t.c"
