/* libsoma-mpi: data-parallel training through soma_mlp_fit's reduce hooks. */
#define _POSIX_C_SOURCE 200809L

#include <limits.h>
#include <math.h>
#include <string.h>
#include <time.h>

#include "../internal.h"
#include "soma/mpi.h"

/* Largest element count passed to one MPI call (MPI counts are int);
 * longer buffers go in several calls. Test builds lower it to exercise the
 * split. */
#ifndef SOMA_MPI_MAX_COUNT
#define SOMA_MPI_MAX_COUNT INT_MAX
#endif

/* Words of the agreement record: status, model shape, options, steps. */
enum { REC_STATUS, REC_SHAPE, REC_OPTIONS, REC_STEPS, REC_WORDS };

/* Number of epoch sums exchanged by the metrics hook (see mlp.h). */
#define N_METRICS 6

struct soma_mpi_context {
    MPI_Comm comm; /* duplicate of the caller's, MPI_ERRORS_RETURN */
    int rank, size;
    soma_allocator alloc;
    uint64_t *records;                 /* size x REC_WORDS: the agreement allgather */
    double *metrics;                   /* size x N_METRICS: the metrics allgather */
    size_t bytes;                      /* of the block holding records and metrics */
    soma_mlp *mlp;                     /* model of the hooks (soma_mpi_hook) */
    uint64_t options_fp;               /* set by soma_mpi_fit for the agreement, else 0 */
    uint64_t steps;                    /* likewise: steps per epoch */
    bool started;                      /* the last start hook agreed */
    soma_epoch_callback user_callback; /* the caller's, wrapped by soma_mpi_fit */
    void *user_callback_data;
    soma_status deferred; /* an MPI error met where no status can be returned */
    soma_mpi_stats stats;
    double *scratch;  /* a float model's parameters as doubles (broadcast, checksum) */
    size_t scratch_n; /* its capacity in doubles */
};

/* ------------------------------------------------------------------------ */
/* Status mapping, clock, fingerprints                                       */

soma_status soma_mpi_status_from(int mpi_error)
{
    if (mpi_error == MPI_SUCCESS)
        return SOMA_OK;
    int cls = mpi_error, initialized = 0, finalized = 0;
    /* MPI_Error_class may only be called between init and finalize;
     * predefined codes are their own class anyway. */
    if (MPI_Initialized(&initialized) == MPI_SUCCESS && initialized &&
        MPI_Finalized(&finalized) == MPI_SUCCESS && !finalized &&
        MPI_Error_class(mpi_error, &cls) != MPI_SUCCESS)
        cls = mpi_error;
    switch (cls) {
    case MPI_SUCCESS: /* a code whose class is success is not an error */
        return SOMA_OK;
    case MPI_ERR_NO_MEM:
        return SOMA_ENOMEM;
    case MPI_ERR_COMM:
        return SOMA_EINVAL;
    default:
        return SOMA_EMPI;
    }
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* FNV-1a, 64 bits, fed word by word. */
#define FNV_OFFSET 0xcbf29ce484222325ULL
#define FNV_PRIME 0x100000001b3ULL

static uint64_t fnv_bytes(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= FNV_PRIME;
    }
    return h;
}

static uint64_t fnv_u64(uint64_t h, uint64_t v)
{
    return fnv_bytes(h, &v, sizeof v);
}

/* -0.0 and 0.0 hash alike; other values by their bits. */
static uint64_t fnv_double(uint64_t h, double x)
{
    x += 0.0;
    return fnv_bytes(h, &x, sizeof x);
}

/* What must agree for the ranks' models to be one model. */
static uint64_t shape_fingerprint(soma_mlp *mlp)
{
    soma_mlp_spec spec;
    if (mlp == NULL || soma_mlp_get_spec(mlp, &spec, NULL) != SOMA_OK)
        return 0;
    const size_t L = soma_mlp_n_layers(mlp);
    uint64_t h = fnv_u64(FNV_OFFSET, L);
    for (size_t i = 0; i <= L; i++)
        h = fnv_u64(h, soma_mlp_size(mlp, i));
    h = fnv_u64(h, (uint64_t)spec.hidden);
    h = fnv_double(h, spec.hidden_alpha);
    h = fnv_u64(h, (uint64_t)spec.output);
    h = fnv_double(h, spec.output_alpha);
    h = fnv_u64(h, (uint64_t)spec.loss);
    h = fnv_u64(h, (uint64_t)spec.precision);
    return fnv_u64(h, soma_mlp_n_params(mlp));
}

