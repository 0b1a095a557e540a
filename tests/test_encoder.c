/*
 * test_encoder.c — the encoder family and sequence classification:
 * bidirectional RNN / LSTM / GRU (core/recurrent.c), the Transformer without
 * its causal mask, pooling (core/model.c) and padded batches.
 *
 *   gradients   finite differences (double build) of every parameter and of
 *               the body input: bidirectional recurrent bodies of 2 layers,
 *               the encoder Transformer, per-position (the MLM shape: only
 *               a few positions scored, mask ids in the input) and pooled
 *               (mean, last), with padded rows
 *   behaviour   a bidirectional / encoder model's output at t depends on a
 *               later token, a causal one's does not; padding never changes
 *               a classifier's logits; the reference loops equal the BLAS
 *               path; parameter names and shapes (PyTorch's _reverse, the
 *               mask-token row); stepping a bidirectional model aborts; a
 *               classifier's training step allocates nothing
 */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_rng.h>

#include "model.h"
#include "optim.h"
#include "recurrent.h"
#include "testutil.h"
#include "util.h"

/* Odd sizes so that no two dimensions can be confused: */
#define EN_V 7      /* vocabulary (the embedding has V + 1 rows: id V is the mask) */
#define EN_K 3      /* classes */
#define EN_E 5      /* embedding (recurrent) */
#define EN_H 4      /* hidden per direction */
#define EN_C 6      /* Transformer width: 2 heads of 3 */
#define EN_L 2      /* layers */
#define EN_B 3      /* batch */
#define EN_T 5      /* time steps */

/* row 0 full, row 1 three real tokens, row 2 one */
static const int en_lengths[EN_B] = {EN_T, 3, 1};

#ifdef SEQLAB_DOUBLE
/* BLAS and plain loops sum in different orders */
#define KERNEL_RTOL 1e-10
#define KERNEL_ATOL 1e-12
#else
#define KERNEL_RTOL 1e-4
#define KERNEL_ATOL 1e-5
#endif
/* "changed": far above round-off */
#define CHANGE_MIN 1e-4

static const char *const recurrent_kinds[] = {"rnn", "lstm", "gru"};

static ModelConfig recurrent_config(const char *kind, int bidirectional)
{
    ModelConfig cfg;
    memset(&cfg, 0, sizeof cfg);
    snprintf(cfg.kind, sizeof cfg.kind, "%s", kind);
    cfg.vocab_size = EN_V;
    cfg.output_size = EN_V;
    cfg.embed_dim = EN_E;
    cfg.hidden_size = EN_H;
    cfg.num_layers = EN_L;
    cfg.forget_bias = 1.0;
    cfg.init_scale = 1.0;
    cfg.bidirectional = bidirectional;
    cfg.architecture = bidirectional ? ARCH_ENCODER : ARCH_DECODER;
    return cfg;
}

static ModelConfig transformer_config(Architecture arch)
{
    ModelConfig cfg;
    memset(&cfg, 0, sizeof cfg);
    snprintf(cfg.kind, sizeof cfg.kind, "transformer");
    cfg.vocab_size = EN_V;
    cfg.output_size = EN_V;
    cfg.embed_dim = EN_C;
    cfg.hidden_size = EN_C;
    cfg.num_layers = EN_L;
    cfg.num_heads = 2;
    cfg.ffn_size = 10;
    cfg.max_seq_len = 8;
    cfg.positions = POSITIONS_LEARNED;
    cfg.architecture = arch;
    return cfg;
}

/* as a classifier of EN_K classes with the given pooling */
static ModelConfig classifier(ModelConfig cfg, Pooling pooling)
{
    cfg.classify = 1;
    cfg.output_size = EN_K;
    cfg.pooling = pooling;
    return cfg;
}

/* LayerNorm starts at 1 / 0 and biases at small values: move everything a
 * little so that an ignored parameter would show */
static void perturb(Model *m, unsigned long seed)
{
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, seed);
    for (size_t i = 0; i < m->params.total; i++)
        m->params.value[i] += (real)(0.2 * (2 * gsl_rng_uniform(rng) - 1));
    gsl_rng_free(rng);
}

/* a padded classification batch: tokens < V, labels, lengths en_lengths;
 * padding tokens are arbitrary ids */
