#include "weights.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checked.h"
#include "memplan.h"
#include "pos_embed.h"
#include "rng.h"
#include "safetensors.h"

/* How each parameter is generated: the official initialisation (hustvl/Vim models_mamba.py
 * segm_init_weights and _init_weights, mamba_simple.Mamba.__init__, torch's nn.Linear/Conv1d defaults). */
typedef enum {
    INIT_ZERO,
    INIT_ONE,
    INIT_TRUNC_002,   /* trunc_normal_(std=.02), bounds +-2 (absolute, as timm's default) */
    INIT_LECUN,       /* lecun_normal_: truncated normal, std sqrt(1/fan_in)/.8796, cut at +-2 std */
    INIT_TORCH,       /* torch default kaiming_uniform_(a=sqrt(5)): U(-1/sqrt(fan_in), 1/sqrt(fan_in)) */
    INIT_OUT_PROJ,    /* the same, then divided by sqrt(depth) (rescale_prenorm_residual) */
    INIT_DT_W,        /* U(-dt_rank^-0.5, dt_rank^-0.5) */
    INIT_DT_B,        /* inverse softplus of dt = exp(U(log 1e-3, log 0.1)), dt >= 1e-4 */
    INIT_A_LOG,       /* log(1..N) in every row */
} init_kind;

enum { GROUP_CORE, GROUP_BLOCK_HEAD, GROUP_PREDICTOR };

typedef struct {
    char name[96];
    int ndim;
    int64_t shape[4];
    float **slot;
    init_kind init;
    int64_t fan_in;
    int group;
    const st_tensor *src; /* loading: the file's tensor of that name, NULL when absent */
} param;

#define MAX_PARAMS(cfg) (8 + (size_t)(cfg)->depth * 24 + (size_t)(cfg)->n_prune * 12)

static void add(param *t, size_t *n, float **slot, init_kind init, int64_t fan_in, int group, int ndim,
                const int64_t *shape, const char *fmt, int i)
{
    param *p = &t[(*n)++];
    snprintf(p->name, sizeof p->name, fmt, i);
    p->ndim = ndim;
    memcpy(p->shape, shape, sizeof(int64_t) * (size_t)ndim);
    p->slot = slot, p->init = init, p->fan_in = fan_in, p->group = group;
}

#define ADD(slot, init, fan, group, fmt, i, ...)                                                                 \
    do {                                                                                                       \
        const int64_t shp_[] = {__VA_ARGS__};                                                                  \
        add(t, &n, slot, init, fan, group, (int)(sizeof shp_ / sizeof shp_[0]), shp_, fmt, i);                 \
    } while (0)

