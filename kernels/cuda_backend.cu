/* The CUDA backend: fills the forward graph's op table (reference/backend.h) with the kernels of this
 * folder and cuBLAS, on one stream. The weights are copied to the device once, as one arena; the host
 * weight struct is copied with every pointer moved into it, so the graph passes device pointers through
 * unchanged. Token pruning and block selection run on the device too (predictor.cu, select.cu); the
 * block decisions are read back once per layer by the graph (the branch GEMM sizes depend on them). The
 * host never waits per image: the graph uploads each branch's image list (once per forward for fixed
 * policies, once per layer for learned ones, without a wait), and the images a branch skips are zeroed by
 * one kernel (scan v1) or by the one memset of the fused scan (v2). Every wait of the host is counted in
 * host_syncs. Build: make cuda (nvcc, sm_80 and sm_90). Test: build/tests/test_kernels_host (the kernel
 * bodies on the CPU), build/tests/test_cuda (SKIPPED without a GPU). */
#include <cublas_v2.h>
#include <string.h>

#include <unordered_map>

#include "cuda_backend.h"
#include "cuda_common.cuh"

#define BLAS_OK(call)                                                                                            \
    do {                                                                                                         \
        cublasStatus_t s_ = (call);                                                                              \
        if (s_ == CUBLAS_STATUS_ALLOC_FAILED) { /* its workspace: how much is cuBLAS's to know */                \
            fprintf(stderr, "dyvm: out of GPU memory for cuBLAS's workspace (%s)\n", #call);                   \
            exit(2);                                                                                             \
        }                                                                                                        \
        if (s_ != CUBLAS_STATUS_SUCCESS) {                                                                       \
            fprintf(stderr, "dyvm: cuBLAS error %d at %s:%d\n", (int)s_, __FILE__, __LINE__);                   \
            exit(3);                                                                                             \
        }                                                                                                        \
    } while (0)

struct cuda_ctx {
    dyvm_backend *be;
    cudaStream_t stream;
    cublasHandle_t blas;
    dyvm_weights dw;  /* host struct, device pointers */
    float *arena;     /* device copy of the host arena */
    float *scratch;   /* device scratch, grown on demand */
    size_t scratch_floats;
    std::unordered_map<void *, size_t> sizes; /* of every buffer alloc gave out, for the memory count */
    scan2_params v2;  /* the forward branch's half of the fused scan, completed by the backward branch */
    cudaEvent_t t0, t1;
    char device[512];
};

static cuda_ctx *ctx(dyvm_backend *be) { return (cuda_ctx *)be->ctx; }

/* a wait of the host for the stream, counted */
static void wait_stream(cuda_ctx *c)
{
    CUDA_OK(cudaStreamSynchronize(c->stream));
    c->be->host_syncs++;
}

/* cudaMalloc counted in the memory count (and its size kept for release); on failure the error, cleared so that
 * it is not reported later at a launch */
static cudaError_t dev_alloc(dyvm_backend *be, size_t bytes, void **p)
{
    *p = NULL;
    const cudaError_t e = cudaMalloc(p, bytes ? bytes : 1);
    if (e != cudaSuccess) return cudaGetLastError(), e;
    ctx(be)->sizes[*p] = bytes;
    dyvm_mem_add(be, (int64_t)bytes);
    return cudaSuccess;
}
/* NULL when out of memory (the caller names the buffer) */
static void *cu_alloc(dyvm_backend *be, size_t bytes)
{
    void *p;
    return dev_alloc(be, bytes, &p) == cudaSuccess ? p : nullptr;
}
static void cu_release(dyvm_backend *be, void *p)
{
    if (!p) return;
    auto it = ctx(be)->sizes.find(p);
    if (it != ctx(be)->sizes.end()) dyvm_mem_add(be, -(int64_t)it->second), ctx(be)->sizes.erase(it);
    cudaFree(p);
}

/* the scratch at exactly `floats` (the old one released after the stream's kernels are done with it): when
 * there is no memory for it, one line naming how much and exit 2 (the forward cannot go on without it) */
static void scratch_realloc(cuda_ctx *c, size_t floats)
{
    wait_stream(c);
    cu_release(c->be, c->scratch);
    c->scratch = NULL, c->scratch_floats = 0;
    const size_t bytes = floats * sizeof(float);
    void *p;
    const cudaError_t e = dev_alloc(c->be, bytes, &p);
    if (e != cudaSuccess) {
        size_t free_b = 0, total_b = 0;
        cudaMemGetInfo(&free_b, &total_b);
        fprintf(stderr, "dyvm: out of GPU memory allocating the backend's scratch: %zu bytes (%.1f MiB) requested, "
                "%.1f MiB free of %.1f MiB (%s)\n", bytes, (double)bytes / (1 << 20), (double)free_b / (1 << 20),
                (double)total_b / (1 << 20), cudaGetErrorString(e));
        exit(2);
    }
    c->scratch = (float *)p, c->scratch_floats = floats;
}

/* grown by a quarter more than asked when short */
static float *scratch(cuda_ctx *c, size_t floats)
{
    if (floats > c->scratch_floats) scratch_realloc(c, floats + floats / 4);
    return c->scratch;
}

/* y (rows, n_out; ldy) = x (rows, n_in; ldx) . W^T (W: n_out, n_in; ldw), row-major, through column-major
 * cuBLAS as y^T = W . x^T */
static void gemm_xwt(cuda_ctx *c, const float *x, int64_t ldx, const float *W, int64_t ldw, float *y, int64_t ldy,
                     int64_t rows, int64_t n_in, int64_t n_out)
{
    if (rows == 0 || n_out == 0) return;
    const float one = 1.0f, zero = 0.0f;
    BLAS_OK(cublasSgemm(c->blas, CUBLAS_OP_T, CUBLAS_OP_N, (int)n_out, (int)rows, (int)n_in, &one, W, (int)ldw, x,
                        (int)ldx, &zero, y, (int)ldy));
}

/* the scratch at the memory plan's size up front (the plan includes the quarter and the fused scan's need) */
static void cu_reserve_scratch(dyvm_backend *be, size_t bytes)
{
    if (bytes / sizeof(float) > ctx(be)->scratch_floats) scratch_realloc(ctx(be), bytes / sizeof(float));
}
static void cu_upload(dyvm_backend *be, void *dst, const void *src, size_t bytes)
{
    if (bytes) CUDA_OK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, ctx(be)->stream));
    wait_stream(ctx(be)); /* src is pageable host memory the caller may reuse at once */
}
/* the caller keeps src unchanged until its next download or sync (backend.h), so no wait */
static void cu_upload_async(dyvm_backend *be, void *dst, const void *src, size_t bytes)
{
    if (bytes) CUDA_OK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, ctx(be)->stream));
}
static void cu_download(dyvm_backend *be, void *dst, const void *src, size_t bytes)
{
    if (bytes) CUDA_OK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, ctx(be)->stream));
    wait_stream(ctx(be));
}
static void cu_sync(dyvm_backend *be) { wait_stream(ctx(be)); }

