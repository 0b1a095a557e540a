/*
 * mlm.c — masked language modelling (BERT, Devlin et al. 2019): what an
 * encoder is pre-trained on, since it cannot predict the next token (it
 * sees it).
 *
 * Each window of T corpus tokens gets round(0.15 T) positions chosen (at
 * least one).  The model must recover the original token at those
 * positions only; of the chosen positions
 *     80%  are replaced by the mask id (V: the row the encoder's embedding
 *          has beyond the vocabulary)
 *     10%  by a random token
 *     10%  stay as they were
 * so that the model cannot learn that "only [MASK] positions matter": it
 * must keep a good representation of every token.  The loss is the mean
 * cross-entropy at the chosen positions; every other target is
 * TARGET_IGNORE, so unmasked positions are never scored.
 *
 * What this file is not: the corpus (corpus.c cuts the windows and calls
 * mlm_mask_window for task mlm).
 */
#include <assert.h>
#include <math.h>

#include "task_impl.h"

void mlm_mask_window(int *tokens, int *targets, int T, int V, int mask_id, gsl_rng *rng)
{
    /* tokens (T) in place, targets (T) */
    assert(T >= 1 && V >= 1);
    int k = (int)lround(MLM_CHOSEN * T);
    if (k < 1) k = 1;
    for (int t = 0; t < T; t++) targets[t] = TARGET_IGNORE;
    /* choose k of the T positions without replacement (selection sampling:
     * position t is taken with probability still-needed / still-left) */
    int need = k;
    for (int t = 0; t < T && need > 0; t++) {
        if (rng_below(rng, (size_t)(T - t)) >= (size_t)need) continue;
        need--;
        targets[t] = tokens[t];
        double u = gsl_rng_uniform(rng);
        if (u < MLM_MASKED)
            tokens[t] = mask_id;
        else if (u < MLM_MASKED + MLM_RANDOM)
            tokens[t] = (int)rng_below(rng, (size_t)V);
        /* else: unchanged, but still scored */
    }
}
