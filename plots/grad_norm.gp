# grad_norm.gp — figure 3: the global gradient norm (before clipping) against
# training step, log y.  Clipped runs solid, runs without clipping dashed
# (where explosions show), the clipping threshold dotted; one colour per model, one panel per setting.
#
# Set by seqlab:  title, npanels; per panel p: ptitle<p>, pn<p> lines,
#   each j: file<p>_<j> (CSV: step,grad_norm,...), model<p>_<j>, clip<p>_<j>
#   (0 = clipping off); nseries and, per series s: lmodel<s>, llabel<s>, lclip<s>
load plotdir."/common.gp"

S(name) = value(name)
file(p, j) = S(sprintf("file%d_%d", p, j))
color(p, j) = model_color(S(sprintf("model%d_%d", p, j)))
clipped(p, j) = S(sprintf("clip%d_%d", p, j)) > 0
dash(c) = c ? 1 : 2

set multiplot title title font ",20"
do for [p = 1:npanels] {
    set origin panel_x(p, npanels), panel_y(p, npanels)
    set size panel_w(npanels), panel_h(npanels)
    set title S(sprintf("ptitle%d", p))
    set xlabel "training step"
    set ylabel "gradient norm ||g||"
    set logscale y
    set format y "%g"
    set xrange [0:*]
    # room above and below, so a threshold at the edge stays visible
    set offsets 0, 0, graph 0.05, graph 0.05
    set autoscale xfixmax
    n = S(sprintf("pn%d", p))
    threshold = NaN
    do for [j = 1:n] { if (clipped(p, j)) { threshold = S(sprintf("clip%d_%d", p, j)) } }
    plot for [j = 1:n] file(p, j) using (column("step")):(column("grad_norm")) \
             with lines lw (clipped(p, j) ? 2 : 3) dt dash(clipped(p, j)) lc rgb color(p, j) notitle, \
         threshold with lines dt 3 lw 2 lc rgb GUIDE notitle
}

eval(legend_strip)
plot for [s = 1:nseries] 2 with lines lw 3 dt dash(S(sprintf("lclip%d", s)) > 0) \
         lc rgb model_color(S(sprintf("lmodel%d", s))) title S(sprintf("llabel%d", s)), \
     2 with lines dt 3 lw 2 lc rgb GUIDE title "clipping threshold"
unset multiplot
