/*
 * test_cli.c — the `seqlab` command on bad input, interrupted, diverging, and
 * on a full disk (the robustness issue).
 *
 * Each test runs the real binary named by $SEQLAB (the Makefile sets it to
 * the seqlab of the build being tested: float, double or sanitizers) in a
 * child process, with stdout and stderr captured in files of a temporary
 * directory, and checks:
 *
 *   - bad input: exit status EXIT_USER_ERROR (not a crash, not a sanitizer
 *     report), a message naming the file, line, key, option or tensor at
 *     fault, and no output directory left behind;
 *   - Ctrl-C: SIGINT (and SIGTERM) mid-run gives exit status 130 and a
 *     checkpoint, `seqlab train --resume DIR` finishes the run, and the
 *     metrics, gradients and weights equal those of an uninterrupted run
 *     with the same seed;
 *   - a run that diverges stops with status 3 naming the step and keeps
 *     the last good checkpoint;
 *   - a full disk (RLIMIT_FSIZE, what `ulimit -f` sets) is reported naming
 *     the file, and leaves no torn checkpoint.
 *
 * What this file is not: the reader's own rules (tests/test_checkpoint.c
 * covers every malformed-file case at the library level); here a few of
 * them go through `seqlab eval` to show the message reaches the user.
 * Without $SEQLAB the program says so and skips.
 */
#define _XOPEN_SOURCE 700   /* nftw, mkdtemp */
#include <check.h>
#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <ftw.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "checkpoint.h"
#include "testutil.h"
#include "util.h"

/* the exit status seqlab gives a user error (util.h's EXIT_USER_ERROR) and
 * the ones train.h promises */
#define STATUS_USER_ERROR EXIT_USER_ERROR
#define STATUS_DIVERGED 3
#define STATUS_INTERRUPTED 130
/* sanitizer reports exit with this instead of 1, so that a memory error can
 * never pass for a user error */
#define SANITIZER_EXIT 99
#define MAX_ARGS 64
/* Check's per-test limit: generous, since the sanitizer build and valgrind
 * (which also traces the seqlab children) are many times slower */
#define TEST_TIMEOUT_S 600
/* the interrupted run: long enough that the signal lands mid-run, short
 * enough for the sanitizer build; under valgrind (`make valgrind` sets
 * SEQLAB_VALGRIND) every step is ~50 times slower, so fewer do */
#define INTERRUPT_STEPS "2000"
#define INTERRUPT_STEPS_VALGRIND "200"
#define INTERRUPT_AFTER_ROWS 5   /* metrics.csv rows (every 10 steps) before the signal */

static const char *seqlab;   /* $SEQLAB */
static char tmp_root[256];   /* the test's temporary directory */
static char corpus[512];     /* a small text corpus in it */
static char good_ckpt[512];  /* a tiny trained rnn checkpoint */

/* ---- running seqlab ------------------------------------------------------- */

typedef struct Outcome {
    int status;   /* exit status, or 128 + signal number */
    char *err;    /* what it wrote to stderr */
    char *out;    /* and to stdout */
} Outcome;

typedef struct SpawnOpts {
    long fsize_limit;   /* > 0: RLIMIT_FSIZE in bytes (a "full disk") */
} SpawnOpts;

static char *path_in(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* tmp_root/<formatted>, malloc'd */
static char *path_in(const char *fmt, ...)
{
    char rel[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rel, sizeof rel, fmt, ap);
    va_end(ap);
    size_t n = strlen(tmp_root) + strlen(rel) + 2;
    char *p = xmalloc(n);
    snprintf(p, n, "%s/%s", tmp_root, rel);
    return p;
}

/* append ":exitcode=SANITIZER_EXIT" to a sanitizer's options in this (child) process */
static void set_sanitizer_exit(const char *var)
{
    const char *old = getenv(var);
    char buf[1024];
    snprintf(buf, sizeof buf, "%s%sexitcode=%d", old ? old : "", old && *old ? ":" : "", SANITIZER_EXIT);
    setenv(var, buf, 1);
}

/* start `seqlab args...` (args NULL-terminated, without the program name)
 * with stdout/stderr redirected to files named after tag; returns the pid */
static pid_t spawn(const char *tag, const SpawnOpts *opts, const char *const *args)
{
    const char *argv[MAX_ARGS + 2];
    int n = 0;
    argv[n++] = seqlab;
    for (; args[n - 1] && n <= MAX_ARGS; n++) argv[n] = args[n - 1];
    argv[n] = NULL;
    char *out = path_in("%s.stdout", tag), *err = path_in("%s.stderr", tag);
    fflush(NULL);
    pid_t pid = fork();
    ck_assert_msg(pid >= 0, "fork: %s", strerror(errno));
    if (pid == 0) {
        int fo = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int fe = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fo < 0 || fe < 0) _exit(126);
        dup2(fo, STDOUT_FILENO);
        dup2(fe, STDERR_FILENO);
        close(fo);
        close(fe);
        set_sanitizer_exit("ASAN_OPTIONS");
        set_sanitizer_exit("UBSAN_OPTIONS");
        if (opts && opts->fsize_limit > 0) {
            /* a write past the limit then fails with EFBIG instead of killing */
            signal(SIGXFSZ, SIG_IGN);
            struct rlimit rl = {(rlim_t)opts->fsize_limit, (rlim_t)opts->fsize_limit};
            if (setrlimit(RLIMIT_FSIZE, &rl) != 0) _exit(126);
        }
        execv(seqlab, (char *const *)argv);
        _exit(127);
    }
    free(out);
    free(err);
    return pid;
}

static int wait_status(pid_t pid)
{
    int ws;
    while (waitpid(pid, &ws, 0) < 0)
        ck_assert_msg(errno == EINTR, "waitpid: %s", strerror(errno));
    return WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
}

static char *read_text(const char *path)
{
    size_t len;
    char *t = file_read_all(path, &len);
    return t ? t : xstrdup("");
}

/* run seqlab to completion: o gets the status and both outputs */
static void run_args(Outcome *o, const char *tag, const SpawnOpts *opts, const char *const *args)
{
    o->status = wait_status(spawn(tag, opts, args));
    char *out = path_in("%s.stdout", tag), *err = path_in("%s.stderr", tag);
    o->out = read_text(out);
    o->err = read_text(err);
    free(out);
    free(err);
}

#define RUN(o, tag, ...) run_args((o), (tag), NULL, (const char *const[]){__VA_ARGS__, NULL})

static void outcome_free(Outcome *o)
{
    free(o->err);
    free(o->out);
}

/* what a crash or a memory error leaves on stderr */
static void assert_no_crash(const Outcome *o)
{
    static const char *const reports[] = {"AddressSanitizer", "LeakSanitizer", "runtime error:",
                                          "Invalid read", "Invalid write", "definitely lost",
                                          "uninitialised value", "Segmentation fault"};
    ck_assert_msg(o->status < 128 && o->status != SANITIZER_EXIT, "seqlab crashed (status %d): %s", o->status,
                  o->err);
    for (size_t i = 0; i < sizeof reports / sizeof reports[0]; i++)
        ck_assert_msg(strstr(o->err, reports[i]) == NULL, "memory error report: %s", o->err);
}

