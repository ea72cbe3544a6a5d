/* The CUDA backend against the CPU reference (SPEC.md section 9: fp32 within rel L2 1e-4): every op on
 * random inputs from a printed seed, at odd and even sequence lengths, batch 1 and 3, with each output
 * poisoned with NaN before the op and a guard region after it checked afterwards; then every variant end
 * to end: on the golden cases with the learned policies (their margins make every decision clear, so
 * decisions must be identical), and on the presets with forced policies (identical decisions by
 * construction); and the measured device peaks (kernels/peaks.cu) finite and positive. Without a device
 * every check is SKIPPED with the reason. */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "compare.h"
#include "cuda_backend.h"
#include "graph.h"
#include "rng.h"

#define TOL 1e-4     /* SPEC.md section 9: CUDA fp32 vs CPU reference */
#define GUARD 1024   /* floats after each output that must stay NaN */
static const uint64_t SEED = 5150;

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
    for (int dir = 0; dir < 2; dir++) { /* one SSM branch: every image, then a subset (the others zero) */
        for (int subset = 0; subset < 2 && (subset == 0 || B > 1); subset++) {
            const size_t nxz = (size_t)(rows * 2 * E), ny = (size_t)(rows * E);
            float *xz = randn(&r, nxz, 1.0f), *y = malloc(ny * sizeof *y);
            int32_t list[8];
            int64_t n = 0;
            for (int64_t b = 0; b < B; b++)
                if (!subset || b % 2 == 0) list[n++] = (int32_t)b;
            dyvm_branch_args a = {.w = &w->layers[3].dir[dir], .dir = dir, .xz = xz, .y = y, .images = list,
                                  .n_images = n, .B = B, .L = L};
            cpu->ssm_branch(cpu, &a);
            float *dxz = dev_copy(gpu, xz, nxz * sizeof *xz), *dy = dev_poisoned(gpu, ny);
            a.w = &gpu->w->layers[3].dir[dir], a.xz = dxz, a.y = dy;
            gpu->ssm_branch(gpu, &a);
            snprintf(what, sizeof what, "%s ssm_branch %s, %lld of %lld images, L %lld", name, dir ? "backward" : "forward",
                     (long long)n, (long long)B, (long long)L);
            check_out(gpu, what, dy, y, ny);
            free(xz), free(y);
            gpu->release(gpu, dxz);
        }
    }
    { /* combine + out_proj */
        const size_t ny = (size_t)(rows * E), nh = (size_t)(rows * D);
        float *yf = randn(&r, ny, 1.0f), *yb = randn(&r, ny, 1.0f), *h = malloc(nh * sizeof *h);
        float *dyf = dev_copy(gpu, yf, ny * sizeof *yf), *dyb = dev_copy(gpu, yb, ny * sizeof *yb), *dh = dev_poisoned(gpu, nh);
        cpu->combine_out_proj(cpu, &w->layers[0], yf, yb, h, rows);
        gpu->combine_out_proj(gpu, &gpu->w->layers[0], dyf, dyb, dh, rows);
        snprintf(what, sizeof what, "%s combine_out_proj B %lld L %lld", name, (long long)B, (long long)L);
        check_out(gpu, what, dh, h, nh);
        free(yf), free(yb), free(h);
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
        /* top-k on the CPU's scores, with a tie planted: the lower index must win on both */
        if (n > 3) sc[1] = sc[2];
        int32_t *keep = malloc(sizeof(int32_t) * (size_t)(B * nk)), *pos = malloc(sizeof(int32_t) * (size_t)(B * n));
        cpu->top_k(cpu, sc, B, n, nk, keep);
        float *dsc2 = dev_copy(gpu, sc, sizeof(float) * (size_t)(B * n));
        int32_t *dkeep = (int32_t *)dev_poisoned(gpu, (size_t)(B * nk));
        gpu->top_k(gpu, dsc2, B, n, nk, dkeep);
        snprintf(what, sizeof what, "%s top_k %lld of %lld, B %lld", name, (long long)nk, (long long)n, (long long)B);
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

static void end_to_end(const char *name, const dyvm_weights *w, dyvm_backend *cpu, dyvm_backend *gpu, const float *x,
                       int64_t B, bool learned)
{
    char err[512], what[200];
    dyvm_graph *gc = dyvm_graph_new(cpu, B, err, sizeof err), *gg = dyvm_graph_new(gpu, B, err, sizeof err);
    for (int v = 0; gc && gg && v < 4; v++) {
        dyvm_run_opts o = {.variant = (dyvm_variant)v, .capture = true, .token = learned ? TOKEN_LEARNED : TOKEN_EVEN};
        o.block.seed = SEED;
        dyvm_parse_block_policy(learned ? "learned" : v == VARIANT_BLOCK ? "count:5" : "ratio:0.6", &o.block, err, sizeof err);
        if ((dyvm_variant_prunes(o.variant) && (!w->cfg.n_prune || (learned && !w->has_predictors))) ||
            (dyvm_variant_selects(o.variant) && learned && !w->has_block_heads))
            continue;
        dyvm_result rc, rg;
        const char *pol = learned ? "learned policies" : "forced policies";
        if (dyvm_forward(gc, x, B, &o, &rc, err, sizeof err)) {
            check(0, "%s %s: %s", name, dyvm_variant_name(o.variant), err);
            continue;
        }
        if (dyvm_forward(gg, x, B, &o, &rg, err, sizeof err)) {
            check(0, "%s %s cuda forward: %s", name, dyvm_variant_name(o.variant), err);
            dyvm_result_free(&rc);
            continue;
        }
        snprintf(what, sizeof what, "%s %s (%s) end to end: logits", name, dyvm_variant_name(o.variant), pol);
        compare_check(what, rg.logits, rc.logits, (size_t)(B * w->cfg.classes), TOL);
        snprintf(what, sizeof what, "%s %s (%s) end to end: features", name, dyvm_variant_name(o.variant), pol);
        compare_check(what, rg.features, rc.features, (size_t)(B * w->cfg.D), TOL);
        int bad_streams = 0;
        for (int64_t i = 0; i < w->cfg.depth; i++)
            bad_streams += rg.stream_L[i] != rc.stream_L[i] ||
                           compare_f32(rg.stream[i], rc.stream[i], (size_t)(B * rc.stream_L[i] * w->cfg.D)).rel_l2 > TOL;
        check(bad_streams == 0, "%s %s (%s): every stream.{i} within %.0e (%d over)", name, dyvm_variant_name(o.variant),
              pol, TOL, bad_streams);
        if (rc.block_policy) {
            size_t diff = 0, n = (size_t)(B * w->cfg.depth * 2);
            for (size_t i = 0; i < n; i++) diff += rc.block_policy[i] != rg.block_policy[i];
            check(diff == 0, "%s %s (%s): block decisions identical (%zu of %zu differ)", name,
                  dyvm_variant_name(o.variant), pol, diff, n);
        }
        for (int k = 0; k < rc.n_stages; k++) {
            snprintf(what, sizeof what, "%s %s (%s): kept.%d", name, dyvm_variant_name(o.variant), pol, k);
            compare_check_i32(what, rg.kept[k], rc.kept[k], (size_t)(B * rc.n_keep[k]));
        }
        dyvm_result_free(&rc), dyvm_result_free(&rg);
    }
    dyvm_graph_free(gc), dyvm_graph_free(gg);
}

static void run_model(const char *name, const dyvm_weights *w, int64_t B, bool learned)
{
    char err[512];
    dyvm_backend *cpu = dyvm_cpu_backend(w), *gpu = dyvm_cuda_backend(w, 0, err, sizeof err);
    if (!gpu) {
        check(0, "%s: %s", name, err);
        cpu->destroy(cpu);
        return;
    }
    ops(name, w, cpu, gpu, 1, w->cfg.M + 1);                    /* odd length (M even) */
    ops(name, w, cpu, gpu, 3, w->cfg.M + 1);
    ops(name, w, cpu, gpu, 3, w->cfg.token_keep[0] + 1 + (w->cfg.token_keep[0] + 1) % 2); /* even length */
    dyvm_rng r;
    dyvm_rng_seed(&r, SEED);
    float *x = randn(&r, (size_t)(B * w->cfg.channels * w->cfg.img * w->cfg.img), 1.0f);
    printf("# %s end to end: batch %lld, input seed %llu\n", name, (long long)B, (unsigned long long)SEED);
    end_to_end(name, w, cpu, gpu, x, B, learned);
    free(x);
    gpu->destroy(gpu);
    cpu->destroy(cpu);
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

int main(void)
{
    char why[256];
    if (!dyvm_cuda_available(why, sizeof why)) {
        check_skip("CUDA ops vs the CPU reference (embed, add_norm, in_proj, ssm_branch, block_logits, "
                   "predictor_scores, top_k, gather, combine_out_proj, head): %s", why);
        check_skip("CUDA variants end to end vs the CPU reference (golden cases with learned policies, presets with "
                   "forced ones): %s", why);
        check_skip("CUDA measured peaks (cuBLAS FP32/TF32 sgemm, expf, FMA, memory triad): %s", why);
        return check_summary();
    }
    peaks();
    const char *golden = getenv("GOLDEN") ? getenv("GOLDEN") : "../shared/golden";
    const char *cases[] = {"tiny", "small", "vim-t"};
    char path[1024], err[512];
    for (int i = 0; i < 3; i++) {
        dyvm_weights w;
        snprintf(path, sizeof path, "%s/%s/weights.safetensors", golden, cases[i]);
        if (access(path, R_OK) != 0) { /* the GPU machine may have the repository without ../shared */
            check_skip("golden case %s: %s not found (set GOLDEN)", cases[i], path);
            continue;
        }
        if (dyvm_weights_load(&w, path, err, sizeof err)) {
            check(0, "%s", err);
            continue;
        }
        run_model(cases[i], &w, 3, true);
        dyvm_weights_free(&w);
    }
    const char *presets[] = {"tiny", "vim-t", "vim-s"};
    for (int i = 0; i < 3; i++) {
        dyvm_config c;
        dyvm_weights w;
        if (dyvm_config_preset(presets[i], &c, err, sizeof err) || dyvm_weights_init(&w, &c, 1, err, sizeof err)) {
            check(0, "%s", err);
            continue;
        }
        printf("# %s preset, weights seed 1\n", presets[i]);
        run_model(presets[i], &w, 2, false);
        dyvm_weights_free(&w);
    }
    return check_summary();
}
