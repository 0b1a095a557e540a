/*
 * mingru.h — minGRU, minLSTM (Feng et al. 2024) and a time-invariant linear
 * recurrence: recurrent models whose recurrence is a scan (scan.h).
 *
 * Dimension legend: B batch, T time, E input width (layer 0), H hidden,
 * G rows of the input projection per unit (minGRU 2, minLSTM 3, lti 1),
 * L layers, N = T*B rows.  The model's x and y are (B,T,.); inside,
 * everything is time-major like core/recurrent.c: the state history
 * (T+1,B,H) with row 0 the initial state h_0 = 0.
 *
 * Reading order (mingru/README.md is the lesson):
 *   gates.c    a_t, b_t from the input: the three models' equations
 *   scan.c     h_t = a_t ⊙ h_{t-1} + b_t: sequential, Blelloch, chunked
 *   mingru.c   layers, the BodyOps, stepping
 *
 * Parameters (nn.Linear layout, W stored (out, in)), per layer k:
 *   mingru.weight_l{k}  [2H, in] rows z, h~     mingru.bias_l{k}  [2H]
 *   minlstm.weight_l{k} [3H, in] rows f, i, h~  minlstm.bias_l{k} [3H]
 *   lti.weight_l{k}     [H, in]                 lti.bias_l{k}     [H]
 *   lti.decay_l{k}      [H]  θ, the logit of the per-channel decay a = σ(θ)
 */
#ifndef SEQLAB_MINGRU_H
#define SEQLAB_MINGRU_H

#include <stddef.h>

#include "model.h"
#include "real.h"
#include "scan.h"

extern const BodyOps mingru_body_ops, minlstm_body_ops, lti_body_ops;

/* the registry's check: 0, or -1 with a message — these models read one
 * way only (no bidirectional, no encoder architecture yet) */
int mingru_check_config(const ModelConfig *cfg, char *err, size_t errlen);

/* Which scan the forward and backward run, and on how many threads
 * (parts 0: the BLAS thread count).  The default is SCAN_CHUNKED with
 * parts 0; every kind gives the same numbers up to float rounding. */
void mingru_set_scan(void *body, ScanKind kind, int parts);

/* ============================== gates.c =================================== */

/* a, b (N,H) from u (N,G*H) (and decay θ (H), lti only; else unused) */
void mingru_gates_forward(real *a, real *b, const real *u, const real *decay, size_t N, int H);
void minlstm_gates_forward(real *a, real *b, const real *u, const real *decay, size_t N, int H);
void lti_gates_forward(real *a, real *b, const real *u, const real *decay, size_t N, int H);
/* du (N,G*H) written from da, db (N,H) = dL/da, dL/db; ddecay (H) += (lti
 * only) */
void mingru_gates_backward(real *du, real *ddecay, const real *da, const real *db, const real *u,
                           const real *decay, size_t N, int H);
void minlstm_gates_backward(real *du, real *ddecay, const real *da, const real *db, const real *u,
                            const real *decay, size_t N, int H);
void lti_gates_backward(real *du, real *ddecay, const real *da, const real *db, const real *u,
                        const real *decay, size_t N, int H);

#endif
