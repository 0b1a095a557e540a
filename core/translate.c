/*
 * translate.c — how good is a translation?  Three measures of an
 * encoder–decoder on pairs:
 *
 *   loss         sum over [y_1 .. y_n, <eos>] of -log p(y_t | y_<t, x), each
 *                pair alone (teacher forcing: the decoder reads the reference)
 *   exact match  the decoded output equals the reference, token for token
 *   BLEU         corpus BLEU-4 over words (bleu.c)
 *
 * and the last two per bucket of source length: the figure where the
 * recurrent encoder–decoder without attention falls as sentences grow
 * (Bahdanau et al. 2015, Fig. 2).
 *
 * What this file is not: the search (decode.c) or the data (data/pairs.c).
 */
#define _POSIX_C_SOURCE 200809L  /* open_memstream */
#include "translate.h"

#include <assert.h>
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"
#include "decode.h"
#include "pairs.h"
#include "util.h"

void translate_score_init(TranslateScore *s)
{
    memset(s, 0, sizeof *s);
    bleu_init(&s->bleu);
}

char *translate_text(const Tokenizer *t, const int *ids, int n)
{
    size_t cap = 16;
    for (int i = 0; i < n; i++) {
        size_t len;
        tokenizer_token(t, ids[i], &len);
        cap += len + 1;
    }
    char *out = xmalloc(cap);
    out[0] = '\0';
    for (int i = 0; i < n; i++) tokenizer_decode(t, ids[i], out, cap);
    return out;
}

/* the marker of a reference word the vocabulary lacks: matches no output word */
#define REF_UNKNOWN "\x01<unk in reference>"

