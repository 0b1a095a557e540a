/*
 * attention_encdec.c — `seqlab attention` on an encoder–decoder: which
 * source words each target word was written from (the alignment figure of
 * Bahdanau et al. 2015, Fig. 3).
 *
 * The model translates the source greedily, then reads its own output
 * again with teacher forcing to record the attention over the source: the
 * Transformer's cross-attention (every layer and head) or the additive
 * attention's alpha (one map).  Rows are target tokens (the output, then
 * <eos>), columns source tokens, in the same CSV layout as the decoder's
 * maps, so the same heatmap script draws them.
 *
 * What this file is not: the decoder-only maps (attention_cmd.c).
 */
#define _POSIX_C_SOURCE 200809L
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attention_cmd.h"
#include "checkpoint.h"
#include "decode.h"
#include "encdec.h"
#include "pairs.h"
#include "plot.h"
#include "translate.h"
#include "util.h"

/* the longest output drawn */
#define ALIGN_MAX_OUT 64

int checkpoint_is_encdec(const char *ckpt)
{
    char err[512];
    SafeTensors *st = safetensors_read(ckpt, err, sizeof err);
    if (!st) return 0;
    const char *a = meta_get(&st->meta, "architecture");
    int yes = a && strcmp(a, "encoder-decoder") == 0;
    safetensors_free(st);
    return yes;
}

/* a token as a label: spaces and newlines made visible; <eos> named */
static void label_of(const Tokenizer *t, int id, char *out, size_t cap)
{
    if (id >= t->vocab_size) {
        snprintf(out, cap, "<eos>");
        return;
    }
    size_t len, n = 0;
    const char *s = tokenizer_token(t, id, &len);
    for (size_t i = 0; i < len && n + 4 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == ' ') { memcpy(out + n, "\xe2\x90\xa3", 3); n += 3; }        /* ␣ */
        else if (c == '\n') { memcpy(out + n, "\xe2\x86\xb5", 3); n += 3; }  /* ↵ */
        else if (c < 32 || c == 127) out[n++] = '?';
        else out[n++] = (char)c;
    }
    out[n] = '\0';
}

