/*
 * plot_curves.c — the curve figures of `seqlab plot`: loss against step and
 * time, the gradient norm, the loss at each position of the window, and the
 * gradient through time (‖∂L/∂h_t‖ against steps back).
 *
 * What this file is not: gnuplot (plot_gnuplot.c) or averaging
 * (plot_average.c); the drawing is plots/NAME.gp.
 */
#define _GNU_SOURCE
#include "plot_internal.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "registry.h"
#include "util.h"

/* ======================================== curves: figures 1, 2, 3 and 12 ==== */

/* the panels x series of one family of curve figures, averaged over seeds */
typedef struct Curves {
    Group *panels, *series;
    int npanels, nseries;
    /* per panel p and series s: rows written to data/<prefix>_p<p>_s<s>.csv */
    int rows[MAX_PANELS][64];
    int has_cols[MAX_PANELS][64][4];
} Curves;

static void curves_free(Curves *c) { free(c->panels); free(c->series); }

/* average `file` (keyed by `key`) for each panel x series, over the runs
 * whose task passes `task_ok` (NULL: every task); returns how many
 * (panel, series) pairs got data */
static int curves_make(Plot *p, Curves *c, const char *file, const char *key, const char **cols,
                       int ncols, const char *prefix, int (*task_ok)(const char *task))
{
    memset(c, 0, sizeof *c);
    int *idx = xmalloc((size_t)(p->e.nruns + 1) * sizeof *idx);
    int n = plot_runs_with_file(p, file, idx), kept = 0;
    for (int i = 0; i < n; i++)
        if (!task_ok || task_ok(p->e.runs[idx[i]].task)) idx[kept++] = idx[i];
    n = plot_keep_learning_runs(&p->e, idx, kept);
    if (n == 0) { free(idx); return 0; }
    c->npanels = groups_make(&p->e, idx, n, KEYS_PANEL, &c->panels);
    /* the longest-trained settings first: if there are too many, the short
     * ones are left out */
    for (int i = 1; i < c->npanels; i++) {
        Group tmp = c->panels[i];
        double si = GROUP_MEAN(&p->e, &tmp, steps);
        int j = i - 1;
        while (j >= 0 && GROUP_MEAN(&p->e, &c->panels[j], steps) < si) {
            c->panels[j + 1] = c->panels[j];
            j--;
        }
        c->panels[j + 1] = tmp;
    }
    c->nseries = groups_make(&p->e, idx, n, KEYS_SERIES, &c->series);
    if (c->npanels > MAX_PANELS) {
        fprintf(stderr, "seqlab plot: note: %d settings of %s; the figures show the first %d\n",
                c->npanels, file, MAX_PANELS);
        c->npanels = MAX_PANELS;
    }
    if (c->nseries > 64) c->nseries = 64;
    int pairs = 0, *both = xmalloc((size_t)n * sizeof *both);
    for (int pi = 0; pi < c->npanels; pi++)
        for (int si = 0; si < c->nseries; si++) {
            int m = plot_intersect(&c->panels[pi], &c->series[si], both);
            if (!m) continue;
            char out[PATH_MAX + 100];
            plot_sfmt(out, sizeof out, "%s/%s_p%d_s%d.csv", p->datadir, prefix, pi + 1, si + 1);
            c->rows[pi][si] = plot_average_runs(p, both, m, file, key, cols, ncols, out,
                                           c->has_cols[pi][si]);
            if (c->rows[pi][si]) pairs++;
        }
    free(both);
    free(idx);
    return pairs;
}

/* the largest finite value of column col in a CSV (-INFINITY if none) and
 * the smallest positive one (INFINITY if none): a log axis's range */
static void csv_range(const char *path, const char *col, double *lo_pos, double *hi)
{
    char err[512];
    CsvTable *t = csv_read(path, err, sizeof err);
    for (int r = 0; t && r < t->nrows; r++) {
        double v = csv_num(t, r, csv_col(t, col));
        if (!isfinite(v)) continue;
        if (v > *hi) *hi = v;
        if (v > 0 && v < *lo_pos) *lo_pos = v;
    }
    csv_free(t);
}

