/*
 * finetune.h — starting a model from a pre-trained checkpoint (transfer
 * learning): pre-train on unlabelled text (mlm for an encoder, next-token
 * for a decoder), then fine-tune on a small labelled task.
 *
 * init_from = CHECKPOINT: every tensor of the new model whose name and
 * shape match a tensor of the checkpoint starts from its values; every
 * other tensor keeps its fresh initialisation.  Typically the embedding and
 * the body carry over and the head is new (a classifier's head.weight is
 * [K, H], the language model's [V, H]).  freeze_body = 1 then trains the
 * head alone (a linear probe: how much do the pre-trained features already
 * say?).
 *
 * What this file is not: the checkpoint format (checkpoint.c).
 */
#ifndef SEQLAB_FINETUNE_H
#define SEQLAB_FINETUNE_H

#include <stddef.h>

#include "model.h"
#include "tokenizer.h"

/* Copy the matching tensors of the checkpoint at path into m.  copied
 * (m->params.count) gets 1 for each tensor copied, 0 for each left fresh.
 * tok: the task's tokenizer (NULL for tasks without text), which must be
 * the checkpoint's (kind and vocabulary), since an embedding row stands
 * for a token id.  Returns how many were copied, or -1 with a message in
 * err: the file cannot be read, another vocabulary, or not one tensor
 * matches (an error, never a silent fresh start). */
int finetune_init_from(Model *m, const char *path, const Tokenizer *tok, int *copied, char *err,
                       size_t errlen);

/* the first value of the tensors freeze_body still trains: the head
 * (head.weight, head.bias are the last tensors of every model) */
size_t finetune_head_offset(const Model *m);

#endif
