/*
 * fashion_mnist: a real data set end to end. Reads the four IDX files of
 * Fashion-MNIST (60,000 training and 10,000 test images of 28 x 28 grey
 * pixels in 10 classes) as Debian's dataset-fashion-mnist installs them,
 * gzip and all, trains a [784, 256, 128, 10] network (relu hidden layers,
 * softmax output, cross-entropy, Adam) with 10% of the training images held
 * out for validation, and reports the test accuracy and the time per epoch.
 *
 * It writes into the output folder: history.csv (the learning curves),
 * confusion.csv (test set, rows true, columns predicted), misclassified.csv
 * and misclassified.dat (the first 24 misclassified test images), and a
 * gnuplot script that renders learning_curves.png, confusion.png and
 * misclassified.png when gnuplot is installed.
 *
 *   ./build/examples/fashion_mnist [--epochs N] [--out DIR] [--seed S] [DATA_DIR]
 *
 * The library never prints: the per-epoch lines come from the fit callback.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <soma.h>

#define N_CLASSES 10
#define SIDE 28
#define N_SHOWN 24 /* misclassified images in the grid (4 x 6) */

static const char *const class_names[N_CLASSES] = {
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};

typedef struct settings {
    const char *data;
    const char *out;
    size_t epochs;
    size_t batch;
    double lr;
    uint64_t seed;
} settings;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* One line per epoch, as training goes. */
static int on_epoch(void *user, const soma_epoch_stats *s)
{
    const size_t *epochs = user;
    printf("  epoch %2zu/%zu   loss %.4f   accuracy %.4f   val loss %.4f   val accuracy "
           "%.4f   %5.1f s\n",
           s->epoch + 1, *epochs, s->loss, s->accuracy, s->val_loss, s->val_accuracy,
           s->seconds);
    fflush(stdout);
    return 0;
}

/* Read images and labels of one set ("train" or "t10k"), pixels / 255. */
static soma_status load(const settings *cfg, const char *set, soma_matrix *X,
                        soma_matrix *y)
{
    char img[1024], lab[1024];
    snprintf(img, sizeof img, "%s/%s-images-idx3-ubyte.gz", cfg->data, set);
    snprintf(lab, sizeof lab, "%s/%s-labels-idx1-ubyte.gz", cfg->data, set);
    soma_idx_options o = soma_idx_defaults();
    o.divisor = 255.0;
    soma_error_info err = {0};
    soma_status st = soma_idx_read_pair(img, lab, &o, X, y, NULL, NULL, NULL, &err);
    if (st != SOMA_OK) /* err.argument says which of the two files */
        fprintf(stderr, "fashion_mnist: %s: %s at byte %zu: %s\n",
                strcmp(err.argument, "labels_path") == 0 ? lab : img,
                soma_status_string(st), err.offset, err.message);
    return st;
}

static FILE *out_file(const settings *cfg, const char *name)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", cfg->out, name);
    FILE *f = fopen(path, "w");
    if (f == NULL)
        fprintf(stderr, "fashion_mnist: cannot write %s: %s\n", path, strerror(errno));
    return f;
}

static void write_history(const settings *cfg, const soma_history *h)
{
    FILE *f = out_file(cfg, "history.csv");
    if (f == NULL)
        return;
    fprintf(f, "epoch,loss,accuracy,val_loss,val_accuracy,seconds\n");
    for (size_t i = 0; i < h->n_epochs; i++) {
        const soma_epoch_stats *s = &h->epochs[i];
        fprintf(f, "%zu,%.6f,%.6f,%.6f,%.6f,%.3f\n", s->epoch + 1, s->loss, s->accuracy,
                s->val_loss, s->val_accuracy, s->seconds);
    }
    fclose(f);
}

/* Rows true class, columns predicted, with the class names as headers. */
static void write_confusion(const settings *cfg, const soma_matrix *C)
{
    FILE *f = out_file(cfg, "confusion.csv");
    if (f == NULL)
        return;
    fprintf(f, "true \\ predicted");
    for (size_t j = 0; j < N_CLASSES; j++)
        fprintf(f, ",%s", class_names[j]);
    fprintf(f, "\n");
    for (size_t i = 0; i < N_CLASSES; i++) {
        fprintf(f, "%s", class_names[i]);
        for (size_t j = 0; j < N_CLASSES; j++)
            fprintf(f, ",%.0f", *soma_matrix_at(C, i, j));
        fprintf(f, "\n");
    }
    fclose(f);
}

