#include "suites.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "atomic_file.h"
#include "cli.h"
#include "plot.h"
#include "report.h"
#include "rng.h"

const char *const dyvm_suite_names[] = {"paper", "blocks", "keep", "batch", "breakdown", "threads", "sol", "resolution", NULL};

/* ---- models and the interleaved rounds ---- */

/* One model of a suite: weights from the printed seed, a graph sized for its largest batch. */
typedef struct {
    dyvm_weights w;
    dyvm_backend *be;
    dyvm_graph *g;
    float *images;
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
    char err[CLI_ERR];
    if (cli_model(NULL, preset, s->weights_seed, 0, &m->w)) return -1;
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

/* The peaks that apply to a row: the backend's, or the host CPU's for the CPU rows of a GPU run. */
static const dyvm_peaks *peaks_for(const dyvm_suite_ctx *s, const char *backend)
{
    return strcmp(backend, "cpu") || !strcmp(s->backend, "cpu") ? &s->peaks : &s->cpu_peaks;
}

/* The seed that shuffles round r of a suite: the printed order seed, the suite's name and the round. */
static uint64_t round_seed(uint64_t order_seed, const char *suite, int r)
{
    return dyvm_hash_str(0xcbf29ce484222325ull ^ order_seed, suite) + (uint64_t)r * 0x9e3779b97f4a7c15ull;
}

/* The relative cost of timing a case, for balancing shards: 1 plus its share of the largest FLOP count of
 * the set (a case's time per round is bounded by the stopping rule, so cost grows less than its FLOPs) */
static void case_costs(const dyvm_case *cases, size_t n, double *cost)
{
    double most = 0;
    for (size_t i = 0; i < n; i++) {
        dyvm_config cfg;
        dyvm_realized r;
        dyvm_flops f;
        char err[CLI_ERR];
        cost[i] = 0;
        if (dyvm_config_preset(cases[i].model, &cfg, err, sizeof err) ||
            dyvm_realized_from_policy(&cfg, cases[i].opts.variant, cases[i].batch, &cases[i].opts.block, cases[i].opts.token,
                                      cases[i].opts.token_ratio, &r, err, sizeof err))
            continue;
        dyvm_flops_count(&cfg, &r, &f);
        cost[i] = f.full_total * (double)cases[i].batch;
        most = cost[i] > most ? cost[i] : most;
    }
    for (size_t i = 0; i < n; i++) cost[i] = 1.0 + (most > 0 ? cost[i] / most : 0);
}

/* another shard's case: one sample of 1 ms per round, so that the suite's own code runs through (the report
 * of a shard run is thrown away; only its timed rows are kept) */
static int placeholder_row(const dyvm_suite_ctx *s, const dyvm_case *c, dyvm_row *row)
{
    memset(row, 0, sizeof *row);
    row->c = *c;
    snprintf(row->backend, sizeof row->backend, "%s", s->backend);
    if (!(row->samples_ms = malloc(sizeof(double) * (size_t)s->timing.rounds))) return -1;
    row->cap = row->n_samples = (size_t)s->timing.rounds;
    row->rounds = s->timing.rounds;
    for (int r = 0; r < s->timing.rounds; r++) row->samples_ms[r] = 1.0, row->round_n[r] = 1;
    row->stop_reason = "another shard's";
    row->token_ratio = 1;
    dyvm_row_finish(row, &s->timing);
    row->floor_ms = row->sol = NAN;
    return 0;
}

/* the rows of a merge: each case's row from the shard that timed it, checked to be that case */
static int replay_cases(dyvm_suite_ctx *s, const char *suite, int call, const dyvm_case *cases, size_t n, dyvm_row *rows)
{
    memset(rows, 0, n * sizeof *rows);
    for (size_t i = 0; i < n; i++) {
        const dyvm_case *c = &cases[i];
        const dyvm_shard_row *sr = dyvm_shard_find(s->replay, suite, call, i);
        int bad = !sr;
        if (sr) {
            const dyvm_case *d = &sr->row.c;
            bad = strcmp(d->model, c->model) || d->opts.variant != c->opts.variant || strcmp(d->block_policy, c->block_policy) ||
                  d->batch != c->batch || d->threads != c->threads || d->opts.token_ratio != c->opts.token_ratio ||
                  d->opts.token != c->opts.token || d->profile != c->profile;
        }
        if (!bad && !(rows[i].samples_ms = malloc(sizeof(double) * sr->row.n_samples))) bad = 2;
        if (bad) {
            for (size_t k = 0; k < i; k++) dyvm_row_free(&rows[k]);
            return cli_fail("merge: suite %s, configuration %zu of set %d (%s %s, block %s, batch %lld): %s", suite, i + 1,
                            call + 1, c->model, dyvm_variant_name(c->opts.variant), c->block_policy, (long long)c->batch,
                            bad == 2 ? "out of memory" : sr ? "the shard's row is another configuration (shards of other flags?)"
                                                            : "no shard has it"), -1;
        }
        double *samples = rows[i].samples_ms;
        rows[i] = sr->row;
        rows[i].samples_ms = samples, rows[i].cap = sr->row.n_samples;
        memcpy(samples, sr->row.samples_ms, sizeof(double) * sr->row.n_samples);
    }
    fprintf(stderr, "[%s] %zu configurations from the shards\n", suite, n);
    return 0;
}

/* Times the cases in s->timing.rounds rounds, each in a freshly shuffled order, every model of the suite
 * loaded once up front; progress and an estimate of the time left on stderr. rows[i] belongs to cases[i].
 * Sharded (s->shard_n), only this shard's cases are timed, in the unsharded order with the others left out;
 * replaying a merge (s->replay), the rows come from the shards. */
static int run_cases(dyvm_suite_ctx *s, const char *suite, const dyvm_case *cases, size_t n, dyvm_row *rows)
{
    enum { MAX_CASES = 64, MAX_MODELS = 8 }; /* the resolution suite: a model per image size */
    const int call = s->call++;
    if (n > MAX_CASES) return cli_fail("%s: more than %d configurations", suite, MAX_CASES), -1;
    if (s->replay) return replay_cases(s, suite, call, cases, n, rows);
    suite_model ms[MAX_MODELS];
    int model_of[MAX_CASES], shard_of[MAX_CASES], n_models = 0, rc = 0;
    size_t n_mine = 0;
    memset(ms, 0, sizeof ms);
    memset(rows, 0, n * sizeof *rows);
    if (s->shard_n) {
        double cost[MAX_CASES] = {0}; /* (set by case_costs; gcc 12 cannot see it) */
        case_costs(cases, n, cost);
        dyvm_shard_assign(cost, n, s->shard_load, s->shard_n, shard_of);
    }
    bool mine[MAX_CASES]; /* the cases this process times: all, or its shard's */
    for (size_t i = 0; i < n; i++) mine[i] = !s->shard_n || shard_of[i] == s->shard_i - 1;
    int64_t max_B[MAX_MODELS] = {0};
    const char *names[MAX_MODELS] = {0};
    for (size_t i = 0; i < n; i++) {
        if (!mine[i]) continue;
        n_mine++;
        int m = 0;
        while (m < n_models && strcmp(names[m], cases[i].model)) m++;
        if (m == n_models) {
            if (n_models == MAX_MODELS) return cli_fail("%s: too many models", suite), -1;
            names[n_models++] = cases[i].model;
        }
        model_of[i] = m;
        max_B[m] = cases[i].batch > max_B[m] ? cases[i].batch : max_B[m];
    }
    for (int m = 0; m < n_models && !rc; m++) rc = model_open(s, &ms[m], names[m], max_B[m]); /* prints its error */
    const double t0 = dyvm_now_ms();
    const size_t total = (size_t)s->timing.rounds * n_mine;
    size_t done = 0, order[MAX_CASES];
    for (int r = 0; r < s->timing.rounds && !rc; r++) {
        for (size_t i = 0; i < n; i++) order[i] = i;
        dyvm_shuffle(order, n, round_seed(s->timing.order_seed, suite, r));
        for (size_t k = 0; k < n && !rc; k++) {
            const size_t i = order[k];
            const dyvm_case *c = &cases[i];
            if (!mine[i]) continue; /* another shard's */
            char left[32] = "estimating", tr[32] = "", err[CLI_ERR];
            if (done) snprintf(left, sizeof left, "about %.0f s left", (dyvm_now_ms() - t0) / 1e3 / (double)done * (double)(total - done));
            if (dyvm_variant_prunes(c->opts.variant) && c->opts.token_ratio > 0)
                snprintf(tr, sizeof tr, " token ratio %.2f", c->opts.token_ratio);
            fprintf(stderr, "[%s round %d/%d, %zu/%zu] %s %s%s%s%s batch %lld (%s)\n", suite, r + 1, s->timing.rounds,
                    k + 1, n, c->model, dyvm_variant_name(c->opts.variant), dyvm_variant_selects(c->opts.variant) ? " block " : "",
                    dyvm_variant_selects(c->opts.variant) ? c->block_policy : "", tr, (long long)c->batch, left);
            suite_model *m = &ms[model_of[i]];
            cli_threads(c->threads); /* the threads suite varies it; the others run the suite's count */
            if (dyvm_time_round(m->g, m->be, m->images, c, &s->timing, &rows[i], err, sizeof err))
                rc = cli_fail("%s: %s", suite, err);
            done++;
        }
    }
    cli_threads(s->threads);
    for (int m = 0; m < n_models; m++) model_close(&ms[m]);
    for (size_t i = 0; i < n && !rc; i++)
        if (!mine[i] && placeholder_row(s, &cases[i], &rows[i]))
            rc = cli_fail("out of memory");
    if (rc) {
        for (size_t i = 0; i < n; i++) dyvm_row_free(&rows[i]);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        if (!mine[i]) continue;
        dyvm_row_finish(&rows[i], &s->timing);
        /* the peaks are measured with the suite's threads: a floor for fewer threads would not be one */
        if (rows[i].c.threads == s->threads) {
            dyvm_row_apply_floor(&rows[i], peaks_for(s, rows[i].backend));
            if (s->peaks_end.measured && rows[i].have_flops && !strcmp(rows[i].backend, s->backend))
                rows[i].floor_end_ms = dyvm_floor_ms(&s->peaks_end, rows[i].c.model, &rows[i].flops, rows[i].c.batch, NULL);
        }
        if (s->shard_n) cJSON_AddItemToArray(s->shard_rows, dyvm_shard_row_json(suite, call, i, &rows[i]));
    }
    fprintf(stderr, "[%s] %zu configurations × %d rounds in %.0f s%s\n", suite, n_mine, s->timing.rounds,
            (dyvm_now_ms() - t0) / 1e3, s->shard_n ? " (this shard's)" : "");
    return 0;
}

/* ---- writing ---- */

/* <suite>.<ext> in the report folder, written whole or not at all (atomic_file.h) */
static FILE *open_out(const dyvm_suite_ctx *s, const char *suite, const char *ext, dyvm_afile *af)
{
    char path[1024], err[CLI_ERR];
    snprintf(path, sizeof path, "%s/%s.%s", s->dir, suite, ext);
    FILE *f = dyvm_afile_open(af, path, "w", err, sizeof err);
    if (!f) cli_fail("%s", err);
    return f;
}

static int close_out(dyvm_afile *af)
{
    char err[CLI_ERR];
    return dyvm_afile_commit(af, err, sizeof err) ? (cli_fail("%s", err), -1) : 0;
}

/* the model of the single-model suites */
static const char *big(const dyvm_suite_ctx *s) { return s->quick ? "vim-t" : "vim-s"; }

/* Runs scripts/plots/<script>.gp on <data>.dat into <out>.png and .svg and links it from the README. */
static int plot(dyvm_suite_ctx *s, const char *script, const char *data, const char *out, const char *extra)
{
    if (!s->plots) return fprintf(s->readme, "\n(plot %s skipped: gnuplot not found)\n", out), 0;
    char path[1024], png[1024], svg[1024], vars[2048], err[CLI_ERR];
    snprintf(path, sizeof path, "%s/%s.gp", s->scripts, script);
    snprintf(png, sizeof png, "%s/%s.png", s->dir, out);
    snprintf(svg, sizeof svg, "%s/%s.svg", s->dir, out);
    snprintf(vars, sizeof vars, "data='%s/%s.dat'; model='%s'; backend='%s'; batch=%lld; has_cpu=%d%s%s", s->dir, data,
             big(s), s->env.backend, (long long)s->batch, strcmp(s->backend, "cpu") != 0, extra ? "; " : "", extra ? extra : "");
    if (dyvm_plot(path, vars, png, svg, err, sizeof err)) {
        s->plot_failures++;
        return cli_fail("%s", err), -1;
    }
    fprintf(s->readme, "\n![%s](%s.png) ([svg](%s.svg))\n", out, out, out);
    return 0;
}

/* the warnings under the suite's README section, then its csv and json */
static int write_tables(dyvm_suite_ctx *s, const char *suite, const dyvm_row *rows, size_t n)
{
    dyvm_rows_warnings(s->readme, rows, n);
    dyvm_afile af;
    FILE *f = open_out(s, suite, "csv", &af);
    if (!f) return -1;
    dyvm_rows_csv(f, rows, n);
    if (close_out(&af)) return -1;
    char path[1024], err[CLI_ERR];
    snprintf(path, sizeof path, "%s/%s.json", s->dir, suite);
    cJSON *j = dyvm_suite_json(suite, &s->env, rows, n);
    int rc = dyvm_write_json(path, j, err, sizeof err);
    cJSON_Delete(j);
    return rc ? (cli_fail("%s", err), -1) : 0;
}

/* csv, json and the suite's plot; the suite has written its .dat and its README section */
static int finish(dyvm_suite_ctx *s, const char *suite, const dyvm_row *rows, size_t n)
{
    return write_tables(s, suite, rows, n) ? -1 : plot(s, suite, suite, suite, NULL);
}

/* the official block keep target of a preset as the keep:R policy the suites run ("keep:0.8") */
static void official_block(const char *model, char *buf, size_t len)
{
    dyvm_config c;
    char err[CLI_ERR];
    dyvm_config_preset(model, &c, err, sizeof err);
    snprintf(buf, len, "keep:%g", c.block_ratio);
}

static void free_rows(dyvm_row *rows, size_t n)
{
    for (size_t i = 0; i < n; i++) dyvm_row_free(&rows[i]);
}

/* "1.52× [1.49, 1.55]" (or "~ ..." when the interval contains 1) of a row's speed-up */
static const char *speedup_text(const dyvm_row *r, char *buf, size_t len)
{
    if (!r->have_speedup) return snprintf(buf, len, "(baseline)"), buf;
    dyvm_format_ratio(buf, len, r->speedup, 2);
    return buf;
}

/* three significant digits, or "n/a" for NAN (no peaks measured) */
static const char *num2(double x, char *buf, size_t len)
{
    if (isnan(x)) snprintf(buf, len, "n/a");
    else snprintf(buf, len, "%.3g", x); /* a model: three significant digits */
    return buf;
}

static const char intervals_note[] =
    "Speed-ups are ratios of medians with a 95 % bootstrap interval (resampling within each round); `~` marks an "
    "interval that contains 1: no measurable difference. Floor and sol: README.md, \"speed of light\".\n\n";

/* ---- the suites ---- */

/* paper FLOPs of a preset variant at the official continuous keep ratio (calc_flops.py's own number) */
static double official_paper_flops(const char *model, dyvm_variant v)
{
    dyvm_config c;
    char err[CLI_ERR];
    if (dyvm_config_preset(model, &c, err, sizeof err)) return NAN;
    dyvm_block_policy bp = {.kind = BLOCK_RATIO, .ratio = c.block_ratio};
    dyvm_realized r;
    dyvm_flops f;
    if (dyvm_realized_from_policy(&c, v, 1, &bp, TOKEN_LEARNED, 0, &r, err, sizeof err)) return NAN;
    dyvm_flops_count(&c, &r, &f);
    return f.paper_total;
}

/* rows in groups of the four variants (vim, token, block, dyvm): each against its group's dense row */
static void speedups_in_fours(const dyvm_suite_ctx *s, dyvm_row *rows, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (i % 4) dyvm_row_speedup(&rows[i], &rows[i - i % 4], "vim", &s->timing);
}

static int suite_paper(dyvm_suite_ctx *s)
{
    const char *models[] = {"vim-t", "vim-s", "vim-b"};
    const size_t nm = s->quick ? 1 : 3, n = nm * 4;
    dyvm_case cases[12];
    dyvm_row rows[12];
    for (size_t m = 0; m < nm; m++) {
        char block[32];
        official_block(models[m], block, sizeof block);
        for (int v = 0; v < 4; v++) cases[m * 4 + (size_t)v] = make_case(s, models[m], (dyvm_variant)v, block, 0, s->batch);
    }
    if (run_cases(s, "paper", cases, n, rows)) return -1;
    speedups_in_fours(s, rows, n);
    dyvm_afile daf;
    FILE *dat = open_out(s, "paper", "dat", &daf);
    if (!dat) return free_rows(rows, n), -1;
    fprintf(s->readme, "\n## paper: the efficiency table with measured speed\n\nBatch %lld. Block policy `keep:R` at the "
                       "official keep target R: every image runs exactly round(R·48) of the 48 directional SSM branches "
                       "(38 for R = 0.8, 34 for R = 0.7), spread over the layers and both directions from the seed, so the "
                       "realized keep ratio is 38/48 = 0.792 rather than 0.8: the paper-convention FLOPs of the measured "
                       "configuration stand beside calc_flops.py's own number at the continuous R. Learned token "
                       "predictors at the official ratios (random weights, seed %llu). Speed-up = dense median / variant "
                       "median; FLOP ratio = dense FLOPs / variant FLOPs (full: what runs; paper: calc_flops.py, which "
                       "counts one of the two SSM directions). %s",
            (long long)s->batch, (unsigned long long)s->weights_seed, intervals_note);
    fprintf(s->readme, "| model | variant | token | block keep (realized) | paper GFLOPs | paper GFLOPs at R (official) | "
                       "full GFLOPs | median ms | images/s | speed-up [95 %% CI] | full FLOP ratio | paper FLOP ratio | "
                       "floor ms | sol | published |\n"
                       "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n");
    fprintf(dat, "# label speedup speedup_lo speedup_hi full_flop_ratio paper_flop_ratio\n");
    for (size_t i = 0; i < n; i++) {
        const dyvm_row *r = &rows[i], *d = &rows[i - i % 4];
        const double ff = d->flops.full_total / r->flops.full_total, pf = d->flops.paper_total / r->flops.paper_total;
        char sp[96], fl[16], so[16];
        fprintf(s->readme, "| %s | %s | %.2f | %.4f | %.4f | %.4f | %.3f | %.2f | %.2f | %s | %.2f× | %.2f× | %s | %s | %s |\n",
                r->c.model, dyvm_variant_name(r->c.opts.variant), r->token_ratio, r->flops.block_ratio,
                r->flops.paper_total / 1e9, official_paper_flops(r->c.model, r->c.opts.variant) / 1e9,
                r->flops.full_total / 1e9, r->st.median, r->images_per_s, speedup_text(r, sp, sizeof sp), ff, pf,
                num2(r->floor_ms, fl, sizeof fl), num2(r->sol, so, sizeof so), dyvm_published(r->c.model, r->c.opts.variant));
        if (i % 4)
            fprintf(dat, "\"%s %s\" %.4f %.4f %.4f %.4f %.4f\n", r->c.model, dyvm_variant_name(r->c.opts.variant),
                    r->speedup.est, r->speedup.lo, r->speedup.hi, ff, pf);
    }
    if (close_out(&daf)) return free_rows(rows, n), -1;
    fprintf(s->readme, "\nThe same rows in full:\n\n");
    dyvm_rows_markdown(s->readme, rows, n);
    int rc = finish(s, "paper", rows, n);
    free_rows(rows, n);
    return rc;
}

/* the count:K sweep on one backend; rows[0] is K = 0, rows[n - 1] K = 48; speed-ups against K = 48 */
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
    if (!rc)
        for (size_t i = 0; i + 1 < *n; i++) dyvm_row_speedup(&rows[i], &rows[*n - 1], "count:48", &s->timing);
    return rc;
}

