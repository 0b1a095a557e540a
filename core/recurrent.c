/*
 * recurrent.c — layer stacking and backpropagation through time, shared by
 * the RNN, LSTM and GRU (see recurrent.h for the legend and the CellOps a
 * cell provides).  What this file is not: any gate's math.
 *
 * Forward, one layer (x: its input sequence, time-major):
 *     A_ih = X W_ih^T + b_ih                 (T*B,G*H)  one product, all steps
 *     for t = 0 .. T-1:
 *         a_hh = h_{t-1} W_hh^T + b_hh       (B,G*H)    one product per step
 *         h_t (, c_t) = cell(A_ih[t], a_hh, h_{t-1} (, c_{t-1}))
 * Layer l+1 reads layer l's h_1 .. h_T as its x; y is the top layer's h.
 *
 * Backward, one layer, in exact reverse (BPTT):
 *     dh_next = 0 (nothing flows back from beyond the last step)
 *     for t = T-1 .. 0:
 *         dh_t = dL/dh_t from above (head or layer l+1) + dh_next
 *         da_ih[t], da_hh[t], direct dh_{t-1} (, dc_{t-1}) = cell_backward(dh_t (, dc_t))
 *         dh_next = direct dh_{t-1} + da_hh[t] W_hh
 *     dW_hh += dA_hh^T H_prev   (G*H,T*B)(T*B,H): the SAME W_hh acted at every
 *     db_hh += sum over t, b    step, so its gradient is the sum over steps,
 *                               formed here as one product over all of them
 *     dX     = dA_ih W_ih ;  dW_ih += dA_ih^T X ;  db_ih += sum dA_ih
 * The reference path (use_reference) does the same with plain loops one
 * step at a time, adding each step's da_hh^T h_{t-1} to dW_hh as it goes.
 *
 * The time loop itself is recurrent_time_loop_forward / _backward: one
 * plain loop over t with the cell call in it.  Splitting it over threads
 * (batch rows on each) wraps it from outside, in recurrent_split.c; the
 * reference build (`make REFERENCE=1`) never splits and takes the plain
 * per-step path (use_reference) throughout.
 *
 * Bidirectional (D = 2).  The reverse direction of a layer is the same
 * time loop, with its own `_reverse` tensors, over the layer's input read
 * backwards row by row: x'_t = x_{n-1-t} for t < n, where n is the row's
 * real token count (Batch.lengths; padding t >= n stays where it is, after
 * the real tokens, so it never reaches them).  Its h'_{k} at step k belongs
 * to position t = n-1-k, so the layer's output is
 *     out_t = [ h_t (forward) ; h'_{n-1-t} (backward) ]      (B,2H)
 * the forward half summarising x_0 .. x_t, the backward half x_t .. x_{n-1}.
 * Backward: dL/dout_t splits into the two halves, the backward half moved
 * to the reverse direction's own time; each direction runs the BPTT above;
 * dL/dx_t = dx_t (forward) + dx'_{n-1-t} (backward).
 */
#include "recurrent.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops.h"
#include "registry.h"
#include "util.h"
#include "vecmath.h"


/* ---- layout helpers ------------------------------------------------------ */

/* dst (T,B,D) = src (B,T,D) */
static void to_time_major(real *dst, const real *src, int B, int T, int D)
{
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++)
            memcpy(dst + ((size_t)t * B + b) * D, src + ((size_t)b * T + t) * D,
                   (size_t)D * sizeof(real));
}

/* dst (B,T,D) = src (T,B,D) */
static void from_time_major(real *dst, const real *src, int B, int T, int D)
{
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++)
            memcpy(dst + ((size_t)b * T + t) * D, src + ((size_t)t * B + b) * D,
                   (size_t)D * sizeof(real));
}

/* dst (B,T,D) += src (T,B,D) */
static void from_time_major_add(real *dst, const real *src, int B, int T, int D)
{
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++)
            vecmath_add(dst + ((size_t)b * T + t) * D, src + ((size_t)t * B + b) * D, (size_t)D);
}

/* base + off, or NULL for an array the cell does not use (S = 0, no c) */
static real *maybe_at(real *base, size_t off)
{
    return base ? base + off : NULL;
}

/* ---- create, bind, init -------------------------------------------------- */

