#!/bin/sh
# t0625-engine-identity: a peer without the key cannot take an engine's
# place, and a captured message cannot be replayed on another channel.
#
# Before any engine registers, a keyless peer claims every identity the
# engines 1-3 could get on the engine-side queues and hb_pong (the old
# names "e<id>", the layout of a routing identity with zero and random
# bytes) and answers every heartbeat ping.  The real engine registers,
# runs every direct and load-balanced task; the peer receives nothing;
# when the engine is killed its answered pings do not keep it alive.
# A client's signed tasks, captured, run once where they were sent and
# nowhere when injected on the other channels.
. "$(cd "$(dirname "$0")/.." && pwd)/lib/sharness-lite.sh"
zt_require_zpar
D=$ZT_TMP/ctl
ATTACK=$builddir/tests/lib/attack-route
RAN=$ZT_TMP/ran.log
MARK=$ZT_TMP/marker.log

test_expect_success 'a controller, then a keyless peer claiming the identities of engines 1-3' '
	test -x "$ATTACK" &&
	zt_controller "$D" --hb-period 200 --hb-misses 5 &&
	zt_spawn claim "$ATTACK" claim "$D/client.json" 3 $(zt_scale 300) "$ZT_TMP/stop-claim" &&
	CLAIM=$ZT_LAST_PID &&
	wait_for 10 "grep -q ready $ZT_TMP/claim.out"
'

test_expect_success 'the real engine registers after it and becomes idle' '
	sleep 1 &&
	zt_engine "$D" engine1 && E1=$ZT_LAST_PID &&
	wait_for 30 "zt_timeout 10 $ZPAR status >st.txt 2>/dev/null && grep -q idle st.txt"
'

test_expect_success 'direct and load-balanced tasks all run on the real engine' '
	: >"$RAN" &&
	for i in 1 2 3; do
		zt_timeout 30 $ZPAR px --targets 1 -- sh -c "echo direct >>$RAN" || return 1
	done &&
	for i in 1 2 3; do
		zt_timeout 30 $ZPAR submit --wait -- sh -c "echo balanced >>$RAN" || return 1
	done &&
	cat "$RAN" &&
	expect_eq "tasks run" 6 $(wc -l <"$RAN")
'

test_expect_success 'captured tasks run once, and nowhere when replayed on another channel' '
	: >"$MARK" &&
	zt_timeout 60 "$ATTACK" replay "$D/client.json" 1 "$MARK" >replay.out 2>replay.err
	rc=$?
	cat replay.out replay.err &&
	sleep 2 &&
	cat "$MARK" &&
	expect_grep "^replay original=2 answered=0" replay.out &&
	expect_eq "replay exit status" 0 $rc &&
	expect_eq "marker lines" 2 $(wc -l <"$MARK")
'

test_expect_success 'the replays were dropped and counted' '
	zt_timeout 20 $ZPAR status --json >st.json &&
	cat st.json &&
	n=$(zt_json_num st.json dropped) &&
	test "$n" -ge 6
'

test_expect_success 'pings answered under claimed identities do not keep a killed engine alive' '
	zt_alive $CLAIM &&
	kill -KILL $E1 &&
	wait_for 15 "zt_timeout 10 $ZPAR status --json >st.json 2>/dev/null && grep -q \"\\\"state\\\":\\\"dead\\\"\" st.json"
'

test_expect_success 'the keyless peer answered pings and received no message' '
	touch "$ZT_TMP/stop-claim" &&
	wait_for 10 "! zt_alive $CLAIM" &&
	cat "$ZT_TMP/claim.out" &&
	expect_grep "^claim received=0 pongs=[1-9]" "$ZT_TMP/claim.out"
'

test_expect_success 'the controller stops cleanly' '
	kill -TERM $ZT_CONTROLLER_PID &&
	wait_for 15 "! zt_alive $ZT_CONTROLLER_PID"
'

test_expect_success 'the pure scheduler without --curve is refused (it would hand tasks to anyone)' '
	mkdir -p "$ZT_TMP/pure0" && chmod 700 "$ZT_TMP/pure0" &&
	zt_timeout 20 $ZPAR controller --dir "$ZT_TMP/pure0" --scheme pure 2>pure0.err
	rc=$?
	cat pure0.err &&
	test $rc -ge 1 && test $rc -le 123 &&
	expect_grep "needs --curve" pure0.err &&
	! test -e "$ZT_TMP/pure0/client.json"
'

test_expect_success 'the pure scheduler: tasks that name no engine still run' '
	zt_controller "$ZT_TMP/pure" --scheme pure --curve &&
	zt_engine "$ZT_TMP/pure" engine-pure &&
	wait_for 30 "zt_timeout 10 $ZPAR status >stp.txt 2>/dev/null && grep -q idle stp.txt" &&
	zt_timeout 30 $ZPAR submit --wait -- echo pure-ok >pure.out &&
	cat pure.out &&
	expect_grep "pure-ok" pure.out &&
	kill -TERM $ZT_CONTROLLER_PID &&
	wait_for 15 "! zt_alive $ZT_CONTROLLER_PID"
'

test_done
