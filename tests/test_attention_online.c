/*
 * test_attention_online.c — online (O(T) memory) attention against the
 * naive one.
 *
 *   equal      the blocked online forward and backward equal attention.c's
 *              and a plain-loop full softmax in double (causal, not, and
 *              with padding), for T below, at and across the block size,
 *              every head;
 *              m and l are each row's max score and sum of e^{S - m}; the
 *              plain-loop online twin equals the blocked one
 *   gradients  finite differences of the online forward (double build),
 *              causal and not, across a block boundary
 *   memory     what the layer saves and its workspace grow linearly in T
 *   model      a Transformer with attention_impl = online equals the naive
 *              one (loss, logits, every gradient), passes finite differences
 *              (double), and its act_bytes has no T^2 term
 *
 * Masks: causal (the decoder), none, and the encoder's key padding mask
 * (Batch.lengths), each against attention.c and the plain softmax below.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_rng.h>

#include "model.h"
#include "params.h"
#include "testutil.h"
#include "transformer/attention_online.h"
#include "transformer/transformer.h"
#include "util.h"

#ifdef SEQLAB_DOUBLE
#define ONLINE_RTOL 1e-10
#define ONLINE_ATOL 1e-12
#else
/* the bar: equal to the naive attention within 1e-5 relative; the
 * absolute part covers entries that cancel to ~0 (float's eps is 1.2e-7) */
#define ONLINE_RTOL 1e-5
#define ONLINE_ATOL 1e-6
#endif

static void fill(real *a, size_t n, double amp, gsl_rng *rng)
{
    for (size_t i = 0; i < n; i++) a[i] = (real)(amp * (2 * gsl_rng_uniform(rng) - 1));
}

static gsl_rng *seeded(unsigned long seed)
{
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, seed);
    return rng;
}

/* ---- the plain full softmax, in double, causal or not -------------------- */

/* out (B,T,C), m and l (B,NH,T) of the usual two-pass softmax: the reference;
 * query t sees keys s <= t (causal) or s < lengths[b] (all T without lengths) */
static void full_forward(real *out, real *m, real *l, const real *qkv, int B, int T, int C,
                         int NH, int causal, const int *lengths)
{
    int dk = C / NH, C3 = 3 * C;
    double scale = 1.0 / sqrt((double)dk), *S = xmalloc((size_t)T * sizeof(double));
    for (int b = 0; b < B; b++)
        for (int h = 0; h < NH; h++)
            for (int t = 0; t < T; t++) {
                int n = causal ? t + 1 : lengths ? lengths[b] : T;
                const real *q = qkv + ((size_t)b * T + t) * C3 + h * dk;
                double mx = -INFINITY, sum = 0;
                for (int s = 0; s < n; s++) {
                    const real *k = qkv + ((size_t)b * T + s) * C3 + C + h * dk;
                    double dot = 0;
                    for (int i = 0; i < dk; i++) dot += (double)q[i] * k[i];
                    S[s] = dot * scale;
                    if (S[s] > mx) mx = S[s];
                }
                for (int s = 0; s < n; s++) sum += exp(S[s] - mx);
                for (int i = 0; i < dk; i++) {
                    double o = 0;
                    for (int s = 0; s < n; s++)
                        o += exp(S[s] - mx) / sum * qkv[((size_t)b * T + s) * C3 + 2 * C + h * dk + i];
                    out[((size_t)b * T + t) * C + h * dk + i] = (real)o;
                }
                m[((size_t)b * NH + h) * T + t] = (real)mx;
                l[((size_t)b * NH + h) * T + t] = (real)sum;
            }
    free(S);
}

