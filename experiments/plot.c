/*
 * plot.c — `seqlab plot`: every figure of one experiment, and the list of
 * figures with their captions.
 *
 * For each figure kind seqlab (1) picks the runs that have its data (the
 * figure files: plot_curves.c, plot_figures.c, plot_attention.c), (2)
 * averages over seeds in C (mean ± sd, gsl_stats) into small CSVs in
 * figures/data/ (plot_average.c), and (3) runs gnuplot on plots/<kind>.gp
 * twice, for PNG (pngcairo) and SVG, passing the file names, labels and
 * models as `-e` variables (plot_gnuplot.c).  This file holds the figure
 * list, the entry points and writes findings.csv before drawing.  The scripts read CSV columns by name and own every visual
 * choice; colours per model are fixed in plots/common.gp.
 *
 * A figure without data is skipped with one line on stderr, and an old copy
 * of it is removed.  gnuplot writes NAME.png.part and seqlab renames it only
 * if gnuplot succeeded and the file is not empty, so there is never a
 * half-drawn figure on disk.
 *
 * What this file is not: the report page (report.c) or the drawing itself
 * (plots/NAME.gp).
 */
#define _GNU_SOURCE
#include "plot_internal.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util.h"

/* what to look for in each figure; the report puts the figure's measured
 * key sentences (findings.csv) before this text */
