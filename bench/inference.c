/* The statistics of comparisons: seeded shuffles, medians by selection, the stratified percentile bootstrap
 * of a median and of a ratio of medians, order-statistic intervals of a median, and the Mann-Whitney U
 * test (exact by counting, or the normal approximation as scipy computes it). */
#include "inference.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rng.h"
#include "stats.h"

/* A uniform index in [0, m) from the generator (53-bit uniform scaled; m is far below 2^53 here). */
static size_t rng_index(dyvm_rng *r, size_t m)
{
    size_t j = (size_t)(dyvm_rng_uniform(r) * (double)m);
    return j < m ? j : m - 1;
}

/* Fisher-Yates from the last position down, each swap partner drawn from the seeded generator. */
void dyvm_shuffle(size_t *idx, size_t n, uint64_t seed)
{
    dyvm_rng r;
    dyvm_rng_seed(&r, seed);
    for (size_t i = n; i > 1; i--) {
        size_t j = rng_index(&r, i), t = idx[i - 1];
        idx[i - 1] = idx[j], idx[j] = t;
    }
}

/* The median of three values: the pivot of the selection below. */
static double median3(double a, double b, double c)
{
    if (a > b) { double t = a; a = b; b = t; }
    if (b > c) b = c;
    return a > b ? a : b;
}

/* The k-th smallest of a[0..n) (0-based), rearranging a so that a[0..k) <= a[k] <= a[k+1..n). Three-way
 * partitions, so that the many repeated values of bootstrap replicates cost no more than distinct ones. */
static double select_kth(double *a, size_t n, size_t k)
{
    size_t lo = 0, hi = n;
    while (hi - lo > 1) {
        const double p = median3(a[lo], a[lo + (hi - lo) / 2], a[hi - 1]);
        size_t lt = lo, i = lo, gt = hi; /* [lo, lt) < p, [lt, i) == p, [gt, hi) > p */
        while (i < gt) {
            const double v = a[i];
            if (v < p) a[i++] = a[lt], a[lt++] = v;
            else if (v > p) a[i] = a[--gt], a[gt] = v;
            else i++;
        }
        if (k < lt) hi = lt;
        else if (k >= gt) lo = gt;
        else return p;
    }
    return a[k];
}

/* Median of a scratch buffer (rearranged), numpy's interpolation: the mean of the two middle values. */
static double median_inplace(double *a, size_t n)
{
    if (n == 0) return NAN;
    const size_t k = n / 2;
    const double upper = select_kth(a, n, k);
    if (n % 2) return upper;
    double lower = a[0]; /* after the selection a[0..k) <= upper: the lower middle is their maximum */
    for (size_t i = 1; i < k; i++) lower = a[i] > lower ? a[i] : lower;
    return 0.5 * (lower + upper);
}

/* The median of a scratch copy, by selection (O(n)). */
double dyvm_median(const double *x, size_t n)
{
    if (n == 0) return NAN;
    double *s = malloc(n * sizeof *s);
    if (!s) return NAN;
    memcpy(s, x, n * sizeof *s);
    const double m = median_inplace(s, n);
    free(s);
    return m;
}

/* Whether a set's round sizes are usable strata: present and adding up to n. */
static bool has_rounds(const dyvm_sample_set *s)
{
    if (!s->round_n || s->rounds == 0) return false;
    size_t sum = 0;
    for (size_t r = 0; r < s->rounds; r++) sum += s->round_n[r];
    return sum == s->n;
}

/* Whether to resample within rounds: only when every round has at least 3 samples. A round of one or two
 * samples resampled within itself has (almost) no spread, so stratifying would shrink the interval to a
 * point; such sets are resampled as one pool, which keeps the round-to-round spread in the interval. */
#define MIN_STRATUM 3
static bool stratify(const dyvm_sample_set *s)
{
    if (!has_rounds(s)) return false;
    for (size_t r = 0; r < s->rounds; r++)
        if (s->round_n[r] < MIN_STRATUM) return false;
    return true;
}

