/*
 * cmd_eval.c — `seqlab eval` (score a text) and `seqlab sample` (generate),
 * both from a checkpoint and the tokenizer stored in its metadata.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_rng.h>

#include "checkpoint.h"
#include "commands.h"
#include "data.h"
#include "evaluate.h"
#include "sample.h"
#include "tokenizer.h"
#include "registry.h"
#include "util.h"

#define EVAL_MAX_BATCH 32

/* the tokenizer a checkpoint was trained with (metadata keys tokenizer,
 * vocab), every id of it a row of the model's embedding */
static Tokenizer *checkpoint_tokenizer(const char *path, const Meta *meta, const Model *m)
{
    char err[1024];
    Tokenizer *t = tokenizer_from_metadata(meta_get(meta, "tokenizer"), meta_get(meta, "vocab"), m->cfg.vocab_size,
                                           path, err, sizeof err);
    if (!t) die("%s", err);
    return t;
}

static Model *load_checkpoint(const char *path, Meta *meta)
{
    char err[2048];
    meta_init(meta);
    Model *m = checkpoint_load_model(path, meta, err, sizeof err);
    if (!m) die("%s", err);
    return m;
}

/* `eval --labelled`: each example of a label<TAB>text file scored on its
 * own (a batch of one, no padding), its text cut to the first seq_len
 * tokens; loss = mean cross-entropy over the examples */
static void eval_labelled(const char *ckpt, Model *m, const Meta *meta, const char *path,
                          int seq_len, int json)
{
    const char *labels_json = meta_get(meta, "labels");
    if (!m->cfg.classify || !labels_json)
        die("%s: not a sequence classifier (no labels in its metadata); --labelled needs one", ckpt);
    if (!meta_get(meta, "tokenizer")) die("%s: the model reads no text (no tokenizer in its metadata)", ckpt);
    Tokenizer *tok = checkpoint_tokenizer(ckpt, meta, m);
    cJSON *labels = cJSON_Parse(labels_json);
    int K = cJSON_GetArraySize(labels);
    const char **names = xcalloc((size_t)K, sizeof *names);
    for (int k = 0; k < K; k++) {
        const cJSON *e = cJSON_GetArrayItem(labels, k);
        if (!cJSON_IsString(e)) die("%s: metadata labels entry %d is not a string", ckpt, k);
        names[k] = e->valuestring;
    }
    char err[1024];
    LabelledFile *f = labelled_read(path, err, sizeof err);
    if (!f) die("%s", err);
    model_alloc_acts(m, 1, seq_len);
    double loss, acc;
    if (evaluate_labelled(m, tok, names, K, f, seq_len, &loss, &acc, err, sizeof err) != 0) die("%s", err);
    if (json)
        printf("{\"loss\": %.9g, \"accuracy\": %.9g, \"examples\": %ld}\n", loss, acc, f->n);
    else
        printf("%s on %s: loss %.6f nats/example, accuracy %.4f, %ld examples\n", ckpt, path, loss, acc, f->n);
    free(names);
    labelled_free(f);
    cJSON_Delete(labels);
    tokenizer_free(tok);
}

