/*
 * scan.c — h_t = a_t ⊙ h_{t-1} + b_t in T steps, in O(log T) steps, and in
 * chunks over threads.
 *
 * The course says an RNN is sequential: h_t needs h_{t-1}, so T steps take
 * T dependent steps.  For h_t = tanh(W h_{t-1} + U x_t) that is true.  But
 * when the recurrence is LINEAR in h and its coefficients depend only on
 * the input,
 *
 *     h_t = a_t ⊙ h_{t-1} + b_t        (a_t, b_t from x_t alone),
 *
 * each step is an affine map e_t: h -> a_t h + b_t, and the composition of
 * two affine maps is again one:
 *
 *     e_2 after e_1 = (a_2 a_1,  a_2 b_1 + b_2)   written  e_1 ⊕ e_2.
 *
 * ⊕ is associative ((e_1 ⊕ e_2) ⊕ e_3 = e_1 ⊕ (e_2 ⊕ e_3)), so the prefix
 * compositions h_t = (e_1 ⊕ ... ⊕ e_t)(h_0) can be grouped in any order —
 * a parallel prefix sum (a "scan", Blelloch 1990), with ⊕ instead of +.
 *
 * Blelloch's work-efficient scan on T' = 2^k elements (missing ones are the
 * identity map (1, 0)):
 *   up-sweep   for d = 0 .. k-1, for every block of 2^{d+1}:
 *                  right end ⊕= its left half's end      (x[r] = x[l] ⊕ x[r])
 *              now the last element holds the whole composition
 *   down-sweep set the last element to the identity; for d = k-1 .. 0,
 *              for every block: (x[l], x[r]) = (x[r], x[r] ⊕ x[l])
 *              each element ends holding the composition of all before it
 *              (an exclusive scan: x[t] = e_0 ⊕ ... ⊕ e_{t-1})
 * Every level's blocks are independent: with T'/2 processors each level is
 * one step, 2 k = 2 log2 T' levels in all — the critical path O(log T)
 * that replaces T.  It does about 2 T' compositions, twice the sequential
 * work: the price of the shorter path.
 *
 * A CPU has P cores, not T/2: there, chunks are what pays.  Split T into P
 * chunks; (1) each thread composes its chunk from the left, alone; (2) one
 * thread walks the P chunk totals, making each the composition of every
 * element up to its end; (3) each thread applies the total before its chunk
 * to every element of the chunk.  Dependent steps ~ 2 T/P + P, work 2 T.
 *
 * The backward is the same recurrence run backwards: with g_t = dL/dh_t in
 * total (from the layer above, dh_t, and from h_{t+1} = a_{t+1} h_t + ...),
 *
 *     g_t = dh_t + a_{t+1} ⊙ g_{t+1},     da_t = g_t ⊙ h_{t-1},   db_t = g_t,
 *
 * a linear scan over reversed time, scanned the same three ways.
 *
 * What this file is not: the gates (mingru.c).  Shapes: see scan.h; arrays
 * are time-major, so "element t" is the (n) block at row t.
 */
#include "scan.h"

#include <assert.h>
#include <math.h>
#include <string.h>

#include "parallel.h"

static int pow2_ceil(int T)
{
    int p = 1;
    while (p < T) p *= 2;
    return p;
}

double scan_critical_path(ScanKind kind, int T, int parts)
{
    switch (kind) {
    case SCAN_SEQUENTIAL: return T;
    case SCAN_BLELLOCH: {
        /* up-sweep and down-sweep log2 T' levels each, then one elementwise step */
        int levels = 0;
        for (int p = 1; p < T; p *= 2) levels++;
        return 2.0 * levels + 1;
    }
    case SCAN_CHUNKED: {
        int P = parts < 1 ? 1 : parts > T ? T : parts;
        double chunk = ceil((double)T / P);
        return chunk + (P - 1) + chunk;          /* compose, carry, apply */
    }
    }
    return T;
}

size_t scan_work_len(int T, size_t n)
{
    return 2 * (size_t)pow2_ceil(T) * n;
}

/* ======================= the lesson: one step at a time =================== */

/* h[t+1] = a[t] ⊙ h[t] + b[t] */
static void forward_sequential(real *h, const real *a, const real *b, int T, size_t n)
{
    for (int t = 0; t < T; t++) {
        const real *at = a + (size_t)t * n, *bt = b + (size_t)t * n;
        const real *prev = h + (size_t)t * n;
        real *next = h + (size_t)(t + 1) * n;
        for (size_t i = 0; i < n; i++) next[i] = at[i] * prev[i] + bt[i];
    }
}

