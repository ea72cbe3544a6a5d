/* A CPU stand-in for the CUDA backend, linked into build/tests/test_cuda_fake in place of kernels/: the CPU
 * backend, with its copies and waits counted as the CUDA backend counts them (upload, download and sync
 * wait; upload_async does not), and with scan 2 the contract of a backend that fuses the directions
 * (backend.h: the backward branch writes (y_f + y_b) / 2 into the forward branch's y, which has no y of its
 * own, and combine_out_proj ignores y_b). It lets tests/test_cuda.c run here, where there is no GPU: the
 * test's own logic, the waits of the host per forward as the graph makes them, and the graph's path for a
 * backend that fuses the directions. Every number it produces is the CPU's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_ops.h"
#include "cuda_backend.h"

enum { MAX_FAKES = 8 };
static struct fake {
    dyvm_backend *be, *cpu; /* the stand-in (a copy of the CPU backend's table) and the CPU backend */
    float *y_fwd, *part[2]; /* fused: where the mean goes, each direction's output */
    size_t part_n;
} fakes[MAX_FAKES];

static struct fake *fake_of(dyvm_backend *be)
{
    for (int i = 0; i < MAX_FAKES; i++)
        if (fakes[i].be == be) return &fakes[i];
    fprintf(stderr, "fake_cuda: unknown backend\n");
    abort();
}

static void fake_upload(dyvm_backend *be, void *dst, const void *src, size_t bytes)
{
    memcpy(dst, src, bytes);
    be->host_syncs++;
}
static void fake_upload_async(dyvm_backend *be, void *dst, const void *src, size_t bytes)
{
    (void)be;
    memcpy(dst, src, bytes);
}
static void fake_download(dyvm_backend *be, void *dst, const void *src, size_t bytes)
{
    memcpy(dst, src, bytes);
    be->host_syncs++;
}
static void fake_sync(dyvm_backend *be) { be->host_syncs++; }

static void fake_ssm_branch(dyvm_backend *be, const dyvm_branch_args *a)
{
    struct fake *f = fake_of(be);
    if (!be->fuses_directions) return cpu_ssm_branch(be, a);
    const size_t n = (size_t)(a->B * a->L * be->w->cfg.E);
    if (n > f->part_n) {
        free(f->part[0]), free(f->part[1]);
        f->part[0] = malloc(n * sizeof(float)), f->part[1] = malloc(n * sizeof(float));
        if (!f->part[0] || !f->part[1]) abort();
        f->part_n = n;
    }
    dyvm_branch_args own = *a;
    own.y = f->part[a->dir];
    cpu_ssm_branch(be, &own);
    if (a->dir == DIR_FWD) {
        f->y_fwd = a->y;
        return;
    }
    for (size_t i = 0; i < n; i++) f->y_fwd[i] = (f->part[0][i] + f->part[1][i]) / 2.0f;
}

static void fake_combine_out_proj(dyvm_backend *be, const dyvm_layer_weights *lw, float *y_f, const float *y_b,
                                  float *h, int64_t rows)
{
    if (!be->fuses_directions) return cpu_combine_out_proj(be, lw, y_f, y_b, h, rows);
    cpu_linear(be, STAGE_OUT_PROJ, y_f, lw->out_proj, h, rows, be->w->cfg.E, be->w->cfg.D);
}

static void fake_destroy(dyvm_backend *be)
{
    struct fake *f = fake_of(be);
    free(f->part[0]), free(f->part[1]);
    f->cpu->destroy(f->cpu);
    memset(f, 0, sizeof *f);
    free(be);
}

int dyvm_cuda_available(char *why, size_t len)
{
    snprintf(why, len, "the CPU stand-in of tests/fake_cuda.c");
    return 1;
}

dyvm_backend *dyvm_cuda_backend(const dyvm_weights *host, const dyvm_cuda_opts *opts, char *err, size_t errlen)
{
    struct fake *f = NULL;
    for (int i = 0; i < MAX_FAKES && !f; i++)
        if (!fakes[i].be) f = &fakes[i];
    dyvm_backend *cpu = dyvm_cpu_backend(host), *be = malloc(sizeof *be);
    if (!f || !cpu || !be) {
        snprintf(err, errlen, "fake_cuda: no room for another backend");
        return NULL;
    }
    *be = *cpu; /* the same context: the CPU ops find their scratch through be->ctx */
    be->name = "cuda";
    be->upload = fake_upload, be->upload_async = fake_upload_async, be->download = fake_download;
    be->sync = fake_sync, be->ssm_branch = fake_ssm_branch, be->combine_out_proj = fake_combine_out_proj;
    be->destroy = fake_destroy;
    be->fuses_directions = opts && opts->scan == 2; /* scan v2 fuses the directions */
    f->be = be, f->cpu = cpu;
    return be;
}

int dyvm_cuda_hold_memory(size_t leave)
{
    (void)leave;
    return -1;
}

void dyvm_cuda_release_held(void) {}

int dyvm_cuda_measure_peaks(dyvm_cuda_gemm_rate *gemms, int n_gemms, dyvm_cuda_rates *rates, char *err,
                            size_t errlen)
{
    (void)gemms, (void)n_gemms, (void)rates;
    snprintf(err, errlen, "the CPU stand-in measures no peaks");
    return -1;
}
