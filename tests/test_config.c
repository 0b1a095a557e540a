/*
 * test_config.c — settings: checked values, INI files with file:line in
 * every error, duplicate keys and bad sections, options, and config.ini
 * written by the trainer read back unchanged.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "testutil.h"

static char path[64];

static void write_ini(const char *text)
{
    snprintf(path, sizeof path, "/tmp/seqlab-config-XXXXXX");
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    FILE *f = fdopen(fd, "w");
    fputs(text, f);
    fclose(f);
}

/* load text as an INI file; returns the error message ("" on success) */
static const char *load(Settings *s, const char *text)
{
    static char err[1024];
    err[0] = '\0';
    write_ini(text);
    settings_defaults(s);
    settings_load_ini(s, path, NULL, NULL, NULL, err, sizeof err);
    unlink(path);
    return err;
}

START_TEST(test_values_are_checked)
{
    Settings s;
    char err[512];
    settings_defaults(&s);
    ck_assert_int_eq(settings_set(&s, "hidden_size", "256", "--hidden-size", err, sizeof err), 0);
    ck_assert_int_eq(s.hidden_size, 256);
    ck_assert_int_eq(settings_set(&s, "lr", "2e-3", "--lr", err, sizeof err), 0);
    ck_assert_double_eq_tol(s.lr, 2e-3, 1e-15);
    /* each rejection names where the value came from and the key */
    ck_assert_int_eq(settings_set(&s, "hidden_size", "-4", "--hidden-size", err, sizeof err), -1);
    ck_assert_msg(strstr(err, "--hidden-size") && strstr(err, "out of range"), "%s", err);
    ck_assert_int_eq(settings_set(&s, "steps", "1e12", "x.ini:3", err, sizeof err), -1);
    ck_assert_msg(strstr(err, "x.ini:3") && strstr(err, "steps"), "%s", err);
    ck_assert_int_eq(settings_set(&s, "batch_size", "3.5", "--batch-size", err, sizeof err), -1);
    ck_assert_msg(strstr(err, "whole number"), "%s", err);
    ck_assert_int_eq(settings_set(&s, "lr", "fast", "--lr", err, sizeof err), -1);
    ck_assert_msg(strstr(err, "not a number"), "%s", err);
    ck_assert_int_eq(settings_set(&s, "model", "mamba", "--model", err, sizeof err), -1);
    ck_assert_msg(strstr(err, "mamba") && strstr(err, "rnn lstm gru transformer"), "%s", err);
    ck_assert_int_eq(settings_set(&s, "hiden_size", "4", "--hiden-size", err, sizeof err), -1);
    ck_assert_msg(strstr(err, "unknown setting 'hiden_size'"), "%s", err);
    ck_assert_int_eq(s.hidden_size, 256);   /* a rejected value changes nothing */
}
END_TEST

START_TEST(test_ini_errors_name_file_and_line)
{
    Settings s;
    const char *err = load(&s, "# a comment\n[train]\nmodel = lstm\nhidden_size = 64\n");
    ck_assert_str_eq(err, "");
    ck_assert_str_eq(s.model, "lstm");
    ck_assert_int_eq(s.hidden_size, 64);

    err = load(&s, "[train]\nmodel = lstm\nhidden_sise = 64\n");
    ck_assert_msg(strstr(err, ":3:") && strstr(err, "hidden_sise"), "%s", err);
    err = load(&s, "[train]\n\nlr = 0.1\nlr = 0.2\n");
    ck_assert_msg(strstr(err, ":4:") && strstr(err, "duplicate key 'lr'"), "%s", err);
    err = load(&s, "[train]\nsteps = 10\n[trian]\nsteps = 5\n");
    ck_assert_msg(strstr(err, ":4:") && strstr(err, "[trian]"), "%s", err);
    err = load(&s, "[train]\nclip = -1\n");
    ck_assert_msg(strstr(err, ":2:") && strstr(err, "clip"), "%s", err);
    err = load(&s, "[train]\nthis line has no equals sign\n");
    ck_assert_msg(strstr(err, ":2:") && strstr(err, "syntax"), "%s", err);
    err = load(&s, "model = rnn\n");   /* a key before any section */
    ck_assert_msg(strstr(err, ":1:") && strstr(err, "section"), "%s", err);
    /* the file name is in the message */
    err = load(&s, "[train]\nseed = x\n");
    ck_assert_msg(strstr(err, "/tmp/seqlab-config-"), "%s", err);
}
END_TEST

