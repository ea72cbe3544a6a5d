/* The CPU's vector kernels, chosen once at start-up for the ISA this CPU has (runtime dispatch).
 *
 * reference/isa/kernels.c is compiled three times (Makefile): for AVX-512 (16 floats per vector,
 * -march=x86-64-v4), for AVX2 + FMA (8 floats, -march=x86-64-v3) and scalar (1 float, the baseline x86-64),
 * each build filling one table below. The rest of the program is built for the baseline x86-64, so one
 * binary runs on any x86-64 and uses the widest kernels the CPU (and the OS, through XCR0) supports. The
 * matrix products are OpenBLAS's, which dispatches on its own (bench/blas_core.h). A fourth build, the
 * AVX-512 code for AVX2 + FMA (avx512emu), runs only when --isa names it: its bits are AVX-512's.
 *
 * Every kernel computes each output element by the same operations whatever its position and however the
 * work is split between threads, so the output of a given ISA is the same bits from run to run and for any
 * thread count. The ISAs differ from each other in the last bits (the lane count changes the order of the
 * sums in the norms; the scalar build has no FMA). */
#ifndef DYVM_CPU_ISA_H
#define DYVM_CPU_ISA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* DYVM_ISA_AVX512_EMU: the AVX-512 kernels' 16-wide code built for AVX2 + FMA (isa/vec.h), never chosen by
 * auto: --isa avx512emu tests that code, and the bits it must give, on a CPU without AVX-512 */
typedef enum { DYVM_ISA_SCALAR, DYVM_ISA_AVX2, DYVM_ISA_AVX512, DYVM_ISA_AVX512_EMU, DYVM_ISA_COUNT } dyvm_isa;

/* One directional selective scan over one image (SPEC.md section 4, step 4), the dt projection computed per
 * channel block just before it (no separate GEMM: its K = dt_rank is too small to pay):
 *   delta = softplus(dt_proj.weight . x_dbl[:, :R] + dt_proj.bias); deltaA = exp(delta * A)
 *   s = deltaA * s + delta * B * u;  y = s . C;  out = (y + u * D) * silu(z)
 * t runs forward, or from L-1 down for the backward branch. */
typedef struct {
    const float *u;    /* (L, E): the conv output */
    const float *dbl;  /* (L, R + 2N): x_proj output [dt_in | B | C] */
    const float *z;    /* (L, ldz): the gate */
    float *delta;      /* (L, E): scratch, written with dt_proj.weight . x_dbl[:, :R] then read back */
    float *y;          /* (L, E) */
    const float *dt_w; /* (E, R) dt_proj.weight */
    const float *dt_b, *A, *D; /* (E), (E, N) = -exp(A_log), (E) */
    int64_t L, E, N, R, ldz;
    int dir;           /* 0 forward, 1 backward */
} dyvm_scan_args;

typedef struct {
    const char *name;  /* "avx512", "avx2", "scalar" */
    const char *desc;  /* e.g. "AVX2 + FMA, 8 floats per vector" */
    int width;
    /* xc rows [t0, t1) of one image = SiLU(b + sum_k wt[K-1-k] * x[t -/+ k]) (causal: x outside [0, L) is 0);
       x (L, ldx) is the x half of xz, wt (K, E) the conv weight transposed, b (E), xc (L, E) */
    void (*conv_silu)(const float *x, int64_t ldx, const float *wt, const float *b, int dir, int64_t L, int64_t E,
                      int64_t K, int64_t t0, int64_t t1, float *xc);
    /* channels [e0, e0 + ne) (ne a multiple of width except at the end of a row): scan_delta writes delta
       (the dt projection, without its bias), then scan runs the recurrence on softplus(delta + dt_b) */
    void (*scan_delta)(const dyvm_scan_args *a, int64_t e0, int64_t ne);
    int delta_group; /* scan_delta computes this many vectors of channels together: give it that many per call */
    void (*scan)(const dyvm_scan_args *a, int64_t e0, int64_t ne);
    /* rows of (D): r = first ? h : r + h; u = r / sqrt(mean(r^2) + eps) * weight */
    void (*add_rms_norm)(float *r, const float *h, const float *weight, float *u, int64_t rows, int64_t D, float eps,
                         int first);
    void (*gelu)(float *x, int64_t n);         /* in place, exact GELU */
    void (*exp)(const float *x, float *y, int64_t n); /* vec.h's exp (softplus, SiLU), for the tests */
    /* exp(x) as the scan computes its N exps per step, 2^(x log2 e) (vec.h): the exp roof (peaks.c), tests */
    void (*exp_scan)(const float *x, float *y, int64_t n);
    void (*softplus)(const float *x, float *y, int64_t n); /* the scan's softplus, for the tests */
    double (*fma_chains)(int64_t iters);       /* FLOPs of an FMA loop run for the FMA roof (peaks.c) */
    /* a = b + s * c over n floats: the memory and cache roofs' triad (peaks.c), in vectors of this ISA */
    void (*triad)(float *a, const float *b, const float *c, float s, int64_t n);
} dyvm_cpu_kernels;

extern const dyvm_cpu_kernels dyvm_kernels_avx512, dyvm_kernels_avx2, dyvm_kernels_scalar, dyvm_kernels_avx512emu;

/* The kernels in use: the best this CPU supports unless dyvm_isa_select chose another. */
const dyvm_cpu_kernels *dyvm_isa_kernels(void);
/* "auto", "avx512", "avx2", "scalar" or "avx512emu": returns 0, or -1 with one line in err (an unknown name,
 * or an ISA this CPU lacks, naming what is missing). Call before any forward; not thread-safe. */
int dyvm_isa_select(const char *name, char *err, size_t errlen);
/* Whether this CPU (and the OS) supports an ISA: AVX-512 needs F, BW, DQ, VL and CD (x86-64-v4); AVX2 and
 * the emulated AVX-512 need AVX2 and FMA; scalar always. */
bool dyvm_isa_supported(dyvm_isa isa);
/* The best of the three for a CPU with these features: pure, for the tests. */
dyvm_isa dyvm_isa_best(bool avx2_fma, bool avx512_v4);
const dyvm_cpu_kernels *dyvm_isa_table(dyvm_isa isa);
/* The names of the ISAs this CPU supports, best first, separated by spaces (the emulation is not one). */
void dyvm_isa_list(char *buf, size_t len);

#endif
