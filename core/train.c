/*
 * train.c — the shared training loop and the run directory it writes.
 * See train.h for the files and their columns.
 */
#define _POSIX_C_SOURCE 200809L
#include "train.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <gsl/gsl_rng.h>
#include <gsl/gsl_version.h>

#include "checkpoint.h"
#include "data.h"
#include "finetune.h"
#include "model.h"
#include "optim.h"
#include "pairs.h"
#include "registry.h"
#include "sample.h"
#include "translate.h"
#include "util.h"

/* OpenBLAS's own controls (declared in its cblas.h, which clashes with GSL's) */
extern void openblas_set_num_threads(int num_threads);
extern char *openblas_get_config(void);

#define STATE_MAGIC "SEQLABST"
#define STATE_VERSION 3
/* the generator that draws validation batches restarts from this offset of
 * the seed at every evaluation, so every evaluation scores the same windows */
#define VALID_SEED_OFFSET 0x5eedUL
/* windows the loss-per-position evaluation averages over (position_loss.csv) */
#define POSITION_WINDOWS 2048
#define DATA_SEED_OFFSET 0x1da7UL

/* ---- signals -------------------------------------------------------------- */

static volatile sig_atomic_t stop_signal;

static void on_stop_signal(int sig) { stop_signal = sig; }

void train_install_signal_handlers(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

int train_stop_requested(void) { return stop_signal != 0; }

double peak_rss_mb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_maxrss / 1024.0;
}

/* ---- the run -------------------------------------------------------------- */

/* what one training step measured (train_step) */
typedef struct StepTimes {
    double forward, backward, optimizer, total;   /* seconds */
} StepTimes;

typedef struct Run {
    Settings *s;
    Task *task;
    Model *m;
    Optimizer *opt;
    gsl_rng *data_rng, *val_rng;
    Batch *train_batch, *val_batch;
    FILE *metrics, *grads, *timing;
    char path[SETTING_STR_MAX + 320];   /* DIR/NAME, NAME a directory entry */
    int lock_fd;               /* the run directory's lock (dir_lock), or -1 */
    int started;               /* run.json says "running": the end writes its status */
    long step;                 /* updates done */
    int done;                  /* training is over (budget spent or stopped early, solved) */
    long saved_step;           /* step of the checkpoint on disk, or -1 if none yet */
    double seconds;            /* training wall-clock, carried over a resume */
    double tokens;             /* training tokens seen */
    double loss_acc;           /* sum of training losses since the last metrics row */
    long loss_n;               /* steps in loss_acc (carried over a resume) */
    StepTimes times;           /* summed since the last timing row ... */
    long times_n;              /* ... over this many steps (this process's only) */
    double window_start, window_tokens;   /* tokens per second since the last row */
    double last_norm, last_lr;
    TrainResult *res;
    int *copied;               /* init_from: (params.count) 1 copied, 0 fresh; NULL without */
    size_t train_from;         /* freeze_body: the first trained value (the head's); else 0 */
    char *err;
    size_t errlen;
} Run;

static const char *run_file(Run *r, const char *name)
{
    snprintf(r->path, sizeof r->path, "%s/%s", r->s->out, name);
    return r->path;
}

static int fail(Run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(Run *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->err, r->errlen, fmt, ap);
    va_end(ap);
    return TRAIN_ERROR;
}

/* ---- run.json ------------------------------------------------------------- */

static cJSON *settings_json(const Settings *s)
{
    cJSON *o = cJSON_CreateObject();
    char v[SETTING_STR_MAX + 32];
    for (int i = 0; i < settings_count(); i++) {
        settings_get(s, settings_key(i), v, sizeof v);
        cJSON_AddStringToObject(o, settings_key(i), v);
    }
    return o;
}

static int write_run_json(Run *r, const char *status)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "status", status);
    cJSON_AddItemToObject(o, "config", settings_json(r->s));
    cJSON_AddNumberToObject(o, "params", (double)model_param_count(r->m));
    cJSON_AddNumberToObject(o, "non_embedding_params", (double)model_non_embedding_param_count(r->m));
    cJSON_AddNumberToObject(o, "seed", (double)r->s->seed);
    cJSON_AddNumberToObject(o, "threads", r->s->threads);
    cJSON_AddStringToObject(o, "real", REAL_NAME);
    cJSON *ver = cJSON_AddObjectToObject(o, "versions");
    cJSON_AddStringToObject(ver, "gsl", GSL_VERSION);
    cJSON_AddStringToObject(ver, "openblas", openblas_get_config());
    cJSON_AddStringToObject(ver, "cjson", cJSON_Version());
    cJSON *task = cJSON_AddObjectToObject(o, "task");
    cJSON_AddNumberToObject(task, "vocab_size", r->task->vocab_size);
    cJSON_AddNumberToObject(task, "output_size", r->task->output_size);
    cJSON_AddNumberToObject(task, "seq_len", r->task->seq_len);
    cJSON_AddNumberToObject(task, "eval_seq_len", r->task->eval_seq_len);
    cJSON_AddNumberToObject(task, "chance_loss", r->task->chance_loss);
    /* text tasks: the tokens training windows are cut from (D of the data-size runs) */
    if (r->task->train_tokens > 0) cJSON_AddNumberToObject(task, "train_tokens", (double)r->task->train_tokens);
    if (r->task->classify) {
        cJSON_AddNumberToObject(task, "classes", r->task->num_labels);
        cJSON_AddNumberToObject(task, "majority_accuracy", r->task->majority_accuracy);
        cJSON_AddNumberToObject(task, "train_examples", (double)r->task->train_count);
        cJSON_AddNumberToObject(task, "valid_examples", (double)r->task->valid_count);
    }
    if (r->copied) {
        /* init_from: which tensors started from the checkpoint, which fresh */
        cJSON *init = cJSON_AddObjectToObject(o, "init_from");
        cJSON_AddStringToObject(init, "checkpoint", r->s->init_from);
        cJSON *copied = cJSON_AddArrayToObject(init, "copied");
        cJSON *fresh = cJSON_AddArrayToObject(init, "fresh");
        for (int i = 0; i < r->m->params.count; i++)
            cJSON_AddItemToArray(r->copied[i] ? copied : fresh,
                                 cJSON_CreateString(r->m->params.views[i].name));
    }
    TrainResult *res = r->res;
    cJSON *out = cJSON_AddObjectToObject(o, "results");
    cJSON_AddNumberToObject(out, "step", (double)r->step);
    cJSON_AddNumberToObject(out, "final_train_loss", res->train_loss);
    cJSON_AddNumberToObject(out, "final_val_loss", res->val_loss);
    cJSON_AddNumberToObject(out, "val_accuracy", res->val_accuracy);
    cJSON_AddNumberToObject(out, "val_perplexity", res->val_perplexity);
    cJSON_AddNumberToObject(out, "chance_loss", res->chance_loss);
    cJSON_AddNumberToObject(out, "chance_accuracy", res->chance_accuracy);
    if (r->task->classify) cJSON_AddNumberToObject(out, "majority_accuracy", r->task->majority_accuracy);
    cJSON_AddNumberToObject(out, "seconds", res->seconds);
    cJSON_AddNumberToObject(out, "tokens_per_s", res->tokens_per_s);
    cJSON_AddNumberToObject(out, "step_ms", res->step_ms);
    cJSON_AddNumberToObject(out, "peak_rss_mb", res->peak_rss_mb);
    cJSON_AddNumberToObject(out, "act_mb", res->act_mb);
    cJSON_AddNumberToObject(out, "val_exact_match", res->val_exact_match);
    cJSON_AddNumberToObject(out, "val_bleu", res->val_bleu);
    cJSON_AddNumberToObject(out, "test_exact_match", res->test_exact_match);
    cJSON_AddNumberToObject(out, "test_bleu", res->test_bleu);
    cJSON_AddNumberToObject(out, "chance_exact_match", res->chance_exact_match);
    cJSON_AddNumberToObject(out, "attn_mb", res->attn_mb);
    cJSON_AddNumberToObject(out, "critical_path", res->params ? (double)model_info_critical_path(
        model_info_find(r->s->model), r->task->seq_len, r->s->num_layers) : 0);
    char *text = cJSON_Print(o);
    cJSON_Delete(o);
    size_t len = strlen(text);
    text[len] = '\n';   /* cJSON_Print's terminator becomes the final newline */
    int rc = file_write_atomic(run_file(r, "run.json"), text, len + 1, r->err, r->errlen);
    free(text);
    return rc;
}

