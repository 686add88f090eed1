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

test_expect_success 'short tasks do not wait behind a long one while an engine is free' '
	L=$(sub -- sleep 6) &&
	S="" &&
	for i in 1 2 3 4 5 6 7 8; do S="$S $(sub -- sleep 0.3)"; done &&
	start=$(date +%s) &&
	zt_timeout 30 $ZPAR wait --timeout 20 $S &&
	end=$(date +%s) &&
	echo "8 short tasks took $((end - start)) s while task $L ran" &&
	# 8 x 0.3 s on the free engine is 2.4 s; behind the long one it would be 6+ s
	test $((end - start)) -le 5 &&
	lengine=$(engine_of $L || true) &&
	for s in $S; do
		e=$(engine_of $s) && echo "short $s ran on engine $e" || return 1
	done &&
	zt_timeout 30 $ZPAR wait --timeout 20 $L
'

test_expect_success 'higher priority runs first' '
	# keep both engines busy, then queue low before high
	B1=$(sub -- sleep 1.5) && B2=$(sub -- sleep 1.5) &&
	F1=$(sub -- sleep 1.5) && F2=$(sub -- sleep 1.5) &&
	F3=$(sub -- sleep 1.5) && F4=$(sub -- sleep 1.5) &&
	F5=$(sub -- sleep 1.5) && F6=$(sub -- sleep 1.5) &&
	LOW=$(sub --priority 0 -- sh -c "date +%s.%N") &&
	HIGH=$(sub --priority 10 -- sh -c "date +%s.%N") &&
	zt_timeout 60 $ZPAR wait --timeout 50 $LOW $HIGH &&
	tl=$(zt_timeout 20 $ZPAR result $LOW | head -1) &&
	th=$(zt_timeout 20 $ZPAR result $HIGH | head -1) &&
	echo "low ran at $tl, high at $th" &&
	awk -v h="$th" -v l="$tl" "BEGIN { exit !(h <= l) }" &&
	zt_timeout 60 $ZPAR wait --timeout 50 $B1 $B2 $F1 $F2 $F3 $F4 $F5 $F6
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