/* points on a line: about this many, whatever its length */
#define POINTS_PER_LINE 12

/* The legend of a curve figure names, beside each curve, only what tells it
 * apart from the curves it shares a panel with: in each panel the series
 * are labelled by the settings that vary among that panel's series of the
 * same model (groups_make over the panel's runs), so `rnn` in a panel with
 * one RNN and `rnn, no clip` / `rnn, clip 1` in the panel that compares
 * clipping.  The shared legend strip lists each distinct (model, label)
 * once; its variant (point and dash) is the label's rank among its model's
 * labels, so one label always looks the same. */
#define LEGEND_MAX 64
typedef struct LegendEntry {
    int series;                 /* a series drawn with this entry (for its clip) */
    char model[64], label[256];
} LegendEntry;
typedef struct Legend {
    int n;
    LegendEntry e[LEGEND_MAX];
} Legend;

/* the variant of (model, label) in the legend, the entry added if new */
static int legend_variant(Legend *l, const char *model, const char *label, int si)
{
    int v = 0;
    for (int k = 0; k < l->n; k++) {
        if (strcmp(l->e[k].model, model) != 0) continue;
        if (strcmp(l->e[k].label, label) == 0) return v;
        v++;
    }
    if (l->n == LEGEND_MAX) return v;
    LegendEntry *e = &l->e[l->n++];
    e->series = si;
    snprintf(e->model, sizeof e->model, "%s", model);
    snprintf(e->label, sizeof e->label, "%s", label);
    return v;
}

/* the entries in model order (rnn, lstm, gru, transformer, ...), each
 * model's in the order they appeared (insertion sort: stable) */
static void legend_sort(Legend *l)
{
    for (int i = 1; i < l->n; i++)
        for (int j = i; j > 0 && model_order(l->e[j - 1].model) > model_order(l->e[j].model); j--) {
            LegendEntry t = l->e[j];
            l->e[j] = l->e[j - 1];
            l->e[j - 1] = t;
        }
}

/* the labels, in panel pi, of the series that have data there (has[si]):
 * the series' settings that vary among that panel's series of its model */
static void panel_labels(const Plot *p, const Curves *c, int pi, const int *has, char (*label)[256])
{
    int *idx = xmalloc((size_t)(p->e.nruns + 1) * sizeof *idx), n = 0;
    int *both = xmalloc((size_t)(p->e.nruns + 1) * sizeof *both);
    for (int si = 0; si < c->nseries; si++) {
        if (!has[si]) continue;
        int m = plot_intersect(&c->panels[pi], &c->series[si], both);
        memcpy(idx + n, both, (size_t)m * sizeof *idx);
        n += m;
    }
    Group *g;
    int ng = groups_make(&p->e, idx, n, KEYS_SERIES, &g);
    for (int si = 0; si < c->nseries; si++) {
        label[si][0] = '\0';
        for (int k = 0; k < ng && has[si]; k++)
            if (strcmp(g[k].key, c->series[si].key) == 0) snprintf(label[si], sizeof label[si], "%s", g[k].label);
    }
    free(g);
    free(both);
    free(idx);
}

/* the reference lines of panel number `panel` (pi in c): chance for a
 * synthetic task; for text the unigram baseline (the entropy of the token
 * frequencies, what chance_loss is there) and a uniform guess, ln V */
static void curves_reference(const Plot *p, const Curves *c, int pi, int panel, int with_chance, Args *a)
{
    const Run *r0 = &p->e.runs[c->panels[pi].idx[0]];
    double V = GROUP_MEAN(&p->e, &c->panels[pi], vocab_size);
    plot_args_num(a, with_chance ? GROUP_MEAN(&p->e, &c->panels[pi], chance_loss) : NAN, "pchance%d", panel);
    plot_args_printf(a, "ptext%d=%d;", panel, task_is_text(r0->task));
    plot_args_num(a, with_chance && task_is_text(r0->task) && V > 1 ? log(V) : NAN, "puniform%d", panel);
}

