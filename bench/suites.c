#include "suites.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "plot.h"
#include "report.h"

const char *const dyvm_suite_names[] = {"paper", "blocks", "keep", "batch", "breakdown", NULL};

/* One model loaded at a time: weights from the printed seed, a graph sized for the suite's largest batch. */
typedef struct {
    char name[16];
    dyvm_weights w;
    dyvm_backend *be;
    dyvm_graph *g;
    float *images;
    int64_t max_B;
} suite_model;

static void model_close(suite_model *m)
{
    dyvm_graph_free(m->g);
    if (m->be) m->be->destroy(m->be);
    if (m->w.arena) dyvm_weights_free(&m->w);
    free(m->images);
    memset(m, 0, sizeof *m);
}

static int model_open(dyvm_suite_ctx *s, suite_model *m, const char *preset, int64_t max_B)
{
    if (m->be && !strcmp(m->name, preset) && m->max_B >= max_B) return 0;
    model_close(m);
    char err[CLI_ERR];
    if (cli_model(NULL, preset, s->weights_seed, &m->w)) return -1;
    snprintf(m->name, sizeof m->name, "%s", preset);
    m->max_B = max_B;
    if (!(m->be = cli_backend(s->backend, s->precision, &m->w))) return -1;
    if (m->be->device && !s->env.device[0]) snprintf(s->env.device, sizeof s->env.device, "%s", m->be->device);
    if (!(m->g = dyvm_graph_new(m->be, max_B, err, sizeof err))) return cli_fail("%s", err), -1;
    return (m->images = cli_random_images(&m->w.cfg, max_B, s->input_seed)) ? 0 : -1;
}

static dyvm_case make_case(const dyvm_suite_ctx *s, const char *model, dyvm_variant v, const char *block,
                           double token_ratio, int64_t batch)
{
    dyvm_case c = {.batch = batch, .threads = s->threads};
    snprintf(c.model, sizeof c.model, "%s", model);
    snprintf(c.block_policy, sizeof c.block_policy, "%s", block);
    c.opts.variant = v, c.opts.token = TOKEN_LEARNED, c.opts.token_ratio = token_ratio;
    c.opts.block.seed = s->input_seed;
    char err[64];
    dyvm_parse_block_policy(block, &c.opts.block, err, sizeof err);
    return c;
}

/* Times the cases (grouped by model), with progress and an estimate of the time left on stderr. */
static int run_cases(dyvm_suite_ctx *s, const char *suite, const dyvm_case *cases, size_t n, dyvm_row *rows)
{
    suite_model m = {0};
    int64_t max_B = 1;
    for (size_t i = 0; i < n; i++) max_B = cases[i].batch > max_B ? cases[i].batch : max_B;
    const double t0 = dyvm_now_ms();
    for (size_t i = 0; i < n; i++) {
        const dyvm_case *c = &cases[i];
        const double spent = (dyvm_now_ms() - t0) / 1e3;
        char left[32] = "estimating";
        if (i) snprintf(left, sizeof left, "about %.0f s left", spent / (double)i * (double)(n - i));
        char tr[32] = "";
        if (dyvm_variant_prunes(c->opts.variant) && c->opts.token_ratio > 0)
            snprintf(tr, sizeof tr, " token ratio %.2f", c->opts.token_ratio);
        fprintf(stderr, "[%s %zu/%zu] %s %s%s%s%s batch %lld (%s)\n", suite, i + 1, n, c->model,
                dyvm_variant_name(c->opts.variant), dyvm_variant_selects(c->opts.variant) ? " block " : "",
                dyvm_variant_selects(c->opts.variant) ? c->block_policy : "", tr, (long long)c->batch, left);
        char err[CLI_ERR];
        int failed = model_open(s, &m, c->model, max_B); /* prints its own error */
        if (!failed && dyvm_time_case(m.g, m.be, m.images, c, &s->timing, &rows[i], err, sizeof err))
            failed = cli_fail("%s: %s", suite, err);
        if (failed) {
            for (size_t j = 0; j < i; j++) dyvm_row_free(&rows[j]);
            model_close(&m);
            return -1;
        }
    }
    fprintf(stderr, "[%s] %zu cases in %.0f s\n", suite, n, (dyvm_now_ms() - t0) / 1e3);
    model_close(&m);
    return 0;
}

