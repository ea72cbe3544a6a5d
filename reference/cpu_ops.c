/* CPU reference ops: the PyTorch line each step implements is written above it. */
#include "cpu_ops.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_isa.h"

void cpu_scratch_reserve(cpu_scratch *s, size_t bytes)
{
    if (bytes <= s->size) return;
    free(s->p);
    if (s->be) dyvm_mem_add(s->be, (int64_t)bytes - (int64_t)s->size);
    s->size = bytes;
    s->p = aligned_alloc(64, (s->size + 63) & ~(size_t)63);
    if (!s->p) abort(); /* the graph sized everything up front; running out here is not recoverable */
}

float *cpu_scratch_get(cpu_scratch *s, size_t floats)
{
    size_t bytes = floats * sizeof(float);
    if (bytes > s->size) cpu_scratch_reserve(s, bytes + bytes / 4);
    return s->p;
}

static cpu_ctx *ctx(dyvm_backend *be) { return be->ctx; }

/* Matrix products are cut into fixed tiles that OpenMP threads share, each tile one single-threaded
 * OpenBLAS call (OpenBLAS runs single-threaded inside a parallel region). OpenBLAS's own threading splits
 * the work by thread count and changes the rounding of some elements; fixed tiles give the same bits for
 * any number of threads. 96 x 384, chosen by timing tile shapes against one threaded OpenBLAS call at the
 * models' shapes (2 threads, development VM, 2026-11-29): 96 x 384 reached 0.94-2.15x OpenBLAS's rate at all
 * six of Vim-T's and Vim-S's in_proj, x_proj and out_proj shapes at batch 1 and 4; 96 x 192 0.85-2.02x, 16-row
 * tiles 0.60-1.37x (every tile packs its share of the weights again). */
#define GEMM_TILE_M 96
#define GEMM_TILE_N 384

void cpu_gemm_xwt(const float *x, int64_t ldx, const float *W, int64_t ldw, float *y, int64_t ldy, int64_t rows,
                  int64_t n_in, int64_t n_out)
{
    int64_t tile_m = GEMM_TILE_M, tm = (rows + tile_m - 1) / tile_m;
    int64_t tile_n = n_out < GEMM_TILE_N ? n_out : GEMM_TILE_N, tn = (n_out + tile_n - 1) / tile_n;
    /* Few, uneven tiles (the pruned token counts and the narrow x_proj and out_proj at batch 1: 98 rows made
       96 + 2, one thread doing nearly all of it): rows split evenly and columns in two, which repacks only the
       few rows. Timed against the rule above at 13 shapes, interleaved, min of 25 (2 threads, the development
       VM): 1.14-1.59x at 69 to 139 rows, unchanged elsewhere (0.95-1.05, the same code), and 0.97-1.27x of one
       threaded OpenBLAS call at every shape. From the shape alone, so the bits stay thread-count independent. */
    if (tm * tn < 4 && tm <= 2) {
        tile_m = ((rows + tm - 1) / tm + 7) / 8 * 8;
        const int64_t half = ((n_out + 1) / 2 + 15) / 16 * 16;
        tile_n = half < 32 ? 32 : half;
        tn = (n_out + tile_n - 1) / tile_n;
    }
#pragma omp parallel for collapse(2) schedule(dynamic, 1)
    for (int64_t i = 0; i < tm; i++)
        for (int64_t j = 0; j < tn; j++) {
            const int64_t r0 = i * tile_m, c0 = j * tile_n;
            if (r0 >= rows) continue; /* rounding tile_m up can leave the last row of tiles empty */
            const int64_t m = rows - r0 < tile_m ? rows - r0 : tile_m;
            const int64_t n = n_out - c0 < tile_n ? n_out - c0 : tile_n;
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (blasint)m, (blasint)n, (blasint)n_in, 1.0f,
                        x + r0 * ldx, (blasint)ldx, W + c0 * ldw, (blasint)ldw, 0.0f, y + r0 * ldy + c0, (blasint)ldy);
        }
}

