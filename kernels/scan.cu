/* The selective scan (selective_scan_ref), softplus of delta, the D skip and the SiLU(z) gate fused in;
 * the backward branch runs t from L-1 down to 0 over the same buffers: no reversed copies. Two versions,
 * side by side (--scan v1|v2), each tested against the CPU; v1 stays the default until a GPU run has
 * validated v2.
 *   v1: one direction per launch, one thread per (image, channel) with its N states in registers.
 *   v2: both directions in one launch, N a template constant, exp2f with log2(e) folded into A, B_t and C_t
 *       staged in shared memory per tile of time steps, (y_f + y_b) / 2 written directly (no combine
 *       kernel, no y_b buffer).
 * The per-thread bodies are in bodies.cuh. Build: make cuda. Test: build/tests/test_kernels_host (both
 * versions on the CPU), build/tests/test_cuda (cuda ssm_branch vs cpu_ssm_branch, both versions). */
#include "bodies.cuh"

template <int NMAX>
__global__ void scan_kernel(scan_params p)
{
    const int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x;
    if (i < p.n_img * p.E) scan_v1_at<NMAX>(p, i);
}

void launch_scan(const scan_params &p, cudaStream_t s)
{
    const int64_t n = p.n_img * p.E;
    if (n == 0) return;
    if (p.N <= 16)
        scan_kernel<16><<<blocks_for(n, 128), 128, 0, s>>>(p);
    else
        scan_kernel<64><<<blocks_for(n, 128), 128, 0, s>>>(p);
    CUDA_LAUNCHED();
}

__global__ void zero_skipped_kernel(zero_skipped_params p)
{
    const int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x;
    if (i < p.B * p.L * p.E) zero_skipped_at(p, i);
}

void launch_zero_skipped(const zero_skipped_params &p, cudaStream_t s)
{
    if (p.n_img == p.B || p.B * p.L * p.E == 0) return; /* every image ran: nothing to zero */
    zero_skipped_kernel<<<blocks_for(p.B * p.L * p.E, 256), 256, 0, s>>>(p);
    CUDA_LAUNCHED();
}

enum { V2_THREADS = 128 };

/* grid (rows of both directions, channel blocks); every thread of a block loads its share of the tile and
 * waits at both barriers, also those past E */
template <int N>
__global__ void __launch_bounds__(V2_THREADS) scan_v2_kernel(scan2_params p)
{
    __shared__ float tile[SCAN2_TILE * 2 * N];
    const scan2_row r = scan2_row_of(p, blockIdx.x);
    const int64_t e = blockIdx.y * (int64_t)V2_THREADS + threadIdx.x;
    const bool active = e < p.E;
    float s[N], a2[N];
    if (active) scan2_init<N>(p, r, e, s, a2);
    for (int64_t k0 = 0; k0 < p.L; k0 += SCAN2_TILE) {
        for (int k = threadIdx.x; k < SCAN2_TILE * 2 * N; k += V2_THREADS) scan2_load_at<N>(p, r, k0, tile, k);
        __syncthreads();
        if (active) scan2_steps<N, SCAN2_TILE>(p, r, e, k0, tile, s, a2);
        __syncthreads(); /* the tile is overwritten next */
    }
}

/* N values with an instantiation; others run v1 (the caller checks scan_v2_supports first) */
bool scan_v2_supports(int64_t N) { return N == 8 || N == 16 || N == 32 || N == 64; }

void launch_scan_v2(const scan2_params &p, cudaStream_t s)
{
    CUDA_OK(cudaMemsetAsync(p.y, 0, sizeof(float) * (size_t)(p.B * p.L * p.E), s)); /* also the skipped images */
    const int64_t rows = p.n_img[0] + p.n_img[1];
    if (rows == 0 || p.L == 0) return;
    const dim3 grid((unsigned)rows, blocks_for(p.E, V2_THREADS));
    switch (p.N) {
    case 8: scan_v2_kernel<8><<<grid, V2_THREADS, 0, s>>>(p); break;
    case 16: scan_v2_kernel<16><<<grid, V2_THREADS, 0, s>>>(p); break;
    case 32: scan_v2_kernel<32><<<grid, V2_THREADS, 0, s>>>(p); break;
    case 64: scan_v2_kernel<64><<<grid, V2_THREADS, 0, s>>>(p); break;
    default: fprintf(stderr, "dyvm: scan v2 has no instantiation for d_state %lld\n", (long long)p.N); exit(3);
    }
    CUDA_LAUNCHED();
}
