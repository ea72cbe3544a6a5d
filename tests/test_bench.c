/* The harness's pieces that can be checked without measuring speed: statistics, the stopping rule, the
 * report writers (CSV, JSON schema, Markdown) and the plot runner's failure detection. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "peaks.h"
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
    check(!dyvm_should_stop(&r, drift, 1, 11.0, &why) && dyvm_should_stop(&r, drift, 2, 11.0, &why),
          "the timeout waits for a second sample (a round of one forward has no spread)");
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
    r.rounds = 2, r.round_n[0] = n - 1, r.round_n[1] = 1; /* two rounds */
    r.round_median_ms[0] = dyvm_median(samples, n - 1), r.round_median_ms[1] = samples[n - 1];
    r.st = dyvm_stats_of(samples, n);
    r.ips_ci = (dyvm_interval){2 / (r.st.median / 1e3), 150, 190};
    r.floor_ms = NAN, r.sol = NAN;
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
    rows[0].have_speedup = true, rows[0].speedup = (dyvm_interval){1.9, 1.8, 2.0};
    snprintf(rows[0].speedup_vs, sizeof rows[0].speedup_vs, "vim");
    rows[0].floor_ms = 5.5, rows[0].sol = 0.5;
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
    const cJSON *r1 = r0 ? r0->next : NULL;
    const cJSON *rm = cJSON_GetObjectItemCaseSensitive(r0, "round_medians_ms"), *rs = cJSON_GetObjectItemCaseSensitive(r0, "round_samples");
    check(cJSON_GetArraySize(rm) == 2 && cJSON_GetArrayItem(rm, 0)->valuedouble == 10.5 &&
          cJSON_GetArrayItem(rm, 1)->valuedouble == 12 && cJSON_GetArrayItem(rs, 0)->valuedouble == 2 &&
          cJSON_GetArrayItem(rs, 1)->valuedouble == 1 && cJSON_GetObjectItemCaseSensitive(r0, "rounds")->valuedouble == 2,
          "JSON: rounds, round_medians_ms and round_samples");
    check(cJSON_GetObjectItemCaseSensitive(r0, "speedup")->valuedouble == 1.9 &&
          cJSON_GetObjectItemCaseSensitive(r0, "speedup_ci_low")->valuedouble == 1.8 &&
          cJSON_GetObjectItemCaseSensitive(r0, "speedup_ci_high")->valuedouble == 2.0 &&
          !strcmp(cJSON_GetObjectItemCaseSensitive(r0, "speedup_vs")->valuestring, "vim") &&
          cJSON_GetObjectItemCaseSensitive(r0, "floor_ms")->valuedouble == 5.5 &&
          cJSON_GetObjectItemCaseSensitive(r0, "sol")->valuedouble == 0.5 &&
          cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(r1, "speedup")) &&
          cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(r1, "speedup_ci_low")) &&
          cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(r1, "floor_ms")) &&
          cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(r1, "sol")),
          "JSON: speedup with its interval, floor_ms and sol where they apply, null where not");
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
    check(lines == 4 && strstr(buf, "| vim_t_test | dyvm | ratio:0.8 |") && strstr(buf, "197→138") &&
          strstr(buf, "1.90× [1.80, 2.00]") && strstr(buf, "(baseline)") && strstr(buf, "| 5.50 | 0.50 |"),
          "Markdown: header, rule and 2 rows, the speed-up with its interval, floor and sol");
    free(buf);
}

