/*
 * findings_scaling.c — the scaling claims (findings.h): a bigger model
 * predicts better, Transformers scale best, more data helps, a Transformer
 * keeps using distant context where recurrent models flatten, and the LSTM
 * overtakes the vanilla RNN given a long enough budget.
 *
 * Each measures what scaling_laws.c computes for the figures (asked with no
 * folder, so nothing is written) and decides its verdict from the fitted
 * exponents or slopes and their standard errors.
 *
 * What this file is not: the fits (fit.c) or the other claims (findings.c).
 */
#include "findings.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry.h"
#include "scaling_laws.h"
#include "util.h"

/* a difference "is" one when it exceeds this many standard errors */
#define CLEAR_SDS 2.0
/* pairs of models a budget experiment compares at most */
#define MAX_PAIRS 64

static void say(char *out, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void say(char *out, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out, n, fmt, ap);
    va_end(ap);
}
/* append to a field */
static void add(char *out, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void add(char *out, size_t n, const char *fmt, ...)
{
    size_t l = strlen(out);
    if (l >= n) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out + l, n - l, fmt, ap);
    va_end(ap);
}
#define SAY(field, ...) say(f->field, sizeof f->field, __VA_ARGS__)
#define ADD(field, ...) add(f->field, sizeof f->field, __VA_ARGS__)

static const char *title_of(const char *model)
{
    const ModelInfo *i = model_info_find(model);
    return i ? i->title : model;
}

/* decimals enough to show an uncertainty's first two digits (at least 3):
 * never "0.028 \xc2\xb1 0.000" */
static int decimals(double sd)
{
    if (!(sd > 0) || !isfinite(sd)) return 3;
    int d = 1 - (int)floor(log10(sd));
    return d < 3 ? 3 : d > 6 ? 6 : d;
}

