/* dyvm merge DIR... --out REPORT [--allow-mixed]: the shards of one sharded suite run (shard.h) into the
 * report an unsharded run writes. Refused, with one line: shards of different suites, run flags, commits or
 * schema versions, a shard given twice or missing (named), and shards from different machines unless
 * --allow-mixed (every row names its host either way). */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "commands.h"
#include "shard.h"

static const char merge_usage[] =
    "usage: dyvm merge DIR... --out REPORT [--allow-mixed]\n"
    "  DIR: a shard folder written by dyvm bench --suite S --shard i/n --out ROOT (ROOT/shard-i-of-n), or its\n"
    "  shard.json. Every shard of the run, once each; REPORT: the report folder to write (must not exist).\n"
    "  --allow-mixed: merge shards timed on different machines (CPU, cores, ISA, OpenBLAS core or GPU differ).\n";

/* the first run parameter two shards disagree on, NULL when none */
static const char *run_difference(const dyvm_shard_run *a, const dyvm_shard_run *b)
{
    if (strcmp(a->suite, b->suite)) return "suite";
    if (a->quick != b->quick) return "--quick";
    if (strcmp(a->backend, b->backend)) return "--backend";
    if (strcmp(a->precision, b->precision)) return "--precision";
    if (a->threads != b->threads) return "--threads";
    if (a->input_seed != b->input_seed) return "--seed";
    if (a->weights_seed != b->weights_seed) return "--weights-seed";
    if (memcmp(&a->timing, &b->timing, sizeof a->timing)) return "the timing flags (--rounds, --order-seed, --min-time, ...)";
    return NULL;
}

static int check_shards(const dyvm_shard *s, int n, bool allow_mixed)
{
    const dyvm_shard *f = &s[0];
    for (int k = 1; k < n; k++) {
        const char *d = run_difference(&f->run, &s[k].run);
        if (d) return cli_fail("merge: %s and %s are shards of different runs: %s differs", f->path, s[k].path, d);
        if (strcmp(f->commit, s[k].commit))
            return cli_fail("merge: %s and %s come from different commits (%s, %s)", f->path, s[k].path, f->commit, s[k].commit);
        if (s[k].n != f->n)
            return cli_fail("merge: %s is one of %d shards, %s one of %d", f->path, f->n, s[k].path, s[k].n);
    }
    const dyvm_shard *at[DYVM_MAX_SHARDS + 1] = {0};
    for (int k = 0; k < n; k++) {
        if (at[s[k].i]) return cli_fail("merge: shard %d/%d given twice: %s and %s", s[k].i, f->n, at[s[k].i]->path, s[k].path);
        at[s[k].i] = &s[k];
    }
    char missing[512] = "";
    int n_missing = 0;
    for (int i = 1; i <= f->n; i++)
        if (!at[i]) {
            const size_t len = strlen(missing);
            if (len < sizeof missing - 16) snprintf(missing + len, sizeof missing - len, "%s%d/%d", n_missing ? ", " : "", i, f->n);
            n_missing++;
        }
    if (n_missing) return cli_fail("merge: missing shard%s %s of the %d", n_missing > 1 ? "s" : "", missing, f->n);
    for (int k = 1; k < n && !allow_mixed; k++)
        if (strcmp(f->machine, s[k].machine))
            return cli_fail("merge: the shards ran on different machines (%s: %s; %s: %s): give --allow-mixed to merge "
                            "them anyway (every row names its host)", f->host, f->machine, s[k].host, s[k].machine);
    return 0;
}

int cmd_merge(int argc, char **argv)
{
    const char *out = NULL, *dirs[DYVM_MAX_SHARDS];
    int n = 0;
    bool allow_mixed = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) return fputs(merge_usage, stdout), 0;
        if (!strcmp(a, "--allow-mixed")) {
            if (cli_once(a)) return 2;
            allow_mixed = true;
        } else if (!strcmp(a, "--out")) {
            static const char *const own[] = {"--out", NULL};
            if (!(out = cli_value(argc, argv, &i, "merge", own, NULL))) return 2;
        } else if (a[0] == '-' && a[1]) {
            return cli_fail("merge: unknown option \"%s\" (see dyvm merge --help)", a);
        } else {
            if (n == DYVM_MAX_SHARDS) return cli_fail("merge: more than %d shards", DYVM_MAX_SHARDS);
            dirs[n++] = a;
        }
    }
    if (!n) return cli_fail("merge: no shard given (usage: dyvm merge DIR... --out REPORT [--allow-mixed])");
    if (!out) return cli_fail("merge: --out REPORT is required (the report folder to write)");
    struct stat st;
    if (!stat(out, &st)) return cli_fail("merge: --out %s exists (a merge writes a new report folder)", out);
    dyvm_shard *shards = calloc((size_t)n, sizeof *shards);
    if (!shards) return cli_fail("out of memory");
    int rc = 0, loaded = 0;
    char err[CLI_ERR];
    for (; loaded < n && !rc; loaded++)
        if (dyvm_shard_load(dirs[loaded], &shards[loaded], err, sizeof err)) rc = cli_fail("merge: %s", err);
    if (!rc) rc = check_shards(shards, n, allow_mixed) ? 2 : 0;
    if (!rc) {
        fprintf(stderr, "== merging %d shards of `dyvm bench --suite %s%s` (commit %s) into %s\n", n, shards[0].run.suite,
                shards[0].run.quick ? " --quick" : "", shards[0].commit, out);
        rc = bench_replay_shards(shards, n, out);
    }
    for (int k = 0; k < loaded; k++) dyvm_shard_free(&shards[k]);
    free(shards);
    return rc ? 2 : 0;
}
