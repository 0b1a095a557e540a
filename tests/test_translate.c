/*
 * test_translate.c — pairs data, the generators, decoding and BLEU.
 *
 *   BLEU        identical text (100), no overlap (0), a short hypothesis
 *               (brevity penalty), hypotheses and references swapped (a
 *               different number), against values NLTK 3.8's corpus_bleu gave
 *   generators  every dates target is a valid ISO date equal to the date the
 *               source was written from, in every format; reverse targets are
 *               the reversed sources, lengths within the range
 *   pairs files a blank line, a line without a TAB, an empty side and a
 *               token-less source are errors naming the file and line; CRLF
 *               endings; the fixed split by line number
 *   decoding    beam 1 = greedy token for token; beam K never scores below
 *               greedy; batched greedy = each source alone (padding); every
 *               model kind
 *   command     translate / eval --pairs refuse a decoder checkpoint naming
 *               its architecture, and a bad pairs line naming file and line
 *               (runs $SEQLAB, skipped without it)
 */
#define _XOPEN_SOURCE 700
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <gsl/gsl_rng.h>

#include "bleu.h"
#include "decode.h"
#include "encdec.h"
#include "model.h"
#include "pairs.h"
#include "testutil.h"
#include "util.h"

/* BLEU values are sums and one exp: NLTK's and ours agree to round-off */
#define BLEU_RTOL 1e-12

static char tmp_root[256];

static char *tmp_file(const char *name, const char *content)
{
    char *p = xmalloc(strlen(tmp_root) + strlen(name) + 2);
    sprintf(p, "%s/%s", tmp_root, name);
    FILE *f = fopen(p, "w");
    ck_assert(f != NULL);
    fputs(content, f);
    fclose(f);
    return p;
}

/* ================================ BLEU ===================================== */

/* corpus BLEU of space-separated sentences */
static double bleu_of(const char *const *hyps, const char *const *refs, int n)
{
    BleuStats s;
    bleu_init(&s);
    for (int i = 0; i < n; i++) {
        char *h = xstrdup(hyps[i]), *r = xstrdup(refs[i]);
        const char *hw[64], *rw[64];
        int nh = 0, nr = 0;
        for (char *t = strtok(h, " "); t; t = strtok(NULL, " ")) hw[nh++] = t;
        for (char *t = strtok(r, " "); t; t = strtok(NULL, " ")) rw[nr++] = t;
        bleu_add(&s, hw, nh, rw, nr);
        free(h);
        free(r);
    }
    return bleu_score(&s);
}

static void assert_bleu(double got, double nltk)
{
    ck_assert_msg(fabs(got - nltk) <= BLEU_RTOL * fabs(nltk), "BLEU %.17g, NLTK %.17g", got, nltk);
}

START_TEST(test_bleu_matches_nltk)
{
    const char *same[2] = {"the cat sat on the mat", "and god said let there be light"};
    assert_bleu(bleu_of(same, same, 2), 100.0);
    const char *a[1] = {"a b c d e"}, *b[1] = {"f g h i j"};
    ck_assert(bleu_of(a, b, 1) == 0);
    /* 4 words against 7: every n-gram matches, the brevity penalty
     * exp(1 - 7/4) alone lowers it */
    const char *shorter[1] = {"the cat sat on"}, *longer[1] = {"the cat sat on the mat today"};
    assert_bleu(bleu_of(shorter, longer, 1), 47.236655274101466);
    assert_bleu(100 * exp(1 - 7.0 / 4), 47.236655274101466);
    /* the argument order matters: the long one as hypothesis */
    assert_bleu(bleu_of(longer, shorter, 1), 41.113361690051974);
    const char *h2[2] = {"the cat sat on the mat with the hat",
                         "in the beginning god created the heaven and the earth"};
    const char *r2[2] = {"the cat sat on a mat with a hat",
                         "in the beginning god made the heaven and the earth ."};
    assert_bleu(bleu_of(h2, r2, 2), 50.176548836595394);
    assert_bleu(bleu_of(r2, h2, 2), 49.71987693433302);
    /* no 4-gram at all: NLTK's smallest-double precision, ~1e-75, not 0 */
    const char *three[1] = {"the cat sat"};
    assert_bleu(bleu_of(three, three, 1), 1.2213386697554703e-75);
}
END_TEST

/* ============================= generators ================================= */

