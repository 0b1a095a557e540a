/*
 * corpus.c — the text task: a corpus file, tokenised, split 90% / 10%, and
 * cut into random windows for next-token prediction.
 *
 * Legend: N tokens in the corpus, B batch, T window length.
 *
 *   corpus   x_0 x_1 ... x_{N-1}            ids (N), one array
 *   train    x_0 ... x_{n_train - 1}         the first 90% of the tokens
 *   valid    x_{n_train} ... x_{N-1}         the last 10%
 *   pieces   train_fraction f < 1 keeps, of each of TRAIN_PIECES equal
 *            blocks of train (stride S = n_train / TRAIN_PIECES), its first
 *            P = floor(f * S) tokens: x[k*S .. k*S + P) for k = 0 .. 63
 *   window   input  x[s .. s+T)              a row of batch->tokens (B,T)
 *            target x[s+1 .. s+T+1)          the same row of batch->targets (B,T)
 *
 * A window's start s is uniform over the n - T starts of its split (n its
 * length), so a window and its targets never reach past the split: the
 * last start is n - T - 1, whose final target is x[n - 1].
 *
 * train_fraction (the data-size experiments) cuts the training split to a
 * fraction f spread evenly over it: the first f of each of 64 blocks, so a
 * 1% cut of the Bible samples every part of it rather than Genesis alone
 * (whose language differs from the validation split's, the end of the New
 * Testament).  A window lies inside one piece (never across the seam to the
 * next), its start uniform over the pieces' P - T starts each; the same f
 * always gives the same tokens and a smaller cut lies inside every larger
 * one.  At f = 1 the split is one piece, as without the setting.  Nothing
 * else moves: the vocabulary, the chance loss and the validation split are
 * those of the whole corpus whatever f is, so runs at different f are scored
 * on the same validation task by models of the same size.
 *
 * Vocabulary: bytes has all 256; words counts the training 90% only (a
 * validation word it never saw becomes <unk>, as for any new text); chars
 * is built from the WHOLE corpus, so that a character that first appears
 * in the validation split (a rare accent, say) still encodes -- a chars
 * tokenizer has no <unk>, and the 256-byte or 70-character alphabets mean
 * this leaks nothing about the validation text that matters.
 *
 * What this file is not: the tokenizer (tokenizer.c) or the synthetic tasks
 * (tasks.c).
 */
#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "task_impl.h"
#include "util.h"

/* the validation split is the last 1/VALID_FRACTION_INV of the tokens */
#define VALID_FRACTION_INV 10
/* a train_fraction cut keeps the first part of each of this many blocks */
#define TRAIN_PIECES 64

typedef struct CorpusTask {
    TaskImpl base;
    int *ids;        /* (N) the corpus as token ids */
    long n_train;    /* ids[0 .. n_train) is the training split */
    /* training windows come from npieces pieces ids[k*stride .. k*stride + piece_len)
     * (one piece, the whole split, without a train_fraction cut) */
    int npieces;
    long stride, piece_len;
    long n_valid;    /* ids[n_train .. n_train + n_valid) is the validation split */
    int mlm;         /* task mlm: windows masked (mlm.c) instead of shifted */
} CorpusTask;

/* ---- batches ---------------------------------------------------------- */

static void corpus_batch(const Task *task, Batch *b, Split split, gsl_rng *rng)
{
    const CorpusTask *c = task->impl;
    const int *x = split == SPLIT_TRAIN ? c->ids : c->ids + c->n_train;   /* the split */
    /* the validation split is one piece of n_valid tokens */
    long n = split == SPLIT_TRAIN ? c->piece_len : c->n_valid;
    long pieces = split == SPLIT_TRAIN ? c->npieces : 1;
    int T = split == SPLIT_TRAIN ? task->seq_len : task->eval_seq_len;
    assert(b->tokens && b->targets && b->B >= 1);
    assert(n >= (long)T + 1);
    b->T = T;
    for (int r = 0; r < b->B; r++) {
        /* u over the n - T starts of each piece; piece u / (n - T) at offset
         * u mod (n - T): the window x[s .. s+T) and its targets x[s+1 .. s+T+1)
         * fit inside the piece */
        size_t u = rng_below(rng, (size_t)pieces * (size_t)(n - T));
        size_t s = (u / (size_t)(n - T)) * (size_t)c->stride + u % (size_t)(n - T);
        memcpy(b->tokens + (size_t)r * T, x + s, (size_t)T * sizeof(int));
        if (c->mlm)
            /* the window itself is the target, at the masked positions */
            mlm_mask_window(b->tokens + (size_t)r * T, b->targets + (size_t)r * T, T,
                            task->vocab_size, task->mask_token, rng);
        else
            memcpy(b->targets + (size_t)r * T, x + s + 1, (size_t)T * sizeof(int));
    }
}

