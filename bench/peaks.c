#include "peaks.h"

#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend.h"
#include "cpu_ops.h"
#include "cuda_backend.h"
#include "cpu_isa.h"

/* Each measurement repeats its kernel in batches of at least this long and keeps the best batch. */
#define BATCH_MS 6.0
#define BEST_OF 3

/* The GEMM shapes of one model at batch B, one per stage that runs products (rows, n_in, n_out). */
static int model_shapes(const dyvm_config *c, int64_t B, dyvm_gemm_peak *out)
{
    const int64_t L = c->M + 1;
    const struct { dyvm_stage s; int64_t rows, n_in, n_out; } sh[] = {
        {STAGE_EMBED, B * c->M, c->channels * c->patch * c->patch, c->D},
        {STAGE_IN_PROJ, B * L, c->D, 2 * c->E},
        {STAGE_X_PROJ, B * L, c->E, c->R + 2 * c->N},
        {STAGE_DT_PROJ, B * L, c->R, c->E},
        {STAGE_OUT_PROJ, B * L, c->E, c->D},
        {STAGE_PREDICTOR, B * c->M, c->D, c->D},
        {STAGE_HEAD, B, c->D, c->classes},
    };
    const int n = (int)(sizeof sh / sizeof sh[0]);
    for (int i = 0; i < n; i++) {
        memset(&out[i], 0, sizeof out[i]);
        snprintf(out[i].model, sizeof out[i].model, "%s", c->name);
        out[i].stage = sh[i].s, out[i].batch = B, out[i].rows = sh[i].rows, out[i].n_in = sh[i].n_in, out[i].n_out = sh[i].n_out;
    }
    return n;
}

/* ---- the CPU ---- */

typedef enum { GEMM_TILED, GEMM_BLAS } gemm_way;

static void run_gemm(gemm_way way, const float *x, const float *W, float *y, const dyvm_gemm_peak *g)
{
    if (way == GEMM_TILED) cpu_gemm_xwt(x, g->n_in, W, g->n_in, y, g->n_out, g->rows, g->n_in, g->n_out);
    else
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (blasint)g->rows, (blasint)g->n_out, (blasint)g->n_in, 1.0f,
                    x, (blasint)g->n_in, W, (blasint)g->n_in, 0.0f, y, (blasint)g->n_out);
}

/* Best GFLOP/s of one way of computing the product g over BEST_OF batches of calls. */
static double time_gemm(gemm_way way, const float *x, const float *W, float *y, const dyvm_gemm_peak *g)
{
    const double flops = 2.0 * (double)g->rows * (double)g->n_in * (double)g->n_out;
    run_gemm(way, x, W, y, g); /* warm-up: packing buffers, thread pool */
    double best = 0;
    int calls = 1;
    for (int b = 0; b < BEST_OF; b++) {
        double t0 = dyvm_now_ms(), ms;
        for (int i = 0; i < calls; i++) run_gemm(way, x, W, y, g);
        ms = dyvm_now_ms() - t0;
        if (ms < BATCH_MS && b == 0) { /* too short to time well: size the batches and start again */
            calls = (int)ceil(calls * BATCH_MS / (ms > 1e-3 ? ms : 1e-3));
            b = -1;
            continue;
        }
        const double rate = flops * calls / (ms * 1e6);
        best = rate > best ? rate : best;
    }
    return best;
}

static int cpu_gemms(dyvm_peaks *p, char *err, size_t errlen)
{
    size_t nx = 0, nw = 0, ny = 0;
    for (int i = 0; i < p->n_gemm; i++) {
        const dyvm_gemm_peak *g = &p->gemm[i];
        nx = (size_t)(g->rows * g->n_in) > nx ? (size_t)(g->rows * g->n_in) : nx;
        nw = (size_t)(g->n_out * g->n_in) > nw ? (size_t)(g->n_out * g->n_in) : nw;
        ny = (size_t)(g->rows * g->n_out) > ny ? (size_t)(g->rows * g->n_out) : ny;
    }
    float *x = malloc(nx * sizeof *x), *W = malloc(nw * sizeof *W), *y = malloc(ny * sizeof *y);
    if (!x || !W || !y) {
        free(x), free(W), free(y);
        return snprintf(err, errlen, "out of memory measuring the sgemm rate"), -1;
    }
    for (size_t i = 0; i < nx; i++) x[i] = (float)(i % 13) * 0.01f;
    for (size_t i = 0; i < nw; i++) W[i] = (float)(i % 7) * 0.01f;
    for (int i = 0; i < p->n_gemm; i++) {
        dyvm_gemm_peak *g = &p->gemm[i];
        g->gflops_tiled = time_gemm(GEMM_TILED, x, W, y, g);
        g->gflops_blas = time_gemm(GEMM_BLAS, x, W, y, g);
        g->gflops = g->gflops_tiled > g->gflops_blas ? g->gflops_tiled : g->gflops_blas;
    }
    free(x), free(W), free(y);
    return 0;
}

