/* The FLOP and byte model (SPEC.md section 10): for a config, a variant and a realized policy, the work
 * of each stage in two conventions. `paper` is exactly the official calc_flops.py (multiply-accumulates,
 * one SSM direction times the block keep ratio, predictors counted, norms and block heads not); `full`
 * is what the reference executes (work.h: 2 * macs + transcendentals + elementwise ops, both directions,
 * only the branches that ran). Plus the minimum bytes each stage moves (float32, each input read once,
 * each output written once), for rooflines. */
#ifndef DYVM_FLOPS_H
#define DYVM_FLOPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "graph.h"
#include "work.h"

/* What a forward did: the quantities the counts depend on. images[][] may be fractional when it is the
 * expectation of a ratio:R policy rather than a realized run. */
typedef struct {
    int64_t B;
    dyvm_variant variant;
    bool block_heads;                    /* learned block policy: block heads evaluated */
    bool predictors;                     /* learned token policy: score predictors evaluated */
    int64_t tokens[DYVM_MAX_DEPTH];      /* tokens in the sequence at each layer, class included */
    double images[DYVM_MAX_DEPTH][2];    /* images that ran each layer's forward / backward branch */
    int n_stages;                        /* pruning stages */
    int64_t scored[8], keep[8];          /* tokens scored (or picked from) and kept at each stage */
} dyvm_realized;

typedef struct {
    /* the whole batch */
    double macs[STAGE_COUNT], transc[STAGE_COUNT], elem[STAGE_COUNT];
    /* per image */
    double paper[STAGE_COUNT], full[STAGE_COUNT], bytes[STAGE_COUNT];
    double paper_total, full_total, bytes_total;
    /* the whole batch: of bytes[] times B, the weights' share (read once per forward, whatever the batch),
       their sum over stages, and the activations of the stage's largest single call (one layer, one
       direction): what must fit in a cache for the stage's data to come from there (peaks.h, the floor) */
    double weight_bytes[STAGE_COUNT], weight_total, act_set[STAGE_COUNT];
    double block_ratio; /* branches run / (2 * depth), averaged over images */
} dyvm_flops;

typedef enum { CONV_PAPER, CONV_FULL } dyvm_convention;

/* From a run's result. */
void dyvm_realized_from_result(const dyvm_config *c, const dyvm_result *r, dyvm_variant v, dyvm_realized *out);
/* Without a run: a block policy other than learned (learned falls back to the model's official keep
 * target, when it has one), token keep counts from token_ratio (0: the model's). */
int dyvm_realized_from_policy(const dyvm_config *c, dyvm_variant v, int64_t B, const dyvm_block_policy *bp,
                              dyvm_token_kind tok, double token_ratio, dyvm_realized *out, char *err, size_t errlen);
void dyvm_flops_count(const dyvm_config *c, const dyvm_realized *r, dyvm_flops *f);
/* Published numbers beside a preset variant (SPEC.md section 11), "" when none. */
const char *dyvm_published(const char *preset, dyvm_variant v);

#endif
