/*
 * test_gru.c — the GRU body: gradients against finite differences (every
 * parameter and the body input, two layers, odd sizes, token and feature
 * input), forward equal to stepping one token at a time, BLAS path equal to
 * the plain loops, a hand-computed H = 1 step, gradient norms, SGD.
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
    tcase_add_test(tc, test_gru_grad_norms);
    tcase_add_test(tc, test_gru_sgd_reduces_loss);
    tcase_add_test(tc, test_gru_parameter_names_and_shapes);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(make_gru_suite());
}