/* ---- checkpoint and state ----------------------------------------------------- */

static void fill_meta(Run *r, Meta *meta)
{
    char v[64];
    meta_init(meta);
    meta_from_model_config(meta, &r->m->cfg);
    snprintf(v, sizeof v, "%d", r->task->seq_len);
    meta_set(meta, "seq_len", v);
    snprintf(v, sizeof v, "%ld", r->step);
    meta_set(meta, "step", v);
    snprintf(v, sizeof v, "%lu", r->s->seed);
    meta_set(meta, "seed", v);
    meta_set(meta, "task", r->s->task);
    if (r->task->tok) {
        const Tokenizer *t = r->task->tok;
        meta_set(meta, "tokenizer", tokenizer_kind_name(t->kind));
        if (t->vocab) {
            cJSON *arr = cJSON_CreateArray();
            for (int i = 0; i < t->vocab_size; i++) cJSON_AddItemToArray(arr, cJSON_CreateString(t->vocab[i]));
            char *js = cJSON_PrintUnformatted(arr);
            meta_set(meta, "vocab", js);
            free(js);
            cJSON_Delete(arr);
        }
    }
    if (r->task->src_tok) pairs_meta(r->task, meta);
    if (r->task->classify) {
        /* the class names, id order */
        cJSON *arr = cJSON_CreateArray();
        for (int i = 0; i < r->task->num_labels; i++)
            cJSON_AddItemToArray(arr, cJSON_CreateString(r->task->labels[i]));
        char *js = cJSON_PrintUnformatted(arr);
        meta_set(meta, "labels", js);
        free(js);
        cJSON_Delete(arr);
    }
    char *cfg = NULL;
    size_t cfglen = 0;
    FILE *f = open_memstream(&cfg, &cfglen);
    if (f) {
        settings_write_ini(r->s, f);
        fclose(f);
        meta_set(meta, "config", cfg);
        free(cfg);
    }
}

/* ---- test hook: a crash at a chosen instant ------------------------------------
 * SEQLAB_TEST_KILL_AT=POINT[:N] makes the N-th (default first) passage of
 * this process through POINT end it with SIGKILL, as a power cut or the OOM
 * killer would.  The crash test (tests/crash_test.sh) places kills at every
 * rename of a checkpoint and in the final stage.  Unset, it costs a pointer
 * comparison. */
static const char *kill_point;
static long kill_count;

static void test_kill_init(void)
{
    static char buf[64];
    const char *v = getenv("SEQLAB_TEST_KILL_AT");
    kill_point = NULL;
    if (!v || !*v) return;
    snprintf(buf, sizeof buf, "%s", v);
    char *colon = strchr(buf, ':');
    kill_count = 1;
    if (colon) {
        *colon = '\0';
        kill_count = strtol(colon + 1, NULL, 10);
    }
    kill_point = buf;
}

static void test_kill_point(const char *point)
{
    if (kill_point && strcmp(kill_point, point) == 0 && --kill_count == 0) raise(SIGKILL);
}

/* the optimizer moments, the data generator, the loss accumulators, whether
 * training is over and the results so far, and the parameters at full
 * precision (the checkpoint holds them rounded to float32, which in the
 * double build is not the same), so that a resumed run draws the same
 * batches and logs the same numbers.  Version 2 (no done flag, no results)
 * is still read. */
enum { STATE_HDR = 5, STATE_ACC = 7, STATE_HDR_V2 = 4, STATE_ACC_V2 = 4 };

static size_t state_size(Run *r, int version)
{
    int nh = version == 2 ? STATE_HDR_V2 : STATE_HDR, na = version == 2 ? STATE_ACC_V2 : STATE_ACC;
    return 8 + (size_t)nh * sizeof(int64_t) + (size_t)na * sizeof(double) + sizeof(uint64_t) +
           gsl_rng_size(r->data_rng) + (2 * r->opt->n + r->m->params.total) * sizeof(real);
}

static int save_state(Run *r, const char *path)
{
    size_t n = r->opt->n, rng_size = gsl_rng_size(r->data_rng);
    size_t len = state_size(r, STATE_VERSION);
    char *buf = xmalloc(len), *p = buf;
    int64_t hdr[STATE_HDR] = {STATE_VERSION, r->step, r->opt->t, (int64_t)n, r->done};
    const TrainResult *res = r->res;
    double acc[STATE_ACC] = {r->seconds, r->tokens, r->loss_acc, (double)r->loss_n,
                             res->train_loss, res->val_loss, res->val_accuracy};
    uint64_t rs = rng_size;
    memcpy(p, STATE_MAGIC, 8); p += 8;
    memcpy(p, hdr, sizeof hdr); p += sizeof hdr;
    memcpy(p, acc, sizeof acc); p += sizeof acc;
    memcpy(p, &rs, sizeof rs); p += sizeof rs;
    memcpy(p, gsl_rng_state(r->data_rng), rng_size); p += rng_size;
    memcpy(p, r->opt->m, n * sizeof(real)); p += n * sizeof(real);
    memcpy(p, r->opt->v, n * sizeof(real)); p += n * sizeof(real);
    memcpy(p, r->m->params.value, r->m->params.total * sizeof(real));  /* all of them, frozen or not */
    int rc = file_write_atomic(path, buf, len, r->err, r->errlen);
    free(buf);
    return rc;
}

