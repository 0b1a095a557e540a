/*
 * checkpoint.c — safetensors writer, strict reader, and model load/save
 * (see checkpoint.h for the format).
 *
 * Sections: metadata table | little-endian conversion | writer | reader
 * (the format's rules, checked in file order) | ModelConfig <-> metadata |
 * building a Model from a file.
 */
#include "checkpoint.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>

#include "registry.h"
#include "util.h"

/* sizes of the two dtypes seqlab reads */
#define F32_BYTES 4
#define F64_BYTES 8
/* the header length field */
#define HEADER_LEN_BYTES 8
/* the reference writer pads the header with spaces to a multiple of this */
#define HEADER_ALIGN 8
/* JSON numbers are doubles: integers are exact up to 2^53 */
#define JSON_MAX_EXACT_INT 9007199254740992.0

/* snprintf into err, if the caller gave a buffer */
static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || errlen == 0) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* ==========================================================================
 * Metadata: a small ordered string table
 * ========================================================================== */

void meta_init(Meta *meta)
{
    memset(meta, 0, sizeof *meta);
}

void meta_set(Meta *meta, const char *key, const char *value)
{
    for (int i = 0; i < meta->count; i++) {
        if (strcmp(meta->keys[i], key) == 0) {
            free(meta->values[i]);
            meta->values[i] = xstrdup(value);
            return;
        }
    }
    if (meta->count == meta->cap) {
        meta->cap = meta->cap ? 2 * meta->cap : 16;
        meta->keys = xrealloc(meta->keys, (size_t)meta->cap * sizeof *meta->keys);
        meta->values = xrealloc(meta->values, (size_t)meta->cap * sizeof *meta->values);
    }
    meta->keys[meta->count] = xstrdup(key);
    meta->values[meta->count] = xstrdup(value);
    meta->count++;
}

const char *meta_get(const Meta *meta, const char *key)
{
    for (int i = 0; i < meta->count; i++)
        if (strcmp(meta->keys[i], key) == 0) return meta->values[i];
    return NULL;
}

void meta_free(Meta *meta)
{
    for (int i = 0; i < meta->count; i++) {
        free(meta->keys[i]);
        free(meta->values[i]);
    }
    free(meta->keys);
    free(meta->values);
    memset(meta, 0, sizeof *meta);
}

/* ==========================================================================
 * Little-endian bytes <-> numbers, independent of the host's byte order
 * ========================================================================== */

static uint64_t load_le64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

static void store_le64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static float load_f32(const unsigned char *p)
{
    uint32_t bits = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                    (uint32_t)p[3] << 24;
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

static void store_f32(unsigned char *p, float f)
{
    uint32_t bits;
    memcpy(&bits, &f, sizeof bits);
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(bits >> (8 * i));
}

static double load_f64(const unsigned char *p)
{
    uint64_t bits = load_le64(p);
    double d;
    memcpy(&d, &bits, sizeof d);
    return d;
}

/* 1 if s[0..n) is well-formed UTF-8 (no overlong forms, no surrogates,
 * nothing above U+10FFFF); *bad gets the offset of the first bad byte */
static int utf8_valid(const unsigned char *s, size_t n, size_t *bad)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        size_t len;
        uint32_t cp, min;
        if (c < 0x80) { i++; continue; }
        else if ((c & 0xE0) == 0xC0) { len = 2; cp = c & 0x1F; min = 0x80; }
        else if ((c & 0xF0) == 0xE0) { len = 3; cp = c & 0x0F; min = 0x800; }
        else if ((c & 0xF8) == 0xF0) { len = 4; cp = c & 0x07; min = 0x10000; }
        else { *bad = i; return 0; }
        if (i + len > n) { *bad = i; return 0; }
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80) { *bad = i; return 0; }
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) { *bad = i; return 0; }
        i += len;
    }
    return 1;
}

/* ==========================================================================
 * Writer
 * ========================================================================== */

