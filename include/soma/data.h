/**
 * @file data.h
 * @brief Toy data sets (the scikit-learn generators), standard scaling,
 * train/test split, and one-hot encoding.
 *
 * Errors: every function here that returns soma_status takes an optional
 * `soma_error_info *err` as its last argument, filled on failure with the
 * argument at fault and a message (see status.h); pass NULL to ignore it.
 *
 * Conventions shared by every function here:
 * - X is n x d (one sample per row); labels are an n x 1 matrix of doubles
 *   holding integer class values 0 .. k-1.
 * - Every matrix a function *produces* is allocated with
 *   `soma_matrix_init(out, ..., alloc)`: the output struct must not own
 *   memory when passed in (it is overwritten, not freed), and the caller
 *   releases it with `soma_matrix_free`. On any error no output is written.
 * - Randomness comes only from the `soma_rng` passed in. The generators
 *   mirror scikit-learn's algorithms and parameters, but soma's generator is
 *   xoshiro256** with Box-Muller normals, not NumPy's: the same seed gives
 *   different numbers from scikit-learn's, drawn from the same
 *   distribution. Within soma, the same seed (and the same build) gives the
 *   same bits. docs/data.md compares each generator with its scikit-learn
 *   counterpart.
 */
#ifndef SOMA_DATA_H
#define SOMA_DATA_H

#include <stdbool.h>
#include <stddef.h>

