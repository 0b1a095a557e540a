/*
 * scaling_laws.c — loss against model size and data, the per-position loss
 * of the largest models, and the budget at which two models change order
 * (scaling_laws.h).
 *
 * Each analysis picks its runs from summary.csv, averages over seeds
 * (gsl_stats through stats_mean_sd), fits with fit.c, writes what the
 * figure draws into figures/data and its findings into the experiment's
 * folder.  The fits use every run as a point (seeds included), so the
 * seed-to-seed spread enters α's uncertainty; the figures show the means.
 */
#define _POSIX_C_SOURCE 200809L
#include "scaling_laws.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fit.h"
#include "registry.h"
#include "util.h"

/* paths of files inside an experiment's folder */
#define FILE_PATH_MAX 4096
/* a trend counts when alpha is this many standard errors from zero */
#define VERDICT_SDS 2.0
/* points along a fitted curve, spread evenly in log x over the measured
 * range widened by this factor each way */
#define CURVE_POINTS 60
#define CURVE_WIDEN 1.4

/* ============================================================ helpers ==== */

static void csv_num_field(FILE *f, double v)
{
    if (isfinite(v)) fprintf(f, ",%.6g", v);
    else fputs(",nan", f);
}

/* write `text` (len) to exp_dir/name, or remove that file when text is NULL:
 * a findings file on disk always matches the current runs */
static void write_findings(const Experiment *e, const char *name, char *text, size_t len)
{
    char path[sizeof e->dir + 64], err[512];
    snprintf(path, sizeof path, "%s/%s", e->dir, name);
    if (!text) {
        unlink(path);
        return;
    }
    if (file_write_atomic(path, text, len, err, sizeof err) != 0) fprintf(stderr, "seqlab plot: %s\n", err);
}

/* the run used the whole training split (train_fraction 1, or a summary
 * from before train_fraction) */
static int full_data(const Run *r) { return !isfinite(r->train_fraction) || r->train_fraction >= 1; }

/* the tokenizers of the text runs, in order of first appearance */
static int tokenizers(const Experiment *e, char names[][32], int max)
{
    int n = 0;
    for (int i = 0; i < e->nruns; i++) {
        const Run *r = &e->runs[i];
        if (!task_is_text(r->task) || !r->tokenizer[0]) continue;
        int seen = 0;
        for (int k = 0; k < n; k++) seen |= strcmp(names[k], r->tokenizer) == 0;
        if (!seen && n < max) snprintf(names[n++], 32, "%s", r->tokenizer);
    }
    return n;
}

/* a panel's title: what the models predict */
static void panel_title(char *out, size_t n, const char *tok, const char *what)
{
    const char *unit = !strcmp(tok, "chars") ? "character" : !strcmp(tok, "words") ? "word" : "byte";
    snprintf(out, n, "next %s%s", unit, what);
}

/* the registered models, in registry order (core/registry.h) */
#define NMODELS model_info_count()
#define MODEL_NAME(m) (model_info_at(m)->name)

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* the distinct values of v[0..n), sorted, into out; returns how many */
static int distinct(const double *v, int n, double *out)
{
    for (int i = 0; i < n; i++) out[i] = v[i];
    qsort(out, (size_t)n, sizeof *out, cmp_double);
    int m = 0;
    for (int i = 0; i < n; i++)
        if (m == 0 || out[i] != out[m - 1]) out[m++] = out[i];
    return m;
}

/* the smallest validation loss in a run's metrics.csv (NAN if none) */
static double best_val_loss(const Experiment *e, const Run *r)
{
    char path[FILE_PATH_MAX], err[512];
    run_path(path, sizeof path, e, r, "metrics.csv");
    CsvTable *t = csv_read(path, err, sizeof err);
    if (!t) return NAN;
    double best = NAN;
    int c = csv_col(t, "val_loss");
    for (int i = 0; i < t->nrows; i++) {
        double v = csv_num(t, i, c);
        if (isfinite(v) && !(v >= best)) best = v;
    }
    csv_free(t);
    return best;
}

/* x,loss,loss_sd,runs[,final_loss]: for each distinct x the mean and sd over
 * the points with that x (final: a second loss, its mean) */
