/* The statistics of comparisons (bench/inference.h): correctness only, never speed. The Mann-Whitney
 * p-values are scipy's, computed once and written here (scipy is not needed to run this). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "inference.h"
#include "rng.h"

/* Whether idx[0..n) holds each of 0..n-1 exactly once. */
static int is_permutation(const size_t *idx, size_t n)
{
    unsigned char *seen = calloc(n + 1, 1);
    int ok = seen != NULL;
    for (size_t i = 0; ok && i < n; i++) {
        ok = idx[i] < n && !seen[idx[i]];
        if (ok) seen[idx[i]] = 1;
    }
    free(seen);
    return ok;
}

/* 0..n-1 shuffled from a seed into a fresh array (the caller frees it). */
static size_t *shuffled(size_t n, uint64_t seed)
{
    size_t *idx = malloc((n + 1) * sizeof *idx);
    for (size_t i = 0; i < n; i++) idx[i] = i;
    dyvm_shuffle(idx, n, seed);
    return idx;
}

/* Permutation for several n; the same seed gives the same order, another seed another. */
static void test_shuffle(void)
{
    const size_t ns[] = {0, 1, 2, 17, 1000};
    for (size_t t = 0; t < sizeof ns / sizeof *ns; t++) {
        size_t n = ns[t], *a = shuffled(n, 42), *b = shuffled(n, 42), *c = shuffled(n, 43);
        check(is_permutation(a, n), "shuffle n=%zu seed 42 is a permutation of 0..n-1", n);
        check(!memcmp(a, b, n * sizeof *a), "shuffle n=%zu: seed 42 twice gives the same order", n);
        if (n >= 17) check(memcmp(a, c, n * sizeof *a) != 0, "shuffle n=%zu: seeds 42 and 43 give different orders", n);
        free(a), free(b), free(c);
    }
}

/* numpy's median: the middle value, or the mean of the two middle ones; NAN for none. */
static void test_median(void)
{
    const double odd[] = {5, 1, 4, 2, 3}, even[] = {7, 1, 3, 10}, dup[] = {2, 2, 2, 1, 3, 2};
    check(dyvm_median(odd, 5) == 3.0, "median of 5 values = 3 (got %g)", dyvm_median(odd, 5));
    check(dyvm_median(even, 4) == 5.0, "median of 4 values = (3 + 7) / 2 (got %g)", dyvm_median(even, 4));
    check(dyvm_median(dup, 6) == 2.0, "median with repeated values = 2 (got %g)", dyvm_median(dup, 6));
    check(isnan(dyvm_median(odd, 0)), "median of no values is NAN");
    check(odd[0] == 5 && odd[4] == 3, "median leaves its input unchanged");
}

/* One timing-like sample: lognormal around mu with cv 3 %, and 1 in 20 an outlier 10-50 % slower. */
static double timing_sample(dyvm_rng *r, double mu)
{
    double v = mu * exp(0.03 * dyvm_rng_normal(r));
    if (dyvm_rng_uniform(r) < 0.05) v *= 1.1 + 0.4 * dyvm_rng_uniform(r);
    return v;
}

enum { ROUNDS = 3, PER_ROUND = 10, N = ROUNDS * PER_ROUND };
static const size_t round_n[ROUNDS] = {PER_ROUND, PER_ROUND, PER_ROUND};

/* Over 200 seeded trials, the fraction whose 95 % ratio interval (B / A, B = A's distribution times
 * shift) contains 1. */
static double fraction_covering_one(uint64_t seed0, double shift)
{
    int covers = 0;
    for (uint64_t t = 0; t < 200; t++) {
        double a[N], b[N];
        dyvm_rng r;
        dyvm_rng_seed(&r, seed0 + t);
        for (int i = 0; i < N; i++) a[i] = timing_sample(&r, 10.0), b[i] = timing_sample(&r, 10.0 * shift);
        const dyvm_sample_set sa = {a, N, round_n, ROUNDS}, sb = {b, N, round_n, ROUNDS};
        covers += dyvm_ci_contains_one(dyvm_ratio_ci(&sb, &sa, 0.95, 2000, seed0 + t));
    }
    return covers / 200.0;
}

