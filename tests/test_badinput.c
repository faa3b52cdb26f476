/* The bad-input matrix: every public function of libsoma called with NULL
 * for each pointer argument, invalid matrices (ld < cols, NULL data),
 * zero sizes, mismatched shapes, NaN and infinity, targets and labels out
 * of range, bad learning rates and epoch counts, byte counts that overflow
 * size_t and model files of another version.
 *
 * Every call must return its documented status and, when that status is an
 * error, leave every output as it was: each output (structs and buffers)
 * is "watched" (its bytes copied) before the calls and compared after each
 * one. Everything a case allocates goes through a counting allocator whose
 * live byte count must be 0 when the case ends (and LeakSanitizer or
 * valgrind check the rest in the sanitizer runs).
 *
 * The table `cases` at the end names one case per public function;
 * tests/check-api-coverage.sh compares it with the SOMA_API declarations
 * of the headers that include/soma.h includes, so a new public function
 * without a case here fails the suite. */
#define _POSIX_C_SOURCE 200809L
#include <limits.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test_common.h"

#ifndef EXPECT_BACKEND
#error "EXPECT_BACKEND must name the gemm backend"
#endif

/* ---- the harness --------------------------------------------------------- */

static const char *current; /* name of the function under test */

/* Watched outputs: a region and a copy of its bytes when it was watched. */
#define MAX_WATCH 64
typedef struct watch {
    const void *p;
    size_t n;
    unsigned char *copy;
} watch;
static watch watches[MAX_WATCH];
static size_t n_watches;

static void watch_mem(const void *p, size_t n)
{
    ck_assert_uint_lt(n_watches, MAX_WATCH);
    watch *w = &watches[n_watches++];
    w->p = p;
    w->n = n;
    w->copy = malloc(n > 0 ? n : 1);
    ck_assert_ptr_nonnull(w->copy);
    memcpy(w->copy, p, n);
}

/* Forget the watches (before a call that is allowed to write). */
static void unwatch_all(void)
{
    for (size_t i = 0; i < n_watches; i++)
        free(watches[i].copy);
    n_watches = 0;
}

static void watched_unchanged(const char *call, int line)
{
    for (size_t i = 0; i < n_watches; i++)
        ck_assert_msg(memcmp(watches[i].p, watches[i].copy, watches[i].n) == 0,
                      "%s, line %d: %s wrote into watched output %zu", current, line,
                      call, i);
}

/* Fill a struct the function must not write with a recognisable pattern
 * and watch it. */
static void poison(void *p, size_t n)
{
    memset(p, 0x5A, n);
    watch_mem(p, n);
}

/* Buffers owned by the harness, freed at the end of each case. */
#define MAX_ARENA 128
static void *arena[MAX_ARENA];
static size_t n_arena;

static void *arena_alloc(size_t bytes)
{
    ck_assert_uint_lt(n_arena, MAX_ARENA);
    void *p = calloc(1, bytes > 0 ? bytes : 1);
    ck_assert_ptr_nonnull(p);
    arena[n_arena++] = p;
    return p;
}

/* A rows x cols matrix of small distinct values (a view on harness memory). */
static soma_matrix mat(size_t rows, size_t cols)
{
    double *d = arena_alloc(rows * cols * sizeof(double));
    for (size_t i = 0; i < rows * cols; i++)
        d[i] = 0.125 * (double)(i % 7) - 0.25;
    soma_matrix m;
    ck_assert_int_eq(soma_matrix_view(&m, d, rows, cols, cols), SOMA_OK);
    return m;
}

/* A matrix struct with every byte defined, padding included (a struct
 * assignment leaves the padding unspecified, and the watches compare it). */
static void set_matrix(soma_matrix *m, size_t rows, size_t cols, size_t ld, double *data)
{
    memset(m, 0, sizeof *m);
    m->rows = rows;
    m->cols = cols;
    m->ld = ld;
    m->data = data;
}

/* An output matrix: filled with 777 and watched (struct and data). */
static soma_matrix *out_mat(size_t rows, size_t cols)
{
    soma_matrix *m = arena_alloc(sizeof *m);
    set_matrix(m, rows, cols, cols, mat(rows, cols).data);
    for (size_t i = 0; i < rows * cols; i++)
        m->data[i] = 777.0;
    watch_mem(m, sizeof *m);
    watch_mem(m->data, rows * cols * sizeof(double));
    return m;
}

/* Labels 0/1 alternating, n x 1. */
static soma_matrix labels01(size_t n)
{
    soma_matrix y = mat(n, 1);
    for (size_t i = 0; i < n; i++)
        y.data[i] = (double)(i % 2);
    return y;
}

/* The counting allocator of the case, and two invalid allocators. */
static test_alloc T;
static soma_allocator A;
static const soma_allocator no_fns = {NULL, NULL, NULL};
static soma_allocator no_free;

/* Invalid matrices: NULL, ld < cols, NULL data with a non-empty shape. */
static double bad_buf[8];
static soma_matrix bad_ld, bad_data;
#define N_BAD 3
static soma_matrix *bad_matrix(int i)
{
    return i == 0 ? NULL : i == 1 ? &bad_ld : &bad_data;
}

/* for (each bad matrix var) ...; EACH_INVALID skips the NULL one (for
 * arguments where NULL means "not wanted"). */
#define EACH_BAD(var)                                                                    \
    for (int bi_ = 0, on_ = 1; bi_ < N_BAD; bi_++, on_ = 1)                              \
        for (soma_matrix *var = bad_matrix(bi_); on_; on_ = 0)
#define EACH_INVALID(var)                                                                \
    for (int bi_ = 1, on_ = 1; bi_ < N_BAD; bi_++, on_ = 1)                              \
        for (soma_matrix *var = bad_matrix(bi_); on_; on_ = 0)

/* The error detail the calls under test fill (their last argument is &E
 * wherever they take one). Before each call it is set to a sentinel, so a
 * failing call that does not write it is caught; a call that succeeds must
 * leave it alone. */
static soma_error_info E;
static const char SENTINEL[] = "<not written>";

static void reset_err(void)
{
    memset(&E, 0x5a, sizeof E);
    strcpy(E.argument, SENTINEL);
    strcpy(E.message, SENTINEL);
}

/* True when the call text passes &E (some functions take no err). */
static bool takes_err(const char *call)
{
    return strstr(call, "&E)") != NULL;
}

/* The message of a failed call: written, NUL-terminated in both fields, one
 * that names the argument it blames (when it blames one), and not a bare
 * status string. */
static void check_message(soma_status got, const char *call, int line)
{
    const char *where = current;
    ck_assert_msg(memchr(E.message, '\0', sizeof E.message) != NULL &&
                      memchr(E.argument, '\0', sizeof E.argument) != NULL,
                  "%s, line %d: %s left an unterminated error detail", where, line, call);
    ck_assert_msg(strcmp(E.message, SENTINEL) != 0 && strcmp(E.argument, SENTINEL) != 0,
                  "%s, line %d: %s returned %s without filling err", where, line, call,
                  soma_status_string(got));
    ck_assert_msg(E.message[0] != '\0' && strcmp(E.message, soma_status_string(got)) != 0,
                  "%s, line %d: %s: message \"%s\" says no more than the status", where,
                  line, call, E.message);
    ck_assert_msg(E.argument[0] == '\0' || strstr(E.message, E.argument) != NULL ||
                      (strchr(E.argument, '.') != NULL &&
                       strstr(E.message, strchr(E.argument, '.') + 1) != NULL),
                  "%s, line %d: %s: message \"%s\" does not name the argument \"%s\"",
                  where, line, call, E.message, E.argument);
}

static void expect_(soma_status want, soma_status got, const char *call, int line)
{
    ck_assert_msg(got == want, "%s, line %d: %s returned %s, documented %s (%s: %s)",
                  current, line, call, soma_status_string(got), soma_status_string(want),
                  E.argument, E.message);
    watched_unchanged(call, line);
    if (!takes_err(call))
        return;
    if (got != SOMA_OK)
        check_message(got, call, line);
    else
        ck_assert_msg(strcmp(E.message, SENTINEL) == 0,
                      "%s, line %d: %s succeeded but wrote err", current, line, call);
}

/* The call must return `want` and leave every watched output as it was;
 * when it takes &E and fails, it must fill E with a message that names the
 * argument at fault. */
#define EXPECT(want, call) (reset_err(), expect_((want), (call), #call, __LINE__))

/* A call that must succeed (and may write). */
#define OK(call) (reset_err(), expect_(SOMA_OK, (call), #call, __LINE__))

/* A temporary folder for the file functions. */
static char tmp_dir[64];

static const char *tmp_path(const char *name)
{
    static char path[128];
    if (tmp_dir[0] == '\0') {
        strcpy(tmp_dir, "/tmp/soma-badinput-XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(tmp_dir));
    }
    snprintf(path, sizeof path, "%s/%s", tmp_dir, name);
    return path;
}

static void remove_tmp_dir(void)
{
    if (tmp_dir[0] == '\0')
        return;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_dir);
    ck_assert_int_eq(system(cmd), 0);
    tmp_dir[0] = '\0';
}

/* Number of entries in a folder (to see that nothing was left behind). */
static int tmp_entries(void)
{
    char cmd[160];
    snprintf(cmd, sizeof cmd, "exit $(ls -A '%s' | wc -l)", tmp_dir);
    int st = system(cmd);
    return st < 0 ? -1 : (st >> 8) & 0xFF;
}

static void setup(const char *name)
{
    current = name;
    A = test_allocator(&T);
    no_free = (soma_allocator){test_alloc_fn, NULL, &T};
    set_matrix(&bad_ld, 2, 3, 2, bad_buf);
    set_matrix(&bad_data, 2, 3, 3, NULL);
    /* The library must not write into the invalid matrices either. */
    watch_mem(&bad_ld, sizeof bad_ld);
    watch_mem(&bad_data, sizeof bad_data);
    watch_mem(bad_buf, sizeof bad_buf);
}

static void teardown(void)
{
    unwatch_all();
    for (size_t i = 0; i < n_arena; i++)
        free(arena[i]);
    n_arena = 0;
    remove_tmp_dir();
    ck_assert_msg(T.live_bytes == 0, "%s: %zu bytes leaked through the allocator",
                  current, T.live_bytes);
}

/* A model shaped [2, 3, 1] (sigmoid, BCE) through the counting allocator,
 * and matching data. */
static soma_mlp *small_mlp(void)
{
    const size_t sizes[3] = {2, 3, 1};
    soma_mlp *m = NULL;
    ck_assert_int_eq(soma_mlp_create(&m, sizes, 3, NULL, &A, &E), SOMA_OK);
    return m;
}

static soma_perceptron *fitted_perceptron(void)
{
    soma_perceptron *p = NULL;
    ck_assert_int_eq(soma_perceptron_create(&p, NULL, &A, &E), SOMA_OK);
    soma_matrix X = mat(4, 2), y = labels01(4);
    soma_rng r;
    ck_assert_int_eq(soma_rng_seed(&r, 1), SOMA_OK);
    ck_assert_int_eq(soma_perceptron_fit(p, &X, &y, &r, &E), SOMA_OK);
    return p;
}

/* Bytes of a model file (harness memory). */
static unsigned char *mlp_file(size_t *n)
{
    soma_mlp *m = small_mlp();
    ck_assert_int_eq(soma_mlp_save_buffer(m, false, NULL, 0, n, &E), SOMA_OK);
    unsigned char *b = arena_alloc(*n);
    ck_assert_int_eq(soma_mlp_save_buffer(m, false, b, *n, n, &E), SOMA_OK);
    soma_mlp_destroy(m);
    return b;
}

static unsigned char *perceptron_file(size_t *n)
{
    soma_perceptron *p = fitted_perceptron();
    ck_assert_int_eq(soma_perceptron_save_buffer(p, NULL, 0, n, &E), SOMA_OK);
    unsigned char *b = arena_alloc(*n);
    ck_assert_int_eq(soma_perceptron_save_buffer(p, b, *n, n, &E), SOMA_OK);
    soma_perceptron_destroy(p);
    return b;
}

/* The same file claiming the next format version (the version is checked
 * before the checksum, so nothing else needs changing). */
static unsigned char *other_version(const unsigned char *file, size_t n)
{
    unsigned char *b = arena_alloc(n);
    memcpy(b, file, n);
    b[8] = SOMA_MODEL_FORMAT_VERSION + 1;
    return b;
}

static void write_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(data, 1, n, f), n);
    ck_assert_int_eq(fclose(f), 0);
}

/* ---- common.h, status.h ---------------------------------------------------- */

static void case_soma_version_string(void)
{
    /* No arguments: the version linked, never NULL. */
    ck_assert_str_eq(soma_version_string(), SOMA_VERSION_STRING);
}

static void case_soma_status_string(void)
{
    const soma_status out_of_range[3] = {(soma_status)-1, SOMA_STATUS_COUNT,
                                         (soma_status)1000};
    for (int i = 0; i < 3; i++)
        ck_assert_str_eq(soma_status_string(out_of_range[i]), "unknown status");
    for (int s = 0; s < SOMA_STATUS_COUNT; s++)
        ck_assert_str_ne(soma_status_string((soma_status)s), "unknown status");
}

/* ---- rng.h ------------------------------------------------------------------ */

static soma_rng *watched_rng(void)
{
    soma_rng *r = arena_alloc(sizeof *r);
    ck_assert_int_eq(soma_rng_seed(r, 5), SOMA_OK);
    watch_mem(r, sizeof *r);
    return r;
}

static void case_soma_rng_seed(void)
{
    EXPECT(SOMA_EINVAL, soma_rng_seed(NULL, 1));
}

static void case_soma_rng_u64(void)
{
    soma_rng *r = watched_rng();
    uint64_t out;
    poison(&out, sizeof out);
    EXPECT(SOMA_EINVAL, soma_rng_u64(NULL, &out));
    EXPECT(SOMA_EINVAL, soma_rng_u64(r, NULL));
}

static void case_soma_rng_uniform(void)
{
    soma_rng *r = watched_rng();
    double out[3];
    poison(out, sizeof out);
    EXPECT(SOMA_EINVAL, soma_rng_uniform(NULL, 3, out));
    EXPECT(SOMA_EINVAL, soma_rng_uniform(r, 3, NULL));
    EXPECT(SOMA_OK, soma_rng_uniform(r, 0, NULL)); /* zero size: nothing drawn */
}

static void case_soma_rng_uniform_range(void)
{
    soma_rng *r = watched_rng();
    double out[3];
    poison(out, sizeof out);
    EXPECT(SOMA_EINVAL, soma_rng_uniform_range(NULL, 3, 0, 1, out));
    EXPECT(SOMA_EINVAL, soma_rng_uniform_range(r, 3, 0, 1, NULL));
    const double bounds[][2] = {{NAN, 1}, {0, NAN}, {-INFINITY, 0},     {0, INFINITY},
                                {1, 1},   {2, 1},   {-DBL_MAX, DBL_MAX}};
    for (size_t i = 0; i < sizeof bounds / sizeof bounds[0]; i++)
        EXPECT(SOMA_EINVAL,
               soma_rng_uniform_range(r, 3, bounds[i][0], bounds[i][1], out));
    EXPECT(SOMA_OK, soma_rng_uniform_range(r, 0, 0, 1, NULL));
}

static void case_soma_rng_normal(void)
{
    soma_rng *r = watched_rng();
    double out[3];
    poison(out, sizeof out);
    EXPECT(SOMA_EINVAL, soma_rng_normal(NULL, 3, 0, 1, out));
    EXPECT(SOMA_EINVAL, soma_rng_normal(r, 3, 0, 1, NULL));
    const double ms[][2] = {{NAN, 1}, {INFINITY, 1}, {0, NAN}, {0, INFINITY}, {0, -1}};
    for (size_t i = 0; i < sizeof ms / sizeof ms[0]; i++)
        EXPECT(SOMA_EINVAL, soma_rng_normal(r, 3, ms[i][0], ms[i][1], out));
    EXPECT(SOMA_OK, soma_rng_normal(r, 0, 0, 1, NULL));
}

static void case_soma_rng_shuffle(void)
{
    soma_rng *r = watched_rng();
    size_t idx[4] = {0, 1, 2, 3};
    watch_mem(idx, sizeof idx);
    EXPECT(SOMA_EINVAL, soma_rng_shuffle(NULL, idx, 4));
    EXPECT(SOMA_EINVAL, soma_rng_shuffle(r, NULL, 4));
    EXPECT(SOMA_OK, soma_rng_shuffle(r, NULL, 0));
}

static void case_soma_rng_permutation(void)
{
    soma_rng *r = watched_rng();
    size_t idx[4];
    poison(idx, sizeof idx);
    EXPECT(SOMA_EINVAL, soma_rng_permutation(NULL, 4, idx));
    EXPECT(SOMA_EINVAL, soma_rng_permutation(r, 4, NULL));
    EXPECT(SOMA_OK, soma_rng_permutation(r, 0, NULL));
}

/* ---- matrix.h --------------------------------------------------------------- */

static void case_soma_matrix_init(void)
{
    soma_matrix m;
    poison(&m, sizeof m);
    EXPECT(SOMA_EINVAL, soma_matrix_init(NULL, 2, 2, &A));
    EXPECT(SOMA_EINVAL, soma_matrix_init(&m, 2, 2, &no_fns));
    EXPECT(SOMA_EINVAL, soma_matrix_init(&m, 2, 2, &no_free));
    EXPECT(SOMA_EOVERFLOW, soma_matrix_init(&m, SIZE_MAX, 2, &A));     /* rows * cols */
    EXPECT(SOMA_EOVERFLOW, soma_matrix_init(&m, SIZE_MAX / 4, 2, &A)); /* bytes */
    ck_assert_uint_eq(T.allocs, 0);
    unwatch_all();
    /* Zero sizes are legal: an empty owned matrix, nothing allocated. */
    OK(soma_matrix_init(&m, 0, 5, &A));
    ck_assert(m.rows == 0 && m.cols == 5 && m.data == NULL);
    ck_assert_uint_eq(T.allocs, 0);
    soma_matrix_free(&m);
}

static void case_soma_matrix_free(void)
{
    soma_matrix_free(NULL);
    soma_matrix m = {0};
    soma_matrix_free(&m); /* a zeroed struct */
    soma_matrix_free(&m); /* twice */
    /* A view frees nothing. */
    soma_matrix v = mat(2, 2);
    double *data = v.data;
    watch_mem(data, 4 * sizeof(double));
    soma_matrix_free(&v);
    ck_assert_ptr_null(v.data);
    watched_unchanged("soma_matrix_free(view)", __LINE__);
}

static void case_soma_matrix_view(void)
{
    double buf[6];
    soma_matrix m;
    poison(&m, sizeof m);
    EXPECT(SOMA_EINVAL, soma_matrix_view(NULL, buf, 2, 3, 3));
    EXPECT(SOMA_EINVAL, soma_matrix_view(&m, buf, 2, 3, 2));  /* ld < cols */
    EXPECT(SOMA_EINVAL, soma_matrix_view(&m, NULL, 2, 3, 3)); /* NULL data */
    EXPECT(SOMA_EOVERFLOW, soma_matrix_view(&m, buf, SIZE_MAX / 2, 1, 4));
    EXPECT(SOMA_EOVERFLOW, soma_matrix_view(&m, buf, 2, 1, SIZE_MAX / 8)); /* bytes */
    unwatch_all();
    OK(soma_matrix_view(&m, NULL, 0, 3, 3)); /* empty: NULL data is fine */
}

static void case_soma_matrix_view_rows(void)
{
    soma_matrix src = mat(3, 2), v;
    poison(&v, sizeof v);
    EXPECT(SOMA_EINVAL, soma_matrix_view_rows(NULL, &src, 0, 1));
    EACH_BAD(b) EXPECT(SOMA_EINVAL, soma_matrix_view_rows(&v, b, 0, 1));
    EXPECT(SOMA_EDIM, soma_matrix_view_rows(&v, &src, 2, 2));
    EXPECT(SOMA_EDIM, soma_matrix_view_rows(&v, &src, 4, 0));
    EXPECT(SOMA_EDIM,
           soma_matrix_view_rows(&v, &src, 1, SIZE_MAX)); /* row0 + n overflows */
}

static void case_soma_matrix_dup(void)
{
    soma_matrix src = mat(2, 2), dst;
    poison(&dst, sizeof dst);
    EACH_BAD(b) EXPECT(SOMA_EINVAL, soma_matrix_dup(b, &dst, &A));
    EXPECT(SOMA_EINVAL, soma_matrix_dup(&src, NULL, &A));
    EXPECT(SOMA_EINVAL, soma_matrix_dup(&src, &dst, &no_fns));
    ck_assert_uint_eq(T.allocs, 0);
    /* (A valid view's copy always fits in size_t bytes: soma_matrix_view
     * refuses extents that do not.) */
}

static void case_soma_matrix_copy(void)
{
    soma_matrix src = mat(2, 3);
    soma_matrix *dst = out_mat(2, 3), *wrong = out_mat(3, 2);
    EACH_BAD(b) EXPECT(SOMA_EINVAL, soma_matrix_copy(b, dst));
    EACH_BAD(b) EXPECT(SOMA_EINVAL, soma_matrix_copy(&src, b));
    EXPECT(SOMA_EDIM, soma_matrix_copy(&src, wrong));
    /* Partial overlap: rows 0-1 onto rows 1-2 of one buffer. */
    soma_matrix big = mat(3, 3), a, b;
    watch_mem(big.data, 9 * sizeof(double));
    ck_assert_int_eq(soma_matrix_view_rows(&a, &big, 0, 2), SOMA_OK);
    ck_assert_int_eq(soma_matrix_view_rows(&b, &big, 1, 2), SOMA_OK);
    EXPECT(SOMA_EALIAS, soma_matrix_copy(&a, &b));
    soma_matrix e0 = mat(0, 3), e1 = mat(0, 3);
    EXPECT(SOMA_OK, soma_matrix_copy(&e0, &e1));
}

static void case_soma_matrix_fill(void)
{
    EACH_BAD(b) EXPECT(SOMA_EINVAL, soma_matrix_fill(b, 1.0));
    soma_matrix e = mat(0, 3);
    EXPECT(SOMA_OK, soma_matrix_fill(&e, 1.0));
}

static void case_soma_matrix_transpose(void)
{
    soma_matrix src = mat(2, 3);
    soma_matrix *dst = out_mat(3, 2), *wrong = out_mat(2, 3);
    EACH_BAD(b) EXPECT(SOMA_EINVAL, soma_matrix_transpose(b, dst));
    EACH_BAD(b) EXPECT(SOMA_EINVAL, soma_matrix_transpose(&src, b));
    EXPECT(SOMA_EDIM, soma_matrix_transpose(&src, wrong));
    soma_matrix sq = mat(2, 2);
    watch_mem(sq.data, 4 * sizeof(double));
    EXPECT(SOMA_EALIAS, soma_matrix_transpose(&sq, &sq));
}

static void case_soma_matrix_get(void)
{
    soma_matrix m = mat(2, 3);
    double out;
    poison(&out, sizeof out);
    EACH_BAD(b) EXPECT(SOMA_EINVAL, soma_matrix_get(b, 0, 0, &out));
    EXPECT(SOMA_EINVAL, soma_matrix_get(&m, 0, 0, NULL));
    EXPECT(SOMA_EINVAL, soma_matrix_get(&m, 2, 0, &out));
    EXPECT(SOMA_EINVAL, soma_matrix_get(&m, 0, 3, &out));
    EXPECT(SOMA_EINVAL, soma_matrix_get(&m, SIZE_MAX, SIZE_MAX, &out));
}

