# Throughput against batch size, one line per variant, with 95 % intervals. Columns: batch images_per_s lo hi median_ms.
set title sprintf("%s: throughput against batch size (official keep ratios, %s)", model, backend)
set xlabel "batch size"
set ylabel "throughput (images/s, 95 % CI)"
set logscale x 2
set yrange [0:*]
set grid
set key outside right top
plot data index 0 using 1:2:3:4 with yerrorlines lw 2 pt 7 title "vim", \
     data index 1 using 1:2:3:4 with yerrorlines lw 2 pt 5 title "token", \
     data index 2 using 1:2:3:4 with yerrorlines lw 2 pt 9 title "block", \
     data index 3 using 1:2:3:4 with yerrorlines lw 2 pt 11 title "dyvm"
