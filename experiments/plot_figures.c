/*
 * plot_figures.c — the figures that summarise runs with one number each:
 * accuracy against distance, time and memory against the window length,
 * perplexity per model, throughput with 1 and 2 threads.
 *
 * What this file is not: the curves over training (plot_curves.c).
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

/* ======================== figure 5: accuracy against distance ==== */

/* For the runs idx[0..n), at each distinct value of field `xoff`, the mean
 * and sd of the fields in yoffs.  Writes x,<names>,<names>_sd...; returns
 * rows; has[c] counts finite means of field c. */
static int table_by(const Experiment *e, const int *idx, int n, size_t xoff, const char *xname,
                    const size_t *yoffs, const char **ynames, int ny, const char *out_path, int *has)
{
    double *xs = xmalloc((size_t)(n + 1) * sizeof *xs), *vals = xmalloc((size_t)(n + 1) * sizeof *vals);
    int nx = plot_field_values(e, idx, n, xoff, xs);
    for (int c = 0; c < ny; c++) has[c] = 0;
    FILE *out = fopen(out_path, "w");
    if (!out) die("cannot write '%s': %s", out_path, strerror(errno));
    fprintf(out, "%s", xname);
    for (int c = 0; c < ny; c++) fprintf(out, ",%s,%s_sd", ynames[c], ynames[c]);
    fprintf(out, ",n\n");
    for (int k = 0; k < nx; k++) {
        fprintf(out, "%.10g", xs[k]);
        int count = 0;
        for (int c = 0; c < ny; c++) {
            int m = 0;
            for (int i = 0; i < n; i++)
                if (plot_run_field(&e->runs[idx[i]], xoff) == xs[k])
                    vals[m++] = plot_run_field(&e->runs[idx[i]], yoffs[c]);
            double mean, sd;
            int f = stats_mean_sd(vals, m, &mean, &sd);
            if (f > count) count = f;
            if (f) { fprintf(out, ",%.10g,%.10g", mean, sd); has[c]++; }
            else fprintf(out, ",nan,nan");
        }
        fprintf(out, ",%d\n", count);
    }
    fclose(out);
    free(xs);
    free(vals);
    return nx;
}

/* a panel of accuracy_vs_distance: runs at two or more distances, with
 * a validation accuracy (classification) or a final loss (regression) */
static int distance_panel_ok(const Experiment *e, const Group *panel, double *v)
{
    if (FIELD_VALUES(e, panel->idx, panel->n, distance, v) < 2) return 0;
    return isfinite(GROUP_MEAN(e, panel, val_accuracy)) || isfinite(GROUP_MEAN(e, panel, final_val_loss));
}

