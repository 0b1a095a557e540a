/*
 * test_runner.c — `seqlab run`: grid expansion, validation before the first
 * run (file and line named), --list / --only, skipping finished runs and
 * resuming interrupted ones.  Drives the seqlab binary named by $SEQLAB.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"
#include "util.h"

static const char *seqlab;
static char tmpdir[256];

/* run a shell command line; its stdout+stderr in *out (malloc'd); exit status */
static int sh(char **out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int sh(char **out, const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    char full[4608];
    snprintf(full, sizeof full, "cd %s && %s 2>&1", tmpdir, cmd);
    FILE *p = popen(full, "r");
    ck_assert_ptr_nonnull(p);
    size_t cap = 4096, n = 0;
    char *buf = xmalloc(cap);
    size_t got;
    while ((got = fread(buf + n, 1, cap - n - 1, p)) > 0) {
        n += got;
        if (n + 1 == cap) buf = xrealloc(buf, cap *= 2);
    }
    buf[n] = '\0';
    int st = pclose(p);
    if (out) *out = buf;
    else free(buf);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void write_file(const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

/* a tiny experiment on a synthetic task: 2 models x 2 distances + 1 group run */
static const char *tiny =
    "[experiment]\n"
    "name = tiny\n"
    "question = Does the runner work?\n"
    "[train]\n"
    "task = recall\n"
    "hidden_size = 8\n"
    "batch_size = 4\n"
    "steps = 6\n"
    "eval_every = 3\n"
    "eval_batches = 1\n"
    "log_every = 3\n"
    "[train.gru]\n"
    "hidden_size = 6\n"
    "[train.lstm.adding]\n"
    "hidden_size = 5\n"
    "[grid.recall]\n"
    "model = rnn, gru\n"
    "distance = 3, 4\n"
    "[grid.adding]\n"
    "task = adding\n"
    "model = lstm\n"
    "distance = 5\n";

static void setup(void)
{
    seqlab = getenv("SEQLAB");
    snprintf(tmpdir, sizeof tmpdir, "/tmp/seqlab-runner-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
    write_file("tiny.ini", tiny);
}

static void teardown(void)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
}

#define NEED_SEQLAB()                                                          \
    do {                                                                       \
        if (!seqlab) {                                                         \
            fprintf(stderr, "test_runner: $SEQLAB not set, skipping\n");       \
            return;                                                            \
        }                                                                      \
    } while (0)

START_TEST(test_list_expands_grid_in_order)
{
    NEED_SEQLAB();
    char *out;
    int st = sh(&out, "%s run tiny.ini --list", seqlab);
    ck_assert_msg(st == 0, "exit %d: %s", st, out);
    /* recall: model x distance, the last axis fastest; then the adding group */
    const char *names[] = {"recall-rnn-distance3", "recall-rnn-distance4", "recall-gru-distance3",
                           "recall-gru-distance4", "adding-lstm"};
    char *line = out;
    for (int i = 0; i < 5; i++) {
        char want[128];
        snprintf(want, sizeof want, "%d\t%s\tseqlab train --config tiny.ini", i, names[i]);
        ck_assert_msg(strncmp(line, want, strlen(want)) == 0, "line %d: '%.*s', want '%s'", i,
                      (int)strcspn(line, "\n"), line, want);
        line = strchr(line, '\n');
        ck_assert_ptr_nonnull(line);
        line++;
    }
    ck_assert_str_eq(line, "");
    /* the per-model section applies: the GRU runs get --hidden-size 6 */
    ck_assert_ptr_nonnull(strstr(out, "recall-gru-distance3\tseqlab train --config tiny.ini --model gru --hidden-size 6"));
    ck_assert_ptr_null(strstr(strstr(out, "recall-rnn-distance3"), "--hidden-size 6\n"));
    /* and [train.lstm.adding] only to the LSTM runs of [grid.adding] */
    ck_assert_msg(strstr(strstr(out, "adding-lstm"), "--hidden-size 5") != NULL, "%s", out);
    free(out);
    /* a [train.MODEL.GROUP] whose group does not exist is an error */
    write_file("badgroup.ini", "[train]\ntask = recall\n[train.rnn.nosuch]\nhidden_size = 4\n"
                               "[grid.recall]\nmodel = rnn\n");
    st = sh(&out, "%s run badgroup.ini --list", seqlab);
    ck_assert_msg(st != 0 && strstr(out, "[train.rnn.nosuch] names no grid group") != NULL, "exit %d: %s", st, out);
    free(out);
}
END_TEST

START_TEST(test_validation_names_file_and_line)
{
    NEED_SEQLAB();
    char *out;
    /* a typo in a grid key: line 4 */
    write_file("typo.ini", "[train]\ntask = recall\n[grid]\nhiden_size = 8, 16\n");
    int st = sh(&out, "%s run typo.ini", seqlab);
    ck_assert_int_ne(st, 0);
    ck_assert_msg(strstr(out, "typo.ini:4") && strstr(out, "hiden_size"), "%s", out);
    free(out);
    /* a bad value among good ones: line 5 */
    write_file("bad.ini", "[train]\ntask = recall\nsteps = 2\n[grid]\ndistance = 3, x7\n");
    st = sh(&out, "%s run bad.ini", seqlab);
    ck_assert_int_ne(st, 0);
    ck_assert_msg(strstr(out, "bad.ini:5") && strstr(out, "x7"), "%s", out);
    free(out);
    /* a combination that only fails once expanded: heads must divide width */
    write_file("heads.ini", "[train]\ntask = recall\nmodel = transformer\nnum_heads = 3\n[grid]\nhidden_size = 6, 8\n");
    st = sh(&out, "%s run heads.ini", seqlab);
    ck_assert_int_ne(st, 0);
    ck_assert_msg(strstr(out, "num_heads") && strstr(out, "hidden_size8"), "%s", out);
    free(out);
    /* nothing was started: no run directory exists */
    struct stat sb;
    char path[512];
    snprintf(path, sizeof path, "%s/runs/heads/hidden_size6", tmpdir);
    ck_assert_int_ne(stat(path, &sb), 0);
    /* an unknown section */
    write_file("sect.ini", "[train]\ntask = recall\n[gird]\nmodel = rnn\n");
    st = sh(&out, "%s run sect.ini", seqlab);
    ck_assert_int_ne(st, 0);
    ck_assert_msg(strstr(out, "sect.ini:4") && strstr(out, "[gird]"), "%s", out);
    free(out);
}
END_TEST

static int count_in(const char *s, const char *needle)
{
    int n = 0;
    for (const char *p = strstr(s, needle); p; p = strstr(p + 1, needle)) n++;
    return n;
}

START_TEST(test_only_skip_resume_and_summary)
{
    NEED_SEQLAB();
    char *out;
    /* --only 1 runs exactly the second run */
    int st = sh(&out, "%s run tiny.ini --only 1", seqlab);
    ck_assert_msg(st == 0, "exit %d: %s", st, out);
    free(out);
    struct stat sb;
    char path[512];
    snprintf(path, sizeof path, "%s/runs/tiny/recall-rnn-distance4/run.json", tmpdir);
    ck_assert_int_eq(stat(path, &sb), 0);
    snprintf(path, sizeof path, "%s/runs/tiny/recall-rnn-distance3", tmpdir);
    ck_assert_int_ne(stat(path, &sb), 0);
    /* SLURM_ARRAY_TASK_ID picks the run when --only is absent */
    st = sh(&out, "SLURM_ARRAY_TASK_ID=0 %s run tiny.ini", seqlab);
    ck_assert_msg(st == 0, "exit %d: %s", st, out);
    free(out);
    snprintf(path, sizeof path, "%s/runs/tiny/recall-rnn-distance3/run.json", tmpdir);
    ck_assert_int_eq(stat(path, &sb), 0);
    /* make recall-gru-distance3 look interrupted after a checkpoint: run it,
     * then mark its run.json as interrupted */
    st = sh(&out, "%s run tiny.ini --only 2 && sed -i 's/\"finished\"/\"interrupted\"/' "
                  "runs/tiny/recall-gru-distance3/run.json", seqlab);
    ck_assert_msg(st == 0, "exit %d: %s", st, out);
    free(out);
    /* the whole experiment: two runs skipped, one resumed, two started */
    st = sh(&out, "%s run tiny.ini --no-plot", seqlab);
    ck_assert_msg(st == 0, "exit %d: %s", st, out);
    ck_assert_msg(strstr(out, "2 skipped"), "%s", out);
    ck_assert_msg(strstr(out, "recall-gru-distance3: resuming"), "%s", out);
    free(out);
    /* summary.csv: header + one row per run */
    st = sh(&out, "cat runs/tiny/summary.csv");
    ck_assert_int_eq(st, 0);
    ck_assert_int_eq(count_in(out, "\n"), 6);
    ck_assert_msg(strncmp(out, "run,model,task,", 15) == 0, "%s", out);
    ck_assert_ptr_nonnull(strstr(out, "\nadding-lstm,lstm,adding,"));
    free(out);
    /* running again does nothing new */
    st = sh(&out, "%s run tiny.ini --no-plot", seqlab);
    ck_assert_int_eq(st, 0);
    ck_assert_msg(strstr(out, "0 runs done, 5 skipped"), "%s", out);
    free(out);
    /* the file changed since the runs finished: stop, naming run and setting */
    st = sh(&out, "sed -i 's/^steps = 6$/steps = 7/' tiny.ini && %s run tiny.ini --no-plot", seqlab);
    ck_assert_int_ne(st, 0);
    ck_assert_msg(strstr(out, "recall-rnn-distance3") && strstr(out, "steps = 6") && strstr(out, "says 7"), "%s",
                  out);
    free(out);
}
END_TEST

static Suite *make_runner_suite(void)
{
    Suite *s = suite_create("runner");
    TCase *tc = tcase_create("cli");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_list_expands_grid_in_order);
    tcase_add_test(tc, test_validation_names_file_and_line);
    tcase_add_test(tc, test_only_skip_resume_and_summary);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(make_runner_suite());
}
