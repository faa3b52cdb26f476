/* Classification metrics (metrics.h). */
#include <float.h>
#include <math.h>
#include <string.h>

#include "internal.h"
#include "labels.h"

/* One label column: n x 1, n >= 1. */
static soma_status label_column(const soma_matrix *a, const char *name,
                                soma_error_info *err)
{
    SOMA_TRY(soma__check_matrix_arg(a, name, err));
    SOMA_REQUIRE(
        a->cols == 1, err, SOMA_EINVAL, name,
        "%s has %zu columns: metrics take one column of class labels%s", name, a->cols,
        a->cols > 1 ? " (for one-hot rows or probabilities, take each row's argmax, "
                      "or use soma_mlp_predict)"
                    : "");
    SOMA_REQUIRE(a->rows >= 1, err, SOMA_EINVAL, name, "%s has no rows", name);
    return SOMA_OK;
}

/* Both n x 1 with the same n >= 1. */
static soma_status pair_check(const soma_matrix *a, const soma_matrix *b,
                              soma_error_info *err)
{
    SOMA_TRY(label_column(a, "y_true", err));
    SOMA_TRY(label_column(b, "y_pred", err));
    SOMA_REQUIRE(a->rows == b->rows, err, SOMA_EDIM, "y_pred",
                 "y_pred has %zu rows but y_true has %zu", b->rows, a->rows);
    return SOMA_OK;
}

soma_status soma_accuracy(const soma_matrix *y_true, const soma_matrix *y_pred,
                          double *out, soma_error_info *err)
{
    SOMA_REQUIRE_PTR(out, err, "out");
    SOMA_TRY(pair_check(y_true, y_pred, err));
    SOMA_TRY(soma__check_finite_arg(y_true, "y_true", err));
    SOMA_TRY(soma__check_finite_arg(y_pred, "y_pred", err));
    size_t hits = 0;
    for (size_t i = 0; i < y_true->rows; i++)
        hits += *soma_matrix_at(y_true, i, 0) == *soma_matrix_at(y_pred, i, 0);
    *out = (double)hits / (double)y_true->rows;
    return SOMA_OK;
}

/* k = n_classes, or 1 + the largest label of either; labels checked. */
static soma_status class_count(const soma_matrix *a, const soma_matrix *b,
                               size_t n_classes, size_t *k, soma_error_info *err)
{
    size_t ka, kb;
    SOMA_TRY(soma__labels_scan(a, "y_true", n_classes, NULL, &ka, err));
    SOMA_TRY(soma__labels_scan(b, "y_pred", n_classes, NULL, &kb, err));
    *k = n_classes != 0 ? n_classes : (ka > kb ? ka : kb);
    return SOMA_OK;
}

soma_status soma_confusion_matrix(const soma_matrix *y_true, const soma_matrix *y_pred,
                                  size_t n_classes, soma_matrix *out,
                                  const soma_allocator *alloc, soma_error_info *err)
{
    SOMA_REQUIRE_PTR(out, err, "out");
    SOMA_REQUIRE(soma__allocator_valid(alloc), err, SOMA_EINVAL, "alloc",
                 "alloc must set both its allocate and free functions (or be NULL)");
    SOMA_TRY(pair_check(y_true, y_pred, err));
    size_t k;
    SOMA_TRY(class_count(y_true, y_pred, n_classes, &k, err));
    soma_matrix cm;
    const soma_status st = soma_matrix_init(&cm, k, k, alloc);
    if (st != SOMA_OK)
        return soma__fail(err, st, "", "cannot allocate a %zu x %zu confusion matrix", k,
                          k);
    for (size_t i = 0; i < y_true->rows; i++) {
        size_t t = (size_t)*soma_matrix_at(y_true, i, 0);
        size_t p = (size_t)*soma_matrix_at(y_pred, i, 0);
        cm.data[t * k + p] += 1.0;
    }
    *out = cm;
    return SOMA_OK;
}

static double ratio(size_t num, size_t den)
{
    return den == 0 ? 0.0 : (double)num / (double)den;
}

/* Per-class scores from one-vs-rest counts. */
static void class_scores(size_t tp, size_t fp, size_t fn, double *p, double *r, double *f)
{
    *p = ratio(tp, tp + fp);
    *r = ratio(tp, tp + fn);
    *f = *p + *r > 0.0 ? 2.0 * *p * *r / (*p + *r) : 0.0;
}

