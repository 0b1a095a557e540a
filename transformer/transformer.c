/*
 * transformer.c — the GPT-style decoder: pre-LN blocks stacked into a body.
 *
 * The shared input layer hands us x = embed.weight[token] (B,T,C) and the
 * shared head turns our y (B,T,C) into logits.  In between:
 *
 *     x_0 = x + P                                   positions.c
 *     for each block l = 0 .. L-1:
 *         a       = x_l + proj(attn(ln1(x_l)))      attention sub-layer
 *         x_{l+1} = a + mlp.proj(gelu(mlp.fc(ln2(a))))   MLP sub-layer
 *     y = ln_f(x_L)
 *
 * "Pre-LN": each sub-layer reads a normalised copy of the residual stream and
 * adds its result back, so the stream x_0 -> x_L is a sum of updates and its
 * gradient reaches x_0 through the identity paths untouched; the final ln_f
 * normalises what the head sees.
 *
 * Sections: parameters (names of docs/design.md) / activations (the memory story)
 * / block forward+backward / body forward+backward / stepping with a KV cache
 * / the BodyOps table and introspection.
 *
 * What this file is not: the math of each layer (attention.c, layernorm.c,
 * gelu.c, positions.c, core/ops.c and ops_fast.c for the linear layers).
 *
 * Threads: every line above works on each sequence of the batch alone; only
 * the parameter gradients are shared.  So with P threads the batch is split
 * into P spans of sequences, each running the whole forward and backward
 * for its rows on its own thread with single-threaded BLAS (core/parallel.h);
 * spans 1 .. P-1 accumulate parameter gradients into private buffers, added
 * to the real ones at the end of the backward.  The reference build (`make
 * REFERENCE=1`) keeps the whole batch in one span, on the calling thread.
 *
 * Shapes: B batch, T time, C width, NH heads, dk = C/NH, F MLP width, L layers,
 * N = B*T.  Activations of a forward of (B,T) are packed for that (B,T): the
 * views below are computed per call, so a (B,T,C) tensor is contiguous even
 * when B < Bmax or T < Tmax.
 */
#include "transformer.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_randist.h>

#include "attention_online.h"
#include "parallel.h"
#include "util.h"
#include "vecmath.h"

/* standard deviation of the learned position table at initialisation (GPT-2's) */
#define POS_INIT_STD 0.02

/* ============================== parameters ================================ */

/* One block's tensors, in registration order.  Used twice: for the values
 * and, with the same layout, for the gradients. */
typedef struct BlockParams {
    real *ln1_w, *ln1_b;        /* (C), (C)            blocks.{i}.ln1.weight/bias */
    real *qkv_w, *qkv_b;        /* (3C,C), (3C)        blocks.{i}.attn.qkv: rows q, k, v */
    real *proj_w, *proj_b;      /* (C,C), (C)          blocks.{i}.attn.proj */
    real *ln2_w, *ln2_b;        /* (C), (C)            blocks.{i}.ln2 */
    real *fc_w, *fc_b;          /* (F,C), (F)          blocks.{i}.mlp.fc */
    real *mproj_w, *mproj_b;    /* (C,F), (C)          blocks.{i}.mlp.proj */
} BlockParams;

#define BLOCK_TENSORS 12
static const char *const block_tensor_names[BLOCK_TENSORS] = {
    "ln1.weight", "ln1.bias", "attn.qkv.weight", "attn.qkv.bias",
    "attn.proj.weight", "attn.proj.bias", "ln2.weight", "ln2.bias",
    "mlp.fc.weight", "mlp.fc.bias", "mlp.proj.weight", "mlp.proj.bias",
};

/* the fields of p in the order of block_tensor_names */
static void block_fields(BlockParams *p, real **fields[BLOCK_TENSORS])
{
    real **f[BLOCK_TENSORS] = {&p->ln1_w, &p->ln1_b, &p->qkv_w, &p->qkv_b,
                               &p->proj_w, &p->proj_b, &p->ln2_w, &p->ln2_b,
                               &p->fc_w, &p->fc_b, &p->mproj_w, &p->mproj_b};
    memcpy(fields, f, sizeof f);
}

/* Where one span of the batch split accumulates its parameter gradients:
 * the real gradient buffer for span 0, a private copy for the others. */
typedef struct BodyGrads {
    BlockParams *blocks;        /* (L) */
    real *pos_g;                /* (max_seq_len,C) or NULL */
    real *lnf_gw, *lnf_gb;      /* (C), (C) */
} BodyGrads;

/* A block backward's workspaces (gradients w.r.t. activations), one span's
 * rows of the arrays in Transformer */
typedef struct BlockWork {
    real *dln, *datt;           /* (B,T,C) each */
    real *dqkv;                 /* (B,T,3C) */
    real *dmlp;                 /* (B,T,F) dL/du, then in place dL/df (u = gelu(f)) */
    real *dscores;              /* (scratch_len) this span's: one head's (T,T) dP / dS (naive),
                                 * or the online attention's tiles (forward and backward) */
} BlockWork;

/* ============================== activations =============================== */

/* What one block's forward saves for its backward: views into the arrays of
 * Transformer, for one layer and one (B,T). */
typedef struct BlockActs {
    real *x;                    /* (B,T,C) block input x_l (the residual stream) */
    real *ln1;                  /* (B,T,C) ln1(x_l) */
    real *ln1_mean, *ln1_rstd;  /* (B,T), (B,T) */
    real *qkv;                  /* (B,T,3C) [q | k | v] */
    real *probs;                /* (B,NH,T,T) attention probabilities: the O(T^2) part (naive) */
    real *att_m, *att_l;        /* (B,NH,T), (B,NH,T) online: each row's max score and sum */
    real *att;                  /* (B,T,C) attention output, heads side by side */
    real *a;                    /* (B,T,C) x_l + proj(att) */
    real *ln2;                  /* (B,T,C) ln2(a) */
    real *ln2_mean, *ln2_rstd;  /* (B,T), (B,T) */
    real *fc;                   /* (B,T,F) mlp.fc(ln2(a)), the GELU input; after the
                                 * GELU its slope gelu'(fc), all the backward needs */
    real *gelu;                 /* (B,T,F) gelu(fc) */
    real *out;                  /* (B,T,C) x_{l+1} = the next block's x */
} BlockActs;

