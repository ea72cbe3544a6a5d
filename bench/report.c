#include "report.h"

#include <errno.h>
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
 * schema): a string, or a number with its CSV format. */
enum { N_FIELDS = 24 };
typedef struct {
    const char *name;
    const char *str;  /* non-NULL: a string field */
    double num;
    const char *csv;  /* printf format of a number in the CSV */
} field;

static void row_fields(const dyvm_row *r, field f[N_FIELDS])
{
    const field all[N_FIELDS] = {
        {"model", r->c.model, 0, NULL},
        {"variant", dyvm_variant_name(r->c.opts.variant), 0, NULL},
        {"backend", r->backend, 0, NULL},
        {"batch", NULL, (double)r->c.batch, "%.0f"},
        {"threads", NULL, r->c.threads, "%.0f"},
        {"block_policy", block_policy_name(r), 0, NULL},
        {"token_policy", dyvm_token_policy_name(r), 0, NULL},
        {"token_ratio", NULL, r->token_ratio, "%.4f"},
        {"median_ms", NULL, r->st.median, "%.4f"},
        {"p90_ms", NULL, r->st.p90, "%.4f"},
        {"p99_ms", NULL, r->st.p99, "%.4f"},
        {"min_ms", NULL, r->st.min, "%.4f"},
        {"max_ms", NULL, r->st.max, "%.4f"},
        {"mean_ms", NULL, r->st.mean, "%.4f"},
        {"cv", NULL, r->st.cv, "%.5f"},
        {"samples", NULL, (double)r->n_samples, "%.0f"},
        {"stop_reason", r->stop_reason ? r->stop_reason : "", 0, NULL},
        {"images_per_s", NULL, r->images_per_s, "%.3f"},
        {"flops_paper", NULL, r->flops.paper_total, "%.1f"},
        {"flops_full", NULL, r->flops.full_total, "%.1f"},
        {"bytes_min", NULL, r->flops.bytes_total, "%.0f"},
        {"gflops_paper_per_s", NULL, r->gflops_paper_per_s, "%.3f"},
        {"gflops_full_per_s", NULL, r->gflops_full_per_s, "%.3f"},
        {"block_keep_ratio", NULL, r->flops.block_ratio, "%.4f"},
    };
    memcpy(f, all, sizeof all);
}

cJSON *dyvm_row_json(const dyvm_row *r)
{
    cJSON *j = cJSON_CreateObject(), *s = cJSON_CreateArray(), *t = cJSON_CreateArray();
    field f[N_FIELDS];
    row_fields(r, f);
    for (int i = 0; i < N_FIELDS; i++)
        if (f[i].str) cJSON_AddStringToObject(j, f[i].name, f[i].str);
        else cJSON_AddNumberToObject(j, f[i].name, f[i].num);
    for (int k = 0; k < r->n_tokens; k++) cJSON_AddItemToArray(t, cJSON_CreateNumber((double)r->tokens[k]));
    cJSON_AddItemToObject(j, "tokens", t);
    if (r->c.profile) {
        cJSON *p = cJSON_CreateObject();
        for (int st = 0; st < STAGE_COUNT; st++) cJSON_AddNumberToObject(p, dyvm_stage_name((dyvm_stage)st), r->stage_ms[st]);
        cJSON_AddItemToObject(j, "stage_ms", p);
    }
    for (size_t i = 0; i < r->n_samples; i++) cJSON_AddItemToArray(s, cJSON_CreateNumber(r->samples_ms[i]));
    cJSON_AddItemToObject(j, "samples_ms", s);
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
            if (fl[k].str) fprintf(f, "%s", fl[k].str);
            else fprintf(f, fl[k].csv, fl[k].num);
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
    fprintf(f, "| model | variant | block policy | token ratio | batch | median ms | p90 ms | cv | samples | images/s | "
               "paper GFLOPs | full GFLOPs | full GFLOP/s | block keep | tokens |\n"
               "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n");
    for (size_t i = 0; i < n; i++) {
        const dyvm_row *r = &rows[i];
        fprintf(f, "| %s | %s | %s | %.2f | %lld | %.2f | %.2f | %.3f | %zu | %.2f | %.3f | %.3f | %.1f | %.3f | ",
                r->c.model, dyvm_variant_name(r->c.opts.variant), block_policy_name(r), r->token_ratio,
                (long long)r->c.batch, r->st.median, r->st.p90, r->st.cv, r->n_samples, r->images_per_s,
                r->flops.paper_total / 1e9, r->flops.full_total / 1e9, r->gflops_full_per_s, r->flops.block_ratio);
        for (int k = 0; k < r->n_tokens; k++) fprintf(f, "%s%lld", k ? "→" : "", (long long)r->tokens[k]);
        fprintf(f, " |\n");
    }
}

int dyvm_write_json(const char *path, const cJSON *j, char *err, size_t errlen)
{
    char *txt = cJSON_Print(j);
    FILE *f = txt ? fopen(path, "w") : NULL;
    int rc = f && fputs(txt, f) >= 0 && fputc('\n', f) != EOF ? 0 : -1;
    if (f && fclose(f)) rc = -1;
    if (rc) snprintf(err, errlen, "%s: %s", path, txt ? strerror(errno) : "out of memory");
    free(txt);
    return rc;
}
