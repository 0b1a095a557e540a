/*
 * recurrent_encdec.h — the recurrent encoder–decoder, shared by the RNN,
 * LSTM and GRU (see recurrent_encdec.c): recurrent_encdec_ops (encdec.h),
 * made with the model descriptor's cell (core/registry.c).  The functions
 * of the table, for reading and the tests.
 */
#ifndef SEQLAB_RECURRENT_ENCDEC_H
#define SEQLAB_RECURRENT_ENCDEC_H

#include "encdec.h"
#include "recurrent.h"

void recurrent_encdec_bind(void *self, ParamSet *ps);
void recurrent_encdec_init(void *self, ParamSet *ps, gsl_rng *rng);
void recurrent_encdec_alloc_acts(void *self, int B, int S, int T);
void recurrent_encdec_forward(void *self, real *logits, const int *src, const int *src_len,
                              const int *tgt_in, int B, int S, int T);
void recurrent_encdec_backward(void *self, const real *dlogits, const int *src,
                               const int *src_len, const int *tgt_in, int B, int S, int T);
void recurrent_encdec_encode(void *self, const int *src, const int *src_len, int B, int S);
void recurrent_encdec_decode_step(void *self, real *logits, const int *tokens, int B);
void recurrent_encdec_reorder(void *self, const int *from, int B);
int recurrent_encdec_source_attention(const void *self, const real **weights, int *L, int *NH,
                                      int *B, int *T, int *S);
size_t recurrent_encdec_act_bytes(const void *self);
double recurrent_encdec_flops(const void *self, int B, int S, int T);
void recurrent_encdec_free(void *self);

/* Split each batch into `parts` spans of pairs, one thread each (0, the
 * default: one per BLAS thread, at most one per core, one per 512 rows of
 * B*(S+T) and one per pair).  More spans than cores are sized here,
 * outside the training loop.  Any split gives the same numbers up to the
 * order of floating-point sums. */
void recurrent_encdec_set_parts(void *self, int parts);

#endif
