/* The CUDA backend against the CPU reference (SPEC.md section 9: fp32 within rel L2 1e-4, TF32 GEMMs 3e-3;
 * a NaN or infinity anywhere fails), for each scan kernel (v1, v2): every op on random inputs from a
 * printed seed, at odd and even sequence lengths, batch 1 and 3, with each output poisoned with NaN before
 * the op and a guard region after it checked afterwards; the top-k with a tie at the keep cut and NaN
 * scores; then every variant end to end: on the golden cases tiny and small with the learned policies
 * (their margins make every decision clear, so decisions must be identical), and on the presets with
 * forced policies (identical by construction), d_state 32 too, and TF32; Vim-T at batch 64 after batch 1
 * and before batch 3 on one graph (scratch growth); the waits of the host per forward (cases.h); the
 * out-of-memory failures (one line naming what, exit 2); and the measured device peaks (kernels/peaks.cu)
 * finite and positive. The golden cases are looked for in $GOLDEN, ../shared/golden, then the golden/
 * folder beside the build's tests/ (make gpu-build puts tiny and small there).
 *   test_cuda --sanitize   only the tiny preset's four variants, learned and forced policies, both scans:
 *                          what gpu-check.sh runs under compute-sanitizer.
 * Without a device every check is SKIPPED with the reason. Built with -DDYVM_FAKE_CUDA and linked with
 * tests/fake_cuda.c (build/tests/test_cuda_fake), the same checks run here on a CPU stand-in: they test the
 * test, the waits per forward and the graph's path for a backend that fuses the directions. */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cases.h"
#include "check.h"
#include "compare.h"
#include "cuda_backend.h"
#include "graph.h"
#include "rng.h"

#define TOL 1e-4      /* SPEC.md section 9: CUDA fp32 vs CPU reference */
#define TOL_TF32 3e-3 /* SPEC.md section 9: TF32 GEMMs */
#define GUARD 1024   /* floats after each output that must stay NaN */
static const uint64_t SEED = 5150;
#ifdef DYVM_FAKE_CUDA
static const bool FAKE = true; /* linked with tests/fake_cuda.c: no device memory, no peaks */
#else
static const bool FAKE = false;
#endif

static float *randn(dyvm_rng *r, size_t n, float scale)
{
    float *x = malloc(n * sizeof *x);
    for (size_t i = 0; i < n; i++) x[i] = scale * (float)dyvm_rng_normal(r);
    return x;
}

static float *dev_copy(dyvm_backend *g, const void *host, size_t bytes)
{
    void *d = g->alloc(g, bytes);
    g->upload(g, d, host, bytes);
    return d;
}

/* an output of n floats followed by GUARD floats, all NaN */
static float *dev_poisoned(dyvm_backend *g, size_t n)
{
    float *nan = malloc((n + GUARD) * sizeof *nan);
    for (size_t i = 0; i < n + GUARD; i++) nan[i] = NAN;
    float *d = dev_copy(g, nan, (n + GUARD) * sizeof *nan);
    free(nan);
    return d;
}

/* downloads, checks the guard is untouched and compares the n outputs with the reference */
static void check_guard(dyvm_backend *g, const char *what, const void *dev, size_t bytes)
{
    float *got = malloc(bytes + GUARD * sizeof(float));
    g->download(g, got, dev, bytes + GUARD * sizeof(float));
    size_t touched = 0;
    for (size_t i = bytes / sizeof(float); i < bytes / sizeof(float) + GUARD; i++) touched += !isnan(got[i]);
    check(touched == 0, "%s: guard region after the output untouched (%zu written)", what, touched);
    free(got);
}

/* an int32 output compared exactly; its guard checked */
static void check_out_i32(dyvm_backend *g, const char *what, int32_t *dev, const int32_t *ref, size_t n)
{
    check_guard(g, what, dev, n * sizeof(int32_t));
    int32_t *got = malloc(n * sizeof *got);
    g->download(g, got, dev, n * sizeof *got);
    compare_check_i32(what, got, ref, n);
    free(got);
    g->release(g, dev);
}

static void check_out(dyvm_backend *g, const char *what, float *dev, const float *ref, size_t n)
{
    float *got = malloc((n + GUARD) * sizeof *got);
    g->download(g, got, dev, (n + GUARD) * sizeof *got);
    size_t touched = 0;
    for (size_t i = n; i < n + GUARD; i++) touched += !isnan(got[i]);
    check(touched == 0, "%s: guard region after the output untouched (%zu written)", what, touched);
    compare_check(what, got, ref, n, TOL);
    free(got);
    g->release(g, dev);
}

/* the branches of layer 3 for the images in the masks (bit b: image b; a direction with mask 0 does not run),
 * against the CPU's: one direction alone (v1), or both with the fused scan (v2) against (y_f + y_b) / 2 */
