/* Model weights (SPEC.md section 2): loaded from a safetensors file or generated from a seed with the
 * official initialisation. One parameter table drives loading, generation, shape checks and saving. */
#ifndef DYVM_WEIGHTS_H
#define DYVM_WEIGHTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "safetensors.h"

enum { DIR_FWD = 0, DIR_BWD = 1 };

typedef struct {
    float *conv_w;  /* (E, 1, K) */
    float *conv_b;  /* (E) */
    float *x_proj;  /* (R + 2N, E) */
    float *dt_w;    /* (E, R) */
    float *dt_b;    /* (E) */
    float *A_log;   /* (E, N) */
    float *Dskip;   /* (E) */
    float *A;       /* (E, N) derived: -exp(A_log), computed once at load */
    float *conv_wt; /* (K, E) derived: conv_w transposed, so the conv runs along contiguous channels */
} dyvm_ssm_weights;

typedef struct {
    float *norm_w;       /* (D) */
    float *in_proj;      /* (2E, D) */
    dyvm_ssm_weights dir[2];
    float *out_proj;     /* (D, E) */
    float *block_head_w; /* (2, 2E) */
    float *block_head_b; /* (2) */
} dyvm_layer_weights;

typedef struct {
    float *ln_w, *ln_b;     /* (D) LayerNorm */
    float *in_w, *in_b;     /* (D, D), (D) */
    float *out0_w, *out0_b; /* (D/2, D), (D/2) */
    float *out2_w, *out2_b; /* (D/4, D/2), (D/4) */
    float *out4_w, *out4_b; /* (2, D/4), (2) */
} dyvm_predictor_weights;

typedef struct {
    dyvm_config cfg;
    float *arena; /* every parameter, 64-byte aligned slices */
    size_t arena_floats;
    float *patch_w;   /* (D, C, P, P) */
    float *patch_b;   /* (D) */
    float *cls_token; /* (1, 1, D) */
    float *pos_embed; /* (1, M + 1, D) */
    dyvm_layer_weights *layers;          /* depth */
    dyvm_predictor_weights *predictors;  /* n_prune */
    float *norm_f;    /* (D) */
    float *head_w;    /* (classes, D) */
    float *head_b;    /* (classes) */
    bool has_block_heads; /* every layer has block_head.* */
    bool has_predictors;  /* every stage has score_predictors.* */
    uint64_t seed;        /* generated weights: the seed; loaded: 0 */
    char source[160];     /* where they come from: "random weights: preset P, seed S" when generated (and
                             saved so), else the file's metadata "source" (the converter names the checkpoint) */
} dyvm_weights;

/* Generated weights with the official initialisation from `seed` (block heads and predictors included). */
int dyvm_weights_init(dyvm_weights *w, const dyvm_config *cfg, uint64_t seed, char *err, size_t errlen);
/* Loads a dyvm-weights/1 safetensors file: config from its metadata, else from tensor shapes. Every size is
 * checked against the model's domain and every tensor's shape against the config before the weights are
 * allocated; the bytes they need are checked against the memory available; a NaN or infinite value is
 * refused, naming the tensor and its index. -1 with one line in err. */
int dyvm_weights_load(dyvm_weights *w, const char *path, char *err, size_t errlen);
/* The same from a parsed safetensors file (for the fuzz targets: no file system). */
int dyvm_weights_from_file(dyvm_weights *w, const st_file *f, char *err, size_t errlen);
int dyvm_weights_save(const dyvm_weights *w, const char *path, char *err, size_t errlen);
void dyvm_weights_free(dyvm_weights *w);
/* The same model at another image size: every parameter kept, pos_embed resized as the official code does
 * when it fine-tunes at a new resolution (pos_embed.h); nothing to do at the same size. -1 with err. */
int dyvm_weights_resize(dyvm_weights *w, int64_t img, char *err, size_t errlen);
size_t dyvm_weights_count(const dyvm_weights *w); /* parameters, for reports */

#endif
