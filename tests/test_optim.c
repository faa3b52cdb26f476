#include "test_common.h"

/* Parameters and gradients of the hand-checked steps. */
static const double p0[2] = {1.0, -2.0};
static const double g1[2] = {0.5, 0.25}, g2[2] = {-1.0, 4.0};

static void init_opt(soma_optim *o, soma_optimizer kind)
{
    soma_optim_config c = soma_optim_config_default(kind);
    ck_assert_int_eq(soma_optim_init(o, &c, 2, NULL), SOMA_OK);
}

START_TEST(sgd_step)
{
    soma_optim o;
    init_opt(&o, SOMA_OPTIMIZER_SGD);
    double p[2] = {p0[0], p0[1]};
    ck_assert_int_eq(soma_optim_step(&o, 0.1, p, g1), SOMA_OK);
    /* p - 0.1 g = (1 - 0.05, -2 - 0.025) */
    ck_assert_double_eq_tol(p[0], 0.95, 1e-15);
    ck_assert_double_eq_tol(p[1], -2.025, 1e-15);
    ck_assert_uint_eq(o.t, 1);
    soma_optim_free(&o);
}
END_TEST

START_TEST(momentum_and_nesterov_two_steps)
{
    const double lr = 0.1, mu = 0.9;
    for (int nesterov = 0; nesterov < 2; nesterov++) {
        soma_optim o;
        init_opt(&o, nesterov ? SOMA_OPTIMIZER_NESTEROV : SOMA_OPTIMIZER_MOMENTUM);
        double p[2] = {p0[0], p0[1]};
        ck_assert_int_eq(soma_optim_step(&o, lr, p, g1), SOMA_OK);
        ck_assert_int_eq(soma_optim_step(&o, lr, p, g2), SOMA_OK);
        for (int i = 0; i < 2; i++) {
            /* v1 = -lr g1; v2 = mu v1 - lr g2.
             * momentum: p = p0 + v1 + v2;
             * Nesterov: p = p0 + (mu v1 - lr g1) + (mu v2 - lr g2). */
            double v1 = -lr * g1[i], v2 = mu * v1 - lr * g2[i];
            double want = nesterov
                              ? p0[i] + (mu * v1 - lr * g1[i]) + (mu * v2 - lr * g2[i])
                              : p0[i] + v1 + v2;
            ck_assert_double_eq_tol(p[i], want, 1e-14);
            ck_assert_double_eq_tol(o.v[i], v2, 1e-15);
        }
        soma_optim_free(&o);
    }
}
END_TEST

START_TEST(adam_two_steps_with_bias_correction)
{
    const double lr = 0.01, b1 = 0.9, b2 = 0.999, eps = 1e-8;
    soma_optim o;
    init_opt(&o, SOMA_OPTIMIZER_ADAM);
    double p[2] = {p0[0], p0[1]};
    ck_assert_int_eq(soma_optim_step(&o, lr, p, g1), SOMA_OK);
    ck_assert_int_eq(soma_optim_step(&o, lr, p, g2), SOMA_OK);
    for (int i = 0; i < 2; i++) {
        long double m = (1 - b1) * g1[i], s = (1 - b2) * g1[i] * g1[i];
        /* Step 1: mhat = g, shat = g^2, so the update is lr g / (|g| + eps). */
        long double p1 = p0[i] - lr * (m / (1 - b1)) / (sqrtl(s / (1 - b2)) + eps);
        ck_assert(fabsl(p1 - (p0[i] - lr * g1[i] / (fabs(g1[i]) + eps))) < 1e-15);
        m = b1 * m + (1 - b1) * g2[i];
        s = b2 * s + (1 - b2) * g2[i] * g2[i];
        long double mhat = m / (1 - (long double)b1 * b1);
        long double shat = s / (1 - (long double)b2 * b2);
        long double p2 = p1 - lr * mhat / (sqrtl(shat) + eps);
        ck_assert_double_eq_tol(p[i], (double)p2, 1e-14);
    }
    ck_assert_uint_eq(o.t, 2);
    ck_assert_int_eq(soma_optim_reset(&o), SOMA_OK);
    ck_assert_uint_eq(o.t, 0);
    ck_assert_double_eq(o.v[0], 0.0);
    ck_assert_double_eq(o.s[1], 0.0);
    soma_optim_free(&o);
    soma_optim_free(&o);
    soma_optim_free(NULL);
}
END_TEST

START_TEST(schedules_follow_their_formulas)
{
    soma_lr_schedule s = {SOMA_SCHEDULE_CONSTANT, 0.5, 3, 10, 0.001};
    double lr;
    ck_assert_int_eq(soma_lr_schedule_value(&s, 0.1, 7, &lr), SOMA_OK);
    ck_assert_double_eq(lr, 0.1);
    s.kind = SOMA_SCHEDULE_STEP; /* 0.1 * 0.5^floor(7/3) = 0.025 */
    ck_assert_int_eq(soma_lr_schedule_value(&s, 0.1, 7, &lr), SOMA_OK);
    ck_assert_double_eq_tol(lr, 0.025, 1e-17);
    ck_assert_int_eq(soma_lr_schedule_value(&s, 0.1, 2, &lr), SOMA_OK);
    ck_assert_double_eq(lr, 0.1);
    s.kind = SOMA_SCHEDULE_EXPONENTIAL; /* 0.1 * 0.5^7 */
    ck_assert_int_eq(soma_lr_schedule_value(&s, 0.1, 7, &lr), SOMA_OK);
    ck_assert_double_eq_tol(lr, 0.1 / 128.0, 1e-17);
    s.kind = SOMA_SCHEDULE_COSINE; /* half way: the mean of lr0 and lr_min */
    ck_assert_int_eq(soma_lr_schedule_value(&s, 0.1, 5, &lr), SOMA_OK);
    ck_assert_double_eq_tol(lr, (0.1 + 0.001) / 2, 1e-16);
    ck_assert_int_eq(soma_lr_schedule_value(&s, 0.1, 0, &lr), SOMA_OK);
    ck_assert_double_eq_tol(lr, 0.1, 1e-17);
    ck_assert_int_eq(soma_lr_schedule_value(&s, 0.1, 25, &lr), SOMA_OK); /* past T */
    ck_assert_double_eq_tol(lr, 0.001, 1e-17);
}
END_TEST

