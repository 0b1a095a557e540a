/*
 * recurrent.h — the machinery the RNN, LSTM and GRU share: layer stacking,
 * the state history, the time loop forward and backward (BPTT), the weight
 * gradients summed over time, per-step gradient norms, and step mode.
 *
 * What this file is not: any cell's math.  A cell (rnn/rnn.c, lstm/lstm.c,
 * gru/gru.c) supplies a CellOps: one time step forward and its backward.
 * Everything that is the same for the three models lives in recurrent.c.
 *
 * Dimension legend: B batch, T time, E input width (layer 0), H hidden,
 * G gates (RNN 1, LSTM 4 = i,f,g,o, GRU 3 = r,z,n), L layers, S reals the
 * cell saves per hidden unit for its backward (RNN 0, LSTM 5, GRU 4).
 * The model's x and y are (B,T,.); inside, everything is time-major:
 * state history (T+1,B,H) with row 0 the initial state, so each step's
 * h_{t-1} is one contiguous (B,H) block for one matrix product.
 *
 * One layer, one step (PyTorch's parameterisation, W stored (out, in)):
 *     a_ih = x_t W_ih^T + b_ih          (B,G*H)   all T steps in ONE product
 *     a_hh = h_{t-1} W_hh^T + b_hh      (B,G*H)   one product per step
 *     h_t (, c_t) = cell(a_ih, a_hh, h_{t-1} (, c_{t-1}))
 * a_ih and a_hh are kept apart because the GRU's reset gate multiplies
 * (W_hn h + b_hn) alone; for the RNN and LSTM only their sum matters.
 *
 * Bidirectional (bidirectional = 1, D = 2 directions): each layer has a
 * second set of tensors (PyTorch's `_reverse`) that runs the same time loop
 * over the sequence read backwards — row b from its last real token
 * n_b - 1 (Batch.lengths) down to 0 — and the layer's output is
 * [forward h_t ; backward h_t] (T,B,2H), which the next layer reads.
 */
#ifndef SEQLAB_RECURRENT_H
#define SEQLAB_RECURRENT_H

#include <stddef.h>
#include <gsl/gsl_rng.h>

#include "model.h"
#include "parallel.h"
#include "real.h"

/* What a recurrent cell provides.  All arrays are one time step of a batch. */
typedef struct CellOps {
    int gates;            /* G: rows of W_ih / W_hh are G*H, gate-major */
    int saved_per_unit;   /* S: the cell saves (B, S*H) reals per step */
    int has_cell_state;   /* 1: the LSTM's c is carried beside h */
    /* 1: a_hh enters other than through a_ih + a_hh (the GRU), so the
     * cell writes its own da_hh; 0: da_hh = da_ih and the cell gets NULL */
    int separate_hh_grad;
    /* elementwise floating-point operations per hidden unit per step */
    double flops_per_unit;

    /* h (B,H), c (B,H) or NULL, saved (B,S*H) <- a_ih (B,G*H),
     * a_hh (B,G*H), h_prev (B,H), c_prev (B,H) or NULL */
    void (*forward)(real *h, real *c, real *saved, const real *a_ih,
                    const real *a_hh, const real *h_prev, const real *c_prev,
                    int B, int H);
    /* Gradients ACCUMULATE (+=) into da_ih (B,G*H), da_hh (B,G*H) (NULL
     * unless separate_hh_grad), dh_prev (B,H) (only the direct part that
     * does not go through W_hh; the caller adds da_hh W_hh), dc_prev (B,H).
     * dh (B,H) is the total dL/dh_t.  dc (B,H), LSTM only, is in/out: on
     * entry dL/dc_t from step t+1, on exit the total dL/dc_t (adding the
     * path through h_t), which the core records for the gradient norms.
     * The forward's values are passed back: saved, h, c, h_prev, c_prev. */
    void (*backward)(real *da_ih, real *da_hh, real *dh_prev, real *dc_prev,
                     const real *dh, real *dc, const real *saved,
                     const real *h, const real *c, const real *h_prev,
                     const real *c_prev, int B, int H);
    /* optional, after the uniform init: e.g. the LSTM's forget-gate bias.
     * b_ih, b_hh (G*H) of one layer. */
    void (*init_biases)(real *b_ih, real *b_hh, const ModelConfig *cfg, int H);
} CellOps;

typedef struct RecurrentLayer {
    int in;                          /* E for layer 0, D*H above */
    int idx_w_ih, idx_w_hh, idx_b_ih, idx_b_hh;  /* tensor indices */
    real *W_ih, *W_hh;               /* (G*H,in), (G*H,H) */
    real *b_ih, *b_hh;               /* (G*H), (G*H) */
    real *dW_ih, *dW_hh;             /* same shapes, in the grad buffer */
    real *db_ih, *db_hh;
    real *h;                         /* (T+1,B,H) state history, h[0] = h0 */
    real *c;                         /* (T+1,B,H) cell state history, LSTM only */
    real *saved;                     /* (T,B,S*H) what the cell saved */
    /* bidirectional only: */
    real *xrev;                      /* reverse direction: (T,B,in) its input, each row
                                      * read backwards from its last real token */
    real *out;                       /* forward direction: (T,B,2H) the layer's output
                                      * [forward h_t ; backward h_t] */
} RecurrentLayer;

