/* The CPU kernels of every ISA this CPU supports (cpu_isa.h) against double-precision references written
 * here from the formulas (SPEC.md section 4), on shapes with row tails (E not a multiple of the vector
 * width), N = 16 and another N, dt_rank above the kernel's chunk, K = 4 and another K, L below K, both
 * directions; the exp's error over its range; the same bits however the channels are split; the choice of
 * ISA and its refusals. ISAs this CPU lacks are reported as skipped. */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "compare.h"
#include "cpu_isa.h"
#include "rng.h"

#define TOL 1e-5 /* kernels vs a double reference: float rounding only (SPEC's 1e-4 is for whole models) */

static float *uniform(int64_t n, float lo, float hi, uint64_t seed)
{
    float *p = malloc(sizeof(float) * (size_t)(n ? n : 1));
    dyvm_rng r;
    dyvm_rng_seed(&r, seed);
    for (int64_t i = 0; i < n; i++) p[i] = lo + (hi - lo) * (float)dyvm_rng_uniform(&r);
    return p;
}

static double softplus_d(double x) { return x > 20.0 ? x : log1p(exp(x)); }
static double silu_d(double x) { return x / (1.0 + exp(-x)); }

/* ---- the exp ---- */

/* fn over 2^22 points spread over [-87.33, 88.37] (those up to hi compared) against double exp: the largest
 * relative error and where, and the largest excess of the error over 2^-22 + |x| per_x */
static double exp_sweep(void (*fn)(const float *, float *, int64_t), float hi, double per_x, double *worst, double *at)
{
    enum { N = 1 << 16 };
    static float x[N], y[N];
    double excess_max = -INFINITY;
    *worst = 0, *at = 0;
    for (int64_t base = 0; base < (1 << 22); base += N) {
        for (int i = 0; i < N; i++) x[i] = -87.33f + 175.7f * (float)(base + i) / (float)(1 << 22);
        fn(x, y, N);
        for (int i = 0; i < N; i++) {
            if (x[i] > hi) continue;
            const double ref = exp((double)x[i]), rel = fabs((double)y[i] - ref) / ref;
            const double excess = rel - (0x1p-22 + fabs(x[i]) * per_x);
            if (rel > *worst) *worst = rel, *at = x[i];
            if (excess > excess_max) excess_max = excess;
        }
    }
    return excess_max;
}

static void exp_accuracy(const dyvm_cpu_kernels *k)
{
    double worst, at;
    exp_sweep(k->exp, 88.37f, 0, &worst, &at);
    /* 2 ulp = 2^-22 relative at most (README.md states it) */
    check(worst <= 2.0 * 0x1p-23 + 1e-12, "[%s] exp: max relative error %.3g (%.2f ulp of 1) at x = %.6g over [-87.33, 88.37]",
          k->name, worst, worst / 0x1p-23, at);
    float sp[6] = {NAN, -200.0f, 200.0f, 0.0f, -0.0f, 1.0f}, sy[6];
    k->exp(sp, sy, 6);
    check(isnan(sy[0]), "[%s] exp(NaN) is NaN", k->name);
    check(sy[1] > 0 && sy[1] <= 1.2e-38f, "[%s] exp(-200) saturates to FLT_MIN or below (%g)", k->name, sy[1]);
    check(sy[2] >= 2.4e38f && isfinite(sy[2]), "[%s] exp(200) saturates at exp(88.376) (%g)", k->name, sy[2]);
    check(sy[3] == 1.0f && sy[4] == 1.0f && fabsf(sy[5] - 2.7182817f) <= 2.4e-7f, "[%s] exp(0) = exp(-0) = 1, exp(1) = e",
          k->name);
}

/* The scan's exps, exp(x) = 2^(x log2 e) (vec.h's vf_exp2): the polynomial's 2^-22 plus the rounding of
 * x log2 e, which costs |x| 2^-24 relative (bounded here by |x| 2^-23), over the scan's range x <= 0 and
 * beyond it up to 88 */