/* y (rows, n_out) = x (rows, n_in; row stride ldx) . W^T (W: n_out, n_in) */
static void gemm_xwt(const float *x, int64_t ldx, const float *W, float *y, int64_t rows, int64_t n_in,
                     int64_t n_out)
{
    cpu_gemm_xwt(x, ldx, W, n_in, y, n_out, rows, n_in, n_out);
}

static void add_bias(float *y, const float *bias, int64_t rows, int64_t n)
{
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < rows; i++)
#pragma omp simd /* the baseline build's -O2 leaves such loops scalar (same bits either way) */
        for (int64_t j = 0; j < n; j++) y[i * n + j] += bias[j];
}

void cpu_embed(dyvm_backend *be, const float *images, int64_t B, float *h)
{
    const dyvm_weights *w = ctx(be)->w;
    const dyvm_config *c = &w->cfg;
    const int64_t P = c->patch, side = c->img / P, M = c->M, D = c->D, C = c->channels, cpp = C * P * P;
    const int64_t L = M + 1, cls = c->cls_pos;
    /* cols (B*M, C*P*P): image patches unrolled in the order of patch_embed.proj.weight (D, C, P, P) */
    float *cols = cpu_scratch_get(&ctx(be)->scratch, (size_t)(B * M * cpp + B * M * D));
    float *tok = cols + B * M * cpp; /* (B*M, D) */
#pragma omp parallel for collapse(2) schedule(static)
    for (int64_t b = 0; b < B; b++)
        for (int64_t m = 0; m < M; m++) {
            const int64_t py = m / side, px = m % side;
            float *dst = cols + (b * M + m) * cpp;
            for (int64_t ch = 0; ch < C; ch++)
                for (int64_t y = 0; y < P; y++)
                    memcpy(dst + (ch * P + y) * P,
                           images + ((b * C + ch) * c->img + py * P + y) * c->img + px * P, sizeof(float) * (size_t)P);
        }
    be->work.macs[STAGE_EMBED] += (uint64_t)(B * M * D * cpp);
    be->work.elem[STAGE_EMBED] += (uint64_t)(B * (M + L) * D); /* conv bias on patches, pos_embed on all */
    /* x = self.proj(x).flatten(2).transpose(1, 2)   (conv with kernel = stride = P) */
    gemm_xwt(cols, cpp, w->patch_w, tok, B * M, cpp, D);
    /* x = torch.cat((x[:, :M // 2], cls_token, x[:, M // 2:]), dim=1); x = x + self.pos_embed */
#pragma omp parallel for collapse(2) schedule(static)
    for (int64_t b = 0; b < B; b++)
        for (int64_t t = 0; t < L; t++) {
            const float *src = t == cls ? w->cls_token : tok + (b * M + (t < cls ? t : t - 1)) * D;
            const float *bias = t == cls ? NULL : w->patch_b;
            float *dst = h + (b * L + t) * D;
            for (int64_t d = 0; d < D; d++) dst[d] = (bias ? src[d] + bias[d] : src[d]) + w->pos_embed[t * D + d];
        }
}

void cpu_add_norm(dyvm_backend *be, const float *weight, float *r, const float *h, float *u, int64_t rows, int first)
{
    const dyvm_config *c = &ctx(be)->w->cfg;
    const int64_t D = c->D;
    /* per row: D squares summed (macs), mean, eps, reciprocal, 2 scalings per element, one sqrt */
    be->work.macs[STAGE_NORM] += (uint64_t)(rows * D);
    be->work.transc[STAGE_NORM] += (uint64_t)rows;
    be->work.elem[STAGE_NORM] += (uint64_t)(rows * ((first ? 2 : 3) * D + 3));
    /* residual = hidden_states if residual is None else residual + hidden_states   (fp32 residual)
       hidden_states = RMSNorm(residual): x / sqrt(mean(x^2) + eps) * weight, the sum in float32 as the Triton
       kernel does */
    const dyvm_cpu_kernels *k = dyvm_isa_kernels();
    enum { ROWS = 8 };
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < rows; i += ROWS)
        k->add_rms_norm(r + i * D, h + i * D, weight, u + i * D, rows - i < ROWS ? rows - i : ROWS, D, c->norm_eps, first);
}

