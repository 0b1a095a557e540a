/*
 * report_findings.c — the report's findings box and its results tables.
 *
 * The box reads each experiment's findings.csv (written by `seqlab plot`,
 * findings.c) and lists, claim by claim in the order of findings_claims[],
 * what every experiment measured: the value, the comparison, the seeds and
 * the verdict, linking to the figure that shows it.  The tables give one
 * grid group each: rows are the settings that vary in the group, columns
 * the models, cells the group's main result (mean ± sd over seeds, the
 * bare value with one seed); a timing group (a budget far shorter than the
 * experiment's longest) shows time and memory per step instead.
 *
 * What this file is not: the measurements (findings.c) or the page skeleton
 * (report.c).
 */
#define _GNU_SOURCE
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "findings.h"
#include "report_html.h"
#include "util.h"

/* ============================================================ findings == */

static CsvTable *findings_read(const char *runs_dir, const char *name)
{
    char rel[PATH_MAX], path[PATH_MAX * 2], err[512];
    snprintf(rel, sizeof rel, "%s/findings.csv", name);
    if (!report_exists(runs_dir, rel)) return NULL;
    snprintf(path, sizeof path, "%s/%s", runs_dir, rel);
    return csv_read(path, err, sizeof err);
}

static const char *verdict_class(const char *v)
{
    if (strcmp(v, "holds") == 0) return "holds";
    if (strncmp(v, "fails", 5) == 0) return "fails";
    return "unmeasured";
}

static void put_finding_row(Html *h, const char *runs_dir, const char *name, const CsvTable *t, int i)
{
    const char *fig = csv_str(t, i, csv_col(t, "figure")), *v = csv_str(t, i, csv_col(t, "verdict"));
    /* data-label: the column's name, shown beside each cell on a phone */
    put(h, "<tr><td data-label=\"experiment\">");
    put_text(h, name, -1);
    put(h, "</td><td data-label=\"measured\">");
    put_text(h, csv_str(t, i, csv_col(t, "measurement")), -1);
    put(h, "</td><td data-label=\"value\">");
    put_text(h, csv_str(t, i, csv_col(t, "value")), -1);
    put(h, "</td><td data-label=\"compared with\">");
    put_text(h, csv_str(t, i, csv_col(t, "comparison")), -1);
    put(h, "</td><td data-label=\"seeds\">");
    put_text(h, csv_str(t, i, csv_col(t, "seeds")), -1);
    put(h, "</td><td data-label=\"verdict\" class=\"verdict %s\">", verdict_class(v));
    put_text(h, v, -1);
    put(h, "</td><td data-label=\"figure\">");
    char rel[PATH_MAX];
    snprintf(rel, sizeof rel, "%s/figures/%s.png", name, fig);
    int has_fig = fig[0] && report_exists(runs_dir, rel);
    if (!has_fig && fig[0] && strcmp(fig, "attention") == 0) {
        snprintf(rel, sizeof rel, "%s/attention/s1/attention.json", name);
        has_fig = report_exists(runs_dir, rel);
        if (has_fig) fig = "explorer";
    }
    if (has_fig) {
        put(h, "<a href=\"#");
        put_url(h, name);
        put(h, "-");
        put_url(h, fig);
        put(h, "\">");
        put_text(h, fig, -1);
        put(h, "</a>");
    } else {
        put(h, "&mdash;");
    }
    put(h, "</td></tr>\n");
}

