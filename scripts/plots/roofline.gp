# The roofline of one backend: each stage of each variant at its arithmetic intensity (full FLOPs / minimum
# bytes) and achieved rate (full FLOPs / measured stage time), under the roofs measured in the same run:
# sgemm and FMA (GFLOP/s), exp (transcendentals/s, each counted as one FLOP) and the memory bandwidth
# diagonal, and on the CPU the FMA roof under the last-level cache's bandwidth. Variables from dyvm bench:
# sgemm, fma, expr (G/s), bw, bwc (GB/s; bwc 0 where not measured). Columns: stage flop_per_byte gflops.
set title sprintf("%s: roofline of each stage (batch %d, official keep ratios, %s)", model, batch, backend)
set xlabel "arithmetic intensity (full FLOPs per minimum byte)"
set ylabel "achieved GFLOP/s"
set logscale xy
set xrange [0.01:1000]
set yrange [0.01:*]
set grid
set key outside right top
set samples 400
roof(x, peak) = (bw * x < peak) ? bw * x : peak
roofc(x, peak) = bwc > 0 ? ((bwc * x < peak) ? bwc * x : peak) : 1/0
plot roof(x, sgemm) with lines lw 2 lc rgb "#000000" title sprintf("sgemm roof %.0f GFLOP/s", sgemm), \
     roof(x, fma) with lines lw 2 dt 2 lc rgb "#555555" title sprintf("FMA roof %.0f GFLOP/s", fma), \
     roof(x, expr) with lines lw 2 dt 3 lc rgb "#888888" title sprintf("exp roof %.2g G/s", expr), \
     roofc(x, fma) with lines lw 1 dt 4 lc rgb "#555555" title (bwc > 0 ? sprintf("FMA roof from the last-level cache, %.0f GB/s", bwc) : ""), \
     data index 0 using 2:3 with points pt 7 ps 1.3 lc rgb "#1f77b4" title "vim", \
     data index 1 using 2:3 with points pt 5 ps 1.3 lc rgb "#ff7f0e" title "token", \
     data index 2 using 2:3 with points pt 9 ps 1.3 lc rgb "#2ca02c" title "block", \
     data index 3 using 2:3 with points pt 11 ps 1.3 lc rgb "#d62728" title "dyvm", \
     data index 3 using 2:3:1 with labels offset 0,0.8 font ",8" notitle
