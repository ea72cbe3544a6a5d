/* `dyvm compare A B`: two reports (dyvm-bench/1 JSON files or report folders) configuration by
 * configuration, as Go's benchstat does: the change is the ratio of medians B / A with its stratified
 * bootstrap interval and a Mann-Whitney p-value, and `~` where the two cannot be told apart. */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "commands.h"
#include "inference.h"

static const char compare_usage[] =
    "usage: dyvm compare A B [--format md|csv|json|jsonl] [--seed S]\n"
    "  A, B: a dyvm-bench/1 report JSON file, or a report folder (every *.json in it with that schema).\n"
    "  Per configuration (suite, model, variant, block and token policy, token ratio, batch; not the backend\n"
    "  or the thread count) found in both: the medians, the change B / A - 1 with its 95 % bootstrap interval\n"
    "  (2000 replicates resampled within each round, seed S, default 0), the two-sided Mann-Whitney p-value\n"
    "  and the sample counts; `~` where p >= 0.05 or the interval contains no change.\n";

enum { CMP_REPS = 2000 };
#define CMP_LEVEL 0.95
#define CMP_ALPHA 0.05
#define SCHEMA "dyvm-bench/1"

/* One result row of a report: its configuration, its samples and their round sizes. */
typedef struct {
    char *suite, *model, *variant, *backend, *block_policy, *token_policy, *key;
    double token_ratio;
    long long batch;
    double *ms;
    size_t n, *round_n, rounds;
    bool matched;
} cmp_row;

/* One side of the comparison: the path given, the environment of its first report, every row. */
typedef struct {
    const char *path;
    cJSON *env;
    size_t reports, n, cap;
    cmp_row *rows;
} cmp_side;

/* One configuration found on both sides and its statistics. */
typedef struct {
    const cmp_row *a, *b;
    double median_a, median_b, p;
    dyvm_interval ratio;
    bool significant;
} cmp_result;

/* Reports are JSON text, never near 1 GiB: a longer file (or one with a NUL byte) is cut there and then
 * fails to parse. */
#define MAX_REPORT_BYTES ((size_t)1 << 30)

/* Parses a file that must hold exactly one JSON value; 2 after one line on stderr otherwise. */
static int parse_json_file(const char *path, cJSON **out)
{
    size_t len = 0;
    char *txt = cli_read_text(path, MAX_REPORT_BYTES, &len);
    if (!txt) return cli_fail("%s: cannot read: %s", path, strerror(errno ? errno : EIO));
    *out = strlen(txt) == len ? cJSON_ParseWithLengthOpts(txt, len + 1, NULL, 1) : NULL;
    free(txt);
    return *out ? 0 : cli_fail("%s: not JSON", path);
}

/* Whether a parsed file is a dyvm-bench report: an object whose "schema" is dyvm-bench/1. */
static bool is_report(const cJSON *root)
{
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(root, "schema");
    return cJSON_IsObject(root) && cJSON_IsString(s) && !strcmp(s->valuestring, SCHEMA);
}

/* A copy of the string field `name` of results[i]; 2 after one line when it is missing or not a string
 * (optional fields get "?" instead). */
static int str_field(const cJSON *r, const char *name, const char *file, size_t i, bool optional, char **out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(r, name);
    if (!v && !optional) return cli_fail("%s: results[%zu] has no \"%s\"", file, i, name);
    if (v && !cJSON_IsString(v)) return cli_fail("%s: results[%zu]: \"%s\" is not a string", file, i, name);
    *out = strdup(v ? v->valuestring : "?");
    return *out ? 0 : cli_fail("out of memory");
}

/* The number field `name` of results[i]; 2 after one line when it is missing or not a number. */
static int num_field(const cJSON *r, const char *name, const char *file, size_t i, double *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(r, name);
    if (!v) return cli_fail("%s: results[%zu] has no \"%s\"", file, i, name);
    if (!cJSON_IsNumber(v)) return cli_fail("%s: results[%zu]: \"%s\" is not a number", file, i, name);
    *out = v->valuedouble;
    return 0;
}

