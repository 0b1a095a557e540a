/*
 * test_data.c — the data module: tokenizer round trips and errors, the
 * corpus split and window batcher, and every synthetic task's layout,
 * targets, determinism and chance level.
 *
 * Small corpora are written to temporary files inside the tests.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <gsl/gsl_rng.h>

#include "data.h"
#include "testutil.h"
#include "tokenizer.h"
#include "util.h"

/* chance levels are closed forms; compare them to 1e-12 */
#define CHANCE_TOL 1e-12
/* the empirical entropy / MSE of ~20000 draws is within ~0.005 of its
 * expectation (several standard errors); 0.02 never fails by luck */
#define EMPIRICAL_TOL 0.02
/* adding: the target is the sum of two stored reals, recomputed here */
#define SUM_TOL 1e-6

#define ERRLEN 512

/* Check's ck_assert_* report every PASSING check to the runner through a
 * pipe, which costs seconds in loops over millions of tokens; these call
 * Check only when they fail. */
#define EXPECT(cond)                                                             \
    do {                                                                         \
        if (!(cond)) ck_abort_msg("%s:%d: failed: %s", __FILE__, __LINE__, #cond); \
    } while (0)
#define EXPECT_INT_EQ(actual, expected)                                          \
    do {                                                                         \
        long got_ = (long)(actual), want_ = (long)(expected);                    \
        if (got_ != want_)                                                       \
            ck_abort_msg("%s:%d: %s == %ld, expected %s == %ld", __FILE__, __LINE__, \
                         #actual, got_, #expected, want_);                       \
    } while (0)

/* ---- helpers ---------------------------------------------------------- */

/* write data to a fresh temporary file; returns its path (free it) */
static char *write_temp(const void *data, size_t len)
{
    char *path = xstrdup("/tmp/seqlab_test_data_XXXXXX");
    int fd = mkstemp(path);
    ck_assert_msg(fd >= 0, "mkstemp failed");
    EXPECT_INT_EQ((long)write(fd, data, len), (long)len);
    close(fd);
    return path;
}

static void remove_temp(char *path)
{
    unlink(path);
    free(path);
}

/* decode ids (n) into out (cap) from empty, checking every token fits */
static void decode_all(const Tokenizer *t, const int *ids, long n, char *out, size_t cap)
{
    out[0] = '\0';
    for (long i = 0; i < n; i++) {
        size_t k = tokenizer_decode(t, ids[i], out, cap);
        ck_assert_msg(k > 0, "token %ld (id %d) did not fit", i, ids[i]);
    }
}

/* encode the whole of text, checking the count-only pass agrees */
static int *encode_all(const Tokenizer *t, const char *text, size_t len, long *n)
{
    char err[ERRLEN];
    long count = tokenizer_encode(t, text, len, NULL, 0, err, sizeof err);
    ck_assert_msg(count >= 0, "encode failed: %s", err);
    int *ids = xmalloc((size_t)(count + 1) * sizeof(int));
    long got = tokenizer_encode(t, text, len, ids, (size_t)count, err, sizeof err);
    EXPECT_INT_EQ(got, count);
    *n = count;
    return ids;
}

static TaskConfig config_for(const char *task)
{
    TaskConfig c = {0};
    c.task = task;
    c.seq_len = 8;
    c.distance = 5;
    return c;
}

static Task *create_ok(const TaskConfig *c)
{
    char err[ERRLEN] = "";
    Task *t = task_create(c, err, sizeof err);
    ck_assert_msg(t != NULL, "task_create(%s) failed: %s", c->task, err);
    return t;
}

/* task_create must fail with a message containing each of the words */
static void create_fails(const TaskConfig *c, const char *word1, const char *word2)
{
    char err[ERRLEN] = "";
    Task *t = task_create(c, err, sizeof err);
    ck_assert_msg(t == NULL, "task_create(%s) should have failed", c->task);
    ck_assert_msg(strstr(err, word1) != NULL, "message '%s' lacks '%s'", err, word1);
    if (word2) ck_assert_msg(strstr(err, word2) != NULL, "message '%s' lacks '%s'", err, word2);
}

static Batch *batch_for(const Task *t, int B)
{
    int T = t->seq_len > t->eval_seq_len ? t->seq_len : t->eval_seq_len;
    return batch_alloc(B, T, t->input_features, t->regression);
}

/* entropy (natural log) of the scored targets of `batches` batches: the
 * loss of the best predictor that ignores the input */
static double target_entropy(Task *t, int batches, int B, unsigned long seed)
{
    Batch *b = batch_for(t, B);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, seed);
    long *count = xcalloc((size_t)t->output_size, sizeof(long));
    long total = 0;
    for (int k = 0; k < batches; k++) {
        task_batch(t, b, SPLIT_TRAIN, rng);
        for (int i = 0; i < b->B * b->T; i++) {
            if (b->targets[i] == TARGET_IGNORE) continue;
            EXPECT(b->targets[i] >= 0 && b->targets[i] < t->output_size);
            count[b->targets[i]]++;
            total++;
        }
    }
    double H = 0;
    for (int v = 0; v < t->output_size; v++)
        if (count[v]) H -= (double)count[v] / total * log((double)count[v] / total);
    free(count);
    gsl_rng_free(rng);
    batch_free(b);
    return H;
}

/* two batches from equal seeds are equal, and from another seed differ */
static void check_same_seed_same_batch(Task *t, Split split)
{
    Batch *b1 = batch_for(t, 4), *b2 = batch_for(t, 4), *b3 = batch_for(t, 4);
    gsl_rng *r1 = gsl_rng_alloc(gsl_rng_mt19937), *r2 = gsl_rng_alloc(gsl_rng_mt19937),
            *r3 = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r1, 42);
    gsl_rng_set(r2, 42);
    gsl_rng_set(r3, 43);
    task_batch(t, b1, split, r1);
    task_batch(t, b2, split, r2);
    task_batch(t, b3, split, r3);
    size_t n = (size_t)b1->B * b1->T;
    int differs = 0;
    if (b1->tokens) {
        EXPECT(memcmp(b1->tokens, b2->tokens, n * sizeof(int)) == 0);
        differs |= memcmp(b1->tokens, b3->tokens, n * sizeof(int)) != 0;
    } else {
        size_t nf = n * (size_t)t->input_features;
        EXPECT(memcmp(b1->features, b2->features, nf * sizeof(real)) == 0);
        differs |= memcmp(b1->features, b3->features, nf * sizeof(real)) != 0;
    }
    EXPECT(memcmp(b1->targets, b2->targets, n * sizeof(int)) == 0);
    ck_assert_msg(differs, "task %s: seeds 42 and 43 gave the same batch", t->name);
    gsl_rng_free(r1);
    gsl_rng_free(r2);
    gsl_rng_free(r3);
    batch_free(b1);
    batch_free(b2);
    batch_free(b3);
}

/* ======================================================================
 * Tokenizers
 * ====================================================================== */