static void case_soma_matrix_set(void)
{
    soma_matrix *m = out_mat(2, 3);
    EACH_BAD(b) EXPECT(SOMA_EINVAL, soma_matrix_set(b, 0, 0, 1.0));
    EXPECT(SOMA_EINVAL, soma_matrix_set(m, 2, 0, 1.0));
    EXPECT(SOMA_EINVAL, soma_matrix_set(m, 0, 3, 1.0));
}

static void case_soma_matrix_add_row(void)
{
    soma_matrix *m = out_mat(3, 2);
    soma_matrix row = mat(1, 2), two = mat(2, 2), wide = mat(1, 3);
    EACH_BAD(b) EXPECT(SOMA_EINVAL, soma_matrix_add_row(b, &row));
    EACH_BAD(b) EXPECT(SOMA_EINVAL, soma_matrix_add_row(m, b));
    EXPECT(SOMA_EDIM, soma_matrix_add_row(m, &two));
    EXPECT(SOMA_EDIM, soma_matrix_add_row(m, &wide));
    soma_matrix first;
    ck_assert_int_eq(soma_matrix_view_rows(&first, m, 0, 1), SOMA_OK);
    EXPECT(SOMA_EALIAS, soma_matrix_add_row(m, &first));
}

static void case_soma_matrix_col_sums(void)
{
    soma_matrix src = mat(3, 2);
    soma_matrix *dst = out_mat(1, 2), *wrong = out_mat(1, 3), *tall = out_mat(2, 2);
    EACH_BAD(b) EXPECT(SOMA_EINVAL, soma_matrix_col_sums(b, 1.0, dst));
    EACH_BAD(b) EXPECT(SOMA_EINVAL, soma_matrix_col_sums(&src, 1.0, b));
    EXPECT(SOMA_EDIM, soma_matrix_col_sums(&src, 1.0, wrong));
    EXPECT(SOMA_EDIM, soma_matrix_col_sums(&src, 1.0, tall));
    soma_matrix first;
    watch_mem(src.data, 6 * sizeof(double));
    ck_assert_int_eq(soma_matrix_view_rows(&first, &src, 0, 1), SOMA_OK);
    EXPECT(SOMA_EALIAS, soma_matrix_col_sums(&src, 1.0, &first));
}

static void case_soma_matrix_scale(void)
{
    EACH_BAD(b) EXPECT(SOMA_EINVAL, soma_matrix_scale(b, 2.0));
    soma_matrix e = mat(3, 0);
    EXPECT(SOMA_OK, soma_matrix_scale(&e, 2.0));
}

static void case_soma_matrix_axpy(void)
{
    soma_matrix x = mat(2, 3);
    soma_matrix *y = out_mat(2, 3), *wrong = out_mat(3, 2);
    EACH_BAD(b) EXPECT(SOMA_EINVAL, soma_matrix_axpy(1.0, b, y));
    EACH_BAD(b) EXPECT(SOMA_EINVAL, soma_matrix_axpy(1.0, &x, b));
    EXPECT(SOMA_EDIM, soma_matrix_axpy(1.0, &x, wrong));
    soma_matrix big = mat(3, 3), a, c;
    watch_mem(big.data, 9 * sizeof(double));
    ck_assert_int_eq(soma_matrix_view_rows(&a, &big, 0, 2), SOMA_OK);
    ck_assert_int_eq(soma_matrix_view_rows(&c, &big, 1, 2), SOMA_OK);
    EXPECT(SOMA_EALIAS, soma_matrix_axpy(1.0, &a, &c));
}

static void case_soma_matrix_check_finite(void)
{
    EACH_BAD(b) EXPECT(SOMA_EINVAL, soma_matrix_check_finite(b));
    soma_matrix m = mat(2, 3);
    const double specials[3] = {NAN, INFINITY, -INFINITY};
    for (int i = 0; i < 3; i++) {
        m.data[4] = specials[i];
        EXPECT(SOMA_ENONFINITE, soma_matrix_check_finite(&m));
    }
    soma_matrix e = mat(0, 0);
    EXPECT(SOMA_OK, soma_matrix_check_finite(&e));
}

/* ---- gemm.h ----------------------------------------------------------------- */

static void case_soma_gemm(void)
{
    soma_matrix Am = mat(2, 3), Bm = mat(3, 4);
    soma_matrix *C = out_mat(2, 4), *Cwide = out_mat(2, 5), *Ctall = out_mat(3, 4);
    EXPECT(SOMA_EINVAL, soma_gemm((soma_trans)2, SOMA_TRANS_NO, 1, &Am, &Bm, 0, C));
    EXPECT(SOMA_EINVAL, soma_gemm(SOMA_TRANS_NO, (soma_trans)-1, 1, &Am, &Bm, 0, C));
    EACH_BAD(b)
    EXPECT(SOMA_EINVAL, soma_gemm(SOMA_TRANS_NO, SOMA_TRANS_NO, 1, b, &Bm, 0, C));
    EACH_BAD(b)
    EXPECT(SOMA_EINVAL, soma_gemm(SOMA_TRANS_NO, SOMA_TRANS_NO, 1, &Am, b, 0, C));
    EACH_BAD(b)
    EXPECT(SOMA_EINVAL, soma_gemm(SOMA_TRANS_NO, SOMA_TRANS_NO, 1, &Am, &Bm, 0, b));
    EXPECT(SOMA_EDIM,
           soma_gemm(SOMA_TRANS_YES, SOMA_TRANS_NO, 1, &Am, &Bm, 0, C)); /* k */
    EXPECT(SOMA_EDIM, soma_gemm(SOMA_TRANS_NO, SOMA_TRANS_NO, 1, &Am, &Bm, 0, Cwide));
    EXPECT(SOMA_EDIM, soma_gemm(SOMA_TRANS_NO, SOMA_TRANS_NO, 1, &Am, &Bm, 0, Ctall));
    /* C overlapping A, then B. */
    soma_matrix big = mat(4, 4), a, c;
    watch_mem(big.data, 16 * sizeof(double));
    ck_assert_int_eq(soma_matrix_view(&a, big.data, 2, 2, 4), SOMA_OK);
    ck_assert_int_eq(soma_matrix_view(&c, big.data + 4, 2, 2, 4), SOMA_OK);
    soma_matrix sq = mat(2, 2);
    EXPECT(SOMA_EALIAS, soma_gemm(SOMA_TRANS_NO, SOMA_TRANS_NO, 1, &a, &sq, 0, &c));
    EXPECT(SOMA_EALIAS, soma_gemm(SOMA_TRANS_NO, SOMA_TRANS_NO, 1, &sq, &a, 1, &c));
    /* Zero sizes: m == 0 writes nothing. */
    soma_matrix A0 = mat(0, 3), C0 = mat(0, 4);
    EXPECT(SOMA_OK, soma_gemm(SOMA_TRANS_NO, SOMA_TRANS_NO, 1, &A0, &Bm, 0, &C0));
    /* CBLAS takes int: the BLAS build refuses k > INT_MAX before reading
     * anything (the views are valid but backed by 8 doubles; the naive
     * build would read them, so the call is made in the BLAS build only). */
    if (strcmp(soma_backend_name(), "blas") == 0) {
        /* C on the stack, far from the 16 GiB that A and B claim from
         * bad_buf (static storage, next to the heap). */
        double c_one = 5.0;
        soma_matrix wa, wb, c11;
        const size_t k = (size_t)INT_MAX + 1;
        ck_assert_int_eq(soma_matrix_view(&wa, bad_buf, 1, k, k), SOMA_OK);
        ck_assert_int_eq(soma_matrix_view(&wb, bad_buf, k, 1, 1), SOMA_OK);
        ck_assert_int_eq(soma_matrix_view(&c11, &c_one, 1, 1, 1), SOMA_OK);
        watch_mem(&c_one, sizeof c_one);
        EXPECT(SOMA_EOVERFLOW,
               soma_gemm(SOMA_TRANS_NO, SOMA_TRANS_NO, 1, &wa, &wb, 0, &c11));
    }
}

static void case_soma_backend_name(void)
{
    ck_assert_str_eq(soma_backend_name(), EXPECT_BACKEND);
}

static void case_soma_backend_config(void)
{
    ck_assert_ptr_nonnull(soma_backend_config());
}

static void case_soma_threads_set(void)
{
    EXPECT(SOMA_EINVAL, soma_threads_set(-1));
    EXPECT(SOMA_EINVAL, soma_threads_set(INT_MIN));
}

static void case_soma_threads_get(void)
{
    EXPECT(SOMA_EINVAL, soma_threads_get(NULL));
}

static void case_soma_blas_threads_set(void)
{
    EXPECT(SOMA_EINVAL, soma_blas_threads_set(0));
    EXPECT(SOMA_EINVAL, soma_blas_threads_set(-3));
    EXPECT(SOMA_EINVAL, soma_blas_threads_set(INT_MIN));
}

static void case_soma_blas_threads_get(void)
{
    EXPECT(SOMA_EINVAL, soma_blas_threads_get(NULL));
}

/* ---- activation.h ----------------------------------------------------------- */

static const soma_activation bad_acts[3] = {SOMA_ACTIVATION_COUNT, (soma_activation)-1,
                                            (soma_activation)77};

static void case_soma_activation_name(void)
{
    for (int i = 0; i < 3; i++)
        ck_assert_ptr_null(soma_activation_name(bad_acts[i]));
}

static void case_soma_activation_from_name(void)
{
    soma_activation out;
    poison(&out, sizeof out);
    EXPECT(SOMA_EINVAL, soma_activation_from_name(NULL, &out, &E));
    EXPECT(SOMA_EINVAL, soma_activation_from_name("relu", NULL, &E));
    EXPECT(SOMA_EINVAL, soma_activation_from_name("", &out, &E));
    EXPECT(SOMA_EINVAL, soma_activation_from_name("relu ", &out, &E));
    EXPECT(SOMA_EINVAL, soma_activation_from_name("softmaxx", &out, &E));
}

static void case_soma_activation_default_alpha(void)
{
    for (int i = 0; i < 3; i++)
        ck_assert_double_eq(soma_activation_default_alpha(bad_acts[i]), 0.0);
}

static void case_soma_activation_forward(void)
{
    double z[4] = {1, 2, 3, 4}, a[4];
    poison(a, sizeof a);
    watch_mem(z, sizeof z);
    for (int i = 0; i < 3; i++)
        EXPECT(SOMA_EINVAL, soma_activation_forward(bad_acts[i], 0, 4, z, a, &E));
    EXPECT(SOMA_EINVAL,
           soma_activation_forward(SOMA_ACTIVATION_LEAKY_RELU, NAN, 4, z, a, &E));
    EXPECT(SOMA_EINVAL,
           soma_activation_forward(SOMA_ACTIVATION_ELU, INFINITY, 4, z, a, &E));
    EXPECT(SOMA_EINVAL, soma_activation_forward(SOMA_ACTIVATION_TANH, 0, 4, NULL, a, &E));
    EXPECT(SOMA_EINVAL, soma_activation_forward(SOMA_ACTIVATION_TANH, 0, 4, z, NULL, &E));
    EXPECT(SOMA_EINVAL,
           soma_activation_forward(SOMA_ACTIVATION_TANH, 0, SIZE_MAX / 4, z, a, &E));
    EXPECT(SOMA_EALIAS,
           soma_activation_forward(SOMA_ACTIVATION_TANH, 0, 3, z, z + 1, &E));
    EXPECT(SOMA_OK, soma_activation_forward(SOMA_ACTIVATION_TANH, 0, 0, NULL, NULL, &E));
}

static void case_soma_activation_backward(void)
{
    double z[4] = {1, 2, 3, 4}, a[4] = {1, 2, 3, 4}, da[4] = {1, 1, 1, 1}, dz[4];
    poison(dz, sizeof dz);
    watch_mem(z, sizeof z);
    watch_mem(a, sizeof a);
    watch_mem(da, sizeof da);
    const soma_activation f = SOMA_ACTIVATION_SIGMOID;
    for (int i = 0; i < 3; i++)
        EXPECT(SOMA_EINVAL,
               soma_activation_backward(bad_acts[i], 0, 4, z, a, da, dz, &E));
    EXPECT(SOMA_EINVAL,
           soma_activation_backward(SOMA_ACTIVATION_ELU, NAN, 4, z, a, da, dz, &E));
    EXPECT(SOMA_EINVAL, soma_activation_backward(f, 0, 4, NULL, a, da, dz, &E));
    EXPECT(SOMA_EINVAL, soma_activation_backward(f, 0, 4, z, NULL, da, dz, &E));
    EXPECT(SOMA_EINVAL, soma_activation_backward(f, 0, 4, z, a, NULL, dz, &E));
    EXPECT(SOMA_EINVAL, soma_activation_backward(f, 0, 4, z, a, da, NULL, &E));
    EXPECT(SOMA_EINVAL, soma_activation_backward(f, 0, SIZE_MAX / 4, z, a, da, dz, &E));
    EXPECT(SOMA_EALIAS, soma_activation_backward(f, 0, 3, z, a, da, da + 1, &E));
    EXPECT(SOMA_EALIAS, soma_activation_backward(f, 0, 3, z, a, da, a + 1, &E));
    EXPECT(SOMA_OK, soma_activation_backward(f, 0, 0, NULL, NULL, NULL, NULL, &E));
}

static void case_soma_activation_forward_matrix(void)
{
    soma_matrix Z = mat(2, 3);
    soma_matrix *Aout = out_mat(2, 3), *wrong = out_mat(3, 2);
    const soma_activation f = SOMA_ACTIVATION_RELU;
    for (int i = 0; i < 3; i++)
        EXPECT(SOMA_EINVAL, soma_activation_forward_matrix(bad_acts[i], 0, &Z, Aout, &E));
    EXPECT(SOMA_EINVAL,
           soma_activation_forward_matrix(SOMA_ACTIVATION_LEAKY_RELU, NAN, &Z, Aout, &E));
    EACH_BAD(b) EXPECT(SOMA_EINVAL, soma_activation_forward_matrix(f, 0, b, Aout, &E));
    EACH_BAD(b) EXPECT(SOMA_EINVAL, soma_activation_forward_matrix(f, 0, &Z, b, &E));
    EXPECT(SOMA_EDIM, soma_activation_forward_matrix(f, 0, &Z, wrong, &E));
    soma_matrix big = mat(3, 3), a, c;
    watch_mem(big.data, 9 * sizeof(double));
    ck_assert_int_eq(soma_matrix_view_rows(&a, &big, 0, 2), SOMA_OK);
    ck_assert_int_eq(soma_matrix_view_rows(&c, &big, 1, 2), SOMA_OK);
    EXPECT(SOMA_EALIAS, soma_activation_forward_matrix(f, 0, &a, &c, &E));
}

static void case_soma_activation_backward_matrix(void)
{
    soma_matrix Z = mat(2, 3), Am = mat(2, 3), dA = mat(2, 3);
    soma_matrix *dZ = out_mat(2, 3), *wrong = out_mat(3, 2);
    const soma_activation f = SOMA_ACTIVATION_SWISH;
    for (int i = 0; i < 3; i++)
        EXPECT(SOMA_EINVAL,
               soma_activation_backward_matrix(bad_acts[i], 0, &Z, &Am, &dA, dZ, &E));
    EACH_BAD(b)
    EXPECT(SOMA_EINVAL, soma_activation_backward_matrix(f, 0, b, &Am, &dA, dZ, &E));
    EACH_BAD(b)
    EXPECT(SOMA_EINVAL, soma_activation_backward_matrix(f, 0, &Z, b, &dA, dZ, &E));
    EACH_BAD(b)
    EXPECT(SOMA_EINVAL, soma_activation_backward_matrix(f, 0, &Z, &Am, b, dZ, &E));
    EACH_BAD(b)
    EXPECT(SOMA_EINVAL, soma_activation_backward_matrix(f, 0, &Z, &Am, &dA, b, &E));
    EXPECT(SOMA_EDIM, soma_activation_backward_matrix(f, 0, &Z, &Am, &dA, wrong, &E));
    soma_matrix wrongA = mat(3, 2);
    EXPECT(SOMA_EDIM, soma_activation_backward_matrix(f, 0, &Z, &wrongA, &dA, dZ, &E));
    soma_matrix big = mat(3, 3), a, c;
    watch_mem(big.data, 9 * sizeof(double));
    ck_assert_int_eq(soma_matrix_view_rows(&a, &big, 0, 2), SOMA_OK);
    ck_assert_int_eq(soma_matrix_view_rows(&c, &big, 1, 2), SOMA_OK);
    EXPECT(SOMA_EALIAS, soma_activation_backward_matrix(f, 0, &Z, &Am, &a, &c, &E));
}

/* ---- loss.h ----------------------------------------------------------------- */

static const soma_loss bad_losses[2] = {SOMA_LOSS_COUNT, (soma_loss)-1};

static void case_soma_loss_name(void)
{
    for (int i = 0; i < 2; i++)
        ck_assert_ptr_null(soma_loss_name(bad_losses[i]));
}

static void case_soma_loss_from_name(void)
{
    soma_loss out;
    poison(&out, sizeof out);
    EXPECT(SOMA_EINVAL, soma_loss_from_name(NULL, &out, &E));
    EXPECT(SOMA_EINVAL, soma_loss_from_name("mse", NULL, &E));
    EXPECT(SOMA_EINVAL, soma_loss_from_name("", &out, &E));
    EXPECT(SOMA_EINVAL, soma_loss_from_name("hinge", &out, &E));
}

/* Targets outside each loss's domain (see loss.h), n x k with k = 2. */
static void bad_targets(soma_loss loss, int which, soma_matrix *Y)
{
    for (size_t i = 0; i < Y->rows; i++) {
        Y->data[2 * i] = 1.0;
        Y->data[2 * i + 1] = 0.0;
    }
    const double bce[4] = {1.5, -0.1, NAN, INFINITY};
    switch (loss) {
    case SOMA_LOSS_MSE:
        Y->data[1] = which % 2 ? NAN : -INFINITY;
        break;
    case SOMA_LOSS_BCE:
        Y->data[1] = bce[which % 4];
        break;
    default: /* CE: a row not summing to 1, a negative entry, NaN */
        Y->data[1] = which % 3 == 0 ? 0.5 : which % 3 == 1 ? -0.5 : NAN;
        if (which % 3 == 1)
            Y->data[0] = 1.5;
        break;
    }
}

static void case_soma_loss_value(void)
{
    soma_matrix P = mat(3, 2), Y = mat(3, 2), wrong = mat(2, 3);
    bad_targets(SOMA_LOSS_MSE, 2, &Y);
    Y.data[1] = 0.0;
    double v;
    poison(&v, sizeof v);
    for (int i = 0; i < 2; i++)
        EXPECT(SOMA_EINVAL, soma_loss_value(bad_losses[i], &P, &Y, &v, &E));
    EACH_BAD(b) EXPECT(SOMA_EINVAL, soma_loss_value(SOMA_LOSS_MSE, b, &Y, &v, &E));
    EACH_BAD(b) EXPECT(SOMA_EINVAL, soma_loss_value(SOMA_LOSS_MSE, &P, b, &v, &E));
    EXPECT(SOMA_EINVAL, soma_loss_value(SOMA_LOSS_MSE, &P, &Y, NULL, &E));
    EXPECT(SOMA_EDIM, soma_loss_value(SOMA_LOSS_MSE, &P, &wrong, &v, &E));
    for (int l = 0; l < SOMA_LOSS_COUNT; l++)
        for (int w = 0; w < 4; w++) {
            bad_targets((soma_loss)l, w, &Y);
            EXPECT(SOMA_EINVAL, soma_loss_value((soma_loss)l, &P, &Y, &v, &E));
        }
}

static void case_soma_loss_grad(void)
{
    soma_matrix P = mat(3, 2), Y = mat(3, 2), wrong = mat(2, 3);
    bad_targets(SOMA_LOSS_BCE, 0, &Y);
    Y.data[1] = 0.0; /* valid for every loss */
    soma_matrix *dP = out_mat(3, 2), *dwrong = out_mat(2, 2);
    for (int i = 0; i < 2; i++)
        EXPECT(SOMA_EINVAL, soma_loss_grad(bad_losses[i], &P, &Y, dP, &E));
    EACH_BAD(b) EXPECT(SOMA_EINVAL, soma_loss_grad(SOMA_LOSS_BCE, b, &Y, dP, &E));
    EACH_BAD(b) EXPECT(SOMA_EINVAL, soma_loss_grad(SOMA_LOSS_BCE, &P, b, dP, &E));
    EACH_BAD(b) EXPECT(SOMA_EINVAL, soma_loss_grad(SOMA_LOSS_BCE, &P, &Y, b, &E));
    EXPECT(SOMA_EDIM, soma_loss_grad(SOMA_LOSS_BCE, &P, &wrong, dP, &E));
    EXPECT(SOMA_EDIM, soma_loss_grad(SOMA_LOSS_BCE, &P, &Y, dwrong, &E));
    watch_mem(Y.data, 6 * sizeof(double));
    EXPECT(SOMA_EALIAS, soma_loss_grad(SOMA_LOSS_BCE, &P, &Y, &Y, &E));
    unwatch_all();
    dP = out_mat(3, 2);
    for (int l = 0; l < SOMA_LOSS_COUNT; l++)
        for (int w = 0; w < 4; w++) {
            bad_targets((soma_loss)l, w, &Y);
            EXPECT(SOMA_EINVAL, soma_loss_grad((soma_loss)l, &P, &Y, dP, &E));
        }
}

static void case_soma_loss_from_logits(void)
{
    soma_matrix Z = mat(3, 2), Y = mat(3, 2), wrong = mat(2, 3);
    bad_targets(SOMA_LOSS_CE, 0, &Y);
    Y.data[1] = 0.0;
    soma_matrix *P = out_mat(3, 2), *dZ = out_mat(3, 2), *pw = out_mat(2, 2);
    double v;
    poison(&v, sizeof v);
    const soma_loss ce = SOMA_LOSS_CE;
    for (int i = 0; i < 2; i++)
        EXPECT(SOMA_EINVAL, soma_loss_from_logits(bad_losses[i], &Z, &Y, &v, P, dZ, &E));
    EACH_BAD(b) EXPECT(SOMA_EINVAL, soma_loss_from_logits(ce, b, &Y, &v, P, dZ, &E));
    EACH_BAD(b) EXPECT(SOMA_EINVAL, soma_loss_from_logits(ce, &Z, b, &v, P, dZ, &E));
    EACH_INVALID(b)
    EXPECT(SOMA_EINVAL, soma_loss_from_logits(ce, &Z, &Y, &v, b, dZ, &E));
    EACH_INVALID(b)
    EXPECT(SOMA_EINVAL, soma_loss_from_logits(ce, &Z, &Y, &v, P, b, &E));
    EXPECT(SOMA_EDIM, soma_loss_from_logits(ce, &Z, &wrong, &v, P, dZ, &E));
    EXPECT(SOMA_EDIM, soma_loss_from_logits(ce, &Z, &Y, &v, pw, dZ, &E));
    EXPECT(SOMA_EDIM, soma_loss_from_logits(ce, &Z, &Y, &v, P, pw, &E));
    EXPECT(SOMA_ENOTSUP, soma_loss_from_logits(SOMA_LOSS_MSE, &Z, &Y, &v, P, dZ, &E));
    EXPECT(SOMA_EALIAS, soma_loss_from_logits(ce, &Z, &Y, &v, P, P, &E));
    EXPECT(SOMA_EALIAS, soma_loss_from_logits(ce, &Z, &Y, &v, &Z, dZ, &E));
    for (int l = SOMA_LOSS_BCE; l < SOMA_LOSS_COUNT; l++)
        for (int w = 0; w < 4; w++) {
            bad_targets((soma_loss)l, w, &Y);
            EXPECT(SOMA_EINVAL,
                   soma_loss_from_logits((soma_loss)l, &Z, &Y, &v, P, dZ, &E));
        }
}

