#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int64_t dyvm_keep_count(double ratio, int stage, int64_t M)
{
    /* Python: int(self.token_ratio ** (k + 1) * M); pow() in double as CPython's float ** int. */
    return (int64_t)(pow(ratio, (double)(stage + 1)) * (double)M);
}

int dyvm_config_set_token_ratio(dyvm_config *cfg, double ratio, char *err, size_t errlen)
{
    if (!(ratio > 0.0 && ratio <= 1.0)) { /* NaN fails too */
        snprintf(err, errlen, "token ratio %g is outside (0, 1]", ratio);
        return -1;
    }
    for (int k = 0; k < cfg->n_prune; k++) {
        int64_t n = dyvm_keep_count(ratio, k, cfg->M);
        if (n < 1) {
            snprintf(err, errlen, "token ratio %g keeps no token at pruning stage %d (M = %lld)", ratio, k,
                     (long long)cfg->M);
            return -1;
        }
        cfg->token_keep[k] = n;
    }
    cfg->token_ratio = ratio;
    return 0;
}

/* The model's domain: every size a weights file or a flag can set, with the metadata key that sets it. The
 * bounds keep every product of them (weights, activations) far inside int64_t, so sizes are checked here,
 * once, before anything is multiplied. */
static int check_domain(const dyvm_config *c, char *err, size_t errlen)
{
    const struct { const char *key; int64_t v, lo, hi; } f[] = {
        {"img_size", c->img, 1, 16384},      {"patch_size", c->patch, 1, 1024}, {"stride", c->stride, 1, 1024},
        {"channels", c->channels, 1, 64},    {"embed_dim", c->D, 4, 16384},     {"depth", c->depth, 1, DYVM_MAX_DEPTH},
        {"d_state", c->N, 1, 64},            {"d_conv", c->K, 1, 64},           {"expand", c->expand, 1, 16},
        {"dt_rank", c->R, 1, 16384},         {"num_classes", c->classes, 1, 10000000}};
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
        if (f[i].v < f[i].lo || f[i].v > f[i].hi) {
            snprintf(err, errlen, "%s %lld is outside the supported %lld..%lld", f[i].key, (long long)f[i].v,
                     (long long)f[i].lo, (long long)f[i].hi);
            return -1;
        }
    if (!(isfinite(c->norm_eps) && c->norm_eps > 0)) {
        snprintf(err, errlen, "norm_eps %g is not a positive finite number", (double)c->norm_eps);
        return -1;
    }
    if (c->n_prune > 0 && c->token_ratio != 0 && !(c->token_ratio > 0 && c->token_ratio <= 1)) {
        snprintf(err, errlen, "token_ratio %g is outside (0, 1]", c->token_ratio);
        return -1;
    }
    return 0;
}

int dyvm_config_finish(dyvm_config *c, char *err, size_t errlen)
{
    if (check_domain(c, err, errlen)) return -1;
    if (c->stride != c->patch) {
        snprintf(err, errlen, "stride %lld differs from patch size %lld (only non-overlapping patches are supported)",
                 (long long)c->stride, (long long)c->patch);
        return -1;
    }
    if (c->img % c->patch != 0) {
        snprintf(err, errlen, "image size %lld is not a multiple of the patch size %lld", (long long)c->img,
                 (long long)c->patch);
        return -1;
    }
    if (c->D % 4 != 0) {
        snprintf(err, errlen, "embed_dim %lld is not a multiple of 4 (the predictors need D/2 and D/4)",
                 (long long)c->D);
        return -1;
    }
    c->E = c->expand * c->D;
    int64_t side = c->img / c->patch;
    c->M = side * side;
    c->cls_pos = c->M / 2;
    if (c->n_prune < 0 || c->n_prune > DYVM_MAX_PRUNE) {
        snprintf(err, errlen, "%d pruning stages (at most %d)", c->n_prune, DYVM_MAX_PRUNE);
        return -1;
    }
    for (int k = 0; k < c->n_prune; k++) {
        int64_t l = c->prune_loc[k];
        if (l <= 0 || l >= c->depth || (k > 0 && l <= c->prune_loc[k - 1])) {
            snprintf(err, errlen, "pruning locations must increase within 1..depth-1 (got %lld at stage %d)",
                     (long long)l, k);
            return -1;
        }
    }
    /* without a known ratio the keep counts stay 0 until a run gives --token-ratio */
    return c->n_prune && c->token_ratio > 0 ? dyvm_config_set_token_ratio(c, c->token_ratio, err, errlen) : 0;
}

