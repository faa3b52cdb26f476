/*
 * soma-tour: the experiments of the walkthrough "Neural networks
 * fundamentals: from perceptron to deep learning", run with soma alone.
 *
 * Every experiment prints a table to stdout and writes its series as CSV
 * into the output folder; when gnuplot is installed the tour renders PNG
 * plots from them. Everything is seeded: the same --seed gives the same
 * report (for the same build and BLAS thread count).
 *
 * The library never prints: the per-100-epoch lines come from the fit
 * callback, the tables from the returned histories.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <soma.h>

/* ------------------------------------------------------------------------ */
/* Plumbing: errors, output files, the gnuplot script                        */

typedef struct tour {
    const char *out;  /* output folder */
    uint64_t seed;    /* data seed; model seeds derive from it */
    FILE *gp;         /* gnuplot script accumulated over the run */
    int n_csv, n_png; /* files written */
} tour;

static void die(const char *what, soma_status st)
{
    fprintf(stderr, "soma-tour: %s: %s\n", what, soma_status_string(st));
    exit(EXIT_FAILURE);
}

#define CHECK(expr)                                                                      \
    do {                                                                                 \
        soma_status st_ = (expr);                                                        \
        if (st_ != SOMA_OK)                                                              \
            die(#expr, st_);                                                             \
    } while (0)

static FILE *out_file(tour *t, const char *name, const char *header)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", t->out, name);
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        fprintf(stderr, "soma-tour: cannot write %s: %s\n", path, strerror(errno));
        exit(EXIT_FAILURE);
    }
    if (header != NULL)
        fprintf(f, "%s\n", header);
    t->n_csv++;
    return f;
}

/* Start a PNG in the gnuplot script; the caller writes the plot commands
 * to t->gp, then calls end_plot. */
static FILE *begin_plot(tour *t, const char *png, int width, int height)
{
    fprintf(t->gp,
            "\nreset session\nset terminal pngcairo size %d,%d font 'DejaVu Sans,10'\n"
            "set output '%s'\nset datafile separator ','\nset grid lc rgb '#dddddd'\n"
            "set key autotitle columnhead\n",
            width, height, png);
    t->n_png++;
    return t->gp;
}

static void end_plot(tour *t)
{
    fprintf(t->gp, "unset multiplot\nset output\n");
}