static int load_state(Run *r)
{
    size_t len;
    const char *path = run_file(r, "train_state.bin");
    char *buf = file_read_all(path, &len);
    if (!buf) return fail(r, "cannot resume: cannot read '%s': %s", path, strerror(errno));
    size_t n = r->opt->n, rng_size = gsl_rng_size(r->data_rng);
    int64_t version = 0;
    if (len >= 8 + sizeof version && memcmp(buf, STATE_MAGIC, 8) == 0) memcpy(&version, buf + 8, sizeof version);
    int nh = version == 2 ? STATE_HDR_V2 : STATE_HDR, na = version == 2 ? STATE_ACC_V2 : STATE_ACC;
    size_t want = state_size(r, version == 2 ? 2 : STATE_VERSION);
    if ((version != 2 && version != STATE_VERSION) || len != want) {
        free(buf);
        return fail(r, "cannot resume: '%s' is not a state file of this model and build (%zu bytes, expected %zu)",
                    path, len, want);
    }
    int64_t hdr[STATE_HDR] = {0};
    double acc[STATE_ACC] = {0, 0, 0, 0, 0, NAN, NAN};
    uint64_t rs;
    const char *p = buf + 8;
    memcpy(hdr, p, (size_t)nh * sizeof hdr[0]); p += (size_t)nh * sizeof hdr[0];
    memcpy(acc, p, (size_t)na * sizeof acc[0]); p += (size_t)na * sizeof acc[0];
    memcpy(&rs, p, sizeof rs); p += sizeof rs;
    if (hdr[3] != (int64_t)n || rs != rng_size) {
        free(buf);
        return fail(r, "cannot resume: '%s' does not match the model in this run", path);
    }
    memcpy(gsl_rng_state(r->data_rng), p, rng_size); p += rng_size;
    memcpy(r->opt->m, p, n * sizeof(real)); p += n * sizeof(real);
    memcpy(r->opt->v, p, n * sizeof(real)); p += n * sizeof(real);
    memcpy(r->m->params.value, p, r->m->params.total * sizeof(real));
    r->step = hdr[1];
    r->opt->t = hdr[2];
    r->done = hdr[4] != 0;
    r->seconds = acc[0];
    r->tokens = acc[1];
    r->loss_acc = acc[2];
    r->loss_n = (long)acc[3];
    r->res->train_loss = acc[4];
    r->res->val_loss = acc[5];
    r->res->val_accuracy = acc[6];
    free(buf);
    return 0;
}

/* The checkpoint is a pair, model.safetensors and train_state.bin, that
 * must agree on the step (both hold it).  save_checkpoint writes both
 * completely (each fsynced) under PENDING names, then renames the state,
 * then the model.  A crash at any instant leaves one of three states:
 *   1. before the first rename: the previous pair, intact (the pending
 *      files are leftovers: discarded on resume);
 *   2. between the two renames: the state at the new step, the model at
 *      the old one, and the new model complete in model.safetensors.pending;
 *   3. after both: the new pair.
 * recover_checkpoint (on resume) completes case 2 by the second rename. */
#define PENDING ".pending"
static int save_checkpoint(Run *r)
{
    char model_path[sizeof r->path], state_path[sizeof r->path];
    snprintf(model_path, sizeof model_path, "%s", run_file(r, "model.safetensors"));
    snprintf(state_path, sizeof state_path, "%s", run_file(r, "train_state.bin"));
    char model_new[sizeof r->path + 16], state_new[sizeof r->path + 16];
    snprintf(model_new, sizeof model_new, "%s" PENDING, model_path);
    snprintf(state_new, sizeof state_new, "%s" PENDING, state_path);
    Meta meta;
    fill_meta(r, &meta);
    int rc = checkpoint_save(model_new, &r->m->params, &meta, r->err, r->errlen);
    meta_free(&meta);
    test_kill_point("model-pending");
    if (rc == 0) rc = save_state(r, state_new);
    test_kill_point("state-pending");
    if (rc == 0 && rename_durable(state_new, state_path) != 0) {
        fail(r, "cannot rename '%s' to '%s': %s", state_new, state_path, strerror(errno));
        rc = -1;
    }
    test_kill_point("state-renamed");
    if (rc == 0 && rename_durable(model_new, model_path) != 0) {
        fail(r, "cannot rename '%s' to '%s': %s", model_new, model_path, strerror(errno));
        rc = -1;
    }
    test_kill_point("model-renamed");
    if (rc != 0) {
        unlink(model_new);
        unlink(state_new);
        return TRAIN_ERROR;
    }
    r->saved_step = r->step;
    return 0;
}

/* the step a checkpoint file's metadata names (its tensors checked against
 * the run's model), or -1 with a message in e2 */
static long checkpoint_step(Run *r, const char *path, char *e2, size_t e2len)
{
    Meta meta;
    meta_init(&meta);
    Model *saved = checkpoint_load_model(path, &meta, e2, e2len);
    long step = -1;
    if (saved && saved->params.total != r->m->params.total)
        snprintf(e2, e2len, "the checkpoint '%s' has %zu parameters, the settings make %zu", path,
                 saved->params.total, r->m->params.total);
    else if (saved) {
        const char *st = meta_get(&meta, "step");
        char *end = NULL;
        step = st ? strtol(st, &end, 10) : -1;
        if (!st || *end || step < 0) {
            snprintf(e2, e2len, "'%s' has no valid step in its metadata", path);
            step = -1;
        }
    }
    model_free(saved);
    meta_free(&meta);
    return step;
}

