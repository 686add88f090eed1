#!/bin/sh
# t0530-mh-pbs: a PBS job across 4 real hosts (tests/lib/netns-bed.sh, no
# Slurm): tests/lib/pbs-emulate.sh runs pbs/sweep.pbs the way a mom would,
# on the job's first host h1, with PBS_NODEFILE naming h1..h4 (2 slots
# each); the script's `mpirun --hostfile $PBS_NODEFILE zpar run --sweep`
# starts the remote ranks through the bed's rsh agent (Open MPI without tm).
# Checks: the job exits 0; every point succeeded in one attempt, its side
# effect happened once, on the host the report names; points ran on several
# hosts.
LIBDIR=$(cd "$(dirname "$0")/../lib" && pwd)
. "$LIBDIR/sharness-lite.sh"
zt_require_zpar
. "$LIBDIR/netns-bed.sh"
TOP=$(cd "$LIBDIR/../.." && pwd)
command -v python3 >/dev/null 2>&1 || skip_all "no python3 (reads the JSON report)"
command -v mpirun >/dev/null 2>&1 || skip_all "no mpirun (Open MPI)"
bed_up 4

NPTS=24
SIDE=$ZT_TMP/side
: >"$SIDE"
mkdir -p pb
cat >pb/mh.yaml <<EOF
name: mh
command: ["sh", "-c", "echo {i} \$(hostname) >>$SIDE; sleep 0.2; echo point {i} on \$(hostname)"]
params:
  i: {range: [0, $NPTS]}
EOF

test_expect_success 'pbs/sweep.pbs as a 4-node job (nodes=4:ppn=2), mpirun --hostfile: exit 0' '
	zt_timeout 80 "$BED_DIR/bin/on" h1 env PBS_EMU_DIR="$ZT_TMP/pbsemu" PBS_EMU_NODES="$BED_HOSTS" \
		PBS_EMU_RSH="$BED_DIR/bin/rsh" SWEEP="$ZT_TMP/pb/mh.yaml" ZPAR="$ZPAR" \
		"$LIBDIR/pbs-emulate.sh" -l nodes=4:ppn=2,walltime=00:01:10 \
		-v SWEEP,ZPAR,ZPAR_DIR,ZPAR_TEST_MARK,BED_MARK,OMPI_ALLOW_RUN_AS_ROOT,OMPI_ALLOW_RUN_AS_ROOT_CONFIRM,OMPI_MCA_pml,OMPI_MCA_btl,OMPI_MCA_btl_tcp_if_include,OMPI_MCA_oob_tcp_if_include \
		"$TOP/pbs/sweep.pbs" >pb/job.out 2>&1;
	rc=$?; cat pb/job.out; cat "$ZT_TMP"/pbsemu/aux/*[!t] 2>/dev/null | sort | uniq -c;
	expect_eq "job exit" 0 $rc &&
	expect_grep "$NPTS points: $NPTS succeeded" pb/job.out
'

test_expect_success 'the report: every point succeeded in one attempt, on several hosts' '
	zt_timeout 30 "$ZPAR" sweep report pb/mh.yaml --format json >pb/report.json &&
	python3 "$LIBDIR/bed/sweep-once.py" pb/report.json $NPTS "$SIDE"
'

test_done
