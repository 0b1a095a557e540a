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
#include <sys/resource.h>
#include <unistd.h>
#include <gsl/gsl_rng.h>
#include <gsl/gsl_version.h>

#include "checkpoint.h"
#include "data.h"
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
#define STATE_VERSION 2
/* the generator that draws validation batches restarts from this offset of
 * the seed at every evaluation, so every evaluation scores the same windows */
#define VALID_SEED_OFFSET 0x5eedUL
/* windows the loss-per-position evaluation averages over (position_loss.csv) */
#define POSITION_WINDOWS 2048
#define DATA_SEED_OFFSET 0x1da7UL
#define SAMPLE_TEMPERATURE 0.8

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

typedef struct Run {
    Settings *s;
    Task *task;
    Model *m;
    Optimizer *opt;
    gsl_rng *data_rng, *val_rng;
    Batch *train_batch, *val_batch;
    FILE *metrics, *grads, *timing;
    char path[SETTING_STR_MAX + 64];
    long step;                 /* updates done */
    long saved_step;           /* step of the checkpoint on disk, or -1 if none yet */
    double seconds;            /* training wall-clock, carried over a resume */
    double tokens;             /* training tokens seen */
    double loss_acc;           /* sum of training losses since the last metrics row */
    long loss_n;
    double t_fwd, t_bwd, t_opt, t_step; /* summed since the last timing row */
    TrainResult *res;
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
    TrainResult *res = r->res;
    cJSON *out = cJSON_AddObjectToObject(o, "results");
    cJSON_AddNumberToObject(out, "step", (double)r->step);
    cJSON_AddNumberToObject(out, "final_train_loss", res->train_loss);
    cJSON_AddNumberToObject(out, "final_val_loss", res->val_loss);
    cJSON_AddNumberToObject(out, "val_accuracy", res->val_accuracy);
    cJSON_AddNumberToObject(out, "val_perplexity", res->val_perplexity);
    cJSON_AddNumberToObject(out, "chance_loss", res->chance_loss);
    cJSON_AddNumberToObject(out, "chance_accuracy", res->chance_accuracy);
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

/* the optimizer moments, the data generator, the loss accumulators and the
 * parameters at full precision (the checkpoint holds them rounded to float32,
 * which in the double build is not the same), so that a resumed run draws
 * the same batches and logs the same numbers */
static int save_state(Run *r, const char *path)
{
    size_t n = r->opt->n, rng_size = gsl_rng_size(r->data_rng);
    size_t len = 8 + 4 * sizeof(int64_t) + 4 * sizeof(double) + sizeof(uint64_t) + rng_size
                 + 3 * n * sizeof(real);
    char *buf = xmalloc(len), *p = buf;
    int64_t hdr[4] = {STATE_VERSION, r->step, r->opt->t, (int64_t)n};
    double acc[4] = {r->seconds, r->tokens, r->loss_acc, (double)r->loss_n};
    uint64_t rs = rng_size;
    memcpy(p, STATE_MAGIC, 8); p += 8;
    memcpy(p, hdr, sizeof hdr); p += sizeof hdr;
    memcpy(p, acc, sizeof acc); p += sizeof acc;
    memcpy(p, &rs, sizeof rs); p += sizeof rs;
    memcpy(p, gsl_rng_state(r->data_rng), rng_size); p += rng_size;
    memcpy(p, r->opt->m, n * sizeof(real)); p += n * sizeof(real);
    memcpy(p, r->opt->v, n * sizeof(real)); p += n * sizeof(real);
    memcpy(p, r->m->params.value, n * sizeof(real));
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
    size_t want = 8 + 4 * sizeof(int64_t) + 4 * sizeof(double) + sizeof(uint64_t) + rng_size
                  + 3 * n * sizeof(real);
    int64_t hdr[4];
    double acc[4];
    uint64_t rs;
    const char *p = buf;
    if (len != want || memcmp(p, STATE_MAGIC, 8) != 0) {
        free(buf);
        return fail(r, "cannot resume: '%s' is not a state file of this model and build (%zu bytes, expected %zu)",
                    path, len, want);
    }
    p += 8;
    memcpy(hdr, p, sizeof hdr); p += sizeof hdr;
    memcpy(acc, p, sizeof acc); p += sizeof acc;
    memcpy(&rs, p, sizeof rs); p += sizeof rs;
    if (hdr[0] != STATE_VERSION || hdr[3] != (int64_t)n || rs != rng_size) {
        free(buf);
        return fail(r, "cannot resume: '%s' does not match the model in this run", path);
    }
    memcpy(gsl_rng_state(r->data_rng), p, rng_size); p += rng_size;
    memcpy(r->opt->m, p, n * sizeof(real)); p += n * sizeof(real);
    memcpy(r->opt->v, p, n * sizeof(real)); p += n * sizeof(real);
    memcpy(r->m->params.value, p, n * sizeof(real));
    r->step = hdr[1];
    r->opt->t = hdr[2];
    r->seconds = acc[0];
    r->tokens = acc[1];
    r->loss_acc = acc[2];
    r->loss_n = (long)acc[3];
    free(buf);
    return 0;
}

/* the checkpoint is two files that must agree on the step: both are
 * written completely under PENDING names first and only then renamed into
 * place, so a full disk or a crash while writing keeps the previous pair */
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
    if (rc == 0) rc = save_state(r, state_new);
    if (rc == 0 && rename(state_new, state_path) != 0) {
        fail(r, "cannot rename '%s' to '%s': %s", state_new, state_path, strerror(errno));
        rc = -1;
    }
    if (rc == 0 && rename(model_new, model_path) != 0) {
        fail(r, "cannot rename '%s' to '%s': %s", model_new, model_path, strerror(errno));
        rc = -1;
    }
    if (rc != 0) {
        unlink(model_new);
        unlink(state_new);
        return TRAIN_ERROR;
    }
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
    double E = mc->embed_dim, H = mc->hidden_size, L = mc->num_layers;
    double in = mc->vocab_size ? mc->vocab_size * E : mc->input_features * E;
    double approx = in + L * (4 * H * (E + H) + 12 * H * H) + H * mc->output_size;
    double bytes = 4 * approx * sizeof(real);
    double avail = (double)sysconf(_SC_PHYS_PAGES) * (double)sysconf(_SC_PAGESIZE);
    if (avail > 0 && bytes > avail)
        return fail(r, "the model would need about %.1f GiB for its parameters alone (this machine has %.1f GiB): "
                    "reduce hidden_size / embed_dim / num_layers", bytes / 1073741824.0, avail / 1073741824.0);
    /* activations, at least: x, dx (B,T,E), y, dy (B,T,H), logits, probs,
     * dlogits (B,T,O), a state history (L,B,T,H), and for the Transformer
     * the attention weights (L,B,NH,T,T) */
    double B = s->batch_size, T = longest, O = mc->output_size;
    double acts = B * T * (2 * E + 2 * H + 3 * O + L * H);
    if (info->attention) acts += L * B * mc->num_heads * T * T;
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

/* ---- the loop ----------------------------------------------------------------- */

int train_run(Settings *s, int resume, TrainResult *res, char *err, size_t errlen)
{
    Run run, *r = &run;
    memset(r, 0, sizeof *r);
    memset(res, 0, sizeof *res);
    r->s = s;
    r->res = res;
    r->err = err;
    r->errlen = errlen;
    if (errlen > 0) err[0] = '\0';   /* read back at the end, also when nothing failed */
    r->saved_step = -1;
    res->val_loss = res->val_accuracy = res->val_perplexity = NAN;
    res->val_exact_match = res->val_bleu = res->test_exact_match = res->test_bleu = NAN;
    res->chance_exact_match = NAN;
    if (settings_resolve(s, err, errlen) != 0) return TRAIN_ERROR;
    if (s->save_every == 0) s->save_every = s->eval_every;

    TaskConfig tc = {s->task, s->corpus, s->tokenizer, s->vocab_limit, s->seq_len, s->eval_seq_len, s->distance,
                     s->max_src_len, s->max_tgt_len};
    r->task = task_create(&tc, err, errlen);
    if (!r->task) return TRAIN_ERROR;
    ModelConfig mc;
    int rc = build_model_config(r, &mc);
    if (rc) { run_free(r); return rc; }
    openblas_set_num_threads(s->threads);

    r->m = model_create(&mc);
    gsl_rng *init_rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(init_rng, s->seed);
    model_init(r->m, init_rng);
    gsl_rng_free(init_rng);
    int Tmax = r->task->seq_len > r->task->eval_seq_len ? r->task->seq_len : r->task->eval_seq_len;
    if (r->task->src_seq_len > 0)     /* pairs: sources up to src_seq_len */
        model_alloc_acts_pairs(r->m, s->batch_size, r->task->src_seq_len, Tmax);
    else
        model_alloc_acts(r->m, s->batch_size, Tmax);
    OptimKind kind;
    optim_kind_parse(s->optimizer, &kind);
    r->opt = optim_alloc(kind, r->m->params.total, s->weight_decay, s->momentum);
    r->data_rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r->data_rng, s->seed + DATA_SEED_OFFSET);
    r->val_rng = gsl_rng_alloc(gsl_rng_mt19937);
    if (r->task->src_seq_len > 0) {
        r->train_batch = batch_alloc_pairs(s->batch_size, r->task->src_seq_len, r->task->seq_len);
        r->val_batch = batch_alloc_pairs(s->batch_size, r->task->src_seq_len, r->task->eval_seq_len);
    } else {
        r->train_batch = batch_alloc(s->batch_size, r->task->seq_len, r->task->input_features, r->task->regression);
        r->val_batch = batch_alloc(s->batch_size, r->task->eval_seq_len, r->task->input_features, r->task->regression);
    }
    res->params = model_param_count(r->m);
    res->chance_loss = r->task->chance_loss;
    res->chance_accuracy = r->task->has_accuracy && !r->task->regression ? exp(-r->task->chance_loss) : NAN;
    res->act_mb = (double)model_act_bytes(r->m) / 1048576.0;
    /* the run directory only now, so that bad settings leave nothing behind */
    if (mkdir_p(s->out) != 0) {
        fail(r, "cannot create output directory '%s': %s (option out)", s->out, strerror(errno));
        run_free(r);
        return TRAIN_ERROR;
    }

    if (resume) {
        char e2[1024];
        Meta meta;
        meta_init(&meta);
        Model *saved = checkpoint_load_model(run_file(r, "model.safetensors"), &meta, e2, sizeof e2);
        if (!saved) {
            fail(r, "cannot resume: %s", e2);
            meta_free(&meta);
            run_free(r);
            return TRAIN_ERROR;
        }
        if (saved->params.total != r->m->params.total) {
            fail(r, "cannot resume: the checkpoint in '%s' has %zu parameters, the settings make %zu",
                 s->out, saved->params.total, r->m->params.total);
            model_free(saved);
            meta_free(&meta);
            run_free(r);
            return TRAIN_ERROR;
        }
        memcpy(r->m->params.value, saved->params.value, saved->params.total * sizeof(real));
        model_free(saved);
        const char *st = meta_get(&meta, "step");
        long ckpt_step = st ? strtol(st, NULL, 10) : -1;
        meta_free(&meta);
        if (load_state(r) != 0) { run_free(r); return TRAIN_ERROR; }
        r->saved_step = r->step;
        if (ckpt_step != r->step) {
            fail(r, "cannot resume: checkpoint step %ld and state step %ld in '%s' disagree", ckpt_step, r->step, s->out);
            run_free(r);
            return TRAIN_ERROR;
        }
        if (truncate_log(r, "metrics.csv", r->step) || truncate_log(r, "gradients.csv", r->step) ||
            truncate_log(r, "timing.csv", r->step)) {
            run_free(r);
            return TRAIN_ERROR;
        }
    }

    /* config.ini: the resolved settings, readable by --config */
    {
        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        settings_write_ini(s, f);
        fclose(f);
        rc = file_write_atomic(run_file(r, "config.ini"), text, len, err, errlen);
        free(text);
        if (rc) { run_free(r); return TRAIN_ERROR; }
    }
    r->metrics = open_log(r, "metrics.csv",
                          "step,seconds,tokens,train_loss,val_loss,val_accuracy,grad_norm,lr,tokens_per_s", resume);
    r->grads = open_log(r, "gradients.csv", "step,series,t,steps_back,norm", resume);
    r->timing = open_log(r, "timing.csv", "step,forward_ms,backward_ms,optimizer_ms,step_ms", resume);
    if (!r->metrics || !r->grads || !r->timing) {
        fail(r, "cannot write logs in '%s': %s", s->out, strerror(errno));
        run_free(r);
        return TRAIN_ERROR;
    }
    if (write_run_json(r, "running")) { run_free(r); return TRAIN_ERROR; }
    if (r->step == 0 && log_gradients(r)) { run_free(r); return TRAIN_ERROR; }

    int status = TRAIN_OK;
    char kept[SETTING_STR_MAX + 128];
    double last_norm = NAN, last_lr = 0;
    long tokens_per_step = (long)s->batch_size * r->task->seq_len;
    double window_start = now_seconds(), window_tokens = 0;
    while (r->step < s->steps) {
        double t0 = now_seconds();
        double lr = lr_schedule(r->step, s->steps, s->warmup, s->lr);
        task_batch(r->task, r->train_batch, SPLIT_TRAIN, r->data_rng);
        params_zero_grad(&r->m->params);
        double t1 = now_seconds();
        double loss = model_forward(r->m, r->train_batch);
        if (!isfinite(loss)) {
            snprintf(err, errlen, "step %ld: the training loss is %g; stopping (lower lr or set clip). %s",
                     r->step + 1, loss, kept_checkpoint(r, kept, sizeof kept));
            status = TRAIN_DIVERGED;
            break;
        }
        double t2 = now_seconds();
        model_backward(r->m, r->train_batch);
        double t3 = now_seconds();
        double norm = grad_clip(r->m->params.grad, r->m->params.total, s->clip);
        if (!isfinite(norm)) {
            snprintf(err, errlen, "step %ld: the gradient norm is %g; stopping (lower lr or set clip). %s",
                     r->step + 1, norm, kept_checkpoint(r, kept, sizeof kept));
            status = TRAIN_DIVERGED;
            break;
        }
        optim_step(r->opt, r->m->params.value, r->m->params.grad, lr);
        double t4 = now_seconds();
        r->step++;
        r->seconds += t4 - t0;
        r->tokens += (double)tokens_per_step;
        window_tokens += (double)tokens_per_step;
        r->loss_acc += loss;
        r->loss_n++;
        r->t_fwd += t2 - t1;
        r->t_bwd += t3 - t2;
        r->t_opt += t4 - t3;
        r->t_step += t4 - t0;
        last_norm = norm;
        last_lr = lr;

        int last = r->step == s->steps;
        int do_eval = last || r->step % s->eval_every == 0;
        int do_log = last || r->step % s->log_every == 0 || do_eval;
        if (do_log) {
            EvalStats e = {NAN, NAN};
            if (do_eval) e = evaluate(r, s->eval_batches, NULL, NULL);
            double train_loss = r->loss_acc / r->loss_n;
            double now = now_seconds();
            double tps = window_tokens / (now - window_start);
            if (log_row(r, r->metrics, "metrics.csv", "%ld,%.3f,%.0f,%.6g,%.6g,%.6g,%.6g,%.6g,%.1f\n", r->step,
                        r->seconds, r->tokens, train_loss, e.loss, e.accuracy, last_norm, last_lr, tps) ||
                log_row(r, r->timing, "timing.csv", "%ld,%.4f,%.4f,%.4f,%.4f\n", r->step,
                        1e3 * r->t_fwd / r->loss_n, 1e3 * r->t_bwd / r->loss_n, 1e3 * r->t_opt / r->loss_n,
                        1e3 * r->t_step / r->loss_n)) {
                status = TRAIN_ERROR;
                break;
            }
            res->train_loss = train_loss;
            if (do_eval) {
                res->val_loss = e.loss;
                res->val_accuracy = e.accuracy;
                if (!isfinite(e.loss)) {
                    snprintf(err, errlen, "step %ld: the validation loss is %g; stopping. %s", r->step, e.loss,
                             kept_checkpoint(r, kept, sizeof kept));
                    status = TRAIN_DIVERGED;
                    break;
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
                if (met && !last) {
                    last = 1;
                    fprintf(stderr, "%s: validation %s reached stop_%s = %g at step %ld; stopping early\n", s->out,
                            met, met, bar, r->step);
                }
            }
            r->loss_acc = 0;
            r->loss_n = 0;
            r->t_fwd = r->t_bwd = r->t_opt = r->t_step = 0;
            window_start = now_seconds();
            window_tokens = 0;
            if (isatty(STDERR_FILENO) || do_eval) progress(r, res->val_loss, last);
        }
        if ((s->grad_every > 0 && r->step % s->grad_every == 0 && !last) || last) {
            if (log_gradients(r)) { status = TRAIN_ERROR; break; }
        }
        if (last || r->step % s->save_every == 0 || train_stop_requested()) {
            /* a checkpoint holds float32: weights beyond its range (possible
             * in the double build before the loss overflows) have diverged */
            size_t bad = params_first_beyond_f32(&r->m->params);
            if (bad < r->m->params.total) {
                snprintf(err, errlen, "step %ld: parameter %zu is %g, not finite in float32; stopping (lower lr or "
                         "set clip). %s", r->step, bad, (double)r->m->params.value[bad],
                         kept_checkpoint(r, kept, sizeof kept));
                status = TRAIN_DIVERGED;
                break;
            }
            if (save_checkpoint(r)) { status = TRAIN_ERROR; break; }
        }
        if (train_stop_requested() && !last) {
            if (isatty(STDERR_FILENO)) fputc('\n', stderr);
            snprintf(err, errlen, "interrupted at step %ld; checkpoint written. Continue with: seqlab train --resume %s",
                     r->step, s->out);
            status = TRAIN_INTERRUPTED;
            break;
        }
        if (last) break;
    }

    res->step = r->step;
    res->seconds = r->seconds;
    res->tokens_per_s = r->seconds > 0 ? r->tokens / r->seconds : 0;
    res->step_ms = r->step > 0 ? 1e3 * r->seconds / r->step : 0;
    res->val_perplexity = r->task->regression ? NAN : exp(res->val_loss);
    if (status == TRAIN_OK) {
        /* the loss at each position of the window: how much context is used */
        if (!r->task->regression) {
            int T = r->task->eval_seq_len;
            double *pl = xcalloc((size_t)T, sizeof(double));
            long *pc = xcalloc((size_t)T, sizeof(long));
            /* a position's loss averages one target per window: where every
             * position has a target (text, parity) take enough windows that
             * the curve is not mostly noise; the other tasks score a few
             * positions only and keep their evaluation size */
            int nb = r->task->every_position ? (POSITION_WINDOWS + r->val_batch->B - 1) / r->val_batch->B : 0;
            evaluate(r, nb > s->eval_batches ? nb : s->eval_batches, pl, pc);
            char *text = NULL;
            size_t len = 0;
            FILE *f = open_memstream(&text, &len);
            fprintf(f, "position,loss,count\n");
            for (int t = 0; t < T; t++)
                if (pc[t] > 0) fprintf(f, "%d,%.6g,%ld\n", t, pl[t] / pc[t], pc[t]);
            fclose(f);
            rc = file_write_atomic(run_file(r, "position_loss.csv"), text, len, err, errlen);
            free(text);
            free(pl);
            free(pc);
            if (rc) status = TRAIN_ERROR;
        }
        /* pair tasks: decode the validation and test pairs (translation.csv,
         * translations.txt) */
        if (status == TRAIN_OK && r->task->src_seq_len > 0) {
            TranslateResults tr;
            if (translate_write_scores(r->m, r->task, s->batch_size, s->out, &tr, err, errlen) != 0)
                status = TRAIN_ERROR;
            res->val_exact_match = tr.val_exact_match;
            res->val_bleu = tr.val_bleu;
            res->test_exact_match = tr.test_exact_match;
            res->test_bleu = tr.test_bleu;
            res->chance_exact_match = r->task->chance_exact_match;
        }
        /* samples.txt: what the model writes, from the prompt */
        if (status == TRAIN_OK && r->task->tok && s->sample_tokens > 0) {
            const Tokenizer *tok = r->task->tok;
            char e2[512];
            long np = tokenizer_encode(tok, s->prompt, strlen(s->prompt), NULL, 0, e2, sizeof e2);
            if (np > 0) {
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
                len++;
                rc = file_write_atomic(run_file(r, "samples.txt"), text, len, err, errlen);
                free(text);
                free(gen);
                free(ids);
                if (rc) status = TRAIN_ERROR;
            }
        }
    }
    res->peak_rss_mb = peak_rss_mb();
    const char *st = status == TRAIN_OK ? "finished" : status == TRAIN_INTERRUPTED ? "interrupted"
                   : status == TRAIN_DIVERGED ? "diverged" : "failed";
    char keep[1024];
    snprintf(keep, sizeof keep, "%s", err);
    if (write_run_json(r, st) != 0 && status == TRAIN_OK) status = TRAIN_ERROR;
    else if (status != TRAIN_OK) snprintf(err, errlen, "%s", keep);
    run_free(r);
    return status;
}
