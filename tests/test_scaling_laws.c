/*
 * test_scaling_laws.c — experiments/scaling_laws.c on an experiment folder
 * written here with known answers: losses on an exact power law in N (and
 * in D), a per-position loss with a known slope beyond position 64, and two
 * learning curves that cross at a known token count.  Each analysis must
 * find those numbers in the files it writes, and name what it cannot fit.
 */
#define _POSIX_C_SOURCE 200809L
#include <check.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "experiments/findings.h"
#include "experiments/plot.h"
#include "experiments/plot_data.h"
#include "experiments/scaling_laws.h"
#include "testutil.h"
#include "util.h"

/* the curves the runs lie on */
#define E_N 1.4
#define A_N 30.0
#define ALPHA_RNN 0.3
#define ALPHA_LSTM 0.4
#define E_D 1.2
#define A_D 200.0
#define ALPHA_D 0.35
#define CONTEXT_SLOPE (-0.05)
/* the LSTM's loss beyond 64 falls this much less per e-fold than the RNN's */
#define LSTM_SLOPE_GAP 0.03
/* the text's own ups and downs from position to position, the same for
 * every model (they read the same validation windows) */
#define TEXT_NOISE(t) (0.02 * sin(1.7 * (t)))
/* seeds sit ±SEED_JITTER off the curve: the fit has residuals but the
 * mean of two seeds is on it */
#define SEED_JITTER 0.002
/* with that jitter the exponents come back within this */
#define ALPHA_TOL 0.02
#define ERRLEN 512

static char dir[256];

static const char *header =
    "run,model,task,tokenizer,seq_len,eval_seq_len,params,steps,final_val_loss,max_steps,"
    "non_embedding_params,train_fraction,train_tokens\n";

/* a run folder with a metrics.csv (val_loss at 4 evaluations ending at
 * `last`, `best` at the third) and, unless slope is NAN, position_loss.csv
 * whose loss beyond position 64 is 2 + slope ln(t + 1) + TEXT_NOISE(t) */
static void write_run(FILE *summary, const char *name, const char *model, int T, double N, double fraction,
                      double last, double best, double slope)
{
    char path[600];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    mkdir(path, 0755);
    fprintf(summary, "%s,%s,chars,chars,%d,%d,%g,400,%.10g,400,%g,%g,%g\n", name, model, T, T, N + 5000, last, N,
            fraction, fraction * 1e6);
    snprintf(path, sizeof path, "%s/%s/metrics.csv", dir, name);
    FILE *m = fopen(path, "w");
    fprintf(m, "step,tokens,train_loss,val_loss\n100,1000,3,%.10g\n200,2000,3,%.10g\n300,3000,3,%.10g\n"
               "400,4000,3,%.10g\n", best + 0.5, best + 0.1, best, last);
    fclose(m);
    if (isnan(slope)) return;
    snprintf(path, sizeof path, "%s/%s/position_loss.csv", dir, name);
    FILE *p = fopen(path, "w");
    fprintf(p, "position,loss,count\n");
    for (int t = 0; t < T; t++)
        fprintf(p, "%d,%.10g,2048\n", t, (t < 64 ? 4.0 - 0.01 * t : 2.0 + slope * log(t + 1.0)) + TEXT_NOISE(t));
    fclose(p);
}

/* a new folder from template (mkdtemp) in dir and its summary.csv, open
 * with the header written; path gets the summary's path */
static FILE *new_summary(const char *template, char *path, size_t n)
{
    snprintf(dir, sizeof dir, "%s", template);
    if (!mkdtemp(dir)) die("test: mkdtemp: %s", strerror(errno));
    snprintf(path, n, "%s/summary.csv", dir);
    FILE *s = fopen(path, "w");
    if (!s) die("test: %s: %s", path, strerror(errno));
    fputs(header, s);
    return s;
}

