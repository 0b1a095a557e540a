/*
 * fit.c — L = E + A·x^(−α) by GSL's nonlinear least squares, and the slope
 * of a loss against log position (fit.h).
 *
 * The solver works with u = ln x − ln x0 (x0 the geometric mean of the x)
 * and a = ln A − α ln x0, so that the curve is
 *
 *     L(u) = E + exp(a − α u)
 *
 * with all three parameters of order one whatever the units of x (A itself
 * is e^10 or more for parameter counts).  The residual of point i and its
 * derivatives, the Jacobian the trust-region solver needs:
 *
 *     r_i = E + g_i − y_i,   g_i = exp(a − α u_i)
 *     ∂r_i/∂E = 1,   ∂r_i/∂a = g_i,   ∂r_i/∂α = −u_i g_i
 *
 * Standard errors: the covariance (JᵀJ)⁻¹ at the solution times the residual
 * variance s² = χ² / (n − 3); A's by the delta method from a and α.
 */
#include "fit.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_fit.h>
#include <gsl/gsl_matrix.h>
#include <gsl/gsl_multifit_nlinear.h>
#include <gsl/gsl_vector.h>

#include "util.h"

/* the solver stops when a step changes the parameters by less than this
 * (relative), or the gradient is this flat */
#define FIT_XTOL 1e-12
#define FIT_GTOL 1e-12
#define FIT_MAX_ITER 500
/* starting guesses for E, as fractions of the spread of y below its
 * minimum: the fit keeps the best of these starts */
static const double start_offsets[] = {0.05, 0.5, 2.0, 8.0};

typedef struct Points {
    const double *u, *y;   /* (n) ln x − ln x0, and the losses */
    size_t n;
} Points;

/* r_i = E + exp(a − α u_i) − y_i */
static int curve_f(const gsl_vector *p, void *data, gsl_vector *r)
{
    const Points *d = data;
    double E = gsl_vector_get(p, 0), a = gsl_vector_get(p, 1), alpha = gsl_vector_get(p, 2);
    for (size_t i = 0; i < d->n; i++)
        gsl_vector_set(r, i, E + exp(a - alpha * d->u[i]) - d->y[i]);
    return GSL_SUCCESS;
}

