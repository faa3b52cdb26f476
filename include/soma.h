/**
 * @file soma.h
 * @brief Umbrella header: includes every public soma header.
 */
#ifndef SOMA_H
#define SOMA_H

#include "soma/common.h"
#include "soma/status.h"
#include "soma/rng.h"
#include "soma/matrix.h"
#include "soma/gemm.h"
#include "soma/threads.h"
#include "soma/activation.h"
#include "soma/loss.h"
#include "soma/dense.h"
#include "soma/optim.h"
#include "soma/mlp.h"
#include "soma/model.h"
#include "soma/data.h"
#include "soma/metrics.h"
#include "soma/perceptron.h"
#include "soma/io.h"

#endif /* SOMA_H */
