/*
 * test_labelled.c — the data and the fine-tuning of the encoder family:
 * labelled files (data/labelled.c), masked language modelling (data/mlm.c),
 * ListOps (data/listops.c), init_from / freeze_body (core/finetune.c) and
 * `eval --labelled`'s scoring (core/evaluate.c).
 *
 *   labelled   the file rules (TAB, blank lines, empty sides, \r\n, text
 *              verbatim), each error naming file and line; the fixed split
 *              and train_examples subset; padded batches with lengths;
 *              the majority baseline
 *   mlm        over many windows: exactly 15% chosen, 80/10/10 within
 *              sampling error, no unchosen position scored
 *   listops    an independent evaluator (a stack machine over the tokens)
 *              agrees with every generated label; lengths within the
 *              setting; every "[OP" has its "]"
 *   finetune   init_from copies exactly the tensors whose name and shape
 *              match and says which; a copy of a checkpoint's model gives
 *              its loss before any step; nothing matching is an error;
 *              train_run lists copied and fresh tensors in run.json and
 *              freeze_body leaves the body untouched
 *   eval       evaluate_labelled: per-example loss by hand, unknown label
 *              an error naming the line
 */
#define _XOPEN_SOURCE 700   /* mkdtemp, nftw */
#include <cjson/cJSON.h>
#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <gsl/gsl_rng.h>

#include "checkpoint.h"
#include "config.h"
#include "data.h"
#include "evaluate.h"
#include "finetune.h"
#include "model.h"
#include "testutil.h"
#include "train.h"
#include "util.h"

static char tmp_root[256];

static char *tmp_path(const char *name)
{
    char *p = xmalloc(strlen(tmp_root) + strlen(name) + 2);
    sprintf(p, "%s/%s", tmp_root, name);
    return p;
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    ck_assert(f != NULL);
    ck_assert(fwrite(text, 1, strlen(text), f) == strlen(text));
    ck_assert(fclose(f) == 0);
}

static gsl_rng *seeded(unsigned long seed)
{
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, seed);
    return rng;
}

/* ============================ labelled files ============================== */

