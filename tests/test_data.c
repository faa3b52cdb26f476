#include "test_common.h"

#define PI 3.141592653589793238463

static soma_rng seeded(uint64_t seed)
{
    soma_rng r;
    ck_assert_int_eq(soma_rng_seed(&r, seed), SOMA_OK);
    return r;
}

static void moments(const double *x, size_t n, size_t stride, double *mean, double *sd)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += x[i * stride];
    *mean = s / (double)n;
    double v = 0;
    for (size_t i = 0; i < n; i++)
        v += (x[i * stride] - *mean) * (x[i * stride] - *mean);
    *sd = sqrt(v / (double)n);
}

/* Rows as sortable records: the row's values (optionally sorted within the
 * row) followed by the label. Sorting the records of two data sets and
 * comparing them checks that one is a row (and column) permutation of the
 * other. */
static size_t rec_width;
static int rec_cmp(const void *a, const void *b)
{
    const double *x = a, *y = b;
    for (size_t j = 0; j < rec_width; j++)
        if (x[j] != y[j])
            return x[j] < y[j] ? -1 : 1;
    return 0;
}
static int dbl_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : (x > y);
}
static double *records(const soma_matrix *X, const soma_matrix *y, bool sort_within)
{
    const size_t w = X->cols + 1;
    double *r = malloc(X->rows * w * sizeof *r);
    for (size_t i = 0; i < X->rows; i++) {
        memcpy(r + i * w, soma_matrix_at(X, i, 0), X->cols * sizeof(double));
        if (sort_within)
            qsort(r + i * w, X->cols, sizeof(double), dbl_cmp);
        r[i * w + X->cols] = y->data[i];
    }
    rec_width = w;
    qsort(r, X->rows, w * sizeof(double), rec_cmp);
    return r;
}
static void assert_same_rows(const soma_matrix *X1, const soma_matrix *y1,
                             const soma_matrix *X2, const soma_matrix *y2,
                             bool sort_within)
{
    ck_assert_uint_eq(X1->rows, X2->rows);
    ck_assert_uint_eq(X1->cols, X2->cols);
    double *a = records(X1, y1, sort_within), *b = records(X2, y2, sort_within);
    ck_assert_mem_eq(a, b, X1->rows * (X1->cols + 1) * sizeof(double));
    free(a);
    free(b);
}

static void assert_bitwise_equal(const soma_matrix *a, const soma_matrix *b)
{
    ck_assert_uint_eq(a->rows, b->rows);
    ck_assert_uint_eq(a->cols, b->cols);
    ck_assert_mem_eq(a->data, b->data, a->rows * a->cols * sizeof(double));
}

/* ---- circles and moons -------------------------------------------------- */

START_TEST(circles_geometry)
{
    /* 101 points: 50 on the unit circle (label 0) at angles 2 pi i / 50,
     * 51 on the circle of radius 0.3 (label 1) at 2 pi i / 51. */
    soma_rng r = seeded(1);
    soma_matrix X, y;
    ck_assert_int_eq(soma_make_circles(&r, 101, 0.0, 0.3, false, &X, &y, NULL, NULL),
                     SOMA_OK);
    ck_assert_uint_eq(X.rows, 101);
    ck_assert_uint_eq(X.cols, 2);
    ck_assert_uint_eq(y.rows, 101);
    ck_assert_uint_eq(y.cols, 1);
    for (size_t i = 0; i < 101; i++) {
        bool outer = i < 50;
        size_t k = outer ? i : i - 50, m = outer ? 50 : 51;
        double rad = outer ? 1.0 : 0.3, t = 2.0 * PI * (double)k / (double)m;
        ck_assert_double_eq(y.data[i], outer ? 0.0 : 1.0);
        ck_assert_double_eq_tol(X.data[2 * i], rad * cos(t), 1e-15);
        ck_assert_double_eq_tol(X.data[2 * i + 1], rad * sin(t), 1e-15);
        ck_assert_double_eq_tol(hypot(X.data[2 * i], X.data[2 * i + 1]), rad, 1e-15);
    }
    /* Shuffled: the same points in another order. */
    soma_matrix Xs, ys;
    ck_assert_int_eq(soma_make_circles(&r, 101, 0.0, 0.3, true, &Xs, &ys, NULL, NULL),
                     SOMA_OK);
    assert_same_rows(&X, &y, &Xs, &ys, false);
    ck_assert_mem_ne(X.data, Xs.data, 101 * 2 * sizeof(double));
    soma_matrix_free(&Xs);
    soma_matrix_free(&ys);
    soma_matrix_free(&X);
    soma_matrix_free(&y);

    /* One sample: it goes to the inner circle, as in scikit-learn. */
    ck_assert_int_eq(soma_make_circles(&r, 1, 0.0, 0.5, true, &X, &y, NULL, NULL),
                     SOMA_OK);
    ck_assert_double_eq(y.data[0], 1.0);
    ck_assert_double_eq(X.data[0], 0.5);
    soma_matrix_free(&X);
    soma_matrix_free(&y);
}
END_TEST

START_TEST(shuffle_is_uniform)
{
    /* make_circles(4, noise 0, shuffle): the point (1, 0) (row 0 before
     * shuffling) lands in each of the 4 rows with probability 1/4. In 6000
     * draws each count has mean 1500 and sd sqrt(6000 / 4 * 3 / 4) = 33.5;
     * the bound 200 is 6 sd. */
    soma_rng r = seeded(21);
    size_t where[4] = {0};
    for (size_t k = 0; k < 6000; k++) {
        soma_matrix X, y;
        ck_assert_int_eq(soma_make_circles(&r, 4, 0.0, 0.5, true, &X, &y, NULL, NULL),
                         SOMA_OK);
        size_t found = 4;
        for (size_t i = 0; i < 4; i++)
            if (X.data[2 * i] == 1.0)
                found = i;
        ck_assert_uint_lt(found, 4);
        where[found]++;
        soma_matrix_free(&X);
        soma_matrix_free(&y);
    }
    for (size_t i = 0; i < 4; i++)
        ck_assert_double_lt(fabs((double)where[i] - 1500.0), 200.0);
}
END_TEST

START_TEST(circles_noise_scale)
{
    /* Unshuffled, the noise is X minus the known clean points: 2n = 40000
     * draws of N(0, 0.1^2). Standard errors: mean 0.1 / 200 = 5e-4, sd
     * 0.1 / sqrt(2 * 40000) = 3.5e-4. Bounds: 5 standard errors. */
    const size_t n = 20000;
    const double sigma = 0.1;
    soma_rng r = seeded(2);
    soma_matrix X, y;
    ck_assert_int_eq(soma_make_circles(&r, n, sigma, 0.5, false, &X, &y, NULL, NULL),
                     SOMA_OK);
    double *e = malloc(2 * n * sizeof *e);
    for (size_t i = 0; i < n; i++) {
        bool outer = i < n / 2;
        size_t k = outer ? i : i - n / 2;
        double rad = outer ? 1.0 : 0.5, t = 2.0 * PI * (double)k / (double)(n / 2);
        e[2 * i] = X.data[2 * i] - rad * cos(t);
        e[2 * i + 1] = X.data[2 * i + 1] - rad * sin(t);
    }
    double m, sd;
    moments(e, 2 * n, 1, &m, &sd);
    ck_assert_double_lt(fabs(m), 5 * 5e-4);
    ck_assert_double_lt(fabs(sd - sigma), 5 * 3.5e-4);
    /* Radii: mean ~ 1 and ~ factor (+ sigma^2 / 2r from the tangential
     * part), spread ~ sigma. */
    double *rad = malloc(n / 2 * sizeof *rad);
    for (size_t c = 0; c < 2; c++) {
        for (size_t i = 0; i < n / 2; i++) {
            size_t row = c * (n / 2) + i;
            rad[i] = hypot(X.data[2 * row], X.data[2 * row + 1]);
        }
        moments(rad, n / 2, 1, &m, &sd);
        double expect = c == 0 ? 1.0 : 0.5;
        ck_assert_double_lt(fabs(m - expect), 0.02);
        ck_assert_double_lt(fabs(sd - sigma), 0.01);
    }
    free(rad);
    free(e);
    soma_matrix_free(&X);
    soma_matrix_free(&y);
}
END_TEST

