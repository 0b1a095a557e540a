/*
 * cross_attention.c — multi-head attention of one set of queries against a
 * separate set of keys and values, with a key padding mask and no causal
 * mask.
 *
 * In the encoder–decoder (encoder_decoder.c) the decoder's positions ask
 * questions of the source sentence: the queries come from the decoder, the
 * keys and values from the encoder's output.  For one head, with Tq query
 * rows and Tk key rows, and n = the row's real source length:
 *
 *     S = Q K^T / sqrt(dk)                 scores (Tq,Tk): target t against source s
 *     S[t,s] = -inf for s >= n             padding is never looked at
 *     P = softmax_rows(S)                  each row a distribution over the n real keys
 *     O = P V                              (Tq,dk)
 *
 * Nothing is masked in time: every target position may look at every
 * source word, and the source is whole before decoding starts.  (The
 * encoder's self-attention, queries, keys and values all from the source,
 * is attention.c's without the causal mask, as in the BERT-style encoder.)
 *
 * P (B,NH,Tq,Tk) is what `seqlab attention` draws for an encoder–decoder:
 * row t says which source words target word t was built from — the
 * alignment of Bahdanau et al.
 *
 * Memory: q at (b*Tq + t)*ldq + h*dk, k and v at (b*Tk + s)*ldkv + h*dk, so
 * one array [q | k | v] (ldq = ldkv = 3C) or separate q (ld C) and [k | v]
 * (ld 2C) are used in place.  The output is (B,Tq,C), heads side by side.
 *
 * What this file is not: the projections that make q, k, v (encoder_decoder.c)
 * or the causal self-attention of the decoder (attention.c).
 *
 * Shapes: B batch, Tq query rows, Tk key rows, C width, NH heads, dk = C/NH.
 */
#include "transformer.h"

#include <assert.h>
#include <math.h>
#include <string.h>

#include "vecmath.h"

/* the real keys of row b: all Tk when no lengths are given */
static int keys_of(const int *key_len, int b, int Tk)
{
    if (!key_len) return Tk;
    assert(key_len[b] >= 1 && key_len[b] <= Tk && "every row needs 1 .. Tk real keys");
    return key_len[b];
}

/* ============================== forward =================================== */

void cross_attention_forward_ref(real *out, real *probs, const real *q, int ldq, const real *k,
                                 const real *v, int ldkv, const int *key_len, int B, int Tq,
                                 int Tk, int C, int NH)
{
    /* out (B,Tq,C), probs (B,NH,Tq,Tk), q (B,Tq,ldq), k and v (B,Tk,ldkv), key_len (B) */
    assert(C % NH == 0);
    int dk = C / NH;
    real scale = (real)(1.0 / sqrt((double)dk));
    for (int b = 0; b < B; b++) {
        int n = keys_of(key_len, b, Tk);
        for (int h = 0; h < NH; h++)
            for (int t = 0; t < Tq; t++) {
                const real *qt = q + ((size_t)b * Tq + t) * ldq + h * dk;      /* (dk) */
                real *p = probs + (((size_t)b * NH + h) * Tq + t) * Tk;        /* (Tk) row t */
                /* S[t,s] = q_t . k_s / sqrt(dk) for the real keys s < n */
                for (int s = 0; s < n; s++) {
                    const real *ks = k + ((size_t)b * Tk + s) * ldkv + h * dk;
                    real dot = 0;
                    for (int i = 0; i < dk; i++) dot += qt[i] * ks[i];
                    p[s] = dot * scale;
                }
                /* P[t,:] = softmax(S[t, 0..n-1]);  P[t,s] = 0 on padding */
                vecmath_softmax(p, (size_t)n);
                for (int s = n; s < Tk; s++) p[s] = 0;
                /* O[t] = sum_{s < n} P[t,s] v_s */
                real *o = out + ((size_t)b * Tq + t) * C + h * dk;
                for (int i = 0; i < dk; i++) o[i] = 0;
                for (int s = 0; s < n; s++) {
                    const real *vs = v + ((size_t)b * Tk + s) * ldkv + h * dk;
                    for (int i = 0; i < dk; i++) o[i] += p[s] * vs[i];
                }
            }
    }
}

