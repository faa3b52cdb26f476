/* Model files: the container (magic, version, kind, length, CRC-32) and the
 * MLP payload. The byte layout is documented in docs/format.md. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "bytes.h"
#include "mlp_internal.h"
#include "perceptron_internal.h"

#define HEADER_SIZE 32
#define KIND_MLP 1u
#define KIND_PERCEPTRON 2u
static const unsigned char magic[8] = {'S', 'O', 'M', 'A', 'M', 'O', 'D', 'L'};

/* Fill the 32-byte header in front of a payload already in buf[32..total). */
static void seal(unsigned char *buf, size_t total, uint32_t kind)
{
    soma__writer w = {buf, HEADER_SIZE, 0};
    const size_t payload = total - HEADER_SIZE;
    soma__put(&w, magic, sizeof magic);
    soma__put_u32(&w, SOMA_MODEL_FORMAT_VERSION);
    soma__put_u32(&w, kind);
    soma__put_u64(&w, (uint64_t)payload);
    soma__put_u32(&w, soma__crc32(buf + HEADER_SIZE, payload));
    soma__put_u32(&w, 0);
}

/* Check the header of buf and position *payload on the payload. */
static soma_status open_container(const void *buf, size_t len, uint32_t kind,
                                  soma__reader *payload, soma_error_info *err)
{
    soma__reader r = {buf, len, 0};
    unsigned char m[8];
    uint32_t version, k, crc, reserved;
    uint64_t plen;
    if (!soma__get(&r, m, 8) || memcmp(m, magic, 8) != 0) {
        soma__error_set(err, 0, 0, 0, "not a soma model file (bad magic)");
        return SOMA_EFORMAT;
    }
    if (!soma__get_u32(&r, &version)) {
        soma__error_set(err, 0, 0, 8, "truncated header");
        return SOMA_EFORMAT;
    }
    if (version != SOMA_MODEL_FORMAT_VERSION) {
        char msg[96];
        snprintf(msg, sizeof msg, "format version %u; this library reads version %u",
                 (unsigned)version, (unsigned)SOMA_MODEL_FORMAT_VERSION);
        soma__error_set(err, 0, 0, 8, msg);
        return SOMA_EVERSION;
    }
    if (!soma__get_u32(&r, &k) || !soma__get_u64(&r, &plen) || !soma__get_u32(&r, &crc) ||
        !soma__get_u32(&r, &reserved)) {
        soma__error_set(err, 0, 0, r.pos, "truncated header");
        return SOMA_EFORMAT;
    }
    if (reserved != 0) {
        soma__error_set(err, 0, 0, 28, "reserved header field is not zero");
        return SOMA_EFORMAT;
    }
    if (k != kind) {
        soma__error_set(err, 0, 0, 12, "the file holds another kind of model");
        return SOMA_EFORMAT;
    }
    if (plen != soma__left(&r)) {
        soma__error_set(err, 0, 0, 16,
                        plen > soma__left(&r) ? "file is truncated"
                                              : "file has bytes after its payload");
        return SOMA_EFORMAT;
    }
    if (soma__crc32(r.buf + r.pos, soma__left(&r)) != crc) {
        soma__error_set(err, 0, 0, 24, "checksum mismatch: the file is corrupt");
        return SOMA_ECHECKSUM;
    }
    *payload = (soma__reader){r.buf + r.pos, soma__left(&r), 0};
    return SOMA_OK;
}

/* ---- MLP payload -------------------------------------------------------- */

static void put_doubles(soma__writer *w, const double *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        soma__put_f64(w, x[i]);
}

static void write_mlp(soma__writer *w, const soma_mlp *mlp, bool with_opt)
{
    const soma_mlp_spec *s = &mlp->spec;
    with_opt = with_opt && mlp->opt_ready;
    soma__put_u32(w, (uint32_t)mlp->n_layers);
    soma__put_u32(w, with_opt ? 1u : 0u);
    for (size_t i = 0; i <= mlp->n_layers; i++)
        soma__put_u64(w, mlp->sizes[i]);
    soma__put_u32(w, (uint32_t)s->hidden);
    soma__put_u32(w, (uint32_t)s->output);
    soma__put_u32(w, (uint32_t)s->loss);
    soma__put_u32(w, (uint32_t)s->init);
    soma__put_f64(w, s->hidden_alpha);
    soma__put_f64(w, s->output_alpha);
    soma__put_f64(w, s->init_scale);
    soma__put_u64(w, s->seed);
    soma__put_u64(w, mlp->epochs_done);
    soma__put_u64(w, mlp->n_params);
    put_doubles(w, mlp->params, mlp->n_params);
    if (!with_opt)
        return;
    const soma_optim *o = &mlp->opt;
    soma__put_u32(w, (uint32_t)o->config.kind);
    soma__put_u32(w, 0);
    soma__put_f64(w, o->config.momentum);
    soma__put_f64(w, o->config.beta1);
    soma__put_f64(w, o->config.beta2);
    soma__put_f64(w, o->config.epsilon);
    soma__put_u64(w, o->t);
    if (o->v != NULL)
        put_doubles(w, o->v, o->n);
    if (o->s != NULL)
        put_doubles(w, o->s, o->n);
}