START_TEST(moons_geometry)
{
    /* 100 points: 50 on (cos t, sin t), 50 on (1 - cos t, 1 - sin t - 0.5),
     * t = pi i / 49 including both ends. */
    soma_rng r = seeded(3);
    soma_matrix X, y;
    ck_assert_int_eq(soma_make_moons(&r, 100, 0.0, false, &X, &y, NULL, NULL), SOMA_OK);
    for (size_t i = 0; i < 100; i++) {
        bool outer = i < 50;
        size_t k = outer ? i : i - 50;
        double t = PI * (double)k / 49.0;
        double ex = outer ? cos(t) : 1.0 - cos(t);
        double ey = outer ? sin(t) : 1.0 - sin(t) - 0.5;
        ck_assert_double_eq(y.data[i], outer ? 0.0 : 1.0);
        ck_assert_double_eq_tol(X.data[2 * i], ex, 1e-15);
        ck_assert_double_eq_tol(X.data[2 * i + 1], ey, 1e-15);
    }
    /* End points exactly: (1, 0), (-1, ~0), (0, 0.5), (2, ~0.5). */
    ck_assert_double_eq(X.data[0], 1.0);
    ck_assert_double_eq(X.data[1], 0.0);
    ck_assert_double_eq(X.data[2 * 49], -1.0);
    ck_assert_double_eq(X.data[2 * 50], 0.0);
    ck_assert_double_eq(X.data[2 * 50 + 1], 0.5);
    ck_assert_double_eq(X.data[2 * 99], 2.0);
    soma_matrix Xs, ys;
    ck_assert_int_eq(soma_make_moons(&r, 100, 0.0, true, &Xs, &ys, NULL, NULL), SOMA_OK);
    assert_same_rows(&X, &y, &Xs, &ys, false);
    soma_matrix_free(&Xs);
    soma_matrix_free(&ys);
    soma_matrix_free(&X);
    soma_matrix_free(&y);

    /* Noise: residual sd within 5 standard errors (0.05 / sqrt(2 * 20000)). */
    ck_assert_int_eq(soma_make_moons(&r, 10000, 0.05, false, &X, &y, NULL, NULL),
                     SOMA_OK);
    double *e = malloc(20000 * sizeof *e);
    for (size_t i = 0; i < 10000; i++) {
        bool outer = i < 5000;
        size_t k = outer ? i : i - 5000;
        double t = k == 4999 ? PI : PI / 4999.0 * (double)k;
        e[2 * i] = X.data[2 * i] - (outer ? cos(t) : 1.0 - cos(t));
        e[2 * i + 1] = X.data[2 * i + 1] - (outer ? sin(t) : 1.0 - sin(t) - 0.5);
    }
    double m, sd;
    moments(e, 20000, 1, &m, &sd);
    ck_assert_double_lt(fabs(m), 5 * 0.05 / sqrt(20000.0));
    ck_assert_double_lt(fabs(sd - 0.05), 5 * 0.05 / sqrt(40000.0));
    free(e);
    soma_matrix_free(&X);
    soma_matrix_free(&y);

    ck_assert_int_eq(soma_make_moons(&r, 1, 0.0, false, &X, &y, NULL, NULL), SOMA_OK);
    ck_assert_double_eq(y.data[0], 1.0);
    ck_assert_double_eq(X.data[0], 0.0);
    ck_assert_double_eq(X.data[1], 0.5);
    soma_matrix_free(&X);
    soma_matrix_free(&y);
}
END_TEST

START_TEST(two_class_generators_bad_input)
{
    soma_rng r = seeded(4);
    soma_matrix X, y;
    memset(&X, 0x5A, sizeof X);
    soma_matrix before = X;
    ck_assert_int_eq(soma_make_circles(NULL, 10, 0, 0.5, true, &X, &y, NULL, NULL),
                     SOMA_EINVAL);
    ck_assert_int_eq(soma_make_circles(&r, 10, 0, 0.5, true, NULL, &y, NULL, NULL),
                     SOMA_EINVAL);
    ck_assert_int_eq(soma_make_circles(&r, 10, 0, 0.5, true, &X, NULL, NULL, NULL),
                     SOMA_EINVAL);
    ck_assert_int_eq(soma_make_circles(&r, 0, 0, 0.5, true, &X, &y, NULL, NULL),
                     SOMA_EINVAL);
    ck_assert_int_eq(soma_make_circles(&r, 10, -0.1, 0.5, true, &X, &y, NULL, NULL),
                     SOMA_EINVAL);
    ck_assert_int_eq(soma_make_circles(&r, 10, NAN, 0.5, true, &X, &y, NULL, NULL),
                     SOMA_EINVAL);
    ck_assert_int_eq(soma_make_circles(&r, 10, 0, 1.0, true, &X, &y, NULL, NULL),
                     SOMA_EINVAL);
    ck_assert_int_eq(soma_make_circles(&r, 10, 0, -0.1, true, &X, &y, NULL, NULL),
                     SOMA_EINVAL);
    ck_assert_int_eq(soma_make_moons(&r, 0, 0, true, &X, &y, NULL, NULL), SOMA_EINVAL);
    ck_assert_int_eq(soma_make_moons(&r, 5, INFINITY, true, &X, &y, NULL, NULL),
                     SOMA_EINVAL);
    ck_assert_int_eq(soma_make_moons(NULL, 5, 0, true, &X, &y, NULL, NULL), SOMA_EINVAL);
    test_alloc t;
    soma_allocator a = test_allocator(&t);
    for (size_t k = 1; k <= 2; k++) {
        t.fail_at = t.allocs + k;
        ck_assert_int_eq(soma_make_circles(&r, 10, 0, 0.5, true, &X, &y, &a, NULL),
                         SOMA_ENOMEM);
        t.fail_at = t.allocs + k;
        ck_assert_int_eq(soma_make_moons(&r, 10, 0, true, &X, &y, &a, NULL), SOMA_ENOMEM);
    }
    ck_assert_uint_eq(t.live_bytes, 0);
    ck_assert_mem_eq(&X, &before, sizeof X);
}
END_TEST

/* ---- blobs ---------------------------------------------------------------- */

START_TEST(blobs_statistics)
{
    /* 30001 points on three given centers with sds 0.5, 1, 2, unshuffled:
     * counts 10001, 10000, 10000 in label order. The mean of 10^4 draws has
     * standard error sd / 100 (<= 0.02); the sd estimate relative standard
     * error 1 / sqrt(2 * 10^4) = 0.7%. Bounds: 5 standard errors. */
    double cb[6] = {0, 0, 10, 0, 0, 10}, stds[3] = {0.5, 1.0, 2.0};
    soma_matrix C;
    ck_assert_int_eq(soma_matrix_view(&C, cb, 3, 2, 2), SOMA_OK);
    soma_make_blobs_options o = soma_make_blobs_defaults();
    o.n_samples = 30001;
    o.centers = &C;
    o.cluster_stds = stds;
    o.shuffle = false;
    soma_rng r = seeded(5);
    soma_matrix X, y, used;
    ck_assert_int_eq(soma_make_blobs(&r, &o, &X, &y, &used, NULL, NULL), SOMA_OK);
    ck_assert_uint_eq(X.cols, 2);
    ck_assert_mem_eq(used.data, cb, sizeof cb);
    size_t start = 0;
    for (size_t c = 0; c < 3; c++) {
        size_t count = c == 0 ? 10001 : 10000;
        for (size_t i = 0; i < count; i++)
            ck_assert_double_eq(y.data[start + i], (double)c);
        for (size_t j = 0; j < 2; j++) {
            double m, sd;
            moments(X.data + start * 2 + j, count, 2, &m, &sd);
            ck_assert_double_lt(fabs(m - cb[2 * c + j]), 5 * stds[c] / 100.0);
            ck_assert_double_lt(fabs(sd / stds[c] - 1.0), 5 * 0.0071);
        }
        start += count;
    }
    soma_matrix_free(&used);
    soma_matrix_free(&X);
    soma_matrix_free(&y);

    /* Defaults: 100 points, 3 random centers in [-10, 10)^2, shuffled;
     * counts 34, 33, 33. */
    ck_assert_int_eq(soma_make_blobs(&r, NULL, &X, &y, &used, NULL, NULL), SOMA_OK);
    ck_assert_uint_eq(X.rows, 100);
    ck_assert_uint_eq(used.rows, 3);
    ck_assert_uint_eq(used.cols, 2);
    for (size_t i = 0; i < 6; i++) {
        ck_assert_double_ge(used.data[i], -10.0);
        ck_assert_double_lt(used.data[i], 10.0);
    }
    size_t counts[3] = {0};
    for (size_t i = 0; i < 100; i++)
        counts[(size_t)y.data[i]]++;
    ck_assert_uint_eq(counts[0], 34);
    ck_assert_uint_eq(counts[1], 33);
    ck_assert_uint_eq(counts[2], 33);
    soma_matrix_free(&used);
    soma_matrix_free(&X);
    soma_matrix_free(&y);
}
END_TEST

