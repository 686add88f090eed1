#!/bin/sh
# t0510-mh-sbatch-sweep: `sbatch -N 4 -n 8 slurm/sweep.sbatch` on 4 real
# hosts (tests/lib/netns-bed.sh): the batch script runs on the first host,
# its `srun zpar run --sweep` puts the controller there and 7 engines on the
# 4 hosts.  Checks: the job ends with exit 0 and its log counts every point
# succeeded; the sweep report has every point succeeded in one attempt; each
# point's side effect (a line in a shared file) happened exactly once; the
# points ran on several hosts, and the report's host of each point is the
# host its side effect names.
LIBDIR=$(cd "$(dirname "$0")/../lib" && pwd)
. "$LIBDIR/sharness-lite.sh"
zt_require_zpar
. "$LIBDIR/netns-bed.sh"
TOP=$(cd "$LIBDIR/../.." && pwd)
command -v python3 >/dev/null 2>&1 || skip_all "no python3 (reads the JSON report)"
bed_up 4 --slurm

NPTS=24
SIDE=$ZT_TMP/side
: >"$SIDE"
mkdir -p sw
cat >sw/mh.yaml <<EOF
name: mh
command: ["sh", "-c", "echo {i} \$(hostname) >>$SIDE; sleep 0.2; echo point {i} on \$(hostname)"]
params:
  i: {range: [0, $NPTS]}
EOF

test_expect_success 'sbatch -N 4 -n 8 slurm/sweep.sbatch: the job ends, exit 0' '
	J=$(zt_timeout 30 sbatch --parsable -N 4 -n 8 -o "$ZT_TMP/sw/job.out" \
		--export=ALL,SWEEP=$ZT_TMP/sw/mh.yaml,ZPAR=$ZPAR "$TOP/slurm/sweep.sbatch") &&
	echo "job $J" &&
	wait_for 80 "! squeue -h -j $J 2>/dev/null | grep -q ." &&
	cat sw/job.out &&
	scontrol show job $J >sw/job.info && grep -E "NodeList|ExitCode|BatchHost" sw/job.info &&
	expect_grep "^ *NodeList=h\[1-4\]" sw/job.info &&
	expect_grep "ExitCode=0:0" sw/job.info &&
	expect_grep "$NPTS points: $NPTS succeeded" sw/job.out
'

test_expect_success 'the report: every point succeeded in one attempt, on several hosts' '
	zt_timeout 30 "$ZPAR" sweep report sw/mh.yaml --format json >sw/report.json &&
	python3 "$LIBDIR/bed/sweep-once.py" sw/report.json $NPTS "$SIDE"
'

test_done
