/* Properties of the reference on the same weights (issue 2, item 8) and of its pieces:
 * block/all == vim, dyvm/all == token, token at ratio 1.0 == vim (bit for bit, one graph); run-to-run and
 * 1-vs-2-thread determinism; the benchmark policies; keep counts; preset initialisation; weights files. */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "cpu_isa.h"
#include "memplan.h"
#include "compare.h"
#include "graph.h"
#include "rng.h"
#include "safetensors.h"

void openblas_set_num_threads(int n);

static const uint64_t SEED = 20261127; /* inputs and ratio:R draws */

static float *random_images(const dyvm_config *c, int64_t B, uint64_t seed)
{
    const int64_t n = B * c->channels * c->img * c->img;
    float *x = malloc(sizeof(float) * (size_t)n);
    dyvm_rng r;
    dyvm_rng_seed(&r, seed);
    for (int64_t i = 0; i < n; i++) x[i] = (float)dyvm_rng_normal(&r);
    return x;
}

static int run(dyvm_graph *g, const float *x, int64_t B, dyvm_variant v, const char *block, dyvm_token_kind tok,
               double ratio, dyvm_result *r)
{
    char err[512];
    dyvm_run_opts o = {.variant = v, .token = tok, .token_ratio = ratio, .capture = true};
    o.block.seed = SEED;
    if (dyvm_parse_block_policy(block, &o.block, err, sizeof err) || dyvm_forward(g, x, B, &o, r, err, sizeof err)) {
        check(0, "forward %s/%s: %s", dyvm_variant_name(v), block, err);
        return -1;
    }
    return 0;
}

/* bit-identical logits, features and every stream */
static int identical(const dyvm_result *a, const dyvm_result *b)
{
    if (memcmp(a->logits, b->logits, sizeof(float) * (size_t)(a->B * a->classes)) ||
        memcmp(a->features, b->features, sizeof(float) * (size_t)(a->B * a->D)))
        return 0;
    for (int64_t i = 0; i < a->depth; i++)
        if (a->stream_L[i] != b->stream_L[i] ||
            memcmp(a->stream[i], b->stream[i], sizeof(float) * (size_t)(a->B * a->stream_L[i] * a->D)))
            return 0;
    return 1;
}