START_TEST(blobs_bad_input)
{
    soma_rng r = seeded(6);
    soma_matrix X = {0}, y = {0}, zero = {0};
    soma_make_blobs_options o = soma_make_blobs_defaults();
    ck_assert_int_eq(soma_make_blobs(NULL, &o, &X, &y, NULL, NULL, NULL), SOMA_EINVAL);
    ck_assert_int_eq(soma_make_blobs(&r, &o, NULL, &y, NULL, NULL, NULL), SOMA_EINVAL);
    o.n_samples = 0;
    ck_assert_int_eq(soma_make_blobs(&r, &o, &X, &y, NULL, NULL, NULL), SOMA_EINVAL);
    o = soma_make_blobs_defaults();
    o.n_centers = 0;
    ck_assert_int_eq(soma_make_blobs(&r, &o, &X, &y, NULL, NULL, NULL), SOMA_EINVAL);
    o = soma_make_blobs_defaults();
    o.cluster_std = -1;
    ck_assert_int_eq(soma_make_blobs(&r, &o, &X, &y, NULL, NULL, NULL), SOMA_EINVAL);
    o = soma_make_blobs_defaults();
    o.center_box_lo = 5;
    o.center_box_hi = 5;
    ck_assert_int_eq(soma_make_blobs(&r, &o, &X, &y, NULL, NULL, NULL), SOMA_EINVAL);
    o.center_box_hi = INFINITY;
    ck_assert_int_eq(soma_make_blobs(&r, &o, &X, &y, NULL, NULL, NULL), SOMA_EINVAL);
    o = soma_make_blobs_defaults();
    double stds[3] = {1, NAN, 1};
    o.cluster_stds = stds;
    ck_assert_int_eq(soma_make_blobs(&r, &o, &X, &y, NULL, NULL, NULL), SOMA_EINVAL);
    o = soma_make_blobs_defaults();
    double cb[2] = {1, NAN};
    soma_matrix C, Cbad = {1, 2, 1, cb, false, {0}}, Cempty = {0, 2, 2, NULL, false, {0}};
    ck_assert_int_eq(soma_matrix_view(&C, cb, 1, 2, 2), SOMA_OK);
    o.centers = &C;
    ck_assert_int_eq(soma_make_blobs(&r, &o, &X, &y, NULL, NULL, NULL), SOMA_ENONFINITE);
    o.centers = &Cbad;
    ck_assert_int_eq(soma_make_blobs(&r, &o, &X, &y, NULL, NULL, NULL), SOMA_EINVAL);
    o.centers = &Cempty;
    ck_assert_int_eq(soma_make_blobs(&r, &o, &X, &y, NULL, NULL, NULL), SOMA_EINVAL);
    ck_assert_mem_eq(&X, &zero, sizeof X);
    ck_assert_mem_eq(&y, &zero, sizeof y);

    test_alloc t;
    soma_allocator a = test_allocator(&t);
    soma_matrix cen = {0};
    for (size_t k = 1; k <= 3; k++) {
        t.fail_at = t.allocs + k;
        ck_assert_int_eq(soma_make_blobs(&r, NULL, &X, &y, &cen, &a, NULL), SOMA_ENOMEM);
        ck_assert_uint_eq(t.live_bytes, 0);
    }
    t.fail_at = 0;
    ck_assert_mem_eq(&X, &zero, sizeof X);
    ck_assert_mem_eq(&cen, &zero, sizeof cen);
    ck_assert_int_eq(soma_make_blobs(&r, NULL, &X, &y, NULL, &a, NULL), SOMA_OK);
    soma_matrix_free(&X);
    soma_matrix_free(&y);
    ck_assert_uint_eq(t.live_bytes, 0);
}
END_TEST

/* ---- make_classification ---------------------------------------------------- */

static soma_make_classification_options plain_options(void)
{
    /* No shuffle, no label noise, no shift or scale: the raw construction,
     * columns [informative | redundant | repeated | noise] and clusters one
     * after the other. */
    soma_make_classification_options o = soma_make_classification_defaults();
    o.shuffle = false;
    o.flip_y = 0.0;
    return o;
}

/* Solve the k x k system A x = b (k <= 4) by Gaussian elimination with
 * partial pivoting; A and b are overwritten. */
static void solve(double *A, double *b, size_t k, double *x)
{
    for (size_t c = 0; c < k; c++) {
        size_t p = c;
        for (size_t r = c + 1; r < k; r++)
            if (fabs(A[r * k + c]) > fabs(A[p * k + c]))
                p = r;
        for (size_t j = 0; j < k; j++) {
            double t = A[c * k + j];
            A[c * k + j] = A[p * k + j];
            A[p * k + j] = t;
        }
        double t = b[c];
        b[c] = b[p];
        b[p] = t;
        for (size_t r = c + 1; r < k; r++) {
            double f = A[r * k + c] / A[c * k + c];
            for (size_t j = c; j < k; j++)
                A[r * k + j] -= f * A[c * k + j];
            b[r] -= f * b[c];
        }
    }
    for (size_t c = k; c-- > 0;) {
        double s = b[c];
        for (size_t j = c + 1; j < k; j++)
            s -= A[c * k + j] * x[j];
        x[c] = s / A[c * k + c];
    }
}

START_TEST(classification_structure)
{
    /* n 4000, 10 features: 3 informative, 2 redundant, 2 repeated, 3 noise;
     * 3 classes x 2 clusters = 6 clusters on vertices of the 3-cube, sides
     * 2 * class_sep = 6. Samples per cluster: floor(4000 / 3 / 2) = 666,
     * 3996 in all; the 4 left over go to clusters 0..3: 667 667 667 667 666
     * 666. Class c owns clusters c and c + 3. */
    soma_make_classification_options o = plain_options();
    o.n_samples = 4000;
    o.n_features = 10;
    o.n_informative = 3;
    o.n_redundant = 2;
    o.n_repeated = 2;
    o.n_classes = 3;
    o.class_sep = 3.0;
    soma_rng r = seeded(7);
    soma_matrix X, y;
    ck_assert_int_eq(soma_make_classification(&r, &o, &X, &y, NULL, NULL), SOMA_OK);
    ck_assert_uint_eq(X.rows, 4000);
    ck_assert_uint_eq(X.cols, 10);
    const size_t counts[6] = {667, 667, 667, 667, 666, 666};
    int seen[8] = {0};
    size_t start = 0;
    for (size_t c = 0; c < 6; c++) {
        for (size_t i = 0; i < counts[c]; i++)
            ck_assert_double_eq(y.data[start + i], (double)(c % 3));
        /* Cluster means sit on a vertex (+-3, +-3, +-3): the mixing matrix
         * has entries in [-1, 1], so each coordinate has sd <= sqrt(3) and
         * its mean a standard error <= sqrt(3 / 666) = 0.067; 0.4 is 6 of
         * them. */
        int code = 0;
        for (size_t j = 0; j < 3; j++) {
            double m, sd;
            moments(X.data + start * 10 + j, counts[c], 10, &m, &sd);
            ck_assert_double_lt(fabs(fabs(m) - 3.0), 0.4);
            code = code * 2 + (m > 0);
        }
        ck_assert_int_eq(seen[code], 0); /* distinct vertices */
        seen[code] = 1;
        start += counts[c];
    }

    /* Redundant columns 3 and 4 are exact linear combinations of columns
     * 0..2: least squares fits them with residuals at rounding level. */
    for (size_t rcol = 3; rcol < 5; rcol++) {
        double A[9] = {0}, b[3] = {0}, coef[3];
        for (size_t i = 0; i < 4000; i++) {
            const double *x = X.data + i * 10;
            for (size_t p = 0; p < 3; p++) {
                for (size_t q = 0; q < 3; q++)
                    A[p * 3 + q] += x[p] * x[q];
                b[p] += x[p] * x[rcol];
            }
        }
        solve(A, b, 3, coef);
        double worst = 0, scale = 0;
        for (size_t i = 0; i < 4000; i++) {
            const double *x = X.data + i * 10;
            double fit = coef[0] * x[0] + coef[1] * x[1] + coef[2] * x[2];
            worst = fmax(worst, fabs(fit - x[rcol]));
            scale = fmax(scale, fabs(x[rcol]));
        }
        ck_assert_double_lt(worst, 1e-9 * scale);
        /* The coefficients are entries of 2 U - 1: inside [-1, 1]. */
        for (size_t p = 0; p < 3; p++)
            ck_assert_double_le(fabs(coef[p]), 1.0 + 1e-9);
    }
    /* Repeated columns 5 and 6 are copies of columns among 0..4. */
    for (size_t rcol = 5; rcol < 7; rcol++) {
        bool found = false;
        for (size_t src = 0; src < 5 && !found; src++) {
            bool same = true;
            for (size_t i = 0; i < 4000 && same; i++)
                same = X.data[i * 10 + rcol] == X.data[i * 10 + src];
            found = same;
        }
        ck_assert(found);
    }
    /* Noise columns 7..9: N(0, 1). Standard errors: mean 1/sqrt(4000) =
     * 0.016, sd 1/sqrt(8000) = 0.011; bounds 5 of them. */
    for (size_t j = 7; j < 10; j++) {
        double m, sd;
        moments(X.data + j, 4000, 10, &m, &sd);
        ck_assert_double_lt(fabs(m), 0.08);
        ck_assert_double_lt(fabs(sd - 1.0), 0.056);
    }
    soma_matrix_free(&X);
    soma_matrix_free(&y);
}
END_TEST

