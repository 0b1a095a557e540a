/*
 * config.c — the settings table, value checking, INI files via libinih.
 */
#define _POSIX_C_SOURCE 200809L
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data.h"
#include "registry.h"
#include "util.h"

/* libinih reads a line into a buffer of INI_MAX_LINE bytes: a line (with its
 * newline) must fit, and so must every "key = value" line config.ini gets */
#define CONFIG_LINE_MAX (INI_MAX_LINE - 2)
/* libinih (ini.c: MAX_SECTION, MAX_NAME) keeps the first 49 bytes of a
 * section or key name and drops the rest without a word: longer names are
 * refused here, before two of them could merge */
#define INI_NAME_MAX 49

typedef enum { KEY_INT, KEY_LONG, KEY_ULONG, KEY_DOUBLE, KEY_STRING } KeyType;

typedef struct KeySpec {
    const char *name;
    KeyType type;
    size_t offset;
    size_t size;          /* strings: buffer size */
    double min, max;      /* numbers: allowed range */
    const char *choices;  /* strings: space-separated allowed values, or NULL */
    const char *help;
} KeySpec;

#define OFF(f) offsetof(Settings, f)
#define STR(f) OFF(f), sizeof(((Settings *)0)->f)

/* The absurd-size limits are there to catch typos (1e12 steps) before any
 * memory is asked for; memory itself is checked when it is allocated. */
