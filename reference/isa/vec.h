/* One vector of DYVM_VW floats for the ISA kernels (isa/kernels.c), which are compiled once per ISA:
 * DYVM_VW 16 with -march=x86-64-v4 (AVX-512), 8 with -march=x86-64-v3 (AVX2 + FMA), 1 with the baseline
 * x86-64 (plain float: the scalar path). The kernels are written once against these few operations. */
#ifndef DYVM_ISA_VEC_H
#define DYVM_ISA_VEC_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#ifndef DYVM_VW
#error "DYVM_VW (16, 8 or 1) is set by the Makefile for each ISA build of isa/kernels.c"
#endif

#if DYVM_VW == 16 || DYVM_VW == 8
#include <immintrin.h>
typedef float vf __attribute__((vector_size(4 * DYVM_VW)));
typedef float vf_u __attribute__((vector_size(4 * DYVM_VW), aligned(4))); /* unaligned memory */
typedef uint32_t vi __attribute__((vector_size(4 * DYVM_VW)));
static inline vf vf_load(const float *p) { return (vf)(*(const vf_u *)p); }
static inline void vf_store(float *p, vf v) { *(vf_u *)p = v; }
static inline vf vf_set1(float x) { return x - (vf){0}; }
static inline vi vf_bits(vf x) { return (vi)x; }
static inline vf vf_from_bits(vi x) { return (vf)x; }
static inline float vf_sum(vf x)
{
    float s = 0.0f; /* lane order: the same bits wherever the vector sits */
    for (int i = 0; i < DYVM_VW; i++) s += x[i];
    return s;
}
#if DYVM_VW == 16 && defined(__AVX512F__)
/* max(a, b), min(a, b) with the x86 rule: b when either is NaN (so pass the value that may be NaN as b) */
static inline vf vf_max(vf a, vf b) { return (vf)_mm512_max_ps((__m512)a, (__m512)b); }
static inline vf vf_min(vf a, vf b) { return (vf)_mm512_min_ps((__m512)a, (__m512)b); }
__m512 _ZGVeN16v_erff(__m512 x);
static inline vf vf_erf(vf x) { return (vf)_ZGVeN16v_erff((__m512)x); }
#elif DYVM_VW == 16
/* The 16-wide kernels built for AVX2 + FMA (the avx512emu table): the compiler runs each 16-float vector as
 * two of 8, every lane through the same operations as with AVX-512, so they test the 16-wide code (its lane
 * counts, tails and groups) where no AVX-512 CPU is, and give the bits a real AVX-512 run must reproduce (all
 * but erf's: libmvec's 8-wide erf stands in for its 16-wide one). */
typedef union {
    vf v;
    __m256 h[2];
} vf_halves;
static inline __m256 vf_half(vf x, int i) { return ((vf_halves){x}).h[i]; }
static inline vf vf_join(__m256 lo, __m256 hi) { return ((vf_halves){.h = {lo, hi}}).v; }
static inline vf vf_max(vf a, vf b)
{
    return vf_join(_mm256_max_ps(vf_half(a, 0), vf_half(b, 0)), _mm256_max_ps(vf_half(a, 1), vf_half(b, 1)));
}
static inline vf vf_min(vf a, vf b)
{
    return vf_join(_mm256_min_ps(vf_half(a, 0), vf_half(b, 0)), _mm256_min_ps(vf_half(a, 1), vf_half(b, 1)));
}
__m256 _ZGVdN8v_erff(__m256 x);
static inline vf vf_erf(vf x) { return vf_join(_ZGVdN8v_erff(vf_half(x, 0)), _ZGVdN8v_erff(vf_half(x, 1))); }
#else
static inline vf vf_max(vf a, vf b) { return (vf)_mm256_max_ps((__m256)a, (__m256)b); }
static inline vf vf_min(vf a, vf b) { return (vf)_mm256_min_ps((__m256)a, (__m256)b); }
__m256 _ZGVdN8v_erff(__m256 x);
static inline vf vf_erf(vf x) { return (vf)_ZGVdN8v_erff((__m256)x); }
#endif