START_TEST(classification_all_vertices_and_polytope)
{
    /* 8 clusters in 3 informative dimensions use all 8 vertices. */
    soma_make_classification_options o = plain_options();
    o.n_samples = 8000;
    o.n_features = 3;
    o.n_informative = 3;
    o.n_redundant = 0;
    o.n_classes = 4;
    o.class_sep = 3.0;
    soma_rng r = seeded(8);
    soma_matrix X, y;
    ck_assert_int_eq(soma_make_classification(&r, &o, &X, &y, NULL, NULL), SOMA_OK);
    int seen[8] = {0};
    for (size_t c = 0; c < 8; c++) {
        int code = 0;
        for (size_t j = 0; j < 3; j++) {
            double m, sd;
            moments(X.data + c * 1000 * 3 + j, 1000, 3, &m, &sd);
            ck_assert_double_lt(fabs(fabs(m) - 3.0), 0.4); /* se <= 0.055 */
            code = code * 2 + (m > 0);
        }
        seen[code]++;
    }
    for (size_t v = 0; v < 8; v++)
        ck_assert_int_eq(seen[v], 1);
    soma_matrix_free(&X);
    soma_matrix_free(&y);

    /* hypercube = false: centroid c is scaled by u_c and coordinate j by
     * v_j, both uniform in [0, 1): every cluster mean moves inside the cube,
     * and (all but surely) some coordinate well inside. */
    o.hypercube = false;
    ck_assert_int_eq(soma_make_classification(&r, &o, &X, &y, NULL, NULL), SOMA_OK);
    double smallest = INFINITY;
    for (size_t c = 0; c < 8; c++)
        for (size_t j = 0; j < 3; j++) {
            double m, sd;
            moments(X.data + c * 1000 * 3 + j, 1000, 3, &m, &sd);
            ck_assert_double_lt(fabs(m), 3.0 + 0.4);
            smallest = fmin(smallest, fabs(m));
        }
    ck_assert_double_lt(smallest, 2.0);
    soma_matrix_free(&X);
    soma_matrix_free(&y);

    /* More than 30 informative features: the scikit-learn split between
     * random bits and distinct vertices. Just the shape and finiteness. */
    o = plain_options();
    o.n_informative = 33;
    o.n_features = 35;
    o.n_samples = 50;
    ck_assert_int_eq(soma_make_classification(&r, &o, &X, &y, NULL, NULL), SOMA_OK);
    ck_assert_uint_eq(X.cols, 35);
    ck_assert_int_eq(soma_matrix_check_finite(&X), SOMA_OK);
    soma_matrix_free(&X);
    soma_matrix_free(&y);
}
END_TEST

START_TEST(classification_mixing_is_centered)
{
    /* Each cluster's informative block is Z A + centroid with A = 2 U - 1:
     * the correlation of the two informative columns within a cluster is
     * that of A's columns, positive or negative with equal probability.
     * Over 20 seeds x 4 clusters, both signs must occur (all 80 of one
     * sign has probability 2^-79 for a centered A; a mixing matrix with
     * entries in [0, 2) would make every correlation positive). */
    size_t negative = 0, positive = 0;
    for (uint64_t seed = 0; seed < 20; seed++) {
        soma_make_classification_options o = plain_options();
        o.n_samples = 400;
        o.n_features = 2;
        o.n_redundant = 0;
        soma_rng r = seeded(100 + seed);
        soma_matrix X, y;
        ck_assert_int_eq(soma_make_classification(&r, &o, &X, &y, NULL, NULL), SOMA_OK);
        for (size_t c = 0; c < 4; c++) {
            double m0, s0, m1, s1, cov = 0;
            const double *x = X.data + c * 100 * 2;
            moments(x, 100, 2, &m0, &s0);
            moments(x + 1, 100, 2, &m1, &s1);
            for (size_t i = 0; i < 100; i++)
                cov += (x[2 * i] - m0) * (x[2 * i + 1] - m1);
            negative += cov < 0;
            positive += cov > 0;
        }
        soma_matrix_free(&X);
        soma_matrix_free(&y);
    }
    ck_assert_uint_gt(negative, 0);
    ck_assert_uint_gt(positive, 0);
}
END_TEST

static void class_counts(const soma_matrix *y, size_t k, size_t *counts)
{
    memset(counts, 0, k * sizeof *counts);
    for (size_t i = 0; i < y->rows; i++) {
        size_t c = (size_t)y->data[i];
        ck_assert_uint_lt(c, k);
        ck_assert_double_eq((double)c, y->data[i]);
        counts[c]++;
    }
}

START_TEST(classification_balance_and_weights)
{
    soma_rng r = seeded(9);
    soma_matrix X, y;
    size_t cnt[3];
    /* Balanced, 101 samples, 2 x 2 clusters: floor(101 / 2 / 2) = 25 each,
     * the one left over to cluster 0 (class 0): 51 / 50. */
    soma_make_classification_options o = plain_options();
    o.n_samples = 101;
    ck_assert_int_eq(soma_make_classification(&r, &o, &X, &y, NULL, NULL), SOMA_OK);
    class_counts(&y, 2, cnt);
    ck_assert_uint_eq(cnt[0], 51);
    ck_assert_uint_eq(cnt[1], 50);
    soma_matrix_free(&X);
    soma_matrix_free(&y);
    /* weights {0.25} (last inferred 0.75), 1000 samples, 2 clusters per
     * class: 125 and 375 per cluster, 250 / 750. */
    double w1[1] = {0.25};
    o.n_samples = 1000;
    o.weights = w1;
    o.n_weights = 1;
    ck_assert_int_eq(soma_make_classification(&r, &o, &X, &y, NULL, NULL), SOMA_OK);
    class_counts(&y, 2, cnt);
    ck_assert_uint_eq(cnt[0], 250);
    ck_assert_uint_eq(cnt[1], 750);
    soma_matrix_free(&X);
    soma_matrix_free(&y);
    /* Full weights for 3 classes, 1 cluster each: 200 / 300 / 500, also
     * after shuffling (labels move with their rows). */
    double w3[3] = {0.2, 0.3, 0.5};
    o.weights = w3;
    o.n_weights = 3;
    o.n_classes = 3;
    o.n_clusters_per_class = 1;
    o.shuffle = true;
    ck_assert_int_eq(soma_make_classification(&r, &o, &X, &y, NULL, NULL), SOMA_OK);
    class_counts(&y, 3, cnt);
    ck_assert_uint_eq(cnt[0], 200);
    ck_assert_uint_eq(cnt[1], 300);
    ck_assert_uint_eq(cnt[2], 500);
    soma_matrix_free(&X);
    soma_matrix_free(&y);
}
END_TEST

START_TEST(classification_label_noise)
{
    /* flip_y = 0.5 with 2 classes: a label is redrawn with probability 1/2
     * and then differs with probability 1/2, so 1/4 of the labels change.
     * n = 20000: standard error sqrt(0.25 * 0.75 / n) = 0.0031; bound 0.02
     * (6.5 standard errors). Without shuffle the original label of row i
     * is known: clusters of 5000 in order, label c % 2. */
    soma_make_classification_options o = plain_options();
    o.n_samples = 20000;
    o.flip_y = 0.5;
    soma_rng r = seeded(10);
    soma_matrix X, y;
    ck_assert_int_eq(soma_make_classification(&r, &o, &X, &y, NULL, NULL), SOMA_OK);
    size_t changed = 0;
    for (size_t i = 0; i < 20000; i++) {
        double orig = (double)((i / 5000) % 2);
        ck_assert(y.data[i] == 0.0 || y.data[i] == 1.0);
        changed += y.data[i] != orig;
    }
    ck_assert_double_lt(fabs((double)changed / 20000.0 - 0.25), 0.02);
    soma_matrix_free(&X);
    soma_matrix_free(&y);
}
END_TEST

