/* Tests for reference/safetensors.c: a writer/reader round trip, then one malformed file per fault the
 * reader must reject (bytes built by hand, so the writer cannot hide a reader bug), then a mutation
 * loop that only has to finish cleanly (run it under -fsanitize=address,undefined or valgrind). */
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "atomic_file.h"
#include "check.h"
#include "safetensors.h"

static char dir[64];

static void path_of(char *out, size_t n, const char *name) { snprintf(out, n, "%s/%s.safetensors", dir, name); }

static void write_bytes(const char *path, const void *p, size_t n)
{
    FILE *fp = fopen(path, "wb");
    if (!fp || fwrite(p, 1, n, fp) != n || fclose(fp) != 0) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(2);
    }
}

/* A file with header length field hlen, header text hdr and dlen data bytes (1, 2, 3, ...). The tests
 * write JSON with ' for " to stay readable; make_raw turns them back. */
static void make_raw(const char *path, uint64_t hlen, const char *hdr, size_t dlen)
{
    size_t hn = strlen(hdr), n = 8 + hn + dlen;
    unsigned char *b = malloc(n);
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)(hlen >> (8 * i));
    for (size_t i = 0; i < hn; i++) b[8 + i] = hdr[i] == '\'' ? '"' : (unsigned char)hdr[i];
    for (size_t i = 0; i < dlen; i++) b[8 + hn + i] = (unsigned char)(i + 1);
    write_bytes(path, b, n);
    free(b);
}

static int zeroed(const st_file *f)
{
    static const st_file z;
    return memcmp(f, &z, sizeof z) == 0;
}

/* st_open must fail, leave f empty, and say "<path>: ..." on one line holding word. */
static void expect_fault_file(const char *name, const char *path, const char *word)
{
    st_file f;
    char err[512] = "(unset)";
    int rc = st_open(path, &f, err, sizeof err);
    size_t pl = strlen(path);
    int ok = rc == -1 && zeroed(&f) && strncmp(err, path, pl) == 0 && strncmp(err + pl, ": ", 2) == 0 &&
             strstr(err, word) && !strchr(err, '\n');
    if (ok) check(1, "%s", name);
    else check(0, "%s: rc %d, err \"%s\", wanted \"%s\"", name, rc, err, word);
    if (rc == 0) st_close(&f);
}

/* hdr and word use ' for " (see make_raw). */
static void expect_fault(const char *name, const char *hdr, size_t dlen, const char *word)
{
    char path[128], w[256];
    size_t i = 0;
    for (; word[i] && i < sizeof w - 1; i++) w[i] = word[i] == '\'' ? '"' : word[i];
    w[i] = '\0';
    path_of(path, sizeof path, name);
    make_raw(path, strlen(hdr), hdr, dlen);
    expect_fault_file(name, path, w);
}

static void expect_ok(const char *name, const char *hdr, size_t dlen, size_t n_tensors)
{
    char path[128], err[512] = "";
    st_file f;
    path_of(path, sizeof path, name);
    make_raw(path, strlen(hdr), hdr, dlen);
    int rc = st_open(path, &f, err, sizeof err);
    int ok = rc == 0 && f.n_tensors == n_tensors;
    for (size_t i = 1; ok && i < f.n_tensors; i++) ok = f.tensors[i - 1].data <= f.tensors[i].data;
    check(ok, "%s%s%s", name, ok ? "" : ": ", ok ? "" : (rc ? err : "wrong tensors"));
    st_close(&f);
}