/* True when mlp computes in float (its parameters are reached through
 * copies, its gradient reduced with MPI_FLOAT). */
static bool is_f32(const soma_mlp *mlp)
{
    soma_mlp_spec spec;
    return mlp != NULL && soma_mlp_get_spec(mlp, &spec, NULL) == SOMA_OK &&
           spec.precision == SOMA_PRECISION_F32;
}

/* The options every rank must share for the ranks to take the same steps
 * (field by field: the structs have padding). */
static uint64_t options_fingerprint(const soma_fit_options *o)
{
    uint64_t h = FNV_OFFSET;
    h = fnv_u64(h, o->epochs);
    h = fnv_u64(h, o->batch_size);
    h = fnv_u64(h, o->shuffle);
    h = fnv_u64(h, (uint64_t)o->optimizer.kind);
    h = fnv_double(h, o->optimizer.momentum);
    h = fnv_double(h, o->optimizer.beta1);
    h = fnv_double(h, o->optimizer.beta2);
    h = fnv_double(h, o->optimizer.epsilon);
    h = fnv_double(h, o->learning_rate);
    h = fnv_u64(h, (uint64_t)o->schedule.kind);
    h = fnv_double(h, o->schedule.gamma);
    h = fnv_u64(h, o->schedule.step);
    h = fnv_u64(h, o->schedule.period);
    h = fnv_double(h, o->schedule.lr_min);
    h = fnv_double(h, o->l2);
    h = fnv_double(h, o->clip_norm);
    h = fnv_double(h, o->dropout);
    h = fnv_double(h, o->validation_fraction);
    h = fnv_u64(h, o->X_val != NULL);
    h = fnv_u64(h, o->early_stopping);
    h = fnv_u64(h, o->patience);
    h = fnv_double(h, o->min_delta);
    h = fnv_u64(h, o->restore_best);
    return fnv_u64(h, o->warm_start);
}

/* Steps per epoch of soma_mlp_fit on n rows: the rows left after the
 * validation split (the same rule as fit_setup in lib/mlp_fit.c) in
 * batches of batch_size, the last one possibly smaller. 0 when fit will
 * reject the split (its status then decides). */
static uint64_t steps_per_epoch(size_t n, const soma_fit_options *o)
{
    size_t n_split = 0;
    const double f = o->validation_fraction;
    if (o->X_val == NULL && f > 0.0 && f < 1.0)
        n_split = (size_t)llround(f * (double)n);
    if (n_split >= n)
        return 0;
    const size_t n_train = n - n_split;
    const size_t batch =
        o->batch_size == 0 || o->batch_size > n_train ? n_train : o->batch_size;
    return n_train / batch + (n_train % batch != 0);
}

/* ------------------------------------------------------------------------ */
/* Collectives                                                               */

/* In-place sum of buf[0..n) (elements of `type`, `size` bytes each) over
 * the ranks, in calls of at most SOMA_MPI_MAX_COUNT elements. */
static soma_status allreduce_sum(soma_mpi_context *ctx, void *buf, size_t n,
                                 MPI_Datatype type, size_t size)
{
    for (size_t off = 0; off < n;) {
        const size_t c =
            n - off < (size_t)SOMA_MPI_MAX_COUNT ? n - off : SOMA_MPI_MAX_COUNT;
        SOMA_TRY(soma_mpi_status_from(MPI_Allreduce(
            MPI_IN_PLACE, (char *)buf + off * size, (int)c, type, MPI_SUM, ctx->comm)));
        off += c;
    }
    return SOMA_OK;
}

