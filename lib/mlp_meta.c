/* What a model carries besides its parameters: class names, the
 * preprocessing of raw input, free metadata text (mlp.h). */
#include <string.h>

#include "mlp_internal.h"

size_t soma__mlp_n_classes(const soma_mlp *mlp)
{
    if (mlp->spec.loss == SOMA_LOSS_MSE)
        return 0;
    const size_t k = mlp->sizes[mlp->n_layers];
    return k > 1 ? k : 2;
}

static void free_names(const soma_allocator *a, char **names, size_t n)
{
    if (names == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        if (names[i] != NULL)
            soma__free(a, names[i], strlen(names[i]) + 1);
    soma__free(a, names, n * sizeof(char *));
}

static void free_scaler(const soma_allocator *a, soma_scaler *s)
{
    if (s == NULL)
        return;
    soma_scaler_free(s);
    soma__free(a, s, sizeof *s);
}

void soma__mlp_meta_free(soma_mlp *mlp)
{
    free_names(&mlp->alloc, mlp->class_names, mlp->n_class_names);
    free_scaler(&mlp->alloc, mlp->pre);
    if (mlp->metadata != NULL)
        soma__free(&mlp->alloc, mlp->metadata, strlen(mlp->metadata) + 1);
    mlp->class_names = NULL;
    mlp->n_class_names = 0;
    mlp->pre = NULL;
    mlp->metadata = NULL;
}

/* A copy of text[0..n) followed by NUL, from a. */
static char *copy_text(const soma_allocator *a, const char *text, size_t n)
{
    char *c = soma__alloc(a, n + 1);
    if (c != NULL) {
        memcpy(c, text, n);
        c[n] = '\0';
    }
    return c;
}

soma_status soma_mlp_set_class_names(soma_mlp *mlp, const char *const *names, size_t n,
                                     soma_error_info *err)
{
    SOMA_REQUIRE_PTR(mlp, err, "mlp");
    SOMA_REQUIRE(names != NULL || n == 0, err, SOMA_EINVAL, "names",
                 "names is NULL with n = %zu (pass n = 0 to remove the names)", n);
    const size_t k = soma__mlp_n_classes(mlp);
    SOMA_REQUIRE(n == 0 || k > 0, err, SOMA_EINVAL, "mlp",
                 "mlp is a regression (MSE) model: it has no classes to name");
    SOMA_REQUIRE(n == 0 || n == k, err, SOMA_EDIM, "n",
                 "n is %zu but the model predicts %zu classes", n, k);
    for (size_t i = 0; i < n; i++) {
        SOMA_REQUIRE(names[i] != NULL, err, SOMA_EINVAL, "names", "names[%zu] is NULL",
                     i);
        const size_t len = strlen(names[i]);
        SOMA_REQUIRE(len >= 1 && len <= SOMA_CLASS_NAME_MAX, err, SOMA_EINVAL, "names",
                     "names[%zu] has %zu bytes: a class name has 1 to %d", i, len,
                     SOMA_CLASS_NAME_MAX);
    }
    char **copy = NULL;
    if (n > 0) {
        copy = soma__calloc(&mlp->alloc, n * sizeof(char *));
        if (copy == NULL)
            return soma__fail_nomem(err, n * sizeof(char *), "the class names");
        for (size_t i = 0; i < n; i++) {
            copy[i] = copy_text(&mlp->alloc, names[i], strlen(names[i]));
            if (copy[i] == NULL) {
                free_names(&mlp->alloc, copy, n);
                return soma__fail_nomem(err, strlen(names[i]) + 1, "a class name");
            }
        }
    }
    free_names(&mlp->alloc, mlp->class_names, mlp->n_class_names);
    mlp->class_names = copy;
    mlp->n_class_names = n;
    return SOMA_OK;
}

size_t soma_mlp_n_class_names(const soma_mlp *mlp)
{
    return mlp == NULL ? 0 : mlp->n_class_names;
}

const char *soma_mlp_class_name(const soma_mlp *mlp, size_t i)
{
    return mlp == NULL || i >= mlp->n_class_names ? NULL : mlp->class_names[i];
}

/* SOMA_OK when s is a fitted scaler for d features with finite means and
 * finite positive scales. */
static soma_status check_scaler(const soma_scaler *s, size_t d, soma_error_info *err)
{
    SOMA_REQUIRE(s->mean.rows == 1 && s->scale.rows == 1 && s->mean.cols >= 1 &&
                     s->mean.cols == s->scale.cols,
                 err, SOMA_ESTATE, "s", "the scaler is not fitted (mean %zu x %zu)",
                 s->mean.rows, s->mean.cols);
    SOMA_TRY(soma__check_finite_arg(&s->mean, "s.mean", err));
    SOMA_TRY(soma__check_finite_arg(&s->scale, "s.scale", err));
    SOMA_REQUIRE(s->mean.cols == d, err, SOMA_EDIM, "s",
                 "the scaler has %zu features but the model's input width is %zu",
                 s->mean.cols, d);
    for (size_t j = 0; j < d; j++)
        SOMA_REQUIRE(*soma_matrix_at(&s->scale, 0, j) > 0.0, err, SOMA_EINVAL, "s.scale",
                     "s.scale(0, %zu) is %g: scales are > 0", j,
                     *soma_matrix_at(&s->scale, 0, j));
    return SOMA_OK;
}

soma_status soma__scaler_check(const soma_scaler *s, size_t d, soma_error_info *err)
{
    return check_scaler(s, d, err);
}

soma_status soma_mlp_set_preprocessing(soma_mlp *mlp, const soma_scaler *s,
                                       soma_error_info *err)
{
    SOMA_REQUIRE_PTR(mlp, err, "mlp");
    soma_scaler *copy = NULL;
    if (s != NULL) {
        SOMA_TRY(check_scaler(s, mlp->sizes[0], err));
        copy = soma__calloc(&mlp->alloc, sizeof *copy);
        if (copy == NULL)
            return soma__fail_nomem(err, sizeof *copy, "the preprocessing");
        if (soma_matrix_dup(&s->mean, &copy->mean, &mlp->alloc) != SOMA_OK ||
            soma_matrix_dup(&s->scale, &copy->scale, &mlp->alloc) != SOMA_OK) {
            free_scaler(&mlp->alloc, copy);
            return soma__fail_nomem(err, 2 * s->mean.cols * sizeof(double),
                                    "the preprocessing");
        }
        copy->n_samples_seen = s->n_samples_seen;
    }
    free_scaler(&mlp->alloc, mlp->pre);
    mlp->pre = copy;
    return SOMA_OK;
}

const soma_scaler *soma_mlp_preprocessing(const soma_mlp *mlp)
{
    return mlp == NULL ? NULL : mlp->pre;
}

soma_status soma_mlp_set_metadata(soma_mlp *mlp, const char *text, soma_error_info *err)
{
    SOMA_REQUIRE_PTR(mlp, err, "mlp");
    char *copy = NULL;
    if (text != NULL && text[0] != '\0') {
        const size_t len = strlen(text);
        SOMA_REQUIRE(len <= SOMA_METADATA_MAX, err, SOMA_EINVAL, "text",
                     "text has %zu bytes: metadata is limited to %d", len,
                     SOMA_METADATA_MAX);
        copy = copy_text(&mlp->alloc, text, len);
        if (copy == NULL)
            return soma__fail_nomem(err, len + 1, "the metadata");
    }
    if (mlp->metadata != NULL)
        soma__free(&mlp->alloc, mlp->metadata, strlen(mlp->metadata) + 1);
    mlp->metadata = copy;
    return SOMA_OK;
}

const char *soma_mlp_metadata(const soma_mlp *mlp)
{
    return mlp == NULL || mlp->metadata == NULL ? "" : mlp->metadata;
}
