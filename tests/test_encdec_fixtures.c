/*
 * test_encdec_fixtures.c — the encoder–decoders against PyTorch.
 *
 * tests/reference/make_seq2seq_fixtures.py builds the same models in
 * PyTorch (nn.RNN / nn.LSTM / nn.GRU with packed sources, the pre-LN
 * Transformer encoder–decoder) under docs/design.md's names, and stores for a
 * padded batch of three pairs the logits, the loss and every parameter's
 * gradient (tests/fixtures/encdec_*.safetensors).  Here each file is loaded
 * as a checkpoint (a PyTorch-written one) and seqlab's forward and backward
 * must give the same numbers.  And `seqlab eval --pairs` on a PyTorch-built
 * checkpoint must give PyTorch's loss (encdec_eval_*).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>

#include "checkpoint.h"
#include "testutil.h"
#include "util.h"

#define FIXTURES "tests/fixtures/"

/* PyTorch computed in float64 and stored float32: the float build agrees to
 * float round-off through a few layers, the double build to the storage */
#ifdef SEQLAB_DOUBLE
#define FIXTURE_RTOL 1e-6
#define FIXTURE_ATOL 1e-8
#else
#define FIXTURE_RTOL 1e-4
#define FIXTURE_ATOL 1e-6
#endif

static const char *const names[] = {
    "rnn", "lstm", "gru", "rnn_additive", "lstm_additive", "gru_additive",
    "transformer_sinusoidal", "transformer_learned",
};
#define NAMES ((int)(sizeof names / sizeof names[0]))
static const char *const prefixes[] = {"fixture.", "grad.", NULL};

static const SafeTensor *need(const SafeTensors *st, const char *name)
{
    const SafeTensor *t = safetensors_find(st, name);
    ck_assert_msg(t != NULL, "%s: no tensor '%s'", st->path, name);
    return t;
}

/* largest relative error |a - e| / max(|e|, atol / rtol) */
static double worst_error(const real *a, const real *e, size_t n)
{
    double worst = 0, floor_ = FIXTURE_ATOL / FIXTURE_RTOL;
    for (size_t i = 0; i < n; i++) {
        double r = fabs((double)a[i] - (double)e[i]) / fmax(fabs((double)e[i]), floor_);
        if (r > worst) worst = r;
    }
    return worst;
}

START_TEST(test_encdec_matches_pytorch)
{
    char path[256], err[512];
    snprintf(path, sizeof path, FIXTURES "encdec_%s.safetensors", names[_i]);
    SafeTensors *st = safetensors_read(path, err, sizeof err);
    ck_assert_msg(st != NULL, "%s", err);
    Model *m = checkpoint_model_from_tensors(st, prefixes, err, sizeof err);
    ck_assert_msg(m != NULL, "%s", err);
    ck_assert(m->cfg.architecture == ARCH_ENCODER_DECODER);
    const SafeTensor *src = need(st, "fixture.src"), *len = need(st, "fixture.src_len");
    const SafeTensor *tin = need(st, "fixture.tgt_in"), *tgt = need(st, "fixture.targets");
    int B = (int)src->shape[0], S = (int)src->shape[1], T = (int)tin->shape[1];
    int O = m->cfg.output_size;
    Batch *b = batch_alloc_pairs(B, S, T);
    for (int i = 0; i < B * S; i++) b->src_tokens[i] = (int)src->data[i];
    for (int i = 0; i < B; i++) b->src_lengths[i] = (int)len->data[i];
    for (int i = 0; i < B * T; i++) {
        b->tokens[i] = (int)tin->data[i];
        b->targets[i] = (int)tgt->data[i];
    }
    /* the rows really are padded: the lengths differ */
    ck_assert(b->src_lengths[0] != b->src_lengths[1] && b->src_lengths[1] != b->src_lengths[2]);
    model_alloc_acts_pairs(m, B, S, T);
    params_zero_grad(&m->params);
    double loss = model_forward(m, b);
    const SafeTensor *want_logits = need(st, "fixture.logits"), *want_loss = need(st, "fixture.loss");
    ck_assert_uint_eq(want_logits->size, (size_t)B * T * O);
    double wl = worst_error(m->logits, want_logits->data, want_logits->size);
    ck_assert_msg(wl <= FIXTURE_RTOL, "%s: logits differ from PyTorch's (worst relative error %.3g)", names[_i], wl);
    ck_assert_msg(fabs(loss - want_loss->data[0]) <= FIXTURE_RTOL * fabs(want_loss->data[0]),
                  "%s: loss %.9g, PyTorch %.9g", names[_i], loss, (double)want_loss->data[0]);
    model_backward(m, b);
    double worst = 0;
    const char *at = "";
    for (int k = 0; k < m->params.count; k++) {
        const ParamView *v = &m->params.views[k];
        char g[PARAM_NAME_MAX + 8];
        snprintf(g, sizeof g, "grad.%s", v->name);
        const SafeTensor *want = need(st, g);
        ck_assert_uint_eq(want->size, v->size);
        double w = worst_error(m->params.grad + v->offset, want->data, v->size);
        if (w > worst) {
            worst = w;
            at = v->name;
        }
    }
    printf("encdec fixture %s: worst relative error of the logits %.3g, of the gradients %.3g (at %s); "
           "tolerance %g\n", names[_i], wl, worst, at, FIXTURE_RTOL);
    ck_assert_msg(worst <= FIXTURE_RTOL, "%s: gradient of %s differs from PyTorch's (%.3g)", names[_i], at, worst);
    batch_free(b);
    model_free(m);
    safetensors_free(st);
}
END_TEST

START_TEST(test_eval_pairs_matches_pytorch)
{
    const char *seqlab = getenv("SEQLAB");
    if (!seqlab || !*seqlab) {
        printf("test_encdec_fixtures: SEQLAB is not set; eval --pairs is skipped\n");
        return;
    }
    size_t n;
    char *expected = file_read_all(FIXTURES "encdec_eval_expected.json", &n);
    ck_assert(expected != NULL);
    cJSON *e = cJSON_Parse(expected);
    double want = cJSON_GetObjectItem(e, "loss")->valuedouble;
    int tokens = cJSON_GetObjectItem(e, "tokens")->valueint;
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s eval --checkpoint " FIXTURES "encdec_eval.safetensors --pairs " FIXTURES
             "encdec_eval_pairs.tsv --json", seqlab);
    FILE *p = popen(cmd, "r");
    ck_assert(p != NULL);
    char line[512] = "";
    ck_assert(fgets(line, sizeof line, p) != NULL);
    ck_assert_int_eq(pclose(p), 0);
    cJSON *got = cJSON_Parse(line);
    ck_assert_msg(got != NULL, "not JSON: %s", line);
    double loss = cJSON_GetObjectItem(got, "loss")->valuedouble;
    ck_assert_int_eq(cJSON_GetObjectItem(got, "tokens")->valueint, tokens);
    ck_assert_int_eq(cJSON_GetObjectItem(got, "pairs")->valueint, 6);
    ck_assert_msg(fabs(loss - want) <= 1e-6 * want, "eval --pairs %.9g, PyTorch %.9g", loss, want);
    cJSON_Delete(got);
    cJSON_Delete(e);
    free(expected);
}
END_TEST

static Suite *make_encdec_fixtures_suite(void)
{
    Suite *s = suite_create("encdec_fixtures");
    TCase *tc = tcase_create("pytorch");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_encdec_matches_pytorch, 0, NAMES);
    tcase_add_test(tc, test_eval_pairs_matches_pytorch);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(make_encdec_fixtures_suite());
}
