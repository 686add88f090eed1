#!/bin/sh
# t0360-sweep-walltime: a sweep inside a real Slurm job (sbatch of
# slurm/sweep.sbatch) cut by its time limit, then resubmitted: the rest
# runs, every point ends succeeded, and no point that had succeeded before
# the cut runs again.  Slow by nature: slurmctld checks limits every 30 s,
# so a --time=1 job ends 60-90 s after it starts.
LIBDIR=$(cd "$(dirname "$0")/../lib" && pwd)
. "$LIBDIR/sharness-lite.sh"
zt_require_zpar
. "$LIBDIR/slurm-test.sh"
TOP=$(cd "$LIBDIR/../.." && pwd)

W=$ZT_TMP/w
mkdir -p "$W/markers"
# 40 points of 5 s on 2 engines: ~100 s of work, more than the limit
{
    echo "name: long"
    echo "command: [\"sh\", \"-c\", \"sleep 5; echo {i} >> $W/markers/{i}\"]"
    echo "params:"
    echo "  i: {range: [0, 40]}"
} >"$W/long.yaml"

export W TOP
succeeded_points () {
    zt_timeout 30 $ZPAR sweep report "$W/long.yaml" --format json >"$1" &&
    python3 -c 'import json,sys; print(" ".join(str(r["index"]) for r in json.load(open(sys.argv[1])) if r["state"]=="succeeded"))' "$1"
}

test_expect_success SLURM 'a --time=1 job is cut by its limit half-way' '
	J=$(zt_timeout 30 sbatch --parsable --ntasks=3 -o "$W/job-%j.out" --export=ALL,SWEEP=$W/long.yaml,ZPAR=$ZPAR --time=1 --signal=TERM@10 "$TOP/slurm/sweep.sbatch") && echo $J >>"$ZT_TMP/jobs" &&
	wait_for 240 "! squeue -h -j $J 2>/dev/null | grep -q ." &&
	cat "$W"/job-$J.out;
	done1=$(succeeded_points before.json) && echo "$done1" >done1.txt &&
	n=$(echo $done1 | wc -w) && echo "succeeded before the resubmission: $n of 40" &&
	test $n -gt 0 && test $n -lt 40
'

test_expect_success SLURM 'resubmitted, it finishes the rest; nothing that had succeeded runs again' '
	J=$(zt_timeout 30 sbatch --parsable --ntasks=3 -o "$W/job-%j.out" --export=ALL,SWEEP=$W/long.yaml,ZPAR=$ZPAR --time=5 "$TOP/slurm/sweep.sbatch") && echo $J >>"$ZT_TMP/jobs" &&
	wait_for 300 "! squeue -h -j $J 2>/dev/null | grep -q ." &&
	cat "$W"/job-$J.out &&
	done2=$(succeeded_points after.json) &&
	expect_eq "points succeeded" 40 "$(echo $done2 | wc -w)" &&
	for i in $(cat done1.txt); do
		expect_eq "runs of point $i (done before the cut)" 1 "$(wc -l < "$W/markers/$i" | tr -d " ")" || return 1
	done &&
	expect_grep "skipped \(already done\)" "$W"/job-$J.out
'

test_expect_success SLURM 'nothing is left running' '
	test -z "$(ps -eo args | grep -F "$(dirname "$ZPAR")/.libs/zpar run" | grep -v grep)"
'

test_done
