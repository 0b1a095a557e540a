/*
 * fuzz_shell_quote.c — libFuzzer harness for shell_quote (core/util.c), the
 * one routine that writes a value into a shell command (`seqlab run
 * --list`, which the Slurm and GNU parallel recipes execute).
 *
 * Each input, up to its first NUL (a C string cannot hold one), is quoted
 * and split back by the shell's rules (shell_split.h): it must come back as
 * exactly one word, equal to the input, with nothing a shell would act on
 * outside quotes.  The length shell_quote reports must be the length it
 * writes, and a short buffer must get a cut, terminated prefix.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shell_split.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *value = malloc(size + 1);
    memcpy(value, data, size);
    value[size] = '\0';
    size_t need = shell_quote(NULL, 0, value);
    char *quoted = malloc(need + 1);
    if (shell_quote(quoted, need + 1, value) != need || strlen(quoted) != need) {
        fprintf(stderr, "shell_quote: reported %zu bytes, wrote %zu\n", need, strlen(quoted));
        abort();
    }
    char *words[2];
    int n = shell_split(quoted, words, 2);
    if (n != 1 || strcmp(words[0], value) != 0) {
        fprintf(stderr, "shell_quote: '%s' quoted as [%s] splits into %d words%s%s\n", value, quoted, n,
                n == 1 ? ": " : "", n == 1 ? words[0] : "");
        abort();
    }
    shell_split_free(words, n);
    /* a buffer too small: a terminated prefix of the full quoting */
    if (need > 0) {
        char small[8];
        shell_quote(small, sizeof small, value);
        if (strlen(small) >= sizeof small || strncmp(small, quoted, strlen(small)) != 0) abort();
    }
    free(quoted);
    free(value);
    return 0;
}
