/* The double instantiation of lib/mlp_t.c (see there and lib/mlp_internal.h). */
#include <math.h>
#include <string.h>

#include "mlp_internal.h"
#include "parallel.h"

#define SOMA_T double
#define SOMA_SFX(name) name##_f64
#define SOMA_K_DIRECT 1

#include "mlp_t.c"
