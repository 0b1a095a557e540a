# grad_through_time.gp — figure 4: the norm of dL/dh_t against how many steps
# back t lies from the end of the window, log y, at initialisation (dashed)
# and after training (solid); one panel per model, all on one y range.
# The LSTM also shows its cell state c (thinner lines); for the Transformer
# the "state" is its input x_t.
#
# Set by seqlab:  title, npanels, ymin, ymax; per panel p: file<p> (CSV:
#   steps_back,init,trained,c_init,c_trained), model<p>, ptitle<p>, state<p>
load plotdir."/common.gp"

S(name) = value(name)

set multiplot title title font ",20"
do for [p = 1:npanels] {
    set origin panel_x(p, npanels), panel_y(p, npanels)
    set size panel_w(npanels), panel_h(npanels)
    set title S(sprintf("ptitle%d", p))
    set xlabel "steps back from the loss (T - 1 - t)"
    set ylabel sprintf("||dL/d%s_t||", S(sprintf("state%d", p)))
    set logscale y
    set format y "%g"
    set yrange [ymin:ymax]
    set xrange [0:*]
    set autoscale xfixmax
    f = S(sprintf("file%d", p))
    c = model_color(S(sprintf("model%d", p)))
    if (S(sprintf("model%d", p)) eq "lstm") {
        plot f using (column("steps_back")):(column("init")) with lines dt (8, 6) lw 2.5 lc rgb c notitle, \
             f using (column("steps_back")):(column("trained")) with lines lw 3.5 lc rgb c notitle, \
             f using (column("steps_back")):(column("c_init")) with lines dt (2, 4) lw 2 lc rgb c notitle, \
             f using (column("steps_back")):(column("c_trained")) with lines dt (12, 4, 2, 4) lw 2 lc rgb c notitle
    } else {
        plot f using (column("steps_back")):(column("init")) with lines dt (8, 6) lw 2.5 lc rgb c notitle, \
             f using (column("steps_back")):(column("trained")) with lines lw 3.5 lc rgb c notitle
    }
}

eval(legend_strip)
has_c = 0
do for [p = 1:npanels] { if (S(sprintf("model%d", p)) eq "lstm") { has_c = 1 } }
if (has_c) {
    plot 2 with lines lw 3.5 lc rgb "black" title "after training (h)", \
         2 with lines dt (8, 6) lw 2.5 lc rgb "black" title "at initialisation (h)", \
         2 with lines dt (12, 4, 2, 4) lw 2 lc rgb "black" title "after training (LSTM cell c)", \
         2 with lines dt (2, 4) lw 2 lc rgb "black" title "at initialisation (LSTM cell c)"
} else {
    plot 2 with lines lw 3.5 lc rgb "black" title "after training", \
         2 with lines dt (8, 6) lw 2.5 lc rgb "black" title "at initialisation"
}
unset multiplot