/* The interval neither always covers (an always-huge interval would) nor misses a real 10 % change. */
static void test_ratio_coverage(void)
{
    const uint64_t same = 1000, shifted = 5000;
    const double f = fraction_covering_one(same, 1.0);
    check(f >= 0.85 && f <= 0.995, "same distribution, seeds %llu..%llu: the 95 %% interval covers 1 in %.3f of 200 "
          "trials (want [0.85, 0.995])", (unsigned long long)same, (unsigned long long)same + 199, f);
    const double g = fraction_covering_one(shifted, 1.10);
    check(1.0 - g >= 0.95, "10 %% shift, seeds %llu..%llu: the interval excludes 1 in %.3f of 200 trials (want >= 0.95)",
          (unsigned long long)shifted, (unsigned long long)shifted + 199, 1.0 - g);
}

/* Estimates, determinism, strata, the empty case, and the one-set interval. */
static void test_bootstrap_basics(void)
{
    double a[N], b[N];
    dyvm_rng r;
    dyvm_rng_seed(&r, 7);
    for (int i = 0; i < N; i++) a[i] = timing_sample(&r, 10.0), b[i] = timing_sample(&r, 12.0);
    const dyvm_sample_set sa = {a, N, round_n, ROUNDS}, sb = {b, N, round_n, ROUNDS}, one = {a, N, NULL, 0};
    const dyvm_interval x = dyvm_ratio_ci(&sb, &sa, 0.95, 2000, 3), y = dyvm_ratio_ci(&sb, &sa, 0.95, 2000, 3);
    const double est = dyvm_median(b, N) / dyvm_median(a, N);
    check(x.est == est, "ratio estimate is the plain ratio of medians (%.6f, want %.6f)", x.est, est);
    check(x.lo == y.lo && x.hi == y.hi, "ratio interval seed 3 twice: identical [%.6f, %.6f]", x.lo, x.hi);
    check(x.lo < est && est < x.hi && x.lo > 1.1 && x.hi < 1.3, "ratio interval [%.4f, %.4f] holds %.4f, near 1.2",
          x.lo, x.hi, est);
    const dyvm_interval m = dyvm_median_ci(&one, 0.95, 2000, 3);
    check(m.est == dyvm_median(a, N) && m.lo <= m.est && m.est <= m.hi && m.hi - m.lo < 1.0,
          "median interval (one stratum) [%.4f, %.4f] holds the median %.4f", m.lo, m.hi, m.est);
    /* a stratum of identical values never varies: stratified replicates keep each round's value */
    const double flat[6] = {1, 1, 1, 5, 5, 5};
    const size_t halves[2] = {3, 3};
    const dyvm_sample_set strat = {flat, 6, halves, 2}, pooled = {flat, 6, NULL, 0};
    const dyvm_interval s = dyvm_median_ci(&strat, 0.95, 500, 1), p = dyvm_median_ci(&pooled, 0.95, 500, 1);
    check(s.lo == 3.0 && s.hi == 3.0, "stratified bootstrap keeps the round sizes: [%g, %g] == [3, 3]", s.lo, s.hi);
    check(p.lo == 1.0 && p.hi == 5.0, "pooled bootstrap of the same values spans [%g, %g] == [1, 5]", p.lo, p.hi);
    const size_t short_rounds[2] = {2, 2}; /* add up to 4 of 6: not strata, one pooled set */
    const dyvm_sample_set bad = {flat, 6, short_rounds, 2};
    const dyvm_interval q = dyvm_median_ci(&bad, 0.95, 500, 1);
    check(q.lo == p.lo && q.hi == p.hi, "round sizes not adding up to n count as one stratum: [%g, %g]", q.lo, q.hi);
    /* rounds of one or two samples have no spread of their own: resampled as one pool, never a point */
    const double three[3] = {1, 5, 3};
    const size_t ones[3] = {1, 1, 1};
    const dyvm_sample_set tiny_rounds = {three, 3, ones, 3}, tiny_pool = {three, 3, NULL, 0};
    const dyvm_interval t1 = dyvm_median_ci(&tiny_rounds, 0.95, 500, 1), t2 = dyvm_median_ci(&tiny_pool, 0.95, 500, 1);
    check(t1.lo == t2.lo && t1.hi == t2.hi && t1.lo < t1.hi, "rounds of 1 sample are pooled: [%g, %g], not a point",
          t1.lo, t1.hi);
    const dyvm_sample_set empty = {a, 0, NULL, 0};
    const dyvm_interval e = dyvm_ratio_ci(&empty, &sa, 0.95, 100, 1);
    check(isnan(e.est) && isnan(e.lo) && isnan(e.hi), "ratio with an empty set is NAN");
}

