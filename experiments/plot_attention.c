/*
 * plot_attention.c — the attention heatmaps and the positional-encoding
 * table, from what `seqlab attention` / `seqlab run` wrote.
 *
 * What this file is not: the attention explorer of the report
 * (report_explorer.c), which reads the same weights from attention.json.
 */
#define _GNU_SOURCE
#include "plot_internal.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util.h"

/* attention maps with more tokens than these get smaller tick labels
 * (the heatmap is ~800 px across: 64 cells of 12 px still hold a 10 pt letter) */
#define ATTN_BIG_T 32
#define ATTN_HUGE_T 64

/* ====================================== figure 8: attention heatmaps ==== */

/* a token as a tick label gnuplot reads back from a CSV header: no comma,
 * quote or blank; invisible characters made visible */
static void token_label(const char *tok, char *out, size_t n)
{
    size_t o = 0;
    out[0] = '\0';
    for (const unsigned char *c = (const unsigned char *)tok; *c && o + 8 < n; c++) {
        const char *rep = NULL;
        char one[2] = {(char)*c, 0};
        switch (*c) {
        case ' ': rep = "\xe2\x90\xa3"; break;   /* ␣ */
        case '\n': rep = "\xe2\x86\xb5"; break;  /* ↵ */
        case '\t': rep = "\xe2\x87\xa5"; break;  /* ⇥ */
        case ',': rep = "\xe2\x80\x9a"; break;   /* ‚ */
        case '"': rep = "\xe2\x80\x9d"; break;   /* ” */
        case '\'': rep = "\xe2\x80\x99"; break;  /* ’ */
        default: rep = *c < 0x20 || *c == 0x7f ? "\xc2\xb7" : one; /* · */
        }
        o += (size_t)snprintf(out + o, n - o, "%s", rep);
    }
    if (!out[0]) snprintf(out, n, "\xe2\x88\x85"); /* ∅ */
}

/* name usable in a file name: letters, digits, - _ . kept, others become _ */
static void safe_name(const char *s, char *out, size_t n)
{
    size_t o = 0;
    for (; *s && o + 1 < n; s++)
        out[o++] = (isalnum((unsigned char)*s) || *s == '-' || *s == '_' || *s == '.') ? *s : '_';
    out[o] = '\0';
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* names in dir (not starting with '.'), sorted; *out xmalloc'ed */
int plot_list_dir(const char *dir, char ***out)
{
    DIR *d = opendir(dir);
    *out = NULL;
    if (!d) return 0;
    int n = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.') continue;
        if (n == cap) { cap = cap ? 2 * cap : 16; *out = xrealloc(*out, (size_t)cap * sizeof **out); }
        (*out)[n++] = xstrdup(de->d_name);
    }
    closedir(d);
    if (n) qsort(*out, (size_t)n, sizeof **out, name_cmp);
    return n;
}

void plot_list_free(char **names, int n)
{
    for (int i = 0; i < n; i++) free(names[i]);
    free(names);
}

/* how many characters of the sentence an attention map's title shows */
#define ATTN_TITLE_CHARS 40

/* one map: rewrite L<l>_H<h>.csv with safe labels, draw it as
 * attention_<label>_L<l>_H<h> (attention_L<l>_H<h> when in_name is 0),
 * titled with the layer, the head and the sentence */
/* rewrite one attention CSV (src) for gnuplot into out: token labels made
 * safe for an axis (token_label), missing weights as 0; only every
 * every_key-th key (counted back from the last) and every every_query-th
 * query labelled (the others blank), so that crowded axes keep labels that can be read.  Sets *T
 * (keys), *Q (queries), *longest (the longest label, in characters) and
 * *wmax (the largest weight).  0, or -1 with err. */
