/* The CUDA kernels' per-thread bodies (kernels/bodies.cuh) run on the CPU over every index, composed as
 * the CUDA backend composes them, against the CPU reference ops (SPEC.md section 9: 1e-4 rel L2, index
 * lists exact): patch embedding, the SSM branch with scan v1 (and the zeroing of skipped images), both
 * directions with scan v2 (its shared-memory tiles emulated block by block), the combine, the head's bias,
 * the predictor's elementwise parts, the top-k ranking (ties at the keep cut, NaN scores) and the gather.
 * Odd and even lengths, batch 1 and 5, both directions, image subsets, N = 16 and 32. The index math is thus
 * tested here, before any GPU runs it; the cooperative kernels (norms, top-k's shared scan, block head)
 * are left to tests/test_cuda. Built by nvcc; needs no device. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vector>

extern "C" {
#include "cases.h"
#include "check.h"
#include "compare.h"
#include "cpu_ops.h"
#include "rng.h"
}
#include "backend.h"
#include "bodies.cuh"

#define TOL 1e-4 /* SPEC.md section 9: CUDA fp32 vs CPU reference */

typedef std::vector<float> vec;

static vec randn(dyvm_rng *r, size_t n, float scale)
{
    vec x(n);
    for (size_t i = 0; i < n; i++) x[i] = scale * (float)dyvm_rng_normal(r);
    return x;
}

struct model {
    dyvm_weights w;
    dyvm_backend *cpu;
    const dyvm_config &c() const { return w.cfg; }
};

static bool make_model(model *m, int64_t N)
{
    char err[512];
    dyvm_config c;
    if (dyvm_config_preset("tiny", &c, err, sizeof err)) return check(0, "%s", err), false;
    c.N = N;
    if (dyvm_config_finish(&c, err, sizeof err) || dyvm_weights_init(&m->w, &c, 7, err, sizeof err))
        return check(0, "tiny with N %lld: %s", (long long)N, err), false;
    m->cpu = dyvm_cpu_backend(&m->w);
    return m->cpu != NULL;
}

/* the images of a batch of B that run a branch: all, or a subset given by a bit mask */
static std::vector<int32_t> image_list(int64_t B, unsigned mask)
{
    std::vector<int32_t> l;
    for (int64_t b = 0; b < B; b++)
        if (mask & (1u << b)) l.push_back((int32_t)b);
    return l;
}

/* patch embedding: im2col, the GEMM, assemble, as cu_embed */
static void embed(const model &m, int64_t B, uint64_t seed)
{
    const dyvm_config &c = m.c();
    dyvm_rng r;
    dyvm_rng_seed(&r, seed);
    const int64_t P = c.patch, M = c.M, D = c.D, cpp = c.channels * P * P, L = M + 1;
    vec img = randn(&r, (size_t)(B * c.channels * c.img * c.img), 1.0f), ref((size_t)(B * L * D));
    m.cpu->embed(m.cpu, img.data(), B, ref.data());
    vec cols((size_t)(B * M * cpp)), tok((size_t)(B * M * D)), h((size_t)(B * L * D), NAN);
    const im2col_params ip = {img.data(), cols.data(), B, c.channels, c.img, P, c.img / P, M};
    for (int64_t i = 0; i < B * M * cpp; i++) im2col_at(ip, i);
    cpu_gemm_xwt(cols.data(), cpp, m.w.patch_w, cpp, tok.data(), D, B * M, cpp, D);
    const assemble_params ap = {tok.data(), m.w.patch_b, m.w.cls_token, m.w.pos_embed, h.data(), B, M, D, c.cls_pos};
    for (int64_t i = 0; i < B * L * D; i++) assemble_at(ap, i);
    compare_check("embed: im2col_at + GEMM + assemble_at vs cpu embed", h.data(), ref.data(), h.size(), TOL);
}