static void consistency(const char *name, const dyvm_weights *w, int64_t B)
{
    dyvm_backend *be = dyvm_cpu_backend(w);
    char err[512];
    dyvm_graph *g = dyvm_graph_new(be, B, err, sizeof err);
    float *x = random_images(&w->cfg, B, SEED);
    printf("# %s: batch %lld, input seed %llu\n", name, (long long)B, (unsigned long long)SEED);
    dyvm_result vim, blk, tok, dy, tok1, again;
    if (run(g, x, B, VARIANT_VIM, "learned", TOKEN_LEARNED, 0, &vim)) goto out;
    if (!run(g, x, B, VARIANT_BLOCK, "all", TOKEN_LEARNED, 0, &blk)) {
        check(identical(&blk, &vim) && blk.branches_run == B * 2 * w->cfg.depth, "%s: block with policy all == vim", name);
        dyvm_result_free(&blk);
    }
    if (!run(g, x, B, VARIANT_TOKEN, "learned", TOKEN_LEARNED, 0, &tok)) {
        if (!run(g, x, B, VARIANT_DYVM, "all", TOKEN_LEARNED, 0, &dy)) {
            int same_kept = dy.n_stages == tok.n_stages;
            for (int k = 0; same_kept && k < dy.n_stages; k++)
                same_kept = !memcmp(dy.kept[k], tok.kept[k], sizeof(int32_t) * (size_t)(B * tok.n_keep[k]));
            check(identical(&dy, &tok) && same_kept, "%s: dyvm with policy all == token", name);
            dyvm_result_free(&dy);
        }
        dyvm_result_free(&tok);
    }
    if (!run(g, x, B, VARIANT_TOKEN, "learned", TOKEN_LEARNED, 1.0, &tok1)) {
        int all_kept = tok1.n_stages == w->cfg.n_prune;
        for (int k = 0; all_kept && k < tok1.n_stages; k++)
            for (int64_t b = 0; b < B; b++)
                for (int64_t m = 0; m < w->cfg.M; m++) all_kept &= tok1.kept[k][b * w->cfg.M + m] == m;
        check(all_kept, "%s: token with ratio 1.0 keeps every patch in order at all %d stages", name, tok1.n_stages);
        check(identical(&tok1, &vim), "%s: token with ratio 1.0 == vim", name);
        dyvm_result_free(&tok1);
    }
    /* under every ISA this CPU supports: the same bits run to run and for any thread count */
    for (int isa = DYVM_ISA_COUNT - 1; isa >= 0; isa--) {
        const char *iname = dyvm_isa_table((dyvm_isa)isa)->name;
        char err2[256];
        if (dyvm_isa_select(iname, err2, sizeof err2)) {
            check_skip("%s: bit-identical runs under --isa %s: %s", name, iname, err2);
            continue;
        }
        if (run(g, x, B, VARIANT_DYVM, "learned", TOKEN_LEARNED, 0, &dy)) continue;
        if (!run(g, x, B, VARIANT_DYVM, "learned", TOKEN_LEARNED, 0, &again)) {
            check(identical(&dy, &again), "%s: dyvm run twice is bit-identical [%s]", name, iname);
            dyvm_result_free(&again);
        }
        const int before = omp_get_max_threads();
        omp_set_num_threads(1), openblas_set_num_threads(1);
        if (!run(g, x, B, VARIANT_DYVM, "learned", TOKEN_LEARNED, 0, &again)) {
            check(identical(&dy, &again), "%s: dyvm with 1 thread == with %d threads, bit for bit [%s]", name, before, iname);
            dyvm_result_free(&again);
        }
        omp_set_num_threads(before), openblas_set_num_threads(before);
        dyvm_result_free(&dy);
    }
    dyvm_isa_select("auto", err, sizeof err);
    dyvm_result_free(&vim);
out:
    free(x);
    dyvm_graph_free(g);
    be->destroy(be);
}