static void test_round_trip(void)
{
    float a[6] = {0.f, 1.5f, -2.f, 3.25f, 1e-30f, -0.f};
    int32_t b[4] = {7, -1, 2147483647, -2147483647 - 1};
    float s = 3.5f;
    const int64_t sa[2] = {2, 3}, sb[1] = {4}, sz[2] = {0, 5};
    const char *odd = "we\"ird\\name\n\t\x01";
    char path[128], err[512] = "";
    path_of(path, sizeof path, "round_trip");

    st_writer *w = st_writer_new();
    int ok = w && !st_writer_add(w, "a", ST_F32, 2, sa, a) && !st_writer_add(w, "b", ST_I32, 1, sb, b) &&
             !st_writer_add(w, "scalar", ST_F32, 0, NULL, &s) && !st_writer_add(w, "zero", ST_F32, 2, sz, NULL) &&
             !st_writer_add(w, odd, ST_I32, 1, sb, b) && !st_writer_meta(w, "format", "test/1") &&
             !st_writer_meta(w, "quote", "a\"b\\c\td") && !st_writer_meta(w, "k", "old") &&
             !st_writer_meta(w, "k", "new"); /* a repeated key replaces the value */
    check(ok, "writer_add");
    check(w && st_writer_add(w, "a", ST_F32, 1, sb, a) == -1, "writer_rejects_duplicate");
    check(w && st_writer_add(w, "__metadata__", ST_F32, 1, sb, a) == -1, "writer_rejects_reserved_name");
    check(w && st_writer_add(w, "c", ST_F32, 1, sb, NULL) == -1, "writer_rejects_null_data");
    check(w && st_writer_save(w, path, err, sizeof err) == 0, "writer_save%s%s", *err ? ": " : "", err);
    st_writer_free(w);

    /* header: padded so the data starts 8-aligned, metadata present */
    FILE *fp = fopen(path, "rb");
    unsigned char len8[8] = {0};
    uint64_t hlen = 0;
    if (fp && fread(len8, 1, 8, fp) == 8)
        for (int i = 0; i < 8; i++) hlen |= (uint64_t)len8[i] << (8 * i);
    if (fp) fclose(fp);
    check(hlen > 0 && (8 + hlen) % 8 == 0, "header_padded_to_8 (N=%llu)", (unsigned long long)hlen);

    st_file f;
    ok = st_open(path, &f, err, sizeof err) == 0;
    check(ok, "round_trip_open%s%s", ok ? "" : ": ", ok ? "" : err);
    if (!ok) return;
    const st_tensor *ta = st_find(&f, "a"), *tb = st_find(&f, "b"), *ts = st_find(&f, "scalar"),
                    *tz = st_find(&f, "zero"), *to = st_find(&f, odd);
    check(f.n_tensors == 5 && ta && tb && ts && tz && to, "round_trip_names");
    check(ta && ta->dtype == ST_F32 && ta->ndim == 2 && ta->shape[0] == 2 && ta->shape[1] == 3 && ta->nbytes == 24 &&
              st_numel(ta) == 6 && memcmp(ta->data, a, 24) == 0,
          "round_trip_f32");
    check(tb && tb->dtype == ST_I32 && tb->ndim == 1 && tb->shape[0] == 4 && tb->nbytes == 16 &&
              memcmp(tb->data, b, 16) == 0,
          "round_trip_i32");
    check(ts && ts->ndim == 0 && st_numel(ts) == 1 && ts->nbytes == 4 && memcmp(ts->data, &s, 4) == 0,
          "round_trip_scalar");
    check(tz && tz->ndim == 2 && tz->shape[0] == 0 && tz->shape[1] == 5 && st_numel(tz) == 0 && tz->nbytes == 0,
          "round_trip_zero_sized");
    check(to && memcmp(to->data, b, 16) == 0, "round_trip_escaped_name");
    int sorted = 1;
    for (size_t i = 1; i < f.n_tensors; i++)
        sorted &= f.tensors[i - 1].data + f.tensors[i - 1].nbytes == f.tensors[i].data;
    check(sorted && f.tensors[0].data == f.buf + 8 + hlen, "round_trip_data_order");
    const char *m1 = st_meta(&f, "format"), *m2 = st_meta(&f, "quote"), *m3 = st_meta(&f, "k");
    check(f.n_meta == 3 && m1 && !strcmp(m1, "test/1") && m2 && !strcmp(m2, "a\"b\\c\td") && m3 && !strcmp(m3, "new"),
          "round_trip_metadata");
    check(!st_meta(&f, "nope") && !st_find(&f, "nope"), "lookup_missing_is_null");
    st_close(&f);
    check(zeroed(&f), "close_zeroes");
    st_close(&f); /* a second close must be harmless */
    check(zeroed(&f), "close_twice");
}