/* dqkv (B,T,3C) += the full softmax attention's backward, in double */
static void full_backward(real *dqkv, const real *dout, const real *qkv, int B, int T, int C,
                          int NH, int causal, const int *lengths)
{
    int dk = C / NH, C3 = 3 * C;
    double scale = 1.0 / sqrt((double)dk);
    double *P = xmalloc((size_t)T * sizeof(double)), *dP = xmalloc((size_t)T * sizeof(double));
    for (int b = 0; b < B; b++)
        for (int h = 0; h < NH; h++)
            for (int t = 0; t < T; t++) {
                int n = causal ? t + 1 : lengths ? lengths[b] : T;
                const real *q = qkv + ((size_t)b * T + t) * C3 + h * dk;
                const real *dO = dout + ((size_t)b * T + t) * C + h * dk;
                double mx = -INFINITY, sum = 0, dot = 0;
                for (int s = 0; s < n; s++) {
                    const real *k = qkv + ((size_t)b * T + s) * C3 + C + h * dk;
                    double acc = 0;
                    for (int i = 0; i < dk; i++) acc += (double)q[i] * k[i];
                    P[s] = acc * scale;
                    if (P[s] > mx) mx = P[s];
                }
                for (int s = 0; s < n; s++) sum += (P[s] = exp(P[s] - mx));
                for (int s = 0; s < n; s++) {
                    const real *v = qkv + ((size_t)b * T + s) * C3 + 2 * C + h * dk;
                    real *dv = dqkv + ((size_t)b * T + s) * C3 + 2 * C + h * dk;
                    P[s] /= sum;
                    dP[s] = 0;
                    for (int i = 0; i < dk; i++) {
                        dP[s] += (double)dO[i] * v[i];
                        dv[i] += (real)(P[s] * dO[i]);
                    }
                    dot += P[s] * dP[s];
                }
                for (int s = 0; s < n; s++) {
                    double ds = P[s] * (dP[s] - dot) * scale;
                    const real *k = qkv + ((size_t)b * T + s) * C3 + C + h * dk;
                    real *dq = dqkv + ((size_t)b * T + t) * C3 + h * dk;
                    real *dkk = dqkv + ((size_t)b * T + s) * C3 + C + h * dk;
                    for (int i = 0; i < dk; i++) {
                        dq[i] += (real)(ds * k[i]);
                        dkk[i] += (real)(ds * q[i]);
                    }
                }
            }
    free(P);
    free(dP);
}

/* ---- online = naive ------------------------------------------------------- */

/* one shape: online forward/backward against the full softmax (and, causal,
 * against attention.c), starting the gradients from the same non-zero values */
static void check_equal(int B, int T, int C, int NH, int causal, const int *lengths,
                        unsigned long seed)
{
    size_t nqkv = (size_t)B * T * 3 * C, nout = (size_t)B * T * C, nst = (size_t)B * NH * T;
    real *qkv = xmalloc(nqkv * sizeof(real)), *dout = xmalloc(nout * sizeof(real));
    real *o1 = xmalloc(nout * sizeof(real)), *o2 = xmalloc(nout * sizeof(real));
    real *m1 = xmalloc(nst * sizeof(real)), *m2 = xmalloc(nst * sizeof(real));
    real *l1 = xmalloc(nst * sizeof(real)), *l2 = xmalloc(nst * sizeof(real));
    real *d1 = xmalloc(nqkv * sizeof(real)), *d2 = xmalloc(nqkv * sizeof(real));
    real *scratch = xmalloc(attention_online_scratch_len(T) * sizeof(real));
    gsl_rng *rng = seeded(seed);
    fill(qkv, nqkv, 2.0, rng);          /* scores of order 1: peaked rows */
    fill(dout, nout, 1.0, rng);
    real *d0 = xmalloc(nqkv * sizeof(real));      /* the gradients' common start */
    fill(d0, nqkv, 1.0, rng);
    memcpy(d1, d0, nqkv * sizeof(real));
    memcpy(d2, d0, nqkv * sizeof(real));

    attention_online_forward(o1, m1, l1, scratch, qkv, B, T, C, NH, causal, lengths);
    full_forward(o2, m2, l2, qkv, B, T, C, NH, causal, lengths);
    assert_allclose(o1, o2, nout, ONLINE_RTOL, ONLINE_ATOL);
    /* m_t = the row's largest score, l_t = sum_s e^{S - m_t} >= 1 */
    assert_allclose(m1, m2, nst, ONLINE_RTOL, ONLINE_ATOL);
    assert_allclose(l1, l2, nst, ONLINE_RTOL, ONLINE_ATOL);
    attention_online_backward(d1, scratch, dout, o1, qkv, m1, l1, B, T, C, NH, causal, lengths);
    full_backward(d2, dout, qkv, B, T, C, NH, causal, lengths);
    assert_allclose(d1, d2, nqkv, ONLINE_RTOL, ONLINE_ATOL);

    {
        /* and attention.c itself, forward and backward, with the same mask */
        real *P = xmalloc((size_t)B * NH * T * T * sizeof(real));
        real *tt = xmalloc((size_t)T * T * sizeof(real));
        real *d3 = xmalloc(nqkv * sizeof(real));
        attention_forward(o2, P, qkv, B, T, C, NH, causal, lengths);
        assert_allclose(o1, o2, nout, ONLINE_RTOL, ONLINE_ATOL);
        memcpy(d3, d0, nqkv * sizeof(real));
        attention_backward(d3, tt, dout, qkv, P, B, T, C, NH, causal, lengths);
        assert_allclose(d1, d3, nqkv, ONLINE_RTOL, ONLINE_ATOL);
        free(P); free(tt); free(d3);
    }
    /* the plain-loop twin, one key at a time */
    attention_online_forward_ref(o2, m2, l2, qkv, B, T, C, NH, causal, lengths);
    assert_allclose(o1, o2, nout, ONLINE_RTOL, ONLINE_ATOL);
    assert_allclose(m1, m2, nst, ONLINE_RTOL, ONLINE_ATOL);
    assert_allclose(l1, l2, nst, ONLINE_RTOL, ONLINE_ATOL);

    gsl_rng_free(rng);
    free(qkv); free(dout); free(o1); free(o2); free(m1); free(m2); free(l1); free(l2);
    free(d0); free(d1); free(d2); free(scratch);
}

