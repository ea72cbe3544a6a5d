/* gnuplot, failing loudly: a plot counts only when gnuplot exits 0 and leaves a real PNG (signature
 * checked) and SVG behind (gnuplot leaves a 0-byte file on errors). */
#ifndef DYVM_PLOT_H
#define DYVM_PLOT_H

#include <stdbool.h>
#include <stddef.h>

bool dyvm_have_gnuplot(void);
/* Runs `script` (a gnuplot file that plots without setting a terminal) twice, into png and svg, with
 * `vars` (gnuplot statements, e.g. "data='x.dat'") set first. Returns 0, or -1 with err. */
int dyvm_plot(const char *script, const char *vars, const char *png, const char *svg, char *err, size_t errlen);

#endif