void put_findings_box(Html *h, const char *runs_dir, char **names, int n)
{
    CsvTable **t = xcalloc((size_t)(n > 0 ? n : 1), sizeof *t);
    int any = 0;
    for (int k = 0; k < n; k++) any |= (t[k] = findings_read(runs_dir, names[k])) != NULL;
    if (!any) { free(t); return; }
    put(h, "<section id=\"findings\" class=\"findings\">\n<h2>Findings</h2>\n"
           "<p class=\"note\">Each course claim, measured: what each experiment measured, the "
           "number, what it was compared with, how many seeds, and the verdict computed from "
           "those numbers (<span class=\"verdict holds\">holds</span>, "
           "<span class=\"verdict fails\">fails at this scale</span>, "
           "<span class=\"verdict unmeasured\">not measured here</span>). From each "
           "experiment's findings.csv.</p>\n");
    put(h, "<div class=\"wide\"><table class=\"findings-table\">\n<tr class=\"head\"><th>experiment</th>"
           "<th>measured</th><th>value</th><th>compared with</th><th>seeds</th>"
           "<th>verdict</th><th>figure</th></tr>\n");
    for (int c = 0; c < findings_nclaims; c++) {
        int rows = 0;
        for (int k = 0; k < n; k++) {
            if (!t[k]) continue;
            for (int i = 0; i < t[k]->nrows; i++) {
                if (strcmp(csv_str(t[k], i, csv_col(t[k], "claim")), findings_claims[c].id) != 0) continue;
                if (!rows++) {
                    put(h, "<tr class=\"claim\" id=\"claim-%s\"><th colspan=\"7\">", findings_claims[c].id);
                    put_text(h, findings_claims[c].text, -1);
                    put(h, "</th></tr>\n");
                }
                put_finding_row(h, runs_dir, names[k], t[k], i);
            }
        }
    }
    put(h, "</table></div>\n</section>\n");
    for (int k = 0; k < n; k++) csv_free(t[k]);
    free(t);
}

void put_figure_findings(Html *h, const char *runs_dir, const char *name, const char *figure)
{
    CsvTable *t = findings_read(runs_dir, name);
    if (!t) return;
    for (int i = 0; i < t->nrows; i++) {
        if (strcmp(csv_str(t, i, csv_col(t, "figure")), figure) != 0) continue;
        const char *s = csv_str(t, i, csv_col(t, "sentence"));
        if (!s[0]) continue;
        put(h, "<strong class=\"key\">");
        put_text(h, s, -1);
        put(h, "</strong> ");
    }
    csv_free(t);
}

/* ============================================================== tables == */

/* a timing group: every run of it a timing run */
static int group_is_timing(const Experiment *e, const int *idx, int n)
{
    for (int i = 0; i < n; i++)
        if (!run_is_timing(e, &e->runs[idx[i]])) return 0;
    return n > 0;
}

typedef struct Metric {
    const char *head;
    size_t off;
    const char *fmt;
} Metric;

/* mean ± sd of a summary field (the bare value with one seed) */
static void put_cell(Html *h, const Experiment *e, const int *idx, int n, const Metric *m)
{
    double v[GROUP_MAX_RUNS], mean, sd;
    for (int i = 0; i < n; i++) v[i] = *(const double *)((const char *)&e->runs[idx[i]] + m->off);
    int k = n ? stats_mean_sd(v, n, &mean, &sd) : 0;
    if (!k) { put(h, "<td>&mdash;</td>"); return; }
    put(h, "<td>");
    put(h, m->fmt, mean);
    if (k > 1) { put(h, " <span class=\"sd\">&plusmn; "); put(h, m->fmt, sd); put(h, "</span>"); }
    put(h, " <span class=\"n\">(%d)</span></td>", k);
}

/* the runs in both a row and a column */
static int runs_in_both(const Group *row, const Group *col, int *out)
{
    int n = 0;
    for (int i = 0; i < row->n; i++)
        for (int j = 0; j < col->n; j++)
            if (row->idx[i] == col->idx[j]) { out[n++] = row->idx[i]; break; }
    return n;
}

