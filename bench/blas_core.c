/* The OpenBLAS core check (blas_core.h): cpuid features, the decision, and the re-exec before main. */
#include "blas_core.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#define DYVM_X86 1
#endif

char *openblas_get_config(void);
char *openblas_get_corename(void);

#ifdef DYVM_X86
/* XCR0, the register state the OS saves on a context switch; only valid when cpuid says OSXSAVE. Inline
 * assembly rather than _xgetbv so that no -mxsave is needed. */
static unsigned long long xcr0(void)
{
    unsigned int lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((unsigned long long)hi << 32) | lo;
}

/* Vendor, family and model from leaves 0 and 1, computed the way Linux does for /proc/cpuinfo. */
static void read_identity(dyvm_cpu_features *f, unsigned int eax1)
{
    unsigned int a, b, c, d;
    if (__get_cpuid(0, &a, &b, &c, &d)) {
        memcpy(f->vendor, &b, 4);
        memcpy(f->vendor + 4, &d, 4);
        memcpy(f->vendor + 8, &c, 4);
        f->vendor[12] = 0;
    }
    f->family = (int)((eax1 >> 8) & 0xf);
    f->model = (int)((eax1 >> 4) & 0xf);
    if (f->family == 0xf) f->family += (int)((eax1 >> 20) & 0xff);
    if (f->family >= 6) f->model += (int)(((eax1 >> 16) & 0xf) << 4);
}

void dyvm_cpu_features_read(dyvm_cpu_features *f)
{
    memset(f, 0, sizeof *f);
    snprintf(f->vendor, sizeof f->vendor, "unknown");
    unsigned int a1, b1, c1, d1;
    if (!__get_cpuid(1, &a1, &b1, &c1, &d1)) return;
    read_identity(f, a1);
    /* leaf 1 ECX: bit 12 FMA, 27 OSXSAVE, 28 AVX; XCR0 bits 1,2 SSE+YMM, 5,6,7 opmask+ZMM, 17,18 tiles */
    const unsigned long long x = (c1 >> 27 & 1) ? xcr0() : 0;
    const bool ymm = (x & 0x6) == 0x6, zmm = ymm && (x & 0xe0) == 0xe0, tiles = (x & 0x60000) == 0x60000;
    f->avx = ymm && (c1 >> 28 & 1);
    f->fma = f->avx && (c1 >> 12 & 1);
    unsigned int a7 = 0, b7 = 0, c7 = 0, d7 = 0;
    if (!__get_cpuid_count(7, 0, &a7, &b7, &c7, &d7)) return;
    /* leaf 7.0 EBX: 5 AVX2, 16 F, 17 DQ, 28 CD, 30 BW, 31 VL; EDX: 22 AMX-BF16 */
    f->avx2 = f->avx && (b7 >> 5 & 1);
    f->avx512f = zmm && (b7 >> 16 & 1);
    f->avx512dq = f->avx512f && (b7 >> 17 & 1);
    f->avx512cd = f->avx512f && (b7 >> 28 & 1);
    f->avx512bw = f->avx512f && (b7 >> 30 & 1);
    f->avx512vl = f->avx512f && (b7 >> 31 & 1);
    f->amx_bf16 = tiles && (d7 >> 22 & 1);
    /* leaf 7.1 EAX bit 5: AVX512_BF16; subleaf 1 exists when leaf 7.0 EAX (the last subleaf) is >= 1 */
    unsigned int a71 = 0, b71, c71, d71;
    if (a7 >= 1 && __get_cpuid_count(7, 1, &a71, &b71, &c71, &d71)) f->avx512_bf16 = f->avx512f && (a71 >> 5 & 1);
}
#else
/* Not x86: no cpuid, no x86 feature; the decision then never changes anything. */
void dyvm_cpu_features_read(dyvm_cpu_features *f)
{
    memset(f, 0, sizeof *f);
    snprintf(f->vendor, sizeof f->vendor, "unknown");
}
#endif

/* Appends " word" (or "word" at the start) to buf, truncating at len. */
static void append(char *buf, size_t len, const char *word)
{
    const size_t n = strlen(buf);
    if (n + 1 < len) snprintf(buf + n, len - n, "%s%s", n ? " " : "", word);
}