/* The floor: max(compute, memory) per stage from the measured roofs, by hand on made-up work and roofs. */
static void floor_model(void)
{
    static dyvm_peaks p;
    memset(&p, 0, sizeof p);
    p.measured = true, p.sgemm_gflops = 100, p.fma_gflops = 50, p.exp_per_s = 1e9, p.bandwidth_gbs = 10;
    p.n_gemm = 1, p.gemm[0] = (dyvm_gemm_peak){.model = "m", .stage = STAGE_IN_PROJ, .gflops = 40};
    dyvm_flops f;
    memset(&f, 0, sizeof f);
    f.macs[STAGE_IN_PROJ] = 2e9;   /* 4 GFLOP at this shape's 40 GFLOP/s: 100 ms; 1 MB at 10 GB/s: 0.1 ms */
    f.bytes[STAGE_IN_PROJ] = 0.5e6; /* per image, batch 2 */
    f.macs[STAGE_SCAN] = 1e9, f.elem[STAGE_SCAN] = 1e9, f.transc[STAGE_SCAN] = 1e8; /* (2+1) G / 50 G + 0.1 s = 160 ms */
    f.bytes[STAGE_GATHER] = 1e9;   /* data movement only: 2 GB at 10 GB/s = 200 ms */
    double st[STAGE_COUNT];
    const double total = dyvm_floor_ms(&p, "m", &f, 2, st);
    check(fabs(st[STAGE_IN_PROJ] - 100) < 1e-9 && fabs(st[STAGE_SCAN] - 160) < 1e-9 && fabs(st[STAGE_GATHER] - 200) < 1e-9 &&
          st[STAGE_HEAD] == 0 && fabs(total - 460) < 1e-9,
          "floor: GEMM stage at its shape's roof, vector stage at FMA + exp roofs, data movement at the bandwidth "
          "(%.1f + %.1f + %.1f = %.1f ms)", st[STAGE_IN_PROJ], st[STAGE_SCAN], st[STAGE_GATHER], total);
    /* dt_proj: the CPU's vector kernel (FMA roof), the GPU's cuBLAS product (its shape's sgemm roof) */
    dyvm_flops fd;
    memset(&fd, 0, sizeof fd);
    fd.macs[STAGE_DT_PROJ] = 1e9; /* 2 GFLOP: 40 ms at the FMA rate, 20 ms at the sgemm rate (no shape: the best) */
    snprintf(p.backend, sizeof p.backend, "cpu");
    const double on_cpu = dyvm_floor_ms(&p, "m", &fd, 1, NULL);
    snprintf(p.backend, sizeof p.backend, "cuda");
    const double on_gpu = dyvm_floor_ms(&p, "m", &fd, 1, NULL);
    check(fabs(on_cpu - 40) < 1e-9 && fabs(on_gpu - 20) < 1e-9,
          "floor: dt_proj at the FMA rate on the CPU (%.1f ms), at the sgemm rate on the GPU (%.1f ms)", on_cpu, on_gpu);
    /* data in the last-level cache (1 MiB at 100 GB/s here) when it fits there: 1 MB per forward, 0.2 MB of it
       weights; 0.01 ms all from the cache, 0.082 with the activations too many, 0.1 with the weights too */
    p.cache_gbs = 100, p.llc_mib = 1;
    dyvm_flops fm;
    memset(&fm, 0, sizeof fm);
    fm.bytes[STAGE_NORM] = 1e6, fm.weight_bytes[STAGE_NORM] = fm.weight_total = 0.2e6, fm.act_set[STAGE_NORM] = 0.5e6;
    const double cached = dyvm_floor_ms(&p, "m", &fm, 1, NULL);
    fm.act_set[STAGE_NORM] = 2e6;
    const double acts_out = dyvm_floor_ms(&p, "m", &fm, 1, NULL);
    fm.weight_total = 2e6;
    const double both_out = dyvm_floor_ms(&p, "m", &fm, 1, NULL);
    p.cache_gbs = 0;
    const double no_cache_roof = dyvm_floor_ms(&p, "m", &fm, 1, NULL);
    check(fabs(cached - 0.01) < 1e-12 && fabs(acts_out - 0.082) < 1e-12 && fabs(both_out - 0.1) < 1e-12 &&
              fabs(no_cache_roof - 0.1) < 1e-12,
          "floor: bytes at the cache's rate where their working set fits the last-level cache (%.3f, %.3f, %.3f ms; "
          "without a cache roof %.3f)", cached, acts_out, both_out, no_cache_roof);
    check(fabs(dyvm_stage_gemm_roof(&p, "other", STAGE_IN_PROJ, 1) - 100) < 1e-12,
          "a model without measured shapes falls back to the best sgemm rate");
    /* in_proj measured at batch 1 (40), 4 (60) and 8 (90): each batch's roof is the best up to the next
       measured batch at or above it, all of them above the largest */
    p.n_gemm = 3;
    p.gemm[1] = (dyvm_gemm_peak){.model = "m", .stage = STAGE_IN_PROJ, .batch = 4, .gflops = 60};
    p.gemm[2] = (dyvm_gemm_peak){.model = "m", .stage = STAGE_IN_PROJ, .batch = 8, .gflops = 90};
    p.gemm[0].batch = 1;
    const double r1 = dyvm_stage_gemm_roof(&p, "m", STAGE_IN_PROJ, 1), r2 = dyvm_stage_gemm_roof(&p, "m", STAGE_IN_PROJ, 2),
                 r8 = dyvm_stage_gemm_roof(&p, "m", STAGE_IN_PROJ, 8), r16 = dyvm_stage_gemm_roof(&p, "m", STAGE_IN_PROJ, 16);
    check(r1 == 40 && r2 == 60 && r8 == 90 && r16 == 90,
          "the GEMM roof at batch 1, 2, 8, 16: %.0f, %.0f, %.0f, %.0f GFLOP/s (40, 60, 90, 90)", r1, r2, r8, r16);
    p.measured = false;
    check(isnan(dyvm_floor_ms(&p, "m", &f, 2, NULL)), "no peaks: no floor (NAN, written as null)");
}

