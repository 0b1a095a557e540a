/*
 * test_fuzz_corpus.c — every committed fuzz input, replayed through its
 * harness in the ordinary test builds.
 *
 * fuzz/corpus/NAME/ holds the inputs the libFuzzer harnesses start from and
 * every input that once crashed a reader or broke a property (a regression
 * test).  `make fuzz` needs clang; this program runs the same harness code
 * (the harness files of fuzz/ are included below, their entry points renamed) over
 * the same files with the compiler and sanitizers of each build: float,
 * double, ASan + UBSan, and valgrind.  A harness aborts when a property
 * fails, which Check reports as an error of that test.
 *
 * What this file is not: fuzzing.  It generates nothing; see fuzz/README.md.
 */
#define _POSIX_C_SOURCE 200809L
#include <check.h>
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "util.h"

#define LLVMFuzzerTestOneInput fuzz_safetensors_one
#include "../fuzz/fuzz_safetensors.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_config_one
#include "../fuzz/fuzz_config.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_tokenizer_one
#include "../fuzz/fuzz_tokenizer.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_shell_quote_one
#include "../fuzz/fuzz_shell_quote.c"
#undef LLVMFuzzerTestOneInput

/* the corpus directories, relative to the repository root (where the
 * Makefile runs the tests) */
#define CORPUS_ROOT "fuzz/corpus"

typedef int (*Harness)(const uint8_t *data, size_t size);

/* feed every file of CORPUS_ROOT/name to harness; returns how many */
static int replay(const char *name, Harness harness)
{
    char dir[256];
    snprintf(dir, sizeof dir, "%s/%s", CORPUS_ROOT, name);
    DIR *d = opendir(dir);
    ck_assert_msg(d != NULL, "cannot open %s (run the tests from the repository root)", dir);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        char path[512];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        size_t len;
        char *data = file_read_all(path, &len);
        ck_assert_msg(data != NULL, "cannot read %s", path);
        harness((const uint8_t *)data, len);
        free(data);
        n++;
    }
    closedir(d);
    return n;
}

START_TEST(test_safetensors_corpus)
{
    int n = replay("safetensors", fuzz_safetensors_one);
    ck_assert_msg(n >= 10, "only %d safetensors inputs", n);
}
END_TEST

START_TEST(test_config_corpus)
{
    int n = replay("config", fuzz_config_one);
    ck_assert_msg(n >= 10, "only %d config inputs", n);
}
END_TEST

START_TEST(test_tokenizer_corpus)
{
    int n = replay("tokenizer", fuzz_tokenizer_one);
    ck_assert_msg(n >= 10, "only %d tokenizer inputs", n);
}
END_TEST

START_TEST(test_shell_quote_corpus)
{
    int n = replay("shell_quote", fuzz_shell_quote_one);
    ck_assert_msg(n >= 10, "only %d shell_quote inputs", n);
}
END_TEST

static Suite *make_fuzz_corpus_suite(void)
{
    Suite *s = suite_create("fuzz_corpus");
    TCase *tc = tcase_create("replay");
    tcase_set_timeout(tc, 300);   /* valgrind is slow on the bigger corpora */
    tcase_add_test(tc, test_safetensors_corpus);
    tcase_add_test(tc, test_config_corpus);
    tcase_add_test(tc, test_tokenizer_corpus);
    tcase_add_test(tc, test_shell_quote_corpus);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(make_fuzz_corpus_suite());
}
