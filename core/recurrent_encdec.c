/*
 * recurrent_encdec.c — the recurrent encoder–decoder (Cho et al. 2014;
 * Sutskever et al. 2014) and its attention variant (Bahdanau et al. 2015),
 * for any cell: RNN, LSTM or GRU (a CellOps from rnn/, lstm/, gru/).
 *
 *     encoder:  h_j = cell(src_embed[x_j], h_{j-1})        j = 1 .. n, L layers
 *               final state = every layer's (h, c) after the row's last REAL word n
 *     decoder:  starts from the encoder's final state, every layer
 *               s_t = cell([tgt_embed[y_{t-1}] ; c_t], s_{t-1})     L layers
 *               logits_t = head(s_t) (the top layer's output)
 *     context:  attention = none:     c_t = h_n (the encoder's top-layer
 *                                     output at the last word) for every t
 *               attention = additive: c_t = sum_j alpha_{t,j} h_j with
 *                                     alpha_t from q = s_{t-1} (additive_attention.c)
 *
 * Without attention the whole source must pass through h_n, one vector of
 * H numbers whatever the sentence's length: the bottleneck, and why such a
 * model's quality falls as sentences grow.  With attention the decoder
 * reads every h_j again at every step.
 *
 * Padding: row b's source has n = len[b] words and the rest is padding.
 * Its final state is taken at step n, and attention never looks past n, so
 * the padded steps (computed, as the batch runs in lock step) reach
 * nothing: a pair's loss and gradients are the same alone or padded.
 *
 * Sections: parameters / activations / encoder forward / one decoder step
 * (shared by training and decoding) / forward / backward / the batch split
 * over threads / decoding / the table.
 *
 * What this file is not: the cells' math (rnn/, lstm/, gru/), the attention
 * (additive_attention.c) or the loss (model.c).
 *
 * Shapes: B batch, S source length, T target length, E embedding, H hidden,
 * G gates, SV reals the cell saves per unit, L layers, O target classes,
 * D = E + H the decoder's layer-0 input.  State histories are time-major,
 * (S+1,B,H) and (T+1,B,H) per layer with row 0 the initial state, as in
 * recurrent.c; embeddings and logits are (B,.,.) like the rest of seqlab.
 */
#include "recurrent_encdec.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_randist.h>

#include "additive_attention.h"
#include "ops.h"
#include "parallel.h"
#include "util.h"
#include "vecmath.h"

/* ============================== parameters ================================ */

enum { W_IH, W_HH, B_IH, B_HH, LAYER_TENSORS };

/* one nn.RNN / nn.LSTM / nn.GRU of L layers and its state history */
typedef struct Stack {
    int in0;                    /* layer 0's input width (E, or E + H for the decoder) */
    int (*idx)[LAYER_TENSORS];  /* (L) weight_ih_l{k}, weight_hh_l{k}, bias_ih_l{k}, bias_hh_l{k} */
    real *h, *c;                /* (L,Tmax+1,Bmax,H) each, packed per call; c LSTM only */
    real *saved;                /* (L,Tmax,Bmax,SV*H) what the cell saved */
} Stack;

typedef struct RecurrentEncDec {
    const CellOps *cell;
    ModelConfig cfg;
    int E, H, L, G, SV, Vs, O;
    AttentionKind attention;
    ParamSet *ps;
    int idx_src_embed, idx_tgt_embed, idx_q, idx_k, idx_v, idx_head_w, idx_head_b;
    Stack enc, dec;

    /* ---- activations, sized for (Bmax,Smax,Tmax) ---- */
    int Bmax, Smax, Tmax;
    size_t bytes;
    real *x_src;                /* (B,S,E) src_embed rows */
    real *xs;                   /* (S,B,E) the same, time-major */
    real *a_ih;                 /* (max(S,T),B,G*H) input projections of one layer */
    real *a_hh;                 /* (B,G*H) the recurrent projection of one step */
    real *keys;                 /* (S,B,H) W_k h_j (additive attention) */
    real *final_h, *final_c;    /* (L,B,H) each: the encoder's state at each row's last word */
    real *x_tgt;                /* (B,T,E) tgt_embed rows */
    real *xin;                  /* (T,B,D) the decoder's layer-0 inputs [embedding ; context] */
    real *alpha;                /* (B,T,S) attention weights */
    real *z;                    /* (T,B,S,H) tanh(W_q q + W_k h_j) */
    real *qp;                   /* (B,H) W_q q of one step */
    real *y;                    /* (B,T,H) the decoder's top-layer outputs */
    int *len_all;               /* (Bmax) every row's S, when no lengths are given */
    int last_B, last_S, last_T;
    /* ---- backward workspaces ---- */
    real *g_y;                  /* (B,T,H) dL/dy */
    real *g_da_ih, *g_da_hh;    /* (S,B,G*H) one encoder layer's; da_hh GRU only */
    real *g_dh_in;              /* (S,B,H) dL/dh from above, one encoder layer */
    real *g_dxs;                /* (S,B,E) dL/d(source embeddings), time-major */
    real *g_dxs_b;              /* (B,S,E) the same, batch-major */
    real *g_enc_out;            /* (S,B,H) dL/d(encoder top-layer outputs) */
    real *g_keys;               /* (S,B,H) dL/dkeys */
    real *g_final_h, *g_final_c;/* (L,B,H) dL/d(the encoder's final state) */
    real *g_dh, *g_dh_next;     /* (L,B,H) each: total and carried dL/dh per layer */
    real *g_dc, *g_dc_prev;     /* (L,B,H) each: dL/dc (LSTM) */
    real *g_step_ih, *g_step_hh;/* (B,G*H) one decoder step's da_ih, da_hh */
    real *g_dx_above;           /* (B,H) dL/d(layer l-1's output) from layer l, one step */
    real *g_dxin;               /* (B,D) dL/d(layer-0 input) of one step */
    real *g_demb;               /* (B,T,E) dL/d(target embeddings) */
    real *g_dq, *g_dqp;         /* (B,H) each: dL/dq of the attention, and W_q q's */
    real *g_de;                 /* (max_parts,S) one per span */
    /* ---- decoding ---- */
    real *st_h, *st_c;          /* (L,2,Bmax,H): slot 0 the state, slot 1 the next */
    real *st_saved;             /* (L,Bmax,SV*H) */
    real *st_emb, *st_xin;      /* (Bmax,E), (Bmax,D) */
    real *st_alpha, *st_z;      /* (Bmax,S), (Bmax,S,H) */
    real *st_tmp;               /* (Bmax*max(S,1)*H) reordering */
    int *st_len, *st_len_tmp;   /* (Bmax) */
    int step_B, step_S;
    /* ---- the batch split ---- */
    int parts;                  /* spans to split a batch into; 0: one per BLAS thread */
    int max_parts;              /* spans alloc_acts sized the workspaces for */
    size_t grad_off, grad_len;  /* the model's tensors in ps->grad (src_embed .. head.bias) */
    real *grad;                 /* where this model (or span view) accumulates them: ps->grad
                                 * + grad_off, or a span's private copy */
    real *part_grads;           /* (max_parts-1, grad_len) spans 1 .. accumulate here */
} RecurrentEncDec;

