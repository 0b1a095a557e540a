/*
 * attention_online.c — exact attention without the T x T matrix: the
 * softmax computed online over blocks of keys, recomputed in the backward.
 *
 * The course says attention costs O(T^2) memory.  That is true of
 * attention.c, which stores P (B,NH,T,T) for the backward; it is not true of
 * attention.  For one query row t (one head):
 *
 *     S_s = q_t . k_s / sqrt(dk)          scores, s over the keys
 *     o_t = sum_s e^{S_s} v_s / sum_s e^{S_s}
 *
 * Both sums can be accumulated one key at a time if we keep three things:
 * m, the largest score seen so far; l, the sum of e^{S_s - m} so far; and
 * o, the sum of e^{S_s - m} v_s so far.  When a new key s arrives with score
 * x (Milakov & Gimelshein 2018, "Online normalizer calculation for softmax"):
 *
 *     m' = max(m, x)
 *     l' = l e^{m - m'} + e^{x - m'}          rescale the old sum to the new max
 *     o' = o e^{m - m'} + e^{x - m'} v_s      the same rescaling for the values
 *
 * and after the last key o_t = o / l.  Every exponent is <= 0 (no overflow,
 * like the usual max-subtracted softmax), the result is exactly the softmax
 * average up to rounding, and the row's scores never exist all at once.
 * Taking the keys a block at a time (ATTENTION_ONLINE_BLOCK) turns the
 * dot products into GEMMs (Rabe & Staats 2021; FlashAttention, Dao et al.
 * 2022): a (block, block) tile of S is computed, folded into the running
 * m, l, o of its rows, and forgotten.
 *
 * The forward saves only out, m and l: 2 numbers per row and head.  The
 * backward rebuilds each tile of P from them,
 *
 *     P[t,s] = e^{S[t,s] - m_t} / l_t,
 *
 * and applies the naive backward tile by tile.  The softmax's backward
 * needs sum_s P[t,s] dP[t,s] for each row; with dP = dO V^T that is
 *
 *     D_t = sum_s P[t,s] (dO_t . v_s) = dO_t . (sum_s P[t,s] v_s) = dO_t . o_t,
 *
 * one dot product per row, computed before the tiles.  So memory is O(T)
 * per head and the price is one more Q K^T product in the backward (the
 * FLOPs go from 4 to 5 T^2 dk per head) — time traded for memory, as in
 * gradient checkpointing.
 *
 * Masks as in attention.c: causal (query t sees keys s <= t) or, for the
 * encoder, the key padding mask (a row of n = lengths[b] real tokens sees
 * keys s < n; its padding queries are computed too, and nothing reads
 * them).
 *
 * What this file is not: the naive attention (attention.c), which also
 * stores P for the attention plots; this one has no P to show.
 *
 * Shapes: B batch, T time, C width, NH heads, dk = C/NH, Bk the block size.
 * qkv (B,T,3C) [q | k | v], head h of each at channels h*dk .. (h+1)*dk-1,
 * so one head's Q, K, V are (T,dk) matrices with leading dimension 3C;
 * out (B,T,C); m, l (B,NH,T).
 */
#include "attention_online.h"

#include <assert.h>
#include <math.h>
#include <string.h>

size_t attention_online_scratch_len(int T)
{
    /* tile (Bk,Bk): S then P;  dtile (Bk,Bk): dP then dS;  D (T) */
    return 2 * (size_t)ATTENTION_ONLINE_BLOCK * ATTENTION_ONLINE_BLOCK + (size_t)T;
}

size_t attention_online_saved_bytes(int B, int T, int C, int NH)
{
    /* out (B,T,C) + m (B,NH,T) + l (B,NH,T) */
    return ((size_t)B * T * C + 2 * (size_t)B * NH * T) * sizeof(real);
}

/* keys 0 .. end-1 that query t of a row with n real tokens sees: causal, up
 * to itself; otherwise the n real ones (attention.c's two masks) */
