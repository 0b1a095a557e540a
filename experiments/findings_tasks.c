/*
 * findings_tasks.c — the claims of the sequence-to-sequence and encoder
 * experiments (findings.h): attention fixes the encoder-decoder's
 * bottleneck, the Transformer translates better than the recurrent
 * encoder-decoders, pre-training helps when labels are few, a bidirectional
 * encoder beats a causal model of its size, and every model beats the
 * majority class on ListOps.
 *
 * Each reads the columns that only these experiments write (test_bleu,
 * attention, architecture, bidirectional, train_examples, pretrained,
 * majority_accuracy) straight from summary.csv (and each run's
 * translation.csv), averages each setting over
 * its seeds and decides the verdict from the means and their spread.
 *
 * What this file is not: the other claims (findings.c, findings_scaling.c).
 */
#include "findings.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry.h"
#include "util.h"

/* settings one claim compares at most */
#define SETTINGS_MAX 32
/* a BLEU difference must exceed this many points (and 2 sd) to count */
#define BLEU_MARGIN 1.0
/* an accuracy difference must exceed this (and 2 sd) to count */
#define ACC_MARGIN 0.02

/* a model whose registry line says it attends (the Transformer) */
static int is_attention(const char *model)
{
    const ModelInfo *i = model_info_find(model);
    return i && i->attention;
}

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
#define SAY(field, ...) (f->field[0] = 0, add(f->field, sizeof f->field, __VA_ARGS__))
#define ADD(field, ...) add(f->field, sizeof f->field, __VA_ARGS__)

/* one setting's value over its seeds: mean, sample sd (0 with one seed), n */
typedef struct {
    char name[64];
    double sum, sumsq, mean, sd, extra;
    int n;
} Setting;

static void settle(Setting *s, int ns)
{
    for (int k = 0; k < ns; k++) {
        s[k].mean = s[k].sum / s[k].n;
        double v = s[k].n > 1 ? (s[k].sumsq - s[k].n * s[k].mean * s[k].mean) / (s[k].n - 1) : 0;
        s[k].sd = v > 0 ? sqrt(v) : 0;
    }
}

static void put(Setting *s, int *ns, const char *name, double x, double extra)
{
    if (!isfinite(x)) return;
    int k = 0;
    while (k < *ns && strcmp(s[k].name, name) != 0) k++;
    if (k == *ns) {
        if (*ns == SETTINGS_MAX) return;
        memset(&s[k], 0, sizeof s[k]);
        snprintf(s[k].name, sizeof s[k].name, "%s", name);
        (*ns)++;
    }
    s[k].sum += x;
    s[k].sumsq += x * x;
    s[k].extra = extra;
    s[k].n++;
}

static CsvTable *summary(const Experiment *e)
{
    char path[1100], err[256];
    snprintf(path, sizeof path, "%s/summary.csv", e->dir);
    return csv_read(path, err, sizeof err);
}

/* a column's text ("" when the column is absent) */
static const char *str(const CsvTable *t, int row, const char *col)
{
    int c = csv_col(t, col);
    const char *s = c >= 0 ? csv_str(t, row, c) : NULL;
    return s ? s : "";
}

static double num(const CsvTable *t, int row, const char *col)
{
    int c = csv_col(t, col);
    return c >= 0 ? csv_num(t, row, c) : NAN;
}

/* the setting's name of a classifier from model, architecture and
 * bidirectional: the model's name ("bi" before it when bidirectional), or
 * bert / gpt for an encoder / decoder attention model */
static void classifier_name(const CsvTable *t, int i, char *out, size_t n)
{
    const char *m = str(t, i, "model"), *a = str(t, i, "architecture");
    if (is_attention(m))
        snprintf(out, n, "%s", strcmp(a, "encoder") == 0 ? "bert" : "gpt");
    else
        snprintf(out, n, "%s%s", num(t, i, "bidirectional") > 0 ? "bi" : "", m);
}

static void ms(char *out, size_t n, const Setting *s, const char *fmt)
{
    char m[32];
    snprintf(m, sizeof m, fmt, s->mean);
    if (s->n > 1) {
        char sd[32];
        snprintf(sd, sizeof sd, fmt, s->sd);
        snprintf(out, n, "%s ± %s (%d seeds)", m, sd, s->n);
    } else {
        snprintf(out, n, "%s (1 seed)", m);
    }
}