static void setup(void)
{
    char path[600];
    FILE *s = new_summary("/tmp/seqlab_scaling_XXXXXX", path, sizeof path);
    static const double sizes[] = {1e4, 3e4, 1e5, 3e5};
    char name[64];
    for (int k = 0; k < 4; k++)
        for (int seed = 0; seed < 2; seed++) {
            double jitter = seed ? SEED_JITTER : -SEED_JITTER;
            double lr = E_N + A_N * pow(sizes[k], -ALPHA_RNN) + jitter,
                   ll = E_N + A_N * pow(sizes[k], -ALPHA_LSTM) + jitter;
            snprintf(name, sizeof name, "rnn-%d-%d", k, seed);
            write_run(s, name, "rnn", 256, sizes[k], 1, lr, lr, k == 3 ? CONTEXT_SLOPE : NAN);
            snprintf(name, sizeof name, "lstm-%d-%d", k, seed);
            write_run(s, name, "lstm", 256, sizes[k], 1, ll, ll, k == 3 ? CONTEXT_SLOPE + LSTM_SLOPE_GAP : NAN);
        }
    /* the GRU at two sizes only: a series without a fit */
    write_run(s, "gru-0", "gru", 64, 1e4, 1, 2.5, 2.5, NAN);
    write_run(s, "gru-1", "gru", 64, 1e5, 1, 2.2, 2.2, NAN);
    /* the Transformer on four cuts of the data at one size: L(D) from the
     * best loss along the run, the end 0.3 higher (over-fitting) */
    static const double fractions[] = {0.01, 0.03, 0.1, 0.3};
    for (int k = 0; k < 4; k++) {
        double best = E_D + A_D * pow(fractions[k] * 1e6, -ALPHA_D);
        snprintf(name, sizeof name, "transformer-f%d", k);
        write_run(s, name, "transformer", 64, 5e4, fractions[k], best + 0.3, best, NAN);
    }
    fclose(s);
    snprintf(path, sizeof path, "%s/data", dir);
    mkdir(path, 0755);
}

static void remove_dir(void)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "test: could not remove %s\n", dir);
}

static Experiment load(void)
{
    Experiment e;
    char err[ERRLEN];
    memset(&e, 0, sizeof e);
    ck_assert_msg(experiment_load(&e, dir, err, sizeof err) == 0, "%s", err);
    return e;
}

static CsvTable *read_csv(const char *name)
{
    char path[600], err[ERRLEN];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    CsvTable *t = csv_read(path, err, sizeof err);
    ck_assert_msg(t != NULL, "%s", err);
    return t;
}

/* the row of t whose column col is value */
static int row_where(const CsvTable *t, const char *col, const char *value)
{
    for (int i = 0; i < t->nrows; i++)
        if (strcmp(csv_str(t, i, csv_col(t, col)), value) == 0) return i;
    ck_abort_msg("no row with %s = %s", col, value);
    return -1;
}

START_TEST(test_loss_vs_params)
{
    setup();
    Experiment e = load();
    char data[600];
    snprintf(data, sizeof data, "%s/data", dir);
    ScalingFigure fig;
    /* without a folder: the numbers, no files */
    ck_assert_int_eq(scaling_loss_vs_params(&e, NULL, &fig), 1);
    ck_assert_double_eq_tol(fig.panels[0].series[0].alpha, ALPHA_RNN, ALPHA_TOL);
    ck_assert(isnan(fig.panels[0].series[2].alpha));
    char fits[700];
    snprintf(fits, sizeof fits, "%s/fits_params.csv", dir);
    ck_assert_int_ne(access(fits, F_OK), 0);
    ck_assert_int_eq(scaling_loss_vs_params(&e, data, &fig), 1);
    ck_assert_int_eq(fig.panels[0].nseries, 3);   /* rnn, lstm, gru (no transformer sweep) */
    ck_assert_str_eq(fig.panels[0].series[2].model, "gru");
    ck_assert_str_eq(fig.panels[0].series[2].curve, "");
    CsvTable *t = read_csv("fits_params.csv");
    int r = row_where(t, "model", "rnn"), l = row_where(t, "model", "lstm"), g = row_where(t, "model", "gru");
    ck_assert_str_eq(csv_str(t, r, csv_col(t, "status")), "ok");
    ck_assert_double_eq_tol(csv_num(t, r, csv_col(t, "alpha")), ALPHA_RNN, ALPHA_TOL);
    ck_assert_double_eq_tol(csv_num(t, l, csv_col(t, "alpha")), ALPHA_LSTM, ALPHA_TOL);
    ck_assert_double_eq(csv_num(t, r, csv_col(t, "points")), 8);
    ck_assert_double_eq(csv_num(t, r, csv_col(t, "sizes")), 4);
    ck_assert_msg(csv_num(t, r, csv_col(t, "alpha_sd")) > 0, "no uncertainty");
    ck_assert_str_eq(csv_str(t, r, csv_col(t, "loss_with_more")), "lower");
    ck_assert_str_eq(csv_str(t, g, csv_col(t, "loss_with_more")), "-");
    ck_assert(isnan(csv_num(t, g, csv_col(t, "pure_alpha"))));
    ck_assert_msg(csv_num(t, r, csv_col(t, "pure_alpha")) > 0, "the pure power law is fitted too");
    ck_assert_ptr_nonnull(strstr(csv_str(t, g, csv_col(t, "status")), "2 distinct sizes"));
    ck_assert(isnan(csv_num(t, g, csv_col(t, "alpha"))));
    csv_free(t);
    /* the points are the means over seeds: on the curve */
    char name[300];
    snprintf(name, sizeof name, "data/%s", fig.panels[0].series[0].points);
    t = read_csv(name);
    ck_assert_int_eq(t->nrows, 4);
    for (int i = 0; i < 4; i++) {
        double N = csv_num(t, i, csv_col(t, "x"));
        ck_assert_double_eq_tol(csv_num(t, i, csv_col(t, "loss")), E_N + A_N * pow(N, -ALPHA_RNN), 1e-9);
        ck_assert_double_eq(csv_num(t, i, csv_col(t, "runs")), 2);
    }
    csv_free(t);
    experiment_free(&e);
    remove_dir();
}
END_TEST

