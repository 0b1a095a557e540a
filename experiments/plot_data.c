/*
 * plot_data.c — CSV tables by column name, an experiment's runs, and groups
 * of runs for averaging over seeds.  See plot_data.h.
 */
#define _POSIX_C_SOURCE 200809L
#include "plot_data.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <gsl/gsl_statistics_double.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry.h"
#include "util.h"

/* ================================================================ CSV ==== */

/* split one line into fields (quotes understood); returns the count.
 * fields point into `line`, which is modified in place. */
static int csv_split(char *line, char ***fields, int *cap)
{
    int n = 0;
    char *p = line;
    for (;;) {
        if (n == *cap) {
            *cap = *cap ? 2 * *cap : 16;
            *fields = xrealloc(*fields, (size_t)*cap * sizeof **fields);
        }
        if (*p == '"') {            /* quoted field: "" is one quote */
            char *w = ++p, *start = p;
            while (*p) {
                if (*p == '"' && p[1] == '"') { *w++ = '"'; p += 2; }
                else if (*p == '"') { p++; break; }
                else *w++ = *p++;
            }
            char *next = strchr(p, ',');
            *w = '\0';
            (*fields)[n++] = start;
            if (!next) break;
            p = next + 1;
        } else {
            (*fields)[n++] = p;
            char *comma = strchr(p, ',');
            if (!comma) break;
            *comma = '\0';
            p = comma + 1;
        }
    }
    return n;
}

CsvTable *csv_read(const char *path, char *err, size_t errlen)
{
    size_t len;
    char *text = file_read_all(path, &len);
    if (!text) {
        snprintf(err, errlen, "cannot read '%s': %s", path, strerror(errno));
        return NULL;
    }
    CsvTable *t = xcalloc(1, sizeof *t);
    char **fields = NULL;
    int cap = 0, rowcap = 0;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        size_t l = strlen(line);
        if (l && line[l - 1] == '\r') line[--l] = '\0';
        if (!l) continue;
        int nf = csv_split(line, &fields, &cap);
        if (!t->header) {
            t->ncols = nf;
            t->header = xmalloc((size_t)nf * sizeof *t->header);
            for (int i = 0; i < nf; i++) t->header[i] = xstrdup(fields[i]);
            continue;
        }
        if (t->nrows == rowcap) {
            rowcap = rowcap ? 2 * rowcap : 64;
            t->cells = xrealloc(t->cells, (size_t)rowcap * (size_t)t->ncols * sizeof *t->cells);
        }
        char **row = t->cells + (size_t)t->nrows * (size_t)t->ncols;
        for (int i = 0; i < t->ncols; i++) row[i] = xstrdup(i < nf ? fields[i] : "");
        t->nrows++;
    }
    free(fields);
    free(text);
    if (!t->header) {
        snprintf(err, errlen, "'%s' is empty (no header row)", path);
        csv_free(t);
        return NULL;
    }
    return t;
}

void csv_free(CsvTable *t)
{
    if (!t) return;
    for (int i = 0; i < t->ncols; i++) free(t->header[i]);
    for (size_t i = 0; i < (size_t)t->nrows * (size_t)t->ncols; i++) free(t->cells[i]);
    free(t->header);
    free(t->cells);
    free(t);
}

int csv_col(const CsvTable *t, const char *name)
{
    for (int i = 0; i < t->ncols; i++)
        if (strcmp(t->header[i], name) == 0) return i;
    return -1;
}

const char *csv_str(const CsvTable *t, int row, int col)
{
    if (col < 0 || col >= t->ncols || row < 0 || row >= t->nrows) return "";
    return t->cells[(size_t)row * (size_t)t->ncols + (size_t)col];
}

double csv_num(const CsvTable *t, int row, int col)
{
    const char *s = csv_str(t, row, col);
    char *end;
    double v = strtod(s, &end);
    if (end == s || !isfinite(v)) return NAN;
    while (*end == ' ') end++;
    return *end ? NAN : v;
}

