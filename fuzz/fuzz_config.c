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
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "fuzz_io.h"
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
    plan_free(e);
    return 0;
}