static real *P_val(const RecurrentEncDec *m, int idx) { return params_value(m->ps, idx); }
static real *P_grad(const RecurrentEncDec *m, int idx)
{
    return m->grad + (m->ps->views[idx].offset - m->grad_off);
}

static void add_stack(Stack *st, ParamSet *ps, const char *prefix, int in0, int G, int H, int L)
{
    st->in0 = in0;
    st->idx = xcalloc((size_t)L, sizeof *st->idx);
    char name[PARAM_NAME_MAX];
    for (int l = 0; l < L; l++) {
        int in = l == 0 ? in0 : H;
        snprintf(name, sizeof name, "%s.weight_ih_l%d", prefix, l);
        st->idx[l][W_IH] = params_add2(ps, name, G * H, in);
        snprintf(name, sizeof name, "%s.weight_hh_l%d", prefix, l);
        st->idx[l][W_HH] = params_add2(ps, name, G * H, H);
        snprintf(name, sizeof name, "%s.bias_ih_l%d", prefix, l);
        st->idx[l][B_IH] = params_add1(ps, name, G * H);
        snprintf(name, sizeof name, "%s.bias_hh_l%d", prefix, l);
        st->idx[l][B_HH] = params_add1(ps, name, G * H);
    }
}

static void *recurrent_encdec_create(const ModelConfig *cfg, const void *cell_ops, ParamSet *ps,
                                     char *err, size_t errlen)
{
    const CellOps *cell = cell_ops;
    assert(cell && "a recurrent encoder-decoder needs its model's cell");
    if (cfg->bidirectional) {
        snprintf(err, errlen, "bidirectional = 1 is refused for the encoder-decoder (its "
                              "encoder is unidirectional: the decoder starts from its final state)");
        return NULL;
    }
    if (cfg->embed_dim <= 0 || cfg->hidden_size <= 0 || cfg->num_layers <= 0) {
        snprintf(err, errlen, "embed_dim, hidden_size and num_layers must be positive");
        return NULL;
    }
    RecurrentEncDec *m = xcalloc(1, sizeof *m);
    m->cell = cell;
    m->cfg = *cfg;
    m->E = cfg->embed_dim;
    m->H = cfg->hidden_size;
    m->L = cfg->num_layers;
    m->G = cell->gates;
    m->SV = cell->saved_per_unit;
    m->Vs = cfg->vocab_size;
    m->O = cfg->output_size;
    m->attention = cfg->attention;
    int E = m->E, H = m->H;
    m->idx_src_embed = params_add2(ps, "src_embed.weight", m->Vs, E);
    add_stack(&m->enc, ps, "encoder", E, m->G, H, m->L);
    m->idx_tgt_embed = params_add2(ps, "tgt_embed.weight", m->O, E);
    add_stack(&m->dec, ps, "decoder", E + H, m->G, H, m->L);
    m->idx_q = m->idx_k = m->idx_v = -1;
    if (m->attention == ATTENTION_ADDITIVE) {
        m->idx_q = params_add2(ps, "attn.query.weight", H, H);
        m->idx_k = params_add2(ps, "attn.key.weight", H, H);
        m->idx_v = params_add2(ps, "attn.v.weight", 1, H);
    }
    m->idx_head_w = params_add2(ps, "head.weight", m->O, H);
    m->idx_head_b = params_add1(ps, "head.bias", m->O);
    return m;
}

void recurrent_encdec_bind(void *self, ParamSet *ps)
{
    RecurrentEncDec *m = self;
    m->ps = ps;
    /* the tensors were registered one after another, src_embed.weight first
     * and head.bias last: their gradients are one slice of the buffer */
    m->grad_off = ps->views[m->idx_src_embed].offset;
    m->grad_len = ps->views[m->idx_head_b].offset + ps->views[m->idx_head_b].size - m->grad_off;
    m->grad = ps->grad + m->grad_off;
}

static void fill_uniform(real *v, size_t n, double k, gsl_rng *rng)
{
    for (size_t i = 0; i < n; i++) v[i] = (real)((2 * gsl_rng_uniform(rng) - 1) * k);
}

static void init_stack(RecurrentEncDec *m, const Stack *st, gsl_rng *rng)
{
    /* PyTorch: every tensor ~ U(-1/sqrt(H), 1/sqrt(H)); W_hh then scaled by
     * init_scale, and the cell's own bias tweak (the LSTM's forget gate) */
    ParamSet *ps = m->ps;
    double k = 1.0 / sqrt((double)m->H);
    double scale = m->cfg.init_scale == 0 ? 1.0 : m->cfg.init_scale;
    for (int l = 0; l < m->L; l++) {
        for (int i = 0; i < LAYER_TENSORS; i++)
            fill_uniform(P_val(m, st->idx[l][i]), ps->views[st->idx[l][i]].size, k, rng);
        real *W_hh = P_val(m, st->idx[l][W_HH]);
        for (size_t i = 0; i < ps->views[st->idx[l][W_HH]].size; i++) W_hh[i] *= (real)scale;
        if (m->cell->init_biases)
            m->cell->init_biases(P_val(m, st->idx[l][B_IH]), P_val(m, st->idx[l][B_HH]), &m->cfg, m->H);
    }
}

void recurrent_encdec_init(void *self, ParamSet *ps, gsl_rng *rng)
{
    RecurrentEncDec *m = self;
    (void)ps;
    size_t E = (size_t)m->E, H = (size_t)m->H;
    double k = 1.0 / sqrt((double)H);
    /* nn.Embedding: N(0, 1) */
    real *w = P_val(m, m->idx_src_embed);
    for (size_t i = 0; i < (size_t)m->Vs * E; i++) w[i] = (real)gsl_ran_gaussian_ziggurat(rng, 1.0);
    init_stack(m, &m->enc, rng);
    w = P_val(m, m->idx_tgt_embed);
    for (size_t i = 0; i < (size_t)m->O * E; i++) w[i] = (real)gsl_ran_gaussian_ziggurat(rng, 1.0);
    init_stack(m, &m->dec, rng);
    /* nn.Linear(H, H) and nn.Linear(H, 1) without bias: U(-1/sqrt(H), 1/sqrt(H)) */
    if (m->attention == ATTENTION_ADDITIVE) {
        fill_uniform(P_val(m, m->idx_q), H * H, k, rng);
        fill_uniform(P_val(m, m->idx_k), H * H, k, rng);
        fill_uniform(P_val(m, m->idx_v), H, k, rng);
    }
    fill_uniform(P_val(m, m->idx_head_w), (size_t)m->O * H, k, rng);
    fill_uniform(P_val(m, m->idx_head_b), (size_t)m->O, k, rng);
}