void dyvm_cpu_features_string(const dyvm_cpu_features *f, char *buf, size_t len)
{
    if (!len) return;
    buf[0] = 0;
    if (f->avx2) append(buf, len, "AVX2");
    else if (f->avx) append(buf, len, "AVX");
    if (f->fma) append(buf, len, "FMA");
    if (f->avx512f) {
        char v[32];
        snprintf(v, sizeof v, "AVX-512F%s%s%s%s", f->avx512bw ? "/BW" : "", f->avx512dq ? "/DQ" : "",
                 f->avx512vl ? "/VL" : "", f->avx512cd ? "/CD" : "");
        append(buf, len, v);
    }
    if (f->avx512_bf16) append(buf, len, "AVX512_BF16");
    if (f->amx_bf16) append(buf, len, "AMX-BF16");
    if (!buf[0]) snprintf(buf, len, "no AVX");
}

int dyvm_blas_core_level(const char *core)
{
    static const struct { const char *name; int level; } cores[] = {
        {"Katmai", 1},      {"Coppermine", 1},   {"Northwood", 1},    {"Prescott", 1},   {"Banias", 1},
        {"Atom", 1},        {"Core2", 1},        {"Penryn", 1},       {"Dunnington", 1}, {"Nehalem", 1},
        {"Athlon", 1},      {"Opteron", 1},      {"Opteron_SSE3", 1}, {"Barcelona", 1},  {"Nano", 1},
        {"Bobcat", 1},      {"Sandybridge", 2},  {"Bulldozer", 2},    {"Piledriver", 2}, {"Steamroller", 2},
        {"Excavator", 2},   {"Haswell", 3},      {"Zen", 3},          {"SkylakeX", 4},   {"Cooperlake", 4},
        {"SapphireRapids", 4},
    };
    if (!core) return 0;
    for (size_t i = 0; i < sizeof cores / sizeof cores[0]; i++)
        if (!strcasecmp(core, cores[i].name)) return cores[i].level;
    return 0;
}

/* The library's version as major*10000 + minor*100 + patch from "OpenBLAS 0.3.21 ..."; 0 when unreadable
 * (then treated as older than any version that matters). */
static int openblas_version(const char *config)
{
    int major, minor, patch;
    if (!config || sscanf(config, "OpenBLAS %d.%d.%d", &major, &minor, &patch) != 3) return 0;
    return major * 10000 + minor * 100 + patch;
}

const char *dyvm_blas_best_core(const dyvm_cpu_features *f, const char *openblas_config)
{
    if (f->avx512f && f->avx512bw && f->avx512dq && f->avx512vl && f->avx512cd)
        /* force_coretype() knows Cooperlake from 0.3.22 on (its loop stops at SkylakeX before) */
        return f->avx512_bf16 && openblas_version(openblas_config) >= 322 ? "Cooperlake" : "SkylakeX";
    if (f->avx2 && f->fma)
        return !strcmp(f->vendor, "AuthenticAMD") || !strcmp(f->vendor, "HygonGenuine") ? "Zen" : "Haswell";
    if (f->avx) return "Sandybridge";
    return "Prescott";
}

void dyvm_blas_decide(const dyvm_cpu_features *f, const char *current_core, const char *openblas_config,
                      const char *user_coretype, dyvm_blas_decision *d)
{
    memset(d, 0, sizeof *d);
    const char *best = dyvm_blas_best_core(f, openblas_config);
    const char *cur = current_core && current_core[0] ? current_core : "";
    snprintf(d->core, sizeof d->core, "%s", cur);
    if (user_coretype && user_coretype[0]) {
        snprintf(d->reason, sizeof d->reason, "OPENBLAS_CORETYPE=%s set by the user: OpenBLAS's %s kernels kept",
                 user_coretype, cur[0] ? cur : "(unreported)");
        return;
    }
    const int level = dyvm_blas_core_level(cur);
    if (!level) {
        snprintf(d->reason, sizeof d->reason, "OpenBLAS chose a core dyvm does not know (\"%s\"): kept", cur);
        return;
    }
    char feat[160];
    dyvm_cpu_features_string(f, feat, sizeof feat);
    if (level >= dyvm_blas_core_level(best)) {
        snprintf(d->reason, sizeof d->reason, "OpenBLAS chose its %s kernels, as good as %s allows on this CPU (%s): kept",
                 cur, best, feat);
        return;
    }
    d->change = true;
    snprintf(d->core, sizeof d->core, "%s", best);
    snprintf(d->reason, sizeof d->reason,
             "OpenBLAS chose its %s kernels on this CPU (%s family %d model %d: %s); running with OPENBLAS_CORETYPE=%s "
             "instead (set OPENBLAS_CORETYPE to choose yourself)",
             cur, f->vendor, f->family, f->model, feat, best);
}

/* In the re-executed process: the reason line, once, and a warning when the library did not take the core.
 * Printed only by the process that re-executed itself (same pid across execv), not by its children. */
