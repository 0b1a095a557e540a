/*
 * test_encdec.c — the encoder–decoder models and their attention.
 *
 *   cross-attention   GEMM path = plain loops (forward and backward, with
 *                     padded rows); finite differences of q, k and v;
 *                     padded keys change nothing and get no gradient
 *   each model        (Transformer; RNN, LSTM, GRU without and with additive
 *                     attention), 2 layers: every parameter (both embeddings
 *                     included) against finite differences; padding changes
 *                     nothing (pairs alone = the same pairs in one padded
 *                     batch, loss and every gradient); decoding one token at
 *                     a time with the cache = the teacher-forced forward;
 *                     reorder moves a row's state; no allocation in forward,
 *                     backward or a decoding step
 *   the batch split   each model's forward and backward split over 2, 3 or 5
 *                     spans of pairs (padded sources, with and without
 *                     lengths) = one span: logits, loss, every gradient
 *
 * Finite-difference bounds are asserted in the double build only (float
 * cannot resolve 1e-6); the float and sanitizer builds still run the code.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_rng.h>

#include "encdec.h"
#include "model.h"
#include "recurrent_encdec.h"
#include "registry.h"
#include "testutil.h"
#include "transformer/transformer.h"
#include "util.h"

extern void openblas_set_num_threads(int num_threads);

/* odd, distinct sizes so a transposed or mis-strided index shows */
#define ED_VS 7     /* source vocabulary */
#define ED_O 9      /* target classes (V_t = 7, <bos> 7, <eos> 8) */
#define ED_C 6      /* width: 2 heads of 3 */
#define ED_NH 2
#define ED_F 10
#define ED_L 2
#define ED_E 5      /* recurrent embedding width */
#define ED_H 4      /* recurrent hidden size */
#define ED_B 3
#define ED_BMAX 5   /* the batch split's test: 5 pairs over 2, 3 or 5 spans */
#define ED_S 6
#define ED_T 5
#define ED_TMAX 8

#ifdef SEQLAB_DOUBLE
#define KERNEL_RTOL 1e-10
#define KERNEL_ATOL 1e-12
#else
#define KERNEL_RTOL 1e-4
#define KERNEL_ATOL 1e-5
#endif
/* entries checked per tensor by the finite differences (all of small ones) */
#define FD_PER_TENSOR 12
/* the batch split sums parameter gradients in another order */
#ifdef SEQLAB_DOUBLE
#define SPLIT_RTOL 1e-11
#define SPLIT_ATOL 1e-13
#else
#define SPLIT_RTOL 1e-5
#define SPLIT_ATOL 1e-6
#endif

static void fill(real *a, size_t n, gsl_rng *rng)
{
    for (size_t i = 0; i < n; i++) a[i] = (real)(2 * gsl_rng_uniform(rng) - 1);
}

static gsl_rng *seeded(unsigned long seed)
{
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, seed);
    return rng;
}

/* ============================ cross-attention ============================= */

/* q (B,Tq,C), kv (B,Tk,2C); lengths 4, 2, 5 of Tk = 5 */
#define XA_B 3
#define XA_TQ 4
#define XA_TK 5
static const int xa_len[XA_B] = {4, 2, 5};

static double xa_loss(const real *q, const real *kv, const real *R, real *out, real *probs)
{
    cross_attention_forward(out, probs, q, ED_C, kv, kv + ED_C, 2 * ED_C, xa_len, XA_B, XA_TQ,
                            XA_TK, ED_C, ED_NH);
    double L = 0;
    for (size_t i = 0; i < (size_t)XA_B * XA_TQ * ED_C; i++) L += (double)out[i] * R[i];
    return L;
}

