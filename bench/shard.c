#include "shard.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "report.h"

int dyvm_shard_parse(const char *s, int *i, int *n)
{
    char *end;
    errno = 0;
    long a = s[0] >= '0' && s[0] <= '9' ? strtol(s, &end, 10) : -1, b = -1;
    if (a >= 0 && !errno && *end == '/' && end[1] >= '0' && end[1] <= '9') b = strtol(end + 1, &end, 10);
    if (a < 1 || b < 1 || errno || *end || a > b || b > DYVM_MAX_SHARDS)
        return cli_fail("--shard: \"%s\" is not i/n with 1 <= i <= n <= %d", s, DYVM_MAX_SHARDS), -1;
    *i = (int)a, *n = (int)b;
    return 0;
}

void dyvm_machine_signature(const dyvm_env *e, char *buf, size_t len)
{
    snprintf(buf, len, "%.120s, %d cores, %s, OpenBLAS %.32s%s%.300s", e->cpu, e->cores, e->isa, e->blas_core.core,
             e->device[0] ? "; " : "", e->device);
}

/* ---- the bytes of a struct as hex, and back ---- */

static cJSON *hex_of(const void *p, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    char *s = malloc(2 * n + 1);
    if (!s) return NULL;
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) s[2 * i] = digits[b[i] >> 4], s[2 * i + 1] = digits[b[i] & 15];
    s[2 * n] = 0;
    cJSON *j = cJSON_CreateString(s);
    free(s);
    return j;
}

static int unhex(const cJSON *j, void *p, size_t n)
{
    if (!cJSON_IsString(j) || strlen(j->valuestring) != 2 * n) return -1;
    unsigned char *b = p;
    for (size_t i = 0; i < 2 * n; i++) {
        const char c = j->valuestring[i];
        const int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (v < 0) return -1;
        b[i / 2] = (unsigned char)(i % 2 ? (b[i / 2] << 4) | v : v);
    }
    return 0;
}

/* ---- writing ---- */

cJSON *dyvm_shard_row_json(const char *suite, int call, size_t index, const dyvm_row *r)
{
    dyvm_row bare = *r; /* the pointers travel apart: the samples as numbers, the stop reason as text */
    bare.samples_ms = NULL, bare.cap = 0, bare.stop_reason = NULL;
    cJSON *j = cJSON_CreateObject(), *samples = cJSON_CreateArray();
    cJSON_AddStringToObject(j, "suite", suite);
    cJSON_AddNumberToObject(j, "call", call);
    cJSON_AddNumberToObject(j, "index", (double)index);
    cJSON_AddItemToObject(j, "summary", dyvm_row_json(r));
    for (size_t i = 0; i < r->n_samples; i++) cJSON_AddItemToArray(samples, cJSON_CreateNumber(r->samples_ms[i]));
    cJSON_AddItemToObject(j, "samples_ms", samples);
    cJSON_AddStringToObject(j, "stop_reason", r->stop_reason ? r->stop_reason : "");
    cJSON_AddItemToObject(j, "row_hex", hex_of(&bare, sizeof bare));
    return j;
}

cJSON *dyvm_shard_json(int i, int n, const dyvm_shard_run *run, const dyvm_env *env, const dyvm_peaks *peaks,
                       const dyvm_peaks *cpu_peaks, const dyvm_peaks *peaks_end, cJSON *rows)
{
    char machine[600];
    dyvm_machine_signature(env, machine, sizeof machine);
    dyvm_env bare = *env;
    bare.peaks = bare.cpu_peaks = bare.peaks_end = NULL;
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "schema", DYVM_SHARD_SCHEMA);
    cJSON_AddStringToObject(j, "suite", run->suite);
    cJSON_AddNumberToObject(j, "shard", i);
    cJSON_AddNumberToObject(j, "shards", n);
    cJSON_AddStringToObject(j, "commit", env->commit);
    cJSON_AddStringToObject(j, "host", env->host);
    cJSON_AddStringToObject(j, "machine", machine);
    cJSON_AddItemToObject(j, "environment", dyvm_env_json(env));
    cJSON_AddItemToObject(j, "run_hex", hex_of(run, sizeof *run));
    cJSON_AddItemToObject(j, "env_hex", hex_of(&bare, sizeof bare));
    cJSON_AddItemToObject(j, "peaks_hex", hex_of(peaks, sizeof *peaks));
    if (cpu_peaks) cJSON_AddItemToObject(j, "cpu_peaks_hex", hex_of(cpu_peaks, sizeof *cpu_peaks));
    if (peaks_end) cJSON_AddItemToObject(j, "peaks_end_hex", hex_of(peaks_end, sizeof *peaks_end));
    cJSON_AddItemToObject(j, "rows", rows);
    return j;
}

/* ---- reading ---- */

