/* libFuzzer target: the bytes as a whole safetensors file (reference/safetensors.c).
 *
 * st_parse must either refuse with one non-empty line in err (and leave the st_file empty), or return a file
 * whose every tensor lies inside the data section with nbytes = numel * dtype size, tiled in data order,
 * with unique names that st_find returns; every metadata key is found by st_meta. An accepted file is then
 * written back with st_writer (to a file in /dev/shm) and read again with st_open: names, dtypes, shapes, bytes and
 * metadata must survive the round trip.
 *
 * Build and run: make fuzz-build; make fuzz FUZZ_TARGETS=safetensors FUZZ_SECONDS=60 (tests/fuzz/fuzz.mk). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_common.h"
#include "safetensors.h"

static void check_empty(const st_file *f)
{
    static const st_file zero;
    FUZZ_ASSERT(memcmp(f, &zero, sizeof zero) == 0, "a refused or closed st_file is not left empty");
}

/* The structure of an accepted file. */
static void check_file(const st_file *f, size_t size)
{
    FUZZ_ASSERT(f->size == size && size >= 8, "size %zu, input %zu", f->size, size);
    uint64_t n = 0;
    for (int i = 0; i < 8; i++) n |= (uint64_t)f->buf[i] << (8 * i);
    FUZZ_ASSERT(n <= size - 8, "accepted a header length %llu past the end", (unsigned long long)n);
    const unsigned char *base = f->buf + 8 + n, *end = f->buf + size;
    size_t pos = 0;
    for (size_t i = 0; i < f->n_tensors; i++) {
        const st_tensor *t = &f->tensors[i];
        FUZZ_ASSERT(t->name != NULL, "tensor %zu has no name", i);
        FUZZ_ASSERT((unsigned)t->dtype < ST_DTYPE_COUNT, "\"%s\": dtype %d", t->name, (int)t->dtype);
        FUZZ_ASSERT(t->ndim >= 0 && t->ndim <= ST_MAX_DIMS, "\"%s\": ndim %d", t->name, t->ndim);
        const int64_t numel = st_numel(t);
        FUZZ_ASSERT(numel >= 0, "\"%s\": numel %lld", t->name, (long long)numel);
        FUZZ_ASSERT((uint64_t)numel <= SIZE_MAX / st_dtype_size(t->dtype) &&
                        (size_t)numel * st_dtype_size(t->dtype) == t->nbytes,
                    "\"%s\": nbytes %zu is not numel %lld * %zu", t->name, t->nbytes, (long long)numel,
                    st_dtype_size(t->dtype));
        FUZZ_ASSERT(t->data >= base && t->data <= end && t->nbytes <= (size_t)(end - t->data),
                    "\"%s\": data outside the data section", t->name);
        FUZZ_ASSERT((size_t)(t->data - base) == pos, "\"%s\": data at %zu, expected %zu (not tiled)", t->name,
                    (size_t)(t->data - base), pos);
        pos += t->nbytes;
        FUZZ_ASSERT(st_find(f, t->name) == t, "st_find(\"%s\") does not return the tensor (duplicate name?)",
                    t->name);
        (void)fuzz_touch(t->data, t->nbytes);
        (void)st_dtype_name(t->dtype);
    }
    FUZZ_ASSERT(base + pos == end, "data section not covered: %zu of %zu bytes", pos, (size_t)(end - base));
    for (size_t i = 0; i < f->n_meta; i++) {
        FUZZ_ASSERT(f->meta_keys[i] && f->meta_vals[i], "metadata entry %zu is NULL", i);
        FUZZ_ASSERT(st_meta(f, f->meta_keys[i]) == f->meta_vals[i], "st_meta(\"%s\") is not its value (duplicate?)",
                    f->meta_keys[i]);
    }
    /* lookups of names that are and are not there */
    static const char *const names[] = {"", "images", "__metadata__", "pos_embed", "head.weight", "format", "a"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const st_tensor *t = st_find(f, names[i]);
        FUZZ_ASSERT(!t || strcmp(t->name, names[i]) == 0, "st_find(\"%s\") returned \"%s\"", names[i], t->name);
        const char *v = st_meta(f, names[i]);
        if (v) (void)fuzz_touch((const unsigned char *)v, strlen(v));
    }
    FUZZ_ASSERT(st_find(f, NULL) == NULL && st_meta(f, NULL) == NULL, "lookup of NULL");
}