static void blocks_dat(FILE *dat, const char *backend, const dyvm_row *rows, size_t n)
{
    fprintf(dat, "# %s: K throughput_vs_all48 lo hi images_per_s median_ms full_gflops paper_gflops\n", backend);
    for (size_t i = 0; i < n; i++) {
        const dyvm_interval sp = rows[i].have_speedup ? rows[i].speedup : (dyvm_interval){1, 1, 1};
        fprintf(dat, "%lld %.4f %.4f %.4f %.4f %.4f %.5f %.5f\n", (long long)rows[i].c.opts.block.count, sp.est, sp.lo,
                sp.hi, rows[i].images_per_s, rows[i].st.median, rows[i].flops.full_total / 1e9,
                rows[i].flops.paper_total / 1e9);
    }
}

static void blocks_text(dyvm_suite_ctx *s, const char *backend, int64_t batch, const dyvm_row *rows, size_t n)
{
    const dyvm_row *k0 = &rows[0], *all = &rows[n - 1];
    const double flop = all->flops.full_total / k0->flops.full_total, paper = all->flops.paper_total / k0->flops.paper_total;
    char sp[96];
    dyvm_format_ratio(sp, sizeof sp, k0->speedup, 2);
    fprintf(s->readme, "On the %s backend (batch %lld), running none of the branches (K = 0) instead of all 48 makes a "
                       "forward **%s** faster (%.2f → %.2f ms; 95 %% interval). The executed FLOPs fall by %.2f× (full "
                       "convention; %.2f× in the paper convention), so if time followed FLOPs the speed-up would be "
                       "%.2f×: the FLOP change explains %.0f %% of the speed-up (in log terms, ln FLOP ratio / ln time "
                       "ratio).\n\n",
            backend, (long long)batch, sp, all->st.median, k0->st.median, flop, paper, flop,
            100 * log(flop) / log(k0->speedup.est));
}