soma_status soma_mlp_save_buffer(const soma_mlp *mlp, bool with_optimizer, void *buf,
                                 size_t capacity, size_t *size, soma_error_info *err)
{
    SOMA_REQUIRE_PTR(mlp, err, "mlp");
    SOMA_REQUIRE_PTR(size, err, "size");
    SOMA_REQUIRE(buf != NULL || capacity == 0, err, SOMA_EINVAL, "buf",
                 "buf is NULL with capacity %zu (pass capacity 0 to measure)", capacity);
    soma__writer count = {NULL, 0, HEADER_SIZE};
    write_mlp(&count, mlp, with_optimizer);
    *size = count.len;
    if (buf == NULL)
        return SOMA_OK;
    SOMA_REQUIRE(capacity >= count.len, err, SOMA_EDIM, "capacity",
                 "capacity is %zu bytes but the model needs %zu (returned in *size)",
                 capacity, count.len);
    soma__writer w = {buf, capacity, HEADER_SIZE};
    write_mlp(&w, mlp, with_optimizer);
    seal(buf, w.len, KIND_MLP);
    return SOMA_OK;
}

/* Serialize with save_buffer into a scratch buffer and write it atomically. */
typedef soma_status (*to_buffer_fn)(const void *model, void *buf, size_t cap,
                                    size_t *size);

static soma_status save_file(const void *model, to_buffer_fn fn, const char *path,
                             const soma_allocator *alloc, soma_error_info *err)
{
    size_t n;
    SOMA_TRY(fn(model, NULL, 0, &n));
    unsigned char *buf = soma__alloc(alloc, n);
    if (buf == NULL)
        return soma__fail_nomem(err, n, "the serialized model");
    soma_status st = fn(model, buf, n, &n);
    if (st == SOMA_OK)
        st = soma__write_atomic(path, buf, n, alloc, err);
    soma__free(alloc, buf, n);
    return st;
}

static soma_status mlp_to_buffer(const void *mlp, void *buf, size_t cap, size_t *size)
{
    return soma_mlp_save_buffer(mlp, false, buf, cap, size, NULL);
}

static soma_status mlp_opt_to_buffer(const void *mlp, void *buf, size_t cap, size_t *size)
{
    return soma_mlp_save_buffer(mlp, true, buf, cap, size, NULL);
}

soma_status soma_mlp_save(const soma_mlp *mlp, const char *path, bool with_optimizer,
                          soma_error_info *err)
{
    SOMA_REQUIRE_PTR(mlp, err, "mlp");
    SOMA_REQUIRE_PTR(path, err, "path");
    return save_file(mlp, with_optimizer ? mlp_opt_to_buffer : mlp_to_buffer, path,
                     &mlp->alloc, err);
}

/* Fail with SOMA_EFORMAT, pointing at the payload offset. */
static soma_status bad(soma_error_info *err, const soma__reader *r, const char *why)
{
    soma__error_set(err, 0, 0, HEADER_SIZE + r->pos, why);
    return SOMA_EFORMAT;
}

/* Read n doubles into x, rejecting NaN and infinity. */
static bool get_doubles(soma__reader *r, double *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!soma__get_f64(r, &x[i]) || !isfinite(x[i]))
            return false;
    return true;
}

