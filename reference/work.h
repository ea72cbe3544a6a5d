/* Executed-work counters: per stage of the forward, the multiply-accumulates, transcendental evaluations
 * (exp, log1p, erf, sqrt) and other elementwise arithmetic operations (add, mul, div, compare) that the
 * CPU ops actually run. bench/flops.c predicts the same quantities from the config and the realized
 * policy; the `full` FLOP convention is 2 * macs + transc + elem. The per-element counts of each op are
 * the table in README.md ("What the full convention counts"). */
#ifndef DYVM_WORK_H
#define DYVM_WORK_H

#include <stdint.h>

typedef enum {
    STAGE_EMBED,      /* patch conv, class token, pos_embed */
    STAGE_NORM,       /* residual add + RMSNorm before each mixer */
    STAGE_IN_PROJ,
    STAGE_BLOCK_HEAD, /* block head linear + sigmoid (learned block policy) */
    STAGE_CONV,       /* causal depthwise conv + SiLU, both directions */
    STAGE_X_PROJ,
    STAGE_DT_PROJ,
    STAGE_SCAN,       /* softplus, exp(delta A), state update, C readout, D skip, SiLU(z) gate */
    STAGE_OUT_PROJ,   /* (y_f + y_b) / 2, out_proj */
    STAGE_PREDICTOR,  /* score predictors (learned token policy) */
    STAGE_GATHER,     /* token gather after pruning: data movement only */
    STAGE_HEAD,       /* final residual add + RMSNorm of the class token, classifier */
    STAGE_COUNT
} dyvm_stage;

typedef struct {
    uint64_t macs[STAGE_COUNT];
    uint64_t transc[STAGE_COUNT];
    uint64_t elem[STAGE_COUNT];
} dyvm_work;

const char *dyvm_stage_name(dyvm_stage s);

#endif
