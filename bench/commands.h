/* The `dyvm` subcommands; each takes argv from its own name on and returns the exit status. */
#ifndef DYVM_COMMANDS_H
#define DYVM_COMMANDS_H

int cmd_run(int argc, char **argv);
int cmd_init(int argc, char **argv);
int cmd_flops(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_compare(int argc, char **argv);
int cmd_merge(int argc, char **argv);

/* dyvm merge's report: the suites replayed from loaded shards into the folder out (cmd_bench.c) */
struct dyvm_shard;
int bench_replay_shards(const struct dyvm_shard *shards, int n, const char *out);

#endif