/* A set ready for resampling: its values sorted once, each sample's rank among them, and a count per
 * rank. A replicate then only counts how often each rank is drawn and walks the counts to the middle:
 * O(n) per replicate with no data-dependent branches in the draws (a selection per replicate mispredicts
 * about every other comparison and was several times slower). */
typedef struct {
    const dyvm_sample_set *s;
    double *sorted;
    size_t *rank;
    uint32_t *count;
} prepared_set;

/* Ascending order of doubles, for qsort. */
static int cmp_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* One value and where it sits in its set, to sort and learn every sample's rank. */
typedef struct { double v; size_t at; } indexed;

static int cmp_indexed(const void *a, const void *b)
{
    const indexed *x = a, *y = b;
    return (x->v > y->v) - (x->v < y->v);
}

/* Sorts the set once and records each sample's rank; false when out of memory. */
static bool prepare(prepared_set *p, const dyvm_sample_set *s)
{
    const size_t n = s->n;
    p->s = s;
    p->sorted = malloc(n * sizeof *p->sorted), p->rank = malloc(n * sizeof *p->rank);
    p->count = malloc(n * sizeof *p->count);
    indexed *t = malloc(n * sizeof *t);
    const bool ok = p->sorted && p->rank && p->count && t;
    if (ok) {
        for (size_t i = 0; i < n; i++) t[i] = (indexed){s->x[i], i};
        qsort(t, n, sizeof *t, cmp_indexed);
        for (size_t i = 0; i < n; i++) p->sorted[i] = t[i].v, p->rank[t[i].at] = i;
    }
    free(t);
    return ok;
}

/* Frees what prepare allocated (safe on a zeroed or half-prepared set). */
static void release(prepared_set *p)
{
    free(p->sorted), free(p->rank), free(p->count);
}

/* One bootstrap replicate's median: each round resampled with replacement within itself (its size kept),
 * counted by rank, then the middle one or two values read off the cumulative counts (numpy's median). */
static double resampled_median(prepared_set *p, dyvm_rng *r)
{
    const dyvm_sample_set *s = p->s;
    const bool strat = stratify(s);
    const size_t rounds = strat ? s->rounds : 1, n = s->n;
    memset(p->count, 0, n * sizeof *p->count);
    size_t off = 0;
    for (size_t k = 0; k < rounds; k++) {
        const size_t m = strat ? s->round_n[k] : n;
        for (size_t j = 0; j < m; j++) p->count[p->rank[off + rng_index(r, m)]]++;
        off += m;
    }
    const size_t k1 = (n - 1) / 2, k2 = n / 2; /* 0-based positions of the middle value(s) */
    size_t cum = 0, i = 0;
    while ((cum += p->count[i]) <= k1) i++;
    const double lower = p->sorted[i];
    while (cum <= k2) cum += p->count[++i];
    return 0.5 * (lower + p->sorted[i]);
}

/* The percentile interval of reps replicates (sorted here): their (1-level)/2 and (1+level)/2 quantiles. */
static void percentile_interval(double *rep, size_t reps, double level, dyvm_interval *ci)
{
    qsort(rep, reps, sizeof *rep, cmp_double);
    ci->lo = dyvm_percentile(rep, reps, 100.0 * (1.0 - level) / 2.0);
    ci->hi = dyvm_percentile(rep, reps, 100.0 * (1.0 + level) / 2.0);
}

/* The bootstrap both intervals share: replicates of median(num) / median(den), or of median(num) alone
 * when den is NULL. */