static void write_points(const char *path, const double *x, const double *y, const double *final, int n)
{
    FILE *f = fopen(path, "w");
    if (!f) die("cannot write '%s': %s", path, strerror(errno));
    fprintf(f, "x,loss,loss_sd,runs%s\n", final ? ",final_loss" : "");
    double *xs = xmalloc((size_t)n * sizeof *xs), *ys = xmalloc((size_t)n * sizeof *ys),
           *fs = xmalloc((size_t)n * sizeof *fs);
    int nx = distinct(x, n, xs);
    for (int k = 0; k < nx; k++) {
        int m = 0;
        for (int i = 0; i < n; i++)
            if (x[i] == xs[k]) {
                ys[m] = y[i];
                fs[m++] = final ? final[i] : NAN;
            }
        double mean, sd, fmean, fsd;
        int got = stats_mean_sd(ys, m, &mean, &sd);
        fprintf(f, "%.10g,%.10g,%.10g,%d", xs[k], mean, sd, got);
        if (final) {
            stats_mean_sd(fs, m, &fmean, &fsd);
            fprintf(f, ",%.10g", fmean);
        }
        fputc('\n', f);
    }
    free(xs);
    free(ys);
    free(fs);
    fclose(f);
}

/* the fitted L = E + A x^-alpha at CURVE_POINTS log-spaced x */
static void write_curve(const char *path, const PowerLawFit *fit, double xmin, double xmax)
{
    FILE *f = fopen(path, "w");
    if (!f) die("cannot write '%s': %s", path, strerror(errno));
    fprintf(f, "x,loss\n");
    double lo = log(xmin / CURVE_WIDEN), hi = log(xmax * CURVE_WIDEN);
    for (int i = 0; i < CURVE_POINTS; i++) {
        double x = exp(lo + (hi - lo) * i / (CURVE_POINTS - 1));
        fprintf(f, "%.10g,%.10g\n", x, fit->E + fit->A * pow(x, -fit->alpha));
    }
    fclose(f);
}

/* one fitted series: points and curve files, legend label and a findings
 * row (fits_header) */
/* widen [*lo, *hi] to hold the finite values of v[0..n) */
static void range_add(double *lo, double *hi, const double *v, int n)
{
    for (int i = 0; v && i < n; i++) {
        if (!isfinite(v[i])) continue;
        if (!(v[i] >= *lo)) *lo = v[i];
        if (!(v[i] <= *hi)) *hi = v[i];
    }
}

static const char *verdict(double alpha, double alpha_sd)
{
    return alpha > VERDICT_SDS * alpha_sd ? "lower" : alpha < -VERDICT_SDS * alpha_sd ? "higher" : "unclear";
}

