/* The scikit-learn style generators of data.h. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "internal.h"

#define TWO_PI 6.283185307179586476925
#define PI 3.141592653589793238463

/* The arguments every generator shares. */
static soma_status check_common(const soma_rng *rng, const soma_matrix *X,
                                const soma_matrix *y, const soma_allocator *alloc,
                                soma_error_info *err)
{
    SOMA_REQUIRE_PTR(rng, err, "rng");
    SOMA_REQUIRE_PTR(X, err, "X");
    SOMA_REQUIRE_PTR(y, err, "y");
    SOMA_REQUIRE(soma__allocator_valid(alloc), err, SOMA_EINVAL, "alloc",
                 "alloc must set both its allocate and free functions (or be NULL)");
    return SOMA_OK;
}

/* noise: finite, >= 0; n_samples >= 1. */
static soma_status check_two_class(size_t n_samples, double noise, soma_error_info *err)
{
    SOMA_REQUIRE(n_samples >= 1, err, SOMA_EINVAL, "n_samples",
                 "n_samples is 0: ask for at least one point");
    SOMA_REQUIRE(isfinite(noise) && noise >= 0.0, err, SOMA_EINVAL, "noise",
                 "noise is %g: a standard deviation, finite and >= 0", noise);
    return SOMA_OK;
}

/* Allocate the n x d points and n x 1 labels of a generator. */
static soma_status alloc_xy(size_t n, size_t d, soma_matrix *X, soma_matrix *y,
                            const soma_allocator *alloc, const char *n_name,
                            soma_error_info *err)
{
    soma_status st = soma_matrix_init(X, n, d, alloc);
    if (st == SOMA_OK) {
        st = soma_matrix_init(y, n, 1, alloc);
        if (st != SOMA_OK)
            soma_matrix_free(X);
    }
    if (st != SOMA_OK)
        return soma__fail(err, st, n_name,
                          "%s is %zu: cannot allocate %zu x %zu points: %s", n_name, n, n,
                          d, soma_status_string(st));
    return SOMA_OK;
}

/* Apply one uniformly random permutation to the rows of X and y together
 * (Fisher-Yates with row swaps; X and y are packed, ld == cols). */
static void shuffle_rows(soma_rng *rng, soma_matrix *X, soma_matrix *y)
{
    const size_t d = X->cols;
    for (size_t i = X->rows; i > 1; i--) {
        size_t j = (size_t)soma__rng_below(rng, (uint64_t)i);
        if (j == i - 1)
            continue;
        double *a = X->data + (i - 1) * d, *b = X->data + j * d;
        for (size_t c = 0; c < d; c++) {
            double t = a[c];
            a[c] = b[c];
            b[c] = t;
        }
        double t = y->data[i - 1];
        y->data[i - 1] = y->data[j];
        y->data[j] = t;
    }
}

/* X += N(0, sd^2) elementwise (X packed). */
static void add_noise(soma_rng *rng, soma_matrix *X, double sd)
{
    size_t n = X->rows * X->cols;
    for (size_t i = 0; i < n; i++)
        X->data[i] += sd * soma__rng_normal(rng);
}

/* The common tail of circles and moons. */
static void finish_two_class(soma_rng *rng, soma_matrix *X, soma_matrix *y, bool shuffle,
                             double noise)
{
    if (shuffle)
        shuffle_rows(rng, X, y);
    if (noise > 0.0)
        add_noise(rng, X, noise);
}

