/**
 * @file mpi.h
 * @brief Data-parallel training over MPI (the optional library libsoma-mpi).
 *
 * Every process (rank) of a communicator holds the same model and its own
 * shard of the training rows. Each step, every rank computes the gradient
 * of its local batch; the gradient hook replaces it with the row-weighted
 * average over all ranks,
 *
 *     g = sum_r m_r g_r / sum_r m_r      (m_r rows in rank r's batch, or
 *                                          their total weight when fit
 *                                          has sample or class weights),
 *
 * through one in-place `MPI_Allreduce` (sum) of the flat gradient buffer,
 * pre-scaled by m_r / sum_r m_r; every rank then applies the same update,
 * so the parameters stay identical. R ranks with local batch b therefore
 * step like one process with batch R b whose batches are the union of the
 * ranks' batches (see soma_mpi_shard for the order), up to the order of the
 * floating-point sums. The epoch statistics (loss, accuracy, validation)
 * are summed over ranks, so the history, early stopping and divergence
 * decisions are global and identical on every rank.
 *
 * Precision: the gradient is reduced in the model's precision, with
 * MPI_DOUBLE for a double model and MPI_FLOAT (half the bytes) for a
 * float32 one (soma_reduce_hook.grads_f32). A float model's parameters are
 * broadcast and checksummed through a double copy that the context
 * allocates at the start of the first fit of such a model (n_params
 * doubles, kept until the context is destroyed or a larger model needs
 * more); a failure to allocate it is shared like any other setup error.
 * Every rank must use the same precision (part of the model fingerprint).
 *
 * Build: `libsoma-mpi` (pkg-config `soma-mpi`) links `libsoma` and MPI;
 * `soma.h` does not include this header, and libsoma itself never
 * depends on MPI. Include `<soma/mpi.h>` after or instead of `<soma.h>`.
 *
 * Collectives: functions marked "collective" must be called by every rank
 * of the communicator, in the same order, with arguments that agree where
 * stated. Errors that one rank detects are shared so that every rank
 * returns the same status instead of leaving the others waiting; this holds
 * for everything soma checks, but not for a rank that crashes or never
 * calls, which MPI itself cannot detect.
 *
 * MPI errors: soma calls MPI on a duplicate of the caller's communicator
 * whose error handler is MPI_ERRORS_RETURN, so MPI failures come back as
 * statuses (see soma_mpi_status_from) instead of aborting the program; the
 * caller's communicator and its handler are not touched. MPI must be
 * initialised (MPI_Init or MPI_Init_thread) before a context is created and
 * finalised only after it is destroyed. A context is used by one thread at a
 * time (MPI_THREAD_SINGLE or FUNNELED suffice).
 */
#ifndef SOMA_MPI_H
#define SOMA_MPI_H

#include <stdbool.h>
#include <stddef.h>

#include <mpi.h>

#include "common.h"
#include "matrix.h"
#include "mlp.h"
#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * @brief The soma status for an MPI error code (or error class).
 *
 * MPI_SUCCESS gives SOMA_OK; MPI_ERR_NO_MEM gives SOMA_ENOMEM; MPI_ERR_COMM
 * (an invalid communicator) gives SOMA_EINVAL; every other code, including
 * implementation-specific ones, gives SOMA_EMPI. Error codes are mapped
 * through their class (MPI_Error_class) when MPI is initialised.
 */
SOMA_API soma_status soma_mpi_status_from(int mpi_error);

/** @brief How rows are dealt to ranks. */
typedef enum soma_mpi_layout {
    SOMA_MPI_CONTIGUOUS = 0, /**< rank r takes one block of consecutive rows */
    SOMA_MPI_STRIDED,        /**< rank r takes rows r, r + R, r + 2R, ... */
    SOMA_MPI_LAYOUT_COUNT    /**< number of layouts; not one */
} soma_mpi_layout;

