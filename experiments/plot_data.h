/*
 * plot_data.h — reading what the trainer and the runner wrote, for the plots
 * and the report: small CSV tables read by column name, an experiment's runs
 * (from its summary.csv, with settings that do not apply to a run — the
 * distance of a text task, the positions of an RNN — cleared), and grouping
 * runs by configuration so that seeds
 * can be averaged (mean ± sd with gsl_stats).
 *
 * What this file is not: a general CSV library.  Fields may be double-quoted
 * ("a,b" and "" inside quotes are understood); "nan", "" and anything that
 * is not a number read as NAN.
 */
#ifndef SEQLAB_PLOT_DATA_H
#define SEQLAB_PLOT_DATA_H

#include <stddef.h>

/* ---------------------------------------------------------------- CSV ---- */

typedef struct CsvTable {
    int ncols, nrows;
    char **header;   /* (ncols) column names */
    char **cells;    /* (nrows, ncols) row-major; a short row is padded with "" */
} CsvTable;

/* NULL with a message naming the file in err when it cannot be read or has
 * no header */
CsvTable *csv_read(const char *path, char *err, size_t errlen);
void csv_free(CsvTable *t);
/* index of the column called name, or -1 */
int csv_col(const CsvTable *t, const char *name);
/* cell text ("" when col < 0) */
const char *csv_str(const CsvTable *t, int row, int col);
/* cell as a number; NAN when col < 0, empty, "nan" or not a number */
double csv_num(const CsvTable *t, int row, int col);

/* ---------------------------------------------------------- experiment -- */

/* one row of summary.csv: one training run */
typedef struct Run {
    char name[128];        /* the run's directory under the experiment */
    char model[32];        /* rnn, lstm, gru, transformer */
    char task[32];
    char tokenizer[32];    /* text tasks only; "" for the synthetic ones */
    char positions[32];    /* transformer only; "" for the recurrent models */
    double seq_len, eval_seq_len;
    double distance;       /* synthetic tasks only; NAN for text tasks */
    double clip, init_scale, threads, seed;
    double params, steps;
    double final_train_loss, final_val_loss, val_accuracy;
    double chance_loss, chance_accuracy, val_perplexity;
    double tokens_per_s, step_ms, seconds, peak_rss_mb, act_mb, critical_path;
    double attn_mb;        /* the attention matrices' bytes (Transformer); NAN otherwise */
    double vocab_size;     /* V (ln V: the loss of a uniform guess); NAN in older summaries */
    /* written by the runner after the measurements (older summaries lack
     * them: "" and NAN) */
    char group[64];        /* the [grid.NAME] the run came from */
    double hidden_size, num_layers, batch_size;
    double max_steps;      /* the budget; steps is what the run took (fewer when
                              it stopped early, solved); NAN in older summaries */
    /* the scaling laws' N (parameters outside the embedding, position and
     * head tables) and D (training tokens windows were cut from, the
     * train_fraction cut of the training split); NAN where absent */
    double non_embedding_params, train_fraction, train_tokens;
} Run;

typedef struct Experiment {
    char dir[1024];        /* runs/NAME */
    char name[128];
    char question[1024];
    char description[2048];
    char claims[1024];     /* the course claims it tests ("a, b, c"; "" = every one that applies) */
    Run *runs;             /* (nruns) in summary.csv order */
    int nruns;
} Experiment;

/* read exp_dir/experiment.json (optional: name defaults to the folder name)
 * and exp_dir/summary.csv (required).  0, or -1 with a message in err. */
int experiment_load(Experiment *e, const char *exp_dir, char *err, size_t errlen);
void experiment_free(Experiment *e);

/* path of a file inside a run's directory: exp_dir/run/file */
void run_path(char *out, size_t outlen, const Experiment *e, const Run *r, const char *file);

/* ------------------------------------------------------------ grouping -- */

/* the settings a group of runs can share or differ in; a mask of these says
 * which ones make two runs "the same configuration" for a figure */
