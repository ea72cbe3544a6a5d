/* The CPU reference against the official code's outputs (SPEC.md sections 8-9): for every case and variant
 * in $GOLDEN (default ../shared/golden), logits, features and every stored stream.{i} within rel L2 1e-4,
 * block_policy and every kept.{k} identical; score.{k} and block_logits.{i} within the same bound. All of it
 * under every ISA of the CPU kernels this CPU supports (the others are reported as skipped). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "cpu_isa.h"
#include "compare.h"
#include "graph.h"
#include "safetensors.h"

#define TOL 1e-4 /* SPEC.md section 9: CPU reference vs golden */

static int same_shape(const st_tensor *t, int ndim, const int64_t *shape)
{
    if (t->ndim != ndim) return 0;
    for (int d = 0; d < ndim; d++)
        if (t->shape[d] != shape[d]) return 0;
    return 1;
}

/* golden tensor `name` must exist with `shape`; returns its floats (copied: the file data may be unaligned) */
static float *golden_f32(const st_file *g, const char *what, const char *name, int ndim, const int64_t *shape)
{
    const st_tensor *t = st_find(g, name);
    if (!t) return check(0, "%s %s: missing in the golden file", what, name), NULL;
    if (t->dtype != ST_F32 && t->dtype != ST_I32) return check(0, "%s %s: dtype %s", what, name, st_dtype_name(t->dtype)), NULL;
    if (!same_shape(t, ndim, shape)) {
        char s[128] = "";
        for (int d = 0; d < t->ndim; d++) snprintf(s + strlen(s), sizeof s - strlen(s), "%s%lld", d ? "," : "", (long long)t->shape[d]);
        check(0, "%s %s: golden shape [%s] differs from ours", what, name, s);
        return NULL;
    }
    float *x = malloc(t->nbytes ? t->nbytes : 1);
    if (x) memcpy(x, t->data, t->nbytes);
    return x;
}

static void check_variant(const char *dir, const char *cas, dyvm_graph *g, const dyvm_weights *w, const float *images,
                          int64_t B, dyvm_variant v)
{
    char path[1024], what[128], err[512], name[256];
    snprintf(path, sizeof path, "%s/%s/%s.safetensors", dir, cas, dyvm_variant_name(v));
    snprintf(what, sizeof what, "%s/%s [%s]", cas, dyvm_variant_name(v), dyvm_isa_kernels()->name);
    st_file gf;
    if (st_open(path, &gf, err, sizeof err)) return (void)check(0, "%s: %s", what, err);
    dyvm_run_opts o = {.variant = v, .block = {.kind = BLOCK_LEARNED}, .token = TOKEN_LEARNED, .capture = true};
    dyvm_result r;
    if (dyvm_forward(g, images, B, &o, &r, err, sizeof err)) {
        check(0, "%s: forward failed: %s", what, err);
        st_close(&gf);
        return;
    }
    const int64_t D = w->cfg.D, C = w->cfg.classes;
    struct { const char *name; const float *got; int ndim; int64_t shape[3]; } outs[] = {
        {"logits", r.logits, 2, {B, C}}, {"features", r.features, 2, {B, D}}};
    const st_tensor *gl = st_find(&gf, "logits");
    if (gl && gl->ndim == 1 && gl->shape[0] == C) {
        /* The token golden files store logits as (classes): image 0's row only (a defect of the golden data,
           reported in the notes). Check that row; the features of every image are checked below. */
        outs[0].ndim = 1, outs[0].shape[0] = C, outs[0].shape[1] = 1;
        printf("NOTE %s: golden logits hold image 0 only (shape [%lld]); comparing that row\n", what, (long long)C);
    }
    for (int i = 0; i < 2; i++) {
        float *ref = golden_f32(&gf, what, outs[i].name, outs[i].ndim, outs[i].shape);
        snprintf(name, sizeof name, "%s %s", what, outs[i].name);
        if (ref) compare_check(name, outs[i].got, ref, (size_t)(outs[i].shape[0] * outs[i].shape[1]), TOL);
        free(ref);
    }
    int streams = 0;
    for (int64_t i = 0; i < w->cfg.depth; i++) {
        char key[48];
        snprintf(key, sizeof key, "stream.%lld", (long long)i);
        if (!st_find(&gf, key)) continue;
        streams++;
        const int64_t shape[3] = {B, r.stream_L[i], D};
        float *ref = golden_f32(&gf, what, key, 3, shape);
        snprintf(name, sizeof name, "%s %s", what, key);
        if (ref) compare_check(name, r.stream[i], ref, (size_t)(B * r.stream_L[i] * D), TOL);
        free(ref);
    }
    check(streams > 0, "%s: %d stream tensors compared", what, streams);
    if (dyvm_variant_selects(v)) {
        const int64_t shape[3] = {B, w->cfg.depth, 2};
        float *ref = golden_f32(&gf, what, "block_policy", 3, shape);
        if (ref) {
            size_t n = (size_t)(B * w->cfg.depth * 2), diff = 0;
            for (size_t i = 0; i < n; i++) diff += ref[i] != r.block_policy[i];
            check(diff == 0, "%s block_policy: %zu of %zu decisions differ", what, diff, n);
        }
        free(ref);
        for (int64_t i = 0; i < w->cfg.depth; i++) {
            char key[48];
            snprintf(key, sizeof key, "block_logits.%lld", (long long)i);
            float *bl = st_find(&gf, key) ? golden_f32(&gf, what, key, 2, (int64_t[]){B, 2}) : NULL;
            snprintf(name, sizeof name, "%s %s", what, key);
            if (bl) compare_check(name, r.block_logits[i], bl, (size_t)(2 * B), TOL);
            free(bl);
        }
    }
    if (dyvm_variant_prunes(v)) {
        check(r.n_stages == w->cfg.n_prune, "%s: %d pruning stages run (model has %d)", what, r.n_stages, w->cfg.n_prune);
        for (int k = 0; k < r.n_stages; k++) {
            char key[48];
            snprintf(key, sizeof key, "kept.%d", k);
            const st_tensor *t = st_find(&gf, key);
            const int64_t shape[2] = {B, r.n_keep[k]};
            snprintf(name, sizeof name, "%s %s", what, key);
            if (!t || t->dtype != ST_I32 || !same_shape(t, 2, shape)) {
                check(0, "%s: missing, not I32 or not (%lld, %lld)", name, (long long)B, (long long)r.n_keep[k]);
                continue;
            }
            int32_t *ref = malloc(t->nbytes);
            memcpy(ref, t->data, t->nbytes);
            compare_check_i32(name, r.kept[k], ref, (size_t)(B * r.n_keep[k]));
            free(ref);
            snprintf(key, sizeof key, "score.%d", k);
            float *sc = st_find(&gf, key) ? golden_f32(&gf, what, key, 2, (int64_t[]){B, r.score_n[k]}) : NULL;
            snprintf(name, sizeof name, "%s %s", what, key);
            if (sc) compare_check(name, r.score[k], sc, (size_t)(B * r.score_n[k]), TOL);
            free(sc);
        }
    }
    dyvm_result_free(&r);
    st_close(&gf);
}

