/*
 * test_optim.c — SGD, Adam and AdamW against hand-computed steps; clipping
 * bounds the global norm; the warm-up + cosine schedule.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "optim.h"
#include "testutil.h"
#include "util.h"

/* OpenBLAS's thread count, which the optimizer's split follows (parallel.h) */
extern int openblas_get_num_threads(void);
extern void openblas_set_num_threads(int num_threads);

/* hand-computed values below are exact to ~1e-7 relative in float */
#define OPTIM_TOL 1e-6

START_TEST(test_sgd_momentum_by_hand)
{
    real w[2] = {1.0, -2.0}, g[2] = {0.5, 0.25};
    Optimizer *o = optim_alloc(OPTIM_SGD, 2, 0, 0.9);
    /* step 1: u = g = (0.5, 0.25); w = w - 0.1 u = (0.95, -2.025) */
    optim_step(o, w, g, 0.1);
    ck_assert_double_eq_tol(w[0], 0.95, OPTIM_TOL);
    ck_assert_double_eq_tol(w[1], -2.025, OPTIM_TOL);
    /* step 2: u = 0.9 u + g = (0.95, 0.475); w = (0.855, -2.0725) */
    optim_step(o, w, g, 0.1);
    ck_assert_double_eq_tol(w[0], 0.855, OPTIM_TOL);
    ck_assert_double_eq_tol(w[1], -2.0725, OPTIM_TOL);
    optim_free(o);
}
END_TEST

START_TEST(test_sgd_weight_decay_is_l2)
{
    real w[1] = {2.0}, g[1] = {0.0};
    Optimizer *o = optim_alloc(OPTIM_SGD, 1, 0.1, 0);
    /* g + wd w = 0.2; w = 2 - 0.5 * 0.2 = 1.9 */
    optim_step(o, w, g, 0.5);
    ck_assert_double_eq_tol(w[0], 1.9, OPTIM_TOL);
    optim_free(o);
}
END_TEST

START_TEST(test_adam_by_hand)
{
    /* Adam's first step moves every weight by lr * sign(g) (m_hat / sqrt(v_hat) = g / |g|) */
    real w[3] = {1.0, -1.0, 0.5}, g[3] = {0.3, -2.0, 1e-3};
    Optimizer *o = optim_alloc(OPTIM_ADAM, 3, 0, 0);
    optim_step(o, w, g, 0.01);
    ck_assert_double_eq_tol(w[0], 1.0 - 0.01 * 0.3 / (0.3 + 1e-8), OPTIM_TOL);
    ck_assert_double_eq_tol(w[1], -1.0 + 0.01 * 2.0 / (2.0 + 1e-8), OPTIM_TOL);
    ck_assert_double_eq_tol(w[2], 0.5 - 0.01 * 1e-3 / (1e-3 + 1e-8), OPTIM_TOL);
    /* second step with g' = (0.1, ...): m = 0.9*0.03 + 0.1*0.1 = 0.037, v = 0.999*0.00009 + 0.001*0.01 */
    real g2[3] = {0.1, -2.0, 1e-3};
    optim_step(o, w, g2, 0.01);
    double m = 0.9 * (0.1 * 0.3) + 0.1 * 0.1;
    double v = 0.999 * (0.001 * 0.09) + 0.001 * 0.01;
    double mhat = m / (1 - 0.81), vhat = v / (1 - 0.999 * 0.999);
    double expect = (1.0 - 0.01 * 0.3 / (0.3 + 1e-8)) - 0.01 * mhat / (sqrt(vhat) + 1e-8);
    ck_assert_double_eq_tol(w[0], expect, OPTIM_TOL);
    optim_free(o);
}
END_TEST

START_TEST(test_adamw_decay_is_decoupled)
{
    /* zero gradient: Adam with L2 moves by lr * sign(wd w); AdamW by lr * wd * w */
    real wa[1] = {2.0}, ww[1] = {2.0}, g[1] = {0.0};
    Optimizer *adam = optim_alloc(OPTIM_ADAM, 1, 0.1, 0), *adamw = optim_alloc(OPTIM_ADAMW, 1, 0.1, 0);
    optim_step(adam, wa, g, 0.01);
    optim_step(adamw, ww, g, 0.01);
    ck_assert_double_eq_tol(wa[0], 2.0 - 0.01 * 0.2 / (0.2 + 1e-8), OPTIM_TOL);
    ck_assert_double_eq_tol(ww[0], 2.0 - 0.01 * 0.1 * 2.0, OPTIM_TOL);
    optim_free(adam);
    optim_free(adamw);
}
END_TEST