/* Hand-checked order-statistic intervals. */
static void test_order_interval(void)
{
    const double five[] = {3, 1, 5, 2, 4};
    double cov;
    dyvm_interval ci = dyvm_median_order_interval(five, 5, 0.95, &cov);
    check(ci.lo == 1 && ci.hi == 5 && fabs(cov - 0.9375) < 1e-12 && ci.est == 3,
          "n=5: [min, max] = [%g, %g], coverage %.4f (want 0.9375)", ci.lo, ci.hi, cov);
    double twenty[20];
    for (int i = 0; i < 20; i++) twenty[i] = (double)((i * 7) % 20 + 1); /* 1..20 shuffled */
    ci = dyvm_median_order_interval(twenty, 20, 0.95, &cov);
    check(ci.lo == 6 && ci.hi == 15 && fabs(cov - 0.958610535) < 1e-8,
          "n=20: ranks [%g, %g] (want 6, 15), coverage %.6f (want 0.958611)", ci.lo, ci.hi, cov);
    ci = dyvm_median_order_interval(twenty, 0, 0.95, &cov);
    check(isnan(ci.lo) && cov == 0, "n=0: NAN interval");
}

/* Rounds at 10 and 12 ms disagree; rounds of one distribution do not. */
static void test_rounds_disagree(void)
{
    double x[N], y[N];
    dyvm_rng r;
    dyvm_rng_seed(&r, 11);
    for (int i = 0; i < N; i++) {
        x[i] = (i < PER_ROUND ? 10.0 : 12.0) * (1.0 + 0.005 * dyvm_rng_normal(&r));
        y[i] = 10.0 * (1.0 + 0.02 * dyvm_rng_normal(&r));
    }
    const dyvm_sample_set sx = {x, N, round_n, ROUNDS}, sy = {y, N, round_n, ROUNDS}, one = {x, N, NULL, 0};
    check(dyvm_rounds_disagree(&sx), "rounds at 10 ms and 12 ms (0.5 %% noise, seed 11) disagree");
    check(!dyvm_rounds_disagree(&sy), "rounds of one distribution (2 %% noise, seed 11) agree");
    check(!dyvm_rounds_disagree(&one), "one round never disagrees with itself");
}

typedef struct {
    const char *name;
    size_t na, nb;
    double a[45], b[45];
    double p;   /* scipy.stats.mannwhitneyu(a, b, method=exact or asymptotic, use_continuity=True).pvalue */
    int exact;
} mw_case;