static const KeySpec keys[] = {
    {"model", KEY_STRING, STR(model), 0, 0, NULL, NULL},   /* choices and help: the registry's */
    {"architecture", KEY_STRING, STR(architecture), 0, 0, "decoder encoder encoder-decoder",
     "architecture: decoder (causal), encoder (reads all at once), encoder-decoder"},
    {"task", KEY_STRING, STR(task), 0, 0,
     "chars words bytes text copy adding recall assoc parity mlm classify listops selective_copy translate reverse dates",
     "task: chars, words, bytes (text), copy, adding, recall, assoc, parity, mlm, classify, listops, "
     "selective_copy; translate, reverse, dates (pairs, architecture = encoder-decoder)"},
    {"corpus", KEY_STRING, STR(corpus), 0, 0, NULL, "text file for the text tasks"},
    {"tokenizer", KEY_STRING, STR(tokenizer), 0, 0, "bytes chars words", "tokenizer of task=text: bytes, chars, words"},
    {"vocab_limit", KEY_INT, OFF(vocab_limit), 0, 1, 1000000, NULL, "words: keep the K most frequent (plus <unk>)"},
    {"train_fraction", KEY_DOUBLE, OFF(train_fraction), 0, 1e-6, 1, NULL,
     "text tasks: train on this fraction of the training split, spread over it (validation unchanged)"},
    {"seq_len", KEY_INT, OFF(seq_len), 0, 1, 1000000, NULL, "training sequence length T"},
    {"eval_seq_len", KEY_INT, OFF(eval_seq_len), 0, 0, 1000000, NULL, "validation length (0: seq_len)"},
    {"batch_size", KEY_INT, OFF(batch_size), 0, 1, 100000, NULL, "sequences per batch B"},
    {"steps", KEY_LONG, OFF(steps), 0, 1, 1e9, NULL, "training steps"},
    {"embed_dim", KEY_INT, OFF(embed_dim), 0, 0, 1000000, NULL, "embedding width E (0: hidden_size)"},
    {"hidden_size", KEY_INT, OFF(hidden_size), 0, 1, 1000000, NULL, "hidden width H (Transformer: C)"},
    {"num_layers", KEY_INT, OFF(num_layers), 0, 0, 1000, NULL, "layers (0: 1 recurrent, 2 Transformer)"},
    {"num_heads", KEY_INT, OFF(num_heads), 0, 1, 1024, NULL, "Transformer attention heads"},
    {"ffn_size", KEY_INT, OFF(ffn_size), 0, 0, 10000000, NULL, "Transformer MLP width (0: 4C)"},
    {"positions", KEY_STRING, STR(positions), 0, 0, "sinusoidal learned none", "Transformer positions: sinusoidal, learned, none"},
    {"attention_impl", KEY_STRING, STR(attention_impl), 0, 0, "naive online",
     "Transformer attention: naive (stores the T x T probabilities) or online (O(T) memory)"},
    {"max_seq_len", KEY_INT, OFF(max_seq_len), 0, 0, 1000000, NULL, "Transformer position table rows (0: longest used)"},
    {"distance", KEY_INT, OFF(distance), 0, 1, 100000, NULL, "dependency distance d of synthetic tasks"},
    {"max_src_len", KEY_INT, OFF(max_src_len), 0, 0, 100000, NULL,
     "pairs: translate keeps sources of at most this many tokens (0: any); reverse's longest string"},
    {"max_tgt_len", KEY_INT, OFF(max_tgt_len), 0, 0, 100000, NULL,
     "pairs: translate keeps targets of at most this many tokens (0: any)"},
    {"optimizer", KEY_STRING, STR(optimizer), 0, 0, "sgd adam adamw", "optimizer: sgd, adam, adamw"},
    {"lr", KEY_DOUBLE, OFF(lr), 0, 0, 100, NULL, "peak learning rate"},
    {"weight_decay", KEY_DOUBLE, OFF(weight_decay), 0, 0, 10, NULL, "weight decay (AdamW: decoupled)"},
    {"momentum", KEY_DOUBLE, OFF(momentum), 0, 0, 0.9999, NULL, "SGD momentum"},
    {"warmup", KEY_INT, OFF(warmup), 0, 0, 1e9, NULL, "linear warm-up steps, then cosine decay"},
    {"clip", KEY_DOUBLE, OFF(clip), 0, 0, 1e9, NULL, "clip the global gradient norm (0: off)"},
    {"forget_bias", KEY_DOUBLE, OFF(forget_bias), 0, -100, 100, NULL, "LSTM initial forget-gate bias"},
    {"init_scale", KEY_DOUBLE, OFF(init_scale), 0, 0.001, 1000, NULL, "scale of recurrent weights' initial range"},
    {"attention", KEY_STRING, STR(attention), 0, 0, "none additive",
     "recurrent encoder-decoder: none (one context vector) or additive (Bahdanau)"},
    {"bidirectional", KEY_INT, OFF(bidirectional), 0, 0, 1, NULL, "recurrent encoder: 1 reads both ways"},
    {"pooling", KEY_STRING, STR(pooling), 0, 0, "mean last", "sequence classification: mean or last"},
    {"init_from", KEY_STRING, STR(init_from), 0, 0, NULL,
     "fine-tuning: copy tensors whose name and shape match from this checkpoint"},
    {"freeze_body", KEY_INT, OFF(freeze_body), 0, 0, 1, NULL, "fine-tuning: 1 trains the head only"},
    {"train_examples", KEY_INT, OFF(train_examples), 0, 0, 1e9, NULL,
     "classify: use only this many labelled training examples (0: all)"},
    {"seed", KEY_ULONG, OFF(seed), 0, 0, 4294967295.0, NULL, "random seed"},
    {"threads", KEY_INT, OFF(threads), 0, 1, 256, NULL, "BLAS threads"},
    {"eval_every", KEY_INT, OFF(eval_every), 0, 1, 1e9, NULL, "validate every k steps"},
    {"eval_batches", KEY_INT, OFF(eval_batches), 0, 1, 100000, NULL, "validation batches per evaluation"},
    {"stop_accuracy", KEY_DOUBLE, OFF(stop_accuracy), 0, 0, 1, NULL,
     "stop once validation accuracy reaches this (0: off)"},
    {"stop_loss", KEY_DOUBLE, OFF(stop_loss), 0, 0, 1e9, NULL, "stop once validation loss falls to this (0: off)"},
    {"log_every", KEY_INT, OFF(log_every), 0, 1, 1e9, NULL, "metrics.csv row every k steps"},
    {"grad_every", KEY_INT, OFF(grad_every), 0, 0, 1e9, NULL, "gradients.csv every k steps (0: first and last)"},
    {"save_every", KEY_INT, OFF(save_every), 0, 0, 1e9, NULL, "checkpoint every k steps (0: at the end)"},
    {"prompt", KEY_STRING, STR(prompt), 0, 0, NULL, "text that samples.txt starts from"},
    {"sample_tokens", KEY_INT, OFF(sample_tokens), 0, 0, 1000000, NULL, "tokens in samples.txt"},
    {"out", KEY_STRING, STR(out), 0, 0, NULL, "output directory of the run"},
};
#define NKEYS ((int)(sizeof keys / sizeof keys[0]))
_Static_assert(sizeof keys / sizeof keys[0] <= SETTINGS_MAX_KEYS, "raise SETTINGS_MAX_KEYS");

