#!/bin/sh
# t0045-client-api: the cluster operations of libzpar against a live
# controller started by hand: waiting for engines (and timing out), options
# instead of environment variables, futures for other clients' tasks,
# controller-loss detection in a wait, fast failure on a stale connection
# file, and the control socket's calls (abort, interrupt).
. "$(cd "$(dirname "$0")/.." && pwd)/lib/sharness-lite.sh"
zt_require_zpar
zt_find_testclient || skip_all "no zpar-testclient in $builddir"
TC="$TESTCLIENT"
D=$ZT_TMP/cluster

test_expect_success 'a controller and 2 engines started by hand' '
	zt_controller "$D" &&
	zt_engine "$D" engine1 &&
	zt_engine "$D" engine2
'

test_expect_success 'zpar_client_wait_engines: both engines' '
	zt_timeout 40 "$TC" -t 30 wait-engines 2 >we.out &&
	expect_grep "^engines live=2$" we.out
'

test_expect_success 'zpar_client_wait_engines: ETIMEDOUT when too few come' '
	zt_timeout 20 "$TC" wait-engines-timeout 3 1.0 >wet.out &&
	cat wet.out &&
	expect_grep "^wait_engines rc=-1 errno=ETIMEDOUT" wet.out &&
	ms=$(sed -n "s/.* ms=\\([0-9]*\\)$/\\1/p" wet.out) &&
	test "$ms" -ge 900 && test "$ms" -lt $(zt_scale 8000 | cut -d. -f1)
'

test_expect_success 'zpar_client_connect_opts: the cluster directory, no environment' '
	zt_timeout 20 "$TC" connect-opts "$D" >co.out &&
	cat co.out &&
	expect_grep "^connect_opts file=$D/client.json client=[0-9]+ alive=2$" co.out
'

test_expect_success 'zpar_client_future_for: tasks of another client, and an unknown id' '
	id1=$(zt_timeout 20 $ZPAR submit -- sh -c "sleep 0.5; echo first") &&
	id2=$(zt_timeout 20 $ZPAR submit -- sh -c "exit 3") &&
	zt_timeout 40 "$TC" -t 30 future-for $id1 $id2 9999.1 >ff.out &&
	cat ff.out &&
	expect_grep "^future id=$id1 status=ok stdout=first\\\\n$" ff.out &&
	expect_grep "^future id=$id2 status=failed " ff.out &&
	expect_grep "^future id=9999.1 errno=ENOENT done=1$" ff.out
'

test_expect_success 'the control socket: abort of a queued direct task, interrupt twice' '
	zt_timeout 60 "$TC" -t 30 control >ctl.out &&
	cat ctl.out &&
	expect_grep "^control abort status=aborted$" ctl.out &&
	expect_grep "^control interrupt status=[a-z]+ fast=1$" ctl.out &&
	expect_grep "^control interrupt-again ok$" ctl.out &&
	expect_grep "^control balanced ok$" ctl.out
'

test_expect_success 'a waiting call from a callback fails with EDEADLK; the client goes on' '
	zt_timeout 40 "$TC" -t 30 callback-deadlock >cd.out &&
	cat cd.out &&
	expect_grep "^callback calls=[0-9]+ errno=(EDEADLK|0)$" cd.out
'

test_expect_success 'zpar_client_fetch_result: an unknown id is ENOENT after a grace second' '
	start=$(zt_now_ms) &&
	! zt_timeout 20 $ZPAR result 9999.2 2>unk.err &&
	end=$(zt_now_ms) &&
	expect_grep "no task 9999.2" unk.err &&
	test $((end - start)) -ge 900
'

test_expect_success 'a wait fails with EHOSTDOWN when the controller dies' '
	zt_spawn lost "$TC" -t 60 lost 60 &&
	lost_pid=$ZT_LAST_PID &&
	wait_for 20 "grep -q ^waiting \"$ZT_TMP/lost.out\"" &&
	kill -KILL $ZT_CONTROLLER_PID &&
	wait_for 20 "! zt_alive $lost_pid" &&
	cat "$ZT_TMP/lost.out" "$ZT_TMP/lost.err" &&
	expect_grep "^lost rc=-1 errno=EHOSTDOWN" "$ZT_TMP/lost.out" &&
	ms=$(sed -n "s/^lost .* ms=\\([0-9]*\\)$/\\1/p" "$ZT_TMP/lost.out") &&
	test "$ms" -lt $(zt_scale 10000 | cut -d. -f1) &&
	expect_no_grep FAIL "$ZT_TMP/lost.err"
'

test_expect_success 'connecting with the stale connection file fails at once (ECONNREFUSED)' '
	zt_timeout 20 "$TC" stale-connect >sc.out &&
	cat sc.out &&
	expect_grep "^stale=1 connect errno=ECONNREFUSED ms=[0-9]+$" sc.out &&
	ms=$(sed -n "s/.* ms=\\([0-9]*\\)$/\\1/p" sc.out) &&
	test "$ms" -lt 2000 &&
	expect_grep "is not running" sc.out
'

test_done
