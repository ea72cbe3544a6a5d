/* The device's "speed of light", measured at the start of a run (well under 1 s of device time), so that
 * the harness can set every result beside a floor time from the FLOP/byte model: sol = floor / median.
 *
 *   GEMM   cuBLAS sgemm at each requested shape, in the call layout of the backend's linear
 *          (y (rows, n_out) = x (rows, n_in) . W^T: cublasSgemm(OP_T, OP_N, n_out, rows, n_in, ...)), once in
 *          strict FP32 (CUBLAS_DEFAULT_MATH) and once with TF32 tensor cores (CUBLAS_TF32_TENSOR_OP_MATH).
 *          Inputs filled with a small finite pattern; two warm-up calls; one timed call sizes a batch of
 *          >= 10 ms; best of 3 batches (CUDA events), 2*rows*n_in*n_out FLOPs per call. After 0.3 s of
 *          timed GEMM, the remaining shapes get one batch each. Batches are back-to-back calls from the host,
 *          as in the backend: a shape whose calls are shorter than their launch includes the launch gaps.
 *   expf   every thread of one full wave (occupancy x SMs) evaluates 8 independent chains of the accurate
 *          expf (not __expf: the scan kernel uses expf), arguments in [-6, 0.5] from threadIdx and a loop
 *          counter, summed and written out; each evaluation also costs its argument's add and the
 *          accumulation. Calibrated to ~10 ms a launch, best of 3.
 *   FMA    the same wave, 8 independent fmaf chains per thread, 2 FLOPs per FMA: the elementwise roof.
 *   triad  a[i] = b[i] + s*c[i] over three float arrays of 512 MiB each (less when half the free memory
 *          cannot hold them), float4 loads, grid-stride, one wave; 12 bytes counted per element; one
 *          warm-up pass, best of 5.
 * Everything runs on its own stream, cuBLAS handle and buffers, all freed on every path; a CUDA or cuBLAS
 * failure becomes one line in err and -1 (never exit). Nothing here touches the backend's context.
 * Run: build/tests/test_cuda (prints the measured rates as # lines). Status: compiled for sm_80 and sm_90
 * but has NEVER RUN ON A GPU yet. */
#include <cublas_v2.h>
#include <limits.h>
#include <math.h>
#include <string.h>

#include "cuda_backend.h"
#include "cuda_common.cuh"

#define THREADS 256
#define CHAINS 8            /* independent chains per thread in the expf and FMA kernels */
#define FMA_UNROLL 16       /* FMAs per chain per loop trip */
#define BATCH_MS 10.0       /* the shortest timed batch or launch */
#define GEMM_BUDGET_MS 300.0 /* timed GEMM time after which each (shape, mode) gets one batch only */
#define TRIAD_BYTES ((size_t)512 << 20) /* per array */

namespace {

struct peaks {
    char *err;
    size_t errlen;
    cudaStream_t stream;
    cublasHandle_t blas;
    cudaEvent_t t0, t1;
    float *x, *w, *y;   /* GEMM: (rows, n_in), (n_out, n_in), (rows, n_out) at the largest of each */
    float *sink;        /* (wave threads): one sum per thread of the expf and FMA kernels */
    float *a, *b, *c;   /* triad: (n) each */
    int sms;
};

} // namespace

#define PEAK_CUDA(p, call)                                                                                       \
    do {                                                                                                         \
        cudaError_t e_ = (call);                                                                                 \
        if (e_ != cudaSuccess) {                                                                                 \
            snprintf((p)->err, (p)->errlen, "measuring the device peaks: CUDA error %s at %s:%d: %s",            \
                     cudaGetErrorName(e_), __FILE__, __LINE__, cudaGetErrorString(e_));                          \
            return -1;                                                                                           \
        }                                                                                                        \
    } while (0)

#define PEAK_BLAS(p, call)                                                                                       \
    do {                                                                                                         \
        cublasStatus_t s_ = (call);                                                                              \
        if (s_ != CUBLAS_STATUS_SUCCESS) {                                                                       \
            snprintf((p)->err, (p)->errlen, "measuring the device peaks: cuBLAS error %s at %s:%d: %s",          \
                     cublasGetStatusName(s_), __FILE__, __LINE__, cublasGetStatusString(s_));                    \
            return -1;                                                                                           \
        }                                                                                                        \
    } while (0)

