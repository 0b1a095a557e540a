#!/bin/sh
# The folders are layers, and a model is named only by its own folder and
# its registry line.  Fails naming each line that breaks one of these rules:
#   - data/ includes nothing of core/ but the base headers real.h, util.h
#     and batch.h (no model interface);
#   - the model layer (core's ops, params, model, registry, recurrent*,
#     vecmath, parallel and the model folders) includes nothing of data/;
#   - outside the model folders, core/registry.c and tests/, no C source
#     names a model kind as a string ("rnn", "lstm", "gru", "transformer"):
#     everything else asks the registry.
# Run by `make check`.
set -eu
cd "$(dirname "$0")/.."
bad=0
found=$(mktemp)
trap 'rm -f "$found"' EXIT

for f in data/*.c data/*.h; do
    grep -Hn '^#include "' "$f" | while IFS= read -r line; do
        inc=$(printf '%s\n' "$line" | sed 's/.*#include "\([^"]*\)".*/\1/')
        case "$inc" in
            real.h | util.h | batch.h | data.h | tokenizer.h | task_impl.h | pairs.h) ;;
            *) echo "$line: data/ may include only core's real.h, util.h and batch.h" ;;
        esac
    done
done > "$found"
model_layer="core/ops.c core/ops_fast.c core/ops.h core/params.c core/params.h core/model.c core/model.h
             core/registry.c core/registry.h core/recurrent.c core/recurrent_split.c core/recurrent.h
             core/vecmath.c core/vecmath.h core/parallel.c core/parallel.h core/batch.c core/batch.h
             rnn/*.c lstm/*.c gru/*.c transformer/*.c transformer/*.h mingru/*.c mingru/*.h"
# shellcheck disable=SC2086 # one word per file
grep -Hn '^#include "\(data\|tokenizer\|task_impl\)\.h"' $model_layer |
    sed 's/$/: the model layer may not include data\//' >> "$found" || true
sources=$(find core data experiments -name '*.c' -o -name '*.h' | grep -v '^core/registry\.c$')
# shellcheck disable=SC2086
grep -HnE '"(rnn|lstm|gru|transformer)"' $sources |
    sed 's/$/: names a model kind; ask the registry (core\/registry.h)/' >> "$found" || true
if [ -s "$found" ]; then
    cat "$found" >&2
    bad=1
fi
[ $bad -eq 0 ] && echo "check_layers: data/ and the model layer keep to their layers; no model kind named outside the registry"
exit $bad
