#!/bin/sh
# bench/cluster-mem.sh - the controller's memory and open files per engine
# in the deployment `zpar cluster start -n N` gives (real `zpar engine`
# processes on this machine), with --relay auto (the default: one relay
# from 256 engines) and --relay never (every engine straight to the
# controller, as before).
#
#   ZPAR_BUILD=build bench/cluster-mem.sh [N [MODES]]    (default 300 "never auto")
#
# For each mode: a cluster of 1 engine (the base), then one of N engines;
# once all are registered, the controller's VmRSS and open files (and the
# relay's VmRSS, all of its processes, when there is one); then 5 x N
# `true` tasks from one client and the controller's VmRSS again.  Prints
# per mode: rss_kib_per_engine = (VmRSS(N) - VmRSS(1)) / (N - 1),
# the same after the tasks, fds_per_engine the same for open files,
# tcp_per_engine the established TCP connections on the controller's
# ports / N, relay_rss_kib_per_engine (its VmRSS / N), then a table.  RSS
# and files are counts: a loaded machine changes the times, not these.
# Each cluster is stopped before the next; every wait is bounded
# (CLUSTER_MEM_TIMEOUT, default 300 s).
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
build=${ZPAR_BUILD:-$top/build}
case $build in /*) ;; *) build=$PWD/$build ;; esac
zpar=$build/zpar
client=$build/tests/scale/zpar-scale
for x in "$zpar" "$client"; do
	[ -x "$x" ] || {
		echo "cluster-mem.sh: no $x (make -C $build check TESTS= builds it)" >&2
		exit 2
	}
done
n=${1:-300}
modes=${2:-never auto}
tmo=${CLUSTER_MEM_TIMEOUT:-300}
ulimit -n "$(ulimit -Hn)" 2>/dev/null
D=$(mktemp -d "${TMPDIR:-/tmp}/zpar-cluster-mem.XXXXXX")
XDG_RUNTIME_DIR=$D/run
mkdir -m 700 "$XDG_RUNTIME_DIR"
export XDG_RUNTIME_DIR
cur=
stop () {
	[ -n "$cur" ] && timeout 60 "$zpar" cluster stop --dir "$cur" >/dev/null 2>&1
	cur=
}
trap 'stop; rm -rf "$D"' EXIT
trap 'exit 130' INT TERM
rss () { awk '$1 == "VmRSS:" { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
ctl () { awk '$1 == "controller" { print $2 }' "$1/pids"; }
# VmRSS of the relay's processes (the keeper and its relay) of cluster $1
relay_rss () {
	k=$(awk '$1 == "relay" { print $2 }' "$1/pids")
	[ -n "$k" ] || { echo 0; return; }
	s=$(rss "$k")
	for c in $(cat "/proc/$k/task/"*/children 2>/dev/null); do s=$((s + $(rss "$c"))); done
	echo "$s"
}
# open files of the relay's processes of cluster $1
relay_fds () {
	k=$(awk '$1 == "relay" { print $2 }' "$1/pids")
	[ -n "$k" ] || { echo 0; return; }
	s=$(ls "/proc/$k/fd" 2>/dev/null | wc -l)
	for c in $(cat "/proc/$k/task/"*/children 2>/dev/null); do
		s=$((s + $(ls "/proc/$c/fd" 2>/dev/null | wc -l)))
	done
	echo "$s"
}
tcp () {
	ports=$(grep -o 'tcp://[0-9.]*:[0-9]*' "$1/client.json" | sed 's/.*://' | sort -u |
		tr '\n' '|' | sed 's/|$//')
	ss -Htn state established | awk -v p="^($ports)\$" '
		{ k = split($3, l, ":"); if (l[k] ~ p) c++ } END { print c + 0 }'
}
# start DIR N MODE
start () {
	cur=$1
	timeout "$tmo" "$zpar" cluster start -n "$2" --dir "$1" --relay "$3" --timeout "$tmo" \
		>"$1.start" 2>&1 || { echo "cluster-mem.sh: start failed: $(tail -3 "$1.start")" >&2; exit 1; }
	sleep 2 # the last registrations settled
}
rows=
for m in $modes; do
	start "$D/base-$m" 1 "$m"
	c=$(ctl "$D/base-$m")
	r1=$(rss "$c")
	f1=$(ls "/proc/$c/fd" | wc -l)
	stop
	start "$D/n-$m" "$n" "$m"
	c=$(ctl "$D/n-$m")
	rn=$(rss "$c")
	fn=$(ls "/proc/$c/fd" | wc -l)
	tn=$(tcp "$D/n-$m")
	rr=$(relay_rss "$D/n-$m")
	rf=$(relay_fds "$D/n-$m")
	ZPAR_CONNECTION_FILE=$D/n-$m/client.json timeout $((tmo + 60)) "$client" tasks $((5 * n)) \
		"$tmo" - -- true >"$D/tasks-$m.out" 2>&1
	sleep 1
	rt=$(rss "$c")
	ok=$(awk '$1 == "ok" { print $2 }' "$D/tasks-$m.out")
	stop
	per=$(awk -v a="$r1" -v b="$rn" -v n="$n" 'BEGIN { printf "%.1f", (b - a) / (n - 1) }')
	pert=$(awk -v a="$r1" -v b="$rt" -v n="$n" 'BEGIN { printf "%.1f", (b - a) / (n - 1) }')
	fper=$(awk -v a="$f1" -v b="$fn" -v n="$n" 'BEGIN { printf "%.2f", (b - a) / (n - 1) }')
	tper=$(awk -v a="$tn" -v n="$n" 'BEGIN { printf "%.2f", a / n }')
	rper=$(awk -v a="$rr" -v n="$n" 'BEGIN { printf "%.1f", a / n }')
	cat <<EOF
mode $m
engines $n
controller_rss_kb_1 $r1
controller_rss_kb $rn
rss_kib_per_engine $per
controller_rss_kb_after_tasks $rt
rss_kib_per_engine_after_tasks $pert
tasks_ok ${ok:-0}
controller_fds_1 $f1
controller_fds $fn
fds_per_engine $fper
tcp_per_engine $tper
relay_rss_kb $rr
relay_rss_kib_per_engine $rper
relay_fds $rf
relay_fds_per_engine $(awk -v a="$rf" -v n="$n" 'BEGIN { printf "%.2f", a / n }')
EOF
	rows="$rows| $n | $m | $per | $pert | $fper | $tper | $rper | $(awk -v a="$rf" -v n="$n" 'BEGIN { printf "%.2f", a / n }') |
"
done
echo
echo "| engines | --relay | controller KiB / engine | after $((5 * n)) tasks | files / engine | TCP connections / engine | the relay's KiB / engine | the relay's files / engine |"
echo "|---|---|---|---|---|---|---|---|"
printf '%s' "$rows"
