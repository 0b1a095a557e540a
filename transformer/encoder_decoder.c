/*
 * encoder_decoder.c — the Transformer of "Attention Is All You Need"
 * (Vaswani et al. 2017), in the pre-LayerNorm form of transformer.c: an
 * encoder reads the whole source at once, a decoder writes the target one
 * token at a time, looking at the source through cross-attention.
 *
 *     encoder (source, no mask in time; padding masked):
 *         e_0 = src_embed[src] + P
 *         a       = e_l + proj(attn(ln1(e_l)))               every s sees every real s'
 *         e_{l+1} = a + mlp(ln2(a))
 *         m = encoder.ln_f(e_L)                               the memory (B,S,C)
 *     decoder (target, causal):
 *         x_0 = tgt_embed[tgt_in] + P                         positions from 0 at <bos>
 *         a       = x_l + self_attn.proj(causal_attn(ln1(x_l)))
 *         a2      = a + cross_attn.proj(attn(q = ln2(a) W_q^T,   [k | v] = m W_kv^T))
 *         x_{l+1} = a2 + mlp(ln3(a2))
 *         y = decoder.ln_f(x_L);  logits = head(y)
 *
 * Cross-attention is the bridge: every target position asks every source
 * position, so no single vector has to carry the sentence (the bottleneck
 * of the recurrent encoder–decoder without attention, recurrent_encdec.c).
 *
 * Sections: parameters (docs/design.md's names) / activations / encoder forward /
 * decoder forward / the batch split / backward (the forward's lines in
 * reverse) / decoding with a key/value cache / the EncDecOps table.
 *
 * What this file is not: the math of attention (attention.c: causal;
 * cross_attention.c: source and bidirectional), LayerNorm, GELU, positions,
 * or the loss (core/model.c).
 *
 * Threads: every line above works on each pair of the batch alone (a
 * target attends to its own source only); only the parameter gradients are
 * shared.  So, as in transformer.c, with P threads the batch is split into
 * P spans of pairs, each running the encoder and then the decoder, forward
 * and backward, for its pairs on its own thread with single-threaded BLAS
 * (core/parallel.h); spans 1 .. P-1 accumulate parameter gradients into
 * private buffers, added to the real ones at the end of the backward.  The
 * reference build (`make REFERENCE=1`) keeps the whole batch in one span,
 * on the calling thread.
 *
 * Shapes: B batch, S source length, T target length, C width, NH heads,
 * F MLP width, L layers (each side), O target classes (V_t + 2), Ns = B*S and
 * Nt = B*T rows.  Arrays are packed for the (B,S,T) of each call.
 */
#include "transformer.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_randist.h>

#include "encdec.h"
#include "model.h"
#include "parallel.h"
#include "util.h"
#include "vecmath.h"

/* standard deviation of a learned position table at initialisation (GPT-2's) */
#define POS_INIT_STD 0.02

/* ============================== parameters ================================ */

/* one encoder block: transformer.c's block, under encoder.blocks.{i}. */
enum {
    E_LN1_W, E_LN1_B, E_QKV_W, E_QKV_B, E_PROJ_W, E_PROJ_B, E_LN2_W, E_LN2_B,
    E_FC_W, E_FC_B, E_MPROJ_W, E_MPROJ_B, ENC_TENSORS
};
static const char *const enc_names[ENC_TENSORS] = {
    "ln1.weight", "ln1.bias", "attn.qkv.weight", "attn.qkv.bias", "attn.proj.weight",
    "attn.proj.bias", "ln2.weight", "ln2.bias", "mlp.fc.weight", "mlp.fc.bias",
    "mlp.proj.weight", "mlp.proj.bias",
};

/* one decoder block, under decoder.blocks.{i}. */
enum {
    D_LN1_W, D_LN1_B, D_QKV_W, D_QKV_B, D_PROJ_W, D_PROJ_B, D_LN2_W, D_LN2_B,
    D_XQ_W, D_XQ_B, D_XKV_W, D_XKV_B, D_XPROJ_W, D_XPROJ_B, D_LN3_W, D_LN3_B,
    D_FC_W, D_FC_B, D_MPROJ_W, D_MPROJ_B, DEC_TENSORS
};
static const char *const dec_names[DEC_TENSORS] = {
    "ln1.weight", "ln1.bias", "self_attn.qkv.weight", "self_attn.qkv.bias",
    "self_attn.proj.weight", "self_attn.proj.bias", "ln2.weight", "ln2.bias",
    "cross_attn.q.weight", "cross_attn.q.bias", "cross_attn.kv.weight", "cross_attn.kv.bias",
    "cross_attn.proj.weight", "cross_attn.proj.bias", "ln3.weight", "ln3.bias",
    "mlp.fc.weight", "mlp.fc.bias", "mlp.proj.weight", "mlp.proj.bias",
};

typedef struct TransformerEncDec {
    /* ---- config ---- */
    int C, NH, F, L;
    int Vs, O;                  /* source vocabulary, target classes */
    int max_seq_len;            /* rows of the learned position tables */
    Positions positions;

    /* ---- parameters: indices into ps (values and gradients alike) ---- */
    ParamSet *ps;
    int idx_src_embed, idx_src_pos, idx_tgt_embed, idx_tgt_pos;  /* pos: -1 unless learned */
    int (*idx_enc)[ENC_TENSORS];    /* (L) */
    int (*idx_dec)[DEC_TENSORS];    /* (L) */
    int idx_elnf_w, idx_elnf_b, idx_dlnf_w, idx_dlnf_b, idx_head_w, idx_head_b;

    /* ---- activations, sized for (Bmax,Smax,Tmax) ---- */
    int Bmax, Smax, Tmax;
    size_t bytes;
    real *pos_table;            /* (max(S,T),C) sinusoidal */
    /* encoder */
    real *e_res;                /* (L+1,Ns,C) residual stream e_0 .. e_L */
    real *e_ln1, *e_att, *e_a, *e_ln2;             /* (L,Ns,C) each */
    real *e_mean1, *e_rstd1, *e_mean2, *e_rstd2;   /* (L,Ns) each */
    real *e_qkv;                /* (L,Ns,3C) */
    real *e_probs;              /* (L,B,NH,S,S) */
    real *e_fc, *e_gelu;        /* (L,Ns,F) each; e_fc after the GELU its slope */
    real *mem;                  /* (Ns,C) encoder.ln_f(e_L) */
    real *mem_mean, *mem_rstd;  /* (Ns) */
    /* decoder */
    real *d_res;                /* (L+1,Nt,C) x_0 .. x_L */
    real *d_ln1, *d_att, *d_a, *d_ln2, *d_xq, *d_xatt, *d_a2, *d_ln3;   /* (L,Nt,C) each */
    real *d_mean1, *d_rstd1, *d_mean2, *d_rstd2, *d_mean3, *d_rstd3;    /* (L,Nt) each */
    real *d_qkv;                /* (L,Nt,3C) */
    real *d_probs;              /* (L,B,NH,T,T) causal self-attention */
    real *d_xkv;                /* (L,Ns,2C) [k | v] of the memory, per layer */
    real *d_xprobs;             /* (L,B,NH,T,S) cross-attention: the alignment */
    real *d_fc, *d_gelu;        /* (L,Nt,F) each; d_fc after the GELU its slope */
    real *y;                    /* (Nt,C) decoder.ln_f(x_L) */
    real *y_mean, *y_rstd;      /* (Nt) */
    int last_B, last_S, last_T;
    /* backward workspaces (the forward's embeddings pass through g_eres, g_dres) */
    real *g_y, *g_dres, *g_xq;  /* (Nt,C) each */
    real *g_eres, *g_mem;       /* (Ns,C) each */
    real *g_xkv;                /* (Ns,2C) */
    real *g_ln, *g_att;         /* (B max(S,T),C) each */
    real *g_qkv;                /* (B max(S,T),3C) */
    real *g_mlp;                /* (B max(S,T),F) dL/du, then in place dL/df (u = gelu(f)) */
    real *scratch;              /* (max_parts,scratch_len) per span: one head's dP / dS */
    size_t scratch_len;         /* max(S,T)^2 */

    /* ---- the batch split ---- */
    int parts;                  /* spans to split a batch into; 0: one per BLAS thread */
    int max_parts;              /* spans alloc_acts sized the workspaces for */
    size_t grad_off, grad_len;  /* the model's tensors in ps->grad (src_embed .. head.bias) */
    real *part_grads;           /* (max_parts-1, grad_len) spans 1 .. accumulate here */

    /* ---- decoding: self-attention key/value cache, one-position buffers ---- */
    real *kcache, *vcache;      /* (L,Bmax,Tmax,C) */
    real *s_x, *s_ln, *s_att, *s_tmp, *s_q;   /* (Bmax,C) each */
    real *s_mean, *s_rstd;      /* (Bmax) */
    real *s_qkv;                /* (Bmax,3C) */
    real *s_fc, *s_gelu;        /* (Bmax,F) */
    real *s_scores;             /* (Tmax) */
    real *s_xprobs;             /* (Bmax,NH,Smax) */
    real *s_reorder;            /* (max(Bmax Tmax C, Bmax Smax 2C)) beam reordering */
    int *step_len, *step_len_tmp;   /* (Bmax) source lengths of the rows being decoded */
    int step_B, step_S, step_t;
} TransformerEncDec;