/* the words BLEU compares: *words (n) point into *store (both malloc'ed) */
static int target_words(const Tokenizer *t, const int *ids, int n, int is_ref, char ***words,
                        char **store)
{
    if (t->kind == TOK_WORDS) {
        *store = NULL;
        *words = xmalloc((size_t)(n > 0 ? n : 1) * sizeof(char *));
        for (int i = 0; i < n; i++) {
            size_t len;
            (*words)[i] = is_ref && ids[i] == TOKENIZER_UNK_ID ? REF_UNKNOWN
                                                              : (char *)tokenizer_token(t, ids[i], &len);
        }
        return n;
    }
    /* chars, bytes: the decoded text split at whitespace */
    char *text = translate_text(t, ids, n);
    size_t len = strlen(text);
    *words = xmalloc((len / 2 + 1) * sizeof(char *));
    int nw = 0;
    for (char *p = text; *p;) {
        while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') *p++ = '\0';
        if (!*p) break;
        (*words)[nw++] = p;
        while (*p && *p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') p++;
    }
    *store = text;
    return nw;
}

void translate_score_add(TranslateScore *s, const Tokenizer *tgt, const int *hyp, int nh,
                         const int *ref, int nr)
{
    s->pairs++;
    if (nh == nr && memcmp(hyp, ref, (size_t)nh * sizeof(int)) == 0) s->exact++;
    char **hw, **rw, *hs, *rs;
    int nhw = target_words(tgt, hyp, nh, 0, &hw, &hs);
    int nrw = target_words(tgt, ref, nr, 1, &rw, &rs);
    bleu_add(&s->bleu, (const char *const *)hw, nhw, (const char *const *)rw, nrw);
    free(hw);
    free(rw);
    free(hs);
    free(rs);
}

double translate_exact_match(const TranslateScore *s)
{
    return s->pairs ? (double)s->exact / (double)s->pairs : 0;
}

double translate_bleu(const TranslateScore *s)
{
    return bleu_score(&s->bleu);
}

double translate_pair_loss(Model *m, Batch *b, const int *src, int ns, const int *tgt, int nt)
{
    int V_t = m->cfg.output_size - 2, T = nt + 1;
    assert(ns <= m->Smax && T <= m->Tmax);
    b->B = 1;
    b->S = ns;
    b->T = T;
    memcpy(b->src_tokens, src, (size_t)ns * sizeof(int));
    b->src_lengths[0] = ns;
    /* the decoder reads [<bos>, y_1 .. y_n] and predicts [y_1 .. y_n, <eos>] */
    for (int t = 0; t < T; t++) {
        b->tokens[t] = t == 0 ? pairs_bos(V_t) : tgt[t - 1];
        b->targets[t] = t < nt ? tgt[t] : pairs_eos(V_t);
    }
    b->lengths[0] = T;
    return model_forward(m, b) * m->count;
}

void translate_split(Model *m, const Task *task, Split split, int B, int N,
                     TranslateScore *all, TranslateScore bucket[TRANSLATE_BUCKETS],
                     int lo[TRANSLATE_BUCKETS], int hi[TRANSLATE_BUCKETS], FILE *samples,
                     int nsamples)
{
    long n = task_pairs_count(task, split);
    int Smax = task->src_seq_len, width = (Smax + TRANSLATE_BUCKETS - 1) / TRANSLATE_BUCKETS;
    for (int k = 0; k < TRANSLATE_BUCKETS; k++) {
        lo[k] = 1 + k * width;
        hi[k] = (k + 1) * width;
        translate_score_init(&bucket[k]);
    }
    translate_score_init(all);
    int *src = xmalloc((size_t)B * Smax * sizeof(int)), *len = xmalloc((size_t)B * sizeof(int));
    int *out = xmalloc((size_t)B * N * sizeof(int)), *out_len = xmalloc((size_t)B * sizeof(int));
    for (long i0 = 0; i0 < n; i0 += B) {
        int rows = n - i0 < B ? (int)(n - i0) : B, S = 1;
        PairIds p;
        for (int r = 0; r < rows; r++) {
            task_pair(task, split, i0 + r, &p);
            if (p.src_len > S) S = p.src_len;
        }
        for (int r = 0; r < rows; r++) {
            task_pair(task, split, i0 + r, &p);
            for (int s = 0; s < S; s++) src[(size_t)r * S + s] = s < p.src_len ? p.src[s] : 0;
            len[r] = p.src_len;
        }
        decode_greedy(m, src, len, rows, S, N, out, out_len, NULL);
        for (int r = 0; r < rows; r++) {
            task_pair(task, split, i0 + r, &p);
            const int *hyp = out + (size_t)r * N;
            translate_score_add(all, task->tgt_tok, hyp, out_len[r], p.tgt, p.tgt_len);
            int k = (p.src_len - 1) / width;
            if (k >= TRANSLATE_BUCKETS) k = TRANSLATE_BUCKETS - 1;
            translate_score_add(&bucket[k], task->tgt_tok, hyp, out_len[r], p.tgt, p.tgt_len);
            if (samples && i0 + r < nsamples) {
                char *a = translate_text(task->src_tok, p.src, p.src_len);
                char *b = translate_text(task->tgt_tok, p.tgt, p.tgt_len);
                char *c = translate_text(task->tgt_tok, hyp, out_len[r]);
                fprintf(samples, "%s\t%s\t%s\n", a, b, c);
                free(a);
                free(b);
                free(c);
            }
        }
    }
    free(src);
    free(len);
    free(out);
    free(out_len);
}

/* sample translations written to translations.txt */
#define TRANSLATE_SAMPLES 12

int translate_write_scores(Model *m, const Task *task, int B, const char *dir,
                           TranslateResults *res, char *err, size_t errlen)
{
    int N = task->seq_len - 1;
    const Split splits[2] = {SPLIT_VALID, SPLIT_TEST};
    const char *names[2] = {"valid", "test"};
    char *csv = NULL, *samples = NULL;
    size_t csv_len = 0, samples_len = 0;
    FILE *f = open_memstream(&csv, &csv_len), *sf = open_memstream(&samples, &samples_len);
    fprintf(f, "split,bucket_lo,bucket_hi,pairs,exact_match,bleu\n");
    fprintf(sf, "source\treference\toutput\n");
    for (int k = 0; k < 2; k++) {
        TranslateScore all, bucket[TRANSLATE_BUCKETS];
        int lo[TRANSLATE_BUCKETS], hi[TRANSLATE_BUCKETS];
        translate_split(m, task, splits[k], B, N, &all, bucket, lo, hi,
                        splits[k] == SPLIT_TEST ? sf : NULL, TRANSLATE_SAMPLES);
        double em = translate_exact_match(&all), bl = translate_bleu(&all);
        if (k == 0) {
            res->val_exact_match = em;
            res->val_bleu = bl;
        } else {
            res->test_exact_match = em;
            res->test_bleu = bl;
        }
        fprintf(f, "%s,1,%d,%ld,%.6g,%.6g\n", names[k], task->src_seq_len, all.pairs, em, bl);
        for (int b = 0; b < TRANSLATE_BUCKETS; b++)
            if (bucket[b].pairs > 0)
                fprintf(f, "%s,%d,%d,%ld,%.6g,%.6g\n", names[k], lo[b], hi[b], bucket[b].pairs,
                        translate_exact_match(&bucket[b]), translate_bleu(&bucket[b]));
    }
    fclose(f);
    fclose(sf);
    char path[4096];
    snprintf(path, sizeof path, "%s/translation.csv", dir);
    int rc = file_write_atomic(path, csv, csv_len, err, errlen);
    snprintf(path, sizeof path, "%s/translations.txt", dir);
    if (rc == 0) rc = file_write_atomic(path, samples, samples_len, err, errlen);
    free(csv);
    free(samples);
    return rc;
}

/* ======================= checkpoint metadata ============================== */

/* key = the JSON array of t's token strings (chars and words) */
static void meta_set_vocab(Meta *meta, const char *key, const Tokenizer *t)
{
    if (!t->vocab) return;
    cJSON *arr = cJSON_CreateArray();
    for (int i = 0; i < t->vocab_size; i++) cJSON_AddItemToArray(arr, cJSON_CreateString(t->vocab[i]));
    char *js = cJSON_PrintUnformatted(arr);
    meta_set(meta, key, js);
    free(js);
    cJSON_Delete(arr);
}

void pairs_meta(const Task *task, Meta *meta)
{
    char v[32];
    meta_set(meta, "tokenizer", tokenizer_kind_name(task->src_tok->kind));
    snprintf(v, sizeof v, "%d", task->src_tok->vocab_size);
    meta_set(meta, "src_vocab_size", v);
    snprintf(v, sizeof v, "%d", task->tgt_tok->vocab_size + 2);
    meta_set(meta, "tgt_vocab_size", v);
    meta_set_vocab(meta, "src_vocab", task->src_tok);
    meta_set_vocab(meta, "tgt_vocab", task->tgt_tok);
    snprintf(v, sizeof v, "%d", task->src_seq_len);
    meta_set(meta, "max_src_len", v);
    snprintf(v, sizeof v, "%d", task->seq_len - 1);
    meta_set(meta, "max_tgt_len", v);
}

/* one side's tokenizer from the metadata: kind, and vocab_key for chars and words */
static Tokenizer *side_tokenizer(const char *ckpt, const Meta *meta, const char *vocab_key,
                                 char *err, size_t errlen)
{
    const char *kind_name = meta_get(meta, "tokenizer");
    TokKind kind;
    if (!kind_name || tokenizer_kind_parse(kind_name, &kind) != 0) {
        snprintf(err, errlen, "%s: metadata 'tokenizer' is %s%s%s (expected bytes, chars or words)",
                 ckpt, kind_name ? "'" : "missing", kind_name ? kind_name : "", kind_name ? "'" : "");
        return NULL;
    }
    if (kind == TOK_BYTES) return tokenizer_from_vocab(kind, 256, NULL, err, errlen);
    const char *vocab = meta_get(meta, vocab_key);
    cJSON *arr = vocab ? cJSON_Parse(vocab) : NULL;
    if (!cJSON_IsArray(arr)) {
        snprintf(err, errlen, "%s: metadata '%s' is missing or not a JSON array", ckpt, vocab_key);
        cJSON_Delete(arr);
        return NULL;
    }
    int V = cJSON_GetArraySize(arr);
    const char **strs = xcalloc((size_t)V + 1, sizeof *strs);
    for (int i = 0; i < V; i++) {
        cJSON *it = cJSON_GetArrayItem(arr, i);
        strs[i] = cJSON_IsString(it) ? it->valuestring : "";
    }
    char e2[256];
    Tokenizer *t = tokenizer_from_vocab(kind, V, strs, e2, sizeof e2);
    if (!t) snprintf(err, errlen, "%s: metadata '%s': %s", ckpt, vocab_key, e2);
    free(strs);
    cJSON_Delete(arr);
    return t;
}

int pairs_tokenizers_from_meta(const char *ckpt, const Meta *meta, Tokenizer **src,
                               Tokenizer **tgt, char *err, size_t errlen)
{
    *src = side_tokenizer(ckpt, meta, "src_vocab", err, errlen);
    *tgt = *src ? side_tokenizer(ckpt, meta, "tgt_vocab", err, errlen) : NULL;
    if (*src && *tgt) return 0;
    tokenizer_free(*src);
    *src = NULL;
    return -1;
}
