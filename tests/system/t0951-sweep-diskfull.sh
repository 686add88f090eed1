#!/bin/bash
# t0951-sweep-diskfull.sh - the sweep journal's filesystem fills up
# mid-sweep.
#
# The journal lives on a small tmpfs this test mounts (root only; unmounted
# by the exit trap, nothing left mounted).  Once some points have run, the
# tmpfs is filled to the last block.  The runner must stop cleanly with a
# clear error (exit 1, "journal" and the system's reason on stderr), leave
# no process of its private cluster behind, and record nothing as done that
# was not: every point the journal says succeeded has run.  With the space
# back, a rerun finishes the sweep; the points run twice (those whose end
# could not be recorded) are counted and bounded by the window.
#
# Needs $ZPAR and root (mount); every wait is bounded by `timeout` or a
# deadline scaled by $ZPAR_TEST_TIMEOUT_SCALE.

if [ -z "$ZPAR" ] || [ ! -x "$ZPAR" ]; then
    echo "1..0 # SKIP ZPAR is not set"
    exit 0
fi
if [ "$(id -u)" != 0 ]; then
    echo "1..0 # SKIP mounting a tmpfs needs root"
    exit 0
fi
for tool in python3 timeout mount umount mountpoint dd; do
    if ! command -v $tool >/dev/null 2>&1; then
        echo "1..0 # SKIP $tool not found"
        exit 0
    fi
done

SCALE=${ZPAR_TEST_TIMEOUT_SCALE:-1}
scaled () { awk -v t="$1" -v s="$SCALE" 'BEGIN { printf "%d", t * s + 0.999 }'; }
T=$(mktemp -d "${TMPDIR:-/tmp}/zpar-t0951-XXXXXX")
export ZPAR_DIR=$T/zpardir
unset ZPAR_CONNECTION_FILE SLURM_JOB_ID PBS_JOBID
RUNNER_PID=
MNT=$T/jfs
WINDOW=2
mkdir -p "$MNT"