soma_status soma_make_circles(soma_rng *rng, size_t n_samples, double noise,
                              double factor, bool shuffle, soma_matrix *X, soma_matrix *y,
                              const soma_allocator *alloc, soma_error_info *err)
{
    SOMA_TRY(check_common(rng, X, y, alloc, err));
    SOMA_TRY(check_two_class(n_samples, noise, err));
    SOMA_REQUIRE(
        factor >= 0.0 && factor < 1.0, err, SOMA_EINVAL, "factor",
        "factor is %g: the inner circle's radius relative to the outer one, in [0, 1)",
        factor);
    soma_matrix tx, ty;
    SOMA_TRY(alloc_xy(n_samples, 2, &tx, &ty, alloc, "n_samples", err));
    const size_t n_out = n_samples / 2, n_in = n_samples - n_out;
    for (size_t i = 0; i < n_out; i++) {
        double t = (TWO_PI / (double)n_out) * (double)i;
        tx.data[2 * i] = cos(t);
        tx.data[2 * i + 1] = sin(t);
        ty.data[i] = 0.0;
    }
    for (size_t i = 0; i < n_in; i++) {
        double t = (TWO_PI / (double)n_in) * (double)i;
        tx.data[2 * (n_out + i)] = factor * cos(t);
        tx.data[2 * (n_out + i) + 1] = factor * sin(t);
        ty.data[n_out + i] = 1.0;
    }
    finish_two_class(rng, &tx, &ty, shuffle, noise);
    *X = tx;
    *y = ty;
    return SOMA_OK;
}

/* NumPy's linspace(0, pi, m)[i]: the last point is pi exactly. */
static double half_turn(size_t i, size_t m)
{
    if (m <= 1)
        return 0.0;
    if (i == m - 1)
        return PI;
    return (PI / (double)(m - 1)) * (double)i;
}

soma_status soma_make_moons(soma_rng *rng, size_t n_samples, double noise, bool shuffle,
                            soma_matrix *X, soma_matrix *y, const soma_allocator *alloc,
                            soma_error_info *err)
{
    SOMA_TRY(check_common(rng, X, y, alloc, err));
    SOMA_TRY(check_two_class(n_samples, noise, err));
    soma_matrix tx, ty;
    SOMA_TRY(alloc_xy(n_samples, 2, &tx, &ty, alloc, "n_samples", err));
    const size_t n_out = n_samples / 2, n_in = n_samples - n_out;
    for (size_t i = 0; i < n_out; i++) {
        double t = half_turn(i, n_out);
        tx.data[2 * i] = cos(t);
        tx.data[2 * i + 1] = sin(t);
        ty.data[i] = 0.0;
    }
    for (size_t i = 0; i < n_in; i++) {
        double t = half_turn(i, n_in);
        tx.data[2 * (n_out + i)] = 1.0 - cos(t);
        tx.data[2 * (n_out + i) + 1] = 1.0 - sin(t) - 0.5;
        ty.data[n_out + i] = 1.0;
    }
    finish_two_class(rng, &tx, &ty, shuffle, noise);
    *X = tx;
    *y = ty;
    return SOMA_OK;
}

/* ------------------------------------------------------------------------ */

soma_make_blobs_options soma_make_blobs_defaults(void)
{
    soma_make_blobs_options o = {
        .n_samples = 100,
        .n_features = 2,
        .n_centers = 3,
        .centers = NULL,
        .cluster_std = 1.0,
        .cluster_stds = NULL,
        .center_box_lo = -10.0,
        .center_box_hi = 10.0,
        .shuffle = true,
    };
    return o;
}

static soma_status blobs_check(const soma_make_blobs_options *o, soma_error_info *err)
{
    SOMA_REQUIRE(o->n_samples >= 1, err, SOMA_EINVAL, "opt.n_samples",
                 "opt.n_samples is 0: ask for at least one point");
    if (o->centers != NULL) {
        SOMA_TRY(soma__check_matrix_arg(o->centers, "opt.centers", err));
        SOMA_REQUIRE(o->centers->rows >= 1 && o->centers->cols >= 1, err, SOMA_EINVAL,
                     "opt.centers", "opt.centers is %zu x %zu: give at least one center",
                     o->centers->rows, o->centers->cols);
        SOMA_TRY(soma__check_finite_arg(o->centers, "opt.centers", err));
    } else {
        SOMA_REQUIRE(o->n_centers >= 1, err, SOMA_EINVAL, "opt.n_centers",
                     "opt.n_centers is 0: ask for at least one blob");
        SOMA_REQUIRE(o->n_features >= 1, err, SOMA_EINVAL, "opt.n_features",
                     "opt.n_features is 0: points need at least one coordinate");
        double lo = o->center_box_lo, hi = o->center_box_hi;
        SOMA_REQUIRE(
            isfinite(lo) && isfinite(hi) && lo < hi && isfinite(hi - lo), err,
            SOMA_EINVAL, "opt.center_box_lo",
            "opt.center_box_lo %g and opt.center_box_hi %g: a finite box, lo < hi", lo,
            hi);
    }
    size_t k = o->centers != NULL ? o->centers->rows : o->n_centers;
    if (o->cluster_stds != NULL) {
        for (size_t i = 0; i < k; i++)
            SOMA_REQUIRE(
                isfinite(o->cluster_stds[i]) && o->cluster_stds[i] >= 0.0, err,
                SOMA_EINVAL, "opt.cluster_stds",
                "opt.cluster_stds[%zu] is %g: standard deviations are finite and >= 0", i,
                o->cluster_stds[i]);
    } else {
        SOMA_REQUIRE(isfinite(o->cluster_std) && o->cluster_std >= 0.0, err, SOMA_EINVAL,
                     "opt.cluster_std",
                     "opt.cluster_std is %g: it must be finite and >= 0", o->cluster_std);
    }
    return SOMA_OK;
}