static void test_writer_misc(void)
{
    char path[128], err[512] = "";
    uint8_t u[3] = {1, 2, 3};
    const int64_t su[1] = {3};
    path_of(path, sizeof path, "no_meta");
    st_writer *w = st_writer_new();
    st_writer_add(w, "u", ST_U8, 1, su, u);
    int ok = st_writer_save(w, path, err, sizeof err) == 0;
    char head[256] = "";
    FILE *fp = fopen(path, "rb");
    if (fp) {
        size_t n = fread(head, 1, sizeof head - 1, fp);
        head[n] = '\0';
        fclose(fp);
    }
    st_file f;
    ok = ok && !strstr(head + 8, "__metadata__") && st_open(path, &f, err, sizeof err) == 0;
    ok = ok && f.n_meta == 0 && f.n_tensors == 1 && f.size % 8 == 3 && memcmp(f.tensors[0].data, u, 3) == 0;
    check(ok, "writer_no_metadata_key%s%s", *err ? ": " : "", err);
    if (ok) st_close(&f);

    snprintf(path, sizeof path, "%s/missing-dir/x.safetensors", dir);
    ok = st_writer_save(w, path, err, sizeof err) == -1 && strncmp(err, path, strlen(path)) == 0 &&
         strstr(err, "No such file");
    check(ok, "writer_fopen_error%s%s", ok ? "" : ": ", ok ? "" : err);
    struct stat full;
    if (stat("/dev/full", &full) == 0 && S_ISCHR(full.st_mode) && access("/dev/full", W_OK) == 0) {
        ok = st_writer_save(w, "/dev/full", err, sizeof err) == -1 && strstr(err, "/dev/full: ") == err &&
             strstr(err, "No space");
        check(ok, "writer_write_error%s%s", ok ? "" : ": ", ok ? "" : err);
    } else {
        check_skip("writer_write_error: no /dev/full character device");
    }
    st_writer_free(w);

    unsigned char *buf = malloc(8 + 8);
    memcpy(buf, "\x08\0\0\0\0\0\0\0{}      ", 16);
    ok = st_parse("mem", buf, 16, &f, err, sizeof err) == 0 && f.n_tensors == 0 && !strcmp(f.path, "mem");
    check(ok, "parse_buffer_empty_header");
    if (ok) st_close(&f);
    st_file z;
    memset(&z, 0, sizeof z);
    st_close(&z);
    check(zeroed(&z), "close_zeroed_struct");
}

