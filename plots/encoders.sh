#!/bin/sh
# encoders.sh — the figures and tables of experiments/encoders.ini, from its
# summary.csv: accuracy against the number of labelled training examples
# (pre-trained against from scratch, one colour per model, the majority
# baseline) and the ListOps accuracies.  Usage: plots/encoders.sh runs/encoders
# Writes DIR/figures/label_curve.{png,svg}, DIR/figures/data/*.dat and
# prints the tables (Markdown) to stdout.  Needs awk and gnuplot.
set -eu
dir=${1:?usage: plots/encoders.sh runs/encoders}
summary="$dir/summary.csv"
[ -r "$summary" ] || { echo "encoders.sh: cannot read $summary" >&2; exit 1; }
mkdir -p "$dir/figures/data"
data="$dir/figures/data"

# one name per model as the experiment pairs them
# (columns by header name; mean and sd over seeds, sd with n - 1)
awk -F, -v data="$data" '
NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
function kind(   m, a, b) {
    m = $col["model"]; a = $col["architecture"]; b = $col["bidirectional"]
    if (m == "transformer") return a == "encoder" ? "BERT-style" : "GPT-style"
    if (b == "1") return "Bi" toupper(m)
    return toupper(m)
}
{
    k = kind(); acc = $col["val_accuracy"] + 0
    if ($col["task"] == "classify") {
        n = $col["train_examples"] + 0
        key = k SUBSEP ($col["pretrained"] == "1" ? "pre-trained" : "scratch") SUBSEP n
        s[key] += acc; ss[key] += acc * acc; c[key]++
        series[k SUBSEP ($col["pretrained"] == "1" ? "pre-trained" : "scratch")] = 1
        xs[n] = 1; major = $col["majority_accuracy"]
        if ($col["pretrained"] == "0" && n > nall) nall = n
        params[k] = $col["params"]
    } else if ($col["task"] == "listops") {
        ls[k] += acc; lss[k] += acc * acc; lc[k]++; lmajor = $col["majority_accuracy"]; lparams[k] = $col["params"]
    }
}
function sd(sum, sq, n) { return n > 1 ? sqrt((sq - sum * sum / n) / (n - 1) > 0 ? (sq - sum * sum / n) / (n - 1) : 0) : 0 }
END {
    out = data "/label_curve.dat"
    printf "" > out
    nx = 0; for (x in xs) xv[++nx] = x + 0
    for (i = 2; i <= nx; i++) { v = xv[i]; for (j = i - 1; j >= 1 && xv[j] > v; j--) xv[j + 1] = xv[j]; xv[j + 1] = v }
    nb = 0
    printf "" > (data "/label_curve.blocks")
    for (se in series) {
        split(se, p, SUBSEP)
        printf "# %s, %s: train_examples mean sd seeds\n", p[1], p[2] >> out
        for (i = 1; i <= nx; i++) {
            key = p[1] SUBSEP p[2] SUBSEP xv[i]
            if (!(key in c)) continue
            # train_examples 0 is every training example
            printf "%d %.6f %.6f %d\n", xv[i] ? xv[i] : 27992, s[key] / c[key], sd(s[key], ss[key], c[key]), c[key] >> out
        }
        printf "\n\n" >> out
        printf "%d|%s|%s\n", nb++, p[1], p[2] > (data "/label_curve.blocks")
    }
    printf "%s\n", major > (data "/majority.dat")
    # the tables
    print "Verse section (7 classes), validation accuracy, mean ± sd over seeds:"
    print ""
    printf "| model | params | start |"; for (i = 1; i <= nx; i++) printf " %s |", xv[i] ? xv[i] " labels" : "all labels"; print ""
    printf "|---|---|---|"; for (i = 1; i <= nx; i++) printf "---|"; print ""
    for (se in series) {
        split(se, p, SUBSEP)
        printf "| %s | %d | %s |", p[1], params[p[1]], p[2]
        for (i = 1; i <= nx; i++) {
            key = p[1] SUBSEP p[2] SUBSEP xv[i]
            if (key in c) printf " %.3f ± %.3f |", s[key] / c[key], sd(s[key], ss[key], c[key]); else printf " – |"
        }
        print ""
    }
    printf "\nMajority class: %.3f; chance: %.3f.\n\n", major, 1 / 7
    if (length(lc) > 0) {
        print "ListOps (10 classes), validation accuracy, mean ± sd over seeds:"
        print ""
        print "| model | params | accuracy | seeds |"
        print "|---|---|---|---|"
        for (k in lc) printf "| %s | %d | %.3f ± %.3f | %d |\n", k, lparams[k], ls[k] / lc[k], sd(ls[k], lss[k], lc[k]), lc[k]
        printf "\nMajority class: %.3f; chance: 0.100.\n", lmajor
    }
}' "$summary"

major=$(cat "$data/majority.dat")
command -v gnuplot >/dev/null || { echo "encoders.sh: gnuplot not found; tables only" >&2; exit 0; }
# one colour per model, solid pre-trained, dashed from scratch
plot=""
while IFS='|' read -r i model start; do
    case $model in
        BERT-style) lc=1 ;; GPT-style) lc=2 ;; BiLSTM) lc=3 ;; LSTM) lc=4 ;; *) lc=5 ;;
    esac
    if [ "$start" = pre-trained ]; then dt=1; else dt=2; fi
    plot="$plot '$data/label_curve.dat' index $i using 1:2:3 with yerrorlines lw 2 lc $lc dt $dt title '$model, $start',"
done < "$data/label_curve.blocks"
for fmt in png svg; do
    if [ $fmt = png ]; then term="pngcairo size 900,560 font ',11'"; else term="svg size 900,560 font ',11'"; fi
    gnuplot -e "
        set terminal $term;
        set output '$dir/figures/label_curve.$fmt.part';
        set title 'Does pre-training help when labels are few? (KJV verse section, 7 classes)';
        set xlabel 'labelled training examples'; set ylabel 'validation accuracy (mean ± sd, 3 seeds)';
        set logscale x; set xrange [60:45000]; set yrange [0:*]; set key outside right; set grid;
        plot $plot $major with lines lc 'black' dt 3 lw 2 title 'majority class'
    " && mv "$dir/figures/label_curve.$fmt.part" "$dir/figures/label_curve.$fmt"
done
echo "encoders.sh: $dir/figures/label_curve.png" >&2