int checkpoint_save(const char *path, const ParamSet *ps, const Meta *meta,
                    char *err, size_t errlen)
{
    /* the header: {"__metadata__": {...}, name: {dtype, shape, data_offsets}, ...} */
    cJSON *root = cJSON_CreateObject();
    cJSON *jmeta = cJSON_AddObjectToObject(root, "__metadata__");
    size_t bad;
    for (int i = 0; meta && i < meta->count; i++) {
        const char *k = meta->keys[i], *v = meta->values[i];
        if (!utf8_valid((const unsigned char *)k, strlen(k), &bad) ||
            !utf8_valid((const unsigned char *)v, strlen(v), &bad)) {
            set_err(err, errlen, "%s: metadata key '%s': not valid UTF-8, which safetensors requires",
                    path, k);
            cJSON_Delete(root);
            return -1;
        }
        cJSON_AddStringToObject(jmeta, k, v);
    }
    size_t offset = 0;  /* bytes, in the data section */
    for (int t = 0; t < ps->count; t++) {
        const ParamView *v = &ps->views[t];
        cJSON *info = cJSON_AddObjectToObject(root, v->name);
        cJSON_AddStringToObject(info, "dtype", "F32");
        cJSON *shape = cJSON_AddArrayToObject(info, "shape");
        for (int d = 0; d < v->ndim; d++) cJSON_AddItemToArray(shape, cJSON_CreateNumber(v->shape[d]));
        cJSON *offsets = cJSON_AddArrayToObject(info, "data_offsets");
        cJSON_AddItemToArray(offsets, cJSON_CreateNumber((double)offset));
        offset += v->size * F32_BYTES;
        cJSON_AddItemToArray(offsets, cJSON_CreateNumber((double)offset));
    }
    char *json = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (!json) die("out of memory printing the header of '%s'", path);
    size_t json_len = strlen(json);
    size_t header_len = (json_len + HEADER_ALIGN - 1) / HEADER_ALIGN * HEADER_ALIGN;

    /* the file: length, header padded with spaces, then every value as F32 */
    size_t file_len = HEADER_LEN_BYTES + header_len + offset;
    unsigned char *buf = xmalloc(file_len);
    store_le64(buf, header_len);
    memcpy(buf + HEADER_LEN_BYTES, json, json_len);
    memset(buf + HEADER_LEN_BYTES + json_len, ' ', header_len - json_len);
    free(json);
    unsigned char *data = buf + HEADER_LEN_BYTES + header_len;
    for (int t = 0; t < ps->count; t++) {
        const ParamView *v = &ps->views[t];
        for (size_t i = 0; i < v->size; i++, data += F32_BYTES)
            store_f32(data, (float)ps->value[v->offset + i]);
    }
    int rc = file_write_atomic(path, buf, file_len, err, errlen);
    free(buf);
    return rc;
}

/* ==========================================================================
 * Reader: the rules of the format, in the order the bytes come
 * ========================================================================== */

/* a tensor's header entry, before its data is converted */
typedef struct TensorInfo {
    const char *name;   /* points into the parsed JSON */
    int dtype_bytes;    /* F32_BYTES or F64_BYTES */
    int ndim;
    long *shape;        /* (ndim) */
    size_t size;        /* product of shape */
    uint64_t begin, end;
} TensorInfo;

/* a JSON number that is an integer in [0, 2^53]; 0 ok, -1 not */
static int json_uint(const cJSON *item, uint64_t *out)
{
    if (!cJSON_IsNumber(item)) return -1;
    double d = item->valuedouble;
    if (!(d >= 0 && d <= JSON_MAX_EXACT_INT) || d != floor(d)) return -1;
    *out = (uint64_t)d;
    return 0;
}

