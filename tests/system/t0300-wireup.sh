#!/bin/sh
# t0300-wireup: rank discovery and the rank-0 blob exchange of
# src/launch/wireup.c under the real launchers of this machine: mpirun
# (oversubscribed), the project's Slurm test bed (srun --mpi=pmix, srun
# --mpi=none + connection file, inside an sbatch --wait job) and PBS emulation
# (mpirun --hostfile $PBS_NODEFILE, one node and two virtual nodes).
#
# Needs: ZPAR_WIREUP_PROBE = path of the built tests/lib/wireup-probe (this
# script builds nothing).  Exit 77 (with "1..0 # SKIP reason") when it is
# missing or neither mpirun nor srun exists; tests needing only the missing
# launcher are skipped one by one.  Slurm is brought up with
# tests/lib/slurm-up.sh if it is not up (ZPAR_SLURM_DIR, default
# /tmp/zpar-slurm; ZPAR_SLURM_INSTALL=1 adds --install) and brought down at
# the end only if this script started it.  Every wait is bounded by a timeout
# scaled by ZPAR_TEST_TIMEOUT_SCALE.

T0300_LIB=$(cd "$(dirname "$0")/../lib" && pwd)
skip77 () {
    echo "1..0 # SKIP $*"
    exit 0
}
[ -n "$ZPAR_WIREUP_PROBE" ] || skip77 "ZPAR_WIREUP_PROBE is not set (path of the built tests/lib/wireup-probe)"
[ -x "$ZPAR_WIREUP_PROBE" ] || skip77 "ZPAR_WIREUP_PROBE=$ZPAR_WIREUP_PROBE is not executable"
PATH=$PATH:/usr/sbin:/sbin
export PATH
have_mpirun=0 have_slurm=0
command -v mpirun >/dev/null 2>&1 && have_mpirun=1
have_slurm=1
for b in srun sbatch scancel squeue slurmctld slurmd munged; do
    command -v $b >/dev/null 2>&1 || have_slurm=0
done
[ "$(id -u)" = 0 ] || have_slurm=0 # the test bed runs its daemons as root
if [ $have_mpirun = 0 ] && [ $have_slurm = 0 ]; then
    [ "${ZPAR_SLURM_INSTALL:-0}" = 1 ] && [ "$(id -u)" = 0 ] \
        || skip77 "neither mpirun nor Slurm (srun, slurmctld, slurmd, munged) is installed: apt-get install openmpi-bin slurm-wlm munge"
fi
case $ZPAR_WIREUP_PROBE in /*) ;; *) ZPAR_WIREUP_PROBE=$(pwd)/$ZPAR_WIREUP_PROBE ;; esac
PROBE=$ZPAR_WIREUP_PROBE

. "$T0300_LIB/sharness-lite.sh"
. "$T0300_LIB/env.sh"

[ $have_mpirun = 1 ] && test_set_prereq MPIRUN
features=$("$PROBE" --features 2>/dev/null)
case $features in *pmix=1*) test_set_prereq PMIX ;; esac
case $features in *mpi=1*) test_set_prereq MPI ;; esac
zt_diag "probe $PROBE: $features; mpirun=$have_mpirun slurm=$have_slurm"

# ------------------------------------------------------------ Slurm up/down

t0300_started_slurm=0
t0300_cleanup () {
    t0300_rc=$?
    if [ $t0300_started_slurm = 1 ]; then
        zt_timeout 60 "$T0300_LIB/slurm-down.sh" --quiet >&2 || true
    fi
    (exit $t0300_rc)
    zt_cleanup
}
trap t0300_cleanup EXIT

if [ $have_slurm = 1 ] || [ "${ZPAR_SLURM_INSTALL:-0}" = 1 ]; then
    if SLURM_CONF=$SLURM_CONF zt_timeout 10 scontrol ping 2>/dev/null | grep -q UP; then
        zt_diag "using the running Slurm test bed in $ZPAR_SLURM_DIR"
        test_set_prereq SLURM
    else
        inst=
        [ "${ZPAR_SLURM_INSTALL:-0}" = 1 ] && inst=--install
        # the daemons must not carry our marker: our cleanup would kill them
        t0300_started_slurm=1
        if zt_timeout 300 env -u ZPAR_TEST_MARK "$T0300_LIB/slurm-up.sh" --quiet $inst >&2; then
            test_set_prereq SLURM
            command -v mpirun >/dev/null 2>&1 && have_mpirun=1 && test_set_prereq MPIRUN
        else
            zt_diag "slurm-up.sh failed: Slurm tests skipped"
        fi
    fi
fi

# ------------------------------------------------------------ checks

# check_probe FILE N [SOURCE] [XCHG]: ranks 0..N-1 once each, size N, and every
# rank holds rank 0's blob (and, if given, the expected source / exchange)
check_probe () {
    grep '^rank=' "$1" >"$1.lines" || { echo "no probe output in $1"; cat "$1"; return 1; }
    sed 's/^rank=\([0-9]*\) .*/\1/' "$1.lines" | sort -n | tr '\n' ' ' >"$1.ranks"
    expect_eq "ranks" "$(seq 0 $(($2 - 1)) | tr '\n' ' ')" "$(cat "$1.ranks")" || return 1
    expect_eq "lines with size=$2" "$2" "$(grep -c " size=$2 " "$1.lines")" || return 1
    blob0=$(sed -n 's/^rank=0 .* blob=//p' "$1.lines")
    test -n "$blob0" || { echo "rank 0 has no blob"; return 1; }
    expect_eq "lines holding rank 0's blob '$blob0'" "$2" \
        "$(awk -v b="$blob0" 'substr($0, index($0, " blob=") + 6) == b' "$1.lines" | wc -l | tr -d ' ')" \
        || return 1
    if [ -n "$3" ]; then
        expect_eq "lines with source=$3" "$2" "$(grep -c " source=$3 " "$1.lines")" || return 1
    fi
    if [ -n "$4" ]; then
        expect_eq "lines with xchg=$4" "$2" "$(grep -c " xchg=$4 " "$1.lines")" || return 1
    fi
    return 0
}

