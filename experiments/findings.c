/*
 * findings.c — one measured finding per course claim (findings.h).
 *
 * Each claim below is a function that picks its runs by their settings (not
 * by the grid group's name), reads the numbers it needs, fills a Finding and
 * decides the verdict with the thresholds named at the top.  The last part
 * of the file is the table of claims and findings.csv.
 *
 * What this file is not: the figures; a finding names the figure that shows
 * it and supplies that figure's key sentence.
 */
#define _GNU_SOURCE
#include "findings.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <gsl/gsl_fit.h>
#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>

#include "registry.h"
#include "util.h"

/* ============================================================ thresholds == */

/* a fitted exponent "is" k when within this of it (two or three points of
 * T on a log axis; allocation overheads bend the line a little) */
#define EXPONENT_TOL 0.25
/* a scan's critical path, 2 ceil(log2 T) + 1 steps a layer, fitted as T^k over
 * T = 64 ... 1024: k = 0.17; a step-by-step recurrence's is 1 */
#define SCAN_PATH_MAX_EXPONENT 0.5
/* the gradient "vanishes" over the distance d when ||dL/dh|| falls by more
 * than this factor between the loss and d steps back */
#define VANISH_FACTOR 100.0
/* the global gradient norm "explodes" above this */
#define EXPLODE_NORM 100.0
/* one model is better than another when the mean difference in accuracy
 * exceeds this and twice the larger sd over seeds */
#define ACCURACY_MARGIN 0.10
/* the same for a validation loss, in nats */
#define LOSS_MARGIN 0.02
/* a task is solved at this validation accuracy */
#define SOLVED_ACCURACY 0.9
/* a head "differs" from another when their mean attention distances differ
 * by at least this many tokens, or their entropies by this many nats */
#define HEAD_DISTANCE_SPREAD 1.0
/* step times whose middle half spreads wider than this fraction of their
 * median were measured on a busy machine: a speed-up read from them is noise */
#define TIMING_NOISE 0.25
/* clipping "tames" a run when its loss ends this many nats below the
 * unclipped run's */
#define TAMED_MARGIN 0.1
#define HEAD_ENTROPY_SPREAD 0.3
/* "Man bites dog": the total variation distance between the next-token
 * distributions after the two orders is "none" up to rounding below
 * ORDER_EXACT (a one-layer causal model without positions whose texts end
 * in the same token sees the same set: equal in exact arithmetic, the float
 * sums only run in another order) and "clearly > 0" above ORDER_MARGIN,
 * ten times that bound */
#define ORDER_EXACT 1e-4
#define ORDER_MARGIN 1e-3
/* a matrix is diagonally dominant when the token's weight on itself is more
 * than the rest of its row: a share above one half */
#define DIAGONAL_SHARE 0.5
/* the words "it" may refer to in the course's sentence ("animal"; a KJV
 * vocabulary has "beast" instead) */
static const char *const it_referents[] = {"animal", "beast"};

#define MAXR 256   /* runs a claim compares at once */

/* =============================================================== helpers == */

static void say(char *out, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void say(char *out, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out, n, fmt, ap);
    va_end(ap);
}
#define SAY(field, ...) say(f->field, sizeof f->field, __VA_ARGS__)

/* what a claim asks of a model comes from its descriptor (core/registry.h):
 * "an RNN" is the plain recurrence (recurrent, no gates), "gates" the gated
 * recurrences, "a Transformer" a model with attention */
static int model_is_recurrent(const char *model)
{
    const ModelInfo *i = model_info_find(model);
    return i && i->recurrent;
}
static int model_is_attention(const char *model)
{
    const ModelInfo *i = model_info_find(model);
    return i && i->attention;
}
static int model_is_plain(const char *model)
{
    /* the vanilla RNN of the course: not the scan recurrences (lti has no gate either) */
    const ModelInfo *i = model_info_find(model);
    return i && i->recurrent && !i->gated && !i->scan;
}
/* a recurrence computed as a scan (mingru/): O(log T) deep, not T */
static int model_is_scan(const char *model)
{
    const ModelInfo *i = model_info_find(model);
    return i && i->scan;
}
static int model_is_gated(const char *model)
{
    const ModelInfo *i = model_info_find(model);
    return i && i->recurrent && i->gated;
}
/* the first registered model that passes `is` (NULL if none) */
static const char *first_model(int (*is)(const char *))
{
    for (int k = 0; k < model_info_count(); k++)
        if (is(model_info_at(k)->name)) return model_info_at(k)->name;
    return NULL;
}
/* a model's name for people ("RNN") */
static const char *title_of(const char *model)
{
    const ModelInfo *i = model_info_find(model);
    return i ? i->title : model;
}

/* which runs a claim looks at: NULL / NAN / 0 mean "any" */
typedef struct Sel {
    const char *model;
    const char *task;          /* a task name, or "text" for any text task */
    const char *group;
    double distance, seq_len, threads, clip;
    int learning;              /* 1: leave out the timing runs (run_is_timing) */
} Sel;
#define SEL_ANY {NULL, NULL, NULL, NAN, NAN, NAN, NAN, 0}

static int num_matches(double want, double have) { return isnan(want) || want == have; }

static int select_runs(const Experiment *e, const Sel *s, int *idx)
{
    int n = 0;
    for (int i = 0; i < e->nruns && n < MAXR; i++) {
        const Run *r = &e->runs[i];
        if (s->model && strcmp(r->model, s->model) != 0) continue;
        if (s->task && !(strcmp(s->task, "text") == 0 ? task_is_text(r->task) : strcmp(r->task, s->task) == 0))
            continue;
        if (s->group && strcmp(r->group, s->group) != 0) continue;
        if (!num_matches(s->distance, r->distance) || !num_matches(s->seq_len, r->seq_len) ||
            !num_matches(s->threads, r->threads) || !num_matches(s->clip, r->clip))
            continue;
        if (s->learning && run_is_timing(e, r)) continue;
        /* one run per seed and setting: a repeat at another thread count
         * is the same experiment, not another seed */
        int repeat = 0;
        for (int k = 0; k < n && !repeat; k++) {
            const Run *q = &e->runs[idx[k]];
            repeat = q->seed == r->seed && strcmp(q->model, r->model) == 0 && strcmp(q->task, r->task) == 0 &&
                     num_matches(q->distance, r->distance) && q->seq_len == r->seq_len && q->clip == r->clip &&
                     strcmp(q->positions, r->positions) == 0 && num_matches(q->init_scale, r->init_scale);
        }
        if (repeat) continue;
        idx[n++] = i;
    }
    return n;
}

/* mean and sd of a summary field over the selected runs; returns the count */
static int sel_stats(const Experiment *e, const Sel *s, size_t off, double *mean, double *sd)
{
    int idx[MAXR], n = select_runs(e, s, idx);
    double v[MAXR];
    for (int i = 0; i < n; i++) v[i] = *(const double *)((const char *)&e->runs[idx[i]] + off);
    *mean = NAN;
    *sd = NAN;
    return n ? stats_mean_sd(v, n, mean, sd) : 0;
}
#define SEL_STATS(e, s, field, m, sd) sel_stats((e), (s), offsetof(Run, field), (m), (sd))

/* "0.91 ± 0.02 (2 seeds)" or "0.91 (1 seed)" */
static void fmt_ms(char *out, size_t n, double mean, double sd, int seeds, const char *fmt)
{
    char m[24], s[24];
    snprintf(m, sizeof m, fmt, mean);
    snprintf(s, sizeof s, fmt, sd);
    if (seeds >= 2) snprintf(out, n, "%s ± %s", m, s);
    else snprintf(out, n, "%s", m);
}

/* the larger sd, 0 where undefined */
static double sd_max(double a, double b)
{
    a = isfinite(a) ? a : 0;
    b = isfinite(b) ? b : 0;
    return a > b ? a : b;
}

static CsvTable *run_csv(const Experiment *e, const Run *r, const char *file)
{
    char path[2048], err[512];
    run_path(path, sizeof path, e, r, file);
    FILE *probe = fopen(path, "r");
    if (!probe) return NULL;
    fclose(probe);
    return csv_read(path, err, sizeof err);
}

/* the largest value of a column in a run's CSV (NAN if none) */
static double csv_column_max(const Experiment *e, const Run *r, const char *file, const char *col)
{
    CsvTable *t = run_csv(e, r, file);
    if (!t) return NAN;
    double best = NAN;
    int c = csv_col(t, col);
    for (int i = 0; i < t->nrows; i++) {
        double x = csv_num(t, i, c);
        if (isfinite(x) && !(x <= best)) best = x;
    }
    csv_free(t);
    return best;
}