static FILE *open_out(const dyvm_suite_ctx *s, const char *suite, const char *ext)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s.%s", s->dir, suite, ext);
    FILE *f = fopen(path, "w");
    if (!f) cli_fail("%s: cannot write", path);
    return f;
}

/* the model of the single-model suites */
static const char *big(const dyvm_suite_ctx *s) { return s->quick ? "vim-t" : "vim-s"; }

/* csv, json and the plot; the suite has written its .dat and .md */
static int finish(dyvm_suite_ctx *s, const char *suite, const dyvm_row *rows, size_t n)
{
    FILE *f = open_out(s, suite, "csv");
    if (!f) return -1;
    dyvm_rows_csv(f, rows, n);
    fclose(f);
    char path[1024], err[CLI_ERR];
    snprintf(path, sizeof path, "%s/%s.json", s->dir, suite);
    cJSON *j = dyvm_suite_json(suite, &s->env, rows, n);
    int rc = dyvm_write_json(path, j, err, sizeof err);
    cJSON_Delete(j);
    if (rc) return cli_fail("%s", err), -1;
    if (!s->plots) {
        fprintf(s->readme, "\n(plot skipped: gnuplot not found)\n");
        return 0;
    }
    char script[1024], png[1024], svg[1024], vars[2048];
    snprintf(script, sizeof script, "%s/%s.gp", s->scripts, suite);
    snprintf(png, sizeof png, "%s/%s.png", s->dir, suite);
    snprintf(svg, sizeof svg, "%s/%s.svg", s->dir, suite);
    snprintf(vars, sizeof vars, "data='%s/%s.dat'; model='%s'; backend='%s'; batch=%lld; has_cpu=%d", s->dir, suite,
             big(s), s->env.backend, (long long)s->batch, strcmp(s->backend, "cpu") != 0);
    if (dyvm_plot(script, vars, png, svg, err, sizeof err)) {
        s->plot_failures++;
        return cli_fail("%s", err), -1;
    }
    fprintf(s->readme, "\n![%s](%s.png) ([svg](%s.svg))\n", suite, suite, suite);
    return 0;
}

static int suite_paper(dyvm_suite_ctx *s)
{
    const char *models[] = {"vim-t", "vim-s", "vim-b"};
    const size_t nm = s->quick ? 1 : 3, n = nm * 4;
    dyvm_case cases[12];
    dyvm_row rows[12];
    for (size_t m = 0; m < nm; m++) {
        dyvm_config c;
        char err[CLI_ERR], block[32];
        dyvm_config_preset(models[m], &c, err, sizeof err);
        snprintf(block, sizeof block, "ratio:%g", c.block_ratio);
        for (int v = 0; v < 4; v++) cases[m * 4 + (size_t)v] = make_case(s, models[m], (dyvm_variant)v, block, 0, s->batch);
    }
    if (run_cases(s, "paper", cases, n, rows)) return -1;
    FILE *dat = open_out(s, "paper", "dat");
    if (!dat) return -1;
    fprintf(s->readme, "\n## paper: the efficiency table with measured speed\n\nBatch %lld, block policy `ratio:R` at the "
                       "official keep target R (each image, layer and direction kept with probability R), learned token "
                       "predictors at the official ratios (random weights, seed %llu). Speed-up = dense median / "
                       "variant median; FLOP ratio = dense FLOPs / variant FLOPs (full: what runs; paper: "
                       "calc_flops.py, which counts one of the two SSM directions).\n\n",
            (long long)s->batch, (unsigned long long)s->weights_seed);
    fprintf(s->readme, "| model | variant | token | block keep | paper GFLOPs | full GFLOPs | median ms | images/s | "
                       "speed-up | full FLOP ratio | paper FLOP ratio | published |\n"
                       "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n");
    fprintf(dat, "# label speedup full_flop_ratio paper_flop_ratio\n");
    for (size_t i = 0; i < n; i++) {
        const dyvm_row *r = &rows[i], *d = &rows[i - i % 4];
        const double sp = d->st.median / r->st.median, ff = d->flops.full_total / r->flops.full_total,
                     pf = d->flops.paper_total / r->flops.paper_total;
        fprintf(s->readme, "| %s | %s | %.2f | %.3f | %.3f | %.3f | %.2f | %.2f | %.2f× | %.2f× | %.2f× | %s |\n",
                r->c.model, dyvm_variant_name(r->c.opts.variant), r->token_ratio, r->flops.block_ratio,
                r->flops.paper_total / 1e9, r->flops.full_total / 1e9, r->st.median, r->images_per_s, sp, ff, pf,
                dyvm_published(r->c.model, r->c.opts.variant));
        if (i % 4) fprintf(dat, "\"%s %s\" %.4f %.4f %.4f\n", r->c.model, dyvm_variant_name(r->c.opts.variant), sp, ff, pf);
    }
    fclose(dat);
    int rc = finish(s, "paper", rows, n);
    for (size_t i = 0; i < n; i++) dyvm_row_free(&rows[i]);
    return rc;
}

