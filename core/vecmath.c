/*
 * vecmath.c — exp, tanh, sigmoid, the GELU, softmax rows and LayerNorm rows,
 * several floats at a time (see vecmath.h); in the double and reference
 * builds, the plain libm loops instead.
 *
 * How e^x is computed (Cody & Waite's range reduction, Moshier's Cephes
 * polynomial):
 *     n = round(x / ln 2),  r = x - n ln 2          so |r| <= ln 2 / 2
 *     e^r ~ 1 + r + r^2 P(r), P of degree 5         relative error ~1e-7
 *     e^x = 2^n e^r, and 2^n is built directly as the float whose exponent
 *     field is n + 127
 * ln 2 is split into a part with few significant bits (LN2_HI, so n LN2_HI
 * is exact) and the rest (LN2_LO), which keeps r accurate.
 *
 * tanh:    |x| < 0.625:  x + x^3 Q(x^2)             (Cephes tanhf; no cancellation near 0)
 *          otherwise:    1 - 2 / (e^{2|x|} + 1), with x's sign
 * sigmoid: 1 / (1 + e^-x)
 * gelu:    x Phi(x) with Phi(x) = erfc(-x / sqrt 2) / 2.  For z >= 0
 *          erfc(z) = t Q(t) exp(-z^2), t = 1 / (1 + z/2), where Q(t) =
 *          erfc(z) e^{z^2} / t is smooth on (0, 1] (it runs from 1/(2 sqrt pi)
 *          at z = oo to 1 at z = 0): a polynomial of degree 9 fitted to it,
 *          relative error < 1e-7 in float (Numerical Recipes' erfcc has the
 *          same t but exp(-z^2 + R(t)), a second exp).  Phi(x) =
 *          erfc(|x|/sqrt 2)/2 for x < 0 and 1 - that for x >= 0, so the far
 *          negative tail keeps its relative accuracy.  The density phi(x) =
 *          exp(-x^2/2) / sqrt(2 pi) is the same exp(-z^2): Phi and phi, all
 *          that gelu'(x) = Phi(x) + x phi(x) needs, cost one exp together
 *
 * "Several at a time" uses GCC's vector extensions (also understood by
 * Clang): a `vfloat` is 8 floats and + - * / act on all 8 (see below for
 * how they map to SSE and AVX2 registers).  Branches become masks: a comparison gives all-ones or
 * all-zeros per element, and `select` blends two vectors with it.
 *
 * What this file is not: a general libm.  Only what seqlab's models call.
 */
#include "vecmath.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

/* ---- the plain loops (double build: these ARE the functions) ------------- */

void vecmath_exp_ref(real *y, const real *x, size_t n)
{
    for (size_t i = 0; i < n; i++) y[i] = real_exp(x[i]);
}

void vecmath_tanh_ref(real *y, const real *x, size_t n)
{
    for (size_t i = 0; i < n; i++) y[i] = real_tanh(x[i]);
}

void vecmath_sigmoid_ref(real *y, const real *x, size_t n)
{
    /* written so that neither branch overflows exp() */
    for (size_t i = 0; i < n; i++) {
        real e = real_exp(-fabs(x[i]));
        y[i] = x[i] >= 0 ? 1 / (1 + e) : e / (1 + e);
    }
}

#define INV_SQRT2 0.70710678118654752440
#define INV_SQRT_2PI 0.39894228040143267794

/* The double build (gradient checks) and the reference build (REFERENCE_BUILD,
 * real.h) compute one element at a time with libm: exact functions for finite
 * differences, plain loops for the reference. */
#if defined(SEQLAB_DOUBLE) || defined(SEQLAB_REFERENCE)

void vecmath_exp(real *y, const real *x, size_t n) { vecmath_exp_ref(y, x, n); }
void vecmath_tanh(real *y, const real *x, size_t n) { vecmath_tanh_ref(y, x, n); }
void vecmath_sigmoid(real *y, const real *x, size_t n) { vecmath_sigmoid_ref(y, x, n); }
void vecmath_add(real *y, const real *x, size_t n)
{
    for (size_t i = 0; i < n; i++) y[i] += x[i];
}

double vecmath_sumsq(const real *x, size_t n) { return real_sumsq(n, x); }

