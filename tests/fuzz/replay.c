/* A main for the fuzz targets in builds without libFuzzer: runs
 * LLVMFuzzerTestOneInput once on every file named on the command line, and
 * on every file of every folder named (in name order). The seed corpus and
 * the regression inputs are replayed this way by `meson test`, so that
 * every build, the sanitizer ones included, runs them. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz_common.h"

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "cannot open %s\n", path);
        return 1;
    }
    size_t cap = 4096, n = 0;
    uint8_t *buf = malloc(cap);
    if (buf == NULL)
        abort();
    for (;;) {
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (n < cap)
            break;
        cap *= 2;
        buf = realloc(buf, cap);
        if (buf == NULL)
            abort();
    }
    fclose(f);
    /* An exact-size copy: reads past the input's end are then caught by
     * AddressSanitizer, as under libFuzzer. */
    uint8_t *exact = malloc(n > 0 ? n : 1);
    if (exact == NULL)
        abort();
    memcpy(exact, buf, n);
    free(buf);
    LLVMFuzzerTestOneInput(exact, n);
    free(exact);
    return 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Run every regular file in dir; *count += how many. */
static int run_dir(const char *dir, size_t *count)
{
    DIR *d = opendir(dir);
    if (d == NULL) {
        fprintf(stderr, "cannot open folder %s\n", dir);
        return 1;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        /* Hidden files and the folder's README are not inputs. */
        if (e->d_name[0] == '.' || strncmp(e->d_name, "README", 6) == 0)
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            names = realloc(names, cap * sizeof *names);
            if (names == NULL)
                abort();
        }
        size_t len = strlen(dir) + strlen(e->d_name) + 2;
        names[n] = malloc(len);
        if (names[n] == NULL)
            abort();
        snprintf(names[n], len, "%s/%s", dir, e->d_name);
        n++;
    }
    closedir(d);
    if (n > 0)
        qsort(names, n, sizeof *names, by_name);
    int status = 0;
    for (size_t i = 0; i < n; i++) {
        struct stat s;
        if (stat(names[i], &s) == 0 && S_ISREG(s.st_mode)) {
            status |= run_file(names[i]);
            (*count)++;
        }
        free(names[i]);
    }
    free(names);
    return status;
}

int main(int argc, char **argv)
{
    size_t count = 0;
    int status = 0;
    for (int i = 1; i < argc; i++) {
        struct stat s;
        if (stat(argv[i], &s) != 0) {
            fprintf(stderr, "no such file or folder: %s\n", argv[i]);
            return 1;
        }
        if (S_ISDIR(s.st_mode)) {
            status |= run_dir(argv[i], &count);
        } else {
            status |= run_file(argv[i]);
            count++;
        }
    }
    printf("%zu inputs replayed\n", count);
    /* Nothing replayed means the corpus went missing: that must not pass. */
    return status != 0 || count == 0 ? 1 : 0;
}