/* load the pair, completing an interrupted second rename (see above) */
static int recover_checkpoint(Run *r)
{
    char model_path[sizeof r->path], pending[sizeof r->path + 16], e2[1024];
    snprintf(model_path, sizeof model_path, "%s", run_file(r, "model.safetensors"));
    snprintf(pending, sizeof pending, "%s" PENDING, model_path);
    if (load_state(r) != 0) return TRAIN_ERROR;
    long step = checkpoint_step(r, model_path, e2, sizeof e2);
    if (step != r->step) {
        char e3[1024];
        long pstep = checkpoint_step(r, pending, e3, sizeof e3);
        if (pstep != r->step) {
            if (step < 0) return fail(r, "cannot resume: %s", e2);
            return fail(r, "cannot resume: checkpoint step %ld and state step %ld in '%s' disagree", step, r->step,
                        r->s->out);
        }
        /* case 2: the crash came between the renames */
        if (rename_durable(pending, model_path) != 0)
            return fail(r, "cannot rename '%s' to '%s': %s", pending, model_path, strerror(errno));
        fprintf(stderr, "%s: completed the checkpoint of step %ld that a crash interrupted\n", r->s->out, r->step);
    }
    /* case 1's leftovers */
    unlink(pending);
    unlink(run_file(r, "train_state.bin" PENDING));
    r->saved_step = r->step;
    return 0;
}

/* the index of the first parameter that is not finite as a float32, or
 * ps->total if they all are */
static size_t params_first_beyond_f32(const ParamSet *ps)
{
    for (size_t i = 0; i < ps->total; i++)
        if (!(fabs((double)ps->value[i]) <= FLT_MAX)) return i;
    return ps->total;
}

/* the end of a divergence message: where the last good weights are */
static const char *kept_checkpoint(Run *r, char *buf, size_t n)
{
    if (r->saved_step >= 0)
        snprintf(buf, n, "The last good checkpoint (step %ld) is kept in '%s/model.safetensors'", r->saved_step,
                 r->s->out);
    else
        snprintf(buf, n, "No checkpoint was written before it (save_every = %d)", r->s->save_every);
    return buf;
}

/* keep the header and the rows whose first column (the step) is <= step */
static int truncate_log(Run *r, const char *name, long step)
{
    size_t len;
    const char *path = run_file(r, name);
    char *text = file_read_all(path, &len);
    if (!text) return 0;   /* nothing written yet */
    char *out = xmalloc(len + 1);
    size_t n = 0;
    int first = 1;
    for (char *line = text; *line;) {
        char *nl = strchr(line, '\n');
        size_t l = nl ? (size_t)(nl - line) + 1 : strlen(line);
        if (nl && (first || strtol(line, NULL, 10) <= step)) {
            memcpy(out + n, line, l);
            n += l;
        }
        first = 0;
        line += l;
    }
    char path_copy[sizeof r->path];
    snprintf(path_copy, sizeof path_copy, "%s", path);
    int rc = file_write_atomic(path_copy, out, n, r->err, r->errlen);
    free(out);
    free(text);
    return rc;
}

static FILE *open_log(Run *r, const char *name, const char *header, int append)
{
    const char *path = run_file(r, name);
    FILE *f = fopen(path, append ? "a" : "w");
    if (!f) return NULL;
    if (!append || ftell(f) == 0) {
        fprintf(f, "%s\n", header);
        fflush(f);
    }
    return f;
}

/* a row, flushed so that a crash keeps every finished row; a write error
 * (a full disk) is reported, not ignored */
