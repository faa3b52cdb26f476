/* soma: train, evaluate and use soma models from the command line.
 *
 *   soma train DATA -o MODEL [options]
 *   soma eval MODEL DATA [options]
 *   soma predict MODEL DATA [-o OUT.csv] [--proba]
 *   soma info MODEL
 *
 * `soma help` and docs/cli.md are the manual. This file: the entry point,
 * the command table and the messages. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

const char *cli_quote(const char *s, char *buf, size_t cap)
{
    size_t n = 0, len = strlen(s);
    const bool cut = len + 1 > cap;
    const size_t keep = cut ? (cap > 4 ? cap - 4 : 0) : len;
    for (; n < keep; n++) {
        unsigned char c = (unsigned char)s[n];
        buf[n] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
    }
    if (cut && cap >= 4) {
        memcpy(buf + n, "...", 3);
        n += 3;
    }
    if (cap > 0)
        buf[n < cap ? n : cap - 1] = '\0';
    return buf;
}

static void vmessage(const char *fmt, va_list ap)
{
    char line[1024];
    vsnprintf(line, sizeof line, fmt, ap);
    fprintf(stderr, "soma: %s\n", line);
}

int cli_fail(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vmessage(fmt, ap);
    va_end(ap);
    return code;
}

int cli_usage(const char *cmd, const char *fmt, ...)
{
    char line[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (cmd != NULL)
        return cli_fail(EXIT_USAGE, "%s: %s (see 'soma help %s')", cmd, line, cmd);
    return cli_fail(EXIT_USAGE, "%s (see 'soma --help')", line);
}

int cli_exit_code(soma_status st)
{
    switch (st) {
    case SOMA_OK:
        return EXIT_OK;
    case SOMA_EIO:
        return EXIT_IO;
    case SOMA_EFORMAT:
    case SOMA_EVERSION:
    case SOMA_ECHECKSUM:
    case SOMA_ENONFINITE:
    case SOMA_EDIM:
    case SOMA_EINVAL:
        return EXIT_DATA;
    default:
        return EXIT_FAIL;
    }
}

int cli_file_error(const char *path, bool text, soma_status st,
                   const soma_error_info *err, const char *hint)
{
    /* "file:line:column: " for text (as compilers write it), "file: byte N: "
     * for binary files. */
    char where[64] = ": ";
    if (err != NULL && err->line > 0 && err->column > 0)
        snprintf(where, sizeof where, ":%zu:%zu: ", err->line, err->column);
    else if (err != NULL && err->line > 0)
        snprintf(where, sizeof where, ":%zu: ", err->line);
    else if (err != NULL && !text && st != SOMA_EIO && st != SOMA_ENOMEM)
        snprintf(where, sizeof where, ": byte %zu: ", err->offset);
    const char *msg =
        err != NULL && err->message[0] != '\0' ? err->message : soma_status_string(st);
    char shown[256];
    cli_quote(path, shown, sizeof shown);
    if (hint != NULL && hint[0] != '\0')
        return cli_fail(cli_exit_code(st), "%s%s%s; %s", shown, where, msg, hint);
    return cli_fail(cli_exit_code(st), "%s%s%s", shown, where, msg);
}

static int version(void)
{
    printf("soma %s (libsoma %s, %s matrix products: %s; model format %d)\n",
           SOMA_VERSION_STRING, soma_version_string(), soma_backend_name(),
           soma_backend_config(), SOMA_MODEL_FORMAT_VERSION);
    return EXIT_OK;
}

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
} command;

static const command commands[] = {
    {"train", cli_train},
    {"eval", cli_eval},
    {"predict", cli_predict},
    {"info", cli_info},
};

int main(int argc, char **argv)
{
    char shown[80];
    if (argc < 2) {
        fputs("usage: soma train DATA -o MODEL [options]\n"
              "       soma eval MODEL DATA [options]\n"
              "       soma predict MODEL DATA [-o OUT.csv] [--proba]\n"
              "       soma info MODEL\n"
              "       soma help [COMMAND]\n"
              "'soma --help' shows the manual.\n",
              stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0)
        return cli_help(stdout, "soma");
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "-V") == 0)
        return version();
    if (strcmp(cmd, "help") == 0) {
        if (argc > 3)
            return cli_usage(NULL, "help takes one command name");
        return cli_help(stdout, argc == 3 ? argv[2] : "soma");
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(cmd, commands[i].name) == 0)
            return commands[i].run(argc - 2, argv + 2);
    if (cmd[0] == '-')
        return cli_usage(NULL, "unknown option '%s' before the command",
                         cli_quote(cmd, shown, sizeof shown));
    return cli_usage(NULL,
                     "unknown command '%s'; the commands are train, eval, predict, "
                     "info and help",
                     cli_quote(cmd, shown, sizeof shown));
}
