/*
 * test_gru.c — the GRU body: gradients against finite differences (every
 * parameter and the body input, two layers, odd sizes, token and feature
 * input), forward equal to stepping one token at a time, BLAS path equal to
 * the plain loops, a hand-computed H = 1 case, gradient norms, SGD, and
 * the update gate keeping gradients alive.
 */
#include <math.h>
#include <stdio.h>

#include "recurrent_checks.h"
#include "testutil.h"

static ModelConfig gru_config(void)
{
    return recurrent_test_config("gru");
}

#ifdef SEQLAB_DOUBLE
START_TEST(test_gru_gradcheck_tokens)
{
    ModelConfig cfg = gru_config();
    recurrent_check_gradients_tokens(&cfg);
}
END_TEST

START_TEST(test_gru_gradcheck_features_regression)
{
    ModelConfig cfg = gru_config();
    recurrent_check_gradients_features(&cfg);
}
END_TEST
#endif

START_TEST(test_gru_forward_equals_steps)
{
    ModelConfig cfg = gru_config();
    recurrent_check_forward_equals_steps(&cfg);
}
END_TEST

START_TEST(test_gru_blas_equals_reference)
{
    ModelConfig cfg = gru_config();
    recurrent_check_blas_equals_reference(&cfg);
}
END_TEST

START_TEST(test_gru_split_equals_whole)
{
    ModelConfig cfg = gru_config();
    recurrent_check_split_equals_whole(&cfg);
}
END_TEST

START_TEST(test_gru_grad_norms)
{
    ModelConfig cfg = gru_config();
    recurrent_check_grad_norms(&cfg, 1);
}
END_TEST

START_TEST(test_gru_sgd_reduces_loss)
{
    ModelConfig cfg = gru_config();
    recurrent_check_sgd_reduces_loss(&cfg);
}
END_TEST

START_TEST(test_gru_parameter_names_and_shapes)
{
    ModelConfig cfg = gru_config();
    recurrent_check_parameter_layout(&cfg, 3);
}
END_TEST

/* the parameters of a one-unit, one-layer GRU, set by name; gates r,z,n */
static void set3(ParamSet *ps, const char *name, const double v[3])
{
    real *w = params_value(ps, params_find(ps, name));
    for (int k = 0; k < 3; k++) w[k] = (real)v[k];
}

static double sig(double a) { return 1 / (1 + exp(-a)); }

/* H = E = 1, B = 1, T = 2, L = y_2 (dy = (0, 1)).  Every line is the
 * lecture's equation for one scalar unit; h_0 = 0. */
START_TEST(test_gru_hand_computed_h1)
{
    ModelConfig cfg = gru_config();
    cfg.embed_dim = 1;
    cfg.hidden_size = 1;
    cfg.num_layers = 1;
    Model *m = test_model(&cfg, 1, 2, 3);
    ParamSet *ps = &m->params;
    const double Wi[3] = {0.3, -0.6, 0.8}, Wh[3] = {-0.4, 0.5, 0.7};
    const double bi[3] = {0.05, 0.3, -0.1}, bh[3] = {0.1, -0.2, 0.25};
    set3(ps, "gru.weight_ih_l0", Wi);
    set3(ps, "gru.weight_hh_l0", Wh);
    set3(ps, "gru.bias_ih_l0", bi);
    set3(ps, "gru.bias_hh_l0", bh);
    const double x[2] = {0.9, -1.1};
    double h[3] = {0, 0, 0}, r[3], z[3], n[3], hn[3];
    for (int t = 1; t <= 2; t++) {
        r[t] = sig(Wi[0] * x[t - 1] + bi[0] + Wh[0] * h[t - 1] + bh[0]);
        z[t] = sig(Wi[1] * x[t - 1] + bi[1] + Wh[1] * h[t - 1] + bh[1]);
        hn[t] = Wh[2] * h[t - 1] + bh[2];
        n[t] = tanh(Wi[2] * x[t - 1] + bi[2] + r[t] * hn[t]);
        h[t] = (1 - z[t]) * n[t] + z[t] * h[t - 1];
    }
    real xr[2] = {(real)x[0], (real)x[1]}, y[2], dy[2] = {0, 1}, dx[2] = {0, 0};
    m->body_ops->forward(m->body, y, xr, 1, 2);
    real expect_y[2] = {(real)h[1], (real)h[2]};
    assert_allclose(y, expect_y, 2, HAND_RTOL, 0);
    /* backward: per step, from dh_t; da_i* are d(pre-activation of W_i* x),
     * dhn the gradient of W_hn h + b_hn, which the reset gate scaled */
    double dh[3] = {0, 0, 1}, dar[3], daz[3], dan[3], dhn[3];
    for (int t = 2; t >= 1; t--) {
        double dn = dh[t] * (1 - z[t]), dz = dh[t] * (h[t - 1] - n[t]);
        dan[t] = dn * (1 - n[t] * n[t]);
        dhn[t] = dan[t] * r[t];
        dar[t] = dan[t] * hn[t] * r[t] * (1 - r[t]);
        daz[t] = dz * z[t] * (1 - z[t]);
        /* h_{t-1} reaches h_t directly (z h) and through all three W_h* rows */
        dh[t - 1] += dh[t] * z[t] + dar[t] * Wh[0] + daz[t] * Wh[1] + dhn[t] * Wh[2];
    }
    real eW_ih[3], eW_hh[3], eb_ih[3], eb_hh[3], edx[2];
    for (int k = 0; k < 3; k++) {
        const double *da = k == 0 ? dar : k == 1 ? daz : dan;
        const double *dah = k == 0 ? dar : k == 1 ? daz : dhn;
        eW_ih[k] = (real)(da[1] * x[0] + da[2] * x[1]);
        eb_ih[k] = (real)(da[1] + da[2]);
        eW_hh[k] = (real)(dah[1] * h[0] + dah[2] * h[1]);   /* summed over steps */
        eb_hh[k] = (real)(dah[1] + dah[2]);
    }
    for (int t = 1; t <= 2; t++)
        edx[t - 1] = (real)(dar[t] * Wi[0] + daz[t] * Wi[1] + dan[t] * Wi[2]);
    params_zero_grad(ps);
    m->body_ops->backward(m->body, dx, dy, 1, 2);
    assert_allclose(params_grad(ps, params_find(ps, "gru.weight_ih_l0")), eW_ih, 3, HAND_RTOL, 1e-15);
    assert_allclose(params_grad(ps, params_find(ps, "gru.weight_hh_l0")), eW_hh, 3, HAND_RTOL, 1e-15);
    assert_allclose(params_grad(ps, params_find(ps, "gru.bias_ih_l0")), eb_ih, 3, HAND_RTOL, 1e-15);
    assert_allclose(params_grad(ps, params_find(ps, "gru.bias_hh_l0")), eb_hh, 3, HAND_RTOL, 1e-15);
    assert_allclose(dx, edx, 2, HAND_RTOL, 1e-15);
    const char *const *names;
    const real *norms;
    ck_assert_int_eq(m->body_ops->grad_norms(m->body, &names, &norms), 1);
    real expect_norms[2] = {(real)fabs(dh[1]), 1};
    assert_allclose(norms, expect_norms, 2, HAND_RTOL, 0);
    model_free(m);
}
END_TEST

