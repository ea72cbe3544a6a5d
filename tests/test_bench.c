/* The harness's pieces that can be checked without measuring speed: statistics, the stopping rule, the
 * report writers (CSV, JSON schema, Markdown) and the plot runner's failure detection. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "plot.h"
#include "report.h"
#include "stats.h"

static void statistics(void)
{
    const double x[] = {5, 1, 4, 2, 3}; /* sorted: 1 2 3 4 5 */
    dyvm_stats s = dyvm_stats_of(x, 5);
    check(s.median == 3 && s.min == 1 && s.max == 5 && s.mean == 3, "median, min, max, mean of 1..5");
    check(fabs(s.p90 - 4.6) < 1e-12 && fabs(s.p99 - 4.96) < 1e-12, "p90 %.3f, p99 %.3f (linear interpolation, as numpy)",
          s.p90, s.p99);
    check(fabs(s.stddev - sqrt(2.5)) < 1e-12 && fabs(s.cv - sqrt(2.5) / 3) < 1e-12, "sample stddev and cv");
    const double one[] = {7};
    s = dyvm_stats_of(one, 1);
    check(s.median == 7 && s.p99 == 7 && s.cv == 0, "one sample");
    const double even[] = {4, 1, 3, 2};
    check(dyvm_stats_of(even, 4).median == 2.5, "median of an even count interpolates");
}

static void stop_rule(void)
{
    dyvm_stop_rule r = {.min_samples = 5, .min_seconds = 1.0, .max_seconds = 10, .target_cv = 0.01, .window = 3,
                        .max_samples = 100};
    const double flat[] = {10, 10, 10, 10, 10, 10};
    const char *why;
    check(!dyvm_should_stop(&r, flat, 4, 5.0, &why), "not before min_samples");
    check(!dyvm_should_stop(&r, flat, 6, 0.5, &why), "not before min_seconds");
    check(dyvm_should_stop(&r, flat, 6, 1.5, &why) && !strcmp(why, "cv below target"), "flat samples stop: %s", why);
    double noisy[40];
    for (int i = 0; i < 40; i++) noisy[i] = i % 2 ? 10 : 20; /* cv stays about 0.33, settles */
    check(dyvm_should_stop(&r, noisy, 40, 2.0, &why) && !strcmp(why, "cv settled"), "noisy but settled samples stop: %s", why);
    double drift[12];
    for (int i = 0; i < 12; i++) drift[i] = 10 + i * i; /* spread still growing */
    check(!dyvm_should_stop(&r, drift, 12, 2.0, &why), "growing spread keeps sampling");
    check(dyvm_should_stop(&r, drift, 12, 11.0, &why) && !strcmp(why, "timeout"), "timeout caps it: %s", why);
}

static dyvm_row fake_row(double *samples, size_t n, dyvm_variant v)
{
    dyvm_row r = {0};
    snprintf(r.c.model, sizeof r.c.model, "vim_t_test"); /* underscores must survive every writer */
    snprintf(r.c.block_policy, sizeof r.c.block_policy, "ratio:0.8");
    snprintf(r.backend, sizeof r.backend, "cpu");
    r.c.opts.variant = v;
    r.c.batch = 2, r.c.threads = 2, r.token_ratio = 0.7;
    r.samples_ms = samples, r.n_samples = n;
    r.st = dyvm_stats_of(samples, n);
    r.stop_reason = "cv below target";
    r.images_per_s = 2 / (r.st.median / 1e3);
    r.flops.paper_total = 3239385331.2, r.flops.full_total = 6.75e9, r.flops.block_ratio = 0.8;
    r.tokens[0] = 197, r.tokens[1] = 138, r.n_tokens = 2;
    return r;
}