START_TEST(test_written_config_reads_back_unchanged)
{
    Settings a, b;
    char err[512];
    settings_defaults(&a);
    settings_set(&a, "model", "transformer", "t", err, sizeof err);
    settings_set(&a, "prompt", "In the beginning; God", "t", err, sizeof err);
    settings_set(&a, "lr", "0.00123", "t", err, sizeof err);
    ck_assert_int_eq(settings_resolve(&a, err, sizeof err), 0);
    ck_assert_int_eq(a.num_layers, 2);          /* 0 resolves to the Transformer's default */
    ck_assert_int_eq(a.ffn_size, 4 * a.hidden_size);
    snprintf(path, sizeof path, "/tmp/seqlab-config-XXXXXX");
    int fd = mkstemp(path);
    FILE *f = fdopen(fd, "w");
    settings_write_ini(&a, f);
    fclose(f);
    settings_defaults(&b);
    ck_assert_msg(settings_load_ini(&b, path, NULL, NULL, NULL, err, sizeof err) == 0, "%s", err);
    unlink(path);
    char va[600], vb[600];
    for (int i = 0; i < settings_count(); i++) {
        settings_get(&a, settings_key(i), va, sizeof va);
        settings_get(&b, settings_key(i), vb, sizeof vb);
        ck_assert_msg(strcmp(va, vb) == 0, "%s: wrote '%s', read '%s'", settings_key(i), va, vb);
    }
}
END_TEST

START_TEST(test_resolve_checks_combinations)
{
    Settings s;
    char err[512];
    settings_defaults(&s);
    settings_set(&s, "model", "transformer", "t", err, sizeof err);
    settings_set(&s, "hidden_size", "100", "t", err, sizeof err);
    settings_set(&s, "num_heads", "3", "t", err, sizeof err);
    ck_assert_int_eq(settings_resolve(&s, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "num_heads (3)") && strstr(err, "hidden_size (100)"), "%s", err);
    /* the text task names its tokenizer */
    settings_defaults(&s);
    settings_set(&s, "task", "words", "t", err, sizeof err);
    ck_assert_int_eq(settings_resolve(&s, err, sizeof err), 0);
    ck_assert_str_eq(s.tokenizer, "words");
    /* a known setting whose model is not built is refused, naming it */
    settings_defaults(&s);
    ck_assert_int_eq(settings_set(&s, "architecture", "encoder-decoder", "t", err, sizeof err), 0);
    ck_assert_int_eq(settings_resolve(&s, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "architecture"), "%s", err);
    /* the encoder's combinations that make no sense, each naming its settings */
    const char *const bad[][3][2] = {
        {{"architecture", "encoder"}, {"task", "chars"}, {NULL, NULL}},          /* sees the next token */
        {{"architecture", "encoder"}, {"task", "mlm"}, {NULL, NULL}},            /* one-way rnn encoder */
        {{"task", "mlm"}, {NULL, NULL}, {NULL, NULL}},                           /* mlm on a decoder */
        {{"bidirectional", "1"}, {"task", "classify"}, {NULL, NULL}},            /* not an encoder */
        {{"model", "transformer"}, {"bidirectional", "1"}, {"architecture", "encoder"}},
        {{"pooling", "last"}, {"task", "chars"}, {NULL, NULL}},
        {{"train_examples", "100"}, {"task", "listops"}, {NULL, NULL}},
    };
    const char *const names[] = {"architecture", "bidirectional", "mlm", "architecture",
                                 "bidirectional", "pooling", "train_examples"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        settings_defaults(&s);
        for (int k = 0; k < 3 && bad[i][k][0]; k++)
            ck_assert_int_eq(settings_set(&s, bad[i][k][0], bad[i][k][1], "t", err, sizeof err), 0);
        ck_assert_int_eq(settings_resolve(&s, err, sizeof err), -1);
        ck_assert_msg(strstr(err, names[i]), "case %zu: %s", i, err);
    }
    /* and the sensible ones pass */
    settings_defaults(&s);
    settings_set(&s, "model", "lstm", "t", err, sizeof err);
    settings_set(&s, "architecture", "encoder", "t", err, sizeof err);
    settings_set(&s, "bidirectional", "1", "t", err, sizeof err);
    settings_set(&s, "task", "mlm", "t", err, sizeof err);
    ck_assert_msg(settings_resolve(&s, err, sizeof err) == 0, "%s", err);
    settings_set(&s, "task", "classify", "t", err, sizeof err);
    settings_set(&s, "pooling", "last", "t", err, sizeof err);
    ck_assert_msg(settings_resolve(&s, err, sizeof err) == 0, "%s", err);
}
END_TEST

START_TEST(test_option_names)
{
    char key[64];
    ck_assert_int_eq(settings_option_key("--hidden-size", key, sizeof key), 0);
    ck_assert_str_eq(key, "hidden_size");
    ck_assert_int_eq(settings_option_key("--eval-seq-len=64", key, sizeof key), 0);
    ck_assert_str_eq(key, "eval_seq_len");
    ck_assert_int_eq(settings_option_key("--hidden_sise", key, sizeof key), -1);
    ck_assert_int_eq(settings_option_key("hidden-size", key, sizeof key), -1);
}
END_TEST

/* settings_set for a test: must succeed */
static void set_ok(Settings *s, const char *key, const char *value)
{
    char err[512];
    ck_assert_msg(settings_set(s, key, value, "t", err, sizeof err) == 0, "%s", err);
}