#elif DYVM_VW == 1
typedef float vf;
typedef uint32_t vi;
static inline vf vf_load(const float *p) { return *p; }
static inline void vf_store(float *p, vf v) { *p = v; }
static inline vf vf_set1(float x) { return x; }
static inline vi vf_bits(vf x)
{
    vi i;
    memcpy(&i, &x, sizeof i);
    return i;
}
static inline vf vf_from_bits(vi i)
{
    vf x;
    memcpy(&x, &i, sizeof x);
    return x;
}
static inline float vf_sum(vf x) { return x; }
static inline vf vf_max(vf a, vf b) { return a > b ? a : b; } /* b when either is NaN, as on x86 */
static inline vf vf_min(vf a, vf b) { return a < b ? a : b; }
static inline vf vf_erf(vf x) { return erff(x); }
#else
#error "DYVM_VW must be 16, 8 or 1"
#endif

/* The first n lanes of p, the others 0 (n < DYVM_VW), and the store of the first n lanes: the tail of a row
 * goes through the same vector code as the rest, so each element's bits do not depend on where it sits. */
static inline vf vf_load_n(const float *p, int64_t n)
{
    float t[DYVM_VW] = {0};
    memcpy(t, p, sizeof(float) * (size_t)n);
    return vf_load(t);
}
static inline void vf_store_n(float *p, vf v, int64_t n)
{
    float t[DYVM_VW];
    vf_store(t, v);
    memcpy(p, t, sizeof(float) * (size_t)n);
}

#define VF_LOG2E 1.44269504088896341f /* log2 e, rounded to float */

/* Each exp below is written for u independent vectors at once ("lockstep"): every operation for all u before
 * the next, the loops unrolled. One exp is a chain of about 15 dependent operations (some 60 cycles); written
 * one vector after another, the out-of-order core's scheduler fills with the waiting ends of a few chains and
 * the pipes idle. Side by side, each chain's next step is ready soon after it enters. Each lane still goes
 * through the same operations in the same order, so the bits do not change. Measured (development VM, AVX2,
 * one core, interleaved, min of 300): the conv + SiLU of one Vim-S branch 1.16-1.20x faster with 4 vectors in
 * lockstep (2: 1.05-1.11x, 8: 1.17-1.23x), the scan's exp alone 1.20-1.26x. u is a constant at every call,
 * at most 16. */
#define VF_EACH(i, u) _Pragma("GCC unroll 16") for (int i = 0; i < (u); i++)
/* always inlined, so that u is a constant wherever they run; the one-vector forms too, which the compiler
 * would otherwise call out of line (every vector register is clobbered by a call) */
#define VF_LOCKSTEP static inline __attribute__((always_inline)) void
#define VF_ONE static inline __attribute__((always_inline)) vf

/* exp(x), dyvm's own (every ISA, inlined so that the exps run without calls): Cody-Waite reduction
 * x = n ln2 + r with |r| <= ln2 / 2, e^r by a degree-6 minimax polynomial (fitted by Remez's algorithm to the
 * relative error, 3.9e-9 before rounding) in Horner's scheme (6 FMAs: fewer operations than Estrin's scheme,
 * and every caller has independent exps to fill the pipeline with), times 2^n built in the exponent bits.
 * x is first clamped to [-87.336, 88.376] so that 2^n stays a normal float: below, the result is FLT_MIN
 * (1.2e-38) where expf gives a subnormal or 0; above, exp(88.376) = 2.4e38 where expf gives up to 3.4e38 or
 * inf. NaN propagates (the clamps keep it). Maximum relative error on [-87.336, 88.376]: measured by
 * tests/test_isa.c, which bounds it by 2^-22 (README.md gives the value). */
