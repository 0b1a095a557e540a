/*
 * recurrent_split.c — the recurrent time loop split over threads: each of
 * `parts` threads runs recurrent_time_loop_forward / _backward (recurrent.c)
 * for its own span of batch rows.  Nothing here changes what is computed:
 * any split gives the same numbers up to the order of floating-point sums
 * (tests/test_parallel.c compares).
 *
 * Only h_{t-1} W_hh^T and the cell are sequential in t, and the
 * rows of a batch never meet inside them: row b's h_t depends on row b's
 * h_{t-1} alone.  So the time loop is split over the batch — rows
 * [b0, b1) on each of P threads, each running all T steps for its rows
 * with single-threaded BLAS, with no synchronisation between steps — and
 * the whole-sequence products (A_ih, dW_ih, dW_hh, dX) use OpenBLAS's own
 * thread pool.  P is the BLAS thread count the trainer set (or
 * recurrent_set_parts).  The alternative, handing each step's small
 * product to the BLAS pool, wakes and synchronises its threads twice per
 * step and leaves the cell single-threaded; the split pays instead with
 * thinner per-step products (B/P rows).  On the shared 2-core machine this
 * was written on (about one core free) the pool was the faster for the RNN
 * and GRU at B = 32 (RNN 82 against 102 ms per step), the split for the
 * LSTM at B = 8; recurrent_set_parts(self, 1) selects the pool.
 *
 * The reference build (REFERENCE_BUILD, real.h) never splits.
 */
#include "recurrent.h"

#include "parallel.h"

/* One thread's share of a layer's time loop: rows [b0, b1) of a batch of B. */
typedef struct LayerSplit {
    RecurrentBody *rb;
    RecurrentLayer *ly;
    int B, T, parts, record_norms;
} LayerSplit;

static void forward_part(void *arg, int p)
{
    const LayerSplit *ls = arg;
    int b0, b1;
    parallel_span(ls->B, ls->parts, p, &b0, &b1);
    recurrent_time_loop_forward(ls->rb, ls->ly, ls->B, ls->T, b0, b1);
}

static void backward_part(void *arg, int p)
{
    const LayerSplit *ls = arg;
    int b0, b1;
    parallel_span(ls->B, ls->parts, p, &b0, &b1);
    /* each span writes its sums of squares to its own slice p of norm_parts */
    recurrent_time_loop_backward(ls->rb, ls->ly, ls->B, ls->T, b0, b1, p, ls->record_norms);
}

int recurrent_split_parts(const RecurrentBody *rb, int B)
{
    if (REFERENCE_BUILD) return 1;
    int parts = rb->parts > 0 ? rb->parts : parallel_threads();
    if (parts > PARALLEL_MAX_PARTS) parts = PARALLEL_MAX_PARTS;
    if (parts > B) parts = B;
    return parts < 1 ? 1 : parts;
}

void recurrent_split_forward(RecurrentBody *rb, RecurrentLayer *ly, int B, int T, int parts)
{
    LayerSplit ls = {rb, ly, B, T, parts, 0};
    parallel_run(parts, forward_part, &ls);
}

void recurrent_split_backward(RecurrentBody *rb, RecurrentLayer *ly, int B, int T, int parts,
                              int record_norms)
{
    LayerSplit ls = {rb, ly, B, T, parts, record_norms};
    parallel_run(parts, backward_part, &ls);
}
