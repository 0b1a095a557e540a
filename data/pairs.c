/*
 * pairs.c — sequence-to-sequence data: a pairs file, the two generated
 * tasks, and batches of pairs padded to the longest of each side.
 *
 *   translate  any pairs file (`source<TAB>target`, one pair a line), e.g.
 *              the KJV -> Reina-Valera 1909 verses of `make data`.  Split by
 *              line number: L % 10 == 0 test, L % 10 == 5 validation, the
 *              rest training.  Both sides use `tokenizer` with vocabularies
 *              of their own (words: from the training pairs, the K = vocab_limit
 *              most frequent plus <unk>; chars: from the whole file, as the
 *              text task does; bytes: 256).  max_src_len / max_tgt_len keep
 *              the pairs whose sides have at most that many tokens.
 *   reverse    a random lowercase string of length n uniform in
 *              [1, max_src_len] -> the same string reversed: every output
 *              token depends on an input token n - 1 - t positions from
 *              the end, the classic test of the encoder's bottleneck.
 *   dates      a date written as a human would ("tuesday 3 march 1987",
 *              "3/3/87", "March 3rd, 1987", ...) -> ISO "1987-03-03".
 * The generated tasks draw training pairs afresh from the trainer's rng
 * and keep fixed validation and test sets (PAIRS_EVAL_SET pairs each, from
 * their own seeds).
 *
 * Chance: the loss of the best input-blind predictor per predicted token
 * (reverse and dates: exact, from the generator's entropy; translate: the
 * unigram entropy of the training targets with <eos>), and the exact-match
 * rate of the best blind guess.
 *
 * Legend: B batch, S longest source of the batch, T longest target + 1.
 * What this file is not: the tokenizer (tokenizer.c) or the models.
 */
#include "pairs.h"

#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "task_impl.h"
#include "util.h"

/* pairs in each generated validation and test set */
#define PAIRS_EVAL_SET 1000
/* seeds of the generated sets: fixed, so every run scores the same pairs */
#define PAIRS_VALID_SEED 20150401UL
#define PAIRS_TEST_SEED 20141003UL
/* reverse: the default longest string when max_src_len is 0 */
#define REVERSE_DEFAULT_MAX 16
#define REVERSE_MAX_LEN 1000
/* generated training pairs are written to a scratch of this many rows
 * before a batch is padded (sized once: no allocation per batch) */
#define PAIRS_MAX_BATCH 1024
#define REVERSE_ALPHABET "abcdefghijklmnopqrstuvwxyz"
/* every character a dates source can hold, and an ISO target */
#define DATES_SRC_CHARS " ,./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
#define DATES_TGT_CHARS "-0123456789"
#define DATES_FIRST_YEAR 1950
#define DATES_YEARS 100

/* ============================ pairs files ================================= */

Split pairs_split_of_line(long line)
{
    if (line % 10 == 0) return SPLIT_TEST;
    if (line % 10 == 5) return SPLIT_VALID;
    return SPLIT_TRAIN;
}

void pairs_free_text(TextPair *pairs, long n)
{
    for (long i = 0; i < n; i++) {
        free(pairs[i].src);
        free(pairs[i].tgt);
    }
    free(pairs);
}