/* The state dict of SPEC.md section 2, in a fixed order. */
static size_t param_table(dyvm_weights *w, param *t)
{
    const dyvm_config *c = &w->cfg;
    const int64_t D = c->D, E = c->E, N = c->N, R = c->R, K = c->K, P = c->patch;
    size_t n = 0;
    ADD(&w->patch_w, INIT_LECUN, c->channels * P * P, GROUP_CORE, "patch_embed.proj.weight", 0, D, c->channels, P, P);
    ADD(&w->patch_b, INIT_ZERO, 0, GROUP_CORE, "patch_embed.proj.bias", 0, D);
    ADD(&w->cls_token, INIT_TRUNC_002, 0, GROUP_CORE, "cls_token", 0, 1, 1, D);
    ADD(&w->pos_embed, INIT_TRUNC_002, 0, GROUP_CORE, "pos_embed", 0, 1, c->M + 1, D);
    for (int i = 0; i < (int)c->depth; i++) {
        dyvm_layer_weights *l = &w->layers[i];
        ADD(&l->norm_w, INIT_ONE, 0, GROUP_CORE, "layers.%d.norm.weight", i, D);
        ADD(&l->in_proj, INIT_TORCH, D, GROUP_CORE, "layers.%d.mixer.in_proj.weight", i, 2 * E, D);
        static const char *sfx[2][7] = {
            {"conv1d.weight", "conv1d.bias", "x_proj.weight", "dt_proj.weight", "dt_proj.bias", "A_log", "D"},
            {"conv1d_b.weight", "conv1d_b.bias", "x_proj_b.weight", "dt_proj_b.weight", "dt_proj_b.bias", "A_b_log",
             "D_b"}};
        for (int d = 0; d < 2; d++) {
            dyvm_ssm_weights *s = &l->dir[d];
            char f[7][96];
            for (int j = 0; j < 7; j++) snprintf(f[j], sizeof f[j], "layers.%%d.mixer.%s", sfx[d][j]);
            ADD(&s->conv_w, INIT_TORCH, K, GROUP_CORE, f[0], i, E, 1, K);
            ADD(&s->conv_b, INIT_TORCH, K, GROUP_CORE, f[1], i, E);
            ADD(&s->x_proj, INIT_TORCH, E, GROUP_CORE, f[2], i, R + 2 * N, E);
            ADD(&s->dt_w, INIT_DT_W, R, GROUP_CORE, f[3], i, E, R);
            ADD(&s->dt_b, INIT_DT_B, 0, GROUP_CORE, f[4], i, E);
            ADD(&s->A_log, INIT_A_LOG, 0, GROUP_CORE, f[5], i, E, N);
            ADD(&s->Dskip, INIT_ONE, 0, GROUP_CORE, f[6], i, E);
        }
        ADD(&l->out_proj, INIT_OUT_PROJ, E, GROUP_CORE, "layers.%d.mixer.out_proj.weight", i, D, E);
        ADD(&l->block_head_w, INIT_TORCH, 2 * E, GROUP_BLOCK_HEAD, "layers.%d.mixer.block_head.weight", i, 2, 2 * E);
        ADD(&l->block_head_b, INIT_ZERO, 0, GROUP_BLOCK_HEAD, "layers.%d.mixer.block_head.bias", i, 2);
    }
    for (int k = 0; k < c->n_prune; k++) {
        dyvm_predictor_weights *p = &w->predictors[k];
        ADD(&p->ln_w, INIT_ONE, 0, GROUP_PREDICTOR, "score_predictors.%d.in_conv.0.weight", k, D);
        ADD(&p->ln_b, INIT_ZERO, 0, GROUP_PREDICTOR, "score_predictors.%d.in_conv.0.bias", k, D);
        ADD(&p->in_w, INIT_TORCH, D, GROUP_PREDICTOR, "score_predictors.%d.in_conv.1.weight", k, D, D);
        ADD(&p->in_b, INIT_ZERO, 0, GROUP_PREDICTOR, "score_predictors.%d.in_conv.1.bias", k, D);
        ADD(&p->out0_w, INIT_TORCH, D, GROUP_PREDICTOR, "score_predictors.%d.out_conv.0.weight", k, D / 2, D);
        ADD(&p->out0_b, INIT_ZERO, 0, GROUP_PREDICTOR, "score_predictors.%d.out_conv.0.bias", k, D / 2);
        ADD(&p->out2_w, INIT_TORCH, D / 2, GROUP_PREDICTOR, "score_predictors.%d.out_conv.2.weight", k, D / 4, D / 2);
        ADD(&p->out2_b, INIT_ZERO, 0, GROUP_PREDICTOR, "score_predictors.%d.out_conv.2.bias", k, D / 4);
        ADD(&p->out4_w, INIT_TORCH, D / 4, GROUP_PREDICTOR, "score_predictors.%d.out_conv.4.weight", k, 2, D / 4);
        ADD(&p->out4_b, INIT_ZERO, 0, GROUP_PREDICTOR, "score_predictors.%d.out_conv.4.bias", k, 2);
    }
    ADD(&w->norm_f, INIT_ONE, 0, GROUP_CORE, "norm_f.weight", 0, D);
    ADD(&w->head_w, INIT_TRUNC_002, 0, GROUP_CORE, "head.weight", 0, c->classes, D);
    ADD(&w->head_b, INIT_ZERO, 0, GROUP_CORE, "head.bias", 0, c->classes);
    return n;
}

static int64_t numel(const param *p)
{
    int64_t n = 1;
    for (int d = 0; d < p->ndim; d++) n *= p->shape[d];
    return n;
}

static size_t padded(int64_t n) { return ((size_t)n + 15) & ~(size_t)15; } /* 64-byte slices */

/* The parameter table of a config: per-layer and per-stage slot arrays and the table (small: depth and the
 * pruning stages are bounded by the config's domain). NULL with err when out of memory. */
static param *make_table(dyvm_weights *w, size_t *count, char *err, size_t errlen)
{
    const dyvm_config *c = &w->cfg;
    w->layers = calloc((size_t)c->depth, sizeof *w->layers);
    w->predictors = calloc((size_t)(c->n_prune ? c->n_prune : 1), sizeof *w->predictors);
    param *t = calloc(MAX_PARAMS(c), sizeof *t);
    if (w->layers && w->predictors && t) {
        *count = param_table(w, t);
        return t;
    }
    free(t);
    snprintf(err, errlen, "out of memory for the parameter table of %s", c->name);
    return NULL;
}

