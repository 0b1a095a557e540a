/*
 * listops.c — ListOps (Nangia & Bowman 2018), as the Long Range Arena
 * (Tay et al. 2021) generates it, with shorter sequences so that it fits a
 * CPU.  A task for sequence classification over long inputs: the label is
 * the value of a nested expression such as
 *
 *     [MAX 2 9 [MIN 4 7 ] 0 ]          = 9
 *     [SM 3 [MED 5 1 8 ] 7 ]           = (3 + 5 + 7) mod 10 = 5
 *
 * Operators: MIN, MAX, MED (the median; of an even count, the mean of the
 * two middle values rounded down, as numpy's median then int()), SM (sum
 * mod 10).  Operands are digits 0..9 or nested expressions; 10 classes.
 *
 * The LRA's generator: a node at depth < 10 is an operator with
 * probability 0.25 (with 2..10 operands, each a node one level deeper),
 * else a digit; the root is at depth 1; at depth 10 always a digit.  An
 * expression is kept if its length n (tokens) is within [max_len / 4,
 * max_len]; max_len is the seq_len setting (the LRA uses 500..2000).
 *
 * Tokens: each digit, each "[OP" and the closing "]" is one token (ids in
 * data.h).  The LRA's released data lost the brackets in tokenisation,
 * which left the nesting, and so the task, undetermined: here "]" is a
 * token and test_data checks it is in every expression.
 *
 * What this file is not: the model; validation is drawn from the
 * validation generator (re-seeded identically at every evaluation).
 */
#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "task_impl.h"
#include "util.h"

#define LISTOPS_MAX_DEPTH 10
#define LISTOPS_MAX_ARGS 10
#define LISTOPS_OP_PROB 0.25      /* the LRA's VALUE_P: an operator below the max depth */
/* examples drawn once (fixed seed) to estimate the majority class */
#define LISTOPS_MAJORITY_SAMPLE 2000
#define LISTOPS_MAJORITY_SEED 7UL

/* value of op over args (n) */
static int listops_apply(int op, const int *args, int n)
{
    int v = args[0], sum = 0;
    switch (op) {
    case LISTOPS_MIN:
        for (int i = 1; i < n; i++) v = args[i] < v ? args[i] : v;
        return v;
    case LISTOPS_MAX:
        for (int i = 1; i < n; i++) v = args[i] > v ? args[i] : v;
        return v;
    case LISTOPS_SM:
        for (int i = 0; i < n; i++) sum += args[i];
        return sum % 10;
    case LISTOPS_MED: {
        /* sorted copy (n <= LISTOPS_MAX_ARGS): insertion sort */
        int s[LISTOPS_MAX_ARGS];
        for (int i = 0; i < n; i++) {
            int j = i;
            while (j > 0 && s[j - 1] > args[i]) { s[j] = s[j - 1]; j--; }
            s[j] = args[i];
        }
        return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
    }
    }
    assert(0 && "not an operator");
    return 0;
}

/* Grow one node at `depth` into tokens[*n ...] (up to cap); returns its
 * value, or -1 once the expression has outgrown cap. */
static int grow(int *tokens, int *n, int cap, int depth, gsl_rng *rng)
{
    if (*n >= cap) return -1;
    int op_node = depth < LISTOPS_MAX_DEPTH && gsl_rng_uniform(rng) < LISTOPS_OP_PROB;
    if (!op_node) {
        int d = (int)rng_below(rng, LISTOPS_DIGITS);
        tokens[(*n)++] = d;
        return d;
    }
    int nargs = 2 + (int)rng_below(rng, LISTOPS_MAX_ARGS - 1);     /* 2 .. 10 */
    int op = LISTOPS_MIN + (int)rng_below(rng, 4);
    tokens[(*n)++] = op;
    int args[LISTOPS_MAX_ARGS];
    for (int i = 0; i < nargs; i++) {
        args[i] = grow(tokens, n, cap, depth + 1, rng);
        if (args[i] < 0) return -1;
    }
    if (*n >= cap) return -1;
    tokens[(*n)++] = LISTOPS_CLOSE;
    return listops_apply(op, args, nargs);
}

int listops_generate(int *tokens, int max_len, int *label, gsl_rng *rng)
{
    /* tokens (max_len) */
    assert(max_len >= 4);
    int min_len = max_len / 4 > 4 ? max_len / 4 : 4;   /* "[OP d d ]" is the shortest expression */
    for (;;) {
        int n = 0;
        int v = grow(tokens, &n, max_len, 1, rng);   /* -1: it would not fit in max_len */
        if (v < 0 || n < min_len) continue;
        *label = v;
        return n;
    }
}

/* ---- the task ------------------------------------------------------------ */

typedef struct ListopsTask {
    TaskImpl base;
} ListopsTask;

static void listops_batch(const Task *task, Batch *b, Split split, gsl_rng *rng)
{
    (void)split;
    int T = task->seq_len;
    assert(b->tokens && b->labels && b->lengths);
    b->T = T;
    for (int r = 0; r < b->B; r++) {
        int *x = b->tokens + (size_t)r * T;
        int n = listops_generate(x, T, &b->labels[r], rng);
        for (int t = n; t < T; t++) x[t] = 0;           /* padding, masked by lengths */
        b->lengths[r] = n;
    }
    for (int i = 0; i < b->B * T; i++) b->targets[i] = TARGET_IGNORE;
}

static void listops_free_impl(void *impl) { free(impl); }

static const TaskOps listops_ops = {listops_batch, listops_free_impl};

Task *listops_task_create(const TaskConfig *cfg, char *err, size_t errlen)
{
    /* the shortest max_len whose quarter still fits an expression: 16 */
    if (task_check_range("seq_len", cfg->seq_len, 16, 100000,
                         " for task 'listops' (the longest expression, in tokens)", err, errlen))
        return NULL;
    int T = cfg->seq_len;
    ListopsTask *lt = xcalloc(1, sizeof *lt);
    lt->base.ops = &listops_ops;
    Task *task = xcalloc(1, sizeof *task);
    snprintf(task->name, sizeof task->name, "%s", cfg->task);
    task->vocab_size = LISTOPS_VOCAB;
    task->output_size = LISTOPS_DIGITS;
    task->seq_len = T;
    task->eval_seq_len = T;
    task->chance_loss = log((double)LISTOPS_DIGITS);
    task->has_accuracy = 1;
    task->classify = 1;
    task->num_labels = LISTOPS_DIGITS;
    task->labels = xmalloc(LISTOPS_DIGITS * sizeof(char *));
    for (int k = 0; k < LISTOPS_DIGITS; k++) {
        char name[4];
        snprintf(name, sizeof name, "%d", k);
        task->labels[k] = xstrdup(name);
    }
    /* majority: the most frequent value in a fixed sample of expressions */
    long count[LISTOPS_DIGITS] = {0};
    int *x = xmalloc((size_t)T * sizeof(int));
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, LISTOPS_MAJORITY_SEED);
    for (int i = 0; i < LISTOPS_MAJORITY_SAMPLE; i++) {
        int label;
        listops_generate(x, T, &label, rng);
        count[label]++;
    }
    gsl_rng_free(rng);
    free(x);
    int major = 0;
    for (int k = 1; k < LISTOPS_DIGITS; k++)
        if (count[k] > count[major]) major = k;
    task->majority_accuracy = (double)count[major] / LISTOPS_MAJORITY_SAMPLE;
    task->mask_token = TASK_NO_MASK;
    task->impl = lt;
    return task;
}