/* one direction's conv, x_proj and dt_proj over the listed images, as branch_inputs of cuda_backend.cu */
struct branch_in {
    vec xc, dpre, dbl;
};

static branch_in branch_inputs(const model &m, const dyvm_ssm_weights *w, const float *xz, const int32_t *list,
                               int64_t n, int64_t L, int dir)
{
    const dyvm_config &c = m.c();
    const int64_t E = c.E, R = c.R, ld = R + 2 * c.N;
    branch_in in;
    in.xc.assign((size_t)(n * L * E), NAN), in.dpre.assign((size_t)(n * L * E), NAN), in.dbl.assign((size_t)(n * L * ld), NAN);
    const conv_params cp = {xz, w->conv_wt, w->conv_b, list, in.xc.data(), n, L, E, c.K, dir};
    for (int64_t i = 0; i < n * L * E; i++) conv_silu_at(cp, i);
    if (n) {
        cpu_gemm_xwt(in.xc.data(), E, w->x_proj, E, in.dbl.data(), ld, n * L, E, ld);
        cpu_gemm_xwt(in.dbl.data(), ld, w->dt_w, R, in.dpre.data(), E, n * L, R, E);
    }
    return in;
}

/* the CPU reference branch of the listed images (zeros for the others) */
static vec cpu_branch(const model &m, int layer, int dir, const float *xz, const std::vector<int32_t> &list, int64_t B,
                      int64_t L)
{
    vec y((size_t)(B * L * m.c().E), NAN);
    dyvm_branch_args a = {};
    a.w = &m.w.layers[layer].dir[dir], a.dir = dir, a.xz = xz, a.y = y.data(), a.images = list.data();
    a.images_dev = list.data(), a.n_images = (int64_t)list.size(), a.B = B, a.L = L;
    m.cpu->ssm_branch(m.cpu, &a);
    return y;
}

/* scan v1 and the zeroing of skipped images, one direction, as cu_ssm_branch */
static void branch_v1(const model &m, int64_t B, int64_t L, int dir, unsigned mask, uint64_t seed)
{
    const dyvm_config &c = m.c();
    const int64_t E = c.E;
    dyvm_rng r;
    dyvm_rng_seed(&r, seed);
    vec xz = randn(&r, (size_t)(B * L * 2 * E), 1.0f);
    const std::vector<int32_t> list = image_list(B, mask);
    const int64_t n = (int64_t)list.size();
    const int layer = 1;
    const dyvm_ssm_weights *w = &m.w.layers[layer].dir[dir];
    vec ref = cpu_branch(m, layer, dir, xz.data(), list, B, L), y((size_t)(B * L * E), NAN);
    branch_in in = branch_inputs(m, w, xz.data(), list.data(), n, L, dir);
    const zero_skipped_params zp = {y.data(), list.data(), n, B, L, E};
    for (int64_t i = 0; i < B * L * E; i++) zero_skipped_at(zp, i);
    const scan_params sp = {in.xc.data(), in.dpre.data(), in.dbl.data(), xz.data(), y.data(), w->A, w->Dskip, w->dt_b,
                            list.data(), n, L, E, c.N, c.R, dir};
    for (int64_t i = 0; i < n * E; i++) {
        if (c.N <= 16) scan_v1_at<16>(sp, i);
        else scan_v1_at<64>(sp, i);
    }
    char what[200];
    snprintf(what, sizeof what, "scan v1 (N %lld): %s, %lld of %lld images, L %lld: conv_silu_at, scan_v1_at, zero_skipped_at vs cpu ssm_branch",
             (long long)c.N, dir ? "backward" : "forward", (long long)n, (long long)B, (long long)L);
    compare_check(what, y.data(), ref.data(), y.size(), TOL);
}

/* scan v2 on the CPU: the grid of blocks one after the other; in each block, per tile, every thread's share of
 * the load, then every thread's steps (what the two barriers order on the GPU) */
