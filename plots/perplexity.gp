# perplexity.gp — figure 10: validation perplexity per model and setting, mean
# over seeds, with ± sd error bars where a bar has two or more seeds; one
# colour per model; above each bar its value, its parameter count and its
# number of runs (seeds, and repeats at another thread count).  The dotted line is the unigram baseline (a model that
# knows only how often each token occurs); a uniform guess, V, is named in
# the panel title.  Lower is better.  One panel per task (words and
# characters differ in scale by twenty).
#
# Set by seqlab:  title, npanels; per panel p: ptitle<p>, file<p> (CSV:
#   x,model,mean,sd,n,params), nbars<p>, xticsdef<p> (the bar labels, for
#   `set xtics`, broken into lines), xlines<p> (their most lines), has_sd<p> (any sd > 0: error bars),
#   punigram<p> (the unigram perplexity), pV<p> (the vocabulary size)
load plotdir."/common.gp"

S(name) = value(name)
P(name, p) = value(sprintf("%s%d", name, p))

set multiplot title title font ",20"
set ylabel "validation perplexity (exp of loss per token)"
set yrange [0:*]
# room above the tallest bar for its labels
set offsets 0, 0, graph 0.2, 0
set style fill solid 1.0 border lc rgb "black"
set boxwidth 0.6
set grid noxtics ytics
do for [p = 1:npanels] {
    # no legend strip: the bars are labelled on the x axis
    set origin (p - 1.0) / npanels, 0
    set size 1.0 / npanels, 1 - TITLE_H
    V = P("pV", p)
    set title (V == V ? sprintf("%s (a uniform guess: %d)", P("ptitle", p), V) : P("ptitle", p))
    unigram = P("punigram", p)
    if (unigram == unigram) {
        set label 11 sprintf("unigram baseline %.1f", unigram) at graph 0.98, first unigram right offset 0, 0.6 \
            font ",13" tc rgb GUIDE front
    }
    file = P("file", p)
    set xrange [-0.6:P("nbars", p) - 0.4]
    set xtics scale 0 norotate
    eval("set xtics ".P("xticsdef", p))
    set bmargin P("xlines", p) + 1.5
    bars = 'file using (column("x")):(column("mean")):(model_rgb(stringcolumn("model"))) with boxes lc rgb variable notitle'
    pcount(x) = x >= 1e6 ? sprintf("%.2fM", x / 1e6) : sprintf("%.0fk", x / 1e3)
    values = 'file using (column("x")):(column("mean") + (column("n") > 1 ? column("sd") : 0)):(sprintf("%.2f\n%s params\n%d run%s", column("mean"), pcount(column("params")), column("n"), column("n") > 1 ? "s" : "")) with labels offset 0, 2.4 font ",13" notitle'
    sdbars = 'file using (column("x")):(column("n") > 1 ? column("mean") - column("sd") : NaN):(0):(2 * column("sd")) with vectors heads size screen 0.008, 90 lc rgb "black" lw 2 notitle'
    base = '(unigram == unigram ? unigram : NaN) with lines dt 3 lw 2 lc rgb GUIDE notitle'
    if (P("has_sd", p)) { eval("plot ".bars.", ".sdbars.", ".values.", ".base) } else { eval("plot ".bars.", ".values.", ".base) }
    unset label 11
}
unset multiplot
