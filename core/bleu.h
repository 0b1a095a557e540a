/*
 * bleu.h — corpus BLEU-4 (Papineni et al. 2002), the number NLTK's
 * corpus_bleu gives with its defaults (see bleu.c).
 */
#ifndef SEQLAB_BLEU_H
#define SEQLAB_BLEU_H

#define BLEU_MAX_N 4

/* the corpus-level sums BLEU is computed from */
typedef struct BleuStats {
    double match[BLEU_MAX_N];   /* clipped n-gram matches, n = 1 .. 4 */
    double total[BLEU_MAX_N];   /* max(1, hypothesis n-grams) per sentence, summed */
    double hyp_len, ref_len;    /* words */
} BleuStats;

void bleu_init(BleuStats *s);
/* add one sentence: hypothesis words hyp (nh), its one reference ref (nr) */
void bleu_add(BleuStats *s, const char *const *hyp, int nh, const char *const *ref, int nr);
/* BLEU x 100 of everything added (0 .. 100) */
double bleu_score(const BleuStats *s);

#endif
