#!/bin/bash
# t0950-sweep-kill.sh - `zpar sweep run` killed with SIGKILL half-way (its
# whole process group), then run again.
#
# (a) private cluster: the controller and engines the runner started (each
#     in its own session) must die with it, and their tasks with them; the
#     rerun may run again only the points that were truly in flight (at
#     most one running per engine, plus one per engine whose result was on
#     its way); no point is missing.
# (b) shared cluster (`zpar cluster start`, --connection-file): the cluster
#     keeps running what the killed runner submitted; the rerun adopts
#     those points' results from the cluster instead of submitting them
#     again: no point runs twice, every point has its result.
# (c) on that cluster, a journal whose tasks in flight are (1) tasks the
#     cluster finished (adopted from its records: not run again) and (2)
#     ids the cluster never saw (a runner killed between its journal
#     commit and its submission: submitted again, once).
# (d) on that cluster, SIGINT half-way (queued tasks aborted), rerun: the
#     running tasks' results are taken over, the aborted ones submitted
#     again: no point runs twice, none is missing.
#
# Every point's command appends its index to one side-effect file, so a
# point that ran twice shows up twice.  Prints the counts.
#
# Needs $ZPAR; every wait is bounded by `timeout` or a deadline scaled by
# $ZPAR_TEST_TIMEOUT_SCALE.  Kills only processes it started or that the
# runner recorded (the cluster's pids file); never by name.

if [ -z "$ZPAR" ] || [ ! -x "$ZPAR" ]; then
    echo "1..0 # SKIP ZPAR is not set"
    exit 0
fi
for tool in python3 timeout setsid; do
    if ! command -v $tool >/dev/null 2>&1; then
        echo "1..0 # SKIP $tool not found"
        exit 0
    fi
done

SCALE=${ZPAR_TEST_TIMEOUT_SCALE:-1}
scaled () { awk -v t="$1" -v s="$SCALE" 'BEGIN { printf "%d", t * s + 0.999 }'; }
T=$(mktemp -d "${TMPDIR:-/tmp}/zpar-t0950-XXXXXX")
export ZPAR_DIR=$T/zpardir
unset ZPAR_CONNECTION_FILE SLURM_JOB_ID PBS_JOBID
RUNNER_PGID=
ENGINES=2

