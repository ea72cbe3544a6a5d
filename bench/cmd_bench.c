/* `dyvm bench`: time one configuration, or run the named suites into a report folder. */
#include <dirent.h>
#include <ftw.h>
#include <signal.h>
#include <unistd.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "atomic_file.h"
#include "cli.h"
#include "decisions.h"
#include "cuda_backend.h"
#include "commands.h"
#include "plot.h"
#include "report.h"
#include "shard.h"
#include "suites.h"

static const char bench_usage[] =
    "usage: dyvm bench (--preset vim-t|vim-s|vim-b|tiny | --weights W) [--variant V] [--block-policy P]\n"
    "                  [--token-policy learned|even] [--token-ratio R] [--batch B] [--threads N]\n"
    "                  [--backend cpu|cuda] [--precision fp32|tf32]\n"
    "                  [--seed S] [--weights-seed S] [--format md|csv|json|jsonl] [--profile]\n"
    "                  [--min-samples N] [--min-time S] [--max-time S] [--target-cv X] [--rounds R]\n"
    "                  [--order-seed S] [--no-peaks] [--isa auto|avx512|avx2|scalar] [--scan v1|v2] [--img-size N]\n"
    "       dyvm bench --suite all|paper|blocks|keep|batch|breakdown|threads|sol|resolution [--out reports] [--quick] [--threads N]\n"
    "                  [--backend cpu|cuda] [--precision fp32|tf32] [--rounds R] [--order-seed S] [--no-peaks]\n"
    "                  [--isa auto|avx512|avx2|scalar] [--scan v1|v2] [--shard i/n]\n"
    "  --shard i/n times only the i-th of n balanced slices of the suites' configurations into OUT/shard-i-of-n/\n"
    "  (shard.json); dyvm merge OUT/shard-* --out REPORT makes the report (scripts/slurm/ for Slurm).\n"
    "  --isa chooses the CPU kernels (default auto: the widest this CPU supports; dyvm info --isas lists them;\n"
    "  avx512emu, AVX-512's 16-wide kernels on AVX2 + FMA, gives their bits, not their speed).\n"
    "  --scan chooses the CUDA scan kernel: v1 (default: one direction per launch) or v2 (both directions fused).\n"
    "  Configurations are timed in --rounds rounds (default 3, --quick 2), each round in an order shuffled\n"
    "  from --order-seed (default 0). Each round of a configuration: warm-up, then forwards on a monotonic\n"
    "  clock until at least --min-samples and --min-time, stopping when the cv is below --target-cv or has\n"
    "  settled, at most --max-time seconds (all per round). First, about a second measuring the machine's\n"
    "  speed of light (sgemm at the models' shapes, vector exp, FMA, memory triad) for every row's floor_ms\n"
    "  and sol; --no-peaks skips it. Suites write reports/<date>-<host>-<backend>/ (CSV, JSON, Markdown,\n"
    "  PNG and SVG plots) and update reports/index.md.\n";

/* --out of one configuration: a folder, made when missing (its parent must exist) */
static int single_out_folder(const char *out)
{
    struct stat st;
    if (!stat(out, &st)) return S_ISDIR(st.st_mode) ? 0 : cli_fail("bench: --out %s is not a folder", out);
    if (mkdir(out, 0777)) return cli_fail("bench: --out %s: cannot make the folder (%s)", out, strerror(errno));
    return 0;
}

/* one configuration's result in Markdown: seeds, environment, the row, its warnings, stages, decisions */
static void single_markdown(FILE *f, const cli_shared *c, const dyvm_env *env, const dyvm_row *row, bool profile,
                            const dyvm_decisions *dec)
{
    fprintf(f, "weights seed %llu, input seed %llu\n\n", (unsigned long long)c->weights_seed, (unsigned long long)c->seed);
    dyvm_env_markdown(env, f);
    fprintf(f, "\n");
    dyvm_rows_markdown(f, row, 1);
    dyvm_rows_warnings(f, row, 1);
    if (profile)
        for (int s = 0; s < STAGE_COUNT; s++)
            fprintf(f, "%s%s %.3f ms", s ? ", " : "\nper stage: ", dyvm_stage_name((dyvm_stage)s), row->stage_ms[s]);
    fprintf(f, "\n");
    if (dec) dyvm_decisions_markdown(f, dec);
}