static void decide(Finding *f, int holds)
{
    if (f->seeds < FINDINGS_MIN_SEEDS) {
        f->verdict = VERDICT_NOT_MEASURED;
        ADD(comparison, "; %d seed%s: a verdict needs %d", f->seeds, f->seeds == 1 ? "" : "s", FINDINGS_MIN_SEEDS);
        return;
    }
    f->verdict = holds ? VERDICT_HOLDS : VERDICT_FAILS;
}

/* b exceeds a clearly: by more than margin and more than 2 sd of either */
static int clearly_above(const Setting *b, const Setting *a, double margin)
{
    double d = b->mean - a->mean, sd = a->sd > b->sd ? a->sd : b->sd;
    return d > margin && d > 2 * sd;
}

/* "The Transformer translates better": test BLEU on `translate`, the
 * Transformer against the best recurrent encoder-decoder (with or without
 * attention) */
int findings_measure_transformer_translates(const Experiment *e, Finding *f)
{
    CsvTable *t = summary(e);
    if (!t) return 0;
    Setting s[SETTINGS_MAX];
    int ns = 0;
    for (int i = 0; i < t->nrows; i++) {
        if (strcmp(str(t, i, "task"), "translate") != 0) continue;
        char name[64];
        const char *m = str(t, i, "model"), *a = str(t, i, "attention");
        if (is_attention(m) || !*a || strcmp(a, "none") == 0 || strcmp(a, "-") == 0)
            snprintf(name, sizeof name, "%s", m);
        else
            snprintf(name, sizeof name, "%s+%s", m, a);
        put(s, &ns, name, num(t, i, "test_bleu"), 0);
    }
    csv_free(t);
    settle(s, ns);
    int it = -1, ib = -1;
    for (int k = 0; k < ns; k++) {
        if (is_attention(s[k].name)) it = k;
        else if (ib < 0 || s[k].mean > s[ib].mean) ib = k;
    }
    if (it < 0 || ib < 0) return 0;
    SAY(measurement, "test BLEU of greedy decoding on translate");
    for (int k = 0; k < ns; k++) {
        char v[80];
        ms(v, sizeof v, &s[k], "%.2f");
        ADD(value, "%s%s %s", k ? "; " : "", s[k].name, v);
    }
    SAY(comparison, "the Transformer above the best recurrent model (%s) by > %.1f BLEU and > 2 sd", s[ib].name,
        BLEU_MARGIN);
    f->seeds = s[it].n < s[ib].n ? s[it].n : s[ib].n;
    decide(f, clearly_above(&s[it], &s[ib], BLEU_MARGIN));
    SAY(figure, "%s", "");
    SAY(sentence, "On translate the Transformer reaches %.2f BLEU, the best recurrent model (%s) %.2f.", s[it].mean,
        s[ib].name, s[ib].mean);
    return 1;
}

/* "Pre-training helps when labels are few": classification accuracy at the
 * smallest train_examples, fine-tuned from pre-trained weights against from
 * scratch, per model */