static void corpus_free_impl(void *impl)
{
    CorpusTask *c = impl;
    free(c->ids);
    free(c);
}

static const TaskOps corpus_ops = {corpus_batch, corpus_free_impl};

/* ---- loading ---------------------------------------------------------- */

/* H = -sum_v p_v log p_v over the unigram frequencies p of ids (n): the
 * loss of the best predictor that ignores the context */
static double unigram_entropy(const int *ids, long n, int V)
{
    long *count = xcalloc((size_t)V, sizeof(long));
    for (long i = 0; i < n; i++) count[ids[i]]++;
    double H = 0;
    for (int v = 0; v < V; v++) {
        if (count[v] == 0) continue;
        double p = (double)count[v] / (double)n;
        H -= p * log(p);
    }
    free(count);
    return H;
}

/* the corpus as ids (*N of them) and the length of its training split;
 * builds *tok.  Returns 0, or -1 with a message (without the file name). */
static int corpus_tokenise(const char *text, size_t len, TokKind kind, int vocab_limit,
                           Tokenizer **tok, int **ids, long *N, long *n_train, char *err,
                           size_t errlen)
{
    if (kind == TOK_WORDS) {
        /* split the word sequence first: the vocabulary sees the training part only */
        long total = tokenizer_count(kind, text, len, 0, NULL, err, errlen);
        if (total < 0) return -1;
        long ntr = total - total / VALID_FRACTION_INV;
        size_t cut;
        tokenizer_count(kind, text, len, ntr, &cut, err, errlen);
        *tok = tokenizer_build(kind, text, cut, vocab_limit, err, errlen);
        if (!*tok) return -1;
        *ids = xmalloc((size_t)(total ? total : 1) * sizeof(int));
        long a = tokenizer_encode(*tok, text, cut, *ids, (size_t)ntr, err, errlen);
        long b = tokenizer_encode(*tok, text + cut, len - cut, *ids + ntr, (size_t)(total - ntr),
                                  err, errlen);
        assert(a == ntr && b == total - ntr);
        (void)a, (void)b;
        *N = total;
        *n_train = ntr;
        return 0;
    }
    /* bytes, and chars from the whole corpus (see the top of the file) */
    *tok = tokenizer_build(kind, text, len, vocab_limit, err, errlen);
    if (!*tok) return -1;
    long total = tokenizer_encode(*tok, text, len, NULL, 0, err, errlen);
    assert(total >= 0);
    *ids = xmalloc((size_t)(total ? total : 1) * sizeof(int));
    long got = tokenizer_encode(*tok, text, len, *ids, (size_t)total, err, errlen);
    assert(got == total);
    (void)got;
    *N = total;
    *n_train = total - total / VALID_FRACTION_INV;
    return 0;
}

