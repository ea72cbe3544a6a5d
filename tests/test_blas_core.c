/* The OpenBLAS core check (bench/blas_core.h): the decision on faked CPUs, core names and library versions
 * (the Xeon model 207 that OpenBLAS 0.3.21 runs as Prescott, AMD and Intel AVX2 machines, a CPU without
 * AVX, a user's OPENBLAS_CORETYPE, AVX-512 without VL, an unknown core), the core levels, the features
 * string, and the cpuid reading against /proc/cpuinfo's flags on this machine. The re-exec itself is
 * tested with the real binary in tests/test_blas_core.sh. */
#include <stdio.h>
#include <string.h>

#include "blas_core.h"
#include "check.h"

#define LIB_0321 "OpenBLAS 0.3.21 NO_LAPACKE DYNAMIC_ARCH NO_AFFINITY USE_OPENMP Prescott MAX_THREADS=64"
#define LIB_0322 "OpenBLAS 0.3.22 NO_LAPACKE DYNAMIC_ARCH NO_AFFINITY USE_OPENMP Prescott MAX_THREADS=64"

/* A faked CPU: vendor, family/model and its ISA (0 none, 1 AVX, 2 AVX2+FMA, 3 AVX-512 F/BW/DQ/VL/CD,
 * 4 that plus AVX512_BF16 and AMX-BF16). */
static dyvm_cpu_features fake(const char *vendor, int family, int model, int isa)
{
    dyvm_cpu_features f;
    memset(&f, 0, sizeof f);
    snprintf(f.vendor, sizeof f.vendor, "%s", vendor);
    f.family = family, f.model = model;
    f.avx = isa >= 1;
    f.avx2 = f.fma = isa >= 2;
    f.avx512f = f.avx512bw = f.avx512dq = f.avx512vl = f.avx512cd = isa >= 3;
    f.avx512_bf16 = f.amx_bf16 = isa >= 4;
    return f;
}

/* One decision: whether it changes and to which core. */
static void expect(const char *name, const dyvm_cpu_features *f, const char *current, const char *config,
                   const char *user, bool change, const char *core)
{
    dyvm_blas_decision d;
    dyvm_blas_decide(f, current, config, user, &d);
    check(d.change == change && !strcmp(d.core, core) && d.reason[0] && !strchr(d.reason, '\n'),
          "decide %s: change %d core %s (want %d %s): %s", name, d.change, d.core, change, core, d.reason);
}