START_TEST(test_labelled_file_rules)
{
    char *p = tmp_path("rules.tsv");
    /* CRLF, a TAB inside the text, leading spaces kept verbatim */
    write_text(p, "pos\t  good\tand\tfine\r\nneg\tbad \nneg\tlast line without newline");
    char err[512];
    LabelledFile *f = labelled_read(p, err, sizeof err);
    ck_assert_msg(f != NULL, "%s", err);
    ck_assert_int_eq(f->n, 3);
    ck_assert_str_eq(f->ex[0].label, "pos");
    ck_assert_str_eq(f->ex[0].text, "  good\tand\tfine");
    ck_assert_str_eq(f->ex[1].text, "bad ");
    ck_assert_str_eq(f->ex[2].text, "last line without newline");
    ck_assert_int_eq(f->ex[2].line, 3);
    labelled_free(f);
    /* each bad line is an error naming the file and its line */
    const char *bad[][2] = {
        {"a\tok\nno tab here\n", ":2: no TAB"},
        {"a\tok\n\nb\tok\n", ":2: a blank line"},
        {"a\tok\n\tempty label\n", ":2: an empty label"},
        {"a\tok\nb\tok\nc\t\n", ":3: an empty text"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        write_text(p, bad[i][0]);
        ck_assert(labelled_read(p, err, sizeof err) == NULL);
        ck_assert_msg(strstr(err, p) && strstr(err, bad[i][1]), "case %zu: %s", i, err);
    }
    free(p);
}
END_TEST

/* n lines "LABEL<TAB>text i", labels cycling through a, b, b, c, c, c */
static char *write_labelled(const char *name, int n)
{
    char *p = tmp_path(name);
    FILE *f = fopen(p, "w");
    const char *cycle[6] = {"a", "b", "b", "c", "c", "c"};
    for (int i = 0; i < n; i++) fprintf(f, "%s\tverse %d says %s things\n", cycle[i % 6], i, cycle[i % 6]);
    fclose(f);
    return p;
}

START_TEST(test_classify_task_split_and_batches)
{
    char *p = write_labelled("split.tsv", 120);
    char err[512];
    TaskConfig tc = {"classify", p, "chars", 0, 8, 0, 0, 0, 1.0, 0, 0};
    Task *t = task_create(&tc, err, sizeof err);
    ck_assert_msg(t != NULL, "%s", err);
    ck_assert(t->classify);
    ck_assert_int_eq(t->num_labels, 3);
    ck_assert_str_eq(t->labels[0], "a");
    ck_assert_str_eq(t->labels[2], "c");
    /* every 10th example is validation: 12 of 120 */
    ck_assert_int_eq(t->valid_count, 12);
    ck_assert_int_eq(t->train_count, 108);
    /* majority: c (half of training); validation examples 9, 19, ..., 119
     * have labels cycle[i % 6]: i % 6 = 3, 1, 5, 3, 1, 5, ... -> c, b, c: 2/3 */
    ck_assert_double_eq_tol(t->majority_accuracy, 8.0 / 12.0, 1e-12);
    ck_assert_double_eq_tol(t->chance_loss, log(3.0), 1e-12);
    Batch *b = task_batch_alloc(t, 16);
    gsl_rng *rng = seeded(1);
    task_batch(t, b, SPLIT_TRAIN, rng);
    ck_assert_int_eq(b->T, 8);
    for (int r = 0; r < b->B; r++) {
        /* "verse N says ..." is longer than 8 characters: cut to seq_len */
        ck_assert_int_eq(b->lengths[r], 8);
        ck_assert(b->labels[r] >= 0 && b->labels[r] < 3);
        for (int i = 0; i < 8; i++) ck_assert(b->targets[r * 8 + i] == TARGET_IGNORE);
    }
    gsl_rng_free(rng);
    batch_free(b);
    task_free(t);
    /* train_examples: a subset of the training split, too many is an error */
    tc.train_examples = 10;
    t = task_create(&tc, err, sizeof err);
    ck_assert_msg(t != NULL, "%s", err);
    ck_assert_int_eq(t->train_count, 10);
    ck_assert_int_eq(t->valid_count, 12);
    task_free(t);
    tc.train_examples = 109;
    ck_assert(task_create(&tc, err, sizeof err) == NULL);
    ck_assert_msg(strstr(err, "train_examples 109"), "%s", err);
    free(p);
}
END_TEST

START_TEST(test_classify_short_texts_are_padded)
{
    char *p = tmp_path("short.tsv");
    FILE *f = fopen(p, "w");
    for (int i = 0; i < 20; i++) fprintf(f, "%s\t%.*s\n", i % 2 ? "x" : "y", 1 + i % 5, "abcde");
    fclose(f);
    char err[512];
    TaskConfig tc = {"classify", p, "chars", 0, 6, 0, 0, 0, 1.0, 0, 0};
    Task *t = task_create(&tc, err, sizeof err);
    ck_assert_msg(t != NULL, "%s", err);
    Batch *b = task_batch_alloc(t, 32);
    gsl_rng *rng = seeded(2);
    task_batch(t, b, SPLIT_TRAIN, rng);
    int shorter = 0;
    for (int r = 0; r < b->B; r++) {
        ck_assert(b->lengths[r] >= 1 && b->lengths[r] <= 5);
        shorter += b->lengths[r] < 6;
    }
    ck_assert_int_eq(shorter, b->B);
    gsl_rng_free(rng);
    batch_free(b);
    task_free(t);
    free(p);
}
END_TEST

/* ================================= MLM ==================================== */

START_TEST(test_mlm_masking_rule)
{
    enum { T = 40, V = 50, WINDOWS = 4000 };
    const int mask = V;
    gsl_rng *rng = seeded(3);
    int tokens[T], original[T], targets[T];
    long chosen = 0, masked = 0, randomised = 0, kept = 0;
    for (int w = 0; w < WINDOWS; w++) {
        for (int t = 0; t < T; t++) original[t] = tokens[t] = (int)gsl_rng_uniform_int(rng, V);
        mlm_mask_window(tokens, targets, T, V, mask, rng);
        int here = 0;
        for (int t = 0; t < T; t++) {
            if (targets[t] == TARGET_IGNORE) {
                /* never scored, never touched */
                ck_assert_int_eq(tokens[t], original[t]);
                continue;
            }
            here++;
            ck_assert_int_eq(targets[t], original[t]);
            if (tokens[t] == mask) masked++;
            else if (tokens[t] == original[t]) kept++;
            else randomised++;
        }
        /* exactly round(0.15 T) = 6 positions of each window */
        ck_assert_int_eq(here, 6);
        chosen += here;
    }
    /* within 5 standard deviations of 80 / 10 / 10 (a random token equal to
     * the original counts as kept: 0.1/V more, far inside the bound) */
    double n = (double)chosen;
    double pm = masked / n, pr = randomised / n, pk = kept / n;
    ck_assert_msg(fabs(pm - 0.8) < 5 * sqrt(0.16 / n), "masked %g", pm);
    ck_assert_msg(fabs(pr - 0.1) < 5 * sqrt(0.09 / n), "random %g", pr);
    ck_assert_msg(fabs(pk - 0.1) < 5 * sqrt(0.09 / n), "kept %g", pk);
    gsl_rng_free(rng);
}
END_TEST

START_TEST(test_mlm_task_batches)
{
    char *p = tmp_path("mlm.txt");
    FILE *f = fopen(p, "w");
    for (int i = 0; i < 200; i++) fprintf(f, "in the beginning was the word %d\n", i);
    fclose(f);
    char err[512];
    TaskConfig tc = {"mlm", p, "chars", 0, 20, 0, 0, 0, 1.0, 0, 0};
    Task *t = task_create(&tc, err, sizeof err);
    ck_assert_msg(t != NULL, "%s", err);
    ck_assert_int_eq(t->mask_token, t->vocab_size);
    ck_assert_int_eq(t->output_size, t->vocab_size);
    ck_assert(!t->every_position && !t->classify);
    Batch *b = task_batch_alloc(t, 8);
    gsl_rng *rng = seeded(4);
    task_batch(t, b, SPLIT_TRAIN, rng);
    int masks = 0, scored = 0;
    for (int i = 0; i < 8 * 20; i++) {
        masks += b->tokens[i] == t->mask_token;
        scored += b->targets[i] != TARGET_IGNORE;
        ck_assert(b->targets[i] == TARGET_IGNORE || b->targets[i] < t->vocab_size);
    }
    ck_assert_int_eq(scored, 8 * 3);   /* round(0.15 * 20) = 3 per window */
    ck_assert(masks > 0 && masks <= scored);
    gsl_rng_free(rng);
    batch_free(b);
    task_free(t);
    free(p);
}
END_TEST

/* =============================== ListOps ================================== */

/* An evaluator of its own: a stack machine over the tokens.  Returns the
 * value, or -1 if the brackets do not balance. */
static int eval_listops(const int *x, int n)
{
    int stack[512], ops[128], base[128], depth = 0, sp = 0;
    for (int i = 0; i < n; i++) {
        if (x[i] < 10) {
            stack[sp++] = x[i];
        } else if (x[i] == LISTOPS_CLOSE) {
            if (depth == 0) return -1;
            depth--;
            int *a = stack + base[depth], k = sp - base[depth], v;
            if (ops[depth] == LISTOPS_MIN) { v = 9; for (int j = 0; j < k; j++) v = a[j] < v ? a[j] : v; }
            else if (ops[depth] == LISTOPS_MAX) { v = 0; for (int j = 0; j < k; j++) v = a[j] > v ? a[j] : v; }
            else if (ops[depth] == LISTOPS_SM) { v = 0; for (int j = 0; j < k; j++) v += a[j]; v %= 10; }
            else {
                /* median: sort, the middle, or the floor of the two middles' mean */
                int s[16];
                for (int j = 0; j < k; j++) s[j] = a[j];
                for (int j = 1; j < k; j++)
                    for (int m = j; m > 0 && s[m - 1] > s[m]; m--) { int tmp = s[m]; s[m] = s[m - 1]; s[m - 1] = tmp; }
                v = k % 2 ? s[k / 2] : (int)floor((s[k / 2 - 1] + s[k / 2]) / 2.0);
            }
            sp = base[depth];
            stack[sp++] = v;
        } else {
            ops[depth] = x[i];
            base[depth] = sp;
            depth++;
        }
    }
    return depth == 0 && sp == 1 ? stack[0] : -1;
}

START_TEST(test_listops_labels_and_lengths)
{
    const int maxes[3] = {16, 96, 500};
    gsl_rng *rng = seeded(5);
    int x[500];
    long counts[10] = {0};
    for (int m = 0; m < 3; m++)
        for (int i = 0; i < 300; i++) {
            int label, n = listops_generate(x, maxes[m], &label, rng);
            ck_assert(n >= maxes[m] / 4 && n <= maxes[m]);
            int opens = 0, closes = 0;
            for (int t = 0; t < n; t++) {
                opens += x[t] >= LISTOPS_MIN && x[t] <= LISTOPS_SM;
                closes += x[t] == LISTOPS_CLOSE;
            }
            /* the brackets are tokens: every operator is closed */
            ck_assert(opens >= 1 && opens == closes);
            ck_assert_int_eq(eval_listops(x, n), label);
            counts[label]++;
        }
    /* several classes occur (not a constant label) */
    int seen = 0;
    for (int k = 0; k < 10; k++) seen += counts[k] > 0;
    ck_assert(seen >= 8);
    gsl_rng_free(rng);
    /* the task: a classification over 10 classes with padded rows */
    char err[256];
    TaskConfig tc = {"listops", NULL, NULL, 0, 64, 0, 0, 0, 1.0, 0, 0};
    Task *t = task_create(&tc, err, sizeof err);
    ck_assert_msg(t != NULL, "%s", err);
    ck_assert(t->classify && t->num_labels == 10 && t->vocab_size == LISTOPS_VOCAB);
    ck_assert(t->majority_accuracy > 0.1 && t->majority_accuracy < 1);
    Batch *b = task_batch_alloc(t, 8);
    rng = seeded(6);
    task_batch(t, b, SPLIT_VALID, rng);
    for (int r = 0; r < 8; r++) {
        ck_assert(b->lengths[r] >= 16 && b->lengths[r] <= 64);
        ck_assert_int_eq(eval_listops(b->tokens + r * 64, b->lengths[r]), b->labels[r]);
    }
    gsl_rng_free(rng);
    batch_free(b);
    task_free(t);
    tc.seq_len = 8;
    ck_assert(task_create(&tc, err, sizeof err) == NULL);
    ck_assert_msg(strstr(err, "seq_len"), "%s", err);
}
END_TEST

/* ============================ fine-tuning ================================= */

static ModelConfig bilstm_classifier(int K)
{
    ModelConfig cfg;
    memset(&cfg, 0, sizeof cfg);
    snprintf(cfg.kind, sizeof cfg.kind, "lstm");
    cfg.vocab_size = 9;
    cfg.output_size = K;
    cfg.embed_dim = 5;
    cfg.hidden_size = 4;
    cfg.num_layers = 2;
    cfg.forget_bias = 1;
    cfg.init_scale = 1;
    cfg.bidirectional = 1;
    cfg.architecture = ARCH_ENCODER;
    cfg.classify = 1;
    return cfg;
}

static Batch *class_batch(int K)
{
    Batch *b = batch_alloc_labelled(3, 6);
    for (int i = 0; i < 18; i++) b->tokens[i] = (i * 7 + 3) % 9;
    const int len[3] = {6, 4, 2};
    for (int r = 0; r < 3; r++) {
        b->lengths[r] = len[r];
        b->labels[r] = r % K;
    }
    return b;
}

START_TEST(test_init_from_copies_matching_tensors)
{
    char *ck = tmp_path("pre.safetensors");
    ModelConfig cfg = bilstm_classifier(3);
    Model *a = test_model(&cfg, 3, 6, 11);
    Meta meta;
    meta_init(&meta);
    meta_from_model_config(&meta, &cfg);
    meta_set(&meta, "labels", "[\"x\",\"y\",\"z\"]");
    char err[512];
    ck_assert_msg(checkpoint_save(ck, &a->params, &meta, err, sizeof err) == 0, "%s", err);
    meta_free(&meta);
    /* the checkpoint holds float32: its model, as loaded, is the reference */
    model_free(a);
    meta_init(&meta);
    a = checkpoint_load_model(ck, &meta, err, sizeof err);
    ck_assert_msg(a != NULL, "%s", err);
    meta_free(&meta);
    model_alloc_acts(a, 3, 6);
    Batch *batch = class_batch(3);
    double loss_a = model_forward(a, batch);
    /* the same shape: everything copied, the same loss before any step */
    Model *b = test_model(&cfg, 3, 6, 12);
    int *copied = xcalloc((size_t)b->params.count, sizeof(int));
    ck_assert(model_forward(b, batch) != loss_a);
    ck_assert_int_eq(finetune_init_from(b, ck, NULL, copied, err, sizeof err), b->params.count);
    ck_assert(model_forward(b, batch) == loss_a);
    free(copied);
    model_free(b);
    /* another head (4 classes): exactly head.weight and head.bias fresh */
    ModelConfig cfg4 = bilstm_classifier(4);
    Model *c = test_model(&cfg4, 3, 6, 13);
    copied = xcalloc((size_t)c->params.count, sizeof(int));
    real head_before = params_value(&c->params, c->idx_head_w)[0];
    ck_assert_int_eq(finetune_init_from(c, ck, NULL, copied, err, sizeof err), c->params.count - 2);
    for (int i = 0; i < c->params.count; i++) {
        int is_head = strncmp(c->params.views[i].name, "head.", 5) == 0;
        ck_assert_msg(copied[i] == !is_head, "%s", c->params.views[i].name);
        if (!is_head) {
            int j = params_find(&a->params, c->params.views[i].name);
            ck_assert(memcmp(params_value(&c->params, i), params_value(&a->params, j),
                             c->params.views[i].size * sizeof(real)) == 0);
        }
    }
    ck_assert(params_value(&c->params, c->idx_head_w)[0] == head_before);
    free(copied);
    model_free(c);
    /* nothing in common: an error, not a silent fresh start */
    ModelConfig tcfg;
    memset(&tcfg, 0, sizeof tcfg);
    snprintf(tcfg.kind, sizeof tcfg.kind, "transformer");
    tcfg.vocab_size = 11;
    tcfg.output_size = 2;
    tcfg.embed_dim = tcfg.hidden_size = 6;
    tcfg.num_layers = 1;
    tcfg.num_heads = 2;
    tcfg.max_seq_len = 8;
    tcfg.classify = 1;
    Model *d = model_create(&tcfg);
    copied = xcalloc((size_t)d->params.count, sizeof(int));
    ck_assert_int_eq(finetune_init_from(d, ck, NULL, copied, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "no tensor") && strstr(err, ck), "%s", err);
    /* a missing file names it */
    char *missing = tmp_path("missing.safetensors");
    ck_assert_int_eq(finetune_init_from(d, missing, NULL, copied, err, sizeof err), -1);
    ck_assert_msg(strstr(err, missing), "%s", err);
    free(missing);
    free(copied);
    model_free(d);
    batch_free(batch);
    model_free(a);
    free(ck);
}
END_TEST

/* a tiny training run of the classifier on a labelled file */
static int tiny_run(const char *corpus, const char *out, const char *init_from, int freeze,
                    long steps, TrainResult *res, char *err, size_t errlen)
{
    Settings s;
    settings_defaults(&s);
    const char *kv[][2] = {
        {"model", "gru"}, {"architecture", "encoder"}, {"bidirectional", "1"}, {"task", "classify"},
        {"tokenizer", "chars"}, {"seq_len", "12"}, {"hidden_size", "6"}, {"batch_size", "4"},
        {"eval_every", "5"}, {"eval_batches", "2"}, {"sample_tokens", "0"}, {"threads", "1"},
    };
    for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++)
        ck_assert(settings_set(&s, kv[i][0], kv[i][1], "test", err, errlen) == 0);
    snprintf(s.corpus, sizeof s.corpus, "%s", corpus);
    snprintf(s.out, sizeof s.out, "%s", out);
    snprintf(s.init_from, sizeof s.init_from, "%s", init_from ? init_from : "");
    s.freeze_body = freeze;
    s.steps = steps;
    return train_run(&s, 0, res, err, errlen);
}