/* the count:K sweep on one backend; rows[0] is K = 0, rows[n - 1] K = 48 */
static int blocks_sweep(dyvm_suite_ctx *s, const char *backend, int64_t batch, dyvm_row *rows, size_t *n)
{
    dyvm_case cases[32];
    *n = 0;
    for (int k = 0; k <= 48; k += s->quick ? 12 : 4) {
        char block[32];
        snprintf(block, sizeof block, "count:%d", k);
        cases[(*n)++] = make_case(s, big(s), VARIANT_BLOCK, block, 0, batch);
    }
    const char *own = s->backend;
    s->backend = backend;
    const int rc = run_cases(s, "blocks", cases, *n, rows);
    s->backend = own;
    return rc;
}

static void blocks_dat(FILE *dat, const char *backend, const dyvm_row *rows, size_t n)
{
    fprintf(dat, "# %s: K throughput_vs_all48 images_per_s median_ms full_gflops paper_gflops\n", backend);
    for (size_t i = 0; i < n; i++)
        fprintf(dat, "%lld %.4f %.4f %.4f %.5f %.5f\n", (long long)rows[i].c.opts.block.count,
                rows[i].images_per_s / rows[n - 1].images_per_s, rows[i].images_per_s, rows[i].st.median,
                rows[i].flops.full_total / 1e9, rows[i].flops.paper_total / 1e9);
}

static void blocks_text(dyvm_suite_ctx *s, const char *backend, int64_t batch, const dyvm_row *rows, size_t n)
{
    const dyvm_row *k0 = &rows[0], *all = &rows[n - 1];
    const double speed = all->st.median / k0->st.median, flop = all->flops.full_total / k0->flops.full_total;
    const double paper = all->flops.paper_total / k0->flops.paper_total;
    fprintf(s->readme, "On the %s backend (batch %lld), running none of the branches (K = 0) instead of all 48 makes a "
                       "forward **%.2f× faster** (%.2f → %.2f ms). The executed FLOPs fall by %.2f× (full convention; "
                       "%.2f× in the paper convention), so if time followed FLOPs the speed-up would be %.2f×: the FLOP "
                       "change explains %.0f %% of the speed-up (in log terms, ln FLOP ratio / ln time ratio).\n\n",
            backend, (long long)batch, speed, all->st.median, k0->st.median, flop, paper, flop,
            100 * log(flop) / log(speed));
}

static int suite_blocks(dyvm_suite_ctx *s)
{
    dyvm_row rows[32], cpu[32];
    size_t n = 0, nc = 0;
    const bool gpu = strcmp(s->backend, "cpu") != 0;
    if (blocks_sweep(s, s->backend, s->batch, rows, &n)) return -1;
    /* the paper's observation is about GPUs: on a GPU run, the CPU curve of the same machine beside it */
    if (gpu && blocks_sweep(s, "cpu", 1, cpu, &nc)) return -1;
    FILE *dat = open_out(s, "blocks", "dat");
    if (!dat) return -1;
    blocks_dat(dat, s->backend, rows, n);
    if (gpu) fprintf(dat, "\n\n"), blocks_dat(dat, "cpu", cpu, nc);
    fclose(dat);
    fprintf(s->readme, "\n## blocks: speed against the number of SSM branches run (the paper's Figure 1b)\n\n"
                       "%s, block variant, `count:K`: exactly K of the 48 directional SSM branches run, spread evenly "
                       "over layers, alternating directions. The paper reports up to 2.83× from removing SSM blocks on "
                       "a GPU with little FLOP change.\n\n", big(s));
    blocks_text(s, s->backend, s->batch, rows, n);
    if (gpu) blocks_text(s, "cpu", 1, cpu, nc);
    dyvm_rows_markdown(s->readme, rows, n);
    if (gpu) fprintf(s->readme, "\n"), dyvm_rows_markdown(s->readme, cpu, nc);
    /* one table of rows for csv and json: this backend's sweep, then the CPU's */
    dyvm_row all[64];
    memcpy(all, rows, n * sizeof *rows);
    if (gpu) memcpy(all + n, cpu, nc * sizeof *cpu);
    const int rc = finish(s, "blocks", all, n + nc);
    for (size_t i = 0; i < n + nc; i++) dyvm_row_free(&all[i]);
    return rc;
}

