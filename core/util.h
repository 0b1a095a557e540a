/*
 * util.h — checked allocation and file helpers, and fatal errors.
 *
 * Programmer errors use assert(); user errors (a bad file, option or value)
 * go through die(), which prints one line to stderr and exits with status 1.
 * xmalloc/xcalloc/xfopen report the source line that failed, and for
 * allocations how many bytes were asked for.
 */
#ifndef SEQLAB_UTIL_H
#define SEQLAB_UTIL_H

#include <stddef.h>
#include <stdio.h>

#define EXIT_USER_ERROR 1

#define xmalloc(n) xmalloc_at((n), __FILE__, __LINE__)
#define xcalloc(n, size) xcalloc_at((n), (size), __FILE__, __LINE__)
#define xrealloc(p, n) xrealloc_at((p), (n), __FILE__, __LINE__)
#define xfopen(path, mode) xfopen_at((path), (mode), __FILE__, __LINE__)

void *xmalloc_at(size_t n, const char *file, int line);
void *xcalloc_at(size_t n, size_t size, const char *file, int line);
void *xrealloc_at(void *p, size_t n, const char *file, int line);
FILE *xfopen_at(const char *path, const char *mode, const char *file, int line);
char *xstrdup(const char *s);

/* print "seqlab: <message>" to stderr and exit(EXIT_USER_ERROR) */
void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* total bytes handed out by xmalloc/xcalloc/xrealloc so far (the benchmark
 * and the no-allocation-in-the-loop test read it) */
size_t util_alloc_count(void);

/* read a whole file; NULL with errno set on failure.  *len gets its size. */
char *file_read_all(const char *path, size_t *len);

/* write `len` bytes to path atomically: path.tmp, fsync, rename.  Returns 0
 * or -1 with a message in err (size errlen). */
int file_write_atomic(const char *path, const void *data, size_t len,
                      char *err, size_t errlen);

/* mkdir -p; returns 0 or -1 (errno set) */
int mkdir_p(const char *path);

/* seconds since an arbitrary origin (monotonic clock) */
double now_seconds(void);

#endif
