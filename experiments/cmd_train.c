/*
 * cmd_train.c — `seqlab train`: settings from defaults, then --config FILE,
 * then options; or --resume DIR.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "config.h"
#include "train.h"
#include "util.h"

static void train_help(void)
{
    printf("usage: seqlab train [--config FILE.ini] [--resume DIR] [--SETTING VALUE ...]\n"
           "\n"
           "Train one model on one task; the run directory (--out) gets config.ini, run.json,\n"
           "metrics.csv, gradients.csv, timing.csv, position_loss.csv, model.safetensors and\n"
           "samples.txt.  Ctrl-C finishes the step, writes a checkpoint and exits; --resume DIR\n"
           "continues exactly where the run stopped (after a crash too: at most the steps since\n"
           "the last checkpoint are redone; a finished run is left as it is).  One process writes\n"
           "a run directory at a time: another one's is refused with exit status 4.\n"
           "\n"
           "  --config FILE   read settings from FILE's [train] section (options override it)\n"
           "  --resume DIR    continue the run in DIR (its config.ini; options override it)\n"
           "\n"
           "settings (same names in .ini files with '_' for '-'; defaults in brackets):\n");
    Settings d;
    settings_defaults(&d);
    char v[SETTING_STR_MAX + 32], opt[64];
    for (int i = 0; i < settings_count(); i++) {
        const char *k = settings_key(i);
        settings_get(&d, k, v, sizeof v);
        snprintf(opt, sizeof opt, "--%s", k);
        for (char *p = opt; *p; p++)
            if (*p == '_') *p = '-';
        printf("  %-16s %s [%s]\n", opt, settings_help(i), v);
    }
}

int cmd_train(int argc, char **argv)
{
    Settings s;
    settings_defaults(&s);
    const char *config = NULL, *resume = NULL;
    char err[2048];
    /* first pass: --help, --config and --resume, which set the base */
    for (int i = 1; i < argc; i++) {
        if (opt_is(argv[i], "--help") || strcmp(argv[i], "-h") == 0) {
            train_help();
            return 0;
        }
        if (opt_is(argv[i], "--config")) config = opt_value(argc, argv, &i);
        else if (opt_is(argv[i], "--resume")) resume = opt_value(argc, argv, &i);
        else if (strncmp(argv[i], "--", 2) == 0 && !strchr(argv[i], '=')) i++;
    }
    if (config && resume) die("use either --config or --resume, not both");
    char resumed_ini[SETTING_STR_MAX + 32];
    long holder = resume ? dir_lock_holder(resume) : 0;
    if (holder) {
        /* said before its config.ini is read: the writer may not have written it yet */
        fprintf(stderr, "seqlab: '%s' is being written by another seqlab (process %ld holds '%s/%s'); wait for it "
                "to finish or stop it\n", resume, holder, resume, DIR_LOCK_NAME);
        return TRAIN_BUSY;
    }
    if (resume) {
        snprintf(resumed_ini, sizeof resumed_ini, "%s/config.ini", resume);
        config = resumed_ini;
    }
    if (config && settings_load_ini(&s, config, settings_experiment_sections, settings_ignore_other, NULL, err,
                                    sizeof err) != 0)
        die("%s", err);
    if (resume) snprintf(s.out, sizeof s.out, "%s", resume);
    /* second pass: every other option is a setting */
    for (int i = 1; i < argc; i++) {
        if (opt_is(argv[i], "--config") || opt_is(argv[i], "--resume")) {
            opt_value(argc, argv, &i);
            continue;
        }
        char key[64];
        if (strncmp(argv[i], "--", 2) != 0) die("unexpected argument '%s' (options start with --)", argv[i]);
        if (settings_option_key(argv[i], key, sizeof key) != 0)
            die("unknown option '%.*s' (see `seqlab train --help`)", (int)strcspn(argv[i], "="), argv[i]);
        const char *opt = argv[i];
        const char *value = opt_value(argc, argv, &i);
        char where[80];
        snprintf(where, sizeof where, "option %.*s", (int)strcspn(opt, "="), opt);
        if (settings_set(&s, key, value, where, err, sizeof err) != 0) die("%s", err);
        /* a resumed run is continued in its own directory */
        if (resume && strcmp(key, "out") == 0 && strcmp(value, resume) != 0)
            die("--resume %s and --out %s contradict each other: a resumed run goes on in its own directory", resume,
                value);
    }
    /* a setting the model or the task ignores is said, not silently dropped */
    settings_report_unused(&s, stderr);
    train_install_signal_handlers();
    TrainResult res;
    int status = train_run(&s, resume != NULL, &res, err, sizeof err);
    if (status != TRAIN_OK) {
        fprintf(stderr, "seqlab: %s\n", err);
        return status;
    }
    printf("%s: %s on %s, %zu parameters, %ld steps in %.1f s (%.0f tokens/s)\n", s.out, s.model, s.task,
           res.params, res.step, res.seconds, res.tokens_per_s);
    printf("  final train loss %.4f, validation loss %.4f", res.train_loss, res.val_loss);
    if (res.val_accuracy == res.val_accuracy) printf(", accuracy %.3f", res.val_accuracy);
    printf(" (chance %.4f)\n", res.chance_loss);
    return 0;
}
