/* An outside program on soma's MPI module (tests/consumers/run.sh runs it
 * on 2 ranks): a soma context on MPI_COMM_WORLD and each rank's share of
 * 10 rows. */
#include <stdio.h>

#include <mpi.h>
#include <soma/mpi.h>

int main(int argc, char **argv)
{
    if (MPI_Init(&argc, &argv) != MPI_SUCCESS)
        return 1;
    soma_mpi_context *ctx = NULL;
    int rank = -1, size = 0;
    size_t first = 0, count = 0, stride = 0;
    soma_status st = soma_mpi_context_create(&ctx, MPI_COMM_WORLD, NULL);
    if (st == SOMA_OK)
        st = soma_mpi_context_rank(ctx, &rank, &size);
    if (st == SOMA_OK)
        st = soma_mpi_shard(10, rank, size, SOMA_MPI_CONTIGUOUS, false, &first, &count,
                            &stride);
    if (st == SOMA_OK)
        printf("soma-mpi: rank %d of %d: rows %zu to %zu\n", rank, size, first,
               first + count - 1);
    else
        fprintf(stderr, "soma-mpi: %s\n", soma_status_string(st));
    soma_mpi_context_destroy(ctx);
    MPI_Finalize();
    return st == SOMA_OK ? 0 : 1;
}
