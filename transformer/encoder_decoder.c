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
 * decoder forward / backward (the forward's lines in reverse) / decoding with
 * a key/value cache / the EncDecOps table.
 *
 * What this file is not: the math of attention (attention.c: causal;
 * cross_attention.c: source and bidirectional), LayerNorm, GELU, positions,
 * or the loss (core/model.c).
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
    real *e_fc, *e_gelu;        /* (L,Ns,F) each */
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
    real *d_fc, *d_gelu;        /* (L,Nt,F) each */
    real *y;                    /* (Nt,C) decoder.ln_f(x_L) */
    real *y_mean, *y_rstd;      /* (Nt) */
    int last_B, last_S, last_T;
    /* backward workspaces */
    real *g_y, *g_dres, *g_xq;  /* (Nt,C) each */
    real *g_eres, *g_mem;       /* (Ns,C) each */
    real *g_xkv;                /* (Ns,2C) */
    real *g_ln, *g_att;         /* (max(Ns,Nt),C) each */
    real *g_qkv;                /* (max(Ns,Nt),3C) */
    real *g_fc, *g_gelu;        /* (max(Ns,Nt),F) each */
    real *scratch;              /* (max(S,T),max(S,T)) one head's dP / dS */

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

static real *P_val(const TransformerEncDec *m, int idx) { return params_value(m->ps, idx); }
static real *P_grad(const TransformerEncDec *m, int idx) { return params_grad(m->ps, idx); }
#define EW(l, k) P_val(m, m->idx_enc[l][k])
#define EG(l, k) P_grad(m, m->idx_enc[l][k])
#define DW(l, k) P_val(m, m->idx_dec[l][k])
#define DG(l, k) P_grad(m, m->idx_dec[l][k])

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
    ((TransformerEncDec *)self)->ps = ps;
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
    m->g_fc = acts_array(m, Nx * F);
    m->g_gelu = acts_array(m, Nx * F);
    m->scratch = acts_array(m, TS * TS);
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
    linear_forward(fc, ln, P_val(m, w[MLP_FC_W]), P_val(m, w[MLP_FC_B]), N, C, F);
    gelu_forward(gl, fc, (size_t)N * F);
    linear_forward(out, gl, P_val(m, w[MLP_PROJ_W]), P_val(m, w[MLP_PROJ_B]), N, F, C);
    vecmath_add(out, in, (size_t)N * C);
}

/* g_res holds dL/dout on entry and dL/din on return (the identity path plus
 * the MLP's); g_ln, g_fc, g_gelu are the model's scratch gradients. */
static void mlp_backward(TransformerEncDec *m, real *g_res, const real *in, const real *ln,
                         const real *mean, const real *rstd, const real *fc, const real *gl,
                         const int *w, int N)
{
    int C = m->C, F = m->F;
    memset(m->g_gelu, 0, (size_t)N * F * sizeof(real));
    linear_backward(m->g_gelu, P_grad(m, w[MLP_PROJ_W]), P_grad(m, w[MLP_PROJ_B]), g_res, gl,
                    P_val(m, w[MLP_PROJ_W]), N, F, C);
    memset(m->g_fc, 0, (size_t)N * F * sizeof(real));
    gelu_backward(m->g_fc, m->g_gelu, fc, (size_t)N * F);
    memset(m->g_ln, 0, (size_t)N * C * sizeof(real));
    linear_backward(m->g_ln, P_grad(m, w[MLP_FC_W]), P_grad(m, w[MLP_FC_B]), m->g_fc, ln,
                    P_val(m, w[MLP_FC_W]), N, C, F);
    layernorm_backward(g_res, P_grad(m, w[MLP_LN_W]), P_grad(m, w[MLP_LN_B]), m->g_ln, in,
                       P_val(m, w[MLP_LN_W]), mean, rstd, N, C);
}

/* ============================ encoder forward ============================= */

