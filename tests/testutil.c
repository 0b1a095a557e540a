/*
 * testutil.c — closeness assertions and gradient checks for the suites.
 */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_rng.h>

#include "util.h"

void assert_allclose_at(const real *actual, const real *expected, size_t n, double rtol,
                        double atol, const char *what, const char *file, int line)
{
    for (size_t i = 0; i < n; i++) {
        double a = actual[i], e = expected[i];
        if (!(fabs(a - e) <= atol + rtol * fabs(e))) {
            ck_abort_msg("%s:%d: %s[%zu] = %.9g, expected %.9g (rtol %g, atol %g)", file, line,
                         what, i, a, e, rtol, atol);
        }
    }
}

double rel_error(double analytic, double numeric)
{
    double d = fmax(fmax(fabs(analytic), fabs(numeric)), GRADCHECK_FLOOR);
    return fabs(analytic - numeric) / d;
}

static void note(GradCheck *g, double a, double n, const char *name, size_t i)
{
    double r = rel_error(a, n);
    g->checked++;
    if (r > g->worst || g->where[0] == '\0') {
        if (r >= g->worst) {
            g->worst = r;
            g->analytic = a;
            g->numeric = n;
            snprintf(g->where, sizeof g->where, "%s[%zu]", name, i);
        }
    }
}

GradCheck gradcheck_model(Model *m, const Batch *batch, size_t max_per_tensor)
{
    GradCheck g;
    memset(&g, 0, sizeof g);
    ParamSet *ps = &m->params;
    params_zero_grad(ps);
    model_forward(m, batch);
    model_backward(m, batch);
    real *analytic = xmalloc(ps->total * sizeof(real));
    memcpy(analytic, ps->grad, ps->total * sizeof(real));
    const double h = GRADCHECK_STEP;
    for (int k = 0; k < ps->count; k++) {
        const ParamView *v = &ps->views[k];
        size_t stride = 1;
        if (max_per_tensor > 0 && v->size > max_per_tensor) stride = v->size / max_per_tensor;
        for (size_t i = 0; i < v->size; i += stride) {
            real *p = ps->value + v->offset + i;
            real saved = *p;
            double f[4];
            const double shifts[4] = {2 * h, h, -h, -2 * h};
            for (int s = 0; s < 4; s++) {
                *p = (real)(saved + shifts[s]);
                f[s] = model_forward(m, batch);
            }
            *p = saved;
            double numeric = (-f[0] + 8 * f[1] - 8 * f[2] + f[3]) / (12 * h);
            note(&g, analytic[v->offset + i], numeric, v->name, i);
        }
    }
    model_forward(m, batch);
    free(analytic);
    return g;
}

GradCheck gradcheck_body_input(Model *m, int B, int T, unsigned long seed)
{
    return gradcheck_body_input_lengths(m, B, T, NULL, seed);
}

GradCheck gradcheck_body_input_lengths(Model *m, int B, int T, const int *lengths,
                                       unsigned long seed)
{
    GradCheck g;
    memset(&g, 0, sizeof g);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, seed);
    int E = m->cfg.embed_dim, H = m->H;
    size_t nx = (size_t)B * T * E, ny = (size_t)B * T * H;
    real *x = xmalloc(nx * sizeof(real)), *dx = xcalloc(nx, sizeof(real));
    real *y = xmalloc(ny * sizeof(real)), *R = xmalloc(ny * sizeof(real));
    for (size_t i = 0; i < nx; i++) x[i] = (real)(gsl_rng_uniform(rng) * 2 - 1);
    for (size_t i = 0; i < ny; i++) R[i] = (real)(gsl_rng_uniform(rng) * 2 - 1);
    const BodyOps *ops = m->body_ops;
    if (ops->set_lengths) ops->set_lengths(m->body, lengths);
    params_zero_grad(&m->params);
    ops->forward(m->body, y, x, B, T);
    ops->backward(m->body, dx, R, B, T);
    const double h = GRADCHECK_STEP;
    for (size_t i = 0; i < nx; i++) {
        real saved = x[i];
        double f[4];
        const double shifts[4] = {2 * h, h, -h, -2 * h};
        for (int s = 0; s < 4; s++) {
            x[i] = (real)(saved + shifts[s]);
            ops->forward(m->body, y, x, B, T);
            double L = 0;
            for (size_t j = 0; j < ny; j++) L += (double)y[j] * R[j];
            f[s] = L;
        }
        x[i] = saved;
        double numeric = (-f[0] + 8 * f[1] - 8 * f[2] + f[3]) / (12 * h);
        note(&g, dx[i], numeric, "x", i);
    }
    free(x);
    free(dx);
    free(y);
    free(R);
    gsl_rng_free(rng);
    return g;
}

Model *test_model(const ModelConfig *cfg, int B, int T, unsigned long seed)
{
    Model *m = model_create(cfg);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, seed);
    model_init(m, rng);
    gsl_rng_free(rng);
    model_alloc_acts(m, B, T);
    return m;
}

Batch *test_token_batch(int B, int T, int V, int O, unsigned long seed)
{
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, seed);
    Batch *b = batch_alloc(B, T, 0, 0);
    for (int i = 0; i < B * T; i++) {
        b->tokens[i] = (int)gsl_rng_uniform_int(rng, (unsigned long)V);
        b->targets[i] = (int)gsl_rng_uniform_int(rng, (unsigned long)O);
        if (i % 5 == 3) b->targets[i] = TARGET_IGNORE;
    }
    gsl_rng_free(rng);
    return b;
}

int run_suite(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