static void fit_series(const char *data_dir, const char *stem, const char *tok, const char *model,
                       const char *variable, double size, const double *x, const double *y,
                       const double *final, int n, ScalingSeries *s, FILE *rows)
{
    char path[FILE_PATH_MAX];
    snprintf(s->model, sizeof s->model, "%s", model);
    snprintf(s->points, sizeof s->points, "%s.csv", stem);
    snprintf(path, sizeof path, "%s/%s", data_dir ? data_dir : ".", s->points);
    if (data_dir) write_points(path, x, y, final, n);
    double xmin = x[0], xmax = x[0];
    for (int i = 0; i < n; i++) {
        xmin = x[i] < xmin ? x[i] : xmin;
        xmax = x[i] > xmax ? x[i] : xmax;
    }
    char who[64];
    const char *title = model_info_find(model)->title;
    if (isfinite(size)) snprintf(who, sizeof who, "%s N=%.3gk", title, size / 1000);
    else snprintf(who, sizeof who, "%s", title);
    /* Kaplan et al.'s form without the offset, beside it */
    double pure = NAN, pure_sd = NAN, pure_A = NAN;
    char pure_err[256];
    int pure_ok = fit_pure_power_law(x, y, n, &pure, &pure_sd, &pure_A, pure_err, sizeof pure_err) == 0;

    PowerLawFit fit;
    char err[256];
    int ok = fit_power_law(x, y, n, &fit, err, sizeof err) == 0;
    fprintf(rows, "%s,%s,%s", tok, model, variable);
    csv_num_field(rows, size);
    if (ok) {
        double v[] = {fit.E, fit.E_sd, fit.A, fit.A_sd, fit.alpha, fit.alpha_sd, fit.r2};
        for (size_t k = 0; k < sizeof v / sizeof v[0]; k++) csv_num_field(rows, v[k]);
        fprintf(rows, ",%d,%d,%s,ok", fit.n, fit.distinct,
                pure_ok ? verdict(pure, pure_sd) : verdict(fit.alpha, fit.alpha_sd));
    } else {
        double xs[256];
        fputs(",nan,nan,nan,nan,nan,nan,nan", rows);
        fprintf(rows, ",%d,%d,%s,", n, distinct(x, n < 256 ? n : 256, xs),
                pure_ok ? verdict(pure, pure_sd) : "-");
        csv_field(rows, err);
    }
    csv_num_field(rows, pure);
    csv_num_field(rows, pure_sd);
    fputc('\n', rows);

    /* the line drawn: the curve with the offset, else the pure power law */
    if (ok || pure_ok) {
        PowerLawFit line = fit;
        if (!ok) {
            memset(&line, 0, sizeof line);
            line.A = pure_A;
            line.alpha = pure;
        }
        snprintf(s->curve, sizeof s->curve, "%s_fit.csv", stem);
        snprintf(path, sizeof path, "%s/%s", data_dir ? data_dir : ".", s->curve);
        if (data_dir) write_curve(path, &line, xmin, xmax);
    } else {
        s->curve[0] = '\0';
    }
    s->size = size;
    s->E = ok ? fit.E : NAN;
    s->alpha = ok ? fit.alpha : NAN;
    s->alpha_sd = ok ? fit.alpha_sd : NAN;
    s->r2 = ok ? fit.r2 : NAN;
    s->pure_alpha = pure;
    s->pure_alpha_sd = pure_sd;
    s->slope = s->slope_sd = NAN;
    /* the fewest runs at one x */
    s->seeds = 0;
    for (int i = 0; i < n; i++) {
        int c = 0;
        for (int k = 0; k < n; k++) c += x[k] == x[i];
        if (s->seeds == 0 || c < s->seeds) s->seeds = c;
    }
    /* a floor E below zero is no floor: the losses do not flatten at these sizes.
     * (Short labels: gnuplot's PNG terminal drops a key wider than its panel.) */
    if (ok)
        snprintf(s->label, sizeof s->label, "%s: \xce\xb1 = %.2f \xc2\xb1 %.2f, E = %.2f%s, R\xc2\xb2 = %.2f", who,
                 fit.alpha, fit.alpha_sd, fit.E, fit.E < 0 ? " (no floor)" : "", fit.r2);
    else if (pure_ok)
        snprintf(s->label, sizeof s->label, "%s: L \xe2\x88\x9d %s^-\xce\xb1 (no E fits), \xce\xb1 = %.3f \xc2\xb1 %.3f",
                 who, variable, pure, pure_sd);
    else
        snprintf(s->label, sizeof s->label, "%s: no fit", who);
}

/* E ... r2: L = E + A x^-alpha; loss_with_more: "lower" (pure_alpha more
 * than VERDICT_SDS standard errors above 0: bigger is better), "higher" or
 * "unclear" -- from pure_alpha, which a few sizes determine well where the
 * offset fit's alpha is loose (alpha where only the offset fit exists; "-"
 * with neither);
 * status: "ok" or why there is no offset fit; pure_alpha: Kaplan et al.'s
 * L = (x_c / x)^alpha, fitted in log-log space */
static const char *fits_header =
    "tokenizer,model,variable,size,E,E_sd,A,A_sd,alpha,alpha_sd,r2,points,sizes,loss_with_more,status,"
    "pure_alpha,pure_alpha_sd\n";

/* a figure where no series could be fitted (every model at fewer than 3
 * sizes or cuts: quick's two Transformers) shows no law: it is not drawn */
static void drop_unfitted(ScalingFigure *fig)
{
    for (int p = 0; p < fig->npanels; p++)
        for (int j = 0; j < fig->panels[p].nseries; j++)
            if (!isnan(fig->panels[p].series[j].pure_alpha)) return;
    fig->npanels = 0;
}

/* the end of a fit figure: its fits table written beside summary.csv (or
 * removed when nothing was drawn), the figure dropped if nothing was fitted */
static int finish_fits(const Experiment *e, const char *data_dir, const char *csv, ScalingFigure *fig,
                       FILE *rows, char **text, size_t *len)
{
    fclose(rows);
    drop_unfitted(fig);
    if (data_dir) write_findings(e, csv, fig->npanels ? *text : NULL, *len);
    free(*text);
    return fig->npanels;
}

/* ===================================================== loss against N ==== */