void *recurrent_create(const CellOps *cell, const ModelConfig *cfg, ParamSet *ps, int *H)
{
    if (cfg->num_layers < 1) die("%s: num_layers must be at least 1 (got %d)", cfg->kind, cfg->num_layers);
    if (cfg->hidden_size < 1) die("%s: hidden_size must be at least 1 (got %d)", cfg->kind, cfg->hidden_size);
    if (cfg->embed_dim < 1) die("%s: embed_dim must be at least 1 (got %d)", cfg->kind, cfg->embed_dim);
    RecurrentBody *rb = xcalloc(1, sizeof *rb);
    rb->use_reference = REFERENCE_BUILD;   /* make REFERENCE=1: the plain per-step path */
    rb->cell = cell;
    rb->cfg = *cfg;
    rb->E = cfg->embed_dim;
    rb->H = cfg->hidden_size;
    rb->L = cfg->num_layers;
    rb->G = cell->gates;
    rb->S = cell->saved_per_unit;
    rb->D = cfg->bidirectional ? 2 : 1;
    rb->nseries = cell->has_cell_state ? 2 : 1;
    rb->layers = xcalloc((size_t)rb->L * rb->D, sizeof *rb->layers);
    int GH = rb->G * rb->H;
    char name[PARAM_NAME_MAX];
    /* PyTorch's order and names (the prefix is the model's name, cfg->kind):
     * per layer weight_ih, weight_hh, bias_ih, bias_hh, then the same four
     * with _reverse (bidirectional) */
    for (int i = 0; i < rb->L * rb->D; i++) {
        RecurrentLayer *ly = &rb->layers[i];
        int l = i / rb->D;
        const char *dir = i % rb->D ? "_reverse" : "";
        ly->in = l == 0 ? rb->E : rb->D * rb->H;
        snprintf(name, sizeof name, "%s.weight_ih_l%d%s", cfg->kind, l, dir);
        ly->idx_w_ih = params_add2(ps, name, GH, ly->in);
        snprintf(name, sizeof name, "%s.weight_hh_l%d%s", cfg->kind, l, dir);
        ly->idx_w_hh = params_add2(ps, name, GH, rb->H);
        snprintf(name, sizeof name, "%s.bias_ih_l%d%s", cfg->kind, l, dir);
        ly->idx_b_ih = params_add1(ps, name, GH);
        snprintf(name, sizeof name, "%s.bias_hh_l%d%s", cfg->kind, l, dir);
        ly->idx_b_hh = params_add1(ps, name, GH);
    }
    *H = rb->D * rb->H;
    return rb;
}

void recurrent_bind(void *self, ParamSet *ps)
{
    RecurrentBody *rb = self;
    for (int l = 0; l < rb->L * rb->D; l++) {
        RecurrentLayer *ly = &rb->layers[l];
        ly->W_ih = params_value(ps, ly->idx_w_ih);
        ly->W_hh = params_value(ps, ly->idx_w_hh);
        ly->b_ih = params_value(ps, ly->idx_b_ih);
        ly->b_hh = params_value(ps, ly->idx_b_hh);
        ly->dW_ih = params_grad(ps, ly->idx_w_ih);
        ly->dW_hh = params_grad(ps, ly->idx_w_hh);
        ly->db_ih = params_grad(ps, ly->idx_b_ih);
        ly->db_hh = params_grad(ps, ly->idx_b_hh);
    }
}

/* U(-k, k) */
static void init_uniform(real *w, size_t n, double k, gsl_rng *rng)
{
    for (size_t i = 0; i < n; i++) w[i] = (real)((2 * gsl_rng_uniform(rng) - 1) * k);
}

void recurrent_init(void *self, ParamSet *ps, gsl_rng *rng)
{
    RecurrentBody *rb = self;
    /* PyTorch: every tensor ~ U(-1/sqrt(H), 1/sqrt(H)).  W_hh is then scaled
     * by init_scale (0 means 1): the same draws at every scale, so a sweep
     * over init_scale changes only the spectral radius of W_hh. */
    double k = 1.0 / sqrt((double)rb->H);
    double scale = rb->cfg.init_scale == 0 ? 1.0 : rb->cfg.init_scale;
    for (int l = 0; l < rb->L * rb->D; l++) {
        RecurrentLayer *ly = &rb->layers[l];
        const int idx[4] = {ly->idx_w_ih, ly->idx_w_hh, ly->idx_b_ih, ly->idx_b_hh};
        for (int i = 0; i < 4; i++)
            init_uniform(params_value(ps, idx[i]), ps->views[idx[i]].size, k, rng);
        real *W_hh = params_value(ps, ly->idx_w_hh);
        for (size_t i = 0; i < ps->views[ly->idx_w_hh].size; i++) W_hh[i] *= (real)scale;
        if (rb->cell->init_biases)
            rb->cell->init_biases(params_value(ps, ly->idx_b_ih), params_value(ps, ly->idx_b_hh),
                                  &rb->cfg, rb->H);
    }
}

