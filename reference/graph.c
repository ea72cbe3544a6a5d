#include "graph.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checked.h"
#include "memplan.h"
#include "rng.h"

struct dyvm_graph {
    dyvm_backend *be;
    int64_t max_B;
    float *h, *r, *u, *h2, *r2; /* (B, M+1, D) */
    float *xz;                  /* (B, M+1, 2E) */
    float *y[2];                /* (B, M+1, E) per direction */
    float *scores;              /* (B, M) */
    int32_t *keep, *pos, *pos2; /* (B, M) */
    int32_t *iota;              /* (B, M): m in every row, the patch indices before any pruning; set once */
    float *images;              /* (B, C, H, W) */
    float *features, *logits, *blog; /* (B, D), (B, classes), (B, 2) */
    int32_t *lists;             /* backend (depth, 2, B): the images each branch runs, per forward or per layer */
    int32_t *lists_host;        /* host (depth, 2, B): what was sent; unchanged until the forward's end */
    int64_t *list_n;            /* host (depth, 2): how many of each list are used */
    int32_t *keep_host;         /* host (n_prune, B, M): the "even" token policy's kept indices, per stage */
};

static const char *variant_names[] = {"vim", "token", "block", "dyvm"};

const char *dyvm_variant_name(dyvm_variant v) { return variant_names[v]; }
bool dyvm_variant_prunes(dyvm_variant v) { return v == VARIANT_TOKEN || v == VARIANT_DYVM; }
bool dyvm_variant_selects(dyvm_variant v) { return v == VARIANT_BLOCK || v == VARIANT_DYVM; }

int dyvm_parse_variant(const char *s, dyvm_variant *v)
{
    for (int i = 0; i < 4; i++)
        if (!strcmp(s, variant_names[i])) return *v = (dyvm_variant)i, 0;
    return -1;
}

int dyvm_parse_token_policy(const char *s, dyvm_token_kind *t)
{
    if (!strcmp(s, "learned")) return *t = TOKEN_LEARNED, 0;
    if (!strcmp(s, "even")) return *t = TOKEN_EVEN, 0;
    return -1;
}

int dyvm_parse_block_policy(const char *s, dyvm_block_policy *p, char *err, size_t errlen)
{
    uint64_t seed = p->seed;
    memset(p, 0, sizeof *p);
    p->seed = seed;
    char *end;
    if (!strcmp(s, "learned")) p->kind = BLOCK_LEARNED;
    else if (!strcmp(s, "all")) p->kind = BLOCK_ALL;
    else if (!strcmp(s, "none")) p->kind = BLOCK_NONE;
    else if (!strncmp(s, "ratio:", 6)) {
        p->kind = BLOCK_RATIO;
        p->ratio = strtod(s + 6, &end);
        if (end == s + 6 || *end || !(p->ratio >= 0.0 && p->ratio <= 1.0)) {
            snprintf(err, errlen, "block policy \"%s\": ratio must be a number in [0, 1]", s);
            return -1;
        }
    } else if (!strncmp(s, "keep:", 5)) {
        p->kind = BLOCK_KEEP;
        p->ratio = strtod(s + 5, &end);
        if (end == s + 5 || *end || !(p->ratio >= 0.0 && p->ratio <= 1.0)) {
            snprintf(err, errlen, "block policy \"%s\": keep ratio must be a number in [0, 1]", s);
            return -1;
        }
    } else if (!strncmp(s, "count:", 6)) {
        p->kind = BLOCK_COUNT;
        p->count = strtoll(s + 6, &end, 10);
        if (end == s + 6 || *end || p->count < 0) {
            snprintf(err, errlen, "block policy \"%s\": count must be a non-negative integer", s);
            return -1;
        }
    } else {
        snprintf(err, errlen, "unknown block policy \"%s\" (expected learned, all, none, ratio:R, keep:R or count:K)", s);
        return -1;
    }
    return 0;
}

int64_t dyvm_block_keep_count(double ratio, int64_t depth) { return (int64_t)llround(ratio * (double)(2 * depth)); }

/* keep:R: image b runs exactly K = round(R * 2 * depth) of the 2 * depth branches, spread evenly over the
 * layers as count:K does, but from a seeded offset o in [0, depth) and a seeded first direction per image:
 * layer l runs floor(((l+1)K + o) / depth) - floor((lK + o) / depth) branches (0, 1 or 2; they add up to
 * exactly K), and the layers that run one alternate between the directions. Integers only: exact. */