static void policies(const dyvm_weights *w)
{
    const int64_t depth = w->cfg.depth, B = 3;
    dyvm_backend *be = dyvm_cpu_backend(w);
    char err[512];
    dyvm_graph *g = dyvm_graph_new(be, B, err, sizeof err);
    float *x = random_images(&w->cfg, B, SEED);
    int ok = 1;
    for (int64_t k = 0; k <= 2 * depth; k++) {
        /* count:K runs exactly K branches per image, at most 2 per layer, balanced between directions */
        dyvm_block_policy p = {.kind = BLOCK_COUNT, .count = k};
        int64_t n = 0, dir[2] = {0, 0};
        for (int64_t l = 0; l < depth; l++) {
            int r[2];
            dyvm_block_policy_fixed(&p, depth, 0, l, r);
            n += r[0] + r[1], dir[0] += r[0], dir[1] += r[1];
        }
        ok &= n == k && llabs(dir[0] - dir[1]) <= 1;
    }
    check(ok, "count:K runs exactly K of %lld branches, directions within 1 of each other, K = 0..%lld", (long long)(2 * depth),
          (long long)(2 * depth));
    /* keep:R runs exactly round(R * 2 * depth) branches in every image, spread evenly over the layers (any w
       consecutive layers run within 1 of w * K / depth of them) and over both directions, placed per image */
    int keep_ok = 1, spread_ok = 1, dirs_ok = 1;
    for (int i = 0; i <= 20; i++) {
        dyvm_block_policy p = {.kind = BLOCK_KEEP, .ratio = i / 20.0, .seed = SEED};
        const int64_t K = dyvm_block_keep_count(p.ratio, depth), T = 2 * depth;
        for (int64_t b = 0; b < 7; b++) {
            int64_t n = 0, dir[2] = {0, 0}, per_layer[DYVM_MAX_DEPTH];
            for (int64_t l = 0; l < depth; l++) {
                int r[2];
                dyvm_block_policy_fixed(&p, depth, b, l, r);
                per_layer[l] = r[0] + r[1], n += r[0] + r[1], dir[0] += r[0], dir[1] += r[1];
            }
            keep_ok &= n == K;
            for (int64_t l = 0; l < depth; l++)
                for (int64_t win = 1; l + win <= depth; win++) {
                    int64_t in = 0;
                    for (int64_t j = l; j < l + win; j++) in += per_layer[j];
                    spread_ok &= fabs((double)in - (double)(win * K) / (double)depth) < 1.0;
                }
            if (K >= 2 && K < T) dirs_ok &= dir[0] > 0 && dir[1] > 0 && llabs(dir[0] - dir[1]) <= 1;
        }
    }
    check(keep_ok, "keep:R runs exactly round(R*%lld) branches per image, R = 0, 0.05, .., 1, 7 images", (long long)(2 * depth));
    check(spread_ok, "keep:R spreads them evenly: any w consecutive layers run within 1 of w*K/depth");
    check(dirs_ok, "keep:R runs both directions, within 1 of each other");
    check(dyvm_block_keep_count(0.8, 24) == 38 && dyvm_block_keep_count(0.7, 24) == 34, "keep:0.8 on 24 layers is 38 "
          "branches, keep:0.7 is 34");
    char spec[32];
    snprintf(spec, sizeof spec, "keep:0.6");
    dyvm_result r;
    if (!run(g, x, B, VARIANT_BLOCK, spec, TOKEN_LEARNED, 0, &r)) {
        const int64_t K = dyvm_block_keep_count(0.6, depth);
        int each = 1, differ = 0;
        for (int64_t b = 0; b < B; b++) {
            double n = 0;
            for (int64_t i = 0; i < 2 * depth; i++) n += r.block_policy[b * 2 * depth + i];
            each &= n == (double)K;
            differ |= b && memcmp(r.block_policy + b * 2 * depth, r.block_policy, sizeof(float) * (size_t)(2 * depth));
        }
        check(each && r.branches_run == B * K, "forward with keep:0.6 runs %lld branches in every image (block_policy)",
              (long long)K);
        check(differ, "keep:0.6 places the branches per image (seeded): the images' patterns differ");
        dyvm_result_free(&r);
    }
    snprintf(spec, sizeof spec, "count:%lld", (long long)(depth / 2));
    if (!run(g, x, B, VARIANT_BLOCK, spec, TOKEN_LEARNED, 0, &r)) {
        check(r.branches_run == B * (depth / 2), "forward with %s runs %lld branches (%lld)", spec, (long long)(B * (depth / 2)),
              (long long)r.branches_run);
        dyvm_result_free(&r);
    }
    if (!run(g, x, B, VARIANT_BLOCK, "none", TOKEN_LEARNED, 0, &r)) {
        check(r.branches_run == 0, "policy none runs no branch");
        dyvm_result_free(&r);
    }
    if (!run(g, x, B, VARIANT_BLOCK, "ratio:0.5", TOKEN_LEARNED, 0, &r)) {
        double got = (double)r.branches_run / (double)(B * 2 * depth);
        check(got > 0.2 && got < 0.8, "ratio:0.5 realizes %.3f (seed %llu)", got, (unsigned long long)SEED);
        dyvm_result res2;
        if (!run(g, x, B, VARIANT_BLOCK, "ratio:0.5", TOKEN_LEARNED, 0, &res2)) {
            check(!memcmp(r.block_policy, res2.block_policy, sizeof(float) * (size_t)(B * depth * 2)),
                  "ratio:0.5 draws the same decisions from the same seed");
            dyvm_result_free(&res2);
        }
        dyvm_result_free(&r);
    }
    if (!run(g, x, B, VARIANT_TOKEN, "all", TOKEN_EVEN, 0, &r)) {
        int ok2 = 1;
        for (int k = 0; k < r.n_stages; k++)
            for (int64_t b = 0; b < B; b++)
                for (int64_t j = 1; j < r.n_keep[k]; j++) ok2 &= r.kept[k][b * r.n_keep[k] + j] > r.kept[k][b * r.n_keep[k] + j - 1];
        check(ok2 && r.n_stages == w->cfg.n_prune, "token policy even keeps n_k distinct patches in order");
        dyvm_result_free(&r);
    }
    dyvm_run_opts bad = {.variant = VARIANT_BLOCK, .block = {.kind = BLOCK_COUNT, .count = 2 * depth + 1}};
    check(dyvm_forward(g, x, B, &bad, &r, err, sizeof err) != 0 && strstr(err, "exceeds"), "count:K past 2*depth is refused: %s", err);
    free(x);
    dyvm_graph_free(g);
    be->destroy(be);
}

