/*
 * labelled.c — labelled files and the `classify` task: sequence
 * classification on any file of `label<TAB>text` lines (the KJV verses by
 * testament or by section that `make data` writes are two such files).
 *
 *   reading    the file rules of data.h (labelled_read): every line one
 *              example, a bad line is an error naming the file and line
 *   labels     the distinct labels in byte order: id k is the k-th
 *   split      fixed, never random per run: example i (file order) is
 *              validation when i % 10 == 9, training otherwise
 *   subset     train_examples = N keeps N training examples, the first N of
 *              one fixed shuffle (seed LABELLED_SUBSET_SEED, the same for
 *              every run), so that a curve over N compares the same data
 *   tokens     the `tokenizer` setting: words from the training texts,
 *              chars from all texts (as for a corpus), bytes; each text cut
 *              to its first seq_len tokens
 *   batches    B examples drawn from the split, each row padded after its
 *              n real tokens to T = seq_len; Batch.lengths holds n, so the
 *              model masks the padding (attention, pooling, the reverse
 *              direction) and never scores it
 *   baselines  chance (uniform over K classes: loss log K, accuracy 1/K)
 *              and majority (always the training split's most frequent
 *              class: its validation accuracy)
 *
 * Legend: B batch, T seq_len, K classes, N examples.
 * What this file is not: a tokenizer (tokenizer.c) or the model's pooling
 * (core/model.c).
 */
#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_randist.h>

#include "task_impl.h"
#include "util.h"

/* the fixed shuffle behind train_examples (not the run's seed) */
#define LABELLED_SUBSET_SEED 20260501UL

/* ---- the file ------------------------------------------------------------ */

void labelled_free(LabelledFile *f)
{
    if (!f) return;
    for (long i = 0; i < f->n; i++) {
        free(f->ex[i].label);
        free(f->ex[i].text);
    }
    free(f->ex);
    free(f->path);
    free(f);
}

static char *copy_span(const char *s, size_t n)
{
    char *c = xmalloc(n + 1);
    memcpy(c, s, n);
    c[n] = '\0';
    return c;
}

LabelledFile *labelled_read(const char *path, char *err, size_t errlen)
{
    size_t len = 0;
    char *text = file_read_all(path, &len);
    if (!text) {
        snprintf(err, errlen, "%s: %s", path,
                 errno == EISDIR ? "is a directory, not a labelled file" : strerror(errno));
        return NULL;
    }
    LabelledFile *f = xcalloc(1, sizeof *f);
    f->path = xstrdup(path);
    long cap = 0, line = 0;
    const char *p = text, *end = text + len;
    while (p < end) {
        line++;
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *stop = nl ? nl : end;            /* the line without its "\n" */
        if (stop > p && stop[-1] == '\r' && nl) stop--;   /* ... and a "\r" before it */
        const char *tab = memchr(p, '\t', (size_t)(stop - p));
        const char *why = stop == p ? "a blank line"
                        : !tab      ? "no TAB between label and text"
                        : tab == p  ? "an empty label"
                        : tab + 1 == stop ? "an empty text"
                                    : NULL;
        if (!why && memchr(p, '\0', (size_t)(stop - p))) why = "a NUL byte";
        if (why) {
            snprintf(err, errlen, "%s:%ld: %s (expected label<TAB>text)", path, line, why);
            free(text);
            labelled_free(f);
            return NULL;
        }
        if (f->n == cap) {
            cap = cap ? 2 * cap : 1024;
            f->ex = xrealloc(f->ex, (size_t)cap * sizeof *f->ex);
        }
        LabelledExample *e = &f->ex[f->n++];
        e->label = copy_span(p, (size_t)(tab - p));
        e->text = copy_span(tab + 1, (size_t)(stop - tab - 1));
        e->line = line;
        p = nl ? nl + 1 : end;
    }
    free(text);
    if (f->n == 0) {
        snprintf(err, errlen, "%s: no examples (the file is empty)", path);
        labelled_free(f);
        return NULL;
    }
    return f;
}

/* ---- the task ------------------------------------------------------------ */