typedef struct Transformer {
    /* ---- config ---- */
    int C, NH, dk, F, L;
    int max_seq_len;            /* rows of pos.weight (learned); informational otherwise */
    Positions positions;
    int causal;                 /* 1: the decoder's causal mask (GPT); 0: the encoder (BERT) */
    const int *lengths;         /* (B) real tokens per row of the current batch, or NULL
                                 * (all T): the encoder's key padding mask (set_lengths) */
    int online;                 /* attention_impl = online: no P stored (attention_online.c) */

    /* ---- parameters (bound after params_alloc) ---- */
    int idx_pos;                /* pos.weight, or -1 */
    int (*idx_block)[BLOCK_TENSORS]; /* (L) tensor indices per block */
    int idx_lnf_w, idx_lnf_b;
    BlockParams *w, *g;         /* (L) values and gradients */
    real *pos_w, *pos_g;        /* (max_seq_len,C) learned table and its gradient, or NULL */
    real *lnf_w, *lnf_b;        /* (C), (C) ln_f */
    real *lnf_gw, *lnf_gb;      /* (C), (C) their gradients */

    /* ---- activations, sized for (Bmax,Tmax) by alloc_acts ---- */
    int Bmax, Tmax;
    size_t bytes;               /* everything below */
    real *pos_table;            /* (Tmax,C) sinusoidal table (positions = sinusoidal) */
    real *resid;                /* (L+1,B,T,C) residual stream x_0 .. x_L */
    real *ln1, *ln2, *att, *a;  /* (L,B,T,C) each */
    real *ln1_mean, *ln1_rstd, *ln2_mean, *ln2_rstd; /* (L,B,T) each */
    real *qkv;                  /* (L,B,T,3C) */
    real *probs;                /* (L,B,NH,T,T) naive attention only, else NULL */
    real *att_m, *att_l;        /* (L,B,NH,T) each, online attention only, else NULL */
    real *fc, *gelu;            /* (L,B,T,F) each */
    real *lnf_mean, *lnf_rstd;  /* (B,T) each */
    int last_B, last_T;         /* shape of the last forward; 0 before the first */

    /* ---- backward workspaces (gradients w.r.t. activations) ---- */
    real *dres;                 /* (B,T,C) dL/d(residual stream), walked from x_L back to x_0 */
    real *dln, *datt;           /* (B,T,C) each */
    real *dqkv;                 /* (B,T,3C) */
    real *dmlp;                 /* (B,T,F) dL/du, then in place dL/df (u = gelu(f)) */
    real *dscores;              /* (max_parts,scratch_len) per span: one head's (T,T) dP / dS
                                 * (naive) or the online attention's tiles */
    size_t scratch_len;         /* T*T (naive) or attention_online_scratch_len(T) */
    real *x_grad_norm;          /* (Tmax) ||dL/dx_t|| of the last backward */
    int have_grad_norms;

    /* ---- stepping: the key/value cache and one-position buffers ---- */
    real *kcache, *vcache;      /* (L,Bmax,Tmax,C) keys and values of positions 0 .. step_t-1 */
    real *s_x;                  /* (Bmax,C) residual stream of the new position */
    real *s_ln, *s_att, *s_tmp; /* (Bmax,C) each */
    real *s_mean, *s_rstd;      /* (Bmax) each */
    real *s_qkv;                /* (Bmax,3C) */
    real *s_fc, *s_gelu;        /* (Bmax,F) each */
    real *s_scores;             /* (Tmax) */
    int step_B, step_t;         /* rows being generated; next position */

    /* ---- the batch split ---- */
    int parts;                  /* spans to split a batch into; 0: one per BLAS thread */
    int max_parts;              /* spans alloc_acts sized the workspaces for */
    real *grad_base;            /* the body's slice of the gradient buffer ... */
    size_t grad_len;            /* ... (pos.weight .. ln_f.bias, contiguous), its length */
    real *part_grads;           /* (max_parts-1, grad_len) spans 1 .. accumulate here */
    BodyGrads *span_grads;      /* (max_parts) span 0: the real gradients */
    BlockParams *span_blocks;   /* (max_parts, L) what span_grads[p].blocks points into */
} Transformer;

/* views of layer l's saved activations for a forward of (B,T), starting
 * at sequence b0 (the rows of one span of the batch split) */
static BlockActs block_acts(const Transformer *tf, int l, int B, int T, int b0)
{
    size_t N = (size_t)B * T, C = (size_t)tf->C, F = (size_t)tf->F;
    size_t r = (size_t)b0 * T;                     /* first row */
    BlockActs a;
    a.x = tf->resid + (size_t)l * N * C + r * C;
    a.out = tf->resid + (size_t)(l + 1) * N * C + r * C;
    a.ln1 = tf->ln1 + (size_t)l * N * C + r * C;
    a.ln1_mean = tf->ln1_mean + (size_t)l * N + r;
    a.ln1_rstd = tf->ln1_rstd + (size_t)l * N + r;
    a.qkv = tf->qkv + (size_t)l * N * 3 * C + r * 3 * C;
    size_t stats = ((size_t)l * B + b0) * tf->NH * T;   /* first row statistic */
    a.probs = tf->probs ? tf->probs + stats * T : NULL;
    a.att_m = tf->att_m ? tf->att_m + stats : NULL;
    a.att_l = tf->att_l ? tf->att_l + stats : NULL;
    a.att = tf->att + (size_t)l * N * C + r * C;
    a.a = tf->a + (size_t)l * N * C + r * C;
    a.ln2 = tf->ln2 + (size_t)l * N * C + r * C;
    a.ln2_mean = tf->ln2_mean + (size_t)l * N + r;
    a.ln2_rstd = tf->ln2_rstd + (size_t)l * N + r;
    a.fc = tf->fc + (size_t)l * N * F + r * F;
    a.gelu = tf->gelu + (size_t)l * N * F + r * F;
    return a;
}

