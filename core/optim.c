/*
 * optim.c — SGD with momentum, Adam, AdamW; norms; clipping; schedule.
 */
#include "optim.h"

#include <gsl/gsl_math.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "vecmath.h"

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

void optim_step(Optimizer *o, real *w, const real *g, double lr)
{
    o->t++;
    if (o->kind == OPTIM_SGD) {
        for (size_t i = 0; i < o->n; i++) {
            real gi = g[i] + (real)o->weight_decay * w[i];
            /* u = mu u + g;  w -= lr u */
            o->m[i] = (real)o->momentum * o->m[i] + gi;
            w[i] -= (real)lr * o->m[i];
        }
        return;
    }
    const double b1 = o->beta1, b2 = o->beta2;
    const double c1 = 1 - pow(b1, (double)o->t), c2 = 1 - pow(b2, (double)o->t);
    const real step = (real)(lr / c1);
    const real inv_c2 = (real)(1 / c2);
    const real wd_l2 = o->kind == OPTIM_ADAM ? (real)o->weight_decay : 0;
    const real wd_decoupled = o->kind == OPTIM_ADAMW ? (real)(lr * o->weight_decay) : 0;
    for (size_t i = 0; i < o->n; i++) {
        real gi = g[i] + wd_l2 * w[i];
        /* m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2 */
        o->m[i] = (real)b1 * o->m[i] + (real)(1 - b1) * gi;
        o->v[i] = (real)b2 * o->v[i] + (real)(1 - b2) * gi * gi;
        /* AdamW decays the weight itself, not through the gradient */
        w[i] -= wd_decoupled * w[i];
        /* w -= lr m_hat / (sqrt(v_hat) + eps) */
        w[i] -= step * o->m[i] / ((real)sqrt(o->v[i] * inv_c2) + (real)o->eps);
    }
}

double grad_global_norm(const real *g, size_t n)
{
    return sqrt(vecmath_sumsq(g, n));   /* sum g_i^2 in double, several partial sums at once */
}

double grad_clip(real *g, size_t n, double max_norm)
{
    double norm = grad_global_norm(g, n);
    if (max_norm > 0 && norm > max_norm) {
        real s = (real)(max_norm / norm);
        for (size_t i = 0; i < n; i++) g[i] *= s;
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
