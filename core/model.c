/*
 * model.c — the parts every model shares: input layer, output head, loss,
 * and the glue that calls the model-specific body (see model.h).
 *
 * Forward:   x = embed(tokens) | input(features)      (B,T,E)
 *            y = body(x)                              (B,T,H)
 *            z = y head.weight^T + head.bias          (B,T,O)
 *            L = mean CE(z, targets) | mean (z - values)^2
 * Backward runs the same four lines in reverse order.  The head and the
 * loss are row by row, so with several threads their rows are split in
 * spans, as a body splits its sequences (head_forward, head_backward).
 *
 * Sequence classification (cfg.classify) pools the body's output of each
 * row b, whose n_b = Batch.lengths[b] real tokens are followed by padding,
 * before the head:
 *     mean:  p_b = (1/n_b) sum_{t < n_b} y_{b,t}
 *     last:  p_b = y_{b,n_b-1}; a bidirectional body's y_t = [h_t ; h'_t]
 *            gives p_b = [h_{n_b-1} ; h'_0], each direction's last step
 *     z_b = p_b head.weight^T + head.bias       (B,K)
 *     L = mean_b CE(z_b, label_b)
 * Padding is never pooled, so nothing the padding computes reaches the loss.
 */
#include "model.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_randist.h>

#include "encdec.h"
#include "parallel.h"
#include "registry.h"
#include "util.h"

/* an encoder-decoder: the model is its EncDecOps (core/encdec.h), from the
 * model's descriptor; model.c adds the loss */
static Model *model_create_encdec(const ModelConfig *cfg, const ModelInfo *info)
{
    const EncDecOps *ops = info->encdec;
    if (!ops) die("model '%s' has no encoder-decoder", cfg->kind);
    assert(cfg->vocab_size > 0 && cfg->input_features == 0 && !cfg->regression);
    Model *m = xcalloc(1, sizeof *m);
    m->cfg = *cfg;
    m->encdec_ops = ops;
    params_init(&m->params);
    char err[512];
    m->encdec = ops->create(cfg, info->cell, &m->params, err, sizeof err);
    if (!m->encdec) die("%s", err);
    m->H = cfg->hidden_size;
    m->idx_in_w = params_find(&m->params, "src_embed.weight");
    m->idx_in_b = -1;
    m->idx_head_w = params_find(&m->params, "head.weight");
    m->idx_head_b = params_find(&m->params, "head.bias");
    params_alloc(&m->params);
    ops->bind(m->encdec, &m->params);
    return m;
}

int model_has_mask_token(const ModelConfig *cfg)
{
    return cfg->architecture == ARCH_ENCODER && cfg->vocab_size > 0;
}

Model *model_create(const ModelConfig *cfg)
{
    const ModelInfo *info = model_info_find(cfg->kind);
    if (!info) die("unknown model '%s' (expected %s)", cfg->kind, model_info_names_prose());
    if (cfg->architecture == ARCH_ENCODER_DECODER) return model_create_encdec(cfg, info);
    const BodyOps *ops = info->ops;
    assert((cfg->vocab_size > 0) != (cfg->input_features > 0));
    Model *m = xcalloc(1, sizeof *m);
    m->cfg = *cfg;
    m->body_ops = ops;
    params_init(&m->params);
    int E = cfg->embed_dim;
    if (cfg->vocab_size > 0) {
        /* an encoder's row vocab_size is the mask token */
        int rows = cfg->vocab_size + (model_has_mask_token(cfg) ? 1 : 0);
        m->idx_in_w = params_add2(&m->params, "embed.weight", rows, E);
        m->idx_in_b = -1;
    } else {
        m->idx_in_w = params_add2(&m->params, "input.weight", E, cfg->input_features);
        m->idx_in_b = params_add1(&m->params, "input.bias", E);
    }
    m->body = ops->create(cfg, &m->params, &m->H);
    m->idx_head_w = params_add2(&m->params, "head.weight", cfg->output_size, m->H);
    m->idx_head_b = params_add1(&m->params, "head.bias", cfg->output_size);
    params_alloc(&m->params);
    ops->bind(m->body, &m->params);
    return m;
}