int pairs_read(const char *path, TextPair **out, long *n_out, char *err, size_t errlen)
{
    size_t len;
    char *text = file_read_all(path, &len);
    if (!text) {
        int missing = errno == ENOENT;
        snprintf(err, errlen, "%s: cannot read the pairs file: %s%s", path, strerror(errno),
                 missing ? " (the KJV-Spanish pairs are written by `make data`)" : "");
        return -1;
    }
    size_t bad = utf8_validate(text, len);
    TextPair *pairs = NULL;
    long n = 0, cap = 0, line = 0;
    size_t pos = 0;
    int rc = 0;
    while (pos < len) {
        line++;
        size_t end = pos;
        while (end < len && text[end] != '\n') end++;
        size_t stop = end;                                   /* the line without \n ... */
        if (stop > pos && text[stop - 1] == '\r') stop--;    /* ... and a \r before it */
        if (bad >= pos && bad < end) {
            snprintf(err, errlen, "%s:%ld: invalid UTF-8", path, line);
            rc = -1;
            break;
        }
        char *tab = memchr(text + pos, '\t', stop - pos);
        if (stop == pos) {
            snprintf(err, errlen, "%s:%ld: blank line (expected source<TAB>target)", path, line);
            rc = -1;
            break;
        }
        if (!tab) {
            snprintf(err, errlen, "%s:%ld: no TAB between source and target", path, line);
            rc = -1;
            break;
        }
        size_t ns = (size_t)(tab - (text + pos)), nt = stop - pos - ns - 1;
        if (ns == 0 || nt == 0) {
            snprintf(err, errlen, "%s:%ld: empty %s", path, line, ns == 0 ? "source" : "target");
            rc = -1;
            break;
        }
        if (n == cap) {
            cap = cap ? 2 * cap : 256;
            pairs = xrealloc(pairs, (size_t)cap * sizeof *pairs);
        }
        pairs[n].src = xmalloc(ns + 1);
        memcpy(pairs[n].src, text + pos, ns);
        pairs[n].src[ns] = '\0';
        pairs[n].tgt = xmalloc(nt + 1);
        memcpy(pairs[n].tgt, tab + 1, nt);
        pairs[n].tgt[nt] = '\0';
        pairs[n].line = line;
        n++;
        pos = end + 1;
    }
    free(text);
    if (rc == 0 && n == 0) {
        snprintf(err, errlen, "%s: no pairs", path);
        rc = -1;
    }
    if (rc != 0) {
        pairs_free_text(pairs, n);
        return -1;
    }
    *out = pairs;
    *n_out = n;
    return 0;
}

/* ============================ the generators ============================== */

void reverse_example(gsl_rng *rng, int min_len, int max_len, char *src, char *tgt)
{
    assert(min_len >= 1 && max_len >= min_len);
    int n = min_len + (int)rng_below(rng, (size_t)(max_len - min_len + 1));
    for (int i = 0; i < n; i++) src[i] = REVERSE_ALPHABET[rng_below(rng, 26)];
    for (int i = 0; i < n; i++) tgt[i] = src[n - 1 - i];
    src[n] = tgt[n] = '\0';
}

static const char *const month_names[12] = {
    "january", "february", "march", "april", "may", "june",
    "july", "august", "september", "october", "november", "december",
};
static const char *const day_names[7] = {
    "sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday",
};

static int is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int dates_days_in_month(int y, int m)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

/* 0 = sunday (Sakamoto's method) */
static int weekday(int y, int m, int d)
{
    static const int t[12] = {0, 3, 2, 5, 0, 3, 5, 1, 4, 6, 2, 4};
    if (m < 3) y -= 1;
    return (y + y / 4 - y / 100 + y / 400 + t[m - 1] + d) % 7;
}

static const char *ordinal_suffix(int d)
{
    if (d % 100 >= 11 && d % 100 <= 13) return "th";
    switch (d % 10) {
    case 1: return "st";
    case 2: return "nd";
    case 3: return "rd";
    default: return "th";
    }
}

/* s with its first letter upper-cased (cap) or every letter (all) */
static void cased(char *dst, const char *s, int all)
{
    size_t i = 0;
    for (; s[i]; i++) dst[i] = (char)((all || i == 0) && s[i] >= 'a' && s[i] <= 'z' ? s[i] - 32 : s[i]);
    dst[i] = '\0';
}

