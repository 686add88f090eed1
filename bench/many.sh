#!/bin/sh
# bench/many.sh - thousands of engines on one controller (issue 11): the
# engines are bench/engine-farm processes (the real protocol and sockets,
# many engines per process; see its header for what it does not
# exercise), straight to the controller or through real relays
# (zpar relay --dir, as one per node).
#
#   ZPAR_BUILD=build bench/many.sh [CASE...]
#
# MANY_ZPAR=OTHER/zpar runs another build's controller and relays against
# this build's farm (the protocol is the same): the before of a change;
# MANY_CLIENT=OTHER/tests/scale/zpar-scale its client (an older controller
# does not take the batches of a newer client);
# MANY_FRESH_RESEND=1 makes the farms' engines resend their registration
# on a fresh socket each time, as engines did before issue 11.
# MANY_PERF=FILE records the registration window of every process of
# the machine (perf record -a -g, into FILE.ENGINES; perf report
# --sort comm,dso then says who spent what; MANY_PERF_ARGS: perf
# record's options, default -g).
# MANY_HARNESS_ENV="VAR=VALUE ..." runs the relays and the farms (not the
# controller) with those variables set.
# MANY_STAGED=1 (the default) stages the start: every farm first opens
# its engines' registration sockets (engine-farm --go), then all
# registrations go at once and the clock starts; MANY_STAGED=0 starts the
# clock with the farm processes (their own start counted in).
# CASE is ENGINES:RELAYS[:FARMS] (RELAYS 0: every engine straight to the
# controller over tcp loopback; FARMS: engine-farm processes, default one
# per 500 engines).  Default cases: 1000:0 1000:10; with --full also
# 2500:0 (about as many as the controller's 20,000 open files allow: 7
# per engine) and 10000:100 (100 nodes x 100 engines).
#
# For each case, in a fresh directory: a controller (zpar controller, the
# default heartbeat of 1000 ms x 3 unless ZPAR_HB_PERIOD_MS is set), the
# relays, then every farm at once (the start storm).  Measured:
#   registered_s     from the farms' start until every engine had its
#                    registration reply (the slowest farm's figure)
#   live_s           until the controller lists them all live (polled every 0.2 s)
#   controller_cpu_register_s  the controller's CPU seconds meanwhile;
#                    relays_cpu_register_s, farms_cpu_register_s the same
#                    for all relays and all farms together, machine_cpu_
#                    register_s every process of the machine (/proc/stat),
#                    others_cpu_register_s what is not ours (the machine's
#                    other work), register_cores the machine's busy cores
#                    meanwhile (machine CPU / live_s);
#                    registrations_sent: the farms' registrations, resends
#                    included (an engine sends again on a fresh socket after
#                    1 s without an answer, as `zpar engine` does)
#   controller_us_per_engine, harness_us_per_engine  the window's CPU of
#                    the controller, and of the relays and farms together
#                    (the harness: what stands in for the nodes), per engine
#   alone_registered_s, alone_controller_cpu_s  (relayed cases; MANY_ALONE=0
#                    skips it) the same N registrations through R relay
#                    identities sent to a fresh controller by bench/reg-storm
#                    from one process: the controller's part of the time
#                    without the harness on the same cores
#   hb_cpu_pct       the controller's CPU (utime+stime, all threads) over
#                    IDLE seconds with no task (MANY_IDLE, default 30): the
#                    heartbeat's cost, in % of one core; hb_top_thread_pct
#                    its busiest thread; hb_cpu_by_thread name:% of each
#                    thread that ran; harness_hb_cpu_pct the same for the
#                    relays and farms together (each engine's pings and
#                    pongs through its relay: the harness's idle cost)
#   rss_kib_per_engine  (VmRSS with the engines - VmRSS before them) / N;
#                    also the totals in KiB; rss_kib_per_engine_after_tasks
#                    the same after the tasks (libzmq's pipes and buffers
#                    touched by traffic); relays_rss_kib_per_engine the
#                    relays' VmRSS (all of it) after the tasks / N: what
#                    the node holds instead of the controller
#   fds_per_engine   (open files with - before) / N
#   tasks, tasks_per_s, engines_with_tasks   MANY_TASKS no-op tasks
#                    (default 50000; `true` commands that the farm answers
#                    without running) from one client, and how many engines
#                    ran at least one
#   false_deaths     "declared dead" lines in controller.log (no engine is
#                    ever stopped here); nudges, registered_again: the
#                    farms' count of engines the controller stopped counting
# Prints "key value" lines per case, then a table, and one line per case
#   many engines=N relays=R registered_s=... hb_cpu_pct=... ...
# for bench/run.sh.  Every wait is bounded (MANY_TIMEOUT, default 300 s per
# phase); everything started is stopped at the end.  Exit 0 when every
# case ran, every engine registered and ran a task, and no engine was
# declared dead.  Heavy: 10,000 engines take ~6 GiB and push the load
# average of a 2-core machine past 100 while they start.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
build=${ZPAR_BUILD:-$top/build}
case $build in /*) ;; *) build=$PWD/$build ;; esac
zpar=${MANY_ZPAR:-$build/zpar} # the controller and relays (MANY_ZPAR: another build's)
farm=$build/bench/engine-farm
client=${MANY_CLIENT:-$build/tests/scale/zpar-scale}
for x in "$zpar" "$farm" "$client"; do
	[ -x "$x" ] || {
		echo "many.sh: no $x (make -C $build check TESTS= builds it)" >&2
		exit 2
	}
done
tmo=${MANY_TIMEOUT:-300}
idle=${MANY_IDLE:-30}
ntasks=${MANY_TASKS:-50000}
cases=
for a in "$@"; do
	case $a in
	--full) cases="$cases 1000:0 1000:10 2500:0 10000:100" ;;
	*:*) cases="$cases $a" ;;
	*)
		echo "usage: many.sh [--full] [ENGINES:RELAYS[:FARMS]...]" >&2
		exit 2
		;;
	esac
done
[ -n "$cases" ] || cases="1000:0 1000:10"
ulimit -n "$(ulimit -Hn)" 2>/dev/null
hz=$(getconf CLK_TCK)
now () { date +%s.%N; }
ticks () { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
# CPU ticks of every process given, added
ticks_sum () {
	s=0
	for q in "$@"; do s=$((s + $(ticks "$q"))); done
	echo $s
}
# busy CPU ticks of the whole machine (user nice system irq softirq steal)
machine_ticks () { awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat; }
staged=${MANY_STAGED:-1}
rss () { awk '$1 == "VmRSS:" { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
nfd () { ls "/proc/$1/fd" 2>/dev/null | wc -l; }
# CPU ticks of each thread of $1: "tid ticks" lines
thread_ticks () {
	for t in /proc/"$1"/task/*; do
		awk -v t="${t##*/}" -v c="$(cat "$t/comm" 2>/dev/null | tr -c 'A-Za-z0-9_\n-' _)" \
			'{ print t, $14 + $15, c }' "$t/stat" 2>/dev/null
	done
}
pids=
D=
cleanup () {
	for p in $pids; do kill -TERM "$p" 2>/dev/null; done
	i=0
	while [ $i -lt 50 ]; do
		alive=0
		for p in $pids; do kill -0 "$p" 2>/dev/null && alive=1; done
		[ $alive = 0 ] && break
		sleep 0.2
		i=$((i + 1))
	done
	for p in $pids; do kill -KILL "$p" 2>/dev/null; done
	for p in $pids; do wait "$p" 2>/dev/null; done
	pids=
	if [ -n "$D" ] && [ "${MANY_KEEP:-0}" != 1 ]; then rm -rf "$D"; fi
	D=
}
trap cleanup EXIT
trap 'exit 130' INT TERM