/* U(-k, k) with k = 1/sqrt(fan_in): nn.Linear's default */
static void init_uniform(real *w, size_t n, double k, gsl_rng *rng)
{
    for (size_t i = 0; i < n; i++) w[i] = (real)((2 * gsl_rng_uniform(rng) - 1) * k);
}

void model_init(Model *m, gsl_rng *rng)
{
    ParamSet *ps = &m->params;
    if (m->encdec_ops) {
        m->encdec_ops->init(m->encdec, ps, rng);
        return;
    }
    const ParamView *vw = &ps->views[m->idx_in_w];
    if (m->idx_in_b < 0) {
        /* nn.Embedding's default: N(0, 1) */
        real *w = params_value(ps, m->idx_in_w);
        for (size_t i = 0; i < vw->size; i++) w[i] = (real)gsl_ran_gaussian_ziggurat(rng, 1.0);
    } else {
        double k = 1.0 / sqrt((double)m->cfg.input_features);
        init_uniform(params_value(ps, m->idx_in_w), vw->size, k, rng);
        init_uniform(params_value(ps, m->idx_in_b), (size_t)m->cfg.embed_dim, k, rng);
    }
    m->body_ops->init(m->body, ps, rng);
    double k = 1.0 / sqrt((double)m->H);
    init_uniform(params_value(ps, m->idx_head_w), ps->views[m->idx_head_w].size, k, rng);
    init_uniform(params_value(ps, m->idx_head_b), (size_t)m->cfg.output_size, k, rng);
}

void model_alloc_acts_pairs(Model *m, int B, int S, int T)
{
    assert(m->encdec_ops && m->logits == NULL && "model_alloc_acts_pairs: an encoder-decoder, once");
    m->Bmax = B;
    m->Smax = S;
    m->Tmax = T;
    size_t n = (size_t)B * T * m->cfg.output_size;
    m->logits = xcalloc(n, sizeof(real));
    m->probs = xcalloc(n, sizeof(real));
    m->dlogits = xcalloc(n, sizeof(real));
    m->encdec_ops->alloc_acts(m->encdec, B, S, T);
}

void model_alloc_acts(Model *m, int B, int T)
{
    if (m->encdec_ops) {
        model_alloc_acts_pairs(m, B, T, T);
        return;
    }
    assert(m->x == NULL && "model_alloc_acts called twice");
    m->Bmax = B;
    m->Tmax = T;
    size_t n = (size_t)B * T;
    int E = m->cfg.embed_dim, H = m->H, O = m->cfg.output_size;
    m->x = xcalloc(n * E, sizeof(real));
    m->dx = xcalloc(n * E, sizeof(real));
    m->y = xcalloc(n * H, sizeof(real));
    m->dy = xcalloc(n * H, sizeof(real));
    m->pooled = xcalloc((size_t)B * H, sizeof(real));
    m->dpooled = xcalloc((size_t)B * H, sizeof(real));
    m->logits = xcalloc(n * O, sizeof(real));
    m->probs = xcalloc(n * O, sizeof(real));
    m->dlogits = xcalloc(n * O, sizeof(real));
    m->step_x = xcalloc((size_t)B * E, sizeof(real));
    m->step_y = xcalloc((size_t)B * H, sizeof(real));
    /* the head's split: at most a span per core */
    m->head_max_parts = parallel_cores() < PARALLEL_MAX_PARTS ? parallel_cores() : PARALLEL_MAX_PARTS;
    m->head_part_grads = xcalloc((size_t)(m->head_max_parts - 1) * ((size_t)O * H + O), sizeof(real));
    m->body_ops->alloc_acts(m->body, B, T);
}

void model_free(Model *m)
{
    if (!m) return;
    if (m->encdec_ops) m->encdec_ops->free(m->encdec);
    else m->body_ops->free(m->body);
    params_free(&m->params);
    free(m->x);
    free(m->dx);
    free(m->y);
    free(m->dy);
    free(m->pooled);
    free(m->dpooled);
    free(m->logits);
    free(m->probs);
    free(m->dlogits);
    free(m->head_part_grads);
    free(m->step_x);
    free(m->step_y);
    free(m);
}