void settings_defaults(Settings *s)
{
    memset(s, 0, sizeof *s);
    strcpy(s->model, model_info_at(0)->name);
    strcpy(s->architecture, "decoder");
    strcpy(s->attention, "none");
    strcpy(s->pooling, "mean");
    strcpy(s->task, "chars");
    strcpy(s->corpus, "data/kjv.txt");
    strcpy(s->tokenizer, "chars");
    s->vocab_limit = 5000;
    s->train_fraction = 1.0;
    s->seq_len = 64;
    s->batch_size = 32;
    s->steps = 2000;
    s->hidden_size = 128;
    s->num_heads = 4;
    strcpy(s->positions, "sinusoidal");
    strcpy(s->attention_impl, "naive");
    s->distance = 50;
    strcpy(s->optimizer, "adamw");
    s->lr = 3e-3;
    s->warmup = 100;
    s->clip = 1.0;
    s->forget_bias = 2.0;   /* see lstm/README.md: 1.0 does not learn recall at d = 50 */
    s->init_scale = 1.0;
    s->seed = 1;
    s->threads = 1;
    s->eval_every = 200;
    s->eval_batches = 8;
    s->log_every = 20;
    strcpy(s->prompt, "And God said");
    s->sample_tokens = 400;
    strcpy(s->out, "runs/train");
}

int settings_count(void) { return NKEYS; }
const char *settings_key(int i) { return keys[i].name; }

/* the model setting's values and help come from the registry (core/registry.h) */
static const char *key_choices(const KeySpec *k)
{
    return k->offset == OFF(model) ? model_info_names() : k->choices;
}

const char *settings_help(int i)
{
    static char model_help[256];
    if (keys[i].offset != OFF(model)) return keys[i].help;
    if (!model_help[0]) snprintf(model_help, sizeof model_help, "model: %s", model_info_names_prose());
    return model_help;
}

static const KeySpec *find_key(const char *name)
{
    for (int i = 0; i < NKEYS; i++)
        if (strcmp(keys[i].name, name) == 0) return &keys[i];
    return NULL;
}

int settings_has_key(const char *key) { return find_key(key) != NULL; }

static int in_choices(const char *choices, const char *v)
{
    size_t n = strlen(v);
    const char *p = choices;
    while (*p) {
        const char *e = strchr(p, ' ');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == n && strncmp(p, v, n) == 0) return 1;
        if (!e) break;
        p = e + 1;
    }
    return 0;
}

/* why config.ini's "key = value" line could not give value back through
 * libinih, or NULL if it can: a line break ends the line, leading and
 * trailing white space is stripped, and ';' after white space (or first in
 * the value, which follows "= ") starts a comment */
static const char *value_unwritable(const char *v)
{
    size_t n = strlen(v);
    if (strpbrk(v, "\n\r")) return "holds a line break";
    if (n > 0 && (isspace((unsigned char)v[0]) || isspace((unsigned char)v[n - 1])))
        return "starts or ends with white space";
    if (v[0] == ';') return "starts with ';'";
    for (size_t i = 1; i < n; i++)
        if (v[i] == ';' && isspace((unsigned char)v[i - 1])) return "holds ';' after white space (a comment)";
    return NULL;
}