/* One span of the batch split: pairs [b0, b0 + nb) of a batch of B, run
 * the whole way through on one thread.  The activation arrays are packed
 * for the whole (B,S,T), so the span's rows of layer l start at pair b0
 * (src_rows, tgt_rows); its workspaces are its own rows of the shared
 * ones; its parameter gradients accumulate in `grad`. */
typedef struct Span {
    int B, S, T;                /* the whole batch's sizes */
    int b0, nb;                 /* the span's first pair and its number of pairs */
    const int *src_len;         /* (nb) the span's source lengths, or NULL (all S) */
    real *grad;                 /* (grad_len) laid out like the model's slice of ps->grad:
                                 * that slice (span 0) or a private copy */
    real *g_y, *g_dres, *g_xq;  /* (nb T,C) each */
    real *g_eres, *g_mem;       /* (nb S,C) each */
    real *g_xkv;                /* (nb S,2C) */
    real *g_ln, *g_att;         /* (nb max(S,T),C) each */
    real *g_qkv;                /* (nb max(S,T),3C) */
    real *g_mlp;                /* (nb max(S,T),F) dL/du, then in place dL/df */
    real *scratch;              /* (max(S,T)^2) */
} Span;

static real *P_val(const TransformerEncDec *m, int idx) { return params_value(m->ps, idx); }
/* tensor idx's gradient, where span sp accumulates it */
static real *P_grad(const TransformerEncDec *m, const Span *sp, int idx)
{
    return sp->grad + (m->ps->views[idx].offset - m->grad_off);
}
#define DW(l, k) P_val(m, m->idx_dec[l][k])
#define DG(l, k) P_grad(m, sp, m->idx_dec[l][k])

/* rows, cols of tensor k of an encoder (dec = 0) or decoder block */
static void block_shape(int dec, int k, int C, int F, int *rows, int *cols)
{
    static const int enc_r[ENC_TENSORS] = {1, 1, 3, 3, 1, 1, 1, 1, -1, -1, 1, 1};
    static const int enc_c[ENC_TENSORS] = {0, 0, 1, 0, 1, 0, 0, 0, 1, 0, -1, 0};
    static const int dec_r[DEC_TENSORS] = {1, 1, 3, 3, 1, 1, 1, 1, 1, 1, 2, 2, 1, 1, 1, 1,
                                           -1, -1, 1, 1};
    static const int dec_c[DEC_TENSORS] = {0, 0, 1, 0, 1, 0, 0, 0, 1, 0, 1, 0, 1, 0, 0, 0,
                                           1, 0, -1, 0};
    /* n > 0: n C;  -1: F;  cols 0: a vector */
    int r = dec ? dec_r[k] : enc_r[k], c = dec ? dec_c[k] : enc_c[k];
    *rows = r < 0 ? F : r * C;
    *cols = c < 0 ? F : c * C;
}

static void *ted_create(const ModelConfig *cfg, const void *cell, ParamSet *ps, char *err,
                        size_t errlen)
{
    (void)cell;
    int C = cfg->embed_dim;
    if (cfg->attention != ATTENTION_NONE) {
        snprintf(err, errlen, "attention = additive is for the recurrent models; the "
                              "Transformer's cross-attention is part of it (use attention = none)");
        return NULL;
    }
    if (C <= 0 || cfg->hidden_size != C || cfg->num_heads <= 0 || C % cfg->num_heads != 0 ||
        cfg->num_layers <= 0 || cfg->ffn_size < 0) {
        snprintf(err, errlen, "transformer: embed_dim = hidden_size > 0, num_heads dividing "
                              "it and num_layers > 0 are needed (got %d, %d, %d, %d)",
                 C, cfg->hidden_size, cfg->num_heads, cfg->num_layers);
        return NULL;
    }
    if (cfg->positions == POSITIONS_LEARNED && cfg->max_seq_len <= 0) {
        snprintf(err, errlen, "transformer: learned positions need max_seq_len > 0");
        return NULL;
    }
    TransformerEncDec *m = xcalloc(1, sizeof *m);
    m->C = C;
    m->NH = cfg->num_heads;
    m->F = cfg->ffn_size > 0 ? cfg->ffn_size : 4 * C;
    m->L = cfg->num_layers;
    m->Vs = cfg->vocab_size;
    m->O = cfg->output_size;
    m->max_seq_len = cfg->max_seq_len;
    m->positions = cfg->positions;
    int learned = m->positions == POSITIONS_LEARNED;
    m->idx_src_embed = params_add2(ps, "src_embed.weight", m->Vs, C);
    m->idx_src_pos = learned ? params_add2(ps, "src_pos.weight", m->max_seq_len, C) : -1;
    m->idx_enc = xcalloc((size_t)m->L, sizeof *m->idx_enc);
    m->idx_dec = xcalloc((size_t)m->L, sizeof *m->idx_dec);
    char name[PARAM_NAME_MAX];
    for (int l = 0; l < m->L; l++)
        for (int k = 0; k < ENC_TENSORS; k++) {
            int r, c;
            block_shape(0, k, C, m->F, &r, &c);
            snprintf(name, sizeof name, "encoder.blocks.%d.%s", l, enc_names[k]);
            m->idx_enc[l][k] = c ? params_add2(ps, name, r, c) : params_add1(ps, name, r);
        }
    m->idx_elnf_w = params_add1(ps, "encoder.ln_f.weight", C);
    m->idx_elnf_b = params_add1(ps, "encoder.ln_f.bias", C);
    m->idx_tgt_embed = params_add2(ps, "tgt_embed.weight", m->O, C);
    m->idx_tgt_pos = learned ? params_add2(ps, "tgt_pos.weight", m->max_seq_len, C) : -1;
    for (int l = 0; l < m->L; l++)
        for (int k = 0; k < DEC_TENSORS; k++) {
            int r, c;
            block_shape(1, k, C, m->F, &r, &c);
            snprintf(name, sizeof name, "decoder.blocks.%d.%s", l, dec_names[k]);
            m->idx_dec[l][k] = c ? params_add2(ps, name, r, c) : params_add1(ps, name, r);
        }
    m->idx_dlnf_w = params_add1(ps, "decoder.ln_f.weight", C);
    m->idx_dlnf_b = params_add1(ps, "decoder.ln_f.bias", C);
    m->idx_head_w = params_add2(ps, "head.weight", m->O, C);
    m->idx_head_b = params_add1(ps, "head.bias", m->O);
    return m;
}

