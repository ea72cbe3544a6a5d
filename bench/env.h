/* The environment block that goes with every report: machine, libraries (and the OpenBLAS core in use), build,
 * commit, date; for harness runs also the measured speed of light, the machine's load and the seeds. */
#ifndef DYVM_ENV_H
#define DYVM_ENV_H

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>

#include "blas_core.h"
#include "peaks.h"
#include "sysload.h"

typedef struct {
    char cpu[128];
    int cores;           /* online processors */
    int threads;         /* OpenMP threads the run uses */
    char blas[160];      /* openblas_get_config() */
    char blas_threading[48];
    char compiler[96];
    char cflags[256];
    char commit[64];     /* at build time, "-dirty" when the tree had changes */
    char date[32];       /* UTC, ISO 8601 */
    char host[64];
    char backend[16];
    char device[512];    /* the GPU line of the CUDA backend, empty on the CPU */
    dyvm_blas_info blas_core; /* the OpenBLAS core in use, and whether dyvm chose it */
    char isa[16];        /* the CPU kernels in use (cpu_isa.h): avx512, avx2 or scalar */
    char isa_desc[64];
    char isas[48];       /* the ISAs this CPU supports, best first ("avx2 scalar") */
    /* filled in by the harness where it has them (NULL / false: not part of this report) */
    const dyvm_peaks *peaks;     /* the speed of light of the backend measured */
    const dyvm_peaks *cpu_peaks; /* on a GPU run, the host CPU's (for the CPU curve beside it) */
    const dyvm_peaks *peaks_end; /* the backend's roofs measured again late in the run (drift), or NULL */
    dyvm_load load;              /* over the run */
    int rounds;                  /* 0: not a harness run */
    uint64_t order_seed;
    size_t bootstrap_reps;
} dyvm_env;

void dyvm_env_collect(dyvm_env *e, const char *backend, const char *device);
cJSON *dyvm_env_json(const dyvm_env *e);
void dyvm_env_markdown(const dyvm_env *e, FILE *f);

#endif