START_TEST(test_train_run_init_from_and_freeze)
{
    char *corpus = write_labelled("run.tsv", 60);
    char *pre = tmp_path("run-pre"), *ft = tmp_path("run-ft");
    char err[1024];
    TrainResult res;
    ck_assert_msg(tiny_run(corpus, pre, NULL, 0, 10, &res, err, sizeof err) == TRAIN_OK, "%s", err);
    char ck[600];
    snprintf(ck, sizeof ck, "%s/model.safetensors", pre);
    /* the checkpoint is a classifier with its labels */
    Meta meta;
    meta_init(&meta);
    Model *m0 = checkpoint_load_model(ck, &meta, err, sizeof err);
    ck_assert_msg(m0 != NULL, "%s", err);
    ck_assert(m0->cfg.classify && m0->cfg.bidirectional);
    ck_assert_str_eq(meta_get(&meta, "labels"), "[\"a\",\"b\",\"c\"]");
    ck_assert_str_eq(meta_get(&meta, "mask_token"), meta_get(&meta, "vocab_size"));
    meta_free(&meta);
    /* fine-tune with the body frozen: run.json lists every tensor copied,
     * and after training only the head differs from the checkpoint */
    ck_assert_msg(tiny_run(corpus, ft, ck, 1, 10, &res, err, sizeof err) == TRAIN_OK, "%s", err);
    char js[600];
    snprintf(js, sizeof js, "%s/run.json", ft);
    size_t len;
    char *text = file_read_all(js, &len);
    cJSON *o = cJSON_Parse(text);
    cJSON *init = cJSON_GetObjectItem(o, "init_from");
    ck_assert(init != NULL);
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(init, "copied")), m0->params.count);
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(init, "fresh")), 0);
    ck_assert(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "task"), "majority_accuracy") != NULL);
    cJSON_Delete(o);
    free(text);
    snprintf(ck, sizeof ck, "%s/model.safetensors", ft);
    meta_init(&meta);
    Model *m1 = checkpoint_load_model(ck, &meta, err, sizeof err);
    ck_assert_msg(m1 != NULL, "%s", err);
    meta_free(&meta);
    size_t head = finetune_head_offset(m1);
    ck_assert(memcmp(m1->params.value, m0->params.value, head * sizeof(real)) == 0);
    ck_assert(memcmp(m1->params.value + head, m0->params.value + head,
                     (m1->params.total - head) * sizeof(real)) != 0);
    model_free(m0);
    model_free(m1);
    free(corpus);
    free(pre);
    free(ft);
}
END_TEST

