# context_slope.gp — Kaplan et al.'s figure 7 view: validation loss at each
# position of a long window for the largest model of each architecture
# (mean over seeds), on a log axis of the context length t + 1, with the
# least-squares line of loss against ln(t + 1) beyond position 64 drawn over
# the positions it was fitted to.  A line that keeps falling there is a
# model still using its distant context; a flat one has stopped.
#
# Set by seqlab:  title, from (the first fitted context length), npanels;
#   per panel p: ptitle<p>, pn<p>, pymin<p>, pymax<p> (the range of the losses); each series j: points<p>_<j> (CSV
#   x,loss,loss_sd,runs), curve<p>_<j> (CSV x,loss: the fitted line, or ''),
#   model<p>_<j>, variant<p>_<j>, label<p>_<j>
load plotdir."/common.gp"

S(name) = value(name)
pts(p, j) = S(sprintf("points%d_%d", p, j))
crv(p, j) = S(sprintf("curve%d_%d", p, j))
has_curve(p, j) = strlen(crv(p, j)) > 0
color(p, j) = model_color(S(sprintf("model%d_%d", p, j)))
label(p, j) = S(sprintf("label%d_%d", p, j))

set multiplot title title font ",20"
do for [p = 1:npanels] {
    set origin panel_x(p, npanels), 0.0
    set size panel_w(npanels), 1.0 - TITLE_H
    set tmargin 3
    set bmargin 11
    set title S(sprintf("ptitle%d", p))
    set xlabel "tokens of context (t + 1, log scale)"
    set ylabel "validation loss (nats per token)"
    set logscale x 2
    set xtics 1, 4 format "%.0f"
    set xrange [1:*]
    set arrow 1 from from, graph 0 to from, graph 1 nohead dt 3 lw 2 lc rgb GUIDE
    set key at graph 0.5, -0.2 center top vertical Left reverse font ",13" samplen 2 spacing 1.1
    n = S(sprintf("pn%d", p))
    # the losses' own range and ticks at round steps: a log axis left to
    # itself would stretch to whole decades
    ylo = S(sprintf("pymin%d", p)); yhi = S(sprintf("pymax%d", p))
    ystep = nice_step(yhi - ylo, 6)
    set yrange [ylo - 0.4 * ystep : yhi + 0.4 * ystep]
    set ytics ystep * floor(ylo / ystep), ystep format "%g"
    unset mytics
    cmd = ""
    do for [j = 1:n] {
        cmd = cmd . sprintf("'%s' using (column('x')):(column('loss')) with lines lw 2 lc rgb '%s' " . \
                            "title '%s', ", pts(p, j), color(p, j), label(p, j))
        # the fitted line solid and thin over the noisy curve (dashes read as markers)
        if (has_curve(p, j)) {
            cmd = cmd . sprintf("'%s' using (column('x')):(column('loss')) with lines lw 2.5 dt 1 " . \
                                "lc rgb 'black' %s, ", crv(p, j), \
                                j < n ? "notitle" : sprintf("title 'least-squares lines beyond %d'", from - 1))
        }
    }
    eval("plot " . cmd[1:strlen(cmd) - 2])
    unset arrow 1
    unset logscale x
}
unset multiplot
