/*
 * test_plot.c — `seqlab plot` and the report page, on the committed fixture
 * experiment tests/fixtures/plotrun (hand-shaped CSVs in the trainer's
 * layout: 4 models, 2 seeds, a text task and delayed recall at 3 distances).
 *
 * Reading and averaging (no gnuplot needed): CSV by column name with quotes,
 * the grouping of runs into settings and their labels, mean ± sd over seeds.
 * Drawing (skipped with a note when gnuplot is absent): every expected PNG
 * exists with the PNG signature and the IHDR size the scripts are given,
 * every SVG exists, a figure without data is skipped and leaves no file
 * (and an old copy is removed), a failing gnuplot leaves no file, and every
 * src= / href= in runs/index.html names a file that exists.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "experiments/plot.h"
#include "experiments/plot_data.h"
#include "experiments/report_html.h"
#include "registry.h"
#include "testutil.h"
#include "util.h"

#define FIXTURE "tests/fixtures/plotrun"
/* averages are printed with 10 significant digits */
#define MEAN_RTOL 1e-8

/* ---------------------------------------------------------- file helpers -- */

static char tmp_root[256];          /* mkdtemp folder holding runs/ */
static char runs_dir[512];          /* tmp_root/runs */
static char full_dir[600];          /* runs/plotrun: all data */
static char thin_dir[600];          /* runs/thin: posenc, gradients, attention removed */
static int plot_full_rc = -1, plot_thin_rc = -1;
static char plot_err[1024];

static void copy_tree(const char *src, const char *dst)
{
    if (mkdir_p(dst) != 0) die("test: mkdir %s: %s", dst, strerror(errno));
    DIR *d = opendir(src);
    if (!d) die("test: cannot open %s (run the tests from the repository root)", src);
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.') continue;
        char s[1024], t[1024];
        snprintf(s, sizeof s, "%s/%s", src, de->d_name);
        snprintf(t, sizeof t, "%s/%s", dst, de->d_name);
        struct stat st;
        if (stat(s, &st) != 0) continue;
        if (S_ISDIR(st.st_mode)) {
            copy_tree(s, t);
        } else {
            size_t len;
            char *data = file_read_all(s, &len);
            if (!data) die("test: read %s", s);
            FILE *f = xfopen(t, "wb");
            fwrite(data, 1, len, f);
            fclose(f);
            free(data);
        }
    }
    closedir(d);
}

static void remove_tree(const char *path)
{
    DIR *d = opendir(path);
    if (!d) { unlink(path); return; }
    struct dirent *de;
    while ((de = readdir(d))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) continue;
        char s[1024];
        snprintf(s, sizeof s, "%s/%s", path, de->d_name);
        struct stat st;
        if (lstat(s, &st) == 0 && S_ISDIR(st.st_mode)) remove_tree(s);
        else unlink(s);
    }
    closedir(d);
    rmdir(path);
}

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* width and height from a PNG's IHDR; 0 if the file is not a PNG */
static int png_size(const char *path, unsigned *w, unsigned *h)
{
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    unsigned char b[24];
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    size_t n = fread(b, 1, sizeof b, f);
    fclose(f);
    if (n < 24 || memcmp(b, sig, 8) != 0 || memcmp(b + 12, "IHDR", 4) != 0) return 0;
    *w = (unsigned)b[16] << 24 | (unsigned)b[17] << 16 | (unsigned)b[18] << 8 | b[19];
    *h = (unsigned)b[20] << 24 | (unsigned)b[21] << 16 | (unsigned)b[22] << 8 | b[23];
    return 1;
}

/* figures/<base>.png is w x h (taller than h only if `taller`: a curve
 * figure grows with its legend) and <base>.svg has the same size */
static void assert_figure_size(const char *dir, const char *base, unsigned w, unsigned h, int taller)
{
    char path[1024];
    unsigned pw = 0, ph = 0;
    snprintf(path, sizeof path, "%s/figures/%s.png", dir, base);
    ck_assert_msg(png_size(path, &pw, &ph), "%s is missing or not a PNG", path);
    ck_assert_msg(pw == w && (ph == h || (taller && ph > h)), "%s is %ux%u, expected %ux%u%s", path, pw, ph,
                  w, h, taller ? " or taller" : "");
    snprintf(path, sizeof path, "%s/figures/%s.svg", dir, base);
    size_t len;
    char *svg = file_read_all(path, &len);
    ck_assert_msg(svg != NULL, "%s is missing", path);
    char want[64];
    snprintf(want, sizeof want, "width=\"%u\" height=\"%u\"", w, ph);
    ck_assert_msg(strstr(svg, "<svg") && strstr(svg, want), "%s: no <svg %s>", path, want);
    free(svg);
}

static void assert_png(const char *dir, const char *base, unsigned w, unsigned h)
{
    assert_figure_size(dir, base, w, h, 0);
}

/* the curve figures, whose height grows with their legend (plot_curves.c) */
static int is_curve_figure(const char *figure)
{
    static const char *curves[] = {"loss_vs_step", "loss_vs_time", "grad_norm", "position_loss"};
    for (size_t i = 0; i < sizeof curves / sizeof curves[0]; i++)
        if (strcmp(curves[i], figure) == 0) return 1;
    return 0;
}

static void assert_no_figure(const char *dir, const char *base)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/figures/%s.png", dir, base);
    ck_assert_msg(!exists(path), "%s exists but has no data", path);
    snprintf(path, sizeof path, "%s/figures/%s.svg", dir, base);
    ck_assert_msg(!exists(path), "%s exists but has no data", path);
}

/* names in dir/figures starting with prefix and ending with suffix */
static int count_files(const char *dir, const char *prefix, const char *suffix)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/figures", dir);
    DIR *d = opendir(path);
    if (!d) return 0;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t l = strlen(de->d_name), ls = strlen(suffix);
        if (strncmp(de->d_name, prefix, strlen(prefix)) == 0 && l >= ls &&
            strcmp(de->d_name + l - ls, suffix) == 0)
            n++;
    }
    closedir(d);
    return n;
}

/* every run's file of this name in an experiment folder is deleted */
static void remove_run_files(const char *exp, const char *file)
{
    DIR *d = opendir(exp);
    struct dirent *de;
    while ((de = readdir(d))) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s/%s", exp, de->d_name, file);
        unlink(path);
    }
    closedir(d);
}

/* ------------------------------------------------------------- fixture -- */