static int keys_end(int t, int n, int causal)
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

/* ======================= the lesson: one key at a time ==================== */

void attention_online_forward_ref(real *out, real *m, real *l, const real *qkv,
                                  int B, int T, int C, int NH, int causal, const int *lengths)
{
    /* out (B,T,C), m and l (B,NH,T), qkv (B,T,3C), lengths (B) or NULL */
    assert(C % NH == 0);
    int dk = C / NH, C3 = 3 * C;
    real scale = (real)(1.0 / sqrt((double)dk));
    for (int b = 0; b < B; b++)
        for (int h = 0; h < NH; h++)
            for (int t = 0; t < T; t++) {
                const real *q = qkv + ((size_t)b * T + t) * C3 + h * dk;     /* (dk) */
                real *o = out + ((size_t)b * T + t) * C + h * dk;            /* (dk) */
                real mt = -INFINITY, lt = 0;
                memset(o, 0, (size_t)dk * sizeof(real));
                for (int s = 0; s < keys_end(t, row_length(lengths, b, T), causal); s++) {
                    const real *k = qkv + ((size_t)b * T + s) * C3 + C + h * dk;
                    const real *v = k + C;
                    /* x = q_t . k_s / sqrt(dk) */
                    real x = 0;
                    for (int i = 0; i < dk; i++) x += q[i] * k[i];
                    x *= scale;
                    /* m' = max(m, x) */
                    real mn = x > mt ? x : mt;
                    /* l' = l e^{m - m'} + e^{x - m'};  o' = o e^{m - m'} + e^{x - m'} v_s */
                    real corr = real_exp(mt - mn), p = real_exp(x - mn);
                    lt = lt * corr + p;
                    for (int i = 0; i < dk; i++) o[i] = o[i] * corr + p * v[i];
                    mt = mn;
                }
                /* o_t = o / l */
                for (int i = 0; i < dk; i++) o[i] /= lt;
                m[((size_t)b * NH + h) * T + t] = mt;
                l[((size_t)b * NH + h) * T + t] = lt;
            }
}

/* ============================== forward =================================== */

