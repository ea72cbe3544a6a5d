/* The machine's speed of light, measured in the run, and the floor it puts under every result.
 *
 * Measured at the start of `dyvm bench` (skipped with --no-peaks): the sgemm rate at each model's own GEMM
 * shapes (through the backend's own product: the CPU's deterministic tiles, or cuBLAS in the precision in
 * use; on the CPU also one multi-threaded OpenBLAS call, the better of the two kept), the rate of the vector
 * exp the scan uses, the FP32 FMA rate (the roof of elementwise work) and the memory bandwidth (a triad well
 * past the last-level cache, or over device memory); on the CPU also the last-level cache's bandwidth (a
 * triad over a quarter of it, past the L2 caches).
 *
 * The floor of a stage is max(compute, memory): compute = 2 * GEMM macs / (the stage's sgemm rate at the
 * batch, dyvm_stage_gemm_roof) + (2 * other macs + other elementwise ops) / (FMA rate) + transcendentals /
 * (exp rate); memory = the stage's
 * minimum bytes (flops.h) at the rate of where they can be: its activations at the cache's rate when its
 * largest call's activations fit in the last-level cache, its weights at the cache's rate when all the
 * weights a forward reads fit there, the rest at the memory bandwidth (a GPU: all at the memory bandwidth).
 * A row's floor_ms is the sum over stages, and sol = floor / median. It is a model, not a theorem: sol above
 * 1 means the model's rates were beaten at that shape (data in an L2 cache, say), and the report says so
 * rather than hiding it. */
#ifndef DYVM_PEAKS_H
#define DYVM_PEAKS_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "config.h"
#include "flops.h"

#define DYVM_MAX_GEMM_PEAKS 96
#define DYVM_MAX_PEAK_MODELS 4

typedef struct {
    char model[16];     /* preset name */
    dyvm_stage stage;   /* the stage whose products have this shape */
    int64_t batch;      /* the batch it is the shape of */
    int64_t rows, n_in, n_out;
    double gflops;      /* the better of the ways measured: the roof for this shape */
    double gflops_tiled, gflops_blas; /* CPU: the backend's tiles, one threaded OpenBLAS call (0 on CUDA) */
} dyvm_gemm_peak;

typedef struct {
    bool measured;
    char backend[16];
    char precision[8];  /* fp32 or tf32 (cuda GEMMs) */
    double sgemm_gflops;    /* the best rate over every measured shape */
    double fma_gflops;      /* 2 FLOPs per FMA, all threads / the whole device */
    double exp_per_s;       /* vector exp evaluations per second */
    char exp_impl[128];      /* which exp: the ISA in use */
    double bandwidth_gbs;   /* triad, 1e9 bytes/s, 12 bytes per element counted (as STREAM) */
    double triad_mib;       /* size of the three arrays */
    double cache_gbs;       /* CPU: the same triad within the last-level cache (0: not measured, a GPU) */
    double cache_triad_mib, llc_mib; /* its three arrays' size; the last-level cache's */
    double seconds;         /* time the measurement took */
    int threads;
    int n_gemm;
    dyvm_gemm_peak gemm[DYVM_MAX_GEMM_PEAKS];
} dyvm_peaks;

/* Measures the peaks for the given models (keyed by their config name, e.g. the preset) on a backend (cpu or
 * cuda; precision fp32 or tf32 for cuda) at the batches given (the GEMM rows are batch * tokens). Returns 0,
 * or -1 with err. */
int dyvm_peaks_measure(dyvm_peaks *p, const char *backend, const char *precision, const dyvm_config *models,
                       int n_models, const int64_t *batches, int n_batches, char *err, size_t errlen);

/* The floor of one forward of batch B for a model (by config name; a model that was not measured uses the
 * best rate over every shape), from the FLOP/byte model f of the realized policy: per stage (ms, may be NULL)
 * and in total (ms). NAN when p is not measured. */
double dyvm_floor_ms(const dyvm_peaks *p, const char *model, const dyvm_flops *f, int64_t B,
                     double stage_floor_ms[STAGE_COUNT]);
/* The sgemm roof (GFLOP/s) of a model's stage at batch B: the best rate measured at that stage's shapes up to
 * the smallest measured batch at or above B (all of them when B is above every measured batch). The
 * assumption: a product runs no faster than at a larger shape of its stage. So a batch-1 forward's roof is
 * not a batch-16 product's rate, and an unmeasured batch gets the next measured one's. */
double dyvm_stage_gemm_roof(const dyvm_peaks *p, const char *model, dyvm_stage s, int64_t B);

cJSON *dyvm_peaks_json(const dyvm_peaks *p);
void dyvm_peaks_markdown(const dyvm_peaks *p, FILE *f);

#endif