/* ---- activation memory --------------------------------------------------- */

/* n zeroed reals, counted in *total for act_bytes */
static real *acts_alloc(size_t n, size_t *total)
{
    *total += n;
    return xcalloc(n, sizeof(real));
}

void recurrent_alloc_acts(void *self, int B, int T)
{
    RecurrentBody *rb = self;
    assert(rb->xt == NULL && "recurrent_alloc_acts called twice");
    rb->Bmax = B;
    rb->Tmax = T;
    size_t n = (size_t)B * T, BH = (size_t)B * rb->H, GH = (size_t)rb->G * rb->H;
    size_t total = 0;
    /* per layer and direction: the O(T*B*H) that BPTT must keep */
    for (int l = 0; l < rb->L * rb->D; l++) {
        RecurrentLayer *ly = &rb->layers[l];
        ly->h = acts_alloc((size_t)(T + 1) * BH, &total);
        if (rb->cell->has_cell_state) ly->c = acts_alloc((size_t)(T + 1) * BH, &total);
        if (rb->S > 0) ly->saved = acts_alloc(n * rb->S * rb->H, &total);
        /* bidirectional: the reversed input of the reverse direction, and
         * the joined output (kept on the forward direction) */
        if (rb->D == 2 && l % 2 == 1) ly->xrev = acts_alloc(n * ly->in, &total);
        if (rb->D == 2 && l % 2 == 0) ly->out = acts_alloc(n * 2 * rb->H, &total);
    }
    /* scratch shared by the layers, which run one after another */
    rb->xt = acts_alloc(n * rb->E, &total);
    rb->a_ih = acts_alloc(n * GH, &total);
    rb->a_hh = acts_alloc((size_t)B * GH, &total);
    rb->da_ih = acts_alloc(n * GH, &total);
    if (rb->cell->separate_hh_grad) rb->da_hh = acts_alloc(n * GH, &total);
    rb->dh_in = acts_alloc(n * rb->H, &total);
    rb->dxt = acts_alloc(n * rb->E, &total);
    if (rb->D == 2) {
        size_t in_max = (size_t)(rb->E > 2 * rb->H ? rb->E : 2 * rb->H);
        rb->dh_in_rev = acts_alloc(n * rb->H, &total);
        rb->dout = acts_alloc(n * 2 * rb->H, &total);
        rb->dx_fwd = acts_alloc(n * in_max, &total);
        rb->dx_rev = acts_alloc(n * in_max, &total);
    }
    rb->dh = acts_alloc(BH, &total);
    rb->dh_next = acts_alloc(BH, &total);
    if (rb->cell->has_cell_state) {
        rb->dc = acts_alloc(BH, &total);
        rb->dc_prev = acts_alloc(BH, &total);
    }
    rb->norms = acts_alloc((size_t)rb->nseries * T, &total);
    /* each row span's sums of squares behind the norms, in double */
    size_t nparts = (size_t)PARALLEL_MAX_PARTS * rb->nseries * T;
    rb->norm_parts = xcalloc(nparts, sizeof(double));
    rb->state_h = acts_alloc((size_t)rb->L * BH, &total);
    if (rb->cell->has_cell_state) rb->state_c = acts_alloc((size_t)rb->L * BH, &total);
    rb->act_reals = total;
    rb->act_extra_bytes = nparts * sizeof(double);
}

size_t recurrent_act_bytes(const void *self)
{
    const RecurrentBody *rb = self;
    return rb->act_reals * sizeof(real) + rb->act_extra_bytes;
}

/* ---- forward ------------------------------------------------------------- */

/* THE TIME LOOP, forward: one layer over steps 0 .. T-1, for the batch
 * rows [b0, b1) of B (all of them, 0 .. B, unless recurrent_split.c runs
 * it for a span of rows on each of several threads).  rb->a_ih (T,B,G*H)
 * holds the input projections; writes h_1..h_T (and c, saved) of those rows. */
