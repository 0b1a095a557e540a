/*
 * test_checkpoint.c — safetensors checkpoints: save -> load is bit-exact
 * (values and metadata), the bytes are the format's (LE length, JSON
 * header, LE float32), a file written by the float build loads identically
 * in both builds and re-saves to the same bytes, configs are derived from
 * tensor shapes when PyTorch's files lack seqlab's keys, and every
 * malformed file is rejected with a message naming the file and the tensor
 * or field at fault.  Bad files are written here, to mkstemp files.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cjson/cJSON.h>
#include <gsl/gsl_rng.h>

#include "checkpoint.h"
#include "testutil.h"
#include "util.h"

#define FIXTURES "tests/fixtures/"
/* a committed file written by the float build's checkpoint_save: a 1-layer
 * rnn, V = 7, E = 3, H = 4, with chars-tokenizer metadata (vocab has "é") */
#define FLOAT_BUILD_FIXTURE FIXTURES "float_build.safetensors"

/* the test model: odd sizes, two layers */
#define CK_V 7
#define CK_E 5
#define CK_H 4
#define CK_L 2

/* ---- helpers -------------------------------------------------------------- */

/* a fresh temporary file name (the file exists, empty); free() it */
static char *temp_path(void)
{
    const char *dir = getenv("TMPDIR");
    if (!dir || !*dir) dir = "/tmp";
    char *path = xmalloc(strlen(dir) + 32);
    sprintf(path, "%s/seqlab_ckpt_XXXXXX", dir);
    int fd = mkstemp(path);
    ck_assert_msg(fd >= 0, "mkstemp failed");
    close(fd);
    return path;
}

static void remove_temp(char *path)
{
    unlink(path);
    free(path);
}

static ModelConfig rnn_config(void)
{
    ModelConfig cfg;
    memset(&cfg, 0, sizeof cfg);
    strcpy(cfg.kind, "rnn");
    cfg.vocab_size = CK_V;
    cfg.output_size = CK_V;
    cfg.embed_dim = CK_E;
    cfg.hidden_size = CK_H;
    cfg.num_layers = CK_L;
    cfg.forget_bias = 0.25;
    cfg.init_scale = 1.5;
    return cfg;
}

/* every value rounded to float, so that the double build round-trips too */
static void round_to_float(ParamSet *ps)
{
    for (size_t i = 0; i < ps->total; i++) ps->value[i] = (real)(float)ps->value[i];
}

static void assert_meta_equal(const Meta *a, const Meta *b)
{
    ck_assert_int_eq(a->count, b->count);
    for (int i = 0; i < a->count; i++) {
        const char *v = meta_get(b, a->keys[i]);
        ck_assert_msg(v != NULL, "metadata key '%s' lost", a->keys[i]);
        ck_assert_str_eq(v, a->values[i]);
    }
}

static void assert_params_identical(const ParamSet *a, const ParamSet *b)
{
    ck_assert_int_eq(a->count, b->count);
    ck_assert_uint_eq(a->total, b->total);
    for (int k = 0; k < a->count; k++) {
        ck_assert_str_eq(a->views[k].name, b->views[k].name);
        ck_assert_int_eq(a->views[k].ndim, b->views[k].ndim);
        for (int d = 0; d < a->views[k].ndim; d++)
            ck_assert_int_eq(a->views[k].shape[d], b->views[k].shape[d]);
    }
    for (size_t i = 0; i < a->total; i++)
        ck_assert_msg(memcmp(&a->value[i], &b->value[i], sizeof(real)) == 0,
                      "value[%zu]: %.9g saved, %.9g loaded", i, (double)a->value[i],
                      (double)b->value[i]);
}

static unsigned char *read_bytes(const char *path, size_t *n)
{
    unsigned char *b = (unsigned char *)file_read_all(path, n);
    ck_assert_msg(b != NULL, "cannot read %s", path);
    return b;
}

static uint64_t le64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

