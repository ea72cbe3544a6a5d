/* The `dyvm` subcommands; each takes argv from its own name on and returns the exit status. */
#ifndef DYVM_COMMANDS_H
#define DYVM_COMMANDS_H

int cmd_run(int argc, char **argv);
int cmd_init(int argc, char **argv);
int cmd_flops(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_compare(int argc, char **argv);

#endif