void recurrent_time_loop_forward(RecurrentBody *rb, RecurrentLayer *ly, int B, int T, int b0, int b1)
{
    const CellOps *cell = rb->cell;
    int H = rb->H, GH = rb->G * rb->H, n = b1 - b0;
    size_t BH = (size_t)B * H, BGH = (size_t)B * GH, BSH = (size_t)B * rb->S * H;
    size_t rowH = (size_t)b0 * H, rowGH = (size_t)b0 * GH, rowSH = (size_t)b0 * rb->S * H;
    real *a_hh = rb->a_hh + rowGH;                                   /* (n,G*H) our rows */
    for (int t = 0; t < T; t++) {
        const real *h_prev = ly->h + t * BH + rowH;                  /* (n,H) */
        real *h = ly->h + (t + 1) * BH + rowH;                       /* (n,H) */
        /* a_hh = h_{t-1} W_hh^T + b_hh: needs the previous step, so one per step */
        if (rb->use_reference)
            linear_forward_ref(a_hh, h_prev, ly->W_hh, ly->b_hh, n, H, GH);
        else
            linear_forward(a_hh, h_prev, ly->W_hh, ly->b_hh, n, H, GH);
        /* h_t (, c_t) = cell(a_ih, a_hh, h_{t-1} (, c_{t-1})) */
        cell->forward(h, maybe_at(ly->c, (t + 1) * BH + rowH), maybe_at(ly->saved, t * BSH + rowSH),
                      rb->a_ih + t * BGH + rowGH, a_hh, h_prev, maybe_at(ly->c, t * BH + rowH), n, H);
    }
}

/* One layer over T steps.  X (T,B,in) time-major; ly->h[0] (and ly->c[0])
 * hold the initial state; fills ly->h[1..T], ly->c[1..T], ly->saved.
 * parts: how many row spans the time loop is split into (1: not split). */
static void layer_forward(RecurrentBody *rb, RecurrentLayer *ly, const real *X, int B, int T, int parts)
{
    int GH = rb->G * rb->H;
    size_t BGH = (size_t)B * GH;
    /* a_ih = x_t W_ih^T + b_ih for all t: nothing in it depends on h, so the
     * whole sequence is one (T*B,in) x (in,G*H) product (the plain path:
     * one step at a time) */
    if (rb->use_reference)
        for (int t = 0; t < T; t++)
            linear_forward_ref(rb->a_ih + t * BGH, X + (size_t)t * B * ly->in, ly->W_ih,
                               ly->b_ih, B, ly->in, GH);
    else
        linear_forward(rb->a_ih, X, ly->W_ih, ly->b_ih, T * B, ly->in, GH);
    /* the time loop, over every row at once or split over threads */
    if (parts > 1 && !rb->use_reference)
        recurrent_split_forward(rb, ly, B, T, parts);
    else
        recurrent_time_loop_forward(rb, ly, B, T, 0, B);
}

/* ---- both directions ---------------------------------------------------- */

static void layer_backward(RecurrentBody *rb, RecurrentLayer *ly, real *dX, const real *X,
                           int B, int T, int record_norms, int parts);

/* the position the reverse direction reads at its step t, in a row of n
 * real tokens (t >= n: padding, left in place); its own inverse */
static int reverse_index(const RecurrentBody *rb, int b, int t, int T)
{
    int n = rb->lengths ? rb->lengths[b] : T;
    assert(n >= 1 && n <= T);
    return t < n ? n - 1 - t : t;
}

/* dst (T,B,D) with dst[t,b] = src[reverse_index(t), b]; add = 1: += */
static void reverse_rows(const RecurrentBody *rb, real *dst, const real *src, int B, int T, int D,
                         int add)
{
    for (int t = 0; t < T; t++)
        for (int b = 0; b < B; b++) {
            real *d = dst + ((size_t)t * B + b) * D;
            const real *s = src + ((size_t)reverse_index(rb, b, t, T) * B + b) * D;
            if (add)
                vecmath_add(d, s, (size_t)D);
            else
                memcpy(d, s, (size_t)D * sizeof(real));
        }
}

/* One bidirectional layer: fw, bw its two directions, X (T,B,in).
 * out_t = [h_t ; h'_{n-1-t}] into fw->out (T,B,2H). */
static void bidir_layer_forward(RecurrentBody *rb, RecurrentLayer *fw, RecurrentLayer *bw,
                                const real *X, int B, int T, int parts)
{
    int H = rb->H;
    size_t BH = (size_t)B * H;
    layer_forward(rb, fw, X, B, T, parts);
    /* x'_t = x_{n-1-t}: the reverse direction reads each row backwards */
    reverse_rows(rb, bw->xrev, X, B, T, fw->in, 0);
    layer_forward(rb, bw, bw->xrev, B, T, parts);
    for (int t = 0; t < T; t++)
        for (int b = 0; b < B; b++) {
            real *o = fw->out + ((size_t)t * B + b) * 2 * H;
            int k = reverse_index(rb, b, t, T);    /* the reverse step at position t */
            memcpy(o, fw->h + (t + 1) * BH + (size_t)b * H, (size_t)H * sizeof(real));
            memcpy(o + H, bw->h + (k + 1) * BH + (size_t)b * H, (size_t)H * sizeof(real));
        }
}