/* set the verdict from the comparison, or "not measured" for too few seeds */
static void decide(Finding *f, int holds, int min_seeds)
{
    if (f->seeds < min_seeds) {
        f->verdict = VERDICT_NOT_MEASURED;
        size_t n = strlen(f->comparison);
        say(f->comparison + n, sizeof f->comparison - n, "%s%d seed%s: a verdict needs %d", n ? "; " : "",
            f->seeds, f->seeds == 1 ? "" : "s", min_seeds);
        return;
    }
    f->verdict = holds ? VERDICT_HOLDS : VERDICT_FAILS;
}

static int not_measured(Finding *f, const char *figure, const char *why)
{
    f->verdict = VERDICT_NOT_MEASURED;
    SAY(comparison, "%s", why);
    SAY(figure, "%s", figure);
    return 1;
}

double findings_fit_exponent(const double *x, const double *y, int n, double *r2)
{
    double *lx = xmalloc((size_t)(n > 0 ? n : 1) * sizeof *lx), *ly = xmalloc((size_t)(n > 0 ? n : 1) * sizeof *ly);
    int m = 0;
    for (int i = 0; i < n; i++)
        if (x[i] > 0 && y[i] > 0 && isfinite(x[i]) && isfinite(y[i])) {
            lx[m] = log(x[i]);
            ly[m++] = log(y[i]);
        }
    double k = NAN;
    if (r2) *r2 = NAN;
    if (m >= 2) {
        double c0, c1, cov00, cov01, cov11, sumsq;
        gsl_fit_linear(lx, 1, ly, 1, (size_t)m, &c0, &c1, &cov00, &cov01, &cov11, &sumsq);
        k = c1;
        if (r2) {
            double tss = gsl_stats_tss(ly, 1, (size_t)m);
            *r2 = tss > 0 ? 1 - sumsq / tss : 1;
        }
    }
    free(lx);
    free(ly);
    return k;
}

double findings_fit_rate(const double *k, const double *y, int n)
{
    double *lk = xmalloc((size_t)(n > 0 ? n : 1) * sizeof *lk), *ly = xmalloc((size_t)(n > 0 ? n : 1) * sizeof *ly);
    int m = 0;
    for (int i = 0; i < n; i++)
        if (y[i] > 0 && isfinite(y[i]) && isfinite(k[i])) {
            lk[m] = k[i];
            ly[m++] = log(y[i]);
        }
    double rate = NAN;
    if (m >= 2) {
        double c0, c1, cov00, cov01, cov11, sumsq;
        gsl_fit_linear(lk, 1, ly, 1, (size_t)m, &c0, &c1, &cov00, &cov01, &cov11, &sumsq);
        rate = exp(c1);
    }
    free(lk);
    free(ly);
    return rate;
}

/* ====================================================== scaling with T == */

/* the grid group whose runs span the most window lengths with 1 thread,
 * among the short-budget (timing) groups if there are any; "" if no group
 * has two.  A learning grid over distances also spans window lengths, but
 * what its runs learn changes with the distance. */
static void timing_group(const Experiment *e, char *out, size_t n)
{
    int best = 1, short_only = 0;
    for (int i = 0; i < e->nruns; i++) short_only |= run_is_timing(e, &e->runs[i]);
    out[0] = '\0';
    for (int i = 0; i < e->nruns; i++) {
        const Run *r = &e->runs[i];
        if (r->threads > 1 || (short_only && !run_is_timing(e, r))) continue;
        double ts[MAXR];
        int m = 0;
        for (int j = 0; j < e->nruns && m < MAXR; j++)
            if (strcmp(e->runs[j].group, r->group) == 0 && strcmp(e->runs[j].model, r->model) == 0 &&
                !(e->runs[j].threads > 1))
                ts[m++] = e->runs[j].seq_len;
        gsl_sort(ts, 1, (size_t)m);
        int distinct = 0;
        for (int j = 0; j < m; j++) distinct += j == 0 || ts[j] != ts[j - 1];
        if (distinct > best) { best = distinct; snprintf(out, n, "%s", r->group); }
    }
}

double findings_step_ms(const Experiment *e, const Run *r, double *q1, double *q3, int *repeats)
{
    CsvTable *t = run_csv(e, r, "timing.csv");
    double v[4096];
    int m = 0;
    if (t) {
        int c = csv_col(t, "step_ms");
        for (int i = TIMING_WARMUP_ROWS; i < t->nrows && m < 4096; i++) {
            double x = csv_num(t, i, c);
            if (isfinite(x)) v[m++] = x;
        }
        csv_free(t);
    }
    *repeats = m;
    if (m < 3) { *repeats = 1; *q1 = *q3 = r->step_ms; return r->step_ms; }
    gsl_sort(v, 1, (size_t)m);
    *q1 = gsl_stats_quantile_from_sorted_data(v, 1, (size_t)m, 0.25);
    *q3 = gsl_stats_quantile_from_sorted_data(v, 1, (size_t)m, 0.75);
    return gsl_stats_median_from_sorted_data(v, 1, (size_t)m);
}

/* the median step time, and the spread of the middle half relative to it */
static double run_step_ms(const Experiment *e, const Run *r, double *spread, int *repeats)
{
    double q1, q3, med = findings_step_ms(e, r, &q1, &q3, repeats);
    *spread = med > 0 ? (q3 - q1) / med : 0;
    return med;
}

/* per model of the timing group: a field against T, fitted exponent */
typedef struct ModelFit {
    char model[32];
    int npts;
    double T[16], y[16];
    double k;
} ModelFit;

/* field < 0: the median step time from timing.csv; else a summary field */
static int fit_per_model(const Experiment *e, const char *group, long field, ModelFit *fits, int *min_repeats)
{
    int nf = 0;
    if (min_repeats) *min_repeats = 1 << 30;
    for (int i = 0; i < e->nruns; i++) {
        const Run *r = &e->runs[i];
        if (strcmp(r->group, group) != 0 || r->threads > 1) continue;
        int k = 0;
        while (k < nf && strcmp(fits[k].model, r->model) != 0) k++;
        if (k == nf) {
            if (nf == 8) continue;
            memset(&fits[nf], 0, sizeof fits[nf]);
            snprintf(fits[nf++].model, sizeof fits[k].model, "%s", r->model);
        }
        ModelFit *m = &fits[k];
        if (m->npts == 16) continue;
        double y;
        if (field < 0) {
            double spread;
            int reps;
            y = run_step_ms(e, r, &spread, &reps);
            if (min_repeats && reps < *min_repeats) *min_repeats = reps;
        } else {
            y = *(const double *)((const char *)r + field);
        }
        m->T[m->npts] = r->seq_len;
        m->y[m->npts++] = y;
    }
    for (int k = 0; k < nf; k++) fits[k].k = findings_fit_exponent(fits[k].T, fits[k].y, fits[k].npts, NULL);
    /* model order, as in every figure */
    for (int a = 1; a < nf; a++)
        for (int b = a; b > 0 && model_order(fits[b].model) < model_order(fits[b - 1].model); b--) {
            ModelFit tmp = fits[b];
            fits[b] = fits[b - 1];
            fits[b - 1] = tmp;
        }
    return nf;
}

static void append(char *out, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void append(char *out, size_t n, const char *fmt, ...)
{
    size_t len = strlen(out);
    if (len >= n) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out + len, n - len, fmt, ap);
    va_end(ap);
}
#define ADD(field, ...) append(f->field, sizeof f->field, __VA_ARGS__)

/* RNNs are sequential, Transformers parallel: the critical path (the
 * longest chain of dependent steps in one forward) against T */
static int measure_sequential(const Experiment *e, Finding *f)
{
    char g[64];
    timing_group(e, g, sizeof g);
    if (!g[0]) return 0;
    ModelFit cp[8], ms[8];
    int reps;
    int n = fit_per_model(e, g, (long)offsetof(Run, critical_path), cp, NULL);
    fit_per_model(e, g, -1, ms, &reps);
    SAY(measurement, "critical path (dependent steps in one forward) and median time per step against T "
                     "(grid %s, T %g-%g)", g, cp[0].T[0], cp[0].T[cp[0].npts - 1]);
    int holds = 1, has_rec = 0, has_att = 0;
    for (int k = 0; k < n; k++) {
        ADD(value, "%s%s: path ~T^%.2f, time ~T^%.2f", k ? "; " : "", cp[k].model, cp[k].k, ms[k].k);
        /* the scan models are the exception the claim "scan" measures */
        if (model_is_recurrent(cp[k].model) && !model_is_scan(cp[k].model)) {
            has_rec = 1;
            holds &= fabs(cp[k].k - 1) < EXPONENT_TOL;
        }
        if (model_is_attention(cp[k].model)) { has_att = 1; holds &= fabs(cp[k].k) < EXPONENT_TOL; }
    }
    SAY(comparison, "path exponent 1 for recurrence (the scan models aside), 0 for attention (±%.2f); "
                    "time medians of %d steps after %d warm-up", EXPONENT_TOL, reps, TIMING_WARMUP_ROWS);
    f->seeds = 1;
    f->verdict = has_rec && has_att ? (holds ? VERDICT_HOLDS : VERDICT_FAILS) : VERDICT_NOT_MEASURED;
    SAY(figure, "speed_vs_seq_len");
    double rk = NAN, tk = NAN;
    for (int k = 0; k < n; k++) {
        if (model_is_plain(cp[k].model) && !isfinite(rk)) rk = ms[k].k;
        if (model_is_attention(cp[k].model)) tk = ms[k].k;
    }
    SAY(sentence, "Measured: the RNN's time per step grows like T^%.2f and the Transformer's like T^%.2f; "
                  "the critical path is T steps for every recurrent model and one per layer for the "
                  "Transformer.", rk, tk);
    return 1;
}

