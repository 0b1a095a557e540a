/*
 * test_vecmath.c — the fast exp, tanh, sigmoid and GELU equal libm's (their
 * `_ref` twins) to a few units in the last place over the whole range the
 * models feed them, pass NaN through, give the right limits, and work in
 * place and on lengths that are not a multiple of the vector width.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "transformer/transformer.h"
#include "util.h"
#include "vecmath.h"

#ifdef SEQLAB_DOUBLE
/* the double build's functions ARE the libm loops */
#define VM_RTOL 0.0
#define VM_ATOL 0.0
#else
/* float's epsilon is 1.2e-7: allow ~4 ulp relative to the result ... */
#define VM_RTOL 5e-7
/* ... and, for results that are near zero only by cancellation (sigmoid
 * of a large negative x, tanh crossing to its polynomial), 1e-30 absolute */
#define VM_ATOL 1e-30
#endif

#ifdef SEQLAB_DOUBLE
#define GELU_RTOL 0.0
#define GELU_ATOL 0.0
#define GELU_GRAD_ATOL 0.0
#else
/* the GELU's erfc is t Q(t) exp(-z^2) with Q a polynomial, relative error
 * 1e-7 in float; rounding x/sqrt 2 and squaring it inside exp(-x^2/2) adds
 * ~(x^2/2) 1.2e-7 relative: measured 3.5e-6 at x = -5.7, and beyond, where
 * |gelu| < 3e-8, it is within 1e-12 absolute */
#define GELU_RTOL 5e-6
#define GELU_ATOL 1e-12
/* gelu'(x) = Phi(x) + x phi(x) is O(1) and crosses zero at x = -0.75, so
 * its error is absolute: measured 1.9e-7, 3 float ulps of 0.56 */
#define GELU_GRAD_ATOL 5e-7
#endif

/* a grid over [lo, hi] with an odd count, so it is not a vector multiple */
#define GRID 200003

typedef void (*VecFn)(real *y, const real *x, size_t n);

static void grid(real *x, size_t n, double lo, double hi)
{
    for (size_t i = 0; i < n; i++) x[i] = (real)(lo + (hi - lo) * (double)i / (double)(n - 1));
}

static void check_against_ref(VecFn fast, VecFn ref, double lo, double hi)
{
    real *x = xmalloc(GRID * sizeof(real)), *y = xmalloc(GRID * sizeof(real)), *e = xmalloc(GRID * sizeof(real));
    grid(x, GRID, lo, hi);
    fast(y, x, GRID);
    ref(e, x, GRID);
    assert_allclose(y, e, GRID, VM_RTOL, VM_ATOL);
    /* in place gives the same */
    fast(x, x, GRID);
    assert_allclose(x, y, GRID, 0, 0);
    free(x);
    free(y);
    free(e);
}

START_TEST(test_exp_equals_libm)
{
    /* softmax feeds z - max z <= 0; nothing in seqlab exceeds float's range */
    check_against_ref(vecmath_exp, vecmath_exp_ref, -87, 88);
    check_against_ref(vecmath_exp, vecmath_exp_ref, -1, 1);
}
END_TEST

START_TEST(test_tanh_equals_libm)
{
    check_against_ref(vecmath_tanh, vecmath_tanh_ref, -20, 20);
    /* near zero and across the switch at |x| = 0.625: relative accuracy */
    check_against_ref(vecmath_tanh, vecmath_tanh_ref, -1, 1);
    check_against_ref(vecmath_tanh, vecmath_tanh_ref, -1e-3, 1e-3);
}
END_TEST

START_TEST(test_sigmoid_equals_libm)
{
    check_against_ref(vecmath_sigmoid, vecmath_sigmoid_ref, -80, 80);
    check_against_ref(vecmath_sigmoid, vecmath_sigmoid_ref, -2, 2);
}
END_TEST

/* gelu_forward / gelu_backward / gelu_backward_set (vecmath) against
 * transformer/gelu.c's plain double loops */