int scaling_loss_vs_params(const Experiment *e, const char *data_dir, ScalingFigure *fig)
{
    memset(fig, 0, sizeof *fig);
    char toks[SCALING_MAX_PANELS][32];
    int ntok = tokenizers(e, toks, SCALING_MAX_PANELS);
    char *text = NULL;
    size_t len = 0;
    FILE *rows = open_memstream(&text, &len);
    fputs(fits_header, rows);
    double *x = xmalloc((size_t)(e->nruns + 1) * sizeof *x), *y = xmalloc((size_t)(e->nruns + 1) * sizeof *y),
           *xs = xmalloc((size_t)(e->nruns + 1) * sizeof *xs);
    for (int t = 0; t < ntok; t++) {
        ScalingPanel *panel = &fig->panels[fig->npanels];
        memset(panel, 0, sizeof *panel);
        panel->ymin = NAN;
        panel->ymax = NAN;
        for (int m = 0; m < NMODELS; m++) {
            /* the runs of this model on the whole data, at its longest budget */
            double budget = 0;
            for (int i = 0; i < e->nruns; i++) {
                const Run *r = &e->runs[i];
                if (strcmp(r->tokenizer, toks[t]) == 0 && strcmp(r->model, MODEL_NAME(m)) == 0 && full_data(r))
                    budget = fmax(budget, run_budget(r));
            }
            int n = 0;
            for (int i = 0; i < e->nruns; i++) {
                const Run *r = &e->runs[i];
                if (strcmp(r->tokenizer, toks[t]) != 0 || strcmp(r->model, MODEL_NAME(m)) != 0 || !full_data(r) ||
                    run_budget(r) != budget || !isfinite(r->non_embedding_params) || !isfinite(r->final_val_loss))
                    continue;
                x[n] = r->non_embedding_params;
                y[n++] = r->final_val_loss;
            }
            if (n == 0 || distinct(x, n, xs) < 2 || panel->nseries == SCALING_MAX_SERIES) continue;
            char stem[96];
            snprintf(stem, sizeof stem, "nparams_%.31s_%.31s", toks[t], MODEL_NAME(m));
            fit_series(data_dir, stem, toks[t], MODEL_NAME(m), "N", NAN, x, y, NULL, n,
                       &panel->series[panel->nseries++], rows);
            range_add(&panel->ymin, &panel->ymax, y, n);
        }
        if (panel->nseries == 0) continue;
        panel_title(panel->title, sizeof panel->title, toks[t], "");
        fig->npanels++;
    }
    int drawn = finish_fits(e, data_dir, "fits_params.csv", fig, rows, &text, &len);
    free(x);
    free(y);
    free(xs);
    return drawn;
}

/* ===================================================== loss against D ==== */

int scaling_loss_vs_data(const Experiment *e, const char *data_dir, ScalingFigure *fig)
{
    memset(fig, 0, sizeof *fig);
    char toks[SCALING_MAX_PANELS][32];
    int ntok = tokenizers(e, toks, SCALING_MAX_PANELS);
    char *text = NULL;
    size_t len = 0;
    FILE *rows = open_memstream(&text, &len);
    fputs(fits_header, rows);
    int cap = e->nruns + 1;
    double *x = xmalloc((size_t)cap * sizeof *x), *y = xmalloc((size_t)cap * sizeof *y),
           *final = xmalloc((size_t)cap * sizeof *final), *xs = xmalloc((size_t)cap * sizeof *xs),
           *sizes = xmalloc((size_t)cap * sizeof *sizes);
    for (int t = 0; t < ntok; t++) {
        ScalingPanel *panel = &fig->panels[fig->npanels];
        memset(panel, 0, sizeof *panel);
        panel->ymin = NAN;
        panel->ymax = NAN;
        for (int m = 0; m < NMODELS; m++) {
            /* each size of this model is a series of its own */
            int ns = 0;
            for (int i = 0; i < e->nruns; i++) {
                const Run *r = &e->runs[i];
                if (strcmp(r->tokenizer, toks[t]) == 0 && strcmp(r->model, MODEL_NAME(m)) == 0 &&
                    isfinite(r->non_embedding_params))
                    sizes[ns++] = r->non_embedding_params;
            }
            ns = distinct(sizes, ns, sizes);
            for (int k = 0; k < ns; k++) {
                int n = 0;
                for (int i = 0; i < e->nruns; i++) {
                    const Run *r = &e->runs[i];
                    if (strcmp(r->tokenizer, toks[t]) != 0 || strcmp(r->model, MODEL_NAME(m)) != 0 ||
                        r->non_embedding_params != sizes[k] || !isfinite(r->train_tokens))
                        continue;
                    double best = best_val_loss(e, r);
                    if (!isfinite(best)) continue;
                    x[n] = r->train_tokens;
                    y[n] = best;
                    final[n++] = r->final_val_loss;
                }
                if (n == 0 || distinct(x, n, xs) < 2 || panel->nseries == SCALING_MAX_SERIES) continue;
                char stem[96];
                snprintf(stem, sizeof stem, "ndata_%.31s_%.31s_%.0f", toks[t], MODEL_NAME(m), sizes[k]);
                fit_series(data_dir, stem, toks[t], MODEL_NAME(m), "D", sizes[k], x, y, final, n,
                           &panel->series[panel->nseries++], rows);
                range_add(&panel->ymin, &panel->ymax, y, n);
                range_add(&panel->ymin, &panel->ymax, final, n);
            }
        }
        if (panel->nseries == 0) continue;
        panel_title(panel->title, sizeof panel->title, toks[t], "");
        fig->npanels++;
    }
    int drawn = finish_fits(e, data_dir, "fits_data.csv", fig, rows, &text, &len);
    free(x);
    free(y);
    free(final);
    free(xs);
    free(sizes);
    return drawn;
}