static void test_faults(void)
{
    char path[128];
    path_of(path, sizeof path, "truncated");
    write_bytes(path, "\x02\0\0\0\0", 5);
    expect_fault_file("truncated", path, "truncated");
    path_of(path, sizeof path, "empty");
    write_bytes(path, "", 0);
    expect_fault_file("empty_file", path, "truncated");
    path_of(path, sizeof path, "header_past_end");
    make_raw(path, 100, "{}", 0);
    expect_fault_file("header_past_end", path, "past the end");
    path_of(path, sizeof path, "huge_header_len");
    make_raw(path, 0xFFFFFFFFFFFFFFF0ull, "{}", 16);
    expect_fault_file("huge_header_len", path, "more than the 100000000 bytes safetensors allows");
    path_of(path, sizeof path, "header_len_past_end");
    make_raw(path, 4096, "{}", 16);
    expect_fault_file("header_len_past_end", path, "past the end");
    path_of(path, sizeof path, "nul_in_header");
    write_bytes(path, "\x08\0\0\0\0\0\0\0{}\0     ", 16);
    expect_fault_file("nul_in_header", path, "JSON");
    path_of(path, sizeof path, "does_not_exist");
    expect_fault_file("missing_file", path, "No such file");
    expect_fault_file("directory", dir, "Is a directory");

    expect_fault("bad_json", "{'a': ", 0, "not valid JSON");
    expect_fault("json_trailing_garbage", "{} x", 0, "not valid JSON");
    expect_fault("not_object", "[1,2]", 0, "not a JSON object");
    expect_fault("entry_not_object", "{'a': 5}", 0, "'a': entry is not a JSON object");
    expect_fault("missing_dtype", "{'a':{'shape':[1],'data_offsets':[0,4]}}", 4, "missing 'dtype'");
    expect_fault("missing_shape", "{'a':{'dtype':'F32','data_offsets':[0,4]}}", 4, "missing 'shape'");
    expect_fault("missing_offsets", "{'a':{'dtype':'F32','shape':[1]}}", 4, "missing 'data_offsets'");
    expect_fault("dup_key_in_entry", "{'a':{'dtype':'F32','dtype':'I32','shape':[1],'data_offsets':[0,4]}}",
                 4, "duplicate key 'dtype'");
    expect_fault("dtype_not_string", "{'a':{'dtype':5,'shape':[1],'data_offsets':[0,4]}}", 4,
                 "dtype is not a string");
    expect_fault("shape_not_array", "{'a':{'dtype':'F32','shape':'1','data_offsets':[0,4]}}", 4,
                 "shape is not a JSON array");
    expect_fault("offsets_not_pair", "{'a':{'dtype':'F32','shape':[1],'data_offsets':[0]}}", 4, "data_offsets");
    expect_fault("offsets_triple", "{'a':{'dtype':'F32','shape':[1],'data_offsets':[0,4,8]}}", 4,
                 "data_offsets");
    expect_fault("offsets_not_array", "{'a':{'dtype':'F32','shape':[1],'data_offsets':{}}}", 4,
                 "data_offsets");
    expect_fault("shape_dim_string", "{'a':{'dtype':'F32','shape':['1'],'data_offsets':[0,4]}}", 4,
                 "non-negative integer");
    expect_fault("negative_dim", "{'a':{'dtype':'F32','shape':[-1],'data_offsets':[0,4]}}", 4,
                 "non-negative integer");
    expect_fault("fractional_dim", "{'a':{'dtype':'F32','shape':[1.5],'data_offsets':[0,4]}}", 4,
                 "non-negative integer");
    expect_fault("negative_offset", "{'a':{'dtype':'F32','shape':[1],'data_offsets':[-4,0]}}", 4,
                 "non-negative integer");
    expect_fault("fractional_offset", "{'a':{'dtype':'F32','shape':[1],'data_offsets':[0,4.5]}}", 4,
                 "non-negative integer");
    expect_fault("offset_above_2p53", "{'a':{'dtype':'F32','shape':[1],'data_offsets':[0,1e300]}}", 4,
                 "non-negative integer");
    expect_fault("too_many_dims", "{'a':{'dtype':'F32','shape':[1,1,1,1,1,1,1,1,1],'data_offsets':[0,4]}}",
                 4, "more than 8 dims");
    expect_fault("unknown_dtype", "{'a':{'dtype':'F8','shape':[1],'data_offsets':[0,1]}}", 1,
                 "unknown dtype 'F8'");
    expect_fault("dtype_wrong_case", "{'a':{'dtype':'f32','shape':[1],'data_offsets':[0,4]}}", 4,
                 "unknown dtype");
    expect_fault("end_before_begin", "{'a':{'dtype':'F32','shape':[1],'data_offsets':[4,0]}}", 4,
                 "before begin");
    expect_fault("out_of_range", "{'a':{'dtype':'F32','shape':[2],'data_offsets':[0,8]}}", 4, "out of range");
    expect_fault("overlap",
                 "{'a':{'dtype':'F32','shape':[2],'data_offsets':[0,8]},"
                 "'b':{'dtype':'F32','shape':[2],'data_offsets':[4,12]}}",
                 12, "overlap");
    expect_fault("same_range_twice",
                 "{'a':{'dtype':'F32','shape':[1],'data_offsets':[0,4]},"
                 "'b':{'dtype':'I32','shape':[1],'data_offsets':[0,4]}}",
                 4, "overlap");
    expect_fault("zero_sized_inside_other",
                 "{'a':{'dtype':'F32','shape':[2],'data_offsets':[0,8]},"
                 "'z':{'dtype':'F32','shape':[0],'data_offsets':[4,4]}}",
                 8, "overlap");
    expect_fault("gap",
                 "{'a':{'dtype':'F32','shape':[1],'data_offsets':[0,4]},"
                 "'b':{'dtype':'F32','shape':[1],'data_offsets':[8,12]}}",
                 12, "[4,8) before tensor 'b' are not covered");
    expect_fault("first_begin_not_zero", "{'a':{'dtype':'F32','shape':[1],'data_offsets':[4,8]}}", 8,
                 "not covered");
    expect_fault("trailing_bytes", "{'a':{'dtype':'F32','shape':[1],'data_offsets':[0,4]}}", 8,
                 "data section has 4 trailing bytes not covered by any tensor");
    expect_fault("trailing_bytes_no_tensors", "{}", 3, "data section has 3 trailing bytes");
    expect_fault("size_mismatch", "{'a.b':{'dtype':'F32','shape':[3,4],'data_offsets':[0,40]}}", 40,
                 "tensor 'a.b': byte size 40 does not match shape [3,4] of F32 (48 bytes)");
    expect_fault("scalar_size_mismatch", "{'s':{'dtype':'F64','shape':[],'data_offsets':[0,4]}}", 4,
                 "byte size 4 does not match shape [] of F64 (8 bytes)");
    expect_fault("numel_overflow",
                 "{'a':{'dtype':'F32','shape':[4294967296,4294967296,4294967296],'data_offsets':[0,4]}}", 4,
                 "(more than 2^63 bytes)");
    expect_fault("duplicate_name",
                 "{'a':{'dtype':'F32','shape':[1],'data_offsets':[0,4]},"
                 "'a':{'dtype':'F32','shape':[1],'data_offsets':[4,8]}}",
                 8, "duplicate tensor name 'a'");
    expect_fault("metadata_not_object", "{'__metadata__':'x'}", 0, "'__metadata__' is not a JSON object");
    expect_fault("metadata_value_not_string", "{'__metadata__':{'k':'v','n':1}}", 0,
                 "metadata value for 'n' is not a string");
    expect_fault("metadata_duplicate_key", "{'__metadata__':{'k':'v','k':'w'}}", 0,
                 "duplicate metadata key 'k'");
    expect_fault("metadata_twice", "{'__metadata__':{},'__metadata__':{}}", 0, "duplicate '__metadata__'");
    expect_fault("control_char_in_name_stays_one_line", "{'a\\nb': 5}", 0, "'a?b': entry is not a JSON object");
}