void dates_format(int f, int y, int m, int d, char *src)
{
    char mon[16], day[16];
    const char *mn = month_names[m - 1], *dn = day_names[weekday(y, m, d)];
    switch (f) {
    case 0: snprintf(src, DATES_MAX_SRC, "%s %d %s %d", dn, d, mn, y); break;          /* tuesday 3 march 1987 */
    case 1: snprintf(src, DATES_MAX_SRC, "%d/%d/%02d", d, m, y % 100); break;          /* 3/3/87 */
    case 2: cased(mon, mn, 0);
            snprintf(src, DATES_MAX_SRC, "%s %d%s, %d", mon, d, ordinal_suffix(d), y); break; /* March 3rd, 1987 */
    case 3: snprintf(src, DATES_MAX_SRC, "%d %.3s %d", d, mn, y); break;               /* 3 mar 1987 */
    case 4: snprintf(src, DATES_MAX_SRC, "%02d.%02d.%d", d, m, y); break;              /* 03.03.1987 */
    case 5: cased(day, dn, 0);
            cased(mon, mn, 0);
            snprintf(src, DATES_MAX_SRC, "%s, %s %d, %d", day, mon, d, y); break;      /* Tuesday, March 3, 1987 */
    case 6: snprintf(src, DATES_MAX_SRC, "%s %d %d", mn, d, y); break;                 /* march 3 1987 */
    case 7: snprintf(src, DATES_MAX_SRC, "%d%s of %s, %d", d, ordinal_suffix(d), mn, y); break; /* 3rd of march, 1987 */
    case 8: cased(mon, mn, 1);
            snprintf(src, DATES_MAX_SRC, "%d %s %d", d, mon, y); break;                /* 3 MARCH 1987 */
    default: cased(mon, mn, 0);
            snprintf(src, DATES_MAX_SRC, "%.3s %d, %d", mon, d, y); break;             /* Mar 3, 1987 */
    }
}

void dates_example(gsl_rng *rng, char *src, char *tgt, int *y, int *m, int *d)
{
    /* a uniform day of the century: year, then a day of that year */
    *y = DATES_FIRST_YEAR + (int)rng_below(rng, DATES_YEARS);
    int doy = (int)rng_below(rng, is_leap(*y) ? 366 : 365);
    *m = 1;
    while (doy >= dates_days_in_month(*y, *m)) doy -= dates_days_in_month(*y, (*m)++);
    *d = doy + 1;
    dates_format((int)rng_below(rng, DATES_FORMATS), *y, *m, *d, src);
    snprintf(tgt, 11, "%04d-%02d-%02d", *y, *m, *d);
}

/* ============================ the task ==================================== */

typedef enum { PAIRS_FILE, PAIRS_REVERSE, PAIRS_DATES } PairsKind;

/* the tokenised pairs of one split */
typedef struct PairSplit {
    long n;
    int *src_off, *src_len, *tgt_off, *tgt_len;   /* (n) each, into ids */
    long *line;                                   /* (n) */
    int *ids;
    size_t nids, cap;
} PairSplit;

typedef struct PairsTask {
    TaskImpl base;
    PairsKind kind;
    int max_len;                /* reverse: longest string */
    PairSplit split[3];         /* train (files only), valid, test */
    int *scratch_src, *scratch_tgt;   /* (B, src_seq_len), (B, seq_len): generated pairs */
    int scratch_rows;
} PairsTask;

