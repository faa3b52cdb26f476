/* Command-line parsing and typed option values for the soma program. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* Edit distance of two short strings (for "did you mean"), capped at 9. */
static size_t distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 40 || lb > 40)
        return 9;
    size_t row[41];
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

static const cli_optdef *find_long(const cli_args *a, const char *name, size_t len)
{
    for (size_t i = 0; i < a->n_defs; i++)
        if (strlen(a->defs[i].name) == len && memcmp(a->defs[i].name, name, len) == 0)
            return &a->defs[i];
    return NULL;
}

static const cli_optdef *find_short(const cli_args *a, char c)
{
    for (size_t i = 0; i < a->n_defs; i++)
        if (a->defs[i].short_name == c)
            return &a->defs[i];
    return NULL;
}

static int unknown_option(const cli_args *a, const char *word, size_t len)
{
    char name[64], shown[80];
    snprintf(name, sizeof name, "%.*s", (int)(len < 63 ? len : 63), word);
    const char *best = NULL;
    size_t best_d = 3;
    for (size_t i = 0; i < a->n_defs; i++) {
        size_t d = distance(name, a->defs[i].name);
        if (d < best_d) {
            best_d = d;
            best = a->defs[i].name;
        }
    }
    cli_quote(name, shown, sizeof shown);
    if (best != NULL)
        return cli_usage(a->cmd, "unknown option '--%s'; did you mean '--%s'?", shown,
                         best);
    return cli_usage(a->cmd, "unknown option '--%s'", shown);
}

static void set_value(cli_args *a, const cli_optdef *d, const char *v)
{
    a->values[d - a->defs] = v;
}

int cli_parse(cli_args *a, const char *cmd, const cli_optdef *defs, size_t n_defs,
              const char **values, int argc, char **argv)
{
    memset(a, 0, sizeof *a);
    a->cmd = cmd;
    a->defs = defs;
    a->n_defs = n_defs;
    a->values = values;
    for (size_t i = 0; i < n_defs; i++)
        values[i] = NULL;
    bool options_done = false;
    char shown[80];
    for (int i = 0; i < argc; i++) {
        const char *w = argv[i];
        if (options_done || w[0] != '-' || w[1] == '\0') {
            if (a->n_pos == CLI_MAX_POSITIONAL)
                return cli_usage(cmd, "too many arguments (at '%s')",
                                 cli_quote(w, shown, sizeof shown));
            a->pos[a->n_pos++] = w;
            continue;
        }
        if (strcmp(w, "--") == 0) {
            options_done = true;
            continue;
        }
        if (strcmp(w, "--help") == 0 || strcmp(w, "-h") == 0) {
            a->help = true;
            continue;
        }
        const cli_optdef *d;
        const char *value = NULL;
        char label[72];
        if (w[1] == '-') {
            const char *name = w + 2;
            const char *eq = strchr(name, '=');
            size_t len = eq != NULL ? (size_t)(eq - name) : strlen(name);
            d = find_long(a, name, len);
            if (d == NULL)
                return unknown_option(a, name, len);
            snprintf(label, sizeof label, "--%s", d->name);
            if (eq != NULL) {
                if (!d->has_value)
                    return cli_usage(cmd, "option '%s' takes no value", label);
                value = eq + 1;
            }
        } else {
            d = find_short(a, w[1]);
            if (d == NULL)
                return cli_usage(cmd, "unknown option '-%c'",
                                 isprint((unsigned char)w[1]) ? w[1] : '?');
            snprintf(label, sizeof label, "-%c", d->short_name);
            if (w[2] != '\0') {
                if (!d->has_value)
                    return cli_usage(cmd, "option '%s' takes no value (at '%s')", label,
                                     cli_quote(w, shown, sizeof shown));
                value = w + 2;
            }
        }
        if (d->has_value && value == NULL) {
            if (i + 1 >= argc)
                return cli_usage(cmd, "option '%s' needs a value", label);
            value = argv[++i];
        }
        set_value(a, d, d->has_value ? value : "");
    }
    return 0;
}

