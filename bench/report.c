#include "report.h"

#include <stdbool.h>

#include "atomic_file.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *dyvm_token_policy_name(const dyvm_row *r)
{
    if (!dyvm_variant_prunes(r->c.opts.variant)) return "none";
    return r->c.opts.token == TOKEN_LEARNED ? "learned" : "even";
}

static const char *block_policy_name(const dyvm_row *r)
{
    return dyvm_variant_selects(r->c.opts.variant) ? r->c.block_policy : "none";
}

/* The scalar fields of a row, in one place for the JSON and the CSV writers (their names are the stable
 * schema): a string, or a number with its CSV format; a field that does not apply to a row is null in the
 * JSON and empty in the CSV. */
enum { N_FIELDS = 39 };
typedef struct {
    const char *name;
    const char *str;  /* non-NULL: a string field */
    double num;
    const char *csv;  /* printf format of a number in the CSV */
    bool absent;      /* does not apply: null / empty */
} field;

static void row_fields(const dyvm_row *r, field f[N_FIELDS])
{
    const bool sp = r->have_speedup, fl = !isnan(r->floor_ms);
    const field all[N_FIELDS] = {
        {"model", r->c.model, 0, NULL, false},
        {"variant", dyvm_variant_name(r->c.opts.variant), 0, NULL, false},
        {"backend", r->backend, 0, NULL, false},
        {"batch", NULL, (double)r->c.batch, "%.0f", false},
        {"threads", NULL, r->c.threads, "%.0f", false},
        {"block_policy", block_policy_name(r), 0, NULL, false},
        {"token_policy", dyvm_token_policy_name(r), 0, NULL, false},
        {"token_ratio", NULL, r->token_ratio, "%.4f", false},
        {"median_ms", NULL, r->st.median, "%.4f", false},
        {"p90_ms", NULL, r->st.p90, "%.4f", false},
        {"p99_ms", NULL, r->st.p99, "%.4f", false},
        {"min_ms", NULL, r->st.min, "%.4f", false},
        {"max_ms", NULL, r->st.max, "%.4f", false},
        {"mean_ms", NULL, r->st.mean, "%.4f", false},
        {"cv", NULL, r->st.cv, "%.5f", false},
        {"samples", NULL, (double)r->n_samples, "%.0f", false},
        {"rounds", NULL, r->rounds, "%.0f", false},
        {"rounds_disagree", NULL, r->rounds_disagree, "%.0f", false},
        {"stop_reason", r->stop_reason ? r->stop_reason : "", 0, NULL, false},
        {"images_per_s", NULL, r->images_per_s, "%.3f", false},
        {"images_per_s_ci_low", NULL, r->ips_ci.lo, "%.3f", isnan(r->ips_ci.lo)},
        {"images_per_s_ci_high", NULL, r->ips_ci.hi, "%.3f", isnan(r->ips_ci.hi)},
        {"speedup", NULL, r->speedup.est, "%.4f", !sp},
        {"speedup_ci_low", NULL, r->speedup.lo, "%.4f", !sp},
        {"speedup_ci_high", NULL, r->speedup.hi, "%.4f", !sp},
        {"speedup_vs", sp ? r->speedup_vs : "", 0, NULL, !sp},
        {"floor_ms", NULL, r->floor_ms, "%.4f", !fl},
        {"sol", NULL, r->sol, "%.4f", !fl},
        {"floor_end_ms", NULL, r->floor_end_ms, "%.4f", isnan(r->floor_end_ms)},
        {"flops_paper", NULL, r->flops.paper_total, "%.1f", false},
        {"flops_full", NULL, r->flops.full_total, "%.1f", false},
        {"bytes_min", NULL, r->flops.bytes_total, "%.0f", false},
        {"gflops_paper_per_s", NULL, r->gflops_paper_per_s, "%.3f", false},
        {"gflops_full_per_s", NULL, r->gflops_full_per_s, "%.3f", false},
        {"block_keep_ratio", NULL, r->flops.block_ratio, "%.4f", false},
        {"weights_bytes", NULL, r->weights_bytes, "%.0f", false},
        {"peak_bytes", NULL, r->peak_bytes, "%.0f", false},
        {"max_rss_bytes", NULL, r->max_rss_bytes, "%.0f", r->max_rss_bytes <= 0},
        {"host", r->host, 0, NULL, false}, /* last: the older columns keep their places */
    };
    memcpy(f, all, sizeof all);
}

static cJSON *number_array(const double *x, size_t n)
{
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; i < n; i++) cJSON_AddItemToArray(a, cJSON_CreateNumber(x[i]));
    return a;
}

