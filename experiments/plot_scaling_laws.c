/*
 * plot_scaling_laws.c — the scaling figures: loss against model size
 * (loss_vs_params) and against data (loss_vs_data), both drawn by
 * plots/power_law.gp, and the loss at each position of a long window for
 * the largest models (context_slope, plots/context_slope.gp).
 *
 * scaling_laws.c picks the runs, fits and writes the data; this file only
 * turns its ScalingFigure into gnuplot's variables.
 */
#include "plot_internal.h"

#include <stdlib.h>
#include <string.h>

#include "scaling_laws.h"
#include "util.h"

/* the gnuplot variables of a ScalingFigure (power_law.gp, context_slope.gp) */
static void scaling_args(const Plot *p, const ScalingFigure *fig, Args *a)
{
    plot_args_num(a, fig->npanels, "npanels");
    for (int pi = 0; pi < fig->npanels; pi++) {
        const ScalingPanel *panel = &fig->panels[pi];
        plot_args_str(a, panel->title, "ptitle%d", pi + 1);
        plot_args_num(a, panel->nseries, "pn%d", pi + 1);
        plot_args_num(a, panel->ymin, "pymin%d", pi + 1);
        plot_args_num(a, panel->ymax, "pymax%d", pi + 1);
        for (int j = 0; j < panel->nseries; j++) {
            const ScalingSeries *s = &panel->series[j];
            char path[PATH_MAX + 200];
            plot_sfmt(path, sizeof path, "%s/%s", p->datadir, s->points);
            plot_args_str(a, path, "points%d_%d", pi + 1, j + 1);
            if (s->curve[0]) plot_sfmt(path, sizeof path, "%s/%s", p->datadir, s->curve);
            else path[0] = '\0';
            plot_args_str(a, path, "curve%d_%d", pi + 1, j + 1);
            plot_args_str(a, s->model, "model%d_%d", pi + 1, j + 1);
            /* a model's second series (another size) keeps its colour, changes its point */
            int variant = 0;
            for (int k = 0; k < j; k++) variant += strcmp(panel->series[k].model, s->model) == 0;
            plot_args_num(a, variant, "variant%d_%d", pi + 1, j + 1);
            plot_args_str(a, s->label, "label%d_%d", pi + 1, j + 1);
        }
    }
}

int plot_figures_scaling_laws(Plot *p)
{
    int failed = 0;
    ScalingFigure *fig = xmalloc(sizeof *fig);
    Args a = {0};
    if (scaling_loss_vs_params(&p->e, p->datadir, fig) > 0) {
        scaling_args(p, fig, &a);
        plot_args_str(&a, "Does a bigger model predict better?  Loss against model size", "title");
        plot_args_str(&a, "non-embedding parameters N (log scale)", "xlabel");
        plot_args_num(&a, 0, "final");
        failed |= plot_render(p, "power_law", "loss_vs_params", PLOT_WIDTH, PLOT_HEIGHT, &a) < 0;
    } else {
        plot_skip(p, "loss_vs_params", "no model was trained at several sizes");
    }
    plot_args_free(&a);
    if (scaling_loss_vs_data(&p->e, p->datadir, fig) > 0) {
        scaling_args(p, fig, &a);
        plot_args_str(&a, "Does more data help?  Loss against training tokens", "title");
        plot_args_str(&a, "training tokens D (log scale)", "xlabel");
        plot_args_num(&a, 1, "final");
        failed |= plot_render(p, "power_law", "loss_vs_data", PLOT_WIDTH, PLOT_HEIGHT, &a) < 0;
    } else {
        plot_skip(p, "loss_vs_data", "no model was trained on several fractions of the data");
    }
    plot_args_free(&a);
    if (scaling_context(&p->e, p->datadir, fig) > 0) {
        scaling_args(p, fig, &a);
        plot_args_str(&a, "Who keeps using distant context?  Loss at each position, largest models", "title");
        plot_args_num(&a, SCALING_CONTEXT_FROM + 1, "from");
        failed |= plot_render(p, "context_slope", "context_slope", PLOT_WIDTH, PLOT_HEIGHT, &a) < 0;
    } else {
        plot_skip(p, "context_slope", "no text run has a window of 256 or more");
    }
    plot_args_free(&a);
    scaling_budget_order(&p->e, p->datadir, NULL, 0);
    free(fig);
    return failed ? -1 : 0;
}