/* samples_ms (a non-empty array of numbers) and round_samples (absent: one round; else non-negative
 * integers adding up to the sample count) of results[i]. */
static int samples_field(const cJSON *r, const char *file, size_t i, cmp_row *row)
{
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(r, "samples_ms");
    const int n = cJSON_GetArraySize(s);
    if (!s) return cli_fail("%s: results[%zu] has no samples_ms (raw samples are needed)", file, i);
    if (!cJSON_IsArray(s) || n == 0) return cli_fail("%s: results[%zu]: samples_ms is not a non-empty array", file, i);
    if (!(row->ms = malloc((size_t)n * sizeof *row->ms))) return cli_fail("out of memory");
    row->n = (size_t)n;
    size_t k = 0;
    for (const cJSON *v = s->child; v; v = v->next, k++) {
        if (!cJSON_IsNumber(v)) return cli_fail("%s: results[%zu]: samples_ms[%zu] is not a number", file, i, k);
        row->ms[k] = v->valuedouble;
    }
    const cJSON *rs = cJSON_GetObjectItemCaseSensitive(r, "round_samples");
    if (!rs || cJSON_IsNull(rs)) return 0;
    const int nr = cJSON_GetArraySize(rs);
    if (!cJSON_IsArray(rs) || !(row->round_n = malloc(((size_t)nr + 1) * sizeof *row->round_n)))
        return cli_fail("%s: results[%zu]: round_samples is not an array", file, i);
    size_t sum = 0;
    for (const cJSON *v = rs->child; v; v = v->next) {
        const double c = cJSON_IsNumber(v) ? v->valuedouble : -1;
        if (!(c >= 0 && c <= (double)row->n && c == floor(c)))
            return cli_fail("%s: results[%zu]: round_samples holds something other than a sample count", file, i);
        row->round_n[row->rounds++] = (size_t)c, sum += (size_t)c;
    }
    if (sum != row->n)
        return cli_fail("%s: results[%zu]: round_samples adds up to %zu, samples_ms has %zu", file, i, sum, row->n);
    return 0;
}

/* One row of a report, every field it is keyed and compared by checked. */
static int parse_row(const cJSON *r, size_t i, const char *suite, const char *file, cmp_row *row)
{
    if (!cJSON_IsObject(r)) return cli_fail("%s: results[%zu] is not an object", file, i);
    double batch;
    int rc = str_field(r, "model", file, i, false, &row->model) || str_field(r, "variant", file, i, false, &row->variant) ||
             str_field(r, "block_policy", file, i, false, &row->block_policy) ||
             str_field(r, "token_policy", file, i, false, &row->token_policy) ||
             str_field(r, "backend", file, i, true, &row->backend) ||
             num_field(r, "token_ratio", file, i, &row->token_ratio) || num_field(r, "batch", file, i, &batch);
    if (rc) return 2;
    if (!(batch >= 1 && batch <= 1e15 && batch == floor(batch)))
        return cli_fail("%s: results[%zu]: batch %g is not a positive integer", file, i, batch);
    row->batch = (long long)batch;
    if (!(row->suite = strdup(suite))) return cli_fail("out of memory");
    return samples_field(r, file, i, row);
}

/* Frees the strings and samples of a row. */
static void row_free(cmp_row *r)
{
    free(r->suite), free(r->model), free(r->variant), free(r->backend), free(r->block_policy);
    free(r->token_policy), free(r->key), free(r->ms), free(r->round_n);
}

