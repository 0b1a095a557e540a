/*
 * plot.c — `seqlab plot`: every figure of one experiment.
 *
 * For each figure kind this file (1) picks the runs that have its data,
 * (2) averages over seeds in C (mean ± sd, gsl_stats) into small CSVs in
 * figures/data/, and (3) runs gnuplot on plots/<kind>.gp twice, for PNG
 * (pngcairo) and SVG, passing the file names, labels and models as `-e`
 * variables.  The scripts read CSV columns by name and own every visual
 * choice; colours per model are fixed in plots/common.gp.
 *
 * A figure without data is skipped with one line on stderr, and an old copy
 * of it is removed.  gnuplot writes NAME.png.part and seqlab renames it only
 * if gnuplot succeeded and the file is not empty, so there is never a
 * half-drawn figure on disk.
 *
 * What this file is not: the report page (report.c) or the drawing itself
 * (plots/NAME.gp).
 */
#define _GNU_SOURCE
#include "plot.h"

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

#include "plot_data.h"
#include "registry.h"
#include "util.h"

/* more panels than this make unreadable slides; the rest are left out */
#define MAX_PANELS 6
/* attention maps with more tokens than these get smaller tick labels
 * (the heatmap is ~800 px across: 64 cells of 12 px still hold a 10 pt letter) */
#define ATTN_BIG_T 32
#define ATTN_HUGE_T 64

const PlotFigure plot_figures[] = {
    {"loss_vs_step", "Loss against training step, one panel per task setting: dashed lines are "
                     "training loss, solid lines (with points) validation loss, averaged over "
                     "seeds; the dotted line is chance. Lower is better; a gap between dashed "
                     "and solid means overfitting. Runs far shorter than the rest (a timing "
                     "grid) are left out."},
    {"loss_vs_time", "The same losses against wall-clock seconds: a model that learns more per "
                     "step can still lose if each step costs more."},
    {"grad_norm", "Global gradient norm (before clipping) on a log scale, one panel per task "
                  "setting. Spikes are exploding gradients. A model's second setting (such as "
                  "rnn, no clip) is the thinner line with points: compare it with the clipped "
                  "run, whose threshold is the dotted line."},
    {"grad_through_time", "How much of the loss gradient reaches back k steps, one panel per "
                          "model, log scale (the same range in every panel), at initialisation "
                          "(dashed) and after training (solid). The runs are those whose loss "
                          "sits at the last position only (recall, else adding or copy, at the "
                          "largest distance), so each curve starts at that one loss. A straight "
                          "falling line is exponential vanishing, a rising one exploding; an RNN "
                          "run at several init scales gets one shade per scale. Compare how "
                          "steeply each curve falls: gates (the LSTM's cell c, the GRU) can keep "
                          "a path open, and attention reaches every position in one step."},
    {"accuracy_vs_distance", "Accuracy (mean ± sd over seeds) as the distance to remember "
                             "grows; the dotted line is chance. Where a model's line falls to "
                             "chance, it no longer carries the information that far."},
    {"speed_vs_seq_len", "Time per training step and tokens per second as the window T grows, "
                         "log-log. Each line joins runs identical but for T (the settings under "
                         "the title). Recurrent models must take T sequential steps; the "
                         "Transformer computes all positions at once but pays T² in attention."},
    {"memory_vs_seq_len", "Peak process memory and the activation memory kept for backward, "
                          "log-log, for the same runs, with O(T) and O(T²) guide lines: "
                          "recurrent models grow like T, attention like T²."},
    {"posenc", "The positional-encoding table added to the token embedding: one row per "
               "position, one column per dimension. Low dimensions change quickly, high ones "
               "slowly, so every position gets a distinct pattern."},
    {"perplexity", "Validation perplexity (mean ± sd over seeds; lower is better): the number "
                   "of tokens the model is, in effect, choosing between."},
    {"threads", "Training throughput with 1 and 2 threads (paler: fewer), from runs identical "
                "but for the thread count, at the longest window run with both (the settings "
                "under the title): how much each model gains from a second core. Work spread "
                "over T positions at once parallelises better than a chain of T small steps."},
    {"position_loss", "Validation loss at each position of the window, for the tasks with a "
                      "target at every position (text, parity): position t has seen t + 1 "
                      "tokens, so early positions have little context (log axis; positions "
                      "averaged in bins, 2048 windows). How fast a line falls shows how quickly "
                      "each model uses its context; where it goes flat, more context stops "
                      "helping that model."},
    {"quality_vs_length", "Translation quality against source length (Bahdanau et al. 2015, "
                          "Fig. 2): exact match (reverse, dates) or corpus BLEU (translate) of "
                          "greedy decoding on the test pairs, mean ± sd over seeds, per bucket of "
                          "source length; dashed lines are the recurrent models with additive "
                          "attention. Without attention one vector must carry the whole source, "
                          "and the line falls as sources grow; with attention it should hold."},
};
const int plot_nfigures = sizeof plot_figures / sizeof plot_figures[0];

/* ====================================================== the plot state ==== */

typedef struct Plot {
    Experiment e;
    char figdir[PATH_MAX];    /* where the figures go (absolute) */
    char datadir[PATH_MAX];   /* figdir/data: the averaged CSVs */
    char plotdir[PATH_MAX];   /* the gnuplot scripts (absolute) */
    int drawn, skipped;
} Plot;

/* snprintf for paths and names: a result that does not fit is a user error
 * (an absurdly long path), reported rather than silently cut */
