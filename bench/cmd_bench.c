/* `dyvm bench`: time one configuration, or run the named suites into a report folder. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "cuda_backend.h"
#include "commands.h"
#include "plot.h"
#include "report.h"
#include "suites.h"

static const char bench_usage[] =
    "usage: dyvm bench (--preset vim-t|vim-s|vim-b|tiny | --weights W) [--variant V] [--block-policy P]\n"
    "                  [--token-policy learned|even] [--token-ratio R] [--batch B] [--threads N]\n"
    "                  [--backend cpu|cuda] [--precision fp32|tf32]\n"
    "                  [--seed S] [--weights-seed S] [--format md|csv|json] [--profile]\n"
    "                  [--min-samples N] [--min-time S] [--max-time S] [--target-cv X]\n"
    "       dyvm bench --suite all|paper|blocks|keep|batch|breakdown [--out reports] [--quick] [--threads N]\n"
    "                  [--backend cpu|cuda] [--precision fp32|tf32]\n"
    "  One configuration: warm-up, then forwards on a monotonic clock until at least --min-samples and\n"
    "  --min-time, stopping when the cv is below --target-cv or has settled, at most --max-time seconds.\n"
    "  Suites write reports/<date>-<host>-<backend>/ (CSV, JSON, Markdown, PNG and SVG plots) and\n"
    "  update reports/index.md.\n";

static dyvm_timing default_timing(bool quick)
{
    dyvm_timing t = {.warmup = quick ? 1 : 2, .warmup_seconds = quick ? 0.05 : 0.3};
    t.rule = (dyvm_stop_rule){.min_samples = quick ? 3 : 7, .min_seconds = quick ? 0.15 : 1.0,
                              .max_seconds = quick ? 1.0 : 8.0, .target_cv = quick ? 0.02 : 0.01, .window = 5,
                              .max_samples = 1000};
    return t;
}

static int mkdir_p(const char *path)
{
    char tmp[1024];
    snprintf(tmp, sizeof tmp, "%s", path);
    for (char *p = tmp + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            if (mkdir(tmp, 0755) && errno != EEXIST) return -1;
            *p = '/';
        }
    return mkdir(tmp, 0755) && errno != EEXIST ? -1 : 0;
}

static int by_name(const struct dirent **a, const struct dirent **b) { return -strcmp((*a)->d_name, (*b)->d_name); }

/* reports/index.md: one line per report folder that has an env.json, newest first */
static void write_index(const char *root)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/index.md", root);
    FILE *f = fopen(path, "w");
    if (!f) return (void)cli_fail("%s: cannot write", path);
    fprintf(f, "# Reports\n\nEach folder is one real run of `make bench` (or `dyvm bench --suite`), with its "
               "environment.\n\n| folder | date | host | backend | CPU / device | commit |\n|---|---|---|---|---|---|\n");
    struct dirent **ents;
    int n = scandir(root, &ents, NULL, by_name);
    for (int i = 0; i < n; i++) {
        char envp[1024];
        snprintf(envp, sizeof envp, "%s/%s/env.json", root, ents[i]->d_name);
        FILE *e = ents[i]->d_name[0] != '.' ? fopen(envp, "r") : NULL;
        if (e) {
            char buf[8192];
            size_t len = fread(buf, 1, sizeof buf - 1, e);
            buf[len] = 0;
            fclose(e);
            cJSON *j = cJSON_Parse(buf);
            const char *keys[] = {"date", "host", "backend", "cpu", "commit"};
            fprintf(f, "| [%s](%s/README.md) |", ents[i]->d_name, ents[i]->d_name);
            for (int k = 0; k < 5; k++) {
                const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, keys[k]);
                fprintf(f, " %s |", cJSON_IsString(v) ? v->valuestring : "?");
            }
            fprintf(f, "\n");
            cJSON_Delete(j);
        }
        free(ents[i]);
    }
    if (n >= 0) free(ents);
    fclose(f);
}