/* span p's rows (from sequence b0) of the backward workspaces */
static BlockWork block_work(const Transformer *tf, int T, int b0, int p)
{
    size_t r = (size_t)b0 * T, C = (size_t)tf->C, F = (size_t)tf->F;
    BlockWork w;
    w.dln = tf->dln + r * C;
    w.datt = tf->datt + r * C;
    w.dqkv = tf->dqkv + r * 3 * C;
    w.dmlp = tf->dmlp + r * F;
    w.dscores = tf->dscores + (size_t)p * tf->scratch_len;
    return w;
}

/* ============================ one block =================================== */

/* lengths (B): the span's rows of the batch's lengths, or NULL; ws: the
 * span's workspaces (online attention's tiles) */
static void block_forward(Transformer *tf, const BlockParams *w, const BlockActs *s,
                          const BlockWork *ws, const int *lengths, int B, int T)
{
    int N = B * T, C = tf->C, F = tf->F;
    /* h = ln1(x_l) */
    layernorm_forward(s->ln1, s->ln1_mean, s->ln1_rstd, s->x, w->ln1_w, w->ln1_b, N, C);
    /* [q | k | v] = h W_qkv^T + b_qkv */
    linear_forward(s->qkv, s->ln1, w->qkv_w, w->qkv_b, N, C, 3 * C);
    /* att = concat_h softmax(q_h k_h^T / sqrt(dk) + mask) v_h, the mask causal
     * (decoder) or over the padding (encoder): storing P, or online over
     * blocks of keys, storing each row's max and sum */
    if (tf->online)
        attention_online_forward(s->att, s->att_m, s->att_l, ws->dscores, s->qkv, B, T, C,
                                 tf->NH, tf->causal, lengths);
    else
        attention_forward(s->att, s->probs, s->qkv, B, T, C, tf->NH, tf->causal, lengths);
    /* a = x_l + att W_proj^T + b_proj */
    linear_forward_residual(s->a, s->x, s->att, w->proj_w, w->proj_b, N, C, C);
    /* m = ln2(a) */
    layernorm_forward(s->ln2, s->ln2_mean, s->ln2_rstd, s->a, w->ln2_w, w->ln2_b, N, C);
    /* u = gelu(f), f = m W_fc^T + b_fc; f's array then keeps gelu'(f) */
    linear_forward(s->fc, s->ln2, w->fc_w, w->fc_b, N, C, F);
    gelu_forward_slope(s->gelu, s->fc, s->fc, (size_t)N * F);
    /* x_{l+1} = a + u W_mproj^T + b_mproj */
    linear_forward_residual(s->out, s->a, s->gelu, w->mproj_w, w->mproj_b, N, F, C);
}

/* dres (B,T,C) holds dL/dx_{l+1} on entry and dL/dx_l on return; the
 * parameter gradients g accumulate; ws are the workspaces.  The forward's
 * lines, in reverse.  A workspace that one op alone fills (dmlp, dln,
 * datt) is written by its _set backward (linear_backward_set: dx =
 * dy W; gelu_backward_slope_set), not zeroed and added to. */
static void block_backward(Transformer *tf, const BlockParams *g, const BlockParams *w,
                           const BlockActs *s, const BlockWork *ws, const int *lengths,
                           real *dres, int B, int T)
{
    int N = B * T, C = tf->C, F = tf->F;
    size_t nC = (size_t)N * C, nF = (size_t)N * F;
    /* forward: x_{l+1} = a + u W_mproj^T + b_mproj; da = dres (identity path) + ... */
    linear_backward_set(ws->dmlp, g->mproj_w, g->mproj_b, dres, s->gelu, w->mproj_w, N, F, C);
    /* forward: u = gelu(f); fc holds gelu'(f); dL/df = dL/du gelu'(f), in place */
    gelu_backward_slope_set(ws->dmlp, ws->dmlp, s->fc, nF);
    /* forward: f = m W_fc^T + b_fc */
    linear_backward_set(ws->dln, g->fc_w, g->fc_b, ws->dmlp, s->ln2, w->fc_w, N, C, F);
    /* forward: m = ln2(a); dres becomes da = dres + ln2's backward */
    layernorm_backward(dres, g->ln2_w, g->ln2_b, ws->dln, s->a, w->ln2_w, s->ln2_mean,
                       s->ln2_rstd, N, C);
    /* forward: a = x_l + att W_proj^T + b_proj; dx_l = da (identity path) + ... */
    linear_backward_set(ws->datt, g->proj_w, g->proj_b, dres, s->att, w->proj_w, N, C, C);
    /* forward: att = attention(q, k, v); dqkv written (online: zeroed, then added to) */
    if (tf->online) {
        memset(ws->dqkv, 0, 3 * nC * sizeof(real));
        attention_online_backward(ws->dqkv, ws->dscores, ws->datt, s->att, s->qkv, s->att_m,
                                  s->att_l, B, T, C, tf->NH, tf->causal, lengths);
    } else {
        attention_backward_set(ws->dqkv, ws->dscores, ws->datt, s->qkv, s->probs, B, T, C,
                               tf->NH, tf->causal, lengths);
    }
    /* forward: [q | k | v] = h W_qkv^T + b_qkv */
    linear_backward_set(ws->dln, g->qkv_w, g->qkv_b, ws->dqkv, s->ln1, w->qkv_w, N, C, 3 * C);
    /* forward: h = ln1(x_l); dres becomes dx_l */
    layernorm_backward(dres, g->ln1_w, g->ln1_b, ws->dln, s->x, w->ln1_w, s->ln1_mean,
                       s->ln1_rstd, N, C);
}

