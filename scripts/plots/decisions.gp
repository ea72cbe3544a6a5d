# The decisions of one configuration: for each layer, the fraction of the images that ran its forward and
# its backward SSM branch, and the tokens in the sequence (right axis). Columns: layer tokens forward backward.
set title title
set xlabel "layer"
set ylabel "fraction of the images that ran the branch"
set y2label "tokens in the sequence"
set yrange [0:1.05]
set y2range [0:*]
set ytics nomirror
set y2tics
set grid
set xtics 1
set offsets 0.7, 0.7, 0, 0
set key outside right top
set style fill solid 0.6
set boxwidth 0.4
plot data using ($1 - 0.2):3 with boxes title "forward", \
     data using ($1 + 0.2):4 with boxes title "backward", \
     data using 1:2 axes x1y2 with linespoints lw 2 pt 7 title "tokens"
