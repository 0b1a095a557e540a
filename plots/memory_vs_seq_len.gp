# memory_vs_seq_len.gp — figure 7: memory against the window length T,
# log-log: the activations kept for backward (act_mb) and the peak resident
# memory of the process (peak_rss_mb), with O(T) and O(T²) guide lines drawn
# from the mean value at the shortest window T0.
#
# Set by seqlab:  title, setting (what the runs share: the subtitle), has_act, has_peak, T0, act0, peak0,
#   nseries; per series s: file<s> (CSV: seq_len,act_mb,act_mb_sd,
#   peak_rss_mb,peak_rss_mb_sd,...), model<s>, label<s>, variant<s>
subtitle = setting
load plotdir."/common.gp"

S(name) = value(name)
file(s) = S(sprintf("file%d", s))
color(s) = model_color(S(sprintf("model%d", s)))
point(s) = variant_point(S(sprintf("model%d", s)), S(sprintf("variant%d", s)))
dash(s) = variant_dash(S(sprintf("variant%d", s)))
what(k) = k == 1 ? "act_mb" : "peak_rss_mb"
ylab(k) = k == 1 ? "activation memory (MB)" : "peak resident memory (MB)"
ptitle(k) = k == 1 ? "activations kept for backward" : "whole process (peak RSS)"
y0(k) = k == 1 ? act0 : peak0
linear(x, k) = y0(k) * (x / T0)
quadratic(x, k) = y0(k) * (x / T0) ** 2

npanels = has_act + has_peak
set multiplot title title font ",20"
eval(subtitle_on)
p = 0
do for [k = 1:2] {
    if ((k == 1 && has_act) || (k == 2 && has_peak)) {
        p = p + 1
        set origin panel_x(p, npanels), panel_y(p, npanels)
        set size panel_w(npanels), panel_h(npanels)
        set title ptitle(k)
        set xlabel "window length T (tokens)"
        set ylabel ylab(k)
        set logscale x 2
        set logscale y 10
        set format x "%g"; set format y "%g"
        plot for [s = 1:nseries] file(s) using (column("seq_len")):(column(what(k))):(column(what(k)."_sd")) \
                 with yerrorlines lw 3 dt dash(s) pt point(s) ps 1.5 lc rgb color(s) notitle, \
             linear(x, k) with lines dt (8, 6) lw 2 lc rgb GUIDE notitle, \
             quadratic(x, k) with lines dt 3 lw 2 lc rgb GUIDE notitle
        eval(subtitle_off)
    }
}

eval(legend_strip)
plot for [s = 1:nseries] 2 with linespoints lw 3 dt dash(s) pt point(s) ps 1.5 lc rgb color(s) \
         title S(sprintf("label%d", s)), \
     2 with lines dt (8, 6) lw 2 lc rgb GUIDE title "O(T) guide", \
     2 with lines dt 3 lw 2 lc rgb GUIDE title "O(T²) guide"
unset multiplot
