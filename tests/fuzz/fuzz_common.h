/* Shared by the libFuzzer targets (tests/fuzz/fuzz_*.c; build and run: make fuzz, see fuzz.mk).
 * A broken invariant calls FUZZ_ASSERT, which prints the condition and aborts: libFuzzer then saves the
 * input under build-fuzz/artifacts/<target>/ like any sanitizer report. */
#ifndef DYVM_FUZZ_COMMON_H
#define DYVM_FUZZ_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "safetensors.h"

/* A file path for the writers' round trips: "<dir>/rt.safetensors" in a private folder made once per process
 * under $FUZZ_TMPDIR, else /dev/shm (tmpfs: the writers fsync and rename), else /tmp, and removed at exit.
 * NULL when no folder can be made (the round trips are then skipped). */
static char fuzz_tmp_dir[256], fuzz_tmp_file[300];
static inline void fuzz_tmp_cleanup(void)
{
    unlink(fuzz_tmp_file);
    rmdir(fuzz_tmp_dir);
}
static inline const char *fuzz_tmp_path(void)
{
    static int state; /* 0 untried, 1 ready, -1 failed */
    if (state == 0) {
        const char *base = getenv("FUZZ_TMPDIR");
        if (!base || !*base) base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
        snprintf(fuzz_tmp_dir, sizeof fuzz_tmp_dir, "%s/dyvm-fuzz-XXXXXX", base);
        state = mkdtemp(fuzz_tmp_dir) ? 1 : -1;
        if (state == 1) {
            snprintf(fuzz_tmp_file, sizeof fuzz_tmp_file, "%s/rt.safetensors", fuzz_tmp_dir);
            atexit(fuzz_tmp_cleanup);
        }
    }
    return state == 1 ? fuzz_tmp_file : NULL;
}

#define FUZZ_ASSERT(cond, ...)                                                                                 \
    do {                                                                                                       \
        if (!(cond)) {                                                                                         \
            fprintf(stderr, "%s:%d: invariant failed: %s: ", __FILE__, __LINE__, #cond);                       \
            fprintf(stderr, __VA_ARGS__);                                                                      \
            fputc('\n', stderr);                                                                               \
            fuzz_tmp_cleanup();                                                                                \
            abort();                                                                                           \
        }                                                                                                      \
    } while (0)

/* Every error of the loaders is one non-empty line (SPEC.md section 7: "one clear line"). */
static inline void fuzz_check_err(const char *err, size_t errlen, const char *what)
{
    const size_t n = strnlen(err, errlen);
    FUZZ_ASSERT(n < errlen, "%s: err is not NUL-terminated", what);
    FUZZ_ASSERT(n > 0, "%s failed with an empty message", what);
    FUZZ_ASSERT(!strchr(err, '\n'), "%s: message is not one line: \"%s\"", what, err);
}

/* The input as a safetensors file: an exact-size copy (so that ASan sees any read past the end; st_parse owns
 * and frees it), parsed into f. 0 when it parses; -1 after checking the error line (err keeps it). */
static inline int fuzz_parse(const uint8_t *data, size_t size, st_file *f, char *err, size_t errlen)
{
    unsigned char *copy = malloc(size ? size : 1);
    if (!copy) {
        snprintf(err, errlen, "fuzz: out of memory");
        memset(f, 0, sizeof *f);
        return -1;
    }
    if (size) memcpy(copy, data, size);
    if (!st_parse("fuzz", copy, size, f, err, errlen)) return 0;
    fuzz_check_err(err, errlen, "st_parse");
    return -1;
}

/* Touches every byte, so that ASan sees a read past the buffer. */
static inline unsigned fuzz_touch(const unsigned char *p, size_t n)
{
    unsigned s = 0;
    for (size_t i = 0; i < n; i++) s = s * 31u + p[i];
    return s;
}

#endif