/* the error message: from the first line that starts with "seqlab: " (a
 * run prints progress lines before it) */
static const char *error_message(const Outcome *o)
{
    if (strncmp(o->err, "seqlab: ", 8) == 0) return o->err;
    const char *m = strstr(o->err, "\nseqlab: ");
    ck_assert_msg(m != NULL, "no 'seqlab: ' message on stderr: %s", o->err);
    return m + 1;
}

/* a user error: status 1, a "seqlab: " message containing every needle */
static void assert_user_error(const Outcome *o, const char *const *needles)
{
    assert_no_crash(o);
    ck_assert_msg(o->status == STATUS_USER_ERROR, "expected exit status %d, got %d; stderr: %s",
                  STATUS_USER_ERROR, o->status, o->err);
    const char *msg = error_message(o);
    for (int i = 0; needles[i]; i++)
        ck_assert_msg(strstr(msg, needles[i]) != NULL, "message lacks '%s': %s", needles[i], msg);
}

#define EXPECT_ERROR(o, ...) assert_user_error((o), (const char *const[]){__VA_ARGS__, NULL})

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static void write_file(const char *path, const char *text, size_t len)
{
    FILE *f = fopen(path, "wb");
    ck_assert_msg(f != NULL, "cannot write %s", path);
    ck_assert(fwrite(text, 1, len, f) == len);
    ck_assert(fclose(f) == 0);
}

static void write_text(const char *path, const char *text) { write_file(path, text, strlen(text)); }

/* the tiny settings every bad-input training run gets besides its fault */
#define TINY "--steps", "3", "--hidden-size", "8", "--batch-size", "2", "--seq-len", "8", "--eval-every", "3", \
             "--eval-batches", "1", "--sample-tokens", "0"

/* `seqlab train TINY --corpus CORPUS --out DIR extra...` must fail with the
 * needles in its message and leave no DIR behind */
static void train_fails(const char *tag, const char *corpus_path, const char *const *extra,
                        const char *const *needles)
{
    char *out = path_in("out-%s", tag);
    const char *args[MAX_ARGS] = {"train", TINY, "--corpus", corpus_path, "--out", out};
    int n = 0;
    while (args[n]) n++;
    for (int i = 0; extra && extra[i]; i++) args[n++] = extra[i];
    args[n] = NULL;
    Outcome o;
    run_args(&o, tag, NULL, args);
    assert_user_error(&o, needles);
    ck_assert_msg(!exists(out), "a failed run left its output directory %s", out);
    outcome_free(&o);
    free(out);
}

#define ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})

/* ---- bad corpora ---------------------------------------------------------- */

START_TEST(test_corpus_missing)
{
    char *p = path_in("no-such-corpus.txt");
    train_fails("missing", p, NULL, ARGS(p, "No such file"));
    free(p);
}
END_TEST

START_TEST(test_corpus_empty)
{
    char *p = path_in("empty.txt");
    write_text(p, "");
    train_fails("empty", p, NULL, ARGS(p, "is empty"));
    free(p);
}
END_TEST

START_TEST(test_corpus_unreadable)
{
    /* a directory is never readable as a corpus */
    char *d = path_in("a-directory");
    ck_assert(mkdir(d, 0755) == 0);
    train_fails("dir", d, NULL, ARGS(d, "directory"));
    /* a file without read permission (root reads it anyway: skipped then) */
    char *p = path_in("unreadable.txt");
    write_text(p, "some text that nobody may read\n");
    ck_assert(chmod(p, 0) == 0);
    if (access(p, R_OK) != 0) train_fails("unreadable", p, NULL, ARGS(p, "Permission denied"));
    else fprintf(stderr, "test_cli: running as root, the unreadable-file case is skipped\n");
    free(p);
    free(d);
}
END_TEST

START_TEST(test_corpus_binary)
{
    char *p = path_in("binary.bin");
    char bytes[300];
    for (int i = 0; i < 300; i++) bytes[i] = (char)((i * 37 + 11) % 256);   /* holds NUL bytes */
    write_file(p, bytes, sizeof bytes);
    train_fails("binary", p, NULL, ARGS(p, "binary"));
    train_fails("binary-bytes", p, ARGS("--task", "bytes"), ARGS(p, "binary"));
    free(p);
}
END_TEST

START_TEST(test_corpus_shorter_than_a_window)
{
    char *p = path_in("short.txt");
    write_text(p, "In the beginning\n");
    /* 17 characters: a 90% split of 15 cannot hold a window of 16 + 1 */
    train_fails("short", p, ARGS("--seq-len", "16"), ARGS(p, "too short", "seq_len 16"));
    free(p);
}
END_TEST

START_TEST(test_corpus_invalid_utf8)
{
    char *p = path_in("latin1.txt");
    /* "caf\xe9" is Latin-1, not UTF-8: offset 3 */
    write_text(p, "caf\xe9 au lait, and some more text to make it long enough for a window.\n");
    train_fails("utf8-chars", p, NULL, ARGS(p, "chars tokenizer", "invalid UTF-8 at byte offset 3"));
    train_fails("utf8-words", p, ARGS("--task", "words"), ARGS(p, "words tokenizer", "invalid UTF-8 at byte offset 3"));
    free(p);
}
END_TEST

/* ---- bad options and sizes ------------------------------------------------- */

START_TEST(test_unknown_model_task_option)
{
    train_fails("model", corpus, ARGS("--model", "cnn"), ARGS("--model", "'cnn'", "rnn lstm gru transformer"));
    train_fails("task", corpus, ARGS("--task", "poetry"), ARGS("--task", "'poetry'"));
    train_fails("option", corpus, ARGS("--hiden-size", "8"), ARGS("unknown option '--hiden-size'"));
    train_fails("noval", corpus, ARGS("--lr"), ARGS("--lr", "needs a value"));
    Outcome o;
    RUN(&o, "cmd", "fly");
    EXPECT_ERROR(&o, "unknown command 'fly'");
    outcome_free(&o);
    RUN(&o, "evalopt", "eval", "--checkpoint", good_ckpt, "--text", corpus, "--jsn");
    EXPECT_ERROR(&o, "'--jsn'");
    outcome_free(&o);
}
END_TEST

START_TEST(test_bad_sizes)
{
    train_fails("neg", corpus, ARGS("--steps", "-5"), ARGS("--steps", "-5", "out of range"));
    train_fails("zero", corpus, ARGS("--steps", "0"), ARGS("--steps", "0", "out of range"));
    train_fails("absurd", corpus, ARGS("--steps", "1e12"), ARGS("--steps", "1e12", "out of range"));
    train_fails("frac", corpus, ARGS("--batch-size", "2.5"), ARGS("--batch-size", "whole number"));
    train_fails("nan", corpus, ARGS("--lr", "nan"), ARGS("--lr", "not a number"));
    train_fails("h0", corpus, ARGS("--hidden-size", "0"), ARGS("--hidden-size", "out of range"));
    train_fails("b0", corpus, ARGS("--batch-size", "0"), ARGS("--batch-size", "out of range"));
    train_fails("t0", corpus, ARGS("--seq-len", "-1"), ARGS("--seq-len", "out of range"));
}
END_TEST

