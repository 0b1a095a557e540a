/*
 * bench.c — `seqlab bench`: how fast each model trains, how much memory it
 * holds, and how that compares with PyTorch on the same machine.
 *
 * For each configuration (model, threads, B, T) the benchmark builds the
 * model, takes a few warm-up training steps and then at least nine timed
 * ones on random tokens — the trainer's step exactly: zero the gradients,
 * forward, backward, clip the global norm, Adam — and reports
 *
 *   tokens/s (median and best), step time (median, min, max), the median
 *   forward / backward / optimizer times, the peak resident memory of the
 *   process (getrusage), the model's own activation and parameter bytes,
 *   the achieved GFLOP/s from the model's FLOP count, and how many
 *   allocations the timed steps made (the design says none).
 *
 * Every configuration runs in a child process of its own (fork), so its
 * peak memory is its own and not the largest of everything run before.
 *
 * Configurations: "w1" is vocabulary 256, B = 32, T = 128; RNN, LSTM and
 * GRU with E = H = 256 and one layer; the Transformer with C = 256, 4
 * heads, 2 layers, FFN 1024 and learned positions; 1 and 2 threads.  The
 * sweep is B = 8, T = 32, 64, ..., 1024 with 2 threads.  The "limits" suite
 * measures where two of the course's claims stop holding, 2 threads each:
 * the Transformer with naive and with online attention (B = 1, T = 512 ...
 * 8192: peak memory O(T^2) against O(T)), and the GRU against minGRU,
 * whose recurrence is a scan (B = 8, T = 64 ... 8192: time per step) — its
 * default scan in chunks over the threads, and the one-step loop and
 * Blelloch's tree on one thread, to separate what the scan's parallelism
 * buys from what the lighter model saves.
 *
 * The "s2s" rows are the encoder–decoders (architecture = encoder-decoder):
 * MODEL-s2s, and for the recurrent models MODEL-s2s-att with additive
 * attention, at B = 32, source and target length S = T = 32, the same
 * widths, 1 and 2 threads; tokens/s counts target tokens.
 *
 * FLOPs of one training step = 3 x (the body's forward FLOPs (BodyOps.flops)
 * + the head's 2 N H V): the backward of a product costs two products.
 *
 * --compare runs bench/torch_bench.py (the same models in PyTorch, the same
 * configurations, PyTorch's best settings) and prints the ratios side by
 * side; with --rounds R the two alternate R times, each keeps its best
 * median, and the spread of each side's round medians is printed beside
 * the ratio.  What this file is
 * not: the trainer (core/train.c), whose step it repeats without the data,
 * logging and checkpoints around it.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <gsl/gsl_rng.h>
#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>

#include "commands.h"
#include "encdec.h"
#include "mingru/mingru.h"
#include "model.h"
#include "optim.h"
#include "real.h"
#include "registry.h"
#include "util.h"

/* OpenBLAS's own controls (its cblas.h clashes with GSL's, see core/train.c) */
extern void openblas_set_num_threads(int num_threads);
extern char *openblas_get_config(void);

#define BENCH_VOCAB 256
#define BENCH_WIDTH 256          /* E = H for the recurrent models, C for the Transformer */
#define BENCH_HEADS 4
#define BENCH_TF_LAYERS 2
#define BENCH_FFN 1024
#define BENCH_W1_B 32
#define BENCH_W1_T 128
#define BENCH_SWEEP_B 8
#define BENCH_SWEEP_T0 32
#define BENCH_SWEEP_TMAX 1024
#define BENCH_SWEEP_THREADS 2
#define BENCH_S2S_B 32
#define BENCH_S2S_T 32           /* source and target length */
#define S2S_SUFFIX "-s2s"        /* an encoder-decoder row: MODEL-s2s[-att] */
#define S2S_ATTENTION "-att"
#define BENCH_LIMITS_THREADS 2
#define BENCH_ATTN_B 1           /* limits: naive vs online attention */
#define BENCH_ATTN_T0 512
#define BENCH_ATTN_TMAX 8192
#define BENCH_SCAN_B 8           /* limits: GRU vs minGRU */
#define BENCH_SCAN_T0 64
#define BENCH_SCAN_TMAX 8192
#define BENCH_MANY_CORES 64      /* the critical path on a bigger machine, for comparison */
#define BENCH_LR 1e-3
#define BENCH_CLIP 1.0
#define BENCH_WARMUP 3
#define BENCH_STEPS 9            /* the issue asks for at least nine timed steps */
#define BENCH_MAX_STEPS 1000
#define BENCH_MAX_CONFIGS 256
#define SGEMM_SIZE 512           /* the reference rate: a 512x512x512 sgemm */
#define SGEMM_REPS 20
#define TORCH_SCRIPT "bench/torch_bench.py"
#define TORCH_PYTHON "/usr/bin/python3"
#define TORCH_MISSING_STATUS 3   /* torch_bench.py's exit status when PyTorch is absent */
#define TORCH_NO_COUNTERPART 4   /* ... and when it builds no such model (the scan models) */


typedef struct BenchConfig {
    char model[16];
    char variant[12];            /* "" or the Transformer's attention_impl, or the scan
                                  * minGRU runs ("sequential", "blelloch"; "" = chunked) */
    int threads, B, T;
} BenchConfig;

/* one configuration's measurements (seqlab's or PyTorch's) */
typedef struct BenchResult {
    int ok;                       /* 0: the run failed (message printed by the child) */
    double params;                /* parameter count */
    double tok_med, tok_best;     /* tokens per second */
    double step_med, step_min, step_max;   /* ms */
    double fwd_med, bwd_med, opt_med;      /* ms */
    double rss_mb;                /* peak resident memory of the process */
    double act_mb, param_mb;      /* the model's own bytes (param_mb: values, grads, Adam moments) */
    double gflop_step;            /* FLOPs of one training step / 1e9 */
    double allocs;                /* allocations during the timed steps */
    /* across the rounds (--rounds): the slowest and fastest round's median
     * tokens/s, and how many rounds gave a result */
    double tok_round_lo, tok_round_hi;
    int rounds;
} BenchResult;

typedef struct BenchOptions {
    int warmup, steps, rounds;
    unsigned long seed;
    const char *csv, *python, *script;
    int compare;
} BenchOptions;