static void keep_runs(const dyvm_block_policy *p, int64_t depth, int64_t b, int64_t layer, int run[2])
{
    const int64_t K = dyvm_block_keep_count(p->ratio, depth);
    const int64_t o = (int64_t)(dyvm_hash_uniform(p->seed, (uint64_t)b, UINT64_C(0x6b656570), 0) * (double)depth) % depth;
    const int64_t phase = dyvm_hash_uniform(p->seed, (uint64_t)b, UINT64_C(0x6b656570), 1) < 0.5;
    int64_t singles = phase;
    for (int64_t l = 0; l <= layer; l++) {
        const int64_t c = ((l + 1) * K + o) / depth - (l * K + o) / depth;
        if (l == layer) {
            run[0] = c == 2 || (c == 1 && singles % 2 == 0);
            run[1] = c == 2 || (c == 1 && singles % 2 == 1);
        }
        singles += c == 1;
    }
}

void dyvm_block_policy_fixed(const dyvm_block_policy *p, int64_t depth, int64_t b, int64_t layer, int run[2])
{
    switch (p->kind) {
    case BLOCK_LEARNED: /* not fixed: the graph asks the block head */
    case BLOCK_ALL: run[0] = run[1] = 1; break;
    case BLOCK_NONE: run[0] = run[1] = 0; break;
    case BLOCK_RATIO:
        for (int d = 0; d < 2; d++) run[d] = dyvm_hash_uniform(p->seed, (uint64_t)b, (uint64_t)layer, (uint64_t)d) < p->ratio;
        break;
    case BLOCK_KEEP: keep_runs(p, depth, b, layer, run); break;
    case BLOCK_COUNT: {
        /* K of the 2*depth branches, spread evenly: layer l runs floor((l+1)K/depth) - floor(lK/depth) of them
           (0, 1 or 2); layers that run one alternate between forward and backward. */
        int64_t k = p->count, singles = 0;
        for (int64_t l = 0; l <= layer; l++) {
            int64_t c = (l + 1) * k / depth - l * k / depth;
            if (l == layer) {
                run[0] = c == 2 || (c == 1 && singles % 2 == 0);
                run[1] = c == 2 || (c == 1 && singles % 2 == 1);
            }
            singles += c == 1;
        }
        break;
    }
    }
}

void dyvm_graph_free(dyvm_graph *g)
{
    if (!g) return;
    void *bufs[] = {g->h, g->r, g->u, g->h2, g->r2, g->xz, g->y[0], g->y[1], g->scores, g->keep, g->pos, g->pos2, g->iota,
                    g->images, g->features, g->logits, g->blog, g->lists};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        if (bufs[i]) g->be->release(g->be, bufs[i]);
    free(g->lists_host), free(g->list_n), free(g->keep_host);
    free(g);
}

dyvm_graph *dyvm_graph_new(dyvm_backend *be, int64_t max_B, char *err, size_t errlen)
{
    const dyvm_config *c = &be->w->cfg;
    dyvm_graph *g = calloc(1, sizeof *g);
    if (!g) {
        snprintf(err, errlen, "out of memory for a batch of %lld on the %s backend", (long long)max_B, be->name);
        return NULL;
    }
    g->be = be, g->max_B = max_B;
    const size_t B = (size_t)max_B, M = (size_t)c->M, depth = (size_t)c->depth;
    /* the buffers in the order of the memory plan's table (memplan.h), which gives their sizes */
    void **slot[DYVM_GRAPH_BUFFERS] = {
        (void **)&g->h,    (void **)&g->r,    (void **)&g->u,    (void **)&g->h2,     (void **)&g->r2,
        (void **)&g->xz,   (void **)&g->y[0], (void **)&g->y[1], (void **)&g->scores, (void **)&g->keep,
        (void **)&g->pos,  (void **)&g->pos2, (void **)&g->iota, (void **)&g->images, (void **)&g->features,
        (void **)&g->logits, (void **)&g->blog, (void **)&g->lists};
    double bytes[DYVM_GRAPH_BUFFERS];
    dyvm_graph_buffer_bytes(c, max_B, bytes);
    if (be->fuses_directions) bytes[DYVM_GRAPH_Y_BWD] = 0; /* the backward branch writes into y_fwd */
    char size[32];
    for (int i = 0; i < DYVM_GRAPH_BUFFERS; i++)
        if (!(*slot[i] = be->alloc(be, (size_t)bytes[i]))) {
            snprintf(err, errlen, "out of %s memory allocating %s (%s) for a batch of %lld", be->name,
                     dyvm_graph_buffer_names[i], dyvm_bytes_str(bytes[i], size, sizeof size), (long long)max_B);
            dyvm_graph_free(g);
            return NULL;
        }
    g->lists_host = malloc(depth * 2 * B * sizeof *g->lists_host);
    g->list_n = malloc(depth * 2 * sizeof *g->list_n);
    g->keep_host = malloc((size_t)(c->n_prune ? c->n_prune : 1) * B * M * sizeof *g->keep_host);
    int32_t *iota = malloc(B * M * sizeof *iota);
    if (!g->lists_host || !g->list_n || !g->keep_host || !iota) {
        free(iota);
        dyvm_graph_free(g);
        snprintf(err, errlen, "out of host memory for the image lists of a batch of %lld", (long long)max_B);
        return NULL;
    }
    for (size_t i = 0; i < B * M; i++) iota[i] = (int32_t)(i % M);
    be->upload(be, g->iota, iota, B * M * sizeof *iota);
    free(iota);
    if (be->reserve_scratch) /* the plan's scratch now: no forward grows it (nor times a reallocation) */
        be->reserve_scratch(be, (size_t)dyvm_scratch_bytes(c, max_B, be->fuses_directions));
    return g;
}

