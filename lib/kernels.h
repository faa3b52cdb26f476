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

/* z[i] += b[i], then a[i] = f(z[i]): the dense layer's fused pass over one
 * row of Z (z keeps the pre-activation for backward). a may be z only for
 * f == identity. */
void soma__act_forward_bias(soma_activation f, double alpha, size_t n, double *z,
                            const double *b, double *a);

/* dz[i] = da[i] f'(z[i]) (softmax: row JVP using a); a = f(z). dz may be da. */
void soma__act_backward(soma_activation f, double alpha, size_t n, const double *z,
                        const double *a, const double *da, double *dz);

/* SOMA_OK when Y lies in the loss's target domain (see loss.h). */
soma_status soma__loss_check_targets(soma_loss loss, const soma_matrix *Y);

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