static void ssm_pair(const char *name, const dyvm_weights *w, dyvm_backend *cpu, dyvm_backend *gpu, dyvm_rng *r,
                     int64_t B, int64_t L, unsigned mask_f, unsigned mask_b)
{
    const int64_t E = w->cfg.E, rows = B * L;
    const size_t nxz = (size_t)(rows * 2 * E), ny = (size_t)(rows * E);
    float *xz = randn(r, nxz, 1.0f), *y[2] = {malloc(ny * sizeof(float)), malloc(ny * sizeof(float))};
    float *ref = malloc(ny * sizeof *ref), *dxz = dev_copy(gpu, xz, nxz * sizeof *xz), *dy = dev_poisoned(gpu, ny);
    int32_t list[2][8] = {{0}}, *dlist[2] = {NULL, NULL};
    int64_t n[2] = {0, 0};
    const unsigned mask[2] = {mask_f, mask_b};
    const bool both = gpu->fuses_directions;
    for (int d = 0; d < 2; d++) {
        for (int64_t b = 0; b < B; b++)
            if (mask[d] & (1u << b)) list[d][n[d]++] = (int32_t)b;
        dlist[d] = (int32_t *)dev_copy(gpu, list[d], sizeof(int32_t) * 8);
    }
    for (int d = 0; d < 2; d++) {
        if (!mask[d] && !both) continue;
        dyvm_branch_args a = {.w = &w->layers[3].dir[d], .dir = d, .xz = xz, .y = y[d], .images = list[d],
                              .images_dev = list[d], .n_images = n[d], .B = B, .L = L};
        cpu->ssm_branch(cpu, &a);
        a.w = &gpu->w->layers[3].dir[d], a.xz = dxz, a.y = d == 0 || !both ? dy : NULL, a.images_dev = dlist[d];
        gpu->ssm_branch(gpu, &a);
    }
    for (size_t i = 0; i < ny; i++) ref[i] = both ? (y[0][i] + y[1][i]) / 2.0f : mask_f ? y[0][i] : y[1][i];
    char what[200];
    if (both)
        snprintf(what, sizeof what, "%s ssm_branch pair (fused scan): forward %lld and backward %lld of %lld images, L %lld",
                 name, (long long)n[0], (long long)n[1], (long long)B, (long long)L);
    else
        snprintf(what, sizeof what, "%s ssm_branch %s, %lld of %lld images, L %lld", name, mask_f ? "forward" : "backward",
                 (long long)(mask_f ? n[0] : n[1]), (long long)B, (long long)L);
    check_out(gpu, what, dy, ref, ny);
    free(xz), free(y[0]), free(y[1]), free(ref);
    gpu->release(gpu, dxz), gpu->release(gpu, dlist[0]), gpu->release(gpu, dlist[1]);
}