static int attention_rewrite(const char *src, const char *out, int every_key, int every_query, int *T, int *Q,
                             size_t *longest, double *wmax, char *err, size_t errlen)
{
    CsvTable *t = csv_read(src, err, errlen);
    *T = t ? t->ncols - 1 : 0;
    if (!t || *T < 1 || t->nrows < 1) {
        if (t) snprintf(err, errlen, "the attention CSV %s has no weights", src);
        csv_free(t);
        return -1;
    }
    *Q = t->nrows;
    FILE *o = fopen(out, "w");
    if (!o) die("cannot write '%s': %s", out, strerror(errno));
    char lab[128];
    *longest = 0;
    for (int k = 0; k < *T; k++) {
        token_label(t->header[k + 1], lab, sizeof lab);
        /* counted from the last key, which is always labelled: gnuplot takes
         * an empty last column header for a missing one and labels that
         * column with a number left over from the previous map */
        fprintf(o, ",%s", (*T - 1 - k) % every_key == 0 ? lab : "");
        size_t chars = 0;   /* characters, not bytes: a one-character ␣ stays upright */
        for (const char *c = lab; *c; c++) chars += ((unsigned char)*c & 0xC0) != 0x80;
        if (chars > *longest) *longest = chars;
    }
    fprintf(o, "\n");
    for (int q = 0; q < t->nrows; q++) {
        token_label(csv_str(t, q, 0), lab, sizeof lab);
        fprintf(o, "%s", q % every_query == 0 ? lab : "");
        for (int k = 0; k < *T; k++) {
            double w = csv_num(t, q, k + 1);
            if (isfinite(w) && w > *wmax) *wmax = w;
            fprintf(o, ",%.6g", isfinite(w) ? w : 0.0);
        }
        fprintf(o, "\n");
    }
    fclose(o);
    csv_free(t);
    return 0;
}

/* tick label size for T tokens on a map of about 800 px */
static int attention_ticfont(int T)
{
    return T <= 16 ? 16 : T <= ATTN_BIG_T ? 13 : T <= ATTN_HUGE_T ? 10 : 8;
}

static int attention_one(Plot *p, const char *src, const char *label, const char *sentence,
                         int in_name, int layer, int head)
{
    char base[300], err[600], sl[200];
    safe_name(label, sl, sizeof sl);
    if (in_name) plot_sfmt(base, sizeof base, PLOT_ATTENTION_PREFIX "%s_L%d_H%d", sl, layer, head);
    else plot_sfmt(base, sizeof base, PLOT_ATTENTION_PREFIX "L%d_H%d", layer, head);
    char f[400], out[PATH_MAX + 400];
    plot_sfmt(f, sizeof f, "data/%s.csv", base);
    plot_sfmt(out, sizeof out, "%s/%s", p->figdir, f);
    int T, Q;
    size_t longest;
    double wmax = 0;
    if (attention_rewrite(src, out, 1, 1, &T, &Q, &longest, &wmax, err, sizeof err) != 0) {
        unlink(out);
        return plot_skip(p, base, err);
    }
    Args a = {0};
    plot_args_str(&a, f, "file");
    plot_args_printf(&a, "T=%d;Q=%d;ticfont=%d;rotate=%d;", T, Q, attention_ticfont(T), longest > 2);
    char title[400];
    plot_sfmt(title, sizeof title, "layer %d, head %d: \"%s\"", layer, head, sentence);
    plot_args_str(&a, title, "title");
    int rc = plot_render(p, "attention", base, PLOT_HEATMAP_WIDTH, PLOT_HEATMAP_HEIGHT, &a) < 0 ? -1 : 0;
    plot_args_free(&a);
    return rc;
}

/* the sentence of an attention folder, whole, in two lines of at most
 * ATTN_LINE_CHARS bytes (cut at a space); "" when there is no tokens.txt */
#define ATTN_LINE_CHARS 70
static void attention_title(const char *dir, char *line1, char *line2, size_t n)
{
    char tokens[PATH_MAX + 16], sentence[1024];
    plot_sfmt(tokens, sizeof tokens, "%s/tokens.txt", dir);
    line1[0] = line2[0] = '\0';
    if (attention_sentence(tokens, (int)sizeof sentence - 8, sentence, sizeof sentence) != 0) return;
    size_t len = strlen(sentence), cut = len;
    if (len > ATTN_LINE_CHARS) {
        cut = ATTN_LINE_CHARS;
        while (cut > 0 && sentence[cut] != ' ') cut--;
        if (cut == 0) cut = ATTN_LINE_CHARS;
    }
    snprintf(line1, n, "\"%.*s%s", (int)cut, sentence, cut == len ? "\"" : "");
    if (cut < len) snprintf(line2, n, "%s\"", sentence + cut + (sentence[cut] == ' '));
}

/* the maps of one sentence folder rewritten for gnuplot (attention_rewrite,
 * labels thinned to every ekey-th key and equery-th query) into
 * figures/data/<base>_L<l>_H<h>.csv, each named in a as file_<l>_<h>;
 * g gets the layers, heads, tokens, longest label and largest weight.
 * Returns how many maps. */
typedef struct GridShape {
    int L, NH, T, Q;
    size_t longest;
    double wmax;
} GridShape;