START_TEST(test_gelu_equals_libm)
{
    const double range[2][2] = {{-12, 12}, {-2, 2}};
    real *x = xmalloc(GRID * sizeof(real)), *y = xmalloc(GRID * sizeof(real)), *e = xmalloc(GRID * sizeof(real));
    real *dy = xmalloc(GRID * sizeof(real));
    for (int r = 0; r < 2; r++) {
        grid(x, GRID, range[r][0], range[r][1]);
        gelu_forward(y, x, GRID);
        gelu_forward_ref(e, x, GRID);
        assert_allclose(y, e, GRID, GELU_RTOL, GELU_ATOL);
        /* backward accumulates: start both from the same non-zero values */
        for (size_t i = 0; i < GRID; i++) {
            dy[i] = (real)(0.3 + 0.001 * (double)(i % 1000));
            y[i] = e[i] = (real)(0.25 * (double)(i % 7));
        }
        gelu_backward(y, dy, x, GRID);
        gelu_backward_ref(e, dy, x, GRID);
        assert_allclose(y, e, GRID, GELU_RTOL, GELU_GRAD_ATOL);
        /* the written form: stale values in y are overwritten, not added to */
        for (size_t i = 0; i < GRID; i++) {
            y[i] = 1e3f;
            e[i] = 0;
        }
        gelu_backward_set(y, dy, x, GRID);
        gelu_backward_ref(e, dy, x, GRID);
        assert_allclose(y, e, GRID, GELU_RTOL, GELU_GRAD_ATOL);
        /* the training forward: gelu and its slope together, the slope in
         * place over x; times dy it is the backward's written form */
        real *yr = xmalloc(GRID * sizeof(real)), *sr = xmalloc(GRID * sizeof(real));
        gelu_forward_slope_ref(yr, sr, x, GRID);
        gelu_forward_ref(e, x, GRID);
        assert_allclose(yr, e, GRID, 0, 0);
        gelu_forward_slope(y, x, x, GRID);
        assert_allclose(y, e, GRID, GELU_RTOL, GELU_ATOL);
        assert_allclose(x, sr, GRID, GELU_RTOL, GELU_GRAD_ATOL);
        grid(yr, GRID, range[r][0], range[r][1]);
        for (size_t i = 0; i < GRID; i++) e[i] = 0;
        gelu_backward_ref(e, dy, yr, GRID);
        gelu_backward_slope_set(y, dy, x, GRID);
        assert_allclose(y, e, GRID, GELU_RTOL, GELU_GRAD_ATOL);
        free(yr);
        free(sr);
    }
    free(x);
    free(y);
    free(e);
    free(dy);
}
END_TEST

START_TEST(test_special_values)
{
    enum { N = 7 };
    real x[N] = {0, (real)-0.0, (real)NAN, (real)INFINITY, (real)-INFINITY, (real)1e-30, (real)-1e-30};
    real y[N];
    vecmath_tanh(y, x, N);
    ck_assert(y[0] == 0 && y[1] == 0 && signbit(y[1]));
    ck_assert(isnan(y[2]));
    ck_assert(y[3] == 1 && y[4] == -1);
    ck_assert(y[5] == x[5] && y[6] == x[6]);     /* tanh x = x for tiny x */
    vecmath_sigmoid(y, x, N);
    ck_assert(y[0] == (real)0.5 && isnan(y[2]) && y[3] == 1);
    ck_assert(y[4] >= 0 && y[4] < (real)1e-30);
    vecmath_exp(y, x, N);
    ck_assert(y[0] == 1 && isnan(y[2]));
    ck_assert(y[4] >= 0 && y[4] < (real)1e-30);
    ck_assert(y[3] > (real)1e38);                /* clamped: see vecmath.h */
}
END_TEST

START_TEST(test_every_length)
{
    /* lengths 0 .. 19 cover every tail of a 4- or 8-wide vector; the
     * element past the end must stay untouched */
    real x[21], y[21], e[21];
    for (int i = 0; i < 21; i++) x[i] = (real)(0.37 * i - 3.1);
    for (size_t n = 0; n < 20; n++) {
        for (int i = 0; i < 21; i++) y[i] = e[i] = -7;
        vecmath_tanh(y, x, n);
        vecmath_tanh_ref(e, x, n);
        assert_allclose(y, e, 21, VM_RTOL, VM_ATOL);
        ck_assert(y[n] == -7);
    }
}
END_TEST