int plot_figure_accuracy_vs_distance(Plot *p)
{
    const char *base = "accuracy_vs_distance";
    const Experiment *e = &p->e;
    int *idx = xmalloc((size_t)(e->nruns + 1) * sizeof *idx), n = 0;
    double *v = xmalloc((size_t)(e->nruns + 1) * sizeof *v);
    for (int i = 0; i < e->nruns; i++)
        if (isfinite(e->runs[i].distance)) idx[n++] = i;
    n = plot_keep_learning_runs(e, idx, n);
    Group *panels = NULL, *series = NULL;
    int np = n ? groups_make(e, idx, n, KEY_TASK | KEY_TOKENIZER | KEY_INIT_SCALE, &panels) : 0;
    /* the lines, labelled by what varies among the runs drawn (not those of
     * panels left out, say a clipping run at one distance) */
    int drawn = 0;
    for (int pi = 0; pi < np; pi++)
        if (distance_panel_ok(e, &panels[pi], v))
            for (int i = 0; i < panels[pi].n; i++) idx[drawn++] = panels[pi].idx[i];
    n = drawn;
    int ns = n ? groups_make(e, idx, n, KEYS_SERIES, &series) : 0;
    Args a = {0};
    int drawn_panels = 0, used[64] = {0}, *both = xmalloc((size_t)(n + 1) * sizeof *both);
    for (int pi = 0; pi < np && drawn_panels < MAX_PANELS; pi++) {
        if (!distance_panel_ok(e, &panels[pi], v)) continue;
        /* classification: accuracy; regression (adding): final loss / chance loss */
        int accuracy = isfinite(GROUP_MEAN(e, &panels[pi], val_accuracy));
        size_t yoff = accuracy ? offsetof(Run, val_accuracy) : offsetof(Run, final_val_loss);
        int pnum = drawn_panels + 1, lines = 0;
        for (int si = 0; si < ns && si < 64; si++) {
            int m = plot_intersect(&panels[pi], &series[si], both);
            if (!m) continue;
            char f[128], out[PATH_MAX + 200];
            plot_sfmt(f, sizeof f, "data/distance_p%d_s%d.csv", pnum, si + 1);
            plot_sfmt(out, sizeof out, "%s/%s", p->figdir, f);
            static const char *names[] = {"value", "chance_accuracy", "final_val_loss", "chance_loss"};
            size_t offs[] = {yoff, offsetof(Run, chance_accuracy), offsetof(Run, final_val_loss),
                             offsetof(Run, chance_loss)};
            int has[4];
            table_by(e, both, m, offsetof(Run, distance), "distance", offs, names, 4, out, has);
            if (!has[0]) continue;
            lines++;
            used[si] = 1;
            plot_args_str(&a, f, "file%d_%d", pnum, lines);
            plot_args_str(&a, e->runs[series[si].idx[0]].model, "model%d_%d", pnum, lines);
            plot_args_printf(&a, "variant%d_%d=%d;", pnum, lines, plot_series_variant(e, series, si));
        }
        if (!lines) continue;
        drawn_panels++;
        plot_args_printf(&a, "pn%d=%d;", pnum, lines);
        plot_args_str(&a, panels[pi].label, "ptitle%d", pnum);
        plot_args_printf(&a, "paccuracy%d=%d;", pnum, accuracy);
    }
    int rc;
    if (!drawn_panels) {
        rc = plot_skip(p, base, "needs runs at two or more distances with val_accuracy or final_val_loss");
    } else {
        plot_args_printf(&a, "npanels=%d;", drawn_panels);
        int k = 0;
        for (int si = 0; si < ns && si < 64; si++) {
            if (!used[si]) continue;
            k++;
            plot_args_str(&a, e->runs[series[si].idx[0]].model, "lmodel%d", k);
            plot_args_printf(&a, "lvariant%d=%d;", k, plot_series_variant(e, series, si));
            plot_args_str(&a, series[si].label, "llabel%d", k);
        }
        plot_args_printf(&a, "nseries=%d;", k);
        plot_args_str(&a, "How far back can each model remember?  Accuracy against distance", "title");
        rc = plot_render(p, "accuracy_vs_distance", base, PLOT_WIDTH, PLOT_HEIGHT, &a) < 0 ? -1 : 0;
    }
    plot_args_free(&a);
    free(both);
    free(panels);
    free(series);
    free(v);
    free(idx);
    return rc;
}

/* ============= figures 6 and 7: time and memory against window length ==== */

/* the settings a model may have of its own inside one comparison: a
 * Transformer's layers and positions, a per-model hidden size */
#define KEYS_MODEL_OWN (KEY_MODEL | KEY_POSITIONS | KEY_HIDDEN | KEY_LAYERS)

/* "chars, batch 8, 12 steps, 1 thread": the settings every run of a
 * comparison shares, for its subtitle (`but` names the ones it varies) */
static void shared_settings(const Experiment *e, const int *idx, int n, unsigned but, char *out,
                            size_t cap)
{
    const Run *r = &e->runs[idx[0]];
    size_t l = 0;
    out[0] = '\0';
#define ADD(...) do { if (l < cap) l += (size_t)snprintf(out + l, cap - l, __VA_ARGS__); } while (0)
    ADD("%s", r->task);
    if (r->tokenizer[0] && strcmp(r->tokenizer, r->task) != 0) ADD(" (%s tokens)", r->tokenizer);
    if (!(but & KEY_DISTANCE) && isfinite(r->distance)) ADD(" d=%g", r->distance);
    if (!(but & KEY_SEQ_LEN) && isfinite(r->seq_len)) ADD(", T=%g", r->seq_len);
    if (isfinite(r->batch_size)) ADD(", batch %g", r->batch_size);
    double h = r->hidden_size;
    for (int i = 1; i < n; i++)
        if (e->runs[idx[i]].hidden_size != h) h = NAN;
    if (isfinite(h)) ADD(", H=%g", h);
    if (isfinite(run_budget(r))) ADD(", %g steps", run_budget(r));
    if (!(but & KEY_THREADS) && isfinite(r->threads))
        ADD(", %g thread%s", r->threads, r->threads == 1 ? "" : "s");
#undef ADD
}

