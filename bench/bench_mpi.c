/* soma-bench-mpi: W3-shaped data-parallel training, step time split into
 * compute and gradient allreduce.
 *
 *   mpirun --bind-to none -np 2 build/bench/soma-bench-mpi [--steps N] [--epochs N]
 *          [--rounds N]
 *
 * (as root add --allow-run-as-root). With R ranks it measures, one after
 * the other:
 *   A. 1 process x R BLAS threads (rank 0 alone, global batch 128);
 *   B. R processes x 1 BLAS thread (local batch 128 / R), soma_mlp_fit
 *      with libsoma-mpi's hooks, the hook timed;
 *   C. a bare MPI_Allreduce of the gradient's size (no compute around it),
 *      and one pass g *= w over it (what the hook adds to the allreduce);
 *   D. the overlap experiment: a hand-written training step (the same
 *      dense-layer calls as fit) that reduces the gradient once at the end
 *      of the backward pass; or layer by layer with MPI_Iallreduce started
 *      as soon as each layer's gradient is ready (as PyTorch DDP's buckets
 *      do), progressed by MPI_Testall after each later layer and completed
 *      by MPI_Waitall; or layer by layer with blocking MPI_Allreduce (the
 *      cost of splitting alone). The three alternate in rounds.
 * The "cpu" columns are CPU time / (wall time x threads) of each phase:
 * below ~0.95 another program took cores from the measurement and its
 * numbers should be discarded (the bench's own ranks busy-poll in MPI, so
 * a rank with a core to itself shows ~1.0).
 * Model: 784-512-512-10, relu, softmax + cross-entropy, SGD momentum 0.9,
 * lr 0.01. Data: W3's make_classification rows (standardized). Times: monotonic clock,
 * medians over steps; the first step of every epoch is left out (it follows the epoch's
 * bookkeeping).
 *
 * --bind-to none matters: Open MPI binds each rank to one core when there
 * are at most two ranks, which would put A's two BLAS threads on one core. */
#define _POSIX_C_SOURCE 200809L

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <soma.h>
#include <soma/mpi.h>

#define GLOBAL_BATCH 128
#define N_FEATURES 784
#define N_INFORMATIVE 64
#define N_CLASSES 10
/* Forward + backward FLOPs per sample of W3 (bench/WORKLOADS.md). */
#define FLOPS_PER_SAMPLE 3221504.0

static int g_rank, g_size;

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* CPU time of this process, all threads. */
static double cpu_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void die(const char *what, soma_status st)
{
    fprintf(stderr, "rank %d: %s: %s\n", g_rank, what, soma_status_string(st));
    MPI_Abort(MPI_COMM_WORLD, 1);
}

