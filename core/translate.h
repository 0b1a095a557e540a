/*
 * translate.h — scoring an encoder–decoder on pairs: the teacher-forced
 * loss of one pair, exact match and corpus BLEU of decoded outputs, and both
 * per source-length bucket (see translate.c).
 */
#ifndef SEQLAB_TRANSLATE_H
#define SEQLAB_TRANSLATE_H

#include <stdio.h>

#include "bleu.h"
#include "data.h"
#include "model.h"
#include "tokenizer.h"

/* source-length buckets of the quality-against-length table */
#define TRANSLATE_BUCKETS 8

typedef struct TranslateScore {
    long pairs, exact;
    BleuStats bleu;
} TranslateScore;

void translate_score_init(TranslateScore *s);
/* add one output hyp (nh ids) against its reference ref (nr ids):
 * exact match compares the ids; BLEU the words (docs/design.md: the words
 * tokenizer's tokens, a reference's <unk> matching nothing; for chars and
 * bytes the whitespace-separated words of the decoded texts) */
void translate_score_add(TranslateScore *s, const Tokenizer *tgt, const int *hyp, int nh,
                         const int *ref, int nr);
double translate_exact_match(const TranslateScore *s);   /* 0 .. 1 */
double translate_bleu(const TranslateScore *s);          /* 0 .. 100 */

/* the sum of the cross-entropies of [y_1 .. y_n, <eos>] of one pair alone
 * (no padding), teacher-forced; b a batch_alloc_pairs with room for it */
double translate_pair_loss(Model *m, Batch *b, const int *src, int ns, const int *tgt, int nt);

/* Greedy-decode every pair of a task's split (B at a time, at most N
 * tokens each): the whole split's scores and, bucket k covering source
 * lengths lo[k] .. hi[k], each bucket's.  If samples is not NULL, the
 * first nsamples pairs go there as "source<TAB>reference<TAB>output" lines. */
void translate_split(Model *m, const Task *task, Split split, int B, int N,
                     TranslateScore *all, TranslateScore bucket[TRANSLATE_BUCKETS],
                     int lo[TRANSLATE_BUCKETS], int hi[TRANSLATE_BUCKETS], FILE *samples,
                     int nsamples);

/* exact match (0 .. 1) and BLEU (0 .. 100) of greedy decoding on the
 * validation and test pairs */
typedef struct TranslateResults {
    double val_exact_match, val_bleu, test_exact_match, test_bleu;
} TranslateResults;

/* Score a trained model on its task's validation and test pairs (B at a
 * time) and write DIR/translation.csv (split, bucket_lo, bucket_hi, pairs,
 * exact_match, bleu: each split whole, then per source-length bucket) and
 * DIR/translations.txt (source, reference, output of the first test pairs).
 * 0, or -1 with a message in err. */
int translate_write_scores(Model *m, const Task *task, int B, const char *dir,
                           TranslateResults *res, char *err, size_t errlen);

/* checkpoint metadata of a task of pairs (docs/design.md, "Checkpoints"):
 * tokenizer, src_vocab_size = V_s, tgt_vocab_size = V_t + 2, src_vocab and
 * tgt_vocab (chars, words), max_src_len, max_tgt_len */
struct Meta;
void pairs_meta(const Task *task, struct Meta *meta);
/* both sides' tokenizers from a checkpoint's metadata; 0, or -1 with a
 * message naming the checkpoint and key */
int pairs_tokenizers_from_meta(const char *ckpt, const struct Meta *meta, Tokenizer **src,
                               Tokenizer **tgt, char *err, size_t errlen);

/* the text of ids (n) with tokenizer t, NUL-terminated, malloc'ed */
char *translate_text(const Tokenizer *t, const int *ids, int n);

#endif