/* ============================ the body ==================================== */

/* the (T,C) table added to x, or NULL for positions = none */
static const real *position_rows(const Transformer *tf)
{
    switch (tf->positions) {
    case POSITIONS_SINUSOIDAL: return tf->pos_table;
    case POSITIONS_LEARNED: return tf->pos_w;
    case POSITIONS_NONE: return NULL;
    }
    return NULL;
}

/* how many spans a batch of B sequences of length T is split into: one per
 * thread, none thinner than PARALLEL_MIN_ROWS positions (core/parallel.h) */
static int split_parts(const Transformer *tf, int B, int T)
{
    return parallel_parts(tf->parts, B, (long)B * T, tf->max_parts);
}

/* the span's rows [b0, ..) of the batch's lengths, or NULL */
static const int *span_lengths(const Transformer *tf, int b0)
{
    return tf->lengths ? tf->lengths + b0 : NULL;
}

/* one pass (forward or backward) of the body over a batch, split in spans */
typedef struct BodyPass {
    Transformer *tf;
    real *y;            /* forward: (B,T,C) out */
    const real *x;      /* forward: (B,T,C) in */
    real *dx;           /* backward: (B,T,C) += , or NULL */
    const real *dy;     /* backward: (B,T,C) */
    int B, T, parts;
} BodyPass;

/* the forward for sequences [b0, b1) of the batch */
static void forward_span(void *arg, int p)
{
    const BodyPass *bp = arg;
    Transformer *tf = bp->tf;
    int B = bp->B, T = bp->T, b0, b1;
    parallel_span(B, bp->parts, p, &b0, &b1);
    int nb = b1 - b0;
    size_t r = (size_t)b0 * T, N = (size_t)B * T, C = (size_t)tf->C;
    /* x_0 = x + P */
    positions_forward(tf->resid + r * C, bp->x + r * C, position_rows(tf), nb, T, tf->C);
    BlockWork ws = block_work(tf, T, b0, p);       /* the attention workspace */
    for (int l = 0; l < tf->L; l++) {
        BlockActs s = block_acts(tf, l, B, T, b0);
        block_forward(tf, &tf->w[l], &s, &ws, span_lengths(tf, b0), nb, T);
    }
    /* y = ln_f(x_L) */
    const real *xL = tf->resid + (size_t)tf->L * N * C + r * C;
    layernorm_forward(bp->y + r * C, tf->lnf_mean + r, tf->lnf_rstd + r, xL, tf->lnf_w, tf->lnf_b,
                      nb * T, tf->C);
}

static void transformer_forward(void *self, real *y, const real *x, int B, int T)
{
    /* y (B,T,C), x (B,T,C) */
    Transformer *tf = self;
    assert(tf->resid && "alloc_acts before forward");
    assert(B <= tf->Bmax && T <= tf->Tmax);
    assert(tf->positions != POSITIONS_LEARNED || T <= tf->max_seq_len);
    BodyPass bp = {tf, y, x, NULL, NULL, B, T, split_parts(tf, B, T)};
    parallel_run(bp.parts, forward_span, &bp);
    tf->last_B = B;
    tf->last_T = T;
}

/* the backward for sequences [b0, b1), into span p's gradients */
static void backward_span(void *arg, int p)
{
    const BodyPass *bp = arg;
    Transformer *tf = bp->tf;
    const BodyGrads *g = &tf->span_grads[p];
    int B = bp->B, T = bp->T, b0, b1;
    parallel_span(B, bp->parts, p, &b0, &b1);
    int nb = b1 - b0;
    size_t r = (size_t)b0 * T, N = (size_t)B * T, C = (size_t)tf->C;
    real *dres = tf->dres + r * C;                  /* (nb,T,C) */
    BlockWork ws = block_work(tf, T, b0, p);
    /* forward: y = ln_f(x_L) */
    memset(dres, 0, (size_t)nb * T * C * sizeof(real));
    const real *xL = tf->resid + (size_t)tf->L * N * C + r * C;
    layernorm_backward(dres, g->lnf_gw, g->lnf_gb, bp->dy + r * C, xL, tf->lnf_w, tf->lnf_mean + r,
                       tf->lnf_rstd + r, nb * T, tf->C);
    for (int l = tf->L - 1; l >= 0; l--) {
        BlockActs s = block_acts(tf, l, B, T, b0);
        block_backward(tf, &g->blocks[l], &tf->w[l], &s, &ws, span_lengths(tf, b0), dres, nb, T);
    }
    /* forward: x_0 = x + P */
    positions_backward(bp->dx ? bp->dx + r * C : NULL, g->pos_g, dres, nb, T, tf->C);
}

static void transformer_backward(void *self, real *dx, const real *dy, int B, int T)
{
    /* dx (B,T,C) or NULL, dy (B,T,C) */
    Transformer *tf = self;
    assert(B == tf->last_B && T == tf->last_T && "backward of a different forward");
    int C = tf->C;
    BodyPass bp = {tf, NULL, NULL, dx, dy, B, T, split_parts(tf, B, T)};
    parallel_run(bp.parts, backward_span, &bp);
    /* the spans' private parameter gradients join the real ones, a slice of
     * the buffer on each thread */
    parallel_join(tf->grad_base, tf->part_grads, tf->grad_len, bp.parts);
    /* ||dL/dx_t|| over the batch: dL/dx = dL/dx_0 since x_0 = x + P */
    for (int t = 0; t < T; t++) {
        double ss = 0;
        for (int b = 0; b < B; b++) ss += vecmath_sumsq(tf->dres + ((size_t)b * T + t) * C, (size_t)C);
        tf->x_grad_norm[t] = (real)sqrt(ss);
    }
    tf->have_grad_norms = 1;
}

