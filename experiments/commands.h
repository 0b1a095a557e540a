/*
 * commands.h — the subcommands of `seqlab`, one function each.
 * Each returns the process exit status; errors are printed to stderr with
 * the file, line or option that caused them.
 */
#ifndef SEQLAB_COMMANDS_H
#define SEQLAB_COMMANDS_H

int cmd_train(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_sample(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_translate(int argc, char **argv);
/* `seqlab eval --pairs FILE` (cmd_translate.c) */
int cmd_eval_pairs(const char *ckpt, const char *path, int json);

/* option helpers shared by the subcommands */
/* argv[*i] is "--name" or "--name=value": the value (from the next argument
 * or after '='), advancing *i; dies naming the option if it is missing */
const char *opt_value(int argc, char **argv, int *i);
int opt_is(const char *arg, const char *name);
long opt_long(const char *option, const char *value, long min, long max);
double opt_double(const char *option, const char *value, double min, double max);

#endif