/* Appends the rows of one parsed report to a side (its environment kept when it is the first). */
static int side_add_report(cmp_side *s, const cJSON *root, const char *file)
{
    const cJSON *suite = cJSON_GetObjectItemCaseSensitive(root, "suite");
    const cJSON *res = cJSON_GetObjectItemCaseSensitive(root, "results");
    const cJSON *env = cJSON_GetObjectItemCaseSensitive(root, "environment");
    if (!cJSON_IsString(suite)) return cli_fail("%s: \"suite\" is missing or not a string", file);
    if (!cJSON_IsArray(res)) return cli_fail("%s: \"results\" is missing or not an array", file);
    if (!s->env && cJSON_IsObject(env)) s->env = cJSON_Duplicate(env, 1);
    s->reports++;
    size_t i = 0;
    for (const cJSON *r = res->child; r; r = r->next, i++) {
        if (s->n == s->cap) {
            const size_t cap = s->cap ? 2 * s->cap : 16;
            cmp_row *more = realloc(s->rows, cap * sizeof *more);
            if (!more) return cli_fail("out of memory");
            s->rows = more, s->cap = cap;
        }
        cmp_row *row = &s->rows[s->n++];
        memset(row, 0, sizeof *row);
        if (parse_row(r, i, suite->valuestring, file, row)) return 2;
    }
    return 0;
}

/* Only *.json names, for scandir. */
static int json_name(const struct dirent *e)
{
    const size_t n = strlen(e->d_name);
    return e->d_name[0] != '.' && n > 5 && !strcmp(e->d_name + n - 5, ".json");
}

/* Every dyvm-bench report of a folder, in name order (other JSON, env.json among them, is skipped). */
static int side_load_folder(cmp_side *s, const char *dir)
{
    struct dirent **ents;
    const int n = scandir(dir, &ents, json_name, alphasort);
    if (n < 0) return cli_fail("%s: cannot list: %s", dir, strerror(errno));
    int rc = 0;
    for (int i = 0; i < n; i++) {
        char path[4096];
        cJSON *root = NULL;
        if (!rc && snprintf(path, sizeof path, "%s/%s", dir, ents[i]->d_name) >= (int)sizeof path)
            rc = cli_fail("%s/%s: path too long", dir, ents[i]->d_name);
        if (!rc && !(rc = parse_json_file(path, &root)) && is_report(root)) rc = side_add_report(s, root, path);
        cJSON_Delete(root);
        free(ents[i]);
    }
    free(ents);
    if (!rc && s->reports == 0) return cli_fail("%s: no dyvm-bench report in this folder (no *.json with \"schema\": \"%s\")", dir, SCHEMA);
    return rc;
}

/* A side from a report file or a report folder. */
static int side_load(cmp_side *s, const char *path)
{
    struct stat st;
    s->path = path;
    if (stat(path, &st)) return cli_fail("%s: %s", path, errno == ENOENT ? "no such file or folder" : strerror(errno));
    if (S_ISDIR(st.st_mode)) return side_load_folder(s, path);
    cJSON *root = NULL;
    int rc = parse_json_file(path, &root);
    if (!rc && !is_report(root)) rc = cli_fail("%s: not a dyvm-bench report (no \"schema\": \"%s\")", path, SCHEMA);
    if (!rc) rc = side_add_report(s, root, path);
    cJSON_Delete(root);
    return rc;
}

/* Frees every row of a side and its environment. */
static void side_free(cmp_side *s)
{
    for (size_t i = 0; i < s->n; i++) row_free(&s->rows[i]);
    free(s->rows);
    cJSON_Delete(s->env);
}

/* A row's key: suite/model/variant/block policy/token policy/token ratio/batch, then "@backend" when
 * asked, then "#k" for its k-th repetition (k >= 2). */
static char *make_key(const cmp_row *r, bool with_backend, size_t rep)
{
    char *k = NULL, tail[32] = "";
    if (rep > 1) snprintf(tail, sizeof tail, "#%zu", rep);
    if (asprintf(&k, "%s/%s/%s/%s/%s/%.4f/%lld%s%s%s", r->suite, r->model, r->variant, r->block_policy,
                 r->token_policy, r->token_ratio, r->batch, with_backend ? "@" : "", with_backend ? r->backend : "",
                 tail) < 0)
        return NULL;
    return k;
}

/* How many rows of a side before row `upto` have the key `key` (upto = s->n: all of them). */
static size_t count_key(const cmp_side *s, const char *key, size_t upto)
{
    size_t c = 0;
    for (size_t i = 0; i < upto; i++) c += s->rows[i].key && !strcmp(s->rows[i].key, key);
    return c;
}