static int log_row(Run *r, FILE *f, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int log_row(Run *r, FILE *f, const char *name, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf(f, fmt, ap);
    va_end(ap);
    if (fflush(f) != 0 || ferror(f))
        return fail(r, "cannot write '%s/%s': %s", r->s->out, name, strerror(errno));
    return 0;
}

/* ---- evaluation ------------------------------------------------------------ */

typedef struct EvalStats {
    double loss, accuracy;
} EvalStats;

/* mean validation loss over nbatches fixed batches (the first nbatches of
 * the same sequence every time); optionally the loss at each position
 * (pos_loss (T), pos_count (T)) */
static EvalStats evaluate(Run *r, int nbatches, double *pos_loss, long *pos_count)
{
    gsl_rng_set(r->val_rng, r->s->seed + VALID_SEED_OFFSET);
    double sum = 0;
    long count = 0, correct = 0;
    Batch *b = r->val_batch;
    int O = r->m->cfg.output_size;
    for (int i = 0; i < nbatches; i++) {
        task_batch(r->task, b, SPLIT_VALID, r->val_rng);
        double L = model_forward(r->m, b);
        sum += L * r->m->count;
        count += r->m->count;
        correct += r->m->correct;
        if (pos_loss && !r->m->cfg.regression) {
            for (int bi = 0; bi < b->B; bi++)
                for (int t = 0; t < b->T; t++) {
                    int y = b->targets[bi * b->T + t];
                    if (y == TARGET_IGNORE) continue;
                    double p = r->m->probs[((size_t)bi * b->T + t) * O + y];
                    pos_loss[t] += -log(p > 1e-30 ? p : 1e-30);
                    pos_count[t]++;
                }
        }
    }
    EvalStats e;
    e.loss = count ? sum / count : NAN;
    e.accuracy = (count && r->task->has_accuracy) ? (double)correct / count : NAN;
    return e;
}

/* gradients.csv rows for one fixed validation batch (parameters unchanged) */
static int log_gradients(Run *r)
{
    gsl_rng_set(r->val_rng, r->s->seed + VALID_SEED_OFFSET);
    task_batch(r->task, r->val_batch, SPLIT_VALID, r->val_rng);
    params_zero_grad(&r->m->params);
    model_forward(r->m, r->val_batch);
    model_backward(r->m, r->val_batch);
    const char *const *names;
    const real *norms;
    /* an encoder-decoder has no per-step series (yet) */
    int S = r->m->body_ops ? r->m->body_ops->grad_norms(r->m->body, &names, &norms) : 0;
    int T = r->val_batch->T;
    for (int s = 0; s < S; s++)
        for (int t = 0; t < T; t++)
            if (log_row(r, r->grads, "gradients.csv", "%ld,%s,%d,%d,%.6g\n", r->step, names[s], t,
                        T - 1 - t, (double)norms[s * T + t]))
                return TRAIN_ERROR;
    params_zero_grad(&r->m->params);
    return 0;
}

/* ---- set-up ----------------------------------------------------------------- */

static int build_model_config(Run *r, ModelConfig *mc)
{
    Settings *s = r->s;
    Task *t = r->task;
    memset(mc, 0, sizeof *mc);
    snprintf(mc->kind, sizeof mc->kind, "%s", s->model);
    mc->vocab_size = t->vocab_size;
    mc->input_features = t->input_features;
    mc->output_size = t->output_size;
    mc->regression = t->regression;
    mc->classify = t->classify;
    mc->embed_dim = s->embed_dim;
    mc->hidden_size = s->hidden_size;
    mc->num_layers = s->num_layers;
    mc->num_heads = s->num_heads;
    mc->ffn_size = s->ffn_size;
    int longest = t->seq_len > t->eval_seq_len ? t->seq_len : t->eval_seq_len;
    if (t->src_seq_len > longest) longest = t->src_seq_len;
    mc->max_seq_len = s->max_seq_len ? s->max_seq_len : longest;
    mc->positions = strcmp(s->positions, "learned") == 0 ? POSITIONS_LEARNED
                  : strcmp(s->positions, "none") == 0   ? POSITIONS_NONE
                                                        : POSITIONS_SINUSOIDAL;
    mc->attention_impl = strcmp(s->attention_impl, "online") == 0 ? ATTENTION_IMPL_ONLINE
                                                                 : ATTENTION_IMPL_NAIVE;
    mc->forget_bias = s->forget_bias;
    mc->init_scale = s->init_scale;
    mc->architecture = strcmp(s->architecture, "encoder") == 0           ? ARCH_ENCODER
                     : strcmp(s->architecture, "encoder-decoder") == 0 ? ARCH_ENCODER_DECODER
                                                                         : ARCH_DECODER;
    mc->attention = strcmp(s->attention, "additive") == 0 ? ATTENTION_ADDITIVE : ATTENTION_NONE;
    mc->bidirectional = s->bidirectional;
    mc->pooling = strcmp(s->pooling, "last") == 0 ? POOLING_LAST : POOLING_MEAN;
    const ModelInfo *info = model_info_find(s->model);
    if (info->position_table && longest > mc->max_seq_len)
        return fail(r, "seq_len %d is longer than max_seq_len %d (the model's position table)",
                    longest, mc->max_seq_len);
    /* parameters, gradients and two optimizer moments: refuse before asking
     * for memory that is not there */
    double E = mc->embed_dim, H = mc->hidden_size, L = mc->num_layers, F = mc->ffn_size;
    double in = mc->vocab_size ? mc->vocab_size * E : mc->input_features * E;
    /* per layer: recurrent gates 4H(E+H) at most; attention 4H^2 and the
     * MLP's two F x H matrices (F = ffn_size, 0 for recurrent models) */
    double approx = in + L * (4 * H * (E + H) + 4 * H * H + 2 * H * F) + H * mc->output_size;
    double bytes = 4 * approx * sizeof(real);
    double avail = (double)sysconf(_SC_PHYS_PAGES) * (double)sysconf(_SC_PAGESIZE);
    if (avail > 0 && bytes > avail)
        return fail(r, "the model would need about %.1f GiB for its parameters alone (this machine has %.1f GiB): "
                    "reduce hidden_size / embed_dim / num_layers / ffn_size", bytes / 1073741824.0, avail / 1073741824.0);
    /* activations, at least: x, dx (B,T,E), y, dy (B,T,H), logits, probs,
     * dlogits (B,T,O), a state history (L,B,T,H), the MLP's hidden layer and
     * its GELU (L,B,T,F), and for the Transformer with naive attention
     * the attention weights (L,B,NH,T,T) */
    double B = s->batch_size, T = longest, O = mc->output_size;
    double acts = B * T * (2 * E + 2 * H + 3 * O + L * H + 2 * L * F);
    if (info->attention && mc->attention_impl == ATTENTION_IMPL_NAIVE) acts += L * B * mc->num_heads * T * T;
    acts *= sizeof(real);
    if (avail > 0 && bytes + acts > avail)
        return fail(r, "batches of batch_size %d x seq_len %d would need at least %.1f GiB for activations "
                    "(this machine has %.1f GiB): reduce batch_size / seq_len / hidden_size",
                    s->batch_size, longest, acts / 1073741824.0, avail / 1073741824.0);
    return 0;
}

static void run_free(Run *r)
{
    if (r->metrics) fclose(r->metrics);
    if (r->grads) fclose(r->grads);
    if (r->timing) fclose(r->timing);
    batch_free(r->train_batch);
    batch_free(r->val_batch);
    if (r->data_rng) gsl_rng_free(r->data_rng);
    if (r->val_rng) gsl_rng_free(r->val_rng);
    optim_free(r->opt);
    model_free(r->m);
    task_free(r->task);
    free(r->copied);
    if (r->lock_fd >= 0) close(r->lock_fd);   /* releases the run directory */
}

static void progress(Run *r, double val_loss, int final)
{
    Settings *s = r->s;
    double tps = r->seconds > 0 ? r->tokens / r->seconds : 0;
    double eta = (r->step > 0 && r->step < s->steps) ? r->seconds / r->step * (s->steps - r->step) : 0;
    double shown = r->loss_n ? r->loss_acc / r->loss_n : r->res->train_loss;
    if (isatty(STDERR_FILENO)) {
        int width = 24, filled = (int)(width * (double)r->step / (s->steps ? s->steps : 1));
        char bar[32];
        for (int i = 0; i < width; i++) bar[i] = i < filled ? '#' : '.';
        bar[width] = '\0';
        fprintf(stderr, "\r[%s] %s step %ld/%ld  loss %.4f  val %.4f  %.0f tok/s  eta %.0fs   %s", bar,
                s->model, r->step, s->steps, shown, val_loss, tps, eta, final ? "\n" : "");
    } else {
        fprintf(stderr, "%s: step %ld/%ld  loss %.4f  val %.4f  %.0f tok/s\n", s->out, r->step, s->steps,
                shown, val_loss, tps);
    }
}

/* the temporary files of writes a crash cut short (NAME.tmp.XXXXXX): under
 * the lock nobody else is writing them */
static int remove_temporaries(Run *r)
{
    DIR *d = opendir(r->s->out);
    if (!d) return fail(r, "cannot read the run directory '%s': %s", r->s->out, strerror(errno));
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        size_t n = strlen(de->d_name);
        if (n > 11 && strncmp(de->d_name + n - 11, ".tmp.", 5) == 0) unlink(run_file(r, de->d_name));
    }
    closedir(d);
    return TRAIN_OK;
}

/* ---- stage 1: set-up ------------------------------------------------------------
 * settings, task, model, optimizer, batches; then the run directory and its
 * lock (only now, so that bad settings leave nothing behind) */