enum {
    KEY_MODEL = 1 << 0,
    KEY_TASK = 1 << 1,
    KEY_TOKENIZER = 1 << 2,
    KEY_SEQ_LEN = 1 << 3,
    KEY_EVAL_SEQ_LEN = 1 << 4,
    KEY_DISTANCE = 1 << 5,
    KEY_POSITIONS = 1 << 6,
    KEY_CLIP = 1 << 7,
    KEY_INIT_SCALE = 1 << 8,
    KEY_THREADS = 1 << 9,
    KEY_STEPS = 1 << 10,
    KEY_GROUP = 1 << 11,
    KEY_HIDDEN = 1 << 12,
    KEY_LAYERS = 1 << 13,
    KEY_BATCH = 1 << 14,
    KEY_TRAIN_FRACTION = 1 << 15,
};
/* every key */
#define KEYS_ALL ((1u << 16) - 1)
/* every setting: runs equal under KEYS_SETTINGS & ~K are "identical but for
 * K" (and the seed).  The grid group is a name, not a setting: a
 * [grid.threads] that repeats [grid.timing] at 2 threads pairs up with it. */
#define KEYS_SETTINGS (KEYS_ALL & ~(unsigned)KEY_GROUP)
/* what separates panels of a learning-curve figure */
#define KEYS_PANEL (KEY_TASK | KEY_TOKENIZER | KEY_SEQ_LEN | KEY_EVAL_SEQ_LEN | KEY_DISTANCE | \
                    KEY_INIT_SCALE | KEY_STEPS | KEY_BATCH)
/* what separates lines inside one panel: the model and its variants
 * (another size or another cut of the data is another line, never a seed) */
#define KEYS_SERIES (KEY_MODEL | KEY_POSITIONS | KEY_CLIP | KEY_HIDDEN | KEY_LAYERS | KEY_TRAIN_FRACTION)

#define GROUP_MAX_RUNS 256

/* runs that share the settings in a mask (seeds and thread counts differ) */
typedef struct Group {
    char key[256];          /* machine key: the settings joined with '|' */
    char label[256];        /* for people: only the settings that vary, e.g. "rnn, no clip" */
    int idx[GROUP_MAX_RUNS];/* (n) indices into Experiment.runs */
    int n;
} Group;

/* group the runs listed in idx (n of them; idx NULL = every run) by mask.
 * Groups come in a fixed order: model order rnn, lstm, gru, transformer,
 * then by first appearance.  Labels name the model (if in `mask`), the task
 * (if in `mask` without the model: a panel's title), and the other settings
 * of `mask` whose value differs between the runs
 * listed — between the runs of the same model, if KEY_MODEL is in `mask`,
 * so "rnn, no clip" but plain lstm when only the RNN varies.  Labels stay
 * short: a panel reads "recall d=50" (the task, a space, then the settings),
 * the window T is left out where the distance implies it (recall, copy,
 * adding, assoc), the default init scale ×1 is left out, and the number of
 * steps is named only where two labels would otherwise be the same.
 * eval_seq_len separates runs only where it differs from seq_len.  Returns
 * the number of groups; *out is xmalloc'ed. */
int groups_make(const Experiment *e, const int *idx, int n, unsigned mask, Group **out);

/* 1 for the text tasks (chars, words, bytes, text): a tokenizer, no distance */
int task_is_text(const char *task);
/* the run's step budget: max_steps, or steps where the summary predates it */
double run_budget(const Run *r);

/* A timing run (a grid of a dozen steps that measures time and memory) says
 * nothing about learning: its budget is under this fraction of the
 * experiment's longest.  A short demonstration (150 steps of an exploding
 * RNN beside 800-step runs) is still a learning run. */
#define TIMING_BUDGET_FRACTION 0.1
/* 1 if r is a timing run of e (see TIMING_BUDGET_FRACTION) */
int run_is_timing(const Experiment *e, const Run *r);

/* 1 for the tasks with a distance d (recall, copy, adding, assoc) */
int task_has_distance(const char *task);

/* 1 for the tasks scored at (nearly) every position: the text tasks and
 * parity (not recall, copy, adding, assoc, whose loss sits at the end) */
int task_every_position(const char *task);

/* the model's place in the registry (core/registry.c), model_info_count()
 * for anything else: fixes the order of legends and the colours */
int model_order(const char *model);

/* the sentence an attention folder's tokens.txt (one token a line, a space
 * shown as U+2423, a newline as U+21B5, as `seqlab attention` writes it)
 * spells, for a title: characters joined as they are, words with a space
 * between them (none before , . ; : ? ! ) or after ( ); at most max_chars
 * characters, cut at a space where one is near and ended with "…".
 * 0, or -1 (out = "") if the file cannot be read or holds no tokens. */
int attention_sentence(const char *tokens_path, int max_chars, char *out, size_t outlen);

/* mean and sample sd of the finite values among x[0..n); returns how many
 * were finite (sd = 0 when fewer than two, mean = NAN when none) */
int stats_mean_sd(const double *x, int n, double *mean, double *sd);

#endif