static void ops(const char *name, const dyvm_weights *w, dyvm_backend *cpu, dyvm_backend *gpu, int64_t B, int64_t L)
{
    const dyvm_config *c = &w->cfg;
    const int64_t D = c->D, E = c->E, rows = B * L;
    dyvm_rng r;
    dyvm_rng_seed(&r, SEED + (uint64_t)(B * 1000 + L));
    char what[160];
    printf("# %s ops: batch %lld, L %lld, seed %llu\n", name, (long long)B, (long long)L,
           (unsigned long long)(SEED + (uint64_t)(B * 1000 + L)));
    if (L == c->M + 1) { /* embed always makes M + 1 tokens */
        const size_t ni = (size_t)(B * c->channels * c->img * c->img), nh = (size_t)(B * L * D);
        float *img = randn(&r, ni, 1.0f), *ref = malloc(nh * sizeof *ref);
        cpu->embed(cpu, img, B, ref);
        float *di = dev_copy(gpu, img, ni * sizeof *img), *dh = dev_poisoned(gpu, nh);
        gpu->embed(gpu, di, B, dh);
        snprintf(what, sizeof what, "%s embed B %lld", name, (long long)B);
        check_out(gpu, what, dh, ref, nh);
        gpu->release(gpu, di);
        free(img), free(ref);
    }
    for (int first = 0; first < 2; first++) { /* residual add + RMSNorm */
        const size_t n = (size_t)(rows * D);
        float *h = randn(&r, n, 1.0f), *res = randn(&r, n, 2.0f), *u = malloc(n * sizeof *u);
        float *dr = dev_copy(gpu, res, n * sizeof *res), *dh = dev_copy(gpu, h, n * sizeof *h), *du = dev_poisoned(gpu, n);
        cpu->add_norm(cpu, w->layers[1].norm_w, res, h, u, rows, first);
        gpu->add_norm(gpu, gpu->w->layers[1].norm_w, dr, dh, du, rows, first);
        snprintf(what, sizeof what, "%s add_norm%s B %lld L %lld: u", name, first ? " (layer 0)" : "", (long long)B, (long long)L);
        check_out(gpu, what, du, u, n);
        float *got = malloc(n * sizeof *got);
        gpu->download(gpu, got, dr, n * sizeof *got);
        snprintf(what, sizeof what, "%s add_norm%s: residual", name, first ? " (layer 0)" : "");
        compare_check(what, got, res, n, TOL);
        free(got), free(h), free(res), free(u);
        gpu->release(gpu, dr), gpu->release(gpu, dh);
    }
    { /* in_proj */
        const size_t nx = (size_t)(rows * D), ny = (size_t)(rows * 2 * E);
        float *x = randn(&r, nx, 1.0f), *y = malloc(ny * sizeof *y);
        cpu->linear(cpu, STAGE_IN_PROJ, x, w->layers[2].in_proj, y, rows, D, 2 * E);
        float *dx = dev_copy(gpu, x, nx * sizeof *x), *dy = dev_poisoned(gpu, ny);
        gpu->linear(gpu, STAGE_IN_PROJ, dx, gpu->w->layers[2].in_proj, dy, rows, D, 2 * E);
        snprintf(what, sizeof what, "%s in_proj B %lld L %lld", name, (long long)B, (long long)L);
        check_out(gpu, what, dy, y, ny);
        free(x), free(y);
        gpu->release(gpu, dx);
    }
    /* the SSM branches: every image, then subsets (the others zero); one direction at a time, or both (the
       fused scan writes their mean into the forward branch's y) */
    for (int dir = 0; dir < 2 && !gpu->fuses_directions; dir++)
        for (int subset = 0; subset < 2 && (subset == 0 || B > 1); subset++)
            ssm_pair(name, w, cpu, gpu, &r, B, L, dir == 0 ? (subset ? 0x5 : 0xff) : 0, dir == 1 ? (subset ? 0x5 : 0xff) : 0);
    for (int subset = 0; subset < 3 && gpu->fuses_directions; subset++)
        if (subset == 0 || B > 1) ssm_pair(name, w, cpu, gpu, &r, B, L, subset == 2 ? 0x5 : 0xff, subset == 1 ? 0x2 : 0xff);
    { /* combine + out_proj; a backend that fuses the directions gets the mean in y_f and must ignore y_b */
        const size_t ny = (size_t)(rows * E), nh = (size_t)(rows * D);
        float *yf = randn(&r, ny, 1.0f), *yb = randn(&r, ny, 1.0f), *h = malloc(nh * sizeof *h);
        float *mean = malloc(ny * sizeof *mean), *nan = malloc(ny * sizeof *nan);
        for (size_t i = 0; i < ny; i++) mean[i] = (yf[i] + yb[i]) / 2.0f, nan[i] = NAN;
        const bool fused = gpu->fuses_directions;
        float *dyf = dev_copy(gpu, fused ? mean : yf, ny * sizeof *yf), *dyb = dev_copy(gpu, fused ? nan : yb, ny * sizeof *yb);
        float *dh = dev_poisoned(gpu, nh);
        cpu->combine_out_proj(cpu, &w->layers[0], yf, yb, h, rows);
        gpu->combine_out_proj(gpu, &gpu->w->layers[0], dyf, dyb, dh, rows);
        snprintf(what, sizeof what, "%s %s B %lld L %lld", name, fused ? "out_proj of the fused mean (y_b NaN, ignored)" : "combine_out_proj",
                 (long long)B, (long long)L);
        check_out(gpu, what, dh, h, nh);
        free(yf), free(yb), free(h), free(mean), free(nan);
        gpu->release(gpu, dyf), gpu->release(gpu, dyb);
    }
    if (w->has_block_heads) { /* block head on the class token */
        const size_t nxz = (size_t)(rows * 2 * E), nl = (size_t)(2 * B);
        float *xz = randn(&r, nxz, 1.0f), *lg = malloc(nl * sizeof *lg);
        const int64_t cls = (L - 1) / 2;
        cpu->block_logits(cpu, &w->layers[1], xz, B, L, cls, lg);
        float *dxz = dev_copy(gpu, xz, nxz * sizeof *xz), *dl = dev_poisoned(gpu, nl);
        gpu->block_logits(gpu, &gpu->w->layers[1], dxz, B, L, cls, dl);
        snprintf(what, sizeof what, "%s block_logits B %lld L %lld", name, (long long)B, (long long)L);
        check_out(gpu, what, dl, lg, nl);
        free(xz), free(lg);
        gpu->release(gpu, dxz);
    }
    if (w->has_predictors) { /* predictor scores, top-k, gather */
        const int64_t n = L - 1, cls = n / 2, nk = (2 * n) / 3, nh = rows * D;
        float *h = randn(&r, (size_t)nh, 1.0f), *res = randn(&r, (size_t)nh, 1.0f), *sc = malloc(sizeof(float) * (size_t)(B * n));
        cpu->predictor_scores(cpu, 0, h, res, B, L, cls, sc);
        float *dh = dev_copy(gpu, h, sizeof(float) * (size_t)nh), *dr = dev_copy(gpu, res, sizeof(float) * (size_t)nh);
        float *dsc = dev_poisoned(gpu, (size_t)(B * n));
        gpu->predictor_scores(gpu, 0, dh, dr, B, L, cls, dsc);
        snprintf(what, sizeof what, "%s predictor_scores B %lld n %lld", name, (long long)B, (long long)n);
        check_out(gpu, what, dsc, sc, (size_t)(B * n));
        /* top-k on the CPU's scores with a tie at the keep cut and NaN scores: the same order on both */
        plant_top_k_ties(sc, B, n, nk);
        int32_t *keep = malloc(sizeof(int32_t) * (size_t)(B * nk)), *pos = malloc(sizeof(int32_t) * (size_t)(B * n));
        cpu->top_k(cpu, sc, B, n, nk, keep);
        float *dsc2 = dev_copy(gpu, sc, sizeof(float) * (size_t)(B * n));
        int32_t *dkeep = (int32_t *)dev_poisoned(gpu, (size_t)(B * nk));
        gpu->top_k(gpu, dsc2, B, n, nk, dkeep);
        snprintf(what, sizeof what, "%s top_k %lld of %lld, B %lld, tie at the cut, NaN scores", name, (long long)nk,
                 (long long)n, (long long)B);
        check_guard(gpu, what, dkeep, sizeof(int32_t) * (size_t)(B * nk));
        int32_t *gk = malloc(sizeof(int32_t) * (size_t)(B * nk));
        gpu->download(gpu, gk, dkeep, sizeof(int32_t) * (size_t)(B * nk));
        compare_check_i32(what, gk, keep, (size_t)(B * nk));
        /* gather from the same kept indices */
        for (int64_t i = 0; i < B * n; i++) pos[i] = (int32_t)((i * 7) % 1000);
        const size_t no = (size_t)(B * (nk + 1) * D);
        float *ho = malloc(no * sizeof *ho), *ro = malloc(no * sizeof *ro);
        int32_t *po = malloc(sizeof(int32_t) * (size_t)(B * nk));
        cpu->gather(cpu, h, res, pos, keep, B, L, cls, nk, ho, ro, po);
        int32_t *dpos = (int32_t *)dev_copy(gpu, pos, sizeof(int32_t) * (size_t)(B * n)), *dpo = (int32_t *)dev_poisoned(gpu, (size_t)(B * nk));
        float *dho = dev_poisoned(gpu, no), *dro = dev_poisoned(gpu, no);
        gpu->gather(gpu, dh, dr, dpos, dkeep, B, L, cls, nk, dho, dro, dpo);
        snprintf(what, sizeof what, "%s gather h, %lld kept, B %lld", name, (long long)nk, (long long)B);
        check_out(gpu, what, dho, ho, no);
        snprintf(what, sizeof what, "%s gather r", name);
        check_out(gpu, what, dro, ro, no);
        snprintf(what, sizeof what, "%s gather positions", name);
        check_out_i32(gpu, what, dpo, po, (size_t)(B * nk));
        free(h), free(res), free(sc), free(keep), free(pos), free(gk), free(ho), free(ro), free(po);
        gpu->release(gpu, dh), gpu->release(gpu, dr), gpu->release(gpu, dsc2), gpu->release(gpu, dkeep);
        gpu->release(gpu, dpos);
    }
    { /* final norm of the class token + head */
        const size_t nh = (size_t)(rows * D), nf = (size_t)(B * D), nl = (size_t)(B * c->classes);
        float *h = randn(&r, nh, 1.0f), *res = randn(&r, nh, 1.0f), *f = malloc(nf * sizeof *f), *lg = malloc(nl * sizeof *lg);
        const int64_t cls = (L - 1) / 2;
        cpu->head(cpu, h, res, B, L, cls, f, lg);
        float *dh = dev_copy(gpu, h, nh * sizeof *h), *dr = dev_copy(gpu, res, nh * sizeof *res);
        float *df = dev_poisoned(gpu, nf), *dl = dev_poisoned(gpu, nl);
        gpu->head(gpu, dh, dr, B, L, cls, df, dl);
        snprintf(what, sizeof what, "%s head B %lld L %lld: features", name, (long long)B, (long long)L);
        check_out(gpu, what, df, f, nf);
        snprintf(what, sizeof what, "%s head: logits", name);
        check_out(gpu, what, dl, lg, nl);
        free(h), free(res), free(f), free(lg);
        gpu->release(gpu, dh), gpu->release(gpu, dr);
    }
}