/* Figures 6 and 7.  Only runs identical but for the window T (and the seed)
 * share a line: a T=64 point from a 400-step, batch-32 run beside 12-step,
 * batch-8 runs would be a spike that says nothing about T.  The runs of one
 * figure are identical but for T and the model's own settings; of those
 * sets, the one with the most window lengths (then the most lines, then the
 * fewest threads) is drawn; a line with a single point is left out. */
/* one line of figures 6 and 7 (the runs of one model identical but for T):
 * per T, the median time per step (timing.csv after the warm-up steps,
 * averaged over seeds) with its quartiles, the critical path, and the
 * memory columns (means over seeds).  Returns the number of T values. */
static int scaling_table(const Plot *p, const int *idx, int n, const char *out_path)
{
    const Experiment *e = &p->e;
    double *Ts = xmalloc((size_t)(n + 1) * sizeof *Ts);
    int nT = FIELD_VALUES(e, idx, n, seq_len, Ts);
    FILE *out = fopen(out_path, "w");
    if (!out) die("cannot write '%s': %s", out_path, strerror(errno));
    fprintf(out, "seq_len,step_ms,step_q1,step_q3,critical_path,act_mb,attn_mb,peak_rss_mb,steps_timed,runs\n");
    for (int k = 0; k < nT; k++) {
        double med = 0, q1 = 0, q3 = 0, cp = 0, act = 0, attn = 0, rss = 0;
        int c = 0, reps = 0;
        for (int i = 0; i < n; i++) {
            const Run *r = &e->runs[idx[i]];
            if (r->seq_len != Ts[k]) continue;
            double a, b;
            int rp;
            med += findings_step_ms(e, r, &a, &b, &rp);
            q1 += a;
            q3 += b;
            reps += rp;
            cp += r->critical_path;
            act += r->act_mb;
            attn += r->attn_mb;
            rss += r->peak_rss_mb;
            c++;
        }
        fprintf(out, "%.10g,%.10g,%.10g,%.10g,%.10g,%.10g,%.10g,%.10g,%d,%d\n", Ts[k], med / c, q1 / c, q3 / c,
                cp / c, act / c, attn / c > 0 ? attn / c : NAN, rss / c, reps, c);
    }
    fclose(out);
    free(Ts);
    return nT;
}

/* the set of runs figures 6 and 7 draw: runs identical but for T (and, on
 * a task with a distance, the distance that sets T), a timing grid if there
 * is one (run_is_timing: a learning grid over distances also spans window
 * lengths), then the most window lengths, lines, the fewest threads; -1 if
 * no set has two window lengths */
static int scaling_pick(const Experiment *e, const Group *sets, int nsets, unsigned line_mask, double *v)
{
    int pick = -1, best_T = 1, best_lines = 0, best_timing = 0;
    double best_threads = INFINITY;
    int *idx = xmalloc((size_t)(e->nruns + 1) * sizeof *idx);
    for (int si = 0; si < nsets; si++) {
        Group *lines;
        int nl = groups_make(e, sets[si].idx, sets[si].n, line_mask, &lines), good = 0, m = 0;
        for (int li = 0; li < nl; li++) {
            if (FIELD_VALUES(e, lines[li].idx, lines[li].n, seq_len, v) < 2) continue;
            good++;
            for (int i = 0; i < lines[li].n; i++) idx[m++] = lines[li].idx[i];
        }
        free(lines);
        int nT = m ? FIELD_VALUES(e, idx, m, seq_len, v) : 0;
        double th = GROUP_MEAN(e, &sets[si], threads);
        if (!isfinite(th)) th = 0;
        int timing = run_is_timing(e, &e->runs[sets[si].idx[0]]);
        if (nT < 2 || timing < best_timing) continue;
        if (timing > best_timing || nT > best_T || (nT == best_T && good > best_lines) ||
            (nT == best_T && good == best_lines && th < best_threads)) {
            pick = si; best_T = nT; best_lines = good; best_threads = th; best_timing = timing;
        }
    }
    free(idx);
    return pick;
}

/* a guide line's anchor: the geometric mean of a column over the runs at
 * the shortest window whose model passes `want` (NAN if none) */