/* The backward of bidir_layer_forward.  rb->dout (T,B,2H) holds dL/dout on
 * entry; dX (T,B,in) (or NULL) gets dL/dX — it may be rb->dout itself. */
static void bidir_layer_backward(RecurrentBody *rb, RecurrentLayer *fw, RecurrentLayer *bw,
                                 real *dX, const real *X, int B, int T, int record_norms,
                                 int parts)
{
    int H = rb->H, in = fw->in;
    size_t n = (size_t)T * B;
    /* dL/dh_t (forward half), dL/dh'_k (backward half, at k = n-1-t) */
    for (int t = 0; t < T; t++)
        for (int b = 0; b < B; b++) {
            const real *d = rb->dout + ((size_t)t * B + b) * 2 * H;
            int k = reverse_index(rb, b, t, T);
            memcpy(rb->dh_in + ((size_t)t * B + b) * H, d, (size_t)H * sizeof(real));
            memcpy(rb->dh_in_rev + ((size_t)k * B + b) * H, d + H, (size_t)H * sizeof(real));
        }
    layer_backward(rb, fw, dX ? rb->dx_fwd : NULL, X, B, T, record_norms, parts);
    /* the reverse direction's BPTT reads its dL/dh from dh_in: swap them in */
    real *swap = rb->dh_in;
    rb->dh_in = rb->dh_in_rev;
    rb->dh_in_rev = swap;
    layer_backward(rb, bw, dX ? rb->dx_rev : NULL, bw->xrev, B, T, 0, parts);
    rb->dh_in_rev = rb->dh_in;
    rb->dh_in = swap;
    if (dX) {
        /* dx_t = dx_t (forward) + dx'_{n-1-t} (backward) */
        memcpy(dX, rb->dx_fwd, n * in * sizeof(real));
        reverse_rows(rb, dX, rb->dx_rev, B, T, in, 1);
    }
}

void recurrent_forward(void *self, real *y, const real *x, int B, int T)
{
    RecurrentBody *rb = self;
    assert(B <= rb->Bmax && T <= rb->Tmax);
    size_t BH = (size_t)B * rb->H;
    int parts = recurrent_split_parts(rb, B);
    to_time_major(rb->xt, x, B, T, rb->E);
    if (rb->D == 2) {
        for (int l = 0; l < rb->L; l++) {
            RecurrentLayer *fw = &rb->layers[2 * l], *bw = &rb->layers[2 * l + 1];
            /* both directions start from h_0 = 0 (and c_0 = 0) */
            for (RecurrentLayer *ly = fw; ly <= bw; ly++) {
                memset(ly->h, 0, BH * sizeof(real));
                if (ly->c) memset(ly->c, 0, BH * sizeof(real));
            }
            /* layer 0 reads x; layer l reads layer l-1's [h ; h'] */
            const real *X = l == 0 ? rb->xt : rb->layers[2 * (l - 1)].out;
            bidir_layer_forward(rb, fw, bw, X, B, T, parts);
        }
        from_time_major(y, rb->layers[2 * (rb->L - 1)].out, B, T, 2 * rb->H);
        return;
    }
    for (int l = 0; l < rb->L; l++) {
        RecurrentLayer *ly = &rb->layers[l];
        /* every sequence starts from h_0 = 0 (and c_0 = 0) */
        memset(ly->h, 0, BH * sizeof(real));
        if (ly->c) memset(ly->c, 0, BH * sizeof(real));
        /* layer 0 reads x; layer l reads layer l-1's h_1 .. h_T */
        const real *X = l == 0 ? rb->xt : rb->layers[l - 1].h + BH;
        layer_forward(rb, ly, X, B, T, parts);
    }
    /* y = the top layer's h_1 .. h_T, back in (B,T,H) */
    from_time_major(y, rb->layers[rb->L - 1].h + BH, B, T, rb->H);
}

/* ---- backward (BPTT) ----------------------------------------------------- */

/* THE TIME LOOP, backward (BPTT): one layer, steps T-1 .. 0, for the batch
 * rows [b0, b1) of B: the cell's backward and dh_{t-1} += da_hh W_hh.
 * Reads rb->dh_in (T,B,H) = dL/dh_t from above; writes those rows of
 * rb->da_ih (and rb->da_hh) for every step.  The plain path also adds each
 * step's da_hh^T h_{t-1} to dW_hh here, one step at a time.  part: which
 * slice of rb->norm_parts gets these rows' sums of squares (0 unless split);
 * record_norms: the top layer, whose per-step norms are wanted. */