START_TEST(test_loss_vs_data)
{
    setup();
    Experiment e = load();
    char data[600];
    snprintf(data, sizeof data, "%s/data", dir);
    ScalingFigure fig;
    ck_assert_int_eq(scaling_loss_vs_data(&e, data, &fig), 1);
    ck_assert_int_eq(fig.panels[0].nseries, 1);
    CsvTable *t = read_csv("fits_data.csv");
    ck_assert_int_eq(t->nrows, 1);
    ck_assert_str_eq(csv_str(t, 0, csv_col(t, "model")), "transformer");
    ck_assert_str_eq(csv_str(t, 0, csv_col(t, "variable")), "D");
    /* exact points: the best loss along each run, not the final one */
    ck_assert_double_eq_tol(csv_num(t, 0, csv_col(t, "alpha")), ALPHA_D, 1e-6);
    ck_assert_double_eq_tol(csv_num(t, 0, csv_col(t, "E")), E_D, 1e-6);
    csv_free(t);
    char name[300];
    snprintf(name, sizeof name, "data/%s", fig.panels[0].series[0].points);
    t = read_csv(name);
    double D = csv_num(t, 0, csv_col(t, "x"));
    ck_assert_double_eq_tol(D, 1e4, 1e-6);
    ck_assert_double_eq_tol(csv_num(t, 0, csv_col(t, "final_loss")) - csv_num(t, 0, csv_col(t, "loss")), 0.3, 1e-9);
    csv_free(t);
    experiment_free(&e);
    remove_dir();
}
END_TEST

START_TEST(test_context_slope)
{
    setup();
    Experiment e = load();
    char data[600];
    snprintf(data, sizeof data, "%s/data", dir);
    ScalingFigure fig;
    /* the RNN and the LSTM have windows of 256, only at their largest size */
    ck_assert_int_eq(scaling_context(&e, data, &fig), 1);
    ck_assert_int_eq(fig.panels[0].nseries, 2);
    /* each slope carries the text's noise: near the truth, not on it */
    ck_assert_double_eq_tol(fig.panels[0].series[0].slope, CONTEXT_SLOPE, 0.01);
    ck_assert_double_eq_tol(fig.panels[0].series[1].slope, CONTEXT_SLOPE + LSTM_SLOPE_GAP, 0.01);
    /* the difference of the two losses is free of it */
    ck_assert_double_eq_tol(fig.panels[0].pair_slope[0][1], -LSTM_SLOPE_GAP, 1e-9);
    ck_assert_double_eq_tol(fig.panels[0].pair_slope[1][0], LSTM_SLOPE_GAP, 1e-9);
    ck_assert_double_eq_tol(fig.panels[0].pair_slope_sd[0][1], 0, 1e-9);
    ck_assert(isnan(fig.panels[0].pair_slope[0][0]));
    CsvTable *t = read_csv("context_slopes.csv");
    ck_assert_int_eq(t->nrows, 2);
    int r = row_where(t, "model", "rnn");
    ck_assert_double_eq(csv_num(t, r, csv_col(t, "non_embedding_params")), 3e5);
    ck_assert_double_eq(csv_num(t, r, csv_col(t, "runs")), 2);
    ck_assert_double_eq_tol(csv_num(t, r, csv_col(t, "loss_at_end")),
                            2.0 + CONTEXT_SLOPE * log(256.0) + TEXT_NOISE(255), 1e-5);   /* 6 digits */
    csv_free(t);
    t = read_csv("context_slope_pairs.csv");
    ck_assert_int_eq(t->nrows, 1);
    ck_assert_str_eq(csv_str(t, 0, csv_col(t, "model_a")), "rnn");
    ck_assert_str_eq(csv_str(t, 0, csv_col(t, "model_b")), "lstm");
    ck_assert_double_eq_tol(csv_num(t, 0, csv_col(t, "slope_difference")), -LSTM_SLOPE_GAP, 1e-6);
    csv_free(t);
    experiment_free(&e);
    remove_dir();
}
END_TEST

