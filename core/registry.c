/*
 * registry.c — the table of models `--model` can name: one line each.
 *
 * Adding a model: its folder (the body's BodyOps, or for a recurrent model
 * just its CellOps, which the shared recurrent body in core/recurrent.c
 * runs), its declaration below and its line in `models`.  Nothing else in
 * seqlab names a model kind; everything else asks the descriptor
 * (core/registry.h).
 */
#include "registry.h"

#include <assert.h>
#include <string.h>

#include "encdec.h"
#include "mingru/mingru.h"
#include "mingru/scan.h"
#include "recurrent.h"
#include "transformer/transformer.h"

/* the recurrent cells (rnn/ lstm/ gru/), run by core/recurrent.c's body */
extern const CellOps rnn_cell, lstm_cell, gru_cell;

#define RECURRENT_SETTINGS "init_scale bidirectional"
#define TRANSFORMER_SETTINGS "num_heads ffn_size max_seq_len positions attention_impl"
#define DECODER_ENCODER (ARCH_BIT(ARCH_DECODER) | ARCH_BIT(ARCH_ENCODER))
#define ALL_ARCHITECTURES (DECODER_ENCODER | ARCH_BIT(ARCH_ENCODER_DECODER))
#define DECODER_ONLY ARCH_BIT(ARCH_DECODER)

static const ModelInfo models[] = {
    {.name = "rnn", .title = "RNN", .ops = &recurrent_body_ops, .cell = &rnn_cell, .recurrent = 1,
     .default_layers = 1, .grad_series = "h", .settings = RECURRENT_SETTINGS,
     .architectures = ALL_ARCHITECTURES, .encdec = &recurrent_encdec_ops},
    {.name = "lstm", .title = "LSTM", .ops = &recurrent_body_ops, .cell = &lstm_cell, .recurrent = 1, .gated = 1,
     .default_layers = 1, .grad_series = "h", .settings = RECURRENT_SETTINGS " forget_bias",
     .architectures = ALL_ARCHITECTURES, .encdec = &recurrent_encdec_ops},
    {.name = "gru", .title = "GRU", .ops = &recurrent_body_ops, .cell = &gru_cell, .recurrent = 1, .gated = 1,
     .default_layers = 1, .grad_series = "h", .settings = RECURRENT_SETTINGS,
     .architectures = ALL_ARCHITECTURES, .encdec = &recurrent_encdec_ops},
    {.name = "transformer", .title = "Transformer", .ops = &transformer_body_ops, .default_layers = 2,
     .encdec = &transformer_encdec_ops, .attention = 1, .position_table = 1, .grad_series = "x", .settings = TRANSFORMER_SETTINGS,
     .architectures = ALL_ARCHITECTURES, .check = transformer_check_config},
    {.name = "mingru", .title = "minGRU", .ops = &mingru_body_ops, .recurrent = 1, .gated = 1, .scan = 1,
     .counterpart = "gru",
     .default_layers = 1, .grad_series = "h", .architectures = DECODER_ONLY, .check = mingru_check_config},
    {.name = "minlstm", .title = "minLSTM", .ops = &minlstm_body_ops, .recurrent = 1, .gated = 1, .scan = 1,
     .default_layers = 1, .grad_series = "h", .settings = "forget_bias", .architectures = DECODER_ONLY,
     .check = mingru_check_config},
    {.name = "lti", .title = "LTI recurrence", .ops = &lti_body_ops, .recurrent = 1, .scan = 1,
     .default_layers = 1, .grad_series = "h", .architectures = DECODER_ONLY, .check = mingru_check_config},
};
#define NMODELS ((int)(sizeof models / sizeof models[0]))
_Static_assert(sizeof models / sizeof models[0] <= MODELS_MAX, "raise MODELS_MAX");

int model_info_count(void) { return NMODELS; }

const ModelInfo *model_info_at(int i)
{
    assert(i >= 0 && i < NMODELS);
    return &models[i];
}

int model_info_index(const char *name)
{
    for (int i = 0; i < NMODELS; i++)
        if (strcmp(models[i].name, name) == 0) return i;
    return NMODELS;
}

const ModelInfo *model_info_find(const char *name)
{
    int i = model_info_index(name);
    return i < NMODELS ? &models[i] : NULL;
}

int model_info_uses(const ModelInfo *info, const char *setting)
{
    size_t n = strlen(setting);
    for (const char *p = info->settings; p && *p;) {
        size_t len = strcspn(p, " ");
        if (len == n && strncmp(p, setting, n) == 0) return 1;
        p += len;
        p += strspn(p, " ");
    }
    return 0;
}

/* the names joined: between two names `sep`, before the last one `last` */
static void join_names(char *buf, size_t size, const char *sep, const char *last)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < NMODELS; i++) {
        const char *glue = i == 0 ? "" : i == NMODELS - 1 ? last : sep;
        size_t need = strlen(glue) + strlen(models[i].name);
        assert(used + need < size);
        strcpy(buf + used, glue);
        strcpy(buf + used + strlen(glue), models[i].name);
        used += need;
    }
}

const char *model_info_names(void)
{
    static char names[MODELS_MAX * 32];
    if (!names[0]) join_names(names, sizeof names, " ", " ");
    return names;
}

const char *model_info_names_prose(void)
{
    static char names[MODELS_MAX * 32];
    if (!names[0]) join_names(names, sizeof names, ", ", " or ");
    return names;
}

int model_info_supports(const ModelInfo *info, Architecture a)
{
    return (info->architectures & ARCH_BIT(a)) != 0;
}

long model_info_critical_path(const ModelInfo *info, long T, long L)
{
    if (info->scan) return L * (long)scan_critical_path(SCAN_BLELLOCH, (int)T, 1);
    return info->recurrent ? T + L - 1 : L;
}