int findings_measure_pretraining(const Experiment *e, Finding *f)
{
    CsvTable *t = summary(e);
    if (!t) return 0;
    double fewest = INFINITY;
    for (int i = 0; i < t->nrows; i++) {
        double x = num(t, i, "train_examples");
        if (strcmp(str(t, i, "task"), "classify") == 0 && x > 0 && x < fewest) fewest = x;
    }
    Setting pre[SETTINGS_MAX], scr[SETTINGS_MAX];
    int np = 0, nsc = 0;
    for (int i = 0; isfinite(fewest) && i < t->nrows; i++) {
        if (strcmp(str(t, i, "task"), "classify") != 0 || num(t, i, "train_examples") != fewest) continue;
        char name[64];
        classifier_name(t, i, name, sizeof name);
        if (num(t, i, "pretrained") > 0) put(pre, &np, name, num(t, i, "val_accuracy"), 0);
        else put(scr, &nsc, name, num(t, i, "val_accuracy"), 0);
    }
    csv_free(t);
    settle(pre, np);
    settle(scr, nsc);
    int pairs = 0, better = 0;
    f->seeds = 1 << 30;
    SAY(measurement, "validation accuracy on classify with %.0f training examples", fewest);
    for (int k = 0; k < np; k++) {
        int j = 0;
        while (j < nsc && strcmp(scr[j].name, pre[k].name) != 0) j++;
        if (j == nsc) continue;
        ADD(value, "%s%s %.3f±%.3f vs %.3f±%.3f", pairs ? "; " : "", pre[k].name, pre[k].mean, pre[k].sd,
            scr[j].mean, scr[j].sd);
        pairs++;
        better += clearly_above(&pre[k], &scr[j], ACC_MARGIN);
        if (pre[k].n < f->seeds) f->seeds = pre[k].n;
        if (scr[j].n < f->seeds) f->seeds = scr[j].n;
    }
    if (!pairs) return 0;
    SAY(comparison, "every model fine-tuned from pre-training (first) above scratch (second) by > %.2f and > 2 sd",
        ACC_MARGIN);
    decide(f, better == pairs);
    SAY(figure, "%s", "");
    SAY(sentence, "With %.0f labels, pre-training clearly helps %d of %d models.", fewest, better, pairs);
    return 1;
}

/* "Every model learns ListOps": accuracy against the majority class */
int findings_measure_listops(const Experiment *e, Finding *f)
{
    CsvTable *t = summary(e);
    if (!t) return 0;
    Setting s[SETTINGS_MAX];
    int ns = 0;
    for (int i = 0; i < t->nrows; i++) {
        if (strcmp(str(t, i, "task"), "listops") != 0) continue;
        char name[64];
        classifier_name(t, i, name, sizeof name);
        put(s, &ns, name, num(t, i, "val_accuracy"), num(t, i, "majority_accuracy"));
    }
    csv_free(t);
    if (!ns) return 0;
    settle(s, ns);
    SAY(measurement, "validation accuracy on listops");
    int above = 0;
    f->seeds = 1 << 30;
    for (int k = 0; k < ns; k++) {
        char v[80];
        ms(v, sizeof v, &s[k], "%.3f");
        ADD(value, "%s%s %s", k ? "; " : "", s[k].name, v);
        Setting maj = {.mean = s[k].extra, .sd = 0, .n = 1};
        above += isfinite(s[k].extra) && clearly_above(&s[k], &maj, ACC_MARGIN);
        if (s[k].n < f->seeds) f->seeds = s[k].n;
    }
    SAY(comparison, "every model above the majority class (%.3f) by > %.2f and > 2 sd", s[0].extra, ACC_MARGIN);
    decide(f, above == ns);
    SAY(figure, "%s", "");
    SAY(sentence, "On ListOps %d of %d models clearly beat the majority class (%.3f).", above, ns, s[0].extra);
    return 1;
}

/* "A bidirectional encoder beats a causal decoder of its size": accuracy on
 * classify with every label, from scratch, BERT-style against GPT-style and
 * BiLSTM against LSTM */
int findings_measure_bidirectional(const Experiment *e, Finding *f)
{
    CsvTable *t = summary(e);
    if (!t) return 0;
    double most = 0;
    for (int i = 0; i < t->nrows; i++)
        if (strcmp(str(t, i, "task"), "classify") == 0 && num(t, i, "train_examples") > most)
            most = num(t, i, "train_examples");
    Setting s[SETTINGS_MAX];
    int ns = 0;
    for (int i = 0; i < t->nrows; i++) {
        if (strcmp(str(t, i, "task"), "classify") != 0 || num(t, i, "pretrained") > 0 ||
            num(t, i, "train_examples") != most)
            continue;
        char name[64];
        classifier_name(t, i, name, sizeof name);
        put(s, &ns, name, num(t, i, "val_accuracy"), num(t, i, "params"));
    }
    csv_free(t);
    settle(s, ns);
    int np = 0, better = 0;
    f->seeds = 1 << 30;
    SAY(measurement, "validation accuracy on classify from scratch with %.0f training examples", most);
    for (int a = 0; a < ns; a++) {
        /* the twin of bert is gpt, of biNAME NAME */
        const char *twin = strcmp(s[a].name, "bert") == 0 ? "gpt" : strncmp(s[a].name, "bi", 2) == 0 ? s[a].name + 2 : NULL;
        int b = -1;
        for (int k = 0; twin && k < ns; k++)
            if (strcmp(s[k].name, twin) == 0) b = k;
        if (b < 0) continue;
        ADD(value, "%s%s %.3f±%.3f (%.0f params) vs %s %.3f±%.3f (%.0f)", np ? "; " : "", s[a].name, s[a].mean,
            s[a].sd, s[a].extra, s[b].name, s[b].mean, s[b].sd, s[b].extra);
        np++;
        better += clearly_above(&s[a], &s[b], ACC_MARGIN);
        if (s[a].n < f->seeds) f->seeds = s[a].n;
        if (s[b].n < f->seeds) f->seeds = s[b].n;
    }
    if (!np) return 0;
    SAY(comparison, "every bidirectional encoder above its causal twin by > %.2f and > 2 sd", ACC_MARGIN);
    decide(f, better == np);
    SAY(figure, "%s", "");
    SAY(sentence, "From scratch with every label, %d of %d bidirectional encoders clearly beat their causal twin.",
        better, np);
    return 1;
}