static void split_add(PairSplit *sp, const int *src, int ns, const int *tgt, int nt, long line)
{
    if ((size_t)sp->n % 256 == 0) {
        size_t c = (size_t)sp->n + 256;
        sp->src_off = xrealloc(sp->src_off, c * sizeof(int));
        sp->src_len = xrealloc(sp->src_len, c * sizeof(int));
        sp->tgt_off = xrealloc(sp->tgt_off, c * sizeof(int));
        sp->tgt_len = xrealloc(sp->tgt_len, c * sizeof(int));
        sp->line = xrealloc(sp->line, c * sizeof(long));
    }
    while (sp->nids + (size_t)ns + (size_t)nt > sp->cap) {
        sp->cap = sp->cap ? 2 * sp->cap : 4096;
        sp->ids = xrealloc(sp->ids, sp->cap * sizeof(int));
    }
    sp->src_off[sp->n] = (int)sp->nids;
    sp->src_len[sp->n] = ns;
    memcpy(sp->ids + sp->nids, src, (size_t)ns * sizeof(int));
    sp->nids += (size_t)ns;
    sp->tgt_off[sp->n] = (int)sp->nids;
    sp->tgt_len[sp->n] = nt;
    memcpy(sp->ids + sp->nids, tgt, (size_t)nt * sizeof(int));
    sp->nids += (size_t)nt;
    sp->line[sp->n] = line;
    sp->n++;
}

static void split_free(PairSplit *sp)
{
    free(sp->src_off);
    free(sp->src_len);
    free(sp->tgt_off);
    free(sp->tgt_len);
    free(sp->line);
    free(sp->ids);
}

long task_pairs_count(const Task *task, Split split)
{
    const PairsTask *p = task->impl;
    assert(task->src_seq_len > 0 && "a pair task");
    return p->split[split].n;
}

void task_pair(const Task *task, Split split, long i, PairIds *out)
{
    const PairsTask *p = task->impl;
    const PairSplit *sp = &p->split[split];
    assert(i >= 0 && i < sp->n);
    out->src = sp->ids + sp->src_off[i];
    out->src_len = sp->src_len[i];
    out->tgt = sp->ids + sp->tgt_off[i];
    out->tgt_len = sp->tgt_len[i];
    out->line = sp->line[i];
}

/* one generated pair as ids (the alphabets cover every character) */
static void generate(const Task *task, gsl_rng *rng, int *src, int *ns, int *tgt, int *nt)
{
    const PairsTask *p = task->impl;
    char s[REVERSE_MAX_LEN + DATES_MAX_SRC], t[REVERSE_MAX_LEN + DATES_MAX_SRC];
    int y, m, d;
    if (p->kind == PAIRS_REVERSE) reverse_example(rng, 1, p->max_len, s, t);
    else dates_example(rng, s, t, &y, &m, &d);
    char err[128];
    long a = tokenizer_encode(task->src_tok, s, strlen(s), src, (size_t)task->src_seq_len, err, sizeof err);
    long b = tokenizer_encode(task->tgt_tok, t, strlen(t), tgt, (size_t)task->seq_len, err, sizeof err);
    assert(a >= 1 && a <= task->src_seq_len && b >= 1 && b < task->seq_len);
    *ns = (int)a;
    *nt = (int)b;
}

/* row r of b from a source and a target (ids), padded to b->S, b->T */
static void put_row(const Task *task, Batch *b, int r, const int *src, int ns, const int *tgt, int nt)
{
    int S = b->S, T = b->T, V_t = task->tgt_tok->vocab_size;
    int *xs = b->src_tokens + (size_t)r * S, *x = b->tokens + (size_t)r * T, *y = b->targets + (size_t)r * T;
    for (int s = 0; s < S; s++) xs[s] = s < ns ? src[s] : 0;
    b->src_lengths[r] = ns;
    /* the decoder reads [<bos>, y_1 .. y_n] and predicts [y_1 .. y_n, <eos>] */
    for (int t = 0; t < T; t++) {
        x[t] = t == 0 ? pairs_bos(V_t) : (t <= nt ? tgt[t - 1] : 0);
        y[t] = t < nt ? tgt[t] : (t == nt ? pairs_eos(V_t) : TARGET_IGNORE);
    }
    b->lengths[r] = nt + 1;
}

