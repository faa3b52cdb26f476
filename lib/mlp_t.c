/* The chunk-level step code of soma_mlp for one precision: forward, loss,
 * backward, the gathering of data rows, gradient post-processing and the
 * optimizer step, over the model's buffers of SOMA_T values.
 *
 * Not compiled on its own: lib/mlp_f64.c and lib/mlp_f32.c include it after
 * defining SOMA_T, SOMA_SFX and SOMA_K_DIRECT (1 when the data's doubles can
 * be used in place, i.e. SOMA_T is double). The fit loop, the checks and the
 * workspace layout are precision-free (lib/mlp_fit.c) and reach this code
 * through the soma__mlp_ops table at the end. Element-wise passes run over
 * contiguous ranges, so that they can be split into blocks.
 */

#define TC(x) ((SOMA_T)(x))
#define MAT SOMA_SFX(soma__mat)
#define K(name) SOMA_SFX(soma__##name)

/* The first m rows of a workspace buffer, packed. */
static MAT head(void *buf, size_t m, size_t cols)
{
    return SOMA_SFX(soma__mview)((SOMA_T *)buf, m, cols, cols);
}

static SOMA_T *params_of(const soma_mlp *mlp)
{
    return (SOMA_T *)mlp->params;
}

static SOMA_T *grads_of(const soma_mlp *mlp)
{
    return (SOMA_T *)mlp->grads;
}

/* Layer l's W (n(l) x n(l+1)) and b (1 x n(l+1)) within buf (parameters or
 * gradients). */
static MAT block_W(const soma_mlp *mlp, SOMA_T *buf, size_t l)
{
    const size_t in = mlp->sizes[l], out = mlp->sizes[l + 1];
    return SOMA_SFX(soma__mview)(buf + mlp->offset[l], in, out, out);
}

static MAT block_b(const soma_mlp *mlp, SOMA_T *buf, size_t l)
{
    const size_t in = mlp->sizes[l], out = mlp->sizes[l + 1];
    return SOMA_SFX(soma__mview)(buf + mlp->offset[l] + in * out, 1, out, out);
}

/* ---- forward, loss, backward on one chunk ----------------------------------- */

/* Forward pass; with rng (training with dropout) hidden outputs are masked
 * (the draws are doubles, so both precisions drop the same units). */
static void forward(const soma_mlp *mlp, soma__ws *w, const MAT *X, double keep,
                    soma_rng *rng)
{
    const size_t L = mlp->n_layers, m = X->rows;
    MAT in = *X;
    for (size_t l = 0; l < L; l++) {
        const size_t width = mlp->sizes[l + 1];
        const bool last = l + 1 == L;
        MAT Z = head(w->Z[l], m, width), A = head(w->A[l], m, width);
        const MAT W = block_W(mlp, params_of(mlp), l),
                  b = block_b(mlp, params_of(mlp), l);
        const soma_activation f = last ? mlp->spec.output : mlp->spec.hidden;
        const double alpha = last ? mlp->spec.output_alpha : mlp->spec.hidden_alpha;
        K(dense_forward)(&W, &b, f, (SOMA_T)alpha, &in, &Z, &A);
        in = A;
        if (rng != NULL && !last) {
            MAT Mk = head(w->M[l], m, width), D = head(w->D[l], m, width);
            const double inv_keep = 1.0 / keep;
            for (size_t i = 0; i < m * width; i++) {
                const SOMA_T s = (SOMA_T)(soma__rng_uniform(rng) < keep ? inv_keep : 0.0);
                Mk.data[i] = s;
                D.data[i] = s * A.data[i];
            }
            in = D;
        }
    }
}

/* Number of rows whose predicted class matches the target's. */
static size_t count_correct(const MAT *P, const MAT *Y)
{
    size_t correct = 0;
    const size_t k = P->cols;
    for (size_t i = 0; i < P->rows; i++) {
        const SOMA_T *p = SOMA__AT(P, i, 0), *y = SOMA__AT(Y, i, 0);
        if (k == 1) {
            correct += (p[0] > TC(0.5)) == (y[0] > TC(0.5));
            continue;
        }
        size_t bp = 0, by = 0;
        for (size_t j = 1; j < k; j++) {
            bp = p[j] > p[bp] ? j : bp;
            by = y[j] > y[by] ? j : by;
        }
        correct += bp == by;
    }
    return correct;
}