START_TEST(test_kind_names)
{
    TokKind k;
    const TokKind kinds[3] = {TOK_BYTES, TOK_CHARS, TOK_WORDS};
    for (int i = 0; i < 3; i++) {
        EXPECT_INT_EQ(tokenizer_kind_parse(tokenizer_kind_name(kinds[i]), &k), 0);
        EXPECT_INT_EQ(k, kinds[i]);
    }
    EXPECT_INT_EQ(tokenizer_kind_parse("bpe", &k), -1);
    EXPECT_INT_EQ(tokenizer_kind_parse(NULL, &k), -1);
}
END_TEST

START_TEST(test_bytes_round_trip)
{
    /* every byte value but 0 (which a C string cannot hold), plus invalid UTF-8 */
    char text[300];
    size_t len = 0;
    for (int c = 255; c >= 1; c--) text[len++] = (char)c;
    memcpy(text + len, "\xC0\xAF\xED\xA0\x80", 5);
    len += 5;
    char err[ERRLEN];
    Tokenizer *t = tokenizer_build(TOK_BYTES, text, len, 0, err, sizeof err);
    ck_assert_ptr_nonnull(t);
    EXPECT_INT_EQ(t->vocab_size, 256);
    ck_assert_ptr_null(t->vocab);
    long n;
    int *ids = encode_all(t, text, len, &n);
    EXPECT_INT_EQ(n, (long)len);
    for (size_t i = 0; i < len; i++) EXPECT_INT_EQ(ids[i], (unsigned char)text[i]);
    char out[400];
    decode_all(t, ids, n, out, sizeof out);
    ck_assert_uint_eq(strlen(out), len);
    EXPECT(memcmp(out, text, len) == 0);
    free(ids);
    tokenizer_free(t);
}
END_TEST

/* the code points of a UTF-8 string, in order, for the chars checks */
static long code_points(const char *s, unsigned long *cps)
{
    long n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        unsigned long cp;
        int k;
        if (*p < 0x80) { cp = *p; k = 1; }
        else if (*p < 0xE0) { cp = *p & 0x1F; k = 2; }
        else if (*p < 0xF0) { cp = *p & 0x0F; k = 3; }
        else { cp = *p & 0x07; k = 4; }
        for (int i = 1; i < k; i++) cp = (cp << 6) | (p[i] & 0x3F);
        cps[n++] = cp;
        p += k;
    }
    return n;
}

START_TEST(test_chars_round_trip_utf8)
{
    /* 1-, 2-, 3- and 4-byte characters: é ö — 日本 😀 */
    const char *text = "Héllo wörld \xE2\x80\x94 \xE6\x97\xA5\xE6\x9C\xAC! \xF0\x9F\x98\x80\nHello.";
    size_t len = strlen(text);
    char err[ERRLEN];
    Tokenizer *t = tokenizer_build(TOK_CHARS, text, len, 0, err, sizeof err);
    ck_assert_msg(t != NULL, "%s", err);
    /* V = distinct code points, in increasing code-point order */
    unsigned long cps[128];
    long ncp = code_points(text, cps);
    int distinct = 0;
    for (long i = 0; i < ncp; i++) {
        int seen = 0;
        for (long j = 0; j < i; j++) seen |= cps[j] == cps[i];
        distinct += !seen;
    }
    EXPECT_INT_EQ(t->vocab_size, distinct);
    unsigned long prev = 0;
    for (int id = 0; id < t->vocab_size; id++) {
        unsigned long one[4];
        EXPECT_INT_EQ(code_points(t->vocab[id], one), 1);
        ck_assert_msg(id == 0 || one[0] > prev, "vocab not in code-point order at %d", id);
        prev = one[0];
    }
    ck_assert_str_eq(t->vocab[t->vocab_size - 1], "\xF0\x9F\x98\x80");
    long n;
    int *ids = encode_all(t, text, len, &n);
    EXPECT_INT_EQ(n, ncp);
    for (long i = 0; i < n; i++) {   /* id i is the i-th smallest code point */
        unsigned long one[4];
        code_points(t->vocab[ids[i]], one);
        ck_assert_uint_eq(one[0], cps[i]);
    }
    char out[256];
    decode_all(t, ids, n, out, sizeof out);
    ck_assert_str_eq(out, text);
    free(ids);
    tokenizer_free(t);
}
END_TEST

START_TEST(test_chars_invalid_utf8_rejected)
{
    static const struct { const char *text; size_t len; size_t offset; } bad[] = {
        {"ab\x80" "cd", 5, 2},               /* stray continuation byte */
        {"abc\xE6\x97", 5, 3},               /* truncated 3-byte sequence */
        {"a\xC0\xAF", 3, 1},                 /* overlong '/', 2 bytes */
        {"ab\xE0\x80\xAF", 5, 2},           /* overlong '/', 3 bytes */
        {"\xF0\x8F\xBF\xBF", 4, 0},          /* overlong U+FFFF, 4 bytes */
        {"ok \xED\xA0\x80", 6, 3},           /* UTF-16 surrogate U+D800 */
        {"\xF4\x90\x80\x80", 4, 0},          /* above U+10FFFF */
        {"x\xE6\x97\xA5y\xFF", 6, 5},        /* 0xFF never appears in UTF-8 */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char err[ERRLEN] = "", expect[64];
        snprintf(expect, sizeof expect, "byte offset %zu", bad[i].offset);
        ck_assert_uint_eq(utf8_validate(bad[i].text, bad[i].len), bad[i].offset);
        Tokenizer *t = tokenizer_build(TOK_CHARS, bad[i].text, bad[i].len, 0, err, sizeof err);
        ck_assert_msg(t == NULL, "case %zu accepted", i);
        ck_assert_msg(strstr(err, "invalid UTF-8") && strstr(err, expect),
                      "case %zu: message '%s' lacks '%s'", i, err, expect);
        t = tokenizer_build(TOK_WORDS, bad[i].text, bad[i].len, 0, err, sizeof err);
        ck_assert_msg(t == NULL && strstr(err, expect), "words case %zu: '%s'", i, err);
    }
    /* encoding invalid text with a valid vocabulary fails the same way */
    char err[ERRLEN];
    Tokenizer *t = tokenizer_build(TOK_CHARS, "abc", 3, 0, err, sizeof err);
    EXPECT_INT_EQ(tokenizer_encode(t, "ab\xC3", 3, NULL, 0, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "byte offset 2"));
    tokenizer_free(t);
}
END_TEST

START_TEST(test_chars_unknown_character_named)
{
    char err[ERRLEN];
    Tokenizer *t = tokenizer_build(TOK_CHARS, "abcab", 5, 0, err, sizeof err);
    EXPECT_INT_EQ(t->vocab_size, 3);
    int ids[8];
    EXPECT_INT_EQ(tokenizer_encode(t, "cab", 3, ids, 8, err, sizeof err), 3);
    EXPECT_INT_EQ(ids[0], 2);
    EXPECT_INT_EQ(ids[1], 0);
    EXPECT_INT_EQ(ids[2], 1);
    EXPECT_INT_EQ(tokenizer_encode(t, "ab\xC3\xA9", 4, ids, 8, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "'\xC3\xA9'") && strstr(err, "U+00E9") && strstr(err, "offset 2"),
                  "message: %s", err);
    tokenizer_free(t);
}
END_TEST