/* The first N_SHOWN misclassified test images: their list as CSV, their
 * pixels as gnuplot matrix blocks. Returns how many were written. */
static size_t write_misclassified(const settings *cfg, const soma_matrix *X,
                                  const soma_matrix *y, const soma_matrix *pred,
                                  size_t shown[N_SHOWN])
{
    FILE *f = out_file(cfg, "misclassified.csv"), *d = out_file(cfg, "misclassified.dat");
    size_t n = 0;
    if (f != NULL && d != NULL) {
        fprintf(f, "index,true,predicted,true_name,predicted_name\n");
        for (size_t i = 0; i < X->rows && n < N_SHOWN; i++) {
            const int t = (int)y->data[i], p = (int)pred->data[i];
            if (t == p)
                continue;
            fprintf(f, "%zu,%d,%d,%s,%s\n", i, t, p, class_names[t], class_names[p]);
            const double *px = soma_matrix_at(X, i, 0);
            for (size_t r = 0; r < SIDE; r++)
                for (size_t c = 0; c < SIDE; c++)
                    fprintf(d, "%.3f%c", px[r * SIDE + c], c + 1 < SIDE ? ' ' : '\n');
            fprintf(d, "\n\n");
            shown[n++] = i;
        }
    }
    if (f != NULL)
        fclose(f);
    if (d != NULL)
        fclose(d);
    return n;
}

static void write_gnuplot(const settings *cfg, const soma_matrix *y,
                          const soma_matrix *pred, const size_t *shown, size_t n_shown)
{
    FILE *g = out_file(cfg, "fashion_mnist.gp");
    if (g == NULL)
        return;
    fprintf(g, "# gnuplot fashion_mnist.gp (written by examples/fashion_mnist.c)\n"
               "set datafile separator ','\n"
               "set terminal pngcairo size 1000,420 font 'DejaVu Sans,10'\n"
               "set output 'learning_curves.png'\n"
               "set multiplot layout 1,2 title 'Fashion-MNIST, [784,256,128,10] relu, "
               "Adam with cosine decay'\n"
               "set grid lc rgb '#dddddd'\nset key autotitle columnhead\n"
               "set xrange [0.5:*]\nset xlabel 'epoch'\nset ylabel 'cross-entropy'\nset "
               "title 'loss'\n"
               "plot 'history.csv' using 1:2 with linespoints lw 2 title 'training', \\\n"
               "     '' using 1:4 with linespoints lw 2 title 'validation'\n"
               "set ylabel 'accuracy'\nset title 'accuracy'\nset key bottom right\n"
               "plot 'history.csv' using 1:3 with linespoints lw 2 title 'training', \\\n"
               "     '' using 1:5 with linespoints lw 2 title 'validation'\n"
               "unset multiplot\nset output\n\n");
    /* The confusion matrix: the CSV's headers become the tics. */
    fprintf(
        g, "reset session\nset datafile separator ','\n"
           "set terminal pngcairo size 760,680 font 'DejaVu Sans,10'\n"
           "set output 'confusion.png'\n"
           "set title 'Test set: true class (rows) against prediction (columns)'\n"
           "set xlabel 'predicted'\nset ylabel 'true'\n"
           "set xtics rotate by 40 right\nset yrange [9.5:-0.5]\n"
           "set xrange [-0.5:9.5]\nset size ratio 1\nset cblabel 'images'\n"
           "set palette defined (0 '#ffffff', 100 '#c6dbef', 400 '#4292c6', 1000 "
           "'#08306b')\n"
           "set cbrange [0:1000]\n"
           "plot 'confusion.csv' matrix rowheaders columnheaders with image notitle, \\\n"
           "     '' matrix rowheaders columnheaders using 1:2:(sprintf('%%d', $3)):"
           "($3 > 400 ? 0xffffff : 0x000000) with labels tc rgb variable font ',9' "
           "notitle\n"
           "set output\n\n");
    /* The misclassified images, one panel each. */
    fprintf(g, "reset session\nset terminal pngcairo size 960,720 font 'DejaVu Sans,9'\n"
               "set output 'misclassified.png'\n"
               "set multiplot layout 4,6 title 'First misclassified test images: true "
               "-> predicted' font ',11'\n"
               "set palette gray\nunset colorbox\nunset tics\nunset border\nunset key\n"
               "set size ratio -1\nset xrange [-0.5:27.5]\nset yrange [27.5:-0.5]\n"
               "set cbrange [0:1]\nset lmargin 0.5\nset rmargin 0.5\n");
    for (size_t k = 0; k < n_shown; k++) {
        const size_t i = shown[k];
        fprintf(g, "set title '%s -> %s' font ',8'\n", class_names[(int)y->data[i]],
                class_names[(int)pred->data[i]]);
        fprintf(g, "plot 'misclassified.dat' index %zu matrix with image\n", k);
    }
    fprintf(g, "unset multiplot\nset output\n");
    fclose(g);
}

