# common.gp — what every seqlab figure shares.  Loaded first by each script.
#
# seqlab sets, with `gnuplot -e`:  fmt ('png' or 'svg'), outfile, W, H
# (pixels), plotdir (this folder).  This file sets the terminal, reads CSV
# columns by name, fixes one Okabe–Ito colour per model (the same model has
# the same colour in every figure), and lays out panels of a figure in a
# grid above a shared legend strip (so no legend covers data).
#
# seqlab loads a script twice in one gnuplot, for PNG then SVG: `reset`
# makes the second drawing start from the same defaults as the first.

reset

set datafile separator ","
set datafile missing NaN
# columns are read by name, column("val_loss"): gnuplot 5.4 has a switch for
# the header row; older versions read it when titles come from the header.
if (GPVAL_VERSION >= 5.4) {
    set datafile columnheaders
} else {
    set key autotitle columnhead
}
if (fmt eq "svg") {
    # mouse standalone: the SVG carries gnuplot's own script (no file beside
    # it), so the points a script draws `with labels hypertext` show their
    # values under the pointer, offline
    set terminal svg size W,H font "sans,16" noenhanced background rgb "white" mouse standalone
} else {
    set terminal pngcairo size W,H font "sans,16" noenhanced background rgb "white"
}
set output outfile
if (GPVAL_VERSION >= 5.0) set colorsequence podo

# Okabe & Ito (2008) colour-blind-safe palette, one colour per model: the
# four course models, then the scan models (reddish purple, sky blue, and
# Tol's wine, darker than the vermilion); grey for a model not listed.
# experiments/report.c (model_css_color) has the same list, and a test
# compares the two.
model_color(m) = m eq "rnn" ? "#E69F00" : m eq "lstm" ? "#0072B2" : \
                 m eq "gru" ? "#009E73" : m eq "transformer" ? "#D55E00" : \
                 m eq "mingru" ? "#CC79A7" : m eq "minlstm" ? "#56B4E9" : m eq "lti" ? "#882255" : "#777777"
# the same colours as integers, for `lc rgb variable`
model_rgb(m) = int("0x" . model_color(m)[2:])
# and a point shape each, so lines differ in print too
model_point(m) = m eq "rnn" ? 7 : m eq "lstm" ? 5 : m eq "gru" ? 9 : m eq "transformer" ? 13 : \
                 m eq "mingru" ? 11 : m eq "minlstm" ? 15 : 4
# a second setting of the same model (say "rnn, no clip" beside "rnn, clip 1")
# keeps the colour and changes the point (x, +, *, then open square, circle,
# triangles instead of the model's filled shape) or the dash
variant_point(m, v) = v == 0 ? model_point(m) : v == 1 ? 2 : v == 2 ? 1 : v == 3 ? 3 : \
                      v == 4 ? 4 : v == 5 ? 6 : v == 6 ? 8 : 12
variant_dash(v) = v == 0 ? 1 : v == 1 ? 2 : v == 2 ? 4 : 5
GUIDE = "#555555"

# smaller type when the page holds many panels (npanels, if the script has it)
many_panels = exists("npanels") ? npanels > 2 : 0
panel_font = many_panels ? ",14" : ",16"
panel_title_font = many_panels ? ",15" : ",17"
set tics font panel_font
set xlabel font panel_font
set ylabel font panel_font

set grid lc rgb "#dddddd" lw 1
# no white halo around points on error bars
set pointintervalbox 0
set border lw 1.5
set tics nomirror
set title font panel_title_font
unset key

# Panels: n of them in a grid filling the page between the title strip
# (TITLE_H) and the legend strip (KEY_H); panel i counts from 1.
TITLE_H = exists("subtitle") ? 0.115 : 0.07
# a smaller line under the page title (the settings the figure holds fixed):
# eval(subtitle_on) before the first panel is drawn, eval(subtitle_off) after
subtitle_on = exists("subtitle") ? "set label 100 subtitle at screen 0.5, 0.925 center font ',15'" : ""
subtitle_off = "unset label 100"
KEY_H = 0.13
# the legend strip's height (a fraction of the page) for n entries in cols
# columns, 26 px a row: never less than KEY_H; seqlab makes a figure taller
# when its legend has many rows (plot_curves.c)
legend_rows(n, cols) = int((n + cols - 1) / cols)
legend_h(n, cols) = (v = (legend_rows(n, cols) * 26.0 + 34) / H, v > KEY_H ? v : KEY_H)
# ... and after eval(legend_strip), its entries in columns of that many rows
legend_columns(n, cols) = sprintf("set key vertical maxrows %d Left reverse width 1", legend_rows(n, cols))
grid_cols(n) = n <= 1 ? 1 : n == 2 ? 2 : n == 3 ? 3 : n == 4 ? 2 : 3
grid_rows(n) = int((n + grid_cols(n) - 1) / grid_cols(n))
panel_w(n) = 1.0 / grid_cols(n)
panel_h(n) = (1.0 - KEY_H - TITLE_H) / grid_rows(n)
panel_x(i, n) = ((i - 1) % grid_cols(n)) * panel_w(n)
panel_y(i, n) = KEY_H + (grid_rows(n) - 1 - int((i - 1) / grid_cols(n))) * panel_h(n)

# x tick spacing: a step of 1, 2 or 5 x 10^k giving about n ticks over [0:range]
nice(x) = x <= 1 ? 1 : x <= 2 ? 2 : x <= 5 ? 5 : 10
nice_step(range, n) = nice_of(real(range) / n)
nice_of(r) = nice(r / 10.0 ** floor(log10(r))) * 10.0 ** floor(log10(r))
# for panel p of a curve figure (seqlab sets pxmax<p>, its largest x): fewer
# ticks on narrower panels, so that labels like 300 and 400 never touch
panel_xstep(p) = nice_step(value(sprintf("pxmax%d", p)), grid_cols(npanels) >= 3 ? 4 : grid_cols(npanels) == 2 ? 5 : 8)

# The legend strip under the panels: `eval(legend_strip)`, then plot dummy
# curves (y = 2, outside the [0:1] range) that carry only their key entries.
legend_strip = "set origin 0, 0; set size 1, KEY_H; set margins 0, 0, 0, 0; " . \
    "unset logscale; set format y '%g'; unset border; unset tics; unset xlabel; unset ylabel; " . \
    "unset title; unset grid; set xrange [0:1]; set yrange [0:1]; " . \
    "set key at screen 0.5, KEY_H / 2 center center horizontal maxcols 3 width -1 samplen 2.5 font ',14'"