static void exp_scan_accuracy(const dyvm_cpu_kernels *k)
{
    double worst, at;
    const double excess = exp_sweep(k->exp_scan, 88.0f, 0x1p-23, &worst, &at);
    check(excess <= 0, "[%s] scan exp: relative error within 2^-22 + |x| 2^-23 over [-87.33, 88] (max %.3g at x = %.6g)",
          k->name, worst, at);
    /* the scan's own range, dt A in [-20, 0]: within 2^-22 + 20 * 2^-23 */
    enum { N = 1 << 16 };
    static float x[N], y[N];
    double near = 0;
    for (int i = 0; i < N; i++) x[i] = -20.0f * (float)i / (float)N;
    k->exp_scan(x, y, N);
    for (int i = 0; i < N; i++) {
        const double ref = exp((double)x[i]), rel = fabs((double)y[i] - ref) / ref;
        near = rel > near ? rel : near;
    }
    check(near <= 0x1p-22 + 20 * 0x1p-23, "[%s] scan exp: max relative error %.3g over [-20, 0]", k->name, near);
    float sp[5] = {NAN, -200.0f, 0.0f, -0.0f, -1.0f}, sy[5];
    k->exp_scan(sp, sy, 5);
    check(isnan(sy[0]), "[%s] scan exp(NaN) is NaN", k->name);
    check(sy[1] > 0 && sy[1] <= 1.2e-38f, "[%s] scan exp(-200) saturates to FLT_MIN (%g)", k->name, sy[1]);
    check(sy[2] == 1.0f && sy[3] == 1.0f && fabsf(sy[4] - 0.36787944f) <= 1e-7f, "[%s] scan exp(0) = exp(-0) = 1, exp(-1) = 1/e",
          k->name);
}

/* ---- conv + SiLU ---- */

static void conv_case(const dyvm_cpu_kernels *k, int64_t L, int64_t E, int64_t K, int dir)
{
    const int64_t ldx = 2 * E + 3;
    float *x = uniform(L * ldx, -2, 2, 11), *wt = uniform(K * E, -0.5f, 0.5f, 12), *b = uniform(E, -0.2f, 0.2f, 13);
    float *got = calloc((size_t)(L * E), sizeof(float)), *ref = calloc((size_t)(L * E), sizeof(float));
    /* F.conv1d(x, weight, bias, padding=K-1, groups=E)[..., :L] then SiLU; the backward branch on the flipped
       sequence, flipped back; wt[j, e] = conv1d.weight[e, 0, j] */
    for (int64_t t = 0; t < L; t++)
        for (int64_t e = 0; e < E; e++) {
            double acc = b[e];
            for (int64_t j = 0; j < K; j++) {
                const int64_t s = dir == 0 ? t - (K - 1 - j) : t + (K - 1 - j);
                if (s >= 0 && s < L) acc += (double)wt[j * E + e] * x[s * ldx + e];
            }
            ref[t * E + e] = (float)silu_d(acc);
        }
    /* in two row ranges, as the callers split it */
    k->conv_silu(x, ldx, wt, b, dir, L, E, K, 0, L / 2, got);
    k->conv_silu(x, ldx, wt, b, dir, L, E, K, L / 2, L, got);
    char what[128];
    snprintf(what, sizeof what, "[%s] conv+SiLU L %lld E %lld K %lld %s", k->name, (long long)L, (long long)E, (long long)K,
             dir ? "backward" : "forward");
    compare_check(what, got, ref, (size_t)(L * E), TOL);
    free(x), free(wt), free(b), free(got), free(ref);
}

/* ---- dt projection + softplus, and the scan ---- */

typedef struct {
    int64_t L, E, N, R;
    float *u, *dbl, *z, *dt_w, *dt_b, *A, *D;
} scan_case;

static scan_case scan_make(int64_t L, int64_t E, int64_t N, int64_t R, uint64_t seed)
{
    scan_case c = {.L = L, .E = E, .N = N, .R = R};
    c.u = uniform(L * E, -1, 1, seed), c.dbl = uniform(L * (R + 2 * N), -1, 1, seed + 1);
    c.z = uniform(L * 2 * E, -3, 3, seed + 2), c.dt_w = uniform(E * R, -0.3f, 0.3f, seed + 3);
    c.dt_b = uniform(E, -5, 1, seed + 4), c.A = uniform(E * N, -8, -0.5f, seed + 5), c.D = uniform(E, 0.5f, 1.5f, seed + 6);
    return c;
}

