/*
 * bodies.c — the table of model bodies `--model` can name.  Adding a model
 * is one line here plus its folder.
 */
#include <string.h>

#include "model.h"
#include "mingru/mingru.h"

static const BodyOps *const bodies[] = {
    &rnn_body_ops,
    &lstm_body_ops,
    &gru_body_ops,
    &transformer_body_ops,
    &mingru_body_ops,
    &minlstm_body_ops,
    &lti_body_ops,
};

const BodyOps *body_ops_find(const char *kind)
{
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++)
        if (strcmp(bodies[i]->kind, kind) == 0) return bodies[i];
    return NULL;
}
