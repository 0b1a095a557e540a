/*
 * test_scan.c — the linear recurrence h_t = a_t ⊙ h_{t-1} + b_t (mingru/scan.c).
 *
 *   equal      Blelloch's scan and the chunked scan (1, 2, 3 and 7 threads)
 *              equal the one-step-at-a-time loop, forward (h) and backward
 *              (da, db, dh0), for T from 1 to 3000, powers of two and not
 *   hand       a 3-step case computed by hand
 *   gradients  finite differences of every scan (double build)
 *   path       the critical path of each kind, counted by hand
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_rng.h>

#include "mingru/scan.h"
#include "testutil.h"
#include "util.h"

#ifdef SEQLAB_DOUBLE
#define SCAN_RTOL 1e-11
#define SCAN_ATOL 1e-12
#else
/* the same sums and products grouped differently, over up to 3000 steps
 * of decays in (0.5, 1): float rounding accumulates like sqrt(T) eps */
#define SCAN_RTOL 1e-5
#define SCAN_ATOL 1e-5
#endif

static gsl_rng *seeded(unsigned long seed)
{
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, seed);
    return rng;
}

static void uniform(real *x, size_t n, double lo, double hi, gsl_rng *rng)
{
    for (size_t i = 0; i < n; i++) x[i] = (real)(lo + (hi - lo) * gsl_rng_uniform(rng));
}

/* n = 5 channels: odd, so a stride error shows */
enum { SN = 5 };

typedef struct Case {
    int T;
    real *a, *b, *h, *dh, *da, *db, *dh0, *work;
} Case;

static Case case_alloc(int T, unsigned long seed)
{
    Case c;
    size_t n = (size_t)T * SN;
    c.T = T;
    c.a = xmalloc(n * sizeof(real));
    c.b = xmalloc(n * sizeof(real));
    c.h = xmalloc((n + SN) * sizeof(real));
    c.dh = xmalloc(n * sizeof(real));
    c.da = xmalloc(n * sizeof(real));
    c.db = xmalloc(n * sizeof(real));
    c.dh0 = xmalloc(SN * sizeof(real));
    c.work = xmalloc(scan_work_len(T, SN) * sizeof(real));
    gsl_rng *rng = seeded(seed);
    /* decays like a gate's 1 - z: (0.5, 1), so h remembers hundreds of steps */
    uniform(c.a, n, 0.5, 1.0, rng);
    uniform(c.b, n, -1, 1, rng);
    uniform(c.h, SN, -1, 1, rng);       /* h[0] != 0: the initial state is carried */
    uniform(c.dh, n, -1, 1, rng);
    gsl_rng_free(rng);
    return c;
}

static void case_free(Case *c)
{
    free(c->a); free(c->b); free(c->h); free(c->dh); free(c->da); free(c->db);
    free(c->dh0); free(c->work);
}

static const int scan_T[] = {1, 2, 3, 5, 7, 8, 31, 64, 100, 1000, 1023, 1024, 1025, 3000};

START_TEST(test_scans_equal_sequential)
{
    for (size_t k = 0; k < sizeof scan_T / sizeof scan_T[0]; k++) {
        int T = scan_T[k];
        size_t n = (size_t)T * SN;
        Case c = case_alloc(T, 10 + k);
        real *h_seq = xmalloc((n + SN) * sizeof(real)), *da_seq = xmalloc(n * sizeof(real));
        real *db_seq = xmalloc(n * sizeof(real)), dh0_seq[SN];
        scan_forward(SCAN_SEQUENTIAL, c.h, c.a, c.b, c.work, T, SN, 1);
        scan_backward(SCAN_SEQUENTIAL, c.da, c.db, c.dh0, c.dh, c.a, c.h, c.work, T, SN, 1);
        memcpy(h_seq, c.h, (n + SN) * sizeof(real));
        memcpy(da_seq, c.da, n * sizeof(real));
        memcpy(db_seq, c.db, n * sizeof(real));
        memcpy(dh0_seq, c.dh0, sizeof dh0_seq);
        struct { ScanKind kind; int parts; } runs[] = {
            {SCAN_BLELLOCH, 1}, {SCAN_CHUNKED, 1}, {SCAN_CHUNKED, 2}, {SCAN_CHUNKED, 3},
            {SCAN_CHUNKED, 7},
        };
        for (size_t r = 0; r < sizeof runs / sizeof runs[0]; r++) {
            /* poison everything the scan writes */
            for (size_t i = SN; i < n + SN; i++) c.h[i] = NAN;
            for (size_t i = 0; i < n; i++) c.da[i] = c.db[i] = NAN;
            for (size_t i = 0; i < SN; i++) c.dh0[i] = NAN;
            scan_forward(runs[r].kind, c.h, c.a, c.b, c.work, T, SN, runs[r].parts);
            assert_allclose(c.h, h_seq, n + SN, SCAN_RTOL, SCAN_ATOL);
            scan_backward(runs[r].kind, c.da, c.db, c.dh0, c.dh, c.a, c.h, c.work, T, SN,
                          runs[r].parts);
            assert_allclose(c.db, db_seq, n, SCAN_RTOL, SCAN_ATOL);
            assert_allclose(c.da, da_seq, n, SCAN_RTOL, SCAN_ATOL);
            assert_allclose(c.dh0, dh0_seq, SN, SCAN_RTOL, SCAN_ATOL);
        }
        free(h_seq); free(da_seq); free(db_seq);
        case_free(&c);
    }
}
END_TEST

