/*
 * gru.c — the GRU cell (Cho et al. 2014, in PyTorch's form): one time step
 * forward and its backward.
 *
 * Dimension legend: B batch, H hidden, G = 3 gates in PyTorch's order
 * r (reset), z (update), n (candidate).  a_ih and a_hh are (B,3H),
 * gate-major within a row: a[b, k*H + j] is gate k of unit j.
 * saved is (B,4H): per row r, z, n (each H) then a_hh's n slice,
 * W_hn h_{t-1} + b_hn (H), which the backward of r needs.
 *
 * Unlike the RNN and LSTM, a_ih and a_hh do not enter only as a sum: the
 * reset gate multiplies (W_hn h + b_hn) alone.  So the cell writes da_hh
 * itself (separate_hh_grad = 1).
 *
 * What this file is not: the time loop, layer stacking or the weight
 * gradients (core/recurrent.c).  Read gru/README.md for the lesson.
 */
#include <math.h>
#include <stddef.h>

#include "model.h"
#include "ops.h"
#include "recurrent.h"

enum { GATE_R, GATE_Z, GATE_N, GRU_GATES };
#define GRU_SAVED 4   /* r, z, n, W_hn h + b_hn */

/* h (B,H), saved (B,4H) <- a_ih (B,3H), a_hh (B,3H), h_prev (B,H);
 * c and c_prev unused (NULL) */
static void gru_cell_forward(real *h, real *c, real *saved, const real *a_ih,
                             const real *a_hh, const real *h_prev, const real *c_prev,
                             int B, int H)
{
    (void)c; (void)c_prev;
    for (int b = 0; b < B; b++) {
        const real *ai = a_ih + (size_t)b * GRU_GATES * H;   /* (3H) */
        const real *ah = a_hh + (size_t)b * GRU_GATES * H;   /* (3H) */
        real *r = saved + (size_t)b * GRU_SAVED * H;         /* (H) each */
        real *z = r + H, *n = r + 2 * H, *hn = r + 3 * H;
        const real *hp = h_prev + (size_t)b * H;             /* (H) this row */
        real *hr = h + (size_t)b * H;
        /* r = sigma(W_ir x + b_ir + W_hr h + b_hr)
         * z = sigma(W_iz x + b_iz + W_hz h + b_hz)   (r and z are adjacent: one call) */
        for (int k = 0; k < 2 * H; k++) r[k] = ai[GATE_R * H + k] + ah[GATE_R * H + k];
        sigmoid_forward(r, r, 2 * (size_t)H);
        /* n = tanh(W_in x + b_in + r * (W_hn h + b_hn)) */
        for (int j = 0; j < H; j++) {
            hn[j] = ah[GATE_N * H + j];
            n[j] = ai[GATE_N * H + j] + r[j] * hn[j];
        }
        tanh_forward(n, n, (size_t)H);
        /* h' = (1 - z) * n + z * h */
        for (int j = 0; j < H; j++) hr[j] = (1 - z[j]) * n[j] + z[j] * hp[j];
    }
}

/* da_ih (B,3H), da_hh (B,3H), dh_prev (B,H) += (dh_prev: the direct path
 * z * h only; the core adds da_hh W_hh); dh (B,H) total dL/dh_t; dc,
 * dc_prev unused (NULL). */
static void gru_cell_backward(real *da_ih, real *da_hh, real *dh_prev, real *dc_prev,
                              const real *dh, real *dc, const real *saved,
                              const real *h, const real *c, const real *h_prev,
                              const real *c_prev, int B, int H)
{
    (void)dc_prev; (void)dc; (void)h; (void)c; (void)c_prev;
    for (int b = 0; b < B; b++) {
        real *dai = da_ih + (size_t)b * GRU_GATES * H;       /* (3H) */
        real *dah = da_hh + (size_t)b * GRU_GATES * H;       /* (3H) */
        const real *r = saved + (size_t)b * GRU_SAVED * H;   /* (H) each */
        const real *z = r + H, *n = r + 2 * H, *hn = r + 3 * H;
        for (int j = 0; j < H; j++) {
            size_t u = (size_t)b * H + j;
            /* forward: h' = (1 - z) * n + z * h, so
             *   dn = dh' * (1 - z),  dz = dh' * (h - n),  dh += dh' * z
             * the last term is the additive path: h_{t-1} copied through,
             * scaled only by the update gate */
            real d_n = dh[u] * (1 - z[j]);
            real d_z = dh[u] * (h_prev[u] - n[j]);
            dh_prev[u] += dh[u] * z[j];
            /* forward: n = tanh(a_in + r * hn) with hn = W_hn h + b_hn, so
             *   da_in = dn * (1 - n^2),  dhn = da_in * r,  dr = da_in * hn */
            real da_n = d_n * (1 - n[j] * n[j]);
            dai[GATE_N * H + j] += da_n;
            dah[GATE_N * H + j] += da_n * r[j];
            real d_r = da_n * hn[j];
            /* forward: z = sigma(a_iz + a_hz), so da_iz = da_hz = dz * z (1 - z) */
            real da_z = d_z * z[j] * (1 - z[j]);
            dai[GATE_Z * H + j] += da_z;
            dah[GATE_Z * H + j] += da_z;
            /* forward: r = sigma(a_ir + a_hr), so da_ir = da_hr = dr * r (1 - r) */
            real da_r = d_r * r[j] * (1 - r[j]);
            dai[GATE_R * H + j] += da_r;
            dah[GATE_R * H + j] += da_r;
        }
    }
}

/* the cell the shared recurrent body runs (core/recurrent.c); its registry
 * line is in core/registry.c */
const CellOps gru_cell = {
    .gates = GRU_GATES,
    .saved_per_unit = GRU_SAVED,
    .has_cell_state = 0,
    .separate_hh_grad = 1,
    .flops_per_unit = 16,   /* 3 adds, 3 nonlinearities (~2 each), r*hn, the blend */
    .forward = gru_cell_forward,
    .backward = gru_cell_backward,
    .init_biases = NULL,
};
