/*
 * runner.c — reading an experiment file and expanding its grid (runner.h).
 */
#define _POSIX_C_SOURCE 200809L
#include "runner.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "data.h"
#include "registry.h"
#include "util.h"

#define MAX_GROUPS 32
#define MAX_AXES 16
#define MAX_VALUES 64
#define MAX_MODEL_KEYS 64

typedef struct Axis {
    char key[64];
    int nvalues;
    char values[MAX_VALUES][128];
} Axis;

typedef struct GridGroup {
    char name[64];
    Axis axes[MAX_AXES];
    int naxes;
} GridGroup;

/* a setting of [train.MODEL] (group "") or [train.MODEL.GROUP] (that grid
 * group only, applied after the model's general settings) */
typedef struct ModelKey {
    char model[16], group[64], key[64], value[SETTING_STR_MAX];
} ModelKey;

typedef struct Parse {
    ExpPlan *e;
    GridGroup groups[MAX_GROUPS];
    int ngroups;
    ModelKey mkeys[MAX_MODEL_KEYS];
    int nmkeys;
} Parse;

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t') s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t')) s[--n] = '\0';
    return s;
}

static int on_section_key(void *user, const char *section, const char *key, const char *value,
                          const char *where, char *err, size_t errlen)
{
    Parse *p = user;
    ExpPlan *e = p->e;
    Settings scratch;
    settings_defaults(&scratch);
    if (strcmp(section, "experiment") == 0) {
        if (strcmp(key, "name") == 0) {
            if (strlen(value) >= sizeof e->name) {
                snprintf(err, errlen, "%s: name is longer than %zu characters", where, sizeof e->name - 1);
                return -1;
            }
            snprintf(e->name, sizeof e->name, "%s", value);
        }
        else if (strcmp(key, "question") == 0) snprintf(e->question, sizeof e->question, "%s", value);
        else if (strcmp(key, "description") == 0) snprintf(e->description, sizeof e->description, "%s", value);
        else if (strcmp(key, "claims") == 0) snprintf(e->claims, sizeof e->claims, "%s", value);
        else {
            snprintf(err, errlen, "%s: unknown key '%s' in [experiment] (name, question, description, claims)",
                     where, key);
            return -1;
        }
        return 0;
    }
    if (strcmp(section, "attention") == 0) {
        /* sentences = A | B, or one per key: sentence1 = A, sentence2 = B
         * (inih reads lines of at most 200 characters) */
        if (strncmp(key, "sentence", 8) != 0) {
            snprintf(err, errlen, "%s: unknown key '%s' in [attention] (sentences, sentence1, sentence2, ...)",
                     where, key);
            return -1;
        }
        /* '|' separates the sentences of one key: inside sentenceN it would split one */
        if (strcmp(key, "sentences") != 0 && strchr(value, '|')) {
            snprintf(err, errlen, "%s: %s holds '|', which separates sentences", where, key);
            return -1;
        }
        size_t n = strlen(e->sentences);
        if (n + strlen(value) + 2 >= sizeof e->sentences) {
            snprintf(err, errlen, "%s: too many attention sentences", where);
            return -1;
        }
        snprintf(e->sentences + n, sizeof e->sentences - n, "%s%s", n ? "|" : "", value);
        return 0;
    }
    if (strncmp(section, "train.", 6) == 0) {
        /* [train.MODEL] or [train.MODEL.GROUP] */
        const char *name = section + 6, *dot = strchr(name, '.');
        int mlen = dot ? (int)(dot - name) : (int)strlen(name);
        const char *group = dot ? dot + 1 : "";
        char model[16] = "";
        if (mlen < (int)sizeof model) snprintf(model, sizeof model, "%.*s", mlen, name);
        if (!model[0] || settings_set(&scratch, "model", model, where, err, errlen) != 0) {
            snprintf(err, errlen, "%s: [%s] names no model (rnn, lstm, gru, transformer)", where, section);
            return -1;
        }
        if (settings_set(&scratch, key, value, where, err, errlen) != 0) return -1;
        if (p->nmkeys == MAX_MODEL_KEYS) {
            snprintf(err, errlen, "%s: too many per-model settings", where);
            return -1;
        }
        ModelKey *mk = &p->mkeys[p->nmkeys++];
        snprintf(mk->model, sizeof mk->model, "%s", model);
        snprintf(mk->group, sizeof mk->group, "%s", group);
        snprintf(mk->key, sizeof mk->key, "%s", key);
        snprintf(mk->value, sizeof mk->value, "%s", value);
        return 0;
    }
    /* [grid] or [grid.GROUP] */
    const char *gname = strcmp(section, "grid") == 0 ? "" : section + 5;
    GridGroup *g = NULL;
    for (int i = 0; i < p->ngroups; i++)
        if (strcmp(p->groups[i].name, gname) == 0) g = &p->groups[i];
    if (!g) {
        if (p->ngroups == MAX_GROUPS) {
            snprintf(err, errlen, "%s: too many grid groups (at most %d)", where, MAX_GROUPS);
            return -1;
        }
        g = &p->groups[p->ngroups++];
        memset(g, 0, sizeof *g);
        snprintf(g->name, sizeof g->name, "%s", gname);
    }
    if (!settings_has_key(key)) {
        snprintf(err, errlen, "%s: unknown setting '%s' in [%s]", where, key, section);
        return -1;
    }
    if (strcmp(key, "out") == 0) {
        snprintf(err, errlen, "%s: 'out' is set by the runner (runs/NAME/RUN)", where);
        return -1;
    }
    if (g->naxes == MAX_AXES) {
        snprintf(err, errlen, "%s: too many keys in [%s]", where, section);
        return -1;
    }
    Axis *a = &g->axes[g->naxes++];
    memset(a, 0, sizeof *a);
    snprintf(a->key, sizeof a->key, "%s", key);
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", value);
    char *save = NULL;
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *v = trim(tok);
        if (*v == '\0') {
            snprintf(err, errlen, "%s: empty value in the list for '%s'", where, key);
            return -1;
        }
        if (a->nvalues == MAX_VALUES) {
            snprintf(err, errlen, "%s: too many values for '%s' (at most %d)", where, key, MAX_VALUES);
            return -1;
        }
        /* each value is checked now, with the line it came from */
        if (settings_set(&scratch, key, v, where, err, errlen) != 0) return -1;
        if (strlen(v) >= sizeof a->values[0]) {
            snprintf(err, errlen, "%s: a value of the list for '%s' is longer than %zu characters", where, key,
                     sizeof a->values[0] - 1);
            return -1;
        }
        snprintf(a->values[a->nvalues++], sizeof a->values[0], "%s", v);
    }
    if (a->nvalues == 0) {
        snprintf(err, errlen, "%s: no values for '%s'", where, key);
        return -1;
    }
    return 0;
}

