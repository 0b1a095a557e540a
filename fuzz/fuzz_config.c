/*
 * fuzz_config.c — libFuzzer harness for the settings loader.
 *
 * Each input is a would-be .ini file, read three ways:
 *
 *   1. as `seqlab train --config` reads a [train]-only file
 *      (settings_load_ini with no other sections);
 *   2. as `seqlab train --config` reads an experiment file (the experiment
 *      sections allowed, the non-[train] ones ignored);
 *   3. as `seqlab run` reads an experiment (plan_load: grid expansion and
 *      every run's settings checked).
 *
 * A rejection must name the file.  When reading 1 succeeds and the settings
 * resolve, the resolved settings are written as config.ini is written
 * (settings_write_ini) and read back: every key must come back with the
 * same value, since `seqlab train --resume` relies on exactly that.
 *
 * When reading 3 succeeds, every run of the expanded grid (the first
 * FUZZ_MAX_RUNS) must have a name that is a plain directory name, unique in
 * the experiment, and its `--list` command (plan_command), split by the
 * shell's rules (shell_split.h), must be `seqlab train --config FILE` and
 * options that, applied as `seqlab train` applies them, give exactly the
 * run's settings.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "fuzz_io.h"
#include "shell_split.h"
#include "experiments/runner.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void cfgfuzz_require_path(const char *err, const char *path, const char *what)
{
    if (strstr(err, path) == NULL) {
        fprintf(stderr, "%s: rejection without the file name: %s\n", what, err);
        abort();
    }
}

/* config.ini of s, read back, equals s key by key */
static void cfgfuzz_round_trip(const Settings *s)
{
    const char *path = fuzz_temp_path(".config.ini");
    FILE *f = fopen(path, "w");
    if (!f) abort();
    settings_write_ini(s, f);
    if (fclose(f) != 0) abort();
    Settings back;
    settings_defaults(&back);
    char err[2048];
    if (settings_load_ini(&back, path, NULL, NULL, NULL, err, sizeof err) != 0) {
        fprintf(stderr, "config.ini written from accepted settings is refused: %s\n", err);
        abort();
    }
    char a[SETTING_STR_MAX + 32], b[SETTING_STR_MAX + 32];
    for (int i = 0; i < settings_count(); i++) {
        settings_get(s, settings_key(i), a, sizeof a);
        settings_get(&back, settings_key(i), b, sizeof b);
        if (strcmp(a, b) != 0) {
            fprintf(stderr, "config.ini round trip changed %s: '%s' -> '%s'\n", settings_key(i), a, b);
            abort();
        }
    }
}

/* runs of one input whose names and commands are checked */
#define FUZZ_MAX_RUNS 64
#define FUZZ_MAX_WORDS 256

/* run i of e: its name, and its --list command read back as seqlab train would */
static void cfgfuzz_check_run(const ExpPlan *e, int i, const char *path)
{
    const GridRun *r = &e->runs[i];
    if (r->name[0] == '\0' || strspn(r->name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_+=,") !=
                                   strlen(r->name)) {
        fprintf(stderr, "run %d: name '%s' is not a plain directory name\n", i, r->name);
        abort();
    }
    for (int j = 0; j < i; j++)
        if (strcmp(e->runs[j].name, r->name) == 0) {
            fprintf(stderr, "runs %d and %d share the name '%s'\n", j, i, r->name);
            abort();
        }
    char *cmd = plan_command(e, i);
    char *words[FUZZ_MAX_WORDS];
    int n = shell_split(cmd, words, FUZZ_MAX_WORDS);
    if (n < 4 || strcmp(words[0], "seqlab") || strcmp(words[1], "train") || strcmp(words[2], "--config") ||
        strcmp(words[3], path) || n % 2 != 0) {
        fprintf(stderr, "run %d: the listed command does not split back: %s\n", i, cmd);
        abort();
    }
    Settings s;
    settings_defaults(&s);
    char err[4096];
    if (settings_load_ini(&s, path, settings_experiment_sections, settings_ignore_other, NULL, err, sizeof err)) {
        fprintf(stderr, "run %d: its --config file is refused: %s\n", i, err);
        abort();
    }
    for (int w = 4; w < n; w += 2) {
        char key[64];
        if (settings_option_key(words[w], key, sizeof key) != 0 ||
            settings_set(&s, key, words[w + 1], words[w], err, sizeof err) != 0) {
            fprintf(stderr, "run %d: option %s %s of [%s] is refused: %s\n", i, words[w], words[w + 1], cmd, err);
            abort();
        }
    }
    char a[SETTING_STR_MAX + 32], b[SETTING_STR_MAX + 32];
    for (int k = 0; k < settings_count(); k++) {
        settings_get(&s, settings_key(k), a, sizeof a);
        settings_get(&r->s, settings_key(k), b, sizeof b);
        if (strcmp(a, b) != 0) {
            fprintf(stderr, "run %d: the listed command gives %s = '%s', the run has '%s': %s\n", i,
                    settings_key(k), a, b, cmd);
            abort();
        }
    }
    shell_split_free(words, n);
    free(cmd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_temp_path(".ini");
    fuzz_write_file(path, data, size);
    char err[4096] = "";

    Settings s;
    settings_defaults(&s);
    if (settings_load_ini(&s, path, NULL, NULL, NULL, err, sizeof err) != 0) {
        cfgfuzz_require_path(err, path, "train-only");
    } else if (settings_resolve(&s, err, sizeof err) == 0) {
        cfgfuzz_round_trip(&s);
    }

    settings_defaults(&s);
    if (settings_load_ini(&s, path, settings_experiment_sections, settings_ignore_other, NULL, err,
                          sizeof err) != 0)
        cfgfuzz_require_path(err, path, "experiment sections");

    ExpPlan *e = plan_load(path, "runs", err, sizeof err);
    if (!e) cfgfuzz_require_path(err, path, "plan_load");
    else if (e->nruns > PLAN_MAX_RUNS) abort();
    for (int i = 0; e && i < e->nruns && i < FUZZ_MAX_RUNS; i++) cfgfuzz_check_run(e, i, path);
    plan_free(e);
    return 0;
}