/* Rounds on a real graph (the tiny preset): each round appends its samples; the row keeps them by round. */
static void rounds(void)
{
    dyvm_weights w;
    dyvm_config c;
    char err[512];
    if (dyvm_config_preset("tiny", &c, err, sizeof err) || dyvm_weights_init(&w, &c, 1, err, sizeof err))
        return (void)check(0, "tiny preset: %s", err);
    dyvm_backend *be = dyvm_cpu_backend(&w);
    dyvm_graph *g = dyvm_graph_new(be, 2, err, sizeof err);
    float *x = calloc((size_t)(2 * c.channels * c.img * c.img), sizeof *x);
    dyvm_case cs = {.batch = 2, .threads = 1};
    snprintf(cs.model, sizeof cs.model, "tiny");
    snprintf(cs.block_policy, sizeof cs.block_policy, "keep:0.5");
    cs.opts.variant = VARIANT_BLOCK, cs.opts.token = TOKEN_EVEN;
    dyvm_parse_block_policy("keep:0.5", &cs.opts.block, err, sizeof err);
    dyvm_timing t = {.warmup = 1, .rounds = 3, .bootstrap_reps = 200};
    t.rule = (dyvm_stop_rule){.min_samples = 4, .max_seconds = 60, .target_cv = 1e300, .window = 2, .max_samples = 100};
    dyvm_row row;
    memset(&row, 0, sizeof row);
    int rc = 0;
    for (int r = 0; r < t.rounds && !rc; r++) rc = dyvm_time_round(g, be, x, &cs, &t, &row, err, sizeof err);
    dyvm_row_finish(&row, &t);
    size_t sum = 0;
    int med_ok = 1;
    for (int r = 0; r < row.rounds; r++) {
        med_ok &= row.round_median_ms[r] == dyvm_median(row.samples_ms + sum, row.round_n[r]);
        sum += row.round_n[r];
    }
    check(!rc && row.rounds == 3 && sum == row.n_samples && row.n_samples == 12 && med_ok,
          "3 rounds of 4 samples: %zu samples kept by round, each round's median", row.n_samples);
    check(row.have_flops && fabs(row.flops.block_ratio - (double)dyvm_block_keep_count(0.5, c.depth) / (2.0 * (double)c.depth)) < 1e-12 &&
          row.ips_ci.lo <= row.images_per_s && row.images_per_s <= row.ips_ci.hi,
          "the row has its realized policy (keep ratio %.3f) and a throughput interval around its median", row.flops.block_ratio);
    dyvm_row_free(&row);
    free(x);
    dyvm_graph_free(g);
    be->destroy(be);
    dyvm_weights_free(&w);
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
    floor_model();
    rounds();
    plots();
    return check_summary();
}
