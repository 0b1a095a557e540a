/*
 * plot_translation.c — the figure of the encoder–decoder runs: translation
 * quality against source length (Bahdanau et al. 2015, Fig. 2), one panel
 * per task of pairs, one line per model and attention, from each run's
 * translation.csv (core/translate.c) averaged over seeds.
 *
 * What this file is not: the alignment maps (`seqlab attention` on an
 * encoder–decoder writes them; plot_attention.c draws them).
 */
#include "plot_internal.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry.h"
#include "util.h"

/* the encoder-decoder runs (summary.csv's architecture and attention
 * columns) grouped by task (panel) and model + attention (line); each
 * line's points average the runs' translation.csv test buckets */
#define QL_MAX_SERIES 16
#define QL_MAX_BUCKETS 32

typedef struct QlSeries {
    char model[32], attention[32];
    int runs[GROUP_MAX_RUNS], n;
} QlSeries;

int plot_figure_quality_vs_length(Plot *p)
{
    const char *base = "quality_vs_length";
    char path[PATH_MAX + 64], err[600];
    plot_sfmt(path, sizeof path, "%s/summary.csv", p->e.dir);
    CsvTable *t = csv_read(path, err, sizeof err);
    int c_arch = t ? csv_col(t, "architecture") : -1, c_att = t ? csv_col(t, "attention") : -1;
    int c_task = t ? csv_col(t, "task") : -1, c_model = t ? csv_col(t, "model") : -1;
    int c_run = t ? csv_col(t, "run") : -1;
    if (!t || c_arch < 0 || c_att < 0) {
        csv_free(t);
        return plot_skip(p, base, "summary.csv has no encoder-decoder runs");
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
                plot_sfmt(series[k][j].model, sizeof series[k][j].model, "%s", csv_str(t, r, c_model));
                plot_sfmt(series[k][j].attention, sizeof series[k][j].attention, "%s", csv_str(t, r, c_att));
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
                plot_sfmt(f, sizeof f, "%s/%s/translation.csv", p->e.dir, csv_str(t, q->runs[i], c_run));
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
            plot_sfmt(fname, sizeof fname, "quality_p%d_%d.csv", pi, nfile + 1);
            plot_sfmt(fpath, sizeof fpath, "%s/%s", p->datadir, fname);
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
            plot_sfmt(dataf, sizeof dataf, "data/%s", fname);
            plot_args_str(&a, dataf, "file%d_%d", pi, nfile);
            plot_args_str(&a, q->model, "model%d_%d", pi, nfile);
            plot_args_printf(&a, "variant%d_%d=%d;", pi, nfile, additive);
            /* a model with attention heads needs no word on it; a recurrent one says which */
            const ModelInfo *mi = model_info_find(q->model);
            plot_sfmt(lab, sizeof lab, "%s%s", mi ? mi->title : q->model,
                      additive ? " + attention" : mi && mi->attention ? "" : ", no attention");
            int seen = 0;
            for (int s = 0; s < nleg; s++) seen |= strcmp(legend[s], lab) == 0;
            if (!seen && nleg < QL_MAX_SERIES * 3) {
                plot_sfmt(legend[nleg], sizeof legend[nleg], "%s", lab);
                nleg++;
                plot_args_str(&a, q->model, "lmodel%d", nleg);
                plot_args_str(&a, lab, "llabel%d", nleg);
                plot_args_printf(&a, "lvariant%d=%d;", nleg, additive);
            }
        }
        plot_args_printf(&a, "pn%d=%d;pbleu%d=%d;", pi, nfile, pi, bleu);
        plot_args_str(&a, tasks[k], "ptitle%d", pi);
    }
    csv_free(t);
    if (!np) {
        plot_args_free(&a);
        return plot_skip(p, base, "no encoder-decoder run has a translation.csv");
    }
    plot_args_printf(&a, "npanels=%d;nseries=%d;", np, nleg);
    plot_args_str(&a, "Does attention fix the bottleneck?  Test quality against source length", "title");
    int rc = plot_render(p, "quality_vs_length", base, PLOT_WIDTH, PLOT_HEIGHT, &a) < 0 ? -1 : 0;
    plot_args_free(&a);
    return rc;
}

