#!/bin/sh
# t0570-mh-host-kill: a whole host killed mid-sweep under a batch job, on 4
# real hosts (tests/lib/netns-bed.sh).  `sbatch -N 4 -n 8 slurm/sweep.sbatch`
# puts the controller on h1 and 7 engines on the 4 hosts; while points run
# on h3, every process of h3 is SIGKILLed (slurmd, its step, the engines,
# their tasks: its kernel stays up, so its TCP connections close).
# Checks: the job is not ended by Slurm's node-failure handling (the
# template's --no-kill) and ends with exit 0 once the sweep is done; the
# controller declares both engines of h3 dead and logs one line naming the
# host ("host h3 lost: 2 engines dead (...)"), before Slurm itself reports
# the node failure; the points h3 was running start again on the other
# hosts and every point succeeds once in the journal (the report), none
# ending twice on the hosts that lived.  Prints the detection time (kill ->
# "declared dead") and the recovery time (kill -> the retried points'
# start).  Heartbeat 500 ms x 3; SlurmdTimeout 10 s, so that srun, which
# waits for Slurm to declare the host DOWN, returns sooner.
LIBDIR=$(cd "$(dirname "$0")/../lib" && pwd)
. "$LIBDIR/sharness-lite.sh"
zt_require_zpar
. "$LIBDIR/netns-bed.sh"
TOP=$(cd "$LIBDIR/../.." && pwd)
command -v python3 >/dev/null 2>&1 || skip_all "no python3 (reads the JSON report)"
bed_up 4 --slurm
. "$LIBDIR/mh-node.sh"

NPTS=40
export ZPAR_DIR=$ZT_TMP/zd ZPAR_HB_PERIOD_MS=500 ZPAR_HB_MISSES=3 ZPAR_LOG=info
mh_sweep kill $NPTS 1.5
OUT=$ZT_TMP/sw/job.out

test_expect_success 'SlurmdTimeout 10 s' '
	mh_slurmd_timeout 10
'

test_expect_success 'sbatch -N 4 -n 8 slurm/sweep.sbatch: points run on h3' '
	J=$(zt_timeout 30 sbatch --parsable -N 4 -n 8 -o "$OUT" \
		--export=ALL,SWEEP=$ZT_TMP/sw/kill.yaml,ZPAR=$ZPAR "$TOP/slurm/sweep.sbatch") &&
	echo $J >"$ZT_TMP/job" && echo "job $J" &&
	wait_for 40 "mh_running_on h3"
'

test_expect_success 'h3 killed (every process): both its engines declared dead, the host named' '
	zt_now_ms >"$ZT_TMP/fault.ms" &&
	bed_fault kill h3 &&
	wait_for 20 "grep -q \"host h3 lost: \" \"$OUT\"" &&
	grep -E "declared dead|host h3 lost" "$OUT"
'

test_expect_success 'zpar saw it before Slurm did (the node failure line comes later, if at all)' '
	wait_for 60 "grep -q \"Node failure on h3\" \"$OUT\"" &&
	grep -n -E "host h3 lost|Node failure on h3" "$OUT" >order &&
	cat order && head -n 1 order | grep -q "host h3 lost"
'

test_expect_success 'the job ends with exit 0 (not killed on the node failure): every point succeeded' '
	J=$(cat "$ZT_TMP/job") &&
	wait_for 80 "! squeue -h -j $J 2>/dev/null | grep -q ." &&
	grep -v "sweep kill:" "$OUT" | grep -v -E "registered|registering|fencing" &&
	scontrol show job $J >job.info && grep -E "JobState|NodeList|ExitCode" job.info &&
	expect_grep "ExitCode=0:0" job.info &&
	expect_grep "$NPTS points: $NPTS succeeded" "$OUT"
'

test_expect_success 'the lost points ran again elsewhere; every point done once in the journal' '
	zt_timeout 30 "$ZPAR" sweep report "$ZT_TMP/sw/kill.yaml" --format json >report.json &&
	mh_check_sweep "$OUT" report.json "$(cat "$ZT_TMP/fault.ms")" h3 $NPTS kill
'

[ -s "$ZT_TMP/figures" ] && zt_diag "$(cat "$ZT_TMP/figures")"
test_done