static void decisions(void)
{
    const dyvm_cpu_features xeon207 = fake("GenuineIntel", 6, 207, 4);
    expect("Xeon model 207, Prescott, 0.3.21", &xeon207, "Prescott", LIB_0321, NULL, true, "SkylakeX");
    expect("Xeon model 207, Prescott, 0.3.22", &xeon207, "Prescott", LIB_0322, NULL, true, "Cooperlake");
    expect("Xeon model 207, Prescott, unreadable config", &xeon207, "Prescott", "something else", NULL, true,
           "SkylakeX");
    expect("Xeon model 207, user OPENBLAS_CORETYPE=Haswell", &xeon207, "Haswell", LIB_0321, "Haswell", false,
           "Haswell");
    expect("Xeon model 207, user set, Prescott detected", &xeon207, "Prescott", LIB_0321, "prescott", false,
           "Prescott");
    expect("Xeon model 207, empty OPENBLAS_CORETYPE counts as unset", &xeon207, "Prescott", LIB_0321, "", true,
           "SkylakeX");
    expect("Xeon model 207, SkylakeX already", &xeon207, "SkylakeX", LIB_0321, NULL, false, "SkylakeX");
    expect("Xeon model 207, Cooperlake already on 0.3.21", &xeon207, "Cooperlake", LIB_0321, NULL, false,
           "Cooperlake");
    const dyvm_cpu_features skx = fake("GenuineIntel", 6, 85, 3);
    expect("AVX-512, Haswell detected", &skx, "Haswell", LIB_0321, NULL, true, "SkylakeX");
    expect("AVX-512 no BF16, 0.3.22", &skx, "Haswell", LIB_0322, NULL, true, "SkylakeX");
    dyvm_cpu_features no_vl = skx;
    no_vl.avx512vl = false;
    expect("AVX-512F without VL, Prescott", &no_vl, "Prescott", LIB_0321, NULL, true, "Haswell");
    expect("AVX-512F without VL, Haswell", &no_vl, "Haswell", LIB_0321, NULL, false, "Haswell");
    const dyvm_cpu_features epyc = fake("AuthenticAMD", 25, 1, 2);
    expect("AMD AVX2, Zen detected", &epyc, "Zen", LIB_0321, NULL, false, "Zen");
    expect("AMD AVX2, Prescott detected", &epyc, "Prescott", LIB_0321, NULL, true, "Zen");
    expect("Hygon AVX2, Prescott detected", &(dyvm_cpu_features){.vendor = "HygonGenuine", .avx = 1, .avx2 = 1,
                                                                  .fma = 1}, "Prescott", LIB_0321, NULL, true, "Zen");
    const dyvm_cpu_features hsw = fake("GenuineIntel", 6, 63, 2);
    expect("Intel AVX2, Prescott detected", &hsw, "Prescott", LIB_0321, NULL, true, "Haswell");
    expect("Intel AVX2, Zen detected (same level)", &hsw, "Zen", LIB_0321, NULL, false, "Zen");
    dyvm_cpu_features avx2_no_fma = hsw;
    avx2_no_fma.fma = false;
    expect("AVX2 without FMA, Prescott", &avx2_no_fma, "Prescott", LIB_0321, NULL, true, "Sandybridge");
    const dyvm_cpu_features snb = fake("GenuineIntel", 6, 42, 1);
    expect("AVX only, Nehalem detected", &snb, "Nehalem", LIB_0321, NULL, true, "Sandybridge");
    const dyvm_cpu_features old = fake("GenuineIntel", 6, 23, 0);
    expect("no AVX, Prescott", &old, "Prescott", LIB_0321, NULL, false, "Prescott");
    expect("no AVX, Penryn", &old, "Penryn", LIB_0321, NULL, false, "Penryn");
    expect("unknown core name", &xeon207, "Zen7", LIB_0321, NULL, false, "Zen7");
    expect("core not reported", &xeon207, NULL, LIB_0321, NULL, false, "");
}

/* The exact line of the model-207 case, as the re-executed process prints it after "dyvm: ". */
static void reason_line(void)
{
    dyvm_cpu_features f = fake("GenuineIntel", 6, 207, 3);
    f.avx512_bf16 = true;
    dyvm_blas_decision d;
    dyvm_blas_decide(&f, "Prescott", LIB_0321, NULL, &d);
    const char *want = "OpenBLAS chose its Prescott kernels on this CPU (GenuineIntel family 6 model 207: AVX2 FMA "
                       "AVX-512F/BW/DQ/VL/CD AVX512_BF16); running with OPENBLAS_CORETYPE=SkylakeX instead (set "
                       "OPENBLAS_CORETYPE to choose yourself)";
    check(!strcmp(d.reason, want), "reason line: \"%s\"", d.reason);
}