soma_status soma_make_blobs(soma_rng *rng, const soma_make_blobs_options *opt,
                            soma_matrix *X, soma_matrix *y, soma_matrix *centers_out,
                            const soma_allocator *alloc, soma_error_info *err)
{
    soma_make_blobs_options o = opt != NULL ? *opt : soma_make_blobs_defaults();
    SOMA_TRY(check_common(rng, X, y, alloc, err));
    SOMA_TRY(blobs_check(&o, err));
    const size_t k = o.centers != NULL ? o.centers->rows : o.n_centers;
    const size_t d = o.centers != NULL ? o.centers->cols : o.n_features;
    const size_t n = o.n_samples;

    soma_matrix C = {0}, tx = {0}, ty = {0};
    soma_status st = soma_matrix_init(&C, k, d, alloc);
    if (st != SOMA_OK)
        return soma__fail(
            err, st, "opt.n_centers",
            "opt.n_centers x opt.n_features (%zu x %zu): cannot allocate the "
            "centers: %s",
            k, d, soma_status_string(st));
    if (o.centers != NULL) {
        st = soma_matrix_copy(o.centers, &C);
    } else {
        for (size_t i = 0; i < k && st == SOMA_OK; i++)
            st = soma_rng_uniform_range(rng, d, o.center_box_lo, o.center_box_hi,
                                        soma_matrix_at(&C, i, 0));
    }
    if (st != SOMA_OK)
        goto cleanup;
    st = alloc_xy(n, d, &tx, &ty, alloc, "opt.n_samples", err);
    if (st != SOMA_OK)
        goto cleanup;

    size_t row = 0;
    for (size_t c = 0; c < k; c++) {
        size_t count = n / k + (c < n % k ? 1 : 0);
        double sd = o.cluster_stds != NULL ? o.cluster_stds[c] : o.cluster_std;
        const double *center = soma_matrix_at(&C, c, 0);
        for (size_t i = 0; i < count; i++, row++) {
            double *x = tx.data + row * d;
            for (size_t j = 0; j < d; j++)
                x[j] = center[j] + sd * soma__rng_normal(rng);
            ty.data[row] = (double)c;
        }
    }
    if (o.shuffle)
        shuffle_rows(rng, &tx, &ty);

    *X = tx;
    *y = ty;
    if (centers_out != NULL) {
        *centers_out = C;
        C = (soma_matrix){0};
    }
    tx = (soma_matrix){0};
    ty = (soma_matrix){0};
cleanup:
    soma_matrix_free(&tx);
    soma_matrix_free(&ty);
    soma_matrix_free(&C);
    return st;
}

/* ------------------------------------------------------------------------ */

soma_make_classification_options soma_make_classification_defaults(void)
{
    soma_make_classification_options o = {
        .n_samples = 100,
        .n_features = 20,
        .n_informative = 2,
        .n_redundant = 2,
        .n_repeated = 0,
        .n_classes = 2,
        .n_clusters_per_class = 2,
        .weights = NULL,
        .n_weights = 0,
        .flip_y = 0.01,
        .class_sep = 1.0,
        .hypercube = true,
        .shift = 0.0,
        .shift_values = NULL,
        .shift_random = false,
        .scale = 1.0,
        .scale_values = NULL,
        .scale_random = false,
        .shuffle = true,
    };
    return o;
}

