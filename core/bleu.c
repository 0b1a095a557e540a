/*
 * bleu.c — corpus BLEU-4 (Papineni et al. 2002), as NLTK's corpus_bleu
 * computes it with its defaults (weights 1/4 each, one reference per
 * sentence, no smoothing):
 *
 *     p_n  = sum over sentences of the clipped n-gram matches
 *            / sum over sentences of max(1, the hypothesis's n-grams)
 *            clipped: an n-gram counts at most as often as the reference has it
 *     BP   = 1 if c > r, 0 if c = 0, else exp(1 - r / c)
 *            c = hypothesis words, r = reference words, both summed
 *     BLEU = BP exp(sum_n 1/4 log p_n)                (x 100 here)
 *
 * An order with no match at all makes NLTK warn and use the smallest
 * positive double for p_n (its method0), so BLEU is then ~1e-75, not
 * exactly 0; no unigram match at all gives exactly 0.  Corpus BLEU is not
 * the mean of sentence BLEUs: the sums come first.
 *
 * What this file is not: tokenisation (the caller passes words) or the
 * decoding (decode.c).
 */
#include "bleu.h"

#include <float.h>
#include <math.h>
#include <string.h>

void bleu_init(BleuStats *s)
{
    memset(s, 0, sizeof *s);
}

/* do the n words at a and b agree */
static int same_ngram(const char *const *a, const char *const *b, int n)
{
    for (int i = 0; i < n; i++)
        if (strcmp(a[i], b[i]) != 0) return 0;
    return 1;
}

void bleu_add(BleuStats *s, const char *const *hyp, int nh, const char *const *ref, int nr)
{
    for (int n = 1; n <= BLEU_MAX_N; n++) {
        int count = nh - n + 1 > 0 ? nh - n + 1 : 0;
        /* each distinct hypothesis n-gram (counted at its first place):
         * matches = min(its count in hyp, its count in ref) */
        double match = 0;
        for (int i = 0; i < count; i++) {
            int first = 1, in_hyp = 0, in_ref = 0;
            for (int j = 0; j < i && first; j++)
                if (same_ngram(hyp + j, hyp + i, n)) first = 0;
            if (!first) continue;
            for (int j = i; j < count; j++) in_hyp += same_ngram(hyp + j, hyp + i, n);
            for (int j = 0; j + n <= nr; j++) in_ref += same_ngram(ref + j, hyp + i, n);
            match += in_hyp < in_ref ? in_hyp : in_ref;
        }
        s->match[n - 1] += match;
        s->total[n - 1] += count > 1 ? count : 1;
    }
    s->hyp_len += nh;
    s->ref_len += nr;
}

double bleu_score(const BleuStats *s)
{
    if (s->match[0] == 0) return 0;
    double c = s->hyp_len, r = s->ref_len;
    double bp = c > r ? 1 : c == 0 ? 0 : exp(1 - r / c);
    double sum = 0;
    for (int n = 0; n < BLEU_MAX_N; n++) {
        double p = s->match[n] > 0 ? s->match[n] / s->total[n] : DBL_MIN;
        sum += log(p) / BLEU_MAX_N;
    }
    return 100 * bp * exp(sum);
}
