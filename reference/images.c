#include "images.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checked.h"

const st_tensor *dyvm_images_find(const st_file *f, const dyvm_config *c, int64_t *B, char *err, size_t errlen)
{
    const st_tensor *t = st_find(f, "images");
    if (!t) return snprintf(err, errlen, "%s: no tensor \"images\"", f->path), NULL;
    if (t->dtype != ST_F32)
        return snprintf(err, errlen, "%s: images has dtype %s, expected F32", f->path, st_dtype_name(t->dtype)), NULL;
    if (t->ndim != 4 || t->shape[0] < 1 || t->shape[1] != c->channels || t->shape[2] != c->img || t->shape[3] != c->img)
        return snprintf(err, errlen, "%s: images must be (B, %lld, %lld, %lld) with B >= 1 for this model", f->path,
                        (long long)c->channels, (long long)c->img, (long long)c->img), NULL;
    /* the data is in the file, possibly unaligned: check it in aligned pieces */
    const size_t n = t->nbytes / sizeof(float);
    float piece[4096];
    for (size_t at = 0; at < n; at += 4096) {
        const size_t m = n - at < 4096 ? n - at : 4096;
        memcpy(piece, t->data + at * sizeof(float), m * sizeof(float));
        const size_t bad = dyvm_first_nonfinite(piece, m);
        if (bad < m) {
            const int64_t i = (int64_t)(at + bad), hw = c->img * c->img, chw = c->channels * hw;
            return snprintf(err, errlen, "%s: images has a non-finite value (%g) at image %lld, channel %lld, row %lld, "
                            "column %lld", f->path, (double)piece[bad], (long long)(i / chw), (long long)(i % chw / hw),
                            (long long)(i % hw / c->img), (long long)(i % c->img)), NULL;
        }
    }
    *B = t->shape[0];
    return t;
}

float *dyvm_images_copy(const st_tensor *t)
{
    float *x = malloc(t->nbytes ? t->nbytes : 1);
    if (x) memcpy(x, t->data, t->nbytes);
    return x;
}