typedef struct LabelledTask {
    TaskImpl base;
    int *tokens;          /* (N,T) each example's first n tokens, then zeros */
    int *lengths;         /* (N) n: its token count, at most T */
    int *labels;          /* (N) class ids */
    long *train, *valid;  /* example indices of each split */
    long n_train, n_valid;
} LabelledTask;

static void labelled_batch(const Task *task, Batch *b, Split split, gsl_rng *rng)
{
    const LabelledTask *lt = task->impl;
    int T = task->seq_len;
    const long *pick = split == SPLIT_TRAIN ? lt->train : lt->valid;
    long n = split == SPLIT_TRAIN ? lt->n_train : lt->n_valid;
    assert(b->tokens && b->labels && b->lengths && n >= 1);
    b->T = T;
    for (int r = 0; r < b->B; r++) {
        long i = pick[rng_below(rng, (size_t)n)];
        memcpy(b->tokens + (size_t)r * T, lt->tokens + (size_t)i * T, (size_t)T * sizeof(int));
        b->lengths[r] = lt->lengths[i];
        b->labels[r] = lt->labels[i];
    }
    for (int i = 0; i < b->B * T; i++) b->targets[i] = TARGET_IGNORE;
}

static void labelled_free_impl(void *impl)
{
    LabelledTask *lt = impl;
    free(lt->tokens);
    free(lt->lengths);
    free(lt->labels);
    free(lt->train);
    free(lt->valid);
    free(lt);
}

static const TaskOps labelled_ops = {labelled_batch, labelled_free_impl};

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int labelled_label_id(char *const *labels, int K, const char *label)
{
    const char *key = label;
    char *const *hit = bsearch(&key, labels, (size_t)K, sizeof *labels, cmp_str);
    return hit ? (int)(hit - labels) : -1;
}

/* the tokenizer of the `tokenizer` setting, built from the training texts
 * (chars: from all texts, so that every validation character encodes) */
static Tokenizer *build_tokenizer(const LabelledFile *f, TokKind kind, int vocab_limit, char *err,
                                  size_t errlen)
{
    size_t total = 0;
    for (long i = 0; i < f->n; i++) total += strlen(f->ex[i].text) + 1;
    char *all = xmalloc(total + 1);
    size_t at = 0;
    for (long i = 0; i < f->n; i++) {
        if (kind != TOK_CHARS && i % LABELLED_VALID_EVERY == LABELLED_VALID_EVERY - 1) continue;
        size_t n = strlen(f->ex[i].text);
        memcpy(all + at, f->ex[i].text, n);
        at += n;
        all[at++] = '\n';
    }
    char msg[256];
    Tokenizer *tok = tokenizer_build(kind, all, at, vocab_limit, msg, sizeof msg);
    free(all);
    if (!tok) snprintf(err, errlen, "%s (%s tokenizer): %s", f->path, tokenizer_kind_name(kind), msg);
    return tok;
}

