/*
 * ops.h — the shared layer operations, each as a forward/backward pair.
 *
 * Dimension legend: N rows (N = B*T for a sequence batch, or B for one time
 * step), I inputs, O outputs, V vocabulary/classes, E embedding width.
 *
 * Conventions, everywhere in seqlab:
 *   - nn.Linear layout: y = x W^T + b, W stored (O, I).
 *   - Backward functions ACCUMULATE (+=) into every gradient they receive,
 *     parameters and inputs alike; the caller zeroes once per step.
 *   - A NULL gradient pointer means "not needed" (e.g. dx of the first layer).
 *   - The linear layer's plain loops (`linear_forward_ref`, ops.c) are the
 *     lesson; `linear_forward` (ops_fast.c) computes the same with BLAS,
 *     and in the reference build (`make REFERENCE=1`) is the plain loop.
 *     The tests hold the two equal.
 */
#ifndef SEQLAB_OPS_H
#define SEQLAB_OPS_H

#include "batch.h"   /* TARGET_IGNORE */
#include "real.h"

/* ---- linear: y = x W^T + b ----------------------------------------------
 * y (N,O) is overwritten; x (N,I), W (O,I), b (O) or NULL (no bias). */
void linear_forward(real *y, const real *x, const real *W, const real *b,
                    int N, int I, int O);
/* y (N,O) = r + x W^T + b: the layer's output added to a residual stream r
 * (N,O) in the same pass (y may not be r); plain form: linear_forward_ref,
 * then y += r */
void linear_forward_residual(real *y, const real *r, const real *x, const real *W,
                             const real *b, int N, int I, int O);
/* dx (N,I) += dy W;  dW (O,I) += dy^T x;  db (O) += sum_n dy */
void linear_backward(real *dx, real *dW, real *db, const real *dy,
                     const real *x, const real *W, int N, int I, int O);
/* the same, but dx (N,I) = dy W is written, not added to: for a workspace
 * that nothing else adds into (a layer's input gradient inside a block),
 * which then needs no zeroing first.  dW, db accumulate as above.  Its
 * plain form is zeroing dx and linear_backward_ref (the reference build's). */
void linear_backward_set(real *dx, real *dW, real *db, const real *dy,
                         const real *x, const real *W, int N, int I, int O);
void linear_forward_ref(real *y, const real *x, const real *W, const real *b,
                        int N, int I, int O);
void linear_backward_ref(real *dx, real *dW, real *db, const real *dy,
                         const real *x, const real *W, int N, int I, int O);

/* ---- embedding: x[n] = W[token[n]] ---------------------------------------
 * x (N,E), tokens (N) in [0,V), W (V,E) */
void embedding_forward(real *x, const int *tokens, const real *W, int N, int E);
/* dW[token[n]] += dx[n] */
void embedding_backward(real *dW, const real *dx, const int *tokens, int N, int E);

/* ---- elementwise nonlinearities (y, x, n) --------------------------------
 * backward uses the saved output: tanh' = 1 - y^2, sigmoid' = y (1 - y).
 * The forwards may run in place (y == x); see core/vecmath.h for how they
 * are computed several elements at a time. */
void tanh_forward(real *y, const real *x, size_t n);
void tanh_backward(real *dx, const real *dy, const real *y, size_t n);
void sigmoid_forward(real *y, const real *x, size_t n);
void sigmoid_backward(real *dx, const real *dy, const real *y, size_t n);
static inline real sigmoidr(real x);

/* ---- softmax cross-entropy with an ignore mask ---------------------------
 * logits (N,V), targets (N) with TARGET_IGNORE for positions that do not
 * count.  Forward writes probs (N,V) = softmax(logits) and returns the SUM
 * of -log p[target] over counted rows; *count gets how many rows counted
 * and *correct how many had argmax == target (either may be NULL). */
double softmax_xent_forward(real *probs, const real *logits, const int *targets,
                            int N, int V, int *count, int *correct);
/* the same as plain loops (ops.c), the lesson; softmax_xent_forward
 * (ops_fast.c) takes each row a vector at a time (core/vecmath.c) and in
 * the reference build is this one */
double softmax_xent_forward_ref(real *probs, const real *logits, const int *targets,
                                int N, int V, int *count, int *correct);
/* dlogits (N,V) += scale * (probs - onehot(target)) on counted rows.
 * With scale = 1/count this is the gradient of the mean loss. */
void softmax_xent_backward(real *dlogits, const real *probs, const int *targets,
                           int N, int V, real scale);

/* ---- mean-squared error on scored positions ------------------------------
 * pred (N), value (N), targets (N): a row counts unless TARGET_IGNORE.
 * Returns the SUM of (pred - value)^2 over counted rows. */
double mse_forward(const real *pred, const real *value, const int *targets,
                   int N, int *count);
/* dpred += scale * 2 (pred - value) on counted rows */
void mse_backward(real *dpred, const real *pred, const real *value,
                  const int *targets, int N, real scale);

#include <math.h>
static inline real sigmoidr(real x)
{
    /* written so that neither branch overflows exp() */
    if (x >= 0) return (real)1 / ((real)1 + real_exp(-x));
    real e = real_exp(x);
    return e / ((real)1 + e);
}

#endif