/* exps per second of the scan's own vector exp, 2^(x log2 e) (the ISA in use; the scan's N exps per state and
 * step), every thread on its own buffer in L1 */
static double cpu_exp_rate(void)
{
    enum { N = 2048 };
    const dyvm_cpu_kernels *k = dyvm_isa_kernels();
    double best = 0;
    for (int b = 0; b < BEST_OF; b++) {
        int64_t reps = 400, total = 0;
        const double t0 = dyvm_now_ms();
#pragma omp parallel reduction(+ : total)
        {
            float in[N] __attribute__((aligned(64))), out[N] __attribute__((aligned(64)));
            for (int i = 0; i < N; i++) in[i] = -1.0f + (float)(i + omp_get_thread_num()) / N; /* exp stays finite */
            for (int64_t r = 0; r < reps; r++) {
                k->exp_scan(in, out, N);
                in[r % N] = out[(r * 7) % N] - 1.0f; /* the next pass depends on this one: nothing to hoist */
            }
            total += reps * N;
        }
        const double ms = dyvm_now_ms() - t0, rate = (double)total / (ms * 1e-3);
        best = rate > best ? rate : best;
    }
    return best;
}

/* FP32 FMA rate of the ISA in use: independent chains per thread (the kernel's), 2 FLOPs each */
static double cpu_fma_rate(void)
{
    const dyvm_cpu_kernels *k = dyvm_isa_kernels();
    const int64_t iters = 16000000 / k->width; /* about the same time for every width */
    double best = 0;
    for (int b = 0; b < BEST_OF; b++) {
        double flops = 0;
        const double t0 = dyvm_now_ms();
#pragma omp parallel reduction(+ : flops)
        flops += k->fma_chains(iters);
        const double ms = dyvm_now_ms() - t0, rate = flops / (ms * 1e6);
        best = rate > best ? rate : best;
    }
    return best;
}

/* Bytes of the last-level cache: the kernel's cache topology (sysfs) first, since glibc's sysconf reports the
 * host's whole L3 on some VMs (256 MiB on the development VM, whose L3 is 32 MiB); 32 MiB when neither says. */
static size_t llc_bytes(void)
{
    for (int idx = 3; idx >= 2; idx--) {
        char path[96];
        snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/size", idx);
        FILE *f = fopen(path, "r");
        if (!f) continue;
        unsigned long long v = 0;
        char unit = 0;
        const int got = fscanf(f, "%llu%c", &v, &unit);
        fclose(f);
        if (got >= 1 && v > 0) return (size_t)(v << (unit == 'K' ? 10 : unit == 'M' ? 20 : 0));
    }
    const long l3 = sysconf(_SC_LEVEL3_CACHE_SIZE);
    return l3 > 0 ? (size_t)l3 : (size_t)32 << 20;
}

/* this thread's part [lo, hi) of n elements: the same part for every pass and for the first touch */
static void thread_part(size_t n, size_t *lo, size_t *hi)
{
    const size_t nt = (size_t)omp_get_num_threads(), t = (size_t)omp_get_thread_num();
    *lo = n * t / nt, *hi = n * (t + 1) / nt;
}

/* triad a = b + s * c over three arrays of `bytes` each, timed in 6 batches of `passes` passes (the first
 * batch, which brings the pages in, not counted), with the ISA kernels' vector triad: the best GB/s, 12 bytes
 * per element (as STREAM). 0 when the arrays cannot be allocated or the triad did not run as written. */