/* The arena for every slot of the table (and the derived A and transposed conv weights), after checking
 * that it fits in the memory this machine has; -1 with err naming the bytes when it does not. */
static int make_arena(dyvm_weights *w, param *t, size_t count, char *err, size_t errlen)
{
    const dyvm_config *c = &w->cfg;
    dyvm_mem_plan plan = {.weights = dyvm_weights_bytes(c)};
    plan.total = plan.weights;
    char what[64];
    snprintf(what, sizeof what, "the weights of %s", c->name);
    if (dyvm_memory_check(&plan, what, err, errlen)) return -1;
    /* within the plan, so none of these sums can overflow */
    size_t total = 0;
    for (size_t i = 0; i < count; i++) total += padded(numel(&t[i]));
    total += (size_t)c->depth * 2 * (padded(c->E * c->N) + padded(c->K * c->E));
    w->arena = aligned_alloc(64, total * sizeof(float));
    if (!w->arena) return snprintf(err, errlen, "out of memory allocating %zu bytes of weights for %s", total * sizeof(float), c->name), -1;
    memset(w->arena, 0, total * sizeof(float));
    w->arena_floats = total;
    float *p = w->arena;
    for (size_t i = 0; i < count; i++) *t[i].slot = p, p += padded(numel(&t[i]));
    for (int64_t i = 0; i < c->depth; i++)
        for (int d = 0; d < 2; d++) {
            w->layers[i].dir[d].A = p, p += padded(c->E * c->N);
            w->layers[i].dir[d].conv_wt = p, p += padded(c->K * c->E);
        }
    return 0;
}

/* A = -exp(A_log.float()) as Mamba computes it before the scan; the conv weights transposed. */
static void derive(dyvm_weights *w)
{
    const int64_t E = w->cfg.E, N = w->cfg.N, K = w->cfg.K;
    for (int64_t i = 0; i < w->cfg.depth; i++)
        for (int d = 0; d < 2; d++) {
            dyvm_ssm_weights *s = &w->layers[i].dir[d];
            for (int64_t j = 0; j < E * N; j++) s->A[j] = -expf(s->A_log[j]);
            for (int64_t e = 0; e < E; e++)
                for (int64_t k = 0; k < K; k++) s->conv_wt[k * E + e] = s->conv_w[e * K + k];
        }
}

static void generate(const param *p, const dyvm_config *c, dyvm_rng *rng)
{
    float *x = *p->slot;
    const int64_t n = numel(p);
    double b = p->fan_in > 0 ? 1.0 / sqrt((double)p->fan_in) : 0.0;
    for (int64_t j = 0; j < n; j++) {
        double v = 0.0;
        switch (p->init) {
        case INIT_ZERO: v = 0.0; break;
        case INIT_ONE: v = 1.0; break;
        case INIT_TRUNC_002: v = dyvm_rng_trunc_normal(rng, 0.02, -2.0, 2.0); break;
        case INIT_LECUN: {
            double std = b / .87962566103423978;
            v = dyvm_rng_trunc_normal(rng, std, -2.0 * std, 2.0 * std);
            break;
        }
        case INIT_TORCH: v = b * (2.0 * dyvm_rng_uniform(rng) - 1.0); break;
        case INIT_OUT_PROJ: v = b * (2.0 * dyvm_rng_uniform(rng) - 1.0) / sqrt((double)c->depth); break;
        case INIT_DT_W: v = b * (2.0 * dyvm_rng_uniform(rng) - 1.0); break;
        case INIT_DT_B: {
            double dt = exp(dyvm_rng_uniform(rng) * (log(0.1) - log(1e-3)) + log(1e-3));
            if (dt < 1e-4) dt = 1e-4;
            v = dt + log(-expm1(-dt)); /* inverse of softplus */
            break;
        }
        case INIT_A_LOG: v = log((double)(j % c->N + 1)); break;
        }
        x[j] = (float)v;
    }
}

int dyvm_weights_init(dyvm_weights *w, const dyvm_config *cfg, uint64_t seed, char *err, size_t errlen)
{
    memset(w, 0, sizeof *w);
    w->cfg = *cfg;
    size_t n = 0;
    param *t = make_table(w, &n, err, errlen);
    if (!t || make_arena(w, t, n, err, errlen)) return free(t), dyvm_weights_free(w), -1;
    dyvm_rng rng;
    dyvm_rng_seed(&rng, seed);
    for (size_t i = 0; i < n; i++) generate(&t[i], cfg, &rng);
    free(t);
    derive(w);
    w->has_block_heads = w->has_predictors = true;
    w->seed = seed;
    snprintf(w->source, sizeof w->source, "random weights: preset %s, seed %llu", cfg->name, (unsigned long long)seed);
    return 0;
}

