# attention.gp — figure 8: one attention map (one layer, one head) as a
# heatmap: row = query position, column = key position, colour = weight in
# [0, 1]; the tokens label both axes.  Query 0 is at the top, as in a matrix.
#
# Set by seqlab:  title, file (CSV: first row ",tok0,tok1,...", then
#   "tok_q,w0,w1,..."), T (keys), Q (queries), ticfont (points), rotate
load plotdir."/common.gp"

set title title font ",18"
set xlabel "key position (the token read)"
set ylabel "query position (the token reading)"
set xrange [-0.5:T - 0.5]
set yrange [Q - 0.5:-0.5]
set cbrange [0:1]
set cblabel "attention weight"
set size ratio -1
ticfontspec = sprintf(",%d", ticfont)
set tics scale 0 font ticfontspec
set cbtics font ",14"
set cblabel font ",16"
if (rotate) { set xtics rotate by 60 right }
unset grid
set border lw 1
# viridis: dark = ignored, yellow = attended; reads in grey and for colour-blind readers
set palette defined (0 "#440154", 0.25 "#3B528B", 0.5 "#21918C", 0.75 "#5EC962", 1 "#FDE725")
plot file matrix rowheaders columnheaders with image pixels notitle
