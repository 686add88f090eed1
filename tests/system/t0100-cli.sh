#!/bin/sh
# t0100-cli.sh - the zpar program against a real local cluster of two engines:
# cluster start/stop, px, submit/wait/result, status, exit codes, --json.
# TAP on stdout.  Needs $ZPAR (the built zpar program); every wait is bounded
# by `timeout`, scaled by $ZPAR_TEST_TIMEOUT_SCALE (default 1).

if [ -z "$ZPAR" ] || [ ! -x "$ZPAR" ]; then
    echo "1..0 # SKIP ZPAR is not set to the zpar program"
    exit 0
fi
if ! command -v timeout >/dev/null 2>&1; then
    echo "1..0 # SKIP timeout(1) is not installed"
    exit 0
fi

scale=${ZPAR_TEST_TIMEOUT_SCALE:-1}
tmo () { awk -v s="$scale" -v t="$1" 'BEGIN { v = t * s; if (v < 1) v = 1; printf "%d", v + 0.999 }'; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/zpar-t0100.XXXXXX") || exit 1
ZPAR_DIR=$tmp/zpar
export ZPAR_DIR
unset ZPAR_CONNECTION_FILE SLURM_JOB_ID PBS_JOBID ZPAR_LOG
cdir=$ZPAR_DIR/local
out=$tmp/out
err=$tmp/err

# Kill only what this test's cluster recorded, and only if it still runs zpar.
cleanup () {
    if [ -f "$cdir/pids" ]; then
        for pid in $(awk '$1 == "controller" { print $2 } $1 == "engine" { print $3 }' "$cdir/pids"); do
            if [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q zpar; then
                kill -KILL "$pid" 2>/dev/null
            fi
        done
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

have_python=0
if command -v python3 >/dev/null 2>&1; then have_python=1; fi

echo "1..34"
n=0
ok () { n=$((n + 1)); echo "ok $n - $1"; }
not_ok () {
    n=$((n + 1)); echo "not ok $n - $1"
    for f in "$out" "$err"; do [ -s "$f" ] && sed 's/^/# /' "$f" | head -20; done
}
skip () { n=$((n + 1)); echo "ok $n - $1 # SKIP $2"; }
# check DESC COMMAND...: ok if the command succeeds
check () { d=$1; shift; if "$@"; then ok "$d"; else not_ok "$d"; fi; }
# run SECONDS ARGS...: zpar with a bounded time; sets $rc, output in $out/$err
run () { t=$(tmo "$1"); shift; timeout "$t" "$ZPAR" "$@" >"$out" 2>"$err"; rc=$?; }
is_json () { [ "$have_python" = 1 ] && python3 -c 'import json,sys; json.load(sys.stdin)' <"$1"; }
pyget () { python3 -c "import json,sys; d=json.load(sys.stdin); print($2)" <"$1"; }

# --- without a cluster
run 10 --version
check "--version exits 0 and names zpar and libzmq" test "$rc" = 0 -a -n "$(grep 'zpar .*libzmq' "$out")"
run 10 --help
check "--help lists the commands and exit codes" test "$rc" = 0 -a -n "$(grep -i 'exit status' "$out")"
run 10 no-such-command
check "an unknown command exits 2" test "$rc" = 2
run 10 status
check "status without a cluster exits 3 and says how to start one" \
    test "$rc" = 3 -a -n "$(grep 'cluster start' "$err")"

# --- start
run 30 cluster start -n 2
check "cluster start -n 2 exits 0" test "$rc" = 0
check "cluster start prints the client connection file" test "$(cat "$out")" = "$cdir/client.json" -a -f "$cdir/client.json"
check "cluster start records 3 pids" test "$(cat "$cdir/pids" 2>/dev/null | wc -l)" -eq 3
if [ ! -f "$cdir/client.json" ]; then
    echo "Bail out! no cluster: the rest needs one"
    exit 1
fi
run 30 cluster start -n 2
check "a second cluster start in the same place exits 2" test "$rc" = 2 -a -n "$(grep 'already running' "$err")"

# --- px
run 30 px -- echo hello
check "px exits 0" test "$rc" = 0
check "px prefixes output with the engine id" \
    test "$(sort "$out" | tr '\n' '|')" = "[e1] hello|[e2] hello|"
run 30 px --targets 2 -- sh -c 'printf "a\nb"; echo oops >&2'
check "px --targets 2 runs on engine 2 only, partial last line flushed" \
    test "$rc" = 0 -a "$(tr '\n' '|' <"$out")" = "[e2] a|[e2] b|"
check "px stderr lines go to stderr, prefixed" test "$(cat "$err")" = "[e2] oops"
run 30 px -- sh -c 'exit 3'
check "px exits 1 when the command fails" test "$rc" = 1 -a -n "$(grep '^\[e1\] exit status 3' "$err")"
run 10 px --targets 9 -- true
check "px --targets naming no engine exits 2" test "$rc" = 2

# --- submit / wait / result
run 30 submit -- sh -c 'echo out-line; echo err-line >&2'
id=$(cat "$out")
check "submit prints a task id and exits 0" test "$rc" = 0 -a -n "$(echo "$id" | grep -E '^[0-9]+\.[0-9]+$')"
run 30 wait --timeout 20 "$id"
check "wait exits 0 for a successful task" test "$rc" = 0 -a -n "$(grep "^$id ok" "$out")"
run 30 result "$id"
check "result prints the task's stdout and stderr" \
    test "$rc" = 0 -a "$(cat "$out")" = "out-line" -a -n "$(grep '^err-line' "$err")"
run 30 result --json "$id"
if [ "$have_python" = 1 ]; then
    check "result --json is valid JSON with status ok" \
        test "$rc" = 0 -a "$(pyget "$out" "d['status'], d['stdout'], d['exit_code']" 2>/dev/null)" = "ok out-line
 0"
else
    skip "result --json is valid JSON with status ok" "no python3"
fi
run 30 submit -- sh -c 'exit 7'
fid=$(cat "$out")
run 30 wait --timeout 20 "$fid"
check "wait exits 1 for a failed task" test "$rc" = 1
run 30 result "$fid"
check "result exits 1 for a failed task and names the exit code" \
    test "$rc" = 1 -a -n "$(grep 'exit 7' "$err")"
run 30 submit --wait -- sh -c 'echo waited'
check "submit --wait prints the id, the output, and exits 0" \
    test "$rc" = 0 -a "$(sed -n 2p "$out")" = "waited"
run 30 result 999999.1
check "result of an unknown task exits 2 with 'no task'" test "$rc" = 2 -a -n "$(grep 'no task 999999.1' "$err")"
run 10 result not-an-id
check "result of a malformed id exits 2" test "$rc" = 2

# --- status
run 30 status --json
if [ "$have_python" = 1 ]; then
    check "status --json is valid JSON" is_json "$out"
    check "status --json lists 2 engines with id/host/pid/state/outstanding" \
        test "$(pyget "$out" "len([e for e in d['engines'] if set(['id','host','pid','state','outstanding']) <= set(e)])" 2>/dev/null)" = 2
    check "status --json counts completed and failed tasks" \
        test "$(pyget "$out" "int(d['tasks']['completed'] >= 2 and d['tasks']['failed'] >= 1 and 'pending' in d['tasks'] and 'running' in d['tasks'] and 'dropped' in d and 'connection_file' in d)" 2>/dev/null)" = 1
else
    skip "status --json is valid JSON" "no python3"
    skip "status --json lists 2 engines" "no python3"
    skip "status --json counts tasks" "no python3"
fi
run 30 status
check "status (table) exits 0" test "$rc" = 0 -a -n "$(grep '^engines: 2' "$out")"

# --- wait timeout
run 30 submit -- sleep 30
sid=$(cat "$out")
run 30 wait --timeout 0.5 "$sid"
check "wait --timeout exits 4 while the task runs" test "$rc" = 4

# --- missing executable (last before stop: it has upset engines before)
run 30 px -- /nonexistent/zpar-test-cmd
check "px with a missing executable exits 1" test "$rc" = 1
check "px reports the missing executable as [eN] error: ..." test -n "$(grep '^\[e1\] error: ' "$err")"

# --- stop
pids=$(awk '$1 == "controller" { print $2 } $1 == "engine" { print $3 }' "$cdir/pids")
run 30 cluster stop
check "cluster stop exits 0" test "$rc" = 0
gone=1
for pid in $pids; do
    if [ -d "/proc/$pid" ] && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q zpar; then gone=0; fi
done
check "cluster stop leaves no controller or engine running" test "$gone" = 1
check "cluster stop removes the pids and connection files" test ! -e "$cdir/pids" -a ! -e "$cdir/client.json"
run 10 stop
check "stop with no cluster exits 3" test "$rc" = 3