static const char *str_of(const cJSON *j, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int int_of(const cJSON *j, const char *key, int lo, int hi, int *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
    if (!cJSON_IsNumber(v) || v->valuedouble < lo || v->valuedouble > hi || v->valuedouble != (int)v->valuedouble) return -1;
    *out = (int)v->valuedouble;
    return 0;
}

static int load_row(const cJSON *j, dyvm_shard_row *sr, const char *path, size_t k, char *err, size_t errlen)
{
    const char *suite = str_of(j, "suite"), *stop = str_of(j, "stop_reason");
    const cJSON *samples = cJSON_GetObjectItemCaseSensitive(j, "samples_ms");
    int call = 0, index = 0;
    if (!suite || !stop || int_of(j, "call", 0, 1000, &call) || int_of(j, "index", 0, 100000, &index) ||
        !cJSON_IsArray(samples) || unhex(cJSON_GetObjectItemCaseSensitive(j, "row_hex"), &sr->row, sizeof sr->row))
        return snprintf(err, errlen, "%s: row %zu is malformed", path, k), -1;
    snprintf(sr->suite, sizeof sr->suite, "%s", suite);
    snprintf(sr->stop_reason, sizeof sr->stop_reason, "%s", stop);
    sr->call = call, sr->index = (size_t)index;
    const size_t n = (size_t)cJSON_GetArraySize(samples);
    if (n != sr->row.n_samples || n == 0) return snprintf(err, errlen, "%s: row %zu has %zu samples, not %zu", path, k, n, sr->row.n_samples), -1;
    if (!(sr->row.samples_ms = malloc(n * sizeof(double)))) return snprintf(err, errlen, "out of memory"), -1;
    sr->row.cap = n;
    size_t i = 0;
    for (const cJSON *v = samples->child; v; v = v->next, i++) {
        if (!cJSON_IsNumber(v)) return snprintf(err, errlen, "%s: row %zu has a sample that is not a number", path, k), -1;
        sr->row.samples_ms[i] = v->valuedouble;
    }
    sr->row.stop_reason = sr->stop_reason[0] ? sr->stop_reason : NULL;
    return 0;
}

int dyvm_shard_load(const char *path, dyvm_shard *s, char *err, size_t errlen)
{
    memset(s, 0, sizeof *s);
    struct stat st;
    if (!stat(path, &st) && S_ISDIR(st.st_mode)) snprintf(s->path, sizeof s->path, "%s/shard.json", path);
    else snprintf(s->path, sizeof s->path, "%s", path);
    size_t len = 0;
    char *text = cli_read_text(s->path, (size_t)1 << 30, &len);
    if (!text) return snprintf(err, errlen, "%s: cannot read it (%s)", s->path, strerror(errno)), -1;
    cJSON *j = cJSON_ParseWithLength(text, len);
    free(text);
    int rc = -1;
    const char *schema = j ? str_of(j, "schema") : NULL, *commit, *host, *machine;
    const cJSON *rows;
    if (!j) {
        snprintf(err, errlen, "%s: not JSON", s->path);
        goto done;
    }
    if (!schema || strcmp(schema, DYVM_SHARD_SCHEMA)) {
        snprintf(err, errlen, "%s: schema %s, not %s", s->path, schema ? schema : "missing", DYVM_SHARD_SCHEMA);
        goto done;
    }
    commit = str_of(j, "commit"), host = str_of(j, "host"), machine = str_of(j, "machine");
    rows = cJSON_GetObjectItemCaseSensitive(j, "rows");
    if (!commit || !host || !machine || int_of(j, "shards", 1, DYVM_MAX_SHARDS, &s->n) || int_of(j, "shard", 1, s->n, &s->i) ||
        !cJSON_IsArray(rows) || unhex(cJSON_GetObjectItemCaseSensitive(j, "run_hex"), &s->run, sizeof s->run) ||
        unhex(cJSON_GetObjectItemCaseSensitive(j, "env_hex"), &s->env, sizeof s->env) ||
        unhex(cJSON_GetObjectItemCaseSensitive(j, "peaks_hex"), &s->peaks, sizeof s->peaks)) {
        snprintf(err, errlen, "%s: a shard of another commit or a damaged file (its fields do not read back)", s->path);
        goto done;
    }
    snprintf(s->commit, sizeof s->commit, "%s", commit);
    snprintf(s->host, sizeof s->host, "%s", host);
    snprintf(s->machine, sizeof s->machine, "%s", machine);
    s->have_cpu_peaks = !unhex(cJSON_GetObjectItemCaseSensitive(j, "cpu_peaks_hex"), &s->cpu_peaks, sizeof s->cpu_peaks);
    s->have_peaks_end = !unhex(cJSON_GetObjectItemCaseSensitive(j, "peaks_end_hex"), &s->peaks_end, sizeof s->peaks_end);
    s->n_rows = (size_t)cJSON_GetArraySize(rows);
    if (s->n_rows && !(s->rows = calloc(s->n_rows, sizeof *s->rows))) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    size_t k = 0;
    for (const cJSON *r = rows->child; r; r = r->next, k++)
        if (load_row(r, &s->rows[k], s->path, k, err, errlen)) goto done;
    rc = 0;
done:
    cJSON_Delete(j);
    if (rc) dyvm_shard_free(s);
    return rc;
}

void dyvm_shard_free(dyvm_shard *s)
{
    for (size_t k = 0; s->rows && k < s->n_rows; k++) free(s->rows[k].row.samples_ms);
    free(s->rows);
    s->rows = NULL, s->n_rows = 0;
}

const dyvm_shard_row *dyvm_shard_find(const dyvm_shard_set *set, const char *suite, int call, size_t index)
{
    for (int i = 0; i < set->n; i++)
        for (size_t k = 0; k < set->shards[i].n_rows; k++) {
            const dyvm_shard_row *r = &set->shards[i].rows[k];
            if (r->call == call && r->index == index && !strcmp(r->suite, suite)) return r;
        }
    return NULL;
}

void dyvm_shard_assign(const double *cost, size_t n, double *load, int n_shards, int *shard_of)
{
    size_t order[512];
    for (size_t i = 0; i < n; i++) order[i] = i;
    for (size_t a = 1; a < n; a++) /* most costly first; ties in case order (a stable insertion sort) */
        for (size_t b = a; b > 0 && cost[order[b]] > cost[order[b - 1]]; b--) {
            const size_t t = order[b];
            order[b] = order[b - 1], order[b - 1] = t;
        }
    for (size_t k = 0; k < n; k++) {
        int best = 0;
        for (int s = 1; s < n_shards; s++)
            if (load[s] < load[best]) best = s;
        shard_of[order[k]] = best;
        load[best] += cost[order[k]];
    }
}
