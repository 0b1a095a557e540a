# grad_norm.gp — figure 3: the global gradient norm (before clipping) against
# training step, log y; one colour per model, one panel per setting, the
# clipping threshold dotted.  A model's first setting is a solid line; a
# second one (say "rnn, no clip" beside "rnn, clip 1") a thinner solid line
# with points, since dashes on a log axis read as gaps.
#
# Set by seqlab:  title, npanels; per panel p: ptitle<p>, pxmax<p> (largest
#   step), pymin<p>, pymax<p> (smallest positive and largest norm), pn<p>
#   lines, each j: file<p>_<j> (CSV: step,grad_norm,...), model<p>_<j>,
#   variant<p>_<j>, pint<p>_<j> (every how many rows a point), clip<p>_<j>
#   (0 = clipping off); nseries and, per series s: lmodel<s>, llabel<s>,
#   lvariant<s>, lclip<s>
load plotdir."/common.gp"
# a taller legend strip when it has many entries, in lcols columns (seqlab's
# choice, fewer for long labels; it makes the page taller)
KEY_H = legend_h(nseries + 1, lcols)

S(name) = value(name)
file(p, j) = S(sprintf("file%d_%d", p, j))
color(p, j) = model_color(S(sprintf("model%d_%d", p, j)))
variant(p, j) = S(sprintf("variant%d_%d", p, j))
point(p, j) = variant_point(S(sprintf("model%d_%d", p, j)), variant(p, j))
clipped(p, j) = S(sprintf("clip%d_%d", p, j)) > 0
# the first setting of a model plain and thick, the others thin with points
lwidth(v) = v == 0 ? 3 : 1.5
psize(v) = v == 0 ? 0 : 1.4

set multiplot title title font ",20"
do for [p = 1:npanels] {
    set origin panel_x(p, npanels), panel_y(p, npanels)
    set size panel_w(npanels), panel_h(npanels)
    set title S(sprintf("ptitle%d", p))
    set xlabel "training step"
    set ylabel "gradient norm ||g||"
    set logscale y
    n = S(sprintf("pn%d", p))
    threshold = NaN
    do for [j = 1:n] { if (clipped(p, j)) { threshold = S(sprintf("clip%d_%d", p, j)) } }
    # whole decades, the threshold strictly inside; a labelled tick every
    # decade, or every 2nd or 3rd on a tall range
    lo = S(sprintf("pymin%d", p))
    hi = S(sprintf("pymax%d", p))
    if (threshold == threshold) { hi = hi > threshold ? hi : threshold; lo = lo < threshold ? lo : threshold }
    ylo = floor(log10(lo)); yhi = floor(log10(hi)) + 1
    ystep = yhi - ylo > 8 ? 3 : yhi - ylo > 4 ? 2 : 1
    yhi = ylo + ystep * ceil((yhi - ylo) / real(ystep))   # a labelled tick at both ends
    set yrange [10.0 ** ylo:10.0 ** yhi]
    set ytics 10.0 ** ystep
    set format y (ylo >= -4 && yhi <= 5 ? "%g" : "1e%T")
    set xrange [0:*]
    set xtics panel_xstep(p)
    set autoscale xfixmax
    plot for [j = 1:n] file(p, j) using (column("step")):(column("grad_norm")) \
             with linespoints lw lwidth(variant(p, j)) pt point(p, j) ps psize(variant(p, j)) \
             pi S(sprintf("pint%d_%d", p, j)) lc rgb color(p, j) notitle, \
         threshold with lines dt 3 lw 2 lc rgb GUIDE notitle
}

eval(legend_strip)
eval(legend_columns(nseries + 1, lcols))
lv(s) = S(sprintf("lvariant%d", s))
plot for [s = 1:nseries] 2 with linespoints lw lwidth(lv(s)) ps psize(lv(s)) \
         pt variant_point(S(sprintf("lmodel%d", s)), lv(s)) \
         lc rgb model_color(S(sprintf("lmodel%d", s))) title S(sprintf("llabel%d", s)), \
     2 with lines dt 3 lw 2 lc rgb GUIDE title "clipping threshold"
unset multiplot
