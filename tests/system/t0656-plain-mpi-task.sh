#!/bin/sh
# t0656-plain-mpi-task: an MPI program run as a PLAIN task (no ranks:) by
# engines that mpirun or srun started.  The engine gives such a task an
# environment without its launcher's wire-up (PMIX_*, mpirun's OMPI_*,
# the SLURM_* of the engines' job step: src/engine/mpi_launch.h,
# zpar__task_env_scrubbed), so the program starts as a singleton instead
# of trying to join the engines' job; the job's own variables
# (SLURM_JOB_ID, SLURM_CONF) stay.  A task with ranks: still goes through
# the MPI launcher (ranks=2).  The MPI program is examples/mpi-pi.
LIBDIR=$(cd "$(dirname "$0")/../lib" && pwd)
. "$LIBDIR/sharness-lite.sh"
zt_require_zpar
. "$LIBDIR/mpi-test.sh"
. "$LIBDIR/slurm-test.sh"
PI=$builddir/examples/mpi-pi
[ -x "$PI" ] || skip_all "no examples/mpi-pi (built with MPI only)"
"$ZPAR" submit --help 2>&1 | grep -q -- "--ranks" && test_set_prereq RANKS

# what a plain task shows of its environment
cat >show-env.sh <<'EOS'
#!/bin/sh
echo "pmix_rank=${PMIX_RANK:-none} ompi_rank=${OMPI_COMM_WORLD_RANK:-none} step=${SLURM_STEP_ID:-none} procid=${SLURM_PROCID:-none} job=${SLURM_JOB_ID:-none} conf=${SLURM_CONF:+set}"
EOS
chmod +x show-env.sh

# the client command run by zpar run: the MPI program on every engine as a
# plain task (10 s each at most), the environment, then (with ranks:) one
# MPI task of 2 ranks
cat >client.sh <<EOS
#!/bin/sh
"$ZPAR" px --timeout 60 "$PI" 100000 || echo "px-failed rc=\$?"
"$ZPAR" px --timeout 30 "$ZT_TMP/show-env.sh"
if [ -n "\$WITH_RANKS" ]; then "$ZPAR" submit --wait --ranks 2 -- "$PI" 100000 || echo "ranks-failed rc=\$?"; fi
EOS
chmod +x client.sh

# check NAME: the singleton result on both engines, no wire-up variable
check () {
	grep -E "^\[e|pi=|failed|error" $1.out $1.err
	expect_eq "engines where the MPI program ran as a singleton" 2 \
		"$(grep -c "^\[e[12]\] pi=3\.14159.* ranks=1 " $1.out)" &&
	expect_no_grep "px-failed" $1.out &&
	expect_eq "engines without the wire-up" 2 \
		"$(grep -c "^\[e[12]\] pmix_rank=none ompi_rank=none step=none procid=none " $1.out)"
}

test_expect_success 'mpirun -n 3 zpar run: an MPI program as a plain task runs as a singleton' '
	zt_timeout 180 mpirun -n 3 "$ZPAR" run --wait-timeout 60 -- \
		"$ZT_TMP/client.sh" >m.out 2>m.err;
	rc=$?; expect_eq exit 0 $rc && check m
'

test_expect_success RANKS 'mpirun -n 3 zpar run: a task with ranks: 2 is still one MPI job of 2 ranks' '
	WITH_RANKS=1 zt_timeout 180 mpirun -n 3 -x WITH_RANKS "$ZPAR" run --wait-timeout 60 -- \
		"$ZT_TMP/client.sh" >r.out 2>r.err;
	rc=$?; expect_eq exit 0 $rc && check r &&
	expect_grep "^pi=3\.14159.* ranks=2 " r.out && expect_no_grep "ranks-failed" r.out
'

test_expect_success SLURM 'srun -n 3 zpar run: the same, and the job'"'"'s SLURM_JOB_ID and SLURM_CONF stay' '
	zt_timeout 180 srun -n 3 "$ZPAR" run --wait-timeout 60 -- "$ZT_TMP/client.sh" >s.out 2>s.err;
	rc=$?; expect_eq exit 0 $rc && check s &&
	expect_eq "engines that see the job" 2 "$(grep -c "^\[e[12]\] pmix_rank=none .* job=[0-9][0-9]* conf=set$" s.out)"
'

test_expect_success SLURM,RANKS 'srun -n 3 zpar run: a task with ranks: 2 goes through srun --overlap' '
	WITH_RANKS=1 zt_timeout 180 srun -n 3 "$ZPAR" run --wait-timeout 60 -- "$ZT_TMP/client.sh" \
		>sr.out 2>sr.err;
	rc=$?; expect_eq exit 0 $rc && check sr &&
	expect_grep "^pi=3\.14159.* ranks=2 " sr.out && expect_no_grep "ranks-failed" sr.out
'

test_done