/* scipy 1.17.1 (numpy 2.4.6): mannwhitneyu(a, b, method="exact" | "asymptotic", alternative="two-sided") */
static const mw_case mw_cases[] = {
    {"exact 3 vs 4", 3, 4, {10.12, 10.48, 9.87}, {10.95, 10.33, 11.02, 10.71}, 0.11428571428571428, 1},
    {"exact 5 vs 5", 5, 5, {9.615, 10.144, 9.849, 10.389, 9.739}, {10.819, 10.228, 10.279, 10.158, 10.252},
     0.095238095238095233, 1},
    {"exact 8 vs 10", 8, 10, {19.8293, 20.6188, 20.1595, 19.9618, 20.002, 19.5892, 21.1391, 20.0438},
     {21.2157, 20.5297, 21.27, 20.5026, 20.4355, 21.2625, 20.5368, 20.0079, 20.0021, 19.6643}, 0.14571049865167512, 1},
    {"exact complete separation 6 vs 7", 6, 7, {1.1, 1.2, 1.3, 1.4, 1.5, 1.6}, {2.1, 2.2, 2.3, 2.4, 2.5, 2.6, 2.7},
     0.0011655011655011655, 1},
    {"exact 20 vs 20", 20, 20,
     {48.912, 50.2785, 52.0366, 51.3664, 48.6932, 48.9799, 52.5741, 50.1536, 51.2759, 50.6388, 51.9295, 47.6903,
      52.675, 53.0333, 45.1201, 48.595, 47.2461, 50.8258, 50.8044, 49.3231},
     {51.2068, 50.4819, 52.1748, 51.412, 50.2238, 49.0423, 49.5584, 48.7897, 49.8437, 51.605, 51.0325, 48.7487,
      48.5397, 46.147, 49.1887, 51.3587, 50.3588, 51.4067, 51.0826, 52.8781},
     0.86198705929808128, 1},
    {"exact 9 vs 4, a larger", 9, 4, {4.9157, 4.9051, 5.0991, 4.9344, 4.9817, 4.8776, 5.3814, 4.8036, 4.8925},
     {4.6325, 4.7977, 4.7217, 4.8309}, 0.0055944055944055944, 1},
    {"asymptotic ties 7 vs 9", 7, 9, {10.1, 10.2, 10.2, 10.3, 10.5, 10.5, 10.7},
     {10.2, 10.4, 10.5, 10.6, 10.6, 10.8, 10.9, 10.9, 11.0}, 0.042751829446651936, 0},
    {"asymptotic no ties 25 vs 30", 25, 30,
     {27.9468, 30.405, 31.1017, 29.2264, 31.1861, 30.1709, 30.985, 30.7468, 29.8159, 31.8747, 30.2481, 29.5878,
      29.3457, 30.905, 29.591, 29.7833, 30.0758, 30.3218, 29.621, 31.1581, 28.348, 30.9053, 30.2857, 31.1883, 29.9789},
     {31.1745, 29.8445, 31.9457, 28.2675, 30.437, 30.244, 30.9408, 29.0338, 29.7305, 30.8722, 30.0989, 30.9783,
      29.6142, 31.5823, 29.767, 29.0202, 31.8657, 30.9438, 31.2457, 31.2074, 30.2059, 28.6703, 29.4105, 27.6299,
      31.43, 30.5093, 30.1074, 29.8606, 31.2719, 32.2694},
     0.48300473986525083, 0},
    {"asymptotic ties 40 vs 45", 40, 45,
     {11.8, 12.9, 11.8, 11.6, 12.2, 11.8, 11.8, 11.9, 12.4, 12.1, 12.1, 12.0, 11.8, 12.5, 12.5, 12.4, 11.8, 12.0, 11.9,
      11.7, 11.9, 12.5, 12.1, 12.3, 12.2, 12.4, 12.2, 11.9, 12.2, 12.1, 11.9, 11.2, 11.9, 11.7, 12.0, 12.2, 12.3, 12.0,
      11.3, 12.3},
     {12.3, 12.2, 12.1, 12.1, 12.5, 12.1, 11.6, 11.9, 12.3, 12.6, 11.5, 12.0, 12.1, 12.2, 12.6, 12.6, 12.3, 12.7, 12.0,
      12.2, 12.4, 12.2, 12.0, 12.0, 12.7, 12.4, 12.2, 12.1, 12.0, 11.9, 12.1, 12.1, 12.1, 11.8, 13.2, 11.9, 12.4, 11.6,
      12.6, 12.7, 12.7, 12.3, 12.7, 12.4, 12.0},
     0.011850062234533628, 0},
    {"asymptotic no ties 21 vs 20 (n > 40)", 21, 20,
     {8.11023, 8.07633, 7.96596, 8.22809, 7.98017, 7.87967, 8.03489, 8.07742, 7.94609, 7.69403, 7.78865, 8.02531,
      7.46801, 8.1876, 7.71519, 7.89834, 7.78667, 7.94593, 7.78504, 8.19452, 7.99029},
     {8.24069, 8.03532, 7.76525, 7.86716, 8.35744, 8.07333, 8.13045, 8.12634, 7.77986, 7.98599, 8.00351, 8.37118,
      8.24347, 7.93504, 8.05483, 7.92393, 8.39561, 8.20158, 8.04507, 8.23519},
     0.027529179906742321, 0},
};