static void encoder_forward(TransformerEncDec *m, const int *src, const int *src_len, int B, int S)
{
    int C = m->C, F = m->F, NH = m->NH, Ns = B * S;
    size_t nC = (size_t)Ns * C;
    /* e_0 = src_embed[src] + P */
    embedding_forward(m->g_eres, src, P_val(m, m->idx_src_embed), Ns, C);
    positions_forward(m->e_res, m->g_eres, position_rows(m, m->idx_src_pos), B, S, C);
    for (int l = 0; l < m->L; l++) {
        real *x = layer(m->e_res, l, Ns, C), *out = layer(m->e_res, l + 1, Ns, C);
        real *ln1 = layer(m->e_ln1, l, Ns, C), *qkv = layer(m->e_qkv, l, Ns, 3 * C);
        real *att = layer(m->e_att, l, Ns, C), *a = layer(m->e_a, l, Ns, C);
        real *ln2 = layer(m->e_ln2, l, Ns, C);
        real *fc = layer(m->e_fc, l, Ns, F), *gl = layer(m->e_gelu, l, Ns, F);
        /* h = ln1(e_l);  [q | k | v] = h W_qkv^T + b_qkv */
        layernorm_forward(ln1, layer(m->e_mean1, l, Ns, 1), layer(m->e_rstd1, l, Ns, 1), x,
                          EW(l, E_LN1_W), EW(l, E_LN1_B), Ns, C);
        linear_forward(qkv, ln1, EW(l, E_QKV_W), EW(l, E_QKV_B), Ns, C, 3 * C);
        /* att = softmax(q k^T / sqrt(dk), real keys only) v: no causal mask */
        cross_attention_forward(att, layer(m->e_probs, l, (size_t)B * NH * S, S), qkv, 3 * C,
                                qkv + C, qkv + 2 * C, 3 * C, src_len, B, S, S, C, NH);
        /* a = e_l + att W_proj^T + b_proj */
        linear_forward(a, att, EW(l, E_PROJ_W), EW(l, E_PROJ_B), Ns, C, C);
        vecmath_add(a, x, nC);
        /* e_{l+1} = a + gelu(ln2(a) W_fc^T + b_fc) W_mproj^T + b_mproj */
        mlp_forward(m, out, ln2, layer(m->e_mean2, l, Ns, 1), layer(m->e_rstd2, l, Ns, 1), fc,
                    gl, a, &m->idx_enc[l][E_LN2_W], Ns);
    }
    /* m = encoder.ln_f(e_L) */
    layernorm_forward(m->mem, m->mem_mean, m->mem_rstd, layer(m->e_res, m->L, Ns, C),
                      P_val(m, m->idx_elnf_w), P_val(m, m->idx_elnf_b), Ns, C);
}

/* ============================ decoder forward ============================= */

