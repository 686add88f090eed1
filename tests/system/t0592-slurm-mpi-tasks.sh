#!/bin/sh
# t0592-slurm-mpi-tasks: MPI tasks under the single-host Slurm test bed
# (tests/lib/slurm-test.sh: virtual nodes of this machine, every one with
# the host name of the machine): the leader engine's own host is its Slurm
# node (SLURMD_NODENAME), so `srun --overlap --nodelist=<that node>` puts
# every rank there, each on its engine's CPU:
#   - through the engine's runner (tests/lib/mpi-task) inside `srun -n 2`;
#   - a failing rank fails the task, and a timeout leaves no rank behind.
LIBDIR=$(cd "$(dirname "$0")/../lib" && pwd)
. "$LIBDIR/sharness-lite.sh"
zt_require_zpar
. "$LIBDIR/mpi-test.sh"
. "$LIBDIR/slurm-test.sh"
H=$(hostname)
S1="1 $H 0 - 0"
S2="2 $H 1 - 0"

# run_in_job OUT ERR ARGS...: mpi-task ARGS as rank 0 of `srun -N 1 -n 2`
run_in_job () {
	o=$1 e=$2
	shift 2
	zt_timeout 120 srun -N 1 -n 2 sh -c '[ "$SLURM_PROCID" = 0 ] || exit 0; echo "node=$SLURMD_NODENAME" >&2; exec "$@"' \
		sh "$MPITASK" "$@" >"$o" 2>"$e"
}

test_expect_success SLURM 'srun --overlap: 2 ranks on the leader engine'"'"'s node, each on its engine'"'"'s CPU' '
	run_in_job ok.out ok.err -r 2 -s "$S1" -s "$S2" -- "$WHERE";
	rc=$? && cat ok.out ok.err && expect_eq "exit" 0 $rc &&
	expect_grep "mpi-task: status=ok" ok.err &&
	"$LIBDIR/mpi-ranks-check.sh" ok.out 2 "$S1" "$S2" &&
	expect_eq "ranks started by srun" 2 "$(grep -c " via=srun\$" ok.out)"
'

test_expect_success SLURM 'a failing rank fails the task; a timeout leaves no rank' '
	! MPI_WHERE_FAIL=1 run_in_job fail.out fail.err -r 2 -s "$S1" -s "$S2" -- "$WHERE" &&
	cat fail.err && expect_grep "mpi-task: status=failed exit=[1-9]" fail.err &&
	run_in_job kill.out kill.err -t 3000 -r 2 -s "$S1" -s "$S2" -- "$WHERE" 120;
	cat kill.err && expect_grep "mpi-task: status=timeout" kill.err &&
	wait_for 15 "! pgrep -f \"^$WHERE 120\" >/dev/null"
'

test_done
