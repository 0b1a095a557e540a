/*
 * sample.c — temperature / top-k sampling and the generation loop.
 */
#include "sample.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "registry.h"
#include "util.h"

int sample_context_limit(const Model *m)
{
    if (!model_info_find(m->cfg.kind)->position_table) return 0;
    return m->Tmax < m->cfg.max_seq_len ? m->Tmax : m->cfg.max_seq_len;
}

int sample_token(const real *logits, int V, double temperature, int top_k, real *work,
                 gsl_rng *rng)
{
    /* temperature 0: greedy */
    if (temperature <= 0) {
        int best = 0;
        for (int v = 1; v < V; v++)
            if (logits[v] > logits[best]) best = v;
        return best;
    }
    /* keep the top_k largest logits: find the k-th largest value */
    real threshold = -INFINITY;
    if (top_k > 0 && top_k < V) {
        memcpy(work, logits, (size_t)V * sizeof(real));
        /* partial selection: k passes are fine at vocabulary sizes here */
        for (int k = 0; k < top_k; k++) {
            int best = -1;
            for (int v = 0; v < V; v++)
                if (work[v] != -INFINITY && (best < 0 || work[v] > work[best])) best = v;
            threshold = work[best];
            work[best] = -INFINITY;
        }
    }
    real zmax = -INFINITY;
    for (int v = 0; v < V; v++)
        if (logits[v] > zmax) zmax = logits[v];
    /* p_v = exp((z_v - max z) / temperature), zero below the threshold */
    double sum = 0;
    for (int v = 0; v < V; v++) {
        work[v] = logits[v] >= threshold ? (real)exp((logits[v] - zmax) / temperature) : 0;
        sum += work[v];
    }
    double u = gsl_rng_uniform(rng) * sum, acc = 0;
    for (int v = 0; v < V; v++) {
        acc += work[v];
        if (u < acc) return v;
    }
    for (int v = V - 1; v >= 0; v--)
        if (work[v] > 0) return v;
    return 0;
}

void sample_generate(Model *m, const int *prompt, int n_prompt, int *out, int n_new,
                     double temperature, int top_k, gsl_rng *rng)
{
    assert(n_prompt >= 1);
    int V = m->cfg.output_size, limit = sample_context_limit(m);
    real *work = xmalloc((size_t)V * sizeof(real));
    /* the whole history, so that the context can be re-fed when it fills */
    int total = n_prompt + n_new;
    int *hist = xmalloc((size_t)total * sizeof(int));
    memcpy(hist, prompt, (size_t)n_prompt * sizeof(int));
    int n = 0, fed = 0;   /* n tokens in hist; fed = tokens in the model's current context */
    model_state_reset(m, 1);
    const real *logits = NULL;
    /* a prompt longer than the context keeps only its end */
    int start = limit > 0 && n_prompt > limit ? n_prompt - limit : 0;
    for (int i = start; i < n_prompt; i++) {
        logits = model_step(m, &hist[i], 1);
        fed++;
    }
    n = n_prompt;
    for (int j = 0; j < n_new; j++) {
        int next = sample_token(logits, V, temperature, top_k, work, rng);
        out[j] = next;
        hist[n++] = next;
        if (j == n_new - 1) break;
        if (limit > 0 && fed == limit) {
            /* context full: start again from the last half of it */
            int keep = limit / 2;
            model_state_reset(m, 1);
            fed = 0;
            for (int i = n - keep; i < n - 1; i++) {
                model_step(m, &hist[i], 1);
                fed++;
            }
        }
        logits = model_step(m, &next, 1);
        fed++;
    }
    free(hist);
    free(work);
}

char *sample_decode(const Tokenizer *tok, const char *prompt, const int *ids, int n)
{
    size_t cap = strlen(prompt) + 16 * (size_t)n + 64;
    char *out = xmalloc(cap);
    strcpy(out, prompt);
    size_t used = strlen(out);   /* strlen(out), kept so that decoding stays linear */
    for (int i = 0; i < n; i++) {
        size_t len;
        tokenizer_token(tok, ids[i], &len);
        /* room for the token, a space and the NUL */
        while (used + len + 8 > cap) {
            cap *= 2;
            out = xrealloc(out, cap);
        }
        used += tokenizer_decode_n(tok, ids[i], out, used, cap);
    }
    return out;
}