static int suite_blocks(dyvm_suite_ctx *s)
{
    dyvm_row rows[32], cpu[32];
    size_t n = 0, nc = 0;
    const bool gpu = strcmp(s->backend, "cpu") != 0;
    if (blocks_sweep(s, s->backend, s->batch, rows, &n)) return -1;
    /* the paper's observation is about GPUs: on a GPU run, the CPU curve of the same machine beside it */
    if (gpu && blocks_sweep(s, "cpu", 1, cpu, &nc)) return free_rows(rows, n), -1;
    dyvm_afile daf;
    FILE *dat = open_out(s, "blocks", "dat", &daf);
    if (!dat) return free_rows(rows, n), free_rows(cpu, nc), -1;
    blocks_dat(dat, s->backend, rows, n);
    if (gpu) fprintf(dat, "\n\n"), blocks_dat(dat, "cpu", cpu, nc);
    if (close_out(&daf)) return free_rows(rows, n), free_rows(cpu, nc), -1;
    fprintf(s->readme, "\n## blocks: speed against the number of SSM branches run (the paper's Figure 1b)\n\n"
                       "%s, block variant, `count:K`: exactly K of the 48 directional SSM branches run, spread evenly "
                       "over layers, alternating directions. The paper reports up to 2.83× from removing SSM blocks on "
                       "a GPU with little FLOP change. Speed-ups against K = 48. %s", big(s), intervals_note);
    blocks_text(s, s->backend, s->batch, rows, n);
    if (gpu) blocks_text(s, "cpu", 1, cpu, nc);
    dyvm_rows_markdown(s->readme, rows, n);
    if (gpu) fprintf(s->readme, "\n"), dyvm_rows_markdown(s->readme, cpu, nc);
    /* one table of rows for csv and json: this backend's sweep, then the CPU's */
    dyvm_row all[64];
    memcpy(all, rows, n * sizeof *rows);
    if (gpu) memcpy(all + n, cpu, nc * sizeof *cpu);
    const int rc = finish(s, "blocks", all, n + nc);
    free_rows(all, n + nc);
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
        snprintf(block, sizeof block, "keep:%g", s->quick ? 0.5 * i : 0.2 * i);
        cases[n++] = make_case(s, big(s), VARIANT_BLOCK, block, 0, s->batch);
    }
    if (run_cases(s, "keep", cases, n, rows)) return -1;
    for (size_t i = 1; i < n; i++) dyvm_row_speedup(&rows[i], &rows[0], "vim", &s->timing);
    dyvm_afile daf;
    FILE *dat = open_out(s, "keep", "dat", &daf);
    if (!dat) return free_rows(rows, n), -1;
    const dyvm_row *d = &rows[0];
    for (int part = 0; part < 2; part++) {
        fprintf(dat, "%s# %s keep ratio: ratio speedup lo hi full_flop_ratio\n", part ? "\n\n" : "", part ? "block (realized)" : "token");
        for (int i = 1 + part * steps; i <= steps + part * steps; i++)
            fprintf(dat, "%.4f %.4f %.4f %.4f %.4f\n", part ? rows[i].flops.block_ratio : rows[i].token_ratio,
                    rows[i].speedup.est, rows[i].speedup.lo, rows[i].speedup.hi, d->flops.full_total / rows[i].flops.full_total);
    }
    if (close_out(&daf)) return free_rows(rows, n), -1;
    fprintf(s->readme, "\n## keep: speed-up against the keep ratios\n\n%s, batch %lld. Token variant with "
                       "`--token-ratio r` (n_k = int(r^(k+1)·M) at the three stages, learned predictors); block variant "
                       "with `keep:R` (exactly round(R·48) branches per image; the realized keep ratio is plotted). "
                       "Speed-up and full-FLOP ratio against dense Vim (%.2f ms). %s",
            big(s), (long long)s->batch, d->st.median, intervals_note);
    dyvm_rows_markdown(s->readme, rows, n);
    int rc = finish(s, "keep", rows, n);
    free_rows(rows, n);
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
    char block[32];
    official_block(big(s), block, sizeof block);
    for (int v = 0; v < 4; v++)
        for (size_t b = 0; b < nb; b++) cases[n++] = make_case(s, big(s), (dyvm_variant)v, block, 0, batches[b]);
    if (run_cases(s, "batch", cases, n, rows)) return -1;
    for (size_t i = nb; i < n; i++) dyvm_row_speedup(&rows[i], &rows[i % nb], "vim", &s->timing);
    dyvm_afile daf;
    FILE *dat = open_out(s, "batch", "dat", &daf);
    if (!dat) return free_rows(rows, n), -1;
    for (int v = 0; v < 4; v++) {
        fprintf(dat, "%s# %s: batch images_per_s lo hi median_ms\n", v ? "\n\n" : "", dyvm_variant_name((dyvm_variant)v));
        for (size_t b = 0; b < nb; b++) {
            const dyvm_row *r = &rows[(size_t)v * nb + b];
            fprintf(dat, "%lld %.4f %.4f %.4f %.4f\n", (long long)r->c.batch, r->images_per_s, r->ips_ci.lo, r->ips_ci.hi,
                    r->st.median);
        }
    }
    if (close_out(&daf)) return free_rows(rows, n), -1;
    fprintf(s->readme, "\n## batch: latency and throughput against batch size\n\n%s, official keep ratios "
                       "(block `%s`, learned token predictors). Speed-ups against dense Vim at the same batch; "
                       "throughput with its 95 %% interval. %s", big(s), block, intervals_note);
    dyvm_rows_markdown(s->readme, rows, n);
    int rc = finish(s, "batch", rows, n);
    free_rows(rows, n);
    return rc;
}