static void ted_bind(void *self, ParamSet *ps)
{
    TransformerEncDec *m = self;
    m->ps = ps;
    /* the tensors were registered one after another, src_embed.weight first
     * and head.bias last: their gradients are one slice of the buffer */
    m->grad_off = ps->views[m->idx_src_embed].offset;
    m->grad_len = ps->views[m->idx_head_b].offset + ps->views[m->idx_head_b].size - m->grad_off;
}

static void fill_uniform(real *v, size_t n, double k, gsl_rng *rng)
{
    for (size_t i = 0; i < n; i++) v[i] = (real)((2 * gsl_rng_uniform(rng) - 1) * k);
}

static void fill_gaussian(real *v, size_t n, double sd, gsl_rng *rng)
{
    for (size_t i = 0; i < n; i++) v[i] = (real)gsl_ran_gaussian_ziggurat(rng, sd);
}

static void fill_const(real *v, size_t n, real c)
{
    for (size_t i = 0; i < n; i++) v[i] = c;
}

/* a block's tensors: a linear layer's weight (2-d) and the bias after it
 * U(-1/sqrt(fan_in), 1/sqrt(fan_in)) (nn.Linear's default); the other
 * vectors are LayerNorms: weight 1, bias 0 */
static void init_block(ParamSet *ps, const int *idx, int ntensors, gsl_rng *rng)
{
    for (int k = 0; k < ntensors; k++) {
        const ParamView *v = &ps->views[idx[k]];
        if (v->ndim == 2) {
            double bound = 1.0 / sqrt((double)v->shape[1]);
            fill_uniform(params_value(ps, idx[k]), v->size, bound, rng);
            fill_uniform(params_value(ps, idx[k + 1]), ps->views[idx[k + 1]].size, bound, rng);
            k++;
        } else {
            size_t n = strlen(v->name);
            int is_weight = n > 7 && strcmp(v->name + n - 7, ".weight") == 0;
            fill_const(params_value(ps, idx[k]), v->size, is_weight ? 1 : 0);
        }
    }
}

static void ted_init(void *self, ParamSet *ps, gsl_rng *rng)
{
    TransformerEncDec *m = self;
    size_t C = (size_t)m->C;
    /* nn.Embedding: N(0, 1); learned positions N(0, 0.02^2) */
    fill_gaussian(P_val(m, m->idx_src_embed), (size_t)m->Vs * C, 1.0, rng);
    if (m->idx_src_pos >= 0)
        fill_gaussian(P_val(m, m->idx_src_pos), (size_t)m->max_seq_len * C, POS_INIT_STD, rng);
    for (int l = 0; l < m->L; l++) init_block(ps, m->idx_enc[l], ENC_TENSORS, rng);
    fill_const(P_val(m, m->idx_elnf_w), C, 1);
    fill_const(P_val(m, m->idx_elnf_b), C, 0);
    fill_gaussian(P_val(m, m->idx_tgt_embed), (size_t)m->O * C, 1.0, rng);
    if (m->idx_tgt_pos >= 0)
        fill_gaussian(P_val(m, m->idx_tgt_pos), (size_t)m->max_seq_len * C, POS_INIT_STD, rng);
    for (int l = 0; l < m->L; l++) init_block(ps, m->idx_dec[l], DEC_TENSORS, rng);
    fill_const(P_val(m, m->idx_dlnf_w), C, 1);
    fill_const(P_val(m, m->idx_dlnf_b), C, 0);
    double k = 1.0 / sqrt((double)C);
    fill_uniform(P_val(m, m->idx_head_w), (size_t)m->O * C, k, rng);
    fill_uniform(P_val(m, m->idx_head_b), (size_t)m->O, k, rng);
}

/* ============================== activations =============================== */

static real *acts_array(TransformerEncDec *m, size_t n)
{
    m->bytes += n * sizeof(real);
    return xcalloc(n, sizeof(real));
}

/* memory for `parts` spans of the batch split: each needs its own
 * attention scratch, and spans 1 .. a private copy of the parameter
 * gradients.  Called by alloc_acts and, to grow, by
 * transformer_encdec_set_parts. */
static void size_split(TransformerEncDec *m, int parts)
{
    if (parts > PARALLEL_MAX_PARTS) parts = PARALLEL_MAX_PARTS;
    if (parts < 1) parts = 1;
    if (m->scratch) {
        m->bytes -= ((size_t)m->max_parts * m->scratch_len +
                     (size_t)(m->max_parts - 1) * m->grad_len) * sizeof(real);
        free(m->scratch);
        free(m->part_grads);
    }
    m->max_parts = parts;
    m->scratch = acts_array(m, (size_t)parts * m->scratch_len);
    m->part_grads = acts_array(m, (size_t)(parts - 1) * m->grad_len);
}

static void ted_alloc_acts(void *self, int B, int S, int T)
{
    TransformerEncDec *m = self;
    assert(m->e_res == NULL && "alloc_acts called twice");
    assert(B > 0 && S > 0 && T > 0);
    if (m->positions == POSITIONS_LEARNED && (S > m->max_seq_len || T > m->max_seq_len))
        die("transformer: sequence length %d exceeds max_seq_len %d (learned positions "
            "have no row past it)", S > T ? S : T, m->max_seq_len);
    m->Bmax = B;
    m->Smax = S;
    m->Tmax = T;
    size_t C = (size_t)m->C, F = (size_t)m->F, L = (size_t)m->L, NH = (size_t)m->NH;
    size_t Ns = (size_t)B * S, Nt = (size_t)B * T, Nx = Ns > Nt ? Ns : Nt;
    size_t TS = (size_t)(S > T ? S : T);
    if (m->positions == POSITIONS_SINUSOIDAL) {
        m->pos_table = acts_array(m, TS * C);
        positions_sinusoidal(m->pos_table, (int)TS, m->C);
    }
    m->e_res = acts_array(m, (L + 1) * Ns * C);
    m->e_ln1 = acts_array(m, L * Ns * C);
    m->e_att = acts_array(m, L * Ns * C);
    m->e_a = acts_array(m, L * Ns * C);
    m->e_ln2 = acts_array(m, L * Ns * C);
    m->e_mean1 = acts_array(m, L * Ns);
    m->e_rstd1 = acts_array(m, L * Ns);
    m->e_mean2 = acts_array(m, L * Ns);
    m->e_rstd2 = acts_array(m, L * Ns);
    m->e_qkv = acts_array(m, L * Ns * 3 * C);
    m->e_probs = acts_array(m, L * (size_t)B * NH * (size_t)S * S);
    m->e_fc = acts_array(m, L * Ns * F);
    m->e_gelu = acts_array(m, L * Ns * F);
    m->mem = acts_array(m, Ns * C);
    m->mem_mean = acts_array(m, Ns);
    m->mem_rstd = acts_array(m, Ns);
    m->d_res = acts_array(m, (L + 1) * Nt * C);
    real **dc[] = {&m->d_ln1, &m->d_att, &m->d_a, &m->d_ln2, &m->d_xq, &m->d_xatt, &m->d_a2,
                   &m->d_ln3};
    for (size_t i = 0; i < sizeof dc / sizeof dc[0]; i++) *dc[i] = acts_array(m, L * Nt * C);
    real **dn[] = {&m->d_mean1, &m->d_rstd1, &m->d_mean2, &m->d_rstd2, &m->d_mean3, &m->d_rstd3};
    for (size_t i = 0; i < sizeof dn / sizeof dn[0]; i++) *dn[i] = acts_array(m, L * Nt);
    m->d_qkv = acts_array(m, L * Nt * 3 * C);
    m->d_probs = acts_array(m, L * (size_t)B * NH * (size_t)T * T);
    m->d_xkv = acts_array(m, L * Ns * 2 * C);
    m->d_xprobs = acts_array(m, L * (size_t)B * NH * (size_t)T * S);
    m->d_fc = acts_array(m, L * Nt * F);
    m->d_gelu = acts_array(m, L * Nt * F);
    m->y = acts_array(m, Nt * C);
    m->y_mean = acts_array(m, Nt);
    m->y_rstd = acts_array(m, Nt);
    m->g_y = acts_array(m, Nt * C);
    m->g_dres = acts_array(m, Nt * C);
    m->g_xq = acts_array(m, Nt * C);
    m->g_eres = acts_array(m, Ns * C);
    m->g_mem = acts_array(m, Ns * C);
    m->g_xkv = acts_array(m, Ns * 2 * C);
    m->g_ln = acts_array(m, Nx * C);
    m->g_att = acts_array(m, Nx * C);
    m->g_qkv = acts_array(m, Nx * 3 * C);
    m->g_mlp = acts_array(m, Nx * F);
    /* the batch split: as many spans as there are cores, at most one per
     * pair (transformer_encdec_set_parts may ask for more) */
    m->scratch_len = TS * TS;
    size_split(m, parallel_cores() < B ? parallel_cores() : B);
    m->kcache = acts_array(m, L * Nt * C);
    m->vcache = acts_array(m, L * Nt * C);
    real **sc[] = {&m->s_x, &m->s_ln, &m->s_att, &m->s_tmp, &m->s_q};
    for (size_t i = 0; i < sizeof sc / sizeof sc[0]; i++) *sc[i] = acts_array(m, (size_t)B * C);
    m->s_mean = acts_array(m, (size_t)B);
    m->s_rstd = acts_array(m, (size_t)B);
    m->s_qkv = acts_array(m, (size_t)B * 3 * C);
    m->s_fc = acts_array(m, (size_t)B * F);
    m->s_gelu = acts_array(m, (size_t)B * F);
    m->s_scores = acts_array(m, (size_t)T);
    m->s_xprobs = acts_array(m, (size_t)B * NH * S);
    m->s_reorder = acts_array(m, Nt * C > Ns * 2 * C ? Nt * C : Ns * 2 * C);
    m->step_len = xcalloc((size_t)B, sizeof(int));
    m->step_len_tmp = xcalloc((size_t)B, sizeof(int));
    m->bytes += 2 * (size_t)B * sizeof(int);
}

