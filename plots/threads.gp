# threads.gp — figure 11: training throughput (tokens/s, mean ± sd) of each
# model with each thread count: bars side by side, the model's colour, paler
# for fewer threads.  A bar twice as tall means the second core doubled the
# speed.
#
# Set by seqlab:  title, setting (what the runs share: the subtitle), file
#   (CSV: x,group,level,threads,model,mean,sd,n), nlevels, level<k> (thread
#   counts), ngroups, barwidth, xticsdef, has_sd (any sd > 0: error bars)
subtitle = setting
load plotdir."/common.gp"

# the title and the settings under it, above the plot
set label 99 title at screen 0.5, 0.965 center font ",20"
eval(subtitle_on)
set tmargin at screen 1.0 - TITLE_H - 0.02
set ylabel "training throughput (tokens/s)"
set format y "%.0s%c"
set xrange [-0.6:ngroups - 0.4]
set yrange [0:*]
set boxwidth barwidth
set grid noxtics ytics
set xtics scale 0
eval("set xtics ".xticsdef)
set key below horizontal samplen 2
density(k) = 0.25 + 0.75 * (k - 1) / (nlevels > 1 ? nlevels - 1 : 1)
lev(k) = value(sprintf("level%d", k))
if (has_sd) {
    plot for [k = 1:nlevels] file using (column("level") == k ? column("x") : NaN):(column("mean")):(model_rgb(stringcolumn("model"))) \
             with boxes fs solid density(k) border lc rgb "black" lc rgb variable notitle, \
         file using (column("x")):(column("sd") > 0 ? column("mean") - column("sd") : NaN):(0):(2 * column("sd")) \
             with vectors heads size screen 0.008, 90 lc rgb "black" lw 2 notitle, \
         for [k = 1:nlevels] NaN with boxes fs solid density(k) border lc rgb "black" lc rgb "#777777" \
             title sprintf("%g thread%s", lev(k), lev(k) == 1 ? "" : "s")
} else {
    plot for [k = 1:nlevels] file using (column("level") == k ? column("x") : NaN):(column("mean")):(model_rgb(stringcolumn("model"))) \
             with boxes fs solid density(k) border lc rgb "black" lc rgb variable notitle, \
         for [k = 1:nlevels] NaN with boxes fs solid density(k) border lc rgb "black" lc rgb "#777777" \
             title sprintf("%g thread%s", lev(k), lev(k) == 1 ? "" : "s")
}
