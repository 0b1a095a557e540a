/*
 * test_fit.c — the scaling-law fits of experiments/fit.c: known E, A and α
 * come back from synthetic points with and without noise, the stated
 * uncertainty covers the truth, and inputs that cannot determine a curve
 * are errors with a message, never NaN.
 */
#include <check.h>
#include <math.h>
#include <string.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#include "experiments/fit.h"
#include "testutil.h"

/* a curve like the ones seqlab measures: L = 1.3 + 60 N^-0.35 over
 * N = 1e4 .. 1e6 falls from 2.23 to 1.43 nats */
#define TRUE_E 1.3
#define TRUE_A 60.0
#define TRUE_ALPHA 0.35
/* noise-free points are fitted to the solver's precision */
#define EXACT_TOL 1e-6
/* noise of sd 0.01 nats (the seed-to-seed spread of a short run) on 12
 * points: over the ten draws below E moves by up to 0.045, α by up to 0.015
 * and A (strongly correlated with α) by up to 10%; the bounds leave about
 * a factor of 1.5 to 2 */
#define NOISE_SD 0.01
#define NOISY_E_TOL 0.07
#define NOISY_ALPHA_TOL 0.03
#define NOISY_A_RTOL 0.2
/* the truth lies within this many stated standard errors */
#define COVER_SDS 3.0
#define ERRLEN 256

static const double sizes[] = {1e4, 2.5e4, 6e4, 1.5e5, 4e5, 1e6};
enum { NSIZES = sizeof sizes / sizeof sizes[0] };

static double curve(double x) { return TRUE_E + TRUE_A * pow(x, -TRUE_ALPHA); }

START_TEST(test_recovers_exact_curve)
{
    double x[NSIZES], y[NSIZES];
    for (int i = 0; i < NSIZES; i++) {
        x[i] = sizes[i];
        y[i] = curve(x[i]);
    }
    PowerLawFit f;
    char err[ERRLEN] = "";
    ck_assert_msg(fit_power_law(x, y, NSIZES, &f, err, sizeof err) == 0, "%s", err);
    ck_assert_double_eq_tol(f.E, TRUE_E, EXACT_TOL);
    ck_assert_double_eq_tol(f.alpha, TRUE_ALPHA, EXACT_TOL);
    ck_assert_double_eq_tol(f.A / TRUE_A, 1.0, EXACT_TOL);
    ck_assert_double_eq_tol(f.r2, 1.0, EXACT_TOL);
    ck_assert_int_eq(f.n, NSIZES);
    ck_assert_int_eq(f.distinct, NSIZES);
}
END_TEST

/* two seeds a size, Gaussian noise; ten different noise draws */
START_TEST(test_recovers_noisy_curve)
{
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    for (unsigned long seed = 1; seed <= 10; seed++) {
        gsl_rng_set(rng, seed);
        double x[2 * NSIZES], y[2 * NSIZES];
        for (int i = 0; i < 2 * NSIZES; i++) {
            x[i] = sizes[i / 2];
            y[i] = curve(x[i]) + gsl_ran_gaussian(rng, NOISE_SD);
        }
        PowerLawFit f;
        char err[ERRLEN] = "";
        ck_assert_msg(fit_power_law(x, y, 2 * NSIZES, &f, err, sizeof err) == 0, "seed %lu: %s", seed, err);
        ck_assert_msg(fabs(f.E - TRUE_E) <= NOISY_E_TOL, "seed %lu: E %g", seed, f.E);
        ck_assert_msg(fabs(f.alpha - TRUE_ALPHA) <= NOISY_ALPHA_TOL, "seed %lu: alpha %g", seed, f.alpha);
        ck_assert_msg(fabs(f.A / TRUE_A - 1) <= NOISY_A_RTOL, "seed %lu: A %g", seed, f.A);
        ck_assert_msg(fabs(f.alpha - TRUE_ALPHA) <= COVER_SDS * f.alpha_sd,
                      "seed %lu: alpha %g +- %g misses %g", seed, f.alpha, f.alpha_sd, TRUE_ALPHA);
        ck_assert_msg(fabs(f.E - TRUE_E) <= COVER_SDS * f.E_sd, "seed %lu: E %g +- %g", seed, f.E, f.E_sd);
        ck_assert_msg(f.alpha_sd > 0 && f.E_sd > 0 && f.A_sd > 0, "seed %lu: zero uncertainty", seed);
        ck_assert_msg(f.r2 > 0.99 && f.r2 < 1, "seed %lu: R2 %g", seed, f.r2);
    }
    gsl_rng_free(rng);
}
END_TEST

/* a loss that rises with size is a negative α, not a failure */
START_TEST(test_rising_curve_gives_negative_alpha)
{
    double x[NSIZES], y[NSIZES];
    for (int i = 0; i < NSIZES; i++) {
        x[i] = sizes[i];
        y[i] = 1.0 + 0.01 * pow(x[i], 0.3);
    }
    PowerLawFit f;
    char err[ERRLEN] = "";
    ck_assert_msg(fit_power_law(x, y, NSIZES, &f, err, sizeof err) == 0, "%s", err);
    ck_assert_double_eq_tol(f.alpha, -0.3, EXACT_TOL);
    ck_assert_double_eq_tol(f.A, 0.01, EXACT_TOL);
    ck_assert_double_eq_tol(f.E, 1.0, EXACT_TOL);
}
END_TEST