/* ---- loading ---- */

static const st_tensor *need(const st_file *f, const char *name, int ndim, char *err, size_t errlen)
{
    const st_tensor *t = st_find(f, name);
    if (!t)
        snprintf(err, errlen, "%s: missing tensor \"%s\" (needed to infer the config)", f->path, name);
    else if (t->ndim != ndim)
        snprintf(err, errlen, "%s: tensor \"%s\" has %d dims, expected %d", f->path, name, t->ndim, ndim);
    else
        return t;
    return NULL;
}

/* The config the tensor shapes imply; metadata, where present, overrides it and is then checked. */
static int config_from_shapes(const st_file *f, dyvm_config *c, char *err, size_t errlen)
{
    const st_tensor *pw = need(f, "patch_embed.proj.weight", 4, err, errlen);
    const st_tensor *pe = pw ? need(f, "pos_embed", 3, err, errlen) : NULL;
    const st_tensor *ip = pe ? need(f, "layers.0.mixer.in_proj.weight", 2, err, errlen) : NULL;
    const st_tensor *al = ip ? need(f, "layers.0.mixer.A_log", 2, err, errlen) : NULL;
    const st_tensor *cw = al ? need(f, "layers.0.mixer.conv1d.weight", 3, err, errlen) : NULL;
    const st_tensor *dt = cw ? need(f, "layers.0.mixer.dt_proj.weight", 2, err, errlen) : NULL;
    const st_tensor *hw = dt ? need(f, "head.weight", 2, err, errlen) : NULL;
    if (!hw) return -1;
    memset(c, 0, sizeof *c);
    snprintf(c->name, sizeof c->name, "weights");
    c->D = pw->shape[0], c->channels = pw->shape[1], c->patch = c->stride = pw->shape[2];
    /* a zero-sized tensor may carry any dim (up to 2^53): the one product here is checked, and the config's
       domain (dyvm_config_finish) bounds the sizes */
    int64_t M = pe->shape[1] - 1, side = (int64_t)llround(sqrt((double)(M > 0 ? M : 0)));
    if (M <= 0 || side * side != M) {
        snprintf(err, errlen, "%s: pos_embed has %lld patch rows, not a square grid", f->path, (long long)M);
        return -1;
    }
    if (!dyvm_mul_ok(side, c->patch, &c->img)) {
        snprintf(err, errlen, "%s: pos_embed and patch_embed.proj.weight imply an image of %lld x %lld patches of "
                 "side %lld, past any supported size", f->path, (long long)side, (long long)side, (long long)c->patch);
        return -1;
    }
    c->expand = c->D > 0 ? ip->shape[0] / (2 * c->D) : 0;
    c->N = al->shape[1], c->K = cw->shape[2], c->R = dt->shape[1], c->classes = hw->shape[0];
    c->norm_eps = 1e-5f;
    char name[96];
    for (c->depth = 0;; c->depth++) {
        snprintf(name, sizeof name, "layers.%lld.norm.weight", (long long)c->depth);
        if (!st_find(f, name)) break;
    }
    for (c->n_prune = 0; c->n_prune < DYVM_MAX_PRUNE; c->n_prune++) {
        snprintf(name, sizeof name, "score_predictors.%d.in_conv.1.weight", c->n_prune);
        if (!st_find(f, name)) break;
    }
    /* weights without score predictors (plain Vim) get DyVM's three stages, so that the "even" token policy
       can prune them (the learned one is refused: no predictors) */
    if (c->n_prune == 0) c->n_prune = 3;
    /* without metadata: stages spread evenly, as the official 6,12,18 of 24 layers; the keep ratio is not
       guessed (0: a pruning variant needs --token-ratio) */
    for (int k = 0; k < c->n_prune; k++) c->prune_loc[k] = (k + 1) * c->depth / (c->n_prune + 1);
    c->token_ratio = 0;
    return 0;
}

/* what a one-line message or a report cannot show as it is (a newline would split the line) */
static bool control_char(char c) { return (unsigned char)c < 0x20 || c == 0x7f; }

/* A metadata value as an error message shows it: control characters (a newline would split the one line)
 * as '?', at most 48 characters, "..." after a longer one. */