/* The optimizer block: config, t, and the state arrays for n parameters. */
static soma_status read_optimizer(soma__reader *r, soma_mlp *m, soma_error_info *err)
{
    uint32_t kind, pad;
    soma_optim_config c;
    uint64_t t;
    if (!soma__get_u32(r, &kind) || !soma__get_u32(r, &pad) ||
        !soma__get_f64(r, &c.momentum) || !soma__get_f64(r, &c.beta1) ||
        !soma__get_f64(r, &c.beta2) || !soma__get_f64(r, &c.epsilon) ||
        !soma__get_u64(r, &t))
        return bad(err, r, "truncated optimizer state");
    if (kind >= SOMA_OPTIMIZER_COUNT)
        return bad(err, r, "unknown optimizer");
    c.kind = (soma_optimizer)kind;
    const size_t arrays = c.kind == SOMA_OPTIMIZER_ADAM  ? 2
                          : c.kind == SOMA_OPTIMIZER_SGD ? 0
                                                         : 1;
    if (arrays > 0 && soma__left(r) / 8 / arrays < m->n_params)
        return bad(err, r, "truncated optimizer state");
    soma_optim o;
    soma_status st = soma_optim_init(&o, &c, m->n_params, &m->alloc);
    if (st == SOMA_EINVAL)
        return bad(err, r, "optimizer parameters out of range");
    if (st != SOMA_OK)
        return st;
    o.t = t;
    if ((o.v != NULL && !get_doubles(r, o.v, o.n)) ||
        (o.s != NULL && !get_doubles(r, o.s, o.n))) {
        soma_optim_free(&o);
        return bad(err, r, "bad optimizer state values");
    }
    m->opt = o;
    m->opt_ready = true;
    return SOMA_OK;
}

static soma_status read_mlp(soma__reader *r, soma_mlp **out, const soma_allocator *alloc,
                            soma_error_info *err)
{
    uint32_t n_layers, flags, e[4];
    soma_mlp_spec spec;
    uint64_t epochs, n_params;
    if (!soma__get_u32(r, &n_layers) || !soma__get_u32(r, &flags))
        return bad(err, r, "truncated payload");
    if (n_layers == 0 || flags > 1)
        return bad(err, r, "bad layer count or flags");
    /* First pass over the sizes: validate them and count the parameters
     * they imply, so that nothing is allocated for a file whose counts the
     * bytes present cannot back. */
    const soma__reader at_sizes = *r;
    size_t implied = 0;
    for (size_t i = 0, prev = 0; i <= n_layers; i++) {
        uint64_t v;
        if (!soma__get_u64(r, &v))
            return bad(err, r, "truncated layer sizes");
        if (v == 0 || v > INT32_MAX)
            return bad(err, r, "bad layer size");
        size_t w;
        if (i > 0 && (!soma__mul(prev, (size_t)v, &w) || !soma__add(w, (size_t)v, &w) ||
                      !soma__add(implied, w, &implied)))
            return bad(err, r, "layer sizes overflow");
        prev = (size_t)v;
    }
    if (implied > soma__left(r) / 8)
        return bad(err, r, "truncated parameters");
    size_t sizes_bytes = ((size_t)n_layers + 1) * sizeof(size_t);
    soma_allocator a = soma__allocator_resolve(alloc);
    size_t *sizes = soma__alloc(&a, sizes_bytes);
    if (sizes == NULL)
        return SOMA_ENOMEM;
    soma_status st = SOMA_EFORMAT;
    soma_mlp *m = NULL;
    *r = at_sizes;
    for (size_t i = 0; i <= n_layers; i++) {
        uint64_t v = 0;
        (void)soma__get_u64(r, &v); /* present: checked in the first pass */
        sizes[i] = (size_t)v;
    }
    if (!soma__get_u32(r, &e[0]) || !soma__get_u32(r, &e[1]) ||
        !soma__get_u32(r, &e[2]) || !soma__get_u32(r, &e[3]) ||
        !soma__get_f64(r, &spec.hidden_alpha) || !soma__get_f64(r, &spec.output_alpha) ||
        !soma__get_f64(r, &spec.init_scale) || !soma__get_u64(r, &spec.seed) ||
        !soma__get_u64(r, &epochs) || !soma__get_u64(r, &n_params)) {
        st = bad(err, r, "truncated model description");
        goto fail;
    }
    if (e[0] >= SOMA_ACTIVATION_COUNT || e[1] >= SOMA_ACTIVATION_COUNT ||
        e[2] >= SOMA_LOSS_COUNT || e[3] >= SOMA_INIT_COUNT) {
        st = bad(err, r, "unknown activation, loss or initialiser");
        goto fail;
    }
    spec.hidden = (soma_activation)e[0];
    spec.output = (soma_activation)e[1];
    spec.loss = (soma_loss)e[2];
    spec.init = (soma_init)e[3];
    if (n_params != implied) {
        st = bad(err, r, "parameter count does not match the layer sizes");
        goto fail;
    }
    if (n_params > soma__left(r) / 8) {
        st = bad(err, r, "truncated parameters");
        goto fail;
    }
    soma_mlp_spec cheap = spec;
    cheap.init = SOMA_INIT_XAVIER_UNIFORM; /* overwritten below; skip any QR */
    st = soma_mlp_create(&m, sizes, (size_t)n_layers + 1, &cheap, alloc, NULL);
    if (st == SOMA_EINVAL || st == SOMA_EOVERFLOW) {
        st = bad(err, r, "model description out of range");
        goto fail;
    }
    if (st != SOMA_OK)
        goto fail;
    if (!get_doubles(r, m->params, m->n_params)) {
        st = bad(err, r, "non-finite parameter");
        goto fail;
    }
    m->spec.init = spec.init;
    m->epochs_done = (size_t)epochs;
    if (flags & 1) {
        st = read_optimizer(r, m, err);
        if (st != SOMA_OK)
            goto fail;
    }
    if (soma__left(r) != 0) {
        st = bad(err, r, "unexpected bytes after the model");
        goto fail;
    }
    soma__free(&a, sizes, sizes_bytes);
    *out = m;
    return SOMA_OK;
fail:
    soma_mlp_destroy(m);
    soma__free(&a, sizes, sizes_bytes);
    return st;
}

