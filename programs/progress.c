/* Progress of a training run (a live line on a terminal, one line per
 * epoch otherwise, JSON objects for scripts), Ctrl-C, and JSON output.
 * Everything here is driven by the library's fit callbacks: the library
 * itself never prints. */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE /* TIOCGWINSZ */
#include <math.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

double cli_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---- Ctrl-C ----------------------------------------------------------------- */

static volatile sig_atomic_t interrupt_flag = 0;

static void on_sigint(int sig)
{
    (void)sig;
    interrupt_flag = 1; /* SA_RESETHAND already restored the default action */
}

void cli_interrupt_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESETHAND;
    sigaction(SIGINT, &sa, NULL);
}

void cli_interrupt_restore(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_DFL;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
}

bool cli_interrupted(void)
{
    return interrupt_flag != 0;
}

/* ---- JSON ---------------------------------------------------------------------- */

void cli_json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p == '\n')
            fputs("\\n", f);
        else if (*p == '\t')
            fputs("\\t", f);
        else if (*p < 0x20 || *p == 0x7f)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f); /* UTF-8 passes through */
    }
    fputc('"', f);
}

void cli_json_begin(cli_json *j, FILE *f)
{
    j->f = f;
    j->first = true;
    fputc('{', f);
}

static void key(cli_json *j, const char *k)
{
    if (!j->first)
        fputc(',', j->f);
    j->first = false;
    cli_json_string(j->f, k);
    fputc(':', j->f);
}

void cli_json_num(cli_json *j, const char *k, double v)
{
    key(j, k);
    if (isfinite(v))
        fprintf(j->f, "%.17g", v);
    else
        fputs("null", j->f);
}

void cli_json_int(cli_json *j, const char *k, size_t v)
{
    key(j, k);
    fprintf(j->f, "%zu", v);
}

void cli_json_str(cli_json *j, const char *k, const char *s)
{
    key(j, k);
    if (s != NULL)
        cli_json_string(j->f, s);
    else
        fputs("null", j->f);
}

void cli_json_bool(cli_json *j, const char *k, bool v)
{
    key(j, k);
    fputs(v ? "true" : "false", j->f);
}

void cli_json_raw(cli_json *j, const char *k, const char *raw)
{
    key(j, k);
    fputs(raw, j->f);
}

void cli_json_end(cli_json *j)
{
    fputs("}\n", j->f);
    fflush(j->f);
}

/* ---- progress lines ----------------------------------------------------------- */

void cli_progress_init(cli_progress *p, bool quiet, bool json, size_t epochs, size_t rows,
                       bool regression)
{
    memset(p, 0, sizeof *p);
    p->quiet = quiet;
    p->json = json;
    p->tty = !quiet && isatty(STDERR_FILENO);
    p->epochs = epochs;
    p->rows = rows;
    p->regression = regression;
    p->t_start = p->t_epoch = cli_now();
}

static size_t terminal_width(void)
{
#ifdef TIOCGWINSZ
    struct winsize ws;
    if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 40)
        return ws.ws_col;
#endif
    return 80;
}

/* A loss or accuracy in a fixed width: "0.1234", or "1.234e+08" when large. */
static const char *fmt_fig(char *buf, size_t cap, double v)
{
    snprintf(buf, cap, fabs(v) < 1e5 || !isfinite(v) ? "%.4f" : "%.3e", v);
    return buf;
}

static void fmt_rate(char *buf, size_t cap, double r)
{
    if (!(r >= 0) || !isfinite(r))
        snprintf(buf, cap, "-");
    else if (r >= 1e6)
        snprintf(buf, cap, "%.2fM", r / 1e6);
    else if (r >= 1e4)
        snprintf(buf, cap, "%.1fk", r / 1e3);
    else
        snprintf(buf, cap, "%.0f", r);
}

void cli_fmt_seconds(char *buf, size_t cap, double s)
{
    if (s < 1)
        snprintf(buf, cap, "%.3gms", 1000 * s);
    else if (s < 100)
        snprintf(buf, cap, "%.2fs", s);
    else
        snprintf(buf, cap, "%.0fs", s);
}

static void fmt_duration(char *buf, size_t cap, double s)
{
    if (!(s >= 0) || s > 360000)
        snprintf(buf, cap, "-:--");
    else if (s >= 3600)
        snprintf(buf, cap, "%d:%02d:%02d", (int)s / 3600, ((int)s / 60) % 60,
                 (int)s % 60);
    else
        snprintf(buf, cap, "%d:%02d", (int)s / 60, (int)s % 60);
}

/* Replace the live line with `text` (no newline), padding over what was there. */
static void draw(cli_progress *p, const char *text)
{
    size_t n = strlen(text);
    fprintf(stderr, "\r%s", text);
    for (size_t i = n; i < p->drawn; i++)
        fputc(' ', stderr);
    p->drawn = n;
    fflush(stderr);
}