/* roofline.dat: per variant, each stage's arithmetic intensity (full FLOPs / min bytes) and achieved rate */
static int roofline(dyvm_suite_ctx *s, const dyvm_row *rows, size_t n)
{
    const dyvm_peaks *p = &s->peaks;
    if (!p->measured) return fprintf(s->readme, "\n(roofline skipped: the peaks were not measured)\n"), 0;
    dyvm_afile daf;
    FILE *dat = open_out(s, "roofline", "dat", &daf);
    if (!dat) return -1;
    for (size_t v = 0; v < n; v++) {
        const dyvm_row *r = &rows[v];
        fprintf(dat, "%s# %s: stage flop_per_byte achieved_gflops\n", v ? "\n\n" : "", dyvm_variant_name(r->c.opts.variant));
        for (int st = 0; st < STAGE_COUNT; st++) {
            const double fl = r->flops.full[st] * (double)r->c.batch, by = r->flops.bytes[st] * (double)r->c.batch;
            if (fl > 0 && by > 0 && r->stage_ms[st] > 0)
                fprintf(dat, "%s %.5g %.5g\n", dyvm_stage_name((dyvm_stage)st), fl / by, fl / (r->stage_ms[st] * 1e6));
        }
    }
    if (close_out(&daf)) return -1;
    fprintf(s->readme, "\nThe roofline: each stage's arithmetic intensity (full FLOPs over its minimum bytes) against "
                       "the rate it reached, under the roofs measured in this run (sgemm %.1f, FMA %.1f GFLOP/s; exp "
                       "%.3g/s; memory %.1f GB/s",
            p->sgemm_gflops, p->fma_gflops, p->exp_per_s, p->bandwidth_gbs);
    if (p->cache_gbs > 0)
        fprintf(s->readme, "; the FMA roof's diagonal again at the last-level cache's %.1f GB/s, the rate of the "
                           "stages whose data fit there", p->cache_gbs);
    fprintf(s->readme, ").\n");
    char roofs[256];
    snprintf(roofs, sizeof roofs, "sgemm=%.6g; fma=%.6g; expr=%.6g; bw=%.6g; bwc=%.6g", p->sgemm_gflops, p->fma_gflops,
             p->exp_per_s / 1e9, p->bandwidth_gbs, p->cache_gbs);
    return plot(s, "roofline", "roofline", "roofline", roofs);
}

