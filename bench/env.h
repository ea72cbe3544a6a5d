/* The environment block that goes with every report: machine, libraries, build, commit, date. */
#ifndef DYVM_ENV_H
#define DYVM_ENV_H

#include <cjson/cJSON.h>
#include <stdio.h>

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
} dyvm_env;

void dyvm_env_collect(dyvm_env *e, const char *backend, const char *device);
cJSON *dyvm_env_json(const dyvm_env *e);
void dyvm_env_markdown(const dyvm_env *e, FILE *f);

#endif