START_TEST(classification_shift_scale_shuffle)
{
    /* Shift and scale are applied after every random draw but the
     * shuffles, and the scalar or array forms draw nothing: with the same
     * seed, X2 = (X1 + shift) * scale exactly. */
    soma_make_classification_options o = plain_options();
    o.flip_y = 0.1;
    soma_rng r = seeded(11);
    soma_matrix X1, y1, X2, y2;
    ck_assert_int_eq(soma_make_classification(&r, &o, &X1, &y1, NULL, NULL), SOMA_OK);
    double sh[20], sc[20];
    for (size_t j = 0; j < 20; j++) {
        sh[j] = (double)j - 7.5;
        sc[j] = 0.5 + (double)j;
    }
    o.shift_values = sh;
    o.scale_values = sc;
    r = seeded(11);
    ck_assert_int_eq(soma_make_classification(&r, &o, &X2, &y2, NULL, NULL), SOMA_OK);
    ck_assert_mem_eq(y1.data, y2.data, 100 * sizeof(double));
    for (size_t i = 0; i < 100; i++)
        for (size_t j = 0; j < 20; j++)
            ck_assert_double_eq(X2.data[i * 20 + j],
                                (X1.data[i * 20 + j] + sh[j]) * sc[j]);
    soma_matrix_free(&X2);
    soma_matrix_free(&y2);

    o.shift_values = NULL;
    o.scale_values = NULL;
    o.shift = 2.5;
    o.scale = 3.0;
    r = seeded(11);
    ck_assert_int_eq(soma_make_classification(&r, &o, &X2, &y2, NULL, NULL), SOMA_OK);
    for (size_t i = 0; i < 2000; i++)
        ck_assert_double_eq(X2.data[i], (X1.data[i] + 2.5) * 3.0);
    soma_matrix_free(&X2);
    soma_matrix_free(&y2);

    /* Random shift in [-sep, sep) and scale in [1, 101): each column is an
     * affine image (a x + b, a in [1, 101), |b| <= 101) of the plain one. */
    o.shift = 0.0;
    o.scale = 1.0;
    o.shift_random = true;
    o.scale_random = true;
    r = seeded(11);
    ck_assert_int_eq(soma_make_classification(&r, &o, &X2, &y2, NULL, NULL), SOMA_OK);
    for (size_t j = 0; j < 20; j++) {
        double x0 = X1.data[j], x1 = X1.data[20 + j];
        double a = (X2.data[20 + j] - X2.data[j]) / (x1 - x0);
        double b = X2.data[j] - a * x0;
        ck_assert_double_ge(a, 1.0 - 1e-9);
        ck_assert_double_lt(a, 101.0 + 1e-9);
        ck_assert_double_le(fabs(b / a), 1.0 + 1e-9); /* b = shift * scale */
    }
    soma_matrix_free(&X2);
    soma_matrix_free(&y2);

    /* Shuffle permutes rows (with their labels) and columns of the same
     * data. */
    o = plain_options();
    o.flip_y = 0.1;
    o.shuffle = true;
    r = seeded(11);
    ck_assert_int_eq(soma_make_classification(&r, &o, &X2, &y2, NULL, NULL), SOMA_OK);
    assert_same_rows(&X1, &y1, &X2, &y2, true);
    ck_assert_mem_ne(X1.data, X2.data, 2000 * sizeof(double));
    soma_matrix_free(&X2);
    soma_matrix_free(&y2);
    soma_matrix_free(&X1);
    soma_matrix_free(&y1);
}
END_TEST

START_TEST(generators_reproducible)
{
    soma_matrix A, ya, B, yb;
    for (int g = 0; g < 4; g++) {
        for (int same = 0; same < 2; same++) {
            soma_rng r1 = seeded(12), r2 = seeded(same ? 12 : 13);
            soma_status s1, s2;
            switch (g) {
            case 0:
                s1 = soma_make_circles(&r1, 300, 0.1, 0.5, true, &A, &ya, NULL, NULL);
                s2 = soma_make_circles(&r2, 300, 0.1, 0.5, true, &B, &yb, NULL, NULL);
                break;
            case 1:
                s1 = soma_make_moons(&r1, 300, 0.1, true, &A, &ya, NULL, NULL);
                s2 = soma_make_moons(&r2, 300, 0.1, true, &B, &yb, NULL, NULL);
                break;
            case 2:
                s1 = soma_make_blobs(&r1, NULL, &A, &ya, NULL, NULL, NULL);
                s2 = soma_make_blobs(&r2, NULL, &B, &yb, NULL, NULL, NULL);
                break;
            default:
                s1 = soma_make_classification(&r1, NULL, &A, &ya, NULL, NULL);
                s2 = soma_make_classification(&r2, NULL, &B, &yb, NULL, NULL);
                break;
            }
            ck_assert_int_eq(s1, SOMA_OK);
            ck_assert_int_eq(s2, SOMA_OK);
            if (same) {
                assert_bitwise_equal(&A, &B);
                assert_bitwise_equal(&ya, &yb);
            } else {
                ck_assert_mem_ne(A.data, B.data, A.rows * A.cols * sizeof(double));
            }
            soma_matrix_free(&A);
            soma_matrix_free(&ya);
            soma_matrix_free(&B);
            soma_matrix_free(&yb);
        }
    }
}
END_TEST

START_TEST(classification_bad_input)
{
    soma_rng r = seeded(14);
    soma_matrix X = {0}, y = {0}, zero = {0};
    soma_make_classification_options o;
#define EXPECT_EINVAL(stmt)                                                              \
    do {                                                                                 \
        o = soma_make_classification_defaults();                                         \
        stmt;                                                                            \
        ck_assert_int_eq(soma_make_classification(&r, &o, &X, &y, NULL, NULL),           \
                         SOMA_EINVAL);                                                   \
    } while (0)
    EXPECT_EINVAL(o.n_samples = 0);
    EXPECT_EINVAL(o.n_features = 0);
    EXPECT_EINVAL(o.n_informative = 0);
    EXPECT_EINVAL(o.n_classes = 0);
    EXPECT_EINVAL(o.n_clusters_per_class = 0);
    EXPECT_EINVAL(o.n_redundant = 19); /* 2 + 19 > 20 */
    EXPECT_EINVAL((o.n_redundant = 17, o.n_repeated = 2));
    EXPECT_EINVAL(o.n_repeated = SIZE_MAX); /* overflowing sum */
    EXPECT_EINVAL(o.n_classes = 3);         /* 6 clusters > 2^2 */
    EXPECT_EINVAL(o.n_clusters_per_class = SIZE_MAX);
    EXPECT_EINVAL(o.flip_y = 1.5);
    EXPECT_EINVAL(o.flip_y = NAN);
    EXPECT_EINVAL(o.class_sep = 0.0);
    EXPECT_EINVAL(o.class_sep = INFINITY);
    EXPECT_EINVAL(o.scale = 0.0);
    EXPECT_EINVAL(o.shift = NAN);
    double bad[20] = {0};
    bad[19] = NAN;
    EXPECT_EINVAL(o.shift_values = bad);
    EXPECT_EINVAL(o.scale_values = bad);
    double w3[3] = {0.3, 0.3, 0.4}, wneg[2] = {-0.1, 1.1}, wbig[1] = {1.5};
    double wover[2] = {0.7, 0.7};
    EXPECT_EINVAL((o.weights = w3, o.n_weights = 3)); /* 3 weights, 2 classes */
    EXPECT_EINVAL((o.weights = w3, o.n_weights = 0));
    EXPECT_EINVAL((o.weights = wneg, o.n_weights = 2));
    EXPECT_EINVAL((o.weights = wbig, o.n_weights = 1));  /* last = -0.5 */
    EXPECT_EINVAL((o.weights = wover, o.n_weights = 2)); /* 140 samples > 100 */
#undef EXPECT_EINVAL
    o = soma_make_classification_defaults();
    ck_assert_int_eq(soma_make_classification(NULL, &o, &X, &y, NULL, NULL), SOMA_EINVAL);
    ck_assert_int_eq(soma_make_classification(&r, &o, NULL, &y, NULL, NULL), SOMA_EINVAL);
    ck_assert_int_eq(soma_make_classification(&r, &o, &X, NULL, NULL, NULL), SOMA_EINVAL);
    ck_assert_mem_eq(&X, &zero, sizeof X);
    ck_assert_mem_eq(&y, &zero, sizeof y);

    /* Every allocation failing in turn: ENOMEM, nothing leaked, outputs
     * untouched; then success. */
    test_alloc t;
    soma_allocator a = test_allocator(&t);
    o.n_repeated = 1;
    soma_status st = SOMA_ENOMEM;
    size_t k;
    for (k = 1; st == SOMA_ENOMEM && k < 100; k++) {
        t.fail_at = t.allocs + k;
        size_t base = t.allocs;
        st = soma_make_classification(&r, &o, &X, &y, &a, NULL);
        if (st == SOMA_ENOMEM) {
            ck_assert_uint_eq(t.live_bytes, 0);
            ck_assert_mem_eq(&X, &zero, sizeof X);
        } else {
            ck_assert_uint_lt(t.allocs - base, k); /* fewer allocations than k */
        }
    }
    ck_assert_int_eq(st, SOMA_OK);
    ck_assert_uint_gt(k, 5);
    soma_matrix_free(&X);
    soma_matrix_free(&y);
    ck_assert_uint_eq(t.live_bytes, 0);
}
END_TEST