/* the (T,C) table added on each side, or NULL for positions = none */
static const real *position_rows(const TransformerEncDec *m, int idx_learned)
{
    switch (m->positions) {
    case POSITIONS_SINUSOIDAL: return m->pos_table;
    case POSITIONS_LEARNED: return P_val(m, idx_learned);
    case POSITIONS_NONE: return NULL;
    }
    return NULL;
}

/* layer l's slice of an (L, rows, width) activation array */
static real *layer(real *base, int l, size_t rows, size_t width)
{
    return base + (size_t)l * rows * width;
}

/* the span's rows of layer l of an (L, B*S, width) array (the source side:
 * S rows a pair) and of an (L, B*T, width) array (the target side).  The
 * attention probabilities (L,B,NH,T,S) are (L, B*T, NH*S) arrays alike. */
static real *src_rows(const Span *sp, real *base, int l, size_t width)
{
    return base + ((size_t)l * sp->B + sp->b0) * sp->S * width;
}

static real *tgt_rows(const Span *sp, real *base, int l, size_t width)
{
    return base + ((size_t)l * sp->B + sp->b0) * sp->T * width;
}

/* span p of `parts` over a batch of (B,S,T): its pairs, lengths, gradients
 * and workspaces */
static Span span_of(TransformerEncDec *m, const int *src_len, int B, int S, int T, int parts,
                    int p)
{
    size_t C = (size_t)m->C, F = (size_t)m->F;
    Span sp = {.B = B, .S = S, .T = T};
    int b1;
    parallel_span(B, parts, p, &sp.b0, &b1);
    sp.nb = b1 - sp.b0;
    sp.src_len = src_len ? src_len + sp.b0 : NULL;
    sp.grad = p == 0 ? m->ps->grad + m->grad_off : m->part_grads + (size_t)(p - 1) * m->grad_len;
    size_t rs = (size_t)sp.b0 * S, rt = (size_t)sp.b0 * T;     /* first source, target row */
    size_t rx = (size_t)sp.b0 * (S > T ? S : T);               /* ... of the shared ones */
    sp.g_y = m->g_y + rt * C;
    sp.g_dres = m->g_dres + rt * C;
    sp.g_xq = m->g_xq + rt * C;
    sp.g_eres = m->g_eres + rs * C;
    sp.g_mem = m->g_mem + rs * C;
    sp.g_xkv = m->g_xkv + rs * 2 * C;
    sp.g_ln = m->g_ln + rx * C;
    sp.g_att = m->g_att + rx * C;
    sp.g_qkv = m->g_qkv + rx * 3 * C;
    sp.g_mlp = m->g_mlp + rx * F;
    sp.scratch = m->scratch + (size_t)p * m->scratch_len;
    return sp;
}

/* What one encoder layer's forward saves for its backward: the span's rows
 * (nb S of each; probs (nb,NH,S,S)) of layer l's arrays. */
typedef struct EncActs {
    real *x, *out;              /* e_l, e_{l+1} */
    real *ln1, *mean1, *rstd1, *qkv, *probs, *att, *a;
    real *ln2, *mean2, *rstd2, *fc, *gelu;
} EncActs;

static EncActs enc_acts(const TransformerEncDec *m, const Span *sp, int l)
{
    size_t C = (size_t)m->C, F = (size_t)m->F;
    EncActs s;
    s.x = src_rows(sp, m->e_res, l, C);
    s.out = src_rows(sp, m->e_res, l + 1, C);
    s.ln1 = src_rows(sp, m->e_ln1, l, C);
    s.mean1 = src_rows(sp, m->e_mean1, l, 1);
    s.rstd1 = src_rows(sp, m->e_rstd1, l, 1);
    s.qkv = src_rows(sp, m->e_qkv, l, 3 * C);
    s.probs = src_rows(sp, m->e_probs, l, (size_t)m->NH * sp->S);
    s.att = src_rows(sp, m->e_att, l, C);
    s.a = src_rows(sp, m->e_a, l, C);
    s.ln2 = src_rows(sp, m->e_ln2, l, C);
    s.mean2 = src_rows(sp, m->e_mean2, l, 1);
    s.rstd2 = src_rows(sp, m->e_rstd2, l, 1);
    s.fc = src_rows(sp, m->e_fc, l, F);
    s.gelu = src_rows(sp, m->e_gelu, l, F);
    return s;
}

/* ... and one decoder layer's: nb T rows of each, but xkv's nb S (the
 * memory's keys and values); probs (nb,NH,T,T), xprobs (nb,NH,T,S) */
typedef struct DecActs {
    real *x, *out;              /* x_l, x_{l+1} */
    real *ln1, *mean1, *rstd1, *qkv, *probs, *att, *a;
    real *ln2, *mean2, *rstd2, *xq, *xkv, *xprobs, *xatt, *a2;
    real *ln3, *mean3, *rstd3, *fc, *gelu;
} DecActs;