static const char *shown(const char *v, char buf[64])
{
    size_t n = 0;
    for (; v[n] && n < 48; n++) buf[n] = control_char(v[n]) ? '?' : v[n];
    snprintf(buf + n, 64 - n, "%s", v[n] ? "..." : "");
    return buf;
}

/* A decimal integer >= lo written as digits alone (strtoll would take leading spaces and a sign). */
static int meta_int_at_least(const st_file *f, const char *key, int64_t lo, int64_t *out, char *err, size_t errlen)
{
    const char *s = st_meta(f, key);
    if (!s) return 0;
    char *end;
    errno = 0;
    long long v = s[0] >= '0' && s[0] <= '9' ? strtoll(s, &end, 10) : -1;
    if (v < 0 || errno || *end || v < lo) {
        char b[64];
        snprintf(err, errlen, "%s: metadata %s = \"%s\" is not a %s integer", f->path, key, shown(s, b),
                 lo > 0 ? "positive" : "non-negative");
        return -1;
    }
    *out = v;
    return 0;
}

static int meta_int(const st_file *f, const char *key, int64_t *out, char *err, size_t errlen)
{
    return meta_int_at_least(f, key, 1, out, err, errlen);
}

static int meta_list(const st_file *f, const char *key, int64_t *out, int *count, char *err, size_t errlen)
{
    const char *s = st_meta(f, key);
    if (!s) return 0;
    int n = 0;
    const char *p = s;
    while (*p) {
        char *end;
        errno = 0;
        long long v = *p >= '0' && *p <= '9' ? strtoll(p, &end, 10) : -1;
        if (v < 0 || errno || n >= DYVM_MAX_PRUNE || (*end && *end != ',') || (*end == ',' && !end[1])) {
            char b[64];
            snprintf(err, errlen, "%s: metadata %s = \"%s\" is not a list of at most %d integers", f->path, key,
                     shown(s, b), DYVM_MAX_PRUNE);
            return -1;
        }
        out[n++] = v;
        p = *end ? end + 1 : end;
    }
    *count = n;
    return 0;
}

static int config_from_metadata(const st_file *f, dyvm_config *c, char *err, size_t errlen)
{
    const char *fmt = st_meta(f, "format");
    if (fmt && strcmp(fmt, "dyvm-weights/1") != 0) {
        char b[64];
        snprintf(err, errlen, "%s: metadata format \"%s\" is not dyvm-weights/1", f->path, shown(fmt, b));
        return -1;
    }
    struct { const char *key; int64_t *v; } ints[] = {
        {"img_size", &c->img}, {"patch_size", &c->patch}, {"stride", &c->stride}, {"channels", &c->channels},
        {"embed_dim", &c->D}, {"depth", &c->depth}, {"d_state", &c->N}, {"d_conv", &c->K},
        {"expand", &c->expand}, {"dt_rank", &c->R}, {"num_classes", &c->classes}};
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++)
        if (meta_int(f, ints[i].key, ints[i].v, err, errlen)) return -1;
    const char *s = st_meta(f, "norm_eps");
    if (s) {
        char *end;
        double v = strtod(s, &end);
        if (end == s || *end || !(v > 0) || !isfinite(v) || !isfinite((float)v) || !((float)v > 0)) {
            char b[64];
            snprintf(err, errlen, "%s: metadata norm_eps = \"%s\" is not a positive finite float32", f->path, shown(s, b));
            return -1;
        }
        c->norm_eps = (float)v;
    }
    if ((s = st_meta(f, "token_ratio"))) {
        char *end;
        c->token_ratio = strtod(s, &end);
        if (end == s || *end || !(c->token_ratio > 0 && c->token_ratio <= 1)) {
            char b[64];
            snprintf(err, errlen, "%s: metadata token_ratio = \"%s\" is not a number in (0, 1]", f->path, shown(s, b));
            return -1;
        }
    }
    if ((s = st_meta(f, "block_keep_ratio"))) { /* the official block keep target (training's), optional */
        char *end;
        c->block_ratio = strtod(s, &end);
        if (end == s || *end || !(c->block_ratio >= 0 && c->block_ratio <= 1)) {
            char b[64];
            snprintf(err, errlen, "%s: metadata block_keep_ratio = \"%s\" is not a number in [0, 1]", f->path, shown(s, b));
            return -1;
        }
    }
    int nloc = c->n_prune;
    if (meta_list(f, "pruning_loc", c->prune_loc, &nloc, err, errlen)) return -1;
    if (!st_find(f, "score_predictors.0.in_conv.1.weight")) c->n_prune = nloc; /* no predictors: the file's stages */
    if (nloc != c->n_prune) {
        snprintf(err, errlen, "%s: metadata pruning_loc has %d stages but the file has %d score predictors", f->path,
                 nloc, c->n_prune);
        return -1;
    }
    return 0;
}