void recurrent_time_loop_backward(RecurrentBody *rb, RecurrentLayer *ly, int B, int T, int b0, int b1,
                                  int part, int record_norms)
{
    const CellOps *cell = rb->cell;
    int H = rb->H, GH = rb->G * rb->H, n = b1 - b0;
    size_t BH = (size_t)B * H, BGH = (size_t)B * GH, BSH = (size_t)B * rb->S * H;
    size_t rowH = (size_t)b0 * H, rowGH = (size_t)b0 * GH, rowSH = (size_t)b0 * rb->S * H;
    size_t nH = (size_t)n * H, nGH = (size_t)n * GH;
    /* this span's rows of the per-step scratch, all (n,H) */
    real *dh = rb->dh + rowH, *dh_next = rb->dh_next + rowH;
    real *dc = maybe_at(rb->dc, rowH), *dc_prev = maybe_at(rb->dc_prev, rowH);
    double *norm_h = rb->norm_parts + (size_t)part * rb->nseries * rb->Tmax;       /* (T) */
    double *norm_c = norm_h + rb->Tmax;                                             /* (T), LSTM */
    /* after the last step nothing flows back: the dh_{T+1} path and dc are zero */
    memset(dh_next, 0, nH * sizeof(real));
    if (dc) memset(dc, 0, nH * sizeof(real));
    for (int t = T - 1; t >= 0; t--) {
        /* dh_t = dL/dh_t from above + dL/dh_t through step t+1 (the total) */
        const real *from_above = rb->dh_in + t * BH + rowH;
        for (size_t i = 0; i < nH; i++) dh[i] = from_above[i] + dh_next[i];
        memset(dh_next, 0, nH * sizeof(real));
        if (dc_prev) memset(dc_prev, 0, nH * sizeof(real));
        const real *h_prev = ly->h + t * BH + rowH;
        /* the cell accumulates into da_ih (and da_hh): start them at zero */
        real *da_ih = rb->da_ih + t * BGH + rowGH;                            /* (n,G*H) */
        real *da_hh = cell->separate_hh_grad ? rb->da_hh + t * BGH + rowGH : NULL;
        memset(da_ih, 0, nGH * sizeof(real));
        if (da_hh) memset(da_hh, 0, nGH * sizeof(real));
        /* the cell: da_ih, da_hh, direct dh_{t-1}, dc_{t-1} from dh_t, dc_t */
        cell->backward(da_ih, da_hh, dh_next, dc_prev, dh, dc, maybe_at(ly->saved, t * BSH + rowSH),
                       ly->h + (t + 1) * BH + rowH, maybe_at(ly->c, (t + 1) * BH + rowH), h_prev,
                       maybe_at(ly->c, t * BH + rowH), n, H);
        if (record_norms) {
            /* our rows' share of ||dL/dh_t||^2 (and ||dL/dc_t||^2) */
            norm_h[t] = vecmath_sumsq(dh, nH);
            if (dc) norm_c[t] = vecmath_sumsq(dc, nH);
        }
        /* forward: a_hh = h_{t-1} W_hh^T + b_hh, so dh_{t-1} += da_hh W_hh */
        const real *da_hh_t = da_hh ? da_hh : da_ih;   /* RNN, LSTM: dL/da_hh = dL/da_ih */
        if (rb->use_reference)
            /* ... and, one step at a time: dW_hh += da_hh^T h_{t-1}, db_hh += sum_b da_hh */
            linear_backward_ref(dh_next, ly->dW_hh, ly->db_hh, da_hh_t, h_prev, ly->W_hh, n, H, GH);
        else
            linear_backward(dh_next, NULL, NULL, da_hh_t, NULL, ly->W_hh, n, H, GH);
        /* the carried cell gradient moves one step back */
        real *swap = dc;
        dc = dc_prev;
        dc_prev = swap;
    }
}

/* One layer, steps T-1 .. 0.  Reads rb->dh_in (T,B,H) = dL/dh_t from above;
 * accumulates the layer's parameter gradients and writes dX (T,B,in) = dL/dX
 * (dX may be NULL, or rb->dh_in itself, which is no longer needed by then).
 * record_norms: this is the top layer, so write the per-step norms. */