static void render(const settings *cfg)
{
    if (system("command -v gnuplot >/dev/null 2>&1") != 0) {
        printf("No PNG plots: install gnuplot (apt-get install gnuplot-nox) and run "
               "'gnuplot fashion_mnist.gp' in %s/.\n",
               cfg->out);
        return;
    }
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "cd '%s' && gnuplot fashion_mnist.gp", cfg->out);
    if (system(cmd) == 0)
        printf("Plots: %s/learning_curves.png, confusion.png, misclassified.png\n",
               cfg->out);
    else
        printf("gnuplot failed on %s/fashion_mnist.gp; the CSV files are complete.\n",
               cfg->out);
}

static void usage(FILE *f)
{
    fprintf(
        f,
        "usage: fashion_mnist [--epochs N] [--batch N] [--lr X] [--seed S] [--out DIR]\n"
        "                     [DATA_DIR]\n\n"
        "Trains a [784,256,128,10] network on Fashion-MNIST and evaluates it on the\n"
        "test set. DATA_DIR holds train-images-idx3-ubyte.gz, train-labels-idx1-"
        "ubyte.gz,\n"
        "t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz (default\n"
        "/usr/share/datasets/fashion-mnist: apt-get install dataset-fashion-mnist).\n\n"
        "  --epochs N  training epochs (default 10)\n"
        "  --batch N   minibatch size (default 128)\n"
        "  --lr X      Adam's learning rate (default 0.001)\n"
        "  --seed S    seed of the weights, the shuffling and the validation split "
        "(42)\n"
        "  --out DIR   output folder, created if needed (default ./fashion-mnist-out)\n");
}