static double guide_anchor(const Experiment *e, const int *idx, int m, double T0, size_t off, int attention)
{
    double sum = 0, n = 0;
    for (int i = 0; i < m; i++) {
        const Run *r = &e->runs[idx[i]];
        double v = plot_run_field(r, off);
        if (r->seq_len != T0 || !(v > 0) || (model_order(r->model) == 3) != attention) continue;
        sum += log(v);
        n++;
    }
    return n ? exp(sum / n) : NAN;
}

int plot_figures_scaling(Plot *p)
{
    const Experiment *e = &p->e;
    int *idx = xmalloc((size_t)(e->nruns + 1) * sizeof *idx), n = 0;
    double *v = xmalloc((size_t)(e->nruns + 1) * sizeof *v);
    for (int i = 0; i < e->nruns; i++) {
        const Run *r = &e->runs[i];
        if (isfinite(r->seq_len) && (isfinite(r->step_ms) || isfinite(r->act_mb) || isfinite(r->peak_rss_mb)))
            idx[n++] = i;
    }
    /* on a task with a distance the window is d + 1: d varies with T */
    const unsigned vary = KEY_SEQ_LEN | KEY_DISTANCE | KEY_EVAL_SEQ_LEN;
    const unsigned set_mask = KEYS_SETTINGS & ~(unsigned)(vary | KEYS_MODEL_OWN);
    const unsigned line_mask = KEYS_SETTINGS & ~(unsigned)vary;
    Group *sets = NULL;
    int nsets = n ? groups_make(e, idx, n, set_mask, &sets) : 0;
    int pick = scaling_pick(e, sets, nsets, line_mask, v), rc = 0;
    if (pick < 0) {
        const char *why = "needs runs identical but for seq_len at two or more values";
        plot_skip(p, "speed_vs_seq_len", why);
        plot_skip(p, "memory_vs_seq_len", why);
        goto done;
    }
    Group *series;
    int ns = groups_make(e, sets[pick].idx, sets[pick].n, line_mask, &series);
    Args a = {0};
    int k = 0, m = 0;
    double T0 = INFINITY, rss_lo = INFINITY, rss_hi = 0;
    char attn_series[64] = "";   /* the series with attention bytes: "4" */
    for (int s = 0; s < ns && k < 12; s++) {
        if (FIELD_VALUES(e, series[s].idx, series[s].n, seq_len, v) < 2) continue;
        char f[128], out[PATH_MAX + 200];
        plot_sfmt(f, sizeof f, "data/scaling_s%d.csv", k + 1);
        plot_sfmt(out, sizeof out, "%s/%s", p->figdir, f);
        scaling_table(p, series[s].idx, series[s].n, out);
        k++;
        plot_args_str(&a, f, "file%d", k);
        plot_args_str(&a, e->runs[series[s].idx[0]].model, "model%d", k);
        plot_args_printf(&a, "variant%d=%d;", k, plot_series_variant(e, series, s));
        plot_args_str(&a, series[s].label, "label%d", k);
        if (GROUP_MEAN(e, &series[s], attn_mb) > 0 && strlen(attn_series) + 4 < sizeof attn_series)
            snprintf(attn_series + strlen(attn_series), sizeof attn_series - strlen(attn_series), "%s%d",
                     attn_series[0] ? " " : "", k);
        if (v[0] < T0) T0 = v[0];
        for (int i = 0; i < series[s].n; i++) {
            double rss = e->runs[series[s].idx[i]].peak_rss_mb;
            if (rss > 0 && rss < rss_lo) rss_lo = rss;
            if (rss > rss_hi) rss_hi = rss;
            idx[m++] = series[s].idx[i];
        }
    }
    plot_args_printf(&a, "nseries=%d;", k);
    /* each guide starts at the data it describes: O(T) at the recurrent
     * models' activations, O(T^2) at the attention matrices' bytes, both at
     * the shortest window */
    plot_args_num(&a, T0, "T0");
    plot_args_num(&a, guide_anchor(e, idx, m, T0, offsetof(Run, act_mb), 0), "act0");
    plot_args_num(&a, guide_anchor(e, idx, m, T0, offsetof(Run, attn_mb), 1), "attn0");
    plot_args_str(&a, attn_series, "attn_series");
    plot_args_num(&a, rss_lo / 1.15, "rss_lo");
    plot_args_num(&a, rss_hi * 1.15, "rss_hi");
    char setting[400];
    shared_settings(e, idx, m, vary, setting, sizeof setting);
    plot_args_str(&a, setting, "setting");
    Args b = {0};
    plot_args_printf(&b, "%s", a.s);
    plot_args_str(&a, "What does a longer window cost in time?", "title");
    rc |= plot_render(p, "speed_vs_seq_len", "speed_vs_seq_len", PLOT_WIDTH, PLOT_HEIGHT, &a) < 0;
    plot_args_str(&b, "What does a longer window cost in memory?", "title");
    rc |= plot_render(p, "memory_vs_seq_len", "memory_vs_seq_len", PLOT_WIDTH, PLOT_HEIGHT, &b) < 0;
    plot_args_free(&a);
    plot_args_free(&b);
    free(series);
done:
    free(sets);
    free(v);
    free(idx);
    return rc ? -1 : 0;
}

