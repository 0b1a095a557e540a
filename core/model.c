/*
 * model.c — the parts every model shares: input layer, output head, loss,
 * and the glue that calls the model-specific body (see model.h).
 *
 * Forward:   x = embed(tokens) | input(features)      (B,T,E)
 *            y = body(x)                              (B,T,H)
 *            z = y head.weight^T + head.bias          (B,T,O)
 *            L = mean CE(z, targets) | mean (z - values)^2
 * Backward runs the same four lines in reverse order.
 */
#include "model.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_randist.h>

#include "encdec.h"
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
        m->idx_in_w = params_add2(&m->params, "embed.weight", cfg->vocab_size, E);
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
    m->logits = xcalloc(n * O, sizeof(real));
    m->probs = xcalloc(n * O, sizeof(real));
    m->dlogits = xcalloc(n * O, sizeof(real));
    m->step_x = xcalloc((size_t)B * E, sizeof(real));
    m->step_y = xcalloc((size_t)B * H, sizeof(real));
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
    free(m->logits);
    free(m->probs);
    free(m->dlogits);
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

double model_forward(Model *m, const Batch *batch)
{
    int B = batch->B, T = batch->T, N = B * T;
    int E = m->cfg.embed_dim, O = m->cfg.output_size;
    (void)E;
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
        m->body_ops->forward(m->body, m->y, m->x, B, T);
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
    /* loss: the gradient of the mean over scored positions */
    memset(m->dlogits, 0, (size_t)N * O * sizeof(real));
    if (m->cfg.regression)
        mse_backward(m->dlogits, m->logits, batch->values, batch->targets, N, scale);
    else
        softmax_xent_backward(m->dlogits, m->probs, batch->targets, N, O, scale);
    if (m->encdec_ops) {
        m->encdec_ops->backward(m->encdec, m->dlogits, batch->src_tokens, batch->src_lengths,
                                batch->tokens, B, batch->S, T);
        return;
    }
    /* head: z = y W^T + b */
    memset(m->dy, 0, (size_t)N * H * sizeof(real));
    linear_backward(m->dy, params_grad(ps, m->idx_head_w), params_grad(ps, m->idx_head_b),
                    m->dlogits, m->y, params_value(ps, m->idx_head_w), N, H, O);
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

size_t model_act_bytes(const Model *m)
{
    if (m->encdec_ops)
        return 3 * (size_t)m->Bmax * m->Tmax * m->cfg.output_size * sizeof(real) +
               m->encdec_ops->act_bytes(m->encdec);
    size_t n = (size_t)m->Bmax * m->Tmax;
    size_t own = n * (2 * (size_t)m->cfg.embed_dim + 2 * (size_t)m->H + 3 * (size_t)m->cfg.output_size);
    return own * sizeof(real) + m->body_ops->act_bytes(m->body);
}
