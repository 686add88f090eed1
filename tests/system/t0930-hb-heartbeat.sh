#!/bin/sh
# t0930-hb-heartbeat: the controller's heartbeat, broken on purpose.
#   - an engine stopped for a moment is suspect, then answers again: never
#     declared dead;
#   - the controller itself stopped for longer than the death limit blames
#     no engine for its own silence;
#   - most engines stopped at once (a collective silence: this machine, not
#     them) are not declared dead on silence;
#   - an engine SIGKILLed is declared dead because its process is gone
#     (the kernel's word), with the reason in the log, not on silence
#     alone.  The kernel closes a dying process's sockets a moment before
#     the process is gone from /proc (the hub looks again), and an engine
#     killed just after it registered again may close a connection that
#     names no engine yet (the hub looks for its process when it is
#     suspect); the reason names the process in every case;
#   - an engine stopped past its fence registers again: that answers
#     again too;
#   - a pong from an identity the controller does not count gets the
#     re-register nudge "zparRREG", at most once per period however many
#     pongs it sends;
#   - the log lines carry UTC timestamps.
. "$(cd "$(dirname "$0")/.." && pwd)/lib/sharness-lite.sh"
zt_require_zpar
zt_find_testclient || skip_all "no zpar-testclient in $builddir"
PROBE=$builddir/tests/lib/hb-probe
[ -x "$PROBE" ] || skip_all "no hb-probe in $builddir/tests/lib"
TC="$TESTCLIENT"
D=$ZT_TMP/ctl
# a 1 s period: suspect after 1.5 s of silence, dead after 3.5 s
ZPAR_HB_PERIOD_MS=1000
ZPAR_HB_MISSES=3
export ZPAR_HB_PERIOD_MS ZPAR_HB_MISSES
LOG=$ZT_TMP/controller-ctl.err

test_expect_success 'start a controller and 4 engines by hand' '
	zt_controller "$D" && C=$ZT_CONTROLLER_PID &&
	zt_engine "$D" e1 && E1=$ZT_LAST_PID &&
	zt_engine "$D" e2 && E2=$ZT_LAST_PID &&
	zt_engine "$D" e3 && E3=$ZT_LAST_PID &&
	zt_engine "$D" e4 && E4=$ZT_LAST_PID &&
	zt_timeout 40 "$TC" wait-engines 4
'

test_expect_success 'log lines start with a UTC timestamp (ISO 8601, ms)' '
	expect_grep "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z zpar\[controller [0-9]+\] info: controller ready" "$LOG" &&
	expect_grep "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z zpar\[engine" "$ZT_TMP/e1.err"
'

test_expect_success 'an engine stopped for a moment: suspect, then answers again, not dead' '
	kill -STOP $E1 &&
	wait_for 20 "grep -q \"pid $E1) suspect\" \"$LOG\"" ; rc=$?
	kill -CONT $E1
	test $rc = 0 &&
	wait_for 20 "grep -q \"pid $E1) answers again\" \"$LOG\"" &&
	grep "pid $E1)" "$LOG" &&
	expect_no_grep "pid $E1\) declared dead" "$LOG" &&
	zt_timeout 40 "$TC" wait-engines 4
'

test_expect_success 'the controller stopped 6 s (death limit 3.5 s) blames no engine' '
	n0=$(grep -c ") declared dead:" "$LOG" || true)
	kill -STOP $C &&
	sleep 6 &&
	kill -CONT $C &&
	sleep 3 &&
	n1=$(grep -c ") declared dead:" "$LOG" || true) &&
	grep -E "late|declared dead" "$LOG" | tail -5
	expect_eq "engines declared dead" "$n0" "$n1" &&
	zt_timeout 40 "$TC" wait-engines 4
'

test_expect_success 'three of four engines stopped 6 s at once: a collective silence, none dead' '
	n0=$(grep -c ") declared dead:" "$LOG" || true)
	kill -STOP $E2 $E3 $E4 &&
	sleep 6
	kill -CONT $E2 $E3 $E4 &&
	sleep 2 &&
	n1=$(grep -c ") declared dead:" "$LOG" || true) &&
	grep -E "silent together|declared dead" "$LOG" | tail -5
	expect_grep "3 engines fell silent together" "$LOG" &&
	expect_eq "engines declared dead" "$n0" "$n1" &&
	zt_timeout 40 "$TC" wait-engines 4
'

test_expect_success 'an engine SIGKILLed: dead because its process is gone, not on silence' '
	zt_is_ours $E4 &&
	kill -KILL $E4 &&
	wait_for 20 "grep -q \"pid $E4) declared dead\" \"$LOG\"" &&
	grep "pid $E4)" "$LOG" &&
	expect_grep "pid $E4\) declared dead: (its process is gone \(pid $E4 on this host; |connection closed \(its process is gone; no answer to a ping)" "$LOG"
'

test_expect_success 'a pong from an identity nobody was given: zparRREG, once a period at most' '
	ping=$(sed -n "s/.*\"hb_ping\" *: *\"\([^\"]*\)\".*/\1/p" "$D/engine.json") &&
	pong=$(sed -n "s/.*\"hb_pong\" *: *\"\([^\"]*\)\".*/\1/p" "$D/engine.json") &&
	zt_timeout 30 "$PROBE" "$ping" "$pong" 5 10 >probe.out &&
	cat probe.out &&
	pings=$(sed -n "s/^pings //p" probe.out) &&
	pongs=$(sed -n "s/^pongs //p" probe.out) &&
	nudges=$(sed -n "s/^nudges //p" probe.out) &&
	test "$nudges" -ge 1 &&
	test "$pongs" -gt $((pings + 1)) &&
	test "$nudges" -le $((pings + 1)) &&
	expect_grep "^other 0$" probe.out
'

test_expect_success 'SIGTERM stops the controller and the engines' '
	kill -TERM $C &&
	wait_for 30 "! zt_alive $C && ! zt_alive $E1 && ! zt_alive $E2 && ! zt_alive $E3"
'

test_done