static int compare_info_by_begin(const void *a, const void *b)
{
    const TensorInfo *x = a, *y = b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    return x->end < y->end ? -1 : x->end > y->end;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* one tensor entry {"dtype": ..., "shape": [...], "data_offsets": [b, e]};
 * 0 or -1 with a message naming the tensor and field */
static int parse_tensor_info(const char *path, const cJSON *entry, TensorInfo *ti,
                             char *err, size_t errlen)
{
    const char *name = entry->string;
    ti->name = name;
    if (!cJSON_IsObject(entry)) {
        set_err(err, errlen, "%s: tensor '%s': header entry is not a JSON object", path, name);
        return -1;
    }
    const cJSON *dtype = NULL, *shape = NULL, *offsets = NULL, *field;
    cJSON_ArrayForEach(field, entry) {
        if (strcmp(field->string, "dtype") == 0 && !dtype) dtype = field;
        else if (strcmp(field->string, "shape") == 0 && !shape) shape = field;
        else if (strcmp(field->string, "data_offsets") == 0 && !offsets) offsets = field;
        else {
            set_err(err, errlen, "%s: tensor '%s': unexpected or repeated field '%s'", path, name,
                    field->string);
            return -1;
        }
    }
    /* dtype: F32, or F64 (converted) */
    if (!dtype || !cJSON_IsString(dtype)) {
        set_err(err, errlen, "%s: tensor '%s': field 'dtype' %s", path, name,
                dtype ? "is not a string" : "is missing");
        return -1;
    }
    if (strcmp(dtype->valuestring, "F32") == 0) ti->dtype_bytes = F32_BYTES;
    else if (strcmp(dtype->valuestring, "F64") == 0) ti->dtype_bytes = F64_BYTES;
    else {
        set_err(err, errlen, "%s: tensor '%s': dtype '%s' is not supported (F32 or F64)", path,
                name, dtype->valuestring);
        return -1;
    }
    /* shape: non-negative integers; size = their product, without overflow */
    if (!shape || !cJSON_IsArray(shape)) {
        set_err(err, errlen, "%s: tensor '%s': field 'shape' %s", path, name,
                shape ? "is not an array" : "is missing");
        return -1;
    }
    ti->ndim = cJSON_GetArraySize(shape);
    ti->shape = xmalloc((size_t)ti->ndim * sizeof *ti->shape);
    ti->size = 1;
    int d = 0;
    const cJSON *dim;
    cJSON_ArrayForEach(dim, shape) {
        uint64_t n;
        if (json_uint(dim, &n) != 0 || n > LONG_MAX) {
            set_err(err, errlen, "%s: tensor '%s': shape[%d] is not a non-negative integer", path,
                    name, d);
            return -1;
        }
        if (n != 0 && ti->size > SIZE_MAX / n) {
            set_err(err, errlen, "%s: tensor '%s': shape overflows the element count", path, name);
            return -1;
        }
        ti->shape[d++] = (long)n;
        ti->size *= (size_t)n;
    }
    /* data_offsets: [begin, end] with begin <= end */
    if (!offsets || !cJSON_IsArray(offsets) || cJSON_GetArraySize(offsets) != 2 ||
        json_uint(cJSON_GetArrayItem(offsets, 0), &ti->begin) != 0 ||
        json_uint(cJSON_GetArrayItem(offsets, 1), &ti->end) != 0) {
        set_err(err, errlen, "%s: tensor '%s': field 'data_offsets' %s", path, name,
                offsets ? "is not [begin, end] with non-negative integers" : "is missing");
        return -1;
    }
    if (ti->end < ti->begin) {
        set_err(err, errlen, "%s: tensor '%s': data_offsets [%llu, %llu] end before they begin",
                path, name, (unsigned long long)ti->begin, (unsigned long long)ti->end);
        return -1;
    }
    /* byte count = product(shape) * dtype size */
    if (ti->size > SIZE_MAX / (size_t)ti->dtype_bytes ||
        ti->end - ti->begin != (uint64_t)ti->size * (uint64_t)ti->dtype_bytes) {
        set_err(err, errlen,
                "%s: tensor '%s': data_offsets [%llu, %llu] hold %llu bytes but shape and dtype "
                "%s need %zu x %d",
                path, name, (unsigned long long)ti->begin, (unsigned long long)ti->end,
                (unsigned long long)(ti->end - ti->begin), dtype->valuestring, ti->size,
                ti->dtype_bytes);
        return -1;
    }
    return 0;
}

/* __metadata__: an object whose values are all strings */
static int parse_metadata(const char *path, const cJSON *jmeta, Meta *meta, char *err,
                          size_t errlen)
{
    if (!cJSON_IsObject(jmeta)) {
        set_err(err, errlen, "%s: __metadata__ is not a JSON object", path);
        return -1;
    }
    const cJSON *item;
    cJSON_ArrayForEach(item, jmeta) {
        if (!cJSON_IsString(item)) {
            set_err(err, errlen, "%s: __metadata__ key '%s': value is not a string", path,
                    item->string);
            return -1;
        }
        if (meta_get(meta, item->string)) {
            set_err(err, errlen, "%s: __metadata__ key '%s' appears twice", path, item->string);
            return -1;
        }
        meta_set(meta, item->string, item->valuestring);
    }
    return 0;
}

/* header text -> parsed JSON object; NULL with a message */
static cJSON *parse_header(const char *path, const unsigned char *text, size_t n, char *err,
                           size_t errlen)
{
    size_t bad;
    if (!utf8_valid(text, n, &bad)) {
        set_err(err, errlen, "%s: header is not valid UTF-8 (byte %zu of the header)", path, bad);
        return NULL;
    }
    if (n == 0 || text[0] != '{') {
        set_err(err, errlen, "%s: header is not a JSON object (it must start with '{')", path);
        return NULL;
    }
    /* NUL-terminated copy: cJSON reads C strings */
    char *copy = xmalloc(n + 1);
    memcpy(copy, text, n);
    copy[n] = '\0';
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithOpts(copy, &end, 0);
    if (!root) {
        size_t at = end ? (size_t)(end - copy) : 0;
        set_err(err, errlen, "%s: header is not valid JSON (error near byte %zu of the header)",
                path, at);
        free(copy);
        return NULL;
    }
    /* after the object only the padding may follow: whitespace */
    for (const char *p = end; p < copy + n; p++) {
        if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') {
            set_err(err, errlen, "%s: header has bytes after its JSON object (byte %zu)", path,
                    (size_t)(p - copy));
            cJSON_Delete(root);
            free(copy);
            return NULL;
        }
    }
    free(copy);
    if (!cJSON_IsObject(root)) {
        set_err(err, errlen, "%s: header is not a JSON object", path);
        cJSON_Delete(root);
        return NULL;
    }
    return root;
}

