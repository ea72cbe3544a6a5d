/* Sample statistics and the stopping rule of the timing loop (nvbench's discipline): at least a minimum
 * number of samples and of seconds, then stop once the relative spread has settled, capped by a timeout. */
#ifndef DYVM_STATS_H
#define DYVM_STATS_H

#include <stdbool.h>
#include <stddef.h>

typedef struct {
    size_t n;
    double median, p90, p99, min, max, mean, stddev, cv; /* cv = stddev / mean */
} dyvm_stats;

/* Percentile by linear interpolation between closest ranks (numpy's default), q in [0, 100]. */
double dyvm_percentile(const double *sorted, size_t n, double q);
/* Statistics of x (n >= 1; x is not modified). */
dyvm_stats dyvm_stats_of(const double *x, size_t n);

typedef struct {
    size_t min_samples;  /* never stop before this many */
    double min_seconds;  /* nor before this much measured time */
    double max_seconds;  /* stop after this much (the timeout), once there are 2 samples (or min_samples is 1) */
    double target_cv;    /* stop when the cv of the samples is below this... */
    size_t window;       /* ...or has changed by less than 1 % of itself over the last `window` samples */
    size_t max_samples;
} dyvm_stop_rule;

/* Whether to stop after the samples so far (elapsed: measured seconds in total). */
bool dyvm_should_stop(const dyvm_stop_rule *r, const double *x, size_t n, double elapsed, const char **why);

#endif