/* ============================== activations =============================== */

static real *acts_array(RecurrentEncDec *m, size_t n)
{
    m->bytes += n * sizeof(real);
    return xcalloc(n, sizeof(real));
}

/* memory for `parts` spans of the batch split: each needs its own
 * attention scratch, and spans 1 .. a private copy of the parameter
 * gradients.  Called by alloc_acts and, to grow, by
 * recurrent_encdec_set_parts. */
static void size_split(RecurrentEncDec *m, int parts)
{
    if (parts > PARALLEL_MAX_PARTS) parts = PARALLEL_MAX_PARTS;
    if (parts < 1) parts = 1;
    size_t Sz = (size_t)m->Smax;
    if (m->g_de) {
        m->bytes -= ((size_t)m->max_parts * Sz + (size_t)(m->max_parts - 1) * m->grad_len) *
                    sizeof(real);
        free(m->g_de);
        free(m->part_grads);
    }
    m->max_parts = parts;
    m->g_de = acts_array(m, (size_t)parts * Sz);
    m->part_grads = acts_array(m, (size_t)(parts - 1) * m->grad_len);
}

void recurrent_encdec_alloc_acts(void *self, int B, int S, int T)
{
    RecurrentEncDec *m = self;
    assert(m->x_src == NULL && "alloc_acts called twice");
    assert(B > 0 && S > 0 && T > 0);
    m->Bmax = B;
    m->Smax = S;
    m->Tmax = T;
    size_t E = (size_t)m->E, H = (size_t)m->H, L = (size_t)m->L, GH = (size_t)m->G * H;
    size_t D = E + H, SVH = (size_t)m->SV * H, Bz = (size_t)B, Sz = (size_t)S, Tz = (size_t)T;
    size_t ST = Sz > Tz ? Sz : Tz;
    int lstm = m->cell->has_cell_state;
    Stack *st[2] = {&m->enc, &m->dec};
    size_t len[2] = {Sz, Tz};
    for (int i = 0; i < 2; i++) {
        st[i]->h = acts_array(m, L * (len[i] + 1) * Bz * H);
        st[i]->c = lstm ? acts_array(m, L * (len[i] + 1) * Bz * H) : NULL;
        st[i]->saved = SVH ? acts_array(m, L * len[i] * Bz * SVH) : NULL;
    }
    m->x_src = acts_array(m, Bz * Sz * E);
    m->xs = acts_array(m, Sz * Bz * E);
    m->a_ih = acts_array(m, ST * Bz * GH);
    m->a_hh = acts_array(m, Bz * GH);
    m->keys = acts_array(m, Sz * Bz * H);
    m->final_h = acts_array(m, L * Bz * H);
    m->final_c = acts_array(m, L * Bz * H);
    m->x_tgt = acts_array(m, Bz * Tz * E);
    m->xin = acts_array(m, Tz * Bz * D);
    m->alpha = acts_array(m, Bz * Tz * Sz);
    m->z = m->attention == ATTENTION_ADDITIVE ? acts_array(m, Tz * Bz * Sz * H) : NULL;
    m->qp = acts_array(m, Bz * H);
    m->y = acts_array(m, Bz * Tz * H);
    m->g_y = acts_array(m, Bz * Tz * H);
    m->g_da_ih = acts_array(m, Sz * Bz * GH);
    m->g_da_hh = m->cell->separate_hh_grad ? acts_array(m, Sz * Bz * GH) : NULL;
    m->g_dh_in = acts_array(m, Sz * Bz * H);
    m->g_dxs = acts_array(m, Sz * Bz * E);
    m->g_dxs_b = acts_array(m, Bz * Sz * E);
    m->g_enc_out = acts_array(m, Sz * Bz * H);
    m->g_keys = acts_array(m, Sz * Bz * H);
    real **lbh[] = {&m->g_final_h, &m->g_final_c, &m->g_dh, &m->g_dh_next, &m->g_dc, &m->g_dc_prev};
    for (size_t i = 0; i < sizeof lbh / sizeof lbh[0]; i++) *lbh[i] = acts_array(m, L * Bz * H);
    m->g_step_ih = acts_array(m, Bz * GH);
    m->g_step_hh = acts_array(m, Bz * GH);
    m->g_dx_above = acts_array(m, Bz * H);
    m->g_dxin = acts_array(m, Bz * D);
    m->g_demb = acts_array(m, Bz * Tz * E);
    m->g_dq = acts_array(m, Bz * H);
    m->g_dqp = acts_array(m, Bz * H);
    /* the batch split: as many spans as there are cores, at most one per
     * pair (recurrent_encdec_set_parts may ask for more) */
    size_split(m, parallel_cores() < B ? parallel_cores() : B);
    m->st_h = acts_array(m, L * 2 * Bz * H);
    m->st_c = acts_array(m, L * 2 * Bz * H);
    m->st_saved = acts_array(m, L * Bz * (SVH ? SVH : 1));
    m->st_emb = acts_array(m, Bz * E);
    m->st_xin = acts_array(m, Bz * D);
    m->st_alpha = acts_array(m, Bz * Sz);
    m->st_z = acts_array(m, Bz * Sz * H);
    m->st_tmp = acts_array(m, Sz * Bz * H);
    m->len_all = xcalloc(Bz, sizeof(int));
    m->st_len = xcalloc(Bz, sizeof(int));
    m->st_len_tmp = xcalloc(Bz, sizeof(int));
    m->bytes += 3 * Bz * sizeof(int);
}

/* layer l's state row t of a history packed for (B, T steps) */
static real *hist(real *base, int l, int t, int B, int T, int H)
{
    return base ? base + ((size_t)l * (T + 1) + t) * B * H : NULL;
}

/* layer l's saved values of step t */
static real *saved_at(const RecurrentEncDec *m, real *base, int l, int t, int B, int T)
{
    size_t SVH = (size_t)m->SV * m->H;
    return base ? base + ((size_t)l * T + t) * B * SVH : NULL;
}

/* dst (T,B,W) = src (B,T,W), and back */
static void to_time_major(real *dst, const real *src, int B, int T, int W)
{
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++)
            memcpy(dst + ((size_t)t * B + b) * W, src + ((size_t)b * T + t) * W, (size_t)W * sizeof(real));
}

static void to_batch_major(real *dst, const real *src, int B, int T, int W)
{
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++)
            memcpy(dst + ((size_t)b * T + t) * W, src + ((size_t)t * B + b) * W, (size_t)W * sizeof(real));
}

static const int *lengths_or_all(RecurrentEncDec *m, const int *len, int B, int S)
{
    if (len) return len;
    for (int b = 0; b < B; b++) m->len_all[b] = S;
    return m->len_all;
}