static dyvm_interval bootstrap(const dyvm_sample_set *num, const dyvm_sample_set *den, double level, size_t reps,
                               uint64_t seed)
{
    dyvm_interval ci = {NAN, NAN, NAN};
    if (num->n == 0 || (den && den->n == 0)) return ci;
    ci.est = dyvm_median(num->x, num->n) / (den ? dyvm_median(den->x, den->n) : 1.0);
    if (reps == 0) return ci;
    prepared_set pn = {0}, pd = {0};
    double *rep = malloc(reps * sizeof *rep);
    if (rep && prepare(&pn, num) && (!den || prepare(&pd, den))) {
        dyvm_rng r;
        dyvm_rng_seed(&r, seed);
        for (size_t i = 0; i < reps; i++) {
            const double a = resampled_median(&pn, &r);
            rep[i] = den ? a / resampled_median(&pd, &r) : a;
        }
        percentile_interval(rep, reps, level, &ci);
    }
    release(&pn), release(&pd);
    free(rep);
    return ci;
}

/* Bootstrap of median(num) / median(den) (inference.h). */
dyvm_interval dyvm_ratio_ci(const dyvm_sample_set *num, const dyvm_sample_set *den, double level, size_t reps,
                            uint64_t seed)
{
    return bootstrap(num, den, level, reps, seed);
}

/* Bootstrap of median(s) (inference.h). */
dyvm_interval dyvm_median_ci(const dyvm_sample_set *s, double level, size_t reps, uint64_t seed)
{
    return bootstrap(s, NULL, level, reps, seed);
}

/* P(B = j) for B ~ Binomial(n, 1/2), in logs so that large n does not underflow. */
static double binom_half_pmf(size_t n, size_t j)
{
    return exp(lgamma((double)n + 1.0) - lgamma((double)j + 1.0) - lgamma((double)(n - j) + 1.0) -
               (double)n * log(2.0));
}

/* Order-statistic interval of the median (inference.h): sorted copy, binomial coverage. */
dyvm_interval dyvm_median_order_interval(const double *x, size_t n, double level, double *coverage)
{
    dyvm_interval ci = {NAN, NAN, NAN};
    double *s = n ? malloc(n * sizeof *s) : NULL;
    if (coverage) *coverage = 0;
    if (!s) return ci;
    memcpy(s, x, n * sizeof *s);
    qsort(s, n, sizeof *s, cmp_double);
    ci.est = dyvm_percentile(s, n, 50);
    /* [x_(k), x_(n+1-k)] (1-based) covers the median with probability 1 - 2 P(B <= k-1); it shrinks as k
     * grows, so take the largest k that still reaches the level, else k = 1 (min, max). */
    double cdf = binom_half_pmf(n, 0), cov = 1.0 - 2.0 * cdf;
    size_t k = 1;
    for (size_t c = 2; 2 * c <= n + 1; c++) {
        cdf += binom_half_pmf(n, c - 1);
        if (1.0 - 2.0 * cdf < level) break;
        k = c, cov = 1.0 - 2.0 * cdf;
    }
    ci.lo = s[k - 1], ci.hi = s[n - k];
    if (coverage) *coverage = cov;
    free(s);
    return ci;
}

/* Some two rounds disagree when the largest lower bound of their intervals exceeds the smallest upper one. */
bool dyvm_rounds_disagree(const dyvm_sample_set *s)
{
    if (!has_rounds(s)) return false;
    double max_lo = -INFINITY, min_hi = INFINITY;
    size_t off = 0;
    for (size_t r = 0; r < s->rounds; off += s->round_n[r], r++) {
        if (s->round_n[r] == 0) continue;
        const dyvm_interval ci = dyvm_median_order_interval(s->x + off, s->round_n[r], 0.95, NULL);
        max_lo = ci.lo > max_lo ? ci.lo : max_lo;
        min_hi = ci.hi < min_hi ? ci.hi : min_hi;
    }
    return max_lo > min_hi;
}

/* One value of the pooled sample and which side it came from, for ranking. */
typedef struct { double v; int from_a; } pooled;

/* Ascending order of pooled values, for qsort. */
static int cmp_pooled(const void *a, const void *b)
{
    const double x = ((const pooled *)a)->v, y = ((const pooled *)b)->v;
    return (x > y) - (x < y);
}

/* Exact two-sided p of U >= u (u = the larger of U1, U2): count the subsets of na of the ranks 1..N by
 * their rank sum, c[k][s] = ways to pick k of the ranks seen so far summing to s (all counts below
 * C(40, 20) < 2^38, exact in uint64). */
