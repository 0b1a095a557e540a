/*
 * evaluate.c — the windowed loss of `seqlab eval` (see evaluate.h).
 *
 * Windows do not overlap and follow each other, so B consecutive windows
 * are the contiguous ids[iT .. iT+BT) as a (B,T) batch, and their targets
 * are the same run shifted by one: the batch points into ids, no copy.
 */
#include "evaluate.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

long evaluate_window_count(long n, int T)
{
    assert(T > 0);
    return n >= (long)T + 1 ? (n - 1) / T : 0;
}

/* every id a window reads must be a class of the model */
static void check_ids(const Model *m, const int *ids, long windows, int T)
{
    assert(m->cfg.vocab_size > 0 && !m->cfg.regression && "evaluation needs a token model");
    long used = windows * T + 1;
    for (long j = 0; j < used; j++)
        if (ids[j] < 0 || ids[j] >= m->cfg.vocab_size || ids[j] >= m->cfg.output_size)
            die("evaluate: token id %d at position %ld is outside the model's vocabulary (%d)",
                ids[j], j, m->cfg.vocab_size);
}

/* batch rows = windows w0 .. w0+B-1 of length T */
static Batch window_batch(const int *ids, long w0, int B, int T)
{
    Batch b = {0};
    b.B = B;
    b.T = T;
    /* the model only reads tokens and targets; Batch's fields are not const */
    b.tokens = (int *)(ids + w0 * T);         /* (B,T) x[iT .. iT+T)     */
    b.targets = (int *)(ids + w0 * T + 1);    /* (B,T) x[iT+1 .. iT+T+1) */
    return b;
}

double evaluate_windows(Model *m, const int *ids, long n, int T, long *tokens_out)
{
    assert(T <= m->Tmax && m->Bmax >= 1 && "call model_alloc_acts(m, B, T) first");
    long windows = evaluate_window_count(n, T);
    if (tokens_out) *tokens_out = windows * T;
    if (windows == 0) return NAN;
    check_ids(m, ids, windows, T);
    double sum = 0;   /* sum of -log p over predicted tokens */
    long counted = 0;
    for (long w0 = 0; w0 < windows; w0 += m->Bmax) {
        int B = windows - w0 < m->Bmax ? (int)(windows - w0) : m->Bmax;
        Batch b = window_batch(ids, w0, B, T);
        /* model_forward: the zero state for every row, mean over B*T targets */
        double mean = model_forward(m, &b);
        sum += mean * m->count;
        counted += m->count;
    }
    assert(counted == windows * T);
    return sum / (double)counted;
}

int evaluate_position_loss(Model *m, const int *ids, long n, int T, double *loss_at,
                           long *count)
{
    assert(T <= m->Tmax && m->Bmax >= 1 && "call model_alloc_acts(m, B, T) first");
    long windows = evaluate_window_count(n, T);
    *count = windows;
    for (int t = 0; t < T; t++) loss_at[t] = 0;
    if (windows == 0) return -1;
    check_ids(m, ids, windows, T);
    int O = m->cfg.output_size;
    for (long w0 = 0; w0 < windows; w0 += m->Bmax) {
        int B = windows - w0 < m->Bmax ? (int)(windows - w0) : m->Bmax;
        Batch b = window_batch(ids, w0, B, T);
        model_forward(m, &b);
        /* -log softmax(z)[y] = log sum_v exp(z_v - max z) - (z_y - max z), in double */
        for (int r = 0; r < B; r++) {
            for (int t = 0; t < T; t++) {
                const real *z = m->logits + ((size_t)r * T + t) * O;   /* (O) */
                double zmax = z[0], s = 0;
                for (int v = 1; v < O; v++) if (z[v] > zmax) zmax = z[v];
                for (int v = 0; v < O; v++) s += exp((double)z[v] - zmax);
                loss_at[t] += log(s) - ((double)z[b.targets[r * T + t]] - zmax);
            }
        }
    }
    for (int t = 0; t < T; t++) loss_at[t] /= (double)windows;
    return 0;
}

/* ---- labelled examples, one at a time ------------------------------------ */

int evaluate_labelled(Model *m, const Tokenizer *tok, const char *const *labels, int K,
                      const LabelledFile *f, int T, double *loss, double *accuracy, char *err,
                      size_t errlen)
{
    assert(m->cfg.classify && T <= m->Tmax);
    Batch *b = batch_alloc_labelled(1, T);
    double sum = 0;
    long correct = 0;
    int rc = 0;
    for (long i = 0; i < f->n && rc == 0; i++) {
        const LabelledExample *e = &f->ex[i];
        int y = -1;
        for (int k = 0; k < K && y < 0; k++)
            if (strcmp(labels[k], e->label) == 0) y = k;
        char msg[256];
        long n = y < 0 ? 0 : tokenizer_encode(tok, e->text, strlen(e->text), b->tokens, (size_t)T,
                                              msg, sizeof msg);
        if (y < 0 || n <= 0) {
            snprintf(err, errlen, "%s:%ld: %s%s%s", f->path, e->line,
                     y < 0 ? "label '" : n < 0 ? msg : "the text has no tokens", y < 0 ? e->label : "",
                     y < 0 ? "' is not one of the classifier's labels" : "");
            rc = -1;
            break;
        }
        /* no padding: the batch is exactly this example's tokens */
        b->T = n < T ? (int)n : T;
        b->lengths[0] = b->T;
        b->labels[0] = y;
        sum += model_forward(m, b);
        correct += m->correct;
    }
    batch_free(b);
    if (rc == 0) {
        *loss = sum / (double)f->n;
        *accuracy = (double)correct / (double)f->n;
    }
    return rc;
}
