#include "checked.h"

#include <math.h>

int64_t dyvm_checked_product(const int64_t *f, int n)
{
    int64_t p = 1;
    for (int i = 0; i < n; i++)
        if (!dyvm_mul_ok(p, f[i], &p)) return -1;
    return p;
}

size_t dyvm_first_nonfinite(const float *x, size_t n)
{
    /* a branch-free sweep (the common case is all finite), then the position if something was found */
    int bad = 0;
    for (size_t i = 0; i < n; i++) bad |= !isfinite(x[i]);
    if (!bad) return n;
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i])) return i;
    return n;
}
