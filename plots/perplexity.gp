# perplexity.gp — figure 10: validation perplexity per model and setting, mean
# over seeds with ± sd error bars; one colour per model.  Lower is better.
#
# Set by seqlab:  title, file (CSV: x,model,mean,sd,n), nbars, rotate,
#   xticsdef (the bar labels, for `set xtics`), has_sd (any sd > 0: error bars)
load plotdir."/common.gp"

set title title font ",20"
set ylabel "validation perplexity (exp of loss per token)"
set xlabel "model"
set xrange [-0.6:nbars - 0.4]
set yrange [0:*]
set style fill solid 1.0 border lc rgb "black"
set boxwidth 0.6
set grid noxtics ytics
set xtics scale 0
eval("set xtics ".xticsdef)
if (rotate) { set xtics rotate by 25 right; set bmargin 6 }
bars = 'file using (column("x")):(column("mean")):(model_rgb(stringcolumn("model"))) with boxes lc rgb variable notitle'
values = 'file using (column("x")):(column("mean")):(sprintf("%.2f", column("mean"))) with labels offset 0, 1.4 notitle'
sdbars = 'file using (column("x")):(column("sd") > 0 ? column("mean") - column("sd") : NaN):(0):(2 * column("sd")) with vectors heads size screen 0.008, 90 lc rgb "black" lw 2 notitle'
if (has_sd) { eval("plot ".bars.", ".sdbars.", ".values) } else { eval("plot ".bars.", ".values) }