static int suite_breakdown(dyvm_suite_ctx *s)
{
    dyvm_case cases[4];
    dyvm_row rows[4];
    char block[32];
    official_block(big(s), block, sizeof block);
    for (int v = 0; v < 4; v++) {
        cases[v] = make_case(s, big(s), (dyvm_variant)v, block, 0, s->batch);
        cases[v].profile = true;
    }
    if (run_cases(s, "breakdown", cases, 4, rows)) return -1;
    for (int v = 1; v < 4; v++) dyvm_row_speedup(&rows[v], &rows[0], "vim", &s->timing);
    dyvm_afile daf;
    FILE *dat = open_out(s, "breakdown", "dat", &daf);
    if (!dat) return free_rows(rows, 4), -1;
    fprintf(dat, "variant");
    for (int st = 0; st < STAGE_COUNT; st++) fprintf(dat, " %s", dyvm_stage_name((dyvm_stage)st));
    fprintf(dat, " total_ms\n");
    fprintf(s->readme, "\n## breakdown: time per stage\n\n%s, batch %lld, official keep ratios (block `%s`); the mean time "
                       "per forward spent in each stage, measured with a clock read around every op (the SSM branch "
                       "times its conv, x_proj, dt_proj and scan phases itself), and in brackets the stage's floor at "
                       "the measured roofs and its sol (floor / measured). On the CPU, dt_proj is not a matrix product "
                       "but the dt projection computed per channel block just before the scan (which applies its bias "
                       "and softplus) by a vector kernel, so its floor is vector work's: its MACs at the FMA rate, "
                       "or its bytes where they can be (on a GPU, a cuBLAS product at the sgemm rate at its shape). "
                       "%s| stage |",
            big(s), (long long)s->batch, block, intervals_note);
    for (int v = 0; v < 4; v++) fprintf(s->readme, " %s ms (floor, sol) |", dyvm_variant_name((dyvm_variant)v));
    fprintf(s->readme, "\n|---|---:|---:|---:|---:|\n");
    for (int st = 0; st < STAGE_COUNT; st++) {
        fprintf(s->readme, "| %s |", dyvm_stage_name((dyvm_stage)st));
        for (int v = 0; v < 4; v++) {
            char fl[16];
            const double ms = rows[v].stage_ms[st], floor = rows[v].stage_floor_ms[st];
            if (ms > 0 && floor > 0)
                fprintf(s->readme, " %.3f (%s, %.2f) |", ms, num2(floor, fl, sizeof fl), floor / ms);
            else
                fprintf(s->readme, " %.3f (%s) |", ms, num2(floor, fl, sizeof fl));
        }
        fprintf(s->readme, "\n");
    }
    fprintf(s->readme, "| **forward (median)** |");
    for (int v = 0; v < 4; v++) {
        char fl[16];
        fprintf(s->readme, " %.3f (%s, %.2f) |", rows[v].st.median, num2(rows[v].floor_ms, fl, sizeof fl), rows[v].sol);
        fprintf(dat, "%s", dyvm_variant_name((dyvm_variant)v));
        for (int st = 0; st < STAGE_COUNT; st++) fprintf(dat, " %.4f", rows[v].stage_ms[st]);
        fprintf(dat, " %.4f\n", rows[v].st.median);
    }
    fprintf(s->readme, "\n| **speed-up over vim** | (baseline) |");
    for (int v = 1; v < 4; v++) {
        char sp[96];
        fprintf(s->readme, " %s |", speedup_text(&rows[v], sp, sizeof sp));
    }
    fprintf(s->readme, "\n");
    if (close_out(&daf)) return free_rows(rows, 4), -1;
    int rc = finish(s, "breakdown", rows, 4);
    if (!rc) rc = roofline(s, rows, 4);
    free_rows(rows, 4);
    return rc;
}