void attention_online_forward(real *out, real *m, real *l, real *scratch, const real *qkv,
                              int B, int T, int C, int NH, int causal, const int *lengths)
{
    /* out (B,T,C), m and l (B,NH,T), scratch (attention_online_scratch_len(T)),
     * qkv (B,T,3C), lengths (B) or NULL */
    assert(C % NH == 0);
    const int Bk = ATTENTION_ONLINE_BLOCK;
    int dk = C / NH, C3 = 3 * C;
    real scale = (real)(1.0 / sqrt((double)dk));
    real *tile = scratch;                                        /* (Bk,Bk): S, then P */
    for (int b = 0; b < B; b++)
        for (int h = 0; h < NH; h++) {
            int n = row_length(lengths, b, T);
            const real *Q = qkv + (size_t)b * T * C3 + h * dk;   /* (T,dk), ld 3C */
            const real *K = Q + C;                               /* (T,dk), ld 3C */
            const real *V = Q + 2 * C;                           /* (T,dk), ld 3C */
            real *O = out + (size_t)b * T * C + h * dk;          /* (T,dk), ld C */
            real *M = m + ((size_t)b * NH + h) * T;              /* (T) */
            real *Lsum = l + ((size_t)b * NH + h) * T;           /* (T) */
            for (int t0 = 0; t0 < T; t0 += Bk) {
                int rows = T - t0 < Bk ? T - t0 : Bk;
                /* m = -inf, l = 0, o = 0 for the block's rows */
                for (int i = 0; i < rows; i++) {
                    M[t0 + i] = -INFINITY;
                    Lsum[t0 + i] = 0;
                    memset(O + (size_t)(t0 + i) * C, 0, (size_t)dk * sizeof(real));
                }
                /* causal: the last row t0+rows-1 sees keys up to itself;
                 * otherwise the n real keys */
                int kend = causal ? t0 + rows : n;
                for (int s0 = 0; s0 < kend; s0 += Bk) {
                    int cols = kend - s0 < Bk ? kend - s0 : Bk;
                    /* S = Q[t0:t0+rows] K[s0:s0+cols]^T / sqrt(dk) */
                    real_gemm(0, 1, rows, cols, dk, scale, Q + (size_t)t0 * C3, C3,
                              K + (size_t)s0 * C3, C3, 0, tile, Bk);
                    for (int i = 0; i < rows; i++) {
                        int t = t0 + i;
                        real *row = tile + (size_t)i * Bk;
                        /* keys s0 .. s0+valid-1 of this tile are visible to t */
                        int valid = keys_end(t, n, causal) - s0;
                        if (valid > cols) valid = cols;
                        if (valid <= 0) {               /* the whole tile is in t's future */
                            memset(row, 0, (size_t)cols * sizeof(real));
                            continue;
                        }
                        /* m' = max(m, max_s S[t,s]) */
                        real mn = M[t];
                        for (int s = 0; s < valid; s++) if (row[s] > mn) mn = row[s];
                        /* P~[t,s] = e^{S[t,s] - m'} (0 where masked);
                         * l' = l e^{m - m'} + sum_s P~[t,s] */
                        real corr = real_exp(M[t] - mn), sum = 0;
                        for (int s = 0; s < valid; s++) {
                            row[s] = real_exp(row[s] - mn);
                            sum += row[s];
                        }
                        for (int s = valid; s < cols; s++) row[s] = 0;
                        Lsum[t] = Lsum[t] * corr + sum;
                        M[t] = mn;
                        /* o' = o e^{m - m'} (+ P~ V below) */
                        real *o = O + (size_t)t * C;
                        for (int c = 0; c < dk; c++) o[c] *= corr;
                    }
                    /* o' += P~[t0:t0+rows, :] V[s0:s0+cols] */
                    real_gemm(0, 0, rows, dk, cols, 1, tile, Bk, V + (size_t)s0 * C3, C3, 1,
                              O + (size_t)t0 * C, C);
                }
                /* o_t = o / l */
                for (int i = 0; i < rows; i++) {
                    real *o = O + (size_t)(t0 + i) * C, inv = 1 / Lsum[t0 + i];
                    for (int c = 0; c < dk; c++) o[c] *= inv;
                }
            }
        }
}

/* ============================== backward ==================================
 * forward (per tile): S = Q K^T / sqrt(dk), P = e^{S - m} / l, O = P V.
 * In reverse, tile by tile, with D_t = dO_t . o_t computed first:
 *     dV += P^T dO                         dP = dO V^T
 *     dS[t,s] = P[t,s] (dP[t,s] - D_t)     (the softmax's backward)
 *     dQ += dS K / sqrt(dk)                dK += dS^T Q / sqrt(dk)
 * Masked entries have P = 0, hence dS = 0: no gradient flows to the future. */

