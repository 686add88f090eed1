#!/bin/sh
# t0912-client-window: a burst beyond the client's window
# ($ZPAR_CLIENT_WINDOW) waits in the client, not in the controller, and
# every guarantee holds through it:
#   - the controller never holds more than the window of the client's
#     tasks (pending + running, sampled while 1,500 tasks are submitted at
#     once with a window of 100);
#   - the controller is SIGKILLed and restarted twice during that throttled
#     burst: every task answered ok, its side effect run exactly once;
#   - aborts behind a backlog (200 tasks of 2 s, window 20) are answered at
#     once, aborted: the last task (held in the client) and one queued in
#     the task scheduler;
#   - a chain of 300 tasks, each after the one before, completes through a
#     window of 20;
#   - 30 tasks bound to an absent engine do not keep 5 plain tasks of the
#     same client out through a window of 20.
. "$(cd "$(dirname "$0")/.." && pwd)/lib/sharness-lite.sh"
zt_require_zpar
zt_find_testclient || skip_all "no zpar-testclient in $builddir/tests/lib"

CR=$builddir/tests/lib/client-restart WC=$builddir/tests/lib/window-client
for prog in "$CR" "$WC"; do
	[ -x "$prog" ] || skip_all "no $prog (build the check programs)"
done
N=1500 W=100

lines () { if [ -f "$1" ]; then wc -l <"$1"; else echo 0; fi; }

# the controller's pending + running tasks (empty when it does not answer)
live () {
	zt_timeout 10 "$TESTCLIENT" -t 5 status 2>/dev/null |
		sed -n 's/^status pending=\([0-9]*\) running=\([0-9]*\) .*/\1 \2/p' |
		awk '{ print $1 + $2 }'
}

test_expect_success 'a cluster of 2 engines' '
	zt_restart_cluster 2
'

test_expect_success "a client submits $N tasks at once, window $W" '
	ZPAR_CLIENT_WINDOW=$W zt_spawn client "$CR" -t 200 -n $N -b $N -r 1000000 -s 0.01 -p 1 \
		"$PWD/side.txt" &&
	echo $ZT_LAST_PID >client.pid &&
	wait_for 60 "[ \$(lines side.txt) -ge 20 ]"
'

test_expect_success "the controller holds at most $W of them (sampled 20 times)" '
	max=0 &&
	for i in $(seq 1 20); do
		v=$(live) &&
		if [ -n "$v" ] && [ "$v" -gt "$max" ]; then max=$v; fi
		sleep 0.05
	done &&
	zt_diag "most tasks in the controller at once: $max (window $W, burst $N)" &&
	[ "$max" -gt 0 ] && [ "$max" -le $W ]
'

test_expect_success 'SIGKILL the controller during the burst, restart it with --reuse (1)' '
	zt_restart_controller 1 &&
	n0=$(lines side.txt) &&
	wait_for 60 "[ \$(lines side.txt) -ge \$((n0 + 200)) ]"
'

test_expect_success 'SIGKILL the controller, restart it with --reuse (2)' '
	zt_restart_controller 2
'

test_expect_success 'the client finishes by itself, every future ok' '
	wait_for 200 "! zt_alive $(cat client.pid)" &&
	out=$ZT_TMP/client.out &&
	cat "$out" "$ZT_TMP/client.err" | head -n 40 &&
	zt_diag "$(grep "^final " "$out")" &&
	grep -q "^final ok=$N failed=0 incomplete=0 " "$out"
'

test_expect_success 'every side effect ran exactly once' '
	distinct=$(sort -n side.txt | uniq | wc -l) &&
	twice=$(sort -n side.txt | uniq -d | wc -l) &&
	zt_diag "side effects: $(lines side.txt) lines, $distinct distinct, $twice run twice" &&
	[ "$distinct" -eq $N ] && [ "$twice" -eq 0 ]
'

test_expect_success 'aborts behind a backlog are answered at once, aborted' '
	ZPAR_CLIENT_WINDOW=20 zt_timeout 120 "$WC" -q 15 abort 200 2 >abort.out 2>abort.err;
	rc=$?; cat abort.out abort.err &&
	zt_diag "$(cat abort.out)" &&
	[ $rc -eq 0 ] &&
	awk "/^abort / { sub(\"ms=\", \"\", \$4); if (\$4 + 0 > 3000) bad = 1 } END { exit bad }" abort.out
'

test_expect_success 'a chain of 300 tasks completes through a window of 20' '
	ZPAR_CLIENT_WINDOW=20 zt_timeout 120 "$WC" chain 300 >chain.out 2>chain.err;
	rc=$?; cat chain.out chain.err &&
	zt_diag "$(cat chain.out)" &&
	[ $rc -eq 0 ] && grep -q "^final ok=300 " chain.out
'

test_expect_success 'tasks for an absent engine do not fill the window' '
	ZPAR_CLIENT_WINDOW=20 zt_timeout 60 "$WC" targets 30 >targets.out 2>targets.err;
	rc=$?; cat targets.out targets.err &&
	zt_diag "$(cat targets.out)" &&
	[ $rc -eq 0 ] && grep -q "^final ok=5 " targets.out
'

test_expect_success 'zpar stop ends the restarted controller and the engines' '
	zt_timeout 30 $ZPAR stop &&
	wait_for 20 "! zt_alive $(cat ctl.pid)"
'

test_done
