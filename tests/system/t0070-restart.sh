#!/bin/sh
# t0070-restart: kill the controller (SIGKILL) and restart it on the same
# ports and key (zpar controller --reuse): the engines notice the new
# controller and register again, completed results survive (records are in
# SQLite), and new work runs.
. "$(cd "$(dirname "$0")/.." && pwd)/lib/sharness-lite.sh"
zt_require_zpar

test_expect_success 'a cluster of 2 engines and a finished task' '
	zt_cluster_start 2 &&
	D=$(dirname "$ZPAR_CONNECTION_FILE") && echo "$D" >dir.txt &&
	ID=$(zt_timeout 20 $ZPAR submit -- echo survived) && echo "$ID" >id.txt &&
	zt_timeout 20 $ZPAR wait --timeout 10 $ID
'

test_expect_success 'SIGKILL the controller, restart it with --reuse' '
	D=$(cat dir.txt) &&
	cp "$D/client.json" saved.json &&
	cpid=$(awk "/^controller/ {print \$2}" "$D/pids") &&
	kill -KILL $cpid &&
	wait_for 10 "! zt_alive $cpid" &&
	zt_spawn controller2 "$ZPAR" controller --dir "$D" --reuse saved.json &&
	echo $ZT_LAST_PID >ctl2.pid &&
	wait_for 20 "grep -q \"\\\"pid\\\": $ZT_LAST_PID\" $D/client.json"
'

test_expect_success 'the engines register again with the new controller' '
	wait_for 30 "zt_timeout 10 $ZPAR status 2>/dev/null | grep -q \"2 idle\"" &&
	zt_timeout 10 $ZPAR status
'

test_expect_success 'a result completed before the crash is still there' '
	zt_timeout 20 $ZPAR result $(cat id.txt) >res.txt &&
	cat res.txt &&
	expect_grep "^survived$" res.txt
'

test_expect_success 'new work runs on both engines' '
	zt_timeout 30 $ZPAR px hostname >px.txt &&
	cat px.txt &&
	expect_grep "^\[e1\] " px.txt && expect_grep "^\[e2\] " px.txt
'

test_expect_success 'tasks queued when the controller dies still run after the restart' '
	D=$(cat dir.txt) &&
	ids="" &&
	for i in 1 2 3 4 5 6 7 8 9 10 11 12; do ids="$ids $(zt_timeout 20 $ZPAR submit -- sh -c "sleep 0.5; echo done$i")"; done &&
	cp "$D/client.json" saved2.json &&
	sleep 0.3 &&
	kill -KILL $(cat ctl2.pid) &&
	wait_for 10 "! zt_alive $(cat ctl2.pid)" &&
	zt_spawn controller3 "$ZPAR" controller --dir "$D" --reuse saved2.json &&
	echo $ZT_LAST_PID >ctl2.pid &&
	wait_for 20 "grep -q \"\\\"pid\\\": $ZT_LAST_PID\" $D/client.json" &&
	zt_timeout 90 $ZPAR wait --timeout 60 $ids &&
	for t in $ids; do zt_timeout 20 $ZPAR result $t | grep -q "^done" || { echo "no output for $t"; return 1; }; done
'

test_expect_success 'zpar stop ends the restarted controller and the engines' '
	zt_timeout 30 $ZPAR stop &&
	wait_for 20 "! zt_alive $(cat ctl2.pid)"
'

test_done
