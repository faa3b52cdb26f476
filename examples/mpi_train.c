/* Data-parallel training over MPI: every rank trains the same model on its
 * own shard of the rows; gradients and epoch statistics are averaged over
 * the ranks, so all ranks end with the same model.
 *
 *   mpirun -np 2 build/examples/mpi_train
 *   mpirun --hostfile hosts -np 8 build/examples/mpi_train     (see README)
 *
 * Build: cc mpi_train.c $(pkg-config --cflags --libs soma-mpi)
 * (or mpicc). Every rank makes the whole data set from the same seed and
 * keeps a view of its rows, exactly as it would after reading one CSV file
 * on every rank; see README "Training on several machines". */
#include <stdio.h>

#include <soma.h>
#include <soma/mpi.h>

/* make_moons(n, noise 0.2) from a seed: the same rows on every rank, as if
 * each had read the same CSV file. */
static soma_status moons(soma_matrix *X, soma_matrix *Y, size_t n, uint64_t seed)
{
    soma_rng rng;
    soma_status st = soma_rng_seed(&rng, seed);
    if (st == SOMA_OK)
        st = soma_make_moons(&rng, n, 0.2, true, X, Y, NULL, NULL);
    return st;
}

/* Progress from rank 0 only: soma_mpi_fit lets callbacks differ by rank. */
static int print_epoch(void *user, const soma_epoch_stats *s)
{
    (void)user;
    printf("epoch %2zu  loss %.4f  acc %.3f  val loss %.4f  val acc %.3f\n", s->epoch,
           s->loss, s->accuracy, s->val_loss, s->val_accuracy);
    return 0;
}

static int fail(int rank, const char *what, soma_status st)
{
    fprintf(stderr, "rank %d: %s: %s\n", rank, what, soma_status_string(st));
    return 1;
}

static int train(int rank, int size)
{
    /* One thread per rank (the BLAS's and soma's loops): the ranks already
     * fill the cores, and more threads than cores slows every rank down
     * (see README). */
    soma_status st = soma_threads_set(1);
    if (st != SOMA_OK && st != SOMA_ENOTSUP)
        return fail(rank, "soma_threads_set", st);

    soma_matrix X, Y, Xv, Yv, X_local, Y_local, Xv_local, Yv_local;
    st = moons(&X, &Y, 4000, 1);
    if (st == SOMA_OK)
        st = moons(&Xv, &Yv, 1000, 2);
    /* This rank's rows: views, no copies. drop_remainder gives every rank
     * the same row count, so every rank runs the same number of steps. */
    if (st == SOMA_OK)
        st = soma_mpi_shard_rows(&X_local, &X, rank, size, SOMA_MPI_STRIDED, true);
    if (st == SOMA_OK)
        st = soma_mpi_shard_rows(&Y_local, &Y, rank, size, SOMA_MPI_STRIDED, true);
    if (st == SOMA_OK)
        st = soma_mpi_shard_rows(&Xv_local, &Xv, rank, size, SOMA_MPI_STRIDED, false);
    if (st == SOMA_OK)
        st = soma_mpi_shard_rows(&Yv_local, &Yv, rank, size, SOMA_MPI_STRIDED, false);

    const size_t sizes[] = {2, 16, 16, 1};
    soma_mlp_spec spec = soma_mlp_spec_default(); /* sigmoid + BCE output */
    spec.hidden = SOMA_ACTIVATION_TANH;
    spec.seed = 42;
    soma_mlp *mlp = NULL;
    soma_mpi_context *ctx = NULL;
    if (st == SOMA_OK)
        st = soma_mlp_create(&mlp, sizes, 4, &spec, NULL, NULL);
    if (st == SOMA_OK)
        st = soma_mpi_context_create(&ctx, MPI_COMM_WORLD, NULL);
    if (st != SOMA_OK) {
        soma_mlp_destroy(mlp);
        return fail(rank, "setup", st);
    }

    soma_fit_options o = soma_fit_options_default();
    o.epochs = 30;
    o.batch_size = 32; /* per rank: the global batch is 32 x size */
    o.optimizer = soma_optim_config_default(SOMA_OPTIMIZER_ADAM);
    o.learning_rate = 0.01;
    o.X_val = &Xv_local;
    o.Y_val = &Yv_local;
    o.early_stopping = true;
    o.patience = 5;
    o.seed = 7 + (uint64_t)rank; /* each rank shuffles its shard its own way */
    if (rank == 0)
        o.callback = print_epoch;
    soma_history h = {0};
    st = soma_mpi_fit(ctx, mlp, &X_local, &Y_local, &o, &h);
    if (st != SOMA_OK) {
        fail(rank, "soma_mpi_fit", st);
    } else if (rank == 0) {
        soma_mpi_stats stats;
        double acc = 0.0;
        st = soma_mpi_context_stats(ctx, &stats);
        if (st == SOMA_OK)
            st = soma_mlp_evaluate(mlp, &Xv, &Yv, NULL, &acc, NULL);
        if (st == SOMA_OK) {
            double seconds = 0.0;
            for (size_t e = 0; e < h.n_epochs; e++)
                seconds += h.epochs[e].seconds;
            printf("%d ranks, %zu rows each: %zu epochs (%s), validation accuracy %.3f\n",
                   size, X_local.rows, h.n_epochs,
                   h.stop == SOMA_STOP_EARLY ? "early stop" : "all epochs", acc);
            printf(
                "%zu gradient allreduces took %.3f s of %.3f s of training on rank 0\n",
                stats.grad_calls, stats.grad_seconds, seconds);
        }
    }
    soma_history_free(&h);
    soma_mpi_context_destroy(ctx);
    soma_mlp_destroy(mlp);
    soma_matrix *all[] = {&X, &Y, &Xv, &Yv};
    for (size_t i = 0; i < 4; i++)
        soma_matrix_free(all[i]);
    return st == SOMA_OK ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (MPI_Init(&argc, &argv) != MPI_SUCCESS)
        return 1;
    int rank = 0, size = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    int rc = train(rank, size);
    /* Every rank reports failure if any rank failed. */
    MPI_Allreduce(MPI_IN_PLACE, &rc, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    MPI_Finalize();
    return rc;
}