/* ---- the sgemm reference rate ---------------------------------------------- */

/* GFLOP/s of the best of SGEMM_REPS products C = A B, n x n, with `threads` */
static double sgemm_rate(int n, int threads)
{
    openblas_set_num_threads(threads);
    size_t nn = (size_t)n * n;
    float *A = xmalloc(nn * sizeof(float)), *Bm = xmalloc(nn * sizeof(float)), *C = xmalloc(nn * sizeof(float));
    for (size_t i = 0; i < nn; i++) {
        A[i] = (float)((i * 7919) % 1000) / 1000.0f - 0.5f;
        Bm[i] = (float)((i * 104729) % 1000) / 1000.0f - 0.5f;
    }
    double best = INFINITY;
    for (int r = 0; r < SGEMM_REPS + 3; r++) {
        double t0 = now_seconds();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, A, n, Bm, n, 0.0f, C, n);
        double dt = now_seconds() - t0;
        if (r >= 3 && dt < best) best = dt;   /* the first products warm the pool up */
    }
    free(A);
    free(Bm);
    free(C);
    return 2.0 * n * (double)n * n / best / 1e9;
}

/* ---- one configuration ------------------------------------------------------ */

/* the registered model of a row's name (MODEL, or MODEL-s2s[-att]) */
static void base_model(const char *row, char *out, size_t n)
{
    snprintf(out, n, "%.*s", (int)strcspn(row, "-"), row);
}

/* The encoder family's rows: a model name with a suffix, "transformer-enc"
 * (the Transformer without its causal mask) or "lstm-bi" (any recurrent
 * model, both directions).  Splits name into the registry's model in base
 * (size 16) and the variant; NULL if the name is neither a model nor a
 * variant of one. */
#define BENCH_ENCODER_SUFFIX "-enc"
#define BENCH_BIDIRECTIONAL_SUFFIX "-bi"
static const ModelInfo *bench_variant(const char *name, char *base, int *encoder, int *bidirectional)
{
    snprintf(base, 16, "%s", name);
    *encoder = *bidirectional = 0;
    char *dash = strrchr(base, '-');
    if (dash && strcmp(dash, BENCH_ENCODER_SUFFIX) == 0) *encoder = 1;
    else if (dash && strcmp(dash, BENCH_BIDIRECTIONAL_SUFFIX) == 0) *bidirectional = 1;
    if (*encoder || *bidirectional) *dash = '\0';
    const ModelInfo *info = model_info_find(base);
    if (!info || (*encoder && !info->attention) || (*bidirectional && !info->recurrent)) return NULL;
    return info;
}

static ModelConfig bench_model_config(const BenchConfig *c)
{
    ModelConfig mc;
    memset(&mc, 0, sizeof mc);
    char base[16];
    int encoder = 0, bidirectional = 0;
    const ModelInfo *info;
    if (strstr(c->model, S2S_SUFFIX)) {
        /* an encoder-decoder row: MODEL-s2s[-att] */
        base_model(c->model, base, sizeof base);
        info = model_info_find(base);
        mc.architecture = ARCH_ENCODER_DECODER;
        mc.attention = strstr(c->model, S2S_ATTENTION) ? ATTENTION_ADDITIVE : ATTENTION_NONE;
    } else {
        info = bench_variant(c->model, base, &encoder, &bidirectional);
        /* an encoder's step is the same work as its MLM step with every position scored */
        mc.architecture = encoder || bidirectional ? ARCH_ENCODER : ARCH_DECODER;
        mc.bidirectional = bidirectional;
    }
    snprintf(mc.kind, sizeof mc.kind, "%s", base);
    mc.vocab_size = BENCH_VOCAB;
    mc.output_size = BENCH_VOCAB;
    mc.embed_dim = BENCH_WIDTH;
    mc.hidden_size = BENCH_WIDTH;
    mc.forget_bias = 1.0;
    mc.init_scale = 1.0;
    mc.num_layers = info->attention ? BENCH_TF_LAYERS : 1;
    if (info->attention) {
        mc.num_heads = BENCH_HEADS;
        mc.ffn_size = BENCH_FFN;
        mc.attention_impl = strcmp(c->variant, "online") == 0 ? ATTENTION_IMPL_ONLINE : ATTENTION_IMPL_NAIVE;
    }
    if (info->position_table) {
        mc.max_seq_len = c->T;
        mc.positions = POSITIONS_LEARNED;
    }
    return mc;
}

/* random tokens, and as targets the next token of the same random stream */
static void random_batch(Batch *b, gsl_rng *rng)
{
    for (int r = 0; r < b->B; r++) {
        int *tok = b->tokens + (size_t)r * b->T, *tgt = b->targets + (size_t)r * b->T;
        int next = (int)gsl_rng_uniform_int(rng, BENCH_VOCAB);
        for (int t = 0; t < b->T; t++) {
            tok[t] = next;
            next = (int)gsl_rng_uniform_int(rng, BENCH_VOCAB);
            tgt[t] = next;
        }
    }
}

/* pairs: random sources (B,S = T) of full length, random targets */
static void random_pairs(Batch *b, gsl_rng *rng)
{
    for (int i = 0; i < b->B * b->S; i++) b->src_tokens[i] = (int)gsl_rng_uniform_int(rng, BENCH_VOCAB);
    for (int r = 0; r < b->B; r++) {
        b->src_lengths[r] = b->S;
        b->lengths[r] = b->T;
    }
    for (int i = 0; i < b->B * b->T; i++) {
        b->tokens[i] = (int)gsl_rng_uniform_int(rng, BENCH_VOCAB);
        b->targets[i] = (int)gsl_rng_uniform_int(rng, BENCH_VOCAB);
    }
}

static double median(double *x, int n)
{
    gsl_sort(x, 1, (size_t)n);
    return gsl_stats_median_from_sorted_data(x, 1, (size_t)n);
}

static double peak_rss(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_maxrss / 1024.0;
}

