# The block-count sweep (the paper's Figure 1b): throughput relative to running all 48 branches (with its 95 %
# interval), and FLOPs, against the number of directional SSM branches run; on a GPU run the CPU curve is
# index 1. Columns: K throughput_vs_all48 lo hi images_per_s median_ms full_gflops paper_gflops.
set title sprintf("%s: speed and FLOPs against the SSM branches run (block variant, count:K, %s batch %d)", model, backend, batch)
set xlabel "directional SSM branches run, K (of 48)"
set ylabel "throughput relative to K = 48 (×, 95 % CI)"
set y2label "GFLOPs per image"
set xrange [-1:49]
set xtics 0,4,48
set yrange [0:*]
set y2range [0:*]
set ytics nomirror
set y2tics
set grid
set key top right
if (has_cpu) {
    plot data index 0 using 1:2:3:4 with yerrorlines lw 2 pt 7 lc rgb "#1f77b4" title sprintf("%s throughput (left axis)", backend), \
         data index 1 using 1:2:3:4 with yerrorlines lw 2 pt 13 lc rgb "#9467bd" title "cpu throughput, batch 1 (left axis)", \
         data index 0 using 1:7 axes x1y2 with linespoints lw 2 pt 5 dt 2 lc rgb "#ff7f0e" title "full GFLOPs (right axis)", \
         data index 0 using 1:8 axes x1y2 with linespoints lw 2 pt 9 dt 3 lc rgb "#2ca02c" title "paper GFLOPs (right axis)"
} else {
    plot data index 0 using 1:2:3:4 with yerrorlines lw 2 pt 7 lc rgb "#1f77b4" title sprintf("%s throughput (left axis)", backend), \
         data index 0 using 1:7 axes x1y2 with linespoints lw 2 pt 5 dt 2 lc rgb "#ff7f0e" title "full GFLOPs (right axis)", \
         data index 0 using 1:8 axes x1y2 with linespoints lw 2 pt 9 dt 3 lc rgb "#2ca02c" title "paper GFLOPs (right axis)"
}