/* Everything make_classification allocates besides its outputs. */
typedef struct mc_work {
    const soma_allocator *alloc;
    size_t *counts;        /* samples per cluster */
    double *centroids;     /* clusters x d_i */
    double *Z, *I, *R;     /* n x d_i normals, n x d_i informative, n x d_r */
    double *A, *B;         /* d_i x d_i mixing, d_i x d_r redundant map */
    size_t *repeat;        /* d_p source columns */
    double *shift, *scale; /* n_features each */
    size_t *perm;          /* n_features */
    double *rowbuf;        /* n_features */
    uint32_t *pool;        /* distinct-vertex sampling */
    size_t sizes[13];      /* bytes of each block above, in order */
} mc_work;

/* Allocate `count` elements of `size` bytes into *p, recording the size.
 * A zero count leaves *p NULL. */
static soma_status mc_alloc(mc_work *w, int slot, void **p, size_t count, size_t size)
{
    size_t bytes;
    if (!soma__mul(count, size, &bytes))
        return SOMA_EOVERFLOW;
    w->sizes[slot] = bytes;
    if (bytes == 0)
        return SOMA_OK;
    *p = soma__alloc(w->alloc, bytes);
    return *p == NULL ? SOMA_ENOMEM : SOMA_OK;
}

static void mc_free(mc_work *w)
{
    void *blocks[13] = {w->counts, w->centroids, w->Z,      w->I,     w->R,
                        w->A,      w->B,         w->repeat, w->shift, w->scale,
                        w->perm,   w->rowbuf,    w->pool};
    for (int i = 0; i < 13; i++)
        soma__free(w->alloc, blocks[i], w->sizes[i]);
}

static soma_status mc_check_values(const double *v, size_t n, const char *name,
                                   soma_error_info *err)
{
    for (size_t i = 0; i < n; i++)
        SOMA_REQUIRE(isfinite(v[i]), err, SOMA_EINVAL, name,
                     "%s[%zu] is %g: it must be finite", name, i, v[i]);
    return SOMA_OK;
}

/* Validate the options; set the cluster count and the full weight of the
 * last class (which may be inferred). */
#define MC_REQUIRE(cond, field, ...)                                                     \
    SOMA_REQUIRE(cond, err, SOMA_EINVAL, "opt." field, "opt." field " " __VA_ARGS__)