START_TEST(bad_arguments)
{
    soma_optim o, before;
    memset(&o, 0x5A, sizeof o);
    before = o;
    soma_optim_config c = soma_optim_config_default(SOMA_OPTIMIZER_ADAM);
    c.beta1 = 1.0;
    ck_assert_int_eq(soma_optim_init(&o, &c, 2, NULL), SOMA_EINVAL);
    c = soma_optim_config_default(SOMA_OPTIMIZER_ADAM);
    c.epsilon = 0.0;
    ck_assert_int_eq(soma_optim_init(&o, &c, 2, NULL), SOMA_EINVAL);
    c = soma_optim_config_default(SOMA_OPTIMIZER_MOMENTUM);
    c.momentum = NAN;
    ck_assert_int_eq(soma_optim_init(&o, &c, 2, NULL), SOMA_EINVAL);
    c = soma_optim_config_default((soma_optimizer)99);
    ck_assert_int_eq(soma_optim_init(&o, &c, 2, NULL), SOMA_EINVAL);
    c = soma_optim_config_default(SOMA_OPTIMIZER_SGD);
    ck_assert_int_eq(soma_optim_init(NULL, &c, 2, NULL), SOMA_EINVAL);
    ck_assert_int_eq(soma_optim_init(&o, NULL, 2, NULL), SOMA_EINVAL);
    ck_assert_int_eq(soma_optim_init(&o, &c, SIZE_MAX / 4, NULL), SOMA_EOVERFLOW);
    ck_assert_mem_eq(&o, &before, sizeof o);

    test_alloc t;
    soma_allocator a = test_allocator(&t);
    c = soma_optim_config_default(SOMA_OPTIMIZER_ADAM);
    t.fail_at = 2; /* the second moment */
    ck_assert_int_eq(soma_optim_init(&o, &c, 2, &a), SOMA_ENOMEM);
    ck_assert_uint_eq(t.live_bytes, 0);
    ck_assert_mem_eq(&o, &before, sizeof o);

    init_opt(&o, SOMA_OPTIMIZER_SGD);
    double p[2] = {1, 2};
    ck_assert_int_eq(soma_optim_step(&o, -0.1, p, g1), SOMA_EINVAL);
    ck_assert_int_eq(soma_optim_step(&o, NAN, p, g1), SOMA_EINVAL);
    ck_assert_int_eq(soma_optim_step(&o, INFINITY, p, g1), SOMA_EINVAL);
    ck_assert_int_eq(soma_optim_step(&o, 0.1, NULL, g1), SOMA_EINVAL);
    ck_assert_int_eq(soma_optim_step(&o, 0.1, p, NULL), SOMA_EINVAL);
    ck_assert_int_eq(soma_optim_step(NULL, 0.1, p, g1), SOMA_EINVAL);
    ck_assert_double_eq(p[0], 1.0);
    ck_assert_uint_eq(o.t, 0);
    soma_optim_free(&o);

    soma_lr_schedule s = {SOMA_SCHEDULE_STEP, 0.5, 0, 10, 0.0};
    double lr = 7.0;
    ck_assert_int_eq(soma_lr_schedule_value(&s, 0.1, 1, &lr), SOMA_EINVAL); /* step 0 */
    s.step = 2;
    s.gamma = 1.5;
    ck_assert_int_eq(soma_lr_schedule_value(&s, 0.1, 1, &lr), SOMA_EINVAL);
    s.kind = SOMA_SCHEDULE_COSINE;
    s.lr_min = 0.2; /* above lr0 */
    ck_assert_int_eq(soma_lr_schedule_value(&s, 0.1, 1, &lr), SOMA_EINVAL);
    s.kind = (soma_schedule)42;
    ck_assert_int_eq(soma_lr_schedule_value(&s, 0.1, 1, &lr), SOMA_EINVAL);
    s.kind = SOMA_SCHEDULE_CONSTANT;
    ck_assert_int_eq(soma_lr_schedule_value(&s, 0.0, 1, &lr), SOMA_EINVAL);
    ck_assert_int_eq(soma_lr_schedule_value(&s, 0.1, 1, NULL), SOMA_EINVAL);
    ck_assert_int_eq(soma_lr_schedule_value(NULL, 0.1, 1, &lr), SOMA_EINVAL);
    ck_assert_double_eq(lr, 7.0);
    ck_assert_str_eq(soma_optimizer_name(SOMA_OPTIMIZER_ADAM), "adam");
    ck_assert_ptr_null(soma_optimizer_name(SOMA_OPTIMIZER_COUNT));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("optim");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, sgd_step);
    tcase_add_test(tc, momentum_and_nesterov_two_steps);
    tcase_add_test(tc, adam_two_steps_with_bias_correction);
    tcase_add_test(tc, schedules_follow_their_formulas);
    tcase_add_test(tc, bad_arguments);
    suite_add_tcase(s, tc);
    return test_run(s);
}