template <int N>
static void run_scan_v2(const scan2_params &p, int threads)
{
    enum { T = SCAN2_TILE };
    std::fill(p.y, p.y + p.B * p.L * p.E, 0.0f); /* the launcher's memset */
    const int64_t rows = p.n_img[0] + p.n_img[1], xblocks = (p.E + threads - 1) / threads;
    std::vector<float> tile((size_t)(T * 2 * N));
    std::vector<float> s((size_t)(threads * N)), a2((size_t)(threads * N));
    for (int64_t row = 0; row < rows; row++) {
        const scan2_row r = scan2_row_of(p, row);
        for (int64_t xb = 0; xb < xblocks; xb++) {
            for (int t = 0; t < threads; t++) {
                const int64_t e = xb * threads + t;
                if (e < p.E) scan2_init<N>(p, r, e, &s[(size_t)t * N], &a2[(size_t)t * N]);
            }
            for (int64_t k0 = 0; k0 < p.L; k0 += T) {
                std::fill(tile.begin(), tile.end(), NAN); /* a step past L must never be read */
                for (int t = 0; t < threads; t++)
                    for (int k = t; k < T * 2 * N; k += threads) scan2_load_at<N>(p, r, k0, tile.data(), k);
                for (int t = 0; t < threads; t++) {
                    const int64_t e = xb * threads + t;
                    if (e < p.E) scan2_steps<N, T>(p, r, e, k0, tile.data(), &s[(size_t)t * N], &a2[(size_t)t * N]);
                }
            }
        }
    }
}

/* both directions in one pass with scan v2 against (cpu y_f + cpu y_b) / 2, each direction on its own subset */
static void branches_v2(const model &m, int64_t B, int64_t L, unsigned mask_f, unsigned mask_b, uint64_t seed)
{
    const dyvm_config &c = m.c();
    const int64_t E = c.E;
    dyvm_rng r;
    dyvm_rng_seed(&r, seed);
    vec xz = randn(&r, (size_t)(B * L * 2 * E), 1.0f);
    const int layer = 2;
    const std::vector<int32_t> lf = image_list(B, mask_f), lb = image_list(B, mask_b);
    vec yf = cpu_branch(m, layer, 0, xz.data(), lf, B, L), yb = cpu_branch(m, layer, 1, xz.data(), lb, B, L);
    vec ref((size_t)(B * L * E)), y((size_t)(B * L * E), NAN);
    for (size_t i = 0; i < ref.size(); i++) ref[i] = (yf[i] + yb[i]) / 2.0f; /* the CPU's combine */
    const dyvm_ssm_weights *wf = &m.w.layers[layer].dir[0], *wb = &m.w.layers[layer].dir[1];
    branch_in inf = branch_inputs(m, wf, xz.data(), lf.data(), (int64_t)lf.size(), L, 0);
    branch_in inb = branch_inputs(m, wb, xz.data(), lb.data(), (int64_t)lb.size(), L, 1);
    scan2_params p = {};
    p.u[0] = inf.xc.data(), p.u[1] = inb.xc.data(), p.dpre[0] = inf.dpre.data(), p.dpre[1] = inb.dpre.data();
    p.dbl[0] = inf.dbl.data(), p.dbl[1] = inb.dbl.data(), p.xz = xz.data(), p.y = y.data();
    p.A[0] = wf->A, p.A[1] = wb->A, p.Dskip[0] = wf->Dskip, p.Dskip[1] = wb->Dskip, p.dt_bias[0] = wf->dt_b;
    p.dt_bias[1] = wb->dt_b, p.images[0] = lf.data(), p.images[1] = lb.data();
    p.n_img[0] = (int64_t)lf.size(), p.n_img[1] = (int64_t)lb.size(), p.B = B, p.L = L, p.E = E, p.N = c.N, p.R = c.R;
    /* 48 threads per block: E = 64 leaves a partial second block, as E = 192 (Vim-T) does with 128 */
    if (c.N == 16) run_scan_v2<16>(p, 48);
    else if (c.N == 32) run_scan_v2<32>(p, 48);
    else return (void)check(0, "scan v2 test: no instantiation for N %lld", (long long)c.N);
    char what[200];
    snprintf(what, sizeof what, "scan v2 (N %lld): both directions, forward %zu and backward %zu of %lld images, L %lld vs (cpu y_f + y_b) / 2",
             (long long)c.N, lf.size(), lb.size(), (long long)B, (long long)L);
    compare_check(what, y.data(), ref.data(), y.size(), TOL);
}

