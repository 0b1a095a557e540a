/*
 * layernorm.c — Layer normalisation (Ba et al. 2016), forward and backward.
 *
 * Each row (one position of one sequence) is normalised over its C channels,
 * then scaled and shifted per channel:
 *
 *     mu   = (1/C) sum_c x_c
 *     var  = (1/C) sum_c (x_c - mu)^2          (biased, as PyTorch)
 *     rstd = 1 / sqrt(var + eps)
 *     xhat = (x - mu) * rstd
 *     y    = xhat * w + b
 *
 * Unlike BatchNorm nothing is shared across the batch or across positions,
 * so a causal model stays causal and one step at generation time is
 * normalised exactly as in training.
 *
 * What this file is not: where LayerNorm sits in the block (transformer.c:
 * before attention and before the MLP, "pre-LN").
 *
 * Shapes: N rows (B*T, or B in step mode), C channels.
 */
#include "transformer.h"

#include <math.h>

#include "vecmath.h"

/* The plain loops, sums in double: what a student reads, and what the fast
 * versions at the end of the file must equal (tests/test_vecmath.c). */
void layernorm_forward_ref(real *out, real *mean, real *rstd, const real *inp,
                           const real *w, const real *b, int N, int C)
{
    /* out (N,C), mean (N), rstd (N), inp (N,C), w (C), b (C) */
    for (int n = 0; n < N; n++) {
        const real *x = inp + (size_t)n * C;
        real *y = out + (size_t)n * C;
        /* mu = (1/C) sum_c x_c   (sums in double: the float build keeps precision) */
        double mu = 0;
        for (int c = 0; c < C; c++) mu += x[c];
        mu /= C;
        /* var = (1/C) sum_c (x_c - mu)^2 */
        double var = 0;
        for (int c = 0; c < C; c++) var += ((double)x[c] - mu) * ((double)x[c] - mu);
        var /= C;
        /* rstd = 1 / sqrt(var + eps) */
        double s = 1.0 / sqrt(var + LAYERNORM_EPS);
        /* y = (x - mu) * rstd * w + b */
        for (int c = 0; c < C; c++) y[c] = (real)(((double)x[c] - mu) * s) * w[c] + b[c];
        mean[n] = (real)mu;
        rstd[n] = (real)s;
    }
}

void layernorm_backward_ref(real *dinp, real *dw, real *db, const real *dout,
                            const real *inp, const real *w, const real *mean,
                            const real *rstd, int N, int C)
{
    /* dinp (N,C), dw (C), db (C), dout (N,C), inp (N,C), w (C), mean (N), rstd (N)
     *
     * forward: y = xhat w + b, xhat = (x - mu) rstd.  With g = dy * w (the
     * gradient reaching xhat), the derivation in README.md gives
     *     dx = rstd * (g - mean_c(g) - xhat * mean_c(g * xhat))
     * the two means are what mu and var (which depend on every x_c) take away. */
    for (int n = 0; n < N; n++) {
        const real *x = inp + (size_t)n * C;
        const real *dy = dout + (size_t)n * C;
        real mu = mean[n], s = rstd[n];
        /* mean_c(g) and mean_c(g * xhat) */
        double g_mean = 0, gx_mean = 0;
        for (int c = 0; c < C; c++) {
            real xhat = (x[c] - mu) * s;
            real g = dy[c] * w[c];
            g_mean += g;
            gx_mean += (double)g * xhat;
        }
        g_mean /= C;
        gx_mean /= C;
        for (int c = 0; c < C; c++) {
            real xhat = (x[c] - mu) * s;
            /* forward: y = xhat w + b, so dw += dy xhat, db += dy */
            if (dw) dw[c] += dy[c] * xhat;
            if (db) db[c] += dy[c];
            /* dx = rstd (g - mean(g) - xhat mean(g xhat)) */
            if (dinp)
                dinp[(size_t)n * C + c] +=
                    s * (real)((double)(dy[c] * w[c]) - g_mean - (double)xhat * gx_mean);
        }
    }
}

/* The same, a row at a time with vector sums (core/vecmath.c); in the
 * reference build (`make REFERENCE=1`) the plain loops above. */
void layernorm_forward(real *out, real *mean, real *rstd, const real *inp,
                       const real *w, const real *b, int N, int C)
{
    /* out (N,C), mean (N), rstd (N), inp (N,C), w (C), b (C) */
    if (REFERENCE_BUILD) {   /* make REFERENCE=1: the plain loops above */
        layernorm_forward_ref(out, mean, rstd, inp, w, b, N, C);
        return;
    }
    for (int n = 0; n < N; n++)
        vecmath_layernorm(out + (size_t)n * C, &mean[n], &rstd[n], inp + (size_t)n * C, w, b, (size_t)C,
                          LAYERNORM_EPS);
}

void layernorm_backward(real *dinp, real *dw, real *db, const real *dout,
                        const real *inp, const real *w, const real *mean,
                        const real *rstd, int N, int C)
{
    /* dinp (N,C) or NULL, dw (C), db (C), dout (N,C), inp (N,C), w (C), mean (N), rstd (N) */
    if (REFERENCE_BUILD) {
        layernorm_backward_ref(dinp, dw, db, dout, inp, w, mean, rstd, N, C);
        return;
    }
    for (int n = 0; n < N; n++)
        vecmath_layernorm_backward(dinp ? dinp + (size_t)n * C : NULL, dw, db, dout + (size_t)n * C,
                                   inp + (size_t)n * C, w, mean[n], rstd[n], (size_t)C);
}