void cross_attention_forward(real *out, real *probs, const real *q, int ldq, const real *k,
                             const real *v, int ldkv, const int *key_len, int B, int Tq, int Tk,
                             int C, int NH)
{
    /* out (B,Tq,C), probs (B,NH,Tq,Tk), q (B,Tq,ldq), k and v (B,Tk,ldkv), key_len (B) */
    assert(C % NH == 0);
    int dk = C / NH;
    real scale = (real)(1.0 / sqrt((double)dk));
    for (int b = 0; b < B; b++) {
        int n = keys_of(key_len, b, Tk);
        for (int h = 0; h < NH; h++) {
            const real *Q = q + (size_t)b * Tq * ldq + h * dk;    /* (Tq,dk), ld ldq */
            const real *K = k + (size_t)b * Tk * ldkv + h * dk;   /* (n,dk), ld ldkv */
            const real *V = v + (size_t)b * Tk * ldkv + h * dk;   /* (n,dk), ld ldkv */
            real *P = probs + ((size_t)b * NH + h) * Tq * Tk;     /* (Tq,Tk) */
            real *O = out + (size_t)b * Tq * C + h * dk;          /* (Tq,dk), ld C */
            /* S[:, 0:n] = Q K[0:n]^T / sqrt(dk) */
            real_gemm(0, 1, Tq, n, dk, scale, Q, ldq, K, ldkv, 0, P, Tk);
            /* P = softmax over the real keys; padding gets 0 */
            for (int t = 0; t < Tq; t++) {
                vecmath_softmax(P + (size_t)t * Tk, (size_t)n);
                memset(P + (size_t)t * Tk + n, 0, (size_t)(Tk - n) * sizeof(real));
            }
            /* O = P[:, 0:n] V[0:n] */
            real_gemm(0, 0, Tq, dk, n, 1, P, Tk, V, ldkv, 0, O, C);
        }
    }
}

/* ============================== backward ==================================
 * forward: S = Q K^T / sqrt(dk), P = softmax_rows(S over s < n), O = P V.
 * In reverse:
 *     dP = dO V^T                         dV += P^T dO
 *     dS[t,s] = P[t,s] (dP[t,s] - sum_s' P[t,s'] dP[t,s'])     (softmax)
 *     dQ += dS K / sqrt(dk)               dK += dS^T Q / sqrt(dk)
 * Padded keys have P = 0 and are never read: their k and v get no gradient. */

