#!/bin/sh
# t0914-restart-direct-again: a direct task that reaches a restarted
# controller before its engine registered again is answered "engine not
# connected"; its client, having seen the restart, holds that answer in
# doubt and sends the task again (same id) until the engine is back.  The
# task then runs, and the controller is SIGKILLed and restarted again
# while it runs.  The engine reports the task it holds: the new controller
# must adopt it (it runs on, once), not tell the engine to drop it as
# finished because the first controller recorded "not connected" as its
# result (the client, reading that record, would send it a third time: it
# would run twice).  The client must get an ok result for its task and
# the side effect must be in the file exactly once.
. "$(cd "$(dirname "$0")/.." && pwd)/lib/sharness-lite.sh"
zt_require_zpar

CR=$builddir/tests/lib/client-restart
[ -x "$CR" ] || skip_all "no client-restart driver in $builddir/tests/lib"

lines () { if [ -f "$1" ]; then wc -l <"$1"; else echo 0; fi; }
engine_pid () {
	sed -n "s/.* registered as engine 1 (host [^,]*, pid \([0-9]*\).*/\1/p" "$(cat dir.txt)/engine-1.log" |
		head -n 1
}

test_expect_success 'a cluster of 1 engine' '
	zt_restart_cluster 1 &&
	engine_pid >engine.pid &&
	zt_alive $(cat engine.pid)
'

# the client's wait must outlast the restart below: a loaded machine (load
# 30 on 2 cores) took 11 s to SIGKILL and restart a controller, and the
# task reached the old one
test_expect_success 'a client connects and waits 20 s before it submits' '
	zt_spawn client "$CR" -t 120 -n 1 -d 1 -s 4 -w 20 -p 0.2 "$PWD/side.txt" &&
	echo $ZT_LAST_PID >client.pid &&
	wait_for 20 "grep -q \"^connected engines=1\$\" \"\$ZT_TMP/client.out\""
'

test_expect_success 'SIGSTOP the engine, SIGKILL the controller, restart it (1)' '
	kill -STOP $(cat engine.pid) &&
	zt_restart_controller 1 &&
	! grep -q "^waited" "$ZT_TMP/client.out"
'

test_expect_success 'the direct task reaches the new controller while its engine is away' '
	wait_for 45 "grep -q \"^waited\" \"\$ZT_TMP/client.out\"" &&
	sleep 2.5 &&
	[ $(lines side.txt) -eq 0 ]
'

test_expect_success 'SIGCONT the engine: the task sent again runs' '
	kill -CONT $(cat engine.pid) &&
	wait_for 40 "[ \$(lines side.txt) -ge 1 ]"
'

test_expect_success 'SIGKILL the controller while it runs, restart it (2)' '
	zt_restart_controller 2
'

test_expect_success 'the client finishes by itself, its task ok' '
	wait_for 90 "! zt_alive $(cat client.pid)" &&
	cat "$ZT_TMP/client.out" && sed -n 1,20p "$ZT_TMP/client.err" &&
	grep -q "^final ok=1 failed=0 incomplete=0 " "$ZT_TMP/client.out"
'

test_expect_success 'the side effect ran exactly once' '
	sleep 2 &&
	cat side.txt &&
	zt_diag "side effects: $(lines side.txt) line(s) for 1 task" &&
	[ $(lines side.txt) -eq 1 ]
'

test_expect_success 'zpar stop ends the restarted controller and the engine' '
	kill -CONT $(cat engine.pid) 2>/dev/null;
	zt_timeout 30 $ZPAR stop &&
	wait_for 20 "! zt_alive $(cat ctl.pid)"
'

test_done