double vecmath_softmax_sum(real *p, const real *z, size_t n, real *zmax)
{
    real m = z[0];
    for (size_t i = 1; i < n; i++)
        if (z[i] > m) m = z[i];
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        p[i] = exp(z[i] - m);
        sum += p[i];
    }
    for (size_t i = 0; i < n; i++) p[i] /= sum;
    *zmax = m;
    return sum;
}

void vecmath_softmax(real *x, size_t n)
{
    real m;
    vecmath_softmax_sum(x, x, n, &m);
}

void vecmath_layernorm(real *y, real *mean, real *rstd, const real *x, const real *w,
                       const real *b, size_t C, double eps)
{
    double mu = 0, var = 0;
    for (size_t c = 0; c < C; c++) mu += x[c];
    mu /= (double)C;
    for (size_t c = 0; c < C; c++) var += (x[c] - mu) * (x[c] - mu);
    var /= (double)C;
    double s = 1.0 / sqrt(var + eps);
    for (size_t c = 0; c < C; c++) y[c] = (real)((x[c] - mu) * s) * w[c] + b[c];
    *mean = (real)mu;
    *rstd = (real)s;
}

void vecmath_layernorm_backward(real *dx, real *dw, real *db, const real *dy, const real *x,
                                const real *w, real mean, real rstd, size_t C)
{
    double g_mean = 0, gx_mean = 0;
    for (size_t c = 0; c < C; c++) {
        real xhat = (x[c] - mean) * rstd, g = dy[c] * w[c];
        g_mean += g;
        gx_mean += (double)g * xhat;
    }
    g_mean /= (double)C;
    gx_mean /= (double)C;
    for (size_t c = 0; c < C; c++) {
        real xhat = (x[c] - mean) * rstd;
        if (dw) dw[c] += dy[c] * xhat;
        if (db) db[c] += dy[c];
        if (dx) dx[c] += rstd * (real)((double)(dy[c] * w[c]) - g_mean - (double)xhat * gx_mean);
    }
}

void vecmath_softmax_backward(real *d, const real *p, size_t n)
{
    double dot = 0;
    for (size_t i = 0; i < n; i++) dot += p[i] * d[i];
    for (size_t i = 0; i < n; i++) d[i] = p[i] * (d[i] - dot);
}

/* the same loops as transformer/gelu.c's _ref twins */
void vecmath_gelu(real *y, const real *x, size_t n)
{
    for (size_t i = 0; i < n; i++) y[i] = 0.5 * x[i] * erfc(-x[i] * INV_SQRT2);
}

void vecmath_gelu_backward(real *dx, const real *dy, const real *x, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        double cdf = 0.5 * erfc(-x[i] * INV_SQRT2);
        double pdf = exp(-0.5 * x[i] * x[i]) * INV_SQRT_2PI;
        dx[i] += dy[i] * (cdf + x[i] * pdf);
    }
}

void vecmath_gelu_backward_set(real *dx, const real *dy, const real *x, size_t n)
{
    for (size_t i = 0; i < n; i++) dx[i] = 0;
    vecmath_gelu_backward(dx, dy, x, n);
}

void vecmath_gelu_slope(real *y, real *slope, const real *x, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        double xi = x[i], cdf = 0.5 * erfc(-xi * INV_SQRT2);
        double pdf = exp(-0.5 * xi * xi) * INV_SQRT_2PI;
        y[i] = (real)(xi * cdf);
        slope[i] = (real)(cdf + xi * pdf);
    }
}

#else

/* A vfloat is 8 floats.  In the default build the compiler carries it in
 * two SSE registers (every x86-64 has SSE2).  On x86-64 each public
 * function is also compiled a second time for x86-64-v3 (AVX2 and FMA,
 * target_clones), where a vfloat is one 256-bit register and a * b + c one
 * fused instruction (the Makefile compiles this file with
 * -ffp-contract=fast; the polynomials are chains of them), and the loader
 * picks the version this CPU can run: the binary stays portable (no
 * -march=native) and still uses the wider registers where they exist.
 * Measured on 64 K floats in cache: the GELU 1.85 -> 1.22 ns a float, its
 * backward 2.45 -> 1.65 ns, against AVX2 without FMA.  The helpers take
 * their vectors by pointer, which keeps them out of the two versions'
 * calling conventions. */
