/*
 * options.c — the option helpers every `seqlab` subcommand shares
 * (options.h): "--name value" or "--name=value", numbers checked against
 * their range, errors naming the option.
 */
#include "options.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

int opt_is(const char *arg, const char *name)
{
    size_t n = strlen(name);
    return strncmp(arg, name, n) == 0 && (arg[n] == '\0' || arg[n] == '=');
}

const char *opt_value(int argc, char **argv, int *i)
{
    const char *eq = strchr(argv[*i], '=');
    if (eq) return eq + 1;
    if (*i + 1 >= argc) die("option %s needs a value", argv[*i]);
    return argv[++*i];
}

long opt_long(const char *option, const char *value, long min, long max)
{
    char *end;
    errno = 0;
    long v = strtol(value, &end, 10);
    if (end == value || *end || errno) die("option %s: '%s' is not a whole number", option, value);
    if (v < min || v > max) die("option %s: %ld is out of range [%ld, %ld]", option, v, min, max);
    return v;
}

double opt_double(const char *option, const char *value, double min, double max)
{
    char *end;
    errno = 0;
    double v = strtod(value, &end);
    if (end == value || *end || errno || !isfinite(v)) die("option %s: '%s' is not a number", option, value);
    if (v < min || v > max) die("option %s: %g is out of range [%g, %g]", option, v, min, max);
    return v;
}
