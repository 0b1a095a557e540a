/*
 * report.c — runs/index.html: one self-contained page over every experiment.
 *
 * For each runs/X/experiment.json: the experiment's question, each figure
 * that exists in runs/X/figures with a caption saying what to look for, the
 * results table (mean ± sd over seeds, from summary.csv), the largest
 * distance each model solved, and a few lines each model generated.
 *
 * The page has inline CSS, no script and nothing from the network; every
 * link and image is a relative path to a file that exists when the page is
 * written.  What this file is not: the figures (plot.c draws them).
 */
#define _GNU_SOURCE
#include "plot.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "plot_data.h"
#include "registry.h"
#include "util.h"

/* "solved" in the distance table: the mean validation accuracy reaches this */
#define SOLVED_ACCURACY 0.9
/* how much of each samples.txt the page shows */
#define SAMPLE_CHARS 300

/* ============================================================ the page ==== */

typedef struct Html {
    char *s;
    size_t len, cap;
} Html;

static void put(Html *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(Html *h, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(h->s ? h->s + h->len : NULL, h->s ? h->cap - h->len : 0, fmt, ap);
        va_end(ap);
        if (h->s && (size_t)n < h->cap - h->len) { h->len += (size_t)n; return; }
        h->cap = 2 * (h->cap + (size_t)n + 256);
        h->s = xrealloc(h->s, h->cap);
        if (h->len == 0) h->s[0] = '\0';
    }
}

/* text with & < > " escaped; at most max bytes of it (max < 0: all),
 * never cutting a UTF-8 character in two */
static void put_text(Html *h, const char *s, long max)
{
    long n = 0;
    for (const char *c = s; *c && (max < 0 || n < max || ((unsigned char)*c & 0xC0) == 0x80); c++, n++) {
        switch (*c) {
        case '&': put(h, "&amp;"); break;
        case '<': put(h, "&lt;"); break;
        case '>': put(h, "&gt;"); break;
        case '"': put(h, "&quot;"); break;
        default: put(h, "%c", *c);
        }
    }
}

/* a relative URL: each byte outside the unreserved set is %XX-encoded */
static void put_url(Html *h, const char *path)
{
    for (const unsigned char *c = (const unsigned char *)path; *c; c++) {
        if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
            strchr("-_.~/", *c))
            put(h, "%c", *c);
        else
            put(h, "%%%02X", *c);
    }
}

