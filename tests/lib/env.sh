# env.sh - source me (POSIX sh): the environment zpar's system tests use for
# Open MPI as root and for the project's Slurm test bed (tests/lib/slurm-up.sh).
#
#   . "$srcdir/tests/lib/env.sh"
#
# Sets (only what is not set yet, except SLURM_CONF which always points at
# our test bed):
#   ZPAR_SLURM_DIR          the test bed's state dir           [/tmp/zpar-slurm]
#   SLURM_CONF              $ZPAR_SLURM_DIR/etc/slurm.conf (no /etc/slurm here)
#   OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1   mpirun as root
#   OMPI_MCA_pml=ob1        skip UCX/OFI probing: ~0.4 s per mpirun instead of 0.6-3.8 s
#   OMPI_MCA_btl            self,vader,tcp; self,tcp when the ranks may sit on
#                           several virtual nodes of this host (vader segfaults
#                           there): ZPAR_VNODES > 1, or a test bed of N > 1 nodes
#   OMPI_MCA_rmaps_base_oversubscribe=1   more ranks than the 2 cores
#   OMPI_MCA_rtc_hwloc_vmhole=none   with virtual nodes (orteds collide otherwise)
# zt_env_vnodes N: call again when a test starts using N virtual nodes.

: "${ZPAR_SLURM_DIR:=/tmp/zpar-slurm}"
export ZPAR_SLURM_DIR
SLURM_CONF=$ZPAR_SLURM_DIR/etc/slurm.conf
export SLURM_CONF
: "${OMPI_ALLOW_RUN_AS_ROOT:=1}"
: "${OMPI_ALLOW_RUN_AS_ROOT_CONFIRM:=1}"
: "${OMPI_MCA_pml:=ob1}"
: "${OMPI_MCA_rmaps_base_oversubscribe:=1}"
export OMPI_ALLOW_RUN_AS_ROOT OMPI_ALLOW_RUN_AS_ROOT_CONFIRM OMPI_MCA_pml \
    OMPI_MCA_rmaps_base_oversubscribe

zt_env_vnodes () {
    if [ "${1:-1}" -gt 1 ]; then
        OMPI_MCA_btl=self,tcp
        # several orteds on one host: their shared hwloc topology segment
        # collides (segfault in hwloc_shmem_topology_write, ~1 run in 5)
        OMPI_MCA_rtc_hwloc_vmhole=none
        export OMPI_MCA_rtc_hwloc_vmhole
    else
        OMPI_MCA_btl=self,vader,tcp
    fi
    export OMPI_MCA_btl
}
zt_env_vnodes "${ZPAR_VNODES:-$(cat "$ZPAR_SLURM_DIR/state/nodes" 2>/dev/null || echo 1)}"
