/* Shared pieces of the CUDA kernels: error checks, launch sizes, the parameter structs' conventions
 * (named sizes and strides, int64_t), and the ops' entry points that cuda_backend.cu puts in the table. */
#ifndef DYVM_CUDA_COMMON_CUH
#define DYVM_CUDA_COMMON_CUH

#include <cuda_runtime.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* A CUDA failure inside an op cannot be returned through the graph: one line and exit, never a wrong number. */
#define CUDA_OK(call)                                                                                            \
    do {                                                                                                         \
        cudaError_t e_ = (call);                                                                                 \
        if (e_ != cudaSuccess) {                                                                                 \
            fprintf(stderr, "dyvm: CUDA error %s at %s:%d: %s\n", cudaGetErrorName(e_), __FILE__, __LINE__,      \
                    cudaGetErrorString(e_));                                                                     \
            exit(3);                                                                                             \
        }                                                                                                        \
    } while (0)

#define CUDA_LAUNCHED() CUDA_OK(cudaGetLastError())

static inline unsigned blocks_for(int64_t n, int threads) { return (unsigned)((n + threads - 1) / threads); }

/* launchers, one per kernel family (each in its own .cu) */
struct im2col_params {
    const float *images; /* (B, C, H, H) */
    float *cols;         /* (B * M, C * P * P) */
    int64_t B, C, H, P, side, M;
};
void launch_im2col(const im2col_params &p, cudaStream_t s);

struct assemble_params {
    const float *tok;  /* (B * M, D): patch conv without bias */
    const float *bias; /* (D) */
    const float *cls;  /* (D) */
    const float *pos;  /* (M + 1, D) */
    float *h;          /* (B, M + 1, D) */
    int64_t B, M, D, cls_pos;
};
void launch_assemble(const assemble_params &p, cudaStream_t s);

struct add_norm_params {
    const float *weight; /* (D) */
    float *r;            /* (rows, D): residual, float32 */
    const float *h;      /* (rows, D) */
    float *u;            /* (rows, D): RMSNorm(r) * weight */
    int64_t rows, D;
    float eps;
    int first;           /* layer 0: r = h */
};
void launch_add_norm(const add_norm_params &p, cudaStream_t s);

struct head_norm_params {
    const float *h, *r; /* (B, L, D) */
    const float *weight; /* norm_f (D) */
    float *features;     /* (B, D) */
    int64_t B, L, D, cls;
    float eps;
};
void launch_head_norm(const head_norm_params &p, cudaStream_t s);

struct conv_params {
    const float *xz;      /* (B, L, 2E): x = [..., :E] */
    const float *wt;      /* (K, E): conv1d.weight transposed */
    const float *bias;    /* (E) */
    const int32_t *images; /* (n_img): batch index of each compacted row */
    float *xc;            /* (n_img, L, E) */
    int64_t n_img, L, E, K;
    int dir;              /* 0 forward (causal), 1 backward (reads from the end) */
};
void launch_conv_silu(const conv_params &p, cudaStream_t s);

struct scan_params {
    const float *u;        /* (n_img, L, E): conv output */
    const float *dpre;     /* (n_img, L, E): dt_proj output before bias */
    const float *dbl;      /* (n_img, L, R + 2N): [dt_in | B | C] */
    const float *xz;       /* (B, L, 2E): z = [..., E:] */
    float *y;              /* (B, L, E): rows of the listed images */
    const float *A;        /* (E, N): -exp(A_log) */
    const float *Dskip;    /* (E) */
    const float *dt_bias;  /* (E) */
    const int32_t *images; /* (n_img) */
    int64_t n_img, L, E, N, R;
    int dir;
};
void launch_scan(const scan_params &p, cudaStream_t s);

struct combine_params {
    float *y_f;       /* (n): becomes (y_f + y_b) / 2 */
    const float *y_b; /* (n) */
    int64_t n;
};
void launch_combine(const combine_params &p, cudaStream_t s);

struct bias_params {
    float *y;          /* (rows, n) */
    const float *bias; /* (n) */
    int64_t rows, n;
};
void launch_add_bias(const bias_params &p, cudaStream_t s);

#endif