START_TEST(test_cross_attention_gemm_equals_loops)
{
    gsl_rng *rng = seeded(11);
    size_t nq = (size_t)XA_B * XA_TQ * ED_C, nkv = (size_t)XA_B * XA_TK * 2 * ED_C;
    size_t np = (size_t)XA_B * ED_NH * XA_TQ * XA_TK;
    real q[nq], kv[nkv], R[nq], out1[nq], out2[nq], p1[np], p2[np];
    real dq1[nq], dq2[nq], dkv1[nkv], dkv2[nkv], scratch[XA_TQ * XA_TK];
    fill(q, nq, rng);
    fill(kv, nkv, rng);
    fill(R, nq, rng);
    cross_attention_forward(out1, p1, q, ED_C, kv, kv + ED_C, 2 * ED_C, xa_len, XA_B, XA_TQ,
                            XA_TK, ED_C, ED_NH);
    cross_attention_forward_ref(out2, p2, q, ED_C, kv, kv + ED_C, 2 * ED_C, xa_len, XA_B, XA_TQ,
                                XA_TK, ED_C, ED_NH);
    assert_allclose(out1, out2, nq, KERNEL_RTOL, KERNEL_ATOL);
    assert_allclose(p1, p2, np, KERNEL_RTOL, KERNEL_ATOL);
    /* each row of P is a distribution over the row's real keys, 0 beyond */
    for (int b = 0; b < XA_B; b++)
        for (int h = 0; h < ED_NH; h++)
            for (int t = 0; t < XA_TQ; t++) {
                const real *row = p1 + (((size_t)b * ED_NH + h) * XA_TQ + t) * XA_TK;
                double sum = 0;
                for (int s = 0; s < XA_TK; s++) {
                    if (s >= xa_len[b]) ck_assert(row[s] == 0);
                    sum += row[s];
                }
                ck_assert(fabs(sum - 1) < 1e-5);
            }
    /* the backwards accumulate (start from the same non-zero values) */
    fill(dq1, nq, rng);
    memcpy(dq2, dq1, sizeof dq1);
    fill(dkv1, nkv, rng);
    memcpy(dkv2, dkv1, sizeof dkv1);
    cross_attention_backward(dq1, dkv1, dkv1 + ED_C, scratch, R, q, ED_C, kv, kv + ED_C,
                             2 * ED_C, p1, xa_len, XA_B, XA_TQ, XA_TK, ED_C, ED_NH);
    cross_attention_backward_ref(dq2, dkv2, dkv2 + ED_C, scratch, R, q, ED_C, kv, kv + ED_C,
                                 2 * ED_C, p2, xa_len, XA_B, XA_TQ, XA_TK, ED_C, ED_NH);
    assert_allclose(dq1, dq2, nq, KERNEL_RTOL, KERNEL_ATOL);
    assert_allclose(dkv1, dkv2, nkv, KERNEL_RTOL, KERNEL_ATOL);
    gsl_rng_free(rng);
}
END_TEST

START_TEST(test_cross_attention_finite_differences)
{
    gsl_rng *rng = seeded(12);
    size_t nq = (size_t)XA_B * XA_TQ * ED_C, nkv = (size_t)XA_B * XA_TK * 2 * ED_C;
    size_t np = (size_t)XA_B * ED_NH * XA_TQ * XA_TK;
    real q[nq], kv[nkv], R[nq], out[nq], probs[np], dq[nq], dkv[nkv], scratch[XA_TQ * XA_TK];
    fill(q, nq, rng);
    fill(kv, nkv, rng);
    fill(R, nq, rng);
    xa_loss(q, kv, R, out, probs);
    memset(dq, 0, sizeof dq);
    memset(dkv, 0, sizeof dkv);
    cross_attention_backward(dq, dkv, dkv + ED_C, scratch, R, q, ED_C, kv, kv + ED_C, 2 * ED_C,
                             probs, xa_len, XA_B, XA_TQ, XA_TK, ED_C, ED_NH);
    double worst = 0, h = GRADCHECK_STEP;
    real *inputs[2] = {q, kv};
    real *grads[2] = {dq, dkv};
    size_t sizes[2] = {nq, nkv};
    for (int w = 0; w < 2; w++)
        for (size_t i = 0; i < sizes[w]; i++) {
            real saved = inputs[w][i];
            double f[4];
            const double shifts[4] = {2 * h, h, -h, -2 * h};
            for (int s = 0; s < 4; s++) {
                inputs[w][i] = (real)(saved + shifts[s]);
                f[s] = xa_loss(q, kv, R, out, probs);
            }
            inputs[w][i] = saved;
            double numeric = (-f[0] + 8 * f[1] - 8 * f[2] + f[3]) / (12 * h);
            double r = rel_error(grads[w][i], numeric);
            if (r > worst) worst = r;
        }
#ifdef SEQLAB_DOUBLE
    ck_assert_msg(worst <= GRADCHECK_TOL, "cross-attention: worst relative error %g", worst);
#endif
    /* keys and values of padding get no gradient, and changing them changes nothing */
    for (int b = 0; b < XA_B; b++)
        for (int s = xa_len[b]; s < XA_TK; s++)
            for (int c = 0; c < 2 * ED_C; c++)
                ck_assert(dkv[((size_t)b * XA_TK + s) * 2 * ED_C + c] == 0);
    real before[nq];
    xa_loss(q, kv, R, before, probs);
    kv[((size_t)1 * XA_TK + 3) * 2 * ED_C + 1] += 5;       /* row 1 has 2 real keys */
    kv[((size_t)1 * XA_TK + 4) * 2 * ED_C + ED_C + 2] -= 5;
    xa_loss(q, kv, R, out, probs);
    ck_assert(memcmp(before, out, sizeof out) == 0);
    gsl_rng_free(rng);
}
END_TEST