/* ========================= figure 10: perplexity per model (bars) ==== */

/* '("label0" 0, "label1" 1, ...)', the value of an xticsdef argument (the
 * caller writes the name): the bar groups' names, which the bar scripts
 * `eval` into `set xtics`; labels may hold commas, which a CSV column could
 * not.  With width > 0 each label is broken into lines of at most width
 * characters (at spaces; a word longer stays whole), so labels stand
 * upright under their bars; returns the most lines a label takes. */
static int xtics_args(Args *a, const Group *g, int n, int width)
{
    int most = 1;
    plot_args_printf(a, "'(");
    for (int k = 0; k < n; k++) {
        plot_args_printf(a, "%s\"", k ? ", " : "");
        int col = 0, lines = 1;
        for (const char *c = g[k].label; *c; c++) {
            size_t word = strcspn(c + 1, " ");   /* the next word, after a space */
            if (*c == ' ' && width > 0 && col > 0 && col + 1 + (int)word > width) {
                plot_args_printf(a, "\\n");          /* a new line in the "" label */
                col = 0;
                lines++;
                continue;
            }
            if (*c == '\'') plot_args_printf(a, "''");          /* inside the '' string */
            else if (*c == '"' || *c == '\\') plot_args_printf(a, "\\%c", *c);
            else plot_args_printf(a, "%c", *c);
            col += ((unsigned char)*c & 0xC0) != 0x80;
        }
        if (lines > most) most = lines;
        plot_args_printf(a, "\" %d", k);
    }
    plot_args_printf(a, ")';");
    return most;
}

/* most bars a slide can hold */
#define MAX_BARS 16

/* Figure 10: one panel per task (words and characters differ in scale by
 * twenty), one bar per model setting, mean ± sd over seeds. */
