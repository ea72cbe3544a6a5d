# Time per image against the number of tokens, log-log, one line per variant; the key gives each variant's
# fitted exponent e (time ~ tokens^e). Columns: tokens ms_per_image peak_mb images_per_s.
set title sprintf("%s: time per image against tokens (%s)", model, backend)
set xlabel "tokens in the sequence (class token included)"
set ylabel "time per image (ms)"
set logscale xy
set grid
set key outside right top
plot data index 0 using 1:2 with linespoints lw 2 pt 7 title sprintf("vim, e = %.2f", e_vim), \
     data index 1 using 1:2 with linespoints lw 2 pt 5 title sprintf("token, e = %.2f", e_token), \
     data index 2 using 1:2 with linespoints lw 2 pt 9 title sprintf("block, e = %.2f", e_block), \
     data index 3 using 1:2 with linespoints lw 2 pt 11 title sprintf("dyvm, e = %.2f", e_dyvm)