static DecActs dec_acts(const TransformerEncDec *m, const Span *sp, int l)
{
    size_t C = (size_t)m->C, F = (size_t)m->F, NH = (size_t)m->NH;
    DecActs s;
    s.x = tgt_rows(sp, m->d_res, l, C);
    s.out = tgt_rows(sp, m->d_res, l + 1, C);
    s.ln1 = tgt_rows(sp, m->d_ln1, l, C);
    s.mean1 = tgt_rows(sp, m->d_mean1, l, 1);
    s.rstd1 = tgt_rows(sp, m->d_rstd1, l, 1);
    s.qkv = tgt_rows(sp, m->d_qkv, l, 3 * C);
    s.probs = tgt_rows(sp, m->d_probs, l, NH * sp->T);
    s.att = tgt_rows(sp, m->d_att, l, C);
    s.a = tgt_rows(sp, m->d_a, l, C);
    s.ln2 = tgt_rows(sp, m->d_ln2, l, C);
    s.mean2 = tgt_rows(sp, m->d_mean2, l, 1);
    s.rstd2 = tgt_rows(sp, m->d_rstd2, l, 1);
    s.xq = tgt_rows(sp, m->d_xq, l, C);
    s.xkv = src_rows(sp, m->d_xkv, l, 2 * C);
    s.xprobs = tgt_rows(sp, m->d_xprobs, l, NH * sp->S);
    s.xatt = tgt_rows(sp, m->d_xatt, l, C);
    s.a2 = tgt_rows(sp, m->d_a2, l, C);
    s.ln3 = tgt_rows(sp, m->d_ln3, l, C);
    s.mean3 = tgt_rows(sp, m->d_mean3, l, 1);
    s.rstd3 = tgt_rows(sp, m->d_rstd3, l, 1);
    s.fc = tgt_rows(sp, m->d_fc, l, F);
    s.gelu = tgt_rows(sp, m->d_gelu, l, F);
    return s;
}

/* =================== the self-attention sub-block ==========================
 * The same in the encoder's and the decoder's layers, but for the mask:
 *   out = in + att W_proj^T + b_proj,  att = attention(q, k, v),
 *   [q | k | v] = ln(in) W_qkv^T + b_qkv
 * the decoder's causal, the encoder's over the real source words only
 * (attention.c / attention_fast.c, the decoder-only and BERT-style bodies'
 * functions).  w points at the layer's six indices ln.w, ln.b, qkv.w,
 * qkv.b, proj.w, proj.b, which stand in that order in both enums (E_LN1_W..,
 * D_LN1_W..); nb sequences of T positions; lengths (nb) or NULL. */
enum { ATT_LN_W, ATT_LN_B, ATT_QKV_W, ATT_QKV_B, ATT_PROJ_W, ATT_PROJ_B };

static void attn_forward(const TransformerEncDec *m, real *out, real *ln, real *mean, real *rstd,
                         real *qkv, real *att, real *probs, const real *in, const int *w,
                         int nb, int T, int causal, const int *lengths)
{
    /* out, ln, att, in (nb T,C); qkv (nb T,3C); probs (nb,NH,T,T); mean, rstd (nb T) */
    int C = m->C, N = nb * T;
    layernorm_forward(ln, mean, rstd, in, P_val(m, w[ATT_LN_W]), P_val(m, w[ATT_LN_B]), N, C);
    linear_forward(qkv, ln, P_val(m, w[ATT_QKV_W]), P_val(m, w[ATT_QKV_B]), N, C, 3 * C);
    attention_forward(att, probs, qkv, nb, T, C, m->NH, causal, lengths);
    linear_forward_residual(out, in, att, P_val(m, w[ATT_PROJ_W]), P_val(m, w[ATT_PROJ_B]), N,
                            C, C);
}

/* g_res holds dL/dout on entry and dL/din on return (the identity path plus
 * the sub-block's); the span's g_att, g_qkv, g_ln and scratch are the
 * scratch gradients */
static void attn_backward(const TransformerEncDec *m, const Span *sp, real *g_res,
                          const real *in, const real *ln, const real *mean, const real *rstd,
                          const real *qkv, const real *att, const real *probs, const int *w,
                          int nb, int T, int causal, const int *lengths)
{
    int C = m->C, N = nb * T;
    linear_backward_set(sp->g_att, P_grad(m, sp, w[ATT_PROJ_W]), P_grad(m, sp, w[ATT_PROJ_B]),
                        g_res, att, P_val(m, w[ATT_PROJ_W]), N, C, C);
    attention_backward_set(sp->g_qkv, sp->scratch, sp->g_att, qkv, probs, nb, T, C, m->NH, causal,
                           lengths);
    linear_backward_set(sp->g_ln, P_grad(m, sp, w[ATT_QKV_W]), P_grad(m, sp, w[ATT_QKV_B]),
                        sp->g_qkv, ln, P_val(m, w[ATT_QKV_W]), N, C, 3 * C);
    layernorm_backward(g_res, P_grad(m, sp, w[ATT_LN_W]), P_grad(m, sp, w[ATT_LN_B]), sp->g_ln, in,
                       P_val(m, w[ATT_LN_W]), mean, rstd, N, C);
}

/* ====================== the MLP sub-block of every layer ===================
 * The same in the encoder's and the decoder's layers:
 *   out = in + gelu(fc) W_mproj^T + b_mproj,  fc = ln(in) W_fc^T + b_fc
 * w points at the layer's six indices ln.w, ln.b, fc.w, fc.b, mproj.w,
 * mproj.b, which stand in that order in both enums (E_LN2_W.., D_LN3_W..). */
enum { MLP_LN_W, MLP_LN_B, MLP_FC_W, MLP_FC_B, MLP_PROJ_W, MLP_PROJ_B };

static void mlp_forward(const TransformerEncDec *m, real *out, real *ln, real *mean, real *rstd,
                        real *fc, real *gl, const real *in, const int *w, int N)
{
    /* out, ln, in (N,C); fc, gl (N,F); mean, rstd (N) */
    int C = m->C, F = m->F;
    layernorm_forward(ln, mean, rstd, in, P_val(m, w[MLP_LN_W]), P_val(m, w[MLP_LN_B]), N, C);
    /* u = gelu(f), f = ln W_fc^T + b_fc; f's array then keeps gelu'(f), all
     * the backward needs of it (gelu.c) */
    linear_forward(fc, ln, P_val(m, w[MLP_FC_W]), P_val(m, w[MLP_FC_B]), N, C, F);
    gelu_forward_slope(gl, fc, fc, (size_t)N * F);
    linear_forward_residual(out, in, gl, P_val(m, w[MLP_PROJ_W]), P_val(m, w[MLP_PROJ_B]), N,
                            F, C);
}

/* g_res holds dL/dout on entry and dL/din on return (the identity path plus
 * the MLP's); the span's g_ln, g_mlp are the scratch gradients; fc holds
 * gelu'(f), kept by the forward. */
static void mlp_backward(const TransformerEncDec *m, const Span *sp, real *g_res, const real *in,
                         const real *ln, const real *mean, const real *rstd, const real *fc,
                         const real *gl, const int *w, int N)
{
    int C = m->C, F = m->F;
    linear_backward_set(sp->g_mlp, P_grad(m, sp, w[MLP_PROJ_W]), P_grad(m, sp, w[MLP_PROJ_B]),
                        g_res, gl, P_val(m, w[MLP_PROJ_W]), N, F, C);
    gelu_backward_slope_set(sp->g_mlp, sp->g_mlp, fc, (size_t)N * F);   /* dL/df, in place */
    linear_backward_set(sp->g_ln, P_grad(m, sp, w[MLP_FC_W]), P_grad(m, sp, w[MLP_FC_B]),
                        sp->g_mlp, ln, P_val(m, w[MLP_FC_W]), N, C, F);
    layernorm_backward(g_res, P_grad(m, sp, w[MLP_LN_W]), P_grad(m, sp, w[MLP_LN_B]), sp->g_ln,
                       in, P_val(m, w[MLP_LN_W]), mean, rstd, N, C);
}

/* ============================ encoder forward ============================= */