/* p-values against scipy's; identical samples give 1; an empty sample gives 1. */
static void test_mann_whitney(void)
{
    for (size_t i = 0; i < sizeof mw_cases / sizeof *mw_cases; i++) {
        const mw_case *c = &mw_cases[i];
        const double p = dyvm_mann_whitney_p(c->a, c->na, c->b, c->nb), tol = c->exact ? 1e-9 : 1e-6;
        check(fabs(p - c->p) <= tol * c->p, "Mann-Whitney %s: p = %.17g, scipy %.17g (rel tol %g)", c->name, p, c->p,
              tol);
    }
    const mw_case *c = &mw_cases[7];
    check(dyvm_mann_whitney_p(c->a, c->na, c->a, c->na) == 1.0, "Mann-Whitney of a sample against itself: p = 1");
    check(dyvm_mann_whitney_p(c->a, 0, c->b, c->nb) == 1.0, "Mann-Whitney with an empty sample: p = 1");
    const double same[3] = {2, 2, 2};
    check(dyvm_mann_whitney_p(same, 3, same, 2) == 1.0, "Mann-Whitney with every value tied: p = 1");
}

/* The printed form, with and without "~". */
static void test_format(void)
{
    char buf[64];
    const struct { dyvm_interval ci; int digits; const char *want; } cases[] = {
        {{1.52, 1.49, 1.55}, 2, "1.52× [1.49, 1.55]"},
        {{1.02, 0.97, 1.06}, 2, "~ 1.02× [0.97, 1.06]"},
        {{0.8, 0.75, 0.85}, 3, "0.800× [0.750, 0.850]"},
        {{1.0, 1.0, 1.0}, 2, "~ 1.00× [1.00, 1.00]"},
        {{1.1, NAN, NAN}, 2, "~ 1.10× [nan, nan]"},
        {{NAN, NAN, NAN}, 2, "n/a"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        dyvm_format_ratio(buf, sizeof buf, cases[i].ci, cases[i].digits);
        check(!strcmp(buf, cases[i].want), "format_ratio \"%s\" (want \"%s\")", buf, cases[i].want);
    }
    dyvm_interval excl = {1.2, 1.1, 1.3}, incl = {1.0, 0.9, 1.1}, nan = {1.0, NAN, 1.2};
    check(!dyvm_ci_contains_one(excl) && dyvm_ci_contains_one(incl) && dyvm_ci_contains_one(nan),
          "ci_contains_one: [1.1, 1.3] no, [0.9, 1.1] yes, NAN bound yes");
}

int main(void)
{
    test_shuffle();
    test_median();
    test_bootstrap_basics();
    test_ratio_coverage();
    test_order_interval();
    test_rounds_disagree();
    test_mann_whitney();
    test_format();
    return check_summary();
}