#define VLEN 8
typedef float vfloat __attribute__((vector_size(VLEN * sizeof(float))));
typedef int32_t vint __attribute__((vector_size(VLEN * sizeof(int32_t))));

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define VECMATH_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define VECMATH_CLONES
#endif

/* v in every element */
#define SPLAT(v) ((vfloat){v, v, v, v, v, v, v, v})
/* mask ? a : b, elementwise (mask elements are all ones or all zeros) */
#define SELECT(mask, a, b) ((vfloat)(((vint)(a) & (mask)) | ((vint)(b) & ~(mask))))
/* the mask of lanes 0 .. m-1 (the live part of a tail vector) */
#define LIVE_LANES(m) ((vint){0, 1, 2, 3, 4, 5, 6, 7} < (vint){0} + (int32_t)(m))

/* the range of x for which e^x is a normal float */
#define EXP_X_MAX 88.3f
#define EXP_X_MIN -87.3f
#define LOG2E 1.44269504088896341f
#define LN2_HI 0.693359375f          /* 355/512: n * LN2_HI is exact for |n| < 2^15 */
#define LN2_LO -2.12194440e-4f       /* ln 2 - LN2_HI */
/* adding and subtracting 1.5 * 2^23 rounds a float of magnitude < 2^22 to
 * the nearest integer (the sum has no bits below 1) */
#define ROUND_MAGIC 12582912.0f
#define TANH_SMALL 0.625f
#define SIGN_BIT ((int32_t)0x80000000)

/* *y = e^x */
static inline void v_exp(vfloat *y, const vfloat *xp)
{
    vfloat x = *xp;
    /* keep e^x a normal float; NaN fails both tests and passes through */
    x = SELECT(x > SPLAT(EXP_X_MAX), SPLAT(EXP_X_MAX), x);
    x = SELECT(x < SPLAT(EXP_X_MIN), SPLAT(EXP_X_MIN), x);
    /* n = round(x / ln 2), r = x - n ln 2 */
    vfloat n = (x * SPLAT(LOG2E) + SPLAT(ROUND_MAGIC)) - SPLAT(ROUND_MAGIC);
    vfloat r = x - n * SPLAT(LN2_HI);
    r = r - n * SPLAT(LN2_LO);
    /* e^r = 1 + r + r^2 P(r) */
    vfloat p = SPLAT(1.9875691500e-4f);
    p = p * r + SPLAT(1.3981999507e-3f);
    p = p * r + SPLAT(8.3334519073e-3f);
    p = p * r + SPLAT(4.1665795894e-2f);
    p = p * r + SPLAT(1.6666665459e-1f);
    p = p * r + SPLAT(5.0000001201e-1f);
    p = p * r * r + r + SPLAT(1.0f);
    /* 2^n: the float with exponent field n + 127 and a zero mantissa */
    vint e = (__builtin_convertvector(n, vint) + 127) << 23;
    *y = p * (vfloat)e;
}

/* *y = tanh x */
static inline void v_tanh(vfloat *y, const vfloat *xp)
{
    vfloat x = *xp;
    vint sign = (vint)x & SIGN_BIT;
    vfloat ax = (vfloat)((vint)x & ~SIGN_BIT);     /* |x| */
    /* tanh is odd: compute tanh |x|, then give it x's sign */
    /* small |x|: tanh |x| = |x| + |x|^3 Q(x^2) */
    vfloat z = ax * ax;
    vfloat q = SPLAT(-5.70498872745e-3f);
    q = q * z + SPLAT(2.06390887954e-2f);
    q = q * z + SPLAT(-5.37397155531e-2f);
    q = q * z + SPLAT(1.33314422036e-1f);
    q = q * z + SPLAT(-3.33332819422e-1f);
    vfloat small = q * z * ax + ax;
    /* large |x|: tanh |x| = 1 - 2 / (e^{2|x|} + 1) */
    vfloat e, two_ax = ax + ax;
    v_exp(&e, &two_ax);
    vfloat large = SPLAT(1.0f) - SPLAT(2.0f) / (e + SPLAT(1.0f));
    vfloat t = SELECT(ax < SPLAT(TANH_SMALL), small, large);
    *y = (vfloat)((vint)t | sign);
}