recorded_pids () {
    find "$T" -name pids -type f 2>/dev/null | while read -r f; do
        awk '$1 == "controller" && $2 ~ /^[0-9]+$/ { print $2 }
             $1 == "engine" && $3 ~ /^[0-9]+$/ { print $3 }' "$f"
    done | sort -u
}
cleanup () {
    [ -n "$RUNNER_PID" ] && kill -KILL "$RUNNER_PID" 2>/dev/null && wait "$RUNNER_PID" 2>/dev/null
    for p in $(recorded_pids); do kill -KILL "$p" 2>/dev/null; done
    if mountpoint -q "$MNT"; then
        umount "$MNT" 2>/dev/null || { sleep 1; umount "$MNT" 2>/dev/null; } || umount -l "$MNT"
    fi
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

if ! mount -t tmpfs -o size=16m,mode=0700 zpar-t0951 "$MNT" 2> "$T/mount.err"; then
    echo "1..0 # SKIP cannot mount a tmpfs: $(cat "$T/mount.err" 2>/dev/null)"
    exit 0
fi
J=$MNT/full.journal.sqlite
cd "$T" || exit 1

# 40 points, each appends its index to side; a long parameter makes every
# journal row about a page, so the journal must grow as the sweep goes on
pad=$(head -c 3000 /dev/zero | tr '\0' x)
cat > full.yaml <<EOF
name: full
shell: true
command: "echo {i} >> $T/side; sleep 0.2"
params:
  i: {range: [0, 40]}
  pad: ["$pad"]
workdir: full.runs
EOF

"$ZPAR" sweep run full.yaml -n 2 --window $WINDOW --journal "$J" > run1.out 2> run1.err &
RUNNER_PID=$!
deadline=$(( $(date +%s) + $(scaled 60) ))
while [ "$(lines side)" -lt 8 ] && [ "$(date +%s)" -lt "$deadline" ] \
      && kill -0 $RUNNER_PID 2>/dev/null; do
    sleep 0.05
done
at_fill=$(lines side)
dd if=/dev/zero of="$MNT/fill" bs=4k > /dev/null 2>&1
ok $([ "$at_fill" -ge 8 ] && [ "$at_fill" -lt 40 ]; echo $?) \
    "filled the journal's filesystem half-way ($at_fill of 40 points had started; $(df -k "$MNT" | awk 'NR == 2 { print $4 }') KiB free)"

# the runner stops by itself
deadline=$(( $(date +%s) + $(scaled 60) ))
while kill -0 $RUNNER_PID 2>/dev/null && [ "$(date +%s)" -lt "$deadline" ]; do sleep 0.1; done
if kill -0 $RUNNER_PID 2>/dev/null; then
    ok 1 "the runner stopped by itself on the full journal (still running after $(scaled 60) s)"
    kill -KILL $RUNNER_PID 2>/dev/null
    wait $RUNNER_PID 2>/dev/null
    rc=-1
else
    wait $RUNNER_PID
    rc=$?
    ok 0 "the runner stopped by itself on the full journal"
fi
RUNNER_PID=
at_stop=$(lines side)
ok $([ $rc -eq 1 ]; echo $?) "it exits 1 (got $rc; $at_stop of 40 points had started)" \
    || diag < run1.err
grep -i 'journal' run1.err | grep -qi 'space\|full'
ok $? "its error names the journal and the full disk" || diag < run1.err
grep -i 'journal' run1.err | head -3 | diag

# no process of its private cluster is left
alive=0
for p in $(recorded_pids); do
    st=$(awk '{ print $3 }' "/proc/$p/stat" 2>/dev/null)
    [ -n "$st" ] && [ "$st" != Z ] && alive=$((alive + 1))
done
ok $alive "no process of the private cluster is left ($alive)"

# space back: nothing recorded as done that was not
rm -f "$MNT/fill"
zp sweep report full.yaml --journal "$J" --format json > report1.json 2> report1.err
ok $? "the journal is readable after the disk-full stop" || diag < report1.err
bad=$(python3 - report1.json side <<'EOF'
import json, sys
ran = set(l.strip() for l in open(sys.argv[2]) if l.strip())
rows = json.load(open(sys.argv[1]))
print(sum(1 for r in rows if r["state"] == "succeeded" and str(r["index"]) not in ran))
EOF
)
nsucc=$(python3 -c 'import json,sys; print(sum(1 for r in json.load(open(sys.argv[1])) if r["state"] == "succeeded"))' report1.json)
ok $([ "$bad" = 0 ]; echo $?) \
    "nothing recorded as succeeded that did not run ($nsucc recorded, $bad of them never ran)"

zp sweep run full.yaml -n 2 --window $WINDOW --journal "$J" --quiet > run2.out 2> run2.err
rc=$?
ok $([ $rc -eq 0 ]; echo $?) "with the space back, the rerun finishes the sweep (exit $rc)" \
    || diag < run2.err
dups=$(sort -n side | uniq -d | wc -l | tr -d ' ')
miss=$(python3 - side <<'EOF'
import sys
seen = set(l.strip() for l in open(sys.argv[1]) if l.strip())
print(sum(1 for i in range(40) if str(i) not in seen))
EOF
)
echo "# points run twice: $dups (their end could not be recorded; at most $((2 * WINDOW))); missing: $miss"
ok $([ "$miss" -eq 0 ]; echo $?) "no point is missing ($miss)"
ok $([ "$dups" -le $((2 * WINDOW)) ]; echo $?) \
    "the runner stopped at once: $dups points ran twice (at most $((2 * WINDOW)))"

cd /
if umount "$MNT"; then ok 0 "tmpfs unmounted"; else ok 1 "tmpfs unmounted"; fi

echo "1..$n"
[ $failed -eq 0 ]