static void pairs_batch(const Task *task, Batch *b, Split split, gsl_rng *rng)
{
    const PairsTask *p = task->impl;
    assert(b->src_tokens && b->src_lengths && b->lengths && "batch_alloc_pairs");
    int B = b->B;
    /* choose the rows' pairs, then pad to the longest of each side */
    int *srcs = p->scratch_src, *tgts = p->scratch_tgt, ns[B], nt[B];
    const int *sp[B], *tp[B];
    if (B > p->scratch_rows) die("task %s: batch_size %d is above %d", task->name, B, p->scratch_rows);
    int S = 1, T = 1;
    for (int r = 0; r < B; r++) {
        if (split == SPLIT_TRAIN && p->kind != PAIRS_FILE) {
            int *s = srcs + (size_t)r * task->src_seq_len, *t = tgts + (size_t)r * task->seq_len;
            generate(task, rng, s, &ns[r], t, &nt[r]);
            sp[r] = s;
            tp[r] = t;
        } else {
            PairIds pi;
            task_pair(task, split, (long)rng_below(rng, (size_t)p->split[split].n), &pi);
            sp[r] = pi.src;
            tp[r] = pi.tgt;
            ns[r] = pi.src_len;
            nt[r] = pi.tgt_len;
        }
        if (ns[r] > S) S = ns[r];
        if (nt[r] + 1 > T) T = nt[r] + 1;
    }
    b->S = S;
    b->T = T;
    for (int r = 0; r < B; r++) put_row(task, b, r, sp[r], ns[r], tp[r], nt[r]);
}

static void pairs_free_impl(void *impl)
{
    PairsTask *p = impl;
    for (int i = 0; i < 3; i++) split_free(&p->split[i]);
    free(p->scratch_src);
    free(p->scratch_tgt);
    free(p);
}

static const TaskOps pairs_ops = {pairs_batch, pairs_free_impl};

/* H = -sum p log p of the token counts (n) */
static double entropy_of_counts(const long *count, int V)
{
    double total = 0, H = 0;
    for (int v = 0; v < V; v++) total += (double)count[v];
    for (int v = 0; v < V; v++)
        if (count[v] > 0) H -= (double)count[v] / total * log((double)count[v] / total);
    return H;
}

