#include "compare.h"

#include <math.h>

#include "check.h"

compare_result compare_f32(const float *got, const float *ref, size_t n)
{
    compare_result c = {0};
    double num = 0.0, den = 0.0, big = -1.0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(got[i]) || !isfinite(ref[i])) {
            c.nonfinite++;
            continue;
        }
        const double d = (double)got[i] - (double)ref[i];
        num += d * d, den += (double)ref[i] * ref[i];
        if (fabs(d) > big) big = fabs(d), c.worst = i;
    }
    c.rel_l2 = den > 0.0 ? sqrt(num / den) : sqrt(num);
    return c;
}

int compare_check(const char *what, const float *got, const float *ref, size_t n, double tol)
{
    compare_result c = compare_f32(got, ref, n);
    if (c.nonfinite) return check(0, "%s: %zu non-finite values", what, c.nonfinite);
    return check(c.rel_l2 <= tol, "%s: rel L2 %.3g (tol %.0e; worst at %zu: %.7g vs %.7g)", what, c.rel_l2, tol,
                 c.worst, n ? (double)got[c.worst] : 0.0, n ? (double)ref[c.worst] : 0.0);
}

int compare_check_i32(const char *what, const int32_t *got, const int32_t *ref, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (got[i] != ref[i]) return check(0, "%s: differs at %zu: %d vs %d", what, i, got[i], ref[i]);
    return check(1, "%s: %zu values identical", what, n);
}
