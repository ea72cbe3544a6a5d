/* dyvm: the command-line entry point. */
#include <stdio.h>
#include <string.h>

#include "atomic_file.h"
#include "cli.h"
#include "commands.h"

static const char usage[] =
    "usage: dyvm <command> [options]\n"
    "  run    one forward pass of vim|token|block|dyvm (see dyvm run --help)\n"
    "  bench  time a configuration, or run the suites into reports/ (see dyvm bench --help)\n"
    "  flops  FLOPs and bytes per stage, paper and full conventions; --table paper (see dyvm flops --help)\n"
    "  init   write seeded preset weights to a safetensors file (see dyvm init --help)\n"
    "  compare  two reports (JSON files or report folders): change per configuration, 95 % interval, p-value\n"
    "  merge  shards of a suite (dyvm bench --suite S --shard i/n) into one report (see dyvm merge --help)\n"
    "  info   the build, its libraries and the CUDA device (--cuda: exit 0 only when one can run;\n"
    "         --blas-core: the OpenBLAS core in use)\n";

int main(int argc, char **argv)
{
    dyvm_afile_install_handlers(); /* an interrupted write leaves the previous file, and no temporary one */
    if (argc < 2) return cli_fail("no command (expected run, bench, flops, init, compare, merge or info; see dyvm --help)");
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) return fputs(usage, stdout), 0;
    if (!strcmp(argv[1], "run")) return cmd_run(argc - 1, argv + 1);
    if (!strcmp(argv[1], "init")) return cmd_init(argc - 1, argv + 1);
    if (!strcmp(argv[1], "flops")) return cmd_flops(argc - 1, argv + 1);
    if (!strcmp(argv[1], "bench")) return cmd_bench(argc - 1, argv + 1);
    if (!strcmp(argv[1], "info")) return cmd_info(argc - 1, argv + 1);
    if (!strcmp(argv[1], "compare")) return cmd_compare(argc - 1, argv + 1);
    if (!strcmp(argv[1], "merge")) return cmd_merge(argc - 1, argv + 1);
    return cli_fail("unknown command \"%s\" (expected run, bench, flops, init, compare, merge or info; see dyvm --help)", argv[1]);
}
