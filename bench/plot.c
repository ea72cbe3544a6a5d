#include "plot.h"

#include "atomic_file.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

bool dyvm_have_gnuplot(void) { return system("gnuplot --version >/dev/null 2>&1") == 0; }

static int file_starts_with(const char *path, const char *magic, size_t n)
{
    char buf[64] = {0};
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    size_t got = fread(buf, 1, n, f);
    fclose(f);
    return got == n && memcmp(buf, magic, n) == 0;
}

static int run(const char *script, const char *vars, const char *term, const char *out, char *err, size_t errlen)
{
    char cmd[16384], log[] = "/tmp/dyvm-gnuplot-XXXXXX";
    int fd = mkstemp(log);
    if (fd < 0) return snprintf(err, errlen, "cannot make a temporary file for gnuplot"), -1;
    close(fd);
    remove(out); /* out is the temporary name beside the target (dyvm_plot) */
    /* noenhanced: underscores in names stay underscores, not subscripts */
    const int len = snprintf(cmd, sizeof cmd, "gnuplot -e \"set terminal %.200s noenhanced; set output '%.4096s'; "
                             "%.4096s\" '%.4096s' >'%s' 2>&1", term, out, vars, script, log);
    if (len < 0 || (size_t)len >= sizeof cmd || strlen(out) > 4096 || strlen(vars) > 4096 || strlen(script) > 4096) {
        remove(log);
        return snprintf(err, errlen, "gnuplot %s: paths too long for the command line", script), -1;
    }
    int st = system(cmd);
    int rc = WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
    char first[512] = "";
    FILE *lf = fopen(log, "r");
    if (lf) {
        char line[512];
        while (fgets(line, sizeof line, lf)) /* the first line that says what went wrong */
            if (!first[0] && (strstr(line, "rror") || strstr(line, "arning"))) snprintf(first, sizeof first, "%s", line);
        fclose(lf);
    }
    remove(log);
    first[strcspn(first, "\n")] = 0;
    if (rc) return snprintf(err, errlen, "gnuplot %s failed on %s: %s", script, out, first[0] ? first : "(no message)"), -1;
    if (first[0]) return snprintf(err, errlen, "gnuplot %s warned on %s: %s", script, out, first), -1;
    return 0;
}

/* gnuplot writes to a temporary name beside the target, renamed over it only when the plot is complete and
 * checked: a failed or interrupted plot leaves the previous one (atomic_file.h) */
static int plot_one(const char *script, const char *vars, const char *term, const char *path, const char *magic,
                    size_t n, const char *kind, char *err, size_t errlen)
{
    dyvm_afile af;
    if (dyvm_afile_reserve(&af, path, err, errlen)) return -1;
    if (run(script, vars, term, af.tmp, err, errlen)) return dyvm_afile_forget(&af), -1;
    if (!file_starts_with(af.tmp, magic, n)) {
        dyvm_afile_forget(&af);
        return snprintf(err, errlen, "gnuplot %s: %s is not %s (empty or cut short)", script, path, kind), -1;
    }
    return dyvm_afile_rename(&af, err, errlen);
}

int dyvm_plot(const char *script, const char *vars, const char *png, const char *svg, char *err, size_t errlen)
{
    if (plot_one(script, vars, "pngcairo size 1100,650 font 'DejaVu Sans,11'", png, "\x89PNG\r\n\x1a\n", 8, "a PNG",
                 err, errlen))
        return -1;
    return plot_one(script, vars, "svg size 1100,650 font 'DejaVu Sans,11'", svg, "<?xml", 5, "an SVG", err, errlen);
}
