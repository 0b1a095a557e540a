/*
 * evaluate.h — scoring a token sequence the way `seqlab eval` does.
 *
 * The rule (docs/design.md, "Evaluation protocols"): cut ids into windows of T tokens,
 * window i = ids[iT .. iT+T) predicting ids[iT+1 .. iT+T+1), for
 * i = 0, 1, ... while iT+T+1 <= n.  Each window starts from the zero state
 * (a batch row of its own), and the loss is the mean cross-entropy (natural
 * log) over every predicted token.  Tokens after the last full window are
 * not scored.
 *
 * What this file is not: the tokenizer (data/) or the command (experiments/).
 * The caller has built the model with model_alloc_acts(m, B, T) for some
 * B >= 1; windows are scored B at a time, and sums are kept in double.
 */
#ifndef SEQLAB_EVALUATE_H
#define SEQLAB_EVALUATE_H

#include <stddef.h>

#include "data.h"
#include "model.h"

/* number of full windows of T in n ids: (n - 1) / T, or 0 */
long evaluate_window_count(long n, int T);

/* mean cross-entropy over all predicted tokens of the windows of ids (n),
 * ids in [0, V) of m's vocabulary; *tokens_out (may be NULL) gets how many
 * were predicted (windows * T).  NAN and 0 tokens when n < T + 1. */
double evaluate_windows(Model *m, const int *ids, long n, int T, long *tokens_out);

/* the same windows, but the mean loss at each position t of the window:
 * loss_at (T), loss_at[t] = mean over windows of -log p(ids[iT+t+1] | window
 * prefix up to t).  *count gets the number of windows.  0, or -1 (and
 * count 0) when there is no full window. */
int evaluate_position_loss(Model *m, const int *ids, long n, int T, double *loss_at,
                           long *count);

/* `seqlab eval --labelled` (DESIGN.md, "Encoder ... and sequence
 * classification"): each example of f scored on its own, a batch of one
 * with no padding, its text tokenised with tok and cut to its first T
 * tokens; labels (K) are the classifier's class names in id order.
 * *loss = the mean cross-entropy over the examples, *accuracy the fraction
 * whose argmax is the label.  0, or -1 with a message naming the file and
 * line (a label not among labels, a text that does not encode or has no
 * tokens).  m is a classifier with activations for at least (1, T). */
int evaluate_labelled(Model *m, const Tokenizer *tok, const char *const *labels, int K,
                      const LabelledFile *f, int T, double *loss, double *accuracy, char *err,
                      size_t errlen);

#endif
