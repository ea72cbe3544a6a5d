/* The CPU reference ops (float32; OpenBLAS for the matrix products, OpenMP over images and channels).
 * Each is deterministic: no reduction is split between threads, so 1 or N threads give the same bits. */
#ifndef DYVM_CPU_OPS_H
#define DYVM_CPU_OPS_H

#include <stddef.h>
#include <stdint.h>

#include "backend.h"

/* A growable scratch buffer owned by the CPU backend; ops run one at a time. */
typedef struct {
    void *p;
    size_t size;
    dyvm_backend *be; /* whose memory count it is part of */
} cpu_scratch;
float *cpu_scratch_get(cpu_scratch *s, size_t floats); /* grown by a quarter more than asked when short */
void cpu_scratch_reserve(cpu_scratch *s, size_t bytes);   /* at least bytes, counted in its backend's memory */

typedef struct {
    const dyvm_weights *w;
    cpu_scratch scratch;
} cpu_ctx;

/* y (rows, n_out; row stride ldy) = x (rows, n_in; ldx) . W^T (W: n_out, n_in; ldw), deterministic tiles */
void cpu_gemm_xwt(const float *x, int64_t ldx, const float *W, int64_t ldw, float *y, int64_t ldy, int64_t rows,
                  int64_t n_in, int64_t n_out);
void cpu_embed(dyvm_backend *be, const float *images, int64_t B, float *h);
void cpu_add_norm(dyvm_backend *be, const float *weight, float *r, const float *h, float *u, int64_t rows, int first);
void cpu_linear(dyvm_backend *be, dyvm_stage stage, const float *x, const float *W, float *y, int64_t rows,
                int64_t n_in, int64_t n_out);
void cpu_block_logits(dyvm_backend *be, const dyvm_layer_weights *lw, const float *xz, int64_t B, int64_t L,
                      int64_t cls, float *logits);
void cpu_ssm_branch(dyvm_backend *be, const dyvm_branch_args *a);
void cpu_combine_out_proj(dyvm_backend *be, const dyvm_layer_weights *lw, float *y_f, const float *y_b, float *h,
                          int64_t rows);
void cpu_predictor_scores(dyvm_backend *be, int k, const float *h, const float *r, int64_t B, int64_t L, int64_t cls,
                          float *scores);
void cpu_top_k(dyvm_backend *be, const float *scores, int64_t B, int64_t n, int64_t n_keep, int32_t *keep);
void cpu_gather(dyvm_backend *be, const float *h, const float *r, const int32_t *pos, const int32_t *keep, int64_t B,
                int64_t L, int64_t cls, int64_t n_keep, float *h_out, float *r_out, int32_t *pos_out);
void cpu_head(dyvm_backend *be, const float *h, const float *r, int64_t B, int64_t L, int64_t cls, float *features,
              float *logits);

#endif