/* the GPU backends a model is checked on: each scan kernel in strict FP32, and TF32 GEMMs */
typedef struct {
    const char *name;
    dyvm_cuda_opts opts;
    double tol;
} gpu_kind;
static const gpu_kind KINDS[] = {{"scan v1", {0, 1}, TOL}, {"scan v2", {0, 2}, TOL}, {"TF32, scan v1", {1, 1}, TOL_TF32}};

static const char *policy_of(int v, bool learned)
{
    return learned ? "learned" : v == VARIANT_BLOCK ? "count:5" : "ratio:0.6";
}

/* the decisions of two results identical (block policy, kept tokens): 1, else 0 with the reason in why */
static int same_decisions(const dyvm_result *a, const dyvm_result *b, char *why, size_t len)
{
    if (a->block_policy && b->block_policy) {
        size_t diff = 0, n = (size_t)(a->B * a->depth * 2);
        for (size_t i = 0; i < n; i++) diff += a->block_policy[i] != b->block_policy[i];
        if (diff) return snprintf(why, len, "%zu of %zu block decisions differ", diff, n), 0;
    }
    for (int k = 0; k < a->n_stages; k++)
        if (memcmp(a->kept[k], b->kept[k], sizeof(int32_t) * (size_t)(a->B * a->n_keep[k])))
            return snprintf(why, len, "kept.%d differs", k), 0;
    return 1;
}

