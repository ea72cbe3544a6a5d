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

cJSON *dyvm_row_json(const dyvm_row *r)
{
    cJSON *j = cJSON_CreateObject(), *s = cJSON_CreateArray(), *t = cJSON_CreateArray();
    cJSON_AddStringToObject(j, "model", r->c.model);
    cJSON_AddStringToObject(j, "variant", dyvm_variant_name(r->c.opts.variant));
    cJSON_AddStringToObject(j, "backend", r->backend);
    cJSON_AddNumberToObject(j, "batch", (double)r->c.batch);
    cJSON_AddNumberToObject(j, "threads", r->c.threads);
    cJSON_AddStringToObject(j, "block_policy", block_policy_name(r));
    cJSON_AddStringToObject(j, "token_policy", dyvm_token_policy_name(r));
    cJSON_AddNumberToObject(j, "token_ratio", r->token_ratio);
    cJSON_AddNumberToObject(j, "median_ms", r->st.median);
    cJSON_AddNumberToObject(j, "p90_ms", r->st.p90);
    cJSON_AddNumberToObject(j, "p99_ms", r->st.p99);
    cJSON_AddNumberToObject(j, "min_ms", r->st.min);
    cJSON_AddNumberToObject(j, "max_ms", r->st.max);
    cJSON_AddNumberToObject(j, "mean_ms", r->st.mean);
    cJSON_AddNumberToObject(j, "cv", r->st.cv);
    cJSON_AddNumberToObject(j, "samples", (double)r->n_samples);
    cJSON_AddStringToObject(j, "stop_reason", r->stop_reason ? r->stop_reason : "");
    cJSON_AddNumberToObject(j, "images_per_s", r->images_per_s);
    cJSON_AddNumberToObject(j, "flops_paper", r->flops.paper_total);
    cJSON_AddNumberToObject(j, "flops_full", r->flops.full_total);
    cJSON_AddNumberToObject(j, "bytes_min", r->flops.bytes_total);
    cJSON_AddNumberToObject(j, "gflops_paper_per_s", r->gflops_paper_per_s);
    cJSON_AddNumberToObject(j, "gflops_full_per_s", r->gflops_full_per_s);
    cJSON_AddNumberToObject(j, "block_keep_ratio", r->flops.block_ratio);
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
    fprintf(f, "model,variant,backend,batch,threads,block_policy,token_policy,token_ratio,median_ms,p90_ms,p99_ms,"
               "min_ms,max_ms,mean_ms,cv,samples,images_per_s,flops_paper,flops_full,gflops_paper_per_s,"
               "gflops_full_per_s,block_keep_ratio,tokens");
    for (int s = 0; s < STAGE_COUNT; s++) fprintf(f, ",%s_ms", dyvm_stage_name((dyvm_stage)s));
    fprintf(f, "\n");
    for (size_t i = 0; i < n; i++) {
        const dyvm_row *r = &rows[i];
        fprintf(f, "%s,%s,%s,%lld,%d,%s,%s,%.4f,%.4f,%.4f,%.4f,%.4f,%.4f,%.4f,%.5f,%zu,%.3f,%.1f,%.1f,%.3f,%.3f,%.4f,",
                r->c.model, dyvm_variant_name(r->c.opts.variant), r->backend, (long long)r->c.batch, r->c.threads,
                block_policy_name(r), dyvm_token_policy_name(r), r->token_ratio, r->st.median, r->st.p90,
                r->st.p99, r->st.min, r->st.max, r->st.mean, r->st.cv, r->n_samples, r->images_per_s,
                r->flops.paper_total, r->flops.full_total, r->gflops_paper_per_s, r->gflops_full_per_s,
                r->flops.block_ratio);
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
