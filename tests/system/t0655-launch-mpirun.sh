#!/bin/sh
# t0655-launch-mpirun: `zpar run` under Open MPI's mpirun, on one node and
# PBS-style (`mpirun --hostfile $PBS_NODEFILE` in a job reproduced by
# tests/lib/pbs-emulate.sh, 2 virtual nodes x 2 through a fake rsh agent),
# and the log line that says which path the ranks and the endpoints took:
# PMIx for both; with PMIx skipped, OMPI_COMM_WORLD_* and a connection file
# (keyed by PBS_JOBID in the job) that is removed once the engines have
# registered.  A few seconds in all.
LIBDIR=$(cd "$(dirname "$0")/../lib" && pwd)
. "$LIBDIR/sharness-lite.sh"
zt_require_zpar
. "$LIBDIR/env.sh"
command -v mpirun >/dev/null 2>&1 && mpirun --version 2>/dev/null | grep -q "Open MPI" &&
    test_set_prereq MPIRUN

test_expect_success MPIRUN 'mpirun -n 3: ranks and endpoints over PMIx' '
	zt_timeout 120 mpirun -n 3 "$ZPAR" run -v --wait-timeout 60 -- "$ZPAR" px hostname \
		>m.out 2>m.err; rc=$?
	grep -E "wire-up|warning|error|^\[e" m.out m.err; expect_eq exit 0 $rc &&
	expect_eq "engines answering" 2 "$(grep -c "^\[e[12]\] " m.out)" &&
	expect_grep "info: wire-up: 3 ranks \(3 on this node\) from pmix, endpoints over pmix$" m.err
'

test_expect_success MPIRUN 'mpirun -n 3, PMIx skipped: OMPI_COMM_WORLD_* and the file, removed afterwards' '
	ZPAR_WIREUP_SKIP=pmix zt_timeout 120 mpirun -n 3 "$ZPAR" run -v --wait-timeout 60 -- \
		"$ZPAR" px hostname >f.out 2>f.err; rc=$?
	grep -E "wire-up|warning|error|^\[e" f.out f.err; expect_eq exit 0 $rc &&
	expect_eq "engines answering" 2 "$(grep -c "^\[e[12]\] " f.out)" &&
	expect_grep "from ompi-env, endpoints over file $ZPAR_DIR/zpar-wireup\..* \(not used: pmix: skipped\)$" f.err &&
	test -z "$(ls "$ZPAR_DIR" | grep zpar-wireup)"
'

cat >job.sh <<'EOF'
#!/bin/bash
cd "$PBS_O_WORKDIR" || exit 1
echo "nodefile: $(tr '\n' ' ' <"$PBS_NODEFILE")"
mpirun --hostfile "$PBS_NODEFILE" -n "$PBS_NP" "$ZPAR" run -v --wait-timeout 60 -- \
	"$ZPAR" px sh -c 'echo "node=$FAKE_NODE"'
EOF

# pbs_job NAME [VAR=VAL,...]: the job above on 2 virtual nodes x 2
pbs_job () {
    PBS_EMU_DIR=$ZT_TMP/pbs zt_timeout 120 "$LIBDIR/pbs-emulate.sh" -l nodes=2:ppn=2 \
        -v "ZPAR=$ZPAR,ZPAR_DIR=$ZPAR_DIR,XDG_RUNTIME_DIR=$XDG_RUNTIME_DIR,ZPAR_TEST_MARK=$ZPAR_TEST_MARK,OMPI_ALLOW_RUN_AS_ROOT=1,OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1,OMPI_MCA_pml=ob1${2:+,$2}" \
        job.sh >$1.out 2>&1
    rc=$?
    grep -E "nodefile|wire-up|warning|error|^\[e|pbs-emulate" $1.out
    expect_eq "job exit" 0 $rc &&
        expect_eq "engines answering" 3 "$(grep -c "^\[e[123]\] node=n[12]$" $1.out)" &&
        expect_eq "engines on n2" 2 "$(grep -c "^\[e[123]\] node=n2$" $1.out)"
}

test_expect_success MPIRUN 'PBS-style mpirun --hostfile $PBS_NODEFILE, 2 nodes x 2: PMIx, 2 ranks per node' '
	pbs_job pbs &&
	expect_grep "info: wire-up: 4 ranks \(2 on this node\) from pmix, endpoints over pmix$" pbs.out
'

test_expect_success MPIRUN 'PBS-style mpirun, PMIx skipped: the file keyed by PBS_JOBID' '
	pbs_job pbsf ZPAR_WIREUP_SKIP=pmix &&
	jid=$(sed -n "s/^pbs-emulate: job //p" pbsf.out) && test -n "$jid" &&
	expect_grep "from ompi-env, endpoints over file $ZPAR_DIR/zpar-wireup\.$jid \(not used: pmix: skipped\)$" pbsf.out &&
	test -z "$(ls "$ZPAR_DIR" | grep zpar-wireup)"
'

test_done
