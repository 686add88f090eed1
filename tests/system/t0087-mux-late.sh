#!/bin/sh
# t0087-mux-late: a direct task for an engine that is registered but whose
# MUX connection is not up yet reaches the engine once it connects.  An
# engine connects its MUX and control sockets only after its registration
# is answered, so `zpar run -- zpar px CMD` (which starts CMD once every
# engine is registered) could name an engine a few milliseconds before its
# connection was there and got "engine N is not connected" (seen across
# hosts on the multi-host bed: 2 runs in 40).  The MUX relay now holds such
# a message for up to 3 s.  engine-register plays the slow engine: it
# registers, waits, then connects its MUX socket and prints what it gets.
. "$(cd "$(dirname "$0")/.." && pwd)/lib/sharness-lite.sh"
zt_require_zpar
D=$ZT_TMP/ctl
REG=$builddir/tests/lib/engine-register
[ -x "$REG" ] || skip_all "no tests/lib/engine-register"
# a slow engine sends no heartbeat: keep it alive for the test's length
export ZPAR_HB_PERIOD_MS=5000

test_expect_success 'start a controller' '
	zt_controller "$D"
'

test_expect_success 'a px to an engine that connects 1 s after its registration reaches it' '
	"$REG" "$D/engine.json" 7 1000 >late.out 2>late.err &
	reg=$! &&
	wait_for 10 "grep -q ^engine= late.out" &&
	cat late.out &&
	expect_grep "^engine=7 errnum=0" late.out &&
	{ zt_timeout 8 "$ZPAR" px -t 7 --timeout 3 echo hi >px.out 2>px.err; true; } &&
	wait_for 15 "grep -q ^mux: late.out" &&
	wait $reg
	cat late.out px.out px.err &&
	! grep -q "not connected" px.err &&
	expect_grep "^mux: task" late.out
'

test_expect_success 'a px to a registered engine that never connects is answered, not left waiting' '
	"$REG" "$D/engine.json" 8 30000 >never.out 2>never.err &
	reg=$! &&
	wait_for 10 "grep -q ^engine= never.out" &&
	zt_timeout 20 "$ZPAR" px -t 8 echo hi >px2.out 2>px2.err
	rc=$?
	kill $reg 2>/dev/null; wait $reg 2>/dev/null
	cat px2.out px2.err &&
	test $rc -ne 0 && test $rc -ne 124 &&
	expect_grep "engine 8 is not connected" px2.err
'

test_done
