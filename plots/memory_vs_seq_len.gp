# memory_vs_seq_len.gp — figure 7: what a longer window costs in memory,
# log-log against the window length T.  Left: the activations each model
# keeps for backward, with an O(T) guide through the recurrent models' mean
# at the shortest window.  Middle: the Transformer's attention matrices
# alone (L x B x heads x T x T weights), with an O(T^2) guide through their
# own bytes at the shortest window.  Right: the peak resident memory of the
# process, on the range the data spans.
#
# Set by seqlab:  title, setting (the subtitle), T0, act0, attn0, rss_lo,
#   rss_hi, attn_series (the series numbers with attention, "4"), nseries; per series s: file<s> (CSV: seq_len,act_mb,attn_mb,
#   peak_rss_mb,...), model<s>, label<s>, variant<s>
subtitle = setting
load plotdir."/common.gp"

S(name) = value(name)
file(s) = S(sprintf("file%d", s))
color(s) = model_color(S(sprintf("model%d", s)))
point(s) = variant_point(S(sprintf("model%d", s)), S(sprintf("variant%d", s)))
dash(s) = variant_dash(S(sprintf("variant%d", s)))
shift(s) = 2 ** ((s - (nseries + 1) / 2.0) * 0.12)
linear(x) = act0 * (x / T0)
quadratic(x) = attn0 * (x / T0) ** 2

npanels = 3
set multiplot title title font ",20"
eval(subtitle_on)
set logscale x 2
set xtics T0, 4
set logscale y 10
set format x "%g"; set format y "%g"
set xlabel "window length T (tokens)"
set origin panel_x(1, npanels), panel_y(1, npanels)
set size panel_w(npanels), panel_h(npanels)
set title "activations kept for backward"
set ylabel "MB"
plot for [s = 1:nseries] file(s) using (column("seq_len") * shift(s)):(column("act_mb")) \
         with linespoints lw 3 dt dash(s) pt point(s) ps 1.5 lc rgb color(s) notitle, \
     (act0 == act0 ? linear(x) : NaN) with lines dt (8, 6) lw 2 lc rgb GUIDE notitle
eval(subtitle_off)

set origin panel_x(2, npanels), panel_y(2, npanels)
set size panel_w(npanels), panel_h(npanels)
set title "attention matrices alone"
if (strlen(attn_series) > 0) {
    plot for [w in attn_series] file(w + 0) using (column("seq_len")):(column("attn_mb")) \
             with linespoints lw 3 dt dash(w + 0) pt point(w + 0) ps 1.5 lc rgb color(w + 0) notitle, \
         quadratic(x) with lines dt 3 lw 2 lc rgb GUIDE notitle
} else {
    set label 101 "no attention in these runs" at graph 0.5, 0.5 center
    plot NaN notitle
    unset label 101
}

set origin panel_x(3, npanels), panel_y(3, npanels)
set size panel_w(npanels), panel_h(npanels)
set title "whole process (peak RSS)"
set yrange [rss_lo:rss_hi]
set logscale y 2
set format y "%.0f"
plot for [s = 1:nseries] file(s) using (column("seq_len") * shift(s)):(column("peak_rss_mb")) \
         with linespoints lw 3 dt dash(s) pt point(s) ps 1.5 lc rgb color(s) notitle

eval(legend_strip)
plot for [s = 1:nseries] 2 with linespoints lw 3 dt dash(s) pt point(s) ps 1.5 lc rgb color(s) \
         title S(sprintf("label%d", s)), \
     2 with lines dt (8, 6) lw 2 lc rgb GUIDE title "O(T), from the recurrent models", \
     2 with lines dt 3 lw 2 lc rgb GUIDE title "O(T²), from the attention bytes"
unset multiplot
