/*
 * report_html.h — the page builder the report's files share (report.c,
 * report_findings.c, report_explorer.c): a growing string with printf,
 * HTML-escaped text and relative URLs.
 *
 * What this file is not: a template engine; each section writes its HTML
 * in order.
 */
#ifndef SEQLAB_REPORT_HTML_H
#define SEQLAB_REPORT_HTML_H

#include <stddef.h>

#include "plot_data.h"

typedef struct Html {
    char *s;
    size_t len, cap;
} Html;

void put(Html *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* text with & < > " escaped; at most max bytes of it (max < 0: all) */
void put_text(Html *h, const char *s, long max);
/* a relative URL: each byte outside the unreserved set is %XX-encoded */
void put_url(Html *h, const char *path);
/* 1 if runs_dir/rel is a regular file */
int report_exists(const char *runs_dir, const char *rel);
/* the figures' colour of a model (plots/common.gp) */
const char *model_css_color(const char *model);

/* the findings box over every experiment (names[0..n) under runs_dir),
 * grouped by claim; nothing when no experiment has findings.csv */
void put_findings_box(Html *h, const char *runs_dir, char **names, int n);
/* the key sentences of the findings of experiment `name` whose figure is
 * `figure`, each in <strong>; nothing if none */
void put_figure_findings(Html *h, const char *runs_dir, const char *name, const char *figure);
/* one results table per grid group: rows = settings, columns = models,
 * with parameters; timing groups get time and memory instead */
void put_group_tables(Html *h, const Experiment *e);

/* the attention explorer of an experiment (attention/sN/attention.json
 * embedded in the page, with its script); nothing without them */
void put_attention_explorer(Html *h, const char *runs_dir, const char *name);
/* the explorers' script, once, after every explorer on the page */
void put_explorer_script(Html *h);

/* loss_vs_step / loss_vs_time as inline SVG, linear and log, with model
 * and log/linear toggles (report_curves.c); 0 (nothing written) for any
 * other figure or without <figure>.svg */
int put_curve_figure(Html *h, const char *runs_dir, const char *name, const char *figure);
/* the curve toggles' script, once, after every figure on the page */
void put_curves_script(Html *h);

#endif