/* the -e variables every curve script takes: panels, their lines, legend;
 * per panel the largest x (column xcol), from which the scripts space their
 * x ticks, and the smallest positive and the largest y (column ycol), for
 * log-axis ticks; per line a point interval.  Only (panel, series) pairs
 * whose column `need` has data are listed. */
static int curves_args(const Plot *p, const Curves *c, const char *prefix, int need,
                       const char *xcol, const char *ycol, Args *a, int with_chance, int *nlegend,
                       int *lcols)
{
    int panels = 0;
    Legend legend = {0};
    for (int pi = 0; pi < c->npanels; pi++) {
        int lines = 0, has[64];
        char label[64][256];
        double xmax = -INFINITY, xlo = INFINITY, ymin = INFINITY, ymax = -INFINITY;
        for (int si = 0; si < c->nseries; si++) has[si] = c->rows[pi][si] && c->has_cols[pi][si][need];
        panel_labels(p, c, pi, has, label);
        for (int si = 0; si < c->nseries; si++) {
            if (!has[si]) continue;
            lines++;
            char f[128], path[PATH_MAX + 200];
            const char *model = p->e.runs[c->series[si].idx[0]].model;
            plot_sfmt(f, sizeof f, "data/%s_p%d_s%d.csv", prefix, pi + 1, si + 1);
            plot_sfmt(path, sizeof path, "%s/%s", p->figdir, f);
            csv_range(path, xcol, &xlo, &xmax);
            csv_range(path, ycol, &ymin, &ymax);
            plot_args_printf(a, "pint%d_%d=%d;", panels + 1, lines,
                        c->rows[pi][si] > POINTS_PER_LINE ? c->rows[pi][si] / POINTS_PER_LINE : 1);
            plot_args_str(a, f, "file%d_%d", panels + 1, lines);
            plot_args_str(a, model, "model%d_%d", panels + 1, lines);
            plot_args_printf(a, "variant%d_%d=%d;", panels + 1, lines, legend_variant(&legend, model, label[si], si));
            plot_args_num(a, GROUP_MEAN(&p->e, &c->series[si], clip), "clip%d_%d", panels + 1, lines);
        }
        if (!lines) continue;
        panels++;
        plot_args_str(a, c->panels[pi].label, "ptitle%d", panels);
        plot_args_num(a, xmax > 0 ? xmax : 1, "pxmax%d", panels);
        plot_args_num(a, isfinite(ymin) ? ymin : 1, "pymin%d", panels);
        plot_args_num(a, ymax > 0 ? ymax : 1, "pymax%d", panels);
        plot_args_printf(a, "pn%d=%d;", panels, lines);
        curves_reference(p, c, pi, panels, with_chance, a);
    }
    plot_args_printf(a, "npanels=%d;", panels);
    legend_sort(&legend);
    for (int k = 0; k < legend.n; k++) {
        const LegendEntry *e = &legend.e[k];
        plot_args_str(a, e->model, "lmodel%d", k + 1);
        plot_args_printf(a, "lvariant%d=%d;", k + 1, legend_variant(&legend, e->model, e->label, e->series));
        plot_args_str(a, e->label, "llabel%d", k + 1);
        plot_args_num(a, GROUP_MEAN(&p->e, &c->series[e->series], clip), "lclip%d", k + 1);
    }
    /* three columns of legend fit 1,200 px with labels up to 30 characters */
    size_t longest = 0;
    for (int k = 0; k < legend.n; k++)
        if (strlen(legend.e[k].label) > longest) longest = strlen(legend.e[k].label);
    *lcols = longest > 30 ? 2 : 3;
    plot_args_printf(a, "nseries=%d;lcols=%d;", legend.n, *lcols);
    *nlegend = legend.n;
    return panels;
}

/* a curve figure's height for a legend of `entries` in `cols` columns, 26 px
 * a row (plots/common.gp, legend_h): taller than PLOT_HEIGHT by what the
 * legend needs beyond its usual strip, so the panels keep their size */
static int curves_height(int entries, int cols)
{
    int need = (entries + cols - 1) / cols * 26 + 34, strip = (int)(0.13 * PLOT_HEIGHT);
    return PLOT_HEIGHT + (need > strip ? need - strip : 0);
}

