/* Checked arithmetic for sizes that come from files and flags, and the finiteness check for the values
 * that come from them: a size that overflows or a NaN in a weight is refused, never used. */
#ifndef DYVM_CHECKED_H
#define DYVM_CHECKED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* *out = a * b; false (and *out untouched... or garbage) when either is negative or the product overflows */
static inline bool dyvm_mul_ok(int64_t a, int64_t b, int64_t *out)
{
    return a >= 0 && b >= 0 && !__builtin_mul_overflow(a, b, out);
}
static inline bool dyvm_add_ok(int64_t a, int64_t b, int64_t *out)
{
    return a >= 0 && b >= 0 && !__builtin_add_overflow(a, b, out);
}
/* Product of n non-negative factors, or -1 on overflow. */
int64_t dyvm_checked_product(const int64_t *f, int n);

/* Index of the first NaN or infinity among n floats; n when every value is finite. */
size_t dyvm_first_nonfinite(const float *x, size_t n);

#endif
