# The paper suite: measured speed-up of each variant over dense Vim (median ratio, with its 95 % interval as an
# error bar) beside the FLOP ratios that would predict it. Called by dyvm bench with data='paper.dat' and the
# terminal already set. Columns: label speedup lo hi full_flop_ratio paper_flop_ratio.
set title sprintf("Speed-up over dense Vim at the official keep ratios: measured (95 %% CI) vs. FLOP ratios (batch %d, %s)", batch, backend)
set style data histograms
set style histogram errorbars gap 1 lw 1.5
set style fill solid 0.85 border -1
set boxwidth 0.9
set ylabel "speed-up over dense (×)"
set yrange [0:*]
set grid ytics
set key below horizontal
set offsets 0, 0, graph 0.05, 0
set xtics rotate by -25 scale 0
plot data using 2:3:4:xtic(1) title "measured (median latency, 95 % CI)" lc rgb "#1f77b4", \
     '' using 5:5:5 title "full FLOP ratio (what runs)" lc rgb "#ff7f0e", \
     '' using 6:6:6 title "paper FLOP ratio (calc_flops.py)" lc rgb "#2ca02c", \
     1 with lines dt 2 lc rgb "#555555" title "no speed-up"
