/*
 * plot_internal.h — what the files of `seqlab plot` share: the plot state,
 * gnuplot's arguments, and each file's functions the others call.
 *
 *   plot.c            the figure list, `seqlab plot`, plot_experiment
 *   plot_gnuplot.c    running gnuplot (one process, PNG and SVG)
 *   plot_average.c    averaging runs over seeds, choosing a figure's runs
 *   plot_curves.c     loss, gradient norm, loss per position, gradient in time
 *   plot_figures.c    accuracy vs distance, time and memory vs T, perplexity, threads
 *   plot_attention.c  attention heatmaps, the positional-encoding table
 *   plot_scaling_laws.c  loss against model size and data, loss by position (scaling_laws.c)
 *
 * What this file is not: the interface for the rest of seqlab (plot.h).
 */
#ifndef SEQLAB_PLOT_INTERNAL_H
#define SEQLAB_PLOT_INTERNAL_H

#include <limits.h>
#include <stddef.h>

#include "findings.h"
#include "plot.h"
#include "plot_data.h"

/* more panels than this make unreadable slides; the rest are left out */
#define MAX_PANELS 6

/* one experiment being drawn */
typedef struct Plot {
    Experiment e;
    char figdir[PATH_MAX];    /* where the figures go (absolute) */
    char datadir[PATH_MAX];   /* figdir/data: the averaged CSVs */
    char plotdir[PATH_MAX];   /* the gnuplot scripts (absolute) */
    int drawn, skipped;
    Finding *findings;        /* (nfindings) the experiment's findings (findings.h) */
    int nfindings;
} Plot;

/* gnuplot's `-e` variables, built up as one string "a=1;b='x';" */
/* gnuplot's `-e` variables, built up as one string "a=1;b='x';" */
typedef struct Args {
    char *s;
    size_t len, cap;
} Args;

/* plot_gnuplot.c */
void plot_args_num(Args *a, double value, const char *namefmt, ...);
void plot_args_printf(Args *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void plot_args_str(Args *a, const char *value, const char *namefmt, ...);
int plot_file_exists(const char *path);
int plot_render(Plot *p, const char *script, const char *base, int w, int h, const Args *vars);
void plot_sfmt(char *out, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int plot_skip(Plot *p, const char *base, const char *why);

void plot_args_free(Args *a);
/* the finding of claim `id`, or NULL */
const Finding *plot_finding(const Plot *p, const char *id);

/* plot_average.c */
int plot_average_runs(const Plot *p, const int *idx, int n, const char *file, const char *key,
                        const char **cols, int ncols, const char *out_path, int *has);
int plot_field_values(const Experiment *e, const int *idx, int n, size_t off, double *v);
int plot_intersect(const Group *a, const Group *b, int *out);
int plot_keep_learning_runs(const Experiment *e, int *idx, int n);
int plot_runs_with_file(const Plot *p, const char *file, int *idx);
int plot_series_variant(const Experiment *e, const Group *g, int i);

/* plot_curves.c */
int plot_figure_grad_through_time(Plot *p);
int plot_figure_position_loss(Plot *p);
int plot_figures_metrics(Plot *p);

/* plot_figures.c */
int plot_figure_accuracy_vs_distance(Plot *p);
int plot_figure_perplexity(Plot *p);
int plot_figure_threads(Plot *p);
int plot_figures_scaling(Plot *p);

/* plot_scaling_laws.c */
int plot_figures_scaling_laws(Plot *p);

/* plot_attention.c */
int plot_attention_maps(Plot *p, const char *dir, const char *label, int in_name);
int plot_figure_posenc(Plot *p);
int plot_figures_attention(Plot *p);
/* plot_translation.c */
int plot_figure_quality_vs_length(Plot *p);
int plot_list_dir(const char *dir, char ***out);
void plot_list_free(char **names, int n);
double plot_group_mean(const Experiment *e, const Group *g, size_t field_offset);
#define GROUP_MEAN(e, g, field) plot_group_mean((e), (g), offsetof(Run, field))
#define FIELD_VALUES(e, idx, n, field, v) plot_field_values((e), (idx), (n), offsetof(Run, field), (v))
double plot_run_field(const Run *r, size_t off);

#endif
