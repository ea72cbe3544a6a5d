/* The CPU's vector kernels, written once for a vector of DYVM_VW floats (vec.h) and compiled once per ISA
 * (cpu_isa.h): this file defines the table dyvm_kernels_<DYVM_ISA_NAME>. Each output element goes through
 * the same operations wherever it sits (a row's tail is zero-padded into a full vector), so the bits do not
 * depend on how the callers split the work between threads. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "cpu_isa.h"
#include "vec.h"

#define VW DYVM_VW
#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define ALWAYS_INLINE inline __attribute__((always_inline))

/* loads and stores of nl lanes: the full width compiles to plain vector moves */
#define LD(p, nl) ((nl) == VW ? vf_load(p) : vf_load_n((p), (nl)))
#define ST(p, v, nl) ((nl) == VW ? vf_store((p), (v)) : vf_store_n((p), (v), (nl)))

/* ---- conv1d (depthwise, causal) + SiLU ---- */

static ALWAYS_INLINE vf conv_at(const float *x, int64_t ldx, const float *wt, const float *b, int64_t step, int64_t L,
                                int64_t E, int64_t K, int64_t t, int64_t e, int64_t nl)
{
    vf acc = LD(b + e, nl);
    for (int64_t k = 0; k < K; k++) {
        const int64_t s = t + step * k;
        if (s < 0 || s >= L) break; /* the taps run away from t: once outside, all the rest are zero padding */
        acc = LD(wt + (K - 1 - k) * E + e, nl) * LD(x + s * ldx + e, nl) + acc;
    }
    return vf_silu(acc);
}

/* a row whose K taps all lie inside the sequence: no checks, so the taps unroll (the same sum in the same
 * order as conv_at); u vectors (CONV_U, or 1 for the rest of the row) side by side, their SiLUs in lockstep
 * (vec.h) */
enum { CONV_U = 4 };
static ALWAYS_INLINE void conv_inner(const float *x, int64_t ldx, const float *wt, const float *b, int64_t step,
                                     int64_t E, int64_t K, int64_t t, int64_t e, float *out, int u)
{
    vf acc[CONV_U];
    VF_EACH(i, u) {
        acc[i] = vf_load(b + e + i * VW);
#pragma GCC unroll 8
        for (int64_t k = 0; k < K; k++)
            acc[i] = vf_load(wt + (K - 1 - k) * E + e + i * VW) * vf_load(x + (t + step * k) * ldx + e + i * VW) +
                     acc[i];
    }
    vf_silu_u(acc, u);
    VF_EACH(i, u) vf_store(out + e + i * VW, acc[i]);
}

enum { PREFETCH_ROWS = 4 };

/* row by row; within a row the vectors are independent, CONV_U at a time so their chains overlap */
static ALWAYS_INLINE void conv_rows(const float *x, int64_t ldx, const float *wt, const float *b, int64_t step,
                                   int64_t L, int64_t E, int64_t K, int64_t t0, int64_t t1, float *xc)
{
    for (int64_t t = t0; t < t1; t++) {
        float *out = xc + t * E;
        const int inside = step < 0 ? t >= K - 1 : t + K - 1 < L;
        /* the row the taps reach PREFETCH_ROWS rows from now, one prefetch per cache line: at batch 8, x
           (written by in_proj) has left the caches. 8 Vim-T images, 2 threads, the development VM: after
           evicting the caches (min of 30) 0.81-0.89 ms without, 0.62-0.69 ms with, in cache the same; in the
           model (Vim-T batch 8, 5 interleaved pairs) the conv stage 1.32x [1.24, 1.55] faster. Why the
           hardware prefetchers miss it is not measured (no PMU on that VM). */
        const int64_t ahead = (step < 0 ? t : t + K - 1) + PREFETCH_ROWS;
        if (ahead < L)
            for (int64_t e = 0; e < E; e += 64 / (int64_t)sizeof(float)) __builtin_prefetch(x + ahead * ldx + e);
        int64_t e = 0;
        if (inside) {
            for (; e + CONV_U * VW <= E; e += CONV_U * VW) conv_inner(x, ldx, wt, b, step, E, K, t, e, out, CONV_U);
            for (; e + VW <= E; e += VW) conv_inner(x, ldx, wt, b, step, E, K, t, e, out, 1);
        } else {
            for (; e + VW <= E; e += VW) vf_store(out + e, conv_at(x, ldx, wt, b, step, L, E, K, t, e, VW));
        }
        if (e < E) vf_store_n(out + e, conv_at(x, ldx, wt, b, step, L, E, K, t, e, E - e), E - e);
    }
}