static soma_status broadcast(soma_mpi_context *ctx, double *buf, size_t n)
{
    for (size_t off = 0; off < n;) {
        const size_t c =
            n - off < (size_t)SOMA_MPI_MAX_COUNT ? n - off : SOMA_MPI_MAX_COUNT;
        SOMA_TRY(
            soma_mpi_status_from(MPI_Bcast(buf + off, (int)c, MPI_DOUBLE, 0, ctx->comm)));
        off += c;
    }
    return SOMA_OK;
}

/* Every rank's record into ctx->records; then the first error in rank
 * order, if any. */
static soma_status gather(soma_mpi_context *ctx, const uint64_t rec[REC_WORDS])
{
    SOMA_TRY(soma_mpi_status_from(MPI_Allgather(
        rec, REC_WORDS, MPI_UINT64_T, ctx->records, REC_WORDS, MPI_UINT64_T, ctx->comm)));
    for (size_t r = 0; r < (size_t)ctx->size; r++) {
        const uint64_t s = ctx->records[r * REC_WORDS + REC_STATUS];
        if (s != SOMA_OK)
            return s < SOMA_STATUS_COUNT ? (soma_status)s : SOMA_EMPI;
    }
    return SOMA_OK;
}

/* True when word w of the gathered records is the same on every rank. */
static bool same_everywhere(const soma_mpi_context *ctx, size_t w)
{
    for (size_t r = 1; r < (size_t)ctx->size; r++)
        if (ctx->records[r * REC_WORDS + w] != ctx->records[w])
            return false;
    return true;
}

/* Decide, identically on every rank: the first error in rank order, then
 * a model-shape mismatch (SOMA_EDIM), then an options or step-count
 * mismatch (SOMA_EINVAL). */
static soma_status agree(soma_mpi_context *ctx, const uint64_t rec[REC_WORDS])
{
    SOMA_TRY(gather(ctx, rec));
    if (!same_everywhere(ctx, REC_SHAPE))
        return SOMA_EDIM;
    if (!same_everywhere(ctx, REC_OPTIONS) || !same_everywhere(ctx, REC_STEPS))
        return SOMA_EINVAL;
    return SOMA_OK;
}

/* ------------------------------------------------------------------------ */
/* The hooks                                                                 */

/* A 1 x n_params view of the model's parameters: the buffer itself for a
 * double model, the context's double copy for a float one (filled from
 * the model). The copy is made at the start of each fit (ensure_scratch),
 * before the agreement, so that a failed allocation is shared. */
static soma_status params_view(soma_mpi_context *ctx, soma_matrix *p)
{
    if (!is_f32(ctx->mlp))
        return soma_mlp_params(ctx->mlp, p, NULL);
    const size_t n = soma_mlp_n_params(ctx->mlp);
    if (ctx->scratch_n < n)
        return SOMA_ESTATE;
    SOMA_TRY(soma_matrix_view(p, ctx->scratch, 1, n, n));
    return soma_mlp_get_params(ctx->mlp, p, NULL);
}

/* Room for a float model's parameters as doubles in ctx->scratch. */
static soma_status ensure_scratch(soma_mpi_context *ctx)
{
    const size_t n = is_f32(ctx->mlp) ? soma_mlp_n_params(ctx->mlp) : 0;
    if (n <= ctx->scratch_n)
        return SOMA_OK;
    size_t bytes;
    if (!soma__mul(n, sizeof(double), &bytes))
        return SOMA_EOVERFLOW;
    double *s = soma__alloc(&ctx->alloc, bytes);
    if (s == NULL)
        return SOMA_ENOMEM;
    soma__free(&ctx->alloc, ctx->scratch, ctx->scratch_n * sizeof(double));
    ctx->scratch = s;
    ctx->scratch_n = n;
    return SOMA_OK;
}