int settings_set(Settings *s, const char *key, const char *value, const char *where,
                 char *err, size_t errlen)
{
    const KeySpec *k = find_key(key);
    if (!k) {
        snprintf(err, errlen, "%s: unknown setting '%s' (see `seqlab train --help`)", where, key);
        return -1;
    }
    char *base = (char *)s + k->offset;
    if (k->type == KEY_STRING) {
        if (strlen(value) >= k->size) {
            snprintf(err, errlen, "%s: %s is too long (at most %zu characters)", where, key, k->size - 1);
            return -1;
        }
        /* config.ini must read back: "key = value" on one line */
        if (strlen(key) + 3 + strlen(value) > CONFIG_LINE_MAX) {
            snprintf(err, errlen, "%s: %s is too long (at most %zu characters, so that config.ini can be read back)",
                     where, key, CONFIG_LINE_MAX - 3 - strlen(key));
            return -1;
        }
        const char *why = value_unwritable(value);
        if (why) {
            snprintf(err, errlen, "%s: %s %s, which config.ini cannot hold (the run could not be resumed as it is)",
                     where, key, why);
            return -1;
        }
        const char *choices = key_choices(k);
        if (choices && !in_choices(choices, value)) {
            snprintf(err, errlen, "%s: %s = '%s' is not one of: %s", where, key, value, choices);
            return -1;
        }
        strcpy(base, value);
        s->given[k - keys] = 1;
        return 0;
    }
    char *end;
    errno = 0;
    double v = strtod(value, &end);
    while (*end == ' ' || *end == '\t') end++;
    if (end == value || *end != '\0' || errno == ERANGE || !isfinite(v)) {
        snprintf(err, errlen, "%s: %s = '%s' is not a number", where, key, value);
        return -1;
    }
    if (k->type != KEY_DOUBLE && v != floor(v)) {
        snprintf(err, errlen, "%s: %s = '%s' must be a whole number", where, key, value);
        return -1;
    }
    if (v < k->min || v > k->max) {
        snprintf(err, errlen, "%s: %s = %s is out of range [%g, %g]", where, key, value, k->min, k->max);
        return -1;
    }
    switch (k->type) {
    case KEY_INT: *(int *)base = (int)v; break;
    case KEY_LONG: *(long *)base = (long)v; break;
    case KEY_ULONG: *(unsigned long *)base = (unsigned long)v; break;
    case KEY_DOUBLE: *(double *)base = v; break;
    case KEY_STRING: break;
    }
    s->given[k - keys] = 1;
    return 0;
}

int settings_get(const Settings *s, const char *key, char *out, size_t outlen)
{
    const KeySpec *k = find_key(key);
    if (!k) return -1;
    const char *base = (const char *)s + k->offset;
    switch (k->type) {
    case KEY_INT: snprintf(out, outlen, "%d", *(const int *)base); break;
    case KEY_LONG: snprintf(out, outlen, "%ld", *(const long *)base); break;
    case KEY_ULONG: snprintf(out, outlen, "%lu", *(const unsigned long *)base); break;
    case KEY_DOUBLE: snprintf(out, outlen, "%.17g", *(const double *)base); break;
    case KEY_STRING: snprintf(out, outlen, "%s", base); break;
    }
    return 0;
}

int settings_option_key(const char *option, char *key, size_t keylen)
{
    if (strncmp(option, "--", 2) != 0) return -1;
    const char *p = option + 2;
    size_t n = strcspn(p, "=");
    if (n == 0 || n >= keylen) return -1;
    for (size_t i = 0; i < n; i++) key[i] = p[i] == '-' ? '_' : p[i];
    key[n] = '\0';
    return find_key(key) ? 0 : -1;
}

/* 1 for the tasks with one label per sequence */
static int is_classification_task(const char *task)
{
    return strcmp(task, "classify") == 0 || strcmp(task, "listops") == 0;
}

/* the combinations of the encoder settings that make no sense: 0, or -1
 * with a message naming the settings */