static float le_f32(const unsigned char *p)
{
    uint32_t u = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* ---- save -> load ----------------------------------------------------------- */

START_TEST(test_roundtrip_bit_identical)
{
    ModelConfig cfg = rnn_config();
    Model *m = test_model(&cfg, 2, 3, 11);
    round_to_float(&m->params);
    Meta meta;
    meta_init(&meta);
    meta_from_model_config(&meta, &cfg);
    meta_set(&meta, "seq_len", "33");
    meta_set(&meta, "tokenizer", "words");
    meta_set(&meta, "vocab", "[\"<unk>\",\"the\",\"\xc3\xa9t\xc3\xa9\",\"\\\"q\\\"\"]");
    meta_set(&meta, "config", "[train]\nmodel = rnn\nlr = 0.003\n");
    meta_set(&meta, "step", "1");
    meta_set(&meta, "step", "250");  /* replaces, does not add */
    ck_assert_str_eq(meta_get(&meta, "step"), "250");
    ck_assert_ptr_null(meta_get(&meta, "absent"));

    char *path = temp_path(), err[512];
    ck_assert_msg(checkpoint_save(path, &m->params, &meta, err, sizeof err) == 0, "%s", err);
    /* atomic: the temporary file was renamed away */
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    ck_assert_int_ne(access(tmp, F_OK), 0);

    Meta loaded_meta;
    meta_init(&loaded_meta);
    Model *loaded = checkpoint_load_model(path, &loaded_meta, err, sizeof err);
    ck_assert_msg(loaded != NULL, "%s", err);
    assert_params_identical(&m->params, &loaded->params);
    assert_meta_equal(&meta, &loaded_meta);
    /* and the config came back, including seqlab's own keys */
    ck_assert_str_eq(loaded->cfg.kind, "rnn");
    ck_assert_int_eq(loaded->cfg.vocab_size, CK_V);
    ck_assert_int_eq(loaded->cfg.output_size, CK_V);
    ck_assert_int_eq(loaded->cfg.embed_dim, CK_E);
    ck_assert_int_eq(loaded->cfg.hidden_size, CK_H);
    ck_assert_int_eq(loaded->cfg.num_layers, CK_L);
    ck_assert_int_eq(loaded->cfg.regression, 0);
    ck_assert(loaded->cfg.forget_bias == cfg.forget_bias);
    ck_assert(loaded->cfg.init_scale == cfg.init_scale);
    ck_assert_ptr_null(loaded->x);  /* activations are the caller's choice */

    model_free(loaded);
    meta_free(&loaded_meta);
    meta_free(&meta);
    model_free(m);
    remove_temp(path);
}
END_TEST

/* the architecture keys come back as written; missing they mean a decoder,
 * and a value that names no architecture is refused, naming the key */
START_TEST(test_roundtrip_architecture_keys)
{
    ModelConfig cfg = rnn_config();
    cfg.architecture = ARCH_ENCODER_DECODER;
    cfg.attention = ATTENTION_ADDITIVE;
    cfg.bidirectional = 1;
    cfg.pooling = POOLING_LAST;
    ModelConfig built = rnn_config();
    Model *m = test_model(&built, 2, 3, 11);
    Meta meta;
    meta_init(&meta);
    meta_from_model_config(&meta, &cfg);
    ck_assert_str_eq(meta_get(&meta, "architecture"), "encoder-decoder");
    ck_assert_str_eq(meta_get(&meta, "attention"), "additive");
    ck_assert_str_eq(meta_get(&meta, "bidirectional"), "1");
    ck_assert_str_eq(meta_get(&meta, "pooling"), "last");
    char *path = temp_path(), err[512];
    ck_assert_msg(checkpoint_save(path, &m->params, &meta, err, sizeof err) == 0, "%s", err);
    SafeTensors *st = safetensors_read(path, err, sizeof err);
    ck_assert_msg(st != NULL, "%s", err);
    ModelConfig back;
    ck_assert_msg(model_config_from_checkpoint(st, &back, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(back.architecture, ARCH_ENCODER_DECODER);
    ck_assert_int_eq(back.attention, ATTENTION_ADDITIVE);
    ck_assert_int_eq(back.bidirectional, 1);
    ck_assert_int_eq(back.pooling, POOLING_LAST);
    safetensors_free(st);

    /* round one's checkpoints have none of these keys: a decoder */
    Meta full, old;
    meta_init(&full);
    meta_init(&old);
    ModelConfig plain = rnn_config();
    meta_from_model_config(&full, &plain);
    for (int i = 0; i < full.count; i++)
        if (strcmp(full.keys[i], "architecture") != 0 && strcmp(full.keys[i], "bidirectional") != 0 &&
            strcmp(full.keys[i], "pooling") != 0)
            meta_set(&old, full.keys[i], full.values[i]);
    meta_free(&full);
    ck_assert_msg(checkpoint_save(path, &m->params, &old, err, sizeof err) == 0, "%s", err);
    st = safetensors_read(path, err, sizeof err);
    ck_assert_msg(model_config_from_checkpoint(st, &back, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(back.architecture, ARCH_DECODER);
    ck_assert_int_eq(back.bidirectional, 0);
    safetensors_free(st);

    meta_set(&old, "architecture", "decoder-only");
    ck_assert_msg(checkpoint_save(path, &m->params, &old, err, sizeof err) == 0, "%s", err);
    st = safetensors_read(path, err, sizeof err);
    ck_assert_int_eq(model_config_from_checkpoint(st, &back, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "'architecture'") && strstr(err, "decoder-only"), "%s", err);
    safetensors_free(st);

    meta_free(&old);
    meta_free(&meta);
    model_free(m);
    remove_temp(path);
}
END_TEST

/* a feature-input regression model keeps input_features and regression */
START_TEST(test_roundtrip_features_regression)
{
    ModelConfig cfg = rnn_config();
    cfg.vocab_size = 0;
    cfg.input_features = 3;
    cfg.output_size = 1;
    cfg.regression = 1;
    Model *m = test_model(&cfg, 2, 3, 12);
    round_to_float(&m->params);
    Meta meta;
    meta_init(&meta);
    meta_from_model_config(&meta, &cfg);
    char *path = temp_path(), err[512];
    ck_assert_msg(checkpoint_save(path, &m->params, &meta, err, sizeof err) == 0, "%s", err);
    Model *loaded = checkpoint_load_model(path, NULL, err, sizeof err);
    ck_assert_msg(loaded != NULL, "%s", err);
    ck_assert_int_eq(loaded->cfg.input_features, 3);
    ck_assert_int_eq(loaded->cfg.vocab_size, 0);
    ck_assert_int_eq(loaded->cfg.regression, 1);
    ck_assert_int_ge(params_find(&loaded->params, "input.bias"), 0);
    assert_params_identical(&m->params, &loaded->params);
    model_free(loaded);
    meta_free(&meta);
    model_free(m);
    remove_temp(path);
}
END_TEST

/* in the double build the file holds the parameters rounded to float */
START_TEST(test_save_rounds_to_float32)
{
    ModelConfig cfg = rnn_config();
    Model *m = test_model(&cfg, 2, 3, 13);
    ParamSet *ps = &m->params;
    ps->value[0] = (real)0.1;  /* not a float: rounds in the double build */
    Meta meta;
    meta_init(&meta);
    meta_from_model_config(&meta, &cfg);
    char *path = temp_path(), err[512];
    ck_assert_msg(checkpoint_save(path, ps, &meta, err, sizeof err) == 0, "%s", err);
    Model *loaded = checkpoint_load_model(path, NULL, err, sizeof err);
    ck_assert_msg(loaded != NULL, "%s", err);
    for (size_t i = 0; i < ps->total; i++) {
        real expect = (real)(float)ps->value[i];
        ck_assert_msg(memcmp(&loaded->params.value[i], &expect, sizeof(real)) == 0,
                      "value[%zu] = %.17g, expected float(%.17g)", i,
                      (double)loaded->params.value[i], (double)ps->value[i]);
    }
    model_free(loaded);
    meta_free(&meta);
    model_free(m);
    remove_temp(path);
}
END_TEST

/* the bytes: 8-byte LE length, a JSON header padded to 8, LE float32 data */
START_TEST(test_file_layout)
{
    ModelConfig cfg = rnn_config();
    Model *m = test_model(&cfg, 2, 3, 14);
    Meta meta;
    meta_init(&meta);
    meta_from_model_config(&meta, &cfg);
    char *path = temp_path(), err[512];
    ck_assert_msg(checkpoint_save(path, &m->params, &meta, err, sizeof err) == 0, "%s", err);
    size_t n;
    unsigned char *b = read_bytes(path, &n);
    uint64_t hlen = le64(b);
    ck_assert_uint_eq(hlen % 8, 0);
    ck_assert_uint_eq(n, 8 + hlen + m->params.total * 4);
    /* the header, parsed independently of the reader */
    char *text = xmalloc(hlen + 1);
    memcpy(text, b + 8, hlen);
    text[hlen] = '\0';
    cJSON *root = cJSON_Parse(text);
    ck_assert_ptr_nonnull(root);
    cJSON *jm = cJSON_GetObjectItemCaseSensitive(root, "__metadata__");
    ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(jm, "model")->valuestring, "rnn");
    ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(jm, "hidden_size")->valuestring, "4");
    /* every tensor: F32, its shape, its offsets, its values LE at those offsets */
    const ParamSet *ps = &m->params;
    for (int k = 0; k < ps->count; k++) {
        const ParamView *v = &ps->views[k];
        cJSON *t = cJSON_GetObjectItemCaseSensitive(root, v->name);
        ck_assert_msg(t != NULL, "tensor %s not in header", v->name);
        ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(t, "dtype")->valuestring, "F32");
        cJSON *shape = cJSON_GetObjectItemCaseSensitive(t, "shape");
        ck_assert_int_eq(cJSON_GetArraySize(shape), v->ndim);
        for (int d = 0; d < v->ndim; d++)
            ck_assert_int_eq(cJSON_GetArrayItem(shape, d)->valueint, v->shape[d]);
        cJSON *off = cJSON_GetObjectItemCaseSensitive(t, "data_offsets");
        size_t begin = (size_t)cJSON_GetArrayItem(off, 0)->valuedouble;
        size_t end = (size_t)cJSON_GetArrayItem(off, 1)->valuedouble;
        ck_assert_uint_eq(end - begin, v->size * 4);
        for (size_t i = 0; i < v->size; i++) {
            float f = le_f32(b + 8 + hlen + begin + 4 * i);
            ck_assert_msg(f == (float)ps->value[v->offset + i], "%s[%zu]", v->name, i);
        }
    }
    cJSON_Delete(root);
    free(text);
    free(b);
    meta_free(&meta);
    model_free(m);
    remove_temp(path);
}
END_TEST

/* a float-build file: the same values in both builds, and saving it again
 * (in either build) writes the very same bytes */
START_TEST(test_float_build_fixture)
{
    char err[512];
    Meta meta;
    meta_init(&meta);
    Model *m = checkpoint_load_model(FLOAT_BUILD_FIXTURE, &meta, err, sizeof err);
    ck_assert_msg(m != NULL, "%s", err);
    ck_assert_str_eq(meta_get(&meta, "tokenizer"), "chars");
    ck_assert_str_eq(meta_get(&meta, "vocab"), "[\"a\",\"b\",\"c\",\"\\\"\",\"\xc3\xa9\",\" \",\"\\n\"]");
    ck_assert_str_eq(meta_get(&meta, "seq_len"), "9");
    ck_assert_int_eq(m->cfg.num_layers, 1);
    ck_assert_int_eq(m->cfg.hidden_size, 4);
    /* values = the LE float32 bytes, exactly (data follows the header in
     * registration order, which is how seqlab writes) */
    size_t n;
    unsigned char *b = read_bytes(FLOAT_BUILD_FIXTURE, &n);
    uint64_t hlen = le64(b);
    ck_assert_uint_eq(n, 8 + hlen + 4 * m->params.total);
    for (size_t i = 0; i < m->params.total; i++) {
        real expect = (real)le_f32(b + 8 + hlen + 4 * i);
        ck_assert_msg(memcmp(&m->params.value[i], &expect, sizeof(real)) == 0, "value[%zu]", i);
    }
    char *path = temp_path();
    ck_assert_msg(checkpoint_save(path, &m->params, &meta, err, sizeof err) == 0, "%s", err);
    size_t n2;
    unsigned char *b2 = read_bytes(path, &n2);
    ck_assert_uint_eq(n2, n);
    ck_assert_msg(memcmp(b, b2, n) == 0, "re-saved " REAL_NAME "-build file differs");
    free(b2);
    free(b);
    remove_temp(path);
    meta_free(&meta);
    model_free(m);
}
END_TEST

/* a file written by PyTorch lacks output_size, regression, input_features:
 * they come from the shapes; a transformer's optional keys likewise */
START_TEST(test_config_derived_from_shapes)
{
    char err[512];
    SafeTensors *st = safetensors_read(FIXTURES "rnn.safetensors", err, sizeof err);
    ck_assert_msg(st != NULL, "%s", err);
    ck_assert_ptr_null(meta_get(&st->meta, "output_size"));
    ModelConfig cfg;
    ck_assert_msg(model_config_from_checkpoint(st, &cfg, err, sizeof err) == 0, "%s", err);
    ck_assert_str_eq(cfg.kind, "rnn");
    ck_assert_int_eq(cfg.vocab_size, 11);
    ck_assert_int_eq(cfg.output_size, 11);
    ck_assert_int_eq(cfg.input_features, 0);
    ck_assert_int_eq(cfg.regression, 0);
    ck_assert_int_eq(cfg.num_layers, 2);
    safetensors_free(st);

    st = safetensors_read(FIXTURES "transformer_learned.safetensors", err, sizeof err);
    ck_assert_msg(st != NULL, "%s", err);
    ck_assert_msg(model_config_from_checkpoint(st, &cfg, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(cfg.positions, POSITIONS_LEARNED);
    ck_assert_int_eq(cfg.ffn_size, 32);
    ck_assert_int_eq(cfg.max_seq_len, 7);
    ck_assert_int_eq(cfg.num_heads, 2);
    /* without the optional keys: pos.weight says learned and gives the rows,
     * blocks.0.mlp.fc.weight the FFN width */
    Meta keep;
    meta_init(&keep);
    for (int i = 0; i < st->meta.count; i++) {
        const char *k = st->meta.keys[i];
        if (strcmp(k, "positions") && strcmp(k, "ffn_size") && strcmp(k, "max_seq_len"))
            meta_set(&keep, k, st->meta.values[i]);
    }
    meta_free(&st->meta);
    st->meta = keep;
    memset(&cfg, 0, sizeof cfg);
    ck_assert_msg(model_config_from_checkpoint(st, &cfg, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(cfg.positions, POSITIONS_LEARNED);
    ck_assert_int_eq(cfg.ffn_size, 32);
    ck_assert_int_eq(cfg.max_seq_len, 7);
    safetensors_free(st);
}
END_TEST

/* ---- the format's rules: each malformed file and what the message names --- */

/* the valid base: a (2,3) at [0,24), b (4) at [24,40) */
#define HDR_A "\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]}"
#define HDR_B "\"b\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[24,40]}"
#define NO_LEN_OVERRIDE UINT64_MAX

typedef struct BadFile {
    const char *what;
    const char *header;
    size_t data_bytes;     /* bytes of data after the header */
    uint64_t len_field;    /* the 8-byte length, or NO_LEN_OVERRIDE for strlen(header) */
    size_t file_bytes;     /* truncate the file to this many bytes (0: no) */
    const char *want1, *want2;  /* both must appear in the message */
} BadFile;

static const BadFile bad_files[] = {
    {"truncated", "{" HDR_A "," HDR_B "}", 40, NO_LEN_OVERRIDE, 5, "truncated", "5 bytes"},
    {"header length past the file", "{" HDR_A "," HDR_B "}", 40, 1000, 0, "header length 1000",
     "past the end"},
    {"header length > 1e8", "{" HDR_A "," HDR_B "}", 40, 100000001, 0, "header length 100000001",
     "limit"},
    {"malformed JSON", "{" HDR_A ",\"b\":{\"dtype\":\"F32\",", 40, NO_LEN_OVERRIDE, 0, "header",
     "not valid JSON"},
    {"non-object JSON", "[1,2,3]", 40, NO_LEN_OVERRIDE, 0, "header", "not a JSON object"},
    {"JSON string", "\"abc\"", 40, NO_LEN_OVERRIDE, 0, "header", "not a JSON object"},
    {"leading space", " {" HDR_A "," HDR_B "}", 40, NO_LEN_OVERRIDE, 0, "header",
     "not a JSON object"},
    {"text after the object", "{" HDR_A "," HDR_B "} x", 40, NO_LEN_OVERRIDE, 0, "header",
     "after its JSON object"},
    {"invalid UTF-8", "{\"a\xff\":{}}", 40, NO_LEN_OVERRIDE, 0, "header", "UTF-8"},
    {"metadata value not a string", "{\"__metadata__\":{\"model\":\"rnn\",\"step\":12}," HDR_A
     "," HDR_B "}", 40, NO_LEN_OVERRIDE, 0, "__metadata__ key 'step'", "not a string"},
    {"metadata not an object", "{\"__metadata__\":[\"x\"]," HDR_A "," HDR_B "}", 40,
     NO_LEN_OVERRIDE, 0, "__metadata__", "not a JSON object"},
    {"tensor entry not an object", "{\"a\":5," HDR_B "}", 40, NO_LEN_OVERRIDE, 0, "tensor 'a'",
     "not a JSON object"},
    {"wrong dtype", "{" HDR_A ",\"b\":{\"dtype\":\"F16\",\"shape\":[8],\"data_offsets\":[24,40]}}",
     40, NO_LEN_OVERRIDE, 0, "tensor 'b'", "dtype 'F16'"},
    {"missing dtype", "{" HDR_A ",\"b\":{\"shape\":[4],\"data_offsets\":[24,40]}}", 40,
     NO_LEN_OVERRIDE, 0, "tensor 'b'", "'dtype'"},
    {"negative dimension", "{\"a\":{\"dtype\":\"F32\",\"shape\":[-2,3],\"data_offsets\":[0,24]},"
     HDR_B "}", 40, NO_LEN_OVERRIDE, 0, "tensor 'a'", "shape[0]"},
    {"fractional dimension", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2,2.5],\"data_offsets\":[0,24]},"
     HDR_B "}", 40, NO_LEN_OVERRIDE, 0, "tensor 'a'", "shape[1]"},
    {"missing data_offsets", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2,3]}," HDR_B "}", 40,
     NO_LEN_OVERRIDE, 0, "tensor 'a'", "'data_offsets'"},
    {"unknown field", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24],"
     "\"foo\":1}," HDR_B "}", 40, NO_LEN_OVERRIDE, 0, "tensor 'a'", "'foo'"},
    {"offsets reversed", "{" HDR_A ",\"b\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[40,24]}}",
     40, NO_LEN_OVERRIDE, 0, "tensor 'b'", "end before"},
    {"byte count != shape", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2,4],\"data_offsets\":[0,24]},"
     HDR_B "}", 40, NO_LEN_OVERRIDE, 0, "tensor 'a'", "hold 24 bytes"},
    {"F64 byte count", "{\"a\":{\"dtype\":\"F64\",\"shape\":[2,3],\"data_offsets\":[0,24]},"
     HDR_B "}", 40, NO_LEN_OVERRIDE, 0, "tensor 'a'", "6 x 8"},
    {"duplicate tensor", "{" HDR_A ",\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[24,40]}}",
     40, NO_LEN_OVERRIDE, 0, "tensor 'a'", "twice"},
    {"overlapping offsets", "{" HDR_A ",\"b\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[20,36]}}",
     36, NO_LEN_OVERRIDE, 0, "tensor 'b'", "overlap"},
    {"gap between tensors", "{" HDR_A ",\"b\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[28,44]}}",
     44, NO_LEN_OVERRIDE, 0, "tensor 'b'", "gap"},
    {"first tensor not at 0", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[4,28]},"
     "\"b\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[28,44]}}",
     44, NO_LEN_OVERRIDE, 0, "tensor 'a'", "gap"},
    {"data past the end", "{" HDR_A "," HDR_B "}", 36, NO_LEN_OVERRIDE, 0, "tensor 'b'",
     "past the end"},
    {"bytes after the last tensor", "{" HDR_A "," HDR_B "}", 44, NO_LEN_OVERRIDE, 0,
     "4 bytes after the last tensor 'b'", "end the file"},
};

