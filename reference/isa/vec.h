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
#if DYVM_VW == 16
/* max(a, b), min(a, b) with the x86 rule: b when either is NaN (so pass the value that may be NaN as b) */
static inline vf vf_max(vf a, vf b) { return (vf)_mm512_max_ps((__m512)a, (__m512)b); }
static inline vf vf_min(vf a, vf b) { return (vf)_mm512_min_ps((__m512)a, (__m512)b); }
__m512 _ZGVeN16v_erff(__m512 x);
static inline vf vf_erf(vf x) { return (vf)_ZGVeN16v_erff((__m512)x); }
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

/* exp(x), dyvm's own (every ISA, inlined so that the exps run without calls): Cody-Waite reduction
 * x = n ln2 + r with |r| <= ln2 / 2, e^r by a degree-6 minimax polynomial (fitted by Remez's algorithm to the
 * relative error, 3.9e-9 before rounding) in Horner's scheme (6 FMAs: fewer operations than Estrin's scheme,
 * and every caller has independent exps to fill the pipeline with), times 2^n built in the exponent bits.
 * x is first clamped to [-87.336, 88.376] so that 2^n stays a normal float: below, the result is FLT_MIN
 * (1.2e-38) where expf gives a subnormal or 0; above, exp(88.376) = 2.4e38 where expf gives up to 3.4e38 or
 * inf. NaN propagates (the clamps keep it). Maximum relative error on [-87.336, 88.376]: measured by
 * tests/test_isa.c, which bounds it by 2^-22 (README.md gives the value). */
static inline vf vf_exp(vf x)
{
    const vf magic = vf_set1(0x1.8p23f); /* adding it rounds to an integer held in the low mantissa bits */
    x = vf_min(vf_set1(88.37626f), vf_max(vf_set1(-87.33654f), x));
    const vf j = x * vf_set1(VF_LOG2E) + magic;
    const vf n = j - magic;
    vf r = n * vf_set1(-0.693359375f) + x; /* ln 2 in two parts: n * hi is exact */
    r = n * vf_set1(2.12194440e-4f) + r;
    vf p = vf_set1(1.394858118e-3f);
    p = p * r + vf_set1(8.381109685e-3f);
    p = p * r + vf_set1(4.166623950e-2f);
    p = p * r + vf_set1(1.666632593e-1f);
    p = p * r + vf_set1(5.000000000e-1f);
    p = p * r + vf_set1(1.000000119e+0f);
    p = p * r + vf_set1(1.0f);
    const vi scale = ((vf_bits(j) - vf_bits(magic)) + 127) << 23;
    return p * vf_from_bits(scale);
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
static inline vf vf_exp2(vf y)
{
    const vf magic = vf_set1(0x1.8p23f);
    y = vf_max(vf_set1(-126.0f), y);
    const vf j = y + magic;
    const vf f = y - (j - magic);
    vf p = vf_set1(1.546973217e-4f);
    p = p * f + vf_set1(1.341000083e-3f);
    p = p * f + vf_set1(9.618030861e-3f);
    p = p * f + vf_set1(5.550297350e-2f);
    p = p * f + vf_set1(2.402265072e-1f);
    p = p * f + vf_set1(6.931472421e-1f);
    p = p * f + vf_set1(1.0f);
    /* j's bits are magic's plus n, and magic's low 9 bits are 0: shifted by 23, they are n << 23 */
    return vf_from_bits(vf_bits(p) + (vf_bits(j) << 23));
}

/* x / (1 + exp(-x)) */
static inline vf vf_silu(vf x) { return x / (vf_set1(1.0f) + vf_exp(-x)); }

/* log1p(y) for y in [0, 1]: 2 atanh(s) with s = y / (2 + y) in [0, 1/3], by its series to s^15 (the next
 * term is below 1.4e-9 relative), so small y keep their relative accuracy (log1p(y) ~ y) */
static inline vf vf_log1p_unit(vf y)
{
    const vf s = y / (vf_set1(2.0f) + y), z = s * s, z2 = z * z, z4 = z2 * z2;
    const vf q01 = vf_set1(1.0f) + z * vf_set1(1.0f / 3.0f), q23 = vf_set1(1.0f / 5.0f) + z * vf_set1(1.0f / 7.0f);
    const vf q45 = vf_set1(1.0f / 9.0f) + z * vf_set1(1.0f / 11.0f), q67 = vf_set1(1.0f / 13.0f) + z * vf_set1(1.0f / 15.0f);
    return vf_set1(2.0f) * s * ((q01 + z2 * q23) + z4 * (q45 + z2 * q67));
}

/* torch.nn.functional.softplus (beta 1, threshold 20): x > 20 ? x : log1p(exp(x)), computed as
 * max(x, 0) + log1p(exp(-|x|)) (no overflow, no cancellation; above 20 the second term is below half an ulp
 * of x, so the result is x as torch's threshold gives) */
static inline vf vf_softplus(vf x)
{
    const vf ax = vf_max(-x, x);
    return vf_max(vf_set1(0.0f), x) + vf_log1p_unit(vf_exp(-ax));
}

/* exact GELU: x / 2 * (1 + erf(x / sqrt 2)) */
static inline vf vf_gelu(vf x) { return vf_set1(0.5f) * x * (vf_set1(1.0f) + vf_erf(x * vf_set1(0.70710678118654752f))); }

#endif