static double exact_p(size_t na, size_t nb, double u)
{
    const size_t N = na + nb, smax = N * (N + 1) / 2, w = smax + 1;
    uint64_t *c = calloc((na + 1) * w, sizeof *c);
    if (!c) return NAN;
    c[0] = 1;
    for (size_t r = 1; r <= N; r++)
        for (size_t k = r < na ? r : na; k >= 1; k--)
            for (size_t s = smax; s >= r; s--) c[k * w + s] += c[(k - 1) * w + s - r];
    const size_t base = na * (na + 1) / 2;
    double tail = 0, total = 0;
    for (size_t s = base; s <= smax; s++) {
        const double cnt = (double)c[na * w + s];
        total += cnt;
        if ((double)(s - base) >= u) tail += cnt;
    }
    free(c);
    const double p = 2.0 * tail / total;
    return p < 1.0 ? p : 1.0;
}

/* Normal approximation with the tie correction and the continuity correction (scipy's asymptotic method). */
static double asymptotic_p(size_t na, size_t nb, double u, double tie_term)
{
    const double n1 = (double)na, n2 = (double)nb, n = n1 + n2;
    const double var = n1 * n2 / 12.0 * ((n + 1.0) - tie_term / (n * (n - 1.0)));
    if (!(var > 0)) return 1.0; /* every value tied: nothing to tell apart */
    const double z = (u - n1 * n2 / 2.0 - 0.5) / sqrt(var);
    const double p = erfc(z / sqrt(2.0)); /* 2 * P(Z > z) */
    return p < 1.0 ? p : 1.0;
}

/* Ranks of the pooled samples (average ranks over ties), U of a, then the exact or the normal p. */
double dyvm_mann_whitney_p(const double *a, size_t na, const double *b, size_t nb)
{
    if (na == 0 || nb == 0) return 1.0;
    const size_t N = na + nb;
    pooled *p = malloc(N * sizeof *p);
    if (!p) return NAN;
    for (size_t i = 0; i < na; i++) p[i] = (pooled){a[i], 1};
    for (size_t i = 0; i < nb; i++) p[na + i] = (pooled){b[i], 0};
    qsort(p, N, sizeof *p, cmp_pooled);
    double r1 = 0, tie_term = 0; /* rank sum of a (average ranks over ties), sum of t^3 - t over tie groups */
    for (size_t i = 0, j; i < N; i = j) {
        for (j = i + 1; j < N && p[j].v == p[i].v; j++) {}
        const double t = (double)(j - i), rank = 0.5 * (double)(i + 1 + j); /* mean of ranks i+1..j */
        tie_term += t * t * t - t;
        for (size_t k = i; k < j; k++) r1 += p[k].from_a ? rank : 0.0;
    }
    free(p);
    const double u1 = r1 - (double)na * ((double)na + 1.0) / 2.0, u2 = (double)na * (double)nb - u1;
    const double u = u1 > u2 ? u1 : u2;
    return tie_term == 0 && N <= 40 ? exact_p(na, nb, u) : asymptotic_p(na, nb, u, tie_term);
}

/* Whether 1 lies in [lo, hi]; an unknown bound cannot rule it out. */
bool dyvm_ci_contains_one(dyvm_interval ci)
{
    if (isnan(ci.lo) || isnan(ci.hi)) return true;
    return ci.lo <= 1.0 && ci.hi >= 1.0;
}

/* "1.52× [1.49, 1.55]", prefixed "~ " when the interval contains 1. */
void dyvm_format_ratio(char *buf, size_t len, dyvm_interval ci, int digits)
{
    if (len == 0) return;
    if (isnan(ci.est)) {
        snprintf(buf, len, "n/a");
        return;
    }
    snprintf(buf, len, "%s%.*f× [%.*f, %.*f]", dyvm_ci_contains_one(ci) ? "~ " : "", digits, ci.est, digits, ci.lo,
             digits, ci.hi);
}
