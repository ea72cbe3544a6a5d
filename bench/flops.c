#include "flops.h"

#include <stdio.h>
#include <string.h>

void dyvm_realized_from_result(const dyvm_config *c, const dyvm_result *r, dyvm_variant v, dyvm_realized *out)
{
    memset(out, 0, sizeof *out);
    out->B = r->B, out->variant = v;
    out->block_heads = r->block_heads_ran, out->predictors = r->predictors_ran;
    for (int64_t i = 0; i < c->depth; i++) {
        out->tokens[i] = r->tokens[i];
        for (int d = 0; d < 2; d++) out->images[i][d] = (double)r->branch_images[i][d];
    }
    out->n_stages = r->n_stages;
    for (int k = 0; k < r->n_stages; k++) out->scored[k] = r->scored[k], out->keep[k] = r->n_keep[k];
}

int dyvm_realized_from_policy(const dyvm_config *c, dyvm_variant v, int64_t B, const dyvm_block_policy *bp,
                              dyvm_token_kind tok, double token_ratio, dyvm_realized *out, char *err, size_t errlen)
{
    dyvm_config cfg = *c;
    memset(out, 0, sizeof *out);
    if (c->depth > DYVM_MAX_DEPTH) return snprintf(err, errlen, "depth %lld is too deep", (long long)c->depth), -1;
    if (token_ratio > 0 && dyvm_config_set_token_ratio(&cfg, token_ratio, err, errlen)) return -1;
    const bool prunes = dyvm_variant_prunes(v), selects = dyvm_variant_selects(v);
    if (prunes && cfg.n_prune == 0) return snprintf(err, errlen, "the model has no pruning locations"), -1;
    if (prunes && !(cfg.token_ratio > 0))
        return snprintf(err, errlen, "these weights carry no token_ratio metadata: give --token-ratio R"), -1;
    dyvm_block_policy p = *bp;
    if (selects && p.kind == BLOCK_LEARNED) {
        if (!(c->block_ratio > 0))
            return snprintf(err, errlen, "the learned block policy needs a run; give --block-policy ratio:R"), -1;
        p.kind = BLOCK_RATIO, p.ratio = c->block_ratio; /* the official keep target stands in for the heads */
        out->block_heads = true;
    }
    if (selects && p.kind == BLOCK_COUNT && p.count > 2 * c->depth)
        return snprintf(err, errlen, "count:%lld exceeds the %lld branches", (long long)p.count,
                        (long long)(2 * c->depth)), -1;
    out->B = B, out->variant = v, out->predictors = prunes && tok == TOKEN_LEARNED;
    int64_t L = cfg.M + 1;
    for (int64_t i = 0; i < c->depth; i++) {
        if (prunes && out->n_stages < cfg.n_prune && cfg.prune_loc[out->n_stages] == i) {
            out->scored[out->n_stages] = L - 1, out->keep[out->n_stages] = cfg.token_keep[out->n_stages];
            L = cfg.token_keep[out->n_stages++] + 1;
        }
        out->tokens[i] = L;
        for (int d = 0; d < 2; d++) {
            if (!selects) { out->images[i][d] = (double)B; continue; }
            if (p.kind == BLOCK_RATIO) { out->images[i][d] = p.ratio * (double)B; continue; } /* expectation */
            /* keep:R differs per image (seeded offsets): count every image; the others are the same for all */
            const int64_t per_image = p.kind == BLOCK_KEEP ? B : 1;
            double n = 0;
            for (int64_t b = 0; b < per_image; b++) {
                int run[2];
                dyvm_block_policy_fixed(&p, c->depth, b, i, run);
                n += run[d];
            }
            out->images[i][d] = n * (double)B / (double)per_image;
        }
    }
    return 0;
}

/* conv taps that fall inside a sequence of L tokens (the zero padding is not computed) */
static double conv_taps(int64_t L, int64_t K) { return L >= K ? (double)(K * L - K * (K - 1) / 2) : (double)(L * (L + 1) / 2); }