/* ===================== stepping with a key/value cache =====================
 * Generation feeds one token at a time.  Row t of causal attention needs
 * q_t and the keys and values of positions 0 .. t, and those of the earlier
 * positions never change (they only saw their own past).  So each block
 * keeps k and v of every position it has seen, and a new token costs one
 * row of every linear layer plus O(t) for its attention: O(T) per token
 * instead of recomputing the whole prefix. */

static void transformer_state_reset(void *self, int B)
{
    Transformer *tf = self;
    assert(tf->kcache && "alloc_acts before state_reset");
    assert(B <= tf->Bmax);
    tf->step_B = B;
    tf->step_t = 0;
}

static void transformer_step(void *self, real *y, const real *x, int B)
{
    /* y (B,C), x (B,C) the input at position t = step_t */
    Transformer *tf = self;
    int C = tf->C, F = tf->F, t = tf->step_t;
    assert(B == tf->step_B && "state_reset with this B first");
    if (!tf->causal) {
        /* an encoder's position t depends on later tokens: there is no step */
        fprintf(stderr, "transformer_step: an encoder (non-causal) Transformer cannot "
                        "generate one token at a time\n");
        abort();
    }
    int limit = tf->Tmax;
    if (tf->positions == POSITIONS_LEARNED && tf->max_seq_len < limit) limit = tf->max_seq_len;
    if (t >= limit) {
        fprintf(stderr, "transformer_step: position %d is beyond the key/value cache "
                        "(%d positions: max_seq_len / the T given to alloc_acts)\n", t, limit);
        abort();
    }
    /* x_0 = x + P[t] */
    const real *P = position_rows(tf);
    for (int b = 0; b < B; b++)
        for (int c = 0; c < C; c++)
            tf->s_x[(size_t)b * C + c] = x[(size_t)b * C + c] + (P ? P[(size_t)t * C + c] : 0);
    size_t cache_layer = (size_t)tf->Bmax * tf->Tmax * C;
    for (int l = 0; l < tf->L; l++) {
        const BlockParams *w = &tf->w[l];
        real *kc = tf->kcache + l * cache_layer;    /* (Bmax,Tmax,C) */
        real *vc = tf->vcache + l * cache_layer;    /* (Bmax,Tmax,C) */
        /* [q | k | v] = ln1(x) W_qkv^T + b_qkv, for this position only */
        layernorm_forward(tf->s_ln, tf->s_mean, tf->s_rstd, tf->s_x, w->ln1_w, w->ln1_b, B, C);
        linear_forward(tf->s_qkv, tf->s_ln, w->qkv_w, w->qkv_b, B, C, 3 * C);
        /* append k_t, v_t to the cache */
        for (int b = 0; b < B; b++) {
            size_t at = ((size_t)b * tf->Tmax + t) * C;
            memcpy(kc + at, tf->s_qkv + (size_t)b * 3 * C + C, (size_t)C * sizeof(real));
            memcpy(vc + at, tf->s_qkv + (size_t)b * 3 * C + 2 * C, (size_t)C * sizeof(real));
        }
        /* att = row t of causal attention, against the cached k, v */
        attention_step(tf->s_att, tf->s_scores, tf->s_qkv, 3 * C, kc, vc, B, t, tf->Tmax, C,
                       tf->NH);
        /* a = x + att W_proj^T + b_proj */
        linear_forward(tf->s_tmp, tf->s_att, w->proj_w, w->proj_b, B, C, C);
        real_axpy((size_t)B * C, 1, tf->s_tmp, tf->s_x);
        /* x' = a + gelu(ln2(a) W_fc^T + b_fc) W_mproj^T + b_mproj */
        layernorm_forward(tf->s_ln, tf->s_mean, tf->s_rstd, tf->s_x, w->ln2_w, w->ln2_b, B, C);
        linear_forward(tf->s_fc, tf->s_ln, w->fc_w, w->fc_b, B, C, F);
        gelu_forward(tf->s_gelu, tf->s_fc, (size_t)B * F);
        linear_forward(tf->s_tmp, tf->s_gelu, w->mproj_w, w->mproj_b, B, F, C);
        real_axpy((size_t)B * C, 1, tf->s_tmp, tf->s_x);
    }
    /* y = ln_f(x_L) */
    layernorm_forward(y, tf->s_mean, tf->s_rstd, tf->s_x, tf->lnf_w, tf->lnf_b, B, C);
    tf->step_t++;
}

/* ======================= creation and memory ============================== */

/* The registry's settings check (core/registry.c): the shapes a Transformer
 * can have.  The messages name the settings, which are also the metadata
 * keys. */
int transformer_check_config(const ModelConfig *cfg, char *err, size_t errlen)
{
    if (cfg->embed_dim != cfg->hidden_size) {
        snprintf(err, errlen, "embed_dim (%d) must equal hidden_size (%d) for the transformer (both are C)",
                 cfg->embed_dim, cfg->hidden_size);
        return -1;
    }
    if (cfg->num_heads <= 0 || cfg->hidden_size % cfg->num_heads != 0) {
        snprintf(err, errlen, "num_heads (%d) must divide hidden_size (%d)", cfg->num_heads, cfg->hidden_size);
        return -1;
    }
    return 0;
}