void cross_attention_backward_ref(real *dq, real *dk_, real *dv, real *scratch, const real *dout,
                                  const real *q, int ldq, const real *k, const real *v, int ldkv,
                                  const real *probs, const int *key_len, int B, int Tq, int Tk,
                                  int C, int NH)
{
    /* dq (B,Tq,ldq) +=, dk_ and dv (B,Tk,ldkv) +=, scratch (Tq,Tk) (one row used),
     * dout (B,Tq,C), q, k, v as in the forward, probs (B,NH,Tq,Tk) */
    assert(C % NH == 0);
    int dk = C / NH;
    real scale = (real)(1.0 / sqrt((double)dk));
    real *dp = scratch;                                                  /* (Tk) */
    for (int b = 0; b < B; b++) {
        int n = keys_of(key_len, b, Tk);
        for (int h = 0; h < NH; h++)
            for (int t = 0; t < Tq; t++) {
                const real *p = probs + (((size_t)b * NH + h) * Tq + t) * Tk;
                const real *dO = dout + ((size_t)b * Tq + t) * C + h * dk;
                const real *qt = q + ((size_t)b * Tq + t) * ldq + h * dk;
                real *dqt = dq + ((size_t)b * Tq + t) * ldq + h * dk;
                /* dP[t,s] = dO_t . v_s;  dv_s += P[t,s] dO_t */
                real dot = 0;
                for (int s = 0; s < n; s++) {
                    const real *vs = v + ((size_t)b * Tk + s) * ldkv + h * dk;
                    real *dvs = dv + ((size_t)b * Tk + s) * ldkv + h * dk;
                    real acc = 0;
                    for (int i = 0; i < dk; i++) {
                        acc += dO[i] * vs[i];
                        dvs[i] += p[s] * dO[i];
                    }
                    dp[s] = acc;
                    dot += p[s] * acc;
                }
                for (int s = 0; s < n; s++) {
                    /* dS[t,s] = P[t,s] (dP[t,s] - dot) */
                    real ds = p[s] * (dp[s] - dot);
                    const real *ks = k + ((size_t)b * Tk + s) * ldkv + h * dk;
                    real *dks = dk_ + ((size_t)b * Tk + s) * ldkv + h * dk;
                    /* dq_t += dS k_s / sqrt(dk);  dk_s += dS q_t / sqrt(dk) */
                    for (int i = 0; i < dk; i++) {
                        dqt[i] += scale * ds * ks[i];
                        dks[i] += scale * ds * qt[i];
                    }
                }
            }
    }
}

void cross_attention_backward(real *dq, real *dk_, real *dv, real *scratch, const real *dout,
                              const real *q, int ldq, const real *k, const real *v, int ldkv,
                              const real *probs, const int *key_len, int B, int Tq, int Tk, int C,
                              int NH)
{
    /* as cross_attention_backward_ref; scratch (Tq,Tk) holds one head's dP, then dS */
    assert(C % NH == 0);
    int dk = C / NH;
    real scale = (real)(1.0 / sqrt((double)dk));
    real *dS = scratch;
    for (int b = 0; b < B; b++) {
        int n = keys_of(key_len, b, Tk);
        for (int h = 0; h < NH; h++) {
            const real *Q = q + (size_t)b * Tq * ldq + h * dk;
            const real *K = k + (size_t)b * Tk * ldkv + h * dk;
            const real *V = v + (size_t)b * Tk * ldkv + h * dk;
            real *dQ = dq + (size_t)b * Tq * ldq + h * dk;
            real *dK = dk_ + (size_t)b * Tk * ldkv + h * dk;
            real *dV = dv + (size_t)b * Tk * ldkv + h * dk;
            const real *P = probs + ((size_t)b * NH + h) * Tq * Tk;   /* (Tq,Tk), n used */
            const real *dO = dout + (size_t)b * Tq * C + h * dk;      /* (Tq,dk), ld C */
            /* dP = dO V[0:n]^T */
            real_gemm(0, 1, Tq, n, dk, 1, dO, C, V, ldkv, 0, dS, Tk);
            /* dV[0:n] += P^T dO */
            real_gemm(1, 0, n, dk, Tq, 1, P, Tk, dO, C, 1, dV, ldkv);
            /* dS = the softmax's backward, one row at a time */
            for (int t = 0; t < Tq; t++)
                vecmath_softmax_backward(dS + (size_t)t * Tk, P + (size_t)t * Tk, (size_t)n);
            /* dQ += dS K / sqrt(dk) */
            real_gemm(0, 0, Tq, dk, n, scale, dS, Tk, K, ldkv, 1, dQ, ldq);
            /* dK[0:n] += dS^T Q / sqrt(dk) */
            real_gemm(1, 0, n, dk, Tq, scale, dS, Tk, Q, ldq, 1, dK, ldkv);
        }
    }
}

double cross_attention_flops(int B, int Tq, int Tk, int C)
{
    /* S = Q K^T and O = P V: 2 Tq Tk dk each per head, NH heads: 4 B Tq Tk C */
    return 4.0 * B * Tq * Tk * C;
}
