#!/bin/sh
# t0944-restart-sent-again: a task that finishes while the controller is
# SIGKILLed, on an engine that stays up: its result goes to no live
# controller.  The engine registers again with the restarted controller
# (--reuse), which must take the result the engine sends again and not run
# the task a second time (the chaos test's "ran on two live engines").
. "$(cd "$(dirname "$0")/.." && pwd)/lib/sharness-lite.sh"
zt_require_zpar

# a period long enough that the task ends well before the engine sees the
# controller gone (and before fencing kills it)
ZPAR_HB_PERIOD_MS=1000
export ZPAR_HB_PERIOD_MS

ctl_pid () { awk '$1 == "controller" { print $2 }' "$(cat dir.txt)/pids"; }

test_expect_success 'a cluster of 2 engines and a finished task' '
	zt_cluster_start 2 &&
	dirname "$ZPAR_CONNECTION_FILE" >dir.txt &&
	ID=$(zt_timeout 20 $ZPAR submit -- echo before) &&
	zt_timeout 20 $ZPAR wait --timeout 10 $ID
'

test_expect_success 'a task runs; the controller is SIGKILLed; the task ends while it is down' '
	D=$(cat dir.txt) &&
	: >runs.txt &&
	T=$(zt_timeout 20 $ZPAR submit -- sh -c "echo run >>$ZT_TMP/runs.txt; sleep 2; echo end >>$ZT_TMP/runs.txt; echo sent-again") &&
	echo "$T" >task.txt &&
	wait_for 20 "grep -q run runs.txt" &&
	sleep 0.8 && # the records are written every 50 ms: running is recorded
	cp "$D/client.json" saved.json &&
	C=$(ctl_pid) &&
	kill -KILL $C &&
	wait_for 10 "! zt_alive $C" &&
	wait_for 20 "grep -q end runs.txt"
'

test_expect_success 'the controller restarts with --reuse' '
	zt_start_reusing 2
'

test_expect_success 'the result the engine sent again reaches the records' '
	zt_timeout 60 $ZPAR wait --timeout 50 $(cat task.txt) &&
	zt_timeout 20 $ZPAR result $(cat task.txt) >res.txt &&
	cat res.txt &&
	expect_grep "^sent-again$" res.txt
'

test_expect_success 'the task ran once (its result taken, not queued again)' '
	sleep 6 && # past the recovery window (4 periods), where it would be queued again
	cat runs.txt &&
	test "$(grep -c run runs.txt)" -eq 1
'

test_expect_success 'the restarted controller dropped nothing as forged' '
	zt_timeout 10 $ZPAR status >st.txt &&
	cat st.txt &&
	! grep -q "^dropped messages: [1-9]" st.txt
'

test_expect_success 'stop the cluster' '
	zt_timeout 30 $ZPAR cluster stop &&
	wait_for 20 "! zt_alive $(cat ctl.pid)"
'

test_done
