/*
 * sample.h — autoregressive generation from a model, one token at a time.
 *
 * The model is fed its own output: p(x_{t+1} | x_<=t) = softmax(z_t / temperature),
 * restricted to the top_k most likely tokens when top_k > 0.  Recurrent
 * models carry their state; the Transformer uses its key/value cache.
 */
#ifndef SEQLAB_SAMPLE_H
#define SEQLAB_SAMPLE_H

#include <gsl/gsl_rng.h>

#include "model.h"
#include "tokenizer.h"

/* the temperature of the samples.txt a training run writes (the report
 * shows it beside them) */
#define SAMPLE_TEMPERATURE 0.8

/* how far a model can step before its context is full: the Transformer's
 * position table; recurrent models have no limit (returns 0) */
int sample_context_limit(const Model *m);

/* draw a token from logits (V) with temperature and top-k; work (V) is scratch */
int sample_token(const real *logits, int V, double temperature, int top_k, real *work,
                 gsl_rng *rng);

/* feed prompt ids (n_prompt >= 1), then generate n_new ids into out
 * (out has room for n_new).  Needs model_alloc_acts with B >= 1 and, for
 * the Transformer, T >= sample_context_limit(m).  When the context fills,
 * the last half of it is re-fed and generation goes on. */
void sample_generate(Model *m, const int *prompt, int n_prompt, int *out, int n_new,
                     double temperature, int top_k, gsl_rng *rng);

/* prompt followed by the text of ids (n), spaced as the tokenizer does;
 * a malloc'd NUL-terminated string (byte-0 tokens are dropped) */
char *sample_decode(const Tokenizer *tok, const char *prompt, const int *ids, int n);

#endif