/* ========================================================= experiment ==== */

static void copy_str(char *dst, size_t n, const char *src)
{
    snprintf(dst, n, "%s", src ? src : "");
}

/* experiment.json: {"name", "question", "description"}; missing file or
 * keys leave the defaults */
static void experiment_read_json(Experiment *e)
{
    char path[1100];
    snprintf(path, sizeof path, "%s/experiment.json", e->dir);
    size_t len;
    char *text = file_read_all(path, &len);
    if (!text) return;
    cJSON *root = cJSON_Parse(text);
    free(text);
    if (!root) {
        fprintf(stderr, "seqlab plot: note: '%s' is not valid JSON; using the folder name\n", path);
        return;
    }
    const cJSON *v;
    if ((v = cJSON_GetObjectItemCaseSensitive(root, "name")) && cJSON_IsString(v))
        copy_str(e->name, sizeof e->name, v->valuestring);
    if ((v = cJSON_GetObjectItemCaseSensitive(root, "question")) && cJSON_IsString(v))
        copy_str(e->question, sizeof e->question, v->valuestring);
    if ((v = cJSON_GetObjectItemCaseSensitive(root, "description")) && cJSON_IsString(v))
        copy_str(e->description, sizeof e->description, v->valuestring);
    if ((v = cJSON_GetObjectItemCaseSensitive(root, "claims")) && cJSON_IsString(v))
        copy_str(e->claims, sizeof e->claims, v->valuestring);
    cJSON_Delete(root);
}

/* a text setting the runner marks as not applying: "nan" or "-" */
static int not_set(const char *v)
{
    return strcmp(v, "nan") == 0 || strcmp(v, "-") == 0;
}

int experiment_load(Experiment *e, const char *exp_dir, char *err, size_t errlen)
{
    memset(e, 0, sizeof *e);
    copy_str(e->dir, sizeof e->dir, exp_dir);
    size_t dl = strlen(e->dir);
    while (dl > 1 && e->dir[dl - 1] == '/') e->dir[--dl] = '\0';
    const char *base = strrchr(e->dir, '/');
    copy_str(e->name, sizeof e->name, base ? base + 1 : e->dir);
    experiment_read_json(e);

    char path[1100];
    snprintf(path, sizeof path, "%s/summary.csv", e->dir);
    CsvTable *t = csv_read(path, err, errlen);
    if (!t) return -1;
    int c_run = csv_col(t, "run"), c_model = csv_col(t, "model");
    if (c_run < 0 || c_model < 0) {
        snprintf(err, errlen, "'%s': header has no %s column", path, c_run < 0 ? "run" : "model");
        csv_free(t);
        return -1;
    }
    e->runs = xcalloc((size_t)(t->nrows ? t->nrows : 1), sizeof *e->runs);
#define NUM(field) r->field = csv_num(t, i, csv_col(t, #field))
    for (int i = 0; i < t->nrows; i++) {
        Run *r = &e->runs[e->nruns];
        copy_str(r->name, sizeof r->name, csv_str(t, i, c_run));
        copy_str(r->model, sizeof r->model, csv_str(t, i, c_model));
        if (!r->name[0] || !r->model[0]) continue;
        copy_str(r->task, sizeof r->task, csv_str(t, i, csv_col(t, "task")));
        copy_str(r->tokenizer, sizeof r->tokenizer, csv_str(t, i, csv_col(t, "tokenizer")));
        /* positions mean something only for a model with a position table */
        const ModelInfo *info = model_info_find(r->model);
        if (info && model_info_uses(info, "positions"))
            copy_str(r->positions, sizeof r->positions, csv_str(t, i, csv_col(t, "positions")));
        if (not_set(r->positions)) r->positions[0] = '\0';
        NUM(seq_len); NUM(eval_seq_len); NUM(distance); NUM(clip); NUM(init_scale);
        NUM(threads); NUM(seed); NUM(params); NUM(steps);
        NUM(final_train_loss); NUM(final_val_loss); NUM(val_accuracy);
        NUM(chance_loss); NUM(chance_accuracy); NUM(val_perplexity);
        NUM(tokens_per_s); NUM(step_ms); NUM(seconds); NUM(peak_rss_mb); NUM(act_mb);
        NUM(critical_path); NUM(attn_mb); NUM(vocab_size);
        copy_str(r->group, sizeof r->group, csv_str(t, i, csv_col(t, "group")));
        if (not_set(r->group)) r->group[0] = '\0';
        NUM(hidden_size); NUM(num_layers); NUM(batch_size); NUM(max_steps);
        NUM(non_embedding_params); NUM(train_fraction); NUM(train_tokens);
        /* the runner may write every setting for every run: keep what applies */
        if (task_is_text(r->task) || strcmp(r->task, "parity") == 0) r->distance = NAN;
        if (!task_is_text(r->task)) r->tokenizer[0] = '\0';
        if (not_set(r->tokenizer)) r->tokenizer[0] = '\0';
        e->nruns++;
    }
#undef NUM
    csv_free(t);
    return 0;
}