static int run_setup(Run *r, int resume)
{
    Settings *s = r->s;
    TrainResult *res = r->res;
    if (settings_resolve(s, r->err, r->errlen) != 0) return TRAIN_ERROR;
    if (s->save_every == 0) s->save_every = s->eval_every;
    TaskConfig tc = {s->task, s->corpus, s->tokenizer, s->vocab_limit, s->seq_len, s->eval_seq_len, s->distance,
                     s->train_examples, s->train_fraction, s->max_src_len, s->max_tgt_len};
    r->task = task_create(&tc, r->err, r->errlen);
    if (!r->task) return TRAIN_ERROR;
    ModelConfig mc;
    if (build_model_config(r, &mc) != 0) return TRAIN_ERROR;
    openblas_set_num_threads(s->threads);

    r->m = model_create(&mc);
    gsl_rng *init_rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(init_rng, s->seed);
    model_init(r->m, init_rng);
    gsl_rng_free(init_rng);
    /* fine-tuning: the tensors that match the checkpoint start from it */
    if (s->init_from[0]) {
        r->copied = xcalloc((size_t)r->m->params.count, sizeof(int));
        if (finetune_init_from(r->m, s->init_from, r->task->tok, r->copied, r->err, r->errlen) < 0)
            return TRAIN_ERROR;
    }
    r->train_from = s->freeze_body ? finetune_head_offset(r->m) : 0;
    int Tmax = r->task->seq_len > r->task->eval_seq_len ? r->task->seq_len : r->task->eval_seq_len;
    if (r->task->src_seq_len > 0)     /* pairs: sources up to src_seq_len */
        model_alloc_acts_pairs(r->m, s->batch_size, r->task->src_seq_len, Tmax);
    else
        model_alloc_acts(r->m, s->batch_size, Tmax);
    OptimKind kind;
    optim_kind_parse(s->optimizer, &kind);
    r->opt = optim_alloc(kind, r->m->params.total - r->train_from, s->weight_decay, s->momentum);
    r->data_rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r->data_rng, s->seed + DATA_SEED_OFFSET);
    r->val_rng = gsl_rng_alloc(gsl_rng_mt19937);
    r->train_batch = task_batch_alloc(r->task, s->batch_size);
    r->val_batch = task_batch_alloc(r->task, s->batch_size);
    res->params = model_param_count(r->m);
    res->chance_loss = r->task->chance_loss;
    res->chance_accuracy = r->task->has_accuracy && !r->task->regression ? exp(-r->task->chance_loss) : NAN;
    if (r->task->src_seq_len > 0) res->chance_exact_match = r->task->chance_exact_match;
    res->act_mb = (double)model_act_bytes(r->m) / 1048576.0;
    res->attn_mb = (double)model_attention_bytes(r->m) / 1048576.0;
    test_kill_init();

    /* a resumed run is continued where it is: its directory must exist */
    struct stat st;
    if (resume && (stat(s->out, &st) != 0 || !S_ISDIR(st.st_mode)))
        return fail(r, "cannot resume: '%s' is not a run directory", s->out);
    if (!resume && mkdir_p(s->out) != 0)
        return fail(r, "cannot create output directory '%s': %s (option out)", s->out, strerror(errno));
    r->lock_fd = dir_lock(s->out, r->err, r->errlen);
    if (r->lock_fd == DIR_LOCK_HELD) return TRAIN_BUSY;
    if (r->lock_fd < 0) return TRAIN_ERROR;
    return remove_temporaries(r);
}

/* ---- stage 2: a fresh start, or resume ------------------------------------------ */

/* the files a run writes: a fresh run into an old directory removes the
 * old run's (a checkpoint left there would otherwise be resumed later) */
static const char *const run_outputs[] = {
    "model.safetensors", "train_state.bin", "model.safetensors" PENDING, "train_state.bin" PENDING,
    "run.json", "metrics.csv", "gradients.csv", "timing.csv", "position_loss.csv", "samples.txt", NULL};

static int run_start_fresh(Run *r)
{
    for (int i = 0; run_outputs[i]; i++)
        if (unlink(run_file(r, run_outputs[i])) != 0 && errno != ENOENT)
            return fail(r, "cannot remove the old '%s': %s", r->path, strerror(errno));
    return TRAIN_OK;
}

/* the status run.json records, or "" */
static void run_json_status(Run *r, char *out, size_t n)
{
    size_t len;
    char *text = file_read_all(run_file(r, "run.json"), &len);
    cJSON *j = text ? cJSON_Parse(text) : NULL;
    cJSON *st = cJSON_GetObjectItem(j, "status");
    snprintf(out, n, "%s", cJSON_IsString(st) ? st->valuestring : "");
    cJSON_Delete(j);
    free(text);
}

/* RUN_COMPLETE: nothing to do, the run finished and its results stand */
#define RUN_COMPLETE (-2)

static int run_resume(Run *r)
{
    struct stat st;
    if (stat(run_file(r, "train_state.bin"), &st) != 0 && stat(run_file(r, "model.safetensors"), &st) != 0) {
        /* stopped before its first checkpoint: nothing to continue from */
        fprintf(stderr, "%s: no checkpoint yet; starting from step 0\n", r->s->out);
        return run_start_fresh(r);
    }
    if (recover_checkpoint(r) != 0) return TRAIN_ERROR;
    if (!r->done && r->step >= r->s->steps)
        return fail(r, "cannot resume: the run is at step %ld and steps = %ld adds none", r->step, r->s->steps);
    if (r->done) {
        char status[32];
        run_json_status(r, status, sizeof status);
        if (strcmp(status, "finished") == 0) {
            fprintf(stderr, "%s: the run finished at step %ld; nothing to resume\n", r->s->out, r->step);
            return RUN_COMPLETE;
        }
        /* killed after its last checkpoint: only the final stage is redone */
        fprintf(stderr, "%s: training ended at step %ld; redoing the final evaluation\n", r->s->out, r->step);
    }
    if (truncate_log(r, "metrics.csv", r->step) || truncate_log(r, "gradients.csv", r->step) ||
        truncate_log(r, "timing.csv", r->step))
        return TRAIN_ERROR;
    return TRAIN_OK;
}

/* config.ini, the logs (appended on resume) and run.json "running" */
static int run_open_outputs(Run *r, int resume)
{
    Settings *s = r->s;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    settings_write_ini(s, f);
    fclose(f);
    int rc = file_write_atomic(run_file(r, "config.ini"), text, len, r->err, r->errlen);
    free(text);
    if (rc) return TRAIN_ERROR;
    r->metrics = open_log(r, "metrics.csv",
                          "step,seconds,tokens,train_loss,val_loss,val_accuracy,grad_norm,lr,tokens_per_s", resume);
    r->grads = open_log(r, "gradients.csv", "step,series,t,steps_back,norm", resume);
    r->timing = open_log(r, "timing.csv", "step,forward_ms,backward_ms,optimizer_ms,step_ms", resume);
    if (!r->metrics || !r->grads || !r->timing)
        return fail(r, "cannot write logs in '%s': %s", s->out, strerror(errno));
    if (write_run_json(r, "running")) return TRAIN_ERROR;
    r->started = 1;
    if (r->step == 0 && log_gradients(r)) return TRAIN_ERROR;
    return TRAIN_OK;
}

/* ---- stage 3: the step ------------------------------------------------------------
 * One update, as every trainer writes it: a batch, zero the gradients,
 * forward (the loss), backward (the gradients), clip, update.  Returns the
 * loss; *norm gets the gradient norm before clipping. */
