/* Model files: the container (magic, version, kind, length, CRC-32) and the
 * MLP payload. The byte layout is documented in docs/format.md. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "bytes.h"
#include "mlp_internal.h"
#include "perceptron_internal.h"

#define HEADER_SIZE 32
#define KIND_MLP 1u
#define KIND_PERCEPTRON 2u
#define KIND_SCALER 3u
/* Section tags of a version-2 MLP payload (docs/format.md). */
#define TAG_PREPROCESSING 1u
#define TAG_CLASS_NAMES 2u
#define TAG_METADATA 3u
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

/* Check the header of buf and position *payload on the payload; *version
 * receives the format version (1 or 2). */
static soma_status open_container(const void *buf, size_t len, uint32_t kind,
                                  soma__reader *payload, uint32_t *version_out,
                                  soma_error_info *err)
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
    if (version < SOMA_MODEL_FORMAT_VERSION_MIN || version > SOMA_MODEL_FORMAT_VERSION) {
        char msg[96];
        snprintf(msg, sizeof msg,
                 "format version %u; this library reads versions 1 to %u",
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
        static const char *const kinds[] = {
            "something unknown", "a multi-layer perceptron", "a perceptron", "a scaler"};
        char msg[128];
        snprintf(msg, sizeof msg, "the file holds %s, not %s",
                 kinds[k <= KIND_SCALER ? k : 0], kinds[kind]);
        soma__error_set(err, 0, 0, 12, msg);
        return SOMA_EFORMAT;
    }
    if (version == 1 && kind == KIND_SCALER) {
        soma__error_set(err, 0, 0, 8, "scaler files exist from format version 2 on");
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
    *version_out = version;
    return SOMA_OK;
}

/* ---- MLP payload -------------------------------------------------------- */

static void put_doubles(soma__writer *w, const double *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        soma__put_f64(w, x[i]);
}

/* The scaler body: d, samples seen, means, scales (also kind 3's payload). */
static void write_scaler(soma__writer *w, const soma_scaler *s)
{
    const size_t d = s->mean.cols;
    soma__put_u64(w, d);
    soma__put_u64(w, s->n_samples_seen);
    for (size_t j = 0; j < d; j++)
        soma__put_f64(w, *soma_matrix_at(&s->mean, 0, j));
    for (size_t j = 0; j < d; j++)
        soma__put_f64(w, *soma_matrix_at(&s->scale, 0, j));
}

static void scaler_payload(soma__writer *w, const void *s, bool unused)
{
    (void)unused;
    write_scaler(w, s);
}

/* A section header; the body follows (its length measured beforehand). */
static void put_section(soma__writer *w, uint32_t tag, size_t len)
{
    soma__put_u32(w, tag);
    soma__put_u32(w, 0);
    soma__put_u64(w, len);
}

static void write_sections(soma__writer *w, const soma_mlp *mlp)
{
    if (mlp->pre != NULL) {
        soma__writer count = {NULL, 0, 0};
        write_scaler(&count, mlp->pre);
        put_section(w, TAG_PREPROCESSING, count.len);
        write_scaler(w, mlp->pre);
    }
    if (mlp->n_class_names > 0) {
        size_t len = 8;
        for (size_t i = 0; i < mlp->n_class_names; i++)
            len += 4 + strlen(mlp->class_names[i]);
        put_section(w, TAG_CLASS_NAMES, len);
        soma__put_u64(w, mlp->n_class_names);
        for (size_t i = 0; i < mlp->n_class_names; i++) {
            const size_t m = strlen(mlp->class_names[i]);
            soma__put_u32(w, (uint32_t)m);
            soma__put(w, mlp->class_names[i], m);
        }
    }
    if (mlp->metadata != NULL) {
        const size_t m = strlen(mlp->metadata);
        put_section(w, TAG_METADATA, m);
        soma__put(w, mlp->metadata, m);
    }
}

/* n values of a model buffer in the model's precision: binary64 or
 * binary32 (the floats as they are: bit-exact). */
static void put_values(soma__writer *w, const soma_mlp *mlp, const void *x, size_t n)
{
    if (mlp->spec.precision == SOMA_PRECISION_F32) {
        const float *f = x;
        for (size_t i = 0; i < n; i++)
            soma__put_f32(w, f[i]);
    } else {
        put_doubles(w, x, n);
    }
}

static void write_mlp(soma__writer *w, const soma_mlp *mlp, bool with_opt)
{
    const soma_mlp_spec *s = &mlp->spec;
    with_opt = with_opt && mlp->opt_ready;
    soma__put_u32(w, (uint32_t)mlp->n_layers);
    soma__put_u32(w, with_opt ? 1u : 0u);
    soma__put_u32(w, (uint32_t)s->precision);
    soma__put_u32(w, 0);
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
    put_values(w, mlp, mlp->params, mlp->n_params);
    if (!with_opt)
        return;
    const soma__mlp_opt *o = &mlp->opt;
    soma__put_u32(w, (uint32_t)o->config.kind);
    soma__put_u32(w, 0);
    soma__put_f64(w, o->config.momentum);
    soma__put_f64(w, o->config.beta1);
    soma__put_f64(w, o->config.beta2);
    soma__put_f64(w, o->config.epsilon);
    soma__put_u64(w, o->t);
    if (o->v != NULL)
        put_values(w, mlp, o->v, mlp->n_params);
    if (o->s != NULL)
        put_values(w, mlp, o->s, mlp->n_params);
}

/* The whole kind-1 payload: the model, its optimizer state, its sections. */
static void write_mlp_payload(soma__writer *w, const soma_mlp *mlp, bool with_opt)
{
    write_mlp(w, mlp, with_opt);
    write_sections(w, mlp);
}

/* What a save_buffer function serializes: the payload writer and its
 * object. */
typedef struct payload {
    void (*write)(soma__writer *w, const void *obj, bool flag);
    const void *obj;
    bool flag; /* the MLP's with_optimizer */
    uint32_t kind;
    const char *what; /* "the model", ... for the messages */
} payload;

/* The common part of every save_buffer: measure, then write and seal when
 * buf can hold it (the object's own checks come first, in the caller). */
static soma_status to_buffer(const payload *p, void *buf, size_t capacity, size_t *size,
                             soma_error_info *err)
{
    SOMA_REQUIRE_PTR(size, err, "size");
    SOMA_REQUIRE(buf != NULL || capacity == 0, err, SOMA_EINVAL, "buf",
                 "buf is NULL with capacity %zu (pass capacity 0 to measure)", capacity);
    soma__writer count = {NULL, 0, HEADER_SIZE};
    p->write(&count, p->obj, p->flag);
    *size = count.len;
    if (buf == NULL)
        return SOMA_OK;
    SOMA_REQUIRE(capacity >= count.len, err, SOMA_EDIM, "capacity",
                 "capacity is %zu bytes but %s needs %zu (returned in *size)", capacity,
                 p->what, count.len);
    soma__writer w = {buf, capacity, HEADER_SIZE};
    p->write(&w, p->obj, p->flag);
    seal(buf, w.len, p->kind);
    return SOMA_OK;
}

static void mlp_payload(soma__writer *w, const void *mlp, bool with_opt)
{
    write_mlp_payload(w, mlp, with_opt);
}

soma_status soma_mlp_save_buffer(const soma_mlp *mlp, bool with_optimizer, void *buf,
                                 size_t capacity, size_t *size, soma_error_info *err)
{
    SOMA_REQUIRE_PTR(mlp, err, "mlp");
    const payload p = {mlp_payload, mlp, with_optimizer, KIND_MLP, "the model"};
    return to_buffer(&p, buf, capacity, size, err);
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

/* Read n values of the model's precision into a model buffer, rejecting
 * NaN and infinity. */
static bool get_values(soma__reader *r, const soma_mlp *m, void *x, size_t n)
{
    if (m->spec.precision != SOMA_PRECISION_F32)
        return get_doubles(r, x, n);
    float *f = x;
    for (size_t i = 0; i < n; i++)
        if (!soma__get_f32(r, &f[i]) || !isfinite(f[i]))
            return false;
    return true;
}

/* The optimizer block: config, t, and the state arrays for n parameters. */
static soma_status read_optimizer(soma__reader *r, soma_mlp *m, soma_error_info *err)
{
    const size_t e = m->elem;
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
    const size_t arrays = soma__optim_arrays(c.kind);
    if (arrays > 0 && soma__left(r) / e / arrays < m->n_params)
        return bad(err, r, "truncated optimizer state");
    if (!soma__optim_config_valid(&c))
        return bad(err, r, "optimizer parameters out of range");
    soma__mlp_opt o;
    SOMA_TRY(soma__mlp_opt_init(m, &c, &o));
    o.t = t;
    if ((o.v != NULL && !get_values(r, m, o.v, m->n_params)) ||
        (o.s != NULL && !get_values(r, m, o.s, m->n_params))) {
        soma__mlp_opt_free(m, &o);
        return bad(err, r, "bad optimizer state values");
    }
    m->opt = o;
    m->opt_ready = true;
    return SOMA_OK;
}

/* The scaler body at r into a new scaler from alloc: d features expected
 * (0 = any). */
static soma_status read_scaler(soma__reader *r, soma_scaler *out, size_t d_expected,
                               const soma_allocator *alloc, soma_error_info *err)
{
    uint64_t d, seen;
    if (!soma__get_u64(r, &d) || !soma__get_u64(r, &seen))
        return bad(err, r, "truncated scaler");
    if (d == 0 || (d_expected != 0 && d != d_expected))
        return bad(err, r, "scaler width does not match the model's input");
    if (d > soma__left(r) / 16)
        return bad(err, r, "truncated scaler values");
    soma_scaler s = {0};
    soma_status st = soma_matrix_init(&s.mean, 1, (size_t)d, alloc);
    if (st == SOMA_OK)
        st = soma_matrix_init(&s.scale, 1, (size_t)d, alloc);
    if (st != SOMA_OK) {
        soma_scaler_free(&s);
        return soma__fail_nomem(err, (size_t)d * 16, "the scaler");
    }
    bool ok =
        get_doubles(r, s.mean.data, (size_t)d) && get_doubles(r, s.scale.data, (size_t)d);
    for (size_t j = 0; ok && j < d; j++)
        ok = s.scale.data[j] > 0.0;
    if (!ok) {
        soma_scaler_free(&s);
        return bad(err, r, "scaler values not finite or scale not > 0");
    }
    s.n_samples_seen = (size_t)seen;
    *out = s;
    return SOMA_OK;
}

static soma_status read_class_names(soma__reader *r, soma_mlp *m, size_t end,
                                    soma_error_info *err)
{
    uint64_t k;
    if (!soma__get_u64(r, &k))
        return bad(err, r, "truncated class names");
    if (k == 0)
        return bad(err, r, "class names on a model without classes");
    if (k != soma__mlp_n_classes(m))
        return bad(err, r, "class name count differs from the model's classes");
    /* Each name takes at least 5 bytes: check before allocating. */
    if (k > (end - r->pos) / 5)
        return bad(err, r, "truncated class names");
    char **names = soma__calloc(&m->alloc, (size_t)k * sizeof(char *));
    if (names == NULL)
        return soma__fail_nomem(err, (size_t)k * sizeof(char *), "the class names");
    soma_status st = SOMA_OK;
    for (size_t i = 0; i < k && st == SOMA_OK; i++) {
        uint32_t len;
        if (!soma__get_u32(r, &len) || len == 0 || len > SOMA_CLASS_NAME_MAX ||
            len > end - r->pos) {
            st = bad(err, r, "bad class name length");
            break;
        }
        const char *p = (const char *)r->buf + r->pos;
        if (memchr(p, '\0', len) != NULL) {
            st = bad(err, r, "class name holds a NUL byte");
            break;
        }
        names[i] = soma__alloc(&m->alloc, (size_t)len + 1);
        if (names[i] == NULL) {
            st = soma__fail_nomem(err, (size_t)len + 1, "a class name");
            break;
        }
        memcpy(names[i], p, len);
        names[i][len] = '\0';
        r->pos += len;
    }
    m->class_names = names; /* freed with the model on error too */
    m->n_class_names = (size_t)k;
    return st;
}

/* Version-2 sections after the optimizer state, until the payload ends. */
static soma_status read_sections(soma__reader *r, soma_mlp *m, soma_error_info *err)
{
    uint32_t last = 0;
    while (soma__left(r) > 0) {
        uint32_t tag, reserved;
        uint64_t len;
        if (!soma__get_u32(r, &tag) || !soma__get_u32(r, &reserved) ||
            !soma__get_u64(r, &len))
            return bad(err, r, "truncated section header");
        if (reserved != 0 || tag <= last || tag > TAG_METADATA)
            return bad(err, r, "unknown, repeated or misordered section");
        if (len > soma__left(r))
            return bad(err, r, "section longer than the file");
        last = tag;
        const size_t end = r->pos + (size_t)len;
        soma__reader body = {r->buf, end, r->pos};
        soma_status st = SOMA_OK;
        if (tag == TAG_PREPROCESSING) {
            soma_scaler *s = soma__calloc(&m->alloc, sizeof *s);
            if (s == NULL)
                return soma__fail_nomem(err, sizeof *s, "the preprocessing");
            st = read_scaler(&body, s, m->sizes[0], &m->alloc, err);
            if (st != SOMA_OK) {
                soma__free(&m->alloc, s, sizeof *s);
                return st;
            }
            m->pre = s;
        } else if (tag == TAG_CLASS_NAMES) {
            st = read_class_names(&body, m, end, err);
        } else {
            const char *p = (const char *)r->buf + r->pos;
            if (len == 0 || len > SOMA_METADATA_MAX ||
                memchr(p, '\0', (size_t)len) != NULL)
                return bad(err, r, "bad metadata text");
            m->metadata = soma__alloc(&m->alloc, (size_t)len + 1);
            if (m->metadata == NULL)
                return soma__fail_nomem(err, (size_t)len + 1, "the metadata");
            memcpy(m->metadata, p, (size_t)len);
            m->metadata[len] = '\0';
            body.pos = end;
        }
        if (st != SOMA_OK)
            return st;
        if (body.pos != end)
            return bad(err, &body, "section has bytes after its content");
        r->pos = end;
    }
    return SOMA_OK;
}

static soma_status read_mlp(soma__reader *r, uint32_t version, soma_mlp **out,
                            const soma_allocator *alloc, soma_error_info *err)
{
    uint32_t n_layers, flags, e[4], precision = SOMA_PRECISION_F64;
    soma_mlp_spec spec = soma_mlp_spec_default();
    uint64_t epochs, n_params;
    if (!soma__get_u32(r, &n_layers) || !soma__get_u32(r, &flags))
        return bad(err, r, "truncated payload");
    if (n_layers == 0 || flags > 1)
        return bad(err, r, "bad layer count or flags");
    /* Version 1 has no precision field: its values are binary64. */
    if (version >= 2) {
        uint32_t reserved;
        if (!soma__get_u32(r, &precision) || !soma__get_u32(r, &reserved))
            return bad(err, r, "truncated payload");
        if (reserved != 0)
            return bad(err, r, "reserved field is not zero");
        if (precision >= SOMA_PRECISION_COUNT)
            return bad(err, r, "unknown precision");
    }
    spec.precision = (soma_precision)precision;
    /* Bytes per stored value. */
    const size_t vb = precision == SOMA_PRECISION_F32 ? sizeof(float) : sizeof(double);
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
    if (implied > soma__left(r) / vb)
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
    if (n_params > soma__left(r) / vb) {
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
    if (!get_values(r, m, m->params, m->n_params)) {
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
    if (version >= 2) {
        st = read_sections(r, m, err);
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

/* The arguments every load_buffer function shares. */
static soma_status check_load_args(const void *out, const void *buf, size_t size,
                                   const soma_allocator *alloc, soma_error_info *err)
{
    SOMA_REQUIRE_PTR(out, err, "out");
    SOMA_REQUIRE(buf != NULL || size == 0, err, SOMA_EINVAL, "buf",
                 "buf is NULL with size %zu", size);
    SOMA_REQUIRE(soma__allocator_valid(alloc), err, SOMA_EINVAL, "alloc",
                 "alloc must set both its allocate and free functions (or be NULL)");
    return SOMA_OK;
}

soma_status soma_mlp_load_buffer(soma_mlp **out, const void *buf, size_t size,
                                 const soma_allocator *alloc, soma_error_info *err)
{
    SOMA_TRY(check_load_args(out, buf, size, alloc, err));
    soma__reader payload;
    uint32_t version;
    SOMA_TRY(open_container(buf, size, KIND_MLP, &payload, &version, err));
    return read_mlp(&payload, version, out, alloc, err);
}

/* Read a file and hand its bytes to a load_buffer function. */
typedef soma_status (*from_buffer_fn)(void *out, const void *buf, size_t size,
                                      const soma_allocator *alloc, soma_error_info *err);

static soma_status load_file(void *out, from_buffer_fn fn, const char *path,
                             const soma_allocator *alloc, soma_error_info *err)
{
    SOMA_REQUIRE_PTR(out, err, "out");
    SOMA_REQUIRE_PTR(path, err, "path");
    SOMA_REQUIRE(soma__allocator_valid(alloc), err, SOMA_EINVAL, "alloc",
                 "alloc must set both its allocate and free functions (or be NULL)");
    soma_allocator a = soma__allocator_resolve(alloc);
    void *data = NULL;
    size_t n = 0;
    errno = 0;
    soma_status st = soma__read_file(path, &a, &data, &n);
    if (st != SOMA_OK) {
        const int e = errno;
        return soma__fail(err, st, "path", "cannot read path '%.120s': %s", path,
                          st == SOMA_ENOMEM ? "out of memory"
                          : e != 0          ? strerror(e)
                                            : "not a regular file, or short read");
    }
    st = fn(out, data, n, alloc, err);
    soma__free(&a, data, n);
    return st;
}

static soma_status mlp_from_buffer(void *out, const void *buf, size_t size,
                                   const soma_allocator *alloc, soma_error_info *err)
{
    return soma_mlp_load_buffer(out, buf, size, alloc, err);
}

soma_status soma_mlp_load(soma_mlp **out, const char *path, const soma_allocator *alloc,
                          soma_error_info *err)
{
    return load_file(out, mlp_from_buffer, path, alloc, err);
}

/* ---- perceptron payload ----------------------------------------------------
 * f64 learning_rate, u64 max_epochs, f64 init_sd, u32 flags (bit 0 shuffle,
 * bit 1 average), u32 converged (0/1), u64 converged_epoch, u64 d, f64 w[d],
 * f64 b. */

static void write_perceptron(soma__writer *w, const soma_perceptron *p);

static void perceptron_payload(soma__writer *w, const void *p, bool unused)
{
    (void)unused;
    write_perceptron(w, p);
}

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
    const payload pl = {perceptron_payload, p, false, KIND_PERCEPTRON, "the perceptron"};
    return to_buffer(&pl, buf, capacity, size, err);
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
    SOMA_TRY(check_load_args(out, buf, size, alloc, err));
    soma__reader payload;
    uint32_t version;
    SOMA_TRY(open_container(buf, size, KIND_PERCEPTRON, &payload, &version, err));
    return read_perceptron(&payload, out, alloc, err);
}

static soma_status perceptron_from_buffer(void *out, const void *buf, size_t size,
                                          const soma_allocator *alloc,
                                          soma_error_info *err)
{
    return soma_perceptron_load_buffer(out, buf, size, alloc, err);
}

soma_status soma_perceptron_load(soma_perceptron **out, const char *path,
                                 const soma_allocator *alloc, soma_error_info *err)
{
    return load_file(out, perceptron_from_buffer, path, alloc, err);
}

/* ---- scaler files (kind 3) --------------------------------------------------- */

soma_status soma_scaler_save_buffer(const soma_scaler *s, void *buf, size_t capacity,
                                    size_t *size, soma_error_info *err)
{
    SOMA_REQUIRE_PTR(s, err, "s");
    SOMA_REQUIRE_PTR(size, err, "size");
    SOMA_REQUIRE(buf != NULL || capacity == 0, err, SOMA_EINVAL, "buf",
                 "buf is NULL with capacity %zu (pass capacity 0 to measure)", capacity);
    SOMA_TRY(soma__scaler_check(s, s->mean.cols, err));
    const payload p = {scaler_payload, s, false, KIND_SCALER, "the scaler"};
    return to_buffer(&p, buf, capacity, size, err);
}

static soma_status scaler_to_buffer(const void *s, void *buf, size_t cap, size_t *size)
{
    return soma_scaler_save_buffer(s, buf, cap, size, NULL);
}

soma_status soma_scaler_save(const soma_scaler *s, const char *path, soma_error_info *err)
{
    SOMA_REQUIRE_PTR(s, err, "s");
    SOMA_REQUIRE_PTR(path, err, "path");
    SOMA_TRY(soma__scaler_check(s, s->mean.cols, err));
    return save_file(s, scaler_to_buffer, path, NULL, err);
}

soma_status soma_scaler_load_buffer(soma_scaler *s, const void *buf, size_t size,
                                    const soma_allocator *alloc, soma_error_info *err)
{
    SOMA_TRY(check_load_args(s, buf, size, alloc, err));
    soma__reader payload;
    uint32_t version;
    SOMA_TRY(open_container(buf, size, KIND_SCALER, &payload, &version, err));
    soma_scaler tmp;
    SOMA_TRY(read_scaler(&payload, &tmp, 0, alloc, err));
    if (soma__left(&payload) != 0) {
        soma_scaler_free(&tmp);
        return bad(err, &payload, "unexpected bytes after the scaler");
    }
    *s = tmp;
    return SOMA_OK;
}

static soma_status scaler_from_buffer(void *out, const void *buf, size_t size,
                                      const soma_allocator *alloc, soma_error_info *err)
{
    return soma_scaler_load_buffer(out, buf, size, alloc, err);
}

soma_status soma_scaler_load(soma_scaler *s, const char *path,
                             const soma_allocator *alloc, soma_error_info *err)
{
    return load_file(s, scaler_from_buffer, path, alloc, err);
}