static Batch *labelled_batch(unsigned long seed)
{
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, seed);
    Batch *b = batch_alloc_labelled(EN_B, EN_T);
    for (int i = 0; i < EN_B * EN_T; i++) b->tokens[i] = (int)gsl_rng_uniform_int(rng, EN_V);
    for (int r = 0; r < EN_B; r++) {
        b->labels[r] = (int)gsl_rng_uniform_int(rng, EN_K);
        b->lengths[r] = en_lengths[r];
    }
    gsl_rng_free(rng);
    return b;
}

#ifdef SEQLAB_DOUBLE
/* the MLM shape: mask ids (V) at some positions, only those scored */
static Batch *mlm_batch(unsigned long seed)
{
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, seed);
    Batch *b = batch_alloc(EN_B, EN_T, 0, 0);
    for (int i = 0; i < EN_B * EN_T; i++) {
        b->tokens[i] = (int)gsl_rng_uniform_int(rng, EN_V);
        b->targets[i] = TARGET_IGNORE;
        if (i % 4 == 1) {
            b->targets[i] = b->tokens[i];
            b->tokens[i] = EN_V;          /* the mask token */
        }
    }
    gsl_rng_free(rng);
    return b;
}

static void assert_gradcheck(GradCheck g, const char *what)
{
    ck_assert_msg(g.checked > 0, "%s: nothing checked", what);
    ck_assert_msg(g.worst <= GRADCHECK_TOL,
                  "%s: worst relative error %g at %s (analytic %.12g, numeric %.12g)", what,
                  g.worst, g.where, g.analytic, g.numeric);
}

/* every parameter: per position (MLM) and pooled both ways, padded; and the
 * body input with and without padding */
static void check_all_gradients(const ModelConfig *base, const char *name)
{
    char what[96];
    Model *m = test_model(base, EN_B, EN_T, 31);
    perturb(m, 32);
    Batch *mlm = mlm_batch(33);
    snprintf(what, sizeof what, "%s: parameters, masked positions", name);
    assert_gradcheck(gradcheck_model(m, mlm, 0), what);
    snprintf(what, sizeof what, "%s: body input, padded rows", name);
    assert_gradcheck(gradcheck_body_input_lengths(m, EN_B, EN_T, en_lengths, 34), what);
    snprintf(what, sizeof what, "%s: body input", name);
    assert_gradcheck(gradcheck_body_input(m, EN_B, EN_T, 35), what);
    batch_free(mlm);
    model_free(m);
    const Pooling poolings[2] = {POOLING_MEAN, POOLING_LAST};
    for (int p = 0; p < 2; p++) {
        ModelConfig cfg = classifier(*base, poolings[p]);
        m = test_model(&cfg, EN_B, EN_T, 36);
        perturb(m, 37);
        Batch *batch = labelled_batch(38);
        snprintf(what, sizeof what, "%s: parameters, pooling %s, padded", name, p ? "last" : "mean");
        assert_gradcheck(gradcheck_model(m, batch, 0), what);
        batch_free(batch);
        model_free(m);
    }
}
#endif

START_TEST(test_bidirectional_recurrent_gradients)
{
#ifdef SEQLAB_DOUBLE
    ModelConfig cfg = recurrent_config(recurrent_kinds[_i], 1);
    check_all_gradients(&cfg, recurrent_kinds[_i]);
#endif
}
END_TEST

START_TEST(test_encoder_transformer_gradients)
{
#ifdef SEQLAB_DOUBLE
    ModelConfig cfg = transformer_config(ARCH_ENCODER);
    check_all_gradients(&cfg, "encoder transformer");
#endif
}
END_TEST

START_TEST(test_causal_classifier_gradients)
{
    /* GPT-style and unidirectional classifiers pool the same way */
#ifdef SEQLAB_DOUBLE
    ModelConfig cfg = transformer_config(ARCH_DECODER);
    check_all_gradients(&cfg, "decoder transformer");
    cfg = recurrent_config("lstm", 0);
    check_all_gradients(&cfg, "lstm");
#endif
}
END_TEST

/* ============================ behaviour =================================== */

/* y (B,T,H) of the body for tokens, via model_forward (y is kept in m->y) */
static void body_output(Model *m, const Batch *batch, real *y)
{
    model_forward(m, batch);
    memcpy(y, m->y, (size_t)batch->B * batch->T * m->H * sizeof(real));
}

