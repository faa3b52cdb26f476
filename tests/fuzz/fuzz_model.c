/* Fuzz target: the file loaders (MLP, perceptron, scaler) on memory
 * buffers.
 *
 * Input: byte 0 = mode, byte 1 = the allocation to fail (0: none), then the
 * file bytes.
 *   mode bit 0: rewrite the 32-byte header (magic, version, the kind of
 *               bits 1 and 3, payload length, CRC-32, reserved 0) so that
 *               the payload parser sees every input instead of stopping at
 *               the checksum; otherwise the bytes are loaded as they are.
 *   mode bit 1: the kind written by bit 0: 0 MLP, 1 perceptron.
 *   mode bit 2: the version written by bit 0: 0 the current (2, with the
 *               MLP's sections), 1 version 1.
 *   mode bit 3: the kind written by bit 0 is 3, a scaler (over bit 1).
 *
 * Checks: a load fails with a documented status and leaves *out as it was;
 * a loaded model predicts, and saving it, loading that and saving again
 * gives the same bytes (the first save may canonicalise, e.g. an alpha
 * that the activation does not use); nothing leaks. */
#include <math.h>

#include "fuzz_common.h"

#define HEADER 32

/* CRC-32 (IEEE, reflected), bit by bit: independent of the library's. */
static uint32_t crc32_bits(const uint8_t *p, size_t n)
{
    uint32_t crc = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        crc ^= p[i];
        for (int b = 0; b < 8; b++)
            crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
    return ~crc;
}

