#!/bin/sh
# t0902-engine-outbox: results of tasks that finish while the controller is
# down are kept by their engines and delivered once a controller is back
# (zpar controller --reuse), and the tasks do not run again: one task ends
# before its engine notices the controller is gone (its result went into a
# dead connection: the engine sends it again), one after (its result waits
# in the outbox).  (doc/engine.md, "Registration and controller loss".)
. "$(cd "$(dirname "$0")/.." && pwd)/lib/sharness-lite.sh"
zt_require_zpar
zt_find_testclient || skip_all "no zpar-testclient in $builddir"

D=$ZT_TMP/ctl
TC="$TESTCLIENT"

test_expect_success 'a controller and two engines' '
	zt_controller "$D" && echo $ZT_CONTROLLER_PID >ctl.pid &&
	zt_engine "$D" engine1 && zt_engine "$D" engine2 &&
	zt_timeout 40 "$TC" wait-engines 2
'

test_expect_success 'two tasks run, one on each engine' '
	: >runs && : >ends &&
	A=$(zt_timeout 20 $ZPAR submit -- sh -c \
		"echo a >>$ZT_TMP/runs; sleep 1; echo a >>$ZT_TMP/ends; echo result-a") &&
	B=$(zt_timeout 20 $ZPAR submit -- sh -c \
		"echo b >>$ZT_TMP/runs; sleep 5; echo b >>$ZT_TMP/ends; echo result-b") &&
	echo $A >a.id && echo $B >b.id &&
	wait_for 20 "test \$(wc -l <runs) -ge 2" &&
	sleep 0.3 # the records are written every 50 ms
'

test_expect_success 'SIGKILL the controller; both tasks finish while it is down' '
	cp "$D/client.json" saved.json &&
	kill -KILL $(cat ctl.pid) &&
	wait_for 10 "! zt_alive $(cat ctl.pid)" &&
	wait_for 20 "test \$(wc -l <ends) -ge 2" &&
	sleep 1 &&
	cat ends
'

test_expect_success 'restart it with --reuse' '
	zt_spawn controller2 "$ZPAR" controller --dir "$D" --reuse saved.json &&
	echo $ZT_LAST_PID >ctl.pid &&
	wait_for 20 "grep -q \"\\\"pid\\\": $ZT_LAST_PID\" $D/client.json" &&
	zt_timeout 40 "$TC" wait-engines 2
'

test_expect_success 'both results are delivered, from the run that happened' '
	zt_timeout 40 $ZPAR wait --timeout 30 $(cat a.id) $(cat b.id) &&
	zt_timeout 20 $ZPAR result $(cat a.id) >ra.txt &&
	zt_timeout 20 $ZPAR result $(cat b.id) >rb.txt &&
	cat ra.txt rb.txt &&
	expect_grep "^result-a$" ra.txt &&
	expect_grep "^result-b$" rb.txt
'

test_expect_success 'neither task ran again' '
	sleep 3 &&
	cat runs &&
	expect_eq "runs of a" 1 $(grep -c "^a$" runs) &&
	expect_eq "runs of b" 1 $(grep -c "^b$" runs)
'

test_done