/* the vocabulary strings of the ids of text, joined by '|' */
static void words_of(const Tokenizer *t, const char *text, char *out, size_t cap)
{
    long n;
    int *ids = encode_all(t, text, strlen(text), &n);
    out[0] = '\0';
    for (long i = 0; i < n; i++) {
        if (i) strncat(out, "|", cap - strlen(out) - 1);
        strncat(out, t->vocab[ids[i]], cap - strlen(out) - 1);
    }
    free(ids);
}

START_TEST(test_words_split_and_lowercase)
{
    const char *text = "Hello, World!  Don't\tSTOP... (now)\n\"Hi\" caf\xC3\xA9 x2";
    char err[ERRLEN], got[256];
    Tokenizer *t = tokenizer_build(TOK_WORDS, text, strlen(text), 0, err, sizeof err);
    ck_assert_ptr_nonnull(t);
    ck_assert_str_eq(t->vocab[TOKENIZER_UNK_ID], "<unk>");
    words_of(t, text, got, sizeof got);
    ck_assert_str_eq(got, "hello|,|world|!|don't|stop|.|.|.|(|now|)|\"|hi|\"|caf\xC3\xA9|x2");
    /* distinct tokens: hello , world ! don't stop . ( now ) " hi café x2 -> 14, plus <unk> */
    EXPECT_INT_EQ(t->vocab_size, 15);
    long n = tokenizer_count(TOK_WORDS, text, strlen(text), 0, NULL, err, sizeof err);
    EXPECT_INT_EQ(n, 17);
    size_t off;
    tokenizer_count(TOK_WORDS, text, strlen(text), 4, &off, err, sizeof err);
    ck_assert_uint_eq(off, 15);   /* "Don't" */
    tokenizer_free(t);
}
END_TEST

START_TEST(test_words_frequency_order_and_limit)
{
    /* counts: b 3, a 2, then c, y, x once each: ties in string order */
    const char *text = "b a y b c a b x";
    char err[ERRLEN];
    Tokenizer *t = tokenizer_build(TOK_WORDS, text, strlen(text), 0, err, sizeof err);
    const char *expect[] = {"<unk>", "b", "a", "c", "x", "y"};
    EXPECT_INT_EQ(t->vocab_size, 6);
    for (int i = 0; i < 6; i++) ck_assert_str_eq(t->vocab[i], expect[i]);
    tokenizer_free(t);
    /* K = 3: V = min(distinct, K) + 1, the rest become <unk> */
    t = tokenizer_build(TOK_WORDS, text, strlen(text), 3, err, sizeof err);
    EXPECT_INT_EQ(t->vocab_size, 4);
    ck_assert_str_eq(t->vocab[3], "c");
    int ids[8];
    EXPECT_INT_EQ(tokenizer_encode(t, "y b Zebra c", 11, ids, 8, err, sizeof err), 4);
    EXPECT_INT_EQ(ids[0], TOKENIZER_UNK_ID);
    EXPECT_INT_EQ(ids[1], 1);
    EXPECT_INT_EQ(ids[2], TOKENIZER_UNK_ID);
    EXPECT_INT_EQ(ids[3], 3);
    tokenizer_free(t);
    ck_assert_ptr_null(tokenizer_build(TOK_WORDS, text, strlen(text), -1, err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "vocab_limit"));
}
END_TEST

START_TEST(test_words_decode_reads_naturally)
{
    const char *text = "He said, \"Go (now) home.\" Then-what?";
    char err[ERRLEN], out[256];
    Tokenizer *t = tokenizer_build(TOK_WORDS, text, strlen(text), 0, err, sizeof err);
    long n;
    int *ids = encode_all(t, text, strlen(text), &n);
    decode_all(t, ids, n, out, sizeof out);
    ck_assert_str_eq(out, "he said, \"go (now) home.\" then-what?");
    free(ids);
    tokenizer_free(t);
}
END_TEST

START_TEST(test_words_round_trip)
{
    /* with a small K many words are <unk>; the literal <unk> also encodes to it */
    const char *text =
        "In the beginning God created the heaven and the earth. And the earth was "
        "without form, and void; and darkness was upon the face of the deep. "
        "\"Let there be light\" (said God): <unk> and there was light! Isn't it -- "
        "\xE2\x80\x9Cgood\xE2\x80\x9D? 42 days' work\xE2\x80\xA6";
    for (int K = 0; K <= 8; K += 8) {
        char err[ERRLEN], out[1024];
        Tokenizer *t = tokenizer_build(TOK_WORDS, text, strlen(text), K, err, sizeof err);
        long n1, n2;
        int *ids1 = encode_all(t, text, strlen(text), &n1);
        decode_all(t, ids1, n1, out, sizeof out);
        int *ids2 = encode_all(t, out, strlen(out), &n2);
        EXPECT_INT_EQ(n2, n1);
        for (long i = 0; i < n1; i++)
            ck_assert_msg(ids1[i] == ids2[i], "K=%d token %ld: %d vs %d in '%s'", K, i, ids1[i],
                          ids2[i], out);
        int unk = 0;
        for (long i = 0; i < n1; i++) unk += ids1[i] == TOKENIZER_UNK_ID;
        if (K == 8) ck_assert_int_gt(unk, 10);
        else EXPECT_INT_EQ(unk, 1);   /* only the literal "<unk>" */
        free(ids1);
        free(ids2);
        tokenizer_free(t);
    }
}
END_TEST

START_TEST(test_decode_does_not_overflow)
{
    char err[ERRLEN];
    Tokenizer *t = tokenizer_build(TOK_WORDS, "hello world", 11, 0, err, sizeof err);
    char out[8] = "";
    ck_assert_uint_eq(tokenizer_decode(t, 1, out, sizeof out), 5);   /* "hello" */
    ck_assert_uint_eq(tokenizer_decode(t, 2, out, sizeof out), 0);   /* " world" does not fit */
    ck_assert_str_eq(out, "hello");
    tokenizer_free(t);
}
END_TEST

