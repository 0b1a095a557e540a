/*
 * vecmath.h — exp, tanh, the logistic sigmoid and the GELU of whole arrays,
 * softmax and LayerNorm of one row, and y += x: fast.
 *
 * The recurrent cells, the softmax and the attention spend much of their
 * non-matrix time in these three functions.  Called one element at a time
 * from libm they cost 5-20 ns each (float tanhf goes through expm1f);
 * computed 4 or 8 at a time with a range reduction and a short polynomial they
 * cost well under 1 ns, and are within a few units in the last place of
 * libm (vecmath.c says how, and tests/test_vecmath.c checks it).  The
 * GELU's x Phi(x) (erf, exp) likewise.
 *
 * In the double build (gradient checks) and the reference build (`make
 * REFERENCE=1`) each function IS its `_ref` twin, libm one element at a
 * time, so finite differences see exact functions and the reference build
 * runs no vector code.
 *
 * All take y (n), x (n) and allow y == x (in place).  NaN in gives NaN out
 * (the trainer's divergence check relies on it).
 */
#ifndef SEQLAB_VECMATH_H
#define SEQLAB_VECMATH_H

#include <stddef.h>
#include "real.h"

/* y = e^x.  Inputs beyond float's range are clamped to it: e^x for
 * x < -87.3 gives ~1e-38 rather than a denormal, and x > 88.3 gives ~2e38
 * rather than infinity. */
void vecmath_exp(real *y, const real *x, size_t n);
/* y = tanh(x) */
void vecmath_tanh(real *y, const real *x, size_t n);
/* y = 1 / (1 + e^-x) */
void vecmath_sigmoid(real *y, const real *x, size_t n);
/* y = gelu(x) = x Phi(x), Phi the standard normal CDF (the exact GELU, not
 * the tanh approximation); for transformer/gelu.c */
void vecmath_gelu(real *y, const real *x, size_t n);
/* dx += dy * gelu'(x) = dy (Phi(x) + x phi(x)), phi the normal density;
 * dx (n), dy (n), x (n) the GELU's input */
void vecmath_gelu_backward(real *dx, const real *dy, const real *x, size_t n);
/* the same written, not added: dx = dy * gelu'(x) (dx need not be zeroed) */
void vecmath_gelu_backward_set(real *dx, const real *dy, const real *x, size_t n);
/* y = gelu(x) and slope = gelu'(x) = Phi(x) + x phi(x) together, for a
 * forward whose backward needs only the slope; slope may be x */
void vecmath_gelu_slope(real *y, real *slope, const real *x, size_t n);

/* y += x (n): the sum behind every bias gradient and embedding gradient */
void vecmath_add(real *y, const real *x, size_t n);

/* sum_i x_i^2 (n) in double: real_sumsq (real.h) with several partial sums
 * of 4 doubles, so that it is not one addition's latency per element
 * (the global gradient norm over every parameter, the ||dL/dx_t|| curves);
 * within ~1e-15 relative of the one-after-another sum */
double vecmath_sumsq(const real *x, size_t n);

/* x (n) = softmax(x) in place: p_i = e^{x_i - max x} / sum_j e^{x_j - max x}
 * (subtracting the max keeps e^ from overflowing), one row of attention */
void vecmath_softmax(real *x, size_t n);
/* p (n) = softmax(z), p may be z; *zmax = max z; returns the sum
 * sum_j e^{z_j - max z}, so that -log p_y = log(sum) - (z_y - max z) exactly
 * even where p_y underflows (the head's cross-entropy) */
double vecmath_softmax_sum(real *p, const real *z, size_t n, real *zmax);
/* its backward in place: with p = softmax(s) and d (n) = dL/dp on entry,
 * d becomes dL/ds = p (d - sum_j p_j d_j) */
void vecmath_softmax_backward(real *d, const real *p, size_t n);

/* LayerNorm of one row of C: y = (x - mu) rstd w + b with mu the mean of
 * x and rstd = 1 / sqrt(var + eps); *mean = mu, *rstd = rstd */
void vecmath_layernorm(real *y, real *mean, real *rstd, const real *x, const real *w,
                       const real *b, size_t C, double eps);
/* its backward for one row, accumulating: with xhat = (x - mean) rstd and
 * g = dy w,  dx += rstd (g - mean(g) - xhat mean(g xhat)),  dw += dy xhat,
 * db += dy.  dx, dw, db may be NULL. */
void vecmath_layernorm_backward(real *dx, real *dw, real *db, const real *dy, const real *x,
                                const real *w, real mean, real rstd, size_t C);
/* (their plain loops are transformer/layernorm.c's layernorm_*_ref) */

/* the plain libm loops: what the fast versions must equal */
void vecmath_exp_ref(real *y, const real *x, size_t n);
void vecmath_tanh_ref(real *y, const real *x, size_t n);
void vecmath_sigmoid_ref(real *y, const real *x, size_t n);
/* (the GELU's plain loops are transformer/gelu.c's gelu_forward_ref and
 * gelu_backward_ref) */

#endif
