#!/bin/sh
# tests/scale/engines.sh - many engines on this machine under command-task
# load: count false deaths.
#
#   ZPAR_BUILD=build tests/scale/engines.sh [N [TASKS [CMD...]]]
#       (defaults: 1000 engines, 4000 tasks of "sleep 0.1")
#
# Starts a real local cluster (zpar cluster start -n N) in a fresh
# directory, submits TASKS load-balanced command tasks from one client,
# waits for them, and counts what no engine did: "declared dead" events in
# controller.log (every engine here is alive and never signalled, so each
# is a false death), tasks answered "engine died", tasks that failed or got
# no result.  A subscriber to the heartbeat pings measures the longest gap
# between two pings.  Prints one "key value" line each and exits 0 only
# when there were no false deaths, no engine-died answers and every task
# succeeded.  Every step is bounded ($ZPAR_SCALE_TIMEOUT seconds per phase,
# default 600); the cluster is stopped at the end (its recorded processes
# are killed if the stop fails).  Needs about 6 open files per engine in
# the controller (raised to the hard limit at its start) and N+1 processes.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${ZPAR_BUILD:-$top/build}
zpar=${ZPAR_SCALE_ZPAR:-$build/zpar}
client=${ZPAR_SCALE_CLIENT:-$build/tests/scale/zpar-scale}
[ -x "$zpar" ] || { echo "engines.sh: no zpar in $build (set ZPAR_BUILD)" >&2; exit 2; }
[ -x "$client" ] || { echo "engines.sh: no $client (make -C $build check TESTS=)" >&2; exit 2; }
n=${1:-1000}
tasks=${2:-4000}
[ $# -ge 2 ] && shift 2 || set --
[ $# -gt 0 ] || set -- sleep 0.1
tmo=${ZPAR_SCALE_TIMEOUT:-600}
D=$(mktemp -d "${TMPDIR:-/tmp}/zpar-scale.XXXXXX")
keep=${ZPAR_SCALE_KEEP:-0}

now () { date +%s.%N; }

stop_cluster () {
	timeout 120 "$zpar" cluster stop --dir "$D" >/dev/null 2>&1 && return 0
	# the stop failed: the processes the start recorded, and only those
	[ -f "$D/pids" ] || return 0
	awk '{ print ($1 == "engine") ? $3 : $2 }' "$D/pids" | while read -r p; do
		kill -KILL "$p" 2>/dev/null
	done
	rm -f "$D/pids"
}

finish () {
	stop_cluster
	if [ "$keep" = 1 ]; then echo "dir $D"; else rm -rf "$D"; fi
}
trap finish EXIT
trap 'exit 130' INT TERM

echo "engines $n"
t0=$(now)
ZPAR_CONNECT_TIMEOUT=30 timeout "$tmo" "$zpar" cluster start -n "$n" --dir "$D" \
	--timeout "$tmo" >"$D/start.out" 2>&1
rc=$?
t1=$(now)
echo "start_seconds $(echo "$t1 - $t0" | bc)"
if [ $rc -ne 0 ]; then
	echo "engines.sh: cluster start failed ($rc):" >&2
	tail -5 "$D/start.out" >&2
	tail -5 "$D/controller.log" >&2
	exit 1
fi
export ZPAR_CONNECTION_FILE="$D/client.json"
timeout "$tmo" "$client" engines "$n" "$tmo" || { echo "engines.sh: not every engine is live" >&2; exit 1; }
ping=$(sed -n 's/.*"hb_ping" *: *"\([^"]*\)".*/\1/p' "$D/engine.json")
[ -n "$ping" ] || ping=-
dead0=$(grep -cE "\) declared dead:|heartbeats: declared dead$" "$D/controller.log" || true)
timeout $((tmo + 60)) "$client" tasks "$tasks" "$tmo" "$ping" -- "$@" >"$D/tasks.out" 2>"$D/tasks.err"
trc=$?
cat "$D/tasks.out"
head -5 "$D/tasks.err" >&2
dead=$(grep -cE "\) declared dead:|heartbeats: declared dead$" "$D/controller.log" || true)
echo "false_deaths $dead"
echo "false_deaths_during_tasks $((dead - dead0))"
echo "suspect_events $(grep -c "suspect" "$D/controller.log")"
echo "revived_events $(grep -c "answers again\|revived" "$D/controller.log")"
died=$(sed -n 's/^engine_died //p' "$D/tasks.out")
echo "wall_seconds $(echo "$(now) - $t0" | bc)"
[ "$dead" = 0 ] && [ "${died:-x}" = 0 ] && [ $trc -eq 0 ]