START_TEST(test_from_vocab)
{
    char err[ERRLEN];
    const char *text = "na\xC3\xAFve caf\xC3\xA9, na\xC3\xAFve!";
    for (int k = TOK_CHARS; k <= TOK_WORDS; k++) {
        Tokenizer *a = tokenizer_build((TokKind)k, text, strlen(text), 0, err, sizeof err);
        Tokenizer *b = tokenizer_from_vocab((TokKind)k, a->vocab_size,
                                            (const char *const *)a->vocab, err, sizeof err);
        ck_assert_msg(b != NULL, "%s", err);
        long na, nb;
        int *ia = encode_all(a, text, strlen(text), &na), *ib = encode_all(b, text, strlen(text), &nb);
        EXPECT_INT_EQ(na, nb);
        EXPECT(memcmp(ia, ib, (size_t)na * sizeof(int)) == 0);
        free(ia);
        free(ib);
        tokenizer_free(a);
        tokenizer_free(b);
    }
    Tokenizer *t = tokenizer_from_vocab(TOK_BYTES, 256, NULL, err, sizeof err);
    ck_assert_ptr_nonnull(t);
    tokenizer_free(t);
    ck_assert_ptr_null(tokenizer_from_vocab(TOK_BYTES, 100, NULL, err, sizeof err));
    const char *dup[] = {"a", "b", "a"}, *two[] = {"a", "bc"}, *nounk[] = {"the", "<unk>"},
               *wdup[] = {"<unk>", "x", "x"}, *badutf[] = {"a", "\xC3"};
    ck_assert_ptr_null(tokenizer_from_vocab(TOK_CHARS, 3, dup, err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "same character"));
    ck_assert_ptr_null(tokenizer_from_vocab(TOK_CHARS, 2, two, err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "entry 1"));
    ck_assert_ptr_null(tokenizer_from_vocab(TOK_WORDS, 2, nounk, err, sizeof err));
    ck_assert_ptr_null(tokenizer_from_vocab(TOK_WORDS, 3, wdup, err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "repeats"));
    ck_assert_ptr_null(tokenizer_from_vocab(TOK_CHARS, 2, badutf, err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "UTF-8"));
}
END_TEST

/* ======================================================================
 * The text task
 * ====================================================================== */

/* N distinct code points in increasing order (U+0100, U+0101, ...): the
 * chars id of every token equals its position in the corpus */
static char *positional_corpus(int N)
{
    char *text = xmalloc((size_t)N * 2 + 1);
    size_t len = 0;
    for (int i = 0; i < N; i++) {
        unsigned cp = 0x100 + (unsigned)i;
        text[len++] = (char)(0xC0 | (cp >> 6));
        text[len++] = (char)(0x80 | (cp & 0x3F));
    }
    text[len] = '\0';
    char *path = write_temp(text, len);
    free(text);
    return path;
}

/* every window of many batches lies inside [lo, hi) of the positional
 * corpus, its targets are the next tokens, and both the first and the
 * last valid start occur */
static void check_windows(Task *t, Split split, int T, long lo, long hi)
{
    Batch *b = batch_for(t, 16);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 7);
    long first = hi, last = lo - 1;
    for (int k = 0; k < 300; k++) {
        task_batch(t, b, split, rng);
        EXPECT_INT_EQ(b->T, T);
        for (int r = 0; r < b->B; r++) {
            const int *x = b->tokens + r * T, *y = b->targets + r * T;
            long s = x[0];
            ck_assert_msg(s >= lo && s + T + 1 <= hi, "window [%ld, %ld] outside [%ld, %ld)", s,
                          s + T, lo, hi);
            for (int i = 0; i < T; i++) {
                EXPECT_INT_EQ(x[i], s + i);
                EXPECT_INT_EQ(y[i], s + i + 1);   /* the next token */
            }
            if (s < first) first = s;
            if (s > last) last = s;
        }
    }
    EXPECT_INT_EQ(first, lo);
    EXPECT_INT_EQ(last, hi - T - 1);
    gsl_rng_free(rng);
    batch_free(b);
}

START_TEST(test_corpus_split_and_windows)
{
    char *path = positional_corpus(200);
    TaskConfig c = config_for("chars");
    c.corpus = path;
    c.seq_len = 7;
    c.eval_seq_len = 5;
    Task *t = create_ok(&c);
    EXPECT_INT_EQ(t->vocab_size, 200);
    EXPECT_INT_EQ(t->output_size, 200);
    EXPECT_INT_EQ(t->seq_len, 7);
    EXPECT_INT_EQ(t->eval_seq_len, 5);
    EXPECT_INT_EQ(t->has_accuracy, 1);
    ck_assert_ptr_nonnull(t->tok);
    const int *ids;
    EXPECT_INT_EQ(task_text_tokens(t, SPLIT_TRAIN, &ids), 180);
    EXPECT_INT_EQ(task_text_tokens(t, SPLIT_VALID, &ids), 20);
    EXPECT_INT_EQ(ids[0], 180);
    check_windows(t, SPLIT_TRAIN, 7, 0, 180);     /* the first 90% */
    check_windows(t, SPLIT_VALID, 5, 180, 200);   /* the last 10% */
    /* every training token appears once: the unigram entropy is log 180 */
    ck_assert_double_eq_tol(t->chance_loss, log(180.0), CHANCE_TOL);
    check_same_seed_same_batch(t, SPLIT_TRAIN);
    check_same_seed_same_batch(t, SPLIT_VALID);
    task_free(t);

    /* the shortest corpus that fits: seq_len + 1 tokens in the validation split */
    c.seq_len = 19;
    c.eval_seq_len = 0;
    t = create_ok(&c);
    check_windows(t, SPLIT_VALID, 19, 180, 200);
    task_free(t);
    c.seq_len = 20;
    create_fails(&c, "180", "20");   /* names both splits' sizes */
    remove_temp(path);
}
END_TEST

START_TEST(test_corpus_bytes_windows_are_text)
{
    /* windows are substrings of the training text and chance is its unigram entropy */
    const char *text = "the cat sat on the mat; the dog sat on the log. "
                       "the cat ate the rat and the dog ate the cat. ";
    size_t len = strlen(text);
    char *path = write_temp(text, len);
    TaskConfig c = config_for("bytes");
    c.corpus = path;
    c.seq_len = 6;
    Task *t = create_ok(&c);
    EXPECT_INT_EQ(t->vocab_size, 256);
    long n_train = len - len / 10;
    const int *ids;
    EXPECT_INT_EQ(task_text_tokens(t, SPLIT_TRAIN, &ids), n_train);
    long count[256] = {0};
    for (long i = 0; i < n_train; i++) count[(unsigned char)text[i]]++;
    double H = 0;
    for (int v = 0; v < 256; v++)
        if (count[v]) H -= (double)count[v] / n_train * log((double)count[v] / n_train);
    ck_assert_double_eq_tol(t->chance_loss, H, CHANCE_TOL);
    Batch *b = batch_for(t, 8);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    for (int k = 0; k < 50; k++) {
        task_batch(t, b, SPLIT_TRAIN, rng);
        for (int r = 0; r < b->B; r++) {
            char window[8];
            for (int i = 0; i < 6; i++) window[i] = (char)b->tokens[r * 6 + i];
            window[6] = (char)b->targets[r * 6 + 5];
            window[7] = '\0';
            const char *at = strstr(text, window);
            ck_assert_msg(at && at + 7 <= text + n_train, "window '%s' not in the training text",
                          window);
        }
    }
    gsl_rng_free(rng);
    batch_free(b);
    task_free(t);
    remove_temp(path);
}
END_TEST

