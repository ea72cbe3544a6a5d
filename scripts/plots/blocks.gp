# The block-count sweep (the paper's Figure 1b): throughput and FLOPs against the number of directional
# SSM branches run.
set title sprintf("%s: throughput and FLOPs against the SSM branches run (block variant, count:K, batch %d, %s)", model, batch, backend)
set xlabel "directional SSM branches run, K (of 48)"
set ylabel "throughput (images/s)"
set y2label "GFLOPs per image"
set xrange [-1:49]
set xtics 0,4,48
set yrange [0:*]
set y2range [0:*]
set ytics nomirror
set y2tics
set grid
set key top right
plot data using 1:2 with linespoints lw 2 pt 7 lc rgb "#1f77b4" title "measured throughput (left axis)", \
     '' using 1:4 axes x1y2 with linespoints lw 2 pt 5 dt 2 lc rgb "#ff7f0e" title "full GFLOPs (right axis)", \
     '' using 1:5 axes x1y2 with linespoints lw 2 pt 9 dt 3 lc rgb "#2ca02c" title "paper GFLOPs (right axis)"
