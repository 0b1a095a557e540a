/*
 * test_rnn.c — the vanilla RNN body: gradients against finite differences
 * (every parameter and the body input, two layers, odd sizes), forward
 * equal to stepping one token at a time, BLAS path equal to the plain
 * loops, a hand-computed H = 1 case, gradient norms, and a few SGD steps.
 */
#include <math.h>
#include <stdio.h>

#include "recurrent_checks.h"
#include "testutil.h"

static ModelConfig rnn_config(void)
{
    ModelConfig cfg = recurrent_test_config("rnn");
    return cfg;
}

#ifdef SEQLAB_DOUBLE
START_TEST(test_rnn_gradcheck_tokens)
{
    ModelConfig cfg = rnn_config();
    recurrent_check_gradients_tokens(&cfg);
}
END_TEST

START_TEST(test_rnn_gradcheck_features_regression)
{
    ModelConfig cfg = rnn_config();
    recurrent_check_gradients_features(&cfg);
}
END_TEST
#endif

START_TEST(test_rnn_forward_equals_steps)
{
    ModelConfig cfg = rnn_config();
    recurrent_check_forward_equals_steps(&cfg);
}
END_TEST

START_TEST(test_rnn_blas_equals_reference)
{
    ModelConfig cfg = rnn_config();
    recurrent_check_blas_equals_reference(&cfg);
}
END_TEST

START_TEST(test_rnn_split_equals_whole)
{
    ModelConfig cfg = rnn_config();
    recurrent_check_split_equals_whole(&cfg);
}
END_TEST

START_TEST(test_rnn_grad_norms)
{
    ModelConfig cfg = rnn_config();
    recurrent_check_grad_norms(&cfg, 1);
}
END_TEST

START_TEST(test_rnn_sgd_reduces_loss)
{
    ModelConfig cfg = rnn_config();
    recurrent_check_sgd_reduces_loss(&cfg);
}
END_TEST

START_TEST(test_rnn_parameter_names_and_shapes)
{
    ModelConfig cfg = rnn_config();
    recurrent_check_parameter_layout(&cfg, 1);
}
END_TEST

/* H = 1, E = 1, one layer, B = 1, T = 2, with known weights:
 *   W_ih = 0.5, W_hh = -0.8, b_ih = 0.1, b_hh = 0.2, x = (1.0, -2.0)
 *   h_1 = tanh(0.5*1 + 0.1 + (-0.8)*0 + 0.2)        = tanh(0.8)
 *   h_2 = tanh(0.5*(-2) + 0.1 + (-0.8)*h_1 + 0.2)
 * Backward of L = y_1 + 2 y_2 (dy = (1, 2)):
 *   da_2 = 2 (1 - h_2^2)
 *   dh_1 = 1 + da_2 W_hh,   da_1 = dh_1 (1 - h_1^2)
 *   dW_hh = da_2 h_1 + da_1 h_0 = da_2 h_1   (summed over both steps)
 *   dW_ih = da_1 x_1 + da_2 x_2,  db_ih = db_hh = da_1 + da_2 */
START_TEST(test_rnn_hand_computed_h1)
{
    ModelConfig cfg = rnn_config();
    cfg.embed_dim = 1;
    cfg.hidden_size = 1;
    cfg.num_layers = 1;
    Model *m = test_model(&cfg, 1, 2, 3);
    ParamSet *ps = &m->params;
    params_value(ps, params_find(ps, "rnn.weight_ih_l0"))[0] = 0.5;
    params_value(ps, params_find(ps, "rnn.weight_hh_l0"))[0] = -0.8;
    params_value(ps, params_find(ps, "rnn.bias_ih_l0"))[0] = 0.1;
    params_value(ps, params_find(ps, "rnn.bias_hh_l0"))[0] = 0.2;
    real x[2] = {1.0, -2.0}, y[2], dy[2] = {1, 2}, dx[2] = {0, 0};
    m->body_ops->forward(m->body, y, x, 1, 2);
    double h1 = tanh(0.8), h2 = tanh(0.5 * -2.0 + 0.1 - 0.8 * h1 + 0.2);
    real expect_y[2] = {(real)h1, (real)h2};
    assert_allclose(y, expect_y, 2, HAND_RTOL, 0);
    params_zero_grad(ps);
    m->body_ops->backward(m->body, dx, dy, 1, 2);
    double da2 = 2 * (1 - h2 * h2);
    double dh1 = 1 + da2 * -0.8;
    double da1 = dh1 * (1 - h1 * h1);
    real expect_dWhh[1] = {(real)(da2 * h1)};
    real expect_dWih[1] = {(real)(da1 * 1.0 + da2 * -2.0)};
    real expect_db[1] = {(real)(da1 + da2)};
    real expect_dx[2] = {(real)(da1 * 0.5), (real)(da2 * 0.5)};
    assert_allclose(params_grad(ps, params_find(ps, "rnn.weight_hh_l0")), expect_dWhh, 1, HAND_RTOL, 0);
    assert_allclose(params_grad(ps, params_find(ps, "rnn.weight_ih_l0")), expect_dWih, 1, HAND_RTOL, 0);
    assert_allclose(params_grad(ps, params_find(ps, "rnn.bias_ih_l0")), expect_db, 1, HAND_RTOL, 0);
    assert_allclose(params_grad(ps, params_find(ps, "rnn.bias_hh_l0")), expect_db, 1, HAND_RTOL, 0);
    assert_allclose(dx, expect_dx, 2, HAND_RTOL, 0);
    /* the norms are |dL/dh_t| of the total gradient: |dh_1| and |dh_2| = 2 */
    const char *const *names;
    const real *norms;
    ck_assert_int_eq(m->body_ops->grad_norms(m->body, &names, &norms), 1);
    real expect_norms[2] = {(real)fabs(dh1), 2};
    assert_allclose(norms, expect_norms, 2, HAND_RTOL, 0);
    model_free(m);
}
END_TEST

