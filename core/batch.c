/*
 * batch.c — allocating and freeing a Batch (batch.h).
 */
#include "batch.h"

#include <stdlib.h>

#include "util.h"

Batch *batch_alloc(int B, int T, int input_features, int regression)
{
    Batch *b = xcalloc(1, sizeof *b);
    b->B = B;
    b->T = T;
    size_t n = (size_t)B * T;
    if (input_features > 0)
        b->features = xcalloc(n * (size_t)input_features, sizeof(real));
    else
        b->tokens = xcalloc(n, sizeof(int));
    b->targets = xcalloc(n, sizeof(int));
    if (regression) b->values = xcalloc(n, sizeof(real));
    return b;
}

Batch *batch_alloc_labelled(int B, int T)
{
    Batch *b = batch_alloc(B, T, 0, 0);
    b->lengths = xcalloc((size_t)B, sizeof(int));
    b->labels = xcalloc((size_t)B, sizeof(int));
    for (int i = 0; i < B * T; i++) b->targets[i] = TARGET_IGNORE;
    for (int i = 0; i < B; i++) b->lengths[i] = T;
    return b;
}

void batch_free(Batch *b)
{
    if (!b) return;
    free(b->lengths);
    free(b->labels);
    free(b->tokens);
    free(b->features);
    free(b->targets);
    free(b->values);
    free(b->src_tokens);
    free(b->src_lengths);
    free(b);
}

Batch *batch_alloc_pairs(int B, int S, int T)
{
    Batch *b = batch_alloc(B, T, 0, 0);
    b->S = S;
    b->lengths = xcalloc((size_t)B, sizeof(int));
    b->src_tokens = xcalloc((size_t)B * S, sizeof(int));
    b->src_lengths = xcalloc((size_t)B, sizeof(int));
    return b;
}
