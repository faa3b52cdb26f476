/* soma's own parallel loops (DESIGN.md "Threads"; the public side is
 * include/soma/threads.h). Never installed.
 *
 * A loop over n items is cut into blocks whose boundaries depend only on n
 * and the grain, never on the thread count; the blocks run on the pool the
 * BLAS uses (OpenMP) or, when that is not allowed or not worth it, on the
 * calling thread. Reductions add each block's partial results in block
 * order, so their bits do not depend on the thread count either. Nothing
 * here allocates: a step of training may call it. */
#ifndef SOMA_PARALLEL_H
#define SOMA_PARALLEL_H

#include <stddef.h>

/* The most blocks a loop is cut into (larger n gets larger blocks): bounds
 * the reductions' partial sums, kept on the stack. */
#define SOMA__PAR_MAX_BLOCKS 64
/* The most values one reduction returns. */
#define SOMA__PAR_MAX_SUMS 4

/*
 * Grains: the fewest items of a kind of work worth a block of their own,
 * hence the size below which a loop stays on the calling thread (it goes
 * parallel from two blocks on). A fork and join of an OpenMP team costs a
 * few microseconds with libgomp on this class of machine; each grain below
 * is a pass of about 10 us or more on one core (16384 doubles = 128 KiB
 * read and written, or 32768 compared), so that the fork costs at most a
 * few percent of it. These are conservative estimates for memory-bound
 * passes: `soma-bench --only threads` measures the passes that use them at
 * 1 and 2 threads against their size, which is how they are to be set
 * (docs/performance.md, "Threads").
 */
#define SOMA__GRAIN_COPY 16384  /* doubles copied (row gather) */
#define SOMA__GRAIN_CHECK 32768 /* doubles checked for finiteness */
#define SOMA__GRAIN_SUM 16384   /* doubles added (column sums) */
/* Elements through an activation or its derivative (with the bias, in a
 * dense layer's forward pass): those that take an exp per element
 * (sigmoid, tanh, elu, swish, softmax forward; elu's derivative), about
 * 1 ns each on one core, and the cheap ones (relu, leaky relu, identity and
 * the other derivatives: a compare or a few products). */
#define SOMA__GRAIN_ACT_EXP 8192
#define SOMA__GRAIN_ACT_CHEAP 32768

/*
 * The grain, in groups of `group` columns, of a column-sum pass over a
 * rows x cols matrix: SOMA__GRAIN_SUM elements, and never fewer than 16
 * groups (128 doubles of each row at a cache line a group). A block reads
 * its columns of every row, so thin blocks turn the pass into a walk down
 * the rows one cache line at a time: with one group a block, the 2-thread
 * pass over a 2048 x 512 matrix took 2.1 times the serial one, 4 times at
 * 4096 rows. With 16 groups, 2 threads took 0.60-0.70 of one thread's time
 * from 65536 to 262144 elements, but 0.9-1.8 of it from 2^19 on, where the
 * matrix leaves the caches (soma-bench --only threads, AMD EPYC Zen 3):
 * larger matrices are summed in one block, on the calling thread.
 */
#define SOMA__COL_SUMS_MAX_PARALLEL 262144 /* elements */
static inline size_t soma__col_sums_grain(size_t rows, size_t cols, size_t group)
{
    if ((double)rows * (double)cols > SOMA__COL_SUMS_MAX_PARALLEL)
        return cols / group + 1; /* one block */
    const size_t g = SOMA__GRAIN_SUM / (rows * group) + 1;
    return g > 16 ? g : 16;
}

/* Work on the items [begin, end). */
typedef void (*soma__par_fn)(const void *ctx, size_t begin, size_t end);

/* Partial results out[0..k) of the items [begin, end). */
typedef void (*soma__par_sums_fn)(const void *ctx, size_t begin, size_t end, double *out);

/* The blocks of a loop over n > 0 items with this grain (0 counts as 1):
 * returns their count (1 ... SOMA__PAR_MAX_BLOCKS) and sets *size to the
 * items per block; block b covers [b * size, min(n, (b + 1) * size)). A
 * function of n and grain only. */
size_t soma__par_blocks(size_t n, size_t grain, size_t *size);

/* Threads a loop of `blocks` blocks started now may use: 1 when soma's
 * loops are serial in this build, inside an active parallel region of the
 * caller, when the BLAS loaded is not OpenBLAS's OpenMP flavour (BLAS
 * build), or for a single block; otherwise OpenMP's thread count for the
 * calling thread, at most `blocks`. */
int soma__par_threads(size_t blocks);

/* fn over [0, n) block by block, in parallel when soma__par_threads allows
 * more than one thread. For element-wise work: fn's results must not depend
 * on where [0, n) is cut (on one thread it is called once for [0, n)), and
 * blocks must write disjoint memory. */
void soma__par_for(size_t n, size_t grain, soma__par_fn fn, const void *ctx);

/* out[0..k) = the sums over the blocks of fn's k partial results, k <=
 * SOMA__PAR_MAX_SUMS, added in block order: the same bits for any thread
 * count. n == 0 gives zeros. */
void soma__par_sums(size_t n, size_t grain, size_t k, soma__par_sums_fn fn,
                    const void *ctx, double *out);

#endif /* SOMA_PARALLEL_H */
