/*
 * plot.h — `seqlab plot` and the report page.
 *
 * plot_experiment reads what the trainer and the runner wrote under
 * runs/NAME (summary.csv and each run's metrics.csv, gradients.csv,
 * timing.csv, position_loss.csv, plus attention/ and posenc.csv), averages
 * over seeds in C (mean ± sd, small CSVs in figures/data/), and has gnuplot
 * draw each figure from the scripts in plots/ as PNG (pngcairo) and SVG in
 * runs/NAME/figures/.  A figure whose data is missing is skipped with a
 * one-line note on stderr, and any old copy of it is removed, so a figure
 * on disk always shows the current data.
 *
 * Before drawing, plot_experiment measures the course claims the experiment
 * tests and writes runs/NAME/findings.csv (findings.h).
 *
 * report_write writes runs/index.html: one self-contained page over every
 * experiment (every runs/X/experiment.json): the findings grouped by claim,
 * then each experiment's question, each figure that exists with a caption
 * and its data, an attention explorer, one results table per grid group
 * (mean ± sd over seeds, or the bare value of one run), samples.
 *
 * What this file is not: the plotting itself — that is the gnuplot scripts,
 * one per figure kind, which read the CSV columns by name.
 */
#ifndef SEQLAB_PLOT_H
#define SEQLAB_PLOT_H

#include <stddef.h>

/* image sizes (pixels) the scripts are given: big enough for a slide,
 * fonts (16-18 pt) still readable at half size */
#define PLOT_WIDTH 1200
#define PLOT_HEIGHT 800
/* the attention heatmaps are square-ish: T x T cells plus a colour bar */
#define PLOT_HEATMAP_WIDTH 1100
#define PLOT_HEATMAP_HEIGHT 1000

/* one figure kind: its file name (without .png/.svg) and what a reader
 * should look for in it.  The attention heatmaps are many files named
 * attention_<label>_L<layer>_H<head>. */
typedef struct PlotFigure {
    const char *name;
    const char *caption;
} PlotFigure;

extern const PlotFigure plot_figures[];
extern const int plot_nfigures;
#define PLOT_ATTENTION_PREFIX "attention_"

/* `seqlab plot runs/NAME [--out DIR]`: draw every figure of that experiment
 * (and, without --out, refresh the report page of the folder that holds it).
 * Returns the process exit status. */
int cmd_plot(int argc, char **argv);

/* draw every figure of the experiment in exp_dir into exp_dir/figures.
 * 0 on success (figures without data are skipped, which is not an error);
 * -1 with a message in err when the experiment cannot be read, gnuplot is
 * missing, or gnuplot fails. */
int plot_experiment(const char *exp_dir, char *err, size_t errlen);

/* the same, into fig_dir (created if needed) instead of exp_dir/figures */
int plot_experiment_to(const char *exp_dir, const char *fig_dir, char *err, size_t errlen);

/* one heatmap per L<l>_H<h>.csv in attn_dir (what `seqlab attention`
 * writes), drawn into fig_dir as attention_L<l>_H<h>.png and .svg (the
 * rewritten CSVs the script reads go to fig_dir/data).  0, or -1 with a
 * message in err (no maps, no gnuplot, gnuplot failed). */
int plot_attention_dir(const char *attn_dir, const char *fig_dir, char *err, size_t errlen);

/* (re)write runs_dir/index.html over every experiment in runs_dir.
 * 0, or -1 with a message in err. */
int report_write(const char *runs_dir, char *err, size_t errlen);

/* 1 if a gnuplot executable is on PATH (or named by $SEQLAB_GNUPLOT) */
int plot_gnuplot_available(void);

#endif