VF_LOCKSTEP vf_exp_u(const vf *x_in, vf *out, int u)
{
    const vf magic = vf_set1(0x1.8p23f); /* adding it rounds to an integer held in the low mantissa bits */
    vf x[16], j[16], n[16], r[16], p[16];
    VF_EACH(i, u) x[i] = vf_min(vf_set1(88.37626f), vf_max(vf_set1(-87.33654f), x_in[i]));
    VF_EACH(i, u) j[i] = x[i] * vf_set1(VF_LOG2E) + magic;
    VF_EACH(i, u) n[i] = j[i] - magic;
    VF_EACH(i, u) r[i] = n[i] * vf_set1(-0.693359375f) + x[i]; /* ln 2 in two parts: n * hi is exact */
    VF_EACH(i, u) r[i] = n[i] * vf_set1(2.12194440e-4f) + r[i];
    VF_EACH(i, u) p[i] = vf_set1(1.394858118e-3f) * r[i] + vf_set1(8.381109685e-3f);
    VF_EACH(i, u) p[i] = p[i] * r[i] + vf_set1(4.166623950e-2f);
    VF_EACH(i, u) p[i] = p[i] * r[i] + vf_set1(1.666632593e-1f);
    VF_EACH(i, u) p[i] = p[i] * r[i] + vf_set1(5.000000000e-1f);
    VF_EACH(i, u) p[i] = p[i] * r[i] + vf_set1(1.000000119e+0f);
    VF_EACH(i, u) p[i] = p[i] * r[i] + vf_set1(1.0f);
    VF_EACH(i, u) out[i] = p[i] * vf_from_bits(((vf_bits(j[i]) - vf_bits(magic)) + 127) << 23);
}

VF_ONE vf_exp(vf x)
{
    vf y;
    vf_exp_u(&x, &y, 1);
    return y;
}

/* 2^y, the scan's exps: exp(dt A) = 2^(dt (A log2 e)), log2 e folded into A once per channel (as the CUDA scan
 * v2 does), which saves the reduction's multiplications: n = round(y), f = y - n (exact, in [-1/2, 1/2]),
 * 2^f by a degree-6 minimax polynomial (Remez, relative error 3.9e-9 before rounding; Horner), then n added
 * to the exponent bits of 2^f: an integer add where vf_exp multiplies by 2^n, the same bits whenever the
 * result is a normal float, which the clamp makes it (n = -126 only for y in [-126, -125.5], where f >= 0 and
 * 2^f >= 1). One vector operation fewer per exp: the scan (one Vim-S branch, one core, 12 interleaved
 * runs) 1.02-1.12x faster, median 1.09x, the same output bits. y is clamped below at -126 (the result is
 * then FLT_MIN, where exp2f gives a subnormal or 0); above 127.5 the exponent bits overflow (inf, then
 * garbage), and there is no upper clamp because the scan's y = dt A log2 e is never positive (dt >= 0,
 * A < 0). NaN propagates when the low 9 bits of its payload are 0, as for every NaN arithmetic makes (the
 * loaders refuse non-finite weights and images, so no other NaN reaches the scan). Relative error: at most
 * 2^-22 against 2^y for the float y (tests/test_isa.c); as exp(x) through y = x log2 e, add the rounding of
 * y, |x| 2^-24 relative (README.md). */
VF_LOCKSTEP vf_exp2_u(const vf *y_in, vf *out, int u)
{
    const vf magic = vf_set1(0x1.8p23f);
    vf y[16], j[16], f[16], p[16];
    VF_EACH(i, u) y[i] = vf_max(vf_set1(-126.0f), y_in[i]);
    VF_EACH(i, u) j[i] = y[i] + magic;
    VF_EACH(i, u) f[i] = y[i] - (j[i] - magic);
    VF_EACH(i, u) p[i] = vf_set1(1.546973217e-4f) * f[i] + vf_set1(1.341000083e-3f);
    VF_EACH(i, u) p[i] = p[i] * f[i] + vf_set1(9.618030861e-3f);
    VF_EACH(i, u) p[i] = p[i] * f[i] + vf_set1(5.550297350e-2f);
    VF_EACH(i, u) p[i] = p[i] * f[i] + vf_set1(2.402265072e-1f);
    VF_EACH(i, u) p[i] = p[i] * f[i] + vf_set1(6.931472421e-1f);
    VF_EACH(i, u) p[i] = p[i] * f[i] + vf_set1(1.0f);
    /* j's bits are magic's plus n, and magic's low 9 bits are 0: shifted by 23, they are n << 23 */
    VF_EACH(i, u) out[i] = vf_from_bits(vf_bits(p[i]) + (vf_bits(j[i]) << 23));
}

