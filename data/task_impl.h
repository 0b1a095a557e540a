/*
 * task_impl.h — what tasks.c and corpus.c share behind data.h.  Private to
 * data/: other modules use data.h only.
 */
#ifndef SEQLAB_TASK_IMPL_H
#define SEQLAB_TASK_IMPL_H

#include <stddef.h>
#include <gsl/gsl_rng.h>

#include "data.h"

/* the longest sequence any task generates or cuts (seq_len, eval_seq_len,
 * and the lengths the synthetic tasks derive from distance) */
#define TASK_MAX_SEQ_LEN 1000000

/* what one kind of task does; every task's impl struct starts with a
 * TaskImpl so that task_batch / task_free can find its ops */
typedef struct TaskOps {
    /* fill b for split from rng (see task_batch in data.h) */
    void (*batch)(const Task *task, Batch *b, Split split, gsl_rng *rng);
    /* free task->impl (not the Task, not its tokenizer) */
    void (*free_impl)(void *impl);
} TaskOps;

typedef struct TaskImpl {
    const TaskOps *ops;
} TaskImpl;

/* the text task of corpus.c: cfg->corpus tokenised with `kind` */
Task *corpus_task_create(const TaskConfig *cfg, TokKind kind, char *err, size_t errlen);

/* task classify: a labelled file (labelled.c) */
Task *labelled_task_create(const TaskConfig *cfg, char *err, size_t errlen);
/* task listops (listops.c) */
Task *listops_task_create(const TaskConfig *cfg, char *err, size_t errlen);
/* selective copying (selective_copy.c) */
Task *selective_copy_task_create(const TaskConfig *cfg, char *err, size_t errlen);

/* a uniform integer in [0, n), n >= 1 */
size_t rng_below(gsl_rng *rng, size_t n);

/* 0, or -1 with "NAME must be between LO and HI (got V)..." in err */
int task_check_range(const char *name, long value, long lo, long hi, const char *why,
                     char *err, size_t errlen);

#endif
