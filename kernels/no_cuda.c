/* Built instead of the CUDA backend when nvcc is absent: says so. */
#include <stdio.h>

#include "cuda_backend.h"

int dyvm_cuda_available(char *why, size_t len)
{
    snprintf(why, len, "no CUDA device: this build has no CUDA backend (nvcc was not found)");
    return 0;
}

dyvm_backend *dyvm_cuda_backend(const dyvm_weights *host, const dyvm_cuda_opts *opts, char *err, size_t errlen)
{
    (void)host, (void)opts;
    dyvm_cuda_available(err, errlen);
    return NULL;
}

int dyvm_cuda_measure_peaks(dyvm_cuda_gemm_rate *gemms, int n_gemms, dyvm_cuda_rates *rates, char *err,
                            size_t errlen)
{
    (void)gemms, (void)n_gemms, (void)rates;
    dyvm_cuda_available(err, errlen);
    return -1;
}

int dyvm_cuda_hold_memory(size_t leave)
{
    (void)leave;
    return -1;
}

void dyvm_cuda_release_held(void) {}