/* where "RNNs are sequential" stops holding: a recurrence whose gates read
 * only the input is a scan, whose critical path grows like log T (mingru/),
 * against T for the recurrences whose gates read h_{t-1}; and the time per
 * step each takes on this machine's cores */
static int measure_scan(const Experiment *e, Finding *f)
{
    char g[64];
    timing_group(e, g, sizeof g);
    if (!g[0]) return 0;
    ModelFit cp[8], ms[8];
    int reps;
    int n = fit_per_model(e, g, (long)offsetof(Run, critical_path), cp, NULL);
    fit_per_model(e, g, -1, ms, &reps);
    int has_scan = 0, has_seq = 0, holds = 1;
    double ks = NAN, kq = NAN, ts = NAN, tq = NAN;
    const char *scan_name = NULL, *seq_name = NULL;
    for (int k = 0; k < n; k++) {
        if (!model_is_recurrent(cp[k].model)) continue;
        ADD(value, "%s%s: path ~T^%.2f, time ~T^%.2f", f->value[0] ? "; " : "", cp[k].model, cp[k].k, ms[k].k);
        if (model_is_scan(cp[k].model)) {
            has_scan = 1;
            holds &= cp[k].k < SCAN_PATH_MAX_EXPONENT;
            if (!scan_name) { scan_name = cp[k].model; ks = cp[k].k; ts = ms[k].k; }
        } else {
            has_seq = 1;
            holds &= fabs(cp[k].k - 1) < EXPONENT_TOL;
            if (!seq_name || model_is_gated(cp[k].model)) { seq_name = cp[k].model; kq = cp[k].k; tq = ms[k].k; }
        }
    }
    if (!has_scan) return 0;
    SAY(measurement, "critical path and median time per step against T of the scan recurrences (gates "
                     "from the input only) and the step-by-step ones (grid %s)", g);
    SAY(comparison, "path exponent below %.2f for a scan (log T), 1 (±%.2f) for the others; time medians "
                    "of %d steps on this machine's cores", SCAN_PATH_MAX_EXPONENT, EXPONENT_TOL, reps);
    f->seeds = 1;
    f->verdict = has_scan && has_seq ? (holds ? VERDICT_HOLDS : VERDICT_FAILS) : VERDICT_NOT_MEASURED;
    SAY(figure, "speed_vs_seq_len");
    if (has_seq)
        SAY(sentence, "Measured: %s's critical path grows like T^%.2f (a scan: 2 log2 T + 1 steps a layer), "
                      "%s's like T^%.2f; their times per step like T^%.2f and T^%.2f here, where a few "
                      "cores cannot run a scan's levels at once.", scan_name, ks, seq_name, kq, ts, tq);
    else
        SAY(sentence, "Measured: %s's critical path grows like T^%.2f (a scan: 2 log2 T + 1 steps a layer).",
            scan_name, ks);
    return 1;
}

/* a second core: speed-up of runs identical but for the thread count, at
 * the longest window run with 2 threads, per model (mean over pairs) */
static int measure_threads(const Experiment *e, Finding *f)
{
    double T = NAN;
    for (int i = 0; i < e->nruns; i++)
        if (e->runs[i].threads == 2 && !(e->runs[i].seq_len <= T)) T = e->runs[i].seq_len;
    if (!isfinite(T)) return 0;
    double sp_att = NAN, sp_rec = NAN, noise = 0;
    int any = 0, faster = 0;
    for (int k = 0; k < model_info_count(); k++) {
        const char *model = model_info_at(k)->name;
        double sum = 0;
        int n = 0;
        for (int i = 0; i < e->nruns; i++) {
            const Run *a = &e->runs[i];
            if (a->threads != 2 || a->seq_len != T || strcmp(a->model, model) != 0) continue;
            for (int j = 0; j < e->nruns; j++) {
                const Run *b = &e->runs[j];
                if (b->threads != 1 || strcmp(a->model, b->model) != 0 || a->seq_len != b->seq_len ||
                    strcmp(a->task, b->task) != 0 || a->batch_size != b->batch_size || a->seed != b->seed)
                    continue;
                double s1, s2;
                int r1, r2;
                sum += run_step_ms(e, b, &s1, &r1) / run_step_ms(e, a, &s2, &r2);
                if (s1 > noise) noise = s1;
                if (s2 > noise) noise = s2;
                n++;
                break;
            }
        }
        if (!n) continue;
        double sp = sum / n;
        ADD(value, "%s%s ×%.2f", any ? "; " : "", model, sp);
        any = 1;
        faster += sp > 1;
        if (model_is_attention(model)) sp_att = sp;
        else if (!(sp <= sp_rec)) sp_rec = sp;
    }
    if (!any) return 0;
    SAY(measurement, "speed-up of 2 threads over 1 (median time per step), runs identical but for the "
                     "thread count, T = %g", T);
    f->seeds = 1;
    SAY(figure, "threads");
    if (noise > TIMING_NOISE) {
        SAY(comparison, "not fairly measurable: step times varied by up to %.0f%% of their median within a "
                        "run (more than %.0f%%), so the machine was busy", 100 * noise, 100 * TIMING_NOISE);
        f->verdict = VERDICT_NOT_MEASURED;
        SAY(sentence, "Not measured fairly here: the step times varied by up to %.0f%% within a run, so the "
                      "speed-ups shown are mostly the machine's other work.", 100 * noise);
        return 1;
    }
    if (!faster) {
        SAY(comparison, "2 threads were slower for every model: the second core was busy, so this machine "
                        "could not measure the gain fairly");
        f->verdict = VERDICT_NOT_MEASURED;
        SAY(sentence, "Not measured fairly here: every model ran slower with 2 threads, so the second core "
                      "was busy with other work.");
        return 1;
    }
    SAY(comparison, "the Transformer's gain against the best recurrent model's");
    f->verdict = isfinite(sp_att) && isfinite(sp_rec) ? (sp_att > sp_rec ? VERDICT_HOLDS : VERDICT_FAILS)
                                                      : VERDICT_NOT_MEASURED;
    SAY(sentence, "Measured: a second thread speeds the Transformer up ×%.2f and the best recurrent model "
                  "×%.2f.", sp_att, sp_rec);
    return 1;
}

/* attention memory is O(T²): exponent of the attention matrices' bytes
 * against T, beside the recurrent models' activation bytes */
static int measure_attn_memory(const Experiment *e, Finding *f)
{
    char g[64];
    timing_group(e, g, sizeof g);
    if (!g[0]) return 0;
    ModelFit act[8], att[8];
    int n = fit_per_model(e, g, (long)offsetof(Run, act_mb), act, NULL);
    fit_per_model(e, g, (long)offsetof(Run, attn_mb), att, NULL);
    SAY(measurement, "exponent k of memory ~ T^k: the attention matrices' bytes (Transformer), the "
                     "activations kept for backward (recurrent)");
    int holds = 1, has_rec = 0, has_att = 0;
    double ka = NAN, kr = NAN;
    for (int k = 0; k < n; k++) {
        if (model_is_attention(act[k].model)) {
            ADD(value, "%s%s attention ~T^%.2f (all activations ~T^%.2f)", f->value[0] ? "; " : "",
                act[k].model, att[k].k, act[k].k);
            has_att = isfinite(att[k].k);
            holds &= fabs(att[k].k - 2) < EXPONENT_TOL;
            ka = att[k].k;
        } else {
            ADD(value, "%s%s ~T^%.2f", f->value[0] ? "; " : "", act[k].model, act[k].k);
            has_rec = 1;
            holds &= fabs(act[k].k - 1) < EXPONENT_TOL;
            if (model_is_plain(act[k].model) || !isfinite(kr)) kr = act[k].k;
        }
    }
    SAY(comparison, "2 for attention, 1 for recurrence (±%.2f), least squares on log-log", EXPONENT_TOL);
    f->seeds = 1;
    f->verdict = has_rec && has_att ? (holds ? VERDICT_HOLDS : VERDICT_FAILS) : VERDICT_NOT_MEASURED;
    if (!has_att) SAY(comparison, "no attention bytes in summary.csv (attn_mb)");
    SAY(figure, "memory_vs_seq_len");
    SAY(sentence, "Measured: the attention matrices grow like T^%.2f, the recurrent activations like T^%.2f.",
        ka, kr);
    return 1;
}