/* does the output at position 1 change when the token at position 3 does? */
static double later_token_effect(const ModelConfig *cfg)
{
    Model *m = test_model(cfg, EN_B, EN_T, 41);
    Batch *batch = test_token_batch(EN_B, EN_T, EN_V, EN_V, 42);
    size_t ny = (size_t)EN_B * EN_T * m->H;
    real *y1 = xmalloc(ny * sizeof(real)), *y2 = xmalloc(ny * sizeof(real));
    body_output(m, batch, y1);
    batch->tokens[3] = (batch->tokens[3] + 1) % EN_V;     /* row 0, t = 3 */
    body_output(m, batch, y2);
    double change = 0;
    for (int j = 0; j < m->H; j++) change += fabs((double)y1[1 * m->H + j] - y2[1 * m->H + j]);
    free(y1);
    free(y2);
    batch_free(batch);
    model_free(m);
    return change;
}

START_TEST(test_bidirectional_sees_later_tokens_causal_does_not)
{
    for (int k = 0; k < 3; k++) {
        ModelConfig bi = recurrent_config(recurrent_kinds[k], 1);
        ModelConfig uni = recurrent_config(recurrent_kinds[k], 0);
        ck_assert_msg(later_token_effect(&bi) > CHANGE_MIN, "%s: bidirectional y_1 ignores x_3",
                      recurrent_kinds[k]);
        ck_assert_msg(later_token_effect(&uni) == 0, "%s: causal y_1 depends on x_3",
                      recurrent_kinds[k]);
    }
    ModelConfig enc = transformer_config(ARCH_ENCODER), dec = transformer_config(ARCH_DECODER);
    ck_assert_msg(later_token_effect(&enc) > CHANGE_MIN, "encoder y_1 ignores x_3");
    ck_assert_msg(later_token_effect(&dec) == 0, "decoder y_1 depends on x_3");
}
END_TEST

/* a row's logits are those of its real tokens alone: the padded batch
 * (rows of en_lengths, padding random) against each row run unpadded */
static void check_padding_ignored(const ModelConfig *cfg, const char *name)
{
    Model *m = test_model(cfg, EN_B, EN_T, 51);
    perturb(m, 52);
    Batch *batch = labelled_batch(53);
    model_forward(m, batch);
    real logits[EN_B * EN_K];
    memcpy(logits, m->logits, sizeof logits);
    for (int r = 0; r < EN_B; r++) {
        int n = en_lengths[r];
        Batch *one = batch_alloc_labelled(1, n);
        memcpy(one->tokens, batch->tokens + (size_t)r * EN_T, (size_t)n * sizeof(int));
        one->labels[0] = batch->labels[r];
        one->lengths[0] = n;
        model_forward(m, one);
        for (int k = 0; k < EN_K; k++)
            ck_assert_msg(fabs((double)m->logits[k] - logits[r * EN_K + k]) <=
                              KERNEL_ATOL + KERNEL_RTOL * fabs((double)logits[r * EN_K + k]),
                          "%s: row %d logit %d padded %g, alone %g", name, r, k,
                          (double)logits[r * EN_K + k], (double)m->logits[k]);
        batch_free(one);
    }
    batch_free(batch);
    model_free(m);
}

START_TEST(test_padding_never_changes_logits)
{
    const Pooling poolings[2] = {POOLING_MEAN, POOLING_LAST};
    for (int p = 0; p < 2; p++) {
        for (int k = 0; k < 3; k++) {
            ModelConfig cfg = classifier(recurrent_config(recurrent_kinds[k], 1), poolings[p]);
            check_padding_ignored(&cfg, recurrent_kinds[k]);
            cfg = classifier(recurrent_config(recurrent_kinds[k], 0), poolings[p]);
            check_padding_ignored(&cfg, recurrent_kinds[k]);
        }
        ModelConfig cfg = classifier(transformer_config(ARCH_ENCODER), poolings[p]);
        check_padding_ignored(&cfg, "encoder transformer");
        cfg = classifier(transformer_config(ARCH_DECODER), poolings[p]);
        check_padding_ignored(&cfg, "decoder transformer");
    }
}
END_TEST