static int check_encoder_settings(const Settings *s, const ModelInfo *info, char *err, size_t errlen)
{
    int encoder = strcmp(s->architecture, "encoder") == 0;
    if (s->bidirectional && !info->recurrent) {
        snprintf(err, errlen, "bidirectional = 1 is for the recurrent models, not %s (which reads both "
                              "ways with architecture = encoder)", s->model);
        return -1;
    }
    if (s->bidirectional && !encoder) {
        snprintf(err, errlen, "bidirectional = 1 needs architecture = encoder (a bidirectional model "
                              "is not causal; architecture is '%s')", s->architecture);
        return -1;
    }
    if (encoder && info->recurrent && !s->bidirectional) {
        snprintf(err, errlen, "architecture = encoder with model %s needs bidirectional = 1 (a "
                              "one-way recurrent model is a decoder: architecture = decoder)", s->model);
        return -1;
    }
    if (strcmp(s->task, "mlm") == 0 && !encoder) {
        snprintf(err, errlen, "task mlm needs architecture = encoder (a %s model reads causally; "
                              "pre-train it with a next-token task such as chars or words)",
                 s->architecture);
        return -1;
    }
    if (encoder && strcmp(s->task, "mlm") != 0 && !is_classification_task(s->task)) {
        snprintf(err, errlen, "architecture = encoder with task %s: an encoder sees every position, "
                              "the next token included; use task mlm, classify or listops", s->task);
        return -1;
    }
    if (strcmp(s->pooling, "mean") != 0 && !is_classification_task(s->task)) {
        snprintf(err, errlen, "pooling = %s is for the sequence classification tasks (classify, "
                              "listops), not task %s", s->pooling, s->task);
        return -1;
    }
    if (s->train_examples > 0 && strcmp(s->task, "classify") != 0) {
        snprintf(err, errlen, "train_examples is for task classify, not task %s", s->task);
        return -1;
    }
    return 0;
}

int settings_resolve(Settings *s, char *err, size_t errlen)
{
    /* the text tasks chars, words and bytes name their tokenizer: another
     * one given beside them is a contradiction, not a choice */
    if (strcmp(s->task, "chars") == 0 || strcmp(s->task, "words") == 0 || strcmp(s->task, "bytes") == 0) {
        if (s->given[find_key("tokenizer") - keys] && strcmp(s->tokenizer, s->task) != 0) {
            snprintf(err, errlen, "task = %s and tokenizer = %s contradict each other: task %s reads %s "
                     "(for %s, use task = text with tokenizer = %s)", s->task, s->tokenizer, s->task, s->task,
                     s->tokenizer, s->tokenizer);
            return -1;
        }
        strcpy(s->tokenizer, s->task);
    }
    const ModelInfo *info = model_info_find(s->model);
    if (!info) {
        snprintf(err, errlen, "model = '%s' is not one of: %s", s->model, model_info_names());
        return -1;
    }
    /* the architectures the model's registry line says it can be built as */
    static const char *const arch_names[] = {[ARCH_DECODER] = "decoder", [ARCH_ENCODER] = "encoder",
                                             [ARCH_ENCODER_DECODER] = "encoder-decoder"};
    int arch = 0;
    while (arch < 3 && strcmp(s->architecture, arch_names[arch]) != 0) arch++;
    if (arch < 3 && !model_info_supports(info, (Architecture)arch)) {
        char can[64] = "";
        for (int a = 0; a < 3; a++)
            if (model_info_supports(info, (Architecture)a))
                snprintf(can + strlen(can), sizeof can - strlen(can), "%s%s", can[0] ? ", " : "", arch_names[a]);
        snprintf(err, errlen, "architecture = %s is not available for the %s (it is built as: %s)", s->architecture,
                 s->model, can);
        return -1;
    }
    if (s->num_layers == 0) s->num_layers = info->default_layers;
    if (s->embed_dim == 0) s->embed_dim = s->hidden_size;
    if (info->attention && s->ffn_size == 0) s->ffn_size = 4 * s->hidden_size;
    /* the model's own checks, on the widths as they will be built */
    ModelConfig mc = {.embed_dim = s->embed_dim, .hidden_size = s->hidden_size, .num_layers = s->num_layers,
                      .num_heads = s->num_heads, .ffn_size = s->ffn_size, .max_seq_len = s->max_seq_len};
    if (info->check && info->check(&mc, err, errlen) != 0) return -1;
    if (s->eval_every > 0 && s->log_every > s->eval_every) s->log_every = s->eval_every;
    if (s->warmup > s->steps) s->warmup = (int)s->steps;
    /* the encoder-decoder architecture and the pair tasks go together */
    int encdec = strcmp(s->architecture, "encoder-decoder") == 0;
    if (encdec && !info->encdec) {
        snprintf(err, errlen, "model = %s has no encoder-decoder (architecture = encoder-decoder)", s->model);
        return -1;
    }
    int pair_task = strcmp(s->task, "translate") == 0 || strcmp(s->task, "reverse") == 0 ||
                    strcmp(s->task, "dates") == 0;
    if (strcmp(s->task, "reverse") == 0 || strcmp(s->task, "dates") == 0) strcpy(s->tokenizer, "chars");
    if (pair_task != encdec) {
        if (pair_task)
            snprintf(err, errlen, "task = %s reads pairs and needs architecture = encoder-decoder "
                     "(got architecture = %s)", s->task, s->architecture);
        else
            snprintf(err, errlen, "architecture = encoder-decoder needs a task of pairs (translate, "
                     "reverse, dates), not task = %s", s->task);
        return -1;
    }
    if (strcmp(s->attention, "none") != 0 && !(encdec && info->recurrent)) {
        snprintf(err, errlen, "attention = %s is the recurrent encoder-decoder's (got model = %s, "
                 "architecture = %s)", s->attention, s->model, s->architecture);
        return -1;
    }
    if (encdec && s->bidirectional) {
        snprintf(err, errlen, "bidirectional = 1 with architecture = encoder-decoder: its encoder is "
                 "unidirectional (the decoder starts from the encoder's final state)");
        return -1;
    }
    if (check_encoder_settings(s, info, err, errlen) != 0) return -1;
    return 0;
}