/* ========================= whole models, generic ========================== */

/* one encoder–decoder with its parameters, logits and the loss's buffers */
typedef struct Net {
    const EncDecOps *ops;
    void *self;
    ParamSet ps;
    int O;
    real *logits, *probs, *dlogits;   /* (Bmax,Tmax,O) */
    int count;
} Net;

/* a pair batch: sources (B,S) with lengths, decoder inputs (B,T) [<bos>, y],
 * targets (B,T) [y, <eos>] with TARGET_IGNORE after <eos> */
typedef struct Pairs {
    int B, S, T;
    int src[ED_BMAX * ED_S], src_len[ED_BMAX];
    int tgt_in[ED_BMAX * ED_T], targets[ED_BMAX * ED_T];
} Pairs;

static ModelConfig encdec_config(const char *kind, int num_layers)
{
    ModelConfig cfg;
    memset(&cfg, 0, sizeof cfg);
    snprintf(cfg.kind, sizeof cfg.kind, "%s", kind);
    cfg.vocab_size = ED_VS;
    cfg.output_size = ED_O;
    int tf = strcmp(kind, "transformer") == 0;
    cfg.embed_dim = tf ? ED_C : ED_E;
    cfg.hidden_size = tf ? ED_C : ED_H;
    cfg.num_layers = num_layers;
    cfg.num_heads = ED_NH;
    cfg.ffn_size = ED_F;
    cfg.max_seq_len = ED_TMAX;
    cfg.positions = POSITIONS_LEARNED;
    cfg.forget_bias = 1;
    cfg.init_scale = 1;
    return cfg;
}

static Net *net_create(const EncDecOps *ops, const ModelConfig *cfg, AttentionKind att,
                       unsigned long seed)
{
    Net *n = xcalloc(1, sizeof *n);
    n->ops = ops;
    n->O = cfg->output_size;
    params_init(&n->ps);
    char err[256] = "";
    ModelConfig c = *cfg;
    c.attention = att;
    n->self = ops->create(&c, model_info_find(cfg->kind)->cell, &n->ps, err, sizeof err);
    ck_assert_msg(n->self != NULL, "create: %s", err);
    params_alloc(&n->ps);
    ops->bind(n->self, &n->ps);
    gsl_rng *rng = seeded(seed);
    ops->init(n->self, &n->ps, rng);
    /* LayerNorms start at 1 and 0: perturb every tensor so each term matters */
    for (size_t i = 0; i < n->ps.total; i++) n->ps.value[i] += (real)(0.1 * (2 * gsl_rng_uniform(rng) - 1));
    gsl_rng_free(rng);
    ops->alloc_acts(n->self, ED_BMAX, ED_S, ED_TMAX);
    size_t nl = (size_t)ED_BMAX * ED_TMAX * n->O;
    n->logits = xcalloc(nl, sizeof(real));
    n->probs = xcalloc(nl, sizeof(real));
    n->dlogits = xcalloc(nl, sizeof(real));
    return n;
}