/* Sum over the chunk of the per-row loss; when dz is not NULL it receives
 * dZ of the output layer. */
static double output_loss(const soma_mlp *mlp, soma__ws *w, const MAT *Y, MAT *dz)
{
    const size_t L = mlp->n_layers, m = Y->rows, k = mlp->sizes[L];
    MAT Z = head(w->Z[L - 1], m, k), A = head(w->A[L - 1], m, k);
    if (soma__mlp_fused(mlp))
        return K(loss_logits_sum)(mlp->spec.loss, &Z, Y, NULL, dz);
    const double sum = K(loss_sum)(mlp->spec.loss, &A, Y, dz);
    if (dz != NULL)
        K(activation_backward_rows)
    (mlp->spec.output, (SOMA_T)mlp->spec.output_alpha, &Z, &A, dz, dz);
    return sum;
}

/* Row i of a chunk matrix, as a 1-row matrix. */
static MAT row_of(const MAT *M, size_t i)
{
    return SOMA_SFX(soma__mview)(SOMA__AT(M, i, 0), 1, M->cols, M->cols);
}

/* output_loss with row weights cw[0..m): sum_i cw[i] loss_i, and row i of
 * dz (when not NULL) scaled by cw[i]. Row by row: the kernels sum a
 * chunk's losses, and a weighted fit needs each row's. */
static double output_loss_weighted(const soma_mlp *mlp, soma__ws *w, const MAT *Y,
                                   MAT *dz, const double *cw)
{
    const size_t L = mlp->n_layers, m = Y->rows, k = mlp->sizes[L];
    const MAT Z = head(w->Z[L - 1], m, k), A = head(w->A[L - 1], m, k);
    double sum = 0.0;
    for (size_t i = 0; i < m; i++) {
        MAT Zi = row_of(&Z, i), Ai = row_of(&A, i), Yi = row_of(Y, i), di;
        MAT *d = NULL;
        if (dz != NULL) {
            di = row_of(dz, i);
            d = &di;
        }
        double l;
        if (soma__mlp_fused(mlp)) {
            l = K(loss_logits_sum)(mlp->spec.loss, &Zi, &Yi, NULL, d);
        } else {
            l = K(loss_sum)(mlp->spec.loss, &Ai, &Yi, d);
            if (d != NULL)
                K(activation_backward_rows)
            (mlp->spec.output, (SOMA_T)mlp->spec.output_alpha, &Zi, &Ai, d, d);
        }
        sum += cw[i] * l;
        if (d != NULL)
            K(scale)(k, (SOMA_T)cw[i], d->data);
    }
    return sum;
}

/* count_correct with row weights: sum_i cw[i] [row i correct]. */
static double weighted_correct(const MAT *P, const MAT *Y, const double *cw)
{
    double correct = 0.0;
    for (size_t i = 0; i < P->rows; i++) {
        const MAT Pi = row_of(P, i), Yi = row_of(Y, i);
        correct += cw[i] * (double)count_correct(&Pi, &Yi);
    }
    return correct;
}

/* The weights of rows [start, start + m) (idx[start + i], or start + i). */
static void chunk_weights(const double *wts, const size_t *idx, size_t start, size_t m,
                          double *cw)
{
    for (size_t i = 0; i < m; i++)
        cw[i] = wts[idx != NULL ? idx[start + i] : start + i];
}

/* Backward from dz[0] (the output dZ) into mlp->grads: grads = scale *
 * (this chunk's gradient) (+ grads when accumulate). */
static void backward(soma_mlp *mlp, soma__ws *w, const MAT *X, SOMA_T scale,
                     bool accumulate, bool dropout)
{
    const size_t m = X->rows;
    int cur = 0;
    for (size_t l = mlp->n_layers; l-- > 0;) {
        const size_t in_w = mlp->sizes[l], out_w = mlp->sizes[l + 1];
        MAT dZ = head(w->dz[cur], m, out_w);
        MAT in = l == 0 ? *X : head(dropout ? w->D[l - 1] : w->A[l - 1], m, in_w);
        const MAT W = block_W(mlp, params_of(mlp), l);
        MAT dW = block_W(mlp, grads_of(mlp), l), db = block_b(mlp, grads_of(mlp), l);
        if (l == 0) {
            K(dense_grads)(&W, &in, &dZ, scale, accumulate, &dW, &db, NULL);
            break;
        }
        MAT dX = head(w->dz[1 - cur], m, in_w);
        K(dense_grads)(&W, &in, &dZ, scale, accumulate, &dW, &db, &dX);
        if (dropout) {
            const SOMA_T *mk = (const SOMA_T *)w->M[l - 1];
            for (size_t i = 0; i < m * in_w; i++)
                dX.data[i] *= mk[i];
        }
        MAT Z = head(w->Z[l - 1], m, in_w), A = head(w->A[l - 1], m, in_w);
        K(activation_backward_rows)
        (mlp->spec.hidden, (SOMA_T)mlp->spec.hidden_alpha, &Z, &A, &dX, &dX);
        cur = 1 - cur;
    }
}