START_TEST(test_clip_bounds_the_norm)
{
    real g[4] = {3, 4, 0, 0};   /* norm 5 */
    double before = grad_clip(g, 4, 1.0);
    ck_assert_double_eq_tol(before, 5.0, OPTIM_TOL);
    ck_assert_double_eq_tol(grad_global_norm(g, 4), 1.0, OPTIM_TOL);
    ck_assert_double_eq_tol(g[0], 0.6, OPTIM_TOL);   /* direction kept */
    ck_assert_double_eq_tol(g[1], 0.8, OPTIM_TOL);
    /* below the threshold nothing changes; max_norm 0 turns clipping off */
    real h[2] = {0.3, 0.4};
    grad_clip(h, 2, 1.0);
    ck_assert(h[0] == (real)0.3 && h[1] == (real)0.4);
    real k[2] = {30, 40};
    ck_assert_double_eq_tol(grad_clip(k, 2, 0), 50.0, OPTIM_TOL);
    ck_assert(k[0] == 30 && k[1] == 40);
}
END_TEST

START_TEST(test_schedule_warmup_then_cosine)
{
    /* linear warm-up: step s < warmup gives lr (s + 1) / warmup */
    ck_assert_double_eq_tol(lr_schedule(0, 100, 10, 1.0), 0.1, 1e-12);
    ck_assert_double_eq_tol(lr_schedule(9, 100, 10, 1.0), 1.0, 1e-12);
    /* cosine from 1 at the end of warm-up to LR_FINAL_FRACTION at the end */
    ck_assert_double_eq_tol(lr_schedule(10, 100, 10, 1.0), 1.0, 1e-12);
    ck_assert_double_eq_tol(lr_schedule(55, 100, 10, 1.0), LR_FINAL_FRACTION + (1 - LR_FINAL_FRACTION) * 0.5, 1e-12);
    ck_assert_double_eq_tol(lr_schedule(100, 100, 10, 1.0), LR_FINAL_FRACTION, 1e-12);
    /* monotone after warm-up */
    for (long s = 11; s <= 100; s++) ck_assert(lr_schedule(s, 100, 10, 1.0) <= lr_schedule(s - 1, 100, 10, 1.0));
}
END_TEST

/* With several threads each takes a slice of the parameters: the update
 * is element by element, so the result is the same to the bit; the norm's
 * slices are added in order, within rounding of the one-thread sum.  Sizes
 * above the split's threshold, and not a multiple of the thread count. */
START_TEST(test_split_over_threads_equals_one_thread)
{
    const size_t n = 1000003;
    const OptimKind kinds[3] = {OPTIM_SGD, OPTIM_ADAM, OPTIM_ADAMW};
    real *w[2], *g[2];
    for (int k = 0; k < 2; k++) {
        w[k] = xmalloc(n * sizeof(real));
        g[k] = xmalloc(n * sizeof(real));
    }
    int saved = openblas_get_num_threads();
    for (int kind = 0; kind < 3; kind++) {
        double norm[2];
        for (int k = 0; k < 2; k++) {
            openblas_set_num_threads(k == 0 ? 1 : 3);
            Optimizer *o = optim_alloc(kinds[kind], n, 0.01, 0.9);
            for (size_t i = 0; i < n; i++) w[k][i] = (real)sin(0.001 * (double)i);
            for (int step = 0; step < 3; step++) {
                for (size_t i = 0; i < n; i++) g[k][i] = (real)cos(0.003 * (double)i + step);
                optim_step(o, w[k], g[k], 1e-2);
            }
            optim_free(o);
            /* sqrt(n / 2) ~ 707 > 100: clipped, so the scaling pass runs too */
            norm[k] = grad_clip(g[k], n, 100.0);
        }
        ck_assert_msg(memcmp(w[0], w[1], n * sizeof(real)) == 0, "kind %d: weights differ", kind);
        ck_assert_double_gt(norm[0], 100);
        ck_assert_double_eq_tol(norm[1], norm[0], 1e-12 * norm[0]);
        assert_allclose(g[1], g[0], n, 1e-6, 0);
        ck_assert_double_eq_tol(grad_global_norm(g[1], n), 100.0, 1e-4);
    }
    openblas_set_num_threads(saved);
    for (int k = 0; k < 2; k++) {
        free(w[k]);
        free(g[k]);
    }
}
END_TEST

static Suite *make_optim_suite(void)
{
    Suite *s = suite_create("optim");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_sgd_momentum_by_hand);
    tcase_add_test(tc, test_sgd_weight_decay_is_l2);
    tcase_add_test(tc, test_adam_by_hand);
    tcase_add_test(tc, test_adamw_decay_is_decoupled);
    tcase_add_test(tc, test_clip_bounds_the_norm);
    tcase_add_test(tc, test_schedule_warmup_then_cosine);
    tcase_add_test(tc, test_split_over_threads_equals_one_thread);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(make_optim_suite());
}