# pids recorded in every pids file under $T (the private clusters' and the
# shared cluster's): "controller PID START", "engine N PID START"
recorded_pids () {
    find "$T" -name pids -type f 2>/dev/null | while read -r f; do
        awk '$1 == "controller" && $2 ~ /^[0-9]+$/ { print $2 }
             $1 == "engine" && $3 ~ /^[0-9]+$/ { print $3 }' "$f"
    done | sort -u
}
# processes (not zombies) whose command line names our directory: the
# clusters' controllers and engines (--dir / connection file under $T) and
# the points' shells (their command names $T/side.*)
ours_alive () {
    ps -eo pid=,stat=,args= | awk -v t="$T" -v me=$$ \
        'index($0, t) && $1 != me && $2 !~ /^Z/ && !/awk/ { print $1 }'
}
cleanup () {
    [ -n "$RUNNER_PGID" ] && kill -KILL -- "-$RUNNER_PGID" 2>/dev/null
    [ -d "$T/shared" ] && timeout "$(scaled 30)" "$ZPAR" cluster stop --dir "$T/shared" \
        > /dev/null 2>&1
    for p in $(recorded_pids); do kill -KILL "$p" 2>/dev/null; done
    rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

n=0
failed=0
ok () {   # ok STATUS NAME (returns STATUS)
    n=$((n + 1))
    if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=$((failed + 1)); fi
    return "$1"
}
diag () { sed 's/^/# /'; }
zp () { timeout "$(scaled 120)" "$ZPAR" "$@"; }
lines () { if [ -f "$1" ]; then wc -l < "$1" | tr -d ' '; else echo 0; fi; }
# points (indexes) that appear more than once / never in a side-effect file
twice () { sort -n "$1" | uniq -d | wc -l | tr -d ' '; }
missing () { # FILE N
    python3 - "$1" "$2" <<'EOF'
import sys
seen = set(l.strip() for l in open(sys.argv[1]) if l.strip())
print(sum(1 for i in range(int(sys.argv[2])) if str(i) not in seen))
EOF
}
# indexes in state S of a JSON report
in_state () { # REPORT STATE
    python3 - "$1" "$2" <<'EOF'
import json, sys
for row in json.load(open(sys.argv[1])):
    if row["state"] == sys.argv[2]:
        print(row["index"])
EOF
}

# sweep NAME SIDEFILE: 40 points, each appends its index to SIDEFILE and
# sleeps a little
write_sweep () {
    cat > "$T/$1.yaml" <<EOF
name: $1
shell: true
command: "echo {i} >> $2; sleep 0.3"
params:
  i: {range: [0, 40]}
workdir: $1.runs
EOF
}

# start the runner in its own process group (setsid); RUNNER_PGID is its pid
start_runner () { # LOG ARGS...
    local log=$1
    shift
    setsid "$ZPAR" sweep run "$@" > "$log" 2>&1 &
    RUNNER_PGID=$!
}
# wait until FILE has at least N lines (or the runner ended, or timeout)
wait_lines () { # FILE N
    local deadline=$(( $(date +%s) + $(scaled 60) ))
    while [ "$(lines "$1")" -lt "$2" ] && [ "$(date +%s)" -lt "$deadline" ] \
          && kill -0 "$RUNNER_PGID" 2>/dev/null; do
        sleep 0.05
    done
}
kill_runner () {
    kill -KILL -- "-$RUNNER_PGID" 2>/dev/null
    wait "$RUNNER_PGID" 2>/dev/null
    RUNNER_PGID=
}

cd "$T" || exit 1

# ---------------------------------------------------------------- (a) private cluster
write_sweep priv "$T/side.priv"
start_runner run1.log priv.yaml -n $ENGINES --quiet
wait_lines side.priv 15
# the private cluster's processes, as the runner recorded them
priv_pids=$(find "$T" -path '*/.cluster/pids' -type f 2>/dev/null -exec awk \
    '$1 == "controller" { print $2 } $1 == "engine" { print $3 }' {} \;)
at_kill=$(lines side.priv)
kill_runner
ok $([ "$at_kill" -ge 15 ] && [ "$at_kill" -lt 40 ]; echo $?) \
    "private: killed the runner's process group half-way ($at_kill of 40 points had started)"
ok $([ -n "$priv_pids" ]; echo $?) "private: the runner recorded its cluster's pids ($(echo $priv_pids))"

# nothing of that sweep may be left: controller, engines, tasks
deadline=$(( $(date +%s) + $(scaled 15) ))
while :; do
    left=""
    for p in $priv_pids; do
        st=$(awk '{ print $3 }' "/proc/$p/stat" 2>/dev/null)
        [ -n "$st" ] && [ "$st" != Z ] && left="$left $p"
    done
    others=$(ours_alive)
    [ -z "$left$others" ] && break
    [ "$(date +%s)" -ge "$deadline" ] && break
    sleep 0.1
done
ok $([ -z "$left$others" ]; echo $?) \
    "private: no controller, engine or task of the killed sweep is left (left:${left:- none}; others: ${others:-none})" \
    || ps -o pid,pgid,sid,stat,args -p "$(echo $left $others | tr ' ' ,)" 2>/dev/null | diag
# kill what is left (the test goes on from a clean state either way)
for p in $left $others; do kill -KILL "$p" 2>/dev/null; done
sleep 0.2
after_kill=$(lines side.priv)
echo "# private: $at_kill points had started at the kill, $after_kill after the cluster was gone"

zp sweep report priv.yaml --format json > priv.before.json 2> /dev/null
running_before=$(in_state priv.before.json running | sort -n)
zp sweep run priv.yaml -n $ENGINES --quiet > run2.log 2>&1
rc=$?
ok $([ $rc -eq 0 ]; echo $?) "private: the rerun exits 0 (got $rc)" || diag < run2.log
dups=$(twice side.priv)
miss=$(missing side.priv 40)
echo "# private: points run twice: $dups (in flight at the kill may run again; at most $((2 * ENGINES)))"
echo "# private: points missing: $miss"
ok $([ "$miss" -eq 0 ]; echo $?) "private: no point is missing ($miss)"
ok $([ "$dups" -le $((2 * ENGINES)) ]; echo $?) \
    "private: only points in flight at the kill ran again ($dups run twice, at most $((2 * ENGINES)))"
bad=0
for i in $(sort -n side.priv | uniq -d); do
    echo "$running_before" | grep -qx "$i" || bad=$((bad + 1))
done
ok $bad "private: every point that ran twice was recorded as running when the runner died"

# ---------------------------------------------------------------- (b) shared cluster
zp cluster start -n $ENGINES --dir "$T/shared" > cs.log 2>&1
ok $? "shared: zpar cluster start" || diag < cs.log
CONN=$T/shared/client.json
write_sweep shared "$T/side.shared"
start_runner run3.log shared.yaml --connection-file "$CONN" --quiet
wait_lines side.shared 15
at_kill=$(lines side.shared)
kill_runner
ok $([ "$at_kill" -ge 15 ] && [ "$at_kill" -lt 40 ]; echo $?) \
    "shared: killed the runner's process group half-way ($at_kill of 40 points had started)"
zp sweep run shared.yaml --connection-file "$CONN" --quiet > run4.log 2>&1
rc=$?
ok $([ $rc -eq 0 ]; echo $?) "shared: the rerun exits 0 (got $rc)" || diag < run4.log
# the rerun is over; nothing of the first run may still be running either
deadline=$(( $(date +%s) + $(scaled 60) ))
while [ "$(date +%s)" -lt "$deadline" ]; do
    busy=$(zp status --connection-file "$CONN" --json 2> /dev/null | python3 -c '
import json, sys
t = json.load(sys.stdin)["tasks"]
print(t["pending"] + t["running"])' 2> /dev/null)
    [ "$busy" = 0 ] && break
    sleep 0.2
done
dups=$(twice side.shared)
miss=$(missing side.shared 40)
echo "# shared: points run twice: $dups; points missing: $miss"
ok $([ "$dups" -eq 0 ]; echo $?) "shared: no point ran twice ($dups)"
ok $([ "$miss" -eq 0 ]; echo $?) "shared: no point is missing ($miss)"
zp sweep report shared.yaml --format json > shared.json 2> /dev/null
nsucc=$(in_state shared.json succeeded | wc -l)
ok $([ "$nsucc" -eq 40 ]; echo $?) "shared: all 40 points have their result ($nsucc succeeded)"
# ---------------------------------------------------------------- (c) adopt / resubmit
if command -v sqlite3 > /dev/null 2>&1; then
    cat > "$T/c.yaml" <<EOF
name: c
shell: true
command: "echo {i} >> $T/side.c"
params:
  i: {range: [0, 10]}
workdir: c.runs
EOF
    zp sweep run c.yaml --connection-file "$CONN" --quiet > run5.log 2>&1
    ok $? "adopt: a first run of 10 points" || diag < run5.log
    # points 0-2: in flight with the ids of their finished tasks; points 3-4:
    # in flight with ids the cluster never saw
    sqlite3 c.yaml.journal.sqlite \
        "UPDATE points SET state = 'running', inflight = task_id WHERE idx < 3;
         UPDATE points SET state = 'running', inflight = '4000000.' || idx WHERE idx IN (3, 4);"
    zp sweep run c.yaml --connection-file "$CONN" > run6.log 2>&1
    rc=$?
    ok $([ $rc -eq 0 ]; echo $?) "adopt: the rerun exits 0 (got $rc)" || diag < run6.log
    runs=$(for i in 0 1 2 3 4 5; do printf '%s ' "$(grep -cx "$i" side.c)"; done)
    ok $([ "$runs" = "1 1 1 2 2 1 " ]; echo $?) \
        "adopt: finished tasks taken from the records, unknown ids submitted again once (runs of points 0-5: $runs)" \
        || diag < run6.log
    grep -q '5 points submitted by an earlier run were taken over' run6.log
    ok $? "adopt: the runner says what it took over" || diag < run6.log
    zp sweep report c.yaml --format json > c.json 2> /dev/null
    nsucc=$(in_state c.json succeeded | wc -l)
    ok $([ "$nsucc" -eq 10 ]; echo $?) "adopt: all 10 points succeeded ($nsucc)"
else
    echo "# sqlite3 not found: adoption checks skipped"
fi

# ---------------------------------------------------------------- (d) SIGINT, shared
# the interrupted run aborts its queued tasks; the rerun takes over the
# tasks that were running (their results) and submits the aborted ones again
write_sweep intr "$T/side.intr"
"$ZPAR" sweep run intr.yaml --connection-file "$CONN" --quiet > run7.log 2>&1 &
RUNNER_PGID=$!
wait_lines side.intr 12
kill -INT "$RUNNER_PGID" 2>/dev/null
wait "$RUNNER_PGID"
rc=$?
RUNNER_PGID=
ok $([ $rc -eq 130 ]; echo $?) "interrupt: SIGINT half-way, exit 130 (got $rc)" || diag < run7.log
zp sweep run intr.yaml --connection-file "$CONN" > run8.log 2>&1
rc=$?
ok $([ $rc -eq 0 ]; echo $?) "interrupt: the rerun exits 0 (got $rc)" || diag < run8.log
deadline=$(( $(date +%s) + $(scaled 60) ))
while [ "$(date +%s)" -lt "$deadline" ]; do
    busy=$(zp status --connection-file "$CONN" --json 2> /dev/null | python3 -c '
import json, sys
t = json.load(sys.stdin)["tasks"]
print(t["pending"] + t["running"])' 2> /dev/null)
    [ "$busy" = 0 ] && break
    sleep 0.2
done
dups=$(twice side.intr)
miss=$(missing side.intr 40)
echo "# interrupt: points run twice: $dups; points missing: $miss"
ok $([ "$dups" -eq 0 ] && [ "$miss" -eq 0 ]; echo $?) \
    "interrupt: no point ran twice ($dups), none is missing ($miss)"
grep 'taken over' run8.log | tail -1 | diag

zp cluster stop --dir "$T/shared" > /dev/null 2>&1
ok $? "shared: zpar cluster stop"

echo "1..$n"
[ $failed -eq 0 ]
