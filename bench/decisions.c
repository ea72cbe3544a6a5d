#include "decisions.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#include "plot.h"

int dyvm_decisions_measure(dyvm_graph *g, int64_t B, const dyvm_run_opts *o, const char *heads_source, bool generated,
                           const char *weights_path, dyvm_decisions *d, char *err, size_t errlen)
{
    memset(d, 0, sizeof *d);
    dyvm_run_opts run = *o;
    run.capture = false;
    dyvm_result r;
    if (dyvm_forward(g, NULL, B, &run, &r, err, errlen)) return -1;
    d->depth = r.depth, d->batch = B;
    int64_t ran = 0;
    for (int64_t i = 0; i < r.depth; i++) {
        d->tokens[i] = r.tokens[i];
        for (int k = 0; k < 2; k++) {
            d->ran[i][k] = (double)r.branch_images[i][k] / (double)B;
            ran += r.branch_images[i][k];
        }
    }
    d->keep = (double)ran / (double)(2 * r.depth * B);
    d->selects = dyvm_variant_selects(o->variant), d->prunes = dyvm_variant_prunes(o->variant);
    d->learned_blocks = r.block_heads_ran;
    d->learned_tokens = r.predictors_ran;
    dyvm_result_free(&r);
    const bool learned = d->learned_blocks || d->learned_tokens;
    d->random_heads = generated || (heads_source && !strncmp(heads_source, "random weights", 14));
    if (!learned)
        snprintf(d->heads, sizeof d->heads, "No head decided: the policies are fixed.");
    else if (generated)
        snprintf(d->heads, sizeof d->heads, "The heads are random (%s): these decisions say nothing about a trained "
                 "model; convert a checkpoint (scripts/convert-checkpoint.py) for its own.", heads_source);
    else if (d->random_heads)
        snprintf(d->heads, sizeof d->heads, "The heads are random (%.60s, the file's metadata source: %.160s): these "
                 "decisions say nothing about a trained model.", weights_path, heads_source);
    else
        snprintf(d->heads, sizeof d->heads, "The heads are those of %.80s%s%.160s%s.", weights_path,
                 heads_source && *heads_source ? " (" : "", heads_source ? heads_source : "",
                 heads_source && *heads_source ? ")" : "");
    return 0;
}

void dyvm_decisions_markdown(FILE *f, const dyvm_decisions *d)
{
    fprintf(f, "\n### Decisions (blocks: %s; tokens: %s; batch %lld)\n\n%s\n\n",
            !d->selects ? "all run" : d->learned_blocks ? "learned" : "a fixed policy",
            !d->prunes ? "not pruned" : d->learned_tokens ? "learned" : "spread evenly", (long long)d->batch, d->heads);
    fprintf(f, "Realized block keep ratio: %.3f of the %lld branches per image.\n\n", d->keep, (long long)(2 * d->depth));
    fprintf(f, "| layer | tokens | images that ran forward | backward |\n|---:|---:|---:|---:|\n");
    for (int64_t i = 0; i < d->depth; i++)
        fprintf(f, "| %lld | %lld | %.3f | %.3f |\n", (long long)i, (long long)d->tokens[i], d->ran[i][0], d->ran[i][1]);
}

cJSON *dyvm_decisions_json(const dyvm_decisions *d)
{
    cJSON *j = cJSON_CreateObject(), *layers = cJSON_CreateArray();
    cJSON_AddNumberToObject(j, "batch", (double)d->batch);
    cJSON_AddBoolToObject(j, "learned_blocks", d->learned_blocks);
    cJSON_AddBoolToObject(j, "learned_tokens", d->learned_tokens);
    cJSON_AddBoolToObject(j, "random_heads", d->random_heads);
    cJSON_AddStringToObject(j, "heads", d->heads);
    cJSON_AddNumberToObject(j, "block_keep", d->keep);
    for (int64_t i = 0; i < d->depth; i++) {
        cJSON *l = cJSON_CreateObject();
        cJSON_AddNumberToObject(l, "layer", (double)i);
        cJSON_AddNumberToObject(l, "tokens", (double)d->tokens[i]);
        cJSON_AddNumberToObject(l, "forward", d->ran[i][0]);
        cJSON_AddNumberToObject(l, "backward", d->ran[i][1]);
        cJSON_AddItemToArray(layers, l);
    }
    cJSON_AddItemToObject(j, "layers", layers);
    return j;
}

int dyvm_decisions_write(const dyvm_decisions *d, const char *dir, const char *title, char *err, size_t errlen)
{
    char path[1024], png[1024], svg[1024], vars[1400];
    const char *ext[2] = {"dat", "csv"};
    for (int e = 0; e < 2; e++) {
        snprintf(path, sizeof path, "%s/decisions.%s", dir, ext[e]);
        FILE *f = fopen(path, "w");
        if (!f) return snprintf(err, errlen, "%s: cannot write it", path), -1;
        fprintf(f, e ? "layer,tokens,forward,backward\n" : "# layer tokens forward backward (fractions of the images)\n");
        for (int64_t i = 0; i < d->depth; i++)
            fprintf(f, e ? "%lld,%lld,%.6f,%.6f\n" : "%lld %lld %.6f %.6f\n", (long long)i, (long long)d->tokens[i],
                    d->ran[i][0], d->ran[i][1]);
        if (fclose(f)) return snprintf(err, errlen, "%s: cannot write it", path), -1;
    }
    if (!dyvm_have_gnuplot()) return snprintf(err, errlen, "gnuplot not found: no decisions plot"), -1;
    snprintf(png, sizeof png, "%s/decisions.png", dir);
    snprintf(svg, sizeof svg, "%s/decisions.svg", dir);
    snprintf(vars, sizeof vars, "data='%s/decisions.dat'; title='%s'", dir, title);
    return dyvm_plot("scripts/plots/decisions.gp", vars, png, svg, err, errlen);
}