START_TEST(test_corpus_words_vocab_from_training_split)
{
    /* 90 training words over {alpha, beta}; the last 10 ("omega") are new */
    char text[1024] = "";
    for (int i = 0; i < 90; i++) strcat(text, i % 3 ? "Alpha " : "beta ");
    for (int i = 0; i < 10; i++) strcat(text, "omega ");
    char *path = write_temp(text, strlen(text));
    TaskConfig c = config_for("text");
    c.tokenizer = "words";
    c.corpus = path;
    c.seq_len = 4;
    Task *t = create_ok(&c);
    EXPECT_INT_EQ(t->vocab_size, 3);   /* <unk>, alpha, beta */
    ck_assert_str_eq(t->tok->vocab[1], "alpha");
    const int *ids;
    EXPECT_INT_EQ(task_text_tokens(t, SPLIT_TRAIN, &ids), 90);
    for (int i = 0; i < 90; i++) EXPECT_INT_EQ(ids[i], i % 3 ? 1 : 2);
    EXPECT_INT_EQ(task_text_tokens(t, SPLIT_VALID, &ids), 10);
    for (int i = 0; i < 10; i++) EXPECT_INT_EQ(ids[i], TOKENIZER_UNK_ID);
    /* unigram entropy of 60 alpha, 30 beta */
    double H = -(2.0 / 3) * log(2.0 / 3) - (1.0 / 3) * log(1.0 / 3);
    ck_assert_double_eq_tol(t->chance_loss, H, CHANCE_TOL);
    task_free(t);
    remove_temp(path);
}
END_TEST

START_TEST(test_corpus_chars_vocab_covers_validation)
{
    /* 'z' and 'é' appear only in the last 10%: validation still encodes */
    char text[256] = "";
    for (int i = 0; i < 18; i++) strcat(text, "abcab");
    strcat(text, "z\xC3\xA9zzzzzzzz");
    char *path = write_temp(text, strlen(text));
    TaskConfig c = config_for("chars");
    c.corpus = path;
    c.seq_len = 3;
    Task *t = create_ok(&c);
    EXPECT_INT_EQ(t->vocab_size, 5);
    const int *ids;
    EXPECT_INT_EQ(task_text_tokens(t, SPLIT_VALID, &ids), 10);
    EXPECT_INT_EQ(ids[0], 3);   /* z */
    EXPECT_INT_EQ(ids[1], 4);   /* é */
    task_free(t);
    remove_temp(path);
}
END_TEST

/* two batches of the split drawn from generators with the same seed, from
 * two separately created tasks, hold the same tokens */
static void check_same_batches(Task *a, Task *b, Split split, unsigned long seed)
{
    Batch *ba = batch_for(a, 8), *bb = batch_for(b, 8);
    gsl_rng *ra = gsl_rng_alloc(gsl_rng_mt19937), *rb = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(ra, seed);
    gsl_rng_set(rb, seed);
    for (int k = 0; k < 20; k++) {
        task_batch(a, ba, split, ra);
        task_batch(b, bb, split, rb);
        EXPECT_INT_EQ(ba->T, bb->T);
        EXPECT(memcmp(ba->tokens, bb->tokens, (size_t)ba->B * ba->T * sizeof(int)) == 0);
        EXPECT(memcmp(ba->targets, bb->targets, (size_t)ba->B * ba->T * sizeof(int)) == 0);
    }
    gsl_rng_free(ra);
    gsl_rng_free(rb);
    batch_free(ba);
    batch_free(bb);
}

/* every training window of many batches lies inside one kept piece of a
 * train_fraction cut of the positional corpus -- x[k*stride .. k*stride +
 * piece) -- its targets are the next tokens, and the first and last piece
 * and the first and last start in a piece all occur */
static void check_piece_windows(Task *t, int T, long stride, long piece, int pieces)
{
    Batch *b = batch_for(t, 16);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 9);
    long first_piece = pieces, last_piece = -1, first_off = piece, last_off = -1;
    for (int k = 0; k < 400; k++) {
        task_batch(t, b, SPLIT_TRAIN, rng);
        EXPECT_INT_EQ(b->T, T);
        for (int r = 0; r < b->B; r++) {
            const int *x = b->tokens + r * T, *y = b->targets + r * T;
            long s = x[0], k_piece = s / stride, off = s - k_piece * stride;
            ck_assert_msg(k_piece < pieces && off + T + 1 <= piece,
                          "window at %ld (piece %ld, offset %ld) leaves its piece of %ld", s, k_piece, off, piece);
            for (int i = 0; i < T; i++) {
                EXPECT_INT_EQ(x[i], s + i);
                EXPECT_INT_EQ(y[i], s + i + 1);
            }
            if (k_piece < first_piece) first_piece = k_piece;
            if (k_piece > last_piece) last_piece = k_piece;
            if (off < first_off) first_off = off;
            if (off > last_off) last_off = off;
        }
    }
    EXPECT_INT_EQ(first_piece, 0);
    EXPECT_INT_EQ(last_piece, pieces - 1);
    EXPECT_INT_EQ(first_off, 0);
    EXPECT_INT_EQ(last_off, piece - T - 1);
    gsl_rng_free(rng);
    batch_free(b);
}