/* fit_power_law fails, names `word` in its message, leaves *fit alone */
static void fit_fails(const double *x, const double *y, int n, const char *word)
{
    PowerLawFit f;
    memset(&f, 0x5a, sizeof f);
    PowerLawFit before = f;
    char err[ERRLEN] = "";
    ck_assert_int_eq(fit_power_law(x, y, n, &f, err, sizeof err), -1);
    ck_assert_msg(strstr(err, word) != NULL, "message '%s' lacks '%s'", err, word);
    ck_assert(memcmp(&f, &before, sizeof f) == 0);
}

START_TEST(test_degenerate_inputs_are_errors)
{
    /* two sizes, two seeds each: four points but only two distinct x */
    double x2[] = {1e4, 1e4, 1e5, 1e5}, y2[] = {2.0, 2.1, 1.6, 1.7};
    fit_fails(x2, y2, 4, "2 distinct sizes");
    /* every size the same */
    double xs[] = {5e4, 5e4, 5e4, 5e4, 5e4}, ys[] = {2.0, 2.1, 1.9, 2.05, 2.0};
    fit_fails(xs, ys, 5, "1 distinct");
    /* three sizes, one point each: nothing left for the uncertainty */
    double x3[] = {1e4, 1e5, 1e6}, y3[] = {2.0, 1.7, 1.5};
    fit_fails(x3, y3, 3, "3 points");
    /* a flat line */
    double xf[] = {1e4, 1e5, 1e6, 1e7}, yf[] = {1.5, 1.5, 1.5, 1.5};
    fit_fails(xf, yf, 4, "flat");
    /* a loss that drops once and is flat after (data_size's Transformer:
     * the solver found alpha 21 +- 3e9): alpha is not determined */
    double xd[] = {37184, 37184, 111680, 111680, 372352, 372352, 1117180, 1117180, 3724060, 3724060};
    double yd[] = {2.2052, 2.1932, 2.1634, 2.1608, 2.1686, 2.1677, 2.1730, 2.1662, 2.1727, 2.1560};
    fit_fails(xd, yd, 10, "not determine alpha");
    /* no points, bad sizes, a missing loss */
    fit_fails(xf, yf, 0, "0 distinct");
    double xz[] = {1e4, 0, 1e6, 1e7}, yn[] = {2.0, 1.8, NAN, 1.5};
    fit_fails(xz, yf, 4, "point 1");
    fit_fails(xf, yn, 4, "point 2");
}
END_TEST

START_TEST(test_pure_power_law)
{
    /* L = (N_c / N)^0.076 with N_c = 8.8e13, Kaplan et al.'s L(N) */
    double x[NSIZES], y[NSIZES], alpha, sd, A;
    for (int i = 0; i < NSIZES; i++) {
        x[i] = sizes[i];
        y[i] = pow(8.8e13 / x[i], 0.076);
    }
    char err[ERRLEN] = "";
    ck_assert_msg(fit_pure_power_law(x, y, NSIZES, &alpha, &sd, &A, err, sizeof err) == 0, "%s", err);
    ck_assert_double_eq_tol(alpha, 0.076, 1e-9);
    ck_assert_double_eq_tol(sd, 0, 1e-9);
    ck_assert_double_eq_tol(pow(A, 1 / alpha) / 8.8e13, 1, 1e-6);   /* x_c = A^(1/alpha) */
    /* the curve with an offset exists only where the loss flattens: a loss
     * falling faster at larger sizes has none, the pure power law still does */
    double concave[] = {2.31, 2.21, 2.13, 2.03, 1.90, 1.70};
    PowerLawFit f;
    ck_assert_int_eq(fit_power_law(x, concave, NSIZES, &f, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "does not flatten"));
    ck_assert_int_eq(fit_pure_power_law(x, concave, NSIZES, &alpha, &sd, &A, err, sizeof err), 0);
    ck_assert_msg(alpha > 0 && sd > 0, "alpha %g +- %g", alpha, sd);
    double x2[] = {1e4, 1e4, 1e5}, y2[] = {2, 2.1, 1.5};
    ck_assert_int_eq(fit_pure_power_law(x2, y2, 3, &alpha, &sd, &A, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "2 distinct"));
    y2[2] = -1;
    ck_assert_int_eq(fit_pure_power_law(x, y2, 3, &alpha, &sd, &A, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "point 2"));
}
END_TEST

START_TEST(test_log_slope)
{
    /* y = 2 - 0.1 ln x exactly beyond 64, and something else before */
    double x[200], y[200];
    for (int i = 0; i < 200; i++) {
        x[i] = i + 1;
        y[i] = x[i] >= 64 ? 2.0 - 0.1 * log(x[i]) : 9.0;
    }
    double c0, slope, sd;
    char err[ERRLEN] = "";
    ck_assert_msg(fit_log_slope(x, y, 200, 64, &c0, &slope, &sd, err, sizeof err) == 0, "%s", err);
    ck_assert_double_eq_tol(c0, 2.0, 1e-12);
    ck_assert_double_eq_tol(slope, -0.1, 1e-12);
    ck_assert_double_eq_tol(sd, 0, 1e-9);
    ck_assert_int_eq(fit_log_slope(x, y, 200, 199, &c0, &slope, &sd, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "2 points"));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("fit");
    TCase *tc = tcase_create("power_law");
    tcase_add_test(tc, test_recovers_exact_curve);
    tcase_add_test(tc, test_recovers_noisy_curve);
    tcase_add_test(tc, test_rising_curve_gives_negative_alpha);
    tcase_add_test(tc, test_degenerate_inputs_are_errors);
    tcase_add_test(tc, test_pure_power_law);
    tcase_add_test(tc, test_log_slope);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