int plot_figures_metrics(Plot *p)
{
    static const char *cols[] = {"seconds", "train_loss", "val_loss", "grad_norm"};
    enum { COL_SECONDS, COL_TRAIN, COL_VAL, COL_GRAD };
    Curves c;
    int failed = 0;
    if (!curves_make(p, &c, "metrics.csv", "step", cols, 4, "metrics", NULL)) {
        plot_skip(p, "loss_vs_step", "no run has a metrics.csv");
        plot_skip(p, "loss_vs_time", "no run has a metrics.csv");
        plot_skip(p, "grad_norm", "no run has a metrics.csv");
        curves_free(&c);
        return 0;
    }
    Args a = {0};
    int nl, lc;
    if (curves_args(p, &c, "metrics", COL_TRAIN, "step", "train_loss", &a, 1, &nl, &lc)) {
        plot_args_str(&a, "Which model learns fastest per step?  Loss against training step", "title");
        plot_args_str(&a, "step", "xcol");
        plot_args_str(&a, "training step", "xlabel");
        failed |= plot_render(p, "loss_curves", "loss_vs_step", PLOT_WIDTH, curves_height(nl + 4, lc), &a) < 0;
        plot_args_printf(&a, "logy=1;");   /* the report's log-axis twin */
        failed |= plot_render(p, "loss_curves", "loss_vs_step_log", PLOT_WIDTH, curves_height(nl + 4, lc), &a) < 0;
    } else {
        plot_skip(p, "loss_vs_step", "metrics.csv has no train_loss values");
    }
    plot_args_free(&a);

    if (curves_args(p, &c, "metrics", COL_SECONDS, "seconds", "train_loss", &a, 1, &nl, &lc)) {
        plot_args_str(&a, "Which model learns fastest in wall-clock time?  Loss against time", "title");
        plot_args_str(&a, "seconds", "xcol");
        plot_args_str(&a, "wall-clock time (s)", "xlabel");
        failed |= plot_render(p, "loss_curves", "loss_vs_time", PLOT_WIDTH, curves_height(nl + 4, lc), &a) < 0;
        plot_args_printf(&a, "logy=1;");   /* the report's log-axis twin */
        failed |= plot_render(p, "loss_curves", "loss_vs_time_log", PLOT_WIDTH, curves_height(nl + 4, lc), &a) < 0;
    } else {
        plot_skip(p, "loss_vs_time", "metrics.csv has no seconds values");
    }
    plot_args_free(&a);

    if (curves_args(p, &c, "metrics", COL_GRAD, "step", "grad_norm", &a, 0, &nl, &lc)) {
        plot_args_str(&a, "Do gradients explode?  Global gradient norm during training", "title");
        failed |= plot_render(p, "grad_norm", "grad_norm", PLOT_WIDTH, curves_height(nl + 1, lc), &a) < 0;
    } else {
        plot_skip(p, "grad_norm", "metrics.csv has no grad_norm values");
    }
    plot_args_free(&a);
    curves_free(&c);
    return failed ? -1 : 0;
}

/* Rewrite one averaged position_loss curve (position,loss,loss_sd) as
 * position,loss: means over bins that widen with the position: 0, 1, 2, 3,
 * then [4,6), [6,8), [8,12), [12,16), ... — two bins an octave.  A single
 * position's loss averages a few thousand windows and still jitters by
 * ±0.1; the trend with context length is what the figure is for, and on a
 * log axis these bins are evenly spaced.  A bin's x is its mean position. */