static void net_free(Net *n)
{
    n->ops->free(n->self);
    params_free(&n->ps);
    free(n->logits);
    free(n->probs);
    free(n->dlogits);
    free(n);
}

/* the SUM of the cross-entropies of the scored positions */
static double net_forward(Net *n, const Pairs *p)
{
    n->ops->forward(n->self, n->logits, p->src, p->src_len, p->tgt_in, p->B, p->S, p->T);
    return softmax_xent_forward(n->probs, n->logits, p->targets, p->B * p->T, n->O, &n->count, NULL);
}

/* the gradient of scale times that sum */
static void net_backward(Net *n, const Pairs *p, real scale)
{
    memset(n->dlogits, 0, (size_t)p->B * p->T * n->O * sizeof(real));
    softmax_xent_backward(n->dlogits, n->probs, p->targets, p->B * p->T, n->O, scale);
    n->ops->backward(n->self, n->dlogits, p->src, p->src_len, p->tgt_in, p->B, p->S, p->T);
}

/* source and target lengths of the test pairs (the first ED_B: most tests) */
static const int pair_src_len[ED_BMAX] = {4, 6, 2, 5, 1};
static const int pair_tgt_len[ED_BMAX] = {3, 1, 4, 2, 4};   /* n: the decoder reads n + 1 */

/* pair i of the fixed test pairs, at row r of p (padded to p->S, p->T) */
static void put_pair(Pairs *p, int r, int i)
{
    gsl_rng *rng = seeded(100 + (unsigned long)i);
    int S = p->S, T = p->T, n = pair_tgt_len[i];
    p->src_len[r] = pair_src_len[i];
    for (int s = 0; s < S; s++)
        p->src[r * S + s] = s < pair_src_len[i] ? (int)gsl_rng_uniform_int(rng, ED_VS) : 0;
    int y[ED_T];
    for (int k = 0; k < n; k++) y[k] = (int)gsl_rng_uniform_int(rng, ED_O - 2);
    for (int t = 0; t < T; t++) {
        /* decoder input [<bos>, y_1 .. y_n], target [y_1 .. y_n, <eos>] */
        p->tgt_in[r * T + t] = t == 0 ? ED_O - 2 : (t <= n ? y[t - 1] : 0);
        p->targets[r * T + t] = t < n ? y[t] : (t == n ? ED_O - 1 : TARGET_IGNORE);
    }
    gsl_rng_free(rng);
}

/* the first B test pairs in one padded batch */
static Pairs batch_of(int B)
{
    Pairs p;
    memset(&p, 0, sizeof p);
    p.B = B;
    p.S = ED_S;
    p.T = ED_T;
    for (int i = 0; i < B; i++) put_pair(&p, i, i);
    return p;
}

static Pairs batch_of_all(void)
{
    return batch_of(ED_B);
}