static void test_accepts(void)
{
    expect_ok("empty_header", "{}", 0, 0);
    expect_ok("empty_header_padded", "{}\n\t      ", 0, 0);
    expect_ok("out_of_json_order",
              "{'b':{'dtype':'I32','shape':[1],'data_offsets':[4,8]},"
              "'z2':{'dtype':'F32','shape':[3,0],'data_offsets':[8,8]},"
              "'a':{'dtype':'F32','shape':[1],'data_offsets':[0,4]},"
              "'z1':{'dtype':'U8','shape':[0],'data_offsets':[0,0]}}",
              8, 4);
    expect_ok("every_dtype",
              "{'__metadata__':{},"
              "'t0':{'dtype':'BOOL','shape':[1],'data_offsets':[0,1]},"
              "'t1':{'dtype':'U8','shape':[1],'data_offsets':[1,2]},"
              "'t2':{'dtype':'I8','shape':[1],'data_offsets':[2,3]},"
              "'t3':{'dtype':'I16','shape':[1],'data_offsets':[3,5]},"
              "'t4':{'dtype':'U16','shape':[1],'data_offsets':[5,7]},"
              "'t5':{'dtype':'F16','shape':[1],'data_offsets':[7,9]},"
              "'t6':{'dtype':'BF16','shape':[1],'data_offsets':[9,11]},"
              "'t7':{'dtype':'I32','shape':[1],'data_offsets':[11,15]},"
              "'t8':{'dtype':'U32','shape':[1],'data_offsets':[15,19]},"
              "'t9':{'dtype':'F32','shape':[1],'data_offsets':[19,23]},"
              "'ta':{'dtype':'F64','shape':[1],'data_offsets':[23,31]},"
              "'tb':{'dtype':'I64','shape':[1],'data_offsets':[31,39]},"
              "'tc':{'dtype':'U64','shape':[1],'data_offsets':[39,47]}}",
              47, 13);
    expect_ok("extra_entry_keys_ignored", "{'a':{'dtype':'F32','shape':[1],'data_offsets':[0,4],'x':1}}", 4, 1);
    const char *names[] = {"BOOL", "U8", "I8", "I16", "U16", "F16", "BF16", "I32", "U32", "F32", "F64", "I64", "U64"};
    const size_t sizes[] = {1, 1, 1, 2, 2, 2, 2, 4, 4, 4, 8, 8, 8};
    int ok = 1;
    for (int i = 0; i < ST_DTYPE_COUNT; i++)
        ok &= !strcmp(st_dtype_name((st_dtype)i), names[i]) && st_dtype_size((st_dtype)i) == sizes[i];
    check(ok, "dtype_names_and_sizes");
}