static void *transformer_create(const ModelConfig *cfg, ParamSet *ps, int *H)
{
    int C = cfg->embed_dim;
    if (C <= 0) die("transformer: embed_dim must be positive (got %d)", C);
    if (cfg->hidden_size != C)
        die("transformer: embed_dim (%d) and hidden_size (%d) must be equal: both are the width C",
            C, cfg->hidden_size);
    if (cfg->num_heads <= 0 || C % cfg->num_heads != 0)
        die("transformer: num_heads (%d) must divide embed_dim (%d)", cfg->num_heads, C);
    if (cfg->num_layers <= 0) die("transformer: num_layers must be positive (got %d)", cfg->num_layers);
    if (cfg->ffn_size < 0) die("transformer: ffn_size must be >= 0 (0 means 4 * embed_dim)");
    if (cfg->positions == POSITIONS_LEARNED && cfg->max_seq_len <= 0)
        die("transformer: learned positions need max_seq_len > 0");
    Transformer *tf = xcalloc(1, sizeof *tf);
    tf->C = C;
    tf->NH = cfg->num_heads;
    tf->dk = C / tf->NH;
    tf->F = cfg->ffn_size > 0 ? cfg->ffn_size : 4 * C;
    tf->L = cfg->num_layers;
    tf->max_seq_len = cfg->max_seq_len;
    tf->positions = cfg->positions;
    tf->online = cfg->attention_impl == ATTENTION_IMPL_ONLINE;
    tf->causal = cfg->architecture != ARCH_ENCODER;   /* the encoder attends both ways */
    tf->idx_pos = -1;
    if (tf->positions == POSITIONS_LEARNED)
        tf->idx_pos = params_add2(ps, "pos.weight", tf->max_seq_len, C);
    tf->idx_block = xcalloc((size_t)tf->L, sizeof *tf->idx_block);
    for (int l = 0; l < tf->L; l++) {
        /* shapes in the order of block_tensor_names */
        int rows[BLOCK_TENSORS] = {C, C, 3 * C, 3 * C, C, C, C, C, tf->F, tf->F, C, C};
        int cols[BLOCK_TENSORS] = {0, 0, C, 0, C, 0, 0, 0, C, 0, tf->F, 0};
        for (int k = 0; k < BLOCK_TENSORS; k++) {
            char name[PARAM_NAME_MAX];
            snprintf(name, sizeof name, "blocks.%d.%s", l, block_tensor_names[k]);
            tf->idx_block[l][k] = cols[k] ? params_add2(ps, name, rows[k], cols[k])
                                          : params_add1(ps, name, rows[k]);
        }
    }
    tf->idx_lnf_w = params_add1(ps, "ln_f.weight", C);
    tf->idx_lnf_b = params_add1(ps, "ln_f.bias", C);
    *H = C;
    return tf;
}

static void transformer_bind(void *self, ParamSet *ps)
{
    Transformer *tf = self;
    if (!tf->w) {
        tf->w = xcalloc((size_t)tf->L, sizeof *tf->w);
        tf->g = xcalloc((size_t)tf->L, sizeof *tf->g);
    }
    for (int l = 0; l < tf->L; l++) {
        real **wf[BLOCK_TENSORS], **gf[BLOCK_TENSORS];
        block_fields(&tf->w[l], wf);
        block_fields(&tf->g[l], gf);
        for (int k = 0; k < BLOCK_TENSORS; k++) {
            *wf[k] = params_value(ps, tf->idx_block[l][k]);
            *gf[k] = params_grad(ps, tf->idx_block[l][k]);
        }
    }
    if (tf->idx_pos >= 0) {
        tf->pos_w = params_value(ps, tf->idx_pos);
        tf->pos_g = params_grad(ps, tf->idx_pos);
    }
    tf->lnf_w = params_value(ps, tf->idx_lnf_w);
    tf->lnf_b = params_value(ps, tf->idx_lnf_b);
    tf->lnf_gw = params_grad(ps, tf->idx_lnf_w);
    tf->lnf_gb = params_grad(ps, tf->idx_lnf_b);
    /* the body's tensors were registered one after another: pos.weight (if
     * any), the blocks, ln_f.  Their gradients are one slice of the buffer. */
    tf->grad_base = params_grad(ps, tf->idx_pos >= 0 ? tf->idx_pos : tf->idx_block[0][0]);
    tf->grad_len = (size_t)(tf->lnf_gb + tf->C - tf->grad_base);
}

/* the same tensor's place in another buffer laid out like the body's slice */
static real *shifted(const Transformer *tf, real *in_grad, real *base)
{
    return in_grad ? base + (in_grad - tf->grad_base) : NULL;
}

/* span_grads: span 0 accumulates into the real gradients, span p > 0 into
 * its private slice of part_grads, laid out the same */
static void bind_span_grads(Transformer *tf)
{
    for (int p = 0; p < tf->max_parts; p++) {
        BodyGrads *g = &tf->span_grads[p];
        g->blocks = tf->span_blocks + (size_t)p * tf->L;
        real *base = p == 0 ? tf->grad_base : tf->part_grads + (size_t)(p - 1) * tf->grad_len;
        for (int l = 0; l < tf->L; l++) {
            real **from[BLOCK_TENSORS], **to[BLOCK_TENSORS];
            block_fields(&tf->g[l], from);
            block_fields(&g->blocks[l], to);
            for (int k = 0; k < BLOCK_TENSORS; k++) *to[k] = shifted(tf, *from[k], base);
        }
        g->pos_g = shifted(tf, tf->pos_g, base);
        g->lnf_gw = shifted(tf, tf->lnf_gw, base);
        g->lnf_gb = shifted(tf, tf->lnf_gb, base);
    }
}

static void fill_uniform(real *v, size_t n, double k, gsl_rng *rng)
{
    for (size_t i = 0; i < n; i++) v[i] = (real)((2 * gsl_rng_uniform(rng) - 1) * k);
}

static void fill_const(real *v, size_t n, real c)
{
    for (size_t i = 0; i < n; i++) v[i] = c;
}

