/*
 * transformer.h — the GPT-style decoder body and the pieces it is built of.
 *
 * Dimension legend: B batch, T time (sequence length), C width (embed_dim =
 * hidden_size), NH heads, dk = C / NH width of one head, F MLP width
 * (ffn_size, 4C by default), L layers, N = B*T rows.  Every (B,T,.) tensor
 * is batch-major, time next, channels last, like the rest of seqlab.
 *
 * Reading order (see transformer/README.md for the lesson):
 *   positions.c    what is added to x so that order matters
 *   layernorm.c    LayerNorm forward / backward
 *   gelu.c         the exact (erf) GELU forward / backward
 *   attention.c    multi-head scaled dot-product attention, causal or not
 *   attention_online.c  the same in O(T) memory: the softmax online over key blocks
 *   transformer.c  the pre-LN block, the stack, the BodyOps, the KV cache
 *
 * What this header is not: the model interface (core/model.h) — the body is
 * reached through `transformer_body_ops`; only the introspection below and
 * the building blocks (for the tests and for students) are public.
 */
#ifndef SEQLAB_TRANSFORMER_H
#define SEQLAB_TRANSFORMER_H

#include <stddef.h>

#include "model.h"
#include "real.h"

/* the body's BodyOps, named by its line in core/registry.c */
extern const BodyOps transformer_body_ops;

/* ======================= introspection (plots, tests) ===================== */

/* 0 if cfg's widths make a Transformer (embed_dim = hidden_size = C, heads
 * divide C), else -1 with a message naming the settings; the registry's
 * settings check (core/registry.c) */
int transformer_check_config(const ModelConfig *cfg, char *err, size_t errlen);

/* The attention probabilities of the last forward: *weights points at
 * (L, B, NH, T, T), weights[(((l*B + b)*NH + h)*T + t)*T + s] = how much
 * query position t of layer l, head h, row b attends to key position s
 * (zero for s > t).  Returns 0, or -1 if no forward has run yet or the
 * attention is online (attention_impl = online stores no P).  The
 * pointer stays valid until the next forward. */
int transformer_attention(const void *body, const real **weights, int *L, int *NH, int *B, int *T);

/* P (T,C): what the body adds to the embedding at positions 0 .. T-1 —
 * the sinusoidal table, the learned pos.weight rows, or zeros. */
void transformer_position_table(const void *body, real *P, int T);

/* Split each batch into `parts` spans of sequences, one thread each (0,
 * the default: one per BLAS thread, at most one per core and one per 512
 * rows of B*T; never more than one per sequence).  More spans than cores
 * are sized here, outside the training loop.  Any split gives the same numbers up to the order of
 * floating-point sums. */
void transformer_set_parts(void *body, int parts);

/* The same for the encoder–decoder (encoder_decoder.c; self: what its
 * EncDecOps create returned): spans of pairs, each running the encoder and
 * the decoder for its pairs; 0 splits by rows of B*(S+T). */
void transformer_encdec_set_parts(void *self, int parts);

/* ============================ positions.c ================================= */

/* P (T,C) with P[t,2i] = sin(t / 10000^(2i/C)), P[t,2i+1] = cos(same) */
void positions_sinusoidal(real *P, int T, int C);
/* x0 (B,T,C) = x (B,T,C) + P (T,C); P == NULL adds nothing */
void positions_forward(real *x0, const real *x, const real *P, int B, int T, int C);
/* dx (B,T,C) += dx0;  dP (T,C) += sum_b dx0[b] (learned table; NULL if none) */
void positions_backward(real *dx, real *dP, const real *dx0, int B, int T, int C);

/* ============================ layernorm.c ================================= */

/* PyTorch's nn.LayerNorm default */
#define LAYERNORM_EPS 1e-5

/* out (N,C) = (inp - mean) * rstd * w + b, per row;
 * saves mean (N) and rstd (N) = 1 / sqrt(var + eps) for the backward */
void layernorm_forward(real *out, real *mean, real *rstd, const real *inp,
                       const real *w, const real *b, int N, int C);
/* dinp (N,C) += ..., dw (C) += ..., db (C) += ... from dout (N,C) */
void layernorm_backward(real *dinp, real *dw, real *db, const real *dout,
                        const real *inp, const real *w, const real *mean,
                        const real *rstd, int N, int C);

/* plain-loop twins, sums in double (the fast ones use core/vecmath.c) */
void layernorm_forward_ref(real *out, real *mean, real *rstd, const real *inp,
                           const real *w, const real *b, int N, int C);
void layernorm_backward_ref(real *dinp, real *dw, real *db, const real *dout,
                            const real *inp, const real *w, const real *mean,
                            const real *rstd, int N, int C);

/* =============================== gelu.c =================================== */

/* out (n) = x Phi(x) = 0.5 x (1 + erf(x / sqrt 2)), x = inp (n) */
void gelu_forward(real *out, const real *inp, size_t n);
/* dinp (n) += dout (n) * (Phi(x) + x phi(x)) */
void gelu_backward(real *dinp, const real *dout, const real *inp, size_t n);
/* the same written, not added: dinp = dout * (Phi(x) + x phi(x)), for a
 * workspace the GELU alone fills (plain form: zero, then gelu_backward_ref) */
