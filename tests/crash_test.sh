#!/bin/bash
# crash_test.sh — kill -9 seqlab at chosen and at random instants, resume,
# and compare with a run that was never interrupted.
#
#   tests/crash_test.sh SEQLAB [SECONDS]
#
# SEQLAB is the binary under test.  Three parts:
#   1. chosen instants: SEQLAB_TEST_KILL_AT (core/train.c) kills `seqlab
#      train` at each rename of a checkpoint (before, between and after the
#      two renames, at several checkpoints) and at each point of the final
#      stage (after the last checkpoint: position loss, samples);
#   2. random instants of `seqlab train` (and of its resumes);
#   3. random instants of `seqlab run`, its whole process group killed as a
#      power cut would, then run again until every run is finished.
# After each, the run is resumed until it finishes, and its results must
# equal the uninterrupted run's bit for bit: model.safetensors, the losses
# of metrics.csv, gradients.csv, position_loss.csv, samples.txt, run.json's
# results (the columns that measure time are left out), summary.csv.
# Parts 2 and 3 repeat until SECONDS (default 40) have passed; the count
# of kills is printed.  Exit status 0 when every comparison held.
set -u
SEQLAB=${1:?usage: crash_test.sh SEQLAB [SECONDS]}
SECONDS_WANTED=${2:-40}
SEQLAB=$(cd "$(dirname "$SEQLAB")" && pwd)/$(basename "$SEQLAB")
TMP=$(mktemp -d /tmp/seqlab-crash-XXXXXX)
trap 'rm -rf "$TMP"' EXIT
cd "$TMP" || exit 1
# a small corpus: the run lasts about a second and checkpoints often
awk 'BEGIN { srand(7); for (i = 0; i < 4000; i++) { w = ""; n = 2 + int(rand() * 6);
       for (j = 0; j < n; j++) w = w sprintf("%c", 97 + int(rand() * 8)); printf "%s%s", w, (i % 11 == 10) ? ".\n" : " " } }' > corpus.txt
TRAIN=(--corpus corpus.txt --model lstm --hidden-size 24 --batch-size 4 --seq-len 16 --steps 240
       --eval-every 20 --log-every 10 --save-every 7 --eval-batches 2 --sample-tokens 40 --prompt "ab")
kills=0 failures=0 resumes=0

# sleep a random time below $1 milliseconds
nap() { local ms=$((RANDOM % $1)); sleep "$((ms / 1000)).$(printf '%03d' $((ms % 1000)))"; }

fail() { echo "crash_test: FAIL: $*" >&2; failures=$((failures + 1)); }

# the columns of metrics.csv that do not measure time
losses() { cut -d, -f1,3,4,5,6,7,8 "$1"; }
results() { grep -E '"(step|final_train_loss|final_val_loss|val_accuracy|val_perplexity|chance_loss)"' "$1"; }

# compare run directory $1 (at path run, where the reference was made) with ref/
compare_run() {
    local what=$1
    for f in model.safetensors gradients.csv position_loss.csv samples.txt config.ini; do
        cmp -s "ref/$f" "run/$f" || fail "$what: $f differs"
    done
    [ "$(losses ref/metrics.csv)" = "$(losses run/metrics.csv)" ] || fail "$what: metrics.csv losses differ"
    [ "$(cut -d, -f1 ref/timing.csv)" = "$(cut -d, -f1 run/timing.csv)" ] || fail "$what: timing.csv rows differ"
    [ "$(results ref/run.json)" = "$(results run/run.json)" ] || fail "$what: run.json results differ"
    grep -qE '"status":[[:space:]]*"finished"' run/run.json || fail "$what: run.json is not finished"
    ls run | grep -qE '\.pending$|\.tmp\.' && fail "$what: leftovers: $(ls run | grep -E '\.pending$|\.tmp\.')"
}

# resume until finished (each attempt may itself be killed by the caller's hook)
resume_until_done() {
    local n=0
    while ! grep -qE '"status":[[:space:]]*"finished"' run/run.json 2>/dev/null; do
        n=$((n + 1))
        [ $n -gt 50 ] && { fail "$1: not finished after 50 resumes"; return; }
        if [ -e run/config.ini ]; then
            "$SEQLAB" train --resume run > resume.log 2>&1
        else
            "$SEQLAB" train "${TRAIN[@]}" --out run > resume.log 2>&1
        fi
        local st=$?
        resumes=$((resumes + 1))
        [ $st -eq 0 ] || { fail "$1: resume exited $st: $(tail -2 resume.log)"; return; }
    done
}