void cpu_linear(dyvm_backend *be, dyvm_stage stage, const float *x, const float *W, float *y, int64_t rows,
                int64_t n_in, int64_t n_out)
{
    be->work.macs[stage] += (uint64_t)(rows * n_in * n_out);
    gemm_xwt(x, n_in, W, y, rows, n_in, n_out);
}

void cpu_block_logits(dyvm_backend *be, const dyvm_layer_weights *lw, const float *xz, int64_t B, int64_t L,
                      int64_t cls, float *logits)
{
    const int64_t E2 = 2 * ctx(be)->w->cfg.E;
    be->work.macs[STAGE_BLOCK_HEAD] += (uint64_t)(B * 2 * E2);
    be->work.elem[STAGE_BLOCK_HEAD] += (uint64_t)(B * 2); /* bias */
    /* block_logits = self.block_head(xz[:, :, cls]) */
    for (int64_t b = 0; b < B; b++)
        for (int j = 0; j < 2; j++) {
            const float *x = xz + (b * L + cls) * E2, *wr = lw->block_head_w + j * E2;
            float acc = 0.0f;
            for (int64_t k = 0; k < E2; k++) acc += wr[k] * x[k];
            logits[b * 2 + j] = acc + lw->block_head_b[j];
        }
}

void cpu_combine_out_proj(dyvm_backend *be, const dyvm_layer_weights *lw, float *y_f, const float *y_b, float *h,
                          int64_t rows)
{
    const dyvm_config *c = &ctx(be)->w->cfg;
    const int64_t E = c->E;
    be->work.macs[STAGE_OUT_PROJ] += (uint64_t)(rows * E * c->D);
    be->work.elem[STAGE_OUT_PROJ] += (uint64_t)(rows * E * 2);
    /* out = F.linear((out + out_b.flip(-1)) / 2, self.out_proj.weight)   (if_devide_out) */
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < rows; i++)
#pragma omp simd /* as add_bias */
        for (int64_t e = 0; e < E; e++) y_f[i * E + e] = (y_f[i * E + e] + y_b[i * E + e]) / 2.0f;
    gemm_xwt(y_f, E, lw->out_proj, h, rows, E, c->D);
}

static void gelu_rows(float *x, int64_t n)
{
    const dyvm_cpu_kernels *k = dyvm_isa_kernels();
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i += 4096) k->gelu(x + i, n - i < 4096 ? n - i : 4096);
}

