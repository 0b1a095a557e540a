/*
 * additive_attention.h — Bahdanau's additive attention, one decoder step
 * (see additive_attention.c for the equations).
 *
 * Shapes: B batch, S source length, H hidden; keys and values (S,B,H)
 * time-major; row b reads only its first len[b] source positions.
 */
#ifndef SEQLAB_ADDITIVE_ATTENTION_H
#define SEQLAB_ADDITIVE_ATTENTION_H

#include "real.h"

/* ctx (B,H) = sum_j alpha_j values_j with alpha (B, row stride ld_alpha)
 * = softmax_j(v . tanh(q W_q^T + keys_j)); saves z (B,S,H) = the tanh,
 * qp (B,H) = q W_q^T */
void additive_attention_forward(real *ctx, real *alpha, int ld_alpha, real *z, real *qp,
                                const real *q, const real *keys, const real *values,
                                const int *len, const real *W_q, const real *v, int B, int S, int H);
/* dq (B,H), dkeys and dvalues (S,B,H), dW_q (H,H), dv (H) all +=, from
 * dctx (B,H); dqp (B,H) and de (S) are workspaces */
void additive_attention_backward(real *dq, real *dkeys, real *dvalues, real *dW_q, real *dv,
                                 real *dqp, real *de, const real *dctx, const real *alpha,
                                 int ld_alpha, const real *z, const real *q, const real *values,
                                 const int *len, const real *W_q, const real *v, int B, int S, int H);

#endif