START_TEST(test_add_every_length)
{
    /* y += x is the same one addition per element however it is grouped:
     * equal to the plain loop exactly, for every tail length */
    real x[37], y[37], e[37];
    for (int i = 0; i < 37; i++) x[i] = (real)(0.1 * i - 1.7);
    for (size_t n = 0; n < 36; n++) {
        for (int i = 0; i < 37; i++) y[i] = e[i] = (real)(0.3 * i);
        vecmath_add(y, x, n);
        for (size_t i = 0; i < n; i++) e[i] += x[i];
        assert_allclose(y, e, 37, 0, 0);
    }
}
END_TEST

/* partial sums in double regroup the additions of the plain loop: ~n eps
 * of double, far below float's */
#define SUMSQ_RTOL 1e-13

START_TEST(test_sumsq_equals_loop)
{
    /* every tail length past the rounds of 16, and a long array */
    enum { N = 10007 };
    real *x = xmalloc(N * sizeof(real));
    for (int i = 0; i < N; i++) x[i] = (real)(sin(0.37 * i) * (1 + i % 7));
    for (size_t n = 0; n < 40; n++) {
        double want = real_sumsq(n, x), got = vecmath_sumsq(x, n);
        ck_assert_msg(fabs(got - want) <= SUMSQ_RTOL * want, "n = %zu: %.17g against %.17g", n, got, want);
    }
    double want = real_sumsq(N, x), got = vecmath_sumsq(x, N);
    ck_assert_msg(fabs(got - want) <= SUMSQ_RTOL * want, "n = %d: %.17g against %.17g", N, got, want);
    ck_assert_msg(want > 1000, "the test array is not all zeros");
    /* NaN passes through (the trainer's divergence check reads the norm) */
    x[100] = NAN;
    ck_assert(isnan(vecmath_sumsq(x, N)));
    free(x);
}
END_TEST

#ifdef SEQLAB_DOUBLE
#define SOFTMAX_RTOL 1e-14
#else
/* exp within 1 ulp, the sum in float lanes: a few ulps of each p */
#define SOFTMAX_RTOL 1e-6
#endif
#define SOFTMAX_ATOL 1e-12
/* the backward's d_i - sum p d cancels: its error is ~p_i eps |d| absolute,
 * with |d| <= 1 here */
#define SOFTMAX_GRAD_ATOL 2e-7

/* softmax and its backward against the textbook formulas in double, for
 * every length up to 40 (all tails) and a long row; the element past the
 * end is untouched */
START_TEST(test_softmax_and_backward)
{
    enum { MAXN = 1001 };
    real *x = xmalloc((MAXN + 1) * sizeof(real)), *p = xmalloc((MAXN + 1) * sizeof(real));
    real *d = xmalloc((MAXN + 1) * sizeof(real)), *e = xmalloc((MAXN + 1) * sizeof(real));
    for (size_t n = 1; n <= MAXN; n = n < 40 ? n + 1 : MAXN) {
        for (size_t i = 0; i <= n; i++) {
            x[i] = (real)(3.0 * sin(0.7 * (double)i) + 0.01 * (double)i);
            d[i] = (real)(cos(1.3 * (double)i));
        }
        /* forward: p_i = e^{x_i - max} / sum */
        double m = x[0], sum = 0;
        for (size_t i = 1; i < n; i++) m = x[i] > m ? x[i] : m;
        for (size_t i = 0; i < n; i++) sum += exp(x[i] - m);
        for (size_t i = 0; i < n; i++) e[i] = (real)(exp(x[i] - m) / sum);
        e[n] = x[n];
        memcpy(p, x, (n + 1) * sizeof(real));
        vecmath_softmax(p, n);
        assert_allclose(p, e, n + 1, SOFTMAX_RTOL, SOFTMAX_ATOL);
        /* backward: d_i = p_i (d_i - sum_j p_j d_j) */
        double dot = 0;
        for (size_t i = 0; i < n; i++) dot += (double)p[i] * d[i];
        for (size_t i = 0; i < n; i++) e[i] = (real)(p[i] * (d[i] - dot));
        e[n] = d[n];
        vecmath_softmax_backward(d, p, n);
        assert_allclose(d, e, n + 1, SOFTMAX_RTOL, SOFTMAX_GRAD_ATOL);
        if (n == MAXN) break;
    }
    free(x);
    free(p);
    free(d);
    free(e);
}
END_TEST

