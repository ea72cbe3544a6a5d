/* Input images (SPEC.md section 7): the tensor "images", F32 (B, C, H, W), checked against the model and
 * refused when any value is NaN or infinite (it would give NaN logits, or finite ones when the bad token is
 * pruned away: a silently wrong number either way). */
#ifndef DYVM_IMAGES_H
#define DYVM_IMAGES_H

#include <stdint.h>

#include "config.h"
#include "safetensors.h"

/* The images tensor of a parsed input file (pointing into f) and its batch B; NULL with one line in err
 * ("<path>: ...": missing, dtype, shape, or the first non-finite value by image, channel and pixel). */
const st_tensor *dyvm_images_find(const st_file *f, const dyvm_config *c, int64_t *B, char *err, size_t errlen);
/* A malloc()ed copy of its values (B, C, H, W); NULL when out of memory. */
float *dyvm_images_copy(const st_tensor *t);

#endif