/* 1 if `key` is a model-specific setting of some registered model */
static int model_specific(const char *key)
{
    for (int i = 0; i < model_info_count(); i++)
        if (model_info_uses(model_info_at(i), key)) return 1;
    return 0;
}

/* the names of the models that `key` applies to, comma-separated */
static void models_using(const char *key, char *out, size_t n)
{
    size_t used = 0;
    out[0] = '\0';
    for (int i = 0; i < model_info_count() && used < n; i++)
        if (model_info_uses(model_info_at(i), key))
            used += (size_t)snprintf(out + used, n - used, "%s%s", used ? ", " : "", model_info_at(i)->name);
}

int settings_report_unused(const Settings *s, FILE *f)
{
    Settings d;
    settings_defaults(&d);
    const ModelInfo *info = model_info_find(s->model);
    int count = 0;
    for (int i = 0; i < NKEYS; i++) {
        if (!s->given[i]) continue;
        char v[SETTING_STR_MAX + 32], dv[SETTING_STR_MAX + 32];
        settings_get(s, keys[i].name, v, sizeof v);
        settings_get(&d, keys[i].name, dv, sizeof dv);
        if (strcmp(v, dv) == 0) continue;   /* the default: nothing was asked for */
        const char *why = NULL;
        char only[256];
        if (info && model_specific(keys[i].name) && !model_info_uses(info, keys[i].name)) {
            models_using(keys[i].name, only, sizeof only);
            fprintf(f, "seqlab: warning: %s = %s does not apply to the %s (only to: %s); ignored\n", keys[i].name, v,
                    s->model, only);
            count++;
        } else if (!task_uses_setting(s->task, s->tokenizer, keys[i].name, &why)) {
            fprintf(f, "seqlab: warning: %s = %s does not apply to task %s (%s); ignored\n", keys[i].name, v, s->task,
                    why);
            count++;
        }
    }
    return count;
}

/* ---- INI files ------------------------------------------------------------ */