/* Every prefix of a valid file, and random byte changes to it, must either parse into a consistent
 * file or fail with one "<path>: ..." line; sanitizers catch what the checks cannot. */
static void test_mutations(void)
{
    char path[128];
    path_of(path, sizeof path, "round_trip");
    FILE *fp = fopen(path, "rb");
    unsigned char orig[4096];
    size_t n = fp ? fread(orig, 1, sizeof orig, fp) : 0;
    if (fp) fclose(fp);
    if (n < 16) {
        check(0, "mutations: no round_trip file");
        return;
    }
    size_t hend = 8 + (size_t)orig[0] + ((size_t)orig[1] << 8); /* even iterations hit only the header */
    uint64_t rng = 0x9E3779B97F4A7C15ull;
    int bad = 0, parsed = 0;
    char why[600] = "";
    for (int it = 0; it < 20000 && !bad; it++) {
        size_t len = it < (int)n ? (size_t)it : n; /* exact size, so that the sanitizer sees any overread */
        unsigned char *buf = malloc(len ? len : 1);
        memcpy(buf, orig, len);
        for (int k = 0; it >= (int)n && k < 1 + it % 4; k++) {
            rng = rng * 6364136223846793005ull + 1442695040888963407ull;
            size_t pos = (size_t)(rng >> 33) % (it % 2 || hend > n ? n : hend);
            buf[pos] = (unsigned char)(rng >> 20);
        }
        st_file f;
        char err[512] = "";
        if (st_parse("mut", buf, len, &f, err, sizeof err) == 0) {
            parsed++;
            /* the tensors must tile the data section exactly */
            size_t pos = 8 + (size_t)f.buf[0] + ((size_t)f.buf[1] << 8) + ((size_t)f.buf[2] << 16);
            for (size_t i = 0; i < f.n_tensors; i++) {
                if (f.tensors[i].data != f.buf + pos) bad = 1;
                pos += f.tensors[i].nbytes;
            }
            if (pos != f.size || bad) bad = 1, snprintf(why, sizeof why, "iteration %d parsed inconsistently", it);
            st_close(&f);
        } else if (strncmp(err, "mut: ", 5) != 0 || strchr(err, '\n') || !zeroed(&f)) {
            bad = 1;
            snprintf(why, sizeof why, "iteration %d: bad error \"%s\"", it, err);
        }
    }
    check(!bad, "mutations (%d of 20000 parsed)%s%s", parsed, bad ? ": " : "", why);
}