int plot_figure_perplexity(Plot *p)
{
    const char *base = "perplexity";
    const Experiment *e = &p->e;
    int *idx = xmalloc((size_t)(e->nruns + 1) * sizeof *idx), n = 0;
    for (int i = 0; i < e->nruns; i++)
        if (isfinite(e->runs[i].val_perplexity) && task_is_text(e->runs[i].task)) idx[n++] = i;
    n = plot_keep_learning_runs(e, idx, n);
    if (!n) { free(idx); return plot_skip(p, base, "no text-task run has a val_perplexity"); }
    Group *panels;
    int np = groups_make(e, idx, n, KEY_TASK | KEY_TOKENIZER, &panels);
    if (np > MAX_PANELS) np = MAX_PANELS;
    Args a = {0};
    double *v = xmalloc((size_t)n * sizeof *v);
    for (int pi = 0; pi < np; pi++) {
        Group *g;
        int ng = groups_make(e, panels[pi].idx, panels[pi].n, KEYS_SERIES | KEYS_PANEL, &g);
        if (ng > MAX_BARS) {
            fprintf(stderr, "seqlab plot: note: %d settings with a perplexity on %s; the figure shows %d\n", ng,
                    panels[pi].label, MAX_BARS);
            ng = MAX_BARS;
        }
        char f[64], path[PATH_MAX + 100];
        plot_sfmt(f, sizeof f, "perplexity_p%d.csv", pi + 1);
        plot_sfmt(path, sizeof path, "%s/%s", p->datadir, f);
        FILE *out = fopen(path, "w");
        if (!out) die("cannot write '%s': %s", path, strerror(errno));
        fprintf(out, "x,model,mean,sd,n,params\n");
        int any_sd = 0;
        for (int k = 0; k < ng; k++) {
            for (int i = 0; i < g[k].n; i++) v[i] = e->runs[g[k].idx[i]].val_perplexity;
            double mean, sd;
            int m = stats_mean_sd(v, g[k].n, &mean, &sd);
            any_sd |= sd > 0;
            fprintf(out, "%d,%s,%.10g,%.10g,%d,%.10g\n", k, e->runs[g[k].idx[0]].model, mean, sd, m,
                    GROUP_MEAN(e, &g[k], params));
        }
        fclose(out);
        char dataf[80];
        plot_sfmt(dataf, sizeof dataf, "data/%s", f);
        plot_args_str(&a, dataf, "file%d", pi + 1);
        plot_args_str(&a, panels[pi].label, "ptitle%d", pi + 1);
        /* the baselines: the unigram model (exp of the unigram entropy) and a
         * uniform guess over the vocabulary (V) */
        plot_args_num(&a, exp(GROUP_MEAN(e, &panels[pi], chance_loss)), "punigram%d", pi + 1);
        plot_args_num(&a, GROUP_MEAN(e, &panels[pi], vocab_size), "pV%d", pi + 1);
        /* labels in lines as wide as a bar's share of the panel (about 9 px
         * a character) */
        int width = (int)(0.65 * PLOT_WIDTH / np / ng / 9);
        plot_args_printf(&a, "nbars%d=%d;has_sd%d=%d;", pi + 1, ng, pi + 1, any_sd);
        plot_args_printf(&a, "xticsdef%d=", pi + 1);
        int lines = xtics_args(&a, g, ng, width < 8 ? 8 : width);
        plot_args_printf(&a, "xlines%d=%d;", pi + 1, lines);
        free(g);
    }
    plot_args_printf(&a, "npanels=%d;", np);
    plot_args_str(&a, "Which model predicts held-out text best?  Validation perplexity", "title");
    int rc = plot_render(p, "perplexity", base, PLOT_WIDTH, PLOT_HEIGHT, &a) < 0 ? -1 : 0;
    plot_args_free(&a);
    free(v);
    free(panels);
    free(idx);
    return rc;
}

/* ==================== figure 11: throughput with 1 and 2 threads ==== */

/* Figure 11.  Bars of one model side by side, one per thread count, from
 * runs identical but for the thread count (and the seed); the runs of the
 * figure are identical but for threads and the model's own settings.  Of
 * those sets: the most thread counts, then the longest window (where the
 * work per step is largest), then the most models. */
/* the set of runs figure 11 draws: runs identical but for the thread count
 * (and the models' own settings), the one with the most thread counts, then
 * the longest window, then the most models; -1 if none has two counts */
static int threads_pick(const Experiment *e, const Group *settings, int ns, unsigned bar_mask, int *idx,
                        double *v)
{
    int pick = -1, most = 1, pick_models = 0;
    double pick_T = -1;
    for (int s = 0; s < ns; s++) {
        Group *bars;
        int nb = groups_make(e, settings[s].idx, settings[s].n, bar_mask, &bars), good = 0, m = 0;
        for (int b = 0; b < nb; b++) {
            if (FIELD_VALUES(e, bars[b].idx, bars[b].n, threads, v) < 2) continue;
            good++;
            for (int i = 0; i < bars[b].n; i++) idx[m++] = bars[b].idx[i];
        }
        free(bars);
        int k = m ? FIELD_VALUES(e, idx, m, threads, v) : 0;
        double T = GROUP_MEAN(e, &settings[s], seq_len);
        if (!isfinite(T)) T = 0;
        if (k > most || (k == most && pick >= 0 && T > pick_T) ||
            (k == most && pick >= 0 && T == pick_T && good > pick_models)) {
            most = k; pick = s; pick_T = T; pick_models = good;
        }
    }
    return pick;
}

/* data/threads.csv: bars of one model side by side, one per thread count
 * levels[0..nl); returns 1 if any bar has an sd */
