/*
 * commands.h — the subcommands of `seqlab`, one function each.
 * Each returns the process exit status; errors are printed to stderr with
 * the file, line or option that caused them.
 */
#ifndef SEQLAB_COMMANDS_H
#define SEQLAB_COMMANDS_H

#include "options.h"   /* the option helpers every command uses */

int cmd_train(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_sample(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_translate(int argc, char **argv);
/* `seqlab eval --pairs FILE` (cmd_translate.c) */
int cmd_eval_pairs(const char *ckpt, const char *path, int json);

#endif
