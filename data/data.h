/*
 * data.h — where batches come from: text corpora and synthetic tasks.
 *
 * A Task fills a Batch (core/batch.h) for the training or validation split from
 * a seeded generator.  Text tasks cut windows from a tokenised corpus;
 * synthetic tasks (copy memory, adding, delayed recall, associative recall,
 * parity) generate each batch on the fly.  Every task reports its
 * chance-level loss, the loss of the best predictor that ignores the input,
 * so that plots can draw it.
 */
#ifndef SEQLAB_DATA_H
#define SEQLAB_DATA_H

#include <stddef.h>
#include <gsl/gsl_rng.h>

#include "batch.h"
#include "tokenizer.h"

/* SPLIT_TEST: the pair tasks' held-out pairs (data/pairs.h), never trained
 * on or used for validation */
typedef enum { SPLIT_TRAIN, SPLIT_VALID, SPLIT_TEST } Split;

/* the values of TaskConfig.task, for messages and --help */
#define TASK_NAMES "chars, words, bytes, text, copy, adding, recall, assoc, parity, mlm, classify, listops, \
                   selective_copy, translate, reverse, dates"

/* what a task needs to know; names match the config keys */
typedef struct TaskConfig {
    const char *task;        /* chars, words, bytes, text (uses tokenizer), copy,
                                selective_copy, adding, recall, assoc, parity */
    const char *corpus;      /* text tasks: path of the corpus */
    const char *tokenizer;   /* text: bytes, chars, words */
    int vocab_limit;         /* words: keep the most frequent K (plus <unk>) */
    int seq_len;             /* T for training (text, parity); synthetic tasks may derive it */
    int eval_seq_len;        /* T for validation; 0 = same as training (parity tests longer) */
    int distance;            /* synthetic: the dependency distance d */
    int train_examples;      /* classify: labelled training examples used (0: all) */
    double train_fraction;   /* text: windows come from a fraction f of the training split,
                                spread over it (corpus.c; 0 or 1: all of it); synthetic
                                tasks refuse f < 1 */
    /* pair tasks (data/pairs.h): translate keeps the pairs whose sides have
     * at most this many tokens (0: any); reverse draws lengths up to max_src_len */
    int max_src_len, max_tgt_len;
} TaskConfig;

typedef struct Task {
    char name[16];
    int vocab_size;       /* input tokens V, or 0 with feature input */
    int input_features;   /* F (adding problem: 2) */
    int output_size;      /* classes, or 1 for regression */
    int regression;
    int seq_len;          /* T of training batches */
    int eval_seq_len;     /* T of validation batches */
    double chance_loss;   /* loss of the best input-blind predictor */
    int has_accuracy;     /* classification tasks report accuracy */
    int every_position;   /* a target at every position (text, parity), not a few */
    long train_tokens;    /* text: the training tokens windows are cut from (all of the
                             split, or the train_fraction cut: D of the data-size runs);
                             0 for a synthetic task, which draws fresh examples */
    Tokenizer *tok;       /* text tasks: the tokenizer (owned); NULL otherwise */
    /* pair tasks (data/pairs.h): each side's tokenizer (owned), the longest
     * source, and the exact-match rate of the best input-blind guess */
    Tokenizer *src_tok, *tgt_tok;
    int src_seq_len;      /* 0 for every other task */
    double chance_exact_match;
    /* sequence classification (classify, listops): one label per row */
    int classify;         /* 1: batches carry labels (B) and lengths (B), rows padded */
    int num_labels;       /* K = output_size */
    char **labels;        /* (K) class names, id order (owned) */
    double majority_accuracy; /* validation accuracy of always answering the training
                               * split's most frequent class */
    long train_count, valid_count; /* examples in each split (0: generated on the fly) */
    /* masked language modelling (mlm) */
    int mask_token;       /* the mask id (= vocab_size), or TASK_NO_MASK */
    void *impl;           /* the task's own state */
} Task;

#define TASK_NO_MASK (-1)

/* NULL and a message in err naming the file, option or value at fault */
Task *task_create(const TaskConfig *cfg, char *err, size_t errlen);

