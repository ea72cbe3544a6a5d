/* Model configuration (SPEC.md section 1) and the built-in presets vim-t, vim-s, vim-b. */
#ifndef DYVM_CONFIG_H
#define DYVM_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#define DYVM_MAX_PRUNE 8
/* Layers the per-layer arrays hold; deeper models are refused. */
#define DYVM_MAX_DEPTH 64

typedef struct {
    char name[32];       /* preset name or "weights" */
    int64_t img;         /* H = W */
    int64_t patch;       /* P */
    int64_t stride;      /* must equal P (the official models) */
    int64_t channels;    /* 3 */
    int64_t D;           /* embed_dim */
    int64_t depth;
    int64_t N;           /* d_state */
    int64_t K;           /* d_conv */
    int64_t expand;
    int64_t E;           /* d_inner = expand * D */
    int64_t R;           /* dt_rank */
    int64_t classes;
    float norm_eps;
    int64_t M;           /* patches, (img / patch)^2 */
    int64_t cls_pos;     /* M / 2 */
    int n_prune;         /* pruning stages (score predictors) */
    int64_t prune_loc[DYVM_MAX_PRUNE];
    double token_ratio;  /* keep ratio per stage, compounded; 0: unknown (weights without the metadata), so a
                            pruning variant needs --token-ratio */
    int64_t token_keep[DYVM_MAX_PRUNE];
    double block_ratio;  /* the official block keep target, for benchmarks (0 when unknown) */
} dyvm_config;

/* Fills cfg from a preset name; returns 0, or -1 with err set. */
int dyvm_config_preset(const char *name, dyvm_config *cfg, char *err, size_t errlen);
/* Checks every size against the model's domain (before multiplying any of them), then recomputes derived
 * fields (E, M, cls_pos, token_keep); -1 with err naming the field (by its metadata key) when outside. */
int dyvm_config_finish(dyvm_config *cfg, char *err, size_t errlen);
/* The config at another image size (a multiple of the patch size): patches, class position and keep counts
 * follow; -1 with err ("image size 225 is not a multiple of the patch size 16") otherwise. */
int dyvm_config_set_img_size(dyvm_config *cfg, int64_t img, char *err, size_t errlen);
/* n_k = int(ratio ** (k+1) * M), computed in double as Python does. */
int64_t dyvm_keep_count(double ratio, int stage, int64_t M);
/* Sets token_ratio and token_keep; -1 with err when a stage would keep no token. */
int dyvm_config_set_token_ratio(dyvm_config *cfg, double ratio, char *err, size_t errlen);
/* Tokens in the sequence before layer i (after any pruning at i). */
int64_t dyvm_tokens_at_layer(const dyvm_config *cfg, int64_t layer, int pruning);
const char *dyvm_config_describe(const dyvm_config *cfg, char *buf, size_t len);

#endif
