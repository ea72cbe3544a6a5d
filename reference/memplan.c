#include "memplan.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* floats padded to 16 (64 bytes), as the weights arena slices them */
static double padded(double n) { return 16.0 * (double)(((int64_t)n + 15) / 16); }

double dyvm_weights_bytes(const dyvm_config *c)
{
    const double D = (double)c->D, E = (double)c->E, N = (double)c->N, R = (double)c->R, K = (double)c->K,
                 P = (double)c->patch, H = (double)(c->D / 2), Q = (double)(c->D / 4);
    double f = padded(D * (double)c->channels * P * P) + padded(D) + padded(D) + padded(((double)c->M + 1) * D);
    const double per_dir = padded(E * K) + padded(E) + padded((R + 2 * N) * E) + padded(E * R) + padded(E) +
                           padded(E * N) + padded(E) + padded(E * N) /* A */ + padded(K * E) /* conv_wt */;
    const double per_layer = padded(D) + padded(2 * E * D) + 2 * per_dir + padded(D * E) + padded(2 * 2 * E) + padded(2);
    f += (double)c->depth * per_layer;
    const double per_pred = 2 * padded(D) + padded(D * D) + padded(D) + padded(H * D) + padded(H) + padded(Q * H) +
                            padded(Q) + padded(2 * Q) + padded(2);
    f += (double)c->n_prune * per_pred;
    f += padded(D) + padded((double)c->classes * D) + padded((double)c->classes);
    return 4.0 * f;
}

void dyvm_graph_buffer_bytes(const dyvm_config *c, int64_t B_, double bytes[DYVM_GRAPH_BUFFERS])
{
    const double B = (double)B_, L = (double)c->M + 1, D = (double)c->D, E = (double)c->E, f = 4.0;
    const double b[DYVM_GRAPH_BUFFERS] = {
        B * L * D * f, B * L * D * f, B * L * D * f, B * L * D * f, B * L * D * f, /* h, r, u, h2, r2 */
        B * L * 2 * E * f, B * L * E * f, B * L * E * f,                       /* xz, y per direction */
        B * L * f, B * L * 4, B * L * 4, B * L * 4, B * L * 4,                 /* scores, keep, pos, pos2, iota */
        B * (double)c->channels * (double)c->img * (double)c->img * f,          /* images */
        B * D * f, B * (double)c->classes * f, B * 2 * f,                       /* features, logits, block logits */
        (double)c->depth * 2 * B * 4};                                          /* each branch's image list */
    memcpy(bytes, b, sizeof b);
}

const char *const dyvm_graph_buffer_names[DYVM_GRAPH_BUFFERS] = {
    "h", "r", "u", "h2", "r2", "xz", "y_fwd", "y_bwd", "scores", "keep", "pos", "pos2", "iota", "images",
    "features", "logits", "block logits", "branch image lists"};

double dyvm_scratch_bytes(const dyvm_config *c, int64_t B_, bool fused)
{
    const double B = (double)B_, L = (double)c->M + 1, M = (double)c->M, D = (double)c->D, E = (double)c->E,
                 N = (double)c->N, R = (double)c->R, cpp = (double)(c->channels * c->patch * c->patch);
    /* the ops' scratch at its largest (cpu_ops.c, cpu_ssm.c, cuda_backend.cu), grown by a quarter when it grows */
    double s = B * M * (cpp + D);                                   /* patch columns */
    const double pred = B * M * (2 * D + D / 2 + D / 4 + 2);        /* predictor */
    const double ssm = (fused ? 2 : 1) * B * L * (2 * E + R + 2 * N); /* conv output, x_proj, dt_proj */
    s = s > pred ? s : pred;
    s = s > ssm ? s : ssm;
    return 1.25 * 4.0 * s;
}

void dyvm_memory_plan(const dyvm_config *c, int64_t B_, bool on_host, bool capture, dyvm_mem_plan *p)
{
    memset(p, 0, sizeof *p);
    const double B = (double)B_, L = (double)c->M + 1, M = (double)c->M, D = (double)c->D;
    p->weights = dyvm_weights_bytes(c);
    double buf[DYVM_GRAPH_BUFFERS], graph = 0;
    dyvm_graph_buffer_bytes(c, B_, buf);
    for (int i = 0; i < DYVM_GRAPH_BUFFERS; i++) graph += buf[i];
    p->inputs = buf[DYVM_GRAPH_IMAGES];
    /* a result: logits, features, block policy, kept indices (and the captured streams) */
    p->results = 4.0 * B * ((double)c->classes + D + 2 * (double)c->depth + (double)c->n_prune * M) +
                 (capture ? 4.0 * B * (double)c->depth * L * D : 0);
    p->scratch = dyvm_scratch_bytes(c, B_, false);
    p->activations = graph - p->inputs;
    if (!on_host) p->activations = p->scratch = 0; /* on the device: the CUDA allocator says when it runs out */
    p->total = p->weights + p->activations + p->scratch + p->inputs + p->results;
}

double dyvm_memory_available(void)
{
    FILE *f = fopen("/proc/meminfo", "r");
    if (f) {
        char line[256];
        unsigned long long kb;
        while (fgets(line, sizeof line, f))
            if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1) {
                fclose(f);
                return 1024.0 * (double)kb;
            }
        fclose(f);
    }
    const long pages = sysconf(_SC_AVPHYS_PAGES), size = sysconf(_SC_PAGESIZE);
    return pages > 0 && size > 0 ? (double)pages * (double)size : 1e18; /* unknown: do not refuse */
}

const char *dyvm_bytes_str(double b, char *buf, size_t len)
{
    const char *u[] = {"bytes", "kB", "MB", "GB", "TB", "PB", "EB"};
    int i = 0;
    double v = b;
    while (v >= 1000 && i < 6) v /= 1000, i++;
    if (i == 0) snprintf(buf, len, "%.0f bytes", b);
    else snprintf(buf, len, "%.3g %s", v, u[i]);
    return buf;
}

int dyvm_memory_check(const dyvm_mem_plan *p, const char *what, char *err, size_t errlen)
{
    const double avail = dyvm_memory_available();
    if (p->total <= avail) return 0;
    char t[32], w[32], a[32], s[32], i[32], r[32], m[32];
    snprintf(err, errlen, "%s needs %s (%.0f bytes: weights %s, activations %s, scratch %s, inputs %s, results %s); "
             "this machine has %s available",
             what, dyvm_bytes_str(p->total, t, sizeof t), p->total, dyvm_bytes_str(p->weights, w, sizeof w),
             dyvm_bytes_str(p->activations, a, sizeof a), dyvm_bytes_str(p->scratch, s, sizeof s),
             dyvm_bytes_str(p->inputs, i, sizeof i), dyvm_bytes_str(p->results, r, sizeof r),
             dyvm_bytes_str(avail, m, sizeof m));
    return -1;
}
