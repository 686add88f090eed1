#!/bin/sh
# t0940-restart-adopt: a controller SIGKILLed while a task runs on an
# engine, restarted with --reuse: the engine reports the task it holds and
# the new controller adopts it (it runs once, its result reaches the
# records), the completed count has no duplicate, engine ids are not given
# to another process, and `zpar cluster stop` stops the restarted cluster
# and says so.
. "$(cd "$(dirname "$0")/.." && pwd)/lib/sharness-lite.sh"
zt_require_zpar

# the controller's pid, from the cluster's pids file
ctl_pid () { awk '$1 == "controller" { print $2 }' "$(cat dir.txt)/pids"; }

test_expect_success 'a cluster of 2 engines and a finished task' '
	zt_cluster_start 2 &&
	dirname "$ZPAR_CONNECTION_FILE" >dir.txt &&
	ID=$(zt_timeout 20 $ZPAR submit -- echo before) &&
	zt_timeout 20 $ZPAR wait --timeout 10 $ID
'

test_expect_success 'a task that counts its runs starts on an engine' '
	: >runs.txt &&
	T=$(zt_timeout 20 $ZPAR submit -- sh -c "echo run >>$ZT_TMP/runs.txt; sleep 4; echo slow-done") &&
	echo "$T" >slow.txt &&
	wait_for 20 "test -s runs.txt" &&
	sleep 0.5 # the records are written every 50 ms
'

test_expect_success 'SIGKILL the controller while it runs, restart it with --reuse' '
	zt_restart_controller 2 "$(ctl_pid)"
'

test_expect_success 'the task finishes and its result reaches the records' '
	zt_timeout 60 $ZPAR wait --timeout 50 $(cat slow.txt) &&
	zt_timeout 20 $ZPAR result $(cat slow.txt) >res.txt &&
	cat res.txt &&
	expect_grep "^slow-done$" res.txt
'

test_expect_success 'it ran once (adopted, not queued again)' '
	sleep 5 &&
	cat runs.txt &&
	test "$(wc -l <runs.txt)" -eq 1
'

test_expect_success 'the completed count has no duplicate (2 tasks, 2 completed)' '
	zt_timeout 10 $ZPAR status >st.txt &&
	cat st.txt &&
	expect_grep " 2 completed" st.txt
'

test_expect_success 'an engine killed with the controller: its id is not given to a new engine' '
	D=$(cat dir.txt) &&
	zt_timeout 10 $ZPAR status >before.txt &&
	e1=$(awk "\$1 == 1 && \$3 ~ /^[0-9]+\$/ { print \$3 }" before.txt) &&
	test -n "$e1" &&
	kill -KILL $e1 &&
	zt_restart_controller 3 &&
	zt_spawn engine-new "$ZPAR" engine --connection-file "$D/engine.json" &&
	echo $ZT_LAST_PID >new.pid &&
	wait_for 30 "zt_timeout 10 $ZPAR status 2>/dev/null | grep -q \" $ZT_LAST_PID \"" &&
	zt_timeout 10 $ZPAR status >after.txt &&
	cat after.txt &&
	newid=$(awk -v p=$(cat new.pid) "\$3 == p { print \$1 }" after.txt) &&
	echo "new engine: id $newid" &&
	test "$newid" -gt 2
'

test_expect_success 'zpar cluster stop stops the restarted cluster and says so' '
	D=$(cat dir.txt) &&
	awk "\$1 == \"engine\" { print \$3 }" "$D/pids" >recorded.txt &&
	for p in $(cat recorded.txt); do kill -KILL $p 2>/dev/null; done &&
	wait_for 10 "zt_all_dead recorded.txt" &&
	# none of the processes "zpar cluster start" recorded runs any more
	zt_timeout 30 $ZPAR cluster stop >stop.txt 2>&1
	rc=$? &&
	cat stop.txt &&
	test $rc = 0 &&
	wait_for 20 "! zt_alive $(cat ctl.pid)" &&
	wait_for 20 "! zt_alive $(cat new.pid)" &&
	! grep -q "no cluster" stop.txt &&
	expect_grep "^stopped" stop.txt
'

test_done
