# slurm-test.sh - for system tests that need the project's Slurm test bed
# (source after sharness-lite.sh).  Sets the SLURM prerequisite when a
# Slurm answers, starting tests/lib/slurm-up.sh if none is up (and then
# stopping it again at exit), and scancels the jobs listed in
# $ZT_TMP/jobs at exit.  Usage:
#   . "$LIBDIR/slurm-test.sh"      then      echo $J >>"$ZT_TMP/jobs"
ZT_SLURM_LIB=$(cd "$(dirname "$0")/../lib" && pwd)
PATH=$PATH:/usr/sbin:/sbin
export PATH
. "$ZT_SLURM_LIB/env.sh"

zt_slurm_started=0
zt_slurm_cleanup () {
    zt_slurm_rc=$?
    for j in $(cat "$ZT_TMP"/jobs 2>/dev/null); do scancel "$j" 2>/dev/null; done
    if [ $zt_slurm_started = 1 ]; then
        zt_timeout 60 "$ZT_SLURM_LIB/slurm-down.sh" --quiet >&2 || true
    fi
    (exit $zt_slurm_rc)
    zt_cleanup
}
trap zt_slurm_cleanup EXIT

zt_have_slurm=1
for b in srun sbatch salloc scancel squeue slurmctld slurmd munged; do
    command -v $b >/dev/null 2>&1 || zt_have_slurm=0
done
[ "$(id -u)" = 0 ] || zt_have_slurm=0 # the test bed runs its daemons as root
if [ $zt_have_slurm = 1 ]; then
    if zt_timeout 10 scontrol ping 2>/dev/null | grep -q UP; then
        test_set_prereq SLURM
    else
        zt_slurm_started=1
        # the daemons must not carry our marker: our cleanup would kill them
        if zt_timeout 300 env -u ZPAR_TEST_MARK "$ZT_SLURM_LIB/slurm-up.sh" --quiet >&2; then
            test_set_prereq SLURM
        else
            zt_diag "slurm-up.sh failed: Slurm tests skipped"
        fi
    fi
else
    zt_diag "Slurm (srun, sbatch, slurmctld, slurmd, munged) is not installed: Slurm tests skipped"
fi