/* ============================ encoder forward ============================= */

/* the encoder over src (B,S): fills enc.h, enc.c, enc.saved, the final
 * state of each row (at its own last word) and, with attention, the keys */
static void encoder_forward(RecurrentEncDec *m, const int *src, const int *len, int B, int S)
{
    const CellOps *cell = m->cell;
    int E = m->E, H = m->H, GH = m->G * m->H;
    size_t BH = (size_t)B * H;
    Stack *st = &m->enc;
    /* x_j = src_embed[src_j], time-major */
    embedding_forward(m->x_src, src, P_val(m, m->idx_src_embed), B * S, E);
    to_time_major(m->xs, m->x_src, B, S, E);
    for (int l = 0; l < m->L; l++) {
        int in = l == 0 ? E : H;
        const real *X = l == 0 ? m->xs : hist(st->h, l - 1, 1, B, S, H);   /* (S,B,in) */
        const real *W_hh = P_val(m, st->idx[l][W_HH]), *b_hh = P_val(m, st->idx[l][B_HH]);
        /* a_ih = x_j W_ih^T + b_ih for all j at once */
        linear_forward(m->a_ih, X, P_val(m, st->idx[l][W_IH]), P_val(m, st->idx[l][B_IH]), S * B, in, GH);
        /* h_0 = 0 (and c_0 = 0) */
        memset(hist(st->h, l, 0, B, S, H), 0, BH * sizeof(real));
        if (st->c) memset(hist(st->c, l, 0, B, S, H), 0, BH * sizeof(real));
        for (int j = 0; j < S; j++) {
            /* a_hh = h_{j-1} W_hh^T + b_hh;  h_j (, c_j) = cell(a_ih, a_hh, h_{j-1} (, c_{j-1})) */
            linear_forward(m->a_hh, hist(st->h, l, j, B, S, H), W_hh, b_hh, B, H, GH);
            cell->forward(hist(st->h, l, j + 1, B, S, H), hist(st->c, l, j + 1, B, S, H),
                          saved_at(m, st->saved, l, j, B, S), m->a_ih + (size_t)j * B * GH, m->a_hh,
                          hist(st->h, l, j, B, S, H), hist(st->c, l, j, B, S, H), B, H);
        }
        /* the final state of row b: after its own last word n = len[b] */
        for (int b = 0; b < B; b++) {
            size_t at = ((size_t)l * B + b) * H;
            memcpy(m->final_h + at, hist(st->h, l, len[b], B, S, H) + (size_t)b * H, (size_t)H * sizeof(real));
            if (st->c)
                memcpy(m->final_c + at, hist(st->c, l, len[b], B, S, H) + (size_t)b * H, (size_t)H * sizeof(real));
        }
    }
    /* the keys k_j = W_k h_j of the top layer's outputs, once per sentence */
    if (m->attention == ATTENTION_ADDITIVE)
        linear_forward(m->keys, hist(st->h, m->L - 1, 1, B, S, H), P_val(m, m->idx_k), NULL, S * B, H, H);
}

/* ============================ one decoder step ============================ */

/* Where one decoder step reads and writes: layer l's previous state at
 * h + l*layer_stride (B,H), its new state B*H further on; likewise c;
 * the cell's saved values at saved + l*saved_stride. */
typedef struct StepState {
    real *h, *c, *saved;
    size_t layer_stride, saved_stride;
} StepState;

/* xin (B,D) = [emb (B, row stride ld_emb) ; c_t]; alpha (B, row stride
 * ld_alpha) and z (B,S,H) saved; the layers' new states written.
 * enc_out (S,B,H) the encoder's top-layer outputs, len (B). */
static void decoder_step(RecurrentEncDec *m, const StepState *ss, real *xin, const real *emb,
                         int ld_emb, real *alpha, int ld_alpha, real *z, const real *enc_out,
                         const int *len, int B, int S)
{
    const CellOps *cell = m->cell;
    int E = m->E, H = m->H, D = E + H, GH = m->G * m->H, top = m->L - 1;
    size_t BH = (size_t)B * H;
    /* the context c_t, written straight into xin's last H columns */
    for (int b = 0; b < B; b++)
        memcpy(xin + (size_t)b * D, emb + (size_t)b * ld_emb, (size_t)E * sizeof(real));
    if (m->attention == ATTENTION_ADDITIVE) {
        /* q = s_{t-1}, the top layer's previous output; c_t = attention(q, h_1 .. h_n) */
        const real *q = ss->h + (size_t)top * ss->layer_stride;
        real *ctx = m->g_dx_above;      /* (B,H) free during the forward */
        additive_attention_forward(ctx, alpha, ld_alpha, z, m->qp, q, m->keys, enc_out, len,
                                   P_val(m, m->idx_q), P_val(m, m->idx_v), B, S, H);
        for (int b = 0; b < B; b++)
            memcpy(xin + (size_t)b * D + E, ctx + (size_t)b * H, (size_t)H * sizeof(real));
    } else {
        /* c_t = h_n, the encoder's top-layer output after row b's last word */
        for (int b = 0; b < B; b++)
            memcpy(xin + (size_t)b * D + E, enc_out + ((size_t)(len[b] - 1) * B + b) * H,
                   (size_t)H * sizeof(real));
    }
    for (int l = 0; l < m->L; l++) {
        const Stack *st = &m->dec;
        real *h_prev = ss->h + (size_t)l * ss->layer_stride, *h_new = h_prev + BH;
        real *c_prev = ss->c ? ss->c + (size_t)l * ss->layer_stride : NULL;
        const real *x = l == 0 ? xin : ss->h + (size_t)(l - 1) * ss->layer_stride + BH;
        /* a_ih = x W_ih^T + b_ih;  a_hh = s_{t-1} W_hh^T + b_hh;  s_t = cell(...) */
        linear_forward(m->a_ih, x, P_val(m, st->idx[l][W_IH]), P_val(m, st->idx[l][B_IH]), B,
                       l == 0 ? D : H, GH);
        linear_forward(m->a_hh, h_prev, P_val(m, st->idx[l][W_HH]), P_val(m, st->idx[l][B_HH]), B, H, GH);
        cell->forward(h_new, c_prev ? c_prev + BH : NULL,
                      ss->saved ? ss->saved + (size_t)l * ss->saved_stride : NULL, m->a_ih, m->a_hh,
                      h_prev, c_prev, B, H);
    }
}

/* ================================ forward ================================= */

/* the teacher-forced forward of B pairs, on the model or on one span's view
 * of it (the batch split below): logits (B,T,O), src (B,S), src_len (B) or
 * NULL, tgt_in (B,T) */