/* Why the update gate helps.  h' = (1 - z) n + z h passes h_{t-1} on
 * scaled only by z, so dL/dh_{t-1} gets dh_t * z without any W_hh or tanh'.
 * With the loss at the last of 20 steps, pushing z towards 1 (the z slice
 * of bias_ih set to z_bias) lets the gradient reach h_0: the ratio
 * ||dL/dh_0|| / ||dL/dh_{T-1}|| rises monotonically with z_bias and is of
 * order one at z_bias = 4 (measured 1e-12, 2e-5, 0.09, 0.68). */
#define GATES_T 20
#define GATES_H 16
#define SURVIVES 0.3     /* order one: the gradient reached the start */
START_TEST(test_gru_update_gate_keeps_gradient_alive)
{
    const double z_bias[4] = {-4, 0, 2, 4};
    double prev = 0;
    for (int k = 0; k < 4; k++) {
        ModelConfig cfg = gru_config();
        cfg.hidden_size = GATES_H;
        cfg.num_layers = 1;
        Model *m = test_model(&cfg, RT_B, GATES_T, 5);
        real *b_ih = params_value(&m->params, params_find(&m->params, "gru.bias_ih_l0"));
        for (int j = 0; j < GATES_H; j++) b_ih[GATES_H + j] = (real)z_bias[k];
        Batch *b = test_token_batch(RT_B, GATES_T, RT_V, RT_V, 3);
        for (int i = 0; i < RT_B * GATES_T; i++)
            b->targets[i] = i % GATES_T == GATES_T - 1 ? 1 : TARGET_IGNORE;
        params_zero_grad(&m->params);
        model_forward(m, b);
        model_backward(m, b);
        const char *const *names;
        const real *norms;
        m->body_ops->grad_norms(m->body, &names, &norms);
        double ratio = norms[0] / norms[GATES_T - 1];
        ck_assert_msg(ratio > prev, "z_bias %g: ratio %g <= %g", z_bias[k], ratio, prev);
        prev = ratio;
        batch_free(b);
        model_free(m);
    }
    ck_assert_msg(prev > SURVIVES, "z_bias 4: ratio %g", prev);
}
END_TEST

static Suite *make_gru_suite(void)
{
    Suite *s = suite_create("gru");
    TCase *tc = tcase_create("gru");
    tcase_set_timeout(tc, 60);
#ifdef SEQLAB_DOUBLE
    /* finite differences need double precision to reach GRADCHECK_TOL */
    tcase_add_test(tc, test_gru_gradcheck_tokens);
    tcase_add_test(tc, test_gru_gradcheck_features_regression);
#endif
    tcase_add_test(tc, test_gru_forward_equals_steps);
    tcase_add_test(tc, test_gru_blas_equals_reference);
    tcase_add_test(tc, test_gru_split_equals_whole);
    tcase_add_test(tc, test_gru_grad_norms);
    tcase_add_test(tc, test_gru_sgd_reduces_loss);
    tcase_add_test(tc, test_gru_parameter_names_and_shapes);
    tcase_add_test(tc, test_gru_hand_computed_h1);
    tcase_add_test(tc, test_gru_update_gate_keeps_gradient_alive);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(make_gru_suite());
}
