/*
 * findings.h — every course claim an experiment tests, as a measured finding.
 *
 * A claim is a sentence from the course texts ("gates keep long-term
 * memory") with a small function that measures it from what the runs wrote
 * (summary.csv and each run's metrics.csv, gradients.csv, timing.csv,
 * position_loss.csv, the attention JSON).  The function fills one Finding:
 * what was measured, the value(s), the comparison made (against chance,
 * another model, a fitted exponent, a threshold), how many seeds, and a
 * verdict computed from those numbers.  findings_write puts one row per
 * claim in runs/NAME/findings.csv; the report opens with these rows and
 * takes each figure's key sentence from the finding that names the figure.
 *
 * Adding a claim: write `static int measure_x(const Experiment *, Finding *)`
 * in findings.c and add one line {"x", "the claim", measure_x} to the table
 * findings_claims[].  An experiment lists the claims it sets out to show
 * with `claims = a, b, c` in its [experiment] section; a listed claim whose
 * runs are missing gets a row "not measured here" saying what is missing.
 * Without that key, every claim whose runs the experiment has gets a row.
 *
 * What this file is not: the figures (plot.c) or the page (report.c).
 */
#ifndef SEQLAB_FINDINGS_H
#define SEQLAB_FINDINGS_H

#include <stddef.h>

#include "plot_data.h"

typedef enum {
    VERDICT_HOLDS,          /* the numbers show the claim */
    VERDICT_FAILS,          /* measured, and they do not show it at this scale */
    VERDICT_NOT_MEASURED,   /* the experiment lacks the runs (or seeds) it needs */
} Verdict;

/* a comparison between learned results needs at least this many seeds per
 * model to say "holds" or "fails" (one seed cannot separate a difference
 * from the run-to-run spread) */
#define FINDINGS_MIN_SEEDS 2

typedef struct Finding {
    const char *claim;        /* the claim's id (findings_claims[].id) */
    char measurement[256];    /* what was measured, for people */
    char value[256];          /* the number(s) */
    char comparison[256];     /* what they were compared with */
    int seeds;                /* seeds per compared setting (the fewest) */
    Verdict verdict;
    char figure[64];          /* the figure that shows it ("" if none) */
    char sentence[512];       /* the key sentence of that figure's caption */
} Finding;

/* measure one claim on e into f (f->claim is already set).  Returns 1 when f
 * holds a row, 0 when the experiment has nothing for this claim. */
typedef int (*ClaimMeasure)(const Experiment *e, Finding *f);

typedef struct Claim {
    const char *id;           /* short name used in [experiment] claims = ... */
    const char *text;         /* the claim as the course states it */
    ClaimMeasure measure;
} Claim;

extern const Claim findings_claims[];
extern const int findings_nclaims;

/* the claim with this id, or NULL */
const Claim *findings_claim(const char *id);

/* "holds", "fails at this scale", "not measured here" */
const char *verdict_name(Verdict v);

/* measure every claim of e (those in e->claims, else every claim that
 * applies), in the table's order.  Returns the number of findings; *out is
 * xmalloc'ed (free it).  A listed id that names no claim is reported on
 * stderr and skipped. */
int findings_compute(const Experiment *e, Finding **out);

/* write exp_dir/findings.csv (claim, claim_text, measurement, value,
 * comparison, seeds, verdict, figure, sentence).  0, or -1 with err. */
int findings_write(const Experiment *e, const Finding *f, int n, char *err, size_t errlen);

/* the scaling claims (findings_scaling.c) */
int findings_measure_bigger(const Experiment *e, Finding *f);
int findings_measure_scales_best(const Experiment *e, Finding *f);
int findings_measure_more_data(const Experiment *e, Finding *f);
int findings_measure_long_context(const Experiment *e, Finding *f);
int findings_measure_lstm_budget(const Experiment *e, Finding *f);

/* the translation and encoder claims (findings_tasks.c) */
int findings_measure_transformer_translates(const Experiment *e, Finding *f);
int findings_measure_pretraining(const Experiment *e, Finding *f);
int findings_measure_listops(const Experiment *e, Finding *f);
int findings_measure_bidirectional(const Experiment *e, Finding *f);
int findings_measure_bottleneck(const Experiment *e, Finding *f);

/* timing rows at the start of a run left out as warm-up */
#define TIMING_WARMUP_ROWS 2

/* the median time per step of a run from its timing.csv (rows after the
 * first TIMING_WARMUP_ROWS; log_every = 1 makes each row one step), with
 * the quartiles in *q1 and *q3 and the number of steps in *repeats; the
 * summary's mean step_ms (q1 = q3 = it, *repeats = 1) when the file has
 * fewer than 3 such rows */
double findings_step_ms(const Experiment *e, const Run *r, double *q1, double *q3, int *repeats);

/* fit y = a x^k by least squares on log y against log x (gsl_fit_linear),
 * over the points with x > 0 and y > 0.  Returns k (NAN with fewer than two
 * such points); *r2 gets the coefficient of determination (may be NULL). */
double findings_fit_exponent(const double *x, const double *y, int n, double *r2);

/* the per-step factor r of y_k = a r^k (least squares on log y against k),
 * NAN with fewer than two positive points */
double findings_fit_rate(const double *k, const double *y, int n);

#endif