START_TEST(test_corpus_train_fraction)
{
    /* 1700 positional tokens (the most 2-byte code points hold): 1530 training
     * (64 blocks of stride 23), 170 validation */
    char *path = positional_corpus(1700);
    TaskConfig c = config_for("chars");
    c.corpus = path;
    c.seq_len = 4;
    c.eval_seq_len = 9;
    Task *all = create_ok(&c);
    c.train_fraction = 1.0;
    Task *one = create_ok(&c);
    c.train_fraction = 0.5;                 /* floor(0.5 * 23) = 11 tokens a piece */
    Task *half = create_ok(&c);
    Task *again = create_ok(&c);
    c.train_fraction = 0.25;                /* floor(5.75) = 5 tokens a piece */
    Task *quarter = create_ok(&c);
    EXPECT_INT_EQ(all->train_tokens, 1530);
    EXPECT_INT_EQ(half->train_tokens, 64 * 11);
    EXPECT_INT_EQ(quarter->train_tokens, 64 * 5);
    /* spread over the whole split, never across a piece's end; the quarter's
     * pieces are the first halves of the half's, so cuts nest */
    check_piece_windows(half, 4, 23, 11, 64);
    check_piece_windows(quarter, 4, 23, 5, 64);
    /* f = 1 is the split as without the setting: the same batches */
    check_same_batches(all, one, SPLIT_TRAIN, 13);
    /* the validation split, the vocabulary and chance never change */
    const int *ids_all, *ids_cut;
    EXPECT_INT_EQ(task_text_tokens(quarter, SPLIT_VALID, &ids_cut), 170);
    EXPECT_INT_EQ(task_text_tokens(all, SPLIT_VALID, &ids_all), 170);
    for (int i = 0; i < 170; i++) EXPECT_INT_EQ(ids_cut[i], ids_all[i]);
    check_windows(quarter, SPLIT_VALID, 9, 1530, 1700);
    EXPECT_INT_EQ(quarter->vocab_size, all->vocab_size);
    ck_assert_double_eq_tol(quarter->chance_loss, all->chance_loss, CHANCE_TOL);
    check_same_batches(quarter, all, SPLIT_VALID, 11);
    /* reproducible: the same fraction and seed give the same training batches */
    check_same_batches(half, again, SPLIT_TRAIN, 12);
    task_free(all);
    task_free(one);
    task_free(half);
    task_free(again);
    task_free(quarter);

    /* pieces too short for one window are an error naming train_fraction */
    c.train_fraction = 0.1;                 /* 2 tokens a piece: windows of 4 need 5 */
    create_fails(&c, "train_fraction", "seq_len 4");
    remove_temp(path);

    /* words: the vocabulary is still counted over the whole training split.
     * 1000 words, 900 training (stride 14); "gamma" only at offsets 10..13
     * of each block, so the f = 0.5 cut (offsets 0..6) never holds it */
    char *text = xmalloc(8000);
    text[0] = '\0';
    for (int i = 0; i < 1000; i++) strcat(text, i >= 900 || i % 14 >= 10 ? "gamma " : "alpha ");
    path = write_temp(text, strlen(text));
    free(text);
    c = config_for("words");
    c.corpus = path;
    c.seq_len = 4;
    c.train_fraction = 0.5;
    Task *w = create_ok(&c);
    EXPECT_INT_EQ(w->vocab_size, 3);        /* <unk>, alpha, gamma */
    EXPECT_INT_EQ(w->train_tokens, 64 * 7);
    int gamma = strcmp(w->tok->vocab[1], "gamma") == 0 ? 1 : 2;
    ck_assert_str_eq(w->tok->vocab[gamma], "gamma");
    /* validation reads "gamma", which the cut never shows, as itself */
    EXPECT_INT_EQ(task_text_tokens(w, SPLIT_VALID, &ids_all), 100);
    for (int i = 0; i < 100; i++) EXPECT_INT_EQ(ids_all[i], gamma);
    Batch *b = batch_for(w, 8);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    for (int k = 0; k < 50; k++) {
        task_batch(w, b, SPLIT_TRAIN, rng);
        for (int i = 0; i < b->B * b->T; i++) EXPECT_INT_EQ(b->tokens[i], 3 - gamma);   /* alpha */
    }
    gsl_rng_free(rng);
    batch_free(b);
    task_free(w);
    remove_temp(path);

    /* a synthetic task has no training set to cut */
    c = config_for("recall");
    c.train_fraction = 0.5;
    create_fails(&c, "train_fraction", "recall");
    c.train_fraction = 1.0;
    Task *r = create_ok(&c);
    EXPECT_INT_EQ(r->train_tokens, 0);
    task_free(r);
}
END_TEST

START_TEST(test_corpus_errors)
{
    TaskConfig c = config_for("chars");
    c.corpus = "/nonexistent/seqlab/corpus.txt";
    create_fails(&c, "/nonexistent/seqlab/corpus.txt", "No such file");
    c.corpus = "/tmp";
    create_fails(&c, "'/tmp'", "directory");
    c.corpus = NULL;
    create_fails(&c, "corpus", NULL);

    char *empty = write_temp("", 0);
    c.corpus = empty;
    create_fails(&c, empty, "empty");
    remove_temp(empty);

    char *binary = write_temp("text\0more", 9);
    c.corpus = binary;
    create_fails(&c, binary, "binary");
    remove_temp(binary);

    const char *bad_text = "good text\xC3(bad) and more text";
    char *bad = write_temp(bad_text, strlen(bad_text));
    c.corpus = bad;
    create_fails(&c, bad, "byte offset 9");
    c.task = "words";
    create_fails(&c, bad, "byte offset 9");
    c.task = "bytes";   /* bytes take any byte */
    c.seq_len = 1;
    task_free(create_ok(&c));
    remove_temp(bad);

    char *tiny = write_temp("abc", 3);
    c.task = "chars";
    c.corpus = tiny;
    c.seq_len = 8;
    create_fails(&c, tiny, "too short");
    c.seq_len = 0;
    create_fails(&c, "seq_len", NULL);
    c.seq_len = 2;
    c.eval_seq_len = -3;
    create_fails(&c, "eval_seq_len", NULL);
    c.eval_seq_len = 0;
    c.task = "text";
    c.tokenizer = "bpe";
    create_fails(&c, "tokenizer", "bpe");
    remove_temp(tiny);
}
END_TEST

/* ======================================================================
 * Synthetic tasks
 * ====================================================================== */

static const int distances[] = {1, 2, 5, 37};
#define NDIST (int)(sizeof distances / sizeof distances[0])

START_TEST(test_recall_target_is_token_at_distance)
{
    for (int k = 0; k < NDIST; k++) {
        int d = distances[k];
        TaskConfig c = config_for("recall");
        c.distance = d;
        Task *t = create_ok(&c);
        EXPECT_INT_EQ(t->seq_len, d + 1);
        EXPECT_INT_EQ(t->vocab_size, 10);
        EXPECT_INT_EQ(t->output_size, 8);
        ck_assert_double_eq_tol(t->chance_loss, log(8.0), CHANCE_TOL);
        Batch *b = batch_for(t, 8);
        gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
        task_batch(t, b, SPLIT_TRAIN, rng);
        EXPECT_INT_EQ(b->T, d + 1);
        for (int r = 0; r < b->B; r++) {
            const int *x = b->tokens + r * b->T, *y = b->targets + r * b->T;
            EXPECT(x[0] >= 0 && x[0] < 8);
            for (int i = 1; i < d; i++) EXPECT_INT_EQ(x[i], 8);   /* the blank */
            EXPECT_INT_EQ(x[d], 9);                               /* the query */
            for (int i = 0; i < d; i++) EXPECT_INT_EQ(y[i], TARGET_IGNORE);
            EXPECT_INT_EQ(y[d], x[0]);   /* the token d steps back from t = d */
        }
        check_same_seed_same_batch(t, SPLIT_TRAIN);
        ck_assert_double_eq_tol(target_entropy(t, 2500, 8, 1), t->chance_loss, EMPIRICAL_TOL);
        gsl_rng_free(rng);
        batch_free(b);
        task_free(t);
    }
}
END_TEST