#define PEAK_LAUNCHED(p) PEAK_CUDA(p, cudaGetLastError())

/* x[i] = scale * ((i mod 17) - 8): finite, small, not all equal */
__global__ void peaks_fill(float *x, int64_t n, float scale)
{
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
        x[i] = scale * (float)((int)(i % 17) - 8);
}

/* iters x CHAINS accurate expf per thread; chain c evaluates exp(base_c + t), t = 0, step, 2 step, ... */
__global__ void peaks_exp(float *sink, int64_t iters, float step)
{
    const float lane = (float)(threadIdx.x & 31) * (1.0f / 64.0f);
    float base[CHAINS], acc[CHAINS];
#pragma unroll
    for (int c = 0; c < CHAINS; c++) base[c] = -6.0f + 0.25f * (float)c + lane, acc[c] = 0.0f;
    float t = 0.0f;
#pragma unroll 2
    for (int64_t i = 0; i < iters; i++) {
#pragma unroll
        for (int c = 0; c < CHAINS; c++) acc[c] += expf(base[c] + t);
        t += step;
    }
    float s = 0.0f;
#pragma unroll
    for (int c = 0; c < CHAINS; c++) s += acc[c];
    sink[blockIdx.x * (int64_t)blockDim.x + threadIdx.x] = s;
}

/* iters x FMA_UNROLL x CHAINS fmaf per thread: x_c = x_c * a + b, a and b from the host (not foldable) */
__global__ void peaks_fma(float *sink, int64_t iters, float a, float b)
{
    float x[CHAINS];
#pragma unroll
    for (int c = 0; c < CHAINS; c++) x[c] = (float)(threadIdx.x + c) * (1.0f / 256.0f);
    for (int64_t i = 0; i < iters; i++) {
#pragma unroll
        for (int u = 0; u < FMA_UNROLL; u++)
#pragma unroll
            for (int c = 0; c < CHAINS; c++) x[c] = fmaf(x[c], a, b);
    }
    float s = 0.0f;
#pragma unroll
    for (int c = 0; c < CHAINS; c++) s += x[c];
    sink[blockIdx.x * (int64_t)blockDim.x + threadIdx.x] = s;
}

/* a = b + s * c over n4 float4 */
__global__ void peaks_triad(float4 *__restrict__ a, const float4 *__restrict__ b, const float4 *__restrict__ c,
                            float s, int64_t n4)
{
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n4; i += (int64_t)gridDim.x * blockDim.x) {
        const float4 x = b[i], y = c[i];
        a[i] = make_float4(fmaf(s, y.x, x.x), fmaf(s, y.y, x.y), fmaf(s, y.z, x.z), fmaf(s, y.w, x.w));
    }
}

/* cudaMalloc with "out of GPU memory" as its error line */
static int peaks_alloc(peaks *p, float **ptr, size_t bytes, const char *what)
{
    cudaError_t e = cudaMalloc((void **)ptr, bytes ? bytes : 1);
    if (e == cudaErrorMemoryAllocation) {
        *ptr = nullptr;
        return snprintf(p->err, p->errlen, "measuring the device peaks: out of GPU memory for %s (%.1f MiB)", what,
                        (double)bytes / (1 << 20)),
               -1;
    }
    PEAK_CUDA(p, e);
    return 0;
}

static int peaks_fill_launch(peaks *p, float *x, size_t n, float scale)
{
    peaks_fill<<<(unsigned)(p->sms * 8), THREADS, 0, p->stream>>>(x, (int64_t)n, scale);
    PEAK_LAUNCHED(p);
    return 0;
}

/* ms of device time between two events around what launch() enqueues on the stream */
template <typename F>
static int peaks_time(peaks *p, F launch, double *ms)
{
    float t = 0.0f;
    PEAK_CUDA(p, cudaEventRecord(p->t0, p->stream));
    if (launch()) return -1;
    PEAK_CUDA(p, cudaEventRecord(p->t1, p->stream));
    PEAK_CUDA(p, cudaEventSynchronize(p->t1));
    PEAK_CUDA(p, cudaEventElapsedTime(&t, p->t0, p->t1));
    *ms = t;
    return 0;
}