static soma_status start_hook(void *user, soma_status local)
{
    soma_mpi_context *ctx = user;
    if (local == SOMA_OK)
        local = ensure_scratch(ctx);
    const uint64_t rec[REC_WORDS] = {(uint64_t)local, shape_fingerprint(ctx->mlp),
                                     ctx->options_fp, ctx->steps};
    ctx->started = false;
    SOMA_TRY(agree(ctx, rec));
    /* A float model's parameters travel as doubles (exact) and are stored
     * back (exact again). */
    soma_matrix p;
    SOMA_TRY(params_view(ctx, &p));
    SOMA_TRY(broadcast(ctx, p.data, p.cols));
    if (is_f32(ctx->mlp))
        SOMA_TRY(soma_mlp_set_params(ctx->mlp, &p, NULL));
    ctx->started = true;
    return SOMA_OK;
}

/* g = sum_r (m_r / M) g_r with M = sum_r m_r, m_r the weight of rank r's
 * batch (its row count, or the sum of its rows' sample and class weights):
 * the weight first (one double), then the pre-scaled gradient in place, in
 * the model's type (MPI_DOUBLE or MPI_FLOAT: a float model sends half the
 * bytes). A global weight of 0 leaves a zero gradient. */
static soma_status reduce_grads(soma_mpi_context *ctx, void *g, size_t n, double rows,
                                bool f32)
{
    const double t0 = now();
    double total = rows;
    soma_status st = soma_mpi_status_from(
        MPI_Allreduce(MPI_IN_PLACE, &total, 1, MPI_DOUBLE, MPI_SUM, ctx->comm));
    const size_t size = f32 ? sizeof(float) : sizeof(double);
    if (st == SOMA_OK) {
        const double w = total > 0.0 ? rows / total : 0.0;
        if (w != 1.0 && f32) {
            float *gf = g;
            for (size_t i = 0; i < n; i++)
                gf[i] *= (float)w;
        } else if (w != 1.0) {
            double *gd = g;
            for (size_t i = 0; i < n; i++)
                gd[i] *= w;
        }
        st = allreduce_sum(ctx, g, n, f32 ? MPI_FLOAT : MPI_DOUBLE, size);
    }
    ctx->stats.grad_calls++;
    ctx->stats.grad_seconds += now() - t0;
    ctx->stats.bytes_reduced += (double)n * (double)size;
    return st;
}

static soma_status grads_hook(void *user, double *g, size_t n, double rows)
{
    return reduce_grads(user, g, n, rows, false);
}

static soma_status grads_hook_f32(void *user, float *g, size_t n, double rows)
{
    return reduce_grads(user, g, n, rows, true);
}

/* Gathered, then added in rank order: every rank gets the same bits, so
 * every rank takes the same early-stopping and divergence decisions. */
static soma_status metrics_hook(void *user, double *values, size_t n)
{
    soma_mpi_context *ctx = user;
    if (n != N_METRICS)
        return SOMA_EINVAL;
    const double t0 = now();
    soma_status st = soma_mpi_status_from(MPI_Allgather(
        values, N_METRICS, MPI_DOUBLE, ctx->metrics, N_METRICS, MPI_DOUBLE, ctx->comm));
    if (st == SOMA_OK) {
        for (size_t j = 0; j < N_METRICS; j++) {
            double s = 0.0;
            for (size_t r = 0; r < (size_t)ctx->size; r++)
                s += ctx->metrics[r * N_METRICS + j];
            values[j] = s;
        }
    }
    ctx->stats.metric_calls++;
    ctx->stats.metric_seconds += now() - t0;
    return st;
}

/* The caller's callback on every rank, then a logical or of the answers. */
static int callback_hook(void *user, const soma_epoch_stats *stats)
{
    soma_mpi_context *ctx = user;
    int stop = 0;
    if (ctx->user_callback != NULL)
        stop = ctx->user_callback(ctx->user_callback_data, stats) != 0;
    const soma_status st = soma_mpi_status_from(
        MPI_Allreduce(MPI_IN_PLACE, &stop, 1, MPI_INT, MPI_MAX, ctx->comm));
    if (st != SOMA_OK) {
        if (ctx->deferred == SOMA_OK)
            ctx->deferred = st;
        return 1;
    }
    return stop;
}

/* ------------------------------------------------------------------------ */
/* Public functions                                                          */

