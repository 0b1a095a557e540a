/*
 * cmd_translate.c — `seqlab translate` (decode sources with an
 * encoder–decoder checkpoint; with --pairs also exact match and BLEU) and
 * `seqlab eval --pairs` (the teacher-forced loss of pairs).
 */
#define _POSIX_C_SOURCE 200809L
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"
#include "commands.h"
#include "decode.h"
#include "pairs.h"
#include "translate.h"
#include "util.h"

/* greedy decoding runs this many sources at once */
#define TRANSLATE_BATCH 32

/* an encoder-decoder checkpoint and its two tokenizers, or die naming it */
static Model *load_encdec(const char *ckpt, const char *cmd, Meta *meta, Tokenizer **src_tok,
                          Tokenizer **tgt_tok)
{
    char err[2048];
    meta_init(meta);
    Model *m = checkpoint_load_model(ckpt, meta, err, sizeof err);
    if (!m) die("%s", err);
    if (m->cfg.architecture != ARCH_ENCODER_DECODER) {
        const char *a = meta_get(meta, "architecture");
        die("%s: %s needs an encoder-decoder checkpoint; this one's architecture is %s", ckpt, cmd,
            a ? a : "decoder (no 'architecture' key)");
    }
    if (pairs_tokenizers_from_meta(ckpt, meta, src_tok, tgt_tok, err, sizeof err) != 0) die("%s", err);
    return m;
}

/* the longest sequence the model can read: a learned position table's rows */
static int position_limit(const Model *m)
{
    int k = params_find(&m->params, "src_pos.weight");
    return k >= 0 ? m->params.views[k].shape[0] : 1 << 30;
}

/* the sources to translate (and references with --pairs), tokenised */
typedef struct Inputs {
    long n;
    int **src, *src_len;        /* (n) */
    int **ref, *ref_len;        /* (n), with --pairs */
    long *line;                 /* (n) line in the file, 0 for --text */
    const char *file;           /* for messages */
    int longest_src, longest_ref;
} Inputs;

static int *encode_or_die(const Tokenizer *t, const char *text, const char *file, long line,
                          const char *side, int *n_out)
{
    char err[512];
    long n = tokenizer_encode(t, text, strlen(text), NULL, 0, err, sizeof err);
    if (n < 0) {
        if (line > 0) die("%s:%ld: %s: %s", file, line, side, err);
        die("%s: %s: %s", file, side, err);
    }
    if (n == 0) {
        if (line > 0) die("%s:%ld: the %s has no tokens", file, line, side);
        die("%s: the %s has no tokens", file, side);
    }
    int *ids = xmalloc((size_t)n * sizeof(int));
    tokenizer_encode(t, text, strlen(text), ids, (size_t)n, err, sizeof err);
    *n_out = (int)n;
    return ids;
}

static void inputs_add(Inputs *in, const Tokenizer *src_tok, const Tokenizer *tgt_tok,
                       const char *src, const char *ref, long line)
{
    long i = in->n++;
    in->src = xrealloc(in->src, (size_t)in->n * sizeof *in->src);
    in->src_len = xrealloc(in->src_len, (size_t)in->n * sizeof(int));
    in->ref = xrealloc(in->ref, (size_t)in->n * sizeof *in->ref);
    in->ref_len = xrealloc(in->ref_len, (size_t)in->n * sizeof(int));
    in->line = xrealloc(in->line, (size_t)in->n * sizeof(long));
    in->src[i] = encode_or_die(src_tok, src, in->file, line, "source", &in->src_len[i]);
    in->ref[i] = NULL;
    in->ref_len[i] = 0;
    if (ref) in->ref[i] = encode_or_die(tgt_tok, ref, in->file, line, "target", &in->ref_len[i]);
    in->line[i] = line;
    if (in->src_len[i] > in->longest_src) in->longest_src = in->src_len[i];
    if (in->ref_len[i] > in->longest_ref) in->longest_ref = in->ref_len[i];
}

static void inputs_free(Inputs *in)
{
    for (long i = 0; i < in->n; i++) {
        free(in->src[i]);
        free(in->ref[i]);
    }
    free(in->src);
    free(in->src_len);
    free(in->ref);
    free(in->ref_len);
    free(in->line);
}

/* --pairs FILE: each line's source and target */
static void inputs_from_pairs(Inputs *in, const char *path, const Tokenizer *s, const Tokenizer *t)
{
    TextPair *tp;
    long n;
    char err[1024];
    if (pairs_read(path, &tp, &n, err, sizeof err) != 0) die("%s", err);
    in->file = path;
    for (long i = 0; i < n; i++) inputs_add(in, s, t, tp[i].src, tp[i].tgt, tp[i].line);
    pairs_free_text(tp, n);
}

