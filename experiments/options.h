/*
 * options.h — the option helpers the subcommands of `seqlab` share.
 * Every failure dies with a message naming the option (util.h's die).
 */
#ifndef SEQLAB_OPTIONS_H
#define SEQLAB_OPTIONS_H

/* 1 if arg is "--name" or "--name=value" */
int opt_is(const char *arg, const char *name);
/* argv[*i] is "--name" or "--name=value": the value (from the next argument
 * or after '='), advancing *i; dies naming the option if it is missing */
const char *opt_value(int argc, char **argv, int *i);
/* value as a whole number / a finite number in [min, max] */
long opt_long(const char *option, const char *value, long min, long max);
double opt_double(const char *option, const char *value, double min, double max);

#endif