/* calls x (y (rows, n_out) = x (rows, n_in) . W^T), as gemm_xwt in cuda_backend.cu */
static int peaks_sgemm(peaks *p, const dyvm_cuda_gemm_rate *g, int64_t calls)
{
    const float one = 1.0f, zero = 0.0f;
    for (int64_t i = 0; i < calls; i++)
        PEAK_BLAS(p, cublasSgemm(p->blas, CUBLAS_OP_T, CUBLAS_OP_N, (int)g->n_out, (int)g->rows, (int)g->n_in, &one,
                                 p->w, (int)g->n_in, p->x, (int)g->n_in, &zero, p->y, (int)g->n_out));
    return 0;
}

/* GFLOP/s of one shape in the handle's current math mode; *spent_ms accumulates the timed device time */
static int peaks_gemm_rate(peaks *p, const dyvm_cuda_gemm_rate *g, double *spent_ms, double *gflops)
{
    double ms = 0.0, best = INFINITY;
    if (peaks_sgemm(p, g, 2)) return -1; /* warm-up: heuristics, module loading */
    if (peaks_time(p, [&] { return peaks_sgemm(p, g, 1); }, &ms)) return -1;
    *spent_ms += ms;
    const int64_t calls = (int64_t)fmin(fmax(ceil(BATCH_MS / fmax(ms, 1e-3)), 1.0), 100000.0);
    for (int k = 0; k < 3 && (k == 0 || *spent_ms < GEMM_BUDGET_MS); k++) {
        if (peaks_time(p, [&] { return peaks_sgemm(p, g, calls); }, &ms)) return -1;
        *spent_ms += ms;
        best = fmin(best, ms / (double)calls);
    }
    *gflops = 2.0 * (double)g->rows * (double)g->n_in * (double)g->n_out / (best * 1e-3) / 1e9;
    return 0;
}

static int peaks_gemms(peaks *p, dyvm_cuda_gemm_rate *gemms, int n_gemms)
{
    size_t nx = 0, nw = 0, ny = 0;
    for (int i = 0; i < n_gemms; i++) {
        const dyvm_cuda_gemm_rate *g = &gemms[i];
        if (g->rows <= 0 || g->n_in <= 0 || g->n_out <= 0 || g->rows > INT_MAX || g->n_in > INT_MAX ||
            g->n_out > INT_MAX)
            return snprintf(p->err, p->errlen, "measuring the device peaks: GEMM shape %d (rows %lld, n_in %lld, "
                            "n_out %lld) is not in 1..INT_MAX", i, (long long)g->rows, (long long)g->n_in,
                            (long long)g->n_out),
                   -1;
        nx = nx > (size_t)(g->rows * g->n_in) ? nx : (size_t)(g->rows * g->n_in);
        nw = nw > (size_t)(g->n_out * g->n_in) ? nw : (size_t)(g->n_out * g->n_in);
        ny = ny > (size_t)(g->rows * g->n_out) ? ny : (size_t)(g->rows * g->n_out);
    }
    if (n_gemms == 0) return 0;
    if (peaks_alloc(p, &p->x, nx * sizeof(float), "the GEMM input") ||
        peaks_alloc(p, &p->w, nw * sizeof(float), "the GEMM weight") ||
        peaks_alloc(p, &p->y, ny * sizeof(float), "the GEMM output") ||
        peaks_fill_launch(p, p->x, nx, 1.0f / 16.0f) || peaks_fill_launch(p, p->w, nw, 1.0f / 64.0f))
        return -1;
    double spent_ms = 0.0;
    for (int mode = 0; mode < 2; mode++) {
        PEAK_BLAS(p, cublasSetMathMode(p->blas, mode ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH));
        for (int i = 0; i < n_gemms; i++)
            if (peaks_gemm_rate(p, &gemms[i], &spent_ms, mode ? &gemms[i].gflops_tf32 : &gemms[i].gflops_fp32))
                return -1;
    }
    /* the triad wants the memory */
    PEAK_CUDA(p, cudaStreamSynchronize(p->stream));
    PEAK_CUDA(p, cudaFree(p->x));
    p->x = nullptr;
    PEAK_CUDA(p, cudaFree(p->w));
    p->w = nullptr;
    PEAK_CUDA(p, cudaFree(p->y));
    p->y = nullptr;
    return 0;
}

