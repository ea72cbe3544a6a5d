/* Outputs written whole or not at all: a file is written to a temporary file in the same folder, flushed to
 * the disk and renamed over its target only when complete. A run that fails or is interrupted (SIGINT,
 * SIGTERM: the handlers remove every temporary file still open, then the signal ends the process as it
 * would have) leaves any existing output exactly as it was, and no temporary file behind. SIGKILL cannot be
 * caught: it may leave a ".<name>.tmp-XXXXXX" beside the target, never a damaged target. */
#ifndef DYVM_ATOMIC_FILE_H
#define DYVM_ATOMIC_FILE_H

#include <limits.h>
#include <stdio.h>

typedef struct {
    FILE *fp;            /* write here */
    char path[PATH_MAX]; /* the target */
    char tmp[PATH_MAX];  /* ".<name>.tmp-XXXXXX" beside it */
    int slot;            /* in the registry the signal handlers clean */
    int direct;          /* the target is not a regular file (a device, a pipe): written in place */
} dyvm_afile;

/* Opens a temporary file beside path; NULL with err ("<path>: <why>"). A target that exists and is not a
 * regular file (/dev/stdout, a pipe, a device) cannot be replaced by a rename: it is written in place. */
FILE *dyvm_afile_open(dyvm_afile *a, const char *path, const char *mode, char *err, size_t errlen);
/* Flushes, syncs and renames it over the target; on any failure removes it and returns -1 with err (the
 * target untouched). */
int dyvm_afile_commit(dyvm_afile *a, char *err, size_t errlen);
/* Closes and removes the temporary file (the target untouched). */
void dyvm_afile_abort(dyvm_afile *a);
/* A temporary name beside path for an output another program writes (gnuplot): registered for the signal
 * handlers like the files above; dyvm_afile_rename moves it over path, dyvm_afile_forget removes it. */
int dyvm_afile_reserve(dyvm_afile *a, const char *path, char *err, size_t errlen);
int dyvm_afile_rename(dyvm_afile *a, char *err, size_t errlen);
void dyvm_afile_forget(dyvm_afile *a);
/* SIGINT, SIGTERM and SIGHUP remove the temporary files still open, then end the process with that signal;
 * SIGXFSZ is ignored, so that a write past a file-size limit fails (EFBIG) and is cleaned up like any other. */
void dyvm_afile_install_handlers(void);

#endif
