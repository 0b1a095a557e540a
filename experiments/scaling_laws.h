/*
 * scaling_laws.h — what an experiment's runs say about scale: loss against
 * model size N and against data D with the fitted L = E + A·x^(−α), the
 * per-position loss over a long window with its slope beyond position 64
 * (Kaplan et al. 2020, figure 7), and where two models' validation losses
 * change order as training goes on (the budget question).
 *
 * Each function reads the experiment (summary.csv and the runs' metrics.csv
 * and position_loss.csv), writes the small CSVs a figure draws into
 * data_dir, describes the figure in a ScalingFigure, and writes its findings
 * as CSV to exp_dir (fits_params.csv, fits_data.csv, context_slopes.csv,
 * context_slope_pairs.csv, budget_order.csv; written whole, or removed when there is nothing to say).
 * With data_dir NULL nothing is written: the numbers are only in the
 * ScalingFigure (for the findings).  An experiment without the runs for one of them (no
 * size sweep, say) gets nothing from it, which is not an error.
 *
 * What this file is not: the fitting (fit.c) or the drawing (plots/power_law.gp and
 * plots/context_slope.gp, called from plot.c).
 */
#ifndef SEQLAB_SCALING_LAWS_H
#define SEQLAB_SCALING_LAWS_H

#include <stdio.h>

#include "plot_data.h"

/* the per-position view: windows at least this long, slope from this
 * position on (Kaplan et al.: the LSTM flattens within the first 100 tokens) */
#define SCALING_CONTEXT_MIN_T 256
#define SCALING_CONTEXT_FROM 64

#define SCALING_MAX_PANELS 4    /* one per tokenizer */
#define SCALING_MAX_SERIES 8    /* one per model */

typedef struct ScalingSeries {
    char model[32];
    char points[128];    /* CSV under data_dir: x,loss,loss_sd,runs (means over seeds) */
    char curve[128];     /* CSV under data_dir: x,loss of the fitted line; "" if none */
    char label[192];    /* the legend entry: the model and its fitted numbers */
    /* the numbers, for findings (NAN where there is none) */
    double size;        /* N of a data or context series; NAN for a size sweep */
    double E, alpha, alpha_sd, r2;   /* L = E + A x^-alpha, if it could be fitted */
    double pure_alpha, pure_alpha_sd;/* L = (x_c / x)^alpha */
    double slope, slope_sd;          /* context: loss per e-fold of context beyond position 64 */
    int seeds;          /* the fewest runs behind one point (seeds at one size or cut) */
} ScalingSeries;

typedef struct ScalingPanel {
    char title[96];
    double ymin, ymax;  /* the range of the losses drawn (points, seeds and final losses) */
    int nseries;
    ScalingSeries series[SCALING_MAX_SERIES];
    /* context: the slope of (loss of series i − loss of series j) against
     * ln(context) beyond position 64, and its standard error.  Every model
     * is scored on the same validation windows, so the text's own ups and
     * downs from position to position cancel in the difference: two models'
     * slopes are compared far more precisely this way than one slope is
     * measured against zero.  NAN where not computed. */
    double pair_slope[SCALING_MAX_SERIES][SCALING_MAX_SERIES];
    double pair_slope_sd[SCALING_MAX_SERIES][SCALING_MAX_SERIES];
} ScalingPanel;

typedef struct ScalingFigure {
    int npanels;
    ScalingPanel panels[SCALING_MAX_PANELS];
} ScalingFigure;

/* final validation loss against non-embedding parameters N, per tokenizer
 * and model, over the runs of the full training split, and the fits
 * (exp_dir/fits_params.csv).  Returns the number of panels (0: no model was
 * run at 2 or more sizes, or none at the 3 a fit needs). */
int scaling_loss_vs_params(const Experiment *e, const char *data_dir, ScalingFigure *fig);

/* the best validation loss along the run (early stopping, as Kaplan et al.
 * measured L(D)) against the training tokens D = train_fraction × the
 * training split, per tokenizer, model and size; exp_dir/fits_data.csv.
 * Returns panels. */
int scaling_loss_vs_data(const Experiment *e, const char *data_dir, ScalingFigure *fig);

/* the per-position validation loss of the largest model of each
 * architecture (windows of at least SCALING_CONTEXT_MIN_T), with the
 * least-squares slope of loss against ln(context) beyond position
 * SCALING_CONTEXT_FROM (exp_dir/context_slopes.csv) and, for every pair of
 * models, the slope of the difference of their losses
 * (exp_dir/context_slope_pairs.csv).  Returns panels. */
int scaling_context(const Experiment *e, const char *data_dir, ScalingFigure *fig);

/* two models' validation losses along training (scaling_budget_order) */
typedef struct BudgetPair {
    char tokenizer[32], model_a[32], model_b[32];
    double tokens_first, tokens_last;   /* the first and last evaluation both reached */
    int a_ahead_first, a_ahead_last;    /* 1: model_a's mean loss is the lower there */
    double ahead_since;                 /* tokens since which the last order has held */
    double loss_a_last, loss_b_last;
    int evaluations;                    /* evaluations both reached */
    int seeds;                          /* runs of the model with fewer */
} BudgetPair;

/* for each tokenizer and each pair of models trained at one size each:
 * which is ahead (mean validation loss over seeds) at the first and the
 * last evaluation, and the training tokens after which the order last
 * changed; into pairs (at most max; may be NULL) and, with data_dir set,
 * exp_dir/budget_order.csv.  Returns the number of pairs. */
int scaling_budget_order(const Experiment *e, const char *data_dir, BudgetPair *pairs, int max);

#endif