static void sfmt(char *out, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void sfmt(char *out, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int len = vsnprintf(out, n, fmt, ap);
    va_end(ap);
    if (len < 0 || (size_t)len >= n) die("path or name too long: '%.80s...'", out);
}

/* gnuplot's `-e` variables, built up as one string "a=1;b='x';" */
typedef struct Args {
    char *s;
    size_t len, cap;
} Args;

static void args_printf(Args *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void args_printf(Args *a, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(a->s ? a->s + a->len : NULL, a->s ? a->cap - a->len : 0, fmt, ap);
        va_end(ap);
        if (a->s && (size_t)n < a->cap - a->len) { a->len += (size_t)n; return; }
        a->cap = 2 * (a->cap + (size_t)n + 64);
        a->s = xrealloc(a->s, a->cap);
        if (a->len == 0) a->s[0] = '\0';
    }
}

/* name='value' — gnuplot single-quoted strings escape ' as '' */
static void args_str(Args *a, const char *value, const char *namefmt, ...)
    __attribute__((format(printf, 3, 4)));
static void args_str(Args *a, const char *value, const char *namefmt, ...)
{
    char name[64];
    va_list ap;
    va_start(ap, namefmt);
    vsnprintf(name, sizeof name, namefmt, ap);
    va_end(ap);
    args_printf(a, "%s='", name);
    for (const char *c = value; *c; c++) {
        if (*c == '\'') args_printf(a, "''");
        else if (*c == '\n' || *c == '\r') args_printf(a, " ");
        else args_printf(a, "%c", *c);
    }
    args_printf(a, "';");
}

/* name=number (NaN stays gnuplot's NaN) */
static void args_num(Args *a, double value, const char *namefmt, ...)
    __attribute__((format(printf, 3, 4)));
static void args_num(Args *a, double value, const char *namefmt, ...)
{
    char name[64];
    va_list ap;
    va_start(ap, namefmt);
    vsnprintf(name, sizeof name, namefmt, ap);
    va_end(ap);
    if (isfinite(value)) args_printf(a, "%s=%.17g;", name, value);
    else args_printf(a, "%s=NaN;", name);
}

static void args_free(Args *a) { free(a->s); a->s = NULL; a->len = a->cap = 0; }

static int file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static void remove_figure(const Plot *p, const char *base)
{
    char path[PATH_MAX + 300];
    sfmt(path, sizeof path, "%s/%s.png", p->figdir, base);
    unlink(path);
    sfmt(path, sizeof path, "%s/%s.svg", p->figdir, base);
    unlink(path);
}

/* one line on stderr, remove any stale copy; returns 0 (not an error) */
static int skip(Plot *p, const char *base, const char *why)
{
    fprintf(stderr, "seqlab plot: %s: skipping %s: %s\n", p->e.name, base, why);
    remove_figure(p, base);
    p->skipped++;
    return 0;
}

/* ============================================================= gnuplot ==== */

static const char *gnuplot_path(void)
{
    const char *env = getenv("SEQLAB_GNUPLOT");
    return env && *env ? env : "gnuplot";
}

int plot_gnuplot_available(void)
{
    const char *g = gnuplot_path();
    if (strchr(g, '/')) return access(g, X_OK) == 0;
    const char *path = getenv("PATH");
    if (!path) return 0;
    char *copy = xstrdup(path), *save = NULL;
    int found = 0;
    for (char *d = strtok_r(copy, ":", &save); d && !found; d = strtok_r(NULL, ":", &save)) {
        char full[PATH_MAX + 16];
        sfmt(full, sizeof full, "%s/%s", *d ? d : ".", g);
        found = access(full, X_OK) == 0;
    }
    free(copy);
    return found;
}

/* gnuplot -e COMMANDS, in directory dir; returns its exit status or -1 */
static int gnuplot_run(const char *dir, const char *commands)
{
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0) { dup2(devnull, STDIN_FILENO); close(devnull); }
        if (chdir(dir) != 0) _exit(126);
        execlp(gnuplot_path(), gnuplot_path(), "-e", commands, (char *)NULL);
        _exit(127);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* draw figure `base` with plots/<script>.gp as PNG and SVG of w x h pixels:
 * one gnuplot process loads the script twice, once per format (common.gp
 * starts with `reset`, so nothing carries over).  1 drawn, -1 failed (message
 * on stderr, no file left behind). */
static int render(Plot *p, const char *script, const char *base, int w, int h, const Args *vars)
{
    char script_path[PATH_MAX + 64];
    sfmt(script_path, sizeof script_path, "%s/%s.gp", p->plotdir, script);
    static const char *formats[] = {"png", "svg"};
    char part[2][PATH_MAX + 300], final[2][PATH_MAX + 300];
    Args a = {0};
    args_num(&a, w, "W");
    args_num(&a, h, "H");
    args_str(&a, p->plotdir, "plotdir");
    args_str(&a, p->e.name, "expname");
    args_printf(&a, "%s", vars && vars->s ? vars->s : "");
    for (int f = 0; f < 2; f++) {
        sfmt(part[f], sizeof part[f], "%s/%s.%s.part", p->figdir, base, formats[f]);
        sfmt(final[f], sizeof final[f], "%s/%s.%s", p->figdir, base, formats[f]);
        args_str(&a, formats[f], "fmt");
        args_str(&a, part[f], "outfile");
        args_str(&a, script_path, "script");
        args_printf(&a, "load script;");
    }
    const char *verbose = getenv("SEQLAB_PLOT_VERBOSE");
    if (verbose && *verbose)   /* to rerun a figure by hand */
        fprintf(stderr, "cd '%s' && %s -e \"%s\"\n", p->figdir, gnuplot_path(), a.s);
    int rc = gnuplot_run(p->figdir, a.s);
    args_free(&a);
    int ok = rc == 0;
    for (int f = 0; f < 2 && ok; f++) {
        struct stat st;
        ok = stat(part[f], &st) == 0 && st.st_size > 0;
    }
    if (!ok) {
        fprintf(stderr, "seqlab plot: %s: gnuplot failed on %s (exit %d) drawing %s\n",
                p->e.name, script_path, rc, base);
        for (int f = 0; f < 2; f++) unlink(part[f]);
        remove_figure(p, base);
        return -1;
    }
    for (int f = 0; f < 2; f++)
        if (rename(part[f], final[f]) != 0) {
            fprintf(stderr, "seqlab plot: cannot rename %s: %s\n", part[f], strerror(errno));
            unlink(part[f]);
            return -1;
        }
    p->drawn++;
    return 1;
}

/* ====================================================== averaging runs ==== */

/* Average, over the runs idx[0..n), the named columns of each run's `file`
 * (a CSV with a key column such as step or position), matching rows by the
 * key.  Writes a CSV key,col1,col1_sd,... to out_path.  has[c] counts the
 * rows where column c has a finite mean.  Returns rows written (0 = no run
 * had the file; nothing is written then). */
static int average_runs(const Plot *p, const int *idx, int n, const char *file, const char *key,
                        const char **cols, int ncols, const char *out_path, int *has)
{
    CsvTable **t = xcalloc((size_t)(n > 0 ? n : 1), sizeof *t);
    int nt = 0, ref = -1;
    for (int i = 0; i < n; i++) {
        char path[PATH_MAX + 400], err[512];
        run_path(path, sizeof path, &p->e, &p->e.runs[idx[i]], file);
        if (!file_exists(path)) continue;
        CsvTable *c = csv_read(path, err, sizeof err);
        if (!c || csv_col(c, key) < 0 || c->nrows == 0) {
            if (c) fprintf(stderr, "seqlab plot: note: %s has no '%s' rows; left out\n", path, key);
            else fprintf(stderr, "seqlab plot: note: %s; left out\n", err);
            csv_free(c);
            continue;
        }
        if (ref < 0 || c->nrows > t[ref]->nrows) ref = nt;
        t[nt++] = c;
    }
    for (int c = 0; c < ncols; c++) has[c] = 0;
    if (nt == 0) { free(t); return 0; }

    FILE *out = fopen(out_path, "w");
    if (!out) die("cannot write '%s': %s", out_path, strerror(errno));
    fprintf(out, "%s", key);
    for (int c = 0; c < ncols; c++) fprintf(out, ",%s,%s_sd", cols[c], cols[c]);
    fprintf(out, "\n");
    int *cursor = xcalloc((size_t)nt, sizeof *cursor);
    double *vals = xmalloc((size_t)nt * sizeof *vals);
    int rows = 0;
    const CsvTable *r = t[ref];
    for (int row = 0; row < r->nrows; row++) {
        double k = csv_num(r, row, csv_col(r, key));
        if (!isfinite(k)) continue;
        fprintf(out, "%.10g", k);
        /* the row of each table with the same key (files are in key order) */
        int *match = xmalloc((size_t)nt * sizeof *match);
        for (int i = 0; i < nt; i++) {
            int kc = csv_col(t[i], key);
            match[i] = -1;
            for (int j = cursor[i]; j < t[i]->nrows; j++)
                if (csv_num(t[i], j, kc) == k) { match[i] = j; cursor[i] = j + 1; break; }
        }
        for (int c = 0; c < ncols; c++) {
            for (int i = 0; i < nt; i++)
                vals[i] = match[i] < 0 ? NAN : csv_num(t[i], match[i], csv_col(t[i], cols[c]));
            double mean, sd;
            int m = stats_mean_sd(vals, nt, &mean, &sd);
            if (m) { fprintf(out, ",%.10g,%.10g", mean, sd); has[c]++; }
            else fprintf(out, ",nan,nan");
        }
        free(match);
        fprintf(out, "\n");
        rows++;
    }
    fclose(out);
    free(cursor);
    free(vals);
    for (int i = 0; i < nt; i++) csv_free(t[i]);
    free(t);
    return rows;
}

/* indices of the runs that have `file` in their folder; returns the count */
static int runs_with_file(const Plot *p, const char *file, int *idx)
{
    int n = 0;
    for (int i = 0; i < p->e.nruns; i++) {
        char path[PATH_MAX + 400];
        run_path(path, sizeof path, &p->e, &p->e.runs[i], file);
        if (file_exists(path)) idx[n++] = i;
    }
    return n;
}

/* Short runs (a timing grid of a dozen steps) say nothing about learning:
 * the learning figures keep the runs trained for at least this fraction of
 * the longest run's step budget (a run that stopped early, solved, counts
 * by its budget). */
#define LEARNING_STEPS_FRACTION 0.5

/* filter idx[0..n) in place to the learning runs; returns the new count */
static int keep_learning_runs(const Experiment *e, int *idx, int n)
{
    double most = 0;
    for (int i = 0; i < n; i++)
        if (run_budget(&e->runs[idx[i]]) > most) most = run_budget(&e->runs[idx[i]]);
    if (!(most > 0)) return n;          /* no step counts: keep them all */
    int m = 0;
    for (int i = 0; i < n; i++) {
        double s = run_budget(&e->runs[idx[i]]);
        if (!isfinite(s) || s >= LEARNING_STEPS_FRACTION * most) idx[m++] = idx[i];
    }
    return m;
}

/* the runs in both a and b */
static int intersect(const Group *a, const Group *b, int *out)
{
    int n = 0;
    for (int i = 0; i < a->n; i++)
        for (int j = 0; j < b->n; j++)
            if (a->idx[i] == b->idx[j]) { out[n++] = a->idx[i]; break; }
    return n;
}

/* which variant of its model series g[i] is: 0 for the first series of a
 * model, 1 for the second ...  The scripts keep the model's colour and
 * change the point shape or dash for each variant. */
static int series_variant(const Experiment *e, const Group *g, int i)
{
    int v = 0;
    for (int k = 0; k < i; k++)
        v += strcmp(e->runs[g[k].idx[0]].model, e->runs[g[i].idx[0]].model) == 0;
    return v;
}

/* mean of a summary field over a group's runs (NAN if none is finite) */
static double group_mean(const Experiment *e, const Group *g, size_t field_offset)
{
    double *x = xmalloc((size_t)g->n * sizeof *x), mean, sd;
    for (int i = 0; i < g->n; i++)
        x[i] = *(const double *)((const char *)&e->runs[g->idx[i]] + field_offset);
    stats_mean_sd(x, g->n, &mean, &sd);
    free(x);
    return mean;
}
#define GROUP_MEAN(e, g, field) group_mean((e), (g), offsetof(Run, field))

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* sort v and drop repeats; returns the new length */
static int distinct_sorted(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    int m = 0;
    for (int i = 0; i < n; i++)
        if (m == 0 || v[i] != v[m - 1]) v[m++] = v[i];
    return m;
}

/* the distinct finite values of a Run field over runs idx[0..n) */
static int field_values(const Experiment *e, const int *idx, int n, size_t off, double *v)
{
    int m = 0;
    for (int i = 0; i < n; i++) {
        double x = *(const double *)((const char *)&e->runs[idx[i]] + off);
        if (isfinite(x)) v[m++] = x;
    }
    return distinct_sorted(v, m);
}
#define FIELD_VALUES(e, idx, n, field, v) field_values((e), (idx), (n), offsetof(Run, field), (v))

static double run_field(const Run *r, size_t off) { return *(const double *)((const char *)r + off); }

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
    int n = runs_with_file(p, file, idx), kept = 0;
    for (int i = 0; i < n; i++)
        if (!task_ok || task_ok(p->e.runs[idx[i]].task)) idx[kept++] = idx[i];
    n = keep_learning_runs(&p->e, idx, kept);
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
            int m = intersect(&c->panels[pi], &c->series[si], both);
            if (!m) continue;
            char out[PATH_MAX + 100];
            sfmt(out, sizeof out, "%s/%s_p%d_s%d.csv", p->datadir, prefix, pi + 1, si + 1);
            c->rows[pi][si] = average_runs(p, both, m, file, key, cols, ncols, out,
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

/* the -e variables every curve script takes: panels, their lines, legend;
 * per panel the largest x (column xcol), from which the scripts space their
 * x ticks, and the smallest positive and the largest y (column ycol), for
 * log-axis ticks; per line a point interval.  Only (panel, series) pairs
 * whose column `need` has data are listed. */
static int curves_args(const Plot *p, const Curves *c, const char *prefix, int need,
                       const char *xcol, const char *ycol, Args *a, int with_chance)
{
    int panels = 0;
    int used[64] = {0};
    for (int pi = 0; pi < c->npanels; pi++) {
        int lines = 0;
        double xmax = -INFINITY, xlo = INFINITY, ymin = INFINITY, ymax = -INFINITY;
        for (int si = 0; si < c->nseries; si++) {
            if (!c->rows[pi][si] || !c->has_cols[pi][si][need]) continue;
            lines++;
            char f[128], path[PATH_MAX + 200];
            sfmt(f, sizeof f, "data/%s_p%d_s%d.csv", prefix, pi + 1, si + 1);
            sfmt(path, sizeof path, "%s/%s", p->figdir, f);
            csv_range(path, xcol, &xlo, &xmax);
            csv_range(path, ycol, &ymin, &ymax);
            args_printf(a, "pint%d_%d=%d;", panels + 1, lines,
                        c->rows[pi][si] > POINTS_PER_LINE ? c->rows[pi][si] / POINTS_PER_LINE : 1);
            args_str(a, f, "file%d_%d", panels + 1, lines);
            args_str(a, p->e.runs[c->series[si].idx[0]].model, "model%d_%d", panels + 1, lines);
            args_printf(a, "variant%d_%d=%d;", panels + 1, lines, series_variant(&p->e, c->series, si));
            args_num(a, GROUP_MEAN(&p->e, &c->series[si], clip), "clip%d_%d", panels + 1, lines);
            used[si] = 1;
        }
        if (!lines) continue;
        panels++;
        args_str(a, c->panels[pi].label, "ptitle%d", panels);
        args_num(a, xmax > 0 ? xmax : 1, "pxmax%d", panels);
        args_num(a, isfinite(ymin) ? ymin : 1, "pymin%d", panels);
        args_num(a, ymax > 0 ? ymax : 1, "pymax%d", panels);
        args_printf(a, "pn%d=%d;", panels, lines);
        args_num(a, with_chance ? GROUP_MEAN(&p->e, &c->panels[pi], chance_loss) : NAN,
                 "pchance%d", panels);
    }
    args_printf(a, "npanels=%d;", panels);
    int ns = 0;
    for (int si = 0; si < c->nseries; si++) {
        if (!used[si]) continue;
        ns++;
        args_str(a, p->e.runs[c->series[si].idx[0]].model, "lmodel%d", ns);
        args_printf(a, "lvariant%d=%d;", ns, series_variant(&p->e, c->series, si));
        args_str(a, c->series[si].label, "llabel%d", ns);
        args_num(a, GROUP_MEAN(&p->e, &c->series[si], clip), "lclip%d", ns);
    }
    args_printf(a, "nseries=%d;", ns);
    return panels;
}

static int figures_metrics(Plot *p)
{
    static const char *cols[] = {"seconds", "train_loss", "val_loss", "grad_norm"};
    enum { COL_SECONDS, COL_TRAIN, COL_VAL, COL_GRAD };
    Curves c;
    int failed = 0;
    if (!curves_make(p, &c, "metrics.csv", "step", cols, 4, "metrics", NULL)) {
        skip(p, "loss_vs_step", "no run has a metrics.csv");
        skip(p, "loss_vs_time", "no run has a metrics.csv");
        skip(p, "grad_norm", "no run has a metrics.csv");
        curves_free(&c);
        return 0;
    }
    Args a = {0};
    if (curves_args(p, &c, "metrics", COL_TRAIN, "step", "train_loss", &a, 1)) {
        args_str(&a, "Which model learns fastest per step?  Loss against training step", "title");
        args_str(&a, "step", "xcol");
        args_str(&a, "training step", "xlabel");
        failed |= render(p, "loss_curves", "loss_vs_step", PLOT_WIDTH, PLOT_HEIGHT, &a) < 0;
    } else {
        skip(p, "loss_vs_step", "metrics.csv has no train_loss values");
    }
    args_free(&a);

    if (curves_args(p, &c, "metrics", COL_SECONDS, "seconds", "train_loss", &a, 1)) {
        args_str(&a, "Which model learns fastest in wall-clock time?  Loss against time", "title");
        args_str(&a, "seconds", "xcol");
        args_str(&a, "wall-clock time (s)", "xlabel");
        failed |= render(p, "loss_curves", "loss_vs_time", PLOT_WIDTH, PLOT_HEIGHT, &a) < 0;
    } else {
        skip(p, "loss_vs_time", "metrics.csv has no seconds values");
    }
    args_free(&a);

    if (curves_args(p, &c, "metrics", COL_GRAD, "step", "grad_norm", &a, 0)) {
        args_str(&a, "Do gradients explode?  Global gradient norm during training", "title");
        failed |= render(p, "grad_norm", "grad_norm", PLOT_WIDTH, PLOT_HEIGHT, &a) < 0;
    } else {
        skip(p, "grad_norm", "metrics.csv has no grad_norm values");
    }
    args_free(&a);
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

static int figure_position_loss(Plot *p)
{
    static const char *cols[] = {"loss"};
    Curves c;
    int failed = 0;
    /* only where there is a loss at (nearly) every position: a recall run's
     * file holds one point, at the end */
    if (!curves_make(p, &c, "position_loss.csv", "position", cols, 1, "posloss",
                     task_every_position)) {
        curves_free(&c);
        return skip(p, "position_loss", "no text or parity run has a position_loss.csv");
    }
    for (int pi = 0; pi < c.npanels; pi++)
        for (int si = 0; si < c.nseries; si++) {
            if (!c.rows[pi][si]) continue;
            char path[PATH_MAX + 200];
            sfmt(path, sizeof path, "%s/data/posloss_p%d_s%d.csv", p->figdir, pi + 1, si + 1);
            bin_positions(path);
        }
    Args a = {0};
    if (curves_args(p, &c, "posloss", 0, "position", "loss", &a, 1)) {
        args_str(&a, "Does more context help?  Validation loss at each position of the window",
                 "title");
        failed = render(p, "position_loss", "position_loss", PLOT_WIDTH, PLOT_HEIGHT, &a) < 0;
    } else {
        skip(p, "position_loss", "position_loss.csv has no loss values");
    }
    args_free(&a);
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
    int seen[MODELS_MAX] = {0}, k = 0;
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
static int figure_grad_through_time(Plot *p)
{
    const char *base = "grad_through_time";
    const Experiment *e = &p->e;
    int *idx = xmalloc((size_t)(e->nruns + 1) * sizeof *idx);
    int n = runs_with_file(p, "gradients.csv", idx);
    if (!n) { free(idx); return skip(p, base, "no run has a gradients.csv"); }
    int rank = INT_MAX;
    for (int i = 0; i < n; i++) {
        int r = gradtime_task_rank(e->runs[idx[i]].task);
        if (r < rank) rank = r;
    }
    /* the task: the first of that rank (text tasks: the first one listed) */
    const char *task = NULL;
    for (int i = 0; i < n && !task; i++)
        if (gradtime_task_rank(e->runs[idx[i]].task) == rank) task = e->runs[idx[i]].task;
    int m = 0;
    for (int i = 0; i < n; i++)
        if (strcmp(e->runs[idx[i]].task, task) == 0) idx[m++] = idx[i];
    n = m;
    /* the distance (or window) most models have, the largest of those */
    int has_d = isfinite(e->runs[idx[0]].distance);
    size_t off = has_d ? offsetof(Run, distance) : offsetof(Run, seq_len);
    double *vals = xmalloc((size_t)(n + 1) * sizeof *vals), best = NAN;
    int nv = field_values(e, idx, n, off, vals), best_models = 0;
    int *sel = xmalloc((size_t)(n + 1) * sizeof *sel);
    for (int k = 0; k < nv; k++) {
        int ns = 0;
        for (int i = 0; i < n; i++)
            if (run_field(&e->runs[idx[i]], off) == vals[k]) sel[ns++] = idx[i];
        int nm = count_models(e, sel, ns);
        if (nm >= best_models) { best_models = nm; best = vals[k]; }
    }
    m = 0;
    for (int i = 0; i < n; i++)
        if (run_field(&e->runs[idx[i]], off) == best) idx[m++] = idx[i];
    n = m;

    Group *models;
    int nm = groups_make(e, idx, n, KEY_MODEL, &models);
    Args a = {0};
    int panels = 0, any_variants = 0;
    double lo = INFINITY, hi = 0, T = 0;
    for (int mi = 0; mi < nm && panels < MAX_PANELS; mi++) {
        /* sets of runs identical but for the init scale (seeds and thread
         * counts are averaged over) */
        Group *sets;
        int nsets = groups_make(e, models[mi].idx, models[mi].n,
                                KEYS_SETTINGS & ~(unsigned)(KEY_INIT_SCALE | KEY_THREADS), &sets);
        int pick = 0, pick_inits = 0;
        double pick_clip = 0, pick_steps = -1;
        for (int si = 0; si < nsets; si++) {
            int ninit = FIELD_VALUES(e, sets[si].idx, sets[si].n, init_scale, vals);
            double clipped = GROUP_MEAN(e, &sets[si], clip) != 0, steps = GROUP_MEAN(e, &sets[si], steps);
            if (!isfinite(steps)) steps = 0;
            if (ninit > pick_inits || (ninit == pick_inits && clipped > pick_clip) ||
                (ninit == pick_inits && clipped == pick_clip && steps > pick_steps)) {
                pick = si; pick_inits = ninit; pick_clip = clipped; pick_steps = steps;
            }
        }
        const Group *set = &sets[pick];
        int ninit = FIELD_VALUES(e, set->idx, set->n, init_scale, vals);
        if (ninit == 0) { vals[0] = NAN; ninit = 1; }   /* no init_scale column */
        int lines = 0, pnum = panels + 1;
        const Run *r0 = &e->runs[set->idx[0]];
        for (int k = 0; k < ninit; k++) {
            int *pick_runs = xmalloc((size_t)set->n * sizeof *pick_runs), np = 0;
            for (int i = 0; i < set->n; i++) {
                double s = e->runs[set->idx[i]].init_scale;
                if (s == vals[k] || (isnan(vals[k]) && !isfinite(s))) pick_runs[np++] = set->idx[i];
            }
            char out[PATH_MAX + 100], f[96];
            sfmt(f, sizeof f, "data/gradtime_%s_%d.csv", r0->model, k + 1);
            sfmt(out, sizeof out, "%s/%s", p->figdir, f);
            int rows = gradtime_average(p, pick_runs, np, out, &lo, &hi);
            free(pick_runs);
            if (!rows) continue;
            lines++;
            if (rows - 1 > T) T = rows - 1;
            args_str(&a, f, "file%d_%d", pnum, lines);
            char lab[96];
            if (isfinite(vals[k])) sfmt(lab, sizeof lab, "%s, init \xc3\x97%g", r0->model, vals[k]);
            else sfmt(lab, sizeof lab, "%s", r0->model);
            args_str(&a, lab, "label%d_%d", pnum, lines);
        }
        free(sets);
        if (!lines) continue;
        panels++;
        any_variants |= lines > 1;
        args_printf(&a, "pn%d=%d;", pnum, lines);
        args_str(&a, r0->model, "model%d", pnum);
        args_str(&a, model_title(r0->model), "ptitle%d", pnum);
        const ModelInfo *info = model_info_find(r0->model);
        args_str(&a, info ? info->grad_series : "h", "state%d", pnum);
    }
    int rc = 0;
    if (!panels) {
        rc = skip(p, base, "gradients.csv files have no positive norms");
    } else {
        int last_only = rank < 4 && strcmp(task, "copy") != 0;
        char sub[300];
        if (has_d && last_only)
            sfmt(sub, sizeof sub, "%s d=%g: one loss, at the last position only", task, best);
        else if (has_d)
            sfmt(sub, sizeof sub, "%s d=%g: the loss sits at the end of the window", task, best);
        else   /* no run with a loss at the end only; T as logged (eval_seq_len) */
            sfmt(sub, sizeof sub, "%s T=%g: a loss at every position, so every t is near one",
                 task, T + 1);
        args_str(&a, sub, "subtitle");
        args_str(&a, last_only ? "steps back from the loss (T - 1 - t)"
                               : "steps back from the end of the window (T - 1 - t)", "xlabel");
        args_printf(&a, "npanels=%d;any_variants=%d;", panels, any_variants);
        args_num(&a, T, "xmax");
        /* one log-scale range for every panel, so heights compare across models */
        args_num(&a, pow(10, floor(log10(lo))), "ymin");
        args_num(&a, pow(10, ceil(log10(hi))), "ymax");
        args_str(&a, "Do gradients vanish through time?  Gradient norm against steps back", "title");
        rc = render(p, "grad_through_time", base, PLOT_WIDTH, PLOT_HEIGHT, &a) < 0 ? -1 : 0;
    }
    args_free(&a);
    free(models);
    free(sel);
    free(vals);
    free(idx);
    return rc;
}

/* ======================== figure 5: accuracy against distance ==== */

/* For the runs idx[0..n), at each distinct value of field `xoff`, the mean
 * and sd of the fields in yoffs.  Writes x,<names>,<names>_sd...; returns
 * rows; has[c] counts finite means of field c. */
static int table_by(const Experiment *e, const int *idx, int n, size_t xoff, const char *xname,
                    const size_t *yoffs, const char **ynames, int ny, const char *out_path, int *has)
{
    double *xs = xmalloc((size_t)(n + 1) * sizeof *xs), *vals = xmalloc((size_t)(n + 1) * sizeof *vals);
    int nx = field_values(e, idx, n, xoff, xs);
    for (int c = 0; c < ny; c++) has[c] = 0;
    FILE *out = fopen(out_path, "w");
    if (!out) die("cannot write '%s': %s", out_path, strerror(errno));
    fprintf(out, "%s", xname);
    for (int c = 0; c < ny; c++) fprintf(out, ",%s,%s_sd", ynames[c], ynames[c]);
    fprintf(out, ",n\n");
    for (int k = 0; k < nx; k++) {
        fprintf(out, "%.10g", xs[k]);
        int count = 0;
        for (int c = 0; c < ny; c++) {
            int m = 0;
            for (int i = 0; i < n; i++)
                if (run_field(&e->runs[idx[i]], xoff) == xs[k])
                    vals[m++] = run_field(&e->runs[idx[i]], yoffs[c]);
            double mean, sd;
            int f = stats_mean_sd(vals, m, &mean, &sd);
            if (f > count) count = f;
            if (f) { fprintf(out, ",%.10g,%.10g", mean, sd); has[c]++; }
            else fprintf(out, ",nan,nan");
        }
        fprintf(out, ",%d\n", count);
    }
    fclose(out);
    free(xs);
    free(vals);
    return nx;
}

static int figure_accuracy_vs_distance(Plot *p)
{
    const char *base = "accuracy_vs_distance";
    const Experiment *e = &p->e;
    int *idx = xmalloc((size_t)(e->nruns + 1) * sizeof *idx), n = 0;
    double *v = xmalloc((size_t)(e->nruns + 1) * sizeof *v);
    for (int i = 0; i < e->nruns; i++)
        if (isfinite(e->runs[i].distance)) idx[n++] = i;
    n = keep_learning_runs(e, idx, n);
    Group *panels = NULL, *series = NULL;
    int np = n ? groups_make(e, idx, n, KEY_TASK | KEY_TOKENIZER | KEY_INIT_SCALE, &panels) : 0;
    int ns = n ? groups_make(e, idx, n, KEYS_SERIES, &series) : 0;
    Args a = {0};
    int drawn_panels = 0, used[64] = {0}, *both = xmalloc((size_t)(n + 1) * sizeof *both);
    for (int pi = 0; pi < np && drawn_panels < MAX_PANELS; pi++) {
        if (FIELD_VALUES(e, panels[pi].idx, panels[pi].n, distance, v) < 2) continue;
        /* classification: accuracy; regression (adding): final loss / chance loss */
        int accuracy = isfinite(GROUP_MEAN(e, &panels[pi], val_accuracy));
        size_t yoff = accuracy ? offsetof(Run, val_accuracy) : offsetof(Run, final_val_loss);
        if (!accuracy && !isfinite(GROUP_MEAN(e, &panels[pi], final_val_loss))) continue;
        int pnum = drawn_panels + 1, lines = 0;
        for (int si = 0; si < ns && si < 64; si++) {
            int m = intersect(&panels[pi], &series[si], both);
            if (!m) continue;
            char f[128], out[PATH_MAX + 200];
            sfmt(f, sizeof f, "data/distance_p%d_s%d.csv", pnum, si + 1);
            sfmt(out, sizeof out, "%s/%s", p->figdir, f);
            static const char *names[] = {"value", "chance_accuracy", "final_val_loss", "chance_loss"};
            size_t offs[] = {yoff, offsetof(Run, chance_accuracy), offsetof(Run, final_val_loss),
                             offsetof(Run, chance_loss)};
            int has[4];
            table_by(e, both, m, offsetof(Run, distance), "distance", offs, names, 4, out, has);
            if (!has[0]) continue;
            lines++;
            used[si] = 1;
            args_str(&a, f, "file%d_%d", pnum, lines);
            args_str(&a, e->runs[series[si].idx[0]].model, "model%d_%d", pnum, lines);
            args_printf(&a, "variant%d_%d=%d;", pnum, lines, series_variant(e, series, si));
        }
        if (!lines) continue;
        drawn_panels++;
        args_printf(&a, "pn%d=%d;", pnum, lines);
        args_str(&a, panels[pi].label, "ptitle%d", pnum);
        args_printf(&a, "paccuracy%d=%d;", pnum, accuracy);
    }
    int rc;
    if (!drawn_panels) {
        rc = skip(p, base, "needs runs at two or more distances with val_accuracy or final_val_loss");
    } else {
        args_printf(&a, "npanels=%d;", drawn_panels);
        int k = 0;
        for (int si = 0; si < ns && si < 64; si++) {
            if (!used[si]) continue;
            k++;
            args_str(&a, e->runs[series[si].idx[0]].model, "lmodel%d", k);
            args_printf(&a, "lvariant%d=%d;", k, series_variant(e, series, si));
            args_str(&a, series[si].label, "llabel%d", k);
        }
        args_printf(&a, "nseries=%d;", k);
        args_str(&a, "How far back can each model remember?  Accuracy against distance", "title");
        rc = render(p, "accuracy_vs_distance", base, PLOT_WIDTH, PLOT_HEIGHT, &a) < 0 ? -1 : 0;
    }
    args_free(&a);
    free(both);
    free(panels);
    free(series);
    free(v);
    free(idx);
    return rc;
}

/* ============= figures 6 and 7: time and memory against window length ==== */

/* the settings a model may have of its own inside one comparison: a
 * Transformer's layers and positions, a per-model hidden size */
#define KEYS_MODEL_OWN (KEY_MODEL | KEY_POSITIONS | KEY_HIDDEN | KEY_LAYERS)

/* "chars, batch 8, 12 steps, 1 thread": the settings every run of a
 * comparison shares, for its subtitle (`but` names the ones it varies) */
static void shared_settings(const Experiment *e, const int *idx, int n, unsigned but, char *out,
                            size_t cap)
{
    const Run *r = &e->runs[idx[0]];
    size_t l = 0;
    out[0] = '\0';
#define ADD(...) do { if (l < cap) l += (size_t)snprintf(out + l, cap - l, __VA_ARGS__); } while (0)
    ADD("%s", r->task);
    if (r->tokenizer[0] && strcmp(r->tokenizer, r->task) != 0) ADD(" (%s tokens)", r->tokenizer);
    if (!(but & KEY_DISTANCE) && isfinite(r->distance)) ADD(" d=%g", r->distance);
    if (!(but & KEY_SEQ_LEN) && isfinite(r->seq_len)) ADD(", T=%g", r->seq_len);
    if (isfinite(r->batch_size)) ADD(", batch %g", r->batch_size);
    double h = r->hidden_size;
    for (int i = 1; i < n; i++)
        if (e->runs[idx[i]].hidden_size != h) h = NAN;
    if (isfinite(h)) ADD(", H=%g", h);
    if (isfinite(run_budget(r))) ADD(", %g steps", run_budget(r));
    if (!(but & KEY_THREADS) && isfinite(r->threads))
        ADD(", %g thread%s", r->threads, r->threads == 1 ? "" : "s");
#undef ADD
}

/* Figures 6 and 7.  Only runs identical but for the window T (and the seed)
 * share a line: a T=64 point from a 400-step, batch-32 run beside 12-step,
 * batch-8 runs would be a spike that says nothing about T.  The runs of one
 * figure are identical but for T and the model's own settings; of those
 * sets, the one with the most window lengths (then the most lines, then the
 * fewest threads) is drawn; a line with a single point is left out. */
static int figures_scaling(Plot *p)
{
    const Experiment *e = &p->e;
    int *idx = xmalloc((size_t)(e->nruns + 1) * sizeof *idx), n = 0;
    double *v = xmalloc((size_t)(e->nruns + 1) * sizeof *v);
    for (int i = 0; i < e->nruns; i++) {
        const Run *r = &e->runs[i];
        if (isfinite(r->seq_len) && (isfinite(r->step_ms) || isfinite(r->tokens_per_s) ||
                                     isfinite(r->act_mb) || isfinite(r->peak_rss_mb)))
            idx[n++] = i;
    }
    const unsigned set_mask = KEYS_SETTINGS & ~(unsigned)(KEY_SEQ_LEN | KEYS_MODEL_OWN);
    const unsigned line_mask = KEYS_SETTINGS & ~(unsigned)KEY_SEQ_LEN;
    Group *sets = NULL;
    int nsets = n ? groups_make(e, idx, n, set_mask, &sets) : 0, pick = -1;
    int best_T = 1, best_lines = 0;
    double best_threads = INFINITY;
    for (int si = 0; si < nsets; si++) {
        Group *lines;
        int nl = groups_make(e, sets[si].idx, sets[si].n, line_mask, &lines), good = 0, m = 0;
        for (int li = 0; li < nl; li++) {
            if (FIELD_VALUES(e, lines[li].idx, lines[li].n, seq_len, v) < 2) continue;
            good++;
            for (int i = 0; i < lines[li].n; i++) idx[m++] = lines[li].idx[i];
        }
        free(lines);
        int nT = m ? FIELD_VALUES(e, idx, m, seq_len, v) : 0;
        double th = GROUP_MEAN(e, &sets[si], threads);
        if (!isfinite(th)) th = 0;
        if (nT > best_T || (nT == best_T && good > best_lines) ||
            (nT == best_T && good == best_lines && th < best_threads)) {
            pick = si; best_T = nT; best_lines = good; best_threads = th;
        }
    }
    int rc = 0;
    if (pick < 0) {
        const char *why = "needs runs identical but for seq_len at two or more values";
        skip(p, "speed_vs_seq_len", why);
        skip(p, "memory_vs_seq_len", why);
        goto done;
    }
    Group *series;
    int ns = groups_make(e, sets[pick].idx, sets[pick].n, line_mask, &series);
    Args a = {0};
    static const char *names[] = {"step_ms", "tokens_per_s", "act_mb", "peak_rss_mb"};
    const size_t offs[] = {offsetof(Run, step_ms), offsetof(Run, tokens_per_s),
                           offsetof(Run, act_mb), offsetof(Run, peak_rss_mb)};
    /* which columns have data: counts per column.  (Plain doubles on purpose:
     * gcc 12 -O2 turned `int x[4] = {0}` here into MMX code without EMMS,
     * which leaves the x87 stack dirty and makes GSL's long-double means NaN.) */
    double any[4] = {0, 0, 0, 0};
    int k = 0, m = 0;
    double T0 = INFINITY;
    for (int s = 0; s < ns && k < 12; s++) {
        if (FIELD_VALUES(e, series[s].idx, series[s].n, seq_len, v) < 2) continue;
        char f[128], out[PATH_MAX + 200];
        sfmt(f, sizeof f, "data/scaling_s%d.csv", k + 1);
        sfmt(out, sizeof out, "%s/%s", p->figdir, f);
        int has[4];
        table_by(e, series[s].idx, series[s].n, offsetof(Run, seq_len), "seq_len", offs, names, 4,
                 out, has);
        k++;
        for (int c = 0; c < 4; c++) any[c] += has[c] > 0 ? 1.0 : 0.0;
        args_str(&a, f, "file%d", k);
        args_str(&a, e->runs[series[s].idx[0]].model, "model%d", k);
        args_printf(&a, "variant%d=%d;", k, series_variant(e, series, s));
        args_str(&a, series[s].label, "label%d", k);
        if (v[0] < T0) T0 = v[0];
        for (int i = 0; i < series[s].n; i++) idx[m++] = series[s].idx[i];
    }
    args_printf(&a, "nseries=%d;", k);
    /* the guide lines start from the mean (geometric) of the values at the
     * shortest window */
    double log_act = 0, log_peak = 0, n_act = 0, n_peak = 0;
    for (int i = 0; i < m; i++) {
        const Run *r = &e->runs[idx[i]];
        if (r->seq_len != T0) continue;
        if (r->act_mb > 0) { log_act += log(r->act_mb); n_act++; }
        if (r->peak_rss_mb > 0) { log_peak += log(r->peak_rss_mb); n_peak++; }
    }
    args_num(&a, T0, "T0");
    args_num(&a, n_act ? exp(log_act / n_act) : NAN, "act0");
    args_num(&a, n_peak ? exp(log_peak / n_peak) : NAN, "peak0");
    char setting[400];
    shared_settings(e, idx, m, KEY_SEQ_LEN, setting, sizeof setting);
    args_str(&a, setting, "setting");
    args_printf(&a, "has_time=%d;has_tps=%d;has_act=%d;has_peak=%d;", any[0] > 0, any[1] > 0,
                any[2] > 0, any[3] > 0);
    Args b = {0};
    args_printf(&b, "%s", a.s);
    args_str(&a, "What does a longer window cost in time?", "title");
    if (any[0] || any[1])
        rc |= render(p, "speed_vs_seq_len", "speed_vs_seq_len", PLOT_WIDTH, PLOT_HEIGHT, &a) < 0;
    else
        skip(p, "speed_vs_seq_len", "summary.csv has no step_ms or tokens_per_s values");
    args_str(&b, "What does a longer window cost in memory?", "title");
    if (any[2] || any[3])
        rc |= render(p, "memory_vs_seq_len", "memory_vs_seq_len", PLOT_WIDTH, PLOT_HEIGHT, &b) < 0;
    else
        skip(p, "memory_vs_seq_len", "summary.csv has no act_mb or peak_rss_mb values");
    args_free(&a);
    args_free(&b);
    free(series);
done:
    free(sets);
    free(v);
    free(idx);
    return rc ? -1 : 0;
}

/* ========================= figure 10: perplexity per model (bars) ==== */

/* '("label0" 0, "label1" 1, ...)', the value of an xticsdef argument (the
 * caller writes the name): the bar groups' names, which the bar scripts
 * `eval` into `set xtics`; labels may hold commas, which a CSV column could
 * not */
static void xtics_args(Args *a, const Group *g, int n)
{
    args_printf(a, "'(");
    for (int k = 0; k < n; k++) {
        args_printf(a, "%s\"", k ? ", " : "");
        for (const char *c = g[k].label; *c; c++)
            if (*c == '\'') args_printf(a, "''");          /* inside the '' string */
            else if (*c == '"' || *c == '\\') args_printf(a, "\\%c", *c);
            else args_printf(a, "%c", *c);
        args_printf(a, "\" %d", k);
    }
    args_printf(a, ")';");
}

/* most bars a slide can hold */
#define MAX_BARS 16

/* Figure 10: one panel per task (words and characters differ in scale by
 * twenty), one bar per model setting, mean ± sd over seeds. */
static int figure_perplexity(Plot *p)
{
    const char *base = "perplexity";
    const Experiment *e = &p->e;
    int *idx = xmalloc((size_t)(e->nruns + 1) * sizeof *idx), n = 0;
    for (int i = 0; i < e->nruns; i++)
        if (isfinite(e->runs[i].val_perplexity) && task_is_text(e->runs[i].task)) idx[n++] = i;
    n = keep_learning_runs(e, idx, n);
    if (!n) { free(idx); return skip(p, base, "no text-task run has a val_perplexity"); }
    Group *panels;
    int np = groups_make(e, idx, n, KEY_TASK | KEY_TOKENIZER, &panels);
    if (np > MAX_PANELS) np = MAX_PANELS;
    Args a = {0};
    double *v = xmalloc((size_t)n * sizeof *v);
    for (int pi = 0; pi < np; pi++) {
        Group *g;
        int ng = groups_make(e, panels[pi].idx, panels[pi].n, KEYS_SERIES | KEYS_PANEL, &g);
        if (ng > MAX_BARS) {
            fprintf(stderr, "seqlab plot: note: %d settings with a perplexity on %s; the figure shows %d\n", ng,
                    panels[pi].label, MAX_BARS);
            ng = MAX_BARS;
        }
        char f[64], path[PATH_MAX + 100];
        sfmt(f, sizeof f, "perplexity_p%d.csv", pi + 1);
        sfmt(path, sizeof path, "%s/%s", p->datadir, f);
        FILE *out = fopen(path, "w");
        if (!out) die("cannot write '%s': %s", path, strerror(errno));
        fprintf(out, "x,model,mean,sd,n\n");
        size_t longest = 0;
        int any_sd = 0;
        for (int k = 0; k < ng; k++) {
            for (int i = 0; i < g[k].n; i++) v[i] = e->runs[g[k].idx[i]].val_perplexity;
            double mean, sd;
            int m = stats_mean_sd(v, g[k].n, &mean, &sd);
            any_sd |= sd > 0;
            fprintf(out, "%d,%s,%.10g,%.10g,%d\n", k, e->runs[g[k].idx[0]].model, mean, sd, m);
            if (strlen(g[k].label) > longest) longest = strlen(g[k].label);
        }
        fclose(out);
        char dataf[80];
        sfmt(dataf, sizeof dataf, "data/%s", f);
        args_str(&a, dataf, "file%d", pi + 1);
        args_str(&a, panels[pi].label, "ptitle%d", pi + 1);
        args_printf(&a, "nbars%d=%d;rotate%d=%d;has_sd%d=%d;", pi + 1, ng, pi + 1,
                    (int)(ng * longest * np > 60), pi + 1, any_sd);
        args_printf(&a, "xticsdef%d=", pi + 1);
        xtics_args(&a, g, ng);
        free(g);
    }
    args_printf(&a, "npanels=%d;", np);
    args_str(&a, "Which model predicts held-out text best?  Validation perplexity", "title");
    int rc = render(p, "perplexity", base, PLOT_WIDTH, PLOT_HEIGHT, &a) < 0 ? -1 : 0;
    args_free(&a);
    free(v);
    free(panels);
    free(idx);
    return rc;
}

/* ==================== figure 11: throughput with 1 and 2 threads ==== */

/* Figure 11.  Bars of one model side by side, one per thread count, from
 * runs identical but for the thread count (and the seed); the runs of the
 * figure are identical but for threads and the model's own settings.  Of
 * those sets: the most thread counts, then the longest window (where the
 * work per step is largest), then the most models. */
static int figure_threads(Plot *p)
{
    const char *base = "threads";
    const Experiment *e = &p->e;
    int *idx = xmalloc((size_t)(e->nruns + 1) * sizeof *idx), n = 0;
    double *v = xmalloc((size_t)(e->nruns + 1) * sizeof *v);
    for (int i = 0; i < e->nruns; i++)
        if (isfinite(e->runs[i].threads) && isfinite(e->runs[i].tokens_per_s)) idx[n++] = i;
    const unsigned set_mask = KEYS_SETTINGS & ~(unsigned)(KEY_THREADS | KEYS_MODEL_OWN);
    const unsigned bar_mask = KEYS_SETTINGS & ~(unsigned)KEY_THREADS;
    Group *settings = NULL;
    int ns = n ? groups_make(e, idx, n, set_mask, &settings) : 0, pick = -1, most = 1;
    int pick_models = 0;
    double pick_T = -1;
    for (int s = 0; s < ns; s++) {
        Group *bars;
        int nb = groups_make(e, settings[s].idx, settings[s].n, bar_mask, &bars), good = 0, m = 0;
        for (int b = 0; b < nb; b++) {
            if (FIELD_VALUES(e, bars[b].idx, bars[b].n, threads, v) < 2) continue;
            good++;
            for (int i = 0; i < bars[b].n; i++) idx[m++] = bars[b].idx[i];
        }
        free(bars);
        int k = m ? FIELD_VALUES(e, idx, m, threads, v) : 0;
        double T = GROUP_MEAN(e, &settings[s], seq_len);
        if (!isfinite(T)) T = 0;
        if (k > most || (k == most && pick >= 0 && T > pick_T) ||
            (k == most && pick >= 0 && T == pick_T && good > pick_models)) {
            most = k; pick = s; pick_T = T; pick_models = good;
        }
    }
    if (pick < 0) {
        free(settings); free(v); free(idx);
        return skip(p, base, "needs runs identical but for the thread count, at two or more");
    }
    /* the bars: the models (with their own settings) run at several counts */
    Group *all;
    int na = groups_make(e, settings[pick].idx, settings[pick].n, bar_mask, &all), nm = 0, nr = 0;
    Group *models = xcalloc((size_t)na, sizeof *models);
    for (int b = 0; b < na; b++) {
        if (FIELD_VALUES(e, all[b].idx, all[b].n, threads, v) < 2) continue;
        models[nm++] = all[b];
        for (int i = 0; i < all[b].n; i++) idx[nr++] = all[b].idx[i];
    }
    free(all);
    if (nm > MAX_BARS) nm = MAX_BARS;
    double levels[8];
    int nl = FIELD_VALUES(e, idx, nr, threads, v);
    if (nl > 8) nl = 8;
    memcpy(levels, v, (size_t)nl * sizeof *levels);
    char setting[400];
    shared_settings(e, idx, nr, KEY_THREADS, setting, sizeof setting);
    char path[PATH_MAX + 100];
    sfmt(path, sizeof path, "%s/threads.csv", p->datadir);
    FILE *out = fopen(path, "w");
    if (!out) die("cannot write '%s': %s", path, strerror(errno));
    fprintf(out, "x,group,level,threads,model,mean,sd,n\n");
    /* bars of one model side by side, one per thread count */
    double width = 0.8 / nl;
    int any_sd = 0;
    Args a = {0};
    args_printf(&a, "xticsdef=");
    xtics_args(&a, models, nm);
    for (int m = 0; m < nm; m++) {
        for (int l = 0; l < nl; l++) {
            int k = 0;
            for (int i = 0; i < models[m].n; i++)
                if (e->runs[models[m].idx[i]].threads == levels[l])
                    v[k++] = e->runs[models[m].idx[i]].tokens_per_s;
            double mean, sd;
            int cnt = stats_mean_sd(v, k, &mean, &sd);
            if (!cnt) continue;
            any_sd |= sd > 0;
            fprintf(out, "%.6g,%d,%d,%g,%s,%.10g,%.10g,%d\n", m + (l - (nl - 1) / 2.0) * width, m,
                    l + 1, levels[l], e->runs[models[m].idx[0]].model, mean, sd, cnt);
        }
    }
    fclose(out);
    args_str(&a, "data/threads.csv", "file");
    args_printf(&a, "nlevels=%d;ngroups=%d;barwidth=%g;has_sd=%d;", nl, nm, width * 0.95, any_sd);
    for (int l = 0; l < nl; l++) args_num(&a, levels[l], "level%d", l + 1);
    args_str(&a, setting, "setting");
    args_str(&a, "Does a second thread help?", "title");
    int rc = render(p, "threads", base, PLOT_WIDTH, PLOT_HEIGHT, &a) < 0 ? -1 : 0;
    args_free(&a);
    free(models);
    free(settings);
    free(v);
    free(idx);
    return rc;
}

/* ====================================== figure 8: attention heatmaps ==== */

/* a token as a tick label gnuplot reads back from a CSV header: no comma,
 * quote or blank; invisible characters made visible */
static void token_label(const char *tok, char *out, size_t n)
{
    size_t o = 0;
    out[0] = '\0';
    for (const unsigned char *c = (const unsigned char *)tok; *c && o + 8 < n; c++) {
        const char *rep = NULL;
        char one[2] = {(char)*c, 0};
        switch (*c) {
        case ' ': rep = "\xe2\x90\xa3"; break;   /* ␣ */
        case '\n': rep = "\xe2\x86\xb5"; break;  /* ↵ */
        case '\t': rep = "\xe2\x87\xa5"; break;  /* ⇥ */
        case ',': rep = "\xe2\x80\x9a"; break;   /* ‚ */
        case '"': rep = "\xe2\x80\x9d"; break;   /* ” */
        case '\'': rep = "\xe2\x80\x99"; break;  /* ’ */
        default: rep = *c < 0x20 || *c == 0x7f ? "\xc2\xb7" : one; /* · */
        }
        o += (size_t)snprintf(out + o, n - o, "%s", rep);
    }
    if (!out[0]) snprintf(out, n, "\xe2\x88\x85"); /* ∅ */
}

/* name usable in a file name: letters, digits, - _ . kept, others become _ */
static void safe_name(const char *s, char *out, size_t n)
{
    size_t o = 0;
    for (; *s && o + 1 < n; s++)
        out[o++] = (isalnum((unsigned char)*s) || *s == '-' || *s == '_' || *s == '.') ? *s : '_';
    out[o] = '\0';
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* names in dir (not starting with '.'), sorted; *out xmalloc'ed */
static int list_dir(const char *dir, char ***out)
{
    DIR *d = opendir(dir);
    *out = NULL;
    if (!d) return 0;
    int n = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.') continue;
        if (n == cap) { cap = cap ? 2 * cap : 16; *out = xrealloc(*out, (size_t)cap * sizeof **out); }
        (*out)[n++] = xstrdup(de->d_name);
    }
    closedir(d);
    if (n) qsort(*out, (size_t)n, sizeof **out, name_cmp);
    return n;
}

static void list_free(char **names, int n)
{
    for (int i = 0; i < n; i++) free(names[i]);
    free(names);
}

/* how many characters of the sentence an attention map's title shows */
#define ATTN_TITLE_CHARS 40

/* one map: rewrite L<l>_H<h>.csv with safe labels, draw it as
 * attention_<label>_L<l>_H<h> (attention_L<l>_H<h> when in_name is 0),
 * titled with the layer, the head and the sentence */
static int attention_one(Plot *p, const char *src, const char *label, const char *sentence,
                         int in_name, int layer, int head)
{
    char base[300], err[600], sl[200];
    safe_name(label, sl, sizeof sl);
    if (in_name) sfmt(base, sizeof base, PLOT_ATTENTION_PREFIX "%s_L%d_H%d", sl, layer, head);
    else sfmt(base, sizeof base, PLOT_ATTENTION_PREFIX "L%d_H%d", layer, head);
    CsvTable *t = csv_read(src, err, sizeof err);
    int T = t ? t->ncols - 1 : 0;
    if (!t || T < 1 || t->nrows < 1) {
        csv_free(t);
        return skip(p, base, t ? "the attention CSV has no weights" : err);
    }
    char f[400], out[PATH_MAX + 400];
    sfmt(f, sizeof f, "data/%s.csv", base);
    sfmt(out, sizeof out, "%s/%s", p->figdir, f);
    FILE *o = fopen(out, "w");
    if (!o) die("cannot write '%s': %s", out, strerror(errno));
    char lab[128];
    size_t longest = 0;
    for (int k = 0; k < T; k++) {
        token_label(t->header[k + 1], lab, sizeof lab);
        fprintf(o, ",%s", lab);
        size_t chars = 0;   /* characters, not bytes: a one-character ␣ stays upright */
        for (const char *c = lab; *c; c++) chars += ((unsigned char)*c & 0xC0) != 0x80;
        if (chars > longest) longest = chars;
    }
    fprintf(o, "\n");
    for (int q = 0; q < t->nrows; q++) {
        token_label(csv_str(t, q, 0), lab, sizeof lab);
        fprintf(o, "%s", lab);
        for (int k = 0; k < T; k++) {
            double w = csv_num(t, q, k + 1);
            fprintf(o, ",%.6g", isfinite(w) ? w : 0.0);
        }
        fprintf(o, "\n");
    }
    fclose(o);
    Args a = {0};
    args_str(&a, f, "file");
    args_printf(&a, "T=%d;Q=%d;ticfont=%d;rotate=%d;", T, t->nrows,
                T <= 16 ? 16 : T <= ATTN_BIG_T ? 13 : T <= ATTN_HUGE_T ? 10 : 8, longest > 2);
    char title[400];
    sfmt(title, sizeof title, "layer %d, head %d: \"%s\"", layer, head, sentence);
    args_str(&a, title, "title");
    int rc = render(p, "attention", base, PLOT_HEATMAP_WIDTH, PLOT_HEATMAP_HEIGHT, &a) < 0 ? -1 : 0;
    args_free(&a);
    csv_free(t);
    return rc;
}

/* every L<l>_H<h>.csv in dir; returns how many maps there were, or -1 if
 * one failed to draw */
static int attention_maps(Plot *p, const char *dir, const char *label, int in_name)
{
    /* the sentence the maps are of, from tokens.txt beside them; else
     * "sentence N" for a folder sN, else the folder's name */
    char tokens[PATH_MAX + 16], sentence[256];
    sfmt(tokens, sizeof tokens, "%s/tokens.txt", dir);
    int num, used = 0;
    if (attention_sentence(tokens, ATTN_TITLE_CHARS, sentence, sizeof sentence) != 0) {
        if (sscanf(label, "s%d%n", &num, &used) == 1 && label[used] == '\0')
            sfmt(sentence, sizeof sentence, "sentence %d", num);
        else
            sfmt(sentence, sizeof sentence, "%.200s", label);
    }
    char **files;
    int nf = list_dir(dir, &files), maps = 0, failed = 0;
    for (int j = 0; j < nf; j++) {
        int layer, head;
        used = 0;
        if (sscanf(files[j], "L%d_H%d.csv%n", &layer, &head, &used) != 2 || files[j][used] != '\0')
            continue;
        char src[PATH_MAX + 600];
        sfmt(src, sizeof src, "%s/%s", dir, files[j]);
        maps++;
        if (attention_one(p, src, label, sentence, in_name, layer, head) < 0) failed = 1;
    }
    list_free(files, nf);
    return failed ? -1 : maps;
}

static int figures_attention(Plot *p)
{
    /* old maps go first: the set of maps may have changed */
    char **old;
    int nold = list_dir(p->figdir, &old);
    for (int i = 0; i < nold; i++)
        if (strncmp(old[i], PLOT_ATTENTION_PREFIX, strlen(PLOT_ATTENTION_PREFIX)) == 0) {
            char path[PATH_MAX + 300];
            sfmt(path, sizeof path, "%s/%s", p->figdir, old[i]);
            unlink(path);
        }
    list_free(old, nold);

    char dir[PATH_MAX];
    sfmt(dir, sizeof dir, "%s/attention", p->e.dir);
    char **labels;
    int nlab = list_dir(dir, &labels), maps = 0, rc = 0;
    for (int i = 0; i < nlab; i++) {
        char sub[PATH_MAX + 300];
        sfmt(sub, sizeof sub, "%s/%s", dir, labels[i]);
        int k = attention_maps(p, sub, labels[i], 1);
        if (k < 0) rc = -1;
        else maps += k;
    }
    list_free(labels, nlab);
    if (!maps) {
        fprintf(stderr, "seqlab plot: %s: skipping attention maps: no attention/<label>/L*_H*.csv "
                        "(`seqlab attention` writes them)\n", p->e.name);
        p->skipped++;
    }
    return rc;
}

/* ===================== quality against source length (pairs) ============ */

/* the encoder-decoder runs (summary.csv's architecture and attention
 * columns) grouped by task (panel) and model + attention (line); each
 * line's points average the runs' translation.csv test buckets */
#define QL_MAX_SERIES 16
#define QL_MAX_BUCKETS 32

typedef struct QlSeries {
    char model[32], attention[32];
    int runs[GROUP_MAX_RUNS], n;
} QlSeries;

static int figure_quality_vs_length(Plot *p)
{
    const char *base = "quality_vs_length";
    char path[PATH_MAX + 64], err[600];
    sfmt(path, sizeof path, "%s/summary.csv", p->e.dir);
    CsvTable *t = csv_read(path, err, sizeof err);
    int c_arch = t ? csv_col(t, "architecture") : -1, c_att = t ? csv_col(t, "attention") : -1;
    int c_task = t ? csv_col(t, "task") : -1, c_model = t ? csv_col(t, "model") : -1;
    int c_run = t ? csv_col(t, "run") : -1;
    if (!t || c_arch < 0 || c_att < 0) {
        csv_free(t);
        return skip(p, base, "summary.csv has no encoder-decoder runs");
    }
    const char *tasks[3] = {"reverse", "dates", "translate"};
    static QlSeries series[3][QL_MAX_SERIES];
    int nser[3] = {0, 0, 0};
    for (int r = 0; r < t->nrows; r++) {
        if (strcmp(csv_str(t, r, c_arch), "encoder-decoder") != 0) continue;
        for (int k = 0; k < 3; k++) {
            if (strcmp(csv_str(t, r, c_task), tasks[k]) != 0) continue;
            int j = 0;
            while (j < nser[k] && (strcmp(series[k][j].model, csv_str(t, r, c_model)) != 0 ||
                                   strcmp(series[k][j].attention, csv_str(t, r, c_att)) != 0))
                j++;
            if (j == nser[k]) {
                if (j == QL_MAX_SERIES) continue;
                memset(&series[k][j], 0, sizeof series[k][j]);
                sfmt(series[k][j].model, sizeof series[k][j].model, "%s", csv_str(t, r, c_model));
                sfmt(series[k][j].attention, sizeof series[k][j].attention, "%s", csv_str(t, r, c_att));
                nser[k]++;
            }
            if (series[k][j].n < GROUP_MAX_RUNS) series[k][j].runs[series[k][j].n++] = r;
        }
    }
    Args a = {0};
    int np = 0, nleg = 0;
    char legend[QL_MAX_SERIES * 3][64];
    for (int k = 0; k < 3; k++) {
        if (!nser[k]) continue;
        int pi = ++np, bleu = k == 2, nfile = 0;
        for (int j = 0; j < nser[k]; j++) {
            const QlSeries *q = &series[k][j];
            /* bucket -> the runs' values */
            double lo[QL_MAX_BUCKETS], hi[QL_MAX_BUCKETS], v[QL_MAX_BUCKETS][GROUP_MAX_RUNS];
            int nv[QL_MAX_BUCKETS] = {0}, nb = 0;
            for (int i = 0; i < q->n; i++) {
                char f[PATH_MAX + 300];
                sfmt(f, sizeof f, "%s/%s/translation.csv", p->e.dir, csv_str(t, q->runs[i], c_run));
                CsvTable *tr = csv_read(f, err, sizeof err);
                if (!tr) continue;
                int cs = csv_col(tr, "split"), cl = csv_col(tr, "bucket_lo"), ch = csv_col(tr, "bucket_hi");
                int cv = csv_col(tr, bleu ? "bleu" : "exact_match");
                /* the test rows after the first (the whole split) */
                int first = 1;
                for (int r = 0; r < tr->nrows; r++) {
                    if (strcmp(csv_str(tr, r, cs), "test") != 0) continue;
                    if (first) { first = 0; continue; }
                    double l = csv_num(tr, r, cl), h = csv_num(tr, r, ch);
                    int b = 0;
                    while (b < nb && lo[b] != l) b++;
                    if (b == nb) {
                        if (nb == QL_MAX_BUCKETS) continue;
                        lo[nb] = l;
                        hi[nb] = h;
                        nb++;
                    }
                    if (nv[b] < GROUP_MAX_RUNS) v[b][nv[b]++] = csv_num(tr, r, cv);
                }
                csv_free(tr);
            }
            if (!nb) continue;
            char fname[96], fpath[PATH_MAX + 100];
            sfmt(fname, sizeof fname, "quality_p%d_%d.csv", pi, nfile + 1);
            sfmt(fpath, sizeof fpath, "%s/%s", p->datadir, fname);
            FILE *out = fopen(fpath, "w");
            if (!out) die("cannot write '%s': %s", fpath, strerror(errno));
            fprintf(out, "length,value,value_sd,n\n");
            for (int b = 0; b < nb; b++) {
                double mean, sd;
                int m = stats_mean_sd(v[b], nv[b], &mean, &sd);
                fprintf(out, "%g,%.10g,%.10g,%d\n", (lo[b] + hi[b]) / 2, mean, sd, m);
            }
            fclose(out);
            nfile++;
            int additive = strcmp(q->attention, "additive") == 0;
            char dataf[128], lab[64];
            sfmt(dataf, sizeof dataf, "data/%s", fname);
            args_str(&a, dataf, "file%d_%d", pi, nfile);
            args_str(&a, q->model, "model%d_%d", pi, nfile);
            args_printf(&a, "variant%d_%d=%d;", pi, nfile, additive);
            sfmt(lab, sizeof lab, "%s%s", model_title(q->model), additive ? " + attention" :
                 strcmp(q->model, "transformer") == 0 ? "" : ", no attention");
            int seen = 0;
            for (int s = 0; s < nleg; s++) seen |= strcmp(legend[s], lab) == 0;
            if (!seen && nleg < QL_MAX_SERIES * 3) {
                sfmt(legend[nleg], sizeof legend[nleg], "%s", lab);
                nleg++;
                args_str(&a, q->model, "lmodel%d", nleg);
                args_str(&a, lab, "llabel%d", nleg);
                args_printf(&a, "lvariant%d=%d;", nleg, additive);
            }
        }
        args_printf(&a, "pn%d=%d;pbleu%d=%d;", pi, nfile, pi, bleu);
        args_str(&a, tasks[k], "ptitle%d", pi);
    }
    csv_free(t);
    if (!np) {
        args_free(&a);
        return skip(p, base, "no encoder-decoder run has a translation.csv");
    }
    args_printf(&a, "npanels=%d;nseries=%d;", np, nleg);
    args_str(&a, "Does attention fix the bottleneck?  Test quality against source length", "title");
    int rc = render(p, "quality_vs_length", base, PLOT_WIDTH, PLOT_HEIGHT, &a) < 0 ? -1 : 0;
    args_free(&a);
    return rc;
}

/* =========================== figure 9: the positional-encoding table ==== */

static int figure_posenc(Plot *p)
{
    const char *base = "posenc";
    char src[PATH_MAX + 32], err[600];
    sfmt(src, sizeof src, "%s/posenc.csv", p->e.dir);
    if (!file_exists(src)) return skip(p, base, "no posenc.csv");
    CsvTable *t = csv_read(src, err, sizeof err);
    if (!t) return skip(p, base, err);
    int cp = csv_col(t, "position"), cd = csv_col(t, "dim"), cv = csv_col(t, "value");
    double maxabs = 0, maxpos = -1, maxdim = -1;
    for (int r = 0; r < t->nrows && cp >= 0 && cd >= 0 && cv >= 0; r++) {
        double v = csv_num(t, r, cv);
        if (isfinite(v)) maxabs = fmax(maxabs, fabs(v));
        maxpos = fmax(maxpos, csv_num(t, r, cp));
        maxdim = fmax(maxdim, csv_num(t, r, cd));
    }
    csv_free(t);
    if (cp < 0 || cd < 0 || cv < 0) return skip(p, base, "posenc.csv lacks position,dim,value columns");
    if (!(maxabs > 0) || maxpos < 0 || maxdim < 0)
        return skip(p, base, "posenc.csv has no non-zero values (positions = none?)");
    char abs_src[PATH_MAX];
    if (!realpath(src, abs_src)) sfmt(abs_src, sizeof abs_src, "%s", src);
    Args a = {0};
    args_str(&a, abs_src, "file");
    args_num(&a, maxabs, "maxabs");
    args_num(&a, maxpos, "maxpos");
    args_num(&a, maxdim, "maxdim");
    args_str(&a, "What does the positional encoding add at each position?", "title");
    int rc = render(p, "posenc", base, PLOT_WIDTH, PLOT_HEIGHT, &a) < 0 ? -1 : 0;
    args_free(&a);
    return rc;
}

/* ========================================================= entry points ==== */

/* plots/ beside the executable, else ./plots; $SEQLAB_PLOTS wins */
static int find_plotdir(char *out, size_t n)
{
    char cand[3][PATH_MAX];
    int nc = 0;
    const char *env = getenv("SEQLAB_PLOTS");
    if (env && *env) sfmt(cand[nc++], PATH_MAX, "%s", env);
    char exe[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len > 0) {
        exe[len] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) { *slash = '\0'; sfmt(cand[nc++], PATH_MAX, "%.*s/plots", PATH_MAX - 8, exe); }
    }
    sfmt(cand[nc++], PATH_MAX, "plots");
    for (int i = 0; i < nc; i++) {
        char common[PATH_MAX + 16];
        sfmt(common, sizeof common, "%s/common.gp", cand[i]);
        if (file_exists(common) && realpath(cand[i], out)) return 0;
    }
    sfmt(out, n, "plots");
    return -1;
}

/* the parts of a Plot every entry point sets up: figure and data folders,
 * the scripts, gnuplot.  0, or -1 with err */
static int plot_setup(Plot *p, const char *fig_dir, char *err, size_t errlen)
{
    if (find_plotdir(p->plotdir, sizeof p->plotdir) != 0) {
        snprintf(err, errlen, "cannot find the gnuplot scripts (plots/common.gp) beside the "
                              "seqlab executable or in the current directory");
        return -1;
    }
    if (!plot_gnuplot_available()) {
        snprintf(err, errlen, "gnuplot is not installed (or not on PATH); figures need it");
        return -1;
    }
    char data[PATH_MAX + 8];
    sfmt(data, sizeof data, "%s/data", fig_dir);
    if (mkdir_p(data) != 0 || !realpath(fig_dir, p->figdir)) {
        snprintf(err, errlen, "cannot create '%s': %s", data, strerror(errno));
        return -1;
    }
    sfmt(p->datadir, sizeof p->datadir, "%s/data", p->figdir);
    return 0;
}

int plot_attention_dir(const char *attn_dir, const char *fig_dir, char *err, size_t errlen)
{
    Plot *p = xcalloc(1, sizeof *p);
    int rc = -1;
    /* the folder's name labels the maps, as an experiment's name would */
    char dir[PATH_MAX];
    sfmt(dir, sizeof dir, "%s", attn_dir);
    size_t l = strlen(dir);
    while (l > 1 && dir[l - 1] == '/') dir[--l] = '\0';
    const char *base = strrchr(dir, '/');
    sfmt(p->e.name, sizeof p->e.name, "%s", base ? base + 1 : dir);
    if (plot_setup(p, fig_dir, err, errlen) != 0) goto out;
    int maps = attention_maps(p, dir, p->e.name, 0);
    if (maps == 0) snprintf(err, errlen, "no L<layer>_H<head>.csv in '%s'", attn_dir);
    else if (maps < 0) snprintf(err, errlen, "gnuplot failed on the maps in '%s' (see above)", attn_dir);
    else rc = 0;
out:
    free(p);
    return rc;
}

int plot_experiment_to(const char *exp_dir, const char *fig_dir, char *err, size_t errlen)
{
    Plot *p = xcalloc(1, sizeof *p);
    int rc = -1;
    if (experiment_load(&p->e, exp_dir, err, errlen) != 0) goto out;
    char want[PATH_MAX];
    if (fig_dir) sfmt(want, sizeof want, "%s", fig_dir);
    else sfmt(want, sizeof want, "%s/figures", p->e.dir);
    if (plot_setup(p, want, err, errlen) != 0) goto out;
    /* figures/data holds only what this run writes: no CSV of a figure
     * (or a panel) that is no longer drawn stays behind */
    char **old;
    int nold = list_dir(p->datadir, &old);
    for (int i = 0; i < nold; i++) {
        size_t l = strlen(old[i]);
        if (l > 4 && strcmp(old[i] + l - 4, ".csv") == 0) {
            char path[PATH_MAX + 300];
            sfmt(path, sizeof path, "%s/%s", p->datadir, old[i]);
            unlink(path);
        }
    }
    list_free(old, nold);
    if (p->e.nruns == 0)
        fprintf(stderr, "seqlab plot: %s: summary.csv lists no runs\n", p->e.name);

    int failed = 0;
    failed |= figures_metrics(p) < 0;
    failed |= figure_grad_through_time(p) < 0;
    failed |= figure_accuracy_vs_distance(p) < 0;
    failed |= figures_scaling(p) < 0;
    failed |= figures_attention(p) < 0;
    failed |= figure_posenc(p) < 0;
    failed |= figure_perplexity(p) < 0;
    failed |= figure_threads(p) < 0;
    failed |= figure_position_loss(p) < 0;
    failed |= figure_quality_vs_length(p) < 0;
    if (failed) {
        snprintf(err, errlen, "gnuplot failed on some figures of '%s' (see above)", exp_dir);
        goto out;
    }
    rc = 0;
out:
    experiment_free(&p->e);
    free(p);
    return rc;
}

int plot_experiment(const char *exp_dir, char *err, size_t errlen)
{
    return plot_experiment_to(exp_dir, NULL, err, errlen);
}

static void plot_usage(FILE *f)
{
    fprintf(f,
            "usage: seqlab plot runs/NAME [--out DIR]\n"
            "\n"
            "Draw every figure of the experiment in runs/NAME (PNG and SVG, with\n"
            "gnuplot and the scripts in plots/) into runs/NAME/figures, or DIR.\n"
            "Figures whose data is missing are skipped with a note.  Without --out,\n"
            "the report page of the folder holding the experiment (runs/index.html)\n"
            "is rewritten too.\n");
}

int cmd_plot(int argc, char **argv)
{
    const char *exp_dir = NULL, *out = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            plot_usage(stdout);
            return 0;
        } else if (strcmp(argv[i], "--out") == 0) {
            if (i + 1 >= argc) {
                fprintf(stderr, "seqlab plot: --out needs a directory\n");
                return EXIT_USER_ERROR;
            }
            out = argv[++i];
        } else if (strncmp(argv[i], "--out=", 6) == 0) {
            out = argv[i] + 6;
        } else if (argv[i][0] == '-') {
            fprintf(stderr, "seqlab plot: unknown option '%s'\n", argv[i]);
            plot_usage(stderr);
            return EXIT_USER_ERROR;
        } else if (!exp_dir) {
            exp_dir = argv[i];
        } else {
            fprintf(stderr, "seqlab plot: one experiment at a time ('%s' and '%s')\n", exp_dir,
                    argv[i]);
            return EXIT_USER_ERROR;
        }
    }
    if (!exp_dir) {
        plot_usage(stderr);
        return EXIT_USER_ERROR;
    }
    char err[1024];
    if (plot_experiment_to(exp_dir, out, err, sizeof err) != 0) {
        fprintf(stderr, "seqlab plot: %s\n", err);
        return EXIT_USER_ERROR;
    }
    printf("seqlab plot: figures of %s in %s\n", exp_dir, out ? out : "its figures/ folder");
    if (!out) {
        /* the folder holding the experiment gets a fresh report page */
        char parent[PATH_MAX];
        sfmt(parent, sizeof parent, "%s", exp_dir);
        size_t l = strlen(parent);
        while (l > 1 && parent[l - 1] == '/') parent[--l] = '\0';
        char *slash = strrchr(parent, '/');
        if (slash == parent) slash[1] = '\0';
        else if (slash) *slash = '\0';
        else sfmt(parent, sizeof parent, ".");
        if (report_write(parent, err, sizeof err) != 0) {
            fprintf(stderr, "seqlab plot: %s\n", err);
            return EXIT_USER_ERROR;
        }
        printf("seqlab plot: report in %s/index.html\n", parent);
    }
    return 0;
}