static void decoder_forward(TransformerEncDec *m, real *logits, const int *tgt_in,
                            const int *src_len, int B, int S, int T)
{
    int C = m->C, F = m->F, NH = m->NH, Ns = B * S, Nt = B * T;
    size_t nC = (size_t)Nt * C;
    /* x_0 = tgt_embed[tgt_in] + P */
    embedding_forward(m->g_dres, tgt_in, P_val(m, m->idx_tgt_embed), Nt, C);
    positions_forward(m->d_res, m->g_dres, position_rows(m, m->idx_tgt_pos), B, T, C);
    for (int l = 0; l < m->L; l++) {
        real *x = layer(m->d_res, l, Nt, C), *out = layer(m->d_res, l + 1, Nt, C);
        real *ln1 = layer(m->d_ln1, l, Nt, C), *qkv = layer(m->d_qkv, l, Nt, 3 * C);
        real *att = layer(m->d_att, l, Nt, C), *a = layer(m->d_a, l, Nt, C);
        real *ln2 = layer(m->d_ln2, l, Nt, C), *xq = layer(m->d_xq, l, Nt, C);
        real *xkv = layer(m->d_xkv, l, Ns, 2 * C), *xatt = layer(m->d_xatt, l, Nt, C);
        real *a2 = layer(m->d_a2, l, Nt, C), *ln3 = layer(m->d_ln3, l, Nt, C);
        real *fc = layer(m->d_fc, l, Nt, F), *gl = layer(m->d_gelu, l, Nt, F);
        /* [q | k | v] = ln1(x_l) W_qkv^T + b_qkv;  att = causal attention */
        layernorm_forward(ln1, layer(m->d_mean1, l, Nt, 1), layer(m->d_rstd1, l, Nt, 1), x,
                          DW(l, D_LN1_W), DW(l, D_LN1_B), Nt, C);
        linear_forward(qkv, ln1, DW(l, D_QKV_W), DW(l, D_QKV_B), Nt, C, 3 * C);
        attention_forward(att, layer(m->d_probs, l, (size_t)B * NH * T, T), qkv, B, T, C, NH, 1, NULL);
        /* a = x_l + att W_proj^T + b_proj */
        linear_forward(a, att, DW(l, D_PROJ_W), DW(l, D_PROJ_B), Nt, C, C);
        vecmath_add(a, x, nC);
        /* q = ln2(a) W_q^T + b_q;  [k | v] = m W_kv^T + b_kv (the memory) */
        layernorm_forward(ln2, layer(m->d_mean2, l, Nt, 1), layer(m->d_rstd2, l, Nt, 1), a,
                          DW(l, D_LN2_W), DW(l, D_LN2_B), Nt, C);
        linear_forward(xq, ln2, DW(l, D_XQ_W), DW(l, D_XQ_B), Nt, C, C);
        linear_forward(xkv, m->mem, DW(l, D_XKV_W), DW(l, D_XKV_B), Ns, C, 2 * C);
        /* xatt = softmax(q k^T / sqrt(dk) over the real source words) v */
        cross_attention_forward(xatt, layer(m->d_xprobs, l, (size_t)B * NH * T, S), xq, C, xkv,
                                xkv + C, 2 * C, src_len, B, T, S, C, NH);
        /* a2 = a + xatt W_xproj^T + b_xproj */
        linear_forward(a2, xatt, DW(l, D_XPROJ_W), DW(l, D_XPROJ_B), Nt, C, C);
        vecmath_add(a2, a, nC);
        /* x_{l+1} = a2 + gelu(ln3(a2) W_fc^T + b_fc) W_mproj^T + b_mproj */
        mlp_forward(m, out, ln3, layer(m->d_mean3, l, Nt, 1), layer(m->d_rstd3, l, Nt, 1), fc,
                    gl, a2, &m->idx_dec[l][D_LN3_W], Nt);
    }
    /* y = decoder.ln_f(x_L);  logits = y head.weight^T + head.bias */
    layernorm_forward(m->y, m->y_mean, m->y_rstd, layer(m->d_res, m->L, Nt, C),
                      P_val(m, m->idx_dlnf_w), P_val(m, m->idx_dlnf_b), Nt, C);
    linear_forward(logits, m->y, P_val(m, m->idx_head_w), P_val(m, m->idx_head_b), Nt, C, m->O);
}

static void ted_forward(void *self, real *logits, const int *src, const int *src_len,
                        const int *tgt_in, int B, int S, int T)
{
    /* logits (B,T,O), src (B,S), src_len (B), tgt_in (B,T) */
    TransformerEncDec *m = self;
    assert(m->e_res && "alloc_acts before forward");
    assert(B <= m->Bmax && S <= m->Smax && T <= m->Tmax);
    encoder_forward(m, src, src_len, B, S);
    decoder_forward(m, logits, tgt_in, src_len, B, S, T);
    m->last_B = B;
    m->last_S = S;
    m->last_T = T;
}

/* ================================ backward ================================ */