static void check_gradients(const EncDecOps *ops, const char *kind, AttentionKind att,
                            Positions positions)
{
    ModelConfig cfg = encdec_config(kind, ED_L);
    cfg.positions = positions;
    Net *n = net_create(ops, &cfg, att, 7);
    Pairs p = batch_of_all();
    /* the mean over the scored tokens, as the trainer's loss (a sum of ~13
     * would put the finite differences' round-off above the floor) */
    params_zero_grad(&n->ps);
    net_forward(n, &p);
    int count = n->count;
    net_backward(n, &p, (real)1 / count);
    real *analytic = xmalloc(n->ps.total * sizeof(real));
    memcpy(analytic, n->ps.grad, n->ps.total * sizeof(real));
    double worst = 0, h = GRADCHECK_STEP;
    char where[160] = "";
    for (int k = 0; k < n->ps.count; k++) {
        const ParamView *v = &n->ps.views[k];
        size_t stride = v->size > FD_PER_TENSOR ? v->size / FD_PER_TENSOR : 1;
        double norm = 0;
        for (size_t i = 0; i < v->size; i++) norm += fabs(analytic[v->offset + i]);
        /* every tensor takes part in the loss (learned rows past T aside) */
        if (strstr(v->name, "pos.weight") == NULL)
            ck_assert_msg(norm > 0, "%s %s: %s has no gradient", kind,
                          att ? "additive" : "none", v->name);
        for (size_t i = 0; i < v->size; i += stride) {
            real *w = n->ps.value + v->offset + i, saved = *w;
            double f[4];
            const double shifts[4] = {2 * h, h, -h, -2 * h};
            for (int s = 0; s < 4; s++) {
                *w = (real)(saved + shifts[s]);
                f[s] = net_forward(n, &p) / count;
            }
            *w = saved;
            double numeric = (-f[0] + 8 * f[1] - 8 * f[2] + f[3]) / (12 * h);
            double r = rel_error(analytic[v->offset + i], numeric);
            if (r > worst) {
                worst = r;
                snprintf(where, sizeof where, "%s[%zu] %g vs %g", v->name, i,
                         analytic[v->offset + i], numeric);
            }
        }
    }
    printf("gradcheck %s (attention %s): worst relative error %.3g at %s\n", kind,
           att ? "additive" : "none", worst, where);
#ifdef SEQLAB_DOUBLE
    ck_assert_msg(worst <= GRADCHECK_TOL, "%s: worst relative error %g at %s", kind, worst, where);
#endif
    free(analytic);
    net_free(n);
}

/* each pair alone (its own S and T, no padding) against all in one batch */
static void check_padding(const EncDecOps *ops, const char *kind, AttentionKind att)
{
    ModelConfig cfg = encdec_config(kind, ED_L);
    Net *n = net_create(ops, &cfg, att, 8);
    Pairs all = batch_of_all();
    params_zero_grad(&n->ps);
    double sum_batch = net_forward(n, &all);
    net_backward(n, &all, 1);
    real *g_batch = xmalloc(n->ps.total * sizeof(real));
    memcpy(g_batch, n->ps.grad, n->ps.total * sizeof(real));
    params_zero_grad(&n->ps);
    double sum_alone = 0;
    for (int i = 0; i < ED_B; i++) {
        Pairs one;
        memset(&one, 0, sizeof one);
        one.B = 1;
        one.S = pair_src_len[i];
        one.T = pair_tgt_len[i] + 1;
        put_pair(&one, 0, i);
        sum_alone += net_forward(n, &one);
        net_backward(n, &one, 1);
    }
    ck_assert_msg(fabs(sum_batch - sum_alone) <= 1e-4 * fabs(sum_alone) + KERNEL_ATOL,
                  "%s: loss in a padded batch %.9g, alone %.9g", kind, sum_batch, sum_alone);
    assert_allclose(g_batch, n->ps.grad, n->ps.total, KERNEL_RTOL * 10, KERNEL_ATOL * 10);
    free(g_batch);
    net_free(n);
}