/* one variant on the GPU against the CPU's result: logits, features, every stream (NaN anywhere fails), the
 * decisions; strict: decisions must agree (else a result whose decisions differ is reported, not compared) */
static void compare_forward(const char *what0, const dyvm_result *rc, const dyvm_result *rg, const dyvm_weights *w,
                            double tol, bool strict)
{
    char what[300], why[128];
    const int64_t B = rc->B;
    if (!same_decisions(rc, rg, why, sizeof why)) {
        if (strict) check(0, "%s: decisions identical (%s)", what0, why);
        else check_skip("%s: %s (random heads decide near their margin: nothing to compare)", what0, why);
        return;
    }
    check(1, "%s: block decisions and kept tokens identical", what0);
    snprintf(what, sizeof what, "%s: logits", what0);
    compare_check(what, rg->logits, rc->logits, (size_t)(B * w->cfg.classes), tol);
    snprintf(what, sizeof what, "%s: features", what0);
    compare_check(what, rg->features, rc->features, (size_t)(B * w->cfg.D), tol);
    if (!rc->stream || !rg->stream) return;
    int bad = 0, nonfinite = 0;
    for (int64_t i = 0; i < w->cfg.depth; i++) {
        if (rg->stream_L[i] != rc->stream_L[i]) {
            bad++;
            continue;
        }
        const compare_result cr = compare_f32(rg->stream[i], rc->stream[i], (size_t)(B * rc->stream_L[i] * w->cfg.D));
        nonfinite += cr.nonfinite != 0;
        bad += cr.nonfinite != 0 || !(cr.rel_l2 <= tol);
    }
    check(bad == 0, "%s: every stream.{i} finite and within %.0e (%d over, %d with NaN or inf)", what0, tol, bad, nonfinite);
}

static int forward(dyvm_graph *g, const float *x, int64_t B, int v, bool learned, bool capture, dyvm_result *res,
                   const char *what)
{
    char err[512];
    dyvm_run_opts o = {.variant = (dyvm_variant)v, .capture = capture, .token = learned ? TOKEN_LEARNED : TOKEN_EVEN};
    o.block.seed = SEED;
    dyvm_parse_block_policy(policy_of(v, learned), &o.block, err, sizeof err);
    if (dyvm_forward(g, x, B, &o, res, err, sizeof err)) return check(0, "%s: %s", what, err), -1;
    return 0;
}

static bool variant_applies(const dyvm_weights *w, int v, bool learned)
{
    return !((dyvm_variant_prunes((dyvm_variant)v) && (!w->cfg.n_prune || (learned && !w->has_predictors))) ||
             (dyvm_variant_selects((dyvm_variant)v) && learned && !w->has_block_heads));
}

/* every variant end to end on each GPU backend against one CPU result; then the waits of the host in a
 * second forward without captures (the first captures its streams: downloads the waits would include) */
static void end_to_end(const char *name, const dyvm_weights *w, dyvm_backend *cpu, dyvm_backend **gpus,
                       const gpu_kind **kinds, int n_gpus, const float *x, int64_t B, bool learned, bool strict)
{
    char err[512], what[200];
    dyvm_graph *gc = dyvm_graph_new(cpu, B, err, sizeof err);
    if (!check(gc != NULL, "%s: CPU graph of batch %lld%s%s", name, (long long)B, gc ? "" : ": ", gc ? "" : err)) return;
    for (int v = 0; v < 4; v++) {
        if (!variant_applies(w, v, learned)) continue;
        const char *pol = learned ? "learned policies" : "forced policies";
        dyvm_result rc;
        snprintf(what, sizeof what, "%s %s (%s), batch %lld", name, dyvm_variant_name((dyvm_variant)v), pol, (long long)B);
        if (forward(gc, x, B, v, learned, true, &rc, what)) continue;
        for (int k = 0; k < n_gpus; k++) {
            dyvm_graph *gg = dyvm_graph_new(gpus[k], B, err, sizeof err);
            snprintf(what, sizeof what, "%s %s (%s), batch %lld, %s", name, dyvm_variant_name((dyvm_variant)v), pol,
                     (long long)B, kinds[k]->name);
            if (!check(gg != NULL, "%s: graph%s%s", what, gg ? "" : ": ", gg ? "" : err)) continue;
            dyvm_result rg, r2;
            if (!forward(gg, x, B, v, learned, true, &rg, what)) {
                compare_forward(what, &rc, &rg, w, kinds[k]->tol, strict);
                dyvm_result_free(&rg);
            }
            const uint64_t s0 = gpus[k]->host_syncs;
            if (!forward(gg, NULL, B, v, learned, false, &r2, what)) {
                const uint64_t got = gpus[k]->host_syncs - s0, want = expected_host_syncs(&r2);
                check(got == want, "%s: %llu waits of the host in a forward (expected %llu: results, %d kept, %s)", what,
                      (unsigned long long)got, (unsigned long long)want, r2.n_stages,
                      r2.block_heads_ran ? "one block read-back per layer" : "no block read-back");
                dyvm_result_free(&r2);
            }
            dyvm_graph_free(gg);
        }
        dyvm_result_free(&rc);
    }
    dyvm_graph_free(gc);
}