static double lap(double *clock)
{
    double now = now_seconds(), dt = now - *clock;
    *clock = now;
    return dt;
}

static double train_step(Run *r, double lr, double *norm, StepTimes *dt)
{
    Model *m = r->m;
    Batch *b = r->train_batch;
    double clock = now_seconds(), start = clock;
    task_batch(r->task, b, SPLIT_TRAIN, r->data_rng);
    params_zero_grad(&m->params);                                    lap(&clock);
    double loss = model_forward(m, b);                               dt->forward = lap(&clock);
    model_backward(m, b);                                            dt->backward = lap(&clock);
    /* freeze_body: only the head's values [train_from, total) are trained */
    size_t from = r->train_from, n = m->params.total - from;
    *norm = grad_clip(m->params.grad + from, n, r->s->clip);
    optim_step(r->opt, m->params.value + from, m->params.grad + from, lr);  dt->optimizer = lap(&clock);
    dt->total = clock - start;
    return loss;
}

/* ---- stage 4: log and evaluate ------------------------------------------------------ */

/* a metrics.csv and a timing.csv row when one is due, with an evaluation
 * when one is due; sets r->done when the validation reaches the stop bar */
static int log_and_evaluate(Run *r)
{
    Settings *s = r->s;
    TrainResult *res = r->res;
    int do_eval = r->done || r->step % s->eval_every == 0;
    int do_log = do_eval || r->step % s->log_every == 0;
    if (!do_log) return TRAIN_OK;
    EvalStats e = {NAN, NAN};
    if (do_eval) e = evaluate(r, s->eval_batches, NULL, NULL);
    double train_loss = r->loss_acc / r->loss_n;
    double tps = r->window_tokens / (now_seconds() - r->window_start);
    long tn = r->times_n > 0 ? r->times_n : 1;
    if (log_row(r, r->metrics, "metrics.csv", "%ld,%.3f,%.0f,%.6g,%.6g,%.6g,%.6g,%.6g,%.1f\n", r->step, r->seconds,
                r->tokens, train_loss, e.loss, e.accuracy, r->last_norm, r->last_lr, tps) ||
        log_row(r, r->timing, "timing.csv", "%ld,%.4f,%.4f,%.4f,%.4f\n", r->step, 1e3 * r->times.forward / tn,
                1e3 * r->times.backward / tn, 1e3 * r->times.optimizer / tn, 1e3 * r->times.total / tn))
        return TRAIN_ERROR;
    res->train_loss = train_loss;
    if (do_eval) {
        res->val_loss = e.loss;
        res->val_accuracy = e.accuracy;
        if (!isfinite(e.loss)) {
            char kept[SETTING_STR_MAX + 128];
            fail(r, "step %ld: the validation loss is %g; stopping. %s", r->step, e.loss,
                 kept_checkpoint(r, kept, sizeof kept));
            return TRAIN_DIVERGED;
        }
        /* solved: the rest of the budget would only confirm it */
        const char *met = NULL;
        double bar = 0;
        if (s->stop_accuracy > 0 && e.accuracy >= s->stop_accuracy) {
            met = "accuracy";
            bar = s->stop_accuracy;
        } else if (s->stop_loss > 0 && e.loss <= s->stop_loss) {
            met = "loss";
            bar = s->stop_loss;
        }
        if (met && !r->done) {
            r->done = 1;
            fprintf(stderr, "%s: validation %s reached stop_%s = %g at step %ld; stopping early\n", s->out, met, met,
                    bar, r->step);
        }
    }
    r->loss_acc = 0;
    r->loss_n = 0;
    memset(&r->times, 0, sizeof r->times);
    r->times_n = 0;
    r->window_start = now_seconds();
    r->window_tokens = 0;
    if (isatty(STDERR_FILENO) || do_eval) progress(r, res->val_loss, r->done);
    return TRAIN_OK;
}

/* gradients.csv when due, and the checkpoint when due */
static int checkpoint_if_due(Run *r)
{
    Settings *s = r->s;
    if ((s->grad_every > 0 && r->step % s->grad_every == 0) || r->done)
        if (log_gradients(r)) return TRAIN_ERROR;
    if (!(r->done || r->step % s->save_every == 0 || train_stop_requested())) return TRAIN_OK;
    /* a checkpoint holds float32: weights beyond its range (possible in the
     * double build before the loss overflows) have diverged */
    size_t bad = params_first_beyond_f32(&r->m->params);
    if (bad < r->m->params.total) {
        char kept[SETTING_STR_MAX + 128];
        fail(r, "step %ld: parameter %zu is %g, not finite in float32; stopping (lower lr or set clip). %s", r->step,
             bad, (double)r->m->params.value[bad], kept_checkpoint(r, kept, sizeof kept));
        return TRAIN_DIVERGED;
    }
    return save_checkpoint(r);
}

/* the loop: step, log and evaluate, checkpoint, until done or stopped */
static int run_train(Run *r)
{
    Settings *s = r->s;
    long tokens_per_step = (long)s->batch_size * r->task->seq_len;
    char kept[SETTING_STR_MAX + 128];
    r->window_start = now_seconds();
    r->window_tokens = 0;
    while (!r->done) {
        double lr = lr_schedule(r->step, s->steps, s->warmup, s->lr), norm;
        StepTimes dt;
        double loss = train_step(r, lr, &norm, &dt);
        if (!isfinite(loss) || !isfinite(norm)) {
            fail(r, "step %ld: the %s is %g; stopping (lower lr or set clip). %s", r->step + 1,
                 !isfinite(loss) ? "training loss" : "gradient norm", !isfinite(loss) ? loss : norm,
                 kept_checkpoint(r, kept, sizeof kept));
            return TRAIN_DIVERGED;
        }
        r->step++;
        r->seconds += dt.total;
        r->tokens += (double)tokens_per_step;
        r->window_tokens += (double)tokens_per_step;
        r->loss_acc += loss;
        r->loss_n++;
        r->times.forward += dt.forward;
        r->times.backward += dt.backward;
        r->times.optimizer += dt.optimizer;
        r->times.total += dt.total;
        r->times_n++;
        r->last_norm = norm;
        r->last_lr = lr;
        r->done = r->step >= s->steps;

        int rc = log_and_evaluate(r);
        if (rc == TRAIN_OK) rc = checkpoint_if_due(r);
        if (rc != TRAIN_OK) return rc;
        if (train_stop_requested() && !r->done) {
            if (isatty(STDERR_FILENO)) fputc('\n', stderr);
            fail(r, "interrupted at step %ld; checkpoint written. Continue with: seqlab train --resume %s", r->step,
                 s->out);
            return TRAIN_INTERRUPTED;
        }
    }
    return TRAIN_OK;
}

