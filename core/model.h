/*
 * model.h — the one interface every sequence model plugs into.
 *
 * Dimension legend: B batch, T time, E input width (embedding or dense
 * input projection), H width of the body's output (hidden size; C for the
 * Transformer), O outputs (V classes, or 1 for regression), F input features.
 * Tokens, embeddings and logits are (B,T,.) in every model.
 *
 * A Model is three layers, and only the middle one differs between models:
 *
 *     input   tokens (B,T) -> embed.weight[token] -> x (B,T,E)
 *             or features (B,T,F) -> input.weight, input.bias -> x (B,T,E)
 *     body    x (B,T,E) -> y (B,T,H)        rnn / lstm / gru / transformer
 *     head    y (B,T,H) -> head.weight, head.bias -> logits (B,T,O)
 *             or, classifying sequences (cfg.classify):
 *             y (B,T,H) -> pool -> (B,H) -> head -> logits (B,K)
 *     loss    mean cross-entropy over targets != TARGET_IGNORE (classes), or
 *             mean squared error over them (regression)
 *
 * core/model.c owns input, head and loss; each body lives in its own folder
 * and provides a BodyOps table (the recurrent models share one and provide
 * a cell), named by the model's line in core/registry.c.  What this file is not: the trainer (see
 * train.h) or the data (see data/data.h).
 */
#ifndef SEQLAB_MODEL_H
#define SEQLAB_MODEL_H

#include <stddef.h>
#include <gsl/gsl_rng.h>

#include "batch.h"
#include "ops.h"
#include "params.h"
#include "real.h"

typedef enum { POSITIONS_SINUSOIDAL, POSITIONS_LEARNED, POSITIONS_NONE } Positions;

/* The three families (docs/design.md, "Architectures"): a decoder reads
 * causally and predicts the next token (GPT, and every model of round one);
 * an encoder reads the whole sequence at once (BERT, bidirectional RNNs); an
 * encoder-decoder reads a source and generates a target (translation). */
typedef enum { ARCH_DECODER, ARCH_ENCODER, ARCH_ENCODER_DECODER } Architecture;
/* encoder-decoder recurrent models: what the decoder reads of the source */
typedef enum { ATTENTION_NONE, ATTENTION_ADDITIVE } AttentionKind;
/* Transformer: how attention is computed — naive stores the probabilities
 * P (B,NH,T,T) for the backward; online keeps two numbers per row and
 * recomputes P in blocks (transformer/attention_online.c); same results */
typedef enum { ATTENTION_IMPL_NAIVE, ATTENTION_IMPL_ONLINE } AttentionImpl;
/* sequence classification: what the head reads of the body's outputs */
typedef enum { POOLING_MEAN, POOLING_LAST } Pooling;

/* Hyperparameters: everything needed to rebuild the model (and nothing
 * about training).  Saved in the checkpoint metadata. */
typedef struct ModelConfig {
    char kind[16];       /* the model's registry name (core/registry.h) */
    int vocab_size;      /* V: input tokens; 0 when the input is features */
    int input_features;  /* F: real-valued input width; 0 for token input */
    int output_size;     /* O: classes, or 1 with regression */
    int regression;      /* 1: output is a real value scored by MSE */
    int embed_dim;       /* E */
    int hidden_size;     /* H (Transformer: C = embed_dim = hidden_size) */
    int num_layers;
    int num_heads;       /* Transformer */
    int ffn_size;        /* Transformer MLP width (default 4C) */
    int max_seq_len;     /* Transformer: rows of the position table */
    Positions positions; /* Transformer */
    AttentionImpl attention_impl; /* Transformer: naive (the default) or online */
    double forget_bias;  /* LSTM: initial b_f in both bias vectors' sum */
    double init_scale;   /* multiplies the default uniform init of recurrent weights (1 = PyTorch's) */
    Architecture architecture; /* decoder (the default), encoder, encoder-decoder */
    AttentionKind attention;   /* recurrent encoder-decoder: none (the bottleneck) or additive */
    int bidirectional;         /* recurrent encoder: 1 adds the reverse direction (PyTorch's _reverse) */
    Pooling pooling;           /* sequence classification: mean or last */
    int classify;              /* 1: one class per sequence (output_size = K classes): the
                                * head reads the pooled body output (pooling), not every y_t */
} ModelConfig;

/* An encoder's embed.weight has one row more than the vocabulary: id
 * vocab_size is the mask token of masked language modelling, whatever the
 * task, so that a pre-trained embedding carries over to fine-tuning. */
int model_has_mask_token(const ModelConfig *cfg);

/* The model-specific middle.  `self` is the body's own struct.
 * Gradients accumulate (+=); dx may be NULL. */