/* a run's test exact match at the longest source-length bucket of its
 * translation.csv (NAN without one) and that bucket's lower end in *lo */
static double longest_bucket(const Experiment *e, const char *run, double *lo)
{
    char path[1400], err[256];
    snprintf(path, sizeof path, "%s/%s/translation.csv", e->dir, run);
    CsvTable *t = csv_read(path, err, sizeof err);
    if (!t) return NAN;
    double best = -1, em = NAN;
    for (int i = 0; i < t->nrows; i++) {
        if (strcmp(str(t, i, "split"), "test") != 0) continue;
        double l = num(t, i, "bucket_lo");
        /* ties: the first test row is the whole split, a later one the bucket */
        if (l >= best) {
            best = l;
            em = num(t, i, "exact_match");
        }
    }
    csv_free(t);
    *lo = best;
    return em;
}

/* "Attention fixes the encoder-decoder's bottleneck": test exact match on
 * reverse at the longest source lengths, each recurrent model without and
 * with additive attention */
int findings_measure_bottleneck(const Experiment *e, Finding *f)
{
    CsvTable *t = summary(e);
    if (!t) return 0;
    Setting s[SETTINGS_MAX];
    int ns = 0;
    double lo = NAN;
    for (int i = 0; i < t->nrows; i++) {
        const char *m = str(t, i, "model");
        if (strcmp(str(t, i, "task"), "reverse") != 0 || is_attention(m)) continue;
        char name[64];
        const char *a = str(t, i, "attention");
        snprintf(name, sizeof name, "%s%s", m, strcmp(a, "additive") == 0 ? "+additive" : "");
        put(s, &ns, name, longest_bucket(e, str(t, i, "run"), &lo), 0);
    }
    csv_free(t);
    settle(s, ns);
    int np = 0, better = 0;
    f->seeds = 1 << 30;
    SAY(measurement, "test exact match on reverse, sources of %.0f or more tokens", lo);
    for (int k = 0; k < ns; k++) {
        if (strchr(s[k].name, '+')) continue;
        char twin[80];
        snprintf(twin, sizeof twin, "%.60s+additive", s[k].name);
        int j = 0;
        while (j < ns && strcmp(s[j].name, twin) != 0) j++;
        if (j == ns) continue;
        ADD(value, "%s%s %.3f±%.3f vs %.3f±%.3f", np ? "; " : "", s[k].name, s[k].mean, s[k].sd, s[j].mean,
            s[j].sd);
        np++;
        better += clearly_above(&s[j], &s[k], 0.2);
        if (s[k].n < f->seeds) f->seeds = s[k].n;
        if (s[j].n < f->seeds) f->seeds = s[j].n;
    }
    if (!np) return 0;
    SAY(comparison, "every recurrent model with additive attention (second) above its twin without (first) by > 0.2 "
                    "and > 2 sd");
    decide(f, better == np);
    SAY(figure, "quality_vs_length");   /* Bahdanau et al.'s Fig. 2 */
    SAY(sentence, "On the longest sources, attention clearly helps %d of %d recurrent encoder-decoders.", better, np);
    return 1;
}
