#!/bin/sh
# t0580-mh-partition-back: a host cut off for 10 s, then healed, on 4 real
# hosts (tests/lib/netns-bed.sh), under `srun --no-kill -N 4 -n 8 zpar run`
# (the controller on h1, 7 engines on the 4 hosts, serving clients that run
# here, in the head's namespace).  Seven tasks run, one per engine (8 s on
# h3, 2 s elsewhere, so that engines are free when h3's tasks are retried);
# h3's bridge port stops forwarding (a silent drop both ways, like a switch
# fault: its processes run on and hear nothing).  Checks: both engines of
# h3 are declared dead and one line names the host; their tasks start again
# on the other hosts; after the heal the two engines register again and
# new tasks go to them; every task completes once: the result h3 sends on
# its return for a task that ran elsewhere is dropped and counted (zpar
# status), and the cut-off tasks did their side effect once (their engine,
# hearing nothing, fenced them: ZPAR_FENCE, doc/engine.md); the step was
# not disturbed (the cut is shorter than SlurmdTimeout, 30 s on the bed)
# and ends with exit 0 on `zpar stop`.  Prints the detection time (cut ->
# "declared dead"), the recovery time (cut -> the retried tasks' start) and
# the time from the heal to the engines' new registration.
LIBDIR=$(cd "$(dirname "$0")/../lib" && pwd)
. "$LIBDIR/sharness-lite.sh"
zt_require_zpar
. "$LIBDIR/netns-bed.sh"
bed_up 4 --slurm
. "$LIBDIR/mh-node.sh"

export ZPAR_DIR=$ZT_TMP/zd ZPAR_HB_PERIOD_MS=500 ZPAR_HB_MISSES=3 ZPAR_LOG=info
OUT=$ZT_TMP/srun.out
ms_of () { # ISO stamp of a log line -> epoch ms
    date -u -d "$(echo "$1" | sed 's/T/ /; s/Z$//')" +%s%3N
}
# a task labelled $1 that runs $2 s on h3, $3 s (default $2) elsewhere:
# side effects "start|end LABEL HOST MS"
submit_task () {
    zt_timeout 20 "$ZPAR" submit --retries 3 -- sh -c \
        "echo start \$0 \$(hostname) \$(date +%s%3N) >>$SIDE; if [ \$(hostname) = h3 ]; then sleep $2; else sleep ${3:-$2}; fi; echo end \$0 \$(hostname) \$(date +%s%3N) >>$SIDE" "$1"
}

test_expect_success 'srun --no-kill -N 4 -n 8 zpar run: a cluster of 7 engines on 4 hosts' '
	{ zt_timeout 85 srun --no-kill -N 4 -n 8 "$ZPAR" run >"$OUT" 2>&1
	  echo $? >"$ZT_TMP/srun.rc"; } &
	wait_for 40 "grep -q \"cluster ready with 7 engines\" \"$OUT\"" &&
	sed -n "s/.*; connection file \(.*\)$/\1/p" "$OUT" >conn && test -s conn &&
	export ZPAR_CONNECTION_FILE=$(cat conn) &&
	zt_timeout 10 "$ZPAR" status | tee status.0 &&
	expect_grep "^engines: 7 .7 idle" status.0 &&
	test "$(grep -c " h3 " status.0)" = 2
'

test_expect_success 'seven tasks, one per engine: two on h3 (8 s there, 2 s elsewhere)' '
	export ZPAR_CONNECTION_FILE=$(cat conn) &&
	: >tasks &&
	for i in 1 2 3 4 5 6 7; do submit_task t$i 8 2 >>tasks || return 1; done &&
	wait_for 20 "test \$(grep -c ^start $SIDE) -ge 7" &&
	awk "\$1 == \"start\" && \$3 == \"h3\" { print \$2 }" $SIDE >labels.h3 &&
	cat $SIDE && test -s labels.h3
'

