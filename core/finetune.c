/*
 * finetune.c — init_from and freeze_body (see finetune.h).
 */
#include "finetune.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#include "checkpoint.h"

/* same name, same shape */
static int matches(const ParamView *v, const SafeTensor *t)
{
    if (!t || t->ndim != v->ndim) return 0;
    for (int d = 0; d < v->ndim; d++)
        if (t->shape[d] != v->shape[d]) return 0;
    return 1;
}

/* 1 if the checkpoint's tokenizer (metadata tokenizer, vocab) is tok's */
static int same_tokenizer(const SafeTensors *st, const Tokenizer *tok)
{
    const char *kind = meta_get(&st->meta, "tokenizer");
    if (!kind || strcmp(kind, tokenizer_kind_name(tok->kind)) != 0) return 0;
    if (!tok->vocab) return 1;                      /* bytes: ids are byte values */
    cJSON *arr = cJSON_Parse(meta_get(&st->meta, "vocab") ? meta_get(&st->meta, "vocab") : "");
    int same = cJSON_IsArray(arr) && cJSON_GetArraySize(arr) == tok->vocab_size;
    for (int i = 0; same && i < tok->vocab_size; i++) {
        const cJSON *e = cJSON_GetArrayItem(arr, i);
        same = cJSON_IsString(e) && strcmp(e->valuestring, tok->vocab[i]) == 0;
    }
    cJSON_Delete(arr);
    return same;
}

int finetune_init_from(Model *m, const char *path, const Tokenizer *tok, int *copied, char *err,
                       size_t errlen)
{
    char msg[512];
    SafeTensors *st = safetensors_read(path, msg, sizeof msg);
    if (!st) {
        snprintf(err, errlen, "init_from: %s", msg);
        return -1;
    }
    /* an embedding row means a token id: copying it from another
     * vocabulary would start every token from some other token's vector */
    if (tok && !same_tokenizer(st, tok)) {
        snprintf(err, errlen, "init_from: %s was trained with another tokenizer or vocabulary than "
                              "this task's (%s, %d tokens); its embedding would not mean the same tokens",
                 path, tokenizer_kind_name(tok->kind), tok->vocab_size);
        safetensors_free(st);
        return -1;
    }
    ParamSet *ps = &m->params;
    int n = 0;
    for (int i = 0; i < ps->count; i++) {
        const ParamView *v = &ps->views[i];
        const SafeTensor *t = safetensors_find(st, v->name);
        copied[i] = matches(v, t);
        if (!copied[i]) continue;
        memcpy(params_value(ps, i), t->data, v->size * sizeof(real));
        n++;
    }
    safetensors_free(st);
    if (n == 0) {
        snprintf(err, errlen, "init_from: no tensor of %s matches one of this model by name and shape "
                              "(nothing to start from; check the model, sizes and architecture)", path);
        return -1;
    }
    return n;
}

size_t finetune_head_offset(const Model *m)
{
    /* model_create registers head.weight, head.bias last: the tail of the buffer */
    return m->params.views[m->idx_head_w].offset;
}