/* the verdict from the comparison and the seeds (as findings.c decides) */
static void decide(Finding *f, int holds)
{
    if (f->seeds < FINDINGS_MIN_SEEDS) {
        f->verdict = VERDICT_NOT_MEASURED;
        add(f->comparison, sizeof f->comparison, "; %d seed%s: a verdict needs %d", f->seeds,
            f->seeds == 1 ? "" : "s", FINDINGS_MIN_SEEDS);
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

/* "chars" -> "characters" for a sentence */
static const char *unit_of(const char *panel_title)
{
    return strstr(panel_title, "word") ? "words" : strstr(panel_title, "byte") ? "bytes" : "characters";
}

/* the exponents of a size or data sweep into f->value; returns 1 if every
 * fitted model's pure-power-law alpha is clearly above zero, 0 if not, -1
 * if no model could be fitted (fewer than 3 sizes).  Seeds: the fewest
 * runs behind a point of a fitted model. */
static int exponents(const ScalingFigure *fig, Finding *f)
{
    int all = 1, fitted = 0;
    f->seeds = 0;
    for (int p = 0; p < fig->npanels; p++) {
        const ScalingPanel *panel = &fig->panels[p];
        ADD(value, "%s%s:", p ? "; " : "", unit_of(panel->title));
        for (int j = 0; j < panel->nseries; j++) {
            const ScalingSeries *s = &panel->series[j];
            if (isnan(s->pure_alpha)) {
                ADD(value, "%s %s no fit", j ? "," : "", title_of(s->model));
                continue;
            }
            int d = decimals(s->pure_alpha_sd);
            ADD(value, "%s %s %.*f \xc2\xb1 %.*f", j ? "," : "", title_of(s->model), d, s->pure_alpha,
                d, s->pure_alpha_sd);
            fitted++;
            if (!(s->pure_alpha > CLEAR_SDS * s->pure_alpha_sd)) all = 0;
            if (f->seeds == 0 || s->seeds < f->seeds) f->seeds = s->seeds;
        }
    }
    return fitted ? all : -1;
}

/* "bigger is better" and "more data is better" are one measurement on two
 * figures: every model's exponent alpha of L = A X^-alpha clearly above 0. */
typedef int (*ScalingFigureFn)(const Experiment *, const char *, ScalingFigure *);

static int exponent_above_zero(const Experiment *e, Finding *f, ScalingFigureFn draw,
                               const char *figure, const char *measurement, const char *none,
                               const char *sentence_head)
{
    ScalingFigure *fig = xmalloc(sizeof *fig);
    if (draw(e, NULL, fig) == 0) { free(fig); return 0; }
    SAY(measurement, "%s", measurement);
    int all = exponents(fig, f);
    free(fig);
    if (all < 0) return not_measured(f, figure, none);
    SAY(comparison, "every model's alpha above 0 by more than %.0f standard errors", CLEAR_SDS);
    decide(f, all);
    SAY(figure, "%s", figure);
    SAY(sentence, "%s, %s.", sentence_head, f->value);
    return 1;
}

int findings_measure_bigger(const Experiment *e, Finding *f)
{
    return exponent_above_zero(e, f, scaling_loss_vs_params, "loss_vs_params",
                               "exponent alpha of L = A N^-alpha (non-embedding parameters N, log-log "
                               "fit over sizes and seeds) at one token budget",
                               "no model was trained at 3 or more sizes",
                               "Measured: the loss falls with size as N^-alpha");
}

int findings_measure_scales_best(const Experiment *e, Finding *f)
{
    ScalingFigure *fig = xmalloc(sizeof *fig);
    if (scaling_loss_vs_params(e, NULL, fig) == 0) { free(fig); return 0; }
    SAY(measurement, "exponent alpha of L = A N^-alpha per model (the steeper, the more a model gains "
                     "from size)");
    exponents(fig, f);
    int holds = 1, compared = 0, seeds = 0;
    for (int p = 0; p < fig->npanels; p++) {
        const ScalingPanel *panel = &fig->panels[p];
        for (int a = 0; a < panel->nseries; a++) {
            const ModelInfo *ia = model_info_find(panel->series[a].model);
            if (!ia || !ia->attention) continue;
            for (int r = 0; r < panel->nseries; r++) {
                const ModelInfo *ir = model_info_find(panel->series[r].model);
                if (!ir || !ir->recurrent) continue;
                const ScalingSeries *sa = &panel->series[a], *sr = &panel->series[r];
                if (isnan(sa->pure_alpha) || isnan(sr->pure_alpha)) continue;
                double gap = sa->pure_alpha - sr->pure_alpha;
                double sd = sqrt(sa->pure_alpha_sd * sa->pure_alpha_sd + sr->pure_alpha_sd * sr->pure_alpha_sd);
                compared++;
                int fewer = sa->seeds < sr->seeds ? sa->seeds : sr->seeds;
                if (seeds == 0 || fewer < seeds) seeds = fewer;
                if (!(gap > CLEAR_SDS * sd)) holds = 0;
            }
        }
    }
    free(fig);
    if (!compared) return 0;
    f->seeds = seeds;
    SAY(comparison, "the Transformer's alpha above every recurrent model's by more than %.0f standard errors "
                    "of the difference", CLEAR_SDS);
    decide(f, holds);
    SAY(figure, "loss_vs_params");
    SAY(sentence, "Measured exponents: %s.", f->value);
    return 1;
}

int findings_measure_more_data(const Experiment *e, Finding *f)
{
    return exponent_above_zero(e, f, scaling_loss_vs_data, "loss_vs_data",
                               "exponent alpha of L = A D^-alpha (training tokens D; the best "
                               "validation loss along each run, log-log fit over cuts and seeds)",
                               "no model was trained on 3 or more cuts of the data",
                               "Measured: the loss falls with data as D^-alpha");
}

int findings_measure_long_context(const Experiment *e, Finding *f)
{
    ScalingFigure *fig = xmalloc(sizeof *fig);
    if (scaling_context(e, NULL, fig) == 0) { free(fig); return 0; }
    SAY(measurement, "slope of the per-position validation loss against ln(context) beyond position %d, "
                     "largest model of each kind", SCALING_CONTEXT_FROM);
    int holds = 1, compared = 0;
    f->seeds = 0;
    for (int p = 0; p < fig->npanels; p++) {
        const ScalingPanel *panel = &fig->panels[p];
        ADD(value, "%s%s:", p ? "; " : "", unit_of(panel->title));
        for (int j = 0; j < panel->nseries; j++) {
            const ScalingSeries *s = &panel->series[j];
            ADD(value, "%s %s %.4f", j ? "," : "", title_of(s->model), s->slope);
            if (f->seeds == 0 || s->seeds < f->seeds) f->seeds = s->seeds;
        }
        /* the Transformer against each gated recurrence, by the slope of the
         * difference of their losses (the shared windows' noise cancels) */
        for (int a = 0; a < panel->nseries; a++) {
            const ModelInfo *ia = model_info_find(panel->series[a].model);
            if (!ia || !ia->attention) continue;
            for (int g = 0; g < panel->nseries; g++) {
                const ModelInfo *ig = model_info_find(panel->series[g].model);
                if (!ig || !ig->recurrent || !ig->gated) continue;
                double d = panel->pair_slope[a][g], sd = panel->pair_slope_sd[a][g];
                ADD(value, "; %s - %s %.4f \xc2\xb1 %.4f", title_of(ia->name), title_of(ig->name), d, sd);
                compared++;
                if (!(d < -CLEAR_SDS * sd)) holds = 0;
            }
        }
    }
    free(fig);
    if (!compared) return 0;
    SAY(comparison, "the Transformer's loss falls faster with context beyond position %d than each gated "
                    "recurrent model's: the slope of their difference below 0 by more than %.0f standard "
                    "errors", SCALING_CONTEXT_FROM, CLEAR_SDS);
    decide(f, holds);
    SAY(figure, "context_slope");
    SAY(sentence, "Measured slopes beyond position %d (nats per e-fold of context): %s.", SCALING_CONTEXT_FROM,
        f->value);
    return 1;
}

int findings_measure_lstm_budget(const Experiment *e, Finding *f)
{
    BudgetPair *pairs = xcalloc(MAX_PAIRS, sizeof *pairs);
    int n = scaling_budget_order(e, NULL, pairs, MAX_PAIRS), compared = 0, holds = 1;
    f->seeds = 0;
    for (int k = 0; k < n && k < MAX_PAIRS; k++) {
        const BudgetPair *bp = &pairs[k];
        const ModelInfo *ia = model_info_find(bp->model_a), *ib = model_info_find(bp->model_b);
        if (!ia || !ib || !ia->recurrent || !ib->recurrent || ia->gated == ib->gated) continue;
        /* plain = the vanilla recurrence, gated = LSTM or GRU */
        int a_plain = !ia->gated;
        const char *plain = a_plain ? ia->title : ib->title, *gated = a_plain ? ib->title : ia->title;
        int plain_first = a_plain ? bp->a_ahead_first : !bp->a_ahead_first;
        int plain_last = a_plain ? bp->a_ahead_last : !bp->a_ahead_last;
        double lp = a_plain ? bp->loss_a_last : bp->loss_b_last, lg = a_plain ? bp->loss_b_last : bp->loss_a_last;
        ADD(value, "%s%s: %s ahead at %.2gM tokens, %s at %.2gM (%.3f vs %.3f)", compared ? "; " : "",
            bp->tokenizer, plain_first ? plain : gated, bp->tokens_first / 1e6, plain_last ? plain : gated,
            bp->tokens_last / 1e6, plain_last ? lp : lg, plain_last ? lg : lp);
        if (plain_first != plain_last) ADD(value, ", since %.2gM", bp->ahead_since / 1e6);
        compared++;
        if (plain_last) holds = 0;
        if (f->seeds == 0 || bp->seeds < f->seeds) f->seeds = bp->seeds;
    }
    free(pairs);
    if (!compared) return 0;
    SAY(measurement, "which model has the lower mean validation loss at the first and the last evaluation, and "
                     "since how many training tokens the final order holds");
    SAY(comparison, "each gated recurrence (LSTM, GRU) ahead of the vanilla RNN at the end of the budget");
    decide(f, holds);
    SAY(figure, "loss_vs_step");
    SAY(sentence, "Measured: %s.", f->value);
    return 1;
}