test_expect_success 'h3 cut off: its engines declared dead, the host named, its tasks run elsewhere' '
	zt_now_ms >cut.ms &&
	bed_fault partition h3 &&
	wait_for 20 "grep -q \"host h3 lost: 2 engines dead\" \"$OUT\"" &&
	grep -E "declared dead|host h3 lost" "$OUT" &&
	for l in $(cat labels.h3); do
		wait_for 10 "awk -v l=$l \"\\\$1 == \\\"start\\\" && \\\$2 == l && \\\$3 != \\\"h3\\\"\" $SIDE | grep -q ." || return 1
	done &&
	cat $SIDE &&
	d=$(grep "declared dead" "$OUT" | grep "(h3 pid" | tail -n 1 | cut -d" " -f1) &&
	r=$(for l in $(cat labels.h3); do awk -v l=$l "\$1 == \"start\" && \$2 == l && \$3 != \"h3\" { print \$4 }" $SIDE; done | sort -n | head -n 1) &&
	echo "partition h3: detection $(($(ms_of "$d") - $(cat cut.ms))) ms (cut -> its 2 engines declared dead), recovery $((r - $(cat cut.ms))) ms (cut -> first retried task started)" | tee -a "$ZT_TMP/figures"
'

test_expect_success 'healed after 10 s: the two engines of h3 register again' '
	now=$(zt_now_ms) && left=$((10000 - (now - $(cat cut.ms)))) &&
	if [ $left -gt 0 ]; then sleep $(awk -v l=$left "BEGIN { print l / 1000 }"); fi &&
	bed_fault heal h3 &&
	zt_now_ms >heal.ms &&
	wait_for 20 "test \$(grep -c \"registered (h3 pid\" \"$OUT\") -ge 4" &&
	grep "registered (h3 pid" "$OUT" &&
	g=$(grep "registered (h3 pid" "$OUT" | tail -n 1 | cut -d" " -f1) &&
	echo "partition h3: registered again $(($(ms_of "$g") - $(cat heal.ms))) ms after the heal" | tee -a "$ZT_TMP/figures" &&
	zt_timeout 10 "$ZPAR" status | tee status.1 &&
	test "$(grep " h3 " status.1 | grep -c -E "idle|busy")" = 2
'

test_expect_success 'fourteen new 1 s tasks: some run on h3' '
	: >tasks.new &&
	for i in $(seq 1 14); do submit_task n$i 1 >>tasks.new || return 1; done &&
	for t in $(cat tasks.new); do zt_timeout 60 "$ZPAR" wait --timeout 50 $t || return 1; done &&
	n3=$(awk "\$1 == \"end\" && \$2 ~ /^n/ && \$3 == \"h3\"" $SIDE | wc -l) &&
	echo "partition h3: $n3 of 14 new tasks ran on h3 after the heal" | tee -a "$ZT_TMP/figures" &&
	test "$n3" -gt 0
'

test_expect_success 'every task completed once; the stale result was dropped and counted' '
	for t in $(cat tasks); do zt_timeout 60 "$ZPAR" wait --timeout 50 $t || return 1; done &&
	zt_timeout 10 "$ZPAR" status >status.2 && cat status.2 &&
	expect_grep "^tasks: 0 pending, 0 running, 21 completed, 0 failed" status.2 &&
	dup=$(sed -n "s/^duplicates dropped: \([0-9][0-9]*\).*/\1/p" status.2) &&
	stale=$(sed -n "s/^dropped messages: \([0-9][0-9]*\).*/\1/p" status.2) &&
	echo "partition h3: duplicates dropped ${dup:-0}, dropped messages ${stale:-0}" | tee -a "$ZT_TMP/figures" &&
	test $((${dup:-0} + ${stale:-0})) -ge 1 &&
	for i in 1 2 3 4 5 6 7; do expect_eq "runs of t$i" 1 "$(grep -c "^end t$i " $SIDE)" || return 1; done &&
	for i in $(seq 1 14); do expect_eq "runs of n$i" 1 "$(grep -c "^end n$i " $SIDE)" || return 1; done
'

test_expect_success 'the cut-off tasks were fenced on h3 (killed there, not finished)' '
	for l in $(cat labels.h3); do
		expect_eq "ends of $l on h3" 0 "$(awk -v l=$l "\$1 == \"end\" && \$2 == l && \$3 == \"h3\"" $SIDE | wc -l)" || return 1
	done &&
	grep -E "fenced" "$OUT" | head -n 4
'

test_expect_success 'zpar stop: the step ends with exit 0' '
	zt_timeout 30 "$ZPAR" stop &&
	wait_for 40 "test -s \"$ZT_TMP/srun.rc\"" &&
	expect_eq "srun exit" 0 "$(cat "$ZT_TMP/srun.rc")"
'

[ -s "$ZT_TMP/figures" ] && zt_diag "$(cat "$ZT_TMP/figures")"
test_done