/* T: one position; under one block; exactly one block; one past it; two
 * blocks and a bit; heads: 3 of dk = 4 (every head is compared) */
static const int equal_T[] = {1, 5, 63, 64, 65, 150};

START_TEST(test_online_equals_naive_causal)
{
    for (size_t i = 0; i < sizeof equal_T / sizeof equal_T[0]; i++)
        check_equal(2, equal_T[i], 12, 3, 1, NULL, 100 + i);
}
END_TEST

START_TEST(test_online_equals_naive_bidirectional)
{
    for (size_t i = 0; i < sizeof equal_T / sizeof equal_T[0]; i++)
        check_equal(2, equal_T[i], 12, 3, 0, NULL, 200 + i);
}
END_TEST

START_TEST(test_online_equals_naive_padded)
{
    /* the encoder's key padding mask: row 0 has n real tokens, row 1 all T;
     * n on both sides of a tile edge */
    for (size_t i = 0; i < sizeof equal_T / sizeof equal_T[0]; i++) {
        int T = equal_T[i], lengths[2] = {T > 3 ? T - 3 : 1, T};
        check_equal(2, T, 12, 3, 0, lengths, 250 + i);
        lengths[0] = T > 64 ? 64 : (T + 1) / 2;
        check_equal(2, T, 12, 3, 0, lengths, 260 + i);
        /* causal ignores the lengths: padding comes after the real tokens */
        check_equal(2, T, 12, 3, 1, lengths, 270 + i);
    }
}
END_TEST

START_TEST(test_online_equals_naive_long)
{
    /* 1,000 positions, 4 heads of dk = 16: 16 key blocks per row, the
     * running max moving many times */
    check_equal(1, 1000, 64, 4, 1, NULL, 300);
    check_equal(1, 1000, 64, 4, 0, NULL, 301);
}
END_TEST

START_TEST(test_masked_tiles_and_single_position)
{
    /* T = 1: the only key is the query's own: o_0 = v_0, m_0 = S[0,0], l_0 = 1 */
    enum { C = 4, NH = 2 };
    real qkv[3 * C] = {0.3, -0.7, 1.1, 0.2, 0.5, 0.9, -0.4, 0.6,
                       1.5, -2.5, 0.25, 4.0};
    real out[C], m[NH], l[NH], scratch[2 * ATTENTION_ONLINE_BLOCK * ATTENTION_ONLINE_BLOCK + 1];
    attention_online_forward(out, m, l, scratch, qkv, 1, 1, C, NH, 1, NULL);
    assert_allclose(out, qkv + 2 * C, C, ONLINE_RTOL, ONLINE_ATOL);
    /* head 0: (0.3*0.5 - 0.7*0.9) / sqrt 2; head 1: (1.1*-0.4 + 0.2*0.6) / sqrt 2 */
    real m_hand[NH] = {(real)((0.15 - 0.63) / sqrt(2.0)), (real)((-0.44 + 0.12) / sqrt(2.0))};
    real l_hand[NH] = {1, 1};
    assert_allclose(m, m_hand, NH, ONLINE_RTOL, ONLINE_ATOL);
    assert_allclose(l, l_hand, NH, ONLINE_RTOL, ONLINE_ATOL);
}
END_TEST

