/*
 * scan.h — the linear recurrence h_t = a_t ⊙ h_{t-1} + b_t, forward and
 * backward, three ways (scan.c): one step at a time (the lesson), Blelloch's
 * up-sweep / down-sweep (2 log2 T dependent levels: the critical path), and
 * in chunks over threads (what a CPU with P cores runs: T/P + P levels).
 *
 * Shapes: T time, n = the independent channels of one step (B*H, time-
 * major: row t of every array is one (n) block).  h (T+1,n) with h[0] the
 * initial state; a, b (T,n) with a[t], b[t] the coefficients that make
 * h[t+1] from h[t].
 *
 * What this file is not: where a and b come from (mingru.c).
 */
#ifndef SEQLAB_SCAN_H
#define SEQLAB_SCAN_H

#include <stddef.h>

#include "real.h"

typedef enum {
    SCAN_SEQUENTIAL,   /* T dependent steps, one after another */
    SCAN_BLELLOCH,     /* work-efficient tree: 2 ceil(log2 T) dependent levels */
    SCAN_CHUNKED,      /* P chunks over P threads: ~T/P + P dependent steps */
} ScanKind;

/* the dependent steps (the critical path) of a scan over T elements by
 * kind, with `parts` threads for the chunked one */
double scan_critical_path(ScanKind kind, int T, int parts);

/* reals of the workspace scan_forward / scan_backward need: two (T',n)
 * arrays, T' = T rounded up to a power of two (Blelloch's tree) */
size_t scan_work_len(int T, size_t n);

/* h[t+1] = a[t] ⊙ h[t] + b[t] for t = 0 .. T-1; h[0] is read, not written.
 * work (scan_work_len(T, n)); parts: threads of the chunked scan. */
void scan_forward(ScanKind kind, real *h, const real *a, const real *b, real *work,
                  int T, size_t n, int parts);

/* From dh (T,n), dL/dh[t+1] from outside the recurrence (the layer above),
 * the total gradient g[t] = dL/dh[t+1] = dh[t] + a[t+1] ⊙ g[t+1] — itself a
 * linear recurrence, run backwards in time — and
 *     da[t] = g[t] ⊙ h[t]      db[t] = g[t]          (both (T,n), written)
 * dh0 (n) = a[0] ⊙ g[0], the gradient of h[0] (NULL: not needed). */
void scan_backward(ScanKind kind, real *da, real *db, real *dh0, const real *dh, const real *a,
                   const real *h, real *work, int T, size_t n, int parts);

#endif
