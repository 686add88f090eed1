#!/bin/sh
# t0650-launch-slurm: `zpar run` under every MPI plugin of Slurm's srun, and
# the log line that says which path the ranks and the endpoints took:
#   srun --mpi=pmix   ranks and endpoints over PMIx
#   srun --mpi=pmi2   ranks and endpoints over the PMI-2 wire protocol
#   srun --mpi=none   ranks from SLURM_*, endpoints through a file in
#                     $ZPAR_DIR (key job.step), removed once the engines
#                     have registered
# and the fallbacks: PMIx or PMI-2 skipped (ZPAR_WIREUP_SKIP), or a PMI_FD
# that names no open descriptor (a warning says why, the job still runs);
# and the Torque-style `mpiexec` that Slurm ships (mpiexec.slurm: srun).
# A few seconds in all (the Slurm test bed of tests/lib/slurm-test.sh).
LIBDIR=$(cd "$(dirname "$0")/../lib" && pwd)
. "$LIBDIR/sharness-lite.sh"
zt_require_zpar
. "$LIBDIR/slurm-test.sh"

if test_have_prereq SLURM; then
    plugins=$(zt_timeout 30 srun --mpi=list 2>&1)
    case $plugins in *pmix*) test_set_prereq PMIX ;; esac
    case $plugins in *pmi2*) test_set_prereq PMI2 ;; esac
    zt_diag "srun --mpi=list: $(echo $plugins)"
fi

# run_ok NAME MPI [env...]: srun --mpi=MPI -n 3 zpar run -v, a px task that
# prints whether it sees PMI_FD; exit 0, both engines answered
run_ok () {
    n=$1 m=$2
    shift 2
    (
        for a in "$@"; do export "$a"; done
        zt_timeout 120 srun --mpi=$m -n 3 "$ZPAR" run -v --wait-timeout 60 -- \
            "$ZPAR" px sh -c 'echo "pmi_fd=${PMI_FD:-none}"' >$n.out 2>$n.err
    )
    rc=$?
    grep -E "wire-up|warning|error|^\[e" $n.err $n.out
    expect_eq "exit" 0 $rc && expect_eq "engines answering" 2 "$(grep -c '^\[e[12]\] pmi_fd=none$' $n.out)"
}

test_expect_success SLURM,PMIX 'srun --mpi=pmix: ranks and endpoints over PMIx' '
	run_ok pmix pmix &&
	expect_grep "info: wire-up: 3 ranks \(3 on this node\) from pmix, endpoints over pmix$" pmix.err
'

test_expect_success SLURM,PMI2 'srun --mpi=pmi2: ranks and endpoints over PMI-2, tasks do not inherit PMI_FD' '
	run_ok pmi2 pmi2 &&
	expect_grep "info: wire-up: 3 ranks \(3 on this node\) from pmi2, endpoints over pmi2$" pmi2.err
'

test_expect_success SLURM 'srun --mpi=none: SLURM_* ranks, endpoints through a file, removed afterwards' '
	run_ok none none &&
	expect_grep "info: wire-up: 3 ranks \(3 on this node\) from slurm-env, endpoints over file $ZPAR_DIR/zpar-wireup\.[0-9]*\.0$" none.err &&
	test -z "$(ls "$ZPAR_DIR" | grep zpar-wireup)"
'

test_expect_success SLURM,PMIX 'srun --mpi=pmix, PMIx skipped: falls back to SLURM_* and the file, says so' '
	run_ok skpmix pmix ZPAR_WIREUP_SKIP=pmix &&
	expect_grep "from slurm-env, endpoints over file .* \(not used: pmix: skipped\)$" skpmix.err &&
	expect_no_grep "warning" skpmix.err
'

test_expect_success SLURM,PMI2 'srun --mpi=pmi2, PMI-2 skipped: PMI_RANK/PMI_SIZE and the file' '
	run_ok skpmi2 pmi2 ZPAR_WIREUP_SKIP=pmi2 &&
	expect_grep "from pmi-env, endpoints over file .* \(not used: pmi2: skipped\)$" skpmi2.err
'

test_expect_success SLURM,PMI2 'srun --mpi=pmi2 with a PMI_FD that is not open: a warning, the job runs' '
	zt_timeout 120 srun --mpi=pmi2 -n 3 sh -c "PMI_FD=97 exec \"$ZPAR\" run --wait-timeout 60 -- \"$ZPAR\" px true" \
		>bad.out 2>bad.err; rc=$?
	cat bad.out bad.err; expect_eq "exit" 0 $rc &&
	expect_grep "warning: wire-up: 3 ranks .* from pmi-env, endpoints over file .* \(not used: pmi2: PMI_FD=.97. is not an open descriptor\)$" bad.err
'

command -v mpiexec.slurm >/dev/null 2>&1 && test_set_prereq MPIEXEC_SLURM

test_expect_success SLURM,PMIX,MPIEXEC_SLURM 'Torque-style mpiexec of slurm-wlm-torque (mpiexec.slurm, runs srun): PMIx' '
	zt_timeout 120 mpiexec.slurm -n 3 "$ZPAR" run -v --wait-timeout 60 -- "$ZPAR" px true \
		>ms.out 2>ms.err; rc=$?
	grep -E "wire-up|warning|error" ms.err; expect_eq "exit" 0 $rc &&
	expect_grep "info: wire-up: 3 ranks \(3 on this node\) from pmix, endpoints over pmix$" ms.err
'

test_expect_success SLURM 'ZPAR_WIREUP_SKIP=pmi3 is refused with a clear error' '
	ZPAR_WIREUP_SKIP=pmi3 zt_timeout 60 srun --mpi=none -n 1 "$ZPAR" run -- true >skip.out 2>&1; rc=$?
	cat skip.out; test $rc != 0 && expect_grep "ZPAR_WIREUP_SKIP: .pmi3. is not pmix or pmi2" skip.out
'

test_done