/* g[t] = dh[t] + a[t+1] ⊙ g[t+1] (into db), da[t] = g[t] ⊙ h[t] */
static void backward_sequential(real *da, real *db, real *dh0, const real *dh, const real *a,
                                const real *h, int T, size_t n)
{
    for (int t = T - 1; t >= 0; t--) {
        real *g = db + (size_t)t * n;
        const real *from_above = dh + (size_t)t * n;
        /* forward: h[t+2] = a[t+1] ⊙ h[t+1] + b[t+1], so dh[t+1] gets a[t+1] ⊙ g[t+1] */
        for (size_t i = 0; i < n; i++)
            g[i] = from_above[i] + (t + 1 < T ? a[(size_t)(t + 1) * n + i] * g[n + i] : 0);
        /* forward: h[t+1] = a[t] ⊙ h[t] + b[t]: da[t] = g ⊙ h[t], db[t] = g */
        for (size_t i = 0; i < n; i++) da[(size_t)t * n + i] = g[i] * h[(size_t)t * n + i];
    }
    if (dh0)
        for (size_t i = 0; i < n; i++) dh0[i] = T > 0 ? a[i] * db[i] : 0;
}

/* ================== composition of affine maps, in place ================== */

/* (A2, B2) = (A1, B1) ⊕ (A2, B2): first e_1, then e_2 */
static void compose(const real *A1, const real *B1, real *A2, real *B2, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        B2[i] = A2[i] * B1[i] + B2[i];
        A2[i] = A2[i] * A1[i];
    }
}

/* Blelloch: (A, B) (Tp,n) in place become the exclusive scan,
 * x[t] = e_0 ⊕ ... ⊕ e_{t-1} (x[0] the identity); Tp a power of two */
static void blelloch_exclusive(real *A, real *B, int Tp, size_t n)
{
    /* up-sweep: x[r] = x[l] ⊕ x[r], blocks of 2^{d+1} (independent within a level) */
    for (int step = 1; step < Tp; step *= 2)
        for (int k = 0; k < Tp; k += 2 * step) {
            size_t l = (size_t)(k + step - 1) * n, r = (size_t)(k + 2 * step - 1) * n;
            compose(A + l, B + l, A + r, B + r, n);
        }
    /* the root becomes the identity (1, 0) */
    for (size_t i = 0; i < n; i++) {
        A[(size_t)(Tp - 1) * n + i] = 1;
        B[(size_t)(Tp - 1) * n + i] = 0;
    }
    /* down-sweep: (x[l], x[r]) = (x[r], x[r] ⊕ x[l]) */
    for (int step = Tp / 2; step >= 1; step /= 2)
        for (int k = 0; k < Tp; k += 2 * step) {
            real *Al = A + (size_t)(k + step - 1) * n, *Bl = B + (size_t)(k + step - 1) * n;
            real *Ar = A + (size_t)(k + 2 * step - 1) * n, *Br = B + (size_t)(k + 2 * step - 1) * n;
            for (size_t i = 0; i < n; i++) {
                real left_a = Al[i], left_b = Bl[i];
                Al[i] = Ar[i];                   /* the prefix before this block */
                Bl[i] = Br[i];
                Br[i] = left_a * Br[i] + left_b; /* x[r] ⊕ left subtree: prefix, then left */
                Ar[i] = left_a * Ar[i];
            }
        }
}

/* chunked over threads: (A, B) (T,n) in place become the inclusive scan */
typedef struct Chunks {
    real *A, *B;
    int T, parts;
    size_t n;
} Chunks;

/* phase 1: compose chunk p from its own first element */
static void chunk_compose(void *arg, int p)
{
    const Chunks *c = arg;
    int t0, t1;
    parallel_span(c->T, c->parts, p, &t0, &t1);
    for (int t = t0 + 1; t < t1; t++)
        compose(c->A + (size_t)(t - 1) * c->n, c->B + (size_t)(t - 1) * c->n,
                c->A + (size_t)t * c->n, c->B + (size_t)t * c->n, c->n);
}

/* phase 3: apply everything before chunk p (the previous chunk's end, final
 * after phase 2) to each element but the last (phase 2 did that one) */
static void chunk_apply(void *arg, int p)
{
    const Chunks *c = arg;
    if (p == 0) return;
    int t0, t1, s0, s1;
    parallel_span(c->T, c->parts, p, &t0, &t1);
    parallel_span(c->T, c->parts, p - 1, &s0, &s1);
    const real *Ap = c->A + (size_t)(s1 - 1) * c->n, *Bp = c->B + (size_t)(s1 - 1) * c->n;
    for (int t = t0; t < t1 - 1; t++)
        compose(Ap, Bp, c->A + (size_t)t * c->n, c->B + (size_t)t * c->n, c->n);
}

static void chunked_inclusive(real *A, real *B, int T, size_t n, int parts)
{
    if (parts > T) parts = T;
    if (parts > PARALLEL_MAX_PARTS) parts = PARALLEL_MAX_PARTS;
    if (parts < 1) parts = 1;
    Chunks c = {A, B, T, parts, n};
    /* (1) each chunk alone */
    if (parts > 1) parallel_run(parts, chunk_compose, &c);
    else chunk_compose(&c, 0);
    /* (2) the chunk ends, one after another: end_p = end_{p-1} ⊕ end_p */
    for (int p = 1; p < parts; p++) {
        int s0, s1, t0, t1;
        parallel_span(T, parts, p - 1, &s0, &s1);
        parallel_span(T, parts, p, &t0, &t1);
        compose(A + (size_t)(s1 - 1) * n, B + (size_t)(s1 - 1) * n, A + (size_t)(t1 - 1) * n,
                B + (size_t)(t1 - 1) * n, n);
    }
    /* (3) the rest of each chunk */
    if (parts > 1) parallel_run(parts, chunk_apply, &c);
}

