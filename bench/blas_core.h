/* Which OpenBLAS kernels run, and fixing a bad choice before the first matrix product.
 *
 * Debian's OpenBLAS 0.3.21 (DYNAMIC_ARCH) picks its kernels ("core") from cpuid when the library loads. On
 * CPUs newer than the library it can fall through to a generic core: on a Xeon family 6 model 207 it chose
 * Prescott (SSE3) and sgemm ran at 34 GFLOP/s instead of 181 with SkylakeX. OpenBLAS reads
 * OPENBLAS_CORETYPE only in its load-time constructor, so the fix is to run the program again with that
 * variable set. A constructor in blas_core.c does so in every binary that links bench/ (dyvm and every
 * test), before main:
 *
 *   - it reads this CPU's features (cpuid + xgetbv) and openblas_get_corename();
 *   - when the core's ISA level is below the best core this CPU supports that this library can be forced
 *     to (dyvm_blas_decide), it sets OPENBLAS_CORETYPE=<best> and DYVM_BLAS_CORE_DETECTED=<detected core>
 *     and re-executes /proc/self/exe with the same arguments;
 *   - the re-executed process prints the reason once on stderr ("dyvm: OpenBLAS chose its Prescott
 *     kernels on this CPU (...); running with OPENBLAS_CORETYPE=SkylakeX instead (...)"), plus a warning
 *     when the library did not take the core; it never re-executes again;
 *   - an OPENBLAS_CORETYPE set by the user is always respected: no change, nothing printed.
 *
 * Environment variables:
 *   OPENBLAS_CORETYPE        the user's choice (respected), or dyvm's in the re-executed process
 *   DYVM_BLAS_CORE_DETECTED  set by dyvm for the re-executed process: the core OpenBLAS had chosen
 *   DYVM_BLAS_CORE_REEXEC    set by dyvm: the pid that re-executed (execv keeps it), so that the line is
 *                            printed by that process only and not by its children
 *   DYVM_BLAS_ASSUME_CORE    TEST HOOK: the decision treats this name as the core OpenBLAS detected, so
 *                            the re-exec path can be tested where OpenBLAS already picks right
 *                            (tests/test_blas_core.sh). Only forces a core this CPU supports.
 */
#ifndef DYVM_BLAS_CORE_H
#define DYVM_BLAS_CORE_H

#include <stdbool.h>
#include <stddef.h>

/* What cpuid says, each feature counted only when the OS also saves its registers (XCR0). family and
 * model as Linux shows them in /proc/cpuinfo (extended family added for family 15, extended model for
 * family >= 6). */
typedef struct {
    char vendor[16]; /* "GenuineIntel", "AuthenticAMD", "HygonGenuine", ... */
    int family, model;
    bool avx, avx2, fma, avx512f, avx512bw, avx512dq, avx512vl, avx512cd, avx512_bf16;
    bool amx_bf16; /* for information only: no decision uses it */
} dyvm_cpu_features;

/* The features of the CPU this runs on (all false on a non-x86 build). */
void dyvm_cpu_features_read(dyvm_cpu_features *f);
/* One short line, e.g. "AVX2 FMA AVX-512F/BW/DQ/VL/CD AVX512_BF16 AMX-BF16"; "no AVX" when none. AVX is
 * listed only when AVX2 is absent (AVX2 implies it). */
void dyvm_cpu_features_string(const dyvm_cpu_features *f, char *buf, size_t len);

/* The ISA level of an OpenBLAS x86 core name (case-insensitive) by what its kernels use: 1 SSE-era
 * (Prescott, Core2, Nehalem, Atom, Opteron, Barcelona, ...), 2 AVX (Sandybridge and the Bulldozer family,
 * whose kernels are AVX/FMA ones, Excavator included), 3 AVX2 (Haswell, Zen), 4 AVX-512 (SkylakeX,
 * Cooperlake, SapphireRapids); 0 for NULL or a name it does not know. */
int dyvm_blas_core_level(const char *core);

/* The best core this CPU supports that this OpenBLAS version can be forced to: AVX-512 F+BW+DQ+VL+CD ->
 * SkylakeX, or Cooperlake when the CPU also has AVX512_BF16 and the library (openblas_get_config(),
 * "OpenBLAS 0.3.21 ...") is >= 0.3.22 (0.3.21's OPENBLAS_CORETYPE does not know Cooperlake; no version
 * knows SapphireRapids); AVX2+FMA -> Zen on AMD/Hygon, Haswell otherwise; AVX -> Sandybridge; else
 * Prescott. A NULL or unreadable config counts as an old library. Returns a static string. */
const char *dyvm_blas_best_core(const dyvm_cpu_features *f, const char *openblas_config);

typedef struct {
    bool change;      /* re-run with OPENBLAS_CORETYPE=core */
    char core[32];    /* the core to force when change; otherwise the core that stays */
    char reason[320]; /* one line without the "dyvm: " prefix: what changes (or not) and why */
} dyvm_blas_decision;

/* change is true only when user_coretype (the OPENBLAS_CORETYPE in the environment) is NULL or empty and
 * current_core (openblas_get_corename()) is a known core whose level is below the best core's. An unknown
 * current core is left alone (it cannot be compared). Pure: no cpuid, no environment. */
void dyvm_blas_decide(const dyvm_cpu_features *f, const char *current_core, const char *openblas_config,
                      const char *user_coretype, dyvm_blas_decision *d);

/* For the environment block of reports. */
typedef struct {
    char core[32];      /* openblas_get_corename() */
    char detected[32];  /* the core OpenBLAS chose before dyvm changed it; "" when the core was not changed */
    char source[64];    /* "OpenBLAS's own detection", "set by dyvm (the detected core was below this CPU)",
                           "OPENBLAS_CORETYPE set by the user" */
    char best[32];      /* dyvm_blas_best_core() for this CPU and library */
    char features[160]; /* dyvm_cpu_features_string() */
} dyvm_blas_info;

void dyvm_blas_info_get(dyvm_blas_info *i);

#endif
