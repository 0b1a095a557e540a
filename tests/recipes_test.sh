#!/bin/bash
# recipes_test.sh — the README's recipes for more than one machine, run for
# real: GNU parallel (local jobs) and a one-node Slurm cluster (slurmctld
# and slurmd on this machine, munge for authentication), both exactly as
# the README's "Beyond one machine" blocks write them, with the experiment
# file and the host list replaced.
#
#   tests/recipes_test.sh SEQLAB
#
# For each recipe: every run finishes, at least two runs overlap in time
# (the runs are concurrent), summary.csv equals a serial `seqlab run`'s
# (every column but those that measure time), and a second submission
# leaves the finished runs untouched.  The Slurm part needs root (it starts
# the daemons, with a generated slurm.conf in a temporary directory, and
# stops them after); without root or without slurm-wlm/munge it says so
# loudly and skips that part (exit 0), unless SEQLAB_REQUIRE_SLURM=1 (CI),
# when that is a failure.
set -u
SEQLAB=${1:?usage: recipes_test.sh SEQLAB}
SEQLAB=$(cd "$(dirname "$SEQLAB")" && pwd)/$(basename "$SEQLAB")
REPO=$(cd "$(dirname "$0")/.." && pwd)
TMP=$(mktemp -d /tmp/seqlab-recipes-XXXXXX)
chmod 755 "$TMP"
failures=0
SLURM_PIDS=()
cleanup() {
    for p in "${SLURM_PIDS[@]}"; do kill "$p" 2>/dev/null; done
    sleep 0.5
    for p in "${SLURM_PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
    [ -n "${MUNGED_STARTED:-}" ] && kill "$(cat "$MUNGED_PID_FILE" 2>/dev/null)" 2>/dev/null
    [ -n "${MUNGED_STARTED:-}" ] && rm -f "$MUNGED_PID_FILE"
    rm -rf "$TMP"
}
trap cleanup EXIT
fail() { echo "recipes_test: FAIL: $*" >&2; failures=$((failures + 1)); }
say() { echo "recipes_test: $*"; }

# the README's code block after "<!-- recipe: NAME", for experiment file $2
# and, for parallel, this machine alone as the host list
recipe() {
    awk -v name="$1" '$0 ~ "<!-- recipe: " name { on = 1; next }
                      on && /^```sh/ { inblock = 1; next }
                      inblock && /^```/ { exit }
                      inblock { print }' "$REPO/README.md" |
        sed -e "s|experiments/long_range.ini|$2|g" -e 's|-S host1,host2|-S :|'
}

# a small experiment: 4 runs of a synthetic task, a second or two each
setup_dir() {
    local d=$1
    mkdir -p "$d/experiments"
    ln -sf "$SEQLAB" "$d/seqlab"
    cat > "$d/experiments/recipes.ini" <<INI
[experiment]
name = recipes
question = Do the recipes for more than one machine work?
[train]
task = recall
distance = 4
hidden_size = 48
batch_size = 16
steps = 300
eval_every = 100
eval_batches = 2
[grid]
model = rnn, gru
seed = 1, 2
INI
}

# the columns of summary.csv that do not measure time
stable() { cut -d, -f1-20,27-31 "$1"; }

