# Time per stage, stacked, per variant.
set title sprintf("%s: time per stage of one forward (batch %d, official keep ratios, %s)", model, batch, backend)
set ylabel "milliseconds per forward"
set style data histograms
set style histogram rowstacked
set style fill solid 0.9 border -1
set boxwidth 0.6
set yrange [0:*]
set grid ytics
set key outside right top title "stage" invert
# twelve distinguishable colours, one per stage (the default cycle repeats after eight)
array colours[12] = ["#4e79a7", "#a0cbe8", "#f28e2b", "#ffbe7d", "#59a14f", "#8cd17d", "#b6992d", "#000000", "#e15759", "#ff9d9a", "#79706e", "#d37295"]
plot for [i=2:13] data using i:xtic(1) title columnheader(i) lc rgb colours[i-1]
