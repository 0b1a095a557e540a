# speed_vs_seq_len.gp — figure 6: time per training step and tokens per second
# against the window length T, log-log, mean ± sd over seeds, every model.
#
# Set by seqlab:  title, setting (what the runs share: the subtitle), has_time, has_tps,
#   nseries; per series s: file<s> (CSV: seq_len,step_ms,step_ms_sd,
#   tokens_per_s,tokens_per_s_sd,...), model<s>, label<s>, variant<s>
subtitle = setting
load plotdir."/common.gp"

S(name) = value(name)
file(s) = S(sprintf("file%d", s))
color(s) = model_color(S(sprintf("model%d", s)))
point(s) = variant_point(S(sprintf("model%d", s)), S(sprintf("variant%d", s)))
dash(s) = variant_dash(S(sprintf("variant%d", s)))
what(k) = k == 1 ? "step_ms" : "tokens_per_s"
ylab(k) = k == 1 ? "time per training step (ms)" : "throughput (tokens/s)"
ptitle(k) = k == 1 ? "time per step" : "tokens per second"

npanels = has_time + has_tps
set multiplot title title font ",20"
eval(subtitle_on)
p = 0
do for [k = 1:2] {
    if ((k == 1 && has_time) || (k == 2 && has_tps)) {
        p = p + 1
        set origin panel_x(p, npanels), panel_y(p, npanels)
        set size panel_w(npanels), panel_h(npanels)
        set title ptitle(k)
        set xlabel "window length T (tokens)"
        set ylabel ylab(k)
        set logscale xy 2
        set logscale y 10
        set format x "%g"; set format y (k == 2 ? "%.0s%c" : "%g")
        plot for [s = 1:nseries] file(s) using (column("seq_len")):(column(what(k))):(column(what(k)."_sd")) \
                 with yerrorlines lw 3 dt dash(s) pt point(s) ps 1.5 lc rgb color(s) notitle
        eval(subtitle_off)
    }
}

eval(legend_strip)
plot for [s = 1:nseries] 2 with linespoints lw 3 dt dash(s) pt point(s) ps 1.5 lc rgb color(s) \
         title S(sprintf("label%d", s))
unset multiplot