static int parse_args(int argc, char **argv, settings *cfg)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            exit(0);
        }
        if (a[0] != '-') {
            cfg->data = a;
            continue;
        }
        if (i + 1 >= argc)
            return -1;
        const char *v = argv[++i];
        char *end;
        errno = 0;
        if (strcmp(a, "--out") == 0) {
            cfg->out = v;
        } else if (strcmp(a, "--lr") == 0) {
            cfg->lr = strtod(v, &end);
            if (*end != '\0' || errno != 0 || !(cfg->lr > 0))
                return -1;
        } else {
            const unsigned long long n = strtoull(v, &end, 10);
            if (*end != '\0' || end == v || errno != 0 || v[0] == '-')
                return -1;
            if (strcmp(a, "--epochs") == 0 && n >= 1)
                cfg->epochs = (size_t)n;
            else if (strcmp(a, "--batch") == 0 && n >= 1)
                cfg->batch = (size_t)n;
            else if (strcmp(a, "--seed") == 0)
                cfg->seed = n;
            else
                return -1;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    settings cfg = {
        "/usr/share/datasets/fashion-mnist", "fashion-mnist-out", 10, 128, 1e-3, 42};
    if (parse_args(argc, argv, &cfg) != 0) {
        usage(stderr);
        return 2;
    }
    if (mkdir(cfg.out, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "fashion_mnist: cannot create %s: %s\n", cfg.out,
                strerror(errno));
        return 1;
    }
    soma_matrix X = {0}, y = {0}, Xt = {0}, yt = {0}, pred = {0}, C = {0};
    soma_mlp *mlp = NULL;
    soma_history h = {0};
    int rc = 1;

    printf("soma %s (%s), Fashion-MNIST from %s\n", soma_version_string(),
           soma_backend_name(), cfg.data);
    double t0 = now();
    if (load(&cfg, "train", &X, &y) != SOMA_OK || load(&cfg, "t10k", &Xt, &yt) != SOMA_OK)
        goto done;
    printf("read %zu training and %zu test images of %zu pixels in %.2f s\n", X.rows,
           Xt.rows, X.cols, now() - t0);

    /* The model: [784, 256, 128, 10], relu hidden, softmax + cross-entropy,
     * He initialisation (suited to relu). */
    const size_t sizes[] = {784, 256, 128, N_CLASSES};
    soma_mlp_spec spec = soma_mlp_spec_default();
    spec.hidden = SOMA_ACTIVATION_RELU;
    spec.output = SOMA_ACTIVATION_SOFTMAX;
    spec.loss = SOMA_LOSS_CE;
    spec.init = SOMA_INIT_HE_UNIFORM;
    spec.seed = cfg.seed;
    soma_fit_options o = soma_fit_options_default();
    o.epochs = cfg.epochs;
    o.batch_size = cfg.batch;
    o.optimizer = soma_optim_config_default(SOMA_OPTIMIZER_ADAM);
    o.learning_rate = cfg.lr;
    /* Cosine decay to 0 over the run: large steps first, small ones at the
     * end, so the last epoch's weights are not a noisy sample. */
    o.schedule.kind = SOMA_SCHEDULE_COSINE;
    o.schedule.period = cfg.epochs;
    o.schedule.lr_min = 0.0;
    o.validation_fraction = 0.1;
    o.seed = cfg.seed;
    o.callback = on_epoch;
    o.callback_user = &cfg.epochs;

    /* y holds the class numbers 0..9: a cross-entropy model with 10
     * outputs takes them as they are (no one-hot copy of the targets). */
    soma_error_info err = {0};
    soma_status st = soma_mlp_create(&mlp, sizes, 4, &spec, NULL, &err);
    if (st != SOMA_OK) {
        fprintf(stderr, "fashion_mnist: %s: %s\n", soma_status_string(st), err.message);
        goto done;
    }
    printf("training [784,256,128,10] (%zu parameters): Adam lr %g, batch %zu, %zu "
           "epochs, 10%% of the training images held out for validation\n",
           soma_mlp_n_params(mlp), cfg.lr, cfg.batch, cfg.epochs);
    st = soma_mlp_fit(mlp, &X, &y, &o, &h, &err);
    if (st != SOMA_OK) {
        fprintf(stderr, "fashion_mnist: training failed: %s: %s\n",
                soma_status_string(st), err.message);
        goto done;
    }
    double seconds = 0;
    for (size_t i = 0; i < h.n_epochs; i++)
        seconds += h.epochs[i].seconds;

    /* The test set, seen for the first time. */
    double accuracy = 0;
    st = soma_matrix_init(&pred, Xt.rows, 1, NULL);
    if (st == SOMA_OK)
        st = soma_mlp_predict(mlp, &Xt, &pred, &err);
    if (st == SOMA_OK)
        st = soma_accuracy(&yt, &pred, &accuracy, &err);
    if (st == SOMA_OK)
        st = soma_confusion_matrix(&yt, &pred, N_CLASSES, &C, NULL, &err);
    if (st != SOMA_OK) {
        fprintf(stderr, "fashion_mnist: evaluation failed: %s: %s\n",
                soma_status_string(st), err.message);
        goto done;
    }
    printf("\ntest accuracy %.4f (%zu images); %.1f s per epoch (%zu epochs, %.1f s)\n",
           accuracy, Xt.rows, seconds / (double)h.n_epochs, h.n_epochs, seconds);
    printf("\n  class          recall   most often mistaken for\n");
    for (size_t i = 0; i < N_CLASSES; i++) {
        double row = 0, worst = -1;
        size_t wj = 0;
        for (size_t j = 0; j < N_CLASSES; j++) {
            const double c = *soma_matrix_at(&C, i, j);
            row += c;
            if (j != i && c > worst) {
                worst = c;
                wj = j;
            }
        }
        printf("  %-12s   %.3f    %s (%.0f)\n", class_names[i],
               *soma_matrix_at(&C, i, i) / row, class_names[wj], worst);
    }

    size_t shown[N_SHOWN];
    write_history(&cfg, &h);
    write_confusion(&cfg, &C);
    const size_t n_shown = write_misclassified(&cfg, &Xt, &yt, &pred, shown);
    write_gnuplot(&cfg, &yt, &pred, shown, n_shown);
    printf("\nCSV files written to %s/\n", cfg.out);
    render(&cfg);
    rc = 0;
done:
    soma_history_free(&h);
    soma_mlp_destroy(mlp);
    soma_matrix_free(&X);
    soma_matrix_free(&y);
    soma_matrix_free(&Xt);
    soma_matrix_free(&yt);
    soma_matrix_free(&pred);
    soma_matrix_free(&C);
    return rc;
}