rc=0
rows=
lines=
for c in $cases; do
	n=${c%%:*}
	rest=${c#*:}
	r=${rest%%:*}
	p=$(((n + 499) / 500))
	[ "$rest" != "$r" ] && p=${rest#*:}
	[ "$r" -gt 0 ] && [ $((r % p)) -ne 0 ] && p=$r
	D=$(mktemp -d "${TMPDIR:-/tmp}/zpar-many.XXXXXX")
	echo "== $n engines, $r relays, $p farm processes ($D)"
	"$zpar" controller --dir "$D" >"$D/controller.log" 2>&1 &
	cpid=$!
	pids="$cpid"
	i=0
	until [ -s "$D/engine.json" ] && [ -s "$D/client.json" ] || [ $i -gt $((tmo * 10)) ]; do
		sleep 0.1
		i=$((i + 1))
	done
	sleep 1
	rss0=$(rss "$cpid")
	fd0=$(nfd "$cpid")
	k=0
	rpids=
	while [ "$k" -lt "$r" ]; do
		env ${MANY_HARNESS_ENV:-} "$zpar" relay --connection-file "$D/engine.json" --dir "$D/relay-$k" >"$D/relay-$k.log" 2>&1 &
		pids="$pids $!"
		rpids="$rpids $!"
		k=$((k + 1))
	done
	k=0
	while [ "$k" -lt "$r" ]; do
		i=0
		until [ -S "$D/relay-$k/registrar" ] || [ $i -gt $((tmo * 10)) ]; do
			sleep 0.1
			i=$((i + 1))
		done
		k=$((k + 1))
	done
	# relays: until each has its upstream connections
	[ "$r" -gt 0 ] && sleep 1
	set -- # the staged start: the farms wait for this file
	[ "$staged" = 1 ] && set -- --go "$D/go"
	goargs="$*"
	t0=$(now)
	creg0=$(ticks "$cpid")
	rreg0=$(ticks_sum $rpids)
	m0=$(machine_ticks)
	fpids=
	k=0
	while [ "$k" -lt "$p" ]; do
		lo=$((k * n / p))
		hi=$(((k + 1) * n / p))
		set --
		if [ "$r" -gt 0 ]; then
			j=$((k * r / p))
			while [ "$j" -lt $(((k + 1) * r / p)) ]; do
				set -- "$@" --relay "$D/relay-$j"
				j=$((j + 1))
			done
		fi
		env ${MANY_HARNESS_ENV:-} "$farm" -n $((hi - lo)) --connection-file "$D/engine.json" --status "$D/farm-$k.st" \
			--time-limit $((tmo * 4)) --fresh-resend "${MANY_FRESH_RESEND:-0}" $goargs "$@" \
			>"$D/farm-$k.out" 2>&1 &
		pids="$pids $!"
		fpids="$fpids $!"
		k=$((k + 1))
	done
	freg0=0
	if [ "$staged" = 1 ]; then
		i=0
		until [ "$(cat "$D"/farm-*.st 2>/dev/null | awk '$1 == "ready" && $2 == 1' | wc -l)" -ge "$p" ] ||
			[ $i -gt $((tmo * 10)) ]; do
			sleep 0.1
			i=$((i + 1))
		done
		sleep 1 # their connections made
		t0=$(now)
		creg0=$(ticks "$cpid")
		rreg0=$(ticks_sum $rpids)
		freg0=$(ticks_sum $fpids)
		m0=$(machine_ticks)
		: >"$D/go"
	fi
	perf_pid=
	if [ -n "${MANY_PERF:-}" ]; then # the storm's profile, every process
		perf record -q -a ${MANY_PERF_ARGS:--g} -o "$MANY_PERF.$n" >/dev/null 2>&1 &
		perf_pid=$!
	fi
	export ZPAR_CONNECTION_FILE="$D/client.json"
	timeout "$tmo" "$client" engines "$n" "$tmo" >"$D/live.out" 2>&1
	live_rc=$?
	if [ -n "$perf_pid" ]; then
		kill -INT "$perf_pid" 2>/dev/null
		wait "$perf_pid" 2>/dev/null
	fi
	creg1=$(ticks "$cpid")
	rreg1=$(ticks_sum $rpids)
	freg1=$(ticks_sum $fpids)
	m1=$(machine_ticks)
	live_s=$(echo "$(now) - $t0" | bc | awk '{ printf "%.2f", $1 }')
	[ $live_rc = 0 ] || { echo "many.sh: not all $n engines live: $(cat "$D/live.out")" >&2; rc=1; }
	sum () { cat "$D"/farm-*.st 2>/dev/null | awk -v k="$1" '$1 == k { s += $2 } END { print s + 0 }'; }
	sleep 2
	reg_s=$(cat "$D"/farm-*.st 2>/dev/null | awk '$1 == "all_registered_s" { if ($2 < 0) bad = 1; if ($2 > m) m = $2 } END { if (bad) print -1; else printf "%.2f", m }')
	rss1=$(rss "$cpid")
	fd1=$(nfd "$cpid")
	thread_ticks "$cpid" >"$D/th0"
	c0=$(ticks "$cpid")
	hi0=$(ticks_sum $rpids $fpids)
	sleep "$idle"
	c1=$(ticks "$cpid")
	hi1=$(ticks_sum $rpids $fpids)
	thread_ticks "$cpid" >"$D/th1"
	hb=$(awk -v t=$((c1 - c0)) -v h="$hz" -v s="$idle" 'BEGIN { printf "%.1f", 100 * t / h / s }')
	top_th=$(awk -v h="$hz" -v s="$idle" 'NR == FNR { a[$1] = $2; next } { d = $2 - a[$1]; if (d > m) m = d } END { printf "%.1f", 100 * m / h / s }' "$D/th0" "$D/th1")
	by_th=$(awk -v h="$hz" -v s="$idle" 'NR == FNR { a[$1] = $2; next } { d = $2 - a[$1]; if (d > 0) printf "%s:%.1f ", $3, 100 * d / h / s }' "$D/th0" "$D/th1")
	dead_idle=$(grep -cE "\) declared dead:|heartbeats: declared dead$" "$D/controller.log")
	c0=$(ticks "$cpid")
	timeout $((tmo + 60)) "$client" tasks "$ntasks" "$tmo" - -- true >"$D/tasks.out" 2>"$D/tasks.err"
	trc=$?
	c1=$(ticks "$cpid")
	sleep 1
	rss2=$(rss "$cpid")
	rrss=0
	for q in $rpids; do rrss=$((rrss + $(rss "$q"))); done
	ok=$(awk '$1 == "ok" { print $2 }' "$D/tasks.out")
	secs=$(awk '$1 == "seconds" { print $2 }' "$D/tasks.out")
	tps=$(awk -v n="${ok:-0}" -v s="${secs:-0}" 'BEGIN { if (s > 0) printf "%.0f", n / s; else print 0 }')
	cpu_task=$(awk -v t=$((c1 - c0)) -v h="$hz" -v n="${ok:-0}" 'BEGIN { if (n > 0) printf "%.1f", 1e6 * t / h / n; else print 0 }')
	busy=$(sum engines_with_tasks)
	dead=$(grep -cE "\) declared dead:|heartbeats: declared dead$" "$D/controller.log")
	# the registration window's CPU by part, per engine
	c_us=$(awk -v t=$((creg1 - creg0)) -v h="$hz" -v n="$n" 'BEGIN { printf "%.0f", 1e6 * t / h / n }')
	h_us=$(awk -v t=$((rreg1 - rreg0 + freg1 - freg0)) -v h="$hz" -v n="$n" \
		'BEGIN { printf "%.0f", 1e6 * t / h / n }')
	rssk=$(awk -v a="$rss0" -v b="$rss1" -v n="$n" 'BEGIN { printf "%.1f", (b - a) / n }')
	rssk2=$(awk -v a="$rss0" -v b="$rss2" -v n="$n" 'BEGIN { printf "%.1f", (b - a) / n }')
	fdk=$(awk -v a="$fd0" -v b="$fd1" -v n="$n" 'BEGIN { printf "%.2f", (b - a) / n }')
	cat <<EOF
engines $n
relays $r
farms $p
registered_s $reg_s
live_s $live_s
registrations_sent $(sum registrations_sent)
staged $staged
controller_cpu_register_s $(awk -v t=$((creg1 - creg0)) -v h="$hz" 'BEGIN { printf "%.2f", t / h }')
relays_cpu_register_s $(awk -v t=$((rreg1 - rreg0)) -v h="$hz" 'BEGIN { printf "%.2f", t / h }')
farms_cpu_register_s $(awk -v t=$((freg1 - freg0)) -v h="$hz" 'BEGIN { printf "%.2f", t / h }')
controller_us_per_engine $c_us
harness_us_per_engine $h_us
machine_cpu_register_s $(awk -v t=$((m1 - m0)) -v h="$hz" 'BEGIN { printf "%.2f", t / h }')
others_cpu_register_s $(awk -v t=$((m1 - m0 - (creg1 - creg0) - (rreg1 - rreg0) - (freg1 - freg0))) -v h="$hz" 'BEGIN { printf "%.2f", t / h }')
register_cores $(awk -v t=$((m1 - m0)) -v h="$hz" -v s="$live_s" 'BEGIN { if (s > 0) printf "%.2f", t / h / s; else print 0 }')
controller_rss_kb_before $rss0
controller_rss_kb $rss1
rss_kib_per_engine $rssk
controller_rss_kb_after_tasks $rss2
rss_kib_per_engine_after_tasks $rssk2
relays_rss_kb_after_tasks $rrss
relays_rss_kib_per_engine $(awk -v a="$rrss" -v n="$n" 'BEGIN { printf "%.1f", a / n }')
controller_fds_before $fd0
controller_fds $fd1
fds_per_engine $fdk
controller_threads $(ls "/proc/$cpid/task" 2>/dev/null | wc -l)
hb_cpu_pct $hb
hb_top_thread_pct $top_th
hb_cpu_by_thread $by_th
harness_hb_cpu_pct $(awk -v t=$((hi1 - hi0)) -v h="$hz" -v s="$idle" 'BEGIN { printf "%.1f", 100 * t / h / s }')
tasks $ntasks
tasks_ok ${ok:-0}
tasks_per_s $tps
controller_cpu_us_per_task $cpu_task
engines_with_tasks $busy
false_deaths $dead
false_deaths_idle $dead_idle
suspect_events $(awk '/ more suspect, / { for (i = 1; i < NF; i++) if ($(i + 1) == "more" && $(i + 2) == "suspect,") n += $i; next } / suspect: / { n++ } END { print n + 0 }' "$D/controller.log")
nudges $(sum nudges)
registered_again $(sum registered_again)
farm_dropped $(sum dropped)
EOF
	if [ $trc != 0 ] || [ "$busy" != "$n" ] || [ "$dead" != 0 ] || [ "$reg_s" = -1 ]; then
		rc=1
		head -3 "$D/tasks.err" >&2
	fi
	cleanup
	# the controller alone, the same storm from one process that costs it
	# little (bench/reg-storm, as bench/registrations.sh), once the harness
	# is gone: the controller's part of the registration time
	alone_s=- alone_cpu=-
	if [ "$r" -gt 0 ] && [ "${MANY_ALONE:-1}" = 1 ] && [ -x "$build/bench/reg-storm" ]; then
		A=$(mktemp -d "${TMPDIR:-/tmp}/zpar-many-alone.XXXXXX")
		"$zpar" controller --dir "$A" >"$A/controller.log" 2>&1 &
		apid=$!
		pids="$pids $apid"
		i=0
		until [ -s "$A/engine.json" ] || [ $i -gt $((tmo * 10)) ]; do
			sleep 0.1
			i=$((i + 1))
		done
		sleep 1
		timeout "$tmo" "$build/bench/reg-storm" -n "$n" -r "$r" --connection-file "$A/engine.json" \
			--pid "$apid" --timeout "$tmo" >"$A/out" 2>&1
		alone_s=$(awk '$1 == "registered_s" { printf "%.2f", $2 }' "$A/out")
		alone_cpu=$(awk '$1 == "controller_cpu_s" { printf "%.2f", $2 }' "$A/out")
		kill -TERM "$apid" 2>/dev/null
		wait "$apid" 2>/dev/null
		pids=
		[ "${MANY_KEEP:-0}" = 1 ] || rm -rf "$A"
		echo "alone_registered_s ${alone_s:--}"
		echo "alone_controller_cpu_s ${alone_cpu:--}"
	fi
	mode=direct
	[ "$r" -gt 0 ] && mode="$r relays"
	rows="$rows$(printf '| %s | %s | %s s | %s s | %s s | %s µs | %s µs | %s %% | %s | %s | %s | %s / %s | %s |' \
		"$n" "$mode" "$reg_s" "$live_s" "${alone_s:--}" "$c_us" "$h_us" "$hb" "$rssk" "$fdk" "$tps" "$busy" "$n" "$dead")
"
	lines="${lines}many engines=$n relays=$r registered_s=$reg_s live_s=$live_s alone_registered_s=${alone_s:--} controller_us_per_engine=$c_us harness_us_per_engine=$h_us hb_cpu_pct=$hb rss_kib_per_engine=$rssk fds_per_engine=$fdk tasks_per_s=$tps engines_with_tasks=$busy false_deaths=$dead
"
done
echo
echo "| engines | path | registered in (whole harness) | live in | the controller alone | controller CPU / engine | relays + farms CPU / engine | heartbeat CPU (idle) | RSS KiB/engine | fds/engine | no-op tasks/s | engines that ran a task | declared dead |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
printf '%s' "$rows"
printf '%s' "$lines"
exit $rc
