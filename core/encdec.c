/*
 * encdec.c — the table of encoder–decoder models `--model` can name with
 * `--architecture encoder-decoder`: one line per model folder.
 */
#include <string.h>

#include "encdec.h"

static const EncDecOps *const encdecs[] = {
    &rnn_encdec_ops,
    &lstm_encdec_ops,
    &gru_encdec_ops,
    &transformer_encdec_ops,
};

const EncDecOps *encdec_ops_find(const char *kind)
{
    for (size_t i = 0; i < sizeof encdecs / sizeof encdecs[0]; i++)
        if (strcmp(encdecs[i]->kind, kind) == 0) return encdecs[i];
    return NULL;
}