static void ted_backward(void *self, const real *dlogits, const int *src, const int *src_len,
                         const int *tgt_in, int B, int S, int T)
{
    /* dlogits (B,T,O); the inputs of the forward */
    TransformerEncDec *m = self;
    assert(B == m->last_B && S == m->last_S && T == m->last_T && "backward of another forward");
    int C = m->C, F = m->F, NH = m->NH, Ns = B * S, Nt = B * T;
    size_t tC = (size_t)Nt * C, sC = (size_t)Ns * C;
    /* forward: logits = y head^T + b */
    memset(m->g_y, 0, tC * sizeof(real));
    linear_backward(m->g_y, P_grad(m, m->idx_head_w), P_grad(m, m->idx_head_b), dlogits, m->y,
                    P_val(m, m->idx_head_w), Nt, C, m->O);
    /* forward: y = decoder.ln_f(x_L); g_dres walks dL/dx_l down the stack */
    memset(m->g_dres, 0, tC * sizeof(real));
    layernorm_backward(m->g_dres, P_grad(m, m->idx_dlnf_w), P_grad(m, m->idx_dlnf_b), m->g_y,
                       layer(m->d_res, m->L, Nt, C), P_val(m, m->idx_dlnf_w), m->y_mean,
                       m->y_rstd, Nt, C);
    memset(m->g_mem, 0, sC * sizeof(real));
    for (int l = m->L - 1; l >= 0; l--) {
        real *x = layer(m->d_res, l, Nt, C);
        real *ln1 = layer(m->d_ln1, l, Nt, C), *qkv = layer(m->d_qkv, l, Nt, 3 * C);
        real *att = layer(m->d_att, l, Nt, C), *a = layer(m->d_a, l, Nt, C);
        real *ln2 = layer(m->d_ln2, l, Nt, C), *xq = layer(m->d_xq, l, Nt, C);
        real *xkv = layer(m->d_xkv, l, Ns, 2 * C), *xatt = layer(m->d_xatt, l, Nt, C);
        real *a2 = layer(m->d_a2, l, Nt, C), *ln3 = layer(m->d_ln3, l, Nt, C);
        real *fc = layer(m->d_fc, l, Nt, F), *gl = layer(m->d_gelu, l, Nt, F);
        /* forward: x_{l+1} = a2 + mlp(ln3(a2)); g_dres becomes dL/da2 */
        mlp_backward(m, m->g_dres, a2, ln3, layer(m->d_mean3, l, Nt, 1),
                     layer(m->d_rstd3, l, Nt, 1), fc, gl, &m->idx_dec[l][D_LN3_W], Nt);
        /* forward: a2 = a + xatt W_xproj^T + b */
        memset(m->g_att, 0, tC * sizeof(real));
        linear_backward(m->g_att, DG(l, D_XPROJ_W), DG(l, D_XPROJ_B), m->g_dres, xatt,
                        DW(l, D_XPROJ_W), Nt, C, C);
        /* forward: xatt = cross-attention(q, k, v) */
        memset(m->g_xq, 0, tC * sizeof(real));
        memset(m->g_xkv, 0, sC * 2 * sizeof(real));
        cross_attention_backward(m->g_xq, m->g_xkv, m->g_xkv + C, m->scratch, m->g_att, xq, C,
                                 xkv, xkv + C, 2 * C, layer(m->d_xprobs, l, (size_t)B * NH * T, S),
                                 src_len, B, T, S, C, NH);
        /* forward: [k | v] = m W_kv^T + b: every layer's keys add to dL/dm */
        linear_backward(m->g_mem, DG(l, D_XKV_W), DG(l, D_XKV_B), m->g_xkv, m->mem,
                        DW(l, D_XKV_W), Ns, C, 2 * C);
        /* forward: q = ln2(a) W_q^T + b */
        memset(m->g_ln, 0, tC * sizeof(real));
        linear_backward(m->g_ln, DG(l, D_XQ_W), DG(l, D_XQ_B), m->g_xq, ln2, DW(l, D_XQ_W),
                        Nt, C, C);
        layernorm_backward(m->g_dres, DG(l, D_LN2_W), DG(l, D_LN2_B), m->g_ln, a,
                           DW(l, D_LN2_W), layer(m->d_mean2, l, Nt, 1),
                           layer(m->d_rstd2, l, Nt, 1), Nt, C);
        /* forward: a = x_l + att W_proj^T + b;  att = causal attention(qkv) */
        memset(m->g_att, 0, tC * sizeof(real));
        linear_backward(m->g_att, DG(l, D_PROJ_W), DG(l, D_PROJ_B), m->g_dres, att,
                        DW(l, D_PROJ_W), Nt, C, C);
        memset(m->g_qkv, 0, tC * 3 * sizeof(real));
        attention_backward(m->g_qkv, m->scratch, m->g_att, qkv,
                           layer(m->d_probs, l, (size_t)B * NH * T, T), B, T, C, NH, 1, NULL);
        memset(m->g_ln, 0, tC * sizeof(real));
        linear_backward(m->g_ln, DG(l, D_QKV_W), DG(l, D_QKV_B), m->g_qkv, ln1, DW(l, D_QKV_W),
                        Nt, C, 3 * C);
        /* forward: ln1(x_l); g_dres becomes dL/dx_l */
        layernorm_backward(m->g_dres, DG(l, D_LN1_W), DG(l, D_LN1_B), m->g_ln, x,
                           DW(l, D_LN1_W), layer(m->d_mean1, l, Nt, 1),
                           layer(m->d_rstd1, l, Nt, 1), Nt, C);
    }
    /* forward: x_0 = tgt_embed[tgt_in] + P */
    embedding_backward(P_grad(m, m->idx_tgt_embed), m->g_dres, tgt_in, Nt, C);
    if (m->idx_tgt_pos >= 0) positions_backward(NULL, P_grad(m, m->idx_tgt_pos), m->g_dres, B, T, C);

    /* the encoder, from dL/dm: forward m = encoder.ln_f(e_L) */
    memset(m->g_eres, 0, sC * sizeof(real));
    layernorm_backward(m->g_eres, P_grad(m, m->idx_elnf_w), P_grad(m, m->idx_elnf_b), m->g_mem,
                       layer(m->e_res, m->L, Ns, C), P_val(m, m->idx_elnf_w), m->mem_mean,
                       m->mem_rstd, Ns, C);
    for (int l = m->L - 1; l >= 0; l--) {
        real *x = layer(m->e_res, l, Ns, C);
        real *ln1 = layer(m->e_ln1, l, Ns, C), *qkv = layer(m->e_qkv, l, Ns, 3 * C);
        real *att = layer(m->e_att, l, Ns, C), *a = layer(m->e_a, l, Ns, C);
        real *ln2 = layer(m->e_ln2, l, Ns, C);
        real *fc = layer(m->e_fc, l, Ns, F), *gl = layer(m->e_gelu, l, Ns, F);
        /* forward: e_{l+1} = a + mlp(ln2(a)); g_eres becomes dL/da */
        mlp_backward(m, m->g_eres, a, ln2, layer(m->e_mean2, l, Ns, 1),
                     layer(m->e_rstd2, l, Ns, 1), fc, gl, &m->idx_enc[l][E_LN2_W], Ns);
        /* forward: a = e_l + att W_proj^T + b;  att = attention over the real source */
        memset(m->g_att, 0, sC * sizeof(real));
        linear_backward(m->g_att, EG(l, E_PROJ_W), EG(l, E_PROJ_B), m->g_eres, att,
                        EW(l, E_PROJ_W), Ns, C, C);
        memset(m->g_qkv, 0, sC * 3 * sizeof(real));
        cross_attention_backward(m->g_qkv, m->g_qkv + C, m->g_qkv + 2 * C, m->scratch, m->g_att,
                                 qkv, 3 * C, qkv + C, qkv + 2 * C, 3 * C,
                                 layer(m->e_probs, l, (size_t)B * NH * S, S), src_len, B, S, S,
                                 C, NH);
        memset(m->g_ln, 0, sC * sizeof(real));
        linear_backward(m->g_ln, EG(l, E_QKV_W), EG(l, E_QKV_B), m->g_qkv, ln1, EW(l, E_QKV_W),
                        Ns, C, 3 * C);
        layernorm_backward(m->g_eres, EG(l, E_LN1_W), EG(l, E_LN1_B), m->g_ln, x,
                           EW(l, E_LN1_W), layer(m->e_mean1, l, Ns, 1),
                           layer(m->e_rstd1, l, Ns, 1), Ns, C);
    }
    /* forward: e_0 = src_embed[src] + P */
    embedding_backward(P_grad(m, m->idx_src_embed), m->g_eres, src, Ns, C);
    if (m->idx_src_pos >= 0) positions_backward(NULL, P_grad(m, m->idx_src_pos), m->g_eres, B, S, C);
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
    encoder_forward(m, src, src_len, B, S);
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
        m->g_ln, m->g_att, m->g_qkv, m->g_fc, m->g_gelu, m->scratch, m->kcache, m->vcache,
        m->s_x, m->s_ln, m->s_att, m->s_tmp, m->s_q, m->s_mean, m->s_rstd, m->s_qkv, m->s_fc,
        m->s_gelu, m->s_scores, m->s_xprobs, m->s_reorder,
    };
    for (size_t i = 0; i < sizeof arrays / sizeof arrays[0]; i++) free(arrays[i]);
    free(m->step_len);
    free(m->step_len_tmp);
    free(m->idx_enc);
    free(m->idx_dec);
    free(m);
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