static int run_suites(const char *which, const char *root, bool quick, int64_t threads, uint64_t seed, uint64_t wseed,
                      const char *backend, const char *precision)
{
    dyvm_suite_ctx s = {.quick = quick, .input_seed = seed, .weights_seed = wseed, .scripts = "scripts/plots",
                        .backend = backend, .precision = precision, .batch = strcmp(backend, "cuda") ? 1 : 128};
    char why[CLI_ERR];
    if (!strcmp(backend, "cuda") && !dyvm_cuda_available(why, sizeof why)) return cli_fail("%s", why);
    cli_threads(threads);
    s.threads = cli_thread_count();
    dyvm_env_collect(&s.env, backend, NULL); /* the device line is filled in when the first model loads */
    s.timing = default_timing(quick);
    s.plots = dyvm_have_gnuplot();
    char dir[1024], path[1100], err[CLI_ERR];
    snprintf(dir, sizeof dir, "%s/%.10s-%s-%s%s", root, s.env.date, s.env.host, backend, quick ? "-quick" : "");
    if (mkdir_p(dir)) return cli_fail("%s: cannot create (%s)", dir, strerror(errno));
    s.dir = dir;
    snprintf(path, sizeof path, "%s/README.md", dir);
    if (!(s.readme = fopen(path, "w"))) return cli_fail("%s: cannot write", path);
    fprintf(s.readme, "# dyvm-bench report: %s%s\n\nA real run of `dyvm bench --suite %s%s`. Weights: presets "
                      "generated from seed %llu (official initialisation, untrained: the learned block and token "
                      "decisions are those of random heads). Inputs: N(0,1) images from seed %llu. Timing: %d warm-up "
                      "forwards, then at least %zu samples and %.2f s, stopping when the cv is below %.0f %% or has "
                      "settled, at most %.0f s per configuration. Every number here was measured in this run.\n\n",
            s.env.backend, quick ? " (quick)" : "", which, quick ? " --quick" : "", (unsigned long long)wseed,
            (unsigned long long)seed, s.timing.warmup, s.timing.rule.min_samples, s.timing.rule.min_seconds,
            100 * s.timing.rule.target_cv, s.timing.rule.max_seconds);
    if (!s.plots) fprintf(s.readme, "gnuplot was not found: tables only, plots skipped.\n");
    int rc = 0;
    const double t0 = dyvm_now_ms();
    for (int i = 0; !rc && dyvm_suite_names[i]; i++)
        if (!strcmp(which, "all") || !strcmp(which, dyvm_suite_names[i])) {
            fprintf(stderr, "== suite %s\n", dyvm_suite_names[i]);
            fflush(s.readme);
            if (dyvm_run_suite(&s, dyvm_suite_names[i])) rc = 2;
        }
    fprintf(s.readme, "\n## Environment\n\n");
    dyvm_env_markdown(&s.env, s.readme);
    fclose(s.readme);
    cJSON *ej = dyvm_env_json(&s.env);
    snprintf(path, sizeof path, "%s/env.json", dir);
    if (dyvm_write_json(path, ej, err, sizeof err)) rc = cli_fail("%s", err);
    cJSON_Delete(ej);
    if (!rc) {
        write_index(root);
        fprintf(stderr, "== wrote %s in %.0f s\n", dir, (dyvm_now_ms() - t0) / 1e3);
    }
    return rc;
}

