/*
 * report.c — runs/index.html: one self-contained page over every experiment.
 *
 * The page opens with the findings of every experiment, grouped by claim
 * (report_findings.c).  Then, for each runs/X/experiment.json: the
 * experiment's question, each figure that exists in runs/X/figures with a
 * caption (its measured key sentences from findings.csv, then what to look
 * for) and links to the CSVs it was drawn from, the attention maps and the
 * attention explorer (report_explorer.c), one results table per grid group,
 * the largest distance each model solved, and a few lines each model
 * generated, the prompt marked.
 *
 * The page has inline CSS, one inline script (the explorer) and nothing
 * from the network; every link and image is a relative path to a file that
 * exists when the page is written; it reads on a 1,400-px screen and on a
 * 420-px phone.  What this file is not: the figures (plot.c draws them).
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

#include <cjson/cJSON.h>

#include "plot_data.h"
#include "registry.h"
#include "report_html.h"
#include "sample.h"
#include "util.h"

/* "solved" in the distance table: the mean validation accuracy reaches this */
#define SOLVED_ACCURACY 0.9
/* how much of each samples.txt the page shows */
#define SAMPLE_CHARS 300

/* ============================================================ the page ==== */

void put(Html *h, const char *fmt, ...)
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
void put_text(Html *h, const char *s, long max)
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
void put_url(Html *h, const char *path)
{
    for (const unsigned char *c = (const unsigned char *)path; *c; c++) {
        if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
            strchr("-_.~/", *c))
            put(h, "%c", *c);
        else
            put(h, "%%%02X", *c);
    }
}