static void conv_silu(const float *x, int64_t ldx, const float *wt, const float *b, int dir, int64_t L, int64_t E,
                      int64_t K, int64_t t0, int64_t t1, float *xc)
{
    const int64_t step = dir == 0 ? -1 : 1;
    if (K == 4) conv_rows(x, ldx, wt, b, step, L, E, 4, t0, t1, xc); /* every official model: taps unrolled */
    else conv_rows(x, ldx, wt, b, step, L, E, K, t0, t1, xc);
}

/* ---- the selective scan ---- */

/* DV channel vectors by TS rows per step of pass 1: 12 accumulators, 3 weights and a broadcast, AVX2's 16
 * registers. One Vim-S branch, one core (development VM, min of 300, 3 runs): 1.29-1.33x faster than one
 * vector by 8 rows, the same bits; 2 vectors by 4 or 6 rows 1.27-1.33x */
enum { NMAX = 64, RCHUNK = 32, DV = 3, TS = 4 };

/* pass 1: delta[t, e0 + c] = sum_r dbl[t, r] * dt_w[e0 + c, r] for nv vectors of channels (the last with nl
 * lanes), the sum in order of r (dt_w's columns transposed RCHUNK at a time into wt, the partial sums kept in
 * delta between chunks); the bias and softplus are applied by the scan as it reads delta. Each dbl[t, r],
 * broadcast once, feeds the nv vectors (as a GEMM's micro-kernel reuses its broadcasts) */
/* lanes of vector v of nv: the last one's nl (a function, not an array, so that it folds to a constant) */
static ALWAYS_INLINE int64_t lanes(int v, int nv, int64_t nl) { return v == nv - 1 ? nl : VW; }

static ALWAYS_INLINE void scan_delta(const dyvm_scan_args *a, int64_t e0, int nv, int64_t nl)
{
    const int64_t L = a->L, E = a->E, R = a->R, ld = R + 2 * a->N;
    float wt[RCHUNK][DV][VW];
    for (int64_t r0 = 0; r0 < R; r0 += RCHUNK) {
        const int64_t nr = R - r0 < RCHUNK ? R - r0 : RCHUNK;
        memset(wt, 0, sizeof wt);
        for (int64_t r = 0; r < nr; r++)
            for (int v = 0; v < nv; v++)
                for (int64_t c = 0; c < lanes(v, nv, nl); c++) wt[r][v][c] = a->dt_w[(e0 + v * VW + c) * R + r0 + r];
        /* TS rows at a time: TS * nv independent chains hide the FMA latency (each sum still runs in order of
           r); the last rows one at a time */
        int64_t t = 0;
        for (; t + TS <= L; t += TS) {
            vf acc[TS][DV];
            const float *d = a->dbl + t * ld + r0;
            VF_EACH(i, TS) VF_EACH(v, nv) acc[i][v] =
                r0 ? LD(a->delta + (t + i) * E + e0 + v * VW, lanes(v, nv, nl)) : vf_set1(0.0f);
            for (int64_t r = 0; r < nr; r++) {
                vf wr[DV];
                VF_EACH(v, nv) wr[v] = vf_load(wt[r][v]);
                VF_EACH(i, TS) {
                    const vf x = vf_set1(d[i * ld + r]);
                    VF_EACH(v, nv) acc[i][v] = x * wr[v] + acc[i][v];
                }
            }
            VF_EACH(i, TS) VF_EACH(v, nv) ST(a->delta + (t + i) * E + e0 + v * VW, acc[i][v], lanes(v, nv, nl));
        }
        for (; t < L; t++) {
            const float *d = a->dbl + t * ld + r0;
            VF_EACH(v, nv) {
                vf acc = r0 ? LD(a->delta + t * E + e0 + v * VW, lanes(v, nv, nl)) : vf_set1(0.0f);
                for (int64_t r = 0; r < nr; r++) acc = vf_set1(d[r]) * vf_load(wt[r][v]) + acc;
                ST(a->delta + t * E + e0 + v * VW, acc, lanes(v, nv, nl));
            }
        }
    }
}

