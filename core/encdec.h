/*
 * encdec.h — the interface of an encoder–decoder (sequence to sequence)
 * model: read a source sentence, write a target sentence.
 *
 * Dimension legend: B batch, S source length (padded), T target length
 * (padded), V_s source vocabulary, O = V_t + 2 target classes (the target
 * tokens, then <bos> = V_t and <eos> = V_t + 1), H / C the model's width.
 * Tokens and logits are (B,S) / (B,T) / (B,T,O), batch-major like the rest
 * of seqlab.
 *
 *     src (B,S), src_len (B)  --encoder-->  memory (the source, encoded)
 *     tgt_in (B,T) = [<bos>, y_1 .. y_n]  --decoder, reading memory-->
 *     logits (B,T,O): position t predicts y_{t+1} (the last real one <eos>)
 *
 * Each row has its own source length src_len[b]: positions s >= src_len[b]
 * are padding, never attended to and never part of the encoder's final
 * state, so a sentence's numbers are the same alone or in a padded batch.
 * Padded target positions (after <eos>) are scored by no one: the trainer
 * gives them TARGET_IGNORE, and the decoder is causal, so they cannot reach
 * the real positions before them.
 *
 * An encoder–decoder owns every tensor of the model (both embeddings and
 * the head, docs/design.md's names); core/model.c adds only the loss.  Models:
 * transformer/encoder_decoder.c (Vaswani et al.), core/recurrent_encdec.c
 * (RNN / LSTM / GRU, with or without Bahdanau's additive attention).
 *
 * What this file is not: the loss, the data (data/pairs.c), or decoding
 * search (core/decode.c).
 */
#ifndef SEQLAB_ENCDEC_H
#define SEQLAB_ENCDEC_H

#include <stddef.h>
#include <gsl/gsl_rng.h>

#include "model.h"
#include "parallel.h"
#include "params.h"
#include "real.h"

typedef struct EncDecOps {
    /* register every tensor in ps (docs/design.md's names); NULL and a message in
     * err when the config (e.g. its attention) makes no sense for this
     * model.  cell: the model descriptor's cell (core/registry.h), which the
     * recurrent encoder-decoder runs */
    void *(*create)(const ModelConfig *cfg, const void *cell, ParamSet *ps, char *err, size_t errlen);
    void (*bind)(void *self, ParamSet *ps);
    void (*init)(void *self, ParamSet *ps, gsl_rng *rng);
    /* activation memory for batches up to (B, S, T); called once */
    void (*alloc_acts)(void *self, int B, int S, int T);
    /* logits (B,T,O) of teacher-forced decoding; saves what backward needs */
    void (*forward)(void *self, real *logits, const int *src, const int *src_len,
                    const int *tgt_in, int B, int S, int T);
    /* parameter gradients += from dlogits (B,T,O), for the last forward */
    void (*backward)(void *self, const real *dlogits, const int *src, const int *src_len,
                     const int *tgt_in, int B, int S, int T);
    /* decoding one token at a time: encode B sources (the decoder's state
     * goes to position 0), then feed one token per row and get its logits
     * (B,O); the state is carried (a key/value cache, the recurrent state) */
    void (*encode)(void *self, const int *src, const int *src_len, int B, int S);
    void (*decode_step)(void *self, real *logits, const int *tokens, int B);
    /* beam search: row b continues from the state row from[b] had (B) */
    void (*reorder)(void *self, const int *from, int B);
    /* the attention over the source of the last forward or decode_step:
     * weights (L,B,NH,T,S) (recurrent additive: L = NH = 1); returns 0,
     * or -1 when the model has none (the recurrent model without attention) */
    int (*source_attention)(const void *self, const real **weights, int *L, int *NH, int *B,
                            int *T, int *S);
    size_t (*act_bytes)(const void *self);
    /* floating-point operations of one forward of (B,S,T) */
    double (*flops)(const void *self, int B, int S, int T);
    void (*free)(void *self);
} EncDecOps;

/* ---- the batch split over threads (core/parallel.h) ----------------------
 * Nothing in an encoder–decoder mixes two pairs of a batch (a target reads
 * its own source only), so both models split a batch into spans of pairs,
 * each running the whole forward or backward for its pairs on a thread of
 * its own.  One such pass over a batch: */
typedef struct EncDecPass {
    void *model;                /* the model's own struct */
    real *logits;               /* forward: (B,T,O) out */
    const real *dlogits;        /* backward: (B,T,O) */
    const int *src, *src_len, *tgt_in;   /* (B,S), (B) or NULL, (B,T) */
    int B, S, T, parts;
} EncDecPass;

/* how many spans a batch of B pairs is split into (parallel_parts): the
 * rows of its products are the source's and the target's positions */
static inline int encdec_split_parts(int asked, int B, int S, int T, int sized)
{
    return parallel_parts(asked, B, (long)B * (S + T), sized);
}

/* one pass over a batch split in spans: fn(&pass, p) for each span p on a
 * thread of its own (forward: logits set, dlogits NULL; backward: the
 * other way round); returns how many spans ran */
static inline int encdec_run(void (*fn)(void *pass, int p), void *model, int asked, int sized,
                             real *logits, const real *dlogits, const int *src,
                             const int *src_len, const int *tgt_in, int B, int S, int T)
{
    EncDecPass pass = {model, logits, dlogits, src, src_len, tgt_in, B, S, T,
                       encdec_split_parts(asked, B, S, T, sized)};
    parallel_run(pass.parts, fn, &pass);
    return pass.parts;
}

/* the Transformer's (transformer/encoder_decoder.c) and the recurrent one
 * every cell shares (core/recurrent_encdec.c); core/registry.c lists them */
extern const EncDecOps transformer_encdec_ops, recurrent_encdec_ops;

#endif
