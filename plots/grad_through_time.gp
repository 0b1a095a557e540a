# grad_through_time.gp — figure 4: the norm of dL/dh_t against how many steps
# back t lies from the end of the window, log y, at initialisation (dashed)
# and after training (solid); one panel per model side by side, each on its
# own log range with its own axis label: ||dL/dh_t|| for the recurrent
# models, ||dL/dx_t|| for the Transformer (its input at position t, the only
# per-position state it has).  The LSTM also shows its cell state c (dotted
# and dash-dotted).  A panel with several lines (a vanilla RNN at init scales
# 0.5, 1, 3) gives each a shade of the model's colour, light to dark, and a
# point shape.
#
# Set by seqlab:  title, subtitle, xlabel, npanels, any_variants, xmax; per
#   panel p: model<p>, ptitle<p>, state<p>, ymin<p>, ymax<p>, pn<p> lines, each j:
#   file<p>_<j> (CSV: steps_back,init,trained,c_init,c_trained), label<p>_<j>
load plotdir."/common.gp"

S(name) = value(name)
file(p, j) = S(sprintf("file%d_%d", p, j))
# line j of n in a panel: lighter (j = 1) to darker (j = n) than the model colour
mix(c, t, f) = int(c + (t - c) * f)
chan(rgb, k) = int(rgb / 2 ** (8 * k)) % 256
tint1(rgb, f) = f < 0 ? mix(rgb, 255, -f * 0.5) : mix(rgb, 0, f * 0.5)
tint(rgb, f) = tint1(chan(rgb, 2), f) * 65536 + tint1(chan(rgb, 1), f) * 256 + tint1(chan(rgb, 0), f)
shade_f(j, n) = n > 1 ? -1.0 + 2.0 * (j - 1) / (n - 1) : 0
shade(m, j, n) = tint(model_rgb(m), shade_f(j, n))


# the panels in one row between a left strip for the y axis and the right edge
TOP = 1.0 - TITLE_H - 0.065
BOTTOM = KEY_H + 0.11
LEFT = 0.09
GAP = 0.075
pw = (0.98 - LEFT - (npanels - 1) * GAP) / npanels

set multiplot title title font ",20"
eval(subtitle_on)
set label 102 xlabel at screen LEFT + (0.98 - LEFT) / 2, KEY_H + 0.025 center font ",15"
set logscale y
set xrange [0:xmax]
set xtics nice_step(xmax, npanels > 2 ? 3 : 5)
set tics font ",14"
set title font ",17"
set tmargin at screen TOP
set bmargin at screen BOTTOM
do for [p = 1:npanels] {
    set lmargin at screen LEFT + (p - 1) * (pw + GAP)
    set rmargin at screen LEFT + (p - 1) * (pw + GAP) + pw
    # the quantity in each panel's title (the Transformer's is dL/dx_t); one
    # y label for the row, at the left: a label per panel ran into the
    # neighbouring panel's frame
    set title sprintf("%s: ‖dL/d%s_t‖", S(sprintf("ptitle%d", p)), S(sprintf("state%d", p))) font ",15"
    ymin = S(sprintf("ymin%d", p)); ymax = S(sprintf("ymax%d", p))
    decades = log10(ymax / ymin)
    ystep = decades > 5 ? ceil(decades / 5) : 1
    set yrange [ymin:ymax]
    set ytics 10.0 ** ystep
    set mytics (ystep == 1 ? 10 : 1)
    set format y "1e%T"
    if (p == 1) { set ylabel "gradient norm (log scale)" font ",14" offset 1.5, 0 } else { unset ylabel }
    m = S(sprintf("model%d", p))
    n = S(sprintf("pn%d", p))
    if (m eq "lstm") {
        plot for [j = 1:n] file(p, j) using (column("steps_back")):(column("init")) \
                 with lines dt (8, 6) lw 2.5 lc rgb shade(m, j, n) notitle, \
             for [j = 1:n] file(p, j) using (column("steps_back")):(column("trained")) \
                 with lines lw 3.5 lc rgb shade(m, j, n) notitle, \
             for [j = 1:n] file(p, j) using (column("steps_back")):(column("c_init")) \
                 with lines dt (2, 4) lw 2 lc rgb shade(m, j, n) notitle, \
             for [j = 1:n] file(p, j) using (column("steps_back")):(column("c_trained")) \
                 with lines dt (12, 4, 2, 4) lw 2 lc rgb shade(m, j, n) notitle
    } else {
        if (n > 1) {
            plot for [j = 1:n] file(p, j) using (column("steps_back")):(column("init")) \
                     with linespoints dt (8, 6) lw 2.5 pt variant_point(m, j - 1) ps 1.3 pi 6 \
                     lc rgb shade(m, j, n) notitle, \
                 for [j = 1:n] file(p, j) using (column("steps_back")):(column("trained")) \
                     with linespoints lw 3.5 pt variant_point(m, j - 1) ps 1.3 pi 6 \
                     lc rgb shade(m, j, n) notitle
        } else {
            plot file(p, 1) using (column("steps_back")):(column("init")) \
                     with lines dt (8, 6) lw 2.5 lc rgb shade(m, 1, 1) notitle, \
                 file(p, 1) using (column("steps_back")):(column("trained")) \
                     with lines lw 3.5 lc rgb shade(m, 1, 1) notitle
        }
    }
    eval(subtitle_off)
    unset label 102
}

eval(legend_strip)
has_c = 0
do for [p = 1:npanels] { if (S(sprintf("model%d", p)) eq "lstm") { has_c = 1 } }
# the lines of a panel with several settings, in their shades
nv = 0; vp = 0
do for [p = 1:npanels] { if (S(sprintf("pn%d", p)) > 1 && vp == 0) { vp = p; nv = S(sprintf("pn%d", p)) } }
vm = vp ? S(sprintf("model%d", vp)) : ""
vlabel(j) = vp > 0 ? S(sprintf("label%d_%d", vp, j)) : ""
# the settings first (a column of their own), then the line styles
plot for [j = 1:nv] 2 with linespoints lw 3.5 pt variant_point(vm, j - 1) ps 1.3 \
         lc rgb shade(vm, j, nv) title vlabel(j), \
     2 with lines lw 3.5 lc rgb "black" title "after training", \
     2 with lines dt (8, 6) lw 2.5 lc rgb "black" title "at initialisation", \
     (has_c ? 2 : NaN) with lines dt (12, 4, 2, 4) lw 2 lc rgb "black" title (has_c ? "LSTM cell c, trained" : ""), \
     (has_c ? 2 : NaN) with lines dt (2, 4) lw 2 lc rgb "black" title (has_c ? "LSTM cell c, at init" : "")
unset multiplot
