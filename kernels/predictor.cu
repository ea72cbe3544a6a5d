/* The score predictor of a pruning stage (SPEC.md section 5, step 2) around cuBLAS linears: LayerNorm of
 * h + r over the non-class tokens, bias + exact GELU, the global mean (divided by n + 1 as the official
 * code does), and log_softmax's first output as the score.
 * Build: make cuda. Test: build/tests/test_cuda (cuda predictor_scores vs cpu_predictor_scores). */
#include "bodies.cuh"

#define LN_THREADS 256

/* x = LayerNorm(other_t + other_r), eps 1e-5, biased variance */
__global__ void token_layernorm_kernel(token_norm_params p)
{
    const int64_t n = p.L - 1, row = blockIdx.x, b = row / n, t = row % n;
    const int64_t src = (b * p.L + (t < p.cls ? t : t + 1)) * p.D;
    float s = 0.0f;
    for (int64_t d = threadIdx.x; d < p.D; d += blockDim.x) s += p.h[src + d] + p.r[src + d];
    const float mean = block_sum<LN_THREADS>(s) / (float)p.D;
    float v = 0.0f;
    for (int64_t d = threadIdx.x; d < p.D; d += blockDim.x) {
        const float x = p.h[src + d] + p.r[src + d] - mean;
        v += x * x;
    }
    const float rstd = 1.0f / sqrtf(block_sum<LN_THREADS>(v) / (float)p.D + 1e-5f);
    for (int64_t d = threadIdx.x; d < p.D; d += blockDim.x)
        p.out[row * p.D + d] = (p.h[src + d] + p.r[src + d] - mean) * rstd * p.w[d] + p.b[d];
}

__global__ void bias_gelu_kernel(bias_gelu_params p)
{
    const int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x;
    if (i < p.rows * p.n) bias_gelu_at(p, i);
}

__global__ void global_mean_kernel(global_mean_params p)
{
    const int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x;
    if (i < p.B * (p.D / 2)) global_mean_at(p, i);
}

__global__ void log_softmax0_kernel(score_params p)
{
    const int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x;
    if (i < p.rows) log_softmax0_at(p, i);
}

void launch_token_layernorm(const token_norm_params &p, cudaStream_t s)
{
    if (p.B * (p.L - 1) == 0) return;
    token_layernorm_kernel<<<(unsigned)(p.B * (p.L - 1)), LN_THREADS, 0, s>>>(p);
    CUDA_LAUNCHED();
}

void launch_bias_gelu(const bias_gelu_params &p, cudaStream_t s)
{
    if (p.rows * p.n == 0) return;
    bias_gelu_kernel<<<blocks_for(p.rows * p.n, 256), 256, 0, s>>>(p);
    CUDA_LAUNCHED();
}

void launch_global_mean(const global_mean_params &p, cudaStream_t s)
{
    if (p.B * p.D == 0) return;
    global_mean_kernel<<<blocks_for(p.B * (p.D / 2), 128), 128, 0, s>>>(p);
    CUDA_LAUNCHED();
}

void launch_log_softmax0(const score_params &p, cudaStream_t s)
{
    if (p.rows == 0) return;
    log_softmax0_kernel<<<blocks_for(p.rows, 256), 256, 0, s>>>(p);
    CUDA_LAUNCHED();
}