/* ===================================================== gradients in time == */

/* per-step factor of ||dL/dh|| at initialisation (step 0, series h) */
static double init_rate(const Experiment *e, const Run *r, double *over_d)
{
    CsvTable *t = run_csv(e, r, "gradients.csv");
    *over_d = NAN;
    if (!t) return NAN;
    int cs = csv_col(t, "step"), cser = csv_col(t, "series"), ck = csv_col(t, "steps_back"),
        cn = csv_col(t, "norm");
    double k[4096], y[4096], ymax = 0, kmax = 0, y0 = NAN, yd = NAN;
    int m = 0;
    for (int i = 0; i < t->nrows && m < 4096; i++) {
        if (csv_num(t, i, cs) != 0 || strcmp(csv_str(t, i, cser), model_is_attention(r->model) ? "x" : "h") != 0)
            continue;
        k[m] = csv_num(t, i, ck);
        y[m] = csv_num(t, i, cn);
        if (k[m] == 0) y0 = y[m];
        if (k[m] >= kmax) { kmax = k[m]; yd = y[m]; }
        if (y[m] > ymax) ymax = y[m];
        m++;
    }
    csv_free(t);
    *over_d = y0 / yd;
    return findings_fit_rate(k, y, m);
}

/* the run of `model` at init scale 1 whose loss sits at the end, at the
 * largest distance (not the clipping demonstration, not a timing run) */
static const Run *vanishing_run(const Experiment *e, const char *model)
{
    const Run *best = NULL;
    for (int i = 0; i < e->nruns; i++) {
        const Run *r = &e->runs[i];
        if (strcmp(r->model, model) != 0 || task_every_position(r->task) || !task_has_distance(r->task) ||
            run_is_timing(e, r))
            continue;
        if (isfinite(r->init_scale) && r->init_scale != 1) continue;
        if (!(r->clip > 0) && isfinite(r->clip)) continue;   /* the clipping demonstration */
        if (!best || r->distance > best->distance) best = r;
    }
    return best;
}

static int measure_vanishing(const Experiment *e, Finding *f)
{
    const char *plain = first_model(model_is_plain);
    const Run *r = plain ? vanishing_run(e, plain) : NULL;
    if (!r) return 0;
    double over_d, rate = init_rate(e, r, &over_d);
    if (!isfinite(rate)) return not_measured(f, "grad_through_time", "no gradients.csv at step 0");
    SAY(measurement, "||dL/dh_t|| at initialisation against the steps k back from the loss (recall, d = %g)",
        r->distance);
    SAY(value, "%s ×%.3f per step, ÷%.3g over %g steps", plain, rate, over_d, r->distance);
    for (int k = 0; k < model_info_count(); k++) {
        const char *other = model_info_at(k)->name;
        const Run *o = model_is_gated(other) ? vanishing_run(e, other) : NULL;
        if (!o) continue;
        double od, orate = init_rate(e, o, &od);
        if (isfinite(orate)) ADD(value, "; %s ×%.3f per step", other, orate);
    }
    SAY(comparison, "vanishes when the norm falls more than %gx over the distance", VANISH_FACTOR);
    f->seeds = 1;
    f->verdict = over_d > VANISH_FACTOR ? VERDICT_HOLDS : VERDICT_FAILS;
    SAY(figure, "grad_through_time");
    SAY(sentence, "Measured at initialisation: the %s's gradient shrinks ×%.3f per step, %.3g-fold over %g "
                  "steps.", title_of(plain), rate, over_d, r->distance);
    return 1;
}

/* a run that explodes without clipping (max global norm > EXPLODE_NORM)
 * and is tamed with it */
static int measure_exploding(const Experiment *e, Finding *f)
{
    const Run *noclip = NULL, *clip = NULL;
    for (int i = 0; i < e->nruns; i++) {
        const Run *r = &e->runs[i];
        if (!model_is_recurrent(r->model) || !isfinite(r->clip)) continue;
        if (r->clip == 0 && !noclip) noclip = r;
    }
    if (!noclip) return 0;
    for (int i = 0; i < e->nruns; i++) {
        const Run *r = &e->runs[i];
        if (r->clip > 0 && strcmp(r->group, noclip->group) == 0 && strcmp(r->model, noclip->model) == 0 &&
            r->seed == noclip->seed) { clip = r; break; }
    }
    double gn0 = csv_column_max(e, noclip, "metrics.csv", "grad_norm");
    SAY(measurement, "largest global gradient norm (before clipping) of %s, init ×%g, without and with "
                     "clipping", noclip->model, noclip->init_scale);
    SAY(figure, "grad_norm");
    f->seeds = 1;
    if (!clip) {
        SAY(value, "no clip: max %.3g", gn0);
        return not_measured(f, "grad_norm", "no clipped run beside the unclipped one");
    }
    double gn1 = csv_column_max(e, clip, "metrics.csv", "grad_norm");
    SAY(value, "no clip: max %.3g, final loss %.3g; clip %g: max %.3g, final loss %.3g", gn0,
        noclip->final_val_loss, clip->clip, gn1, clip->final_val_loss);
    SAY(comparison, "explodes above %g; tamed when the clipped run's loss ends > %.1f nats lower (or the "
                    "unclipped one diverged)", EXPLODE_NORM, TAMED_MARGIN);
    int tamed = isfinite(clip->final_val_loss) &&
                (!isfinite(noclip->final_val_loss) || clip->final_val_loss < noclip->final_val_loss - TAMED_MARGIN);
    f->verdict = gn0 > EXPLODE_NORM && tamed ? VERDICT_HOLDS : VERDICT_FAILS;
    SAY(sentence, "Measured: without clipping the gradient norm reached %.3g (%s %g); clipped at %g, the same "
                  "run ended at loss %.3g against %.3g.", gn0, gn0 > EXPLODE_NORM ? "above" : "below",
        EXPLODE_NORM, clip->clip, clip->final_val_loss, noclip->final_val_loss);
    return 1;
}

/* ============================================================== distance == */

/* the largest distance of a task at which every one of `models` has a
 * learning run (NAN if none) */
static double largest_common_distance(const Experiment *e, const char *task, const char *const *models, int nm)
{
    double best = NAN;
    for (int i = 0; i < e->nruns; i++) {
        const Run *r = &e->runs[i];
        if (strcmp(r->task, task) != 0 || !isfinite(r->distance) || r->distance <= best) continue;
        int ok = 1;
        for (int k = 0; k < nm && ok; k++) {
            Sel s = SEL_ANY;
            s.model = models[k];
            s.task = task;
            s.distance = r->distance;
            s.learning = 1;
            s.clip = NAN;
            int idx[MAXR];
            ok = select_runs(e, &s, idx) > 0;
        }
        if (ok) best = r->distance;
    }
    return best;
}

/* the grid group of the first learning run of model at (task, distance):
 * the comparison stays inside one grid (an init-scale sweep at the same
 * distance is another question) */
static const char *group_at(const Experiment *e, const char *model, const char *task, double d)
{
    int idx[MAXR];
    Sel s = SEL_ANY;
    s.model = model;
    s.task = task;
    s.distance = d;
    s.learning = 1;
    return select_runs(e, &s, idx) ? e->runs[idx[0]].group : NULL;
}

/* mean and sd of the validation accuracy of model at (task, distance) over
 * the learning runs of one grid group with clipping on, the default init and
 * positions (the clip demonstration and the ablations are other claims) */
static int acc_at(const Experiment *e, const char *model, const char *task, double d, const char *group,
                  double *m, double *sd)
{
    int idx[MAXR];
    Sel s = SEL_ANY;
    s.model = model;
    s.task = task;
    s.distance = d;
    s.group = group;
    s.learning = 1;
    int n = select_runs(e, &s, idx), k = 0;
    double v[MAXR];
    for (int i = 0; i < n; i++) {
        const Run *r = &e->runs[idx[i]];
        if (isfinite(r->clip) && r->clip == 0) continue;
        if (isfinite(r->init_scale) && r->init_scale != 1) continue;
        if (r->positions[0] && strcmp(r->positions, "none") == 0) continue;
        v[k++] = r->val_accuracy;
    }
    *m = *sd = NAN;
    return k ? stats_mean_sd(v, k, m, sd) : 0;
}