int cmd_eval(int argc, char **argv)
{
    const char *ckpt = NULL, *text_path = NULL, *labelled = NULL, *pairs_path = NULL;
    int json = 0, seq_len = 0;
    for (int i = 1; i < argc; i++) {
        if (opt_is(argv[i], "--help") || strcmp(argv[i], "-h") == 0) {
            printf("usage: seqlab eval --checkpoint FILE --text FILE [--seq-len T] [--json]\n"
                   "       seqlab eval --checkpoint FILE --pairs FILE [--json]\n"
                   "       seqlab eval --checkpoint FILE --labelled FILE [--seq-len T] [--json]\n"
                   "\n"
                   "Score a text: windows x[iT .. iT+T) predict x[iT+1 .. iT+T+1) for i = 0, 1, ...\n"
                   "while iT+T+1 <= N, state reset at each window; loss = mean cross-entropy (nats)\n"
                   "over all predicted tokens.  T is the checkpoint's seq_len unless --seq-len says\n"
                   "otherwise.  --json prints {\"loss\": ..., \"perplexity\": ..., \"tokens\": ...}.\n"
                   "\n"
                   "With --labelled (a classifier's checkpoint): each line label<TAB>text of FILE is\n"
                   "scored on its own, its text cut to the first T tokens; loss = mean cross-entropy\n"
                   "over the examples; a label the checkpoint does not know is an error naming the\n"
                   "line.  --json prints {\"loss\": ..., \"accuracy\": ..., \"examples\": ...}.\n"
                   "\n"
                   "With --pairs (an encoder-decoder checkpoint), score source<TAB>target lines: each\n"
                   "pair alone, teacher-forced; loss = the sum of the cross-entropies of every target\n"
                   "token and <eos> over their number; --json adds \"pairs\".\n");
            return 0;
        } else if (opt_is(argv[i], "--checkpoint")) ckpt = opt_value(argc, argv, &i);
        else if (opt_is(argv[i], "--text")) text_path = opt_value(argc, argv, &i);
        else if (opt_is(argv[i], "--labelled")) labelled = opt_value(argc, argv, &i);
        else if (opt_is(argv[i], "--pairs")) pairs_path = opt_value(argc, argv, &i);
        else if (opt_is(argv[i], "--seq-len")) seq_len = (int)opt_long("--seq-len", opt_value(argc, argv, &i), 1, 1000000);
        else if (opt_is(argv[i], "--json")) json = 1;
        else die("eval: unknown option '%s' (see `seqlab eval --help`)", argv[i]);
    }
    if (!ckpt) die("eval: --checkpoint FILE is required");
    if ((text_path != NULL) + (labelled != NULL) + (pairs_path != NULL) != 1)
        die("eval: give one of --text FILE, --labelled FILE and --pairs FILE");
    if (pairs_path) return cmd_eval_pairs(ckpt, pairs_path, json);
    Meta meta;
    Model *m = load_checkpoint(ckpt, &meta);
    if (m->cfg.vocab_size == 0) die("%s: eval scores text, but this model reads real-valued features", ckpt);
    if (seq_len == 0) {
        const char *sl = meta_get(&meta, "seq_len");
        if (!sl) die("%s: metadata has no seq_len; give --seq-len", ckpt);
        seq_len = atoi(sl);
        if (seq_len < 1) die("%s: metadata seq_len '%s' is not a positive integer", ckpt, sl);
    }
    if (model_info_find(m->cfg.kind)->position_table && seq_len > m->cfg.max_seq_len &&
        m->cfg.positions == POSITIONS_LEARNED)
        die("--seq-len %d is longer than the checkpoint's max_seq_len %d", seq_len, m->cfg.max_seq_len);
    if (labelled) {
        eval_labelled(ckpt, m, &meta, labelled, seq_len, json);
        meta_free(&meta);
        model_free(m);
        return 0;
    }
    if (m->cfg.classify) die("%s: a sequence classifier scores labelled examples: use --labelled FILE", ckpt);
    Tokenizer *tok = checkpoint_tokenizer(ckpt, &meta, m);
    size_t len;
    char *text = file_read_all(text_path, &len);
    if (!text) die("cannot read text '%s': %s", text_path, strerror(errno));
    char err[1024];
    long n = tokenizer_encode(tok, text, len, NULL, 0, err, sizeof err);
    if (n < 0) die("%s: %s", text_path, err);
    if (n < seq_len + 1)
        die("%s: %ld tokens is shorter than one window of seq_len %d plus its next token", text_path, n, seq_len);
    int *ids = xmalloc((size_t)n * sizeof(int));
    tokenizer_encode(tok, text, len, ids, (size_t)n, err, sizeof err);
    long windows = (n - 1) / seq_len;
    model_alloc_acts(m, windows < EVAL_MAX_BATCH ? (int)windows : EVAL_MAX_BATCH, seq_len);
    long tokens = 0;
    double loss = evaluate_windows(m, ids, n, seq_len, &tokens);
    if (json)
        printf("{\"loss\": %.9g, \"perplexity\": %.9g, \"tokens\": %ld}\n", loss, exp(loss), tokens);
    else
        printf("%s on %s: loss %.6f nats/token, perplexity %.4f, %ld tokens scored\n", ckpt, text_path, loss,
               exp(loss), tokens);
    free(ids);
    free(text);
    tokenizer_free(tok);
    meta_free(&meta);
    model_free(m);
    return 0;
}