/* input layer: x (N,E) from tokens (N) or features (N,F) */
static void input_forward(Model *m, real *x, const int *tokens, const real *features, int N)
{
    ParamSet *ps = &m->params;
    if (m->idx_in_b < 0)
        embedding_forward(x, tokens, params_value(ps, m->idx_in_w), N, m->cfg.embed_dim);
    else
        linear_forward(x, features, params_value(ps, m->idx_in_w), params_value(ps, m->idx_in_b),
                       N, m->cfg.input_features, m->cfg.embed_dim);
}

/* ---- pooling (sequence classification) ---------------------------------- */

/* the real tokens of row b */
static int row_length(const Batch *batch, int b)
{
    int n = batch->lengths ? batch->lengths[b] : batch->T;
    assert(n >= 1 && n <= batch->T);
    return n;
}

/* pooled (B,H) from y (B,T,H); Hf = the forward direction's width (H, or
 * H/2 when bidirectional) */
static void pool_forward(const Model *m, real *pooled, const real *y, const Batch *batch)
{
    int B = batch->B, T = batch->T, H = m->H;
    int Hf = m->cfg.bidirectional ? H / 2 : H;
    for (int b = 0; b < B; b++) {
        int n = row_length(batch, b);
        real *p = pooled + (size_t)b * H;                        /* (H) */
        const real *yb = y + (size_t)b * T * H;                  /* (T,H) */
        if (m->cfg.pooling == POOLING_MEAN) {
            /* p = (1/n) sum_{t < n} y_t */
            for (int j = 0; j < H; j++) {
                real sum = 0;
                for (int t = 0; t < n; t++) sum += yb[(size_t)t * H + j];
                p[j] = sum / (real)n;
            }
        } else {
            /* p = [h_{n-1} (forward) ; h'_0 (backward, when there is one)] */
            memcpy(p, yb + (size_t)(n - 1) * H, (size_t)Hf * sizeof(real));
            if (Hf < H) memcpy(p + Hf, yb + Hf, (size_t)(H - Hf) * sizeof(real));
        }
    }
}

/* dy (B,T,H) += the pooling's backward of dpooled (B,H) */
static void pool_backward(const Model *m, real *dy, const real *dpooled, const Batch *batch)
{
    int B = batch->B, T = batch->T, H = m->H;
    int Hf = m->cfg.bidirectional ? H / 2 : H;
    for (int b = 0; b < B; b++) {
        int n = row_length(batch, b);
        const real *dp = dpooled + (size_t)b * H;
        real *dyb = dy + (size_t)b * T * H;
        if (m->cfg.pooling == POOLING_MEAN) {
            /* forward: p = (1/n) sum_{t < n} y_t, so dy_t += dp / n for t < n */
            for (int t = 0; t < n; t++)
                for (int j = 0; j < H; j++) dyb[(size_t)t * H + j] += dp[j] / (real)n;
        } else {
            /* forward: p = [y_{n-1}[0:Hf] ; y_0[Hf:H]] */
            for (int j = 0; j < Hf; j++) dyb[(size_t)(n - 1) * H + j] += dp[j];
            for (int j = Hf; j < H; j++) dyb[j] += dp[j];
        }
    }
}

/* ---- the head and the loss over spans of rows ------------------------------
 * z = y W^T + b and the cross-entropy are row by row, like a body's
 * sequences: with several threads each takes a span of the N rows
 * (core/parallel.h), single-threaded OpenBLAS inside.  Spans 1 .. add
 * their head gradients to private buffers, joined after; the loss sums are
 * added in span order, so the result does not depend on which thread
 * finished first. */

typedef struct HeadPass {
    Model *m;
    const int *targets;    /* (N) */
    int N, parts;
    real scale;            /* backward: 1 / count */
    double sum[PARALLEL_MAX_PARTS];
    int count[PARALLEL_MAX_PARTS], correct[PARALLEL_MAX_PARTS];
} HeadPass;

