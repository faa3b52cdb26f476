/* Standard scaler, train/test split, one-hot encoding (data.h). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "labels.h"

/* ---- scaler ------------------------------------------------------------ */

/* Mean and population standard deviation of column j of X (n >= 1 rows,
 * finite values), in four passes over the column: sum, residual (refines
 * the mean and detects a constant column), largest deviation, scaled sum
 * of squares. Constant columns get their value as the mean (exactly) and
 * scale 1. */
static void column_moments(const soma_matrix *X, size_t j, double *mean, double *scale)
{
    const size_t n = X->rows;
    const double first = *soma_matrix_at(X, 0, j);
    double sum = 0.0;
    for (size_t i = 0; i < n; i++)
        sum += *soma_matrix_at(X, i, j);
    double m = sum / (double)n;
    if (!isfinite(m)) { /* the sum overflowed: average scaled values instead */
        m = 0.0;
        for (size_t i = 0; i < n; i++)
            m += *soma_matrix_at(X, i, j) / (double)n;
    }
    /* Refine the mean by the mean residual (zero in exact arithmetic): this
     * removes the rounding of the sum, which matters when |mean| >> sd. */
    double res = 0.0;
    bool constant = true;
    for (size_t i = 0; i < n; i++) {
        double x = *soma_matrix_at(X, i, j);
        constant = constant && x == first;
        res += x - m;
    }
    if (isfinite(res))
        m += res / (double)n;
    /* The largest deviation scales the squares so that they cannot overflow. */
    double big = 0.0;
    for (size_t i = 0; i < n; i++) {
        double a = fabs(*soma_matrix_at(X, i, j) - m);
        if (a > big)
            big = a;
    }
    if (constant || !(big > 0.0) || !isfinite(big)) {
        *mean = constant ? first : m;
        *scale = 1.0;
        return;
    }
    /* Corrected two-pass: subtract (sum of deviations)^2 / n, which is zero
     * in exact arithmetic and removes most of the rounding of m. */
    double ss = 0.0, corr = 0.0;
    for (size_t i = 0; i < n; i++) {
        double e = (*soma_matrix_at(X, i, j) - m) / big;
        ss += e * e;
        corr += e;
    }
    double var = (ss - corr * corr / (double)n) / (double)n;
    double sd = big * sqrt(var > 0.0 ? var : 0.0);
    *mean = m;
    *scale = sd > 0.0 && isfinite(sd) ? sd : 1.0;
}

soma_status soma_scaler_fit(soma_scaler *s, const soma_matrix *X,
                            const soma_allocator *alloc, soma_error_info *err)
{
    SOMA_REQUIRE_PTR(s, err, "s");
    SOMA_REQUIRE(soma__allocator_valid(alloc), err, SOMA_EINVAL, "alloc",
                 "alloc must set both its allocate and free functions (or be NULL)");
    SOMA_TRY(soma__check_matrix_arg(X, "X", err));
    SOMA_REQUIRE(X->rows >= 1 && X->cols >= 1, err, SOMA_EINVAL, "X",
                 "X is %zu x %zu: a scaler is fitted on at least one row and one column",
                 X->rows, X->cols);
    SOMA_TRY(soma__check_finite_arg(X, "X", err));
    soma_matrix mean = {0}, scale = {0};
    soma_status st = soma_matrix_init(&mean, 1, X->cols, alloc);
    if (st == SOMA_OK)
        st = soma_matrix_init(&scale, 1, X->cols, alloc);
    if (st != SOMA_OK) {
        soma_matrix_free(&mean);
        return soma__fail(err, st, "",
                          "cannot allocate the scaler's %zu means and scales", X->cols);
    }
    for (size_t j = 0; j < X->cols; j++)
        column_moments(X, j, &mean.data[j], &scale.data[j]);
    s->mean = mean;
    s->scale = scale;
    s->n_samples_seen = X->rows;
    return SOMA_OK;
}

