/* The CUDA backend: the forward graph's op table filled with kernels and cuBLAS (the .cu files of kernels/). */
#ifndef DYVM_CUDA_BACKEND_H
#define DYVM_CUDA_BACKEND_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#include "backend.h" /* C declarations, C linkage from the .cu files too */

/* Whether this build has the CUDA backend and a device is present; when not, why (one line). */
int dyvm_cuda_available(char *why, size_t len);
/* Copies the host weights to the device. tf32: cuBLAS may use TF32 tensor cores (otherwise strict
 * float32). NULL with err ("no CUDA device: ...") when it cannot. */
dyvm_backend *dyvm_cuda_backend(const dyvm_weights *host, int tf32, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif

#endif