int cmd_sample(int argc, char **argv)
{
    const char *ckpt = NULL, *prompt = "\n";
    long ntok = 200, top_k = 0;
    double temperature = 0.8;
    unsigned long seed = 1;
    for (int i = 1; i < argc; i++) {
        if (opt_is(argv[i], "--help") || strcmp(argv[i], "-h") == 0) {
            printf("usage: seqlab sample --checkpoint FILE [--prompt TEXT] [--tokens N] [--temperature T]\n"
                   "                     [--top-k K] [--seed S]\n"
                   "\n"
                   "Generate text one token at a time, feeding the model its own output.\n"
                   "  --prompt TEXT       the text to continue [a newline]\n"
                   "  --tokens N          tokens to generate [200]\n"
                   "  --temperature T     divide logits by T; 0 = always the most likely token [0.8]\n"
                   "  --top-k K           sample only among the K most likely tokens; 0 = all [0]\n"
                   "  --seed S            random seed [1]\n");
            return 0;
        } else if (opt_is(argv[i], "--checkpoint")) ckpt = opt_value(argc, argv, &i);
        else if (opt_is(argv[i], "--prompt")) prompt = opt_value(argc, argv, &i);
        else if (opt_is(argv[i], "--tokens")) ntok = opt_long("--tokens", opt_value(argc, argv, &i), 1, 10000000);
        else if (opt_is(argv[i], "--top-k")) top_k = opt_long("--top-k", opt_value(argc, argv, &i), 0, 10000000);
        else if (opt_is(argv[i], "--seed")) seed = (unsigned long)opt_long("--seed", opt_value(argc, argv, &i), 0, 4294967295L);
        else if (opt_is(argv[i], "--temperature"))
            temperature = opt_double("--temperature", opt_value(argc, argv, &i), 0, 100);
        else die("sample: unknown option '%s' (see `seqlab sample --help`)", argv[i]);
    }
    if (!ckpt) die("sample: --checkpoint FILE is required");
    Meta meta;
    Model *m = load_checkpoint(ckpt, &meta);
    if (m->cfg.vocab_size == 0 || m->cfg.regression)
        die("%s: this model was trained on a task without text (%s); there is nothing to sample", ckpt,
            meta_get(&meta, "task") ? meta_get(&meta, "task") : "features");
    Tokenizer *tok = checkpoint_tokenizer(ckpt, &meta, m);
    char err[1024];
    long np = tokenizer_encode(tok, prompt, strlen(prompt), NULL, 0, err, sizeof err);
    if (np < 0) die("--prompt: %s", err);
    if (np == 0) die("--prompt: the prompt has no tokens");
    int *ids = xmalloc((size_t)np * sizeof(int));
    tokenizer_encode(tok, prompt, strlen(prompt), ids, (size_t)np, err, sizeof err);
    /* a recurrent model carries one state; the Transformer's key/value cache
     * the context it can hold, but no more than this generation uses (the
     * metadata's max_seq_len may be huge) */
    long used = np + ntok;
    int T = model_info_find(m->cfg.kind)->recurrent ? 1
          : used < m->cfg.max_seq_len ? (int)used : m->cfg.max_seq_len;
    model_alloc_acts(m, 1, T);
    int *gen = xmalloc((size_t)ntok * sizeof(int));
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, seed);
    sample_generate(m, ids, (int)np, gen, (int)ntok, temperature, (int)top_k, rng);
    char *text = sample_decode(tok, prompt, gen, (int)ntok);
    puts(text);
    free(text);
    gsl_rng_free(rng);
    free(gen);
    free(ids);
    tokenizer_free(tok);
    meta_free(&meta);
    model_free(m);
    return 0;
}