/* build, warm up, time: the trainer's step, `o->steps` times */
static BenchResult bench_run(const BenchConfig *c, const BenchOptions *o)
{
    BenchResult r;
    memset(&r, 0, sizeof r);
    openblas_set_num_threads(c->threads);
    ModelConfig mc = bench_model_config(c);
    Model *m = model_create(&mc);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, o->seed);
    model_init(m, rng);
    int encdec = mc.architecture == ARCH_ENCODER_DECODER;
    if (encdec) model_alloc_acts_pairs(m, c->B, c->T, c->T);
    else model_alloc_acts(m, c->B, c->T);
    if (strcmp(c->variant, "sequential") == 0) mingru_set_scan(m->body, SCAN_SEQUENTIAL, 1);
    if (strcmp(c->variant, "blelloch") == 0) mingru_set_scan(m->body, SCAN_BLELLOCH, 1);
    Optimizer *opt = optim_alloc(OPTIM_ADAM, m->params.total, 0, 0);
    Batch *batch = encdec ? batch_alloc_pairs(c->B, c->T, c->T) : batch_alloc(c->B, c->T, 0, 0);
    int n = o->steps;
    double *step = xcalloc((size_t)n, sizeof(double)), *fwd = xcalloc((size_t)n, sizeof(double));
    double *bwd = xcalloc((size_t)n, sizeof(double)), *upd = xcalloc((size_t)n, sizeof(double));
    size_t allocs = 0;
    for (int s = 0; s < o->warmup + n; s++) {
        if (encdec) random_pairs(batch, rng);
        else random_batch(batch, rng);
        size_t a0 = util_alloc_count();
        double t0 = now_seconds();
        params_zero_grad(&m->params);
        double t1 = now_seconds();
        double loss = model_forward(m, batch);
        double t2 = now_seconds();
        model_backward(m, batch);
        double t3 = now_seconds();
        grad_clip(m->params.grad, m->params.total, BENCH_CLIP);
        optim_step(opt, m->params.value, m->params.grad, BENCH_LR);
        double t4 = now_seconds();
        if (!isfinite(loss)) {
            fprintf(stderr, "seqlab bench: %s: the loss is %g at step %d\n", c->model, loss, s + 1);
            return r;
        }
        if (s < o->warmup) continue;
        int k = s - o->warmup;
        allocs += util_alloc_count() - a0;
        step[k] = 1e3 * (t4 - t0);
        fwd[k] = 1e3 * (t2 - t1);
        bwd[k] = 1e3 * (t3 - t2);
        upd[k] = 1e3 * ((t4 - t3) + (t1 - t0));   /* zeroing, clipping and Adam */
    }
    double tokens = (double)c->B * c->T;
    r.step_min = gsl_stats_min(step, 1, (size_t)n);
    r.step_max = gsl_stats_max(step, 1, (size_t)n);
    r.step_med = median(step, n);
    r.fwd_med = median(fwd, n);
    r.bwd_med = median(bwd, n);
    r.opt_med = median(upd, n);
    r.tok_med = tokens / (r.step_med / 1e3);
    r.tok_best = tokens / (r.step_min / 1e3);
    r.params = (double)m->params.total;
    r.param_mb = 4.0 * (double)m->params.total * sizeof(real) / 1048576.0;
    r.act_mb = (double)model_act_bytes(m) / 1048576.0;
    double N = tokens;
    /* an encoder-decoder's flops include its head */
    r.gflop_step = 3 * (encdec ? m->encdec_ops->flops(m->encdec, c->B, c->T, c->T)
                               : m->body_ops->flops(m->body, c->B, c->T) + 2 * N * m->H * mc.output_size) / 1e9;
    r.allocs = (double)allocs;
    r.rss_mb = peak_rss();
    r.ok = 1;
    free(step);
    free(fwd);
    free(bwd);
    free(upd);
    batch_free(batch);
    optim_free(opt);
    gsl_rng_free(rng);
    model_free(m);
    return r;
}

/* bench_run in a child process, so that getrusage's peak is this
 * configuration's alone; the result comes back through a pipe */
static BenchResult bench_run_isolated(const BenchConfig *c, const BenchOptions *o)
{
    BenchResult r;
    memset(&r, 0, sizeof r);
    int fd[2];
    fflush(NULL);
    if (pipe(fd) != 0) return bench_run(c, o);
    pid_t pid = fork();
    if (pid < 0) {
        close(fd[0]);
        close(fd[1]);
        return bench_run(c, o);
    }
    if (pid == 0) {
        close(fd[0]);
        BenchResult mine = bench_run(c, o);
        ssize_t w = write(fd[1], &mine, sizeof mine);
        _exit(w == (ssize_t)sizeof mine ? 0 : 1);
    }
    close(fd[1]);
    ssize_t got = 0;
    while (got < (ssize_t)sizeof r) {
        ssize_t k = read(fd[0], (char *)&r + got, sizeof r - (size_t)got);
        if (k <= 0) break;
        got += k;
    }
    close(fd[0]);
    int status;
    waitpid(pid, &status, 0);
    if (got != (ssize_t)sizeof r || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "seqlab bench: %s threads=%d B=%d T=%d: the benchmark process failed%s\n", c->model,
                c->threads, c->B, c->T, WIFSIGNALED(status) ? " (killed by a signal: out of memory?)" : "");
        memset(&r, 0, sizeof r);
    }
    return r;
}

/* ---- PyTorch -------------------------------------------------------------------- */

/* value of column `name` in a CSV row split into fields, NAN if absent/empty */
static double csv_number(char **hdr, char **row, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (strcmp(hdr[i], name) == 0) return row[i][0] ? strtod(row[i], NULL) : NAN;
    return NAN;
}

static int csv_split(char *line, char **fields, int max)
{
    int n = 0;
    line[strcspn(line, "\r\n")] = '\0';
    for (char *p = line; n < max;) {
        fields[n++] = p;
        char *comma = strchr(p, ',');
        if (!comma) break;
        *comma = '\0';
        p = comma + 1;
    }
    return n;
}

#define CSV_MAX_FIELDS 32

/* PyTorch's result for one configuration, from torch_bench.py.  Returns 0,
 * TORCH_NO_COUNTERPART if the script builds no such model (it says so; the
 * caller asks no more about that model), TORCH_MISSING_STATUS if PyTorch is absent, or -1 (message
 * printed). */