/* ---- dense.h ---------------------------------------------------------------- */

/* A 3 -> 2 tanh layer on harness memory. */
static soma_dense layer32(void)
{
    soma_dense d = {mat(3, 2), mat(1, 2), SOMA_ACTIVATION_TANH, 0.0};
    return d;
}

/* Broken copies of a layer; returns false after the last. */
static bool broken_layer(int i, soma_dense *d)
{
    *d = layer32();
    switch (i) {
    case 0:
        d->activation = SOMA_ACTIVATION_COUNT;
        return true;
    case 1:
        d->activation = SOMA_ACTIVATION_ELU;
        d->alpha = NAN;
        return true;
    case 2:
        d->W = bad_ld;
        return true;
    case 3:
        d->W = bad_data;
        return true;
    case 4:
        d->b = bad_ld;
        return true;
    default:
        return false;
    }
}

static void case_soma_dense_forward(void)
{
    soma_dense L = layer32(), broken;
    soma_matrix X = mat(4, 3), Xw = mat(4, 2);
    soma_matrix *Z = out_mat(4, 2), *Ao = out_mat(4, 2), *Zw = out_mat(4, 3),
                *Ar = out_mat(3, 2);
    EXPECT(SOMA_EINVAL, soma_dense_forward(NULL, &X, Z, Ao, &E));
    for (int i = 0; broken_layer(i, &broken); i++)
        EXPECT(SOMA_EINVAL, soma_dense_forward(&broken, &X, Z, Ao, &E));
    soma_dense wide_b = layer32();
    wide_b.b = mat(1, 3);
    EXPECT(SOMA_EDIM, soma_dense_forward(&wide_b, &X, Z, Ao, &E));
    EACH_BAD(b) EXPECT(SOMA_EINVAL, soma_dense_forward(&L, b, Z, Ao, &E));
    EACH_BAD(b) EXPECT(SOMA_EINVAL, soma_dense_forward(&L, &X, b, Ao, &E));
    EACH_BAD(b) EXPECT(SOMA_EINVAL, soma_dense_forward(&L, &X, Z, b, &E));
    EXPECT(SOMA_EDIM, soma_dense_forward(&L, &Xw, Z, Ao, &E));
    EXPECT(SOMA_EDIM, soma_dense_forward(&L, &X, Zw, Ao, &E));
    EXPECT(SOMA_EDIM, soma_dense_forward(&L, &X, Z, Ar, &E));
    EXPECT(SOMA_EALIAS, soma_dense_forward(&L, &X, Z, Z, &E)); /* tanh: not in place */
    soma_matrix Wout;
    ck_assert_int_eq(soma_matrix_view(&Wout, L.W.data, 3, 2, 2), SOMA_OK);
    watch_mem(L.W.data, 6 * sizeof(double));
    soma_matrix X2 = mat(3, 3);
    EXPECT(SOMA_EALIAS, soma_dense_forward(&L, &X2, &Wout, Ar, &E));
}

static void case_soma_dense_backward_dz(void)
{
    soma_dense L = layer32(), broken;
    soma_matrix X = mat(4, 3), dZm = mat(4, 2), dZw = mat(4, 3);
    soma_matrix *dW = out_mat(3, 2), *db = out_mat(1, 2), *dX = out_mat(4, 3);
    soma_matrix *dWw = out_mat(2, 3), *dbw = out_mat(1, 3), *dXw = out_mat(4, 2);
    EXPECT(SOMA_EINVAL, soma_dense_backward_dz(NULL, &X, &dZm, dW, db, dX, &E));
    for (int i = 0; broken_layer(i, &broken); i++)
        EXPECT(SOMA_EINVAL, soma_dense_backward_dz(&broken, &X, &dZm, dW, db, dX, &E));
    EACH_BAD(b)
    EXPECT(SOMA_EINVAL, soma_dense_backward_dz(&L, b, &dZm, dW, db, dX, &E));
    EACH_BAD(b) EXPECT(SOMA_EINVAL, soma_dense_backward_dz(&L, &X, b, dW, db, dX, &E));
    EACH_BAD(b)
    EXPECT(SOMA_EINVAL, soma_dense_backward_dz(&L, &X, &dZm, b, db, dX, &E));
    EACH_BAD(b)
    EXPECT(SOMA_EINVAL, soma_dense_backward_dz(&L, &X, &dZm, dW, b, dX, &E));
    EACH_INVALID(b)
    EXPECT(SOMA_EINVAL, soma_dense_backward_dz(&L, &X, &dZm, dW, db, b, &E));
    EXPECT(SOMA_EDIM, soma_dense_backward_dz(&L, &X, &dZw, dW, db, dX, &E));
    EXPECT(SOMA_EDIM, soma_dense_backward_dz(&L, &X, &dZm, dWw, db, dX, &E));
    EXPECT(SOMA_EDIM, soma_dense_backward_dz(&L, &X, &dZm, dW, dbw, dX, &E));
    EXPECT(SOMA_EDIM, soma_dense_backward_dz(&L, &X, &dZm, dW, db, dXw, &E));
    EXPECT(SOMA_EALIAS, soma_dense_backward_dz(&L, &X, &dZm, dW, db, &X, &E));
    soma_matrix db_in_dW;
    ck_assert_int_eq(soma_matrix_view(&db_in_dW, dW->data + 2, 1, 2, 2), SOMA_OK);
    EXPECT(SOMA_EALIAS, soma_dense_backward_dz(&L, &X, &dZm, dW, &db_in_dW, NULL, &E));
}

static void case_soma_dense_backward(void)
{
    soma_dense L = layer32(), broken;
    soma_matrix X = mat(4, 3), Z = mat(4, 2), Am = mat(4, 2), dA = mat(4, 2);
    soma_matrix *dZ = out_mat(4, 2), *dW = out_mat(3, 2), *db = out_mat(1, 2);
    soma_matrix *dX = out_mat(4, 3), *wrong = out_mat(3, 2);
    EXPECT(SOMA_EINVAL, soma_dense_backward(NULL, &X, &Z, &Am, &dA, dZ, dW, db, dX, &E));
    for (int i = 0; broken_layer(i, &broken); i++)
        EXPECT(SOMA_EINVAL,
               soma_dense_backward(&broken, &X, &Z, &Am, &dA, dZ, dW, db, dX, &E));
    EACH_BAD(b)
    EXPECT(SOMA_EINVAL, soma_dense_backward(&L, b, &Z, &Am, &dA, dZ, dW, db, dX, &E));
    EACH_BAD(b)
    EXPECT(SOMA_EINVAL, soma_dense_backward(&L, &X, b, &Am, &dA, dZ, dW, db, dX, &E));
    EACH_BAD(b)
    EXPECT(SOMA_EINVAL, soma_dense_backward(&L, &X, &Z, b, &dA, dZ, dW, db, dX, &E));
    EACH_BAD(b)
    EXPECT(SOMA_EINVAL, soma_dense_backward(&L, &X, &Z, &Am, b, dZ, dW, db, dX, &E));
    EACH_BAD(b)
    EXPECT(SOMA_EINVAL, soma_dense_backward(&L, &X, &Z, &Am, &dA, b, dW, db, dX, &E));
    EACH_BAD(b)
    EXPECT(SOMA_EINVAL, soma_dense_backward(&L, &X, &Z, &Am, &dA, dZ, b, db, dX, &E));
    EACH_BAD(b)
    EXPECT(SOMA_EINVAL, soma_dense_backward(&L, &X, &Z, &Am, &dA, dZ, dW, b, dX, &E));
    EACH_INVALID(b)
    EXPECT(SOMA_EINVAL, soma_dense_backward(&L, &X, &Z, &Am, &dA, dZ, dW, db, b, &E));
    EXPECT(SOMA_EDIM, soma_dense_backward(&L, &X, &Z, &Am, &dA, wrong, dW, db, dX, &E));
    EXPECT(SOMA_EDIM, soma_dense_backward(&L, &X, &Z, &Am, &dA, dZ, dW, db, wrong, &E));
    soma_matrix Zw = mat(3, 2);
    EXPECT(SOMA_EDIM, soma_dense_backward(&L, &X, &Zw, &Am, &dA, dZ, dW, db, dX, &E));
    /* dZ is written first: an output that overlaps it must be refused
     * before anything is written. */
    EXPECT(SOMA_EALIAS, soma_dense_backward(&L, &X, &Z, &Am, &dA, dZ, dW, db, &X, &E));
    EXPECT(SOMA_EALIAS, soma_dense_backward(&L, &X, &Z, &Am, &dA, &Z, dW, db, dX, &E));
}

/* ---- optim.h ---------------------------------------------------------------- */

static void case_soma_optim_config_default(void)
{
    /* No pointers; any kind value is copied, the rest are the defaults. */
    soma_optim_config c = soma_optim_config_default(SOMA_OPTIMIZER_COUNT);
    ck_assert_int_eq(c.kind, SOMA_OPTIMIZER_COUNT);
    ck_assert_double_eq(c.beta2, 0.999);
}

static void case_soma_optimizer_name(void)
{
    ck_assert_ptr_null(soma_optimizer_name(SOMA_OPTIMIZER_COUNT));
    ck_assert_ptr_null(soma_optimizer_name((soma_optimizer)-1));
}

static void case_soma_optim_init(void)
{
    soma_optim o;
    poison(&o, sizeof o);
    soma_optim_config ok = soma_optim_config_default(SOMA_OPTIMIZER_ADAM), c;
    EXPECT(SOMA_EINVAL, soma_optim_init(NULL, &ok, 4, &A));
    EXPECT(SOMA_EINVAL, soma_optim_init(&o, NULL, 4, &A));
    EXPECT(SOMA_EINVAL, soma_optim_init(&o, &ok, 4, &no_fns));
    c = ok;
    c.kind = SOMA_OPTIMIZER_COUNT;
    EXPECT(SOMA_EINVAL, soma_optim_init(&o, &c, 4, &A));
    const double bad_unit[4] = {1.0, -0.1, NAN, INFINITY};
    for (int i = 0; i < 4; i++) {
        c = soma_optim_config_default(SOMA_OPTIMIZER_MOMENTUM);
        c.momentum = bad_unit[i];
        EXPECT(SOMA_EINVAL, soma_optim_init(&o, &c, 4, &A));
        c = soma_optim_config_default(SOMA_OPTIMIZER_NESTEROV);
        c.momentum = bad_unit[i];
        EXPECT(SOMA_EINVAL, soma_optim_init(&o, &c, 4, &A));
        c = ok;
        c.beta1 = bad_unit[i];
        EXPECT(SOMA_EINVAL, soma_optim_init(&o, &c, 4, &A));
        c = ok;
        c.beta2 = bad_unit[i];
        EXPECT(SOMA_EINVAL, soma_optim_init(&o, &c, 4, &A));
    }
    const double bad_eps[3] = {0.0, -1e-8, NAN};
    for (int i = 0; i < 3; i++) {
        c = ok;
        c.epsilon = bad_eps[i];
        EXPECT(SOMA_EINVAL, soma_optim_init(&o, &c, 4, &A));
    }
    c = ok;
    c.epsilon = INFINITY;
    EXPECT(SOMA_EINVAL, soma_optim_init(&o, &c, 4, &A));
    EXPECT(SOMA_EOVERFLOW, soma_optim_init(&o, &ok, SIZE_MAX / 4, &A));
    ck_assert_uint_eq(T.allocs, 0);
}

static void case_soma_optim_free(void)
{
    soma_optim_free(NULL);
    soma_optim o;
    memset(&o, 0, sizeof o);
    soma_optim_free(&o);
}

static void case_soma_optim_reset(void)
{
    EXPECT(SOMA_EINVAL, soma_optim_reset(NULL));
}

static void case_soma_optim_step(void)
{
    soma_optim o;
    soma_optim_config c = soma_optim_config_default(SOMA_OPTIMIZER_MOMENTUM);
    ck_assert_int_eq(soma_optim_init(&o, &c, 3, &A), SOMA_OK);
    double p[3] = {1, 2, 3}, g[3] = {0.5, 0.5, 0.5};
    /* The state, field by field (the struct's padding is unspecified). */
    watch_mem(&o.t, sizeof o.t);
    watch_mem(&o.n, sizeof o.n);
    watch_mem(&o.v, sizeof o.v);
    watch_mem(o.v, 3 * sizeof(double));
    watch_mem(p, sizeof p);
    watch_mem(g, sizeof g);
    EXPECT(SOMA_EINVAL, soma_optim_step(NULL, 0.1, p, g));
    EXPECT(SOMA_EINVAL, soma_optim_step(&o, 0.1, NULL, g));
    EXPECT(SOMA_EINVAL, soma_optim_step(&o, 0.1, p, NULL));
    const double lrs[4] = {-0.1, NAN, INFINITY, -INFINITY};
    for (int i = 0; i < 4; i++)
        EXPECT(SOMA_EINVAL, soma_optim_step(&o, lrs[i], p, g));
    soma_optim_free(&o);
}

static void case_soma_lr_schedule_value(void)
{
    soma_lr_schedule s = {SOMA_SCHEDULE_STEP, 0.5, 2, 10, 0.0}, b;
    double lr;
    poison(&lr, sizeof lr);
    EXPECT(SOMA_EINVAL, soma_lr_schedule_value(NULL, 0.1, 0, &lr));
    EXPECT(SOMA_EINVAL, soma_lr_schedule_value(&s, 0.1, 0, NULL));
    const double lr0[4] = {0.0, -0.1, NAN, INFINITY};
    for (int i = 0; i < 4; i++)
        EXPECT(SOMA_EINVAL, soma_lr_schedule_value(&s, lr0[i], 0, &lr));
    const double gammas[4] = {0.0, 1.5, NAN, -0.5};
    for (int i = 0; i < 4; i++) {
        b = s;
        b.gamma = gammas[i];
        EXPECT(SOMA_EINVAL, soma_lr_schedule_value(&b, 0.1, 3, &lr));
        b.kind = SOMA_SCHEDULE_EXPONENTIAL;
        EXPECT(SOMA_EINVAL, soma_lr_schedule_value(&b, 0.1, 3, &lr));
    }
    b = s;
    b.step = 0;
    EXPECT(SOMA_EINVAL, soma_lr_schedule_value(&b, 0.1, 3, &lr));
    b = s;
    b.kind = SOMA_SCHEDULE_COSINE;
    b.period = 0;
    EXPECT(SOMA_EINVAL, soma_lr_schedule_value(&b, 0.1, 3, &lr));
    b.period = 10;
    const double lr_mins[3] = {0.2, -0.01, NAN};
    for (int i = 0; i < 3; i++) {
        b.lr_min = lr_mins[i];
        EXPECT(SOMA_EINVAL, soma_lr_schedule_value(&b, 0.1, 3, &lr));
    }
    b = s;
    b.kind = SOMA_SCHEDULE_COUNT;
    EXPECT(SOMA_EINVAL, soma_lr_schedule_value(&b, 0.1, 3, &lr));
}

/* ---- mlp.h ------------------------------------------------------------------ */

static void case_soma_init_name(void)
{
    ck_assert_ptr_null(soma_init_name(SOMA_INIT_COUNT));
    ck_assert_ptr_null(soma_init_name((soma_init)-1));
}

static void case_soma_mlp_spec_default(void)
{
    soma_mlp_spec s = soma_mlp_spec_default();
    ck_assert_int_eq(s.loss, SOMA_LOSS_BCE);
    ck_assert_uint_eq(s.seed, 42);
}

static void case_soma_mlp_create(void)
{
    soma_mlp *out;
    poison(&out, sizeof out);
    const size_t ok[3] = {2, 3, 1};
    soma_mlp_spec s = soma_mlp_spec_default(), b;
    EXPECT(SOMA_EINVAL, soma_mlp_create(NULL, ok, 3, &s, &A, &E));
    EXPECT(SOMA_EINVAL, soma_mlp_create(&out, NULL, 3, &s, &A, &E));
    EXPECT(SOMA_EINVAL, soma_mlp_create(&out, ok, 0, &s, &A, &E));
    EXPECT(SOMA_EINVAL, soma_mlp_create(&out, ok, 1, &s, &A, &E));
    EXPECT(SOMA_EINVAL, soma_mlp_create(&out, ok, 3, &s, &no_fns, &E));
    EXPECT(SOMA_EINVAL, soma_mlp_create(&out, ok, 3, &s, &no_free, &E));
    const size_t zero[3] = {2, 0, 1}, zero_in[3] = {0, 3, 1};
    EXPECT(SOMA_EINVAL, soma_mlp_create(&out, zero, 3, &s, &A, &E));
    EXPECT(SOMA_EINVAL, soma_mlp_create(&out, zero_in, 3, &s, &A, &E));
    b = s;
    b.hidden = SOMA_ACTIVATION_COUNT;
    EXPECT(SOMA_EINVAL, soma_mlp_create(&out, ok, 3, &b, &A, &E));
    b = s;
    b.output = (soma_activation)-1;
    EXPECT(SOMA_EINVAL, soma_mlp_create(&out, ok, 3, &b, &A, &E));
    b = s;
    b.loss = SOMA_LOSS_COUNT;
    EXPECT(SOMA_EINVAL, soma_mlp_create(&out, ok, 3, &b, &A, &E));
    b = s;
    b.init = SOMA_INIT_COUNT;
    EXPECT(SOMA_EINVAL, soma_mlp_create(&out, ok, 3, &b, &A, &E));
    b = s;
    b.hidden_alpha = NAN;
    EXPECT(SOMA_EINVAL, soma_mlp_create(&out, ok, 3, &b, &A, &E));
    b = s;
    b.output_alpha = INFINITY;
    EXPECT(SOMA_EINVAL, soma_mlp_create(&out, ok, 3, &b, &A, &E));
    const double scales[3] = {0.0, -1.0, NAN};
    for (int i = 0; i < 3; i++) {
        b = s;
        b.init = SOMA_INIT_NORMAL;
        b.init_scale = scales[i];
        EXPECT(SOMA_EINVAL, soma_mlp_create(&out, ok, 3, &b, &A, &E));
        b.init = SOMA_INIT_ORTHOGONAL;
        EXPECT(SOMA_EINVAL, soma_mlp_create(&out, ok, 3, &b, &A, &E));
    }
    const size_t wide[3] = {2, (size_t)INT_MAX + 1, 1};
    EXPECT(SOMA_EOVERFLOW, soma_mlp_create(&out, wide, 3, &s, &A, &E));
    /* Two layers of (2^31 - 1)^2 weights: ~2^63 parameters, whose byte
     * count overflows size_t. */
    const size_t big[3] = {INT_MAX, INT_MAX, INT_MAX};
    EXPECT(SOMA_EOVERFLOW, soma_mlp_create(&out, big, 3, &s, &A, &E));
    ck_assert_uint_eq(T.allocs, 0);
}

static void case_soma_mlp_destroy(void)
{
    soma_mlp_destroy(NULL);
}

/* A model whose parameters and gradients are watched. */
static soma_mlp *watched_mlp(void)
{
    soma_mlp *m = small_mlp();
    soma_matrix p, g;
    ck_assert_int_eq(soma_mlp_params(m, &p, &E), SOMA_OK);
    ck_assert_int_eq(soma_mlp_grads(m, &g, &E), SOMA_OK);
    watch_mem(p.data, p.cols * sizeof(double));
    watch_mem(g.data, g.cols * sizeof(double));
    return m;
}

static void case_soma_mlp_init_weights(void)
{
    soma_mlp *m = watched_mlp();
    EXPECT(SOMA_EINVAL, soma_mlp_init_weights(NULL, SOMA_INIT_HE_NORMAL, 1.0, 1, &E));
    EXPECT(SOMA_EINVAL, soma_mlp_init_weights(m, SOMA_INIT_COUNT, 1.0, 1, &E));
    EXPECT(SOMA_EINVAL, soma_mlp_init_weights(m, (soma_init)-1, 1.0, 1, &E));
    const double scales[4] = {0.0, -1.0, NAN, INFINITY};
    for (int i = 0; i < 4; i++) {
        EXPECT(SOMA_EINVAL, soma_mlp_init_weights(m, SOMA_INIT_NORMAL, scales[i], 1, &E));
        EXPECT(SOMA_EINVAL,
               soma_mlp_init_weights(m, SOMA_INIT_ORTHOGONAL, scales[i], 1, &E));
    }
    soma_mlp_spec s;
    ck_assert_int_eq(soma_mlp_get_spec(m, &s, &E), SOMA_OK);
    ck_assert_int_eq(s.init, SOMA_INIT_XAVIER_UNIFORM);
    soma_mlp_destroy(m);
}

static void case_soma_mlp_n_layers(void)
{
    ck_assert_uint_eq(soma_mlp_n_layers(NULL), 0);
}

static void case_soma_mlp_size(void)
{
    ck_assert_uint_eq(soma_mlp_size(NULL, 0), 0);
    soma_mlp *m = small_mlp();
    ck_assert_uint_eq(soma_mlp_size(m, 3), 0);
    ck_assert_uint_eq(soma_mlp_size(m, SIZE_MAX), 0);
    soma_mlp_destroy(m);
}

static void case_soma_mlp_n_params(void)
{
    ck_assert_uint_eq(soma_mlp_n_params(NULL), 0);
}

static void case_soma_mlp_get_spec(void)
{
    soma_mlp *m = small_mlp();
    soma_mlp_spec s;
    poison(&s, sizeof s);
    EXPECT(SOMA_EINVAL, soma_mlp_get_spec(NULL, &s, &E));
    EXPECT(SOMA_EINVAL, soma_mlp_get_spec(m, NULL, &E));
    soma_mlp_destroy(m);
}

static void case_soma_mlp_layer(void)
{
    soma_mlp *m = small_mlp();
    soma_matrix W, b;
    poison(&W, sizeof W);
    poison(&b, sizeof b);
    EXPECT(SOMA_EINVAL, soma_mlp_layer(NULL, 0, &W, &b, &E));
    EXPECT(SOMA_EINVAL, soma_mlp_layer(m, 2, &W, &b, &E));
    EXPECT(SOMA_EINVAL, soma_mlp_layer(m, SIZE_MAX, &W, &b, &E));
    EXPECT(SOMA_OK, soma_mlp_layer(m, 0, NULL, NULL, &E)); /* either may be NULL */
    soma_mlp_destroy(m);
}

static void case_soma_mlp_params(void)
{
    soma_mlp *m = small_mlp();
    soma_matrix p;
    poison(&p, sizeof p);
    EXPECT(SOMA_EINVAL, soma_mlp_params(NULL, &p, &E));
    EXPECT(SOMA_EINVAL, soma_mlp_params(m, NULL, &E));
    soma_mlp_destroy(m);
}

static void case_soma_mlp_grads(void)
{
    soma_mlp *m = small_mlp();
    soma_matrix g;
    poison(&g, sizeof g);
    EXPECT(SOMA_EINVAL, soma_mlp_grads(NULL, &g, &E));
    EXPECT(SOMA_EINVAL, soma_mlp_grads(m, NULL, &E));
    soma_mlp_destroy(m);
}

/* Data for small_mlp: X n x 2, Y n x 1 (0/1), plus broken copies. */
typedef struct mlp_data {
    soma_matrix X, Y, X0, Y0, Xw, Yw, Yr;
} mlp_data;

