/* `dyvm init`: seeded preset weights with the official initialisation, saved as safetensors. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "commands.h"

static const char init_usage[] =
    "usage: dyvm init --preset vim-t|vim-s|vim-b|tiny [--weights-seed S] [--token-ratio R] --out W.safetensors\n";

int cmd_init(int argc, char **argv)
{
    const char *preset = NULL, *out = NULL;
    uint64_t seed = 1;
    double ratio = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) return fputs(init_usage, stdout), 0;
        static const char *const own[] = {"--preset", "--out", "--weights-seed", "--token-ratio", NULL};
        if (!(v = cli_value(argc, argv, &i, "init", own, NULL))) return 2;
        if (!strcmp(a, "--preset")) preset = v;
        else if (!strcmp(a, "--out")) out = v;
        else if (!strcmp(a, "--weights-seed")) {
            if (cli_u64(a, v, &seed)) return 2;
        } else if (!strcmp(a, "--token-ratio")) {
            if (cli_double(a, v, 1e-9, 1.0, &ratio)) return 2;
        } else
            return cli_fail("init: unknown option \"%s\" (see dyvm init --help)", a);
    }
    if (!preset || !out) return cli_fail("init: --preset and --out are required");
    if (cli_out_writable(out)) return 2;
    dyvm_weights w;
    char err[CLI_ERR];
    if (cli_model(NULL, preset, seed, 0, &w)) return 2;
    int rc = 0;
    if (ratio > 0 && dyvm_config_set_token_ratio(&w.cfg, ratio, err, sizeof err)) rc = cli_fail("%s", err);
    else if (dyvm_weights_save(&w, out, err, sizeof err)) rc = cli_fail("%s", err);
    else printf("wrote %s (%s, weights seed %llu, %zu parameters)\n", out, preset, (unsigned long long)seed,
                dyvm_weights_count(&w));
    dyvm_weights_free(&w);
    return rc;
}
