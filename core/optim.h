/*
 * optim.h — optimizers, gradient norm and clipping, learning-rate schedule.
 *
 * All of them are loops over the whole parameter buffer (params.h): the
 * optimizer keeps its state (momentum m, second moment v) in buffers of the
 * same layout, so a step is one pass over memory.
 */
#ifndef SEQLAB_OPTIM_H
#define SEQLAB_OPTIM_H

#include <stddef.h>
#include "real.h"

typedef enum { OPTIM_SGD, OPTIM_ADAM, OPTIM_ADAMW } OptimKind;

typedef struct Optimizer {
    OptimKind kind;
    size_t n;            /* parameters */
    double beta1, beta2, eps;
    double weight_decay; /* SGD/Adam: L2 added to the gradient; AdamW: decoupled */
    double momentum;     /* SGD */
    long t;              /* steps taken (Adam's bias correction) */
    real *m;             /* (n) first moment / SGD velocity */
    real *v;             /* (n) second moment (Adam) */
} Optimizer;

/* "sgd", "adam", "adamw" -> kind; -1 if unknown */
int optim_kind_parse(const char *name, OptimKind *kind);
Optimizer *optim_alloc(OptimKind kind, size_t n, double weight_decay, double momentum);
void optim_free(Optimizer *o);

/* one update of w (n) from g (n) with learning rate lr
 *   SGD:   u = mu u + g;  w -= lr u
 *   Adam:  m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2
 *          w -= lr (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps)
 *   AdamW: the same, and w -= lr wd w (decoupled weight decay)       */
void optim_step(Optimizer *o, real *w, const real *g, double lr);

/* ||g||_2 over the whole buffer */
double grad_global_norm(const real *g, size_t n);
/* if ||g|| > max_norm, scale g by max_norm / ||g||; returns ||g|| before */
double grad_clip(real *g, size_t n, double max_norm);

/* linear warm-up over `warmup` steps to base_lr, then cosine decay to
 * LR_FINAL_FRACTION * base_lr at step `total` */
#define LR_FINAL_FRACTION 0.1
double lr_schedule(long step, long total, long warmup, double base_lr);

#endif