static void transformer_init(void *self, ParamSet *ps, gsl_rng *rng)
{
    (void)ps;
    Transformer *tf = self;
    size_t C = (size_t)tf->C, F = (size_t)tf->F;
    /* pos.weight ~ N(0, 0.02^2) */
    if (tf->pos_w)
        for (size_t i = 0; i < (size_t)tf->max_seq_len * C; i++)
            tf->pos_w[i] = (real)gsl_ran_gaussian_ziggurat(rng, POS_INIT_STD);
    /* nn.Linear: weight and bias ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in));
     * nn.LayerNorm: weight 1, bias 0 */
    double kC = 1.0 / sqrt((double)C), kF = 1.0 / sqrt((double)F);
    for (int l = 0; l < tf->L; l++) {
        BlockParams *w = &tf->w[l];
        fill_const(w->ln1_w, C, 1);
        fill_const(w->ln1_b, C, 0);
        fill_uniform(w->qkv_w, 3 * C * C, kC, rng);
        fill_uniform(w->qkv_b, 3 * C, kC, rng);
        fill_uniform(w->proj_w, C * C, kC, rng);
        fill_uniform(w->proj_b, C, kC, rng);
        fill_const(w->ln2_w, C, 1);
        fill_const(w->ln2_b, C, 0);
        fill_uniform(w->fc_w, F * C, kC, rng);
        fill_uniform(w->fc_b, F, kC, rng);
        fill_uniform(w->mproj_w, C * F, kF, rng);
        fill_uniform(w->mproj_b, C, kF, rng);
    }
    fill_const(tf->lnf_w, C, 1);
    fill_const(tf->lnf_b, C, 0);
}

/* a zeroed array of n reals, counted in tf->bytes */
static real *acts_array(Transformer *tf, size_t n)
{
    tf->bytes += n * sizeof(real);
    return xcalloc(n, sizeof(real));
}

/* memory for `parts` spans of the batch split: each needs its own
 * attention scratch, and spans 1 .. a private copy of the body's parameter
 * gradients.  Called by alloc_acts and, to grow, by transformer_set_parts. */
static void size_split(Transformer *tf, int parts)
{
    if (parts > PARALLEL_MAX_PARTS) parts = PARALLEL_MAX_PARTS;
    if (parts < 1) parts = 1;
    size_t TT = tf->scratch_len;
    if (tf->dscores) {
        tf->bytes -= ((size_t)tf->max_parts * TT + (size_t)(tf->max_parts - 1) * tf->grad_len) * sizeof(real);
        free(tf->dscores);
        free(tf->part_grads);
        free(tf->span_grads);
        free(tf->span_blocks);
    }
    tf->max_parts = parts;
    tf->dscores = acts_array(tf, (size_t)parts * TT);
    tf->part_grads = acts_array(tf, (size_t)(parts - 1) * tf->grad_len);
    tf->span_grads = xcalloc((size_t)parts, sizeof *tf->span_grads);
    tf->span_blocks = xcalloc((size_t)parts * tf->L, sizeof *tf->span_blocks);
    bind_span_grads(tf);
}

static void transformer_alloc_acts(void *self, int B, int T)
{
    Transformer *tf = self;
    assert(tf->resid == NULL && "alloc_acts called twice");
    assert(B > 0 && T > 0);
    if (tf->positions == POSITIONS_LEARNED && T > tf->max_seq_len)
        die("transformer: sequence length %d exceeds max_seq_len %d (learned positions "
            "have no row past it)", T, tf->max_seq_len);
    tf->Bmax = B;
    tf->Tmax = T;
    size_t N = (size_t)B * T, C = (size_t)tf->C, F = (size_t)tf->F, L = (size_t)tf->L;
    size_t NH = (size_t)tf->NH;
    if (tf->positions == POSITIONS_SINUSOIDAL) {
        tf->pos_table = acts_array(tf, (size_t)T * C);
        positions_sinusoidal(tf->pos_table, T, tf->C);
    }
    /* saved by forward for backward: O(L N (C + F)) ... */
    tf->resid = acts_array(tf, (L + 1) * N * C);
    tf->ln1 = acts_array(tf, L * N * C);
    tf->ln2 = acts_array(tf, L * N * C);
    tf->att = acts_array(tf, L * N * C);
    tf->a = acts_array(tf, L * N * C);
    tf->ln1_mean = acts_array(tf, L * N);
    tf->ln1_rstd = acts_array(tf, L * N);
    tf->ln2_mean = acts_array(tf, L * N);
    tf->ln2_rstd = acts_array(tf, L * N);
    tf->qkv = acts_array(tf, L * N * 3 * C);
    tf->fc = acts_array(tf, L * N * F);
    tf->gelu = acts_array(tf, L * N * F);
    tf->lnf_mean = acts_array(tf, N);
    tf->lnf_rstd = acts_array(tf, N);
    /* ... plus O(L B NH T^2): the attention probabilities of every layer;
     * online attention keeps two numbers per row instead, O(L B NH T) */
    if (tf->online) {
        tf->att_m = acts_array(tf, L * (size_t)B * NH * T);
        tf->att_l = acts_array(tf, L * (size_t)B * NH * T);
    } else {
        tf->probs = acts_array(tf, L * (size_t)B * NH * (size_t)T * T);
    }
    /* backward workspaces: one layer's worth, reused by every layer */
    tf->dres = acts_array(tf, N * C);
    tf->dln = acts_array(tf, N * C);
    tf->datt = acts_array(tf, N * C);
    tf->dqkv = acts_array(tf, N * 3 * C);
    tf->dmlp = acts_array(tf, N * F);
    /* each span's attention workspace: a (T,T) dP / dS, or two tiles and a row */
    tf->scratch_len = tf->online ? attention_online_scratch_len(T) : (size_t)T * T;
    /* the batch split: as many spans as there are cores, at most one per
     * sequence (transformer_set_parts may ask for more) */
    size_split(tf, parallel_cores() < B ? parallel_cores() : B);
    tf->x_grad_norm = acts_array(tf, (size_t)T);
    /* stepping: the KV cache is O(L B T C), the rest one position */
    tf->kcache = acts_array(tf, L * N * C);
    tf->vcache = acts_array(tf, L * N * C);
    tf->s_x = acts_array(tf, (size_t)B * C);
    tf->s_ln = acts_array(tf, (size_t)B * C);
    tf->s_att = acts_array(tf, (size_t)B * C);
    tf->s_tmp = acts_array(tf, (size_t)B * C);
    tf->s_mean = acts_array(tf, (size_t)B);
    tf->s_rstd = acts_array(tf, (size_t)B);
    tf->s_qkv = acts_array(tf, (size_t)B * 3 * C);
    tf->s_fc = acts_array(tf, (size_t)B * F);
    tf->s_gelu = acts_array(tf, (size_t)B * F);
    tf->s_scores = acts_array(tf, (size_t)T);
}