soma_status soma_mpi_shard(size_t n, int rank, int size, soma_mpi_layout layout,
                           bool drop_remainder, size_t *first, size_t *count,
                           size_t *stride)
{
    if (size < 1 || rank < 0 || rank >= size || (unsigned)layout >= SOMA_MPI_LAYOUT_COUNT)
        return SOMA_EINVAL;
    const size_t R = (size_t)size, r = (size_t)rank;
    const size_t q = n / R, e = drop_remainder ? 0 : n % R;
    const size_t c = q + (r < e);
    size_t f, s;
    if (layout == SOMA_MPI_CONTIGUOUS) {
        f = r * q + (r < e ? r : e);
        s = 1;
    } else {
        f = r;
        s = R;
    }
    if (c == 0) {
        f = n;
        s = 1;
    }
    if (first != NULL)
        *first = f;
    if (count != NULL)
        *count = c;
    if (stride != NULL)
        *stride = s;
    return SOMA_OK;
}

soma_status soma_mpi_shard_rows(soma_matrix *view, const soma_matrix *src, int rank,
                                int size, soma_mpi_layout layout, bool drop_remainder)
{
    if (view == NULL || src == NULL)
        return SOMA_EINVAL;
    if (src->ld < src->cols || (src->data == NULL && src->rows > 0 && src->cols > 0))
        return SOMA_EINVAL;
    size_t first, count, stride, ld;
    SOMA_TRY(soma_mpi_shard(src->rows, rank, size, layout, drop_remainder, &first, &count,
                            &stride));
    if (!soma__mul(src->ld, stride, &ld))
        return SOMA_EOVERFLOW;
    if (count == 0) {
        *view = soma__view(NULL, 0, src->cols, src->cols);
        return SOMA_OK;
    }
    soma_matrix v;
    double *data = src->cols > 0 ? soma_matrix_at(src, first, 0) : NULL;
    SOMA_TRY(soma_matrix_view(&v, data, count, src->cols, ld));
    *view = v;
    return SOMA_OK;
}

soma_status soma_mpi_context_create(soma_mpi_context **out, MPI_Comm comm,
                                    const soma_allocator *alloc)
{
    if (out == NULL || comm == MPI_COMM_NULL || !soma__allocator_valid(alloc))
        return SOMA_EINVAL;
    int initialized = 0, finalized = 0;
    SOMA_TRY(soma_mpi_status_from(MPI_Initialized(&initialized)));
    SOMA_TRY(soma_mpi_status_from(MPI_Finalized(&finalized)));
    if (!initialized || finalized)
        return SOMA_ESTATE;
    const soma_allocator a = soma__allocator_resolve(alloc);
    soma_mpi_context *ctx = soma__calloc(&a, sizeof *ctx);
    if (ctx == NULL)
        return SOMA_ENOMEM;
    ctx->alloc = a;
    ctx->comm = MPI_COMM_NULL;
    soma_status st = soma_mpi_status_from(MPI_Comm_dup(comm, &ctx->comm));
    if (st == SOMA_OK)
        st = soma_mpi_status_from(MPI_Comm_set_errhandler(ctx->comm, MPI_ERRORS_RETURN));
    if (st == SOMA_OK)
        st = soma_mpi_status_from(MPI_Comm_rank(ctx->comm, &ctx->rank));
    if (st == SOMA_OK)
        st = soma_mpi_status_from(MPI_Comm_size(ctx->comm, &ctx->size));
    size_t rec_bytes = 0, met_bytes = 0;
    if (st == SOMA_OK &&
        (!soma__mul((size_t)ctx->size, REC_WORDS * sizeof(uint64_t), &rec_bytes) ||
         !soma__mul((size_t)ctx->size, N_METRICS * sizeof(double), &met_bytes) ||
         !soma__add(rec_bytes, met_bytes, &ctx->bytes)))
        st = SOMA_EOVERFLOW;
    if (st == SOMA_OK) {
        char *block = soma__alloc(&a, ctx->bytes);
        if (block == NULL) {
            st = SOMA_ENOMEM;
        } else {
            ctx->records = (uint64_t *)(void *)block;
            ctx->metrics = (double *)(void *)(block + rec_bytes);
        }
    }
    if (st != SOMA_OK) {
        soma_mpi_context_destroy(ctx);
        return st;
    }
    *out = ctx;
    return SOMA_OK;
}

