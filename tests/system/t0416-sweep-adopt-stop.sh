#!/bin/sh
# t0416-sweep-adopt-stop: a point taken over from an earlier run's cluster
# (adopted: the earlier runner was killed, the shared cluster still runs
# its task) is stopped at the stop time of a run that knows its end, like
# the points the run submits itself: the engine sends the sweep's
# stop-signal (USR1 here), the point is recorded interrupted (pending,
# "interrupted: the allocation ends"), never left running past the stop.
#
# A run killed with SIGKILL leaves 2 long points running on a shared
# cluster (`zpar cluster start`); the next run, with --end-time +12 and a
# 4 s margin, adopts them (its stop time is about 7 s later).  Each point
# writes "start", then "usr1" when it gets SIGUSR1 (and exits), "end" if
# it was never stopped.  (On a machine so loaded that an engine fences
# itself -- no heartbeat for seconds -- that engine kills its point with
# SIGKILL first: so at least one of the two must show "usr1", and none
# "end".)
LIBDIR=$(cd "$(dirname "$0")/../lib" && pwd)
. "$LIBDIR/sharness-lite.sh"
zt_require_zpar
command -v python3 >/dev/null 2>&1 || skip_all "no python3"
command -v setsid >/dev/null 2>&1 || skip_all "no setsid"
unset ZPAR_CONNECTION_FILE SLURM_JOB_ID PBS_JOBID ZPAR_END_TIME
export XDG_RUNTIME_DIR=$ZT_TMP

W=$ZT_TMP/w
mkdir -p "$W/m"
export ZPAR_DIR=$ZT_TMP/zpardir
CONN=$W/shared/client.json
RUNNER=

t0416_cleanup () {
    t0416_rc=$?
    [ -n "$RUNNER" ] && kill -KILL "-$RUNNER" 2>/dev/null
    [ -d "$W/shared" ] && zt_timeout 30 "$ZPAR" cluster stop --dir "$W/shared" >/dev/null 2>&1
    (exit $t0416_rc)
    zt_cleanup
}
trap t0416_cleanup EXIT

cat >"$W/a.yaml" <<EOF
name: a
command: ["sh", "-c", "echo start >> $W/m/{i}; trap 'echo usr1 >> $W/m/{i}; exit 1' USR1; sleep 40 & wait; echo end >> $W/m/{i}"]
stop-signal: USR1
stop-grace: 3s
params:
  i: [0, 1]
EOF

states () {
    python3 - "$W/a.yaml.journal.sqlite" <<-\EOF
	import sqlite3, sys
	db = sqlite3.connect(sys.argv[1])
	for idx, state, error in db.execute("SELECT idx, state, error FROM points ORDER BY idx"):
	    print(idx, state, error)
	EOF
}

test_expect_success 'a shared cluster; a run killed with 2 points running on it' '
	zt_timeout 60 "$ZPAR" cluster start -n 2 --dir "$W/shared" >cs.log 2>&1 &&
	setsid "$ZPAR" sweep run "$W/a.yaml" --connection-file "$CONN" --quiet >run1.log 2>&1 &
	RUNNER=$! &&
	wait_for 30 "[ -s $W/m/0 ] && [ -s $W/m/1 ]" &&
	kill -KILL "-$RUNNER" && RUNNER= && sleep 0.5 &&
	expect_eq "points running on the cluster" "start start" "$(cat "$W"/m/* | tr "\n" " " | sed "s/ $//")"
'

test_expect_success 'the next run with an end adopts them and stops them at its stop time: interrupted, not left running' '
	t0=$(date +%s.%N) &&
	zt_timeout 60 "$ZPAR" sweep run "$W/a.yaml" --connection-file "$CONN" --end-time +12 --margin 4 \
		>run2.log 2>&1;
	rc=$?; t1=$(date +%s.%N); cat run2.log; cat "$W"/m/*; states;
	expect_eq "exit status (time is up, points left)" 75 $rc &&
	expect_grep "2 points submitted by an earlier run were taken over" run2.log &&
	expect_grep "time is up: 2 points left for the next job \(2 interrupted at the end, 0 not heard of since" run2.log &&
	! grep -q end "$W"/m/0 "$W"/m/1 &&
	n=$(cat "$W"/m/0 "$W"/m/1 | grep -c usr1) && echo "points that got the stop signal: $n of 2" &&
	test "$n" -ge 1 &&
	test "$(states | grep -c "pending interrupted: the allocation ends")" = 2 &&
	awk -v a="$t0" -v b="$t1" "BEGIN { exit !(b - a < 12) }"
'

test_expect_success 'nothing of theirs runs on the cluster any more' '
	sleep 1 &&
	expect_eq "point processes left" "" "$(ps -eo args= | grep -F "$W/m/" | grep -v grep)" &&
	! grep -q end "$W"/m/*
'

test_done