/* The keys of both sides. A configuration that one side holds twice (a CPU and a GPU sweep in one suite)
 * gets "@backend" on both sides, so that its CPU row still meets the other side's CPU row; what is still
 * repeated after that is numbered. Quadratic in the rows: a few hundred at most. */
static int assign_keys(cmp_side *a, cmp_side *b)
{
    cmp_side *sides[2] = {a, b};
    for (int s = 0; s < 2; s++)
        for (size_t i = 0; i < sides[s]->n; i++)
            if (!(sides[s]->rows[i].key = make_key(&sides[s]->rows[i], false, 1))) return cli_fail("out of memory");
    bool *twice[2] = {calloc(a->n + 1, 1), calloc(b->n + 1, 1)};
    if (!twice[0] || !twice[1]) return free(twice[0]), free(twice[1]), cli_fail("out of memory");
    for (int s = 0; s < 2; s++) /* mark first, rename after: every comparison sees the plain keys */
        for (size_t i = 0; i < sides[s]->n; i++) {
            const char *k = sides[s]->rows[i].key;
            twice[s][i] = count_key(a, k, a->n) > 1 || count_key(b, k, b->n) > 1;
        }
    int rc = 0;
    for (int s = 0; s < 2 && !rc; s++)
        for (size_t i = 0; i < sides[s]->n && !rc; i++) {
            cmp_row *r = &sides[s]->rows[i];
            if (!twice[s][i]) continue;
            free(r->key);
            if (!(r->key = make_key(r, true, 1))) rc = cli_fail("out of memory");
        }
    for (int s = 0; s < 2 && !rc; s++)
        for (size_t i = 0; i < sides[s]->n && !rc; i++) {
            cmp_row *r = &sides[s]->rows[i];
            const size_t rep = count_key(sides[s], r->key, i) + 1;
            if (rep == 1) continue;
            free(r->key);
            if (!(r->key = make_key(r, twice[s][i], rep))) rc = cli_fail("out of memory");
        }
    free(twice[0]), free(twice[1]);
    return rc;
}

/* The statistics of one configuration: medians, bootstrap interval of B / A, U-test, the verdict. */
static cmp_result compare_pair(const cmp_row *a, const cmp_row *b, uint64_t seed)
{
    const dyvm_sample_set sa = {a->ms, a->n, a->round_n, a->rounds}, sb = {b->ms, b->n, b->round_n, b->rounds};
    cmp_result r = {.a = a, .b = b};
    r.median_a = dyvm_median(a->ms, a->n), r.median_b = dyvm_median(b->ms, b->n);
    r.ratio = dyvm_ratio_ci(&sb, &sa, CMP_LEVEL, CMP_REPS, seed);
    r.p = dyvm_mann_whitney_p(a->ms, a->n, b->ms, b->n);
    r.significant = r.p < CMP_ALPHA && !dyvm_ci_contains_one(r.ratio);
    return r;
}

/* Every configuration of A that B also has, in A's order; marks the matched rows of both sides. */
static cmp_result *match(cmp_side *a, cmp_side *b, uint64_t seed, size_t *count)
{
    cmp_result *res = malloc((a->n + 1) * sizeof *res);
    *count = 0;
    for (size_t i = 0; res && i < a->n; i++)
        for (size_t j = 0; j < b->n; j++)
            if (!b->rows[j].matched && !strcmp(a->rows[i].key, b->rows[j].key)) {
                a->rows[i].matched = b->rows[j].matched = true;
                res[(*count)++] = compare_pair(&a->rows[i], &b->rows[j], seed);
                break;
            }
    return res;
}

/* How many rows of a side found no partner on the other side. */
static size_t unmatched(const cmp_side *s)
{
    size_t c = 0;
    for (size_t i = 0; i < s->n; i++) c += !s->rows[i].matched;
    return c;
}

