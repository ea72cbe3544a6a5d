#include "stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int cmp(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double dyvm_percentile(const double *s, size_t n, double q)
{
    if (n == 0) return NAN;
    const double pos = q / 100.0 * (double)(n - 1);
    const size_t lo = (size_t)floor(pos), hi = lo + 1 < n ? lo + 1 : lo;
    return s[lo] + (pos - (double)lo) * (s[hi] - s[lo]);
}

dyvm_stats dyvm_stats_of(const double *x, size_t n)
{
    dyvm_stats st = {.n = n};
    if (n == 0) return st;
    double *s = malloc(n * sizeof *s);
    if (!s) return st;
    memcpy(s, x, n * sizeof *s);
    qsort(s, n, sizeof *s, cmp);
    double sum = 0, ss = 0;
    for (size_t i = 0; i < n; i++) sum += s[i];
    st.mean = sum / (double)n;
    for (size_t i = 0; i < n; i++) ss += (s[i] - st.mean) * (s[i] - st.mean);
    st.stddev = n > 1 ? sqrt(ss / (double)(n - 1)) : 0.0;
    st.cv = st.mean > 0 ? st.stddev / st.mean : 0.0;
    st.min = s[0], st.max = s[n - 1];
    st.median = dyvm_percentile(s, n, 50), st.p90 = dyvm_percentile(s, n, 90), st.p99 = dyvm_percentile(s, n, 99);
    free(s);
    return st;
}

bool dyvm_should_stop(const dyvm_stop_rule *r, const double *x, size_t n, double elapsed, const char **why)
{
    *why = NULL;
    if (n >= r->max_samples) return *why = "max samples", true;
    /* the timeout waits for a second sample (a spread to speak of), unless one was all that was asked for */
    if (elapsed >= r->max_seconds && (n >= 2 || r->min_samples <= 1)) return *why = "timeout", true;
    if (n < r->min_samples || elapsed < r->min_seconds) return false;
    const double cv = dyvm_stats_of(x, n).cv;
    if (cv <= r->target_cv) return *why = "cv below target", true;
    if (r->window > 0 && n >= r->min_samples + r->window) {
        const double before = dyvm_stats_of(x, n - r->window).cv;
        if (fabs(cv - before) <= 0.01 * cv) return *why = "cv settled", true;
    }
    return false;
}
