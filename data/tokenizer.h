/*
 * tokenizer.h — text <-> token ids, three ways.
 *
 *   bytes   V = 256, the id of a byte is its value.  Any file encodes.
 *   chars   one id per distinct UTF-8 code point of the training text, ids in
 *           code-point order.  Text must be valid UTF-8 (no NUL).
 *   words   lower-cased words (runs of letters, digits and apostrophes; any
 *           non-ASCII letter counts as a letter) and single punctuation
 *           characters; whitespace is dropped.  The K most frequent tokens
 *           (ties broken by byte order of the strings) plus "<unk>" as id 0,
 *           so V = min(distinct, K) + 1.  Unknown words encode as <unk>; the
 *           literal text "<unk>" encodes as <unk> too, so decoded text
 *           re-encodes to the same ids.
 *
 * Round trips: for bytes and chars decode(encode(text)) == text exactly; for
 * words encode(decode(encode(text))) == encode(text) (case, spacing and
 * unknown words are not restored).
 *
 * What this file is not: a subword (BPE) tokenizer, or Unicode-aware case
 * folding (only ASCII letters are lower-cased).
 */
#ifndef SEQLAB_TOKENIZER_H
#define SEQLAB_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

typedef enum { TOK_BYTES, TOK_CHARS, TOK_WORDS } TokKind;

/* the id of "<unk>" in a words vocabulary */
#define TOKENIZER_UNK_ID 0
#define TOKENIZER_UNK "<unk>"

typedef struct Tokenizer {
    TokKind kind;
    int vocab_size;          /* V */
    char **vocab;            /* (V) token strings, id order; NULL for bytes */
    /* lookup tables (private to tokenizer.c) */
    uint32_t *cp_sorted;     /* chars: (V) code points, ascending */
    int *cp_ids;             /* chars: (V) the id of cp_sorted[i] */
    int ascii_ids[128];      /* chars: id of each ASCII code point, or TOKENIZER_NO_ID */
    int *word_slots;         /* words: open-addressing hash table of ids, (word_mask + 1) */
    size_t word_mask;
} Tokenizer;

/* ascii_ids / word_slots entry with no token */
#define TOKENIZER_NO_ID (-1)

/* Build from training text.  vocab_limit is K for words (0 keeps every
 * word; negative is an error) and ignored otherwise.  NULL with a message in
 * err (e.g. "invalid UTF-8 at byte offset 17") on failure. */
Tokenizer *tokenizer_build(TokKind kind, const char *text, size_t len, int vocab_limit,
                           char *err, size_t errlen);

/* Rebuild from a checkpoint's vocabulary (id order).  bytes: V must be 256
 * and vocab may be NULL.  chars: every entry one UTF-8 code point, distinct.
 * words: entry 0 is "<unk>", entries distinct and non-empty. */
Tokenizer *tokenizer_from_vocab(TokKind kind, int V, const char *const *vocab,
                                char *err, size_t errlen);

/* The tokenizer a checkpoint's metadata names: kind_name ("bytes", "chars"
 * or "words"; NULL means bytes) and vocab_json (its tokens as a JSON array
 * in id order; chars and words).  Every id it can produce must be a row of
 * the model's embedding, so a vocabulary larger than model_vocab (a
 * synthetic-task model has no text tokenizer; a vocab array that disagrees
 * with vocab_size) is refused.  NULL with a message naming source. */
Tokenizer *tokenizer_from_metadata(const char *kind_name, const char *vocab_json, int model_vocab,
                                   const char *source, char *err, size_t errlen);

void tokenizer_free(Tokenizer *t);

/* "bytes" / "chars" / "words" <-> TokKind; parse returns 0, or -1 if the
 * name is none of these */
int tokenizer_kind_parse(const char *name, TokKind *kind);
const char *tokenizer_kind_name(TokKind kind);

/* Encode text[0..len) into ids (at most cap of them; ids == NULL just
 * counts).  Returns the number of tokens of the whole text (which may exceed
 * cap: then only the first cap were written), or -1 with a message in err:
 * invalid UTF-8 (chars, words) or a character not in the vocabulary (chars),
 * naming the byte offset. */
long tokenizer_encode(const Tokenizer *t, const char *text, size_t len, int *ids, size_t cap,
                      char *err, size_t errlen);

/* Append the text of token `id` to the NUL-terminated string out (capacity
 * cap bytes, including the NUL; start with out[0] = '\0').  For words the
 * text already in out decides the spacing: a space goes before a word
 * unless it is the first or follows an opening quote or bracket, and no
 * space goes before closing punctuation such as , . ; : ? ! ) or around a
 * hyphen.  Returns the number of bytes appended; 0 if it would not fit
 * (out unchanged) or the token is byte 0, which a C string cannot hold. */
size_t tokenizer_decode(const Tokenizer *t, int id, char *out, size_t cap);
/* the same when out's length n (strlen(out)) is known: decoding a long
 * sequence token by token stays linear in its length */
size_t tokenizer_decode_n(const Tokenizer *t, int id, char *out, size_t n, size_t cap);

/* The raw text of token id (no spacing): a pointer valid while t lives,
 * and its length in *len (bytes: one byte, also for byte 0). */
const char *tokenizer_token(const Tokenizer *t, int id, size_t *len);

/* How many tokens text[0..len) splits into, independent of any vocabulary
 * (bytes: len; chars: code points; words: words and punctuation), and in
 * *offset_k (if not NULL) the byte offset where token k starts (len if k is
 * past the end).  -1 with a message on invalid UTF-8 (chars, words).  The
 * corpus loader uses it to split a words corpus before building the
 * vocabulary from the training part. */
long tokenizer_count(TokKind kind, const char *text, size_t len, long k, size_t *offset_k,
                     char *err, size_t errlen);

/* The byte offset of the first invalid UTF-8 sequence in s[0..len) (overlong
 * forms, surrogates and code points above U+10FFFF are invalid), or len if
 * it is all valid. */
size_t utf8_validate(const char *s, size_t len);

#endif