/* threads: the CPU forward with 1 thread against all of them (the suite's --threads), dense Vim and DyVM at
 * batch 1 and 8, interleaved in the same rounds; the speed-up of all threads over one with its interval. */
static int suite_threads(dyvm_suite_ctx *s)
{
    if (strcmp(s->backend, "cpu") || s->threads < 2) {
        fprintf(s->readme, "\n## threads: scaling with the thread count\n\nSkipped: %s.\n",
                strcmp(s->backend, "cpu") ? "the CPU suites only" : "this run has one thread");
        return 0;
    }
    const int64_t batches[] = {1, 8};
    const dyvm_variant variants[] = {VARIANT_VIM, VARIANT_DYVM};
    dyvm_case cases[8];
    dyvm_row rows[8];
    size_t n = 0;
    char block[32];
    official_block(big(s), block, sizeof block);
    for (int v = 0; v < 2; v++)
        for (int b = 0; b < 2; b++)
            for (int t = 0; t < 2; t++) {
                cases[n] = make_case(s, big(s), variants[v], block, 0, batches[b]);
                cases[n++].threads = t ? s->threads : 1;
            }
    if (run_cases(s, "threads", cases, n, rows)) return -1;
    for (size_t i = 1; i < n; i += 2) dyvm_row_speedup(&rows[i], &rows[i - 1], "1 thread", &s->timing);
    fprintf(s->readme, "\n## threads: scaling with the thread count\n\n%s, official keep ratios (block `%s`); the "
                       "same configurations with 1 thread and with %d, interleaved in the same rounds. Speed-up of %d "
                       "threads over 1 with its 95 %% interval. %s",
            big(s), block, s->threads, s->threads, intervals_note);
    fprintf(s->readme, "| variant | batch | 1 thread ms | %d threads ms | speed-up [95 %% CI] | sol (%d threads) |\n"
                       "|---|---:|---:|---:|---:|---:|\n", s->threads, s->threads);
    for (size_t i = 1; i < n; i += 2) {
        char sp[96];
        fprintf(s->readme, "| %s | %lld | %.2f | %.2f | %s | %.2f |\n", dyvm_variant_name(rows[i].c.opts.variant),
                (long long)rows[i].c.batch, rows[i - 1].st.median, rows[i].st.median, speedup_text(&rows[i], sp, sizeof sp),
                rows[i].sol);
    }
    const int rc = write_tables(s, "threads", rows, n);
    free_rows(rows, n);
    return rc;
}

/* sol: how close each configuration runs to the machine's speed of light, whole and per stage: Vim-T and Vim-S
 * (QUICK: Vim-T), every variant at the official keep ratios, batch 1 and 8 (on a GPU the suite's batch and 8x
 * it), timed with the per-stage clock. */