/* An environment string, or "?" when the report lacks it. */
static const char *env_str(const cmp_side *s, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(s->env, name);
    return cJSON_IsString(v) ? v->valuestring : "?";
}

/* The backend of the two rows: "cpu", or "cpu → cuda" when they differ. */
static void backend_pair(const cmp_result *r, char *buf, size_t len)
{
    if (!strcmp(r->a->backend, r->b->backend)) snprintf(buf, len, "%s", r->a->backend);
    else snprintf(buf, len, "%s → %s", r->a->backend, r->b->backend);
}

/* The change column: "+3.2 % [+1.0, +5.1]", or "~" when nothing measurable changed. */
static void change_text(const cmp_result *r, char *buf, size_t len)
{
    if (!r->significant) snprintf(buf, len, "~");
    else snprintf(buf, len, "%+.1f %% [%+.1f, %+.1f]", 100 * (r->ratio.est - 1), 100 * (r->ratio.lo - 1),
                  100 * (r->ratio.hi - 1));
}

/* A Markdown table cell: the text with '|' escaped. */
static void md_cell(const char *s)
{
    fputs("| ", stdout);
    for (; *s; s++) {
        if (*s == '|' || *s == '\n') putchar(*s == '|' ? '\\' : ' ');
        if (*s != '\n') putchar(*s);
    }
    putchar(' ');
}

/* One source line of the Markdown header. */
static void md_source(const char *name, const cmp_side *s)
{
    const cJSON *dev = cJSON_GetObjectItemCaseSensitive(s->env, "device");
    printf("- **%s**: `%s` (%zu report%s): host %s, commit %s, date %s, cpu %s", name, s->path, s->reports,
           s->reports == 1 ? "" : "s", env_str(s, "host"), env_str(s, "commit"), env_str(s, "date"), env_str(s, "cpu"));
    if (cJSON_IsString(dev) && dev->valuestring[0]) printf(", device %s", dev->valuestring);
    printf("\n");
}

/* The keys of one side's unmatched rows, comma separated, the first ten. */
static void md_only(const char *name, const cmp_side *s)
{
    const size_t n = unmatched(s);
    printf("Only in %s: %zu configuration%s", name, n, n == 1 ? "" : "s");
    size_t shown = 0;
    for (size_t i = 0; i < s->n && shown < 10; i++)
        if (!s->rows[i].matched) printf("%s`%s`", shown++ ? ", " : " (", s->rows[i].key);
    printf("%s.\n", shown ? (n > shown ? ", ...)" : ")") : "");
}

/* The Markdown report: both sources, what the columns mean, one table, what only one side has. */
static void print_md(const cmp_side *a, const cmp_side *b, const cmp_result *res, size_t n, uint64_t seed)
{
    size_t changed = 0;
    for (size_t i = 0; i < n; i++) changed += res[i].significant;
    printf("# dyvm compare\n\n");
    md_source("A", a);
    md_source("B", b);
    printf("\nChange: median B / median A - 1, with its %.0f %% percentile bootstrap interval (%d replicates, each "
           "round resampled within itself, seed %llu); p: two-sided Mann-Whitney U test. `~` means no measurable "
           "difference (p >= %.2f or the interval contains no change), as benchstat prints it.\n\n",
           100 * CMP_LEVEL, CMP_REPS, (unsigned long long)seed, CMP_ALPHA);
    printf("| suite | model | variant | block policy | token policy | token ratio | batch | backend | A median ms "
           "| B median ms | change [95 %% CI] | p | n A | n B |\n"
           "|---|---|---|---|---|---:|---:|---|---:|---:|---|---:|---:|---:|\n");
    for (size_t i = 0; i < n; i++) {
        const cmp_result *r = &res[i];
        char be[128], ch[96], p[32];
        backend_pair(r, be, sizeof be);
        change_text(r, ch, sizeof ch);
        if (r->p < 0.001) snprintf(p, sizeof p, "<0.001");
        else snprintf(p, sizeof p, "%.3f", r->p);
        md_cell(r->a->suite), md_cell(r->a->model), md_cell(r->a->variant), md_cell(r->a->block_policy);
        md_cell(r->a->token_policy);
        printf("| %.4f | %lld ", r->a->token_ratio, r->a->batch);
        md_cell(be);
        printf("| %.3f | %.3f | %s | %s | %zu | %zu |\n", r->median_a, r->median_b, ch, p, r->a->n, r->b->n);
    }
    printf("\n%zu configuration%s compared: %zu changed, %zu `~`.\n", n, n == 1 ? "" : "s", changed, n - changed);
    md_only("A", a);
    md_only("B", b);
}

