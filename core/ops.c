/*
 * ops.c — linear, embedding, tanh, sigmoid, softmax cross-entropy, MSE.
 * See ops.h for the conventions (accumulating backward, NULL = not needed).
 *
 * The linear layer here is the plain loop (linear_forward_ref,
 * linear_backward_ref); its BLAS version is ops_fast.c.  So is the
 * softmax cross-entropy's forward (softmax_xent_forward_ref; ops_fast.c
 * computes each row's softmax a vector at a time).  tanh, sigmoid and
 * the softmax's exp go through core/vecmath.c, which in the reference and
 * double builds is libm one element at a time.
 */
#include "ops.h"

#include <assert.h>
#include <math.h>
#include <string.h>

#include "vecmath.h"

/* ---- linear -------------------------------------------------------------- */

void linear_forward_ref(real *y, const real *x, const real *W, const real *b,
                        int N, int I, int O)
{
    for (int n = 0; n < N; n++)
        for (int o = 0; o < O; o++) {
            /* y[n,o] = b[o] + sum_i x[n,i] W[o,i] */
            real acc = b ? b[o] : 0;
            for (int i = 0; i < I; i++) acc += x[(size_t)n * I + i] * W[(size_t)o * I + i];
            y[(size_t)n * O + o] = acc;
        }
}

void linear_backward_ref(real *dx, real *dW, real *db, const real *dy,
                         const real *x, const real *W, int N, int I, int O)
{
    for (int n = 0; n < N; n++)
        for (int o = 0; o < O; o++) {
            real g = dy[(size_t)n * O + o];
            if (db) db[o] += g;                                   /* db = sum_n dy */
            for (int i = 0; i < I; i++) {
                if (dx) dx[(size_t)n * I + i] += g * W[(size_t)o * I + i]; /* dx = dy W */
                if (dW) dW[(size_t)o * I + i] += g * x[(size_t)n * I + i]; /* dW = dy^T x */
            }
        }
}

/* ---- embedding ----------------------------------------------------------- */

void embedding_forward(real *x, const int *tokens, const real *W, int N, int E)
{
    for (int n = 0; n < N; n++)
        memcpy(x + (size_t)n * E, W + (size_t)tokens[n] * E, (size_t)E * sizeof(real));
}

void embedding_backward(real *dW, const real *dx, const int *tokens, int N, int E)
{
    for (int n = 0; n < N; n++)
        vecmath_add(dW + (size_t)tokens[n] * E, dx + (size_t)n * E, (size_t)E);
}

/* ---- tanh and sigmoid ---------------------------------------------------- */

void tanh_forward(real *y, const real *x, size_t n)
{
    /* y = tanh(x), several elements at a time (vecmath.c) */
    vecmath_tanh(y, x, n);
}

void tanh_backward(real *dx, const real *dy, const real *y, size_t n)
{
    /* forward: y = tanh(x), so dx = dy (1 - y^2) */
    for (size_t i = 0; i < n; i++) dx[i] += dy[i] * (1 - y[i] * y[i]);
}

void sigmoid_forward(real *y, const real *x, size_t n)
{
    /* y = 1 / (1 + e^-x), several elements at a time (vecmath.c) */
    vecmath_sigmoid(y, x, n);
}

void sigmoid_backward(real *dx, const real *dy, const real *y, size_t n)
{
    /* forward: y = 1 / (1 + e^-x), so dx = dy y (1 - y) */
    for (size_t i = 0; i < n; i++) dx[i] += dy[i] * y[i] * (1 - y[i]);
}

/* ---- softmax cross-entropy ----------------------------------------------- */

double softmax_xent_forward_ref(real *probs, const real *logits, const int *targets,
                                int N, int V, int *count, int *correct)
{
    double loss = 0;
    int counted = 0, right = 0;
    for (int n = 0; n < N; n++) {
        const real *z = logits + (size_t)n * V;
        real *p = probs + (size_t)n * V;
        /* p = exp(z - max z) / sum exp(z - max z): subtracting the max keeps
         * exp() from overflowing and does not change the result */
        real zmax = z[0];
        int argmax = 0;
        for (int v = 1; v < V; v++)
            if (z[v] > zmax) { zmax = z[v]; argmax = v; }
        for (int v = 0; v < V; v++) p[v] = z[v] - zmax;
        vecmath_exp(p, p, (size_t)V);
        double sum = 0;
        for (int v = 0; v < V; v++) sum += p[v];
        for (int v = 0; v < V; v++) p[v] = (real)(p[v] / sum);
        int y = targets[n];
        if (y == TARGET_IGNORE) continue;
        assert(y >= 0 && y < V);
        /* -log p[y] = log sum exp(z - zmax) - (z[y] - zmax), exact even when p[y] underflows */
        loss += log(sum) - (double)(z[y] - zmax);
        counted++;
        right += argmax == y;
    }
    if (count) *count = counted;
    if (correct) *correct = right;
    return loss;
}

void softmax_xent_backward(real *dlogits, const real *probs, const int *targets,
                           int N, int V, real scale)
{
    for (int n = 0; n < N; n++) {
        int y = targets[n];
        if (y == TARGET_IGNORE) continue;
        /* forward: L = -log softmax(z)[y], so dz = softmax(z) - onehot(y) */
        real *dz = dlogits + (size_t)n * V;
        const real *p = probs + (size_t)n * V;
        for (int v = 0; v < V; v++) dz[v] += scale * p[v];
        dz[y] -= scale;
    }
}

/* ---- mean-squared error -------------------------------------------------- */

double mse_forward(const real *pred, const real *value, const int *targets,
                   int N, int *count)
{
    double loss = 0;
    int counted = 0;
    for (int n = 0; n < N; n++) {
        if (targets[n] == TARGET_IGNORE) continue;
        double e = (double)pred[n] - (double)value[n];
        loss += e * e;
        counted++;
    }
    if (count) *count = counted;
    return loss;
}

void mse_backward(real *dpred, const real *pred, const real *value,
                  const int *targets, int N, real scale)
{
    /* forward: L = (pred - value)^2, so dpred = 2 (pred - value) */
    for (int n = 0; n < N; n++)
        if (targets[n] != TARGET_IGNORE) dpred[n] += scale * 2 * (pred[n] - value[n]);
}
