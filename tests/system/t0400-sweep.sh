#!/bin/bash
# t0400-sweep.sh - `zpar sweep run|status|report` end to end, on the
# private local cluster the runner starts and stops itself.
#
# Covers: failing, crashing and timed-out points; a rerun skips what
# succeeded (markers not rewritten, attempts unchanged); --retry-failed; an
# edited sweep file (new points run, removed ones reported); resume after
# SIGKILL of the runner and of the private cluster half-way; bad input
# (exit 2, FILE:LINE:COLUMN); CSV/JSON reports that parse.
#
# Needs $ZPAR (the zpar program); every wait is bounded by `timeout`,
# scaled by $ZPAR_TEST_TIMEOUT_SCALE.

if [ -z "$ZPAR" ] || [ ! -x "$ZPAR" ]; then
    echo "1..0 # SKIP ZPAR is not set"
    exit 0
fi
for tool in python3 timeout; do
    if ! command -v $tool >/dev/null 2>&1; then
        echo "1..0 # SKIP $tool not found"
        exit 0
    fi
done

SCALE=${ZPAR_TEST_TIMEOUT_SCALE:-1}
scaled () { awk -v t="$1" -v s="$SCALE" 'BEGIN { printf "%d", t * s + 0.999 }'; }
T=$(mktemp -d "${TMPDIR:-/tmp}/zpar-t0400-XXXXXX")
export ZPAR_DIR=$T/zpardir
unset ZPAR_CONNECTION_FILE SLURM_JOB_ID PBS_JOBID
RUNNER_PID=