START_TEST(test_sizes_that_cannot_be_allocated)
{
    /* parameters: reported with the memory they would need */
    train_fails("params", corpus, ARGS("--hidden-size", "1000000", "--num-layers", "1000"),
                ARGS("GiB for its parameters", "hidden_size"));
    /* activations of a synthetic task (no corpus length limit) */
    train_fails("acts", corpus, ARGS("--task", "parity", "--seq-len", "1000000", "--batch-size", "100000"),
                ARGS("GiB for activations", "batch_size 100000", "seq_len 1000000"));
    /* attention's T^2 */
    train_fails("attn", corpus,
                ARGS("--model", "transformer", "--task", "parity", "--seq-len", "200000", "--batch-size", "64"),
                ARGS("GiB for activations", "seq_len 200000"));
}
END_TEST

START_TEST(test_heads_must_divide_width)
{
    train_fails("heads", corpus, ARGS("--model", "transformer", "--num-heads", "3"),
                ARGS("num_heads (3) must divide hidden_size (8)"));
}
END_TEST

START_TEST(test_contradicting_options_refused)
{
    /* the chars task fixes the tokenizer: bytes beside it is refused, naming both */
    train_fails("contra", corpus, ARGS("--task", "chars", "--tokenizer", "bytes"),
                ARGS("task = chars", "tokenizer = bytes", "contradict"));
}
END_TEST

START_TEST(test_setting_that_does_not_apply_is_reported)
{
    /* a warning on stderr, and the run goes on */
    char *dir = path_in("unused-run");
    Outcome o;
    RUN(&o, "unused", "train", TINY, "--model", "lstm", "--num-heads", "8", "--corpus", corpus, "--out", dir);
    ck_assert_msg(o.status == 0, "an lstm with --num-heads failed: %s", o.err);
    ck_assert_msg(strstr(o.err, "warning: num_heads = 8 does not apply to the lstm"), "stderr: %s", o.err);
    outcome_free(&o);
    free(dir);
}
END_TEST

START_TEST(test_seq_len_above_position_table)
{
    /* training: learned positions with a table shorter than the windows */
    train_fails("pos", corpus, ARGS("--model", "transformer", "--positions", "learned", "--max-seq-len", "4"),
                ARGS("seq_len 8", "max_seq_len 4"));
    /* evaluation: a checkpoint with an 8-row table asked for windows of 9 */
    char *dir = path_in("learned-run");
    Outcome o;
    RUN(&o, "learned-train", "train", TINY, "--model", "transformer", "--num-heads", "2", "--positions", "learned",
        "--corpus", corpus, "--out", dir);
    ck_assert_msg(o.status == 0, "training the learned-position model failed: %s", o.err);
    outcome_free(&o);
    char *ckpt = path_in("learned-run/model.safetensors");
    RUN(&o, "learned-eval", "eval", "--checkpoint", ckpt, "--text", corpus, "--seq-len", "9");
    EXPECT_ERROR(&o, "--seq-len 9", "max_seq_len 8");
    outcome_free(&o);
    RUN(&o, "learned-eval-ok", "eval", "--checkpoint", ckpt, "--text", corpus, "--seq-len", "8", "--json");
    ck_assert_msg(o.status == 0 && strstr(o.out, "\"loss\"") != NULL, "eval at the table's length: %s", o.err);
    outcome_free(&o);
    free(ckpt);
    free(dir);
}
END_TEST

/* ---- config files ------------------------------------------------------------ */

/* `seqlab train --config FILE` with FILE holding text (len bytes) must fail
 * naming the file and needles */
static void config_fails_len(const char *tag, const char *text, size_t len, const char *const *needles)
{
    char *ini = path_in("%s.ini", tag);
    write_file(ini, text, len);
    char *out = path_in("out-%s", tag);
    Outcome o;
    RUN(&o, tag, "train", "--config", ini, "--corpus", corpus, "--out", out);
    assert_user_error(&o, needles);
    ck_assert_msg(strstr(o.err, ini) != NULL, "message does not name the file %s: %s", ini, o.err);
    ck_assert(!exists(out));
    outcome_free(&o);
    free(out);
    free(ini);
}

static void config_fails(const char *tag, const char *text, const char *const *needles)
{
    config_fails_len(tag, text, strlen(text), needles);
}

START_TEST(test_config_errors)
{
    config_fails("cfg-key", "[train]\nsteps = 3\nhiden_size = 8\n", ARGS(".ini:3:", "unknown setting 'hiden_size'"));
    config_fails("cfg-value", "[train]\n\nhidden_size = eight\n", ARGS(".ini:3:", "hidden_size", "'eight'"));
    config_fails("cfg-range", "[train]\nlr = 1000\n", ARGS(".ini:2:", "lr", "out of range"));
    config_fails("cfg-dup", "[train]\nsteps = 3\n; again\nsteps = 4\n", ARGS(".ini:4:", "duplicate key 'steps'"));
    config_fails("cfg-section", "[train]\nsteps = 3\n[trian]\nseed = 2\n", ARGS(".ini:4:", "unknown section [trian]"));
    config_fails("cfg-empty-section", "[train]\nsteps = 3\n[bogus]\n", ARGS(".ini:3:", "unknown section [bogus]"));
    config_fails("cfg-syntax", "[train]\nsteps 3\n", ARGS(".ini:2:", "syntax error"));
    config_fails_len("cfg-nul", "[train]\nsteps = 3\0\n", 19, ARGS(".ini:2:", "NUL"));
    char long_line[400];
    snprintf(long_line, sizeof long_line, "[train]\nsteps = 3\nprompt = %0250d\n", 7);
    config_fails("cfg-long", long_line, ARGS(".ini:3:", "longer than"));
    /* a missing file */
    char *none = path_in("no-such.ini");
    Outcome o;
    RUN(&o, "cfg-missing", "train", "--config", none);
    EXPECT_ERROR(&o, none, "No such file");
    outcome_free(&o);
    free(none);
    /* --resume of a directory that holds no run */
    char *empty = path_in("not-a-run");
    ck_assert(mkdir(empty, 0755) == 0);
    RUN(&o, "resume-none", "train", "--resume", empty);
    EXPECT_ERROR(&o, empty, "config.ini");
    outcome_free(&o);
    free(empty);
}
END_TEST

START_TEST(test_experiment_file_errors)
{
    char *ini = path_in("exp-bad.ini");
    write_text(ini, "[experiment]\nname = x\n[train]\nsteps = 2\n[grid]\nmodel = rnn, cnn\n");
    Outcome o;
    RUN(&o, "exp-bad", "run", ini, "--list");
    EXPECT_ERROR(&o, ini, ":6:", "'cnn'");
    outcome_free(&o);
    free(ini);
}
END_TEST

