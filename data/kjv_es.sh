#!/bin/sh
# kjv_es.sh — English-Spanish verse pairs: the King James Bible (Debian's
# bible-kjv) beside the Reina-Valera 1909 (sword-text-sparv, read with
# diatheke), one verse a line, `english<TAB>spanish`, on standard output.
#
#   sh data/kjv_es.sh                       every verse, Genesis 1:1 to Revelation 22:21
#   sh data/kjv_es.sh jn11:35-36 "John 11:35-36"    one range (the KJV's reference, then SWORD's)
#
# Both texts follow the KJV versification; each line is checked to pair the
# same chapter:verse (a mismatch stops with the line and both references).
# A verse that is empty in either text is left out (a pairs file has no
# empty side).  diatheke's Strong's numbers (<G5547>) and trailing spaces
# are removed.  One bible call and one diatheke call for the whole range.
set -eu
kjv_range=${1:-gen1:1-rev22:21}
sword_range=${2:-Gen 1:1-Rev 22:21}
for tool in bible diatheke; do
  command -v $tool >/dev/null || { echo "kjv_es.sh: needs '$tool' (Debian: bible-kjv; diatheke and sword-text-sparv)" >&2; exit 1; }
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# "Ge1:1 In the beginning ..." -> "1:1<TAB>In the beginning ..."
bible -f "$kjv_range" | grep -v '^$' |
  sed -E 's/^[0-9]?[A-Za-z]+([0-9]+:[0-9]+) /\1\t/' > "$tmp/en"
# "Genesis 1:1: EN el principio ..." -> "1:1<TAB>EN el principio ..."; the
# module's name closes the output
diatheke -b spaRV1909eb -f plain -k "$sword_range" | grep -v '^(spaRV1909eb)$' |
  sed -E 's/ *<[GH][0-9]+>//g; s/[[:space:]]+$//; s/^[^0-9]* ([0-9]+:[0-9]+):( |$)/\1\t/' > "$tmp/es"
paste "$tmp/en" "$tmp/es" | awk -F'\t' '
  NF != 4 || $1 != $3 { printf "kjv_es.sh: line %d pairs KJV %s with RV1909 %s\n", NR, $1, $3 > "/dev/stderr"; bad = 1; exit 1 }
  $2 != "" && $4 != "" { print $2 "\t" $4 }
  END { if (NR == 0 && !bad) { print "kjv_es.sh: no verses" > "/dev/stderr"; exit 1 } }'
