#!/bin/sh
# t0600-iopub-keyless: the IOPub forwarder verifies every message.  A
# publisher without the key connects to iopub_engine and publishes unsigned
# and forged output; none of it reaches a subscriber (with or without the
# key), all of it is counted as dropped, and the log says so in a few lines.
# Output signed with the cluster key (what engines publish) still flows.
. "$(cd "$(dirname "$0")/.." && pwd)/lib/sharness-lite.sh"
zt_require_zpar
D=$ZT_TMP/ctl
ATTACK=$builddir/tests/lib/attack-iopub

test_expect_success 'start a controller and an engine' '
	test -x "$ATTACK" &&
	zt_controller "$D" &&
	zt_engine "$D" engine1 &&
	wait_for 30 "zt_timeout 10 $ZPAR status >st.txt 2>/dev/null && grep -q idle st.txt"
'

test_expect_success 'keyless output into iopub_engine never reaches a client' '
	zt_timeout 120 "$ATTACK" "$D/client.json" 500 1024 >attack.out 2>attack.err
	rc=$?
	cat attack.out attack.err &&
	expect_eq "attack exit status" 0 $rc &&
	expect_grep "^forged_seen=0 " attack.out &&
	expect_grep " keyed_forged=0 " attack.out
'

test_expect_success 'signed output is forwarded to every subscriber' '
	expect_grep " signed_seen=500 keyed_accepted=500 " attack.out
'

test_expect_success 'the dropped messages are counted in zpar status' '
	zt_timeout 20 $ZPAR status --json >st.json &&
	cat st.json &&
	n=$(zt_json_num st.json dropped) &&
	test "$n" -ge 1000
'

test_expect_success 'the controller logged them in a few lines' '
	n=$(grep -c "iopub" "$ZT_TMP/controller-ctl.err"; true) &&
	grep "iopub" "$ZT_TMP/controller-ctl.err" | head -n 5 &&
	test "$n" -ge 1 && test "$n" -le 5
'

test_expect_success 'a task still runs and the controller is alive' '
	id=$(zt_timeout 20 $ZPAR submit -- echo hello) &&
	zt_timeout 20 $ZPAR wait "$id" >wait.out &&
	zt_alive $ZT_CONTROLLER_PID
'

test_done
