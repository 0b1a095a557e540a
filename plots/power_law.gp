# power_law.gp — loss against model size N or data D on log-log axes: the
# mean over seeds at each size (points, ± sd), the fitted L = E + A·x^(−α)
# (line), one colour per model, one panel per tokenizer.  The legend of each
# panel gives the fitted α ± its standard error, E and R².  With `final`
# set, a dashed line joins the loss at the end of training too (below the
# points: the best loss along the run; a gap between the two is
# over-fitting).
#
# Set by seqlab:  title, xlabel, final (0 or 1), npanels; per panel p:
#   ptitle<p>, pn<p>, pymin<p>, pymax<p> (the range of the losses); each series j: points<p>_<j> (CSV x,loss,loss_sd,runs
#   [,final_loss]), curve<p>_<j> (CSV x,loss, or ''), model<p>_<j>,
#   variant<p>_<j>, label<p>_<j>
load plotdir."/common.gp"

S(name) = value(name)
pts(p, j) = S(sprintf("points%d_%d", p, j))
crv(p, j) = S(sprintf("curve%d_%d", p, j))
has_curve(p, j) = strlen(crv(p, j)) > 0
color(p, j) = model_color(S(sprintf("model%d_%d", p, j)))
point(p, j) = variant_point(S(sprintf("model%d_%d", p, j)), S(sprintf("variant%d_%d", p, j)))
dash(p, j) = variant_dash(S(sprintf("variant%d_%d", p, j)))
label(p, j) = S(sprintf("label%d_%d", p, j))

set multiplot title title font ",20"
do for [p = 1:npanels] {
    # the panels share the page; the legend goes under each panel's plot
    set origin panel_x(p, npanels), 0.0
    set size panel_w(npanels), 1.0 - TITLE_H
    set tmargin 3
    set bmargin 12
    set title S(sprintf("ptitle%d", p))
    set xlabel xlabel
    set ylabel "validation loss (nats per token, log scale)"
    set logscale xy
    set format x "%.0s%c"
    # the sizes' own range, a little beyond it, not whole empty decades
    set autoscale xfix
    set offsets graph 0.04, graph 0.04, 0, 0
    # a labelled tick at 3x each power of ten too: a decade and a half shows 4
    set xtics autofreq
    do for [k = 0:9] { set xtics add (gprintf("%.0s%c", 3 * 10**k) 3 * 10**k) }
    # (two panels: a smaller key font, so a label of 55 characters fits its half)
    keyfont = npanels > 1 ? ",11.5" : ",13"
    set key at graph 0.5, -0.2 center top vertical Left reverse font keyfont samplen 1.5 spacing 1.1
    n = S(sprintf("pn%d", p))
    # the losses' own range and ticks at round steps: a log axis left to
    # itself would stretch to whole decades
    ylo = S(sprintf("pymin%d", p)); yhi = S(sprintf("pymax%d", p))
    ystep = nice_step(yhi - ylo, 6)
    set yrange [ylo - 0.4 * ystep : yhi + 0.4 * ystep]
    # (on a log axis `set ytics start, incr` multiplies: list the ticks)
    y0 = ystep * floor(ylo / ystep)
    set ytics (sprintf("%g", y0) y0)
    do for [k = 1:20] {
        yk = y0 + k * ystep
        if (yk <= yhi + ystep) { set ytics add (sprintf("%g", yk) yk) }
    }
    unset mytics
    # one plot command built series by series: a series without a fit has
    # no line, and the final loss is drawn only when asked for
    cmd = ""
    do for [j = 1:n] {
        cmd = cmd . sprintf("'%s' using (column('x')):(column('loss')):(column('loss_sd')) " . \
                            "with yerrorbars pt %d ps 1.6 lw 2 lc rgb '%s' title '%s', ", \
                            pts(p, j), point(p, j), color(p, j), label(p, j))
        if (has_curve(p, j)) {
            cmd = cmd . sprintf("'%s' using (column('x')):(column('loss')) with lines lw 3 dt %d " . \
                                "lc rgb '%s' notitle, ", crv(p, j), dash(p, j), color(p, j))
        }
        if (final) {
            cmd = cmd . sprintf("'%s' using (column('x')):(column('final_loss')) with linespoints " . \
                                "lw 1.5 dt 2 pt 6 ps 1 lc rgb '%s' notitle, ", pts(p, j), color(p, j))
        }
    }
    eval("plot " . cmd[1:strlen(cmd) - 2])
    unset logscale
    set offsets 0, 0, 0, 0
    set autoscale x
}
unset multiplot