/* ---- data rows ---------------------------------------------------------------- */

/* Rows [start, start + m) of S viewed in place, when the precision reads
 * the caller's doubles directly; false when they must be gathered. */
static bool view_rows(const soma_matrix *S, size_t start, size_t m, MAT *out)
{
#if SOMA_K_DIRECT
    *out = soma__view(soma_matrix_at(S, start, 0), m, S->cols, S->ld);
    return true;
#else
    (void)S;
    (void)start;
    (void)m;
    (void)out;
    return false;
#endif
}

/* One block of the rows a chunk copies (and converts) into the workspace:
 * rows [begin, end) of xg (when gather_x) and of yg (gathered rows of Y
 * when gather_y, one-hot rows of integer labels when onehot > 0), row i
 * taken from X and Y's row idx[i] (or start + i when idx is NULL). */
typedef struct SOMA_SFX(gather) {
    soma__ws *w;
    const soma_matrix *X, *Y;
    const size_t *idx; /* the chunk's first index, or NULL */
    size_t start;      /* the chunk's first row, when idx is NULL */
    size_t onehot;
    bool gather_x, gather_y;
} SOMA_SFX(gather);

static void gather_block(const void *ctx, size_t begin, size_t end)
{
    const SOMA_SFX(gather) *g = ctx;
    const size_t nx = g->X->cols, ny = g->Y != NULL ? g->Y->cols : 0, k = g->onehot;
    for (size_t i = begin; i < end; i++) {
        const size_t row = g->idx != NULL ? g->idx[i] : g->start + i;
        if (g->gather_x)
            K(from_f64)(nx, soma_matrix_at(g->X, row, 0), (SOMA_T *)g->w->xg + i * nx);
        if (k > 0) {
            SOMA_T *y = (SOMA_T *)g->w->yg + i * k;
            memset(y, 0, k * sizeof(SOMA_T));
            y[(size_t)*soma_matrix_at(g->Y, row, 0)] = TC(1.0);
        } else if (g->gather_y) {
            K(from_f64)(ny, soma_matrix_at(g->Y, row, 0), (SOMA_T *)g->w->yg + i * ny);
        }
    }
}

/* The chunk's inputs Xc and targets Yc (Y may be NULL: inputs only): views
 * of (X, Y) where possible, else gathered (and converted) into the
 * workspace, on the shared pool when the rows are many. With onehot = k >
 * 0, Y holds integer labels and Yc receives their one-hot rows (k wide). */
static void chunk_rows(soma__ws *w, const soma_matrix *X, const soma_matrix *Y,
                       size_t onehot, const size_t *idx, size_t start, size_t m, MAT *Xc,
                       MAT *Yc)
{
    const bool gather_x = idx != NULL || !view_rows(X, start, m, Xc);
    const bool gather_y =
        Y != NULL && onehot == 0 && (idx != NULL || !view_rows(Y, start, m, Yc));
    if (gather_x || gather_y || onehot > 0) {
        const SOMA_SFX(gather) g = {.w = w,
                                    .X = X,
                                    .Y = Y,
                                    .idx = idx != NULL ? idx + start : NULL,
                                    .start = start,
                                    .onehot = onehot,
                                    .gather_x = gather_x,
                                    .gather_y = gather_y};
        const size_t y_cols = onehot > 0 ? onehot : gather_y ? Y->cols : 0;
        const size_t per_row = (gather_x ? X->cols : 0) + y_cols;
        soma__par_for(m, SOMA__GRAIN_COPY / per_row + 1, gather_block, &g);
    }
    if (gather_x)
        *Xc = head(w->xg, m, X->cols);
    if (onehot > 0)
        *Yc = head(w->yg, m, onehot);
    else if (gather_y)
        *Yc = head(w->yg, m, Y->cols);
}

