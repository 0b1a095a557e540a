/*
 * gelu.c — the Gaussian Error Linear Unit (Hendrycks & Gimpel 2016), exact form.
 *
 *     gelu(x) = x Phi(x) = 0.5 x (1 + erf(x / sqrt 2))
 *
 * Phi is the standard normal CDF: the input is kept in proportion to how
 * likely a standard normal is to fall below it — a smooth ReLU that lets a
 * little negative signal through.  This is PyTorch's nn.GELU() default
 * (approximate='none'), not the tanh approximation GPT-2 shipped with.
 *
 * What this file is not: the MLP around it (transformer.c: fc -> gelu -> proj).
 *
 * Shapes: n elements, any layout (the MLP passes (B,T,F)).
 */
#include "transformer.h"

#include <math.h>
#include <string.h>

#include "vecmath.h"

/* 1 / sqrt(2) and 1 / sqrt(2 pi) */
#define INV_SQRT2 0.70710678118654752440
#define INV_SQRT_2PI 0.39894228040143267794

/* The plain loops, in double: what a student reads, and what the fast
 * versions below must equal (tests/test_vecmath.c). */
void gelu_forward_ref(real *out, const real *inp, size_t n)
{
    /* out (n), inp (n) */
    for (size_t i = 0; i < n; i++) {
        double x = inp[i];
        /* y = 0.5 x (1 + erf(x / sqrt 2)), written with erfc(u) = 1 - erf(u)
         * so that far below zero, where 1 + erf rounds to 0, Phi keeps its digits */
        out[i] = (real)(0.5 * x * erfc(-x * INV_SQRT2));
    }
}

void gelu_backward_ref(real *dinp, const real *dout, const real *inp, size_t n)
{
    /* dinp (n), dout (n), inp (n): the saved input x, not the output */
    for (size_t i = 0; i < n; i++) {
        double x = inp[i];
        /* forward: y = x Phi(x), so dy/dx = Phi(x) + x phi(x),
         * Phi(x) = 0.5 (1 + erf(x / sqrt 2)), phi(x) = exp(-x^2 / 2) / sqrt(2 pi) */
        double cdf = 0.5 * erfc(-x * INV_SQRT2);
        double pdf = exp(-0.5 * x * x) * INV_SQRT_2PI;
        dinp[i] += dout[i] * (real)(cdf + x * pdf);
    }
}

/* The training forward keeps, instead of the input x, the slope gelu'(x):
 * it is all the backward needs of x, and Phi and phi share their exp, so
 * computing the slope here costs little more than gelu(x) alone, and the
 * backward becomes one multiply.  slope may be inp (in place). */
void gelu_forward_slope_ref(real *out, real *slope, const real *inp, size_t n)
{
    /* out (n), slope (n), inp (n) */
    for (size_t i = 0; i < n; i++) {
        double x = inp[i];
        double cdf = 0.5 * erfc(-x * INV_SQRT2);
        double pdf = exp(-0.5 * x * x) * INV_SQRT_2PI;
        out[i] = (real)(x * cdf);
        slope[i] = (real)(cdf + x * pdf);
    }
}

void gelu_backward_slope_set(real *dinp, const real *dout, const real *slope, size_t n)
{
    /* dinp (n), dout (n), slope (n) from gelu_forward_slope: dL/dx = dL/dy dy/dx,
     * written, not added (a plain loop: the compiler vectorises it) */
    for (size_t i = 0; i < n; i++) dinp[i] = dout[i] * slope[i];
}

/* The same functions several elements at a time (core/vecmath.c: erfc by a
 * rational approximation, exp by range reduction); in the reference build
 * (`make REFERENCE=1`) the plain loops above. */
void gelu_forward(real *out, const real *inp, size_t n)
{
    if (REFERENCE_BUILD) {
        gelu_forward_ref(out, inp, n);
        return;
    }
    vecmath_gelu(out, inp, n);
}

void gelu_backward(real *dinp, const real *dout, const real *inp, size_t n)
{
    if (REFERENCE_BUILD) {
        gelu_backward_ref(dinp, dout, inp, n);
        return;
    }
    vecmath_gelu_backward(dinp, dout, inp, n);
}

void gelu_backward_set(real *dinp, const real *dout, const real *inp, size_t n)
{
    if (REFERENCE_BUILD) {   /* the plain form: zero, then accumulate */
        memset(dinp, 0, n * sizeof(real));
        gelu_backward_ref(dinp, dout, inp, n);
        return;
    }
    vecmath_gelu_backward_set(dinp, dout, inp, n);
}

void gelu_forward_slope(real *out, real *slope, const real *inp, size_t n)
{
    if (REFERENCE_BUILD) {
        gelu_forward_slope_ref(out, slope, inp, n);
        return;
    }
    vecmath_gelu_slope(out, slope, inp, n);
}
