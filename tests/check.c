#include "check.h"

#include <stdarg.h>
#include <stdio.h>

static int passed, failed, skipped;

static void line(const char *tag, const char *fmt, va_list ap)
{
    printf("%s ", tag);
    vprintf(fmt, ap);
    printf("\n");
    fflush(stdout);
}

int check(int ok, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    line(ok ? "PASS" : "FAIL", fmt, ap);
    va_end(ap);
    ok ? passed++ : failed++;
    return ok;
}

void check_skip(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    line("SKIP", fmt, ap);
    va_end(ap);
    skipped++;
}

int check_summary(void)
{
    if (skipped)
        printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
    else
        printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
