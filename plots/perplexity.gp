# perplexity.gp — figure 10: validation perplexity per model and setting, mean
# over seeds with ± sd error bars; one colour per model.  Lower is better.
# One panel per task (words and characters differ in scale by twenty).
#
# Set by seqlab:  title, npanels; per panel p: ptitle<p>, file<p> (CSV:
#   x,model,mean,sd,n), nbars<p>, rotate<p>, xticsdef<p> (the bar labels, for
#   `set xtics`), has_sd<p> (any sd > 0: error bars)
load plotdir."/common.gp"

S(name) = value(name)
P(name, p) = value(sprintf("%s%d", name, p))

set multiplot title title font ",20"
set ylabel "validation perplexity (exp of loss per token)"
set yrange [0:*]
set style fill solid 1.0 border lc rgb "black"
set boxwidth 0.6
set grid noxtics ytics
do for [p = 1:npanels] {
    # no legend strip: the bars are labelled on the x axis
    set origin (p - 1.0) / npanels, 0
    set size 1.0 / npanels, 1 - TITLE_H
    set title P("ptitle", p)
    file = P("file", p)
    set xrange [-0.6:P("nbars", p) - 0.4]
    set xtics scale 0 norotate
    eval("set xtics ".P("xticsdef", p))
    if (P("rotate", p)) { set xtics rotate by 25 right; set bmargin 6 } else { set bmargin 3 }
    bars = 'file using (column("x")):(column("mean")):(model_rgb(stringcolumn("model"))) with boxes lc rgb variable notitle'
    values = 'file using (column("x")):(column("mean")):(sprintf("%.2f", column("mean"))) with labels offset 0, 1.4 notitle'
    sdbars = 'file using (column("x")):(column("sd") > 0 ? column("mean") - column("sd") : NaN):(0):(2 * column("sd")) with vectors heads size screen 0.008, 90 lc rgb "black" lw 2 notitle'
    if (P("has_sd", p)) { eval("plot ".bars.", ".sdbars.", ".values) } else { eval("plot ".bars.", ".values) }
}
unset multiplot
