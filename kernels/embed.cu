/* Patch embedding: the patches unrolled (im2col) for one cuBLAS GEMM with the conv weights, then the
 * class token inserted in the middle, the conv bias and pos_embed added (SPEC.md section 3, steps 1-2).
 * Build: make cuda. Test: build/tests/test_kernels_host (the bodies on the CPU),
 * build/tests/test_cuda (cuda embed against cpu_embed; SKIPPED without a GPU). */
#include "bodies.cuh"

__global__ void im2col_kernel(im2col_params p)
{
    const int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x;
    if (i < p.B * p.M * p.C * p.P * p.P) im2col_at(p, i);
}

__global__ void assemble_kernel(assemble_params p)
{
    const int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x;
    if (i < p.B * (p.M + 1) * p.D) assemble_at(p, i);
}

void launch_im2col(const im2col_params &p, cudaStream_t s)
{
    im2col_kernel<<<blocks_for(p.B * p.M * p.C * p.P * p.P, 256), 256, 0, s>>>(p);
    CUDA_LAUNCHED();
}

void launch_assemble(const assemble_params &p, cudaStream_t s)
{
    assemble_kernel<<<blocks_for(p.B * (p.M + 1) * p.D, 256), 256, 0, s>>>(p);
    CUDA_LAUNCHED();
}