/* combine + out_proj, as cu_combine_out_proj with v1 */
static void combine(const model &m, int64_t rows, uint64_t seed)
{
    const dyvm_config &c = m.c();
    dyvm_rng r;
    dyvm_rng_seed(&r, seed);
    vec yf = randn(&r, (size_t)(rows * c.E), 1.0f), yb = randn(&r, (size_t)(rows * c.E), 1.0f);
    vec yf2 = yf, ref((size_t)(rows * c.D)), h((size_t)(rows * c.D), NAN);
    m.cpu->combine_out_proj(m.cpu, &m.w.layers[0], yf.data(), yb.data(), ref.data(), rows);
    const combine_params cp = {yf2.data(), yb.data(), rows * c.E};
    for (int64_t i = 0; i < rows * c.E; i++) combine_at(cp, i);
    cpu_gemm_xwt(yf2.data(), c.E, m.w.layers[0].out_proj, c.E, h.data(), c.D, rows, c.E, c.D);
    compare_check("combine_at + out_proj vs cpu combine_out_proj", h.data(), ref.data(), h.size(), TOL);
}

/* the head: features from the CPU (the norm cooperates), the GEMM, add_bias_at */
static void head_bias(const model &m, int64_t B, uint64_t seed)
{
    const dyvm_config &c = m.c();
    const int64_t L = c.M + 1, C = c.classes;
    dyvm_rng r;
    dyvm_rng_seed(&r, seed);
    vec h = randn(&r, (size_t)(B * L * c.D), 1.0f), res = randn(&r, (size_t)(B * L * c.D), 1.0f);
    vec f((size_t)(B * c.D)), ref((size_t)(B * C)), lg((size_t)(B * C), NAN);
    m.cpu->head(m.cpu, h.data(), res.data(), B, L, c.cls_pos, f.data(), ref.data());
    cpu_gemm_xwt(f.data(), c.D, m.w.head_w, c.D, lg.data(), C, B, c.D, C);
    const bias_params bp = {lg.data(), m.w.head_b, B, C};
    for (int64_t i = 0; i < B * C; i++) add_bias_at(bp, i);
    compare_check("head: GEMM + add_bias_at vs cpu head logits", lg.data(), ref.data(), lg.size(), TOL);
}

/* the predictor: LayerNorm here (its kernel cooperates), then the linears and the bodies of bias_gelu,
 * global_mean, add_bias and log_softmax0, as cu_predictor_scores */
