/* The soma_mlp struct and helpers shared by mlp.c, mlp_init.c, mlp_fit.c,
 * model.c and the per-precision step code (lib/mlp_t.c). Never installed. */
#ifndef SOMA_MLP_INTERNAL_H
#define SOMA_MLP_INTERNAL_H

#include "kernels.h"

/* Rows processed at once by fit, predict and evaluate; larger batches are
 * processed in chunks of this many rows whose gradients are summed. */
#define SOMA_MLP_CHUNK 1024

typedef struct soma__mlp_ops soma__mlp_ops;

/* Optimizer state of a model, in the model's precision: the update rules
 * of optim.h over its parameter buffer. */
typedef struct soma__mlp_opt {
    soma_optim_config config;
    uint64_t t; /* steps taken */
    void *v;    /* velocity / first moment (momentum, Nesterov, Adam), else NULL */
    void *s;    /* second moment (Adam), else NULL */
} soma__mlp_opt;

struct soma_mlp {
    size_t n_layers; /* L */
    size_t *sizes;   /* L + 1 widths */
    size_t *offset;  /* L: start of layer l's W in params; b follows W */
    soma_mlp_spec spec;
    size_t n_params;
    size_t elem;              /* bytes per value: 8 (F64) or 4 (F32) */
    const soma__mlp_ops *ops; /* the step code of the precision */
    void *params;             /* n_params values */
    void *grads;              /* n_params values */
    soma__mlp_opt opt;        /* state of the last fit */
    bool opt_ready;           /* opt holds a fit's state */
    size_t epochs_done;       /* epochs run by fits so far (for warm start) */
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

/* Address of value i of a buffer of the model's precision. */
static inline void *soma__mlp_at(const soma_mlp *mlp, void *buf, size_t i)
{
    return (char *)buf + i * mlp->elem;
}

/* True when the output activation and loss are computed fused from logits. */
static inline bool soma__mlp_fused(const soma_mlp *mlp)
{
    return (mlp->spec.output == SOMA_ACTIVATION_SIGMOID &&
            mlp->spec.loss == SOMA_LOSS_BCE) ||
           (mlp->spec.output == SOMA_ACTIVATION_SOFTMAX &&
            mlp->spec.loss == SOMA_LOSS_CE);
}

/* ---- workspace ----------------------------------------------------------- */

/* Every buffer a call of fit, gradient, evaluate or predict needs, carved
 * from one allocation (lib/mlp_fit.c). Buffers marked "values" hold the
 * model's precision. */
typedef struct soma__ws {
    size_t cap;          /* rows per chunk */
    void **Z, **A;       /* per layer: cap x n(l+1) values */
    void **M, **D;       /* per hidden layer: dropout scale and masked output */
    void *dz[2];         /* cap x widest layer values: dZ / dX ping-pong */
    void *xg;            /* cap x n0 values: gathered (and converted) rows of X */
    void *yg;            /* cap x nL values: gathered rows of Y or one-hot labels */
    size_t *idx;         /* n row indices: validation rows, then training rows */
    unsigned char *mark; /* n flags for the validation split */
    void *snapshot[2];   /* parameters at the start of even / odd epochs */
    void *best;          /* parameters of the best epoch */
    double *gbuf;        /* n_params doubles: a float model's gradient for a
                          * double reduce hook */
    double *wts;         /* row weights of the data (n), or NULL */
    double *wts_val;     /* row weights of an explicit validation set, or NULL */
    double *cw;          /* class weights (k), or NULL */
    void *block;
    size_t bytes;
    soma_allocator alloc; /* of block */
} soma__ws;

/* Sums an epoch's statistics are made of. */
typedef struct soma__sums {
    double loss, correct, count;
} soma__sums;

/* What a prediction chunk writes: probabilities, or class labels. */
typedef enum soma__sink { SOMA__SINK_PROBA, SOMA__SINK_LABELS } soma__sink;

/* ---- the step code of one precision (lib/mlp_t.c) -------------------------
 * Data matrices (X, Y, out) are the caller's doubles; onehot > 0 when Y
 * holds integer labels for a k = onehot output model; idx (or NULL) lists
 * the rows to take, from position start. */
struct soma__mlp_ops {
    /* Mean-loss gradient of m rows into mlp->grads, chunk by chunk (dropout
     * with keep probability `keep` when rng is not NULL); adds to s. With
     * row weights wts (indexed by the data's rows, or NULL for 1 each) the
     * weighted mean, each row counted with its weight in s. Returns the
     * batch's total weight (m without weights). grads_zero says the buffer
     * holds zeros (the last step zeroed it): the products then add to it
     * instead of having the BLAS clear it first. */
    double (*batch_gradient)(soma_mlp *mlp, soma__ws *w, const soma_matrix *X,
                             const soma_matrix *Y, size_t onehot, const double *wts,
                             const size_t *idx, size_t start, size_t m, double keep,
                             soma_rng *rng, bool grads_zero, soma__sums *s);
    /* Loss and correct counts on n rows, no dropout, weighted as in
     * batch_gradient; adds to s. */
    void (*evaluate_rows)(const soma_mlp *mlp, soma__ws *w, const soma_matrix *X,
                          const soma_matrix *Y, size_t onehot, const double *wts,
                          const size_t *idx, size_t n, soma__sums *s);
    /* Outputs or labels of every row of X into out. */
    void (*infer)(const soma_mlp *mlp, soma__ws *w, const soma_matrix *X,
                  soma_matrix *out, soma__sink kind);
    /* grads += l2 W (weights only). */
    void (*add_l2)(soma_mlp *mlp, double l2);
    /* sum of the squared weights, in double. */
    double (*sum_sq_weights)(const soma_mlp *mlp);
    /* The factor f that brings the norm of the applied gradient (g + l2 W,
     * weights only) down to max_norm when it is larger; 1 otherwise. */
    double (*clip_factor)(const soma_mlp *mlp, double max_norm, double l2);
    /* True when every parameter is finite. */
    bool (*params_finite)(const soma_mlp *mlp);
    /* One optimizer step with learning rate lr and the gradient (g + l2 W) f
     * (weight decay on the weights only); t advances. g is left as it is,
     * or zeroed block by block as the update uses it when zero_grads. */
    void (*step)(soma_mlp *mlp, double lr, double l2, double f, bool zero_grads);
    /* y[0..n) = x[0..n) of the precision, converted to double (exact). */
    void (*to_f64)(size_t n, const void *x, double *y);
    /* y[0..n) = x[0..n) rounded to the precision. */
    void (*from_f64)(size_t n, const double *x, void *y);
};

extern const soma__mlp_ops soma__mlp_ops_f64;
extern const soma__mlp_ops soma__mlp_ops_f32;

/* ---- shared helpers ---------------------------------------------------------- */

/* Draw every weight of a model shaped like mlp into params (n_params
 * doubles in the layout of mlp->params), biases zero. Allocates scratch
 * through mlp's allocator for the orthogonal initialiser. */
soma_status soma__mlp_draw_weights(const soma_mlp *mlp, soma_init init, double scale,
                                   uint64_t seed, double *params);

/* SOMA_OK when init and scale are usable; the error names them as
 * init_arg and scale_arg. */
soma_status soma__init_check(soma_init init, double scale, const char *init_arg,
                             const char *scale_arg, soma_error_info *err);

/* Zeroed optimizer state for the model (arrays in its precision), or
 * SOMA_ENOMEM with nothing allocated. config is valid. */
soma_status soma__mlp_opt_init(const soma_mlp *mlp, const soma_optim_config *config,
                               soma__mlp_opt *opt);

/* Release optimizer state made by soma__mlp_opt_init (and zero it). */
void soma__mlp_opt_free(const soma_mlp *mlp, soma__mlp_opt *opt);

/* Zero the state (v, s, t) without reallocating. */
void soma__mlp_opt_reset(const soma_mlp *mlp, soma__mlp_opt *opt);

/* Number of state arrays of an optimizer kind (0 SGD, 1 momentum and
 * Nesterov, 2 Adam). */
size_t soma__optim_arrays(soma_optimizer kind);

/* SOMA_OK when m holds only values a float model can take (|x| <= FLT_MAX);
 * else SOMA_ENONFINITE naming the first offender (m checked and finite). */
soma_status soma__check_float_range(const soma_matrix *m, const char *name,
                                    soma_error_info *err);

#endif /* SOMA_MLP_INTERNAL_H */
