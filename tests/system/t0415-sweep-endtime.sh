#!/bin/sh
# t0415-sweep-endtime: a sweep that knows when its allocation ends
# (--end-time, no Slurm): it never starts a point it does not expect to
# finish before the end less the margin, fills the last seconds with the
# short points that still fit, stops a point that overruns its estimate at
# the stop time and records it as interrupted (pending, never failed),
# learns durations from the journal, and exits 75 ("time is up: N points
# left for the next job"); the next run finishes the rest and runs nothing
# twice.  Each point writes "start T" and "end T" lines to a marker file.
LIBDIR=$(cd "$(dirname "$0")/../lib" && pwd)
. "$LIBDIR/sharness-lite.sh"
zt_require_zpar
unset ZPAR_CONNECTION_FILE SLURM_JOB_ID PBS_JOBID ZPAR_END_TIME

W=$ZT_TMP/w
mkdir -p "$W"

# sweep FILE NAME ESTIMATE PARAMS...: a sweep whose point sleeps {d}
sweep () {
    f=$1 name=$2 est=$3
    shift 3
    {
        echo "name: $name"
        echo "command: [\"sh\", \"-c\", \"echo start \$(date +%s.%N) >> $W/$name.m/{i}; sleep {d}; echo end \$(date +%s.%N) >> $W/$name.m/{i}\"]"
        [ -n "$est" ] && echo "estimate: \"$est\""
        echo "params:"
        for p in "$@"; do echo "  $p"; done
    } >"$f"
    mkdir -p "$W/$name.m"
}

# markers NAME STOP: every point that started also ended, each end by STOP
# (tests/lib/sweep-markers.py); prints "started N"
markers () {
    mk_n=$(python3 "$LIBDIR/sweep-markers.py" "$W/$1.m" "$2") || return 1
    echo "started $mk_n"
}

# states FILE: "succeeded=N failed=N pending=N running=N" from the journal
states () {
    zt_timeout 30 $ZPAR sweep report "$1" --format json >"$1.json" &&
        python3 -c 'import json,sys,collections
c = collections.Counter(r["state"] for r in json.load(open(sys.argv[1])))
print(" ".join("%s=%d" % (s, c[s]) for s in ("succeeded", "failed", "pending", "running")))' "$1.json"
}

# The end times leave 20 s more than the points need for a sweep's own
# start (its private cluster): a loaded machine (load 26 on 2 cores) took
# 5-10 s to start one, and with the end 11 s away no point was started.
# The checks are on what ran, was stopped or was left, never on how fast.

# the stop time of a run: end - margin
test_expect_success 'points that would not finish are not started; exit 75 with points left' '
	sweep "$W/a.yaml" a "{d}s + 3s" "i: {range: [0, 12]}" "d: [6]" &&
	END=$(($(date +%s) + 31)) &&
	rc=0 && zt_timeout 60 $ZPAR sweep run "$W/a.yaml" -n 2 --end-time @$END --margin 2s 2>a.err || rc=$? &&
	cat a.err &&
	expect_eq "exit status" 75 $rc &&
	expect_grep "time is up: [0-9]+ points left for the next job" a.err &&
	markers a $((END - 2)) >a.m && cat a.m &&
	s=$(states "$W/a.yaml") && echo "$s" &&
	case "$s" in *"failed=0 "*) ;; *) false ;; esac &&
	n=$(sed -n "s/started //p" a.m) && test "$n" -ge 2 && test "$n" -lt 12
'