void experiment_free(Experiment *e)
{
    free(e->runs);
    e->runs = NULL;
    e->nruns = 0;
}

void run_path(char *out, size_t outlen, const Experiment *e, const Run *r, const char *file)
{
    snprintf(out, outlen, "%s/%s/%s", e->dir, r->name, file);
}

/* =========================================================== grouping ==== */

double run_budget(const Run *r) { return isfinite(r->max_steps) ? r->max_steps : r->steps; }

int run_is_timing(const Experiment *e, const Run *r)
{
    double most = 0;
    for (int i = 0; i < e->nruns; i++)
        if (run_budget(&e->runs[i]) > most) most = run_budget(&e->runs[i]);
    double b = run_budget(r);
    return most > 0 && isfinite(b) && b < TIMING_BUDGET_FRACTION * most;
}

int task_is_text(const char *task)
{
    static const char *text[] = {"chars", "words", "bytes", "text"};
    for (int i = 0; i < 4; i++)
        if (strcmp(task, text[i]) == 0) return 1;
    return 0;
}

int task_has_distance(const char *task)
{
    static const char *with[] = {"recall", "copy", "adding", "assoc"};
    for (int i = 0; i < 4; i++)
        if (strcmp(task, with[i]) == 0) return 1;
    return 0;
}

int task_every_position(const char *task)
{
    return task_is_text(task) || strcmp(task, "parity") == 0;
}

/* the window a synthetic task's distance implies (data/README.md), or NAN */
static double implied_seq_len(const Run *r)
{
    double d = r->distance;
    if (!isfinite(d)) return NAN;
    if (strcmp(r->task, "recall") == 0) return d + 1;
    if (strcmp(r->task, "copy") == 0) return d + 20;
    if (strcmp(r->task, "adding") == 0) return d;
    if (strcmp(r->task, "assoc") == 0) return 2 * d + 2;
    return NAN;
}

int model_order(const char *model)
{
    return model_info_index(model);
}

/* "%g" without a trailing ".0"; "nan" stays "nan" */
static void fmt_num(char *buf, size_t n, double v)
{
    if (isnan(v)) snprintf(buf, n, "nan");
    else snprintf(buf, n, "%g", v);
}

