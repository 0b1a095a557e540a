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
#include "recurrent_encdec.h"

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

static const CellOps rnn_cell = {
    .kind = "rnn",
    .gates = 1,
    .saved_per_unit = 0,
    .has_cell_state = 0,
    .separate_hh_grad = 0,
    .flops_per_unit = 2,          /* add, tanh */
    .forward = rnn_cell_forward,
    .backward = rnn_cell_backward,
    .init_biases = NULL,
};

static void *rnn_create(const ModelConfig *cfg, ParamSet *ps, int *H)
{
    return recurrent_create(&rnn_cell, cfg, ps, H);
}

const BodyOps rnn_body_ops = {
    .kind = "rnn",
    .create = rnn_create,
    .bind = recurrent_bind,
    .init = recurrent_init,
    .alloc_acts = recurrent_alloc_acts,
    .forward = recurrent_forward,
    .backward = recurrent_backward,
    .state_reset = recurrent_state_reset,
    .step = recurrent_step,
    .grad_norms = recurrent_grad_norms,
    .act_bytes = recurrent_act_bytes,
    .flops = recurrent_flops,
    .free = recurrent_free,
};

/* the encoder–decoder built of this cell (core/recurrent_encdec.c) */
static void *rnn_encdec_create(const ModelConfig *cfg, ParamSet *ps, char *err, size_t errlen)
{
    return recurrent_encdec_create(&rnn_cell, cfg, ps, err, errlen);
}

const EncDecOps rnn_encdec_ops = {
    .kind = "rnn",
    .create = rnn_encdec_create,
    .bind = recurrent_encdec_bind,
    .init = recurrent_encdec_init,
    .alloc_acts = recurrent_encdec_alloc_acts,
    .forward = recurrent_encdec_forward,
    .backward = recurrent_encdec_backward,
    .encode = recurrent_encdec_encode,
    .decode_step = recurrent_encdec_decode_step,
    .reorder = recurrent_encdec_reorder,
    .source_attention = recurrent_encdec_source_attention,
    .act_bytes = recurrent_encdec_act_bytes,
    .flops = recurrent_encdec_flops,
    .free = recurrent_encdec_free,
};
