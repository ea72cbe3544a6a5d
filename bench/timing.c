#include "timing.h"

#include "rng.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/* The realized policy of a forward's result: tokens per stage and both FLOP conventions (per image). */
static void realized(dyvm_row *row, const dyvm_backend *be, const dyvm_result *res)
{
    dyvm_realized r;
    dyvm_realized_from_result(&be->w->cfg, res, row->c.opts.variant, &r);
    dyvm_flops_count(&be->w->cfg, &r, &row->flops);
    row->token_ratio = !dyvm_variant_prunes(row->c.opts.variant) ? 1.0
                       : row->c.opts.token_ratio > 0           ? row->c.opts.token_ratio
                                                               : be->w->cfg.token_ratio;
    row->n_tokens = 0;
    row->tokens[row->n_tokens++] = be->w->cfg.M + 1;
    for (int k = 0; k < res->n_stages && row->n_tokens < 8; k++) row->tokens[row->n_tokens++] = res->n_keep[k] + 1;
    row->have_flops = true;
}

static int push_sample(dyvm_row *row, double ms)
{
    if (row->n_samples == row->cap) {
        const size_t cap = row->cap ? 2 * row->cap : 64;
        double *p = realloc(row->samples_ms, cap * sizeof *p);
        if (!p) return -1;
        row->samples_ms = p, row->cap = cap;
    }
    row->samples_ms[row->n_samples++] = ms;
    return 0;
}

int dyvm_time_round(dyvm_graph *g, dyvm_backend *be, const float *images, const dyvm_case *c, const dyvm_timing *t,
                    dyvm_row *row, char *err, size_t errlen)
{
    if (row->rounds >= DYVM_MAX_ROUNDS) return snprintf(err, errlen, "more than %d rounds", DYVM_MAX_ROUNDS), -1;
    if (row->rounds == 0) {
        row->c = *c;
        snprintf(row->backend, sizeof row->backend, "%s", be->name);
        if (gethostname(row->host, sizeof row->host - 1)) snprintf(row->host, sizeof row->host, "unknown");
    }
    dyvm_result res = {0};
    be->profile = c->profile;
    /* the input stays in the backend's memory: the timed forward starts from it */
    dyvm_graph_upload(g, images, c->batch);
    /* warm-up, every round: caches, page faults, thread pools, lazily allocated scratch, after other configs */
    const double w0 = dyvm_now_ms();
    for (int i = 0; i < t->warmup || dyvm_now_ms() - w0 < 1e3 * t->warmup_seconds; i++) {
        if (dyvm_forward(g, NULL, c->batch, &c->opts, &res, err, errlen)) return be->profile = false, -1;
        if (!row->have_flops && dyvm_result_check_finite(&res, err, errlen)) /* never time a wrong number */
            return dyvm_result_free(&res), be->profile = false, -1;
        if (!row->have_flops) realized(row, be, &res);
        dyvm_result_free(&res);
    }
    const size_t first = row->n_samples;
    double measured = 0;
    for (;; dyvm_result_free(&res)) {
        /* CUDA events where the backend has them (device time), else the monotonic host clock */
        if (be->timer_start) be->timer_start(be);
        const double t0 = dyvm_now_ms();
        if (dyvm_forward(g, NULL, c->batch, &c->opts, &res, err, errlen)) return be->profile = false, -1;
        const double ms = be->timer_stop_ms ? be->timer_stop_ms(be) : dyvm_now_ms() - t0;
        if (push_sample(row, ms)) {
            dyvm_result_free(&res);
            return be->profile = false, snprintf(err, errlen, "out of memory for the samples"), -1;
        }
        measured += ms / 1e3;
        for (int s = 0; s < STAGE_COUNT; s++) row->stage_ms[s] += res.stage_ms[s];
        row->weights_bytes = (double)res.weights_bytes;
        row->peak_bytes = fmax(row->peak_bytes, (double)res.peak_bytes);
        if (dyvm_should_stop(&t->rule, row->samples_ms + first, row->n_samples - first, measured, &row->stop_reason))
            break;
    }
    dyvm_result_free(&res);
    be->profile = false;
    struct rusage ru; /* the process's peak resident set so far (Linux: kilobytes) */
    if (!strcmp(be->name, "cpu") && !getrusage(RUSAGE_SELF, &ru)) row->max_rss_bytes = 1024.0 * (double)ru.ru_maxrss;
    row->round_n[row->rounds] = row->n_samples - first;
    row->round_median_ms[row->rounds] = dyvm_median(row->samples_ms + first, row->n_samples - first);
    row->rounds++;
    return 0;
}

dyvm_sample_set dyvm_row_samples(const dyvm_row *r)
{
    return (dyvm_sample_set){.x = r->samples_ms, .n = r->n_samples, .round_n = r->round_n, .rounds = (size_t)r->rounds};
}

/* A seed per row for the bootstrap, from the printed order seed and what the row is: reproducible. */
static uint64_t row_seed(const dyvm_row *r, const dyvm_timing *t)
{
    uint64_t h = t->order_seed ^ 0x9e3779b97f4a7c15ull;
    const char *parts[] = {r->c.model, r->c.block_policy, dyvm_variant_name(r->c.opts.variant), r->backend};
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) h = dyvm_hash_str(h, parts[i]);
    return h ^ (uint64_t)r->c.batch * 0xff51afd7ed558ccdull ^ (uint64_t)llround(r->c.opts.token_ratio * 1e6);
}

void dyvm_row_finish(dyvm_row *row, const dyvm_timing *t)
{
    if (row->n_samples == 0) return;
    for (int s = 0; s < STAGE_COUNT; s++) row->stage_ms[s] /= (double)row->n_samples;
    row->st = dyvm_stats_of(row->samples_ms, row->n_samples);
    row->images_per_s = (double)row->c.batch / (row->st.median / 1e3);
    const dyvm_sample_set s = dyvm_row_samples(row);
    const dyvm_interval m = dyvm_median_ci(&s, 0.95, t->bootstrap_reps, row_seed(row, t));
    row->ips_ci = (dyvm_interval){row->images_per_s, (double)row->c.batch / (m.hi / 1e3), (double)row->c.batch / (m.lo / 1e3)};
    row->rounds_disagree = dyvm_rounds_disagree(&s);
    row->gflops_paper_per_s = row->flops.paper_total * row->images_per_s / 1e9;
    row->gflops_full_per_s = row->flops.full_total * row->images_per_s / 1e9;
    row->floor_ms = row->sol = row->floor_end_ms = NAN;
    for (int i = 0; i < STAGE_COUNT; i++) row->stage_floor_ms[i] = NAN;
}

void dyvm_row_apply_floor(dyvm_row *r, const dyvm_peaks *p)
{
    if (!p || !p->measured || !r->have_flops) return;
    r->floor_ms = dyvm_floor_ms(p, r->c.model, &r->flops, r->c.batch, r->stage_floor_ms);
    r->sol = r->floor_ms / r->st.median;
}

void dyvm_row_speedup(dyvm_row *row, const dyvm_row *base, const char *vs, const dyvm_timing *t)
{
    const dyvm_sample_set num = dyvm_row_samples(base), den = dyvm_row_samples(row);
    row->speedup = dyvm_ratio_ci(&num, &den, 0.95, t->bootstrap_reps, row_seed(row, t) ^ row_seed(base, t));
    row->have_speedup = true;
    snprintf(row->speedup_vs, sizeof row->speedup_vs, "%s", vs);
}

void dyvm_row_free(dyvm_row *r)
{
    free(r->samples_ms);
    r->samples_ms = NULL;
    r->n_samples = r->cap = 0;
}
