/*
 * rnn.c — the vanilla (Elman) RNN cell: one time step forward and backward.
 *
 * Dimension legend: B batch, H hidden.  a_ih and a_hh are (B,H) (G = 1).
 * What this file is not: the time loop, layer stacking or the weight
 * gradients — those are shared with the LSTM and GRU in core/recurrent.c,
 * which computes a_ih = x_t W_ih^T + b_ih and a_hh = h_{t-1} W_hh^T + b_hh
 * and hands them to the cell.  Read rnn/README.md for the lesson.
 */
#include <math.h>
#include <stddef.h>

#include "model.h"
#include "ops.h"
#include "recurrent.h"

/* h (B,H), saved unused (S = 0: the backward needs only h itself);
 * a_ih (B,H), a_hh (B,H), h_prev (B,H) (the direct path is unused: h_{t-1}
 * reaches h_t only through W_hh, which the core applies) */
static void rnn_cell_forward(real *h, real *c, real *saved, const real *a_ih,
                             const real *a_hh, const real *h_prev, const real *c_prev,
                             int B, int H)
{
    (void)c; (void)saved; (void)h_prev; (void)c_prev;
    size_t n = (size_t)B * H;
    /* h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh) = tanh(a_ih + a_hh) */
    for (size_t i = 0; i < n; i++) h[i] = a_ih[i] + a_hh[i];
    tanh_forward(h, h, n);
}

/* da (B,H) += dL/d(a_ih + a_hh); the core uses it for both a_ih and a_hh
 * and adds dh_{t-1} += da W_hh.  dh (B,H) total dL/dh_t; h (B,H) = h_t. */
static void rnn_cell_backward(real *da_ih, real *da_hh, real *dh_prev, real *dc_prev,
                              const real *dh, real *dc, const real *saved,
                              const real *h, const real *c, const real *h_prev,
                              const real *c_prev, int B, int H)
{
    (void)da_hh; (void)dh_prev; (void)dc_prev; (void)dc; (void)saved; (void)c;
    (void)h_prev; (void)c_prev;
    for (size_t i = 0; i < (size_t)B * H; i++) {
        /* forward: h = tanh(a), so da = dh (1 - h^2) */
        da_ih[i] += dh[i] * (1 - h[i] * h[i]);
    }
}

/* the cell the shared recurrent body runs (core/recurrent.c); its registry
 * line is in core/registry.c */
const CellOps rnn_cell = {
    .gates = 1,
    .saved_per_unit = 0,
    .has_cell_state = 0,
    .separate_hh_grad = 0,
    .flops_per_unit = 2,          /* add, tanh */
    .forward = rnn_cell_forward,
    .backward = rnn_cell_backward,
    .init_biases = NULL,
};