VF_ONE vf_exp2(vf y)
{
    vf e;
    vf_exp2_u(&y, &e, 1);
    return e;
}

/* x / (1 + exp(-x)), in place on u vectors in lockstep */
VF_LOCKSTEP vf_silu_u(vf *x, int u)
{
    vf m[16], e[16];
    VF_EACH(i, u) m[i] = -x[i];
    vf_exp_u(m, e, u);
    VF_EACH(i, u) x[i] = x[i] / (vf_set1(1.0f) + e[i]);
}

VF_ONE vf_silu(vf x)
{
    vf_silu_u(&x, 1);
    return x;
}

/* log1p(y) for y in [0, 1]: 2 atanh(s) with s = y / (2 + y) in [0, 1/3], by its series to s^15 (the next
 * term is below 1.4e-9 relative), so small y keep their relative accuracy (log1p(y) ~ y) */
VF_LOCKSTEP vf_log1p_unit_u(vf *y, int u)
{
    vf s[16], z[16], z2[16], z4[16], q01[16], q23[16], q45[16], q67[16];
    VF_EACH(i, u) s[i] = y[i] / (vf_set1(2.0f) + y[i]);
    VF_EACH(i, u) z[i] = s[i] * s[i];
    VF_EACH(i, u) z2[i] = z[i] * z[i], z4[i] = z2[i] * z2[i];
    VF_EACH(i, u) q01[i] = vf_set1(1.0f) + z[i] * vf_set1(1.0f / 3.0f);
    VF_EACH(i, u) q23[i] = vf_set1(1.0f / 5.0f) + z[i] * vf_set1(1.0f / 7.0f);
    VF_EACH(i, u) q45[i] = vf_set1(1.0f / 9.0f) + z[i] * vf_set1(1.0f / 11.0f);
    VF_EACH(i, u) q67[i] = vf_set1(1.0f / 13.0f) + z[i] * vf_set1(1.0f / 15.0f);
    VF_EACH(i, u) y[i] = vf_set1(2.0f) * s[i] * ((q01[i] + z2[i] * q23[i]) + z4[i] * (q45[i] + z2[i] * q67[i]));
}

/* torch.nn.functional.softplus (beta 1, threshold 20): x > 20 ? x : log1p(exp(x)), computed as
 * max(x, 0) + log1p(exp(-|x|)) (no overflow, no cancellation; above 20 the second term is below half an ulp
 * of x, so the result is x as torch's threshold gives) */
VF_LOCKSTEP vf_softplus_u(vf *x, int u)
{
    vf m[16], e[16];
    VF_EACH(i, u) m[i] = -vf_max(-x[i], x[i]);
    vf_exp_u(m, e, u);
    vf_log1p_unit_u(e, u);
    VF_EACH(i, u) x[i] = vf_max(vf_set1(0.0f), x[i]) + e[i];
}

VF_ONE vf_softplus(vf x)
{
    vf_softplus_u(&x, 1);
    return x;
}

/* exact GELU: x / 2 * (1 + erf(x / sqrt 2)) */
static inline vf vf_gelu(vf x) { return vf_set1(0.5f) * x * (vf_set1(1.0f) + vf_erf(x * vf_set1(0.70710678118654752f))); }

#endif
