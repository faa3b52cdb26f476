/* Private layer-level helpers shared by dense.c and mlp.c. Arguments are
 * checked by the callers. Never installed. */
#ifndef SOMA_NN_H
#define SOMA_NN_H

#include "internal.h"
#include "kernels.h"

/* Z = X W + b, A = f(Z) (A == Z allowed for the identity). */
void soma__dense_forward(const soma_dense *layer, const soma_matrix *X, soma_matrix *Z,
                         soma_matrix *A);

/* dW = scale X^T dZ (+ dW when accumulate), db likewise with column sums,
 * dX = dZ W^T when dX is not NULL. */
void soma__dense_grads(const soma_dense *layer, const soma_matrix *X,
                       const soma_matrix *dZ, double scale, bool accumulate,
                       soma_matrix *dW, soma_matrix *db, soma_matrix *dX);

/* dZ = dA ⊙ f'(Z) (softmax: row JVP with A); dZ may be dA. */
void soma__activation_backward_rows(soma_activation f, double alpha, const soma_matrix *Z,
                                    const soma_matrix *A, const soma_matrix *dA,
                                    soma_matrix *dZ);

#endif /* SOMA_NN_H */