/* ---- finite differences ---------------------------------------------------- */

enum { GB = 1, GT = 70, GC = 6, GNH = 2 };     /* two blocks (64 + 6), dk = 3 */

static double online_loss(const real *qkv, const real *R, real *scratch, int causal,
                          const int *lengths)
{
    static real out[GB * GT * GC], m[GB * GNH * GT], l[GB * GNH * GT];
    attention_online_forward(out, m, l, scratch, qkv, GB, GT, GC, GNH, causal, lengths);
    double L = 0;
    for (size_t i = 0; i < (size_t)GB * GT * GC; i++) L += (double)out[i] * R[i];
    return L;
}

static void gradcheck_online(int causal, const int *lengths, unsigned long seed)
{
    size_t nqkv = (size_t)GB * GT * 3 * GC, nout = (size_t)GB * GT * GC;
    real *qkv = xmalloc(nqkv * sizeof(real)), *R = xmalloc(nout * sizeof(real));
    real *out = xmalloc(nout * sizeof(real)), *dqkv = xcalloc(nqkv, sizeof(real));
    real m[GB * GNH * GT], l[GB * GNH * GT];
    real *scratch = xmalloc(attention_online_scratch_len(GT) * sizeof(real));
    gsl_rng *rng = seeded(seed);
    fill(qkv, nqkv, 2.0, rng);
    fill(R, nout, 1.0, rng);
    attention_online_forward(out, m, l, scratch, qkv, GB, GT, GC, GNH, causal, lengths);
    attention_online_backward(dqkv, scratch, R, out, qkv, m, l, GB, GT, GC, GNH, causal, lengths);
    double worst = 0, h = GRADCHECK_STEP, f0 = online_loss(qkv, R, scratch, causal, lengths);
    size_t worst_at = 0;
    for (size_t i = 0; i < nqkv; i++) {
        real s = qkv[i];
        const double shift[4] = {2 * h, h, -h, -2 * h};
        double f[4];
        for (int k = 0; k < 4; k++) {
            qkv[i] = (real)(s + shift[k]);
            f[k] = online_loss(qkv, R, scratch, causal, lengths) - f0;
        }
        qkv[i] = s;
        double num = (-f[0] + 8 * f[1] - 8 * f[2] + f[3]) / (12 * h);
        double r = rel_error(dqkv[i], num);
        if (r > worst) { worst = r; worst_at = i; }
    }
    printf("online attention (%s%s): worst relative error %.3g at qkv[%zu]\n",
           causal ? "causal" : "bidirectional", lengths ? ", padded" : "", worst, worst_at);
#ifdef SEQLAB_DOUBLE
    ck_assert_msg(worst <= GRADCHECK_TOL, "online attention: worst relative error %g at qkv[%zu]",
                  worst, worst_at);
#endif
    gsl_rng_free(rng);
    free(qkv); free(R); free(out); free(dqkv); free(scratch);
}

START_TEST(test_online_gradcheck_causal)
{
    gradcheck_online(1, NULL, 400);
}
END_TEST

START_TEST(test_online_gradcheck_bidirectional)
{
    gradcheck_online(0, NULL, 401);
}
END_TEST

START_TEST(test_online_gradcheck_padded)
{
    /* 67 of 70 real tokens: the padding's keys get no gradient, the real
     * ones do (and the padding's queries are computed like attention.c's) */
    int lengths[GB] = {67};
    gradcheck_online(0, lengths, 402);
}
END_TEST

/* ---- memory ---------------------------------------------------------------- */

