/*
 * attention.c — multi-head scaled dot-product attention, causal (GPT, the
 * decoder) or not (BERT, the encoder).
 *
 * For one head, with the queries Q, keys K and values V of all T positions
 * as (T,dk) matrices:
 *
 *     S = Q K^T / sqrt(dk)                 scores (T,T): query t against key s
 *     causal:  S[t,s] = -inf for s > t     the causal mask: no peeking ahead
 *     encoder: S[t,s] = -inf for s >= n    the key padding mask: a row of n
 *                                          real tokens (Batch.lengths) padded
 *                                          to T never attends to the padding
 *     P = softmax_rows(S)                  each row a distribution over the
 *                                          keys it may see
 *     O = P V                              (T,dk) a weighted average of values
 *
 * The causal mask alone needs no lengths: padding sits after the real
 * tokens, which never look forward.  Without it every real position sees
 * every real position, before and after it — the whole point of an encoder
 * ("it" can look at "tired" three words later).  Query rows t >= n (the
 * padding) are computed too, against the real keys; nothing reads them.
 *
 * Multi-head attention splits the C channels into NH groups of dk = C/NH:
 * head h reads channels h*dk .. (h+1)*dk-1 of q, k and v and writes the same
 * channels of the output.  Heads run in parallel, each free to attend to
 * something different; the output projection (transformer.c) mixes them.
 *
 * Why 1/sqrt(dk): if q and k have independent unit-variance entries, q.k is
 * a sum of dk such products and has variance dk.  Dividing by sqrt(dk) keeps
 * the scores at unit scale whatever the head width, so the softmax starts
 * out soft instead of saturated (where its gradient vanishes).
 *
 * Nothing in one query's row depends on another's: all T queries can be
 * computed at once, which is what makes attention parallel over time — and
 * what makes P, (B,NH,T,T), the O(T^2) memory of a Transformer.  The loops
 * below go one query at a time and skip the masked triangle; the same
 * computation as matrix products, in row blocks, is attention_fast.c (what
 * the default build trains with; the reference build, `make REFERENCE=1`,
 * trains with these loops).
 *
 * What this file is not: the q/k/v and output projections (linear layers in
 * transformer.c) or the KV cache bookkeeping (also there).
 *
 * Shapes: B batch, T time, C width, NH heads, dk = C/NH.  qkv is (B,T,3C),
 * each row [q (C) | k (C) | v (C)], so head h of q at (b,t) starts at
 * qkv[(b*T + t)*3C + h*dk], of k at +C, of v at +2C: one (T,dk) matrix per
 * head with leading dimension 3C, used by the GEMMs in place.
 */
#include "transformer.h"

#include <assert.h>
#include <math.h>
#include <string.h>


/* how many keys, 0 .. keys-1, query t of a row with n real tokens sees */
static int visible_keys(int causal, int t, int n)
{
    return causal ? t + 1 : n;
}

/* the real tokens of row b: lengths[b], or all T without lengths */
static int row_length(const int *lengths, int b, int T)
{
    if (!lengths) return T;
    assert(lengths[b] >= 1 && lengths[b] <= T);
    return lengths[b];
}

/* softmax over the first n entries of row (in place); the rest stay as given */
static void softmax_prefix(real *row, int n)
{
    /* p_s = exp(S_s - max) / sum_s' exp(S_s' - max): subtracting the max
     * keeps exp() from overflowing and does not change the result */
    real max = row[0];
    for (int s = 1; s < n; s++)
        if (row[s] > max) max = row[s];
    double sum = 0;
    for (int s = 0; s < n; s++) {
        row[s] = real_exp(row[s] - max);
        sum += row[s];
    }
    for (int s = 0; s < n; s++) row[s] = (real)(row[s] / sum);
}

/* ============================== forward =================================== */

void attention_forward_ref(real *out, real *probs, const real *qkv, int B, int T, int C, int NH,
                           int causal, const int *lengths)
{
    /* out (B,T,C), probs (B,NH,T,T), qkv (B,T,3C), lengths (B) or NULL */
    assert(C % NH == 0);
    int dk = C / NH, C3 = 3 * C;
    real scale = (real)(1.0 / sqrt((double)dk));
    for (int b = 0; b < B; b++)
        for (int h = 0; h < NH; h++)
            for (int t = 0; t < T; t++) {
                int nk = visible_keys(causal, t, row_length(lengths, b, T));
                const real *q = qkv + ((size_t)b * T + t) * C3 + h * dk;     /* (dk) */
                real *p = probs + (((size_t)b * NH + h) * T + t) * T;        /* (T) row t */
                /* S[t,s] = q_t . k_s / sqrt(dk), only s < nk: the rest is masked */
                for (int s = 0; s < nk; s++) {
                    const real *k = qkv + ((size_t)b * T + s) * C3 + C + h * dk;
                    real dot = 0;
                    for (int i = 0; i < dk; i++) dot += q[i] * k[i];
                    p[s] = dot * scale;
                }
                /* P[t,:] = softmax(S[t, 0..nk-1]);  P[t,s] = 0 for s >= nk */
                softmax_prefix(p, nk);
                for (int s = nk; s < T; s++) p[s] = 0;
                /* O[t] = sum_{s < nk} P[t,s] v_s */
                real *o = out + ((size_t)b * T + t) * C + h * dk;            /* (dk) */
                for (int i = 0; i < dk; i++) o[i] = 0;
                for (int s = 0; s < nk; s++) {
                    const real *v = qkv + ((size_t)b * T + s) * C3 + 2 * C + h * dk;
                    for (int i = 0; i < dk; i++) o[i] += p[s] * v[i];
                }
            }
}

