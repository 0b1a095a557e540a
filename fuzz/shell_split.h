/*
 * shell_split.h — a command line split into words by the rules of a POSIX
 * shell (XCU 2.2 quoting, 2.3 token recognition), for the harnesses that
 * check seqlab's shell quoting: the words a shell would pass to the
 * command, or a refusal when the line holds anything the shell would act
 * on (an unquoted ; | & < > ( ) $ ` \ * ? [ # ~ or a line break), since a
 * quoted value must never do that.
 *
 * What this file is not: a shell.  It knows blanks, single quotes and
 * double quotes (where $ ` \ " are special), enough to read what
 * shell_quote writes and to refuse the rest.
 */
#ifndef SEQLAB_SHELL_SPLIT_H
#define SEQLAB_SHELL_SPLIT_H

#include <stdlib.h>
#include <string.h>

/* words of line into words[] (each malloc'd, at most max); the count, or
 * -1 if the line is not plain words */
static int shell_split(const char *line, char **words, int max)
{
    int n = 0;
    const char *p = line;
    size_t cap = strlen(line) + 1;
    for (;;) {
        while (*p == ' ' || *p == '\t') p++;
        if (*p == '\0') return n;
        if (n == max) return -1;
        char *w = malloc(cap);
        size_t len = 0;
        while (*p && *p != ' ' && *p != '\t') {
            if (*p == '\'') {
                const char *close = strchr(p + 1, '\'');
                if (!close) { free(w); return -1; }
                memcpy(w + len, p + 1, (size_t)(close - p - 1));
                len += (size_t)(close - p - 1);
                p = close + 1;
            } else if (*p == '"') {
                for (p++; *p != '"'; p++) {
                    if (*p == '\0' || *p == '$' || *p == '`') { free(w); return -1; }
                    if (*p == '\\' && p[1] && strchr("$`\"\\\n", p[1])) p++;
                    w[len++] = *p;
                }
                p++;
            } else if (*p == '\\' && p[1] != '\0' && p[1] != '\n') {
                w[len++] = p[1];
                p += 2;
            } else if (strchr(";|&<>()$`\\*?[#~\n\r", *p)) {
                free(w);
                return -1;
            } else {
                w[len++] = *p++;
            }
        }
        w[len] = '\0';
        words[n++] = w;
    }
}

static void shell_split_free(char **words, int n)
{
    for (int i = 0; i < n; i++) free(words[i]);
}

#endif