int cmd_bench(int argc, char **argv)
{
    const char *suite = NULL, *out = "reports", *format = "md";
    bool quick = false, profile = false;
    dyvm_timing t = default_timing(false);
    cli_shared c;
    cli_shared_init(&c, "vim");
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) return fputs(bench_usage, stdout), 0;
        if (!strcmp(a, "--quick")) { quick = true, t = default_timing(true); continue; }
        if (!strcmp(a, "--profile")) { profile = true; continue; }
        if (!(v = cli_value(argc, argv, &i))) return 2;
        const int shared = cli_shared_flag(&c, a, v);
        if (shared < 0) return 2;
        if (shared) continue;
        if (!strcmp(a, "--suite")) suite = v;
        else if (!strcmp(a, "--out")) out = v;
        else if (!strcmp(a, "--format")) format = v;
        else if (!strcmp(a, "--min-samples")) {
            int64_t x;
            if (cli_int(a, v, 1, 1000000, &x)) return 2;
            t.rule.min_samples = (size_t)x;
        } else if (!strcmp(a, "--min-time")) {
            if (cli_double(a, v, 0, 3600, &t.rule.min_seconds)) return 2;
        } else if (!strcmp(a, "--max-time")) {
            if (cli_double(a, v, 0, 36000, &t.rule.max_seconds)) return 2;
        } else if (!strcmp(a, "--target-cv")) {
            if (cli_double(a, v, 0, 1, &t.rule.target_cv)) return 2;
        } else
            return cli_fail("bench: unknown option \"%s\" (see dyvm bench --help)", a);
    }
    if (cli_shared_finish(&c, "bench")) return 2;
    if (suite) {
        bool known = !strcmp(suite, "all");
        for (int i = 0; dyvm_suite_names[i]; i++) known |= !strcmp(suite, dyvm_suite_names[i]);
        if (!known) return cli_fail("--suite: \"%s\" is not all, paper, blocks, keep, batch or breakdown", suite);
        if (c.weights || c.preset) return cli_fail("bench: --suite runs the presets; not with --weights or --preset");
        return run_suites(suite, out, quick, c.threads, c.seed, c.weights_seed, c.backend, c.precision);
    }
    if (strcmp(format, "md") && strcmp(format, "csv") && strcmp(format, "json"))
        return cli_fail("--format: \"%s\" is not md, csv or json", format);
    if (!c.weights && !c.preset) return cli_fail("bench: give --preset, --weights or --suite");
    if (t.rule.max_seconds < t.rule.min_seconds) return cli_fail("--max-time is below --min-time");
    char err[CLI_ERR];
    dyvm_weights w;
    if (cli_model(c.weights, c.preset, c.weights_seed, &w)) return 2;
    dyvm_case cs = {.opts = c.opts, .batch = c.batch, .threads = cli_thread_count(), .profile = profile};
    snprintf(cs.model, sizeof cs.model, "%s", c.preset ? c.preset : w.cfg.name);
    snprintf(cs.block_policy, sizeof cs.block_policy, "%s", c.block_policy);
    float *x = cli_random_images(&w.cfg, c.batch, c.seed);
    dyvm_backend *be = x ? cli_backend(c.backend, c.precision, &w) : NULL;
    dyvm_graph *g = be ? dyvm_graph_new(be, c.batch, err, sizeof err) : NULL;
    int rc = 2;
    dyvm_row row;
    if (be && !g) cli_fail("%s", err);
    else if (g) {
        if (dyvm_time_case(g, be, x, &cs, &t, &row, err, sizeof err)) cli_fail("%s", err);
        else {
            dyvm_env env;
            dyvm_env_collect(&env, be->name, be->device);
            if (!strcmp(format, "json")) {
                cJSON *j = dyvm_suite_json("single", &env, &row, 1);
                char *txt = cJSON_Print(j);
                puts(txt);
                free(txt);
                cJSON_Delete(j);
            } else if (!strcmp(format, "csv")) dyvm_rows_csv(stdout, &row, 1);
            else {
                printf("weights seed %llu, input seed %llu\n\n", (unsigned long long)c.weights_seed,
                       (unsigned long long)c.seed);
                dyvm_env_markdown(&env, stdout);
                printf("\n");
                dyvm_rows_markdown(stdout, &row, 1);
                if (profile)
                    for (int s = 0; s < STAGE_COUNT; s++)
                        printf("%s%s %.3f ms", s ? ", " : "\nper stage: ", dyvm_stage_name((dyvm_stage)s), row.stage_ms[s]);
                printf("\n");
            }
            dyvm_row_free(&row);
            rc = 0;
        }
    }
    dyvm_graph_free(g);
    if (be) be->destroy(be);
    free(x);
    dyvm_weights_free(&w);
    return rc;
}
