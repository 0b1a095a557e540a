/*
 * test_parallel.c — the batch split (core/parallel.c): parallel_run runs
 * every part once, on distinct threads, and restores OpenBLAS's thread
 * count; spans cover the rows exactly; parallel_parts keeps to its rule and
 * parallel_join adds the spans' private gradients and zeroes them; the
 * Transformer split over 2, 3 or 5 spans of sequences computes what one
 * span computes (the recurrent models check their split in
 * recurrent_checks.h, the encoder–decoder in test_encdec.c); and the head
 * and loss split over spans of rows computes what one thread computes.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "ops.h"
#include "parallel.h"
#include "recurrent.h"
#include "testutil.h"
#include "transformer/transformer.h"
#include "util.h"

extern int openblas_get_num_threads(void);
extern void openblas_set_num_threads(int num_threads);

#ifdef SEQLAB_DOUBLE
/* the spans sum parameter gradients in a different order */
#define SPLIT_RTOL 1e-11
#define SPLIT_ATOL 1e-13
#else
#define SPLIT_RTOL 2e-5
#define SPLIT_ATOL 1e-6
#endif

#define PT_V 13
#define PT_C 8
#define PT_B 5
#define PT_T 7

typedef struct Seen {
    int calls[PARALLEL_MAX_PARTS];
    pthread_t who[PARALLEL_MAX_PARTS];
    int blas_threads[PARALLEL_MAX_PARTS];
} Seen;

static void note_part(void *arg, int p)
{
    Seen *s = arg;
    s->calls[p]++;
    s->who[p] = pthread_self();
    s->blas_threads[p] = openblas_get_num_threads();
}

START_TEST(test_parallel_run_runs_each_part_once)
{
    openblas_set_num_threads(2);
    for (int parts = 1; parts <= 5; parts++) {
        Seen s;
        memset(&s, 0, sizeof s);
        parallel_run(parts, note_part, &s);
        for (int p = 0; p < PARALLEL_MAX_PARTS; p++) ck_assert_int_eq(s.calls[p], p < parts ? 1 : 0);
        ck_assert(pthread_equal(s.who[0], pthread_self()));
        for (int p = 1; p < parts; p++) {
            ck_assert(!pthread_equal(s.who[p], pthread_self()));
            /* BLAS is single-threaded inside a split ... */
            ck_assert_int_eq(s.blas_threads[p], 1);
        }
        /* ... and as before after it */
        ck_assert_int_eq(openblas_get_num_threads(), 2);
    }
}
END_TEST

START_TEST(test_spans_cover_rows)
{
    for (int n = 1; n <= 40; n++)
        for (int parts = 1; parts <= (n < PARALLEL_MAX_PARTS ? n : PARALLEL_MAX_PARTS); parts++) {
            int next = 0;
            for (int p = 0; p < parts; p++) {
                int lo, hi;
                parallel_span(n, parts, p, &lo, &hi);
                ck_assert_int_eq(lo, next);
                /* as even as possible: sizes differ by at most one */
                ck_assert(hi - lo == n / parts || hi - lo == n / parts + 1);
                next = hi;
            }
            ck_assert_int_eq(next, n);
        }
}
END_TEST

START_TEST(test_parallel_parts_rule)
{
    openblas_set_num_threads(2);
    if (REFERENCE_BUILD) {
        ck_assert_int_eq(parallel_parts(3, 8, 4096, 4), 1);
        return;
    }
    /* asked: that many, within the spans sized and the batch's sequences */
    ck_assert_int_eq(parallel_parts(3, 8, 64, 4), 3);
    ck_assert_int_eq(parallel_parts(5, 8, 64, 4), 4);
    ck_assert_int_eq(parallel_parts(5, 3, 64, 8), 3);
    /* by default one per BLAS thread, but no span under PARALLEL_MIN_ROWS rows */
    ck_assert_int_eq(parallel_parts(0, 32, 32 * 64, 2), 2);
    ck_assert_int_eq(parallel_parts(0, 8, 2 * PARALLEL_MIN_ROWS - 1, 2), 1);
    ck_assert_int_eq(parallel_parts(0, 8, 2 * PARALLEL_MIN_ROWS, 2), 2);
    ck_assert_int_eq(parallel_parts(0, 32, 32 * 64, 1), 1);
    ck_assert_int_eq(parallel_parts(0, 1, 32 * 64, 2), 1);
    openblas_set_num_threads(1);
    ck_assert_int_eq(parallel_parts(0, 32, 32 * 64, 2), 1);
    openblas_set_num_threads(2);
}
END_TEST