/* *y = 1 / (1 + e^-x) */
static inline void v_sigmoid(vfloat *y, const vfloat *xp)
{
    vfloat e, minus_x = -*xp;
    v_exp(&e, &minus_x);
    *y = SPLAT(1.0f) / (SPLAT(1.0f) + e);
}

/* *cdf = Phi(x), the standard normal CDF, and *pdf = phi(x), its density
 * (inlined: a caller that ignores pdf pays nothing for it) */
static inline void v_normal_cdf_pdf(vfloat *cdf, vfloat *pdf, const vfloat *xp)
{
    vfloat x = *xp;
    vfloat z = (vfloat)((vint)x & ~SIGN_BIT) * SPLAT((float)INV_SQRT2);   /* |x| / sqrt 2 */
    /* erfc(z) = t Q(t) exp(-z^2), t = 1 / (1 + z/2); Q fitted on t in
     * [0.14, 1] (z <= 12.3; beyond, exp(-z^2) has underflowed anyway) */
    vfloat t = SPLAT(1.0f) / (SPLAT(1.0f) + SPLAT(0.5f) * z);
    vfloat q = SPLAT(6.272458006e-03f);
    q = q * t + SPLAT(-9.164544940e-02f);
    q = q * t + SPLAT(3.573348522e-01f);
    q = q * t + SPLAT(-5.786260366e-01f);
    q = q * t + SPLAT(3.490402699e-01f);
    q = q * t + SPLAT(-6.179298460e-02f);
    q = q * t + SPLAT(2.137681842e-01f);
    q = q * t + SPLAT(2.409698963e-01f);
    q = q * t + SPLAT(2.826025486e-01f);
    q = q * t + SPLAT(2.820762396e-01f);
    vfloat e, arg = -(z * z);                   /* e = exp(-z^2) = exp(-x^2/2) */
    v_exp(&e, &arg);
    vfloat half_erfc = SPLAT(0.5f) * t * q * e;
    /* Phi(x) = erfc(|x|/sqrt 2)/2 for x < 0, 1 - erfc(|x|/sqrt 2)/2 for x >= 0 */
    *cdf = SELECT(x < SPLAT(0.0f), half_erfc, SPLAT(1.0f) - half_erfc);
    *pdf = e * SPLAT((float)INV_SQRT_2PI);
}

/* *y = gelu(x) = x Phi(x) */
static inline void v_gelu(vfloat *y, const vfloat *xp)
{
    vfloat cdf, pdf;
    v_normal_cdf_pdf(&cdf, &pdf, xp);
    *y = *xp * cdf;
}

/* y = f(x) over n elements: whole vectors, then the tail through a
 * zero-padded vector, so that every element gets the same arithmetic.
 * (Inlined with f known, so f is inlined too.) */
static inline void map_vectors(void (*f)(vfloat *, const vfloat *), float *y, const float *x, size_t n)
{
    size_t i = 0;
    for (; i + VLEN <= n; i += VLEN) {
        vfloat v;
        memcpy(&v, x + i, sizeof v);
        f(&v, &v);
        memcpy(y + i, &v, sizeof v);
    }
    if (i < n) {
        vfloat v = SPLAT(0.0f);
        memcpy(&v, x + i, (n - i) * sizeof(float));
        f(&v, &v);
        memcpy(y + i, &v, (n - i) * sizeof(float));
    }
}

VECMATH_CLONES void vecmath_exp(real *y, const real *x, size_t n) { map_vectors(v_exp, y, x, n); }
VECMATH_CLONES void vecmath_tanh(real *y, const real *x, size_t n) { map_vectors(v_tanh, y, x, n); }
VECMATH_CLONES void vecmath_sigmoid(real *y, const real *x, size_t n) { map_vectors(v_sigmoid, y, x, n); }
VECMATH_CLONES void vecmath_gelu(real *y, const real *x, size_t n) { map_vectors(v_gelu, y, x, n); }

VECMATH_CLONES void vecmath_add(real *y, const real *x, size_t n)
{
    size_t i = 0;
    for (; i + VLEN <= n; i += VLEN) {
        vfloat a, b;
        memcpy(&a, y + i, sizeof a);
        memcpy(&b, x + i, sizeof b);
        a += b;
        memcpy(y + i, &a, sizeof a);
    }
    for (; i < n; i++) y[i] += x[i];
}