static void scan_free(scan_case *c) { free(c->u), free(c->dbl), free(c->z), free(c->dt_w), free(c->dt_b), free(c->A), free(c->D); }

/* selective_scan_ref in double, z at row stride 2E (its second half as in xz) */
static void scan_ref(const scan_case *c, int dir, double *proj, double *delta, float *y)
{
    const int64_t L = c->L, E = c->E, N = c->N, R = c->R, ld = R + 2 * N;
    for (int64_t t = 0; t < L; t++)
        for (int64_t e = 0; e < E; e++) {
            double acc = 0;
            for (int64_t r = 0; r < R; r++) acc += (double)c->dbl[t * ld + r] * c->dt_w[e * R + r];
            proj[t * E + e] = acc;
            delta[t * E + e] = softplus_d(acc + c->dt_b[e]);
        }
    double *s = calloc((size_t)N, sizeof(double));
    for (int64_t e = 0; e < E; e++) {
        memset(s, 0, sizeof(double) * (size_t)N);
        for (int64_t i = 0; i < L; i++) {
            const int64_t t = dir == 0 ? i : L - 1 - i;
            const double dt = delta[t * E + e], u = c->u[t * E + e];
            double yy = 0;
            for (int64_t n = 0; n < N; n++) {
                s[n] = exp(dt * c->A[e * N + n]) * s[n] + dt * c->dbl[t * ld + R + n] * u;
                yy += s[n] * c->dbl[t * ld + R + N + n];
            }
            y[t * E + e] = (float)((yy + u * c->D[e]) * silu_d(c->z[t * 2 * E + E + e]));
        }
    }
    free(s);
}

static void scan_run(const dyvm_cpu_kernels *k, const scan_case *c, int dir, int64_t split, float *delta, float *y)
{
    const dyvm_scan_args a = {.u = c->u, .dbl = c->dbl, .z = c->z + c->E, .delta = delta, .y = y, .dt_w = c->dt_w,
                              .dt_b = c->dt_b, .A = c->A, .D = c->D, .L = c->L, .E = c->E, .N = c->N, .R = c->R,
                              .ldz = 2 * c->E, .dir = dir};
    for (int64_t e0 = 0; e0 < c->E; e0 += split) k->scan_delta(&a, e0, c->E - e0 < split ? c->E - e0 : split);
    for (int64_t e0 = 0; e0 < c->E; e0 += split) k->scan(&a, e0, c->E - e0 < split ? c->E - e0 : split);
}

static void scan_check(const dyvm_cpu_kernels *k, int64_t L, int64_t E, int64_t N, int64_t R, int dir)
{
    scan_case c = scan_make(L, E, N, R, 100 + (uint64_t)(L + E + N + R));
    const size_t n = (size_t)(L * E);
    double *dref = malloc(n * sizeof(double)), *pref = malloc(n * sizeof(double));
    float *yref = malloc(n * sizeof(float)), *dr = malloc(n * sizeof(float));
    float *delta = malloc(n * sizeof(float)), *y = malloc(n * sizeof(float));
    float *delta1 = malloc(n * sizeof(float)), *y1 = malloc(n * sizeof(float));
    scan_ref(&c, dir, pref, dref, yref);
    for (size_t i = 0; i < n; i++) dr[i] = (float)pref[i];
    scan_run(k, &c, dir, E, delta, y); /* all channels in one call */
    char what[160];
    snprintf(what, sizeof what, "[%s] dt_proj L %lld E %lld N %lld R %lld", k->name, (long long)L, (long long)E,
             (long long)N, (long long)R);
    compare_check(what, delta, dr, n, TOL);
    snprintf(what, sizeof what, "[%s] scan L %lld E %lld N %lld R %lld %s", k->name, (long long)L, (long long)E,
             (long long)N, (long long)R, dir ? "backward" : "forward");
    compare_check(what, y, yref, n, TOL);
    /* one vector per call, as the CPU backend splits it: the same bits */
    scan_run(k, &c, dir, k->width, delta1, y1);
    check(!memcmp(y, y1, n * sizeof(float)) && !memcmp(delta, delta1, n * sizeof(float)),
          "[%s] scan of E %lld: all channels in one call == one vector per call, bit for bit", k->name, (long long)E);
    scan_free(&c);
    free(dref), free(pref), free(yref), free(dr), free(delta), free(y), free(delta1), free(y1);
}