static cJSON *stage_object(const double *v)
{
    cJSON *p = cJSON_CreateObject();
    for (int st = 0; st < STAGE_COUNT; st++) cJSON_AddNumberToObject(p, dyvm_stage_name((dyvm_stage)st), v[st]);
    return p;
}

cJSON *dyvm_row_json(const dyvm_row *r)
{
    cJSON *j = cJSON_CreateObject(), *t = cJSON_CreateArray(), *rn = cJSON_CreateArray();
    field f[N_FIELDS];
    row_fields(r, f);
    for (int i = 0; i < N_FIELDS; i++)
        if (f[i].absent) cJSON_AddNullToObject(j, f[i].name);
        else if (f[i].str) cJSON_AddStringToObject(j, f[i].name, f[i].str);
        else cJSON_AddNumberToObject(j, f[i].name, f[i].num);
    for (int k = 0; k < r->n_tokens; k++) cJSON_AddItemToArray(t, cJSON_CreateNumber((double)r->tokens[k]));
    cJSON_AddItemToObject(j, "tokens", t);
    if (r->c.profile) cJSON_AddItemToObject(j, "stage_ms", stage_object(r->stage_ms));
    if (!isnan(r->floor_ms)) cJSON_AddItemToObject(j, "stage_floor_ms", stage_object(r->stage_floor_ms));
    cJSON_AddItemToObject(j, "round_medians_ms", number_array(r->round_median_ms, (size_t)r->rounds));
    for (int k = 0; k < r->rounds; k++) cJSON_AddItemToArray(rn, cJSON_CreateNumber((double)r->round_n[k]));
    cJSON_AddItemToObject(j, "round_samples", rn);
    cJSON_AddItemToObject(j, "samples_ms", number_array(r->samples_ms, r->n_samples));
    return j;
}

void dyvm_rows_csv(FILE *f, const dyvm_row *rows, size_t n)
{
    field fl[N_FIELDS];
    const dyvm_row none = {0};
    row_fields(&none, fl); /* the names, which do not depend on the row */
    for (int i = 0; i < N_FIELDS; i++) fprintf(f, "%s,", fl[i].name);
    fprintf(f, "tokens");
    for (int s = 0; s < STAGE_COUNT; s++) fprintf(f, ",%s_ms", dyvm_stage_name((dyvm_stage)s));
    fprintf(f, "\n");
    for (size_t i = 0; i < n; i++) {
        const dyvm_row *r = &rows[i];
        row_fields(r, fl);
        for (int k = 0; k < N_FIELDS; k++) {
            /* Test csv itself, not "no str, so a number": GCC 12 with a recoverable -fsanitize=undefined
             * (its nonnull-attribute check of fprintf's format) otherwise warns "null format string"
             * (-Wformat-overflow) on the path after its own check, where csv is NULL, and -Werror stops the
             * build; GCC's manual: sanitizers raise the rate of false-positive warnings. */
            if (fl[k].absent) ;
            else if (fl[k].str) fprintf(f, "%s", fl[k].str);
            else if (fl[k].csv) fprintf(f, fl[k].csv, fl[k].num);
            fputc(',', f);
        }
        for (int k = 0; k < r->n_tokens; k++) fprintf(f, "%s%lld", k ? "/" : "", (long long)r->tokens[k]);
        for (int s = 0; s < STAGE_COUNT; s++) fprintf(f, ",%.4f", r->c.profile ? r->stage_ms[s] : 0.0);
        fprintf(f, "\n");
    }
}

cJSON *dyvm_suite_json(const char *suite, const dyvm_env *env, const dyvm_row *rows, size_t n)
{
    cJSON *j = cJSON_CreateObject(), *res = cJSON_CreateArray();
    cJSON_AddStringToObject(j, "schema", "dyvm-bench/1");
    cJSON_AddStringToObject(j, "suite", suite);
    cJSON_AddItemToObject(j, "environment", dyvm_env_json(env));
    for (size_t i = 0; i < n; i++) cJSON_AddItemToArray(res, dyvm_row_json(&rows[i]));
    cJSON_AddItemToObject(j, "results", res);
    return j;
}