/* 1 if the setting `key` means something for task `task` (with tokenizer
 * `tokenizer`, for the text task), 0 if the task ignores it: corpus,
 * tokenizer, prompt and sample_tokens are the text tasks', vocab_limit
 * the words tokenizer's;
 * distance the synthetic tasks' that derive their length from it (whose
 * seq_len and eval_seq_len it replaces).  Every other key: 1.  When a
 * setting does not apply, *why gets the reason, for a message. */
int task_uses_setting(const char *task, const char *tokenizer, const char *key, const char **why);
/* fill b (b->B rows, b->T = the split's length) for the split, drawing
 * every random choice from rng.  Text tasks cut training windows from the
 * first 90% of the corpus and validation windows from the last 10%; the
 * trainer re-seeds the rng it passes for validation identically at every
 * evaluation, so every evaluation scores the same windows.
 * task_batch SETS b->T to the split's length (task->seq_len or
 * task->eval_seq_len) and writes rows with that stride, so b must have
 * been allocated for at least that many positions (batch_alloc(B,
 * max(seq_len, eval_seq_len), ...)).  Token tasks fill tokens and targets;
 * the adding problem fills features, targets and values. */
void task_batch(Task *task, Batch *b, Split split, gsl_rng *rng);
/* a batch of B rows the task can fill for either split (labels and
 * lengths too for a classification task) */
Batch *task_batch_alloc(const Task *task, int B);
void task_free(Task *task);

/* Text tasks: the split's token ids (*ids points into the task; valid
 * while it lives) and their number (the whole training split, even when
 * train_fraction keeps only part of it: see Task.train_tokens); -1 for a
 * synthetic task. */
long task_text_tokens(const Task *task, Split split, const int **ids);

/* ---- labelled files (labelled.c) --------------------------------------
 * One example a line, `label<TAB>text`: split at the first TAB; the text
 * is the rest of the line without its final "\n" (and a "\r" before it),
 * verbatim.  A blank line, a line without a TAB, or an empty label or
 * text is an error naming the file and line. */
typedef struct LabelledExample {
    char *label, *text;   /* NUL-terminated, owned */
    long line;            /* 1-based line number in the file */
} LabelledExample;

typedef struct LabelledFile {
    char *path;
    LabelledExample *ex;  /* (n) in file order */
    long n;
} LabelledFile;

LabelledFile *labelled_read(const char *path, char *err, size_t errlen);
/* the id of label among labels (K, sorted in byte order), or -1 */
int labelled_label_id(char *const *labels, int K, const char *label);
void labelled_free(LabelledFile *f);
/* the split rule of labelled data: every LABELLED_VALID_EVERY-th example
 * (i % 10 == 9, in file order) is validation, the rest training — the same
 * for every run, so every model sees the same test set */
#define LABELLED_VALID_EVERY 10

/* ---- ListOps (listops.c) ------------------------------------------------
 * token ids of the ListOps vocabulary (shared with the tests) */
enum { LISTOPS_DIGITS = 10, LISTOPS_MIN = 10, LISTOPS_MAX, LISTOPS_MED, LISTOPS_SM,
       LISTOPS_CLOSE, LISTOPS_VOCAB };
/* one expression of at most max_len tokens and at least max_len / 4, drawn
 * from rng by the LRA's rules; writes tokens (n <= max_len), returns n and
 * its value in *label */
int listops_generate(int *tokens, int max_len, int *label, gsl_rng *rng);

/* ---- masked language modelling (mlm.c) --------------------------------- */
#define MLM_CHOSEN 0.15      /* fraction of each window's positions chosen */
#define MLM_MASKED 0.8       /* of those: replaced by the mask id */
#define MLM_RANDOM 0.1       /* ... by a random token; the rest stay */
/* tokens (T) in place: chooses round(MLM_CHOSEN T) positions (at least 1),
 * writes targets (T) = the original token there and TARGET_IGNORE elsewhere,
 * and replaces each chosen token by mask_id (80%), a random id < V (10%) or
 * leaves it (10%) */
void mlm_mask_window(int *tokens, int *targets, int T, int V, int mask_id, gsl_rng *rng);

#endif