static mlp_data data_for_small(void)
{
    mlp_data d;
    d.X = mat(6, 2);
    d.Y = labels01(6);
    d.X0 = mat(0, 2);
    d.Y0 = mat(0, 1);
    d.Xw = mat(6, 3);
    d.Yw = mat(6, 2);
    d.Yr = labels01(5);
    return d;
}

/* Run `call` (using X and Y) with NaN, infinity and out-of-range targets
 * spliced in; each must give its status. */
#define EACH_NONFINITE_XY(d, st_x, st_y, call)                                           \
    do {                                                                                 \
        const double sp_[3] = {NAN, INFINITY, -INFINITY};                                \
        for (int s_ = 0; s_ < 3; s_++) {                                                 \
            double keep_ = (d).X.data[3];                                                \
            (d).X.data[3] = sp_[s_];                                                     \
            EXPECT(st_x, call);                                                          \
            (d).X.data[3] = keep_;                                                       \
            keep_ = (d).Y.data[2];                                                       \
            (d).Y.data[2] = sp_[s_];                                                     \
            EXPECT(st_y, call);                                                          \
            (d).Y.data[2] = keep_;                                                       \
        }                                                                                \
        const double bce_[3] = {1.5, -0.5, 2.0};                                         \
        for (int s_ = 0; s_ < 3; s_++) {                                                 \
            double keep_ = (d).Y.data[1];                                                \
            (d).Y.data[1] = bce_[s_];                                                    \
            EXPECT(SOMA_EINVAL, call);                                                   \
            (d).Y.data[1] = keep_;                                                       \
        }                                                                                \
    } while (0)

static void case_soma_mlp_gradient(void)
{
    soma_mlp *m = watched_mlp();
    mlp_data d = data_for_small();
    double J;
    poison(&J, sizeof J);
    EXPECT(SOMA_EINVAL, soma_mlp_gradient(NULL, &d.X, &d.Y, 0, &J, &E));
    EACH_BAD(b) EXPECT(SOMA_EINVAL, soma_mlp_gradient(m, b, &d.Y, 0, &J, &E));
    EACH_BAD(b) EXPECT(SOMA_EINVAL, soma_mlp_gradient(m, &d.X, b, 0, &J, &E));
    EXPECT(SOMA_EINVAL, soma_mlp_gradient(m, &d.X0, &d.Y0, 0, &J, &E)); /* n = 0 */
    EXPECT(SOMA_EDIM, soma_mlp_gradient(m, &d.Xw, &d.Y, 0, &J, &E));
    EXPECT(SOMA_EDIM, soma_mlp_gradient(m, &d.X, &d.Yw, 0, &J, &E));
    EXPECT(SOMA_EDIM, soma_mlp_gradient(m, &d.X, &d.Yr, 0, &J, &E));
    EXPECT(SOMA_EINVAL, soma_mlp_gradient(m, &d.X, &d.Y, -1.0, &J, &E));
    EXPECT(SOMA_EINVAL, soma_mlp_gradient(m, &d.X, &d.Y, NAN, &J, &E));
    EXPECT(SOMA_EINVAL, soma_mlp_gradient(m, &d.X, &d.Y, INFINITY, &J, &E));
    EACH_NONFINITE_XY(d, SOMA_ENONFINITE, SOMA_ENONFINITE,
                      soma_mlp_gradient(m, &d.X, &d.Y, 0, &J, &E));
    soma_mlp_destroy(m);
}

static void case_soma_history_free(void)
{
    soma_history_free(NULL);
    soma_history h;
    memset(&h, 0, sizeof h);
    soma_history_free(&h);
    soma_history_free(&h);
}

static void case_soma_fit_options_default(void)
{
    soma_fit_options o = soma_fit_options_default();
    ck_assert_uint_eq(o.epochs, 1000);
    ck_assert(o.callback == NULL);
    ck_assert_ptr_null(o.X_val);
}

static void case_soma_mlp_fit(void)
{
    soma_mlp *m = watched_mlp();
    mlp_data d = data_for_small();
    soma_history h;
    poison(&h, sizeof h);
    soma_fit_options o = soma_fit_options_default(), b;
    o.epochs = 2;
    EXPECT(SOMA_EINVAL, soma_mlp_fit(NULL, &d.X, &d.Y, &o, &h, &E));
    EACH_BAD(x) EXPECT(SOMA_EINVAL, soma_mlp_fit(m, x, &d.Y, &o, &h, &E));
    EACH_BAD(x) EXPECT(SOMA_EINVAL, soma_mlp_fit(m, &d.X, x, &o, &h, &E));
    EXPECT(SOMA_EINVAL, soma_mlp_fit(m, &d.X, &d.Y, NULL, &h, &E));
    EXPECT(SOMA_EINVAL, soma_mlp_fit(m, &d.X0, &d.Y0, &o, &h, &E)); /* n = 0 */
    EXPECT(SOMA_EDIM, soma_mlp_fit(m, &d.Xw, &d.Y, &o, &h, &E));
    EXPECT(SOMA_EDIM, soma_mlp_fit(m, &d.X, &d.Yw, &o, &h, &E));
    EXPECT(SOMA_EDIM, soma_mlp_fit(m, &d.X, &d.Yr, &o, &h, &E));
    EACH_NONFINITE_XY(d, SOMA_ENONFINITE, SOMA_ENONFINITE,
                      soma_mlp_fit(m, &d.X, &d.Y, &o, &h, &E));
    /* Options out of range. */
    const double lrs[5] = {0.0, -0.1, NAN, INFINITY, -INFINITY};
    for (int i = 0; i < 5; i++) {
        b = o;
        b.learning_rate = lrs[i];
        EXPECT(SOMA_EINVAL, soma_mlp_fit(m, &d.X, &d.Y, &b, &h, &E));
    }
    b = o;
    b.epochs = 0;
    EXPECT(SOMA_EINVAL, soma_mlp_fit(m, &d.X, &d.Y, &b, &h, &E));
    const double unit[4] = {-0.1, 1.0, NAN, INFINITY};
    for (int i = 0; i < 4; i++) {
        b = o;
        b.validation_fraction = unit[i];
        EXPECT(SOMA_EINVAL, soma_mlp_fit(m, &d.X, &d.Y, &b, &h, &E));
        b = o;
        b.dropout = unit[i];
        EXPECT(SOMA_EINVAL, soma_mlp_fit(m, &d.X, &d.Y, &b, &h, &E));
    }
    const double neg[3] = {-1.0, NAN, INFINITY};
    for (int i = 0; i < 3; i++) {
        b = o;
        b.l2 = neg[i];
        EXPECT(SOMA_EINVAL, soma_mlp_fit(m, &d.X, &d.Y, &b, &h, &E));
        b = o;
        b.clip_norm = neg[i];
        EXPECT(SOMA_EINVAL, soma_mlp_fit(m, &d.X, &d.Y, &b, &h, &E));
        b = o;
        b.early_stopping = true;
        b.min_delta = neg[i];
        EXPECT(SOMA_EINVAL, soma_mlp_fit(m, &d.X, &d.Y, &b, &h, &E));
    }
    b = o;
    b.early_stopping = true;
    b.patience = 0;
    EXPECT(SOMA_EINVAL, soma_mlp_fit(m, &d.X, &d.Y, &b, &h, &E));
    b = o;
    b.optimizer.kind = SOMA_OPTIMIZER_ADAM;
    b.optimizer.beta1 = 1.0;
    EXPECT(SOMA_EINVAL, soma_mlp_fit(m, &d.X, &d.Y, &b, &h, &E));
    b = o;
    b.optimizer.kind = SOMA_OPTIMIZER_COUNT;
    EXPECT(SOMA_EINVAL, soma_mlp_fit(m, &d.X, &d.Y, &b, &h, &E));
    b = o;
    b.schedule.kind = SOMA_SCHEDULE_STEP;
    b.schedule.step = 0;
    EXPECT(SOMA_EINVAL, soma_mlp_fit(m, &d.X, &d.Y, &b, &h, &E));
    /* A validation split that leaves no training rows, or none to validate. */
    b = o;
    b.validation_fraction = 0.01;
    EXPECT(SOMA_EINVAL, soma_mlp_fit(m, &d.X, &d.Y, &b, &h, &E));
    b.validation_fraction = 0.99;
    EXPECT(SOMA_EINVAL, soma_mlp_fit(m, &d.X, &d.Y, &b, &h, &E));
    /* Explicit validation data: half given, invalid, wrong shape, NaN. */
    b = o;
    b.X_val = &d.X;
    EXPECT(SOMA_EINVAL, soma_mlp_fit(m, &d.X, &d.Y, &b, &h, &E));
    b = o;
    b.Y_val = &d.Y;
    EXPECT(SOMA_EINVAL, soma_mlp_fit(m, &d.X, &d.Y, &b, &h, &E));
    b.X_val = &bad_ld;
    EXPECT(SOMA_EINVAL, soma_mlp_fit(m, &d.X, &d.Y, &b, &h, &E));
    b.X_val = &d.Xw;
    EXPECT(SOMA_EDIM, soma_mlp_fit(m, &d.X, &d.Y, &b, &h, &E));
    b.X_val = &d.X0;
    b.Y_val = &d.Y0;
    EXPECT(SOMA_EINVAL, soma_mlp_fit(m, &d.X, &d.Y, &b, &h, &E));
    soma_matrix Xv = mat(3, 2), Yv = labels01(3);
    Xv.data[0] = NAN;
    b.X_val = &Xv;
    b.Y_val = &Yv;
    EXPECT(SOMA_ENONFINITE, soma_mlp_fit(m, &d.X, &d.Y, &b, &h, &E));
    Xv.data[0] = 0.0;
    Yv.data[0] = 3.0;
    EXPECT(SOMA_EINVAL, soma_mlp_fit(m, &d.X, &d.Y, &b, &h, &E));
    /* Epochs whose history would not fit in size_t bytes. */
    b = o;
    b.epochs = SIZE_MAX / 2;
    EXPECT(SOMA_EOVERFLOW, soma_mlp_fit(m, &d.X, &d.Y, &b, &h, &E));
    soma_mlp_destroy(m);
}

static void case_soma_mlp_predict_proba(void)
{
    soma_mlp *m = watched_mlp();
    mlp_data d = data_for_small();
    soma_matrix *P = out_mat(6, 1), *Pw = out_mat(6, 2), *Pr = out_mat(5, 1);
    EXPECT(SOMA_EINVAL, soma_mlp_predict_proba(NULL, &d.X, P, &E));
    EACH_BAD(b) EXPECT(SOMA_EINVAL, soma_mlp_predict_proba(m, b, P, &E));
    EACH_BAD(b) EXPECT(SOMA_EINVAL, soma_mlp_predict_proba(m, &d.X, b, &E));
    EXPECT(SOMA_EDIM, soma_mlp_predict_proba(m, &d.Xw, P, &E));
    EXPECT(SOMA_EDIM, soma_mlp_predict_proba(m, &d.X, Pw, &E));
    EXPECT(SOMA_EDIM, soma_mlp_predict_proba(m, &d.X, Pr, &E));
    soma_matrix Xa;
    ck_assert_int_eq(soma_matrix_view(&Xa, P->data, 3, 2, 2), SOMA_OK);
    soma_matrix Pa;
    ck_assert_int_eq(soma_matrix_view(&Pa, P->data + 2, 3, 1, 1), SOMA_OK);
    EXPECT(SOMA_EALIAS, soma_mlp_predict_proba(m, &Xa, &Pa, &E));
    /* Zero rows: nothing to do. */
    soma_matrix P0 = mat(0, 1);
    EXPECT(SOMA_OK, soma_mlp_predict_proba(m, &d.X0, &P0, &E));
    /* Non-finite inputs are not an error: they give non-finite outputs. */
    unwatch_all();
    d.X.data[0] = NAN;
    OK(soma_mlp_predict_proba(m, &d.X, P, &E));
    ck_assert(isnan(P->data[0]));
    soma_mlp_destroy(m);
}

static void case_soma_mlp_predict(void)
{
    soma_mlp *m = watched_mlp();
    mlp_data d = data_for_small();
    soma_matrix *lab = out_mat(6, 1), *lw = out_mat(6, 2);
    EXPECT(SOMA_EINVAL, soma_mlp_predict(NULL, &d.X, lab, &E));
    EACH_BAD(b) EXPECT(SOMA_EINVAL, soma_mlp_predict(m, b, lab, &E));
    EACH_BAD(b) EXPECT(SOMA_EINVAL, soma_mlp_predict(m, &d.X, b, &E));
    EXPECT(SOMA_EDIM, soma_mlp_predict(m, &d.Xw, lab, &E));
    EXPECT(SOMA_EDIM, soma_mlp_predict(m, &d.X, lw, &E));
    /* Regression models have no classes. */
    soma_mlp_spec s = soma_mlp_spec_default();
    s.output = SOMA_ACTIVATION_IDENTITY;
    s.loss = SOMA_LOSS_MSE;
    const size_t sizes[2] = {2, 1};
    soma_mlp *r;
    ck_assert_int_eq(soma_mlp_create(&r, sizes, 2, &s, &A, &E), SOMA_OK);
    EXPECT(SOMA_ENOTSUP, soma_mlp_predict(r, &d.X, lab, &E));
    soma_mlp_destroy(r);
    soma_mlp_destroy(m);
}

static soma_scaler fitted_scaler(void);

static void case_soma_mlp_set_class_names(void)
{
    soma_mlp *m = watched_mlp(); /* one sigmoid output: two classes */
    const char *two[2] = {"no", "yes"}, *three[3] = {"a", "b", "c"};
    const char *null_name[2] = {"no", NULL}, *empty[2] = {"no", ""};
    EXPECT(SOMA_EINVAL, soma_mlp_set_class_names(NULL, two, 2, &E));
    EXPECT(SOMA_EINVAL, soma_mlp_set_class_names(m, NULL, 2, &E));
    EXPECT(SOMA_EDIM, soma_mlp_set_class_names(m, three, 3, &E));
    EXPECT(SOMA_EDIM, soma_mlp_set_class_names(m, two, 1, &E));
    EXPECT(SOMA_EINVAL, soma_mlp_set_class_names(m, null_name, 2, &E));
    EXPECT(SOMA_EINVAL, soma_mlp_set_class_names(m, empty, 2, &E));
    char *long_name = arena_alloc(1100);
    memset(long_name, 'x', 1099);
    const char *too_long[2] = {"no", long_name};
    EXPECT(SOMA_EINVAL, soma_mlp_set_class_names(m, too_long, 2, &E));
    soma_mlp_spec s = soma_mlp_spec_default();
    s.output = SOMA_ACTIVATION_IDENTITY;
    s.loss = SOMA_LOSS_MSE;
    const size_t sizes[2] = {2, 1};
    soma_mlp *r;
    ck_assert_int_eq(soma_mlp_create(&r, sizes, 2, &s, &A, &E), SOMA_OK);
    EXPECT(SOMA_EINVAL, soma_mlp_set_class_names(r, two, 2, &E));
    soma_mlp_destroy(r);
    ck_assert_uint_eq(soma_mlp_n_class_names(m), 0);
    soma_mlp_destroy(m);
}

static void case_soma_mlp_n_class_names(void)
{
    ck_assert_uint_eq(soma_mlp_n_class_names(NULL), 0);
}

static void case_soma_mlp_class_name(void)
{
    ck_assert_ptr_null(soma_mlp_class_name(NULL, 0));
    soma_mlp *m = small_mlp();
    ck_assert_ptr_null(soma_mlp_class_name(m, 0));
    ck_assert_ptr_null(soma_mlp_class_name(m, SIZE_MAX));
    soma_mlp_destroy(m);
}

static void case_soma_mlp_set_preprocessing(void)
{
    soma_mlp *m = watched_mlp(); /* input width 2 */
    soma_scaler s = fitted_scaler(), unfitted, wide;
    memset(&unfitted, 0, sizeof unfitted);
    soma_matrix X3 = mat(4, 3);
    ck_assert_int_eq(soma_scaler_fit(&wide, &X3, &A, &E), SOMA_OK);
    EXPECT(SOMA_EINVAL, soma_mlp_set_preprocessing(NULL, &s, &E));
    EXPECT(SOMA_ESTATE, soma_mlp_set_preprocessing(m, &unfitted, &E));
    EXPECT(SOMA_EDIM, soma_mlp_set_preprocessing(m, &wide, &E));
    s.scale.data[0] = -1.0;
    EXPECT(SOMA_EINVAL, soma_mlp_set_preprocessing(m, &s, &E));
    s.mean.data[0] = NAN;
    EXPECT(SOMA_ENONFINITE, soma_mlp_set_preprocessing(m, &s, &E));
    ck_assert_ptr_null(soma_mlp_preprocessing(m));
    soma_scaler_free(&s);
    soma_scaler_free(&wide);
    soma_mlp_destroy(m);
}

static void case_soma_mlp_preprocessing(void)
{
    ck_assert_ptr_null(soma_mlp_preprocessing(NULL));
}

static void case_soma_mlp_set_metadata(void)
{
    soma_mlp *m = watched_mlp();
    EXPECT(SOMA_EINVAL, soma_mlp_set_metadata(NULL, "x", &E));
    char *big = arena_alloc(65538);
    memset(big, 'm', 65537);
    EXPECT(SOMA_EINVAL, soma_mlp_set_metadata(m, big, &E));
    ck_assert_str_eq(soma_mlp_metadata(m), "");
    soma_mlp_destroy(m);
}

static void case_soma_mlp_metadata(void)
{
    ck_assert_str_eq(soma_mlp_metadata(NULL), "");
}

static void case_soma_mlp_spec_classifier(void)
{
    ck_assert_int_eq(soma_mlp_spec_classifier(2).loss, SOMA_LOSS_BCE);
    ck_assert_int_eq(soma_mlp_spec_classifier(0).output, SOMA_ACTIVATION_SIGMOID);
    ck_assert_int_eq(soma_mlp_spec_classifier(3).output, SOMA_ACTIVATION_SOFTMAX);
    ck_assert_int_eq(soma_mlp_spec_classifier(SIZE_MAX).loss, SOMA_LOSS_CE);
}

static void case_soma_classifier_outputs(void)
{
    ck_assert_uint_eq(soma_classifier_outputs(0), 1);
    ck_assert_uint_eq(soma_classifier_outputs(2), 1);
    ck_assert_uint_eq(soma_classifier_outputs(SIZE_MAX), SIZE_MAX);
}

static void case_soma_fit_options_adam(void)
{
    ck_assert_uint_eq(soma_fit_options_adam(0).epochs, 200);
    ck_assert_int_eq(soma_fit_options_adam(SIZE_MAX).optimizer.kind, SOMA_OPTIMIZER_ADAM);
}

static void case_soma_mlp_predictor_create(void)
{
    soma_mlp *m = watched_mlp();
    soma_mlp_predictor *out;
    poison(&out, sizeof out);
    EXPECT(SOMA_EINVAL, soma_mlp_predictor_create(NULL, m, 4, &A, &E));
    EXPECT(SOMA_EINVAL, soma_mlp_predictor_create(&out, NULL, 4, &A, &E));
    EXPECT(SOMA_EINVAL, soma_mlp_predictor_create(&out, m, 0, &A, &E));
    EXPECT(SOMA_EINVAL, soma_mlp_predictor_create(&out, m, 4, &no_fns, &E));
    EXPECT(SOMA_EINVAL, soma_mlp_predictor_create(&out, m, 4, &no_free, &E));
    soma_mlp_destroy(m);
}

static void case_soma_mlp_predictor_destroy(void)
{
    soma_mlp_predictor_destroy(NULL);
}

/* A predictor on the small model, made before the outputs are watched. */
static soma_mlp_predictor *small_predictor(soma_mlp *m)
{
    soma_mlp_predictor *pr;
    ck_assert_int_eq(soma_mlp_predictor_create(&pr, m, 4, &A, &E), SOMA_OK);
    return pr;
}

static void case_soma_mlp_predictor_proba(void)
{
    soma_mlp *m = watched_mlp();
    soma_mlp_predictor *pr = small_predictor(m);
    mlp_data d = data_for_small();
    soma_matrix *P = out_mat(6, 1), *Pw = out_mat(6, 2);
    EXPECT(SOMA_EINVAL, soma_mlp_predictor_proba(NULL, &d.X, P, &E));
    EACH_BAD(b) EXPECT(SOMA_EINVAL, soma_mlp_predictor_proba(pr, b, P, &E));
    EACH_BAD(b) EXPECT(SOMA_EINVAL, soma_mlp_predictor_proba(pr, &d.X, b, &E));
    EXPECT(SOMA_EDIM, soma_mlp_predictor_proba(pr, &d.Xw, P, &E));
    EXPECT(SOMA_EDIM, soma_mlp_predictor_proba(pr, &d.X, Pw, &E));
    soma_mlp_predictor_destroy(pr);
    soma_mlp_destroy(m);
}

static void case_soma_mlp_predictor_labels(void)
{
    soma_mlp *m = watched_mlp();
    soma_mlp_predictor *pr = small_predictor(m);
    mlp_data d = data_for_small();
    soma_matrix *lab = out_mat(6, 1), *lw = out_mat(6, 2);
    EXPECT(SOMA_EINVAL, soma_mlp_predictor_labels(NULL, &d.X, lab, &E));
    EACH_BAD(b) EXPECT(SOMA_EINVAL, soma_mlp_predictor_labels(pr, b, lab, &E));
    EACH_BAD(b) EXPECT(SOMA_EINVAL, soma_mlp_predictor_labels(pr, &d.X, b, &E));
    EXPECT(SOMA_EDIM, soma_mlp_predictor_labels(pr, &d.Xw, lab, &E));
    EXPECT(SOMA_EDIM, soma_mlp_predictor_labels(pr, &d.X, lw, &E));
    soma_mlp_spec s = soma_mlp_spec_default();
    s.output = SOMA_ACTIVATION_IDENTITY;
    s.loss = SOMA_LOSS_MSE;
    const size_t sizes[2] = {2, 1};
    soma_mlp *r;
    ck_assert_int_eq(soma_mlp_create(&r, sizes, 2, &s, &A, &E), SOMA_OK);
    soma_mlp_predictor *rp = small_predictor(r);
    EXPECT(SOMA_ENOTSUP, soma_mlp_predictor_labels(rp, &d.X, lab, &E));
    soma_mlp_predictor_destroy(rp);
    soma_mlp_destroy(r);
    soma_mlp_predictor_destroy(pr);
    soma_mlp_destroy(m);
}

static void case_soma_mlp_evaluate(void)
{
    soma_mlp *m = watched_mlp();
    mlp_data d = data_for_small();
    double loss, acc;
    poison(&loss, sizeof loss);
    poison(&acc, sizeof acc);
    EXPECT(SOMA_EINVAL, soma_mlp_evaluate(NULL, &d.X, &d.Y, &loss, &acc, &E));
    EACH_BAD(b) EXPECT(SOMA_EINVAL, soma_mlp_evaluate(m, b, &d.Y, &loss, &acc, &E));
    EACH_BAD(b) EXPECT(SOMA_EINVAL, soma_mlp_evaluate(m, &d.X, b, &loss, &acc, &E));
    EXPECT(SOMA_EINVAL, soma_mlp_evaluate(m, &d.X0, &d.Y0, &loss, &acc, &E));
    EXPECT(SOMA_EDIM, soma_mlp_evaluate(m, &d.Xw, &d.Y, &loss, &acc, &E));
    EXPECT(SOMA_EDIM, soma_mlp_evaluate(m, &d.X, &d.Yw, &loss, &acc, &E));
    EXPECT(SOMA_EDIM, soma_mlp_evaluate(m, &d.X, &d.Yr, &loss, &acc, &E));
    EACH_NONFINITE_XY(d, SOMA_ENONFINITE, SOMA_ENONFINITE,
                      soma_mlp_evaluate(m, &d.X, &d.Y, &loss, &acc, &E));
    soma_mlp_destroy(m);
}

