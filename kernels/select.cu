/* Token selection and block decisions on the GPU (SPEC.md sections 4-5): the top-k of the predictor
 * scores with the kept indices in ascending order (ties to the lower index, NaN last, as the CPU), the
 * gather of the kept tokens of h and r with the class token re-inserted at n_keep / 2, and the block head
 * on the class token's in_proj output. Keep counts are known in advance: no host round trip.
 * Build: make cuda. Test: build/tests/test_cuda (top_k, gather, block_logits vs the CPU ops). */
#include "bodies.cuh"

/* keep_policy = torch.sort(torch.topk(score, k=num_keep_node).indices).values; one block per image */
__global__ void top_k_kernel(top_k_params p)
{
    extern __shared__ float smem[];
    float *s = smem;
    int *kept = (int *)(smem + p.n);
    const int64_t b = blockIdx.x;
    for (int64_t i = threadIdx.x; i < p.n; i += blockDim.x) s[i] = p.scores[b * p.n + i];
    __syncthreads();
    for (int64_t i = threadIdx.x; i < p.n; i += blockDim.x) {
        int64_t rank = 0;
        for (int64_t j = 0; j < p.n; j++) rank += ranks_before(s[j], j, s[i], i);
        kept[i] = rank < p.n_keep;
    }
    __syncthreads();
    for (int64_t i = threadIdx.x; i < p.n; i += blockDim.x) {
        if (!kept[i]) continue;
        int64_t at = 0; /* kept indices below i: the position in ascending order */
        for (int64_t j = 0; j < i; j++) at += kept[j];
        p.keep[b * p.n_keep + at] = (int32_t)i;
    }
}

__global__ void gather_kernel(gather_params p)
{
    const int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x;
    if (i < p.B * (p.n_keep + 1) * p.D) gather_at(p, i);
}

/* block_logits = block_head(xz[:, cls]): one warp per (image, output) */
__global__ void block_logits_kernel(block_logits_params p)
{
    const int64_t warp = (blockIdx.x * (int64_t)blockDim.x + threadIdx.x) / 32, lane = threadIdx.x % 32;
    if (warp >= p.B * 2) return;
    const int64_t b = warp / 2, j = warp % 2;
    const float *x = p.xz + (b * p.L + p.cls) * p.E2, *w = p.w + j * p.E2;
    float acc = 0.0f;
    for (int64_t k = lane; k < p.E2; k += 32) acc = fmaf(w[k], x[k], acc);
    for (int o = 16; o > 0; o >>= 1) acc += __shfl_xor_sync(0xffffffffu, acc, o);
    if (lane == 0) p.logits[b * 2 + j] = acc + p.bias[j];
}

void launch_top_k(const top_k_params &p, cudaStream_t s)
{
    if (p.B == 0 || p.n == 0) return;
    const size_t smem = (size_t)p.n * (sizeof(float) + sizeof(int));
    if (smem > 48 * 1024) { /* 6144 tokens; Vim has 196 */
        fprintf(stderr, "dyvm: top-k of %lld tokens exceeds the kernel's shared memory\n", (long long)p.n);
        exit(3);
    }
    top_k_kernel<<<(unsigned)p.B, 256, smem, s>>>(p);
    CUDA_LAUNCHED();
}

void launch_gather(const gather_params &p, cudaStream_t s)
{
    const int64_t n = p.B * (p.n_keep + 1) * p.D;
    if (n == 0) return;
    gather_kernel<<<blocks_for(n, 256), 256, 0, s>>>(p);
    CUDA_LAUNCHED();
}

void launch_block_logits(const block_logits_params &p, cudaStream_t s)
{
    if (p.B == 0) return;
    block_logits_kernel<<<blocks_for(p.B * 2 * 32, 128), 128, 0, s>>>(p);
    CUDA_LAUNCHED();
}
