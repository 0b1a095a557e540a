/*
 * train.h — the one trainer every model and task shares.
 *
 * A step is: batch -> forward -> backward -> clip -> update.  Around it the
 * trainer writes the run directory (docs/design.md, "Run directory and outputs"):
 *
 *   config.ini          the resolved settings (`seqlab train --config` reads it back)
 *   run.json            settings, parameter count, seed, threads, library versions,
 *                       status ("running", "finished", "interrupted", "diverged") and results
 *   metrics.csv         step,seconds,tokens,train_loss,val_loss,val_accuracy,grad_norm,lr,tokens_per_s
 *   gradients.csv       step,series,t,steps_back,norm   (at step 0, every grad_every, and last)
 *   timing.csv          step,forward_ms,backward_ms,optimizer_ms,step_ms
 *   position_loss.csv   position,loss,count             (validation loss at each window position)
 *   model.safetensors   the checkpoint; train_state.bin the optimizer and generator state
 *   samples.txt         text generated from `prompt` (text tasks)
 *
 *   lock                the PID of the process writing the directory (util.h dir_lock)
 *
 * train_run is five stages (train.c): set-up (settings, task, model,
 * optimizer, the directory and its lock), a fresh start or a resume, the
 * loop of steps (batch, zero-grad, forward, backward, clip, update), log
 * and evaluate, and finish (position loss, samples, run.json).
 *
 * CSV logs are appended and flushed a row at a time; checkpoints and the
 * state file are written atomically, as a pair that a crash at any instant
 * leaves resumable (train.c, save_checkpoint).  SIGINT/SIGTERM finish the
 * current step, write a checkpoint and return TRAIN_INTERRUPTED; `--resume`
 * goes on from it with the same numbers an uninterrupted run would produce.
 * A resume of a run whose training is over redoes only the final stage, or
 * nothing if run.json already says "finished"; a resume that finds no
 * checkpoint yet starts from step 0.
 *
 * Test hook: SEQLAB_TEST_KILL_AT=POINT[:N] kills the process (SIGKILL) the
 * N-th time it passes POINT: model-pending, state-pending, state-renamed,
 * model-renamed (around the renames of a checkpoint), finish,
 * position-loss, samples (the final stage).  tests/crash_test.sh uses it.
 */
#ifndef SEQLAB_TRAIN_H
#define SEQLAB_TRAIN_H

#include <stddef.h>

#include "config.h"

enum {
    TRAIN_OK = 0,
    TRAIN_ERROR = 1,        /* bad input: message in err */
    TRAIN_DIVERGED = 3,     /* loss or gradient not finite: last good checkpoint kept */
    TRAIN_BUSY = 4,         /* another process is writing the run directory (its lock) */
    TRAIN_INTERRUPTED = 130 /* SIGINT/SIGTERM: checkpoint written, resumable */
};

typedef struct TrainResult {
    long step;
    double train_loss, val_loss, val_accuracy, val_perplexity;
    double chance_loss, chance_accuracy;
    double seconds, tokens_per_s, step_ms;
    double peak_rss_mb, act_mb;
    double attn_mb;         /* the attention matrices' part of act_mb (0 without attention) */
    size_t params;
    /* pair tasks: greedy decoding's exact match (0 .. 1) and BLEU (0 .. 100)
     * on the validation and test pairs, and the blind guess's exact match;
     * NaN for the other tasks */
    double val_exact_match, val_bleu, test_exact_match, test_bleu, chance_exact_match;
} TrainResult;

/* install the SIGINT/SIGTERM handlers that ask the loop to stop */
void train_install_signal_handlers(void);
/* nonzero once a stop was asked for */
int train_stop_requested(void);

/* train with settings s (resolved here) into s->out; resume continues the
 * run found there.  Returns one of the TRAIN_ codes; fills res. */
int train_run(Settings *s, int resume, TrainResult *res, char *err, size_t errlen);

/* peak resident memory of this process so far (getrusage), MiB */
double peak_rss_mb(void);

#endif