/* the data section: values 0.5, 1.5, ... as LE float32 */
static void fill_data(unsigned char *d, size_t n)
{
    for (size_t i = 0; i + 4 <= n; i += 4) {
        float f = 0.5f + (float)(i / 4);
        uint32_t u;
        memcpy(&u, &f, 4);
        for (int k = 0; k < 4; k++) d[i + k] = (unsigned char)(u >> (8 * k));
    }
}

/* write 8-byte LE len_field, header, data_bytes of data; keep file_bytes */
static void write_file(const char *path, const char *header, uint64_t len_field,
                       size_t data_bytes, size_t file_bytes)
{
    size_t hl = strlen(header), n = 8 + hl + data_bytes;
    unsigned char *buf = xcalloc(n, 1);
    for (int i = 0; i < 8; i++) buf[i] = (unsigned char)(len_field >> (8 * i));
    memcpy(buf + 8, header, hl);
    fill_data(buf + 8 + hl, data_bytes);
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    fwrite(buf, 1, file_bytes ? file_bytes : n, f);
    fclose(f);
    free(buf);
}

START_TEST(test_reject_malformed)
{
    const BadFile *c = &bad_files[_i];
    char *path = temp_path(), err[512] = "";
    uint64_t len = c->len_field == NO_LEN_OVERRIDE ? strlen(c->header) : c->len_field;
    write_file(path, c->header, len, c->data_bytes, c->file_bytes);
    SafeTensors *st = safetensors_read(path, err, sizeof err);
    ck_assert_msg(st == NULL, "%s: accepted", c->what);
    if (getenv("SEQLAB_TEST_VERBOSE")) printf("%-28s %s\n", c->what, err);
    ck_assert_msg(strstr(err, path) != NULL, "%s: message does not name the file: %s", c->what, err);
    ck_assert_msg(strstr(err, c->want1) != NULL, "%s: message lacks \"%s\": %s", c->what, c->want1, err);
    ck_assert_msg(strstr(err, c->want2) != NULL, "%s: message lacks \"%s\": %s", c->what, c->want2, err);
    remove_temp(path);
}
END_TEST

