# speed_vs_seq_len.gp — figure 6: what a longer window costs in time.  Left:
# the median time per training step against the window length T, log-log,
# with the middle half of the steps as error bars (the first steps of each
# run are left out as warm-up; seqlab averages the medians over seeds).
# Right: the critical path, the longest chain of steps that must run one
# after another in a forward pass: T + L - 1 for a recurrence, L for the
# Transformer, whatever T.  Lines that would sit on top of each other (the
# three recurrent critical paths) are shifted a little sideways.
#
# Set by seqlab:  title, setting (what the runs share: the subtitle),
#   T0 (the shortest window), nseries; per series s: file<s> (CSV: seq_len,step_ms,step_q1,step_q3,
#   critical_path,...), model<s>, label<s>, variant<s>
subtitle = setting
load plotdir."/common.gp"

S(name) = value(name)
file(s) = S(sprintf("file%d", s))
color(s) = model_color(S(sprintf("model%d", s)))
point(s) = variant_point(S(sprintf("model%d", s)), S(sprintf("variant%d", s)))
dash(s) = variant_dash(S(sprintf("variant%d", s)))
# series s drawn at T * shift(s): a few per cent apart on the log axis
shift(s) = 2 ** ((s - (nseries + 1) / 2.0) * 0.12)

npanels = 2
set multiplot title title font ",20"
eval(subtitle_on)
set origin panel_x(1, npanels), panel_y(1, npanels)
set size panel_w(npanels), panel_h(npanels)
set title "time per step (median, middle half)"
set xlabel "window length T (tokens)"
set ylabel "time per training step (ms)"
set logscale x 2
set xtics T0, 4
set logscale y 10
set format x "%g"; set format y "%g"
hover(s) = sprintf("%s, T = %d\nmedian %.3g ms per step\nmiddle half %.3g-%.3g ms\n%d steps timed", \
    S(sprintf("label%d", s)), column("seq_len"), column("step_ms"), column("step_q1"), column("step_q3"), \
    column("steps_timed"))
plot for [s = 1:nseries] file(s) using (column("seq_len") * shift(s)):(column("step_ms")):(column("step_q1")):(column("step_q3")) \
         with yerrorlines lw 3 dt dash(s) pt point(s) ps 1.5 lc rgb color(s) notitle, \
     for [s = 1:(fmt eq "svg" ? nseries : 0)] file(s) using (column("seq_len") * shift(s)):(column("step_ms")):(hover(s)) \
         with labels hypertext point pt 7 ps 1.5 lc rgb color(s) notitle
eval(subtitle_off)

set origin panel_x(2, npanels), panel_y(2, npanels)
set size panel_w(npanels), panel_h(npanels)
set title "critical path: steps one after another"
set ylabel "dependent steps in one forward pass"
set format y "%g"
plot for [s = 1:nseries] file(s) using (column("seq_len") * shift(s)):(column("critical_path")) \
         with linespoints lw 3 dt dash(s) pt point(s) ps 1.5 lc rgb color(s) notitle

eval(legend_strip)
plot for [s = 1:nseries] 2 with linespoints lw 3 dt dash(s) pt point(s) ps 1.5 lc rgb color(s) \
         title S(sprintf("label%d", s))
unset multiplot