static double triad_rate(size_t bytes, int passes)
{
    const dyvm_cpu_kernels *isa = dyvm_isa_kernels();
    const size_t n = bytes / sizeof(float);
    float *a = malloc(bytes), *bb = malloc(bytes), *c = malloc(bytes);
    double best = 0;
    if (a && bb && c) {
#pragma omp parallel
        {
            size_t lo, hi;
            thread_part(n, &lo, &hi);
            for (size_t i = lo; i < hi; i++) a[i] = 0, bb[i] = 1, c[i] = 2; /* first touch by the thread that uses it */
        }
        float s = 0;
        for (int batch = 0; batch < 6; batch++) {
            const double t0 = dyvm_now_ms();
            for (int k = 0; k < passes; k++) {
                s = 0.5f + (float)(batch * passes + k); /* a new value each pass: no pass can be skipped */
#pragma omp parallel
                {
                    size_t lo, hi;
                    thread_part(n, &lo, &hi);
                    isa->triad(a + lo, bb + lo, c + lo, s, (int64_t)(hi - lo));
                }
            }
            const double ms = dyvm_now_ms() - t0, gbs = 3.0 * (double)bytes * passes / (ms * 1e6);
            if (batch > 0) best = gbs > best ? gbs : best;
        }
        if (a[n / 2] != 1.0f + s * 2.0f) best = 0;
    }
    free(a), free(bb), free(c);
    return best;
}

/* memory: arrays of 4x the last-level cache (llc bytes) each, 64 to 512 MiB; one pass per batch */
static double cpu_triad(size_t llc, double *mib)
{
    size_t bytes = 4 * llc;
    bytes = bytes < ((size_t)64 << 20) ? (size_t)64 << 20 : bytes > ((size_t)512 << 20) ? (size_t)512 << 20 : bytes;
    *mib = 3.0 * (double)bytes / (1 << 20);
    return triad_rate(bytes, 1);
}

/* the last-level cache: the three arrays a quarter of it together (past the L2 caches of every core the
 * development VM has: 8 MiB against 2 x 512 KiB), passes enough for a batch of a few ms */
static double cpu_cache_triad(size_t llc, double *mib)
{
    const size_t bytes = llc / 12 / 64 * 64;
    *mib = 3.0 * (double)bytes / (1 << 20);
    const int passes = (int)(((size_t)512 << 20) / (3 * bytes)) + 1; /* 512 MiB moved per batch */
    return triad_rate(bytes, passes);
}

static int measure_cpu(dyvm_peaks *p, char *err, size_t errlen)
{
    if (cpu_gemms(p, err, errlen)) return -1;
    p->exp_per_s = cpu_exp_rate();
    snprintf(p->exp_impl, sizeof p->exp_impl, "the scan's exp, 2^(x log2 e) (reference/isa/vec.h), %s", dyvm_isa_kernels()->desc);
    p->fma_gflops = cpu_fma_rate();
    const size_t llc = llc_bytes();
    p->llc_mib = (double)llc / (1 << 20);
    p->bandwidth_gbs = cpu_triad(llc, &p->triad_mib);
    if (!(p->bandwidth_gbs > 0)) return snprintf(err, errlen, "the memory triad could not run (out of memory?)"), -1;
    p->cache_gbs = cpu_cache_triad(llc, &p->cache_triad_mib);
    if (!(p->cache_gbs > 0)) return snprintf(err, errlen, "the cache triad could not run (out of memory?)"), -1;
    return 0;
}

/* ---- the GPU: kernels/peaks.cu ---- */

static int measure_cuda(dyvm_peaks *p, char *err, size_t errlen)
{
    dyvm_cuda_gemm_rate g[DYVM_MAX_GEMM_PEAKS];
    for (int i = 0; i < p->n_gemm; i++)
        g[i] = (dyvm_cuda_gemm_rate){.rows = p->gemm[i].rows, .n_in = p->gemm[i].n_in, .n_out = p->gemm[i].n_out};
    dyvm_cuda_rates r = {0};
    if (dyvm_cuda_measure_peaks(g, p->n_gemm, &r, err, errlen)) return -1;
    const bool tf32 = !strcmp(p->precision, "tf32");
    for (int i = 0; i < p->n_gemm; i++) p->gemm[i].gflops = tf32 ? g[i].gflops_tf32 : g[i].gflops_fp32;
    p->exp_per_s = r.exp_per_s, p->fma_gflops = r.fma_gflops, p->bandwidth_gbs = r.bandwidth_gbs;
    p->triad_mib = (double)r.triad_bytes / (1 << 20);
    snprintf(p->exp_impl, sizeof p->exp_impl, "CUDA expf (as the scan kernel)");
    return 0;
}