static int exists(const char *runs_dir, const char *rel)
{
    char path[PATH_MAX * 2];
    snprintf(path, sizeof path, "%s/%s", runs_dir, rel);
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static const char *page_css =
    "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;max-width:1250px;"
    "margin:0 auto;padding:1em 2em;color:#222;line-height:1.45}"
    "h1{border-bottom:3px solid #0072B2;padding-bottom:.2em}"
    "h2{margin-top:2.5em;border-bottom:1px solid #ccc}"
    ".question{font-size:1.25em;font-style:italic;color:#333}"
    "figure{margin:1.5em 0;padding:0}"
    "figure img{max-width:100%;height:auto;border:1px solid #ddd}"
    "figcaption{color:#444;max-width:60em;margin-top:.3em}"
    ".maps{display:flex;flex-wrap:wrap;gap:1em}"
    ".maps figure{width:30%;min-width:280px;margin:0}"
    "table{border-collapse:collapse;margin:1em 0;font-variant-numeric:tabular-nums}"
    "th,td{border:1px solid #ccc;padding:.3em .7em;text-align:right}td{white-space:nowrap}"
    "th{background:#f0f4f8}td:first-child,th:first-child{text-align:left}"
    "pre{background:#f7f7f7;border-left:4px solid #009E73;padding:.6em;white-space:pre-wrap;"
    "max-width:60em}"
    ".swatch{display:inline-block;width:.9em;height:.9em;border-radius:2px;margin-right:.4em;"
    "vertical-align:-.1em}"
    ".note{color:#666;font-size:.9em}.wide{overflow-x:auto}";

/* the figures' model colours (plots/common.gp), for the tables */
static const char *model_css_color(const char *model)
{
    switch (model_order(model)) {
    case 0: return "#E69F00";
    case 1: return "#0072B2";
    case 2: return "#009E73";
    case 3: return "#D55E00";
    default: return "#CC79A7";
    }
}

/* ============================================================ sections ==== */

/* how much of a map's sentence its caption quotes */
#define MAP_CAPTION_CHARS 60

/* an attention map's caption from its file name <label>_L<l>_H<h>.png:
 * 'layer l, head h: "the sentence"' (the sentence from the experiment's
 * attention/<label>/tokens.txt), or the bare name without one */
static void put_map_caption(Html *h, const char *runs_dir, const char *name, const char *file)
{
    size_t len = strlen(file) - 4;   /* without .png */
    const char *lpos = NULL;
    for (const char *c = file; (c = strstr(c, "_L")) && (size_t)(c - file) < len; c++) lpos = c;
    int layer, head, used = 0;
    char sentence[512] = "";
    if (lpos && sscanf(lpos, "_L%d_H%d.png%n", &layer, &head, &used) == 2 && lpos[used] == '\0') {
        char tokens[PATH_MAX * 2];
        snprintf(tokens, sizeof tokens, "%s/%s/attention/%.*s/tokens.txt", runs_dir, name,
                 (int)(lpos - file), file);
        if (attention_sentence(tokens, MAP_CAPTION_CHARS, sentence, sizeof sentence) == 0) {
            put(h, "layer %d, head %d: \xe2\x80\x9c", layer, head);   /* “ */
            put_text(h, sentence, -1);
            put(h, "\xe2\x80\x9d");   /* ” */
            return;
        }
    }
    put_text(h, file, (long)len);
}

static void put_figures(Html *h, const char *runs_dir, const char *name)
{
    char rel[PATH_MAX], svg[PATH_MAX];
    int any = 0;
    for (int k = 0; k < plot_nfigures; k++) {
        snprintf(rel, sizeof rel, "%s/figures/%s.png", name, plot_figures[k].name);
        if (!exists(runs_dir, rel)) continue;
        snprintf(svg, sizeof svg, "%s/figures/%s.svg", name, plot_figures[k].name);
        int has_svg = exists(runs_dir, svg);
        if (!any) put(h, "<h3>Figures</h3>\n");
        any = 1;
        put(h, "<figure id=\"");
        put_text(h, name, -1);
        put(h, "-%s\">", plot_figures[k].name);
        if (has_svg) { put(h, "<a href=\""); put_url(h, svg); put(h, "\">"); }
        put(h, "<img src=\"");
        put_url(h, rel);
        put(h, "\" alt=\"%s\" width=\"%d\" height=\"%d\">", plot_figures[k].name, PLOT_WIDTH,
            PLOT_HEIGHT);
        if (has_svg) put(h, "</a>");
        put(h, "<figcaption>");
        put_text(h, plot_figures[k].caption, -1);
        put(h, "</figcaption></figure>\n");
    }
    /* the attention maps: one per layer and head */
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/%s/figures", runs_dir, name);
    DIR *d = opendir(dir);
    if (!d) goto none;
    char **maps = NULL;
    int nm = 0, cap = 0;
    struct dirent *de;
    size_t plen = strlen(PLOT_ATTENTION_PREFIX);
    while ((de = readdir(d))) {
        size_t l = strlen(de->d_name);
        if (strncmp(de->d_name, PLOT_ATTENTION_PREFIX, plen) != 0 || l < 5 ||
            strcmp(de->d_name + l - 4, ".png") != 0)
            continue;
        if (nm == cap) { cap = cap ? 2 * cap : 8; maps = xrealloc(maps, (size_t)cap * sizeof *maps); }
        maps[nm++] = xstrdup(de->d_name);
    }
    closedir(d);
    for (int i = 1; i < nm; i++)   /* sorted: layer and head in order */
        for (int j = i; j > 0 && strcmp(maps[j - 1], maps[j]) > 0; j--) {
            char *t = maps[j]; maps[j] = maps[j - 1]; maps[j - 1] = t;
        }
    if (nm) {
        if (!any) put(h, "<h3>Figures</h3>\n");
        any = 1;
        put(h, "<h4>Attention maps</h4><p>Each map is one layer and head of the Transformer "
               "reading the sentence in its title: row = the position asking (query), column "
               "= the position it reads (key), brightness = the attention weight. The upper "
               "triangle is empty because attention is causal; look for heads that read the "
               "previous token (a line beside the diagonal) or one fixed token (a bright "
               "column). Click a map for a full-size copy.</p>\n<div class=\"maps\">\n");
        for (int i = 0; i < nm; i++) {
            snprintf(rel, sizeof rel, "%s/figures/%s", name, maps[i]);
            snprintf(svg, sizeof svg, "%s", rel);
            memcpy(svg + strlen(svg) - 4, ".svg", 4);
            int has_svg = exists(runs_dir, svg);
            put(h, "<figure>");
            if (has_svg) { put(h, "<a href=\""); put_url(h, svg); put(h, "\">"); }
            put(h, "<img src=\"");
            put_url(h, rel);
            put(h, "\" alt=\"");
            put_text(h, maps[i], -1);
            put(h, "\" width=\"%d\" height=\"%d\">", PLOT_HEATMAP_WIDTH, PLOT_HEATMAP_HEIGHT);
            if (has_svg) put(h, "</a>");
            put(h, "<figcaption>");
            put_map_caption(h, runs_dir, name, maps[i] + plen);
            put(h, "</figcaption></figure>\n");
            free(maps[i]);
        }
        put(h, "</div>\n");
    }
    free(maps);
none:
    if (!any) put(h, "<p class=\"note\">No figures yet: run <code>seqlab plot</code> on this "
                     "experiment.</p>\n");
}

/* "1.234 ± 0.05" (just the mean with one seed or without with_sd; a dash
 * without any value) */
static void put_mean_sd(Html *h, const double *v, int n, const char *fmt, int with_sd)
{
    double mean, sd;
    int m = stats_mean_sd(v, n, &mean, &sd);
    if (!m) { put(h, "<td>&mdash;</td>"); return; }
    put(h, "<td>");
    put(h, fmt, mean);
    if (m > 1 && with_sd) { put(h, " &plusmn; "); put(h, fmt, sd); }
    put(h, "</td>");
}

/* does any run of the groups have a finite value of this field? */
static int column_has(const Experiment *e, size_t off)
{
    for (int i = 0; i < e->nruns; i++)
        if (isfinite(*(const double *)((const char *)&e->runs[i] + off))) return 1;
    return 0;
}

static void put_model_cell(Html *h, const char *model, const char *label)
{
    put(h, "<td><span class=\"swatch\" style=\"background:%s\"></span>", model_css_color(model));
    put_text(h, label, -1);
    put(h, "</td>");
}

static void put_results_table(Html *h, const Experiment *e)
{
    Group *g;
    int ng = groups_make(e, NULL, e->nruns, KEYS_SERIES | KEYS_PANEL, &g);
    /* with_sd 0: the same for every seed (the parameter count) */
    struct { const char *head; size_t off; const char *fmt; int with_sd; } cols[] = {
        {"parameters", offsetof(Run, params), "%.0f", 0},
        {"final train loss", offsetof(Run, final_train_loss), "%.3f", 1},
        {"final val loss", offsetof(Run, final_val_loss), "%.3f", 1},
        {"val perplexity", offsetof(Run, val_perplexity), "%.2f", 1},
        {"val accuracy", offsetof(Run, val_accuracy), "%.3f", 1},
        {"tokens/s", offsetof(Run, tokens_per_s), "%.0f", 1},
        {"peak memory (MB)", offsetof(Run, peak_rss_mb), "%.0f", 0},
    };
    enum { NCOLS = sizeof cols / sizeof cols[0] };
    int show[NCOLS];
    put(h, "<h3>Results</h3>\n<p class=\"note\">Mean &plusmn; sd over seeds (and thread "
           "counts); from <a href=\"");
    put_url(h, e->name);
    put(h, "/summary.csv\">summary.csv</a>.</p>\n<div class=\"wide\"><table>\n<tr><th>model, setting</th><th>runs</th>");
    for (int c = 0; c < NCOLS; c++)
        if ((show[c] = column_has(e, cols[c].off))) put(h, "<th>%s</th>", cols[c].head);
    put(h, "</tr>\n");
    double *v = xmalloc((size_t)(e->nruns + 1) * sizeof *v);
    for (int k = 0; k < ng; k++) {
        put(h, "<tr>");
        put_model_cell(h, e->runs[g[k].idx[0]].model, g[k].label);
        put(h, "<td>%d</td>", g[k].n);
        for (int c = 0; c < NCOLS; c++) {
            if (!show[c]) continue;
            for (int i = 0; i < g[k].n; i++)
                v[i] = *(const double *)((const char *)&e->runs[g[k].idx[i]] + cols[c].off);
            put_mean_sd(h, v, g[k].n, cols[c].fmt, cols[c].with_sd);
        }
        put(h, "</tr>\n");
    }
    put(h, "</table></div>\n");
    free(v);
    free(g);
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* per model and setting (distance and window aside): the largest distance
 * whose mean validation accuracy reaches SOLVED_ACCURACY */
static void put_distance_table(Html *h, const Experiment *e)
{
    int *idx = xmalloc((size_t)(e->nruns + 1) * sizeof *idx), n = 0;
    for (int i = 0; i < e->nruns; i++)
        if (isfinite(e->runs[i].distance) && isfinite(e->runs[i].val_accuracy)) idx[n++] = i;
    if (!n) { free(idx); return; }
    Group *g;
    int ng = groups_make(e, idx, n, KEY_MODEL | KEY_TASK | KEY_TOKENIZER | KEY_POSITIONS |
                                        KEY_CLIP | KEY_INIT_SCALE, &g);
    put(h, "<h3>Largest distance solved</h3>\n<p class=\"note\">The longest distance at which "
           "the mean validation accuracy over seeds is at least %.2f. Then, for every distance: "
           "the mean accuracy and the mean number of training steps the runs took (fewer than "
           "the budget when a run stopped early because it was solved).</p>\n<div class=\"wide\"><table>\n"
           "<tr><th>model, setting</th><th>largest distance solved</th>"
           "<th>distance: accuracy (steps)</th></tr>\n", SOLVED_ACCURACY);
    double *d = xmalloc((size_t)n * sizeof *d), *acc = xmalloc((size_t)n * sizeof *acc);
    double *steps = xmalloc((size_t)n * sizeof *steps), *acc_mean = xmalloc((size_t)n * sizeof *acc_mean),
           *steps_mean = xmalloc((size_t)n * sizeof *steps_mean);
    for (int k = 0; k < ng; k++) {
        int nd = 0;
        for (int i = 0; i < g[k].n; i++) d[nd++] = e->runs[g[k].idx[i]].distance;
        qsort(d, (size_t)nd, sizeof *d, cmp_d);
        int m = 0;
        for (int i = 0; i < nd; i++)
            if (!m || d[i] != d[m - 1]) d[m++] = d[i];
        double solved = NAN;
        for (int j = 0; j < m; j++) {
            int c = 0;
            for (int i = 0; i < g[k].n; i++)
                if (e->runs[g[k].idx[i]].distance == d[j]) {
                    acc[c] = e->runs[g[k].idx[i]].val_accuracy;
                    steps[c++] = e->runs[g[k].idx[i]].steps;
                }
            double sd;
            acc_mean[j] = steps_mean[j] = NAN;
            if (stats_mean_sd(acc, c, &acc_mean[j], &sd) && acc_mean[j] >= SOLVED_ACCURACY) solved = d[j];
            stats_mean_sd(steps, c, &steps_mean[j], &sd);
        }
        put(h, "<tr>");
        put_model_cell(h, e->runs[g[k].idx[0]].model, g[k].label);
        if (isfinite(solved)) put(h, "<td>%g</td>", solved);
        else put(h, "<td>none</td>");
        put(h, "<td>");
        for (int j = 0; j < m; j++) {
            put(h, "%s%g: %.2f", j ? ", " : "", d[j], acc_mean[j]);
            if (isfinite(steps_mean[j])) put(h, " (%.0f)", steps_mean[j]);
        }
        put(h, "</td></tr>\n");
    }
    put(h, "</table></div>\n");
    free(d);
    free(acc);
    free(steps);
    free(acc_mean);
    free(steps_mean);
    free(g);
    free(idx);
}

/* the first lines each model wrote (first run of each setting with samples) */
static void put_samples(Html *h, const char *runs_dir, const Experiment *e)
{
    Group *g;
    int ng = groups_make(e, NULL, e->nruns, KEYS_SERIES | KEYS_PANEL, &g), any = 0;
    for (int k = 0; k < ng; k++) {
        for (int i = 0; i < g[k].n; i++) {
            const Run *r = &e->runs[g[k].idx[i]];
            char rel[PATH_MAX], path[PATH_MAX * 2];
            snprintf(rel, sizeof rel, "%s/%s/samples.txt", e->name, r->name);
            if (!exists(runs_dir, rel)) continue;
            snprintf(path, sizeof path, "%s/%s", runs_dir, rel);
            size_t len;
            char *text = file_read_all(path, &len);
            if (!text) continue;
            if (!any) put(h, "<h3>Samples</h3>\n<p class=\"note\">The first %d characters each "
                             "model generated after training.</p>\n", SAMPLE_CHARS);
            any = 1;
            put(h, "<h4><span class=\"swatch\" style=\"background:%s\"></span>",
                model_css_color(r->model));
            put_text(h, g[k].label, -1);
            put(h, " <span class=\"note\">(<a href=\"");
            put_url(h, rel);
            put(h, "\">");
            put_text(h, r->name, -1);
            put(h, "/samples.txt</a>)</span></h4>\n<pre>");
            put_text(h, text, SAMPLE_CHARS);
            put(h, "%s</pre>\n", len > SAMPLE_CHARS ? "&hellip;" : "");
            free(text);
            break;
        }
    }
    free(g);
}

static void put_experiment(Html *h, const char *runs_dir, const char *name)
{
    char dir[PATH_MAX], err[1024];
    snprintf(dir, sizeof dir, "%s/%s", runs_dir, name);
    Experiment e;
    int loaded = experiment_load(&e, dir, err, sizeof err) == 0;
    /* the folder name is what the links use; experiment.json's name is shown */
    put(h, "<section id=\"exp-");
    put_text(h, name, -1);
    put(h, "\">\n<h2>");
    put_text(h, e.name, -1);
    put(h, "</h2>\n");
    if (e.question[0]) { put(h, "<p class=\"question\">"); put_text(h, e.question, -1); put(h, "</p>\n"); }
    if (e.description[0]) { put(h, "<p>"); put_text(h, e.description, -1); put(h, "</p>\n"); }
    snprintf(e.name, sizeof e.name, "%s", name);
    put_figures(h, runs_dir, name);
    if (loaded && e.nruns) {
        put_results_table(h, &e);
        put_distance_table(h, &e);
        put_samples(h, runs_dir, &e);
    } else {
        put(h, "<p class=\"note\">No results table: ");
        put_text(h, loaded ? "summary.csv lists no runs" : err, -1);
        put(h, "</p>\n");
    }
    put(h, "</section>\n");
    experiment_free(&e);
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int report_write(const char *runs_dir, char *err, size_t errlen)
{
    DIR *d = opendir(runs_dir);
    if (!d) {
        snprintf(err, errlen, "cannot open '%s': %s", runs_dir, strerror(errno));
        return -1;
    }
    char **names = NULL;
    int n = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.') continue;
        char rel[PATH_MAX];
        snprintf(rel, sizeof rel, "%s/experiment.json", de->d_name);
        if (!exists(runs_dir, rel)) continue;
        if (n == cap) { cap = cap ? 2 * cap : 8; names = xrealloc(names, (size_t)cap * sizeof *names); }
        names[n++] = xstrdup(de->d_name);
    }
    closedir(d);
    if (n) qsort(names, (size_t)n, sizeof *names, name_cmp);

    Html h = {0};
    put(&h, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            "<title>seqlab results</title>\n<style>%s</style>\n</head>\n<body>\n"
            "<h1>seqlab results</h1>\n", page_css);
    time_t now = time(NULL);
    char when[64];
    strftime(when, sizeof when, "%Y-%m-%d %H:%M", localtime(&now));
    put(&h, "<p class=\"note\">Written by <code>seqlab</code> on %s. Colours are the same "
            "in every figure and table: ", when);
    int nm = model_info_count();
    for (int m = 0; m < nm; m++)
        put(&h, "<span class=\"swatch\" style=\"background:%s\"></span>%s%s",
            model_css_color(model_info_at(m)->name), model_info_at(m)->name, m < nm - 1 ? ", " : ".");
    put(&h, "</p>\n");
    if (!n) {
        put(&h, "<p>No experiments yet: <code>seqlab run experiments/quick.ini</code> makes one.</p>\n");
    } else {
        put(&h, "<nav><ul>\n");
        for (int i = 0; i < n; i++) {
            put(&h, "<li><a href=\"#exp-");
            put_url(&h, names[i]);
            put(&h, "\">");
            put_text(&h, names[i], -1);
            put(&h, "</a></li>\n");
        }
        put(&h, "</ul></nav>\n");
    }
    for (int i = 0; i < n; i++) put_experiment(&h, runs_dir, names[i]);
    put(&h, "</body>\n</html>\n");

    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/index.html", runs_dir);
    int rc = file_write_atomic(path, h.s, h.len, err, errlen);
    free(h.s);
    for (int i = 0; i < n; i++) free(names[i]);
    free(names);
    return rc;
}
