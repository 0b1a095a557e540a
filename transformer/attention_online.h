/*
 * attention_online.h — exact multi-head attention in O(T) memory: the
 * softmax computed online over blocks of keys (attention_online.c).
 *
 * Shapes as in attention.c: B batch, T time, C width, NH heads, dk = C/NH;
 * qkv (B,T,3C) with rows [q | k | v], out (B,T,C).  Instead of the
 * probabilities P (B,NH,T,T) the forward saves two numbers per query row:
 * m (B,NH,T), the largest score of the row, and l (B,NH,T), the sum of
 * exp(score - m) over the row; with them the backward recomputes any block
 * of P it needs.
 *
 * What this header is not: the naive attention (transformer.h) that these
 * functions equal up to float rounding.
 */
#ifndef SEQLAB_ATTENTION_ONLINE_H
#define SEQLAB_ATTENTION_ONLINE_H

#include <stddef.h>

#include "real.h"

/* query rows and key columns of one block (the S tile is 64 x 64) */
#define ATTENTION_ONLINE_BLOCK 64

/* reals of the workspace one call of forward or backward needs for
 * sequences of length T: two (block, block) tiles and one (T) row of D.
 * It does not grow with T^2. */
size_t attention_online_scratch_len(int T);

/* out (B,T,C) = multi-head attention of qkv (B,T,3C), causal (query t sees
 * keys s <= t) or not (every real key: s < lengths[b], or every key with
 * lengths NULL — attention.c's masks); saves m (B,NH,T) and l (B,NH,T).
 * scratch (attention_online_scratch_len(T)) is a workspace. */
void attention_online_forward(real *out, real *m, real *l, real *scratch, const real *qkv,
                              int B, int T, int C, int NH, int causal, const int *lengths);
/* dqkv (B,T,3C) += ... from dout (B,T,C), with the forward's out, m, l and
 * qkv; scratch as above.  Recomputes each tile of P from q, k, m and l. */
void attention_online_backward(real *dqkv, real *scratch, const real *dout, const real *out,
                               const real *qkv, const real *m, const real *l,
                               int B, int T, int C, int NH, int causal, const int *lengths);

/* the plain-loop twin of the forward: one query and one key at a time, the
 * online softmax exactly as the lesson writes it */
void attention_online_forward_ref(real *out, real *m, real *l, const real *qkv,
                                  int B, int T, int C, int NH, int causal, const int *lengths);

/* bytes of the activations one attention layer saves for the backward of
 * a (B,T) batch: out (B,T,C) plus m and l (B,NH,T) — linear in T, where
 * the naive layer's P is B NH T^2 reals */
size_t attention_online_saved_bytes(int B, int T, int C, int NH);

#endif