static void forward_pairs(RecurrentEncDec *m, real *logits, const int *src, const int *src_len,
                          const int *tgt_in, int B, int S, int T)
{
    const int *len = lengths_or_all(m, src_len, B, S);
    int E = m->E, H = m->H, L = m->L;
    size_t BH = (size_t)B * H;
    encoder_forward(m, src, len, B, S);
    const real *enc_out = hist(m->enc.h, L - 1, 1, B, S, H);        /* (S,B,H) */
    /* the decoder starts from the encoder's final state, every layer */
    Stack *st = &m->dec;
    for (int l = 0; l < L; l++) {
        memcpy(hist(st->h, l, 0, B, T, H), m->final_h + (size_t)l * BH, BH * sizeof(real));
        if (st->c) memcpy(hist(st->c, l, 0, B, T, H), m->final_c + (size_t)l * BH, BH * sizeof(real));
    }
    embedding_forward(m->x_tgt, tgt_in, P_val(m, m->idx_tgt_embed), B * T, E);
    for (int t = 0; t < T; t++) {
        StepState ss = {hist(st->h, 0, t, B, T, H), st->c ? hist(st->c, 0, t, B, T, H) : NULL,
                        saved_at(m, st->saved, 0, t, B, T), (size_t)(T + 1) * BH,
                        (size_t)T * B * m->SV * H};
        decoder_step(m, &ss, m->xin + (size_t)t * B * (E + H), m->x_tgt + (size_t)t * E, T * E,
                     m->alpha + (size_t)t * S, T * S,
                     m->z ? m->z + (size_t)t * B * S * H : NULL, enc_out, len, B, S);
    }
    /* logits_t = s_t head.weight^T + head.bias */
    to_batch_major(m->y, hist(st->h, L - 1, 1, B, T, H), B, T, H);
    linear_forward(logits, m->y, P_val(m, m->idx_head_w), P_val(m, m->idx_head_b), B * T, H, m->O);
}

/* ================================ backward ================================ */

/* the decoder, steps T-1 .. 0: parameter gradients, dL/d(target
 * embeddings), dL/d(encoder outputs, keys) and dL/d(final state) */
static void decoder_backward(RecurrentEncDec *m, const int *len, int B, int S, int T)
{
    const CellOps *cell = m->cell;
    const Stack *st = &m->dec;
    int E = m->E, H = m->H, D = E + H, GH = m->G * m->H, L = m->L, top = L - 1;
    size_t BH = (size_t)B * H, BGH = (size_t)B * GH;
    const real *enc_out = hist(m->enc.h, L - 1, 1, B, S, H);
    memset(m->g_dh_next, 0, (size_t)L * BH * sizeof(real));
    memset(m->g_dc, 0, (size_t)L * BH * sizeof(real));
    memset(m->g_dq, 0, BH * sizeof(real));
    for (int t = T - 1; t >= 0; t--) {
        for (int l = top; l >= 0; l--) {
            real *dh = m->g_dh + (size_t)l * BH, *dh_next = m->g_dh_next + (size_t)l * BH;
            real *dc = cell->has_cell_state ? m->g_dc + (size_t)l * BH : NULL;
            real *dc_prev = cell->has_cell_state ? m->g_dc_prev + (size_t)l * BH : NULL;
            /* dL/ds_t = from above (the head and the next step's query, or
             * layer l+1) + through step t+1 (the carried dh_next) */
            if (l == top) {
                for (int b = 0; b < B; b++)
                    for (int i = 0; i < H; i++)
                        dh[(size_t)b * H + i] = m->g_y[((size_t)b * T + t) * H + i] +
                                                m->g_dq[(size_t)b * H + i];
            } else {
                memcpy(dh, m->g_dx_above, BH * sizeof(real));
            }
            vecmath_add(dh, dh_next, BH);
            memset(dh_next, 0, BH * sizeof(real));
            if (dc_prev) memset(dc_prev, 0, BH * sizeof(real));
            real *h_prev = hist(st->h, l, t, B, T, H), *h_new = hist(st->h, l, t + 1, B, T, H);
            memset(m->g_step_ih, 0, BGH * sizeof(real));
            real *da_hh = cell->separate_hh_grad ? m->g_step_hh : NULL;
            if (da_hh) memset(da_hh, 0, BGH * sizeof(real));
            cell->backward(m->g_step_ih, da_hh, dh_next, dc_prev, dh, dc,
                           saved_at(m, st->saved, l, t, B, T), h_new, hist(st->c, l, t + 1, B, T, H),
                           h_prev, hist(st->c, l, t, B, T, H), B, H);
            /* forward: a_hh = s_{t-1} W_hh^T + b_hh */
            linear_backward(dh_next, P_grad(m, st->idx[l][W_HH]), P_grad(m, st->idx[l][B_HH]),
                            da_hh ? da_hh : m->g_step_ih, h_prev, P_val(m, st->idx[l][W_HH]), B, H, GH);
            /* forward: a_ih = x W_ih^T + b_ih, x = [emb ; c_t] or layer l-1's s_t */
            const real *x = l == 0 ? m->xin + (size_t)t * B * D : hist(st->h, l - 1, t + 1, B, T, H);
            real *dx = l == 0 ? m->g_dxin : m->g_dx_above;
            memset(dx, 0, (size_t)B * (l == 0 ? D : H) * sizeof(real));
            linear_backward(dx, P_grad(m, st->idx[l][W_IH]), P_grad(m, st->idx[l][B_IH]),
                            m->g_step_ih, x, P_val(m, st->idx[l][W_IH]), B, l == 0 ? D : H, GH);
            /* the carried cell gradient moves one step back */
            if (dc) memcpy(dc, dc_prev, BH * sizeof(real));
        }
        /* xin = [emb ; c_t]: split its gradient */
        for (int b = 0; b < B; b++)
            memcpy(m->g_demb + ((size_t)b * T + t) * E, m->g_dxin + (size_t)b * D, (size_t)E * sizeof(real));
        real *dctx = m->g_dx_above;     /* (B,H), free until the next step */
        for (int b = 0; b < B; b++)
            memcpy(dctx + (size_t)b * H, m->g_dxin + (size_t)b * D + E, (size_t)H * sizeof(real));
        if (m->attention == ATTENTION_ADDITIVE) {
            /* forward: c_t = attention(q = s_{t-1}, keys, h_j); dq goes to s_{t-1} */
            memset(m->g_dq, 0, BH * sizeof(real));
            additive_attention_backward(m->g_dq, m->g_keys, m->g_enc_out, P_grad(m, m->idx_q),
                                        P_grad(m, m->idx_v), m->g_dqp, m->g_de, dctx,
                                        m->alpha + (size_t)t * S, T * S,
                                        m->z + (size_t)t * B * S * H, hist(st->h, top, t, B, T, H),
                                        enc_out, len, P_val(m, m->idx_q), P_val(m, m->idx_v), B, S, H);
        } else {
            /* forward: c_t = h_n of row b */
            for (int b = 0; b < B; b++)
                vecmath_add(m->g_enc_out + ((size_t)(len[b] - 1) * B + b) * H, dctx + (size_t)b * H, (size_t)H);
        }
    }
    /* the decoder's initial state is the encoder's final state */
    memcpy(m->g_final_h, m->g_dh_next, (size_t)L * BH * sizeof(real));
    vecmath_add(m->g_final_h + (size_t)top * BH, m->g_dq, BH);   /* q of step 0 */
    if (cell->has_cell_state) memcpy(m->g_final_c, m->g_dc, (size_t)L * BH * sizeof(real));
}

