/*
 * decode.h — turning an encoder–decoder's next-token distributions into a
 * target sentence: greedy decoding and beam search (see decode.c).
 *
 * Shapes: B sources, S longest source, N the length limit (tokens before
 * <eos>).  Outputs are target ids without <bos> and <eos>.
 */
#ifndef SEQLAB_DECODE_H
#define SEQLAB_DECODE_H

#include "model.h"

/* Greedy: at each step the most likely token, for B sources at once
 * (src (B,S), src_len (B)).  out (B,N) gets each row's tokens, out_len (B)
 * their number (N when no <eos> came within N steps), score (B) (or NULL)
 * the sum of their log-probabilities including the <eos>.  The model's
 * activations must hold B rows, S source and N + 1 target positions. */
void decode_greedy(Model *m, const int *src, const int *src_len, int B, int S, int N, int *out,
                   int *out_len, double *score);

/* Beam search with K beams for one source src (ns): keeps the K most
 * likely prefixes, a finished hypothesis when it ends with <eos> (or
 * reaches N tokens); returns the most likely finished one (the sum of log-
 * probabilities, no length normalisation) in out (N), its length, and its
 * score.  K = 1 is greedy decoding token for token.  The greedy hypothesis
 * is always a candidate, so the result never scores below greedy's.  The
 * model's activations must hold K rows. */
int decode_beam(Model *m, const int *src, int ns, int K, int N, int *out, double *score);

/* the search alone, without the greedy candidate (for the tests: K = 1
 * must be greedy token for token) */
int decode_beam_search(Model *m, const int *src, int ns, int K, int N, int *out, double *score);

#endif