static void heading(const char *number, const char *title)
{
    printf("\n%s. %s\n", number, title);
    for (size_t i = 0; i < strlen(number) + 2 + strlen(title); i++)
        putchar('=');
    putchar('\n');
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ------------------------------------------------------------------------ */
/* Data                                                                      */

typedef struct dataset {
    soma_matrix X, y; /* n x 2, n x 1 labels 0/1 */
} dataset;

static void free_dataset(dataset *d)
{
    soma_matrix_free(&d->X);
    soma_matrix_free(&d->y);
}

/* make_classification(200, 2 features, 2 informative, 0 redundant,
 * 1 cluster per class, random_state=seed). */
static dataset perceptron_data(uint64_t seed)
{
    dataset d;
    soma_rng rng;
    CHECK(soma_rng_seed(&rng, seed));
    soma_make_classification_options o = soma_make_classification_defaults();
    o.n_samples = 200;
    o.n_features = 2;
    o.n_informative = 2;
    o.n_redundant = 0;
    o.n_clusters_per_class = 1;
    CHECK(soma_make_classification(&rng, &o, &d.X, &d.y, NULL, NULL));
    return d;
}

/* make_circles(300, noise 0.1, factor 0.3, random_state=seed), standardized. */
static dataset circles(uint64_t seed)
{
    dataset d;
    soma_rng rng;
    CHECK(soma_rng_seed(&rng, seed));
    CHECK(soma_make_circles(&rng, 300, 0.1, 0.3, true, &d.X, &d.y, NULL, NULL));
    soma_scaler s = {0};
    CHECK(soma_scaler_fit(&s, &d.X, NULL, NULL));
    CHECK(soma_scaler_transform(&s, &d.X, &d.X, NULL));
    soma_scaler_free(&s);
    return d;
}

static void write_points(tour *t, const char *name, const dataset *d)
{
    FILE *f = out_file(t, name, "x1,x2,label");
    for (size_t i = 0; i < d->X.rows; i++)
        fprintf(f, "%.6f,%.6f,%.0f\n", *soma_matrix_at(&d->X, i, 0),
                *soma_matrix_at(&d->X, i, 1), d->y.data[i]);
    fclose(f);
}

/* ------------------------------------------------------------------------ */
/* Decision boundaries: a grid over the data range +-1 (as the walkthrough) */

typedef soma_status (*grid_fn)(const void *model, const soma_matrix *G, soma_matrix *P);

static soma_status mlp_proba(const void *model, const soma_matrix *G, soma_matrix *P)
{
    return soma_mlp_predict_proba(model, G, P, NULL);
}

static soma_status perceptron_label(const void *model, const soma_matrix *G,
                                    soma_matrix *P)
{
    return soma_perceptron_predict(model, G, P, NULL);
}

#define GRID 160

static void write_boundary(tour *t, const char *name, const dataset *d, grid_fn fn,
                           const void *model)
{
    double lo[2] = {INFINITY, INFINITY}, hi[2] = {-INFINITY, -INFINITY};
    for (size_t i = 0; i < d->X.rows; i++)
        for (int j = 0; j < 2; j++) {
            double v = *soma_matrix_at(&d->X, i, (size_t)j);
            lo[j] = fmin(lo[j], v - 1.0);
            hi[j] = fmax(hi[j], v + 1.0);
        }
    soma_matrix G, P;
    CHECK(soma_matrix_init(&G, GRID * GRID, 2, NULL));
    CHECK(soma_matrix_init(&P, GRID * GRID, 1, NULL));
    for (size_t a = 0; a < GRID; a++)
        for (size_t b = 0; b < GRID; b++) {
            double *g = soma_matrix_at(&G, a * GRID + b, 0);
            g[0] = lo[0] + (hi[0] - lo[0]) * (double)b / (GRID - 1);
            g[1] = lo[1] + (hi[1] - lo[1]) * (double)a / (GRID - 1);
        }
    CHECK(fn(model, &G, &P));
    FILE *f = out_file(t, name, "x1,x2,p");
    for (size_t i = 0; i < G.rows; i++) {
        fprintf(f, "%.5f,%.5f,%.5f\n", G.data[2 * i], G.data[2 * i + 1], P.data[i]);
        if ((i + 1) % GRID == 0)
            fputc('\n', f);
    }
    fclose(f);
    soma_matrix_free(&P);
    soma_matrix_free(&G);
}

/* A PNG of a boundary grid with the data points over it. */
static void boundary_plot(tour *t, const char *png, const char *grid_csv,
                          const char *points_csv, const char *title)
{
    FILE *gp = begin_plot(t, png, 760, 640);
    fprintf(gp,
            "set title '%s'\nset xlabel 'feature 1'\nset ylabel 'feature 2'\n"
            "set palette defined (0 '#f4a582', 0.5 '#f7f7f7', 1 '#92c5de')\n"
            "set cbrange [0:1]\nunset colorbox\nset key off\nset autoscale fix\n"
            "plot '%s' using 1:2:3 with image, '%s' using 1:($3==0?$2:1/0) with points "
            "pt 7 ps 0.6 lc rgb '#b2182b', '' using 1:($3==1?$2:1/0) with points pt 7 "
            "ps 0.6 lc rgb '#2166ac'\n",
            title, grid_csv, points_csv);
    end_plot(t);
}

/* ------------------------------------------------------------------------ */
/* MLP helpers                                                               */

typedef struct mlp_setup {
    const size_t *sizes;
    size_t n_sizes;
    soma_activation hidden, output;
    soma_init init;
    double init_scale;
    soma_optimizer optimizer;
    double lr;
    size_t epochs, batch;
    double val_fraction;
    bool verbose; /* print a line every 100 epochs */
} mlp_setup;

static int print_every_100(void *user, const soma_epoch_stats *s)
{
    (void)user;
    if ((s->epoch + 1) % 100 == 0)
        printf("  epoch %5zu   loss %.4f   accuracy %.4f\n", s->epoch + 1, s->loss,
               s->accuracy);
    return 0;
}

static soma_mlp *train(const mlp_setup *su, const dataset *d, uint64_t seed,
                       soma_history *h, soma_status *fit_status)
{
    soma_mlp_spec spec = soma_mlp_spec_default();
    spec.hidden = su->hidden;
    spec.output = su->output;
    spec.loss = SOMA_LOSS_BCE;
    spec.init = su->init;
    spec.init_scale = su->init_scale;
    spec.seed = seed;
    soma_mlp *m;
    CHECK(soma_mlp_create(&m, su->sizes, su->n_sizes, &spec, NULL, NULL));
    soma_fit_options o = soma_fit_options_default();
    o.epochs = su->epochs;
    o.batch_size = su->batch;
    o.optimizer = soma_optim_config_default(su->optimizer);
    o.learning_rate = su->lr;
    o.validation_fraction = su->val_fraction;
    o.seed = seed;
    if (su->verbose)
        o.callback = print_every_100;
    *fit_status = soma_mlp_fit(m, &d->X, &d->y, &o, h, NULL);
    if (*fit_status != SOMA_OK && *fit_status != SOMA_ENONFINITE)
        die("soma_mlp_fit", *fit_status);
    return m;
}

static const soma_epoch_stats *last(const soma_history *h)
{
    return &h->epochs[h->n_epochs - 1];
}

/* True when a binary cross-entropy is still at its starting value ln 2
 * (the net outputs ~0.5 for every point). */
static bool plateau(double loss)
{
    return fabs(loss - 0.6931471805599453) < 0.01;
}

/* One CSV per history: epoch, loss, accuracy, val_loss, val_accuracy. */
static void write_history(tour *t, const char *name, const soma_history *h)
{
    FILE *f = out_file(t, name, "epoch,loss,accuracy,val_loss,val_accuracy");
    for (size_t e = 0; e < h->n_epochs; e++) {
        const soma_epoch_stats *s = &h->epochs[e];
        fprintf(f, "%zu,%.6g,%.6g,%.6g,%.6g\n", s->epoch, s->loss, s->accuracy,
                s->val_loss, s->val_accuracy);
    }
    fclose(f);
}

/* ------------------------------------------------------------------------ */
/* 1. The perceptron                                                         */

static void experiment_perceptron(tour *t)
{
    heading("1", "The perceptron");
    printf("make_classification(n=200, 2 features, 2 informative, 0 redundant,\n"
           "1 cluster per class, seed %llu); Rosenblatt rule, lr 0.1, at most 100 "
           "epochs.\n\n",
           (unsigned long long)t->seed);
    dataset d = perceptron_data(t->seed);
    soma_perceptron_options po = soma_perceptron_defaults();
    po.learning_rate = 0.1;
    po.max_epochs = 100;
    soma_perceptron *p;
    CHECK(soma_perceptron_create(&p, &po, NULL, NULL));
    soma_rng rng;
    CHECK(soma_rng_seed(&rng, t->seed + 1));
    CHECK(soma_perceptron_fit(p, &d.X, &d.y, &rng, NULL));
    const soma_perceptron_epoch *h;
    size_t n;
    CHECK(soma_perceptron_history(p, &h, &n, NULL));
    double w[2], b;
    soma_matrix W;
    CHECK(soma_matrix_view(&W, w, 1, 2, 2));
    CHECK(soma_perceptron_get_weights(p, &W, &b, NULL));
    size_t conv;
    bool converged;
    CHECK(soma_perceptron_converged(p, &converged, &conv, NULL));
    if (converged)
        printf("  converged at epoch %zu (an epoch with zero errors): these two\n"
               "  clusters are linearly separable, so Rosenblatt's rule must stop\n",
               conv);
    else
        printf("  no error-free epoch in %zu epochs: Rosenblatt's rule stops only on\n"
               "  linearly separable data, and keeps updating when the classes overlap\n",
               n);
    size_t best = 0;
    for (size_t e = 0; e < n; e++)
        best = h[e].errors < h[best].errors ? e : best;
    printf("  final weights      [%.6f, %.6f]\n", w[0], w[1]);
    printf("  final bias          %.6f\n", b);
    printf("  epoch accuracy      %.3f  (last epoch, online, as the walkthrough "
           "reports it)\n",
           h[n - 1].accuracy);
    printf("  fewest errors       %zu in epoch %zu\n", h[best].errors, h[best].epoch);
    soma_matrix pred;
    CHECK(soma_matrix_init(&pred, d.X.rows, 1, NULL));
    CHECK(soma_perceptron_predict(p, &d.X, &pred, NULL));
    double acc;
    CHECK(soma_accuracy(&d.y, &pred, &acc, NULL));
    printf("  training accuracy   %.3f  (final weights on all 200 points)\n", acc);
    soma_matrix_free(&pred);

    FILE *f = out_file(t, "perceptron_history.csv", "epoch,errors,accuracy,loss");
    for (size_t e = 0; e < n; e++)
        fprintf(f, "%zu,%zu,%.6f,%.6f\n", h[e].epoch, h[e].errors, h[e].accuracy,
                h[e].loss);
    fclose(f);
    write_points(t, "perceptron_points.csv", &d);
    write_boundary(t, "perceptron_boundary.csv", &d, perceptron_label, p);
    FILE *gp = begin_plot(t, "perceptron_history.png", 1200, 450);
    fprintf(gp,
            "set multiplot layout 1,2\n"
            "set title 'Training accuracy'\nset xlabel 'epoch'\nset ylabel 'accuracy'\n"
            "set yrange [0:1.05]\nplot 'perceptron_history.csv' using 1:3 with "
            "linespoints pt 7 ps 0.5 lw 2 lc rgb '#2166ac' notitle\n"
            "set title 'Training loss (online error rate)'\nset ylabel 'loss'\n"
            "set yrange [*:*]\nplot 'perceptron_history.csv' using 1:4 with "
            "linespoints pt 5 ps 0.5 lw 2 lc rgb '#b2182b' notitle\n");
    end_plot(t);
    boundary_plot(t, "perceptron_boundary.png", "perceptron_boundary.csv",
                  "perceptron_points.csv", "Perceptron decision boundary");
    soma_perceptron_destroy(p);
    free_dataset(&d);
}

/* ------------------------------------------------------------------------ */
/* 2. The MLP on circles                                                     */

static const size_t sizes_2441[4] = {2, 4, 4, 1};
static const size_t sizes_281[3] = {2, 8, 1};
static const size_t sizes_2881[4] = {2, 8, 8, 1};

/* The walkthrough's MLP of section 2: [2,4,4,1], sigmoid, full-batch GD,
 * lr 0.1, 1000 epochs. Later experiments change one setting of it. */
static mlp_setup walkthrough_mlp(void)
{
    mlp_setup s = {sizes_2441,
                   4,
                   SOMA_ACTIVATION_SIGMOID,
                   SOMA_ACTIVATION_SIGMOID,
                   SOMA_INIT_XAVIER_UNIFORM,
                   1.0,
                   SOMA_OPTIMIZER_SGD,
                   0.1,
                   1000,
                   0,
                   0.0,
                   false};
    return s;
}

static double experiment_mlp(tour *t, const dataset *d)
{
    heading("2", "A multi-layer perceptron on circles");
    printf("make_circles(n=300, noise 0.1, factor 0.3, seed %llu), standardized;\n"
           "[2, 4, 4, 1], sigmoid everywhere, Xavier uniform, binary cross-entropy,\n"
           "full-batch gradient descent, lr 0.1, 1000 epochs.\n\n",
           (unsigned long long)t->seed);
    mlp_setup su = walkthrough_mlp();
    su.verbose = true;
    soma_history h;
    soma_status st;
    soma_mlp *m = train(&su, d, t->seed + 2, &h, &st);
    const soma_epoch_stats *e = last(&h);
    printf("\n  final loss %.4f, training accuracy %.4f\n", e->loss, e->accuracy);
    if (e->accuracy < 0.9)
        printf("  The walkthrough's settings do not solve the circles: a sigmoid net "
               "this\n  small, on plain gradient descent at lr 0.1, is still near its "
               "starting\n  plateau after 1000 epochs. Section 7 finds what it takes.\n");
    write_history(t, "mlp_history.csv", &h);
    write_points(t, "circles_points.csv", d);
    write_boundary(t, "mlp_boundary.csv", d, mlp_proba, m);
    FILE *gp = begin_plot(t, "mlp_history.png", 1200, 450);
    fprintf(
        gp,
        "set multiplot layout 1,2\nset xlabel 'epoch'\n"
        "set title 'Training loss'\nset ylabel 'loss'\n"
        "plot 'mlp_history.csv' using 1:2 with lines lw 2 lc rgb '#b2182b' notitle\n"
        "set title 'Training accuracy'\nset ylabel 'accuracy'\nset yrange [0:1.05]\n"
        "plot 'mlp_history.csv' using 1:3 with lines lw 2 lc rgb '#2166ac' notitle\n");
    end_plot(t);
    boundary_plot(t, "mlp_boundary.png", "mlp_boundary.csv", "circles_points.csv",
                  "MLP [2,4,4,1] decision boundary");
    double acc = e->accuracy;
    soma_history_free(&h);
    soma_mlp_destroy(m);
    return acc;
}

/* ------------------------------------------------------------------------ */
/* 3. Activation functions                                                   */

static const soma_activation six[6] = {
    SOMA_ACTIVATION_SIGMOID,    SOMA_ACTIVATION_TANH, SOMA_ACTIVATION_RELU,
    SOMA_ACTIVATION_LEAKY_RELU, SOMA_ACTIVATION_ELU,  SOMA_ACTIVATION_SWISH};
static const char *const six_titles[6] = {"Sigmoid",    "Tanh", "ReLU",
                                          "Leaky ReLU", "ELU",  "Swish"};

static void activation_curves(tour *t)
{
    enum { N = 1000 };
    double x[N], y[6][N], dy[6][N], ones[N];
    for (int i = 0; i < N; i++) {
        x[i] = -5.0 + 10.0 * i / (N - 1);
        ones[i] = 1.0;
    }
    for (int f = 0; f < 6; f++) {
        double alpha = soma_activation_default_alpha(six[f]);
        CHECK(soma_activation_forward(six[f], alpha, N, x, y[f], NULL));
        /* f'(x) is the backward pass with an upstream gradient of ones. */
        CHECK(soma_activation_backward(six[f], alpha, N, x, y[f], ones, dy[f], NULL));
    }
    FILE *f = out_file(t, "activations.csv",
                       "x,sigmoid,tanh,relu,leaky_relu,elu,swish,"
                       "d_sigmoid,d_tanh,d_relu,d_leaky_relu,d_elu,d_swish");
    for (int i = 0; i < N; i++) {
        fprintf(f, "%.5f", x[i]);
        for (int k = 0; k < 6; k++)
            fprintf(f, ",%.6f", y[k][i]);
        for (int k = 0; k < 6; k++)
            fprintf(f, ",%.6f", dy[k][i]);
        fputc('\n', f);
    }
    fclose(f);
    const char *files[2] = {"activations.png", "activation_derivatives.png"};
    for (int which = 0; which < 2; which++) {
        FILE *gp = begin_plot(t, files[which], 1350, 800);
        fprintf(gp,
                "set multiplot layout 2,3\nset xzeroaxis lt -1\nset yzeroaxis lt -1\n"
                "set xlabel 'input'\nset ylabel '%s'\n",
                which ? "derivative" : "output");
        for (int k = 0; k < 6; k++)
            fprintf(gp,
                    "set title \"%s%s\"\nplot 'activations.csv' using 1:%d with lines "
                    "lw 3 lc %d notitle\n",
                    six_titles[k], which ? "'" : "", 2 + k + 6 * which, k + 1);
        end_plot(t);
    }
    printf("  the six activations and their derivatives over [-5, 5]: activations.png,\n"
           "  activation_derivatives.png (f' computed by soma's backward pass)\n");
}

typedef struct run_result {
    const char *name;
    double accuracy, loss;
    size_t first_99; /* first epoch (1-based) at >= 99% accuracy, 0 if never */
    bool diverged;
} run_result;

static run_result summarize(const char *name, const soma_history *h, soma_status st)
{
    run_result r = {name, last(h)->accuracy, last(h)->loss, 0, st == SOMA_ENONFINITE};
    for (size_t e = 0; e < h->n_epochs && r.first_99 == 0; e++)
        if (h->epochs[e].accuracy >= 0.99)
            r.first_99 = e + 1;
    return r;
}

static void print_results(const run_result *r, size_t n, const char *col)
{
    printf("\n  %-26s %10s %10s\n", col, "accuracy", "loss");
    printf("  %-26s %10s %10s\n", "--------------------------", "--------", "------");
    for (size_t i = 0; i < n; i++)
        printf("  %-26s %10.4f %10.4f%s\n", r[i].name, r[i].accuracy, r[i].loss,
               r[i].diverged ? "   (diverged)" : "");
}

static void experiment_activations(tour *t, const dataset *d)
{
    heading("3", "Activation functions");
    activation_curves(t);
    printf("\n  [2, 8, 1] on the circles, lr 0.01, 500 epochs, full batch, one hidden\n"
           "  activation at a time. The walkthrough's code also puts that activation on\n"
           "  the output (a tanh or relu output under cross-entropy, whose outputs are\n"
           "  not probabilities) and back-propagates a - y as if every output were a\n"
           "  sigmoid. soma keeps a sigmoid output, the model the text describes, and\n"
           "  shows the code's architecture beside it, trained with exact gradients.\n");
    const soma_activation hidden[3] = {SOMA_ACTIVATION_SIGMOID, SOMA_ACTIVATION_TANH,
                                       SOMA_ACTIVATION_RELU};
    const char *names[3] = {"sigmoid", "tanh", "relu"};
    run_result res[3], literal[3];
    for (int k = 0; k < 3; k++) {
        mlp_setup su = {sizes_281,
                        3,
                        hidden[k],
                        SOMA_ACTIVATION_SIGMOID,
                        SOMA_INIT_XAVIER_UNIFORM,
                        1.0,
                        SOMA_OPTIMIZER_SGD,
                        0.01,
                        500,
                        0,
                        0.0,
                        false};
        soma_history h;
        soma_status st;
        soma_mlp *m = train(&su, d, t->seed + 3, &h, &st);
        res[k] = summarize(names[k], &h, st);
        char file[64];
        snprintf(file, sizeof file, "activation_%s_history.csv", names[k]);
        write_history(t, file, &h);
        snprintf(file, sizeof file, "activation_%s_boundary.csv", names[k]);
        write_boundary(t, file, d, mlp_proba, m);
        char png[64], title[96];
        snprintf(png, sizeof png, "activation_%s_boundary.png", names[k]);
        snprintf(title, sizeof title, "%s hidden layer: decision boundary", names[k]);
        boundary_plot(t, png, file, "circles_points.csv", title);
        soma_history_free(&h);
        soma_mlp_destroy(m);

        su.output = hidden[k]; /* the walkthrough's literal model */
        m = train(&su, d, t->seed + 3, &h, &st);
        literal[k] = summarize(names[k], &h, st);
        soma_history_free(&h);
        soma_mlp_destroy(m);
    }
    print_results(res, 3, "hidden (sigmoid output)");
    print_results(literal, 3, "same activation on output");
    if (literal[1].loss > 5.0 || literal[2].loss > 5.0)
        printf(
            "\n  A tanh or relu output puts predictions outside (0, 1), where\n"
            "  cross-entropy clamps them at 1e-15 (-ln 1e-15 = 34.5 per clamped point):\n"
            "  hence the huge losses, and no gradient through the clamped points.\n");
    int top = 0;
    for (int k = 1; k < 3; k++)
        top = res[k].accuracy > res[top].accuracy ? k : top;
    printf("\n  With a sigmoid output, %s learns fastest here (accuracy %.4f);%s\n",
           names[top], res[top].accuracy,
           res[top].accuracy < 0.99 ? " none of the\n  three separates the circles in "
                                      "500 epochs at lr 0.01."
                                    : "");
    FILE *f = out_file(t, "activation_comparison.csv", "activation,accuracy,loss");
    for (int k = 0; k < 3; k++)
        fprintf(f, "%s,%.6f,%.6f\n", names[k], res[k].accuracy, res[k].loss);
    fclose(f);
    FILE *gp = begin_plot(t, "activation_comparison.png", 1300, 480);
    fprintf(gp,
            "set multiplot layout 1,2\nset title 'Training accuracy'\n"
            "set xlabel 'epoch'\nset ylabel 'accuracy'\nset key bottom right\n"
            "plot 'activation_sigmoid_history.csv' using 1:3 with lines lw 2 title "
            "'sigmoid', 'activation_tanh_history.csv' using 1:3 with lines lw 2 title "
            "'tanh', 'activation_relu_history.csv' using 1:3 with lines lw 2 title "
            "'relu'\n"
            "set title 'Final accuracy'\nset ylabel 'accuracy'\nset yrange [0:1.1]\n"
            "set style fill solid 0.7\nset boxwidth 0.6\nset key off\n"
            "plot 'activation_comparison.csv' using 0:2:($0+1):xtic(1) with boxes lc "
            "variable, '' using 0:($2+0.04):(sprintf('%%.3f',$2)) with labels\n");
    end_plot(t);
}

/* ------------------------------------------------------------------------ */
/* 4. From scratch vs a modern setup                                         */

static void experiment_modern(tour *t, const dataset *d)
{
    heading("4", "From scratch vs a modern setup");
    printf("  [2, 8, 8, 1] sigmoid: full-batch gradient descent, lr 0.01, 200 epochs,\n"
           "  beside the walkthrough's Keras model: Adam lr 0.01, minibatch 32,\n"
           "  20%% of the rows held out for validation, 200 epochs.\n");
    mlp_setup plain = {sizes_2881,
                       4,
                       SOMA_ACTIVATION_SIGMOID,
                       SOMA_ACTIVATION_SIGMOID,
                       SOMA_INIT_XAVIER_UNIFORM,
                       1.0,
                       SOMA_OPTIMIZER_SGD,
                       0.01,
                       200,
                       0,
                       0.0,
                       false};
    mlp_setup modern = plain;
    modern.optimizer = SOMA_OPTIMIZER_ADAM;
    modern.batch = 32;
    modern.val_fraction = 0.2;
    soma_history hp, hm;
    soma_status sp, sm;
    soma_mlp *mp = train(&plain, d, t->seed + 4, &hp, &sp);
    soma_mlp *mm = train(&modern, d, t->seed + 4, &hm, &sm);
    double acc_p, acc_m;
    CHECK(soma_mlp_evaluate(mp, &d->X, &d->y, NULL, &acc_p, NULL));
    CHECK(soma_mlp_evaluate(mm, &d->X, &d->y, NULL, &acc_m, NULL));
    printf("\n  %-34s %10s %10s\n", "model", "accuracy", "val acc");
    printf("  %-34s %10s %10s\n", "----------------------------------", "--------",
           "-------");
    printf("  %-34s %10.4f %10s\n", "from scratch (GD, lr 0.01)", acc_p, "-");
    printf("  %-34s %10.4f %10.4f\n", "modern (Adam, batch 32, val 0.2)", acc_m,
           last(&hm)->val_accuracy);
    printf(
        "  (accuracy on all 300 points after training, as the walkthrough compares)\n");
    size_t adam_99 = 0;
    for (size_t e = 0; e < hm.n_epochs && adam_99 == 0; e++)
        if (hm.epochs[e].val_accuracy >= 0.99)
            adam_99 = e + 1;
    if (plateau(last(&hp)->loss))
        printf("\n  Plain gradient descent at lr 0.01 has not left the starting plateau\n"
               "  (loss %.4f, ln 2 = 0.6931: the net still predicts ~0.5 everywhere).\n",
               last(&hp)->loss);
    if (adam_99 > 0)
        printf("  Adam on minibatches reaches 99%% validation accuracy at epoch %zu.\n",
               adam_99);
    write_history(t, "modern_scratch_history.csv", &hp);
    write_history(t, "modern_adam_history.csv", &hm);
    FILE *gp = begin_plot(t, "modern_history.png", 1300, 480);
    fprintf(gp, "set multiplot layout 1,2\nset xlabel 'epoch'\nset key top right\n"
                "set title 'Training and validation loss'\nset ylabel 'loss'\n"
                "plot 'modern_adam_history.csv' using 1:2 with lines lw 2 title 'Adam: "
                "training', '' using 1:4 with lines lw 2 title 'Adam: validation', "
                "'modern_scratch_history.csv' using 1:2 with lines lw 2 dt 2 title 'GD: "
                "training'\n"
                "set title 'Training and validation accuracy'\nset ylabel 'accuracy'\n"
                "set key bottom right\nset yrange [0:1.05]\n"
                "plot 'modern_adam_history.csv' using 1:3 with lines lw 2 title 'Adam: "
                "training', '' using 1:5 with lines lw 2 title 'Adam: validation', "
                "'modern_scratch_history.csv' using 1:3 with lines lw 2 dt 2 title 'GD: "
                "training'\n");
    end_plot(t);
    soma_history_free(&hp);
    soma_history_free(&hm);
    soma_mlp_destroy(mp);
    soma_mlp_destroy(mm);
}

/* ------------------------------------------------------------------------ */
/* 5. Weight initialisation                                                  */

static void experiment_init(tour *t, const dataset *d)
{
    heading("5", "Weight initialization");
    printf("  [2, 8, 8, 1] sigmoid, full-batch gradient descent, lr 0.01, 200 epochs.\n");
    const struct {
        const char *name;
        soma_init init;
        double scale;
    } inits[5] = {
        {"random small N(0,0.01)", SOMA_INIT_NORMAL, 0.01},
        {"random large N(0,1)", SOMA_INIT_NORMAL, 1.0},
        {"Xavier (uniform)", SOMA_INIT_XAVIER_UNIFORM, 1.0},
        {"He (normal)", SOMA_INIT_HE_NORMAL, 1.0},
        {"orthogonal", SOMA_INIT_ORTHOGONAL, 1.0},
    };
    run_result res[5];
    FILE *f = out_file(t, "init_comparison.csv", "init,accuracy,loss");
    for (int k = 0; k < 5; k++) {
        mlp_setup su = {sizes_2881,
                        4,
                        SOMA_ACTIVATION_SIGMOID,
                        SOMA_ACTIVATION_SIGMOID,
                        inits[k].init,
                        inits[k].scale,
                        SOMA_OPTIMIZER_SGD,
                        0.01,
                        200,
                        0,
                        0.0,
                        false};
        soma_history h;
        soma_status st;
        soma_mlp *m = train(&su, d, t->seed + 5, &h, &st);
        res[k] = summarize(inits[k].name, &h, st);
        fprintf(f, "\"%s\",%.6f,%.6f\n", inits[k].name, res[k].accuracy, res[k].loss);
        soma_history_free(&h);
        soma_mlp_destroy(m);
    }
    fclose(f);
    print_results(res, 5, "initialization");
    double best_acc = 0;
    for (int k = 0; k < 5; k++)
        best_acc = fmax(best_acc, res[k].accuracy);
    if (best_acc < 0.9)
        printf(
            "\n  At these settings no initialization learns the circles (best accuracy\n"
            "  %.4f; losses near ln 2 = 0.693 mean outputs near 0.5 everywhere), so\n"
            "  the differences above are noise around chance.",
            best_acc);
    printf("\n  The same five nets with Adam (lr 0.01, full batch, 200 epochs), a\n"
           "  setting in which they do train:\n");
    run_result adam[5];
    for (int k = 0; k < 5; k++) {
        mlp_setup su = {sizes_2881,
                        4,
                        SOMA_ACTIVATION_SIGMOID,
                        SOMA_ACTIVATION_SIGMOID,
                        inits[k].init,
                        inits[k].scale,
                        SOMA_OPTIMIZER_ADAM,
                        0.01,
                        200,
                        0,
                        0.0,
                        false};
        soma_history h;
        soma_status st;
        soma_mlp *m = train(&su, d, t->seed + 5, &h, &st);
        adam[k] = summarize(inits[k].name, &h, st);
        soma_history_free(&h);
        soma_mlp_destroy(m);
    }
    print_results(adam, 5, "initialization (Adam)");
    int lo = 0, hi = 0;
    for (int k = 1; k < 5; k++) {
        lo = adam[k].loss < adam[lo].loss ? k : lo;
        hi = adam[k].loss > adam[hi].loss ? k : hi;
    }
    printf("\n  Lowest loss:  %s (%.4f)\n  Highest loss: %s (%.4f)\n", adam[lo].name,
           adam[lo].loss, adam[hi].name, adam[hi].loss);
    FILE *gp = begin_plot(t, "init_comparison.png", 1300, 520);
    fprintf(gp,
            "set multiplot layout 1,2\nset style fill solid 0.7\nset boxwidth 0.6\n"
            "set key off\nset xtics rotate by -30\n"
            "set title 'Impact of weight initialization'\nset ylabel 'final accuracy'\n"
            "set yrange [0:1.1]\nplot 'init_comparison.csv' using 0:2:($0+1):xtic(1) "
            "with boxes lc variable\n"
            "set title 'Loss by initialization'\nset ylabel 'final loss'\n"
            "set yrange [0:*]\nplot 'init_comparison.csv' using 0:3:($0+1):xtic(1) with "
            "boxes lc variable\n");
    end_plot(t);
}

/* ------------------------------------------------------------------------ */
/* 6. Learning rate                                                          */

static void experiment_lr(tour *t, const dataset *d)
{
    heading("6", "Learning rate");
    printf("  [2, 8, 1] sigmoid, full-batch gradient descent, 200 epochs.\n");
    const double lrs[5] = {0.001, 0.01, 0.1, 0.5, 1.0};
    const char *names[5] = {"0.001", "0.01", "0.1", "0.5", "1.0"};
    run_result res[5];
    for (int k = 0; k < 5; k++) {
        mlp_setup su = {sizes_281,
                        3,
                        SOMA_ACTIVATION_SIGMOID,
                        SOMA_ACTIVATION_SIGMOID,
                        SOMA_INIT_XAVIER_UNIFORM,
                        1.0,
                        SOMA_OPTIMIZER_SGD,
                        lrs[k],
                        200,
                        0,
                        0.0,
                        false};
        soma_history h;
        soma_status st;
        soma_mlp *m = train(&su, d, t->seed + 6, &h, &st);
        res[k] = summarize(names[k], &h, st);
        char file[64];
        snprintf(file, sizeof file, "lr_%s_history.csv", names[k]);
        write_history(t, file, &h);
        soma_history_free(&h);
        soma_mlp_destroy(m);
    }
    print_results(res, 5, "learning rate");
    int best = 0;
    for (int k = 1; k < 5; k++)
        best = res[k].loss < res[best].loss ? k : best;
    printf("\n  The lowest final loss is at lr %s (%.4f, accuracy %.4f). The\n"
           "  walkthrough's 0.001-0.01 starting range suits adaptive optimizers such as\n"
           "  Adam (section 4); plain full-batch descent on this small net needs larger\n"
           "  steps or many more epochs.\n",
           names[best], res[best].loss, res[best].accuracy);
    FILE *gp = begin_plot(t, "learning_rate.png", 1000, 650);
    fprintf(gp,
            "set title 'Learning rate impact on training'\nset xlabel 'epoch'\n"
            "set ylabel 'loss (log scale)'\nset logscale y\nset key top right\nplot ");
    for (int k = 0; k < 5; k++)
        fprintf(gp, "%s'lr_%s_history.csv' using 1:2 with lines lw 2 title 'LR = %s'",
                k ? ", " : "", names[k], names[k]);
    fprintf(gp, "\n");
    end_plot(t);
}

/* ------------------------------------------------------------------------ */
/* 7. What it takes to solve the circles                                     */

static void experiment_solve(tour *t, const dataset *d, double baseline)
{
    heading("7", "What it takes to solve the circles");
    printf("  Section 2 reached %.4f. Each candidate below changes one setting of it\n"
           "  ([2,4,4,1], sigmoid, full-batch GD, lr 0.1, 1000 epochs) and keeps the\n"
           "  rest; 'first >= 99%%' is the first epoch whose accuracy reached 0.99.\n",
           baseline);
    typedef struct {
        const char *name;
        soma_activation hidden;
        soma_optimizer opt;
        double lr;
        size_t epochs;
    } change;
    const change cands[] = {
        {"hidden tanh", SOMA_ACTIVATION_TANH, SOMA_OPTIMIZER_SGD, 0.1, 1000},
        {"hidden relu", SOMA_ACTIVATION_RELU, SOMA_OPTIMIZER_SGD, 0.1, 1000},
        {"Adam, lr 0.01", SOMA_ACTIVATION_SIGMOID, SOMA_OPTIMIZER_ADAM, 0.01, 1000},
        {"momentum 0.9", SOMA_ACTIVATION_SIGMOID, SOMA_OPTIMIZER_MOMENTUM, 0.1, 1000},
        {"lr 1.0", SOMA_ACTIVATION_SIGMOID, SOMA_OPTIMIZER_SGD, 1.0, 1000},
        {"5000 epochs", SOMA_ACTIVATION_SIGMOID, SOMA_OPTIMIZER_SGD, 0.1, 5000},
        {"20000 epochs", SOMA_ACTIVATION_SIGMOID, SOMA_OPTIMIZER_SGD, 0.1, 20000},
    };
    enum { NC = sizeof cands / sizeof cands[0] };
    run_result res[NC];
    printf("\n  %-16s %10s %10s %14s\n", "change", "accuracy", "loss", "first >= 99%");
    printf("  %-16s %10s %10s %14s\n", "----------------", "--------", "------",
           "------------");
    int best = -1;
    FILE *f = out_file(t, "solve_circles.csv", "change,accuracy,loss,first_epoch_99");
    for (int k = 0; k < NC; k++) {
        mlp_setup su = walkthrough_mlp();
        su.hidden = cands[k].hidden;
        su.optimizer = cands[k].opt;
        su.lr = cands[k].lr;
        su.epochs = cands[k].epochs;
        soma_history h;
        soma_status st;
        soma_mlp *m = train(&su, d, t->seed + 2, &h, &st);
        res[k] = summarize(cands[k].name, &h, st);
        char first[32] = "never";
        if (res[k].first_99 > 0)
            snprintf(first, sizeof first, "%zu", res[k].first_99);
        printf("  %-16s %10.4f %10.4f %14s\n", cands[k].name, res[k].accuracy,
               res[k].loss, first);
        fprintf(f, "\"%s\",%.6f,%.6f,%zu\n", cands[k].name, res[k].accuracy, res[k].loss,
                res[k].first_99);
        if (res[k].first_99 > 0 && res[k].accuracy >= 0.99 &&
            (best < 0 || res[k].first_99 < res[best].first_99))
            best = k;
        if (k == 0) {
            write_history(t, "solve_tanh_history.csv", &h);
            write_boundary(t, "solve_tanh_boundary.csv", d, mlp_proba, m);
        }
        soma_history_free(&h);
        soma_mlp_destroy(m);
    }
    fclose(f);
    if (best >= 0)
        printf("\n  Smallest change that solves it: %s (>= 99%% from epoch %zu, final "
               "%.4f).\n",
               cands[best].name, res[best].first_99, res[best].accuracy);
    else
        printf("\n  None of these single changes reaches 99%%.\n");
    boundary_plot(t, "solve_tanh_boundary.png", "solve_tanh_boundary.csv",
                  "circles_points.csv", "[2,4,4,1] with tanh hidden layers");
}

/* ------------------------------------------------------------------------ */

static void usage(FILE *f)
{
    fprintf(f,
            "usage: soma-tour [--seed N] [--out DIR] [--help]\n\n"
            "Runs every experiment of the walkthrough \"Neural networks fundamentals:\n"
            "from perceptron to deep learning\" with soma, prints the tables, writes\n"
            "CSV series and (with gnuplot installed) PNG plots into DIR.\n\n"
            "  --seed N   seed of the data and the models (default 42)\n"
            "  --out DIR  output folder, created if needed (default ./tour-out)\n");
}

int main(int argc, char **argv)
{
    tour t = {"tour-out", 42, NULL, 0, 0};
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc) {
            char *end;
            errno = 0;
            unsigned long long v = strtoull(argv[++i], &end, 10);
            if (errno != 0 || *end != '\0' || end == argv[i]) {
                fprintf(stderr, "soma-tour: bad seed '%s'\n", argv[i]);
                return 2;
            }
            t.seed = v;
        } else if (strcmp(argv[i], "--out") == 0 && i + 1 < argc) {
            t.out = argv[++i];
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (mkdir(t.out, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "soma-tour: cannot create %s: %s\n", t.out, strerror(errno));
        return 1;
    }
    char gp_path[1024];
    snprintf(gp_path, sizeof gp_path, "%s/tour.gp", t.out);
    t.gp = fopen(gp_path, "w");
    if (t.gp == NULL) {
        fprintf(stderr, "soma-tour: cannot write %s\n", gp_path);
        return 1;
    }
    const double t0 = now();
    printf("soma %s tour (backend %s), seed %llu, output in %s/\n", soma_version_string(),
           soma_backend_name(), (unsigned long long)t.seed, t.out);

    experiment_perceptron(&t);
    dataset d = circles(t.seed);
    double baseline = experiment_mlp(&t, &d);
    experiment_activations(&t, &d);
    experiment_modern(&t, &d);
    experiment_init(&t, &d);
    experiment_lr(&t, &d);
    experiment_solve(&t, &d, baseline);
    free_dataset(&d);
    fclose(t.gp);

    const double train_s = now() - t0;
    printf("\n%d CSV files written to %s/ in %.2f s.\n", t.n_csv, t.out, train_s);
    if (system("command -v gnuplot >/dev/null 2>&1") == 0) {
        char cmd[1200];
        snprintf(cmd, sizeof cmd, "cd '%s' && gnuplot tour.gp", t.out);
        if (system(cmd) == 0)
            printf("%d PNG plots rendered with gnuplot (script: %s/tour.gp).\n", t.n_png,
                   t.out);
        else
            printf("gnuplot failed on %s/tour.gp; the CSV files are complete.\n", t.out);
    } else {
        printf("No PNG plots: install gnuplot (apt-get install gnuplot-nox) and run "
               "'gnuplot tour.gp' in %s/.\n",
               t.out);
    }
    printf("Total %.2f s.\n", now() - t0);
    return 0;
}
