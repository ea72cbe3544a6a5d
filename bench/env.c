#include "env.h"

#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cpu_isa.h"

#ifndef DYVM_COMMIT
#define DYVM_COMMIT "unknown"
#endif
#ifndef DYVM_CFLAGS
#define DYVM_CFLAGS "unknown"
#endif

char *openblas_get_config(void);
int openblas_get_parallel(void); /* 0 sequential, 1 pthreads, 2 OpenMP */

static void cpu_model(char *buf, size_t len)
{
    snprintf(buf, len, "unknown");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f) return;
    char line[512];
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "model name", 10)) {
            const char *v = strchr(line, ':');
            if (v) {
                v++;
                while (*v == ' ') v++;
                snprintf(buf, len, "%s", v);
                buf[strcspn(buf, "\n")] = 0;
            }
            break;
        }
    fclose(f);
}

void dyvm_env_collect(dyvm_env *e, const char *backend, const char *device)
{
    memset(e, 0, sizeof *e);
    cpu_model(e->cpu, sizeof e->cpu);
    e->cores = (int)sysconf(_SC_NPROCESSORS_ONLN);
    e->threads = omp_get_max_threads();
    snprintf(e->blas, sizeof e->blas, "%s", openblas_get_config());
    const int par = openblas_get_parallel();
    snprintf(e->blas_threading, sizeof e->blas_threading, "%s",
             par == 2 ? "OpenMP (called single-threaded per tile)" : par == 1 ? "pthreads" : "sequential");
    snprintf(e->compiler, sizeof e->compiler, "gcc %s", __VERSION__);
    snprintf(e->cflags, sizeof e->cflags, "%s", DYVM_CFLAGS);
    snprintf(e->commit, sizeof e->commit, "%s", DYVM_COMMIT);
    time_t now = time(NULL);
    strftime(e->date, sizeof e->date, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    if (gethostname(e->host, sizeof e->host - 1)) snprintf(e->host, sizeof e->host, "unknown");
    snprintf(e->backend, sizeof e->backend, "%s", backend);
    snprintf(e->device, sizeof e->device, "%s", device ? device : "");
    dyvm_blas_info_get(&e->blas_core);
    const dyvm_cpu_kernels *k = dyvm_isa_kernels();
    snprintf(e->isa, sizeof e->isa, "%s", k->name);
    snprintf(e->isa_desc, sizeof e->isa_desc, "%s", k->desc);
    dyvm_isa_list(e->isas, sizeof e->isas);
}

cJSON *dyvm_env_json(const dyvm_env *e)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "cpu", e->cpu);
    cJSON_AddNumberToObject(j, "cores", e->cores);
    cJSON_AddNumberToObject(j, "threads", e->threads);
    cJSON_AddStringToObject(j, "openblas", e->blas);
    cJSON_AddStringToObject(j, "openblas_threading", e->blas_threading);
    cJSON_AddStringToObject(j, "blas_core", e->blas_core.core);
    if (e->blas_core.detected[0]) cJSON_AddStringToObject(j, "blas_core_detected", e->blas_core.detected);
    cJSON_AddStringToObject(j, "blas_core_source", e->blas_core.source);
    cJSON_AddStringToObject(j, "blas_core_best", e->blas_core.best);
    cJSON_AddStringToObject(j, "cpu_features", e->blas_core.features);
    cJSON_AddStringToObject(j, "isa", e->isa);
    cJSON_AddStringToObject(j, "isa_desc", e->isa_desc);
    cJSON_AddStringToObject(j, "isas_supported", e->isas);
    cJSON_AddStringToObject(j, "compiler", e->compiler);
    cJSON_AddStringToObject(j, "cflags", e->cflags);
    cJSON_AddStringToObject(j, "commit", e->commit);
    cJSON_AddStringToObject(j, "date", e->date);
    cJSON_AddStringToObject(j, "host", e->host);
    cJSON_AddStringToObject(j, "backend", e->backend);
    if (e->device[0]) cJSON_AddStringToObject(j, "device", e->device);
    if (e->rounds) {
        cJSON_AddNumberToObject(j, "rounds", e->rounds);
        cJSON_AddNumberToObject(j, "order_seed", (double)e->order_seed);
        cJSON_AddNumberToObject(j, "bootstrap_reps", (double)e->bootstrap_reps);
        cJSON_AddItemToObject(j, "load", dyvm_load_json(&e->load));
    }
    if (e->peaks) cJSON_AddItemToObject(j, "peaks", dyvm_peaks_json(e->peaks));
    if (e->cpu_peaks) cJSON_AddItemToObject(j, "cpu_peaks", dyvm_peaks_json(e->cpu_peaks));
    if (e->peaks_end) cJSON_AddItemToObject(j, "peaks_end", dyvm_peaks_json(e->peaks_end));
    return j;
}