START_TEST(test_scan_hand_computed)
{
    /* one channel, T = 3: h0 = 2, a = (0.5, 0.25, 1), b = (1, -1, 0.5)
     *   h1 = 0.5*2 + 1 = 2, h2 = 0.25*2 - 1 = -0.5, h3 = -0.5 + 0.5 = 0
     * dh = (1, 2, 3) from above:
     *   g2 = 3, g1 = 2 + 1*3 = 5, g0 = 1 + 0.25*5 = 2.25
     *   da = g ⊙ (h0, h1, h2) = (4.5, 10, -1.5), db = g, dh0 = 0.5 * 2.25 = 1.125 */
    ScanKind kinds[] = {SCAN_SEQUENTIAL, SCAN_BLELLOCH, SCAN_CHUNKED};
    for (int k = 0; k < 3; k++) {
        real a[3] = {0.5, 0.25, 1}, b[3] = {1, -1, 0.5}, h[4] = {2, 0, 0, 0}, dh[3] = {1, 2, 3};
        real da[3], db[3], dh0[1], work[8];
        scan_forward(kinds[k], h, a, b, work, 3, 1, 2);
        scan_backward(kinds[k], da, db, dh0, dh, a, h, work, 3, 1, 2);
        real h_hand[4] = {2, 2, -0.5, 0}, da_hand[3] = {4.5, 10, -1.5}, db_hand[3] = {2.25, 5, 3};
        real dh0_hand[1] = {1.125};
        assert_allclose(h, h_hand, 4, 1e-6, 1e-7);
        assert_allclose(da, da_hand, 3, 1e-6, 1e-7);
        assert_allclose(db, db_hand, 3, 1e-6, 1e-7);
        assert_allclose(dh0, dh0_hand, 1, 1e-6, 1e-7);
    }
}
END_TEST

/* L = sum_t R[t] ⊙ h[t+1] (R = dh of the case) */
static double scan_loss(ScanKind kind, Case *c, int parts)
{
    scan_forward(kind, c->h, c->a, c->b, c->work, c->T, SN, parts);
    double L = 0;
    for (size_t i = 0; i < (size_t)c->T * SN; i++) L += (double)c->dh[i] * c->h[SN + i];
    return L;
}

static double fd(ScanKind kind, Case *c, real *x, int parts)
{
    const double h = GRADCHECK_STEP, shift[4] = {2 * h, h, -h, -2 * h};
    real saved = *x;
    double f[4];
    for (int k = 0; k < 4; k++) {
        *x = (real)(saved + shift[k]);
        f[k] = scan_loss(kind, c, parts);
    }
    *x = saved;
    return (-f[0] + 8 * f[1] - 8 * f[2] + f[3]) / (12 * h);
}

START_TEST(test_scan_gradcheck)
{
    ScanKind kinds[] = {SCAN_SEQUENTIAL, SCAN_BLELLOCH, SCAN_CHUNKED};
    const char *names[] = {"sequential", "blelloch", "chunked"};
    for (int k = 0; k < 3; k++) {
        Case c = case_alloc(13, 50 + k);      /* 13: not a power of two, 3 chunks of 4-5 */
        size_t n = (size_t)c.T * SN;
        scan_forward(kinds[k], c.h, c.a, c.b, c.work, c.T, SN, 3);
        scan_backward(kinds[k], c.da, c.db, c.dh0, c.dh, c.a, c.h, c.work, c.T, SN, 3);
        real *da = xmalloc(n * sizeof(real)), *db = xmalloc(n * sizeof(real)), dh0[SN];
        memcpy(da, c.da, n * sizeof(real));
        memcpy(db, c.db, n * sizeof(real));
        memcpy(dh0, c.dh0, sizeof dh0);
        double worst = 0;
        for (size_t i = 0; i < n; i++) {
            double ra = rel_error(da[i], fd(kinds[k], &c, &c.a[i], 3));
            double rb = rel_error(db[i], fd(kinds[k], &c, &c.b[i], 3));
            worst = fmax(worst, fmax(ra, rb));
        }
        for (size_t i = 0; i < SN; i++) worst = fmax(worst, rel_error(dh0[i], fd(kinds[k], &c, &c.h[i], 3)));
        printf("scan %s: worst relative error %.3g\n", names[k], worst);
#ifdef SEQLAB_DOUBLE
        ck_assert_msg(worst <= GRADCHECK_TOL, "scan %s: worst relative error %g", names[k], worst);
#endif
        free(da); free(db);
        case_free(&c);
    }
}
END_TEST

START_TEST(test_critical_path_counted)
{
    /* sequential: T; Blelloch: 2 ceil(log2 T) + 1; chunked: ceil(T/P) + P-1 + ceil(T/P) */
    ck_assert_double_eq(scan_critical_path(SCAN_SEQUENTIAL, 1000, 2), 1000);
    ck_assert_double_eq(scan_critical_path(SCAN_BLELLOCH, 1, 1), 1);
    ck_assert_double_eq(scan_critical_path(SCAN_BLELLOCH, 1024, 1), 21);
    ck_assert_double_eq(scan_critical_path(SCAN_BLELLOCH, 1025, 1), 23);
    ck_assert_double_eq(scan_critical_path(SCAN_BLELLOCH, 8192, 1), 27);
    ck_assert_double_eq(scan_critical_path(SCAN_CHUNKED, 1000, 4), 250 + 3 + 250);
    ck_assert_double_eq(scan_critical_path(SCAN_CHUNKED, 1001, 2), 501 + 1 + 501);
    ck_assert_double_eq(scan_critical_path(SCAN_CHUNKED, 3, 8), 1 + 2 + 1);
}
END_TEST

static Suite *make_scan_suite(void)
{
    Suite *s = suite_create("scan");
    TCase *tc = tcase_create("scan");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_scans_equal_sequential);
    tcase_add_test(tc, test_scan_hand_computed);
    tcase_add_test(tc, test_scan_gradcheck);
    tcase_add_test(tc, test_critical_path_counted);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(make_scan_suite());
}