/* the span's pairs: src (nb,S) their sources */
static void encoder_forward(TransformerEncDec *m, const Span *sp, const int *src)
{
    int C = m->C, S = sp->S, Ns = sp->nb * S;
    /* e_0 = src_embed[src] + P */
    embedding_forward(sp->g_eres, src, P_val(m, m->idx_src_embed), Ns, C);
    positions_forward(src_rows(sp, m->e_res, 0, C), sp->g_eres, position_rows(m, m->idx_src_pos),
                      sp->nb, S, C);
    for (int l = 0; l < m->L; l++) {
        EncActs s = enc_acts(m, sp, l);
        /* a = e_l + attention(ln1(e_l)) W_proj^T + b_proj: every position sees
         * every real source word (no causal mask; padding masked) */
        attn_forward(m, s.a, s.ln1, s.mean1, s.rstd1, s.qkv, s.att, s.probs, s.x,
                     &m->idx_enc[l][E_LN1_W], sp->nb, S, 0, sp->src_len);
        /* e_{l+1} = a + gelu(ln2(a) W_fc^T + b_fc) W_mproj^T + b_mproj */
        mlp_forward(m, s.out, s.ln2, s.mean2, s.rstd2, s.fc, s.gelu, s.a, &m->idx_enc[l][E_LN2_W],
                    Ns);
    }
    /* m = encoder.ln_f(e_L) */
    layernorm_forward(src_rows(sp, m->mem, 0, C), src_rows(sp, m->mem_mean, 0, 1),
                      src_rows(sp, m->mem_rstd, 0, 1), src_rows(sp, m->e_res, m->L, C),
                      P_val(m, m->idx_elnf_w), P_val(m, m->idx_elnf_b), Ns, C);
}

/* ============================ decoder forward ============================= */

/* the span's pairs: logits (nb,T,O), tgt_in (nb,T) */
static void decoder_forward(TransformerEncDec *m, const Span *sp, real *logits,
                            const int *tgt_in)
{
    int C = m->C, NH = m->NH, S = sp->S, T = sp->T, Ns = sp->nb * S, Nt = sp->nb * T;
    const real *mem = src_rows(sp, m->mem, 0, C);   /* (nb S,C) the encoder's output */
    real *y = tgt_rows(sp, m->y, 0, C);             /* (nb T,C) */
    /* x_0 = tgt_embed[tgt_in] + P */
    embedding_forward(sp->g_dres, tgt_in, P_val(m, m->idx_tgt_embed), Nt, C);
    positions_forward(tgt_rows(sp, m->d_res, 0, C), sp->g_dres, position_rows(m, m->idx_tgt_pos),
                      sp->nb, T, C);
    for (int l = 0; l < m->L; l++) {
        DecActs s = dec_acts(m, sp, l);
        /* a = x_l + causal attention(ln1(x_l)) W_proj^T + b_proj */
        attn_forward(m, s.a, s.ln1, s.mean1, s.rstd1, s.qkv, s.att, s.probs, s.x,
                     &m->idx_dec[l][D_LN1_W], sp->nb, T, 1, NULL);
        /* q = ln2(a) W_q^T + b_q;  [k | v] = m W_kv^T + b_kv (the memory) */
        layernorm_forward(s.ln2, s.mean2, s.rstd2, s.a, DW(l, D_LN2_W), DW(l, D_LN2_B), Nt, C);
        linear_forward(s.xq, s.ln2, DW(l, D_XQ_W), DW(l, D_XQ_B), Nt, C, C);
        linear_forward(s.xkv, mem, DW(l, D_XKV_W), DW(l, D_XKV_B), Ns, C, 2 * C);
        /* xatt = softmax(q k^T / sqrt(dk) over the real source words) v */
        cross_attention_forward(s.xatt, s.xprobs, s.xq, C, s.xkv, s.xkv + C, 2 * C, sp->src_len,
                                sp->nb, T, S, C, NH);
        /* a2 = a + xatt W_xproj^T + b_xproj */
        linear_forward_residual(s.a2, s.a, s.xatt, DW(l, D_XPROJ_W), DW(l, D_XPROJ_B), Nt, C, C);
        /* x_{l+1} = a2 + gelu(ln3(a2) W_fc^T + b_fc) W_mproj^T + b_mproj */
        mlp_forward(m, s.out, s.ln3, s.mean3, s.rstd3, s.fc, s.gelu, s.a2,
                    &m->idx_dec[l][D_LN3_W], Nt);
    }
    /* y = decoder.ln_f(x_L);  logits = y head.weight^T + head.bias */
    layernorm_forward(y, tgt_rows(sp, m->y_mean, 0, 1), tgt_rows(sp, m->y_rstd, 0, 1),
                      tgt_rows(sp, m->d_res, m->L, C), P_val(m, m->idx_dlnf_w),
                      P_val(m, m->idx_dlnf_b), Nt, C);
    linear_forward(logits, y, P_val(m, m->idx_head_w), P_val(m, m->idx_head_b), Nt, C, m->O);
}

/* ============================ the batch split ============================= */

/* the forward of span p's pairs: the encoder, then the decoder reading it */
static void forward_span(void *arg, int p)
{
    const EncDecPass *pass = arg;
    TransformerEncDec *m = pass->model;
    Span sp = span_of(m, pass->src_len, pass->B, pass->S, pass->T, pass->parts, p);
    encoder_forward(m, &sp, pass->src + (size_t)sp.b0 * sp.S);
    decoder_forward(m, &sp, pass->logits + (size_t)sp.b0 * sp.T * m->O,
                    pass->tgt_in + (size_t)sp.b0 * sp.T);
}

static void ted_forward(void *self, real *logits, const int *src, const int *src_len,
                        const int *tgt_in, int B, int S, int T)
{
    /* logits (B,T,O), src (B,S), src_len (B), tgt_in (B,T) */
    TransformerEncDec *m = self;
    assert(m->e_res && "alloc_acts before forward");
    assert(B <= m->Bmax && S <= m->Smax && T <= m->Tmax);
    encdec_run(forward_span, m, m->parts, m->max_parts, logits, NULL, src, src_len, tgt_in, B, S, T);
    m->last_B = B;
    m->last_S = S;
    m->last_T = T;
}

/* ================================ backward ================================ */

/* the span's pairs: dlogits (nb,T,O), tgt_in (nb,T); leaves dL/dm, the
 * memory's gradient, in the span's g_mem for the encoder */
static void decoder_backward(TransformerEncDec *m, const Span *sp, const real *dlogits,
                             const int *tgt_in)
{
    int C = m->C, NH = m->NH, S = sp->S, T = sp->T, Ns = sp->nb * S, Nt = sp->nb * T;
    size_t tC = (size_t)Nt * C, sC = (size_t)Ns * C;
    const real *mem = src_rows(sp, m->mem, 0, C);
    /* forward: logits = y head^T + b */
    linear_backward_set(sp->g_y, P_grad(m, sp, m->idx_head_w), P_grad(m, sp, m->idx_head_b),
                        dlogits, tgt_rows(sp, m->y, 0, C), P_val(m, m->idx_head_w), Nt, C, m->O);
    /* forward: y = decoder.ln_f(x_L); g_dres walks dL/dx_l down the stack */
    memset(sp->g_dres, 0, tC * sizeof(real));
    layernorm_backward(sp->g_dres, P_grad(m, sp, m->idx_dlnf_w), P_grad(m, sp, m->idx_dlnf_b),
                       sp->g_y, tgt_rows(sp, m->d_res, m->L, C), P_val(m, m->idx_dlnf_w),
                       tgt_rows(sp, m->y_mean, 0, 1), tgt_rows(sp, m->y_rstd, 0, 1), Nt, C);
    memset(sp->g_mem, 0, sC * sizeof(real));
    for (int l = m->L - 1; l >= 0; l--) {
        DecActs s = dec_acts(m, sp, l);
        /* forward: x_{l+1} = a2 + mlp(ln3(a2)); g_dres becomes dL/da2 */
        mlp_backward(m, sp, sp->g_dres, s.a2, s.ln3, s.mean3, s.rstd3, s.fc, s.gelu,
                     &m->idx_dec[l][D_LN3_W], Nt);
        /* forward: a2 = a + xatt W_xproj^T + b */
        linear_backward_set(sp->g_att, DG(l, D_XPROJ_W), DG(l, D_XPROJ_B), sp->g_dres, s.xatt,
                            DW(l, D_XPROJ_W), Nt, C, C);
        /* forward: xatt = cross-attention(q, k, v) */
        memset(sp->g_xq, 0, tC * sizeof(real));
        memset(sp->g_xkv, 0, sC * 2 * sizeof(real));
        cross_attention_backward(sp->g_xq, sp->g_xkv, sp->g_xkv + C, sp->scratch, sp->g_att,
                                 s.xq, C, s.xkv, s.xkv + C, 2 * C, s.xprobs, sp->src_len, sp->nb,
                                 T, S, C, NH);
        /* forward: [k | v] = m W_kv^T + b: every layer's keys add to dL/dm */
        linear_backward(sp->g_mem, DG(l, D_XKV_W), DG(l, D_XKV_B), sp->g_xkv, mem,
                        DW(l, D_XKV_W), Ns, C, 2 * C);
        /* forward: q = ln2(a) W_q^T + b */
        linear_backward_set(sp->g_ln, DG(l, D_XQ_W), DG(l, D_XQ_B), sp->g_xq, s.ln2,
                            DW(l, D_XQ_W), Nt, C, C);
        layernorm_backward(sp->g_dres, DG(l, D_LN2_W), DG(l, D_LN2_B), sp->g_ln, s.a,
                           DW(l, D_LN2_W), s.mean2, s.rstd2, Nt, C);
        /* forward: a = x_l + causal attention(ln1(x_l)) W_proj^T + b; g_dres
         * becomes dL/dx_l */
        attn_backward(m, sp, sp->g_dres, s.x, s.ln1, s.mean1, s.rstd1, s.qkv, s.att, s.probs,
                      &m->idx_dec[l][D_LN1_W], sp->nb, T, 1, NULL);
    }
    /* forward: x_0 = tgt_embed[tgt_in] + P */
    embedding_backward(P_grad(m, sp, m->idx_tgt_embed), sp->g_dres, tgt_in, Nt, C);
    if (m->idx_tgt_pos >= 0)
        positions_backward(NULL, P_grad(m, sp, m->idx_tgt_pos), sp->g_dres, sp->nb, T, C);
}