int dyvm_result_check_finite(const dyvm_result *r, char *err, size_t errlen)
{
    const size_t n = (size_t)(r->B * r->classes), bad = dyvm_first_nonfinite(r->logits, n);
    if (bad == n) return 0;
    snprintf(err, errlen, "the forward produced a non-finite logit (%g) for image %lld, class %lld: the weights or "
             "inputs overflow float32", (double)r->logits[bad], (long long)(bad / (size_t)r->classes),
             (long long)(bad % (size_t)r->classes));
    return -1;
}

void dyvm_result_free(dyvm_result *r)
{
    free(r->logits), free(r->features), free(r->block_policy);
    for (int k = 0; k < 8; k++) free(r->kept[k]), free(r->score[k]);
    if (r->stream)
        for (int64_t i = 0; i < r->depth; i++) free(r->stream[i]);
    if (r->block_logits)
        for (int64_t i = 0; i < r->depth; i++) free(r->block_logits[i]);
    free(r->stream), free(r->stream_L), free(r->block_logits);
    memset(r, 0, sizeof *r);
}

static int check_opts(const dyvm_backend *be, const dyvm_run_opts *o, int64_t B, int64_t max_B, char *err,
                      size_t errlen)
{
    const dyvm_weights *w = be->w;
    const bool prunes = dyvm_variant_prunes(o->variant), selects = dyvm_variant_selects(o->variant);
    /* a backend may not have every op yet (the CUDA backend's token pruning and block selection) */
    if ((prunes && (!be->gather || (o->token == TOKEN_LEARNED && (!be->predictor_scores || !be->top_k)))) ||
        (selects && o->block.kind == BLOCK_LEARNED && !be->block_logits)) {
        snprintf(err, errlen, "variant %s with these policies is not available on the %s backend yet",
                 dyvm_variant_name(o->variant), be->name);
        return -1;
    }
    if (w->cfg.depth > DYVM_MAX_DEPTH) {
        snprintf(err, errlen, "depth %lld is more than the %d layers supported", (long long)w->cfg.depth,
                 DYVM_MAX_DEPTH);
        return -1;
    }
    if (B < 1 || B > max_B) {
        snprintf(err, errlen, "batch %lld outside 1..%lld", (long long)B, (long long)max_B);
        return -1;
    }
    if (prunes) {
        if (w->cfg.n_prune == 0) {
            snprintf(err, errlen, "variant %s needs pruning locations, and these weights have none",
                     dyvm_variant_name(o->variant));
            return -1;
        }
        if (o->token == TOKEN_LEARNED && !w->has_predictors) {
            snprintf(err, errlen, "variant %s with the learned token policy needs score_predictors.* weights "
                     "(use --token-policy even)", dyvm_variant_name(o->variant));
            return -1;
        }
        if (!(w->cfg.token_ratio > 0) && !(o->token_ratio > 0)) {
            snprintf(err, errlen, "variant %s prunes tokens, and these weights carry no token_ratio metadata: give "
                     "--token-ratio R (the official models: 0.9 for Vim-T, 0.7 for Vim-S and Vim-B)",
                     dyvm_variant_name(o->variant));
            return -1;
        }
    }
    if (selects) {
        if (o->block.kind == BLOCK_LEARNED && !w->has_block_heads) {
            snprintf(err, errlen, "variant %s with the learned block policy needs layers.*.mixer.block_head.* weights "
                     "(use --block-policy all|none|ratio:R|keep:R|count:K)", dyvm_variant_name(o->variant));
            return -1;
        }
        if (o->block.kind == BLOCK_COUNT && o->block.count > 2 * w->cfg.depth) {
            snprintf(err, errlen, "block policy count:%lld exceeds the %lld directional branches",
                     (long long)o->block.count, (long long)(2 * w->cfg.depth));
            return -1;
        }
    }
    return 0;
}

