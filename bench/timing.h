/* Timing benchmark cases in interleaved rounds: every configuration of a suite is timed once per round, in
 * an order shuffled per round from a printed seed, so drift of the machine hits every configuration alike.
 * Each round of a case: warm-up forwards, then forwards timed with a monotonic clock (or the backend's
 * device timer) until the round's stopping rule (stats.h) holds. Every row carries its statistics, all its
 * samples with the round each came from, the realized policy and both FLOP conventions, and, once the peaks
 * are known, its floor and speed of light. */
#ifndef DYVM_TIMING_H
#define DYVM_TIMING_H

#include <stdbool.h>
#include <stdint.h>

#include "flops.h"
#include "graph.h"
#include "inference.h"
#include "peaks.h"
#include "stats.h"

#define DYVM_MAX_ROUNDS 16

typedef struct {
    char model[64];
    dyvm_run_opts opts;      /* variant, block and token policy, token ratio */
    char block_policy[32];   /* as given, e.g. keep:0.8 */
    int64_t batch;
    int threads;
    bool profile;            /* time per stage (breakdown suite) */
} dyvm_case;

typedef struct {
    dyvm_case c;
    char backend[16];
    char host[64];           /* the machine that timed it (shards of one suite may run on several) */
    double token_ratio;      /* effective: the case's, else the model's; 1 without pruning */
    dyvm_stats st;           /* milliseconds per forward, over every round */
    double *samples_ms;      /* in round order: round_n[0] samples of round 0, then round 1, ... */
    size_t n_samples, cap;
    int rounds;
    size_t round_n[DYVM_MAX_ROUNDS];
    double round_median_ms[DYVM_MAX_ROUNDS];
    bool rounds_disagree;    /* two rounds' median intervals do not overlap */
    const char *stop_reason; /* of the last round */
    double images_per_s;     /* batch / median */
    dyvm_interval ips_ci;    /* 95 % interval of images_per_s */
    dyvm_flops flops;        /* per image, for the realized policy */
    bool have_flops;
    double gflops_paper_per_s, gflops_full_per_s;
    int64_t tokens[8];       /* tokens in the sequence after each pruning stage (first: before any) */
    int n_tokens;
    double stage_ms[STAGE_COUNT];       /* mean per forward, when profiled */
    double floor_ms, sol;               /* peaks.h; NAN when the peaks were not measured */
    /* the floor under the roofs measured again just before the row's suite (the sol suite's), by the process
       that timed the row (in a merge, its own shard's roofs); NAN when not measured */
    double floor_end_ms;
    double weights_bytes, peak_bytes;   /* the backend's memory (backend.h): weights; high-water mark of a forward */
    double max_rss_bytes;               /* CPU: the process's peak resident set so far (getrusage); 0 on a GPU */
    double stage_floor_ms[STAGE_COUNT];
    bool have_speedup;                  /* set by the suite that compares this row with a baseline */
    dyvm_interval speedup;              /* baseline median / this median, 95 % interval */
    char speedup_vs[48];                /* the baseline, e.g. "vim" or "count:48" */
} dyvm_row;

typedef struct {
    dyvm_stop_rule rule;     /* per round */
    int warmup;              /* forwards before each round's timing, per configuration */
    double warmup_seconds;
    int rounds;
    uint64_t order_seed;     /* the shuffled order of each round */
    size_t bootstrap_reps;
} dyvm_timing;

/* Times one round of a case on a graph whose backend holds the case's model; images are host (B, C, H, W).
 * Appends the round's samples to the row (zeroed by the caller before the first round). */
int dyvm_time_round(dyvm_graph *g, dyvm_backend *be, const float *images, const dyvm_case *c, const dyvm_timing *t,
                    dyvm_row *row, char *err, size_t errlen);
/* After the last round: statistics over every sample, per-round medians, throughput and its interval. */
void dyvm_row_finish(dyvm_row *row, const dyvm_timing *t);
/* The row's samples as a set split by rounds (for intervals). */
dyvm_sample_set dyvm_row_samples(const dyvm_row *r);
/* floor_ms, sol and the per-stage floors of a finished row from the measured peaks (nothing when they were
 * not measured: the row keeps NAN). */
void dyvm_row_apply_floor(dyvm_row *r, const dyvm_peaks *p);
/* Sets row->speedup = median(base) / median(row) with its interval (resampled within rounds, inference.h). */
void dyvm_row_speedup(dyvm_row *row, const dyvm_row *base, const char *vs, const dyvm_timing *t);
void dyvm_row_free(dyvm_row *r);

#endif
