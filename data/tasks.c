/*
 * tasks.c — task_create / task_batch / task_free, and the synthetic
 * long-range tasks, generated on the fly from the caller's rng.
 *
 * Each task tests whether a model can carry information across a distance
 * d = cfg->distance, and reports its chance-level loss: the loss of the
 * best predictor that never looks at the input.
 *
 *   recall   delayed (first-token) recall: the token seen d steps ago
 *   copy     copy memory (Arjovsky, Shah & Bengio 2016)
 *   selective_copy  its symbols scattered among blanks (selective_copy.c)
 *   adding   the adding problem (Hochreiter & Schmidhuber 1997)
 *   assoc    associative recall / induction: the value paired with a key
 *   parity   running parity of a bit string; tested longer than trained
 *
 * Legend: B batch, T sequence length, F input features.  Tokens and
 * targets are (B,T); the adding problem's features are (B,T,F).  Every
 * position whose target is not scored holds TARGET_IGNORE.
 *
 * What this file is not: the text task (corpus.c).
 */
#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pairs.h"
#include "task_impl.h"
#include "util.h"

/* the longest dependency distance accepted (keeps T and memory sane) */
#define TASK_MAX_DISTANCE 100000

size_t rng_below(gsl_rng *rng, size_t n)
{
    assert(n >= 1 && n - 1 <= gsl_rng_max(rng) - gsl_rng_min(rng));
    return (size_t)gsl_rng_uniform_int(rng, (unsigned long)n);
}

int task_check_range(const char *name, long value, long lo, long hi, const char *why,
                     char *err, size_t errlen)
{
    if (value >= lo && value <= hi) return 0;
    snprintf(err, errlen, "%s must be between %ld and %ld%s (got %ld)", name, lo, hi, why,
             value);
    return -1;
}

/* ======================================================================
 * recall — delayed (first-token) recall at distance d
 *
 *   t        0        1 .. d-1        d
 *   x_t      symbol   blank           query
 *   target   -        -               x_0
 *
 * Symbols are ids 0..7 (they double as the 8 output classes), the blank id
 * 8, the query id 9.  T = d + 1.  Chance: log 8.  The filler is one
 * constant blank, so the only thing that makes the task hard is the
 * distance: the model must carry x_0 through d steps of nothing (random
 * distractors would add interference on top, a different question).
 * ====================================================================== */

#define RECALL_SYMBOLS 8
#define RECALL_BLANK 8
#define RECALL_QUERY 9
#define RECALL_VOCAB 10

static void recall_batch(const Task *task, Batch *b, Split split, gsl_rng *rng)
{
    (void)split;
    int T = task->seq_len, d = T - 1;
    assert(b->tokens && b->targets);
    b->T = T;
    for (int r = 0; r < b->B; r++) {
        int *x = b->tokens + (size_t)r * T;    /* (T) */
        int *y = b->targets + (size_t)r * T;   /* (T) */
        x[0] = (int)rng_below(rng, RECALL_SYMBOLS);
        for (int t = 1; t < d; t++) x[t] = RECALL_BLANK;
        x[d] = RECALL_QUERY;
        for (int t = 0; t < d; t++) y[t] = TARGET_IGNORE;
        y[d] = x[0];
    }
}

/* ======================================================================
 * copy — copy memory (Arjovsky, Shah & Bengio 2016, "Unitary evolution
 * recurrent neural networks", with their T = our d)
 *
 *   t        0 .. 9      10 .. 8+d      9+d          10+d .. 19+d
 *   x_t      a_0..a_9    blank (d-1)    delimiter    blank (10)
 *   target   -           -              -            a_0 .. a_9
 *
 * Symbols a_i are ids 1..8, blank 0, delimiter 9; O = 10 classes.
 * T = d + 20.  The delimiter arrives d steps after the last symbol, and
 * every symbol a_i (seen at t = i) is due at t = d + 10 + i: each
 * dependency spans exactly d + 10 steps.  Only the last 10 positions are
 * scored.  Chance: log 8 (a uniform guess over the 8 symbols).
 * ====================================================================== */

#define COPY_BLANK 0
#define COPY_FIRST_SYMBOL 1
#define COPY_SYMBOLS 8
#define COPY_DELIMITER 9
#define COPY_VOCAB 10
#define COPY_LENGTH 10   /* symbols to copy */

