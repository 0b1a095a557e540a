/*
 * additive_attention.c — Bahdanau's attention (Bahdanau, Cho & Bengio 2015),
 * one decoder step at a time.
 *
 * The recurrent encoder–decoder without attention hands the decoder one
 * vector, the encoder's last state, for the whole sentence.  Bahdanau et
 * al. let the decoder look back at every encoder output h_j instead, with
 * weights it computes anew at each target step t from its own state q:
 *
 *     e_{t,j}  = v . tanh(W_q q + W_k h_j)       a score per source word j
 *     alpha_t  = softmax_j(e_t)                  over the row's real words j < n
 *     c_t      = sum_j alpha_{t,j} h_j           the context of step t
 *
 * W_q q is one (B,H) x (H,H) product per step; the keys W_k h_j do not
 * depend on t, so recurrent_encdec.c makes them once per source sentence
 * (k_j = W_k h_j, "keys" below).  "Additive" because q and h_j meet in a
 * sum inside tanh, where the Transformer's attention multiplies them
 * (cross_attention.c).  alpha (target x source) is the alignment figure of
 * the paper.
 *
 * What this file is not: where q, h_j and c_t come from or go
 * (recurrent_encdec.c).
 *
 * Shapes: B batch, S source length (padded; row b has n = len[b] real
 * words), H hidden.  The encoder's outputs and keys are time-major
 * (S,B,H), like every recurrent state history; z (B,S,H) saves tanh(.)
 * for the backward; alpha is (B,S) with row stride ld_alpha.
 */
#include "additive_attention.h"

#include <assert.h>
#include <string.h>

#include "ops.h"
#include "vecmath.h"

void additive_attention_forward(real *ctx, real *alpha, int ld_alpha, real *z, real *qp,
                                const real *q, const real *keys, const real *values,
                                const int *len, const real *W_q, const real *v, int B, int S, int H)
{
    /* ctx (B,H), alpha (B,ld_alpha), z (B,S,H), qp (B,H) scratch, q (B,H),
     * keys and values (S,B,H), len (B), W_q (H,H), v (H) */
    /* qp = q W_q^T */
    linear_forward(qp, q, W_q, NULL, B, H, H);
    for (int b = 0; b < B; b++) {
        int n = len[b];
        assert(n >= 1 && n <= S);
        real *a = alpha + (size_t)b * ld_alpha;                     /* (S) */
        real *zb = z + (size_t)b * S * H;                           /* (n,H) row b's */
        for (int j = 0; j < n; j++) {
            const real *k = keys + ((size_t)j * B + b) * H;          /* (H) */
            for (int i = 0; i < H; i++) zb[(size_t)j * H + i] = qp[(size_t)b * H + i] + k[i];
        }
        /* z = tanh(W_q q + W_k h_j) for all j at once (core/vecmath.c) */
        vecmath_tanh(zb, zb, (size_t)n * H);
        /* e_{t,j} = v . z_j */
        for (int j = 0; j < n; j++) {
            const real *zj = zb + (size_t)j * H;
            real e = 0;
            for (int i = 0; i < H; i++) e += v[i] * zj[i];
            a[j] = e;
        }
        /* alpha_t = softmax over the real words; padding gets 0 */
        vecmath_softmax(a, (size_t)n);
        for (int j = n; j < S; j++) a[j] = 0;
        /* c_t = sum_j alpha_{t,j} h_j */
        real *c = ctx + (size_t)b * H;
        memset(c, 0, (size_t)H * sizeof(real));
        for (int j = 0; j < n; j++) real_axpy((size_t)H, a[j], values + ((size_t)j * B + b) * H, c);
    }
}

/* forward, in reverse:
 *     c = sum_j alpha_j h_j      =>  dalpha_j = dc . h_j,   dh_j += alpha_j dc
 *     alpha = softmax(e)         =>  de_j = alpha_j (dalpha_j - sum_j' alpha_j' dalpha_j')
 *     e_j = v . z_j              =>  dv += de_j z_j,        dz_j = de_j v
 *     z_j = tanh(qp + k_j)       =>  du_j = dz_j (1 - z_j^2): dqp += du_j, dk_j += du_j
 *     qp = q W_q^T               =>  dq += dqp W_q,         dW_q += dqp^T q */
void additive_attention_backward(real *dq, real *dkeys, real *dvalues, real *dW_q, real *dv,
                                 real *dqp, real *de, const real *dctx, const real *alpha,
                                 int ld_alpha, const real *z, const real *q, const real *values,
                                 const int *len, const real *W_q, const real *v, int B, int S, int H)
{
    /* dq (B,H) +=, dkeys and dvalues (S,B,H) +=, dW_q (H,H) +=, dv (H) +=,
     * dqp (B,H) and de (S) scratch, dctx (B,H), the rest as in the forward */
    memset(dqp, 0, (size_t)B * H * sizeof(real));
    for (int b = 0; b < B; b++) {
        int n = len[b];
        const real *a = alpha + (size_t)b * ld_alpha;
        const real *dc = dctx + (size_t)b * H;
        for (int j = 0; j < n; j++) {
            const real *h = values + ((size_t)j * B + b) * H;
            /* dalpha_j = dc . h_j;  dh_j += alpha_j dc */
            real d = 0;
            for (int i = 0; i < H; i++) d += dc[i] * h[i];
            de[j] = d;
            real_axpy((size_t)H, a[j], dc, dvalues + ((size_t)j * B + b) * H);
        }
        /* de = the softmax's backward */
        vecmath_softmax_backward(de, a, (size_t)n);
        real *dqpb = dqp + (size_t)b * H;
        for (int j = 0; j < n; j++) {
            const real *zj = z + ((size_t)b * S + j) * H;
            real *dk = dkeys + ((size_t)j * B + b) * H;
            for (int i = 0; i < H; i++) {
                /* dv += de_j z_j;  du = de_j v (1 - z^2) */
                dv[i] += de[j] * zj[i];
                real du = de[j] * v[i] * (1 - zj[i] * zj[i]);
                dqpb[i] += du;
                dk[i] += du;
            }
        }
    }
    /* qp = q W_q^T */
    linear_backward(dq, dW_q, NULL, dqp, q, W_q, B, H, H);
}
