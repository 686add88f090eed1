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
#
# ZPAR_SCALE_RELAY=K (default 0: none) joins the engines through relays
# instead, as on nodes of K engines: a foreground controller (zpar
# controller), ceil(N/K) relays (zpar relay --dir), engine i through relay
# i/K (zpar engine --relay), all recorded in DIR/scale.pids
# (zpar stop, then SIGTERM and SIGKILL to them at the end).  Either way the
# controller's figures are printed too: ready_seconds (from the start until
# all N are live), open files (controller_fds), established TCP connections
# on its ports (controller_tcp), VmRSS (controller_rss_kb), its CPU time
# (utime+stime) over 5 s idle and over the task load (controller_cpu_*),
# and tasks_per_s.
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
relay=${ZPAR_SCALE_RELAY:-0}

now () { date +%s.%N; }

stop_cluster () {
	if [ "$relay" = 0 ]; then
		timeout 120 "$zpar" cluster stop --dir "$D" >/dev/null 2>&1 && return 0
	else
		# the controller and engines end; then the relays and any leftover
		timeout 60 "$zpar" stop --connection-file "$D/client.json" >/dev/null 2>&1
		[ -f "$D/scale.pids" ] || return 0
		for sig in TERM KILL; do
			sleep 1
			awk '{ print ($1 == "engine") ? $3 : $2 }' "$D/scale.pids" |
				while read -r p; do kill -$sig "$p" 2>/dev/null; done
		done
		rm -f "$D/scale.pids"
		return 0
	fi
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
echo "relay_engines $relay"
t0=$(now)
if [ "$relay" = 0 ]; then
	ZPAR_CONNECT_TIMEOUT=30 timeout "$tmo" "$zpar" cluster start -n "$n" --dir "$D" \
		--timeout "$tmo" >"$D/start.out" 2>&1
	rc=$?
else
	# the relays hold about 7 ipc files per engine of theirs
	ulimit -n "$(ulimit -Hn)" 2>/dev/null
	"$zpar" controller --dir "$D" >"$D/controller.log" 2>&1 &
	echo "controller $!" >"$D/scale.pids"
	i=0
	until [ -s "$D/engine.json" ] && [ -s "$D/client.json" ]; do
		i=$((i + 1))
		[ $i -gt 300 ] && break
		sleep 0.1
	done
	nr=$(((n + relay - 1) / relay))
	r=0
	while [ $r -lt $nr ]; do
		"$zpar" relay --connection-file "$D/engine.json" --dir "$D/relay-$r" \
			>"$D/relay-$r.log" 2>&1 &
		echo "relay $!" >>"$D/scale.pids"
		r=$((r + 1))
	done
	for r in $(seq 0 $((nr - 1))); do
		i=0
		until [ -S "$D/relay-$r/registrar" ] || [ $i -gt 300 ]; do
			i=$((i + 1))
			sleep 0.1
		done
	done
	i=0
	while [ $i -lt "$n" ]; do
		ZPAR_CONNECT_TIMEOUT=30 "$zpar" engine --connection-file "$D/engine.json" \
			--relay "$D/relay-$((i / relay))" >"$D/engine-$i.log" 2>&1 &
		echo "engine $i $!" >>"$D/scale.pids"
		i=$((i + 1))
	done
	echo "relays $nr"
	rc=0
	[ -s "$D/client.json" ] || rc=1
fi
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
echo "ready_seconds $(echo "$(now) - $t0" | bc)"
cpid=$(cat "$D/pids" "$D/scale.pids" 2>/dev/null | awk '$1 == "controller" { print $2; exit }')
ticks () { awk '{ print $14 + $15 }' "/proc/$cpid/stat" 2>/dev/null || echo 0; }
hz=$(getconf CLK_TCK)
ports=$(grep -ho 'tcp://[0-9.]*:[0-9]*' "$D/client.json" "$D/engine.json" | sed 's/.*://' |
	sort -u | tr '\n' '|' | sed 's/|$//')
sleep 2
echo "controller_fds $(ls "/proc/$cpid/fd" 2>/dev/null | wc -l)"
echo "controller_tcp $(ss -Htn state established | awk -v p="^($ports)\$" \
	'{ n = split($3, l, ":"); if (l[n] ~ p) c++ } END { print c + 0 }')"
echo "controller_rss_kb $(awk '$1 == "VmRSS:" { print $2 }' "/proc/$cpid/status" 2>/dev/null)"
c0=$(ticks)
sleep 5
echo "controller_cpu_idle_5s $(awk -v t=$(($(ticks) - c0)) -v h="$hz" 'BEGIN { printf "%.2f", t / h }')"
c0=$(ticks)
ping=$(sed -n 's/.*"hb_ping" *: *"\([^"]*\)".*/\1/p' "$D/engine.json")
[ -n "$ping" ] || ping=-
dead0=$(grep -cE "\) declared dead:|heartbeats: declared dead$" "$D/controller.log" || true)
timeout $((tmo + 60)) "$client" tasks "$tasks" "$tmo" "$ping" -- "$@" >"$D/tasks.out" 2>"$D/tasks.err"
trc=$?
echo "controller_cpu_tasks $(awk -v t=$(($(ticks) - c0)) -v h="$hz" 'BEGIN { printf "%.2f", t / h }')"
cat "$D/tasks.out"
awk '$1 == "tasks" { n = $2 } $1 == "seconds" && $2 > 0 { printf "tasks_per_s %.0f\n", n / $2 }' "$D/tasks.out"
head -5 "$D/tasks.err" >&2
dead=$(grep -cE "\) declared dead:|heartbeats: declared dead$" "$D/controller.log" || true)
echo "false_deaths $dead"
echo "false_deaths_during_tasks $((dead - dead0))"
echo "suspect_events $(grep -c "suspect" "$D/controller.log")"
echo "revived_events $(grep -c "answers again\|revived" "$D/controller.log")"
died=$(sed -n 's/^engine_died //p' "$D/tasks.out")
echo "wall_seconds $(echo "$(now) - $t0" | bc)"
[ "$dead" = 0 ] && [ "${died:-x}" = 0 ] && [ $trc -eq 0 ]