# pids of the private clusters' processes (any .cluster/pids under $T;
# lines "controller PID START" and "engine N PID START")
cluster_pids () {
    find "$T" -path '*/.cluster/pids' -type f 2>/dev/null | while read -r f; do
        awk '$1 == "controller" && $2 ~ /^[0-9]+$/ { print $2 }
             $1 == "engine" && $3 ~ /^[0-9]+$/ { print $3 }' "$f"
    done | sort -u
}
cleanup () {
    [ -n "$RUNNER_PID" ] && kill -KILL "$RUNNER_PID" 2>/dev/null
    for p in $(cluster_pids); do kill -KILL "$p" 2>/dev/null; done
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

# json_check FILE PYTHON-EXPR: evaluate EXPR with r = {index: row} of the JSON report
json_check () {
    python3 - "$1" "$2" <<'EOF'
import json, sys
rows = json.load(open(sys.argv[1]))
r = {row["index"]: row for row in rows}
sys.exit(0 if eval(sys.argv[2]) else 1)
EOF
}
lines () { if [ -f "$1" ]; then wc -l < "$1" | tr -d ' '; else echo 0; fi; }

# ---------------------------------------------------------------- failures
cd "$T" || exit 1
cat > mixed.yaml <<'EOF'
name: mixed
shell: true
command: "echo {i} >> {i}.marker; case {i} in 1) exit 3;; 2) kill -SEGV $$;; 3) exec sleep 60;; esac; echo out{i}; echo err{i} >&2"
params:
  i: {range: [0, 6]}
timeout: 2
workdir: work
EOF
zp sweep run mixed.yaml -n 2 > out.txt 2> err.txt
rc=$?
ok $([ $rc -eq 1 ]; echo $?) "a sweep with failing points exits 1 (got $rc)"
grep -q "6 points: 3 succeeded, 3 failed, 0 skipped" err.txt
ok $? "summary counts 3 succeeded, 3 failed" || diag < err.txt
zp sweep report mixed.yaml --format json -o mixed.json
ok $? "report --format json -o"
json_check mixed.json 'len(r) == 6 and all(r[i]["state"] == "succeeded" and r[i]["exit_code"] == 0 for i in (0, 4, 5))'
ok $? "points 0, 4, 5 succeeded"
json_check mixed.json 'r[1]["state"] == "failed" and r[1]["exit_code"] == 3 and r[1]["attempts"] == 1'
ok $? "point 1 failed with exit code 3"
json_check mixed.json 'r[2]["state"] == "failed" and r[2]["signal"] == 11'
ok $? "point 2 failed, killed by signal 11"
json_check mixed.json 'r[3]["state"] == "failed" and r[3]["wall_s"] is not None and 1.5 < r[3]["wall_s"] < 30'
ok $? "point 3 timed out (failed after about 2 s)"
grep -qx out0 mixed.out/0.out && grep -qx err0 mixed.out/0.err
ok $? "the point's stdout and stderr are in its files"
[ "$(lines work/0.marker)" = 1 ] && [ "$(lines work/1.marker)" = 1 ]
ok $? "each point ran once, in its workdir"
zp sweep report mixed.yaml > mixed.csv
python3 - mixed.csv <<'EOF'
import csv, sys
rows = list(csv.reader(open(sys.argv[1], newline="")))
assert rows[0][:4] == ["index", "i", "state", "exit_code"], rows[0]
assert len(rows) == 7 and all(len(x) == len(rows[0]) for x in rows)
assert open(sys.argv[1], "rb").read().count(b"\r\n") == 7
EOF
ok $? "report CSV parses (header, 6 rows, CRLF)"

# ---------------------------------------------------------------- rerun
zp sweep run mixed.yaml -n 2 > out.txt 2> err.txt
rc=$?
ok $([ $rc -eq 1 ]; echo $?) "rerun exits 1 (failed points remain)"
grep -q "3 skipped (already done)" err.txt && grep -q "3 skipped (failed before" err.txt
ok $? "rerun skips succeeded and failed points" || diag < err.txt
[ "$(lines work/0.marker)" = 1 ] && [ "$(lines work/4.marker)" = 1 ] && [ "$(lines work/1.marker)" = 1 ]
ok $? "no point ran again (markers not rewritten)"
zp sweep report mixed.yaml --format json > mixed2.json
json_check mixed2.json 'all(r[i]["attempts"] == 1 for i in range(6))'
ok $? "attempts did not increase"

# ---------------------------------------------------------------- --retry-failed
zp sweep run mixed.yaml -n 2 --retry-failed > out.txt 2> err.txt
rc=$?
ok $([ $rc -eq 1 ]; echo $?) "--retry-failed exits 1 (they fail again)"
[ "$(lines work/1.marker)" = 2 ] && [ "$(lines work/2.marker)" = 2 ] && [ "$(lines work/0.marker)" = 1 ]
ok $? "--retry-failed ran the failed points only"
zp sweep report mixed.yaml --format json > mixed3.json
json_check mixed3.json 'r[1]["attempts"] == 2 and r[0]["attempts"] == 1'
ok $? "attempts of a retried point grew to 2"

# ---------------------------------------------------------------- edited file
sed -i 's/i: {range: \[0, 6\]}/i: [0, 1, 2, 3, 4, 6, 7]/' mixed.yaml
zp sweep run mixed.yaml -n 2 > out.txt 2> err.txt
rc=$?
ok $([ $rc -eq 1 ]; echo $?) "edited sweep runs (exit 1: failed points remain)"
[ "$(lines work/6.marker)" = 1 ] && [ "$(lines work/7.marker)" = 1 ] && [ "$(lines work/0.marker)" = 1 ]
ok $? "new points ran, old ones did not"
grep -q "1 point in the journal is no longer in the sweep" err.txt && grep -q 'removed: point 5 {"i":5}' err.txt
ok $? "the removed point is reported" || diag < err.txt
zp sweep status mixed.yaml > status.txt
ok $? "status exits 0"
grep -Eq "succeeded +4" status.txt && grep -Eq "failed +3" status.txt && grep -Eq "removed +1" status.txt
ok $? "status: 4 succeeded (0, 4, 6, 7), 3 failed, 1 removed" || diag < status.txt
zp sweep status mixed.yaml --json > status.json
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["points"] == 7 and len(d["removed"]) == 1' status.json
ok $? "status --json parses"

# ---------------------------------------------------------------- bad input
printf 'name: bad\ncommand: ["echo", "{y}"]\nparams:\n  x: [1]\n' > bad.yaml
zp sweep run bad.yaml > out.txt 2> err.txt
rc=$?
ok $([ $rc -eq 2 ]; echo $?) "bad sweep file exits 2 (got $rc)"
grep -Eq '^zpar: bad\.yaml:2:[0-9]+: .*\{y\}' err.txt
ok $? "error as zpar: FILE:LINE:COLUMN: message" || diag < err.txt
[ ! -e bad.yaml.journal.sqlite ] && [ ! -e bad.out ]
ok $? "nothing ran (no journal, no output)"
zp sweep run 2> err.txt
ok $([ $? -eq 2 ]; echo $?) "no file: exit 2"
zp sweep report mixed.yaml --format xml > /dev/null 2> err.txt
ok $([ $? -eq 2 ]; echo $?) "bad report format: exit 2"

# ---------------------------------------------------------------- SIGKILL and resume
cat > slow.yaml <<'EOF'
name: slow
shell: true
command: "sleep 0.1; echo {i} >> {i}.mark"
params:
  i: {range: [0, 40]}
workdir: runs
EOF
mkdir -p runs
"$ZPAR" sweep run slow.yaml -n 2 --quiet > /dev/null 2>&1 &
RUNNER_PID=$!
deadline=$(( $(date +%s) + $(scaled 60) ))
while [ "$(ls runs | wc -l)" -lt 15 ] && [ "$(date +%s)" -lt "$deadline" ] \
      && kill -0 $RUNNER_PID 2>/dev/null; do
    sleep 0.05
done
done_before=$(ls runs | wc -l)
kill -KILL $RUNNER_PID 2>/dev/null
for p in $(cluster_pids); do kill -KILL "$p" 2>/dev/null; done
wait $RUNNER_PID 2>/dev/null
RUNNER_PID=
ok $([ "$done_before" -ge 15 ] && [ "$done_before" -lt 40 ]; echo $?) \
    "killed the runner and its cluster half-way ($done_before of 40 points had run)"
zp sweep report slow.yaml > before.csv
succ_before=$(awk -F, 'NR > 1 && $3 == "succeeded" { print $1 }' before.csv)
echo "# $(echo $succ_before | wc -w) points recorded as succeeded before the rerun"
zp sweep run slow.yaml -n 2 > out.txt 2> err.txt
rc=$?
ok $([ $rc -eq 0 ]; echo $?) "the rerun exits 0 (got $rc)" || diag < err.txt
zp sweep report slow.yaml --format json > slow.json
json_check slow.json 'len(r) == 40 and all(x["state"] == "succeeded" for x in r.values())'
ok $? "all 40 points succeeded"
bad=0
for i in $succ_before; do [ "$(lines runs/$i.mark)" = 1 ] || bad=$((bad + 1)); done
ok $bad "no point recorded as succeeded ran again"
missing=0
for i in $(seq 0 39); do [ "$(lines runs/$i.mark)" -ge 1 ] || missing=$((missing + 1)); done
ok $missing "every point ran at least once"

# ---------------------------------------------------------------- nothing left
sleep 0.2
alive=0
for p in $(cluster_pids); do kill -0 "$p" 2>/dev/null && alive=$((alive + 1)); done
# processes started with our directory on their command line (the private
# clusters' controllers and engines get --dir / a connection file under $T)
left=$(ps -eo pid=,args= | awk -v t="$T" -v me=$$ 'index($0, t) && $1 != me && !/awk/' | wc -l)
ok $((alive + left)) "no private cluster process left running"

echo "1..$n"
[ $failed -eq 0 ]
