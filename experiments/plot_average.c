/*
 * plot_average.c — averaging runs over seeds for the figures
 * (plot_internal.h): a CSV of each run matched row by row on a key column
 * into mean and sd columns, and the choice of runs a figure draws.
 *
 * What this file is not: grouping runs into settings (plot_data.c).
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

#include "util.h"

/* ====================================================== averaging runs ==== */

/* columns a run keeps after it stopped early (keyed by step): what it had
 * learned; not its time or gradient norm, which stopped with it */
static int carries(const char *key, const char *col)
{
    return strcmp(key, "step") == 0 &&
           (strcmp(col, "train_loss") == 0 || strcmp(col, "val_loss") == 0 || strcmp(col, "val_accuracy") == 0);
}

/* the last finite value of column c in t, if t ends before key k (NAN if
 * t reaches k or has none) */
static double last_finite(const CsvTable *t, int kc, double k, int c)
{
    if (t->nrows == 0 || csv_num(t, t->nrows - 1, kc) >= k) return NAN;
    for (int r = t->nrows - 1; r >= 0; r--) {
        double v = csv_num(t, r, c);
        if (isfinite(v)) return v;
    }
    return NAN;
}

/* Average, over the runs idx[0..n), the named columns of each run's `file`
 * (a CSV with a key column such as step or position), matching rows by the
 * key.  Writes a CSV key,col1,col1_sd,... to out_path.  has[c] counts the
 * rows where column c has a finite mean.  Returns rows written (0 = no run
 * had the file; nothing is written then). */
int plot_average_runs(const Plot *p, const int *idx, int n, const char *file, const char *key,
                        const char **cols, int ncols, const char *out_path, int *has)
{
    CsvTable **t = xcalloc((size_t)(n > 0 ? n : 1), sizeof *t);
    int nt = 0, ref = -1;
    for (int i = 0; i < n; i++) {
        char path[PATH_MAX + 400], err[512];
        run_path(path, sizeof path, &p->e, &p->e.runs[idx[i]], file);
        if (!plot_file_exists(path)) continue;
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
            for (int i = 0; i < nt; i++) {
                vals[i] = match[i] < 0 ? NAN : csv_num(t[i], match[i], csv_col(t[i], cols[c]));
                /* a run that stopped early, solved, keeps its last loss or
                 * accuracy: without it the mean of the remaining seeds
                 * would jump back up to the unsolved one's */
                if (match[i] < 0 && carries(key, cols[c]))
                    vals[i] = last_finite(t[i], csv_col(t[i], key), k, csv_col(t[i], cols[c]));
            }
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
int plot_runs_with_file(const Plot *p, const char *file, int *idx)
{
    int n = 0;
    for (int i = 0; i < p->e.nruns; i++) {
        char path[PATH_MAX + 400];
        run_path(path, sizeof path, &p->e, &p->e.runs[i], file);
        if (plot_file_exists(path)) idx[n++] = i;
    }
    return n;
}

/* filter idx[0..n) in place to the learning runs (not run_is_timing);
 * returns the new count */
int plot_keep_learning_runs(const Experiment *e, int *idx, int n)
{
    int m = 0;
    for (int i = 0; i < n; i++)
        if (!run_is_timing(e, &e->runs[idx[i]])) idx[m++] = idx[i];
    return m;
}

/* the runs in both a and b */
int plot_intersect(const Group *a, const Group *b, int *out)
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
int plot_series_variant(const Experiment *e, const Group *g, int i)
{
    int v = 0;
    for (int k = 0; k < i; k++)
        v += strcmp(e->runs[g[k].idx[0]].model, e->runs[g[i].idx[0]].model) == 0;
    return v;
}

/* mean of a summary field over a group's runs (NAN if none is finite) */
double plot_group_mean(const Experiment *e, const Group *g, size_t field_offset)
{
    double *x = xmalloc((size_t)g->n * sizeof *x), mean, sd;
    for (int i = 0; i < g->n; i++)
        x[i] = *(const double *)((const char *)&e->runs[g->idx[i]] + field_offset);
    stats_mean_sd(x, g->n, &mean, &sd);
    free(x);
    return mean;
}

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
int plot_field_values(const Experiment *e, const int *idx, int n, size_t off, double *v)
{
    int m = 0;
    for (int i = 0; i < n; i++) {
        double x = *(const double *)((const char *)&e->runs[idx[i]] + off);
        if (isfinite(x)) v[m++] = x;
    }
    return distinct_sorted(v, m);
}

double plot_run_field(const Run *r, size_t off) { return *(const double *)((const char *)r + off); }