void attention_online_backward(real *dqkv, real *scratch, const real *dout, const real *out,
                               const real *qkv, const real *m, const real *l,
                               int B, int T, int C, int NH, int causal, const int *lengths)
{
    /* dqkv (B,T,3C), scratch (attention_online_scratch_len(T)), dout and out
     * (B,T,C), qkv (B,T,3C), m and l (B,NH,T), lengths (B) or NULL */
    assert(C % NH == 0);
    const int Bk = ATTENTION_ONLINE_BLOCK;
    int dk = C / NH, C3 = 3 * C;
    real scale = (real)(1.0 / sqrt((double)dk));
    real *P = scratch;                                   /* (Bk,Bk) */
    real *dS = scratch + (size_t)Bk * Bk;                /* (Bk,Bk): dP, then dS */
    real *D = scratch + 2 * (size_t)Bk * Bk;             /* (T) */
    for (int b = 0; b < B; b++)
        for (int h = 0; h < NH; h++) {
            int n = row_length(lengths, b, T);
            const real *Q = qkv + (size_t)b * T * C3 + h * dk;   /* (T,dk), ld 3C */
            const real *K = Q + C;
            const real *V = Q + 2 * C;
            real *dQ = dqkv + (size_t)b * T * C3 + h * dk;       /* (T,dk), ld 3C */
            real *dK = dQ + C;
            real *dV = dQ + 2 * C;
            const real *O = out + (size_t)b * T * C + h * dk;    /* (T,dk), ld C */
            const real *dO = dout + (size_t)b * T * C + h * dk;  /* (T,dk), ld C */
            const real *M = m + ((size_t)b * NH + h) * T;        /* (T) */
            const real *Lsum = l + ((size_t)b * NH + h) * T;     /* (T) */
            /* D_t = dO_t . o_t = sum_s P[t,s] dP[t,s] */
            for (int t = 0; t < T; t++) {
                real acc = 0;
                for (int c = 0; c < dk; c++) acc += dO[(size_t)t * C + c] * O[(size_t)t * C + c];
                D[t] = acc;
            }
            for (int t0 = 0; t0 < T; t0 += Bk) {
                int rows = T - t0 < Bk ? T - t0 : Bk;
                int kend = causal ? t0 + rows : n;
                const real *Qb = Q + (size_t)t0 * C3;            /* (rows,dk), ld 3C */
                const real *dOb = dO + (size_t)t0 * C;           /* (rows,dk), ld C */
                for (int s0 = 0; s0 < kend; s0 += Bk) {
                    int cols = kend - s0 < Bk ? kend - s0 : Bk;
                    /* recompute P = e^{Q K^T / sqrt(dk) - m} / l for the tile */
                    real_gemm(0, 1, rows, cols, dk, scale, Qb, C3, K + (size_t)s0 * C3, C3, 0,
                              P, Bk);
                    for (int i = 0; i < rows; i++) {
                        int t = t0 + i, valid = keys_end(t, n, causal) - s0;
                        real *row = P + (size_t)i * Bk, inv = 1 / Lsum[t];
                        if (valid > cols) valid = cols;
                        for (int s = 0; s < cols; s++)
                            row[s] = s < valid ? real_exp(row[s] - M[t]) * inv : 0;
                    }
                    /* dV[s0:s0+cols] += P^T dO[t0:t0+rows] */
                    real_gemm(1, 0, cols, dk, rows, 1, P, Bk, dOb, C, 1, dV + (size_t)s0 * C3, C3);
                    /* dP = dO[t0:t0+rows] V[s0:s0+cols]^T */
                    real_gemm(0, 1, rows, cols, dk, 1, dOb, C, V + (size_t)s0 * C3, C3, 0, dS, Bk);
                    /* dS[t,s] = P[t,s] (dP[t,s] - D_t) */
                    for (int i = 0; i < rows; i++) {
                        const real *p = P + (size_t)i * Bk;
                        real *d = dS + (size_t)i * Bk, Dt = D[t0 + i];
                        for (int s = 0; s < cols; s++) d[s] = p[s] * (d[s] - Dt);
                    }
                    /* dQ[t0:t0+rows] += dS K[s0:s0+cols] / sqrt(dk) */
                    real_gemm(0, 0, rows, dk, cols, scale, dS, Bk, K + (size_t)s0 * C3, C3, 1,
                              dQ + (size_t)t0 * C3, C3);
                    /* dK[s0:s0+cols] += dS^T Q[t0:t0+rows] / sqrt(dk) */
                    real_gemm(1, 0, cols, dk, rows, scale, dS, Bk, Qb, C3, 1,
                              dK + (size_t)s0 * C3, C3);
                }
            }
        }
}
