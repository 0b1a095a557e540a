/*
 * test_eval_cli.c — `seqlab eval --json` on checkpoints written by PyTorch
 * (tests/reference/make_fixtures.py) gives PyTorch's loss.  Drives the
 * seqlab binary named by $SEQLAB from the repository root.
 */
#define _POSIX_C_SOURCE 200809L
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "testutil.h"
#include "util.h"

/* the docs/design.md contract: PyTorch's loss within 1e-4 relative */
#define EVAL_RTOL 1e-4

static char *run(const char *cmd, int *status)
{
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    char *buf = xcalloc(1, 4096);
    size_t n = fread(buf, 1, 4095, p);
    buf[n] = '\0';
    int st = pclose(p);
    *status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return buf;
}

START_TEST(test_eval_json_equals_pytorch)
{
    const char *seqlab = getenv("SEQLAB");
    if (!seqlab) {
        fprintf(stderr, "test_eval_cli: $SEQLAB not set, skipping\n");
        return;
    }
    size_t len;
    char *text = file_read_all("tests/fixtures/eval_expected.json", &len);
    ck_assert_ptr_nonnull(text);
    cJSON *expected = cJSON_Parse(text);
    free(text);
    cJSON *models = cJSON_GetObjectItem(expected, "models");
    ck_assert_ptr_nonnull(models);
    int checked = 0;
    for (cJSON *m = models->child; m; m = m->next) {
        const char *ckpt = cJSON_GetObjectItem(m, "checkpoint")->valuestring;
        double want = cJSON_GetObjectItem(m, "loss")->valuedouble;
        long want_tokens = (long)cJSON_GetObjectItem(m, "tokens")->valuedouble;
        char cmd[1024];
        snprintf(cmd, sizeof cmd, "%s eval --checkpoint tests/fixtures/%s --text tests/fixtures/eval_text.txt --json",
                 seqlab, ckpt);
        int st;
        char *out = run(cmd, &st);
        ck_assert_msg(st == 0, "%s: exit %d: %s", ckpt, st, out);
        cJSON *got = cJSON_Parse(out);
        ck_assert_msg(got != NULL, "%s: not JSON: %s", ckpt, out);
        double loss = cJSON_GetObjectItem(got, "loss")->valuedouble;
        double ppl = cJSON_GetObjectItem(got, "perplexity")->valuedouble;
        long tokens = (long)cJSON_GetObjectItem(got, "tokens")->valuedouble;
        ck_assert_msg(fabs(loss - want) <= EVAL_RTOL * fabs(want), "%s: loss %.9g, PyTorch %.9g", ckpt, loss, want);
        ck_assert_msg(fabs(ppl - exp(want)) <= 2 * EVAL_RTOL * exp(want), "%s: perplexity %.9g", ckpt, ppl);
        ck_assert_int_eq(tokens, want_tokens);
        cJSON_Delete(got);
        free(out);
        checked++;
    }
    ck_assert_int_eq(checked, 5);   /* rnn, lstm, gru, transformer sinusoidal and learned */
    cJSON_Delete(expected);
}
END_TEST

START_TEST(test_eval_seq_len_option_changes_windows)
{
    const char *seqlab = getenv("SEQLAB");
    if (!seqlab) return;
    char cmd[1024];
    /* 1831 bytes in windows of 8: floor((1831 - 1) / 8) = 228 windows, 1824 tokens */
    snprintf(cmd, sizeof cmd, "%s eval --checkpoint tests/fixtures/rnn_eval.safetensors "
             "--text tests/fixtures/eval_text.txt --seq-len 8 --json", seqlab);
    int st;
    char *out = run(cmd, &st);
    ck_assert_msg(st == 0, "exit %d: %s", st, out);
    cJSON *got = cJSON_Parse(out);
    ck_assert_ptr_nonnull(got);
    ck_assert_int_eq((long)cJSON_GetObjectItem(got, "tokens")->valuedouble, 1824);
    cJSON_Delete(got);
    free(out);
}
END_TEST

static Suite *make_eval_cli_suite(void)
{
    Suite *s = suite_create("eval_cli");
    TCase *tc = tcase_create("pytorch");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_eval_json_equals_pytorch);
    tcase_add_test(tc, test_eval_seq_len_option_changes_windows);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(make_eval_cli_suite());
}
