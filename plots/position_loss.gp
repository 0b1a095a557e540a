# position_loss.gp — figure 12: validation loss at each position of the window,
# one line per model (mean over seeds), one panel per setting of a task with
# a target at every position (text, parity).  Position t predicts from t + 1
# tokens of context; seqlab averages the positions in bins two to an octave
# (0, 1, 2, 3, 4-5, 6-7, 8-11, ...), drawn on a log axis of t + 1.
#
# Set by seqlab:  title, npanels; per panel p: ptitle<p>, pxmax<p> (largest x), pchance<p>, pn<p>,
#   each j: file<p>_<j> (CSV: position,loss,loss_sd), model<p>_<j>, variant<p>_<j>;
#   nseries and, per series s: lmodel<s>, llabel<s>, lvariant<s>
load plotdir."/common.gp"
# a taller legend strip when it has many entries, in lcols columns (seqlab's
# choice, fewer for long labels; it makes the page taller)
KEY_H = legend_h(nseries + 1, lcols)

S(name) = value(name)
file(p, j) = S(sprintf("file%d_%d", p, j))
color(p, j) = model_color(S(sprintf("model%d_%d", p, j)))
point(p, j) = variant_point(S(sprintf("model%d_%d", p, j)), S(sprintf("variant%d_%d", p, j)))
dash(p, j) = variant_dash(S(sprintf("variant%d_%d", p, j)))

set multiplot title title font ",20"
do for [p = 1:npanels] {
    set origin panel_x(p, npanels), panel_y(p, npanels)
    set size panel_w(npanels), panel_h(npanels)
    set title S(sprintf("ptitle%d", p))
    set xlabel "tokens of context (t + 1, log scale)"
    set ylabel "validation loss (nats per token)"
    set logscale x 2
    set xrange [1:*]
    set xtics 1, 2 format "%.0f"
    set autoscale xfixmax
    chance = S(sprintf("pchance%d", p))
    n = S(sprintf("pn%d", p))
    plot for [j = 1:n] file(p, j) using (column("position") + 1):(column("loss")) \
             with linespoints lw 3 dt dash(p, j) pt point(p, j) ps 1 lc rgb color(p, j) notitle, \
         chance with lines dt 3 lw 2 lc rgb GUIDE notitle
    unset logscale x
}

eval(legend_strip)
eval(legend_columns(nseries + 1, lcols))
plot for [s = 1:nseries] 2 with linespoints lw 3 dt variant_dash(S(sprintf("lvariant%d", s))) \
         pt variant_point(S(sprintf("lmodel%d", s)), S(sprintf("lvariant%d", s))) \
         lc rgb model_color(S(sprintf("lmodel%d", s))) title S(sprintf("llabel%d", s)), \
     2 with lines dt 3 lw 2 lc rgb GUIDE title "chance (text: unigram)"
unset multiplot