static void put_group_table(Html *h, const Experiment *e, const char *group, const int *idx, int n)
{
    int timing = group_is_timing(e, idx, n);
    const Run *r0 = &e->runs[idx[0]];
    Metric learn[3], time[3];
    int nm = 0;
    if (timing) {
        time[0] = (Metric){"time per step (ms)", offsetof(Run, step_ms), "%.2f"};
        time[1] = (Metric){"activations (MB)", offsetof(Run, act_mb), "%.2f"};
        time[2] = (Metric){"of which attention (MB)", offsetof(Run, attn_mb), "%.2f"};
        nm = 3;
    } else if (task_is_text(r0->task)) {
        learn[0] = (Metric){"validation loss (nats/token)", offsetof(Run, final_val_loss), "%.3f"};
        learn[1] = (Metric){"perplexity", offsetof(Run, val_perplexity), "%.2f"};
        nm = 2;
    } else {
        learn[0] = (Metric){"validation accuracy", offsetof(Run, val_accuracy), "%.3f"};
        learn[1] = (Metric){"validation loss", offsetof(Run, final_val_loss), "%.3f"};
        nm = 2;
    }
    const Metric *ms = timing ? time : learn;
    /* the columns: the models and their variants ("rnn, no clip",
     * "transformer, no positions"), in model order */
    Group *mg;
    int nmod = groups_make(e, idx, n, KEYS_SERIES, &mg);
    /* the rows: the other settings, but not a model's own size (its
     * parameter count heads its column) nor, in a learning table, the
     * thread count (a repeat at 2 threads is one more run of the same
     * experiment) */
    unsigned row_mask = KEYS_SETTINGS & ~(unsigned)(KEYS_SERIES | KEY_HIDDEN | KEY_LAYERS);
    if (!timing) row_mask &= ~(unsigned)KEY_THREADS;
    Group *rows;
    int nr = groups_make(e, idx, n, row_mask, &rows);
    put(h, "<h4 id=\"");
    put_url(h, e->name);
    put(h, "-table-");
    put_url(h, group);
    put(h, "\">grid group <code>");
    put_text(h, group[0] ? group : "(no name)", -1);
    put(h, "</code>: %s</h4>\n", timing ? "time and memory per step (a timing grid: kept out of the learning "
                                          "results)" : "results after training");
    for (int m = 0; m < nm; m++) {
        put(h, "<div class=\"wide\"><table class=\"results\">\n<tr><th>%s</th>", ms[m].head);
        for (int k = 0; k < nmod; k++) {
            const char *model = e->runs[mg[k].idx[0]].model;
            put(h, "<th><span class=\"swatch\" style=\"background:%s\"></span>", model_css_color(model));
            put_text(h, mg[k].label, -1);
            put(h, "<br><span class=\"n\">%.3gM params</span></th>", e->runs[mg[k].idx[0]].params / 1e6);
        }
        put(h, "</tr>\n");
        for (int rw = 0; rw < nr; rw++) {
            put(h, "<tr><td>");
            put_text(h, rows[rw].label[0] ? rows[rw].label : r0->task, -1);
            put(h, "</td>");
            for (int k = 0; k < nmod; k++) {
                int sel[GROUP_MAX_RUNS];
                int c = runs_in_both(&rows[rw], &mg[k], sel);
                put_cell(h, e, sel, c, &ms[m]);
            }
            put(h, "</tr>\n");
        }
        put(h, "</table></div>\n");
    }
    free(rows);
    free(mg);
}

void put_group_tables(Html *h, const Experiment *e)
{
    put(h, "<h3>Results</h3>\n<p class=\"note\">One table per grid group of the experiment file: "
           "rows are the settings that vary in the group, columns the models (with their "
           "parameter counts); cells are the mean &plusmn; sd over seeds, with the number of runs "
           "in brackets (a single run shows its value alone). From <a href=\"");
    put_url(h, e->name);
    put(h, "/summary.csv\">summary.csv</a>.</p>\n");
    char done[64][64];
    int ndone = 0;
    int *idx = xmalloc((size_t)(e->nruns + 1) * sizeof *idx);
    for (int i = 0; i < e->nruns && ndone < 64; i++) {
        const char *g = e->runs[i].group;
        int seen = 0;
        for (int k = 0; k < ndone; k++) seen |= strcmp(done[k], g) == 0;
        if (seen) continue;
        snprintf(done[ndone++], sizeof done[0], "%s", g);
        int n = 0;
        for (int j = 0; j < e->nruns && n < GROUP_MAX_RUNS; j++)
            if (strcmp(e->runs[j].group, g) == 0) idx[n++] = j;
        put_group_table(h, e, g, idx, n);
    }
    free(idx);
}
