/*
 * checkpoint.h — models saved and loaded as safetensors files.
 *
 * The format (https://github.com/huggingface/safetensors), byte by byte:
 *
 *     u64 little-endian  N, the header length (at most 100,000,000)
 *     N bytes            one UTF-8 JSON object:
 *                          {"__metadata__": {"key": "string value", ...},
 *                           "embed.weight": {"dtype": "F32", "shape": [V, E],
 *                                            "data_offsets": [begin, end]}, ...}
 *     the rest           raw little-endian tensor data; tensor t occupies
 *                        bytes [begin, end) of it, the ranges tile it exactly
 *
 * seqlab writes float32 ("F32") whatever `real` is, so a checkpoint is the
 * same file in the float and the double build, and loads unchanged into the
 * PyTorch modules of tests/reference/make_fixtures.py (load_state_dict).
 * In the double build the saved values are the parameters rounded to float.
 *
 * The reader is strict, like the reference loader: every rule of the format
 * is checked and every rejection names the file and the tensor or header
 * field at fault.  F64 tensors are accepted and converted to `real`.
 *
 * What this file is not: the trainer's resume state (optimizer moments, rng)
 * — that is train's business; it saves them with the same writer.
 */
#ifndef SEQLAB_CHECKPOINT_H
#define SEQLAB_CHECKPOINT_H

#include <stddef.h>

#include "model.h"
#include "params.h"
#include "real.h"

/* the reference loader's limit on the JSON header */
#define SAFETENSORS_MAX_HEADER 100000000ULL

/* ---- metadata: string keys -> string values, in insertion order ---------- */
typedef struct Meta {
    int count, cap;
    char **keys;    /* (count) */
    char **values;  /* (count) */
} Meta;

void meta_init(Meta *meta);
/* set key to value (both copied); replaces the value if key is present */
void meta_set(Meta *meta, const char *key, const char *value);
/* the value of key, or NULL if absent */
const char *meta_get(const Meta *meta, const char *key);
void meta_free(Meta *meta);

/* ---- writing -------------------------------------------------------------
 * every tensor of ps, in registration order, as F32, with meta as
 * __metadata__; written to path.tmp and renamed onto path.  0 or -1 with a
 * message in err. */
int checkpoint_save(const char *path, const ParamSet *ps, const Meta *meta,
                    char *err, size_t errlen);

/* ---- reading ------------------------------------------------------------- */
typedef struct SafeTensor {
    char *name;
    int ndim;
    long *shape;      /* (ndim) */
    size_t size;      /* product of shape */
    real *data;       /* (size) converted from the file's F32 or F64 */
} SafeTensor;

typedef struct SafeTensors {
    char *path;
    int count;
    SafeTensor *tensors;   /* (count) in the order of their data offsets */
    Meta meta;             /* __metadata__ (empty if absent) */
} SafeTensors;

/* read and validate a whole file; NULL with a message in err on any
 * violation of the format */
SafeTensors *safetensors_read(const char *path, char *err, size_t errlen);
void safetensors_free(SafeTensors *st);
/* the tensor called name, or NULL */
const SafeTensor *safetensors_find(const SafeTensors *st, const char *name);

/* ---- model config <-> metadata -------------------------------------------
 * Writes model, vocab_size, embed_dim, hidden_size, num_layers (and
 * num_heads, ffn_size for a model with attention, max_seq_len, positions for
 * one with a position table: its registry line says) as docs/design.md
 * (Checkpoints) says, plus seqlab's own input_features, output_size,
 * regression, forget_bias, init_scale and the architecture keys. */
void meta_from_model_config(Meta *meta, const ModelConfig *cfg);
/* cfg from st's metadata.  Keys docs/design.md does not require (a checkpoint
 * written by PyTorch lacks them) are derived from the tensor shapes:
 * output_size = head.weight rows, input_features = input.weight columns when
 * that tensor exists, regression = (output_size == 1), ffn_size =
 * blocks.0.mlp.fc.weight rows, positions = learned iff pos.weight exists.
 * 0, or -1 with a message naming the file and key. */
int model_config_from_checkpoint(const SafeTensors *st, ModelConfig *cfg,
                                 char *err, size_t errlen);

/* ---- loading a model -----------------------------------------------------
 * Build the model the metadata describes (model_create) and copy every
 * tensor in.  A missing tensor, an extra tensor, or a tensor whose shape
 * disagrees with the metadata gives NULL and a message naming it.  The
 * model's activations are not allocated (call model_alloc_acts).
 * meta_out, if not NULL, is a Meta the caller has meta_init'ed; the file's
 * metadata is added to it (meta_set) when the load succeeds. */
Model *checkpoint_load_model(const char *path, Meta *meta_out, char *err, size_t errlen);

/* The same from an already-read file, skipping tensors whose names start
 * with one of ignore_prefixes (a NULL-terminated list, or NULL for none).
 * Only the test fixtures need the prefixes: they carry inputs, expected
 * outputs and gradients ("fixture.", "grad.") beside the weights. */
Model *checkpoint_model_from_tensors(const SafeTensors *st, const char *const *ignore_prefixes,
                                     char *err, size_t errlen);

#endif