/* ---- model.h ---------------------------------------------------------------- */

static void case_soma_mlp_save_buffer(void)
{
    soma_mlp *m = small_mlp();
    size_t n;
    unsigned char buf[16];
    poison(buf, sizeof buf);
    poison(&n, sizeof n);
    EXPECT(SOMA_EINVAL, soma_mlp_save_buffer(NULL, false, buf, sizeof buf, &n, &E));
    EXPECT(SOMA_EINVAL, soma_mlp_save_buffer(m, false, buf, sizeof buf, NULL, &E));
    EXPECT(SOMA_EINVAL, soma_mlp_save_buffer(m, false, NULL, 8, &n, &E));
    unwatch_all();
    /* Too small: SOMA_EDIM, *size set (documented), the buffer untouched. */
    poison(buf, sizeof buf);
    EXPECT(SOMA_EDIM, soma_mlp_save_buffer(m, true, buf, sizeof buf, &n, &E));
    ck_assert_uint_gt(n, sizeof buf);
    soma_mlp_destroy(m);
}

static void case_soma_mlp_save(void)
{
    soma_mlp *m = small_mlp();
    const char *path = tmp_path("model.soma");
    EXPECT(SOMA_EINVAL, soma_mlp_save(NULL, path, false, &E));
    EXPECT(SOMA_EINVAL, soma_mlp_save(m, NULL, false, &E));
    EXPECT(SOMA_EIO, soma_mlp_save(m, "/nonexistent-soma-dir/m.soma", false, &E));
    EXPECT(SOMA_EIO, soma_mlp_save(m, tmp_dir, false, &E)); /* a folder */
    EXPECT(SOMA_EIO, soma_mlp_save(m, "", false, &E));
    ck_assert_int_eq(tmp_entries(), 0); /* no temporary file left */
    soma_mlp_destroy(m);
}

/* Malformed files every loader must refuse: n_bad entries of (bytes, len,
 * status). */
typedef struct bad_file {
    const unsigned char *bytes;
    size_t len;
    soma_status status;
} bad_file;

static size_t bad_files(const unsigned char *good, size_t n,
                        const unsigned char *other_kind, size_t n_other, bad_file *out)
{
    size_t k = 0;
    out[k++] = (bad_file){good, 0, SOMA_EFORMAT};     /* empty */
    out[k++] = (bad_file){good, 7, SOMA_EFORMAT};     /* inside the magic */
    out[k++] = (bad_file){good, 31, SOMA_EFORMAT};    /* inside the header */
    out[k++] = (bad_file){good, n - 1, SOMA_EFORMAT}; /* truncated */
    out[k++] = (bad_file){other_version(good, n), n, SOMA_EVERSION};
    out[k++] = (bad_file){other_kind, n_other, SOMA_EFORMAT}; /* the other kind */
    unsigned char *crc = arena_alloc(n);
    memcpy(crc, good, n);
    crc[n - 1] ^= 0x40; /* a payload bit: the checksum no longer matches */
    out[k++] = (bad_file){crc, n, SOMA_ECHECKSUM};
    unsigned char *longer = arena_alloc(n + 1);
    memcpy(longer, good, n);
    out[k++] = (bad_file){longer, n + 1, SOMA_EFORMAT}; /* trailing byte */
    return k;
}

static void case_soma_mlp_load_buffer(void)
{
    size_t n, np;
    const unsigned char *good = mlp_file(&n), *perc = perceptron_file(&np);
    soma_mlp *out;
    poison(&out, sizeof out);
    EXPECT(SOMA_EINVAL, soma_mlp_load_buffer(NULL, good, n, &A, &E));
    EXPECT(SOMA_EINVAL, soma_mlp_load_buffer(&out, NULL, n, &A, &E));
    EXPECT(SOMA_EINVAL, soma_mlp_load_buffer(&out, good, n, &no_fns, &E));
    bad_file bad[8];
    size_t nb = bad_files(good, n, perc, np, bad);
    for (size_t i = 0; i < nb; i++) {
        EXPECT(bad[i].status,
               soma_mlp_load_buffer(&out, bad[i].bytes, bad[i].len, &A, &E));
        EXPECT(bad[i].status,
               soma_mlp_load_buffer(&out, bad[i].bytes, bad[i].len, &A, NULL));
    }
}

static void case_soma_mlp_load(void)
{
    size_t n, np;
    const unsigned char *good = mlp_file(&n), *perc = perceptron_file(&np);
    soma_mlp *out;
    poison(&out, sizeof out);
    const char *path = tmp_path("m.soma");
    EXPECT(SOMA_EINVAL, soma_mlp_load(NULL, path, &A, &E));
    EXPECT(SOMA_EINVAL, soma_mlp_load(&out, NULL, &A, &E));
    write_file(path, good, n);
    EXPECT(SOMA_EINVAL, soma_mlp_load(&out, path, &no_fns, &E));
    EXPECT(SOMA_EIO, soma_mlp_load(&out, "/nonexistent-soma-dir/m.soma", &A, &E));
    EXPECT(SOMA_EIO, soma_mlp_load(&out, tmp_dir, &A, &E)); /* a folder */
    bad_file bad[8];
    size_t nb = bad_files(good, n, perc, np, bad);
    for (size_t i = 0; i < nb; i++) {
        write_file(path, bad[i].bytes, bad[i].len);
        EXPECT(bad[i].status, soma_mlp_load(&out, path, &A, &E));
    }
}

static void case_soma_perceptron_save_buffer(void)
{
    soma_perceptron *fresh;
    ck_assert_int_eq(soma_perceptron_create(&fresh, NULL, &A, &E), SOMA_OK);
    soma_perceptron *p = fitted_perceptron();
    size_t n;
    unsigned char buf[16];
    poison(buf, sizeof buf);
    poison(&n, sizeof n);
    EXPECT(SOMA_EINVAL, soma_perceptron_save_buffer(NULL, buf, sizeof buf, &n, &E));
    EXPECT(SOMA_EINVAL, soma_perceptron_save_buffer(p, buf, sizeof buf, NULL, &E));
    EXPECT(SOMA_EINVAL, soma_perceptron_save_buffer(p, NULL, 8, &n, &E));
    EXPECT(SOMA_ESTATE, soma_perceptron_save_buffer(fresh, buf, sizeof buf, &n, &E));
    unwatch_all();
    poison(buf, sizeof buf);
    EXPECT(SOMA_EDIM, soma_perceptron_save_buffer(p, buf, sizeof buf, &n, &E));
    soma_perceptron_destroy(p);
    soma_perceptron_destroy(fresh);
}

static void case_soma_perceptron_save(void)
{
    soma_perceptron *fresh;
    ck_assert_int_eq(soma_perceptron_create(&fresh, NULL, &A, &E), SOMA_OK);
    soma_perceptron *p = fitted_perceptron();
    const char *path = tmp_path("p.soma");
    EXPECT(SOMA_EINVAL, soma_perceptron_save(NULL, path, &E));
    EXPECT(SOMA_EINVAL, soma_perceptron_save(p, NULL, &E));
    EXPECT(SOMA_ESTATE, soma_perceptron_save(fresh, path, &E));
    EXPECT(SOMA_EIO, soma_perceptron_save(p, "/nonexistent-soma-dir/p.soma", &E));
    EXPECT(SOMA_EIO, soma_perceptron_save(p, tmp_dir, &E));
    ck_assert_int_eq(tmp_entries(), 0);
    soma_perceptron_destroy(p);
    soma_perceptron_destroy(fresh);
}

static void case_soma_perceptron_load_buffer(void)
{
    size_t n, nm;
    const unsigned char *good = perceptron_file(&n), *mlp = mlp_file(&nm);
    soma_perceptron *out;
    poison(&out, sizeof out);
    EXPECT(SOMA_EINVAL, soma_perceptron_load_buffer(NULL, good, n, &A, &E));
    EXPECT(SOMA_EINVAL, soma_perceptron_load_buffer(&out, NULL, n, &A, &E));
    EXPECT(SOMA_EINVAL, soma_perceptron_load_buffer(&out, good, n, &no_free, &E));
    bad_file bad[8];
    size_t nb = bad_files(good, n, mlp, nm, bad);
    for (size_t i = 0; i < nb; i++)
        EXPECT(bad[i].status,
               soma_perceptron_load_buffer(&out, bad[i].bytes, bad[i].len, &A, &E));
}

static void case_soma_perceptron_load(void)
{
    size_t n, nm;
    const unsigned char *good = perceptron_file(&n), *mlp = mlp_file(&nm);
    soma_perceptron *out;
    poison(&out, sizeof out);
    const char *path = tmp_path("p.soma");
    EXPECT(SOMA_EINVAL, soma_perceptron_load(NULL, path, &A, &E));
    EXPECT(SOMA_EINVAL, soma_perceptron_load(&out, NULL, &A, &E));
    EXPECT(SOMA_EIO, soma_perceptron_load(&out, "/nonexistent-soma-dir/p", &A, &E));
    bad_file bad[8];
    size_t nb = bad_files(good, n, mlp, nm, bad);
    for (size_t i = 0; i < nb; i++) {
        write_file(path, bad[i].bytes, bad[i].len);
        EXPECT(bad[i].status, soma_perceptron_load(&out, path, &A, &E));
    }
}

/* ---- perceptron.h ------------------------------------------------------------- */

static void case_soma_perceptron_defaults(void)
{
    soma_perceptron_options o = soma_perceptron_defaults();
    ck_assert_uint_eq(o.max_epochs, 1000);
}

static void case_soma_perceptron_create(void)
{
    soma_perceptron *out;
    poison(&out, sizeof out);
    soma_perceptron_options o = soma_perceptron_defaults(), b;
    EXPECT(SOMA_EINVAL, soma_perceptron_create(NULL, &o, &A, &E));
    EXPECT(SOMA_EINVAL, soma_perceptron_create(&out, &o, &no_fns, &E));
    const double lrs[4] = {0.0, -1.0, NAN, INFINITY};
    for (int i = 0; i < 4; i++) {
        b = o;
        b.learning_rate = lrs[i];
        EXPECT(SOMA_EINVAL, soma_perceptron_create(&out, &b, &A, &E));
    }
    b = o;
    b.max_epochs = 0;
    EXPECT(SOMA_EINVAL, soma_perceptron_create(&out, &b, &A, &E));
    const double sds[3] = {-0.1, NAN, INFINITY};
    for (int i = 0; i < 3; i++) {
        b = o;
        b.init_sd = sds[i];
        EXPECT(SOMA_EINVAL, soma_perceptron_create(&out, &b, &A, &E));
    }
    ck_assert_uint_eq(T.allocs, 0);
}

static void case_soma_perceptron_destroy(void)
{
    soma_perceptron_destroy(NULL);
}

/* A fitted perceptron (d = 2) whose observable state is recorded, to check
 * that failed calls keep it. */
typedef struct perceptron_state {
    double w[2], b;
    size_t count;
} perceptron_state;

static perceptron_state perceptron_observe(const soma_perceptron *p)
{
    perceptron_state s;
    memset(&s, 0, sizeof s);
    soma_matrix W;
    ck_assert_int_eq(soma_matrix_view(&W, s.w, 1, 2, 2), SOMA_OK);
    ck_assert_int_eq(soma_perceptron_get_weights(p, &W, &s.b, &E), SOMA_OK);
    const soma_perceptron_epoch *e;
    ck_assert_int_eq(soma_perceptron_history(p, &e, &s.count, &E), SOMA_OK);
    return s;
}

static void case_soma_perceptron_fit(void)
{
    soma_perceptron *p = fitted_perceptron();
    const perceptron_state before = perceptron_observe(p);
    soma_matrix X = mat(4, 2), y = labels01(4), X0 = mat(0, 2), y0 = mat(0, 1);
    soma_matrix Xd0 = mat(4, 0), y2 = mat(4, 2), yr = labels01(3);
    soma_rng r;
    ck_assert_int_eq(soma_rng_seed(&r, 1), SOMA_OK);
    EXPECT(SOMA_EINVAL, soma_perceptron_fit(NULL, &X, &y, &r, &E));
    EACH_BAD(b) EXPECT(SOMA_EINVAL, soma_perceptron_fit(p, b, &y, &r, &E));
    EACH_BAD(b) EXPECT(SOMA_EINVAL, soma_perceptron_fit(p, &X, b, &r, &E));
    EXPECT(SOMA_EINVAL, soma_perceptron_fit(p, &X, &y, NULL, &E));
    EXPECT(SOMA_EINVAL, soma_perceptron_fit(p, &X0, &y0, &r, &E)); /* n = 0 */
    EXPECT(SOMA_EINVAL, soma_perceptron_fit(p, &Xd0, &y, &r, &E)); /* d = 0 */
    EXPECT(SOMA_EINVAL, soma_perceptron_fit(p, &X, &y2, &r, &E));  /* y not n x 1 */
    EXPECT(SOMA_EDIM, soma_perceptron_fit(p, &X, &yr, &r, &E));
    const double sp[3] = {NAN, INFINITY, -INFINITY};
    for (int i = 0; i < 3; i++) {
        X.data[3] = sp[i];
        EXPECT(SOMA_ENONFINITE, soma_perceptron_fit(p, &X, &y, &r, &E));
        X.data[3] = 0.5;
        y.data[2] = sp[i];
        EXPECT(SOMA_ENONFINITE, soma_perceptron_fit(p, &X, &y, &r, &E));
        y.data[2] = 0.0;
    }
    const double labels[4] = {2.0, -1.0, 0.5, 1e300};
    for (int i = 0; i < 4; i++) {
        y.data[1] = labels[i];
        EXPECT(SOMA_EINVAL, soma_perceptron_fit(p, &X, &y, &r, &E));
    }
    const perceptron_state after = perceptron_observe(p);
    ck_assert_mem_eq(&before, &after, sizeof before);
    soma_perceptron_destroy(p);
}

static void case_soma_perceptron_predict(void)
{
    soma_perceptron *fresh, *p = fitted_perceptron();
    ck_assert_int_eq(soma_perceptron_create(&fresh, NULL, &A, &E), SOMA_OK);
    soma_matrix X = mat(4, 2), Xw = mat(4, 3);
    soma_matrix *out = out_mat(4, 1), *ow = out_mat(4, 2), *orow = out_mat(3, 1);
    EXPECT(SOMA_EINVAL, soma_perceptron_predict(NULL, &X, out, &E));
    EACH_BAD(b) EXPECT(SOMA_EINVAL, soma_perceptron_predict(p, b, out, &E));
    EACH_BAD(b) EXPECT(SOMA_EINVAL, soma_perceptron_predict(p, &X, b, &E));
    EXPECT(SOMA_ESTATE, soma_perceptron_predict(fresh, &X, out, &E));
    EXPECT(SOMA_EDIM, soma_perceptron_predict(p, &Xw, out, &E));
    EXPECT(SOMA_EDIM, soma_perceptron_predict(p, &X, ow, &E));
    EXPECT(SOMA_EDIM, soma_perceptron_predict(p, &X, orow, &E));
    soma_matrix Xa, oa;
    ck_assert_int_eq(soma_matrix_view(&Xa, out->data, 2, 2, 2), SOMA_OK);
    ck_assert_int_eq(soma_matrix_view(&oa, out->data + 1, 2, 1, 1), SOMA_OK);
    EXPECT(SOMA_EALIAS, soma_perceptron_predict(p, &Xa, &oa, &E));
    soma_perceptron_destroy(p);
    soma_perceptron_destroy(fresh);
}

static void case_soma_perceptron_decision_function(void)
{
    soma_perceptron *fresh, *p = fitted_perceptron();
    ck_assert_int_eq(soma_perceptron_create(&fresh, NULL, &A, &E), SOMA_OK);
    soma_matrix X = mat(4, 2), Xw = mat(4, 1);
    soma_matrix *out = out_mat(4, 1), *ow = out_mat(4, 2);
    EXPECT(SOMA_EINVAL, soma_perceptron_decision_function(NULL, &X, out, &E));
    EACH_BAD(b) EXPECT(SOMA_EINVAL, soma_perceptron_decision_function(p, b, out, &E));
    EACH_BAD(b) EXPECT(SOMA_EINVAL, soma_perceptron_decision_function(p, &X, b, &E));
    EXPECT(SOMA_ESTATE, soma_perceptron_decision_function(fresh, &X, out, &E));
    EXPECT(SOMA_EDIM, soma_perceptron_decision_function(p, &Xw, out, &E));
    EXPECT(SOMA_EDIM, soma_perceptron_decision_function(p, &X, ow, &E));
    soma_perceptron_destroy(p);
    soma_perceptron_destroy(fresh);
}

static void case_soma_perceptron_get_weights(void)
{
    soma_perceptron *fresh, *p = fitted_perceptron();
    ck_assert_int_eq(soma_perceptron_create(&fresh, NULL, &A, &E), SOMA_OK);
    soma_matrix *w = out_mat(1, 2), *ww = out_mat(1, 3), *wt = out_mat(2, 1);
    double bias;
    poison(&bias, sizeof bias);
    EXPECT(SOMA_EINVAL, soma_perceptron_get_weights(NULL, w, &bias, &E));
    EXPECT(SOMA_EINVAL, soma_perceptron_get_weights(p, NULL, NULL, &E));
    EACH_INVALID(b) EXPECT(SOMA_EINVAL, soma_perceptron_get_weights(p, b, &bias, &E));
    EXPECT(SOMA_ESTATE, soma_perceptron_get_weights(fresh, w, &bias, &E));
    EXPECT(SOMA_EDIM, soma_perceptron_get_weights(p, ww, &bias, &E));
    EXPECT(SOMA_EDIM, soma_perceptron_get_weights(p, wt, &bias, &E));
    soma_perceptron_destroy(p);
    soma_perceptron_destroy(fresh);
}

static void case_soma_perceptron_n_features(void)
{
    soma_perceptron *fresh, *p = fitted_perceptron();
    ck_assert_int_eq(soma_perceptron_create(&fresh, NULL, &A, &E), SOMA_OK);
    size_t d;
    poison(&d, sizeof d);
    EXPECT(SOMA_EINVAL, soma_perceptron_n_features(NULL, &d, &E));
    EXPECT(SOMA_EINVAL, soma_perceptron_n_features(p, NULL, &E));
    EXPECT(SOMA_ESTATE, soma_perceptron_n_features(fresh, &d, &E));
    soma_perceptron_destroy(p);
    soma_perceptron_destroy(fresh);
}

static void case_soma_perceptron_history(void)
{
    soma_perceptron *fresh, *p = fitted_perceptron();
    ck_assert_int_eq(soma_perceptron_create(&fresh, NULL, &A, &E), SOMA_OK);
    const soma_perceptron_epoch *e;
    size_t count;
    poison(&e, sizeof e);
    poison(&count, sizeof count);
    EXPECT(SOMA_EINVAL, soma_perceptron_history(NULL, &e, &count, &E));
    EXPECT(SOMA_EINVAL, soma_perceptron_history(p, NULL, &count, &E));
    EXPECT(SOMA_EINVAL, soma_perceptron_history(p, &e, NULL, &E));
    EXPECT(SOMA_ESTATE, soma_perceptron_history(fresh, &e, &count, &E));
    soma_perceptron_destroy(p);
    soma_perceptron_destroy(fresh);
}

static void case_soma_perceptron_converged(void)
{
    soma_perceptron *fresh, *p = fitted_perceptron();
    ck_assert_int_eq(soma_perceptron_create(&fresh, NULL, &A, &E), SOMA_OK);
    bool c;
    size_t e;
    poison(&c, sizeof c);
    poison(&e, sizeof e);
    EXPECT(SOMA_EINVAL, soma_perceptron_converged(NULL, &c, &e, &E));
    EXPECT(SOMA_EINVAL, soma_perceptron_converged(p, NULL, &e, &E));
    EXPECT(SOMA_ESTATE, soma_perceptron_converged(fresh, &c, &e, &E));
    soma_perceptron_destroy(p);
    soma_perceptron_destroy(fresh);
}

/* ---- data.h ----------------------------------------------------------------- */

static void case_soma_make_circles(void)
{
    soma_rng *r = watched_rng();
    soma_matrix X, y;
    poison(&X, sizeof X);
    poison(&y, sizeof y);
    EXPECT(SOMA_EINVAL, soma_make_circles(NULL, 10, 0.1, 0.5, true, &X, &y, &A, &E));
    EXPECT(SOMA_EINVAL, soma_make_circles(r, 10, 0.1, 0.5, true, NULL, &y, &A, &E));
    EXPECT(SOMA_EINVAL, soma_make_circles(r, 10, 0.1, 0.5, true, &X, NULL, &A, &E));
    EXPECT(SOMA_EINVAL, soma_make_circles(r, 10, 0.1, 0.5, true, &X, &y, &no_fns, &E));
    EXPECT(SOMA_EINVAL, soma_make_circles(r, 0, 0.1, 0.5, true, &X, &y, &A, &E));
    const double noise[3] = {-0.1, NAN, INFINITY}, factor[4] = {1.0, -0.1, NAN, 2.0};
    for (int i = 0; i < 3; i++)
        EXPECT(SOMA_EINVAL,
               soma_make_circles(r, 10, noise[i], 0.5, true, &X, &y, &A, &E));
    for (int i = 0; i < 4; i++)
        EXPECT(SOMA_EINVAL,
               soma_make_circles(r, 10, 0.1, factor[i], true, &X, &y, &A, &E));
    EXPECT(SOMA_EOVERFLOW,
           soma_make_circles(r, SIZE_MAX, 0.1, 0.5, true, &X, &y, &A, &E));
    EXPECT(SOMA_EOVERFLOW,
           soma_make_circles(r, SIZE_MAX / 8, 0.1, 0.5, true, &X, &y, &A, &E));
    ck_assert_uint_eq(T.allocs, 0);
}

static void case_soma_make_moons(void)
{
    soma_rng *r = watched_rng();
    soma_matrix X, y;
    poison(&X, sizeof X);
    poison(&y, sizeof y);
    EXPECT(SOMA_EINVAL, soma_make_moons(NULL, 10, 0.1, true, &X, &y, &A, &E));
    EXPECT(SOMA_EINVAL, soma_make_moons(r, 10, 0.1, true, NULL, &y, &A, &E));
    EXPECT(SOMA_EINVAL, soma_make_moons(r, 10, 0.1, true, &X, NULL, &A, &E));
    EXPECT(SOMA_EINVAL, soma_make_moons(r, 10, 0.1, true, &X, &y, &no_free, &E));
    EXPECT(SOMA_EINVAL, soma_make_moons(r, 0, 0.1, true, &X, &y, &A, &E));
    const double noise[3] = {-0.1, NAN, INFINITY};
    for (int i = 0; i < 3; i++)
        EXPECT(SOMA_EINVAL, soma_make_moons(r, 10, noise[i], true, &X, &y, &A, &E));
    EXPECT(SOMA_EOVERFLOW, soma_make_moons(r, SIZE_MAX / 8, 0.1, true, &X, &y, &A, &E));
    ck_assert_uint_eq(T.allocs, 0);
}

static void case_soma_make_blobs_defaults(void)
{
    soma_make_blobs_options o = soma_make_blobs_defaults();
    ck_assert_ptr_null(o.centers);
    ck_assert_ptr_null(o.cluster_stds);
}