START_TEST(test_contradictions_refused_naming_both)
{
    Settings s;
    char err[512];
    /* a task that fixes the tokenizer, and another tokenizer */
    settings_defaults(&s);
    set_ok(&s, "task", "chars");
    set_ok(&s, "tokenizer", "bytes");
    ck_assert_int_eq(settings_resolve(&s, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "task = chars") && strstr(err, "tokenizer = bytes"), "%s", err);
    /* in either order, and from a file as from options */
    write_ini("[train]\ntokenizer = chars\ntask = words\n");
    settings_defaults(&s);
    ck_assert_int_eq(settings_load_ini(&s, path, NULL, NULL, NULL, err, sizeof err), 0);
    unlink(path);
    ck_assert_int_eq(settings_resolve(&s, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "task = words") && strstr(err, "tokenizer = chars"), "%s", err);
    /* the same tokenizer given twice over is no contradiction */
    settings_defaults(&s);
    set_ok(&s, "task", "words");
    set_ok(&s, "tokenizer", "words");
    ck_assert_msg(settings_resolve(&s, err, sizeof err) == 0, "%s", err);
    /* the text task takes any tokenizer */
    settings_defaults(&s);
    set_ok(&s, "task", "text");
    set_ok(&s, "tokenizer", "bytes");
    ck_assert_msg(settings_resolve(&s, err, sizeof err) == 0, "%s", err);
    ck_assert_str_eq(s.tokenizer, "bytes");
    /* a task that fixes it, with the tokenizer left alone: set from the task */
    settings_defaults(&s);
    set_ok(&s, "task", "bytes");
    ck_assert_msg(settings_resolve(&s, err, sizeof err) == 0, "%s", err);
    ck_assert_str_eq(s.tokenizer, "bytes");
}
END_TEST

/* the warnings settings_report_unused writes for s, in buf; their count */
static int unused(const Settings *s, char *buf, size_t n)
{
    FILE *f = fmemopen(buf, n, "w");
    ck_assert_ptr_nonnull(f);
    int count = settings_report_unused(s, f);
    fclose(f);
    return count;
}

START_TEST(test_settings_that_do_not_apply_reported)
{
    Settings s;
    char buf[4096];
    /* a Transformer setting given to a recurrent model */
    settings_defaults(&s);
    set_ok(&s, "model", "lstm");
    set_ok(&s, "num_heads", "8");
    ck_assert_int_eq(unused(&s, buf, sizeof buf), 1);
    ck_assert_msg(strstr(buf, "num_heads = 8") && strstr(buf, "lstm") && strstr(buf, "transformer"), "%s", buf);
    /* the same to the Transformer applies */
    set_ok(&s, "model", "transformer");
    ck_assert_int_eq(unused(&s, buf, sizeof buf), 0);
    /* the LSTM's forget-gate bias to a GRU */
    settings_defaults(&s);
    set_ok(&s, "model", "gru");
    set_ok(&s, "forget_bias", "1");
    ck_assert_int_eq(unused(&s, buf, sizeof buf), 1);
    ck_assert_msg(strstr(buf, "forget_bias") && strstr(buf, "gru"), "%s", buf);
    /* text settings to a synthetic task, and its length where distance rules */
    settings_defaults(&s);
    set_ok(&s, "task", "recall");
    set_ok(&s, "corpus", "other.txt");
    set_ok(&s, "seq_len", "32");
    ck_assert_int_eq(unused(&s, buf, sizeof buf), 2);
    ck_assert_msg(strstr(buf, "corpus = other.txt") && strstr(buf, "seq_len = 32") && strstr(buf, "recall"), "%s",
                  buf);
    /* distance to a text task; vocab_limit without the words tokenizer */
    settings_defaults(&s);
    set_ok(&s, "task", "chars");
    set_ok(&s, "distance", "20");
    set_ok(&s, "vocab_limit", "100");
    ck_assert_int_eq(unused(&s, buf, sizeof buf), 2);
    set_ok(&s, "task", "words");
    set_ok(&s, "distance", "50");   /* back to its default: nothing asked for */
    ck_assert_int_eq(unused(&s, buf, sizeof buf), 0);
    /* a whole config.ini read back (every key given) warns about nothing
     * its defaults already held */
    settings_defaults(&s);
    set_ok(&s, "model", "rnn");
    set_ok(&s, "task", "adding");
    char err[512];
    ck_assert_int_eq(settings_resolve(&s, err, sizeof err), 0);
    write_ini("");
    FILE *f = fopen(path, "w");
    settings_write_ini(&s, f);
    fclose(f);
    Settings back;
    settings_defaults(&back);
    ck_assert_msg(settings_load_ini(&back, path, NULL, NULL, NULL, err, sizeof err) == 0, "%s", err);
    unlink(path);
    ck_assert_msg(unused(&back, buf, sizeof buf) == 0, "%s", buf);
}
END_TEST

static Suite *make_config_suite(void)
{
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("settings");
    tcase_add_test(tc, test_values_are_checked);
    tcase_add_test(tc, test_ini_errors_name_file_and_line);
    tcase_add_test(tc, test_written_config_reads_back_unchanged);
    tcase_add_test(tc, test_resolve_checks_combinations);
    tcase_add_test(tc, test_option_names);
    tcase_add_test(tc, test_contradictions_refused_naming_both);
    tcase_add_test(tc, test_settings_that_do_not_apply_reported);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(make_config_suite());
}
