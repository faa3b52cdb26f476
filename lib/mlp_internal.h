/* The soma_mlp struct and helpers shared by mlp.c, mlp_init.c and
 * mlp_fit.c. Never installed. */
#ifndef SOMA_MLP_INTERNAL_H
#define SOMA_MLP_INTERNAL_H

#include "nn.h"

/* Rows processed at once by fit, predict and evaluate; larger batches are
 * processed in chunks of this many rows whose gradients are summed. */
#define SOMA_MLP_CHUNK 1024

struct soma_mlp {
    size_t n_layers;    /* L */
    size_t *sizes;      /* L + 1 widths */
    size_t *offset;     /* L: start of layer l's W in params; b follows W */
    soma_dense *layers; /* L views into params */
    soma_mlp_spec spec;
    size_t n_params;
    double *params;
    double *grads;
    soma_optim opt; /* state of the last fit (kind SGD with n 0 before) */
    bool opt_ready;
    size_t epochs_done; /* epochs run by fits so far (for warm start) */
    soma_allocator alloc;
    /* Carried with the model and saved in its file (format version 2);
     * fit and predict do not use them (lib/mlp_meta.c). */
    char **class_names; /* n_class_names NUL-terminated copies, or NULL */
    size_t n_class_names;
    soma_scaler *pre; /* preprocessing of raw input rows, or NULL */
    char *metadata;   /* NUL-terminated text, or NULL */
};

/* Free the class names, preprocessing and metadata (lib/mlp_meta.c). */
void soma__mlp_meta_free(soma_mlp *mlp);

/* Limits of the carried data, shared by the setters and the file reader. */
#define SOMA_CLASS_NAME_MAX 1024
#define SOMA_METADATA_MAX 65536

/* Number of classes a model predicts: nL when nL > 1, 2 for one output;
 * 0 for MSE models (no classes). */
size_t soma__mlp_n_classes(const soma_mlp *mlp);

/* SOMA_OK when s is a fitted scaler for d features, finite, scales > 0. */
soma_status soma__scaler_check(const soma_scaler *s, size_t d, soma_error_info *err);

/* Views of layer l's gradient blocks. */
static inline soma_matrix soma__mlp_dW(const soma_mlp *mlp, size_t l)
{
    size_t in = mlp->sizes[l], out = mlp->sizes[l + 1];
    return soma__view(mlp->grads + mlp->offset[l], in, out, out);
}

static inline soma_matrix soma__mlp_db(const soma_mlp *mlp, size_t l)
{
    size_t in = mlp->sizes[l], out = mlp->sizes[l + 1];
    return soma__view(mlp->grads + mlp->offset[l] + in * out, 1, out, out);
}

/* True when the output activation and loss are computed fused from logits. */
static inline bool soma__mlp_fused(const soma_mlp *mlp)
{
    return (mlp->spec.output == SOMA_ACTIVATION_SIGMOID &&
            mlp->spec.loss == SOMA_LOSS_BCE) ||
           (mlp->spec.output == SOMA_ACTIVATION_SOFTMAX &&
            mlp->spec.loss == SOMA_LOSS_CE);
}

/* Draw every weight of a model shaped like mlp into params (n_params
 * doubles laid out as mlp->params), biases zero. Allocates scratch through
 * mlp's allocator for the orthogonal initialiser. */
soma_status soma__mlp_draw_weights(const soma_mlp *mlp, soma_init init, double scale,
                                   uint64_t seed, double *params);

/* SOMA_OK when init and scale are usable; the error names them as
 * init_arg and scale_arg. */
soma_status soma__init_check(soma_init init, double scale, const char *init_arg,
                             const char *scale_arg, soma_error_info *err);

#endif /* SOMA_MLP_INTERNAL_H */