static void case_soma_make_blobs(void)
{
    soma_rng *r = watched_rng();
    soma_matrix X, y, C;
    poison(&X, sizeof X);
    poison(&y, sizeof y);
    poison(&C, sizeof C);
    soma_make_blobs_options o = soma_make_blobs_defaults(), b;
    EXPECT(SOMA_EINVAL, soma_make_blobs(NULL, &o, &X, &y, &C, &A, &E));
    EXPECT(SOMA_EINVAL, soma_make_blobs(r, &o, NULL, &y, &C, &A, &E));
    EXPECT(SOMA_EINVAL, soma_make_blobs(r, &o, &X, NULL, &C, &A, &E));
    EXPECT(SOMA_EINVAL, soma_make_blobs(r, &o, &X, &y, &C, &no_fns, &E));
    const size_t zero_field[3] = {offsetof(soma_make_blobs_options, n_samples),
                                  offsetof(soma_make_blobs_options, n_features),
                                  offsetof(soma_make_blobs_options, n_centers)};
    for (int i = 0; i < 3; i++) {
        b = o;
        memset((char *)&b + zero_field[i], 0, sizeof(size_t));
        EXPECT(SOMA_EINVAL, soma_make_blobs(r, &b, &X, &y, &C, &A, &E));
    }
    const double stds[3] = {-1.0, NAN, INFINITY};
    for (int i = 0; i < 3; i++) {
        b = o;
        b.cluster_std = stds[i];
        EXPECT(SOMA_EINVAL, soma_make_blobs(r, &b, &X, &y, &C, &A, &E));
        double per[3] = {1.0, stds[i], 1.0};
        b = o;
        b.cluster_stds = per;
        EXPECT(SOMA_EINVAL, soma_make_blobs(r, &b, &X, &y, &C, &A, &E));
    }
    const double boxes[][2] = {
        {1, 1}, {2, -2}, {NAN, 1}, {0, INFINITY}, {-DBL_MAX, DBL_MAX}};
    for (size_t i = 0; i < sizeof boxes / sizeof boxes[0]; i++) {
        b = o;
        b.center_box_lo = boxes[i][0];
        b.center_box_hi = boxes[i][1];
        EXPECT(SOMA_EINVAL, soma_make_blobs(r, &b, &X, &y, &C, &A, &E));
    }
    EACH_INVALID(c)
    {
        b = o;
        b.centers = c;
        EXPECT(SOMA_EINVAL, soma_make_blobs(r, &b, &X, &y, &C, &A, &E));
    }
    soma_matrix empty = mat(0, 2), centers = mat(3, 2);
    b = o;
    b.centers = &empty;
    EXPECT(SOMA_EINVAL, soma_make_blobs(r, &b, &X, &y, &C, &A, &E));
    centers.data[3] = NAN;
    b.centers = &centers;
    EXPECT(SOMA_ENONFINITE, soma_make_blobs(r, &b, &X, &y, &C, &A, &E));
    b = o;
    b.n_centers = SIZE_MAX / 2;
    EXPECT(SOMA_EOVERFLOW, soma_make_blobs(r, &b, &X, &y, &C, &A, &E));
    ck_assert_uint_eq(T.allocs, 0);
}

static void case_soma_make_classification_defaults(void)
{
    soma_make_classification_options o = soma_make_classification_defaults();
    ck_assert_uint_eq(o.n_features, 20);
}

static void case_soma_make_classification(void)
{
    soma_rng *r = watched_rng();
    soma_matrix X, y;
    poison(&X, sizeof X);
    poison(&y, sizeof y);
    soma_make_classification_options o = soma_make_classification_defaults(), b;
    EXPECT(SOMA_EINVAL, soma_make_classification(NULL, &o, &X, &y, &A, &E));
    EXPECT(SOMA_EINVAL, soma_make_classification(r, &o, NULL, &y, &A, &E));
    EXPECT(SOMA_EINVAL, soma_make_classification(r, &o, &X, NULL, &A, &E));
    EXPECT(SOMA_EINVAL, soma_make_classification(r, &o, &X, &y, &no_fns, &E));
    const size_t zero_field[5] = {
        offsetof(soma_make_classification_options, n_samples),
        offsetof(soma_make_classification_options, n_features),
        offsetof(soma_make_classification_options, n_informative),
        offsetof(soma_make_classification_options, n_classes),
        offsetof(soma_make_classification_options, n_clusters_per_class)};
    for (int i = 0; i < 5; i++) {
        b = o;
        memset((char *)&b + zero_field[i], 0, sizeof(size_t));
        EXPECT(SOMA_EINVAL, soma_make_classification(r, &b, &X, &y, &A, &E));
    }
    b = o;
    b.n_redundant = 19; /* 2 + 19 > 20 features */
    EXPECT(SOMA_EINVAL, soma_make_classification(r, &b, &X, &y, &A, &E));
    b = o;
    b.n_repeated = SIZE_MAX; /* the sum overflows */
    EXPECT(SOMA_EINVAL, soma_make_classification(r, &b, &X, &y, &A, &E));
    b = o;
    b.n_classes = 3; /* 6 clusters > 2^2 vertices */
    EXPECT(SOMA_EINVAL, soma_make_classification(r, &b, &X, &y, &A, &E));
    const double bad_flip[3] = {-0.1, 1.5, NAN};
    for (int i = 0; i < 3; i++) {
        b = o;
        b.flip_y = bad_flip[i];
        EXPECT(SOMA_EINVAL, soma_make_classification(r, &b, &X, &y, &A, &E));
    }
    const double nonpos[3] = {0.0, -1.0, NAN};
    for (int i = 0; i < 3; i++) {
        b = o;
        b.class_sep = nonpos[i];
        EXPECT(SOMA_EINVAL, soma_make_classification(r, &b, &X, &y, &A, &E));
        b = o;
        b.scale = nonpos[i];
        EXPECT(SOMA_EINVAL, soma_make_classification(r, &b, &X, &y, &A, &E));
    }
    b = o;
    b.shift = INFINITY;
    EXPECT(SOMA_EINVAL, soma_make_classification(r, &b, &X, &y, &A, &E));
    double per[20];
    for (int i = 0; i < 20; i++)
        per[i] = 1.0;
    per[7] = NAN;
    b = o;
    b.shift_values = per;
    EXPECT(SOMA_EINVAL, soma_make_classification(r, &b, &X, &y, &A, &E));
    b = o;
    b.scale_values = per;
    EXPECT(SOMA_EINVAL, soma_make_classification(r, &b, &X, &y, &A, &E));
    const double w_bad[][2] = {{-0.5, 1.5}, {NAN, 0.5}};
    for (int i = 0; i < 2; i++) {
        b = o;
        b.weights = w_bad[i];
        b.n_weights = 2;
        EXPECT(SOMA_EINVAL, soma_make_classification(r, &b, &X, &y, &A, &E));
    }
    const double w3[3] = {0.3, 0.3, 0.4};
    b = o;
    b.weights = w3;
    b.n_weights = 3; /* n_classes is 2 */
    EXPECT(SOMA_EINVAL, soma_make_classification(r, &b, &X, &y, &A, &E));
    const double w_over[1] = {1.5}; /* the inferred last weight is negative */
    b.weights = w_over;
    b.n_weights = 1;
    EXPECT(SOMA_EINVAL, soma_make_classification(r, &b, &X, &y, &A, &E));
    b = o;
    b.n_samples = SIZE_MAX;
    EXPECT(SOMA_EOVERFLOW, soma_make_classification(r, &b, &X, &y, &A, &E));
    ck_assert_uint_eq(T.allocs, 0);
}

static void case_soma_scaler_fit(void)
{
    soma_scaler s;
    poison(&s, sizeof s);
    soma_matrix X = mat(4, 2), X0 = mat(0, 2), Xd0 = mat(4, 0);
    EXPECT(SOMA_EINVAL, soma_scaler_fit(NULL, &X, &A, &E));
    EACH_BAD(b) EXPECT(SOMA_EINVAL, soma_scaler_fit(&s, b, &A, &E));
    EXPECT(SOMA_EINVAL, soma_scaler_fit(&s, &X, &no_fns, &E));
    EXPECT(SOMA_EINVAL, soma_scaler_fit(&s, &X0, &A, &E));
    EXPECT(SOMA_EINVAL, soma_scaler_fit(&s, &Xd0, &A, &E));
    const double sp[3] = {NAN, INFINITY, -INFINITY};
    for (int i = 0; i < 3; i++) {
        X.data[5] = sp[i];
        EXPECT(SOMA_ENONFINITE, soma_scaler_fit(&s, &X, &A, &E));
    }
}

static soma_scaler fitted_scaler(void)
{
    soma_scaler s;
    soma_matrix X = mat(4, 2);
    ck_assert_int_eq(soma_scaler_fit(&s, &X, &A, &E), SOMA_OK);
    return s;
}

static void case_soma_scaler_init_fixed(void)
{
    soma_scaler s;
    poison(&s, sizeof s);
    EXPECT(SOMA_EINVAL, soma_scaler_init_fixed(NULL, 3, 0.0, 255.0, &A, &E));
    EXPECT(SOMA_EINVAL, soma_scaler_init_fixed(&s, 0, 0.0, 255.0, &A, &E));
    EXPECT(SOMA_EINVAL, soma_scaler_init_fixed(&s, 3, NAN, 255.0, &A, &E));
    EXPECT(SOMA_EINVAL, soma_scaler_init_fixed(&s, 3, 0.0, 0.0, &A, &E));
    EXPECT(SOMA_EINVAL, soma_scaler_init_fixed(&s, 3, 0.0, -1.0, &A, &E));
    EXPECT(SOMA_EINVAL, soma_scaler_init_fixed(&s, 3, 0.0, INFINITY, &A, &E));
    EXPECT(SOMA_EINVAL, soma_scaler_init_fixed(&s, 3, 0.0, 255.0, &no_fns, &E));
    EXPECT(SOMA_EOVERFLOW, soma_scaler_init_fixed(&s, SIZE_MAX / 4, 0.0, 255.0, &A, &E));
    ck_assert_uint_eq(T.allocs, 0);
}

static void case_soma_scaler_save_buffer(void)
{
    soma_scaler s = fitted_scaler(), unfitted;
    memset(&unfitted, 0, sizeof unfitted);
    size_t n;
    unsigned char buf[16];
    poison(buf, sizeof buf);
    poison(&n, sizeof n);
    EXPECT(SOMA_EINVAL, soma_scaler_save_buffer(NULL, buf, sizeof buf, &n, &E));
    EXPECT(SOMA_EINVAL, soma_scaler_save_buffer(&s, buf, sizeof buf, NULL, &E));
    EXPECT(SOMA_EINVAL, soma_scaler_save_buffer(&s, NULL, 8, &n, &E));
    EXPECT(SOMA_ESTATE, soma_scaler_save_buffer(&unfitted, buf, sizeof buf, &n, &E));
    s.scale.data[1] = 0.0;
    EXPECT(SOMA_EINVAL, soma_scaler_save_buffer(&s, buf, sizeof buf, &n, &E));
    s.scale.data[1] = NAN;
    EXPECT(SOMA_ENONFINITE, soma_scaler_save_buffer(&s, buf, sizeof buf, &n, &E));
    s.scale.data[1] = 1.0;
    unwatch_all();
    poison(buf, sizeof buf);
    EXPECT(SOMA_EDIM, soma_scaler_save_buffer(&s, buf, sizeof buf, &n, &E));
    soma_scaler_free(&s);
}

static void case_soma_scaler_save(void)
{
    soma_scaler s = fitted_scaler(), unfitted;
    memset(&unfitted, 0, sizeof unfitted);
    const char *path = tmp_path("s.soma");
    EXPECT(SOMA_EINVAL, soma_scaler_save(NULL, path, &E));
    EXPECT(SOMA_EINVAL, soma_scaler_save(&s, NULL, &E));
    EXPECT(SOMA_ESTATE, soma_scaler_save(&unfitted, path, &E));
    EXPECT(SOMA_EIO, soma_scaler_save(&s, "/nonexistent-soma-dir/s.soma", &E));
    EXPECT(SOMA_EIO, soma_scaler_save(&s, tmp_dir, &E));
    ck_assert_int_eq(tmp_entries(), 0);
    soma_scaler_free(&s);
}

/* A serialized fitted scaler (arena memory). */
static const unsigned char *scaler_file(size_t *n)
{
    soma_scaler s = fitted_scaler();
    ck_assert_int_eq(soma_scaler_save_buffer(&s, NULL, 0, n, &E), SOMA_OK);
    unsigned char *b = arena_alloc(*n);
    ck_assert_int_eq(soma_scaler_save_buffer(&s, b, *n, n, &E), SOMA_OK);
    soma_scaler_free(&s);
    return b;
}

static void case_soma_scaler_load_buffer(void)
{
    size_t n, np;
    const unsigned char *good = scaler_file(&n), *perc = perceptron_file(&np);
    soma_scaler out;
    poison(&out, sizeof out);
    EXPECT(SOMA_EINVAL, soma_scaler_load_buffer(NULL, good, n, &A, &E));
    EXPECT(SOMA_EINVAL, soma_scaler_load_buffer(&out, NULL, n, &A, &E));
    EXPECT(SOMA_EINVAL, soma_scaler_load_buffer(&out, good, n, &no_fns, &E));
    bad_file bad[8];
    size_t nb = bad_files(good, n, perc, np, bad);
    for (size_t i = 0; i < nb; i++)
        EXPECT(bad[i].status,
               soma_scaler_load_buffer(&out, bad[i].bytes, bad[i].len, &A, &E));
}

static void case_soma_scaler_load(void)
{
    size_t n, np;
    const unsigned char *good = scaler_file(&n), *perc = perceptron_file(&np);
    soma_scaler out;
    poison(&out, sizeof out);
    const char *path = tmp_path("s.soma");
    EXPECT(SOMA_EINVAL, soma_scaler_load(NULL, path, &A, &E));
    EXPECT(SOMA_EINVAL, soma_scaler_load(&out, NULL, &A, &E));
    write_file(path, good, n);
    EXPECT(SOMA_EINVAL, soma_scaler_load(&out, path, &no_fns, &E));
    EXPECT(SOMA_EIO, soma_scaler_load(&out, "/nonexistent-soma-dir/s.soma", &A, &E));
    EXPECT(SOMA_EIO, soma_scaler_load(&out, tmp_dir, &A, &E));
    bad_file bad[8];
    size_t nb = bad_files(good, n, perc, np, bad);
    for (size_t i = 0; i < nb; i++) {
        write_file(path, bad[i].bytes, bad[i].len);
        EXPECT(bad[i].status, soma_scaler_load(&out, path, &A, &E));
    }
}

static void scaler_cases(soma_status (*fn)(const soma_scaler *, const soma_matrix *,
                                           soma_matrix *, soma_error_info *))
{
    soma_scaler s = fitted_scaler(), unfitted;
    memset(&unfitted, 0, sizeof unfitted);
    soma_matrix X = mat(3, 2), Xw = mat(3, 3);
    soma_matrix *out = out_mat(3, 2), *ow = out_mat(2, 2);
    EXPECT(SOMA_EINVAL, fn(NULL, &X, out, &E));
    EACH_BAD(b) EXPECT(SOMA_EINVAL, fn(&s, b, out, &E));
    EACH_BAD(b) EXPECT(SOMA_EINVAL, fn(&s, &X, b, &E));
    EXPECT(SOMA_ESTATE, fn(&unfitted, &X, out, &E));
    EXPECT(SOMA_EDIM, fn(&s, &Xw, out, &E));
    EXPECT(SOMA_EDIM, fn(&s, &X, ow, &E));
    soma_matrix big = mat(4, 2), a, c;
    watch_mem(big.data, 8 * sizeof(double));
    ck_assert_int_eq(soma_matrix_view_rows(&a, &big, 0, 3), SOMA_OK);
    ck_assert_int_eq(soma_matrix_view_rows(&c, &big, 1, 3), SOMA_OK);
    EXPECT(SOMA_EALIAS, fn(&s, &a, &c, &E));
    soma_scaler_free(&s);
}

static void case_soma_scaler_transform(void)
{
    scaler_cases(soma_scaler_transform);
}

static void case_soma_scaler_inverse_transform(void)
{
    scaler_cases(soma_scaler_inverse_transform);
}

static void case_soma_scaler_free(void)
{
    soma_scaler_free(NULL);
    soma_scaler s;
    memset(&s, 0, sizeof s);
    soma_scaler_free(&s);
    soma_scaler_free(&s);
}

static void case_soma_split_defaults(void)
{
    soma_split_options o = soma_split_defaults();
    ck_assert_double_eq(o.test_fraction, 0.25);
}

static void case_soma_train_test_split(void)
{
    soma_rng *r = watched_rng();
    soma_matrix X = mat(8, 2), y = labels01(8), yr = labels01(7), y2 = mat(8, 2);
    soma_matrix Xtr, Xte, ytr, yte;
    poison(&Xtr, sizeof Xtr);
    poison(&Xte, sizeof Xte);
    poison(&ytr, sizeof ytr);
    poison(&yte, sizeof yte);
    soma_split_options o = soma_split_defaults(), b;
    EACH_BAD(m)
    EXPECT(SOMA_EINVAL,
           soma_train_test_split(m, &y, &o, r, &Xtr, &Xte, &ytr, &yte, &A, &E));
    EACH_INVALID(m)
    EXPECT(SOMA_EINVAL,
           soma_train_test_split(&X, m, &o, r, &Xtr, &Xte, &ytr, &yte, &A, &E));
    EXPECT(SOMA_EINVAL,
           soma_train_test_split(&X, &y, &o, NULL, &Xtr, &Xte, &ytr, &yte, &A, &E));
    EXPECT(SOMA_EINVAL,
           soma_train_test_split(&X, &y, &o, r, NULL, &Xte, &ytr, &yte, &A, &E));
    EXPECT(SOMA_EINVAL,
           soma_train_test_split(&X, &y, &o, r, &Xtr, NULL, &ytr, &yte, &A, &E));
    EXPECT(SOMA_EINVAL,
           soma_train_test_split(&X, &y, &o, r, &Xtr, &Xte, NULL, &yte, &A, &E));
    EXPECT(SOMA_EINVAL,
           soma_train_test_split(&X, &y, &o, r, &Xtr, &Xte, &ytr, NULL, &A, &E));
    EXPECT(SOMA_EINVAL,
           soma_train_test_split(&X, &y, &o, r, &Xtr, &Xte, &ytr, &yte, &no_fns, &E));
    EXPECT(SOMA_EDIM,
           soma_train_test_split(&X, &yr, &o, r, &Xtr, &Xte, &ytr, &yte, &A, &E));
    const double fracs[4] = {0.0, 1.0, -0.25, NAN};
    for (int i = 0; i < 4; i++) {
        b = o;
        b.test_fraction = fracs[i];
        EXPECT(SOMA_EINVAL,
               soma_train_test_split(&X, &y, &b, r, &Xtr, &Xte, &ytr, &yte, &A, &E));
    }
    b = o;
    b.test_fraction = 0.99; /* leaves no training row */
    EXPECT(SOMA_EINVAL,
           soma_train_test_split(&X, &y, &b, r, &Xtr, &Xte, &ytr, &yte, &A, &E));
    b = o;
    b.test_count = 8;
    EXPECT(SOMA_EINVAL,
           soma_train_test_split(&X, &y, &b, r, &Xtr, &Xte, &ytr, &yte, &A, &E));
    b = o;
    b.stratify = true;
    b.shuffle = false;
    EXPECT(SOMA_EINVAL,
           soma_train_test_split(&X, &y, &b, r, &Xtr, &Xte, &ytr, &yte, &A, &E));
    b.shuffle = true;
    EXPECT(SOMA_EINVAL,
           soma_train_test_split(&X, NULL, &b, r, &Xtr, &Xte, NULL, NULL, &A, &E));
    EXPECT(SOMA_EINVAL,
           soma_train_test_split(&X, &y2, &b, r, &Xtr, &Xte, &ytr, &yte, &A, &E));
    y.data[3] = NAN;
    EXPECT(SOMA_ENONFINITE,
           soma_train_test_split(&X, &y, &b, r, &Xtr, &Xte, &ytr, &yte, &A, &E));
    soma_matrix X1 = mat(1, 2);
    EXPECT(SOMA_EINVAL,
           soma_train_test_split(&X1, NULL, &o, r, &Xtr, &Xte, NULL, NULL, &A, &E));
}

static void case_soma_class_count(void)
{
    size_t k;
    poison(&k, sizeof k);
    soma_matrix lab = labels01(4), wide = mat(4, 2);
    EXPECT(SOMA_EINVAL, soma_class_count(&lab, NULL, &E));
    EACH_BAD(b) EXPECT(SOMA_EINVAL, soma_class_count(b, &k, &E));
    EXPECT(SOMA_EINVAL, soma_class_count(&wide, &k, &E));
    const double bad[3] = {-1.0, 0.5, 1e300};
    for (int i = 0; i < 3; i++) {
        lab.data[2] = bad[i];
        EXPECT(SOMA_EINVAL, soma_class_count(&lab, &k, &E));
    }
    const double sp[3] = {NAN, INFINITY, -INFINITY};
    for (int i = 0; i < 3; i++) {
        lab.data[2] = sp[i];
        EXPECT(SOMA_ENONFINITE, soma_class_count(&lab, &k, &E));
    }
    ck_assert_uint_eq(T.allocs, 0);
}

static void case_soma_one_hot(void)
{
    soma_matrix out;
    poison(&out, sizeof out);
    soma_matrix lab = labels01(4), wide = mat(4, 2), none = mat(0, 1);
    EXPECT(SOMA_EINVAL, soma_one_hot(&lab, 2, NULL, &A, &E));
    EACH_BAD(b) EXPECT(SOMA_EINVAL, soma_one_hot(b, 2, &out, &A, &E));
    EXPECT(SOMA_EINVAL, soma_one_hot(&lab, 2, &out, &no_fns, &E));
    EXPECT(SOMA_EINVAL, soma_one_hot(&wide, 2, &out, &A, &E));
    EXPECT(SOMA_EINVAL, soma_one_hot(&none, 0, &out, &A, &E));
    lab.data[2] = 2.0; /* label >= k */
    EXPECT(SOMA_EINVAL, soma_one_hot(&lab, 2, &out, &A, &E));
    const double bad[3] = {-1.0, 0.5, 1e300};
    for (int i = 0; i < 3; i++) {
        lab.data[2] = bad[i];
        EXPECT(SOMA_EINVAL, soma_one_hot(&lab, 0, &out, &A, &E));
    }
    const double sp[3] = {NAN, INFINITY, -INFINITY};
    for (int i = 0; i < 3; i++) {
        lab.data[2] = sp[i];
        EXPECT(SOMA_ENONFINITE, soma_one_hot(&lab, 0, &out, &A, &E));
    }
    lab.data[2] = 0.0;
    EXPECT(SOMA_EOVERFLOW, soma_one_hot(&lab, SIZE_MAX / 4, &out, &A, &E));
    ck_assert_uint_eq(T.allocs, 0);
}

/* ---- metrics.h -------------------------------------------------------------- */