int dyvm_peaks_measure(dyvm_peaks *p, const char *backend, const char *precision, const dyvm_config *models,
                       int n_models, const int64_t *batches, int n_batches, char *err, size_t errlen)
{
    memset(p, 0, sizeof *p);
    snprintf(p->backend, sizeof p->backend, "%s", backend);
    snprintf(p->precision, sizeof p->precision, "%s", precision ? precision : "fp32");
    p->threads = omp_get_max_threads();
    for (int m = 0; m < n_models; m++) {
        for (int b = 0; b < n_batches; b++) {
            dyvm_gemm_peak sh[16];
            const int n = model_shapes(&models[m], batches[b], sh);
            if (p->n_gemm + n > DYVM_MAX_GEMM_PEAKS) return snprintf(err, errlen, "too many GEMM shapes to measure"), -1;
            memcpy(p->gemm + p->n_gemm, sh, (size_t)n * sizeof *sh);
            p->n_gemm += n;
        }
    }
    const double t0 = dyvm_now_ms();
    const int rc = strcmp(backend, "cuda") ? measure_cpu(p, err, errlen) : measure_cuda(p, err, errlen);
    if (rc) return -1;
    for (int i = 0; i < p->n_gemm; i++) p->sgemm_gflops = p->gemm[i].gflops > p->sgemm_gflops ? p->gemm[i].gflops : p->sgemm_gflops;
    p->seconds = (dyvm_now_ms() - t0) / 1e3;
    p->measured = true;
    return 0;
}

double dyvm_stage_gemm_roof(const dyvm_peaks *p, const char *model, dyvm_stage s, int64_t B)
{
    const dyvm_gemm_peak *g = p->gemm;
    int64_t upto = INT64_MAX; /* the smallest measured batch at or above B (none: every shape counts) */
    double best = 0;
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < p->n_gemm; i++) {
            if (g[i].stage != s || strcmp(g[i].model, model)) continue;
            if (pass == 0 && g[i].batch >= B && g[i].batch < upto) upto = g[i].batch;
            if (pass == 1 && g[i].batch <= upto && g[i].gflops > best) best = g[i].gflops;
        }
    return best > 0 ? best : p->sgemm_gflops;
}

/* stages whose multiply-accumulates are matrix products on this backend (the rest are vector work: conv,
 * scan, norms). The CPU computes dt_proj with the scan's vector kernel (K = dt_rank, 12 or 24: too small for
 * a GEMM to pay), so there its roof is the FMA rate: the sgemm rate at its shape is no bound for that kernel,
 * which ran at 1.4-1.7x that "floor" in reports/2026-11-29-vm-cpu-7 (Vim-S). The GPU runs it with cuBLAS. */
static bool gemm_stage(const dyvm_peaks *p, dyvm_stage s)
{
    if (s == STAGE_DT_PROJ) return !strcmp(p->backend, "cuda");
    return s == STAGE_EMBED || s == STAGE_IN_PROJ || s == STAGE_X_PROJ || s == STAGE_OUT_PROJ || s == STAGE_PREDICTOR ||
           s == STAGE_HEAD;
}

/* GB/s for data that a working set of `bytes` holds: the cache's rate when it fits in the last-level cache
 * (and that rate was measured), the memory's otherwise */
static double data_rate(const dyvm_peaks *p, double bytes)
{
    return p->cache_gbs > 0 && bytes <= p->llc_mib * (1 << 20) ? p->cache_gbs : p->bandwidth_gbs;
}

double dyvm_floor_ms(const dyvm_peaks *p, const char *model, const dyvm_flops *f, int64_t B,
                     double stage_floor_ms[STAGE_COUNT])
{
    double total = 0;
    for (int s = 0; s < STAGE_COUNT; s++) {
        double ms = NAN;
        if (p && p->measured) {
            const bool g = gemm_stage(p, (dyvm_stage)s);
            const double gemm = g ? 2 * f->macs[s] / (dyvm_stage_gemm_roof(p, model, (dyvm_stage)s, B) * 1e9) : 0;
            const double vec = ((g ? 0 : 2 * f->macs[s]) + f->elem[s]) / (p->fma_gflops * 1e9);
            const double compute = gemm + vec + f->transc[s] / p->exp_per_s;
            const double weights = f->weight_bytes[s], acts = f->bytes[s] * (double)B - weights;
            const double memory = weights / (data_rate(p, f->weight_total) * 1e9) + acts / (data_rate(p, f->act_set[s]) * 1e9);
            ms = 1e3 * (compute > memory ? compute : memory);
        }
        if (stage_floor_ms) stage_floor_ms[s] = ms;
        total += ms;
    }
    return total;
}