/* A CSV field, quoted when it holds a comma, a quote or a line break. */
static void csv_field(const char *s, const char *sep)
{
    if (!strpbrk(s, ",\"\n\r")) {
        printf("%s%s", s, sep);
        return;
    }
    putchar('"');
    for (; *s; s++) {
        if (*s == '"') putchar('"');
        putchar(*s);
    }
    printf("\"%s", sep);
}

/* One header line and one line per configuration in common. */
static void print_csv(const cmp_result *res, size_t n)
{
    printf("key,suite,model,variant,block_policy,token_policy,token_ratio,batch,backend_a,backend_b,median_a_ms,"
           "median_b_ms,ratio,ratio_ci_low,ratio_ci_high,p_value,n_a,n_b,significant\n");
    for (size_t i = 0; i < n; i++) {
        const cmp_result *r = &res[i];
        const char *fields[] = {r->a->key, r->a->suite, r->a->model, r->a->variant, r->a->block_policy,
                                r->a->token_policy};
        for (size_t f = 0; f < sizeof fields / sizeof *fields; f++) csv_field(fields[f], ",");
        printf("%.4f,%lld,", r->a->token_ratio, r->a->batch);
        csv_field(r->a->backend, ","), csv_field(r->b->backend, ",");
        printf("%.6f,%.6f,%.6f,%.6f,%.6f,%.6g,%zu,%zu,%s\n", r->median_a, r->median_b, r->ratio.est, r->ratio.lo,
               r->ratio.hi, r->p, r->a->n, r->b->n, r->significant ? "true" : "false");
    }
}

/* The "a" / "b" object of the JSON output: path, report count, the environment of the first report. */
static cJSON *json_source(const cmp_side *s)
{
    cJSON *o = cJSON_CreateObject(), *only = cJSON_CreateArray();
    cJSON_AddStringToObject(o, "path", s->path);
    cJSON_AddNumberToObject(o, "reports", (double)s->reports);
    cJSON_AddItemToObject(o, "environment", s->env ? cJSON_Duplicate(s->env, 1) : cJSON_CreateObject());
    for (size_t i = 0; i < s->n; i++)
        if (!s->rows[i].matched) cJSON_AddItemToArray(only, cJSON_CreateString(s->rows[i].key));
    cJSON_AddItemToObject(o, "only_here", only);
    return o;
}

/* One configuration in common as a JSON object (the dyvm-compare/1 row). */
static cJSON *json_row(const cmp_result *r)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "key", r->a->key);
    cJSON_AddStringToObject(o, "suite", r->a->suite);
    cJSON_AddStringToObject(o, "model", r->a->model);
    cJSON_AddStringToObject(o, "variant", r->a->variant);
    cJSON_AddStringToObject(o, "block_policy", r->a->block_policy);
    cJSON_AddStringToObject(o, "token_policy", r->a->token_policy);
    cJSON_AddNumberToObject(o, "token_ratio", r->a->token_ratio);
    cJSON_AddNumberToObject(o, "batch", (double)r->a->batch);
    cJSON_AddStringToObject(o, "backend_a", r->a->backend);
    cJSON_AddStringToObject(o, "backend_b", r->b->backend);
    cJSON_AddNumberToObject(o, "median_a_ms", r->median_a);
    cJSON_AddNumberToObject(o, "median_b_ms", r->median_b);
    cJSON_AddNumberToObject(o, "ratio", r->ratio.est);
    cJSON_AddNumberToObject(o, "ratio_ci_low", r->ratio.lo);
    cJSON_AddNumberToObject(o, "ratio_ci_high", r->ratio.hi);
    cJSON_AddNumberToObject(o, "p_value", r->p);
    cJSON_AddNumberToObject(o, "n_a", (double)r->a->n);
    cJSON_AddNumberToObject(o, "n_b", (double)r->b->n);
    cJSON_AddBoolToObject(o, "significant", r->significant);
    return o;
}