static void transformer_free(void *self)
{
    Transformer *tf = self;
    if (!tf) return;
    real *arrays[] = {tf->pos_table, tf->resid, tf->ln1, tf->ln2, tf->att, tf->a,
                      tf->ln1_mean, tf->ln1_rstd, tf->ln2_mean, tf->ln2_rstd, tf->qkv,
                      tf->fc, tf->gelu, tf->lnf_mean, tf->lnf_rstd, tf->probs, tf->att_m, tf->att_l, tf->dres,
                      tf->dln, tf->datt, tf->dqkv, tf->dmlp, tf->dscores,
                      tf->x_grad_norm, tf->kcache, tf->vcache, tf->s_x, tf->s_ln,
                      tf->s_att, tf->s_tmp, tf->s_mean, tf->s_rstd, tf->s_qkv, tf->s_fc,
                      tf->s_gelu, tf->s_scores, tf->part_grads};
    for (size_t i = 0; i < sizeof arrays / sizeof arrays[0]; i++) free(arrays[i]);
    free(tf->span_grads);
    free(tf->span_blocks);
    free(tf->idx_block);
    free(tf->w);
    free(tf->g);
    free(tf);
}

static size_t transformer_act_bytes(const void *self)
{
    return ((const Transformer *)self)->bytes;
}

/* what attention keeps for backward: the probabilities (L,B,NH,T,T), or
 * with online attention each row's max and sum (L,B,NH,T) twice */
static size_t transformer_attention_bytes(const void *self)
{
    const Transformer *tf = self;
    size_t rows = (size_t)tf->L * tf->Bmax * tf->NH * (size_t)tf->Tmax;
    return (tf->online ? 2 : (size_t)tf->Tmax) * rows * sizeof(real);
}

static double transformer_flops(const void *self, int B, int T)
{
    /* matrix products of one forward, 2*M*N*K each, per layer:
     *   qkv 2 N C (3C), proj 2 N C C, fc 2 N C F, mlp.proj 2 N F C, and attention's
     *   Q K^T and P V: about 2 B NH T T dk each, minus the masked row blocks that
     *   attention_forward skips (attention_flops) */
    const Transformer *tf = self;
    double N = (double)B * T, C = tf->C, F = tf->F;
    double per_layer = 2 * N * C * 3 * C + attention_flops(B, T, tf->C, tf->NH, tf->causal) +
                       2 * N * C * C + 2 * N * C * F * 2;
    return tf->L * per_layer;
}

static int transformer_grad_norms(void *self, const char *const **names, const real **norms)
{
    static const char *const series[] = {"x"};
    Transformer *tf = self;
    if (!tf->have_grad_norms) return 0;
    *names = series;
    *norms = tf->x_grad_norm;
    return 1;
}

/* ============================ introspection =============================== */

int transformer_attention(const void *body, const real **weights, int *L, int *NH, int *B, int *T)
{
    const Transformer *tf = body;
    if (tf->last_T == 0 || !tf->probs) return -1;
    *weights = tf->probs;
    *L = tf->L;
    *NH = tf->NH;
    *B = tf->last_B;
    *T = tf->last_T;
    return 0;
}

void transformer_position_table(const void *body, real *P, int T)
{
    /* P (T,C) */
    const Transformer *tf = body;
    size_t n = (size_t)T * tf->C;
    switch (tf->positions) {
    case POSITIONS_SINUSOIDAL:
        positions_sinusoidal(P, T, tf->C);
        break;
    case POSITIONS_LEARNED:
        assert(T <= tf->max_seq_len && tf->pos_w);
        memcpy(P, tf->pos_w, n * sizeof(real));
        break;
    case POSITIONS_NONE:
        memset(P, 0, n * sizeof(real));
        break;
    }
}

static void transformer_set_lengths(void *self, const int *lengths)
{
    Transformer *tf = self;
    tf->lengths = lengths;
}

const BodyOps transformer_body_ops = {
    .create = transformer_create,
    .bind = transformer_bind,
    .init = transformer_init,
    .alloc_acts = transformer_alloc_acts,
    .forward = transformer_forward,
    .backward = transformer_backward,
    .state_reset = transformer_state_reset,
    .step = transformer_step,
    .grad_norms = transformer_grad_norms,
    .attention = transformer_attention,
    .position_table = transformer_position_table,
    .act_bytes = transformer_act_bytes,
    .attention_bytes = transformer_attention_bytes,
    .flops = transformer_flops,
    .set_lengths = transformer_set_lengths,
    .free = transformer_free,
};

void transformer_set_parts(void *body, int parts)
{
    Transformer *tf = body;
    assert(parts >= 0);
    tf->parts = parts;
    if (tf->resid && parts > tf->max_parts && parts <= tf->Bmax) size_split(tf, parts);
}