/* Writes f with st_writer and reads it back: the same tensors and metadata. */
static void round_trip(const st_file *f)
{
    char err[1024];
    const char *path = fuzz_tmp_path();
    if (!path) return;
    st_writer *w = st_writer_new();
    FUZZ_ASSERT(w != NULL, "st_writer_new");
    for (size_t i = 0; i < f->n_tensors; i++) {
        const st_tensor *t = &f->tensors[i];
        FUZZ_ASSERT(st_writer_add(w, t->name, t->dtype, t->ndim, t->shape, t->data) == 0,
                    "st_writer_add refused tensor \"%s\" of an accepted file", t->name);
    }
    for (size_t i = 0; i < f->n_meta; i++)
        FUZZ_ASSERT(st_writer_meta(w, f->meta_keys[i], f->meta_vals[i]) == 0, "st_writer_meta(\"%s\")",
                    f->meta_keys[i]);
    const int rc = st_writer_save(w, path, err, sizeof err);
    st_writer_free(w);
    if (rc) {
        fuzz_check_err(err, sizeof err, "st_writer_save");
        /* only a header too large for cJSON's exact integers (offsets past 1e15) may be refused */
        FUZZ_ASSERT(0, "st_writer_save refused an accepted file: %s", err);
    }
    st_file g;
    const int rc2 = st_open(path, &g, err, sizeof err);
    unlink(path);
    FUZZ_ASSERT(rc2 == 0, "the written file does not read back: %s", err);
    FUZZ_ASSERT(g.n_tensors == f->n_tensors && g.n_meta == f->n_meta, "round trip: %zu tensors %zu meta, was %zu %zu",
                g.n_tensors, g.n_meta, f->n_tensors, f->n_meta);
    for (size_t i = 0; i < f->n_tensors; i++) {
        const st_tensor *a = &f->tensors[i], *b = st_find(&g, a->name);
        FUZZ_ASSERT(b != NULL, "round trip lost tensor \"%s\"", a->name);
        FUZZ_ASSERT(a->dtype == b->dtype && a->ndim == b->ndim && a->nbytes == b->nbytes,
                    "round trip changed tensor \"%s\": dtype %s ndim %d nbytes %zu, was %s %d %zu", a->name,
                    st_dtype_name(b->dtype), b->ndim, b->nbytes, st_dtype_name(a->dtype), a->ndim, a->nbytes);
        for (int d = 0; d < a->ndim; d++)
            FUZZ_ASSERT(a->shape[d] == b->shape[d], "round trip changed tensor \"%s\": shape[%d] %lld, was %lld",
                        a->name, d, (long long)b->shape[d], (long long)a->shape[d]);
        FUZZ_ASSERT(a->nbytes == 0 || memcmp(a->data, b->data, a->nbytes) == 0,
                    "round trip changed the bytes of tensor \"%s\"", a->name);
    }
    for (size_t i = 0; i < f->n_meta; i++) {
        const char *v = st_meta(&g, f->meta_keys[i]);
        FUZZ_ASSERT(v && strcmp(v, f->meta_vals[i]) == 0, "round trip changed metadata \"%s\"", f->meta_keys[i]);
    }
    st_close(&g);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    st_file f;
    char err[512];
    if (fuzz_parse(data, size, &f, err, sizeof err)) {
        if (!strcmp(err, "fuzz: out of memory")) return 0;
        FUZZ_ASSERT(strncmp(err, "fuzz: ", 6) == 0, "message does not start with the path: \"%s\"", err);
        check_empty(&f);
        return 0;
    }
    check_file(&f, size);
    round_trip(&f);
    st_close(&f);
    check_empty(&f);
    return 0;
}