/* the scaling claims read the same numbers */
START_TEST(test_findings)
{
    setup();
    Experiment e = load();
    Finding f;
    /* the RNN and the LSTM fall with size (2 seeds); the GRU has 2 sizes: no fit */
    memset(&f, 0, sizeof f);
    ck_assert_int_eq(findings_measure_bigger(&e, &f), 1);
    ck_assert_int_eq(f.verdict, VERDICT_HOLDS);
    ck_assert_int_eq(f.seeds, 2);
    ck_assert_msg(strstr(f.value, "characters: RNN 0.") && strstr(f.value, "GRU no fit"), "%s", f.value);
    ck_assert_str_eq(f.figure, "loss_vs_params");
    /* no Transformer in the size sweep: nothing to say */
    memset(&f, 0, sizeof f);
    ck_assert_int_eq(findings_measure_scales_best(&e, &f), 0);
    /* one seed a cut of the data: measured, no verdict */
    memset(&f, 0, sizeof f);
    ck_assert_int_eq(findings_measure_more_data(&e, &f), 1);
    ck_assert_int_eq(f.verdict, VERDICT_NOT_MEASURED);
    /* the pure power law through points with an offset E: flatter than 0.35 */
    ck_assert_msg(strstr(f.value, "characters: Transformer 0.27") != NULL, "%s", f.value);
    /* long context needs a Transformer beside a gated model */
    memset(&f, 0, sizeof f);
    ck_assert_int_eq(findings_measure_long_context(&e, &f), 0);
    experiment_free(&e);
    remove_dir();
}
END_TEST

/* an experiment that is not about size (quick: two Transformers of two
 * widths) has no size law to show: no fitted series, no figure, no finding */
START_TEST(test_two_sizes_no_figure)
{
    char path[600];
    FILE *s = new_summary("/tmp/seqlab_scaling_XXXXXX", path, sizeof path);
    write_run(s, "gru-0", "gru", 64, 1e4, 1, 2.5, 2.5, NAN);
    write_run(s, "gru-1", "gru", 64, 1e5, 1, 2.2, 2.2, NAN);
    fclose(s);
    Experiment e = load();
    ScalingFigure *fig = xmalloc(sizeof *fig);
    ck_assert_int_eq(scaling_loss_vs_params(&e, NULL, fig), 0);
    Finding f;
    memset(&f, 0, sizeof f);
    ck_assert_int_eq(findings_measure_bigger(&e, &f), 0);
    /* a third size makes it a law */
    experiment_free(&e);
    s = fopen(path, "a");
    write_run(s, "gru-2", "gru", 64, 1e6, 1, 2.0, 2.0, NAN);
    fclose(s);
    e = load();
    ck_assert_int_eq(scaling_loss_vs_params(&e, NULL, fig), 1);
    free(fig);
    experiment_free(&e);
    remove_dir();
}
END_TEST

/* the three figures, drawn by plot_experiment from the same folder */
START_TEST(test_figures_drawn)
{
    setup();
    char err[1024];
    ck_assert_msg(plot_experiment(dir, err, sizeof err) == 0, "%s", err);
    static const char *figures[] = {"loss_vs_params", "loss_vs_data", "context_slope"};
    for (int i = 0; i < 3; i++)
        for (int f = 0; f < 2; f++) {
            char path[700];
            struct stat st;
            snprintf(path, sizeof path, "%s/figures/%s.%s", dir, figures[i], f ? "svg" : "png");
            ck_assert_msg(stat(path, &st) == 0 && st.st_size > 1000, "%s missing or empty", path);
        }
    /* the legend carries the fitted exponent */
    char path[700];
    size_t len;
    snprintf(path, sizeof path, "%s/figures/loss_vs_params.svg", dir);
    char *svg = file_read_all(path, &len);
    ck_assert_ptr_nonnull(svg);
    ck_assert_msg(strstr(svg, "RNN: \xce\xb1 = 0.30") != NULL, "the RNN's alpha is in the legend");
    free(svg);
    remove_dir();
}
END_TEST