/* J_i = (1, g_i, −u_i g_i) */
static int curve_df(const gsl_vector *p, void *data, gsl_matrix *J)
{
    const Points *d = data;
    double a = gsl_vector_get(p, 1), alpha = gsl_vector_get(p, 2);
    for (size_t i = 0; i < d->n; i++) {
        double g = exp(a - alpha * d->u[i]);
        gsl_matrix_set(J, i, 0, 1.0);
        gsl_matrix_set(J, i, 1, g);
        gsl_matrix_set(J, i, 2, -d->u[i] * g);
    }
    return GSL_SUCCESS;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* the number of distinct values among x[0..n) */
static int count_distinct(const double *x, int n)
{
    double *s = xmalloc((size_t)n * sizeof *s);
    for (int i = 0; i < n; i++) s[i] = x[i];
    qsort(s, (size_t)n, sizeof *s, cmp_double);
    int m = 0;
    for (int i = 0; i < n; i++)
        if (i == 0 || s[i] != s[i - 1]) m++;
    free(s);
    return m;
}

/* a start for (E, a, α): E below the lowest loss by `offset` of the spread,
 * then ln(y − E) = a − α u is a straight line in u */
static void start_guess(const Points *d, double ymin, double spread, double offset, double p[3])
{
    double E = ymin - offset * spread;
    double *ly = xmalloc(d->n * sizeof *ly);
    for (size_t i = 0; i < d->n; i++) ly[i] = log(d->y[i] - E);
    double c0, c1, cov00, cov01, cov11, sumsq;
    gsl_fit_linear(d->u, 1, ly, 1, d->n, &c0, &c1, &cov00, &cov01, &cov11, &sumsq);
    free(ly);
    p[0] = E;
    p[1] = c0;
    p[2] = -c1;
}

/* one solve from p0; the χ² reached (INFINITY if the solver failed) and,
 * in covar (3x3), (JᵀJ)⁻¹ at the solution */
static double solve_from(const Points *d, const double p0[3], double p[3], gsl_matrix *covar,
                         int *iterations)
{
    gsl_multifit_nlinear_fdf fdf = {0};
    fdf.f = curve_f;
    fdf.df = curve_df;
    fdf.fvv = NULL;
    fdf.n = d->n;
    fdf.p = 3;
    fdf.params = (void *)d;
    gsl_multifit_nlinear_parameters params = gsl_multifit_nlinear_default_parameters();
    gsl_multifit_nlinear_workspace *w =
        gsl_multifit_nlinear_alloc(gsl_multifit_nlinear_trust, &params, d->n, 3);
    gsl_vector_const_view start = gsl_vector_const_view_array(p0, 3);
    double chi2 = INFINITY;
    int info;
    if (gsl_multifit_nlinear_init(&start.vector, &fdf, w) == GSL_SUCCESS &&
        gsl_multifit_nlinear_driver(FIT_MAX_ITER, FIT_XTOL, FIT_GTOL, 0.0, NULL, NULL, &info, w) ==
            GSL_SUCCESS) {
        const gsl_vector *r = gsl_multifit_nlinear_residual(w);
        const gsl_vector *x = gsl_multifit_nlinear_position(w);
        chi2 = 0;
        for (size_t i = 0; i < d->n; i++) chi2 += gsl_vector_get(r, i) * gsl_vector_get(r, i);
        for (int k = 0; k < 3; k++) p[k] = gsl_vector_get(x, (size_t)k);
        if (gsl_multifit_nlinear_covar(gsl_multifit_nlinear_jac(w), 0.0, covar) != GSL_SUCCESS)
            chi2 = INFINITY;
        *iterations = (int)gsl_multifit_nlinear_niter(w);
    }
    gsl_multifit_nlinear_free(w);
    return isfinite(chi2) ? chi2 : INFINITY;
}

int fit_power_law(const double *x, const double *y, int n, PowerLawFit *fit, char *err,
                  size_t errlen)
{
    for (int i = 0; i < n; i++) {
        if (!isfinite(x[i]) || x[i] <= 0) {
            snprintf(err, errlen, "point %d: size %g is not a positive number", i, x[i]);
            return -1;
        }
        if (!isfinite(y[i])) {
            snprintf(err, errlen, "point %d (size %g): the loss is not a number", i, x[i]);
            return -1;
        }
    }
    int distinct = n > 0 ? count_distinct(x, n) : 0;
    if (distinct < FIT_MIN_DISTINCT) {
        snprintf(err, errlen, "%d distinct sizes: L = E + A x^-alpha needs at least %d", distinct,
                 FIT_MIN_DISTINCT);
        return -1;
    }
    if (n <= 3) {
        snprintf(err, errlen, "%d points for 3 parameters: no degree of freedom is left to "
                 "estimate the uncertainty of alpha", n);
        return -1;
    }
    double ymin = y[0], ymax = y[0], lx0 = 0;
    for (int i = 0; i < n; i++) {
        ymin = y[i] < ymin ? y[i] : ymin;
        ymax = y[i] > ymax ? y[i] : ymax;
        lx0 += log(x[i]) / n;
    }
    if (!(ymax > ymin)) {
        snprintf(err, errlen, "every loss is %g: a flat line, no power law to fit", ymin);
        return -1;
    }
    double *u = xmalloc((size_t)n * sizeof *u);
    for (int i = 0; i < n; i++) u[i] = log(x[i]) - lx0;
    Points d = {u, y, (size_t)n};

    /* GSL's default handler aborts the program; here a failed solve is an
     * answer (the next start, or an error message) */
    gsl_error_handler_t *old_handler = gsl_set_error_handler_off();
    gsl_matrix *covar = gsl_matrix_alloc(3, 3), *best_covar = gsl_matrix_alloc(3, 3);
    double best[3] = {0}, best_chi2 = INFINITY;
    int best_iter = 0;
    for (size_t k = 0; k < sizeof start_offsets / sizeof start_offsets[0]; k++) {
        double p0[3], p[3];
        int iter = 0;
        start_guess(&d, ymin, ymax - ymin, start_offsets[k], p0);
        double chi2 = solve_from(&d, p0, p, covar, &iter);
        if (chi2 < best_chi2) {
            best_chi2 = chi2;
            for (int j = 0; j < 3; j++) best[j] = p[j];
            gsl_matrix_memcpy(best_covar, covar);
            best_iter = iter;
        }
    }
    gsl_set_error_handler(old_handler);

    int rc = -1;
    double s2 = best_chi2 / (n - 3);
    double var_E = gsl_matrix_get(best_covar, 0, 0) * s2, var_a = gsl_matrix_get(best_covar, 1, 1) * s2,
           var_alpha = gsl_matrix_get(best_covar, 2, 2) * s2, cov_a_alpha = gsl_matrix_get(best_covar, 1, 2) * s2;
    /* A = exp(a + α ln x0): dA = A (da + ln x0 dα) */
    double A = exp(best[1] + best[2] * lx0);
    double var_A = A * A * (var_a + lx0 * lx0 * var_alpha + 2 * lx0 * cov_a_alpha);
    double mean = 0, ss_tot = 0;
    for (int i = 0; i < n; i++) mean += y[i] / n;
    for (int i = 0; i < n; i++) ss_tot += (y[i] - mean) * (y[i] - mean);
    PowerLawFit f = {best[0], A, best[2], sqrt(var_E), sqrt(var_A), sqrt(var_alpha),
                     1.0 - best_chi2 / ss_tot, n, distinct, best_iter};
    if (!isfinite(best_chi2)) {
        snprintf(err, errlen, "no curve E + A x^-alpha (A > 0) fits: the loss does not flatten as x "
                 "grows (the solver ran towards alpha -> 0 with E -> -infinity from every start)");
    } else if (!isfinite(f.E) || !isfinite(f.A) || !isfinite(f.alpha) || !isfinite(f.E_sd) ||
               !isfinite(f.A_sd) || !isfinite(f.alpha_sd) || var_A < 0) {
        snprintf(err, errlen, "the fit ran off to infinity (E %g, A %g, alpha %g): the points "
                 "do not determine a power law with an offset", f.E, f.A, f.alpha);
    } else if (f.alpha_sd > FIT_MAX_ALPHA_SD * fabs(f.alpha)) {
        /* a flat run of points: α = 21 ± 3e9 is a curve that says nothing */
        snprintf(err, errlen, "the points do not determine alpha (%g \xc2\xb1 %g): the loss hardly "
                 "changes with x, a power law with an offset is not identified", f.alpha, f.alpha_sd);
    } else {
        *fit = f;
        rc = 0;
    }
    gsl_matrix_free(covar);
    gsl_matrix_free(best_covar);
    free(u);
    return rc;
}

int fit_pure_power_law(const double *x, const double *y, int n, double *alpha, double *alpha_sd,
                       double *A, char *err, size_t errlen)
{
    for (int i = 0; i < n; i++)
        if (!isfinite(x[i]) || x[i] <= 0 || !isfinite(y[i]) || y[i] <= 0) {
            snprintf(err, errlen, "point %d: size %g, loss %g: both must be positive numbers", i, x[i], y[i]);
            return -1;
        }
    int distinct = n > 0 ? count_distinct(x, n) : 0;
    if (distinct < FIT_MIN_DISTINCT || n <= 2) {
        snprintf(err, errlen, "%d distinct sizes in %d points: a power law and its error need at least %d sizes",
                 distinct, n, FIT_MIN_DISTINCT);
        return -1;
    }
    double *lx = xmalloc((size_t)n * sizeof *lx), *ly = xmalloc((size_t)n * sizeof *ly);
    for (int i = 0; i < n; i++) {
        lx[i] = log(x[i]);
        ly[i] = log(y[i]);
    }
    /* ln L = c0 + c1 ln x with c1 = −α and c0 = ln A */
    double c0, c1, cov00, cov01, cov11, sumsq;
    gsl_fit_linear(lx, 1, ly, 1, (size_t)n, &c0, &c1, &cov00, &cov01, &cov11, &sumsq);
    free(lx);
    free(ly);
    *alpha = -c1;
    *alpha_sd = sqrt(cov11);
    *A = exp(c0);
    return 0;
}

int fit_log_slope(const double *x, const double *y, int n, double x_min, double *intercept,
                  double *slope, double *slope_sd, char *err, size_t errlen)
{
    double *lx = xmalloc((size_t)(n > 0 ? n : 1) * sizeof *lx), *ly = xmalloc((size_t)(n > 0 ? n : 1) * sizeof *ly);
    int m = 0;
    for (int i = 0; i < n; i++)
        if (isfinite(x[i]) && x[i] >= x_min && x[i] > 0 && isfinite(y[i])) {
            lx[m] = log(x[i]);
            ly[m++] = y[i];
        }
    int rc = -1;
    if (m < 3 || count_distinct(lx, m) < 2) {
        snprintf(err, errlen, "%d points at x >= %g: a slope and its error need at least 3", m, x_min);
    } else {
        double c0, c1, cov00, cov01, cov11, sumsq;
        gsl_fit_linear(lx, 1, ly, 1, (size_t)m, &c0, &c1, &cov00, &cov01, &cov11, &sumsq);
        /* gsl_fit_linear's covariance already carries the residual variance */
        *intercept = c0;
        *slope = c1;
        *slope_sd = sqrt(cov11);
        rc = 0;
    }
    free(lx);
    free(ly);
    return rc;
}