static void predictor(const model &m, int64_t B, int64_t L, uint64_t seed)
{
    const dyvm_config &c = m.c();
    const dyvm_predictor_weights *p = &m.w.predictors[0];
    const int64_t D = c.D, n = L - 1, rows = B * n, H = D / 2, Q = D / 4, cls = n / 2;
    dyvm_rng r;
    dyvm_rng_seed(&r, seed);
    vec h = randn(&r, (size_t)(B * L * D), 1.0f), res = randn(&r, (size_t)(B * L * D), 1.0f), ref((size_t)rows);
    m.cpu->predictor_scores(m.cpu, 0, h.data(), res.data(), B, L, cls, ref.data());
    vec o((size_t)(rows * D)), a((size_t)(rows * D)), x1((size_t)(rows * H)), x2((size_t)(rows * Q)), x3((size_t)(rows * 2));
    vec sc((size_t)rows, NAN);
    for (int64_t row = 0; row < rows; row++) {
        const int64_t b = row / n, t = row % n, src = (b * L + (t < cls ? t : t + 1)) * D;
        double mean = 0, var = 0;
        for (int64_t d = 0; d < D; d++) mean += (double)h[src + d] + res[src + d];
        mean /= (double)D;
        for (int64_t d = 0; d < D; d++) var += ((double)h[src + d] + res[src + d] - mean) * ((double)h[src + d] + res[src + d] - mean);
        const double rstd = 1.0 / sqrt(var / (double)D + 1e-5);
        for (int64_t d = 0; d < D; d++)
            o[row * D + d] = (float)(((double)h[src + d] + res[src + d] - mean) * rstd * p->ln_w[d] + p->ln_b[d]);
    }
    cpu_gemm_xwt(o.data(), D, p->in_w, D, a.data(), D, rows, D, D);
    const bias_gelu_params g0 = {a.data(), p->in_b, rows, D};
    for (int64_t i = 0; i < rows * D; i++) bias_gelu_at(g0, i);
    const global_mean_params gm = {a.data(), B, n, D};
    for (int64_t i = 0; i < B * H; i++) global_mean_at(gm, i);
    cpu_gemm_xwt(a.data(), D, p->out0_w, D, x1.data(), H, rows, D, H);
    const bias_gelu_params g1 = {x1.data(), p->out0_b, rows, H};
    for (int64_t i = 0; i < rows * H; i++) bias_gelu_at(g1, i);
    cpu_gemm_xwt(x1.data(), H, p->out2_w, H, x2.data(), Q, rows, H, Q);
    const bias_gelu_params g2 = {x2.data(), p->out2_b, rows, Q};
    for (int64_t i = 0; i < rows * Q; i++) bias_gelu_at(g2, i);
    cpu_gemm_xwt(x2.data(), Q, p->out4_w, Q, x3.data(), 2, rows, Q, 2);
    const bias_params b4 = {x3.data(), p->out4_b, rows, 2};
    for (int64_t i = 0; i < rows * 2; i++) add_bias_at(b4, i);
    const score_params sp = {x3.data(), sc.data(), rows};
    for (int64_t i = 0; i < rows; i++) log_softmax0_at(sp, i);
    char what[160];
    snprintf(what, sizeof what, "predictor B %lld n %lld: bias_gelu_at, global_mean_at, add_bias_at, log_softmax0_at vs cpu predictor_scores",
             (long long)B, (long long)n);
    compare_check(what, sc.data(), ref.data(), sc.size(), TOL);
}

/* the top-k kernel's ranking on the CPU: kept when fewer than n_keep rank before it, in ascending order */
static void top_k_emulated(const float *s, int64_t B, int64_t n, int64_t nk, int32_t *keep)
{
    for (int64_t b = 0; b < B; b++) {
        int64_t at = 0;
        for (int64_t i = 0; i < n; i++) {
            int64_t rank = 0;
            for (int64_t j = 0; j < n; j++) rank += ranks_before(s[b * n + j], j, s[b * n + i], i);
            if (rank < nk) keep[b * nk + at++] = (int32_t)i;
        }
    }
}

