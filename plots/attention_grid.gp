# attention_grid.gp — figure 8: one sentence through the Transformer, every
# layer (rows) and head (columns) as a heatmap: row = query position (the
# token reading), column = key position (the token read), colour = weight,
# one colour scale for all maps (0 to the largest weight of any), so maps
# compare.  Tokens label the left column and the bottom row; the sentence,
# whole, is the title.  Query 0 is at the top, as in a matrix.
#
# Set by seqlab:  title1, title2 (the sentence, in two lines; title2 may be
#   ""), L, NH, T (keys), Q (queries), rotate, ticfont, wmax, and for each
#   layer l and head h: file_<l>_<h> (CSV: first row ",tok0,tok1,...", then
#   "tok_q,w0,w1,...")
load plotdir."/common.gp"

S(name) = value(name)
TOP = strlen(title2) > 0 ? 0.86 : 0.9
BOTTOM = 0.13
LEFT = 0.1
RIGHT = 0.88
HGAP = 0.025
VGAP = 0.06
pw = (RIGHT - LEFT - (NH - 1) * HGAP) / NH
ph = (TOP - BOTTOM - (L - 1) * VGAP) / L

set multiplot
set label 110 title1 at screen 0.5, 0.965 center font ",18"
if (strlen(title2) > 0) { set label 111 title2 at screen 0.5, 0.925 center font ",18" }
set xrange [-0.5:T - 0.5]
set yrange [Q - 0.5:-0.5]
set cbrange [0:wmax]
set palette defined (0 "#440154", 0.25 "#3B528B", 0.5 "#21918C", 0.75 "#5EC962", 1 "#FDE725")
ticfontspec = sprintf(",%d", ticfont)
set tics scale 0 font ticfontspec
unset grid
set border lw 1
set title font ",14"
unset colorbox
do for [l = 0:L - 1] {
    do for [h = 0:NH - 1] {
        set lmargin at screen LEFT + h * (pw + HGAP)
        set rmargin at screen LEFT + h * (pw + HGAP) + pw
        set tmargin at screen TOP - l * (ph + VGAP)
        set bmargin at screen TOP - l * (ph + VGAP) - ph
        set title sprintf("layer %d, head %d", l, h) offset 0, -0.6
        set xtics font ticfontspec; set ytics font ticfontspec
        # upright labels where every token is one character; else vertical
        # ones, which need only their type's height of room each
        if (rotate) { set xtics rotate by 90 right }
        if (l < L - 1) { unset xtics }
        if (h > 0) { unset ytics }
        if (l == L - 1 && h == NH - 1) {
            set colorbox user origin screen RIGHT + 0.03, screen BOTTOM size screen 0.02, screen TOP - BOTTOM
            set cbtics font ",13"
            set cblabel "attention weight" font ",14"
        }
        plot S(sprintf("file_%d_%d", l, h)) matrix rowheaders columnheaders with image pixels notitle
        unset colorbox
    }
}
unset multiplot
