/*
 * batch.h — one batch of examples: what the data (data/) fills and the
 * model (model.h) reads.  It lives here, below both, so that data/ needs
 * nothing of the model interface and the model nothing of the data.
 *
 * Dimension legend: B rows, T positions, F real input features.  Every
 * array is (B,T,.) row-major, like the rest of seqlab.
 */
#ifndef SEQLAB_BATCH_H
#define SEQLAB_BATCH_H

#include "real.h"

/* A target that does not count in the loss (PyTorch's ignore_index). */
#define TARGET_IGNORE (-100)

/* One batch.  Who fills what:
 *   tokens   (B,T) input ids, when the input is tokens
 *   features (B,T,F) real inputs, when the input is features
 *   targets  (B,T) class ids, or TARGET_IGNORE where nothing is scored; for
 *            regression any value other than TARGET_IGNORE marks a scored
 *            position and `values` holds its target
 *   values   (B,T) regression targets (NULL for classification) */
typedef struct Batch {
    int B, T;
    int *tokens;
    real *features;
    int *targets;
    real *values;
    int *lengths;     /* (B) real tokens of each row (the rest is padding), or NULL: all T */
    /* encoder-decoder pairs (core/encdec.h): the source side; tokens are
     * then the decoder's inputs [<bos>, y_1 .. y_n] and targets
     * [y_1 .. y_n, <eos>] (TARGET_IGNORE after it) */
    int S;            /* source length of this batch (padded) */
    int *src_tokens;  /* (B,S) source ids, or NULL */
    int *src_lengths; /* (B) real source tokens of each row (at least 1) */
    int *labels;      /* (B) sequence classification: each row's class (then targets
                       * are unused); NULL for per-position tasks */
} Batch;

/* a batch for up to (B,T): tokens, or features (B,T,F) when
 * input_features > 0; values when regression */
Batch *batch_alloc(int B, int T, int input_features, int regression);
/* a batch of pairs for up to (B,S) sources and (B,T) targets, both lengths */
Batch *batch_alloc_pairs(int B, int S, int T);
/* a batch of B token rows of up to T with lengths (all T) and labels, every
 * target TARGET_IGNORE (sequence classification) */
Batch *batch_alloc_labelled(int B, int T);
void batch_free(Batch *b);

#endif