typedef struct IniState {
    Settings *s;
    const char *path;
    FILE *file;
    int line;
    const char *const *sections;
    IniOther on_other;
    void *user;
    char *err;
    size_t errlen;
    int failed;
    /* a section header that is not allowed, at this line (0: none); reported
     * here if no key follows it (a key reports it at its own line) */
    int bad_section_line;
    char bad_section[128];
    int after_key;   /* the last line that was not blank or a comment held a key */
    /* duplicate detection: "section\x1fkey" seen so far */
    char **seen;
    int nseen, capseen;
} IniState;

static int ini_section_allowed(IniState *st, const char *section);

/* reader for ini_parse_stream that counts lines, so every callback knows its
 * line.  It also refuses what libinih would misread silently: a line longer
 * than its buffer (the rest would be parsed as the next line), a NUL byte,
 * and a section header that is not allowed even when no key follows it.
 * Returning NULL after an error stops the parse. */
static int unknown_empty_section(IniState *st)
{
    if (st->bad_section_line == 0) return 0;
    snprintf(st->err, st->errlen, "%s:%d: unknown section [%s]", st->path, st->bad_section_line, st->bad_section);
    st->failed = 1;
    return 1;
}

static char *config_line_reader(char *str, int num, void *stream)
{
    IniState *st = stream;
    if (st->failed) return NULL;
    int c = EOF, n = 0;
    while (n < num - 1 && (c = getc(st->file)) != EOF) {
        if (c == '\0') {
            snprintf(st->err, st->errlen, "%s:%d: a NUL byte: not a text file", st->path, st->line + 1);
            st->failed = 1;
            return NULL;
        }
        str[n++] = (char)c;
        if (c == '\n') break;
    }
    if (n == 0) {
        unknown_empty_section(st);
        return NULL;
    }
    str[n] = '\0';
    st->line++;
    if (str[n - 1] != '\n' && (c = getc(st->file)) != EOF) {
        snprintf(st->err, st->errlen, "%s:%d: line is longer than %d characters", st->path, st->line,
                 CONFIG_LINE_MAX);
        st->failed = 1;
        return NULL;
    }
    /* a section header: [name] as the first thing on the line (after a BOM on line 1) */
    const char *p = str;
    if (st->line == 1 && strncmp(p, "\xEF\xBB\xBF", 3) == 0) p += 3;
    const char *text = p;
    while (*p == ' ' || *p == '\t') p++;
    int blank = *p == '\0' || *p == '\n' || *p == '\r' || *p == ';' || *p == '#';
    /* libinih reads an indented line after a key as more of that key's
     * value (its multi-line values): refused, it is never what was meant */
    if (!blank && p > text && st->after_key) {
        snprintf(st->err, st->errlen, "%s:%d: an indented line (libinih would read it as more of the value on the "
                 "line before); remove the indentation", st->path, st->line);
        st->failed = 1;
        return NULL;
    }
    const char *close = *p == '[' ? strchr(p, ']') : NULL;
    if (!blank) st->after_key = !close;
    if (*p == '[' && close && close - p - 1 > INI_NAME_MAX) {
        snprintf(st->err, st->errlen, "%s:%d: section name [%.20s...] is longer than %d characters (the reader "
                 "keeps only the first %d)", st->path, st->line, p + 1, INI_NAME_MAX, INI_NAME_MAX);
        st->failed = 1;
        return NULL;
    }
    if (!blank && *p != '[') {
        size_t name = strcspn(p, "=:");
        while (name > 0 && (p[name - 1] == ' ' || p[name - 1] == '\t')) name--;
        if (name > INI_NAME_MAX) {
            snprintf(st->err, st->errlen, "%s:%d: key '%.20s...' is longer than %d characters (the reader keeps "
                     "only the first %d)", st->path, st->line, p, INI_NAME_MAX, INI_NAME_MAX);
            st->failed = 1;
            return NULL;
        }
    }
    if (close) {
        if (unknown_empty_section(st)) return NULL;
        char section[128];
        snprintf(section, sizeof section, "%.*s", (int)(close - p - 1), p + 1);
        if (!ini_section_allowed(st, section)) {
            st->bad_section_line = st->line;
            snprintf(st->bad_section, sizeof st->bad_section, "%s", section);
        }
    }
    return str;
}

