/* safetensors reader and writer; see safetensors.h. */
#include "safetensors.h"

#include "atomic_file.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *const dtype_names[ST_DTYPE_COUNT] = {
    "BOOL", "U8", "I8", "I16", "U16", "F16", "BF16", "I32", "U32", "F32", "F64", "I64", "U64"};
static const unsigned char dtype_sizes[ST_DTYPE_COUNT] = {1, 1, 1, 2, 2, 2, 2, 4, 4, 4, 8, 8, 8};

const char *st_dtype_name(st_dtype dt) { return (unsigned)dt < ST_DTYPE_COUNT ? dtype_names[dt] : "?"; }
size_t st_dtype_size(st_dtype dt) { return (unsigned)dt < ST_DTYPE_COUNT ? dtype_sizes[dt] : 0; }

/* Product of the dims, -1 on a negative dim or int64 overflow. A 0 dim wins over overflow, since
 * [0, 2^40, 2^40] is a legal empty tensor. */
static int64_t numel_of(int ndim, const int64_t *shape)
{
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0) return -1;
        if (shape[i] == 0) return 0;
    }
    for (int i = 0; i < ndim; i++) {
        if (n > INT64_MAX / shape[i]) return -1;
        n *= shape[i];
    }
    return n;
}

int64_t st_numel(const st_tensor *t)
{
    return (t && t->ndim >= 0 && t->ndim <= ST_MAX_DIMS) ? numel_of(t->ndim, t->shape) : -1;
}

/* Bytes for numel elements of dt, or -1 when that exceeds INT64_MAX. */
static int64_t bytes_of(int64_t numel, st_dtype dt)
{
    int64_t es = (int64_t)st_dtype_size(dt);
    return (numel < 0 || es == 0 || numel > INT64_MAX / es) ? -1 : numel * es;
}

/* Writes "<path>: <fault>" to err and returns -1. Control characters (from a tensor name or the
 * path) become '?' so that the message stays one line. */
__attribute__((format(printf, 4, 5)))
static int fail(char *err, size_t errlen, const char *path, const char *fmt, ...)
{
    if (!err || errlen == 0) return -1;
    int n = snprintf(err, errlen, "%s: ", path ? path : "(null)");
    if (n >= 0 && (size_t)n < errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
        va_end(ap);
    }
    for (char *p = err; *p; p++)
        if ((unsigned char)*p < 0x20) *p = '?';
    return -1;
}

/* ------------------------------------------------------------------------------------------ reader */

typedef struct { const char *path; char *err; size_t errlen; } ctx;
#define FAIL(c, ...) fail((c)->err, (c)->errlen, (c)->path, __VA_ARGS__)

/* The largest dim: cJSON prints integral doubles below 1e15 as exact integers (and a zero-sized tensor can
 * carry any dim), so the writer and the reader both stop there and a file always survives a round trip. */
#define ST_MAX_DIM INT64_C(999999999999999)

/* JSON numbers arrive as doubles: accept only integers in [0, 2^53], where a double is exact. */
static int get_uint(const cJSON *j, int64_t *out)
{
    if (!cJSON_IsNumber(j)) return -1;
    double d = j->valuedouble;
    if (!(d >= 0 && d <= 9007199254740992.0) || d != (double)(int64_t)d) return -1;
    *out = (int64_t)d;
    return 0;
}

/* The member named key. cJSON keeps repeated keys; silently taking the first would hide a fault. */
static int get_member(const ctx *c, const cJSON *obj, const char *key, const cJSON **out)
{
    const cJSON *m;
    *out = NULL;
    cJSON_ArrayForEach(m, obj) {
        if (strcmp(m->string, key) != 0) continue;
        if (*out) return FAIL(c, "tensor \"%s\": duplicate key \"%s\"", obj->string, key);
        *out = m;
    }
    return *out ? 0 : FAIL(c, "tensor \"%s\": missing \"%s\"", obj->string, key);
}

