/*
 * test_registry.c — the model registry (core/registry.c): every line builds
 * a working model, and what the descriptor claims is what the body does —
 * the names are unique and found, a recurrent model runs the shared body
 * with its cell, the introspection it promises (attention maps, position
 * table, the ||dL/d._t|| series the figures draw) is there after a forward
 * and backward, its settings checks refuse what its body cannot build, and
 * the lists the commands print hold every model.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "checkpoint.h"
#include "config.h"
#include "recurrent.h"
#include "registry.h"
#include "testutil.h"
#include "util.h"

#define RG_V 7   /* vocabulary */
#define RG_B 2
#define RG_T 3

static ModelConfig small_config(const char *kind)
{
    ModelConfig cfg;
    memset(&cfg, 0, sizeof cfg);
    snprintf(cfg.kind, sizeof cfg.kind, "%s", kind);
    cfg.vocab_size = RG_V;
    cfg.output_size = RG_V;
    cfg.embed_dim = 4;
    cfg.hidden_size = 4;
    cfg.num_layers = 2;
    cfg.num_heads = 2;
    cfg.ffn_size = 6;
    cfg.max_seq_len = RG_T + 1;
    cfg.positions = POSITIONS_LEARNED;
    cfg.forget_bias = 1;
    cfg.init_scale = 1;
    return cfg;
}

START_TEST(test_names_unique_and_found)
{
    int n = model_info_count();
    ck_assert_int_ge(n, 1);
    ck_assert_int_le(n, MODELS_MAX);
    for (int i = 0; i < n; i++) {
        const ModelInfo *info = model_info_at(i);
        ck_assert_ptr_nonnull(info->name);
        ck_assert_ptr_nonnull(info->title);
        ck_assert_ptr_nonnull(info->ops);
        ck_assert_uint_lt(strlen(info->name), sizeof(((ModelConfig *)0)->kind));
        ck_assert_ptr_eq(model_info_find(info->name), info);
        ck_assert_int_eq(model_info_index(info->name), i);
        ck_assert_int_ge(info->default_layers, 1);
        for (int j = 0; j < i; j++) ck_assert_str_ne(model_info_at(j)->name, info->name);
        /* the lists the help texts and error messages print hold it */
        ck_assert_ptr_nonnull(strstr(model_info_names(), info->name));
        ck_assert_ptr_nonnull(strstr(model_info_names_prose(), info->name));
    }
    ck_assert_ptr_null(model_info_find("no-such-model"));
    ck_assert_int_eq(model_info_index("no-such-model"), n);
}
END_TEST

/* what each descriptor says, against the body it names (loop over models) */
START_TEST(test_descriptor_matches_body)
{
    const ModelInfo *info = model_info_at(_i);
    ModelConfig cfg = small_config(info->name);
    char err[256];
    ck_assert_msg(!info->check || info->check(&cfg, err, sizeof err) == 0, "%s: %s", info->name, err);
    Model *m = test_model(&cfg, RG_B, RG_T, 5);
    ck_assert_ptr_eq(m->body_ops, info->ops);
    /* a recurrent model runs the one shared body, with its own cell — unless
     * its recurrence is a scan (mingru/), a body of its own */
    ck_assert_int_eq(info->recurrent && !info->scan, info->ops == &recurrent_body_ops);
    ck_assert(!info->scan || info->recurrent);
    /* only a recurrence has gates (the findings' "gates keep memory") */
    ck_assert(!info->gated || info->recurrent);
    if (info->scan) {
        char want[64];
        snprintf(want, sizeof want, "%s.weight_l0", info->name);
        ck_assert_int_ge(params_find(&m->params, want), 0);
    } else if (info->recurrent) {
        ck_assert_ptr_nonnull(info->cell);
        ck_assert_ptr_eq(((RecurrentBody *)m->body)->cell, info->cell);
        /* its parameters carry its name, as PyTorch's nn.RNN/LSTM/GRU do */
        char want[64];
        snprintf(want, sizeof want, "%s.weight_ih_l0", info->name);
        ck_assert_int_ge(params_find(&m->params, want), 0);
    }
    /* introspection: what the descriptor promises, the body offers */
    ck_assert_int_eq(info->attention, m->body_ops->attention != NULL);
    ck_assert_int_eq(info->position_table, m->body_ops->position_table != NULL);
    ck_assert_int_eq(info->attention, model_info_uses(info, "num_heads"));
    ck_assert_int_eq(info->position_table, model_info_uses(info, "positions"));
    ck_assert_int_eq(info->position_table, model_info_uses(info, "max_seq_len"));

    Batch *b = test_token_batch(RG_B, RG_T, RG_V, RG_V, 6);
    model_forward(m, b);
    if (info->attention) {
        const real *w;
        int L, NH, B, T;
        ck_assert_int_eq(m->body_ops->attention(m->body, &w, &L, &NH, &B, &T), 0);
        ck_assert_int_eq(L, cfg.num_layers);
        ck_assert_int_eq(NH, cfg.num_heads);
        ck_assert_int_eq(B, RG_B);
        ck_assert_int_eq(T, RG_T);
        /* each query's weights are a distribution */
        double sum = 0;
        for (int s = 0; s < T; s++) sum += w[(size_t)(T - 1) * T + s];
        ck_assert_double_eq_tol(sum, 1, 1e-5);
    }
    params_zero_grad(&m->params);
    model_backward(m, b);
    /* the series the gradient-through-time figure draws is one the body records */
    const char *const *names;
    const real *norms;
    int S = m->body_ops->grad_norms(m->body, &names, &norms);
    int found = 0;
    for (int s = 0; s < S; s++) found |= strcmp(names[s], info->grad_series) == 0;
    ck_assert_msg(found, "%s: grad_series '%s' is not among the body's series", info->name, info->grad_series);
    /* the critical path: T + L - 1 sequential steps through time, a scan's
     * L (2 ceil(log2 T) + 1) (T = 10: 9 per layer), or L */
    ck_assert_int_eq(model_info_critical_path(info, 10, 3), info->scan ? 27 : info->recurrent ? 12 : 3);
    batch_free(b);
    model_free(m);
}
END_TEST