static void copy_batch(const Task *task, Batch *b, Split split, gsl_rng *rng)
{
    (void)split;
    int T = task->seq_len, d = T - 2 * COPY_LENGTH;
    assert(b->tokens && b->targets);
    b->T = T;
    for (int r = 0; r < b->B; r++) {
        int *x = b->tokens + (size_t)r * T;    /* (T) */
        int *y = b->targets + (size_t)r * T;   /* (T) */
        for (int t = 0; t < T; t++) {
            x[t] = COPY_BLANK;
            y[t] = TARGET_IGNORE;
        }
        for (int i = 0; i < COPY_LENGTH; i++) {
            x[i] = COPY_FIRST_SYMBOL + (int)rng_below(rng, COPY_SYMBOLS);
            y[d + COPY_LENGTH + i] = x[i];
        }
        x[COPY_LENGTH + d - 1] = COPY_DELIMITER;
    }
}

/* ======================================================================
 * adding — the adding problem (Hochreiter & Schmidhuber 1997, "Long
 * short-term memory", experiment 4)
 *
 *   features (T,2)   [u_t, m_t]: u_t ~ U(0,1); m_t = 1 at exactly two
 *                    positions, i in [0, T/2) and j in [T/2, T), else 0
 *   target           at t = T-1 only (regression): u_i + u_j
 *
 * T = d.  targets[] is 0 at the scored position and TARGET_IGNORE
 * elsewhere; values[] holds the sum there and 0 elsewhere.  Chance: the
 * best constant guess is the mean, 1, whose mean squared error is the
 * variance of a sum of two U(0,1): 2 * 1/12 = 1/6.
 * ====================================================================== */

#define ADDING_FEATURES 2
#define ADDING_SCORED 0   /* targets[] at the scored position (any value but TARGET_IGNORE) */

static void adding_batch(const Task *task, Batch *b, Split split, gsl_rng *rng)
{
    (void)split;
    int T = task->seq_len, half = T / 2;
    assert(b->features && b->targets && b->values);
    b->T = T;
    for (int r = 0; r < b->B; r++) {
        real *f = b->features + (size_t)r * T * ADDING_FEATURES;   /* (T,F) */
        int *y = b->targets + (size_t)r * T;                       /* (T) */
        real *v = b->values + (size_t)r * T;                       /* (T) */
        for (int t = 0; t < T; t++) {
            /* u_t ~ U(0,1) in the precision of real (a float can round up to 1: redraw) */
            real u;
            do u = (real)gsl_rng_uniform(rng); while (u >= 1);
            f[t * ADDING_FEATURES + 0] = u;
            f[t * ADDING_FEATURES + 1] = 0;
            y[t] = TARGET_IGNORE;
            v[t] = 0;
        }
        int i = (int)rng_below(rng, (size_t)half);
        int j = half + (int)rng_below(rng, (size_t)(T - half));
        f[i * ADDING_FEATURES + 1] = 1;
        f[j * ADDING_FEATURES + 1] = 1;
        /* target = u_i + u_j, at the last position */
        y[T - 1] = ADDING_SCORED;
        v[T - 1] = f[i * ADDING_FEATURES] + f[j * ADDING_FEATURES];
    }
}

/* ======================================================================
 * assoc — associative recall (induction): d key-value pairs, then a query
 *
 *   t        0    1    2    3   ...  2d-2     2d-1     2d      2d+1
 *   x_t      k_1  v_1  k_2  v_2 ...  k_d      v_d      query   k_q
 *   target   -                                                 v_q
 *
 * Values are ids 0..7 (they double as the 8 output classes), keys ids
 * 8..23 (16 of them, distinct within a sequence, so d <= 16), the query
 * marker 24; V = 25.  k_q is one of the d keys, uniformly.  T = 2d + 2.
 * Chance: log 8.
 * ====================================================================== */

#define ASSOC_VALUES 8
#define ASSOC_KEY_FIRST 8
#define ASSOC_KEYS 16
#define ASSOC_QUERY 24
#define ASSOC_VOCAB 25