/* The dyvm-compare/1 document: sources, seed, the bootstrap settings, the rows. */
static void print_json(const cmp_side *a, const cmp_side *b, const cmp_result *res, size_t n, uint64_t seed, cli_format fmt)
{
    cJSON *j = cJSON_CreateObject(), *rows = cJSON_CreateArray();
    cJSON_AddStringToObject(j, "schema", "dyvm-compare/1");
    cJSON_AddItemToObject(j, "a", json_source(a));
    cJSON_AddItemToObject(j, "b", json_source(b));
    cJSON_AddNumberToObject(j, "seed", (double)seed);
    cJSON_AddNumberToObject(j, "level", CMP_LEVEL);
    cJSON_AddNumberToObject(j, "reps", CMP_REPS);
    cJSON_AddNumberToObject(j, "alpha", CMP_ALPHA);
    for (size_t i = 0; i < n; i++) cJSON_AddItemToArray(rows, json_row(&res[i]));
    cJSON_AddItemToObject(j, "rows", rows);
    cli_print_json(j, fmt);
    cJSON_Delete(j);
}

/* The flags and the two paths; 2 after one line on stderr for anything wrong, -1 for --help. */
static int parse_args(int argc, char **argv, const char **path, cli_format *fmt, uint64_t *seed)
{
    int npaths = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) return -1;
        if (!strcmp(a, "--format")) {
            if (!(v = cli_value(argc, argv, &i, "compare", NULL, NULL)) || cli_parse_format(v, fmt)) return 2;
        } else if (!strcmp(a, "--seed")) {
            if (!(v = cli_value(argc, argv, &i, "compare", NULL, NULL)) || cli_u64("--seed", v, seed)) return 2;
        } else if (a[0] == '-' && a[1]) {
            return cli_fail("compare: unknown option \"%s\" (see dyvm compare --help)", a);
        } else if (npaths == 2) {
            return cli_fail("compare: a third report \"%s\": compare takes two, A and B", a);
        } else {
            path[npaths++] = a;
        }
    }
    if (npaths < 2) return cli_fail("compare: needs two reports, A and B (usage: dyvm compare A B [--format md|csv|json|jsonl] [--seed S])");
    return 0;
}

/* dyvm compare A B: load both sides, key them, compare what they share, print it. */
int cmd_compare(int argc, char **argv)
{
    const char *path[2] = {NULL, NULL};
    cli_format fmt = CLI_FMT_MD;
    uint64_t seed = 0;
    const int args = parse_args(argc, argv, path, &fmt, &seed);
    if (args < 0) return fputs(compare_usage, stdout), 0;
    if (args) return args;
    cmp_side a = {0}, b = {0};
    int rc = side_load(&a, path[0]);
    if (!rc) rc = side_load(&b, path[1]);
    if (!rc) rc = assign_keys(&a, &b);
    size_t n = 0;
    cmp_result *res = rc ? NULL : match(&a, &b, seed, &n);
    if (!rc && !res) rc = cli_fail("out of memory");
    if (!rc && n == 0) rc = cli_fail("no configuration in common between A and B (%s: %zu, %s: %zu)", path[0], a.n, path[1], b.n);
    if (!rc) {
        if (fmt == CLI_FMT_MD) print_md(&a, &b, res, n, seed);
        else if (fmt == CLI_FMT_CSV) print_csv(res, n);
        else print_json(&a, &b, res, n, seed, fmt);
    }
    free(res);
    side_free(&a);
    side_free(&b);
    return rc;
}