/* Validates one tensor entry against a data section of data_size bytes at base. */
static int parse_entry(const ctx *c, const cJSON *e, st_tensor *t, const unsigned char *base, size_t data_size)
{
    const char *name = e->string;
    const cJSON *jd, *js, *jo, *it;
    if (!cJSON_IsObject(e)) return FAIL(c, "tensor \"%s\": entry is not a JSON object", name);
    if (get_member(c, e, "dtype", &jd) || get_member(c, e, "shape", &js) || get_member(c, e, "data_offsets", &jo))
        return -1;

    if (!cJSON_IsString(jd)) return FAIL(c, "tensor \"%s\": dtype is not a string", name);
    int dt = 0;
    while (dt < ST_DTYPE_COUNT && strcmp(jd->valuestring, dtype_names[dt]) != 0) dt++;
    if (dt == ST_DTYPE_COUNT) return FAIL(c, "tensor \"%s\": unknown dtype \"%s\"", name, jd->valuestring);
    t->dtype = (st_dtype)dt;

    if (!cJSON_IsArray(js)) return FAIL(c, "tensor \"%s\": shape is not a JSON array", name);
    cJSON_ArrayForEach(it, js) {
        if (t->ndim == ST_MAX_DIMS) return FAIL(c, "tensor \"%s\": shape has more than %d dims", name, ST_MAX_DIMS);
        if (get_uint(it, &t->shape[t->ndim]) || t->shape[t->ndim] > ST_MAX_DIM)
            return FAIL(c, "tensor \"%s\": shape[%d] is not a non-negative integer (at most %lld)", name, t->ndim,
                        (long long)ST_MAX_DIM);
        t->ndim++;
    }

    int64_t off[2];
    if (!cJSON_IsArray(jo) || cJSON_GetArraySize(jo) != 2)
        return FAIL(c, "tensor \"%s\": data_offsets is not a JSON array of 2 integers", name);
    it = jo->child;
    for (int k = 0; k < 2; k++, it = it->next)
        if (get_uint(it, &off[k]))
            return FAIL(c, "tensor \"%s\": data_offsets[%d] is not a non-negative integer (at most 2^53)", name, k);
    if (off[1] < off[0])
        return FAIL(c, "tensor \"%s\": data_offsets end %lld is before begin %lld", name, (long long)off[1],
                    (long long)off[0]);
    if ((uint64_t)off[1] > data_size)
        return FAIL(c, "tensor \"%s\": data_offsets [%lld,%lld] out of range (data section is %zu bytes)", name,
                    (long long)off[0], (long long)off[1], data_size);

    int64_t want = bytes_of(numel_of(t->ndim, t->shape), t->dtype);
    if (want != off[1] - off[0]) {
        char sh[ST_MAX_DIMS * 21 + 3] = "[", wb[24] = "more than 2^63";
        for (int i = 0; i < t->ndim; i++)
            snprintf(sh + strlen(sh), sizeof sh - strlen(sh), "%s%lld", i ? "," : "", (long long)t->shape[i]);
        strcat(sh, "]");
        if (want >= 0) snprintf(wb, sizeof wb, "%lld", (long long)want);
        return FAIL(c, "tensor \"%s\": byte size %lld does not match shape %s of %s (%s bytes)", name,
                    (long long)(off[1] - off[0]), sh, dtype_names[dt], wb);
    }
    t->nbytes = (size_t)want;
    t->data = base + off[0];
    return 0;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }
static int cmp_name(const void *a, const void *b)
{
    return strcmp(((const st_tensor *)a)->name, ((const st_tensor *)b)->name);
}

/* Data order; ties (zero-sized tensors) broken by size then name so that the order is deterministic. */
static int cmp_data(const void *pa, const void *pb)
{
    const st_tensor *a = pa, *b = pb;
    if (a->data != b->data) return a->data < b->data ? -1 : 1;
    if (a->nbytes != b->nbytes) return a->nbytes < b->nbytes ? -1 : 1;
    return strcmp(a->name, b->name);
}