/* decoding with the cache, token by token, gives the teacher-forced logits */
static void check_decode(const EncDecOps *ops, const char *kind, AttentionKind att)
{
    ModelConfig cfg = encdec_config(kind, ED_L);
    Net *n = net_create(ops, &cfg, att, 9);
    Pairs p = batch_of_all();
    net_forward(n, &p);
    size_t nl = (size_t)ED_B * ED_T * n->O;
    real *full = xmalloc(nl * sizeof(real)), *step = xmalloc((size_t)ED_B * n->O * sizeof(real));
    memcpy(full, n->logits, nl * sizeof(real));
    size_t before = util_alloc_count();
    ops->encode(n->self, p.src, p.src_len, ED_B, ED_S);
    for (int t = 0; t < ED_T; t++) {
        int tok[ED_B];
        for (int b = 0; b < ED_B; b++) tok[b] = p.tgt_in[b * ED_T + t];
        ops->decode_step(n->self, step, tok, ED_B);
        for (int b = 0; b < ED_B; b++)
            assert_allclose(step + (size_t)b * n->O, full + ((size_t)b * ED_T + t) * n->O, (size_t)n->O,
                            KERNEL_RTOL, KERNEL_ATOL);
    }
    ck_assert_msg(util_alloc_count() == before, "%s: decoding allocated", kind);
    /* reorder: rows (2, 0, 0) continue as rows 2 and 0 did */
    ops->encode(n->self, p.src, p.src_len, ED_B, ED_S);
    int tok[ED_B], from[ED_B] = {2, 0, 0};
    for (int b = 0; b < ED_B; b++) tok[b] = p.tgt_in[b * ED_T];
    ops->decode_step(n->self, step, tok, ED_B);
    ops->reorder(n->self, from, ED_B);
    for (int b = 0; b < ED_B; b++) tok[b] = p.tgt_in[from[b] * ED_T + 1];
    ops->decode_step(n->self, step, tok, ED_B);
    for (int b = 0; b < ED_B; b++)
        assert_allclose(step + (size_t)b * n->O, full + ((size_t)from[b] * ED_T + 1) * n->O,
                        (size_t)n->O, KERNEL_RTOL, KERNEL_ATOL);
    /* training steps allocate nothing either */
    before = util_alloc_count();
    net_forward(n, &p);
    net_backward(n, &p, 1);
    ck_assert_msg(util_alloc_count() == before, "%s: forward/backward allocated", kind);
    free(full);
    free(step);
    net_free(n);
}

START_TEST(test_transformer_gradients)
{
    check_gradients(&transformer_encdec_ops, "transformer", ATTENTION_NONE, POSITIONS_LEARNED);
    check_gradients(&transformer_encdec_ops, "transformer", ATTENTION_NONE, POSITIONS_SINUSOIDAL);
}
END_TEST

START_TEST(test_transformer_padding)
{
    check_padding(&transformer_encdec_ops, "transformer", ATTENTION_NONE);
}
END_TEST

START_TEST(test_transformer_decode)
{
    check_decode(&transformer_encdec_ops, "transformer", ATTENTION_NONE);
}
END_TEST

/* The batch split: 5 pairs over 1 (the reference), 2, 3 and 5 spans
 * (spans of unequal sizes) give the same logits, loss and every parameter
 * gradient; twice each, so that a span's private gradients must start from
 * zero; with each pair's source length and without (NULL: all S).
 * set_parts: the model's setter. */
static void check_split(const EncDecOps *ops, const char *kind, AttentionKind att,
                        void (*set_parts)(void *self, int parts))
{
    ModelConfig cfg = encdec_config(kind, ED_L);
    Net *n = net_create(ops, &cfg, att, 10);
    Pairs p = batch_of(ED_BMAX);
    size_t nl = (size_t)ED_BMAX * ED_T * n->O;
    real *logits = xmalloc(nl * sizeof(real)), *grad = xmalloc(n->ps.total * sizeof(real));
    const int parts[4] = {1, 2, 3, ED_BMAX};
    openblas_set_num_threads(2);
    for (int with_lengths = 1; with_lengths >= 0; with_lengths--) {
        const int *src_len = with_lengths ? p.src_len : NULL;
        double loss = 0;
        for (int k = 0; k < 4; k++) {
            set_parts(n->self, parts[k]);
            size_t before = util_alloc_count();
            double sum = 0;
            for (int rep = 0; rep < 2; rep++) {
                params_zero_grad(&n->ps);
                n->ops->forward(n->self, n->logits, p.src, src_len, p.tgt_in, p.B, p.S, p.T);
                sum = softmax_xent_forward(n->probs, n->logits, p.targets, p.B * p.T, n->O,
                                           &n->count, NULL);
                memset(n->dlogits, 0, nl * sizeof(real));
                softmax_xent_backward(n->dlogits, n->probs, p.targets, p.B * p.T, n->O, 1);
                n->ops->backward(n->self, n->dlogits, p.src, src_len, p.tgt_in, p.B, p.S, p.T);
            }
            ck_assert_msg(util_alloc_count() == before, "%s: %d spans allocated", kind, parts[k]);
            if (k == 0) {
                loss = sum;
                memcpy(logits, n->logits, nl * sizeof(real));
                memcpy(grad, n->ps.grad, n->ps.total * sizeof(real));
                continue;
            }
            ck_assert_msg(fabs(sum - loss) <= SPLIT_RTOL * fabs(loss),
                          "%s %s: %d spans: loss %.9g, one span %.9g", kind,
                          att ? "additive" : "none", parts[k], sum, loss);
            assert_allclose(n->logits, logits, nl, SPLIT_RTOL, SPLIT_ATOL);
            assert_allclose(n->ps.grad, grad, n->ps.total, SPLIT_RTOL, SPLIT_ATOL);
        }
    }
    free(logits);
    free(grad);
    net_free(n);
}

