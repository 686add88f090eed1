#!/bin/sh
# t0030-faults: the fault behaviour of the design, as a guarantee: crashing
# tasks, timeouts, missing executables, an engine SIGKILLed mid-task
# (heartbeat detection, retry elsewhere or "engine died"), and tasks queued
# while no engine exists.
. "$(cd "$(dirname "$0")/.." && pwd)/lib/sharness-lite.sh"
zt_require_zpar
zt_find_testclient || skip_all "no zpar-testclient in $builddir"

D=$ZT_TMP/ctl
TC="$TESTCLIENT"

# the heartbeat detection bound is HB_PERIOD x (MISSES + 2) (1.2 s in the
# tests), but a loaded machine runs the controller late (1.9-3.3 s were
# seen under load 26 on 2 cores).  What is checked is the outcome: the
# death is detected while the killed task would still be sleeping (20 s),
# not at its end or never; 10 s, scaled, and never below the bound.
hb_bound_ms=$(awk -v p="$ZPAR_HB_PERIOD_MS" -v m="$ZPAR_HB_MISSES" 'BEGIN { printf "%d\n", p * (m + 2) }')
detect_limit_ms=$(awk -v b="$hb_bound_ms" -v s="$ZPAR_TEST_TIMEOUT_SCALE" \
	'BEGIN { v = 10000; if (b + 250 > v) v = b + 250; printf "%d\n", v * s }')

# killtest RETRIES OUTFILE: run the test client's killtest and SIGKILL the
# engine it names (only if that pid is one of ours)
killtest () {
	rm -f kt.fifo "$2" && mkfifo kt.fifo &&
	exec 7<>kt.fifo &&
	zt_spawn killtest "$TC" killtest --retries "$1" --sleep 20 <kt.fifo &&
	wait_for 30 "grep -q '^running ' '$ZT_TMP/killtest.out' || ! zt_alive $ZT_LAST_PID" &&
	kt_pid=$(sed -n "s/^running engine=[0-9]* pid=\([0-9]*\)$/\1/p" "$ZT_TMP/killtest.out") &&
	echo "killing engine pid $kt_pid" &&
	zt_is_ours "$kt_pid" &&
	kill -KILL "$kt_pid" &&
	echo killed >&7 &&
	exec 7>&- &&
	wait_for 60 "! zt_alive $ZT_PID_killtest" &&
	cat "$ZT_TMP/killtest.out" "$ZT_TMP/killtest.err" &&
	cp "$ZT_TMP/killtest.out" "$2" &&
	{ wait $ZT_PID_killtest; kt_rc=$?; } &&
	expect_eq "killtest exit status" 0 $kt_rc
}

check_detect () {
	ms=$(sed -n "s/^died engine=[0-9]* detect_ms=\([0-9]*\)$/\1/p" "$1") &&
	echo "detected in $ms ms (heartbeat bound $hb_bound_ms ms, limit $detect_limit_ms ms)" &&
	test -n "$ms" && test "$ms" -le "$detect_limit_ms"
}

test_expect_success 'start a controller and 2 engines by hand' '
	zt_controller "$D" && C1=$ZT_CONTROLLER_PID &&
	zt_engine "$D" engine1 && E1=$ZT_LAST_PID &&
	zt_engine "$D" engine2 && E2=$ZT_LAST_PID &&
	zt_timeout 40 "$TC" wait-engines 2
'

test_expect_success 'a segfaulting task is a signaled result; the engine lives on' '
	zt_timeout 60 "$TC" run -- sh -c "kill -SEGV \$\$" >segv.out &&
	cat segv.out &&
	expect_grep "^status=signaled$" segv.out &&
	expect_grep "^signal=11$" segv.out &&
	zt_alive $E1 && zt_alive $E2 &&
	zt_timeout 60 "$TC" direct >direct.out &&
	test $(grep -c "^direct engine=[0-9]* ok" direct.out) = 2
'

test_expect_success 'a task past its timeout is killed: status timeout' '
	t0=$(zt_now_ms) &&
	zt_timeout 60 "$TC" run --timeout 0.5 -- sleep 300 >tmo.out &&
	t1=$(zt_now_ms) &&
	cat tmo.out &&
	expect_grep "^status=timeout$" tmo.out &&
	echo "took $((t1 - t0)) ms" &&
	# killed at its timeout, not at the end of its 300 s: the client, its
	# connection and the result take seconds on a loaded machine (7 s seen)
	test $((t1 - t0)) -lt $(awk -v s="$ZPAR_TEST_TIMEOUT_SCALE" "BEGIN { printf \"%d\", 45000 * s }")
'

test_expect_success 'a task that ignores SIGTERM is still killed at its timeout' '
	zt_timeout 60 "$TC" run --timeout 0.5 -- sh -c "trap \"\" TERM INT; sleep 8; echo survived" >tmo2.out &&
	cat tmo2.out &&
	expect_grep "^status=timeout$" tmo2.out &&
	expect_no_grep "survived" tmo2.out
'

test_expect_success 'the timed-out tasks left no process behind' '
	sleep 0.5 &&
	for p in $(zt_marked_pids); do
		case "$(tr "\0" " " </proc/$p/cmdline 2>/dev/null)" in
		"sleep 20"* | "sleep 8"*) echo "left behind: $p"; return 1 ;;
		esac
	done
'