static int measure_gates(const Experiment *e, Finding *f)
{
    const char *plain = first_model(model_is_plain);
    if (!plain) return 0;
    const char *const need[] = {plain};
    double d = largest_common_distance(e, "recall", need, 1);
    if (!isfinite(d)) return 0;
    double rm, rs, best = NAN, bs = NAN;
    const char *g = group_at(e, plain, "recall", d);
    int nr = acc_at(e, plain, "recall", d, g, &rm, &rs), nb = 0;
    const char *bname = NULL;
    for (int k = 0; k < model_info_count(); k++) {
        const char *gated = model_info_at(k)->name;
        double m, sd;
        int n = model_is_gated(gated) ? acc_at(e, gated, "recall", d, g, &m, &sd) : 0;
        if (n && !(m <= best)) { best = m; bs = sd; nb = n; bname = gated; }
    }
    if (!bname) return 0;
    char a[64], b[64];
    fmt_ms(a, sizeof a, rm, rs, nr, "%.2f");
    fmt_ms(b, sizeof b, best, bs, nb, "%.2f");
    SAY(measurement, "validation accuracy on recall at the largest distance d = %g", d);
    SAY(value, "%s %s; %s %s", plain, a, bname, b);
    SAY(comparison, "the best gated model better than the %s by > %.2f and > 2 sd", title_of(plain),
        ACCURACY_MARGIN);
    f->seeds = nr < nb ? nr : nb;
    double diff = best - rm;
    decide(f, diff > ACCURACY_MARGIN && diff > 2 * sd_max(rs, bs), FINDINGS_MIN_SEEDS);
    SAY(figure, "accuracy_vs_distance");
    SAY(sentence, "Measured at d = %g: the %s recalls %.0f%% of tokens, the %s %.0f%%.", d, title_of(bname),
        100 * best, title_of(plain), 100 * rm);
    return 1;
}

static int measure_distance(const Experiment *e, Finding *f)
{
    const char *att = first_model(model_is_attention);
    if (!att) return 0;
    const char *const need[] = {att};
    double d = largest_common_distance(e, "recall", need, 1);
    if (!isfinite(d)) return 0;
    double dmin = NAN;
    for (int i = 0; i < e->nruns; i++)
        if (strcmp(e->runs[i].task, "recall") == 0 && isfinite(e->runs[i].distance) &&
            !(e->runs[i].distance >= dmin) && strcmp(e->runs[i].model, att) == 0)
            dmin = e->runs[i].distance;
    double m, sd, m0, sd0;
    const char *g = group_at(e, att, "recall", d);
    int n = acc_at(e, att, "recall", d, g, &m, &sd);
    int n0 = acc_at(e, att, "recall", dmin, g, &m0, &sd0);
    char a[64], b[64];
    fmt_ms(a, sizeof a, m0, sd0, n0, "%.2f");
    fmt_ms(b, sizeof b, m, sd, n, "%.2f");
    SAY(measurement, "the Transformer's recall accuracy at the smallest and the largest distance");
    SAY(value, "d = %g: %s; d = %g: %s", dmin, a, d, b);
    SAY(comparison, "solved (>= %.2f) at the largest distance", SOLVED_ACCURACY);
    f->seeds = n < n0 ? n : n0;
    decide(f, m >= SOLVED_ACCURACY, 1);
    SAY(figure, "accuracy_vs_distance");
    SAY(sentence, "Measured: the Transformer recalls %.0f%% at d = %g and %.0f%% at d = %g.", 100 * m0, dmin,
        100 * m, d);
    return 1;
}

/* positions give order: a Transformer without positions against one with */
static int measure_positions(const Experiment *e, Finding *f)
{
    const Run *none = NULL;
    for (int i = 0; i < e->nruns && !none; i++)
        if (model_is_attention(e->runs[i].model) && strcmp(e->runs[i].positions, "none") == 0) none = &e->runs[i];
    if (!none) return 0;
    double vn[MAXR], vp[MAXR];
    int nn = 0, np = 0;
    const char *other = "";
    for (int i = 0; i < e->nruns; i++) {
        const Run *r = &e->runs[i];
        if (!model_is_attention(r->model) || strcmp(r->task, none->task) != 0 || r->seq_len != none->seq_len ||
            !num_matches(none->distance, r->distance) || run_budget(r) != run_budget(none))
            continue;
        if (strcmp(r->positions, "none") == 0) vn[nn++] = r->val_accuracy;
        else { vp[np++] = r->val_accuracy; other = r->positions; }
    }
    if (!np) return not_measured(f, "", "no Transformer with positions beside the one without");
    double mn, sn, mp, sp;
    stats_mean_sd(vn, nn, &mn, &sn);
    stats_mean_sd(vp, np, &mp, &sp);
    char a[64], b[64];
    fmt_ms(a, sizeof a, mn, sn, nn, "%.2f");
    fmt_ms(b, sizeof b, mp, sp, np, "%.2f");
    SAY(measurement, "Transformer accuracy on %s%s without positions and with %s positions", none->task,
        isfinite(none->distance) ? " (an order-dependent task)" : "", other);
    SAY(value, "none %s; %s %s", a, other, b);
    SAY(comparison, "positions better by > %.2f and > 2 sd", ACCURACY_MARGIN);
    f->seeds = nn < np ? nn : np;
    decide(f, mp - mn > ACCURACY_MARGIN && mp - mn > 2 * sd_max(sn, sp), FINDINGS_MIN_SEEDS);
    SAY(figure, "accuracy_vs_distance");
    SAY(sentence, "Measured: without positions the Transformer scores %.0f%%, with %s positions %.0f%%.",
        100 * mn, other, 100 * mp);
    return 1;
}

/* "Man bites dog" differs from "Dog bites man" only through positions:
 * word_order.csv (cmd_run.c) holds, per word-level Transformer, the total
 * variation distance between its next-token distributions after the two
 * orders.  What holds exactly is narrow: a causal model without positions
 * whose two texts end in the same token gives the same last output with one
 * layer (its last query attends over the same set of keys and values); with
 * more layers the earlier positions' states differ (their prefixes do), so
 * a deeper model without positions is reported but decides nothing. */
static int measure_order(const Experiment *e, Finding *f)
{
    char path[1200], err[512];
    snprintf(path, sizeof path, "%s/word_order.csv", e->dir);
    if (access(path, R_OK) != 0) return 0;
    CsvTable *t = csv_read(path, err, sizeof err);
    if (!t) return not_measured(f, "", err);
    int cp = csv_col(t, "positions"), cl = csv_col(t, "layers"), cs = csv_col(t, "same_last"),
        ct = csv_col(t, "tv");
    double exact = -1, deep = -1, with = INFINITY;   /* max, max, min */
    int nexact = 0, ndeep = 0, nwith = 0;
    char kind[32] = "";
    for (int i = 0; i < t->nrows; i++) {
        double tv = csv_num(t, i, ct);
        if (!isfinite(tv)) continue;
        if (strcmp(csv_str(t, i, cp), "none") != 0) {
            with = fmin(with, tv);
            nwith++;
            snprintf(kind, sizeof kind, "%s", csv_str(t, i, cp));
        } else if (csv_num(t, i, cl) == 1 && csv_num(t, i, cs) == 1) {
            exact = fmax(exact, tv);
            nexact++;
        } else {
            deep = fmax(deep, tv);
            ndeep++;
        }
    }
    csv_free(t);
    if (!nwith || !nexact)
        return not_measured(f, "", "word_order.csv needs a word-level Transformer with positions and a one-layer "
                                   "one without (deeper, its earlier states differ by their prefixes)");
    SAY(measurement, "total variation between the next-token distributions after \"Man bites dog.\" and "
                     "\"Dog bites man.\", per word-level Transformer");
    char deeper[96] = "";
    if (ndeep) say(deeper, sizeof deeper, "; no positions, deeper (not invariant): %.2g", deep);
    SAY(value, "no positions, 1 layer: %.2g; %s positions: %.3g (smallest of %d)%s", exact, kind, with, nwith,
        deeper);
    SAY(comparison, "one layer without positions < %g (the last query sees the same set; rounding only); "
                    "with positions > %g", ORDER_EXACT, ORDER_MARGIN);
    f->seeds = 1;   /* the invariance is exact: one run shows it */
    f->verdict = exact < ORDER_EXACT && with > ORDER_MARGIN ? VERDICT_HOLDS : VERDICT_FAILS;
    SAY(sentence, "Measured: the two orders' next-token distributions differ by %.3g with %s positions and by "
                  "%.2g without (one layer).", with, kind, exact);
    return 1;
}