/* softplus: torch's threshold (x > 20 returns x exactly) and the small values of very negative x */
static void softplus_check(const dyvm_cpu_kernels *k)
{
    enum { N = 24 };
    const float xs[N] = {-30, -20, -15, -10, -5, -2, -1, -0.5f, -1e-3f, 0, 1e-3f, 0.5f,
                         1, 2, 5, 10, 15, 19.99f, 20, 20.01f, 25, 50, 100, 1e4f};
    float y[N];
    k->softplus(xs, y, N);
    double worst = 0;
    int exact = 1;
    for (int i = 0; i < N; i++) {
        const double ref = softplus_d(xs[i]), rel = fabs(y[i] - ref) / ref;
        worst = rel > worst ? rel : worst;
        if (xs[i] > 20) exact &= y[i] == xs[i];
    }
    check(worst < 4 * 0x1p-23, "[%s] softplus over [-30, 1e4]: max relative error %.3g (%.2f ulp)", k->name, worst,
          worst / 0x1p-23);
    check(exact, "[%s] softplus(x) == x exactly above the threshold 20, as torch", k->name);
}

/* ---- residual add + RMSNorm, GELU ---- */

static void norm_check(const dyvm_cpu_kernels *k, int64_t rows, int64_t D, int first)
{
    float *r = uniform(rows * D, -2, 2, 21), *h = uniform(rows * D, -2, 2, 22), *w = uniform(D, 0.5f, 1.5f, 23);
    float *u = malloc(sizeof(float) * (size_t)(rows * D)), *ref = malloc(sizeof(float) * (size_t)(rows * D));
    float *rref = malloc(sizeof(float) * (size_t)(rows * D));
    for (int64_t i = 0; i < rows; i++) {
        double ss = 0;
        for (int64_t d = 0; d < D; d++) {
            const float x = first ? h[i * D + d] : r[i * D + d] + h[i * D + d];
            rref[i * D + d] = x, ss += (double)x * x;
        }
        const double rstd = 1.0 / sqrt(ss / (double)D + 1e-5);
        for (int64_t d = 0; d < D; d++) ref[i * D + d] = (float)(rref[i * D + d] * rstd * w[d]);
    }
    k->add_rms_norm(r, h, w, u, rows, D, 1e-5f, first);
    char what[128];
    snprintf(what, sizeof what, "[%s] add + RMSNorm rows %lld D %lld%s", k->name, (long long)rows, (long long)D,
             first ? " (first layer)" : "");
    compare_check(what, u, ref, (size_t)(rows * D), TOL);
    check(!memcmp(r, rref, sizeof(float) * (size_t)(rows * D)), "[%s] add + RMSNorm leaves the residual r + h (or h)", k->name);
    free(r), free(h), free(w), free(u), free(ref), free(rref);
}

static void gelu_check(const dyvm_cpu_kernels *k)
{
    enum { N = 1001 };
    float *x = uniform(N, -6, 6, 31), ref[N];
    for (int i = 0; i < N; i++) ref[i] = (float)(0.5 * x[i] * (1.0 + erf(x[i] / sqrt(2.0))));
    k->gelu(x, N);
    char what[64];
    snprintf(what, sizeof what, "[%s] GELU (exact) over 1001 values in [-6, 6]", k->name);
    compare_check(what, x, ref, N, TOL);
    free(x);
}

/* the roofs' triad: every element of a = b + s * c (exact here: integers and s = 0.5), none past n */
static void triad_check(const dyvm_cpu_kernels *k)
{
    enum { N = 37, GUARD = 8 };
    float a[N + GUARD], b[N], c[N];
    bool ok = true;
    for (int n = 0; n <= N; n += n < 9 ? 1 : 7) {
        for (int i = 0; i < N + GUARD; i++) a[i] = -1.0f;
        for (int i = 0; i < N; i++) b[i] = (float)(i - 11), c[i] = (float)(3 * i + 1);
        k->triad(a, b, c, 0.5f, n);
        for (int i = 0; i < N + GUARD; i++) ok &= a[i] == (i < n ? b[i] + 0.5f * c[i] : -1.0f);
    }
    check(ok, "[%s] triad a = b + s c for n = 0 to 9, 16, 23, 30, 37, nothing written past n", k->name);
}

