/*
 * fuzz_tokenizer.c — libFuzzer harness for the three tokenizers.
 *
 * Input: one byte that picks the tokenizer (its value mod 3: bytes, chars,
 * words) and the vocabulary limit for words (value / 3), then the text.
 * The text is handled the way a corpus is (tokenizer.h):
 *
 *   - build the vocabulary from the text; chars and words must refuse
 *     invalid UTF-8 and NUL with a message naming the byte offset, and
 *     accept everything else;
 *   - encode the text; the count agrees with tokenizer_count, every id is
 *     inside the vocabulary;
 *   - round trips: bytes and chars decode(encode(text)) == text; words
 *     encode(decode(encode(text))) == encode(text);
 *   - a tokenizer rebuilt from the vocabulary (as from a checkpoint)
 *     encodes the text to the same ids.
 *
 * Any broken property aborts, which libFuzzer reports like a crash.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_TOKENIZER_CHECK(cond)                                                   \
    do {                                                                            \
        if (!(cond)) {                                                              \
            fprintf(stderr, "%s:%d: property failed: %s\n", __FILE__, __LINE__, #cond); \
            abort();                                                                \
        }                                                                           \
    } while (0)

/* the ids of text under t (n of them, malloc'd); -1 count if refused */
static int *tokfuzz_encode(const Tokenizer *t, const char *text, size_t len, long *n)
{
    char err[256];
    *n = tokenizer_encode(t, text, len, NULL, 0, err, sizeof err);
    if (*n < 0) return NULL;
    int *ids = malloc((size_t)(*n ? *n : 1) * sizeof(int));
    long again = tokenizer_encode(t, text, len, ids, (size_t)*n, err, sizeof err);
    FUZZ_TOKENIZER_CHECK(again == *n);
    return ids;
}

/* words: the decoded text of ids (spaced as tokenizer_decode does) */
static char *tokfuzz_decode(const Tokenizer *t, const int *ids, long n)
{
    size_t cap = 1;
    for (long i = 0; i < n; i++) {
        size_t l;
        tokenizer_token(t, ids[i], &l);
        cap += l + 1;
    }
    char *out = malloc(cap);
    out[0] = '\0';
    for (long i = 0; i < n; i++) FUZZ_TOKENIZER_CHECK(tokenizer_decode(t, ids[i], out, cap) > 0);
    return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    TokKind kind = (TokKind)(data[0] % 3);
    int vocab_limit = data[0] / 3;
    const char *text = (const char *)data + 1;
    size_t len = size - 1;
    char err[256] = "";

    size_t bad = utf8_validate(text, len);
    int has_nul = memchr(text, '\0', len) != NULL;
    Tokenizer *t = tokenizer_build(kind, text, len, vocab_limit, err, sizeof err);
    if (kind == TOK_BYTES) {
        FUZZ_TOKENIZER_CHECK(t != NULL && t->vocab_size == 256);
    } else if (bad < len) {
        /* invalid UTF-8: refused, naming the offset */
        FUZZ_TOKENIZER_CHECK(t == NULL && strstr(err, "offset") != NULL);
        FUZZ_TOKENIZER_CHECK(tokenizer_count(kind, text, len, 0, NULL, err, sizeof err) < 0);
        return 0;
    }
    if (!t) {
        /* chars refuses NUL (a C string cannot hold it) and empty text; nothing else */
        FUZZ_TOKENIZER_CHECK(kind == TOK_CHARS && (has_nul || len == 0));
        return 0;
    }

    long n;
    int *ids = tokfuzz_encode(t, text, len, &n);
    FUZZ_TOKENIZER_CHECK(ids != NULL);
    FUZZ_TOKENIZER_CHECK(tokenizer_count(kind, text, len, 0, NULL, err, sizeof err) == n);
    for (long i = 0; i < n; i++) FUZZ_TOKENIZER_CHECK(ids[i] >= 0 && ids[i] < t->vocab_size);

    if (kind == TOK_WORDS) {
        FUZZ_TOKENIZER_CHECK(t->vocab_size <= (vocab_limit ? vocab_limit : n) + 1);
        char *decoded = tokfuzz_decode(t, ids, n);
        long n2;
        int *ids2 = tokfuzz_encode(t, decoded, strlen(decoded), &n2);
        FUZZ_TOKENIZER_CHECK(ids2 != NULL && n2 == n);
        FUZZ_TOKENIZER_CHECK(n == 0 || memcmp(ids, ids2, (size_t)n * sizeof(int)) == 0);
        free(ids2);
        free(decoded);
    } else {
        /* the raw token texts concatenate to the input */
        size_t pos = 0;
        for (long i = 0; i < n; i++) {
            size_t l;
            const char *tok = tokenizer_token(t, ids[i], &l);
            FUZZ_TOKENIZER_CHECK(pos + l <= len && memcmp(text + pos, tok, l) == 0);
            pos += l;
        }
        FUZZ_TOKENIZER_CHECK(pos == len);
    }

    /* rebuilt from its vocabulary, the tokenizer encodes the same */
    Tokenizer *r = tokenizer_from_vocab(kind, t->vocab_size, (const char *const *)t->vocab, err,
                                        sizeof err);
    if (!r) {
        fprintf(stderr, "vocabulary of a built tokenizer refused: %s\n", err);
        abort();
    }
    long n3;
    int *ids3 = tokfuzz_encode(r, text, len, &n3);
    FUZZ_TOKENIZER_CHECK(ids3 != NULL && n3 == n);
    FUZZ_TOKENIZER_CHECK(n == 0 || memcmp(ids, ids3, (size_t)n * sizeof(int)) == 0);
    free(ids3);
    tokenizer_free(r);
    free(ids);
    tokenizer_free(t);
    return 0;
}
