/* `dyvm run`: one forward pass of a variant (SPEC.md section 7), results to a safetensors file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "graph.h"
#include "dyvm_papi.h"
#include "images.h"
#include "safetensors.h"

static const char run_usage[] =
    "usage: dyvm run (--weights W.safetensors | --preset vim-t|vim-s|vim-b|tiny [--weights-seed S])\n"
    "                (--input X.safetensors | [--batch B] [--seed S]) --variant vim|token|block|dyvm\n"
    "                [--out O.safetensors] [--backend cpu|cuda] [--precision fp32|tf32] [--block-policy P]\n"
    "                [--token-policy learned|even] [--token-ratio R] [--threads N] [--repeat N]\n"
    "                [--isa auto|avx512|avx2|scalar] [--scan v1|v2] [--img-size N] [--capture] [--profile] [--papi]\n"
    "  --isa           the CPU kernels: auto (default) runs the widest this CPU supports (dyvm info --isas);\n"
    "                  avx512emu runs the 16-wide AVX-512 code on AVX2 + FMA: the bits --isa avx512 must give\n"
    "  --scan          the CUDA scan kernel: v1 (default, one direction per launch) or v2 (both directions fused)\n"
    "  --block-policy  learned (default), all, none, ratio:R (seeded by --seed), count:K\n"
    "  --capture       also write stream.{i} (h + r after layer i), score.{k}, block_logits.{i}\n"
    "  --repeat N      time N forwards and print the median latency (the output is from the last)\n"
    "  --profile       for Nsight: 3 warm-up forwards, then exactly one inside the NVTX range \"profiled\"\n"
    "                  (domain dyvm) that scripts/profile-nsys.sh and profile-ncu.sh capture\n"
    "  --papi          read PAPI events over the timed forwards: the executed work (sde:::dyvm::macs, ...)\n"
    "                  and PAPI_TOT_CYC, PAPI_TOT_INS, PAPI_SP_OPS where the machine has them, else n/a: why\n";

static int write_result(const char *path, const dyvm_result *res, const dyvm_run_opts *o, const char *policy)
{
    char err[CLI_ERR], names[3][64][32];
    st_writer *w = st_writer_new();
    if (!w) return cli_fail("out of memory"), -1;
    const int64_t B = res->B;
    st_writer_add(w, "logits", ST_F32, 2, (int64_t[]){B, res->classes}, res->logits);
    st_writer_add(w, "features", ST_F32, 2, (int64_t[]){B, res->D}, res->features);
    if (res->block_policy) st_writer_add(w, "block_policy", ST_F32, 3, (int64_t[]){B, res->depth, 2}, res->block_policy);
    for (int k = 0; k < res->n_stages; k++) {
        snprintf(names[0][k], sizeof names[0][k], "kept.%d", k);
        st_writer_add(w, names[0][k], ST_I32, 2, (int64_t[]){B, res->n_keep[k]}, res->kept[k]);
        if (res->score[k]) {
            snprintf(names[1][k], sizeof names[1][k], "score.%d", k);
            st_writer_add(w, names[1][k], ST_F32, 2, (int64_t[]){B, res->score_n[k]}, res->score[k]);
        }
    }
    for (int64_t i = 0; o->capture && i < res->depth && i < 64; i++) {
        snprintf(names[2][i], sizeof names[2][i], "stream.%lld", (long long)i);
        st_writer_add(w, names[2][i], ST_F32, 3, (int64_t[]){B, res->stream_L[i], res->D}, res->stream[i]);
    }
    char bl[64][32];
    for (int64_t i = 0; o->capture && res->block_logits && i < res->depth && i < 64; i++)
        if (res->block_logits[i]) {
            snprintf(bl[i], sizeof bl[i], "block_logits.%lld", (long long)i);
            st_writer_add(w, bl[i], ST_F32, 2, (int64_t[]){B, 2}, res->block_logits[i]);
        }
    st_writer_meta(w, "variant", dyvm_variant_name(o->variant));
    st_writer_meta(w, "block_policy", policy);
    st_writer_meta(w, "token_policy", o->token == TOKEN_LEARNED ? "learned" : "even");
    int rc = st_writer_save(w, path, err, sizeof err);
    st_writer_free(w);
    return rc ? (cli_fail("%s", err), -1) : 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int cmd_run(int argc, char **argv)
{
    const char *input = NULL, *out = NULL;
    int64_t repeat = 1;
    bool papi = false, profile = false;
    cli_shared c;
    cli_shared_init(&c, NULL);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) return fputs(run_usage, stdout), 0;
        if (!strcmp(a, "--capture") || !strcmp(a, "--profile") || !strcmp(a, "--papi")) {
            if (cli_once(a)) return 2;
            *(!strcmp(a, "--capture") ? &c.opts.capture : !strcmp(a, "--profile") ? &profile : &papi) = true;
            continue;
        }
        static const char *const own[] = {"--input", "--out", "--repeat", NULL};
        if (!(v = cli_value(argc, argv, &i, "run", own, cli_shared_flags))) return 2;
        const int shared = cli_shared_flag(&c, a, v);
        if (shared < 0) return 2;
        if (shared) continue;
        if (!strcmp(a, "--input")) input = v;
        else if (!strcmp(a, "--out")) out = v;
        else if (!strcmp(a, "--repeat")) {
            if (cli_int(a, v, 1, 100000, &repeat)) return 2;
        } else
            return cli_fail("run: unknown option \"%s\" (see dyvm run --help)", a);
    }
    if (cli_shared_finish(&c, "run")) return 2;
    if (!c.weights && !c.preset) return cli_fail("run: give --weights W.safetensors or --preset vim-t|vim-s|vim-b|tiny");
    if (input && (c.have_batch || c.have_seed)) return cli_fail("run: --batch and --seed make random inputs; not with --input");
    const dyvm_run_opts o = c.opts;
    int64_t batch = c.batch; /* from the input file when there is one */
    char err[CLI_ERR];

    /* an output onto one of the inputs would replace it with the result */
    if (out && (cli_same_file(out, input, "--input") || cli_same_file(out, c.weights, "--weights") ||
                cli_out_writable(out)))
        return 2;
    dyvm_config pc; /* a preset's plan is known before its weights are generated */
    if (c.preset && !input && !cli_preset_config(c.preset, c.img_size, &pc, err, sizeof err) &&
        cli_memory_check(&pc, batch, c.backend, o.capture))
        return 2;
    dyvm_weights w;
    if (cli_model(c.weights, c.preset, c.weights_seed, c.img_size, &w)) return 2;
    int rc = 2;
    dyvm_papi_session ps = {0};
    st_file in = {0};
    const st_tensor *it = NULL;
    float *images = NULL;
    /* the batch (from the input file's header, or --batch), then the memory plan, before any work */
    if (input && st_open(input, &in, err, sizeof err)) cli_fail("%s", err);
    else if (input && !(it = dyvm_images_find(&in, &w.cfg, &batch, err, sizeof err))) cli_fail("%s", err);
    else if (!cli_memory_check(&w.cfg, batch, c.backend, o.capture))
        images = input ? dyvm_images_copy(it) : cli_random_images(&w.cfg, batch, c.seed);
    if (input && it && !images) cli_fail("%s: out of memory", input);
    st_close(&in);
    dyvm_backend *be = images ? cli_backend(c.backend, c.precision, &w) : NULL;
    dyvm_graph *g = be ? dyvm_graph_new(be, batch, err, sizeof err) : NULL;
    double *ms = calloc((size_t)repeat, sizeof *ms);
    if (!images || !be || !g || !ms) {
        if (be && !g) cli_fail("%s", err);
        goto done;
    }
    char desc[256];
    printf("model %s", dyvm_config_describe(&w.cfg, desc, sizeof desc));
    if (c.weights) printf(" (from %s)\n", c.weights);
    else printf(" (weights seed %llu)\n", (unsigned long long)c.weights_seed);
    printf("variant %s, block policy %s, token policy %s, backend %s, batch %lld%s, threads %d\n", c.variant, c.block_policy,
           o.token == TOKEN_LEARNED ? "learned" : "even", be->name, (long long)batch, input ? "" : " (random input)",
           cli_thread_count());
    if (!input) printf("input seed %llu\n", (unsigned long long)c.seed);
    dyvm_result res = {0};
    dyvm_graph_upload(g, images, batch); /* resident input: the timer covers the forward alone */
    for (int r = 0; profile && r < 3; r++) { /* warm-up outside the profiled range */
        if (dyvm_forward(g, NULL, batch, &o, &res, err, sizeof err)) {
            cli_fail("%s", err);
            goto done;
        }
        dyvm_result_free(&res);
    }
    if (profile) repeat = 1;
    if (papi) dyvm_papi_start(&ps);
    for (int64_t r = 0; r < repeat; r++) {
        if (r) dyvm_result_free(&res);
        if (profile) dyvm_trace_push("profiled");
        double t0 = cli_now();
        int failed = dyvm_forward(g, NULL, batch, &o, &res, err, sizeof err);
        ms[r] = 1e3 * (cli_now() - t0);
        if (profile) dyvm_trace_pop();
        if (failed) {
            cli_fail("%s", err);
            goto done;
        }
        dyvm_papi_publish(&res.work);
    }
    dyvm_papi_stop(&ps);
    if (dyvm_result_check_finite(&res, err, sizeof err)) {
        cli_fail("%s", err);
        dyvm_result_free(&res);
        goto done;
    }
    qsort(ms, (size_t)repeat, sizeof *ms, cmp_double);
    printf("tokens per layer:");
    for (int64_t i = 0; i < w.cfg.depth; i++)
        if (i == 0 || res.tokens[i] != res.tokens[i - 1]) printf(" %lld@%lld", (long long)res.tokens[i], (long long)i);
    printf("\nSSM branches run: %lld of %lld (%.3f)\n", (long long)res.branches_run,
           (long long)(batch * 2 * w.cfg.depth), (double)res.branches_run / (double)(batch * 2 * w.cfg.depth));
    printf("forward: median %.2f ms, min %.2f ms over %lld run(s)\n", ms[(repeat - 1) / 2], ms[0], (long long)repeat);
    for (int64_t b = 0; b < batch && b < 4; b++) {
        int64_t best = 0;
        for (int64_t k = 1; k < w.cfg.classes; k++)
            if (res.logits[b * w.cfg.classes + k] > res.logits[b * w.cfg.classes + best]) best = k;
        printf("image %lld: top-1 class %lld (logit %.4f)\n", (long long)b, (long long)best,
               (double)res.logits[b * w.cfg.classes + best]);
    }
    rc = out ? (write_result(out, &res, &o, c.block_policy) ? 2 : 0) : 0;
    if (!rc && out) printf("wrote %s\n", out);
    if (papi) {
        printf("PAPI events over the %lld timed forward(s):\n", (long long)repeat);
        dyvm_papi_print(&ps, stdout);
    }
    dyvm_result_free(&res);
done:
    dyvm_papi_stop(&ps);
    free(ms);
    dyvm_graph_free(g);
    if (be) be->destroy(be);
    free(images);
    dyvm_weights_free(&w);
    return rc;
}