/* 4 doubles: half a vfloat's elements, widened */
typedef double vdouble __attribute__((vector_size(4 * sizeof(double))));
typedef float vfloat4 __attribute__((vector_size(4 * sizeof(float))));

VECMATH_CLONES double vecmath_sumsq(const real *x, size_t n)
{
    /* four partial sums of 4 doubles each: 16 elements per round, so four
     * independent chains of additions instead of one */
    vdouble s0 = {0}, s1 = {0}, s2 = {0}, s3 = {0};
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        vfloat4 a, b, c, d;
        memcpy(&a, x + i, sizeof a);
        memcpy(&b, x + i + 4, sizeof b);
        memcpy(&c, x + i + 8, sizeof c);
        memcpy(&d, x + i + 12, sizeof d);
        vdouble da = __builtin_convertvector(a, vdouble), db = __builtin_convertvector(b, vdouble);
        vdouble dc = __builtin_convertvector(c, vdouble), dd = __builtin_convertvector(d, vdouble);
        s0 += da * da;
        s1 += db * db;
        s2 += dc * dc;
        s3 += dd * dd;
    }
    vdouble s = (s0 + s1) + (s2 + s3);
    double sum = (s[0] + s[1]) + (s[2] + s[3]);
    for (; i < n; i++) sum += (double)x[i] * (double)x[i];
    return sum;
}

/* ---- softmax of a row ------------------------------------------------------
 * Three passes over the row, each a vector at a time: the max, then
 * e^{x - max} and its sum, then the scaling.  Sums are kept per lane and
 * added up at the end.  The tail goes through a padded vector whose extra
 * lanes cannot win the max (-FLT_MAX) or add to the sum (e^ of them is
 * masked to 0). */

/* m lanes of *v from x, the rest `fill` */
static inline __attribute__((always_inline)) void load_tail(vfloat *v, const float *x, size_t m, float fill)
{
    *v = SPLAT(fill);
    memcpy(v, x, m * sizeof(float));
}

static inline float lanes_max(const vfloat *v)
{
    float m = (*v)[0];
    for (int k = 1; k < VLEN; k++)
        if ((*v)[k] > m) m = (*v)[k];
    return m;
}

static inline float lanes_sum(const vfloat *v)
{
    float s = 0;
    for (int k = 0; k < VLEN; k++) s += (*v)[k];
    return s;
}

/* p = softmax(z), *zmax = max z, returns the sum of e^{z - max z}; inlined
 * into each version of the two public functions below */
static inline __attribute__((always_inline)) float softmax_row(float *p, const float *z, size_t n, float *zmax)
{
    size_t full = n - n % VLEN, m = n - full;
    /* max z */
    vfloat vmax = SPLAT(-3.402823466e38f), v, e;
    for (size_t i = 0; i < full; i += VLEN) {
        memcpy(&v, z + i, sizeof v);
        vmax = SELECT(v > vmax, v, vmax);
    }
    if (m) {
        load_tail(&v, z + full, m, -3.402823466e38f);
        vmax = SELECT(v > vmax, v, vmax);
    }
    float zm = lanes_max(&vmax);
    vfloat mx = SPLAT(zm);
    /* e^{z - max} and their sum */
    vfloat vsum = SPLAT(0.0f);
    for (size_t i = 0; i < full; i += VLEN) {
        memcpy(&v, z + i, sizeof v);
        v -= mx;
        v_exp(&e, &v);
        vsum += e;
        memcpy(p + i, &e, sizeof e);
    }
    if (m) {
        load_tail(&v, z + full, m, 0.0f);
        v -= mx;
        v_exp(&e, &v);
        e = SELECT(LIVE_LANES(m), e, SPLAT(0.0f));
        vsum += e;
        memcpy(p + full, &e, m * sizeof(float));
    }
    /* p = e / sum */
    float sum = lanes_sum(&vsum);
    vfloat inv = SPLAT(1.0f) / SPLAT(sum);
    for (size_t i = 0; i < full; i += VLEN) {
        memcpy(&v, p + i, sizeof v);
        v *= inv;
        memcpy(p + i, &v, sizeof v);
    }
    for (size_t i = full; i < n; i++) p[i] *= inv[0];
    *zmax = zm;
    return sum;
}

VECMATH_CLONES double vecmath_softmax_sum(real *p, const real *z, size_t n, real *zmax)
{
    return softmax_row(p, z, n, zmax);
}