START_TEST(test_parallel_join_adds_and_zeroes)
{
    enum { LEN = 37, PARTS = 3 };
    real grad[LEN], priv[(PARTS - 1) * LEN], want[LEN];
    for (int i = 0; i < LEN; i++) {
        grad[i] = (real)(0.5 * i - 3);
        want[i] = grad[i];
        for (int s = 0; s < PARTS - 1; s++) {
            priv[s * LEN + i] = (real)(0.25 * (s + 1) * i + 1);
            want[i] += priv[s * LEN + i];
        }
    }
    parallel_join(grad, priv, LEN, PARTS);
    assert_allclose(grad, want, LEN, SPLIT_RTOL, SPLIT_ATOL);
    for (int i = 0; i < (PARTS - 1) * LEN; i++) ck_assert(priv[i] == 0);
    /* one span: nothing to join */
    parallel_join(grad, priv, LEN, 1);
    assert_allclose(grad, want, LEN, SPLIT_RTOL, SPLIT_ATOL);
}
END_TEST

static ModelConfig transformer_config(void)
{
    ModelConfig cfg;
    memset(&cfg, 0, sizeof cfg);
    snprintf(cfg.kind, sizeof cfg.kind, "transformer");
    cfg.vocab_size = PT_V;
    cfg.output_size = PT_V;
    cfg.embed_dim = PT_C;
    cfg.hidden_size = PT_C;
    cfg.num_layers = 2;
    cfg.num_heads = 2;
    cfg.ffn_size = 12;
    cfg.max_seq_len = PT_T;
    cfg.positions = POSITIONS_LEARNED;
    return cfg;
}

START_TEST(test_transformer_split_equals_whole)
{
    ModelConfig cfg = transformer_config();
    Model *m = test_model(&cfg, PT_B, PT_T, 21);
    Batch *batch = test_token_batch(PT_B, PT_T, PT_V, PT_V, 22);
    ParamSet *ps = &m->params;
    size_t nz = (size_t)PT_B * PT_T * PT_V, nx = (size_t)PT_B * PT_T * PT_C;
    real *z = xmalloc(nz * sizeof(real)), *g = xmalloc(ps->total * sizeof(real));
    real *dx = xmalloc(nx * sizeof(real)), *norms = xmalloc(PT_T * sizeof(real));
    const int parts[4] = {1, 2, 3, PT_B};
    openblas_set_num_threads(2);
    for (int k = 0; k < 4; k++) {
        transformer_set_parts(m->body, parts[k]);
        /* twice, so that a span's private gradients must start from zero */
        for (int rep = 0; rep < 2; rep++) {
            params_zero_grad(ps);
            model_forward(m, batch);
            model_backward(m, batch);
        }
        const char *const *names;
        const real *nr;
        ck_assert_int_eq(m->body_ops->grad_norms(m->body, &names, &nr), 1);
        if (k == 0) {
            memcpy(z, m->logits, nz * sizeof(real));
            memcpy(g, ps->grad, ps->total * sizeof(real));
            memcpy(dx, m->dx, nx * sizeof(real));
            memcpy(norms, nr, PT_T * sizeof(real));
        } else {
            assert_allclose(m->logits, z, nz, SPLIT_RTOL, SPLIT_ATOL);
            assert_allclose(ps->grad, g, ps->total, SPLIT_RTOL, SPLIT_ATOL);
            assert_allclose(m->dx, dx, nx, SPLIT_RTOL, SPLIT_ATOL);
            assert_allclose(nr, norms, PT_T, SPLIT_RTOL, SPLIT_ATOL);
        }
    }
    free(z);
    free(g);
    free(dx);
    free(norms);
    batch_free(batch);
    model_free(m);
}
END_TEST

