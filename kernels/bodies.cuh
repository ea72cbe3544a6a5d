/* One thread's work of every kernel whose threads do not cooperate, as a __host__ __device__ function of
 * the thread's index: the kernels call them on the GPU, and tests/test_kernels_host.cu calls them for
 * every index on the CPU and compares with the CPU reference ops, so that the index math is tested before
 * any GPU runs it. The scan v2 (scan.cu) is split the same way into its cooperative tile load and each
 * thread's steps over a tile. Math goes through the CUDA functions (expf, erff, log1pf), which are the C
 * library's on the host. */
#ifndef DYVM_BODIES_CUH
#define DYVM_BODIES_CUH

#include "cuda_common.cuh"

#define HD __host__ __device__ inline

#ifdef __CUDA_ARCH__
#define LDG(p) __ldg(p)
#define ADD_TO(p, v) atomicAdd((p), (v))
#define UNROLL _Pragma("unroll")
#else /* the host pass: plain loads and adds (one thread at a time), no unroll pragma for gcc */
#define LDG(p) (*(p))
#define ADD_TO(p, v) (*(p) += (v))
#define UNROLL
#endif

/* ---- embed.cu ---- */

/* cols[i], i < B * M * C * P * P: the patch of row i / cpp, unrolled channel-major */
HD void im2col_at(const im2col_params &p, int64_t i)
{
    const int64_t cpp = p.C * p.P * p.P;
    const int64_t row = i / cpp, k = i % cpp, b = row / p.M, m = row % p.M;
    const int64_t ch = k / (p.P * p.P), y = (k / p.P) % p.P, x = k % p.P, py = m / p.side, px = m % p.side;
    p.cols[i] = p.images[((b * p.C + ch) * p.H + py * p.P + y) * p.H + px * p.P + x];
}

/* h[i], i < B * (M + 1) * D:
 * x = torch.cat((x[:, :M // 2], cls_token, x[:, M // 2:]), dim=1) + pos_embed   (conv bias on the patches) */
HD void assemble_at(const assemble_params &p, int64_t i)
{
    const int64_t L = p.M + 1;
    const int64_t d = i % p.D, t = (i / p.D) % L, b = i / (p.D * L);
    float v;
    if (t == p.cls_pos)
        v = p.cls[d];
    else
        v = p.tok[(b * p.M + (t < p.cls_pos ? t : t - 1)) * p.D + d] + p.bias[d];
    p.h[i] = v + p.pos[t * p.D + d];
}

/* ---- conv.cu ---- */

/* x * sigmoid(x), as F.silu (the conv's activation and the scan's gate) */
HD float silu_f(float x) { return x / (1.0f + expf(-x)); }

/* xc[i], i < n_img * L * E: x = causal_conv1d_fn(x, conv1d.weight, conv1d.bias, activation="silu"); the
 * backward direction reads the sequence from its end (taps at t, t+1, ..., t+K-1) */
HD void conv_silu_at(const conv_params &p, int64_t i)
{
    const int64_t e = i % p.E, t = (i / p.E) % p.L, j = i / (p.E * p.L);
    const int64_t b = p.images[j], step = p.dir == 0 ? -1 : 1;
    const float *x = p.xz + b * p.L * 2 * p.E;
    float acc = p.bias[e];
    for (int64_t k = 0; k < p.K; k++) {
        const int64_t src = t + step * k;
        if (src < 0 || src >= p.L) continue;
        acc = fmaf(p.wt[(p.K - 1 - k) * p.E + e], x[src * 2 * p.E + e], acc);
    }
    p.xc[i] = silu_f(acc);
}

/* ---- scan.cu ---- */

/* F.softplus (beta 1, threshold 20) */
HD float softplus_f(float v) { return v > 20.0f ? v : log1pf(expf(v)); }

/* scan v1: thread i < n_img * E runs channel i % E of listed image i / E over the whole sequence, its N
 * states in registers (NMAX of them, N used); delta = softplus(dpre + dt_bias);
 * s = exp(delta * A) * s + delta * B_t * u_t;  y_t = (s . C_t + D * u_t) * silu(z_t) */