void gelu_backward_set(real *dinp, const real *dout, const real *inp, size_t n);
/* the training forward: out = gelu(x) and slope (n) = gelu'(x) = Phi(x) +
 * x phi(x), all its backward needs (slope may be inp: in place) ... */
void gelu_forward_slope(real *out, real *slope, const real *inp, size_t n);
/* ... and that backward: dinp = dout * slope, written, not added (dinp may
 * be dout: in place) */
void gelu_backward_slope_set(real *dinp, const real *dout, const real *slope, size_t n);
/* plain-loop twins in double precision (the fast ones use core/vecmath.c) */
void gelu_forward_ref(real *out, const real *inp, size_t n);
void gelu_backward_ref(real *dinp, const real *dout, const real *inp, size_t n);
void gelu_forward_slope_ref(real *out, real *slope, const real *inp, size_t n);

/* ============================= attention.c ================================ */

/* out (B,T,C) = multi-head attention of qkv (B,T,3C), whose rows are
 * [q | k | v]; head h uses channels h*dk .. (h+1)*dk-1 of each.
 * causal = 1: query t sees keys s <= t (GPT); lengths are not needed.
 * causal = 0: query t of row b sees keys s < lengths[b] (BERT; NULL
 * lengths: all T).  Saves the probabilities probs (B,NH,T,T), zero where
 * masked. */
void attention_forward(real *out, real *probs, const real *qkv, int B, int T, int C, int NH,
                       int causal, const int *lengths);
/* dqkv (B,T,3C) += ... from dout (B,T,C); scratch (T,T) is a workspace */
void attention_backward(real *dqkv, real *scratch, const real *dout, const real *qkv,
                        const real *probs, int B, int T, int C, int NH, int causal,
                        const int *lengths);
/* the same written, not added: dqkv = ... (dqkv need not be zeroed) */
void attention_backward_set(real *dqkv, real *scratch, const real *dout, const real *qkv,
                            const real *probs, int B, int T, int C, int NH, int causal,
                            const int *lengths);
/* the multiply-adds x 2 of attention_forward's GEMMs (Q K^T and P V; with
 * causal, the masked row blocks skipped), for BodyOps.flops */
double attention_flops(int B, int T, int C, int NH, int causal);
/* plain-loop twins: the same results, one multiply-add at a time, and only
 * over the unmasked keys */
void attention_forward_ref(real *out, real *probs, const real *qkv, int B, int T, int C, int NH,
                           int causal, const int *lengths);
void attention_backward_ref(real *dqkv, real *scratch, const real *dout, const real *qkv,
                            const real *probs, int B, int T, int C, int NH, int causal,
                            const int *lengths);

/* One new query per row against a key/value cache (generation).
 * out (B,C) for the query q (B, ld_q) (its first C channels are used),
 * keys and values kcache, vcache (B,Tcap,C) of which positions 0 .. t are
 * filled; scores (t+1) is a workspace.  Equals row t of attention_forward. */
void attention_step(real *out, real *scores, const real *q, int ld_q, const real *kcache,
                    const real *vcache, int B, int t, int Tcap, int C, int NH);

/* ========================== cross_attention.c ============================= */

/* out (B,Tq,C) = multi-head attention of the queries q (B,Tq,ldq) against
 * the keys k and values v (B,Tk,ldkv), no causal mask; row b sees only its
 * first key_len[b] keys (key_len NULL: all Tk).  Head h uses channels
 * h*dk .. (h+1)*dk-1 of each.  Saves probs (B,NH,Tq,Tk), zero on padding.
 * The decoder's cross-attention (queries from the target, keys and values
 * from the encoder) and, with q, k, v from one (B,T,3C) array, the
 * encoder's bidirectional self-attention. */
void cross_attention_forward(real *out, real *probs, const real *q, int ldq, const real *k,
                             const real *v, int ldkv, const int *key_len, int B, int Tq, int Tk,
                             int C, int NH);
/* dq (B,Tq,ldq) +=, dk and dv (B,Tk,ldkv) += ... from dout (B,Tq,C);
 * scratch (Tq,Tk) is a workspace */
void cross_attention_backward(real *dq, real *dk, real *dv, real *scratch, const real *dout,
                              const real *q, int ldq, const real *k, const real *v, int ldkv,
                              const real *probs, const int *key_len, int B, int Tq, int Tk, int C,
                              int NH);
/* plain-loop twins */
void cross_attention_forward_ref(real *out, real *probs, const real *q, int ldq, const real *k,
                                 const real *v, int ldkv, const int *key_len, int B, int Tq,
                                 int Tk, int C, int NH);
void cross_attention_backward_ref(real *dq, real *dk, real *dv, real *scratch, const real *dout,
                                  const real *q, int ldq, const real *k, const real *v, int ldkv,
                                  const real *probs, const int *key_len, int B, int Tq, int Tk,
                                  int C, int NH);
/* multiply-adds x 2 of the forward's products (all keys counted) */
double cross_attention_flops(int B, int Tq, int Tk, int C);

#endif