START_TEST(test_dates_targets_are_the_sources_dates)
{
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 5);
    char src[DATES_MAX_SRC], tgt[16];
    int seen_year[100] = {0};
    for (int i = 0; i < 20000; i++) {
        int y, m, d, Y, M, D;
        dates_example(rng, src, tgt, &y, &m, &d);
        /* the target is YYYY-MM-DD of a real day ... */
        ck_assert_int_eq((int)strlen(tgt), 10);
        ck_assert_msg(sscanf(tgt, "%4d-%2d-%2d", &Y, &M, &D) == 3 && tgt[4] == '-' && tgt[7] == '-', "%s", tgt);
        ck_assert(M >= 1 && M <= 12 && D >= 1 && D <= dates_days_in_month(Y, M));
        /* ... the date the source was written from */
        ck_assert(Y == y && M == m && D == d);
        seen_year[y - 1950]++;
        ck_assert(strlen(src) > 0 && strlen(src) < DATES_MAX_SRC);
    }
    for (int k = 0; k < 100; k++) ck_assert_msg(seen_year[k] > 0, "year %d never drawn", 1950 + k);
    /* each format, read back by hand for a few dates (29 february included) */
    const int dates[4][3] = {{1987, 3, 3}, {2000, 2, 29}, {1951, 12, 31}, {2049, 11, 11}};
    for (int k = 0; k < 4; k++) {
        int y = dates[k][0], m = dates[k][1], d = dates[k][2];
        for (int f = 0; f < DATES_FORMATS; f++) {
            dates_format(f, y, m, d, src);
            int a, b, c;
            char yy[8];
            snprintf(yy, sizeof yy, "%d", y);
            if (f == 1) {           /* d/m/yy */
                ck_assert(sscanf(src, "%d/%d/%d", &a, &b, &c) == 3 && a == d && b == m && c == y % 100);
            } else if (f == 4) {    /* dd.mm.yyyy */
                ck_assert(sscanf(src, "%d.%d.%d", &a, &b, &c) == 3 && a == d && b == m && c == y);
            } else {
                ck_assert_msg(strstr(src, yy) != NULL, "format %d: '%s' lacks the year", f, src);
            }
        }
    }
    dates_format(0, 1987, 3, 3, src);
    ck_assert_str_eq(src, "tuesday 3 march 1987");
    dates_format(2, 1987, 3, 3, src);
    ck_assert_str_eq(src, "March 3rd, 1987");
    dates_format(1, 1987, 3, 3, src);
    ck_assert_str_eq(src, "3/3/87");
    gsl_rng_free(rng);
}
END_TEST

START_TEST(test_reverse_targets_are_reversed)
{
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 6);
    char src[64], tgt[64];
    int seen[13] = {0};
    for (int i = 0; i < 5000; i++) {
        reverse_example(rng, 3, 12, src, tgt);
        int n = (int)strlen(src);
        ck_assert(n >= 3 && n <= 12 && (int)strlen(tgt) == n);
        for (int k = 0; k < n; k++) ck_assert(tgt[k] == src[n - 1 - k] && src[k] >= 'a' && src[k] <= 'z');
        seen[n]++;
    }
    for (int n = 3; n <= 12; n++) ck_assert(seen[n] > 0);
    gsl_rng_free(rng);
}
END_TEST

/* ============================== pairs files =============================== */

static void expect_pairs_error(const char *content, const char *want)
{
    char *p = tmp_file("bad.tsv", content);
    TextPair *tp = NULL;
    long n = 0;
    char err[512] = "";
    ck_assert_int_eq(pairs_read(p, &tp, &n, err, sizeof err), -1);
    ck_assert_msg(strstr(err, want) != NULL && strstr(err, p) != NULL, "got '%s', want '%s'", err, want);
    free(p);
}

START_TEST(test_pairs_file_errors_name_file_and_line)
{
    expect_pairs_error("a\tb\nno tab here\n", ":2: no TAB");
    expect_pairs_error("a\tb\n\nc\td\n", ":2: blank line");
    expect_pairs_error("a\tb\nc\td\n\tsource missing\n", ":3: empty source");
    expect_pairs_error("a\tb\nc\t\n", ":2: empty target");
    expect_pairs_error("a\tb\r\n\r\n", ":2: blank line");
    /* CRLF and a TAB inside the target: split at the first TAB */
    char *p = tmp_file("ok.tsv", "one\tuno\r\ntwo\tdos\tdeux\n");
    TextPair *tp;
    long n;
    char err[512];
    ck_assert_int_eq(pairs_read(p, &tp, &n, err, sizeof err), 0);
    ck_assert_int_eq(n, 2);
    ck_assert_str_eq(tp[0].tgt, "uno");
    ck_assert_str_eq(tp[1].tgt, "dos\tdeux");
    ck_assert_int_eq(tp[1].line, 2);
    pairs_free_text(tp, n);
    free(p);
    /* the split by line number */
    ck_assert(pairs_split_of_line(10) == SPLIT_TEST && pairs_split_of_line(20) == SPLIT_TEST);
    ck_assert(pairs_split_of_line(5) == SPLIT_VALID && pairs_split_of_line(15) == SPLIT_VALID);
    ck_assert(pairs_split_of_line(1) == SPLIT_TRAIN && pairs_split_of_line(9) == SPLIT_TRAIN);
}
END_TEST