static void live_line(cli_progress *p, const soma_batch_stats *s, double now)
{
    const double elapsed = now - p->t_epoch;
    const double rate = elapsed > 0 ? (double)s->rows_done / elapsed : NAN;
    const size_t e = s->epoch + 1;
    const double left =
        (double)(s->rows_total - s->rows_done) +
        (double)(p->epochs > e ? p->epochs - e : 0) * (double)s->rows_total;
    char r[16], eta[16], tail[160], acc[32] = "";
    fmt_rate(r, sizeof r, rate);
    fmt_duration(eta, sizeof eta, left / rate);
    if (!p->regression)
        snprintf(acc, sizeof acc, "  acc %.4f", s->accuracy);
    const double frac =
        s->rows_total > 0 ? (double)s->rows_done / (double)s->rows_total : 0;
    char lo[32];
    snprintf(tail, sizeof tail, " %3.0f%%  %s rows/s  loss %s%s  ETA %s", 100 * frac, r,
             fmt_fig(lo, sizeof lo, s->loss), acc, eta);
    char head[48];
    snprintf(head, sizeof head, "epoch %zu/%zu ", e, p->epochs);
    const size_t width = terminal_width() - 1;
    size_t bar = 30;
    const size_t fixed = strlen(head) + strlen(tail) + 2;
    bar = fixed + 10 > width ? 0 : (width - fixed < bar ? width - fixed : bar);
    char line[512];
    size_t n = (size_t)snprintf(line, sizeof line, "%s", head);
    if (bar > 0) {
        const size_t full = (size_t)(frac * (double)bar);
        line[n++] = '[';
        for (size_t i = 0; i < bar; i++)
            line[n++] = i < full ? '=' : (i == full ? '>' : ' ');
        line[n++] = ']';
    }
    snprintf(line + n, sizeof line - n, "%s", tail);
    if (strlen(line) > width)
        line[width] = '\0';
    draw(p, line);
}

int cli_progress_batch(void *user, const soma_batch_stats *s)
{
    cli_progress *p = user;
    p->last_epoch = s->epoch;
    p->last_batch_rows = s->rows_done;
    p->rows = s->rows_total;
    if (cli_interrupted())
        return 1;
    if (!p->tty || s->rows_done >= s->rows_total)
        return 0;
    const double now = cli_now();
    if (now - p->t_draw >= 0.1) {
        p->t_draw = now;
        live_line(p, s, now);
    }
    return 0;
}

int cli_progress_epoch(void *user, const soma_epoch_stats *s)
{
    cli_progress *p = user;
    p->epochs_seen++;
    const bool cut = cli_interrupted();
    if (!p->quiet) {
        char line[320], acc[32] = "", val[80] = "", r[16], secs[32], lo[32], vl[32];
        const int w = snprintf(NULL, 0, "%zu", p->epochs);
        if (!p->regression)
            snprintf(acc, sizeof acc, "  acc %.4f", s->accuracy);
        if (!isnan(s->val_loss)) {
            if (p->regression)
                snprintf(val, sizeof val, "  val_loss %s",
                         fmt_fig(vl, sizeof vl, s->val_loss));
            else
                snprintf(val, sizeof val, "  val_loss %s  val_acc %.4f",
                         fmt_fig(vl, sizeof vl, s->val_loss), s->val_accuracy);
        }
        const double rows = cut ? (double)p->last_batch_rows : (double)p->rows;
        fmt_rate(r, sizeof r, s->seconds > 0 ? rows / s->seconds : NAN);
        cli_fmt_seconds(secs, sizeof secs, s->seconds);
        snprintf(line, sizeof line,
                 "epoch %*zu/%zu  loss %s%s%s  lr %.3g  %s  %s rows/s%s", w, s->epoch + 1,
                 p->epochs, fmt_fig(lo, sizeof lo, s->loss), acc, val, s->learning_rate,
                 secs, r, cut ? "  (interrupted)" : "");
        if (p->tty)
            draw(p, line);
        else
            fputs(line, stderr);
        fputc('\n', stderr);
        p->drawn = 0;
    }
    if (p->json) {
        cli_json j;
        cli_json_begin(&j, stdout);
        cli_json_str(&j, "type", "epoch");
        cli_json_int(&j, "epoch", s->epoch + 1);
        cli_json_int(&j, "epochs", p->epochs);
        cli_json_num(&j, "loss", s->loss);
        cli_json_num(&j, "accuracy", s->accuracy);
        cli_json_num(&j, "val_loss", s->val_loss);
        cli_json_num(&j, "val_accuracy", s->val_accuracy);
        cli_json_num(&j, "learning_rate", s->learning_rate);
        cli_json_num(&j, "seconds", s->seconds);
        cli_json_bool(&j, "interrupted", cut);
        cli_json_end(&j);
    }
    p->t_epoch = p->t_draw = cli_now();
    return cut ? 1 : 0;
}

void cli_progress_end(cli_progress *p)
{
    if (p->tty && p->drawn > 0) {
        draw(p, "");
        p->drawn = 0;
    }
}