void cpu_predictor_scores(dyvm_backend *be, int k, const float *h, const float *r, int64_t B, int64_t L, int64_t cls,
                          float *scores)
{
    const dyvm_weights *w = ctx(be)->w;
    const dyvm_predictor_weights *p = &w->predictors[k];
    const int64_t D = w->cfg.D, n = L - 1, rows = B * n, H = D / 2, Q = D / 4;
    float *o = cpu_scratch_get(&ctx(be)->scratch, (size_t)(rows * (2 * D + H + Q + 2)));
    float *a = o + rows * D, *x1 = a + rows * D, *x2 = x1 + rows * H, *x3 = x2 + rows * Q;
    /* h + r, LayerNorm (5D + 4 elementwise, 2D macs, 1 sqrt per token), four linears with biases, three
       GELUs (4 elementwise + 1 erf each), the global mean (n * D/2 adds + D/2 divisions per image),
       log_softmax (5 elementwise + 2 exp + 1 log per token) */
    be->work.macs[STAGE_PREDICTOR] += (uint64_t)(rows * (2 * D + D * D + D * H + H * Q + Q * 2));
    be->work.transc[STAGE_PREDICTOR] += (uint64_t)(rows * (1 + D + H + Q + 3));
    be->work.elem[STAGE_PREDICTOR] += (uint64_t)(rows * (5 * D + 4 + D + 4 * D + H + 4 * H + Q + 4 * Q + 2 + 5) +
                                                 B * H);
    be->work.elem[STAGE_PREDICTOR] += (uint64_t)(rows * H); /* the global sum */
    /* x = LayerNorm(other_t + other_r)   (the class token split off, the others in order) */
#pragma omp parallel for collapse(2) schedule(static)
    for (int64_t b = 0; b < B; b++)
        for (int64_t t = 0; t < n; t++) {
            const int64_t src = (b * L + (t < cls ? t : t + 1)) * D;
            float *x = o + (b * n + t) * D;
            float mean = 0.0f, var = 0.0f;
            for (int64_t d = 0; d < D; d++) x[d] = h[src + d] + r[src + d], mean += x[d];
            mean /= (float)D;
            for (int64_t d = 0; d < D; d++) var += (x[d] - mean) * (x[d] - mean);
            const float rstd = 1.0f / sqrtf(var / (float)D + 1e-5f);
            for (int64_t d = 0; d < D; d++) x[d] = (x[d] - mean) * rstd * p->ln_w[d] + p->ln_b[d];
        }
    /* x = GELU(Linear(x)) */
    gemm_xwt(o, D, p->in_w, a, rows, D, D);
    add_bias(a, p->in_b, rows, D);
    gelu_rows(a, rows * D);
    /* global_x = (x[:, :, C//2:] * policy).sum(dim=1, keepdim=True) / (torch.sum(policy, dim=1) + 1)
       x = torch.cat([local_x, global_x.expand(B, N, C//2)], dim=-1) */
#pragma omp parallel for schedule(static)
    for (int64_t b = 0; b < B; b++) {
        float *g = o + b * n * D; /* reuse o's first row of the image for the sum */
        for (int64_t d = H; d < D; d++) g[d] = 0.0f;
        for (int64_t t = 0; t < n; t++)
            for (int64_t d = H; d < D; d++) g[d] += a[(b * n + t) * D + d];
        for (int64_t d = H; d < D; d++) g[d] /= (float)(n + 1);
        for (int64_t t = 0; t < n; t++)
            for (int64_t d = H; d < D; d++) a[(b * n + t) * D + d] = g[d];
    }
    /* out_conv: Linear(D, D/2), GELU, Linear(D/2, D/4), GELU, Linear(D/4, 2), LogSoftmax */
    gemm_xwt(a, D, p->out0_w, x1, rows, D, H);
    add_bias(x1, p->out0_b, rows, H);
    gelu_rows(x1, rows * H);
    gemm_xwt(x1, H, p->out2_w, x2, rows, H, Q);
    add_bias(x2, p->out2_b, rows, Q);
    gelu_rows(x2, rows * Q);
    gemm_xwt(x2, Q, p->out4_w, x3, rows, Q, 2);
    add_bias(x3, p->out4_b, rows, 2);
    /* score = log_softmax(x)[..., 0] */
    for (int64_t i = 0; i < rows; i++) {
        const float x0 = x3[2 * i], x1v = x3[2 * i + 1], m = x0 > x1v ? x0 : x1v;
        scores[i] = (x0 - m) - logf(expf(x0 - m) + expf(x1v - m));
    }
}

typedef struct {
    float s;
    int32_t i;
} scored;

/* descending score, ties to the lower index; NaN sorts last */
static int by_score(const void *pa, const void *pb)
{
    const scored *a = pa, *b = pb;
    const int an = isnan(a->s), bn = isnan(b->s);
    if (an != bn) return an - bn;
    if (!an && a->s != b->s) return a->s > b->s ? -1 : 1;
    return (a->i > b->i) - (a->i < b->i);
}