int dyvm_config_set_img_size(dyvm_config *c, int64_t img, char *err, size_t errlen)
{
    if (img < c->patch || img % c->patch) {
        snprintf(err, errlen, "image size %lld is not a multiple of the patch size %lld", (long long)img,
                 (long long)c->patch);
        return -1;
    }
    dyvm_config n = *c;
    n.img = img;
    if (dyvm_config_finish(&n, err, errlen)) return -1;
    *c = n;
    return 0;
}

int64_t dyvm_tokens_at_layer(const dyvm_config *c, int64_t layer, int pruning)
{
    int64_t n = c->M;
    if (pruning)
        for (int k = 0; k < c->n_prune; k++)
            if (c->prune_loc[k] <= layer) n = c->token_keep[k];
    return n + 1;
}

int dyvm_config_preset(const char *name, dyvm_config *c, char *err, size_t errlen)
{
    static const struct { const char *name; int64_t D, img, patch, depth, classes; double token_ratio, block_ratio; } presets[] = {
        /* embed dims from hustvl/Vim; keep ratios from the DyVM training scripts (SPEC.md section 11) */
        {"vim-t", 192, 224, 16, 24, 1000, 0.9, 0.8},
        {"vim-s", 384, 224, 16, 24, 1000, 0.7, 0.8},
        {"vim-b", 768, 224, 16, 24, 1000, 0.7, 0.7},
        /* the shape of the golden "tiny" case: smoke tests and compute-sanitizer runs */
        {"tiny", 32, 32, 8, 4, 10, 0.7, 0.8},
    };
    /* "vim-s@448": the preset at another image size (the resolution suite's models) */
    const char *at = strchr(name, '@');
    const size_t base = at ? (size_t)(at - name) : strlen(name);
    long long img = 0;
    if (at) {
        char *end;
        img = at[1] >= '0' && at[1] <= '9' ? strtoll(at + 1, &end, 10) : -1;
        if (img < 1 || *end || img > 16384) {
            snprintf(err, errlen, "preset \"%s\": the size after @ is not an image size in pixels", name);
            return -1;
        }
    }
    for (size_t i = 0; i < sizeof presets / sizeof presets[0]; i++) {
        if (strlen(presets[i].name) != base || strncmp(name, presets[i].name, base) != 0) continue;
        memset(c, 0, sizeof *c);
        snprintf(c->name, sizeof c->name, "%s", name);
        c->img = presets[i].img;
        c->patch = c->stride = presets[i].patch;
        c->channels = 3;
        c->D = presets[i].D;
        c->depth = presets[i].depth;
        c->N = 16;
        c->K = 4;
        c->expand = 2;
        c->R = (c->D + 15) / 16; /* math.ceil(d_model / 16) */
        c->classes = presets[i].classes;
        c->norm_eps = 1e-5f;
        c->n_prune = 3;
        for (int k = 0; k < 3; k++) c->prune_loc[k] = (k + 1) * c->depth / 4; /* 6, 12, 18 of 24 */
        c->token_ratio = presets[i].token_ratio;
        c->block_ratio = presets[i].block_ratio;
        if (img) c->img = img; /* finish checks it against the patch size */
        return dyvm_config_finish(c, err, errlen);
    }
    snprintf(err, errlen, "unknown preset \"%s\" (expected vim-t, vim-s, vim-b or tiny)", name);
    return -1;
}

const char *dyvm_config_describe(const dyvm_config *c, char *buf, size_t len)
{
    int n = snprintf(buf, len,
                     "%s: img %lld patch %lld D %lld E %lld N %lld R %lld K %lld depth %lld classes %lld M %lld",
                     c->name, (long long)c->img, (long long)c->patch, (long long)c->D, (long long)c->E,
                     (long long)c->N, (long long)c->R, (long long)c->K, (long long)c->depth,
                     (long long)c->classes, (long long)c->M);
    for (int k = 0; k < c->n_prune && n > 0 && (size_t)n < len; k++)
        n += snprintf(buf + n, len - (size_t)n, "%s%lld@%lld", k ? "," : " keep ", (long long)c->token_keep[k],
                      (long long)c->prune_loc[k]);
    return buf;
}