soma_status soma_precision_recall_f1(const soma_matrix *y_true, const soma_matrix *y_pred,
                                     soma_average average, size_t pos_label,
                                     double *precision, double *recall, double *f1,
                                     const soma_allocator *alloc, soma_error_info *err)
{
    SOMA_REQUIRE(precision != NULL || recall != NULL || f1 != NULL, err, SOMA_EINVAL,
                 "precision",
                 "precision, recall and f1 are all NULL: ask for at least one");
    SOMA_REQUIRE((unsigned)average < SOMA_AVERAGE_COUNT, err, SOMA_EINVAL, "average",
                 "average is %d: not a soma_average value", (int)average);
    SOMA_REQUIRE(soma__allocator_valid(alloc), err, SOMA_EINVAL, "alloc",
                 "alloc must set both its allocate and free functions (or be NULL)");
    SOMA_REQUIRE(
        average != SOMA_AVERAGE_BINARY || pos_label <= 1, err, SOMA_EINVAL, "pos_label",
        "pos_label is %zu: binary averaging takes labels 0 and 1 (for more classes "
        "use SOMA_AVERAGE_MACRO)",
        pos_label);
    SOMA_TRY(pair_check(y_true, y_pred, err));
    size_t k;
    SOMA_TRY(
        class_count(y_true, y_pred, average == SOMA_AVERAGE_BINARY ? 2 : 0, &k, err));
    const size_t n = y_true->rows;
    double p, r, f;
    if (average == SOMA_AVERAGE_BINARY) {
        size_t tp = 0, fp = 0, fn = 0;
        for (size_t i = 0; i < n; i++) {
            bool t = (size_t)*soma_matrix_at(y_true, i, 0) == pos_label;
            bool q = (size_t)*soma_matrix_at(y_pred, i, 0) == pos_label;
            tp += t && q;
            fp += !t && q;
            fn += t && !q;
        }
        class_scores(tp, fp, fn, &p, &r, &f);
    } else {
        /* Three counters per class: true positives, times predicted, times
         * true. */
        size_t bytes;
        if (!soma__mul(k, 3 * sizeof(size_t), &bytes))
            return soma__fail(err, SOMA_EOVERFLOW, "y_true",
                              "counters for %zu classes do not fit in size_t", k);
        size_t *cnt = soma__calloc(alloc, bytes);
        if (cnt == NULL)
            return soma__fail_nomem(err, bytes, "the per-class counters");
        for (size_t i = 0; i < n; i++) {
            size_t t = (size_t)*soma_matrix_at(y_true, i, 0);
            size_t q = (size_t)*soma_matrix_at(y_pred, i, 0);
            cnt[3 * t + 2]++;
            cnt[3 * q + 1]++;
            cnt[3 * t] += t == q;
        }
        double sp = 0.0, sr = 0.0, sf = 0.0;
        size_t present = 0;
        for (size_t c = 0; c < k; c++) {
            size_t tp = cnt[3 * c], pred = cnt[3 * c + 1], real = cnt[3 * c + 2];
            if (pred == 0 && real == 0)
                continue; /* absent from both: not a label here */
            double cp, cr, cf;
            class_scores(tp, pred - tp, real - tp, &cp, &cr, &cf);
            sp += cp;
            sr += cr;
            sf += cf;
            present++;
        }
        soma__free(alloc, cnt, bytes);
        p = sp / (double)present;
        r = sr / (double)present;
        f = sf / (double)present;
    }
    if (precision != NULL)
        *precision = p;
    if (recall != NULL)
        *recall = r;
    if (f1 != NULL)
        *f1 = f;
    return SOMA_OK;
}

soma_status soma_log_loss(const soma_matrix *y_true, const soma_matrix *P, double eps,
                          double *out, soma_error_info *err)
{
    SOMA_REQUIRE_PTR(out, err, "out");
    SOMA_REQUIRE(isfinite(eps) && eps >= 0.0 && eps < 0.5, err, SOMA_EINVAL, "eps",
                 "eps is %g: it must be in [0, 0.5) (0 = machine epsilon)", eps);
    if (eps == 0.0)
        eps = DBL_EPSILON;
    SOMA_TRY(label_column(y_true, "y_true", err));
    SOMA_TRY(soma__check_matrix_arg(P, "P", err));
    SOMA_REQUIRE(P->cols >= 1, err, SOMA_EINVAL, "P", "P has no columns");
    SOMA_REQUIRE(P->rows == y_true->rows, err, SOMA_EDIM, "P",
                 "P has %zu rows but y_true has %zu", P->rows, y_true->rows);
    SOMA_TRY(soma__check_finite_arg(P, "P", err));
    const size_t n = P->rows, k = P->cols;
    size_t kmax;
    SOMA_TRY(soma__labels_scan(y_true, "y_true", k == 1 ? 2 : k,
                               k == 1 ? " (P has one column: binary labels 0 and 1)"
                                      : " (one per column of P)",
                               &kmax, err));
    double sum = 0.0;
    for (size_t i = 0; i < n; i++) {
        const double *p = soma_matrix_at(P, i, 0);
        double rowsum = 0.0;
        for (size_t j = 0; j < k; j++) {
            SOMA_REQUIRE(p[j] >= 0.0 && p[j] <= 1.0, err, SOMA_EINVAL, "P",
                         "P(%zu, %zu) is %g: probabilities are in [0, 1]", i, j, p[j]);
            rowsum += p[j];
        }
        SOMA_REQUIRE(k == 1 || fabs(rowsum - 1.0) <= 1e-6, err, SOMA_EINVAL, "P",
                     "row %zu of P sums to %.17g: class probabilities sum to 1", i,
                     rowsum);
        size_t c = (size_t)*soma_matrix_at(y_true, i, 0);
        double q = k == 1 ? (c == 1 ? p[0] : 1.0 - p[0]) : p[c];
        q = q < eps ? eps : (q > 1.0 - eps ? 1.0 - eps : q);
        sum -= log(q);
    }
    *out = sum / (double)n;
    return SOMA_OK;
}