static void csv_quoted(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"') fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

int attention_write_encdec(const char *ckpt, const char *text, const char *out_dir, int json,
                           int draw, char *err, size_t errlen)
{
    Meta meta;
    meta_init(&meta);
    Model *m = checkpoint_load_model(ckpt, &meta, err, errlen);
    if (!m) {
        meta_free(&meta);
        return -1;
    }
    int rc = -1;
    Tokenizer *st = NULL, *tt = NULL;
    int *src = NULL, *out = NULL;
    char (*slab)[64] = NULL, (*tlab)[64] = NULL;
    Batch *b = NULL;
    if (pairs_tokenizers_from_meta(ckpt, &meta, &st, &tt, err, errlen) != 0) goto done;
    long n = tokenizer_encode(st, text, strlen(text), NULL, 0, err, errlen);
    if (n < 0) goto done;
    if (n == 0) {
        snprintf(err, errlen, "--text: the source has no tokens");
        goto done;
    }
    int k = params_find(&m->params, "src_pos.weight");
    int limit = k >= 0 ? m->params.views[k].shape[0] : 1 << 30;
    if (n > limit) {
        snprintf(err, errlen, "--text has %ld tokens, more than the model's max_seq_len %d", n, limit);
        goto done;
    }
    int S = (int)n, N = limit - 1 < ALIGN_MAX_OUT ? limit - 1 : ALIGN_MAX_OUT;
    src = xmalloc((size_t)S * sizeof(int));
    tokenizer_encode(st, text, strlen(text), src, (size_t)S, err, errlen);
    model_alloc_acts_pairs(m, 1, S, N + 1);
    /* the model's own translation, then a teacher-forced pass over it */
    out = xmalloc((size_t)N * sizeof(int));
    int nout;
    decode_greedy(m, src, &S, 1, S, N, out, &nout, NULL);
    b = batch_alloc_pairs(1, S, N + 1);
    translate_pair_loss(m, b, src, S, out, nout);
    const real *w;
    int L, NH, B, T, SS;
    if (!m->encdec_ops->source_attention || m->encdec_ops->source_attention(m->encdec, &w, &L, &NH, &B, &T, &SS) != 0) {
        snprintf(err, errlen, "%s: this model has no attention over the source (a recurrent encoder-decoder "
                 "with attention = none reads one fixed vector)", ckpt);
        goto done;
    }
    if (mkdir_p(out_dir) != 0) {
        snprintf(err, errlen, "cannot create '%s': %s", out_dir, strerror(errno));
        goto done;
    }
    slab = xcalloc((size_t)S, sizeof *slab);
    tlab = xcalloc((size_t)T, sizeof *tlab);
    for (int s = 0; s < S; s++) label_of(st, src[s], slab[s], sizeof slab[s]);
    for (int t = 0; t < T; t++) label_of(tt, t < nout ? out[t] : tt->vocab_size + 1, tlab[t], sizeof tlab[t]);
    char path[1024];
    for (int l = 0; l < L; l++)
        for (int h = 0; h < NH; h++) {
            char *buf = NULL;
            size_t len = 0;
            FILE *f = open_memstream(&buf, &len);
            for (int s = 0; s < S; s++) {
                fputc(',', f);
                csv_quoted(f, slab[s]);
            }
            fputc('\n', f);
            const real *A = w + ((size_t)l * B * NH + h) * T * SS;   /* b = 0: (T,S) */
            for (int t = 0; t < T; t++) {
                csv_quoted(f, tlab[t]);
                for (int s = 0; s < S; s++) fprintf(f, ",%.6g", (double)A[(size_t)t * SS + s]);
                fputc('\n', f);
            }
            fclose(f);
            snprintf(path, sizeof path, "%s/L%d_H%d.csv", out_dir, l, h);
            int wrc = file_write_atomic(path, buf, len, err, errlen);
            free(buf);
            if (wrc) goto done;
        }
    {
        /* the maps' title: the source, then the output */
        char *o = translate_text(tt, out, nout), *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        fprintf(f, "%s\n", text);
        fclose(f);
        snprintf(path, sizeof path, "%s/tokens.txt", out_dir);
        int wrc = file_write_atomic(path, buf, len, err, errlen);
        free(buf);
        snprintf(path, sizeof path, "%s/translation.txt", out_dir);
        size_t ol = strlen(o);
        o = xrealloc(o, ol + 2);
        o[ol] = '\n';
        if (!wrc) wrc = file_write_atomic(path, o, ol + 1, err, errlen);
        free(o);
        if (wrc) goto done;
    }
    if (json) {
        cJSON *o = cJSON_CreateObject(), *sa = cJSON_AddArrayToObject(o, "source_tokens"),
              *ta = cJSON_AddArrayToObject(o, "target_tokens");
        for (int s = 0; s < S; s++) cJSON_AddItemToArray(sa, cJSON_CreateString(slab[s]));
        for (int t = 0; t < T; t++) cJSON_AddItemToArray(ta, cJSON_CreateString(tlab[t]));
        attention_json_add(o, w, L, B, NH, T, S, SS);
        char *js = cJSON_PrintUnformatted(o);
        cJSON_Delete(o);
        snprintf(path, sizeof path, "%s/attention.json", out_dir);
        int wrc = file_write_atomic(path, js, strlen(js), err, errlen);
        free(js);
        if (wrc) goto done;
    }
    if (draw && plot_attention_dir(out_dir, out_dir, err, errlen) != 0) goto done;
    rc = 0;
done:
    batch_free(b);
    free(src);
    free(out);
    free(slab);
    free(tlab);
    tokenizer_free(st);
    tokenizer_free(tt);
    meta_free(&meta);
    model_free(m);
    return rc;
}
