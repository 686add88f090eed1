#!/bin/sh
# t0590-mh-mpi-launch: an MPI task's launch on 4 real hosts
# (tests/lib/netns-bed.sh), as an engine's runner does it (tests/lib/mpi-task:
# the runner with the task's slots and ranks, no controller): a 4-rank task
# over engines on h1, h2 and h3 (two on h3) runs as ONE MPI job
# (tests/lib/mpi-where: an MPI_Allreduce over all ranks) with every rank on
# its engine's host and CPUs (tests/lib/mpi-ranks-check.sh), through
#   - mpirun --host, from an engine started by mpirun (the outer launcher's
#     OMPI_*/PMIX_* variables are in its environment: an mpirun that sees
#     them refuses to start, "mpirun does not support recursive calls");
#   - srun --overlap, from an engine started by srun inside the allocation;
# a failing rank fails the task (its exit status); a task killed at its
# timeout leaves no rank on any host, nor does the engine's death (SIGKILL:
# the launcher dies of its parent-death signal); a rank map that puts a rank on a host
# its launcher did not start it on stops that rank before the command.
LIBDIR=$(cd "$(dirname "$0")/../lib" && pwd)
. "$LIBDIR/sharness-lite.sh"
zt_require_zpar
. "$LIBDIR/mpi-test.sh"
. "$LIBDIR/netns-bed.sh"
bed_up 4 --slurm
CHECK=$LIBDIR/mpi-ranks-check.sh
ON=$BED_DIR/bin/on

S1="1 h1 0 - 0"
S2="2 h2 1 - 0"
S3="3 h3 0 - 0"
S4="4 h3 1 - 0"

# the processes of the tasks' ranks left on any host
ranks_left () { bed_procs "$WHERE" | grep -v -e "mpi-task" -e " sh -c" || true; }

test_expect_success 'mpirun: 4 ranks on the engines of h1, h2, h3 (an engine started by mpirun)' '
	zt_timeout 60 "$ON" head mpirun --host h1 -n 1 \
		"$MPITASK" -r 4 -s "$S1" -s "$S2" -s "$S3" -s "$S4" -- "$WHERE" >mpirun.out 2>mpirun.err;
	rc=$? && cat mpirun.out mpirun.err && expect_eq "exit" 0 $rc &&
	expect_grep "mpi-task: status=ok" mpirun.err &&
	"$CHECK" mpirun.out 4 "$S1" "$S2" "$S3" "$S4" &&
	expect_eq "ranks started by mpirun" 4 "$(grep -c " via=mpirun\$" mpirun.out)"
'

test_expect_success 'mpirun: the rank map is in slot order when a host comes back (ranks grouped by host)' '
	zt_timeout 60 "$ON" h2 "$MPITASK" -r 4 -s "$S2" -s "$S3" -s "$S1" -s "$S4" -- "$WHERE" \
		>grouped.out 2>grouped.err && cat grouped.out &&
	"$CHECK" grouped.out 4 "$S1" "$S2" "$S3" "$S4" &&
	expect_grep "^rank=0 .*host=h2 engine=2 " grouped.out
'

# Open MPI 4.1 under srun (PMIx) now and then has a rank SIGSEGV at address
# 0 as it starts, its peers then "failed to TCP connect" (about 1 run in 5
# here; t0591 sees it too): that launch is tried once more, and the log
# says so.  Any other failure, or the same twice, fails the test.
test_expect_success 'srun --overlap: 4 ranks on the engines of h1, h2, h3 (an engine started by srun)' '
	srun_ranks () {
		zt_timeout 60 srun -N 4 -n 4 sh -c "[ \$SLURM_PROCID = 0 ] || exit 0; exec \"$MPITASK\" -r 4 \
			-s \"$S1\" -s \"$S2\" -s \"$S3\" -s \"$S4\" -- \"$WHERE\"" >srun.out 2>srun.err
	}
	srun_ranks; rc=$?
	if [ $rc != 0 ] && grep -q "Signal: Segmentation fault" srun.err &&
		grep -q "Failing at address: (nil)" srun.err; then
		zt_diag "a rank of Open MPI crashed at start-up (SIGSEGV at address 0): the launch once more"
		sed "s/^/# first launch: /" srun.err
		srun_ranks; rc=$?
	fi
	cat srun.out srun.err && expect_eq "exit" 0 $rc &&
	expect_grep "mpi-task: status=ok" srun.err &&
	"$CHECK" srun.out 4 "$S1" "$S2" "$S3" "$S4" &&
	expect_eq "ranks started by srun" 4 "$(grep -c " via=srun\$" srun.out)"