/* --input FILE: one source a line */
static void inputs_from_lines(Inputs *in, const char *path, const Tokenizer *s)
{
    size_t len;
    char *text = file_read_all(path, &len);
    if (!text) die("%s: cannot read: %s", path, strerror(errno));
    in->file = path;
    long line = 0;
    for (char *p = text; p < text + len;) {
        char *end = memchr(p, '\n', (size_t)(text + len - p));
        if (!end) end = text + len;
        line++;
        *end = '\0';
        if (end > p && end[-1] == '\r') end[-1] = '\0';
        inputs_add(in, s, NULL, p, NULL, line);
        p = end + 1;
    }
    free(text);
}

static void check_limit(const Inputs *in, int limit, const char *ckpt)
{
    for (long i = 0; i < in->n; i++) {
        const char *side = in->src_len[i] > limit ? "source" : in->ref_len[i] + 1 > limit ? "target" : NULL;
        if (!side) continue;
        if (in->line[i] > 0)
            die("%s:%ld: the %s has %d tokens, more than the position table of %s (max_seq_len %d)",
                in->file, in->line[i], side, side[0] == 's' ? in->src_len[i] : in->ref_len[i] + 1, ckpt, limit);
        die("%s: the %s has more tokens than the position table of %s (max_seq_len %d)", in->file, side,
            ckpt, limit);
    }
}

int cmd_translate(int argc, char **argv)
{
    const char *ckpt = NULL, *text = NULL, *input = NULL, *pairs = NULL;
    int json = 0, beam = 1, max_len = 0;
    for (int i = 1; i < argc; i++) {
        if (opt_is(argv[i], "--help") || strcmp(argv[i], "-h") == 0) {
            printf("usage: seqlab translate --checkpoint FILE (--text TEXT | --input FILE | --pairs FILE)\n"
                   "                        [--beam K] [--max-len N] [--json]\n"
                   "\n"
                   "Decode with an encoder-decoder checkpoint; one output a line.\n"
                   "  --text TEXT    one source\n"
                   "  --input FILE   one source a line\n"
                   "  --pairs FILE   source<TAB>target lines: also scores the outputs against the\n"
                   "                 targets, exact match and corpus BLEU-4 (NLTK's corpus_bleu x 100)\n"
                   "  --beam K       beam search with K beams; 1 = greedy decoding [1]\n"
                   "  --max-len N    at most N target tokens [the longest target in training]\n"
                   "  --json         print {\"outputs\": [...], \"bleu\": ..., \"exact_match\": ..., \"pairs\": ...}\n");
            return 0;
        } else if (opt_is(argv[i], "--checkpoint")) ckpt = opt_value(argc, argv, &i);
        else if (opt_is(argv[i], "--text")) text = opt_value(argc, argv, &i);
        else if (opt_is(argv[i], "--input")) input = opt_value(argc, argv, &i);
        else if (opt_is(argv[i], "--pairs")) pairs = opt_value(argc, argv, &i);
        else if (opt_is(argv[i], "--beam")) beam = (int)opt_long("--beam", opt_value(argc, argv, &i), 1, 1000);
        else if (opt_is(argv[i], "--max-len")) max_len = (int)opt_long("--max-len", opt_value(argc, argv, &i), 1, 100000);
        else if (opt_is(argv[i], "--json")) json = 1;
        else die("translate: unknown option '%s' (see `seqlab translate --help`)", argv[i]);
    }
    if (!ckpt) die("translate: --checkpoint FILE is required");
    if ((text != NULL) + (input != NULL) + (pairs != NULL) != 1)
        die("translate: give exactly one of --text, --input and --pairs");
    Meta meta;
    Tokenizer *src_tok, *tgt_tok;
    Model *m = load_encdec(ckpt, "translate", &meta, &src_tok, &tgt_tok);
    Inputs in;
    memset(&in, 0, sizeof in);
    if (pairs) inputs_from_pairs(&in, pairs, src_tok, tgt_tok);
    else if (input) inputs_from_lines(&in, input, src_tok);
    else {
        in.file = "--text";
        inputs_add(&in, src_tok, NULL, text, NULL, 0);
    }
    if (max_len == 0) {
        const char *v = meta_get(&meta, "max_tgt_len");
        max_len = v ? atoi(v) : 0;
        if (max_len <= 0) max_len = 2 * in.longest_src + 10;
    }
    int limit = position_limit(m);
    check_limit(&in, limit, ckpt);
    if (max_len + 1 > limit) max_len = limit - 1;
    int B = beam > TRANSLATE_BATCH ? beam : TRANSLATE_BATCH;
    model_alloc_acts_pairs(m, B, in.longest_src, max_len + 1);
    int *out = xmalloc((size_t)TRANSLATE_BATCH * max_len * sizeof(int));
    int *out_len = xmalloc(TRANSLATE_BATCH * sizeof(int));
    int *src = xmalloc((size_t)TRANSLATE_BATCH * in.longest_src * sizeof(int));
    int *src_len = xmalloc(TRANSLATE_BATCH * sizeof(int));
    TranslateScore score;
    translate_score_init(&score);
    cJSON *outputs = cJSON_CreateArray();
    for (long i0 = 0; i0 < in.n; i0 += TRANSLATE_BATCH) {
        int rows = in.n - i0 < TRANSLATE_BATCH ? (int)(in.n - i0) : TRANSLATE_BATCH;
        if (beam == 1) {
            int S = 1;
            for (int r = 0; r < rows; r++) if (in.src_len[i0 + r] > S) S = in.src_len[i0 + r];
            for (int r = 0; r < rows; r++) {
                for (int s = 0; s < S; s++)
                    src[(size_t)r * S + s] = s < in.src_len[i0 + r] ? in.src[i0 + r][s] : 0;
                src_len[r] = in.src_len[i0 + r];
            }
            decode_greedy(m, src, src_len, rows, S, max_len, out, out_len, NULL);
        } else {
            for (int r = 0; r < rows; r++)
                out_len[r] = decode_beam(m, in.src[i0 + r], in.src_len[i0 + r], beam, max_len,
                                         out + (size_t)r * max_len, NULL);
        }
        for (int r = 0; r < rows; r++) {
            const int *hyp = out + (size_t)r * max_len;
            char *s = translate_text(tgt_tok, hyp, out_len[r]);
            if (json) cJSON_AddItemToArray(outputs, cJSON_CreateString(s));
            else puts(s);
            free(s);
            if (pairs) translate_score_add(&score, tgt_tok, hyp, out_len[r], in.ref[i0 + r], in.ref_len[i0 + r]);
        }
    }
    if (json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddItemToObject(o, "outputs", outputs);
        if (pairs) {
            cJSON_AddNumberToObject(o, "bleu", translate_bleu(&score));
            cJSON_AddNumberToObject(o, "exact_match", translate_exact_match(&score));
            cJSON_AddNumberToObject(o, "pairs", (double)score.pairs);
        }
        char *js = cJSON_PrintUnformatted(o);
        puts(js);
        free(js);
        cJSON_Delete(o);
    } else {
        cJSON_Delete(outputs);
        if (pairs)
            fprintf(stderr, "%s on %s: BLEU %.2f, exact match %.4f, %ld pairs\n", ckpt, pairs,
                    translate_bleu(&score), translate_exact_match(&score), score.pairs);
    }
    free(out);
    free(out_len);
    free(src);
    free(src_len);
    inputs_free(&in);
    tokenizer_free(src_tok);
    tokenizer_free(tgt_tok);
    meta_free(&meta);
    model_free(m);
    return 0;
}