# at least two runs of $1 (a runs/recipes directory) overlap in time:
# config.ini is written when a run starts, run.json last when it ends
check_concurrent() {
    local dir=$1 what=$2
    local spans
    spans=$(for r in "$dir"/*/; do
        [ -f "$r/config.ini" ] && echo "$(stat -c %.9Y "$r/config.ini") $(stat -c %.9Y "$r/run.json")"; done | sort -n)
    [ "$(echo "$spans" | wc -l)" -eq 4 ] || fail "$what: not 4 runs: $spans"
    if ! echo "$spans" | awk 'NR > 1 && $1 < max_end { found = 1 } { if ($2 > max_end) max_end = $2 }
                              END { exit !found }'; then
        fail "$what: no two runs overlapped in time: $spans"
    else
        say "$what: runs (start end, s): $(echo "$spans" | awk 'NR == 1 { t0 = $1 } { printf "[%.2f %.2f] ", $1 - t0, $2 - t0 }')"
    fi
}

check_summary() {
    local got=$1 what=$2
    [ -f "$got" ] || { fail "$what: no $got"; return; }
    [ "$(stable "$TMP/serial/runs/recipes/summary.csv")" = "$(stable "$got")" ] ||
        fail "$what: summary.csv differs from the serial run's:
$(diff <(stable "$TMP/serial/runs/recipes/summary.csv") <(stable "$got"))"
}

# mtimes of every run's run.json (a second submission must not change them)
stamps() { for r in "$1"/*/; do [ -f "$r/run.json" ] && stat -c %.9Y "$r/run.json"; done; }

# ---- the serial reference -------------------------------------------------------------
setup_dir "$TMP/serial"
(cd "$TMP/serial" && ./seqlab run experiments/recipes.ini --no-plot > run.log 2>&1) ||
    { cat "$TMP/serial/run.log"; exit 1; }
[ "$(wc -l < "$TMP/serial/runs/recipes/summary.csv")" -eq 5 ] || { fail "serial: not 4 runs"; exit 1; }

# ---- GNU parallel ---------------------------------------------------------------------------
if command -v parallel > /dev/null; then
    setup_dir "$TMP/parallel"
    mkdir -p "$TMP/home/.parallel" && touch "$TMP/home/.parallel/will-cite"
    recipe parallel experiments/recipes.ini > "$TMP/parallel/recipe.sh"
    [ -s "$TMP/parallel/recipe.sh" ] || fail "no GNU parallel recipe in README.md"
    say "GNU parallel recipe:"; sed 's/^/    /' "$TMP/parallel/recipe.sh"
    (cd "$TMP/parallel" && HOME="$TMP/home" bash -e recipe.sh > recipe.log 2>&1) ||
        fail "parallel recipe exited $?: $(tail -5 "$TMP/parallel/recipe.log")"
    check_concurrent "$TMP/parallel/runs/recipes" parallel
    check_summary "$TMP/parallel/runs/recipes/summary.csv" parallel
    before=$(stamps "$TMP/parallel/runs/recipes")
    (cd "$TMP/parallel" && HOME="$TMP/home" bash -e recipe.sh > recipe2.log 2>&1) ||
        fail "parallel recipe, second time: exit $?"
    [ "$before" = "$(stamps "$TMP/parallel/runs/recipes")" ] || fail "parallel: a second submission rewrote runs"
    [ "$(grep -c 'already finished' "$TMP/parallel/recipe2.log")" -eq 4 ] ||
        fail "parallel: the second submission did not skip the 4 finished runs: $(cat "$TMP/parallel/recipe2.log")"
    say "GNU parallel: 4 runs concurrent, summary.csv equals the serial run's, resubmission skipped them"
else
    fail "GNU parallel is not installed (Debian package parallel)"
fi

# ---- Slurm ------------------------------------------------------------------------------------
slurm_skip() {
    if [ "${SEQLAB_REQUIRE_SLURM:-0}" = 1 ]; then fail "Slurm part cannot run: $*"; return; fi
    echo "recipes_test: ##################################################################" >&2
    echo "recipes_test: SKIPPED the Slurm recipe: $*" >&2
    echo "recipes_test: ##################################################################" >&2
}

run_slurm() {
    local d="$TMP/slurm" host
    host=$(hostname -s)
    mkdir -p "$d/state" "$d/spool"
    setup_dir "$d"
    # munge: the system's daemon if it runs, else one started here
    if ! munge -n < /dev/null > /dev/null 2>&1; then
        mkdir -p /run/munge && chown munge:munge /run/munge && chmod 755 /run/munge
        if [ ! -s /etc/munge/munge.key ]; then
            (umask 077; dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 2>/dev/null)
            chown munge:munge /etc/munge/munge.key
        fi
        # its PID file where the munge user may write it, to stop it after
        MUNGED_PID_FILE=/run/munge/seqlab-recipes-test.pid
        runuser -u munge -- /usr/sbin/munged --pid-file="$MUNGED_PID_FILE" ||
            { fail "cannot start munged"; return; }
        MUNGED_STARTED=1
        munge -n < /dev/null > /dev/null || { fail "munge does not work"; return; }
    fi
    local port=$((20000 + RANDOM % 20000))
    cat > "$d/slurm.conf" <<CONF
ClusterName=seqlabtest
SlurmctldHost=$host
SlurmctldPort=$port
SlurmdPort=$((port + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$d/state
SlurmdSpoolDir=$d/spool
SlurmctldPidFile=$d/slurmctld.pid
SlurmdPidFile=$d/slurmd.pid
SlurmctldLogFile=$d/slurmctld.log
SlurmdLogFile=$d/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SwitchType=switch/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SlurmdParameters=config_overrides
NodeName=$host CPUs=8 RealMemory=2000 State=UNKNOWN
PartitionName=test Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
    export SLURM_CONF="$d/slurm.conf"
    /usr/sbin/slurmctld -D -c -f "$SLURM_CONF" > "$d/slurmctld.out" 2>&1 &
    SLURM_PIDS+=($!)
    /usr/sbin/slurmd -D -f "$SLURM_CONF" > "$d/slurmd.out" 2>&1 &
    SLURM_PIDS+=($!)
    local i
    for i in $(seq 1 60); do
        [ "$(sinfo -h -o %T 2>/dev/null | head -1)" = idle ] && break
        sleep 1
    done
    [ "$(sinfo -h -o %T 2>/dev/null | head -1)" = idle ] ||
        { fail "the Slurm node did not come up: $(tail -5 "$d/slurmctld.log" "$d/slurmd.log" 2>&1)"; return; }
    recipe slurm experiments/recipes.ini > "$d/recipe.sh"
    [ -s "$d/recipe.sh" ] || { fail "no Slurm recipe in README.md"; return; }
    say "Slurm recipe:"; sed 's/^/    /' "$d/recipe.sh"
    wait_queue() {
        for i in $(seq 1 600); do
            [ -z "$(squeue -h 2>/dev/null)" ] && return 0
            sleep 1
        done
        fail "Slurm jobs still queued after 10 minutes: $(squeue)"
    }
    (cd "$d" && bash -e recipe.sh > recipe.log 2>&1) || { fail "Slurm recipe exited $?: $(cat "$d/recipe.log")"; return; }
    wait_queue
    for f in "$d"/slurm-*.out; do grep -q 'seqlab: ' "$f" 2>/dev/null && grep -H 'seqlab: ' "$f" | tail -2; done
    check_concurrent "$d/runs/recipes" slurm
    check_summary "$d/runs/recipes/summary.csv" slurm
    local before
    before=$(stamps "$d/runs/recipes")
    rm -f "$d"/slurm-*.out
    (cd "$d" && bash -e recipe.sh > recipe2.log 2>&1) || fail "Slurm recipe, second time: exit $?"
    wait_queue
    [ "$before" = "$(stamps "$d/runs/recipes")" ] || fail "slurm: a second submission rewrote runs"
    [ "$(cat "$d"/slurm-*.out | grep -c 'already finished')" -eq 4 ] ||
        fail "slurm: the second submission did not skip the 4 finished runs: $(cat "$d"/slurm-*.out)"
    say "Slurm: 4 array tasks concurrent, summary.csv equals the serial run's, resubmission skipped them"
}

if [ "$(id -u)" -ne 0 ]; then slurm_skip "not root (the test starts slurmctld and slurmd)"
elif ! command -v slurmctld > /dev/null || ! command -v munged > /dev/null; then
    slurm_skip "slurm-wlm or munge is not installed"
else run_slurm
fi

if [ $failures -eq 0 ]; then say "passed"; else say "$failures failures"; fi
[ $failures -eq 0 ]
