/*
 * fit.h — the scaling-law fits: L = E + A·x^(−α) by nonlinear least squares
 * (GSL's gsl_multifit_nlinear), and the slope of a loss against log
 * position.
 *
 * x is the non-embedding parameter count N (loss against model size) or the
 * number of training tokens D (loss against data).  E is the loss an
 * infinitely large model (or dataset) would still have, A and α how fast
 * the rest falls: α = 0.076 for N and 0.095 for D in Kaplan et al. (2020),
 * whose fits had no E; small models need it (Hoffmann et al. 2022).
 *
 * What this file is not: the figures or the findings that use the fits
 * (scaling_laws.c).
 */
#ifndef SEQLAB_FIT_H
#define SEQLAB_FIT_H

#include <stddef.h>

/* fewer distinct sizes than this leave E, A and α undetermined */
#define FIT_MIN_DISTINCT 3
/* an α whose standard error is more than this many times α itself is not
 * determined by the points (a flat run of losses): no fit, said why */
#define FIT_MAX_ALPHA_SD 10.0

typedef struct PowerLawFit {
    double E, A, alpha;          /* L = E + A·x^(−α) */
    double E_sd, A_sd, alpha_sd; /* standard errors: the fit's covariance scaled by
                                    the residual variance (χ² / (n − 3)) */
    double r2;                   /* 1 − SS_res / SS_tot */
    int n;                       /* points fitted */
    int distinct;                /* distinct x among them */
    int iterations;              /* of the trust-region solver */
} PowerLawFit;

/* fit L = E + A·x^(−α), A > 0, to the n points (x[i], y[i]); several y
 * at one x (seeds) are fine.  A loss that rises with x comes out as α < 0.  0, or -1 with a message in err when the input cannot
 * determine the curve (a non-finite or non-positive x, a non-finite y,
 * fewer than FIT_MIN_DISTINCT distinct x, no more points than the three
 * parameters, every y equal, an α the points leave undetermined) or the
 * solver fails; nothing is NaN on
 * success. */
int fit_power_law(const double *x, const double *y, int n, PowerLawFit *fit, char *err,
                  size_t errlen);

/* Kaplan et al.'s own form, L = (x_c / x)^α = A x^−α with no offset: the
 * least-squares line ln L = ln A − α ln x, so α and its standard error come
 * from a linear fit in log-log space (every y must be positive); x_c =
 * A^(1/α), which runs off to infinity as α nears 0, so *A is returned.  It
 * always exists where the curve with an offset may not (a loss that has
 * not begun to flatten), and it is the exponent Kaplan et al. quote.
 * 0, or -1 with err (fewer than 3 distinct x, a non-positive x or y, no
 * more points than 2). */
int fit_pure_power_law(const double *x, const double *y, int n, double *alpha, double *alpha_sd,
                       double *A, char *err, size_t errlen);

/* the least-squares line y = intercept + slope·ln x over the points with
 * x >= x_min, and the slope's standard error: how much the loss changes per
 * e-fold of context.  0, or -1 with err when fewer than 3 such points (or
 * one x) remain. */
int fit_log_slope(const double *x, const double *y, int n, double x_min, double *intercept,
                  double *slope, double *slope_sd, char *err, size_t errlen);

#endif