typedef struct BodyOps {
    /* register the body's tensors in ps (names of docs/design.md, Parameters) and return the
     * body; H gets the width of y */
    void *(*create)(const ModelConfig *cfg, ParamSet *ps, int *H);
    /* after params_alloc: remember where the tensors live */
    void (*bind)(void *self, ParamSet *ps);
    /* PyTorch's default initialisation (plus the config's tweaks) */
    void (*init)(void *self, ParamSet *ps, gsl_rng *rng);
    /* size activation memory for batches up to (B,T); called once */
    void (*alloc_acts)(void *self, int B, int T);
    /* y (B,T,H) = body(x (B,T,E)); saves what backward needs */
    void (*forward)(void *self, real *y, const real *x, int B, int T);
    /* dx (B,T,E) += ..., parameter grads += ..., from dy (B,T,H) */
    void (*backward)(void *self, real *dx, const real *dy, int B, int T);
    /* one step at a time, with the state carried (sampling):
     * reset to the empty state for a batch of B, then feed x_t (B,E) at
     * position t = 0, 1, ... and get y_t (B,H) */
    void (*state_reset)(void *self, int B);
    void (*step)(void *self, real *y, const real *x, int B);
    /* per-time-step gradient norms of the last backward: returns the number
     * of series S, their names ("h", "c", "x"), and norms (S,T) with
     * norms[s*T + t] = || dL/d(series)_t || over the batch (Frobenius) */
    int (*grad_norms)(void *self, const char *const **names, const real **norms);
    /* optional (NULL: the body has none), for `seqlab attention`: the
     * attention probabilities of the last forward, *weights (L,B,NH,T,T);
     * returns 0, or -1 if no forward has run yet */
    int (*attention)(const void *self, const real **weights, int *L, int *NH, int *B, int *T);
    /* optional: P (T,C), what the body adds to x at positions 0 .. T-1 */
    void (*position_table)(const void *self, real *P, int T);
    /* bytes of activation memory held */
    size_t (*act_bytes)(const void *self);
    /* of those, the bytes of the attention matrices (T x T per head and
     * layer); NULL for a body without attention */
    size_t (*attention_bytes)(const void *self);
    /* floating-point operations of one forward of (B,T) (backward ~ 2x) */
    double (*flops)(const void *self, int B, int T);
    /* the real token count of each row, lengths (B), for the next forward
     * and its backward (the pointer is kept until then), or NULL: all T.
     * Rows are padded at the end; a body that reads the sequence backwards
     * or attends both ways must keep the padding out. */
    void (*set_lengths)(void *self, const int *lengths);
    void (*free)(void *self);
} BodyOps;

struct EncDecOps;

typedef struct Model {
    ModelConfig cfg;
    ParamSet params;
    const BodyOps *body_ops;
    void *body;
    int H;                 /* body output width */
    int idx_in_w, idx_in_b, idx_head_w, idx_head_b;  /* tensor indices; idx_in_b < 0 for tokens */
    int Bmax, Tmax;        /* activation capacity */
    /* architecture = encoder-decoder: the model is all here (core/encdec.h)
     * and body_ops, body, x, dx, y, dy are unused */
    const struct EncDecOps *encdec_ops;
    void *encdec;
    int Smax;              /* source capacity */
    /* activations (sized for Bmax, Tmax) */
    real *x, *dx;          /* (B,T,E) */
    real *y, *dy;          /* (B,T,H) */
    real *pooled, *dpooled; /* (B,H) classification: the pooled body output and its gradient */
    real *logits;          /* (B,T,O) */
    real *probs;           /* (B,T,O) softmax (classification) */
    real *dlogits;         /* (B,T,O) */
    /* the head over row spans (model.c): spans 1 .. head_max_parts-1 add
     * their head.weight and head.bias gradients here, joined after */
    real *head_part_grads; /* (head_max_parts-1, O*H + O) */
    int head_max_parts;
    /* step-mode buffers (B, .) */
    real *step_x, *step_y; /* (Bmax,E), (Bmax,H) */
    /* results of the last forward */
    int last_B, last_T;
    int count;             /* scored positions */
    int correct;           /* classification: argmax == target */
    double loss;           /* mean over scored positions */
} Model;

/* build a model with parameters registered and allocated (zero) */
Model *model_create(const ModelConfig *cfg);
/* random initialisation from rng */
void model_init(Model *m, gsl_rng *rng);
/* activation memory for batches up to (B,T) (an encoder-decoder: sources
 * and targets up to T) */
void model_alloc_acts(Model *m, int B, int T);
/* an encoder-decoder's: sources up to S, targets up to T */
void model_alloc_acts_pairs(Model *m, int B, int S, int T);
void model_free(Model *m);

/* forward: caches activations, returns the mean loss (also m->loss) */
double model_forward(Model *m, const Batch *batch);
/* backward of the last forward: accumulates into m->params.grad */
void model_backward(Model *m, const Batch *batch);

/* stepping, for sampling: reset, then feed one token per row */
void model_state_reset(Model *m, int B);
/* tokens (B) -> logits (B,O), returned pointer valid until the next call */
const real *model_step(Model *m, const int *tokens, int B);

size_t model_param_count(const Model *m);
/* N of the scaling laws: the parameters outside the input layer, the head
 * and the token and position tables (Kaplan et al. 2020; model.c says why
 * the untied head is left out) */
size_t model_non_embedding_param_count(const Model *m);
size_t model_act_bytes(const Model *m);
/* the attention matrices' share of model_act_bytes (0 without attention) */
size_t model_attention_bytes(const Model *m);

#endif
