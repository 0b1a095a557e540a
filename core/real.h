/*
 * real.h — the scalar type and the few dense-array helpers every file uses.
 *
 * `real` is float by default (training, benchmarks) and double when built
 * with -DSEQLAB_DOUBLE (`make REAL=double`), which the gradient checks use
 * to reach tight tolerances.  Matrix products go through GSL's CBLAS
 * interface (gsl/gsl_cblas.h), linked against OpenBLAS.
 *
 * What this file is not: a tensor library.  Arrays are plain `real *` with
 * their shape written in a comment next to every pointer, in memory order.
 */
#ifndef SEQLAB_REAL_H
#define SEQLAB_REAL_H

#include <stddef.h>
#include <gsl/gsl_cblas.h>

#ifdef SEQLAB_DOUBLE
typedef double real;
#define REAL_NAME "double"
#else
typedef float real;
#define REAL_NAME "float"
#endif

/* 1 in the reference build (`make REFERENCE=1`, -DSEQLAB_REFERENCE): every
 * model trains through the plain, equation-annotated loops a student reads
 * (linear_forward_ref, layernorm_forward_ref, gelu_forward_ref,
 * attention_forward_ref, the recurrent time loop on one thread ...) and
 * nothing else: no BLAS, no vector math, no blocking, no threads.  Each
 * fast function starts with `if (REFERENCE_BUILD)` and hands over to its
 * plain twin; the compiler drops whichever branch is dead. */
#ifdef SEQLAB_REFERENCE
#define REFERENCE_BUILD 1
#else
#define REFERENCE_BUILD 0
#endif

/* C = alpha * op(A) * op(B) + beta * C, row-major.  op(A) is (M,K), op(B)
 * is (K,N), C is (M,N).  trans_a / trans_b say whether A / B are stored
 * transposed.  One call site per precision, so grep finds both. */
static inline void real_gemm(int trans_a, int trans_b, int M, int N, int K,
                             real alpha, const real *A, int lda,
                             const real *B, int ldb, real beta, real *C, int ldc)
{
#ifdef SEQLAB_DOUBLE
    cblas_dgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                trans_b ? CblasTrans : CblasNoTrans, M, N, K, alpha, A, lda,
                B, ldb, beta, C, ldc);
#else
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                trans_b ? CblasTrans : CblasNoTrans, M, N, K, alpha, A, lda,
                B, ldb, beta, C, ldc);
#endif
}

/* exp and tanh in the precision of `real`: float's expf and tanhf are
 * several times faster than promoting to double and back, and exact to
 * float's last bit or two; the double build keeps exp and tanh. */
#include <math.h>
static inline real real_exp(real x)
{
#ifdef SEQLAB_DOUBLE
    return exp(x);
#else
    return expf(x);
#endif
}

static inline real real_tanh(real x)
{
#ifdef SEQLAB_DOUBLE
    return tanh(x);
#else
    return tanhf(x);
#endif
}

/* y += alpha * x, n elements */
static inline void real_axpy(size_t n, real alpha, const real *x, real *y)
{
    for (size_t i = 0; i < n; i++) y[i] += alpha * x[i];
}

/* sum of squares, accumulated in double so the float build keeps precision */
static inline double real_sumsq(size_t n, const real *x)
{
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (double)x[i] * (double)x[i];
    return s;
}

#endif