soma_status soma_scaler_init_fixed(soma_scaler *s, size_t d, double offset,
                                   double divisor, const soma_allocator *alloc,
                                   soma_error_info *err)
{
    SOMA_REQUIRE_PTR(s, err, "s");
    SOMA_REQUIRE(d >= 1, err, SOMA_EINVAL, "d",
                 "d is 0: a scaler has at least one feature");
    SOMA_REQUIRE(isfinite(offset), err, SOMA_EINVAL, "offset",
                 "offset is %g: it must be finite", offset);
    SOMA_REQUIRE(isfinite(divisor) && divisor > 0.0, err, SOMA_EINVAL, "divisor",
                 "divisor is %g: it must be finite and > 0", divisor);
    SOMA_REQUIRE(soma__allocator_valid(alloc), err, SOMA_EINVAL, "alloc",
                 "alloc must set both its allocate and free functions (or be NULL)");
    soma_matrix mean = {0}, scale = {0};
    soma_status st = soma_matrix_init(&mean, 1, d, alloc);
    if (st == SOMA_OK)
        st = soma_matrix_init(&scale, 1, d, alloc);
    if (st != SOMA_OK) {
        soma_matrix_free(&mean);
        return soma__fail(err, st, "d", "d is %zu: cannot allocate the scaler: %s", d,
                          soma_status_string(st));
    }
    for (size_t j = 0; j < d; j++) {
        mean.data[j] = offset;
        scale.data[j] = divisor;
    }
    s->mean = mean;
    s->scale = scale;
    s->n_samples_seen = 0;
    return SOMA_OK;
}

void soma_scaler_free(soma_scaler *s)
{
    if (s == NULL)
        return;
    soma_matrix_free(&s->mean);
    soma_matrix_free(&s->scale);
    s->n_samples_seen = 0;
}

/* Shared checks of transform and inverse transform. */
static soma_status scaler_args(const soma_scaler *s, const soma_matrix *X,
                               const soma_matrix *out, soma_error_info *err)
{
    SOMA_REQUIRE_PTR(s, err, "s");
    SOMA_TRY(soma__check_matrix_arg(X, "X", err));
    SOMA_TRY(soma__check_matrix_arg(out, "out", err));
    SOMA_REQUIRE(s->mean.rows == 1 && s->scale.rows == 1 && s->mean.cols >= 1 &&
                     s->mean.cols == s->scale.cols,
                 err, SOMA_ESTATE, "s",
                 "the scaler is not fitted (mean %zu x %zu, scale %zu x %zu): call "
                 "soma_scaler_fit or soma_scaler_load first",
                 s->mean.rows, s->mean.cols, s->scale.rows, s->scale.cols);
    SOMA_TRY(soma__check_matrix_arg(&s->mean, "s.mean", err));
    SOMA_TRY(soma__check_matrix_arg(&s->scale, "s.scale", err));
    SOMA_REQUIRE(X->cols == s->mean.cols, err, SOMA_EDIM, "X",
                 "X has %zu columns but the scaler was fitted on %zu", X->cols,
                 s->mean.cols);
    SOMA_TRY(soma__check_same_shape_arg(out, "out", X, "X", err));
    return soma__check_alias_arg(out, "out", X, "X", err);
}

soma_status soma_scaler_transform(const soma_scaler *s, const soma_matrix *X,
                                  soma_matrix *out, soma_error_info *err)
{
    SOMA_TRY(scaler_args(s, X, out, err));
    const double *m = s->mean.data, *sc = s->scale.data;
    for (size_t i = 0; i < X->rows; i++) {
        const double *x = soma_matrix_at(X, i, 0);
        double *o = soma_matrix_at(out, i, 0);
        for (size_t j = 0; j < X->cols; j++)
            o[j] = (x[j] - m[j]) / sc[j];
    }
    return SOMA_OK;
}

soma_status soma_scaler_inverse_transform(const soma_scaler *s, const soma_matrix *X,
                                          soma_matrix *out, soma_error_info *err)
{
    SOMA_TRY(scaler_args(s, X, out, err));
    const double *m = s->mean.data, *sc = s->scale.data;
    for (size_t i = 0; i < X->rows; i++) {
        const double *x = soma_matrix_at(X, i, 0);
        double *o = soma_matrix_at(out, i, 0);
        for (size_t j = 0; j < X->cols; j++)
            o[j] = x[j] * sc[j] + m[j];
    }
    return SOMA_OK;
}