/* how many spans the head's N rows are split into: one per thread, none
 * thinner than PARALLEL_MIN_ROWS rows (core/parallel.h) */
static int head_parts(const Model *m, int N)
{
    return parallel_parts(0, N, N, m->head_max_parts);
}

/* span p: z = y W^T + b and the sum of -log p[target] over its rows */
static void head_forward_span(void *arg, int p)
{
    HeadPass *hp = arg;
    Model *m = hp->m;
    int lo, hi, H = m->H, O = m->cfg.output_size;
    parallel_span(hp->N, hp->parts, p, &lo, &hi);
    real *z = m->logits + (size_t)lo * O;
    linear_forward(z, m->y + (size_t)lo * H, params_value(&m->params, m->idx_head_w),
                   params_value(&m->params, m->idx_head_b), hi - lo, H, O);
    hp->sum[p] = softmax_xent_forward(m->probs + (size_t)lo * O, z, hp->targets + lo, hi - lo, O,
                                      &hp->count[p], &hp->correct[p]);
}

/* span p: dz = scale (p - onehot), then dy = dz W (written) and dW, db
 * (span 0: the real gradients; span p: its private ones) */
static void head_backward_span(void *arg, int p)
{
    HeadPass *hp = arg;
    Model *m = hp->m;
    int lo, hi, H = m->H, O = m->cfg.output_size;
    parallel_span(hp->N, hp->parts, p, &lo, &hi);
    real *dz = m->dlogits + (size_t)lo * O;
    memset(dz, 0, (size_t)(hi - lo) * O * sizeof(real));
    softmax_xent_backward(dz, m->probs + (size_t)lo * O, hp->targets + lo, hi - lo, O, hp->scale);
    real *gW = params_grad(&m->params, m->idx_head_w), *gb = params_grad(&m->params, m->idx_head_b);
    if (p > 0) {
        gW = m->head_part_grads + (size_t)(p - 1) * ((size_t)O * H + O);
        gb = gW + (size_t)O * H;
    }
    linear_backward_set(m->dy + (size_t)lo * H, gW, gb, dz, m->y + (size_t)lo * H,
                        params_value(&m->params, m->idx_head_w), hi - lo, H, O);
}

/* z = y W^T + b and L = mean CE(z, targets) over N rows, split in spans;
 * sets m->count, m->correct, m->loss and returns the loss */
static double head_forward(Model *m, const int *targets, int N)
{
    HeadPass hp = {.m = m, .targets = targets, .N = N, .parts = head_parts(m, N)};
    parallel_run(hp.parts, head_forward_span, &hp);
    double sum = 0;
    m->count = m->correct = 0;
    for (int p = 0; p < hp.parts; p++) {
        sum += hp.sum[p];
        m->count += hp.count[p];
        m->correct += hp.correct[p];
    }
    m->loss = m->count > 0 ? sum / m->count : 0;
    return m->loss;
}

/* the backward of head_forward, dy (N,H) written; the head's gradients of
 * spans 1 .. parts-1 are then joined to the real ones (and zeroed for the
 * next backward) */
static void head_backward(Model *m, const int *targets, int N, real scale)
{
    HeadPass hp = {.m = m, .targets = targets, .N = N, .parts = head_parts(m, N), .scale = scale};
    parallel_run(hp.parts, head_backward_span, &hp);
    /* head.weight's and head.bias's gradients are adjacent, as the private
     * copies are laid out */
    real *grad = params_grad(&m->params, m->idx_head_w);
    size_t nW = (size_t)m->cfg.output_size * m->H;
    assert(params_grad(&m->params, m->idx_head_b) == grad + nW);
    parallel_join(grad, m->head_part_grads, nW + (size_t)m->cfg.output_size, hp.parts);
}