void dyvm_env_markdown(const dyvm_env *e, FILE *f)
{
    fprintf(f, "| environment | |\n|---|---|\n");
    fprintf(f, "| backend | %s |\n", e->backend);
    if (e->device[0]) fprintf(f, "| device | %s |\n", e->device);
    fprintf(f, "| CPU | %s, %d cores online |\n| threads | %d (OpenMP) |\n", e->cpu, e->cores, e->threads);
    fprintf(f, "| OpenBLAS | %s; threading: %s |\n", e->blas, e->blas_threading);
    fprintf(f, "| OpenBLAS core | %s (%s%s%s; best for this CPU: %s) |\n", e->blas_core.core, e->blas_core.source,
            e->blas_core.detected[0] ? "; OpenBLAS had picked " : "", e->blas_core.detected, e->blas_core.best);
    fprintf(f, "| CPU features | %s |\n", e->blas_core.features);
    fprintf(f, "| ISA | %s: %s (this CPU supports: %s; `--isa` chooses) |\n", e->isa, e->isa_desc, e->isas);
    fprintf(f, "| compiler | %s |\n| flags | `%s` (the ISA kernels: their own -march each) |\n", e->compiler, e->cflags);
    fprintf(f, "| commit | %s |\n| date | %s |\n| host | %s |\n", e->commit, e->date, e->host);
    if (e->rounds) {
        fprintf(f, "| rounds | %d, each in an order shuffled from seed %llu; intervals: %zu bootstrap replicates |\n",
                e->rounds, (unsigned long long)e->order_seed, e->bootstrap_reps);
        dyvm_load_markdown(&e->load, f);
    }
    if (e->peaks) dyvm_peaks_markdown(e->peaks, f);
    if (e->cpu_peaks) fprintf(f, "| host CPU | |\n"), dyvm_peaks_markdown(e->cpu_peaks, f);
    if (e->peaks && e->peaks_end && e->peaks->measured && e->peaks_end->measured) {
        const dyvm_peaks *a = e->peaks, *b = e->peaks_end;
        fprintf(f, "| roofs measured again before the sol suite | sgemm %.1f GFLOP/s (%.2f× the start's), FMA %.1f "
                   "(%.2f×), exp %.3g/s (%.2f×), memory %.1f GB/s (%.2f×)",
                b->sgemm_gflops, b->sgemm_gflops / a->sgemm_gflops, b->fma_gflops, b->fma_gflops / a->fma_gflops,
                b->exp_per_s, b->exp_per_s / a->exp_per_s, b->bandwidth_gbs, b->bandwidth_gbs / a->bandwidth_gbs);
        if (a->cache_gbs > 0 && b->cache_gbs > 0)
            fprintf(f, ", last-level cache %.1f GB/s (%.2f×)", b->cache_gbs, b->cache_gbs / a->cache_gbs);
        fprintf(f, ": the machine's drift over the run; every floor uses the start's roofs |\n");
    }
}
