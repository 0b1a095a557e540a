/*
 * selective_copy.c — the selective copying task (Gu & Dao 2023, "Mamba:
 * linear-time sequence modeling with selective state spaces", section 3.1).
 *
 *   t        0 .. d-1                          d            d+1 .. d+K
 *   x_t      K symbols at random positions,    delimiter    blank
 *            blank everywhere else
 *   target   -                                 -            the K symbols,
 *                                                           in order
 *
 * K = 8 symbols (ids 1..8, drawn with repeats), blank 0, delimiter 9, so
 * V = O = 10 like copy; T = d + K + 1 with d = distance >= K, the span the
 * symbols are scattered over.  Only the last K positions are scored.
 * Chance: log 8.
 *
 * What it tests, beside copy: in copy memory every symbol sits at a fixed
 * position and is due a fixed number of steps later, so a time-invariant
 * filter (a fixed convolution, a recurrence with fixed decays) can solve it
 * by delaying its input.  Here the positions change from one sequence to
 * the next: the model has to decide from the token itself whether to keep
 * it (a symbol) or ignore it (a blank) — input-dependent gates, as in
 * minGRU, the LSTM, Mamba's selection, or attention.  A linear recurrence
 * whose decay does not depend on the input (the `lti` model) cannot.
 *
 * What this file is not: the other synthetic tasks (tasks.c).
 */
#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "task_impl.h"
#include "util.h"

#define SELECTIVE_BLANK 0
#define SELECTIVE_FIRST_SYMBOL 1
#define SELECTIVE_SYMBOLS 8
#define SELECTIVE_DELIMITER 9
#define SELECTIVE_VOCAB 10
#define SELECTIVE_LENGTH 8      /* K: symbols to copy */
/* the longest span accepted (like the other tasks' distances) */
#define SELECTIVE_MAX_DISTANCE 100000

static void selective_copy_batch(const Task *task, Batch *b, Split split, gsl_rng *rng)
{
    (void)split;
    int T = task->seq_len, d = T - SELECTIVE_LENGTH - 1;
    assert(b->tokens && b->targets && d >= SELECTIVE_LENGTH);
    b->T = T;
    for (int r = 0; r < b->B; r++) {
        int *x = b->tokens + (size_t)r * T;    /* (T) */
        int *y = b->targets + (size_t)r * T;   /* (T) */
        for (int t = 0; t < T; t++) {
            x[t] = SELECTIVE_BLANK;
            y[t] = TARGET_IGNORE;
        }
        /* K distinct positions in [0, d), in increasing order: selection
         * sampling (Knuth's algorithm S) keeps each of the d positions with
         * probability (needed) / (left) */
        int needed = SELECTIVE_LENGTH, i = 0;
        for (int t = 0; t < d && needed > 0; t++)
            if (rng_below(rng, (size_t)(d - t)) < (size_t)needed) {
                x[t] = SELECTIVE_FIRST_SYMBOL + (int)rng_below(rng, SELECTIVE_SYMBOLS);
                /* the i-th symbol is due at d + 1 + i */
                y[d + 1 + i] = x[t];
                i++;
                needed--;
            }
        x[d] = SELECTIVE_DELIMITER;
    }
}

static void selective_copy_free(void *impl)
{
    free(impl);
}

static const TaskOps selective_copy_ops = {selective_copy_batch, selective_copy_free};

Task *selective_copy_task_create(const TaskConfig *cfg, char *err, size_t errlen)
{
    char why[96];
    snprintf(why, sizeof why, " for task '%s' (the span its %d symbols are scattered over)",
             cfg->task, SELECTIVE_LENGTH);
    if (task_check_range("distance", cfg->distance, SELECTIVE_LENGTH, SELECTIVE_MAX_DISTANCE, why,
                         err, errlen))
        return NULL;
    TaskImpl *impl = xcalloc(1, sizeof *impl);   /* no state */
    impl->ops = &selective_copy_ops;
    Task *task = xcalloc(1, sizeof *task);
    snprintf(task->name, sizeof task->name, "%s", cfg->task);
    task->vocab_size = SELECTIVE_VOCAB;
    task->output_size = SELECTIVE_VOCAB;
    task->seq_len = task->eval_seq_len = cfg->distance + SELECTIVE_LENGTH + 1;
    task->chance_loss = log(SELECTIVE_SYMBOLS);
    task->has_accuracy = 1;
    task->impl = impl;
    return task;
}
