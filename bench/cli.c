#include "cli.h"

#include "cpu_isa.h"

#include <cjson/cJSON.h>

#include <errno.h>
#include <math.h>
#include <omp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "backend.h"
#include "config.h"
#include "cuda_backend.h"
#include "memplan.h"
#include "rng.h"

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

/* The flags seen so far in this process's one command line: a flag given twice is refused, never the last
 * value silently taken. */
static const char *seen[256];
static int n_seen;

int cli_once(const char *flag)
{
    for (int i = 0; i < n_seen; i++)
        if (!strcmp(seen[i], flag)) return cli_fail("%s is given twice", flag), -1;
    if (n_seen < (int)(sizeof seen / sizeof seen[0])) seen[n_seen++] = flag;
    return 0;
}

int cli_parse_format(const char *v, cli_format *out)
{
    static const char *const names[] = {"md", "csv", "json", "jsonl"};
    for (int i = 0; i < 4; i++)
        if (!strcmp(v, names[i])) return *out = (cli_format)i, 0;
    return cli_fail("--format: \"%s\" is not md, csv, json or jsonl", v), -1;
}

void cli_print_json(const cJSON *j, cli_format f)
{
    char *txt = f == CLI_FMT_JSONL ? cJSON_PrintUnformatted(j) : cJSON_Print(j);
    if (txt) puts(txt);
    free(txt);
}

char *cli_read_text(const char *path, size_t max, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    for (size_t got; buf && (got = fread(buf + n, 1, cap - n - 1, f)) > 0;) {
        const bool nul = memchr(buf + n, 0, got) != NULL;
        n += got;
        if (nul || n > max) break;
        if (cap - n - 1 == 0) {
            char *more = realloc(buf, cap * 2);
            if (!more) free(buf);
            buf = more, cap *= 2;
        }
    }
    const bool bad = ferror(f);
    fclose(f);
    if (!buf || bad) return free(buf), NULL;
    buf[n] = 0, *len = n;
    return buf;
}

const char *const cli_shared_flags[] = {"--weights", "--preset", "--variant", "--block-policy", "--backend",
                                        "--precision", "--token-policy", "--token-ratio", "--batch", "--seed",
                                        "--weights-seed", "--threads", "--isa", "--scan", "--img-size", NULL};

static bool in_list(const char *a, const char *const *list)
{
    for (; list && *list; list++)
        if (!strcmp(a, *list)) return true;
    return false;
}

const char *cli_value(int argc, char **argv, int *i, const char *cmd, const char *const *own, const char *const *more)
{
    const char *a = argv[*i];
    if (strncmp(a, "--", 2) != 0)
        return cli_fail("%s: unexpected argument \"%s\" (see dyvm %s --help)", cmd, a, cmd), NULL;
    if ((own || more) && !in_list(a, own) && !in_list(a, more))
        return cli_fail("%s: unknown option \"%s\" (see dyvm %s --help)", cmd, a, cmd), NULL;
    if (*i + 1 >= argc) {
        cli_fail("%s needs a value", argv[*i]);
        return NULL;
    }
    if (cli_once(argv[*i])) return NULL;
    return argv[++*i];
}

int cli_preset_config(const char *preset, int64_t img, dyvm_config *c, char *err, size_t errlen)
{
    if (dyvm_config_preset(preset, c, err, errlen)) return -1;
    if (img && dyvm_config_set_img_size(c, img, err, errlen)) {
        char why[CLI_ERR];
        snprintf(why, sizeof why, "%s", err);
        snprintf(err, errlen, "--img-size: %s", why);
        return -1;
    }
    return 0;
}