static int threads_table(const Plot *p, const Group *models, int nm, const double *levels, int nl,
                         double width, double *v)
{
    const Experiment *e = &p->e;
    char path[PATH_MAX + 100];
    plot_sfmt(path, sizeof path, "%s/threads.csv", p->datadir);
    FILE *out = fopen(path, "w");
    if (!out) die("cannot write '%s': %s", path, strerror(errno));
    fprintf(out, "x,group,level,threads,model,mean,sd,n\n");
    int any_sd = 0;
    for (int m = 0; m < nm; m++) {
        for (int l = 0; l < nl; l++) {
            int k = 0;
            for (int i = 0; i < models[m].n; i++)
                if (e->runs[models[m].idx[i]].threads == levels[l])
                    v[k++] = e->runs[models[m].idx[i]].tokens_per_s;
            double mean, sd;
            int cnt = stats_mean_sd(v, k, &mean, &sd);
            if (!cnt) continue;
            any_sd |= sd > 0;
            fprintf(out, "%.6g,%d,%d,%g,%s,%.10g,%.10g,%d\n", m + (l - (nl - 1) / 2.0) * width, m,
                    l + 1, levels[l], e->runs[models[m].idx[0]].model, mean, sd, cnt);
        }
    }
    fclose(out);
    return any_sd;
}

int plot_figure_threads(Plot *p)
{
    const char *base = "threads";
    const Experiment *e = &p->e;
    /* bars from timings the machine's other work dominated would mislead:
     * the finding says why instead */
    const Finding *f = plot_finding(p, "threads");
    if (f && f->verdict == VERDICT_NOT_MEASURED)
        return plot_skip(p, base, "the thread timings were not fair (findings.csv says why)");
    int *idx = xmalloc((size_t)(e->nruns + 1) * sizeof *idx), n = 0;
    double *v = xmalloc((size_t)(e->nruns + 1) * sizeof *v);
    for (int i = 0; i < e->nruns; i++)
        if (isfinite(e->runs[i].threads) && isfinite(e->runs[i].tokens_per_s)) idx[n++] = i;
    const unsigned set_mask = KEYS_SETTINGS & ~(unsigned)(KEY_THREADS | KEYS_MODEL_OWN);
    const unsigned bar_mask = KEYS_SETTINGS & ~(unsigned)KEY_THREADS;
    Group *settings = NULL;
    int ns = n ? groups_make(e, idx, n, set_mask, &settings) : 0;
    int pick = threads_pick(e, settings, ns, bar_mask, idx, v);
    if (pick < 0) {
        free(settings); free(v); free(idx);
        return plot_skip(p, base, "needs runs identical but for the thread count, at two or more");
    }
    /* the bars: the models (with their own settings) run at several counts */
    Group *all;
    int na = groups_make(e, settings[pick].idx, settings[pick].n, bar_mask, &all), nm = 0, nr = 0;
    Group *models = xcalloc((size_t)na, sizeof *models);
    for (int b = 0; b < na; b++) {
        if (FIELD_VALUES(e, all[b].idx, all[b].n, threads, v) < 2) continue;
        models[nm++] = all[b];
        for (int i = 0; i < all[b].n; i++) idx[nr++] = all[b].idx[i];
    }
    free(all);
    if (nm > MAX_BARS) nm = MAX_BARS;
    double levels[8];
    int nl = FIELD_VALUES(e, idx, nr, threads, v);
    if (nl > 8) nl = 8;
    memcpy(levels, v, (size_t)nl * sizeof *levels);
    char setting[400];
    shared_settings(e, idx, nr, KEY_THREADS, setting, sizeof setting);
    double width = 0.8 / nl;
    int any_sd = threads_table(p, models, nm, levels, nl, width, v);
    Args a = {0};
    plot_args_printf(&a, "xticsdef=");
    xtics_args(&a, models, nm, 0);
    plot_args_str(&a, "data/threads.csv", "file");
    plot_args_printf(&a, "nlevels=%d;ngroups=%d;barwidth=%g;has_sd=%d;", nl, nm, width * 0.95, any_sd);
    for (int l = 0; l < nl; l++) plot_args_num(&a, levels[l], "level%d", l + 1);
    plot_args_str(&a, setting, "setting");
    plot_args_str(&a, "Does a second thread help?", "title");
    int rc = plot_render(p, "threads", base, PLOT_WIDTH, PLOT_HEIGHT, &a) < 0 ? -1 : 0;
    plot_args_free(&a);
    free(models);
    free(settings);
    free(v);
    free(idx);
    return rc;
}