/* ---- checkpoints ------------------------------------------------------------- */

/* a safetensors file as its header (parsed) and its data section */
typedef struct StFile {
    cJSON *header;
    unsigned char *data;
    size_t data_len;
} StFile;

static void st_load(StFile *f, const char *path)
{
    size_t len;
    unsigned char *all = (unsigned char *)file_read_all(path, &len);
    ck_assert_msg(all != NULL && len >= 8, "cannot read %s", path);
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--) n = n << 8 | all[i];
    ck_assert(8 + n <= len);
    f->header = cJSON_ParseWithLength((const char *)all + 8, (size_t)n);
    ck_assert(f->header != NULL);
    f->data_len = len - 8 - (size_t)n;
    f->data = xmalloc(f->data_len + 64);
    memcpy(f->data, all + 8 + n, f->data_len);
    free(all);
}

/* write header (unformatted JSON) and data as a safetensors file */
static void st_save(const StFile *f, const char *path)
{
    char *json = cJSON_PrintUnformatted(f->header);
    size_t n = strlen(json);
    FILE *out = fopen(path, "wb");
    ck_assert(out != NULL);
    for (int i = 0; i < 8; i++) fputc((int)((uint64_t)n >> (8 * i) & 0xff), out);
    fwrite(json, 1, n, out);
    fwrite(f->data, 1, f->data_len, out);
    ck_assert(fclose(out) == 0);
    free(json);
}

static void st_free(StFile *f)
{
    cJSON_Delete(f->header);
    free(f->data);
}

static void set_offsets(cJSON *tensor, double begin, double end)
{
    cJSON *offs = cJSON_GetObjectItem(tensor, "data_offsets");
    cJSON_SetNumberValue(cJSON_GetArrayItem(offs, 0), begin);
    cJSON_SetNumberValue(cJSON_GetArrayItem(offs, 1), end);
}

static double offset_of(cJSON *tensor, int which)
{
    return cJSON_GetArrayItem(cJSON_GetObjectItem(tensor, "data_offsets"), which)->valuedouble;
}

/* `seqlab eval --checkpoint path` must fail naming the file and needles */
static void eval_fails(const char *tag, const char *path, const char *const *needles)
{
    Outcome o;
    RUN(&o, tag, "eval", "--checkpoint", path, "--text", corpus);
    assert_user_error(&o, needles);
    ck_assert_msg(strstr(o.err, path) != NULL, "message does not name %s: %s", path, o.err);
    outcome_free(&o);
}

START_TEST(test_checkpoint_errors)
{
    size_t len;
    char *good = file_read_all(good_ckpt, &len);
    ck_assert(good != NULL);

    char *p = path_in("truncated.safetensors");
    write_file(p, good, len - 10);
    eval_fails("ck-trunc", p, ARGS("head.bias", "past the end"));
    free(p);
    p = path_in("short.safetensors");
    write_file(p, good, 5);
    eval_fails("ck-short", p, ARGS("truncated"));
    free(p);

    p = path_in("header-past-end.safetensors");
    char *bad = xmalloc(len);
    memcpy(bad, good, len);
    uint64_t hl = (uint64_t)len + 100;
    for (int i = 0; i < 8; i++) bad[i] = (char)(hl >> (8 * i) & 0xff);
    write_file(p, bad, len);
    eval_fails("ck-hlen", p, ARGS("header length", "past the end"));
    free(p);

    p = path_in("json.safetensors");
    memcpy(bad, good, len);
    bad[8 + 1] = '#';   /* the first key's opening quote */
    write_file(p, bad, len);
    eval_fails("ck-json", p, ARGS("JSON"));
    free(p);
    free(bad);
    free(good);

    StFile f;
    p = path_in("dtype.safetensors");
    st_load(&f, good_ckpt);
    cJSON_ReplaceItemInObject(cJSON_GetObjectItem(f.header, "head.weight"), "dtype", cJSON_CreateString("F16"));
    st_save(&f, p);
    st_free(&f);
    eval_fails("ck-dtype", p, ARGS("head.weight", "F16"));
    free(p);

    /* head.bias is the last tensor: drop it and its bytes */
    p = path_in("missing.safetensors");
    st_load(&f, good_ckpt);
    cJSON *hb = cJSON_GetObjectItem(f.header, "head.bias");
    f.data_len = (size_t)offset_of(hb, 0);
    cJSON_DeleteItemFromObject(f.header, "head.bias");
    st_save(&f, p);
    st_free(&f);
    eval_fails("ck-missing", p, ARGS("tensor 'head.bias' is missing"));
    free(p);

    p = path_in("extra.safetensors");
    st_load(&f, good_ckpt);
    cJSON *extra = cJSON_CreateObject();
    cJSON_AddStringToObject(extra, "dtype", "F32");
    cJSON *shape = cJSON_AddArrayToObject(extra, "shape");
    cJSON_AddItemToArray(shape, cJSON_CreateNumber(1));
    cJSON_AddItemToArray(cJSON_AddArrayToObject(extra, "data_offsets"), cJSON_CreateNumber((double)f.data_len));
    cJSON_AddItemToArray(cJSON_GetObjectItem(extra, "data_offsets"), cJSON_CreateNumber((double)f.data_len + 4));
    cJSON_AddItemToObject(f.header, "extra.bias", extra);
    memset(f.data + f.data_len, 0, 4);
    f.data_len += 4;
    st_save(&f, p);
    st_free(&f);
    eval_fails("ck-extra", p, ARGS("unexpected tensor 'extra.bias'"));
    free(p);

    /* head.weight [V, H] stored as [H, V]: the same bytes, the wrong shape */
    p = path_in("shape.safetensors");
    st_load(&f, good_ckpt);
    cJSON *hw = cJSON_GetObjectItem(f.header, "head.weight");
    cJSON *hs = cJSON_GetObjectItem(hw, "shape");
    double rows = cJSON_GetArrayItem(hs, 0)->valuedouble, cols = cJSON_GetArrayItem(hs, 1)->valuedouble;
    ck_assert(rows != cols);
    cJSON_SetNumberValue(cJSON_GetArrayItem(hs, 0), cols);
    cJSON_SetNumberValue(cJSON_GetArrayItem(hs, 1), rows);
    st_save(&f, p);
    st_free(&f);
    eval_fails("ck-shape", p, ARGS("tensor 'head.weight' has shape"));
    free(p);

    /* head.bias moved 4 bytes back: it overlaps head.weight */
    p = path_in("overlap.safetensors");
    st_load(&f, good_ckpt);
    hb = cJSON_GetObjectItem(f.header, "head.bias");
    set_offsets(hb, offset_of(hb, 0) - 4, offset_of(hb, 1) - 4);
    st_save(&f, p);
    st_free(&f);
    eval_fails("ck-overlap", p, ARGS("head.bias", "overlap"));
    free(p);

    /* head.bias one value longer than the file */
    p = path_in("past-end.safetensors");
    st_load(&f, good_ckpt);
    hb = cJSON_GetObjectItem(f.header, "head.bias");
    cJSON *bs = cJSON_GetArrayItem(cJSON_GetObjectItem(hb, "shape"), 0);
    cJSON_SetNumberValue(bs, bs->valuedouble + 1);
    set_offsets(hb, offset_of(hb, 0), offset_of(hb, 1) + 4);
    st_save(&f, p);
    st_free(&f);
    eval_fails("ck-past", p, ARGS("head.bias", "past the end"));
    free(p);

    /* metadata describing a model far bigger than the file: refused before
     * anything is allocated */
    p = path_in("huge-metadata.safetensors");
    st_load(&f, good_ckpt);
    cJSON *meta = cJSON_GetObjectItem(f.header, "__metadata__");
    cJSON_ReplaceItemInObject(meta, "hidden_size", cJSON_CreateString("300"));
    cJSON_ReplaceItemInObject(meta, "num_layers", cJSON_CreateString("300"));
    st_save(&f, p);
    st_free(&f);
    eval_fails("ck-huge", p, ARGS("at least", "parameters", "only"));
    free(p);

    /* no such file, and a text file for a checkpoint */
    p = path_in("no-such.safetensors");
    eval_fails("ck-none", p, ARGS("No such file"));
    free(p);
    eval_fails("ck-text", corpus, ARGS("header length"));
}
END_TEST

