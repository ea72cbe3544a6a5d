#include "pos_embed.h"

#include <math.h>
#include <string.h>

/* PyTorch's bicubic kernel (upsample_bicubic2d, A = -0.75), in float as its CPU kernel computes it */
static float cubic1(float x, float A) { return ((A + 2) * x - (A + 3)) * x * x + 1; }
static float cubic2(float x, float A) { return ((A * x - 5 * A) * x + 8 * A) * x - 4 * A; }

static void coefficients(float t, float c[4])
{
    const float A = -0.75f;
    const float x2 = 1.0f - t; /* as PyTorch's get_cubic_upsample_coefficients forms them */
    c[0] = cubic2(t + 1.0f, A);
    c[1] = cubic1(t, A);
    c[2] = cubic1(x2, A);
    c[3] = cubic2(x2 + 1.0f, A);
}

static float interp(float x0, float x1, float x2, float x3, const float c[4])
{
    return x0 * c[0] + x1 * c[1] + x2 * c[2] + x3 * c[3];
}

static int64_t clamp(int64_t i, int64_t n) { return i < 0 ? 0 : i >= n ? n - 1 : i; }

void dyvm_pos_embed_resize(const float *src, int64_t old_side, float *dst, int64_t new_side, int64_t D, int64_t extra)
{
    memcpy(dst, src, sizeof(float) * (size_t)(extra * D)); /* the extra tokens, unchanged */
    const float *grid = src + extra * D; /* (old_side, old_side, D): position (y, x) at row y * side + x */
    float *out = dst + extra * D;
    /* align_corners=False: source = scale * (dst + 0.5) - 0.5, scale = in / out (area_pixel_compute_source_index) */
    const float scale = (float)old_side / (float)new_side;
    for (int64_t oy = 0; oy < new_side; oy++) {
        const float ry = scale * ((float)oy + 0.5f) - 0.5f, fy = floorf(ry);
        float cy[4];
        coefficients(ry - fy, cy);
        int64_t iy[4]; /* the 4 source rows and columns, clamped at the edges */
        for (int k = 0; k < 4; k++) iy[k] = clamp((int64_t)fy - 1 + k, old_side);
        for (int64_t ox = 0; ox < new_side; ox++) {
            const float rx = scale * ((float)ox + 0.5f) - 0.5f, fx = floorf(rx);
            float cx[4];
            coefficients(rx - fx, cx);
            int64_t ix[4];
            for (int k = 0; k < 4; k++) ix[k] = clamp((int64_t)fx - 1 + k, old_side) * D;
            for (int64_t d = 0; d < D; d++) {
                float rows[4];
                for (int k = 0; k < 4; k++) {
                    const float *g = grid + iy[k] * old_side * D + d;
                    rows[k] = interp(g[ix[0]], g[ix[1]], g[ix[2]], g[ix[3]], cx);
                }
                out[(oy * new_side + ox) * D + d] = interp(rows[0], rows[1], rows[2], rows[3], cy);
            }
        }
    }
}