static int parse_meta(const ctx *c, const cJSON *m, st_file *f)
{
    const cJSON *it;
    size_t n = 0;
    if (!cJSON_IsObject(m)) return FAIL(c, "\"__metadata__\" is not a JSON object");
    cJSON_ArrayForEach(it, m) n++;
    f->meta_keys = calloc(n + 1, sizeof *f->meta_keys);
    f->meta_vals = calloc(n + 1, sizeof *f->meta_vals);
    char **sorted = malloc((n + 1) * sizeof *sorted);
    int rc = (!f->meta_keys || !f->meta_vals || !sorted) ? FAIL(c, "out of memory") : 0;
    for (it = m->child; !rc && it; it = it->next) {
        if (!cJSON_IsString(it)) rc = FAIL(c, "metadata value for \"%s\" is not a string", it->string);
        else if (!(f->meta_vals[f->n_meta] = strdup(it->valuestring)) ||
                 !(f->meta_keys[f->n_meta++] = strdup(it->string)))
            rc = FAIL(c, "out of memory");
    }
    /* sorted, so that a hostile header with many keys costs n log n */
    if (!rc) {
        memcpy(sorted, f->meta_keys, n * sizeof *sorted);
        qsort(sorted, n, sizeof *sorted, cmp_str);
        for (size_t i = 1; !rc && i < n; i++)
            if (strcmp(sorted[i - 1], sorted[i]) == 0) rc = FAIL(c, "duplicate metadata key \"%s\"", sorted[i]);
    }
    free(sorted);
    return rc;
}

/* Fills f from the parsed header root; the data section is what follows the n-byte header. */
static int parse_root(const ctx *c, const cJSON *root, size_t n, st_file *f)
{
    const unsigned char *base = f->buf + 8 + n;
    size_t data_size = f->size - 8 - n, count = 0;
    const cJSON *e, *meta = NULL;
    if (!cJSON_IsObject(root)) return FAIL(c, "header is not a JSON object");
    cJSON_ArrayForEach(e, root) count++;
    if (!(f->tensors = calloc(count + 1, sizeof *f->tensors))) return FAIL(c, "out of memory");
    cJSON_ArrayForEach(e, root) {
        if (strcmp(e->string, "__metadata__") == 0) {
            if (meta) return FAIL(c, "duplicate \"__metadata__\"");
            if (parse_meta(c, (meta = e), f)) return -1;
            continue;
        }
        st_tensor *t = &f->tensors[f->n_tensors++];
        if (!(t->name = strdup(e->string))) return FAIL(c, "out of memory");
        if (parse_entry(c, e, t, base, data_size)) return -1;
    }
    qsort(f->tensors, f->n_tensors, sizeof *f->tensors, cmp_name);
    for (size_t i = 1; i < f->n_tensors; i++)
        if (strcmp(f->tensors[i - 1].name, f->tensors[i].name) == 0)
            return FAIL(c, "duplicate tensor name \"%s\"", f->tensors[i].name);

    /* The data must be tiled exactly: sorted by begin, each tensor starts where the previous one ended. */
    qsort(f->tensors, f->n_tensors, sizeof *f->tensors, cmp_data);
    size_t pos = 0;
    for (size_t i = 0; i < f->n_tensors; i++) {
        const st_tensor *t = &f->tensors[i], *p = &f->tensors[i ? i - 1 : 0];
        size_t b = (size_t)(t->data - base), pb = (size_t)(p->data - base);
        if (b < pos)
            return FAIL(c, "tensor \"%s\" data [%zu,%zu) overlaps tensor \"%s\" [%zu,%zu)", t->name, b, b + t->nbytes,
                        p->name, pb, pb + p->nbytes);
        if (b > pos)
            return FAIL(c, "data bytes [%zu,%zu) before tensor \"%s\" are not covered by any tensor", pos, b, t->name);
        pos = b + t->nbytes;
    }
    if (pos != data_size)
        return FAIL(c, "data section has %zu trailing bytes not covered by any tensor", data_size - pos);
    return 0;
}

