#!/bin/sh
# t0361-sweep-walltime-aware: a sweep in a real Slurm job of --time=1
# (sbatch of slurm/sweep.sbatch) finds the job's end itself (squeue), starts
# only the points that finish before it (less the margin), and ends the
# job with exit 75 and points left -- no point is cut by the time limit,
# none is recorded as failed.  The resubmitted job (no estimate in the file
# this time: the durations come from the journal) does the same, and
# nothing that succeeded runs twice.  Each point writes "start T" and "end
# T" to a marker file.
LIBDIR=$(cd "$(dirname "$0")/../lib" && pwd)
. "$LIBDIR/sharness-lite.sh"
zt_require_zpar
. "$LIBDIR/slurm-test.sh"
TOP=$(cd "$LIBDIR/../.." && pwd)
unset ZPAR_END_TIME

W=$ZT_TMP/w
mkdir -p "$W/m"
# 16 points of 8 s on 2 engines: ~64 s of work per engine, more than a
# 1-minute job holds
mk () {
    {
        echo "name: aware"
        echo "command: [\"sh\", \"-c\", \"echo start \$(date +%s.%N) >> $W/m/{i}; sleep 8; echo end \$(date +%s.%N) >> $W/m/{i}\"]"
        [ -n "$1" ] && echo "estimate: \"$1\""
        echo "params:"
        echo "  i: {range: [0, 16]}"
    } >"$W/aware.yaml"
}
export W TOP

# markers STOP: every point that started also ended, each by STOP (+1 s),
# none twice (tests/lib/sweep-markers.py); prints the number of starts
markers () {
    python3 "$LIBDIR/sweep-markers.py" "$W/m" "$1" 1 --once
}

states () {
    zt_timeout 30 $ZPAR sweep report "$W/aware.yaml" --format json >"$1" &&
        python3 -c 'import json,sys,collections
c = collections.Counter(r["state"] for r in json.load(open(sys.argv[1])))
print(" ".join("%s=%d" % (s, c[s]) for s in ("succeeded", "failed", "pending", "running")))' "$1"
}

# run_job: sbatch --time=1 of a script like slurm/sweep.sbatch but with
# no --signal (Slurm may send it up to 60 s early: in a 1-minute job that
# is at once), and wait for its end; prints the job id.  The margin (12 s)
# ends every point before the limit.
run_job () {
    J=$(zt_timeout 30 sbatch --parsable --ntasks=3 -o "$W/job-%j.out" --time=1 \
        --export=ALL,SWEEP=$W/aware.yaml,ZPAR=$ZPAR "$W/job.sh") &&
        echo $J >>"$ZT_TMP/jobs" &&
        wait_for 240 "! squeue -h -j $J 2>/dev/null | grep -q ." &&
        echo $J
}
printf '%s\n' '#!/bin/sh' \
    'exec srun --no-kill --kill-on-bad-exit=0 "$ZPAR" run --sweep "$SWEEP" --margin 12s' >"$W/job.sh"
chmod +x "$W/job.sh"

test_expect_success SLURM 'a --time=1 job knows its end: starts only what finishes, exits 75 with points left' '
	mk "8s + 2s" &&
	J=$(run_job) && cat "$W"/job-$J.out &&
	expect_grep "Slurm job $J: ends .* \(Slurm\)" "$W"/job-$J.out &&
	expect_grep "time is up: [0-9]+ points left for the next job" "$W"/job-$J.out &&
	ec=$(scontrol show job $J 2>/dev/null | sed -n "s/.* ExitCode=\([0-9]*\):.*/\1/p") &&
	echo "job exit code: ${ec:-unknown}" && { [ -z "$ec" ] || expect_eq "job exit code" 75 "$ec"; } &&
	stop=$(sed -n "s/.*points must be done by \([0-9:]*\) .*/\1/p" "$W"/job-$J.out | head -n 1) &&
	stop_s=$(date -d "$stop" +%s) &&
	n=$(markers $stop_s) && echo "points started: $n" && echo $n >n1 &&
	test "$n" -ge 2 && test "$n" -lt 16 &&
	s=$(states s1.json) && echo "$s" && case "$s" in *"failed=0 pending"*) ;; *) false ;; esac
'

test_expect_success SLURM 'resubmitted with no estimate in the file: durations from the journal, nothing cut, nothing twice' '
	mk "" &&
	J=$(run_job) && cat "$W"/job-$J.out &&
	stop=$(sed -n "s/.*points must be done by \([0-9:]*\) .*/\1/p" "$W"/job-$J.out | head -n 1) &&
	n=$(markers $(date -d "$stop" +%s)) && echo "points started in both jobs: $n" &&
	test "$n" -gt "$(cat n1)" &&
	s=$(states s2.json) && echo "$s" && case "$s" in *"failed=0 "*) ;; *) false ;; esac &&
	if grep -q "time is up" "$W"/job-$J.out; then expect_grep "points left for the next job" "$W"/job-$J.out; else expect_eq "all done" "succeeded=16 failed=0 pending=0 running=0" "$s"; fi
'

test_expect_success SLURM 'nothing is left running' '
	test -z "$(ps -eo args | grep -F "$(dirname "$ZPAR")/.libs/zpar run" | grep -v grep)"
'

test_done