static soma_status mc_check(const soma_make_classification_options *o, size_t *clusters,
                            double *last_weight, soma_error_info *err)
{
    MC_REQUIRE(o->n_samples >= 1, "n_samples", "is 0: ask for at least one row");
    MC_REQUIRE(o->n_features >= 1, "n_features", "is 0: rows need at least one feature");
    MC_REQUIRE(o->n_informative >= 1, "n_informative",
               "is 0: at least one feature informs");
    MC_REQUIRE(o->n_classes >= 1, "n_classes", "is 0: at least one class");
    MC_REQUIRE(o->n_clusters_per_class >= 1, "n_clusters_per_class",
               "is 0: at least one cluster per class");
    size_t used;
    MC_REQUIRE(soma__add(o->n_informative, o->n_redundant, &used) &&
                   soma__add(used, o->n_repeated, &used) && used <= o->n_features,
               "n_features",
               "is %zu but informative + redundant + repeated features are more",
               o->n_features);
    MC_REQUIRE(soma__mul(o->n_classes, o->n_clusters_per_class, clusters), "n_classes",
               "times opt.n_clusters_per_class overflows");
    size_t bits = o->n_informative < 30 ? o->n_informative : 30;
    MC_REQUIRE(*clusters <= ((size_t)1 << bits), "n_informative",
               "is %zu: %zu classes x %zu clusters need 2^n_informative >= %zu hypercube "
               "vertices",
               o->n_informative, o->n_classes, o->n_clusters_per_class, *clusters);
    MC_REQUIRE(isfinite(o->flip_y) && o->flip_y >= 0.0 && o->flip_y <= 1.0, "flip_y",
               "is %g: a fraction in [0, 1]", o->flip_y);
    MC_REQUIRE(isfinite(o->class_sep) && o->class_sep > 0.0, "class_sep",
               "is %g: it must be finite and > 0", o->class_sep);
    MC_REQUIRE(isfinite(o->shift), "shift", "is %g: it must be finite", o->shift);
    MC_REQUIRE(isfinite(o->scale) && o->scale > 0.0, "scale",
               "is %g: it must be finite and > 0", o->scale);
    if (o->shift_values != NULL)
        SOMA_TRY(
            mc_check_values(o->shift_values, o->n_features, "opt.shift_values", err));
    if (o->scale_values != NULL)
        SOMA_TRY(
            mc_check_values(o->scale_values, o->n_features, "opt.scale_values", err));
    *last_weight = 1.0 / (double)o->n_classes;
    if (o->weights != NULL) {
        MC_REQUIRE(o->n_weights == o->n_classes || o->n_weights + 1 == o->n_classes,
                   "n_weights", "is %zu: give n_classes (%zu) weights or one fewer",
                   o->n_weights, o->n_classes);
        double sum = 0.0;
        for (size_t i = 0; i < o->n_weights; i++) {
            MC_REQUIRE(isfinite(o->weights[i]) && o->weights[i] >= 0.0, "weights",
                       "[%zu] is %g: weights are finite and >= 0", i, o->weights[i]);
            sum += o->weights[i];
        }
        if (o->n_weights == o->n_classes) {
            *last_weight = o->weights[o->n_classes - 1];
        } else {
            /* Rounding may leave -1e-17 where the caller meant 0. */
            double rest = 1.0 - sum;
            MC_REQUIRE(rest >= -1e-12, "weights",
                       "sum to %.17g: with one weight left out they must sum to <= 1",
                       sum);
            *last_weight = rest > 0.0 ? rest : 0.0;
        }
    }
    return SOMA_OK;
}

/* Step 1: samples per cluster. SOMA_EINVAL if the weights ask for more
 * than n samples. */
static soma_status mc_counts(const soma_make_classification_options *o, size_t clusters,
                             double last_weight, size_t *counts)
{
    const size_t n = o->n_samples;
    size_t total = 0;
    if (clusters == 0)
        return SOMA_EINVAL;
    for (size_t c = 0; c < clusters; c++) {
        size_t cls = c % o->n_classes;
        double w =
            cls == o->n_classes - 1
                ? last_weight
                : (o->weights != NULL ? o->weights[cls] : 1.0 / (double)o->n_classes);
        double v = floor((double)n * w / (double)o->n_clusters_per_class);
        if (!(v <= (double)n))
            return SOMA_EINVAL;
        counts[c] = (size_t)v;
        if (!soma__add(total, counts[c], &total) || total > n)
            return SOMA_EINVAL;
    }
    for (size_t i = 0; i < n - total; i++)
        counts[i % clusters]++;
    return SOMA_OK;
}

/* k distinct values from [0, 2^bits), in random order: a partial
 * Fisher-Yates over the whole range when it is small next to k, else
 * rejection of repeats through an open-addressing set (the range is then
 * at least 4k, so fewer than 1/4 of the draws repeat). */
