#!/bin/sh
# t0048-client-batch: batches between a client and the task scheduler on a
# real cluster.  libzpar packs the submits made between polls into one
# message; the scheduler splits it and sends each client the results of
# one drain as one message.  A client submitting 10,000 tasks back to back
# gets 10,000 results, each its own, once; a lone submit followed by a
# wait is answered at once; forged and malformed batches on the scheduler's
# client socket are dropped and counted while it keeps serving; and a
# controller SIGKILLed and restarted (--reuse) in the middle of batched
# submits loses none of them and runs none twice.
. "$(cd "$(dirname "$0")/.." && pwd)/lib/sharness-lite.sh"
zt_require_zpar
zt_find_testfn || skip_all "no testfn.so in $builddir (build the check programs)"

BC=$builddir/tests/lib/batch-client
CR=$builddir/tests/lib/client-restart
[ -x "$BC" ] && [ -x "$CR" ] || skip_all "no batch-client / client-restart in $builddir/tests/lib"
N=1000

lines () { if [ -f "$1" ]; then wc -l <"$1"; else echo 0; fi; }

test_expect_success 'a cluster of 2 engines' '
	zt_restart_cluster 2
'

test_expect_success 'a lone submit followed by a wait is answered' '
	zt_timeout 60 "$BC" lone "$TESTFN" >lone.out
	rc=$?
	cat lone.out &&
	expect_eq "lone exit status" 0 $rc &&
	expect_grep "^lone ok=1 " lone.out
'

test_expect_success '10,000 tasks packed into batches: 10,000 results, each its own, once' '
	zt_timeout 300 "$BC" many 10000 "$TESTFN" >many.out
	rc=$?
	cat many.out &&
	expect_eq "many exit status" 0 $rc &&
	expect_grep "^many n=10000 ok=10000 bad=0 " many.out &&
	expect_grep "^many completed=10000 failed=0 " many.out
'

test_expect_success 'the same with batching off (ZPAR_CLIENT_BATCH=0)' '
	ZPAR_CLIENT_BATCH=0 zt_timeout 120 "$BC" many 1000 "$TESTFN" >many0.out
	rc=$?
	cat many0.out &&
	expect_eq "many exit status" 0 $rc &&
	expect_grep "^many n=1000 ok=1000 bad=0 " many0.out
'

test_expect_success 'hostile batches on task_client: dropped, counted, the good item served' '
	zt_timeout 120 "$BC" hostile >hostile.out
	rc=$?
	cat hostile.out &&
	expect_eq "hostile exit status" 0 $rc &&
	expect_grep "^hostile ok=1" hostile.out
'

test_expect_success 'the controller and the engines survived and still serve' '
	zt_alive $(cat ctl.pid) &&
	zt_timeout 60 "$BC" many 500 "$TESTFN" >after.out &&
	expect_grep "^many n=500 ok=500 bad=0 " after.out
'

test_expect_success 'a client submits 1,000 tasks with side effects, 50 at a time' '
	zt_spawn client "$CR" -t 150 -n $N -b 50 -r 200 -s 0.01 -p 1 "$PWD/side.txt" &&
	echo $ZT_LAST_PID >client.pid &&
	wait_for 60 "[ \$(lines side.txt) -ge 100 ]"
'

test_expect_success 'SIGKILL the controller in the middle, restart it with --reuse' '
	zt_restart_controller 1
'

test_expect_success 'the client finishes by itself, every future ok' '
	wait_for 200 "! zt_alive $(cat client.pid)" &&
	cat "$ZT_TMP/client.out" && sed -n 1,20p "$ZT_TMP/client.err" &&
	f=$(grep "^final " "$ZT_TMP/client.out") &&
	echo "$f" | grep -q " incomplete=0 " &&
	grep "^wait " "$ZT_TMP/client.out" | grep -q "^wait rc=0 " &&
	! grep "^bad " "$ZT_TMP/client.out" | grep -v " status=engine-died "
'

test_expect_success 'no side effect lost (every index in the file)' '
	distinct=$(sort -n side.txt | uniq | wc -l) &&
	zt_diag "side effects: $(lines side.txt) lines, $distinct distinct, $((N - distinct)) never ran, $(sort -n side.txt | uniq -d | wc -l) twice" &&
	[ "$distinct" -eq $N ]
'

test_expect_success 'zpar stop ends the restarted controller and the engines' '
	zt_timeout 30 $ZPAR stop &&
	wait_for 20 "! zt_alive $(cat ctl.pid)"
'

test_done