START_TEST(test_budget_order)
{
    /* two models at one size each whose validation losses cross: a leads
     * at 1000 and 2000 tokens, b from 3000 on */
    char path[600];
    FILE *s = new_summary("/tmp/seqlab_budget_XXXXXX", path, sizeof path);
    static const char *runs[][2] = {{"a1", "rnn"}, {"a2", "rnn"}, {"b1", "lstm"}};
    static const double curves[][4] = {{3.0, 2.5, 2.3, 2.2}, {3.2, 2.7, 2.5, 2.4}, {3.5, 2.8, 2.2, 1.9}};
    for (int i = 0; i < 3; i++) {
        fprintf(s, "%s,%s,words,words,64,64,1e6,400,%g,400,1e5,1,9e5\n", runs[i][0], runs[i][1], curves[i][3]);
        snprintf(path, sizeof path, "%s/%s", dir, runs[i][0]);
        mkdir(path, 0755);
        snprintf(path, sizeof path, "%s/%s/metrics.csv", dir, runs[i][0]);
        FILE *m = fopen(path, "w");
        fprintf(m, "step,tokens,val_loss\n");
        for (int k = 0; k < 4; k++) fprintf(m, "%d,%d,%g\n%d,%d,nan\n", 100 * (k + 1), 1000 * (k + 1), curves[i][k],
                                            100 * (k + 1) + 50, 1000 * (k + 1) + 500);
        fclose(m);
    }
    fclose(s);
    Experiment e = load();
    /* the finding: the RNN ahead first, the LSTM from 3000 tokens (one LSTM seed: no verdict) */
    Finding fd;
    memset(&fd, 0, sizeof fd);
    ck_assert_int_eq(findings_measure_lstm_budget(&e, &fd), 1);
    ck_assert_int_eq(fd.verdict, VERDICT_NOT_MEASURED);
    ck_assert_msg(strstr(fd.value, "RNN ahead at") && strstr(fd.value, "LSTM at") && strstr(fd.value, "since 0.003M"),
                  "%s", fd.value);
    BudgetPair bp[4];
    ck_assert_int_eq(scaling_budget_order(&e, dir, bp, 4), 1);
    ck_assert_int_eq(bp[0].a_ahead_first, 1);
    ck_assert_int_eq(bp[0].a_ahead_last, 0);
    ck_assert_double_eq(bp[0].ahead_since, 3000);
    ck_assert_int_eq(bp[0].seeds, 1);
    CsvTable *t = read_csv("budget_order.csv");
    ck_assert_str_eq(csv_str(t, 0, csv_col(t, "model_a")), "rnn");
    ck_assert_str_eq(csv_str(t, 0, csv_col(t, "ahead_first")), "rnn");   /* mean 3.1 < 3.5 */
    ck_assert_str_eq(csv_str(t, 0, csv_col(t, "ahead_last")), "lstm");   /* 2.3 > 1.9 */
    ck_assert_double_eq(csv_num(t, 0, csv_col(t, "ahead_since_tokens")), 3000);
    ck_assert_double_eq_tol(csv_num(t, 0, csv_col(t, "loss_a_last")), 2.3, 1e-9);
    ck_assert_double_eq(csv_num(t, 0, csv_col(t, "evaluations")), 4);
    csv_free(t);
    experiment_free(&e);
    remove_dir();
}
END_TEST

int main(void)
{
    Suite *s = suite_create("scaling_laws");
    TCase *tc = tcase_create("analyses");
    tcase_add_test(tc, test_loss_vs_params);
    tcase_add_test(tc, test_loss_vs_data);
    tcase_add_test(tc, test_context_slope);
    tcase_add_test(tc, test_budget_order);
    tcase_add_test(tc, test_findings);
    tcase_add_test(tc, test_figures_drawn);
    tcase_add_test(tc, test_two_sizes_no_figure);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