/* --out DIR of one configuration: README.md (the Markdown, the decisions plot linked), result.json, and the
 * decisions' table and plot */
static int single_write(const char *dir, const cli_shared *c, const dyvm_env *env, const dyvm_row *row, bool profile,
                        const dyvm_decisions *dec, const cJSON *j)
{
    char path[1024], err[CLI_ERR];
    snprintf(path, sizeof path, "%s/result.json", dir);
    if (dyvm_write_json(path, j, err, sizeof err)) return cli_fail("%s", err);
    bool plotted = false;
    if (dec) {
        char title[200];
        snprintf(title, sizeof title, "%s %s, batch %lld: decisions per layer", row->c.model,
                 dyvm_variant_name(c->opts.variant), (long long)row->c.batch);
        for (char *p = title; *p; p++) *p = *p == '\'' || *p == '\\' ? ' ' : *p; /* inside gnuplot quotes */
        if (dyvm_decisions_write(dec, dir, title, err, sizeof err)) fprintf(stderr, "dyvm: %s\n", err);
        else plotted = true;
    }
    snprintf(path, sizeof path, "%s/README.md", dir);
    dyvm_afile af; /* whole or not at all, as the suites' reports */
    FILE *f = dyvm_afile_open(&af, path, "w", err, sizeof err);
    if (!f) return cli_fail("%s", err);
    fprintf(f, "# dyvm bench: %s %s, batch %lld\n\n", row->c.model, dyvm_variant_name(c->opts.variant), (long long)row->c.batch);
    single_markdown(f, c, env, row, profile, dec);
    if (plotted) fprintf(f, "\n![decisions](decisions.png) ([svg](decisions.svg); table: decisions.csv)\n");
    if (dyvm_afile_commit(&af, err, sizeof err)) return cli_fail("%s", err);
    return 0;
}

/* Per round: a short warm-up, then at least min_samples and min_seconds of samples, at most max_seconds.
 * Three rounds (two with --quick) keep `make bench` within about 13 minutes on a 2-core machine. */
static dyvm_timing default_timing(bool quick)
{
    dyvm_timing t = {.warmup = 1, .warmup_seconds = quick ? 0.03 : 0.1, .rounds = quick ? 2 : 3, .bootstrap_reps = 2000};
    t.rule = (dyvm_stop_rule){.min_samples = quick ? 3 : 5, .min_seconds = quick ? 0.1 : 0.3,
                              .max_seconds = quick ? 0.6 : 2.5, .target_cv = quick ? 0.02 : 0.01, .window = 5,
                              .max_samples = 100000};
    return t;
}

/* The speed of light of a backend for the given models, unless --no-peaks; prints what it measured. */
static int measure_peaks(dyvm_peaks *p, const char *backend, const char *precision, const dyvm_config *models, int n,
                         bool skip)
{
    memset(p, 0, sizeof *p);
    if (skip) return 0;
    /* the CPU's up to the largest batch its suites run (16): a stage's roof is the best rate over its measured
       shapes, which the tiles beat at a larger unmeasured one (in_proj at batch 8, sol up to 1.11, in
       reports/2026-11-30-vm-cpu-2, whose shapes were batch 1 and 4) */
    const int64_t cpu_batches[] = {1, 4, 8, 16}, gpu_batches[] = {1, 128};
    const int n_cpu = (int)(sizeof cpu_batches / sizeof cpu_batches[0]), n_gpu = (int)(sizeof gpu_batches / sizeof gpu_batches[0]);
    const bool gpu = !strcmp(backend, "cuda");
    char err[CLI_ERR];
    fprintf(stderr, "== speed of light (%s): sgemm at the models' shapes, exp, FMA, memory\n", backend);
    if (dyvm_peaks_measure(p, backend, precision, models, n, gpu ? gpu_batches : cpu_batches, gpu ? n_gpu : n_cpu, err,
                           sizeof err))
        return cli_fail("measuring the peaks: %s", err);
    fprintf(stderr, "   sgemm %.1f GFLOP/s, FMA %.1f GFLOP/s, exp %.3g/s, memory %.1f GB/s", p->sgemm_gflops, p->fma_gflops,
            p->exp_per_s, p->bandwidth_gbs);
    if (p->cache_gbs > 0) fprintf(stderr, ", last-level cache %.1f GB/s", p->cache_gbs);
    fprintf(stderr, " (%.1f s)\n", p->seconds);
    return 0;
}