static int torch_run(const BenchConfig *c, const BenchOptions *o, BenchResult *r)
{
    memset(r, 0, sizeof *r);
    if (access(o->python, X_OK) != 0) {
        printf("PyTorch comparison skipped: no Python interpreter at %s (--python)\n", o->python);
        return -1;
    }
    if (access(o->script, R_OK) != 0) {
        printf("PyTorch comparison skipped: %s not found (run from the repository root, or --torch-script)\n",
               o->script);
        return -1;
    }
    size_t len = 256 + strlen(o->python) + strlen(o->script);
    char *cmd = xmalloc(len);
    snprintf(cmd, len, "'%s' '%s' --warmup %d --steps %d --seed %lu --configs %s:%d:%d:%d", o->python, o->script,
             o->warmup, o->steps, o->seed, c->model, c->threads, c->B, c->T);
    fflush(NULL);
    FILE *p = popen(cmd, "r");
    free(cmd);
    if (!p) {
        printf("PyTorch comparison skipped: cannot run %s: %s\n", o->python, strerror(errno));
        return -1;
    }
    char line[4096], hdr_line[4096];
    char *hdr[CSV_MAX_FIELDS], *row[CSV_MAX_FIELDS];
    int nh = 0;
    while (fgets(line, sizeof line, p)) {
        if (nh == 0) {
            snprintf(hdr_line, sizeof hdr_line, "%s", line);
            nh = csv_split(hdr_line, hdr, CSV_MAX_FIELDS);
            continue;
        }
        if (csv_split(line, row, CSV_MAX_FIELDS) != nh) continue;
        if ((int)csv_number(hdr, row, nh, "threads") != c->threads || (int)csv_number(hdr, row, nh, "B") != c->B ||
            (int)csv_number(hdr, row, nh, "T") != c->T)
            continue;
        r->params = csv_number(hdr, row, nh, "params");
        r->tok_med = csv_number(hdr, row, nh, "tokens_per_s_median");
        r->tok_best = csv_number(hdr, row, nh, "tokens_per_s_best");
        r->step_med = csv_number(hdr, row, nh, "step_ms_median");
        r->step_min = csv_number(hdr, row, nh, "step_ms_min");
        r->step_max = csv_number(hdr, row, nh, "step_ms_max");
        r->fwd_med = csv_number(hdr, row, nh, "forward_ms");
        r->bwd_med = csv_number(hdr, row, nh, "backward_ms");
        r->opt_med = csv_number(hdr, row, nh, "optimizer_ms");
        r->rss_mb = csv_number(hdr, row, nh, "peak_rss_mb");
        r->act_mb = NAN;   /* PyTorch's autograd graph has no single number for this */
        r->param_mb = csv_number(hdr, row, nh, "param_mb");
        r->allocs = NAN;
        r->ok = isfinite(r->tok_med);
    }
    int status = pclose(p);
    if (WIFEXITED(status) && WEXITSTATUS(status) == TORCH_MISSING_STATUS) {
        printf("PyTorch comparison skipped: PyTorch is not installed for %s (Debian: apt-get install python3-torch)\n",
               o->python);
        return TORCH_MISSING_STATUS;
    }
    if (!r->ok && WIFEXITED(status) && WEXITSTATUS(status) == TORCH_NO_COUNTERPART)
        return TORCH_NO_COUNTERPART;
    if (!r->ok)
        printf("PyTorch: %s threads=%d B=%d T=%d gave no result (exit status %d)\n", c->model, c->threads, c->B,
               c->T, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    return 0;
}

/* ---- rounds --------------------------------------------------------------------- */

/* one more round's result r into *kept: the round with the best (lowest)
 * median step time is kept, and the spread of the round medians grows */
static void keep_round(BenchResult *kept, const BenchResult *r)
{
    if (!r->ok) return;
    double lo = kept->ok ? fmin(kept->tok_round_lo, r->tok_med) : r->tok_med;
    double hi = kept->ok ? fmax(kept->tok_round_hi, r->tok_med) : r->tok_med;
    int rounds = kept->ok ? kept->rounds + 1 : 1;
    if (!kept->ok || r->step_med < kept->step_med) *kept = *r;
    kept->tok_round_lo = lo;
    kept->tok_round_hi = hi;
    kept->rounds = rounds;
}

/* the spread of a side's round medians: (fastest - slowest) / fastest, in
 * percent, printed as "12%" ("-" for a single round) into buf */
static const char *round_spread(char *buf, size_t n, const BenchResult *r)
{
    if (r->rounds < 2) snprintf(buf, n, "-");
    else snprintf(buf, n, "%.0f%%", 100 * (r->tok_round_hi - r->tok_round_lo) / r->tok_round_hi);
    return buf;
}

/* ---- output --------------------------------------------------------------------- */

static double loadavg(void)
{
    double l = NAN;
    FILE *f = fopen("/proc/loadavg", "r");
    if (f) {
        if (fscanf(f, "%lf", &l) != 1) l = NAN;
        fclose(f);
    }
    return l;
}

/* how many cores other work keeps busy right now: the machine's busy
 * time over half a second (/proc/stat's first line: user nice system idle
 * iowait irq softirq steal), while this process sleeps.  NAN where
 * /proc/stat cannot be read.  Unlike the load average, which still counts
 * a job that ended a minute ago, this is what the timings will share. */
static double busy_cores_now(void)
{
    double busy[2], total[2];
    for (int k = 0; k < 2; k++) {
        unsigned long long v[8] = {0};
        FILE *f = fopen("/proc/stat", "r");
        int n = f ? fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2],
                           &v[3], &v[4], &v[5], &v[6], &v[7])
                  : 0;
        if (f) fclose(f);
        if (n < 5) return NAN;
        total[k] = busy[k] = 0;
        for (int i = 0; i < 8; i++) total[k] += (double)v[i];
        busy[k] = total[k] - (double)v[3] - (double)v[4];   /* all but idle and iowait */
        if (k == 0) nanosleep(&(struct timespec){0, 500000000L}, NULL);
    }
    if (total[1] <= total[0]) return NAN;
    return (busy[1] - busy[0]) / (total[1] - total[0]) * (double)sysconf(_SC_NPROCESSORS_ONLN);
}