/* ============================== backward ==================================
 * forward: S = Q K^T / sqrt(dk), P = softmax_rows(S), O = P V.  In reverse:
 *     dP = dO V^T                         dV += P^T dO
 *     dS[t,s] = P[t,s] (dP[t,s] - sum_s' P[t,s'] dP[t,s'])     (softmax)
 *     dQ += dS K / sqrt(dk)               dK += dS^T Q / sqrt(dk)
 * Masked entries have P = 0, hence dS = 0: no gradient flows to the future
 * (causal) or to the padding (encoder). */

void attention_backward_ref(real *dqkv, real *scratch, const real *dout, const real *qkv,
                            const real *probs, int B, int T, int C, int NH, int causal,
                            const int *lengths)
{
    /* dqkv (B,T,3C), scratch (T,T) (one row used), dout (B,T,C), qkv (B,T,3C),
     * probs (B,NH,T,T), lengths (B) or NULL */
    assert(C % NH == 0);
    int dk = C / NH, C3 = 3 * C;
    real scale = (real)(1.0 / sqrt((double)dk));
    real *dp = scratch;                                                  /* (T) */
    for (int b = 0; b < B; b++)
        for (int h = 0; h < NH; h++)
            for (int t = 0; t < T; t++) {
                int nk = visible_keys(causal, t, row_length(lengths, b, T));
                const real *p = probs + (((size_t)b * NH + h) * T + t) * T;  /* (T) */
                const real *dO = dout + ((size_t)b * T + t) * C + h * dk;    /* (dk) */
                const real *q = qkv + ((size_t)b * T + t) * C3 + h * dk;     /* (dk) */
                real *dq = dqkv + ((size_t)b * T + t) * C3 + h * dk;         /* (dk) */
                /* dP[t,s] = dO_t . v_s;  dv_s += P[t,s] dO_t */
                real dot = 0;
                for (int s = 0; s < nk; s++) {
                    const real *v = qkv + ((size_t)b * T + s) * C3 + 2 * C + h * dk;
                    real *dv = dqkv + ((size_t)b * T + s) * C3 + 2 * C + h * dk;
                    real acc = 0;
                    for (int i = 0; i < dk; i++) {
                        acc += dO[i] * v[i];
                        dv[i] += p[s] * dO[i];
                    }
                    dp[s] = acc;
                    dot += p[s] * acc;                  /* sum_s' P[t,s'] dP[t,s'] */
                }
                for (int s = 0; s < nk; s++) {
                    /* dS[t,s] = P[t,s] (dP[t,s] - dot) */
                    real ds = p[s] * (dp[s] - dot);
                    const real *k = qkv + ((size_t)b * T + s) * C3 + C + h * dk;
                    real *dkk = dqkv + ((size_t)b * T + s) * C3 + C + h * dk;
                    /* dq_t += dS[t,s] k_s / sqrt(dk);  dk_s += dS[t,s] q_t / sqrt(dk) */
                    for (int i = 0; i < dk; i++) {
                        dq[i] += scale * ds * k[i];
                        dkk[i] += scale * ds * q[i];
                    }
                }
            }
}

/* ========================= one step, with a cache ========================= */

void attention_step(real *out, real *scores, const real *q, int ld_q, const real *kcache,
                    const real *vcache, int B, int t, int Tcap, int C, int NH)
{
    /* out (B,C), scores (t+1), q (B,ld_q), kcache and vcache (B,Tcap,C) */
    assert(C % NH == 0 && t < Tcap);
    int dk = C / NH;
    real scale = (real)(1.0 / sqrt((double)dk));
    for (int b = 0; b < B; b++)
        for (int h = 0; h < NH; h++) {
            const real *qh = q + (size_t)b * ld_q + h * dk;                  /* (dk) */
            const real *K = kcache + (size_t)b * Tcap * C + h * dk;          /* (t+1,dk), ld C */
            const real *V = vcache + (size_t)b * Tcap * C + h * dk;          /* (t+1,dk), ld C */
            /* S[t,s] = q_t . k_s / sqrt(dk) for s <= t: the new token sees only the past */
            for (int s = 0; s <= t; s++) {
                real dot = 0;
                for (int i = 0; i < dk; i++) dot += qh[i] * K[(size_t)s * C + i];
                scores[s] = dot * scale;
            }
            softmax_prefix(scores, t + 1);
            /* O[t] = sum_s P[t,s] v_s */
            real *o = out + (size_t)b * C + h * dk;
            memset(o, 0, (size_t)dk * sizeof(real));
            for (int s = 0; s <= t; s++)
                for (int i = 0; i < dk; i++) o[i] += scores[s] * V[(size_t)s * C + i];
        }
}