START_TEST(test_copy_targets_are_copied_symbols)
{
    for (int k = 0; k < NDIST; k++) {
        int d = distances[k], T = d + 20;
        TaskConfig c = config_for("copy");
        c.distance = d;
        Task *t = create_ok(&c);
        EXPECT_INT_EQ(t->seq_len, T);
        EXPECT_INT_EQ(t->vocab_size, 10);
        EXPECT_INT_EQ(t->output_size, 10);
        ck_assert_double_eq_tol(t->chance_loss, log(8.0), CHANCE_TOL);
        Batch *b = batch_for(t, 6);
        gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
        task_batch(t, b, SPLIT_TRAIN, rng);
        for (int r = 0; r < b->B; r++) {
            const int *x = b->tokens + r * T, *y = b->targets + r * T;
            for (int i = 0; i < 10; i++) EXPECT(x[i] >= 1 && x[i] <= 8);
            for (int i = 10; i < 9 + d; i++) EXPECT_INT_EQ(x[i], 0);
            EXPECT_INT_EQ(x[9 + d], 9);   /* delimiter d steps after the last symbol */
            for (int i = 10 + d; i < T; i++) EXPECT_INT_EQ(x[i], 0);
            int scored = 0;
            for (int i = 0; i < T; i++) scored += y[i] != TARGET_IGNORE;
            EXPECT_INT_EQ(scored, 10);
            for (int i = 0; i < 10; i++) EXPECT_INT_EQ(y[T - 10 + i], x[i]);
        }
        check_same_seed_same_batch(t, SPLIT_TRAIN);
        ck_assert_double_eq_tol(target_entropy(t, 300, 8, 2), t->chance_loss, EMPIRICAL_TOL);
        gsl_rng_free(rng);
        batch_free(b);
        task_free(t);
    }
}
END_TEST

START_TEST(test_selective_copy_targets_are_the_scattered_symbols)
{
    const int spans[] = {8, 9, 37, 200};
    for (int k = 0; k < 4; k++) {
        int d = spans[k], T = d + 9;
        TaskConfig c = config_for("selective_copy");
        c.distance = d;
        Task *t = create_ok(&c);
        EXPECT_INT_EQ(t->seq_len, T);
        EXPECT_INT_EQ(t->eval_seq_len, T);
        EXPECT_INT_EQ(t->vocab_size, 10);
        EXPECT_INT_EQ(t->output_size, 10);
        EXPECT_INT_EQ(t->has_accuracy, 1);
        ck_assert_double_eq_tol(t->chance_loss, log(8.0), CHANCE_TOL);
        Batch *b = batch_for(t, 64);
        gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
        task_batch(t, b, SPLIT_TRAIN, rng);
        long at_position[200] = {0};      /* how often a symbol sat at each t < d */
        for (int r = 0; r < b->B; r++) {
            const int *x = b->tokens + r * T, *y = b->targets + r * T;
            /* exactly 8 symbols (1..8) before the delimiter, blanks (0) elsewhere */
            int symbols[8], n = 0;
            for (int i = 0; i < d; i++) {
                EXPECT(x[i] >= 0 && x[i] <= 8);
                if (x[i] != 0) {
                    if (n < 8) symbols[n] = x[i];
                    n++;
                    at_position[i]++;
                }
            }
            EXPECT_INT_EQ(n, 8);
            EXPECT_INT_EQ(x[d], 9);
            for (int i = d + 1; i < T; i++) EXPECT_INT_EQ(x[i], 0);
            /* the last 8 targets are the symbols in order; nothing else is scored */
            for (int i = 0; i <= d; i++) EXPECT_INT_EQ(y[i], TARGET_IGNORE);
            for (int i = 0; i < 8 && n == 8; i++) EXPECT_INT_EQ(y[d + 1 + i], symbols[i]);
        }
        /* positions vary from row to row (copy's never do): with d > 8,
         * every position's share is 8/d in expectation; at d = 200 over
         * 64 rows, no position is taken by all rows and several by none */
        if (d > 8) {
            int never = 0;
            for (int i = 0; i < d; i++) {
                EXPECT(at_position[i] < b->B);
                never += at_position[i] == 0;
            }
            if (d == 200) EXPECT(never > 0);
        }
        check_same_seed_same_batch(t, SPLIT_TRAIN);
        ck_assert_double_eq_tol(target_entropy(t, 300, 8, 3), t->chance_loss, EMPIRICAL_TOL);
        gsl_rng_free(rng);
        batch_free(b);
        task_free(t);
    }
    /* fewer positions than symbols */
    TaskConfig c = config_for("selective_copy");
    c.distance = 7;
    create_fails(&c, "distance", "(got 7)");
    c.distance = 100001;
    create_fails(&c, "distance", "(got 100001)");
}
END_TEST

START_TEST(test_adding_target_is_sum_of_marked)
{
    const int lengths[] = {2, 3, 10, 51};
    for (int k = 0; k < 4; k++) {
        int T = lengths[k];
        TaskConfig c = config_for("adding");
        c.distance = T;
        Task *t = create_ok(&c);
        EXPECT_INT_EQ(t->seq_len, T);
        EXPECT_INT_EQ(t->vocab_size, 0);
        EXPECT_INT_EQ(t->input_features, 2);
        EXPECT_INT_EQ(t->output_size, 1);
        EXPECT_INT_EQ(t->regression, 1);
        EXPECT_INT_EQ(t->has_accuracy, 0);
        ck_assert_double_eq_tol(t->chance_loss, 1.0 / 6.0, CHANCE_TOL);
        Batch *b = batch_for(t, 16);
        gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
        double sq = 0;
        int rows = 0;
        for (int n = 0; n < 1250; n++) {
            task_batch(t, b, SPLIT_TRAIN, rng);
            for (int r = 0; r < b->B; r++, rows++) {
                const real *f = b->features + (size_t)r * T * 2;   /* (T,2) */
                const int *y = b->targets + r * T;
                const real *v = b->values + r * T;
                int marks[2], nm = 0;
                double sum = 0;
                for (int i = 0; i < T; i++) {
                    EXPECT(f[2 * i] >= 0 && f[2 * i] < 1);
                    EXPECT(f[2 * i + 1] == 0 || f[2 * i + 1] == 1);
                    if (f[2 * i + 1] == 1) {
                        ck_assert_int_lt(nm, 2);
                        marks[nm++] = i;
                        sum += f[2 * i];
                    }
                }
                EXPECT_INT_EQ(nm, 2);
                ck_assert_int_lt(marks[0], T / 2);   /* one marker in each half */
                ck_assert_int_ge(marks[1], T / 2);
                for (int i = 0; i < T - 1; i++) EXPECT_INT_EQ(y[i], TARGET_IGNORE);
                ck_assert_int_ne(y[T - 1], TARGET_IGNORE);
                EXPECT(fabs(v[T - 1] - sum) <= SUM_TOL);
                sq += (v[T - 1] - 1.0) * (v[T - 1] - 1.0);
            }
        }
        /* predicting the mean 1 always scores the chance level */
        ck_assert_double_eq_tol(sq / rows, t->chance_loss, EMPIRICAL_TOL);
        check_same_seed_same_batch(t, SPLIT_TRAIN);
        gsl_rng_free(rng);
        batch_free(b);
        task_free(t);
    }
}
END_TEST