/* the valid base itself, and F64 data converted to real */
START_TEST(test_accept_f32_and_f64)
{
    char *path = temp_path(), err[512];
    write_file(path, "{\"__metadata__\":{\"k\":\"v\"}," HDR_A "," HDR_B "}    ",
               strlen("{\"__metadata__\":{\"k\":\"v\"}," HDR_A "," HDR_B "}    "), 40, 0);
    SafeTensors *st = safetensors_read(path, err, sizeof err);
    ck_assert_msg(st != NULL, "%s", err);
    ck_assert_int_eq(st->count, 2);
    ck_assert_str_eq(meta_get(&st->meta, "k"), "v");
    const SafeTensor *a = safetensors_find(st, "a"), *b = safetensors_find(st, "b");
    ck_assert_int_eq(a->ndim, 2);
    ck_assert_int_eq(a->shape[0], 2);
    ck_assert_int_eq(a->shape[1], 3);
    for (int i = 0; i < 6; i++) ck_assert(a->data[i] == (real)(0.5 + i));
    for (int i = 0; i < 4; i++) ck_assert(b->data[i] == (real)(6.5 + i));
    safetensors_free(st);

    /* c: F64 [2] holding 0.1 and -3.25, then d: F32 [] (a scalar) */
    const char *hdr = "{\"c\":{\"dtype\":\"F64\",\"shape\":[2],\"data_offsets\":[0,16]},"
                      "\"d\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[16,20]}}";
    size_t hl = strlen(hdr);
    unsigned char buf[512];
    for (int i = 0; i < 8; i++) buf[i] = (unsigned char)((uint64_t)hl >> (8 * i));
    memcpy(buf + 8, hdr, hl);
    double dv[2] = {0.1, -3.25};
    for (int j = 0; j < 2; j++) {
        uint64_t u;
        memcpy(&u, &dv[j], 8);
        for (int k = 0; k < 8; k++) buf[8 + hl + 8 * j + k] = (unsigned char)(u >> (8 * k));
    }
    float fv = 2.75f;
    uint32_t u32;
    memcpy(&u32, &fv, 4);
    for (int k = 0; k < 4; k++) buf[8 + hl + 16 + k] = (unsigned char)(u32 >> (8 * k));
    FILE *f = fopen(path, "wb");
    fwrite(buf, 1, 8 + hl + 20, f);
    fclose(f);
    st = safetensors_read(path, err, sizeof err);
    ck_assert_msg(st != NULL, "%s", err);
    const SafeTensor *c = safetensors_find(st, "c"), *d = safetensors_find(st, "d");
    ck_assert(c->data[0] == (real)0.1);
    ck_assert(c->data[1] == (real)-3.25);
    ck_assert_int_eq(d->ndim, 0);
    ck_assert_uint_eq(d->size, 1);
    ck_assert(d->data[0] == (real)2.75);
    ck_assert_ptr_null(safetensors_find(st, "e"));
    safetensors_free(st);
    remove_temp(path);
}
END_TEST

