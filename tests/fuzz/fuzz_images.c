/* libFuzzer target: the input-image loader (reference/images.c) from the bytes of a safetensors file.
 *
 * st_parse, then dyvm_images_find against the "tiny" preset (images must be (B, 3, 32, 32) F32, finite),
 * then dyvm_images_copy. A refusal must be one non-empty line naming the file; accepted images must have
 * that shape, B >= 1, only finite values, and a copy equal to the file's bytes.
 *
 * Build and run: make fuzz-build; make fuzz FUZZ_TARGETS=images FUZZ_SECONDS=60 (tests/fuzz/fuzz.mk). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "fuzz_common.h"
#include "images.h"
#include "safetensors.h"

static dyvm_config cfg;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    char err[256];
    if (dyvm_config_preset("tiny", &cfg, err, sizeof err)) {
        fprintf(stderr, "fuzz_images: %s\n", err);
        abort();
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    st_file f;
    char err[1024];
    if (fuzz_parse(data, size, &f, err, sizeof err)) return 0;
    int64_t B = -1;
    const st_tensor *t = dyvm_images_find(&f, &cfg, &B, err, sizeof err);
    if (!t) {
        fuzz_check_err(err, sizeof err, "dyvm_images_find");
        FUZZ_ASSERT(strncmp(err, "fuzz: ", 6) == 0, "message does not name the file: \"%s\"", err);
        FUZZ_ASSERT(B == -1, "B set on failure");
    } else {
        FUZZ_ASSERT(t == st_find(&f, "images"), "not the images tensor");
        FUZZ_ASSERT(t->dtype == ST_F32 && t->ndim == 4 && t->shape[0] == B && B >= 1 && t->shape[1] == cfg.channels &&
                        t->shape[2] == cfg.img && t->shape[3] == cfg.img,
                    "accepted images of the wrong shape");
        const size_t n = (size_t)B * (size_t)(cfg.channels * cfg.img * cfg.img);
        FUZZ_ASSERT(t->nbytes == n * sizeof(float), "nbytes %zu for %zu values", t->nbytes, n);
        float *x = dyvm_images_copy(t);
        FUZZ_ASSERT(x != NULL, "dyvm_images_copy");
        FUZZ_ASSERT(memcmp(x, t->data, t->nbytes) == 0, "the copy differs");
        for (size_t i = 0; i < n; i++) FUZZ_ASSERT(isfinite(x[i]), "accepted a non-finite value at %zu", i);
        free(x);
    }
    st_close(&f);
    return 0;
}
