/*
 * test_ops.c — the shared ops: BLAS versions equal the plain loops, and
 * every backward equals finite differences (double build: <= 1e-6).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_rng.h>

#include "ops.h"
#include "testutil.h"
#include "util.h"

/* BLAS and loop order sum differently: float needs ~1e-5, double ~1e-12 */
#ifdef SEQLAB_DOUBLE
#define KERNEL_RTOL 1e-12
#else
#define KERNEL_RTOL 1e-5
#endif

static void fill(real *a, size_t n, gsl_rng *rng)
{
    for (size_t i = 0; i < n; i++) a[i] = (real)(2 * gsl_rng_uniform(rng) - 1);
}

/* the fast linear backward's dx (N,I), dW (O,I), db (O) against the loops' */
static void assert_linear_grads_close(const real *dx1, const real *dx2, const real *dW1,
                                      const real *dW2, const real *db1, const real *db2, int N,
                                      int I, int O)
{
    assert_allclose(dx1, dx2, (size_t)N * I, KERNEL_RTOL, 1e-6);
    assert_allclose(dW1, dW2, (size_t)O * I, KERNEL_RTOL, 1e-6);
    assert_allclose(db1, db2, (size_t)O, KERNEL_RTOL, 1e-6);
}

START_TEST(test_linear_blas_equals_loops)
{
    enum { N = 7, I = 5, O = 3 };
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    real x[N * I], W[O * I], b[O], dy[N * O];
    fill(x, N * I, rng); fill(W, O * I, rng); fill(b, O, rng); fill(dy, N * O, rng);
    real y1[N * O], y2[N * O];
    linear_forward(y1, x, W, b, N, I, O);
    linear_forward_ref(y2, x, W, b, N, I, O);
    assert_allclose(y1, y2, N * O, KERNEL_RTOL, 1e-6);
    real dx1[N * I] = {0}, dx2[N * I] = {0}, dW1[O * I] = {0}, dW2[O * I] = {0};
    real db1[O] = {0}, db2[O] = {0};
    linear_backward(dx1, dW1, db1, dy, x, W, N, I, O);
    linear_backward_ref(dx2, dW2, db2, dy, x, W, N, I, O);
    assert_linear_grads_close(dx1, dx2, dW1, dW2, db1, db2, N, I, O);
    gsl_rng_free(rng);
}
END_TEST

/* the vector softmax (exp within a few ulp of libm, float lane sums) against
 * the plain loop's libm exp and double sum */
#ifdef SEQLAB_DOUBLE
#define XENT_RTOL 1e-12
#else
#define XENT_RTOL 1e-5
#endif

START_TEST(test_softmax_xent_fast_equals_loops)
{
    /* V = 29 leaves a tail after the vectors of 8; V = 256 is the benchmarks' */
    const int Vs[2] = {29, 256};
    enum { N = 23, VMAX = 256 };
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    for (int k = 0; k < 2; k++) {
        int V = Vs[k];
        real *z = xmalloc((size_t)N * V * sizeof(real));
        real p1[N * VMAX], p2[N * VMAX];
        int tgt[N];
        for (int i = 0; i < N * V; i++) z[i] = (real)(8 * gsl_rng_uniform(rng) - 4);
        for (int n = 0; n < N; n++) tgt[n] = (int)gsl_rng_uniform_int(rng, (unsigned long)V);
        tgt[3] = TARGET_IGNORE;
        /* row 5: its target is the max (right); row 6: the max twice, target
         * the second (wrong: argmax is the first) */
        z[5 * V + tgt[5]] = 9;
        tgt[6] = V - 2;
        z[6 * V + 1] = z[6 * V + V - 2] = 9;
        int c1, c2, r1, r2;
        double L1 = softmax_xent_forward(p1, z, tgt, N, V, &c1, &r1);
        double L2 = softmax_xent_forward_ref(p2, z, tgt, N, V, &c2, &r2);
        ck_assert_int_eq(c1, N - 1);
        ck_assert_int_eq(c1, c2);
        ck_assert_int_eq(r1, r2);
        ck_assert_int_ge(r1, 1);
        ck_assert_msg(fabs(L1 - L2) <= XENT_RTOL * fabs(L2), "loss %.9g against the loops' %.9g", L1, L2);
        assert_allclose(p1, p2, (size_t)N * V, XENT_RTOL, 1e-7);
        free(z);
    }
    gsl_rng_free(rng);
}
END_TEST