static int grid_rewrite(Plot *p, const char *dir, const char *base, int ekey, int equery, Args *a, GridShape *g)
{
    char **files, err[600];
    int nf = plot_list_dir(dir, &files), maps = 0;
    memset(g, 0, sizeof *g);
    for (int j = 0; j < nf; j++) {
        int layer, head, used = 0;
        if (sscanf(files[j], "L%d_H%d.csv%n", &layer, &head, &used) != 2 || files[j][used] != '\0') continue;
        char src[PATH_MAX + 600], f[400], out[PATH_MAX + 400];
        plot_sfmt(src, sizeof src, "%s/%s", dir, files[j]);
        plot_sfmt(f, sizeof f, "data/%s_L%d_H%d.csv", base, layer, head);
        plot_sfmt(out, sizeof out, "%s/%s", p->figdir, f);
        size_t lg;
        if (attention_rewrite(src, out, ekey, equery, &g->T, &g->Q, &lg, &g->wmax, err, sizeof err) != 0) continue;
        if (lg > g->longest) g->longest = lg;
        plot_args_str(a, f, "file_%d_%d", layer, head);
        if (layer + 1 > g->L) g->L = layer + 1;
        if (head + 1 > g->NH) g->NH = head + 1;
        maps++;
    }
    plot_list_free(files, nf);
    return maps;
}

/* every how many of n tokens an axis of side px is labelled, each label
 * needing about `need` px */
static int label_every(double side, int n, double need)
{
    int every = 1;
    while (every < n && side * every / n < need) every++;
    return every;
}

/* one figure per sentence folder: every layer (rows) and head (columns) of
 * the maps in dir on one colour scale, 0 to the largest weight of any map,
 * the tokens on the outer axes (as many as can be read: vertical keys need
 * their type's height each, the queries likewise), the whole sentence as
 * the title.  1 drawn, 0 no maps, -1 failed. */
static int attention_grid(Plot *p, const char *dir, const char *label)
{
    char base[300], sl[200];
    safe_name(label, sl, sizeof sl);
    plot_sfmt(base, sizeof base, PLOT_ATTENTION_PREFIX "%s", sl);
    Args a = {0};
    GridShape g;
    if (!grid_rewrite(p, dir, base, 1, 1, &a, &g)) { plot_args_free(&a); return 0; }
    int ticfont = g.T <= 16 ? 13 : 11, rotate = g.longest > 2, h = 260 * g.L + 260;
    if (h < PLOT_HEIGHT) h = PLOT_HEIGHT;
    /* a map's size in px, from attention_grid.gp's layout (LEFT 0.1, RIGHT
     * 0.88, HGAP 0.025; TOP 0.86-0.9, BOTTOM 0.13, VGAP 0.06) */
    double map_w = (0.78 - 0.025 * (g.NH - 1)) / g.NH * PLOT_WIDTH;
    double map_h = (0.73 - 0.06 * (g.L - 1)) / g.L * h;
    double key_need = rotate ? 1.4 * ticfont : (double)g.longest * 0.8 * ticfont + 4;
    int ekey = label_every(map_w, g.T, key_need), equery = label_every(map_h, g.Q, 1.4 * ticfont);
    if (ekey > 1 || equery > 1) {
        plot_args_free(&a);
        grid_rewrite(p, dir, base, ekey, equery, &a, &g);
    }
    char l1[512], l2[512];
    attention_title(dir, l1, l2, sizeof l1);
    if (!l1[0]) plot_sfmt(l1, sizeof l1, "%s", label);
    plot_args_str(&a, l1, "title1");
    plot_args_str(&a, l2, "title2");
    plot_args_printf(&a, "L=%d;NH=%d;T=%d;Q=%d;rotate=%d;ticfont=%d;", g.L, g.NH, g.T, g.Q, rotate, ticfont);
    plot_args_num(&a, g.wmax > 0 ? g.wmax : 1, "wmax");
    int rc = plot_render(p, "attention_grid", base, PLOT_WIDTH, h, &a);
    plot_args_free(&a);
    return rc < 0 ? -1 : 1;
}

/* every L<l>_H<h>.csv in dir; returns how many maps there were, or -1 if
 * one failed to draw */
