/* The forward graph (SPEC.md sections 3-6): one layer loop for the four variants and every backend. A
 * variant is two switches (token pruning, block selection); a policy is data. */
#ifndef DYVM_GRAPH_H
#define DYVM_GRAPH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backend.h"

typedef enum { VARIANT_VIM, VARIANT_TOKEN, VARIANT_BLOCK, VARIANT_DYVM } dyvm_variant;
typedef enum { BLOCK_LEARNED, BLOCK_ALL, BLOCK_NONE, BLOCK_RATIO, BLOCK_COUNT, BLOCK_KEEP } dyvm_block_kind;
typedef enum { TOKEN_LEARNED, TOKEN_EVEN } dyvm_token_kind;

typedef struct {
    dyvm_block_kind kind;
    double ratio;  /* ratio:R and keep:R */
    int64_t count; /* count:K */
    uint64_t seed; /* ratio:R and keep:R draw from this seed */
} dyvm_block_policy;

typedef struct {
    dyvm_variant variant;
    dyvm_block_policy block;
    dyvm_token_kind token;
    double token_ratio; /* 0: the model's own */
    bool capture;       /* keep stream.{i}, score.{k}, block_logits.{i} for checking */
} dyvm_run_opts;

typedef struct {
    int64_t B, classes, D, depth;
    float *logits;       /* (B, classes) */
    float *features;     /* (B, D) */
    float *block_policy; /* (B, depth, 2), 1 where a branch ran; NULL without block selection */
    int n_stages;        /* pruning stages run */
    int64_t n_keep[8];
    int32_t *kept[8];    /* (B, n_keep[k]): original patch index of each kept token, in sequence order */
    int64_t tokens[DYVM_MAX_DEPTH]; /* tokens in the sequence (class included) at each layer */
    int64_t branches_run; /* directional SSM branches run, summed over images */
    int64_t branch_images[DYVM_MAX_DEPTH][2]; /* images that ran each layer's forward and backward branch */
    bool block_heads_ran;  /* the learned block policy evaluated the block heads */
    bool predictors_ran;   /* the learned token policy evaluated the score predictors */
    uint64_t weights_bytes, peak_bytes; /* the backend's memory (backend.h): its weights, and its high-water
                                           mark over this forward (weights, buffers, scratch) */
    int64_t scored[8];     /* tokens scored or selected from at each pruning stage */
    dyvm_work work;        /* what the backend executed (work.h) */
    double stage_ms[STAGE_COUNT]; /* time per stage when the backend profiles (be->profile) */
    /* captures (opts.capture) */
    float **stream;        /* depth x (B, stream_L[i], D): h + r after layer i */
    int64_t *stream_L;
    float *score[8];       /* (B, n): predictor scores before stage k, in sequence order */
    int64_t score_n[8];
    float **block_logits;  /* depth x (B, 2), learned block policy only */
} dyvm_result;

const char *dyvm_variant_name(dyvm_variant v);
int dyvm_parse_variant(const char *s, dyvm_variant *v);
int dyvm_parse_block_policy(const char *s, dyvm_block_policy *p, char *err, size_t errlen);
int dyvm_parse_token_policy(const char *s, dyvm_token_kind *t);
bool dyvm_variant_prunes(dyvm_variant v);
bool dyvm_variant_selects(dyvm_variant v);
/* Branches of 2*depth that keep:R runs in every image: round(R * 2 * depth), halves away from zero. */
int64_t dyvm_block_keep_count(double ratio, int64_t depth);
/* Which of layer i's branches run under a non-learned policy, for image b. */
void dyvm_block_policy_fixed(const dyvm_block_policy *p, int64_t depth, int64_t b, int64_t layer, int run[2]);

typedef struct dyvm_graph dyvm_graph;
dyvm_graph *dyvm_graph_new(dyvm_backend *be, int64_t max_B, char *err, size_t errlen);
/* images: host (B, C, H, W), copied to the backend first; NULL: the images of the last call or of
 * dyvm_graph_upload (timed loops keep the input resident, as the official throughput protocol does).
 * Returns 0, or -1 with err (a bad option for these weights). */
int dyvm_forward(dyvm_graph *g, const float *images, int64_t B, const dyvm_run_opts *o, dyvm_result *res,
                 char *err, size_t errlen);
/* Copies B host images (B, C, H, W) into the backend for forwards given NULL images. */
void dyvm_graph_upload(dyvm_graph *g, const float *images, int64_t B);
void dyvm_result_free(dyvm_result *r);
/* 0 when every logit is finite; else -1 with err naming the first image whose logits are not (finite weights
 * and inputs can still overflow float32: a NaN logit is refused, never reported as a class). */
int dyvm_result_check_finite(const dyvm_result *r, char *err, size_t errlen);
void dyvm_graph_free(dyvm_graph *g);

#endif