#ifdef SEQLAB_DOUBLE
#define LN_RTOL 1e-12
#define LN_ATOL 1e-12
#else
/* float lane sums against double sums: the mean is off by ~1e-7 |x|, which
 * moves xhat by ~1e-7 absolute (values here are O(1)) */
#define LN_RTOL 1e-5
#define LN_ATOL 2e-6
#endif

/* layernorm_forward / _backward (vecmath rows) against the plain loops in
 * double, for a row width with a tail (C = 13) and the benchmark's 256 */
START_TEST(test_layernorm_equals_loops)
{
    const int widths[2] = {13, 256};
    enum { N = 7 };
    for (int k = 0; k < 2; k++) {
        int C = widths[k];
        size_t nc = (size_t)N * C;
        real *x = xmalloc(nc * sizeof(real)), *dy = xmalloc(nc * sizeof(real));
        real *w = xmalloc((size_t)C * sizeof(real)), *b = xmalloc((size_t)C * sizeof(real));
        real *y1 = xmalloc(nc * sizeof(real)), *y2 = xmalloc(nc * sizeof(real));
        real m1[N], m2[N], r1[N], r2[N];
        real *dx1 = xcalloc(nc, sizeof(real)), *dx2 = xcalloc(nc, sizeof(real));
        real *dw1 = xcalloc((size_t)C, sizeof(real)), *dw2 = xcalloc((size_t)C, sizeof(real));
        real *db1 = xcalloc((size_t)C, sizeof(real)), *db2 = xcalloc((size_t)C, sizeof(real));
        for (size_t i = 0; i < nc; i++) {
            x[i] = (real)(1.5 * sin(0.37 * (double)i) + 0.3);
            dy[i] = (real)cos(0.91 * (double)i);
        }
        for (int c = 0; c < C; c++) {
            w[c] = (real)(1 + 0.1 * c / C);
            b[c] = (real)(0.05 * c / C);
        }
        layernorm_forward(y1, m1, r1, x, w, b, N, C);
        layernorm_forward_ref(y2, m2, r2, x, w, b, N, C);
        assert_allclose(y1, y2, nc, LN_RTOL, LN_ATOL);
        assert_allclose(m1, m2, N, LN_RTOL, LN_ATOL);
        assert_allclose(r1, r2, N, LN_RTOL, LN_ATOL);
        layernorm_backward(dx1, dw1, db1, dy, x, w, m2, r2, N, C);
        layernorm_backward_ref(dx2, dw2, db2, dy, x, w, m2, r2, N, C);
        assert_allclose(dx1, dx2, nc, LN_RTOL, LN_ATOL);
        assert_allclose(dw1, dw2, (size_t)C, LN_RTOL, LN_ATOL);
        assert_allclose(db1, db2, (size_t)C, LN_RTOL, LN_ATOL);
        free(x); free(dy); free(w); free(b); free(y1); free(y2);
        free(dx1); free(dx2); free(dw1); free(dw2); free(db1); free(db2);
    }
}
END_TEST

static Suite *make_vecmath_suite(void)
{
    Suite *s = suite_create("vecmath");
    TCase *tc = tcase_create("fast = libm");
    tcase_add_test(tc, test_exp_equals_libm);
    tcase_add_test(tc, test_tanh_equals_libm);
    tcase_add_test(tc, test_sigmoid_equals_libm);
    tcase_add_test(tc, test_gelu_equals_libm);
    tcase_add_test(tc, test_special_values);
    tcase_add_test(tc, test_every_length);
    tcase_add_test(tc, test_add_every_length);
    tcase_add_test(tc, test_sumsq_equals_loop);
    tcase_add_test(tc, test_softmax_and_backward);
    tcase_add_test(tc, test_layernorm_equals_loops);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(make_vecmath_suite());
}