/* parity: trained at T, evaluated on longer sequences */
static int measure_length(const Experiment *e, Finding *f)
{
    double best_rec = NAN, att = NAN, sr = NAN, sa = NAN;
    int nr = 0, na = 0;
    const char *rname = "";
    double T = NAN, Te = NAN;
    for (int i = 0; i < e->nruns; i++) {
        const Run *r = &e->runs[i];
        if (strcmp(r->task, "parity") != 0 || !(r->eval_seq_len > r->seq_len)) continue;
        T = r->seq_len;
        Te = r->eval_seq_len;
        Sel s = SEL_ANY;
        s.model = r->model;
        s.task = "parity";
        s.seq_len = r->seq_len;
        double m, sd;
        int n = SEL_STATS(e, &s, val_accuracy, &m, &sd);
        if (model_is_attention(r->model)) { att = m; sa = sd; na = n; }
        else if (!(m <= best_rec)) { best_rec = m; sr = sd; nr = n; rname = r->model; }
    }
    if (!isfinite(T)) return 0;
    SAY(measurement, "parity accuracy on windows of %g after training on %g", Te, T);
    char a[64], b[64];
    fmt_ms(a, sizeof a, best_rec, sr, nr, "%.2f");
    fmt_ms(b, sizeof b, att, sa, na, "%.2f");
    SAY(value, "%s %s; attention %s", rname, a, b);
    SAY(comparison, "the best recurrent model solves it (>= %.2f) and beats the Transformer by > %.2f",
        SOLVED_ACCURACY, ACCURACY_MARGIN);
    f->seeds = nr < na ? nr : na;
    decide(f, best_rec >= SOLVED_ACCURACY && best_rec - att > ACCURACY_MARGIN, FINDINGS_MIN_SEEDS);
    /* the loss at each position shows where, beyond the trained length, attention fails */
    SAY(figure, "position_loss");
    SAY(sentence, "Measured on longer windows than trained: %s %.0f%%, Transformer %.0f%%.", rname,
        100 * best_rec, 100 * att);
    return 1;
}

/* ============================================================ text tasks == */

/* the text task of the learning runs: words if present, else any */
static const char *text_task(const Experiment *e)
{
    const char *t = NULL;
    for (int i = 0; i < e->nruns; i++)
        if (task_is_text(e->runs[i].task) && (!t || strcmp(e->runs[i].task, "words") == 0)) t = e->runs[i].task;
    return t;
}

/* the model with the lowest mean of a summary field on the text task */
typedef struct ModelMean {
    char model[32];
    double mean, sd;
    int n;
} ModelMean;

static int text_means(const Experiment *e, const char *task, size_t off, ModelMean *mm)
{
    int nm = 0;
    for (int k = 0; k < model_info_count() && nm < MODELS_MAX; k++) {
        const char *model = model_info_at(k)->name;
        Sel s = SEL_ANY;
        s.model = model;
        s.task = task;
        s.learning = 1;
        s.threads = NAN;
        double m, sd;
        int n = sel_stats(e, &s, off, &m, &sd);
        if (!n) continue;
        snprintf(mm[nm].model, sizeof mm[nm].model, "%s", model);
        mm[nm].mean = m;
        mm[nm].sd = sd;
        mm[nm++].n = n;
    }
    return nm;
}

static int measure_next_word(const Experiment *e, Finding *f)
{
    const char *task = text_task(e);
    if (!task) return 0;
    ModelMean mm[MODELS_MAX];
    int nm = text_means(e, task, offsetof(Run, final_val_loss), mm);
    int ia = -1, ib = -1;
    for (int k = 0; k < nm; k++) {
        if (model_is_attention(mm[k].model)) ia = k;
        else if (ib < 0 || mm[k].mean < mm[ib].mean) ib = k;
    }
    if (ia < 0 || ib < 0) return 0;
    SAY(measurement, "validation loss (nats per token) on %s after equal steps", task);
    for (int k = 0; k < nm; k++) {
        char a[64];
        fmt_ms(a, sizeof a, mm[k].mean, mm[k].sd, mm[k].n, "%.3f");
        ADD(value, "%s%s %s", k ? "; " : "", mm[k].model, a);
    }
    SAY(comparison, "the Transformer below the best recurrent model (%s) by > %.2f nats and > 2 sd",
        mm[ib].model, LOSS_MARGIN);
    f->seeds = mm[ia].n < mm[ib].n ? mm[ia].n : mm[ib].n;
    double diff = mm[ib].mean - mm[ia].mean;
    decide(f, diff > LOSS_MARGIN && diff > 2 * sd_max(mm[ia].sd, mm[ib].sd), FINDINGS_MIN_SEEDS);
    SAY(figure, "perplexity");
    SAY(sentence, "Measured on %s: the Transformer ends at %.3f nats per token, the best recurrent model (%s) "
                  "at %.3f.", task, mm[ia].mean, mm[ib].model, mm[ib].mean);
    return 1;
}

/* a run's validation loss at `seconds` of training (linear between the
 * evaluations; NAN before the first or after the last) */
static double loss_at_seconds(const Experiment *e, const Run *r, double seconds)
{
    CsvTable *t = run_csv(e, r, "metrics.csv");
    if (!t) return NAN;
    int cs = csv_col(t, "seconds"), cl = csv_col(t, "val_loss");
    double ps = NAN, pl = NAN, out = NAN;
    for (int i = 0; i < t->nrows; i++) {
        double s = csv_num(t, i, cs), l = csv_num(t, i, cl);
        if (!isfinite(s) || !isfinite(l)) continue;
        if (s >= seconds) {
            out = isfinite(ps) ? pl + (l - pl) * (seconds - ps) / (s - ps) : (s == seconds ? l : NAN);
            break;
        }
        ps = s;
        pl = l;
    }
    csv_free(t);
    return out;
}

/* the times of a run's first and last validation loss (NAN if none) */
static void eval_seconds(const Experiment *e, const Run *r, double *first, double *last)
{
    *first = *last = NAN;
    CsvTable *tb = run_csv(e, r, "metrics.csv");
    if (!tb) return;
    int cs = csv_col(tb, "seconds"), cl = csv_col(tb, "val_loss");
    for (int i = 0; i < tb->nrows; i++)
        if (isfinite(csv_num(tb, i, cl))) {
            if (isnan(*first)) *first = csv_num(tb, i, cs);
            *last = csv_num(tb, i, cs);
        }
    csv_free(tb);
}

static int measure_wallclock(const Experiment *e, Finding *f)
{
    const char *task = text_task(e);
    if (!task) return 0;
    ModelMean secs[MODELS_MAX];
    int nm = text_means(e, task, offsetof(Run, seconds), secs);
    if (nm < 2) return 0;
    /* the time to compare at: the earliest end of any run, but no earlier
     * than every run's first evaluation (a loss is read between two) */
    double t = INFINITY, first = 0;
    {
        Sel s = SEL_ANY;
        s.task = task;
        s.learning = 1;
        int idx[MAXR], n = select_runs(e, &s, idx);
        for (int i = 0; i < n; i++) {
            double f0, f1;
            eval_seconds(e, &e->runs[idx[i]], &f0, &f1);
            if (f1 < t) t = f1;
            if (f0 > first) first = f0;
        }
    }
    SAY(figure, "loss_vs_time");
    if (!(first <= t)) {
        SAY(measurement, "validation loss on %s after the same wall-clock time", task);
        return not_measured(f, "loss_vs_time", "no time at which every run had been evaluated: the slowest "
                                               "run's first evaluation came after the fastest run ended");
    }
    SAY(measurement, "validation loss on %s after the same wall-clock time, %.1f s (every run evaluated "
                     "by then, none finished before)", task, t);
    double att = NAN, best = NAN, att_sd = NAN, best_sd = NAN;
    const char *bname = "";
    int seeds = 1 << 30;
    for (int k = 0; k < nm; k++) {
        Sel s = SEL_ANY;
        s.model = secs[k].model;
        s.task = task;
        s.learning = 1;
        int idx[MAXR], n = select_runs(e, &s, idx);
        double v[MAXR], m, sd;
        for (int i = 0; i < n; i++) v[i] = loss_at_seconds(e, &e->runs[idx[i]], t);
        int got = stats_mean_sd(v, n, &m, &sd);
        if (got < seeds) seeds = got;
        char a[64];
        fmt_ms(a, sizeof a, m, sd, got, "%.3f");
        ADD(value, "%s%s %s", f->value[0] ? "; " : "", secs[k].model, a);
        if (model_is_attention(secs[k].model)) { att = m; att_sd = sd; }
        else if (!(m >= best)) { best = m; best_sd = sd; bname = secs[k].model; }
    }
    SAY(comparison, "the Transformer's loss below the best recurrent model's (%s) at that time by > %.2f "
                    "nats and > 2 sd", bname, LOSS_MARGIN);
    f->seeds = seeds;
    double gap = best - att;
    decide(f, isfinite(att) && gap > LOSS_MARGIN && gap > 2 * sd_max(att_sd, best_sd), FINDINGS_MIN_SEEDS);
    SAY(figure, "loss_vs_time");
    SAY(sentence, "Measured after %.1f s of training: Transformer %.3f, %s %.3f nats per token.", t, att, bname,
        best);
    return 1;
}

/* how much the loss still falls after the first few positions */
#define CONTEXT_EARLY 8
static double context_gain(const Experiment *e, const Run *r)
{
    CsvTable *t = run_csv(e, r, "position_loss.csv");
    if (!t) return NAN;
    int cp = csv_col(t, "position"), cl = csv_col(t, "loss");
    double early = NAN, late = NAN, maxp = -1;
    for (int i = 0; i < t->nrows; i++) {
        double p = csv_num(t, i, cp), l = csv_num(t, i, cl);
        if (p == CONTEXT_EARLY) early = l;
        if (p > maxp && isfinite(l)) { maxp = p; late = l; }
    }
    csv_free(t);
    return early - late;
}

