/* The perceptron's struct, shared by perceptron.c and the model files
 * (model.c). Never installed. */
#ifndef SOMA_PERCEPTRON_INTERNAL_H
#define SOMA_PERCEPTRON_INTERNAL_H

#include "internal.h"

struct soma_perceptron {
    soma_allocator alloc;
    soma_perceptron_options opt;
    bool fitted;
    size_t d;                    /* features of the fit */
    double *w;                   /* d weights */
    double b;                    /* bias */
    soma_perceptron_epoch *hist; /* hist_cap entries, hist_len used */
    size_t hist_len, hist_cap;
    bool converged;
    size_t converged_epoch;
};

#endif /* SOMA_PERCEPTRON_INTERNAL_H */