/* blocks of THREADS that fill every SM once (one full wave) */
template <typename K>
static int peaks_wave(peaks *p, K kernel, unsigned *blocks)
{
    int per_sm = 0;
    PEAK_CUDA(p, cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, kernel, THREADS, 0));
    *blocks = (unsigned)(p->sms * (per_sm > 0 ? per_sm : 1));
    return 0;
}

/* launch(iters) enqueues one launch of iters loop trips: one untimed warm-up (module loading), one timed
 * at iters0 to calibrate, then the best ms of 3 at *iters, sized to ~BATCH_MS */
template <typename L>
static int peaks_calibrated(peaks *p, L launch, int64_t iters0, int64_t *iters, double *best)
{
    double ms = 0.0;
    if (peaks_time(p, [&] { return launch((int64_t)16); }, &ms) ||
        peaks_time(p, [&] { return launch(iters0); }, &ms))
        return -1;
    *iters = (int64_t)fmin(fmax((double)iters0 * BATCH_MS / fmax(ms, 1e-3), (double)iters0), (double)iters0 * 4096.0);
    *best = INFINITY;
    for (int k = 0; k < 3; k++) {
        if (peaks_time(p, [&] { return launch(*iters); }, &ms)) return -1;
        *best = fmin(*best, ms);
    }
    return 0;
}

/* expf evaluations per second and FP32 FMA GFLOP/s of the whole device */
static int peaks_throughput(peaks *p, dyvm_cuda_rates *rates)
{
    unsigned be = 0, bf = 0;
    if (peaks_wave(p, peaks_exp, &be) || peaks_wave(p, peaks_fma, &bf) ||
        peaks_alloc(p, &p->sink, (size_t)(be > bf ? be : bf) * THREADS * sizeof(float), "the throughput sink"))
        return -1;
    int64_t iters = 0;
    double ms = 0.0;
    auto exps = [&](int64_t n) {
        peaks_exp<<<be, THREADS, 0, p->stream>>>(p->sink, n, 4.0f / (float)n); /* t runs over [0, 4] */
        PEAK_LAUNCHED(p);
        return 0;
    };
    if (peaks_calibrated(p, exps, 256, &iters, &ms)) return -1;
    rates->exp_per_s = (double)be * THREADS * (double)iters * CHAINS / (ms * 1e-3);
    auto fmas = [&](int64_t n) {
        peaks_fma<<<bf, THREADS, 0, p->stream>>>(p->sink, n, 0.999f, 0.001f); /* converges to 1 */
        PEAK_LAUNCHED(p);
        return 0;
    };
    if (peaks_calibrated(p, fmas, 256, &iters, &ms)) return -1;
    rates->fma_gflops = 2.0 * (double)bf * THREADS * (double)iters * FMA_UNROLL * CHAINS / (ms * 1e-3) / 1e9;
    return 0;
}