static void cu_timer_start(dyvm_backend *be) { CUDA_OK(cudaEventRecord(ctx(be)->t0, ctx(be)->stream)); }
static double cu_timer_stop_ms(dyvm_backend *be)
{
    float ms = 0;
    CUDA_OK(cudaEventRecord(ctx(be)->t1, ctx(be)->stream));
    CUDA_OK(cudaEventSynchronize(ctx(be)->t1));
    be->host_syncs++;
    CUDA_OK(cudaEventElapsedTime(&ms, ctx(be)->t0, ctx(be)->t1));
    return ms;
}

static void cu_embed(dyvm_backend *be, const float *images, int64_t B, float *h)
{
    cuda_ctx *c = ctx(be);
    const dyvm_config *cf = &c->dw.cfg;
    const int64_t P = cf->patch, M = cf->M, D = cf->D, cpp = cf->channels * P * P;
    float *cols = scratch(c, (size_t)(B * M * (cpp + D))), *tok = cols + B * M * cpp;
    launch_im2col({images, cols, B, cf->channels, cf->img, P, cf->img / P, M}, c->stream);
    gemm_xwt(c, cols, cpp, c->dw.patch_w, cpp, tok, D, B * M, cpp, D);
    launch_assemble({tok, c->dw.patch_b, c->dw.cls_token, c->dw.pos_embed, h, B, M, D, cf->cls_pos}, c->stream);
}

