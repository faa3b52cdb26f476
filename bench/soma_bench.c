/* soma-bench: the benchmark suite (docs/performance.md).
 *
 * The same sources are compiled three times (bench/meson.build): against
 * libsoma with its BLAS backend (this is `soma-bench`, the command users
 * run), against the static naive build (`soma-bench-naive`, the textbook
 * triple loop), and against a BLAS build whose soma_gemm sends every product
 * to its inlined loop (`soma-bench-loop`, used only to measure the
 * small-product threshold). soma-bench runs each section first in its twins
 * (as child processes, one at a time, so that they never compete for the two
 * cores) and then itself, reads their figures back and prints one report,
 * writes every figure to a CSV file and renders PNG plots with gnuplot when
 * it is on PATH.
 *
 * Usage: soma-bench [--out DIR] [--quick] [--threads N]
 *                   [--only gemm,workloads,scaling,activation,threads,predict]
 *        (or single workloads: w1, w2, w3, w4, and w3f32, w4f32 in float32)
 *        (twins: --child SECTION --round N --kv FILE --threads N)
 * --threads N: soma_threads_set(N) for the BLAS build and the loop twin
 * (default 2, WORKLOADS.md's; 0 = one per processor); the naive twin always
 * runs on 1 thread. W3, W4 and the section `threads` also sweep 1 and 2.
 */
#include "bench_common.h"
#include "report.h"

#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef BENCH_VARIANT
#error "BENCH_VARIANT must name the build: \"blas\", \"naive\" or \"loop\""
#endif

typedef void (*section_fn)(bench_ctx *b);

typedef struct section {
    const char *name, *group;
    section_fn fn;
    bool naive, loop; /* which twins run it too */
    int rounds;       /* naive, then blas, this many times: short workloads
                         alternate so that both builds see the same load */
} section;

static const section SECTIONS[] = {
    {"gemm", "gemm", section_gemm, true, true, 1},
    {"w1", "workloads", section_w1, true, false, 3},
    {"w2", "workloads", section_w2, true, false, 3},
    {"w4", "workloads", section_w4, true, false, 3},
    {"w4f32", "workloads", section_w4f32, true, false, 3},
    {"w3", "workloads", section_w3, true, false, 1},
    {"w3f32", "workloads", section_w3f32, true, false, 1},
    {"scaling", "scaling", section_scaling, true, false, 1},
    {"activation", "activation", section_activation, false, false, 1},
    {"threads", "threads", section_threads, false, false, 1},
    {"predict", "predict", section_predict, true, true, 1},
};
#define N_SECTIONS (sizeof SECTIONS / sizeof SECTIONS[0])

static const section *find_section(const char *name)
{
    for (size_t i = 0; i < N_SECTIONS; i++)
        if (strcmp(SECTIONS[i].name, name) == 0)
            return &SECTIONS[i];
    return NULL;
}

static int usage(const char *argv0)
{
    fprintf(
        stderr,
        "usage: %s [--out DIR] [--quick] [--threads N] [--only SECTION[,SECTION...]]\n"
        "sections: gemm workloads (= w1,w2,w3,w4,w3f32,w4f32) scaling activation "
        "threads predict\n",
        argv0);
    return EXIT_FAILURE;
}

/* ---- child mode: run one section, write its figures ---------------------- */

static int run_child(const char *name, const char *kv_path, bool quick, int round,
                     int threads)
{
    const section *s = find_section(name);
    if (s == NULL)
        return EXIT_FAILURE;
    kv_store kv = {0};
    bench_ctx b = {&kv,   strcmp(BENCH_VARIANT, "blas") != 0,
                   quick, strcmp(BENCH_VARIANT, "loop") == 0,
                   round, threads};
    s->fn(&b);
    FILE *f = fopen(kv_path, "w");
    if (f == NULL || kv_write(&kv, f) != 0 || fclose(f) != 0) {
        perror(kv_path);
        return EXIT_FAILURE;
    }
    kv_free(&kv);
    return EXIT_SUCCESS;
}

/* ---- parent: twins as subprocesses ------------------------------------------- */

/* Directory of this executable (the twins are built beside it). */
static void exe_dir(char *buf, size_t size)
{
    ssize_t n = readlink("/proc/self/exe", buf, size - 1);
    if (n <= 0) {
        snprintf(buf, size, ".");
        return;
    }
    buf[n] = '\0';
    char *slash = strrchr(buf, '/');
    if (slash != NULL)
        *slash = '\0';
}

/* Run `twin --child section --kv path` and merge its figures into kv.
 * Returns false when the twin is missing or failed. */