/* ---- train/test split -------------------------------------------------- */

soma_split_options soma_split_defaults(void)
{
    soma_split_options o = {
        .test_fraction = 0.25,
        .test_count = 0,
        .shuffle = true,
        .stratify = false,
    };
    return o;
}

/* Number of test rows out of n, per the header's rule. */
static soma_status split_test_size(const soma_split_options *o, size_t n, size_t *n_test,
                                   soma_error_info *err)
{
    size_t t;
    if (o->test_count > 0) {
        t = o->test_count;
    } else {
        double f = o->test_fraction;
        SOMA_REQUIRE(isfinite(f) && f > 0.0 && f < 1.0, err, SOMA_EINVAL,
                     "opt.test_fraction",
                     "opt.test_fraction is %g: a fraction in (0, 1) is expected", f);
        double p = f * (double)n;
        double r = nearbyint(p);
        /* A product within rounding of an integer is that integer (0.1 * 30). */
        double c = fabs(p - r) <= 1e-9 * (p > 1.0 ? p : 1.0) ? r : ceil(p);
        SOMA_REQUIRE(c < (double)n, err, SOMA_EINVAL, "opt.test_fraction",
                     "opt.test_fraction %g of %zu rows leaves no training row", f, n);
        t = (size_t)c;
    }
    const char *which = o->test_count > 0 ? "opt.test_count" : "opt.test_fraction";
    const bool both_sets = t >= 1 && t < n;
    SOMA_REQUIRE(
        both_sets, err, SOMA_EINVAL, which,
        "%s puts %zu of %zu rows in the test set: both sets need at least one row", which,
        t, n);
    *n_test = t;
    return SOMA_OK;
}

typedef struct keyed {
    double key;
    size_t idx;
} keyed;

static int keyed_cmp(const void *a, const void *b)
{
    const keyed *x = a, *y = b;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    return x->idx < y->idx ? -1 : (x->idx > y->idx);
}

/* Stratified assignment: fills order[0 .. n_train) with training rows and
 * order[n_train .. n) with test rows. */
static soma_status stratify(const soma_matrix *y, size_t n_test, soma_rng *rng,
                            const soma_allocator *alloc, size_t *order)
{
    const size_t n = y->rows, n_train = n - n_test;
    soma_status st = SOMA_OK;
    size_t bytes_rows, bytes_groups;
    if (!soma__mul(n, sizeof(keyed), &bytes_rows))
        return SOMA_EOVERFLOW;
    bytes_groups = bytes_rows;
    keyed *rows = soma__alloc(alloc, bytes_rows);
    keyed *groups = soma__alloc(alloc, bytes_groups); /* key: remainder; idx: group */
    size_t *gstart = NULL, *gtest = NULL;
    size_t bytes_idx = n * sizeof(size_t); /* fits: n * 16 did */
    gstart = soma__alloc(alloc, bytes_idx + sizeof(size_t));
    gtest = soma__alloc(alloc, bytes_idx);
    if (rows == NULL || groups == NULL || gstart == NULL || gtest == NULL) {
        st = SOMA_ENOMEM;
        goto cleanup;
    }
    for (size_t i = 0; i < n; i++) {
        rows[i].key = *soma_matrix_at(y, i, 0);
        rows[i].idx = i;
        if (!isfinite(rows[i].key)) {
            st = SOMA_ENONFINITE;
            goto cleanup;
        }
    }
    qsort(rows, n, sizeof *rows, keyed_cmp);
    size_t G = 0;
    for (size_t i = 0; i < n; i++)
        if (i == 0 || rows[i].key != rows[i - 1].key)
            gstart[G++] = i;
    gstart[G] = n;

    /* t_c = floor(n_c n_test / n), then +1 by largest remainder. */
    size_t assigned = 0;
    for (size_t g = 0; g < G; g++) {
        size_t nc = gstart[g + 1] - gstart[g], prod;
        if (!soma__mul(nc, n_test, &prod)) {
            st = SOMA_EOVERFLOW;
            goto cleanup;
        }
        gtest[g] = prod / n;
        assigned += gtest[g];
        groups[g].key = -(double)(prod % n); /* ascending sort = largest first */
        groups[g].idx = g;
    }
    qsort(groups, G, sizeof *groups, keyed_cmp);
    for (size_t r = 0; assigned < n_test; r++, assigned++)
        gtest[groups[r].idx]++;

    size_t ntr = 0, nte = 0;
    for (size_t g = 0; g < G; g++) {
        size_t a = gstart[g], m = gstart[g + 1] - a;
        /* Shuffle the class's rows, then deal the first t_c to test. */
        for (size_t i = m; i > 1; i--) {
            size_t j = (size_t)soma__rng_below(rng, (uint64_t)i);
            keyed t = rows[a + i - 1];
            rows[a + i - 1] = rows[a + j];
            rows[a + j] = t;
        }
        for (size_t i = 0; i < m; i++) {
            if (i < gtest[g])
                order[n_train + nte++] = rows[a + i].idx;
            else
                order[ntr++] = rows[a + i].idx;
        }
    }
    soma__rng_shuffle(rng, order, n_train);
    soma__rng_shuffle(rng, order + n_train, n_test);
cleanup:
    soma__free(alloc, rows, bytes_rows);
    soma__free(alloc, groups, bytes_groups);
    soma__free(alloc, gstart, bytes_idx + sizeof(size_t));
    soma__free(alloc, gtest, bytes_idx);
    return st;
}