/* ==================================================== loss by position ==== */

int scaling_context(const Experiment *e, const char *data_dir, ScalingFigure *fig)
{
    memset(fig, 0, sizeof *fig);
    char toks[SCALING_MAX_PANELS][32];
    int ntok = tokenizers(e, toks, SCALING_MAX_PANELS);
    char *text = NULL;
    size_t len = 0;
    FILE *rows = open_memstream(&text, &len);
    fprintf(rows, "tokenizer,model,non_embedding_params,window,runs,from_position,slope,slope_sd,"
                  "loss_at_from,loss_at_end,status\n");
    char *pair_text = NULL;
    size_t pair_len = 0;
    FILE *pairs = open_memstream(&pair_text, &pair_len);
    fprintf(pairs, "tokenizer,model_a,model_b,from_position,slope_difference,slope_difference_sd\n");
    int *idx = xmalloc((size_t)(e->nruns + 1) * sizeof *idx);
    /* each series' mean loss by context length, for the pairs */
    double *curve[SCALING_MAX_SERIES] = {0};
    int curve_len[SCALING_MAX_SERIES] = {0};
    for (int t = 0; t < ntok; t++) {
        ScalingPanel *panel = &fig->panels[fig->npanels];
        memset(panel, 0, sizeof *panel);
        panel->ymin = NAN;
        panel->ymax = NAN;
        for (int m = 0; m < NMODELS; m++) {
            /* the largest model (then the longest budget) with a long window */
            double big = -1, budget = -1;
            for (int i = 0; i < e->nruns; i++) {
                const Run *r = &e->runs[i];
                if (strcmp(r->tokenizer, toks[t]) != 0 || strcmp(r->model, MODEL_NAME(m)) != 0 || !full_data(r) ||
                    !(r->eval_seq_len >= SCALING_CONTEXT_MIN_T) || !isfinite(r->non_embedding_params))
                    continue;
                if (r->non_embedding_params > big || (r->non_embedding_params == big && run_budget(r) > budget)) {
                    big = r->non_embedding_params;
                    budget = run_budget(r);
                }
            }
            if (big < 0) continue;
            int n = 0;
            for (int i = 0; i < e->nruns; i++) {
                const Run *r = &e->runs[i];
                if (strcmp(r->tokenizer, toks[t]) == 0 && strcmp(r->model, MODEL_NAME(m)) == 0 && full_data(r) &&
                    r->eval_seq_len >= SCALING_CONTEXT_MIN_T && r->non_embedding_params == big &&
                    run_budget(r) == budget)
                    idx[n++] = i;
            }
            /* mean over seeds of the loss at each position */
            int T = (int)e->runs[idx[0]].eval_seq_len;
            double *sum = xcalloc((size_t)T, sizeof *sum), *sum2 = xcalloc((size_t)T, sizeof *sum2);
            int *cnt = xcalloc((size_t)T, sizeof *cnt), used = 0;
            for (int k = 0; k < n; k++) {
                char path[FILE_PATH_MAX], err[512];
                run_path(path, sizeof path, e, &e->runs[idx[k]], "position_loss.csv");
                CsvTable *c = csv_read(path, err, sizeof err);
                if (!c) continue;
                int cp = csv_col(c, "position"), cl = csv_col(c, "loss");
                for (int i = 0; i < c->nrows; i++) {
                    double p = csv_num(c, i, cp), l = csv_num(c, i, cl);
                    if (!isfinite(p) || !isfinite(l) || p < 0 || p >= T) continue;
                    sum[(int)p] += l;
                    sum2[(int)p] += l * l;
                    cnt[(int)p]++;
                }
                csv_free(c);
                used++;
            }
            double *px = xmalloc((size_t)T * sizeof *px), *py = xmalloc((size_t)T * sizeof *py);
            int np = 0;
            char stem[96], path[FILE_PATH_MAX];
            snprintf(stem, sizeof stem, "context_%.31s_%.31s", toks[t], MODEL_NAME(m));
            snprintf(path, sizeof path, "%s/%s.csv", data_dir ? data_dir : ".", stem);
            FILE *f = used && data_dir ? fopen(path, "w") : NULL;
            if (used && data_dir && !f) die("cannot write '%s': %s", path, strerror(errno));
            if (f) fprintf(f, "x,loss,loss_sd,runs\n");
            for (int p = 0; p < T; p++) {
                if (!cnt[p]) continue;
                double mean = sum[p] / cnt[p];
                double var = cnt[p] > 1 ? (sum2[p] - cnt[p] * mean * mean) / (cnt[p] - 1) : 0;
                /* position p has seen p + 1 tokens */
                if (f) fprintf(f, "%d,%.10g,%.10g,%d\n", p + 1, mean, sqrt(var > 0 ? var : 0), cnt[p]);
                px[np] = p + 1;
                py[np++] = mean;
                range_add(&panel->ymin, &panel->ymax, &mean, 1);
            }
            if (f) fclose(f);
            free(sum);
            free(sum2);
            free(cnt);
            if (np > 0 && panel->nseries < SCALING_MAX_SERIES) {
                /* keep the curve: x = p + 1 is its index + 1 */
                int j = panel->nseries;
                free(curve[j]);
                curve[j] = xmalloc((size_t)T * sizeof *curve[j]);
                curve_len[j] = T;
                for (int p = 0; p < T; p++) curve[j][p] = NAN;
                for (int k = 0; k < np; k++) curve[j][(int)px[k] - 1] = py[k];
                ScalingSeries *s = &panel->series[panel->nseries++];
                s->size = big;
                s->seeds = used;
                s->E = s->alpha = s->alpha_sd = s->r2 = s->pure_alpha = s->pure_alpha_sd = NAN;
                s->slope = s->slope_sd = NAN;
                snprintf(s->model, sizeof s->model, "%s", MODEL_NAME(m));
                snprintf(s->points, sizeof s->points, "%s.csv", stem);
                double c0, slope, sd;
                char err[256];
                /* positions 64 and on: x = p + 1 >= 65 */
                fprintf(rows, "%s,%s,%.0f,%d,%d,%d", toks[t], MODEL_NAME(m), big, T, used, SCALING_CONTEXT_FROM);
                if (fit_log_slope(px, py, np, SCALING_CONTEXT_FROM + 1, &c0, &slope, &sd, err, sizeof err) == 0) {
                    snprintf(s->curve, sizeof s->curve, "%s_fit.csv", stem);
                    s->slope = slope;
                    s->slope_sd = sd;
                    snprintf(path, sizeof path, "%s/%s", data_dir ? data_dir : ".", s->curve);
                    FILE *g = data_dir ? fopen(path, "w") : NULL;
                    if (data_dir && !g) die("cannot write '%s': %s", path, strerror(errno));
                    if (g) {
                        fprintf(g, "x,loss\n%d,%.10g\n%d,%.10g\n", SCALING_CONTEXT_FROM + 1,
                                c0 + slope * log(SCALING_CONTEXT_FROM + 1.0), T, c0 + slope * log((double)T));
                        fclose(g);
                    }
                    snprintf(s->label, sizeof s->label, "%s N=%.3gk: slope beyond %d = %.3f \xc2\xb1 %.3f nats per e-fold",
                             model_info_at(m)->title, big / 1000, SCALING_CONTEXT_FROM, slope, sd);
                    csv_num_field(rows, slope);
                    csv_num_field(rows, sd);
                    csv_num_field(rows, c0 + slope * log(SCALING_CONTEXT_FROM + 1.0));
                    csv_num_field(rows, py[np - 1]);
                    fputs(",ok\n", rows);
                } else {
                    s->curve[0] = '\0';
                    snprintf(s->label, sizeof s->label, "%s N=%.3gk", model_info_at(m)->title, big / 1000);
                    fputs(",nan,nan,nan", rows);
                    csv_num_field(rows, py[np - 1]);
                    fputc(',', rows);
                    csv_field(rows, err);
                    fputc('\n', rows);
                }
            }
            free(px);
            free(py);
        }
        if (panel->nseries == 0) continue;
        /* every pair: the slope of the difference of their losses */
        for (int a = 0; a < panel->nseries; a++)
            for (int b = 0; b < panel->nseries; b++) {
                panel->pair_slope[a][b] = panel->pair_slope_sd[a][b] = NAN;
                if (a == b) continue;
                int T = curve_len[a] < curve_len[b] ? curve_len[a] : curve_len[b];
                double *dx = xmalloc((size_t)T * sizeof *dx), *dy = xmalloc((size_t)T * sizeof *dy);
                int nd = 0;
                for (int p = 0; p < T; p++)
                    if (isfinite(curve[a][p]) && isfinite(curve[b][p])) {
                        dx[nd] = p + 1;
                        dy[nd++] = curve[a][p] - curve[b][p];
                    }
                double c0, slope, sd;
                char err[256];
                if (fit_log_slope(dx, dy, nd, SCALING_CONTEXT_FROM + 1, &c0, &slope, &sd, err, sizeof err) == 0) {
                    panel->pair_slope[a][b] = slope;
                    panel->pair_slope_sd[a][b] = sd;
                    if (a < b) {
                        fprintf(pairs, "%s,%s,%s,%d", toks[t], panel->series[a].model, panel->series[b].model,
                                SCALING_CONTEXT_FROM);
                        csv_num_field(pairs, slope);
                        csv_num_field(pairs, sd);
                        fputc('\n', pairs);
                    }
                }
                free(dx);
                free(dy);
            }
        panel_title(panel->title, sizeof panel->title, toks[t], ", the largest model of each kind");
        fig->npanels++;
    }
    fclose(rows);
    fclose(pairs);
    if (data_dir) write_findings(e, "context_slopes.csv", fig->npanels ? text : NULL, len);
    if (data_dir) write_findings(e, "context_slope_pairs.csv", fig->npanels ? pair_text : NULL, pair_len);
    free(pair_text);
    for (int j = 0; j < SCALING_MAX_SERIES; j++) free(curve[j]);
    free(text);
    free(idx);
    return fig->npanels;
}

