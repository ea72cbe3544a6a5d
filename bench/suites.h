/* The named benchmark suites of `make bench` (paper, blocks, keep, batch, breakdown, threads, sol). Each times its
 * configurations in interleaved rounds (timing.h), compares them with their baseline (speed-ups with 95 %
 * intervals), puts each under its measured floor (peaks.h), and writes <suite>.csv, .json, .dat and gnuplot
 * plots (.png, .svg) into the report folder and a section of its README.md. */
#ifndef DYVM_SUITES_H
#define DYVM_SUITES_H

#include <stdbool.h>
#include <stdio.h>

#include "env.h"
#include "peaks.h"
#include "shard.h"
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
    dyvm_peaks peaks;     /* the backend's speed of light (measured unless --no-peaks) */
    dyvm_peaks cpu_peaks; /* on a GPU run, the host CPU's, for the CPU rows of the blocks suite */
    dyvm_peaks peaks_end; /* the same roofs measured again before the last suite (sol), when measured: the
                             machine's drift over the run; the floors stay those of the start */
    FILE *readme;         /* the folder's README.md, each suite appends its section */
    int plot_failures;
    /* sharding (shard.h): with shard_n, only shard shard_i's configurations are timed (the others get
       placeholder rows, so that the suite's own code runs through; its report is thrown away) and their rows
       collected in shard_rows; with replay, every row comes from the loaded shards instead of the clock */
    int shard_i, shard_n;
    double shard_load[DYVM_MAX_SHARDS];
    cJSON *shard_rows;
    const dyvm_shard_set *replay;
    int call; /* the current suite's sets of cases timed so far */
} dyvm_suite_ctx;

extern const char *const dyvm_suite_names[]; /* NULL-terminated */
/* Runs one suite; returns 0, or -1 after printing one line on stderr. */
int dyvm_run_suite(dyvm_suite_ctx *s, const char *name);
/* The presets a suite selection times (for measuring their peaks up front); returns how many. */
int dyvm_suite_models(const char *which, bool quick, const char *names[DYVM_MAX_PEAK_MODELS]);

#endif