static float *images_for(const dyvm_weights *w, int64_t B, uint64_t seed)
{
    dyvm_rng r;
    dyvm_rng_seed(&r, seed);
    return randn(&r, (size_t)(B * w->cfg.channels * w->cfg.img * w->cfg.img), 1.0f);
}

/* the GPU backends of KINDS for w (those that apply: scan v2 needs an instantiation for its d_state) */
static int make_gpus(const char *name, const dyvm_weights *w, bool tf32_too, dyvm_backend **gpus, const gpu_kind **kinds)
{
    char err[512];
    int n = 0;
    for (size_t k = 0; k < sizeof KINDS / sizeof KINDS[0]; k++) {
        if (KINDS[k].opts.tf32 && !tf32_too) continue;
        dyvm_backend *g = dyvm_cuda_backend(w, &KINDS[k].opts, err, sizeof err);
        if (!check(g != NULL, "%s: CUDA backend (%s)%s%s", name, KINDS[k].name, g ? "" : ": ", g ? "" : err)) continue;
        gpus[n] = g, kinds[n] = &KINDS[k], n++;
    }
    return n;
}

/* strict: decisions must agree (golden weights, forced policies); not for random heads deciding */
static void run_model(const char *name, const dyvm_weights *w, int64_t B, bool learned, bool strict, bool with_ops,
                      bool tf32_too)
{
    dyvm_backend *cpu = dyvm_cpu_backend(w), *gpus[4];
    const gpu_kind *kinds[4];
    const int n = make_gpus(name, w, tf32_too, gpus, kinds);
    for (int k = 0; k < n && with_ops; k++) {
        if (kinds[k]->opts.tf32) continue; /* the ops at 1e-4: strict FP32 */
        char label[96];
        snprintf(label, sizeof label, "%s [%s]", name, kinds[k]->name);
        ops(label, w, cpu, gpus[k], 1, w->cfg.M + 1);                    /* odd length (M even) */
        ops(label, w, cpu, gpus[k], 3, w->cfg.M + 1);
        ops(label, w, cpu, gpus[k], 3, w->cfg.token_keep[0] + 1 + (w->cfg.token_keep[0] + 1) % 2); /* even length */
    }
    float *x = images_for(w, B, SEED);
    printf("# %s end to end: batch %lld, input seed %llu\n", name, (long long)B, (unsigned long long)SEED);
    end_to_end(name, w, cpu, gpus, kinds, n, x, B, learned, strict);
    free(x);
    for (int k = 0; k < n; k++) gpus[k]->destroy(gpus[k]);
    cpu->destroy(cpu);
}

/* one graph of batch 64 on each scan: batch 1, then 64 (the scratch grows), then 3, each against the CPU */
static void growth(const dyvm_weights *w)
{
    char err[512], what[160];
    dyvm_backend *cpu = dyvm_cpu_backend(w), *gpus[4];
    const gpu_kind *kinds[4];
    const int n = make_gpus("vim-t growth", w, false, gpus, kinds);
    dyvm_graph *gc = dyvm_graph_new(cpu, 64, err, sizeof err), *gg[4] = {NULL};
    for (int k = 0; k < n; k++) gg[k] = dyvm_graph_new(gpus[k], 64, err, sizeof err);
    const int64_t batches[] = {1, 64, 3};
    for (int i = 0; i < 3 && gc; i++) {
        const int64_t B = batches[i];
        float *x = images_for(w, B, SEED + (uint64_t)B);
        for (int v = 0; v < 4; v += 3) { /* vim and dyvm */
            dyvm_result rc;
            snprintf(what, sizeof what, "vim-t preset %s, batch %lld on a graph of 64", dyvm_variant_name((dyvm_variant)v), (long long)B);
            if (forward(gc, x, B, v, false, false, &rc, what)) continue;
            for (int k = 0; k < n; k++) {
                dyvm_result rg;
                snprintf(what, sizeof what, "vim-t preset %s, batch %lld on a graph of 64 (call %d), %s",
                         dyvm_variant_name((dyvm_variant)v), (long long)B, i + 1, kinds[k]->name);
                if (!gg[k]) {
                    check(0, "%s: graph of 64", what);
                    continue;
                }
                if (forward(gg[k], x, B, v, false, false, &rg, what)) continue;
                compare_forward(what, &rc, &rg, w, kinds[k]->tol, true);
                dyvm_result_free(&rg);
            }
            dyvm_result_free(&rc);
        }
        free(x);
    }
    for (int k = 0; k < n; k++) dyvm_graph_free(gg[k]), gpus[k]->destroy(gpus[k]);
    dyvm_graph_free(gc);
    cpu->destroy(cpu);
}