/* a sinusoidal Transformer may claim any context length: sampling a few
 * tokens must not size its key/value cache by the claim */
START_TEST(test_sample_with_huge_context_metadata)
{
    char *dir = path_in("sinusoidal-run");
    Outcome o;
    RUN(&o, "sin-train", "train", TINY, "--model", "transformer", "--num-heads", "2", "--corpus", corpus, "--out",
        dir);
    ck_assert_msg(o.status == 0, "training the sinusoidal model failed: %s", o.err);
    outcome_free(&o);
    char *ckpt = path_in("sinusoidal-run/model.safetensors"), *huge = path_in("huge-context.safetensors");
    StFile f;
    st_load(&f, ckpt);
    cJSON_ReplaceItemInObject(cJSON_GetObjectItem(f.header, "__metadata__"), "max_seq_len",
                              cJSON_CreateString("2000000000"));
    st_save(&f, huge);
    st_free(&f);
    RUN(&o, "sin-sample", "sample", "--checkpoint", huge, "--prompt", "And", "--tokens", "5");
    assert_no_crash(&o);
    ck_assert_msg(o.status == 0 && strncmp(o.out, "And", 3) == 0, "sample: status %d: %s", o.status, o.err);
    outcome_free(&o);
    free(huge);
    free(ckpt);
    free(dir);
}
END_TEST

START_TEST(test_eval_bad_text)
{
    char *p = path_in("eval-latin1.txt");
    write_text(p, "caf\xe9 au lait, and more text after it to fill a window or two of it.\n");
    Outcome o;
    RUN(&o, "eval-utf8", "eval", "--checkpoint", good_ckpt, "--text", p);
    EXPECT_ERROR(&o, p, "invalid UTF-8 at byte offset 3");
    outcome_free(&o);
    free(p);
    p = path_in("eval-short.txt");
    write_text(p, "And");
    RUN(&o, "eval-short", "eval", "--checkpoint", good_ckpt, "--text", p);
    EXPECT_ERROR(&o, p, "shorter than one window");
    outcome_free(&o);
    free(p);
}
END_TEST

/* ---- output directory ------------------------------------------ */

START_TEST(test_output_directory_not_writable)
{
    /* a path under a regular file can never be created, even by root */
    char *file = path_in("plain-file");
    write_text(file, "x\n");
    char *out = path_in("plain-file/run");
    Outcome o;
    RUN(&o, "out-file", "train", TINY, "--corpus", corpus, "--out", out);
    EXPECT_ERROR(&o, out, "cannot create output directory");
    outcome_free(&o);
    free(out);
    free(file);
    /* a read-only directory (root writes it anyway: skipped then) */
    char *ro = path_in("read-only");
    ck_assert(mkdir(ro, 0555) == 0);
    char *probe = path_in("read-only/probe");
    if (mkdir(probe, 0755) != 0) {
        out = path_in("read-only/run");
        RUN(&o, "out-ro", "train", TINY, "--corpus", corpus, "--out", out);
        EXPECT_ERROR(&o, out, "Permission denied");
        outcome_free(&o);
        free(out);
    } else {
        fprintf(stderr, "test_cli: running as root, the read-only directory case is skipped\n");
    }
    free(probe);
    free(ro);
}
END_TEST


/* ---- interrupt and resume ------------------------------------------------------ */

/* metrics.csv without its timing columns (seconds, tokens_per_s): the
 * columns that must be reproduced exactly */
static char *metrics_numbers(const char *dir)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/metrics.csv", dir);
    char *text = read_text(path);
    size_t n = strlen(text);
    char *out = xmalloc(n + 1), *o = out;
    int col = 0;
    for (const char *p = text; *p; p++) {
        if (*p == '\n') {
            *o++ = '\n';
            col = 0;
            continue;
        }
        if (*p == ',') col++;
        /* step,seconds,tokens,train_loss,val_loss,val_accuracy,grad_norm,lr,tokens_per_s */
        if (col != 1 && col != 8) *o++ = *p;
    }
    *o = '\0';
    free(text);
    return out;
}

static long count_lines(const char *path)
{
    char *t = read_text(path);
    long n = 0;
    for (char *p = t; *p; p++) n += *p == '\n';
    free(t);
    return n;
}

/* the settings of the run that is interrupted, as arguments */
#define INTERRUPT_RUN "--steps", interrupt_steps(), "--hidden-size", "16", "--batch-size", "4", "--seq-len", "16", \
                      "--eval-every", "100", "--log-every", "10", "--save-every", "50", "--eval-batches", "2", \
                      "--sample-tokens", "40", "--seed", "7", "--corpus", corpus

static const char *interrupt_steps(void)
{
    const char *vg = getenv("SEQLAB_VALGRIND");
    return vg && *vg ? INTERRUPT_STEPS_VALGRIND : INTERRUPT_STEPS;
}

/* the same training, uninterrupted, once per test program */
static const char *reference_run(void)
{
    static char *dir;
    if (dir) return dir;
    dir = path_in("uninterrupted");
    if (!exists(dir)) {
        Outcome o;
        RUN(&o, "uninterrupted", "train", INTERRUPT_RUN, "--out", dir);
        ck_assert_msg(o.status == 0, "the uninterrupted run failed: %s", o.err);
        outcome_free(&o);
    }
    return dir;
}

