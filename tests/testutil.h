/*
 * testutil.h — helpers shared by the Check suites: closeness assertions and
 * central-difference gradient checks.
 */
#ifndef SEQLAB_TESTUTIL_H
#define SEQLAB_TESTUTIL_H

#include <check.h>
#include <stddef.h>

#include "model.h"
#include "real.h"

/* Finite differences use the 4-point stencil
 *   f'(x) ~ (-f(x+2h) + 8 f(x+h) - 8 f(x-h) + f(x-2h)) / (12 h)
 * whose truncation error is O(h^4) and round-off ~ eps |f| / h.  With
 * h = 1e-3 in double both are ~1e-13 (h = 1e-4 made round-off ~1e-12,
 * which on a gradient of ~1e-6 — common in stacked recurrent layers — is
 * already a relative error of 1e-6 against GRADCHECK_FLOOR). */
#define GRADCHECK_STEP 1e-3
/* relative error is |a - n| / max(|a|, |n|, GRADCHECK_FLOOR): gradients
 * smaller than the floor are compared in absolute terms, since their
 * relative error is dominated by round-off (~1e-12 absolute). */
#define GRADCHECK_FLOOR 1e-6
/* the issues' bar for every gradient check (double build) */
#define GRADCHECK_TOL 1e-6

/* first index i with |a[i] - e[i]| > atol + rtol |e[i]|, or -1; fails the
 * running Check test with the index and both values */
#define assert_allclose(actual, expected, n, rtol, atol) \
    assert_allclose_at((actual), (expected), (n), (rtol), (atol), #actual, __FILE__, __LINE__)
void assert_allclose_at(const real *actual, const real *expected, size_t n, double rtol,
                        double atol, const char *what, const char *file, int line);

double rel_error(double analytic, double numeric);

typedef struct GradCheck {
    double worst;          /* largest relative error */
    char where[96];        /* "name[index]" of the worst entry */
    double analytic, numeric;
    size_t checked;
} GradCheck;

/* every parameter of m against finite differences of model_forward on batch
 * (m must have activations allocated; params are restored afterwards).
 * max_per_tensor > 0 samples that many entries per tensor, spread evenly. */
GradCheck gradcheck_model(Model *m, const Batch *batch, size_t max_per_tensor);

/* the body's input gradient dx against finite differences of
 * L = sum(y * R), R a fixed random (B,T,H) tensor */
GradCheck gradcheck_body_input(Model *m, int B, int T, unsigned long seed);
/* the same with rows of lengths (B) real tokens (NULL: all T) */
GradCheck gradcheck_body_input_lengths(Model *m, int B, int T, const int *lengths,
                                       unsigned long seed);

/* the same model, made with a seeded rng, for tests */
Model *test_model(const ModelConfig *cfg, int B, int T, unsigned long seed);
/* a token batch with seeded random tokens and targets (some ignored) */
Batch *test_token_batch(int B, int T, int V, int O, unsigned long seed);

/* run a suite, print Check's summary, return the process exit status */
int run_suite(Suite *s);

#endif
