/* The CUDA backend: the forward graph's op table filled with kernels and cuBLAS (the .cu files of kernels/). */
#ifndef DYVM_CUDA_BACKEND_H
#define DYVM_CUDA_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#include "backend.h" /* C declarations, C linkage from the .cu files too */

/* Whether this build has the CUDA backend and a device is present; when not, why (one line). */
int dyvm_cuda_available(char *why, size_t len);
typedef struct {
    int tf32; /* cuBLAS may use TF32 tensor cores (otherwise strict float32) */
    int scan; /* the scan kernel version: 1 (default) or 2 (kernels/scan.cu) */
} dyvm_cuda_opts;
/* Copies the host weights to the device. NULL with one line in err when it cannot ("no CUDA device: ...",
 * out of GPU memory for the weights, a scan version this model has no kernel for). Later failures to
 * allocate device memory print one line naming what and how much, and exit 2. */
dyvm_backend *dyvm_cuda_backend(const dyvm_weights *host, const dyvm_cuda_opts *opts, char *err, size_t errlen);

/* For tests of the out-of-memory paths: holds device memory until at most `leave` bytes are free, so that the
 * next allocations fail; dyvm_cuda_release_held frees it. 0, or -1 when there is no device. */
int dyvm_cuda_hold_memory(size_t leave);
void dyvm_cuda_release_held(void);

/* The device's measured peak rates ("speed of light"), for the harness's floor times (kernels/peaks.cu). */
typedef struct {
    int64_t rows, n_in, n_out;       /* in: a linear's shape, y (rows, n_out) = x (rows, n_in) . W^T */
    double gflops_fp32, gflops_tf32; /* out: cuBLAS sgemm, strict FP32 and TF32 tensor cores, 1e9 FLOP/s */
} dyvm_cuda_gemm_rate;
typedef struct {
    double exp_per_s;     /* expf evaluations per second (the accurate expf the scan kernel uses), whole device */
    double bandwidth_gbs; /* device memory triad a[i] = b[i] + s*c[i], 12 bytes per element counted, 1e9 bytes/s */
    size_t triad_bytes;   /* bytes of the three arrays */
    double fma_gflops;    /* FP32 FMA throughput, 2 FLOPs per FMA, whole device (the elementwise roof) */
} dyvm_cuda_rates;
/* Measures cuBLAS sgemm at each given shape in strict FP32 (CUBLAS_DEFAULT_MATH) and with TF32 tensor cores
 * (CUBLAS_TF32_TENSOR_OP_MATH), with the same call layout as the backend's linear
 * (cublasSgemm(OP_T, OP_N, n_out, rows, n_in, ...)), filling gflops_fp32 / gflops_tf32 (2*rows*n_in*n_out FLOPs
 * per call, best of a few timed batches, CUDA events); then the rates. Its own stream, handle and buffers;
 * well under 1 s of device time. Returns 0, or -1 with one line in err (no device, out of memory, a CUDA
 * error, a shape outside 1..INT_MAX), every output then zero. n_gemms may be 0 (gemms may then be NULL). */
int dyvm_cuda_measure_peaks(dyvm_cuda_gemm_rate *gemms, int n_gemms, dyvm_cuda_rates *rates, char *err,
                            size_t errlen);

#ifdef __cplusplus
}
#endif

#endif