SafeTensors *safetensors_read(const char *path, char *err, size_t errlen)
{
    size_t file_len;
    unsigned char *file = (unsigned char *)file_read_all(path, &file_len);
    if (!file) {
        set_err(err, errlen, "%s: cannot read: %s", path, strerror(errno));
        return NULL;
    }
    SafeTensors *st = NULL;
    cJSON *root = NULL;
    TensorInfo *info = NULL;
    const char **names = NULL;
    int count = 0;

    /* 1. the header length: 8 bytes, at most 1e8, inside the file */
    if (file_len < HEADER_LEN_BYTES) {
        set_err(err, errlen, "%s: truncated: %zu bytes, too short for the 8-byte header length",
                path, file_len);
        goto fail;
    }
    uint64_t header_len = load_le64(file);
    if (header_len > SAFETENSORS_MAX_HEADER) {
        set_err(err, errlen, "%s: header length %llu exceeds the limit of %llu bytes", path,
                (unsigned long long)header_len, (unsigned long long)SAFETENSORS_MAX_HEADER);
        goto fail;
    }
    if (header_len > file_len - HEADER_LEN_BYTES) {
        set_err(err, errlen, "%s: header length %llu runs past the end of the file (%zu bytes)",
                path, (unsigned long long)header_len, file_len);
        goto fail;
    }
    const unsigned char *data = file + HEADER_LEN_BYTES + header_len;
    uint64_t data_len = file_len - HEADER_LEN_BYTES - header_len;

    /* 2. the header: one UTF-8 JSON object */
    root = parse_header(path, file + HEADER_LEN_BYTES, (size_t)header_len, err, errlen);
    if (!root) goto fail;

    st = xcalloc(1, sizeof *st);
    st->path = xstrdup(path);
    meta_init(&st->meta);
    int entries = cJSON_GetArraySize(root);
    info = xcalloc((size_t)entries + 1, sizeof *info);
    names = xcalloc((size_t)entries + 1, sizeof *names);
    int seen_meta = 0;
    const cJSON *entry;
    cJSON_ArrayForEach(entry, root) {
        /* 3. __metadata__: string values only */
        if (strcmp(entry->string, "__metadata__") == 0) {
            if (seen_meta++) {
                set_err(err, errlen, "%s: __metadata__ appears twice", path);
                goto fail;
            }
            if (parse_metadata(path, entry, &st->meta, err, errlen) != 0) goto fail;
            continue;
        }
        /* 4. each tensor: dtype, shape, offsets, byte count */
        if (parse_tensor_info(path, entry, &info[count], err, errlen) != 0) {
            count++;  /* so its shape is freed */
            goto fail;
        }
        names[count] = entry->string;
        count++;
    }
    /* 5. names are unique */
    qsort(names, (size_t)count, sizeof *names, compare_names);
    for (int i = 1; i < count; i++) {
        if (strcmp(names[i - 1], names[i]) == 0) {
            set_err(err, errlen, "%s: tensor '%s' appears twice in the header", path, names[i]);
            goto fail;
        }
    }
    /* 6. offsets tile the data section: from 0, no gap, no overlap, to its end */
    qsort(info, (size_t)count, sizeof *info, compare_info_by_begin);
    uint64_t expect = 0;
    for (int i = 0; i < count; i++) {
        if (info[i].begin != expect) {
            if (i == 0)
                set_err(err, errlen, "%s: tensor '%s': data starts at byte %llu, leaving a gap "
                        "(the first tensor must start at 0)",
                        path, info[i].name, (unsigned long long)info[i].begin);
            else
                set_err(err, errlen, "%s: tensor '%s': data starts at byte %llu but tensor '%s' "
                        "ends at %llu (%s)",
                        path, info[i].name, (unsigned long long)info[i].begin, info[i - 1].name,
                        (unsigned long long)expect, info[i].begin < expect ? "overlap" : "gap");
            goto fail;
        }
        if (info[i].end > data_len) {
            set_err(err, errlen, "%s: tensor '%s': data_offsets end at byte %llu, past the end "
                    "of the data (%llu bytes)",
                    path, info[i].name, (unsigned long long)info[i].end,
                    (unsigned long long)data_len);
            goto fail;
        }
        expect = info[i].end;
    }
    if (expect != data_len) {
        set_err(err, errlen, "%s: %llu bytes after the last tensor%s%s%s: the data must end the file",
                path, (unsigned long long)(data_len - expect), count ? " '" : "",
                count ? info[count - 1].name : "", count ? "'" : "");
        goto fail;
    }

    /* 7. convert the data to `real` */
    st->count = count;
    st->tensors = xcalloc((size_t)count + 1, sizeof *st->tensors);
    for (int i = 0; i < count; i++) {
        SafeTensor *t = &st->tensors[i];
        const TensorInfo *ti = &info[i];
        t->name = xstrdup(ti->name);
        t->ndim = ti->ndim;
        t->shape = ti->shape;
        info[i].shape = NULL;  /* now owned by st */
        t->size = ti->size;
        t->data = xmalloc(t->size * sizeof(real));
        const unsigned char *p = data + ti->begin;
        for (size_t k = 0; k < t->size; k++, p += ti->dtype_bytes)
            t->data[k] = ti->dtype_bytes == F32_BYTES ? (real)load_f32(p) : (real)load_f64(p);
    }
    cJSON_Delete(root);
    free(names);
    free(info);
    free(file);
    return st;

fail:
    for (int i = 0; info && i < count; i++) free(info[i].shape);
    free(info);
    free(names);
    cJSON_Delete(root);
    safetensors_free(st);
    free(file);
    return NULL;
}