int report_exists(const char *runs_dir, const char *rel)
{
    char path[PATH_MAX * 2];
    snprintf(path, sizeof path, "%s/%s", runs_dir, rel);
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static const char *page_css =
    "*{box-sizing:border-box}"
    "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;max-width:1400px;"
    "margin:0 auto;padding:1em 2em;color:#222;line-height:1.45}"
    "h1{border-bottom:3px solid #0072B2;padding-bottom:.2em}"
    "h2{margin-top:2.5em;border-bottom:1px solid #ccc}"
    ".question{font-size:1.25em;font-style:italic;color:#333}"
    "figure{margin:1.5em 0;padding:0}"
    "figure img,figure svg{max-width:100%;height:auto;border:1px solid #ddd}"
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
    ".note{color:#666;font-size:.9em}.wide{overflow-x:auto;max-width:100%}"
    ".verdict{font-weight:600;white-space:nowrap}.holds{color:#00734d}.fails{color:#b3261e}"
    ".unmeasured{color:#7a5a00}td.verdict{text-align:left}"
    ".findings-table td,.findings-table th{white-space:normal;text-align:left;vertical-align:top}"
    ".findings-table tr.claim th{background:#fff;font-size:1.08em;padding-top:.9em;border-left:0;"
    "border-right:0}"
    ".findings-table td:nth-child(3){font-variant-numeric:tabular-nums}"
    ".sd,.n{color:#666;font-size:.85em}strong.key{color:#000}"
    ".data{font-size:.85em;color:#555}"
    ".explorer{border:1px solid #ccc;padding:.8em;border-radius:4px;max-width:60em}"
    ".explorer select{font-size:1em;margin-right:.6em;max-width:100%}"
    ".ex-view{display:block;width:100%;max-width:540px;height:auto;margin:.6em 0;"
    "font-family:inherit;font-variant-numeric:tabular-nums}"
    ".ex-view text{fill:#222}.ex-view .ex-head-label{fill:#666;font-size:12px}"
    ".ex-view .ex-left{cursor:pointer}.ex-view .ex-left:focus{outline:none}"
    ".ex-view .ex-query{fill:#332288;font-weight:700;text-decoration:underline}.ex-view .ex-num{fill:#555}"
    ".ex-key .ex-swatch{display:inline-block;margin:.2em .5em .2em 0;padding:0 .4em;"
    "border-left:1.2em solid;font-size:.9em}"
    ".ex-readout{font-variant-numeric:tabular-nums;font-size:.9em;min-height:2.8em}"
    ".prompt{background:#dbeafe;font-weight:600}"
    ".curve-controls button{font:inherit;margin:0 .3em .3em 0;padding:.1em .6em;border:2px solid #888;"
    "border-radius:3px;background:#fff;cursor:pointer}"
    ".curve-controls button[aria-pressed=false]{opacity:.45;text-decoration:line-through}"
    ".curve-controls .curve-scale{border-color:#444;background:#f3f3f3}"
    "@media (max-width:700px){body{padding:.5em .7em;font-size:15px}"
    /* on a phone a figure keeps a width its axis labels can be read at, and
     * scrolls sideways */
    ".figscroll{overflow-x:auto}.figscroll img{max-width:none;width:860px}"
    ".figscroll svg{max-width:none;width:860px;height:auto}"
    "h1{font-size:1.5em}h2{font-size:1.3em}th,td{padding:.2em .35em}"
    ".maps figure{width:100%;min-width:0}figcaption{font-size:.95em}"
    ".findings-table,.findings-table tbody,.findings-table tr,.findings-table td{display:block}"
    ".findings-table tr.head{display:none}.findings-table tr{border-bottom:1px solid #ccc}"
    ".findings-table td{border:0;padding:.1em .3em}"
    ".findings-table td::before{content:attr(data-label) \": \";color:#666}"
    ".findings-table tr.claim th{display:block;border:0}}";

/* the figures' model colours (plots/common.gp, model_color), by registry
 * position: the four course models, then the scan models; grey for any
 * other.  test_plot compares the two lists. */
const char *model_css_color(const char *model)
{
    static const char *colors[] = {"#E69F00", "#0072B2", "#009E73", "#D55E00",
                                   "#CC79A7", "#56B4E9", "#882255"};
    int i = model_order(model);
    return i >= 0 && i < (int)(sizeof colors / sizeof colors[0]) ? colors[i] : "#777777";
}

/* ============================================================ sections ==== */

/* a sentence grid's caption from its file name <label>.png: the sentence
 * of the experiment's attention/<label>/tokens.txt, whole, or the bare name */
static void put_map_caption(Html *h, const char *runs_dir, const char *name, const char *file)
{
    size_t len = strlen(file) - 4;   /* without .png */
    char tokens[PATH_MAX * 2], sentence[1024];
    snprintf(tokens, sizeof tokens, "%s/%s/attention/%.*s/tokens.txt", runs_dir, name, (int)len, file);
    if (attention_sentence(tokens, (int)sizeof sentence - 8, sentence, sizeof sentence) == 0) {
        put(h, "\xe2\x80\x9c");   /* “ */
        put_text(h, sentence, -1);
        put(h, "\xe2\x80\x9d");   /* ” */
        return;
    }
    put_text(h, file, (long)len);
}

/* the CSVs a figure is drawn from (figures/data/<prefix>*), as links */
static void put_data_links(Html *h, const char *runs_dir, const char *name, const char *figure)
{
    static const struct { const char *figure, *prefix; } data[] = {
        {"loss_vs_step", "metrics_"}, {"loss_vs_time", "metrics_"}, {"grad_norm", "metrics_"},
        {"grad_through_time", "gradtime_"}, {"accuracy_vs_distance", "distance_"},
        {"speed_vs_seq_len", "scaling_"}, {"memory_vs_seq_len", "scaling_"},
        {"perplexity", "perplexity_"}, {"threads", "threads"}, {"position_loss", "posloss_"},
    };
    const char *prefix = NULL;
    for (size_t i = 0; i < sizeof data / sizeof data[0]; i++)
        if (strcmp(data[i].figure, figure) == 0) prefix = data[i].prefix;
    put(h, "data: ");
    if (strcmp(figure, "posenc") == 0 && report_exists(runs_dir, "posenc.csv")) {
        put(h, "<a href=\"");
        put_url(h, name);
        put(h, "/posenc.csv\">posenc.csv</a>, ");
    }
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/%s/figures/data", runs_dir, name);
    DIR *d = prefix ? opendir(dir) : NULL;
    char **files = NULL;
    int nf = 0;
    struct dirent *de;
    while (d && (de = readdir(d))) {
        if (strncmp(de->d_name, prefix, strlen(prefix)) != 0) continue;
        files = xrealloc(files, (size_t)(nf + 1) * sizeof *files);
        files[nf++] = xstrdup(de->d_name);
    }
    if (d) closedir(d);
    for (int i = 1; i < nf; i++)
        for (int j = i; j > 0 && strcmp(files[j - 1], files[j]) > 0; j--) {
            char *t = files[j]; files[j] = files[j - 1]; files[j - 1] = t;
        }
    for (int i = 0; i < nf; i++) {
        char rel[PATH_MAX];
        snprintf(rel, sizeof rel, "%s/figures/data/%s", name, files[i]);
        put(h, "<a href=\"");
        put_url(h, rel);
        put(h, "\">");
        put_text(h, files[i], -1);
        put(h, "</a>, ");
        free(files[i]);
    }
    free(files);
    put(h, "<a href=\"");
    put_url(h, name);
    put(h, "/summary.csv\">summary.csv</a>");
}

/* the attention maps: one grid of layers x heads per sentence
 * (figures/attention_<label>.png); returns how many */
static int put_attention_maps(Html *h, const char *runs_dir, const char *name, int any)
{
    char rel[PATH_MAX], svg[PATH_MAX];
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/%s/figures", runs_dir, name);
    DIR *d = opendir(dir);
    if (!d) return 0;
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
    for (int i = 1; i < nm; i++)   /* sorted: sentence order */
        for (int j = i; j > 0 && strcmp(maps[j - 1], maps[j]) > 0; j--) {
            char *t = maps[j]; maps[j] = maps[j - 1]; maps[j - 1] = t;
        }
    if (nm) {
        if (!any) put(h, "<h3>Figures</h3>\n");
        put(h, "<h4 id=\"");
        put_url(h, name);
        put(h, "-attention\">Attention maps</h4><p>");
        put_figure_findings(h, runs_dir, name, "attention");
        put(h, "Each figure is one sentence through the Transformer (the first one the experiment "
               "trained): one map per layer (rows) and head (columns), all on one colour scale. In "
               "a map, row = the token reading (query), column = the token read (key), brightness "
               "= the attention weight. The upper triangle is empty because attention is causal; "
               "look for heads that read the previous token (a line beside the diagonal) or one "
               "fixed token (a bright column). The explorer below shows the same weights as "
               "numbers.</p>\n");
        for (int i = 0; i < nm; i++) {
            snprintf(rel, sizeof rel, "%s/figures/%s", name, maps[i]);
            snprintf(svg, sizeof svg, "%s", rel);
            memcpy(svg + strlen(svg) - 4, ".svg", 4);
            int has_svg = report_exists(runs_dir, svg);
            put(h, "<figure><div class=\"figscroll\">");
            put(h, "<img src=\"");
            put_url(h, rel);
            put(h, "\" alt=\"");
            put_text(h, maps[i], -1);
            put(h, "\" width=\"%d\" height=\"%d\"></div>", PLOT_WIDTH, PLOT_HEIGHT);
            put(h, "<figcaption>");
            put_map_caption(h, runs_dir, name, maps[i] + plen);
            put(h, "<br><span class=\"data\">");
            if (has_svg) {
                put(h, "<a href=\"");
                put_url(h, svg);
                put(h, "\">SVG</a> &middot; ");
            }
            put(h, "data: <a href=\"");
            char json[PATH_MAX];
            snprintf(json, sizeof json, "%s/attention/%.*s/attention.json", name,
                     (int)(strlen(maps[i]) - plen - 4), maps[i] + plen);
            put_url(h, json);
            put(h, "\">attention.json</a></span></figcaption></figure>\n");
            free(maps[i]);
        }
    }
    free(maps);
    return nm;
}

static void put_figures(Html *h, const char *runs_dir, const char *name)
{
    char rel[PATH_MAX], svg[PATH_MAX];
    int any = 0;
    for (int k = 0; k < plot_nfigures; k++) {
        snprintf(rel, sizeof rel, "%s/figures/%s.png", name, plot_figures[k].name);
        if (!report_exists(runs_dir, rel)) continue;
        snprintf(svg, sizeof svg, "%s/figures/%s.svg", name, plot_figures[k].name);
        int has_svg = report_exists(runs_dir, svg);
        if (!any) put(h, "<h3>Figures</h3>\n");
        any = 1;
        put(h, "<figure id=\"");
        put_text(h, name, -1);
        put(h, "-%s\">", plot_figures[k].name);
        if (!put_curve_figure(h, runs_dir, name, plot_figures[k].name)) {
            put(h, "<div class=\"figscroll\"><img src=\"");
            put_url(h, rel);
            put(h, "\" alt=\"%s\" width=\"%d\" height=\"%d\"></div>", plot_figures[k].name,
                PLOT_WIDTH, PLOT_HEIGHT);
        }
        put(h, "<figcaption>");
        put_figure_findings(h, runs_dir, name, plot_figures[k].name);
        put_text(h, plot_figures[k].caption, -1);
        put(h, "<br><span class=\"data\">");
        if (has_svg) {
            put(h, "<a href=\"");
            put_url(h, svg);
            put(h, "\">SVG</a> (in the loss and time figures, hover a point to read its values) "
                   "&middot; ");
        }
        put_data_links(h, runs_dir, name, plot_figures[k].name);
        put(h, "</span></figcaption></figure>\n");
    }
    any |= put_attention_maps(h, runs_dir, name, any) > 0;
    if (!any) put(h, "<p class=\"note\">No figures yet: run <code>seqlab plot</code> on this "
                     "experiment.</p>\n");
}

static void put_model_cell(Html *h, const char *model, const char *label)
{
    put(h, "<td><span class=\"swatch\" style=\"background:%s\"></span>", model_css_color(model));
    put_text(h, label, -1);
    put(h, "</td>");
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

/* a run's prompt (run.json config "prompt"); "" when the file lacks it */
static void run_prompt(const char *runs_dir, const char *name, const Run *r, char *out, size_t n)
{
    char path[PATH_MAX * 2];
    snprintf(path, sizeof path, "%s/%s/%s/run.json", runs_dir, name, r->name);
    out[0] = '\0';
    size_t len;
    char *text = file_read_all(path, &len);
    if (!text) return;
    cJSON *o = cJSON_Parse(text);
    free(text);
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(o, "config"), "prompt");
    if (cJSON_IsString(p)) snprintf(out, n, "%s", p->valuestring);
    cJSON_Delete(o);
}

/* the first lines each model wrote (first run of each setting with
 * samples), the prompt it started from marked */
static void put_samples(Html *h, const char *runs_dir, const Experiment *e)
{
    Group *g;
    int ng = groups_make(e, NULL, e->nruns, KEYS_SERIES | KEYS_PANEL, &g), any = 0;
    for (int k = 0; k < ng; k++) {
        for (int i = 0; i < g[k].n; i++) {
            const Run *r = &e->runs[g[k].idx[i]];
            char rel[PATH_MAX], path[PATH_MAX * 2], prompt[SAMPLE_CHARS + 1];
            snprintf(rel, sizeof rel, "%s/%s/samples.txt", e->name, r->name);
            if (!report_exists(runs_dir, rel)) continue;
            snprintf(path, sizeof path, "%s/%s", runs_dir, rel);
            size_t len;
            char *text = file_read_all(path, &len);
            if (!text) continue;
            if (!any) put(h, "<h3>Samples</h3>\n<p class=\"note\">The first %d characters each "
                             "model generated after training, sampled at temperature %.1f; "
                             "<span class=\"prompt\">the prompt</span> it was given is marked "
                             "(what follows is the model's).</p>\n", SAMPLE_CHARS, SAMPLE_TEMPERATURE);
            any = 1;
            put(h, "<h4><span class=\"swatch\" style=\"background:%s\"></span>",
                model_css_color(r->model));
            put_text(h, g[k].label, -1);
            put(h, " <span class=\"note\">(<a href=\"");
            put_url(h, rel);
            put(h, "\">");
            put_text(h, r->name, -1);
            put(h, "/samples.txt</a>, temperature %.1f)</span></h4>\n<pre>", SAMPLE_TEMPERATURE);
            run_prompt(runs_dir, e->name, r, prompt, sizeof prompt);
            size_t pl = strlen(prompt);
            if (pl && strncmp(text, prompt, pl) == 0) {
                put(h, "<span class=\"prompt\" title=\"prompt\">");
                put_text(h, prompt, -1);
                put(h, "</span>");
                put_text(h, text + pl, SAMPLE_CHARS - (long)pl);
            } else {
                put_text(h, text, SAMPLE_CHARS);
            }
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
    put_attention_explorer(h, runs_dir, name);
    if (loaded && e.nruns) {
        put_group_tables(h, &e);
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

/* the colour key: the models the experiments on the page ran (their
 * summary.csv), in registry order; nothing if none */
static void put_model_key(Html *h, const char *runs_dir, char **names, int n)
{
    int nm = model_info_count(), shown = 0;
    int *present = xcalloc((size_t)nm, sizeof *present);
    for (int i = 0; i < n; i++) {
        char dir[PATH_MAX], err[512];
        Experiment e;
        snprintf(dir, sizeof dir, "%s/%s", runs_dir, names[i]);
        if (experiment_load(&e, dir, err, sizeof err) == 0)
            for (int r = 0; r < e.nruns; r++) {
                int m = model_order(e.runs[r].model);
                if (m >= 0 && m < nm) present[m] = 1;
            }
        experiment_free(&e);
    }
    for (int m = 0; m < nm; m++) {
        if (!present[m]) continue;
        put(h, "%s<span class=\"swatch\" style=\"background:%s\"></span>%s",
            shown++ ? ", " : " Colours are the same in every figure and table: ",
            model_css_color(model_info_at(m)->name), model_info_at(m)->name);
    }
    if (shown) put(h, ".");
    free(present);
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
        if (!report_exists(runs_dir, rel)) continue;
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
    put(&h, "<p class=\"note\">Written by <code>seqlab</code> on %s.", when);
    put_model_key(&h, runs_dir, names, n);
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
    put_findings_box(&h, runs_dir, names, n);
    for (int i = 0; i < n; i++) put_experiment(&h, runs_dir, names[i]);
    put_explorer_script(&h);
    put_curves_script(&h);
    put(&h, "</body>\n</html>\n");

    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/index.html", runs_dir);
    int rc = file_write_atomic(path, h.s, h.len, err, errlen);
    free(h.s);
    for (int i = 0; i < n; i++) free(names[i]);
    free(names);
    return rc;
}