START_TEST(test_reject_missing_file)
{
    char err[512];
    ck_assert_ptr_null(safetensors_read("tests/fixtures/no_such_file.safetensors", err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "no_such_file.safetensors"));
}
END_TEST

/* random corruptions of a real checkpoint (fixed seed): each one is either
 * still a valid file or rejected with a message naming the file; under
 * ASan/UBSan this is also a memory-safety check of the reader */
#define CORRUPTIONS 300
START_TEST(test_random_corruptions)
{
    size_t n;
    unsigned char *orig = read_bytes(FLOAT_BUILD_FIXTURE, &n);
    unsigned char *buf = xmalloc(n);
    char *path = temp_path(), err[512];
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 2024);
    uint64_t hlen = le64(orig);
    int rejected = 0;
    for (int c = 0; c < CORRUPTIONS; c++) {
        memcpy(buf, orig, n);
        size_t len = n;
        switch (c % 3) {
        case 0:  /* one byte of the length or header changed */
            buf[gsl_rng_uniform_int(rng, 8 + hlen)] = (unsigned char)gsl_rng_uniform_int(rng, 256);
            break;
        case 1:  /* a digit of the header changed */
            for (int tries = 0; tries < 1000; tries++) {
                size_t at = 8 + gsl_rng_uniform_int(rng, hlen);
                if (buf[at] >= '0' && buf[at] <= '9') {
                    buf[at] = (unsigned char)('0' + gsl_rng_uniform_int(rng, 10));
                    break;
                }
            }
            break;
        default:  /* truncated anywhere */
            len = gsl_rng_uniform_int(rng, n);
        }
        FILE *f = fopen(path, "wb");
        fwrite(buf, 1, len, f);
        fclose(f);
        err[0] = '\0';
        SafeTensors *st = safetensors_read(path, err, sizeof err);
        if (st) {
            safetensors_free(st);
        } else {
            rejected++;
            ck_assert_msg(strstr(err, path) != NULL, "corruption %d: message without the file: %s", c, err);
        }
    }
    ck_assert_int_gt(rejected, CORRUPTIONS / 3);  /* at least every truncation */
    gsl_rng_free(rng);
    remove_temp(path);
    free(buf);
    free(orig);
}
END_TEST