static void layer_backward(RecurrentBody *rb, RecurrentLayer *ly, real *dX, const real *X,
                           int B, int T, int record_norms, int parts)
{
    int H = rb->H, GH = rb->G * rb->H;
    size_t BGH = (size_t)B * GH;
    /* for the RNN and LSTM, a = a_ih + a_hh, so dL/da_hh = dL/da_ih */
    real *dA_hh = rb->cell->separate_hh_grad ? rb->da_hh : rb->da_ih;   /* (T,B,G*H) */
    if (rb->use_reference) parts = 1;
    /* the time loop, over every row at once or split over threads */
    if (parts > 1)
        recurrent_split_backward(rb, ly, B, T, parts, record_norms);
    else
        recurrent_time_loop_backward(rb, ly, B, T, 0, B, 0, record_norms);
    if (record_norms) {
        /* ||dL/dh_t|| (and ||dL/dc_t||) over batch and hidden units: the
         * spans' sums of squares added up */
        for (int s = 0; s < rb->nseries; s++)
            for (int t = 0; t < T; t++) {
                double sq = 0;
                for (int p = 0; p < parts; p++)
                    sq += rb->norm_parts[((size_t)p * rb->nseries + s) * rb->Tmax + t];
                rb->norms[s * T + t] = (real)sqrt(sq);
            }
    }
    if (rb->use_reference) {
        /* forward: a_ih = x_t W_ih^T + b_ih, per step:
         * dx_t += da_ih W_ih, dW_ih += da_ih^T x_t, db_ih += sum_b da_ih */
        if (dX) memset(dX, 0, (size_t)T * B * ly->in * sizeof(real));
        for (int t = 0; t < T; t++)
            linear_backward_ref(dX ? dX + (size_t)t * B * ly->in : NULL, ly->dW_ih, ly->db_ih,
                                rb->da_ih + t * BGH, X + (size_t)t * B * ly->in, ly->W_ih,
                                B, ly->in, GH);
    } else {
        /* W_hh acted at every step: dW_hh = sum_t da_hh[t]^T h_{t-1}, which is
         * ONE product of dA_hh^T (G*H,T*B) with H_prev = h_0 .. h_{T-1} (T*B,H) */
        linear_backward(NULL, ly->dW_hh, ly->db_hh, dA_hh, ly->h, ly->W_hh, T * B, H, GH);
        /* likewise for W_ih, and dX = dA_ih W_ih for every step at once
         * (written by the product, not zeroed and added to) */
        if (dX)
            linear_backward_set(dX, ly->dW_ih, ly->db_ih, rb->da_ih, X, ly->W_ih, T * B, ly->in, GH);
        else
            linear_backward(NULL, ly->dW_ih, ly->db_ih, rb->da_ih, X, ly->W_ih, T * B, ly->in, GH);
    }
}

void recurrent_backward(void *self, real *dx, const real *dy, int B, int T)
{
    RecurrentBody *rb = self;
    assert(B <= rb->Bmax && T <= rb->Tmax);
    size_t BH = (size_t)B * rb->H;
    int parts = recurrent_split_parts(rb, B);
    rb->last_T = T;
    if (rb->D == 2) {
        /* the top layer's dL/dout_t from the head, time-major; layer l's
         * dL/dX is layer l-1's dL/dout, written over dout */
        to_time_major(rb->dout, dy, B, T, 2 * rb->H);
        for (int l = rb->L - 1; l >= 0; l--) {
            RecurrentLayer *fw = &rb->layers[2 * l], *bw = &rb->layers[2 * l + 1];
            real *dX = l > 0 ? rb->dout : (dx ? rb->dxt : NULL);
            const real *X = l == 0 ? rb->xt : rb->layers[2 * (l - 1)].out;
            bidir_layer_backward(rb, fw, bw, dX, X, B, T, l == rb->L - 1, parts);
        }
        if (dx) from_time_major_add(dx, rb->dxt, B, T, rb->E);
        return;
    }
    /* the top layer's dL/dh_t from the head, time-major */
    to_time_major(rb->dh_in, dy, B, T, rb->H);
    for (int l = rb->L - 1; l >= 0; l--) {
        RecurrentLayer *ly = &rb->layers[l];
        /* layer l's dX is layer l-1's dL/dh from above: written over dh_in */
        real *dX = l > 0 ? rb->dh_in : (dx ? rb->dxt : NULL);
        const real *X = l == 0 ? rb->xt : rb->layers[l - 1].h + BH;
        layer_backward(rb, ly, dX, X, B, T, l == rb->L - 1, parts);
    }
    if (dx) from_time_major_add(dx, rb->dxt, B, T, rb->E);
}

/* ---- step mode ----------------------------------------------------------- */