void safetensors_free(SafeTensors *st)
{
    if (!st) return;
    for (int i = 0; i < st->count; i++) {
        free(st->tensors[i].name);
        free(st->tensors[i].shape);
        free(st->tensors[i].data);
    }
    free(st->tensors);
    meta_free(&st->meta);
    free(st->path);
    free(st);
}

const SafeTensor *safetensors_find(const SafeTensors *st, const char *name)
{
    for (int i = 0; i < st->count; i++)
        if (strcmp(st->tensors[i].name, name) == 0) return &st->tensors[i];
    return NULL;
}

/* ==========================================================================
 * ModelConfig <-> metadata
 * ========================================================================== */

static const char *const positions_names[] = {
    [POSITIONS_SINUSOIDAL] = "sinusoidal",
    [POSITIONS_LEARNED] = "learned",
    [POSITIONS_NONE] = "none",
};

static void meta_set_int(Meta *meta, const char *key, long v)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%ld", v);
    meta_set(meta, key, buf);
}

static void meta_set_double(Meta *meta, const char *key, double v)
{
    char buf[40];
    snprintf(buf, sizeof buf, "%.17g", v);  /* 17 digits: reads back exactly */
    meta_set(meta, key, buf);
}

static const char *const architecture_names[] = {
    [ARCH_DECODER] = "decoder",
    [ARCH_ENCODER] = "encoder",
    [ARCH_ENCODER_DECODER] = "encoder-decoder",
};
static const char *const attention_names[] = {[ATTENTION_NONE] = "none", [ATTENTION_ADDITIVE] = "additive"};
static const char *const pooling_names[] = {[POOLING_MEAN] = "mean", [POOLING_LAST] = "last"};

void meta_from_model_config(Meta *meta, const ModelConfig *cfg)
{
    meta_set(meta, "model", cfg->kind);
    meta_set_int(meta, "vocab_size", cfg->vocab_size);
    meta_set_int(meta, "embed_dim", cfg->embed_dim);
    meta_set_int(meta, "hidden_size", cfg->hidden_size);
    meta_set_int(meta, "num_layers", cfg->num_layers);
    const ModelInfo *info = model_info_find(cfg->kind);
    if (info && info->attention) {
        meta_set_int(meta, "num_heads", cfg->num_heads);
        meta_set_int(meta, "ffn_size", cfg->ffn_size);
    }
    if (info && info->position_table) {
        meta_set_int(meta, "max_seq_len", cfg->max_seq_len);
        meta_set(meta, "positions", positions_names[cfg->positions]);
    }
    meta_set_int(meta, "input_features", cfg->input_features);
    meta_set_int(meta, "output_size", cfg->output_size);
    meta_set(meta, "regression", cfg->regression ? "1" : "0");
    meta_set_double(meta, "forget_bias", cfg->forget_bias);
    meta_set_double(meta, "init_scale", cfg->init_scale);
    meta_set(meta, "architecture", architecture_names[cfg->architecture]);
    if (cfg->architecture == ARCH_ENCODER_DECODER)
        meta_set(meta, "attention", attention_names[cfg->attention]);
    meta_set(meta, "bidirectional", cfg->bidirectional ? "1" : "0");
    meta_set(meta, "pooling", pooling_names[cfg->pooling]);
    if (model_has_mask_token(cfg)) {
        /* the embedding's extra row: masked language modelling's [MASK] */
        char v[32];
        snprintf(v, sizeof v, "%d", cfg->vocab_size);
        meta_set(meta, "mask_token", v);
    }
}