/* ---- the file against the model its metadata describes --------------------- */

typedef enum { VARIANT_MISSING, VARIANT_EXTRA, VARIANT_RESHAPED } Variant;

/* save m's tensors with one change: `name` dropped, added, or one row taller */
static void save_variant(const char *path, const Model *m, const Meta *meta, Variant variant,
                         const char *name)
{
    const ParamSet *src = &m->params;
    ParamSet ps;
    params_init(&ps);
    for (int k = 0; k < src->count; k++) {
        const ParamView *v = &src->views[k];
        if (variant == VARIANT_MISSING && strcmp(v->name, name) == 0) continue;
        int shape[PARAM_MAX_DIMS];
        memcpy(shape, v->shape, sizeof shape);
        if (variant == VARIANT_RESHAPED && strcmp(v->name, name) == 0) shape[0]++;
        params_add(&ps, v->name, v->ndim, shape);
    }
    if (variant == VARIANT_EXTRA) params_add2(&ps, name, 2, 3);
    params_alloc(&ps);
    for (size_t i = 0; i < ps.total; i++) ps.value[i] = (real)(0.01 * (double)i);
    char err[512];
    ck_assert_msg(checkpoint_save(path, &ps, meta, err, sizeof err) == 0, "%s", err);
    params_free(&ps);
}

