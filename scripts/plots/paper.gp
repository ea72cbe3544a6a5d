# The paper suite: measured speed-up of each variant over dense Vim beside the FLOP ratios that would
# predict it. Called by dyvm bench with data='paper.dat' and the terminal already set.
set title sprintf("Speed-up over dense Vim at the official keep ratios: measured vs. FLOP ratios (batch %d, %s)", batch, backend)
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set ylabel "speed-up over dense (×)"
set yrange [0:*]
set grid ytics
set key below horizontal
set offsets 0, 0, graph 0.05, 0
set xtics rotate by -25 scale 0
plot data using 2:xtic(1) title "measured (median latency)" lc rgb "#1f77b4", \
     '' using 3 title "full FLOP ratio (what runs)" lc rgb "#ff7f0e", \
     '' using 4 title "paper FLOP ratio (calc_flops.py)" lc rgb "#2ca02c", \
     1 with lines dt 2 lc rgb "#555555" title "no speed-up"
