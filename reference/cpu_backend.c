/* The CPU backend: the reference ops behind the backend table. */
#include <stdlib.h>
#include <string.h>

#include "cpu_ops.h"

static void *cpu_alloc(dyvm_backend *be, size_t bytes)
{
    (void)be;
    return aligned_alloc(64, (bytes + 63) & ~(size_t)63);
}
static void cpu_release(dyvm_backend *be, void *p) { (void)be, free(p); }
static void cpu_copy(dyvm_backend *be, void *dst, const void *src, size_t bytes)
{
    (void)be;
    if (bytes) memmove(dst, src, bytes);
}

static void cpu_destroy(dyvm_backend *be)
{
    cpu_ctx *c = be->ctx;
    free(c->scratch.p);
    free(c);
    free(be);
}

dyvm_backend *dyvm_cpu_backend(const dyvm_weights *w)
{
    dyvm_backend *be = calloc(1, sizeof *be);
    cpu_ctx *c = calloc(1, sizeof *c);
    if (!be || !c) return free(be), free(c), NULL;
    c->w = w;
    *be = (dyvm_backend){
        .name = "cpu", .ctx = c, .w = w,
        .alloc = cpu_alloc, .release = cpu_release, .upload = cpu_copy, .upload_async = cpu_copy, .download = cpu_copy,
        .embed = cpu_embed, .add_norm = cpu_add_norm, .linear = cpu_linear, .block_logits = cpu_block_logits,
        .ssm_branch = cpu_ssm_branch, .combine_out_proj = cpu_combine_out_proj,
        .predictor_scores = cpu_predictor_scores, .top_k = cpu_top_k, .gather = cpu_gather, .head = cpu_head,
        .destroy = cpu_destroy,
    };
    return be;
}
