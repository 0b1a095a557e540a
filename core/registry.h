/*
 * registry.h — the models `--model` can name, and everything the rest of
 * seqlab may know about one: its descriptor.
 *
 * A model is its folder (rnn/, lstm/, gru/, transformer/, ...) plus one line
 * in core/registry.c.  Whatever the trainer, the checkpoint code, the
 * commands or the figures need to know about a model (recurrent or not, its
 * critical path, which settings apply to it, which metadata it writes, what
 * it can show: ||dL/dh_t||, attention maps; its name in a title, its colour)
 * is asked of its ModelInfo here, never decided by comparing its name.
 *
 * What this file is not: the model interface itself (core/model.h, the
 * BodyOps every body provides) or any model's math.
 */
#ifndef SEQLAB_REGISTRY_H
#define SEQLAB_REGISTRY_H

#include <stddef.h>

#include "model.h"

/* at most this many registered models (the figures keep one slot each) */
#define MODELS_MAX 16

/* an Architecture (model.h) as a bit of ModelInfo.architectures */
#define ARCH_BIT(a) (1u << (a))

typedef struct ModelInfo {
    const char *name;     /* `model` setting and metadata key; run names, CSV columns */
    const char *title;    /* for people: figure titles, tables ("LSTM") */
    const BodyOps *ops;   /* the body (core/model.h) */
    const void *cell;     /* recurrent models: the CellOps the shared body runs; else NULL */
    /* the model's encoder-decoder (architecture = encoder-decoder; core/encdec.h),
     * given `cell` when it is made; NULL if it has none */
    const struct EncDecOps *encdec;
    /* 1: one step after another through time — critical path T + L - 1
     *    sequential steps, step mode carries a state (sampling keeps O(1)
     *    context); 0: every position at once — critical path L */
    int recurrent;
    /* 1: gates (LSTM, GRU) that give the state an additive path through
     * time; 0 for a plain recurrence h_t = tanh(...) and for attention */
    int gated;
    /* 1 (with recurrent): the recurrence is linear with gates that read only
     * the input, h_t = a_t ⊙ h_{t-1} + b_t, computed as a scan (mingru/):
     * critical path L (2 ceil(log2 T) + 1), Blelloch's depth, not T + L - 1 */
    int scan;
    /* a scan model: the full recurrence it simplifies (minGRU: the GRU), which
     * `seqlab bench --suite limits` times beside it; NULL for none */
    const char *counterpart;
    int default_layers;   /* num_layers when the settings leave it 0 */
    /* 1: attention heads: the settings num_heads and ffn_size apply and go
     * into the metadata, activations hold (L,B,NH,T,T) weights, and
     * ops->attention can draw the maps */
    int attention;
    /* 1: a table of max_seq_len positions (settings max_seq_len, positions):
     * no sequence may be longer when the positions are learned, and step mode
     * holds at most max_seq_len positions of context */
    int position_table;
    /* the series the ||dL/d._t|| figure draws: "h" (state) or "x" (input) */
    const char *grad_series;
    /* settings that apply to this model beyond the common ones, space-separated */
    const char *settings;
    /* the architectures (model.h) it can be built as: ARCH_BIT(ARCH_DECODER) | ... */
    unsigned architectures;
    /* optional: 0 if cfg describes a model of this kind that can exist, else
     * -1 with a message in err naming the settings (or metadata keys) at fault */
    int (*check)(const ModelConfig *cfg, char *err, size_t errlen);
} ModelInfo;

/* the descriptor of `name`, or NULL if no such model is built in */
const ModelInfo *model_info_find(const char *name);
/* the registered models in registry order: figures and tables list them,
 * and colour them, in this order */
int model_info_count(void);
const ModelInfo *model_info_at(int i);
/* registry position of `name`, or model_info_count() for an unknown name */
int model_info_index(const char *name);
/* 1 if `setting` is in info's own settings */
int model_info_uses(const ModelInfo *info, const char *setting);
/* the registered names: "rnn lstm gru transformer" */
const char *model_info_names(void);
/* and for prose: "rnn, lstm, gru or transformer" */
const char *model_info_names_prose(void);

/* 1 if info's model can be built as architecture a */
int model_info_supports(const ModelInfo *info, Architecture a);

/* sequential steps from the first input to the last output of a forward of
 * T positions through L layers: T + L - 1 (recurrent), L (2 ceil(log2 T) + 1)
 * (a scan: each layer's scan needs the whole of the layer below), or L */
long model_info_critical_path(const ModelInfo *info, long T, long L);

#endif
