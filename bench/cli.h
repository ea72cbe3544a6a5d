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
/* -1 after one line on stderr when flag was already given on this command line (a flag without a value
 * calls it itself; cli_value calls it for the flags that take one). */
int cli_once(const char *flag);
/* --format of the commands that print a result */
typedef enum { CLI_FMT_MD, CLI_FMT_CSV, CLI_FMT_JSON, CLI_FMT_JSONL } cli_format;
/* md, csv, json or jsonl (the same document on one line, for JSON-lines logs); -1 after one line on stderr
 * otherwise. */
int cli_parse_format(const char *v, cli_format *out);
static inline bool cli_format_json(cli_format f) { return f == CLI_FMT_JSON || f == CLI_FMT_JSONL; }
/* Prints j and a newline: indented for json, on one line for jsonl. */
struct cJSON;
void cli_print_json(const struct cJSON *j, cli_format f);
/* A whole text file, NUL-terminated (*len without the NUL); reading stops at the first NUL byte or past max
 * bytes (not text: /dev/zero is refused at once, never read until memory runs out). NULL when it cannot be
 * read (errno says why). */
char *cli_read_text(const char *path, size_t max, size_t *len);
/* The flags `run` and `bench` share (cli_shared_flag), NULL-terminated. */
extern const char *const cli_shared_flags[];
/* The value after the flag argv[*i], or NULL after one line on stderr: not a flag ("<cmd>: unexpected
 * argument"), not one of the command's (own or more, NULL-terminated lists; both NULL: not checked), no value,
 * or the flag given twice. */
const char *cli_value(int argc, char **argv, int *i, const char *cmd, const char *const *own, const char *const *more);
/* The flags `run` and `bench` share: the model, the variant and its policies, the inputs, the backend. */
typedef struct {
    const char *weights, *preset, *variant, *block_policy, *backend, *precision, *isa, *scan;
    uint64_t weights_seed, seed;
    int64_t batch, threads;
    int64_t img_size;   /* --img-size: the model at this image size (0: its own) */
    bool have_batch, have_seed;
    bool have_block_policy, have_token; /* given explicitly: refused with a variant that would ignore them */
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
/* Loads --weights or generates --preset weights (the seed is printed by the caller), at --img-size img when
 * not 0: a preset generated at that size, loaded weights with pos_embed resized (dyvm_weights_resize). */
int cli_model(const char *weights_path, const char *preset, uint64_t weights_seed, int64_t img, dyvm_weights *w);
/* A preset's config at --img-size img (0: its own); -1 with err */
int cli_preset_config(const char *preset, int64_t img, dyvm_config *c, char *err, size_t errlen);
/* The backend named by --backend (cpu or cuda; precision fp32 or tf32 for cuda's GEMMs; the scan kernel
 * --scan chose, v1 unless told); NULL after one line on stderr ("no CUDA device: ..." where there is none). */
struct dyvm_backend *cli_backend(const char *name, const char *precision, const dyvm_weights *w);
/* 0 when forwards of batch B fit in the memory available (memplan.h); else one line on stderr giving the
 * bytes needed, and -1. */
int cli_memory_check(const dyvm_config *c, int64_t B, const char *backend, bool capture);
/* -1 after one line on stderr when out cannot be written (its folder missing or not writable, or out a
 * folder), checked before any work; 0 otherwise (and for NULL). */
int cli_out_writable(const char *out);
/* -1 after one line on stderr when out resolves to the same file as input (same device and inode), so that a
 * run would replace its own input; 0 otherwise (also when either does not exist or input is NULL). */
int cli_same_file(const char *out, const char *input, const char *flag);
/* Sets the OpenMP and OpenBLAS thread counts (0 leaves the defaults). */
void cli_threads(int64_t n);
int cli_thread_count(void);
double cli_now(void); /* monotonic seconds */

#endif
