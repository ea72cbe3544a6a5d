/* The statistics of comparisons (Go's benchstat habit): a change is a distribution against a distribution,
 * told by a bootstrap interval of the ratio of medians and a Mann-Whitney U test; nothing counts as faster
 * on the strength of one median. Every random draw comes from an explicit seed (reference/rng.h). */
#ifndef DYVM_INFERENCE_H
#define DYVM_INFERENCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct { double est, lo, hi; } dyvm_interval; /* a point estimate and its interval */

/* A set of timing samples, optionally split into consecutive rounds: x[0..round_n[0]) is round 0, and so on.
 * rounds == 0 (round_n NULL) means one stratum. Round sizes that do not add up to n also mean one stratum. */
typedef struct { const double *x; size_t n; const size_t *round_n; size_t rounds; } dyvm_sample_set;

/* Deterministic Fisher-Yates shuffle of idx[0..n) (callers fill it, e.g. 0..n-1) from a seed. */
void dyvm_shuffle(size_t *idx, size_t n, uint64_t seed);
/* Median of n values (not modified); NAN when n == 0. Same interpolation as numpy (mean of the two middle
 * values). */
double dyvm_median(const double *x, size_t n);
/* Percentile bootstrap interval (level e.g. 0.95, reps e.g. 2000, seeded) of median(num) / median(den).
 * Stratified: each replicate resamples with replacement within each round of each set, keeping the round
 * sizes; a set with a round of fewer than 3 samples is resampled as one pool instead (a round of one sample
 * has no spread to resample). est is the plain ratio of the two medians. With n == 0 in either set (or reps == 0): all NAN. */
dyvm_interval dyvm_ratio_ci(const dyvm_sample_set *num, const dyvm_sample_set *den, double level, size_t reps,
                            uint64_t seed);
/* The same bootstrap for the median of one set (for throughput intervals). */
dyvm_interval dyvm_median_ci(const dyvm_sample_set *s, double level, size_t reps, uint64_t seed);
/* Distribution-free interval of the median of one round from order statistics (binomial): the narrowest
 * symmetric pair of order statistics whose coverage is >= level; when n is too small to reach the level,
 * [min, max]. *coverage gets the achieved coverage (may be NULL). n == 0: all NAN, coverage 0. */
dyvm_interval dyvm_median_order_interval(const double *x, size_t n, double level, double *coverage);
/* Whether some two rounds of a set disagree: their order-statistic intervals (level 0.95) do not overlap. */
bool dyvm_rounds_disagree(const dyvm_sample_set *s);
/* Two-sided Mann-Whitney U test p-value of samples a and b. Exact distribution when there are no ties and
 * na + nb <= 40 (as scipy.stats.mannwhitneyu method="exact"); otherwise the normal approximation with tie
 * correction and continuity correction (scipy method="asymptotic", use_continuity=True). 1.0 when either
 * is empty. */
double dyvm_mann_whitney_p(const double *a, size_t na, const double *b, size_t nb);
/* Whether an interval contains 1 (no measurable difference); NAN bounds count as containing it. */
bool dyvm_ci_contains_one(dyvm_interval ci);
/* "1.52× [1.49, 1.55]" or, when the interval contains 1, "~ 1.02× [0.97, 1.06]"; digits: decimals (2 usual).
 * A NAN estimate prints "n/a". */
void dyvm_format_ratio(char *buf, size_t len, dyvm_interval ci, int digits);

#endif
