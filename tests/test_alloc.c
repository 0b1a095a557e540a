/*
 * test_alloc.c — nothing is allocated inside the training loop (docs/design.md,
 * Numbers): for every model, the trainer's step — zero
 * the gradients, forward, backward, clip, Adam — and the sampler's step
 * make no call to xmalloc/xcalloc/xrealloc once the model's activations are
 * sized.  util_alloc_count() counts those calls; every allocation in seqlab
 * goes through them.
 *
 * What this file is not: a leak check (ASan's job in `make check-san`).
 */
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_rng.h>

#include "model.h"
#include "optim.h"
#include "testutil.h"
#include "util.h"

/* small but not trivial shapes, odd so that no two dimensions coincide */
#define AT_V 11
#define AT_E 6
#define AT_H 6
#define AT_B 3
#define AT_T 9
#define AT_STEPS 3
#define AT_CLIP 0.5     /* small enough that clipping really scales the gradient */
#define AT_LR 1e-3

static ModelConfig alloc_test_config(const char *kind)
{
    ModelConfig cfg;
    memset(&cfg, 0, sizeof cfg);
    snprintf(cfg.kind, sizeof cfg.kind, "%s", kind);
    cfg.vocab_size = AT_V;
    cfg.output_size = AT_V;
    cfg.embed_dim = AT_E;
    cfg.hidden_size = AT_H;
    cfg.num_layers = 2;
    cfg.forget_bias = 1.0;
    cfg.init_scale = 1.0;
    if (strcmp(kind, "transformer") == 0) {
        cfg.num_heads = 2;
        cfg.ffn_size = 4 * AT_H;
        cfg.max_seq_len = AT_T;
        cfg.positions = POSITIONS_LEARNED;
    }
    return cfg;
}

/* allocations made by AT_STEPS training steps at (B,T) <= (Bmax,Tmax) */
static size_t allocs_in_training(const char *kind, int B, int T)
{
    ModelConfig cfg = alloc_test_config(kind);
    Model *m = test_model(&cfg, AT_B, AT_T, 7);
    Optimizer *opt = optim_alloc(OPTIM_ADAM, m->params.total, 0, 0);
    Batch *batch = test_token_batch(B, T, AT_V, AT_V, 11);
    size_t before = util_alloc_count();
    double first = 0, last = 0;
    for (int s = 0; s < AT_STEPS; s++) {
        params_zero_grad(&m->params);
        double loss = model_forward(m, batch);
        model_backward(m, batch);
        grad_clip(m->params.grad, m->params.total, AT_CLIP);
        optim_step(opt, m->params.value, m->params.grad, AT_LR);
        if (s == 0) first = loss;
        last = loss;
    }
    size_t made = util_alloc_count() - before;
    /* the steps did train: the same batch's loss went down */
    ck_assert_msg(last < first, "%s: loss %g -> %g did not decrease", kind, first, last);
    batch_free(batch);
    optim_free(opt);
    model_free(m);
    return made;
}

/* allocations made by stepping (sampling) AT_T tokens after a reset */
static size_t allocs_in_stepping(const char *kind)
{
    ModelConfig cfg = alloc_test_config(kind);
    Model *m = test_model(&cfg, AT_B, AT_T, 7);
    int tokens[AT_B];
    size_t before = util_alloc_count();
    model_state_reset(m, AT_B);
    for (int t = 0; t < AT_T; t++) {
        for (int b = 0; b < AT_B; b++) tokens[b] = (t * 5 + b * 3) % AT_V;
        const real *logits = model_step(m, tokens, AT_B);
        ck_assert(logits != NULL);
    }
    size_t made = util_alloc_count() - before;
    model_free(m);
    return made;
}

static const char *const kinds[] = {"rnn", "lstm", "gru", "transformer"};

START_TEST(test_counter_counts)
{
    /* the counter this suite relies on does see an allocation */
    size_t before = util_alloc_count();
    void *p = xmalloc(16), *q = xcalloc(2, 8);
    p = xrealloc(p, 32);
    ck_assert_uint_eq(util_alloc_count() - before, 3);
    free(p);
    free(q);
}
END_TEST

START_TEST(test_training_step_allocates_nothing)
{
    const char *kind = kinds[_i];
    size_t full = allocs_in_training(kind, AT_B, AT_T);
    ck_assert_msg(full == 0, "%s: %zu allocations in %d training steps at (B,T) = (%d,%d)", kind, full, AT_STEPS,
                  AT_B, AT_T);
    /* a smaller batch than allocated (the last batch of an evaluation) */
    size_t part = allocs_in_training(kind, AT_B - 1, AT_T - 4);
    ck_assert_msg(part == 0, "%s: %zu allocations in %d training steps at (B,T) = (%d,%d)", kind, part, AT_STEPS,
                  AT_B - 1, AT_T - 4);
}
END_TEST

START_TEST(test_stepping_allocates_nothing)
{
    const char *kind = kinds[_i];
    size_t made = allocs_in_stepping(kind);
    ck_assert_msg(made == 0, "%s: %zu allocations while stepping %d tokens", kind, made, AT_T);
}
END_TEST

static Suite *make_alloc_suite(void)
{
    Suite *s = suite_create("alloc");
    TCase *tc = tcase_create("no allocation in the hot path");
    tcase_add_test(tc, test_counter_counts);
    tcase_add_loop_test(tc, test_training_step_allocates_nothing, 0, 4);
    tcase_add_loop_test(tc, test_stepping_allocates_nothing, 0, 4);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(make_alloc_suite());
}