/* y_true / y_pred pairs that every label metric refuses, with the status. */
static void label_pair_cases(soma_status (*call)(const soma_matrix *,
                                                 const soma_matrix *))
{
    soma_matrix t = labels01(4), p = labels01(4), r = labels01(3), w = mat(4, 2);
    soma_matrix e = mat(0, 1);
    EACH_BAD(b) EXPECT(SOMA_EINVAL, call(b, &p));
    EACH_BAD(b) EXPECT(SOMA_EINVAL, call(&t, b));
    EXPECT(SOMA_EDIM, call(&t, &r));
    EXPECT(SOMA_EINVAL, call(&t, &w));
    EXPECT(SOMA_EINVAL, call(&e, &e));
    const double sp[3] = {NAN, INFINITY, -INFINITY};
    for (int i = 0; i < 3; i++) {
        t.data[1] = sp[i];
        EXPECT(SOMA_ENONFINITE, call(&t, &p));
        t.data[1] = 1.0;
        p.data[2] = sp[i];
        EXPECT(SOMA_ENONFINITE, call(&t, &p));
        p.data[2] = 0.0;
    }
}

static double *g_metric; /* where the wrappers below put their result */

static soma_status accuracy_call(const soma_matrix *t, const soma_matrix *p)
{
    return soma_accuracy(t, p, g_metric, &E);
}

static void case_soma_accuracy(void)
{
    double out;
    poison(&out, sizeof out);
    g_metric = &out;
    soma_matrix t = labels01(4);
    EXPECT(SOMA_EINVAL, soma_accuracy(&t, &t, NULL, &E));
    label_pair_cases(accuracy_call);
}

static soma_matrix *g_cm;

static soma_status confusion_call(const soma_matrix *t, const soma_matrix *p)
{
    return soma_confusion_matrix(t, p, 0, g_cm, &A, &E);
}

static void case_soma_confusion_matrix(void)
{
    soma_matrix cm;
    poison(&cm, sizeof cm);
    g_cm = &cm;
    soma_matrix t = labels01(4), p = labels01(4);
    EXPECT(SOMA_EINVAL, soma_confusion_matrix(&t, &p, 2, NULL, &A, &E));
    EXPECT(SOMA_EINVAL, soma_confusion_matrix(&t, &p, 2, &cm, &no_fns, &E));
    label_pair_cases(confusion_call);
    t.data[0] = 2.0; /* label >= k */
    EXPECT(SOMA_EINVAL, soma_confusion_matrix(&t, &p, 2, &cm, &A, &E));
    t.data[0] = -1.0;
    EXPECT(SOMA_EINVAL, soma_confusion_matrix(&t, &p, 0, &cm, &A, &E));
    t.data[0] = 0.5;
    EXPECT(SOMA_EINVAL, soma_confusion_matrix(&t, &p, 0, &cm, &A, &E));
    t.data[0] = 0.0;
    EXPECT(SOMA_EOVERFLOW, soma_confusion_matrix(&t, &p, (size_t)1 << 32, &cm, &A, &E));
    ck_assert_uint_eq(T.allocs, 0);
}

static double *g_p, *g_r, *g_f;

static soma_status prf_call(const soma_matrix *t, const soma_matrix *p)
{
    return soma_precision_recall_f1(t, p, SOMA_AVERAGE_MACRO, 0, g_p, g_r, g_f, &A, &E);
}

static void case_soma_precision_recall_f1(void)
{
    double pr, rc, f1;
    poison(&pr, sizeof pr);
    poison(&rc, sizeof rc);
    poison(&f1, sizeof f1);
    g_p = &pr;
    g_r = &rc;
    g_f = &f1;
    soma_matrix t = labels01(4), p = labels01(4);
    const soma_average bin = SOMA_AVERAGE_BINARY;
    EXPECT(SOMA_EINVAL,
           soma_precision_recall_f1(&t, &p, bin, 1, NULL, NULL, NULL, &A, &E));
    EXPECT(SOMA_EINVAL, soma_precision_recall_f1(&t, &p, SOMA_AVERAGE_COUNT, 1, &pr, &rc,
                                                 &f1, &A, &E));
    EXPECT(SOMA_EINVAL, soma_precision_recall_f1(&t, &p, bin, 2, &pr, &rc, &f1, &A, &E));
    EXPECT(SOMA_EINVAL,
           soma_precision_recall_f1(&t, &p, bin, 1, &pr, &rc, &f1, &no_fns, &E));
    label_pair_cases(prf_call);
    t.data[0] = 2.0; /* binary labels must be 0 or 1 */
    EXPECT(SOMA_EINVAL, soma_precision_recall_f1(&t, &p, bin, 1, &pr, &rc, &f1, &A, &E));
    t.data[0] = -1.0;
    EXPECT(SOMA_EINVAL, prf_call(&t, &p));
}

static void case_soma_log_loss(void)
{
    double out;
    poison(&out, sizeof out);
    soma_matrix t = labels01(4), P = mat(4, 2), P1 = mat(4, 1), r = labels01(3);
    for (size_t i = 0; i < 4; i++) {
        P.data[2 * i] = 0.25;
        P.data[2 * i + 1] = 0.75;
        P1.data[i] = 0.5;
    }
    EXPECT(SOMA_EINVAL, soma_log_loss(&t, &P, 0, NULL, &E));
    EACH_BAD(b) EXPECT(SOMA_EINVAL, soma_log_loss(b, &P, 0, &out, &E));
    EACH_BAD(b) EXPECT(SOMA_EINVAL, soma_log_loss(&t, b, 0, &out, &E));
    const double eps[4] = {-0.1, 0.5, NAN, INFINITY};
    for (int i = 0; i < 4; i++)
        EXPECT(SOMA_EINVAL, soma_log_loss(&t, &P, eps[i], &out, &E));
    EXPECT(SOMA_EDIM, soma_log_loss(&r, &P, 0, &out, &E));
    soma_matrix e = mat(0, 1), Pe = mat(0, 2), P0 = mat(4, 0);
    EXPECT(SOMA_EINVAL, soma_log_loss(&e, &Pe, 0, &out, &E));
    EXPECT(SOMA_EINVAL, soma_log_loss(&t, &P0, 0, &out, &E));
    P.data[0] = 1.25; /* outside [0, 1] */
    EXPECT(SOMA_EINVAL, soma_log_loss(&t, &P, 0, &out, &E));
    P.data[0] = 0.5; /* the row sums to 1.25 */
    EXPECT(SOMA_EINVAL, soma_log_loss(&t, &P, 0, &out, &E));
    P.data[0] = NAN;
    EXPECT(SOMA_ENONFINITE, soma_log_loss(&t, &P, 0, &out, &E));
    P.data[0] = 0.25;
    t.data[0] = 2.0; /* label >= k */
    EXPECT(SOMA_EINVAL, soma_log_loss(&t, &P, 0, &out, &E));
    EXPECT(SOMA_EINVAL, soma_log_loss(&t, &P1, 0, &out, &E));
    t.data[0] = NAN;
    EXPECT(SOMA_ENONFINITE, soma_log_loss(&t, &P, 0, &out, &E));
    t.data[0] = 0.0;
    P1.data[0] = -0.5;
    EXPECT(SOMA_EINVAL, soma_log_loss(&t, &P1, 0, &out, &E));
}

/* ---- io.h ------------------------------------------------------------------- */

static void case_soma_csv_defaults(void)
{
    soma_csv_options o = soma_csv_defaults();
    ck_assert_int_eq(o.delimiter, ',');
    ck_assert_ptr_null(o.label_name);
}

/* Options the reader refuses. */
static size_t bad_csv_options(soma_csv_options *out)
{
    const soma_csv_options d = soma_csv_defaults();
    const char delims[] = {'"', '\r', '\n', '\0', '0', '9', '+', '-', '.', 'e', 'E'};
    size_t k = 0;
    for (size_t i = 0; i < sizeof delims; i++) {
        out[k] = d;
        out[k++].delimiter = delims[i];
    }
    out[k] = d;
    out[k++].header = SOMA_CSV_HEADER_COUNT;
    out[k] = d;
    out[k++].label = SOMA_CSV_LABEL_COUNT;
    out[k] = d;
    out[k++].label = SOMA_CSV_LABEL_NAME; /* without a name */
    out[k] = d;
    out[k].label = SOMA_CSV_LABEL_NAME;
    out[k].label_name = "y";
    out[k++].header = SOMA_CSV_HEADER_NO;
    /* Comment bytes that could start a field, or the delimiter. */
    const char comments[] = {',', '"', '\r', '\n', ' ', '\t', '5', '+', '-', '.'};
    for (size_t i = 0; i < sizeof comments; i++) {
        out[k] = d;
        out[k++].comment = comments[i];
    }
    out[k] = d;
    out[k].delimiter = '|';
    out[k++].comment = '|';
    out[k] = d;
    out[k++].label_type = SOMA_CSV_LABELS_COUNT;
    out[k] = d;
    out[k].label_type = SOMA_CSV_LABELS_TEXT; /* without a label column */
    out[k++].label = SOMA_CSV_LABEL_NONE;
    out[k] = d;
    out[k].label_type = SOMA_CSV_LABELS_AUTO;
    out[k++].label = SOMA_CSV_LABEL_NONE;
    out[k] = d;
    out[k++].sort_classes = true; /* with numeric labels */
    return k;
}

/* The option an invalid set of options is refused for must be named. */
static void expect_option_named(const soma_error_info *err)
{
    static const char *const names[] = {"delimiter", "header",     "label",
                                        "comment",   "label_type", "sort_classes"};
    bool named = false;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        named = named || strstr(err->message, names[i]) != NULL;
    ck_assert_msg(named && strncmp(err->message, "option ", 7) == 0,
                  "%s: no option named in '%s'", current, err->message);
    ck_assert_msg(strncmp(err->argument, "opt.", 4) == 0 &&
                      strstr(err->message, err->argument + 4) != NULL,
                  "%s: argument '%s' is not the option the message names ('%s')", current,
                  err->argument, err->message);
}

static void case_soma_csv_read_buffer(void)
{
    static const char text[] = "a,b,y\n1,2,0\n3,4,1\n";
    const size_t len = sizeof text - 1;
    soma_matrix X, y;
    soma_csv_info info;
    poison(&X, sizeof X);
    poison(&y, sizeof y);
    poison(&info, sizeof info);
    const soma_csv_options d = soma_csv_defaults();
    EXPECT(SOMA_EINVAL, soma_csv_read_buffer(text, len, &d, NULL, &y, &info, &A, &E));
    EXPECT(SOMA_EINVAL, soma_csv_read_buffer(text, len, &d, &X, NULL, &info, &A, &E));
    EXPECT(SOMA_EINVAL, soma_csv_read_buffer(NULL, len, &d, &X, &y, &info, &A, &E));
    EXPECT(SOMA_EINVAL, soma_csv_read_buffer(text, len, &d, &X, &y, &info, &no_fns, &E));
    soma_csv_options bad[32];
    size_t nb = bad_csv_options(bad);
    for (size_t i = 0; i < nb; i++) {
        EXPECT(SOMA_EINVAL,
               soma_csv_read_buffer(text, len, &bad[i], &X, &y, &info, &A, &E));
        expect_option_named(&E);
    }
    /* Zero length and bad content. */
    EXPECT(SOMA_EFORMAT, soma_csv_read_buffer(NULL, 0, &d, &X, &y, &info, &A, &E));
    EXPECT(SOMA_EFORMAT, soma_csv_read_buffer("a,b\n", 4, &d, &X, &y, &info, &A, &E));
    EXPECT(SOMA_EFORMAT, soma_csv_read_buffer("1,2\n3\n", 6, &d, &X, &y, &info, &A, &E));
    EXPECT(SOMA_EFORMAT, soma_csv_read_buffer("1,\"2\n", 5, &d, &X, &y, &info, &A, &E));
    EXPECT(SOMA_EFORMAT, soma_csv_read_buffer("1,1e999\n", 8, &d, &X, &y, &info, &A, &E));
    EXPECT(SOMA_ENONFINITE,
           soma_csv_read_buffer("1,nan\n", 6, &d, &X, &y, &info, &A, &E));
    EXPECT(SOMA_ENONFINITE,
           soma_csv_read_buffer("inf,1\n", 6, &d, &X, &y, &info, &A, &E));
    soma_csv_options idx = d;
    idx.label = SOMA_CSV_LABEL_INDEX;
    idx.label_index = 3; /* >= fields */
    EXPECT(SOMA_EFORMAT, soma_csv_read_buffer(text, len, &idx, &X, &y, &info, &A, &E));
    /* With no label column, y may be NULL and is not written. */
    soma_csv_options none = d;
    none.label = SOMA_CSV_LABEL_NONE;
    EXPECT(SOMA_EFORMAT,
           soma_csv_read_buffer("1,2\n3,x\n", 8, &none, &X, NULL, &info, &A, &E));
    /* Files as they come: everything skipped, only comments, an empty or
     * NUL-holding text label, a word where auto decided numbers. */
    soma_csv_options skip = d;
    skip.skip_lines = 3;
    EXPECT(SOMA_EFORMAT, soma_csv_read_buffer(text, len, &skip, &X, &y, &info, &A, &E));
    skip.skip_lines = SIZE_MAX;
    EXPECT(SOMA_EFORMAT, soma_csv_read_buffer(text, len, &skip, &X, &y, &info, &A, &E));
    soma_csv_options hash = d;
    hash.comment = '#';
    EXPECT(SOMA_EFORMAT,
           soma_csv_read_buffer("#1,2\n #3\n", 10, &hash, &X, &y, &info, &A, &E));
    soma_csv_options txt = d;
    txt.label_type = SOMA_CSV_LABELS_TEXT;
    txt.sort_classes = true;
    EXPECT(SOMA_EFORMAT,
           soma_csv_read_buffer("1,a\n2,\n", 8, &txt, &X, &y, &info, &A, &E));
    EXPECT(SOMA_EFORMAT,
           soma_csv_read_buffer("1,a\n2,\"\"\n", 10, &txt, &X, &y, &info, &A, &E));
    EXPECT(SOMA_EFORMAT, soma_csv_read_buffer("1,a\0\n", 6, &txt, &X, &y, &info, &A, &E));
    EXPECT(SOMA_EFORMAT,
           soma_csv_read_buffer("1,a\n2,b,c\n", 11, &txt, &X, &y, &info, &A, &E));
    soma_csv_options aut = d;
    aut.label_type = SOMA_CSV_LABELS_AUTO;
    EXPECT(SOMA_EFORMAT,
           soma_csv_read_buffer("1,0\n2,a\n", 8, &aut, &X, &y, &info, &A, &E));
    ck_assert_ptr_nonnull(strstr(E.message, "SOMA_CSV_LABELS_TEXT"));
    EXPECT(SOMA_ENONFINITE,
           soma_csv_read_buffer("1,inf\n", 6, &aut, &X, &y, &info, &A, &E));
    /* Messages of refused arguments name them. */
    EXPECT(SOMA_EINVAL, soma_csv_read_buffer(text, len, &d, NULL, &y, &info, &A, &E));
    ck_assert_ptr_nonnull(strstr(E.message, "X"));
    EXPECT(SOMA_EINVAL, soma_csv_read_buffer(NULL, len, &d, &X, &y, &info, &A, &E));
    ck_assert_ptr_nonnull(strstr(E.message, "text"));
}

static void case_soma_csv_read_file(void)
{
    soma_matrix X, y;
    soma_csv_info info;
    poison(&X, sizeof X);
    poison(&y, sizeof y);
    poison(&info, sizeof info);
    const char *path = tmp_path("t.csv");
    write_file(path, "1,2\n3,4\n", 8);
    const soma_csv_options d = soma_csv_defaults();
    EXPECT(SOMA_EINVAL, soma_csv_read_file(NULL, &d, &X, &y, &info, &A, &E));
    EXPECT(SOMA_EINVAL, soma_csv_read_file(path, &d, NULL, &y, &info, &A, &E));
    EXPECT(SOMA_EINVAL, soma_csv_read_file(path, &d, &X, NULL, &info, &A, &E));
    EXPECT(SOMA_EINVAL, soma_csv_read_file(path, &d, &X, &y, &info, &no_free, &E));
    soma_csv_options bad[32];
    size_t nb = bad_csv_options(bad);
    for (size_t i = 0; i < nb; i++) {
        EXPECT(SOMA_EINVAL, soma_csv_read_file(path, &bad[i], &X, &y, &info, &A, &E));
        expect_option_named(&E);
    }
    EXPECT(SOMA_EIO,
           soma_csv_read_file("/nonexistent-soma-dir/x.csv", &d, &X, &y, &info, &A, &E));
    EXPECT(SOMA_EIO,
           soma_csv_read_file(tmp_dir, &d, &X, &y, &info, &A, &E)); /* a folder */
    write_file(path, "", 0);
    EXPECT(SOMA_EFORMAT, soma_csv_read_file(path, &d, &X, &y, &info, &A, &E));
    write_file(path, "1,2\n3,NaN\n", 10);
    EXPECT(SOMA_ENONFINITE, soma_csv_read_file(path, &d, &X, &y, &info, &A, &E));
    /* Files as they come: all lines skipped, an empty text label. */
    write_file(path, "m\n", 2);
    soma_csv_options skip = d;
    skip.skip_lines = 1;
    EXPECT(SOMA_EFORMAT, soma_csv_read_file(path, &skip, &X, &y, &info, &A, &E));
    write_file(path, "1,a\n2, \n", 9);
    soma_csv_options txt = d;
    txt.label_type = SOMA_CSV_LABELS_TEXT;
    EXPECT(SOMA_EFORMAT, soma_csv_read_file(path, &txt, &X, &y, &info, &A, &E));
    /* Gzip, which this build may not inflate: refused (ENOTSUP) or, when
     * it does, a corrupt stream (EFORMAT). */
    write_file(path, "\x1F\x8B\x08\x00garbage", 11);
    soma_status st = soma_csv_read_file(path, &d, &X, &y, &info, &A, &E);
    EXPECT(st == SOMA_ENOTSUP ? SOMA_ENOTSUP : SOMA_EFORMAT,
           soma_csv_read_file(path, &d, &X, &y, &info, &A, &E));
    EXPECT(SOMA_EINVAL, soma_csv_read_file(NULL, &d, &X, &y, &info, &A, &E));
    ck_assert_ptr_nonnull(strstr(E.message, "path"));
}

static void case_soma_csv_info_free(void)
{
    soma_csv_info_free(NULL);
    soma_csv_info zero = {0};
    soma_csv_info_free(&zero); /* a zeroed struct */
    soma_csv_info_free(&zero); /* twice */
    /* Numeric labels: nothing owned, nothing freed. */
    soma_matrix X, y;
    soma_csv_info info;
    OK(soma_csv_read_buffer("1,0\n2,1\n", 8, NULL, &X, &y, &info, &A, NULL));
    ck_assert_ptr_null(info.class_names);
    soma_csv_info_free(&info);
    soma_matrix_free(&X);
    soma_matrix_free(&y);
    /* Text labels: the names go back to the allocator they came from. */
    soma_csv_options o = soma_csv_defaults();
    o.label_type = SOMA_CSV_LABELS_TEXT;
    OK(soma_csv_read_buffer("1,a\n2,b\n", 8, &o, &X, &y, &info, &A, NULL));
    soma_matrix_free(&X);
    soma_matrix_free(&y);
    ck_assert_uint_gt(T.live_bytes, 0);
    soma_csv_info_free(&info);
    ck_assert_uint_eq(T.live_bytes, 0);
    ck_assert_ptr_null(info.class_names);
    soma_csv_info_free(&info);
}

static void case_soma_csv_write(void)
{
    const char *path = tmp_path("w.csv");
    write_file(path, "old\n", 4);
    soma_matrix X = mat(3, 2), y = labels01(3), yw = mat(3, 2), yr = labels01(2);
    soma_matrix X0 = mat(3, 0);
    const char *names[3] = {"a", "b", "y"}, *holes[3] = {"a", NULL, "y"};
    EXPECT(SOMA_EINVAL, soma_csv_write(NULL, &X, &y, names, &E));
    EACH_BAD(b) EXPECT(SOMA_EINVAL, soma_csv_write(path, b, &y, names, &E));
    EACH_INVALID(b) EXPECT(SOMA_EINVAL, soma_csv_write(path, &X, b, names, &E));
    EXPECT(SOMA_EINVAL, soma_csv_write(path, &X, &yw, names, &E));
    EXPECT(SOMA_EDIM, soma_csv_write(path, &X, &yr, names, &E));
    EXPECT(SOMA_EINVAL, soma_csv_write(path, &X0, NULL, NULL, &E));
    EXPECT(SOMA_EINVAL, soma_csv_write(path, &X, &y, holes, &E));
    EXPECT(SOMA_EIO, soma_csv_write("/nonexistent-soma-dir/w.csv", &X, &y, names, &E));
    EXPECT(SOMA_EIO, soma_csv_write(tmp_dir, &X, &y, names, &E));
    /* The existing file is unchanged, and no temporary file is left. */
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    char back[8] = {0};
    ck_assert_uint_eq(fread(back, 1, sizeof back, f), 4);
    fclose(f);
    ck_assert_str_eq(back, "old\n");
    ck_assert_int_eq(tmp_entries(), 1);
}

static void case_soma_idx_defaults(void)
{
    soma_idx_options o = soma_idx_defaults();
    ck_assert_double_eq(o.divisor, 1.0);
    ck_assert(!o.allow_nonfinite);
}

/* A valid IDX file: u8, 2 x 3. */
static const unsigned char idx_u8[] = {0, 0, 0x08, 2, 0, 0, 0, 2, 0,
                                       0, 0, 3,    1, 2, 3, 4, 5, 6};
static const unsigned char idx_labels[] = {0, 0, 0x08, 1, 0, 0, 0, 2, 0, 1};

/* Options the IDX reader refuses: divisors 0, -0, NaN, +-infinity. */
static size_t bad_idx_options(soma_idx_options *out)
{
    const double d[] = {0.0, -0.0, NAN, INFINITY, -INFINITY};
    for (size_t i = 0; i < sizeof d / sizeof d[0]; i++) {
        out[i] = soma_idx_defaults();
        out[i].divisor = d[i];
    }
    return sizeof d / sizeof d[0];
}

static void case_soma_idx_read_buffer(void)
{
    const size_t len = sizeof idx_u8;
    soma_matrix X;
    soma_idx_info info;
    poison(&X, sizeof X);
    poison(&info, sizeof info);
    const soma_idx_options d = soma_idx_defaults();
    EXPECT(SOMA_EINVAL, soma_idx_read_buffer(idx_u8, len, &d, NULL, &info, &A, &E));
    EXPECT(SOMA_EINVAL, soma_idx_read_buffer(NULL, len, &d, &X, &info, &A, &E));
    EXPECT(SOMA_EINVAL, soma_idx_read_buffer(idx_u8, len, &d, &X, &info, &no_fns, &E));
    EXPECT(SOMA_EINVAL, soma_idx_read_buffer(idx_u8, len, &d, &X, &info, &no_free, &E));
    soma_idx_options bad[8];
    size_t nb = bad_idx_options(bad);
    for (size_t i = 0; i < nb; i++)
        EXPECT(SOMA_EINVAL,
               soma_idx_read_buffer(idx_u8, len, &bad[i], &X, &info, &A, &E));
    /* Zero length, truncation, extra bytes, a header overflowing size_t. */
    EXPECT(SOMA_EFORMAT, soma_idx_read_buffer(NULL, 0, &d, &X, &info, &A, &E));
    EXPECT(SOMA_EFORMAT, soma_idx_read_buffer(idx_u8, len - 1, &d, &X, &info, &A, &E));
    unsigned char *more = arena_alloc(len + 1);
    memcpy(more, idx_u8, len);
    EXPECT(SOMA_EFORMAT, soma_idx_read_buffer(more, len + 1, &d, &X, &info, &A, &E));
    static const unsigned char ovf[] = {0,    0,    0x0E, 3,    0xFF, 0xFF, 0xFF, 0xFF,
                                        0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF};
    EXPECT(SOMA_EFORMAT, soma_idx_read_buffer(ovf, sizeof ovf, &d, &X, &info, &A, &E));
    /* NaN (f64). */
    static const unsigned char nan64[] = {0,    0,    0x0E, 1, 0, 0, 0, 1,
                                          0x7F, 0xF8, 0,    0, 0, 0, 0, 0};
    EXPECT(SOMA_ENONFINITE,
           soma_idx_read_buffer(nan64, sizeof nan64, &d, &X, &info, &A, &E));
    /* gzip magic then garbage: corrupt, or no zlib in this build. */
    static const unsigned char gz[] = {0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 3, 0xFF, 0xFF};
    soma_status st = soma_idx_read_buffer(gz, sizeof gz, &d, &X, &info, &A, &E);
    ck_assert(st == SOMA_EFORMAT || st == SOMA_ENOTSUP);
    watched_unchanged("soma_idx_read_buffer(gz)", __LINE__);
}

