# Speed-up against the token keep ratio and against the block keep ratio (95 % intervals as error bars),
# beside the FLOP ratios. Columns: ratio speedup lo hi full_flop_ratio.
set title sprintf("%s: speed-up over dense Vim against the keep ratios (batch %d, %s)", model, batch, backend)
set xlabel "keep ratio (token: r per stage; block: realized fraction of branches run)"
set ylabel "speed-up over dense (×, 95 % CI)"
set xrange [-0.02:1.02]
set yrange [0:*]
set grid
set key top right
plot data index 0 using 1:2:3:4 with yerrorlines lw 2 pt 7 lc rgb "#1f77b4" title "token ratio: measured", \
     data index 0 using 1:5 with lines lw 2 dt 2 lc rgb "#1f77b4" title "token ratio: full FLOP ratio", \
     data index 1 using 1:2:3:4 with yerrorlines lw 2 pt 5 lc rgb "#d62728" title "block ratio: measured", \
     data index 1 using 1:5 with lines lw 2 dt 2 lc rgb "#d62728" title "block ratio: full FLOP ratio"