/* out of device memory: a graph names the buffer it could not allocate; a forward whose scratch cannot grow
 * exits 2 with one line (in a child process: it exits) */
static void out_of_memory(const dyvm_weights *w)
{
    char err[512];
    const dyvm_cuda_opts o = {0, 1};
    dyvm_backend *gpu = dyvm_cuda_backend(w, &o, err, sizeof err);
    if (!check(gpu != NULL, "out of memory: backend: %s", gpu ? "made" : err)) return;
    if (dyvm_cuda_hold_memory(0)) {
        check(0, "out of memory: could not hold the device's memory");
    } else {
        dyvm_graph *g = dyvm_graph_new(gpu, 64, err, sizeof err);
        dyvm_cuda_release_held();
        check(g == NULL && strstr(err, "out of cuda memory allocating ") && strstr(err, "batch of 64"),
              "out of memory: a graph of 64 with the memory held fails naming the buffer (\"%s\")", g ? "it did not fail" : err);
        dyvm_graph_free(g);
    }
    gpu->destroy(gpu);
    char cmd[1200], line[600] = "", out[2048] = "", self[1024];
    const ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1); /* this program, not popen's shell */
    if (!check(len > 0, "out of memory: this program's path")) return;
    self[len] = 0;
    snprintf(cmd, sizeof cmd, "'%s' --oom-child 2>&1", self);
    FILE *p = popen(cmd, "r");
    if (!check(p != NULL, "out of memory: the child could be started")) return;
    while (fgets(line, sizeof line, p))
        if (strlen(out) + strlen(line) < sizeof out) strcat(out, line);
    const int st = pclose(p), rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    const char *want = "dyvm: out of GPU memory allocating the backend's scratch: ";
    check(rc == 2 && !strncmp(out, want, strlen(want)) && strchr(out, '\n') == out + strlen(out) - 1,
          "out of memory: a scratch that cannot grow exits 2 with one line naming it (exit %d: %s)", rc, out);
}

/* the child of out_of_memory: vim-t's backend, the device's memory held, then a scratch of 1 GiB asked for
 * (as a forward asks when it needs more): it must exit 2 with one line */
static int oom_child(void)
{
    char err[512];
    dyvm_config c;
    dyvm_weights w;
    if (dyvm_config_preset("vim-t", &c, err, sizeof err) || dyvm_weights_init(&w, &c, 1, err, sizeof err)) return 5;
    const dyvm_cuda_opts o = {0, 1};
    dyvm_backend *gpu = dyvm_cuda_backend(&w, &o, err, sizeof err);
    if (!gpu || !gpu->reserve_scratch) return fprintf(stderr, "child: %s\n", gpu ? "no reserve_scratch" : err), 6;
    if (dyvm_cuda_hold_memory(0)) return 7;
    gpu->reserve_scratch(gpu, (size_t)1 << 30);
    return 8; /* it went through: the test fails */
}

static int load_golden(const char *name, dyvm_weights *w)
{
    char path[1200], err[512], self[1024];
    const char *dirs[3] = {getenv("GOLDEN"), "../shared/golden", NULL};
    const ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    static char beside[1100];
    if (n > 0) { /* build/tests/test_cuda -> build/golden */
        self[n] = 0;
        char *slash = strrchr(self, '/');
        if (slash) *slash = 0;
        snprintf(beside, sizeof beside, "%s/../golden", self);
        dirs[2] = beside;
    }
    for (int i = 0; i < 3; i++) {
        if (!dirs[i]) continue;
        snprintf(path, sizeof path, "%s/%s/weights.safetensors", dirs[i], name);
        if (access(path, R_OK) != 0) continue;
        if (dyvm_weights_load(w, path, err, sizeof err)) return check(0, "%s", err), -1;
        printf("# golden case %s: %s\n", name, path);
        return 0;
    }
    check_skip("golden case %s: not in $GOLDEN, ../shared/golden nor beside the build (make gpu-build copies it)", name);
    return -1;
}

static int preset(const char *name, int64_t N, dyvm_weights *w)
{
    char err[512];
    dyvm_config c;
    if (dyvm_config_preset(name, &c, err, sizeof err)) return check(0, "%s", err), -1;
    c.N = N;
    if (dyvm_config_finish(&c, err, sizeof err) || dyvm_weights_init(w, &c, 1, err, sizeof err))
        return check(0, "%s (d_state %lld): %s", name, (long long)N, err), -1;
    printf("# %s preset, d_state %lld, weights seed 1\n", name, (long long)N);
    return 0;
}

/* what compute-sanitizer runs: the tiny preset, four variants, learned and forced policies, both scans */
static int sanitize_set(void)
{
    dyvm_weights w;
    if (preset("tiny", 16, &w)) return check_summary();
    run_model("tiny preset", &w, 3, true, false, false, false);
    run_model("tiny preset", &w, 3, false, true, false, false);
    dyvm_weights_free(&w);
    return check_summary();
}

static bool finite_positive(double v) { return isfinite(v) && v > 0.0; }