static void print_header(void)
{
    printf("%-23s %3s %3s %5s %9s %9s %8s %8s %8s %7s %7s %7s %7s %6s %7s %7s %7s %6s\n", "impl/model", "thr",
           "B", "T", "tok/s", "best", "step ms", "min", "max", "fwd", "bwd", "opt", "GFLOP/s", "%sgemm",
           "RSS MB", "act MB", "par MB", "allocs");
}

static void print_row(const char *impl, const BenchConfig *c, const BenchResult *r, double sgemm)
{
    char name[48];
    snprintf(name, sizeof name, "%s%s%s%s%s", impl, *impl ? "/" : "", c->model, *c->variant ? ":" : "",
             c->variant);
    if (!r->ok) {
        printf("%-23s %3d %3d %5d   (failed)\n", name, c->threads, c->B, c->T);
        return;
    }
    double gf = r->gflop_step / (r->step_med / 1e3);
    printf("%-23s %3d %3d %5d %9.0f %9.0f %8.1f %8.1f %8.1f %7.1f %7.1f %7.1f %7.1f %5.0f%% %7.0f %7.1f %7.1f %6.0f\n",
           name, c->threads, c->B, c->T, r->tok_med, r->tok_best, r->step_med, r->step_min, r->step_max, r->fwd_med,
           r->bwd_med, r->opt_med, gf, 100 * gf / sgemm, r->rss_mb, r->act_mb, r->param_mb, r->allocs);
}

static void csv_row(FILE *f, const char *impl, const BenchConfig *c, const BenchResult *r, double sgemm, double load)
{
    double gf = r->gflop_step / (r->step_med / 1e3);
    csv_field(f, impl);
    fputc(',', f);
    csv_field(f, c->model);
    fputc(',', f);
    csv_field(f, c->variant);
    fprintf(f, ",%d,%d,%d,%.0f,%.1f,%.1f,%.3f,%.3f,%.3f,%.3f,%.3f,%.3f,%.1f,", c->threads, c->B, c->T, r->params, r->tok_med, r->tok_best, r->step_med, r->step_min, r->step_max, r->fwd_med, r->bwd_med,
            r->opt_med, r->rss_mb);
    if (isfinite(r->act_mb)) fprintf(f, "%.2f", r->act_mb);
    fprintf(f, ",%.2f,%.4f,%.2f,%.1f,%.3f,", r->param_mb, r->gflop_step, gf, sgemm, gf / sgemm);
    if (isfinite(r->allocs)) fprintf(f, "%.0f", r->allocs);
    fprintf(f, ",%.2f,%d,%.1f,%.1f\n", load, r->rounds, r->tok_round_lo, r->tok_round_hi);
}

/* the comparison: each side's best round median, the spread of its round
 * medians beside it, and the ratio of the two best medians; a row without
 * a PyTorch counterpart (no_counterpart[i]) says so */
static void print_compare(const BenchConfig *cfgs, int n, const BenchResult *sr, const BenchResult *tr,
                          const int *no_counterpart, const double *sgemm, int rounds)
{
    printf("\nseqlab / PyTorch (each side's best median of %d round%s, alternating; spread: (fastest -\n"
           "slowest round median) / fastest; ratio > 1: seqlab is faster, or for memory: PyTorch needs more)\n",
           rounds, rounds == 1 ? "" : "s");
    printf("%-15s %3s %3s %5s %10s %6s %10s %6s %7s %9s %9s %7s %7s %7s\n", "model", "thr", "B", "T", "seqlab",
           "spread", "pytorch", "spread", "speed", "seqlab", "pytorch", "%sgemm", "%sgemm", "RSS");
    printf("%-15s %3s %3s %5s %10s %6s %10s %6s %7s %9s %9s %7s %7s %7s\n", "", "", "", "", "tok/s", "", "tok/s", "",
           "ratio", "GFLOP/s", "GFLOP/s", "seqlab", "pytorch", "ratio");
    for (int i = 0; i < n; i++) {
        const BenchConfig *c = &cfgs[i];
        if (sr[i].ok && no_counterpart[i]) {
            printf("%-15s %3d %3d %5d %10.0f   (no PyTorch counterpart)\n", c->model, c->threads, c->B, c->T,
                   sr[i].tok_med);
            continue;
        }
        if (!sr[i].ok || !tr[i].ok) {
            printf("%-15s %3d %3d %5d   (%s failed)\n", c->model, c->threads, c->B, c->T,
                   sr[i].ok ? "pytorch" : "seqlab");
            continue;
        }
        double gs = sr[i].gflop_step / (sr[i].step_med / 1e3), gt = sr[i].gflop_step / (tr[i].step_med / 1e3);
        double sg = sgemm[c->threads > 1 ? 1 : 0];
        char ss[16], ts[16];
        printf("%-15s %3d %3d %5d %10.0f %6s %10.0f %6s %6.2fx %9.1f %9.1f %6.0f%% %6.0f%% %6.2fx\n", c->model,
               c->threads, c->B, c->T, sr[i].tok_med, round_spread(ss, sizeof ss, &sr[i]), tr[i].tok_med,
               round_spread(ts, sizeof ts, &tr[i]), sr[i].tok_med / tr[i].tok_med, gs, gt, 100 * gs / sg,
               100 * gt / sg, tr[i].rss_mb / sr[i].rss_mb);
    }
}

/* ---- the command ---------------------------------------------------------------- */