/* ========================== eval --labelled ================================ */

START_TEST(test_evaluate_labelled)
{
    ModelConfig cfg = bilstm_classifier(2);
    cfg.vocab_size = 256;   /* bytes */
    Model *m = test_model(&cfg, 1, 5, 21);
    char err[512];
    Tokenizer *tok = tokenizer_build(TOK_BYTES, "", 0, 0, err, sizeof err);
    ck_assert(tok != NULL);
    char *p = tmp_path("eval.tsv");
    write_text(p, "no\tabcdefgh\nyes\txy\n");
    LabelledFile *f = labelled_read(p, err, sizeof err);
    ck_assert_msg(f != NULL, "%s", err);
    const char *labels[2] = {"no", "yes"};
    double loss, acc;
    ck_assert_msg(evaluate_labelled(m, tok, labels, 2, f, 5, &loss, &acc, err, sizeof err) == 0, "%s", err);
    /* by hand: example 1 cut to "abcde", example 2 "xy" alone, no padding */
    double want = 0;
    int correct = 0;
    const char *texts[2] = {"abcde", "xy"};
    for (int i = 0; i < 2; i++) {
        int n = (int)strlen(texts[i]);
        Batch *b = batch_alloc_labelled(1, n);
        for (int t = 0; t < n; t++) b->tokens[t] = (unsigned char)texts[i][t];
        b->labels[0] = i;
        want += model_forward(m, b);
        correct += m->correct;
        batch_free(b);
    }
    ck_assert(fabs(loss - want / 2) <= 1e-12 * fabs(want));
    ck_assert(acc == correct / 2.0);
    labelled_free(f);
    /* a label the classifier does not know: an error naming file and line */
    write_text(p, "no\tabc\nmaybe\tdef\n");
    f = labelled_read(p, err, sizeof err);
    ck_assert_int_eq(evaluate_labelled(m, tok, labels, 2, f, 5, &loss, &acc, err, sizeof err), -1);
    ck_assert_msg(strstr(err, p) && strstr(err, ":2:") && strstr(err, "maybe"), "%s", err);
    labelled_free(f);
    tokenizer_free(tok);
    model_free(m);
    free(p);
}
END_TEST

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb; (void)flag; (void)ftw;
    return remove(path);
}

static Suite *make_labelled_suite(void)
{
    Suite *s = suite_create("labelled");
    TCase *tc = tcase_create("data");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_labelled_file_rules);
    tcase_add_test(tc, test_classify_task_split_and_batches);
    tcase_add_test(tc, test_classify_short_texts_are_padded);
    tcase_add_test(tc, test_mlm_masking_rule);
    tcase_add_test(tc, test_mlm_task_batches);
    tcase_add_test(tc, test_listops_labels_and_lengths);
    suite_add_tcase(s, tc);
    TCase *ft = tcase_create("finetune");
    tcase_set_timeout(ft, 300);
    tcase_add_test(ft, test_init_from_copies_matching_tensors);
    tcase_add_test(ft, test_train_run_init_from_and_freeze);
    tcase_add_test(ft, test_evaluate_labelled);
    suite_add_tcase(s, ft);
    return s;
}

int main(void)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(tmp_root, sizeof tmp_root, "%s/seqlab-labelled-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(tmp_root)) die("test_labelled: cannot create a temporary directory");
    int rc = run_suite(make_labelled_suite());
    nftw(tmp_root, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    return rc;
}