static void bin_positions(const char *path)
{
    char err[512];
    CsvTable *t = csv_read(path, err, sizeof err);
    if (!t) return;
    int cp = csv_col(t, "position"), cl = csv_col(t, "loss");
    if (cp < 0 || cl < 0) { csv_free(t); return; }
    FILE *out = fopen(path, "w");
    if (!out) die("cannot write '%s': %s", path, strerror(errno));
    fprintf(out, "position,loss\n");
    int row = 0;
    for (int lo = 0; row < t->nrows;) {
        int width = lo < 4 ? 1 : (lo & (lo - 1)) == 0 ? lo / 2 : lo / 3;   /* 2^k: 2^(k-1); 1.5*2^k: 2^(k-1) */
        int hi = lo + width;
        double sx = 0, sl = 0;
        int n = 0;
        for (; row < t->nrows && csv_num(t, row, cp) < hi; row++) {
            double x = csv_num(t, row, cp), l = csv_num(t, row, cl);
            if (isfinite(x) && isfinite(l)) { sx += x; sl += l; n++; }
        }
        if (n) fprintf(out, "%.6g,%.6g\n", sx / n, sl / n);
        lo = hi;
    }
    fclose(out);
    csv_free(t);
}

int plot_figure_position_loss(Plot *p)
{
    static const char *cols[] = {"loss"};
    Curves c;
    int failed = 0;
    /* only where there is a loss at (nearly) every position: a recall run's
     * file holds one point, at the end */
    if (!curves_make(p, &c, "position_loss.csv", "position", cols, 1, "posloss",
                     task_every_position)) {
        curves_free(&c);
        return plot_skip(p, "position_loss", "no text or parity run has a position_loss.csv");
    }
    for (int pi = 0; pi < c.npanels; pi++)
        for (int si = 0; si < c.nseries; si++) {
            if (!c.rows[pi][si]) continue;
            char path[PATH_MAX + 200];
            plot_sfmt(path, sizeof path, "%s/data/posloss_p%d_s%d.csv", p->figdir, pi + 1, si + 1);
            bin_positions(path);
        }
    Args a = {0};
    int nl, lc;
    if (curves_args(p, &c, "posloss", 0, "position", "loss", &a, 1, &nl, &lc)) {
        plot_args_str(&a, "Does more context help?  Validation loss at each position of the window",
                 "title");
        failed = plot_render(p, "position_loss", "position_loss", PLOT_WIDTH, curves_height(nl + 1, lc), &a) < 0;
    } else {
        plot_skip(p, "position_loss", "position_loss.csv has no loss values");
    }
    plot_args_free(&a);
    curves_free(&c);
    return failed ? -1 : 0;
}

/* ============================== figure 4: gradient through time ==== */

/* Geometric mean over runs of ‖∂L/∂h_t‖ at each number of steps back, at the
 * first logged step (initialisation) and the last (after training), for the
 * main state (h, or x for the Transformer) and the LSTM cell c.  Writes
 * steps_back,init,trained,c_init,c_trained; returns rows (0 = no data). */