START_TEST(test_saved_bytes_linear_in_T)
{
    /* saved(T) = (B T C + 2 B NH T) reals: out plus m and l */
    enum { B = 3, C = 12, NH = 3 };
    for (int T = 1; T <= 8192; T *= 2)
        ck_assert_uint_eq(attention_online_saved_bytes(B, T, C, NH),
                          ((size_t)B * T * C + 2 * (size_t)B * NH * T) * sizeof(real));
    /* no T^2 term: equal steps in T add equal bytes */
    size_t s1 = attention_online_saved_bytes(B, 1000, C, NH);
    size_t s2 = attention_online_saved_bytes(B, 2000, C, NH);
    size_t s3 = attention_online_saved_bytes(B, 3000, C, NH);
    ck_assert_uint_eq(s3 - s2, s2 - s1);
    /* the workspace: two (block, block) tiles and one row of T */
    ck_assert_uint_eq(attention_online_scratch_len(8192) - attention_online_scratch_len(4096), 4096);
    ck_assert_uint_eq(attention_online_scratch_len(0),
                      2 * ATTENTION_ONLINE_BLOCK * ATTENTION_ONLINE_BLOCK);
}
END_TEST


/* ---- in the Transformer: attention_impl = online ------------------------- */

/* small odd sizes; T = 70 crosses a block edge inside the model */
enum { MV = 7, MC = 6, MNH = 2, MF = 10, ML = 2, MB = 2, MT = 70 };

static ModelConfig online_config(AttentionImpl impl)
{
    ModelConfig cfg;
    memset(&cfg, 0, sizeof cfg);
    snprintf(cfg.kind, sizeof cfg.kind, "transformer");
    cfg.vocab_size = MV;
    cfg.output_size = MV;
    cfg.embed_dim = MC;
    cfg.hidden_size = MC;
    cfg.num_layers = ML;
    cfg.num_heads = MNH;
    cfg.ffn_size = MF;
    cfg.max_seq_len = MT;
    cfg.positions = POSITIONS_SINUSOIDAL;
    cfg.attention_impl = impl;
    return cfg;
}

#ifdef SEQLAB_DOUBLE
#define MODEL_RTOL 1e-10
#define MODEL_ATOL 1e-12
#else
/* two layers of float arithmetic in a different order around the attention */
#define MODEL_RTOL 1e-4
#define MODEL_ATOL 1e-6
#endif

/* one architecture: the naive and the online model from the same seed give
 * the same loss, logits and gradients; lengths (MB) pads the batch or NULL */
static void check_model_equal(Architecture arch, int *lengths)
{
    ModelConfig cn = online_config(ATTENTION_IMPL_NAIVE), co = online_config(ATTENTION_IMPL_ONLINE);
    cn.architecture = co.architecture = arch;
    Model *naive = test_model(&cn, MB, MT, 7), *online = test_model(&co, MB, MT, 7);
    Batch *batch = test_token_batch(MB, MT, MV, MV, 8);
    batch->lengths = lengths;
    ck_assert_uint_eq(naive->params.total, online->params.total);
    assert_allclose(online->params.value, naive->params.value, naive->params.total, 0, 0);
    params_zero_grad(&naive->params);
    params_zero_grad(&online->params);
    double ln = model_forward(naive, batch), lo = model_forward(online, batch);
    ck_assert_double_eq_tol(lo, ln, MODEL_RTOL * fabs(ln));
    assert_allclose(online->logits, naive->logits, (size_t)MB * MT * MV, MODEL_RTOL, MODEL_ATOL);
    model_backward(naive, batch);
    model_backward(online, batch);
    assert_allclose(online->params.grad, naive->params.grad, naive->params.total, MODEL_RTOL,
                    MODEL_ATOL);
    /* the online model keeps no weights to plot */
    const real *w;
    int L, NH, B, T;
    ck_assert_int_eq(transformer_attention(online->body, &w, &L, &NH, &B, &T), -1);
    ck_assert_int_eq(transformer_attention(naive->body, &w, &L, &NH, &B, &T), 0);
    batch->lengths = NULL;
    batch_free(batch);
    model_free(naive);
    model_free(online);
}

START_TEST(test_model_online_equals_naive)
{
    check_model_equal(ARCH_DECODER, NULL);
    /* the encoder (no causal mask), its first row padded after 41 tokens */
    int lengths[MB] = {41, MT};
    check_model_equal(ARCH_ENCODER, lengths);
}
END_TEST