"$SEQLAB" train "${TRAIN[@]}" --out run > ref.log 2>&1 || { cat ref.log; exit 1; }
mv run ref

# ---- 1. chosen instants ------------------------------------------------------------
for point in model-pending:1 state-pending:1 state-renamed:1 model-renamed:1 model-pending:3 state-pending:5 \
             state-renamed:9 model-renamed:12 model-pending:17 state-pending:21 state-renamed:26 model-renamed:29 \
             state-renamed:30 model-renamed:34 model-pending:35 state-pending:35 state-renamed:35 model-renamed:35 \
             finish position-loss samples; do
    rm -rf run
    { SEQLAB_TEST_KILL_AT=$point "$SEQLAB" train "${TRAIN[@]}" --out run > run.log 2>&1; } 2>/dev/null
    st=$?
    [ $st -eq 137 ] || fail "$point: expected death by SIGKILL, exit $st"
    kills=$((kills + 1))
    resume_until_done "$point"
    compare_run "$point"
done

# ---- 2. random instants of `seqlab train` -----------------------------------------------
start=$(date +%s)
rounds=0
while [ $(( $(date +%s) - start )) -lt $(( SECONDS_WANTED / 2 )) ] || [ $rounds -lt 3 ]; do
    rounds=$((rounds + 1))
    rm -rf run
    # up to three kills in a row: the run, then its resumes
    for k in 1 2 3; do
        if [ -e run/config.ini ]; then "$SEQLAB" train --resume run > run.log 2>&1 &
        else "$SEQLAB" train "${TRAIN[@]}" --out run > run.log 2>&1 & fi
        pid=$!
        nap 1500
        if kill -9 $pid 2>/dev/null; then kills=$((kills + 1)); fi
        { wait $pid; } 2>/dev/null
    done
    resume_until_done "random $rounds"
    compare_run "random $rounds"
done

# ---- 3. random instants of `seqlab run` ---------------------------------------------------
cat > exp.ini <<INI
[experiment]
name = crash
[train]
corpus = corpus.txt
hidden_size = 16
batch_size = 4
seq_len = 16
steps = 60
eval_every = 20
log_every = 10
save_every = 7
eval_batches = 2
sample_tokens = 20
prompt = ab
[grid]
model = rnn, gru, lstm
INI
summary() { cut -d, -f1-20,27-31 "$1"; }
"$SEQLAB" run exp.ini --jobs 2 --no-plot --runs runs > sref.log 2>&1 || { cat sref.log; exit 1; }
mv runs sref
start=$(date +%s)
rounds=0
while [ $(( $(date +%s) - start )) -lt $(( SECONDS_WANTED / 2 )) ] || [ $rounds -lt 2 ]; do
    rounds=$((rounds + 1))
    rm -rf runs
    for k in 1 2 3; do
        setsid "$SEQLAB" run exp.ini --jobs 2 --no-plot --runs runs > srun.log 2>&1 &
        pid=$!
        nap 2000
        # the whole process group: the runner and the runs it started
        if kill -9 -- -$pid 2>/dev/null; then kills=$((kills + 1)); fi
        { wait $pid; } 2>/dev/null
        sleep 0.05
    done
    "$SEQLAB" run exp.ini --jobs 2 --no-plot --runs runs > srun.log 2>&1 ||
        fail "seqlab run $rounds: exit $?: $(tail -3 srun.log)"
    [ "$(summary sref/crash/summary.csv)" = "$(summary runs/crash/summary.csv)" ] ||
        fail "seqlab run $rounds: summary.csv differs: $(diff <(summary sref/crash/summary.csv) <(summary runs/crash/summary.csv))"
    for r in rnn gru lstm; do
        cmp -s sref/crash/$r/model.safetensors runs/crash/$r/model.safetensors ||
            fail "seqlab run $rounds: $r model.safetensors differs"
        [ "$(losses sref/crash/$r/metrics.csv)" = "$(losses runs/crash/$r/metrics.csv)" ] ||
            fail "seqlab run $rounds: $r metrics.csv losses differ"
        cmp -s sref/crash/$r/samples.txt runs/crash/$r/samples.txt || fail "seqlab run $rounds: $r samples.txt differs"
    done
done

echo "crash_test: $kills kills (kill -9), $resumes resumes, $failures failures"
[ $failures -eq 0 ]
