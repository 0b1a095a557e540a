/*
 * tokenizer.c — the bytes, chars and words tokenizers of tokenizer.h.
 *
 * Sections, in reading order: UTF-8; splitting text into word pieces; the
 * words hash table; building a vocabulary; encoding; decoding.
 *
 * What this file is not: a training-data loader (see corpus.c, which cuts
 * the corpus into splits and windows).
 */
#include "tokenizer.h"

#include <cjson/cJSON.h>

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* ======================================================================
 * UTF-8
 * ====================================================================== */

#define UTF8_MAX_CP 0x10FFFFu

/* Decode the code point at s[0..n): returns its length in bytes (1..4), or
 * 0 if the bytes there are not valid UTF-8 (a stray continuation byte, a
 * truncated sequence, an overlong form, a surrogate, or > U+10FFFF). */
static int utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
    unsigned lead = s[0];
    if (lead < 0x80) { *cp = lead; return 1; }
    int len;
    uint32_t v, min;
    if (lead >= 0xC2 && lead <= 0xDF)      { len = 2; v = lead & 0x1F; min = 0x80; }
    else if (lead >= 0xE0 && lead <= 0xEF) { len = 3; v = lead & 0x0F; min = 0x800; }
    else if (lead >= 0xF0 && lead <= 0xF4) { len = 4; v = lead & 0x07; min = 0x10000; }
    else return 0;
    if ((size_t)len > n) return 0;
    for (int i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        v = (v << 6) | (s[i] & 0x3F);
    }
    if (v < min || v > UTF8_MAX_CP || (v >= 0xD800 && v <= 0xDFFF)) return 0;
    *cp = v;
    return len;
}