const PlotFigure plot_figures[] = {
    {"loss_vs_step", "Loss against training step, one panel per task setting: dashed lines are "
                     "training loss, solid lines (with points) validation loss, averaged over "
                     "seeds (a run that stopped early, solved, counts at its last loss); the "
                     "dotted line is chance, for text the unigram baseline, and the dash-dotted "
                     "one a uniform guess, ln V. Lower is better; a gap between dashed and solid "
                     "means overfitting. Runs far shorter than the rest (a timing grid) are left "
                     "out."},
    {"loss_vs_time", "The same losses against wall-clock seconds: a model that learns more per "
                     "step can still lose if each step costs more."},
    {"grad_norm", "Global gradient norm (before clipping) on a log scale, one panel per task "
                  "setting. Spikes are exploding gradients. A model's second setting (such as "
                  "rnn, no clip) is the thinner line with points: compare it with the clipped "
                  "run, whose threshold is the dotted line. A clipped run's norm can be as large: "
                  "clipping bounds the step taken, not the gradient computed."},
    {"grad_through_time", "How much of the loss gradient reaches back k steps, one panel per "
                          "model, log scale (each panel its own range: compare slopes, not "
                          "heights), at initialisation "
                          "(dashed) and after training (solid). The runs are those whose loss "
                          "sits at the last position only (recall, else adding or copy, at the "
                          "largest distance), so each curve starts at that one loss. A straight "
                          "falling line is exponential vanishing, a rising one exploding; an RNN "
                          "run at several init scales gets one shade per scale. Compare how "
                          "steeply each curve falls: gates (the LSTM's cell c, the GRU) can keep "
                          "a path open, and attention reaches every position in one step (for the "
                          "Transformer the curve is ||dL/dx_t||, the gradient at its input at "
                          "position t, as it has no state carried through time)."},
    {"accuracy_vs_distance", "Accuracy (mean over seeds, with ± sd bars where there are two or "
                             "more) as the distance to remember grows; the dotted line is "
                             "chance; lines are shifted a little sideways so that none hides another. Where a model's line falls to "
                             "chance, it no longer carries the information that far."},
    {"speed_vs_seq_len", "Left: the median time per training step as the window T grows, "
                         "log-log, the bars spanning the middle half of the steps timed (the first "
                         "steps of each run left out as warm-up). Right: the critical path, the "
                         "steps that must run one after another in a forward pass: T + L - 1 for "
                         "a recurrence, L for the Transformer. Each line joins runs identical but "
                         "for T (the settings under the title); lines are shifted a little "
                         "sideways so that none hides another. Wide bars mean a busy machine."},
    {"memory_vs_seq_len", "Memory as the window T grows, log-log, for the same runs: the "
                          "activations kept for backward with an O(T) guide through the "
                          "recurrent models, the Transformer's attention matrices alone with an "
                          "O(T²) guide through their own bytes, and the peak memory of the "
                          "whole process."},
    {"posenc", "The positional-encoding table added to the token embedding: one row per "
               "position, one column per dimension. Low dimensions change quickly, high ones "
               "slowly, so every position gets a distinct pattern."},
    {"perplexity", "Validation perplexity (mean over seeds, ± sd bars where there are two or "
                   "more; lower is better): the number of tokens the model is, in effect, "
                   "choosing between, with each model's parameter count and number of runs. The "
                   "dotted line is the unigram baseline (a model that knows only how often each "
                   "token occurs); the title gives a uniform guess, V."},
    {"threads", "Training throughput with 1 and 2 threads (paler: fewer), from runs identical "
                "but for the thread count, at the longest window run with both (the settings "
                "under the title): how much each model gains from a second core. Work spread "
                "over T positions at once parallelises better than a chain of T small steps."},
    {"position_loss", "Validation loss at each position of the window, for the tasks with a "
                      "target at every position (text, parity): position t has seen t + 1 "
                      "tokens, so early positions have little context (log axis; positions "
                      "averaged in bins, 2048 windows). How fast a line falls shows how quickly "
                      "each model uses its context; where it goes flat, more context stops "
                      "helping that model."},
    {"loss_vs_params", "Does a bigger model predict better?  Validation loss against the non-embedding "
                       "parameter count N (Kaplan et al.: no embedding, position or output tables), "
                       "log-log, at one token budget: the mean over seeds at each size (bars: sd) and "
                       "the least-squares fit L = E + A N^-alpha (line; where no such curve fits, the "
                       "pure power law). The legend gives alpha with its standard error, E (the loss "
                       "no size removes) and R^2; fits_params.csv has them all. A steeper line is a "
                       "model that gains more from size."},
    {"loss_vs_data", "Does more data help?  The best validation loss along the run (early stopping) "
                     "against the training tokens D (train_fraction of the training split, spread "
                     "over it; the validation split never changes), log-log, with L = E + A D^-alpha "
                     "fitted; the dashed line is the loss at the end of training, whose rise above "
                     "the points on small data is over-fitting."},
    {"context_slope", "Does the model keep using context far back?  Validation loss at each position "
                      "of a long window for the largest model of each architecture (Kaplan et al.'s "
                      "figure 7), log axis of context length; the black dashed lines are least-squares "
                      "fits of loss against ln(t + 1) beyond position 64 (dotted line), and the legend "
                      "gives their slopes. A slope near zero is a model that has stopped gaining from "
                      "more context. Every model reads the same validation windows, so the text's "
                      "own position-to-position ups and downs are common to all lines: "
                      "context_slope_pairs.csv compares two models by the slope of the difference "
                      "of their losses, far more precisely than each slope is known alone."},
    {"quality_vs_length", "Translation quality against source length (Bahdanau et al. 2015, "
                          "Fig. 2): exact match (reverse, dates) or corpus BLEU (translate) of "
                          "greedy decoding on the test pairs, mean ± sd over seeds, per bucket of "
                          "source length; dashed lines are the recurrent models with additive "
                          "attention. Without attention one vector must carry the whole source, "
                          "and the line falls as sources grow; with attention it should hold."},
};
const int plot_nfigures = sizeof plot_figures / sizeof plot_figures[0];

/* ========================================================= entry points ==== */

/* plots/ beside the executable, else ./plots; $SEQLAB_PLOTS wins */
static int find_plotdir(char *out, size_t n)
{
    char cand[3][PATH_MAX];
    int nc = 0;
    const char *env = getenv("SEQLAB_PLOTS");
    if (env && *env) plot_sfmt(cand[nc++], PATH_MAX, "%s", env);
    char exe[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len > 0) {
        exe[len] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) { *slash = '\0'; plot_sfmt(cand[nc++], PATH_MAX, "%.*s/plots", PATH_MAX - 8, exe); }
    }
    plot_sfmt(cand[nc++], PATH_MAX, "plots");
    for (int i = 0; i < nc; i++) {
        char common[PATH_MAX + 16];
        plot_sfmt(common, sizeof common, "%s/common.gp", cand[i]);
        if (plot_file_exists(common) && realpath(cand[i], out)) return 0;
    }
    plot_sfmt(out, n, "plots");
    return -1;
}