cJSON *dyvm_peaks_json(const dyvm_peaks *p)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddBoolToObject(j, "measured", p->measured);
    if (!p->measured) return j;
    cJSON *g = cJSON_CreateArray();
    cJSON_AddStringToObject(j, "backend", p->backend);
    cJSON_AddStringToObject(j, "precision", p->precision);
    cJSON_AddNumberToObject(j, "threads", p->threads);
    cJSON_AddNumberToObject(j, "sgemm_gflops", p->sgemm_gflops);
    cJSON_AddNumberToObject(j, "fma_gflops", p->fma_gflops);
    cJSON_AddNumberToObject(j, "exp_per_s", p->exp_per_s);
    cJSON_AddStringToObject(j, "exp_impl", p->exp_impl);
    cJSON_AddNumberToObject(j, "bandwidth_gbs", p->bandwidth_gbs);
    cJSON_AddNumberToObject(j, "triad_mib", p->triad_mib);
    if (p->cache_gbs > 0) {
        cJSON_AddNumberToObject(j, "cache_gbs", p->cache_gbs);
        cJSON_AddNumberToObject(j, "cache_triad_mib", p->cache_triad_mib);
        cJSON_AddNumberToObject(j, "llc_mib", p->llc_mib);
    }
    cJSON_AddNumberToObject(j, "seconds", p->seconds);
    for (int i = 0; i < p->n_gemm; i++) {
        const dyvm_gemm_peak *x = &p->gemm[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "model", x->model);
        cJSON_AddStringToObject(o, "stage", dyvm_stage_name(x->stage));
        cJSON_AddNumberToObject(o, "batch", (double)x->batch);
        cJSON_AddNumberToObject(o, "rows", (double)x->rows);
        cJSON_AddNumberToObject(o, "n_in", (double)x->n_in);
        cJSON_AddNumberToObject(o, "n_out", (double)x->n_out);
        cJSON_AddNumberToObject(o, "gflops", x->gflops);
        if (x->gflops_tiled > 0) cJSON_AddNumberToObject(o, "gflops_tiled", x->gflops_tiled);
        if (x->gflops_blas > 0) cJSON_AddNumberToObject(o, "gflops_blas", x->gflops_blas);
        cJSON_AddItemToArray(g, o);
    }
    cJSON_AddItemToObject(j, "sgemm_shapes", g);
    return j;
}

void dyvm_peaks_markdown(const dyvm_peaks *p, FILE *f)
{
    if (!p->measured) {
        fprintf(f, "| speed of light | not measured (--no-peaks): no floor_ms or sol |\n");
        return;
    }
    const bool cpu = !strcmp(p->backend, "cpu");
    fprintf(f, "| sgemm roof | %.1f GFLOP/s (best of %d shapes: the models' own GEMMs%s) |\n", p->sgemm_gflops, p->n_gemm,
            cpu ? ", deterministic tiles or one threaded OpenBLAS call" : !strcmp(p->precision, "tf32") ? ", cuBLAS TF32" : ", cuBLAS FP32");
    fprintf(f, "| FMA roof | %.1f GFLOP/s (FP32, %s) |\n", p->fma_gflops, cpu ? "all threads" : "whole device");
    fprintf(f, "| exp roof | %.3g exps/s (%s) |\n", p->exp_per_s, p->exp_impl);
    fprintf(f, "| memory roof | %.1f GB/s (triad over %.0f MiB) |\n", p->bandwidth_gbs, p->triad_mib);
    if (p->cache_gbs > 0)
        fprintf(f, "| cache roof | %.1f GB/s (the triad over %.1f MiB, within the %.0f MiB last-level cache: the rate of "
                   "a stage's data that fit there) |\n", p->cache_gbs, p->cache_triad_mib, p->llc_mib);
    fprintf(f, "| peaks measured in | %.2f s (`--no-peaks` skips it) |\n", p->seconds);
}