/* top-k with a tie planted exactly at the keep cut and NaN scores, then the gather of what it kept */
static void select_tokens(const model &m, int64_t B, int64_t L, uint64_t seed)
{
    const dyvm_config &c = m.c();
    const int64_t D = c.D, n = L - 1, nk = (2 * n) / 3, cls = n / 2;
    dyvm_rng r;
    dyvm_rng_seed(&r, seed);
    vec s = randn(&r, (size_t)(B * n), 1.0f);
    plant_top_k_ties(s.data(), B, n, nk);
    std::vector<int32_t> ref((size_t)(B * nk)), got((size_t)(B * nk), -1);
    m.cpu->top_k(m.cpu, s.data(), B, n, nk, ref.data());
    top_k_emulated(s.data(), B, n, nk, got.data());
    char what[160];
    snprintf(what, sizeof what, "top-k %lld of %lld, B %lld, tie at the cut, NaN scores: ranks_before vs cpu top_k",
             (long long)nk, (long long)n, (long long)B);
    compare_check_i32(what, got.data(), ref.data(), got.size());
    /* gather from those indices */
    vec h = randn(&r, (size_t)(B * L * D), 1.0f), res = randn(&r, (size_t)(B * L * D), 1.0f);
    std::vector<int32_t> pos((size_t)(B * n)), po_ref((size_t)(B * nk)), po((size_t)(B * nk), -1);
    for (int64_t i = 0; i < B * n; i++) pos[i] = (int32_t)((i * 7) % 1000);
    const size_t no = (size_t)(B * (nk + 1) * D);
    vec ho_ref(no), ro_ref(no), ho(no, NAN), ro(no, NAN);
    m.cpu->gather(m.cpu, h.data(), res.data(), pos.data(), ref.data(), B, L, cls, nk, ho_ref.data(), ro_ref.data(),
                  po_ref.data());
    const gather_params gp = {h.data(), res.data(), pos.data(), ref.data(), ho.data(), ro.data(), po.data(), B, L, D, cls, nk};
    for (int64_t i = 0; i < B * (nk + 1) * D; i++) gather_at(gp, i);
    snprintf(what, sizeof what, "gather_at h, %lld kept of %lld, B %lld vs cpu gather", (long long)nk, (long long)n, (long long)B);
    compare_check(what, ho.data(), ho_ref.data(), no, 0.0);
    compare_check("gather_at r vs cpu gather", ro.data(), ro_ref.data(), no, 0.0);
    compare_check_i32("gather_at positions vs cpu gather", po.data(), po_ref.data(), po.size());
}

int main(void)
{
    const uint64_t seed = 9100;
    printf("# seeds from %llu; weights: the tiny preset (N 16, and N 32), weights seed 7\n", (unsigned long long)seed);
    for (int64_t N : {16, 32}) {
        model m;
        if (!make_model(&m, N)) continue;
        const dyvm_config &c = m.c();
        const int64_t L_odd = c.M + 1, L_even = c.M; /* M is even: M + 1 tokens before pruning */
        uint64_t k = seed + (uint64_t)N * 1000;
        if (N == 16) {
            for (int64_t B : {1, 5}) {
                embed(m, B, k++);
                combine(m, B * L_odd, k++);
                head_bias(m, B, k++);
                predictor(m, B, L_odd, k++);
                predictor(m, B, L_even + 1, k++);
                select_tokens(m, B, L_odd, k++);
                select_tokens(m, B, L_even + 1, k++);
            }
        }
        for (int64_t B : {1, 5})
            for (int64_t L : {L_odd, L_even})
                for (int dir = 0; dir < 2; dir++) {
                    branch_v1(m, B, L, dir, (1u << B) - 1, k++);          /* every image */
                    if (B > 1) branch_v1(m, B, L, dir, 0x15u, k++);     /* images 0, 2, 4 */
                }
        branch_v1(m, 5, L_odd, 0, 0u, k++); /* none: every row zero */
        for (int64_t L : {L_odd, L_even, (int64_t)40, (int64_t)70}) { /* 40, 70: more than one tile */
            branches_v2(m, 1, L, 1u, 1u, k++);
            branches_v2(m, 5, L, 0x1fu, 0x1fu, k++);
            branches_v2(m, 5, L, 0x15u, 0x0eu, k++); /* forward 0, 2, 4; backward 1, 2, 3 */
            branches_v2(m, 5, L, 0x06u, 0u, k++);    /* backward none; images 0, 3, 4 run neither */
        }
        m.cpu->destroy(m.cpu);
        dyvm_weights_free(&m.w);
    }
    return check_summary();
}