static void report_reexec(const char *detected)
{
    const char *pid = getenv("DYVM_BLAS_CORE_REEXEC");
    if (!pid || atol(pid) != (long)getpid()) return;
    dyvm_cpu_features f;
    dyvm_cpu_features_read(&f);
    dyvm_blas_decision d;
    dyvm_blas_decide(&f, detected, openblas_get_config(), NULL, &d);
    if (d.change) fprintf(stderr, "dyvm: %s\n", d.reason);
    const char *want = getenv("OPENBLAS_CORETYPE"), *got = openblas_get_corename();
    if (want && got && strcasecmp(want, got))
        fprintf(stderr, "dyvm: warning: OpenBLAS did not take OPENBLAS_CORETYPE=%s: it runs its %s kernels (%s)\n",
                want, got, openblas_get_config());
}

/* Sets OPENBLAS_CORETYPE and re-executes this program with the same arguments. On failure, one line, the
 * variables removed again (children should not inherit a core this process does not run), and on. */
static void reexec(char **argv, const char *detected, const char *core)
{
    char pid[32];
    snprintf(pid, sizeof pid, "%ld", (long)getpid());
    if (setenv("OPENBLAS_CORETYPE", core, 1) || setenv("DYVM_BLAS_CORE_DETECTED", detected, 1) ||
        setenv("DYVM_BLAS_CORE_REEXEC", pid, 1)) {
        fprintf(stderr, "dyvm: could not set OPENBLAS_CORETYPE=%s (%s); keeping OpenBLAS's %s kernels\n", core,
                strerror(errno), detected);
    } else {
        fflush(NULL);
        execv("/proc/self/exe", argv);
        fprintf(stderr, "dyvm: could not re-run with OPENBLAS_CORETYPE=%s (execv /proc/self/exe: %s); keeping "
                "OpenBLAS's %s kernels\n", core, strerror(errno), detected);
    }
    unsetenv("OPENBLAS_CORETYPE");
    unsetenv("DYVM_BLAS_CORE_DETECTED");
    unsetenv("DYVM_BLAS_CORE_REEXEC");
}

#ifdef __GLIBC__
/* Runs before main in every binary that links bench/ (OpenBLAS's own constructor has run: the library is
 * a dependency, initialised first). argv comes from glibc, which passes (argc, argv, envp) to the
 * executable's .init_array functions (Rust's std reads its arguments the same way): the exact argument
 * vector, no /proc read, no allocation, no parsing of NUL-separated text. Other C libraries do not pass
 * them, so without glibc there is no constructor at all; with glibc, an argv that does not look like one
 * (NULL, argc < 1, not NULL-terminated) makes it do nothing. Never loops: a process that has
 * DYVM_BLAS_CORE_DETECTED (the re-executed one, or its children) only reports, never re-executes. */
__attribute__((constructor)) static void blas_core_constructor(int argc, char **argv, char **envp)
{
    (void)envp;
    if (argc < 1 || !argv || !argv[0] || argv[argc]) return;
    const char *detected = getenv("DYVM_BLAS_CORE_DETECTED");
    if (detected) {
        report_reexec(detected);
        return;
    }
    const char *assumed = getenv("DYVM_BLAS_ASSUME_CORE"); /* test hook, blas_core.h */
    const char *current = assumed && assumed[0] ? assumed : openblas_get_corename();
    dyvm_cpu_features f;
    dyvm_cpu_features_read(&f);
    dyvm_blas_decision d;
    dyvm_blas_decide(&f, current, openblas_get_config(), getenv("OPENBLAS_CORETYPE"), &d);
    if (d.change) reexec(argv, current, d.core);
}
#endif

void dyvm_blas_info_get(dyvm_blas_info *i)
{
    memset(i, 0, sizeof *i);
    dyvm_cpu_features f;
    dyvm_cpu_features_read(&f);
    dyvm_cpu_features_string(&f, i->features, sizeof i->features);
    const char *best = dyvm_blas_best_core(&f, openblas_get_config()), *core = openblas_get_corename();
    snprintf(i->best, sizeof i->best, "%s", best);
    snprintf(i->core, sizeof i->core, "%s", core ? core : "unknown");
    const char *user = getenv("OPENBLAS_CORETYPE"), *detected = getenv("DYVM_BLAS_CORE_DETECTED");
    if (!user) {
        snprintf(i->source, sizeof i->source, "OpenBLAS's own detection");
    } else if (detected && detected[0] && !strcasecmp(user, best)) { /* what dyvm set and nobody changed */
        snprintf(i->detected, sizeof i->detected, "%s", detected);
        snprintf(i->source, sizeof i->source, "set by dyvm (the detected core was below this CPU)");
    } else {
        snprintf(i->source, sizeof i->source, "OPENBLAS_CORETYPE set by the user");
    }
}
