/*
 * runner.h — an experiment: a question, fixed settings and a grid of runs.
 *
 * An experiment file (experiments/NAME.ini):
 *
 *   [experiment]            name, question, description (shown in the report);
 *                           claims = a, b, c: the course claims it tests
 *                           (findings.h), each reported in findings.csv
 *   [train]                 settings every run shares
 *   [train.MODEL]           settings for one model only (e.g. matched sizes)
 *   [grid] or [grid.GROUP]  one group of runs each: a key with one value is
 *                           fixed for the group, a key with "a, b, c" is an
 *                           axis; the group's runs are the product of its axes
 *   [attention]             sentences = A | B, or sentence1 = A, sentence2 = B:
 *                           attention heatmaps of the first Transformer run
 *
 * The whole grid is expanded and every run's settings are checked before
 * the first run starts.
 */
#ifndef SEQLAB_RUNNER_H
#define SEQLAB_RUNNER_H

#include "config.h"

#define RUN_NAME_MAX 200

/* an experiment expands to at most this many runs (checked before any
 * memory is asked for: six axes of 64 values would be 2^36) */
#define PLAN_MAX_RUNS 10000

typedef struct GridRun {
    char name[RUN_NAME_MAX];   /* directory under runs/NAME/ */
    char group[64];
    Settings s;                /* resolved settings, out = runs/NAME/<name> */
} GridRun;

typedef struct ExpPlan {
    char path[SETTING_STR_MAX];
    char name[64];
    char question[1024];
    char description[2048];
    char claims[1024];         /* the course claims it tests (findings.h), comma-separated */
    char sentences[4096];      /* [attention] sentences, '|' separated */
    char runs_dir[256];        /* runs/NAME */
    Settings base;             /* the file's [train] */
    GridRun *runs;
    int nruns;
} ExpPlan;

/* parse and expand; NULL + err (file:line) on any problem in any run */
ExpPlan *plan_load(const char *path, const char *runs_root, char *err, size_t errlen);
void plan_free(ExpPlan *e);

/* the command that trains run i alone, one line a POSIX shell splits back
 * into exactly these arguments: `seqlab train --config FILE` and, as
 * --key VALUE words (shell_quote), the settings that differ from the
 * file's [train].  malloc'd. */
char *plan_command(const ExpPlan *e, int i);

#endif