/* files of dir whose name starts with ".": temporary files left behind */
static int hidden_files(void)
{
    char cmd[160];
    snprintf(cmd, sizeof cmd, "ls -A '%s' | grep -c '^\\.'", dir);
    FILE *p = popen(cmd, "r");
    int n = -1;
    if (p && fscanf(p, "%d", &n) != 1) n = -1;
    if (p) pclose(p);
    return n;
}

static int same_bytes(const char *path, const char *want)
{
    char got[64] = {0};
    FILE *f = fopen(path, "rb");
    size_t n = f ? fread(got, 1, sizeof got - 1, f) : 0;
    if (f) fclose(f);
    return n == strlen(want) && !memcmp(got, want, n);
}

/* Outputs are atomic (reference/atomic_file.h): a write that fails (a file-size limit) or is interrupted
 * (SIGINT in the middle) leaves the previous file exactly as it was and no temporary file beside it. */
static void test_atomic(void)
{
    char path[256], err[512];
    path_of(path, sizeof path, "atomic");
    write_bytes(path, "previous", 8);
    static float big[1 << 18]; /* 1 MiB of data */
    st_writer *w = st_writer_new();
    st_writer_add(w, "x", ST_F32, 1, (int64_t[]){1 << 18}, big);
    /* a file-size limit in a child: the write fails with EFBIG (SIGXFSZ ignored, as dyvm does) */
    pid_t pid = fork();
    if (pid == 0) {
        dyvm_afile_install_handlers();
        struct rlimit lim = {64 << 10, 64 << 10};
        setrlimit(RLIMIT_FSIZE, &lim);
        _exit(st_writer_save(w, path, err, sizeof err) == -1 && strstr(err, "File too large") ? 0 : 1);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    check(WIFEXITED(st) && WEXITSTATUS(st) == 0 && same_bytes(path, "previous") && hidden_files() == 0,
          "a write past a file-size limit fails cleanly: previous file intact, no temporary file");
    /* SIGINT while the temporary file is open: the handler removes it and the process dies of the signal */
    pid = fork();
    if (pid == 0) {
        dyvm_afile_install_handlers();
        dyvm_afile af;
        FILE *f = dyvm_afile_open(&af, path, "wb", err, sizeof err);
        if (!f) _exit(3);
        fwrite(big, 1, sizeof big, f);
        fflush(f);
        raise(SIGINT);
        _exit(4); /* not reached */
    }
    waitpid(pid, &st, 0);
    check(WIFSIGNALED(st) && WTERMSIG(st) == SIGINT && same_bytes(path, "previous") && hidden_files() == 0,
          "SIGINT during a write: the process ends by the signal, previous file intact, temporary file removed");
    /* and a complete write replaces it */
    check(st_writer_save(w, path, err, sizeof err) == 0 && !same_bytes(path, "previous") && hidden_files() == 0,
          "a complete write replaces the file, nothing else left in the folder");
    st_writer_free(w);
    /* dims the reader would not take back exactly are refused by the writer too (cJSON prints integral
       doubles below 1e15 exactly) */
    w = st_writer_new();
    check(st_writer_add(w, "z", ST_F32, 2, (int64_t[]){0, INT64_C(1000000000000000)}, NULL) == -1 &&
          st_writer_add(w, "z", ST_F32, 2, (int64_t[]){0, INT64_C(999999999999999)}, NULL) == 0,
          "writer: dims up to 999999999999999, as the reader");
    st_writer_free(w);
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/test_safetensors.XXXXXX");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 2;
    }
    test_round_trip();
    test_writer_misc();
    test_faults();
    test_accepts();
    test_mutations();
    test_atomic();
    int rc = check_summary();
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return rc;
}