START_TEST(test_assoc_target_is_paired_value)
{
    const int pairs[] = {1, 4, 16};
    for (int k = 0; k < 3; k++) {
        int d = pairs[k], T = 2 * d + 2;
        TaskConfig c = config_for("assoc");
        c.distance = d;
        Task *t = create_ok(&c);
        EXPECT_INT_EQ(t->seq_len, T);
        EXPECT_INT_EQ(t->vocab_size, 25);
        EXPECT_INT_EQ(t->output_size, 8);
        ck_assert_double_eq_tol(t->chance_loss, log(8.0), CHANCE_TOL);
        Batch *b = batch_for(t, 32);
        gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
        task_batch(t, b, SPLIT_TRAIN, rng);
        for (int r = 0; r < b->B; r++) {
            const int *x = b->tokens + r * T, *y = b->targets + r * T;
            int found = 0;
            for (int p = 0; p < d; p++) {
                EXPECT(x[2 * p] >= 8 && x[2 * p] < 24);
                EXPECT(x[2 * p + 1] >= 0 && x[2 * p + 1] < 8);
                for (int q = 0; q < p; q++) ck_assert_int_ne(x[2 * q], x[2 * p]);   /* distinct keys */
                if (x[2 * p] == x[T - 1]) {
                    EXPECT_INT_EQ(y[T - 1], x[2 * p + 1]);
                    found++;
                }
            }
            EXPECT_INT_EQ(found, 1);
            EXPECT_INT_EQ(x[2 * d], 24);
            for (int i = 0; i < T - 1; i++) EXPECT_INT_EQ(y[i], TARGET_IGNORE);
        }
        check_same_seed_same_batch(t, SPLIT_TRAIN);
        ck_assert_double_eq_tol(target_entropy(t, 700, 32, 3), t->chance_loss, EMPIRICAL_TOL);
        gsl_rng_free(rng);
        batch_free(b);
        task_free(t);
    }
}
END_TEST

START_TEST(test_parity_targets_are_prefix_xor)
{
    TaskConfig c = config_for("parity");
    c.seq_len = 8;
    c.eval_seq_len = 33;
    Task *t = create_ok(&c);
    EXPECT_INT_EQ(t->seq_len, 8);
    EXPECT_INT_EQ(t->eval_seq_len, 33);
    EXPECT_INT_EQ(t->vocab_size, 2);
    EXPECT_INT_EQ(t->output_size, 2);
    ck_assert_double_eq_tol(t->chance_loss, log(2.0), CHANCE_TOL);
    Batch *b = batch_for(t, 5);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    const Split splits[2] = {SPLIT_TRAIN, SPLIT_VALID};
    const int lengths[2] = {8, 33};
    for (int s = 0; s < 2; s++) {
        task_batch(t, b, splits[s], rng);
        EXPECT_INT_EQ(b->T, lengths[s]);   /* validation is longer than training */
        for (int r = 0; r < b->B; r++) {
            const int *x = b->tokens + r * b->T, *y = b->targets + r * b->T;
            for (int i = 0; i < b->T; i++) {
                int xor_prefix = 0;
                for (int j = 0; j <= i; j++) xor_prefix ^= x[j];
                EXPECT(x[i] == 0 || x[i] == 1);
                EXPECT_INT_EQ(y[i], xor_prefix);
            }
        }
    }
    check_same_seed_same_batch(t, SPLIT_VALID);
    ck_assert_double_eq_tol(target_entropy(t, 500, 5, 4), t->chance_loss, EMPIRICAL_TOL);
    gsl_rng_free(rng);
    batch_free(b);
    task_free(t);
    c.eval_seq_len = 0;   /* 0: validation as long as training */
    t = create_ok(&c);
    EXPECT_INT_EQ(t->eval_seq_len, 8);
    task_free(t);
}
END_TEST

START_TEST(test_synthetic_errors)
{
    const char *tasks[] = {"recall", "copy", "adding", "assoc"};
    for (int i = 0; i < 4; i++) {
        TaskConfig c = config_for(tasks[i]);
        c.distance = 0;
        create_fails(&c, "distance", tasks[i]);
        c.distance = 100001;
        create_fails(&c, "distance", "(got 100001)");
    }
    TaskConfig c = config_for("adding");
    c.distance = 1;   /* needs a marker in each half */
    create_fails(&c, "distance", NULL);
    c = config_for("assoc");
    c.distance = 17;  /* only 16 distinct keys */
    create_fails(&c, "distance", "16");
    c = config_for("parity");
    c.seq_len = 0;
    create_fails(&c, "seq_len", NULL);
    c.seq_len = 8;
    c.eval_seq_len = -1;
    create_fails(&c, "eval_seq_len", NULL);
    c = config_for("sorting");
    create_fails(&c, "unknown task 'sorting'", "copy, adding, recall, assoc, parity");
}
END_TEST

static Suite *make_data_suite(void)
{
    Suite *s = suite_create("data");
    TCase *tok = tcase_create("tokenizer");
    tcase_add_test(tok, test_kind_names);
    tcase_add_test(tok, test_bytes_round_trip);
    tcase_add_test(tok, test_chars_round_trip_utf8);
    tcase_add_test(tok, test_chars_invalid_utf8_rejected);
    tcase_add_test(tok, test_chars_unknown_character_named);
    tcase_add_test(tok, test_words_split_and_lowercase);
    tcase_add_test(tok, test_words_frequency_order_and_limit);
    tcase_add_test(tok, test_words_decode_reads_naturally);
    tcase_add_test(tok, test_words_round_trip);
    tcase_add_test(tok, test_decode_does_not_overflow);
    tcase_add_test(tok, test_from_vocab);
    suite_add_tcase(s, tok);
    TCase *corpus = tcase_create("corpus");
    tcase_add_test(corpus, test_corpus_split_and_windows);
    tcase_add_test(corpus, test_corpus_bytes_windows_are_text);
    tcase_add_test(corpus, test_corpus_words_vocab_from_training_split);
    tcase_add_test(corpus, test_corpus_chars_vocab_covers_validation);
    tcase_add_test(corpus, test_corpus_errors);
    tcase_add_test(corpus, test_corpus_train_fraction);
    suite_add_tcase(s, corpus);
    TCase *synth = tcase_create("synthetic");
    tcase_set_timeout(synth, 30);
    tcase_add_test(synth, test_recall_target_is_token_at_distance);
    tcase_add_test(synth, test_copy_targets_are_copied_symbols);
    tcase_add_test(synth, test_selective_copy_targets_are_the_scattered_symbols);
    tcase_add_test(synth, test_adding_target_is_sum_of_marked);
    tcase_add_test(synth, test_assoc_target_is_paired_value);
    tcase_add_test(synth, test_parity_targets_are_prefix_xor);
    tcase_add_test(synth, test_synthetic_errors);
    suite_add_tcase(s, synth);
    return s;
}

int main(void) { return run_suite(make_data_suite()); }