void soma_mpi_context_destroy(soma_mpi_context *ctx)
{
    if (ctx == NULL)
        return;
    if (ctx->comm != MPI_COMM_NULL)
        (void)MPI_Comm_free(&ctx->comm);
    const soma_allocator a = ctx->alloc;
    soma__free(&a, ctx->scratch, ctx->scratch_n * sizeof(double));
    soma__free(&a, ctx->records, ctx->bytes);
    soma__free(&a, ctx, sizeof *ctx);
}

soma_status soma_mpi_context_rank(const soma_mpi_context *ctx, int *rank, int *size)
{
    if (ctx == NULL)
        return SOMA_EINVAL;
    if (rank != NULL)
        *rank = ctx->rank;
    if (size != NULL)
        *size = ctx->size;
    return SOMA_OK;
}

soma_status soma_mpi_context_stats(const soma_mpi_context *ctx, soma_mpi_stats *stats)
{
    if (ctx == NULL || stats == NULL)
        return SOMA_EINVAL;
    *stats = ctx->stats;
    return SOMA_OK;
}

soma_status soma_mpi_hook(soma_mpi_context *ctx, soma_mlp *mlp, soma_reduce_hook *hook)
{
    if (ctx == NULL || mlp == NULL || hook == NULL)
        return SOMA_EINVAL;
    ctx->mlp = mlp;
    hook->grads = grads_hook;
    hook->grads_f32 = grads_hook_f32;
    hook->metrics = metrics_hook;
    hook->start = start_hook;
    hook->user = ctx;
    return SOMA_OK;
}

/* Checksum of the parameters, to confirm that the ranks ended equal. */
static uint64_t params_checksum(soma_mpi_context *ctx)
{
    soma_matrix p;
    if (params_view(ctx, &p) != SOMA_OK)
        return 0;
    return fnv_bytes(FNV_OFFSET, p.data, p.cols * sizeof(double));
}

/* After a fit that every rank started: the first error in rank order, else
 * SOMA_ESTATE when the parameters differ. */
static soma_status finish(soma_mpi_context *ctx, soma_status local)
{
    const uint64_t rec[REC_WORDS] = {(uint64_t)local, params_checksum(ctx), 0, 0};
    SOMA_TRY(gather(ctx, rec));
    return same_everywhere(ctx, REC_SHAPE) ? SOMA_OK : SOMA_ESTATE;
}

soma_status soma_mpi_fit(soma_mpi_context *ctx, soma_mlp *mlp, const soma_matrix *X_local,
                         const soma_matrix *Y_local, const soma_fit_options *options,
                         soma_history *history)
{
    if (ctx == NULL)
        return SOMA_EINVAL; /* no way to tell the other ranks */
    if (mlp == NULL || X_local == NULL || Y_local == NULL || options == NULL) {
        /* Take part in the agreement the other ranks' fits are waiting in. */
        const uint64_t rec[REC_WORDS] = {SOMA_EINVAL, 0, 0, 0};
        const soma_status st = agree(ctx, rec);
        return st != SOMA_OK ? st : SOMA_EINVAL;
    }
    soma_fit_options o = *options;
    SOMA_TRY(soma_mpi_hook(ctx, mlp, &o.reduce));
    ctx->options_fp = options_fingerprint(options);
    ctx->steps = steps_per_epoch(X_local->rows, options);
    ctx->user_callback = options->callback;
    ctx->user_callback_data = options->callback_user;
    ctx->deferred = SOMA_OK;
    ctx->started = false;
    o.callback = callback_hook;
    o.callback_user = ctx;
    soma_status st = soma_mlp_fit(mlp, X_local, Y_local, &o, history, NULL);
    ctx->options_fp = 0;
    ctx->steps = 0;
    ctx->user_callback = NULL;
    ctx->user_callback_data = NULL;
    /* Every rank agreed on the start, or none did. */
    if (!ctx->started)
        return st;
    if (st == SOMA_OK)
        st = ctx->deferred;
    return finish(ctx, st);
}