START_TEST(test_linear_backward_set_overwrites)
{
    /* dx = dy W whatever dx held; dW and db accumulate as linear_backward's */
    enum { N = 7, I = 5, O = 3 };
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    real x[N * I], W[O * I], dy[N * O];
    fill(x, N * I, rng); fill(W, O * I, rng); fill(dy, N * O, rng);
    real dx1[N * I], dx2[N * I] = {0}, dW1[O * I], dW2[O * I], db1[O], db2[O];
    for (int i = 0; i < N * I; i++) dx1[i] = 1e3f;   /* stale values to be overwritten */
    for (int i = 0; i < O * I; i++) dW1[i] = dW2[i] = (real)(0.1 * i);
    for (int i = 0; i < O; i++) db1[i] = db2[i] = (real)(-0.2 * i);
    linear_backward_set(dx1, dW1, db1, dy, x, W, N, I, O);
    linear_backward_ref(dx2, dW2, db2, dy, x, W, N, I, O);
    assert_linear_grads_close(dx1, dx2, dW1, dW2, db1, db2, N, I, O);
    gsl_rng_free(rng);
}
END_TEST

START_TEST(test_linear_forward_residual)
{
    /* y = r + x W^T + b against the plain layer and the sum, with and
     * without a bias */
    enum { N = 7, I = 5, O = 3 };
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    real x[N * I], W[O * I], b[O], r[N * O];
    fill(x, N * I, rng); fill(W, O * I, rng); fill(b, O, rng); fill(r, N * O, rng);
    for (int with_bias = 0; with_bias <= 1; with_bias++) {
        real y1[N * O], y2[N * O];
        for (int i = 0; i < N * O; i++) y1[i] = 1e3f;   /* stale: overwritten */
        linear_forward_residual(y1, r, x, W, with_bias ? b : NULL, N, I, O);
        linear_forward_ref(y2, x, W, with_bias ? b : NULL, N, I, O);
        for (int i = 0; i < N * O; i++) y2[i] += r[i];
        assert_allclose(y1, y2, N * O, KERNEL_RTOL, 1e-6);
    }
    gsl_rng_free(rng);
}
END_TEST

START_TEST(test_linear_hand_computed)
{
    /* y = x W^T + b with x = [1 2], W = [[3 4] [5 6] [-1 0.5]], b = [0.5 -1 2] */
    real x[2] = {1, 2}, W[6] = {3, 4, 5, 6, -1, 0.5}, b[3] = {0.5, -1, 2};
    real y[3];
    linear_forward(y, x, W, b, 1, 2, 3);
    real expect[3] = {11.5, 16, 2};
    assert_allclose(y, expect, 3, 0, 1e-6);
}
END_TEST

START_TEST(test_softmax_xent_hand_computed)
{
    /* logits [0, ln 2, ln 5] -> p = [1/8, 2/8, 5/8]; target 2 -> loss -ln(5/8) */
    real z[3] = {0, (real)log(2.0), (real)log(5.0)}, p[3];
    int tgt[1] = {2}, count, correct;
    double L = softmax_xent_forward(p, z, tgt, 1, 3, &count, &correct);
    ck_assert_int_eq(count, 1);
    ck_assert_int_eq(correct, 1);
    ck_assert_double_eq_tol(L, -log(5.0 / 8.0), 1e-6);
    real expect[3] = {0.125, 0.25, 0.625};
    assert_allclose(p, expect, 3, 1e-6, 1e-7);
    real dz[3] = {0, 0, 0};
    softmax_xent_backward(dz, p, tgt, 1, 3, 1);
    real dexpect[3] = {0.125, 0.25, -0.375};
    assert_allclose(dz, dexpect, 3, 1e-6, 1e-7);
}
END_TEST

START_TEST(test_softmax_xent_ignore_mask)
{
    real z[6] = {1, 2, 3, 4, 5, 6}, p[6], dz[6] = {0};
    int tgt[2] = {TARGET_IGNORE, 1}, count;
    double L = softmax_xent_forward(p, z, tgt, 2, 3, &count, NULL);
    ck_assert_int_eq(count, 1);
    double lse = log(exp(4.0) + exp(5.0) + exp(6.0));
    ck_assert_double_eq_tol(L, lse - 5.0, 1e-5);
    softmax_xent_backward(dz, p, tgt, 2, 3, 1);
    for (int i = 0; i < 3; i++) ck_assert(dz[i] == 0);   /* ignored row gets no gradient */
}
END_TEST

START_TEST(test_softmax_xent_large_logits_stay_finite)
{
    real z[2] = {1000, -1000}, p[2];
    int tgt[1] = {1};
    double L = softmax_xent_forward(p, z, tgt, 1, 2, NULL, NULL);
    ck_assert(isfinite(L));
    ck_assert_double_eq_tol(L, 2000.0, 1e-3);
}
END_TEST