/* the file's pairs, tokenised and filtered into the three splits */
static int load_file(Task *task, PairsTask *p, const TaskConfig *cfg, TokKind kind, char *err,
                     size_t errlen)
{
    TextPair *tp;
    long n;
    if (pairs_read(cfg->corpus, &tp, &n, err, errlen) != 0) return -1;
    /* the vocabularies: words from the training pairs, chars from every pair */
    size_t cap_s = 1, cap_t = 1;
    for (long i = 0; i < n; i++) {
        cap_s += strlen(tp[i].src) + 1;
        cap_t += strlen(tp[i].tgt) + 1;
    }
    char *all_s = xmalloc(cap_s), *all_t = xmalloc(cap_t);
    size_t ls = 0, lt = 0;
    for (long i = 0; i < n; i++) {
        if (kind == TOK_WORDS && pairs_split_of_line(tp[i].line) != SPLIT_TRAIN) continue;
        size_t a = strlen(tp[i].src), b = strlen(tp[i].tgt);
        memcpy(all_s + ls, tp[i].src, a);
        ls += a;
        all_s[ls++] = '\n';
        memcpy(all_t + lt, tp[i].tgt, b);
        lt += b;
        all_t[lt++] = '\n';
    }
    char e2[256];
    task->src_tok = tokenizer_build(kind, all_s, ls, cfg->vocab_limit, e2, sizeof e2);
    if (task->src_tok) task->tgt_tok = tokenizer_build(kind, all_t, lt, cfg->vocab_limit, e2, sizeof e2);
    free(all_s);
    free(all_t);
    int rc = 0;
    if (!task->src_tok || !task->tgt_tok) {
        snprintf(err, errlen, "%s: %s", cfg->corpus, e2);
        rc = -1;
    }
    /* encode, check, filter */
    long kept[3] = {0, 0, 0}, dropped = 0;
    int V_t = rc == 0 ? task->tgt_tok->vocab_size : 0;
    long *count = rc == 0 ? xcalloc((size_t)V_t + 2, sizeof(long)) : NULL;
    for (long i = 0; i < n && rc == 0; i++) {
        long ns = tokenizer_encode(task->src_tok, tp[i].src, strlen(tp[i].src), NULL, 0, e2, sizeof e2);
        long nt = ns < 0 ? -1 : tokenizer_encode(task->tgt_tok, tp[i].tgt, strlen(tp[i].tgt), NULL, 0, e2, sizeof e2);
        if (ns < 0 || nt < 0) {
            snprintf(err, errlen, "%s:%ld: %s", cfg->corpus, tp[i].line, e2);
            rc = -1;
            break;
        }
        if (ns == 0 || nt == 0) {
            snprintf(err, errlen, "%s:%ld: the %s has no tokens (tokenizer %s)", cfg->corpus,
                     tp[i].line, ns == 0 ? "source" : "target", tokenizer_kind_name(kind));
            rc = -1;
            break;
        }
        if ((cfg->max_src_len > 0 && ns > cfg->max_src_len) ||
            (cfg->max_tgt_len > 0 && nt > cfg->max_tgt_len)) {
            dropped++;
            continue;
        }
        int *ids = xmalloc((size_t)(ns + nt) * sizeof(int));
        tokenizer_encode(task->src_tok, tp[i].src, strlen(tp[i].src), ids, (size_t)ns, e2, sizeof e2);
        tokenizer_encode(task->tgt_tok, tp[i].tgt, strlen(tp[i].tgt), ids + ns, (size_t)nt, e2, sizeof e2);
        Split s = pairs_split_of_line(tp[i].line);
        split_add(&p->split[s], ids, (int)ns, ids + ns, (int)nt, tp[i].line);
        kept[s]++;
        if (ns > task->src_seq_len) task->src_seq_len = (int)ns;
        if (nt + 1 > task->seq_len) task->seq_len = (int)nt + 1;
        if (s == SPLIT_TRAIN) {
            for (long k = 0; k < nt; k++) count[ids[ns + k]]++;
            count[pairs_eos(V_t)]++;
        }
        free(ids);
    }
    pairs_free_text(tp, n);
    if (rc == 0 && (kept[SPLIT_TRAIN] == 0 || kept[SPLIT_VALID] == 0)) {
        snprintf(err, errlen, "%s: %ld training and %ld validation pairs after the length filter "
                 "(max_src_len %d, max_tgt_len %d; %ld dropped): need at least one of each",
                 cfg->corpus, kept[SPLIT_TRAIN], kept[SPLIT_VALID], cfg->max_src_len,
                 cfg->max_tgt_len, dropped);
        rc = -1;
    }
    if (rc == 0) {
        /* blind: the unigram distribution of the training targets (with <eos>) */
        task->chance_loss = entropy_of_counts(count, V_t + 2);
        task->chance_exact_match = 0;
    }
    free(count);
    return rc;
}

/* a generated task's fixed validation and test sets */
static void generate_sets(Task *task, PairsTask *p)
{
    int *s = xmalloc((size_t)task->src_seq_len * sizeof(int)), *t = xmalloc((size_t)task->seq_len * sizeof(int));
    const unsigned long seeds[2] = {PAIRS_VALID_SEED, PAIRS_TEST_SEED};
    const Split splits[2] = {SPLIT_VALID, SPLIT_TEST};
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    for (int k = 0; k < 2; k++) {
        gsl_rng_set(rng, seeds[k]);
        for (long i = 0; i < PAIRS_EVAL_SET; i++) {
            int ns, nt;
            generate(task, rng, s, &ns, t, &nt);
            split_add(&p->split[splits[k]], s, ns, t, nt, i);
        }
    }
    gsl_rng_free(rng);
    free(s);
    free(t);
}

