#!/bin/sh
# t0060-scheduling: what the least-load scheduler promises: no task waits
# behind a long one while another engine is idle (prefetch + work
# stealing), priorities, dependencies, targets, retries of failing tasks.
. "$(cd "$(dirname "$0")/.." && pwd)/lib/sharness-lite.sh"
zt_require_zpar

# submit a task, print its id
sub () { zt_timeout 20 $ZPAR submit "$@"; }
# the engine that ran a finished task
engine_of () { zt_timeout 20 $ZPAR result --json "$1" | sed -n 's/.*"engine": *\([0-9]*\).*/\1/p'; }

test_expect_success 'a cluster of 2 engines' '
	zt_cluster_start 2
'

# held NAME [SUBMIT OPTIONS]: submit a task that runs until the test creates
# $ZT_TMP/open.NAME; it touches $ZT_TMP/started.NAME when it starts and
# appends NAME to $ZT_TMP/order when it ends.  What waits behind it waits
# for ever: the checks below depend on what ran where and in which order,
# never on how fast a loaded machine runs the tasks.
held () {
	h_name=$1
	shift
	sub "$@" -- sh -c "touch $ZT_TMP/started.$h_name; while [ ! -e $ZT_TMP/open.$h_name ]; do sleep 0.05; done; echo $h_name >>$ZT_TMP/order"
}

test_expect_success 'short tasks do not wait behind a long one while an engine is free' '
	L=$(held long) &&
	wait_for 30 "test -e started.long" &&
	S="" &&
	for i in 1 2 3 4 5 6 7 8; do S="$S $(sub -- sleep 0.3)"; done &&
	start=$(date +%s) &&
	# the long task runs until we say so: a short one queued behind it
	# would never finish
	zt_timeout 90 $ZPAR wait --timeout $(zt_scale 60) $S ||
	{ touch open.long; false; } &&
	end=$(date +%s) &&
	echo "8 short tasks took $((end - start)) s while task $L ran" &&
	touch open.long &&
	zt_timeout 30 $ZPAR wait --timeout 20 $L &&
	lengine=$(engine_of $L) && test -n "$lengine" &&
	for s in $S; do
		e=$(engine_of $s) && echo "short $s ran on engine $e (the long one on $lengine)" &&
		test -n "$e" && test "$e" != "$lengine" || return 1
	done
'

test_expect_success 'higher priority runs first' '
	# engine 1 runs a task held open; a low then a high priority task
	# wait for it there (the engine orders its queue by priority, first
	# in first out within one); when it is let go, high runs before low
	: >order &&
	B=$(held gate --targets 1) &&
	wait_for 30 "test -e started.gate" &&
	LOW=$(sub --targets 1 --priority 0 -- sh -c "echo low >>$ZT_TMP/order") &&
	HIGH=$(sub --targets 1 --priority 10 -- sh -c "echo high >>$ZT_TMP/order") &&
	touch open.gate &&
	zt_timeout 60 $ZPAR wait --timeout 50 $B $LOW $HIGH &&
	echo "ran in this order: $(tr "\n" " " <order)" &&
	expect_eq "order" "gate high low" "$(tr "\n" " " <order | sed "s/ \$//")"
'

test_expect_success 'dependencies: after a success it runs, after a failure it does not' '
	A=$(sub -- sh -c "sleep 0.5; echo a") &&
	B=$(sub --after $A -- echo b) &&
	F=$(sub -- sh -c "exit 4") &&
	C=$(sub --after $F -- echo never) &&
	zt_timeout 30 $ZPAR wait --timeout 20 $A $B &&
	{ zt_timeout 30 $ZPAR wait --timeout 20 $C; rc=$?; } ;
	expect_eq "wait on a dependent of a failure" 1 $rc &&
	zt_timeout 20 $ZPAR result --json $C >c.json; cat c.json &&
	expect_grep "dependency" c.json
'

test_expect_success 'targets: a task goes only to the engines it names' '
	ids="" &&
	for i in 1 2 3 4; do ids="$ids $(sub --targets 2 -- true)"; done &&
	zt_timeout 30 $ZPAR wait --timeout 20 $ids &&
	for t in $ids; do e=$(engine_of $t) && expect_eq "engine of $t" 2 "$e" || return 1; done
'

test_expect_success 'a failing task with retries is retried, then reported failed' '
	T=$(sub --retries 2 -- sh -c "echo try >> tries.txt; exit 5") &&
	{ zt_timeout 30 $ZPAR wait --timeout 20 $T; rc=$?; } ;
	expect_eq "wait exit" 1 $rc &&
	expect_eq "attempts" 3 "$(wc -l < tries.txt | tr -d " ")"
'

test_expect_success 'zpar cluster stop' '
	zt_cluster_stop
'

test_done