/* pass 2, the recurrence (selective_scan_ref), in chunks of TCHUNK steps. First, per chunk, what does not
 * depend on the state: dt = softplus(delta + dt_bias), dt * u and SiLU(z), for all its steps at once (steps
 * independent of each other, so their exps, log1p and divisions overlap instead of heading each step's chain).
 * Then per step the N exps, EXP_U at a time in lockstep (vec.h) and inline, as 2^(dt A log2 e)
 * with log2 e folded into A once; then the state update; the y reduction in four partial sums (not one chain
 * of N dependent FMAs). N is a constant where the caller can make it one (16, every official model), so the
 * loops unroll. Measured on the development VM (AVX2, 1 thread, one Vim-S branch, best of 40 interleaved):
 * 2.30-2.37 ms with softplus and SiLU inside each step and Cephes's exp, 1.77-1.84 ms with the chunked
 * pre-pass, 1.39-1.45 ms with it and these exps; the exps alone (16 per state and step) take 0.60 ms. */
enum { TCHUNK = 16, EXP_U = 4 };

/* the pre-pass of steps k0 .. k0 + u - 1 of the chunk at i0, in lockstep (vec.h): dt = softplus(delta +
 * dt_bias), dt * u and SiLU(z) */
static ALWAYS_INLINE void scan_prepass(const dyvm_scan_args *a, int64_t e0, int64_t nl, int64_t i0, int64_t k0, int u,
                                       vf bias, vf *dtc, vf *duc, vf *gate)
{
    const int64_t L = a->L, E = a->E;
    VF_EACH(i, u) {
        const int64_t k = k0 + i, t = a->dir == 0 ? i0 + k : L - 1 - i0 - k;
        dtc[k] = LD(a->delta + t * E + e0, nl) + bias;
        gate[k] = LD(a->z + t * a->ldz + e0, nl);
    }
    vf_softplus_u(dtc + k0, u);
    vf_silu_u(gate + k0, u);
    VF_EACH(i, u) {
        const int64_t k = k0 + i, t = a->dir == 0 ? i0 + k : L - 1 - i0 - k;
        duc[k] = dtc[k] * LD(a->u + t * E + e0, nl);
    }
}

static ALWAYS_INLINE void scan_steps(const dyvm_scan_args *a, int64_t e0, int64_t nl, int64_t N)
{
    const int64_t L = a->L, E = a->E, R = a->R, ld = R + 2 * N;
    vf A2[NMAX], s[NMAX];
    for (int64_t n = 0; n < N; n++) {
        float col[VW] = {0};
        for (int64_t c = 0; c < nl; c++) col[c] = a->A[(e0 + c) * N + n];
        A2[n] = vf_load(col) * vf_set1(VF_LOG2E);
        s[n] = vf_set1(0.0f);
    }
    const vf Dv = LD(a->D + e0, nl), bias = LD(a->dt_b + e0, nl);
    vf dtc[TCHUNK], duc[TCHUNK], gate[TCHUNK];
    for (int64_t i0 = 0; i0 < L; i0 += TCHUNK) {
        const int64_t steps = L - i0 < TCHUNK ? L - i0 : TCHUNK;
        int64_t k0 = 0;
        for (; k0 + EXP_U <= steps; k0 += EXP_U) scan_prepass(a, e0, nl, i0, k0, EXP_U, bias, dtc, duc, gate);
        for (; k0 < steps; k0++) scan_prepass(a, e0, nl, i0, k0, 1, bias, dtc, duc, gate);
        for (int64_t k = 0; k < steps; k++) {
            const int64_t t = a->dir == 0 ? i0 + k : L - 1 - i0 - k;
            const vf dt = dtc[k], du = duc[k];
            const float *Bt = a->dbl + t * ld + R, *Ct = Bt + N;
            vf dA[NMAX], acc[4] = {vf_set1(0.0f), vf_set1(0.0f), vf_set1(0.0f), vf_set1(0.0f)};
            int64_t n0 = 0;
            for (; n0 + EXP_U <= N; n0 += EXP_U) {
                vf y[EXP_U];
                VF_EACH(i, EXP_U) y[i] = dt * A2[n0 + i];
                vf_exp2_u(y, dA + n0, EXP_U);
            }
            for (; n0 < N; n0++) dA[n0] = vf_exp2(dt * A2[n0]);
#pragma GCC unroll 16
            for (int64_t n = 0; n < N; n++) {
                s[n] = dA[n] * s[n] + du * vf_set1(Bt[n]);
                acc[n & 3] = s[n] * vf_set1(Ct[n]) + acc[n & 3];
            }
            const vf ut = LD(a->u + t * E + e0, nl);
            ST(a->y + t * E + e0, ((acc[0] + acc[1]) + (acc[2] + acc[3]) + ut * Dv) * gate[k], nl);
        }
    }
}

