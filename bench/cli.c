#include "cli.h"

#include <errno.h>
#include <math.h>
#include <omp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backend.h"
#include "config.h"
#include "cuda_backend.h"

void openblas_set_num_threads(int n); /* OpenBLAS's own; cblas.h also declares it, not every variant does */

int cli_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("dyvm: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return 2;
}

int cli_int(const char *flag, const char *s, int64_t lo, int64_t hi, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return cli_fail("%s: \"%s\" is not an integer in %lld..%lld", flag, s, (long long)lo, (long long)hi), -1;
    *out = v;
    return 0;
}

int cli_double(const char *flag, const char *s, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= lo && v <= hi))
        return cli_fail("%s: \"%s\" is not a number in [%g, %g]", flag, s, lo, hi), -1;
    *out = v;
    return 0;
}

int cli_u64(const char *flag, const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-')
        return cli_fail("%s: \"%s\" is not a non-negative integer", flag, s), -1;
    *out = v;
    return 0;
}

const char *cli_value(int argc, char **argv, int *i)
{
    if (*i + 1 >= argc) {
        cli_fail("%s needs a value", argv[*i]);
        return NULL;
    }
    return argv[++*i];
}

int cli_model(const char *weights_path, const char *preset, uint64_t weights_seed, dyvm_weights *w)
{
    char err[CLI_ERR];
    if (weights_path && preset) return cli_fail("give --weights or --preset, not both"), -1;
    if (weights_path) {
        if (dyvm_weights_load(w, weights_path, err, sizeof err)) return cli_fail("%s", err), -1;
        return 0;
    }
    dyvm_config cfg;
    if (dyvm_config_preset(preset ? preset : "vim-t", &cfg, err, sizeof err) ||
        dyvm_weights_init(w, &cfg, weights_seed, err, sizeof err))
        return cli_fail("%s", err), -1;
    return 0;
}

void cli_threads(int64_t n)
{
    if (n <= 0) return;
    omp_set_num_threads((int)n);
    openblas_set_num_threads((int)n);
}

int cli_thread_count(void) { return omp_get_max_threads(); }

double cli_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

dyvm_backend *cli_backend(const char *name, const char *precision, const dyvm_weights *w)
{
    char err[CLI_ERR];
    const int tf32 = precision && !strcmp(precision, "tf32");
    if (precision && strcmp(precision, "fp32") && !tf32) return cli_fail("--precision: \"%s\" is not fp32 or tf32", precision), NULL;
    if (!strcmp(name, "cpu")) {
        if (tf32) return cli_fail("--precision tf32 applies to the cuda backend only"), NULL;
        dyvm_backend *be = dyvm_cpu_backend(w);
        if (!be) cli_fail("out of memory");
        return be;
    }
    if (strcmp(name, "cuda") != 0) return cli_fail("--backend: \"%s\" is not cpu or cuda", name), NULL;
    dyvm_backend *be = dyvm_cuda_backend(w, tf32, err, sizeof err);
    if (!be) cli_fail("%s", err);
    return be;
}
