/*
 * attention_fast.c — attention.c's causal multi-head attention as matrix
 * products: per batch row and head, S = Q K^T / sqrt(dk), P = softmax_rows(S)
 * with the causal mask, O = P V, and the backward, each a GEMM over a block
 * of query rows.  The equations and the plain loops are attention.c
 * (attention_forward_ref, attention_backward_ref); tests/test_transformer.c
 * holds the two equal.  In the reference build (REFERENCE_BUILD, real.h)
 * these hand over to the plain loops.
 *
 * To skip most of the causal mask's upper triangle, the rows are taken in
 * blocks of row_block(T, causal) rows: queries t0 .. t1-1 only need keys
 * 0 .. t1-1, so each block's GEMM stops at column t1 (about half the work for
 * long T; the small triangle inside each block is still computed, then
 * masked).  Without the mask every query sees keys 0 .. n-1: one block.
 *
 * Shapes as in attention.c: qkv (B,T,3C), each row [q | k | v]; head h of q
 * at (b,t) starts at qkv[(b*T + t)*3C + h*dk], so one head is a (T,dk)
 * matrix with leading dimension 3C, used by the GEMMs in place.
 */
#include "transformer.h"

#include <assert.h>
#include <math.h>
#include <string.h>

#include "vecmath.h"

/* query rows per GEMM block.  Causal: queries t0 .. t0+rb-1 against keys
 * 0 .. t0+rb-1.  Measured, one thread, forward / backward of 4 heads of
 * width 64:
 *   T = 64, 128: 32 rows beat 64 (T 128: 3.6 / 4.5 against 3.8 / 5.2 ms a
 *                16-sequence batch): more of the masked triangle skipped;
 *   T = 256:     the same;
 *   T = 512, 1024: 64 beats 32 (T 1024: 23 / 33 against 25 / 38 ms), and
 *                beats 128 or 256, which compute more of the triangle;
 *   thinner blocks than 32 OpenBLAS runs at a fraction of its rate.
 * Without the causal mask there is no triangle to skip, and one block of all
 * T rows is fastest (T 128: 3.6-4.1 / 5.1-5.6 ms against 4.5 / 6.2-6.3 with
 * 32 rows; T 512: 14.6-14.9 / 21.9-22.4 against 17-17.1 / 25-25.9 with 64). */
static int row_block(int T, int causal)
{
    if (!causal) return T;
    return T <= 256 ? 32 : 64;
}

/* how many keys, 0 .. keys-1, query t of a row with n real tokens sees
 * (the same rule as attention.c's) */
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

void attention_forward(real *out, real *probs, const real *qkv, int B, int T, int C, int NH,
                       int causal, const int *lengths)
{
    /* out (B,T,C), probs (B,NH,T,T), qkv (B,T,3C), lengths (B) or NULL */
    if (REFERENCE_BUILD) {   /* make REFERENCE=1: attention.c's plain loops */
        attention_forward_ref(out, probs, qkv, B, T, C, NH, causal, lengths);
        return;
    }
    assert(C % NH == 0);
    int dk = C / NH, C3 = 3 * C, rb = row_block(T, causal);
    real scale = (real)(1.0 / sqrt((double)dk));
    for (int b = 0; b < B; b++)
        for (int h = 0; h < NH; h++) {
            int n = row_length(lengths, b, T);
            const real *Q = qkv + (size_t)b * T * C3 + h * dk;   /* (T,dk), ld 3C */
            const real *K = Q + C;                               /* (T,dk), ld 3C */
            const real *V = Q + 2 * C;                           /* (T,dk), ld 3C */
            real *P = probs + ((size_t)b * NH + h) * T * T;      /* (T,T) */
            real *O = out + (size_t)b * T * C + h * dk;          /* (T,dk), ld C */
            for (int t0 = 0; t0 < T; t0 += rb) {
                int rows = T - t0 < rb ? T - t0 : rb;
                /* keys 0 .. keys-1: the most any query of the block sees */
                int keys = causal ? t0 + rows : n;
                /* S[t0:t0+rows, 0:keys] = Q[t0:t0+rows] K[0:keys]^T / sqrt(dk) */
                real_gemm(0, 1, rows, keys, dk, scale, Q + (size_t)t0 * C3, C3, K, C3, 0,
                          P + (size_t)t0 * T, T);
                /* P = softmax over the visible s < nk of each row; the mask zeroes the rest */
                for (int t = t0; t < t0 + rows; t++) {
                    int nk = visible_keys(causal, t, n);
                    vecmath_softmax(P + (size_t)t * T, (size_t)nk);
                    memset(P + (size_t)t * T + nk, 0, (size_t)(T - nk) * sizeof(real));
                }
                /* O[t0:t0+rows] = P[t0:t0+rows, 0:keys] V[0:keys] */
                real_gemm(0, 0, rows, dk, keys, 1, P + (size_t)t0 * T, T, V, C3, 0,
                          O + (size_t)t0 * C, C);
            }
        }
}

/* dqkv += (add = 1) or = (add = 0) attention's backward.  The row blocks
 * are taken last first: the last block's keys (0 .. T-1 causal, 0 .. n-1
 * not) include every other block's, so its dK and dV products can write
 * (beta = 0) what the earlier blocks then add to; dQ's rows are each one
 * block's own.  Written, the keys of padding (n .. T-1, no causal mask) get
 * zeros, which is what the sum would give them. */
