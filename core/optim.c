/*
 * optim.c — SGD with momentum, Adam, AdamW; norms; clipping; schedule.
 */
#include "optim.h"

#include <gsl/gsl_math.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "parallel.h"
#include "util.h"
#include "vecmath.h"

/* The update, the norm, the clipping and the zeroing are each one pass over
 * every parameter, element by element: with several threads each takes a
 * slice (core/parallel.h).  Below this many parameters one thread does it
 * all; the split only pays on models whose passes take milliseconds (the
 * w1 Transformer's 1.7M parameters: Adam 2.9 ms on one thread). */
#define OPTIM_SPLIT_MIN (1 << 18)

/* how many slices n parameters are split into */
static int slice_parts(size_t n)
{
    if (REFERENCE_BUILD || n < OPTIM_SPLIT_MIN) return 1;
    int parts = parallel_threads();
    return parts > PARALLEL_MAX_PARTS ? PARALLEL_MAX_PARTS : parts;
}

/* elements [*lo, *hi) of slice p of n */
static void slice(size_t n, int parts, int p, size_t *lo, size_t *hi)
{
    *lo = n * (size_t)p / (size_t)parts;
    *hi = n * (size_t)(p + 1) / (size_t)parts;
}

int optim_kind_parse(const char *name, OptimKind *kind)
{
    if (strcmp(name, "sgd") == 0) *kind = OPTIM_SGD;
    else if (strcmp(name, "adam") == 0) *kind = OPTIM_ADAM;
    else if (strcmp(name, "adamw") == 0) *kind = OPTIM_ADAMW;
    else return -1;
    return 0;
}

Optimizer *optim_alloc(OptimKind kind, size_t n, double weight_decay, double momentum)
{
    Optimizer *o = xcalloc(1, sizeof *o);
    o->kind = kind;
    o->n = n;
    o->beta1 = 0.9;
    o->beta2 = 0.999;
    o->eps = 1e-8;
    o->weight_decay = weight_decay;
    o->momentum = momentum;
    o->m = xcalloc(n, sizeof(real));
    o->v = xcalloc(n, sizeof(real));
    return o;
}

void optim_free(Optimizer *o)
{
    if (!o) return;
    free(o->m);
    free(o->v);
    free(o);
}

/* one optimizer step's constants and arrays, for each slice */
typedef struct StepJob {
    Optimizer *o;
    real *w;
    const real *g;
    double lr;
    real step, inv_c2, wd_l2, wd_decoupled;   /* Adam's, from the step count */
    int parts;
} StepJob;

/* the update of elements [lo, hi) */
static void step_slice(void *arg, int p)
{
    const StepJob *j = arg;
    Optimizer *o = j->o;
    real *w = j->w;
    const real *g = j->g;
    size_t lo, hi;
    slice(o->n, j->parts, p, &lo, &hi);
    if (o->kind == OPTIM_SGD) {
        for (size_t i = lo; i < hi; i++) {
            real gi = g[i] + (real)o->weight_decay * w[i];
            /* u = mu u + g;  w -= lr u */
            o->m[i] = (real)o->momentum * o->m[i] + gi;
            w[i] -= (real)j->lr * o->m[i];
        }
        return;
    }
    const real b1 = (real)o->beta1, b2 = (real)o->beta2;
    const real one_b1 = (real)(1 - o->beta1), one_b2 = (real)(1 - o->beta2);
    for (size_t i = lo; i < hi; i++) {
        real gi = g[i] + j->wd_l2 * w[i];
        /* m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2 */
        o->m[i] = b1 * o->m[i] + one_b1 * gi;
        o->v[i] = b2 * o->v[i] + one_b2 * gi * gi;
        /* AdamW decays the weight itself, not through the gradient */
        w[i] -= j->wd_decoupled * w[i];
        /* w -= lr m_hat / (sqrt(v_hat) + eps) */
        w[i] -= j->step * o->m[i] / ((real)sqrt(o->v[i] * j->inv_c2) + (real)o->eps);
    }
}

void optim_step(Optimizer *o, real *w, const real *g, double lr)
{
    o->t++;
    StepJob j = {o, w, g, lr, 0, 0, 0, 0, slice_parts(o->n)};
    if (o->kind != OPTIM_SGD) {
        /* bias corrections: m_hat = m / c1, v_hat = v / c2 */
        const double c1 = 1 - pow(o->beta1, (double)o->t), c2 = 1 - pow(o->beta2, (double)o->t);
        j.step = (real)(lr / c1);
        j.inv_c2 = (real)(1 / c2);
        j.wd_l2 = o->kind == OPTIM_ADAM ? (real)o->weight_decay : 0;
        j.wd_decoupled = o->kind == OPTIM_ADAMW ? (real)(lr * o->weight_decay) : 0;
    }
    parallel_run(j.parts, step_slice, &j);
}

/* a pass over a slice of g: its sum of squares, or g *= scale */
typedef struct GradJob {
    real *g;
    size_t n;
    real scale;
    double sumsq[PARALLEL_MAX_PARTS];
    int parts;
} GradJob;

static void sumsq_slice(void *arg, int p)
{
    GradJob *j = arg;
    size_t lo, hi;
    slice(j->n, j->parts, p, &lo, &hi);
    j->sumsq[p] = vecmath_sumsq(j->g + lo, hi - lo);
}

static void scale_slice(void *arg, int p)
{
    GradJob *j = arg;
    size_t lo, hi;
    slice(j->n, j->parts, p, &lo, &hi);
    for (size_t i = lo; i < hi; i++) j->g[i] *= j->scale;
}

double grad_global_norm(const real *g, size_t n)
{
    /* sum g_i^2 in double, several partial sums at once, a slice per thread;
     * the slices' sums added in order, so the result does not depend on
     * which thread finished first */
    GradJob j = {(real *)g, n, 1, {0}, slice_parts(n)};
    parallel_run(j.parts, sumsq_slice, &j);
    double ss = 0;
    for (int p = 0; p < j.parts; p++) ss += j.sumsq[p];
    return sqrt(ss);
}

double grad_clip(real *g, size_t n, double max_norm)
{
    double norm = grad_global_norm(g, n);
    if (max_norm > 0 && norm > max_norm) {
        GradJob j = {g, n, (real)(max_norm / norm), {0}, slice_parts(n)};
        parallel_run(j.parts, scale_slice, &j);
    }
    return norm;
}

double lr_schedule(long step, long total, long warmup, double base_lr)
{
    if (warmup > 0 && step < warmup) return base_lr * (double)(step + 1) / (double)warmup;
    if (total <= warmup) return base_lr;
    double progress = (double)(step - warmup) / (double)(total - warmup);
    if (progress > 1) progress = 1;
    double cosine = 0.5 * (1 + cos(M_PI * progress));
    return base_lr * (LR_FINAL_FRACTION + (1 - LR_FINAL_FRACTION) * cosine);
}
