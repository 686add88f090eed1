#!/bin/bash
# bench/store.sh [BURST [TOTAL]] - the controller's memory and its task
# records under a burst of pipelined no-op tasks (issue 11, "Memory").
#
# Starts a private 2-engine cluster (zpar from $ZPAR_BUILD, a build
# directory), then:
#   1. one burst: BURST (default 100000) no-op function tasks submitted
#      without waiting, then all waited for (with WINDOW set: WINDOW at a
#      time, each lot waited for: what a bounded intake would give); prints
#      the controller's peak RSS (VmHWM) and its RSS after, the task
#      database's size (database + WAL) and bytes per finished record;
#   2. more bursts of BURST until TOTAL tasks (default: BURST, none more)
#      have run, printing the controller's RSS after each ("settled RSS").
# SETTLE=SECONDS: how long after each further burst the RSS is read
# (default 0.3).  With PERF=1 the controller's threads are measured over the first burst
# (perf stat --per-thread: task-clock, context switches and instructions per
# task; the hub is the main thread).
# Output: "key value" lines.  Stops the cluster on exit (trap).
set -u
export LC_ALL=C
BURST=${1:-100000}
TOTAL=${2:-$BURST}
BENCH=$(cd "$(dirname "$0")" && pwd)
SRC=$(dirname "$BENCH")
ZB=$(cd "${ZPAR_BUILD:-$SRC/build}" && pwd)
ZPAR="$ZB/zpar"
WORK=$(mktemp -d /tmp/zpar-store.XXXXXX)
export ZPAR_DIR="$WORK/zpar"
export ZPAR_BENCH_TIMEOUT=${ZPAR_BENCH_TIMEOUT:-600}
unset ZPAR_CONNECTION_FILE SLURM_JOB_ID PBS_JOBID
CD="$ZPAR_DIR/local"
cc -O2 -fPIC -shared -I"$SRC/include" -o "$WORK/noop.so" "$BENCH/noop.c" &&
    cc -O2 -I"$SRC/include" -o "$WORK/zb" "$BENCH/zpar-bench.c" -L"$ZB/.libs" \
        -Wl,-rpath,"$ZB/.libs" -lzpar || exit 1
CPID=
cleanup() {
    timeout 20 "$ZPAR" cluster stop >/dev/null 2>&1
    if [ -n "$CPID" ]; then
        for _ in $(seq 1 50); do kill -0 "$CPID" 2>/dev/null || break; sleep 0.1; done
        kill -0 "$CPID" 2>/dev/null && kill -KILL "$CPID"
    fi
    [ "${KEEP:-0}" = 1 ] || rm -rf "$WORK"
}
trap cleanup EXIT
mkdir -p "$ZPAR_DIR"
"$WORK/zb" start 2 30 -- "$ZPAR" cluster start -n 2 ${START_ARGS:-} >/dev/null 2>"$WORK/start.err" || {
    cat "$WORK/start.err" >&2
    exit 1
}
CPID=$(sed -n 's/.*"pid"[ ]*:[ ]*\([0-9][0-9]*\).*/\1/p' "$CD/client.json" | head -1)
st() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }
sleep 1
echo "rss_idle_kb $(st "$CPID" VmRSS)"
echo "hwm_idle_kb $(st "$CPID" VmHWM)"
if [ "${PERF:-0}" = 1 ]; then
    perf stat --per-thread -e task-clock,context-switches,instructions -p "$CPID" -o "$WORK/perf.out" &
    PP=$!
    sleep 0.3
fi
"$WORK/zb" tput inline "$WORK/noop.so" "$BURST" "${WINDOW:-$BURST}" | sed 's/^/burst_/'
sleep 0.5
if [ "${PERF:-0}" = 1 ]; then
    kill -INT "$PP"
    wait "$PP"
    # the hub runs on the controller's main thread (its tid is the pid)
    awk -v n="$BURST" -v hub="zpar-$CPID" '/task-clock|context-switches|instructions/ {
        gsub(",", "", $2); if ($2 / n < 0.0005) next
        printf "perf %s%s %s %.3f per task\n", $1, ($1 == hub ? " (hub)" : ""), $3, $2 / n }' "$WORK/perf.out"
fi
echo "hwm_burst_kb $(st "$CPID" VmHWM)"
echo "rss_after_burst_kb $(st "$CPID" VmRSS)"
"$WORK/zb" status >"$WORK/status.out"
rec=$(awk '$1 == "completed" { print $2 }' "$WORK/status.out")
db=0
for f in "$CD"/tasks.sqlite "$CD"/tasks.sqlite-wal; do [ -f "$f" ] && db=$((db + $(stat -c %s "$f"))); done
echo "db_bytes $db"
echo "records $rec"
[ -n "$rec" ] && [ "$rec" -gt 0 ] && echo "bytes_per_record $((db / rec))"
done_n=$BURST
while [ "$done_n" -lt "$TOTAL" ]; do
    "$WORK/zb" tput inline "$WORK/noop.so" "$BURST" 10000 >/dev/null || echo "burst failed"
    done_n=$((done_n + BURST))
    sleep "${SETTLE:-0.3}"
    echo "rss_after_${done_n}_kb $(st "$CPID" VmRSS) hwm $(st "$CPID" VmHWM)"
done