static void bench_help(void)
{
    printf("usage: seqlab bench [--suite w1|sweep|limits|s2s|all] [--models LIST] [--threads LIST]\n"
           "                    [--batch-size B --seq-len T] [--warmup N] [--steps N] [--seed S]\n"
           "                    [--csv FILE] [--compare [--python PATH] [--torch-script FILE]]\n"
           "\n"
           "Trains each model for a few warm-up steps, then times at least nine steps on random\n"
           "tokens (Adam, global-norm clip %.0f), and prints tokens/s, step times, memory and the\n"
           "achieved GFLOP/s beside the machine's measured %dx%d sgemm rate.  Each configuration\n"
           "runs in a process of its own, so its peak memory is its own.\n"
           "\n"
           "  --suite w1       V=%d, B=%d, T=%d; RNN/LSTM/GRU E=H=%d, 1 layer; Transformer C=%d,\n"
           "                   %d heads, %d layers, FFN %d, learned positions; 1 and 2 threads [default]\n"
           "  --suite sweep    B=%d, T=%d, %d, ... %d, %d threads\n"
           "  --suite limits   where the claims stop holding, %d threads: the Transformer above\n"
           "                   with naive and online attention, B=%d, T=%d ... %d (peak memory);\n"
           "                   GRU and minGRU, E=H=%d, 1 layer, B=%d, T=%d ... %d (time per step;\n"
           "                   minGRU's scan chunked over the threads, and sequential and Blelloch's)\n"
           "  --suite s2s      the encoder-decoders: MODEL-s2s (and MODEL-s2s-att, additive\n"
           "                   attention) at B=%d, source and target length %d, the widths of w1,\n"
           "                   the threads of --threads; tokens/s counts target tokens\n"
           "  --suite all      w1, sweep and s2s\n"
           "  --models LIST    comma-separated subset of: %s; an encoder row is\n"
           "                   transformer-enc (no causal mask) or lstm-bi (both directions)\n"
           "  --threads LIST   BLAS threads of the w1 suite, e.g. 1,2\n"
           "  --batch-size B, --seq-len T   one custom shape instead of the suite\n"
           "  --warmup N       untimed steps first [%d]\n"
           "  --steps N        timed steps [%d]\n"
           "  --rounds R       measure each configuration R times (alternating with PyTorch\n"
           "                   under --compare) and keep each side's best median: on a shared\n"
           "                   machine, the round least disturbed by other work; the comparison\n"
           "                   prints each side's spread of round medians beside the ratio [1]\n"
           "  --csv FILE       also write one row per (implementation, model, threads, B, T)\n"
           "  --compare        run %s (PyTorch, same models and configurations,\n"
           "                   its best settings: OMP_WAIT_POLICY=passive, one inter-op thread,\n"
           "                   OpenMP/OpenBLAS/MKL threads = the row's) and print seqlab / PyTorch\n"
           "                   ratios; optional: skipped with a message if PyTorch is not\n"
           "                   installed; a model without a PyTorch counterpart is said once\n"
           "  --python PATH    interpreter for the comparison [%s]\n"
           "  --torch-script F the comparison script [%s]\n",
           BENCH_CLIP, SGEMM_SIZE, SGEMM_SIZE, BENCH_VOCAB, BENCH_W1_B, BENCH_W1_T, BENCH_WIDTH, BENCH_WIDTH,
           BENCH_HEADS, BENCH_TF_LAYERS, BENCH_FFN, BENCH_SWEEP_B, BENCH_SWEEP_T0, 2 * BENCH_SWEEP_T0,
           BENCH_SWEEP_TMAX, BENCH_SWEEP_THREADS, BENCH_LIMITS_THREADS, BENCH_ATTN_B, BENCH_ATTN_T0,
           BENCH_ATTN_TMAX, BENCH_WIDTH, BENCH_SCAN_B, BENCH_SCAN_T0, BENCH_SCAN_TMAX, BENCH_S2S_B, BENCH_S2S_T, model_info_names(),
           BENCH_WARMUP, BENCH_STEPS, TORCH_SCRIPT, TORCH_PYTHON,
           TORCH_SCRIPT);
}

/* "a,b,c" -> items (at most max), each checked by the caller */
static int split_list(char *s, char **items, int max, const char *option)
{
    int n = 0;
    for (char *tok = strtok(s, ","); tok; tok = strtok(NULL, ",")) {
        if (n == max) die("option %s: too many items", option);
        items[n++] = tok;
    }
    if (n == 0) die("option %s: empty list", option);
    return n;
}

static int add_config(BenchConfig *cfgs, int n, const char *model, const char *variant, int threads, int B,
                      int T)
{
    if (n == BENCH_MAX_CONFIGS) die("seqlab bench: too many configurations");
    BenchConfig *c = &cfgs[n];
    if (strlen(model) >= sizeof c->model) die("seqlab bench: model name '%s' is too long", model);
    memcpy(c->model, model, strlen(model) + 1);
    snprintf(c->variant, sizeof c->variant, "%s", variant);
    c->threads = threads;
    c->B = B;
    c->T = T;
    return n + 1;
}

