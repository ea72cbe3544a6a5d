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

/* Sum over a block of THREADS threads (a multiple of 32, all calling); every thread gets the total,
 * reduced in float32 with warp shuffles. */
template <int THREADS>
__device__ inline float block_sum(float v)
{
    __shared__ float part[THREADS / 32];
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    if ((threadIdx.x & 31) == 0) part[threadIdx.x >> 5] = v;
    __syncthreads();
    float t = 0.0f;
    for (int w = 0; w < THREADS / 32; w++) t += part[w];
    __syncthreads(); /* part is reused by the next call */
    return t;
}

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

struct zero_skipped_params {
    float *y;              /* (B, L, E): zeroed for the images not listed */
    const int32_t *images; /* (n_img): the listed ones, ascending */
    int64_t n_img, B, L, E;
};
void launch_zero_skipped(const zero_skipped_params &p, cudaStream_t s);

/* scan v2: both directions at once, each with its own compacted inputs; y of the whole batch is zeroed by the
 * launcher and receives (y_f + y_b) / 2, zero for an image that runs neither direction */
struct scan2_params {
    const float *u[2];        /* per direction (n_img[d], L, E): conv output */
    const float *dpre[2];     /* (n_img[d], L, E): dt_proj output before bias */
    const float *dbl[2];      /* (n_img[d], L, R + 2N): [dt_in | B | C] */
    const float *xz;          /* (B, L, 2E): z = [..., E:] */
    float *y;                 /* (B, L, E) */
    const float *A[2];        /* per direction (E, N): -exp(A_log) */
    const float *Dskip[2];    /* (E) */
    const float *dt_bias[2];  /* (E) */
    const int32_t *images[2]; /* (n_img[d]) */
    int64_t n_img[2], B, L, E, N, R;
};
void launch_scan_v2(const scan2_params &p, cudaStream_t s);
bool scan_v2_supports(int64_t N); /* whether launch_scan_v2 has an instantiation for this d_state */

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

struct block_logits_params {
    const float *xz;     /* (B, L, 2E) */
    const float *w;      /* (2, 2E) block_head.weight */
    const float *bias;   /* (2) */
    float *logits;       /* (B, 2) */
    int64_t B, L, E2, cls;
};
void launch_block_logits(const block_logits_params &p, cudaStream_t s);

struct token_norm_params {
    const float *h, *r;  /* (B, L, D) */
    const float *w, *b;  /* LayerNorm (D) */
    float *out;          /* (B * (L - 1), D): the non-class tokens in order */
    int64_t B, L, D, cls;
};
void launch_token_layernorm(const token_norm_params &p, cudaStream_t s);

struct bias_gelu_params {
    float *y;          /* (rows, n): y = GELU(y + bias) */
    const float *bias; /* (n) */
    int64_t rows, n;
};
void launch_bias_gelu(const bias_gelu_params &p, cudaStream_t s);

struct global_mean_params {
    float *a;          /* (B * n, D): a[:, D/2:] becomes its mean over the image's tokens, sum / (n + 1) */
    int64_t B, n, D;
};
void launch_global_mean(const global_mean_params &p, cudaStream_t s);

struct score_params {
    const float *x;    /* (rows, 2): the last linear, bias added */
    float *scores;     /* (rows) = log_softmax(x)[:, 0] */
    int64_t rows;
};
void launch_log_softmax0(const score_params &p, cudaStream_t s);

struct top_k_params {
    const float *scores; /* (B, n) */
    int32_t *keep;       /* (B, n_keep): kept indices, ascending */
    int64_t B, n, n_keep;
};
void launch_top_k(const top_k_params &p, cudaStream_t s);

struct gather_params {
    const float *h, *r;  /* (B, L, D) */
    const int32_t *pos;  /* (B, L - 1) */
    const int32_t *keep; /* (B, n_keep) */
    float *h_out, *r_out; /* (B, n_keep + 1, D) */
    int32_t *pos_out;     /* (B, n_keep) */
    int64_t B, L, D, cls, n_keep;
};
void launch_gather(const gather_params &p, cudaStream_t s);

#endif
