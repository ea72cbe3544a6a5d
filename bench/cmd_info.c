/* `dyvm info`: what this build has (backends, libraries) and the CUDA device, if any. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "cuda_backend.h"
#include "blas_core.h"
#include "cpu_isa.h"
#include "env.h"

int cmd_info(int argc, char **argv)
{
    if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")))
        return puts("usage: dyvm info [--cuda | --blas-core | --isas]\n"
                    "  the build, its libraries and the CUDA device; --cuda: exit 0 only when the CUDA backend can run;\n"
                    "  --blas-core: the OpenBLAS core this process runs; --isas: the CPU kernels' ISAs this CPU\n"
                    "  supports, best first (the first is what --isa auto runs)"), 0;
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--cuda") && strcmp(argv[i], "--blas-core") && strcmp(argv[i], "--isas"))
            return cli_fail("info: unknown option \"%s\" (expected --cuda, --blas-core or --isas)", argv[i]);
    if (argc > 2) return cli_fail("info: give one of --cuda, --blas-core and --isas");
    if (argc > 1 && !strcmp(argv[1], "--isas")) {
        char list[64];
        dyvm_isa_list(list, sizeof list);
        puts(list);
        return 0;
    }
    const int cuda_only = argc > 1 && !strcmp(argv[1], "--cuda"), core_only = argc > 1 && !strcmp(argv[1], "--blas-core");
    if (core_only) { /* for scripts: the OpenBLAS core this process runs (after dyvm's choice, bench/blas_core.h) */
        dyvm_blas_info b;
        dyvm_blas_info_get(&b);
        puts(b.core);
        return 0;
    }
    char why[CLI_ERR];
    const int have = dyvm_cuda_available(why, sizeof why);
    if (cuda_only) { /* for scripts: exit 0 when the cuda backend can run */
        puts(have ? "cuda: available" : why);
        return have ? 0 : 1;
    }
    dyvm_env e;
    dyvm_env_collect(&e, "cpu", NULL);
    dyvm_env_markdown(&e, stdout);
    printf("\ncuda backend: %s\n", have ? "available" : why);
    return 0;
}