static int suite_keep(dyvm_suite_ctx *s)
{
    dyvm_case cases[16];
    dyvm_row rows[16];
    size_t n = 0;
    cases[n++] = make_case(s, big(s), VARIANT_VIM, "all", 0, s->batch);
    const int steps = s->quick ? 3 : 6;
    for (int i = 0; i < steps; i++) {
        const double r = s->quick ? 0.5 + 0.25 * i : 0.5 + 0.1 * i;
        cases[n++] = make_case(s, big(s), VARIANT_TOKEN, "all", r, s->batch);
    }
    for (int i = 0; i < steps; i++) {
        char block[32];
        snprintf(block, sizeof block, "ratio:%g", s->quick ? 0.5 * i : 0.2 * i);
        cases[n++] = make_case(s, big(s), VARIANT_BLOCK, block, 0, s->batch);
    }
    if (run_cases(s, "keep", cases, n, rows)) return -1;
    FILE *dat = open_out(s, "keep", "dat");
    if (!dat) return -1;
    const dyvm_row *d = &rows[0];
    fprintf(dat, "# token keep ratio: ratio speedup full_flop_ratio\n");
    for (int i = 1; i <= steps; i++)
        fprintf(dat, "%.3f %.4f %.4f\n", rows[i].token_ratio, d->st.median / rows[i].st.median,
                d->flops.full_total / rows[i].flops.full_total);
    fprintf(dat, "\n\n# block keep ratio (realized): ratio speedup full_flop_ratio\n");
    for (int i = steps + 1; i <= 2 * steps; i++)
        fprintf(dat, "%.3f %.4f %.4f\n", rows[i].flops.block_ratio, d->st.median / rows[i].st.median,
                d->flops.full_total / rows[i].flops.full_total);
    fclose(dat);
    fprintf(s->readme, "\n## keep: speed-up against the keep ratios\n\n%s, batch %lld. Token variant with "
                       "`--token-ratio r` (n_k = int(r^(k+1)·M) at the three stages, learned predictors); block variant "
                       "with `ratio:R` (the realized keep ratio is plotted). Speed-up and full-FLOP ratio against "
                       "dense Vim (%.2f ms).\n\n", big(s), (long long)s->batch, d->st.median);
    dyvm_rows_markdown(s->readme, rows, n);
    int rc = finish(s, "keep", rows, n);
    for (size_t i = 0; i < n; i++) dyvm_row_free(&rows[i]);
    return rc;
}

