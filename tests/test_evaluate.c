/*
 * test_evaluate.c — the windowed loss of `seqlab eval` (core/evaluate.c):
 * the window count, equality with a plain loop that scores each window on
 * its own (one row, copied tokens), independence from the batch size,
 * the per-position losses averaging to the total, unscored tail tokens,
 * and the too-short text.  Agreement with PyTorch is in test_fixtures.c.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_rng.h>

#include "evaluate.h"
#include "registry.h"
#include "testutil.h"
#include "util.h"

#define EV_V 13     /* vocabulary */
#define EV_T 6      /* window length */
#define EV_N 47     /* ids: 7 windows of 6 (43 ids used), 4 left unscored */
/* different batch shapes sum in a different order: float round-off only */
#ifdef SEQLAB_DOUBLE
#define EVAL_SAME_RTOL 1e-12
#else
#define EVAL_SAME_RTOL 2e-6
#endif

static ModelConfig eval_config(const char *kind)
{
    ModelConfig cfg;
    memset(&cfg, 0, sizeof cfg);
    strcpy(cfg.kind, kind);
    cfg.vocab_size = EV_V;
    cfg.output_size = EV_V;
    cfg.embed_dim = 6;
    cfg.hidden_size = 6;
    cfg.num_layers = 2;
    cfg.num_heads = 2;
    cfg.ffn_size = 10;
    cfg.max_seq_len = EV_T + 3;  /* windows shorter than the table */
    cfg.positions = POSITIONS_SINUSOIDAL;
    cfg.init_scale = 1;
    return cfg;
}

static int *random_ids(long n, unsigned long seed)
{
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, seed);
    int *ids = xmalloc((size_t)n * sizeof *ids);
    for (long i = 0; i < n; i++) ids[i] = (int)gsl_rng_uniform_int(rng, EV_V);
    gsl_rng_free(rng);
    return ids;
}

/* the rule written out: window i alone, in a batch of one, tokens copied */
static double loop_reference(Model *m, const int *ids, long n, int T, double *loss_at)
{
    Batch *b = batch_alloc(1, T, 0, 0);
    double sum = 0;
    long windows = 0;
    for (int t = 0; t < T; t++) loss_at[t] = 0;
    for (long i = 0; i * T + T + 1 <= n; i++, windows++) {
        for (int t = 0; t < T; t++) {
            b->tokens[t] = ids[i * T + t];
            b->targets[t] = ids[i * T + t + 1];
        }
        sum += model_forward(m, b) * T;
        /* each position alone: only target t counts */
        for (int t = 0; t < T; t++) {
            for (int u = 0; u < T; u++) b->targets[u] = u == t ? ids[i * T + u + 1] : TARGET_IGNORE;
            loss_at[t] += model_forward(m, b);
        }
    }
    for (int t = 0; t < T; t++) loss_at[t] /= (double)windows;
    batch_free(b);
    return sum / ((double)windows * T);
}

static int close_to(double a, double e, double rtol)
{
    return fabs(a - e) <= rtol * fabs(e);
}

START_TEST(test_window_count)
{
    /* windows i with iT + T + 1 <= n */
    ck_assert_int_eq(evaluate_window_count(0, 4), 0);
    ck_assert_int_eq(evaluate_window_count(4, 4), 0);
    ck_assert_int_eq(evaluate_window_count(5, 4), 1);
    ck_assert_int_eq(evaluate_window_count(8, 4), 1);
    ck_assert_int_eq(evaluate_window_count(9, 4), 2);
    ck_assert_int_eq(evaluate_window_count(EV_N, EV_T), 7);
}
END_TEST

static const char *const kinds[] = {"rnn", "transformer"};

START_TEST(test_matches_loop_and_batch_size)
{
    const char *kind = kinds[_i];
    ck_assert_ptr_nonnull(model_info_find(kind));
    ModelConfig cfg = eval_config(kind);
    int *ids = random_ids(EV_N, 3);
    double ref_at[EV_T];
    Model *one = test_model(&cfg, 1, EV_T, 21);
    double ref = loop_reference(one, ids, EV_N, EV_T, ref_at);
    /* batch sizes 1, 3 (7 = 3 + 3 + 1: a partial batch), 7 and 16 (> windows) */
    const int batch_sizes[] = {1, 3, 7, 16};
    for (size_t k = 0; k < sizeof batch_sizes / sizeof batch_sizes[0]; k++) {
        Model *m = test_model(&cfg, batch_sizes[k], EV_T, 21);
        long tokens;
        double loss = evaluate_windows(m, ids, EV_N, EV_T, &tokens);
        ck_assert_int_eq(tokens, 7 * EV_T);
        ck_assert_msg(close_to(loss, ref, EVAL_SAME_RTOL), "%s B=%d: %.12g vs loop %.12g", kind,
                      batch_sizes[k], loss, ref);
        double at[EV_T], mean = 0;
        long windows;
        ck_assert_int_eq(evaluate_position_loss(m, ids, EV_N, EV_T, at, &windows), 0);
        ck_assert_int_eq(windows, 7);
        for (int t = 0; t < EV_T; t++) {
            ck_assert_msg(close_to(at[t], ref_at[t], EVAL_SAME_RTOL), "%s B=%d t=%d: %.12g vs %.12g",
                          kind, batch_sizes[k], t, at[t], ref_at[t]);
            mean += at[t] / EV_T;
        }
        /* every position has the same number of windows: the means agree */
        ck_assert_msg(close_to(mean, loss, EVAL_SAME_RTOL), "%.12g vs %.12g", mean, loss);
        model_free(m);
    }
    model_free(one);
    free(ids);
}
END_TEST

/* the ids after the last full window are never read: changing them
 * changes nothing, changing a scored one does */
START_TEST(test_tail_unscored_and_short_text)
{
    ModelConfig cfg = eval_config("rnn");
    Model *m = test_model(&cfg, 4, EV_T, 22);
    int *ids = random_ids(EV_N, 4);
    long tokens;
    double loss = evaluate_windows(m, ids, EV_N, EV_T, &tokens);
    for (long j = 7 * EV_T + 1; j < EV_N; j++) ids[j] = (ids[j] + 5) % EV_V;
    ck_assert(evaluate_windows(m, ids, EV_N, EV_T, NULL) == loss);
    ids[7 * EV_T] = (ids[7 * EV_T] + 5) % EV_V;  /* the last target */
    ck_assert(evaluate_windows(m, ids, EV_N, EV_T, NULL) != loss);
    /* shorter than one window plus its target: nothing to score */
    ck_assert(isnan(evaluate_windows(m, ids, EV_T, EV_T, &tokens)));
    ck_assert_int_eq(tokens, 0);
    double at[EV_T];
    long windows = 99;
    ck_assert_int_eq(evaluate_position_loss(m, ids, EV_T, EV_T, at, &windows), -1);
    ck_assert_int_eq(windows, 0);
    /* a window shorter than the activations were sized for */
    ck_assert(isfinite(evaluate_windows(m, ids, EV_N, 4, &tokens)));
    ck_assert_int_eq(tokens, 11 * 4);
    free(ids);
    model_free(m);
}
END_TEST

static Suite *make_evaluate_suite(void)
{
    Suite *s = suite_create("evaluate");
    TCase *tc = tcase_create("windows");
    tcase_add_test(tc, test_window_count);
    tcase_add_loop_test(tc, test_matches_loop_and_batch_size, 0, 2);
    tcase_add_test(tc, test_tail_unscored_and_short_text);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(make_evaluate_suite());
}