'

test_expect_success 'a rank that fails fails the task (mpirun and srun)' '
	! MPI_WHERE_FAIL=2 zt_timeout 60 "$ON" h1 "$MPITASK" -r 4 -s "$S1" -s "$S2" -s "$S3" -s "$S4" \
		-- "$WHERE" >fail1.out 2>fail1.err && cat fail1.err &&
	expect_grep "mpi-task: status=failed exit=[1-9]" fail1.err &&
	! MPI_WHERE_FAIL=2 zt_timeout 60 srun -N 4 -n 4 sh -c "[ \$SLURM_PROCID = 0 ] || exit 0; exec \
		\"$MPITASK\" -r 4 -s \"$S1\" -s \"$S2\" -s \"$S3\" -s \"$S4\" -- \"$WHERE\"" \
		>fail2.out 2>fail2.err && cat fail2.err &&
	expect_grep "mpi-task: status=failed exit=[1-9]" fail2.err
'

test_expect_success 'mpirun: a task killed at its timeout leaves no rank on any host' '
	zt_timeout 60 "$ON" h1 "$MPITASK" -t 3000 -r 4 -s "$S1" -s "$S2" -s "$S3" -s "$S4" \
		-- "$WHERE" 120 >kill1.out 2>kill1.err;
	cat kill1.out kill1.err && expect_grep "mpi-task: status=timeout" kill1.err &&
	wait_for 15 "test -z \"\$(ranks_left)\"" || { ranks_left; false; }
'

test_expect_success 'srun: a task killed at its timeout leaves no rank on any host' '
	zt_timeout 60 srun -N 4 -n 4 sh -c "[ \$SLURM_PROCID = 0 ] || exit 0; exec \"$MPITASK\" \
		-t 3000 -r 4 -s \"$S1\" -s \"$S2\" -s \"$S3\" -s \"$S4\" -- \"$WHERE\" 120" \
		>kill2.out 2>kill2.err;
	cat kill2.out kill2.err && expect_grep "mpi-task: status=timeout" kill2.err &&
	wait_for 15 "test -z \"\$(ranks_left)\"" || { ranks_left; false; }
'

# engine_dies NAME: the process that runs an MPI task (as an engine does;
# started by mpirun_task or srun_task NAME) is SIGKILLed while its 4 ranks
# run: none of them may stay
mpirun_task () {
	"$ON" h1 "$MPITASK" -r 4 -s "$S1" -s "$S2" -s "$S3" -s "$S4" -- "$WHERE" 120 \
		>dies-$1.out 2>dies-$1.err &
}
srun_task () {
	srun -N 4 -n 4 sh -c "[ \$SLURM_PROCID = 0 ] || exit 0; exec \"$MPITASK\" -r 4 \
		-s \"$S1\" -s \"$S2\" -s \"$S3\" -s \"$S4\" -- \"$WHERE\" 120" >dies-$1.out 2>dies-$1.err &
}
engine_dies () {
	${1}_task $1
	wait_for 60 "test \$(ranks_left | wc -l) -ge 4" || { ranks_left; cat dies-$1.err; return 1; }
	p=$(pgrep -f "/mpi-task -r 4 -s") && echo "killing $p: $(tr "\0" " " </proc/$p/cmdline)" && kill -KILL $p &&
	wait_for 30 "test -z \"\$(ranks_left)\"" || { ranks_left; return 1; }
}

test_expect_success 'mpirun: the engine killed (SIGKILL) while its task runs leaves no rank' '
	engine_dies mpirun
'

test_expect_success 'srun: the engine killed (SIGKILL) while its task runs leaves no rank' '
	engine_dies srun
'

test_expect_success 'a rank started on another host than its engine stops before the command' '
	! zt_timeout 60 "$ON" h1 env "ZPAR_MPI_RANKMAP=1 h1 0 -;3 h4 1 -" mpirun --host h1:2 -n 2 \
		--map-by slot --bind-to none -x ZPAR_MPI_RANKMAP "$ZPAR_MPI_RANK_WRAPPER" -- "$WHERE" \
		>guard.out 2>guard.err && cat guard.out guard.err &&
	expect_grep "zpar-rank \(h1\): rank 1 runs on h1, but its engine 3 is on h4" guard.err &&
	! grep -q "^rank=1" guard.out
'

test_done