static double batch_gradient(soma_mlp *mlp, soma__ws *w, const soma_matrix *X,
                             const soma_matrix *Y, size_t onehot, const double *wts,
                             const size_t *idx, size_t start, size_t m, double keep,
                             soma_rng *rng, bool grads_zero, soma__sums *s)
{
    /* The batch's total weight first: every chunk's gradient is scaled by
     * its inverse (a batch of zero weight gives a zero gradient). */
    double total = (double)m;
    if (wts != NULL) {
        total = 0.0;
        for (size_t i = 0; i < m; i++)
            total += wts[idx != NULL ? idx[start + i] : start + i];
    }
    const SOMA_T scale = (SOMA_T)(total > 0.0 ? 1.0 / total : 0.0);
    const size_t k = mlp->sizes[mlp->n_layers];
    double cw[SOMA_MLP_CHUNK];
    for (size_t c0 = 0; c0 < m; c0 += w->cap) {
        const size_t mc = m - c0 < w->cap ? m - c0 : w->cap;
        MAT Xc, Yc;
        chunk_rows(w, X, Y, onehot, idx, start + c0, mc, &Xc, &Yc);
        forward(mlp, w, &Xc, keep, rng);
        MAT dz = head(w->dz[0], mc, k);
        MAT P = head(w->A[mlp->n_layers - 1], mc, k);
        if (wts == NULL) {
            s->loss += output_loss(mlp, w, &Yc, &dz);
            s->correct += (double)count_correct(&P, &Yc);
            s->count += (double)mc;
        } else {
            chunk_weights(wts, idx, start + c0, mc, cw);
            s->loss += output_loss_weighted(mlp, w, &Yc, &dz, cw);
            s->correct += weighted_correct(&P, &Yc, cw);
            for (size_t i = 0; i < mc; i++)
                s->count += cw[i];
        }
        /* A zeroed buffer is added to (0 + x = x): the products need no
         * clearing pass of the BLAS's own. */
        backward(mlp, w, &Xc, scale, c0 > 0 || grads_zero, rng != NULL);
    }
    return total;
}

static void evaluate_rows(const soma_mlp *mlp, soma__ws *w, const soma_matrix *X,
                          const soma_matrix *Y, size_t onehot, const double *wts,
                          const size_t *idx, size_t n, soma__sums *s)
{
    const size_t k = mlp->sizes[mlp->n_layers];
    double cw[SOMA_MLP_CHUNK];
    for (size_t c0 = 0; c0 < n; c0 += w->cap) {
        const size_t mc = n - c0 < w->cap ? n - c0 : w->cap;
        MAT Xc, Yc;
        chunk_rows(w, X, Y, onehot, idx, c0, mc, &Xc, &Yc);
        forward(mlp, w, &Xc, 1.0, NULL);
        MAT P = head(w->A[mlp->n_layers - 1], mc, k);
        if (wts == NULL) {
            s->loss += output_loss(mlp, w, &Yc, NULL);
            s->correct += (double)count_correct(&P, &Yc);
            s->count += (double)mc;
        } else {
            chunk_weights(wts, idx, c0, mc, cw);
            s->loss += output_loss_weighted(mlp, w, &Yc, NULL, cw);
            s->correct += weighted_correct(&P, &Yc, cw);
            for (size_t i = 0; i < mc; i++)
                s->count += cw[i];
        }
    }
}

static void infer(const soma_mlp *mlp, soma__ws *w, const soma_matrix *X,
                  soma_matrix *out, soma__sink kind)
{
    const size_t n = X->rows, k = mlp->sizes[mlp->n_layers];
    for (size_t c0 = 0; c0 < n; c0 += w->cap) {
        const size_t mc = n - c0 < w->cap ? n - c0 : w->cap;
        MAT Xc;
        chunk_rows(w, X, NULL, 0, NULL, c0, mc, &Xc, NULL);
        forward(mlp, w, &Xc, 1.0, NULL);
        const MAT P = head(w->A[mlp->n_layers - 1], mc, k);
        for (size_t i = 0; i < mc; i++) {
            const SOMA_T *pr = SOMA__AT(&P, i, 0);
            double *o = soma_matrix_at(out, c0 + i, 0);
            if (kind == SOMA__SINK_PROBA) {
                K(to_f64)(k, pr, o);
            } else if (k == 1) {
                o[0] = pr[0] > TC(0.5) ? 1.0 : 0.0;
            } else {
                size_t best = 0;
                for (size_t j = 1; j < k; j++)
                    best = pr[j] > pr[best] ? j : best;
                o[0] = (double)best;
            }
        }
    }
}