#define TRY(expr)                                                                        \
    do {                                                                                 \
        soma_status st_ = (expr);                                                        \
        if (st_ != SOMA_OK)                                                              \
            die(#expr, st_);                                                             \
    } while (0)

static int cmp_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, size_t n)
{
    if (n == 0)
        return NAN;
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* ---- data and model ----------------------------------------------------- */

/* W3's data (WORKLOADS.md), n rows: make_classification(784 features, 64
 * informative, 10 classes, seed 0), standardized, labels one-hot. The same
 * on every rank (same seed). */
static void make_data(soma_matrix *X, soma_matrix *Y, size_t n)
{
    soma_rng r;
    soma_matrix labels = {0};
    soma_scaler sc = {0};
    TRY(soma_rng_seed(&r, 0));
    soma_make_classification_options o = soma_make_classification_defaults();
    o.n_samples = n;
    o.n_features = N_FEATURES;
    o.n_informative = N_INFORMATIVE;
    o.n_classes = N_CLASSES;
    TRY(soma_make_classification(&r, &o, X, &labels, NULL, NULL));
    TRY(soma_scaler_fit(&sc, X, NULL, NULL));
    TRY(soma_scaler_transform(&sc, X, X, NULL));
    TRY(soma_one_hot(&labels, N_CLASSES, Y, NULL, NULL));
    soma_scaler_free(&sc);
    soma_matrix_free(&labels);
}

static const size_t w3_sizes[4] = {N_FEATURES, 512, 512, N_CLASSES};

static soma_mlp *make_model(void)
{
    soma_mlp_spec spec = soma_mlp_spec_default();
    spec.hidden = SOMA_ACTIVATION_RELU;
    spec.output = SOMA_ACTIVATION_SOFTMAX;
    spec.loss = SOMA_LOSS_CE;
    spec.init = SOMA_INIT_HE_NORMAL;
    spec.seed = 0;
    soma_mlp *m = NULL;
    TRY(soma_mlp_create(&m, w3_sizes, 4, &spec, NULL, NULL));
    return m;
}

static soma_fit_options w3_options(size_t batch, size_t epochs)
{
    soma_fit_options o = soma_fit_options_default();
    o.epochs = epochs;
    o.batch_size = batch;
    o.shuffle = true;
    o.optimizer = soma_optim_config_default(SOMA_OPTIMIZER_MOMENTUM);
    o.optimizer.momentum = 0.9;
    o.learning_rate = 0.01;
    return o;
}

/* ---- A and B: soma_mlp_fit with a timed gradient hook --------------------- */

typedef struct timed {
    soma_reduce_hook inner;
    double *t_in, *t_out; /* per hook call */
    size_t n, cap;
} timed;

static soma_status timed_grads(void *user, double *g, size_t n, size_t rows)
{
    timed *t = user;
    const double t0 = now();
    soma_status st = t->inner.grads(t->inner.user, g, n, rows);
    if (t->n < t->cap) {
        t->t_in[t->n] = t0;
        t->t_out[t->n] = now();
        t->n++;
    }
    return st;
}

static soma_status timed_metrics(void *user, double *v, size_t n)
{
    timed *t = user;
    return t->inner.metrics(t->inner.user, v, n);
}

static soma_status timed_start(void *user, soma_status local)
{
    timed *t = user;
    return t->inner.start(t->inner.user, local);
}

typedef struct split {
    double step, compute, reduce; /* medians, seconds */
    double accuracy;              /* training accuracy of the last epoch */
    double cpu_share;             /* CPU time / (wall time x threads) */
} split;

/* Train `epochs` epochs of `steps` steps on comm; the split of this rank. */
static split run_fit(MPI_Comm comm, const soma_matrix *X, const soma_matrix *Y,
                     size_t batch, size_t steps, size_t epochs, int threads)
{
    soma_mpi_context *ctx;
    TRY(soma_mpi_context_create(&ctx, comm, NULL));
    int rank, size;
    TRY(soma_mpi_context_rank(ctx, &rank, &size));
    soma_matrix Xl, Yl;
    TRY(soma_mpi_shard_rows(&Xl, X, rank, size, SOMA_MPI_STRIDED, true));
    TRY(soma_mpi_shard_rows(&Yl, Y, rank, size, SOMA_MPI_STRIDED, true));
    soma_mlp *m = make_model();
    const size_t calls = steps * epochs;
    timed t = {.t_in = malloc(calls * sizeof(double)),
               .t_out = malloc(calls * sizeof(double)),
               .cap = calls};
    double *step = malloc(calls * sizeof(double)), *comp = malloc(calls * sizeof(double)),
           *red = malloc(calls * sizeof(double));
    if (!t.t_in || !t.t_out || !step || !comp || !red)
        die("malloc", SOMA_ENOMEM);
    TRY(soma_mpi_hook(ctx, m, &t.inner));
    soma_fit_options o = w3_options(batch, epochs);
    o.reduce = (soma_reduce_hook){timed_grads, timed_metrics, &t, timed_start};
    soma_history h;
    const double w0 = now(), c0 = cpu_now();
    TRY(soma_mlp_fit(m, &Xl, &Yl, &o, &h, NULL));
    const double share = (cpu_now() - c0) / ((now() - w0) * threads);
    size_t k = 0;
    for (size_t i = 0; i < t.n; i++) {
        if (i % steps == 0)
            continue;
        step[k] = t.t_out[i] - t.t_out[i - 1];
        comp[k] = t.t_in[i] - t.t_out[i - 1];
        red[k] = t.t_out[i] - t.t_in[i];
        k++;
    }
    split s = {median(step, k), median(comp, k), median(red, k),
               h.epochs[h.n_epochs - 1].accuracy, share};
    soma_history_free(&h);
    soma_mlp_destroy(m);
    soma_mpi_context_destroy(ctx);
    free(t.t_in);
    free(t.t_out);
    free(step);
    free(comp);
    free(red);
    return s;
}

/* ---- C: bare allreduce ---------------------------------------------------- */

/* Median time of an allreduce of n doubles with nothing around it, and
 * (*pass) of the hook's pre-scaling pass over the same buffer. */
static double bare_allreduce(size_t n, int reps, double *pass, double *cpu_share)
{
    const double w0 = now(), c0 = cpu_now();
    double *buf = malloc(n * sizeof(double)), *t = malloc((size_t)reps * sizeof(double));
    if (!buf || !t)
        die("malloc", SOMA_ENOMEM);
    for (size_t i = 0; i < n; i++)
        buf[i] = 1.0;
    for (int i = 0; i < reps; i++) {
        MPI_Barrier(MPI_COMM_WORLD);
        const double t0 = now();
        MPI_Allreduce(MPI_IN_PLACE, buf, (int)n, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
        t[i] = now() - t0;
        for (size_t k = 0; k < n; k++) /* keep the values bounded */
            buf[k] = 1.0;
    }
    const double m = median(t, (size_t)reps);
    for (int i = 0; i < reps; i++) {
        const double w = i % 2 ? 2.0 : 0.5, t0 = now();
        for (size_t k = 0; k < n; k++)
            buf[k] *= w;
        t[i] = now() - t0;
    }
    *pass = median(t, (size_t)reps);
    *cpu_share = (cpu_now() - c0) / (now() - w0);
    free(buf);
    free(t);
    return m;
}

/* ---- D: the overlap experiment -------------------------------------------- */

/* A hand-written step of the W3 model through the public dense-layer API:
 * forward, dZ = P - Y (softmax + CE), backward layer by layer, gradient
 * reduction, momentum step. */
typedef struct manual {
    soma_mlp *mlp;
    soma_dense layer[3];
    soma_matrix Z[3], A[3], dz[2], dW[3], db[3];
    double *params, *grads;
    size_t off[3], len[3], n_params, m;
    soma_optim opt;
} manual;

static void manual_init(manual *s, size_t m)
{
    memset(s, 0, sizeof *s);
    s->mlp = make_model();
    s->m = m;
    soma_matrix p, g;
    TRY(soma_mlp_params(s->mlp, &p, NULL));
    TRY(soma_mlp_grads(s->mlp, &g, NULL));
    s->params = p.data;
    s->grads = g.data;
    s->n_params = p.cols;
    size_t off = 0;
    for (size_t l = 0; l < 3; l++) {
        const size_t in = w3_sizes[l], out = w3_sizes[l + 1];
        TRY(soma_mlp_layer(s->mlp, l, &s->layer[l].W, &s->layer[l].b, NULL));
        s->layer[l].activation = l < 2 ? SOMA_ACTIVATION_RELU : SOMA_ACTIVATION_SOFTMAX;
        s->layer[l].alpha = 0.0;
        TRY(soma_matrix_init(&s->Z[l], m, out, NULL));
        TRY(soma_matrix_init(&s->A[l], m, out, NULL));
        TRY(soma_matrix_view(&s->dW[l], s->grads + off, in, out, out));
        TRY(soma_matrix_view(&s->db[l], s->grads + off + in * out, 1, out, out));
        s->off[l] = off;
        s->len[l] = in * out + out;
        off += s->len[l];
    }
    TRY(soma_matrix_init(&s->dz[0], m, 512, NULL));
    TRY(soma_matrix_init(&s->dz[1], m, 512, NULL));
    soma_optim_config c = soma_optim_config_default(SOMA_OPTIMIZER_MOMENTUM);
    TRY(soma_optim_init(&s->opt, &c, s->n_params, NULL));
}

static void manual_free(manual *s)
{
    for (size_t l = 0; l < 3; l++) {
        soma_matrix_free(&s->Z[l]);
        soma_matrix_free(&s->A[l]);
    }
    soma_matrix_free(&s->dz[0]);
    soma_matrix_free(&s->dz[1]);
    soma_optim_free(&s->opt);
    soma_mlp_destroy(s->mlp);
}

static soma_matrix rows_of(const soma_matrix *M, size_t r0, size_t n)
{
    soma_matrix v;
    TRY(soma_matrix_view_rows(&v, M, r0, n));
    return v;
}

static soma_matrix head(soma_matrix *M, size_t cols)
{
    soma_matrix v;
    TRY(soma_matrix_view(&v, M->data, M->rows, cols, cols));
    return v;
}

/* How the hand-written step reduces the gradient. */
enum reduction {
    REDUCE_END,      /* one MPI_Allreduce after the backward pass */
    REDUCE_LAYER,    /* MPI_Iallreduce per layer as soon as it is ready */
    REDUCE_BLOCKING, /* MPI_Allreduce per layer as soon as it is ready */
    N_REDUCTIONS
};

static const char *const reduction_name[N_REDUCTIONS] = {
    "one allreduce at the end", "per layer, Iallreduce", "per layer, blocking"};

/* One step; how = the reduction. *exposed = the seconds spent in
 * reductions after the backward pass. */
static void manual_step(manual *s, const soma_matrix *X, const soma_matrix *Y,
                        enum reduction how, double *exposed)
{
    const double w = 1.0 / (double)g_size; /* equal local batches */
    MPI_Request req[3] = {MPI_REQUEST_NULL, MPI_REQUEST_NULL, MPI_REQUEST_NULL};
    soma_matrix in = *X;
    for (size_t l = 0; l < 3; l++) {
        TRY(soma_dense_forward(&s->layer[l], &in, &s->Z[l], &s->A[l], NULL));
        in = s->A[l];
    }
    soma_matrix dZ = head(&s->dz[0], N_CLASSES);
    for (size_t i = 0; i < s->m; i++)
        for (size_t j = 0; j < N_CLASSES; j++)
            dZ.data[i * N_CLASSES + j] =
                *soma_matrix_at(&s->A[2], i, j) - *soma_matrix_at(Y, i, j);
    /* Output layer from dZ; hidden layers from dA = the dX above, with
     * relu's derivative applied in place by soma_dense_backward. */
    int cur = 0;
    for (size_t l = 3; l-- > 0;) {
        const soma_matrix x = l == 0 ? *X : s->A[l - 1];
        soma_matrix dX = head(&s->dz[1 - cur], w3_sizes[l]);
        soma_matrix *dXp = l > 0 ? &dX : NULL;
        if (l == 2)
            TRY(soma_dense_backward_dz(&s->layer[l], &x, &dZ, &s->dW[l], &s->db[l], dXp,
                                       NULL));
        else
            TRY(soma_dense_backward(&s->layer[l], &x, &s->Z[l], &s->A[l], &dZ, &dZ,
                                    &s->dW[l], &s->db[l], dXp, NULL));
        if (how != REDUCE_END) {
            double *g = s->grads + s->off[l];
            for (size_t i = 0; i < s->len[l]; i++)
                g[i] *= w;
            if (how == REDUCE_BLOCKING) {
                MPI_Allreduce(MPI_IN_PLACE, g, (int)s->len[l], MPI_DOUBLE, MPI_SUM,
                              MPI_COMM_WORLD);
            } else {
                MPI_Iallreduce(MPI_IN_PLACE, g, (int)s->len[l], MPI_DOUBLE, MPI_SUM,
                               MPI_COMM_WORLD, &req[l]);
                int done; /* let the started reductions progress */
                MPI_Testall(3, req, &done, MPI_STATUSES_IGNORE);
            }
        }
        dZ = dX;
        cur = 1 - cur;
    }
    const double t0 = now();
    if (how == REDUCE_LAYER) {
        MPI_Waitall(3, req, MPI_STATUSES_IGNORE);
    } else if (how == REDUCE_END) {
        for (size_t i = 0; i < s->n_params; i++)
            s->grads[i] *= w;
        MPI_Allreduce(MPI_IN_PLACE, s->grads, (int)s->n_params, MPI_DOUBLE, MPI_SUM,
                      MPI_COMM_WORLD);
    }
    *exposed = now() - t0;
    TRY(soma_optim_step(&s->opt, 0.01, s->params, s->grads));
}

typedef struct overlap {
    double step[N_REDUCTIONS], exposed[N_REDUCTIONS];
    double cpu_share; /* of the whole experiment */
} overlap;

static overlap run_overlap(const soma_matrix *X, const soma_matrix *Y, size_t steps,
                           size_t rounds)
{
    soma_matrix Xl, Yl;
    TRY(soma_mpi_shard_rows(&Xl, X, g_rank, g_size, SOMA_MPI_STRIDED, true));
    TRY(soma_mpi_shard_rows(&Yl, Y, g_rank, g_size, SOMA_MPI_STRIDED, true));
    const size_t m = GLOBAL_BATCH / (size_t)g_size, batches = Xl.rows / m;
    manual s;
    manual_init(&s, m);
    /* Same starting point on every rank. */
    MPI_Bcast(s.params, (int)s.n_params, MPI_DOUBLE, 0, MPI_COMM_WORLD);
    const size_t per = rounds * steps;
    const double w0 = now(), c0 = cpu_now();
    double *t[N_REDUCTIONS], *e[N_REDUCTIONS];
    for (int v = 0; v < N_REDUCTIONS; v++) {
        t[v] = malloc(per * sizeof(double));
        e[v] = malloc(per * sizeof(double));
        if (!t[v] || !e[v])
            die("malloc", SOMA_ENOMEM);
    }
    size_t batch = 0, n[N_REDUCTIONS] = {0};
    for (size_t r = 0; r < rounds; r++) {
        for (int v = 0; v < N_REDUCTIONS; v++) {
            for (size_t k = 0; k <= steps; k++) { /* k == 0: warm-up, not kept */
                soma_matrix Xb = rows_of(&Xl, (batch % batches) * m, m);
                soma_matrix Yb = rows_of(&Yl, (batch % batches) * m, m);
                batch++;
                MPI_Barrier(MPI_COMM_WORLD);
                const double t0 = now();
                double ex;
                manual_step(&s, &Xb, &Yb, (enum reduction)v, &ex);
                if (k > 0) {
                    t[v][n[v]] = now() - t0;
                    e[v][n[v]++] = ex;
                }
            }
        }
    }
    overlap o;
    o.cpu_share = (cpu_now() - c0) / (now() - w0);
    for (int v = 0; v < N_REDUCTIONS; v++) {
        o.step[v] = median(t[v], n[v]);
        o.exposed[v] = median(e[v], n[v]);
        free(t[v]);
        free(e[v]);
    }
    manual_free(&s);
    return o;
}

/* ---- main ------------------------------------------------------------------- */

/* The machine's 1-minute load average (Linux), or -1: the numbers mean
 * little when other programs compete for the cores. */
static double load_average(void)
{
    double l = -1.0;
    FILE *f = fopen("/proc/loadavg", "r");
    if (f != NULL) {
        if (fscanf(f, "%lf", &l) != 1)
            l = -1.0;
        fclose(f);
    }
    return l;
}

/* The smallest of v[0..n). */
static double min_of(const double *v, int n)
{
    double m = v[0];
    for (int i = 1; i < n; i++)
        m = v[i] < m ? v[i] : m;
    return m;
}

/* Rank 0 gathers one double from every rank. */
static void gather(double x, double *all)
{
    MPI_Gather(&x, 1, MPI_DOUBLE, all, 1, MPI_DOUBLE, 0, MPI_COMM_WORLD);
}

/* Ranks other than 0 wait without spinning while rank 0 works alone. */
static void idle_until_rank0_done(void)
{
    MPI_Request req;
    MPI_Ibarrier(MPI_COMM_WORLD, &req);
    if (g_rank == 0)
        return;
    int done = 0;
    const struct timespec ms = {0, 1000000};
    while (!done) {
        MPI_Test(&req, &done, MPI_STATUS_IGNORE);
        if (!done)
            nanosleep(&ms, NULL);
    }
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &g_size);
    size_t steps = 40, rounds = 6, epochs = 3;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--steps") == 0)
            steps = strtoul(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--rounds") == 0)
            rounds = strtoul(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--epochs") == 0)
            epochs = strtoul(argv[i + 1], NULL, 10);
    }
    if (steps < 2 || rounds < 1 || epochs < 1 || GLOBAL_BATCH % g_size != 0) {
        if (g_rank == 0)
            fprintf(stderr,
                    "usage: mpirun -np R soma-bench-mpi [--steps N>=2] [--epochs N] "
                    "[--rounds N]; R must divide 128\n");
        MPI_Finalize();
        return 2;
    }
    const double load0 = load_average();
    soma_matrix X, Y;
    make_data(&X, &Y, GLOBAL_BATCH * steps);
    const size_t n_params = 784 * 512 + 512 + 512 * 512 + 512 + 512 * 10 + 10;

    /* A: rank 0 alone with R BLAS threads. */
    split a = {0, 0, 0, 0, 0};
    if (g_rank == 0) {
        TRY(soma_threads_set(g_size));
        a = run_fit(MPI_COMM_SELF, &X, &Y, GLOBAL_BATCH, steps, epochs, g_size);
    }
    idle_until_rank0_done();

    /* B: R ranks, one BLAS thread each. */
    TRY(soma_threads_set(1));
    split b =
        run_fit(MPI_COMM_WORLD, &X, &Y, GLOBAL_BATCH / (size_t)g_size, steps, epochs, 1);
    double *bs = malloc((size_t)g_size * 6 * sizeof(double));
    if (bs == NULL)
        die("malloc", SOMA_ENOMEM);
    double *bc = bs + g_size, *br = bc + g_size, *bu = br + g_size;
    gather(b.step, bs);
    gather(b.compute, bc);
    gather(b.reduce, br);
    gather(b.cpu_share, bu);

    /* C and D. */
    double bare_cpu, pass;
    const double bare = bare_allreduce(n_params, 30, &pass, &bare_cpu);
    const overlap ov = run_overlap(&X, &Y, steps / 2, rounds);
    double *bare_cpus = bu + g_size, *ov_cpus = bare_cpus + g_size;
    gather(bare_cpu, bare_cpus);
    gather(ov.cpu_share, ov_cpus);

    if (g_rank == 0) {
        const double mb = (double)n_params * 8.0 / 1e6;
        printf("load average before / after: %.2f / %.2f\n", load0, load_average());
        printf("soma %s, %s; W3 784-512-512-10 (%zu parameters, %.2f MB of gradient), "
               "global batch %d, %zu steps x %zu epochs, medians\n",
               soma_version_string(), soma_backend_config(), n_params, mb, GLOBAL_BATCH,
               steps, epochs);
        printf("\n%-26s %9s %9s %9s %9s %9s %8s %5s\n", "configuration", "step ms",
               "compute", "allreduce", "reduce %", "GFLOP/s", "acc", "cpu");
        const double gf = FLOPS_PER_SAMPLE * GLOBAL_BATCH / 1e9;
        char name[64];
        snprintf(name, sizeof name, "1 process x %d threads", g_size);
        printf("%-26s %9.2f %9.2f %9.3f %8.1f%% %9.1f %8.3f %5.2f\n", name, 1e3 * a.step,
               1e3 * a.compute, 1e3 * a.reduce, 100.0 * a.reduce / a.step, gf / a.step,
               a.accuracy, a.cpu_share);
        for (int r = 0; r < g_size; r++) {
            snprintf(name, sizeof name, "%d ranks x 1 thread, r%d", g_size, r);
            printf("%-26s %9.2f %9.2f %9.3f %8.1f%% %9.1f %8.3f %5.2f\n", name,
                   1e3 * bs[r], 1e3 * bc[r], 1e3 * br[r], 100.0 * br[r] / bs[r],
                   gf / bs[r], b.accuracy, bu[r]);
        }
        printf(
            "\nbare MPI_Allreduce of %.2f MB on %d ranks: %.3f ms (algorithm bandwidth "
            "%.2f GB/s, ring bus bandwidth %.2f GB/s), cpu %.2f\n",
            mb, g_size, 1e3 * bare, mb / 1e3 / bare,
            2.0 * (g_size - 1) / g_size * mb / 1e3 / bare, min_of(bare_cpus, g_size));
        printf("the hook's pre-scaling pass over the gradient: %.3f ms\n", 1e3 * pass);
        printf(
            "\noverlap experiment (hand-written step, %d ranks x 1 thread, %zu rounds of "
            "%zu steps each), cpu %.2f:\n",
            g_size, rounds, steps / 2, min_of(ov_cpus, g_size));
        printf("%-26s %9s %14s\n", "reduction", "step ms", "exposed ms");
        for (int v = 0; v < N_REDUCTIONS; v++)
            printf("%-26s %9.2f %14.3f\n", reduction_name[v], 1e3 * ov.step[v],
                   1e3 * ov.exposed[v]);
    }
    free(bs);
    soma_matrix_free(&X);
    soma_matrix_free(&Y);
    MPI_Finalize();
    return 0;
}
