/* The backend table: the coarse operations the forward graph (graph.c) calls. The CPU backend fills it
 * with the reference ops (cpu_backend.c); the CUDA backend (kernels/) fills it with kernels. Every buffer
 * passed to an op lives in the backend's memory (alloc/upload/download move data in and out). Sizes are
 * int64_t; shapes are written beside each pointer. */
#ifndef DYVM_BACKEND_H
#define DYVM_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "weights.h"
#include "work.h"

typedef struct dyvm_backend dyvm_backend;

/* One directional SSM branch (SPEC.md section 4, steps 3-4) for the images in `images`. */
typedef struct {
    const dyvm_ssm_weights *w; /* backend copies */
    int dir;                   /* DIR_FWD or DIR_BWD: DIR_BWD runs from the last token, no reversed copy */
    const float *xz;           /* (B, L, 2E): x = [..., :E], z = [..., E:] */
    float *y;                  /* (B, L, E): written for the listed images, zero for the others */
    const int32_t *images;     /* host (n_images): batch indices that run this branch, ascending */
    const int32_t *images_dev; /* backend copy of images, uploaded by the graph (no per-branch copy or wait) */
    int64_t n_images, B, L;
} dyvm_branch_args;

struct dyvm_backend {
    const char *name;
    void *ctx;
    const dyvm_weights *w; /* the weights as the ops see them */
    dyvm_work work;        /* executed work, added to by every op (work.h); the graph zeroes it per forward */
    bool profile;          /* when set, time per stage is added to stage_ms (a few clock reads per op) */
    double stage_ms[STAGE_COUNT];

    void *(*alloc)(dyvm_backend *be, size_t bytes); /* NULL when out of memory */
    void (*release)(dyvm_backend *be, void *p);
    void (*upload)(dyvm_backend *be, void *dst, const void *src, size_t bytes); /* src reusable on return */
    /* queued behind the ops before it, without waiting: src must stay unchanged until the next download or
       sync (the graph's per-forward image lists and kept indices) */
    void (*upload_async)(dyvm_backend *be, void *dst, const void *src, size_t bytes);
    void (*download)(dyvm_backend *be, void *dst, const void *src, size_t bytes);
    /* the times the host waited for the device (stream or event syncs, blocking copies), counted by the
       backend; 0 for the CPU, whose ops are synchronous */
    uint64_t host_syncs;
    /* set by a backend whose backward ssm_branch also does the combine: it writes (y_fwd + y_bwd) / 2 into the
       forward branch's y, needs no y of its own (the graph allocates none), and combine_out_proj ignores y_b */
    bool fuses_directions;
    /* the memory the backend holds, in bytes requested (alignment padding not counted): the weights it reads,
       every buffer alloc gave and release did not take back, its scratch; mem_peak is the high-water mark
       since the graph last reset it (at the start of each forward) */
    uint64_t mem_weights, mem_now, mem_peak;
    /* sizes the scratch up front (the memory plan's scratch), so that no forward grows it; NULL: on demand */
    void (*reserve_scratch)(dyvm_backend *be, size_t bytes);

    /* h (B, L, D) = [patches[:c], cls, patches[c:]] + pos_embed, from images (B, C, H, W) */
    void (*embed)(dyvm_backend *be, const float *images, int64_t B, float *h);
    /* r = first ? h : r + h; u = RMSNorm(r) * weight; all (rows, D) */
    void (*add_norm)(dyvm_backend *be, const float *weight, float *r, const float *h, float *u, int64_t rows,
                     int first);
    /* y (rows, n_out) = x (rows, n_in) . W^T, W (n_out, n_in); its work counts toward `stage` */
    void (*linear)(dyvm_backend *be, dyvm_stage stage, const float *x, const float *W, float *y, int64_t rows,
                   int64_t n_in, int64_t n_out);
    /* logits (B, 2) = block_head.weight . xz[b, cls] + block_head.bias */
    void (*block_logits)(dyvm_backend *be, const dyvm_layer_weights *lw, const float *xz, int64_t B, int64_t L,
                         int64_t cls, float *logits);
    void (*ssm_branch)(dyvm_backend *be, const dyvm_branch_args *a);
    /* h (rows, D) = ((y_f + y_b) / 2) . out_proj^T; y_f is overwritten */
    void (*combine_out_proj)(dyvm_backend *be, const dyvm_layer_weights *lw, float *y_f, const float *y_b,
                             float *h, int64_t rows);
    /* scores (B, L-1) = log_softmax(predictor_k(h + r without the class token))[..., 0] */
    void (*predictor_scores)(dyvm_backend *be, int k, const float *h, const float *r, int64_t B, int64_t L,
                             int64_t cls, float *scores);
    /* keep (B, n_keep): indices of the n_keep highest scores (B, n), ties to the lower index, ascending */
    void (*top_k)(dyvm_backend *be, const float *scores, int64_t B, int64_t n, int64_t n_keep, int32_t *keep);
    /* h_out, r_out (B, n_keep + 1, D): kept tokens in order, class token at n_keep / 2;
       pos_out (B, n_keep) = pos (B, L - 1)[keep] (original patch index of each token) */
    void (*gather)(dyvm_backend *be, const float *h, const float *r, const int32_t *pos, const int32_t *keep,
                   int64_t B, int64_t L, int64_t cls, int64_t n_keep, float *h_out, float *r_out,
                   int32_t *pos_out);
    /* features (B, D) = RMSNorm_f(r + h)[cls]; logits (B, classes) = head(features) */
    void (*head)(dyvm_backend *be, const float *h, const float *r, int64_t B, int64_t L, int64_t cls,
                 float *features, float *logits);
    void (*destroy)(dyvm_backend *be);
    /* waits for queued work (NULL: the ops are synchronous); the profile timers call it */
    void (*sync)(dyvm_backend *be);
    /* device-side timing of whole forwards (CUDA events); NULL: the harness uses the host clock */
    void (*timer_start)(dyvm_backend *be);
    double (*timer_stop_ms)(dyvm_backend *be);
    const char *device; /* one line for the environment block: GPU, driver, runtime, clocks; NULL on the CPU */
};

/* mem_now += delta, and the high-water mark after it (the backends' alloc, release and scratch call it) */
void dyvm_mem_add(dyvm_backend *be, int64_t delta);

/* Monotonic milliseconds, for the profile timers. */
double dyvm_now_ms(void);
/* Around every op the graph calls: an NVTX range (domain "dyvm", coloured by stage, when built with
 * NVTX) and, when profiling, the time of stage s (stage_begin returns a time stamp; stage_end syncs and
 * adds the elapsed time). */
double dyvm_stage_begin(dyvm_backend *be, dyvm_stage s);
void dyvm_stage_end(dyvm_backend *be, dyvm_stage s, double t0);
/* NVTX ranges for the forward and its layers (no-ops without NVTX) */
void dyvm_trace_push(const char *name);
void dyvm_trace_pop(void);

/* The CPU reference backend over host weights (not copied; they must outlive it). */
dyvm_backend *dyvm_cpu_backend(const dyvm_weights *w);

#endif