/* ---- scaler ----------------------------------------------------------------- */

START_TEST(scaler_by_hand)
{
    /* Columns (1, 3, 5): mean 3, population variance 8/3;
     * (2, 2, 2): constant, scale 1; transformed (-sqrt(3/2), 0, sqrt(3/2)). */
    double xb[6] = {1, 2, 3, 2, 5, 2}, ob[6];
    soma_matrix X, out;
    ck_assert_int_eq(soma_matrix_view(&X, xb, 3, 2, 2), SOMA_OK);
    ck_assert_int_eq(soma_matrix_view(&out, ob, 3, 2, 2), SOMA_OK);
    soma_scaler s = {0};
    ck_assert_int_eq(soma_scaler_fit(&s, &X, NULL, NULL), SOMA_OK);
    ck_assert_uint_eq(s.n_samples_seen, 3);
    ck_assert_double_eq(s.mean.data[0], 3.0);
    ck_assert_double_eq(s.mean.data[1], 2.0);
    ck_assert_double_eq_tol(s.scale.data[0], sqrt(8.0 / 3.0), 1e-15);
    ck_assert_double_eq(s.scale.data[1], 1.0);
    ck_assert_int_eq(soma_scaler_transform(&s, &X, &out, NULL), SOMA_OK);
    ck_assert_double_eq_tol(ob[0], -sqrt(1.5), 1e-15);
    ck_assert_double_eq(ob[2], 0.0);
    ck_assert_double_eq_tol(ob[4], sqrt(1.5), 1e-15);
    ck_assert_double_eq(ob[1], 0.0);
    ck_assert_double_eq(ob[5], 0.0);
    ck_assert_int_eq(soma_scaler_inverse_transform(&s, &out, &out, NULL),
                     SOMA_OK); /* in place */
    for (size_t i = 0; i < 6; i++)
        ck_assert_double_eq_tol(ob[i], xb[i], 1e-15);
    soma_scaler_free(&s);
    soma_scaler_free(&s);
    soma_scaler_free(NULL);

    /* A constant column of 0.1 (whose sum / n is not 0.1 in floating
     * point) has mean exactly 0.1 and transforms to exactly 0. */
    double c[10];
    for (size_t i = 0; i < 10; i++)
        c[i] = 0.1;
    soma_matrix C;
    ck_assert_int_eq(soma_matrix_view(&C, c, 10, 1, 1), SOMA_OK);
    ck_assert_int_eq(soma_scaler_fit(&s, &C, NULL, NULL), SOMA_OK);
    ck_assert_double_eq(s.mean.data[0], 0.1);
    ck_assert_double_eq(s.scale.data[0], 1.0);
    ck_assert_int_eq(soma_scaler_transform(&s, &C, &C, NULL), SOMA_OK);
    for (size_t i = 0; i < 10; i++)
        ck_assert_double_eq(c[i], 0.0);
    soma_scaler_free(&s);
}
END_TEST

START_TEST(scaler_statistics_and_round_trip)
{
    /* 5000 x 4 with means 100, -3, 0, 1e6 and sds 0.01, 7, 1, 1e3 on a
     * padded view (ld 6): after transform every column has mean 0 and
     * population sd 1 to rounding; inverse gives X back.
     * Rounding budget: the fitted mean can be off by a few ulps of mu, which
     * is (|mu| / sd) eps in units of z; hence |mean(z)| <= 4 eps (|mu| / sd
     * + 1) (8.9e-12 for the first column). */
    const size_t n = 5000;
    double *buf = malloc(n * 6 * sizeof *buf);
    const double mu[4] = {100, -3, 0, 1e6}, sig[4] = {0.01, 7, 1, 1e3};
    soma_rng r = seeded(15);
    for (size_t i = 0; i < n; i++) {
        double z[4];
        ck_assert_int_eq(soma_rng_normal(&r, 4, 0.0, 1.0, z), SOMA_OK);
        for (size_t j = 0; j < 4; j++)
            buf[i * 6 + j] = mu[j] + sig[j] * z[j];
        buf[i * 6 + 4] = buf[i * 6 + 5] = -777.0;
    }
    soma_matrix X, Z, back;
    ck_assert_int_eq(soma_matrix_view(&X, buf, n, 4, 6), SOMA_OK);
    ck_assert_int_eq(soma_matrix_init(&Z, n, 4, NULL), SOMA_OK);
    ck_assert_int_eq(soma_matrix_init(&back, n, 4, NULL), SOMA_OK);
    test_alloc t;
    soma_allocator a = test_allocator(&t);
    soma_scaler s = {0};
    ck_assert_int_eq(soma_scaler_fit(&s, &X, &a, NULL), SOMA_OK);
    ck_assert_uint_eq(t.allocs, 2);
    ck_assert_int_eq(soma_scaler_transform(&s, &X, &Z, NULL), SOMA_OK);
    for (size_t j = 0; j < 4; j++) {
        double m, sd;
        moments(Z.data + j, n, 4, &m, &sd);
        ck_assert_double_le(fabs(m), 4 * DBL_EPSILON * (fabs(mu[j]) / sig[j] + 1));
        ck_assert_double_lt(fabs(sd - 1.0), 1e-12);
    }
    ck_assert_int_eq(soma_scaler_inverse_transform(&s, &Z, &back, NULL), SOMA_OK);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < 4; j++)
            ck_assert_double_le(fabs(back.data[i * 4 + j] - buf[i * 6 + j]),
                                4e-16 * (fabs(mu[j]) + 10 * sig[j]));
    /* In place on the padded view; the padding is not touched. */
    ck_assert_int_eq(soma_scaler_transform(&s, &X, &X, NULL), SOMA_OK);
    for (size_t i = 0; i < n; i++) {
        ck_assert_double_eq(buf[i * 6 + 4], -777.0);
        for (size_t j = 0; j < 4; j++)
            ck_assert_double_eq(buf[i * 6 + j], Z.data[i * 4 + j]);
    }
    soma_scaler_free(&s);
    ck_assert_uint_eq(t.live_bytes, 0);
    soma_matrix_free(&Z);
    soma_matrix_free(&back);
    free(buf);
}
END_TEST

START_TEST(scaler_bad_input)
{
    double xb[6] = {1, 2, 3, 4, 5, 6}, ob[6] = {0};
    soma_matrix X, out, wrong, empty, overlap;
    ck_assert_int_eq(soma_matrix_view(&X, xb, 3, 2, 2), SOMA_OK);
    ck_assert_int_eq(soma_matrix_view(&out, ob, 3, 2, 2), SOMA_OK);
    ck_assert_int_eq(soma_matrix_view(&wrong, ob, 2, 3, 3), SOMA_OK);
    ck_assert_int_eq(soma_matrix_view(&empty, NULL, 0, 2, 2), SOMA_OK);
    ck_assert_int_eq(soma_matrix_view(&overlap, xb + 1, 2, 2, 2), SOMA_OK);
    soma_scaler s, zero = {0};
    memset(&s, 0, sizeof s);
    ck_assert_int_eq(soma_scaler_transform(&s, &X, &out, NULL), SOMA_ESTATE);
    ck_assert_int_eq(soma_scaler_inverse_transform(&s, &X, &out, NULL), SOMA_ESTATE);
    ck_assert_int_eq(soma_scaler_fit(NULL, &X, NULL, NULL), SOMA_EINVAL);
    ck_assert_int_eq(soma_scaler_fit(&s, NULL, NULL, NULL), SOMA_EINVAL);
    ck_assert_int_eq(soma_scaler_fit(&s, &empty, NULL, NULL), SOMA_EINVAL);
    xb[3] = NAN;
    ck_assert_int_eq(soma_scaler_fit(&s, &X, NULL, NULL), SOMA_ENONFINITE);
    xb[3] = 4;
    test_alloc t;
    soma_allocator a = test_allocator(&t);
    t.fail_at = 2;
    ck_assert_int_eq(soma_scaler_fit(&s, &X, &a, NULL), SOMA_ENOMEM);
    ck_assert_uint_eq(t.live_bytes, 0);
    ck_assert_mem_eq(&s, &zero, sizeof s);

    ck_assert_int_eq(soma_scaler_fit(&s, &X, NULL, NULL), SOMA_OK);
    ck_assert_int_eq(soma_scaler_transform(NULL, &X, &out, NULL), SOMA_EINVAL);
    ck_assert_int_eq(soma_scaler_transform(&s, NULL, &out, NULL), SOMA_EINVAL);
    ck_assert_int_eq(soma_scaler_transform(&s, &X, NULL, NULL), SOMA_EINVAL);
    ck_assert_int_eq(soma_scaler_transform(&s, &X, &wrong, NULL), SOMA_EDIM);
    ck_assert_int_eq(soma_scaler_transform(&s, &wrong, &wrong, NULL), SOMA_EDIM);
    ck_assert_int_eq(soma_scaler_transform(&s, &overlap, &out, NULL), SOMA_EDIM);
    soma_matrix X2;
    ck_assert_int_eq(soma_matrix_view(&X2, xb, 2, 2, 2), SOMA_OK);
    ck_assert_int_eq(soma_scaler_transform(&s, &X2, &overlap, NULL), SOMA_EALIAS);
    ck_assert_int_eq(soma_scaler_inverse_transform(&s, &X2, &overlap, NULL), SOMA_EALIAS);
    for (size_t i = 0; i < 6; i++) {
        ck_assert_double_eq(ob[i], 0.0);
        ck_assert_double_eq(xb[i], (double)(i + 1));
    }
    soma_scaler_free(&s);
}
END_TEST

