/*
 * test_encoder_fixtures.c — the encoder family against PyTorch
 * (tests/reference/make_encoder_fixtures.py): a bidirectional LSTM
 * classifier (nn.LSTM(bidirectional=True) over a packed, padded batch) and
 * the encoder Transformer (a key padding mask, no causal mask), each with
 * mean and last pooling: logits, loss and every parameter's gradient; and
 * `eval --labelled`'s scoring of a PyTorch-built checkpoint.
 *
 * Tolerances: the float build within 1e-4 relative (the bar); the
 * double build computes from the same float32 weights as PyTorch's float64
 * and agrees far closer.
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"
#include "data.h"
#include "evaluate.h"
#include "testutil.h"
#include "tokenizer.h"
#include "util.h"

#define FIXTURES "tests/fixtures/"

#ifdef SEQLAB_DOUBLE
#define FIXTURE_RTOL 1e-6
#define FIXTURE_ATOL 1e-8
#else
/* the bar: float32 arithmetic against PyTorch's float64 */
#define FIXTURE_RTOL 1e-4
#define FIXTURE_ATOL 1e-6
#endif

static const char *const fixture_names[] = {"bilstm_mean", "bilstm_last", "encoder_mean", "encoder_last"};
#define FIXTURE_COUNT ((int)(sizeof fixture_names / sizeof fixture_names[0]))
static const char *const fixture_prefixes[] = {"fixture.", "grad.", NULL};

static const SafeTensor *need(const SafeTensors *st, const char *name)
{
    const SafeTensor *t = safetensors_find(st, name);
    ck_assert_msg(t != NULL, "%s: no tensor '%s'", st->path, name);
    return t;
}

START_TEST(test_encoder_fixture_forward_backward)
{
    const char *name = fixture_names[_i];
    char path[256], err[512];
    snprintf(path, sizeof path, FIXTURES "%s.safetensors", name);
    SafeTensors *st = safetensors_read(path, err, sizeof err);
    ck_assert_msg(st != NULL, "%s", err);
    Model *m = checkpoint_model_from_tensors(st, fixture_prefixes, err, sizeof err);
    ck_assert_msg(m != NULL, "%s", err);
    ck_assert(m->cfg.classify && m->cfg.architecture == ARCH_ENCODER);
    /* the padded batch: tokens (B,T), lengths and labels (B), stored as F32 */
    const SafeTensor *tok = need(st, "fixture.tokens"), *len = need(st, "fixture.lengths"),
                     *lab = need(st, "fixture.labels");
    int B = (int)tok->shape[0], T = (int)tok->shape[1], K = m->cfg.output_size;
    Batch *batch = batch_alloc_labelled(B, T);
    int padded = 0;
    for (int i = 0; i < B * T; i++) batch->tokens[i] = (int)tok->data[i];
    for (int r = 0; r < B; r++) {
        batch->lengths[r] = (int)len->data[r];
        batch->labels[r] = (int)lab->data[r];
        padded += batch->lengths[r] < T;
    }
    ck_assert_int_gt(padded, 0);   /* padding is part of what is checked */
    model_alloc_acts(m, B, T);
    params_zero_grad(&m->params);
    double loss = model_forward(m, batch);
    model_backward(m, batch);
    const SafeTensor *logits = need(st, "fixture.logits");
    ck_assert_uint_eq(logits->size, (size_t)B * K);
    assert_allclose_at(m->logits, logits->data, logits->size, FIXTURE_RTOL, FIXTURE_ATOL, "logits",
                       __FILE__, __LINE__);
    double expect = need(st, "fixture.loss")->data[0];
    ck_assert_msg(fabs(loss - expect) <= FIXTURE_RTOL * fabs(expect), "%s: loss %.9g, PyTorch %.9g",
                  name, loss, expect);
    ParamSet *ps = &m->params;
    for (int k = 0; k < ps->count; k++) {
        char gname[PARAM_NAME_MAX + 8];
        snprintf(gname, sizeof gname, "grad.%s", ps->views[k].name);
        const SafeTensor *g = need(st, gname);
        ck_assert_uint_eq(g->size, ps->views[k].size);
        assert_allclose_at(params_grad(ps, k), g->data, g->size, FIXTURE_RTOL, FIXTURE_ATOL, gname,
                           __FILE__, __LINE__);
    }
    /* no PyTorch parameter left unmatched */
    int grads = 0;
    for (int i = 0; i < st->count; i++) grads += strncmp(st->tensors[i].name, "grad.", 5) == 0;
    ck_assert_int_eq(grads, ps->count);
    batch_free(batch);
    model_free(m);
    safetensors_free(st);
}
END_TEST

START_TEST(test_eval_labelled_equals_pytorch)
{
    size_t n;
    char *text = file_read_all(FIXTURES "labelled_expected.json", &n);
    ck_assert(text != NULL);
    cJSON *want = cJSON_Parse(text);
    free(text);
    char path[256], err[512];
    snprintf(path, sizeof path, FIXTURES "%s", cJSON_GetObjectItem(want, "checkpoint")->valuestring);
    Meta meta;
    meta_init(&meta);
    Model *m = checkpoint_load_model(path, &meta, err, sizeof err);
    ck_assert_msg(m != NULL, "%s", err);
    ck_assert(m->cfg.classify && m->cfg.bidirectional);
    int T = atoi(meta_get(&meta, "seq_len"));
    cJSON *labels = cJSON_Parse(meta_get(&meta, "labels"));
    int K = cJSON_GetArraySize(labels);
    const char *names[8];
    ck_assert(K <= 8);
    for (int k = 0; k < K; k++) names[k] = cJSON_GetArrayItem(labels, k)->valuestring;
    Tokenizer *tok = tokenizer_from_vocab(TOK_BYTES, 256, NULL, err, sizeof err);
    ck_assert(tok != NULL);
    LabelledFile *f = labelled_read(FIXTURES "labelled.tsv", err, sizeof err);
    ck_assert_msg(f != NULL, "%s", err);
    model_alloc_acts(m, 1, T);
    double loss, acc;
    ck_assert_msg(evaluate_labelled(m, tok, names, K, f, T, &loss, &acc, err, sizeof err) == 0, "%s", err);
    double want_loss = cJSON_GetObjectItem(want, "loss")->valuedouble;
    ck_assert_int_eq(f->n, cJSON_GetObjectItem(want, "examples")->valueint);
    ck_assert_msg(fabs(loss - want_loss) <= FIXTURE_RTOL * want_loss, "loss %.9g, PyTorch %.9g", loss, want_loss);
    ck_assert(acc == cJSON_GetObjectItem(want, "accuracy")->valuedouble);
    labelled_free(f);
    tokenizer_free(tok);
    cJSON_Delete(labels);
    cJSON_Delete(want);
    meta_free(&meta);
    model_free(m);
}
END_TEST

static Suite *make_encoder_fixtures_suite(void)
{
    Suite *s = suite_create("encoder_fixtures");
    TCase *tc = tcase_create("pytorch");
    tcase_add_loop_test(tc, test_encoder_fixture_forward_backward, 0, FIXTURE_COUNT);
    tcase_add_test(tc, test_eval_labelled_equals_pytorch);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(make_encoder_fixtures_suite());
}
