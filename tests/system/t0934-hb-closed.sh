#!/bin/sh
# t0934-hb-closed: an engine whose connection closes is declared dead at
# once, long before the heartbeat's death limit, where the kernel says so:
#   - an engine of this host, SIGKILLed: its connection closed and its
#     process is gone;
#   - an engine that says it runs on another host (its own UTS namespace,
#     so the controller cannot look for its process), SIGKILLed: its
#     connection closed and it answers no ping sent after that;
#   - an engine that closes its connections itself and registers again
#     (SIGSTOP past the fence, then SIGCONT) is not declared dead by it.
# With a 5 s heartbeat period the death limit is 17.5 s; each death must
# come within 8 s (the figure measured is printed).
. "$(cd "$(dirname "$0")/.." && pwd)/lib/sharness-lite.sh"
zt_require_zpar
zt_find_testclient || skip_all "no zpar-testclient in $builddir"
TC="$TESTCLIENT"
D=$ZT_TMP/ctl
ZPAR_HB_PERIOD_MS=5000
ZPAR_HB_MISSES=3
export ZPAR_HB_PERIOD_MS ZPAR_HB_MISSES
LOG=$ZT_TMP/controller-ctl.err

state_of () { "$TC" engines 2>/dev/null | sed -n "s/^engine id=[0-9]* state=\([a-z]*\) pid=$1 .*/\1/p"; }

# kill -KILL engine $1, wait (up to 12 s) until the controller lists it
# dead; prints the seconds it took
kill_and_time () {
	t0=$(zt_now_ms)
	kill -KILL "$1" || return 1
	wait_for 12 "test \"\$(state_of $1)\" = dead" || { echo "not dead after 12 s"; return 1; }
	t1=$(zt_now_ms)
	echo "engine $1 SIGKILLed: declared dead after $(((t1 - t0) / 1000)).$(((t1 - t0) % 1000 / 100)) s (death limit by silence 17.5 s)"
	echo $((t1 - t0)) >>times.txt
	test $((t1 - t0)) -lt 8000
}

test_expect_success 'a controller (heartbeat 5 s x 3) and 3 engines' '
	zt_controller "$D" &&
	zt_engine "$D" e1 && echo $ZT_LAST_PID >e1.pid &&
	zt_engine "$D" e2 && echo $ZT_LAST_PID >e2.pid &&
	zt_timeout 40 "$TC" wait-engines 2 &&
	sleep 1 # their first echo (the controller pings a new engine at once)
'

test_expect_success 'an engine of this host, SIGKILLed: dead within 8 s, the reason logged' '
	E=$(cat e1.pid) &&
	kill_and_time $E &&
	wait_for 5 "grep -q \"pid $E.*declared dead\" \"$LOG\"" &&
	grep "pid $E.*declared dead" "$LOG" &&
	expect_grep "pid $E.*declared dead: (its process is gone|connection closed)" "$LOG"
'

if [ "$(id -u)" = 0 ] && command -v unshare >/dev/null; then test_set_prereq ROOT; fi

test_expect_success ROOT 'an engine of "another host" (its own UTS namespace), SIGKILLed: dead within 8 s' '
	zt_spawn e3 unshare --uts sh -c "hostname elsewhere-$$ && exec \"\$0\" engine --connection-file \"\$1\"" \
		"$ZPAR" "$D/engine.json" &&
	E=$ZT_LAST_PID &&
	zt_timeout 40 "$TC" wait-engines 2 &&
	wait_for 20 "test \"\$(state_of $E)\" = idle" &&
	"$TC" engines | grep "pid=$E" &&
	"$TC" engines | grep "pid=$E" | grep -q "elsewhere-$$" &&
	sleep 1 &&
	kill_and_time $E &&
	wait_for 5 "grep -q \"pid $E.*declared dead\" \"$LOG\"" &&
	grep "pid $E.*declared dead" "$LOG" &&
	expect_grep "pid $E.*declared dead: connection closed \(the engine did not connect again" "$LOG"
'

[ -s times.txt ] && zt_diag "death detection after SIGKILL (ms): $(tr '\n' ' ' <times.txt)"

test_expect_success 'an engine that registers again (stopped past the fence) is not declared dead by it' '
	E=$(cat e2.pid) &&
	n0=$(grep -c "declared dead" "$LOG") &&
	kill -STOP $E && sleep 14 && kill -CONT $E &&
	wait_for 20 "grep -q \"fenced our tasks\\|registering again\" \"$ZT_TMP/e2.err\"" &&
	sleep 3 &&
	grep -i "again\|fence" "$ZT_TMP/e2.err" | tail -n 5 &&
	test "$(state_of $E)" != dead &&
	n1=$(grep -c "declared dead" "$LOG") &&
	echo "declared dead lines: $n0 before, $n1 after" &&
	test "$n1" = "$n0"
'

test_done