START_TEST(test_translate_task_token_less_source)
{
    /* the words tokenizer drops whitespace: a source of spaces has no token */
    char content[1024] = "";
    for (int i = 1; i <= 12; i++) strcat(content, i == 7 ? "   \tsiete\n" : "one two\tuno dos\n");
    char *p = tmp_file("spaces.tsv", content);
    TaskConfig tc = {"translate", p, "words", 0, 0, 0, 0, 0, 0, 0, 0};
    char err[512] = "";
    Task *t = task_create(&tc, err, sizeof err);
    ck_assert(t == NULL);
    ck_assert_msg(strstr(err, ":7: the source has no tokens") != NULL, "%s", err);
    /* and a good file builds, each side its own vocabulary plus <bos>, <eos> */
    char *q = tmp_file("good.tsv", "the cat\tel gato\nthe dog\tel perro\na cat\tun gato\nthe cat\tel gato\n"
                                   "a dog\tun perro\nthe cat\tel gato\n");
    TaskConfig tg = {"translate", q, "words", 0, 0, 0, 0, 0, 0, 0, 0};
    t = task_create(&tg, err, sizeof err);
    ck_assert_msg(t != NULL, "%s", err);
    ck_assert_int_eq(t->vocab_size, t->src_tok->vocab_size);
    ck_assert_int_eq(t->output_size, t->tgt_tok->vocab_size + 2);
    ck_assert_int_eq(task_pairs_count(t, SPLIT_VALID), 1);     /* line 5 */
    ck_assert_int_eq(task_pairs_count(t, SPLIT_TRAIN), 5);
    PairIds pi;
    task_pair(t, SPLIT_VALID, 0, &pi);
    ck_assert_int_eq(pi.line, 5);
    ck_assert_int_eq(pi.src_len, 2);
    task_free(t);
    free(p);
    free(q);
}
END_TEST

/* =============================== decoding ================================= */

#define DEC_VS 7
#define DEC_O 9
#define DEC_N 6     /* length limit */
#define DEC_K 4     /* beams */

static Model *random_encdec(const char *kind, AttentionKind att, unsigned long seed)
{
    ModelConfig cfg;
    memset(&cfg, 0, sizeof cfg);
    snprintf(cfg.kind, sizeof cfg.kind, "%s", kind);
    int tf = strcmp(kind, "transformer") == 0;
    cfg.vocab_size = DEC_VS;
    cfg.output_size = DEC_O;
    cfg.embed_dim = tf ? 8 : 5;
    cfg.hidden_size = tf ? 8 : 6;
    cfg.num_layers = 2;
    cfg.num_heads = 2;
    cfg.ffn_size = 12;
    cfg.max_seq_len = 16;
    cfg.positions = POSITIONS_SINUSOIDAL;
    cfg.init_scale = 1;
    cfg.architecture = ARCH_ENCODER_DECODER;
    cfg.attention = att;
    Model *m = model_create(&cfg);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, seed);
    model_init(m, rng);
    /* larger weights: peaked distributions, <eos> sometimes first */
    for (size_t i = 0; i < m->params.total; i++) m->params.value[i] *= 2;
    gsl_rng_free(rng);
    model_alloc_acts_pairs(m, DEC_K, 8, DEC_N + 1);
    return m;
}