/* the value of one key setting of a run, as text */
static void key_value(const Run *r, unsigned key, char *buf, size_t n)
{
    switch (key) {
    case KEY_MODEL: copy_str(buf, n, r->model); break;
    case KEY_TASK: copy_str(buf, n, r->task); break;
    case KEY_TOKENIZER: copy_str(buf, n, r->tokenizer); break;
    case KEY_POSITIONS: copy_str(buf, n, r->positions); break;
    case KEY_SEQ_LEN: fmt_num(buf, n, r->seq_len); break;
    case KEY_EVAL_SEQ_LEN:   /* the usual eval_seq_len = seq_len says nothing more */
        if (r->eval_seq_len == r->seq_len) copy_str(buf, n, "=T");
        else fmt_num(buf, n, r->eval_seq_len);
        break;
    case KEY_DISTANCE: fmt_num(buf, n, r->distance); break;
    case KEY_CLIP: fmt_num(buf, n, r->clip); break;
    case KEY_INIT_SCALE: fmt_num(buf, n, r->init_scale); break;
    case KEY_THREADS: fmt_num(buf, n, r->threads); break;
    case KEY_STEPS: fmt_num(buf, n, run_budget(r)); break;
    case KEY_GROUP: copy_str(buf, n, r->group); break;
    case KEY_HIDDEN: fmt_num(buf, n, r->hidden_size); break;
    case KEY_LAYERS: fmt_num(buf, n, r->num_layers); break;
    case KEY_BATCH: fmt_num(buf, n, r->batch_size); break;
    case KEY_TRAIN_FRACTION: fmt_num(buf, n, r->train_fraction); break;
    default: buf[0] = '\0';
    }
}

/* how a setting reads in a label: "T=32", "d=8" (distance), "no clip" */
static void key_label(const Run *r, unsigned key, char *buf, size_t n)
{
    char v[64];
    key_value(r, key, v, sizeof v);
    if (strcmp(v, "nan") == 0 || !v[0]) { buf[0] = '\0'; return; }
    switch (key) {
    case KEY_SEQ_LEN:     /* recall d=50 is T=51: no need to say it */
        if (r->seq_len == implied_seq_len(r)) buf[0] = '\0';
        else snprintf(buf, n, "T=%s", v);
        break;
    case KEY_TOKENIZER:   /* "chars, chars" says nothing twice */
        if (strcmp(r->tokenizer, r->task) == 0) buf[0] = '\0';
        else snprintf(buf, n, "%s tokens", v);
        break;
    case KEY_EVAL_SEQ_LEN:
        if (r->eval_seq_len == r->seq_len) buf[0] = '\0';
        else snprintf(buf, n, "eval T=%s", v);
        break;
    case KEY_DISTANCE: snprintf(buf, n, "d=%s", v); break;
    case KEY_POSITIONS: snprintf(buf, n, strcmp(v, "none") == 0 ? "no positions" : "%s positions", v); break;
    case KEY_CLIP:
        if (r->clip == 0) snprintf(buf, n, "no clip");
        else snprintf(buf, n, "clip %s", v);
        break;
    case KEY_INIT_SCALE:  /* init ×2; the default ×1 goes without saying */
        if (r->init_scale == 1) buf[0] = '\0';
        else snprintf(buf, n, "init \xc3\x97%s", v);
        break;
    case KEY_THREADS: snprintf(buf, n, "%s thread%s", v, r->threads == 1 ? "" : "s"); break;
    case KEY_STEPS: snprintf(buf, n, "%s steps", v); break;
    case KEY_GROUP: snprintf(buf, n, "grid %s", v); break;
    case KEY_HIDDEN: snprintf(buf, n, "H=%s", v); break;
    case KEY_LAYERS: snprintf(buf, n, "%s layer%s", v, r->num_layers == 1 ? "" : "s"); break;
    case KEY_BATCH: snprintf(buf, n, "batch %s", v); break;
    case KEY_TRAIN_FRACTION: snprintf(buf, n, "%g%% of the data", 100 * r->train_fraction); break;
    default: copy_str(buf, n, v);
    }
}

static const unsigned key_list[] = {KEY_MODEL,   KEY_TASK,         KEY_TOKENIZER, KEY_SEQ_LEN,
                                    KEY_EVAL_SEQ_LEN, KEY_DISTANCE, KEY_POSITIONS, KEY_CLIP,
                                    KEY_INIT_SCALE, KEY_HIDDEN,  KEY_LAYERS,    KEY_BATCH,
                                    KEY_THREADS, KEY_STEPS,        KEY_GROUP, KEY_TRAIN_FRACTION};
