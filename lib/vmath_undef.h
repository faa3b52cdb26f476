/* Forget the type parameters of one lib/vmath_t.h instantiation (see
 * vmath.h). No include guard: included after each instantiation. */
#undef VM_T
#undef VM_U
#undef VM_
#undef VM_K_MANT_BITS
#undef VM_K_BIAS
#undef VM_K_MANT_MASK
#undef VM_K_TWO_MANT
#undef VM_K_LOG2E
#undef VM_K_LN2_HI
#undef VM_K_LN2_LO
#undef VM_K_SHIFTER
#undef VM_K_SQRT2
#undef VM_K_EXP_MAX
#undef VM_K_EXP_MIN
#undef VM_K_EXP_OFF
#undef VM_K_EXP_UNOFF
#undef VM_K_EXPM1_MIN
#undef VM_K_HALF_MAX
#undef VM_K_MIN_NORMAL
#undef VM_K_SUB_SCALE
#undef VM_K_SUB_LOG2
#undef VM_K_INF
#undef VM_K_NAN
#undef VM_K_FABS
#undef VM_K_COPYSIGN
#undef VM_K_LANES
