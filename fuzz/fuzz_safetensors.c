/*
 * fuzz_safetensors.c — libFuzzer harness for the checkpoint reader.
 *
 * Each input is a would-be .safetensors file.  It is loaded the way
 * `seqlab eval --checkpoint` loads one (checkpoint_load_model: the strict
 * format reader, the metadata -> ModelConfig checks, the tensor-by-tensor
 * match against the model).  The sanitizers catch memory errors; the
 * harness itself checks two properties of every file the loader accepts:
 *
 *   - the model's parameter count equals the values in the file (no tensor
 *     missing, none extra);
 *   - saving the model with its metadata and loading that file again gives
 *     the same parameters, bit for bit as float32, and the same metadata.
 *
 * A rejection must come with a message naming the file.  Build and run:
 * `make fuzz` (see fuzz/README.md).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"
#include "fuzz_io.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_temp_path(".safetensors");
    fuzz_write_file(path, data, size);
    char err[2048] = "";
    Meta meta;
    meta_init(&meta);
    Model *m = checkpoint_load_model(path, &meta, err, sizeof err);
    if (!m) {
        /* every rejection names the file */
        if (strstr(err, path) == NULL) {
            fprintf(stderr, "rejection without the file name: %s\n", err);
            abort();
        }
        meta_free(&meta);
        return 0;
    }

    /* accepted: the file held exactly the model's parameters */
    SafeTensors *st = safetensors_read(path, err, sizeof err);
    if (!st) abort();
    size_t values = 0;
    for (int i = 0; i < st->count; i++) values += st->tensors[i].size;
    if (values != model_param_count(m)) {
        fprintf(stderr, "file holds %zu values, model has %zu parameters\n", values,
                model_param_count(m));
        abort();
    }
    safetensors_free(st);

    /* save and reload: the same parameters and metadata */
    const char *again = fuzz_temp_path(".resaved.safetensors");
    if (checkpoint_save(again, &m->params, &meta, err, sizeof err) != 0) {
        /* only metadata that is not UTF-8 may be refused, and the reader
         * would have refused it first */
        fprintf(stderr, "cannot re-save an accepted checkpoint: %s\n", err);
        abort();
    }
    Meta meta2;
    meta_init(&meta2);
    Model *m2 = checkpoint_load_model(again, &meta2, err, sizeof err);
    if (!m2) {
        fprintf(stderr, "cannot reload a re-saved checkpoint: %s\n", err);
        abort();
    }
    /* compared as float32, what the file holds (the double build reads
     * F64 files at full precision but writes F32) */
    if (m2->params.total != m->params.total) abort();
    for (size_t i = 0; i < m->params.total; i++) {
        float a = (float)m->params.value[i], b = (float)m2->params.value[i];
        if (memcmp(&a, &b, sizeof a) != 0) {
            fprintf(stderr, "parameter %zu: %.9g before saving, %.9g after reloading\n", i, (double)a, (double)b);
            abort();
        }
    }
    if (meta2.count != meta.count) abort();
    for (int i = 0; i < meta.count; i++) {
        const char *v = meta_get(&meta2, meta.keys[i]);
        if (!v || strcmp(v, meta.values[i]) != 0) abort();
    }
    model_free(m2);
    meta_free(&meta2);
    model_free(m);
    meta_free(&meta);
    return 0;
}