/* Which branches image b runs at a layer, when no block head decides: every one, or the fixed policy's */
static void decide_fixed(const dyvm_run_opts *o, int64_t depth, int64_t B, int64_t layer, int (*run)[2])
{
    for (int64_t b = 0; b < B; b++) {
        if (dyvm_variant_selects(o->variant)) dyvm_block_policy_fixed(&o->block, depth, b, layer, run[b]);
        else run[b][0] = run[b][1] = 1;
    }
}

/* Learned decisions come from the block head, in float32 as the official code does: sigmoid(logit) > 0.5. */
static void decide_learned(dyvm_graph *g, const dyvm_layer_weights *lw, int64_t B, int64_t L, int64_t cls,
                           int (*run)[2], float *logits_host)
{
    dyvm_backend *be = g->be;
    be->block_logits(be, lw, g->xz, B, L, cls, g->blog);
    be->download(be, logits_host, g->blog, sizeof(float) * (size_t)(2 * B)); /* the one read-back per layer */
    be->work.transc[STAGE_BLOCK_HEAD] += (uint64_t)(2 * B); /* sigmoid: exp, then neg, add, div */
    be->work.elem[STAGE_BLOCK_HEAD] += (uint64_t)(2 * B * 3);
    for (int64_t b = 0; b < B; b++)
        for (int d = 0; d < 2; d++) run[b][d] = 1.0f / (1.0f + expf(-logits_host[b * 2 + d])) > 0.5f;
}

/* The image lists of a layer's two branches from its decisions (lists_host, list_n), and the block policy
 * of the result */
static void set_lists(dyvm_graph *g, dyvm_result *res, int64_t layer, int64_t B, const int (*run)[2])
{
    for (int d = 0; d < 2; d++) {
        int32_t *list = g->lists_host + (layer * 2 + d) * B;
        int64_t n = 0;
        for (int64_t b = 0; b < B; b++) {
            if (run[b][d]) list[n++] = (int32_t)b;
            if (res->block_policy) res->block_policy[(b * res->depth + layer) * 2 + d] = (float)run[b][d];
        }
        g->list_n[layer * 2 + d] = n;
    }
}

/* token policy "even": n_keep indices spread evenly over n */
static void even_keep(int32_t *keep, int64_t B, int64_t n, int64_t n_keep)
{
    for (int64_t b = 0; b < B; b++)
        for (int64_t j = 0; j < n_keep; j++) keep[b * n_keep + j] = (int32_t)(((2 * j + 1) * n) / (2 * n_keep));
}

static int capture_stream(dyvm_graph *g, dyvm_result *res, int64_t layer, int64_t B, int64_t L)
{
    const int64_t D = g->be->w->cfg.D, n = B * L * D;
    float *s = malloc(sizeof(float) * (size_t)(2 * n));
    if (!s) return -1;
    g->be->download(g->be, s, g->h, sizeof(float) * (size_t)n);
    g->be->download(g->be, s + n, g->r, sizeof(float) * (size_t)n);
    for (int64_t i = 0; i < n; i++) s[i] += s[n + i];
    res->stream[layer] = s;
    res->stream_L[layer] = L;
    return 0;
}

void dyvm_graph_upload(dyvm_graph *g, const float *images, int64_t B)
{
    const dyvm_config *c = &g->be->w->cfg;
    g->be->upload(g->be, g->images, images, sizeof(float) * (size_t)(B * c->channels * c->img * c->img));
}

