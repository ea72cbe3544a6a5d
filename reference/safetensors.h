/* safetensors reader and writer (SPEC.md section 7).
 *
 * Format: 8-byte little-endian header length N, N bytes of JSON
 *   {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, "__metadata__": {"k": "v"}}
 * then the data; offsets are relative to the first byte after the header.
 * The reader loads the whole file and validates it completely before returning: a malformed file is
 * rejected with one line "<path>: <fault>" in err. Tensor data is not guaranteed to be aligned:
 * copy it out with memcpy. */
#ifndef DYVM_SAFETENSORS_H
#define DYVM_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#define ST_MAX_DIMS 8

typedef enum {
    ST_BOOL, ST_U8, ST_I8, ST_I16, ST_U16, ST_F16, ST_BF16, ST_I32, ST_U32, ST_F32, ST_F64, ST_I64, ST_U64,
    ST_DTYPE_COUNT
} st_dtype;

typedef struct {
    char *name;
    st_dtype dtype;
    int ndim;
    int64_t shape[ST_MAX_DIMS];
    size_t nbytes;
    const unsigned char *data; /* points into st_file.buf, possibly unaligned */
} st_tensor;

typedef struct {
    char *path;
    unsigned char *buf; /* the whole file */
    size_t size;
    st_tensor *tensors; /* in data order */
    size_t n_tensors;
    char **meta_keys, **meta_vals;
    size_t n_meta;
} st_file;

const char *st_dtype_name(st_dtype dt);
size_t st_dtype_size(st_dtype dt);
int64_t st_numel(const st_tensor *t);

/* Returns 0 on success; on failure -1, err holds "<path>: <fault>" and *f is left empty. */
int st_open(const char *path, st_file *f, char *err, size_t errlen);
/* Same, over a malloc()ed buffer that st_parse takes ownership of (freed by st_close, or at once on failure). */
int st_parse(const char *path, unsigned char *buf, size_t size, st_file *f, char *err, size_t errlen);
void st_close(st_file *f);
const st_tensor *st_find(const st_file *f, const char *name);
const char *st_meta(const st_file *f, const char *key); /* NULL when absent */

/* Writer: tensors are referenced, not copied, until st_writer_save. */
typedef struct st_writer st_writer;
st_writer *st_writer_new(void);
int st_writer_add(st_writer *w, const char *name, st_dtype dt, int ndim, const int64_t *shape, const void *data);
int st_writer_meta(st_writer *w, const char *key, const char *val);
int st_writer_save(const st_writer *w, const char *path, char *err, size_t errlen);
void st_writer_free(st_writer *w);

#endif