/**
 * @brief Rank `rank`'s share of n rows among `size` ranks: rows first +
 * i * stride for i < count.
 *
 * Without drop_remainder, the shares differ by at most one row and cover
 * every row once: with q = n / size and e = n % size, rank r takes q + 1
 * rows when r < e, else q. CONTIGUOUS: first = r q + min(r, e), stride 1.
 * STRIDED: first = r, stride = size.
 *
 * With drop_remainder every rank takes exactly q rows (the last e rows of
 * the layout's order go unused), so that every rank runs the same number
 * of steps for any batch size (soma_mpi_fit requires that): CONTIGUOUS
 * first = r q; STRIDED as above with count q.
 *
 * Order: with local batch b and no shuffling, step k of every rank together
 * covers rows [k R b, (k + 1) R b) of the STRIDED layout's data in the
 * original order, which is what one process with batch R b sees; with
 * CONTIGUOUS the union of step k's batches is rows r n_r + [k b, (k + 1) b)
 * of every rank r.
 *
 * @param n               number of rows to share
 * @param rank            0 <= rank < size
 * @param size            number of ranks, >= 1
 * @param layout          CONTIGUOUS or STRIDED
 * @param drop_remainder  give every rank floor(n / size) rows
 * @param first, count, stride  receive the share (each may be NULL); count
 *                        may be 0 (then first is n and stride is 1)
 * @return SOMA_OK; SOMA_EINVAL for size < 1, rank outside [0, size) or an
 *         invalid layout. Nothing is written on error.
 */
SOMA_API SOMA_NODISCARD soma_status soma_mpi_shard(size_t n, int rank, int size,
                                                   soma_mpi_layout layout,
                                                   bool drop_remainder, size_t *first,
                                                   size_t *count, size_t *stride);

/**
 * @brief A view of rank `rank`'s rows of src (see soma_mpi_shard), with no
 * copy: for STRIDED the view's leading dimension is src->ld * size.
 *
 * The view aliases src and is valid while src's buffer is; it never frees.
 * @return SOMA_OK; SOMA_EINVAL for NULL or invalid src or view, or the
 *         errors of soma_mpi_shard; SOMA_EOVERFLOW when src->ld * size does
 *         not fit in size_t. Nothing is written on error.
 */
SOMA_API SOMA_NODISCARD soma_status soma_mpi_shard_rows(soma_matrix *view,
                                                        const soma_matrix *src, int rank,
                                                        int size, soma_mpi_layout layout,
                                                        bool drop_remainder);

/** @brief Opaque data-parallel state: a duplicate of the caller's
 *  communicator, this rank's place in it, scratch buffers and counters. */
typedef struct soma_mpi_context soma_mpi_context;

/**
 * @brief Create a context on comm (collective over comm: MPI_Comm_dup).
 *
 * @param out    receives the context (untouched on error)
 * @param comm   an intra-communicator; it is duplicated, not kept
 * @param alloc  allocator for the context's memory, or NULL
 * @return SOMA_OK; SOMA_EINVAL for NULL out, comm == MPI_COMM_NULL or an
 *         allocator with a NULL function; SOMA_ESTATE when MPI is not
 *         initialised or already finalised; SOMA_ENOMEM; the status of a
 *         failed MPI call (see soma_mpi_status_from).
 */
SOMA_API SOMA_NODISCARD soma_status soma_mpi_context_create(soma_mpi_context **out,
                                                            MPI_Comm comm,
                                                            const soma_allocator *alloc);

/**
 * @brief Free the context and its communicator (collective: MPI_Comm_free);
 * accepts NULL. Must be called before MPI_Finalize.
 */
SOMA_API void soma_mpi_context_destroy(soma_mpi_context *ctx);

/**
 * @brief This process's rank and the number of ranks of the context's
 * communicator; either pointer may be NULL. SOMA_EINVAL for a NULL ctx.
 */
SOMA_API SOMA_NODISCARD soma_status soma_mpi_context_rank(const soma_mpi_context *ctx,
                                                          int *rank, int *size);

/** @brief Time spent in the context's reductions since it was created. */
typedef struct soma_mpi_stats {
    size_t grad_calls;     /**< gradient reductions (one per training step) */
    double grad_seconds;   /**< wall time inside them, waiting for other ranks included */
    size_t metric_calls;   /**< metric reductions (one per epoch) */
    double metric_seconds; /**< wall time inside them */
    double bytes_reduced;  /**< gradient bytes passed to MPI_Allreduce by this rank
                                (8 per parameter and step for a double model, 4
                                for a float32 one) */
} soma_mpi_stats;

/** @brief *stats = the context's counters (monotonic clock). SOMA_EINVAL
 *  for NULL arguments. */
SOMA_API SOMA_NODISCARD soma_status soma_mpi_context_stats(const soma_mpi_context *ctx,
                                                           soma_mpi_stats *stats);

