#!/bin/sh
# t0055-sessions: every honest client is answered, however many came
# before.  Each `zpar status` or `zpar submit` is a new signed session at
# the controller; 100,000 of them within the replay window (far more than
# the controller remembers at once by default) must not make it refuse the
# next ones as replays.
. "$(cd "$(dirname "$0")/.." && pwd)/lib/sharness-lite.sh"
zt_require_zpar
D=$ZT_TMP/ctl
FLOOD=$builddir/tests/lib/sessions-flood

test_expect_success 'start a controller and an engine' '
	test -x "$FLOOD" &&
	zt_controller "$D" &&
	zt_engine "$D" engine1 &&
	wait_for 30 "zt_timeout 10 $ZPAR status >st.txt 2>/dev/null && grep -q idle st.txt"
'

test_expect_success '100,000 fresh sessions: every query answered' '
	zt_timeout 200 "$FLOOD" "$D/client.json" 100000 >flood.out 2>flood.err
	rc=$?
	cat flood.out flood.err &&
	expect_eq "flood exit status" 0 $rc &&
	expect_grep "^sent=100000 answered=100000$" flood.out
'

test_expect_success 'then 20 new zpar status calls all answered' '
	n=0 &&
	for i in $(seq 20); do
		zt_timeout 20 $ZPAR status >/dev/null 2>>status.err && n=$((n + 1))
	done
	cat status.err
	expect_eq "status calls answered" 20 $n
'

test_expect_success 'and 5 new submit + wait calls all succeed' '
	n=0 &&
	for i in $(seq 5); do
		id=$(zt_timeout 20 $ZPAR submit -- true 2>>submit.err) &&
		zt_timeout 20 $ZPAR wait "$id" >/dev/null 2>>submit.err && n=$((n + 1))
	done
	cat submit.err
	expect_eq "submit + wait succeeded" 5 $n
'

test_expect_success 'the controller is still alive' '
	zt_alive $ZT_CONTROLLER_PID
'

test_done