static void assoc_batch(const Task *task, Batch *b, Split split, gsl_rng *rng)
{
    (void)split;
    int T = task->seq_len, d = (T - 2) / 2;
    assert(b->tokens && b->targets && d <= ASSOC_KEYS);
    b->T = T;
    for (int r = 0; r < b->B; r++) {
        int *x = b->tokens + (size_t)r * T;    /* (T) */
        int *y = b->targets + (size_t)r * T;   /* (T) */
        /* d distinct keys: the first d of a partial Fisher-Yates shuffle */
        int keys[ASSOC_KEYS];
        for (int k = 0; k < ASSOC_KEYS; k++) keys[k] = ASSOC_KEY_FIRST + k;
        for (int p = 0; p < d; p++) {
            int q = p + (int)rng_below(rng, (size_t)(ASSOC_KEYS - p));
            int tmp = keys[p];
            keys[p] = keys[q];
            keys[q] = tmp;
        }
        for (int p = 0; p < d; p++) {
            x[2 * p] = keys[p];
            x[2 * p + 1] = (int)rng_below(rng, ASSOC_VALUES);
        }
        int q = (int)rng_below(rng, (size_t)d);
        x[2 * d] = ASSOC_QUERY;
        x[2 * d + 1] = keys[q];
        for (int t = 0; t < T - 1; t++) y[t] = TARGET_IGNORE;
        y[T - 1] = x[2 * q + 1];
    }
}

/* ======================================================================
 * parity — running parity of random bits
 *
 *   x_t ~ {0, 1} uniformly;  target_t = x_0 xor x_1 xor ... xor x_t
 *
 * V = O = 2, every position scored.  Training batches have T = seq_len,
 * validation batches T = eval_seq_len: a longer validation length tests
 * whether the model learned the rule or only the lengths it saw (a
 * recurrent model can carry one bit forever; attention with positions it
 * never trained on usually cannot).  Chance: log 2.
 * ====================================================================== */

static void parity_batch(const Task *task, Batch *b, Split split, gsl_rng *rng)
{
    int T = split == SPLIT_TRAIN ? task->seq_len : task->eval_seq_len;
    assert(b->tokens && b->targets);
    b->T = T;
    for (int r = 0; r < b->B; r++) {
        int *x = b->tokens + (size_t)r * T;    /* (T) */
        int *y = b->targets + (size_t)r * T;   /* (T) */
        int parity = 0;
        for (int t = 0; t < T; t++) {
            x[t] = (int)rng_below(rng, 2);
            /* target_t = target_{t-1} xor x_t */
            parity ^= x[t];
            y[t] = parity;
        }
    }
}

/* ======================================================================
 * The task table, task_create / task_batch / task_free
 * ====================================================================== */

static void synth_free_impl(void *impl) { free(impl); }

static const TaskOps recall_ops = {recall_batch, synth_free_impl};
static const TaskOps copy_ops = {copy_batch, synth_free_impl};
static const TaskOps adding_ops = {adding_batch, synth_free_impl};
static const TaskOps assoc_ops = {assoc_batch, synth_free_impl};
static const TaskOps parity_ops = {parity_batch, synth_free_impl};

static Task *synth_task_new(const TaskConfig *cfg, const TaskOps *ops, int V, int F, int O,
                            int T, int Teval, double chance)
{
    TaskImpl *s = xcalloc(1, sizeof *s);   /* a synthetic task keeps no state */
    s->ops = ops;
    Task *task = xcalloc(1, sizeof *task);
    snprintf(task->name, sizeof task->name, "%s", cfg->task);
    task->vocab_size = V;
    task->input_features = F;
    task->output_size = O;
    task->regression = F > 0;
    task->seq_len = T;
    task->eval_seq_len = Teval;
    task->chance_loss = chance;
    task->has_accuracy = !task->regression;
    task->mask_token = TASK_NO_MASK;
    task->tok = NULL;
    task->impl = s;
    return task;
}

/* distance within [lo, hi] for task `name`, or a message naming it */
static int check_distance(const TaskConfig *cfg, long lo, long hi, const char *why, char *err,
                          size_t errlen)
{
    char full[160];
    snprintf(full, sizeof full, " for task '%s'%s", cfg->task, why);
    return task_check_range("distance", cfg->distance, lo, hi, full, err, errlen);
}

