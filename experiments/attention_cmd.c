/*
 * attention_cmd.c — attention matrices of a trained Transformer as CSV,
 * JSON (bertviz's head-view layout) and heatmaps; the position table.
 */
#define _POSIX_C_SOURCE 200809L
#include "attention_cmd.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"
#include "commands.h"
#include "plot.h"
#include "tokenizer.h"
#include "util.h"

/* a token as a label: spaces and newlines made visible */
static void token_label(const Tokenizer *tok, int id, char *out, size_t cap)
{
    size_t len;
    const char *s = tokenizer_token(tok, id, &len);
    size_t n = 0;
    for (size_t i = 0; i < len && n + 4 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == ' ') { memcpy(out + n, "\xe2\x90\xa3", 3); n += 3; }        /* ␣ */
        else if (c == '\n') { memcpy(out + n, "\xe2\x86\xb5", 3); n += 3; }  /* ↵ */
        else if (c < 32 || c == 127) out[n++] = '?';
        else out[n++] = (char)c;
    }
    out[n] = '\0';
}


/* a checkpoint whose body can show its attention maps (positions 0) or its
 * position table (positions 1) */
static Model *load_with_attention(const char *ckpt, Meta *meta, int positions, char *err, size_t errlen)
{
    meta_init(meta);
    Model *m = checkpoint_load_model(ckpt, meta, err, errlen);
    if (!m) return NULL;
    if (positions ? !m->body_ops->position_table : !m->body_ops->attention) {
        snprintf(err, errlen, "%s: a %s has no %s; give a checkpoint of a model with attention", ckpt,
                 m->cfg.kind, positions ? "position table" : "attention");
        model_free(m);
        return NULL;
    }
    return m;
}

/* o["attention"] = [layer][head][row][col] from w, whose layer l, head h
 * (of row 0 of a batch of B) is a rows x cols block with row stride `stride`:
 * w + (l*B*NH + h) * rows * stride.  One writer for the self-attention maps
 * (rows = cols = T) and the cross-attention maps (target x source). */
void attention_json_add(cJSON *o, const real *w, int L, int B, int NH, int rows, int cols, int stride)
{
    cJSON *att = cJSON_AddArrayToObject(o, "attention");
    for (int l = 0; l < L; l++) {
        cJSON *layer = cJSON_CreateArray();
        for (int h = 0; h < NH; h++) {
            cJSON *head = cJSON_CreateArray();
            const real *A = w + ((size_t)l * B * NH + h) * rows * stride;
            for (int t = 0; t < rows; t++) {
                cJSON *row = cJSON_CreateArray();
                for (int c = 0; c < cols; c++)
                    cJSON_AddItemToArray(row, cJSON_CreateNumber((double)A[(size_t)t * stride + c]));
                cJSON_AddItemToArray(head, row);
            }
            cJSON_AddItemToArray(layer, head);
        }
        cJSON_AddItemToArray(att, layer);
    }
}

