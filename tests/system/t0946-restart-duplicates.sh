#!/bin/sh
# t0946-restart-duplicates: the "duplicates dropped" count of `zpar status`
# is kept in the records, so that a controller restarted with --reuse goes
# on from it instead of starting from 0.  Duplicates are made the way a
# restart makes them: the controller is SIGKILLed just after tasks ended,
# and the engines send those results again to the restarted one, which
# has them already.  Then the controller is SIGKILLed and restarted once
# more, with nothing sent again: the count must not go down.
. "$(cd "$(dirname "$0")/.." && pwd)/lib/sharness-lite.sh"
zt_require_zpar

ZPAR_HB_PERIOD_MS=300
export ZPAR_HB_PERIOD_MS

ctl_pid () { awk '$1 == "controller" { print $2 }' "$(cat dir.txt)/pids"; }
dups () {
	zt_timeout 10 $ZPAR status >st.txt 2>&1 || return 1
	n=$(sed -n "s/^duplicates dropped: \([0-9][0-9]*\).*/\1/p" st.txt)
	echo "${n:-0}"
}

# kill the controller (its pid in ctl.pid, or the cluster's), restart it
# with --reuse
restart () {
	C=$(cat ctl.pid 2>/dev/null || ctl_pid)
	kill -KILL "$C" && wait_for 10 "! zt_alive $C" || return 1
	zt_start_reusing "$1"
}

test_expect_success 'a cluster of 2 engines' '
	zt_cluster_start 2 &&
	dirname "$ZPAR_CONNECTION_FILE" >dir.txt &&
	cp "$ZPAR_CONNECTION_FILE" saved.json
'

test_expect_success 'tasks end; the controller is SIGKILLed; the engines send their results again' '
	ids= &&
	for i in 1 2 3 4 5 6 7 8; do
		ids="$ids $(zt_timeout 20 $ZPAR submit -- echo d$i)" || return 1
	done &&
	zt_timeout 30 $ZPAR wait --timeout 20 $ids &&
	sleep 0.3 && # recorded (the records are written every 50 ms)
	restart 1 &&
	wait_for 30 "test \"\$(dups)\" -gt 0" &&
	dups >n1.txt &&
	echo "duplicates dropped after the first restart: $(cat n1.txt)"
'

test_expect_success 'after another restart (nothing sent again) the count goes on' '
	sleep 4 && # past what the engines send again (the death limit and 1 s)
	test "$(dups)" = "$(cat n1.txt)" &&
	restart 2 &&
	wait_for 20 "zt_timeout 10 $ZPAR status >/dev/null 2>&1" &&
	sleep 2 && # the engines registered again
	n2=$(dups) &&
	echo "duplicates dropped after the second restart: $n2 (first: $(cat n1.txt))" &&
	test "$n2" -ge "$(cat n1.txt)"
'

test_expect_success 'stop the cluster' '
	zt_timeout 30 $ZPAR cluster stop &&
	wait_for 20 "! zt_alive $(cat ctl.pid)"
'

test_done
