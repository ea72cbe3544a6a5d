/* Fused residual add + RMSNorm (residual kept in float32), and the final norm on the class token only.
 * One block per row; the sum of squares reduced in float32 with warp shuffles.
 * Build: make cuda. Test: build/tests/test_cuda (cuda add_norm vs cpu_add_norm, head vs cpu_head). */
#include "cuda_common.cuh"

#define NORM_THREADS 256

/* residual = residual + hidden_states; hidden_states = residual / sqrt(mean(residual^2) + eps) * weight */
__global__ void add_norm_kernel(add_norm_params p)
{
    const int64_t row = blockIdx.x;
    float *r = p.r + row * p.D;
    const float *h = p.h + row * p.D;
    float ss = 0.0f;
    for (int64_t d = threadIdx.x; d < p.D; d += blockDim.x) {
        const float v = p.first ? h[d] : r[d] + h[d];
        r[d] = v;
        ss += v * v;
    }
    const float rstd = 1.0f / sqrtf(block_sum<NORM_THREADS>(ss) / (float)p.D + p.eps);
    for (int64_t d = threadIdx.x; d < p.D; d += blockDim.x) p.u[row * p.D + d] = r[d] * rstd * p.weight[d];
}

/* features = norm_f(residual + hidden_states)[:, cls] */
__global__ void head_norm_kernel(head_norm_params p)
{
    const int64_t b = blockIdx.x, at = (b * p.L + p.cls) * p.D;
    float ss = 0.0f;
    for (int64_t d = threadIdx.x; d < p.D; d += blockDim.x) {
        const float v = p.r[at + d] + p.h[at + d];
        ss += v * v;
    }
    const float rstd = 1.0f / sqrtf(block_sum<NORM_THREADS>(ss) / (float)p.D + p.eps);
    for (int64_t d = threadIdx.x; d < p.D; d += blockDim.x)
        p.features[b * p.D + d] = (p.r[at + d] + p.h[at + d]) * rstd * p.weight[d];
}

void launch_add_norm(const add_norm_params &p, cudaStream_t s)
{
    if (p.rows == 0) return;
    add_norm_kernel<<<(unsigned)p.rows, NORM_THREADS, 0, s>>>(p);
    CUDA_LAUNCHED();
}

void launch_head_norm(const head_norm_params &p, cudaStream_t s)
{
    head_norm_kernel<<<(unsigned)p.B, NORM_THREADS, 0, s>>>(p);
    CUDA_LAUNCHED();
}