/* the encoder, layer by layer from the top: dL/dh_j from above comes from
 * the attention (values and keys) or the fixed context, and the final
 * state's gradient enters at each row's last word */
static void encoder_backward(RecurrentEncDec *m, const int *src, const int *len, int B, int S)
{
    const CellOps *cell = m->cell;
    const Stack *st = &m->enc;
    int E = m->E, H = m->H, GH = m->G * m->H, L = m->L;
    size_t BH = (size_t)B * H, BGH = (size_t)B * GH;
    real *dh = m->g_dh, *dh_next = m->g_dh_next, *dc = m->g_dc, *dc_prev = m->g_dc_prev;  /* (B,H) */
    memcpy(m->g_dh_in, m->g_enc_out, (size_t)S * BH * sizeof(real));
    for (int l = L - 1; l >= 0; l--) {
        /* final state: h_n of row b is layer l's output at step n = len[b] */
        for (int b = 0; b < B; b++)
            vecmath_add(m->g_dh_in + ((size_t)(len[b] - 1) * B + b) * H,
                        m->g_final_h + ((size_t)l * B + b) * H, (size_t)H);
        memset(dh_next, 0, BH * sizeof(real));
        if (cell->has_cell_state) memset(dc, 0, BH * sizeof(real));
        for (int j = S - 1; j >= 0; j--) {
            for (size_t i = 0; i < BH; i++) dh[i] = m->g_dh_in[(size_t)j * BH + i] + dh_next[i];
            memset(dh_next, 0, BH * sizeof(real));
            if (cell->has_cell_state) {
                memset(dc_prev, 0, BH * sizeof(real));
                /* c_n of row b is the decoder's initial c */
                for (int b = 0; b < B; b++)
                    if (len[b] - 1 == j)
                        vecmath_add(dc + (size_t)b * H, m->g_final_c + ((size_t)l * B + b) * H, (size_t)H);
            }
            real *da_ih = m->g_da_ih + (size_t)j * BGH;
            real *da_hh = m->g_da_hh ? m->g_da_hh + (size_t)j * BGH : NULL;
            memset(da_ih, 0, BGH * sizeof(real));
            if (da_hh) memset(da_hh, 0, BGH * sizeof(real));
            cell->backward(da_ih, da_hh, dh_next, cell->has_cell_state ? dc_prev : NULL, dh,
                           cell->has_cell_state ? dc : NULL, saved_at(m, st->saved, l, j, B, S),
                           hist(st->h, l, j + 1, B, S, H), hist(st->c, l, j + 1, B, S, H),
                           hist(st->h, l, j, B, S, H), hist(st->c, l, j, B, S, H), B, H);
            /* forward: a_hh = h_{j-1} W_hh^T + b_hh, so dh_{j-1} += da_hh W_hh */
            linear_backward(dh_next, NULL, NULL, da_hh ? da_hh : da_ih, NULL,
                            P_val(m, st->idx[l][W_HH]), B, H, GH);
            if (cell->has_cell_state) memcpy(dc, dc_prev, BH * sizeof(real));
        }
        /* W_hh's gradient summed over all steps in one product: h_0 .. h_{S-1} */
        linear_backward(NULL, P_grad(m, st->idx[l][W_HH]), P_grad(m, st->idx[l][B_HH]),
                        m->g_da_hh ? m->g_da_hh : m->g_da_ih, hist(st->h, l, 0, B, S, H),
                        P_val(m, st->idx[l][W_HH]), S * B, H, GH);
        /* forward: a_ih = x W_ih^T + b_ih over all steps; dX goes to layer l-1
         * (into g_dh_in, read already) or to the embeddings */
        int in = l == 0 ? E : H;
        const real *X = l == 0 ? m->xs : hist(st->h, l - 1, 1, B, S, H);
        real *dX = l == 0 ? m->g_dxs : m->g_dh_in;
        memset(dX, 0, (size_t)S * B * in * sizeof(real));
        linear_backward(dX, P_grad(m, st->idx[l][W_IH]), P_grad(m, st->idx[l][B_IH]), m->g_da_ih,
                        X, P_val(m, st->idx[l][W_IH]), S * B, in, GH);
    }
    to_batch_major(m->g_dxs_b, m->g_dxs, B, S, E);
    embedding_backward(P_grad(m, m->idx_src_embed), m->g_dxs_b, src, B * S, E);
}

/* the backward of forward_pairs: dlogits (B,T,O); the forward's inputs */
static void backward_pairs(RecurrentEncDec *m, const real *dlogits, const int *src,
                           const int *src_len, const int *tgt_in, int B, int S, int T)
{
    const int *len = lengths_or_all(m, src_len, B, S);
    int H = m->H;
    /* forward: logits = y head^T + b */
    memset(m->g_y, 0, (size_t)B * T * H * sizeof(real));
    linear_backward(m->g_y, P_grad(m, m->idx_head_w), P_grad(m, m->idx_head_b), dlogits, m->y,
                    P_val(m, m->idx_head_w), B * T, H, m->O);
    memset(m->g_enc_out, 0, (size_t)S * B * H * sizeof(real));
    memset(m->g_keys, 0, (size_t)S * B * H * sizeof(real));
    decoder_backward(m, len, B, S, T);
    embedding_backward(P_grad(m, m->idx_tgt_embed), m->g_demb, tgt_in, B * T, m->E);
    /* forward: keys = h_j W_k^T */
    if (m->attention == ATTENTION_ADDITIVE)
        linear_backward(m->g_enc_out, P_grad(m, m->idx_k), NULL, m->g_keys,
                        hist(m->enc.h, m->L - 1, 1, B, S, H), P_val(m, m->idx_k), S * B, H, H);
    encoder_backward(m, src, len, B, S);
}

