#!/bin/sh
# t0992-chaos-paused: the chaos client (tests/chaos/chaos-client) helps a
# client by hand ("reconnected by hand", the chaos test's "helped" count)
# when it made no progress for its stall time.  A machine that stands
# still (overloaded, or its VM paused) stops every process at once: the
# controller, the engines, their tasks and the client.  Such a pause is
# not a client that failed to reconnect, and must not be counted as one:
# the client's stall clock leaves out the time its own process could not
# run.  Here the whole cluster and the client are SIGSTOPped together for
# longer than the stall time, then SIGCONTed: no client is helped, every
# task finishes through its future, and the client saw the pause.
. "$(cd "$(dirname "$0")/.." && pwd)/lib/sharness-lite.sh"
zt_require_zpar
CLIENT=${CHAOS_CLIENT:-$builddir/tests/chaos/chaos-client}
[ -x "$CLIENT" ] || skip_all "no $CLIENT"

ZPAR_HB_PERIOD_MS=500
ZPAR_HB_MISSES=3
export ZPAR_HB_PERIOD_MS ZPAR_HB_MISSES
D=$ZT_TMP/ctl
STALL=4
PAUSE=7

# pid $1 and all its descendants
tree () {
	echo "$1"
	for k in $(cat "/proc/$1/task/"*/children 2>/dev/null); do
		tree "$k"
	done
}

test_expect_success 'a controller and two engines' '
	zt_controller "$D" &&
	zt_engine "$D" engine1 && echo $ZT_LAST_PID >e1.pid &&
	zt_engine "$D" engine2 && echo $ZT_LAST_PID >e2.pid &&
	wait_for 30 "$ZPAR status 2>/dev/null | grep -qE \"^engines: 2 \\(2 idle\""
'

test_expect_success 'the whole cluster and the client stand still longer than the stall time' '
	: >side &&
	zt_spawn client "$CLIENT" -f "$D/client.json" -n 40 -o "$ZT_TMP/side" -r "$ZT_TMP/res" \
		-k 2 -d 0.5 -s 20 -t 120 -S $STALL &&
	echo $ZT_LAST_PID >client.pid &&
	wait_for 20 "test \$(grep -c \" e \" side) -ge 6" &&
	pids="$(tree $ZT_CONTROLLER_PID) $(tree $(cat e1.pid)) $(tree $(cat e2.pid)) $(cat client.pid)" &&
	echo "stopping: $pids" &&
	kill -STOP $pids &&
	sleep $PAUSE &&
	kill -CONT $pids &&
	wait_for 90 "! zt_alive $(cat client.pid)"
	wait $(cat client.pid)
'

test_expect_success 'no client was helped by hand; every task finished through its future' '
	cat client.out client.err &&
	test "$(grep -c "^client " client.out)" = 2 &&
	test "$(awk "\$1 == \"client\" && (\$4 != 0 || \$8 != 0)" client.out)" = "" &&
	test "$(wc -l <res)" = 40 &&
	test "$(awk "\$6 != \"future\"" res)" = ""
'

test_expect_success 'the client saw the pause' '
	awk -v p=$PAUSE "\$1 == \"pauses\" { ok = \$2 >= 1 && \$6 >= p - 2 } END { exit !ok }" client.out
'

test_done
