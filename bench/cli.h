/* Shared pieces of the `dyvm` subcommands: strict number parsing, the model source (--preset or
 * --weights), and the one-line error convention. */
#ifndef DYVM_CLI_H
#define DYVM_CLI_H

#include <stdbool.h>
#include <stdint.h>

#include "graph.h"
#include "weights.h"

#define CLI_ERR 512

/* Prints "dyvm: <message>" on stderr (one line) and returns 2. */
__attribute__((format(printf, 1, 2))) int cli_fail(const char *fmt, ...);
int cli_int(const char *flag, const char *s, int64_t lo, int64_t hi, int64_t *out);
int cli_double(const char *flag, const char *s, double lo, double hi, double *out);
int cli_u64(const char *flag, const char *s, uint64_t *out);
/* The value after argv[*i] or an error naming the flag. */
const char *cli_value(int argc, char **argv, int *i);
/* The flags `run` and `bench` share: the model, the variant and its policies, the inputs, the backend. */
typedef struct {
    const char *weights, *preset, *variant, *block_policy, *backend, *precision;
    uint64_t weights_seed, seed;
    int64_t batch, threads;
    bool have_batch, have_seed;
    dyvm_run_opts opts; /* token policy and ratio here; variant and block policy by cli_shared_finish */
} cli_shared;

/* Defaults: weights seed 1, input seed 0, batch 1, backend cpu, learned policies, variant `variant`. */
void cli_shared_init(cli_shared *c, const char *variant);
/* Takes flag a with value v when it is a shared one: 1 taken, 0 not one of them, -1 bad value (printed). */
int cli_shared_flag(cli_shared *c, const char *a, const char *v);
/* Checks and parses what needs all the flags: variant, block policy (seeded by --seed), backend. */
int cli_shared_finish(cli_shared *c, const char *cmd);
/* N(0, 1) images (B, C, H, W) from a seed; NULL after one line on stderr. */
float *cli_random_images(const dyvm_config *c, int64_t B, uint64_t seed);
/* Loads --weights or generates --preset weights (the seed is printed by the caller). */
int cli_model(const char *weights_path, const char *preset, uint64_t weights_seed, dyvm_weights *w);
/* The backend named by --backend (cpu or cuda; precision fp32 or tf32 for cuda's GEMMs); NULL after one
 * line on stderr ("no CUDA device: ..." where there is none). */
struct dyvm_backend *cli_backend(const char *name, const char *precision, const dyvm_weights *w);
/* Sets the OpenMP and OpenBLAS thread counts (0 leaves the defaults). */
void cli_threads(int64_t n);
int cli_thread_count(void);
double cli_now(void); /* monotonic seconds */

#endif