/* ======================= the batch split over threads =====================
 * Nothing above mixes two pairs of a batch: row b's states depend on row
 * b's words alone, and its attention reads its own source.  So with P
 * threads the batch is split into P spans of pairs, each running the whole
 * forward and backward above for its pairs on a thread of its own with
 * single-threaded BLAS (core/parallel.h), as the Transformers do.
 *
 * A span sees the model through a view: a copy of the struct whose every
 * activation array points at the span's own block of it, b0 pairs' worth
 * from the start, laid out inside as the model lays out a batch of nb pairs.
 * A time-major array (S,B,H) is thus (span, S, nb, H): with one span the
 * same thing.  The forward and backward of a batch split it alike.  Spans
 * 1 .. P-1 accumulate parameter gradients in private copies, which
 * parallel_join adds to the real ones at the end of the backward.  The
 * reference build (`make REFERENCE=1`) keeps one span, on the calling
 * thread. */

/* base + n, or NULL for an array the model does not use (no c, no z ...) */
static real *shift(real *base, size_t n)
{
    return base ? base + n : NULL;
}

/* span p's view: its pairs [b0, ..) of a batch of (S,T) */
static RecurrentEncDec span_view(const RecurrentEncDec *m, int b0, int p, int S, int T)
{
    size_t E = (size_t)m->E, H = (size_t)m->H, L = (size_t)m->L, GH = (size_t)m->G * H;
    size_t D = E + H, SVH = (size_t)m->SV * H, Sz = (size_t)S, Tz = (size_t)T;
    size_t ST = Sz > Tz ? Sz : Tz, b = (size_t)b0;
    RecurrentEncDec v = *m;
    /* each array: what one pair takes of it, times b0 */
    v.enc.h = shift(m->enc.h, b * L * (Sz + 1) * H);
    v.enc.c = shift(m->enc.c, b * L * (Sz + 1) * H);
    v.enc.saved = shift(m->enc.saved, b * L * Sz * SVH);
    v.dec.h = shift(m->dec.h, b * L * (Tz + 1) * H);
    v.dec.c = shift(m->dec.c, b * L * (Tz + 1) * H);
    v.dec.saved = shift(m->dec.saved, b * L * Tz * SVH);
    v.x_src = shift(m->x_src, b * Sz * E);
    v.xs = shift(m->xs, b * Sz * E);
    v.a_ih = shift(m->a_ih, b * ST * GH);
    v.a_hh = shift(m->a_hh, b * GH);
    v.keys = shift(m->keys, b * Sz * H);
    v.final_h = shift(m->final_h, b * L * H);
    v.final_c = shift(m->final_c, b * L * H);
    v.x_tgt = shift(m->x_tgt, b * Tz * E);
    v.xin = shift(m->xin, b * Tz * D);
    v.alpha = shift(m->alpha, b * Tz * Sz);
    v.z = shift(m->z, b * Tz * Sz * H);
    v.qp = shift(m->qp, b * H);
    v.y = shift(m->y, b * Tz * H);
    v.len_all = m->len_all + b;
    v.g_y = shift(m->g_y, b * Tz * H);
    v.g_da_ih = shift(m->g_da_ih, b * Sz * GH);
    v.g_da_hh = shift(m->g_da_hh, b * Sz * GH);
    v.g_dh_in = shift(m->g_dh_in, b * Sz * H);
    v.g_dxs = shift(m->g_dxs, b * Sz * E);
    v.g_dxs_b = shift(m->g_dxs_b, b * Sz * E);
    v.g_enc_out = shift(m->g_enc_out, b * Sz * H);
    v.g_keys = shift(m->g_keys, b * Sz * H);
    v.g_final_h = shift(m->g_final_h, b * L * H);
    v.g_final_c = shift(m->g_final_c, b * L * H);
    v.g_dh = shift(m->g_dh, b * L * H);
    v.g_dh_next = shift(m->g_dh_next, b * L * H);
    v.g_dc = shift(m->g_dc, b * L * H);
    v.g_dc_prev = shift(m->g_dc_prev, b * L * H);
    v.g_step_ih = shift(m->g_step_ih, b * GH);
    v.g_step_hh = shift(m->g_step_hh, b * GH);
    v.g_dx_above = shift(m->g_dx_above, b * H);
    v.g_dxin = shift(m->g_dxin, b * D);
    v.g_demb = shift(m->g_demb, b * Tz * E);
    v.g_dq = shift(m->g_dq, b * H);
    v.g_dqp = shift(m->g_dqp, b * H);
    /* not per pair: the span's own */
    v.g_de = m->g_de + (size_t)p * m->Smax;
    v.grad = p == 0 ? m->grad : m->part_grads + (size_t)(p - 1) * m->grad_len;
    return v;
}

/* span p's pairs of the batch, on its view of the model: forward (0) or backward (1) */
static void run_span(const EncDecPass *pass, int p, int backward)
{
    int S = pass->S, T = pass->T, b0, b1;
    parallel_span(pass->B, pass->parts, p, &b0, &b1);
    RecurrentEncDec v = span_view(pass->model, b0, p, S, T);
    const int *src = pass->src + (size_t)b0 * S, *tgt_in = pass->tgt_in + (size_t)b0 * T;
    const int *src_len = pass->src_len ? pass->src_len + b0 : NULL;
    size_t at = (size_t)b0 * T * v.O;
    if (backward)
        backward_pairs(&v, pass->dlogits + at, src, src_len, tgt_in, b1 - b0, S, T);
    else
        forward_pairs(&v, pass->logits + at, src, src_len, tgt_in, b1 - b0, S, T);
}

static void forward_span(void *arg, int p)
{
    run_span(arg, p, 0);
}

static void backward_span(void *arg, int p)
{
    run_span(arg, p, 1);
}

void recurrent_encdec_forward(void *self, real *logits, const int *src, const int *src_len,
                              const int *tgt_in, int B, int S, int T)
{
    /* logits (B,T,O), src (B,S), src_len (B) or NULL, tgt_in (B,T) */
    RecurrentEncDec *m = self;
    assert(m->x_src && "alloc_acts before forward");
    assert(B <= m->Bmax && S <= m->Smax && T <= m->Tmax);
    encdec_run(forward_span, m, m->parts, m->max_parts, logits, NULL, src, src_len, tgt_in, B, S, T);
    m->last_B = B;
    m->last_S = S;
    m->last_T = T;
}

void recurrent_encdec_backward(void *self, const real *dlogits, const int *src,
                               const int *src_len, const int *tgt_in, int B, int S, int T)
{
    RecurrentEncDec *m = self;
    assert(B == m->last_B && S == m->last_S && T == m->last_T && "backward of another forward");
    int parts = encdec_run(backward_span, m, m->parts, m->max_parts, NULL, dlogits, src, src_len,
                           tgt_in, B, S, T);
    /* the spans' private gradients join the real ones, a slice on each thread */
    parallel_join(m->grad, m->part_grads, m->grad_len, parts);
}

void recurrent_encdec_set_parts(void *self, int parts)
{
    RecurrentEncDec *m = self;
    assert(parts >= 0);
    m->parts = parts;
    if (m->x_src && parts > m->max_parts && parts <= m->Bmax) size_split(m, parts);
}