int cmd_bench(int argc, char **argv)
{
    BenchOptions o = {BENCH_WARMUP, BENCH_STEPS, 1, 1, NULL, TORCH_PYTHON, TORCH_SCRIPT, 0};
    const char *suite = "w1";
    char models_buf[MODELS_MAX * 16], threads_buf[64] = "1,2";
    size_t used = 0;   /* every registered model, comma-separated */
    for (int k = 0; k < model_info_count(); k++)
        used += (size_t)snprintf(models_buf + used, sizeof models_buf - used, "%s%s", k ? "," : "",
                                 model_info_at(k)->name);
    int B = 0, T = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (opt_is(a, "--help") || strcmp(a, "-h") == 0) {
            bench_help();
            return 0;
        } else if (opt_is(a, "--suite")) {
            suite = opt_value(argc, argv, &i);
            if (strcmp(suite, "w1") && strcmp(suite, "sweep") && strcmp(suite, "limits") && strcmp(suite, "s2s") &&
                strcmp(suite, "all"))
                die("option --suite: '%s' is not w1, sweep, limits, s2s or all", suite);
        } else if (opt_is(a, "--models")) {
            snprintf(models_buf, sizeof models_buf, "%s", opt_value(argc, argv, &i));
        } else if (opt_is(a, "--threads")) {
            snprintf(threads_buf, sizeof threads_buf, "%s", opt_value(argc, argv, &i));
        } else if (opt_is(a, "--batch-size")) {
            B = (int)opt_long("--batch-size", opt_value(argc, argv, &i), 1, 100000);
        } else if (opt_is(a, "--seq-len")) {
            T = (int)opt_long("--seq-len", opt_value(argc, argv, &i), 1, 1000000);
        } else if (opt_is(a, "--warmup")) {
            o.warmup = (int)opt_long("--warmup", opt_value(argc, argv, &i), 0, BENCH_MAX_STEPS);
        } else if (opt_is(a, "--steps")) {
            o.steps = (int)opt_long("--steps", opt_value(argc, argv, &i), 1, BENCH_MAX_STEPS);
        } else if (opt_is(a, "--rounds")) {
            o.rounds = (int)opt_long("--rounds", opt_value(argc, argv, &i), 1, BENCH_MAX_STEPS);
        } else if (opt_is(a, "--seed")) {
            o.seed = (unsigned long)opt_long("--seed", opt_value(argc, argv, &i), 0, 4294967295L);
        } else if (opt_is(a, "--csv")) {
            o.csv = opt_value(argc, argv, &i);
        } else if (opt_is(a, "--compare")) {
            o.compare = 1;
        } else if (opt_is(a, "--python")) {
            o.python = opt_value(argc, argv, &i);
        } else if (opt_is(a, "--torch-script")) {
            o.script = opt_value(argc, argv, &i);
        } else {
            die("bench: unknown option '%s' (see `seqlab bench --help`)", a);
        }
    }
    if ((B > 0) != (T > 0)) die("bench: give both --batch-size and --seq-len, or neither");
    if (o.compare && strcmp(suite, "limits") == 0)
        die("bench: --compare: the limits suite has no PyTorch counterpart (online attention, minGRU)");
    if (o.csv) {
        /* the table is written at the end: a place it cannot go is said now,
         * not after the whole benchmark (the test file goes away again) */
        char probe[4096], e2[1024];
        snprintf(probe, sizeof probe, "%s.probe", o.csv);
        if (file_write_atomic(probe, "", 0, e2, sizeof e2) != 0) die("--csv %s: cannot be written: %s", o.csv, e2);
        unlink(probe);
    }

    char *models[MODELS_MAX];
    int nmodels = split_list(models_buf, models, MODELS_MAX, "--models");
    for (int i = 0; i < nmodels; i++) {
        char base[16];
        int enc, bi;
        int known = bench_variant(models[i], base, &enc, &bi) != NULL;
        base_model(models[i], base, sizeof base);
        if (!known && !(strstr(models[i], S2S_SUFFIX) && model_info_find(base)))
            die("option --models: '%s' is not one of %s (or an encoder variant: transformer%s, lstm%s)",
                models[i], model_info_names_prose(), BENCH_ENCODER_SUFFIX, BENCH_BIDIRECTIONAL_SUFFIX);
    }
    char *thr_items[8];
    int nthreads = split_list(threads_buf, thr_items, 8, "--threads"), threads[8];
    for (int i = 0; i < nthreads; i++) threads[i] = (int)opt_long("--threads", thr_items[i], 1, 256);

    BenchConfig *cfgs = xcalloc(BENCH_MAX_CONFIGS, sizeof *cfgs);
    int ncfg = 0;
    int limits = B == 0 && strcmp(suite, "limits") == 0;
    int s2s = B == 0 && (!strcmp(suite, "s2s") || !strcmp(suite, "all"));
    int w1 = B == 0 && (!strcmp(suite, "w1") || !strcmp(suite, "all"));
    int sweep = B == 0 && (!strcmp(suite, "sweep") || !strcmp(suite, "all"));
    for (int mi = 0; mi < nmodels && s2s; mi++) {
        /* the encoder-decoder rows of each listed model that has one */
        char base[16], row[48];
        base_model(models[mi], base, sizeof base);
        const ModelInfo *info = model_info_find(base);
        if (!info->encdec) continue;
        for (int att = 0; att <= info->recurrent; att++)
            for (int ti = 0; ti < nthreads; ti++) {
                snprintf(row, sizeof row, "%s%s%s", base, S2S_SUFFIX, att ? S2S_ATTENTION : "");
                ncfg = add_config(cfgs, ncfg, row, "", threads[ti], BENCH_S2S_B, BENCH_S2S_T);
            }
    }
    for (int mi = 0; mi < nmodels && !limits && (w1 || sweep || B > 0); mi++) {
        for (int ti = 0; ti < nthreads && (w1 || B > 0); ti++)
            ncfg = add_config(cfgs, ncfg, models[mi], "", threads[ti], B > 0 ? B : BENCH_W1_B,
                              B > 0 ? T : BENCH_W1_T);
        for (int t = BENCH_SWEEP_T0; sweep && t <= BENCH_SWEEP_TMAX; t *= 2)
            ncfg = add_config(cfgs, ncfg, models[mi], "", BENCH_SWEEP_THREADS, BENCH_SWEEP_B, t);
    }
    /* limits: attention memory (naive then online at each T), then the scan */
    for (int k = 0; limits && k < model_info_count(); k++) {
        const ModelInfo *info = model_info_at(k);
        /* every attention model with both attention_impl (memory against T) */
        for (int t = BENCH_ATTN_T0; info->attention && t <= BENCH_ATTN_TMAX; t *= 2) {
            ncfg = add_config(cfgs, ncfg, info->name, "naive", BENCH_LIMITS_THREADS, BENCH_ATTN_B, t);
            ncfg = add_config(cfgs, ncfg, info->name, "online", BENCH_LIMITS_THREADS, BENCH_ATTN_B, t);
        }
        /* every scan model beside the recurrence it simplifies (time against T) */
        for (int t = BENCH_SCAN_T0; info->scan && info->counterpart && t <= BENCH_SCAN_TMAX; t *= 2) {
            ncfg = add_config(cfgs, ncfg, info->counterpart, "", BENCH_LIMITS_THREADS, BENCH_SCAN_B, t);
            ncfg = add_config(cfgs, ncfg, info->name, "", BENCH_LIMITS_THREADS, BENCH_SCAN_B, t);
            ncfg = add_config(cfgs, ncfg, info->name, "sequential", BENCH_LIMITS_THREADS, BENCH_SCAN_B, t);
            ncfg = add_config(cfgs, ncfg, info->name, "blelloch", BENCH_LIMITS_THREADS, BENCH_SCAN_B, t);
        }
    }

    double load0 = loadavg(), busy0 = busy_cores_now();
    /* the reference rate, for 1 and for 2+ threads */
    double sgemm[2] = {sgemm_rate(SGEMM_SIZE, 1), sgemm_rate(SGEMM_SIZE, 2)};
    printf("seqlab bench (%s build; OpenBLAS %s)\n", REAL_NAME, openblas_get_config());
    printf("sgemm %dx%dx%d: %.1f GFLOP/s with 1 thread, %.1f GFLOP/s with 2 threads\n", SGEMM_SIZE, SGEMM_SIZE,
           SGEMM_SIZE, sgemm[0], sgemm[1]);
    printf("%d warm-up + %d timed steps per configuration; load average %.2f at the start, other work "
           "busy on %.1f cores\n\n", o.warmup, o.steps, load0, busy0);
    print_header();
    /* each configuration: seqlab, then (--compare) PyTorch right after it, so
     * that both see the same background load; with --rounds R, R times, the
     * round with the best median kept for each */
    BenchResult *sr = xcalloc((size_t)ncfg, sizeof *sr), *tr = xcalloc((size_t)ncfg, sizeof *tr);
    int *no_counterpart = xcalloc((size_t)ncfg, sizeof *no_counterpart);
    int compare = o.compare;
    for (int i = 0; i < ncfg; i++) {
        const BenchConfig *c = &cfgs[i];
        double sg = sgemm[c->threads > 1 ? 1 : 0];
        /* a model torch_bench.py has no counterpart of was said at its first
         * configuration; its other configurations do not ask again */
        for (int j = 0; j < i; j++)
            if (no_counterpart[j] && strcmp(cfgs[j].model, c->model) == 0) no_counterpart[i] = 1;
        for (int round = 0; round < o.rounds; round++) {
            BenchResult r = bench_run_isolated(c, &o);
            keep_round(&sr[i], &r);
            if (!compare || no_counterpart[i]) continue;
            int rc = torch_run(c, &o, &r);
            if (rc == TORCH_NO_COUNTERPART) {   /* the script said so, on stderr */
                no_counterpart[i] = 1;
                continue;
            }
            if (rc != 0) {
                compare = 0;          /* said why; the rest runs without PyTorch */
                continue;
            }
            r.gflop_step = sr[i].gflop_step;
            keep_round(&tr[i], &r);
        }
        print_row("", c, &sr[i], sg);
        if (compare && !no_counterpart[i]) print_row("torch", c, &tr[i], sg);
        fflush(stdout);
    }
    /* the reference rate again: on a shared machine the better of the two
     * measurements is the closer to what the hardware does */
    for (int k = 0; k < 2; k++) {
        double again = sgemm_rate(SGEMM_SIZE, k + 1);
        if (again > sgemm[k]) sgemm[k] = again;
    }
    printf("\nsgemm %dx%dx%d, the better of the start and the end: %.1f GFLOP/s with 1 thread, %.1f with 2\n"
           "(the rows above used the start's; the comparison and the CSV use these)\n", SGEMM_SIZE, SGEMM_SIZE,
           SGEMM_SIZE, sgemm[0], sgemm[1]);
    if (compare) print_compare(cfgs, ncfg, sr, tr, no_counterpart, sgemm, o.rounds);
    if (limits) {
        /* what the scan's depth would buy with enough cores (mingru/scan.c) */
        printf("\ndependent steps of one layer's recurrence (the critical path):\n");
        printf("%6s %8s %12s %12s %10s\n", "T", "GRU", "chunked/2", "chunked/64", "Blelloch");
        for (int t = BENCH_SCAN_T0; t <= BENCH_SCAN_TMAX; t *= 2)
            printf("%6d %8.0f %12.0f %12.0f %10.0f\n", t, scan_critical_path(SCAN_SEQUENTIAL, t, 1),
                   scan_critical_path(SCAN_CHUNKED, t, BENCH_LIMITS_THREADS),
                   scan_critical_path(SCAN_CHUNKED, t, BENCH_MANY_CORES), scan_critical_path(SCAN_BLELLOCH, t, 1));
        printf("(minGRU's scan in chunks over P threads: 2 T/P + P - 1 steps, no shorter than\n"
               " the loop's T until P > 2; Blelloch's tree with T/2 processors: 2 ceil(log2 T) + 1)\n");
    }
    /* the load at the end counts the benchmark's own threads (up to the
     * most any configuration used): only more than that is other work */
    double load1 = loadavg();
    int own = 1;
    for (int i = 0; i < ncfg; i++)
        if (cfgs[i].threads > own) own = cfgs[i].threads;
    printf("\nload average %.2f at the end (this benchmark's own threads: up to %d)", load1, own);
    /* at the start, what other work keeps busy now (the load average would
     * still count a benchmark that just ended); where that cannot be read,
     * the load average */
    int busy_at_start = isnan(busy0) ? load0 > 0.5 : busy0 > 0.5;
    if (busy_at_start || load1 > own + 0.5)
        printf(": other work shared the %ld cores during the run, so these numbers are noisy",
               sysconf(_SC_NPROCESSORS_ONLN));
    printf("\n");

    int status = 0;
    if (o.csv) {
        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        fprintf(f, "impl,model,variant,threads,B,T,params,tokens_per_s_median,tokens_per_s_best,step_ms_median,step_ms_min,"
                   "step_ms_max,forward_ms,backward_ms,optimizer_ms,peak_rss_mb,act_mb,param_mb,gflop_per_step,"
                   "gflops,sgemm_gflops,sgemm_fraction,allocs,loadavg,rounds,tokens_per_s_round_min,"
                   "tokens_per_s_round_max\n");
        for (int i = 0; i < ncfg; i++) {
            double sg = sgemm[cfgs[i].threads > 1 ? 1 : 0];
            if (sr[i].ok) csv_row(f, "seqlab", &cfgs[i], &sr[i], sg, load1);
            if (compare && tr[i].ok) csv_row(f, "pytorch", &cfgs[i], &tr[i], sg, load1);
        }
        fclose(f);
        char err[512];
        if (file_write_atomic(o.csv, text, len, err, sizeof err) != 0) {
            fprintf(stderr, "seqlab bench: %s\n", err);
            status = EXIT_USER_ERROR;
        } else {
            printf("wrote %s\n", o.csv);
        }
        free(text);
    }
    for (int i = 0; i < ncfg; i++)
        if (!sr[i].ok) status = EXIT_USER_ERROR;
    free(no_counterpart);
    free(tr);
    free(sr);
    free(cfgs);
    return status;
}