/* out (4) = the UTF-8 bytes of cp; returns how many */
static int utf8_encode(uint32_t cp, char *out)
{
    if (cp < 0x80) { out[0] = (char)cp; return 1; }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

size_t utf8_validate(const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t p = 0;
    uint32_t cp;
    while (p < len) {
        int n = utf8_decode(u + p, len - p, &cp);
        if (n == 0) return p;
        p += (size_t)n;
    }
    return len;
}

/* ======================================================================
 * Word pieces: what the words tokenizer splits text into
 * ====================================================================== */

typedef enum { CP_SPACE, CP_PUNCT, CP_WORD } CpClass;

/* Letters, digits and apostrophes make words; ASCII punctuation and the
 * common Unicode punctuation blocks are one-character tokens; whitespace
 * and control characters separate tokens and are dropped.  Any other
 * non-ASCII code point is taken to be a letter. */
static CpClass cp_class(uint32_t cp)
{
    if (cp < 0x80) {
        if ((cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') ||
            (cp >= '0' && cp <= '9') || cp == '\'')
            return CP_WORD;
        if (cp <= 0x20 || cp == 0x7F) return CP_SPACE;
        return CP_PUNCT;
    }
    if (cp < 0xA1 || (cp >= 0x2000 && cp <= 0x200B) || cp == 0x2028 || cp == 0x2029 ||
        cp == 0x202F || cp == 0x205F || cp == 0x3000 || cp == 0xFEFF)
        return CP_SPACE;   /* C1 controls, no-break and typographic spaces, BOM */
    if (cp == 0x2019) return CP_WORD;   /* right single quote: the typographic apostrophe */
    if (cp <= 0xBF || cp == 0xD7 || cp == 0xF7 || (cp >= 0x2010 && cp <= 0x2027) ||
        (cp >= 0x2030 && cp <= 0x205E) || (cp >= 0x3001 && cp <= 0x303F))
        return CP_PUNCT;
    return CP_WORD;
}

typedef enum { PIECE_END, PIECE_WORD, PIECE_PUNCT, PIECE_UNK, PIECE_INVALID } PieceKind;

/* The next piece of text at or after *pos: skips whitespace, sets the
 * piece's bytes [*start, *end) and moves *pos to *end.  PIECE_INVALID sets
 * *start to the offset of the invalid byte. */
static PieceKind piece_next(const char *text, size_t len, size_t *pos, size_t *start,
                            size_t *end)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t p = *pos;
    uint32_t cp = 0;
    int n;
    for (;;) {
        if (p >= len) { *pos = *start = *end = len; return PIECE_END; }
        n = utf8_decode(s + p, len - p, &cp);
        if (n == 0) { *pos = *start = *end = p; return PIECE_INVALID; }
        if (cp_class(cp) != CP_SPACE) break;
        p += (size_t)n;
    }
    *start = p;
    size_t unk_len = strlen(TOKENIZER_UNK);
    if (len - p >= unk_len && memcmp(text + p, TOKENIZER_UNK, unk_len) == 0) {
        *pos = *end = p + unk_len;
        return PIECE_UNK;
    }
    if (cp_class(cp) == CP_PUNCT) {
        *pos = *end = p + (size_t)n;
        return PIECE_PUNCT;
    }
    p += (size_t)n;
    while (p < len) {
        n = utf8_decode(s + p, len - p, &cp);
        if (n == 0 || cp_class(cp) != CP_WORD) break;   /* an invalid byte is reported next call */
        p += (size_t)n;
    }
    *pos = *end = p;
    return PIECE_WORD;
}

/* *buf (grown as needed, capacity *cap) = text[start..end) with ASCII
 * letters lower-cased, NUL-terminated; returns its length */
static size_t piece_lower(const char *text, size_t start, size_t end, char **buf, size_t *cap)
{
    size_t n = end - start;
    if (n + 1 > *cap) {
        *cap = 2 * (n + 1);
        *buf = xrealloc(*buf, *cap);
    }
    for (size_t i = 0; i < n; i++) {
        char c = text[start + i];
        (*buf)[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
    }
    (*buf)[n] = '\0';
    return n;
}

/* ======================================================================
 * Hash tables: word -> id (the words vocabulary) and word -> count (build)
 * ====================================================================== */

/* FNV-1a, 64 bit */
static uint64_t hash_bytes(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ULL;
    }
    return h;
}

/* smallest power of two >= 2n (load factor <= 1/2), at least 16, minus one */
static size_t table_mask_for(size_t n)
{
    size_t size = 16;
    while (size < 2 * n) size *= 2;
    return size - 1;
}

/* s (NUL-terminated) equals w[0..n) */
static int str_equals(const char *s, const char *w, size_t n)
{
    return strncmp(s, w, n) == 0 && s[n] == '\0';
}

static int words_lookup(const Tokenizer *t, const char *w, size_t n)
{
    size_t i = (size_t)hash_bytes(w, n) & t->word_mask;
    for (;;) {
        int id = t->word_slots[i];
        if (id == TOKENIZER_NO_ID || str_equals(t->vocab[id], w, n)) return id;
        i = (i + 1) & t->word_mask;
    }
}

/* fill t->word_slots from t->vocab; -1 with a message on a duplicate */
static int words_index(Tokenizer *t, char *err, size_t errlen)
{
    t->word_mask = table_mask_for((size_t)t->vocab_size);
    t->word_slots = xmalloc((t->word_mask + 1) * sizeof(int));
    for (size_t i = 0; i <= t->word_mask; i++) t->word_slots[i] = TOKENIZER_NO_ID;
    for (int id = 0; id < t->vocab_size; id++) {
        const char *w = t->vocab[id];
        size_t n = strlen(w);
        size_t i = (size_t)hash_bytes(w, n) & t->word_mask;
        while (t->word_slots[i] != TOKENIZER_NO_ID) {
            if (str_equals(t->vocab[t->word_slots[i]], w, n)) {
                snprintf(err, errlen, "vocabulary entry %d ('%s') repeats entry %d", id, w,
                         t->word_slots[i]);
                return -1;
            }
            i = (i + 1) & t->word_mask;
        }
        t->word_slots[i] = id;
    }
    return 0;
}

typedef struct WordCount {
    char *word;
    size_t len;
    long count;
} WordCount;

typedef struct WordCounts {
    WordCount *entries;   /* (n) in order of first appearance */
    size_t n, cap;
    size_t *slots;        /* (mask + 1) index into entries, or COUNTS_EMPTY */
    size_t mask;
} WordCounts;

#define COUNTS_EMPTY ((size_t)-1)

static void counts_rehash(WordCounts *wc, size_t mask)
{
    free(wc->slots);
    wc->mask = mask;
    wc->slots = xmalloc((mask + 1) * sizeof(size_t));
    for (size_t i = 0; i <= mask; i++) wc->slots[i] = COUNTS_EMPTY;
    for (size_t e = 0; e < wc->n; e++) {
        size_t i = (size_t)hash_bytes(wc->entries[e].word, wc->entries[e].len) & mask;
        while (wc->slots[i] != COUNTS_EMPTY) i = (i + 1) & mask;
        wc->slots[i] = e;
    }
}

static void counts_add(WordCounts *wc, const char *w, size_t n)
{
    size_t i = (size_t)hash_bytes(w, n) & wc->mask;
    while (wc->slots[i] != COUNTS_EMPTY) {
        WordCount *e = &wc->entries[wc->slots[i]];
        if (e->len == n && memcmp(e->word, w, n) == 0) { e->count++; return; }
        i = (i + 1) & wc->mask;
    }
    if (wc->n == wc->cap) {
        wc->cap = wc->cap ? 2 * wc->cap : 1024;
        wc->entries = xrealloc(wc->entries, wc->cap * sizeof(WordCount));
    }
    WordCount *e = &wc->entries[wc->n];
    e->word = xmalloc(n + 1);
    memcpy(e->word, w, n);
    e->word[n] = '\0';
    e->len = n;
    e->count = 1;
    wc->slots[i] = wc->n++;
    if (2 * wc->n > wc->mask + 1) counts_rehash(wc, 2 * wc->mask + 1);
}

/* most frequent first; ties in byte order of the strings (deterministic) */
static int count_order(const void *a, const void *b)
{
    const WordCount *x = a, *y = b;
    if (x->count != y->count) return x->count > y->count ? -1 : 1;
    return strcmp(x->word, y->word);
}

/* ======================================================================
 * Building a tokenizer
 * ====================================================================== */

int tokenizer_kind_parse(const char *name, TokKind *kind)
{
    if (!name) return -1;
    if (strcmp(name, "bytes") == 0) { *kind = TOK_BYTES; return 0; }
    if (strcmp(name, "chars") == 0) { *kind = TOK_CHARS; return 0; }
    if (strcmp(name, "words") == 0) { *kind = TOK_WORDS; return 0; }
    return -1;
}

const char *tokenizer_kind_name(TokKind kind)
{
    switch (kind) {
    case TOK_BYTES: return "bytes";
    case TOK_CHARS: return "chars";
    case TOK_WORDS: return "words";
    }
    return "?";
}

static Tokenizer *tokenizer_new(TokKind kind, int V)
{
    Tokenizer *t = xcalloc(1, sizeof *t);
    t->kind = kind;
    t->vocab_size = V;
    for (int c = 0; c < 128; c++) t->ascii_ids[c] = TOKENIZER_NO_ID;
    if (kind != TOK_BYTES) t->vocab = xcalloc((size_t)V, sizeof(char *));
    return t;
}

Tokenizer *tokenizer_from_metadata(const char *kind_name, const char *vocab_json, int model_vocab,
                                   const char *source, char *err, size_t errlen)
{
    TokKind kind;
    if (!kind_name) kind_name = "bytes";
    if (tokenizer_kind_parse(kind_name, &kind) != 0) {
        snprintf(err, errlen, "%s: metadata tokenizer '%s' is not bytes, chars or words", source, kind_name);
        return NULL;
    }
    Tokenizer *t = NULL;
    char e2[512];
    if (kind == TOK_BYTES) {
        t = tokenizer_from_vocab(kind, 256, NULL, e2, sizeof e2);
    } else {
        cJSON *arr = vocab_json ? cJSON_Parse(vocab_json) : NULL;
        if (!cJSON_IsArray(arr)) {
            snprintf(err, errlen, "%s: metadata has tokenizer '%s' but its vocab is missing or not a JSON array",
                     source, kind_name);
            cJSON_Delete(arr);
            return NULL;
        }
        int V = cJSON_GetArraySize(arr);
        const char **strs = xcalloc((size_t)V + 1, sizeof *strs);
        for (int i = 0; i < V; i++) {
            cJSON *it = cJSON_GetArrayItem(arr, i);
            if (!cJSON_IsString(it)) {
                snprintf(err, errlen, "%s: metadata vocab entry %d is not a string", source, i);
                free(strs);
                cJSON_Delete(arr);
                return NULL;
            }
            strs[i] = it->valuestring;
        }
        t = tokenizer_from_vocab(kind, V, strs, e2, sizeof e2);
        free(strs);
        cJSON_Delete(arr);
    }
    if (!t) {
        snprintf(err, errlen, "%s: %s", source, e2);
        return NULL;
    }
    if (t->vocab_size > model_vocab) {
        snprintf(err, errlen, "%s: the %s tokenizer has %d tokens but the model's embedding only %d rows "
                 "(a model of a task without text, or a vocab that disagrees with vocab_size)", source, kind_name,
                 t->vocab_size, model_vocab);
        tokenizer_free(t);
        return NULL;
    }
    return t;
}

void tokenizer_free(Tokenizer *t)
{
    if (!t) return;
    if (t->vocab)
        for (int i = 0; i < t->vocab_size; i++) free(t->vocab[i]);
    free(t->vocab);
    free(t->cp_sorted);
    free(t->cp_ids);
    free(t->word_slots);
    free(t);
}

typedef struct CpId { uint32_t cp; int id; } CpId;

static int cp_order(const void *a, const void *b)
{
    const CpId *x = a, *y = b;
    return (x->cp > y->cp) - (x->cp < y->cp);
}

/* chars: every vocab entry is one code point; fill the sorted lookup.
 * -1 with a message if an entry is not exactly one code point, or repeats. */
static int chars_index(Tokenizer *t, char *err, size_t errlen)
{
    int V = t->vocab_size;
    CpId *pairs = xmalloc((size_t)V * sizeof(CpId));
    for (int id = 0; id < V; id++) {
        const char *s = t->vocab[id];
        size_t n = strlen(s);
        uint32_t cp;
        int k = n ? utf8_decode((const unsigned char *)s, n, &cp) : 0;
        if (k == 0 || (size_t)k != n) {
            snprintf(err, errlen, "vocabulary entry %d is not one UTF-8 character", id);
            free(pairs);
            return -1;
        }
        pairs[id].cp = cp;
        pairs[id].id = id;
    }
    qsort(pairs, (size_t)V, sizeof(CpId), cp_order);
    t->cp_sorted = xmalloc((size_t)V * sizeof(uint32_t));
    t->cp_ids = xmalloc((size_t)V * sizeof(int));
    for (int i = 0; i < V; i++) {
        if (i > 0 && pairs[i].cp == pairs[i - 1].cp) {
            snprintf(err, errlen, "vocabulary entries %d and %d are the same character U+%04X",
                     pairs[i - 1].id, pairs[i].id, (unsigned)pairs[i].cp);
            free(pairs);
            return -1;
        }
        t->cp_sorted[i] = pairs[i].cp;
        t->cp_ids[i] = pairs[i].id;
        if (pairs[i].cp < 128) t->ascii_ids[pairs[i].cp] = pairs[i].id;
    }
    free(pairs);
    return 0;
}

static int u32_order(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* chars: the distinct code points of text, in code-point order */
static Tokenizer *build_chars(const char *text, size_t len, char *err, size_t errlen)
{
    const unsigned char *s = (const unsigned char *)text;
    int ascii_seen[128] = {0};
    uint32_t *wide = NULL;    /* (n_wide) non-ASCII code points, with repeats until sorted */
    size_t n_wide = 0, cap_wide = 0;
    for (size_t p = 0; p < len;) {
        uint32_t cp;
        int n = utf8_decode(s + p, len - p, &cp);
        if (n == 0 || cp == 0) {
            snprintf(err, errlen, n == 0 ? "invalid UTF-8 at byte offset %zu"
                                         : "a NUL character at byte offset %zu", p);
            free(wide);
            return NULL;
        }
        if (cp < 128) {
            ascii_seen[cp] = 1;
        } else {
            if (n_wide == cap_wide) {
                cap_wide = cap_wide ? 2 * cap_wide : 64;
                wide = xrealloc(wide, cap_wide * sizeof(uint32_t));
            }
            wide[n_wide++] = cp;
            /* keep the list short on non-Latin text: dedupe when it fills */
            if (n_wide == cap_wide && cap_wide >= 4096) {
                qsort(wide, n_wide, sizeof(uint32_t), u32_order);
                size_t k = 0;
                for (size_t i = 0; i < n_wide; i++)
                    if (k == 0 || wide[i] != wide[k - 1]) wide[k++] = wide[i];
                n_wide = k;
            }
        }
        p += (size_t)n;
    }
    if (n_wide) qsort(wide, n_wide, sizeof(uint32_t), u32_order);
    size_t distinct = 0;
    for (size_t i = 0; i < n_wide; i++)
        if (i == 0 || wide[i] != wide[distinct - 1]) wide[distinct++] = wide[i];
    int V = (int)distinct;
    for (int c = 0; c < 128; c++) V += ascii_seen[c];
    if (V == 0) {
        snprintf(err, errlen, "no characters to build a vocabulary from (empty text)");
        free(wide);
        return NULL;
    }
    Tokenizer *t = tokenizer_new(TOK_CHARS, V);
    int id = 0;
    char buf[5];
    for (int c = 0; c < 128; c++) {
        if (!ascii_seen[c]) continue;
        buf[0] = (char)c;
        buf[1] = '\0';
        t->vocab[id++] = xstrdup(buf);
    }
    for (size_t i = 0; i < distinct; i++) {
        int n = utf8_encode(wide[i], buf);
        buf[n] = '\0';
        t->vocab[id++] = xstrdup(buf);
    }
    free(wide);
    int ok = chars_index(t, err, errlen);
    assert(ok == 0);
    (void)ok;
    return t;
}

/* words: "<unk>" then the vocab_limit most frequent pieces of text */
static Tokenizer *build_words(const char *text, size_t len, int vocab_limit, char *err,
                              size_t errlen)
{
    if (vocab_limit < 0) {
        snprintf(err, errlen, "vocab_limit must be >= 0 (0 keeps every word), not %d",
                 vocab_limit);
        return NULL;
    }
    WordCounts wc = {0};
    counts_rehash(&wc, table_mask_for(1024));
    char *buf = NULL;
    size_t cap = 0, pos = 0, start, end;
    PieceKind kind;
    while ((kind = piece_next(text, len, &pos, &start, &end)) != PIECE_END) {
        if (kind == PIECE_INVALID) {
            snprintf(err, errlen, "invalid UTF-8 at byte offset %zu", start);
            for (size_t e = 0; e < wc.n; e++) free(wc.entries[e].word);
            free(wc.entries);
            free(wc.slots);
            free(buf);
            return NULL;
        }
        if (kind == PIECE_UNK) continue;   /* always id 0 */
        size_t n = piece_lower(text, start, end, &buf, &cap);
        counts_add(&wc, buf, n);
    }
    free(buf);
    if (wc.n > 0) qsort(wc.entries, wc.n, sizeof(WordCount), count_order);
    size_t keep = wc.n;
    if (vocab_limit > 0 && keep > (size_t)vocab_limit) keep = (size_t)vocab_limit;
    Tokenizer *t = tokenizer_new(TOK_WORDS, (int)keep + 1);
    t->vocab[TOKENIZER_UNK_ID] = xstrdup(TOKENIZER_UNK);
    for (size_t e = 0; e < wc.n; e++) {
        if (e < keep) t->vocab[e + 1] = wc.entries[e].word;   /* ownership moves */
        else free(wc.entries[e].word);
    }
    free(wc.entries);
    free(wc.slots);
    int ok = words_index(t, err, errlen);
    assert(ok == 0);
    (void)ok;
    return t;
}

Tokenizer *tokenizer_build(TokKind kind, const char *text, size_t len, int vocab_limit,
                           char *err, size_t errlen)
{
    switch (kind) {
    case TOK_BYTES: return tokenizer_new(TOK_BYTES, 256);
    case TOK_CHARS: return build_chars(text, len, err, errlen);
    case TOK_WORDS: return build_words(text, len, vocab_limit, err, errlen);
    }
    snprintf(err, errlen, "unknown tokenizer kind %d", (int)kind);
    return NULL;
}

Tokenizer *tokenizer_from_vocab(TokKind kind, int V, const char *const *vocab, char *err,
                                size_t errlen)
{
    if (kind == TOK_BYTES) {
        if (V != 256) {
            snprintf(err, errlen, "a bytes tokenizer has vocab_size 256, not %d", V);
            return NULL;
        }
        return tokenizer_new(TOK_BYTES, 256);
    }
    if (kind != TOK_CHARS && kind != TOK_WORDS) {
        snprintf(err, errlen, "unknown tokenizer kind %d", (int)kind);
        return NULL;
    }
    if (V < 1 || !vocab) {
        snprintf(err, errlen, "a %s tokenizer needs a vocabulary (vocab_size %d)",
                 tokenizer_kind_name(kind), V);
        return NULL;
    }
    for (int id = 0; id < V; id++) {
        size_t n = vocab[id] ? strlen(vocab[id]) : 0;
        if (n == 0) {
            snprintf(err, errlen, "vocabulary entry %d is empty", id);
            return NULL;
        }
        size_t bad = utf8_validate(vocab[id], n);
        if (bad != n) {
            snprintf(err, errlen, "vocabulary entry %d: invalid UTF-8 at byte offset %zu", id,
                     bad);
            return NULL;
        }
    }
    if (kind == TOK_WORDS && strcmp(vocab[TOKENIZER_UNK_ID], TOKENIZER_UNK) != 0) {
        snprintf(err, errlen, "a words vocabulary starts with \"%s\", not \"%s\"", TOKENIZER_UNK,
                 vocab[TOKENIZER_UNK_ID]);
        return NULL;
    }
    Tokenizer *t = tokenizer_new(kind, V);
    for (int id = 0; id < V; id++) t->vocab[id] = xstrdup(vocab[id]);
    int ok = kind == TOK_CHARS ? chars_index(t, err, errlen) : words_index(t, err, errlen);
    if (ok != 0) {
        tokenizer_free(t);
        return NULL;
    }
    return t;
}

/* ======================================================================
 * Encoding
 * ====================================================================== */

static int chars_lookup(const Tokenizer *t, uint32_t cp)
{
    if (cp < 128) return t->ascii_ids[cp];
    size_t lo = 0, hi = (size_t)t->vocab_size;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (t->cp_sorted[mid] < cp) lo = mid + 1;
        else hi = mid;
    }
    return lo < (size_t)t->vocab_size && t->cp_sorted[lo] == cp ? t->cp_ids[lo]
                                                                : TOKENIZER_NO_ID;
}

static long encode_chars(const Tokenizer *t, const char *text, size_t len, int *ids,
                         size_t cap, char *err, size_t errlen)
{
    const unsigned char *s = (const unsigned char *)text;
    long count = 0;
    for (size_t p = 0; p < len;) {
        uint32_t cp;
        int n = utf8_decode(s + p, len - p, &cp);
        if (n == 0) {
            snprintf(err, errlen, "invalid UTF-8 at byte offset %zu", p);
            return -1;
        }
        int id = chars_lookup(t, cp);
        if (id == TOKENIZER_NO_ID) {
            if (cp >= 0x20 && cp != 0x7F)
                snprintf(err, errlen,
                         "character '%.*s' (U+%04X) at byte offset %zu is not in the vocabulary",
                         n, text + p, (unsigned)cp, p);
            else
                snprintf(err, errlen,
                         "character U+%04X at byte offset %zu is not in the vocabulary",
                         (unsigned)cp, p);
            return -1;
        }
        if (ids && (size_t)count < cap) ids[count] = id;
        count++;
        p += (size_t)n;
    }
    return count;
}

static long encode_words(const Tokenizer *t, const char *text, size_t len, int *ids,
                         size_t cap, char *err, size_t errlen)
{
    char *buf = NULL;
    size_t bufcap = 0, pos = 0, start, end;
    long count = 0;
    PieceKind kind;
    while ((kind = piece_next(text, len, &pos, &start, &end)) != PIECE_END) {
        if (kind == PIECE_INVALID) {
            snprintf(err, errlen, "invalid UTF-8 at byte offset %zu", start);
            free(buf);
            return -1;
        }
        if (ids && (size_t)count < cap) {
            int id = TOKENIZER_UNK_ID;
            if (kind != PIECE_UNK) {
                size_t n = piece_lower(text, start, end, &buf, &bufcap);
                id = words_lookup(t, buf, n);
                if (id == TOKENIZER_NO_ID) id = TOKENIZER_UNK_ID;
            }
            ids[count] = id;
        }
        count++;
    }
    free(buf);
    return count;
}

long tokenizer_encode(const Tokenizer *t, const char *text, size_t len, int *ids, size_t cap,
                      char *err, size_t errlen)
{
    switch (t->kind) {
    case TOK_BYTES:
        if (ids)
            for (size_t i = 0; i < len && i < cap; i++) ids[i] = (unsigned char)text[i];
        return (long)len;
    case TOK_CHARS: return encode_chars(t, text, len, ids, cap, err, errlen);
    case TOK_WORDS: return encode_words(t, text, len, ids, cap, err, errlen);
    }
    snprintf(err, errlen, "unknown tokenizer kind %d", (int)t->kind);
    return -1;
}

long tokenizer_count(TokKind kind, const char *text, size_t len, long k, size_t *offset_k,
                     char *err, size_t errlen)
{
    long count = 0;
    if (offset_k) *offset_k = len;
    if (kind == TOK_BYTES) {
        if (offset_k && k >= 0 && (size_t)k < len) *offset_k = (size_t)k;
        return (long)len;
    }
    if (kind == TOK_CHARS) {
        const unsigned char *s = (const unsigned char *)text;
        for (size_t p = 0; p < len; count++) {
            uint32_t cp;
            int n = utf8_decode(s + p, len - p, &cp);
            if (n == 0) {
                snprintf(err, errlen, "invalid UTF-8 at byte offset %zu", p);
                return -1;
            }
            if (offset_k && count == k) *offset_k = p;
            p += (size_t)n;
        }
        return count;
    }
    size_t pos = 0, start, end;
    PieceKind piece;
    while ((piece = piece_next(text, len, &pos, &start, &end)) != PIECE_END) {
        if (piece == PIECE_INVALID) {
            snprintf(err, errlen, "invalid UTF-8 at byte offset %zu", start);
            return -1;
        }
        if (offset_k && count == k) *offset_k = start;
        count++;
    }
    return count;
}

/* ======================================================================
 * Decoding
 * ====================================================================== */

/* byte_values[i] == i: the text of byte token i */
#define BYTES4(n) n, n + 1, n + 2, n + 3
#define BYTES16(n) BYTES4(n), BYTES4(n + 4), BYTES4(n + 8), BYTES4(n + 12)
#define BYTES64(n) BYTES16(n), BYTES16(n + 16), BYTES16(n + 32), BYTES16(n + 48)
static const unsigned char byte_values[256] = {BYTES64(0), BYTES64(64), BYTES64(128),
                                               BYTES64(192)};

const char *tokenizer_token(const Tokenizer *t, int id, size_t *len)
{
    assert(id >= 0 && id < t->vocab_size);
    if (t->kind == TOK_BYTES) {
        *len = 1;
        return (const char *)&byte_values[id];
    }
    *len = strlen(t->vocab[id]);
    return t->vocab[id];
}

static int ends_with(const char *s, size_t n, const char *suffix)
{
    size_t k = strlen(suffix);
    return n >= k && memcmp(s + n - k, suffix, k) == 0;
}

/* how many '"' the text holds: odd means a quotation is open */
static size_t count_quotes(const char *s, size_t n)
{
    size_t q = 0;
    for (size_t i = 0; i < n; i++) q += s[i] == '"';
    return q;
}

/* punctuation written without a space before it */
static int is_closing(const char *tok)
{
    static const char *const closing[] = {",", ".", ";", ":", "?", "!", ")", "]", "}", "%",
                                          "\u201D", "\u00BB", "\u2026"};
    for (size_t i = 0; i < sizeof closing / sizeof closing[0]; i++)
        if (strcmp(tok, closing[i]) == 0) return 1;
    return 0;
}

/* the text so far ends with an opening bracket or quote */
static int ends_opening(const char *out, size_t n)
{
    if (n == 0) return 0;
    char c = out[n - 1];
    if (c == '(' || c == '[' || c == '{') return 1;
    if (c == '"') return count_quotes(out, n) % 2 == 1;
    return ends_with(out, n, "\u201C") || ends_with(out, n, "\u2018") ||
           ends_with(out, n, "\u00AB");
}

/* words: does token tok need a space after the text out[0..n)? */
static int needs_space(const char *out, size_t n, const char *tok)
{
    if (n == 0) return 0;
    char prev = out[n - 1];
    if (prev == ' ' || prev == '\n' || prev == '\t') return 0;
    if (prev == '-' || strcmp(tok, "-") == 0) return 0;   /* a hyphen joins */
    if (strcmp(tok, "\"") == 0) return count_quotes(out, n) % 2 == 0;   /* opens: space */
    if (is_closing(tok)) return 0;
    return !ends_opening(out, n);
}

size_t tokenizer_decode(const Tokenizer *t, int id, char *out, size_t cap)
{
    return tokenizer_decode_n(t, id, out, strlen(out), cap);
}

size_t tokenizer_decode_n(const Tokenizer *t, int id, char *out, size_t n, size_t cap)
{
    size_t len;
    const char *tok = tokenizer_token(t, id, &len);
    if (t->kind == TOK_BYTES && tok[0] == '\0') return 0;   /* byte 0 ends a C string */
    size_t space = t->kind == TOK_WORDS && needs_space(out, n, tok);
    if (n + space + len + 1 > cap) return 0;
    if (space) out[n++] = ' ';
    memcpy(out + n, tok, len);
    out[n + len] = '\0';
    return space + len;
}