static int gradtime_average(const Plot *p, const int *idx, int n, const char *out_path,
                            double *lo, double *hi)
{
    enum { INIT, TRAINED, C_INIT, C_TRAINED, NCURVES };
    int maxback = -1, cap = 0;
    double *sum[NCURVES] = {0};
    int *cnt[NCURVES] = {0};
    for (int i = 0; i < n; i++) {
        char path[PATH_MAX + 400], err[512];
        run_path(path, sizeof path, &p->e, &p->e.runs[idx[i]], "gradients.csv");
        CsvTable *t = csv_read(path, err, sizeof err);
        if (!t) continue;
        int cs = csv_col(t, "step"), cser = csv_col(t, "series"), cb = csv_col(t, "steps_back"),
            cn = csv_col(t, "norm");
        if (cs < 0 || cser < 0 || cb < 0 || cn < 0) {
            fprintf(stderr, "seqlab plot: note: %s lacks step/series/steps_back/norm; left out\n",
                    path);
            csv_free(t);
            continue;
        }
        double first = INFINITY, last = -INFINITY;
        for (int r = 0; r < t->nrows; r++) {
            double s = csv_num(t, r, cs);
            if (isfinite(s)) { first = fmin(first, s); last = fmax(last, s); }
        }
        for (int r = 0; r < t->nrows; r++) {
            double s = csv_num(t, r, cs), b = csv_num(t, r, cb), v = csv_num(t, r, cn);
            if (!isfinite(s) || !isfinite(b) || b < 0 || !(v > 0)) continue;
            int k = (int)b, cell = strcmp(csv_str(t, r, cser), "c") == 0;
            int which;
            if (s == first) which = cell ? C_INIT : INIT;
            else if (s == last) which = cell ? C_TRAINED : TRAINED;
            else continue;
            if (k >= cap) {
                int newcap = 2 * k + 16;
                for (int c = 0; c < NCURVES; c++) {
                    sum[c] = xrealloc(sum[c], (size_t)newcap * sizeof *sum[c]);
                    cnt[c] = xrealloc(cnt[c], (size_t)newcap * sizeof *cnt[c]);
                    for (int j = cap; j < newcap; j++) { sum[c][j] = 0; cnt[c][j] = 0; }
                }
                cap = newcap;
            }
            sum[which][k] += log(v);
            cnt[which][k]++;
            if (k > maxback) maxback = k;
        }
        csv_free(t);
    }
    int rows = 0;
    if (maxback >= 0) {
        FILE *out = fopen(out_path, "w");
        if (!out) die("cannot write '%s': %s", out_path, strerror(errno));
        fprintf(out, "steps_back,init,trained,c_init,c_trained\n");
        for (int k = 0; k <= maxback; k++) {
            fprintf(out, "%d", k);
            for (int c = 0; c < NCURVES; c++) {
                if (cnt[c][k]) {
                    double g = exp(sum[c][k] / cnt[c][k]);
                    *lo = fmin(*lo, g);
                    *hi = fmax(*hi, g);
                    fprintf(out, ",%.6g", g);
                } else {
                    fprintf(out, ",nan");
                }
            }
            fprintf(out, "\n");
            rows++;
        }
        fclose(out);
    }
    for (int c = 0; c < NCURVES; c++) { free(sum[c]); free(cnt[c]); }
    return rows;
}

/* which runs say most about gradients through time: a loss at the last
 * position only (recall, adding, copy, assoc — in that order), so that the
 * gradient at step t is what reaches back from that one loss; a task with
 * a loss at every position (parity, text) only if there is nothing else,
 * since there every t is near some loss.  Lower is better. */
static int gradtime_task_rank(const char *task)
{
    static const char *order[] = {"recall", "adding", "copy", "assoc"};
    for (int i = 0; i < 4; i++)
        if (strcmp(task, order[i]) == 0) return i;
    if (task_is_text(task)) return 6;
    if (strcmp(task, "parity") == 0) return 5;
    return 4;
}

/* a model's name in a title */
static const char *model_title(const char *model)
{
    const ModelInfo *info = model_info_find(model);
    return info ? info->title : model;
}

/* how many different models the runs idx[0..n) hold */
static int count_models(const Experiment *e, const int *idx, int n)
{
    int seen[MODELS_MAX + 1] = {0}, k = 0;
    for (int i = 0; i < n; i++) {
        int o = model_order(e->runs[idx[i]].model);
        if (o == model_info_count()) {   /* an unknown model: count each name once */
            int dup = 0;
            for (int j = 0; j < i && !dup; j++)
                dup = strcmp(e->runs[idx[j]].model, e->runs[idx[i]].model) == 0;
            k += !dup;
        } else if (!seen[o]++) {
            k++;
        }
    }
    return k;
}

/* Figure 4.  The task: the best rank above; its setting: the distance (or,
 * without one, the window) that the most models were trained at, the
 * largest such.  One panel per model.  A model's lines are runs identical
 * but for the init scale (a vanilla RNN at ×0.5, ×1, ×3: vanishing and
 * exploding), each averaged over seeds; among several such sets, the one
 * with the most init scales, then clipped, then trained longest. */
/* the runs figure 4 draws, in place in idx[0..*n): the task whose loss sits
 * nearest the end (gradtime_task_rank), then the distance (or window) most
 * models have, the largest of those.  Sets *task, *rank, *has_d, *best. */