static void keep_counts(void)
{
    const int64_t s[3] = {137, 96, 67}, t[3] = {176, 158, 142};
    int ok = 1;
    for (int k = 0; k < 3; k++) ok &= dyvm_keep_count(0.7, k, 196) == s[k] && dyvm_keep_count(0.9, k, 196) == t[k];
    check(ok, "keep counts: ratio 0.7 -> 137, 96, 67; 0.9 -> 176, 158, 142 (SPEC section 5)");
}

static void init_checks(void)
{
    dyvm_config c;
    dyvm_weights a, b, d;
    char err[512];
    dyvm_config_preset("vim-t", &c, err, sizeof err);
    dyvm_weights_init(&a, &c, 7, err, sizeof err);
    dyvm_weights_init(&b, &c, 7, err, sizeof err);
    dyvm_weights_init(&d, &c, 8, err, sizeof err);
    check(!memcmp(a.arena, b.arena, a.arena_floats * sizeof(float)) && memcmp(a.arena, d.arena, a.arena_floats * sizeof(float)),
          "preset weights: same seed same weights, other seed other weights");
    check((double)a.arena_floats * sizeof(float) == dyvm_weights_bytes(&c),
          "the memory plan's weight bytes are the arena's exactly (%zu floats)", a.arena_floats);
    /* the domain is checked before anything is multiplied */
    dyvm_config big = c;
    big.img = INT64_C(1) << 35;
    check(dyvm_config_finish(&big, err, sizeof err) && strstr(err, "img_size 34359738368 is outside"), "img_size 2^35: %s", err);
    big = c, big.classes = INT64_C(1000000000000);
    check(dyvm_config_finish(&big, err, sizeof err) && strstr(err, "num_classes"), "num_classes 1e12: %s", err);
    big = c, big.norm_eps = INFINITY;
    check(dyvm_config_finish(&big, err, sizeof err) && strstr(err, "norm_eps"), "norm_eps inf: %s", err);
    float logits[6] = {1, 2, 3, 4, NAN, 6};
    dyvm_result res = {.B = 2, .classes = 3, .logits = logits};
    check(dyvm_result_check_finite(&res, err, sizeof err) && strstr(err, "image 1, class 1"),
          "a NaN logit is refused, never reported as a class: %s", err);
    logits[4] = 5;
    check(!dyvm_result_check_finite(&res, err, sizeof err), "finite logits pass");
    dyvm_mem_plan plan;
    dyvm_memory_plan(&c, INT64_C(1) << 40, true, false, &plan);
    check(dyvm_memory_check(&plan, "a batch of 2^40", err, sizeof err) && strstr(err, "needs") && strstr(err, "available"),
          "a plan beyond the machine is refused with its bytes: %s", err);
    const dyvm_layer_weights *l = &a.layers[5];
    int ok = 1;
    for (int64_t e = 0; e < c.E; e++) {
        for (int64_t n = 0; n < c.N; n++) ok &= fabsf(l->dir[1].A_log[e * c.N + n] - logf((float)(n + 1))) < 1e-6f;
        ok &= l->dir[0].Dskip[e] == 1.0f;
        const float dt = log1pf(expf(l->dir[0].dt_b[e]));
        ok &= dt > 0.99e-3f && dt < 0.101f;
    }
    check(ok, "preset init: A_log = log(1..N), D = 1, softplus(dt bias) in [1e-3, 0.1]");
    double ss = 0;
    for (int64_t i = 0; i < c.classes * c.D; i++) ss += (double)a.head_w[i] * a.head_w[i];
    const double std = sqrt(ss / (double)(c.classes * c.D));
    check(fabs(std - 0.02) < 0.001, "preset init: head weight std %.4f (trunc normal 0.02)", std);
    check(dyvm_weights_count(&a) > 7000000 && dyvm_weights_count(&a) < 8000000, "vim-t preset has %zu parameters (about 7 M)",
          dyvm_weights_count(&a));
    dyvm_weights_free(&a), dyvm_weights_free(&b), dyvm_weights_free(&d);
}

