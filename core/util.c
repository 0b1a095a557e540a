/*
 * util.c — checked allocation, whole-file I/O, atomic writes, timing.
 */
#define _POSIX_C_SOURCE 200809L
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static size_t alloc_count;

size_t util_alloc_count(void) { return alloc_count; }

static void die_alloc(size_t n, const char *file, int line)
{
    fprintf(stderr, "seqlab: out of memory: could not allocate %zu bytes (%.2f GiB) at %s:%d\n",
            n, (double)n / (1024.0 * 1024.0 * 1024.0), file, line);
    exit(EXIT_USER_ERROR);
}

void *xmalloc_at(size_t n, const char *file, int line)
{
    void *p = malloc(n ? n : 1);
    if (!p) die_alloc(n, file, line);
    alloc_count++;
    return p;
}

void *xcalloc_at(size_t n, size_t size, const char *file, int line)
{
    if (size && n > (size_t)-1 / size) die_alloc((size_t)-1, file, line);
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) die_alloc(n * size, file, line);
    alloc_count++;
    return p;
}

void *xrealloc_at(void *p, size_t n, const char *file, int line)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) die_alloc(n, file, line);
    alloc_count++;
    return q;
}

FILE *xfopen_at(const char *path, const char *mode, const char *file, int line)
{
    FILE *f = fopen(path, mode);
    if (!f) {
        fprintf(stderr, "seqlab: cannot open '%s': %s (at %s:%d)\n", path,
                strerror(errno), file, line);
        exit(EXIT_USER_ERROR);
    }
    return f;
}

char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = xmalloc(n);
    memcpy(p, s, n);
    return p;
}

void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("seqlab: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(EXIT_USER_ERROR);
}

char *file_read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    struct stat st;
    if (fstat(fileno(f), &st) != 0) { fclose(f); return NULL; }
    if (S_ISDIR(st.st_mode)) { fclose(f); errno = EISDIR; return NULL; }
    size_t cap = st.st_size > 0 ? (size_t)st.st_size + 1 : 4096, n = 0;
    char *buf = malloc(cap);
    if (!buf) { fclose(f); errno = ENOMEM; return NULL; }
    for (;;) {
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0) break;
        if (n + 1 == cap) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) { free(buf); fclose(f); errno = ENOMEM; return NULL; }
            buf = nb;
            cap *= 2;
        }
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) { free(buf); errno = EIO; return NULL; }
    buf[n] = '\0';
    *len = n;
    return buf;
}

/* fsync the directory that holds path, so that a rename in it survives a
 * power cut, not only a crash of this process */
static int sync_parent_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    char dir[4096];
    if (!slash) snprintf(dir, sizeof dir, ".");
    else if (slash == path) snprintf(dir, sizeof dir, "/");
    else snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0) return -1;
    int rc = fsync(fd);
    if (rc != 0 && (errno == EINVAL || errno == EROFS)) rc = 0;   /* not syncable: nothing to do */
    close(fd);
    return rc;
}

int rename_durable(const char *from, const char *to)
{
    if (rename(from, to) != 0) return -1;
    return sync_parent_dir(to);
}

int file_write_atomic(const char *path, const void *data, size_t len,
                      char *err, size_t errlen)
{
    size_t plen = strlen(path);
    char *tmp = xmalloc(plen + 16);
    snprintf(tmp, plen + 16, "%s.tmp.XXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        snprintf(err, errlen, "cannot write '%s': %s", tmp, strerror(errno));
        free(tmp);
        return -1;
    }
    const char *p = data;
    size_t left = len;
    const char *failed = NULL;
    while (left > 0 && !failed) {
        ssize_t w = write(fd, p, left);
        if (w < 0) {
            if (errno == EINTR) continue;
            failed = "write";
            break;
        }
        p += w;
        left -= (size_t)w;
    }
    if (!failed && fchmod(fd, 0644) != 0) failed = "write";
    if (!failed && fsync(fd) != 0 && errno != EINVAL) failed = "sync";
    if (close(fd) != 0 && !failed) failed = "write";
    if (failed) {
        snprintf(err, errlen, "cannot %s '%s': %s", failed, tmp, strerror(errno));
        unlink(tmp);
        free(tmp);
        return -1;
    }
    if (rename_durable(tmp, path) != 0) {
        snprintf(err, errlen, "cannot rename '%s' to '%s': %s", tmp, path, strerror(errno));
        unlink(tmp);
        free(tmp);
        return -1;
    }
    free(tmp);
    return 0;
}