int cmd_eval_pairs(const char *ckpt, const char *path, int json)
{
    Meta meta;
    Tokenizer *src_tok, *tgt_tok;
    Model *m = load_encdec(ckpt, "eval --pairs", &meta, &src_tok, &tgt_tok);
    Inputs in;
    memset(&in, 0, sizeof in);
    inputs_from_pairs(&in, path, src_tok, tgt_tok);
    check_limit(&in, position_limit(m), ckpt);
    model_alloc_acts_pairs(m, 1, in.longest_src, in.longest_ref + 1);
    Batch *b = batch_alloc_pairs(1, in.longest_src, in.longest_ref + 1);
    /* each pair alone: loss = sum of every predicted token's cross-entropy,
     * <eos> included, over sum (n_i + 1) */
    double sum = 0;
    long tokens = 0;
    for (long i = 0; i < in.n; i++) {
        sum += translate_pair_loss(m, b, in.src[i], in.src_len[i], in.ref[i], in.ref_len[i]);
        tokens += in.ref_len[i] + 1;
    }
    double loss = sum / (double)tokens;
    if (json)
        printf("{\"loss\": %.9g, \"perplexity\": %.9g, \"tokens\": %ld, \"pairs\": %ld}\n", loss, exp(loss),
               tokens, in.n);
    else
        printf("%s on %s: loss %.6f nats/token, perplexity %.4f, %ld tokens in %ld pairs\n", ckpt, path,
               loss, exp(loss), tokens, in.n);
    batch_free(b);
    inputs_free(&in);
    tokenizer_free(src_tok);
    tokenizer_free(tgt_tok);
    meta_free(&meta);
    model_free(m);
    return 0;
}