/* Copy of a weights file with one change: rename/drop tensor `drop`, or set metadata key to value. */
static int rewrite(const char *src, const char *dst, const char *drop, const char *key, const char *value)
{
    char err[512];
    st_file f;
    if (st_open(src, &f, err, sizeof err)) return -1;
    st_writer *w = st_writer_new();
    for (size_t i = 0; i < f.n_tensors; i++) {
        const st_tensor *t = &f.tensors[i];
        if (drop && strstr(t->name, drop)) continue; /* every tensor whose name contains drop */
        st_writer_add(w, t->name, t->dtype, t->ndim, t->shape, t->data);
    }
    for (size_t i = 0; i < f.n_meta; i++)
        st_writer_meta(w, f.meta_keys[i], key && !strcmp(f.meta_keys[i], key) ? value : f.meta_vals[i]);
    int rc = st_writer_save(w, dst, err, sizeof err);
    st_writer_free(w);
    st_close(&f);
    return rc;
}

static void weights_files(const char *golden)
{
    char dir[] = "/tmp/dyvm-test-XXXXXX", src[1024], path[1100], err[512];
    if (!mkdtemp(dir)) return (void)check(0, "mkdtemp");
    snprintf(src, sizeof src, "%s/tiny/weights.safetensors", golden);
    dyvm_weights w, w2;
    if (dyvm_weights_load(&w, src, err, sizeof err)) return (void)check(0, "load %s: %s", src, err);
    snprintf(path, sizeof path, "%s/saved.safetensors", dir);
    int ok = !dyvm_weights_save(&w, path, err, sizeof err) && !dyvm_weights_load(&w2, path, err, sizeof err);
    if (ok) {
        ok = !memcmp(&w.cfg, &w2.cfg, sizeof w.cfg) && w.arena_floats == w2.arena_floats &&
             !memcmp(w.arena, w2.arena, w.arena_floats * sizeof(float));
        dyvm_weights_free(&w2);
    }
    check(ok, "weights save + load round trip is exact (config and every parameter)");
    /* no metadata at all: the shapes decide, and give the same model */
    st_file f;
    st_open(src, &f, err, sizeof err);
    st_writer *wr = st_writer_new();
    for (size_t i = 0; i < f.n_tensors; i++)
        st_writer_add(wr, f.tensors[i].name, f.tensors[i].dtype, f.tensors[i].ndim, f.tensors[i].shape, f.tensors[i].data);
    snprintf(path, sizeof path, "%s/nometa.safetensors", dir);
    st_writer_save(wr, path, err, sizeof err);
    st_writer_free(wr);
    st_close(&f);
    ok = !dyvm_weights_load(&w2, path, err, sizeof err);
    if (ok) {
        ok = w2.cfg.D == w.cfg.D && w2.cfg.depth == w.cfg.depth && w2.cfg.img == w.cfg.img && w2.cfg.R == w.cfg.R &&
             w2.cfg.n_prune == w.cfg.n_prune && w2.cfg.prune_loc[2] == w.cfg.prune_loc[2] && w2.has_predictors;
        dyvm_weights_free(&w2);
    }
    check(ok, "weights without metadata: config from tensor shapes matches (%s)", ok ? "ok" : err);
    struct { const char *drop, *key, *value, *expect; } bad[] = {
        {NULL, "d_state", "8", "layers.0.mixer.x_proj.weight"},    /* metadata vs shape: names the tensor */
        {NULL, "embed_dim", "48", "patch_embed.proj.weight"},
        {"layers.2.mixer.x_proj_b.weight", NULL, NULL, "missing tensor \"layers.2.mixer.x_proj_b.weight\""},
        {NULL, "token_keep", "11,7,4", "token_keep"},
        {NULL, "depth", "x", "depth"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(path, sizeof path, "%s/bad%zu.safetensors", dir, i);
        rewrite(src, path, bad[i].drop, bad[i].key, bad[i].value);
        int rc = dyvm_weights_load(&w2, path, err, sizeof err);
        check(rc != 0 && strstr(err, bad[i].expect) && strstr(err, path), "bad weights file rejected: %s", rc ? err : "(loaded)");
        if (!rc) dyvm_weights_free(&w2);
    }
    /* block heads absent: the learned block policy is refused, forced ones still run */
    /* a part of an optional group is refused: it would be silently unused */
    snprintf(path, sizeof path, "%s/onehead.safetensors", dir);
    rewrite(src, path, "layers.1.mixer.block_head.bias", NULL, NULL);
    int rc = dyvm_weights_load(&w2, path, err, sizeof err);
    check(rc != 0 && strstr(err, "\"layers.1.mixer.block_head.bias\" is missing while") && strstr(err, "complete or absent"),
          "block heads of some layers only: refused (%s)", rc ? err : "loaded");
    if (!rc) dyvm_weights_free(&w2);
    snprintf(path, sizeof path, "%s/onepred.safetensors", dir);
    rewrite(src, path, "score_predictors.1.out_conv.4", NULL, NULL);
    rc = dyvm_weights_load(&w2, path, err, sizeof err);
    check(rc != 0 && strstr(err, "score_predictors.1.out_conv.4") && strstr(err, "score predictors must be complete"),
          "a score predictor with a missing linear: refused (%s)", rc ? err : "loaded");
    if (!rc) dyvm_weights_free(&w2);
    snprintf(path, sizeof path, "%s/nohead.safetensors", dir);
    rewrite(src, path, "block_head", NULL, NULL);
    if (!dyvm_weights_load(&w2, path, err, sizeof err)) {
        dyvm_backend *be = dyvm_cpu_backend(&w2);
        dyvm_graph *g = dyvm_graph_new(be, 1, err, sizeof err);
        float *x = random_images(&w2.cfg, 1, SEED);
        dyvm_result r;
        dyvm_run_opts o = {.variant = VARIANT_BLOCK};
        int refused = dyvm_forward(g, x, 1, &o, &r, err, sizeof err) != 0 && strstr(err, "block_head");
        o.block.kind = BLOCK_ALL;
        int forced = dyvm_forward(g, x, 1, &o, &r, err, sizeof err) == 0;
        if (forced) dyvm_result_free(&r);
        check(refused && forced, "without block heads: learned block policy refused, policy all runs");
        free(x);
        dyvm_graph_free(g);
        be->destroy(be);
        dyvm_weights_free(&w2);
    } else
        check(0, "load %s: %s", path, err);
    dyvm_weights_free(&w);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd)) { /* leftovers in /tmp are harmless */ }
}

int main(void)
{
    const char *golden = getenv("GOLDEN") ? getenv("GOLDEN") : "../shared/golden";
    keep_counts();
    init_checks();
    char path[1024], err[512];
    dyvm_weights w;
    const char *cases[] = {"tiny", "small"};
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "%s/%s/weights.safetensors", golden, cases[i]);
        if (dyvm_weights_load(&w, path, err, sizeof err)) {
            check(0, "%s", err);
            continue;
        }
        consistency(cases[i], &w, 3);
        if (i == 1) policies(&w);
        dyvm_weights_free(&w);
    }
    dyvm_config c;
    dyvm_config_preset("vim-t", &c, err, sizeof err);
    printf("# vim-t preset, weights seed 1\n");
    if (!dyvm_weights_init(&w, &c, 1, err, sizeof err)) {
        consistency("vim-t preset", &w, 2);
        dyvm_weights_free(&w);
    }
    weights_files(golden);
    return check_summary();
}