/* every tensor of two checkpoints is bit-identical */
static void assert_same_weights(const char *a, const char *b)
{
    char err[1024];
    SafeTensors *x = safetensors_read(a, err, sizeof err), *y = safetensors_read(b, err, sizeof err);
    ck_assert_msg(x && y, "%s", err);
    ck_assert_int_eq(x->count, y->count);
    for (int i = 0; i < x->count; i++) {
        const SafeTensor *t = safetensors_find(y, x->tensors[i].name);
        ck_assert_msg(t && t->size == x->tensors[i].size, "tensor %s", x->tensors[i].name);
        ck_assert_msg(memcmp(t->data, x->tensors[i].data, t->size * sizeof(real)) == 0,
                      "tensor %s differs after resuming", t->name);
    }
    ck_assert_str_eq(meta_get(&x->meta, "step"), meta_get(&y->meta, "step"));
    safetensors_free(x);
    safetensors_free(y);
}

static void assert_same_file(const char *dir_a, const char *dir_b, const char *name)
{
    char pa[1024], pb[1024];
    snprintf(pa, sizeof pa, "%s/%s", dir_a, name);
    snprintf(pb, sizeof pb, "%s/%s", dir_b, name);
    char *a = read_text(pa), *b = read_text(pb);
    ck_assert_msg(*a && strcmp(a, b) == 0, "%s differs between the uninterrupted and the resumed run", name);
    free(a);
    free(b);
}

/* start the run, send sig once metrics.csv has some rows, resume, compare */
static void interrupt_and_resume(const char *tag, int sig)
{
    const char *ref = reference_run();
    char *dir = path_in("%s", tag);
    char *metrics = path_in("%s/metrics.csv", tag);
    pid_t pid = spawn(tag, NULL, ARGS("train", INTERRUPT_RUN, "--out", dir));
    struct timespec nap = {0, 1000000};
    while (count_lines(metrics) < 1 + INTERRUPT_AFTER_ROWS) {
        int ws;
        ck_assert_msg(waitpid(pid, &ws, WNOHANG) == 0, "the run ended before it could be interrupted");
        nanosleep(&nap, NULL);
    }
    ck_assert(kill(pid, sig) == 0);
    int status = wait_status(pid);
    char *errpath = path_in("%s.stderr", tag);
    char *err = read_text(errpath);
    ck_assert_msg(status == STATUS_INTERRUPTED, "status %d after signal %d: %s", status, sig, err);
    ck_assert_msg(strstr(err, "--resume") != NULL, "the message does not say how to resume: %s", err);
    free(err);
    free(errpath);

    /* the checkpoint of the step it stopped at, short of the end */
    char *ckpt = path_in("%s/model.safetensors", tag);
    char e[1024];
    SafeTensors *st = safetensors_read(ckpt, e, sizeof e);
    ck_assert_msg(st != NULL, "no checkpoint after the interrupt: %s", e);
    long stopped = atol(meta_get(&st->meta, "step"));
    safetensors_free(st);
    ck_assert_msg(stopped > 0 && stopped < atol(interrupt_steps()), "stopped at step %ld", stopped);

    Outcome o;
    RUN(&o, "resume", "train", "--resume", dir);
    ck_assert_msg(o.status == 0, "resume failed (%d): %s", o.status, o.err);
    outcome_free(&o);

    char *a = metrics_numbers(ref), *b = metrics_numbers(dir);
    ck_assert_msg(strcmp(a, b) == 0, "metrics.csv after resuming from step %ld differs:\n%s\n--- vs ---\n%s",
                  stopped, a, b);
    free(a);
    free(b);
    assert_same_file(ref, dir, "gradients.csv");
    assert_same_file(ref, dir, "position_loss.csv");
    assert_same_file(ref, dir, "samples.txt");
    char *ref_ckpt = path_in("uninterrupted/model.safetensors");
    assert_same_weights(ref_ckpt, ckpt);
    free(ref_ckpt);
    free(ckpt);
    free(metrics);
    free(dir);
}

START_TEST(test_sigint_then_resume_equals_uninterrupted)
{
    interrupt_and_resume("sigint", SIGINT);
}
END_TEST

START_TEST(test_sigterm_then_resume_equals_uninterrupted)
{
    interrupt_and_resume("sigterm", SIGTERM);
}
END_TEST

/* `seqlab run` interrupted: its child finishes the step and checkpoints, and
 * running the experiment again resumes it to the same numbers */
START_TEST(test_experiment_runner_interrupt_then_resume)
{
    const char *ref = reference_run();
    char *ini = path_in("intr.ini"), *runs = path_in("runs"), *dir = path_in("runs/intr/rnn");
    char *metrics = path_in("runs/intr/rnn/metrics.csv");
    char text[2048];
    snprintf(text, sizeof text,
             "[experiment]\nname = intr\n[train]\nsteps = %s\nhidden_size = 16\nbatch_size = 4\nseq_len = 16\n"
             "eval_every = 100\nlog_every = 10\nsave_every = 50\neval_batches = 2\nsample_tokens = 40\nseed = 7\n"
             "corpus = %s\n",
             interrupt_steps(), corpus);
    write_text(ini, text);
    pid_t pid = spawn("intr", NULL, ARGS("run", ini, "--runs", runs, "--no-plot"));
    struct timespec nap = {0, 1000000};
    while (count_lines(metrics) < 1 + INTERRUPT_AFTER_ROWS) {
        int ws;
        ck_assert_msg(waitpid(pid, &ws, WNOHANG) == 0, "the experiment ended before it could be interrupted");
        nanosleep(&nap, NULL);
    }
    ck_assert(kill(pid, SIGINT) == 0);
    int status = wait_status(pid);
    ck_assert_msg(status == STATUS_INTERRUPTED, "seqlab run: status %d after SIGINT", status);
    char *json = path_in("runs/intr/rnn/run.json");
    char *j = read_text(json);
    ck_assert_msg(strstr(j, "\"interrupted\"") != NULL, "run.json after the interrupt: %s", j);
    free(j);

    Outcome o;
    RUN(&o, "intr-again", "run", ini, "--runs", runs, "--no-plot");
    ck_assert_msg(o.status == 0, "seqlab run again: status %d: %s", o.status, o.err);
    ck_assert_msg(strstr(o.err, "resuming") != NULL, "the second run did not resume: %s", o.err);
    outcome_free(&o);
    char *a = metrics_numbers(ref), *b = metrics_numbers(dir);
    ck_assert_msg(strcmp(a, b) == 0, "the resumed experiment's metrics differ:\n%s\n--- vs ---\n%s", a, b);
    free(a);
    free(b);
    assert_same_file(ref, dir, "samples.txt");
    char *ra = path_in("uninterrupted/model.safetensors"), *rb = path_in("runs/intr/rnn/model.safetensors");
    assert_same_weights(ra, rb);
    free(ra);
    free(rb);
    free(json);
    free(metrics);
    free(dir);
    free(runs);
    free(ini);
}
END_TEST

/* ---- a full disk -------------------------------------------------------------- */

static long file_size(const char *path)
{
    struct stat st;
    ck_assert_msg(stat(path, &st) == 0, "no %s", path);
    return (long)st.st_size;
}