/* ---- one writer per directory ------------------------------------------------ */

static void lock_path(char *buf, size_t n, const char *dir)
{
    snprintf(buf, n, "%s/" DIR_LOCK_NAME, dir);
}

int dir_lock(const char *dir, char *err, size_t errlen)
{
    char path[4096];
    lock_path(path, sizeof path, dir);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        snprintf(err, errlen, "cannot open the lock file '%s': %s", path, strerror(errno));
        return -1;
    }
    struct flock fl;
    memset(&fl, 0, sizeof fl);
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    if (fcntl(fd, F_SETLK, &fl) != 0) {
        int e = errno;
        long holder = 0;
        if (e == EACCES || e == EAGAIN) {
            struct flock q;
            memset(&q, 0, sizeof q);
            q.l_type = F_WRLCK;
            q.l_whence = SEEK_SET;
            if (fcntl(fd, F_GETLK, &q) == 0 && q.l_type != F_UNLCK) holder = (long)q.l_pid;
            snprintf(err, errlen, "'%s' is being written by another seqlab (process %ld holds '%s'); "
                     "wait for it to finish or stop it", dir, holder, path);
            close(fd);
            return DIR_LOCK_HELD;
        }
        snprintf(err, errlen, "cannot lock '%s': %s", path, strerror(e));
        close(fd);
        return -1;
    }
    /* the holder's PID, for people (the lock itself is the kernel's) */
    char pid[32];
    int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)n, 0) != n) {
        /* the lock holds without the note */
    }
    return fd;
}

long dir_lock_holder(const char *dir)
{
    char path[4096];
    lock_path(path, sizeof path, dir);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    struct flock q;
    memset(&q, 0, sizeof q);
    q.l_type = F_WRLCK;
    q.l_whence = SEEK_SET;
    long holder = 0;
    if (fcntl(fd, F_GETLK, &q) == 0 && q.l_type != F_UNLCK) holder = (long)q.l_pid;
    close(fd);
    return holder;
}

/* ---- formats ------------------------------------------------------------------ */

void csv_field(FILE *f, const char *value)
{
    size_t n = strlen(value);
    int quote = strpbrk(value, ",\"\r\n") != NULL || (n > 0 && (value[0] == ' ' || value[n - 1] == ' '));
    if (!quote) {
        fputs(value, f);
        return;
    }
    fputc('"', f);
    for (const char *c = value; *c; c++) {
        if (*c == '"') fputc('"', f);
        fputc(*c, f);
    }
    fputc('"', f);
}

size_t shell_quote(char *out, size_t cap, const char *value)
{
    /* characters no POSIX shell gives a meaning to, anywhere in a word */
    static const char safe[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_@%+=:,./-";
    int plain = value[0] != '\0' && strspn(value, safe) == strlen(value);
    size_t n = 0;
#define PUT(ch) do { if (n + 1 < cap) out[n] = (ch); n++; } while (0)
    if (plain) {
        for (const char *c = value; *c; c++) PUT(*c);
    } else {
        PUT('\'');
        for (const char *c = value; *c; c++) {
            if (*c == '\'') {
                /* close the quote, an escaped quote, open again: '\'' */
                PUT('\'');
                PUT('\\');
                PUT('\'');
                PUT('\'');
            } else {
                PUT(*c);
            }
        }
        PUT('\'');
    }
#undef PUT
    if (cap > 0) out[n < cap ? n : cap - 1] = '\0';
    return n;
}

int mkdir_p(const char *path)
{
    char buf[4096];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof buf) { errno = ENAMETOOLONG; return -1; }
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] == '/' || buf[i] == '\0') {
            char c = buf[i];
            buf[i] = '\0';
            if (mkdir(buf, 0755) != 0 && errno != EEXIST) return -1;
            buf[i] = c;
        }
    }
    struct stat st;
    if (stat(path, &st) != 0) return -1;
    if (!S_ISDIR(st.st_mode)) { errno = ENOTDIR; return -1; }
    return 0;
}

double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
