# loss_curves.gp — figures 1 and 2: training loss (dashed) and validation loss
# (solid) against training step or wall-clock seconds, one colour per model,
# one panel per task / setting.  seqlab averages the seeds of a setting.
#
# Set by seqlab:  title, xcol ('step' or 'seconds'), xlabel,
#   npanels; per panel p: ptitle<p>, pxmax<p> (largest x: tick spacing), pchance<p> (chance-level loss or NaN:
#     for a text task the unigram baseline, the entropy of the token frequencies), ptext<p> (1: text),
#     puniform<p> (ln V, a uniform guess, text only, else NaN),
#     pn<p> lines, each j: file<p>_<j> (CSV: step,seconds,train_loss,val_loss)
#     and model<p>_<j>, variant<p>_<j> (0, 1, ...: settings of one model)
#   nseries, lcols (legend columns); for the legend, per entry s: lmodel<s>, llabel<s>, lvariant<s>
#   logy (optional, 1: a logarithmic loss axis; the report's log/linear toggle)
load plotdir."/common.gp"
if (!exists("logy")) { logy = 0 }

S(name) = value(name)
file(p, j) = S(sprintf("file%d_%d", p, j))
# in the SVG, the values under the pointer on each validation point
hover(p, j) = sprintf("%s\nstep %d, %.1f s\nvalidation loss %.4f\ntraining loss %.4f", \
    S(sprintf("model%d_%d", p, j)), column("step"), column("seconds"), column("val_loss"), column("train_loss"))
# a taller legend strip when it has many entries (the series and 4 line
# kinds) in lcols columns (seqlab's choice: fewer for long labels)
KEY_H = legend_h(nseries + 4, lcols)
# room above the highest line for the name of a reference line
set offsets 0, 0, graph 0.1, 0
color(p, j) = model_color(S(sprintf("model%d_%d", p, j)))
point(p, j) = variant_point(S(sprintf("model%d_%d", p, j)), S(sprintf("variant%d_%d", p, j)))

set multiplot title title font ",20"
do for [p = 1:npanels] {
    set origin panel_x(p, npanels), panel_y(p, npanels)
    set size panel_w(npanels), panel_h(npanels)
    set title S(sprintf("ptitle%d", p))
    set xlabel xlabel
    set ylabel (logy ? "loss (nats per token, log scale)" : "loss (nats per token)")
    if (logy) { set logscale y } else { unset logscale y }
    set xrange [0:*]
    set xtics panel_xstep(p)
    set autoscale xfixmax
    chance = S(sprintf("pchance%d", p))
    uniform = S(sprintf("puniform%d", p))
    text = S(sprintf("ptext%d", p))
    n = S(sprintf("pn%d", p))
    # each reference line named just outside the frame, at its right end,
    # where no data are (a curve at chance level would hide a label inside)
    set rmargin 7
    if (chance == chance) {
        set label 11 (text ? "unigram" : "chance") at graph 1, first chance left offset 0.5, 0 \
            font ",12" tc rgb GUIDE front
    }
    if (uniform == uniform) {
        set label 12 "ln V" at graph 1, first uniform left offset 0.5, 0 font ",12" tc rgb GUIDE front
    }
    plot for [j = 1:n] file(p, j) using (column(xcol)):(column("train_loss")) \
             with lines dt (8, 6) lw 2 lc rgb color(p, j) notitle, \
         for [j = 1:n] file(p, j) using (column(xcol)):(column("val_loss")) \
             with linespoints lw 3 pt point(p, j) ps 1.5 lc rgb color(p, j) notitle, \
         chance with lines dt 3 lw 2 lc rgb GUIDE notitle, \
         uniform with lines dt (2, 4, 8, 4) lw 2 lc rgb GUIDE notitle, \
         for [j = 1:(fmt eq "svg" ? n : 0)] file(p, j) using (column(xcol)):(column("val_loss")):(hover(p, j)) \
             with labels hypertext point pt 7 ps 1.2 lc rgb color(p, j) notitle
    unset label 11
    unset label 12
}

# the shared legend strip
unset logscale y
eval(legend_strip)
eval(legend_columns(nseries + 4, lcols))
plot for [s = 1:nseries] 2 with linespoints lw 3 pt variant_point(S(sprintf("lmodel%d", s)), S(sprintf("lvariant%d", s))) \
         lc rgb model_color(S(sprintf("lmodel%d", s))) title S(sprintf("llabel%d", s)), \
     2 with lines lw 3 lc rgb "black" title "validation", \
     2 with lines dt (8, 6) lw 2 lc rgb "black" title "training", \
     2 with lines dt 3 lw 2 lc rgb GUIDE title "chance (text: unigram)", \
     2 with lines dt (2, 4, 8, 4) lw 2 lc rgb GUIDE title "uniform, ln V"
unset multiplot