static void cu_add_norm(dyvm_backend *be, const float *weight, float *r, const float *h, float *u, int64_t rows,
                        int first)
{
    cuda_ctx *c = ctx(be);
    launch_add_norm({weight, r, h, u, rows, c->dw.cfg.D, c->dw.cfg.norm_eps, first}, c->stream);
}

static void cu_linear(dyvm_backend *be, dyvm_stage stage, const float *x, const float *W, float *y, int64_t rows,
                      int64_t n_in, int64_t n_out)
{
    (void)stage;
    gemm_xwt(ctx(be), x, n_in, W, n_in, y, n_out, rows, n_in, n_out);
}

/* conv, x_proj and dt_proj of one branch on its compacted images, into xc (n, L, E), dpre (n, L, E) and
 * dbl (n, L, ld) */
static void branch_inputs(dyvm_backend *be, const dyvm_branch_args *a, float *xc, float *dpre, float *dbl)
{
    cuda_ctx *c = ctx(be);
    const dyvm_config *cf = &c->dw.cfg;
    const int64_t E = cf->E, R = cf->R, L = a->L, n = a->n_images, ld = R + 2 * cf->N;
    double t = dyvm_stage_begin(be, STAGE_CONV);
    launch_conv_silu({a->xz, a->w->conv_wt, a->w->conv_b, a->images_dev, xc, n, L, E, cf->K, a->dir}, c->stream);
    dyvm_stage_end(be, STAGE_CONV, t);
    t = dyvm_stage_begin(be, STAGE_X_PROJ);
    gemm_xwt(c, xc, E, a->w->x_proj, E, dbl, ld, n * L, E, ld);
    dyvm_stage_end(be, STAGE_X_PROJ, t);
    t = dyvm_stage_begin(be, STAGE_DT_PROJ);
    gemm_xwt(c, dbl, ld, a->w->dt_w, R, dpre, E, n * L, R, E);
    dyvm_stage_end(be, STAGE_DT_PROJ, t);
}

static void cu_ssm_branch(dyvm_backend *be, const dyvm_branch_args *a)
{
    cuda_ctx *c = ctx(be);
    const dyvm_config *cf = &c->dw.cfg;
    const int64_t E = cf->E, N = cf->N, R = cf->R, L = a->L, n = a->n_images, ld = R + 2 * N;
    const int64_t per_dir = a->B * L * (2 * E + ld); /* the most one direction's inputs take */
    if (be->fuses_directions) { /* scan v2: both directions' inputs side by side; the fused scan at the backward branch */
        float *base = scratch(c, (size_t)(2 * per_dir)) + (a->dir ? per_dir : 0);
        float *xc = base, *dpre = xc + a->B * L * E, *dbl = dpre + a->B * L * E;
        if (n) branch_inputs(be, a, xc, dpre, dbl);
        scan2_params *p = &c->v2;
        p->u[a->dir] = xc, p->dpre[a->dir] = dpre, p->dbl[a->dir] = dbl, p->images[a->dir] = a->images_dev;
        p->A[a->dir] = a->w->A, p->Dskip[a->dir] = a->w->Dskip, p->dt_bias[a->dir] = a->w->dt_b;
        p->n_img[a->dir] = n;
        if (a->dir == DIR_FWD) {
            p->y = a->y; /* receives both directions */
            return;
        }
        p->xz = a->xz, p->B = a->B, p->L = L, p->E = E, p->N = N, p->R = R;
        const double t = dyvm_stage_begin(be, STAGE_SCAN);
        launch_scan_v2(*p, c->stream);
        dyvm_stage_end(be, STAGE_SCAN, t);
        return;
    }
    launch_zero_skipped({a->y, a->images_dev, n, a->B, L, E}, c->stream); /* the images that skip contribute 0 */
    if (n == 0) return;
    float *xc = scratch(c, (size_t)(n * L * (2 * E + ld))), *dpre = xc + n * L * E, *dbl = dpre + n * L * E;
    branch_inputs(be, a, xc, dpre, dbl);
    const double t = dyvm_stage_begin(be, STAGE_SCAN);
    launch_scan({xc, dpre, dbl, a->xz, a->y, a->w->A, a->w->Dskip, a->w->dt_b, a->images_dev, n, L, E, N, R, a->dir},
                c->stream);
    dyvm_stage_end(be, STAGE_SCAN, t);
}