CONN=$ZT_TMP/conn
mkdir -p "$CONN"
chmod 700 "$CONN"

# ------------------------------------------------------------ mpirun

test_expect_success MPIRUN,PMIX 'mpirun -n 4: PMIx discovery, direct-modex exchange' '
	zt_timeout 60 mpirun --oversubscribe -n 4 "$PROBE" >mpi4.out 2>mpi4.err; rc=$?
	cat mpi4.out mpi4.err; test $rc = 0 &&
	check_probe mpi4.out 4 pmix pmix &&
	expect_eq "local sizes 4" 4 "$(grep -c " local_size=4 " mpi4.out)"
'

test_expect_success MPIRUN,PMIX 'mpirun -n 4 --fence: exchange through a collecting fence' '
	zt_timeout 60 mpirun --oversubscribe -n 4 "$PROBE" --fence >fence.out 2>&1; rc=$?
	cat fence.out; test $rc = 0 && check_probe fence.out 4 pmix pmix-fence
'

test_expect_success MPIRUN 'mpirun -n 4 without PMIx: OMPI env + connection file' '
	zt_timeout 60 mpirun --oversubscribe -n 4 "$PROBE" --no-pmix --connection-dir "$CONN" \
		--job-key mpirun-file >file.out 2>&1; rc=$?
	cat file.out; test $rc = 0 && check_probe file.out 4 ompi-env file &&
	mode=$(stat -c %a "$CONN/zpar-wireup.mpirun-file") && expect_eq mode 600 "$mode"
'

test_expect_success MPIRUN,MPI 'mpirun -n 4 without PMIx, with MPI: MPI_Bcast' '
	zt_timeout 60 mpirun --oversubscribe -n 4 "$PROBE" --no-pmix --mpi >bcast.out 2>&1; rc=$?
	cat bcast.out; test $rc = 0 && check_probe bcast.out 4 mpi mpi
'

test_expect_success MPIRUN,PMIX 'mpirun: rank 0 never publishes: the others time out, bounded' '
	t0=$(zt_now_ms)
	zt_timeout 60 mpirun --oversubscribe -n 3 "$PROBE" --no-publish --timeout 1000 \
		>nopub.out 2>&1; rc=$?
	t1=$(zt_now_ms); cat nopub.out; echo "rc=$rc after $((t1 - t0)) ms"
	test $rc != 0 && test $rc != 124 && expect_grep "timed out after 1 s" nopub.out &&
	test $((t1 - t0)) -lt $(( $(zt_scale 30) * 1000 ))
'

# ------------------------------------------------------------ Slurm

test_expect_success SLURM 'srun --mpi=pmix -n 3: every rank gets rank 0'"'"'s blob' '
	zt_timeout 60 srun --mpi=pmix -n 3 "$PROBE" --connection-dir "$CONN" >srun.out 2>&1; rc=$?
	cat srun.out; test $rc = 0 || return 1
	if test_have_prereq PMIX; then check_probe srun.out 3 pmix pmix
	else check_probe srun.out 3 slurm-env file; fi &&
	jid=$(sed -n "s/^rank=0 .* jobid=\([^ ]*\) .*/\1/p" srun.out) &&
	test -n "$jid" && test "$jid" != "-"
'

test_expect_success SLURM 'srun --mpi=none -n 3: Slurm env + connection file (job.step key)' '
	zt_timeout 60 srun --mpi=none -n 3 "$PROBE" --no-pmix --connection-dir "$CONN" \
		>srunf.out 2>&1; rc=$?
	cat srunf.out; test $rc = 0 && check_probe srunf.out 3 slurm-env file &&
	jid=$(sed -n "s/^rank=0 .* jobid=\([^ ]*\) .*/\1/p" srunf.out) &&
	ls "$CONN" && test -f "$CONN/zpar-wireup.$jid.0"
'