double model_forward(Model *m, const Batch *batch)
{
    int B = batch->B, T = batch->T, N = B * T;
    int O = m->cfg.output_size;
    assert(B <= m->Bmax && T <= m->Tmax);
    ParamSet *ps = &m->params;
    m->last_B = B;
    m->last_T = T;
    if (m->encdec_ops) {
        /* logits (B,T,O) of the target given the source */
        assert(batch->src_tokens && batch->S <= m->Smax);
        m->encdec_ops->forward(m->encdec, m->logits, batch->src_tokens, batch->src_lengths,
                               batch->tokens, B, batch->S, T);
    } else {
        input_forward(m, m->x, batch->tokens, batch->features, N);
        if (m->body_ops->set_lengths)
            m->body_ops->set_lengths(m->body, batch->lengths);
        else
            assert(!batch->lengths && "this body cannot mask padding");
        m->body_ops->forward(m->body, m->y, m->x, B, T);
        if (m->cfg.classify) {
            assert(batch->labels && "a classifier needs Batch.labels");
            /* z_b = pool(y_b) W^T + b;  L = mean_b CE(z_b, label_b) */
            pool_forward(m, m->pooled, m->y, batch);
            linear_forward(m->logits, m->pooled, params_value(ps, m->idx_head_w),
                           params_value(ps, m->idx_head_b), B, m->H, O);
            double sum = softmax_xent_forward(m->probs, m->logits, batch->labels, B, O, &m->count,
                                              &m->correct);
            m->loss = m->count > 0 ? sum / m->count : 0;
            return m->loss;
        }
        /* z = y W^T + b;  L = mean CE(z, targets), over spans of rows */
        if (!m->cfg.regression) return head_forward(m, batch->targets, N);
        linear_forward(m->logits, m->y, params_value(ps, m->idx_head_w),
                       params_value(ps, m->idx_head_b), N, m->H, O);
    }
    double sum;
    if (m->cfg.regression) {
        sum = mse_forward(m->logits, batch->values, batch->targets, N, &m->count);
        m->correct = 0;
    } else {
        sum = softmax_xent_forward(m->probs, m->logits, batch->targets, N, O,
                                   &m->count, &m->correct);
    }
    m->loss = m->count > 0 ? sum / m->count : 0;
    return m->loss;
}

void model_backward(Model *m, const Batch *batch)
{
    int B = batch->B, T = batch->T, N = B * T;
    int E = m->cfg.embed_dim, O = m->cfg.output_size, H = m->H;
    assert(B == m->last_B && T == m->last_T);
    ParamSet *ps = &m->params;
    if (m->count == 0) return;
    real scale = (real)1 / (real)m->count;
    if (m->encdec_ops) {
        /* loss: the gradient of the mean over scored positions; the model does the rest */
        memset(m->dlogits, 0, (size_t)N * O * sizeof(real));
        softmax_xent_backward(m->dlogits, m->probs, batch->targets, N, O, scale);
        m->encdec_ops->backward(m->encdec, m->dlogits, batch->src_tokens, batch->src_lengths,
                                batch->tokens, B, batch->S, T);
        return;
    }
    if (m->cfg.classify) {
        /* loss, head and pooling: the classification lines in reverse */
        memset(m->dlogits, 0, (size_t)B * O * sizeof(real));
        softmax_xent_backward(m->dlogits, m->probs, batch->labels, B, O, scale);
        memset(m->dpooled, 0, (size_t)B * H * sizeof(real));
        linear_backward(m->dpooled, params_grad(ps, m->idx_head_w), params_grad(ps, m->idx_head_b),
                        m->dlogits, m->pooled, params_value(ps, m->idx_head_w), B, H, O);
        memset(m->dy, 0, (size_t)N * H * sizeof(real));
        pool_backward(m, m->dy, m->dpooled, batch);
    } else if (m->cfg.regression) {
        /* loss: the gradient of the mean over scored positions */
        memset(m->dlogits, 0, (size_t)N * O * sizeof(real));
        mse_backward(m->dlogits, m->logits, batch->values, batch->targets, N, scale);
        /* head: z = y W^T + b; dy = dz W is the head's alone (written, not added) */
        linear_backward_set(m->dy, params_grad(ps, m->idx_head_w), params_grad(ps, m->idx_head_b),
                            m->dlogits, m->y, params_value(ps, m->idx_head_w), N, H, O);
    } else {
        /* loss and head: dz = (p - onehot) / count, dy = dz W, over spans of rows */
        head_backward(m, batch->targets, N, scale);
    }
    /* body */
    memset(m->dx, 0, (size_t)N * E * sizeof(real));
    m->body_ops->backward(m->body, m->dx, m->dy, B, T);
    /* input */
    if (m->idx_in_b < 0)
        embedding_backward(params_grad(ps, m->idx_in_w), m->dx, batch->tokens, N, E);
    else
        linear_backward(NULL, params_grad(ps, m->idx_in_w), params_grad(ps, m->idx_in_b),
                        m->dx, batch->features, params_value(ps, m->idx_in_w), N,
                        m->cfg.input_features, E);
}