static const cli_optdef *def_of(const cli_args *a, const char *name)
{
    for (size_t i = 0; i < a->n_defs; i++)
        if (strcmp(a->defs[i].name, name) == 0)
            return &a->defs[i];
    return NULL;
}

const char *cli_get(const cli_args *a, const char *name)
{
    const cli_optdef *d = def_of(a, name);
    return d != NULL ? a->values[d - a->defs] : NULL;
}

bool cli_flag(const cli_args *a, const char *name)
{
    return cli_get(a, name) != NULL;
}

static int bad_value(const cli_args *a, const char *name, const char *v, const char *want)
{
    char shown[80];
    return cli_usage(a->cmd, "--%s: expected %s, got '%s'", name, want,
                     cli_quote(v, shown, sizeof shown));
}

int cli_get_size(const cli_args *a, const char *name, size_t min, size_t max, size_t *out)
{
    const char *v = cli_get(a, name);
    if (v == NULL)
        return 0;
    char want[96];
    if (max == SIZE_MAX)
        snprintf(want, sizeof want, "a whole number >= %zu", min);
    else
        snprintf(want, sizeof want, "a whole number from %zu to %zu", min, max);
    if (!isdigit((unsigned char)v[0]))
        return bad_value(a, name, v, want);
    errno = 0;
    char *end = NULL;
    unsigned long long x = strtoull(v, &end, 10);
    if (*end != '\0' || errno == ERANGE || x > SIZE_MAX || x < min || x > max)
        return bad_value(a, name, v, want);
    *out = (size_t)x;
    return 0;
}

int cli_get_u64(const cli_args *a, const char *name, uint64_t *out)
{
    const char *v = cli_get(a, name);
    if (v == NULL)
        return 0;
    if (!isdigit((unsigned char)v[0]))
        return bad_value(a, name, v, "a whole number from 0 to 2^64 - 1");
    errno = 0;
    char *end = NULL;
    unsigned long long x = strtoull(v, &end, 10);
    if (*end != '\0' || errno == ERANGE)
        return bad_value(a, name, v, "a whole number from 0 to 2^64 - 1");
    *out = (uint64_t)x;
    return 0;
}

int cli_get_double(const cli_args *a, const char *name, double min, double max,
                   bool min_open, double *out)
{
    const char *v = cli_get(a, name);
    if (v == NULL)
        return 0;
    char want[96];
    if (isinf(max))
        snprintf(want, sizeof want, "a number %s %g", min_open ? ">" : ">=", min);
    else
        snprintf(want, sizeof want, "a number in %s%g, %g)", min_open ? "(" : "[", min,
                 max);
    errno = 0;
    char *end = NULL;
    double x = strtod(v, &end);
    if (end == v || *end != '\0' || errno == ERANGE || !isfinite(x) || x < min ||
        (min_open && x == min) || x >= max)
        return bad_value(a, name, v, want);
    *out = x;
    return 0;
}

int cli_get_char(const cli_args *a, const char *name, char *out)
{
    const char *v = cli_get(a, name);
    if (v == NULL)
        return 0;
    if (strcmp(v, "\\t") == 0 || strcmp(v, "tab") == 0)
        *out = '\t';
    else if (strcmp(v, "space") == 0)
        *out = ' ';
    else if (strlen(v) == 1)
        *out = v[0];
    else
        return bad_value(a, name, v, "one character (or 'tab', '\\t', 'space')");
    return 0;
}

int cli_get_choice(const cli_args *a, const char *name, const char *const *choices,
                   int *out)
{
    const char *v = cli_get(a, name);
    if (v == NULL)
        return 0;
    char list[256] = "";
    size_t used = 0;
    for (int i = 0; choices[i] != NULL; i++) {
        if (strcmp(v, choices[i]) == 0) {
            *out = i;
            return 0;
        }
        int w = snprintf(list + used, sizeof list - used, "%s%s", i > 0 ? ", " : "",
                         choices[i]);
        if (w > 0 && (size_t)w < sizeof list - used)
            used += (size_t)w;
    }
    char want[300];
    snprintf(want, sizeof want, "one of %s", list);
    return bad_value(a, name, v, want);
}