START_TEST(test_model_online_gradcheck)
{
    ModelConfig cfg = online_config(ATTENTION_IMPL_ONLINE);
    Model *m = test_model(&cfg, MB, MT, 9);
    Batch *batch = test_token_batch(MB, MT, MV, MV, 10);
    GradCheck g = gradcheck_model(m, batch, 12);
    printf("transformer, online attention: %zu gradients, worst relative error %.3g at %s\n",
           g.checked, g.worst, g.where);
#ifdef SEQLAB_DOUBLE
    ck_assert_msg(g.worst <= GRADCHECK_TOL, "worst relative error %g at %s", g.worst, g.where);
#endif
    batch_free(batch);
    model_free(m);
}
END_TEST

START_TEST(test_model_act_bytes_linear_in_T)
{
    /* act_bytes(T) = a + b T + q T^2; the second difference over T0, 2T0,
     * 3T0 is 2 q T0^2: exactly 0 with online attention, and at least the
     * probabilities L B NH (2 T0^2) reals with naive attention */
    enum { T0 = 96 };
    size_t bytes[2][3];
    for (int impl = 0; impl < 2; impl++)
        for (int k = 0; k < 3; k++) {
            ModelConfig cfg = online_config(impl ? ATTENTION_IMPL_ONLINE : ATTENTION_IMPL_NAIVE);
            cfg.max_seq_len = 3 * T0;
            Model *m = test_model(&cfg, MB, (k + 1) * T0, 1);
            bytes[impl][k] = m->body_ops->act_bytes(m->body);
            /* the attention's own part: the probabilities, or the row
             * statistics m and l */
            size_t want = (size_t)ML * MB * MNH * (size_t)((k + 1) * T0) * sizeof(real) *
                          (impl ? 2 : (size_t)((k + 1) * T0));
            ck_assert_uint_eq(model_attention_bytes(m), want);
            model_free(m);
        }
    double naive = (double)bytes[0][2] - 2.0 * bytes[0][1] + (double)bytes[0][0];
    double online = (double)bytes[1][2] - 2.0 * bytes[1][1] + (double)bytes[1][0];
    printf("act bytes at T = %d, %d, %d: naive %zu %zu %zu, online %zu %zu %zu\n", T0, 2 * T0,
           3 * T0, bytes[0][0], bytes[0][1], bytes[0][2], bytes[1][0], bytes[1][1], bytes[1][2]);
    ck_assert_double_eq(online, 0);
    ck_assert_double_ge(naive, 2.0 * ML * MB * MNH * T0 * T0 * sizeof(real));
    /* and what online saves per layer beyond the naive model's linear terms
     * is the statistics m and l: the attention output is there in both */
    ck_assert_uint_lt(bytes[1][2], bytes[0][2]);
}
END_TEST

static Suite *make_attention_online_suite(void)
{
    Suite *s = suite_create("attention_online");
    TCase *equal = tcase_create("equal");
    tcase_set_timeout(equal, 60);
    tcase_add_test(equal, test_online_equals_naive_causal);
    tcase_add_test(equal, test_online_equals_naive_bidirectional);
    tcase_add_test(equal, test_online_equals_naive_padded);
    tcase_add_test(equal, test_online_equals_naive_long);
    tcase_add_test(equal, test_masked_tiles_and_single_position);
    suite_add_tcase(s, equal);
    TCase *grads = tcase_create("gradients");
    tcase_set_timeout(grads, 60);
    tcase_add_test(grads, test_online_gradcheck_causal);
    tcase_add_test(grads, test_online_gradcheck_bidirectional);
    tcase_add_test(grads, test_online_gradcheck_padded);
    suite_add_tcase(s, grads);
    TCase *memory = tcase_create("memory");
    tcase_add_test(memory, test_saved_bytes_linear_in_T);
    suite_add_tcase(s, memory);
    TCase *model = tcase_create("model");
    tcase_set_timeout(model, 120);
    tcase_add_test(model, test_model_online_equals_naive);
    tcase_add_test(model, test_model_online_gradcheck);
    tcase_add_test(model, test_model_act_bytes_linear_in_T);
    suite_add_tcase(s, model);
    return s;
}

int main(void)
{
    return run_suite(make_attention_online_suite());
}
