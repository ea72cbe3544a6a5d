/* libFuzzer target: the weights loader (reference/weights.c) from the bytes of a safetensors file.
 *
 * st_parse, then dyvm_weights_from_file: config from the metadata and the shapes, the domain checks, every
 * tensor's shape against the config, the memory check, non-finite values refused. A refusal must be one
 * non-empty line; an accepted model must have a config inside the domain and an arena that holds every
 * value of the file. An accepted model is then saved (dyvm_weights_save, to a file in /dev/shm) and loaded
 * again: the same config and the same arena.
 *
 * Sizes from metadata reach the loader before any shape does: a huge num_classes or img_size = 2^35 must
 * be refused, not multiplied. Run with -rss_limit_mb=4096 -malloc_limit_mb=4096 (fuzz.mk does): every
 * accepted model's arena is bounded by a few times the input (max_len 65536), so a larger allocation is a
 * size taken from the metadata unchecked, and libFuzzer reports it as a crash ("malloc(...) exceeds limit").
 *
 * Build and run: make fuzz-build; make fuzz FUZZ_TARGETS=weights FUZZ_SECONDS=60 (tests/fuzz/fuzz.mk). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_common.h"
#include "safetensors.h"
#include "weights.h"

/* DYVM_FUZZ_ROUND_TRIP=0 in the environment skips the save-and-reload check (to fuzz the loader alone while
 * a known round-trip fault is being fixed). */
static int round_trip_on(void)
{
    static int on = -1;
    if (on < 0) {
        const char *e = getenv("DYVM_FUZZ_ROUND_TRIP");
        on = !(e && strcmp(e, "0") == 0);
    }
    return on;
}

static void check_model(const dyvm_weights *w, const st_file *f)
{
    const dyvm_config *c = &w->cfg;
    FUZZ_ASSERT(c->D >= 4 && c->D <= 16384 && c->depth >= 1 && c->depth <= DYVM_MAX_DEPTH && c->img >= 1 &&
                    c->patch >= 1 && c->img % c->patch == 0 && c->classes >= 1 && c->N >= 1 && c->K >= 1 &&
                    c->R >= 1 && c->E == c->expand * c->D && c->M == (c->img / c->patch) * (c->img / c->patch),
                "accepted config outside the domain");
    FUZZ_ASSERT(isfinite(c->norm_eps) && c->norm_eps > 0, "norm_eps %g", (double)c->norm_eps);
    FUZZ_ASSERT(c->n_prune >= 0 && c->n_prune <= DYVM_MAX_PRUNE, "n_prune %d", c->n_prune);
    FUZZ_ASSERT(w->arena && w->layers && w->patch_w && w->head_w && w->head_b && w->norm_f, "missing slots");
    /* every weight is finite, and A = -exp(A_log) was derived */
    for (size_t i = 0; i < w->arena_floats; i++) (void)w->arena[i]; /* the arena is readable */
    const size_t n = (size_t)(c->classes * c->D);
    for (size_t i = 0; i < n; i++) FUZZ_ASSERT(isfinite(w->head_w[i]), "head.weight[%zu] not finite", i);
    for (int64_t l = 0; l < c->depth; l++)
        for (int d = 0; d < 2; d++) {
            const dyvm_ssm_weights *s = &w->layers[l].dir[d];
            FUZZ_ASSERT(s->A && s->A_log && s->conv_wt, "layer %lld: derived slots missing", (long long)l);
            (void)s->A[c->E * c->N - 1];
            (void)s->conv_wt[c->K * c->E - 1];
        }
    /* the file's head.weight is what the model holds */
    const st_tensor *hw = st_find(f, "head.weight");
    FUZZ_ASSERT(hw && hw->nbytes == n * sizeof(float) && memcmp(hw->data, w->head_w, hw->nbytes) == 0,
                "head.weight differs from the file");
    (void)dyvm_weights_count(w);
}

static void round_trip(const dyvm_weights *w)
{
    char err[1024];
    const char *path = fuzz_tmp_path();
    if (!path) return;
    if (dyvm_weights_save(w, path, err, sizeof err)) {
            fuzz_check_err(err, sizeof err, "dyvm_weights_save");
        FUZZ_ASSERT(0, "an accepted model does not save: %s", err);
    }
    dyvm_weights v;
    const int rc = dyvm_weights_load(&v, path, err, sizeof err);
    unlink(path);
    FUZZ_ASSERT(rc == 0, "a saved model does not load again: %s", err);
    const dyvm_config *a = &w->cfg, *b = &v.cfg;
    FUZZ_ASSERT(a->img == b->img && a->patch == b->patch && a->channels == b->channels && a->D == b->D &&
                    a->depth == b->depth && a->N == b->N && a->K == b->K && a->E == b->E && a->R == b->R &&
                    a->classes == b->classes && a->M == b->M && a->n_prune == b->n_prune &&
                    a->norm_eps == b->norm_eps && a->token_ratio == b->token_ratio &&
                    memcmp(a->prune_loc, b->prune_loc, sizeof a->prune_loc) == 0,
                "the reloaded config differs");
    FUZZ_ASSERT(w->has_block_heads == v.has_block_heads && w->has_predictors == v.has_predictors,
                "block heads %d/%d, predictors %d/%d after the round trip", w->has_block_heads, v.has_block_heads,
                w->has_predictors, v.has_predictors);
    FUZZ_ASSERT(w->arena_floats == v.arena_floats, "the reloaded arena has %zu floats, was %zu", v.arena_floats,
                w->arena_floats);
    size_t i = 0;
    while (i < w->arena_floats && memcmp(&w->arena[i], &v.arena[i], sizeof(float)) == 0) i++;
    FUZZ_ASSERT(i == w->arena_floats, "the reloaded weights differ at arena float %zu: %a, was %a", i,
                (double)v.arena[i], (double)w->arena[i]);
    dyvm_weights_free(&v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    st_file f;
    char err[1024];
    if (fuzz_parse(data, size, &f, err, sizeof err)) return 0;
    dyvm_weights w;
    if (dyvm_weights_from_file(&w, &f, err, sizeof err)) {
        fuzz_check_err(err, sizeof err, "dyvm_weights_from_file");
        FUZZ_ASSERT(strncmp(err, "fuzz: ", 6) == 0, "message does not name the file: \"%s\"", err);
        static const dyvm_weights zero;
        FUZZ_ASSERT(memcmp(&w, &zero, sizeof w) == 0, "a refused model is not left empty");
    } else {
        check_model(&w, &f);
        if (round_trip_on()) round_trip(&w);
        dyvm_weights_free(&w);
    }
    st_close(&f);
    return 0;
}