template <int NMAX>
HD void scan_v1_at(const scan_params &p, int64_t i)
{
    const int64_t e = i % p.E, j = i / p.E, b = p.images[j], ld = p.R + 2 * p.N;
    const int N = (int)p.N;
    float s[NMAX], a[NMAX];
UNROLL
    for (int n = 0; n < NMAX; n++) {
        s[n] = 0.0f;
        a[n] = n < N ? p.A[e * p.N + n] : 0.0f;
    }
    const float bias = p.dt_bias[e], Dv = p.Dskip[e];
    const float *u = p.u + j * p.L * p.E, *dp = p.dpre + j * p.L * p.E, *dbl = p.dbl + j * p.L * ld;
    const float *z = p.xz + b * p.L * 2 * p.E + p.E;
    float *y = p.y + b * p.L * p.E;
    for (int64_t step = 0; step < p.L; step++) {
        const int64_t t = p.dir == 0 ? step : p.L - 1 - step;
        const float dt = softplus_f(dp[t * p.E + e] + bias);
        const float ut = u[t * p.E + e], du = dt * ut;
        const float *Bt = dbl + t * ld + p.R, *Ct = Bt + p.N;
        float acc = 0.0f;
UNROLL
        for (int n = 0; n < NMAX; n++)
            if (n < N) {
                s[n] = expf(dt * a[n]) * s[n] + du * LDG(Bt + n);
                acc = fmaf(s[n], LDG(Ct + n), acc);
            }
        const float zt = z[t * 2 * p.E + e];
        y[t * p.E + e] = fmaf(ut, Dv, acc) * silu_f(zt);
    }
}

/* y[i], i < B * L * E: zero where image i / (L * E) is not among the n listed (ascending) ones; one launch
 * per branch instead of a memset per skipped image */
HD void zero_skipped_at(const zero_skipped_params &p, int64_t i)
{
    const int64_t b = i / (p.L * p.E);
    int64_t lo = 0, hi = p.n_img; /* binary search in the ascending list */
    while (lo < hi) {
        const int64_t mid = (lo + hi) / 2;
        if (p.images[mid] < b) lo = mid + 1;
        else hi = mid;
    }
    if (lo == p.n_img || p.images[lo] != b) p.y[i] = 0.0f;
}

/* scan v2, both directions in one launch: block (x, y) runs channels [x * threads, (x + 1) * threads) of
 * row y of the work list, rows [0, n_img[0]) forward and the next n_img[1] backward; B_t and C_t of a tile
 * of T time steps are staged in shared memory. exp2f with log2(e) folded into A; each direction adds half
 * its output to y, zeroed before, so y = y_f / 2 + y_b / 2 = (y_f + y_b) / 2 exactly (halving is exact;
 * adding to zero is exact, so the order of the two additions does not matter). */
enum { SCAN2_TILE = 32 }; /* time steps per tile of staged B_t, C_t */

struct scan2_row {
    int dir;
    int64_t j, b; /* row in the direction's compacted list, batch index */
};

HD scan2_row scan2_row_of(const scan2_params &p, int64_t row)
{
    scan2_row r;
    r.dir = row < p.n_img[0] ? 0 : 1;
    r.j = r.dir == 0 ? row : row - p.n_img[0];
    r.b = p.images[r.dir][r.j];
    return r;
}

/* element k < SCAN2_TILE * 2N of the tile starting at step k0: tile[k] = [B_t | C_t][k % 2N] of step k0 + k / 2N */
template <int N>
HD void scan2_load_at(const scan2_params &p, const scan2_row &r, int64_t k0, float *tile, int k)
{
    const int64_t q = k / (2 * N), step = k0 + q, ld = p.R + 2 * N;
    if (step >= p.L) return;
    const int64_t t = r.dir == 0 ? step : p.L - 1 - step;
    tile[k] = p.dbl[r.dir][(r.j * p.L + t) * ld + p.R + k % (2 * N)];
}

/* channel e's state before the first step: s = 0, a2 = A * log2(e) */
template <int N>
HD void scan2_init(const scan2_params &p, const scan2_row &r, int64_t e, float *s, float *a2)
{
UNROLL
    for (int n = 0; n < N; n++) {
        s[n] = 0.0f;
        a2[n] = p.A[r.dir][e * N + n] * 1.4426950408889634f;
    }
}