/* ============================ forward / backward ========================== */

void scan_forward(ScanKind kind, real *h, const real *a, const real *b, real *work,
                  int T, size_t n, int parts)
{
    /* h (T+1,n), a and b (T,n), work (scan_work_len(T, n)) */
    if (kind == SCAN_SEQUENTIAL || T == 0) {
        forward_sequential(h, a, b, T, n);
        return;
    }
    int Tp = pow2_ceil(T);
    real *A = work, *B = work + (size_t)Tp * n;          /* (Tp,n) each */
    memcpy(A, a, (size_t)T * n * sizeof(real));
    memcpy(B, b, (size_t)T * n * sizeof(real));
    const real *h0 = h;
    if (kind == SCAN_BLELLOCH) {
        /* the missing elements T .. Tp-1 are the identity (1, 0) */
        for (size_t i = (size_t)T * n; i < (size_t)Tp * n; i++) {
            A[i] = 1;
            B[i] = 0;
        }
        blelloch_exclusive(A, B, Tp, n);
        /* x[t] = e_0 ⊕ ... ⊕ e_{t-1}, so h[t] = x[t](h[0]) for t < T (t = 0:
         * the identity), then one more step for h[T]; each t independent */
        for (int t = T - 1; t >= 1; t--)
            for (size_t i = 0; i < n; i++)
                h[(size_t)t * n + i] = A[(size_t)t * n + i] * h0[i] + B[(size_t)t * n + i];
        for (size_t i = 0; i < n; i++)
            h[(size_t)T * n + i] = a[(size_t)(T - 1) * n + i] * h[(size_t)(T - 1) * n + i] +
                                   b[(size_t)(T - 1) * n + i];
    } else {
        chunked_inclusive(A, B, T, n, parts);
        /* x[t] = e_0 ⊕ ... ⊕ e_t, so h[t+1] = x[t](h[0]) */
        for (int t = T - 1; t >= 0; t--)
            for (size_t i = 0; i < n; i++)
                h[(size_t)(t + 1) * n + i] = A[(size_t)t * n + i] * h0[i] + B[(size_t)t * n + i];
    }
}

void scan_backward(ScanKind kind, real *da, real *db, real *dh0, const real *dh, const real *a,
                   const real *h, real *work, int T, size_t n, int parts)
{
    /* da, db (T,n) written; dh0 (n) or NULL; dh (T,n), a (T,n), h (T+1,n) */
    if (kind == SCAN_SEQUENTIAL || T == 0) {
        backward_sequential(da, db, dh0, dh, a, h, T, n);
        return;
    }
    /* in reversed time s = T-1-t, y_s = g[T-1-s] is the linear recurrence
     * y_s = c_s y_{s-1} + d_s with c_s = a[T-s] (s >= 1; c_0 multiplies
     * y_{-1} = 0, so 0 will do) and d_s = dh[T-1-s] */
    int Tp = pow2_ceil(T);
    real *C = work, *D = work + (size_t)Tp * n;          /* (Tp,n) each */
    for (int s = 0; s < T; s++) {
        if (s == 0) memset(C, 0, n * sizeof(real));
        else memcpy(C + (size_t)s * n, a + (size_t)(T - s) * n, n * sizeof(real));
        memcpy(D + (size_t)s * n, dh + (size_t)(T - 1 - s) * n, n * sizeof(real));
    }
    if (kind == SCAN_BLELLOCH) {
        for (size_t i = (size_t)T * n; i < (size_t)Tp * n; i++) {
            C[i] = 1;
            D[i] = 0;
        }
        blelloch_exclusive(C, D, Tp, n);
        /* y_{s-1} = x[s](0) = D[s]; y_s = c_s y_{s-1} + d_s, each s independent */
        for (int s = 0; s < T; s++) {
            int t = T - 1 - s;
            const real *cs = s == 0 ? NULL : a + (size_t)(T - s) * n;
            for (size_t i = 0; i < n; i++)
                db[(size_t)t * n + i] = (cs ? cs[i] * D[(size_t)s * n + i] : 0) + dh[(size_t)t * n + i];
        }
    } else {
        chunked_inclusive(C, D, T, n, parts);
        /* y_s = x[s](0) = D[s] */
        for (int s = 0; s < T; s++)
            memcpy(db + (size_t)(T - 1 - s) * n, D + (size_t)s * n, n * sizeof(real));
    }
    /* da[t] = g[t] ⊙ h[t];  dh0 = a[0] ⊙ g[0] */
    for (size_t i = 0; i < (size_t)T * n; i++) da[i] = db[i] * h[i];
    if (dh0)
        for (size_t i = 0; i < n; i++) dh0[i] = a[i] * db[i];
}
