/* Patch embedding: the patches unrolled (im2col) for one cuBLAS GEMM with the conv weights, then the
 * class token inserted in the middle, the conv bias and pos_embed added (SPEC.md section 3, steps 1-2).
 * Build: make cuda. Test: build/tests/test_cuda (checks cuda embed against cpu_embed; SKIPPED without a GPU). */
#include "cuda_common.cuh"

__global__ void im2col_kernel(im2col_params p)
{
    const int64_t cpp = p.C * p.P * p.P, total = p.B * p.M * cpp;
    const int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x;
    if (i >= total) return;
    const int64_t row = i / cpp, k = i % cpp, b = row / p.M, m = row % p.M;
    const int64_t ch = k / (p.P * p.P), y = (k / p.P) % p.P, x = k % p.P, py = m / p.side, px = m % p.side;
    p.cols[i] = p.images[((b * p.C + ch) * p.H + py * p.P + y) * p.H + px * p.P + x];
}

/* x = torch.cat((x[:, :M // 2], cls_token, x[:, M // 2:]), dim=1) + pos_embed   (conv bias on the patches) */
__global__ void assemble_kernel(assemble_params p)
{
    const int64_t L = p.M + 1, total = p.B * L * p.D;
    const int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x;
    if (i >= total) return;
    const int64_t d = i % p.D, t = (i / p.D) % L, b = i / (p.D * L);
    float v;
    if (t == p.cls_pos)
        v = p.cls[d];
    else
        v = p.tok[(b * p.M + (t < p.cls_pos ? t : t - 1)) * p.D + d] + p.bias[d];
    p.h[i] = v + p.pos[t * p.D + d];
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