int attention_write(const char *ckpt, const char *text, const char *out_dir, int json, int draw,
                    char *err, size_t errlen)
{
    if (checkpoint_is_encdec(ckpt)) return attention_write_encdec(ckpt, text, out_dir, json, draw, err, errlen);
    Meta meta;
    Model *m = load_with_attention(ckpt, &meta, 0, err, errlen);
    if (!m) { meta_free(&meta); return -1; }
    int rc = -1;
    Tokenizer *tok = tokenizer_from_metadata(meta_get(&meta, "tokenizer"), meta_get(&meta, "vocab"),
                                            m->cfg.vocab_size, ckpt, err, errlen);
    int *ids = NULL;
    Batch *b = NULL;
    if (!tok) goto done;
    long n = tokenizer_encode(tok, text, strlen(text), NULL, 0, err, errlen);
    if (n < 0) goto done;
    if (n == 0) { snprintf(err, errlen, "--text: no tokens"); goto done; }
    if (n > m->cfg.max_seq_len) {
        snprintf(err, errlen, "--text has %ld tokens, more than the model's max_seq_len %d", n, m->cfg.max_seq_len);
        goto done;
    }
    ids = xmalloc((size_t)n * sizeof(int));
    tokenizer_encode(tok, text, strlen(text), ids, (size_t)n, err, errlen);
    int T = (int)n;
    model_alloc_acts(m, 1, T);
    /* a classifier's forward needs a label: any will do, the loss is unused */
    b = m->cfg.classify ? batch_alloc_labelled(1, T) : batch_alloc(1, T, 0, 0);
    for (int t = 0; t < T; t++) {
        b->tokens[t] = ids[t];
        b->targets[t] = TARGET_IGNORE;
    }
    model_forward(m, b);
    const real *w;
    int L, NH, B, TT;
    if (m->body_ops->attention(m->body, &w, &L, &NH, &B, &TT) != 0) {
        snprintf(err, errlen, "no attention weights after the forward pass");
        goto done;
    }
    if (mkdir_p(out_dir) != 0) {
        snprintf(err, errlen, "cannot create '%s': %s", out_dir, strerror(errno));
        goto done;
    }
    char (*labels)[64] = xcalloc((size_t)T, sizeof *labels);
    for (int t = 0; t < T; t++) token_label(tok, ids[t], labels[t], sizeof labels[t]);
    char path[1024];
    for (int l = 0; l < L; l++)
        for (int h = 0; h < NH; h++) {
            char *buf = NULL;
            size_t len = 0;
            FILE *f = open_memstream(&buf, &len);
            for (int s = 0; s < T; s++) {
                fputc(',', f);
                csv_field(f, labels[s]);
            }
            fputc('\n', f);
            const real *A = w + ((size_t)l * B * NH + h) * T * T;   /* b = 0 */
            for (int t = 0; t < T; t++) {
                csv_field(f, labels[t]);
                for (int s = 0; s < T; s++) fprintf(f, ",%.6g", (double)A[(size_t)t * T + s]);
                fputc('\n', f);
            }
            fclose(f);
            snprintf(path, sizeof path, "%s/L%d_H%d.csv", out_dir, l, h);
            int wrc = file_write_atomic(path, buf, len, err, errlen);
            free(buf);
            if (wrc) { free(labels); goto done; }
        }
    {
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        for (int t = 0; t < T; t++) fprintf(f, "%s\n", labels[t]);
        fclose(f);
        snprintf(path, sizeof path, "%s/tokens.txt", out_dir);
        int wrc = file_write_atomic(path, buf, len, err, errlen);
        free(buf);
        if (wrc) { free(labels); goto done; }
    }
    if (json) {
        cJSON *o = cJSON_CreateObject(), *toks = cJSON_AddArrayToObject(o, "tokens");
        for (int t = 0; t < T; t++) {
            size_t len;
            const char *s = tokenizer_token(tok, ids[t], &len);
            char piece[256];
            snprintf(piece, sizeof piece, "%.*s", (int)(len < 255 ? len : 255), s);
            cJSON_AddItemToArray(toks, cJSON_CreateString(piece));
        }
        attention_json_add(o, w, L, B, NH, T, T, T);
        char *js = cJSON_PrintUnformatted(o);
        cJSON_Delete(o);
        snprintf(path, sizeof path, "%s/attention.json", out_dir);
        int wrc = file_write_atomic(path, js, strlen(js), err, errlen);
        free(js);
        if (wrc) { free(labels); goto done; }
    }
    free(labels);
    if (draw && plot_attention_dir(out_dir, out_dir, err, errlen) != 0) goto done;
    rc = 0;
done:
    batch_free(b);
    free(ids);
    if (tok) tokenizer_free(tok);
    meta_free(&meta);
    model_free(m);
    return rc;
}

/* the next-token distribution after text, at its last position, into p (V):
 * softmax of the last row of logits (m's activations allocated for
 * max_seq_len).  The number of tokens, or -1 + err; ids (max_seq_len): the
 * text's tokens. */
static int next_token_probs(Model *m, const Tokenizer *tok, const char *text, double *p, int *ids, char *err,
                            size_t errlen)
{
    long n = tokenizer_encode(tok, text, strlen(text), NULL, 0, err, errlen);
    if (n < 0) return -1;
    if (n == 0 || n > m->cfg.max_seq_len) {
        snprintf(err, errlen, "'%s': %ld tokens, the model takes 1 to %d", text, n, m->cfg.max_seq_len);
        return -1;
    }
    int T = (int)n, O = m->cfg.output_size;
    Batch *b = batch_alloc(1, T, 0, 0);
    tokenizer_encode(tok, text, strlen(text), b->tokens, (size_t)n, err, errlen);
    for (int t = 0; t < T; t++) b->targets[t] = TARGET_IGNORE;
    model_forward(m, b);
    /* p = softmax(z), z the logits of position T-1 (shifted by max z) */
    const real *z = m->logits + (size_t)(T - 1) * O;
    double zmax = -INFINITY, sum = 0;
    for (int v = 0; v < O; v++) zmax = fmax(zmax, (double)z[v]);
    for (int v = 0; v < O; v++) sum += p[v] = exp((double)z[v] - zmax);
    for (int v = 0; v < O; v++) p[v] /= sum;
    memcpy(ids, b->tokens, (size_t)T * sizeof *ids);
    batch_free(b);
    return T;
}

