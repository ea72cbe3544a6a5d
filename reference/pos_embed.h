/* Position embeddings at another resolution, as the official code resizes them when it fine-tunes at a new
 * image size (interpolate_pos_embed in the official utils.py): the first `extra` rows are kept, the rest are
 * taken as a side x side grid and resized with torch.nn.functional.interpolate(mode="bicubic",
 * align_corners=False). Note that the official code takes row 0 as the extra (class) token although Vim's
 * class token sits in the middle (row M/2): the grid it resizes is rows 1..M, the class token's row among
 * them. Reproduced as it is, since that is what the official fine-tuned models saw. */
#ifndef DYVM_POS_EMBED_H
#define DYVM_POS_EMBED_H

#include <stdint.h>

/* src (1, extra + old_side^2, D) -> dst (1, extra + new_side^2, D) */
void dyvm_pos_embed_resize(const float *src, int64_t old_side, float *dst, int64_t new_side, int64_t D, int64_t extra);

#endif
