/*
 * plot_gnuplot.c — running gnuplot for `seqlab plot` (plot_internal.h).
 *
 * Builds the `-e` variables a script is given, runs one gnuplot process per
 * figure that draws it twice (PNG and SVG), and renames the files only when
 * gnuplot succeeded, so no half-drawn figure is ever left on disk.
 *
 * What this file is not: the data the figures show (plot_average.c and the
 * figure files) or the scripts (plots/NAME.gp).
 */
#define _GNU_SOURCE
#include "plot_internal.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util.h"

/* snprintf for paths and names: a result that does not fit is a user error
 * (an absurdly long path), reported rather than silently cut */
void plot_sfmt(char *out, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void plot_sfmt(char *out, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int len = vsnprintf(out, n, fmt, ap);
    va_end(ap);
    if (len < 0 || (size_t)len >= n) die("path or name too long: '%.80s...'", out);
}


void plot_args_printf(Args *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void plot_args_printf(Args *a, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(a->s ? a->s + a->len : NULL, a->s ? a->cap - a->len : 0, fmt, ap);
        va_end(ap);
        if (a->s && (size_t)n < a->cap - a->len) { a->len += (size_t)n; return; }
        a->cap = 2 * (a->cap + (size_t)n + 64);
        a->s = xrealloc(a->s, a->cap);
        if (a->len == 0) a->s[0] = '\0';
    }
}

/* name='value' — gnuplot single-quoted strings escape ' as '' */
void plot_args_str(Args *a, const char *value, const char *namefmt, ...)
    __attribute__((format(printf, 3, 4)));
void plot_args_str(Args *a, const char *value, const char *namefmt, ...)
{
    char name[64];
    va_list ap;
    va_start(ap, namefmt);
    vsnprintf(name, sizeof name, namefmt, ap);
    va_end(ap);
    plot_args_printf(a, "%s='", name);
    for (const char *c = value; *c; c++) {
        if (*c == '\'') plot_args_printf(a, "''");
        else if (*c == '\n' || *c == '\r') plot_args_printf(a, " ");
        else plot_args_printf(a, "%c", *c);
    }
    plot_args_printf(a, "';");
}

/* name=number (NaN stays gnuplot's NaN) */
void plot_args_num(Args *a, double value, const char *namefmt, ...)
    __attribute__((format(printf, 3, 4)));
void plot_args_num(Args *a, double value, const char *namefmt, ...)
{
    char name[64];
    va_list ap;
    va_start(ap, namefmt);
    vsnprintf(name, sizeof name, namefmt, ap);
    va_end(ap);
    if (isfinite(value)) plot_args_printf(a, "%s=%.17g;", name, value);
    else plot_args_printf(a, "%s=NaN;", name);
}

const Finding *plot_finding(const Plot *p, const char *id)
{
    for (int i = 0; i < p->nfindings; i++)
        if (strcmp(p->findings[i].claim, id) == 0) return &p->findings[i];
    return NULL;
}

void plot_args_free(Args *a) { free(a->s); a->s = NULL; a->len = a->cap = 0; }

int plot_file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static void remove_figure(const Plot *p, const char *base)
{
    char path[PATH_MAX + 300];
    plot_sfmt(path, sizeof path, "%s/%s.png", p->figdir, base);
    unlink(path);
    plot_sfmt(path, sizeof path, "%s/%s.svg", p->figdir, base);
    unlink(path);
}

/* one line on stderr, remove any stale copy; returns 0 (not an error) */
int plot_skip(Plot *p, const char *base, const char *why)
{
    fprintf(stderr, "seqlab plot: %s: skipping %s: %s\n", p->e.name, base, why);
    remove_figure(p, base);
    p->skipped++;
    return 0;
}

/* ============================================================= gnuplot ==== */

static const char *gnuplot_path(void)
{
    const char *env = getenv("SEQLAB_GNUPLOT");
    return env && *env ? env : "gnuplot";
}

int plot_gnuplot_available(void)
{
    const char *g = gnuplot_path();
    if (strchr(g, '/')) return access(g, X_OK) == 0;
    const char *path = getenv("PATH");
    if (!path) return 0;
    char *copy = xstrdup(path), *save = NULL;
    int found = 0;
    for (char *d = strtok_r(copy, ":", &save); d && !found; d = strtok_r(NULL, ":", &save)) {
        char full[PATH_MAX + 16];
        plot_sfmt(full, sizeof full, "%s/%s", *d ? d : ".", g);
        found = access(full, X_OK) == 0;
    }
    free(copy);
    return found;
}

/* gnuplot -e COMMANDS, in directory dir; returns its exit status or -1 */
static int gnuplot_run(const char *dir, const char *commands)
{
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0) { dup2(devnull, STDIN_FILENO); close(devnull); }
        if (chdir(dir) != 0) _exit(126);
        execlp(gnuplot_path(), gnuplot_path(), "-e", commands, (char *)NULL);
        _exit(127);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* draw figure `base` with plots/<script>.gp as PNG and SVG of w x h pixels:
 * one gnuplot process loads the script twice, once per format (common.gp
 * starts with `reset`, so nothing carries over).  1 drawn, -1 failed (message
 * on stderr, no file left behind). */
int plot_render(Plot *p, const char *script, const char *base, int w, int h, const Args *vars)
{
    char script_path[PATH_MAX + 64];
    plot_sfmt(script_path, sizeof script_path, "%s/%s.gp", p->plotdir, script);
    static const char *formats[] = {"png", "svg"};
    char part[2][PATH_MAX + 300], final[2][PATH_MAX + 300];
    Args a = {0};
    plot_args_num(&a, w, "W");
    plot_args_num(&a, h, "H");
    plot_args_str(&a, p->plotdir, "plotdir");
    plot_args_str(&a, p->e.name, "expname");
    plot_args_printf(&a, "%s", vars && vars->s ? vars->s : "");
    for (int f = 0; f < 2; f++) {
        plot_sfmt(part[f], sizeof part[f], "%s/%s.%s.part", p->figdir, base, formats[f]);
        plot_sfmt(final[f], sizeof final[f], "%s/%s.%s", p->figdir, base, formats[f]);
        plot_args_str(&a, formats[f], "fmt");
        plot_args_str(&a, part[f], "outfile");
        plot_args_str(&a, script_path, "script");
        plot_args_printf(&a, "load script;");
    }
    const char *verbose = getenv("SEQLAB_PLOT_VERBOSE");
    if (verbose && *verbose)   /* to rerun a figure by hand */
        fprintf(stderr, "cd '%s' && %s -e \"%s\"\n", p->figdir, gnuplot_path(), a.s);
    int rc = gnuplot_run(p->figdir, a.s);
    plot_args_free(&a);
    int ok = rc == 0;
    for (int f = 0; f < 2 && ok; f++) {
        struct stat st;
        ok = stat(part[f], &st) == 0 && st.st_size > 0;
    }
    if (!ok) {
        fprintf(stderr, "seqlab plot: %s: gnuplot failed on %s (exit %d) drawing %s\n",
                p->e.name, script_path, rc, base);
        for (int f = 0; f < 2; f++) unlink(part[f]);
        remove_figure(p, base);
        return -1;
    }
    for (int f = 0; f < 2; f++)
        if (rename(part[f], final[f]) != 0) {
            fprintf(stderr, "seqlab plot: cannot rename %s: %s\n", part[f], strerror(errno));
            unlink(part[f]);
            return -1;
        }
    p->drawn++;
    return 1;
}