int plot_attention_maps(Plot *p, const char *dir, const char *label, int in_name)
{
    /* the sentence the maps are of, from tokens.txt beside them; else
     * "sentence N" for a folder sN, else the folder's name */
    char tokens[PATH_MAX + 16], sentence[256];
    plot_sfmt(tokens, sizeof tokens, "%s/tokens.txt", dir);
    int num, used = 0;
    if (attention_sentence(tokens, ATTN_TITLE_CHARS, sentence, sizeof sentence) != 0) {
        if (sscanf(label, "s%d%n", &num, &used) == 1 && label[used] == '\0')
            plot_sfmt(sentence, sizeof sentence, "sentence %d", num);
        else
            plot_sfmt(sentence, sizeof sentence, "%.200s", label);
    }
    char **files;
    int nf = plot_list_dir(dir, &files), maps = 0, failed = 0;
    for (int j = 0; j < nf; j++) {
        int layer, head;
        used = 0;
        if (sscanf(files[j], "L%d_H%d.csv%n", &layer, &head, &used) != 2 || files[j][used] != '\0')
            continue;
        char src[PATH_MAX + 600];
        plot_sfmt(src, sizeof src, "%s/%s", dir, files[j]);
        maps++;
        if (attention_one(p, src, label, sentence, in_name, layer, head) < 0) failed = 1;
    }
    plot_list_free(files, nf);
    return failed ? -1 : maps;
}

int plot_figures_attention(Plot *p)
{
    /* old maps go first: the set of maps may have changed */
    char **old;
    int nold = plot_list_dir(p->figdir, &old);
    for (int i = 0; i < nold; i++)
        if (strncmp(old[i], PLOT_ATTENTION_PREFIX, strlen(PLOT_ATTENTION_PREFIX)) == 0) {
            char path[PATH_MAX + 300];
            plot_sfmt(path, sizeof path, "%s/%s", p->figdir, old[i]);
            unlink(path);
        }
    plot_list_free(old, nold);

    char dir[PATH_MAX];
    plot_sfmt(dir, sizeof dir, "%s/attention", p->e.dir);
    char **labels;
    int nlab = plot_list_dir(dir, &labels), maps = 0, rc = 0;
    for (int i = 0; i < nlab; i++) {
        char sub[PATH_MAX + 300];
        plot_sfmt(sub, sizeof sub, "%s/%s", dir, labels[i]);
        int k = attention_grid(p, sub, labels[i]);
        if (k < 0) rc = -1;
        else maps += k;
    }
    plot_list_free(labels, nlab);
    if (!maps) {
        fprintf(stderr, "seqlab plot: %s: skipping attention maps: no attention/<label>/L*_H*.csv "
                        "(`seqlab attention` writes them)\n", p->e.name);
        p->skipped++;
    }
    return rc;
}

/* =========================== figure 9: the positional-encoding table ==== */

int plot_figure_posenc(Plot *p)
{
    const char *base = "posenc";
    char src[PATH_MAX + 32], err[600];
    plot_sfmt(src, sizeof src, "%s/posenc.csv", p->e.dir);
    if (!plot_file_exists(src)) return plot_skip(p, base, "no posenc.csv");
    CsvTable *t = csv_read(src, err, sizeof err);
    if (!t) return plot_skip(p, base, err);
    int cp = csv_col(t, "position"), cd = csv_col(t, "dim"), cv = csv_col(t, "value");
    double maxabs = 0, maxpos = -1, maxdim = -1;
    for (int r = 0; r < t->nrows && cp >= 0 && cd >= 0 && cv >= 0; r++) {
        double v = csv_num(t, r, cv);
        if (isfinite(v)) maxabs = fmax(maxabs, fabs(v));
        maxpos = fmax(maxpos, csv_num(t, r, cp));
        maxdim = fmax(maxdim, csv_num(t, r, cd));
    }
    csv_free(t);
    if (cp < 0 || cd < 0 || cv < 0) return plot_skip(p, base, "posenc.csv lacks position,dim,value columns");
    if (!(maxabs > 0) || maxpos < 0 || maxdim < 0)
        return plot_skip(p, base, "posenc.csv has no non-zero values (positions = none?)");
    char abs_src[PATH_MAX];
    if (!realpath(src, abs_src)) plot_sfmt(abs_src, sizeof abs_src, "%s", src);
    Args a = {0};
    plot_args_str(&a, abs_src, "file");
    plot_args_num(&a, maxabs, "maxabs");
    plot_args_num(&a, maxpos, "maxpos");
    plot_args_num(&a, maxdim, "maxdim");
    plot_args_str(&a, "What does the positional encoding add at each position?", "title");
    int rc = plot_render(p, "posenc", base, PLOT_WIDTH, PLOT_HEIGHT, &a) < 0 ? -1 : 0;
    plot_args_free(&a);
    return rc;
}