static soma_status distinct_vertices(soma_rng *rng, size_t k, unsigned bits, mc_work *w,
                                     uint32_t *out)
{
    const uint64_t range = (uint64_t)1 << bits;
    if (range <= 4 * (uint64_t)k) {
        SOMA_TRY(mc_alloc(w, 12, (void **)&w->pool, (size_t)range, sizeof(uint32_t)));
        if (w->pool == NULL)
            return SOMA_ENOMEM; /* not reached: range >= 2 */
        for (uint64_t v = 0; v < range; v++)
            w->pool[v] = (uint32_t)v;
        for (size_t i = 0; i < k; i++) {
            size_t j = i + (size_t)soma__rng_below(rng, range - i);
            uint32_t t = w->pool[i];
            w->pool[i] = w->pool[j];
            w->pool[j] = t;
            out[i] = w->pool[i];
        }
        return SOMA_OK;
    }
    size_t cap = 16;
    while (cap < 2 * k)
        cap *= 2; /* k <= 2^28 here, so no overflow */
    SOMA_TRY(mc_alloc(w, 12, (void **)&w->pool, cap, sizeof(uint32_t)));
    memset(w->pool, 0, cap * sizeof(uint32_t)); /* 0 = empty slot; v stored as v+1 */
    for (size_t i = 0; i < k;) {
        uint32_t v = (uint32_t)soma__rng_below(rng, range);
        size_t h = (size_t)((v * UINT64_C(0x9E3779B97F4A7C15)) >> 32) & (cap - 1);
        while (w->pool[h] != 0 && w->pool[h] != v + 1)
            h = (h + 1) & (cap - 1);
        if (w->pool[h] != 0)
            continue; /* seen: draw again */
        w->pool[h] = v + 1;
        out[i++] = v;
    }
    return SOMA_OK;
}

/* Step 2: centroids on the hypercube {-sep, +sep}^d_i (or a polytope). */
static soma_status mc_centroids(soma_rng *rng, const soma_make_classification_options *o,
                                size_t clusters, mc_work *w)
{
    const size_t di = o->n_informative;
    const size_t low = di > 30 ? 30 : di; /* coordinates drawn distinct */
    const size_t high = di - low;         /* leading random-bit coordinates */
    double *C = w->centroids;
    for (size_t c = 0; c < clusters; c++)
        for (size_t j = 0; j < high; j++)
            C[c * di + j] = (double)soma__rng_below(rng, 2);
    uint32_t *codes = NULL; /* one vertex code per cluster */
    size_t bytes;
    if (!soma__mul(clusters, sizeof(uint32_t), &bytes))
        return SOMA_EOVERFLOW;
    codes = soma__alloc(w->alloc, bytes);
    if (codes == NULL)
        return SOMA_ENOMEM;
    soma_status st = distinct_vertices(rng, clusters, (unsigned)low, w, codes);
    if (st == SOMA_OK) {
        /* Coordinate high + j is bit (low - 1 - j): most significant first. */
        for (size_t c = 0; c < clusters; c++)
            for (size_t j = 0; j < low; j++)
                C[c * di + high + j] = (double)((codes[c] >> (low - 1 - j)) & 1u);
    }
    soma__free(w->alloc, codes, bytes);
    SOMA_TRY(st);
    const double sep = o->class_sep;
    for (size_t i = 0; i < clusters * di; i++)
        C[i] = C[i] * 2.0 * sep - sep;
    if (!o->hypercube) {
        for (size_t c = 0; c < clusters; c++) {
            double u = soma__rng_uniform(rng);
            for (size_t j = 0; j < di; j++)
                C[c * di + j] *= u;
        }
        for (size_t j = 0; j < di; j++) {
            double v = soma__rng_uniform(rng);
            for (size_t c = 0; c < clusters; c++)
                C[c * di + j] *= v;
        }
    }
    return SOMA_OK;
}

/* Steps 3-4: informative block I = Z_c A_c + centroid_c per cluster, and
 * the redundant block R = I B. */
static soma_status mc_informative(soma_rng *rng,
                                  const soma_make_classification_options *o,
                                  size_t clusters, mc_work *w)
{
    const size_t n = o->n_samples, di = o->n_informative, dr = o->n_redundant;
    for (size_t i = 0; i < n * di; i++)
        w->Z[i] = soma__rng_normal(rng);
    soma_matrix A = soma__view(w->A, di, di, di);
    size_t start = 0;
    for (size_t c = 0; c < clusters; c++) {
        for (size_t i = 0; i < di * di; i++)
            w->A[i] = 2.0 * soma__rng_uniform(rng) - 1.0;
        size_t m = w->counts[c];
        if (m > 0) {
            soma_matrix Zc = soma__view(w->Z + start * di, m, di, di);
            soma_matrix Ic = soma__view(w->I + start * di, m, di, di);
            SOMA_TRY(soma_gemm(SOMA_TRANS_NO, SOMA_TRANS_NO, 1.0, &Zc, &A, 0.0, &Ic));
            const double *cen = w->centroids + c * di;
            for (size_t i = 0; i < m; i++)
                for (size_t j = 0; j < di; j++)
                    Ic.data[i * di + j] += cen[j];
        }
        start += m;
    }
    if (dr > 0) {
        for (size_t i = 0; i < di * dr; i++)
            w->B[i] = 2.0 * soma__rng_uniform(rng) - 1.0;
        soma_matrix I = soma__view(w->I, n, di, di);
        soma_matrix B = soma__view(w->B, di, dr, dr);
        soma_matrix R = soma__view(w->R, n, dr, dr);
        SOMA_TRY(soma_gemm(SOMA_TRANS_NO, SOMA_TRANS_NO, 1.0, &I, &B, 0.0, &R));
    }
    return SOMA_OK;
}