static void case_soma_idx_read_file(void)
{
    soma_matrix X;
    soma_idx_info info;
    poison(&X, sizeof X);
    poison(&info, sizeof info);
    const char *path = tmp_path("x.idx");
    write_file(path, idx_u8, sizeof idx_u8);
    const soma_idx_options d = soma_idx_defaults();
    EXPECT(SOMA_EINVAL, soma_idx_read_file(NULL, &d, &X, &info, &A, &E));
    EXPECT(SOMA_EINVAL, soma_idx_read_file(path, &d, NULL, &info, &A, &E));
    EXPECT(SOMA_EINVAL, soma_idx_read_file(path, &d, &X, &info, &no_free, &E));
    soma_idx_options bad[8];
    size_t nb = bad_idx_options(bad);
    for (size_t i = 0; i < nb; i++)
        EXPECT(SOMA_EINVAL, soma_idx_read_file(path, &bad[i], &X, &info, &A, &E));
    EXPECT(SOMA_EIO,
           soma_idx_read_file("/nonexistent-soma-dir/x.idx", &d, &X, &info, &A, &E));
    EXPECT(SOMA_EIO, soma_idx_read_file(tmp_dir, &d, &X, &info, &A, &E)); /* a folder */
    write_file(path, "", 0);
    EXPECT(SOMA_EFORMAT, soma_idx_read_file(path, &d, &X, &info, &A, &E));
    write_file(path, idx_u8, sizeof idx_u8 - 2);
    EXPECT(SOMA_EFORMAT, soma_idx_read_file(path, &d, &X, &info, &A, &E));
}

static void case_soma_idx_read_pair(void)
{
    soma_matrix X, y;
    soma_idx_info ii, li;
    poison(&X, sizeof X);
    poison(&y, sizeof y);
    poison(&ii, sizeof ii);
    poison(&li, sizeof li);
    char img[128], lab[128];
    strcpy(img, tmp_path("img.idx"));
    write_file(img, idx_u8, sizeof idx_u8);
    strcpy(lab, tmp_path("lab.idx"));
    write_file(lab, idx_labels, sizeof idx_labels);
    const soma_idx_options d = soma_idx_defaults();
    EXPECT(SOMA_EINVAL, soma_idx_read_pair(NULL, lab, &d, &X, &y, &ii, &li, &A, &E));
    EXPECT(SOMA_EINVAL, soma_idx_read_pair(img, NULL, &d, &X, &y, &ii, &li, &A, &E));
    EXPECT(SOMA_EINVAL, soma_idx_read_pair(img, lab, &d, NULL, &y, &ii, &li, &A, &E));
    EXPECT(SOMA_EINVAL, soma_idx_read_pair(img, lab, &d, &X, NULL, &ii, &li, &A, &E));
    EXPECT(SOMA_EINVAL, soma_idx_read_pair(img, lab, &d, &X, &y, &ii, &li, &no_fns, &E));
    soma_idx_options bad[8];
    size_t nb = bad_idx_options(bad);
    for (size_t i = 0; i < nb; i++)
        EXPECT(SOMA_EINVAL,
               soma_idx_read_pair(img, lab, &bad[i], &X, &y, &ii, &li, &A, &E));
    /* Labels with 3 columns (the images twice), counts that differ. */
    EXPECT(SOMA_EFORMAT, soma_idx_read_pair(img, img, &d, &X, &y, &ii, &li, &A, &E));
    static const unsigned char three[] = {0, 0, 0x08, 1, 0, 0, 0, 3, 0, 1, 2};
    write_file(lab, three, sizeof three);
    EXPECT(SOMA_EFORMAT, soma_idx_read_pair(img, lab, &d, &X, &y, &ii, &li, &A, &E));
    EXPECT(SOMA_EIO, soma_idx_read_pair(img, "/nonexistent-soma-dir/l", &d, &X, &y, &ii,
                                        &li, &A, &E));
    EXPECT(SOMA_EIO, soma_idx_read_pair("/nonexistent-soma-dir/i", lab, &d, &X, &y, &ii,
                                        &li, &A, &E));
}

/* ---- the table ---------------------------------------------------------------- */

typedef struct api_case {
    const char *name;
    void (*run)(void);
} api_case;

#define API_CASE(fn)                                                                     \
    {                                                                                    \
#fn, case_##fn                                                                   \
    }

/* One entry per public function (checked by tests/check-api-coverage.sh). */
static const api_case cases[] = {
    API_CASE(soma_version_string),
    API_CASE(soma_status_string),
    API_CASE(soma_rng_seed),
    API_CASE(soma_rng_u64),
    API_CASE(soma_rng_uniform),
    API_CASE(soma_rng_uniform_range),
    API_CASE(soma_rng_normal),
    API_CASE(soma_rng_shuffle),
    API_CASE(soma_rng_permutation),
    API_CASE(soma_matrix_init),
    API_CASE(soma_matrix_free),
    API_CASE(soma_matrix_view),
    API_CASE(soma_matrix_view_rows),
    API_CASE(soma_matrix_dup),
    API_CASE(soma_matrix_copy),
    API_CASE(soma_matrix_fill),
    API_CASE(soma_matrix_transpose),
    API_CASE(soma_matrix_get),
    API_CASE(soma_matrix_set),
    API_CASE(soma_matrix_add_row),
    API_CASE(soma_matrix_col_sums),
    API_CASE(soma_matrix_scale),
    API_CASE(soma_matrix_axpy),
    API_CASE(soma_matrix_check_finite),
    API_CASE(soma_gemm),
    API_CASE(soma_backend_name),
    API_CASE(soma_backend_config),
    API_CASE(soma_threads_set),
    API_CASE(soma_threads_get),
    API_CASE(soma_blas_threads_set),
    API_CASE(soma_blas_threads_get),
    API_CASE(soma_activation_name),
    API_CASE(soma_activation_from_name),
    API_CASE(soma_activation_default_alpha),
    API_CASE(soma_activation_forward),
    API_CASE(soma_activation_backward),
    API_CASE(soma_activation_forward_matrix),
    API_CASE(soma_activation_backward_matrix),
    API_CASE(soma_loss_name),
    API_CASE(soma_loss_from_name),
    API_CASE(soma_loss_value),
    API_CASE(soma_loss_grad),
    API_CASE(soma_loss_from_logits),
    API_CASE(soma_dense_forward),
    API_CASE(soma_dense_backward_dz),
    API_CASE(soma_dense_backward),
    API_CASE(soma_optim_config_default),
    API_CASE(soma_optimizer_name),
    API_CASE(soma_optim_init),
    API_CASE(soma_optim_free),
    API_CASE(soma_optim_reset),
    API_CASE(soma_optim_step),
    API_CASE(soma_lr_schedule_value),
    API_CASE(soma_init_name),
    API_CASE(soma_mlp_spec_default),
    API_CASE(soma_mlp_create),
    API_CASE(soma_mlp_destroy),
    API_CASE(soma_mlp_init_weights),
    API_CASE(soma_mlp_n_layers),
    API_CASE(soma_mlp_size),
    API_CASE(soma_mlp_n_params),
    API_CASE(soma_mlp_get_spec),
    API_CASE(soma_mlp_layer),
    API_CASE(soma_mlp_params),
    API_CASE(soma_mlp_grads),
    API_CASE(soma_mlp_gradient),
    API_CASE(soma_history_free),
    API_CASE(soma_fit_options_default),
    API_CASE(soma_mlp_fit),
    API_CASE(soma_mlp_predict_proba),
    API_CASE(soma_mlp_predict),
    API_CASE(soma_mlp_evaluate),
    API_CASE(soma_mlp_set_class_names),
    API_CASE(soma_mlp_n_class_names),
    API_CASE(soma_mlp_class_name),
    API_CASE(soma_mlp_set_preprocessing),
    API_CASE(soma_mlp_preprocessing),
    API_CASE(soma_mlp_set_metadata),
    API_CASE(soma_mlp_metadata),
    API_CASE(soma_mlp_spec_classifier),
    API_CASE(soma_classifier_outputs),
    API_CASE(soma_fit_options_adam),
    API_CASE(soma_mlp_predictor_create),
    API_CASE(soma_mlp_predictor_destroy),
    API_CASE(soma_mlp_predictor_proba),
    API_CASE(soma_mlp_predictor_labels),
    API_CASE(soma_mlp_save_buffer),
    API_CASE(soma_mlp_save),
    API_CASE(soma_mlp_load_buffer),
    API_CASE(soma_mlp_load),
    API_CASE(soma_perceptron_save_buffer),
    API_CASE(soma_perceptron_save),
    API_CASE(soma_perceptron_load_buffer),
    API_CASE(soma_perceptron_load),
    API_CASE(soma_perceptron_defaults),
    API_CASE(soma_perceptron_create),
    API_CASE(soma_perceptron_destroy),
    API_CASE(soma_perceptron_fit),
    API_CASE(soma_perceptron_predict),
    API_CASE(soma_perceptron_decision_function),
    API_CASE(soma_perceptron_get_weights),
    API_CASE(soma_perceptron_n_features),
    API_CASE(soma_perceptron_history),
    API_CASE(soma_perceptron_converged),
    API_CASE(soma_make_circles),
    API_CASE(soma_make_moons),
    API_CASE(soma_make_blobs_defaults),
    API_CASE(soma_make_blobs),
    API_CASE(soma_make_classification_defaults),
    API_CASE(soma_make_classification),
    API_CASE(soma_scaler_fit),
    API_CASE(soma_scaler_transform),
    API_CASE(soma_scaler_inverse_transform),
    API_CASE(soma_scaler_free),
    API_CASE(soma_split_defaults),
    API_CASE(soma_train_test_split),
    API_CASE(soma_scaler_init_fixed),
    API_CASE(soma_scaler_save_buffer),
    API_CASE(soma_scaler_save),
    API_CASE(soma_scaler_load_buffer),
    API_CASE(soma_scaler_load),
    API_CASE(soma_class_count),
    API_CASE(soma_one_hot),
    API_CASE(soma_accuracy),
    API_CASE(soma_confusion_matrix),
    API_CASE(soma_precision_recall_f1),
    API_CASE(soma_log_loss),
    API_CASE(soma_csv_defaults),
    API_CASE(soma_csv_read_buffer),
    API_CASE(soma_csv_read_file),
    API_CASE(soma_csv_info_free),
    API_CASE(soma_csv_write),
    API_CASE(soma_idx_defaults),
    API_CASE(soma_idx_read_buffer),
    API_CASE(soma_idx_read_file),
    API_CASE(soma_idx_read_pair),
};

#define N_CASES (sizeof cases / sizeof cases[0])

START_TEST(bad_input)
{
    setup(cases[_i].name);
    cases[_i].run();
    teardown();
}
END_TEST

/* Empty matrices are legal everywhere and their data may be NULL (matrix.h):
 * with rows > 0 and cols == 0 (or the reverse) and ld > cols, no function
 * may form an address from the NULL pointer (UndefinedBehaviorSanitizer
 * reports "applying offset to null pointer"; found by fuzzing the CSV
 * reader, whose X is n x 0 for a one-column file). */
START_TEST(empty_matrices_with_null_data)
{
    current = "empty matrices";
    soma_matrix e30, e03, e13, row0, e31;
    ck_assert_int_eq(soma_matrix_view(&e30, NULL, 3, 0, 4), SOMA_OK);
    ck_assert_int_eq(soma_matrix_view(&e03, NULL, 0, 3, 5), SOMA_OK);
    ck_assert_int_eq(soma_matrix_view(&row0, NULL, 1, 0, 2), SOMA_OK);
    double ones[3] = {1, 1, 1}, col[3] = {0, 1, 0};
    ck_assert_int_eq(soma_matrix_view(&e13, ones, 1, 3, 3), SOMA_OK);
    ck_assert_int_eq(soma_matrix_view(&e31, col, 3, 1, 1), SOMA_OK);
    soma_matrix e30b = e30, t;
    ck_assert_int_eq(soma_matrix_fill(&e30, 1.0), SOMA_OK);
    ck_assert_int_eq(soma_matrix_scale(&e30, 2.0), SOMA_OK);
    ck_assert_int_eq(soma_matrix_check_finite(&e30), SOMA_OK);
    ck_assert_int_eq(soma_matrix_axpy(1.0, &e30, &e30b), SOMA_OK);
    ck_assert_int_eq(soma_matrix_copy(&e30, &e30b), SOMA_OK);
    ck_assert_int_eq(soma_matrix_add_row(&e30, &row0), SOMA_OK);
    ck_assert_int_eq(soma_matrix_col_sums(&e30, 1.0, &row0), SOMA_OK);
    ck_assert_int_eq(soma_matrix_col_sums(&e03, 1.0, &e13), SOMA_OK);
    ck_assert(ones[0] == 0.0 && ones[2] == 0.0); /* sums over no rows */
    soma_matrix e03t;
    ck_assert_int_eq(soma_matrix_view(&e03t, NULL, 3, 0, 1), SOMA_OK);
    ck_assert_int_eq(soma_matrix_transpose(&e03, &e03t), SOMA_OK);
    ck_assert_int_eq(soma_matrix_dup(&e30, &t, NULL), SOMA_OK);
    soma_matrix_free(&t);
    ck_assert_int_eq(soma_gemm(SOMA_TRANS_NO, SOMA_TRANS_NO, 1.0, &e31, &row0, 0.0, &e30),
                     SOMA_OK);
    ck_assert_int_eq(
        soma_activation_forward_matrix(SOMA_ACTIVATION_TANH, 0, &e30, &e30b, &E),
        SOMA_OK);
    ck_assert_int_eq(soma_activation_backward_matrix(SOMA_ACTIVATION_SOFTMAX, 0, &e30,
                                                     &e30, &e30, &e30b, &E),
                     SOMA_OK);
    double v = -1.0;
    for (int l = 0; l < SOMA_LOSS_COUNT; l++) {
        ck_assert_int_eq(soma_loss_value((soma_loss)l, &e30, &e30b, &v, &E), SOMA_OK);
        ck_assert_double_eq(v, 0.0);
        ck_assert_int_eq(soma_loss_grad((soma_loss)l, &e30, &e30, &e30b, &E), SOMA_OK);
    }
    ck_assert_int_eq(soma_loss_from_logits(SOMA_LOSS_CE, &e30, &e30, &v, &e30b, NULL, &E),
                     SOMA_OK);
    /* A layer with no outputs: W 3 x 0, b 1 x 0, on a 3 x 3 batch. */
    double x[9] = {0};
    soma_matrix X, W, dW, dX;
    ck_assert_int_eq(soma_matrix_view(&X, x, 3, 3, 3), SOMA_OK);
    ck_assert_int_eq(soma_matrix_view(&W, NULL, 3, 0, 1), SOMA_OK);
    ck_assert_int_eq(soma_matrix_view(&dW, NULL, 3, 0, 2), SOMA_OK);
    double dx[9];
    ck_assert_int_eq(soma_matrix_view(&dX, dx, 3, 3, 3), SOMA_OK);
    soma_dense layer = {W, row0, SOMA_ACTIVATION_RELU, 0.0};
    ck_assert_int_eq(soma_dense_forward(&layer, &X, &e30, &e30b, &E), SOMA_OK);
    ck_assert_int_eq(
        soma_dense_backward(&layer, &X, &e30, &e30b, &e30, &e30, &dW, &row0, &dX, &E),
        SOMA_OK);
    ck_assert_int_eq(soma_dense_backward_dz(&layer, &X, &e30, &dW, &row0, &dX, &E),
                     SOMA_OK);
    for (int i = 0; i < 9; i++)
        ck_assert_double_eq(dx[i], 0.0); /* dX = dZ W^T with no columns */
    /* A table of labels only: X n x 0. */
    tmp_path("labels.csv");
    char path[128];
    snprintf(path, sizeof path, "%s/labels.csv", tmp_dir);
    ck_assert_int_eq(soma_csv_write(path, &e30, &e31, NULL, &E), SOMA_OK);
    soma_matrix rx, ry;
    ck_assert_int_eq(soma_csv_read_file(path, NULL, &rx, &ry, NULL, NULL, NULL), SOMA_OK);
    ck_assert(rx.rows == 3 && rx.cols == 0 && ry.data[1] == 1.0);
    ck_assert_int_eq(soma_matrix_check_finite(&rx), SOMA_OK);
    soma_matrix_free(&rx);
    soma_matrix_free(&ry);
    remove_tmp_dir();
}
END_TEST

/* The same for the functions that take data sets: a train/test split of a
 * table with no feature columns (X n x 0, as the CSV reader returns for a
 * file of labels only), prediction on no rows, one-hot encoding of no
 * labels; and the refusal (SOMA_EINVAL, as documented) of empty data by the
 * scaler, the metrics, the perceptron, fit and evaluate. */
START_TEST(empty_matrices_in_data_functions)
{
    current = "empty matrices (data)";
    soma_matrix X, y, yn, Xtr, Xte, ytr, yte;
    double labels[3] = {1.0, 0.0, 1.0};
    ck_assert_int_eq(soma_matrix_view(&X, NULL, 3, 0, 4), SOMA_OK);
    ck_assert_int_eq(soma_matrix_view(&y, labels, 3, 1, 1), SOMA_OK);
    ck_assert_int_eq(soma_matrix_view(&yn, NULL, 3, 0, 2), SOMA_OK);
    soma_rng rng;
    ck_assert_int_eq(soma_rng_seed(&rng, 3), SOMA_OK);
    /* In order, shuffled, stratified; with y n x 1, n x 0 and none. */
    for (int mode = 0; mode < 5; mode++) {
        soma_split_options o = soma_split_defaults();
        o.shuffle = mode > 0;
        o.stratify = mode == 2;
        const soma_matrix *ys = mode == 3 ? &yn : mode == 4 ? NULL : &y;
        ck_assert_int_eq(soma_train_test_split(&X, ys, &o, &rng, &Xtr, &Xte,
                                               ys != NULL ? &ytr : NULL,
                                               ys != NULL ? &yte : NULL, NULL, NULL),
                         SOMA_OK);
        /* ceil(0.25 * 3) = 1 test row, 2 training rows, no columns. */
        ck_assert(Xtr.rows == 2 && Xtr.cols == 0 && Xte.rows == 1 && Xte.cols == 0);
        ck_assert_int_eq(soma_matrix_check_finite(&Xtr), SOMA_OK);
        ck_assert_int_eq(soma_matrix_check_finite(&Xte), SOMA_OK);
        if (ys != NULL) {
            ck_assert(ytr.rows == 2 && yte.rows == 1 && ytr.cols == ys->cols);
            if (ys == &y) { /* every label lands in one set */
                const double sum = ytr.data[0] + ytr.data[1] + yte.data[0];
                ck_assert_double_eq(sum, 2.0);
                if (mode == 0)
                    ck_assert(ytr.data[0] == 1.0 && ytr.data[1] == 0.0 &&
                              yte.data[0] == 1.0);
            }
            soma_matrix_free(&ytr);
            soma_matrix_free(&yte);
        }
        soma_matrix_free(&Xtr);
        soma_matrix_free(&Xte);
    }
    /* Prediction and one-hot encoding of no rows. */
    const size_t sizes[3] = {2, 3, 1};
    soma_mlp *m = NULL;
    ck_assert_int_eq(soma_mlp_create(&m, sizes, 3, NULL, NULL, NULL), SOMA_OK);
    soma_matrix X0, P0, L0, l0, oh;
    ck_assert_int_eq(soma_matrix_view(&X0, NULL, 0, 2, 5), SOMA_OK);
    ck_assert_int_eq(soma_matrix_view(&P0, NULL, 0, 1, 3), SOMA_OK);
    ck_assert_int_eq(soma_matrix_view(&L0, NULL, 0, 1, 2), SOMA_OK);
    ck_assert_int_eq(soma_mlp_predict_proba(m, &X0, &P0, NULL), SOMA_OK);
    ck_assert_int_eq(soma_mlp_predict(m, &X0, &L0, NULL), SOMA_OK);
    soma_mlp_destroy(m);
    ck_assert_int_eq(soma_matrix_view(&l0, NULL, 0, 1, 1), SOMA_OK);
    ck_assert_int_eq(soma_one_hot(&l0, 3, &oh, NULL, NULL), SOMA_OK);
    ck_assert(oh.rows == 0 && oh.cols == 3);
    soma_matrix_free(&oh);
    /* The functions whose headers refuse empty data: SOMA_EINVAL, and no
     * address formed from the NULL data either. */
    soma_scaler sc;
    ck_assert_int_eq(soma_scaler_fit(&sc, &X, NULL, NULL), SOMA_EINVAL);
    ck_assert_int_eq(soma_scaler_fit(&sc, &X0, NULL, NULL), SOMA_EINVAL);
    double acc = -1.0;
    ck_assert_int_eq(soma_accuracy(&l0, &l0, &acc, NULL), SOMA_EINVAL);
    ck_assert_double_eq(acc, -1.0);
    soma_perceptron *pc = NULL;
    ck_assert_int_eq(soma_perceptron_create(&pc, NULL, NULL, NULL), SOMA_OK);
    ck_assert_int_eq(soma_perceptron_fit(pc, &X, &y, &rng, NULL), SOMA_EINVAL);
    ck_assert_int_eq(soma_perceptron_fit(pc, &X0, &l0, &rng, NULL), SOMA_EINVAL);
    soma_perceptron_destroy(pc);
    ck_assert_int_eq(soma_mlp_create(&m, sizes, 3, NULL, NULL, NULL), SOMA_OK);
    soma_fit_options fo = soma_fit_options_default();
    fo.epochs = 1;
    ck_assert_int_eq(soma_mlp_fit(m, &X0, &P0, &fo, NULL, NULL), SOMA_EINVAL);
    ck_assert_int_eq(soma_mlp_evaluate(m, &X0, &P0, NULL, NULL, NULL), SOMA_EINVAL);
    soma_mlp_destroy(m);
}
END_TEST

int main(int argc, char **argv)
{
    /* --list prints the names in the table as compiled, one per line:
     * tests/check-api-coverage.sh compares them with the headers. */
    if (argc == 2 && strcmp(argv[1], "--list") == 0) {
        for (size_t i = 0; i < N_CASES; i++)
            puts(cases[i].name);
        return 0;
    }
    Suite *s = suite_create("badinput");
    TCase *tc = tcase_create("every public function");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, bad_input, 0, (int)N_CASES);
    tcase_add_test(tc, empty_matrices_with_null_data);
    tcase_add_test(tc, empty_matrices_in_data_functions);
    suite_add_tcase(s, tc);
    return test_run(s);
}