void model_state_reset(Model *m, int B)
{
    assert(!m->encdec_ops && "an encoder-decoder decodes through its EncDecOps (encode, decode_step)");
    assert(B <= m->Bmax);
    m->body_ops->state_reset(m->body, B);
}

const real *model_step(Model *m, const int *tokens, int B)
{
    ParamSet *ps = &m->params;
    assert(m->idx_in_b < 0 && "stepping needs token input");
    input_forward(m, m->step_x, tokens, NULL, B);
    m->body_ops->step(m->body, m->step_y, m->step_x, B);
    linear_forward(m->logits, m->step_y, params_value(ps, m->idx_head_w),
                   params_value(ps, m->idx_head_b), B, m->H, m->cfg.output_size);
    return m->logits;
}

size_t model_param_count(const Model *m)
{
    return m->params.total;
}

size_t model_attention_bytes(const Model *m)
{
    if (m->encdec_ops) return 0;   /* (an encoder-decoder's attention is in its act_bytes) */
    return m->body_ops->attention_bytes ? m->body_ops->attention_bytes(m->body) : 0;
}

/* Kaplan et al. (2020) count N "excluding all vocabulary and positional
 * embeddings".  Their models tie the output layer to the input embedding,
 * so the vocabulary-sized head is an embedding too; seqlab's head is untied
 * and counted out likewise.  Out: the input layer (embed.weight, or
 * input.weight and input.bias), the head (head.weight, head.bias) and every
 * table indexed by token or position (a tensor named *embed.weight or
 * *pos.weight: embed, pos, and the src_/tgt_ tables of an
 * encoder-decoder).  In: everything else -- the body's weights. */
static int param_is_embedding(const char *name)
{
    static const char *const table_suffixes[] = {"embed.weight", "pos.weight"};
    if (strncmp(name, "head.", 5) == 0 || strncmp(name, "input.", 6) == 0) return 1;
    size_t n = strlen(name);
    for (size_t i = 0; i < sizeof table_suffixes / sizeof table_suffixes[0]; i++) {
        size_t k = strlen(table_suffixes[i]);
        if (n >= k && strcmp(name + n - k, table_suffixes[i]) == 0) return 1;
    }
    return 0;
}

size_t model_non_embedding_param_count(const Model *m)
{
    size_t n = 0;
    for (int i = 0; i < m->params.count; i++)
        if (!param_is_embedding(m->params.views[i].name)) n += m->params.views[i].size;
    return n;
}

size_t model_act_bytes(const Model *m)
{
    if (m->encdec_ops)
        return 3 * (size_t)m->Bmax * m->Tmax * m->cfg.output_size * sizeof(real) +
               m->encdec_ops->act_bytes(m->encdec);
    size_t n = (size_t)m->Bmax * m->Tmax;
    size_t own = n * (2 * (size_t)m->cfg.embed_dim + 2 * (size_t)m->H + 3 * (size_t)m->cfg.output_size)
               + 2 * (size_t)m->Bmax * m->H;
    return own * sizeof(real) + m->body_ops->act_bytes(m->body);
}