/* the span's pairs, from dL/dm in g_mem: src (nb,S) */
static void encoder_backward(TransformerEncDec *m, const Span *sp, const int *src)
{
    int C = m->C, S = sp->S, Ns = sp->nb * S;
    size_t sC = (size_t)Ns * C;
    /* forward: m = encoder.ln_f(e_L) */
    memset(sp->g_eres, 0, sC * sizeof(real));
    layernorm_backward(sp->g_eres, P_grad(m, sp, m->idx_elnf_w), P_grad(m, sp, m->idx_elnf_b),
                       sp->g_mem, src_rows(sp, m->e_res, m->L, C), P_val(m, m->idx_elnf_w),
                       src_rows(sp, m->mem_mean, 0, 1), src_rows(sp, m->mem_rstd, 0, 1), Ns, C);
    for (int l = m->L - 1; l >= 0; l--) {
        EncActs s = enc_acts(m, sp, l);
        /* forward: e_{l+1} = a + mlp(ln2(a)); g_eres becomes dL/da */
        mlp_backward(m, sp, sp->g_eres, s.a, s.ln2, s.mean2, s.rstd2, s.fc, s.gelu,
                     &m->idx_enc[l][E_LN2_W], Ns);
        /* forward: a = e_l + attention(ln1(e_l)) W_proj^T + b; g_eres becomes dL/de_l */
        attn_backward(m, sp, sp->g_eres, s.x, s.ln1, s.mean1, s.rstd1, s.qkv, s.att, s.probs,
                      &m->idx_enc[l][E_LN1_W], sp->nb, S, 0, sp->src_len);
    }
    /* forward: e_0 = src_embed[src] + P */
    embedding_backward(P_grad(m, sp, m->idx_src_embed), sp->g_eres, src, Ns, C);
    if (m->idx_src_pos >= 0)
        positions_backward(NULL, P_grad(m, sp, m->idx_src_pos), sp->g_eres, sp->nb, S, C);
}

/* the backward of span p's pairs, into span p's gradients: the decoder,
 * then the encoder from the memory's gradient */
static void backward_span(void *arg, int p)
{
    const EncDecPass *pass = arg;
    TransformerEncDec *m = pass->model;
    Span sp = span_of(m, pass->src_len, pass->B, pass->S, pass->T, pass->parts, p);
    decoder_backward(m, &sp, pass->dlogits + (size_t)sp.b0 * sp.T * m->O,
                     pass->tgt_in + (size_t)sp.b0 * sp.T);
    encoder_backward(m, &sp, pass->src + (size_t)sp.b0 * sp.S);
}

static void ted_backward(void *self, const real *dlogits, const int *src, const int *src_len,
                         const int *tgt_in, int B, int S, int T)
{
    /* dlogits (B,T,O); the inputs of the forward */
    TransformerEncDec *m = self;
    assert(B == m->last_B && S == m->last_S && T == m->last_T && "backward of another forward");
    int parts = encdec_run(backward_span, m, m->parts, m->max_parts, NULL, dlogits, src, src_len,
                           tgt_in, B, S, T);
    /* the spans' private gradients join the real ones, a slice on each thread */
    parallel_join(m->ps->grad + m->grad_off, m->part_grads, m->grad_len, parts);
}

/* ===================== decoding with a key/value cache ====================
 * encode runs the encoder once and makes every layer's cross-attention keys
 * and values; then each new target token costs one row of every linear
 * layer, O(t) of self-attention against the cache (as in transformer.c) and
 * O(S) of cross-attention. */

static void ted_encode(void *self, const int *src, const int *src_len, int B, int S)
{
    TransformerEncDec *m = self;
    assert(B <= m->Bmax && S <= m->Smax);
    int C = m->C, Ns = B * S;
    /* the whole batch in one span, on this thread (T: the decoder's, unused) */
    Span sp = span_of(m, src_len, B, S, m->Tmax, 1, 0);
    encoder_forward(m, &sp, src);
    for (int l = 0; l < m->L; l++)
        linear_forward(layer(m->d_xkv, l, Ns, 2 * C), m->mem, DW(l, D_XKV_W), DW(l, D_XKV_B),
                       Ns, C, 2 * C);
    for (int b = 0; b < B; b++) m->step_len[b] = src_len ? src_len[b] : S;
    m->step_B = B;
    m->step_S = S;
    m->step_t = 0;
}

