# slurm-test.sh - for system tests that need the project's Slurm test bed
# (source after sharness-lite.sh).  Sets the SLURM prerequisite when a
# Slurm answers and every node of it is usable, starting
# tests/lib/slurm-up.sh if none is up (and then stopping it again at
# exit), and scancels the jobs listed in $ZT_TMP/jobs at exit.
#
# A node that is down, drained, failed or not responding (a `*` after its
# state in sinfo) would have every Slurm test wait out its timeouts.  When
# the test bed is slurm-up.sh's, slurm-up.sh is run again first (it starts
# the bed afresh when one of its daemons died); the nodes still not usable
# are resumed once (scontrol update state=resume).  A node still
# not usable after ZT_SLURM_NODE_WAIT seconds (20, scaled) skips the
# Slurm tests with the node and its state in a diagnostic.  Usage:
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

# the nodes of the test bed that cannot take a job now, one "NAME STATE"
# a line (sinfo's short state: a usable node is idle, mix, alloc, comp or
# plnd, with no flag after it); a line "(sinfo) ..." when sinfo does not
# answer or lists no node
zt_slurm_bad_nodes () {
    zt_sbn=$(zt_timeout 10 sinfo -h -N -o '%N %t' 2>&1) || {
        echo "(sinfo) $(printf '%s' "$zt_sbn" | tr '\n' ' ')"
        return 0
    }
    [ -n "$zt_sbn" ] || {
        echo "(sinfo) no node"
        return 0
    }
    echo "$zt_sbn" | sort -u | awk '$2 !~ /^(idle|mix|alloc|comp|plnd)$/'
}

# 0 when every node of the test bed is usable, after one attempt to bring
# back those that are not (see the top); else 1, with a diagnostic
zt_slurm_nodes_ready () {
    zt_snr_bad=$(zt_slurm_bad_nodes)
    [ -z "$zt_snr_bad" ] && return 0
    zt_diag "Slurm node(s) not usable: $(echo "$zt_snr_bad" | paste -sd, -)"
    if [ -f "$ZPAR_SLURM_DIR/state/pids" ]; then
        # slurm-up.sh's test bed: it starts the bed afresh when one of its
        # daemons died (a slurmd that no longer answers), and only says so
        # when all of them run (as many nodes, on the same port)
        zt_snr_nodes=$(cat "$ZPAR_SLURM_DIR/state/nodes" 2>/dev/null || echo 1)
        zt_snr_port=$(sed -n 's/^SlurmctldPort=//p' "$SLURM_CONF" 2>/dev/null)
        zt_snr_out=$(zt_timeout 120 env -u ZPAR_TEST_MARK ZPAR_SLURM_NODES="$zt_snr_nodes" \
            ZPAR_SLURM_PORT="${zt_snr_port:-6917}" "$ZT_SLURM_LIB/slurm-up.sh" 2>&1)
        zt_diag "slurm-up.sh: $zt_snr_out"
        zt_snr_bad=$(zt_slurm_bad_nodes)
    fi
    for zt_snr_n in $(echo "$zt_snr_bad" | awk '$1 != "(sinfo)" { print $1 }'); do
        zt_diag "scontrol update nodename=$zt_snr_n state=resume"
        zt_timeout 10 scontrol update nodename="$zt_snr_n" state=resume >/dev/null 2>&1
    done
    zt_snr_wait=$(zt_scale "${ZT_SLURM_NODE_WAIT:-20}" | awk '{ printf "%d", $1 + 0.999 }')
    zt_snr_end=$(($(date +%s) + zt_snr_wait))
    while :; do
        zt_snr_bad=$(zt_slurm_bad_nodes)
        [ -z "$zt_snr_bad" ] && {
            zt_diag "Slurm node(s) usable again"
            return 0
        }
        [ "$(date +%s)" -lt "$zt_snr_end" ] || break
        sleep 0.5
    done
    zt_diag "Slurm node(s) still not usable after ${zt_snr_wait}s: $(echo "$zt_snr_bad" | paste -sd, -): Slurm tests skipped"
    return 1
}

zt_have_slurm=1
for b in srun sbatch salloc scancel squeue slurmctld slurmd munged; do
    command -v $b >/dev/null 2>&1 || zt_have_slurm=0
done
[ "$(id -u)" = 0 ] || zt_have_slurm=0 # the test bed runs its daemons as root
if [ $zt_have_slurm = 1 ]; then
    if zt_timeout 10 scontrol ping 2>/dev/null | grep -q UP; then
        zt_slurm_nodes_ready && test_set_prereq SLURM
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