int st_parse(const char *path, unsigned char *buf, size_t size, st_file *f, char *err, size_t errlen)
{
    ctx c = {path ? path : "(null)", err, errlen};
    if (err && errlen) err[0] = '\0';
    if (!f) {
        free(buf);
        return FAIL(&c, "invalid argument");
    }
    memset(f, 0, sizeof *f);
    f->buf = buf;
    f->size = buf ? size : 0;
    uint64_t n = 0;
    for (int i = 0; i < 8 && f->size >= 8; i++) n |= (uint64_t)buf[i] << (8 * i);
    char *hdr = NULL;
    int rc;
    if (!(f->path = strdup(c.path))) rc = FAIL(&c, "out of memory");
    else if (f->size < 8) rc = FAIL(&c, "truncated file (%zu bytes, the header length alone takes 8)", f->size);
    /* compared with what is left, so that a length near 2^64 cannot wrap */
    else if (n > f->size - 8)
        rc = FAIL(&c, "header length %llu runs past the end of the file (%zu bytes)", (unsigned long long)n, f->size);
    /* a NUL-padded copy: cJSON 1.7.15 can read a byte past the given length (cJSON issues #775, #804) */
    else if (!(hdr = calloc((size_t)n + 8, 1))) rc = FAIL(&c, "out of memory");
    else {
        memcpy(hdr, buf + 8, (size_t)n);
        /* a NUL would end cJSON's view of a string early, so that names could differ from the file */
        const char *nul = memchr(hdr, 0, (size_t)n), *end = hdr, *p;
        cJSON *root = nul ? NULL : cJSON_ParseWithLengthOpts(hdr, (size_t)n, &end, 0);
        /* safetensors pads the header with spaces; anything else after the JSON value is garbage */
        for (p = root ? end : hdr + n; p < hdr + n && strchr(" \t\r\n", *p); p++) continue;
        if (nul) rc = FAIL(&c, "header is not valid JSON (NUL byte at offset %zu)", (size_t)(nul - hdr));
        else if (!root) rc = FAIL(&c, "header is not valid JSON (error near byte %zu)", (size_t)(end - hdr));
        else if (p < hdr + n) rc = FAIL(&c, "header is not valid JSON (trailing data at byte %zu)", (size_t)(p - hdr));
        else rc = parse_root(&c, root, (size_t)n, f);
        cJSON_Delete(root);
    }
    free(hdr);
    if (rc) st_close(f);
    return rc;
}

/* Reads up to n bytes; the count read (short at the end of the input). */
static size_t read_up_to(FILE *fp, unsigned char *dst, size_t n)
{
    size_t got = 0;
    while (got < n) {
        const size_t r = fread(dst + got, 1, n - got, fp);
        if (r == 0) break;
        got += r;
    }
    return got;
}

/* The end of the data section the header declares: the largest data_offsets end of any entry (0 when the
 * header is not readable: st_parse says why). */
static uint64_t declared_data_end(const unsigned char *hdr, size_t n)
{
    char *copy = calloc(n + 8, 1); /* NUL-padded: see st_parse */
    if (!copy) return 0;
    memcpy(copy, hdr, n);
    cJSON *root = cJSON_ParseWithLength(copy, n);
    uint64_t end = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, root) {
        const cJSON *o = cJSON_GetObjectItemCaseSensitive(e, "data_offsets");
        int64_t v;
        if (cJSON_GetArraySize(o) == 2 && !get_uint(o->child->next, &v) && (uint64_t)v > end) end = (uint64_t)v;
    }
    cJSON_Delete(root);
    free(copy);
    return end;
}

/* safetensors' own limit on the header (the Rust reference implementation refuses longer ones) */
#define ST_MAX_HEADER 100000000u

int st_open(const char *path, st_file *f, char *err, size_t errlen)
{
    if (f) memset(f, 0, sizeof *f);
    if (!path || !f) return fail(err, errlen, path, "invalid argument");
    FILE *fp = fopen(path, "rb");
    if (!fp) return fail(err, errlen, path, "%s", strerror(errno));
    struct stat sb;
    const int regular = fstat(fileno(fp), &sb) == 0 && S_ISREG(sb.st_mode);
    /* A regular file is read whole (its size is known and bounded). Anything else (a pipe, a device such as
       /dev/zero) is read only as far as its header declares: 8 bytes, the header, the data section it
       describes, and one byte more to tell trailing data; never until the input ends. */
    unsigned char len8[8];
    size_t got = read_up_to(fp, len8, 8), want = 8;
    uint64_t n = 0;
    for (size_t i = 0; i < got; i++) n |= (uint64_t)len8[i] << (8 * i);
    if (got == 8 && n > ST_MAX_HEADER) {
        fclose(fp);
        return fail(err, errlen, path, "header length %llu is more than the %u bytes safetensors allows",
                    (unsigned long long)n, ST_MAX_HEADER);
    }
    if (regular) {
        if ((uint64_t)sb.st_size >= SIZE_MAX / 2) return fclose(fp), fail(err, errlen, path, "file too large");
        want = (size_t)sb.st_size;
    } else if (got == 8)
        want = 8 + (size_t)n;
    unsigned char *buf = malloc(want > 8 ? want : 8), *nb;
    if (!buf) return fclose(fp), fail(err, errlen, path, "out of memory reading %zu bytes", want);
    memcpy(buf, len8, got);
    size_t len = got + (got == 8 ? read_up_to(fp, buf + 8, want - 8) : 0);
    if (!regular && got == 8 && len == want) {
        /* the data section the header declares, and one byte more */
        const uint64_t data = declared_data_end(buf + 8, (size_t)n);
        if (data > SIZE_MAX / 4 || data + 1 > (uint64_t)(SIZE_MAX / 4) - want) {
            free(buf), fclose(fp);
            return fail(err, errlen, path, "header declares %llu bytes of data: too large", (unsigned long long)data);
        }
        const size_t more = (size_t)data + 1;
        if (!(nb = realloc(buf, want + more))) {
            free(buf), fclose(fp);
            return fail(err, errlen, path, "out of memory reading the %llu bytes of data the header declares",
                        (unsigned long long)data);
        }
        buf = nb;
        len += read_up_to(fp, buf + want, more);
    }
    const int e = ferror(fp) ? errno : 0;
    fclose(fp);
    if (e) return free(buf), fail(err, errlen, path, "%s", strerror(e));
    return st_parse(path, buf, len, f, err, errlen);
}

