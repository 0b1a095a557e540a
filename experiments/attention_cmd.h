/*
 * attention_cmd.h — `seqlab attention`: what a trained Transformer looks at.
 */
#ifndef SEQLAB_ATTENTION_CMD_H
#define SEQLAB_ATTENTION_CMD_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "real.h"

/* run the checkpoint's Transformer on text and write into out_dir:
 *   L{l}_H{h}.csv   T x T attention of layer l, head h: first row ",k0,k1,..."
 *                   (key tokens), then "q_t,w_t0,w_t1,..." (query rows)
 *   tokens.txt      one token per line
 *   attention.json  (with json) {"tokens": [...], "attention": [layer][head][query][key]},
 *                   the layout of bertviz's head view
 * and, with draw, one heatmap PNG per layer and head.  0, or -1 + err. */
int attention_write(const char *ckpt, const char *text, const char *out_dir, int json, int draw,
                    char *err, size_t errlen);

/* an encoder-decoder checkpoint (attention_encdec.c): the model translates
 * text greedily and the maps are target x source, L{l}_H{h}.csv as above
 * with rows = output tokens (then <eos>) and columns = source tokens (the
 * Transformer's cross-attention of every layer and head, or the additive
 * attention's alpha as L0_H0); tokens.txt holds the source and
 * translation.txt the output; attention.json {"source_tokens", "target_tokens",
 * "attention": [layer][head][target][source]}.  attention_write calls it
 * for such a checkpoint. */
int attention_write_encdec(const char *ckpt, const char *text, const char *out_dir, int json,
                           int draw, char *err, size_t errlen);
/* 1 if the checkpoint's metadata says architecture = encoder-decoder */
int checkpoint_is_encdec(const char *ckpt);

/* posenc.csv (position,dim,value): what the checkpoint's Transformer adds
 * at each position (sinusoidal or learned table) */
int attention_write_positions(const char *ckpt, const char *csv_path, char *err, size_t errlen);

/* "Man bites dog" against "Dog bites man": the checkpoint's next-token
 * distributions after text a and after text b (the same tokens in another
 * order), p_a and p_b at each text's last position, and their total
 * variation distance  tv = 1/2 sum_v |p_a(v) - p_b(v)|  (0: the model cannot
 * tell the orders apart, 1: disjoint).  *same_last: both texts end in the
 * same token (then a one-layer causal model without positions gives exactly
 * the same output: its last query sees the same set of keys and values).
 * *layers, positions: the model's ("sinusoidal", "learned", "none").
 * 0, or -1 + err. */
int attention_order_distance(const char *ckpt, const char *a, const char *b, double *tv, int *same_last,
                             int *layers, char positions[16], char *err, size_t errlen);

/* o["attention"] = [layer][head][row][col] of the weights w (attention_cmd.c) */
void attention_json_add(cJSON *o, const real *w, int L, int B, int NH, int rows, int cols, int stride);

int cmd_attention(int argc, char **argv);

#endif