VECMATH_CLONES void vecmath_softmax(real *x, size_t n)
{
    real m;
    softmax_row(x, x, n, &m);
}

VECMATH_CLONES void vecmath_softmax_backward(real *d, const real *p, size_t n)
{
    size_t full = n - n % VLEN, m = n - full;
    /* sum_j p_j d_j */
    vfloat vdot = SPLAT(0.0f), a, b;
    for (size_t i = 0; i < full; i += VLEN) {
        memcpy(&a, p + i, sizeof a);
        memcpy(&b, d + i, sizeof b);
        vdot += a * b;
    }
    if (m) {
        load_tail(&a, p + full, m, 0.0f);
        load_tail(&b, d + full, m, 0.0f);
        vdot += a * b;
    }
    vfloat dot = SPLAT(lanes_sum(&vdot));
    /* d = p (d - dot) */
    for (size_t i = 0; i < full; i += VLEN) {
        memcpy(&a, p + i, sizeof a);
        memcpy(&b, d + i, sizeof b);
        b = a * (b - dot);
        memcpy(d + i, &b, sizeof b);
    }
    for (size_t i = full; i < n; i++) d[i] = p[i] * (d[i] - dot[0]);
}

/* ---- LayerNorm of a row ----------------------------------------------------
 * The same passes as the plain loops (mean, variance about the mean, then
 * the output), a vector at a time with per-lane sums; zero padding in the
 * tail adds nothing to the sums (the variance pass masks it). */

VECMATH_CLONES void vecmath_layernorm(real *y, real *mean, real *rstd, const real *x, const real *w,
                                      const real *b, size_t C, double eps)
{
    size_t full = C - C % VLEN, m = C - full;
    vfloat v, acc = SPLAT(0.0f);
    /* mu = (1/C) sum_c x_c */
    for (size_t i = 0; i < full; i += VLEN) {
        memcpy(&v, x + i, sizeof v);
        acc += v;
    }
    if (m) {
        load_tail(&v, x + full, m, 0.0f);
        acc += v;
    }
    float mu = lanes_sum(&acc) / (float)C;
    /* var = (1/C) sum_c (x_c - mu)^2 */
    vfloat vmu = SPLAT(mu);
    acc = SPLAT(0.0f);
    for (size_t i = 0; i < full; i += VLEN) {
        memcpy(&v, x + i, sizeof v);
        v -= vmu;
        acc += v * v;
    }
    if (m) {
        load_tail(&v, x + full, m, 0.0f);
        v = SELECT(LIVE_LANES(m), v - vmu, SPLAT(0.0f));
        acc += v * v;
    }
    float s = (float)(1.0 / sqrt((double)(lanes_sum(&acc) / (float)C) + eps));
    /* y = (x - mu) rstd w + b */
    vfloat vs = SPLAT(s), vw, vb;
    for (size_t i = 0; i < full; i += VLEN) {
        memcpy(&v, x + i, sizeof v);
        memcpy(&vw, w + i, sizeof vw);
        memcpy(&vb, b + i, sizeof vb);
        v = (v - vmu) * vs * vw + vb;
        memcpy(y + i, &v, sizeof v);
    }
    for (size_t c = full; c < C; c++) y[c] = (x[c] - mu) * s * w[c] + b[c];
    *mean = mu;
    *rstd = s;
}

