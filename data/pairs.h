/*
 * pairs.h — sequence-to-sequence data: pairs files and the pair tasks
 * (translate, reverse, dates); see pairs.c.
 *
 * A pair task's Task (data.h) has src_tok and tgt_tok (each side's own
 * vocabulary), vocab_size = V_s, output_size = V_t + 2 with <bos> = V_t and
 * <eos> = V_t + 1, seq_len = the longest decoder input (n + 1) and
 * src_seq_len = the longest source, in tokens.  Its batches fill
 * Batch.src_tokens (B,S), src_lengths, tokens = [<bos>, y_1 .. y_n],
 * targets = [y_1 .. y_n, <eos>] then TARGET_IGNORE, lengths = n + 1.
 */
#ifndef SEQLAB_PAIRS_H
#define SEQLAB_PAIRS_H

#include <stddef.h>
#include <gsl/gsl_rng.h>

#include "data.h"

/* one line of a pairs file: source<TAB>target */
typedef struct TextPair {
    char *src, *tgt;
    long line;          /* 1-based line number in the file */
} TextPair;

/* Read a pairs file.  0, or -1 with "FILE:LINE: ..." in err for a blank
 * line, a line without a TAB or an empty side (or invalid UTF-8). */
int pairs_read(const char *path, TextPair **pairs, long *n, char *err, size_t errlen);
void pairs_free_text(TextPair *pairs, long n);

/* The fixed split of a pairs file: line L (1-based) is test when L % 10 == 0,
 * validation when L % 10 == 5, training otherwise. */
Split pairs_split_of_line(long line);

/* the ids of <bos> and <eos> for a target vocabulary of V_t ordinary tokens */
static inline int pairs_bos(int V_t) { return V_t; }
static inline int pairs_eos(int V_t) { return V_t + 1; }

/* One tokenised pair of a pair task's split: i in [0, n) where n is the
 * return value of task_pairs_count. */
typedef struct PairIds {
    const int *src, *tgt;   /* (src_len), (tgt_len) ids */
    int src_len, tgt_len;
    long line;              /* line in the pairs file, or the index for a generated set */
} PairIds;
long task_pairs_count(const Task *task, Split split);
void task_pair(const Task *task, Split split, long i, PairIds *out);

/* ---- the generators (seeded; text is NUL-terminated) ---- */

/* reverse: a random string of n lowercase letters, n uniform in
 * [min_len, max_len], and its reverse */
void reverse_example(gsl_rng *rng, int min_len, int max_len, char *src, char *tgt);
/* dates: a date from 1950-01-01 .. 2049-12-31 written in one of the
 * DATES_FORMATS human formats, and the same date as ISO YYYY-MM-DD;
 * *y, *m, *d get the date.  src holds at least DATES_MAX_SRC bytes. */
#define DATES_FORMATS 10
#define DATES_MAX_SRC 64
void dates_example(gsl_rng *rng, char *src, char *tgt, int *y, int *m, int *d);
/* the format f of the date (f in [0, DATES_FORMATS)), for the tests */
void dates_format(int f, int y, int m, int d, char *src);
/* days in month m of year y */
int dates_days_in_month(int y, int m);

/* the pair tasks' constructor (tasks.c dispatches by name) */
Task *pairs_task_create(const TaskConfig *cfg, char *err, size_t errlen);

#endif