static int measure_context(const Experiment *e, Finding *f)
{
    const char *task = text_task(e);
    if (!task) return 0;
    const char *models[2] = {first_model(model_is_plain), first_model(model_is_attention)};
    if (!models[0] || !models[1]) return 0;
    double gm[2], gs[2];
    int gn[2];
    for (int k = 0; k < 2; k++) {
        Sel s = SEL_ANY;
        s.model = models[k];
        s.task = task;
        s.learning = 1;
        int idx[MAXR], n = select_runs(e, &s, idx);
        double v[MAXR];
        for (int i = 0; i < n; i++) v[i] = context_gain(e, &e->runs[idx[i]]);
        gn[k] = stats_mean_sd(v, n, &gm[k], &gs[k]);
    }
    if (!gn[0] || !gn[1]) return 0;
    char a[64], b[64];
    fmt_ms(a, sizeof a, gm[0], gs[0], gn[0], "%.3f");
    fmt_ms(b, sizeof b, gm[1], gs[1], gn[1], "%.3f");
    SAY(measurement, "how much the loss on %s still falls from position %d to the end of the window", task,
        CONTEXT_EARLY);
    SAY(value, "%s %s nats; %s %s nats", models[0], a, models[1], b);
    SAY(comparison, "the RNN gains less from the later context than the Transformer (by > %.2f and > 2 sd)",
        LOSS_MARGIN);
    f->seeds = gn[0] < gn[1] ? gn[0] : gn[1];
    /* the seeds' spread counts, as in every comparison of learned results:
     * a gap of 0.025 beside standard deviations of 0.1 is no gap */
    double diff = gm[1] - gm[0];
    decide(f, diff > LOSS_MARGIN && diff > 2 * sd_max(gs[0], gs[1]), FINDINGS_MIN_SEEDS);
    SAY(figure, "position_loss");
    SAY(sentence, "Measured: after position %d the RNN's loss falls %.3f nats more, the Transformer's %.3f.",
        CONTEXT_EARLY, gm[0], gm[1]);
    return 1;
}

/* ======================================================= attention maps == */

/* one sentence's attention: tokens and weights [L][NH][T][T] */
typedef struct Attn {
    int L, NH, T;
    char **tokens;
    double *w;
} Attn;
#define AW(a, l, h, t, s) ((a)->w[((((size_t)(l) * (a)->NH + (h)) * (a)->T + (t)) * (a)->T) + (s)])

static void attn_free(Attn *a)
{
    for (int t = 0; t < a->T; t++) free(a->tokens[t]);
    free(a->tokens);
    free(a->w);
    memset(a, 0, sizeof *a);
}

static int attn_load(const char *path, Attn *a)
{
    memset(a, 0, sizeof *a);
    size_t len;
    char *text = file_read_all(path, &len);
    if (!text) return -1;
    cJSON *o = cJSON_Parse(text);
    free(text);
    const cJSON *toks = cJSON_GetObjectItemCaseSensitive(o, "tokens"),
                *att = cJSON_GetObjectItemCaseSensitive(o, "attention");
    if (!cJSON_IsArray(toks) || !cJSON_IsArray(att) || cJSON_GetArraySize(att) == 0) { cJSON_Delete(o); return -1; }
    a->T = cJSON_GetArraySize(toks);
    a->L = cJSON_GetArraySize(att);
    a->NH = cJSON_GetArraySize(cJSON_GetArrayItem(att, 0));
    a->tokens = xcalloc((size_t)a->T, sizeof *a->tokens);
    a->w = xcalloc((size_t)a->L * a->NH * a->T * a->T, sizeof *a->w);
    for (int t = 0; t < a->T; t++) {
        const cJSON *s = cJSON_GetArrayItem(toks, t);
        a->tokens[t] = xstrdup(cJSON_IsString(s) ? s->valuestring : "");
    }
    for (int l = 0; l < a->L; l++)
        for (int h = 0; h < a->NH; h++)
            for (int t = 0; t < a->T; t++)
                for (int s = 0; s < a->T; s++) {
                    const cJSON *x = cJSON_GetArrayItem(
                        cJSON_GetArrayItem(cJSON_GetArrayItem(cJSON_GetArrayItem(att, l), h), t), s);
                    AW(a, l, h, t, s) = cJSON_IsNumber(x) ? x->valuedouble : 0;
                }
    cJSON_Delete(o);
    return 0;
}

/* the attention JSON files of the experiment: attention/s1, s2, ... */
static int attn_each(const Experiment *e, int k, Attn *a)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/attention/s%d/attention.json", e->dir, k + 1);
    return attn_load(path, a);
}
#define MAX_SENTENCES 16

static int is_word(const char *tok)
{
    return (tok[0] >= 'a' && tok[0] <= 'z') || (tok[0] >= 'A' && tok[0] <= 'Z') || (unsigned char)tok[0] >= 0x80;
}

static int measure_it_animal(const Experiment *e, Finding *f)
{
    int any = 0;
    for (int k = 0; k < MAX_SENTENCES; k++) {
        Attn a;
        if (attn_each(e, k, &a) != 0) continue;
        any = 1;
        int it = -1, ref = -1;
        for (int t = 0; t < a.T; t++) {
            for (size_t r = 0; r < sizeof it_referents / sizeof *it_referents; r++)
                if (strcasecmp(a.tokens[t], it_referents[r]) == 0 && ref < 0) ref = t;
            if (strcasecmp(a.tokens[t], "it") == 0 && ref >= 0 && it < 0) it = t;
        }
        if (it < 0) { attn_free(&a); continue; }
        /* mean over layers and heads of the weight "it" gives the referent,
         * and of the mean weight it gives each other earlier word */
        double wref = 0, wother = 0, best = 0;
        int bl = 0, bh = 0;
        for (int l = 0; l < a.L; l++)
            for (int h = 0; h < a.NH; h++) {
                double w = AW(&a, l, h, it, ref), o = 0;
                int no = 0;
                for (int s = 0; s < it; s++)
                    if (s != ref && is_word(a.tokens[s])) { o += AW(&a, l, h, it, s); no++; }
                wref += w;
                wother += no ? o / no : 0;
                if (w > best) { best = w; bl = l; bh = h; }
            }
        wref /= a.L * a.NH;
        wother /= a.L * a.NH;
        SAY(measurement, "the attention weight \"it\" gives \"%s\" (sentence %d), mean over %d layers × %d heads",
            a.tokens[ref], k + 1, a.L, a.NH);
        SAY(value, "%.3f against %.3f to an average other word (largest: %.3f, layer %d head %d)", wref, wother,
            best, bl, bh);
        SAY(comparison, "more than the average other earlier word");
        f->seeds = 1;
        f->verdict = wref > wother ? VERDICT_HOLDS : VERDICT_FAILS;
        SAY(figure, "attention");
        SAY(sentence, "Measured: \"it\" gives \"%s\" %.3f of its attention on average over heads, an average "
                      "other word %.3f.", a.tokens[ref], wref, wother);
        attn_free(&a);
        return 1;
    }
    if (!any) return 0;
    return not_measured(f, "attention", "no sentence has the tokens \"it\" and \"animal\" (or \"beast\") "
                                        "(a character-level model sees letters, not words)");
}

/* per head: mean attention distance and entropy, over every sentence */
static int measure_heads(const Experiment *e, Finding *f)
{
    double dist[64] = {0}, ent[64] = {0};
    int cnt[64] = {0}, L = 0, NH = 0;
    for (int k = 0; k < MAX_SENTENCES; k++) {
        Attn a;
        if (attn_each(e, k, &a) != 0) continue;
        L = a.L;
        NH = a.NH;
        for (int l = 0; l < a.L && l * a.NH < 64; l++)
            for (int h = 0; h < a.NH && l * a.NH + h < 64; h++)
                for (int t = 1; t < a.T; t++) {
                    double d = 0, en = 0;
                    for (int s = 0; s <= t; s++) {
                        double w = AW(&a, l, h, t, s);
                        d += w * (t - s);
                        if (w > 0) en -= w * log(w);
                    }
                    dist[l * a.NH + h] += d;
                    ent[l * a.NH + h] += en;
                    cnt[l * a.NH + h]++;
                }
        attn_free(&a);
    }
    if (!L) return 0;
    SAY(measurement, "per head: mean distance (tokens back) and entropy (nats) of its attention rows");
    double spread_d = 0, spread_e = 0;
    for (int l = 0; l < L; l++) {
        double dlo = INFINITY, dhi = -INFINITY, elo = INFINITY, ehi = -INFINITY;
        for (int h = 0; h < NH && l * NH + h < 64; h++) {
            int i = l * NH + h;
            double d = cnt[i] ? dist[i] / cnt[i] : NAN, en = cnt[i] ? ent[i] / cnt[i] : NAN;
            if (d < dlo) dlo = d;
            if (d > dhi) dhi = d;
            if (en < elo) elo = en;
            if (en > ehi) ehi = en;
        }
        ADD(value, "%slayer %d: distance %.1f-%.1f, entropy %.2f-%.2f", l ? "; " : "", l, dlo, dhi, elo, ehi);
        if (dhi - dlo > spread_d) spread_d = dhi - dlo;
        if (ehi - elo > spread_e) spread_e = ehi - elo;
    }
    SAY(comparison, "heads of one layer differ by >= %.1f tokens in distance or >= %.1f nats in entropy",
        HEAD_DISTANCE_SPREAD, HEAD_ENTROPY_SPREAD);
    f->seeds = 1;
    f->verdict = spread_d >= HEAD_DISTANCE_SPREAD || spread_e >= HEAD_ENTROPY_SPREAD ? VERDICT_HOLDS : VERDICT_FAILS;
    SAY(figure, "attention");
    SAY(sentence, "Measured: within a layer, heads differ by up to %.1f tokens in how far back they look and "
                  "%.2f nats in how spread their attention is.", spread_d, spread_e);
    return 1;
}