Task *pairs_task_create(const TaskConfig *cfg, char *err, size_t errlen)
{
    PairsTask *p = xcalloc(1, sizeof *p);
    p->base.ops = &pairs_ops;
    Task *task = xcalloc(1, sizeof *task);
    snprintf(task->name, sizeof task->name, "%s", cfg->task);
    task->impl = p;
    task->has_accuracy = 1;
    int rc = 0;
    char e2[256];
    if (strcmp(cfg->task, "translate") == 0) {
        TokKind kind;
        p->kind = PAIRS_FILE;
        if (tokenizer_kind_parse(cfg->tokenizer, &kind) != 0) {
            snprintf(err, errlen, "tokenizer must be bytes, chars or words for task 'translate' (got '%s')",
                     cfg->tokenizer ? cfg->tokenizer : "");
            rc = -1;
        } else {
            rc = load_file(task, p, cfg, kind, err, errlen);
        }
    } else if (strcmp(cfg->task, "reverse") == 0) {
        p->kind = PAIRS_REVERSE;
        p->max_len = cfg->max_src_len > 0 ? cfg->max_src_len : REVERSE_DEFAULT_MAX;
        if (task_check_range("max_src_len", p->max_len, 1, REVERSE_MAX_LEN, " for task 'reverse'", err, errlen)) rc = -1;
        task->src_tok = tokenizer_build(TOK_CHARS, REVERSE_ALPHABET, 26, 0, e2, sizeof e2);
        task->tgt_tok = tokenizer_build(TOK_CHARS, REVERSE_ALPHABET, 26, 0, e2, sizeof e2);
        task->src_seq_len = p->max_len;
        task->seq_len = p->max_len + 1;
        /* blind: the length (uniform over N) and every letter: H = log N + E[n] log 26
         * over E[n] + 1 predicted tokens; exact match mean_n 26^-n */
        double N = p->max_len, En = (N + 1) / 2, em = 0;
        for (int n = 1; n <= p->max_len; n++) em += pow(26.0, -n) / N;
        task->chance_loss = (log(N) + En * log(26.0)) / (En + 1);
        task->chance_exact_match = em;
    } else {
        p->kind = PAIRS_DATES;
        task->src_tok = tokenizer_build(TOK_CHARS, DATES_SRC_CHARS, strlen(DATES_SRC_CHARS), 0, e2, sizeof e2);
        task->tgt_tok = tokenizer_build(TOK_CHARS, DATES_TGT_CHARS, strlen(DATES_TGT_CHARS), 0, e2, sizeof e2);
        task->src_seq_len = DATES_MAX_SRC;
        task->seq_len = 11;
        /* blind: the date is uniform over the century, log(days) nats over
         * the 11 predicted tokens (10 characters and <eos>); the best guess
         * is right once in that many days */
        double days = 0;
        for (int y = DATES_FIRST_YEAR; y < DATES_FIRST_YEAR + DATES_YEARS; y++) days += is_leap(y) ? 366 : 365;
        task->chance_loss = log(days) / 11;
        task->chance_exact_match = 1 / days;
    }
    if (rc == 0) {
        task->vocab_size = task->src_tok->vocab_size;
        task->output_size = task->tgt_tok->vocab_size + 2;
        if (p->kind != PAIRS_FILE) generate_sets(task, p);
        task->eval_seq_len = task->seq_len;
        /* generated training pairs are written here before a batch is padded */
        p->scratch_rows = PAIRS_MAX_BATCH;
        p->scratch_src = NULL;
        p->scratch_tgt = NULL;
        if (p->kind != PAIRS_FILE) {
            p->scratch_src = xmalloc((size_t)p->scratch_rows * task->src_seq_len * sizeof(int));
            p->scratch_tgt = xmalloc((size_t)p->scratch_rows * task->seq_len * sizeof(int));
        }
    }
    if (rc != 0) {
        task_free(task);
        return NULL;
    }
    return task;
}