void st_close(st_file *f)
{
    if (!f) return;
    for (size_t i = 0; i < f->n_tensors; i++) free(f->tensors[i].name);
    for (size_t i = 0; i < f->n_meta; i++) free(f->meta_keys[i]), free(f->meta_vals[i]);
    free(f->tensors);
    free(f->meta_keys);
    free(f->meta_vals);
    free(f->buf);
    free(f->path);
    memset(f, 0, sizeof *f);
}

const st_tensor *st_find(const st_file *f, const char *name)
{
    for (size_t i = 0; f && name && i < f->n_tensors; i++)
        if (strcmp(f->tensors[i].name, name) == 0) return &f->tensors[i];
    return NULL;
}

const char *st_meta(const st_file *f, const char *key)
{
    for (size_t i = 0; f && key && i < f->n_meta; i++)
        if (strcmp(f->meta_keys[i], key) == 0) return f->meta_vals[i];
    return NULL;
}

/* ------------------------------------------------------------------------------------------ writer */

typedef st_tensor wtensor; /* the reader's record; data points at the caller's buffer until save */

struct st_writer {
    wtensor *t;
    size_t n;
    char **kv; /* key, value, key, value, ... */
    size_t n_meta;
};

st_writer *st_writer_new(void) { return calloc(1, sizeof(st_writer)); }

void st_writer_free(st_writer *w)
{
    if (!w) return;
    for (size_t i = 0; i < w->n; i++) free(w->t[i].name);
    for (size_t i = 0; i < 2 * w->n_meta; i++) free(w->kv[i]);
    free(w->t);
    free(w->kv);
    free(w);
}

/* Growing by one each time is quadratic only in copies of small structs, for a few hundred tensors. */
int st_writer_add(st_writer *w, const char *name, st_dtype dt, int ndim, const int64_t *shape, const void *data)
{
    if (!w || !name || (unsigned)dt >= ST_DTYPE_COUNT || ndim < 0 || ndim > ST_MAX_DIMS || (ndim && !shape))
        return -1;
    /* "__metadata__" is reserved by the format, and a repeated name would make an unreadable file */
    if (strcmp(name, "__metadata__") == 0) return -1;
    for (size_t i = 0; i < w->n; i++)
        if (strcmp(w->t[i].name, name) == 0) return -1;
    for (int d = 0; d < ndim; d++)
        if (shape[d] < 0 || shape[d] > ST_MAX_DIM) return -1; /* what the writer prints exactly, the reader takes */
    int64_t nb = bytes_of(numel_of(ndim, shape), dt);
    if (nb < 0 || (uint64_t)nb > SIZE_MAX || (nb > 0 && !data)) return -1;
    wtensor *arr = realloc(w->t, (w->n + 1) * sizeof *w->t);
    if (!arr) return -1;
    w->t = arr;
    wtensor *t = &w->t[w->n];
    if (!(t->name = strdup(name))) return -1;
    t->dtype = dt, t->ndim = ndim, t->nbytes = (size_t)nb, t->data = (const unsigned char *)data;
    if (ndim) memcpy(t->shape, shape, sizeof(int64_t) * (size_t)ndim);
    w->n++;
    return 0;
}

