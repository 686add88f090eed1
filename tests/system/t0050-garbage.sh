#!/bin/sh
# t0050-garbage: garbage, truncated, unsigned, forged, replayed and stale
# messages at every socket the controller binds; the controller lives on,
# keeps serving, and counts what it dropped.  Malformed connection files and
# command lines get a clear error, never a crash.
. "$(cd "$(dirname "$0")/.." && pwd)/lib/sharness-lite.sh"
zt_require_zpar
zt_find_testclient
D=$ZT_TMP/ctl
TC="$TESTCLIENT"

# a clear error: exit status 1..123 (not a signal, not a timeout) and a
# message on stderr
clear_error () {
	zt_timeout 20 "$@" >ce.out 2>ce.err
	ce_rc=$?
	echo "exit $ce_rc: $*"
	cat ce.err
	test $ce_rc -ge 1 && test $ce_rc -le 123 && test -s ce.err
}

test_expect_success 'start a controller and 2 engines' '
	zt_controller "$D" &&
	zt_engine "$D" engine1 && E1=$ZT_LAST_PID &&
	zt_engine "$D" engine2 && E2=$ZT_LAST_PID &&
	wait_for 30 "zt_timeout 10 $ZPAR status --json >st.json 2>/dev/null && test \$(grep -o \"\\\"state\\\":\\\"idle\\\"\" st.json | wc -l) -ge 2"
'

test_expect_success TESTCLIENT 'garbage at every bound socket: dropped, counted, still serving' '
	zt_timeout 120 "$TC" garbage >garbage.out 2>garbage.err
	rc=$?
	cat garbage.out garbage.err &&
	expect_eq "garbage exit status" 0 $rc &&
	for ep in registration notification hb_ping hb_pong mux_client mux_engine control_client \
		control_engine task_client task_engine iopub_client iopub_engine; do
		expect_grep "^garbage endpoint=$ep sent=[1-9]" garbage.out || return 1
	done &&
	expect_grep "^replay first=answered" garbage.out &&
	expect_grep "^replay second=dropped" garbage.out &&
	expect_grep "^replay task first=result" garbage.out &&
	expect_grep "^replay task second=dropped" garbage.out
'

test_expect_success 'the controller and the engines survived' '
	zt_alive $ZT_CONTROLLER_PID && zt_alive $E1 && zt_alive $E2
'

test_expect_success 'zpar status still answers after the garbage' '
	zt_timeout 20 $ZPAR status >status.txt &&
	cat status.txt
'

test_expect_success TESTCLIENT 'the dropped count is reported' '
	zt_timeout 20 "$TC" status >st.out &&
	cat st.out &&
	expect_grep "^status .* dropped=[1-9]" st.out
'

test_expect_success TESTCLIENT 'the cluster still runs many tasks correctly' '
	zt_timeout 60 "$TC" clients 2 100 >cl.out &&
	expect_grep "^clients k=2 n=100 ok=1" cl.out
'

test_expect_success TESTCLIENT 'a rightly signed message with a malformed body is dropped and counted' '
	zt_timeout 60 "$TC" malformed-body >mb.out 2>mb.err
	rc=$?
	cat mb.out mb.err &&
	expect_eq "malformed-body exit status" 0 $rc
'

test_expect_success TESTCLIENT 'unsigned peers claiming an engine identity do not take its tasks' '
	zt_timeout 120 "$TC" hijack >hijack.out 2>hijack.err
	rc=$?
	cat hijack.out hijack.err &&
	expect_eq "hijack exit status" 0 $rc
'

test_expect_success 'a missing connection file: a clear error' '
	clear_error env ZPAR_CONNECTION_FILE=$ZT_TMP/none.json $ZPAR status
'

test_expect_success 'an empty connection file: a clear error' '
	: >empty.json && chmod 600 empty.json &&
	clear_error $ZPAR --connection-file empty.json status
'

test_expect_success 'a connection file that is not JSON: a clear error' '
	head -c 3000 /dev/urandom >junk.json &&
	clear_error $ZPAR --connection-file junk.json status
'

test_expect_success 'a connection file with a short key: a clear error' '
	sed "s/\"key\": *\"[0-9a-f]*\"/\"key\": \"abcd\"/" "$D/client.json" >shortkey.json &&
	clear_error $ZPAR --connection-file shortkey.json status
'

test_expect_success 'a connection file with a wrong key: the controller does not answer, a clear error' '
	sed "s/\"key\": *\"[0-9a-f]*\"/\"key\": \"$(printf "%064d" 7)\"/" "$D/client.json" >wrongkey.json &&
	ZPAR_CONNECT_TIMEOUT=2 clear_error $ZPAR --connection-file wrongkey.json status
'

test_expect_success 'a connection file pointing at nothing: a clear error within the connect timeout' '
	sed "s#tcp://127.0.0.1:[0-9]*#tcp://127.0.0.1:1#g" "$D/client.json" >nowhere.json &&
	ZPAR_CONNECT_TIMEOUT=2 clear_error $ZPAR --connection-file nowhere.json status
'

test_expect_success 'malformed command lines: clear errors' '
	clear_error $ZPAR --no-such-option &&
	clear_error $ZPAR no-such-command &&
	clear_error $ZPAR submit --retries abc -- true &&
	clear_error $ZPAR submit --timeout -5 -- true &&
	clear_error $ZPAR submit &&
	clear_error $ZPAR wait not-an-id &&
	clear_error $ZPAR wait 99999.99999 --timeout 1 &&
	clear_error $ZPAR result 1.x &&
	clear_error $ZPAR px --targets 0,,x -- true &&
	clear_error $ZPAR controller --hb-period zero
'

test_expect_success 'the controller is still alive and stops cleanly on SIGTERM' '
	zt_alive $ZT_CONTROLLER_PID &&
	kill -TERM $ZT_CONTROLLER_PID &&
	wait_for 15 "! zt_alive $ZT_CONTROLLER_PID" &&
	{ wait $ZT_CONTROLLER_PID; rc=$?; } &&
	expect_eq "controller exit status" 0 $rc &&
	wait_for 15 "! zt_alive $E1 && ! zt_alive $E2"
'

test_done
