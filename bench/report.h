/* The report of soma-bench: aligned tables on stdout, every figure in a CSV
 * file, PNG plots through gnuplot when it is on PATH. */
#ifndef SOMA_BENCH_REPORT_H
#define SOMA_BENCH_REPORT_H

#include "bench_common.h"

typedef struct report_run {
    kv_store blas, naive, loop; /* the figures of each build */
    bool have_naive, have_loop;
    bool quick;
    double seconds;    /* wall time of the whole run */
    double load_start; /* 1-minute load average at the start */
} report_run;

void report_run_init(report_run *r, bool quick);
/* Print the report, write DIR/soma-bench.csv and the plots; false on I/O error. */
bool report_write(report_run *r, const char *dir);

#endif /* SOMA_BENCH_REPORT_H */