test_expect_success 'the next run with time enough finishes the rest, nothing runs twice' '
	rc=0 && zt_timeout 300 $ZPAR sweep run "$W/a.yaml" -n 2 --end-time +5m 2>a2.err || rc=$? &&
	cat a2.err &&
	expect_eq "exit status" 0 $rc &&
	markers a $(($(date +%s) + 10)) &&
	for f in "$W"/a.m/*; do expect_eq "starts of $f" 1 "$(grep -c start "$f")" || return 1; done &&
	expect_eq "points" 12 "$(ls "$W"/a.m | wc -l | tr -d " ")"
'

# the long points (43 s) never fit in the 31 s; the short ones (4 s) do:
# they are started, the long ones passed over (a run that stopped at the
# first point that does not fit would start none).  Each point has its own
# marker file, {i}-{d}.
test_expect_success 'the last seconds are filled with the short points that fit' '
	{
		echo "name: b"
		echo "command: [\"sh\", \"-c\", \"echo start \$(date +%s.%N) >> $W/b.m/{i}-{d}; sleep {d}; echo end \$(date +%s.%N) >> $W/b.m/{i}-{d}\"]"
		echo "estimate: \"{d}s + 3s\""
		echo "params:"
		echo "  i: {range: [0, 12]}"
		echo "  d: [40, 1]"
	} >"$W/b.yaml" && mkdir -p "$W/b.m" &&
	END=$(($(date +%s) + 33)) && STOP=$((END - 1)) &&
	rc=0 && zt_timeout 60 $ZPAR sweep run "$W/b.yaml" -n 2 --end-time @$END --margin 1s 2>b.err || rc=$? &&
	cat b.err &&
	expect_eq "exit status" 75 $rc &&
	markers b $STOP &&
	python3 - "$W/b.m" <<-EOF
	import os, sys
	names = os.listdir(sys.argv[1])
	long_run = sorted(f for f in names if f.endswith("-40"))
	short_run = sorted(f for f in names if f.endswith("-1"))
	print("long points started:", long_run, "short points started:", short_run)
	sys.exit(0 if not long_run and short_run else 1)
	EOF
'

test_expect_success 'a point that overruns its estimate is stopped at the stop time: pending, not failed' '
	sweep "$W/c.yaml" c "1s" "i: {range: [0, 2]}" "d: [61]" &&
	t0=$(date +%s) && END=$((t0 + 28)) &&
	rc=0 && zt_timeout 90 $ZPAR sweep run "$W/c.yaml" -n 2 --end-time @$END --margin 3s 2>c.err || rc=$? &&
	t1=$(date +%s) &&
	cat c.err &&
	expect_eq "exit status" 75 $rc &&
	# stopped at the stop time, not at the end of their 61 s
	test $((t1 - t0)) -lt 50 &&
	s=$(states "$W/c.yaml") && echo "$s" &&
	expect_eq "states" "succeeded=0 failed=0 pending=2 running=0" "$s" &&
	python3 -c "import json,sys; r=json.load(open(sys.argv[1])); sys.exit(0 if all(x[\"state\"]==\"pending\" and x[\"attempts\"]==1 for x in r) else 1)" "$W/c.yaml.json" &&
	sqlite3 "$W/c.yaml.journal.sqlite" "select error from points" >c.errors 2>/dev/null || python3 -c "import sqlite3,sys; [print(r[0]) for r in sqlite3.connect(sys.argv[1]).execute(\"select error from points\")]" "$W/c.yaml.journal.sqlite" >c.errors &&
	cat c.errors && expect_grep "interrupted: the allocation ends" c.errors &&
	! pgrep -f "sleep 61" >/dev/null
'

test_expect_success 'points see ZPAR_STOP_TIME (end - margin) to checkpoint before it' '
	printf "%s\n" "name: d" "command: [\"sh\", \"-c\", \"echo \$ZPAR_STOP_TIME > $W/d.{i}\"]" "params:" "  i: [0]" >"$W/d.yaml" &&
	END=$(($(date +%s) + 60)) &&
	zt_timeout 60 $ZPAR sweep run "$W/d.yaml" -n 1 --end-time @$END --margin 10s 2>d.err &&
	expect_eq "ZPAR_STOP_TIME (end - margin - the default stop grace, 1 s)" $((END - 11)) "$(cat "$W/d.0")"
'

test_expect_success 'stop-signal and stop-grace: a code that checkpoints is told in time, saves, and is recorded interrupted' '
	{
		echo "name: k"
		echo "command: [\"sh\", \"-c\", \"trap '\''echo saved > $W/k.{i}; exit 1'\'' USR1; sleep 62 & wait\"]"
		echo "estimate: 1s"
		echo "stop-signal: USR1"
		echo "stop-grace: 3s"
		echo "params:"
		echo "  i: [0, 1]"
	} >"$W/k.yaml" && cat "$W/k.yaml" &&
	t0=$(date +%s) && END=$((t0 + 30)) &&
	rc=0 && zt_timeout 90 $ZPAR sweep run "$W/k.yaml" -n 2 --end-time @$END --margin 2s 2>k.err || rc=$? &&
	t1=$(date +%s) &&
	cat k.err &&
	expect_eq "exit status" 75 $rc &&
	expect_eq "checkpoint of point 0" saved "$(cat "$W/k.0")" &&
	expect_eq "checkpoint of point 1" saved "$(cat "$W/k.1")" &&
	s=$(states "$W/k.yaml") && echo "$s" &&
	expect_eq "states" "succeeded=0 failed=0 pending=2 running=0" "$s" &&
	test $((t1 - t0)) -lt 50 &&
	! pgrep -f "sleep 62" >/dev/null
'

test_expect_success 'durations are learned from the journal: no estimate, the next run does not start what cannot finish' '
	sweep "$W/e.yaml" e "" "i: {range: [0, 24]}" "d: [3]" &&
	rc=0 && zt_timeout 60 $ZPAR sweep run "$W/e.yaml" -n 2 --end-time +28s --margin 1s 2>e.err || rc=$? &&
	cat e.err && expect_eq "exit status" 75 $rc &&
	n1=$(markers e $(($(date +%s) + 1)) | sed -n "s/started //p") && echo "first run: $n1 started" &&
	test "$n1" -ge 2 &&
	rc=0 && zt_timeout 60 $ZPAR sweep run "$W/e.yaml" -n 2 --end-time +5s --margin 1s 2>e2.err || rc=$? &&
	cat e2.err && expect_eq "exit status" 75 $rc &&
	n2=$(markers e $(($(date +%s) + 1)) | sed -n "s/started //p") &&
	expect_eq "points started by the second run (3 s each, 3 s left at most)" "$n1" "$n2"
'

test_expect_success 'a sweep with nothing left exits 0 even with an end time; bad --end-time is exit 2' '
	rc=0 && zt_timeout 60 $ZPAR sweep run "$W/a.yaml" -n 1 --end-time +1m 2>f.err || rc=$? &&
	expect_eq "exit status (all done)" 0 $rc &&
	rc=0 && zt_timeout 30 $ZPAR sweep run "$W/a.yaml" -n 1 --end-time soon 2>g.err || rc=$? &&
	cat g.err && expect_eq "exit status (bad --end-time)" 2 $rc &&
	expect_grep "end-time soon: want" g.err &&
	rc=0 && ZPAR_END_TIME=later zt_timeout 30 $ZPAR sweep run "$W/a.yaml" -n 1 2>h.err || rc=$? &&
	cat h.err && expect_eq "exit status (bad ZPAR_END_TIME)" 2 $rc &&
	expect_grep "ZPAR_END_TIME later" h.err
'

test_done