/* What a harness run adds to the environment block: its timing settings and its peaks (before the suites,
 * whose JSON files carry the block), then the machine's load since load0 (at the end). */
static void env_of_run(dyvm_env *e, const dyvm_timing *t, const dyvm_peaks *peaks)
{
    e->peaks = peaks, e->rounds = t->rounds, e->order_seed = t->order_seed, e->bootstrap_reps = t->bootstrap_reps;
}

static void env_load_since(dyvm_env *e, const dyvm_cpu_snapshot *load0)
{
    dyvm_cpu_snapshot now;
    dyvm_cpu_snapshot_take(&now);
    dyvm_load_between(load0, &now, &e->load);
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

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)ftw;
    return flag == FTW_DP ? rmdir(path) : unlink(path);
}

/* Removes a folder and everything in it (a report folder this run made). */
static void remove_tree(const char *dir) { nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS); }

/* Report folders of runs that were killed before they could clean up: ".<name>.tmp-<pid>" whose process is
 * gone (SIGKILL, a power cut). Removed when the next run starts. */
static void remove_stale(const char *root)
{
    DIR *d = opendir(root);
    if (!d) return;
    for (struct dirent *e; (e = readdir(d));) {
        const char *tag = e->d_name[0] == '.' ? strstr(e->d_name, ".tmp-") : NULL;
        char *end;
        const long pid = tag ? strtol(tag + 5, &end, 10) : 0;
        if (pid > 0 && !*end && kill((pid_t)pid, 0) && errno == ESRCH) {
            char path[1024];
            snprintf(path, sizeof path, "%s/%s", root, e->d_name);
            remove_tree(path);
        }
    }
    closedir(d);
}

/* Moves the finished report from tmp to dir, or to dir-2, dir-3, ... when dir already holds a report: a second
 * run of the same day, host and backend never replaces the first (both are real runs). dir is updated. */
static int commit_dir(const char *tmp, char *dir, size_t len)
{
    char base[1024];
    snprintf(base, sizeof base, "%s", dir);
    struct stat st;
    for (int k = 2; stat(dir, &st) == 0; k++)
        if (snprintf(dir, len, "%s-%d", base, k) >= (int)len || k > 999) return cli_fail("%s: no free report name", base);
    if (rename(tmp, dir)) return cli_fail("%s: %s", dir, strerror(errno));
    return 0;
}

static int by_name(const struct dirent **a, const struct dirent **b) { return -strcmp((*a)->d_name, (*b)->d_name); }

