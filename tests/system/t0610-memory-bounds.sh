#!/bin/sh
# t0610-memory-bounds: a peer without the key cannot make the controller
# hold unbounded memory.  Four 512 MiB frames at the registrar are refused
# at their header (ZMQ_MAXMSGSIZE); a subscriber that never reads while
# keyless (1,500 x 1 MiB, 3,000 x 100 KiB) and signed (6,000 x 60 KiB) output is published
# costs at most the IOPub PUB's high-water mark.  The controller's peak RSS
# (VmHWM) stays under 200 MB, it keeps answering, and its log holds at most
# a few lines about the drops (also after 8,000 garbage messages at the
# registrar and the client queues: one summary line per 10 s and channel).
. "$(cd "$(dirname "$0")/.." && pwd)/lib/sharness-lite.sh"
zt_require_zpar
D=$ZT_TMP/ctl
ATTACK=$builddir/tests/lib/attack-memory
LIMIT_KB=204800

vm () { sed -n "s/^$2:[[:space:]]*\\([0-9]*\\) kB/\\1/p" "/proc/$1/status"; }

test_expect_success 'start a controller and an engine' '
	test -x "$ATTACK" &&
	zt_controller "$D" &&
	zt_engine "$D" engine1 &&
	wait_for 30 "zt_timeout 10 $ZPAR status >st.txt 2>/dev/null && grep -q idle st.txt" &&
	echo "controller VmRSS $(vm $ZT_CONTROLLER_PID VmRSS) kB at start"
'

test_expect_success 'four 512 MiB frames at the registrar: refused, memory bounded' '
	zt_timeout 60 "$ATTACK" "$D/client.json" bigframes 4 512 >big.out 2>big.err
	rc=$?
	cat big.out big.err
	hwm=$(vm $ZT_CONTROLLER_PID VmHWM) &&
	echo "controller VmHWM $hwm kB" &&
	expect_eq "attack exit status" 0 $rc &&
	test "$hwm" -lt $LIMIT_KB
'

test_expect_success 'the controller answers after the big frames' '
	zt_alive $ZT_CONTROLLER_PID &&
	zt_timeout 20 $ZPAR status >status1.txt
'

test_expect_success 'a subscriber that never reads, 1,500 x 1 MiB keyless and 6,000 x 60 KiB signed' '
	"$ATTACK" "$D/client.json" slowsub 40 >slow.out 2>slow.err &
	SLOW=$! &&
	zt_record_pid $SLOW &&
	sleep 1 &&
	zt_timeout 120 "$ATTACK" "$D/client.json" publish 1500 1024 >pub1.out 2>pub1.err &&
	zt_timeout 120 "$ATTACK" "$D/client.json" publish 3000 100 >pub3.out 2>pub3.err &&
	zt_timeout 120 "$ATTACK" "$D/client.json" publish 6000 60 signed >pub2.out 2>pub2.err
	rc=$?
	cat pub1.out pub1.err pub3.out pub3.err pub2.out pub2.err
	hwm=$(vm $ZT_CONTROLLER_PID VmHWM) &&
	echo "controller VmHWM $hwm kB, VmRSS $(vm $ZT_CONTROLLER_PID VmRSS) kB" &&
	expect_eq "publish exit status" 0 $rc &&
	test "$hwm" -lt $LIMIT_KB
'

test_expect_success 'garbage at the registrar and the client queues' '
	zt_timeout 60 "$ATTACK" "$D/client.json" garbage 2000 >garbage.out 2>garbage.err &&
	cat garbage.out garbage.err &&
	expect_grep "^garbage sent=8000" garbage.out
'

test_expect_success 'the keyless messages are counted as dropped' '
	zt_timeout 20 $ZPAR status --json >st.json &&
	cat st.json &&
	n=$(zt_json_num st.json dropped) &&
	test "$n" -ge 8000
'

test_expect_success 'the controller is alive and answers; a task runs' '
	zt_alive $ZT_CONTROLLER_PID &&
	zt_timeout 20 $ZPAR status >status2.txt &&
	id=$(zt_timeout 20 $ZPAR submit -- echo hello) &&
	zt_timeout 20 $ZPAR wait "$id" >wait.out
'

test_expect_success 'the log has at most a few lines about it' '
	n=$(grep -ci "drop" "$ZT_TMP/controller-ctl.err"; true) &&
	grep -i "drop" "$ZT_TMP/controller-ctl.err" | head -n 10 &&
	echo "$n lines" &&
	test "$n" -le 10
'

test_done
