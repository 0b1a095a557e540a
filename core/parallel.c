/*
 * parallel.c — threads per call for the batch split (see parallel.h).
 */
#define _POSIX_C_SOURCE 200809L
#include "parallel.h"

#include <assert.h>
#include <limits.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "vecmath.h"

/* OpenBLAS's own thread controls (its cblas.h clashes with GSL's) */
extern int openblas_get_num_threads(void);
extern void openblas_set_num_threads(int num_threads);
/* Stops OpenBLAS's worker threads; the next threaded product starts them
 * again.  OpenBLAS calls it itself before fork().  Weak: with another BLAS
 * it is absent (NULL) and simply not called. */
extern int blas_thread_shutdown_(void) __attribute__((weak));

int parallel_threads(void)
{
    int n = openblas_get_num_threads();
    return n < 1 ? 1 : n;
}

int parallel_cores(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : (int)n;
}

typedef struct Job {
    void (*fn)(void *arg, int part);
    void *arg;
    int part;
} Job;

static void *job_thread(void *p)
{
    Job *job = p;
    job->fn(job->arg, job->part);
    return NULL;
}

void parallel_run(int parts, void (*fn)(void *arg, int part), void *arg)
{
    assert(parts >= 1 && parts <= PARALLEL_MAX_PARTS);
    if (parts == 1) {
        fn(arg, 0);
        return;
    }
    Job jobs[PARALLEL_MAX_PARTS];
    pthread_t threads[PARALLEL_MAX_PARTS];
    int started[PARALLEL_MAX_PARTS] = {0};
    int blas_threads = openblas_get_num_threads();
    openblas_set_num_threads(1);
    /* After each threaded product OpenBLAS's idle workers busy-wait for more
     * work (for ~2^28 cycles, OPENBLAS_THREAD_TIMEOUT), which would take the
     * cores from our threads: two pools spinning against each other.
     * Measured on 2 idle cores, w1 LSTM: 194 ms per step with them spinning,
     * 160 ms with the spin cut short.  So stop them for the split. */
    if (blas_threads > 1 && blas_thread_shutdown_) blas_thread_shutdown_();
    for (int p = 1; p < parts; p++) {
        jobs[p] = (Job){fn, arg, p};
        started[p] = pthread_create(&threads[p], NULL, job_thread, &jobs[p]) == 0;
    }
    fn(arg, 0);
    /* a part whose thread could not be started runs here, after ours */
    for (int p = 1; p < parts; p++)
        if (!started[p]) fn(arg, p);
    for (int p = 1; p < parts; p++)
        if (started[p]) pthread_join(threads[p], NULL);
    openblas_set_num_threads(blas_threads);
}

int parallel_parts(int asked, int B, long rows, int sized)
{
    if (REFERENCE_BUILD) return 1;
    int parts = asked > 0 ? asked : parallel_threads();
    long by_rows = rows / PARALLEL_MIN_ROWS;
    if (asked <= 0 && parts > by_rows) parts = (int)by_rows;
    if (parts > sized) parts = sized;
    if (parts > B) parts = B;
    return parts < 1 ? 1 : parts;
}

/* one join: the buffer's slice p on thread p */
typedef struct Join {
    real *grad, *priv;
    size_t len;
    int parts;
} Join;

static void join_slice(void *arg, int p)
{
    const Join *j = arg;
    int lo, hi;
    assert(j->len <= INT_MAX);
    parallel_span((int)j->len, j->parts, p, &lo, &hi);
    for (int s = 1; s < j->parts; s++) {
        real *priv = j->priv + (size_t)(s - 1) * j->len;
        vecmath_add(j->grad + lo, priv + lo, (size_t)(hi - lo));
        memset(priv + lo, 0, (size_t)(hi - lo) * sizeof(real));
    }
}

void parallel_join(real *grad, real *priv, size_t len, int parts)
{
    if (parts <= 1) return;
    Join j = {grad, priv, len, parts};
    parallel_run(parts, join_slice, &j);
}