static int suite_batch(dyvm_suite_ctx *s)
{
    /* the CPU saturates early; a GPU needs large batches */
    const int64_t cpu_batches[] = {1, 2, 4, 8, 16}, gpu_batches[] = {1, 8, 32, 128, 256};
    const int64_t *batches = strcmp(s->backend, "cuda") ? cpu_batches : gpu_batches;
    const size_t nb = s->quick ? 3 : 5;
    dyvm_case cases[20];
    dyvm_row rows[20];
    size_t n = 0;
    dyvm_config c;
    char err[CLI_ERR], block[32];
    dyvm_config_preset(big(s), &c, err, sizeof err);
    snprintf(block, sizeof block, "ratio:%g", c.block_ratio);
    for (int v = 0; v < 4; v++)
        for (size_t b = 0; b < nb; b++) cases[n++] = make_case(s, big(s), (dyvm_variant)v, block, 0, batches[b]);
    if (run_cases(s, "batch", cases, n, rows)) return -1;
    FILE *dat = open_out(s, "batch", "dat");
    if (!dat) return -1;
    for (int v = 0; v < 4; v++) {
        fprintf(dat, "%s# %s: batch images_per_s median_ms\n", v ? "\n\n" : "", dyvm_variant_name((dyvm_variant)v));
        for (size_t b = 0; b < nb; b++) {
            const dyvm_row *r = &rows[(size_t)v * nb + b];
            fprintf(dat, "%lld %.4f %.4f\n", (long long)r->c.batch, r->images_per_s, r->st.median);
        }
    }
    fclose(dat);
    fprintf(s->readme, "\n## batch: latency and throughput against batch size\n\n%s, official keep ratios "
                       "(block `%s`, learned token predictors).\n\n", big(s), block);
    dyvm_rows_markdown(s->readme, rows, n);
    int rc = finish(s, "batch", rows, n);
    for (size_t i = 0; i < n; i++) dyvm_row_free(&rows[i]);
    return rc;
}

static int suite_breakdown(dyvm_suite_ctx *s)
{
    dyvm_case cases[4];
    dyvm_row rows[4];
    dyvm_config c;
    char err[CLI_ERR], block[32];
    dyvm_config_preset(big(s), &c, err, sizeof err);
    snprintf(block, sizeof block, "ratio:%g", c.block_ratio);
    for (int v = 0; v < 4; v++) {
        cases[v] = make_case(s, big(s), (dyvm_variant)v, block, 0, s->batch);
        cases[v].profile = true;
    }
    if (run_cases(s, "breakdown", cases, 4, rows)) return -1;
    FILE *dat = open_out(s, "breakdown", "dat");
    if (!dat) return -1;
    fprintf(dat, "variant");
    for (int st = 0; st < STAGE_COUNT; st++) fprintf(dat, " %s", dyvm_stage_name((dyvm_stage)st));
    fprintf(dat, " total_ms\n");
    fprintf(s->readme, "\n## breakdown: time per stage\n\n%s, batch %lld, official keep ratios; the mean time per "
                       "forward spent in each stage, measured with a clock read around every op (the SSM branch "
                       "times its conv, x_proj, dt_proj and scan phases itself).\n\n| stage |", big(s), (long long)s->batch);
    for (int v = 0; v < 4; v++) fprintf(s->readme, " %s ms |", dyvm_variant_name((dyvm_variant)v));
    fprintf(s->readme, "\n|---|---:|---:|---:|---:|\n");
    for (int st = 0; st < STAGE_COUNT; st++) {
        fprintf(s->readme, "| %s |", dyvm_stage_name((dyvm_stage)st));
        for (int v = 0; v < 4; v++) fprintf(s->readme, " %.3f |", rows[v].stage_ms[st]);
        fprintf(s->readme, "\n");
    }
    fprintf(s->readme, "| **forward (median)** |");
    for (int v = 0; v < 4; v++) {
        fprintf(s->readme, " %.3f |", rows[v].st.median);
        fprintf(dat, "%s", dyvm_variant_name((dyvm_variant)v));
        for (int st = 0; st < STAGE_COUNT; st++) fprintf(dat, " %.4f", rows[v].stage_ms[st]);
        fprintf(dat, " %.4f\n", rows[v].st.median);
    }
    fprintf(s->readme, "\n");
    fclose(dat);
    int rc = finish(s, "breakdown", rows, 4);
    for (int i = 0; i < 4; i++) dyvm_row_free(&rows[i]);
    return rc;
}

int dyvm_run_suite(dyvm_suite_ctx *s, const char *name)
{
    static const struct { const char *name; int (*fn)(dyvm_suite_ctx *); } suites[] = {
        {"paper", suite_paper}, {"blocks", suite_blocks}, {"keep", suite_keep}, {"batch", suite_batch},
        {"breakdown", suite_breakdown}};
    for (size_t i = 0; i < sizeof suites / sizeof suites[0]; i++)
        if (!strcmp(name, suites[i].name)) return suites[i].fn(s);
    return cli_fail("unknown suite \"%s\" (expected paper, blocks, keep, batch, breakdown or all)", name), -1;
}