/* metadata key as one of names[0..n): 1 found, 0 absent, -1 not one of them */
static int meta_choice(const SafeTensors *st, const char *key, const char *const *names, int n,
                       int *out, char *err, size_t errlen)
{
    const char *s = meta_get(&st->meta, key);
    if (!s) return 0;
    for (int i = 0; i < n; i++)
        if (strcmp(s, names[i]) == 0) { *out = i; return 1; }
    set_err(err, errlen, "%s: metadata '%s' = '%s' is not one of the known values", st->path, key, s);
    return -1;
}

/* key as an integer in [0, INT_MAX]: 1 found, 0 absent, -1 malformed */
static int meta_int(const SafeTensors *st, const char *key, int *out, char *err, size_t errlen)
{
    const char *s = meta_get(&st->meta, key);
    if (!s) return 0;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (end == s || *end != '\0' || errno != 0 || v < 0 || v > INT_MAX) {
        set_err(err, errlen, "%s: metadata '%s' = '%s' is not a non-negative integer", st->path,
                key, s);
        return -1;
    }
    *out = (int)v;
    return 1;
}

/* a key docs/design.md (Checkpoints) requires: missing is an error */
static int meta_int_required(const SafeTensors *st, const char *key, int *out, char *err,
                             size_t errlen)
{
    int rc = meta_int(st, key, out, err, errlen);
    if (rc == 0) set_err(err, errlen, "%s: metadata key '%s' is missing", st->path, key);
    return rc == 1 ? 0 : -1;
}

static int meta_double(const SafeTensors *st, const char *key, double *out, char *err,
                       size_t errlen)
{
    const char *s = meta_get(&st->meta, key);
    if (!s) return 0;
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end != '\0' || !isfinite(v)) {
        set_err(err, errlen, "%s: metadata '%s' = '%s' is not a number", st->path, key, s);
        return -1;
    }
    *out = v;
    return 1;
}

/* rows (shape[0]) or columns (shape[1]) of a 2-D tensor, or -1 if absent */
static long tensor_dim(const SafeTensors *st, const char *name, int axis)
{
    const SafeTensor *t = safetensors_find(st, name);
    if (!t || t->ndim <= axis) return -1;
    return t->shape[axis];
}

