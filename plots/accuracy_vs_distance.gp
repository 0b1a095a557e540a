# accuracy_vs_distance.gp — figure 5: validation accuracy (mean ± sd over
# seeds) against the distance the model must carry information, with chance
# drawn; for regression tasks (adding) the final loss over the chance loss.
#
# Set by seqlab:  title, npanels; per panel p: ptitle<p>, paccuracy<p> (1 =
#   accuracy, 0 = loss ratio), pn<p>, each j: file<p>_<j> (CSV: distance,
#   value,value_sd,chance_accuracy,...,chance_loss,...), model<p>_<j>,
#   variant<p>_<j>;
#   nseries and, per series s: lmodel<s>, llabel<s>, lvariant<s>
load plotdir."/common.gp"

S(name) = value(name)
# line j of n drawn at d * shift(j, n), a few per cent apart on the log axis,
# so that models that all reach accuracy 1 do not hide each other's points
shift(j, n) = 2 ** ((j - (n + 1) / 2.0) * 0.07)
file(p, j) = S(sprintf("file%d_%d", p, j))
color(p, j) = model_color(S(sprintf("model%d_%d", p, j)))
point(p, j) = variant_point(S(sprintf("model%d_%d", p, j)), S(sprintf("variant%d_%d", p, j)))
dash(p, j) = variant_dash(S(sprintf("variant%d_%d", p, j)))

set multiplot title title font ",20"
do for [p = 1:npanels] {
    set origin panel_x(p, npanels), panel_y(p, npanels)
    set size panel_w(npanels), panel_h(npanels)
    set title S(sprintf("ptitle%d", p))
    set xlabel "distance (steps, log scale)"
    # distances come in ratios (5, 10, 20, 50, ... 500): a log axis spaces
    # them evenly; the range pads the smallest and largest by a third
    n = S(sprintf("pn%d", p))
    set autoscale
    lo = 1e30; hi = 0
    do for [j = 1:n] {
        stats file(p, j) using (column("distance")) nooutput
        lo = STATS_min < lo ? STATS_min : lo
        hi = STATS_max > hi ? STATS_max : hi
    }
    set logscale x
    set xrange [lo / 1.4 : hi * 1.4]
    set xtics ("1" 1, "2" 2, "5" 5, "10" 10, "20" 20, "50" 50, "100" 100, "200" 200, "500" 500, \
               "1000" 1000, "2000" 2000, "5000" 5000)
    set mxtics default
    acc = S(sprintf("paccuracy%d", p))
    if (acc) {
        set ylabel "validation accuracy"
        set yrange [0:1.05]
        plot for [j = 1:n] file(p, j) using (column("distance") * shift(j, n)):(column("value")):(column("value_sd")) \
                 with yerrorlines lw 3 dt dash(p, j) pt point(p, j) ps 1.5 lc rgb color(p, j) notitle, \
             file(p, 1) using (column("distance")):(column("chance_accuracy")) \
                 with lines dt 3 lw 2 lc rgb GUIDE notitle
    } else {
        set ylabel "final val loss / chance loss"
        set yrange [0:*]
        plot for [j = 1:n] file(p, j) using (column("distance") * shift(j, n)): \
                 (column("value") / column("chance_loss")):(column("value_sd") / column("chance_loss")) \
                 with yerrorlines lw 3 dt dash(p, j) pt point(p, j) ps 1.5 lc rgb color(p, j) notitle, \
             1 with lines dt 3 lw 2 lc rgb GUIDE notitle
    }
    unset logscale x
    set mxtics default
    set autoscale x
}

eval(legend_strip)
plot for [s = 1:nseries] 2 with linespoints lw 3 dt variant_dash(S(sprintf("lvariant%d", s))) \
         pt variant_point(S(sprintf("lmodel%d", s)), S(sprintf("lvariant%d", s))) ps 1.5 \
         lc rgb model_color(S(sprintf("lmodel%d", s))) title S(sprintf("llabel%d", s)), \
     2 with lines dt 3 lw 2 lc rgb GUIDE title "chance level"
unset multiplot