/* L(z) for one row, in double, for finite differences of the backward */
static double xent_loss(const real *z, int V, int y)
{
    real p[16];
    int t[1] = {y};
    return softmax_xent_forward(p, z, t, 1, V, NULL, NULL);
}

START_TEST(test_gradients_of_elementwise_ops_and_losses)
{
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 7);
    enum { V = 5 };
    real z[V], p[V], dz[V] = {0};
    fill(z, V, rng);
    int t[1] = {3};
    softmax_xent_forward(p, z, t, 1, V, NULL, NULL);
    softmax_xent_backward(dz, p, t, 1, V, 1);
    double worst = 0, h = GRADCHECK_STEP;
    for (int i = 0; i < V; i++) {
        real s = z[i];
        z[i] = (real)(s + h);  double fp = xent_loss(z, V, 3);
        z[i] = (real)(s - h);  double fm = xent_loss(z, V, 3);
        z[i] = (real)(s + 2 * h); double fp2 = xent_loss(z, V, 3);
        z[i] = (real)(s - 2 * h); double fm2 = xent_loss(z, V, 3);
        z[i] = s;
        worst = fmax(worst, rel_error(dz[i], (-fp2 + 8 * fp - 8 * fm + fm2) / (12 * h)));
    }
    /* tanh and sigmoid: dx = dy f'(x) against (f(x+h) - f(x-h)) / 2h */
    real x[6], y[6], dy[6], dxt[6] = {0}, dxs[6] = {0};
    fill(x, 6, rng); fill(dy, 6, rng);
    tanh_forward(y, x, 6);
    tanh_backward(dxt, dy, y, 6);
    sigmoid_forward(y, x, 6);
    sigmoid_backward(dxs, dy, y, 6);
    for (int i = 0; i < 6; i++) {
        double nt = dy[i] * (tanh(x[i] + h) - tanh(x[i] - h)) / (2 * h);
        double sp = 1 / (1 + exp(-(x[i] + h))), sm = 1 / (1 + exp(-(x[i] - h)));
        double ns = dy[i] * (sp - sm) / (2 * h);
        worst = fmax(worst, fmax(rel_error(dxt[i], nt), rel_error(dxs[i], ns)));
    }
    /* mse: d/dpred (pred - v)^2 = 2 (pred - v) */
    real pred[3] = {0.3, -1.2, 2.0}, val[3] = {0.1, 0.4, 2.5}, dpred[3] = {0};
    int mask[3] = {0, TARGET_IGNORE, 0}, cnt;
    double L = mse_forward(pred, val, mask, 3, &cnt);
    ck_assert_int_eq(cnt, 2);
    ck_assert_double_eq_tol(L, 0.04 + 0.25, 1e-6);
    mse_backward(dpred, pred, val, mask, 3, 1);
    real dexpect[3] = {0.4, 0, -1.0};
    assert_allclose(dpred, dexpect, 3, 1e-6, 1e-6);
#ifdef SEQLAB_DOUBLE
    ck_assert_msg(worst <= GRADCHECK_TOL, "worst relative error %g", worst);
#else
    ck_assert_msg(worst <= 1e-2, "worst relative error %g", worst);
#endif
    gsl_rng_free(rng);
}
END_TEST

START_TEST(test_embedding_forward_backward)
{
    real W[4 * 3] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
    int tok[3] = {2, 0, 2};
    real x[9];
    embedding_forward(x, tok, W, 3, 3);
    real expect[9] = {6, 7, 8, 0, 1, 2, 6, 7, 8};
    assert_allclose(x, expect, 9, 0, 0);
    real dW[12] = {0}, dx[9] = {1, 1, 1, 2, 2, 2, 3, 3, 3};
    embedding_backward(dW, dx, tok, 3, 3);
    real dexpect[12] = {2, 2, 2, 0, 0, 0, 4, 4, 4, 0, 0, 0};  /* row 2 used twice: summed */
    assert_allclose(dW, dexpect, 12, 0, 0);
}
END_TEST

static Suite *make_ops_suite(void)
{
    Suite *s = suite_create("ops");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_linear_blas_equals_loops);
    tcase_add_test(tc, test_linear_hand_computed);
    tcase_add_test(tc, test_linear_backward_set_overwrites);
    tcase_add_test(tc, test_linear_forward_residual);
    tcase_add_test(tc, test_softmax_xent_fast_equals_loops);
    tcase_add_test(tc, test_softmax_xent_hand_computed);
    tcase_add_test(tc, test_softmax_xent_ignore_mask);
    tcase_add_test(tc, test_softmax_xent_large_logits_stay_finite);
    tcase_add_test(tc, test_gradients_of_elementwise_ops_and_losses);
    tcase_add_test(tc, test_embedding_forward_backward);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(make_ops_suite());
}