Task *task_create(const TaskConfig *cfg, char *err, size_t errlen)
{
    const char *name = cfg->task ? cfg->task : "";
    TokKind kind;
    if (strcmp(name, "text") == 0) {
        if (tokenizer_kind_parse(cfg->tokenizer, &kind) != 0) {
            snprintf(err, errlen, "tokenizer must be bytes, chars or words for task 'text' (got '%s')",
                     cfg->tokenizer ? cfg->tokenizer : "");
            return NULL;
        }
        return corpus_task_create(cfg, kind, err, errlen);
    }
    if (strcmp(name, "mlm") == 0) {
        if (tokenizer_kind_parse(cfg->tokenizer, &kind) != 0) {
            snprintf(err, errlen, "tokenizer must be bytes, chars or words for task 'mlm' (got '%s')",
                     cfg->tokenizer ? cfg->tokenizer : "");
            return NULL;
        }
        return corpus_task_create(cfg, kind, err, errlen);
    }
    /* train_fraction cuts a corpus: a labelled file has train_examples, and
     * the generated tasks draw fresh examples for every batch */
    if (cfg->train_fraction > 0 && cfg->train_fraction < 1 && tokenizer_kind_parse(name, &kind) != 0) {
        snprintf(err, errlen, "train_fraction = %g applies to the corpus tasks only (chars, words, "
                 "bytes, text, mlm), not to task '%s'", cfg->train_fraction, name);
        return NULL;
    }
    if (strcmp(name, "classify") == 0) return labelled_task_create(cfg, err, errlen);
    if (strcmp(name, "listops") == 0) return listops_task_create(cfg, err, errlen);
    /* the task names chars, words and bytes choose their tokenizer */
    if (tokenizer_kind_parse(name, &kind) == 0) return corpus_task_create(cfg, kind, err, errlen);

    int d = cfg->distance;
    if (strcmp(name, "recall") == 0) {
        if (check_distance(cfg, 1, TASK_MAX_DISTANCE, "", err, errlen)) return NULL;
        return synth_task_new(cfg, &recall_ops, RECALL_VOCAB, 0, RECALL_SYMBOLS, d + 1, d + 1,
                              log(RECALL_SYMBOLS));
    }
    if (strcmp(name, "copy") == 0) {
        if (check_distance(cfg, 1, TASK_MAX_DISTANCE, "", err, errlen)) return NULL;
        int T = d + 2 * COPY_LENGTH;
        return synth_task_new(cfg, &copy_ops, COPY_VOCAB, 0, COPY_VOCAB, T, T, log(COPY_SYMBOLS));
    }
    if (strcmp(name, "selective_copy") == 0) return selective_copy_task_create(cfg, err, errlen);
    if (strcmp(name, "adding") == 0) {
        if (check_distance(cfg, 2, TASK_MAX_DISTANCE,
                           " (it is the sequence length, with one marker in each half)", err,
                           errlen))
            return NULL;
        /* chance = Var(u_i + u_j) = 2 Var(U(0,1)) = 2/12 */
        return synth_task_new(cfg, &adding_ops, 0, ADDING_FEATURES, 1, d, d, 2.0 / 12.0);
    }
    if (strcmp(name, "assoc") == 0) {
        if (check_distance(cfg, 1, ASSOC_KEYS,
                           " (it is the number of key-value pairs, with distinct keys from 16)",
                           err, errlen))
            return NULL;
        int T = 2 * d + 2;
        return synth_task_new(cfg, &assoc_ops, ASSOC_VOCAB, 0, ASSOC_VALUES, T, T,
                              log(ASSOC_VALUES));
    }
    if (strcmp(name, "parity") == 0) {
        if (task_check_range("seq_len", cfg->seq_len, 1, TASK_MAX_SEQ_LEN, " for task 'parity'",
                             err, errlen) ||
            task_check_range("eval_seq_len", cfg->eval_seq_len, 0, TASK_MAX_SEQ_LEN,
                             " for task 'parity' (0: same as seq_len)", err, errlen))
            return NULL;
        int Teval = cfg->eval_seq_len > 0 ? cfg->eval_seq_len : cfg->seq_len;
        Task *task = synth_task_new(cfg, &parity_ops, 2, 0, 2, cfg->seq_len, Teval, log(2.0));
        if (task) task->every_position = 1;
        return task;
    }
    if (strcmp(name, "translate") == 0 || strcmp(name, "reverse") == 0 || strcmp(name, "dates") == 0)
        return pairs_task_create(cfg, err, errlen);
    snprintf(err, errlen, "unknown task '%s' (valid: %s)", name, TASK_NAMES);
    return NULL;
}