static void check_case(const char *dir, const char *cas)
{
    char path[1024], err[512];
    dyvm_weights w;
    snprintf(path, sizeof path, "%s/%s/weights.safetensors", dir, cas);
    if (dyvm_weights_load(&w, path, err, sizeof err)) return (void)check(0, "%s: %s", cas, err);
    snprintf(path, sizeof path, "%s/%s/input.safetensors", dir, cas);
    st_file in;
    if (st_open(path, &in, err, sizeof err)) {
        check(0, "%s: %s", cas, err);
        dyvm_weights_free(&w);
        return;
    }
    const st_tensor *t = st_find(&in, "images");
    if (!t || t->ndim != 4 || t->dtype != ST_F32) {
        check(0, "%s: input has no F32 (B, C, H, W) images", cas);
    } else {
        const int64_t B = t->shape[0];
        float *images = malloc(t->nbytes);
        memcpy(images, t->data, t->nbytes);
        dyvm_backend *be = dyvm_cpu_backend(&w);
        dyvm_graph *g = dyvm_graph_new(be, B, err, sizeof err);
        if (!g) check(0, "%s: %s", cas, err);
        for (int v = 0; g && v < 4; v++) check_variant(dir, cas, g, &w, images, B, (dyvm_variant)v);
        dyvm_graph_free(g);
        be->destroy(be);
        free(images);
    }
    st_close(&in);
    dyvm_weights_free(&w);
}

int main(void)
{
    const char *dir = getenv("GOLDEN") ? getenv("GOLDEN") : "../shared/golden";
    const char *cases[] = {"tiny", "small", "vim-t"};
    printf("golden data: %s\n", dir);
    for (int isa = DYVM_ISA_COUNT - 1; isa >= 0; isa--) {
        const char *name = dyvm_isa_table((dyvm_isa)isa)->name;
        char err[256];
        if (dyvm_isa_select(name, err, sizeof err)) {
            check_skip("golden cases under --isa %s: %s", name, err);
            continue;
        }
        printf("# ISA %s\n", name);
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) check_case(dir, cases[i]);
    }
    return check_summary();
}