/* Steps 5-6: assemble [informative | redundant | repeated | noise]. */
static void mc_assemble(soma_rng *rng, const soma_make_classification_options *o,
                        mc_work *w, soma_matrix *X)
{
    const size_t n = o->n_samples, F = o->n_features;
    const size_t di = o->n_informative, dr = o->n_redundant, dp = o->n_repeated;
    const size_t useful = di + dr, noise0 = useful + dp;
    for (size_t r = 0; r < dp; r++)
        w->repeat[r] = (size_t)((double)(useful - 1) * soma__rng_uniform(rng) + 0.5);
    for (size_t i = 0; i < n; i++) {
        double *x = X->data + i * F;
        memcpy(x, w->I + i * di, di * sizeof(double));
        if (dr > 0)
            memcpy(x + di, w->R + i * dr, dr * sizeof(double));
        for (size_t r = 0; r < dp; r++)
            x[useful + r] = x[w->repeat[r]];
    }
    /* Noise drawn after the repeat indices, row-major, as scikit-learn. */
    for (size_t i = 0; i < n; i++)
        for (size_t j = noise0; j < F; j++)
            X->data[i * F + j] = soma__rng_normal(rng);
}

/* Steps 7-9: labels and label noise, shift and scale, shuffles. */
static void mc_finish(soma_rng *rng, const soma_make_classification_options *o,
                      size_t clusters, mc_work *w, soma_matrix *X, soma_matrix *y)
{
    const size_t n = o->n_samples, F = o->n_features;
    size_t row = 0;
    for (size_t c = 0; c < clusters; c++)
        for (size_t i = 0; i < w->counts[c]; i++)
            y->data[row++] = (double)(c % o->n_classes);
    if (o->flip_y > 0.0)
        for (size_t i = 0; i < n; i++)
            if (soma__rng_uniform(rng) < o->flip_y)
                y->data[i] = (double)soma__rng_below(rng, o->n_classes);

    for (size_t j = 0; j < F; j++) {
        if (o->shift_random)
            w->shift[j] = (2.0 * soma__rng_uniform(rng) - 1.0) * o->class_sep;
        else
            w->shift[j] = o->shift_values != NULL ? o->shift_values[j] : o->shift;
    }
    for (size_t j = 0; j < F; j++) {
        if (o->scale_random)
            w->scale[j] = 1.0 + 100.0 * soma__rng_uniform(rng);
        else
            w->scale[j] = o->scale_values != NULL ? o->scale_values[j] : o->scale;
    }
    for (size_t i = 0; i < n; i++) {
        double *x = X->data + i * F;
        for (size_t j = 0; j < F; j++)
            x[j] = (x[j] + w->shift[j]) * w->scale[j];
    }

    if (o->shuffle) {
        shuffle_rows(rng, X, y);
        for (size_t j = 0; j < F; j++)
            w->perm[j] = j;
        soma__rng_shuffle(rng, w->perm, F);
        for (size_t i = 0; i < n; i++) {
            double *x = X->data + i * F;
            for (size_t j = 0; j < F; j++)
                w->rowbuf[j] = x[w->perm[j]];
            memcpy(x, w->rowbuf, F * sizeof(double));
        }
    }
}