VECMATH_CLONES void vecmath_layernorm_backward(real *dx, real *dw, real *db, const real *dy, const real *x,
                                               const real *w, real mean, real rstd, size_t C)
{
    size_t full = C - C % VLEN;
    vfloat vmu = SPLAT(mean), vs = SPLAT(rstd), v, g, vw, xhat;
    /* mean_c(g) and mean_c(g xhat), g = dy w */
    vfloat acc_g = SPLAT(0.0f), acc_gx = SPLAT(0.0f);
    for (size_t i = 0; i < full; i += VLEN) {
        memcpy(&v, x + i, sizeof v);
        memcpy(&g, dy + i, sizeof g);
        memcpy(&vw, w + i, sizeof vw);
        xhat = (v - vmu) * vs;
        g *= vw;
        acc_g += g;
        acc_gx += g * xhat;
    }
    float g_mean = lanes_sum(&acc_g), gx_mean = lanes_sum(&acc_gx);
    for (size_t c = full; c < C; c++) {
        float xh = (x[c] - mean) * rstd, gc = dy[c] * w[c];
        g_mean += gc;
        gx_mean += gc * xh;
    }
    g_mean /= (float)C;
    gx_mean /= (float)C;
    /* dw += dy xhat, db += dy, dx += rstd (g - mean(g) - xhat mean(g xhat)) */
    vfloat vgm = SPLAT(g_mean), vgxm = SPLAT(gx_mean), d;
    for (size_t i = 0; i < full; i += VLEN) {
        memcpy(&v, x + i, sizeof v);
        memcpy(&g, dy + i, sizeof g);
        xhat = (v - vmu) * vs;
        if (dw) {
            memcpy(&d, dw + i, sizeof d);
            d += g * xhat;
            memcpy(dw + i, &d, sizeof d);
        }
        if (db) {
            memcpy(&d, db + i, sizeof d);
            d += g;
            memcpy(db + i, &d, sizeof d);
        }
        if (dx) {
            memcpy(&vw, w + i, sizeof vw);
            memcpy(&d, dx + i, sizeof d);
            d += vs * (g * vw - vgm - xhat * vgxm);
            memcpy(dx + i, &d, sizeof d);
        }
    }
    for (size_t c = full; c < C; c++) {
        float xh = (x[c] - mean) * rstd;
        if (dw) dw[c] += dy[c] * xh;
        if (db) db[c] += dy[c];
        if (dx) dx[c] += rstd * (dy[c] * w[c] - g_mean - xh * gx_mean);
    }
}

/* m <= VLEN elements of dx += dy (Phi(x) + x phi(x)), phi(x) =
 * exp(-x^2/2) / sqrt(2 pi) (add = 0: dx = ..., dx not read); the missing
 * ones are zero padding */
static inline __attribute__((always_inline)) void gelu_backward_vector(float *dx, const float *dy, const float *x,
                                                                       size_t m, int add)
{
    vfloat xv = SPLAT(0.0f), g = SPLAT(0.0f), d = SPLAT(0.0f);
    memcpy(&xv, x, m * sizeof(float));
    memcpy(&g, dy, m * sizeof(float));
    if (add) memcpy(&d, dx, m * sizeof(float));
    vfloat cdf, pdf;
    v_normal_cdf_pdf(&cdf, &pdf, &xv);
    d += g * (cdf + xv * pdf);
    memcpy(dx, &d, m * sizeof(float));
}

VECMATH_CLONES void vecmath_gelu_backward(real *dx, const real *dy, const real *x, size_t n)
{
    size_t i = 0;
    for (; i + VLEN <= n; i += VLEN) gelu_backward_vector(dx + i, dy + i, x + i, VLEN, 1);
    if (i < n) gelu_backward_vector(dx + i, dy + i, x + i, n - i, 1);
}

VECMATH_CLONES void vecmath_gelu_backward_set(real *dx, const real *dy, const real *x, size_t n)
{
    size_t i = 0;
    for (; i + VLEN <= n; i += VLEN) gelu_backward_vector(dx + i, dy + i, x + i, VLEN, 0);
    if (i < n) gelu_backward_vector(dx + i, dy + i, x + i, n - i, 0);
}

/* m <= VLEN elements of y = x Phi(x) and slope = Phi(x) + x phi(x); slope
 * may be x (x is read before either is written) */
static inline __attribute__((always_inline)) void gelu_slope_vector(float *y, float *slope, const float *x,
                                                                    size_t m)
{
    vfloat xv = SPLAT(0.0f), cdf, pdf;
    memcpy(&xv, x, m * sizeof(float));
    v_normal_cdf_pdf(&cdf, &pdf, &xv);
    vfloat yv = xv * cdf, sv = cdf + xv * pdf;
    memcpy(y, &yv, m * sizeof(float));
    memcpy(slope, &sv, m * sizeof(float));
}

VECMATH_CLONES void vecmath_gelu_slope(real *y, real *slope, const real *x, size_t n)
{
    size_t i = 0;
    for (; i + VLEN <= n; i += VLEN) gelu_slope_vector(y + i, slope + i, x + i, VLEN);
    if (i < n) gelu_slope_vector(y + i, slope + i, x + i, n - i);
}

#endif