static int by_value(const void *pa, const void *pb)
{
    const int32_t a = *(const int32_t *)pa, b = *(const int32_t *)pb;
    return (a > b) - (a < b);
}

void cpu_top_k(dyvm_backend *be, const float *scores, int64_t B, int64_t n, int64_t n_keep, int32_t *keep)
{
    scored *s = (scored *)cpu_scratch_get(&ctx(be)->scratch, (size_t)(2 * n));
    for (int64_t b = 0; b < B; b++) {
        /* keep_policy = torch.topk(score, k=num_keep_node, dim=1, largest=True).indices */
        for (int64_t i = 0; i < n; i++) s[i].s = scores[b * n + i], s[i].i = (int32_t)i;
        qsort(s, (size_t)n, sizeof *s, by_score);
        /* keep_policy = torch.sort(keep_policy, dim=1).values */
        for (int64_t j = 0; j < n_keep; j++) keep[b * n_keep + j] = s[j].i;
        qsort(keep + b * n_keep, (size_t)n_keep, sizeof(int32_t), by_value);
    }
}

void cpu_gather(dyvm_backend *be, const float *h, const float *r, const int32_t *pos, const int32_t *keep, int64_t B,
                int64_t L, int64_t cls, int64_t n_keep, float *h_out, float *r_out, int32_t *pos_out)
{
    const int64_t D = ctx(be)->w->cfg.D, L2 = n_keep + 1, cls2 = n_keep / 2;
    /* other_t = batch_index_select(other_t, keep_policy); cls_token_position = num_keep_node // 2
       hidden_states = torch.cat([other_t[:, :cls], cls_t, other_t[:, cls:]], dim=1)   (residual alike) */
#pragma omp parallel for collapse(2) schedule(static)
    for (int64_t b = 0; b < B; b++)
        for (int64_t t = 0; t < L2; t++) {
            int64_t src = cls;
            if (t != cls2) {
                const int64_t o = keep[b * n_keep + (t < cls2 ? t : t - 1)]; /* index among the non-class tokens */
                src = o < cls ? o : o + 1;
            }
            memcpy(h_out + (b * L2 + t) * D, h + (b * L + src) * D, sizeof(float) * (size_t)D);
            memcpy(r_out + (b * L2 + t) * D, r + (b * L + src) * D, sizeof(float) * (size_t)D);
        }
    for (int64_t b = 0; b < B; b++)
        for (int64_t j = 0; j < n_keep; j++) pos_out[b * n_keep + j] = pos[b * (L - 1) + keep[b * n_keep + j]];
}

void cpu_head(dyvm_backend *be, const float *h, const float *r, int64_t B, int64_t L, int64_t cls, float *features,
              float *logits)
{
    const dyvm_weights *w = ctx(be)->w;
    const int64_t D = w->cfg.D;
    float *x = cpu_scratch_get(&ctx(be)->scratch, (size_t)D);
    const int64_t C = w->cfg.classes;
    be->work.macs[STAGE_HEAD] += (uint64_t)(B * (D + D * C));
    be->work.transc[STAGE_HEAD] += (uint64_t)B;
    be->work.elem[STAGE_HEAD] += (uint64_t)(B * (D + 2 * D + 3 + C)); /* r + h, RMSNorm, bias */
    /* hidden_states = rms_norm_fn(hidden_states, norm_f.weight, residual=residual); cls_t = hidden_states[:, cls] */
    for (int64_t b = 0; b < B; b++) {
        const int64_t at = (b * L + cls) * D;
        memcpy(x, r + at, sizeof(float) * (size_t)D);
        dyvm_isa_kernels()->add_rms_norm(x, h + at, w->norm_f, features + b * D, 1, D, w->cfg.norm_eps, 0);
    }
    /* logits = self.head(cls_t) */
    gemm_xwt(features, D, w->head_w, logits, B, D, w->cfg.classes);
    add_bias(logits, w->head_b, B, w->cfg.classes);
}
