/* The named benchmark suites of `make bench` (paper, blocks, keep, batch, breakdown). Each writes
 * <suite>.csv, .json, .md, .dat and a gnuplot plot (.png, .svg) into the report folder and a section of
 * its README.md. */
#ifndef DYVM_SUITES_H
#define DYVM_SUITES_H

#include <stdbool.h>
#include <stdio.h>

#include "env.h"
#include "timing.h"

typedef struct {
    const char *dir;      /* the report folder */
    const char *scripts;  /* folder of the gnuplot scripts */
    bool quick;           /* smaller models and sweeps, shorter timing */
    const char *backend;  /* cpu or cuda */
    const char *precision; /* fp32 or tf32 (cuda) */
    int64_t batch;        /* of the suites other than batch: 1 on the CPU, 128 on a GPU */
    bool plots;           /* gnuplot present */
    int threads;
    uint64_t input_seed, weights_seed;
    dyvm_env env;
    dyvm_timing timing;
    FILE *readme;         /* the folder's README.md, each suite appends its section */
    int plot_failures;
} dyvm_suite_ctx;

extern const char *const dyvm_suite_names[]; /* NULL-terminated */
/* Runs one suite; returns 0, or -1 after printing one line on stderr. */
int dyvm_run_suite(dyvm_suite_ctx *s, const char *name);

#endif
