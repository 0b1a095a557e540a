/*
 * params.h — one contiguous parameter buffer carved into named tensors.
 *
 * A model registers each tensor by its PyTorch name and shape
 * (params_add), then params_alloc makes three buffers of the same layout:
 * values, gradients (and the optimizer keeps its state likewise).  The
 * optimizer, gradient norm, clipping, zeroing, checkpointing and the
 * parameter count are all loops over `value[0 .. total)`.
 *
 * What this file is not: an autograd.  Each model's backward writes into
 * its own slices of `grad`.
 */
#ifndef SEQLAB_PARAMS_H
#define SEQLAB_PARAMS_H

#include <stddef.h>
#include "real.h"

#define PARAM_MAX_DIMS 4
#define PARAM_NAME_MAX 64

typedef struct ParamView {
    char name[PARAM_NAME_MAX];  /* PyTorch state_dict name, e.g. "rnn.weight_hh_l0" */
    int ndim;
    int shape[PARAM_MAX_DIMS];  /* row-major, nn.Linear weights are (out, in) */
    size_t offset;              /* first element in value / grad */
    size_t size;                /* product of shape */
} ParamView;

typedef struct ParamSet {
    ParamView *views;   /* (count) */
    int count, cap;
    size_t total;       /* number of reals in each buffer */
    real *value;        /* (total) the parameters */
    real *grad;         /* (total) dL/d(parameters), same layout */
} ParamSet;

void params_init(ParamSet *ps);
/* register a tensor; returns its index.  Only before params_alloc. */
int params_add(ParamSet *ps, const char *name, int ndim, const int *shape);
int params_add1(ParamSet *ps, const char *name, int d0);
int params_add2(ParamSet *ps, const char *name, int d0, int d1);
/* allocate value and grad, zero-filled */
void params_alloc(ParamSet *ps);
void params_free(ParamSet *ps);

/* index of a tensor by name, or -1 if absent */
int params_find(const ParamSet *ps, const char *name);
static inline real *params_value(ParamSet *ps, int idx) { return ps->value + ps->views[idx].offset; }
static inline real *params_grad(ParamSet *ps, int idx) { return ps->grad + ps->views[idx].offset; }

void params_zero_grad(ParamSet *ps);

#endif
