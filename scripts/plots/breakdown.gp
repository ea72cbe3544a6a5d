# Time per stage, stacked, per variant.
set title "Time per stage of one forward (batch 1, official keep ratios)"
set ylabel "milliseconds per forward"
set style data histograms
set style histogram rowstacked
set style fill solid 0.9 border -1
set boxwidth 0.6
set yrange [0:*]
set grid ytics
set key outside right top title "stage"
plot for [i=2:13] data using i:xtic(1) title columnheader(i)
