/*
 * lstm.c — the LSTM cell (Hochreiter & Schmidhuber 1997, with the forget
 * gate of Gers et al. 2000, in PyTorch's form): one time step forward and
 * its backward.
 *
 * Dimension legend: B batch, H hidden, G = 4 gates in PyTorch's order
 * i (input), f (forget), g (candidate), o (output).  a_ih and a_hh are
 * (B,4H), gate-major within a row: a[b, k*H + j] is gate k of unit j.
 * saved is (B,5H): per row i, f, g, o (each H) then tanh(c_t) (H).
 *
 * What this file is not: the time loop, layer stacking or the weight
 * gradients (core/recurrent.c).  Read lstm/README.md for the lesson.
 */
#include <math.h>
#include <stddef.h>

#include "model.h"
#include "ops.h"
#include "recurrent.h"

enum { GATE_I, GATE_F, GATE_G, GATE_O, LSTM_GATES };
#define LSTM_SAVED 5   /* i, f, g, o, tanh(c) */

/* h (B,H), c (B,H), saved (B,5H) <- a_ih (B,4H), a_hh (B,4H),
 * h_prev (B,H) (unused: h_{t-1} enters only through a_hh), c_prev (B,H) */
static void lstm_cell_forward(real *h, real *c, real *saved, const real *a_ih,
                              const real *a_hh, const real *h_prev, const real *c_prev,
                              int B, int H)
{
    (void)h_prev;
    for (int b = 0; b < B; b++) {
        const real *ai = a_ih + (size_t)b * LSTM_GATES * H;   /* (4H) */
        const real *ah = a_hh + (size_t)b * LSTM_GATES * H;   /* (4H) */
        real *i = saved + (size_t)b * LSTM_SAVED * H;         /* (H) each */
        real *f = i + H, *g = i + 2 * H, *o = i + 3 * H, *tc = i + 4 * H;
        const real *cp = c_prev + (size_t)b * H;              /* (H) this row */
        real *cr = c + (size_t)b * H, *hr = h + (size_t)b * H;
        /* the four pre-activations W_i. x + b_i. + W_h. h + b_h., side by
         * side in gate order i, f, g, o, exactly where saved keeps the gates */
        for (int k = 0; k < LSTM_GATES * H; k++) i[k] = ai[k] + ah[k];
        /* i = sigma(W_ii x + b_ii + W_hi h + b_hi)
         * f = sigma(W_if x + b_if + W_hf h + b_hf)   (i and f are adjacent: one call) */
        sigmoid_forward(i, i, 2 * (size_t)H);
        /* g = tanh(W_ig x + b_ig + W_hg h + b_hg) */
        tanh_forward(g, g, (size_t)H);
        /* o = sigma(W_io x + b_io + W_ho h + b_ho) */
        sigmoid_forward(o, o, (size_t)H);
        /* c' = f * c + i * g */
        for (int j = 0; j < H; j++) cr[j] = f[j] * cp[j] + i[j] * g[j];
        /* h' = o * tanh(c') */
        tanh_forward(tc, cr, (size_t)H);
        for (int j = 0; j < H; j++) hr[j] = o[j] * tc[j];
    }
}

/* da (B,4H) += dL/d(a_ih + a_hh) (the core uses it for both), dc_prev (B,H)
 * += dL/dc_{t-1}; dh (B,H) total dL/dh_t; dc (B,H) in: dL/dc_t from step
 * t+1, out: the total dL/dc_t.  dh_prev is not touched: h_{t-1} reaches
 * h_t only through W_hh, which the core applies. */
static void lstm_cell_backward(real *da_ih, real *da_hh, real *dh_prev, real *dc_prev,
                               const real *dh, real *dc, const real *saved,
                               const real *h, const real *c, const real *h_prev,
                               const real *c_prev, int B, int H)
{
    (void)da_hh; (void)dh_prev; (void)h; (void)c; (void)h_prev;
    for (int b = 0; b < B; b++) {
        real *da = da_ih + (size_t)b * LSTM_GATES * H;        /* (4H) */
        const real *i = saved + (size_t)b * LSTM_SAVED * H;   /* (H) each */
        const real *f = i + H, *g = i + 2 * H, *o = i + 3 * H, *tc = i + 4 * H;
        for (int j = 0; j < H; j++) {
            size_t u = (size_t)b * H + j;
            /* forward: h' = o * tanh(c'), so
             *   do  = dh * tanh(c')
             *   dc' += dh * o * (1 - tanh(c')^2)   (added to what came from t+1) */
            real d_o = dh[u] * tc[j];
            dc[u] += dh[u] * o[j] * (1 - tc[j] * tc[j]);
            /* forward: c' = f * c + i * g, so
             *   df = dc' * c,  di = dc' * g,  dg = dc' * i,  dc += dc' * f
             * the last term is the additive path: no weight matrix, no
             * squashing derivative, just the forget gate */
            real d_f = dc[u] * c_prev[u];
            real d_i = dc[u] * g[j];
            real d_g = dc[u] * i[j];
            dc_prev[u] += dc[u] * f[j];
            /* forward: i, f, o = sigma(a), g = tanh(a), so
             *   da = d(gate) * sigma' = d * s (1 - s)   or   d * (1 - g^2) */
            da[GATE_I * H + j] += d_i * i[j] * (1 - i[j]);
            da[GATE_F * H + j] += d_f * f[j] * (1 - f[j]);
            da[GATE_G * H + j] += d_g * (1 - g[j] * g[j]);
            da[GATE_O * H + j] += d_o * o[j] * (1 - o[j]);
        }
    }
}

/* After PyTorch's uniform init: the forget slice of b_ih = forget_bias and
 * of b_hh = 0, so f starts at sigma(forget_bias + ...) (~0.73 for 1.0): the
 * cell remembers by default (Gers et al. 2000; Jozefowicz et al. 2015).
 * b_ih (4H), b_hh (4H). */
static void lstm_init_biases(real *b_ih, real *b_hh, const ModelConfig *cfg, int H)
{
    for (int j = 0; j < H; j++) {
        b_ih[GATE_F * H + j] = (real)cfg->forget_bias;
        b_hh[GATE_F * H + j] = 0;
    }
}

/* the cell the shared recurrent body runs (core/recurrent.c); its registry
 * line is in core/registry.c */
const CellOps lstm_cell = {
    .gates = LSTM_GATES,
    .saved_per_unit = LSTM_SAVED,
    .has_cell_state = 1,
    .separate_hh_grad = 0,
    .flops_per_unit = 20,   /* 4 adds, 5 nonlinearities (~2 each), 5 products/sums */
    .forward = lstm_cell_forward,
    .backward = lstm_cell_backward,
    .init_biases = lstm_init_biases,
};
