/* Timing one benchmark case: warm-up, then forwards timed with a monotonic clock until the stopping rule
 * (stats.h) says the samples have settled. Every row carries its statistics, its raw samples, the realized
 * policy and both FLOP conventions. */
#ifndef DYVM_TIMING_H
#define DYVM_TIMING_H

#include <stdbool.h>
#include <stdint.h>

#include "flops.h"
#include "graph.h"
#include "stats.h"

typedef struct {
    char model[64];
    dyvm_run_opts opts;      /* variant, block and token policy, token ratio */
    char block_policy[32];   /* as given, e.g. ratio:0.8 */
    int64_t batch;
    int threads;
    bool profile;            /* time per stage (breakdown suite) */
} dyvm_case;

typedef struct {
    dyvm_case c;
    char backend[16];
    double token_ratio;      /* effective: the case's, else the model's; 1 without pruning */
    dyvm_stats st;           /* milliseconds per forward */
    double *samples_ms;
    size_t n_samples;
    const char *stop_reason;
    double images_per_s;     /* batch / median */
    dyvm_flops flops;        /* per image, for the realized policy */
    double gflops_paper_per_s, gflops_full_per_s;
    int64_t tokens[8];       /* tokens in the sequence after each pruning stage (first: before any) */
    int n_tokens;
    double stage_ms[STAGE_COUNT]; /* mean per forward, when profiled */
} dyvm_row;

typedef struct {
    dyvm_stop_rule rule;
    int warmup;          /* forwards before timing */
    double warmup_seconds;
} dyvm_timing;

/* Times one case on a graph whose backend holds the case's model; images are host (B, C, H, W). */
int dyvm_time_case(dyvm_graph *g, dyvm_backend *be, const float *images, const dyvm_case *c, const dyvm_timing *t,
                   dyvm_row *row, char *err, size_t errlen);
void dyvm_row_free(dyvm_row *r);

#endif