test_expect_success 'a missing executable: a clear error result' '
	zt_timeout 60 "$TC" run -- zpar-no-such-command-xyz arg >noexe.out &&
	cat noexe.out &&
	expect_grep "^status=error$" noexe.out &&
	expect_grep "^error=.*zpar-no-such-command-xyz" noexe.out
'

test_expect_success 'a missing executable from the CLI: wait fails, result says why' '
	id=$(zt_timeout 20 $ZPAR submit -- zpar-no-such-command-xyz) &&
	{ zt_timeout 30 $ZPAR wait --timeout 20 $id; rc=$?; } &&
	expect_eq "wait exit status" 1 $rc &&
	zt_timeout 20 $ZPAR result $id >noexe2.out 2>&1;
	cat noexe2.out &&
	expect_grep "zpar-no-such-command-xyz" noexe2.out
'

test_expect_success 'an engine SIGKILLed mid-task: detected by heartbeat, task retried elsewhere' '
	killtest 1 kill1.out &&
	check_detect kill1.out &&
	killed=$(sed -n "s/^running engine=\([0-9]*\) .*/\1/p" kill1.out) &&
	expect_grep "^final status=ok engine=[0-9]+ attempts=2 " kill1.out &&
	final=$(sed -n "s/^final status=ok engine=\([0-9]*\) .*/\1/p" kill1.out) &&
	test "$final" != "$killed" &&
	expect_grep "^after ok" kill1.out
'

test_expect_success 'the controller lists the killed engine as dead, the other as live' '
	zt_timeout 20 "$TC" engines >eng.out &&
	cat eng.out &&
	expect_grep "^engines n=2 live=1$" eng.out &&
	expect_grep "state=dead" eng.out
'

test_expect_success 'a new engine joins and takes work' '
	zt_engine "$D" engine3 && E3=$ZT_LAST_PID &&
	zt_timeout 40 "$TC" wait-engines 2 &&
	zt_timeout 60 "$TC" direct >direct3.out &&
	cat direct3.out &&
	test $(grep -c "^direct engine=[0-9]* ok" direct3.out) = 2
'

test_expect_success 'an engine SIGKILLed mid-task, no retries: "engine died" result' '
	killtest 0 kill0.out &&
	check_detect kill0.out &&
	expect_grep "^final status=engine-died engine=[0-9]+ attempts=1 error=.*(died|dead)" kill0.out &&
	expect_grep "^after ok" kill0.out
'

test_expect_success 'a direct task to the dead engine: an error result, not a hang' '
	dead=$(sed -n "s/^running engine=\([0-9]*\) .*/\1/p" kill0.out) &&
	zt_timeout 30 "$TC" run --engine $dead --wait 10 -- echo to-the-dead >dead.out &&
	cat dead.out &&
	expect_grep "^status=(error|engine-died)$" dead.out
'

D2=$ZT_TMP/ctl2
test_expect_success 'no engines at first: tasks wait in the queue' '
	zt_controller "$D2" && C2=$ZT_CONTROLLER_PID &&
	ZPAR_CONNECTION_FILE=$D/client.json &&
	zt_spawn queued "$TC" -f "$D2/client.json" -t 60 queued 4 &&
	Q=$ZT_LAST_PID &&
	wait_for 20 "grep -q \"^queued n=4\" $ZT_TMP/queued.out || ! zt_alive $Q" &&
	cat "$ZT_TMP/queued.out" &&
	expect_grep "^queued n=4 pending=4 running=0" "$ZT_TMP/queued.out" &&
	sleep 1 &&
	zt_alive $Q &&
	expect_no_grep "^queued-done" "$ZT_TMP/queued.out"
'

test_expect_success 'then an engine arrives and runs them all' '
	zt_spawn engine-late "$ZPAR" engine --connection-file "$D2/engine.json" &&
	wait_for 60 "! zt_alive $Q" &&
	cat "$ZT_TMP/queued.out" "$ZT_TMP/queued.err" &&
	{ wait $Q; rc=$?; } &&
	expect_eq "queued exit status" 0 $rc &&
	test $(grep -c "^queued-done" "$ZT_TMP/queued.out") = 4 &&
	expect_grep "^queued done failures=0" "$ZT_TMP/queued.out"
'

test_expect_success 'kill all engines: tasks wait; start an engine: it takes them' '
	kill -KILL $ZT_PID_engine_late &&
	zt_spawn queued2 "$TC" -f "$D2/client.json" -t 60 queued 2 &&
	Q2=$ZT_LAST_PID &&
	wait_for 20 "grep -q \"^queued n=2\" $ZT_TMP/queued2.out || ! zt_alive $Q2" &&
	sleep 1.5 && zt_alive $Q2 &&
	zt_spawn engine-late2 "$ZPAR" engine --connection-file "$D2/engine.json" &&
	wait_for 60 "! zt_alive $Q2" &&
	cat "$ZT_TMP/queued2.out" "$ZT_TMP/queued2.err" &&
	{ wait $Q2; rc=$?; } &&
	expect_eq "queued exit status" 0 $rc
'

test_expect_success 'SIGTERM stops the controllers and engines cleanly' '
	kill -TERM $C1 $C2 &&
	wait_for 15 "! zt_alive $C1 && ! zt_alive $C2" &&
	{ wait $C1; rc1=$?; wait $C2; rc2=$?; } &&
	expect_eq "controller exit status" "0 0" "$rc1 $rc2" &&
	wait_for 15 "! zt_alive $ZT_PID_engine_late2 && ! zt_alive $E3"
'

test_done
