/*
 * config.h — every setting seqlab knows, with one name everywhere.
 *
 * The same key is used in an .ini file's [train] section, in run.json, in
 * checkpoint metadata, and as a command-line option with '_' written '-'
 * (`--hidden-size 256`).  Values are checked when set; an error names the
 * file and line, or the option, and the allowed range.
 *
 * What this file is not: the experiment grid (experiments/runner.c reads the
 * [experiment] and [grid] sections with the same parser).
 */
#ifndef SEQLAB_CONFIG_H
#define SEQLAB_CONFIG_H

#include <stddef.h>
#include <stdio.h>

#define SETTING_STR_MAX 512
/* room for the settings table's keys (config.c checks it) */
#define SETTINGS_MAX_KEYS 64

typedef struct Settings {
    char model[16];          /* a registered model (core/registry.h) */
    char architecture[24];   /* decoder, encoder, encoder-decoder */
    char task[16];           /* chars, words, bytes, copy, adding, recall, assoc, parity,
                              * mlm, classify, listops, selective_copy */
    char corpus[SETTING_STR_MAX];
    char tokenizer[16];      /* bytes, chars, words (text tasks; chars/words/bytes tasks set it) */
    int vocab_limit;
    double train_fraction;   /* text tasks: train on a fraction f of the training split, spread over it (1: all) */
    int seq_len;
    int eval_seq_len;        /* 0: same as seq_len */
    int batch_size;
    long steps;
    int embed_dim;           /* 0: same as hidden_size */
    int hidden_size;
    int num_layers;          /* 0: the model's default (its registry line) */
    int num_heads;
    int ffn_size;            /* 0: 4 * hidden_size */
    char positions[16];      /* sinusoidal, learned, none */
    char attention_impl[16]; /* Transformer: naive (stores P, T x T), online (O(T) memory) */
    int max_seq_len;         /* 0: the longest sequence the run uses */
    int distance;
    int max_src_len;         /* pairs: longest source kept (translate) or drawn (reverse); 0: any */
    int max_tgt_len;         /* pairs: longest target kept (translate); 0: any */
    char optimizer[16];      /* sgd, adam, adamw */
    double lr;
    double weight_decay;
    double momentum;         /* sgd */
    int warmup;
    double clip;             /* 0: no clipping */
    double forget_bias;      /* LSTM */
    double init_scale;       /* scales the recurrent weights' initial range */
    char attention[16];      /* recurrent encoder-decoder: none, additive */
    int bidirectional;       /* recurrent encoder: 1 reads both ways */
    char pooling[16];        /* sequence classification: mean, last */
    char init_from[SETTING_STR_MAX]; /* fine-tuning: start matching tensors from this checkpoint */
    int freeze_body;         /* fine-tuning: 1 trains only the head (a linear probe) */
    int train_examples;      /* classify: labelled training examples used (0: all) */
    unsigned long seed;
    int threads;
    int eval_every;
    int eval_batches;
    double stop_accuracy;    /* stop once validation accuracy reaches this (0: off) */
    double stop_loss;        /* stop once validation loss falls to this (0: off) */
    int log_every;
    int grad_every;          /* also write gradients.csv rows every k steps (0: only first and last) */
    int save_every;          /* checkpoint every k steps (0: only at the end) */
    char prompt[SETTING_STR_MAX]; /* samples.txt starts from this text */
    int sample_tokens;
    char out[SETTING_STR_MAX];
    /* per key (settings_key order): 1 once settings_set gave it a value (a
     * file or an option), 0 while it holds its default */
    unsigned char given[SETTINGS_MAX_KEYS];
} Settings;

void settings_defaults(Settings *s);

/* set key = value; `where` names the source for messages ("quick.ini:12" or
 * "--hidden-size").  0 on success, -1 with a message in err. */
int settings_set(Settings *s, const char *key, const char *value, const char *where,
                 char *err, size_t errlen);
/* the value of key as text (for run.json, checkpoints, config.ini) */
int settings_get(const Settings *s, const char *key, char *out, size_t outlen);
int settings_has_key(const char *key);

/* number of keys and the i-th key's name and one-line help */
int settings_count(void);
const char *settings_key(int i);
const char *settings_help(int i);

/* resolve the automatic values (0 = derived) for a model; checks the
 * combination (heads divide the width, ...) and refuses settings given that
 * contradict each other (task = chars with tokenizer = bytes), naming both.
 * 0 or -1 + err. */
int settings_resolve(Settings *s, char *err, size_t errlen);

/* Settings given (settings_set) with a value other than the default that the
 * chosen model (core/registry.h) or task (data/data.h) ignores: one line
 * each to f, "seqlab: warning: num_heads = 8 does not apply to the lstm ...".
 * Returns how many.  `seqlab train` prints them and goes on: a warning,
 * not an error, so one experiment file can give settings for several
 * models. */
int settings_report_unused(const Settings *s, FILE *f);

/* INI parsing.  Sections other than those listed in `sections` are errors.
 * For each key in [train] the value is applied to s; for every other listed
 * section, on_other(user, section, key, value, where) is called (NULL: such
 * sections must be empty).  Unknown keys, bad values and duplicate keys are
 * errors naming file and line.  Returns 0 or -1 + err. */
typedef int (*IniOther)(void *user, const char *section, const char *key, const char *value,
                        const char *where, char *err, size_t errlen);
int settings_load_ini(Settings *s, const char *path, const char *const *sections,
                      IniOther on_other, void *user, char *err, size_t errlen);

/* an IniOther that accepts and ignores everything: `seqlab train --config`
 * on an experiment file reads its [train] section only */
int settings_ignore_other(void *user, const char *section, const char *key, const char *value,
                          const char *where, char *err, size_t errlen);
/* the sections an experiment file may have ("x.*" = any [x.NAME]) */
extern const char *const settings_experiment_sections[];

/* write the [train] section with every key (resolved config.ini) */
void settings_write_ini(const Settings *s, FILE *f);

/* "--hidden-size" -> "hidden_size" (into key, size keylen); 0 if it names a
 * setting, -1 otherwise */
int settings_option_key(const char *option, char *key, size_t keylen);

#endif