/* load must fail and the message must name the file and `want` */
static void expect_load_fails(const char *path, const char *want)
{
    char err[512] = "";
    Model *m = checkpoint_load_model(path, NULL, err, sizeof err);
    ck_assert_msg(m == NULL, "loaded, expected an error naming %s", want);
    if (getenv("SEQLAB_TEST_VERBOSE")) printf("%s\n", err);
    ck_assert_msg(strstr(err, path) != NULL, "message does not name the file: %s", err);
    ck_assert_msg(strstr(err, want) != NULL, "message lacks \"%s\": %s", want, err);
}

START_TEST(test_reject_model_mismatch)
{
    ModelConfig cfg = rnn_config();
    Model *m = test_model(&cfg, 2, 3, 15);
    Meta meta;
    meta_init(&meta);
    meta_from_model_config(&meta, &cfg);
    char *path = temp_path();

    save_variant(path, m, &meta, VARIANT_MISSING, "rnn.weight_hh_l1");
    expect_load_fails(path, "tensor 'rnn.weight_hh_l1' is missing");
    save_variant(path, m, &meta, VARIANT_EXTRA, "rnn.weight_hh_l2");
    expect_load_fails(path, "unexpected tensor 'rnn.weight_hh_l2'");
    save_variant(path, m, &meta, VARIANT_RESHAPED, "head.weight");
    expect_load_fails(path, "tensor 'head.weight' has shape [8, 4]");

    /* the tensors are right, the metadata disagrees */
    Meta bad;
    meta_init(&bad);
    meta_from_model_config(&bad, &cfg);
    meta_set(&bad, "vocab_size", "8");
    checkpoint_save(path, &m->params, &bad, NULL, 0);
    expect_load_fails(path, "tensor 'embed.weight' has shape [7, 5] but the metadata describes [8, 5]");
    meta_set(&bad, "vocab_size", "7");
    meta_set(&bad, "num_layers", "3");
    checkpoint_save(path, &m->params, &bad, NULL, 0);
    expect_load_fails(path, "tensor 'rnn.weight_ih_l2' is missing");
    meta_set(&bad, "num_layers", "1");
    checkpoint_save(path, &m->params, &bad, NULL, 0);
    expect_load_fails(path, "unexpected tensor 'rnn.weight_ih_l1'");
    meta_set(&bad, "num_layers", "two");
    checkpoint_save(path, &m->params, &bad, NULL, 0);
    expect_load_fails(path, "metadata 'num_layers' = 'two'");
    meta_set(&bad, "num_layers", "2");
    meta_set(&bad, "hidden_size", "2000000000");  /* refused before it is allocated */
    checkpoint_save(path, &m->params, &bad, NULL, 0);
    expect_load_fails(path, "metadata 'hidden_size' = 2000000000");
    meta_set(&bad, "hidden_size", "4");
    meta_set(&bad, "model", "cnn");
    checkpoint_save(path, &m->params, &bad, NULL, 0);
    expect_load_fails(path, "metadata 'model' = 'cnn'");
    meta_free(&bad);

    meta_init(&bad);  /* every key but `model` */
    for (int i = 0; i < meta.count; i++)
        if (strcmp(meta.keys[i], "model") != 0) meta_set(&bad, meta.keys[i], meta.values[i]);
    checkpoint_save(path, &m->params, &bad, NULL, 0);
    expect_load_fails(path, "metadata key 'model' is missing");
    meta_free(&bad);

    meta_free(&meta);
    model_free(m);
    remove_temp(path);
}
END_TEST