/* the parts of a Plot every entry point sets up: figure and data folders,
 * the scripts, gnuplot.  0, or -1 with err */
static int plot_setup(Plot *p, const char *fig_dir, char *err, size_t errlen)
{
    if (find_plotdir(p->plotdir, sizeof p->plotdir) != 0) {
        snprintf(err, errlen, "cannot find the gnuplot scripts (plots/common.gp) beside the "
                              "seqlab executable or in the current directory");
        return -1;
    }
    if (!plot_gnuplot_available()) {
        snprintf(err, errlen, "gnuplot is not installed (or not on PATH); figures need it");
        return -1;
    }
    char data[PATH_MAX + 8];
    plot_sfmt(data, sizeof data, "%s/data", fig_dir);
    if (mkdir_p(data) != 0 || !realpath(fig_dir, p->figdir)) {
        snprintf(err, errlen, "cannot create '%s': %s", data, strerror(errno));
        return -1;
    }
    plot_sfmt(p->datadir, sizeof p->datadir, "%s/data", p->figdir);
    return 0;
}

int plot_attention_dir(const char *attn_dir, const char *fig_dir, char *err, size_t errlen)
{
    Plot *p = xcalloc(1, sizeof *p);
    int rc = -1;
    /* the folder's name labels the maps, as an experiment's name would */
    char dir[PATH_MAX];
    plot_sfmt(dir, sizeof dir, "%s", attn_dir);
    size_t l = strlen(dir);
    while (l > 1 && dir[l - 1] == '/') dir[--l] = '\0';
    const char *base = strrchr(dir, '/');
    plot_sfmt(p->e.name, sizeof p->e.name, "%s", base ? base + 1 : dir);
    if (plot_setup(p, fig_dir, err, errlen) != 0) goto out;
    int maps = plot_attention_maps(p, dir, p->e.name, 0);
    if (maps == 0) snprintf(err, errlen, "no L<layer>_H<head>.csv in '%s'", attn_dir);
    else if (maps < 0) snprintf(err, errlen, "gnuplot failed on the maps in '%s' (see above)", attn_dir);
    else rc = 0;
out:
    free(p);
    return rc;
}

int plot_experiment_to(const char *exp_dir, const char *fig_dir, char *err, size_t errlen)
{
    Plot *p = xcalloc(1, sizeof *p);
    int rc = -1;
    if (experiment_load(&p->e, exp_dir, err, errlen) != 0) goto out;
    char want[PATH_MAX];
    if (fig_dir) plot_sfmt(want, sizeof want, "%s", fig_dir);
    else plot_sfmt(want, sizeof want, "%s/figures", p->e.dir);
    if (plot_setup(p, want, err, errlen) != 0) goto out;
    /* figures/data holds only what this run writes: no CSV of a figure
     * (or a panel) that is no longer drawn stays behind */
    char **old;
    int nold = plot_list_dir(p->datadir, &old);
    for (int i = 0; i < nold; i++) {
        size_t l = strlen(old[i]);
        if (l > 4 && strcmp(old[i] + l - 4, ".csv") == 0) {
            char path[PATH_MAX + 300];
            plot_sfmt(path, sizeof path, "%s/%s", p->datadir, old[i]);
            unlink(path);
        }
    }
    plot_list_free(old, nold);
    if (p->e.nruns == 0)
        fprintf(stderr, "seqlab plot: %s: summary.csv lists no runs\n", p->e.name);
    /* the findings, beside summary.csv (figures drawn elsewhere with --out
     * leave the experiment's folder as it is); a figure that cannot show
     * its claim fairly asks them (plot_finding) */
    p->nfindings = findings_compute(&p->e, &p->findings);
    if (!fig_dir && findings_write(&p->e, p->findings, p->nfindings, err, errlen) != 0) goto out;

    int failed = 0;
    failed |= plot_figures_metrics(p) < 0;
    failed |= plot_figure_grad_through_time(p) < 0;
    failed |= plot_figure_accuracy_vs_distance(p) < 0;
    failed |= plot_figures_scaling(p) < 0;
    failed |= plot_figures_attention(p) < 0;
    failed |= plot_figure_posenc(p) < 0;
    failed |= plot_figure_perplexity(p) < 0;
    failed |= plot_figure_threads(p) < 0;
    failed |= plot_figure_position_loss(p) < 0;
    failed |= plot_figures_scaling_laws(p) < 0;
    failed |= plot_figure_quality_vs_length(p) < 0;
    if (failed) {
        snprintf(err, errlen, "gnuplot failed on some figures of '%s' (see above)", exp_dir);
        goto out;
    }
    rc = 0;
out:
    free(p->findings);
    experiment_free(&p->e);
    free(p);
    return rc;
}

