/* Elementwise ops around the matrix products: the combine (y_fwd + y_bwd) / 2 before out_proj, and the
 * bias of the head. Build: make cuda. Test: build/tests/test_cuda (combine_out_proj and head vs the CPU). */
#include "bodies.cuh"

__global__ void combine_kernel(combine_params p)
{
    const int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x;
    if (i < p.n) combine_at(p, i);
}

__global__ void add_bias_kernel(bias_params p)
{
    const int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x;
    if (i < p.rows * p.n) add_bias_at(p, i);
}

void launch_combine(const combine_params &p, cudaStream_t s)
{
    if (p.n == 0) return;
    combine_kernel<<<blocks_for(p.n, 256), 256, 0, s>>>(p);
    CUDA_LAUNCHED();
}

void launch_add_bias(const bias_params &p, cudaStream_t s)
{
    if (p.rows * p.n == 0) return;
    add_bias_kernel<<<blocks_for(p.rows * p.n, 256), 256, 0, s>>>(p);
    CUDA_LAUNCHED();
}
