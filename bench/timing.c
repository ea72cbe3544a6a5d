#include "timing.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int dyvm_time_case(dyvm_graph *g, dyvm_backend *be, const float *images, const dyvm_case *c, const dyvm_timing *t,
                   dyvm_row *row, char *err, size_t errlen)
{
    memset(row, 0, sizeof *row);
    row->c = *c;
    snprintf(row->backend, sizeof row->backend, "%s", be->name);
    dyvm_result res = {0};
    be->profile = c->profile;
    /* the input stays in the backend's memory: the timed forward starts from it */
    dyvm_graph_upload(g, images, c->batch);
    /* warm-up: caches, page faults, thread pools, lazily allocated scratch */
    const double w0 = dyvm_now_ms();
    for (int i = 0; i < t->warmup || dyvm_now_ms() - w0 < 1e3 * t->warmup_seconds; i++) {
        if (dyvm_forward(g, NULL, c->batch, &c->opts, &res, err, errlen)) return be->profile = false, -1;
        dyvm_result_free(&res);
    }
    size_t cap = 64;
    row->samples_ms = malloc(cap * sizeof *row->samples_ms);
    double measured = 0;
    for (;; dyvm_result_free(&res)) {
        /* CUDA events where the backend has them (device time), else the monotonic host clock */
        if (be->timer_start) be->timer_start(be);
        const double t0 = dyvm_now_ms();
        if (dyvm_forward(g, NULL, c->batch, &c->opts, &res, err, errlen)) {
            be->profile = false;
            dyvm_row_free(row);
            return -1;
        }
        const double ms = be->timer_stop_ms ? be->timer_stop_ms(be) : dyvm_now_ms() - t0;
        if (row->n_samples == cap) row->samples_ms = realloc(row->samples_ms, (cap *= 2) * sizeof *row->samples_ms);
        row->samples_ms[row->n_samples++] = ms;
        measured += ms / 1e3;
        for (int s = 0; s < STAGE_COUNT; s++) row->stage_ms[s] += res.stage_ms[s];
        if (dyvm_should_stop(&t->rule, row->samples_ms, row->n_samples, measured, &row->stop_reason)) break;
    }
    be->profile = false;
    for (int s = 0; s < STAGE_COUNT; s++) row->stage_ms[s] /= (double)row->n_samples;
    row->st = dyvm_stats_of(row->samples_ms, row->n_samples);
    row->images_per_s = (double)c->batch / (row->st.median / 1e3);
    dyvm_realized r;
    dyvm_realized_from_result(&be->w->cfg, &res, c->opts.variant, &r);
    dyvm_flops_count(&be->w->cfg, &r, &row->flops);
    row->gflops_paper_per_s = row->flops.paper_total * row->images_per_s / 1e9;
    row->gflops_full_per_s = row->flops.full_total * row->images_per_s / 1e9;
    row->token_ratio = !dyvm_variant_prunes(c->opts.variant) ? 1.0
                       : c->opts.token_ratio > 0           ? c->opts.token_ratio
                                                           : be->w->cfg.token_ratio;
    row->tokens[row->n_tokens++] = be->w->cfg.M + 1;
    for (int k = 0; k < res.n_stages && row->n_tokens < 8; k++) row->tokens[row->n_tokens++] = res.n_keep[k] + 1;
    dyvm_result_free(&res);
    return 0;
}

void dyvm_row_free(dyvm_row *r)
{
    free(r->samples_ms);
    r->samples_ms = NULL;
    r->n_samples = 0;
}