/* copy the fixture twice under a fresh runs/, thin out the second copy,
 * and draw both once (in the parent: every drawing test reads the result) */
static void setup_runs(void)
{
    snprintf(tmp_root, sizeof tmp_root, "%s/seqlab_plot_XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(tmp_root)) die("test: mkdtemp: %s", strerror(errno));
    snprintf(runs_dir, sizeof runs_dir, "%s/runs", tmp_root);
    snprintf(full_dir, sizeof full_dir, "%s/plotrun", runs_dir);
    snprintf(thin_dir, sizeof thin_dir, "%s/thin", runs_dir);
    copy_tree(FIXTURE, full_dir);
    copy_tree(FIXTURE, thin_dir);
    /* thin: no positional table, no attention maps, no gradients; and a stale
     * posenc figure from an earlier run that must disappear */
    char path[1024];
    snprintf(path, sizeof path, "%s/posenc.csv", thin_dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/attention", thin_dir);
    remove_tree(path);
    remove_run_files(thin_dir, "gradients.csv");
    snprintf(path, sizeof path, "%s/figures", thin_dir);
    mkdir_p(path);
    snprintf(path, sizeof path, "%s/figures/posenc.png", thin_dir);
    FILE *f = xfopen(path, "w");
    fputs("stale", f);
    fclose(f);
    /* and a data file of a panel no longer drawn */
    snprintf(path, sizeof path, "%s/figures/data", thin_dir);
    mkdir_p(path);
    snprintf(path, sizeof path, "%s/figures/data/posloss_p9_s1.csv", thin_dir);
    f = xfopen(path, "w");
    fputs("position,loss,loss_sd\n0,1,0\n", f);
    fclose(f);
    if (plot_gnuplot_available()) {
        plot_full_rc = plot_experiment(full_dir, plot_err, sizeof plot_err);
        if (plot_full_rc == 0) plot_thin_rc = plot_experiment(thin_dir, plot_err, sizeof plot_err);
    }
}

static void teardown_runs(void)
{
    if (tmp_root[0] && !getenv("SEQLAB_KEEP_TMP")) remove_tree(tmp_root);
}

/* ===================================================== data (no gnuplot) == */

START_TEST(test_csv_reads_columns_by_name_and_quotes)
{
    char path[600];
    snprintf(path, sizeof path, "%s/quoted.csv", tmp_root);
    FILE *f = xfopen(path, "w");
    fputs("a,b,\"c,d\"\r\n1,\"x \"\"y\"\", z\",nan\n\n2.5,,7\n3\n", f);
    fclose(f);
    char err[256];
    CsvTable *t = csv_read(path, err, sizeof err);
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(t->ncols, 3);
    ck_assert_int_eq(t->nrows, 3);          /* the blank line is not a row */
    ck_assert_int_eq(csv_col(t, "c,d"), 2);
    ck_assert_int_eq(csv_col(t, "nope"), -1);
    ck_assert_str_eq(csv_str(t, 0, 1), "x \"y\", z");
    ck_assert(isnan(csv_num(t, 0, 2)));     /* "nan" is no value */
    ck_assert(isnan(csv_num(t, 1, 1)));     /* nor is an empty field */
    ck_assert_double_eq(csv_num(t, 1, 0), 2.5);
    ck_assert_double_eq(csv_num(t, 1, 2), 7);
    ck_assert_str_eq(csv_str(t, 2, 2), ""); /* short rows are padded */
    ck_assert(isnan(csv_num(t, 0, -1)));
    csv_free(t);
    ck_assert_ptr_null(csv_read("/nonexistent/x.csv", err, sizeof err));
    ck_assert_msg(strstr(err, "/nonexistent/x.csv") != NULL, "error names the file: %s", err);
}
END_TEST

START_TEST(test_experiment_load_reads_summary_and_question)
{
    Experiment e;
    char err[512];
    ck_assert_int_eq(experiment_load(&e, full_dir, err, sizeof err), 0);
    ck_assert_str_eq(e.name, "plotrun");
    ck_assert_msg(strstr(e.question, "delayed recall") != NULL, "question: %s", e.question);
    ck_assert_int_eq(e.nruns, 63);
    const Run *r = &e.runs[0];
    ck_assert_str_eq(r->name, "chars-rnn-s1");
    ck_assert_str_eq(r->model, "rnn");
    ck_assert_str_eq(r->positions, "");     /* positions only mean something for the transformer */
    ck_assert(isnan(r->distance));
    ck_assert_double_eq(r->seq_len, 32);
    /* the runner's columns after the measurements */
    ck_assert_str_eq(r->group, "chars");
    ck_assert_double_eq(r->hidden_size, 64);
    ck_assert_double_eq(r->num_layers, 1);
    ck_assert_double_eq(r->batch_size, 16);
    int transformer = -1;
    for (int i = 0; i < e.nruns; i++)
        if (strcmp(e.runs[i].model, "transformer") == 0) { transformer = i; break; }
    ck_assert_int_ge(transformer, 0);
    ck_assert_str_eq(e.runs[transformer].positions, "sinusoidal");
    experiment_free(&e);
    ck_assert_int_eq(experiment_load(&e, tmp_root, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "summary.csv") != NULL, "error names summary.csv: %s", err);
}
END_TEST

START_TEST(test_groups_order_and_label_what_varies)
{
    Experiment e;
    char err[512];
    ck_assert_int_eq(experiment_load(&e, full_dir, err, sizeof err), 0);
    Group *g;
    int n = groups_make(&e, NULL, e.nruns, KEYS_SERIES, &g);
    /* the RNN alone varies its clipping, so only its lines say so */
    static const char *want[] = {"rnn, clip 1", "rnn, no clip", "lstm", "gru",
                                 "transformer, sinusoidal positions", "transformer, no positions"};
    ck_assert_int_eq(n, 6);
    for (int i = 0; i < n; i++) ck_assert_str_eq(g[i].label, want[i]);
    ck_assert_int_eq(g[1].n, 2);             /* two seeds of the unclipped RNN */
    ck_assert_int_eq(g[2].n, 3 * 2 + 3 + 5); /* lstm: 3 distances x 2 seeds, 3 text, 5 timing */
    free(g);
    /* panels of the learning runs (200 steps): the task, then what varies;
     * no T where the distance implies it, no init ×1, no steps (all 200) */
    int idx[128], m = 0;
    for (int i = 0; i < e.nruns; i++)
        if (e.runs[i].steps == 200) idx[m++] = i;
    n = groups_make(&e, idx, m, KEYS_PANEL, &g);
    static const char *panels[] = {"chars T=32", "recall d=4", "recall d=12", "recall d=28",
                                   "recall d=28, init \xc3\x97" "0.5", "recall d=28, init \xc3\x97" "3"};
    ck_assert_int_eq(n, 6);
    for (int i = 0; i < n; i++) ck_assert_str_eq(g[i].label, panels[i]);
    free(g);
    /* the step count is named only where two labels would be the same */
    m = 0;
    for (int i = 0; i < e.nruns; i++)
        if (strcmp(e.runs[i].task, "chars") == 0) idx[m++] = i;
    n = groups_make(&e, idx, m, KEY_TASK | KEY_SEQ_LEN | KEY_STEPS, &g);
    static const char *steps[] = {"chars T=32, 200 steps", "chars T=16", "chars T=32, 12 steps",
                                  "chars T=64"};
    ck_assert_int_eq(n, 4);
    for (int i = 0; i < n; i++) ck_assert_str_eq(g[i].label, steps[i]);
    free(g);
    experiment_free(&e);
}
END_TEST

/* tokens.txt with these lines in tmp_root; returns attention_sentence's result */
static int sentence_of(const char *lines, int max_chars, char *out, size_t n)
{
    char path[600];
    snprintf(path, sizeof path, "%s/tokens.txt", tmp_root);
    FILE *f = xfopen(path, "w");
    fputs(lines, f);
    fclose(f);
    return attention_sentence(path, max_chars, out, n);
}

START_TEST(test_attention_sentence_from_tokens)
{
    char s[256];
    /* characters: joined as they are, the space mark read back as a space */
    ck_assert_int_eq(sentence_of("A\nn\nd\n\xe2\x90\xa3\nG\no\nd\n,\n", 40, s, sizeof s), 0);
    ck_assert_str_eq(s, "And God,");
    /* words: a space between them, none before punctuation */
    ck_assert_int_eq(sentence_of("and\ngod\nsaid\n,\nlet\nthere\nbe\nlight\n.\n", 40, s, sizeof s), 0);
    ck_assert_str_eq(s, "and god said, let there be light.");
    /* too long: cut at a space near the limit, no trailing comma, an ellipsis */
    ck_assert_int_eq(sentence_of("and\ngod\nsaid\n,\nlet\nthere\nbe\nlight\n.\n", 14, s, sizeof s), 0);
    ck_assert_str_eq(s, "and god said\xe2\x80\xa6");
    /* no space in the last third: cut at the limit, whole characters only */
    ck_assert_int_eq(sentence_of("\xc3\xa9\n\xc3\xa9\n\xc3\xa9\n\xc3\xa9\n", 3, s, sizeof s), 0);
    ck_assert_str_eq(s, "\xc3\xa9\xc3\xa9\xc3\xa9\xe2\x80\xa6");
    ck_assert_int_eq(sentence_of("", 40, s, sizeof s), -1);
    ck_assert_int_eq(attention_sentence("/nonexistent/tokens.txt", 40, s, sizeof s), -1);
    ck_assert_str_eq(s, "");
}
END_TEST

START_TEST(test_stats_mean_sd_skips_missing_values)
{
    double x[5] = {1, NAN, 2, 3, INFINITY}, mean, sd;
    ck_assert_int_eq(stats_mean_sd(x, 5, &mean, &sd), 3);
    ck_assert_double_eq_tol(mean, 2.0, 1e-15);
    ck_assert_double_eq_tol(sd, 1.0, 1e-15);  /* sample sd of 1, 2, 3 */
    double y[2] = {NAN, NAN};
    ck_assert_int_eq(stats_mean_sd(y, 2, &mean, &sd), 0);
    ck_assert(isnan(mean));
    ck_assert_int_eq(stats_mean_sd(x, 1, &mean, &sd), 1);
    ck_assert_double_eq(sd, 0);
}
END_TEST

/* ============================================================= drawing == */

/* the figures of the encoder-decoder runs, which the plotrun fixture has none
 * of (test_quality_vs_length_from_pair_runs draws it from runs of its own) */
static int needs_pair_runs(const char *figure)
{
    return strcmp(figure, "quality_vs_length") == 0;
}
#define PAIR_FIGURES 1

/* the scaling figures need models at several sizes or several cuts of the
 * data, which this fixture does not have: test_scaling_laws draws them */
static const char *const sweep_figures[] = {"loss_vs_params", "loss_vs_data", "context_slope"};
#define NSWEEP_FIGURES ((int)(sizeof sweep_figures / sizeof sweep_figures[0]))

static int needs_sweep(const char *figure)
{
    for (int i = 0; i < NSWEEP_FIGURES; i++)
        if (strcmp(sweep_figures[i], figure) == 0) return 1;
    return 0;
}

START_TEST(test_plot_draws_every_figure)
{
    ck_assert_msg(plot_full_rc == 0, "plot_experiment: %s", plot_err);
    for (int k = 0; k < plot_nfigures; k++) {
        if (needs_pair_runs(plot_figures[k].name)) assert_no_figure(full_dir, plot_figures[k].name);
        else if (!needs_sweep(plot_figures[k].name))
            assert_figure_size(full_dir, plot_figures[k].name, PLOT_WIDTH, PLOT_HEIGHT,
                               is_curve_figure(plot_figures[k].name));
    }
    /* one grid of layers x heads per sentence */
    assert_png(full_dir, "attention_s1", PLOT_WIDTH, PLOT_HEIGHT);
    assert_png(full_dir, "attention_s2", PLOT_WIDTH, PLOT_HEIGHT);
    ck_assert_int_eq(count_files(full_dir, "attention_", ".png"), 2);
    /* its title quotes the whole sentence from tokens.txt, its panels name
     * the layer and head */
    char path[1024];
    snprintf(path, sizeof path, "%s/figures/attention_s1.svg", full_dir);
    size_t len;
    char *svg = file_read_all(path, &len);
    ck_assert_ptr_nonnull(svg);
    ck_assert_msg(strstr(svg, "the beast did not cross the street because it was too weary.") != NULL,
                  "the title holds the whole sentence");
    ck_assert_msg(strstr(svg, "layer 1, head 1") != NULL, "a panel names its layer and head");
    free(svg);
    ck_assert_int_eq(count_files(full_dir, "", ".part"), 0);
}
END_TEST

START_TEST(test_plot_averages_seeds)
{
    ck_assert_msg(plot_full_rc == 0, "plot_experiment: %s", plot_err);
    /* the perplexity bars: mean and sd over each setting's runs, from summary.csv */
    char path[1024], err[256];
    snprintf(path, sizeof path, "%s/summary.csv", full_dir);
    CsvTable *s = csv_read(path, err, sizeof err);
    ck_assert_ptr_nonnull(s);
    double v[8];
    int n = 0;
    for (int r = 0; r < s->nrows; r++)
        if (strcmp(csv_str(s, r, csv_col(s, "model")), "gru") == 0 &&
            strcmp(csv_str(s, r, csv_col(s, "task")), "chars") == 0 &&
            csv_num(s, r, csv_col(s, "steps")) == 200)   /* not the 12-step timing runs */
            v[n++] = csv_num(s, r, csv_col(s, "val_perplexity"));
    ck_assert_int_eq(n, 3);                 /* two seeds and the 2-thread run */
    double mean = (v[0] + v[1] + v[2]) / 3, var = 0;
    for (int i = 0; i < 3; i++) var += (v[i] - mean) * (v[i] - mean) / 2;
    snprintf(path, sizeof path, "%s/figures/data/perplexity_p1.csv", full_dir);
    CsvTable *t = csv_read(path, err, sizeof err);
    ck_assert_ptr_nonnull(t);
    int found = 0;
    for (int r = 0; r < t->nrows; r++) {
        if (strcmp(csv_str(t, r, csv_col(t, "model")), "gru") != 0) continue;
        found = 1;
        ck_assert_double_eq_tol(csv_num(t, r, csv_col(t, "mean")), mean, MEAN_RTOL * mean);
        ck_assert_double_eq_tol(csv_num(t, r, csv_col(t, "sd")), sqrt(var), MEAN_RTOL * mean);
        ck_assert_double_eq(csv_num(t, r, csv_col(t, "n")), 3);
    }
    ck_assert(found);
    csv_free(t);
    csv_free(s);

    /* a loss curve: the validation loss at step 50 averaged over the seeds of
     * the lstm at distance 12 (rows without an evaluation stay nan) */
    double want = 0;
    for (int seed = 1; seed <= 2; seed++) {
        snprintf(path, sizeof path, "%s/recall-d12-lstm-s%d/metrics.csv", full_dir, seed);
        CsvTable *m = csv_read(path, err, sizeof err);
        ck_assert_ptr_nonnull(m);
        ck_assert_double_eq(csv_num(m, 5, csv_col(m, "step")), 50);
        want += csv_num(m, 5, csv_col(m, "val_loss")) / 2;
        ck_assert(isnan(csv_num(m, 4, csv_col(m, "val_loss"))));
        csv_free(m);
    }
    /* panel 3 = recall distance 12; series 3 = lstm (after the two RNN settings) */
    snprintf(path, sizeof path, "%s/figures/data/metrics_p3_s3.csv", full_dir);
    CsvTable *a = csv_read(path, err, sizeof err);
    ck_assert_ptr_nonnull(a);
    ck_assert_double_eq(csv_num(a, 5, csv_col(a, "step")), 50);
    ck_assert_double_eq_tol(csv_num(a, 5, csv_col(a, "val_loss")), want, MEAN_RTOL * want);
    ck_assert(isnan(csv_num(a, 4, csv_col(a, "val_loss"))));
    csv_free(a);
}
END_TEST

/* the value of column `col` in the row of path whose column `key` is `kv`
 * (and, if scol is not NULL, whose column scol reads sval); NAN if none */
static double csv_lookup(const char *path, const char *key, double kv, const char *col,
                         const char *scol, const char *sval)
{
    char err[512];
    CsvTable *t = csv_read(path, err, sizeof err);
    ck_assert_msg(t != NULL, "%s", err);
    double v = NAN;
    for (int r = 0; r < t->nrows && isnan(v); r++)
        if (csv_num(t, r, csv_col(t, key)) == kv &&
            (!scol || strcmp(csv_str(t, r, csv_col(t, scol)), sval) == 0))
            v = csv_num(t, r, csv_col(t, col));
    csv_free(t);
    return v;
}

static int csv_rows(const char *path)
{
    char err[512];
    CsvTable *t = csv_read(path, err, sizeof err);
    ck_assert_msg(t != NULL, "%s", err);
    int n = t->nrows;
    csv_free(t);
    return n;
}

/* trained runs print 6 significant digits */
#define GRAD_RTOL 1e-5

START_TEST(test_grad_through_time_prefers_last_position_loss)
{
    ck_assert_msg(plot_full_rc == 0, "plot_experiment: %s", plot_err);
    /* recall at the largest distance (T = 29: steps back 0..28), not the
     * chars runs, whose loss sits at every position */
    char path[1024], run[1024];
    snprintf(path, sizeof path, "%s/figures/data/gradtime_lstm_1.csv", full_dir);
    ck_assert_int_eq(csv_rows(path), 29);
    snprintf(path, sizeof path, "%s/figures/data/gradtime_lstm_2.csv", full_dir);
    ck_assert(!exists(path));               /* one line per model ... */
    for (int k = 1; k <= 3; k++) {          /* ... but the RNN at init 0.5, 1, 3 */
        snprintf(path, sizeof path, "%s/figures/data/gradtime_rnn_%d.csv", full_dir, k);
        ck_assert_msg(exists(path), "%s missing", path);
    }
    snprintf(path, sizeof path, "%s/figures/data/gradtime_rnn_4.csv", full_dir);
    ck_assert(!exists(path));
    /* after training: the last step; the RNN x3 line is that one run */
    snprintf(run, sizeof run, "%s/init-rnn-x3/gradients.csv", full_dir);
    snprintf(path, sizeof path, "%s/figures/data/gradtime_rnn_3.csv", full_dir);
    double want = csv_lookup(run, "steps_back", 20, "norm", "step", "200");
    double got = csv_lookup(path, "steps_back", 20, "trained", NULL, NULL);
    ck_assert_double_eq_tol(got, want, GRAD_RTOL * want);
    want = csv_lookup(run, "steps_back", 20, "norm", "step", "0");
    got = csv_lookup(path, "steps_back", 20, "init", NULL, NULL);
    ck_assert_double_eq_tol(got, want, GRAD_RTOL * want);
    /* two seeds: their geometric mean */
    double g = 1;
    for (int seed = 1; seed <= 2; seed++) {
        snprintf(run, sizeof run, "%s/recall-d28-lstm-s%d/gradients.csv", full_dir, seed);
        g *= csv_lookup(run, "steps_back", 7, "norm", "series", "c");   /* step 0 comes first */
    }
    snprintf(path, sizeof path, "%s/figures/data/gradtime_lstm_1.csv", full_dir);
    got = csv_lookup(path, "steps_back", 7, "c_init", NULL, NULL);
    ck_assert_double_eq_tol(got, sqrt(g), GRAD_RTOL * sqrt(g));
}
END_TEST

/* the summary.csv value of column col for the run called name */
static double summary_value(const char *exp, const char *name, const char *col)
{
    char path[1024], err[512];
    snprintf(path, sizeof path, "%s/summary.csv", exp);
    CsvTable *t = csv_read(path, err, sizeof err);
    ck_assert_msg(t != NULL, "%s", err);
    double v = NAN;
    for (int r = 0; r < t->nrows; r++)
        if (strcmp(csv_str(t, r, csv_col(t, "run")), name) == 0) v = csv_num(t, r, csv_col(t, col));
    csv_free(t);
    ck_assert_msg(!isnan(v), "summary.csv: no %s for %s", col, name);
    return v;
}

START_TEST(test_scaling_lines_differ_only_in_seq_len)
{
    ck_assert_msg(plot_full_rc == 0, "plot_experiment: %s", plot_err);
    /* the timing grid at 1 thread: T = 16, 32, 64, one line per model; the
     * 200-step, batch-16 chars runs at T = 32 and the 2-thread runs stay out */
    char path[1024];
    static const char *models[] = {"rnn", "lstm", "gru", "transformer"};
    for (int s = 1; s <= 4; s++) {
        snprintf(path, sizeof path, "%s/figures/data/scaling_s%d.csv", full_dir, s);
        ck_assert_int_eq(csv_rows(path), 3);
        for (int T = 16; T <= 64; T *= 2) {
            char run[64];
            snprintf(run, sizeof run, "timing-%s-T%d-t1", models[s - 1], T);
            double want = summary_value(full_dir, run, "step_ms");
            ck_assert_double_eq_tol(csv_lookup(path, "seq_len", T, "step_ms", NULL, NULL), want,
                                    MEAN_RTOL * want);
            want = summary_value(full_dir, run, "act_mb");
            ck_assert_double_eq_tol(csv_lookup(path, "seq_len", T, "act_mb", NULL, NULL), want,
                                    MEAN_RTOL * want);
            ck_assert_double_eq(csv_lookup(path, "seq_len", T, "runs", NULL, NULL), 1);
            /* the critical path the run reported, and the attention bytes
             * on their own (the Transformer only) */
            ck_assert_double_eq(csv_lookup(path, "seq_len", T, "critical_path", NULL, NULL),
                                summary_value(full_dir, run, "critical_path"));
            double attn = csv_lookup(path, "seq_len", T, "attn_mb", NULL, NULL);
            if (s == 4) ck_assert_double_eq_tol(attn, summary_value(full_dir, run, "attn_mb"), 1e-8);
            else ck_assert_msg(isnan(attn), "no attention bytes for %s", models[s - 1]);
        }
    }
    snprintf(path, sizeof path, "%s/figures/data/scaling_s5.csv", full_dir);
    ck_assert(!exists(path));
}
END_TEST

START_TEST(test_threads_bars_from_the_longest_window)
{
    ck_assert_msg(plot_full_rc == 0, "plot_experiment: %s", plot_err);
    /* T = 64 from the timing grid (1 thread) and the threads grid repeating
     * it at 2 (the chars runs at T = 32 have 1 and 2 threads too, but a
     * shorter window): one bar per model and count */
    char path[1024], err[512];
    snprintf(path, sizeof path, "%s/figures/data/threads.csv", full_dir);
    CsvTable *t = csv_read(path, err, sizeof err);
    ck_assert_msg(t != NULL, "%s", err);
    ck_assert_int_eq(t->nrows, 8);
    for (int r = 0; r < t->nrows; r++) {
        char run[64];
        snprintf(run, sizeof run, "timing-%s-T64-t%g", csv_str(t, r, csv_col(t, "model")),
                 csv_num(t, r, csv_col(t, "threads")));
        double want = summary_value(full_dir, run, "tokens_per_s");
        ck_assert_double_eq_tol(csv_num(t, r, csv_col(t, "mean")), want, MEAN_RTOL * want);
        ck_assert_double_eq(csv_num(t, r, csv_col(t, "n")), 1);
    }
    csv_free(t);
}
END_TEST

/* how many times the SVG text element `text` (">text<") is in the file */
static int svg_text_count(const char *path, const char *text)
{
    size_t len;
    char *svg = file_read_all(path, &len), want[300];
    ck_assert_msg(svg != NULL, "%s is missing", path);
    snprintf(want, sizeof want, ">%s<", text);
    int n = 0;
    for (const char *c = svg; (c = strstr(c, want)); c += strlen(want)) n++;
    free(svg);
    return n;
}

START_TEST(test_curve_legend_names_what_varies_in_a_panel)
{
    ck_assert_msg(plot_full_rc == 0, "plot_experiment: %s", plot_err);
    /* clipping varies only in the chars panel (rnn with and without): there
     * the two RNN lines say so; the recall panels' one RNN line is "rnn".
     * The legend lists each label once. */
    char path[1024];
    snprintf(path, sizeof path, "%s/figures/loss_vs_step.svg", full_dir);
    ck_assert_int_eq(svg_text_count(path, "rnn"), 1);
    ck_assert_int_eq(svg_text_count(path, "rnn, clip 1"), 1);
    ck_assert_int_eq(svg_text_count(path, "rnn, no clip"), 1);
    ck_assert_int_eq(svg_text_count(path, "lstm"), 1);
}
END_TEST

START_TEST(test_model_colours_same_in_figures_and_report)
{
    /* every registered model has its own colour, the same in plots/common.gp
     * (model_color) and in the report's tables and keys (model_css_color) */
    size_t len;
    char *gp = file_read_all("plots/common.gp", &len);
    ck_assert_ptr_nonnull(gp);
    int n = model_info_count();
    for (int i = 0; i < n; i++) {
        const char *name = model_info_at(i)->name, *css = model_css_color(name);
        char want[128];
        snprintf(want, sizeof want, "m eq \"%s\" ? \"%s\"", name, css);
        ck_assert_msg(strstr(gp, want) != NULL, "plots/common.gp lacks %s", want);
        for (int j = 0; j < i; j++)
            ck_assert_msg(strcmp(css, model_css_color(model_info_at(j)->name)) != 0, "%s and %s share %s",
                          name, model_info_at(j)->name, css);
    }
    free(gp);
}
END_TEST

START_TEST(test_distance_legend_ignores_panels_left_out)
{
    /* the fixture plus a clipping demonstration at one distance (an RNN
     * without clipping, init ×4: its own panel, left out of
     * accuracy_vs_distance for having one distance): the figure's RNN line
     * is plain "rnn", not "rnn, clip 1" */
    char dir[700], path[1024], err[1024];
    snprintf(dir, sizeof dir, "%s/clipdemo", tmp_root);
    ck_assert_int_eq(mkdir_p(dir), 0);
    size_t len;
    snprintf(path, sizeof path, "%s/summary.csv", full_dir);
    char *summary = file_read_all(path, &len);
    ck_assert_ptr_nonnull(summary);
    static const char row[] = "clipdemo-rnn,rnn,recall,nan,29,29,28,nan,0,4,1,1,7242,200,2.1,2.1,0.12,2.07944,"
                              "0.125,nan,129021,3.59631,0.731811,38.5799,0.464,29,clip,64,1,16,0,10\n";
    summary = xrealloc(summary, len + sizeof row);
    memcpy(summary + len, row, sizeof row);
    snprintf(path, sizeof path, "%s/summary.csv", dir);
    ck_assert_int_eq(file_write_atomic(path, summary, strlen(summary), err, sizeof err), 0);
    free(summary);
    ck_assert_msg(plot_experiment(dir, err, sizeof err) == 0, "%s", err);
    snprintf(path, sizeof path, "%s/figures/accuracy_vs_distance.svg", dir);
    ck_assert_int_eq(svg_text_count(path, "rnn"), 1);
    ck_assert_int_eq(svg_text_count(path, "rnn, clip 1"), 0);
    ck_assert_int_eq(svg_text_count(path, "rnn, no clip"), 0);
}
END_TEST

START_TEST(test_position_loss_only_where_every_position_is_scored)
{
    ck_assert_msg(plot_full_rc == 0, "plot_experiment: %s", plot_err);
    /* the recall runs' position_loss.csv holds one point (the last position):
     * no panel for them, only the chars panel (one line per model setting) */
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/figures/data", full_dir);
    int p1 = 0, other = 0;
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    struct dirent *de;
    while ((de = readdir(d))) {
        if (strncmp(de->d_name, "posloss_p", 9) != 0) continue;
        if (strncmp(de->d_name, "posloss_p1_", 11) == 0) p1++;
        else other++;
    }
    closedir(d);
    ck_assert_int_eq(p1, 5);        /* rnn clip 1, rnn no clip, lstm, gru, transformer */
    ck_assert_int_eq(other, 0);
    char path[1100];
    snprintf(path, sizeof path, "%s/posloss_p1_s3.csv", dir);
    /* 32 positions in bins two to an octave: 0, 1, 2, 3, 4-5, 6-7, 8-11,
     * 12-15, 16-23, 24-31 */
    ck_assert_int_eq(csv_rows(path), 10);
}
END_TEST

START_TEST(test_plot_skips_figures_without_data)
{
    ck_assert_msg(plot_thin_rc == 0, "plot_experiment on the thinned copy: %s", plot_err);
    assert_no_figure(thin_dir, "posenc");            /* and the stale copy is gone */
    assert_no_figure(thin_dir, "grad_through_time");
    char path[1024];
    snprintf(path, sizeof path, "%s/figures/data/posloss_p9_s1.csv", thin_dir);
    ck_assert_msg(!exists(path), "a stale data CSV is left in figures/data");
    ck_assert_int_eq(count_files(thin_dir, "attention_", ""), 0);
    /* what still has data is drawn */
    assert_figure_size(thin_dir, "loss_vs_step", PLOT_WIDTH, PLOT_HEIGHT, 1);
    assert_png(thin_dir, "perplexity", PLOT_WIDTH, PLOT_HEIGHT);
}
END_TEST

START_TEST(test_failing_gnuplot_leaves_no_file)
{
    /* scripts that all fail: a copy of plots/ with a broken common.gp */
    char plots[600], exp[600], path[1024], err[1024];
    snprintf(plots, sizeof plots, "%s/broken_plots", tmp_root);
    copy_tree("plots", plots);
    snprintf(path, sizeof path, "%s/common.gp", plots);
    FILE *f = xfopen(path, "w");
    fputs("this is not gnuplot\n", f);
    fclose(f);
    snprintf(exp, sizeof exp, "%s/broken_exp", tmp_root);
    copy_tree(FIXTURE, exp);
    setenv("SEQLAB_PLOTS", plots, 1);
    int rc = plot_experiment(exp, err, sizeof err);
    unsetenv("SEQLAB_PLOTS");
    ck_assert_int_eq(rc, -1);
    ck_assert_msg(strstr(err, "gnuplot failed") != NULL, "error: %s", err);
    ck_assert_int_eq(count_files(exp, "", ".png"), 0);
    ck_assert_int_eq(count_files(exp, "", ".svg"), 0);
    ck_assert_int_eq(count_files(exp, "", ".part"), 0);
}
END_TEST

START_TEST(test_attention_dir_draws_each_head)
{
    char out[600], src[700], err[1024];
    snprintf(out, sizeof out, "%s/attn_out", tmp_root);
    snprintf(src, sizeof src, "%s/attention/s2", full_dir);
    ck_assert_msg(plot_attention_dir(src, out, err, sizeof err) == 0, "%s", err);
    char path[1024];
    unsigned w, h;
    snprintf(path, sizeof path, "%s/attention_L1_H0.png", out);
    ck_assert_msg(png_size(path, &w, &h), "%s missing", path);
    ck_assert_uint_eq(w, PLOT_HEATMAP_WIDTH);
    ck_assert_uint_eq(h, PLOT_HEATMAP_HEIGHT);
    ck_assert_int_eq(plot_attention_dir(tmp_root, out, err, sizeof err), -1);  /* no maps there */
}
END_TEST

START_TEST(test_attention_grid_thins_crowded_labels)
{
    /* one sentence of 38 word tokens, 1 layer x 4 heads: the 4 maps side by
     * side have ~7 px a key, too little for a label each; every other (or
     * fewer) is labelled, the last always (gnuplot labels an empty last
     * column header with a number from the previous map), the weights all stay */
    char dir[700], path[1024], err[1024];
    snprintf(dir, sizeof dir, "%s/longsent", tmp_root);
    snprintf(path, sizeof path, "%s/attention/s1", dir);
    ck_assert_int_eq(mkdir_p(path), 0);
    enum { T = 38 };   /* T - 1 prime: no thinning step lands on the last key by chance */
    for (int h = 0; h < 4; h++) {
        snprintf(path, sizeof path, "%s/attention/s1/L0_H%d.csv", dir, h);
        FILE *f = fopen(path, "w");
        ck_assert_ptr_nonnull(f);
        for (int k = 0; k < T; k++) fprintf(f, ",word%d", k);
        fprintf(f, "\n");
        for (int q = 0; q < T; q++) {
            fprintf(f, "word%d", q);
            for (int k = 0; k < T; k++) fprintf(f, ",%g", k <= q ? 1.0 / (q + 1) : 0.0);
            fprintf(f, "\n");
        }
        fclose(f);
    }
    /* the fixture's summary (its runs are not here: their figures are skipped) */
    char src[1024];
    size_t len;
    snprintf(src, sizeof src, "%s/summary.csv", full_dir);
    char *summary = file_read_all(src, &len);
    ck_assert_ptr_nonnull(summary);
    snprintf(path, sizeof path, "%s/summary.csv", dir);
    ck_assert_int_eq(file_write_atomic(path, summary, len, err, sizeof err), 0);
    free(summary);
    ck_assert_msg(plot_experiment(dir, err, sizeof err) == 0, "%s", err);
    snprintf(path, sizeof path, "%s/figures/data/attention_s1_L0_H0.csv", dir);
    char e2[512];
    CsvTable *t = csv_read(path, e2, sizeof e2);
    ck_assert_msg(t != NULL, "%s", e2);
    ck_assert_int_eq(t->ncols, T + 1);
    ck_assert_int_eq(t->nrows, T);
    int keys = 0, queries = 0;
    for (int k = 0; k < T; k++) keys += t->header[k + 1][0] != '\0';
    for (int q = 0; q < T; q++) queries += csv_str(t, q, 0)[0] != '\0';
    ck_assert_str_eq(t->header[T], "word37");
    ck_assert_msg(keys >= 4 && keys <= T / 2, "%d of %d keys labelled", keys, T);
    ck_assert_msg(queries >= 4 && queries < T, "%d of %d queries labelled", queries, T);
    ck_assert_double_eq_tol(csv_num(t, T - 1, T), 1.0 / T, 1e-6);
    csv_free(t);
}
END_TEST

/* every src="..." and href="..." value in html, percent-decoded */
static int html_links(const char *html, char links[][512], int max)
{
    int n = 0;
    for (const char *p = html; (p = strstr(p, "=\"")) && n < max; p += 2) {
        if (!((p - html >= 3 && strncmp(p - 3, "src", 3) == 0) ||
              (p - html >= 4 && strncmp(p - 4, "href", 4) == 0)))
            continue;
        const char *v = p + 2, *end = strchr(v, '"');
        if (!end) break;
        size_t o = 0;
        for (const char *c = v; c < end && o + 1 < 512; c++) {
            unsigned x;
            if (*c == '%' && end - c > 2 && sscanf(c + 1, "%2x", &x) == 1) { links[n][o++] = (char)x; c += 2; }
            else links[n][o++] = *c;
        }
        links[n][o] = '\0';
        n++;
    }
    return n;
}

START_TEST(test_report_links_only_existing_files)
{
    ck_assert_msg(plot_full_rc == 0 && plot_thin_rc == 0, "plot_experiment: %s", plot_err);
    char err[1024], path[1024];
    ck_assert_msg(report_write(runs_dir, err, sizeof err) == 0, "%s", err);
    snprintf(path, sizeof path, "%s/index.html", runs_dir);
    size_t len;
    char *html = file_read_all(path, &len);
    ck_assert_ptr_nonnull(html);
    static char links[400][512];
    int n = html_links(html, links, 400), images = 0, files = 0;
    for (int i = 0; i < n; i++) {
        if (links[i][0] == '#') continue;               /* a link inside the page */
        ck_assert_msg(strstr(links[i], "://") == NULL && links[i][0] != '/',
                      "link %s is not relative", links[i]);
        snprintf(path, sizeof path, "%.500s/%.500s", runs_dir, links[i]);
        ck_assert_msg(exists(path), "index.html links %s, which does not exist", links[i]);
        files++;
        images += strstr(links[i], ".png") != NULL;
    }
    /* both experiments' figures: the full one has every figure but the
     * scaling ones and the pair ones, and 2 attention grids, the thin one
     * lacks posenc and grad_through_time too; each PNG is an img and its
     * SVG a link, but for the 2 loss-curve figures of each, which are
     * inline SVG, linear and log (report_curves.c) */
    ck_assert_int_eq(images, (plot_nfigures - NSWEEP_FIGURES - PAIR_FIGURES) + 2 +
                                 (plot_nfigures - NSWEEP_FIGURES - PAIR_FIGURES - 2) - 2 * 2);
    int curves = 0, logs = 0;
    for (const char *c = html; (c = strstr(c, "<div class=\"curves\"")); c++) curves++;
    for (const char *c = html; (c = strstr(c, "<div class=\"figscroll curve-log\" hidden><svg")); c++) logs++;
    ck_assert_int_eq(curves, 2 * 2);
    ck_assert_int_eq(logs, 2 * 2);
    ck_assert_int_ge(files, 2 * images);
    ck_assert_msg(strstr(html, "delayed recall") != NULL, "the question is on the page");
    ck_assert_msg(strstr(html, "Largest distance solved") != NULL, "distance table present");
    ck_assert_msg(strstr(html, "&lt;house&gt;") != NULL, "samples are HTML-escaped");
    /* the explorer's script is inline: nothing is loaded from elsewhere */
    ck_assert_msg(strstr(html, "<script src") == NULL, "no script loaded from a file or the network");
    ck_assert_msg(strstr(html, "class=\"explorer\"") != NULL, "the attention explorer is on the page");
    /* the colour key names the models the runs used, and no other */
    const char *key = strstr(html, "Colours are the same in every figure and table");
    const char *key_end = key ? strstr(key, "</p>") : NULL;
    ck_assert_msg(key && key_end, "the colour key is on the page");
    for (int m = 0; m < model_info_count(); m++) {
        const char *name = model_info_at(m)->name;
        char swatch[160];
        snprintf(swatch, sizeof swatch, "background:%s\"></span>%s", model_css_color(name), name);
        const char *at = strstr(key, swatch);
        char run[1024];   /* the fixture ran each of its models on chars */
        snprintf(run, sizeof run, "%s/chars-%s-s1/metrics.csv", full_dir, name);
        int in_key = at && at < key_end, ran = exists(run);
        ck_assert_msg(in_key == ran, "the colour key %s %s, which the fixture %s", in_key ? "lists" : "lacks",
                      name, ran ? "ran" : "did not run");
    }
    ck_assert_msg(strstr(html, "id=\"findings\"") != NULL && strstr(html, "Gates keep long-term memory"),
                  "the findings box opens the page");
    /* a table per grid group, the timing grids apart from the learning results */
    static const char *groups[] = {"chars", "recall", "init", "timing", "threads", "positions"};
    for (size_t g = 0; g < sizeof groups / sizeof *groups; g++) {
        char want[128];
        snprintf(want, sizeof want, "-table-%s\">grid group <code>%s</code>", groups[g], groups[g]);
        ck_assert_msg(strstr(html, want) != NULL, "a table for grid group %s", groups[g]);
    }
    ck_assert_msg(strstr(html, "<span class=\"prompt\" title=\"prompt\">In </span>the beginning"),
                  "a sample's prompt is marked");
    ck_assert_msg(strstr(html, "\xe2\x80\x9cIn the begin\xe2\x80\x9d") != NULL,
                  "a map's caption quotes its sentence");
    free(html);
}
END_TEST

START_TEST(test_cmd_plot_arguments)
{
    char *help[] = {"plot", "--help", NULL};
    ck_assert_int_eq(cmd_plot(2, help), 0);
    char *none[] = {"plot", NULL};
    ck_assert_int_ne(cmd_plot(1, none), 0);
    char *bad[] = {"plot", "--frobnicate", full_dir, NULL};
    ck_assert_int_ne(cmd_plot(3, bad), 0);
    char *missing[] = {"plot", "/nonexistent/experiment", NULL};
    ck_assert_int_ne(cmd_plot(2, missing), 0);
}
END_TEST

/* a two-run experiment of pairs (reverse, with and without attention) as the
 * runner writes it: summary.csv's architecture and attention columns, each
 * run's translation.csv; the length figure averages the test buckets */
START_TEST(test_quality_vs_length_from_pair_runs)
{
    char dir[700], path[900];
    snprintf(dir, sizeof dir, "%s/pairs", tmp_root);
    ck_assert_int_eq(mkdir_p(dir), 0);
    snprintf(path, sizeof path, "%s/summary.csv", dir);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "run,model,task,seed,steps,architecture,attention,test_bleu,test_exact_match\n"
               "rev-gru-none,gru,reverse,1,100,encoder-decoder,none,0,0.5\n"
               "rev-gru-additive,gru,reverse,1,100,encoder-decoder,additive,0,0.9\n");
    fclose(f);
    const char *runs[2] = {"rev-gru-none", "rev-gru-additive"};
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, runs[i]);
        ck_assert_int_eq(mkdir_p(path), 0);
        snprintf(path, sizeof path, "%s/%s/translation.csv", dir, runs[i]);
        f = fopen(path, "w");
        fprintf(f, "split,bucket_lo,bucket_hi,pairs,exact_match,bleu\n"
                   "valid,1,8,10,0.5,0\ntest,1,8,10,0.5,0\n"
                   "test,1,4,5,%g,0\ntest,5,8,5,%g,0\n", i ? 0.95 : 0.9, i ? 0.85 : 0.1);
        fclose(f);
    }
    char err[1024];
    ck_assert_msg(plot_experiment(dir, err, sizeof err) == 0, "%s", err);
    assert_png(dir, "quality_vs_length", PLOT_WIDTH, PLOT_HEIGHT);
    /* each line's points: bucket middles 2.5 and 6.5, the buckets' exact match */
    snprintf(path, sizeof path, "%s/figures/data/quality_p1_1.csv", dir);
    size_t len;
    char *csv = file_read_all(path, &len);
    ck_assert_ptr_nonnull(csv);
    ck_assert_msg(strstr(csv, "2.5,0.9,") && strstr(csv, "6.5,0.1,"), "%s", csv);
    free(csv);
}
END_TEST