static void cu_combine_out_proj(dyvm_backend *be, const dyvm_layer_weights *lw, float *y_f, const float *y_b, float *h,
                                int64_t rows)
{
    cuda_ctx *c = ctx(be);
    const int64_t E = c->dw.cfg.E, D = c->dw.cfg.D;
    if (!be->fuses_directions) launch_combine({y_f, y_b, rows * E}, c->stream); /* v2 wrote the mean already */
    gemm_xwt(c, y_f, E, lw->out_proj, E, h, D, rows, E, D);
}

static void cu_head(dyvm_backend *be, const float *h, const float *r, int64_t B, int64_t L, int64_t cls,
                    float *features, float *logits)
{
    cuda_ctx *c = ctx(be);
    const int64_t D = c->dw.cfg.D, C = c->dw.cfg.classes;
    launch_head_norm({h, r, c->dw.norm_f, features, B, L, D, cls, c->dw.cfg.norm_eps}, c->stream);
    gemm_xwt(c, features, D, c->dw.head_w, D, logits, C, B, D, C);
    launch_add_bias({logits, c->dw.head_b, B, C}, c->stream);
}

static void cu_block_logits(dyvm_backend *be, const dyvm_layer_weights *lw, const float *xz, int64_t B, int64_t L,
                            int64_t cls, float *logits)
{
    cuda_ctx *c = ctx(be);
    launch_block_logits({xz, lw->block_head_w, lw->block_head_b, logits, B, L, 2 * c->dw.cfg.E, cls}, c->stream);
}

static void cu_predictor_scores(dyvm_backend *be, int k, const float *h, const float *r, int64_t B, int64_t L,
                                int64_t cls, float *scores)
{
    cuda_ctx *c = ctx(be);
    const dyvm_predictor_weights *p = &c->dw.predictors[k];
    const int64_t D = c->dw.cfg.D, n = L - 1, rows = B * n, H = D / 2, Q = D / 4;
    float *o = scratch(c, (size_t)(rows * (2 * D + H + Q + 2))), *a = o + rows * D, *x1 = a + rows * D;
    float *x2 = x1 + rows * H, *x3 = x2 + rows * Q;
    launch_token_layernorm({h, r, p->ln_w, p->ln_b, o, B, L, D, cls}, c->stream);
    gemm_xwt(c, o, D, p->in_w, D, a, D, rows, D, D);
    launch_bias_gelu({a, p->in_b, rows, D}, c->stream);
    launch_global_mean({a, B, n, D}, c->stream);
    gemm_xwt(c, a, D, p->out0_w, D, x1, H, rows, D, H);
    launch_bias_gelu({x1, p->out0_b, rows, H}, c->stream);
    gemm_xwt(c, x1, H, p->out2_w, H, x2, Q, rows, H, Q);
    launch_bias_gelu({x2, p->out2_b, rows, Q}, c->stream);
    gemm_xwt(c, x2, Q, p->out4_w, Q, x3, 2, rows, Q, 2);
    launch_add_bias({x3, p->out4_b, rows, 2}, c->stream);
    launch_log_softmax0({x3, scores, rows}, c->stream);
}

static void cu_top_k(dyvm_backend *be, const float *scores, int64_t B, int64_t n, int64_t n_keep, int32_t *keep)
{
    launch_top_k({scores, keep, B, n, n_keep}, ctx(be)->stream);
}

static void cu_gather(dyvm_backend *be, const float *h, const float *r, const int32_t *pos, const int32_t *keep,
                      int64_t B, int64_t L, int64_t cls, int64_t n_keep, float *h_out, float *r_out, int32_t *pos_out)
{
    cuda_ctx *c = ctx(be);
    launch_gather({h, r, pos, keep, h_out, r_out, pos_out, B, L, c->dw.cfg.D, cls, n_keep}, c->stream);
}