int cli_model(const char *weights_path, const char *preset, uint64_t weights_seed, int64_t img, dyvm_weights *w)
{
    char err[CLI_ERR];
    if (weights_path && preset) return cli_fail("give --weights or --preset, not both"), -1;
    if (weights_path) {
        if (dyvm_weights_load(w, weights_path, err, sizeof err)) return cli_fail("%s", err), -1;
        if (img && dyvm_weights_resize(w, img, err, sizeof err)) return dyvm_weights_free(w), cli_fail("--img-size: %s", err), -1;
        return 0;
    }
    dyvm_config cfg;
    if (cli_preset_config(preset ? preset : "vim-t", img, &cfg, err, sizeof err) ||
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

/* --scan: the CUDA scan kernel of every backend this process makes (like --isa for the CPU kernels) */
static int cuda_scan = 1;

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
    const dyvm_cuda_opts opts = {.tf32 = tf32, .scan = cuda_scan};
    dyvm_backend *be = dyvm_cuda_backend(w, &opts, err, sizeof err);
    if (!be) cli_fail("%s", err);
    return be;
}

void cli_shared_init(cli_shared *c, const char *variant)
{
    *c = (cli_shared){.variant = variant, .block_policy = "learned", .backend = "cpu", .weights_seed = 1, .batch = 1};
    c->opts.token = TOKEN_LEARNED;
}

int cli_shared_flag(cli_shared *c, const char *a, const char *v)
{
    const char **s = !strcmp(a, "--weights")        ? &c->weights
                     : !strcmp(a, "--preset")       ? &c->preset
                     : !strcmp(a, "--variant")      ? &c->variant
                     : !strcmp(a, "--block-policy") ? &c->block_policy
                     : !strcmp(a, "--backend")      ? &c->backend
                     : !strcmp(a, "--precision")    ? &c->precision
                     : !strcmp(a, "--isa")          ? &c->isa
                     : !strcmp(a, "--scan")         ? &c->scan
                                                    : NULL;
    if (s) {
        c->have_block_policy |= s == &c->block_policy;
        return *s = v, 1;
    }
    c->have_token |= !strcmp(a, "--token-policy") || !strcmp(a, "--token-ratio");
    if (!strcmp(a, "--token-policy")) {
        if (dyvm_parse_token_policy(v, &c->opts.token)) return cli_fail("--token-policy: \"%s\" is not learned or even", v), -1;
    } else if (!strcmp(a, "--token-ratio")) {
        if (cli_double(a, v, 1e-9, 1.0, &c->opts.token_ratio)) return -1;
    } else if (!strcmp(a, "--batch")) {
        if (cli_int(a, v, 1, 1 << 20, &c->batch)) return -1;
        c->have_batch = true;
    } else if (!strcmp(a, "--seed")) {
        if (cli_u64(a, v, &c->seed)) return -1;
        c->have_seed = true;
    } else if (!strcmp(a, "--weights-seed")) {
        if (cli_u64(a, v, &c->weights_seed)) return -1;
    } else if (!strcmp(a, "--threads")) {
        if (cli_int(a, v, 1, 1024, &c->threads)) return -1;
    } else if (!strcmp(a, "--img-size")) {
        if (cli_int(a, v, 1, 16384, &c->img_size)) return -1;
    } else
        return 0;
    return 1;
}

int cli_shared_finish(cli_shared *c, const char *cmd)
{
    char err[CLI_ERR];
    if (!c->variant) return cli_fail("%s: --variant vim|token|block|dyvm is required", cmd);
    if (dyvm_parse_variant(c->variant, &c->opts.variant))
        return cli_fail("--variant: \"%s\" is not vim, token, block or dyvm", c->variant);
    if (strcmp(c->backend, "cpu") && strcmp(c->backend, "cuda"))
        return cli_fail("--backend: \"%s\" is not cpu or cuda", c->backend);
    if (c->precision && strcmp(c->precision, "fp32") && strcmp(c->precision, "tf32"))
        return cli_fail("--precision: \"%s\" is not fp32 or tf32", c->precision);
    if (c->precision && !strcmp(c->precision, "tf32") && !strcmp(c->backend, "cpu"))
        return cli_fail("--precision tf32 applies to the cuda backend only");
    c->opts.block.seed = c->seed; /* ratio:R draws from the input seed */
    if (dyvm_parse_block_policy(c->block_policy, &c->opts.block, err, sizeof err)) return cli_fail("--block-policy: %s", err);
    /* a policy the variant would ignore is a mistake to say, not to guess past */
    if (c->have_block_policy && !dyvm_variant_selects(c->opts.variant))
        return cli_fail("--block-policy applies to the block and dyvm variants, not %s", c->variant);
    if (c->have_token && !dyvm_variant_prunes(c->opts.variant))
        return cli_fail("--token-policy and --token-ratio apply to the token and dyvm variants, not %s", c->variant);
    if (c->isa) { /* before any forward: the CPU kernels of the ISA named (cpu_isa.h) */
        if (strcmp(c->backend, "cpu")) return cli_fail("--isa chooses the CPU kernels; it does not apply to --backend %s", c->backend);
        if (dyvm_isa_select(c->isa, err, sizeof err)) return cli_fail("%s", err);
    }
    if (c->scan) { /* the CUDA scan kernel version (kernels/scan.cu) */
        if (strcmp(c->scan, "v1") && strcmp(c->scan, "v2")) return cli_fail("--scan: \"%s\" is not v1 or v2", c->scan);
        if (strcmp(c->backend, "cuda")) return cli_fail("--scan chooses the CUDA scan kernel; it does not apply to --backend %s", c->backend);
        cuda_scan = c->scan[1] - '0';
    }
    cli_threads(c->threads);
    return 0;
}

int cli_memory_check(const dyvm_config *c, int64_t B, const char *backend, bool capture)
{
    dyvm_mem_plan p;
    dyvm_memory_plan(c, B, !backend || !strcmp(backend, "cpu"), capture, &p);
    char what[96], err[CLI_ERR];
    snprintf(what, sizeof what, "a batch of %lld on %s", (long long)B, c->name);
    if (dyvm_memory_check(&p, what, err, sizeof err)) return cli_fail("%s", err), -1;
    return 0;
}

int cli_out_writable(const char *out)
{
    if (!out) return 0;
    char dir[4096];
    const char *slash = strrchr(out, '/');
    snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - out) + (slash == out) : 1, slash ? out : ".");
    struct stat sb;
    if (stat(dir, &sb)) return cli_fail("%s: %s", out, strerror(errno)), -1;
    if (!S_ISDIR(sb.st_mode)) return cli_fail("%s: %s", out, strerror(ENOTDIR)), -1;
    if (access(dir, W_OK)) return cli_fail("%s: %s", out, strerror(errno)), -1;
    if (!stat(out, &sb) && S_ISDIR(sb.st_mode)) return cli_fail("%s: %s", out, strerror(EISDIR)), -1;
    return 0;
}

int cli_same_file(const char *out, const char *input, const char *flag)
{
    struct stat a, b;
    if (!out || !input || stat(out, &a) || stat(input, &b)) return 0;
    if (a.st_dev != b.st_dev || a.st_ino != b.st_ino) return 0;
    return cli_fail("--out %s is the same file as %s %s: refusing to replace an input with the result", out, flag,
                    input), -1;
}

float *cli_random_images(const dyvm_config *c, int64_t B, uint64_t seed)
{
    const int64_t n = B * c->channels * c->img * c->img;
    float *x = malloc(sizeof(float) * (size_t)n);
    if (!x) return cli_fail("out of memory for %lld images", (long long)B), NULL;
    dyvm_rng r;
    dyvm_rng_seed(&r, seed);
    for (int64_t i = 0; i < n; i++) x[i] = (float)dyvm_rng_normal(&r);
    return x;
}