static void steps_block(const dyvm_scan_args *a, int64_t e0, int64_t nl)
{
    if (nl == VW && a->N == 16) scan_steps(a, e0, VW, 16);
    else if (nl == VW) scan_steps(a, e0, VW, a->N);
    else scan_steps(a, e0, nl, a->N);
}

/* channels [e0, e0 + ne): DV vectors at a time, then one, the last maybe partial */
static void scan_delta_range(const dyvm_scan_args *a, int64_t e0, int64_t ne)
{
    int64_t e = e0;
    for (; e + DV * VW <= e0 + ne; e += DV * VW) scan_delta(a, e, DV, VW);
    for (; e + VW <= e0 + ne; e += VW) scan_delta(a, e, 1, VW);
    if (e < e0 + ne) scan_delta(a, e, 1, e0 + ne - e);
}

/* channels [e0, e0 + ne) in vectors of VW, the last one partial */
static void scan_range(const dyvm_scan_args *a, int64_t e0, int64_t ne)
{
    int64_t e = e0;
    for (; e + VW <= e0 + ne; e += VW) steps_block(a, e, VW);
    if (e < e0 + ne) steps_block(a, e, e0 + ne - e);
}

/* ---- residual add + RMSNorm ---- */

static void add_rms_norm(float *r, const float *h, const float *weight, float *u, int64_t rows, int64_t D, float eps,
                         int first)
{
    for (int64_t i = 0; i < rows; i++) {
        float *ri = r + i * D;
        const float *hi = h + i * D;
        vf ss = vf_set1(0.0f);
        int64_t d = 0;
        /* residual = hidden_states if residual is None else residual + hidden_states; the sum of squares lane by
           lane, then across lanes in order */
        for (; d + VW <= D; d += VW) {
            const vf x = first ? vf_load(hi + d) : vf_load(ri + d) + vf_load(hi + d);
            vf_store(ri + d, x);
            ss = x * x + ss;
        }
        if (d < D) {
            const int64_t nl = D - d;
            const vf x = first ? vf_load_n(hi + d, nl) : vf_load_n(ri + d, nl) + vf_load_n(hi + d, nl);
            vf_store_n(ri + d, x, nl);
            ss = x * x + ss;
        }
        const float rstd = 1.0f / sqrtf(vf_sum(ss) / (float)D + eps);
        const vf rs = vf_set1(rstd);
        float *ui = u + i * D;
        for (d = 0; d + VW <= D; d += VW) vf_store(ui + d, vf_load(ri + d) * rs * vf_load(weight + d));
        if (d < D) vf_store_n(ui + d, vf_load_n(ri + d, D - d) * rs * vf_load_n(weight + d, D - d), D - d);
    }
}

/* ---- elementwise ---- */

/* y = fn(x) over n floats (y may be x); fn is a constant at every call, so it inlines */
static ALWAYS_INLINE void map_n(vf (*fn)(vf), const float *x, float *y, int64_t n)
{
    int64_t i = 0;
    for (; i + VW <= n; i += VW) vf_store(y + i, fn(vf_load(x + i)));
    if (i < n) vf_store_n(y + i, fn(vf_load_n(x + i, n - i)), n - i);
}

static void gelu(float *x, int64_t n) { map_n(vf_gelu, x, x, n); }
static void softplus_n(const float *x, float *y, int64_t n) { map_n(vf_softplus, x, y, n); }
/* map_n for vec.h's lockstep forms fn(in, out, u): EXP_U vectors at a time, then one (the tail as in map_n).
 * A macro: a pointer to fn would make the compiler emit fn for a variable u as well. */