/**
 * @brief The reduction hooks soma_mpi_fit installs, for a caller that runs
 * soma_mlp_fit itself: `hook->grads` (double models) and `hook->grads_f32`
 * (float32 models) average the gradient over ranks as in the file comment;
 * `hook->metrics` sums the epoch statistics over ranks
 * (gathered, then added in rank order, so every rank gets the same bits);
 * `hook->start` shares every rank's setup status and a fingerprint of the
 * model's shape, and on agreement broadcasts mlp's parameters from rank 0.
 *
 * The hooks keep pointers to ctx and mlp, which must outlive the fits that
 * use them; use them only in soma_mlp_fit calls on mlp made by every rank
 * at once. A context serves one model at a time: a later soma_mpi_hook or
 * soma_mpi_fit call on ctx rebinds it. Such a caller is responsible for what soma_mpi_fit
 * adds: equal step counts per epoch on every rank and callbacks that agree.
 *
 * @return SOMA_OK; SOMA_EINVAL for NULL arguments.
 */
SOMA_API SOMA_NODISCARD soma_status soma_mpi_hook(soma_mpi_context *ctx, soma_mlp *mlp,
                                                  soma_reduce_hook *hook);

/**
 * @brief Data-parallel soma_mlp_fit: every rank trains the same model on
 * its own rows (X_local, Y_local) (collective).
 *
 * In order:
 * 1. Agreement (one MPI_Allgather): each rank's local checks (NULL
 *    arguments, shapes of X_local and Y_local against its model) and fit's
 *    own setup outcome, a fingerprint of the model's shape (layer sizes,
 *    activations and their alphas, loss), a fingerprint of the options that
 *    must agree (epochs, batch size, shuffle, optimizer and its
 *    parameters, learning rate and schedule, l2, clip_norm, dropout,
 *    validation fraction, whether X_val is given, early stopping with
 *    patience, min_delta and restore_best, warm_start) and the number of
 *    steps per epoch, ceil(n_train / batch). The seed, the callback and
 *    the validation data may differ between ranks.
 * 2. On agreement, the parameters are broadcast from rank 0, so ranks may
 *    start from differently initialised models.
 * 3. soma_mlp_fit with the hooks of soma_mpi_hook (options->reduce is
 *    ignored) and the callback wrapped: every rank calls its own callback
 *    (or none), and training stops when any rank's callback asks to, on
 *    every rank after the same epoch (one MPI_Allreduce per epoch).
 * 4. Every rank's fit status and a checksum of its final parameters are
 *    gathered.
 *
 * Each rank's options->seed is used as given: the same seed on every rank
 * shuffles every shard's row positions alike and draws the same dropout
 * masks per position; pass seed + rank to decorrelate them.
 *
 * Divergence: a NaN or infinity in any rank's loss or gradient reaches
 * every rank through the sums, so every rank stops after the same epoch
 * with SOMA_ENONFINITE and the same last finite parameters.
 *
 * @param ctx      context on the communicator of the ranks taking part
 * @param mlp      this rank's model (same shape on every rank)
 * @param X_local  this rank's rows (n_r x n0), e.g. from soma_mpi_shard_rows
 * @param Y_local  their targets (n_r x nL)
 * @param options  as for soma_mlp_fit; must agree across ranks as above
 * @param history  receives the history (global statistics), or NULL
 * @return the same status on every rank: SOMA_OK; the first error in rank
 *   order among the ranks' local checks and fit setups (so a rank's
 *   SOMA_EINVAL for bad options or targets, SOMA_EDIM for data that does
 *   not fit its model, SOMA_ENONFINITE for NaN in its data, SOMA_ENOMEM are
 *   returned by all); else SOMA_EDIM when the model shapes differ between
 *   ranks; SOMA_EINVAL when the options differ or the ranks would run
 *   different numbers of steps per epoch (shard with drop_remainder, or
 *   pick n and the batch so that they agree); for all of these the models
 *   and histories are unchanged. During training: SOMA_ENONFINITE on
 *   divergence (as soma_mlp_fit); a status from a failed MPI call, on the
 *   ranks where MPI reports it (MPI gives no guarantee that the others
 *   return); SOMA_ESTATE if the final parameters differ between ranks,
 *   which a conforming MPI_Allreduce that returns the same sum on every
 *   rank (Open MPI, MPICH) never causes. Training errors leave the models
 *   and histories as soma_mlp_fit documents.
 */
SOMA_API SOMA_NODISCARD soma_status soma_mpi_fit(soma_mpi_context *ctx, soma_mlp *mlp,
                                                 const soma_matrix *X_local,
                                                 const soma_matrix *Y_local,
                                                 const soma_fit_options *options,
                                                 soma_history *history);

#ifdef __cplusplus
}
#endif

#endif /* SOMA_MPI_H */