static int suite_sol(dyvm_suite_ctx *s)
{
    const char *models[] = {"vim-t", "vim-s"};
    const size_t nm = s->quick ? 1 : 2;
    const int64_t batches[] = {strcmp(s->backend, "cpu") ? s->batch : 1, strcmp(s->backend, "cpu") ? 8 * s->batch : 8};
    dyvm_case cases[16];
    dyvm_row rows[16];
    size_t n = 0;
    for (size_t m = 0; m < nm; m++) {
        char block[32];
        official_block(models[m], block, sizeof block);
        for (int b = 0; b < 2; b++)
            for (int v = 0; v < 4; v++) {
                cases[n] = make_case(s, models[m], (dyvm_variant)v, block, 0, batches[b]);
                cases[n++].profile = true;
            }
    }
    if (run_cases(s, "sol", cases, n, rows)) return -1;
    fprintf(s->readme, "\n## sol: each configuration against its floor\n\n%s, every variant at the official keep ratios "
                       "(block `keep:R`, learned token predictors), batch %lld and %lld, timed with the per-stage clock "
                       "(as the breakdown). sol = floor / median, for the forward and for each stage (a stage's floor "
                       "over its measured time; blank where the stage does not run). The CPU kernels: %s (%s). %s",
            s->quick ? "Vim-T" : "Vim-T and Vim-S", (long long)batches[0], (long long)batches[1], s->env.isa,
            s->env.isa_desc, intervals_note);
    dyvm_rows_markdown(s->readme, rows, n);
    bool end = false; /* the same rows under the roofs measured just before this suite (each row's own, merged) */
    for (size_t i = 0; i < n; i++) end |= !isnan(rows[i].floor_end_ms);
    if (end) {
        fprintf(s->readme, "\nThe roofs measured again just before this suite (%s) put these floors under the same "
                           "medians:\n\n| model | variant | batch | median ms | floor ms (start's "
                           "roofs) | sol | floor ms (roofs before this suite) | sol |\n|---|---|---:|---:|---:|---:|---:|---:|\n",
                s->replay ? "each row under those of the shard that timed it" : "environment block");
        for (size_t i = 0; i < n; i++) {
            const dyvm_row *r = &rows[i];
            const double fl = r->floor_end_ms;
            fprintf(s->readme, "| %s | %s | %lld | %.2f | %.2f | %.2f | %.2f | %.2f |\n", r->c.model,
                    dyvm_variant_name(r->c.opts.variant), (long long)r->c.batch, r->st.median, r->floor_ms, r->sol, fl,
                    fl / r->st.median);
        }
    }
    const dyvm_stage shown[] = {STAGE_EMBED, STAGE_NORM, STAGE_IN_PROJ, STAGE_CONV, STAGE_X_PROJ, STAGE_DT_PROJ,
                                STAGE_SCAN, STAGE_OUT_PROJ, STAGE_PREDICTOR, STAGE_HEAD};
    const size_t ns = sizeof shown / sizeof shown[0];
    fprintf(s->readme, "\nsol per stage:\n\n| model | variant | batch | forward |");
    for (size_t k = 0; k < ns; k++) fprintf(s->readme, " %s |", dyvm_stage_name(shown[k]));
    fprintf(s->readme, "\n|---|---|---:|---:|");
    for (size_t k = 0; k < ns; k++) fprintf(s->readme, "---:|");
    fprintf(s->readme, "\n");
    for (size_t i = 0; i < n; i++) {
        const dyvm_row *r = &rows[i];
        fprintf(s->readme, "| %s | %s | %lld | %.2f |", r->c.model, dyvm_variant_name(r->c.opts.variant),
                (long long)r->c.batch, r->sol);
        for (size_t k = 0; k < ns; k++) {
            const double ms = r->stage_ms[shown[k]], fl = r->stage_floor_ms[shown[k]];
            if (ms > 0 && fl > 0) fprintf(s->readme, " %.2f |", fl / ms);
            else fprintf(s->readme, " |");
        }
        fprintf(s->readme, "\n");
    }
    const int rc = write_tables(s, "sol", rows, n);
    free_rows(rows, n);
    return rc;
}


/* least-squares slope of log y against log x: the exponent of y ~ x^e */
static double loglog_slope(const double *x, const double *y, size_t n)
{
    double sx = 0, sy = 0, sxx = 0, sxy = 0;
    for (size_t i = 0; i < n; i++) {
        const double a = log(x[i]), b = log(y[i]);
        sx += a, sy += b, sxx += a * a, sxy += a * b;
    }
    const double d = (double)n * sxx - sx * sx;
    return d > 0 ? ((double)n * sxy - sx * sy) / d : NAN;
}

/* Vim and DyVM against the number of tokens: the four variants at several image sizes, batch 1 on the CPU
 * (on a GPU, the batch that keeps batch 128's tokens at 224: the same activations budget at every size) */