/* A repeated key replaces the earlier value. */
int st_writer_meta(st_writer *w, const char *key, const char *val)
{
    char *v = w && key && val ? strdup(val) : NULL;
    if (!v) return -1;
    for (size_t i = 0; i < w->n_meta; i++)
        if (strcmp(w->kv[2 * i], key) == 0) {
            free(w->kv[2 * i + 1]);
            w->kv[2 * i + 1] = v;
            return 0;
        }
    char **kv = realloc(w->kv, (w->n_meta + 1) * 2 * sizeof *kv);
    if (kv) w->kv = kv;
    if (!kv || !(kv[2 * w->n_meta] = strdup(key))) {
        free(v);
        return -1;
    }
    kv[2 * w->n_meta++ + 1] = v;
    return 0;
}

int st_writer_save(const st_writer *w, const char *path, char *err, size_t errlen)
{
    if (err && errlen) err[0] = '\0';
    if (!w || !path) return fail(err, errlen, path, "invalid argument");
    cJSON *root = cJSON_CreateObject();
    cJSON *meta = root && w->n_meta ? cJSON_AddObjectToObject(root, "__metadata__") : root;
    int ok = meta != NULL;
    for (size_t i = 0; ok && i < w->n_meta; i++)
        ok = cJSON_AddStringToObject(meta, w->kv[2 * i], w->kv[2 * i + 1]) != NULL;
    uint64_t off = 0;
    for (size_t i = 0; ok && i < w->n; i++) {
        const wtensor *t = &w->t[i];
        /* cJSON prints integral doubles below 1e15 as exact integers: far beyond any file made here */
        if (t->nbytes > 999999999999999u - off) ok = 0;
        double sh[ST_MAX_DIMS], o[2] = {(double)off, (double)(off + t->nbytes)};
        for (int d = 0; d < t->ndim; d++) sh[d] = (double)t->shape[d];
        /* adding under a constant key (CS) cannot fail once the array exists, so that no array leaks */
        cJSON *e = ok ? cJSON_AddObjectToObject(root, t->name) : NULL;
        ok = e && cJSON_AddStringToObject(e, "dtype", dtype_names[t->dtype]) &&
             cJSON_AddItemToObjectCS(e, "shape", cJSON_CreateDoubleArray(sh, t->ndim)) &&
             cJSON_AddItemToObjectCS(e, "data_offsets", cJSON_CreateDoubleArray(o, 2));
        off += t->nbytes;
    }
    char *hdr = ok ? cJSON_PrintUnformatted(root) : NULL;
    cJSON_Delete(root);
    if (!hdr) return fail(err, errlen, path, "out of memory or data too large");
    size_t n = strlen(hdr), pad = (8 - n % 8) % 8; /* so that the data starts 8-aligned in the file */

    /* written beside the target and renamed over it when complete: a failed or interrupted write leaves the
       previous file as it was (atomic_file.h) */
    dyvm_afile af;
    char why[512];
    FILE *fp = dyvm_afile_open(&af, path, "wb", why, sizeof why);
    if (!fp) {
        cJSON_free(hdr);
        return snprintf(err, errlen, "%s", why), -1;
    }
    unsigned char len8[8];
    for (int i = 0; i < 8; i++) len8[i] = (unsigned char)((uint64_t)(n + pad) >> (8 * i));
    ok = fwrite(len8, 1, 8, fp) == 8 && fwrite(hdr, 1, n, fp) == n && fwrite("       ", 1, pad, fp) == pad;
    for (size_t i = 0; ok && i < w->n; i++)
        ok = w->t[i].nbytes == 0 || fwrite(w->t[i].data, 1, w->t[i].nbytes, fp) == w->t[i].nbytes;
    const int e = errno;
    cJSON_free(hdr);
    if (!ok) {
        dyvm_afile_abort(&af);
        return fail(err, errlen, path, "%s", strerror(e ? e : EIO));
    }
    if (dyvm_afile_commit(&af, why, sizeof why)) return snprintf(err, errlen, "%s", why), -1;
    return 0;
}