/* channel e's steps k0 .. k0 + T - 1 (those below L) from the staged tile */
template <int N, int T>
HD void scan2_steps(const scan2_params &p, const scan2_row &r, int64_t e, int64_t k0, const float *tile, float *s,
                    const float *a2)
{
    const int64_t E = p.E, base = r.j * p.L * E;
    const float bias = p.dt_bias[r.dir][e], Dv = p.Dskip[r.dir][e];
    const float *u = p.u[r.dir] + base, *dp = p.dpre[r.dir] + base;
    const float *z = p.xz + r.b * p.L * 2 * E + E;
    float *y = p.y + r.b * p.L * E;
    for (int q = 0; q < T && k0 + q < p.L; q++) {
        const int64_t step = k0 + q, t = r.dir == 0 ? step : p.L - 1 - step;
        const float dt = softplus_f(dp[t * E + e] + bias);
        const float ut = u[t * E + e], du = dt * ut;
        const float *Bt = tile + q * 2 * N, *Ct = Bt + N;
        float acc = 0.0f;
UNROLL
        for (int n = 0; n < N; n++) {
            s[n] = exp2f(dt * a2[n]) * s[n] + du * Bt[n];
            acc = fmaf(s[n], Ct[n], acc);
        }
        const float zt = z[t * 2 * E + e];
        ADD_TO(y + t * E + e, 0.5f * (fmaf(ut, Dv, acc) * silu_f(zt)));
    }
}

/* ---- elementwise.cu ---- */

/* out = (out + out_b.flip(-1)) / 2   (the backward output is already in forward order) */
HD void combine_at(const combine_params &p, int64_t i) { p.y_f[i] = (p.y_f[i] + p.y_b[i]) / 2.0f; }

HD void add_bias_at(const bias_params &p, int64_t i) { p.y[i] += p.bias[i % p.n]; }

/* ---- predictor.cu: its elementwise parts ---- */

/* y = GELU(y + bias), the exact erf form */
HD void bias_gelu_at(const bias_gelu_params &p, int64_t i)
{
    const float x = p.y[i] + p.bias[i % p.n];
    p.y[i] = 0.5f * x * (1.0f + erff(x * 0.70710678118654752f));
}

/* thread i < B * D / 2: global_x = (x[:, :, C//2:] * policy).sum(dim=1) / (policy.sum(dim=1) + 1), broadcast
 * to every token of the image */
HD void global_mean_at(const global_mean_params &p, int64_t i)
{
    const int64_t H = p.D / 2, b = i / H, d = H + i % H;
    float s = 0.0f;
    for (int64_t t = 0; t < p.n; t++) s += p.a[(b * p.n + t) * p.D + d];
    s /= (float)(p.n + 1);
    for (int64_t t = 0; t < p.n; t++) p.a[(b * p.n + t) * p.D + d] = s;
}

/* score = log_softmax(x)[..., 0] */
HD void log_softmax0_at(const score_params &p, int64_t i)
{
    const float x0 = p.x[2 * i], x1 = p.x[2 * i + 1], m = fmaxf(x0, x1);
    p.scores[i] = (x0 - m) - logf(expf(x0 - m) + expf(x1 - m));
}

/* ---- select.cu ---- */

/* whether score j ranks before score i in the top-k: higher first, NaN last, ties to the lower index (the
 * top-k kernel counts, for each i, the j that rank before it) */
HD bool ranks_before(float sj, int64_t j, float si, int64_t i)
{
    const bool nj = isnan(sj), ni = isnan(si);
    if (nj != ni) return !nj;
    if (!nj && sj != si) return sj > si;
    return j < i;
}

/* h_out[i], r_out[i], i < B * (n_keep + 1) * D (and pos_out once per kept token):
 * hidden_states = cat([other_t[:, :cls], cls_t, other_t[:, cls:]]) after batch_index_select; residual alike */
HD void gather_at(const gather_params &p, int64_t i)
{
    const int64_t L2 = p.n_keep + 1, cls2 = p.n_keep / 2;
    const int64_t d = i % p.D, t = (i / p.D) % L2, b = i / (p.D * L2);
    int64_t src = p.cls;
    if (t != cls2) {
        const int64_t j = t < cls2 ? t : t - 1, o = p.keep[b * p.n_keep + j];
        src = o < p.cls ? o : o + 1;
        if (d == 0) p.pos_out[b * p.n_keep + j] = p.pos[b * (p.L - 1) + o];
    }
    p.h_out[i] = p.h[(b * p.L + src) * p.D + d];
    p.r_out[i] = p.r[(b * p.L + src) * p.D + d];
}

#endif