/* the measured peaks (kernels/peaks.cu): every rate finite and positive, never a speed threshold */
static void peaks(void)
{
    char err[512];
    dyvm_cuda_gemm_rate g[2] = {{197, 384, 1536, 0, 0}, {25216, 384, 1536, 0, 0}};
    dyvm_cuda_rates r;
    int rc = dyvm_cuda_measure_peaks(g, 2, &r, err, sizeof err);
    if (!check(rc == 0, "peaks: dyvm_cuda_measure_peaks on 2 shapes returns 0%s%s", rc ? ": " : "", rc ? err : ""))
        return;
    for (int i = 0; i < 2; i++) {
        printf("# peaks: sgemm rows %lld n_in %lld n_out %lld: %.1f GFLOP/s FP32, %.1f GFLOP/s TF32\n",
               (long long)g[i].rows, (long long)g[i].n_in, (long long)g[i].n_out, g[i].gflops_fp32, g[i].gflops_tf32);
        check(finite_positive(g[i].gflops_fp32) && finite_positive(g[i].gflops_tf32),
              "peaks: sgemm %lld x %lld x %lld GFLOP/s finite and positive (FP32 %g, TF32 %g)", (long long)g[i].rows,
              (long long)g[i].n_in, (long long)g[i].n_out, g[i].gflops_fp32, g[i].gflops_tf32);
    }
    printf("# peaks: %.4g expf/s, %.1f GFLOP/s FMA, triad %.1f GB/s over %.0f MiB\n", r.exp_per_s, r.fma_gflops,
           r.bandwidth_gbs, (double)r.triad_bytes / (1 << 20));
    check(finite_positive(r.exp_per_s) && finite_positive(r.fma_gflops) && finite_positive(r.bandwidth_gbs) &&
              r.triad_bytes > 0,
          "peaks: expf/s, FMA GFLOP/s, triad GB/s finite and positive, triad bytes > 0 (%g, %g, %g, %zu)",
          r.exp_per_s, r.fma_gflops, r.bandwidth_gbs, r.triad_bytes);
    dyvm_cuda_rates r0;
    rc = dyvm_cuda_measure_peaks(NULL, 0, &r0, err, sizeof err);
    check(rc == 0 && finite_positive(r0.exp_per_s) && finite_positive(r0.fma_gflops) &&
              finite_positive(r0.bandwidth_gbs) && r0.triad_bytes > 0,
          "peaks: no GEMM shapes (n_gemms 0) still measures the rates%s%s", rc ? ": " : "", rc ? err : "");
}

int main(int argc, char **argv)
{
    char why[256];
    const bool sanitize = argc > 1 && !strcmp(argv[1], "--sanitize");
    if (argc > 1 && !strcmp(argv[1], "--oom-child")) return oom_child();
    if (argc > 1 && !sanitize) return fprintf(stderr, "usage: test_cuda [--sanitize]\n"), 2;
    const int have = dyvm_cuda_available(why, sizeof why);
    printf("# device: %s\n", have ? why : "none");
    if (!have) {
        check_skip("CUDA ops vs the CPU reference (embed, add_norm, in_proj, ssm_branch with scan v1 and v2, "
                   "block_logits, predictor_scores, top_k with ties and NaN, gather, combine_out_proj, head): %s", why);
        check_skip("CUDA variants end to end vs the CPU reference (golden cases with learned policies, presets with "
                   "forced ones, d_state 32, TF32, batch 64 and scratch growth, host waits per forward): %s", why);
        check_skip("CUDA out-of-memory failures (a graph names its buffer; the scratch exits 2 with one line): %s", why);
        check_skip("CUDA measured peaks (cuBLAS FP32/TF32 sgemm, expf, FMA, memory triad): %s", why);
        return check_summary();
    }
    if (sanitize) return sanitize_set();
    if (FAKE) check_skip("CUDA measured peaks and out-of-memory failures: %s has no device", why);
    else peaks();
    const char *cases[] = {"tiny", "small"};
    for (int i = 0; i < 2; i++) {
        dyvm_weights w;
        if (load_golden(cases[i], &w)) continue;
        run_model(cases[i], &w, 3, true, true, true, false);
        dyvm_weights_free(&w);
    }
    const struct { const char *name; int64_t N; } presets[] = {{"tiny", 16}, {"tiny", 32}, {"vim-t", 16}, {"vim-s", 16}};
    for (size_t i = 0; i < sizeof presets / sizeof presets[0]; i++) {
        dyvm_weights w;
        if (FAKE && !strcmp(presets[i].name, "vim-s")) continue; /* the CPU's time, for nothing vim-t does not test */
        if (preset(presets[i].name, presets[i].N, &w)) continue;
        char label[64];
        snprintf(label, sizeof label, "%s preset%s", presets[i].name, presets[i].N != 16 ? ", d_state 32" : "");
        run_model(label, &w, 2, false, true, true, true);
        if (!strcmp(presets[i].name, "vim-t")) {
            growth(&w);
            if (!FAKE) out_of_memory(&w);
        }
        dyvm_weights_free(&w);
    }
    return check_summary();
}