/* Metadata fields that are derived must agree with the derivation. */
static int check_derived(const st_file *f, const dyvm_config *c, char *err, size_t errlen)
{
    int64_t v = 0;
    if (meta_int(f, "num_patches", &v, err, errlen)) return -1;
    if (v && v != c->M) {
        snprintf(err, errlen, "%s: metadata num_patches %lld disagrees with img_size/patch_size (%lld)", f->path,
                 (long long)v, (long long)c->M);
        return -1;
    }
    const char *s = st_meta(f, "cls_position");
    int64_t cls = c->cls_pos;
    if (meta_int_at_least(f, "cls_position", 0, &cls, err, errlen)) return -1;
    if (s && cls != c->cls_pos) {
        snprintf(err, errlen, "%s: metadata cls_position %s is not the middle (%lld); only the middle class token "
                 "is supported", f->path, s, (long long)c->cls_pos);
        return -1;
    }
    int64_t keep[DYVM_MAX_PRUNE];
    int nk = c->n_prune;
    if (meta_list(f, "token_keep", keep, &nk, err, errlen)) return -1;
    if (st_meta(f, "token_keep"))
        for (int k = 0; k < c->n_prune; k++)
            if (nk != c->n_prune || keep[k] != c->token_keep[k]) {
                snprintf(err, errlen, "%s: metadata token_keep \"%s\" disagrees with token_ratio %g", f->path,
                         st_meta(f, "token_keep"), c->token_ratio);
                return -1;
            }
    return 0;
}

static void shape_str(char *buf, size_t len, int ndim, const int64_t *shape)
{
    int n = snprintf(buf, len, "[");
    for (int d = 0; d < ndim && n > 0 && (size_t)n < len; d++)
        n += snprintf(buf + n, len - (size_t)n, "%s%lld", d ? "," : "", (long long)shape[d]);
    if (n > 0 && (size_t)n < len) snprintf(buf + n, len - (size_t)n, "]");
}

/* "[e, n]": the index of element i of a tensor of this shape */
static void index_str(char *buf, size_t len, int ndim, const int64_t *shape, int64_t i)
{
    int64_t idx[8] = {0};
    for (int d = ndim - 1; d >= 0; d--) idx[d] = shape[d] ? i % shape[d] : 0, i = shape[d] ? i / shape[d] : 0;
    shape_str(buf, len, ndim, idx);
}

