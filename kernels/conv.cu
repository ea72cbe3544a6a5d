/* Causal depthwise conv + SiLU for one direction, on the compacted list of images that run the branch.
 * The backward direction reads the sequence from its end (taps at t, t+1, ..., t+K-1), so no reversed
 * copy is made; per element the arithmetic is that of the flipped copy.
 * Build: make cuda. Test: build/tests/test_cuda (cuda ssm_branch vs cpu_ssm_branch, both directions). */
#include "cuda_common.cuh"

/* x = causal_conv1d_fn(x, conv1d.weight, conv1d.bias, activation="silu") */
__global__ void conv_silu_kernel(conv_params p)
{
    const int64_t total = p.n_img * p.L * p.E;
    const int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x;
    if (i >= total) return;
    const int64_t e = i % p.E, t = (i / p.E) % p.L, j = i / (p.E * p.L);
    const int64_t b = p.images[j], step = p.dir == 0 ? -1 : 1;
    const float *x = p.xz + b * p.L * 2 * p.E;
    float acc = p.bias[e];
    for (int64_t k = 0; k < p.K; k++) {
        const int64_t src = t + step * k;
        if (src < 0 || src >= p.L) continue;
        acc = fmaf(p.wt[(p.K - 1 - k) * p.E + e], x[src * 2 * p.E + e], acc);
    }
    p.xc[i] = acc / (1.0f + expf(-acc));
}

void launch_conv_silu(const conv_params &p, cudaStream_t s)
{
    const int64_t n = p.n_img * p.L * p.E;
    if (n == 0) return;
    conv_silu_kernel<<<blocks_for(n, 256), 256, 0, s>>>(p);
    CUDA_LAUNCHED();
}