static int is_text_task(const char *task)
{
    return !strcmp(task, "chars") || !strcmp(task, "words") || !strcmp(task, "bytes") || !strcmp(task, "text") ||
           !strcmp(task, "mlm") || !strcmp(task, "classify");
}

/* a cheap check of what would otherwise fail only when the run starts */
static int check_run(const ExpPlan *e, GridRun *r, char *err, size_t errlen)
{
    char e2[1024];
    Settings s = r->s;
    if (settings_resolve(&s, e2, sizeof e2) != 0) {
        snprintf(err, errlen, "%s: run %s: %s", e->path, r->name, e2);
        return -1;
    }
    if (is_text_task(s.task)) {
        struct stat st;
        if (stat(s.corpus, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size == 0) {
            snprintf(err, errlen, "%s: run %s: corpus '%s' is missing or empty%s", e->path, r->name, s.corpus,
                     strncmp(s.corpus, "data/kjv", 8) == 0 ? " (run `make data` first)" : "");
            return -1;
        }
    } else {
        TaskConfig tc = {s.task, s.corpus, s.tokenizer, s.vocab_limit, s.seq_len, s.eval_seq_len, s.distance,
                         s.train_examples, s.train_fraction, s.max_src_len, s.max_tgt_len};
        Task *t = task_create(&tc, e2, sizeof e2);
        if (!t) {
            snprintf(err, errlen, "%s: run %s: %s", e->path, r->name, e2);
            return -1;
        }
        int longest = t->seq_len > t->eval_seq_len ? t->seq_len : t->eval_seq_len;
        task_free(t);
        if (model_info_find(s.model)->position_table && s.max_seq_len > 0 && longest > s.max_seq_len) {
            snprintf(err, errlen, "%s: run %s: the task's sequences (%d) are longer than max_seq_len %d",
                     e->path, r->name, longest, s.max_seq_len);
            return -1;
        }
    }
    return 0;
}

/* append " WORD" to a growing string, WORD shell-quoted */
static void append_word(char **buf, size_t *len, size_t *cap, const char *word)
{
    size_t need = shell_quote(NULL, 0, word);
    while (*len + need + 2 > *cap) {
        *cap = *cap ? 2 * *cap : 256;
        *buf = xrealloc(*buf, *cap);
    }
    if (*len > 0) (*buf)[(*len)++] = ' ';
    shell_quote(*buf + *len, *cap - *len, word);
    *len += need;
}

char *plan_command(const ExpPlan *e, int i)
{
    const GridRun *r = &e->runs[i];
    char *buf = NULL, bv[SETTING_STR_MAX + 32], sv[SETTING_STR_MAX + 32];
    size_t len = 0, cap = 0;
    char word[SETTING_STR_MAX + 128];
    append_word(&buf, &len, &cap, "seqlab");
    append_word(&buf, &len, &cap, "train");
    append_word(&buf, &len, &cap, "--config");
    append_word(&buf, &len, &cap, e->path);
    for (int k = 0; k < settings_count(); k++) {
        const char *key = settings_key(k);
        settings_get(&e->base, key, bv, sizeof bv);
        settings_get(&r->s, key, sv, sizeof sv);
        if (strcmp(bv, sv) == 0 && strcmp(key, "out") != 0) continue;
        /* --key VALUE (the option takes the next word, whatever it is) */
        snprintf(word, sizeof word, "--%s", key);
        for (char *c = word; *c; c++)
            if (*c == '_') *c = '-';
        append_word(&buf, &len, &cap, word);
        append_word(&buf, &len, &cap, sv);
    }
    if (!buf) buf = xstrdup("");
    buf[len] = '\0';
    return buf;
}

/* a run's directory name: letters, digits and - _ + = , kept, anything
 * else (a '/', '.', space, quote or control character) made '_' */
static void sanitize_name(char *name)
{
    for (unsigned char *c = (unsigned char *)name; *c; c++)
        if (!(isalnum(*c) || strchr("-_+=,", *c))) *c = '_';
}

ExpPlan *plan_load(const char *path, const char *runs_root, char *err, size_t errlen)
{
    ExpPlan *e = xcalloc(1, sizeof *e);
    Parse *p = xcalloc(1, sizeof *p);
    p->e = e;
    snprintf(e->path, sizeof e->path, "%s", path);
    Settings *base_p = &e->base;
    settings_defaults(base_p);
    if (settings_load_ini(base_p, path, settings_experiment_sections, on_section_key, p, err, errlen) != 0)
        goto fail;
    if (e->name[0] == '\0') {
        /* the file name without directory and extension */
        const char *b = strrchr(path, '/');
        b = b ? b + 1 : path;
        snprintf(e->name, sizeof e->name, "%.*s", (int)strcspn(b, "."), b);
        if (e->name[0] == '\0') {
            snprintf(err, errlen, "%s: the file name gives the experiment no name; set name = ... in [experiment]",
                     path);
            goto fail;
        }
    }
    for (const char *c = e->name; *c; c++)
        if (!(*c == '_' || *c == '-' || (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
              (*c >= '0' && *c <= '9'))) {
            snprintf(err, errlen, "%s: experiment name '%s' may use only letters, digits, '-' and '_'", path, e->name);
            goto fail;
        }
    snprintf(e->runs_dir, sizeof e->runs_dir, "%s/%s", runs_root, e->name);
    for (int k = 0; k < p->nmkeys; k++) {
        const ModelKey *mk = &p->mkeys[k];
        int found = !mk->group[0];
        for (int i = 0; i < p->ngroups && !found; i++) found = strcmp(p->groups[i].name, mk->group) == 0;
        if (!found) {
            snprintf(err, errlen, "%s: [train.%s.%s] names no grid group (there is no [grid.%s])", path, mk->model,
                     mk->group, mk->group);
            goto fail;
        }
    }
    if (p->ngroups == 0) {
        p->ngroups = 1;  /* no grid: one run of [train] */
        memset(&p->groups[0], 0, sizeof p->groups[0]);
    }
    /* count (in double: 16 axes of 64 values overflow any integer type;
     * exact far beyond the limit), refuse too many, then expand each
     * group's product of axes */
    double total = 0;
    for (int gi = 0; gi < p->ngroups; gi++) {
        double n = 1;
        for (int a = 0; a < p->groups[gi].naxes; a++) n *= p->groups[gi].axes[a].nvalues;
        total += n;
    }
    if (total > PLAN_MAX_RUNS) {
        snprintf(err, errlen, "%s: the grid expands to %.0f runs, more than the %d an experiment may have "
                 "(fewer values per axis, or split the experiment)", path, total, PLAN_MAX_RUNS);
        goto fail;
    }
    e->runs = xcalloc((size_t)total, sizeof *e->runs);
    for (int gi = 0; gi < p->ngroups; gi++) {
        GridGroup *g = &p->groups[gi];
        int idx[MAX_AXES] = {0};
        for (;;) {
            GridRun *r = &e->runs[e->nruns];
            Settings s = *base_p;
            char where[128];
            snprintf(r->group, sizeof r->group, "%s", g->name);
            /* the model first, so that [train.MODEL] applies under the group's values */
            for (int a = 0; a < g->naxes; a++)
                if (strcmp(g->axes[a].key, "model") == 0)
                    settings_set(&s, "model", g->axes[a].values[idx[a]], path, err, errlen);
            /* [train.MODEL], then [train.MODEL.GROUP] */
            const char *const scopes[2] = {"", g->name};
            for (int pass = 0; pass < (g->name[0] ? 2 : 1); pass++)
                for (int k = 0; k < p->nmkeys; k++) {
                    const ModelKey *mk = &p->mkeys[k];
                    if (strcmp(mk->model, s.model) != 0 || strcmp(mk->group, scopes[pass]) != 0) continue;
                    snprintf(where, sizeof where, "%s [train.%s%s%s]", path, s.model, pass ? "." : "", mk->group);
                    if (settings_set(&s, mk->key, mk->value, where, err, errlen) != 0) goto fail;
                }
            char name[RUN_NAME_MAX] = "";
            if (g->name[0]) snprintf(name, sizeof name, "%s", g->name);
            for (int a = 0; a < g->naxes; a++) {
                const Axis *ax = &g->axes[a];
                const char *v = ax->values[idx[a]];
                snprintf(where, sizeof where, "%s [grid%s%s] %s", path, g->name[0] ? "." : "", g->name, ax->key);
                if (settings_set(&s, ax->key, v, where, err, errlen) != 0) goto fail;
                if (ax->nvalues > 1 || strcmp(ax->key, "model") == 0) {
                    size_t n = strlen(name);
                    if (strcmp(ax->key, "model") == 0)
                        snprintf(name + n, sizeof name - n, "%s%s", n ? "-" : "", v);
                    else
                        snprintf(name + n, sizeof name - n, "%s%s%s", n ? "-" : "", ax->key, v);
                }
            }
            if (name[0] == '\0') snprintf(name, sizeof name, "%s", s.model);
            if (strlen(name) >= RUN_NAME_MAX - 1) {
                snprintf(err, errlen, "%s: run name '%.40s...' is longer than %d characters (shorter group names "
                         "or values)", path, name, RUN_NAME_MAX - 2);
                goto fail;
            }
            sanitize_name(name);
            for (int j = 0; j < e->nruns; j++)
                if (strcmp(e->runs[j].name, name) == 0) {
                    snprintf(err, errlen, "%s: two runs would share the directory '%s' (give the groups names)",
                             path, name);
                    goto fail;
                }
            snprintf(r->name, sizeof r->name, "%s", name);
            snprintf(s.out, sizeof s.out, "%s/%s", e->runs_dir, name);
            r->s = s;
            if (check_run(e, r, err, errlen) != 0) goto fail;
            e->nruns++;
            /* next combination: the last axis varies fastest */
            int a = g->naxes - 1;
            while (a >= 0 && ++idx[a] == g->axes[a].nvalues) idx[a--] = 0;
            if (a < 0) break;
        }
    }
    free(p);
    return e;
fail:
    free(p);
    plan_free(e);
    return NULL;
}

void plan_free(ExpPlan *e)
{
    if (!e) return;
    free(e->runs);
    free(e);
}
