/* One directional SSM branch on the CPU (SPEC.md section 4, steps 3-4): causal depthwise conv + SiLU,
 * x_proj, dt_proj, then the selective scan with softplus, the D skip and the SiLU(z) gate fused in.
 * The backward branch reads the sequence from its end instead of materializing reversed copies; the
 * arithmetic per element is the same as on a flipped copy, so both agree with the official code. */
#include <string.h>

#include "cpu_ops.h"
#include "vmath.h"

#define CH 8 /* channels per scan lane group: one v8f */

/* xc (n_img, L, E) = SiLU(conv1d(x)) for the listed images; x = xz[..., :E] with row stride 2E.
 * forward:  xc[t] = SiLU(b + sum_j w[K-1-j] * x[t-j])   (x before 0 is 0: causal)
 * backward: xc[t] = SiLU(b + sum_j w[K-1-j] * x[t+j])   (the same on the flipped sequence, flipped back) */
static void conv_silu(dyvm_work *work, const dyvm_ssm_weights *w, int dir, const float *xz, const int32_t *images,
                      int64_t n_img, int64_t L, int64_t E, int64_t K, float *xc)
{
    const int64_t step = dir == DIR_FWD ? -1 : 1;
    uint64_t taps = 0; /* taps inside the sequence: the zero padding is not computed */
#pragma omp parallel for collapse(2) schedule(static) reduction(+ : taps)
    for (int64_t j = 0; j < n_img; j++)
        for (int64_t t = 0; t < L; t++) {
            const float *x = xz + (int64_t)images[j] * L * 2 * E;
            float *out = xc + (j * L + t) * E;
            for (int64_t e = 0; e < E; e++) out[e] = w->conv_b[e];
            for (int64_t k = 0; k < K; k++) {
                const int64_t s = t + step * k;
                if (s < 0 || s >= L) continue;
                taps++;
                const float *xs = x + s * 2 * E;
                const float *wk = w->conv_wt + (K - 1 - k) * E; /* conv1d.weight[:, 0, K-1-k], contiguous */
                for (int64_t e = 0; e < E; e++) out[e] += wk[e] * xs[e];
            }
            DYVM_V8_APPLY(v8_silu, out, E);
        }
    work->macs[STAGE_CONV] += taps * (uint64_t)E;
    work->elem[STAGE_CONV] += (uint64_t)(n_img * L * E * 4); /* bias; SiLU: neg, add, div */
    work->transc[STAGE_CONV] += (uint64_t)(n_img * L * E);
}

/* The selective scan for one image and CH channels starting at e0 (selective_scan_ref):
 *   delta = softplus(delta + delta_bias); deltaA = exp(delta * A); deltaB_u = delta * B * u
 *   x = deltaA * x + deltaB_u;  y = x . C;  out = (y + u * D) * silu(z)
 * The state (N x CH) stays in registers/L1; t runs forward or, for the backward branch, from L-1 down. */
static void scan_group(const dyvm_ssm_weights *w, int dir, const float *u, const float *dpre, const float *dbl,
                       const float *z, float *y, int64_t L, int64_t E, int64_t N, int64_t R, int64_t e0)
{
    enum { NMAX = 64 };
    v8f At[NMAX], s[NMAX];
    for (int64_t n = 0; n < N; n++) {
        for (int c = 0; c < CH; c++) At[n][c] = w->A[(e0 + c) * N + n];
        s[n] = v8_set1(0.0f);
    }
    const v8f bias = v8_load(w->dt_b + e0), Dv = v8_load(w->Dskip + e0);
    const int64_t ld = R + 2 * N;
    for (int64_t i = 0; i < L; i++) {
        const int64_t t = dir == DIR_FWD ? i : L - 1 - i;
        const v8f dt = v8_softplus(v8_load(dpre + t * E + e0) + bias);
        const v8f ut = v8_load(u + t * E + e0), du = dt * ut;
        const float *Bt = dbl + t * ld + R, *Ct = Bt + N;
        /* the exps first, back to back, so the recurrence below runs without calls in between */
        v8f dA[NMAX];
        for (int64_t n = 0; n < N; n++) dA[n] = v8_exp(dt * At[n]);
        /* four partial sums: the y reduction is not one serial chain of N dependent FMAs */
        v8f acc[4] = {0};
        for (int64_t n = 0; n < N; n++) {
            s[n] = dA[n] * s[n] + du * Bt[n];
            acc[n & 3] += s[n] * Ct[n];
        }
        const v8f zt = v8_load(z + t * 2 * E + e0);
        v8_store(y + t * E + e0, ((acc[0] + acc[1]) + (acc[2] + acc[3]) + ut * Dv) * v8_silu(zt));
    }
}

/* Scalar tail for E not a multiple of CH (no official model has one; kept for odd test configs). */
static void scan_tail(const dyvm_ssm_weights *w, int dir, const float *u, const float *dpre, const float *dbl,
                      const float *z, float *y, int64_t L, int64_t E, int64_t N, int64_t R, int64_t e)
{
    float s[64] = {0};
    const int64_t ld = R + 2 * N;
    for (int64_t i = 0; i < L; i++) {
        const int64_t t = dir == DIR_FWD ? i : L - 1 - i;
        float v = dpre[t * E + e] + w->dt_b[e];
        const float dt = v > 20.0f ? v : log1pf(expf(v)), ut = u[t * E + e];
        const float *Bt = dbl + t * ld + R, *Ct = Bt + N;
        float acc = 0.0f;
        for (int64_t n = 0; n < N; n++) {
            s[n] = expf(dt * w->A[e * N + n]) * s[n] + dt * ut * Bt[n];
            acc += s[n] * Ct[n];
        }
        const float zt = z[t * 2 * E + e];
        y[t * E + e] = (acc + ut * w->Dskip[e]) * (zt / (1.0f + expf(-zt)));
    }
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
    double t = dyvm_stage_begin(be, STAGE_CONV);
    conv_silu(&be->work, a->w, a->dir, a->xz, a->images, n, L, E, c->K, xc);
    /* x_dbl = F.linear(rearrange(x, "b d l -> (b l) d"), x_proj_weight) */
    dyvm_stage_end(be, STAGE_CONV, t);
    t = dyvm_stage_begin(be, STAGE_X_PROJ);
    cpu_gemm_xwt(xc, E, a->w->x_proj, E, dbl, ld, n * L, E, ld);
    dyvm_stage_end(be, STAGE_X_PROJ, t);
    be->work.macs[STAGE_X_PROJ] += (uint64_t)(n * L * E * ld);
    /* delta = delta_proj_weight @ x_dbl[:, :delta_rank].t()   (the bias is added in the scan) */
    t = dyvm_stage_begin(be, STAGE_DT_PROJ);
    cpu_gemm_xwt(dbl, ld, a->w->dt_w, R, dpre, E, n * L, R, E);
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
    const int64_t groups = E / CH, per_img = groups + (E % CH);
#pragma omp parallel for collapse(2) schedule(static)
    for (int64_t j = 0; j < n; j++)
        for (int64_t g = 0; g < per_img; g++) {
            const int64_t b = a->images[j];
            const float *u = xc + j * L * E, *dp = dpre + j * L * E, *db = dbl + j * L * ld;
            const float *z = a->xz + b * L * 2 * E + E;
            float *y = a->y + b * L * E;
            if (g < groups)
                scan_group(a->w, a->dir, u, dp, db, z, y, L, E, N, R, g * CH);
            else
                scan_tail(a->w, a->dir, u, dp, db, z, y, L, E, N, R, groups * CH + (g - groups));
        }
    dyvm_stage_end(be, STAGE_SCAN, t);
}