static void levels(void)
{
    struct { const char *name; int level; } cases[] = {
        {"Prescott", 1}, {"prescott", 1}, {"CORE2", 1}, {"Nehalem", 1}, {"opteron_sse3", 1}, {"Atom", 1},
        {"Sandybridge", 2}, {"SANDYBRIDGE", 2}, {"Piledriver", 2}, {"excavator", 2}, {"Haswell", 3},
        {"haswell", 3}, {"Zen", 3}, {"ZEN", 3}, {"SkylakeX", 4}, {"skylakex", 4}, {"Cooperlake", 4},
        {"SapphireRapids", 4}, {"Unknown", 0}, {"Zen7", 0}, {"", 0}, {"Haswell2", 0}, {NULL, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const int got = dyvm_blas_core_level(cases[i].name);
        check(got == cases[i].level, "level of %s: %d (want %d)", cases[i].name ? cases[i].name : "NULL", got,
              cases[i].level);
    }
    dyvm_cpu_features f = fake("GenuineIntel", 6, 207, 4);
    check(!strcmp(dyvm_blas_best_core(&f, NULL), "SkylakeX"), "best core without a config: SkylakeX");
    check(!strcmp(dyvm_blas_best_core(&f, "OpenBLAS 0.4.0"), "Cooperlake"), "best core for OpenBLAS 0.4.0: Cooperlake");
    check(!strcmp(dyvm_blas_best_core(&f, "OpenBLAS 0.3.9"), "SkylakeX"), "best core for OpenBLAS 0.3.9: SkylakeX");
}

static void features_strings(void)
{
    struct { dyvm_cpu_features f; const char *want; } cases[] = {
        {fake("GenuineIntel", 6, 207, 4), "AVX2 FMA AVX-512F/BW/DQ/VL/CD AVX512_BF16 AMX-BF16"},
        {fake("GenuineIntel", 6, 85, 3), "AVX2 FMA AVX-512F/BW/DQ/VL/CD"},
        {fake("AuthenticAMD", 25, 1, 2), "AVX2 FMA"},
        {fake("GenuineIntel", 6, 42, 1), "AVX"},
        {fake("GenuineIntel", 6, 23, 0), "no AVX"},
        {{.avx = 1, .avx2 = 1, .fma = 1, .avx512f = 1, .avx512cd = 1}, "AVX2 FMA AVX-512F/CD"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char buf[160];
        dyvm_cpu_features_string(&cases[i].f, buf, sizeof buf);
        check(!strcmp(buf, cases[i].want), "features string \"%s\" (want \"%s\")", buf, cases[i].want);
    }
    char small[8];
    dyvm_cpu_features_string(&cases[0].f, small, sizeof small);
    check(strlen(small) < sizeof small, "features string truncates to the buffer: \"%s\"", small);
}

/* Whether /proc/cpuinfo's first "flags" line holds the word flag; -1 when the file cannot be read. */
static int cpuinfo_has(const char *flag)
{
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f) return -1;
    static char line[8192];
    int found = -1;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "flags", 5)) {
            found = 0;
            for (char *tok = strtok(strchr(line, ':') + 1, " \t\n"); tok; tok = strtok(NULL, " \t\n"))
                if (!strcmp(tok, flag)) found = 1;
            break;
        }
    fclose(f);
    return found;
}

static void this_machine(void)
{
    dyvm_cpu_features f;
    dyvm_cpu_features_read(&f);
    char feat[160];
    dyvm_cpu_features_string(&f, feat, sizeof feat);
    struct { const char *flag; bool have; } flags[] = {{"avx2", f.avx2}, {"fma", f.fma}, {"avx512f", f.avx512f}};
    for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++) {
        const int want = cpuinfo_has(flags[i].flag);
        if (want < 0) {
            check_skip("cpuid %s against /proc/cpuinfo: no flags line to read", flags[i].flag);
            continue;
        }
        check(want == flags[i].have, "cpuid %s = %d, /proc/cpuinfo says %d (%s family %d model %d: %s)",
              flags[i].flag, flags[i].have, want, f.vendor, f.family, f.model, feat);
    }
    /* family and model as /proc/cpuinfo shows them */
    FILE *c = fopen("/proc/cpuinfo", "r");
    int family = -1, model = -1;
    char line[512];
    while (c && fgets(line, sizeof line, c) && (family < 0 || model < 0)) {
        if (!strncmp(line, "cpu family", 10)) sscanf(strchr(line, ':') + 1, "%d", &family);
        else if (!strncmp(line, "model\t", 6)) sscanf(strchr(line, ':') + 1, "%d", &model);
    }
    if (c) fclose(c);
    check(family == f.family && model == f.model, "family %d model %d, /proc/cpuinfo says %d %d", f.family, f.model,
          family, model);
    dyvm_blas_info info;
    dyvm_blas_info_get(&info);
    check(info.core[0] && info.source[0] && dyvm_blas_core_level(info.best) > 0 && !strcmp(info.features, feat),
          "info: core %s, detected \"%s\", %s, best %s, features %s", info.core, info.detected, info.source,
          info.best, info.features);
}

int main(void)
{
    decisions();
    reason_line();
    levels();
    features_strings();
    this_machine();
    return check_summary();
}