/* the metadata written for a model is what the checkpoint reader needs to
 * rebuild the same config (loop over models) */
START_TEST(test_metadata_round_trip)
{
    const ModelInfo *info = model_info_at(_i);
    ModelConfig cfg = small_config(info->name);
    Model *m = test_model(&cfg, 1, RG_T, 7);
    char path[] = "/tmp/seqlab-registry-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    Meta meta;
    meta_init(&meta);
    meta_from_model_config(&meta, &cfg);
    /* keys of settings that apply to the model only, and only then */
    ck_assert_int_eq(meta_get(&meta, "num_heads") != NULL, info->attention);
    ck_assert_int_eq(meta_get(&meta, "positions") != NULL, info->position_table);
    char err[512];
    ck_assert_msg(checkpoint_save(path, &m->params, &meta, err, sizeof err) == 0, "%s", err);
    meta_free(&meta);
    meta_init(&meta);
    Model *back = checkpoint_load_model(path, &meta, err, sizeof err);
    ck_assert_msg(back != NULL, "%s", err);
    ck_assert_str_eq(back->cfg.kind, info->name);
    ck_assert_int_eq(back->cfg.num_layers, cfg.num_layers);
    if (info->attention) ck_assert_int_eq(back->cfg.num_heads, cfg.num_heads);
    if (info->position_table) {
        ck_assert_int_eq(back->cfg.max_seq_len, cfg.max_seq_len);
        ck_assert_int_eq(back->cfg.positions, cfg.positions);
    }
    ck_assert_uint_eq(model_param_count(back), model_param_count(m));
    unlink(path);
    meta_free(&meta);
    model_free(back);
    model_free(m);
}
END_TEST

/* settings: the default layers and the model's own checks come from its line */
START_TEST(test_settings_from_descriptor)
{
    const ModelInfo *info = model_info_at(_i);
    Settings s;
    char err[512];
    settings_defaults(&s);
    ck_assert_int_eq(settings_set(&s, "model", info->name, "t", err, sizeof err), 0);
    ck_assert_msg(settings_resolve(&s, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(s.num_layers, info->default_layers);
    /* every model is at least a decoder; an architecture its line does not
     * list is refused, naming the setting */
    ck_assert(model_info_supports(info, ARCH_DECODER));
    static const char *const archs[] = {"decoder", "encoder", "encoder-decoder"};
    for (int a = 0; a < 3; a++) {
        if (model_info_supports(info, (Architecture)a)) continue;
        settings_defaults(&s);
        ck_assert_int_eq(settings_set(&s, "model", info->name, "t", err, sizeof err), 0);
        ck_assert_int_eq(settings_set(&s, "architecture", archs[a], "t", err, sizeof err), 0);
        ck_assert_int_eq(settings_resolve(&s, err, sizeof err), -1);
        ck_assert_msg(strstr(err, "architecture = ") && strstr(err, archs[a]), "%s", err);
    }
    if (info->check) {
        /* a width its check refuses is refused by the settings, too */
        ModelConfig bad = small_config(info->name);
        bad.embed_dim = bad.hidden_size + 1;
        int refused = info->check(&bad, err, sizeof err) != 0;
        settings_defaults(&s);
        settings_set(&s, "model", info->name, "t", err, sizeof err);
        s.embed_dim = s.hidden_size + 1;
        ck_assert_int_eq(settings_resolve(&s, err, sizeof err) != 0, refused);
    }
}
END_TEST

START_TEST(test_unknown_model_refused)
{
    Settings s;
    char err[512];
    settings_defaults(&s);
    ck_assert_int_eq(settings_set(&s, "model", "mamba", "cfg.ini:3", err, sizeof err), -1);
    ck_assert_msg(strstr(err, "cfg.ini:3") && strstr(err, "mamba") && strstr(err, model_info_names()), "%s", err);
    /* the help lists every model */
    for (int i = 0; i < settings_count(); i++)
        if (strcmp(settings_key(i), "model") == 0)
            for (int k = 0; k < model_info_count(); k++)
                ck_assert_ptr_nonnull(strstr(settings_help(i), model_info_at(k)->name));
}
END_TEST

static Suite *make_registry_suite(void)
{
    Suite *s = suite_create("registry");
    TCase *tc = tcase_create("descriptors");
    int n = model_info_count();
    tcase_add_test(tc, test_names_unique_and_found);
    tcase_add_loop_test(tc, test_descriptor_matches_body, 0, n);
    tcase_add_loop_test(tc, test_metadata_round_trip, 0, n);
    tcase_add_loop_test(tc, test_settings_from_descriptor, 0, n);
    tcase_add_test(tc, test_unknown_model_refused);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(make_registry_suite());
}