int task_uses_setting(const char *task, const char *tokenizer, const char *key, const char **why)
{
    TokKind kind;
    /* mlm and classify read a file with the tokenizer too (samples: mlm only
     * makes none, but a prompt given to it is harmless) */
    int text = strcmp(task, "text") == 0 || tokenizer_kind_parse(task, &kind) == 0 ||
               strcmp(task, "mlm") == 0 || strcmp(task, "classify") == 0;
    /* the tasks whose sequence length follows from the distance */
    int by_distance = !strcmp(task, "copy") || !strcmp(task, "adding") || !strcmp(task, "recall") ||
                      !strcmp(task, "assoc") || !strcmp(task, "selective_copy");
    /* the tasks of pairs (pairs.c): translate reads a corpus with a tokenizer */
    int translate = strcmp(task, "translate") == 0, pairs = translate || !strcmp(task, "reverse") ||
                    !strcmp(task, "dates");
    if (pairs) {
        if ((strcmp(key, "corpus") == 0 || strcmp(key, "tokenizer") == 0 || strcmp(key, "max_tgt_len") == 0) &&
            !translate) {
            *why = "it is for task translate";
            return 0;
        }
        if (strcmp(key, "vocab_limit") == 0 && !(translate && strcmp(tokenizer, "words") == 0)) {
            *why = "it is for task translate with the words tokenizer";
            return 0;
        }
        if (strcmp(key, "max_src_len") == 0 && strcmp(task, "dates") == 0) {
            *why = "it is for translate and reverse";
            return 0;
        }
        if (strcmp(key, "seq_len") == 0 || strcmp(key, "eval_seq_len") == 0 || strcmp(key, "distance") == 0 ||
            strcmp(key, "prompt") == 0 || strcmp(key, "sample_tokens") == 0) {
            *why = "the tasks of pairs take their lengths from the pairs (max_src_len, max_tgt_len)";
            return 0;
        }
        return 1;
    }
    if (strcmp(key, "max_src_len") == 0 || strcmp(key, "max_tgt_len") == 0) {
        *why = "it is for the tasks of pairs (translate, reverse, dates)";
        return 0;
    }
    static const char *const text_keys[] = {"corpus", "tokenizer", "vocab_limit", "train_fraction", "prompt",
                                            "sample_tokens"};
    for (size_t i = 0; i < sizeof text_keys / sizeof text_keys[0]; i++)
        if (strcmp(key, text_keys[i]) == 0) {
            if (!text) {
                *why = "it is for the text tasks";
                return 0;
            }
            int words = tokenizer_kind_parse(task, &kind) == 0 ? strcmp(task, "words") == 0
                                                              : strcmp(tokenizer, "words") == 0;
            if (strcmp(key, "vocab_limit") == 0 && !words) {
                *why = "it is for the words tokenizer";
                return 0;
            }
            return 1;
        }
    if (strcmp(key, "train_examples") == 0 && strcmp(task, "classify") != 0) {
        *why = "it is for task classify";
        return 0;
    }
    if (strcmp(key, "distance") == 0 && !by_distance) {
        *why = "it is for copy, adding, recall, assoc and selective_copy";
        return 0;
    }
    if ((strcmp(key, "seq_len") == 0 || strcmp(key, "eval_seq_len") == 0) && by_distance) {
        *why = "the task's length follows from distance";
        return 0;
    }
    return 1;
}

void task_batch(Task *task, Batch *b, Split split, gsl_rng *rng)
{
    const TaskImpl *impl = task->impl;
    impl->ops->batch(task, b, split, rng);
}

Batch *task_batch_alloc(const Task *task, int B)
{
    int T = task->seq_len > task->eval_seq_len ? task->seq_len : task->eval_seq_len;
    if (task->classify) return batch_alloc_labelled(B, T);
    if (task->src_seq_len > 0) return batch_alloc_pairs(B, task->src_seq_len, T);   /* pairs */
    return batch_alloc(B, T, task->input_features, task->regression);
}

void task_free(Task *task)
{
    if (!task) return;
    for (int k = 0; k < task->num_labels; k++) free(task->labels[k]);
    free(task->labels);
    const TaskImpl *impl = task->impl;
    impl->ops->free_impl(task->impl);
    tokenizer_free(task->tok);
    tokenizer_free(task->src_tok);
    tokenizer_free(task->tgt_tok);
    free(task);
}