soma_status soma_mlp_load_buffer(soma_mlp **out, const void *buf, size_t size,
                                 const soma_allocator *alloc, soma_error_info *err)
{
    if (out == NULL || (buf == NULL && size > 0) || !soma__allocator_valid(alloc))
        return SOMA_EINVAL;
    soma__reader payload;
    SOMA_TRY(open_container(buf, size, KIND_MLP, &payload, err));
    return read_mlp(&payload, out, alloc, err);
}

/* Read a file and hand its bytes to a load_buffer function. */
typedef soma_status (*from_buffer_fn)(void **out, const void *buf, size_t size,
                                      const soma_allocator *alloc, soma_error_info *err);

static soma_status load_file(void **out, from_buffer_fn fn, const char *path,
                             const soma_allocator *alloc, soma_error_info *err)
{
    if (out == NULL || path == NULL || !soma__allocator_valid(alloc))
        return SOMA_EINVAL;
    soma_allocator a = soma__allocator_resolve(alloc);
    void *data = NULL;
    size_t n = 0;
    soma_status st = soma__read_file(path, &a, &data, &n);
    if (st != SOMA_OK) {
        soma__error_set(err, 0, 0, 0, "cannot read the file");
        return st;
    }
    st = fn(out, data, n, alloc, err);
    soma__free(&a, data, n);
    return st;
}

static soma_status mlp_from_buffer(void **out, const void *buf, size_t size,
                                   const soma_allocator *alloc, soma_error_info *err)
{
    return soma_mlp_load_buffer((soma_mlp **)out, buf, size, alloc, err);
}

soma_status soma_mlp_load(soma_mlp **out, const char *path, const soma_allocator *alloc,
                          soma_error_info *err)
{
    return load_file((void **)out, mlp_from_buffer, path, alloc, err);
}

/* ---- perceptron payload ----------------------------------------------------
 * f64 learning_rate, u64 max_epochs, f64 init_sd, u32 flags (bit 0 shuffle,
 * bit 1 average), u32 converged (0/1), u64 converged_epoch, u64 d, f64 w[d],
 * f64 b. */

static void write_perceptron(soma__writer *w, const soma_perceptron *p)
{
    soma__put_f64(w, p->opt.learning_rate);
    soma__put_u64(w, p->opt.max_epochs);
    soma__put_f64(w, p->opt.init_sd);
    soma__put_u32(w, (p->opt.shuffle ? 1u : 0u) | (p->opt.average ? 2u : 0u));
    soma__put_u32(w, p->converged ? 1u : 0u);
    soma__put_u64(w, p->converged_epoch);
    soma__put_u64(w, p->d);
    put_doubles(w, p->w, p->d);
    soma__put_f64(w, p->b);
}