/* ---- the flat gradient and the optimizer step ------------------------------ */

static void add_l2(soma_mlp *mlp, double l2)
{
    for (size_t l = 0; l < mlp->n_layers; l++) {
        const size_t n = mlp->sizes[l] * mlp->sizes[l + 1];
        K(axpy)
        (n, (SOMA_T)l2, params_of(mlp) + mlp->offset[l], grads_of(mlp) + mlp->offset[l]);
    }
}

static double sum_sq_weights(const soma_mlp *mlp)
{
    double s = 0.0;
    for (size_t l = 0; l < mlp->n_layers; l++) {
        const size_t n = mlp->sizes[l] * mlp->sizes[l + 1];
        const SOMA_T *W = params_of(mlp) + mlp->offset[l];
        for (size_t i = 0; i < n; i++)
            s += (double)W[i] * (double)W[i];
    }
    return s;
}

/* The factor that rescales the gradient the step applies, (g + l2 W) with
 * the decay on the weights only, to max_norm when its norm is larger; 1
 * otherwise. Layer by layer, weights then biases, each part summed in the
 * fixed lanes of soma__sum_squares; the gradient buffer is not written. */
static double clip_factor(const soma_mlp *mlp, double max_norm, double l2)
{
    double ss = 0.0;
    for (size_t l = 0; l < mlp->n_layers; l++) {
        const size_t nw = mlp->sizes[l] * mlp->sizes[l + 1], nb = mlp->sizes[l + 1];
        const SOMA_T *g = grads_of(mlp) + mlp->offset[l];
        const SOMA_T *p = params_of(mlp) + mlp->offset[l];
        ss += K(sum_squares_l2)(nw, g, p, l2);
        ss += K(sum_squares)(nb, g + nw);
    }
    const double norm = sqrt(ss);
    return norm > max_norm ? max_norm / norm : 1.0; /* NaN: 1; divergence is caught per epoch */
}

static bool params_finite(const soma_mlp *mlp)
{
    return K(all_finite)(mlp->n_params, params_of(mlp));
}

/* One update with the gradient (g + l2 W) f, weight decay on the weights
 * only: each layer's weights, then its biases, in the optimizer's pass;
 * with zero_grads, each block of g is zeroed once used. */
static void step(soma_mlp *mlp, double lr, double l2, double f, bool zero_grads)
{
    soma__mlp_opt *o = &mlp->opt;
    o->t++;
    for (size_t l = 0; l < mlp->n_layers; l++) {
        const size_t off = mlp->offset[l];
        const size_t nw = mlp->sizes[l] * mlp->sizes[l + 1], nb = mlp->sizes[l + 1];
        SOMA_T *v = o->v != NULL ? (SOMA_T *)o->v + off : NULL;
        SOMA_T *s = o->s != NULL ? (SOMA_T *)o->s + off : NULL;
        SOMA_T *g = grads_of(mlp) + off;
        K(optim_update)
        (&o->config, o->t, lr, nw, params_of(mlp) + off, g, v, s, l2, f,
         zero_grads ? g : NULL);
        K(optim_update)
        (&o->config, o->t, lr, nb, params_of(mlp) + off + nw, g + nw, v != NULL ? v + nw : NULL,
         s != NULL ? s + nw : NULL, 0.0, f, zero_grads ? g + nw : NULL);
    }
}

static void values_to_f64(size_t n, const void *x, double *y)
{
    K(to_f64)(n, (const SOMA_T *)x, y);
}

static void values_from_f64(size_t n, const double *x, void *y)
{
    K(from_f64)(n, x, (SOMA_T *)y);
}

const soma__mlp_ops SOMA_SFX(soma__mlp_ops) = {
    .batch_gradient = batch_gradient,
    .evaluate_rows = evaluate_rows,
    .infer = infer,
    .add_l2 = add_l2,
    .sum_sq_weights = sum_sq_weights,
    .clip_factor = clip_factor,
    .params_finite = params_finite,
    .step = step,
    .to_f64 = values_to_f64,
    .from_f64 = values_from_f64,
};

#undef TC
#undef MAT
#undef K
