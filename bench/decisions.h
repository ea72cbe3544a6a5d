/* The decisions one configuration realizes: per layer, the tokens in the sequence and the fraction of the
 * batch's images that ran each direction's SSM branch, from one untimed forward of the benchmark's own
 * input; and where the heads that decided came from (a trained checkpoint, or random preset weights whose
 * decisions say nothing about a trained model). For `dyvm bench` on one configuration: a Markdown section,
 * a JSON object, and with --out a table and a plot (layer against the fraction that ran each direction). */
#ifndef DYVM_DECISIONS_H
#define DYVM_DECISIONS_H

#include <stdbool.h>
#include <stdio.h>

#include "graph.h"

struct cJSON;

typedef struct {
    int64_t depth, batch;
    int64_t tokens[DYVM_MAX_DEPTH]; /* class token included */
    double ran[DYVM_MAX_DEPTH][2];  /* fraction of the images that ran the forward / backward branch */
    double keep;                    /* branches run per image / (2 depth) */
    bool selects, prunes, learned_blocks, learned_tokens, random_heads;
    char heads[512];                /* where the heads came from, one sentence */
} dyvm_decisions;

/* One forward of g on the images it holds (uploaded by the timing) with opts o; fills d. heads_source: the
 * weights' source (dyvm_weights.source), generated: whether they were generated in this process. */
int dyvm_decisions_measure(dyvm_graph *g, int64_t B, const dyvm_run_opts *o, const char *heads_source, bool generated,
                           const char *weights_path, dyvm_decisions *d, char *err, size_t errlen);
void dyvm_decisions_markdown(FILE *f, const dyvm_decisions *d);
struct cJSON *dyvm_decisions_json(const dyvm_decisions *d);
/* dir/decisions.dat, .csv, .png and .svg (scripts/plots/decisions.gp); 0, or -1 with err */
int dyvm_decisions_write(const dyvm_decisions *d, const char *dir, const char *title, char *err, size_t errlen);

#endif
