#include "weights.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* Allocates the arena and points every slot (and the derived A) into it; returns the table. */
static param *allocate(dyvm_weights *w, size_t *count, char *err, size_t errlen)
{
    const dyvm_config *c = &w->cfg;
    w->layers = calloc((size_t)c->depth, sizeof *w->layers);
    w->predictors = calloc((size_t)(c->n_prune ? c->n_prune : 1), sizeof *w->predictors);
    param *t = calloc(MAX_PARAMS(c), sizeof *t);
    if (!w->layers || !w->predictors || !t) goto oom;
    *count = param_table(w, t);
    size_t total = 0;
    for (size_t i = 0; i < *count; i++) total += padded(numel(&t[i]));
    total += (size_t)c->depth * 2 * (padded(c->E * c->N) + padded(c->K * c->E));
    w->arena = aligned_alloc(64, total * sizeof(float));
    if (!w->arena) goto oom;
    memset(w->arena, 0, total * sizeof(float));
    w->arena_floats = total;
    float *p = w->arena;
    for (size_t i = 0; i < *count; i++) *t[i].slot = p, p += padded(numel(&t[i]));
    for (int64_t i = 0; i < c->depth; i++)
        for (int d = 0; d < 2; d++) {
            w->layers[i].dir[d].A = p, p += padded(c->E * c->N);
            w->layers[i].dir[d].conv_wt = p, p += padded(c->K * c->E);
        }
    return t;
oom:
    free(t);
    snprintf(err, errlen, "out of memory allocating weights for %s", c->name);
    return NULL;
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
    size_t n;
    param *t = allocate(w, &n, err, errlen);
    if (!t) return dyvm_weights_free(w), -1;
    dyvm_rng rng;
    dyvm_rng_seed(&rng, seed);
    for (size_t i = 0; i < n; i++) generate(&t[i], cfg, &rng);
    free(t);
    derive(w);
    w->has_block_heads = w->has_predictors = true;
    w->seed = seed;
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
    int64_t M = pe->shape[1] - 1, side = (int64_t)llround(sqrt((double)(M > 0 ? M : 0)));
    if (M <= 0 || side * side != M) {
        snprintf(err, errlen, "%s: pos_embed has %lld patch rows, not a square grid", f->path, (long long)M);
        return -1;
    }
    c->img = side * c->patch;
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
    /* without metadata: stages spread evenly, as the official 6,12,18 of 24 layers */
    for (int k = 0; k < c->n_prune; k++) c->prune_loc[k] = (k + 1) * c->depth / (c->n_prune + 1);
    c->token_ratio = 0.7;
    return 0;
}

static int meta_int(const st_file *f, const char *key, int64_t *out, char *err, size_t errlen)
{
    const char *s = st_meta(f, key);
    if (!s) return 0;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v <= 0) {
        snprintf(err, errlen, "%s: metadata %s = \"%s\" is not a positive integer", f->path, key, s);
        return -1;
    }
    *out = v;
    return 0;
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
        long long v = strtoll(p, &end, 10);
        if (errno || end == p || v < 0 || n >= DYVM_MAX_PRUNE || (*end && *end != ',')) {
            snprintf(err, errlen, "%s: metadata %s = \"%s\" is not a list of at most %d integers", f->path, key, s,
                     DYVM_MAX_PRUNE);
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
        snprintf(err, errlen, "%s: metadata format \"%s\" is not dyvm-weights/1", f->path, fmt);
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
        if (end == s || *end || !(v > 0)) {
            snprintf(err, errlen, "%s: metadata norm_eps = \"%s\" is not a positive number", f->path, s);
            return -1;
        }
        c->norm_eps = (float)v;
    }
    if ((s = st_meta(f, "token_ratio"))) {
        char *end;
        c->token_ratio = strtod(s, &end);
        if (end == s || *end) {
            snprintf(err, errlen, "%s: metadata token_ratio = \"%s\" is not a number", f->path, s);
            return -1;
        }
    }
    int nloc = c->n_prune;
    if (meta_list(f, "pruning_loc", c->prune_loc, &nloc, err, errlen)) return -1;
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
    if (s && strtoll(s, NULL, 10) != c->cls_pos) {
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

int dyvm_weights_load(dyvm_weights *w, const char *path, char *err, size_t errlen)
{
    memset(w, 0, sizeof *w);
    st_file f;
    if (st_open(path, &f, err, errlen)) return -1;
    int rc = -1;
    param *t = NULL;
    size_t n = 0;
    if (config_from_shapes(&f, &w->cfg, err, errlen) || config_from_metadata(&f, &w->cfg, err, errlen))
        goto done;
    char why[512];
    if (dyvm_config_finish(&w->cfg, why, sizeof why)) {
        snprintf(err, errlen, "%s: %s", path, why);
        goto done;
    }
    if (check_derived(&f, &w->cfg, err, errlen) || !(t = allocate(w, &n, err, errlen))) goto done;
    bool missing[3] = {false, false, false};
    for (size_t i = 0; i < n; i++) {
        const st_tensor *s = st_find(&f, t[i].name);
        if (!s) {
            if (t[i].group == GROUP_CORE) {
                snprintf(err, errlen, "%s: missing tensor \"%s\"", path, t[i].name);
                goto done;
            }
            missing[t[i].group] = true;
            continue;
        }
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
        memcpy(*t[i].slot, s->data, s->nbytes);
    }
    w->has_block_heads = !missing[GROUP_BLOCK_HEAD];
    w->has_predictors = w->cfg.n_prune > 0 && !missing[GROUP_PREDICTOR];
    derive(w);
    rc = 0;
done:
    free(t);
    st_close(&f);
    if (rc) dyvm_weights_free(w);
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
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
        snprintf(v, sizeof v, "%lld", (long long)ints[i].v);
        st_writer_meta(wr, ints[i].k, v);
    }
    snprintf(v, sizeof v, "%.9g", (double)c->norm_eps);
    st_writer_meta(wr, "norm_eps", v);
    if (c->n_prune) {
        snprintf(v, sizeof v, "%.17g", c->token_ratio);
        st_writer_meta(wr, "token_ratio", v);
        st_writer_meta(wr, "pruning_loc", loc);
        st_writer_meta(wr, "token_keep", keep);
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