int dyvm_weights_from_file(dyvm_weights *w, const st_file *f, char *err, size_t errlen)
{
    memset(w, 0, sizeof *w);
    const char *path = f->path;
    int rc = -1;
    param *t = NULL;
    size_t n = 0;
    if (config_from_shapes(f, &w->cfg, err, errlen) || config_from_metadata(f, &w->cfg, err, errlen)) goto done;
    char why[512];
    if (dyvm_config_finish(&w->cfg, why, sizeof why)) {
        snprintf(err, errlen, "%s: %s", path, why);
        goto done;
    }
    if (check_derived(f, &w->cfg, err, errlen) || !(t = make_table(w, &n, err, errlen))) goto done;
    /* a layer or a predictor stage past the ones the file defines would be silently ignored */
    for (size_t i = 0; i < f->n_tensors; i++) {
        const char *name = f->tensors[i].name;
        long long k = -1, limit = 0;
        const char *what = NULL;
        if (sscanf(name, "layers.%lld.", &k) == 1) what = "layers", limit = w->cfg.depth;
        else if (sscanf(name, "score_predictors.%lld.", &k) == 1) what = "score predictor stages", limit = w->cfg.n_prune;
        if (what && k >= limit) {
            snprintf(err, errlen, "%s: tensor \"%s\" is past the %lld %s the file defines", path, name, limit, what);
            goto done;
        }
    }
    /* every tensor against the config, before the arena is allocated (each looked up once); an optional
       group (block heads, score predictors) is all there or all absent: a part of one would be silently unused */
    const char *absent[3] = {NULL, NULL, NULL}, *found[3] = {NULL, NULL, NULL};
    for (size_t i = 0; i < n; i++) {
        if ((t[i].src = st_find(f, t[i].name))) found[t[i].group] = t[i].name;
        else if (!absent[t[i].group]) absent[t[i].group] = t[i].name;
    }
    if (absent[GROUP_CORE]) {
        snprintf(err, errlen, "%s: missing tensor \"%s\"", path, absent[GROUP_CORE]);
        goto done;
    }
    for (int g = GROUP_BLOCK_HEAD; g <= GROUP_PREDICTOR; g++)
        if (found[g] && absent[g]) {
            snprintf(err, errlen, "%s: tensor \"%s\" is missing while \"%s\" is present (the %s must be complete "
                     "or absent)", path, absent[g], found[g], g == GROUP_BLOCK_HEAD ? "block heads" : "score predictors");
            goto done;
        }
    for (size_t i = 0; i < n; i++) {
        const st_tensor *s = t[i].src;
        if (!s) continue;
        if (s->dtype != ST_F32) {
            snprintf(err, errlen, "%s: tensor \"%s\" has dtype %s, expected F32", path, t[i].name,
                     st_dtype_name(s->dtype));
            goto done;
        }
        bool same = s->ndim == t[i].ndim;
        for (int d = 0; same && d < s->ndim; d++) same = s->shape[d] == t[i].shape[d];
        if (!same) {
            char got[128], want[128];
            shape_str(got, sizeof got, s->ndim, s->shape);
            shape_str(want, sizeof want, t[i].ndim, t[i].shape);
            snprintf(err, errlen, "%s: tensor \"%s\" has shape %s but the config implies %s", path, t[i].name, got,
                     want);
            goto done;
        }
    }
    if (make_arena(w, t, n, why, sizeof why)) {
        snprintf(err, errlen, "%s: %s", path, why);
        goto done;
    }
    /* the values: copied, then refused if any is NaN or infinite (it would silently poison every logit) */
    for (size_t i = 0; i < n; i++) {
        const st_tensor *s = t[i].src;
        if (!s) continue;
        memcpy(*t[i].slot, s->data, s->nbytes);
        const size_t count = s->nbytes / sizeof(float), bad = dyvm_first_nonfinite(*t[i].slot, count);
        if (bad < count) {
            char at[128];
            index_str(at, sizeof at, s->ndim, s->shape, (int64_t)bad);
            snprintf(err, errlen, "%s: tensor \"%s\" has a non-finite value (%g) at %s", path, t[i].name,
                     (double)(*t[i].slot)[bad], at);
            goto done;
        }
    }
    w->has_block_heads = !absent[GROUP_BLOCK_HEAD];
    w->has_predictors = w->cfg.n_prune > 0 && !absent[GROUP_PREDICTOR];
    if (st_meta(f, "source")) { /* shown in reports: control characters replaced */
        snprintf(w->source, sizeof w->source, "%s", st_meta(f, "source"));
        for (char *p = w->source; *p; p++) *p = control_char(*p) ? ' ' : *p;
    }
    derive(w);
    rc = 0;
done:
    free(t);
    if (rc) {
        dyvm_weights_free(w);
        /* one line whatever a tensor name or the path holds (a name with a newline split it: found by fuzz_weights),
           as safetensors.c does for its own messages */
        for (char *p = err; errlen && *p; p++) *p = control_char(*p) ? '?' : *p;
    }
    return rc;
}

static param *table_of(const dyvm_weights *w, size_t *n);

int dyvm_weights_resize(dyvm_weights *w, int64_t img, char *err, size_t errlen)
{
    if (img == w->cfg.img) return 0;
    dyvm_config c = w->cfg;
    if (dyvm_config_set_img_size(&c, img, err, errlen)) return -1;
    dyvm_weights n;
    memset(&n, 0, sizeof n);
    n.cfg = c;
    size_t count = 0, count_old = 0;
    param *t = make_table(&n, &count, err, errlen), *old = t ? table_of(w, &count_old) : NULL;
    if (!t || !old || count != count_old || make_arena(&n, t, count, err, errlen)) {
        if (t && !old) snprintf(err, errlen, "out of memory resizing the weights");
        free(t), free(old), dyvm_weights_free(&n);
        return -1;
    }
    for (size_t i = 0; i < count; i++) {
        if (t[i].slot == &n.pos_embed) /* (1, M + 1, D): row 0 kept, the rest a grid (pos_embed.h) */
            dyvm_pos_embed_resize(*old[i].slot, w->cfg.img / w->cfg.patch, n.pos_embed, c.img / c.patch, c.D, 1);
        else if (!(t[i].group == GROUP_BLOCK_HEAD && !w->has_block_heads) && !(t[i].group == GROUP_PREDICTOR && !w->has_predictors))
            memcpy(*t[i].slot, *old[i].slot, sizeof(float) * (size_t)numel(&t[i]));
    }
    n.has_block_heads = w->has_block_heads, n.has_predictors = w->has_predictors, n.seed = w->seed;
    snprintf(n.source, sizeof n.source, "%.100s; pos_embed resized from %lld to %lld pixels", w->source[0] ? w->source : "weights",
             (long long)w->cfg.img, (long long)img);
    derive(&n);
    free(t), free(old);
    dyvm_weights_free(w);
    *w = n;
    return 0;
}