int dyvm_forward(dyvm_graph *g, const float *images, int64_t B, const dyvm_run_opts *o, dyvm_result *res, char *err,
                 size_t errlen)
{
    dyvm_backend *be = g->be;
    const dyvm_weights *w = be->w;
    dyvm_config cfg = w->cfg;
    memset(res, 0, sizeof *res);
    if (errlen) err[0] = '\0';
    if (check_opts(be, o, B, g->max_B, err, errlen)) return -1;
    if (o->token_ratio > 0 && dyvm_config_set_token_ratio(&cfg, o->token_ratio, err, errlen)) return -1;
    const bool prunes = dyvm_variant_prunes(o->variant), selects = dyvm_variant_selects(o->variant);
    const int64_t D = cfg.D, E = cfg.E, depth = cfg.depth, M = cfg.M;
    res->B = B, res->classes = cfg.classes, res->D = D, res->depth = depth;
    res->logits = malloc(sizeof(float) * (size_t)(B * cfg.classes));
    res->features = malloc(sizeof(float) * (size_t)(B * D));
    res->block_policy = selects ? calloc((size_t)(B * depth * 2), sizeof(float)) : NULL;
    int (*run)[2] = malloc(sizeof *run * (size_t)B);
    float *blog = malloc(sizeof(float) * (size_t)(2 * B));
    if (o->capture) {
        res->stream = calloc((size_t)depth, sizeof *res->stream);
        res->stream_L = calloc((size_t)depth, sizeof *res->stream_L);
        res->block_logits = calloc((size_t)depth, sizeof *res->block_logits);
    }
    int rc = -1;
    if (!res->logits || !res->features || (selects && !res->block_policy) || !run || !blog ||
        (o->capture && (!res->stream || !res->stream_L || !res->block_logits))) {
        snprintf(err, errlen, "out of memory for the results");
        goto done;
    }

    memset(&be->work, 0, sizeof be->work);
    memset(be->stage_ms, 0, sizeof be->stage_ms);
    be->mem_peak = be->mem_now; /* this forward's high-water mark from here */
    double t;
    const bool learned_blocks = selects && o->block.kind == BLOCK_LEARNED;
    res->block_heads_ran = learned_blocks;
    if (images) dyvm_graph_upload(g, images, B);
    if (!learned_blocks) { /* every layer's lists known now: one copy for the forward */
        for (int64_t i = 0; i < depth; i++) {
            decide_fixed(o, depth, B, i, run);
            set_lists(g, res, i, B, (const int(*)[2])run);
        }
        be->upload_async(be, g->lists, g->lists_host, sizeof(int32_t) * (size_t)(depth * 2 * B));
    }
    const int32_t *pos = g->iota; /* original patch index of each non-class token, (B, L - 1) */

    /* x = patch_embed(x); cls token in the middle; + pos_embed */
    dyvm_trace_push("forward");
    t = dyvm_stage_begin(be, STAGE_EMBED);
    be->embed(be, g->images, B, g->h);
    dyvm_stage_end(be, STAGE_EMBED, t);
    int64_t L = M + 1, cls = cfg.cls_pos;
    int stage = 0;
    for (int64_t i = 0; i < depth; i++) {
        const dyvm_layer_weights *lw = &w->layers[i];
        char layer_name[32];
        snprintf(layer_name, sizeof layer_name, "layer %lld", (long long)i);
        dyvm_trace_push(layer_name);
        if (prunes && stage < cfg.n_prune && cfg.prune_loc[stage] == i) {
            const int64_t n = L - 1, nk = cfg.token_keep[stage];
            res->scored[stage] = n;
            if (o->token == TOKEN_LEARNED) {
                res->predictors_ran = true;
                t = dyvm_stage_begin(be, STAGE_PREDICTOR);
                be->predictor_scores(be, stage, g->h, g->r, B, L, cls, g->scores);
                be->top_k(be, g->scores, B, n, nk, g->keep);
                dyvm_stage_end(be, STAGE_PREDICTOR, t);
                if (o->capture && (res->score[stage] = malloc(sizeof(float) * (size_t)(B * n)))) {
                    be->download(be, res->score[stage], g->scores, sizeof(float) * (size_t)(B * n));
                    res->score_n[stage] = n;
                }
            } else {
                int32_t *host_keep = g->keep_host + stage * B * M; /* its own per stage: sent without a wait */
                even_keep(host_keep, B, n, nk);
                be->upload_async(be, g->keep, host_keep, sizeof(int32_t) * (size_t)(B * nk));
            }
            t = dyvm_stage_begin(be, STAGE_GATHER);
            int32_t *pos_out = pos == g->pos ? g->pos2 : g->pos;
            be->gather(be, g->h, g->r, pos, g->keep, B, L, cls, nk, g->h2, g->r2, pos_out);
            dyvm_stage_end(be, STAGE_GATHER, t);
            float *sw = g->h; g->h = g->h2; g->h2 = sw;
            sw = g->r; g->r = g->r2; g->r2 = sw;
            pos = pos_out;
            L = nk + 1, cls = nk / 2;
            res->n_keep[stage] = nk;
            if (!(res->kept[stage] = malloc(sizeof(int32_t) * (size_t)(B * nk)))) goto done;
            be->download(be, res->kept[stage], pos, sizeof(int32_t) * (size_t)(B * nk));
            res->n_stages = ++stage;
        }
        res->tokens[i] = L;
        /* residual = residual + hidden_states; hidden_states = norm(residual) */
        t = dyvm_stage_begin(be, STAGE_NORM);
        be->add_norm(be, lw->norm_w, g->r, g->h, g->u, B * L, i == 0);
        dyvm_stage_end(be, STAGE_NORM, t);
        /* xz = self.in_proj(hidden_states) */
        t = dyvm_stage_begin(be, STAGE_IN_PROJ);
        be->linear(be, STAGE_IN_PROJ, g->u, lw->in_proj, g->xz, B * L, D, 2 * E);
        dyvm_stage_end(be, STAGE_IN_PROJ, t);
        if (learned_blocks) { /* this layer's lists: one copy, after the one read-back of the decisions */
            t = dyvm_stage_begin(be, STAGE_BLOCK_HEAD);
            decide_learned(g, lw, B, L, cls, run, blog);
            set_lists(g, res, i, B, (const int(*)[2])run);
            be->upload_async(be, g->lists + i * 2 * B, g->lists_host + i * 2 * B, sizeof(int32_t) * (size_t)(2 * B));
            dyvm_stage_end(be, STAGE_BLOCK_HEAD, t);
            if (o->capture && (res->block_logits[i] = malloc(sizeof(float) * (size_t)(2 * B))))
                memcpy(res->block_logits[i], blog, sizeof(float) * (size_t)(2 * B));
        }
        for (int d = 0; d < 2; d++) {
            const int64_t n = g->list_n[i * 2 + d];
            res->branches_run += n;
            res->branch_images[i][d] = n;
            dyvm_branch_args a = {.w = &lw->dir[d], .dir = d, .xz = g->xz, .y = g->y[d],
                                  .images = g->lists_host + (i * 2 + d) * B, .images_dev = g->lists + (i * 2 + d) * B,
                                  .n_images = n, .B = B, .L = L};
            be->ssm_branch(be, &a); /* times its own phases (conv, x_proj, dt_proj, scan) */
        }
        /* hidden_states = out_proj((y_fwd + y_bwd.flip) / 2) */
        t = dyvm_stage_begin(be, STAGE_OUT_PROJ);
        be->combine_out_proj(be, lw, g->y[0], g->y[1], g->h, B * L);
        dyvm_stage_end(be, STAGE_OUT_PROJ, t);
        dyvm_trace_pop();
        if (o->capture && capture_stream(g, res, i, B, L)) goto done;
    }
    /* features = norm_f(residual + hidden_states)[:, cls]; logits = head(features) */
    t = dyvm_stage_begin(be, STAGE_HEAD);
    be->head(be, g->h, g->r, B, L, cls, g->features, g->logits);
    dyvm_stage_end(be, STAGE_HEAD, t);
    dyvm_trace_pop();
    be->download(be, res->features, g->features, sizeof(float) * (size_t)(B * D));
    be->download(be, res->logits, g->logits, sizeof(float) * (size_t)(B * cfg.classes));
    res->work = be->work;
    memcpy(res->stage_ms, be->stage_ms, sizeof res->stage_ms);
    res->weights_bytes = be->mem_weights, res->peak_bytes = be->mem_peak;
    rc = 0;
done:
    if (rc && !err[0]) snprintf(err, errlen, "out of memory during the forward pass");
    free(run), free(blog);
    if (rc) dyvm_result_free(res);
    return rc;
}
