/* One directional SSM branch on the CPU (SPEC.md section 4, steps 3-4): causal depthwise conv + SiLU,
 * x_proj, then dt_proj per channel block and the selective scan with softplus, the D skip and the SiLU(z)
 * gate fused in (the vector kernels of the ISA in use: cpu_isa.h).
 * The backward branch reads the sequence from its end instead of materializing reversed copies; the
 * arithmetic per element is the same as on a flipped copy, so both agree with the official code. */
#include <string.h>

#include "cpu_isa.h"
#include "cpu_ops.h"

#define CONV_ROWS 8 /* conv rows per task: 25 tasks for 197 tokens, so that 2 threads share them evenly */

/* Taps inside the sequence over all t (the zero padding is not computed): sum over t of min(K, t + 1). */
static uint64_t conv_taps(int64_t L, int64_t K)
{
    return L >= K ? (uint64_t)(L * K - K * (K - 1) / 2) : (uint64_t)(L * (L + 1) / 2);
}

void cpu_ssm_branch(dyvm_backend *be, const dyvm_branch_args *a)
{
    cpu_ctx *cx = be->ctx;
    const dyvm_config *c = &cx->w->cfg;
    const int64_t E = c->E, N = c->N, R = c->R, L = a->L, n = a->n_images, ld = R + 2 * N;
    /* images that skip the branch contribute zeros */
    for (int64_t b = 0, j = 0; b < a->B; b++) {
        if (j < n && a->images[j] == b) { j++; continue; }
        memset(a->y + b * L * E, 0, sizeof(float) * (size_t)(L * E));
    }
    if (n == 0) return;
    float *xc = cpu_scratch_get(&cx->scratch, (size_t)(n * L * (2 * E + ld)));
    float *dpre = xc + n * L * E, *dbl = dpre + n * L * E;
    /* x = causal_conv1d_fn(x, conv1d.weight, conv1d.bias, activation="silu") */
    const dyvm_cpu_kernels *k = dyvm_isa_kernels();
    const int64_t K = c->K, row_tasks = (L + CONV_ROWS - 1) / CONV_ROWS;
    double t = dyvm_stage_begin(be, STAGE_CONV);
    /* forward:  xc[t] = SiLU(b + sum_j w[K-1-j] * x[t-j])   (x before 0 is 0: causal)
       backward: xc[t] = SiLU(b + sum_j w[K-1-j] * x[t+j])   (the same on the flipped sequence, flipped back) */
#pragma omp parallel for collapse(2) schedule(static)
    for (int64_t j = 0; j < n; j++)
        for (int64_t r = 0; r < row_tasks; r++) {
            const int64_t t0 = r * CONV_ROWS, t1 = t0 + CONV_ROWS < L ? t0 + CONV_ROWS : L;
            k->conv_silu(a->xz + (int64_t)a->images[j] * L * 2 * E, 2 * E, a->w->conv_wt, a->w->conv_b, a->dir, L, E,
                         K, t0, t1, xc + j * L * E);
        }
    dyvm_stage_end(be, STAGE_CONV, t);
    be->work.macs[STAGE_CONV] += (uint64_t)n * conv_taps(L, K) * (uint64_t)E;
    be->work.elem[STAGE_CONV] += (uint64_t)(n * L * E * 4); /* bias; SiLU: neg, add, div */
    be->work.transc[STAGE_CONV] += (uint64_t)(n * L * E);
    /* x_dbl = F.linear(rearrange(x, "b d l -> (b l) d"), x_proj_weight) */
    t = dyvm_stage_begin(be, STAGE_X_PROJ);
    cpu_gemm_xwt(xc, E, a->w->x_proj, E, dbl, ld, n * L, E, ld);
    dyvm_stage_end(be, STAGE_X_PROJ, t);
    be->work.macs[STAGE_X_PROJ] += (uint64_t)(n * L * E * ld);
    /* the channels in blocks of the vector width: one task each (per image) */
    const int64_t width = k->width, blocks = (E + width - 1) / width;
    dyvm_scan_args sa = {.dt_w = a->w->dt_w, .dt_b = a->w->dt_b, .A = a->w->A, .D = a->w->Dskip,
                         .L = L, .E = E, .N = N, .R = R, .ldz = 2 * E, .dir = a->dir == DIR_FWD ? 0 : 1};
    /* delta = delta_proj_weight @ x_dbl[:, :delta_rank].t()   (the bias and softplus in the scan), in tasks of
       the kernel's group of channel vectors */
    const int64_t group = k->delta_group * width, groups = (E + group - 1) / group;
    t = dyvm_stage_begin(be, STAGE_DT_PROJ);
#pragma omp parallel for collapse(2) schedule(static) firstprivate(sa)
    for (int64_t j = 0; j < n; j++)
        for (int64_t g = 0; g < groups; g++) {
            sa.dbl = dbl + j * L * ld, sa.delta = dpre + j * L * E;
            const int64_t e0 = g * group;
            k->scan_delta(&sa, e0, E - e0 < group ? E - e0 : group);
        }
    dyvm_stage_end(be, STAGE_DT_PROJ, t);
    be->work.macs[STAGE_DT_PROJ] += (uint64_t)(n * L * R * E);
    /* per token and channel: softplus (bias add, compare; exp, log1p), dt * u; per state: dt * A, exp,
       dA * s, + du * B (mac), + s * C (mac); 3 adds joining the partial sums, + u * D (mac), SiLU(z)
       (neg, add, div; exp), the gate */
    be->work.macs[STAGE_SCAN] += (uint64_t)(n * L * E * (2 * N + 1));
    be->work.transc[STAGE_SCAN] += (uint64_t)(n * L * E * (N + 3));
    be->work.elem[STAGE_SCAN] += (uint64_t)(n * L * E * (2 * N + 10));
    /* y = selective_scan_fn(x, delta, A, B, C, D, z, delta_bias, delta_softplus=True) */
    t = dyvm_stage_begin(be, STAGE_SCAN);
#pragma omp parallel for collapse(2) schedule(static) firstprivate(sa)
    for (int64_t j = 0; j < n; j++)
        for (int64_t g = 0; g < blocks; g++) {
            const int64_t b = a->images[j], e0 = g * width;
            sa.u = xc + j * L * E, sa.dbl = dbl + j * L * ld, sa.delta = dpre + j * L * E;
            sa.z = a->xz + b * L * 2 * E + E, sa.y = a->y + b * L * E;
            k->scan(&sa, e0, E - e0 < width ? E - e0 : width);
        }
    dyvm_stage_end(be, STAGE_SCAN, t);
}
