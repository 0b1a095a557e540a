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

/* write `len` bytes to path atomically: a temporary file of its own
 * (path.tmp.XXXXXX, so that two writers never share one), fsync, rename,
 * fsync of the directory.  Returns 0 or -1 with a message in err (size
 * errlen). */
int file_write_atomic(const char *path, const void *data, size_t len,
                      char *err, size_t errlen);

/* rename from onto to and make the rename durable (fsync of to's
 * directory).  0 or -1 (errno set). */
int rename_durable(const char *from, const char *to);

/* ---- one writer per directory ----------------------------------------------
 * dir_lock takes an exclusive lock on DIR/lock (fcntl, so the kernel drops
 * it when the process ends, however it ends: a lock file left by a dead
 * process is stale and taken over) and writes this process's PID into it.
 * Returns the open descriptor (the lock lasts until it is closed or the
 * process exits); DIR_LOCK_HELD with a message in err naming the holder's
 * PID when another process holds it; -1 with a message on any other
 * failure. */
#define DIR_LOCK_NAME "lock"
#define DIR_LOCK_HELD (-2)
int dir_lock(const char *dir, char *err, size_t errlen);
/* the PID of the process holding DIR's lock, or 0 if nobody does */
long dir_lock_holder(const char *dir);

/* ---- one way to write each format -------------------------------------------
 * csv_field: value as one CSV field (RFC 4180): as is, or in double quotes
 * with every " doubled when it holds a comma, a quote, a CR or an LF, or
 * starts or ends with a space. */
void csv_field(FILE *f, const char *value);
/* shell_quote: value as one word of a POSIX shell command line, into out
 * (size cap): as is when it holds only characters no shell treats
 * specially, otherwise in single quotes with each ' written '\''.  Returns
 * the length it needs (like snprintf); the output is cut only when that is
 * >= cap. */
size_t shell_quote(char *out, size_t cap, const char *value);

/* mkdir -p; returns 0 or -1 (errno set) */
int mkdir_p(const char *path);

/* seconds since an arbitrary origin (monotonic clock) */
double now_seconds(void);

#endif