void dyvm_rows_markdown(FILE *f, const dyvm_row *rows, size_t n)
{
    bool speedups = false;
    for (size_t i = 0; i < n; i++) speedups |= rows[i].have_speedup;
    fprintf(f, "| model | variant | block policy | token ratio | batch | median ms | p90 ms | cv | samples (rounds) | "
               "images/s [95 %% CI] |%s floor ms | sol | paper GFLOPs | full GFLOPs | full GFLOP/s | block keep | tokens |\n"
               "|---|---|---|---:|---:|---:|---:|---:|---:|---:|%s---:|---:|---:|---:|---:|---:|---|\n",
            speedups ? " speed-up [95 % CI] |" : "", speedups ? "---:|" : "");
    for (size_t i = 0; i < n; i++) {
        const dyvm_row *r = &rows[i];
        char sp[96] = "", floor[32] = "n/a", sol[32] = "n/a";
        if (speedups) {
            if (r->have_speedup) dyvm_format_ratio(sp, sizeof sp, r->speedup, 2);
            else snprintf(sp, sizeof sp, "(baseline)");
        }
        if (!isnan(r->floor_ms)) {
            snprintf(floor, sizeof floor, "%.2f", r->floor_ms);
            snprintf(sol, sizeof sol, "%.2f%s", r->sol, r->sol > 1 ? " ⚠" : "");
        }
        fprintf(f, "| %s | %s | %s | %.2f | %lld | %.2f | %.2f | %.3f | %zu (%d)%s | %.2f [%.2f, %.2f] |", r->c.model,
                dyvm_variant_name(r->c.opts.variant), block_policy_name(r), r->token_ratio, (long long)r->c.batch,
                r->st.median, r->st.p90, r->st.cv, r->n_samples, r->rounds, r->rounds_disagree ? " ⚠" : "",
                r->images_per_s, r->ips_ci.lo, r->ips_ci.hi);
        if (speedups) fprintf(f, " %s |", sp);
        fprintf(f, " %s | %s | %.3f | %.3f | %.1f | %.3f | ", floor, sol, r->flops.paper_total / 1e9,
                r->flops.full_total / 1e9, r->gflops_full_per_s, r->flops.block_ratio);
        for (int k = 0; k < r->n_tokens; k++) fprintf(f, "%s%lld", k ? "→" : "", (long long)r->tokens[k]);
        fprintf(f, " |\n");
    }
}

void dyvm_rows_warnings(FILE *f, const dyvm_row *rows, size_t n)
{
    int drift = 0, beat = 0;
    for (size_t i = 0; i < n; i++) drift += rows[i].rounds_disagree, beat += rows[i].sol > 1;
    if (drift) {
        fprintf(f, "\n⚠ %d of %zu configurations had rounds that disagree beyond their intervals (the machine drifted "
                   "while they ran; their intervals, which resample within rounds, are the ones to read):", drift, n);
        bool threads_vary = false; /* the threads suite: name each row's thread count */
        for (size_t i = 1; i < n; i++) threads_vary |= rows[i].c.threads != rows[0].c.threads;
        for (size_t i = 0; i < n; i++) {
            const dyvm_row *r = &rows[i];
            if (!r->rounds_disagree) continue;
            fprintf(f, " %s %s %s batch %lld", r->c.model, dyvm_variant_name(r->c.opts.variant), block_policy_name(r),
                    (long long)r->c.batch);
            if (threads_vary) fprintf(f, " %d thread%s", r->c.threads, r->c.threads == 1 ? "" : "s");
            fprintf(f, " (round medians");
            for (int k = 0; k < r->rounds; k++) fprintf(f, "%s %.2f", k ? "," : "", r->round_median_ms[k]);
            fprintf(f, " ms)%s", --drift ? ";" : ".\n");
        }
    }
    for (size_t i = 0; beat && i < n; i++) {
        const dyvm_row *r = &rows[i];
        if (r->sol > 1)
            fprintf(f, "\n⚠ %s %s %s batch %lld: measured faster than its floor (sol %.2f): the floor model's rates "
                       "were beaten at these shapes, so this floor is not a bound.\n",
                    r->c.model, dyvm_variant_name(r->c.opts.variant), block_policy_name(r), (long long)r->c.batch, r->sol);
    }
}

int dyvm_write_json(const char *path, const cJSON *j, char *err, size_t errlen)
{
    char *txt = cJSON_Print(j);
    if (!txt) return snprintf(err, errlen, "%s: out of memory", path), -1;
    dyvm_afile af; /* whole or not at all (atomic_file.h) */
    FILE *f = dyvm_afile_open(&af, path, "w", err, errlen);
    int rc = -1;
    if (f && fputs(txt, f) >= 0 && fputc('\n', f) != EOF) rc = dyvm_afile_commit(&af, err, errlen);
    else if (f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        dyvm_afile_abort(&af);
    }
    free(txt);
    return rc;
}