int model_config_from_checkpoint(const SafeTensors *st, ModelConfig *cfg, char *err,
                                 size_t errlen)
{
    memset(cfg, 0, sizeof *cfg);
    const char *path = st->path;
    /* model: one of the four kinds */
    const char *kind = meta_get(&st->meta, "model");
    if (!kind) {
        set_err(err, errlen, "%s: metadata key 'model' is missing", path);
        return -1;
    }
    const ModelInfo *info = model_info_find(kind);
    if (!info) {
        set_err(err, errlen, "%s: metadata 'model' = '%s' (expected %s)", path, kind, model_info_names_prose());
        return -1;
    }
    strcpy(cfg->kind, kind);

    /* the keys docs/design.md (Checkpoints) requires */
    if (meta_int_required(st, "vocab_size", &cfg->vocab_size, err, errlen) != 0 ||
        meta_int_required(st, "embed_dim", &cfg->embed_dim, err, errlen) != 0 ||
        meta_int_required(st, "hidden_size", &cfg->hidden_size, err, errlen) != 0 ||
        meta_int_required(st, "num_layers", &cfg->num_layers, err, errlen) != 0)
        return -1;
    if (info->attention && meta_int_required(st, "num_heads", &cfg->num_heads, err, errlen) != 0)
        return -1;

    /* seqlab's own keys, or what the tensors say */
    int rc = meta_int(st, "input_features", &cfg->input_features, err, errlen);
    if (rc < 0) return -1;
    if (rc == 0) {
        long F = tensor_dim(st, "input.weight", 1);
        cfg->input_features = F > 0 && F <= INT_MAX ? (int)F : 0;
    }
    rc = meta_int(st, "output_size", &cfg->output_size, err, errlen);
    if (rc < 0) return -1;
    if (rc == 0) {
        long O = tensor_dim(st, "head.weight", 0);
        if (O <= 0 || O > INT_MAX) {
            set_err(err, errlen, "%s: no metadata 'output_size' and no tensor 'head.weight' to "
                    "take it from", path);
            return -1;
        }
        cfg->output_size = (int)O;
    }
    const char *reg = meta_get(&st->meta, "regression");
    if (!reg) cfg->regression = cfg->output_size == 1;  /* one class would be no classifier */
    else if (strcmp(reg, "1") == 0 || strcmp(reg, "true") == 0) cfg->regression = 1;
    else if (strcmp(reg, "0") == 0 || strcmp(reg, "false") == 0) cfg->regression = 0;
    else {
        set_err(err, errlen, "%s: metadata 'regression' = '%s' (expected 0 or 1)", path, reg);
        return -1;
    }
    cfg->forget_bias = 0;
    cfg->init_scale = 1;
    if (meta_double(st, "forget_bias", &cfg->forget_bias, err, errlen) < 0 ||
        meta_double(st, "init_scale", &cfg->init_scale, err, errlen) < 0)
        return -1;
    /* the architecture keys: missing means round one's causal decoder */
    int choice = ARCH_DECODER;
    if (meta_choice(st, "architecture", architecture_names, 3, &choice, err, errlen) < 0) return -1;
    cfg->architecture = (Architecture)choice;
    choice = ATTENTION_NONE;
    if (meta_choice(st, "attention", attention_names, 2, &choice, err, errlen) < 0) return -1;
    cfg->attention = (AttentionKind)choice;
    choice = POOLING_MEAN;
    if (meta_choice(st, "pooling", pooling_names, 2, &choice, err, errlen) < 0) return -1;
    cfg->pooling = (Pooling)choice;
    const char *bidir = meta_get(&st->meta, "bidirectional");
    if (bidir && strcmp(bidir, "0") != 0 && strcmp(bidir, "1") != 0) {
        set_err(err, errlen, "%s: metadata 'bidirectional' = '%s' (expected 0 or 1)", path, bidir);
        return -1;
    }
    cfg->bidirectional = bidir && strcmp(bidir, "1") == 0;
    /* a sequence classifier names its classes (labels, a JSON array of K) */
    const char *labels = meta_get(&st->meta, "labels");
    if (labels) {
        cJSON *arr = cJSON_Parse(labels);
        int K = cJSON_IsArray(arr) ? cJSON_GetArraySize(arr) : -1;
        cJSON_Delete(arr);
        if (K != cfg->output_size) {
            set_err(err, errlen, "%s: metadata 'labels' is not a JSON array of output_size = %d class names",
                    path, cfg->output_size);
            return -1;
        }
        cfg->classify = 1;
    }

    if (info->attention) {
        rc = meta_int(st, "ffn_size", &cfg->ffn_size, err, errlen);
        if (rc < 0) return -1;
        if (rc == 0) {
            long ffn = tensor_dim(st, "blocks.0.mlp.fc.weight", 0);
            cfg->ffn_size = ffn > 0 && ffn <= INT_MAX ? (int)ffn : 4 * cfg->hidden_size;
        }
    }
    if (info->position_table) {
        const char *pos = meta_get(&st->meta, "positions");
        if (!pos) {
            cfg->positions = safetensors_find(st, "pos.weight") ? POSITIONS_LEARNED
                                                               : POSITIONS_SINUSOIDAL;
        } else {
            int found = 0;
            for (int p = 0; p < 3; p++)
                if (strcmp(pos, positions_names[p]) == 0) { cfg->positions = (Positions)p; found = 1; }
            if (!found) {
                set_err(err, errlen, "%s: metadata 'positions' = '%s' (expected sinusoidal, "
                        "learned or none)", path, pos);
                return -1;
            }
        }
        rc = meta_int(st, "max_seq_len", &cfg->max_seq_len, err, errlen);
        if (rc < 0) return -1;
        if (rc == 0) {
            long rows = tensor_dim(st, "pos.weight", 0);
            if (rows <= 0 && meta_int(st, "seq_len", &cfg->max_seq_len, err, errlen) != 1) {
                set_err(err, errlen, "%s: metadata key 'max_seq_len' is missing", path);
                return -1;
            }
            if (rows > 0 && rows <= INT_MAX) cfg->max_seq_len = (int)rows;
        }
    }

    /* the values must describe a model that can exist */
    const char *bad = NULL;
    if ((cfg->vocab_size > 0) == (cfg->input_features > 0))
        bad = "exactly one of vocab_size and input_features must be positive";
    else if (cfg->embed_dim <= 0) bad = "embed_dim must be positive";
    else if (cfg->hidden_size <= 0) bad = "hidden_size must be positive";
    else if (cfg->num_layers <= 0) bad = "num_layers must be positive";
    else if (cfg->output_size <= 0) bad = "output_size must be positive";
    else if (info->attention && cfg->ffn_size <= 0) bad = "ffn_size must be positive";
    else if (info->position_table && cfg->max_seq_len <= 0) bad = "max_seq_len must be positive";
    if (bad) {
        set_err(err, errlen, "%s: metadata: %s", path, bad);
        return -1;
    }
    char why[256];
    if (info->check && info->check(cfg, why, sizeof why) != 0) {
        set_err(err, errlen, "%s: metadata: %s", path, why);
        return -1;
    }
    return 0;
}

/* ==========================================================================
 * Building a model from a file
 * ========================================================================== */

static int has_prefix(const char *name, const char *const *prefixes)
{
    for (int i = 0; prefixes && prefixes[i]; i++)
        if (strncmp(name, prefixes[i], strlen(prefixes[i])) == 0) return 1;
    return 0;
}

