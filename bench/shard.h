/* Suites split into shards that run anywhere (a Slurm job array), merged into the report one machine would
 * have written. `dyvm bench --suite S --shard i/n --out DIR` times the i-th of n deterministic, balanced
 * slices of the suite's configurations (the whole suite's order and seeds unchanged: each round's shuffle
 * is the unsharded one, with the other shards' configurations left out) and writes DIR/shard-i-of-n/shard.json:
 * the run's parameters, its host, environment and measured roofs, and every row it timed (with its raw
 * samples). `dyvm merge DIR... --out REPORT` loads the shards, refuses what does not belong together, and
 * replays the suites from the loaded rows: the same tables, CSV, JSON and plots as an unsharded run.
 * The rows travel as the bytes of their structs (hex), so a merge needs shards of the same commit, which it
 * checks; the JSON beside them is for people. */
#ifndef DYVM_SHARD_H
#define DYVM_SHARD_H

#include <cjson/cJSON.h>
#include <stdbool.h>

#include "env.h"
#include "peaks.h"
#include "timing.h"

#define DYVM_SHARD_SCHEMA "dyvm-shard/1"
#define DYVM_MAX_SHARDS 256

/* "i/n", 1 <= i <= n <= DYVM_MAX_SHARDS; -1 after one line on stderr otherwise */
int dyvm_shard_parse(const char *s, int *i, int *n);

/* What an unsharded run would have run: the parameters every shard of one run shares (checked by merge). */
typedef struct {
    char suite[32];
    bool quick;
    char backend[16], precision[8];
    int threads;
    uint64_t input_seed, weights_seed;
    dyvm_timing timing;
} dyvm_shard_run;

/* One loaded shard: its place, host, environment, roofs and rows (owned) */
typedef struct dyvm_shard {
    char path[1024];
    int i, n;
    char commit[64], host[64], machine[600];
    dyvm_shard_run run;
    dyvm_env env;
    dyvm_peaks peaks, cpu_peaks, peaks_end;
    bool have_cpu_peaks, have_peaks_end;
    size_t n_rows;
    struct dyvm_shard_row *rows;
} dyvm_shard;

typedef struct dyvm_shard_row {
    char suite[32];
    int call;     /* the suite's n-th timing of a set of cases (the blocks suite on a GPU has two) */
    size_t index; /* the case within that set */
    dyvm_row row;
    char stop_reason[32]; /* row.stop_reason points here */
} dyvm_shard_row;

/* The hardware a row was measured on, without the host name: CPU, cores, ISA, OpenBLAS core, GPU. */
void dyvm_machine_signature(const dyvm_env *e, char *buf, size_t len);

/* A row as shard.json holds it */
cJSON *dyvm_shard_row_json(const char *suite, int call, size_t index, const dyvm_row *r);
/* The shard document: run parameters, environment and roofs, rows (taken: the array is moved in) */
cJSON *dyvm_shard_json(int i, int n, const dyvm_shard_run *run, const dyvm_env *env, const dyvm_peaks *peaks,
                       const dyvm_peaks *cpu_peaks, const dyvm_peaks *peaks_end, cJSON *rows);
/* Loads DIR/shard.json (or a shard.json path); 0, or -1 with one line in err. */
int dyvm_shard_load(const char *path, dyvm_shard *s, char *err, size_t errlen);
void dyvm_shard_free(dyvm_shard *s);

/* The rows of every shard of a run, for the suites to replay */
typedef struct {
    const dyvm_shard *shards;
    int n;
} dyvm_shard_set;
/* The row of (suite, call, index), NULL when no shard has it */
const dyvm_shard_row *dyvm_shard_find(const dyvm_shard_set *set, const char *suite, int call, size_t index);
/* Which shard (0-based) times each of n cases: greedy, the most costly first onto the least loaded shard,
 * loads carried over from the previous calls (load[n_shards]); deterministic. */
void dyvm_shard_assign(const double *cost, size_t n, double *load, int n_shards, int *shard_of);

#endif