/* dst = the rows of src listed in idx[0 .. dst->rows). */
static void gather_rows(const soma_matrix *src, const size_t *idx, soma_matrix *dst)
{
    if (src->cols == 0)
        return;
    for (size_t i = 0; i < dst->rows; i++)
        memcpy(soma_matrix_at(dst, i, 0), soma_matrix_at(src, idx[i], 0),
               src->cols * sizeof(double));
}

soma_status soma_train_test_split(const soma_matrix *X, const soma_matrix *y,
                                  const soma_split_options *opt, soma_rng *rng,
                                  soma_matrix *X_train, soma_matrix *X_test,
                                  soma_matrix *y_train, soma_matrix *y_test,
                                  const soma_allocator *alloc, soma_error_info *err)
{
    soma_split_options o = opt != NULL ? *opt : soma_split_defaults();
    SOMA_REQUIRE_PTR(X_train, err, "X_train");
    SOMA_REQUIRE_PTR(X_test, err, "X_test");
    SOMA_REQUIRE(soma__allocator_valid(alloc), err, SOMA_EINVAL, "alloc",
                 "alloc must set both its allocate and free functions (or be NULL)");
    SOMA_TRY(soma__check_matrix_arg(X, "X", err));
    if (y != NULL) {
        SOMA_TRY(soma__check_matrix_arg(y, "y", err));
        SOMA_REQUIRE(y_train != NULL && y_test != NULL, err, SOMA_EINVAL, "y_train",
                     "y is given but y_train or y_test is NULL");
        SOMA_REQUIRE(y->rows == X->rows, err, SOMA_EDIM, "y",
                     "y has %zu rows but X has %zu", y->rows, X->rows);
    }
    SOMA_REQUIRE(!o.shuffle || rng != NULL, err, SOMA_EINVAL, "rng",
                 "rng is NULL but opt.shuffle is set: pass a seeded soma_rng");
    SOMA_REQUIRE(!o.stratify || o.shuffle, err, SOMA_EINVAL, "opt.stratify",
                 "opt.stratify needs opt.shuffle");
    SOMA_REQUIRE(!o.stratify || y != NULL, err, SOMA_EINVAL, "opt.stratify",
                 "opt.stratify needs the labels y");
    SOMA_REQUIRE(
        !o.stratify || y->cols == 1, err, SOMA_EINVAL, "y",
        "y has %zu columns: stratification takes one column of class labels (split "
        "before one-hot encoding)",
        y->cols);
    const size_t n = X->rows;
    size_t n_test = 0;
    SOMA_TRY(split_test_size(&o, n, &n_test, err));
    const size_t n_train = n - n_test;

    size_t bytes;
    if (!soma__mul(n, sizeof(size_t), &bytes))
        return soma__fail(err, SOMA_EOVERFLOW, "X", "X has too many rows (%zu)", n);
    soma_matrix xtr = {0}, xte = {0}, ytr = {0}, yte = {0};
    size_t *order = soma__alloc(alloc, bytes);
    soma_status st = SOMA_OK;
    if (order == NULL)
        return soma__fail_nomem(err, bytes, "the row order");
    if (o.stratify) {
        st = stratify(y, n_test, rng, alloc, order);
        if (st != SOMA_OK)
            goto cleanup;
    } else {
        for (size_t i = 0; i < n; i++)
            order[i] = i;
        if (o.shuffle)
            soma__rng_shuffle(rng, order, n);
    }
    if ((st = soma_matrix_init(&xtr, n_train, X->cols, alloc)) != SOMA_OK ||
        (st = soma_matrix_init(&xte, n_test, X->cols, alloc)) != SOMA_OK)
        goto cleanup;
    if (y != NULL && ((st = soma_matrix_init(&ytr, n_train, y->cols, alloc)) != SOMA_OK ||
                      (st = soma_matrix_init(&yte, n_test, y->cols, alloc)) != SOMA_OK))
        goto cleanup;
    gather_rows(X, order, &xtr);
    gather_rows(X, order + n_train, &xte);
    if (y != NULL) {
        gather_rows(y, order, &ytr);
        gather_rows(y, order + n_train, &yte);
        *y_train = ytr;
        *y_test = yte;
        ytr = (soma_matrix){0};
        yte = (soma_matrix){0};
    }
    *X_train = xtr;
    *X_test = xte;
    xtr = (soma_matrix){0};
    xte = (soma_matrix){0};
cleanup:
    soma_matrix_free(&xtr);
    soma_matrix_free(&xte);
    soma_matrix_free(&ytr);
    soma_matrix_free(&yte);
    soma__free(alloc, order, bytes);
    if (st != SOMA_OK)
        return soma__fail(err, st, "", "%s while splitting %zu rows into %zu + %zu",
                          soma_status_string(st), n, n_train, n_test);
    return st;
}