/* the share of each row's weight on the token itself (rows t >= 1) */
static int measure_diagonal(const Experiment *e, Finding *f)
{
    double share = 0, uniform = 0, best = 0;
    int n = 0, heads = 0, dominant = 0;
    for (int k = 0; k < MAX_SENTENCES; k++) {
        Attn a;
        if (attn_each(e, k, &a) != 0) continue;
        for (int l = 0; l < a.L; l++)
            for (int h = 0; h < a.NH; h++) {
                double s = 0, u = 0;
                for (int t = 1; t < a.T; t++) {
                    s += AW(&a, l, h, t, t);
                    u += 1.0 / (t + 1);
                }
                s /= a.T - 1;
                u /= a.T - 1;
                share += s;
                uniform += u;
                n++;
                heads++;
                dominant += s > DIAGONAL_SHARE;
                if (s > best) best = s;
            }
        attn_free(&a);
    }
    if (!n) return 0;
    share /= n;
    uniform /= n;
    SAY(measurement, "share of each attention row's weight on the token itself, per layer and head");
    SAY(value, "mean %.3f (largest head %.3f); %d of %d head-sentences above %.2f", share, best, dominant,
        heads, DIAGONAL_SHARE);
    SAY(comparison, "dominant when above %.2f in most heads; uniform attention would give %.3f", DIAGONAL_SHARE,
        uniform);
    f->seeds = 1;
    f->verdict = 2 * dominant > heads ? VERDICT_HOLDS : VERDICT_FAILS;
    SAY(figure, "attention");
    SAY(sentence, "Measured: a token gives itself %.3f of its attention on average (uniform: %.3f).", share,
        uniform);
    return 1;
}

/* ============================================================ the table == */

const Claim findings_claims[] = {
    {"sequential", "RNNs are sequential, Transformers parallel", measure_sequential},
    {"scan", "Not every RNN is sequential: a recurrence with input-only gates is a scan, O(log T) deep",
     measure_scan},
    {"threads", "A Transformer gains more from a second core than a recurrent model", measure_threads},
    {"vanishing", "Gradients vanish through time in an RNN", measure_vanishing},
    {"exploding", "Gradients explode in an RNN, and clipping tames them", measure_exploding},
    {"gates", "Gates keep long-term memory", measure_gates},
    {"distance", "Attention relates any two positions regardless of distance", measure_distance},
    {"attention_memory", "Attention memory is O(n²), recurrence O(n)", measure_attn_memory},
    {"positions", "Self-attention is permutation invariant; positions give order", measure_positions},
    {"man_dog", "\"Man bites dog\" differs from \"Dog bites man\" only through positions", measure_order},
    {"it_animal", "\"it\" attends to \"animal\" in the course's sentence", measure_it_animal},
    {"heads", "Multiple heads see different relations", measure_heads},
    {"diagonal", "Attention score matrices are diagonally dominant", measure_diagonal},
    {"wallclock", "Transformers train faster in wall-clock time", measure_wallclock},
    {"next_word", "Transformers predict the next word better", measure_next_word},
    {"context", "An RNN uses little context", measure_context},
    {"length", "Recurrence generalises in length (parity)", measure_length},
    {"bigger", "A bigger model predicts better: loss falls as a power law in parameters", findings_measure_bigger},
    {"scales_best", "Transformers scale better than recurrent models", findings_measure_scales_best},
    {"more_data", "More training data gives a lower loss", findings_measure_more_data},
    {"long_context", "A Transformer keeps improving through its whole context where an LSTM flattens",
     findings_measure_long_context},
    {"lstm_budget", "Given enough training, the LSTM overtakes the vanilla RNN", findings_measure_lstm_budget},
    {"bottleneck", "Attention fixes the encoder-decoder's bottleneck", findings_measure_bottleneck},
    {"transformer_translates", "The Transformer translates better than recurrent encoder-decoders",
     findings_measure_transformer_translates},
    {"pretraining", "Pre-training helps when labels are few", findings_measure_pretraining},
    {"bidirectional", "A bidirectional encoder beats a causal decoder of its size", findings_measure_bidirectional},
    {"listops", "Every model learns ListOps beyond the majority class", findings_measure_listops},
};
const int findings_nclaims = sizeof findings_claims / sizeof findings_claims[0];

const Claim *findings_claim(const char *id)
{
    for (int i = 0; i < findings_nclaims; i++)
        if (strcmp(findings_claims[i].id, id) == 0) return &findings_claims[i];
    return NULL;
}

const char *verdict_name(Verdict v)
{
    switch (v) {
    case VERDICT_HOLDS: return "holds";
    case VERDICT_FAILS: return "fails at this scale";
    default: return "not measured here";
    }
}

/* 1 if id is listed in the comma-separated list */
static int listed(const char *list, const char *id)
{
    size_t n = strlen(id);
    for (const char *p = list; *p;) {
        while (*p == ' ' || *p == ',') p++;
        const char *q = p;
        while (*q && *q != ',') q++;
        const char *end = q;
        while (end > p && end[-1] == ' ') end--;
        if ((size_t)(end - p) == n && strncmp(p, id, n) == 0) return 1;
        p = q;
    }
    return 0;
}

int findings_compute(const Experiment *e, Finding **out)
{
    Finding *f = xcalloc((size_t)findings_nclaims, sizeof *f);
    int n = 0, explicit = e->claims[0] != '\0';
    if (explicit) {
        char buf[sizeof e->claims];
        snprintf(buf, sizeof buf, "%s", e->claims);
        char *save = NULL;
        for (char *id = strtok_r(buf, ", ", &save); id; id = strtok_r(NULL, ", ", &save))
            if (!findings_claim(id))
                fprintf(stderr, "seqlab: %s: claims: no claim '%s' (see findings.h); skipped\n", e->dir, id);
    }
    for (int i = 0; i < findings_nclaims; i++) {
        const Claim *c = &findings_claims[i];
        if (explicit && !listed(e->claims, c->id)) continue;
        memset(&f[n], 0, sizeof f[n]);
        f[n].claim = c->id;
        if (c->measure(e, &f[n])) n++;
        else if (explicit) {
            f[n].verdict = VERDICT_NOT_MEASURED;
            say(f[n].comparison, sizeof f[n].comparison, "the experiment has no runs this claim reads");
            n++;
        }
    }
    *out = f;
    return n;
}

/* one field through the project's CSV quoting (util.h csv_field), then
 * the separator */
static void csv_put(FILE *o, const char *s, int last)
{
    csv_field(o, s);
    fputc(last ? '\n' : ',', o);
}

int findings_write(const Experiment *e, const Finding *f, int n, char *err, size_t errlen)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *o = open_memstream(&buf, &len);
    if (!o) die("open_memstream: %s", strerror(errno));
    fputs("claim,claim_text,measurement,value,comparison,seeds,verdict,figure,sentence\n", o);
    for (int i = 0; i < n; i++) {
        const Claim *c = findings_claim(f[i].claim);
        char seeds[16];
        snprintf(seeds, sizeof seeds, "%d", f[i].seeds);
        csv_put(o, f[i].claim, 0);
        csv_put(o, c ? c->text : "", 0);
        csv_put(o, f[i].measurement, 0);
        csv_put(o, f[i].value, 0);
        csv_put(o, f[i].comparison, 0);
        csv_put(o, seeds, 0);
        csv_put(o, verdict_name(f[i].verdict), 0);
        csv_put(o, f[i].figure, 0);
        csv_put(o, f[i].sentence, 1);
    }
    fclose(o);
    char path[1200];
    snprintf(path, sizeof path, "%s/findings.csv", e->dir);
    int rc = file_write_atomic(path, buf, len, err, errlen);
    free(buf);
    return rc;
}