int plot_experiment(const char *exp_dir, char *err, size_t errlen)
{
    return plot_experiment_to(exp_dir, NULL, err, errlen);
}

static void plot_usage(FILE *f)
{
    fprintf(f,
            "usage: seqlab plot runs/NAME [--out DIR]\n"
            "\n"
            "Draw every figure of the experiment in runs/NAME (PNG and SVG, with\n"
            "gnuplot and the scripts in plots/) into runs/NAME/figures, or DIR.\n"
            "Figures whose data is missing are skipped with a note.  Without --out,\n"
            "the course claims the experiment tests are measured into\n"
            "runs/NAME/findings.csv first, and the report page of the folder holding\n"
            "the experiment (runs/index.html) is rewritten too.\n");
}

int cmd_plot(int argc, char **argv)
{
    const char *exp_dir = NULL, *out = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            plot_usage(stdout);
            return 0;
        } else if (strcmp(argv[i], "--out") == 0) {
            if (i + 1 >= argc) {
                fprintf(stderr, "seqlab plot: --out needs a directory\n");
                return EXIT_USER_ERROR;
            }
            out = argv[++i];
        } else if (strncmp(argv[i], "--out=", 6) == 0) {
            out = argv[i] + 6;
        } else if (argv[i][0] == '-') {
            fprintf(stderr, "seqlab plot: unknown option '%s'\n", argv[i]);
            plot_usage(stderr);
            return EXIT_USER_ERROR;
        } else if (!exp_dir) {
            exp_dir = argv[i];
        } else {
            fprintf(stderr, "seqlab plot: one experiment at a time ('%s' and '%s')\n", exp_dir,
                    argv[i]);
            return EXIT_USER_ERROR;
        }
    }
    if (!exp_dir) {
        plot_usage(stderr);
        return EXIT_USER_ERROR;
    }
    char err[1024];
    if (plot_experiment_to(exp_dir, out, err, sizeof err) != 0) {
        fprintf(stderr, "seqlab plot: %s\n", err);
        return EXIT_USER_ERROR;
    }
    printf("seqlab plot: figures of %s in %s\n", exp_dir, out ? out : "its figures/ folder");
    if (!out) {
        /* the folder holding the experiment gets a fresh report page */
        char parent[PATH_MAX];
        plot_sfmt(parent, sizeof parent, "%s", exp_dir);
        size_t l = strlen(parent);
        while (l > 1 && parent[l - 1] == '/') parent[--l] = '\0';
        char *slash = strrchr(parent, '/');
        if (slash == parent) slash[1] = '\0';
        else if (slash) *slash = '\0';
        else plot_sfmt(parent, sizeof parent, ".");
        if (report_write(parent, err, sizeof err) != 0) {
            fprintf(stderr, "seqlab plot: %s\n", err);
            return EXIT_USER_ERROR;
        }
        printf("seqlab plot: report in %s/index.html\n", parent);
    }
    return 0;
}