/* ---- one-hot ----------------------------------------------------------- */

soma_status soma_one_hot(const soma_matrix *labels, size_t n_classes, soma_matrix *out,
                         const soma_allocator *alloc, soma_error_info *err)
{
    SOMA_REQUIRE_PTR(out, err, "out");
    SOMA_REQUIRE(soma__allocator_valid(alloc), err, SOMA_EINVAL, "alloc",
                 "alloc must set both its allocate and free functions (or be NULL)");
    size_t k;
    SOMA_TRY(soma__labels_scan(labels, "labels", n_classes, NULL, &k, err));
    if (n_classes != 0)
        k = n_classes;
    SOMA_REQUIRE(k >= 1, err, SOMA_EINVAL, "labels",
                 "labels has no rows and n_classes is 0: give n_classes explicitly");
    soma_matrix tmp;
    const soma_status st = soma_matrix_init(&tmp, labels->rows, k, alloc);
    if (st != SOMA_OK)
        return soma__fail(err, st, "", "cannot allocate %zu x %zu one-hot rows",
                          labels->rows, k);
    for (size_t i = 0; i < labels->rows; i++)
        tmp.data[i * k + (size_t)*soma_matrix_at(labels, i, 0)] = 1.0;
    *out = tmp;
    return SOMA_OK;
}

soma_status soma_class_count(const soma_matrix *labels, size_t *n_classes,
                             soma_error_info *err)
{
    SOMA_REQUIRE_PTR(n_classes, err, "n_classes");
    size_t k;
    SOMA_TRY(soma__labels_scan(labels, "labels", 0, NULL, &k, err));
    *n_classes = k;
    return SOMA_OK;
}