static bool run_twin(const char *twin, const char *section, int round, const char *dir,
                     bool quick, int threads, kv_store *kv)
{
    char exe[4200], kv_path[4200], self[4000];
    exe_dir(self, sizeof self);
    snprintf(exe, sizeof exe, "%.3999s/%.100s", self, twin);
    snprintf(kv_path, sizeof kv_path, "%.3900s/.%.100s-%.100s.kv", dir, twin, section);
    if (access(exe, X_OK) != 0)
        return false;
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        return false;
    if (pid == 0) {
        char r[16], t[16];
        snprintf(r, sizeof r, "%d", round);
        snprintf(t, sizeof t, "%d", threads);
        char *args[11] = {exe,    "--child", (char *)section, "--round", r,
                          "--kv", kv_path,   "--threads",     t,         NULL,
                          NULL};
        if (quick)
            args[9] = "--quick";
        execv(exe, args);
        _exit(127);
    }
    int status;
    if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "soma-bench: %s failed in section %s\n", twin, section);
        return false;
    }
    FILE *f = fopen(kv_path, "r");
    if (f == NULL)
        return false;
    bool ok = kv_read(kv, f) == 0;
    fclose(f);
    remove(kv_path);
    return ok;
}

static bool wanted(const char *only, const char *name)
{
    if (only == NULL)
        return true;
    size_t len = strlen(name);
    for (const char *p = only; (p = strstr(p, name)) != NULL; p += len)
        if ((p == only || p[-1] == ',') && (p[len] == '\0' || p[len] == ','))
            return true;
    return false;
}

int main(int argc, char **argv)
{
    const char *out_dir = "bench-results", *only = NULL, *child = NULL, *kv_path = NULL;
    bool quick = false;
    int round = 0, threads = 2;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--out") == 0 && i + 1 < argc)
            out_dir = argv[++i];
        else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc)
            only = argv[++i];
        else if (strcmp(argv[i], "--quick") == 0)
            quick = true;
        else if (strcmp(argv[i], "--child") == 0 && i + 1 < argc)
            child = argv[++i];
        else if (strcmp(argv[i], "--round") == 0 && i + 1 < argc)
            round = atoi(argv[++i]);
        else if (strcmp(argv[i], "--kv") == 0 && i + 1 < argc)
            kv_path = argv[++i];
        else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc &&
                 (threads = atoi(argv[i + 1])) >= 0)
            i++;
        else
            return usage(argv[0]);
    }
    if (strcmp(BENCH_VARIANT, "naive") == 0)
        threads = 1;
    bench_threads(threads);
    if (child != NULL)
        return kv_path != NULL ? run_child(child, kv_path, quick, round, threads)
                               : usage(argv[0]);
    if (strcmp(BENCH_VARIANT, "blas") != 0) {
        fprintf(stderr, "%s: run soma-bench; this twin only runs with --child\n",
                argv[0]);
        return EXIT_FAILURE;
    }
    if (mkdir(out_dir, 0777) != 0 && errno != EEXIST) {
        perror(out_dir);
        return EXIT_FAILURE;
    }

    report_run run;
    report_run_init(&run, quick);
    int in_effect = threads;
    if (soma_threads_get(&in_effect) != SOMA_OK)
        in_effect = threads;
    kv_set(&run.blas, in_effect, "run.threads");
    const double t0 = bench_now_ns();
    for (size_t i = 0; i < N_SECTIONS; i++) {
        const section *s = &SECTIONS[i];
        if (!wanted(only, s->name) && !wanted(only, s->group))
            continue;
        fprintf(stderr, "soma-bench: %-10s", s->name);
        for (int r = 0; r < s->rounds; r++) {
            if (s->naive) {
                fprintf(stderr, " naive...");
                run.have_naive |= run_twin("soma-bench-naive", s->name, r, out_dir, quick,
                                           1, &run.naive);
            }
            if (s->loop) {
                fprintf(stderr, " loop...");
                run.have_loop |= run_twin("soma-bench-loop", s->name, r, out_dir, quick,
                                          threads, &run.loop);
            }
            fprintf(stderr, " blas...");
            bench_ctx b = {&run.blas, false, quick, false, r, threads};
            s->fn(&b);
        }
        fprintf(stderr, " done (%.0f s so far)\n", (bench_now_ns() - t0) * 1e-9);
    }
    run.seconds = (bench_now_ns() - t0) * 1e-9;
    return report_write(&run, out_dir) ? EXIT_SUCCESS : EXIT_FAILURE;
}
