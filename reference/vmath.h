/* Eight-wide float math for the CPU reference: glibc's libmvec (the AVX2 variants, _ZGVdN8v_*) where the
 * build targets AVX2, the scalar libm functions otherwise. Every element goes through the same function
 * whatever its position, so results do not depend on how work is split between threads. */
#ifndef DYVM_VMATH_H
#define DYVM_VMATH_H

#include <math.h>
#include <string.h>

typedef float v8f __attribute__((vector_size(32), aligned(32)));
typedef float v8f_u __attribute__((vector_size(32), aligned(4))); /* for unaligned loads and stores */
typedef int v8i __attribute__((vector_size(32)));

#if defined(__AVX2__) && defined(__x86_64__)
#include <immintrin.h>
__m256 _ZGVdN8v_expf(__m256 x);
__m256 _ZGVdN8v_log1pf(__m256 x);
__m256 _ZGVdN8v_erff(__m256 x);
static inline v8f v8_exp(v8f x) { return (v8f)_ZGVdN8v_expf((__m256)x); }
static inline v8f v8_log1p(v8f x) { return (v8f)_ZGVdN8v_log1pf((__m256)x); }
static inline v8f v8_erf(v8f x) { return (v8f)_ZGVdN8v_erff((__m256)x); }
#else
#define DYVM_V8_SCALAR(fn, f)                                                                                   \
    static inline v8f fn(v8f x)                                                                                 \
    {                                                                                                           \
        for (int i = 0; i < 8; i++) x[i] = f(x[i]);                                                             \
        return x;                                                                                               \
    }
DYVM_V8_SCALAR(v8_exp, expf)
DYVM_V8_SCALAR(v8_log1p, log1pf)
DYVM_V8_SCALAR(v8_erf, erff)
#undef DYVM_V8_SCALAR
#endif

static inline v8f v8_load(const float *p) { return (v8f)(*(const v8f_u *)p); }
static inline void v8_store(float *p, v8f v) { *(v8f_u *)p = v; }
static inline v8f v8_set1(float x) { return (v8f){x, x, x, x, x, x, x, x}; }

/* x / (1 + exp(-x)) */
static inline v8f v8_silu(v8f x) { return x / (1.0f + v8_exp(-x)); }

/* torch.nn.functional.softplus (beta 1, threshold 20): x > 20 ? x : log1p(exp(x)) */
static inline v8f v8_softplus(v8f x)
{
    v8f s = v8_log1p(v8_exp(x));
    v8i big = x > 20.0f; /* lane mask: -1 where true */
    return (v8f)((big & (v8i)x) | (~big & (v8i)s));
}

/* exact GELU: x / 2 * (1 + erf(x / sqrt 2)) */
static inline v8f v8_gelu(v8f x) { return 0.5f * x * (1.0f + v8_erf(x * 0.70710678118654752f)); }

/* Applies an eight-wide function to n floats in place; the tail is padded so it uses the same function. */
#define DYVM_V8_APPLY(fn, p, n)                                                                                  \
    do {                                                                                                        \
        float *p_ = (p);                                                                                        \
        int64_t n_ = (n), i_ = 0;                                                                               \
        for (; i_ + 8 <= n_; i_ += 8) v8_store(p_ + i_, fn(v8_load(p_ + i_)));                                  \
        if (i_ < n_) {                                                                                          \
            float t_[8] = {0};                                                                                  \
            memcpy(t_, p_ + i_, sizeof(float) * (size_t)(n_ - i_));                                             \
            v8_store(t_, fn(v8_load(t_)));                                                                      \
            memcpy(p_ + i_, t_, sizeof(float) * (size_t)(n_ - i_));                                             \
        }                                                                                                       \
    } while (0)

#endif
