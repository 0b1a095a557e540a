/*
 * fuzz_io.h — the one helper the fuzz harnesses share: the readers under
 * test take a path, so each input is written to a private temporary file
 * (in /dev/shm when there is one: no disk traffic) and the reader opens it.
 *
 * What this file is not: a harness.  See fuzz/README.md.
 */
#ifndef SEQLAB_FUZZ_IO_H
#define SEQLAB_FUZZ_IO_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* the temporary file of this process, created on first use; a harness
 * passes a distinct suffix so that several harnesses in one program (the
 * corpus replay test) do not share a file */
static char fuzz_paths[4][128];
static const char *fuzz_suffixes[4];

static void fuzz_remove_temp_files(void)
{
    for (int i = 0; i < 4 && fuzz_suffixes[i]; i++) unlink(fuzz_paths[i]);
}

static inline const char *fuzz_temp_path(const char *suffix)
{
    int i = 0;
    for (; i < 4 && fuzz_suffixes[i]; i++)
        if (strcmp(fuzz_suffixes[i], suffix) == 0) return fuzz_paths[i];
    if (i == 4) abort();
    if (i == 0) atexit(fuzz_remove_temp_files);
    const char *dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(fuzz_paths[i], sizeof fuzz_paths[i], "%s/seqlab-fuzz-%ld%s", dir, (long)getpid(), suffix);
    fuzz_suffixes[i] = suffix;
    return fuzz_paths[i];
}

/* write data (size bytes) to path, replacing it; aborts if it cannot (the
 * harness would otherwise test nothing) */
static inline void fuzz_write_file(const char *path, const uint8_t *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    if (!f) abort();
    if (size && fwrite(data, 1, size, f) != size) abort();
    if (fclose(f) != 0) abort();
}

#endif