#define MAP_U(fn, x, y, n)                                                                                       \
    do {                                                                                                         \
        int64_t i_ = 0;                                                                                          \
        for (; i_ + EXP_U * VW <= (n); i_ += EXP_U * VW) {                                                       \
            vf a_[EXP_U], b_[EXP_U];                                                                             \
            VF_EACH(k_, EXP_U) a_[k_] = vf_load((x) + i_ + k_ * VW);                                             \
            fn(a_, b_, EXP_U);                                                                                   \
            VF_EACH(k_, EXP_U) vf_store((y) + i_ + k_ * VW, b_[k_]);                                             \
        }                                                                                                        \
        for (; i_ < (n); i_ += VW) {                                                                             \
            vf a_ = i_ + VW <= (n) ? vf_load((x) + i_) : vf_load_n((x) + i_, (n)-i_), b_;                        \
            fn(&a_, &b_, 1);                                                                                     \
            if (i_ + VW <= (n)) vf_store((y) + i_, b_);                                                          \
            else vf_store_n((y) + i_, b_, (n)-i_);                                                               \
        }                                                                                                        \
    } while (0)

static void exp_n(const float *x, float *y, int64_t n) { MAP_U(vf_exp_u, x, y, n); }
/* exp(x) as the scan computes its exps: 2^(x log2 e) */
static ALWAYS_INLINE void exp_by_exp2_u(const vf *x, vf *y, int u)
{
    vf t[EXP_U];
    VF_EACH(i, u) t[i] = x[i] * vf_set1(VF_LOG2E);
    vf_exp2_u(t, y, u);
}
static void exp_scan_n(const float *x, float *y, int64_t n) { MAP_U(exp_by_exp2_u, x, y, n); }

/* twelve independent chains (enough to cover the FMA latency), 2 FLOPs per lane and step */
static double fma_chains(int64_t iters)
{
    enum { CHAINS = 12 };
    vf acc[CHAINS];
    const vf m = vf_set1(0.999999f), c = vf_set1(1e-7f);
    for (int k = 0; k < CHAINS; k++) acc[k] = vf_set1((float)k);
    for (int64_t i = 0; i < iters; i++) {
#pragma GCC unroll 12
        for (int k = 0; k < CHAINS; k++) acc[k] = acc[k] * m + c;
    }
    float sink = 0;
    for (int k = 0; k < CHAINS; k++) sink += vf_sum(acc[k]);
    __asm__ volatile("" : : "g"(sink)); /* keeps the chains alive */
    return 2.0 * VW * CHAINS * (double)iters;
}

#if DYVM_VW == 16 && defined(__AVX512F__)
#define DYVM_ISA_DESC "AVX-512, 16 floats per vector"
#elif DYVM_VW == 16
#define DYVM_ISA_DESC "AVX-512's 16-float kernels emulated on AVX2 + FMA (for tests: its bits, not its speed)"
#elif DYVM_VW == 8
#define DYVM_ISA_DESC "AVX2 + FMA, 8 floats per vector"
#else
#define DYVM_ISA_DESC "scalar, 1 float at a time (baseline x86-64)"
#endif
#define STR_(x) #x
#define STR(x) STR_(x)

/* written out in vectors: the baseline build's auto-vectorizer left the bench's own triad loop scalar, and a
 * scalar triad measured a fraction of the bandwidth (9.7 against 13.6-22 GB/s to memory, 15 against 105 GB/s
 * within the last-level cache on the development VM, 2 threads) */
static void triad(float *a, const float *b, const float *c, float s, int64_t n)
{
    const vf sv = vf_set1(s);
    int64_t i = 0;
    for (; i + VW <= n; i += VW) vf_store(a + i, vf_load(b + i) + sv * vf_load(c + i));
    for (; i < n; i++) a[i] = b[i] + s * c[i];
}

const dyvm_cpu_kernels CAT(dyvm_kernels_, DYVM_ISA_NAME) = {
    .name = STR(DYVM_ISA_NAME),
    .desc = DYVM_ISA_DESC,
    .width = VW,
    .delta_group = DV,
    .conv_silu = conv_silu,
    .scan_delta = scan_delta_range,
    .scan = scan_range,
    .add_rms_norm = add_rms_norm,
    .gelu = gelu,
    .exp = exp_n,
    .exp_scan = exp_scan_n,
    .softplus = softplus_n,
    .fma_chains = fma_chains,
    .triad = triad,
};
