/*
 * positions.c — positional encodings: how a Transformer learns where a token is.
 *
 * Attention compares every query with every key by dot products and sums the
 * values with the resulting weights; nothing in that computation knows which
 * key came first.  Permute the earlier tokens and the last position's output
 * is unchanged (tests/test_transformer.c shows it).  So position is added to
 * the input itself:
 *
 *     x0[b,t] = x[b,t] + P[t]
 *
 * with P one of
 *   sinusoidal  P[t,2i] = sin(t / 10000^(2i/C)),  P[t,2i+1] = cos(t / 10000^(2i/C))
 *               (Vaswani et al. 2017): no parameters, defined for any t; each
 *               channel pair is a clock of its own frequency, from one turn
 *               per 2*pi steps down to one per 2*pi*10000 steps.
 *   learned     P = pos.weight (max_seq_len, C), trained like an embedding
 *               (GPT-2); it knows nothing past max_seq_len.
 *   none        P = 0: attention is then blind to order (a bag of tokens).
 *
 * What this file is not: the choice between them (transformer.c reads the
 * config) or rotary / relative encodings, which act inside attention.
 *
 * Shapes: B batch, T time, C width; (B,T,C) tensors batch-major.
 */
#include "transformer.h"

#include <math.h>
#include <string.h>

#include "vecmath.h"

/* the base of the geometric progression of wavelengths (Vaswani et al.) */
#define SINUSOID_BASE 10000.0

void positions_sinusoidal(real *P, int T, int C)
{
    /* P is (T,C) */
    for (int t = 0; t < T; t++)
        for (int c = 0; c < C; c++) {
            int two_i = c - (c % 2);                        /* 2i for both columns of a pair */
            /* angle = t / 10000^(2i/C) */
            double angle = (double)t / pow(SINUSOID_BASE, (double)two_i / (double)C);
            /* P[t,2i] = sin(angle), P[t,2i+1] = cos(angle) */
            P[(size_t)t * C + c] = (real)(c % 2 == 0 ? sin(angle) : cos(angle));
        }
}

void positions_forward(real *x0, const real *x, const real *P, int B, int T, int C)
{
    /* x0 (B,T,C), x (B,T,C), P (T,C) or NULL */
    size_t row = (size_t)T * C;
    for (int b = 0; b < B; b++) {
        real *out = x0 + (size_t)b * row;
        const real *in = x + (size_t)b * row;
        /* x0[b,t] = x[b,t] + P[t] */
        if (P)
            for (size_t i = 0; i < row; i++) out[i] = in[i] + P[i];
        else
            memcpy(out, in, row * sizeof(real));
    }
}

void positions_backward(real *dx, real *dP, const real *dx0, int B, int T, int C)
{
    /* dx (B,T,C), dP (T,C) or NULL, dx0 (B,T,C) */
    size_t row = (size_t)T * C;
    for (int b = 0; b < B; b++) {
        const real *g = dx0 + (size_t)b * row;
        /* forward: x0 = x + P, so dx = dx0 ... */
        if (dx) vecmath_add(dx + (size_t)b * row, g, row);
        /* ... and the one table row P[t] is used by every b: dP[t] = sum_b dx0[b,t] */
        if (dP) vecmath_add(dP, g, row);
    }
}
