/* Unchecked numeric kernels shared by activation.c, loss.c and the layers.
 * Callers have validated every argument; nothing here fails. Never
 * installed. */
#ifndef SOMA_KERNELS_H
#define SOMA_KERNELS_H

#include <stddef.h>

#include "internal.h"

/* a[i] = f(z[i]), i < n (softmax: the n values are one row). a may be z. */
void soma__act_forward(soma_activation f, double alpha, size_t n, const double *z,
                       double *a);

/* z(r, i) += b[i] for r < rows, i < cols (rows ldz apart): the dense
 * layer's bias, before soma__act_forward (z keeps the pre-activation for
 * backward). */
void soma__add_bias_rows(size_t rows, size_t cols, double *z, size_t ldz,
                         const double *b);

/* dz[i] = da[i] f'(z[i]) (softmax: row JVP using a); a = f(z). dz may be da. */
void soma__act_backward(soma_activation f, double alpha, size_t n, const double *z,
                        const double *a, const double *da, double *dz);

/* SOMA_OK when Y lies in the loss's target domain (see loss.h), else
 * SOMA_EINVAL with the offending row in err (Y called `name`). */
soma_status soma__loss_check_targets(soma_loss loss, const soma_matrix *Y,
                                     const char *name, soma_error_info *err);

/* Sum over rows of the per-row loss of P against Y; when dP is not NULL it
 * receives d(per-row loss)/dP (dP may be P). Shapes already checked. */
double soma__loss_sum(soma_loss loss, const soma_matrix *P, const soma_matrix *Y,
                      soma_matrix *dP);

/* Fused sigmoid+BCE / softmax+CE from logits: P = out(Z) and dZ = d(per-row
 * loss)/dZ when not NULL (dZ may be Z, P must not be); returns the sum over
 * rows of the per-row loss. */
double soma__loss_logits_sum(soma_loss loss, const soma_matrix *Z, const soma_matrix *Y,
                             soma_matrix *P, soma_matrix *dZ);

#endif /* SOMA_KERNELS_H */
