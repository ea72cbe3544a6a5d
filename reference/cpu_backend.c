/* The CPU backend: the reference ops behind the backend table. */
#include <stdlib.h>
#include <string.h>

#include "cpu_ops.h"

/* each buffer 64-byte aligned after a 64-byte header that holds its size, for the memory count */
enum { HEADER = 64 };
static void *cpu_alloc(dyvm_backend *be, size_t bytes)
{
    char *p = aligned_alloc(64, HEADER + ((bytes + 63) & ~(size_t)63));
    if (!p) return NULL;
    memcpy(p, &bytes, sizeof bytes);
    dyvm_mem_add(be, (int64_t)bytes);
    return p + HEADER;
}
static void cpu_release(dyvm_backend *be, void *p)
{
    if (!p) return;
    size_t bytes;
    memcpy(&bytes, (char *)p - HEADER, sizeof bytes);
    dyvm_mem_add(be, -(int64_t)bytes);
    free((char *)p - HEADER);
}
static void cpu_reserve_scratch(dyvm_backend *be, size_t bytes) { cpu_scratch_reserve(&((cpu_ctx *)be->ctx)->scratch, bytes); }
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
        .destroy = cpu_destroy, .reserve_scratch = cpu_reserve_scratch,
    };
    c->scratch.be = be;
    be->mem_weights = (uint64_t)(w->arena_floats * sizeof(float)); /* read in place: the host's copy */
    dyvm_mem_add(be, (int64_t)be->mem_weights);
    return be;
}