static void check_search(const char *kind, AttentionKind att)
{
    Model *m = random_encdec(kind, att, 31);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 32);
    int src[DEC_K][8], len[DEC_K], batch_src[DEC_K * 8];
    int out[DEC_K * DEC_N], out_len[DEC_K], beam_out[DEC_N];
    double gscore[DEC_K];
    for (int b = 0; b < DEC_K; b++) {
        len[b] = 2 + (int)gsl_rng_uniform_int(rng, 7);
        for (int s = 0; s < 8; s++) src[b][s] = (int)gsl_rng_uniform_int(rng, DEC_VS);
        for (int s = 0; s < 8; s++) batch_src[b * 8 + s] = s < len[b] ? src[b][s] : 0;
    }
    /* greedy for all sources at once (padded to 8) ... */
    decode_greedy(m, batch_src, len, DEC_K, 8, DEC_N, out, out_len, gscore);
    int beat = 0;
    for (int b = 0; b < DEC_K; b++) {
        /* ... equals greedy for each alone */
        int one[DEC_N], one_len;
        double one_score;
        decode_greedy(m, src[b], &len[b], 1, len[b], DEC_N, one, &one_len, &one_score);
        ck_assert_int_eq(one_len, out_len[b]);
        for (int t = 0; t < one_len; t++) ck_assert_int_eq(one[t], out[b * DEC_N + t]);
        ck_assert(fabs(one_score - gscore[b]) < 1e-4);
        /* beam 1 is greedy, token for token */
        double s1;
        int n1 = decode_beam_search(m, src[b], len[b], 1, DEC_N, beam_out, &s1);
        ck_assert_int_eq(n1, one_len);
        for (int t = 0; t < n1; t++) ck_assert_int_eq(beam_out[t], one[t]);
        ck_assert(fabs(s1 - one_score) < 1e-4);
        /* beam K never scores below greedy */
        double sk;
        decode_beam(m, src[b], len[b], DEC_K, DEC_N, beam_out, &sk);
        ck_assert_msg(sk >= one_score - 1e-9, "%s: beam %g < greedy %g", kind, sk, one_score);
        if (sk > one_score + 1e-9) beat++;
    }
    printf("decode %s (attention %s): beam %d beat greedy on %d of %d sources\n", kind,
           att ? "additive" : "none", DEC_K, beat, DEC_K);
    gsl_rng_free(rng);
    model_free(m);
}

START_TEST(test_beam_and_greedy)
{
    check_search("transformer", ATTENTION_NONE);
    check_search("lstm", ATTENTION_NONE);
    check_search("gru", ATTENTION_ADDITIVE);
    check_search("rnn", ATTENTION_ADDITIVE);
}
END_TEST

/* =============================== command ================================== */

/* run a shell command line; its stderr in *err (malloc'ed); exit status */
static int run(const char *cmd, char **err)
{
    char *ef = xmalloc(strlen(tmp_root) + 16);
    sprintf(ef, "%s/stderr.txt", tmp_root);
    char *full = xmalloc(strlen(cmd) + strlen(ef) + 32);
    sprintf(full, "{ %s ; } >/dev/null 2>%s", cmd, ef);
    int rc = system(full);
    size_t n;
    *err = file_read_all(ef, &n);
    if (!*err) *err = xstrdup("");
    free(ef);
    free(full);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : 128;
}

START_TEST(test_commands_refuse_bad_input)
{
    const char *seqlab = getenv("SEQLAB");
    if (!seqlab || !*seqlab) {
        printf("test_translate: SEQLAB is not set; the command checks are skipped\n");
        return;
    }
    char cmd[2048], *err;
    /* a decoder checkpoint and an encoder-decoder one, two steps each */
    snprintf(cmd, sizeof cmd, "%s train --model rnn --task recall --distance 3 --hidden-size 8 --steps 2 "
             "--eval-every 2 --out %s/dec", seqlab, tmp_root);
    ck_assert_int_eq(run(cmd, &err), 0);
    free(err);
    snprintf(cmd, sizeof cmd, "%s train --model gru --architecture encoder-decoder --task reverse "
             "--max-src-len 5 --hidden-size 8 --steps 2 --eval-every 2 --out %s/ed", seqlab, tmp_root);
    ck_assert_int_eq(run(cmd, &err), 0);
    free(err);
    char *pairs = tmp_file("rev.tsv", "abc\tcba\nde\ted\n");
    snprintf(cmd, sizeof cmd, "%s translate --checkpoint %s/dec/model.safetensors --pairs %s", seqlab,
             tmp_root, pairs);
    ck_assert_int_ne(run(cmd, &err), 0);
    ck_assert_msg(strstr(err, "architecture is decoder") != NULL && strstr(err, "dec/model.safetensors"), "%s", err);
    free(err);
    snprintf(cmd, sizeof cmd, "%s eval --checkpoint %s/dec/model.safetensors --pairs %s", seqlab, tmp_root, pairs);
    ck_assert_int_ne(run(cmd, &err), 0);
    ck_assert_msg(strstr(err, "architecture is decoder") != NULL, "%s", err);
    free(err);
    /* a bad line, and a token-less source (no letter of the alphabet) */
    char *bad = tmp_file("bad.tsv", "abc\tcba\nno tab\n");
    snprintf(cmd, sizeof cmd, "%s translate --checkpoint %s/ed/model.safetensors --pairs %s", seqlab, tmp_root, bad);
    ck_assert_int_ne(run(cmd, &err), 0);
    ck_assert_msg(strstr(err, "bad.tsv:2: no TAB") != NULL, "%s", err);
    free(err);
    char *unknown = tmp_file("unknown.tsv", "abc\tcba\nAB\tBA\n");
    snprintf(cmd, sizeof cmd, "%s eval --checkpoint %s/ed/model.safetensors --pairs %s", seqlab, tmp_root, unknown);
    ck_assert_int_ne(run(cmd, &err), 0);
    ck_assert_msg(strstr(err, "unknown.tsv:2:") != NULL, "%s", err);
    free(err);
    /* and a good one works: greedy = beam 1, scores printed as JSON */
    snprintf(cmd, sizeof cmd, "%s translate --checkpoint %s/ed/model.safetensors --pairs %s --json", seqlab,
             tmp_root, pairs);
    ck_assert_int_eq(run(cmd, &err), 0);
    free(err);
    free(pairs);
    free(bad);
    free(unknown);
}
END_TEST