test_expect_success SLURM 'sbatch --wait -n 3: batch step is one process, srun inside wires up 3' '
	cat >job.sh <<-EOF &&
	#!/bin/sh
	"$PROBE"
	srun --mpi=pmix "$PROBE" --connection-dir "$CONN"
	EOF
	jid=$(zt_timeout 10 sbatch --parsable -n 3 -o "$ZT_TMP/sbatch.out" job.sh) &&
	echo "job $jid" && test -n "$jid" || return 1
	zt_timeout 60 sh -c "while squeue -h -j $jid -o %T 2>/dev/null | grep -q .; do sleep 0.2; done"
	rc=$?; [ $rc = 0 ] || scancel "$jid"
	cat sbatch.out; test $rc = 0 || return 1
	grep -v " size=1 " sbatch.out >sbatch3.out
	expect_grep "^rank=0 size=1 local_rank=0 local_size=1 source=single .* jobid=$jid " sbatch.out &&
	if test_have_prereq PMIX; then check_probe sbatch3.out 3 pmix
	else check_probe sbatch3.out 3 slurm-env; fi
'

test_expect_success SLURM 'sbatch --wait returns when the job is done (bounded)' '
	zt_timeout 60 sbatch --wait -n 2 -o "$ZT_TMP/wait.out" --wrap "srun --mpi=pmix $PROBE --connection-dir $CONN" \
		>wait.sub 2>&1; rc=$?
	cat wait.sub wait.out; test $rc = 0 && check_probe wait.out 2
'

# ------------------------------------------------------------ PBS emulation

cat >pbs-job.sh <<EOF
#!/bin/bash
#PBS -l walltime=00:01:00
#PBS -N t0300
echo "cwd=\$(pwd)"
cd "\$PBS_O_WORKDIR" || exit 1
echo "jobid=\$PBS_JOBID np=\$PBS_NP nodes=\$PBS_NUM_NODES"
mpirun --hostfile "\$PBS_NODEFILE" -n "\$PBS_NP" "$PROBE" "\$@"
EOF

test_expect_success MPIRUN 'PBS emulation, 1 node x 4: job starts in $HOME, mpirun wires up 4' '
	PBS_EMU_DIR=$ZT_TMP/pbs zt_timeout 90 "$T0300_LIB/pbs-emulate.sh" -V -l nodes=1:ppn=4 \
		pbs-job.sh --connection-dir "$CONN" >pbs1.out 2>&1; rc=$?
	cat pbs1.out; test $rc = 0 &&
	expect_grep "^cwd=$HOME\$" pbs1.out &&
	jid=$(sed -n "s/^jobid=\([^ ]*\) np=4 nodes=1/\1/p" pbs1.out) && test -n "$jid" &&
	check_probe pbs1.out 4 &&
	expect_eq "lines with jobid=$jid" 4 "$(grep -c " jobid=$jid " pbs1.out)"
'

test_expect_success MPIRUN,PMIX 'PBS emulation, 2 virtual nodes x 2: PMIx local ranks per node' '
	PBS_EMU_DIR=$ZT_TMP/pbs zt_timeout 90 "$T0300_LIB/pbs-emulate.sh" -V -l nodes=2:ppn=2 \
		pbs-job.sh >pbs2.out 2>&1; rc=$?
	cat pbs2.out; test $rc = 0 && check_probe pbs2.out 4 pmix &&
	expect_eq "local_size=2 lines" 4 "$(grep -c " local_size=2 " pbs2.out)" &&
	expect_eq "local_rank=0 lines" 2 "$(grep -c " local_rank=0 " pbs2.out)"
'

test_expect_success MPIRUN 'PBS emulation, 2 x 2 without PMIx: env + file keyed by PBS_JOBID' '
	PBS_EMU_DIR=$ZT_TMP/pbs zt_timeout 90 "$T0300_LIB/pbs-emulate.sh" -V -l nodes=2:ppn=2 \
		pbs-job.sh --no-pmix --connection-dir "$CONN" >pbs3.out 2>&1; rc=$?
	cat pbs3.out; test $rc = 0 && check_probe pbs3.out 4 ompi-env file &&
	jid=$(sed -n "s/^jobid=\([^ ]*\) .*/\1/p" pbs3.out) &&
	test -f "$CONN/zpar-wireup.$jid"
'

test_expect_success 'PBS emulation: walltime kills the job (TERM, then KILL 2 s later)' '
	printf "#!/bin/bash\n#PBS -l walltime=1\ntrap \"\" TERM\nsleep 30\n" >wall.sh
	t0=$(zt_now_ms)
	PBS_EMU_DIR=$ZT_TMP/pbs zt_timeout 30 "$T0300_LIB/pbs-emulate.sh" wall.sh >wall.out 2>&1
	rc=$?; t1=$(zt_now_ms); cat wall.out; echo "rc=$rc after $((t1 - t0)) ms"
	test $rc = 143 && expect_grep "walltime 1 exceeded" wall.out &&
	test $((t1 - t0)) -ge 2900 && test $((t1 - t0)) -lt 15000
'

test_done