START_TEST(test_bidirectional_last_pools_both_ends)
{
    /* pooling last = [forward h at n-1 ; backward h at 0], each direction's
     * final step: the pooled vector against the body's output */
    ModelConfig cfg = classifier(recurrent_config("gru", 1), POOLING_LAST);
    Model *m = test_model(&cfg, EN_B, EN_T, 61);
    Batch *batch = labelled_batch(62);
    model_forward(m, batch);
    for (int r = 0; r < EN_B; r++) {
        int n = en_lengths[r];
        const real *p = m->pooled + (size_t)r * 2 * EN_H;
        const real *y = m->y + (size_t)r * EN_T * 2 * EN_H;
        for (int j = 0; j < EN_H; j++) {
            ck_assert(p[j] == y[(size_t)(n - 1) * 2 * EN_H + j]);
            ck_assert(p[EN_H + j] == y[EN_H + j]);
        }
    }
    batch_free(batch);
    model_free(m);
}
END_TEST

START_TEST(test_bidirectional_reference_equals_blas)
{
    /* the plain per-step loops, the one-product BLAS path and a split over
     * 2 spans of rows give the same logits and gradients */
    ModelConfig cfg = classifier(recurrent_config(recurrent_kinds[_i], 1), POOLING_MEAN);
    Batch *batch = labelled_batch(71);
    real *grads[3];
    real logits[3][EN_B * EN_K];
    for (int mode = 0; mode < 3; mode++) {
        Model *m = test_model(&cfg, EN_B, EN_T, 72);
        if (mode == 1) recurrent_set_reference(m->body, 1);
        recurrent_set_parts(m->body, mode == 2 ? 2 : 1);
        params_zero_grad(&m->params);
        model_forward(m, batch);
        model_backward(m, batch);
        memcpy(logits[mode], m->logits, sizeof logits[mode]);
        grads[mode] = xmalloc(m->params.total * sizeof(real));
        memcpy(grads[mode], m->params.grad, m->params.total * sizeof(real));
        if (mode > 0) {
            assert_allclose(logits[mode], logits[0], EN_B * EN_K, KERNEL_RTOL, KERNEL_ATOL);
            assert_allclose(grads[mode], grads[0], m->params.total, KERNEL_RTOL, KERNEL_ATOL);
        }
        model_free(m);
    }
    for (int mode = 0; mode < 3; mode++) free(grads[mode]);
    batch_free(batch);
}
END_TEST

START_TEST(test_parameter_names_and_shapes)
{
    ModelConfig cfg = classifier(recurrent_config("lstm", 1), POOLING_MEAN);
    Model *m = test_model(&cfg, EN_B, EN_T, 81);
    ParamSet *ps = &m->params;
    /* nn.LSTM(E, H, 2, bidirectional=True)'s state_dict, in its order */
    const char *names[] = {
        "embed.weight",
        "lstm.weight_ih_l0", "lstm.weight_hh_l0", "lstm.bias_ih_l0", "lstm.bias_hh_l0",
        "lstm.weight_ih_l0_reverse", "lstm.weight_hh_l0_reverse", "lstm.bias_ih_l0_reverse",
        "lstm.bias_hh_l0_reverse",
        "lstm.weight_ih_l1", "lstm.weight_hh_l1", "lstm.bias_ih_l1", "lstm.bias_hh_l1",
        "lstm.weight_ih_l1_reverse", "lstm.weight_hh_l1_reverse", "lstm.bias_ih_l1_reverse",
        "lstm.bias_hh_l1_reverse",
        "head.weight", "head.bias",
    };
    const int rows[] = {EN_V + 1, 4 * EN_H, 4 * EN_H, 4 * EN_H, 4 * EN_H, 4 * EN_H, 4 * EN_H,
                        4 * EN_H, 4 * EN_H, 4 * EN_H, 4 * EN_H, 4 * EN_H, 4 * EN_H, 4 * EN_H,
                        4 * EN_H, 4 * EN_H, 4 * EN_H, EN_K, EN_K};
    const int cols[] = {EN_E, EN_E, EN_H, 0, 0, EN_E, EN_H, 0, 0, 2 * EN_H, EN_H, 0, 0,
                        2 * EN_H, EN_H, 0, 0, 2 * EN_H, 0};
    ck_assert_int_eq(ps->count, (int)(sizeof names / sizeof names[0]));
    for (int i = 0; i < ps->count; i++) {
        ck_assert_str_eq(ps->views[i].name, names[i]);
        ck_assert_int_eq(ps->views[i].shape[0], rows[i]);
        if (cols[i]) ck_assert_int_eq(ps->views[i].shape[1], cols[i]);
        else ck_assert_int_eq(ps->views[i].ndim, 1);
    }
    ck_assert_int_eq(m->H, 2 * EN_H);
    model_free(m);
    /* the encoder Transformer's embedding has the mask row too; the decoder's not */
    ModelConfig enc = transformer_config(ARCH_ENCODER), dec = transformer_config(ARCH_DECODER);
    Model *e = model_create(&enc), *d = model_create(&dec);
    ck_assert_int_eq(e->params.views[params_find(&e->params, "embed.weight")].shape[0], EN_V + 1);
    ck_assert_int_eq(d->params.views[params_find(&d->params, "embed.weight")].shape[0], EN_V);
    model_free(e);
    model_free(d);
}
END_TEST