/* "[3, 4]" */
static void shape_string(char *buf, size_t n, int ndim, const long *shape)
{
    size_t used = (size_t)snprintf(buf, n, "[");
    for (int d = 0; d < ndim && used < n; d++)
        used += (size_t)snprintf(buf + used, n - used, "%s%ld", d ? ", " : "", shape[d]);
    if (used < n) snprintf(buf + used, n - used, "]");
}

Model *checkpoint_model_from_tensors(const SafeTensors *st, const char *const *ignore_prefixes,
                                     char *err, size_t errlen)
{
    ModelConfig cfg;
    if (model_config_from_checkpoint(st, &cfg, err, errlen) != 0) return NULL;
    if (!model_info_find(cfg.kind)) {
        set_err(err, errlen, "%s: model '%s' is not built into this seqlab", st->path, cfg.kind);
        return NULL;
    }
    /* no dimension of a model can exceed the number of values in its file:
     * catches a corrupt metadata value before model_create allocates it */
    size_t values = 0;
    for (int i = 0; i < st->count; i++) values += st->tensors[i].size;
    const struct { const char *key; int v; } dims[] = {
        {"vocab_size", cfg.vocab_size}, {"input_features", cfg.input_features},
        {"embed_dim", cfg.embed_dim},   {"hidden_size", cfg.hidden_size},
        {"num_layers", cfg.num_layers}, {"output_size", cfg.output_size},
        {"ffn_size", cfg.ffn_size},
    };
    for (size_t i = 0; i < sizeof dims / sizeof dims[0]; i++) {
        if ((size_t)dims[i].v > values) {
            set_err(err, errlen, "%s: metadata '%s' = %d but the file holds only %zu values",
                    st->path, dims[i].key, dims[i].v, values);
            return NULL;
        }
    }

    /* nor can the model have more parameters than the file has values; at
     * least: the input matrix, one H x H matrix per layer (every body has
     * one: W_hh, or the attention projection) and the head */
    double in = cfg.vocab_size > 0 ? cfg.vocab_size : cfg.input_features;
    double least = in * cfg.embed_dim + (double)cfg.num_layers * cfg.hidden_size * cfg.hidden_size +
                   (double)cfg.output_size * cfg.hidden_size;
    if (least > (double)values) {
        set_err(err, errlen, "%s: the metadata describes a model of at least %.0f parameters, but the file "
                "holds only %zu values", st->path, least, values);
        return NULL;
    }

    Model *m = model_create(&cfg);
    ParamSet *ps = &m->params;
    char want[96], have[96];
    /* every parameter the model needs, with the shape the metadata implies */
    for (int k = 0; k < ps->count; k++) {
        const ParamView *v = &ps->views[k];
        const SafeTensor *t = safetensors_find(st, v->name);
        if (!t) {
            set_err(err, errlen, "%s: tensor '%s' is missing (a %d-layer %s needs it)", st->path,
                    v->name, cfg.num_layers, cfg.kind);
            goto fail;
        }
        int same = t->ndim == v->ndim;
        for (int d = 0; same && d < v->ndim; d++) same = t->shape[d] == v->shape[d];
        if (!same) {
            long vshape[PARAM_MAX_DIMS];
            for (int d = 0; d < v->ndim; d++) vshape[d] = v->shape[d];
            shape_string(want, sizeof want, v->ndim, vshape);
            shape_string(have, sizeof have, t->ndim, t->shape);
            set_err(err, errlen, "%s: tensor '%s' has shape %s but the metadata describes %s",
                    st->path, v->name, have, want);
            goto fail;
        }
        memcpy(ps->value + v->offset, t->data, v->size * sizeof(real));
    }
    /* and nothing else */
    for (int i = 0; i < st->count; i++) {
        const char *name = st->tensors[i].name;
        if (params_find(ps, name) < 0 && !has_prefix(name, ignore_prefixes)) {
            set_err(err, errlen, "%s: unexpected tensor '%s' (not a parameter of a %d-layer %s)",
                    st->path, name, cfg.num_layers, cfg.kind);
            goto fail;
        }
    }
    return m;

fail:
    model_free(m);
    return NULL;
}

Model *checkpoint_load_model(const char *path, Meta *meta_out, char *err, size_t errlen)
{
    SafeTensors *st = safetensors_read(path, err, errlen);
    if (!st) return NULL;
    Model *m = checkpoint_model_from_tensors(st, NULL, err, errlen);
    if (m && meta_out) {
        for (int i = 0; i < st->meta.count; i++)
            meta_set(meta_out, st->meta.keys[i], st->meta.values[i]);
    }
    safetensors_free(st);
    return m;
}