/* the settings of the full-disk runs */
#define FULL_RUN "--hidden-size", "32", "--batch-size", "2", "--seq-len", "8", "--eval-every", "100", \
                 "--eval-batches", "1", "--sample-tokens", "0", "--seed", "3", "--corpus", corpus

START_TEST(test_full_disk_while_checkpointing)
{
    /* the sizes of this model's checkpoint files, from a run without limit */
    char *sized = path_in("full-sizes");
    Outcome o;
    RUN(&o, "full-sizes", "train", FULL_RUN, "--steps", "2", "--out", sized);
    ck_assert_msg(o.status == 0, "%s", o.err);
    outcome_free(&o);
    char *p = path_in("full-sizes/model.safetensors");
    long model_size = file_size(p);
    free(p);
    p = path_in("full-sizes/train_state.bin");
    long state_size = file_size(p);
    free(p);
    free(sized);

    /* files may not grow past a size between the two: the model file can be
     * written, the state cannot.  The error names the file, and no model
     * file is left without the state that belongs to it. */
    ck_assert_msg(model_size < state_size, "model %ld bytes, state %ld", model_size, state_size);
    SpawnOpts lim = {(model_size + state_size) / 2};
    char *out = path_in("full");
    run_args(&o, "full", &lim, ARGS("train", FULL_RUN, "--steps", "20", "--save-every", "5", "--out", out));
    EXPECT_ERROR(&o, out, "train_state.bin", "File too large");
    outcome_free(&o);
    static const char *const left[] = {"model.safetensors", "train_state.bin", "model.safetensors.pending",
                                       "train_state.bin.pending"};
    for (size_t i = 0; i < sizeof left / sizeof left[0]; i++) {
        char *f = path_in("full/%s", left[i]);
        ck_assert_msg(!exists(f), "a failed checkpoint left %s behind", left[i]);
        free(f);
    }
    /* nor the temporary file of a write that failed (NAME.tmp.XXXXXX) */
    DIR *d = opendir(out);
    ck_assert_ptr_nonnull(d);
    for (struct dirent *de; (de = readdir(d)) != NULL;)
        ck_assert_msg(strstr(de->d_name, ".tmp.") == NULL, "a failed write left %s behind", de->d_name);
    closedir(d);
    free(out);

    /* a limit so small that the run's first files overflow: reported too */
    SpawnOpts tiny = {600};
    char *out2 = path_in("full-tiny");
    run_args(&o, "full-tiny", &tiny, ARGS("train", FULL_RUN, "--steps", "20", "--out", out2));
    EXPECT_ERROR(&o, out2, "File too large");
    outcome_free(&o);
    free(out2);
}
END_TEST

START_TEST(test_full_disk_in_the_logs_then_resume)
{
    /* the uninterrupted run */
    char *ref = path_in("full-ref");
    Outcome o;
    RUN(&o, "full-ref", "train", FULL_RUN, "--hidden-size", "8", "--steps", "600", "--log-every", "1",
        "--save-every", "50", "--out", ref);
    ck_assert_msg(o.status == 0, "%s", o.err);
    outcome_free(&o);
    char *p = path_in("full-ref/train_state.bin");
    long state_size = file_size(p);
    free(p);
    p = path_in("full-ref/metrics.csv");
    long metrics_size = file_size(p);
    free(p);

    /* the same run on a "disk" where files stop growing halfway through
     * metrics.csv (the checkpoints still fit): reported, naming the file */
    long limit = state_size > metrics_size / 2 ? state_size + 1024 : metrics_size / 2;
    ck_assert_msg(limit < metrics_size, "state %ld, metrics %ld bytes: the limit would not be reached",
                  state_size, metrics_size);
    SpawnOpts lim = {limit};
    char *dir = path_in("full-logs");
    run_args(&o, "full-logs", &lim,
             ARGS("train", FULL_RUN, "--hidden-size", "8", "--steps", "600", "--log-every", "1", "--save-every",
                  "50", "--out", dir));
    EXPECT_ERROR(&o, dir, "metrics.csv", "File too large");
    outcome_free(&o);

    /* space again: --resume continues from the last checkpoint to the same numbers */
    RUN(&o, "full-resume", "train", "--resume", dir);
    ck_assert_msg(o.status == 0, "resume after the full disk: %d: %s", o.status, o.err);
    outcome_free(&o);
    char *a = metrics_numbers(ref), *b = metrics_numbers(dir);
    ck_assert_msg(strcmp(a, b) == 0, "metrics after a full disk and --resume differ");
    free(a);
    free(b);
    assert_same_file(ref, dir, "gradients.csv");
    char *ca = path_in("full-ref/model.safetensors"), *cb = path_in("full-logs/model.safetensors");
    assert_same_weights(ca, cb);
    free(ca);
    free(cb);
    free(dir);
    free(ref);
}
END_TEST

/* ---- divergence --------------------------------------------------------------- */

START_TEST(test_divergence_keeps_last_good_checkpoint)
{
    /* plain SGD at lr 100 without clipping on the adding problem overflows
     * within a few dozen steps */
    char *dir = path_in("diverge");
    Outcome o;
    RUN(&o, "diverge", "train", "--task", "adding", "--hidden-size", "8", "--batch-size", "2",
        "--steps", "300", "--save-every", "2", "--eval-every", "10", "--optimizer", "sgd", "--lr", "100", "--clip",
        "0", "--init-scale", "1000", "--out", dir);
    assert_no_crash(&o);
    ck_assert_msg(o.status == STATUS_DIVERGED, "expected status %d, got %d: %s", STATUS_DIVERGED, o.status, o.err);
    const char *msg = error_message(&o);
    ck_assert_msg(strncmp(msg, "seqlab: step ", 13) == 0, "the message does not name the step: %s", msg);
    long bad_step = atol(msg + 13);
    ck_assert_msg(bad_step > 0 && strstr(msg, "model.safetensors") != NULL, "%s", msg);
    /* the kept checkpoint: before the bad step, every value finite */
    char *ckpt = path_in("diverge/model.safetensors");
    char e[1024];
    SafeTensors *st = safetensors_read(ckpt, e, sizeof e);
    ck_assert_msg(st != NULL, "%s", e);
    long kept = atol(meta_get(&st->meta, "step"));
    ck_assert_msg(kept < bad_step && kept >= bad_step - 2, "kept step %ld, diverged at %ld", kept, bad_step);
    for (int i = 0; i < st->count; i++)
        for (size_t k = 0; k < st->tensors[i].size; k++)
            ck_assert_msg(isfinite(st->tensors[i].data[k]), "%s[%zu] is not finite", st->tensors[i].name, k);
    safetensors_free(st);
    char *json = path_in("diverge/run.json");
    char *text = read_text(json);
    ck_assert_msg(strstr(text, "\"diverged\"") != NULL, "run.json status: %s", text);
    free(text);
    free(json);
    free(ckpt);
    outcome_free(&o);
    free(dir);
}
END_TEST

