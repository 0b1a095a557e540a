# quality_vs_length.gp — translation quality against source length, one
# panel per task of pairs, one line per model (and attention): exact match
# (reverse, dates) or corpus BLEU (translate) of greedy decoding on the test
# pairs, mean ± sd over seeds, per bucket of source length.  The figure of
# Bahdanau et al. (2015, Fig. 2): without attention the recurrent
# encoder–decoder falls as sentences grow.
#
# Set by seqlab:  title, npanels; per panel p: ptitle<p>, pbleu<p> (1 = BLEU,
#   0 = exact match), pn<p>, each j: file<p>_<j> (CSV: length,value,value_sd),
#   model<p>_<j>, variant<p>_<j> (0 no attention / Transformer, 1 additive);
#   nseries and, per series s: lmodel<s>, llabel<s>, lvariant<s>
load plotdir."/common.gp"

S(name) = value(name)
file(p, j) = S(sprintf("file%d_%d", p, j))
color(p, j) = model_color(S(sprintf("model%d_%d", p, j)))
point(p, j) = variant_point(S(sprintf("model%d_%d", p, j)), S(sprintf("variant%d_%d", p, j)))
dash(p, j) = variant_dash(S(sprintf("variant%d_%d", p, j)))

set multiplot title title font ",20"
do for [p = 1:npanels] {
    set origin panel_x(p, npanels), panel_y(p, npanels)
    set size panel_w(npanels), panel_h(npanels)
    set title S(sprintf("ptitle%d", p))
    set xlabel "source length (tokens; bucket middle)"
    set xtics 5
    n = S(sprintf("pn%d", p))
    set autoscale
    if (S(sprintf("pbleu%d", p))) {
        set ylabel "test BLEU"
        set yrange [0:*]
    } else {
        set ylabel "test exact match"
        set yrange [0:1.05]
    }
    plot for [j = 1:n] file(p, j) using (column("length")):(column("value")):(column("value_sd")) \
             with yerrorlines lw 3 dt dash(p, j) pt point(p, j) ps 1.5 lc rgb color(p, j) notitle
}

eval(legend_strip)
plot for [s = 1:nseries] 2 with linespoints lw 3 dt variant_dash(S(sprintf("lvariant%d", s))) \
         pt variant_point(S(sprintf("lmodel%d", s)), S(sprintf("lvariant%d", s))) ps 1.5 \
         lc rgb model_color(S(sprintf("lmodel%d", s))) title S(sprintf("llabel%d", s))
unset multiplot