int attention_order_distance(const char *ckpt, const char *a, const char *b, double *tv, int *same_last,
                             int *layers, char positions[16], char *err, size_t errlen)
{
    Meta meta;
    Model *m = load_with_attention(ckpt, &meta, 0, err, errlen);
    if (!m) { meta_free(&meta); return -1; }
    int rc = -1;
    double *pa = NULL, *pb = NULL;
    int *ia = NULL, *ib = NULL;
    Tokenizer *tok = tokenizer_from_metadata(meta_get(&meta, "tokenizer"), meta_get(&meta, "vocab"),
                                            m->cfg.vocab_size, ckpt, err, errlen);
    if (!tok) goto done;
    if (m->cfg.classify || m->cfg.regression) {
        snprintf(err, errlen, "%s: a classifier has no next-token distribution", ckpt);
        goto done;
    }
    int O = m->cfg.output_size, Tmax = m->cfg.max_seq_len;
    pa = xmalloc((size_t)O * sizeof *pa);
    pb = xmalloc((size_t)O * sizeof *pb);
    ia = xmalloc((size_t)Tmax * sizeof *ia);
    ib = xmalloc((size_t)Tmax * sizeof *ib);
    model_alloc_acts(m, 1, Tmax);
    int na = next_token_probs(m, tok, a, pa, ia, err, errlen);
    int nb = na < 0 ? -1 : next_token_probs(m, tok, b, pb, ib, err, errlen);
    if (nb < 0) goto done;
    /* unknown words can make the two orders one token sequence */
    if (na == nb && memcmp(ia, ib, (size_t)na * sizeof *ia) == 0) {
        snprintf(err, errlen, "%s: '%s' and '%s' are the same tokens for this vocabulary (unknown words?)", ckpt, a,
                 b);
        goto done;
    }
    /* tv = 1/2 sum_v |p_a(v) - p_b(v)| */
    double d = 0;
    for (int v = 0; v < O; v++) d += fabs(pa[v] - pb[v]);
    *tv = 0.5 * d;
    *same_last = ia[na - 1] == ib[nb - 1];
    *layers = m->cfg.num_layers;
    const char *pos = meta_get(&meta, "positions");
    snprintf(positions, 16, "%s", pos && *pos ? pos : "sinusoidal");
    rc = 0;
done:
    free(pa);
    free(pb);
    free(ia);
    free(ib);
    if (tok) tokenizer_free(tok);
    meta_free(&meta);
    model_free(m);
    return rc;
}

int attention_write_positions(const char *ckpt, const char *csv_path, char *err, size_t errlen)
{
    if (checkpoint_is_encdec(ckpt)) {
        snprintf(err, errlen, "%s: the position table of an encoder-decoder is not drawn", ckpt);
        return -1;
    }
    Meta meta;
    Model *m = load_with_attention(ckpt, &meta, 1, err, errlen);
    meta_free(&meta);
    if (!m) return -1;
    int T = m->cfg.max_seq_len, C = m->cfg.hidden_size;
    if (T > 256) T = 256;   /* enough rows to see the pattern */
    real *P = xcalloc((size_t)T * C, sizeof(real));
    m->body_ops->position_table(m->body, P, T);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    fprintf(f, "position,dim,value\n");
    for (int t = 0; t < T; t++)
        for (int c = 0; c < C; c++) fprintf(f, "%d,%d,%.6g\n", t, c, (double)P[(size_t)t * C + c]);
    fclose(f);
    int rc = file_write_atomic(csv_path, buf, len, err, errlen);
    free(buf);
    free(P);
    model_free(m);
    return rc;
}

int cmd_attention(int argc, char **argv)
{
    const char *ckpt = NULL, *text = NULL, *out = NULL;
    int json = 0;
    for (int i = 1; i < argc; i++) {
        if (opt_is(argv[i], "--help") || strcmp(argv[i], "-h") == 0) {
            printf("usage: seqlab attention --checkpoint FILE --text \"...\" --out DIR [--json]\n"
                   "\n"
                   "Run a trained Transformer on the text and write, for every layer l and head h,\n"
                   "DIR/L{l}_H{h}.csv (rows = query token, columns = key token) and a heatmap\n"
                   "DIR/attention_L{l}_H{h}.png; --json also writes DIR/attention.json as\n"
                   "{\"tokens\": [...], \"attention\": [layer][head][query][key]} (bertviz's head view).\n"
                   "\n"
                   "With an encoder-decoder checkpoint the text is a source sentence: the model\n"
                   "translates it (greedy) and the maps are target x source (rows = output tokens and\n"
                   "<eos>, columns = source tokens): the cross-attention of every layer and head, or the\n"
                   "additive attention's weights (L0_H0); DIR/translation.txt holds the output and\n"
                   "attention.json is {\"source_tokens\", \"target_tokens\", \"attention\": [layer][head][target][source]}.\n");
            return 0;
        } else if (opt_is(argv[i], "--checkpoint")) ckpt = opt_value(argc, argv, &i);
        else if (opt_is(argv[i], "--text")) text = opt_value(argc, argv, &i);
        else if (opt_is(argv[i], "--out")) out = opt_value(argc, argv, &i);
        else if (opt_is(argv[i], "--json")) json = 1;
        else die("attention: unknown option '%s' (see `seqlab attention --help`)", argv[i]);
    }
    if (!ckpt) die("attention: --checkpoint FILE is required");
    if (!text) die("attention: --text \"...\" is required");
    if (!out) die("attention: --out DIR is required");
    char err[2048];
    if (attention_write(ckpt, text, out, json, 1, err, sizeof err) != 0) die("%s", err);
    printf("%s: attention of every layer and head written\n", out);
    return 0;
}
