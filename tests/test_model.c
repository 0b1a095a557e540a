/*
 * test_model.c — the model-level counts of core/model.c: every parameter,
 * and the non-embedding parameters N of the scaling laws, against counts
 * worked out by hand from each model's tensor table (docs/design.md) with
 * odd sizes.
 *
 * Legend: V vocabulary, E embedding, H hidden, L layers, C Transformer
 * width, F its MLP width, P position-table rows, Fin input features.
 */
#include <check.h>
#include <string.h>

#include "model.h"
#include "testutil.h"

enum { V = 7, E = 5, H = 4, L = 2 };

static ModelConfig config(const char *kind)
{
    ModelConfig cfg;
    memset(&cfg, 0, sizeof cfg);
    strcpy(cfg.kind, kind);
    cfg.vocab_size = V;
    cfg.output_size = V;
    cfg.embed_dim = E;
    cfg.hidden_size = H;
    cfg.num_layers = L;
    cfg.forget_bias = 1.0;
    cfg.init_scale = 1.0;
    return cfg;
}

/* the model's two counts equal the hand-computed body and total */
static void check_counts(const ModelConfig *cfg, size_t body, size_t embedding)
{
    Model *m = model_create(cfg);
    ck_assert_uint_eq(model_non_embedding_param_count(m), body);
    ck_assert_uint_eq(model_param_count(m), body + embedding);
    model_free(m);
}

/* embed.weight [V,E] in; head.weight [V,H] and head.bias [V] out */
static size_t token_io(int width) { return (size_t)V * E + (size_t)V * width + V; }

START_TEST(test_rnn_counts)
{
    /* layer k: weight_ih [H, in] + weight_hh [H,H] + two biases [H], in = E then H */
    size_t l0 = H * E + H * H + 2 * H;   /* 20 + 16 + 8 = 44 */
    size_t l1 = H * H + H * H + 2 * H;   /* 16 + 16 + 8 = 40 */
    ModelConfig cfg = config("rnn");
    check_counts(&cfg, 84, token_io(H));
    ck_assert_uint_eq(l0 + l1, 84);
}
END_TEST

START_TEST(test_lstm_counts)
{
    /* four gates: 4H rows in each of the four tensors */
    size_t l0 = 4 * H * E + 4 * H * H + 8 * H;   /* 80 + 64 + 32 = 176 */
    size_t l1 = 4 * H * H + 4 * H * H + 8 * H;   /* 64 + 64 + 32 = 160 */
    ModelConfig cfg = config("lstm");
    check_counts(&cfg, 336, token_io(H));
    ck_assert_uint_eq(l0 + l1, 336);
}
END_TEST

START_TEST(test_gru_counts)
{
    /* three gates: 3H rows */
    size_t l0 = 3 * H * E + 3 * H * H + 6 * H;   /* 60 + 48 + 24 = 132 */
    size_t l1 = 3 * H * H + 3 * H * H + 6 * H;   /* 48 + 48 + 24 = 120 */
    ModelConfig cfg = config("gru");
    check_counts(&cfg, 252, token_io(H));
    ck_assert_uint_eq(l0 + l1, 252);
}
END_TEST

START_TEST(test_transformer_counts)
{
    enum { C = 6, F = 10, P = 9 };
    /* a block: ln1 2C, qkv 3C*C + 3C, proj C*C + C, ln2 2C, fc F*C + F, proj C*F + C
     *        = 12 + 126 + 42 + 12 + 70 + 66 = 328; two blocks and ln_f (2C) */
    size_t block = 2 * C + (3 * C * C + 3 * C) + (C * C + C) + 2 * C + (F * C + F) + (C * F + C);
    ck_assert_uint_eq(block, 328);
    ModelConfig cfg = config("transformer");
    cfg.embed_dim = cfg.hidden_size = C;
    cfg.num_heads = 2;
    cfg.ffn_size = F;
    cfg.max_seq_len = P;
    cfg.positions = POSITIONS_SINUSOIDAL;   /* no tensor */
    size_t io = (size_t)V * C + (size_t)V * C + V;
    check_counts(&cfg, 2 * 328 + 2 * C, io);
    /* learned positions add pos.weight [P,C], which is an embedding */
    cfg.positions = POSITIONS_LEARNED;
    check_counts(&cfg, 2 * 328 + 2 * C, io + P * C);
}
END_TEST

START_TEST(test_feature_input_counts)
{
    /* the adding problem's input layer, input.weight [E,Fin] and input.bias [E],
     * and its one-output head [1,H] + [1] are the embedding's analogues */
    enum { Fin = 2 };
    ModelConfig cfg = config("gru");
    cfg.vocab_size = 0;
    cfg.input_features = Fin;
    cfg.output_size = 1;
    cfg.regression = 1;
    check_counts(&cfg, 252, (size_t)E * Fin + E + H + 1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("model");
    TCase *tc = tcase_create("counts");
    tcase_add_test(tc, test_rnn_counts);
    tcase_add_test(tc, test_lstm_counts);
    tcase_add_test(tc, test_gru_counts);
    tcase_add_test(tc, test_transformer_counts);
    tcase_add_test(tc, test_feature_input_counts);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