enum { NKEYS = sizeof key_list / sizeof key_list[0] };

/* does setting `key` take more than one value among the listed runs (those
 * of `model` only, if model is not NULL)?  Positions count only where set
 * (the transformer's). */
static int key_varies(const Experiment *e, const int *idx, int n, unsigned key, const char *model)
{
    char first[64], v[64];
    int seen = 0;
    for (int i = 0; i < n; i++) {
        const Run *r = &e->runs[idx[i]];
        if (model && strcmp(r->model, model) != 0) continue;
        key_value(r, key, v, sizeof v);
        if (key == KEY_POSITIONS && !v[0]) continue;
        if (!seen++) copy_str(first, sizeof first, v);
        else if (strcmp(first, v) != 0) return 1;
    }
    return 0;
}

static int group_cmp(const void *a, const void *b)
{
    const Group *ga = a, *gb = b;
    return ga->idx[0] - gb->idx[0];
}

/* a group's label: the settings in `shown` (plus the model and, on a panel,
 * the task) as people read them: "rnn, no clip", "recall d=20, init ×2" */
static void group_label(const Run *r, unsigned mask, unsigned shown, char *lab, size_t cap)
{
    lab[0] = '\0';
    int task_first = 0;
    for (int k = 0; k < NKEYS; k++) {
        unsigned kk = key_list[k];
        /* the model always; the task always on a panel (no model in the
         * mask); anything else only where shown */
        int always = kk == KEY_MODEL || (kk == KEY_TASK && !(mask & KEY_MODEL));
        if (!(mask & kk) || (!always && !(shown & kk))) continue;
        char part[96];
        key_label(r, kk, part, sizeof part);
        if (!part[0]) continue;
        size_t l = strlen(lab);
        /* "recall d=50": the task, then its settings */
        const char *sep = !l ? "" : task_first ? " " : ", ";
        snprintf(lab + l, cap - l, "%s%s", sep, part);
        task_first = l == 0 && kk == KEY_TASK;
    }
}

int groups_make(const Experiment *e, const int *idx_in, int n, unsigned mask, Group **out)
{
    int *idx = xmalloc((size_t)(n > 0 ? n : 1) * sizeof *idx);
    if (idx_in) memcpy(idx, idx_in, (size_t)n * sizeof *idx);
    else for (int i = 0; i < n; i++) idx[i] = i;

    Group *g = xcalloc((size_t)(n > 0 ? n : 1), sizeof *g);
    unsigned *varying = xcalloc((size_t)(n > 0 ? n : 1), sizeof *varying);
    int ng = 0;
    for (int i = 0; i < n; i++) {
        const Run *r = &e->runs[idx[i]];
        char key[256] = "", v[64];
        for (int k = 0; k < NKEYS; k++) {
            if (!(mask & key_list[k])) continue;
            key_value(r, key_list[k], v, sizeof v);
            size_t l = strlen(key);
            snprintf(key + l, sizeof key - l, "%s|", v);
        }
        int j = 0;
        while (j < ng && strcmp(g[j].key, key) != 0) j++;
        if (j == ng) {
            copy_str(g[j].key, sizeof g[j].key, key);
            /* label: what varies — among the runs of this model, when the
             * model is in the mask; the step count only where needed (below) */
            const char *within = (mask & KEY_MODEL) ? r->model : NULL;
            for (int k = 0; k < NKEYS; k++)
                if ((mask & key_list[k]) && key_varies(e, idx, n, key_list[k], within))
                    varying[j] |= key_list[k];
            group_label(r, mask, varying[j] & ~KEY_STEPS, g[j].label, sizeof g[j].label);
            ng++;
        }
        if (g[j].n < GROUP_MAX_RUNS) g[j].idx[g[j].n++] = idx[i];
    }
    /* two labels alike that differ in steps: both name their steps */
    int *clash = xcalloc((size_t)(ng > 0 ? ng : 1), sizeof *clash);
    for (int a = 0; a < ng; a++)
        for (int b = a + 1; b < ng; b++)
            if (strcmp(g[a].label, g[b].label) == 0) clash[a] = clash[b] = 1;
    for (int a = 0; a < ng; a++)
        if (clash[a] && (varying[a] & KEY_STEPS))
            group_label(&e->runs[g[a].idx[0]], mask, varying[a], g[a].label, sizeof g[a].label);
    free(clash);
    free(varying);
    /* model order first, then first appearance (stable: insertion sort) */
    qsort(g, (size_t)ng, sizeof *g, group_cmp);
    for (int i = 1; i < ng; i++) {
        Group tmp = g[i];
        int oi = model_order(e->runs[tmp.idx[0]].model), j = i - 1;
        while (j >= 0 && model_order(e->runs[g[j].idx[0]].model) > oi) { g[j + 1] = g[j]; j--; }
        g[j + 1] = tmp;
    }
    free(idx);
    *out = g;
    return ng;
}

