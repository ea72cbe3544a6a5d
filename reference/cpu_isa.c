/* Which ISA's kernels run (cpu_isa.h): the best this CPU supports, or the one --isa names. */
#include "cpu_isa.h"

#include <stdio.h>
#include <string.h>

static const dyvm_cpu_kernels *const tables[DYVM_ISA_COUNT] = {&dyvm_kernels_scalar, &dyvm_kernels_avx2,
                                                               &dyvm_kernels_avx512, &dyvm_kernels_avx512emu};
static const dyvm_cpu_kernels *chosen;

/* __builtin_cpu_supports counts AVX and AVX-512 only when the OS saves their registers (XCR0) */
bool dyvm_isa_supported(dyvm_isa isa)
{
#if defined(__x86_64__)
    __builtin_cpu_init();
    switch (isa) {
    case DYVM_ISA_AVX512:
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
               __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") &&
               __builtin_cpu_supports("avx512cd");
    case DYVM_ISA_AVX2:
    case DYVM_ISA_AVX512_EMU: return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    default: return isa == DYVM_ISA_SCALAR;
    }
#else
    return isa == DYVM_ISA_SCALAR;
#endif
}

dyvm_isa dyvm_isa_best(bool avx2_fma, bool avx512_v4)
{
    return avx512_v4 ? DYVM_ISA_AVX512 : avx2_fma ? DYVM_ISA_AVX2 : DYVM_ISA_SCALAR;
}

const dyvm_cpu_kernels *dyvm_isa_table(dyvm_isa isa) { return isa >= 0 && isa < DYVM_ISA_COUNT ? tables[isa] : NULL; }

const dyvm_cpu_kernels *dyvm_isa_kernels(void)
{
    if (!chosen)
        chosen = tables[dyvm_isa_best(dyvm_isa_supported(DYVM_ISA_AVX2), dyvm_isa_supported(DYVM_ISA_AVX512))];
    return chosen;
}

int dyvm_isa_select(const char *name, char *err, size_t errlen)
{
    if (!strcmp(name, "auto")) {
        chosen = NULL;
        dyvm_isa_kernels();
        return 0;
    }
    for (int i = 0; i < DYVM_ISA_COUNT; i++) {
        if (strcmp(name, tables[i]->name)) continue;
        if (!dyvm_isa_supported((dyvm_isa)i))
            return snprintf(err, errlen, "--isa %s: this CPU does not support it (%s)", name,
                            i == DYVM_ISA_AVX512 ? "AVX-512 F, BW, DQ, VL and CD are needed" : "AVX2 and FMA are needed"),
                   -1;
        chosen = tables[i];
        return 0;
    }
    return snprintf(err, errlen, "--isa: \"%s\" is not auto, avx512, avx2, scalar or avx512emu", name), -1;
}

void dyvm_isa_list(char *buf, size_t len)
{
    size_t at = 0;
    if (len) buf[0] = 0;
    for (int i = DYVM_ISA_AVX512; i >= 0; i--) /* the real ISAs, widest first (not the emulation after them) */
        if (dyvm_isa_supported((dyvm_isa)i) && at < len)
            at += (size_t)snprintf(buf + at, len - at, "%s%s", at ? " " : "", tables[i]->name);
}