/* ====================================================== budget order ==== */

/* the mean validation loss over a model's runs at each evaluation: tokens
 * and loss, in training order; returns how many evaluations */
static int mean_val_curve(const Experiment *e, const int *idx, int n, double *tokens, double *loss, int cap)
{
    int m = 0;
    double *cnt = xcalloc((size_t)cap, sizeof *cnt);
    for (int k = 0; k < n; k++) {
        char path[FILE_PATH_MAX], err[512];
        run_path(path, sizeof path, e, &e->runs[idx[k]], "metrics.csv");
        CsvTable *c = csv_read(path, err, sizeof err);
        if (!c) continue;
        int ct = csv_col(c, "tokens"), cv = csv_col(c, "val_loss");
        for (int i = 0; i < c->nrows; i++) {
            double tk = csv_num(c, i, ct), v = csv_num(c, i, cv);
            if (!isfinite(tk) || !isfinite(v)) continue;
            int j = 0;
            while (j < m && tokens[j] != tk) j++;
            if (j == m) {
                if (m == cap) continue;
                tokens[m] = tk;
                loss[m] = 0;
                m++;
            }
            loss[j] += v;
            cnt[j]++;
        }
        csv_free(c);
    }
    /* only the evaluations every run reached */
    int kept = 0;
    for (int j = 0; j < m; j++)
        if (cnt[j] == n) {
            tokens[kept] = tokens[j];
            loss[kept++] = loss[j] / n;
        }
    free(cnt);
    return kept;
}

