#include "plot.h"

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
    char cmd[4096], log[] = "/tmp/dyvm-gnuplot-XXXXXX";
    int fd = mkstemp(log);
    if (fd < 0) return snprintf(err, errlen, "cannot make a temporary file for gnuplot"), -1;
    close(fd);
    remove(out);
    /* noenhanced: underscores in names stay underscores, not subscripts */
    snprintf(cmd, sizeof cmd, "gnuplot -e \"set terminal %s noenhanced; set output '%s'; %s\" '%s' >'%s' 2>&1", term,
             out, vars, script, log);
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

int dyvm_plot(const char *script, const char *vars, const char *png, const char *svg, char *err, size_t errlen)
{
    if (run(script, vars, "pngcairo size 1100,650 font 'DejaVu Sans,11'", png, err, errlen)) return -1;
    if (!file_starts_with(png, "\x89PNG\r\n\x1a\n", 8))
        return snprintf(err, errlen, "gnuplot %s: %s is not a PNG (empty or cut short)", script, png), -1;
    if (run(script, vars, "svg size 1100,650 font 'DejaVu Sans,11'", svg, err, errlen)) return -1;
    if (!file_starts_with(svg, "<?xml", 5))
        return snprintf(err, errlen, "gnuplot %s: %s is not an SVG (empty or cut short)", script, svg), -1;
    return 0;
}