Task *labelled_task_create(const TaskConfig *cfg, char *err, size_t errlen)
{
    const char *path = cfg->corpus;
    if (!path || !*path) {
        snprintf(err, errlen, "task 'classify' needs a labelled file (corpus = FILE of label<TAB>text lines)");
        return NULL;
    }
    int T = cfg->seq_len;
    if (task_check_range("seq_len", T, 1, TASK_MAX_SEQ_LEN, "", err, errlen)) return NULL;
    TokKind kind;
    if (tokenizer_kind_parse(cfg->tokenizer, &kind) != 0) {
        snprintf(err, errlen, "tokenizer must be bytes, chars or words for task 'classify' (got '%s')",
                 cfg->tokenizer ? cfg->tokenizer : "");
        return NULL;
    }
    LabelledFile *f = labelled_read(path, err, errlen);
    if (!f) return NULL;
    if (f->n < LABELLED_VALID_EVERY) {
        snprintf(err, errlen, "%s: %ld examples; the split (every %dth to validation) needs at least %d",
                 path, f->n, LABELLED_VALID_EVERY, LABELLED_VALID_EVERY);
        labelled_free(f);
        return NULL;
    }
    /* labels: distinct, byte order */
    char **labels = xmalloc((size_t)f->n * sizeof *labels);
    for (long i = 0; i < f->n; i++) labels[i] = f->ex[i].label;
    qsort(labels, (size_t)f->n, sizeof *labels, cmp_str);
    int K = 0;
    for (long i = 0; i < f->n; i++)
        if (K == 0 || strcmp(labels[K - 1], labels[i]) != 0) labels[K++] = labels[i];
    if (K < 2) {
        snprintf(err, errlen, "%s: only one label ('%s'); classification needs at least two", path,
                 labels[0]);
        free(labels);
        labelled_free(f);
        return NULL;
    }
    Tokenizer *tok = build_tokenizer(f, kind, cfg->vocab_limit, err, errlen);
    if (!tok) {
        free(labels);
        labelled_free(f);
        return NULL;
    }
    LabelledTask *lt = xcalloc(1, sizeof *lt);
    lt->base.ops = &labelled_ops;
    lt->tokens = xcalloc((size_t)f->n * T, sizeof(int));
    lt->lengths = xmalloc((size_t)f->n * sizeof(int));
    lt->labels = xmalloc((size_t)f->n * sizeof(int));
    lt->train = xmalloc((size_t)f->n * sizeof(long));
    lt->valid = xmalloc((size_t)f->n * sizeof(long));
    int failed = 0;
    for (long i = 0; i < f->n && !failed; i++) {
        char msg[256];
        const LabelledExample *e = &f->ex[i];
        long n = tokenizer_encode(tok, e->text, strlen(e->text), lt->tokens + (size_t)i * T,
                                  (size_t)T, msg, sizeof msg);
        if (n <= 0) {
            snprintf(err, errlen, "%s:%ld: %s", path, e->line,
                     n < 0 ? msg : "the text has no tokens");
            failed = 1;
        }
        lt->lengths[i] = n > T ? T : (int)n;
        lt->labels[i] = labelled_label_id(labels, K, e->label);
        if (i % LABELLED_VALID_EVERY == LABELLED_VALID_EVERY - 1)
            lt->valid[lt->n_valid++] = i;
        else
            lt->train[lt->n_train++] = i;
    }
    if (!failed && cfg->train_examples > 0) {
        if (cfg->train_examples > lt->n_train) {
            snprintf(err, errlen, "train_examples %d is more than the %ld training examples of %s",
                     cfg->train_examples, lt->n_train, path);
            failed = 1;
        } else {
            /* the fixed shuffle: the same subset for every run and model */
            gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
            gsl_rng_set(rng, LABELLED_SUBSET_SEED);
            gsl_ran_shuffle(rng, lt->train, (size_t)lt->n_train, sizeof(long));
            gsl_rng_free(rng);
            lt->n_train = cfg->train_examples;
        }
    }
    if (failed) {
        tokenizer_free(tok);
        labelled_free_impl(lt);
        free(labels);
        labelled_free(f);
        return NULL;
    }
    /* majority: the most frequent class among the training examples used */
    long *count = xcalloc((size_t)K, sizeof(long));
    for (long j = 0; j < lt->n_train; j++) count[lt->labels[lt->train[j]]]++;
    int major = 0;
    for (int k = 1; k < K; k++)
        if (count[k] > count[major]) major = k;
    long hits = 0;
    for (long j = 0; j < lt->n_valid; j++) hits += lt->labels[lt->valid[j]] == major;
    free(count);

    Task *task = xcalloc(1, sizeof *task);
    snprintf(task->name, sizeof task->name, "%s", cfg->task);
    task->vocab_size = tok->vocab_size;
    task->output_size = K;
    task->seq_len = T;
    task->eval_seq_len = T;
    task->chance_loss = log((double)K);
    task->has_accuracy = 1;
    task->classify = 1;
    task->num_labels = K;
    task->labels = xmalloc((size_t)K * sizeof(char *));
    for (int k = 0; k < K; k++) task->labels[k] = xstrdup(labels[k]);
    task->majority_accuracy = (double)hits / (double)lt->n_valid;
    task->train_count = lt->n_train;
    task->valid_count = lt->n_valid;
    task->mask_token = TASK_NO_MASK;
    task->tok = tok;
    task->impl = lt;
    free(labels);
    labelled_free(f);
    return task;
}
