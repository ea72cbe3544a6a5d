/* Shared pieces of the `dyvm` subcommands: strict number parsing, the model source (--preset or
 * --weights), and the one-line error convention. */
#ifndef DYVM_CLI_H
#define DYVM_CLI_H

#include <stdbool.h>
#include <stdint.h>

#include "weights.h"

#define CLI_ERR 512

/* Prints "dyvm: <message>" on stderr (one line) and returns 2. */
__attribute__((format(printf, 1, 2))) int cli_fail(const char *fmt, ...);
int cli_int(const char *flag, const char *s, int64_t lo, int64_t hi, int64_t *out);
int cli_double(const char *flag, const char *s, double lo, double hi, double *out);
int cli_u64(const char *flag, const char *s, uint64_t *out);
/* The value after argv[*i] or an error naming the flag. */
const char *cli_value(int argc, char **argv, int *i);
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
