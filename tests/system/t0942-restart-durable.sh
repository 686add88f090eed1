#!/bin/sh
# t0942-restart-durable: accepted means durable.  A client submits tasks
# fast (RESTART_N tasks, RESTART_RATE a second: 1,500 at 500/s here, the
# long form 8,000 at 1,000/s), each appending its index to a file; the
# controller is SIGKILLed and restarted with `zpar controller --reuse`
# twice while they flow.  Engines report the tasks they hold (adopted, not
# run again), the client asks about its unfinished tasks and submits again
# (same id) those the hub does not know.  Counted at the end: tasks
# without a final result (must be 0) and side effects that ran twice
# (printed; the short form fails above RESTART_TWICE_MAX, default 0).
. "$(cd "$(dirname "$0")/.." && pwd)/lib/sharness-lite.sh"
zt_require_zpar

CR=$builddir/tests/lib/client-restart
[ -x "$CR" ] || skip_all "no client-restart driver in $builddir/tests/lib"
N=${RESTART_N:-1500}
RATE=${RESTART_RATE:-500}
SLEEP=${RESTART_SLEEP:-0} # seconds each task sleeps after its side effect
TWICE_MAX=${RESTART_TWICE_MAX:-0}
# the recovery window is (misses + 1) periods: a period of 200 ms keeps
# the test short
lines () { if [ -f "$1" ]; then wc -l <"$1"; else echo 0; fi; }

test_expect_success 'a cluster of 2 engines' '
	zt_restart_cluster 2
'

test_expect_success "a client submits $N tasks at $RATE a second" '
	zt_spawn client "$CR" -t $((N / 10 + 120)) -n $N -r $RATE -s $SLEEP -p 1 "$PWD/side.txt" &&
	echo $ZT_LAST_PID >client.pid &&
	wait_for 60 "[ \$(lines side.txt) -ge $((N / 8)) ]"
'

test_expect_success 'SIGKILL the controller while tasks flow, restart it (1)' '
	zt_restart_controller 1 &&
	n0=$(lines side.txt) &&
	wait_for 120 "[ \$(lines side.txt) -ge \$((n0 + $N / 4)) ]"
'

test_expect_success 'SIGKILL the controller while tasks flow, restart it (2)' '
	zt_restart_controller 2
'

test_expect_success 'the client finishes by itself' '
	wait_for $((N / 10 + 200)) "! zt_alive $(cat client.pid)" &&
	cat "$ZT_TMP/client.out" &&
	grep -q "^final " "$ZT_TMP/client.out"
'

test_expect_success 'every task has a final result (0 without one)' '
	f=$(grep "^final " "$ZT_TMP/client.out") &&
	zt_diag "$f" &&
	zt_diag "$(sed -n "s/^bad index=[0-9]* id=[0-9.]* //p" "$ZT_TMP/client.out" |
		sed "s/[0-9][0-9.]*/N/g" | sort | uniq -c | sort -rn | head -n 5)" &&
	echo "$f" | grep -q " incomplete=0 "
'

test_expect_success "side effects: every task ran, at most $TWICE_MAX twice" '
	twice=$(sort -n side.txt | uniq -d | wc -l) &&
	distinct=$(sort -n side.txt | uniq | wc -l) &&
	zt_diag "tasks $N, side effects $(lines side.txt), ran twice $twice, never ran $((N - distinct))" &&
	zt_diag "controller: $(cat "$(cat dir.txt)/controller.log" "$ZT_TMP"/controller*.err 2>/dev/null |
		grep -c "told to drop it") held task(s) dropped, $(cat "$ZT_TMP"/controller*.err 2>/dev/null |
		grep -o "recovery done: .*" | tr "\n" ";")" &&
	[ "$distinct" -eq $N ] && [ "$twice" -le $TWICE_MAX ]
'

test_expect_success 'zpar stop ends the restarted controller and the engines' '
	zt_timeout 30 $ZPAR stop &&
	wait_for 20 "! zt_alive $(cat ctl.pid)"
'

test_done