static int ini_section_allowed(IniState *st, const char *section)
{
    for (const char *const *p = st->sections; *p; p++) {
        size_t n = strlen(*p);
        if (strcmp(*p, section) == 0) return 1;
        /* "train.*" allows [train.lstm], [train.gru], ... */
        if (n >= 2 && strcmp(*p + n - 2, ".*") == 0 && strncmp(section, *p, n - 1) == 0 &&
            section[n - 1] != '\0')
            return 1;
    }
    return 0;
}

static int config_key_handler(void *user, const char *section, const char *name, const char *value)
{
    IniState *st = user;
    char where[SETTING_STR_MAX + 32];
    snprintf(where, sizeof where, "%s:%d", st->path, st->line);
    if (st->failed) return 0;
    st->bad_section_line = 0;
    if (!ini_section_allowed(st, section)) {
        snprintf(st->err, st->errlen, "%s: unknown section [%s]", where, section);
        st->failed = 1;
        return 0;
    }
    char id[256];
    snprintf(id, sizeof id, "%s\x1f%s", section, name);
    for (int i = 0; i < st->nseen; i++)
        if (strcmp(st->seen[i], id) == 0) {
            snprintf(st->err, st->errlen, "%s: duplicate key '%s' in [%s]", where, name, section);
            st->failed = 1;
            return 0;
        }
    if (st->nseen == st->capseen) {
        st->capseen = st->capseen ? 2 * st->capseen : 32;
        st->seen = xrealloc(st->seen, (size_t)st->capseen * sizeof *st->seen);
    }
    st->seen[st->nseen++] = xstrdup(id);
    int rc;
    if (strcmp(section, "train") == 0) {
        rc = settings_set(st->s, name, value, where, st->err, st->errlen);
    } else if (st->on_other == settings_ignore_other) {
        rc = 0;
    } else if (st->on_other) {
        rc = st->on_other(st->user, section, name, value, where, st->err, st->errlen);
    } else {
        snprintf(st->err, st->errlen, "%s: key '%s' outside the [train] section", where, name);
        rc = -1;
    }
    if (rc != 0) {
        st->failed = 1;
        return 0;
    }
    return 1;
}

int settings_load_ini(Settings *s, const char *path, const char *const *sections,
                      IniOther on_other, void *user, char *err, size_t errlen)
{
    static const char *const train_only[] = {"train", NULL};
    IniState st = {0};
    st.s = s;
    st.path = path;
    st.sections = sections ? sections : train_only;
    st.on_other = on_other;
    st.user = user;
    st.err = err;
    st.errlen = errlen;
    st.file = fopen(path, "r");
    if (!st.file) {
        snprintf(err, errlen, "cannot read config '%s': %s", path, strerror(errno));
        return -1;
    }
    int rc = ini_parse_stream(config_line_reader, &st, config_key_handler, &st);
    fclose(st.file);
    for (int i = 0; i < st.nseen; i++) free(st.seen[i]);
    free(st.seen);
    if (st.failed) return -1;
    if (rc != 0) {
        snprintf(err, errlen, "%s:%d: syntax error (expected [section] or key = value)", path, rc > 0 ? rc : st.line);
        return -1;
    }
    return 0;
}

void settings_write_ini(const Settings *s, FILE *f)
{
    char v[SETTING_STR_MAX + 32];
    fprintf(f, "[train]\n");
    for (int i = 0; i < NKEYS; i++) {
        settings_get(s, keys[i].name, v, sizeof v);
        fprintf(f, "%s = %s\n", keys[i].name, v);
    }
}

int settings_ignore_other(void *user, const char *section, const char *key, const char *value,
                          const char *where, char *err, size_t errlen)
{
    (void)user; (void)section; (void)key; (void)value; (void)where; (void)err; (void)errlen;
    return 0;
}

const char *const settings_experiment_sections[] = {"train", "train.*", "experiment", "grid", "grid.*",
                                                    "attention", NULL};