static void writers(void)
{
    double s1[] = {10, 11, 12}, s2[] = {20, 21};
    dyvm_row rows[2] = {fake_row(s1, 3, VARIANT_DYVM), fake_row(s2, 2, VARIANT_VIM)};
    dyvm_env env;
    dyvm_env_collect(&env, "cpu", NULL);
    check(env.cores > 0 && env.cpu[0] && env.blas[0] && env.commit[0] && env.date[0], "environment block: %s, %d cores, %s",
          env.cpu, env.cores, env.commit);
    /* JSON: the schema and the stable names checks outside the project read */
    cJSON *j = dyvm_suite_json("test", &env, rows, 2);
    char *txt = cJSON_Print(j);
    cJSON *back = cJSON_Parse(txt);
    const cJSON *res = cJSON_GetObjectItemCaseSensitive(back, "results");
    const char *keys[] = {"model", "variant", "backend", "batch", "median_ms", "p90_ms", "p99_ms", "min_ms", "max_ms",
                          "cv", "samples", "images_per_s", "flops_paper", "flops_full", "samples_ms", "tokens"};
    int ok = cJSON_IsArray(res) && cJSON_GetArraySize(res) == 2 &&
             !strcmp(cJSON_GetObjectItemCaseSensitive(back, "schema")->valuestring, "dyvm-bench/1") &&
             cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(back, "environment"));
    for (size_t k = 0; ok && k < sizeof keys / sizeof keys[0]; k++) ok = cJSON_GetObjectItemCaseSensitive(res->child, keys[k]) != NULL;
    const cJSON *r0 = res ? res->child : NULL;
    ok = ok && cJSON_GetObjectItemCaseSensitive(r0, "median_ms")->valuedouble == 11 &&
         cJSON_GetObjectItemCaseSensitive(r0, "samples")->valuedouble == 3 &&
         cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(r0, "samples_ms")) == 3 &&
         !strcmp(cJSON_GetObjectItemCaseSensitive(r0, "model")->valuestring, "vim_t_test") &&
         !strcmp(cJSON_GetObjectItemCaseSensitive(r0, "block_policy")->valuestring, "ratio:0.8") &&
         !strcmp(cJSON_GetObjectItemCaseSensitive(res->child->next, "block_policy")->valuestring, "none");
    check(ok, "JSON: schema dyvm-bench/1, environment, every stable row key, raw samples, values round-trip");
    free(txt);
    cJSON_Delete(j), cJSON_Delete(back);
    /* CSV: a header and one line per row, the same number of fields on each */
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    dyvm_rows_csv(f, rows, 2);
    fclose(f);
    int lines = 0, fields[3] = {0};
    for (char *p = buf; *p; p++) {
        if (*p == ',' && lines < 3) fields[lines]++;
        if (*p == '\n') lines++;
    }
    check(lines == 3 && fields[0] == fields[1] && fields[1] == fields[2] && !strncmp(buf, "model,variant,backend,batch", 27) &&
          strstr(buf, "vim_t_test,dyvm,cpu,2,2,ratio:0.8,learned,0.7000,11.0000"),
          "CSV: header + 2 rows, %d fields each", fields[0] + 1);
    free(buf);
    f = open_memstream(&buf, &len);
    dyvm_rows_markdown(f, rows, 2);
    fclose(f);
    lines = 0;
    for (char *p = buf; *p; p++) lines += *p == '\n';
    check(lines == 4 && strstr(buf, "| vim_t_test | dyvm | ratio:0.8 |") && strstr(buf, "197→138"),
          "Markdown: header, rule and 2 rows");
    free(buf);
}

static void plots(void)
{
    if (!dyvm_have_gnuplot()) return check_skip("plots: gnuplot not found");
    char dir[] = "/tmp/dyvm-plot-XXXXXX", script[128], png[128], svg[128], err[512];
    if (!mkdtemp(dir)) return (void)check(0, "mkdtemp");
    snprintf(png, sizeof png, "%s/p.png", dir), snprintf(svg, sizeof svg, "%s/p.svg", dir);
    snprintf(script, sizeof script, "%s/good.gp", dir);
    FILE *f = fopen(script, "w");
    fprintf(f, "set title name\nplot '-' using 1:2 with lines title 'block_head time'\n1 2\n2 3\ne\n");
    fclose(f);
    int rc = dyvm_plot(script, "name='under_scored'", png, svg, err, sizeof err);
    check(rc == 0, "a good plot writes a PNG and an SVG%s%s", rc ? ": " : "", rc ? err : "");
    /* the SVG keeps underscores as text: no enhanced-text subscripts */
    char cmd[512];
    snprintf(cmd, sizeof cmd, "grep -q 'under_scored' %s && grep -q 'block_head time' %s", svg, svg);
    check(system(cmd) == 0, "underscores stay underscores (noenhanced)");
    snprintf(script, sizeof script, "%s/bad.gp", dir);
    f = fopen(script, "w");
    fprintf(f, "plot 'no-such-file.dat' using 1:2\n");
    fclose(f);
    rc = dyvm_plot(script, "x=1", png, svg, err, sizeof err);
    check(rc != 0 && strstr(err, "gnuplot"), "a failing gnuplot script fails the plot: %s", err);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd)) { /* leftovers in /tmp are harmless */ }
}

int main(void)
{
    statistics();
    stop_rule();
    writers();
    plots();
    return check_summary();
}
