/* The tests' tiny harness: one line per check (PASS name / FAIL name: why / SKIP name: why), and each
 * program ends with "N passed, M failed" (", K skipped" when any), exit 1 on any failure. */
#ifndef DYVM_CHECK_H
#define DYVM_CHECK_H

__attribute__((format(printf, 2, 3))) int check(int ok, const char *fmt, ...);
__attribute__((format(printf, 1, 2))) void check_skip(const char *fmt, ...);
/* Prints the closing line; returns the exit status. */
int check_summary(void);

#endif