int stats_mean_sd(const double *x, int n, double *mean, double *sd)
{
    double *f = xmalloc((size_t)(n > 0 ? n : 1) * sizeof *f);
    int m = 0;
    for (int i = 0; i < n; i++)
        if (isfinite(x[i])) f[m++] = x[i];
    *mean = m ? gsl_stats_mean(f, 1, (size_t)m) : NAN;
    *sd = m > 1 ? gsl_stats_sd(f, 1, (size_t)m) : 0;
    free(f);
    return m;
}

/* ===================================================== attention text ==== */

/* characters (code points) in a UTF-8 string: bytes that do not continue one */
static size_t utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++) n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

int attention_sentence(const char *tokens_path, int max_chars, char *out, size_t outlen)
{
    static const char *space_mark = "\xe2\x90\xa3", *newline_mark = "\xe2\x86\xb5";
    out[0] = '\0';
    size_t len;
    char *text = file_read_all(tokens_path, &len);
    if (!text) return -1;
    /* one token a line; the marks back to what they stand for */
    char **tok = NULL;
    int n = 0, cap = 0, chars = 1;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        size_t l = strlen(line);
        if (l && line[l - 1] == '\r') line[--l] = '\0';
        if (!l) continue;
        if (strcmp(line, space_mark) == 0 || strcmp(line, newline_mark) == 0) line = " ";
        if (n == cap) { cap = cap ? 2 * cap : 64; tok = xrealloc(tok, (size_t)cap * sizeof *tok); }
        tok[n++] = line;
        if (utf8_chars(line) > 1) chars = 0;   /* a word tokenizer */
    }
    /* the sentence, in full */
    size_t cap_s = len + (size_t)n + 1, o = 0;
    char *s = xmalloc(cap_s);
    s[0] = '\0';
    for (int i = 0; i < n; i++) {
        const char *t = tok[i];
        int space = !chars && o > 0 && !strchr(",.;:?!)", t[0]) && s[o - 1] != '(';
        o += (size_t)snprintf(s + o, cap_s - o, "%s%s", space ? " " : "", t);
    }
    free(tok);
    free(text);
    if (!n) { free(s); return -1; }
    /* at most max_chars characters: cut at a space in the last third, if any */
    size_t keep = 0, seen = 0, last_space = 0;
    int cut = 0;
    for (size_t i = 0; s[i]; i++) {
        if (((unsigned char)s[i] & 0xC0) != 0x80) {
            if (seen == (size_t)max_chars) { cut = 1; break; }
            seen++;
            if (s[i] == ' ' && seen > (size_t)max_chars * 2 / 3) last_space = i;
        }
        keep = i + 1;
    }
    if (cut && last_space) keep = last_space;
    while (cut && keep > 0 && strchr(" ,;:", s[keep - 1])) keep--;
    snprintf(out, outlen, "%.*s%s", (int)keep, s, cut ? "\xe2\x80\xa6" : "");   /* … */
    free(s);
    return 0;
}