START_TEST(test_transformer_split_equals_whole)
{
    check_split(&transformer_encdec_ops, "transformer", ATTENTION_NONE,
                transformer_encdec_set_parts);
}
END_TEST

START_TEST(test_transformer_names)
{
    /* docs/design.md's tensor names and shapes */
    ModelConfig cfg = encdec_config("transformer", ED_L);
    Net *n = net_create(&transformer_encdec_ops, &cfg, ATTENTION_NONE, 1);
    struct { const char *name; int r, c; } want[] = {
        {"src_embed.weight", ED_VS, ED_C}, {"tgt_embed.weight", ED_O, ED_C},
        {"src_pos.weight", ED_TMAX, ED_C}, {"tgt_pos.weight", ED_TMAX, ED_C},
        {"encoder.blocks.1.attn.qkv.weight", 3 * ED_C, ED_C},
        {"encoder.blocks.0.mlp.fc.weight", ED_F, ED_C}, {"encoder.ln_f.weight", ED_C, 0},
        {"decoder.blocks.1.self_attn.qkv.weight", 3 * ED_C, ED_C},
        {"decoder.blocks.0.cross_attn.q.weight", ED_C, ED_C},
        {"decoder.blocks.0.cross_attn.kv.weight", 2 * ED_C, ED_C},
        {"decoder.blocks.0.cross_attn.kv.bias", 2 * ED_C, 0},
        {"decoder.blocks.1.cross_attn.proj.weight", ED_C, ED_C},
        {"decoder.blocks.1.ln3.bias", ED_C, 0}, {"decoder.blocks.1.mlp.proj.weight", ED_C, ED_F},
        {"decoder.ln_f.bias", ED_C, 0}, {"head.weight", ED_O, ED_C}, {"head.bias", ED_O, 0},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        int k = params_find(&n->ps, want[i].name);
        ck_assert_msg(k >= 0, "missing %s", want[i].name);
        ck_assert_int_eq(n->ps.views[k].shape[0], want[i].r);
        if (want[i].c) ck_assert_int_eq(n->ps.views[k].shape[1], want[i].c);
        else ck_assert_int_eq(n->ps.views[k].ndim, 1);
    }
    /* 2 layers: 4 + 12 per encoder block + 2 + 20 per decoder block + 2 + 2 */
    ck_assert_int_eq(n->ps.count, 4 + 2 * 12 + 2 + 2 * 20 + 2 + 2);
    net_free(n);
}
END_TEST

/* the recurrent models: every cell, without and with attention */
static const char *const recurrent_kinds[3] = {"rnn", "lstm", "gru"};

START_TEST(test_recurrent_gradients)
{
    check_gradients(&recurrent_encdec_ops, recurrent_kinds[_i / 2],
                    _i % 2 ? ATTENTION_ADDITIVE : ATTENTION_NONE, POSITIONS_NONE);
}
END_TEST

START_TEST(test_recurrent_padding)
{
    check_padding(&recurrent_encdec_ops, recurrent_kinds[_i / 2],
                  _i % 2 ? ATTENTION_ADDITIVE : ATTENTION_NONE);
}
END_TEST