/* The head and the loss over spans of rows (model.c): with 2 threads and
 * 8 x 160 = 1280 rows (2 spans of 640, above the split's 512 a span), the
 * loss, the logits, every gradient and dL/dx equal one thread's; some
 * targets ignored, so the spans count different numbers of rows.  The RNN
 * body is kept in one span, so only the head is split. */
START_TEST(test_head_split_equals_whole)
{
    enum { HB = 8, HT = 160 };
    ModelConfig cfg;
    memset(&cfg, 0, sizeof cfg);
    snprintf(cfg.kind, sizeof cfg.kind, "rnn");
    cfg.vocab_size = PT_V;
    cfg.output_size = PT_V;
    cfg.embed_dim = PT_C;
    cfg.hidden_size = PT_C;
    cfg.num_layers = 1;
    Model *m = test_model(&cfg, HB, HT, 23);
    recurrent_set_parts(m->body, 1);
    Batch *batch = test_token_batch(HB, HT, PT_V, PT_V, 24);
    for (int i = 0; i < HB * HT; i += 7) batch->targets[i] = TARGET_IGNORE;
    ParamSet *ps = &m->params;
    size_t nz = (size_t)HB * HT * PT_V, nx = (size_t)HB * HT * PT_C;
    real *z = xmalloc(nz * sizeof(real)), *g = xmalloc(ps->total * sizeof(real));
    real *dx = xmalloc(nx * sizeof(real));
    double loss = 0;
    int count = 0, correct = 0;
    int saved = openblas_get_num_threads();
    for (int threads = 1; threads <= 2; threads++) {
        openblas_set_num_threads(threads);
        /* twice, so that a span's private gradients must start from zero */
        for (int rep = 0; rep < 2; rep++) {
            params_zero_grad(ps);
            model_forward(m, batch);
            model_backward(m, batch);
        }
        if (threads == 1) {
            loss = m->loss;
            count = m->count;
            correct = m->correct;
            memcpy(z, m->logits, nz * sizeof(real));
            memcpy(g, ps->grad, ps->total * sizeof(real));
            memcpy(dx, m->dx, nx * sizeof(real));
        } else {
            ck_assert_double_eq_tol(m->loss, loss, 1e-12 * loss);
            ck_assert_int_eq(m->count, count);
            ck_assert_int_eq(m->correct, correct);
            assert_allclose(m->logits, z, nz, SPLIT_RTOL, SPLIT_ATOL);
            assert_allclose(ps->grad, g, ps->total, SPLIT_RTOL, SPLIT_ATOL);
            assert_allclose(m->dx, dx, nx, SPLIT_RTOL, SPLIT_ATOL);
        }
    }
    int scored = 0;
    for (int i = 0; i < HB * HT; i++) scored += batch->targets[i] != TARGET_IGNORE;
    ck_assert_int_eq(count, scored);
    openblas_set_num_threads(saved);
    free(z);
    free(g);
    free(dx);
    batch_free(batch);
    model_free(m);
}
END_TEST

static Suite *make_parallel_suite(void)
{
    Suite *s = suite_create("parallel");
    TCase *tc = tcase_create("batch split");
    tcase_add_test(tc, test_parallel_run_runs_each_part_once);
    tcase_add_test(tc, test_spans_cover_rows);
    tcase_add_test(tc, test_parallel_parts_rule);
    tcase_add_test(tc, test_parallel_join_adds_and_zeroes);
    tcase_add_test(tc, test_transformer_split_equals_whole);
    tcase_add_test(tc, test_head_split_equals_whole);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(make_parallel_suite());
}