void recurrent_state_reset(void *self, int B)
{
    RecurrentBody *rb = self;
    assert(B <= rb->Bmax);
    if (rb->D == 2) {
        /* the backward direction starts at the last token: nothing to step */
        fprintf(stderr, "%s: a bidirectional model cannot run one step at a time\n",
                rb->cfg.kind);
        abort();
    }
    rb->step_B = B;
    size_t n = (size_t)rb->L * B * rb->H;
    memset(rb->state_h, 0, n * sizeof(real));
    if (rb->state_c) memset(rb->state_c, 0, n * sizeof(real));
}

void recurrent_step(void *self, real *y, const real *x, int B)
{
    RecurrentBody *rb = self;
    assert(B == rb->step_B && "call state_reset with this batch size first");
    size_t BH = (size_t)B * rb->H;
    /* each layer runs the forward for T = 1 from its carried state */
    for (int l = 0; l < rb->L; l++) {
        RecurrentLayer *ly = &rb->layers[l];
        memcpy(ly->h, rb->state_h + l * BH, BH * sizeof(real));
        if (ly->c) memcpy(ly->c, rb->state_c + l * BH, BH * sizeof(real));
        const real *X = l == 0 ? x : rb->layers[l - 1].h + BH;
        layer_forward(rb, ly, X, B, 1, 1);   /* one step: not worth a thread */
        memcpy(rb->state_h + l * BH, ly->h + BH, BH * sizeof(real));
        if (ly->c) memcpy(rb->state_c + l * BH, ly->c + BH, BH * sizeof(real));
    }
    memcpy(y, rb->layers[rb->L - 1].h + BH, BH * sizeof(real));
}

/* ---- introspection ------------------------------------------------------- */

int recurrent_grad_norms(void *self, const char *const **names, const real **norms)
{
    static const char *const series[2] = {"h", "c"};
    RecurrentBody *rb = self;
    *names = series;
    *norms = rb->norms;
    return rb->nseries;
}

double recurrent_flops(const void *self, int B, int T)
{
    const RecurrentBody *rb = self;
    double GH = (double)rb->G * rb->H, per_step = 0;
    for (int l = 0; l < rb->L * rb->D; l++) {
        const RecurrentLayer *ly = &rb->layers[l];
        /* 2 flops per multiply-add: x W_ih^T, h W_hh^T, then the cell */
        per_step += 2.0 * B * ly->in * GH + 2.0 * B * rb->H * GH
                    + (double)B * rb->H * rb->cell->flops_per_unit;
    }
    return per_step * T;
}

void recurrent_set_lengths(void *self, const int *lengths)
{
    RecurrentBody *rb = self;
    rb->lengths = lengths;
}

void recurrent_set_reference(void *self, int on)
{
    RecurrentBody *rb = self;
    rb->use_reference = on || REFERENCE_BUILD;
}

void recurrent_set_parts(void *self, int parts)
{
    RecurrentBody *rb = self;
    assert(parts >= 0);
    rb->parts = parts;
}

void recurrent_free(void *self)
{
    RecurrentBody *rb = self;
    if (!rb) return;
    for (int l = 0; l < rb->L * rb->D; l++) {
        free(rb->layers[l].h);
        free(rb->layers[l].c);
        free(rb->layers[l].saved);
        free(rb->layers[l].xrev);
        free(rb->layers[l].out);
    }
    free(rb->layers);
    free(rb->xt);
    free(rb->a_ih);
    free(rb->a_hh);
    free(rb->da_ih);
    free(rb->da_hh);
    free(rb->dh_in);
    free(rb->dxt);
    free(rb->dh_in_rev);
    free(rb->dout);
    free(rb->dx_fwd);
    free(rb->dx_rev);
    free(rb->dh);
    free(rb->dh_next);
    free(rb->dc);
    free(rb->dc_prev);
    free(rb->norms);
    free(rb->norm_parts);
    free(rb->state_h);
    free(rb->state_c);
    free(rb);
}

/* ---- the BodyOps the RNN, LSTM and GRU share ------------------------------ */

/* the cell comes from the model's registry line (core/registry.c) */
static void *recurrent_body_create(const ModelConfig *cfg, ParamSet *ps, int *H)
{
    const ModelInfo *info = model_info_find(cfg->kind);
    assert(info && info->cell);
    return recurrent_create(info->cell, cfg, ps, H);
}

const BodyOps recurrent_body_ops = {
    .create = recurrent_body_create,
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
    .set_lengths = recurrent_set_lengths,
    .free = recurrent_free,
};