/* the verse pairs of data/kjv_es.sh for one range */
static char *kjv_es(const char *kjv_range, const char *sword_range)
{
    char cmd[512], *err;
    snprintf(cmd, sizeof cmd, "sh data/kjv_es.sh '%s' '%s' > %s/range.tsv", kjv_range, sword_range, tmp_root);
    int rc = run(cmd, &err);
    ck_assert_msg(rc == 0, "kjv_es.sh %s: %s", kjv_range, err);
    free(err);
    snprintf(cmd, sizeof cmd, "%s/range.tsv", tmp_root);
    size_t n;
    char *text = file_read_all(cmd, &n);
    ck_assert(text != NULL);
    return text;
}

START_TEST(test_kjv_spanish_verses_align)
{
    if (system("command -v bible >/dev/null && command -v diatheke >/dev/null") != 0) {
        printf("test_translate: bible or diatheke missing (bible-kjv, diatheke, sword-text-sparv); skipped\n");
        return;
    }
    char *t = kjv_es("gen1:1-2", "Gen 1:1-2");
    ck_assert_str_eq(t, "In the beginning God created the heaven and the earth.\t"
                        "EN el principio crió Dios los cielos y la tierra.\n"
                        "And the earth was without form, and void; and darkness was upon the face of the "
                        "deep. And the Spirit of God moved upon the face of the waters.\t"
                        "Y la tierra estaba desordenada y vacía, y las tinieblas estaban sobre la haz del "
                        "abismo, y el Espíritu de Dios se movía sobre la haz de las aguas.\n");
    free(t);
    t = kjv_es("jn11:35", "John 11:35");
    ck_assert_str_eq(t, "Jesus wept.\tY lloró Jesús.\n");
    free(t);
    /* Strong's numbers removed; the last verse */
    t = kjv_es("re22:21", "Rev 22:21");
    ck_assert_str_eq(t, "The grace of our Lord Jesus Christ be with you all. Amen.\t"
                        "La gracia de nuestro Señor Jesucristo sea con todos vosotros. Amén.\n");
    free(t);
    /* a verse empty in the Spanish text is left out: Numbers 12:16 */
    t = kjv_es("num12:15-16", "Num 12:15-16");
    ck_assert_msg(strchr(t, '\n') == t + strlen(t) - 1, "one line expected: %s", t);
    ck_assert(strncmp(t, "And Miriam was shut out", 23) == 0);
    free(t);
}
END_TEST

static Suite *make_translate_suite(void)
{
    Suite *s = suite_create("translate");
    TCase *tc = tcase_create("data");
    tcase_add_test(tc, test_bleu_matches_nltk);
    tcase_add_test(tc, test_dates_targets_are_the_sources_dates);
    tcase_add_test(tc, test_reverse_targets_are_reversed);
    tcase_add_test(tc, test_pairs_file_errors_name_file_and_line);
    tcase_add_test(tc, test_translate_task_token_less_source);
    suite_add_tcase(s, tc);
    tc = tcase_create("decode");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_beam_and_greedy);
    tcase_add_test(tc, test_commands_refuse_bad_input);
    tcase_add_test(tc, test_kjv_spanish_verses_align);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(tmp_root, sizeof tmp_root, "%s/seqlab-translate-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(tmp_root)) die("test_translate: cannot create a temporary directory");
    int rc = run_suite(make_translate_suite());
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_root);
    if (system(cmd) != 0) fprintf(stderr, "test_translate: could not remove %s\n", tmp_root);
    return rc;
}