START_TEST(test_recurrent_decode)
{
    check_decode(&recurrent_encdec_ops, recurrent_kinds[_i / 2],
                 _i % 2 ? ATTENTION_ADDITIVE : ATTENTION_NONE);
}
END_TEST

START_TEST(test_recurrent_split_equals_whole)
{
    check_split(&recurrent_encdec_ops, recurrent_kinds[_i / 2],
                _i % 2 ? ATTENTION_ADDITIVE : ATTENTION_NONE, recurrent_encdec_set_parts);
}
END_TEST

START_TEST(test_recurrent_names)
{
    /* docs/design.md's tensor names and shapes: the LSTM with attention */
    ModelConfig cfg = encdec_config("lstm", ED_L);
    Net *n = net_create(&recurrent_encdec_ops, &cfg, ATTENTION_ADDITIVE, 1);
    struct { const char *name; int r, c; } want[] = {
        {"src_embed.weight", ED_VS, ED_E}, {"tgt_embed.weight", ED_O, ED_E},
        {"encoder.weight_ih_l0", 4 * ED_H, ED_E}, {"encoder.weight_hh_l1", 4 * ED_H, ED_H},
        {"encoder.bias_ih_l1", 4 * ED_H, 0}, {"decoder.weight_ih_l0", 4 * ED_H, ED_E + ED_H},
        {"decoder.weight_ih_l1", 4 * ED_H, ED_H}, {"decoder.bias_hh_l0", 4 * ED_H, 0},
        {"attn.query.weight", ED_H, ED_H}, {"attn.key.weight", ED_H, ED_H},
        {"attn.v.weight", 1, ED_H}, {"head.weight", ED_O, ED_H}, {"head.bias", ED_O, 0},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        int k = params_find(&n->ps, want[i].name);
        ck_assert_msg(k >= 0, "missing %s", want[i].name);
        ck_assert_int_eq(n->ps.views[k].shape[0], want[i].r);
        if (want[i].c) ck_assert_int_eq(n->ps.views[k].shape[1], want[i].c);
        else ck_assert_int_eq(n->ps.views[k].ndim, 1);
    }
    ck_assert_int_eq(n->ps.count, 2 + 2 * 2 * 4 + 3 + 2);
    net_free(n);
    /* without attention there are no attn.* tensors; bidirectional is refused */
    n = net_create(&recurrent_encdec_ops, &cfg, ATTENTION_NONE, 1);
    ck_assert_int_eq(params_find(&n->ps, "attn.v.weight"), -1);
    net_free(n);
    ParamSet ps;
    params_init(&ps);
    cfg.bidirectional = 1;
    char err[256] = "";
    ck_assert(recurrent_encdec_ops.create(&cfg, model_info_find("lstm")->cell, &ps, err, sizeof err) == NULL);
    ck_assert_msg(strstr(err, "bidirectional") != NULL, "%s", err);
    params_free(&ps);
}
END_TEST

static Suite *make_encdec_suite(void)
{
    Suite *s = suite_create("encdec");
    TCase *tc = tcase_create("cross_attention");
    tcase_add_test(tc, test_cross_attention_gemm_equals_loops);
    tcase_add_test(tc, test_cross_attention_finite_differences);
    suite_add_tcase(s, tc);
    tc = tcase_create("transformer");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_transformer_names);
    tcase_add_test(tc, test_transformer_gradients);
    tcase_add_test(tc, test_transformer_padding);
    tcase_add_test(tc, test_transformer_decode);
    tcase_add_test(tc, test_transformer_split_equals_whole);
    suite_add_tcase(s, tc);
    tc = tcase_create("recurrent");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_recurrent_names);
    tcase_add_loop_test(tc, test_recurrent_gradients, 0, 6);
    tcase_add_loop_test(tc, test_recurrent_padding, 0, 6);
    tcase_add_loop_test(tc, test_recurrent_decode, 0, 6);
    tcase_add_loop_test(tc, test_recurrent_split_equals_whole, 0, 6);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(make_encdec_suite());
}