static void gradtime_pick_runs(const Plot *p, int *idx, int *n, const char **task, int *rank, int *has_d,
                               double *best)
{
    const Experiment *e = &p->e;
    *rank = INT_MAX;
    for (int i = 0; i < *n; i++) {
        int r = gradtime_task_rank(e->runs[idx[i]].task);
        if (r < *rank) *rank = r;
    }
    /* the task: the first of that rank (text tasks: the first one listed) */
    *task = NULL;
    for (int i = 0; i < *n && !*task; i++)
        if (gradtime_task_rank(e->runs[idx[i]].task) == *rank) *task = e->runs[idx[i]].task;
    int m = 0;
    for (int i = 0; i < *n; i++)
        if (strcmp(e->runs[idx[i]].task, *task) == 0) idx[m++] = idx[i];
    *n = m;
    *has_d = isfinite(e->runs[idx[0]].distance);
    size_t off = *has_d ? offsetof(Run, distance) : offsetof(Run, seq_len);
    double *vals = xmalloc((size_t)(*n + 1) * sizeof *vals);
    int *sel = xmalloc((size_t)(*n + 1) * sizeof *sel);
    int nv = plot_field_values(e, idx, *n, off, vals), best_models = 0;
    *best = NAN;
    for (int k = 0; k < nv; k++) {
        int ns = 0;
        for (int i = 0; i < *n; i++)
            if (plot_run_field(&e->runs[idx[i]], off) == vals[k]) sel[ns++] = idx[i];
        int nm = count_models(e, sel, ns);
        if (nm >= best_models) { best_models = nm; *best = vals[k]; }
    }
    m = 0;
    for (int i = 0; i < *n; i++)
        if (plot_run_field(&e->runs[idx[i]], off) == *best) idx[m++] = idx[i];
    *n = m;
    free(sel);
    free(vals);
}

/* of a model's runs, the set identical but for the init scale with the
 * most init scales (then clipped, then the most steps): the runs a panel
 * draws.  *sets is xmalloc'ed; returns the index of the chosen set. */
static int gradtime_pick_set(const Experiment *e, const Group *model, Group **sets, double *vals)
{
    /* seeds and thread counts are averaged over */
    int nsets = groups_make(e, model->idx, model->n, KEYS_SETTINGS & ~(unsigned)(KEY_INIT_SCALE | KEY_THREADS),
                            sets);
    int pick = 0, pick_inits = 0;
    double pick_clip = 0, pick_steps = -1;
    for (int si = 0; si < nsets; si++) {
        const Group *g = &(*sets)[si];
        int ninit = FIELD_VALUES(e, g->idx, g->n, init_scale, vals);
        double clipped = GROUP_MEAN(e, g, clip) != 0, steps = GROUP_MEAN(e, g, steps);
        if (!isfinite(steps)) steps = 0;
        if (ninit > pick_inits || (ninit == pick_inits && clipped > pick_clip) ||
            (ninit == pick_inits && clipped == pick_clip && steps > pick_steps)) {
            pick = si; pick_inits = ninit; pick_clip = clipped; pick_steps = steps;
        }
    }
    return pick;
}

/* one panel of figure 4 (panel number pnum): a line per init scale of the
 * model's chosen set, its own log range; returns the lines drawn */