soma_status soma_make_classification(soma_rng *rng,
                                     const soma_make_classification_options *opt,
                                     soma_matrix *X, soma_matrix *y,
                                     const soma_allocator *alloc, soma_error_info *err)
{
    soma_make_classification_options o =
        opt != NULL ? *opt : soma_make_classification_defaults();
    SOMA_TRY(check_common(rng, X, y, alloc, err));
    size_t clusters = 0;
    double last_weight = 0.0;
    SOMA_TRY(mc_check(&o, &clusters, &last_weight, err));

    const size_t n = o.n_samples, F = o.n_features;
    const size_t di = o.n_informative, dr = o.n_redundant;
    size_t nd_i, nd_r, cd_i, dd_i, dd_r;
    if (!soma__mul(n, di, &nd_i) || !soma__mul(n, dr, &nd_r) ||
        !soma__mul(clusters, di, &cd_i) || !soma__mul(di, di, &dd_i) ||
        !soma__mul(di, dr, &dd_r))
        return soma__fail(err, SOMA_EOVERFLOW, "opt.n_samples",
                          "opt.n_samples %zu x opt.n_informative %zu overflows size_t", n,
                          di);

    mc_work w;
    memset(&w, 0, sizeof w);
    w.alloc = alloc;
    soma_matrix tx = {0}, ty = {0};
    soma_status st = SOMA_OK;
    if ((st = mc_alloc(&w, 0, (void **)&w.counts, clusters, sizeof(size_t))) != SOMA_OK ||
        (st = mc_alloc(&w, 1, (void **)&w.centroids, cd_i, sizeof(double))) != SOMA_OK ||
        (st = mc_alloc(&w, 2, (void **)&w.Z, nd_i, sizeof(double))) != SOMA_OK ||
        (st = mc_alloc(&w, 3, (void **)&w.I, nd_i, sizeof(double))) != SOMA_OK ||
        (st = mc_alloc(&w, 4, (void **)&w.R, nd_r, sizeof(double))) != SOMA_OK ||
        (st = mc_alloc(&w, 5, (void **)&w.A, dd_i, sizeof(double))) != SOMA_OK ||
        (st = mc_alloc(&w, 6, (void **)&w.B, dd_r, sizeof(double))) != SOMA_OK ||
        (st = mc_alloc(&w, 7, (void **)&w.repeat, o.n_repeated, sizeof(size_t))) !=
            SOMA_OK ||
        (st = mc_alloc(&w, 8, (void **)&w.shift, F, sizeof(double))) != SOMA_OK ||
        (st = mc_alloc(&w, 9, (void **)&w.scale, F, sizeof(double))) != SOMA_OK ||
        (st = mc_alloc(&w, 10, (void **)&w.perm, F, sizeof(size_t))) != SOMA_OK ||
        (st = mc_alloc(&w, 11, (void **)&w.rowbuf, F, sizeof(double))) != SOMA_OK)
        goto cleanup;
    if ((st = mc_counts(&o, clusters, last_weight, w.counts)) != SOMA_OK)
        goto cleanup;
    if ((st = alloc_xy(n, F, &tx, &ty, alloc, "opt.n_samples", err)) != SOMA_OK)
        goto cleanup;
    if ((st = mc_centroids(rng, &o, clusters, &w)) != SOMA_OK)
        goto cleanup;
    if ((st = mc_informative(rng, &o, clusters, &w)) != SOMA_OK)
        goto cleanup;
    mc_assemble(rng, &o, &w, &tx);
    mc_finish(rng, &o, clusters, &w, &tx, &ty);
    *X = tx;
    *y = ty;
    tx = (soma_matrix){0};
    ty = (soma_matrix){0};
cleanup:
    soma_matrix_free(&tx);
    soma_matrix_free(&ty);
    mc_free(&w);
    if (st == SOMA_EINVAL)
        return soma__fail(err, st, "opt.weights",
                          "the class weights ask for more than opt.n_samples = %zu rows",
                          n);
    if (st != SOMA_OK)
        return soma__fail(err, st, "",
                          "%s allocating the work buffers for %zu x %zu rows",
                          soma_status_string(st), n, F);
    return st;
}