static void le(uint8_t *p, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static bool allowed(soma_status st, bool failing)
{
    return st == SOMA_EFORMAT || st == SOMA_EVERSION || st == SOMA_ECHECKSUM ||
           (st == SOMA_ENOMEM && failing);
}

/* Serialize (with optimizer state) into a malloc'ed buffer. */
static uint8_t *save_mlp(const soma_mlp *m, size_t *n)
{
    FUZZ_CHECK(soma_mlp_save_buffer(m, true, NULL, 0, n, NULL) == SOMA_OK);
    uint8_t *b = malloc(*n);
    FUZZ_CHECK(b != NULL);
    size_t again = 0;
    FUZZ_CHECK(soma_mlp_save_buffer(m, true, b, *n, &again, NULL) == SOMA_OK &&
               again == *n);
    return b;
}

static uint8_t *save_perceptron(const soma_perceptron *p, size_t *n)
{
    FUZZ_CHECK(soma_perceptron_save_buffer(p, NULL, 0, n, NULL) == SOMA_OK);
    uint8_t *b = malloc(*n);
    FUZZ_CHECK(b != NULL);
    size_t again = 0;
    FUZZ_CHECK(soma_perceptron_save_buffer(p, b, *n, &again, NULL) == SOMA_OK &&
               again == *n);
    return b;
}

static void check_mlp(soma_mlp *m)
{
    /* Predict two rows: the parameters are finite (the loader checks), the
     * outputs may overflow but the call must succeed. */
    const size_t n_in = soma_mlp_size(m, 0),
                 n_out = soma_mlp_size(m, soma_mlp_n_layers(m));
    FUZZ_CHECK(n_in >= 1 && n_out >= 1);
    soma_matrix X, P;
    FUZZ_CHECK(soma_matrix_init(&X, 2, n_in, NULL) == SOMA_OK);
    FUZZ_CHECK(soma_matrix_init(&P, 2, n_out, NULL) == SOMA_OK);
    for (size_t j = 0; j < n_in; j++)
        X.data[n_in + j] = 1.0;
    FUZZ_CHECK(soma_mlp_predict_proba(m, &X, &P, NULL) == SOMA_OK);
    soma_matrix_free(&X);
    soma_matrix_free(&P);
    /* Save, load, save: the two saves agree. */
    size_t n1, n2;
    uint8_t *b1 = save_mlp(m, &n1);
    soma_mlp *back = NULL;
    FUZZ_CHECK(soma_mlp_load_buffer(&back, b1, n1, NULL, NULL) == SOMA_OK);
    uint8_t *b2 = save_mlp(back, &n2);
    FUZZ_CHECK(n1 == n2 && memcmp(b1, b2, n1) == 0);
    soma_mlp_destroy(back);
    free(b1);
    free(b2);
}

static void check_perceptron(soma_perceptron *p)
{
    size_t d = 0;
    FUZZ_CHECK(soma_perceptron_n_features(p, &d, NULL) == SOMA_OK && d >= 1);
    soma_matrix X, out;
    FUZZ_CHECK(soma_matrix_init(&X, 2, d, NULL) == SOMA_OK);
    FUZZ_CHECK(soma_matrix_init(&out, 2, 1, NULL) == SOMA_OK);
    FUZZ_CHECK(soma_perceptron_predict(p, &X, &out, NULL) == SOMA_OK);
    FUZZ_CHECK(out.data[0] == 0.0 || out.data[0] == 1.0);
    soma_matrix_free(&X);
    soma_matrix_free(&out);
    size_t n1, n2;
    uint8_t *b1 = save_perceptron(p, &n1);
    soma_perceptron *back = NULL;
    FUZZ_CHECK(soma_perceptron_load_buffer(&back, b1, n1, NULL, NULL) == SOMA_OK);
    uint8_t *b2 = save_perceptron(back, &n2);
    FUZZ_CHECK(n1 == n2 && memcmp(b1, b2, n1) == 0);
    soma_perceptron_destroy(back);
    free(b1);
    free(b2);
}

static void check_scaler(const soma_scaler *s)
{
    const size_t d = s->mean.cols;
    FUZZ_CHECK(d >= 1 && s->scale.cols == d);
    for (size_t j = 0; j < d; j++)
        FUZZ_CHECK(isfinite(s->mean.data[j]) && s->scale.data[j] > 0.0 &&
                   isfinite(s->scale.data[j]));
    size_t n1, n2;
    FUZZ_CHECK(soma_scaler_save_buffer(s, NULL, 0, &n1, NULL) == SOMA_OK);
    uint8_t *b1 = malloc(n1);
    FUZZ_CHECK(b1 != NULL && soma_scaler_save_buffer(s, b1, n1, &n1, NULL) == SOMA_OK);
    soma_scaler back;
    FUZZ_CHECK(soma_scaler_load_buffer(&back, b1, n1, NULL, NULL) == SOMA_OK);
    FUZZ_CHECK(soma_scaler_save_buffer(&back, NULL, 0, &n2, NULL) == SOMA_OK && n1 == n2);
    soma_scaler_free(&back);
    free(b1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_input in = {data, size};
    const uint8_t mode = fuzz_byte(&in), fail_at = fuzz_byte(&in);
    size_t n = in.n;
    /* A private copy: the header may be rewritten, and an exact-size heap
     * block lets AddressSanitizer see any read past the end. */
    uint8_t *file = malloc(n > 0 ? n : 1);
    FUZZ_CHECK(file != NULL);
    if (n > 0)
        memcpy(file, in.p, n);
    if ((mode & 1) && n >= HEADER) {
        static const uint8_t magic[8] = {'S', 'O', 'M', 'A', 'M', 'O', 'D', 'L'};
        memcpy(file, magic, 8);
        le(file + 8, (mode & 4) ? 1 : SOMA_MODEL_FORMAT_VERSION, 4);
        le(file + 12, (mode & 8) ? 3 : (mode & 2) ? 2 : 1, 4);
        le(file + 16, n - HEADER, 8);
        le(file + 24, crc32_bits(file + HEADER, n - HEADER), 4);
        le(file + 28, 0, 4);
    }

    fuzz_alloc t;
    soma_allocator a = fuzz_allocator(&t, fail_at);
    soma_error_info err;
    memset(&err, 0, sizeof err);

    soma_mlp *const mlp_sentinel = (soma_mlp *)&t;
    soma_mlp *m = mlp_sentinel;
    soma_status st = soma_mlp_load_buffer(&m, n > 0 ? file : NULL, n, &a, &err);
    t.fail_at = 0; /* the model keeps the allocator: no failure after the load */
    if (st == SOMA_OK) {
        check_mlp(m);
        soma_mlp_destroy(m);
    } else {
        FUZZ_CHECK(allowed(st, fail_at != 0));
        FUZZ_CHECK(m == mlp_sentinel);
        if (st != SOMA_ENOMEM)
            FUZZ_CHECK(err.offset <= n && err.message[0] != '\0');
    }
    FUZZ_CHECK(t.live == 0);

    a = fuzz_allocator(&t, fail_at);
    soma_perceptron *const p_sentinel = (soma_perceptron *)&t;
    soma_perceptron *p = p_sentinel;
    st = soma_perceptron_load_buffer(&p, n > 0 ? file : NULL, n, &a, &err);
    t.fail_at = 0;
    if (st == SOMA_OK) {
        check_perceptron(p);
        soma_perceptron_destroy(p);
    } else {
        FUZZ_CHECK(allowed(st, fail_at != 0));
        FUZZ_CHECK(p == p_sentinel);
    }
    FUZZ_CHECK(t.live == 0);

    a = fuzz_allocator(&t, fail_at);
    soma_scaler s;
    memset(&s, 0x5a, sizeof s);
    const soma_scaler untouched = s;
    st = soma_scaler_load_buffer(&s, n > 0 ? file : NULL, n, &a, &err);
    t.fail_at = 0;
    if (st == SOMA_OK) {
        check_scaler(&s);
        soma_scaler_free(&s);
    } else {
        FUZZ_CHECK(allowed(st, fail_at != 0));
        FUZZ_CHECK(memcmp(&s, &untouched, sizeof s) == 0);
    }
    FUZZ_CHECK(t.live == 0);
    free(file);
    return 0;
}