/* ---- stage 5: finish -------------------------------------------------------------- */

/* position_loss.csv: the loss at each position of the window, how much
 * context is used */
static int write_position_loss(Run *r)
{
    if (r->task->regression || r->task->classify) return TRAIN_OK;
    int T = r->task->eval_seq_len;
    double *pl = xcalloc((size_t)T, sizeof(double));
    long *pc = xcalloc((size_t)T, sizeof(long));
    /* a position's loss averages one target per window: where every
     * position has a target (text, parity) take enough windows that the
     * curve is not mostly noise; the other tasks score a few positions only
     * and keep their evaluation size */
    int nb = r->task->every_position ? (POSITION_WINDOWS + r->val_batch->B - 1) / r->val_batch->B : 0;
    evaluate(r, nb > r->s->eval_batches ? nb : r->s->eval_batches, pl, pc);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    fprintf(f, "position,loss,count\n");
    for (int t = 0; t < T; t++)
        if (pc[t] > 0) fprintf(f, "%d,%.6g,%ld\n", t, pl[t] / pc[t], pc[t]);
    fclose(f);
    int rc = file_write_atomic(run_file(r, "position_loss.csv"), text, len, r->err, r->errlen);
    free(text);
    free(pl);
    free(pc);
    return rc ? TRAIN_ERROR : TRAIN_OK;
}

/* samples.txt: what the model writes, from the prompt; a prompt the
 * tokenizer cannot encode is said, not skipped in silence */
static int write_samples(Run *r)
{
    Settings *s = r->s;
    if (!r->task->tok || s->sample_tokens <= 0 || r->task->classify || r->m->cfg.architecture != ARCH_DECODER)
        return TRAIN_OK;
    const Tokenizer *tok = r->task->tok;
    char e2[512];
    long np = tokenizer_encode(tok, s->prompt, strlen(s->prompt), NULL, 0, e2, sizeof e2);
    if (np <= 0) {
        fprintf(stderr, "%s: warning: no samples.txt: the prompt '%s' %s%s\n", s->out, s->prompt,
                np < 0 ? "cannot be encoded: " : "has no tokens", np < 0 ? e2 : "");
        return TRAIN_OK;
    }
    int *ids = xmalloc((size_t)np * sizeof(int));
    tokenizer_encode(tok, s->prompt, strlen(s->prompt), ids, (size_t)np, e2, sizeof e2);
    int *gen = xmalloc((size_t)s->sample_tokens * sizeof(int));
    gsl_rng *srng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(srng, s->seed);
    sample_generate(r->m, ids, (int)np, gen, s->sample_tokens, SAMPLE_TEMPERATURE, 0, srng);
    gsl_rng_free(srng);
    char *text = sample_decode(tok, s->prompt, gen, s->sample_tokens);
    size_t len = strlen(text);
    text[len] = '\n';   /* replaces the NUL: the file ends with a newline */
    int rc = file_write_atomic(run_file(r, "samples.txt"), text, len + 1, r->err, r->errlen);
    free(text);
    free(gen);
    free(ids);
    return rc ? TRAIN_ERROR : TRAIN_OK;
}

/* tasks of pairs: greedy decoding of the validation and test pairs
 * (translation.csv, translations.txt, run.json's val_* and test_*) */
static int write_translation_scores(Run *r)
{
    if (r->task->src_seq_len == 0) return TRAIN_OK;
    TranslateResults tr;
    if (translate_write_scores(r->m, r->task, r->s->batch_size, r->s->out, &tr, r->err, r->errlen) != 0)
        return TRAIN_ERROR;
    r->res->val_exact_match = tr.val_exact_match;
    r->res->val_bleu = tr.val_bleu;
    r->res->test_exact_match = tr.test_exact_match;
    r->res->test_bleu = tr.test_bleu;
    return TRAIN_OK;
}

/* the results, the final evaluations of a finished run, run.json's status */
static int run_finish(Run *r, int status)
{
    TrainResult *res = r->res;
    res->step = r->step;
    res->seconds = r->seconds;
    res->tokens_per_s = r->seconds > 0 ? r->tokens / r->seconds : 0;
    res->step_ms = r->step > 0 ? 1e3 * r->seconds / r->step : 0;
    res->val_perplexity = r->task && !r->task->regression ? exp(res->val_loss) : NAN;
    if (!r->started) return status;
    if (status == TRAIN_OK) {
        test_kill_point("finish");
        status = write_position_loss(r);
        test_kill_point("position-loss");
        if (status == TRAIN_OK) status = write_samples(r);
        test_kill_point("samples");
        if (status == TRAIN_OK) status = write_translation_scores(r);
    }
    res->peak_rss_mb = peak_rss_mb();
    const char *st = status == TRAIN_OK ? "finished" : status == TRAIN_INTERRUPTED ? "interrupted"
                   : status == TRAIN_DIVERGED ? "diverged" : "failed";
    char keep[1024];
    snprintf(keep, sizeof keep, "%s", r->err);
    if (write_run_json(r, st) != 0 && status == TRAIN_OK) status = TRAIN_ERROR;
    else if (status != TRAIN_OK) snprintf(r->err, r->errlen, "%s", keep);
    return status;
}

/* ---- the run: the five stages in order ------------------------------------------------ */

int train_run(Settings *s, int resume, TrainResult *res, char *err, size_t errlen)
{
    Run run, *r = &run;
    memset(r, 0, sizeof *r);
    memset(res, 0, sizeof *res);
    r->s = s;
    r->res = res;
    r->err = err;
    r->errlen = errlen;
    r->lock_fd = -1;
    r->saved_step = -1;
    r->last_norm = NAN;
    if (errlen > 0) err[0] = '\0';   /* read back at the end, also when nothing failed */
    res->val_loss = res->val_accuracy = res->val_perplexity = NAN;
    res->val_exact_match = res->val_bleu = res->test_exact_match = res->test_bleu = NAN;
    res->chance_exact_match = NAN;

    int status = run_setup(r, resume);
    if (status == TRAIN_OK) status = resume ? run_resume(r) : run_start_fresh(r);
    if (r->step == 0) resume = 0;   /* a resume that found no checkpoint starts afresh */
    if (status == RUN_COMPLETE) {
        run_finish(r, TRAIN_OK);   /* the results only: nothing is written */
        run_free(r);
        return TRAIN_OK;
    }
    if (status == TRAIN_OK) status = run_open_outputs(r, resume);
    if (status == TRAIN_OK) status = run_train(r);
    status = run_finish(r, status);
    run_free(r);
    return status;
}