int dyvm_weights_load(dyvm_weights *w, const char *path, char *err, size_t errlen)
{
    memset(w, 0, sizeof *w);
    st_file f;
    if (st_open(path, &f, err, errlen)) return -1;
    const int rc = dyvm_weights_from_file(w, &f, err, errlen);
    st_close(&f);
    return rc;
}

/* The table of an existing model: param_table only takes the slots' addresses. */
static param *table_of(const dyvm_weights *w, size_t *n)
{
    param *t = calloc(MAX_PARAMS(&w->cfg), sizeof *t);
    if (t) *n = param_table((dyvm_weights *)w, t);
    return t;
}

static bool present(const dyvm_weights *w, const param *p)
{
    return !(p->group == GROUP_BLOCK_HEAD && !w->has_block_heads) &&
           !(p->group == GROUP_PREDICTOR && !w->has_predictors);
}

int dyvm_weights_save(const dyvm_weights *w, const char *path, char *err, size_t errlen)
{
    const dyvm_config *c = &w->cfg;
    size_t n = 0;
    param *t = table_of(w, &n);
    st_writer *wr = st_writer_new();
    int rc = -1;
    if (!t || !wr) {
        snprintf(err, errlen, "%s: out of memory", path);
        goto done;
    }
    for (size_t i = 0; i < n; i++)
        if (present(w, &t[i]) && st_writer_add(wr, t[i].name, ST_F32, t[i].ndim, t[i].shape, *t[i].slot)) {
            snprintf(err, errlen, "%s: cannot add tensor %s", path, t[i].name);
            goto done;
        }
    char v[64], loc[128] = "", keep[128] = "";
    for (int k = 0; k < c->n_prune; k++) {
        size_t a = strlen(loc), b = strlen(keep);
        snprintf(loc + a, sizeof loc - a, "%s%lld", k ? "," : "", (long long)c->prune_loc[k]);
        snprintf(keep + b, sizeof keep - b, "%s%lld", k ? "," : "", (long long)c->token_keep[k]);
    }
    struct { const char *k; int64_t v; } ints[] = {
        {"img_size", c->img}, {"patch_size", c->patch}, {"stride", c->stride}, {"channels", c->channels},
        {"embed_dim", c->D}, {"depth", c->depth}, {"d_state", c->N}, {"d_conv", c->K}, {"expand", c->expand},
        {"dt_rank", c->R}, {"num_classes", c->classes}, {"num_patches", c->M}, {"cls_position", c->cls_pos},
        {"seed", (int64_t)w->seed}};
    st_writer_meta(wr, "format", "dyvm-weights/1");
    if (w->source[0]) st_writer_meta(wr, "source", w->source);
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
        snprintf(v, sizeof v, "%lld", (long long)ints[i].v);
        st_writer_meta(wr, ints[i].k, v);
    }
    snprintf(v, sizeof v, "%.9g", (double)c->norm_eps);
    st_writer_meta(wr, "norm_eps", v);
    if (c->n_prune) st_writer_meta(wr, "pruning_loc", loc);
    if (c->token_ratio > 0) { /* unknown stays unknown: never written as a guess */
        snprintf(v, sizeof v, "%.17g", c->token_ratio);
        st_writer_meta(wr, "token_ratio", v);
        if (c->n_prune) st_writer_meta(wr, "token_keep", keep);
    }
    rc = st_writer_save(wr, path, err, errlen);
done:
    st_writer_free(wr);
    free(t);
    return rc;
}

size_t dyvm_weights_count(const dyvm_weights *w)
{
    size_t n = 0, total = 0;
    param *t = table_of(w, &n);
    for (size_t i = 0; t && i < n; i++)
        if (present(w, &t[i])) total += (size_t)numel(&t[i]);
    free(t);
    return total;
}

void dyvm_weights_free(dyvm_weights *w)
{
    free(w->arena);
    free(w->layers);
    free(w->predictors);
    memset(w, 0, sizeof *w);
}