START_TEST(test_classifier_training_allocates_nothing)
{
    /* the padded, pooled training step of a BiGRU and of the encoder
     * Transformer: batch, zero-grad, forward, backward, clip, Adam */
    ModelConfig cfgs[2] = {classifier(recurrent_config("gru", 1), POOLING_LAST),
                           classifier(transformer_config(ARCH_ENCODER), POOLING_MEAN)};
    for (int k = 0; k < 2; k++) {
        Model *m = test_model(&cfgs[k], EN_B, EN_T, 95);
        Optimizer *opt = optim_alloc(OPTIM_ADAM, m->params.total, 0, 0);
        Batch *batch = labelled_batch(96);
        size_t before = util_alloc_count();
        for (int step = 0; step < 3; step++) {
            params_zero_grad(&m->params);
            model_forward(m, batch);
            model_backward(m, batch);
            grad_clip(m->params.grad, m->params.total, 1.0);
            optim_step(opt, m->params.value, m->params.grad, 1e-3);
        }
        ck_assert_msg(util_alloc_count() == before, "%s: %zu allocations in 3 steps", cfgs[k].kind,
                      util_alloc_count() - before);
        batch_free(batch);
        optim_free(opt);
        model_free(m);
    }
}
END_TEST

START_TEST(test_bidirectional_step_aborts)
{
    ModelConfig cfg = recurrent_config("rnn", 1);
    Model *m = test_model(&cfg, EN_B, EN_T, 91);
    model_state_reset(m, EN_B);   /* aborts: there is no one-step bidirectional model */
    model_free(m);
}
END_TEST

START_TEST(test_encoder_step_aborts)
{
    ModelConfig cfg = transformer_config(ARCH_ENCODER);
    Model *m = test_model(&cfg, EN_B, EN_T, 92);
    int tokens[EN_B] = {1, 2, 3};
    model_state_reset(m, EN_B);
    model_step(m, tokens, EN_B);   /* aborts */
    model_free(m);
}
END_TEST

static Suite *make_encoder_suite(void)
{
    Suite *s = suite_create("encoder");
    TCase *grads = tcase_create("gradients");
    tcase_set_timeout(grads, 120);
    tcase_add_loop_test(grads, test_bidirectional_recurrent_gradients, 0, 3);
    tcase_add_test(grads, test_encoder_transformer_gradients);
    tcase_add_test(grads, test_causal_classifier_gradients);
    suite_add_tcase(s, grads);
    TCase *beh = tcase_create("behaviour");
    tcase_add_test(beh, test_bidirectional_sees_later_tokens_causal_does_not);
    tcase_add_test(beh, test_padding_never_changes_logits);
    tcase_add_test(beh, test_bidirectional_last_pools_both_ends);
    tcase_add_loop_test(beh, test_bidirectional_reference_equals_blas, 0, 3);
    tcase_add_test(beh, test_parameter_names_and_shapes);
    tcase_add_test(beh, test_classifier_training_allocates_nothing);
    tcase_add_test_raise_signal(beh, test_bidirectional_step_aborts, SIGABRT);
    tcase_add_test_raise_signal(beh, test_encoder_step_aborts, SIGABRT);
    suite_add_tcase(s, beh);
    return s;
}

int main(void)
{
    return run_suite(make_encoder_suite());
}