#define BUDGET_MAX_EVALS 4096

int scaling_budget_order(const Experiment *e, const char *data_dir, BudgetPair *pairs, int max)
{
    char toks[SCALING_MAX_PANELS][32];
    int ntok = tokenizers(e, toks, SCALING_MAX_PANELS), written = 0;
    char *text = NULL;
    size_t len = 0;
    FILE *rows = open_memstream(&text, &len);
    fprintf(rows, "tokenizer,model_a,model_b,tokens_first,ahead_first,tokens_last,ahead_last,"
                  "ahead_since_tokens,loss_a_last,loss_b_last,evaluations\n");
    int *idx = xmalloc((size_t)(e->nruns + 1) * sizeof *idx);
    static double tok_a[BUDGET_MAX_EVALS], loss_a[BUDGET_MAX_EVALS], tok_b[BUDGET_MAX_EVALS],
        loss_b[BUDGET_MAX_EVALS];
    for (int t = 0; t < ntok; t++) {
        /* the models trained at exactly one size on the whole data */
        int ok[MODELS_MAX] = {0};
        for (int m = 0; m < NMODELS; m++) {
            double first = NAN;
            int single = 1, any = 0;
            for (int i = 0; i < e->nruns; i++) {
                const Run *r = &e->runs[i];
                if (strcmp(r->tokenizer, toks[t]) != 0 || strcmp(r->model, MODEL_NAME(m)) != 0) continue;
                if (!full_data(r)) single = 0;
                if (!any++) first = r->params;
                else if (r->params != first) single = 0;
            }
            ok[m] = any && single;
        }
        for (int a = 0; a < NMODELS; a++)
            for (int b = a + 1; b < NMODELS; b++) {
                if (!ok[a] || !ok[b]) continue;
                int na = 0, nb = 0;
                for (int i = 0; i < e->nruns; i++) {
                    if (strcmp(e->runs[i].tokenizer, toks[t]) != 0) continue;
                    if (strcmp(e->runs[i].model, MODEL_NAME(a)) == 0) idx[na++] = i;
                }
                int ma = mean_val_curve(e, idx, na, tok_a, loss_a, BUDGET_MAX_EVALS);
                for (int i = 0; i < e->nruns; i++) {
                    if (strcmp(e->runs[i].tokenizer, toks[t]) != 0) continue;
                    if (strcmp(e->runs[i].model, MODEL_NAME(b)) == 0) idx[nb++] = i;
                }
                int mb = mean_val_curve(e, idx, nb, tok_b, loss_b, BUDGET_MAX_EVALS);
                /* evaluations both reached, at the same token counts */
                double tk[BUDGET_MAX_EVALS], d[BUDGET_MAX_EVALS], la = NAN, lb = NAN;
                int nc = 0;
                for (int i = 0; i < ma; i++)
                    for (int j = 0; j < mb; j++)
                        if (tok_a[i] == tok_b[j]) {
                            tk[nc] = tok_a[i];
                            d[nc++] = loss_a[i] - loss_b[j];
                            la = loss_a[i];
                            lb = loss_b[j];
                        }
                if (nc < 2) continue;
                /* the order at the end holds since the first evaluation of
                 * the final stretch with the same sign */
                int since = nc - 1;
                while (since > 0 && (d[since - 1] < 0) == (d[nc - 1] < 0)) since--;
                const char *first = d[0] < 0 ? MODEL_NAME(a) : MODEL_NAME(b);
                const char *last = d[nc - 1] < 0 ? MODEL_NAME(a) : MODEL_NAME(b);
                fprintf(rows, "%s,%s,%s,%.0f,%s,%.0f,%s,%.0f", toks[t], MODEL_NAME(a), MODEL_NAME(b), tk[0], first,
                        tk[nc - 1], last, tk[since]);
                csv_num_field(rows, la);
                csv_num_field(rows, lb);
                fprintf(rows, ",%d\n", nc);
                if (pairs && written < max) {
                    BudgetPair *bp = &pairs[written];
                    snprintf(bp->tokenizer, sizeof bp->tokenizer, "%.31s", toks[t]);
                    snprintf(bp->model_a, sizeof bp->model_a, "%.31s", MODEL_NAME(a));
                    snprintf(bp->model_b, sizeof bp->model_b, "%.31s", MODEL_NAME(b));
                    bp->tokens_first = tk[0];
                    bp->tokens_last = tk[nc - 1];
                    bp->a_ahead_first = d[0] < 0;
                    bp->a_ahead_last = d[nc - 1] < 0;
                    bp->ahead_since = tk[since];
                    bp->loss_a_last = la;
                    bp->loss_b_last = lb;
                    bp->evaluations = nc;
                    bp->seeds = na < nb ? na : nb;
                }
                written++;
            }
    }
    fclose(rows);
    if (data_dir) write_findings(e, "budget_order.csv", written ? text : NULL, len);
    free(text);
    free(idx);
    return written;
}