static int gradtime_panel(Plot *p, const Group *model, int pnum, Args *a, double *T)
{
    const Experiment *e = &p->e;
    double *vals = xmalloc((size_t)(model->n + 1) * sizeof *vals), lo = INFINITY, hi = 0;
    Group *sets;
    int pick = gradtime_pick_set(e, model, &sets, vals);
    const Group *set = &sets[pick];
    int ninit = FIELD_VALUES(e, set->idx, set->n, init_scale, vals);
    if (ninit == 0) { vals[0] = NAN; ninit = 1; }   /* no init_scale column */
    int lines = 0;
    const Run *r0 = &e->runs[set->idx[0]];
    int *pick_runs = xmalloc((size_t)set->n * sizeof *pick_runs);
    for (int k = 0; k < ninit; k++) {
        int np = 0;
        for (int i = 0; i < set->n; i++) {
            double s = e->runs[set->idx[i]].init_scale;
            if (s == vals[k] || (isnan(vals[k]) && !isfinite(s))) pick_runs[np++] = set->idx[i];
        }
        char out[PATH_MAX + 100], f[96];
        plot_sfmt(f, sizeof f, "data/gradtime_%s_%d.csv", r0->model, k + 1);
        plot_sfmt(out, sizeof out, "%s/%s", p->figdir, f);
        int rows = gradtime_average(p, pick_runs, np, out, &lo, &hi);
        if (!rows) continue;
        lines++;
        if (rows - 1 > *T) *T = rows - 1;
        plot_args_str(a, f, "file%d_%d", pnum, lines);
        char lab[96];
        if (isfinite(vals[k])) plot_sfmt(lab, sizeof lab, "%s, init \xc3\x97%g", r0->model, vals[k]);
        else plot_sfmt(lab, sizeof lab, "%s", r0->model);
        plot_args_str(a, lab, "label%d_%d", pnum, lines);
    }
    if (lines) {
        const ModelInfo *info = model_info_find(r0->model);
        const char *state = info ? info->grad_series : "h";
        plot_args_printf(a, "pn%d=%d;", pnum, lines);
        plot_args_str(a, r0->model, "model%d", pnum);
        plot_args_str(a, model_title(r0->model), "ptitle%d", pnum);
        plot_args_str(a, state, "state%d", pnum);
        /* each panel its own log range (whole decades): a model whose
         * gradient barely changes is not a flat line at the top of a range
         * set by another model's vanishing one */
        plot_args_num(a, pow(10, floor(log10(lo))), "ymin%d", pnum);
        plot_args_num(a, pow(10, ceil(log10(hi)) + (ceil(log10(hi)) == floor(log10(lo)))), "ymax%d", pnum);
    }
    free(pick_runs);
    free(sets);
    free(vals);
    return lines;
}

int plot_figure_grad_through_time(Plot *p)
{
    const char *base = "grad_through_time";
    const Experiment *e = &p->e;
    int *idx = xmalloc((size_t)(e->nruns + 1) * sizeof *idx);
    int n = plot_keep_learning_runs(e, idx, plot_runs_with_file(p, "gradients.csv", idx));
    if (!n) { free(idx); return plot_skip(p, base, "no learning run has a gradients.csv"); }
    const char *task;
    int rank, has_d;
    double best;
    gradtime_pick_runs(p, idx, &n, &task, &rank, &has_d, &best);
    Group *models;
    int nm = groups_make(e, idx, n, KEY_MODEL, &models);
    Args a = {0};
    int panels = 0, any_variants = 0;
    double T = 0;
    for (int mi = 0; mi < nm && panels < MAX_PANELS; mi++) {
        int lines = gradtime_panel(p, &models[mi], panels + 1, &a, &T);
        if (!lines) continue;
        panels++;
        any_variants |= lines > 1;
    }
    int rc = 0;
    if (!panels) {
        rc = plot_skip(p, base, "gradients.csv files have no positive norms");
    } else {
        int last_only = rank < 4 && strcmp(task, "copy") != 0;
        char sub[300];
        if (has_d && last_only)
            plot_sfmt(sub, sizeof sub, "%s d=%g: one loss, at the last position only", task, best);
        else if (has_d)
            plot_sfmt(sub, sizeof sub, "%s d=%g: the loss sits at the end of the window", task, best);
        else   /* no run with a loss at the end only; T as logged (eval_seq_len) */
            plot_sfmt(sub, sizeof sub, "%s T=%g: a loss at every position, so every t is near one",
                 task, T + 1);
        plot_args_str(&a, sub, "subtitle");
        plot_args_str(&a, last_only ? "steps back from the loss (T - 1 - t)"
                               : "steps back from the end of the window (T - 1 - t)", "xlabel");
        plot_args_printf(&a, "npanels=%d;any_variants=%d;", panels, any_variants);
        plot_args_num(&a, T, "xmax");
        plot_args_str(&a, "Do gradients vanish through time?  Gradient norm against steps back", "title");
        rc = plot_render(p, "grad_through_time", base, PLOT_WIDTH, PLOT_HEIGHT, &a) < 0 ? -1 : 0;
    }
    plot_args_free(&a);
    free(models);
    free(idx);
    return rc;
}