static void cu_destroy(dyvm_backend *be)
{
    cuda_ctx *c = ctx(be);
    cudaStreamSynchronize(c->stream);
    cublasDestroy(c->blas);
    cudaFree(c->arena), cudaFree(c->scratch);
    cudaEventDestroy(c->t0), cudaEventDestroy(c->t1);
    cudaStreamDestroy(c->stream);
    free(c->dw.layers), free(c->dw.predictors);
    delete c;
    free(be);
}

static void *held[64];
static int n_held;

extern "C" int dyvm_cuda_hold_memory(size_t leave)
{
    size_t free_b = 0, total_b = 0;
    if (cudaMemGetInfo(&free_b, &total_b) != cudaSuccess) return cudaGetLastError(), -1;
    size_t ask = free_b > leave ? free_b - leave : 0;
    while (ask >= ((size_t)1 << 20) && n_held < 64) { /* the largest blocks that succeed, down to 1 MiB */
        if (cudaMalloc(&held[n_held], ask) == cudaSuccess) {
            n_held++;
            if (cudaMemGetInfo(&free_b, &total_b) != cudaSuccess || free_b <= leave) break;
            ask = free_b - leave;
        } else {
            cudaGetLastError();
            ask /= 2;
        }
    }
    return 0;
}

extern "C" void dyvm_cuda_release_held(void)
{
    for (int i = 0; i < n_held; i++) cudaFree(held[i]);
    n_held = 0;
}

extern "C" int dyvm_cuda_available(char *why, size_t len)
{
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess) return snprintf(why, len, "no CUDA device: %s", cudaGetErrorString(e)), 0;
    if (n == 0) return snprintf(why, len, "no CUDA device: none found"), 0;
    return 1;
}

/* every float pointer of the host struct, moved from the host arena into the device one */
static void remap_all(dyvm_weights *d, const dyvm_weights *h, float *dev)
{
#define MOVE(f) ((f) = (f) ? dev + ((f) - h->arena) : NULL)
    MOVE(d->patch_w), MOVE(d->patch_b), MOVE(d->cls_token), MOVE(d->pos_embed), MOVE(d->norm_f), MOVE(d->head_w);
    MOVE(d->head_b);
    for (int64_t i = 0; i < h->cfg.depth; i++) {
        dyvm_layer_weights *l = &d->layers[i];
        MOVE(l->norm_w), MOVE(l->in_proj), MOVE(l->out_proj), MOVE(l->block_head_w), MOVE(l->block_head_b);
        for (int k = 0; k < 2; k++) {
            dyvm_ssm_weights *s = &l->dir[k];
            MOVE(s->conv_w), MOVE(s->conv_b), MOVE(s->x_proj), MOVE(s->dt_w), MOVE(s->dt_b), MOVE(s->A_log);
            MOVE(s->Dskip), MOVE(s->A), MOVE(s->conv_wt);
        }
    }
    for (int k = 0; k < h->cfg.n_prune; k++) {
        dyvm_predictor_weights *p = &d->predictors[k];
        MOVE(p->ln_w), MOVE(p->ln_b), MOVE(p->in_w), MOVE(p->in_b), MOVE(p->out0_w), MOVE(p->out0_b);
        MOVE(p->out2_w), MOVE(p->out2_b), MOVE(p->out4_w), MOVE(p->out4_b);
    }
#undef MOVE
}

