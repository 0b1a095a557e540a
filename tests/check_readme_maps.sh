#!/bin/sh
# shellcheck disable=SC2016 # the backticks are literal
# Every function that a README's "Map: equation → ..." table names in
# backticks is defined in the sources: the maps a student follows from an
# equation to its code stay true.  A definition is a line that starts at
# column 0 (the return type) and holds `name(`, in a .c file of the tree.
# Run by `make check`; exits non-zero naming each missing function.
set -eu
cd "$(dirname "$0")/.."

sources=$(find core data experiments -name '*.c'; for d in */; do
    [ -f "$d/README.md" ] && find "$d" -maxdepth 1 -name '*.c'; done)
missing=0
checked=0
for readme in */README.md; do
    # the rows of the tables in the section whose heading says "Map"
    names=$(awk '/^#+ / { on = ($0 ~ /[Mm]ap/) ; next } on && /^\|/' "$readme" |
            grep -o '`[A-Za-z_][A-Za-z0-9_]*`' | tr -d '`' | sort -u)
    for name in $names; do
        checked=$((checked + 1))
        # shellcheck disable=SC2086 # one word per file
        if ! grep -Eq "^[A-Za-z_].*[^A-Za-z0-9_]$name\(" $sources; then
            echo "$readme: the map names \`$name\`, which no .c file defines" >&2
            missing=$((missing + 1))
        fi
    done
done
if [ "$checked" -eq 0 ]; then
    echo "check_readme_maps: no map tables found" >&2
    exit 1
fi
if [ "$missing" -ne 0 ]; then exit 1; fi
echo "check_readme_maps: all $checked functions the README maps name are defined"