typedef struct RecurrentBody {
    const CellOps *cell;
    ModelConfig cfg;
    int E, H, L, G, S;
    int D;                           /* directions: 1, or 2 when bidirectional */
    RecurrentLayer *layers;          /* (L*D): layer l's direction d is layers[l*D + d] */
    const int *lengths;              /* (B) real tokens per row of the current batch, or
                                      * NULL (all T): where the reverse direction starts */
    int use_reference;               /* 1: plain per-step loops (recurrent_set_reference; always in
                                      * the reference build) */
    int parts;                       /* row spans of the time loop; 0: the BLAS thread count */
    /* activation memory, sized by alloc_acts for (Bmax,Tmax) */
    int Bmax, Tmax;
    real *xt;                        /* (T,B,E) the input, time-major */
    real *a_ih;                      /* (T,B,G*H) input projections, one layer at a time */
    real *a_hh;                      /* (B,G*H) the recurrent projection of one step */
    real *da_ih;                     /* (T,B,G*H) dL/da_ih, one layer at a time */
    real *da_hh;                     /* (T,B,G*H) dL/da_hh (GRU only; else = da_ih) */
    real *dh_in;                     /* (T,B,H) dL/dh from above (head or layer l+1) */
    real *dxt;                       /* (T,B,E) dL/dx of layer 0, time-major */
    /* bidirectional only (IN = max(E, 2H)): */
    real *dh_in_rev;                 /* (T,B,H) dL/dh from above of the reverse direction,
                                      * in its own (reversed) time */
    real *dout;                      /* (T,B,2H) dL/d(layer output) */
    real *dx_fwd, *dx_rev;           /* (T,B,IN) each direction's dL/d(layer input) */
    real *dh;                        /* (B,H) total dL/dh_t (each span its own rows) */
    real *dh_next;                   /* (B,H) dL/dh_{t-1} through the recurrence */
    real *dc, *dc_prev;              /* (B,H) dL/dc_t and dL/dc_{t-1} (LSTM) */
    real *norms;                     /* (NS,Tmax) per-step gradient norms of the top layer */
    double *norm_parts;              /* (PARALLEL_MAX_PARTS,NS,Tmax) each span's sums of squares */
    int nseries, last_T;
    size_t act_reals;                /* reals allocated by alloc_acts */
    size_t act_extra_bytes;          /* and bytes of norm_parts */
    /* step mode: the carried state */
    real *state_h, *state_c;         /* (L,B,H) each; state_c LSTM only */
    int step_B;
} RecurrentBody;

/* The one BodyOps table of every recurrent model (`self` is a
 * RecurrentBody): its create finds the model's cell in the registry
 * (core/registry.c) and calls recurrent_create with it. */
extern const BodyOps recurrent_body_ops;

/* The BodyOps entries, for the tests and for a body that reuses them. */
void *recurrent_create(const CellOps *cell, const ModelConfig *cfg, ParamSet *ps, int *H);
void recurrent_bind(void *self, ParamSet *ps);
void recurrent_init(void *self, ParamSet *ps, gsl_rng *rng);
void recurrent_alloc_acts(void *self, int B, int T);
void recurrent_forward(void *self, real *y, const real *x, int B, int T);
void recurrent_backward(void *self, real *dx, const real *dy, int B, int T);
void recurrent_state_reset(void *self, int B);
void recurrent_step(void *self, real *y, const real *x, int B);
int recurrent_grad_norms(void *self, const char *const **names, const real **norms);
size_t recurrent_act_bytes(const void *self);
void recurrent_set_lengths(void *self, const int *lengths);
double recurrent_flops(const void *self, int B, int T);
void recurrent_free(void *self);

/* 1: forward and backward use the plain per-step loops (linear_*_ref per
 * time step, W_hh's gradient added step by step) instead of the one-product
 * BLAS path; for the tests that compare the two.  The reference build
 * (`make REFERENCE=1`) always takes the plain path. */
void recurrent_set_reference(void *self, int on);

/* ---- the time loop, and its split over threads ---------------------------
 * recurrent_time_loop_forward / _backward (recurrent.c) run one layer's
 * loop over t for the batch rows [b0, b1) of B; recurrent_split.c runs them
 * for `parts` spans of rows on as many threads (parts > 1). */
void recurrent_time_loop_forward(RecurrentBody *rb, RecurrentLayer *ly, int B, int T, int b0, int b1);
void recurrent_time_loop_backward(RecurrentBody *rb, RecurrentLayer *ly, int B, int T, int b0, int b1,
                                  int part, int record_norms);
/* how many spans a batch of B is split into (1 in the reference build) */
int recurrent_split_parts(const RecurrentBody *rb, int B);
void recurrent_split_forward(RecurrentBody *rb, RecurrentLayer *ly, int B, int T, int parts);
void recurrent_split_backward(RecurrentBody *rb, RecurrentLayer *ly, int B, int T, int parts,
                              int record_norms);

/* Split the time loop over `parts` spans of batch rows, one thread each
 * (0: as many as OpenBLAS has threads, the default).  Any split gives the
 * same numbers up to the order of floating-point sums; the tests compare. */
void recurrent_set_parts(void *self, int parts);

#endif