/* ---- split ------------------------------------------------------------------- */

/* X(i) = (i, -i), y(i) = label(i): each row says where it came from. */
static void id_data(size_t n, const size_t *labels, soma_matrix *X, soma_matrix *y)
{
    ck_assert_int_eq(soma_matrix_init(X, n, 2, NULL), SOMA_OK);
    ck_assert_int_eq(soma_matrix_init(y, n, 1, NULL), SOMA_OK);
    for (size_t i = 0; i < n; i++) {
        X->data[2 * i] = (double)i;
        X->data[2 * i + 1] = -(double)i;
        y->data[i] = labels != NULL ? (double)labels[i] : (double)(i % 3);
    }
}

/* Every row id appears exactly once across both sets, with its own label. */
static void check_partition(const soma_matrix *y, const soma_matrix *Xtr,
                            const soma_matrix *Xte, const soma_matrix *ytr,
                            const soma_matrix *yte)
{
    const size_t n = y->rows;
    ck_assert_uint_eq(Xtr->rows + Xte->rows, n);
    int *seen = calloc(n, sizeof *seen);
    const soma_matrix *Xs[2] = {Xtr, Xte}, *ys[2] = {ytr, yte};
    for (int s = 0; s < 2; s++)
        for (size_t i = 0; i < Xs[s]->rows; i++) {
            double id = Xs[s]->data[2 * i];
            ck_assert_double_eq(Xs[s]->data[2 * i + 1], -id);
            size_t k = (size_t)id;
            ck_assert_uint_lt(k, n);
            ck_assert_int_eq(seen[k], 0);
            seen[k] = 1;
            ck_assert_double_eq(ys[s]->data[i], y->data[k]);
        }
    free(seen);
}

static void free4(soma_matrix *a, soma_matrix *b, soma_matrix *c, soma_matrix *d)
{
    soma_matrix_free(a);
    soma_matrix_free(b);
    soma_matrix_free(c);
    soma_matrix_free(d);
}

START_TEST(split_sizes_and_partition)
{
    soma_matrix X, y, Xtr, Xte, ytr, yte;
    id_data(103, NULL, &X, &y);
    soma_rng r = seeded(16);
    /* Default 0.25: ceil(25.75) = 26 test rows, 77 train. */
    ck_assert_int_eq(
        soma_train_test_split(&X, &y, NULL, &r, &Xtr, &Xte, &ytr, &yte, NULL, NULL),
        SOMA_OK);
    ck_assert_uint_eq(Xte.rows, 26);
    ck_assert_uint_eq(Xtr.rows, 77);
    ck_assert_uint_eq(Xtr.cols, 2);
    check_partition(&y, &Xtr, &Xte, &ytr, &yte);
    free4(&Xtr, &Xte, &ytr, &yte);

    /* An exact count. */
    soma_split_options o = soma_split_defaults();
    o.test_count = 10;
    ck_assert_int_eq(
        soma_train_test_split(&X, &y, &o, &r, &Xtr, &Xte, &ytr, &yte, NULL, NULL),
        SOMA_OK);
    ck_assert_uint_eq(Xte.rows, 10);
    check_partition(&y, &Xtr, &Xte, &ytr, &yte);
    free4(&Xtr, &Xte, &ytr, &yte);

    /* No shuffle: first rows train, last rows test, in order; rng unused. */
    o = soma_split_defaults();
    o.shuffle = false;
    ck_assert_int_eq(
        soma_train_test_split(&X, &y, &o, NULL, &Xtr, &Xte, &ytr, &yte, NULL, NULL),
        SOMA_OK);
    for (size_t i = 0; i < 77; i++)
        ck_assert_double_eq(Xtr.data[2 * i], (double)i);
    for (size_t i = 0; i < 26; i++)
        ck_assert_double_eq(Xte.data[2 * i], (double)(77 + i));
    free4(&Xtr, &Xte, &ytr, &yte);
    soma_matrix_free(&X);
    soma_matrix_free(&y);

    /* 0.1 of 30 is 3, not ceil(3.0000000000000004) = 4. */
    id_data(30, NULL, &X, &y);
    o = soma_split_defaults();
    o.test_fraction = 0.1;
    ck_assert_int_eq(
        soma_train_test_split(&X, &y, &o, &r, &Xtr, &Xte, &ytr, &yte, NULL, NULL),
        SOMA_OK);
    ck_assert_uint_eq(Xte.rows, 3);
    free4(&Xtr, &Xte, &ytr, &yte);

    /* y may be NULL; y_train and y_test are then ignored. */
    ck_assert_int_eq(
        soma_train_test_split(&X, NULL, &o, &r, &Xtr, &Xte, NULL, NULL, NULL, NULL),
        SOMA_OK);
    ck_assert_uint_eq(Xtr.rows, 27);
    soma_matrix_free(&Xtr);
    soma_matrix_free(&Xte);
    soma_matrix_free(&X);
    soma_matrix_free(&y);
}
END_TEST

START_TEST(split_stratified)
{
    /* 103 rows: 50 of class 0, 30 of class 1, 23 of class 2; 26 test rows.
     * Exact shares 12.62, 7.57, 5.81 -> floors 12, 7, 5 (24), the two left
     * go to the largest remainders (class 2: .81, class 0: .62):
     * 13 / 7 / 6 test, 37 / 23 / 17 train. */
    size_t labels[103];
    for (size_t i = 0; i < 103; i++)
        labels[i] = i < 50 ? 0 : (i < 80 ? 1 : 2);
    /* Interleave the classes so that order says nothing. */
    soma_rng r = seeded(17);
    for (size_t i = 102; i > 0; i--) {
        uint64_t u;
        ck_assert_int_eq(soma_rng_u64(&r, &u), SOMA_OK);
        size_t j = (size_t)(u % (i + 1)), t = labels[i];
        labels[i] = labels[j];
        labels[j] = t;
    }
    soma_matrix X, y, Xtr, Xte, ytr, yte;
    id_data(103, labels, &X, &y);
    soma_split_options o = soma_split_defaults();
    o.stratify = true;
    const size_t expect_test[3] = {13, 7, 6}, n_c[3] = {50, 30, 23};
    soma_matrix first_test = {0};
    for (int rep = 0; rep < 2; rep++) {
        ck_assert_int_eq(
            soma_train_test_split(&X, &y, &o, &r, &Xtr, &Xte, &ytr, &yte, NULL, NULL),
            SOMA_OK);
        check_partition(&y, &Xtr, &Xte, &ytr, &yte);
        size_t te[3] = {0}, tr[3] = {0};
        for (size_t i = 0; i < yte.rows; i++)
            te[(size_t)yte.data[i]]++;
        for (size_t i = 0; i < ytr.rows; i++)
            tr[(size_t)ytr.data[i]]++;
        for (size_t c = 0; c < 3; c++) {
            ck_assert_uint_eq(te[c], expect_test[c]);
            ck_assert_uint_eq(tr[c], n_c[c] - expect_test[c]);
            /* within one row of the exact proportion, both sets */
            ck_assert_double_lt(fabs((double)te[c] - (double)n_c[c] * 26.0 / 103.0), 1.0);
            ck_assert_double_lt(fabs((double)tr[c] - (double)n_c[c] * 77.0 / 103.0), 1.0);
        }
        if (rep == 0) {
            ck_assert_int_eq(soma_matrix_dup(&Xte, &first_test, NULL), SOMA_OK);
        } else {
            /* Another draw: the same counts, other rows. */
            ck_assert_mem_ne(first_test.data, Xte.data, 26 * 2 * sizeof(double));
        }
        free4(&Xtr, &Xte, &ytr, &yte);
    }
    soma_matrix_free(&first_test);
    soma_matrix_free(&X);
    soma_matrix_free(&y);
}
END_TEST