static Suite *make_plot_suite(int have_gnuplot)
{
    Suite *s = suite_create("plot");
    TCase *data = tcase_create("data");
    tcase_add_unchecked_fixture(data, setup_runs, teardown_runs);
    tcase_add_test(data, test_csv_reads_columns_by_name_and_quotes);
    tcase_add_test(data, test_experiment_load_reads_summary_and_question);
    tcase_add_test(data, test_groups_order_and_label_what_varies);
    tcase_add_test(data, test_stats_mean_sd_skips_missing_values);
    tcase_add_test(data, test_attention_sentence_from_tokens);
    tcase_add_test(data, test_cmd_plot_arguments);
    tcase_add_test(data, test_model_colours_same_in_figures_and_report);
    if (have_gnuplot) {
        /* drawing ~30 figures with gnuplot takes a few seconds */
        tcase_set_timeout(data, 120);
        tcase_add_test(data, test_plot_draws_every_figure);
        tcase_add_test(data, test_plot_averages_seeds);
        tcase_add_test(data, test_grad_through_time_prefers_last_position_loss);
        tcase_add_test(data, test_scaling_lines_differ_only_in_seq_len);
        tcase_add_test(data, test_threads_bars_from_the_longest_window);
        tcase_add_test(data, test_position_loss_only_where_every_position_is_scored);
        tcase_add_test(data, test_curve_legend_names_what_varies_in_a_panel);
        tcase_add_test(data, test_distance_legend_ignores_panels_left_out);
        tcase_add_test(data, test_plot_skips_figures_without_data);
        tcase_add_test(data, test_failing_gnuplot_leaves_no_file);
        tcase_add_test(data, test_attention_dir_draws_each_head);
        tcase_add_test(data, test_attention_grid_thins_crowded_labels);
        tcase_add_test(data, test_report_links_only_existing_files);
        tcase_add_test(data, test_quality_vs_length_from_pair_runs);
    }
    suite_add_tcase(s, data);
    return s;
}

int main(void)
{
    int have = plot_gnuplot_available();
    if (!have)
        printf("test_plot: note: gnuplot is not installed; the drawing tests are skipped\n");
    return run_suite(make_plot_suite(have));
}