/* init_scale multiplies W_hh only, and the same draws are scaled */
START_TEST(test_rnn_init_scale_scales_w_hh)
{
    ModelConfig cfg = rnn_config();
    Model *a = test_model(&cfg, 2, 3, 11);
    cfg.init_scale = 3.0;
    Model *b = test_model(&cfg, 2, 3, 11);
    for (int l = 0; l < cfg.num_layers; l++) {
        char name[64];
        snprintf(name, sizeof name, "rnn.weight_hh_l%d", l);
        int ia = params_find(&a->params, name), ib = params_find(&b->params, name);
        const real *wa = params_value(&a->params, ia), *wb = params_value(&b->params, ib);
        for (size_t i = 0; i < a->params.views[ia].size; i++)
            ck_assert_double_eq_tol(wb[i], 3.0 * wa[i], 1e-6);
        snprintf(name, sizeof name, "rnn.weight_ih_l%d", l);
        ia = params_find(&a->params, name);
        ib = params_find(&b->params, name);
        assert_allclose(params_value(&b->params, ib), params_value(&a->params, ia),
                        a->params.views[ia].size, 0, 0);
    }
    model_free(a);
    model_free(b);
}
END_TEST

/* The spectral-radius lesson.  With the loss at the last step only,
 * dL/dh_0 = dL/dh_{T-1} times a product of T-1 Jacobians diag(1 - h^2) W_hh:
 * it shrinks geometrically when W_hh is small and grows when it is large.
 * The ratio ||dL/dh_0|| / ||dL/dh_{T-1}|| must rise with init_scale, be
 * vanishingly small at 0.5 and exceed 1 (explode) at 8. */
#define VANISH_T 20
#define VANISH_H 16
#define VANISHED 1e-6   /* "gone": far below any learning signal */
START_TEST(test_rnn_gradient_vanishes_or_explodes_with_w_hh_scale)
{
    const double scales[] = {0.5, 1, 2, 4, 8};
    double ratio[5];
    for (int k = 0; k < 5; k++) {
        ModelConfig cfg = rnn_config();
        cfg.hidden_size = VANISH_H;
        cfg.num_layers = 1;
        cfg.init_scale = scales[k];
        Model *m = test_model(&cfg, RT_B, VANISH_T, 5);
        Batch *b = test_token_batch(RT_B, VANISH_T, RT_V, RT_V, 3);
        for (int i = 0; i < RT_B * VANISH_T; i++)
            b->targets[i] = i % VANISH_T == VANISH_T - 1 ? 1 : TARGET_IGNORE;
        params_zero_grad(&m->params);
        model_forward(m, b);
        model_backward(m, b);
        const char *const *names;
        const real *norms;
        m->body_ops->grad_norms(m->body, &names, &norms);
        ratio[k] = norms[0] / norms[VANISH_T - 1];
        if (k > 0) ck_assert_msg(ratio[k] > ratio[k - 1], "scale %g: ratio %g <= %g", scales[k], ratio[k], ratio[k - 1]);
        batch_free(b);
        model_free(m);
    }
    ck_assert_msg(ratio[0] < VANISHED, "scale 0.5: ratio %g", ratio[0]);
    ck_assert_msg(ratio[4] > 1, "scale 8: ratio %g", ratio[4]);
}
END_TEST

static Suite *make_rnn_suite(void)
{
    Suite *s = suite_create("rnn");
    TCase *tc = tcase_create("rnn");
    tcase_set_timeout(tc, 60);
#ifdef SEQLAB_DOUBLE
    /* finite differences need double precision to reach GRADCHECK_TOL */
    tcase_add_test(tc, test_rnn_gradcheck_tokens);
    tcase_add_test(tc, test_rnn_gradcheck_features_regression);
#endif
    tcase_add_test(tc, test_rnn_forward_equals_steps);
    tcase_add_test(tc, test_rnn_blas_equals_reference);
    tcase_add_test(tc, test_rnn_split_equals_whole);
    tcase_add_test(tc, test_rnn_grad_norms);
    tcase_add_test(tc, test_rnn_sgd_reduces_loss);
    tcase_add_test(tc, test_rnn_parameter_names_and_shapes);
    tcase_add_test(tc, test_rnn_hand_computed_h1);
    tcase_add_test(tc, test_rnn_init_scale_scales_w_hh);
    tcase_add_test(tc, test_rnn_gradient_vanishes_or_explodes_with_w_hh_scale);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(make_rnn_suite());
}