START_TEST(split_bad_input)
{
    soma_matrix X, y, y2, ywide, Xtr = {0}, Xte = {0}, ytr = {0}, yte = {0}, zero = {0};
    id_data(10, NULL, &X, &y);
    ck_assert_int_eq(soma_matrix_init(&y2, 9, 1, NULL), SOMA_OK);
    ck_assert_int_eq(soma_matrix_init(&ywide, 10, 2, NULL), SOMA_OK);
    soma_rng r = seeded(18);
    soma_split_options o;
#define SPLIT(opt_stmt, status, yy, rr)                                                  \
    do {                                                                                 \
        o = soma_split_defaults();                                                       \
        opt_stmt;                                                                        \
        ck_assert_int_eq(                                                                \
            soma_train_test_split(&X, yy, &o, rr, &Xtr, &Xte, &ytr, &yte, NULL, NULL),   \
            status);                                                                     \
    } while (0)
    SPLIT(o.test_fraction = 0.0, SOMA_EINVAL, &y, &r);
    SPLIT(o.test_fraction = 1.0, SOMA_EINVAL, &y, &r);
    SPLIT(o.test_fraction = NAN, SOMA_EINVAL, &y, &r);
    SPLIT(o.test_fraction = 0.99, SOMA_EINVAL, &y, &r); /* ceil(9.9) = 10: no train */
    SPLIT(o.test_count = 10, SOMA_EINVAL, &y, &r);
    SPLIT(o.test_count = 11, SOMA_EINVAL, &y, &r);
    SPLIT((void)0, SOMA_EINVAL, &y, NULL); /* shuffle needs an rng */
    SPLIT((o.stratify = true, o.shuffle = false), SOMA_EINVAL, &y, &r);
    SPLIT(o.stratify = true, SOMA_EINVAL, NULL, &r);
    SPLIT(o.stratify = true, SOMA_EINVAL, &ywide, &r);
    SPLIT((void)0, SOMA_EDIM, &y2, &r);
    y.data[4] = NAN;
    SPLIT(o.stratify = true, SOMA_ENONFINITE, &y, &r);
    y.data[4] = 1;
#undef SPLIT
    ck_assert_int_eq(
        soma_train_test_split(NULL, &y, NULL, &r, &Xtr, &Xte, &ytr, &yte, NULL, NULL),
        SOMA_EINVAL);
    ck_assert_int_eq(
        soma_train_test_split(&X, &y, NULL, &r, NULL, &Xte, &ytr, &yte, NULL, NULL),
        SOMA_EINVAL);
    ck_assert_int_eq(
        soma_train_test_split(&X, &y, NULL, &r, &Xtr, &Xte, NULL, &yte, NULL, NULL),
        SOMA_EINVAL);
    soma_matrix one;
    ck_assert_int_eq(soma_matrix_view(&one, X.data, 1, 2, 2), SOMA_OK);
    ck_assert_int_eq(
        soma_train_test_split(&one, NULL, NULL, &r, &Xtr, &Xte, NULL, NULL, NULL, NULL),
        SOMA_EINVAL);
    test_alloc t;
    soma_allocator a = test_allocator(&t);
    for (int strat = 0; strat < 2; strat++) {
        o = soma_split_defaults();
        o.stratify = strat;
        soma_status st = SOMA_ENOMEM;
        size_t k;
        for (k = 1; st == SOMA_ENOMEM; k++) {
            t.fail_at = t.allocs + k;
            st = soma_train_test_split(&X, &y, &o, &r, &Xtr, &Xte, &ytr, &yte, &a, NULL);
            if (st == SOMA_ENOMEM) {
                ck_assert_uint_eq(t.live_bytes, 0);
                ck_assert_mem_eq(&Xtr, &zero, sizeof Xtr);
                ck_assert_mem_eq(&yte, &zero, sizeof yte);
            }
        }
        ck_assert_int_eq(st, SOMA_OK);
        ck_assert_uint_ge(k, strat ? 9 : 6);
        free4(&Xtr, &Xte, &ytr, &yte);
        ck_assert_uint_eq(t.live_bytes, 0);
    }
    soma_matrix_free(&X);
    soma_matrix_free(&y);
    soma_matrix_free(&y2);
    soma_matrix_free(&ywide);
}
END_TEST

/* ---- one-hot ------------------------------------------------------------------- */

START_TEST(one_hot_by_hand)
{
    double lb[4] = {2, 0, 1, 2};
    soma_matrix L, out;
    ck_assert_int_eq(soma_matrix_view(&L, lb, 4, 1, 1), SOMA_OK);
    ck_assert_int_eq(soma_one_hot(&L, 0, &out, NULL, NULL), SOMA_OK);
    const double e3[12] = {0, 0, 1, 1, 0, 0, 0, 1, 0, 0, 0, 1};
    ck_assert_uint_eq(out.rows, 4);
    ck_assert_uint_eq(out.cols, 3);
    ck_assert_mem_eq(out.data, e3, sizeof e3);
    soma_matrix_free(&out);
    ck_assert_int_eq(soma_one_hot(&L, 4, &out, NULL, NULL), SOMA_OK);
    ck_assert_uint_eq(out.cols, 4);
    ck_assert_double_eq(out.data[0 * 4 + 2], 1.0);
    ck_assert_double_eq(out.data[0 * 4 + 3], 0.0);
    soma_matrix_free(&out);

    soma_matrix zero = {0}, E, W;
    out = zero;
    ck_assert_int_eq(soma_one_hot(&L, 2, &out, NULL, NULL),
                     SOMA_EINVAL); /* label 2 >= 2 */
    lb[1] = 0.5;
    ck_assert_int_eq(soma_one_hot(&L, 0, &out, NULL, NULL), SOMA_EINVAL);
    lb[1] = -1;
    ck_assert_int_eq(soma_one_hot(&L, 0, &out, NULL, NULL), SOMA_EINVAL);
    lb[1] = NAN;
    ck_assert_int_eq(soma_one_hot(&L, 0, &out, NULL, NULL), SOMA_ENONFINITE);
    lb[1] = 1e300;
    ck_assert_int_eq(soma_one_hot(&L, 0, &out, NULL, NULL), SOMA_EINVAL);
    lb[1] = 0;
    ck_assert_int_eq(soma_one_hot(NULL, 0, &out, NULL, NULL), SOMA_EINVAL);
    ck_assert_int_eq(soma_one_hot(&L, 0, NULL, NULL, NULL), SOMA_EINVAL);
    ck_assert_int_eq(soma_matrix_view(&W, lb, 2, 2, 2), SOMA_OK);
    ck_assert_int_eq(soma_one_hot(&W, 0, &out, NULL, NULL), SOMA_EINVAL);
    ck_assert_int_eq(soma_matrix_view(&E, NULL, 0, 1, 1), SOMA_OK);
    ck_assert_int_eq(soma_one_hot(&E, 0, &out, NULL, NULL), SOMA_EINVAL); /* k unknown */
    test_alloc t;
    soma_allocator a = test_allocator(&t);
    t.fail_at = 1;
    ck_assert_int_eq(soma_one_hot(&L, 0, &out, &a, NULL), SOMA_ENOMEM);
    ck_assert_mem_eq(&out, &zero, sizeof out);
    ck_assert_int_eq(soma_one_hot(&E, 3, &out, NULL, NULL), SOMA_OK); /* 0 x 3 */
    ck_assert_uint_eq(out.rows, 0);
    ck_assert_uint_eq(out.cols, 3);
    soma_matrix_free(&out);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("data");
    TCase *gen = tcase_create("generators");
    tcase_add_test(gen, circles_geometry);
    tcase_add_test(gen, shuffle_is_uniform);
    tcase_add_test(gen, circles_noise_scale);
    tcase_add_test(gen, moons_geometry);
    tcase_add_test(gen, two_class_generators_bad_input);
    tcase_add_test(gen, blobs_statistics);
    tcase_add_test(gen, blobs_bad_input);
    tcase_add_test(gen, classification_structure);
    tcase_add_test(gen, classification_all_vertices_and_polytope);
    tcase_add_test(gen, classification_mixing_is_centered);
    tcase_add_test(gen, classification_balance_and_weights);
    tcase_add_test(gen, classification_label_noise);
    tcase_add_test(gen, classification_shift_scale_shuffle);
    tcase_add_test(gen, generators_reproducible);
    tcase_add_test(gen, classification_bad_input);
    suite_add_tcase(s, gen);
    TCase *pre = tcase_create("preprocessing");
    tcase_add_test(pre, scaler_by_hand);
    tcase_add_test(pre, scaler_statistics_and_round_trip);
    tcase_add_test(pre, scaler_bad_input);
    tcase_add_test(pre, split_sizes_and_partition);
    tcase_add_test(pre, split_stratified);
    tcase_add_test(pre, split_bad_input);
    tcase_add_test(pre, one_hot_by_hand);
    suite_add_tcase(s, pre);
    return test_run(s);
}