static void backward_blocks(real *dqkv, real *scratch, const real *dout, const real *qkv,
                            const real *probs, int B, int T, int C, int NH, int causal,
                            const int *lengths, int add)
{
    assert(C % NH == 0);
    int dk = C / NH, C3 = 3 * C;
    real scale = (real)(1.0 / sqrt((double)dk));
    real *dS = scratch;                                          /* (T,T): dP, then dS */
    int rb = row_block(T, causal), last = (T - 1) / rb * rb;   /* rows a block; the last block's t0 */
    for (int b = 0; b < B; b++)
        for (int h = 0; h < NH; h++) {
            int n = row_length(lengths, b, T);
            const real *Q = qkv + (size_t)b * T * C3 + h * dk;   /* (T,dk), ld 3C */
            const real *K = Q + C;
            const real *V = Q + 2 * C;
            real *dQ = dqkv + (size_t)b * T * C3 + h * dk;       /* (T,dk), ld 3C */
            real *dK = dQ + C;
            real *dV = dQ + 2 * C;
            const real *P = probs + ((size_t)b * NH + h) * T * T;   /* (T,T) */
            const real *dO = dout + (size_t)b * T * C + h * dk;     /* (T,dk), ld C */
            /* the forward's row blocks, last first: rows t0 .. t0+rows-1, keys 0 .. keys-1 */
            for (int t0 = last; t0 >= 0; t0 -= rb) {
                int rows = T - t0 < rb ? T - t0 : rb;
                int keys = causal ? t0 + rows : n;
                real beta_kv = add || t0 < last ? 1 : 0, beta_q = add ? 1 : 0;
                const real *Pb = P + (size_t)t0 * T;             /* (rows,keys), ld T */
                real *dSb = dS + (size_t)t0 * T;                 /* (rows,keys), ld T */
                const real *dOb = dO + (size_t)t0 * C;           /* (rows,dk), ld C */
                /* dP = dO V^T */
                real_gemm(0, 1, rows, keys, dk, 1, dOb, C, V, C3, 0, dSb, T);
                /* dV += P^T dO */
                real_gemm(1, 0, keys, dk, rows, 1, Pb, T, dOb, C, beta_kv, dV, C3);
                /* dS[t,s] = P[t,s] (dP[t,s] - sum_s' P[t,s'] dP[t,s']), zero where masked:
                 * the softmax's backward, one pass per row (core/vecmath.c) */
                for (int t = t0; t < t0 + rows; t++) {
                    int nk = visible_keys(causal, t, n);
                    real *row = dS + (size_t)t * T;
                    vecmath_softmax_backward(row, P + (size_t)t * T, (size_t)nk);
                    memset(row + nk, 0, (size_t)(keys - nk) * sizeof(real));
                }
                /* dQ += dS K / sqrt(dk) */
                real_gemm(0, 0, rows, dk, keys, scale, dSb, T, K, C3, beta_q, dQ + (size_t)t0 * C3, C3);
                /* dK += dS^T Q / sqrt(dk) */
                real_gemm(1, 0, keys, dk, rows, scale, dSb, T, Q + (size_t)t0 * C3, C3, beta_kv, dK, C3);
            }
            /* written: the padding keys' rows (no causal mask, n < T) */
            if (!add && !causal)
                for (int s = n; s < T; s++) {
                    memset(dK + (size_t)s * C3, 0, (size_t)dk * sizeof(real));
                    memset(dV + (size_t)s * C3, 0, (size_t)dk * sizeof(real));
                }
        }
}

void attention_backward(real *dqkv, real *scratch, const real *dout, const real *qkv,
                        const real *probs, int B, int T, int C, int NH, int causal,
                        const int *lengths)
{
    /* dqkv (B,T,3C), scratch (T,T), dout (B,T,C), qkv (B,T,3C), probs (B,NH,T,T),
     * lengths (B) or NULL */
    if (REFERENCE_BUILD) {
        attention_backward_ref(dqkv, scratch, dout, qkv, probs, B, T, C, NH, causal, lengths);
        return;
    }
    backward_blocks(dqkv, scratch, dout, qkv, probs, B, T, C, NH, causal, lengths, 1);
}

void attention_backward_set(real *dqkv, real *scratch, const real *dout, const real *qkv,
                            const real *probs, int B, int T, int C, int NH, int causal,
                            const int *lengths)
{
    if (REFERENCE_BUILD) {   /* the plain form: zero, then accumulate */
        memset(dqkv, 0, (size_t)B * T * 3 * C * sizeof(real));
        attention_backward_ref(dqkv, scratch, dout, qkv, probs, B, T, C, NH, causal, lengths);
        return;
    }
    backward_blocks(dqkv, scratch, dout, qkv, probs, B, T, C, NH, causal, lengths, 0);
}

double attention_flops(int B, int T, int C, int NH, int causal)
{
    /* the forward's two GEMMs per row block: 2 rows keys dk each, B NH times
     * (keys = T for every block without the causal mask) */
    double dk = (double)C / NH, sum = 0;
    int rb = row_block(T, causal);
    for (int t0 = 0; t0 < T; t0 += rb) {
        int rows = T - t0 < rb ? T - t0 : rb;
        sum += 2 * (2.0 * rows * (causal ? t0 + rows : T) * dk);
    }
    return (double)B * NH * sum;
}