soma_status soma_perceptron_save_buffer(const soma_perceptron *p, void *buf,
                                        size_t capacity, size_t *size,
                                        soma_error_info *err)
{
    SOMA_REQUIRE_PTR(p, err, "p");
    SOMA_REQUIRE_PTR(size, err, "size");
    SOMA_REQUIRE(buf != NULL || capacity == 0, err, SOMA_EINVAL, "buf",
                 "buf is NULL with capacity %zu (pass capacity 0 to measure)", capacity);
    SOMA_REQUIRE(p->fitted, err, SOMA_ESTATE, "p",
                 "the perceptron has not been fitted: there is nothing to save");
    soma__writer count = {NULL, 0, HEADER_SIZE};
    write_perceptron(&count, p);
    *size = count.len;
    if (buf == NULL)
        return SOMA_OK;
    SOMA_REQUIRE(capacity >= count.len, err, SOMA_EDIM, "capacity",
                 "capacity is %zu bytes but the perceptron needs %zu (returned in *size)",
                 capacity, count.len);
    soma__writer w = {buf, capacity, HEADER_SIZE};
    write_perceptron(&w, p);
    seal(buf, w.len, KIND_PERCEPTRON);
    return SOMA_OK;
}

static soma_status perceptron_to_buffer(const void *p, void *buf, size_t cap,
                                        size_t *size)
{
    return soma_perceptron_save_buffer(p, buf, cap, size, NULL);
}

soma_status soma_perceptron_save(const soma_perceptron *p, const char *path,
                                 soma_error_info *err)
{
    SOMA_REQUIRE_PTR(p, err, "p");
    SOMA_REQUIRE_PTR(path, err, "path");
    SOMA_REQUIRE(p->fitted, err, SOMA_ESTATE, "p",
                 "the perceptron has not been fitted: there is nothing to save");
    return save_file(p, perceptron_to_buffer, path, &p->alloc, err);
}

static soma_status read_perceptron(soma__reader *r, soma_perceptron **out,
                                   const soma_allocator *alloc, soma_error_info *err)
{
    soma_perceptron_options o;
    uint32_t flags, converged;
    uint64_t max_epochs, conv_epoch, d;
    if (!soma__get_f64(r, &o.learning_rate) || !soma__get_u64(r, &max_epochs) ||
        !soma__get_f64(r, &o.init_sd) || !soma__get_u32(r, &flags) ||
        !soma__get_u32(r, &converged) || !soma__get_u64(r, &conv_epoch) ||
        !soma__get_u64(r, &d))
        return bad(err, r, "truncated perceptron");
    if (flags > 3 || converged > 1 || d == 0 || max_epochs == 0 || max_epochs > SIZE_MAX)
        return bad(err, r, "perceptron description out of range");
    /* The weights and the bias must be present before anything is allocated. */
    if (d > soma__left(r) / 8 || soma__left(r) / 8 - d < 1)
        return bad(err, r, "truncated weights");
    o.max_epochs = (size_t)max_epochs;
    o.shuffle = flags & 1;
    o.average = (flags & 2) != 0;
    soma_perceptron *p = NULL;
    soma_status st = soma_perceptron_create(&p, &o, alloc, NULL);
    if (st == SOMA_EINVAL)
        return bad(err, r, "perceptron options out of range");
    if (st != SOMA_OK)
        return st;
    p->w = soma__alloc(&p->alloc, (size_t)d * sizeof(double));
    if (p->w == NULL) {
        soma_perceptron_destroy(p);
        return SOMA_ENOMEM;
    }
    p->d = (size_t)d;
    if (!get_doubles(r, p->w, p->d) || !get_doubles(r, &p->b, 1)) {
        soma_perceptron_destroy(p);
        return bad(err, r, "non-finite weight");
    }
    if (soma__left(r) != 0) {
        soma_perceptron_destroy(p);
        return bad(err, r, "unexpected bytes after the perceptron");
    }
    p->fitted = true;
    p->converged = converged == 1;
    p->converged_epoch = (size_t)conv_epoch;
    *out = p;
    return SOMA_OK;
}

soma_status soma_perceptron_load_buffer(soma_perceptron **out, const void *buf,
                                        size_t size, const soma_allocator *alloc,
                                        soma_error_info *err)
{
    if (out == NULL || (buf == NULL && size > 0) || !soma__allocator_valid(alloc))
        return SOMA_EINVAL;
    soma__reader payload;
    SOMA_TRY(open_container(buf, size, KIND_PERCEPTRON, &payload, err));
    return read_perceptron(&payload, out, alloc, err);
}

static soma_status perceptron_from_buffer(void **out, const void *buf, size_t size,
                                          const soma_allocator *alloc,
                                          soma_error_info *err)
{
    return soma_perceptron_load_buffer((soma_perceptron **)out, buf, size, alloc, err);
}

soma_status soma_perceptron_load(soma_perceptron **out, const char *path,
                                 const soma_allocator *alloc, soma_error_info *err)
{
    return load_file((void **)out, perceptron_from_buffer, path, alloc, err);
}