static void choice(void)
{
    check(dyvm_isa_best(true, true) == DYVM_ISA_AVX512 && dyvm_isa_best(true, false) == DYVM_ISA_AVX2 &&
              dyvm_isa_best(false, false) == DYVM_ISA_SCALAR,
          "auto picks AVX-512 where the CPU has x86-64-v4, else AVX2 + FMA, else scalar");
    char err[256], list[64];
    check(dyvm_isa_select("sse9", err, sizeof err) == -1 &&
              strstr(err, "\"sse9\" is not auto, avx512, avx2, scalar or avx512emu"),
          "--isa sse9 refused: %s", err);
    check(dyvm_isa_select("scalar", err, sizeof err) == 0 && dyvm_isa_kernels() == &dyvm_kernels_scalar,
          "--isa scalar is always available");
    dyvm_isa_select("auto", err, sizeof err);
    dyvm_isa_list(list, sizeof list);
    check(!strncmp(list, dyvm_isa_kernels()->name, strlen(dyvm_isa_kernels()->name)) && strstr(list, "scalar"),
          "auto runs the first ISA of the supported list \"%s\" (%s)", list, dyvm_isa_kernels()->name);
    check(!strstr(list, "emu") && dyvm_isa_kernels() != &dyvm_kernels_avx512emu,
          "the emulated AVX-512 is neither listed as this CPU's (\"%s\") nor chosen by auto", list);
    if (dyvm_isa_supported(DYVM_ISA_AVX2))
        check(dyvm_isa_select("avx512emu", err, sizeof err) == 0 && dyvm_isa_kernels() == &dyvm_kernels_avx512emu &&
                  dyvm_isa_supported(DYVM_ISA_AVX512_EMU),
              "--isa avx512emu runs the 16-wide kernels on AVX2 + FMA");
    else
        check(dyvm_isa_select("avx512emu", err, sizeof err) == -1 && strstr(err, "AVX2 and FMA are needed"),
              "--isa avx512emu refused without AVX2 + FMA: %s", err);
    dyvm_isa_select("auto", err, sizeof err);
    if (!dyvm_isa_supported(DYVM_ISA_AVX512))
        check(dyvm_isa_select("avx512", err, sizeof err) == -1 && strstr(err, "does not support"),
              "--isa avx512 refused on this CPU: %s", err);
    check(dyvm_kernels_avx512.width == 16 && dyvm_kernels_avx2.width == 8 && dyvm_kernels_scalar.width == 1 &&
              dyvm_kernels_avx512emu.width == 16 && dyvm_kernels_avx512emu.delta_group == dyvm_kernels_avx512.delta_group,
          "vector widths: avx512 16, avx2 8, scalar 1, avx512emu 16 (and AVX-512's channel groups)");
}

int main(void)
{
    choice();
    for (int i = DYVM_ISA_COUNT - 1; i >= 0; i--) {
        const dyvm_cpu_kernels *k = dyvm_isa_table((dyvm_isa)i);
        if (!dyvm_isa_supported((dyvm_isa)i)) {
            check_skip("the %s kernels (%s): this CPU does not support them", k->name, k->desc);
            continue;
        }
        exp_accuracy(k);
        exp_scan_accuracy(k);
        softplus_check(k);
        for (int dir = 0; dir < 2; dir++) {
            conv_case(k, 37, 72, 4, dir);  /* E a multiple of 8, not of 16 */
            conv_case(k, 9, 21, 3, dir);   /* row tails everywhere */
            conv_case(k, 2, 19, 4, dir);   /* L below K */
            scan_check(k, 29, 40, 16, 5, dir);
            scan_check(k, 13, 19, 5, 40, dir); /* N not 16, R above the 32-column chunk, a tail */
        }
        norm_check(k, 5, 37, 0);
        norm_check(k, 3, 384, 1);
        gelu_check(k);
        triad_check(k);
    }
    return check_summary();
}