#include "common.h"
#include "matrix.h"
#include "rng.h"
#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/** @name Generators
 *  @{ */

/**
 * @brief Two concentric circles, as `sklearn.datasets.make_circles`.
 *
 * n_out = n_samples / 2 (rounded down) points on the unit circle with label
 * 0, then n_in = n_samples - n_out points on the circle of radius `factor`
 * with label 1 (so the inner circle gets the odd sample, as in
 * scikit-learn). Angles are evenly spaced without the end point:
 * t_i = 2 pi i / n_out (resp. n_in), point = r (cos t_i, sin t_i).
 * Then, if `shuffle`, rows are permuted uniformly; then, if noise > 0,
 * N(0, noise^2) is added to every coordinate.
 *
 * scikit-learn defaults: n_samples 100, shuffle true, noise None (here 0),
 * factor 0.8. Difference: noise == 0 draws nothing (scikit-learn's
 * noise=None likewise adds nothing).
 *
 * @param rng        generator; used for the shuffle and the noise
 * @param n_samples  total number of points, >= 1
 * @param noise      standard deviation of the Gaussian noise, finite, >= 0
 * @param factor     inner radius, 0 <= factor < 1
 * @param shuffle    permute the rows
 * @param X          receives the n_samples x 2 points
 * @param y          receives the n_samples x 1 labels (0 outer, 1 inner)
 * @param alloc      allocator for X and y, or NULL
 * @return SOMA_OK; SOMA_EINVAL for NULL pointers, n_samples == 0, or a
 *         parameter out of range; SOMA_EOVERFLOW, SOMA_ENOMEM.
 */
SOMA_API SOMA_NODISCARD soma_status soma_make_circles(
    soma_rng *rng, size_t n_samples, double noise, double factor, bool shuffle,
    soma_matrix *X, soma_matrix *y, const soma_allocator *alloc, soma_error_info *err);

/**
 * @brief Two interleaving half circles, as `sklearn.datasets.make_moons`.
 *
 * n_out = n_samples / 2 (rounded down) points with label 0 on the upper
 * half circle (cos t, sin t), then n_in = n_samples - n_out points with
 * label 1 on (1 - cos t, 1 - sin t - 0.5), where t runs over n evenly
 * spaced angles from 0 to pi *with* both end points (t_i = pi i / (n - 1),
 * t_0 = 0 when n == 1), as NumPy's `linspace(0, pi, n)`. Then the optional
 * shuffle, then N(0, noise^2) on every coordinate when noise > 0.
 *
 * scikit-learn defaults: n_samples 100, shuffle true, noise None (here 0).
 *
 * @return as soma_make_circles (no factor).
 */
SOMA_API SOMA_NODISCARD soma_status soma_make_moons(soma_rng *rng, size_t n_samples,
                                                    double noise, bool shuffle,
                                                    soma_matrix *X, soma_matrix *y,
                                                    const soma_allocator *alloc,
                                                    soma_error_info *err);

/** @brief Parameters of soma_make_blobs; start from soma_make_blobs_defaults(). */
typedef struct soma_make_blobs_options {
    size_t n_samples;           /**< total points, >= 1 (default 100) */
    size_t n_features;          /**< columns of X, >= 1 (default 2); ignored
                                     when `centers` is given */
    size_t n_centers;           /**< number of random centers, >= 1 (default 3);
                                     ignored when `centers` is given */
    const soma_matrix *centers; /**< fixed centers (k x d), or NULL to draw
                                    them uniformly in the center box */
    double cluster_std;         /**< standard deviation of every cluster,
                                     finite, >= 0 (default 1.0) */
    const double *cluster_stds; /**< per-cluster standard deviations (k
                                    values, finite, >= 0), or NULL to use
                                    cluster_std for all */
    double center_box_lo;       /**< lower bound of the center box (default -10) */
    double center_box_hi;       /**< upper bound of the center box (default 10) */
    bool shuffle;               /**< permute the rows (default true) */
} soma_make_blobs_options;

/** @brief The scikit-learn defaults: 100 samples, 2 features, 3 centers,
 *  std 1.0, center box (-10, 10), shuffle. */
SOMA_API soma_make_blobs_options soma_make_blobs_defaults(void);

/**
 * @brief Isotropic Gaussian blobs, as `sklearn.datasets.make_blobs`.
 *
 * Algorithm: when `centers` is NULL, a k x d matrix of centers is drawn
 * uniformly in [center_box_lo, center_box_hi) (row by row). Cluster i gets
 * n_samples / k points, and the first n_samples % k clusters one more; its
 * points are centers(i, :) + std_i * N(0, I) and its label is i. Clusters
 * are stored one after the other, then the rows are permuted if `shuffle`.
 *
 * Differences from scikit-learn: n_samples is a single count (no per-cluster
 * list); the centers are returned through an optional output instead of a
 * `return_centers` flag.
 *
 * @param rng          generator
 * @param opt          parameters, or NULL for the defaults
 * @param X            receives n_samples x d points
 * @param y            receives n_samples x 1 cluster labels 0 .. k-1
 * @param centers_out  NULL, or receives the k x d centers used
 * @param alloc        allocator for the outputs, or NULL
 * @return SOMA_OK; SOMA_EINVAL for NULL rng/X/y, a zero count, a negative or
 *         non-finite std, an invalid or empty `centers` matrix, or a center
 *         box that is not finite with lo < hi (only checked when centers are
 *         drawn); SOMA_ENONFINITE when `centers` holds NaN or infinity;
 *         SOMA_EOVERFLOW, SOMA_ENOMEM.
 */
SOMA_API SOMA_NODISCARD soma_status soma_make_blobs(
    soma_rng *rng, const soma_make_blobs_options *opt, soma_matrix *X, soma_matrix *y,
    soma_matrix *centers_out, const soma_allocator *alloc, soma_error_info *err);

/**
 * @brief Parameters of soma_make_classification; start from
 * soma_make_classification_defaults(), whose values are scikit-learn's.
 *
 * shift and scale each come in three forms, like scikit-learn's
 * "float, array or None": a scalar (`shift`, `scale`), a per-feature array
 * (`shift_values`, `scale_values`, n_features entries, used when not NULL),
 * or random (`shift_random`, `scale_random`: scikit-learn's None, which
 * draws shift_j uniform in [-class_sep, class_sep) and scale_j uniform in
 * [1, 101)). The random form wins over the array, the array over the scalar.
 */
typedef struct soma_make_classification_options {
    size_t n_samples;            /**< >= 1 (default 100) */
    size_t n_features;           /**< >= 1 (default 20) */
    size_t n_informative;        /**< >= 1 (default 2) */
    size_t n_redundant;          /**< default 2 */
    size_t n_repeated;           /**< default 0 */
    size_t n_classes;            /**< >= 1 (default 2) */
    size_t n_clusters_per_class; /**< >= 1 (default 2) */
    const double *weights;       /**< class proportions, or NULL for balanced */
    size_t n_weights;            /**< entries in weights: n_classes, or
                                      n_classes - 1 (last = 1 - sum) */
    double flip_y;               /**< fraction of labels drawn at random,
                                      in [0, 1] (default 0.01) */
    double class_sep;            /**< half the hypercube side, > 0 (default 1) */
    bool hypercube;              /**< vertices of a hypercube (default true) or
                                      of a random polytope */
    double shift;                /**< added to every feature (default 0) */
    const double *shift_values;  /**< per-feature shift, or NULL */
    bool shift_random;           /**< draw the shift (scikit-learn's None) */
    double scale;                /**< multiplies every feature, > 0 (default 1) */
    const double *scale_values;  /**< per-feature scale, or NULL */
    bool scale_random;           /**< draw the scale (scikit-learn's None) */
    bool shuffle;                /**< permute rows and columns (default true) */
} soma_make_classification_options;

/** @brief scikit-learn's defaults: 100 samples, 20 features, 2 informative,
 *  2 redundant, 0 repeated, 2 classes, 2 clusters per class, balanced,
 *  flip_y 0.01, class_sep 1, hypercube, shift 0, scale 1, shuffle. */
SOMA_API soma_make_classification_options soma_make_classification_defaults(void);

/**
 * @brief A random n-class problem, as `sklearn.datasets.make_classification`
 * (I. Guyon's design for the NIPS 2003 "Madelon" data set).
 *
 * Let d_i = n_informative, d_r = n_redundant, d_p = n_repeated, and
 * C = n_classes * n_clusters_per_class clusters; cluster c belongs to
 * class c % n_classes. The steps, in scikit-learn's order:
 * 1. Samples per cluster: floor(n * w[c % n_classes] / n_clusters_per_class)
 *    (w = weights, balanced when NULL); the samples left over go one each to
 *    clusters 0, 1, 2, ... in turn.
 * 2. Centroids: C distinct vertices of the hypercube {0, 1}^d_i (scikit-learn
 *    draws distinct vertices when d_i <= 30; for d_i > 30 the first d_i - 30
 *    coordinates are random bits and the last 30 are distinct, as there),
 *    mapped to {-class_sep, +class_sep}. If !hypercube, centroid c is then
 *    multiplied by u_c and column j by v_j, u and v uniform in [0, 1).
 * 3. Informative columns: Z ~ N(0, 1), n x d_i. Rows of cluster c (stored
 *    contiguously, clusters in order) become Z_c A_c + centroid_c, where
 *    A_c = 2 U - 1 with U uniform d_i x d_i (random covariance; computed
 *    with soma_gemm).
 * 4. Redundant columns: (informative) B, B = 2 U - 1 of shape d_i x d_r.
 * 5. Repeated columns: copies of columns floor((d_i + d_r - 1) u + 0.5) of
 *    the informative-and-redundant block, u uniform.
 * 6. The remaining n_features - d_i - d_r - d_p columns are N(0, 1) noise.
 * 7. Label noise: each label is, with probability flip_y, replaced by a
 *    class drawn uniformly from 0 .. n_classes-1 (so it may stay the same);
 *    nothing is drawn when flip_y == 0.
 * 8. X = (X + shift) * scale, columnwise.
 * 9. If shuffle: rows are permuted, then columns.
 * Without shuffle, the columns are [informative | redundant | repeated |
 * noise].
 *
 * Differences from scikit-learn: the numbers (a different generator, see
 * the file comment); weights must be >= 0 and must not give more than
 * n_samples samples in step 1 (scikit-learn then silently truncates the
 * last clusters; here it is SOMA_EINVAL).
 *
 * @param rng    generator
 * @param opt    parameters, or NULL for the defaults
 * @param X      receives n_samples x n_features
 * @param y      receives n_samples x 1 labels 0 .. n_classes-1
 * @param alloc  allocator for X, y and the temporaries, or NULL
 * @return SOMA_OK; SOMA_EINVAL for NULL pointers or invalid parameters:
 *         zero counts, d_i + d_r + d_p > n_features,
 *         C > 2^min(d_i, 30) (scikit-learn: C <= 2^d_i), a weights count
 *         other than n_classes or n_classes - 1, negative or non-finite
 *         weights, weights summing to more than 1, flip_y outside [0, 1],
 *         class_sep not finite and > 0, scale not finite and > 0, shift or
 *         per-feature values not finite; SOMA_EOVERFLOW, SOMA_ENOMEM.
 */
SOMA_API SOMA_NODISCARD soma_status soma_make_classification(
    soma_rng *rng, const soma_make_classification_options *opt, soma_matrix *X,
    soma_matrix *y, const soma_allocator *alloc, soma_error_info *err);

/** @} */

/* ------------------------------------------------------------------------ */
/** @name Standard scaling
 *  @{ */

/**
 * @brief A fitted standard scaler: z = (x - mean) / scale, per column.
 *
 * A plain struct rather than an opaque object: it is two row vectors that
 * callers read (as scikit-learn's `mean_` and `scale_`) and that model files
 * will store; nothing in it needs hiding. Zero-initialize it
 * (`soma_scaler s = {0};`) or get it from soma_scaler_fit; release it with
 * soma_scaler_free. A scaler is "fitted" when mean and scale are both
 * 1 x d with d >= 1.
 */
typedef struct soma_scaler {
    soma_matrix mean;      /**< 1 x d column means */
    soma_matrix scale;     /**< 1 x d standard deviations (ddof 0); 1 for a
                                constant column */
    size_t n_samples_seen; /**< rows of the X it was fitted on */
} soma_scaler;

/**
 * @brief Fit: mean_j = (1/n) sum_i X(i,j); scale_j = sqrt((1/n) sum_i
 * (X(i,j) - mean_j)^2) (population standard deviation, ddof 0), computed in
 * two passes. A constant column (every value equal, or a variance that
 * rounds to 0) gets scale 1, so it transforms to 0 instead of dividing by
 * zero, as scikit-learn's StandardScaler.
 *
 * @param s      receives the scaler; it must not hold a previous fit (call
 *               soma_scaler_free first): it is overwritten, not freed
 * @param X      n x d data, n >= 1, d >= 1, every value finite
 * @param alloc  allocator for mean and scale, or NULL
 * @return SOMA_OK; SOMA_EINVAL for NULL or invalid arguments or an empty X;
 *         SOMA_ENONFINITE when X holds NaN or infinity; SOMA_ENOMEM.
 *         On error *s is untouched.
 */
SOMA_API SOMA_NODISCARD soma_status soma_scaler_fit(soma_scaler *s, const soma_matrix *X,
                                                    const soma_allocator *alloc,
                                                    soma_error_info *err);

/**
 * @brief A fixed (not fitted) scaler for d features: every mean = offset,
 * every scale = divisor, n_samples_seen 0; "divide pixels by 255" is
 * (offset 0, divisor 255).
 * @param s       receives the scaler (overwritten, not freed)
 * @param d       number of features, >= 1
 * @param offset  finite
 * @param divisor finite and > 0
 * @param alloc   allocator for mean and scale, or NULL
 * @return SOMA_OK; SOMA_EINVAL for NULL s, d 0, a non-finite offset or a
 *         divisor not finite and > 0; SOMA_ENOMEM. *s untouched on error.
 */
SOMA_API SOMA_NODISCARD soma_status soma_scaler_init_fixed(soma_scaler *s, size_t d,
                                                           double offset, double divisor,
                                                           const soma_allocator *alloc,
                                                           soma_error_info *err);

/**
 * @brief out(i,j) = (X(i,j) - mean_j) / scale_j.
 *
 * out must have X's shape; it may be X itself (same data and ld: in place)
 * but must not otherwise overlap it.
 * @return SOMA_OK; SOMA_EINVAL for NULL or invalid matrices; SOMA_ESTATE if
 *         s is not fitted; SOMA_EDIM if X does not have d columns or out
 *         differs from X in shape; SOMA_EALIAS on partial overlap.
 */
SOMA_API SOMA_NODISCARD soma_status soma_scaler_transform(const soma_scaler *s,
                                                          const soma_matrix *X,
                                                          soma_matrix *out,
                                                          soma_error_info *err);

/** @brief out(i,j) = X(i,j) * scale_j + mean_j; arguments and errors as
 *  soma_scaler_transform. */
SOMA_API SOMA_NODISCARD soma_status soma_scaler_inverse_transform(const soma_scaler *s,
                                                                  const soma_matrix *X,
                                                                  soma_matrix *out,
                                                                  soma_error_info *err);

/** @brief Free mean and scale and zero the struct. Accepts NULL and a
 *  zeroed scaler. */
SOMA_API void soma_scaler_free(soma_scaler *s);

/** @} */

/* ------------------------------------------------------------------------ */
/** @name Train/test split
 *  @{ */

/** @brief Options of soma_train_test_split; start from soma_split_defaults(). */
typedef struct soma_split_options {
    double test_fraction; /**< share of rows in the test set, 0 < f < 1
                               (default 0.25); used when test_count == 0 */
    size_t test_count;    /**< exact test-set size, 0 < c < n; 0 = use the
                               fraction (default 0) */
    bool shuffle;         /**< draw the split at random (default true) */
    bool stratify;        /**< keep class proportions of y (default false);
                               needs shuffle and an n x 1 y */
} soma_split_options;

/** @brief test_fraction 0.25, test_count 0, shuffle, no stratification
 *  (scikit-learn's train_test_split defaults). */
SOMA_API soma_split_options soma_split_defaults(void);

/**
 * @brief Split the rows of X (and y) into a training and a test set.
 *
 * Test size: test_count when > 0, else ceil(test_fraction * n), where a
 * product within 1e-9 (relative) of an integer counts as that integer (so
 * 0.1 * 30 gives 3, where scikit-learn's plain ceil gives 4). Training size
 * = n - test size; both must be >= 1.
 *
 * Without shuffle: the first n_train rows train, the last n_test test (as
 * scikit-learn). With shuffle: a uniformly random split, rows of each set in
 * random order. With stratify: rows are grouped by the value of y (any
 * finite values, compared exactly); class c with n_c rows gets t_c test rows,
 * t_c = floor(n_c n_test / n) plus one for the classes with the largest
 * remainders (ties: smaller class value first) until the sizes add up, so
 * every class's test and train counts are within one row of its exact
 * proportion; each class's rows are chosen at random, and each set is then
 * shuffled. Every row of X lands in exactly one set.
 *
 * @param X        n x d data, n >= 2
 * @param y        n x m targets (any m), or NULL; required for stratify
 *                 (then n x 1)
 * @param opt      options, or NULL for the defaults
 * @param rng      generator; may be NULL when !opt->shuffle
 * @param X_train  receives n_train x d
 * @param X_test   receives n_test x d
 * @param y_train  receives n_train x m (ignored, may be NULL, when y is NULL)
 * @param y_test   receives n_test x m (likewise)
 * @param alloc    allocator for the outputs, or NULL
 * @return SOMA_OK; SOMA_EINVAL for NULL or invalid arguments, options out
 *         of range, a split leaving a set empty, stratify without shuffle
 *         or with y not n x 1; SOMA_EDIM if y and X differ in rows;
 *         SOMA_ENONFINITE for NaN or infinite y when stratifying;
 *         SOMA_EOVERFLOW, SOMA_ENOMEM. On error no output is written.
 */
SOMA_API SOMA_NODISCARD soma_status soma_train_test_split(
    const soma_matrix *X, const soma_matrix *y, const soma_split_options *opt,
    soma_rng *rng, soma_matrix *X_train, soma_matrix *X_test, soma_matrix *y_train,
    soma_matrix *y_test, const soma_allocator *alloc, soma_error_info *err);

/** @} */

/* ------------------------------------------------------------------------ */
/** @name One-hot encoding
 *  @{ */

/**
 * @brief *n_classes = 1 + the largest label of an n x 1 label column (0 for
 * no rows): the k to pass to soma_one_hot, soma_mlp_spec_classifier and
 * soma_classifier_outputs. Count the classes on the whole data set before a
 * train/test split, so that both halves agree on k.
 * @return SOMA_OK; SOMA_EINVAL for NULL arguments, an invalid matrix, more
 *         than one column, or a label that is not an integer >= 0;
 *         SOMA_ENONFINITE for NaN or infinity. *n_classes untouched on error.
 */
SOMA_API SOMA_NODISCARD soma_status soma_class_count(const soma_matrix *labels,
                                                     size_t *n_classes,
                                                     soma_error_info *err);

/**
 * @brief out(i, j) = 1 if labels(i, 0) == j else 0.
 *
 * @param labels     n x 1 integer class values in [0, n_classes)
 * @param n_classes  number of columns k; 0 = max label + 1
 * @param out        receives n x k
 * @param alloc      allocator, or NULL
 * @return SOMA_OK; SOMA_EINVAL for NULL or invalid arguments, labels not
 *         n x 1, a label that is negative, not an integer, or >= n_classes,
 *         or n_classes == 0 with no rows to infer it from; SOMA_ENONFINITE
 *         for a NaN or infinite label; SOMA_EOVERFLOW, SOMA_ENOMEM.
 */
SOMA_API SOMA_NODISCARD soma_status soma_one_hot(const soma_matrix *labels,
                                                 size_t n_classes, soma_matrix *out,
                                                 const soma_allocator *alloc,
                                                 soma_error_info *err);

/** @} */

#ifdef __cplusplus
}
#endif

#endif /* SOMA_DATA_H */
