# The backend's memory high-water mark of a forward (weights, activations, scratch) against the number of
# tokens, one line per variant. Columns: tokens ms_per_image peak_mb images_per_s.
set title sprintf("%s: memory of a forward against tokens (%s, batch as in the table)", model, backend)
set xlabel "tokens in the sequence"
set ylabel "peak memory (MB)"
set logscale x
set yrange [0:*]
set grid
set key outside right top
plot data index 0 using 1:3 with linespoints lw 2 pt 7 title "vim", \
     data index 1 using 1:3 with linespoints lw 2 pt 5 title "token", \
     data index 2 using 1:3 with linespoints lw 2 pt 9 title "block", \
     data index 3 using 1:3 with linespoints lw 2 pt 11 title "dyvm"