/* fixtures carry non-model tensors: only an explicit prefix list skips them */
START_TEST(test_ignore_prefixes)
{
    ModelConfig cfg = rnn_config();
    Model *m = test_model(&cfg, 2, 3, 16);
    Meta meta;
    meta_init(&meta);
    meta_from_model_config(&meta, &cfg);
    char *path = temp_path(), err[512];
    save_variant(path, m, &meta, VARIANT_EXTRA, "fixture.tokens");
    expect_load_fails(path, "unexpected tensor 'fixture.tokens'");
    SafeTensors *st = safetensors_read(path, err, sizeof err);
    ck_assert_msg(st != NULL, "%s", err);
    const char *const only_grad[] = {"grad.", NULL};
    ck_assert_ptr_null(checkpoint_model_from_tensors(st, only_grad, err, sizeof err));
    const char *const prefixes[] = {"grad.", "fixture.", NULL};
    Model *loaded = checkpoint_model_from_tensors(st, prefixes, err, sizeof err);
    ck_assert_msg(loaded != NULL, "%s", err);
    ck_assert_int_eq(loaded->params.count, m->params.count);
    model_free(loaded);
    safetensors_free(st);
    meta_free(&meta);
    model_free(m);
    remove_temp(path);
}
END_TEST

START_TEST(test_save_error_names_path)
{
    ModelConfig cfg = rnn_config();
    Model *m = test_model(&cfg, 2, 3, 17);
    char err[512] = "";
    const char *path = "tests/fixtures/no_such_dir/model.safetensors";
    ck_assert_int_eq(checkpoint_save(path, &m->params, NULL, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "no_such_dir/model.safetensors") != NULL, "%s", err);
    /* metadata that is not UTF-8 cannot be written as safetensors */
    Meta meta;
    meta_init(&meta);
    meta_set(&meta, "vocab", "[\"\xff\"]");
    char *tmp = temp_path();
    ck_assert_int_eq(checkpoint_save(tmp, &m->params, &meta, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "'vocab'") != NULL, "%s", err);
    meta_free(&meta);
    remove_temp(tmp);
    model_free(m);
}
END_TEST

static Suite *make_checkpoint_suite(void)
{
    Suite *s = suite_create("checkpoint");
    TCase *tc = tcase_create("roundtrip");
    tcase_add_test(tc, test_roundtrip_bit_identical);
    tcase_add_test(tc, test_roundtrip_features_regression);
    tcase_add_test(tc, test_roundtrip_architecture_keys);
    tcase_add_test(tc, test_save_rounds_to_float32);
    tcase_add_test(tc, test_file_layout);
    tcase_add_test(tc, test_float_build_fixture);
    tcase_add_test(tc, test_config_derived_from_shapes);
    suite_add_tcase(s, tc);
    tc = tcase_create("strict reader");
    tcase_add_loop_test(tc, test_reject_malformed, 0, (int)(sizeof bad_files / sizeof bad_files[0]));
    tcase_add_test(tc, test_accept_f32_and_f64);
    tcase_add_test(tc, test_random_corruptions);
    tcase_add_test(tc, test_reject_missing_file);
    tcase_add_test(tc, test_reject_model_mismatch);
    tcase_add_test(tc, test_ignore_prefixes);
    tcase_add_test(tc, test_save_error_names_path);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(make_checkpoint_suite());
}