/* reports/index.md: one line per report folder that has an env.json, newest first */
static void write_index(const char *root)
{
    char path[1024], err[CLI_ERR];
    snprintf(path, sizeof path, "%s/index.md", root);
    dyvm_afile af;
    FILE *f = dyvm_afile_open(&af, path, "w", err, sizeof err);
    if (!f) return (void)cli_fail("%s", err);
    fprintf(f, "# Reports\n\nEach folder is one real run of `make bench` (or `dyvm bench --suite`), with its "
               "environment.\n\n| folder | date | host | backend | CPU / device | commit |\n|---|---|---|---|---|---|\n");
    struct dirent **ents;
    int n = scandir(root, &ents, NULL, by_name);
    for (int i = 0; i < n; i++) {
        char envp[1024];
        snprintf(envp, sizeof envp, "%s/%s/env.json", root, ents[i]->d_name);
        size_t len;
        char *buf = ents[i]->d_name[0] != '.' ? cli_read_text(envp, (size_t)1 << 24, &len) : NULL;
        if (buf) {
            cJSON *j = cJSON_Parse(buf);
            free(buf);
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
    if (dyvm_afile_commit(&af, err, sizeof err)) cli_fail("%s", err);
}

/* A run of suites: timed into reports/ (the default), timed for one shard (--shard i/n), or replayed from
 * loaded shards (dyvm merge) */
typedef struct {
    const char *which, *root; /* the suite (or all); the reports root, or the shards' folder */
    bool quick, no_peaks;
    int64_t threads;
    uint64_t seed, wseed;
    const char *backend, *precision;
    dyvm_timing timing;
    int shard_i, shard_n;      /* --shard i/n */
    const dyvm_shard *shards;  /* dyvm merge: what the suites replay */
    int n_shards;
    const char *merge_out;     /* dyvm merge: the report folder to make */
} suite_request;

/* The README's opening paragraph */
static void readme_intro(const dyvm_suite_ctx *s, const suite_request *q)
{
    fprintf(s->readme, "# dyvm-bench report: %s%s\n\nA real run of `dyvm bench --suite %s%s`%s. Weights: presets "
                      "generated from seed %llu (official initialisation, untrained: the learned block and token "
                      "decisions are those of random heads). Inputs: N(0,1) images from seed %llu. Timing: %d rounds, "
                      "each running every configuration of a suite once, in an order shuffled per round from seed "
                      "%llu; per round and configuration %d warm-up forward(s) (at least %.2f s), then at least %zu "
                      "samples and %.2f s, stopping when the cv is below %.0f %% or has settled, at most %.1f s. "
                      "Speed-ups carry 95 %% bootstrap intervals (%zu replicates, resampling within rounds); `~` marks "
                      "no measurable difference. floor_ms is the time the measured roofs allow (README.md of the "
                      "project: speed of light), sol = floor / median. Every number here was measured in this run.\n\n",
            s->env.backend, q->quick ? " (quick)" : "", q->which, q->quick ? " --quick" : "",
            q->shards ? ", in shards merged by `dyvm merge` (below)" : "", (unsigned long long)q->wseed,
            (unsigned long long)q->seed, s->timing.rounds, (unsigned long long)s->timing.order_seed, s->timing.warmup,
            s->timing.warmup_seconds, s->timing.rule.min_samples, s->timing.rule.min_seconds, 100 * s->timing.rule.target_cv,
            s->timing.rule.max_seconds, s->timing.bootstrap_reps);
    if (!s->plots) fprintf(s->readme, "gnuplot was not found: tables only, plots skipped.\n");
}

/* a merged report's own section: which shard ran where, and what comparing across shards means */
static void readme_shards(const dyvm_suite_ctx *s, const suite_request *q)
{
    fprintf(s->readme, "\n## Shards\n\nThe %d shards of this run, each a deterministic slice of the suite's "
                       "configurations timed in the unsharded order with the others left out:\n\n"
                       "| shard | host | machine | date | configurations |\n|---:|---|---|---|---:|\n", q->n_shards);
    for (int i = 0; i < q->n_shards; i++)
        fprintf(s->readme, "| %d/%d | %s | %s | %s | %zu |\n", q->shards[i].i, q->shards[i].n, q->shards[i].host,
                q->shards[i].machine, q->shards[i].env.date, q->shards[i].n_rows);
    fprintf(s->readme, "\nConfigurations of different shards were not timed in the same rounds, so a speed-up between "
                       "two of them also holds whatever differed between their hosts or times; every row of the CSV and "
                       "JSON names its host. The environment block below is shard 1's; `shards.json` has every "
                       "shard's.\n");
}

static int run_suites(const suite_request *q)
{
    static dyvm_suite_ctx s; /* large (the peaks' shape tables): not on the stack */
    memset(&s, 0, sizeof s);
    const char *which = q->which, *root = q->root, *backend = q->backend, *precision = q->precision;
    s.quick = q->quick, s.input_seed = q->seed, s.weights_seed = q->wseed, s.scripts = "scripts/plots";
    s.backend = backend, s.precision = precision, s.batch = strcmp(backend, "cuda") ? 1 : 128;
    char why[CLI_ERR];
    const bool merging = q->shards != NULL;
    if (!merging && !strcmp(backend, "cuda") && !dyvm_cuda_available(why, sizeof why)) return cli_fail("%s", why);
    cli_threads(q->threads);
    s.threads = merging ? q->shards[0].run.threads : cli_thread_count();
    dyvm_cpu_snapshot load0;
    dyvm_cpu_snapshot_take(&load0);
    s.timing = q->timing;
    s.plots = dyvm_have_gnuplot() && !q->shard_n; /* a shard's report is thrown away */
    const char *names[DYVM_MAX_PEAK_MODELS];
    dyvm_config models[DYVM_MAX_PEAK_MODELS];
    const int nm = dyvm_suite_models(which, q->quick, names);
    for (int i = 0; i < nm; i++)
        if (dyvm_config_preset(names[i], &models[i], why, sizeof why)) return cli_fail("%s", why);
    dyvm_shard_set replay = {q->shards, q->n_shards};
    if (merging) { /* shard 1's environment and roofs; the rows carry their own floors */
        const dyvm_shard *f = &q->shards[0];
        s.env = f->env, s.peaks = f->peaks, s.cpu_peaks = f->cpu_peaks, s.peaks_end = f->peaks_end;
        s.env.peaks = &s.peaks;
        s.env.cpu_peaks = f->have_cpu_peaks ? &s.cpu_peaks : NULL;
        s.env.peaks_end = f->have_peaks_end ? &s.peaks_end : NULL;
        s.replay = &replay;
    } else {
        dyvm_env_collect(&s.env, backend, NULL); /* the device line is filled in when the first model loads */
        /* the speed of light first, for every model the suites run (and the host CPU's for a GPU run's CPU curve) */
        if (measure_peaks(&s.peaks, backend, precision, models, nm, q->no_peaks)) return 2;
        env_of_run(&s.env, &s.timing, &s.peaks);
        if (strcmp(backend, "cpu")) {
            dyvm_config cpu_model;
            if (dyvm_config_preset(q->quick ? "vim-t" : "vim-s", &cpu_model, why, sizeof why)) return cli_fail("%s", why);
            if (measure_peaks(&s.cpu_peaks, "cpu", "fp32", &cpu_model, 1, q->no_peaks)) return 2;
            s.env.cpu_peaks = &s.cpu_peaks;
        }
    }
    if (q->shard_n) s.shard_i = q->shard_i, s.shard_n = q->shard_n, s.shard_rows = cJSON_CreateArray();
    /* the report is written into a temporary folder beside its place and moved there when complete: a run
       that fails or is interrupted leaves nothing; a previous report of the same name is kept (commit_dir) */
    char dir[1024], tmp[2100], path[2200], err[CLI_ERR];
    if (merging) snprintf(dir, sizeof dir, "%s", q->merge_out);
    else if (q->shard_n) snprintf(dir, sizeof dir, "%s/shard-%d-of-%d", root, q->shard_i, q->shard_n);
    else snprintf(dir, sizeof dir, "%s/%.10s-%s-%s%s", root, s.env.date, s.env.host, backend, q->quick ? "-quick" : "");
    char parent[1024];
    snprintf(parent, sizeof parent, "%s", dir);
    char *slash = strrchr(parent, '/');
    if (slash) *slash = 0;
    else snprintf(parent, sizeof parent, ".");
    snprintf(tmp, sizeof tmp, "%s/.%s.tmp-%d", parent, slash ? slash + 1 : dir, (int)getpid());
    struct stat rs;
    if (mkdir_p(parent)) return cli_fail("%s: cannot create the report folder (%s)", parent, strerror(errno));
    if (stat(parent, &rs) || !S_ISDIR(rs.st_mode))
        return cli_fail("%s: cannot create the report folder (%s)", parent, strerror(ENOTDIR));
    if (!merging && !q->shard_n) remove_stale(root);
    if (mkdir_p(tmp)) return cli_fail("%s: cannot create (%s)", tmp, strerror(errno));
    s.dir = tmp;
    snprintf(path, sizeof path, "%s/README.md", tmp);
    dyvm_afile readme; /* written as the suites run, in place only when the run ends */
    if (!(s.readme = dyvm_afile_open(&readme, path, "w", err, sizeof err))) return remove_tree(tmp), cli_fail("%s", err);
    readme_intro(&s, q);
    int rc = 0;
    const double t0 = dyvm_now_ms();
    for (int i = 0; !rc && dyvm_suite_names[i]; i++)
        /* all: every suite but resolution, which has its own make target (its large sizes take long) */
        if ((!strcmp(which, "all") && strcmp(dyvm_suite_names[i], "resolution")) || !strcmp(which, dyvm_suite_names[i])) {
            /* the roofs again before the sol suite: how far the machine drifted since the start (its table
               shows sol at both) */
            if (!merging && !strcmp(dyvm_suite_names[i], "sol") && s.peaks.measured) {
                if (measure_peaks(&s.peaks_end, backend, precision, models, nm, false)) {
                    rc = 2;
                    break;
                }
                s.env.peaks_end = &s.peaks_end;
            }
            fprintf(stderr, "== suite %s%s\n", dyvm_suite_names[i], q->shard_n ? " (this shard's configurations)" : "");
            fflush(s.readme);
            if (dyvm_run_suite(&s, dyvm_suite_names[i])) rc = 2;
        }
    if (!merging) env_load_since(&s.env, &load0);
    if (merging) readme_shards(&s, q);
    fprintf(s.readme, "\n## Environment\n\n");
    dyvm_env_markdown(&s.env, s.readme);
    if (rc || q->shard_n) dyvm_afile_abort(&readme); /* a failed run leaves no report; a shard's is not one */
    else if (dyvm_afile_commit(&readme, err, sizeof err)) rc = cli_fail("%s", err);
    if (q->shard_n) { /* the shard's folder holds shard.json alone */
        remove_tree(tmp);
        if (!rc && mkdir_p(tmp)) rc = cli_fail("%s: cannot create (%s)", tmp, strerror(errno));
        dyvm_shard_run run = {.quick = q->quick, .threads = s.threads, .input_seed = q->seed, .weights_seed = q->wseed,
                              .timing = s.timing};
        snprintf(run.suite, sizeof run.suite, "%s", which);
        snprintf(run.backend, sizeof run.backend, "%s", backend);
        snprintf(run.precision, sizeof run.precision, "%s", precision ? precision : "fp32");
        cJSON *sj = dyvm_shard_json(q->shard_i, q->shard_n, &run, &s.env, &s.peaks, s.env.cpu_peaks, s.env.peaks_end,
                                    s.shard_rows);
        snprintf(path, sizeof path, "%s/shard.json", tmp);
        if (!rc && dyvm_write_json(path, sj, err, sizeof err)) rc = cli_fail("%s", err);
        cJSON_Delete(sj);
        if (!rc) remove_tree(dir); /* a rerun of the same shard (a requeued job) replaces it */
    } else {
        cJSON *ej = dyvm_env_json(&s.env);
        snprintf(path, sizeof path, "%s/env.json", tmp);
        if (!rc && dyvm_write_json(path, ej, err, sizeof err)) rc = cli_fail("%s", err);
        cJSON_Delete(ej);
        if (merging && !rc) {
            cJSON *all = cJSON_CreateArray();
            for (int i = 0; i < q->n_shards; i++) {
                cJSON *o = cJSON_CreateObject();
                cJSON_AddNumberToObject(o, "shard", q->shards[i].i);
                cJSON_AddNumberToObject(o, "shards", q->shards[i].n);
                cJSON_AddStringToObject(o, "path", q->shards[i].path);
                cJSON_AddStringToObject(o, "machine", q->shards[i].machine);
                cJSON_AddItemToObject(o, "environment", dyvm_env_json(&q->shards[i].env));
                cJSON_AddItemToArray(all, o);
            }
            snprintf(path, sizeof path, "%s/shards.json", tmp);
            if (dyvm_write_json(path, all, err, sizeof err)) rc = cli_fail("%s", err);
            cJSON_Delete(all);
        }
    }
    if (!rc) {
        if (merging || q->shard_n) rc = rename(tmp, dir) ? cli_fail("%s: %s", dir, strerror(errno)) : 0;
        else rc = commit_dir(tmp, dir, sizeof dir) ? 2 : 0;
    }
    if (rc) remove_tree(tmp);
    if (!rc) {
        if (!merging && !q->shard_n) write_index(root);
        fprintf(stderr, "== wrote %s in %.0f s\n", dir, (dyvm_now_ms() - t0) / 1e3);
    }
    return rc;
}

int cmd_bench(int argc, char **argv)
{
    const char *suite = NULL, *out = "reports";
    cli_format format = CLI_FMT_MD;
    bool quick = false, profile = false, no_peaks = false, rule_set = false, out_given = false;
    int64_t rounds = 0;
    int shard_i = 0, shard_n = 0;
    uint64_t order_seed = 0;
    dyvm_timing t = default_timing(false);
    cli_shared c;
    cli_shared_init(&c, "vim");
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) return fputs(bench_usage, stdout), 0;
        if ((!strcmp(a, "--quick") || !strcmp(a, "--profile") || !strcmp(a, "--no-peaks")) && cli_once(a)) return 2;
        if (!strcmp(a, "--quick")) {
            if (rule_set) return cli_fail("bench: give --quick before the timing flags it would reset");
            quick = true, t = default_timing(true);
            continue;
        }
        if (!strcmp(a, "--profile")) { profile = true; continue; }
        if (!strcmp(a, "--no-peaks")) { no_peaks = true; continue; }
        static const char *const own[] = {"--suite", "--out", "--format", "--min-samples", "--min-time", "--max-time",
                                          "--target-cv", "--rounds", "--order-seed", "--shard", NULL};
        if (!(v = cli_value(argc, argv, &i, "bench", own, cli_shared_flags))) return 2;
        const int shared = cli_shared_flag(&c, a, v);
        if (shared < 0) return 2;
        if (shared) continue;
        if (!strcmp(a, "--suite")) suite = v;
        else if (!strcmp(a, "--shard")) {
            if (dyvm_shard_parse(v, &shard_i, &shard_n)) return 2;
        }
        else if (!strcmp(a, "--out")) out = v, out_given = true;
        else if (!strcmp(a, "--format")) {
            if (cli_parse_format(v, &format)) return 2;
        }
        else if (!strcmp(a, "--min-samples")) {
            int64_t x;
            if (cli_int(a, v, 1, 1000000, &x)) return 2;
            t.rule.min_samples = (size_t)x, rule_set = true;
        } else if (!strcmp(a, "--min-time")) {
            if (cli_double(a, v, 0, 3600, &t.rule.min_seconds)) return 2;
            rule_set = true;
        } else if (!strcmp(a, "--max-time")) {
            if (cli_double(a, v, 0, 36000, &t.rule.max_seconds)) return 2;
            rule_set = true;
        } else if (!strcmp(a, "--target-cv")) {
            if (cli_double(a, v, 0, 1, &t.rule.target_cv)) return 2;
            rule_set = true;
        } else if (!strcmp(a, "--rounds")) {
            if (cli_int(a, v, 1, DYVM_MAX_ROUNDS, &rounds)) return 2;
        } else if (!strcmp(a, "--order-seed")) {
            if (cli_u64(a, v, &order_seed)) return 2;
        } else
            return cli_fail("bench: unknown option \"%s\" (see dyvm bench --help)", a);
    }
    if (cli_shared_finish(&c, "bench")) return 2;
    if (rounds) t.rounds = (int)rounds;
    if (t.rule.max_samples < t.rule.min_samples) t.rule.max_samples = t.rule.min_samples; /* never a silent cap */
    t.order_seed = order_seed;
    if (t.rule.max_seconds < t.rule.min_seconds) return cli_fail("--max-time is below --min-time");
    if (suite) {
        bool known = !strcmp(suite, "all");
        for (int i = 0; dyvm_suite_names[i]; i++) known |= !strcmp(suite, dyvm_suite_names[i]);
        if (!known) return cli_fail("--suite: \"%s\" is not all, paper, blocks, keep, batch, breakdown, threads, sol or resolution", suite);
        if (c.weights || c.preset) return cli_fail("bench: --suite runs the presets; not with --weights or --preset");
        if (c.img_size) return cli_fail("bench: --suite runs the presets at their own sizes; not with --img-size (the resolution suite varies it)");
        const suite_request q = {.which = suite, .root = out, .quick = quick, .no_peaks = no_peaks, .threads = c.threads,
                                 .seed = c.seed, .wseed = c.weights_seed, .backend = c.backend, .precision = c.precision,
                                 .timing = t, .shard_i = shard_i, .shard_n = shard_n};
        return run_suites(&q);
    }
    if (shard_n) return cli_fail("bench: --shard applies to --suite only");
    if (out_given && single_out_folder(out)) return 2;
    if (!c.weights && !c.preset) return cli_fail("bench: give --preset, --weights or --suite");
    char err[CLI_ERR];
    dyvm_config pc; /* a preset's plan is known before its weights are generated */
    if (c.preset && !cli_preset_config(c.preset, c.img_size, &pc, err, sizeof err) && cli_memory_check(&pc, c.batch, c.backend, false))
        return 2;
    dyvm_weights w;
    if (cli_model(c.weights, c.preset, c.weights_seed, c.img_size, &w)) return 2;
    dyvm_case cs = {.opts = c.opts, .batch = c.batch, .threads = cli_thread_count(), .profile = profile};
    snprintf(cs.model, sizeof cs.model, "%s", w.cfg.name); /* the preset's name, or the weights' */
    snprintf(cs.block_policy, sizeof cs.block_policy, "%s", c.block_policy);
    float *x = cli_memory_check(&w.cfg, c.batch, c.backend, false) ? NULL : cli_random_images(&w.cfg, c.batch, c.seed);
    dyvm_backend *be = x ? cli_backend(c.backend, c.precision, &w) : NULL;
    dyvm_graph *g = be ? dyvm_graph_new(be, c.batch, err, sizeof err) : NULL;
    int rc = 2;
    static dyvm_row row; /* zeroed: the first round fills it */
    static dyvm_peaks peaks;
    dyvm_cpu_snapshot load0;
    dyvm_cpu_snapshot_take(&load0);
    if (be && !g) cli_fail("%s", err);
    else if (g && !measure_peaks(&peaks, be->name, c.precision, &w.cfg, 1, no_peaks)) {
        int failed = 0;
        for (int r = 0; r < t.rounds && !failed; r++) failed = dyvm_time_round(g, be, x, &cs, &t, &row, err, sizeof err);
        if (failed) cli_fail("%s", err), dyvm_row_free(&row);
        else {
            dyvm_row_finish(&row, &t);
            dyvm_row_apply_floor(&row, &peaks);
            dyvm_env env;
            dyvm_env_collect(&env, be->name, be->device);
            env_of_run(&env, &t, &peaks);
            env_load_since(&env, &load0);
            /* what the heads decided, from one more (untimed) forward of the same input */
            dyvm_decisions dec;
            const bool decides = dyvm_variant_selects(c.opts.variant) || dyvm_variant_prunes(c.opts.variant);
            bool have_dec = false;
            if (decides) { /* the graph still holds the timed input */
                have_dec = !dyvm_decisions_measure(g, c.batch, &cs.opts, w.source, c.preset != NULL, c.weights, &dec,
                                                   err, sizeof err);
                if (!have_dec) cli_fail("%s", err);
            }
            rc = decides && !have_dec ? 2 : 0;
            cJSON *j = dyvm_suite_json("single", &env, &row, 1);
            if (have_dec) cJSON_AddItemToObject(j, "decisions", dyvm_decisions_json(&dec));
            if (cli_format_json(format)) cli_print_json(j, format);
            else if (format == CLI_FMT_CSV) dyvm_rows_csv(stdout, &row, 1);
            else single_markdown(stdout, &c, &env, &row, profile, have_dec ? &dec : NULL);
            if (!rc && out_given) rc = single_write(out, &c, &env, &row, profile, have_dec ? &dec : NULL, j);
            cJSON_Delete(j);
            dyvm_row_free(&row);
        }
    }
    dyvm_graph_free(g);
    if (be) be->destroy(be);
    free(x);
    dyvm_weights_free(&w);
    return rc;
}

int bench_replay_shards(const dyvm_shard *shards, int n, const char *out)
{
    const dyvm_shard_run *r = &shards[0].run;
    const suite_request q = {.which = r->suite, .root = NULL, .quick = r->quick, .threads = r->threads,
                             .seed = r->input_seed, .wseed = r->weights_seed, .backend = r->backend,
                             .precision = r->precision, .timing = r->timing, .shards = shards, .n_shards = n,
                             .merge_out = out};
    return run_suites(&q);
}