/* One call of a stage moves its weights and its activations (in floats, the whole batch): both add to its
 * bytes, the weights to its weight bytes, and the largest call's activations are its working set. */
static void moved(dyvm_flops *f, dyvm_stage s, double weights, double acts)
{
    const double x = 4.0; /* bytes per float */
    f->bytes[s] += x * (weights + acts);
    f->weight_bytes[s] += x * weights;
    if (x * acts > f->act_set[s]) f->act_set[s] = x * acts;
}

void dyvm_flops_count(const dyvm_config *c, const dyvm_realized *r, dyvm_flops *f)
{
    memset(f, 0, sizeof *f);
    const double B = (double)r->B, D = (double)c->D, E = (double)c->E, N = (double)c->N, R = (double)c->R,
                 K = (double)c->K, P = (double)c->patch, Cls = (double)c->classes, Ch = (double)c->channels,
                 M = (double)c->M, H = (double)(c->D / 2), Q = (double)(c->D / 4);
    double *mac = f->macs, *tr = f->transc, *el = f->elem, *pp = f->paper;
    double branches = 0;
    for (int64_t i = 0; i < c->depth; i++) branches += r->images[i][0] + r->images[i][1];
    f->block_ratio = branches / (2.0 * (double)c->depth * B);
    const double ratio = dyvm_variant_selects(r->variant) ? f->block_ratio : 1.0;

    /* embed: patch conv, bias, class token, pos_embed */
    mac[STAGE_EMBED] = B * M * D * Ch * P * P;
    el[STAGE_EMBED] = B * (2 * M + 1) * D;
    pp[STAGE_EMBED] = M * D * 3 * P * P; /* calc_flops.py: M * D * 3 * P^2 */
    moved(f, STAGE_EMBED, D * Ch * P * P + 2 * D + (M + 1) * D, B * Ch * (double)(c->img * c->img) + B * (M + 1) * D);

    int stage = 0;
    for (int64_t i = 0; i < c->depth; i++) {
        const double L = (double)r->tokens[i], first = i == 0;
        if (stage < r->n_stages && c->prune_loc[stage] == i) { /* pruning before this layer */
            const double n = (double)r->scored[stage], nk = (double)r->keep[stage];
            if (r->predictors) {
                const double rows = B * n;
                mac[STAGE_PREDICTOR] += rows * (2 * D + D * D + D * H + H * Q + Q * 2);
                tr[STAGE_PREDICTOR] += rows * (1 + D + H + Q + 3);
                el[STAGE_PREDICTOR] += rows * (5 * D + 4 + D + 4 * D + H + 4 * H + Q + 4 * Q + 2 + 5 + H) + B * H;
                pp[STAGE_PREDICTOR] += n * (D * D + D * H + H * Q + Q * 2);
                moved(f, STAGE_PREDICTOR, 2 * D + D * D + D + D * H + H + H * Q + Q + 2 * Q + 2, 2 * B * (n + 1) * D + B * n);
            }
            moved(f, STAGE_GATHER, 0, 4 * B * (nk + 1) * D + 2 * B * nk); /* h, r rows and indices */
            stage++;
        }
        const double rows = B * L;
        /* residual add + RMSNorm */
        mac[STAGE_NORM] += rows * D;
        tr[STAGE_NORM] += rows;
        el[STAGE_NORM] += rows * ((first ? 2 : 3) * D + 3);
        moved(f, STAGE_NORM, D, rows * D * (first ? 3 : 4));
        /* in_proj */
        mac[STAGE_IN_PROJ] += rows * D * 2 * E;
        pp[STAGE_IN_PROJ] += L * D * 2 * E;
        moved(f, STAGE_IN_PROJ, 2 * E * D, rows * D + rows * 2 * E);
        /* block head on the class token, sigmoid on its two logits */
        if (r->block_heads) {
            mac[STAGE_BLOCK_HEAD] += B * 2 * 2 * E;
            tr[STAGE_BLOCK_HEAD] += B * 2;
            el[STAGE_BLOCK_HEAD] += B * 2 * 4;
            moved(f, STAGE_BLOCK_HEAD, 2 * 2 * E + 2, B * 2 * E + B * 2);
        }
        /* the two directional branches, on the images that ran them */
        const double R2N = R + 2 * N;
        for (int d = 0; d < 2; d++) {
            const double n = r->images[i][d], nl = n * L, w = n > 0; /* a branch no image runs reads no weights */
            mac[STAGE_CONV] += n * conv_taps(r->tokens[i], c->K) * E;
            el[STAGE_CONV] += nl * E * 4;
            tr[STAGE_CONV] += nl * E;
            moved(f, STAGE_CONV, w * (E * K + E), 2 * nl * E);
            mac[STAGE_X_PROJ] += nl * E * R2N;
            moved(f, STAGE_X_PROJ, w * R2N * E, nl * E + nl * R2N);
            mac[STAGE_DT_PROJ] += nl * R * E;
            moved(f, STAGE_DT_PROJ, w * E * R, nl * R + nl * E);
            mac[STAGE_SCAN] += nl * E * (2 * N + 1);
            tr[STAGE_SCAN] += nl * E * (N + 3);
            el[STAGE_SCAN] += nl * E * (2 * N + 10);
            /* reads delta, u, B, C, z; writes y (zeros for the images that skip) */
            moved(f, STAGE_SCAN, w * (2 * E * N + 3 * E), nl * (3 * E + 2 * N) + rows * E);
        }
        /* calc_flops.py: one direction, times the block keep ratio */
        pp[STAGE_CONV] += ratio * (L + K - 1) * E * K;
        pp[STAGE_X_PROJ] += ratio * L * E * R2N;
        pp[STAGE_DT_PROJ] += ratio * L * R * E;
        pp[STAGE_SCAN] += ratio * (9 * L * E * N + 2 * L * E);
        /* (y_f + y_b) / 2, out_proj */
        mac[STAGE_OUT_PROJ] += rows * E * D;
        el[STAGE_OUT_PROJ] += rows * E * 2;
        pp[STAGE_OUT_PROJ] += L * E * D;
        moved(f, STAGE_OUT_PROJ, D * E, 2 * rows * E + rows * D);
    }
    /* final residual add + RMSNorm of the class token, classifier */
    mac[STAGE_HEAD] = B * (D + D * Cls);
    tr[STAGE_HEAD] = B;
    el[STAGE_HEAD] = B * (3 * D + 3 + Cls);
    pp[STAGE_HEAD] = D * Cls;
    moved(f, STAGE_HEAD, D + Cls * D + Cls, 2 * B * D + B * D + B * Cls);

    for (int s = 0; s < STAGE_COUNT; s++) {
        f->full[s] = (2 * mac[s] + tr[s] + el[s]) / B;
        f->bytes[s] /= B;
        f->full_total += f->full[s], f->paper_total += f->paper[s], f->bytes_total += f->bytes[s];
        f->weight_total += f->weight_bytes[s];
    }
}

const char *dyvm_published(const char *preset, dyvm_variant v)
{
    static const struct { const char *preset; const char *text[4]; } pub[] = {
        {"vim-t", {"Vim-T: 76.1 % top-1, 7 M params", "", "", ""}},
        {"vim-s", {"Vim-S: 80.5 %, 26 M", "", "", "DyVM-Vim-S: −35.2 % FLOPs, 78.8 %, 27 M"}},
        {"vim-b", {"Vim-B: 81.9 %, 98 M", "", "", "DyVM-Vim-B: 79.9 %, 101 M"}},
    };
    for (size_t i = 0; i < sizeof pub / sizeof pub[0]; i++)
        if (!strcmp(preset, pub[i].preset)) return pub[i].text[v];
    return "";
}