static void ted_decode_step(void *self, real *logits, const int *tokens, int B)
{
    /* logits (B,O), tokens (B) at position t = step_t */
    TransformerEncDec *m = self;
    int C = m->C, F = m->F, NH = m->NH, t = m->step_t, S = m->step_S;
    assert(B == m->step_B && "encode with this B first");
    int limit = m->Tmax;
    if (m->positions == POSITIONS_LEARNED && m->max_seq_len < limit) limit = m->max_seq_len;
    if (t >= limit) die("transformer: target position %d is beyond the decoder's cache "
                        "(%d positions)", t, limit);
    size_t cache_layer = (size_t)m->Bmax * m->Tmax * C, bC = (size_t)B * C;
    /* x = tgt_embed[token] + P[t] */
    embedding_forward(m->s_x, tokens, P_val(m, m->idx_tgt_embed), B, C);
    const real *P = position_rows(m, m->idx_tgt_pos);
    if (P)
        for (int b = 0; b < B; b++) real_axpy((size_t)C, 1, P + (size_t)t * C, m->s_x + (size_t)b * C);
    for (int l = 0; l < m->L; l++) {
        real *kc = m->kcache + l * cache_layer, *vc = m->vcache + l * cache_layer;
        const real *xkv = layer(m->d_xkv, l, (size_t)B * S, 2 * C);
        /* self-attention: q, k, v of this position; k, v appended to the cache */
        layernorm_forward(m->s_ln, m->s_mean, m->s_rstd, m->s_x, DW(l, D_LN1_W), DW(l, D_LN1_B), B, C);
        linear_forward(m->s_qkv, m->s_ln, DW(l, D_QKV_W), DW(l, D_QKV_B), B, C, 3 * C);
        for (int b = 0; b < B; b++) {
            size_t at = ((size_t)b * m->Tmax + t) * C;
            memcpy(kc + at, m->s_qkv + (size_t)b * 3 * C + C, (size_t)C * sizeof(real));
            memcpy(vc + at, m->s_qkv + (size_t)b * 3 * C + 2 * C, (size_t)C * sizeof(real));
        }
        attention_step(m->s_att, m->s_scores, m->s_qkv, 3 * C, kc, vc, B, t, m->Tmax, C, NH);
        linear_forward(m->s_tmp, m->s_att, DW(l, D_PROJ_W), DW(l, D_PROJ_B), B, C, C);
        real_axpy(bC, 1, m->s_tmp, m->s_x);
        /* cross-attention: one query row per sequence against its source */
        layernorm_forward(m->s_ln, m->s_mean, m->s_rstd, m->s_x, DW(l, D_LN2_W), DW(l, D_LN2_B), B, C);
        linear_forward(m->s_q, m->s_ln, DW(l, D_XQ_W), DW(l, D_XQ_B), B, C, C);
        cross_attention_forward(m->s_att, m->s_xprobs, m->s_q, C, xkv, xkv + C, 2 * C,
                                m->step_len, B, 1, S, C, NH);
        linear_forward(m->s_tmp, m->s_att, DW(l, D_XPROJ_W), DW(l, D_XPROJ_B), B, C, C);
        real_axpy(bC, 1, m->s_tmp, m->s_x);
        /* the MLP */
        layernorm_forward(m->s_ln, m->s_mean, m->s_rstd, m->s_x, DW(l, D_LN3_W), DW(l, D_LN3_B), B, C);
        linear_forward(m->s_fc, m->s_ln, DW(l, D_FC_W), DW(l, D_FC_B), B, C, F);
        gelu_forward(m->s_gelu, m->s_fc, (size_t)B * F);
        linear_forward(m->s_tmp, m->s_gelu, DW(l, D_MPROJ_W), DW(l, D_MPROJ_B), B, F, C);
        real_axpy(bC, 1, m->s_tmp, m->s_x);
    }
    layernorm_forward(m->s_ln, m->s_mean, m->s_rstd, m->s_x, P_val(m, m->idx_dlnf_w),
                      P_val(m, m->idx_dlnf_b), B, C);
    linear_forward(logits, m->s_ln, P_val(m, m->idx_head_w), P_val(m, m->idx_head_b), B, C, m->O);
    m->step_t++;
}

/* rows of `rows` reals each: row b of a becomes row from[b] of its old contents */
static void permute_rows(real *a, real *tmp, const int *from, int B, size_t rows)
{
    memcpy(tmp, a, (size_t)B * rows * sizeof(real));
    for (int b = 0; b < B; b++)
        memcpy(a + (size_t)b * rows, tmp + (size_t)from[b] * rows, rows * sizeof(real));
}

static void ted_reorder(void *self, const int *from, int B)
{
    TransformerEncDec *m = self;
    assert(B == m->step_B);
    size_t C = (size_t)m->C, cache_layer = (size_t)m->Bmax * m->Tmax * C;
    for (int l = 0; l < m->L; l++) {
        permute_rows(m->kcache + l * cache_layer, m->s_reorder, from, B, (size_t)m->Tmax * C);
        permute_rows(m->vcache + l * cache_layer, m->s_reorder, from, B, (size_t)m->Tmax * C);
        permute_rows(layer(m->d_xkv, l, (size_t)B * m->step_S, 2 * C), m->s_reorder, from, B,
                     (size_t)m->step_S * 2 * C);
    }
    memcpy(m->step_len_tmp, m->step_len, (size_t)B * sizeof(int));
    for (int b = 0; b < B; b++) m->step_len[b] = m->step_len_tmp[from[b]];
}

/* ======================= introspection and the table ====================== */

static int ted_source_attention(const void *self, const real **weights, int *L, int *NH, int *B,
                                int *T, int *S)
{
    const TransformerEncDec *m = self;
    if (m->last_T == 0) return -1;
    *weights = m->d_xprobs;
    *L = m->L;
    *NH = m->NH;
    *B = m->last_B;
    *T = m->last_T;
    *S = m->last_S;
    return 0;
}

static size_t ted_act_bytes(const void *self)
{
    return ((const TransformerEncDec *)self)->bytes;
}

static double ted_flops(const void *self, int B, int S, int T)
{
    /* per encoder layer: qkv, proj, fc, mlp.proj and the S x S attention;
     * per decoder layer: the same over T with causal attention, plus q,
     * kv (over S), cross proj and the T x S attention; the head */
    const TransformerEncDec *m = self;
    double C = m->C, F = m->F, Ns = (double)B * S, Nt = (double)B * T;
    double enc = 2 * Ns * C * 3 * C + 2 * Ns * C * C + 4 * Ns * C * F +
                 cross_attention_flops(B, S, S, m->C);
    double dec = 2 * Nt * C * 3 * C + 2 * Nt * C * C + 4 * Nt * C * F +
                 attention_flops(B, T, m->C, m->NH, 1) + 2 * Nt * C * C + 2 * Ns * C * 2 * C +
                 2 * Nt * C * C + cross_attention_flops(B, T, S, m->C);
    return m->L * (enc + dec) + 2 * Nt * C * m->O;
}

static void ted_free(void *self)
{
    TransformerEncDec *m = self;
    if (!m) return;
    real *arrays[] = {
        m->pos_table, m->e_res, m->e_ln1, m->e_att, m->e_a, m->e_ln2, m->e_mean1, m->e_rstd1,
        m->e_mean2, m->e_rstd2, m->e_qkv, m->e_probs, m->e_fc, m->e_gelu, m->mem, m->mem_mean,
        m->mem_rstd, m->d_res, m->d_ln1, m->d_att, m->d_a, m->d_ln2, m->d_xq, m->d_xatt,
        m->d_a2, m->d_ln3, m->d_mean1, m->d_rstd1, m->d_mean2, m->d_rstd2, m->d_mean3,
        m->d_rstd3, m->d_qkv, m->d_probs, m->d_xkv, m->d_xprobs, m->d_fc, m->d_gelu, m->y,
        m->y_mean, m->y_rstd, m->g_y, m->g_dres, m->g_xq, m->g_eres, m->g_mem, m->g_xkv,
        m->g_ln, m->g_att, m->g_qkv, m->g_mlp, m->scratch, m->kcache, m->vcache,
        m->s_x, m->s_ln, m->s_att, m->s_tmp, m->s_q, m->s_mean, m->s_rstd, m->s_qkv, m->s_fc,
        m->s_gelu, m->s_scores, m->s_xprobs, m->s_reorder, m->part_grads,
    };
    for (size_t i = 0; i < sizeof arrays / sizeof arrays[0]; i++) free(arrays[i]);
    free(m->step_len);
    free(m->step_len_tmp);
    free(m->idx_enc);
    free(m->idx_dec);
    free(m);
}

void transformer_encdec_set_parts(void *self, int parts)
{
    TransformerEncDec *m = self;
    assert(parts >= 0);
    m->parts = parts;
    if (m->e_res && parts > m->max_parts && parts <= m->Bmax) size_split(m, parts);
}

const EncDecOps transformer_encdec_ops = {
    .create = ted_create,
    .bind = ted_bind,
    .init = ted_init,
    .alloc_acts = ted_alloc_acts,
    .forward = ted_forward,
    .backward = ted_backward,
    .encode = ted_encode,
    .decode_step = ted_decode_step,
    .reorder = ted_reorder,
    .source_attention = ted_source_attention,
    .act_bytes = ted_act_bytes,
    .flops = ted_flops,
    .free = ted_free,
};