/* device memory GB/s of the triad: 512 MiB arrays, or what fits in half the free memory */
static int peaks_triad_rate(peaks *p, dyvm_cuda_rates *rates)
{
    size_t free_b = 0, total_b = 0, bytes = TRIAD_BYTES;
    PEAK_CUDA(p, cudaMemGetInfo(&free_b, &total_b));
    if (3 * bytes > free_b / 2) bytes = free_b / 2 / 3 / ((size_t)1 << 20) * ((size_t)1 << 20);
    if (bytes < ((size_t)1 << 20))
        return snprintf(p->err, p->errlen, "measuring the device peaks: out of GPU memory for the triad "
                        "(%.1f MiB free)", (double)free_b / (1 << 20)),
               -1;
    const size_t n = bytes / sizeof(float); /* a multiple of 4: bytes is whole MiB */
    if (peaks_alloc(p, &p->a, bytes, "the triad") || peaks_alloc(p, &p->b, bytes, "the triad") ||
        peaks_alloc(p, &p->c, bytes, "the triad") || peaks_fill_launch(p, p->b, n, 1.0f / 16.0f) ||
        peaks_fill_launch(p, p->c, n, 1.0f / 32.0f))
        return -1;
    unsigned blocks = 0;
    if (peaks_wave(p, peaks_triad, &blocks)) return -1;
    auto pass = [&] {
        peaks_triad<<<blocks, THREADS, 0, p->stream>>>((float4 *)p->a, (const float4 *)p->b, (const float4 *)p->c,
                                                       0.5f, (int64_t)(n / 4));
        PEAK_LAUNCHED(p);
        return 0;
    };
    double ms = 0.0, best = INFINITY;
    if (peaks_time(p, pass, &ms)) return -1; /* warm-up */
    for (int k = 0; k < 5; k++) {
        if (peaks_time(p, pass, &ms)) return -1;
        best = fmin(best, ms);
    }
    rates->triad_bytes = 3 * bytes;
    rates->bandwidth_gbs = 12.0 * (double)n / (best * 1e-3) / 1e9;
    return 0;
}

static int peaks_measure(peaks *p, dyvm_cuda_gemm_rate *gemms, int n_gemms, dyvm_cuda_rates *rates)
{
    int dev = 0;
    PEAK_CUDA(p, cudaGetDevice(&dev));
    PEAK_CUDA(p, cudaDeviceGetAttribute(&p->sms, cudaDevAttrMultiProcessorCount, dev));
    PEAK_CUDA(p, cudaStreamCreateWithFlags(&p->stream, cudaStreamNonBlocking));
    PEAK_CUDA(p, cudaEventCreate(&p->t0));
    PEAK_CUDA(p, cudaEventCreate(&p->t1));
    PEAK_BLAS(p, cublasCreate(&p->blas));
    PEAK_BLAS(p, cublasSetStream(p->blas, p->stream));
    if (peaks_gemms(p, gemms, n_gemms) || peaks_throughput(p, rates) || peaks_triad_rate(p, rates)) return -1;
    PEAK_CUDA(p, cudaStreamSynchronize(p->stream));
    return 0;
}

/* every resource, whichever exist; errors ignored (the first one is already in err) */
static void peaks_release(peaks *p)
{
    if (p->stream) cudaStreamSynchronize(p->stream);
    if (p->blas) cublasDestroy(p->blas);
    cudaFree(p->x), cudaFree(p->w), cudaFree(p->y), cudaFree(p->sink), cudaFree(p->a), cudaFree(p->b), cudaFree(p->c);
    if (p->t0) cudaEventDestroy(p->t0);
    if (p->t1) cudaEventDestroy(p->t1);
    if (p->stream) cudaStreamDestroy(p->stream);
    (void)cudaGetLastError(); /* a failed allocation leaves a non-sticky error that the backend's next check would see */
}

extern "C" int dyvm_cuda_measure_peaks(dyvm_cuda_gemm_rate *gemms, int n_gemms, dyvm_cuda_rates *rates, char *err,
                                       size_t errlen)
{
    if (!err) errlen = 0;
    if (!rates || n_gemms < 0 || (n_gemms > 0 && !gemms))
        return snprintf(err, errlen, "measuring the device peaks: no rates, or a negative or missing GEMM list"), -1;
    memset(rates, 0, sizeof *rates);
    for (int i = 0; i < n_gemms; i++) gemms[i].gflops_fp32 = gemms[i].gflops_tf32 = 0.0;
    if (!dyvm_cuda_available(err, errlen)) return -1;
    peaks p;
    memset(&p, 0, sizeof p);
    p.err = err, p.errlen = errlen;
    const int rc = peaks_measure(&p, gemms, n_gemms, rates);
    peaks_release(&p);
    if (rc) {
        memset(rates, 0, sizeof *rates);
        for (int i = 0; i < n_gemms; i++) gemms[i].gflops_fp32 = gemms[i].gflops_tf32 = 0.0;
    }
    return rc;
}