Task *corpus_task_create(const TaskConfig *cfg, TokKind kind, char *err, size_t errlen)
{
    const char *path = cfg->corpus;
    if (!path || !*path) {
        snprintf(err, errlen, "task '%s' needs a corpus file (corpus = FILE)", cfg->task);
        return NULL;
    }
    int T = cfg->seq_len;
    int Teval = cfg->eval_seq_len > 0 ? cfg->eval_seq_len : T;
    if (task_check_range("seq_len", T, 1, TASK_MAX_SEQ_LEN, "", err, errlen) ||
        task_check_range("eval_seq_len", cfg->eval_seq_len, 0, TASK_MAX_SEQ_LEN,
                         " (0: same as seq_len)", err, errlen))
        return NULL;

    /* a device or a pipe (/dev/zero) could be read until memory runs out */
    struct stat st;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "corpus '%s' is not a regular file (a device or a pipe); give a text file", path);
        return NULL;
    }
    size_t len = 0;
    char *text = file_read_all(path, &len);
    if (!text) {
        snprintf(err, errlen, "corpus '%s': %s", path,
                 errno == EISDIR ? "is a directory, not a text file" : strerror(errno));
        return NULL;
    }
    if (len == 0) {
        snprintf(err, errlen, "corpus '%s' is empty", path);
        free(text);
        return NULL;
    }
    const char *nul = memchr(text, '\0', len);
    if (nul) {
        snprintf(err, errlen, "corpus '%s' looks binary, not text (a NUL byte at offset %zu)",
                 path, (size_t)(nul - text));
        free(text);
        return NULL;
    }

    Tokenizer *tok = NULL;
    int *ids = NULL;
    long N = 0, n_train = 0;
    char msg[256];
    int rc = corpus_tokenise(text, len, kind, cfg->vocab_limit, &tok, &ids, &N, &n_train, msg,
                             sizeof msg);
    free(text);
    if (rc != 0) {
        snprintf(err, errlen, "corpus '%s' (%s tokenizer): %s", path, tokenizer_kind_name(kind),
                 msg);
        return NULL;
    }
    long n_valid = N - n_train;
    double f = cfg->train_fraction > 0 ? cfg->train_fraction : 1.0;
    if (!(f <= 1.0)) {
        snprintf(err, errlen, "train_fraction = %g must be in (0, 1]", f);
        tokenizer_free(tok);
        free(ids);
        return NULL;
    }
    int npieces = f >= 1.0 ? 1 : TRAIN_PIECES;
    long stride = n_train / npieces;
    long piece_len = f >= 1.0 ? n_train : (long)floor(f * (double)stride);
    if (f < 1.0 && n_train >= (long)T + 1 && piece_len < (long)T + 1) {
        snprintf(err, errlen,
                 "train_fraction = %g of corpus '%s' keeps %d pieces of %ld tokens (of its %ld "
                 "training tokens), but windows of seq_len %d need pieces of at least %d (%s "
                 "tokenizer)",
                 f, path, npieces, piece_len, n_train, T, T + 1, tokenizer_kind_name(kind));
        tokenizer_free(tok);
        free(ids);
        return NULL;
    }
    if (n_train < (long)T + 1 || n_valid < (long)Teval + 1) {
        snprintf(err, errlen,
                 "corpus '%s' is too short: its training split has %ld tokens and its "
                 "validation split %ld, but windows of seq_len %d need at least %d and of "
                 "eval_seq_len %d at least %d (%s tokenizer, %ld tokens in all)",
                 path, n_train, n_valid, T, T + 1, Teval, Teval + 1, tokenizer_kind_name(kind),
                 N);
        tokenizer_free(tok);
        free(ids);
        return NULL;
    }

    CorpusTask *c = xcalloc(1, sizeof *c);
    c->base.ops = &corpus_ops;
    c->ids = ids;
    c->n_train = n_train;
    c->npieces = npieces;
    c->stride = stride;
    c->piece_len = piece_len;
    c->n_valid = n_valid;

    Task *task = xcalloc(1, sizeof *task);
    snprintf(task->name, sizeof task->name, "%s", cfg->task);
    task->vocab_size = tok->vocab_size;
    task->input_features = 0;
    task->output_size = tok->vocab_size;
    task->regression = 0;
    task->seq_len = T;
    task->eval_seq_len = Teval;
    task->chance_loss = unigram_entropy(ids, n_train, tok->vocab_size);
    task->has_accuracy = 1;
    task->every_position = 1;
    task->train_tokens = (long)npieces * piece_len;
    task->mask_token = TASK_NO_MASK;
    task->tok = tok;
    task->impl = c;
    if (strcmp(cfg->task, "mlm") == 0) {
        /* masked positions only; the mask id is the one after the vocabulary */
        c->mlm = 1;
        task->every_position = 0;
        task->mask_token = tok->vocab_size;
    }
    return task;
}

long task_text_tokens(const Task *task, Split split, const int **ids)
{
    if (!task->tok) return -1;
    const CorpusTask *c = task->impl;
    *ids = split == SPLIT_TRAIN ? c->ids : c->ids + c->n_train;
    return split == SPLIT_TRAIN ? c->n_train : c->n_valid;
}
