/* Classification metrics (metrics.h). */
#include <float.h>
#include <math.h>
#include <string.h>

#include "internal.h"
#include "labels.h"

/* Both n x 1 with the same n >= 1. */
static soma_status pair_check(const soma_matrix *a, const soma_matrix *b)
{
    SOMA_TRY(soma__matrix_check(a));
    SOMA_TRY(soma__matrix_check(b));
    if (a->cols != 1 || b->cols != 1 || a->rows == 0 || b->rows == 0)
        return SOMA_EINVAL;
    if (a->rows != b->rows)
        return SOMA_EDIM;
    return SOMA_OK;
}

soma_status soma_accuracy(const soma_matrix *y_true, const soma_matrix *y_pred,
                          double *out)
{
    if (out == NULL)
        return SOMA_EINVAL;
    SOMA_TRY(pair_check(y_true, y_pred));
    SOMA_TRY(soma_matrix_check_finite(y_true));
    SOMA_TRY(soma_matrix_check_finite(y_pred));
    size_t hits = 0;
    for (size_t i = 0; i < y_true->rows; i++)
        hits += *soma_matrix_at(y_true, i, 0) == *soma_matrix_at(y_pred, i, 0);
    *out = (double)hits / (double)y_true->rows;
    return SOMA_OK;
}

/* k = n_classes, or 1 + the largest label of either; labels checked. */
static soma_status class_count(const soma_matrix *a, const soma_matrix *b,
                               size_t n_classes, size_t *k)
{
    size_t ka, kb;
    SOMA_TRY(soma__labels_scan(a, n_classes, &ka));
    SOMA_TRY(soma__labels_scan(b, n_classes, &kb));
    *k = n_classes != 0 ? n_classes : (ka > kb ? ka : kb);
    return SOMA_OK;
}

soma_status soma_confusion_matrix(const soma_matrix *y_true, const soma_matrix *y_pred,
                                  size_t n_classes, soma_matrix *out,
                                  const soma_allocator *alloc)
{
    if (out == NULL || !soma__allocator_valid(alloc))
        return SOMA_EINVAL;
    SOMA_TRY(pair_check(y_true, y_pred));
    size_t k;
    SOMA_TRY(class_count(y_true, y_pred, n_classes, &k));
    soma_matrix cm;
    SOMA_TRY(soma_matrix_init(&cm, k, k, alloc));
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
                                     const soma_allocator *alloc)
{
    if ((precision == NULL && recall == NULL && f1 == NULL) ||
        (unsigned)average >= SOMA_AVERAGE_COUNT || !soma__allocator_valid(alloc))
        return SOMA_EINVAL;
    if (average == SOMA_AVERAGE_BINARY && pos_label > 1)
        return SOMA_EINVAL;
    SOMA_TRY(pair_check(y_true, y_pred));
    size_t k;
    SOMA_TRY(class_count(y_true, y_pred, average == SOMA_AVERAGE_BINARY ? 2 : 0, &k));
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
            return SOMA_EOVERFLOW;
        size_t *cnt = soma__calloc(alloc, bytes);
        if (cnt == NULL)
            return SOMA_ENOMEM;
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
                          double *out)
{
    if (out == NULL || !isfinite(eps) || eps < 0.0 || !(eps < 0.5))
        return SOMA_EINVAL;
    if (eps == 0.0)
        eps = DBL_EPSILON;
    SOMA_TRY(soma__matrix_check(y_true));
    SOMA_TRY(soma__matrix_check(P));
    if (y_true->cols != 1 || y_true->rows == 0 || P->cols == 0)
        return SOMA_EINVAL;
    if (P->rows != y_true->rows)
        return SOMA_EDIM;
    SOMA_TRY(soma_matrix_check_finite(P));
    const size_t n = P->rows, k = P->cols;
    size_t kmax;
    SOMA_TRY(soma__labels_scan(y_true, k == 1 ? 2 : k, &kmax));
    double sum = 0.0;
    for (size_t i = 0; i < n; i++) {
        const double *p = soma_matrix_at(P, i, 0);
        double rowsum = 0.0;
        for (size_t j = 0; j < k; j++) {
            if (p[j] < 0.0 || p[j] > 1.0)
                return SOMA_EINVAL;
            rowsum += p[j];
        }
        if (k > 1 && fabs(rowsum - 1.0) > 1e-6)
            return SOMA_EINVAL;
        size_t c = (size_t)*soma_matrix_at(y_true, i, 0);
        double q = k == 1 ? (c == 1 ? p[0] : 1.0 - p[0]) : p[c];
        q = q < eps ? eps : (q > 1.0 - eps ? 1.0 - eps : q);
        sum -= log(q);
    }
    *out = sum / (double)n;
    return SOMA_OK;
}