START_TEST(test_stop_accuracy_ends_a_solved_run_early)
{
    /* recall at distance 3 is solved within a few hundred steps; the run
     * must stop at the first evaluation that reaches the bar, finished, with
     * its checkpoint, metrics and run.json all saying the same step */
    char *dir = path_in("early");
    Outcome o;
    RUN(&o, "early", "train", "--task", "recall", "--distance", "3", "--hidden-size", "32", "--steps", "5000",
        "--eval-every", "50", "--stop-accuracy", "0.95", "--sample-tokens", "0", "--out", dir);
    assert_no_crash(&o);
    ck_assert_msg(o.status == 0, "status %d: %s", o.status, o.err);
    ck_assert_msg(strstr(o.err, "stopping early") != NULL, "no early-stop message: %s", o.err);
    char *json = path_in("early/run.json");
    char *text = read_text(json);
    cJSON *j = cJSON_Parse(text);
    ck_assert(j != NULL);
    cJSON *res = cJSON_GetObjectItem(j, "results");
    long step = (long)cJSON_GetObjectItem(res, "step")->valuedouble;
    double acc = cJSON_GetObjectItem(res, "val_accuracy")->valuedouble;
    ck_assert_msg(step < 5000 && step % 50 == 0, "stopped at step %ld", step);
    ck_assert_msg(acc >= 0.95, "accuracy %g below the bar", acc);
    ck_assert_str_eq(cJSON_GetObjectItem(j, "status")->valuestring, "finished");
    char *ckpt = path_in("early/model.safetensors");
    char e[1024];
    SafeTensors *st = safetensors_read(ckpt, e, sizeof e);
    ck_assert_msg(st != NULL, "%s", e);
    ck_assert_int_eq(atol(meta_get(&st->meta, "step")), step);
    safetensors_free(st);
    char *metrics = path_in("early/metrics.csv");
    char *m = read_text(metrics);
    char want[64];
    snprintf(want, sizeof want, "\n%ld,", step);
    ck_assert_msg(strstr(m, want) != NULL, "metrics.csv has no row for step %ld", step);
    snprintf(want, sizeof want, "\n%ld,", step + 20);
    ck_assert_msg(strstr(m, want) == NULL, "metrics.csv goes on after step %ld", step);
    free(m);
    free(metrics);
    free(ckpt);
    cJSON_Delete(j);
    free(text);
    free(json);
    outcome_free(&o);
    free(dir);
}
END_TEST

/* ---- set-up -------------------------------------------------------------------- */

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb; (void)flag; (void)ftw;
    chmod(path, 0700);
    return remove(path);
}

/* a small corpus: a few verses, repeated with their order varied */
static void write_corpus(void)
{
    static const char *const verses[] = {
        "In the beginning God created the heaven and the earth.\n",
        "And the earth was without form, and void; and darkness was upon the face of the deep.\n",
        "And the Spirit of God moved upon the face of the waters.\n",
        "And God said, Let there be light: and there was light.\n",
        "And God saw the light, that it was good: and God divided the light from the darkness.\n",
    };
    snprintf(corpus, sizeof corpus, "%s/corpus.txt", tmp_root);
    FILE *f = fopen(corpus, "w");
    if (!f) die("cannot write %s", corpus);
    for (int i = 0; i < 40; i++) fputs(verses[(i * 3 + i / 5) % 5], f);
    fclose(f);
}

/* the checkpoint the eval tests corrupt: 3 steps of a tiny rnn */
static void train_good_checkpoint(void)
{
    char dir[sizeof good_ckpt - 32];
    snprintf(dir, sizeof dir, "%s/good-run", tmp_root);
    snprintf(good_ckpt, sizeof good_ckpt, "%s/model.safetensors", dir);
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "'%s' train --steps 3 --hidden-size 8 --batch-size 2 --seq-len 8 --eval-every 3 --eval-batches 1 "
             "--sample-tokens 0 --corpus '%s' --out '%s' >/dev/null 2>'%s/good-run.stderr'",
             seqlab, corpus, dir, tmp_root);
    if (system(cmd) != 0 || access(good_ckpt, R_OK) != 0) die("test_cli: could not train the reference checkpoint");
}

static Suite *make_cli_suite(void)
{
    Suite *s = suite_create("cli");
    TCase *bad = tcase_create("bad input");
    tcase_set_timeout(bad, TEST_TIMEOUT_S);
    tcase_add_test(bad, test_corpus_missing);
    tcase_add_test(bad, test_corpus_empty);
    tcase_add_test(bad, test_corpus_unreadable);
    tcase_add_test(bad, test_corpus_binary);
    tcase_add_test(bad, test_corpus_shorter_than_a_window);
    tcase_add_test(bad, test_corpus_invalid_utf8);
    tcase_add_test(bad, test_unknown_model_task_option);
    tcase_add_test(bad, test_bad_sizes);
    tcase_add_test(bad, test_sizes_that_cannot_be_allocated);
    tcase_add_test(bad, test_heads_must_divide_width);
    tcase_add_test(bad, test_contradicting_options_refused);
    tcase_add_test(bad, test_setting_that_does_not_apply_is_reported);
    tcase_add_test(bad, test_seq_len_above_position_table);
    tcase_add_test(bad, test_config_errors);
    tcase_add_test(bad, test_experiment_file_errors);
    tcase_add_test(bad, test_checkpoint_errors);
    tcase_add_test(bad, test_eval_bad_text);
    tcase_add_test(bad, test_sample_with_huge_context_metadata);
    tcase_add_test(bad, test_output_directory_not_writable);
    suite_add_tcase(s, bad);
    TCase *runs = tcase_create("interruptions");
    tcase_set_timeout(runs, TEST_TIMEOUT_S);
    tcase_add_test(runs, test_full_disk_while_checkpointing);
    tcase_add_test(runs, test_full_disk_in_the_logs_then_resume);
    tcase_add_test(runs, test_sigint_then_resume_equals_uninterrupted);
    tcase_add_test(runs, test_sigterm_then_resume_equals_uninterrupted);
    tcase_add_test(runs, test_experiment_runner_interrupt_then_resume);
    tcase_add_test(runs, test_divergence_keeps_last_good_checkpoint);
    tcase_add_test(runs, test_stop_accuracy_ends_a_solved_run_early);
    suite_add_tcase(s, runs);
    return s;
}

int main(void)
{
    seqlab = getenv("SEQLAB");
    if (!seqlab || !*seqlab) {
        printf("test_cli: SEQLAB is not set (the Makefile sets it to the seqlab binary); skipped\n");
        return 0;
    }
    if (access(seqlab, X_OK) != 0) {
        fprintf(stderr, "test_cli: SEQLAB='%s' is not an executable\n", seqlab);
        return 1;
    }
    const char *tmp = getenv("TMPDIR");
    snprintf(tmp_root, sizeof tmp_root, "%s/seqlab-cli-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(tmp_root)) die("test_cli: cannot create a temporary directory: %s", strerror(errno));
    write_corpus();
    train_good_checkpoint();
    int rc = run_suite(make_cli_suite());
    nftw(tmp_root, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    return rc;
}