/* ================================ decoding ================================ */

void recurrent_encdec_encode(void *self, const int *src, const int *src_len, int B, int S)
{
    RecurrentEncDec *m = self;
    assert(B <= m->Bmax && S <= m->Smax);
    const int *len = lengths_or_all(m, src_len, B, S);
    memcpy(m->st_len, len, (size_t)B * sizeof(int));
    encoder_forward(m, src, m->st_len, B, S);
    size_t BH = (size_t)B * m->H;
    for (int l = 0; l < m->L; l++) {
        memcpy(m->st_h + (size_t)l * 2 * BH, m->final_h + (size_t)l * BH, BH * sizeof(real));
        memcpy(m->st_c + (size_t)l * 2 * BH, m->final_c + (size_t)l * BH, BH * sizeof(real));
    }
    m->step_B = B;
    m->step_S = S;
}

void recurrent_encdec_decode_step(void *self, real *logits, const int *tokens, int B)
{
    /* logits (B,O), tokens (B) */
    RecurrentEncDec *m = self;
    assert(B == m->step_B && "encode with this B first");
    int S = m->step_S, H = m->H;
    size_t BH = (size_t)B * H;
    embedding_forward(m->st_emb, tokens, P_val(m, m->idx_tgt_embed), B, m->E);
    StepState ss = {m->st_h, m->cell->has_cell_state ? m->st_c : NULL, m->SV ? m->st_saved : NULL,
                    2 * BH, (size_t)B * m->SV * H};
    decoder_step(m, &ss, m->st_xin, m->st_emb, m->E, m->st_alpha, S, m->st_z,
                 hist(m->enc.h, m->L - 1, 1, B, S, H), m->st_len, B, S);
    /* the new state becomes the state */
    for (int l = 0; l < m->L; l++) {
        real *h = m->st_h + (size_t)l * 2 * BH, *c = m->st_c + (size_t)l * 2 * BH;
        memcpy(h, h + BH, BH * sizeof(real));
        if (m->cell->has_cell_state) memcpy(c, c + BH, BH * sizeof(real));
    }
    linear_forward(logits, m->st_h + (size_t)(m->L - 1) * 2 * BH, P_val(m, m->idx_head_w),
                   P_val(m, m->idx_head_b), B, H, m->O);
}

/* rows of (n, B, H) time-major arrays: row b of every slice takes row from[b] */
static void permute_time_major(real *a, real *tmp, const int *from, int B, int n, int H)
{
    size_t BH = (size_t)B * H;
    memcpy(tmp, a, (size_t)n * BH * sizeof(real));
    for (int s = 0; s < n; s++)
        for (int b = 0; b < B; b++)
            memcpy(a + s * BH + (size_t)b * H, tmp + s * BH + (size_t)from[b] * H, (size_t)H * sizeof(real));
}

void recurrent_encdec_reorder(void *self, const int *from, int B)
{
    RecurrentEncDec *m = self;
    assert(B == m->step_B);
    int H = m->H, S = m->step_S;
    size_t BH = (size_t)B * H;
    for (int l = 0; l < m->L; l++) {
        permute_time_major(m->st_h + (size_t)l * 2 * BH, m->st_tmp, from, B, 1, H);
        permute_time_major(m->st_c + (size_t)l * 2 * BH, m->st_tmp, from, B, 1, H);
    }
    permute_time_major(hist(m->enc.h, m->L - 1, 1, B, S, H), m->st_tmp, from, B, S, H);
    if (m->attention == ATTENTION_ADDITIVE) permute_time_major(m->keys, m->st_tmp, from, B, S, H);
    memcpy(m->st_len_tmp, m->st_len, (size_t)B * sizeof(int));
    for (int b = 0; b < B; b++) m->st_len[b] = m->st_len_tmp[from[b]];
}

/* ============================ the rest ==================================== */

int recurrent_encdec_source_attention(const void *self, const real **weights, int *L, int *NH,
                                      int *B, int *T, int *S)
{
    const RecurrentEncDec *m = self;
    if (m->attention != ATTENTION_ADDITIVE || m->last_T == 0) return -1;
    *weights = m->alpha;
    *L = 1;
    *NH = 1;
    *B = m->last_B;
    *T = m->last_T;
    *S = m->last_S;
    return 0;
}

size_t recurrent_encdec_act_bytes(const void *self)
{
    return ((const RecurrentEncDec *)self)->bytes;
}

double recurrent_encdec_flops(const void *self, int B, int S, int T)
{
    /* the products of each step: 2 B in G H (input) + 2 B H G H (recurrent)
     * per layer, the cell's elementwise work, the attention's W_q q and
     * B S H tanh-sums, the keys once, the head */
    const RecurrentEncDec *m = self;
    double H = m->H, E = m->E, G = m->G, L = m->L, Bd = B;
    double layers_in = E + (L - 1) * H;
    double per_step_enc = 2 * Bd * G * H * (layers_in + L * H) + Bd * L * H * m->cell->flops_per_unit;
    double per_step_dec = per_step_enc + 2 * Bd * G * H * H;          /* the context's H inputs */
    double attn = 0;
    if (m->attention == ATTENTION_ADDITIVE)
        attn = T * (2 * Bd * H * H + 6 * Bd * S * H) + 2 * (double)S * B * H * H;
    return S * per_step_enc + T * per_step_dec + attn + 2 * Bd * T * H * m->O;
}

void recurrent_encdec_free(void *self)
{
    RecurrentEncDec *m = self;
    if (!m) return;
    real *arrays[] = {
        m->enc.h, m->enc.c, m->enc.saved, m->dec.h, m->dec.c, m->dec.saved, m->x_src, m->xs,
        m->a_ih, m->a_hh, m->keys, m->final_h, m->final_c, m->x_tgt, m->xin, m->alpha, m->z,
        m->qp, m->y, m->g_y, m->g_da_ih, m->g_da_hh, m->g_dh_in, m->g_dxs, m->g_dxs_b,
        m->g_enc_out, m->g_keys, m->g_final_h, m->g_final_c, m->g_dh, m->g_dh_next, m->g_dc,
        m->g_dc_prev, m->g_step_ih, m->g_step_hh, m->g_dx_above, m->g_dxin, m->g_demb, m->g_dq,
        m->g_dqp, m->g_de, m->st_h, m->st_c, m->st_saved, m->st_emb, m->st_xin, m->st_alpha,
        m->st_z, m->st_tmp, m->part_grads,
    };
    for (size_t i = 0; i < sizeof arrays / sizeof arrays[0]; i++) free(arrays[i]);
    free(m->len_all);
    free(m->st_len);
    free(m->st_len_tmp);
    free(m->enc.idx);
    free(m->dec.idx);
    free(m);
}

const EncDecOps recurrent_encdec_ops = {
    .create = recurrent_encdec_create,
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
