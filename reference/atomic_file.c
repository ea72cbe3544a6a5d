#include "atomic_file.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The temporary files alive now, for the signal handlers: fixed storage, written before a slot is marked
 * used, so that a handler only ever reads complete names (unlink is async-signal-safe). */
#define SLOTS 64
static char tmp_names[SLOTS][PATH_MAX];
static volatile sig_atomic_t tmp_used[SLOTS];

static int claim(const char *tmp)
{
    for (int i = 0; i < SLOTS; i++)
        if (!tmp_used[i]) {
            memcpy(tmp_names[i], tmp, strlen(tmp) + 1);
            tmp_used[i] = 1;
            return i;
        }
    return -1;
}

static void release(int slot)
{
    if (slot >= 0) tmp_used[slot] = 0;
}

static void on_signal(int sig)
{
    for (int i = 0; i < SLOTS; i++)
        if (tmp_used[i]) unlink(tmp_names[i]);
    signal(sig, SIG_DFL);
    raise(sig);
}

void dyvm_afile_install_handlers(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    /* past a file-size limit a write then fails with EFBIG, which the writers report and clean up after,
       instead of the signal killing the process with its temporary file left behind */
    signal(SIGXFSZ, SIG_IGN);
}

/* "<dir>/.<name>.tmp-XXXXXX" for path, in tmp */
static int temp_name(const char *path, char *tmp, size_t len)
{
    const char *slash = strrchr(path, '/');
    const int dir = slash ? (int)(slash - path + 1) : 0;
    const int n = snprintf(tmp, len, "%.*s.%s.tmp-XXXXXX", dir, path, slash ? slash + 1 : path);
    return n > 0 && (size_t)n < len ? 0 : -1;
}

/* a new temporary file beside a->path, its mode as a new file's would be (0666 less the umask) */
static int make_temp(dyvm_afile *a, char *err, size_t errlen)
{
    a->fp = NULL, a->slot = -1;
    if (temp_name(a->path, a->tmp, sizeof a->tmp)) return snprintf(err, errlen, "%s: path too long", a->path), -1;
    sigset_t all, old;
    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, &old); /* created and registered with no signal in between */
    const int fd = mkstemp(a->tmp);
    const int e = errno;
    if (fd >= 0) a->slot = claim(a->tmp);
    sigprocmask(SIG_SETMASK, &old, NULL);
    if (fd < 0) {
        /* the folder is what fails (missing, not writable): say so with the target's name */
        snprintf(err, errlen, "%s: %s", a->path, strerror(e));
        return -1;
    }
    const mode_t mask = umask(0);
    umask(mask);
    if (fchmod(fd, 0666 & ~mask)) { /* harmless: the file stays 0600 */ }
    return fd;
}

FILE *dyvm_afile_open(dyvm_afile *a, const char *path, const char *mode, char *err, size_t errlen)
{
    memset(a, 0, sizeof *a);
    if (snprintf(a->path, sizeof a->path, "%s", path) >= (int)sizeof a->path)
        return snprintf(err, errlen, "%s: path too long", path), NULL;
    struct stat sb;
    if (stat(path, &sb) == 0 && !S_ISREG(sb.st_mode)) {
        a->direct = 1, a->slot = -1;
        if (!(a->fp = fopen(path, mode))) snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return a->fp;
    }
    const int fd = make_temp(a, err, errlen);
    if (fd < 0) return NULL;
    if (!(a->fp = fdopen(fd, mode))) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        close(fd);
        dyvm_afile_forget(a);
        return NULL;
    }
    return a->fp;
}

int dyvm_afile_commit(dyvm_afile *a, char *err, size_t errlen)
{
    int ok = a->fp != NULL, e = 0;
    if (ok && (fflush(a->fp) || ferror(a->fp) || (!a->direct && fsync(fileno(a->fp))))) ok = 0, e = errno;
    if (a->direct) {
        if (a->fp && fclose(a->fp) && ok) ok = 0, e = errno;
        a->fp = NULL;
        return ok ? 0 : (snprintf(err, errlen, "%s: %s", a->path, strerror(e ? e : EIO)), -1);
    }
    if (a->fp && fclose(a->fp) && ok) ok = 0, e = errno; /* a full disk may only show here */
    a->fp = NULL;
    if (ok && rename(a->tmp, a->path)) ok = 0, e = errno;
    if (!ok) {
        unlink(a->tmp);
        snprintf(err, errlen, "%s: %s", a->path, strerror(e ? e : EIO));
    }
    release(a->slot);
    a->slot = -1;
    return ok ? 0 : -1;
}

void dyvm_afile_abort(dyvm_afile *a)
{
    if (a->fp) fclose(a->fp);
    a->fp = NULL;
    if (!a->direct) dyvm_afile_forget(a);
}

int dyvm_afile_reserve(dyvm_afile *a, const char *path, char *err, size_t errlen)
{
    memset(a, 0, sizeof *a);
    if (snprintf(a->path, sizeof a->path, "%s", path) >= (int)sizeof a->path)
        return snprintf(err, errlen, "%s: path too long", path), -1;
    const int fd = make_temp(a, err, errlen);
    if (fd < 0) return -1;
    close(fd);
    return 0;
}

int dyvm_afile_rename(dyvm_afile *a, char *err, size_t errlen)
{
    const int rc = rename(a->tmp, a->path) ? -1 : 0;
    if (rc) snprintf(err, errlen, "%s: %s", a->path, strerror(errno)), unlink(a->tmp);
    release(a->slot);
    a->slot = -1;
    return rc;
}

void dyvm_afile_forget(dyvm_afile *a)
{
    if (a->tmp[0]) unlink(a->tmp);
    release(a->slot);
    a->slot = -1;
}
