/* Causal depthwise conv + SiLU for one direction, on the compacted list of images that run the branch.
 * The backward direction reads the sequence from its end (taps at t, t+1, ..., t+K-1), so no reversed
 * copy is made; per element the arithmetic is that of the flipped copy.
 * Build: make cuda. Test: build/tests/test_kernels_host (conv_silu_at on the CPU),
 * build/tests/test_cuda (cuda ssm_branch vs cpu_ssm_branch, both directions). */
#include "bodies.cuh"

__global__ void conv_silu_kernel(conv_params p)
{
    const int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x;
    if (i < p.n_img * p.L * p.E) conv_silu_at(p, i);
}

void launch_conv_silu(const conv_params &p, cudaStream_t s)
{
    const int64_t n = p.n_img * p.L * p.E;
    if (n == 0) return;
    conv_silu_kernel<<<blocks_for(n, 256), 256, 0, s>>>(p);
    CUDA_LAUNCHED();
}