extern "C" dyvm_backend *dyvm_cuda_backend(const dyvm_weights *host, const dyvm_cuda_opts *opts, char *err,
                                          size_t errlen)
{
    const int tf32 = opts && opts->tf32, scan = opts && opts->scan ? opts->scan : 1;
    if (scan != 1 && scan != 2) return snprintf(err, errlen, "scan version %d: there are v1 and v2", scan), nullptr;
    if (scan == 2 && !scan_v2_supports(host->cfg.N))
        return snprintf(err, errlen, "scan v2 has kernels for d_state 8, 16, 32 and 64, not %lld (use --scan v1)",
                        (long long)host->cfg.N), nullptr;
    if (!dyvm_cuda_available(err, errlen)) return NULL;
    dyvm_backend *be = (dyvm_backend *)calloc(1, sizeof *be);
    cuda_ctx *c = new cuda_ctx();
    const size_t nl = (size_t)host->cfg.depth, np = (size_t)(host->cfg.n_prune ? host->cfg.n_prune : 1);
    c->dw = *host;
    c->dw.layers = (dyvm_layer_weights *)malloc(nl * sizeof *c->dw.layers);
    c->dw.predictors = (dyvm_predictor_weights *)malloc(np * sizeof *c->dw.predictors);
    memcpy(c->dw.layers, host->layers, nl * sizeof *c->dw.layers);
    memcpy(c->dw.predictors, host->predictors, np * sizeof *c->dw.predictors);
    CUDA_OK(cudaStreamCreate(&c->stream));
    CUDA_OK(cudaEventCreate(&c->t0));
    CUDA_OK(cudaEventCreate(&c->t1));
    if (cudaMalloc(&c->arena, host->arena_floats * sizeof(float)) != cudaSuccess) {
        cudaGetLastError();
        snprintf(err, errlen, "out of GPU memory allocating the weights: %zu bytes (%.1f MiB)",
                 host->arena_floats * sizeof(float), (double)(host->arena_floats * sizeof(float)) / (1 << 20));
        cudaEventDestroy(c->t0), cudaEventDestroy(c->t1);
        cudaStreamDestroy(c->stream);
        free(c->dw.layers), free(c->dw.predictors), free(be);
        delete c;
        return NULL;
    }
    CUDA_OK(cudaMemcpy(c->arena, host->arena, host->arena_floats * sizeof(float), cudaMemcpyHostToDevice));
    remap_all(&c->dw, host, c->arena);
    c->dw.arena = c->arena;
    BLAS_OK(cublasCreate(&c->blas));
    BLAS_OK(cublasSetStream(c->blas, c->stream));
    /* strict float32 unless asked: the default math mode never lowers FP32 GEMMs to TF32 */
    BLAS_OK(cublasSetMathMode(c->blas, tf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH));
    int dev = 0, drv = 0, rt = 0, clock_khz = 0, mem_khz = 0;
    cudaDeviceProp prop;
    CUDA_OK(cudaGetDevice(&dev));
    CUDA_OK(cudaGetDeviceProperties(&prop, dev));
    cudaDriverGetVersion(&drv), cudaRuntimeGetVersion(&rt);
    cudaDeviceGetAttribute(&clock_khz, cudaDevAttrClockRate, dev);
    cudaDeviceGetAttribute(&mem_khz, cudaDevAttrMemoryClockRate, dev);
    snprintf(c->device, sizeof c->device, "%.96s, SM %d.%d, %d SMs, %.0f GiB, driver API %d.%d, runtime %d.%d, "
             "SM clock %d MHz, memory clock %d MHz%s, scan v%d", prop.name, prop.major, prop.minor, prop.multiProcessorCount,
             (double)prop.totalGlobalMem / (1 << 30), drv / 1000, drv % 1000 / 10, rt / 1000, rt % 1000 / 10,
             clock_khz / 1000, mem_khz / 1000, tf32 ? ", TF32 GEMMs" : ", strict FP32 GEMMs", scan);
    *be = dyvm_backend{};
    be->name = "cuda";
    be->ctx = c;
    be->w = &c->dw;
    be->alloc = cu_alloc, be->release = cu_release, be->upload = cu_upload, be->upload_async = cu_upload_async;
    be->download = cu_download;
    c->be = be;
    be->fuses_directions = scan == 2;
    be->reserve_scratch = cu_reserve_scratch;
    be->mem_weights = (uint64_t)(host->arena_floats * sizeof(float)); /* the device copy */
    dyvm_mem_add(be, (int64_t)be->mem_weights);
    be->embed = cu_embed, be->add_norm = cu_add_norm, be->linear = cu_linear, be->ssm_branch = cu_ssm_branch;
    be->combine_out_proj = cu_combine_out_proj, be->head = cu_head, be->destroy = cu_destroy;
    be->block_logits = cu_block_logits, be->predictor_scores = cu_predictor_scores, be->top_k = cu_top_k;
    be->gather = cu_gather;
    be->sync = cu_sync, be->timer_start = cu_timer_start, be->timer_stop_ms = cu_timer_stop_ms;
    be->device = c->device;
    return be;
}
