/*
 * parallel.h — splitting work over threads, the one way seqlab does it.
 *
 * Training is mostly matrix products, which OpenBLAS runs on its own pool
 * of threads (the trainer's `threads` setting).  What is left between the
 * products — a recurrent model's time loop, a Transformer's LayerNorm,
 * GELU and per-head attention — is independent from one sequence of the
 * batch to the next.  So a model splits the batch into P spans of rows and
 * runs each span on a thread of its own, the whole way through, with
 * OpenBLAS single-threaded meanwhile: two pools never spin against each
 * other, and there is no synchronisation inside the span.
 *
 * What this file is not: a thread pool.  Threads are started per call
 * (twice a training step), which costs microseconds against steps of
 * milliseconds, and nothing is allocated through xmalloc.
 */
#ifndef SEQLAB_PARALLEL_H
#define SEQLAB_PARALLEL_H

#include <stddef.h>
#include "real.h"

/* most spans a batch is split into */
#define PARALLEL_MAX_PARTS 16

/* how many threads to compute with: OpenBLAS's thread count, which the
 * trainer and the benchmark set from `threads` */
int parallel_threads(void);

/* the cores this machine has online (at least 1) */
int parallel_cores(void);

/* fn(arg, p) for p = 0 .. parts-1, each on its own thread (p = 0 on the
 * caller's), returning when all are done; OpenBLAS is single-threaded
 * meanwhile and restored afterwards.  parts <= PARALLEL_MAX_PARTS. */
void parallel_run(int parts, void (*fn)(void *arg, int part), void *arg);

/* Below this many rows (positions of the span's sequences) per span a
 * split costs more than it gains: each span repeats every weight-gradient
 * product's fixed cost (packing the weights) on fewer rows.  Measured on
 * the Transformer, 2 threads: B=8, T=32 (256 rows) took 84-91 ms of CPU per
 * step split in two against 56 ms unsplit; at B=32, T=128 the split used
 * less (591 against 654 ms). */
#define PARALLEL_MIN_ROWS 512

/* How many spans to split a batch of B sequences, `rows` rows in all, into:
 * `asked` when set (> 0, a test's setter), else one per BLAS thread but
 * none thinner than PARALLEL_MIN_ROWS rows; never more than `sized` (the
 * spans the model's workspaces hold) or B.  The reference build (`make
 * REFERENCE=1`): 1, on the calling thread. */
int parallel_parts(int asked, int B, long rows, int sized);

/* The end of a split backward: spans 1 .. parts-1 accumulated their
 * parameter gradients in private buffers priv (parts-1, len) laid out like
 * grad (len).  grad += each of them, span by span as one thread would, and
 * each is zeroed for the next backward; the buffer is cut into `parts`
 * slices, one per thread. */
void parallel_join(real *grad, real *priv, size_t len, int parts);

/* rows [*lo, *hi) of part p when n rows are split into `parts` spans as
 * evenly as possible */
static inline void parallel_span(int n, int parts, int p, int *lo, int *hi)
{
    *lo = (int)((long)n * p / parts);
    *hi = (int)((long)n * (p + 1) / parts);
}

#endif
