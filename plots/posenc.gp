# posenc.gp — figure 9: the positional-encoding table, what is added to the
# token embedding at each position: position down, dimension across, value
# as colour (blue negative, white zero, red positive).
#
# Set by seqlab:  title, file (CSV long format: position,dim,value),
#   maxabs (largest |value|), maxpos, maxdim
load plotdir."/common.gp"

set title title font ",20"
set xlabel "embedding dimension i"
set ylabel "position t"
set xrange [-0.5:maxdim + 0.5]
set yrange [maxpos + 0.5:-0.5]
set cbrange [-maxabs:maxabs]
set cblabel "value added to the embedding"
unset grid
set tics out
set palette defined (0 "#0072B2", 0.5 "#FFFFFF", 1 "#D55E00")
plot file using (column("dim")):(column("position")):(column("value")) with image pixels notitle