static int suite_resolution(dyvm_suite_ctx *s)
{
    static const int full_px[] = {224, 320, 448, 640, 896, 1024}, quick_px[] = {224, 448, 640};
    const int *px = s->quick ? quick_px : full_px;
    const size_t ns = s->quick ? 3 : 6, n = ns * 4;
    const char *base = big(s);
    dyvm_case cases[24];
    dyvm_row rows[24];
    int64_t tokens[6], batch[6];
    for (size_t k = 0; k < ns; k++) {
        char model[32], block[32];
        snprintf(model, sizeof model, "%s@%d", base, px[k]);
        official_block(model, block, sizeof block);
        tokens[k] = (int64_t)(px[k] / 16) * (px[k] / 16) + 1;
        batch[k] = strcmp(s->backend, "cpu") ? (s->batch * 197 + tokens[k] - 1) / tokens[k] : s->batch;
        for (int v = 0; v < 4; v++) cases[k * 4 + (size_t)v] = make_case(s, model, (dyvm_variant)v, block, 0, batch[k]);
    }
    if (run_cases(s, "resolution", cases, n, rows)) return -1;
    speedups_in_fours(s, rows, n);
    double e[4];
    for (int v = 0; v < 4; v++) { /* time per image against tokens */
        double x[6], y[6];
        for (size_t k = 0; k < ns; k++) x[k] = (double)tokens[k], y[k] = rows[k * 4 + (size_t)v].st.median / (double)batch[k];
        e[v] = loglog_slope(x, y, ns);
    }
    dyvm_afile daf;
    FILE *dat = open_out(s, "resolution", "dat", &daf);
    if (!dat) return free_rows(rows, n), -1;
    fprintf(s->readme, "\n## resolution: time and memory against the number of tokens\n\n%s at %d image sizes (%s pixels: "
                       "the official patch 16, so 197 to %lld tokens), batch %s; the official keep targets (block `keep:R`, "
                       "learned token predictors at the model's ratio). Position embeddings generated at each size "
                       "(preset weights). Speed-ups against dense Vim at the same size. Memory: the backend's high-water "
                       "mark of a forward (weights, activations, scratch: `peak_bytes`); the buffers are sized for the unpruned sequence, so the four variants of a size hold the same memory%s. The exponent e of time per image "
                       "~ tokens^e is a least-squares fit on the log-log points. Floors: the GEMM roofs measured at 224 "
                       "pixels (the best rate where a size's shapes were not measured). %s",
            s->quick ? "Vim-T" : "Vim-S", (int)ns, s->quick ? "224, 448, 640" : "224, 320, 448, 640, 896, 1024",
            (long long)tokens[ns - 1], strcmp(s->backend, "cpu") ? "keeping about 128 × 197 tokens per batch" : "1",
            strcmp(s->backend, "cpu") ? "" : "; `max_rss_bytes` in the CSV is the process's peak resident set so far",
            intervals_note);
    fprintf(s->readme, "| pixels | tokens | batch | variant | median ms | ms per image | images/s | speed-up [95 %% CI] | "
                       "paper GFLOPs | full GFLOPs | floor ms | sol | peak MB |\n"
                       "|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (size_t i = 0; i < n; i++) {
        const dyvm_row *r = &rows[i];
        const size_t k = i / 4;
        char sp[96], fl[16], so[16];
        fprintf(s->readme, "| %d | %lld | %lld | %s | %.2f | %.2f | %.2f | %s | %.3f | %.3f | %s | %s | %.1f |\n", px[k],
                (long long)tokens[k], (long long)batch[k], dyvm_variant_name(r->c.opts.variant), r->st.median,
                r->st.median / (double)batch[k], r->images_per_s, i % 4 ? speedup_text(r, sp, sizeof sp) : "1 (baseline)",
                r->flops.paper_total / 1e9, r->flops.full_total / 1e9, num2(r->floor_ms, fl, sizeof fl),
                num2(r->sol, so, sizeof so), r->peak_bytes / 1e6);
    }
    const dyvm_row *d0 = &rows[3], *d1 = &rows[(ns - 1) * 4 + 3];
    fprintf(s->readme, "\nTime per image grows as tokens^e with e = %.2f (vim), %.2f (token), %.2f (block), %.2f (dyvm). "
                       "The DyVM speed-up over dense goes from %.2f× [%.2f, %.2f] at %d pixels to %.2f× [%.2f, %.2f] at %d "
                       "pixels%s.\n",
            e[0], e[1], e[2], e[3], d0->speedup.est, d0->speedup.lo, d0->speedup.hi, px[0], d1->speedup.est, d1->speedup.lo,
            d1->speedup.hi, px[ns - 1],
            d1->speedup.lo > d0->speedup.hi   ? ": it grows with the number of tokens (the intervals do not overlap)"
            : d1->speedup.hi < d0->speedup.lo ? ": it shrinks with the number of tokens (the intervals do not overlap)"
                                              : ": the two intervals overlap, no measurable change");
    for (int v = 0; v < 4; v++) {
        fprintf(dat, "# %s: tokens ms_per_image peak_mb images_per_s\n", dyvm_variant_name((dyvm_variant)v));
        for (size_t k = 0; k < ns; k++) {
            const dyvm_row *r = &rows[k * 4 + (size_t)v];
            fprintf(dat, "%lld %.6f %.3f %.4f\n", (long long)tokens[k], r->st.median / (double)batch[k], r->peak_bytes / 1e6,
                    r->images_per_s);
        }
        fprintf(dat, "\n\n");
    }
    if (close_out(&daf)) return free_rows(rows, n), -1;
    char extra[256];
    snprintf(extra, sizeof extra, "e_vim=%.3f; e_token=%.3f; e_block=%.3f; e_dyvm=%.3f", e[0], e[1], e[2], e[3]);
    int rc = plot(s, "resolution_time", "resolution", "resolution_time", extra) || plot(s, "resolution_memory", "resolution", "resolution_memory", NULL)
             ? -1 : 0;
    fprintf(s->readme, "\nThe same rows in full:\n\n");
    dyvm_rows_markdown(s->readme, rows, n);
    if (!rc) rc = write_tables(s, "resolution", rows, n);
    free_rows(rows, n);
    return rc;
}

int dyvm_run_suite(dyvm_suite_ctx *s, const char *name)
{
    s->call = 0;
    static const struct { const char *name; int (*fn)(dyvm_suite_ctx *); } suites[] = {
        {"paper", suite_paper}, {"blocks", suite_blocks}, {"keep", suite_keep}, {"batch", suite_batch},
        {"breakdown", suite_breakdown}, {"threads", suite_threads}, {"sol", suite_sol}, {"resolution", suite_resolution}};
    for (size_t i = 0; i < sizeof suites / sizeof suites[0]; i++)
        if (!strcmp(name, suites[i].name)) return suites[i].fn(s);
    return cli_fail("unknown suite \"%s\" (expected paper, blocks, keep, batch, breakdown, threads, sol, resolution or all)", name), -1;
}

int dyvm_suite_models(const char *which, bool quick, const char *names[DYVM_MAX_PEAK_MODELS])
{
    int n = 0;
    if (quick) names[n++] = "vim-t";
    else if (!strcmp(which, "all") || !strcmp(which, "paper")) names[n++] = "vim-t", names[n++] = "vim-s", names[n++] = "vim-b";
    else names[n++] = "vim-s";
    return n;
}
