/*
 * ops_fast.c — the linear layer as matrix products (GSL CBLAS over
 * OpenBLAS): the same y = x W^T + b and its three backprop rules as the
 * plain loops of ops.c (linear_forward_ref, linear_backward_ref), which are
 * the lesson; and the head's softmax cross-entropy with each row's softmax
 * a vector at a time (softmax_xent_forward_ref is its plain loop).
 * tests/test_ops.c holds each pair equal.  In the reference build
 * (REFERENCE_BUILD, real.h) these hand over to the plain loops.
 *
 *     y  = x W^T + b        (N,I) x (I,O): one GEMM
 *                           (linear_forward_residual: y = r + x W^T + b)
 *     dx += dy W            (N,O) x (O,I)    (linear_backward_set: dx = dy W)
 *     dW += dy^T x          (O,N) x (N,I)
 *     db += sum_n dy
 */
#include "ops.h"

#include <assert.h>
#include <math.h>
#include <string.h>

#include "vecmath.h"

void linear_forward(real *y, const real *x, const real *W, const real *b,
                    int N, int I, int O)
{
    if (REFERENCE_BUILD) {   /* make REFERENCE=1: the plain loops of ops.c */
        linear_forward_ref(y, x, W, b, N, I, O);
        return;
    }
    /* y = x W^T: (N,I) x (I,O) */
    if (b) {
        for (int n = 0; n < N; n++) memcpy(y + (size_t)n * O, b, (size_t)O * sizeof(real));
        real_gemm(0, 1, N, O, I, 1, x, I, W, I, 1, y, O);
    } else {
        real_gemm(0, 1, N, O, I, 1, x, I, W, I, 0, y, O);
    }
}

void linear_forward_residual(real *y, const real *r, const real *x, const real *W,
                             const real *b, int N, int I, int O)
{
    assert(y != r && "linear_forward_residual: y and r must be different arrays");
    if (REFERENCE_BUILD) {   /* the plain form: the layer, then the sum */
        linear_forward_ref(y, x, W, b, N, I, O);
        for (size_t i = 0; i < (size_t)N * O; i++) y[i] += r[i];
        return;
    }
    /* y = r + b row by row, then y += x W^T: one pass fewer over y than
     * the layer followed by the sum */
    for (int n = 0; n < N; n++) {
        real *yn = y + (size_t)n * O;
        memcpy(yn, r + (size_t)n * O, (size_t)O * sizeof(real));
        if (b) vecmath_add(yn, b, (size_t)O);
    }
    real_gemm(0, 1, N, O, I, 1, x, I, W, I, 1, y, O);
}

void linear_backward(real *dx, real *dW, real *db, const real *dy,
                     const real *x, const real *W, int N, int I, int O)
{
    if (REFERENCE_BUILD) {
        linear_backward_ref(dx, dW, db, dy, x, W, N, I, O);
        return;
    }
    if (dx) real_gemm(0, 0, N, I, O, 1, dy, O, W, I, 1, dx, I);   /* (N,O)(O,I) */
    if (dW) real_gemm(1, 0, O, I, N, 1, dy, O, x, I, 1, dW, I);   /* (O,N)(N,I) */
    if (db)   /* db += sum_n dy[n], a row at a time, several elements at once */
        for (int n = 0; n < N; n++) vecmath_add(db, dy + (size_t)n * O, (size_t)O);
}

void linear_backward_set(real *dx, real *dW, real *db, const real *dy,
                         const real *x, const real *W, int N, int I, int O)
{
    assert(dx && "linear_backward_set writes dx: use linear_backward without one");
    if (REFERENCE_BUILD) {   /* the plain form: zero dx, then accumulate */
        memset(dx, 0, (size_t)N * I * sizeof(real));
        linear_backward_ref(dx, dW, db, dy, x, W, N, I, O);
        return;
    }
    /* dx = dy W: the product with beta = 0 writes dx without reading it */
    real_gemm(0, 0, N, I, O, 1, dy, O, W, I, 0, dx, I);   /* (N,O)(O,I) */
    linear_backward(NULL, dW, db, dy, x, W, N, I, O);
}

double softmax_xent_forward(real *probs, const real *logits, const int *targets,
                            int N, int V, int *count, int *correct)
{
    /* probs (N,V), logits (N,V), targets (N) */
    if (REFERENCE_BUILD)
        return softmax_xent_forward_ref(probs, logits, targets, N, V, count, correct);
    double loss = 0;
    int counted = 0, right = 0;
    for (int n = 0; n < N; n++) {
        const real *z = logits + (size_t)n * V;
        /* p = exp(z - max z) / sum exp(z - max z), one vector pass each */
        real zmax;
        double sum = vecmath_softmax_sum(probs + (size_t)n * V, z, (size_t)V, &zmax);
        int y = targets[n];
        if (y == TARGET_IGNORE) continue;
        assert(y >= 0 && y < V);
        /* -log p[y] = log sum exp(z - zmax) - (z[y] - zmax) */
        loss += log(sum) - (double)(z[y] - zmax);
        counted++;
        /* right when y is the first index of the max (the plain loop's argmax) */
        if (z[y] == zmax) {
            int first = 0;
            while (first < y && z[first] != zmax) first++;
            right += first == y;
        }
    }
    if (count) *count = counted;
    if (correct) *correct = right;
    return loss;
}
