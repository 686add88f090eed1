#!/usr/bin/env bash
# slurm-up.sh - start zpar's throw-away Slurm test bed (munged + slurmctld +
# one slurmd per virtual node) on this machine, as root, every file under one
# state directory.  Adapted from the project's local HPC recipe.
#
# Idempotent: if the daemons recorded in the state dir are alive and the
# controller answers, it only says so (exit 0).  If some died, it stops the
# rest (by recorded PID) and starts afresh.  Nothing is written outside
# $ZPAR_SLURM_DIR (apt-get aside, with --install).
#
#   ZPAR_SLURM_DIR      state dir                                  [/tmp/zpar-slurm]
#   ZPAR_SLURM_NODES    1 = one node named after `hostname -s`; N>1 = virtual
#                       nodes n1..nN (one `slurmd -N nK` each, same host)    [1]
#   ZPAR_SLURM_PORT     slurmctld port; slurmds use the next N ports       [6917]
#                       (the recipe's default is 6817: both can run at once)
#   ZPAR_SLURM_SOCKETS / _CORES / _THREADS   declared topology        [2/8/1]
#   ZPAR_SLURM_MEM_MB   declared RealMemory per node                    [4000]
#   ZPAR_SLURM_TIMEOUT  seconds to wait for idle nodes (x ZPAR_TEST_TIMEOUT_SCALE) [30]
# Flags:
#   --install   apt-get install the missing Debian packages
#   --fresh     stop a running instance of this state dir first
#   --quiet     print only errors
# Afterwards:  . $ZPAR_SLURM_DIR/env.sh   (or . tests/lib/env.sh)
# Stop with:   tests/lib/slurm-down.sh [--purge]
set -euo pipefail

DIR=${ZPAR_SLURM_DIR:-/tmp/zpar-slurm}
NODES=${ZPAR_SLURM_NODES:-1}
PORT=${ZPAR_SLURM_PORT:-6917}
SOCKETS=${ZPAR_SLURM_SOCKETS:-2}
CORES=${ZPAR_SLURM_CORES:-8}
THREADS=${ZPAR_SLURM_THREADS:-1}
MEM=${ZPAR_SLURM_MEM_MB:-4000}
TIMEOUT=${ZPAR_SLURM_TIMEOUT:-30}
SCALE=${ZPAR_TEST_TIMEOUT_SCALE:-1}
INSTALL=0 FRESH=0 QUIET=0
for a in "$@"; do
    case "$a" in
    --install) INSTALL=1 ;;
    --fresh) FRESH=1 ;;
    --quiet) QUIET=1 ;;
    -h | --help) sed -n '2,27p' "$0"; exit 0 ;;
    *) echo "slurm-up.sh: unknown argument: $a" >&2; exit 2 ;;
    esac
done
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CONF=$DIR/etc/slurm.conf
HOST=$(hostname -s)
PKGS="slurm-wlm munge openmpi-bin libopenmpi-dev libpmix-dev"

log() { [ "$QUIET" = 1 ] || printf '[zpar-slurm] %s\n' "$*"; }
die() { printf '[zpar-slurm] ERROR: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root (SlurmUser=root, munged as root)"
case "$NODES" in '' | *[!0-9]* | 0) die "ZPAR_SLURM_NODES must be a positive integer" ;; esac
case "$PORT" in '' | *[!0-9]*) die "ZPAR_SLURM_PORT must be a port number" ;; esac
TIMEOUT=$(awk -v t="$TIMEOUT" -v s="$SCALE" 'BEGIN { v = t * s; if (v < 1) v = t; printf "%d\n", v + 0.999 }')

# ---------------------------------------------------------------- packages
export PATH=$PATH:/usr/sbin:/sbin
missing=
for b in munged mungekey munge unmunge slurmctld slurmd srun sbatch sinfo scontrol squeue scancel; do
    command -v "$b" >/dev/null 2>&1 || missing="$missing $b"
done
if [ -n "$missing" ]; then
    if [ $INSTALL = 1 ]; then
        log "missing:$missing; installing: $PKGS"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $PKGS >/dev/null
    else
        die "missing:$missing. Run: apt-get install -y --no-install-recommends $PKGS (or pass --install)"
    fi
fi

# ---------------------------------------------------------------- helpers
# ours PID NAME: alive, not a zombie, argv[0] ends in NAME and its environment
# carries our SLURM_CONF (every daemon is started with it exported).
ours() {
    local p=$1 name=$2
    case "$p" in '' | *[!0-9]*) return 1 ;; esac
    [ -d "/proc/$p" ] || return 1
    [ "$(awk '{print $3}' "/proc/$p/stat" 2>/dev/null)" != Z ] || return 1
    tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | awk '{print $1}' | grep -q "$name\$" || return 1
    { tr '\0' '\n' <"/proc/$p/environ"; } 2>/dev/null | grep -qxF "SLURM_CONF=$CONF"
}
pidfile_ours() { [ -s "$1" ] && ours "$(cat "$1" 2>/dev/null)" "$2"; }
node_names() { if [ "$NODES" = 1 ]; then echo "$HOST"; else seq -f 'n%g' 1 "$NODES"; fi; }
all_alive() {
    [ -f "$DIR/state/pids" ] || return 1
    [ "$(cat "$DIR/state/nodes" 2>/dev/null)" = "$NODES" ] || return 1
    pidfile_ours "$DIR/run/munged.pid" munged || return 1
    pidfile_ours "$DIR/run/slurmctld.pid" slurmctld || return 1
    local n
    for n in $(node_names); do pidfile_ours "$DIR/run/slurmd-$n.pid" slurmd || return 1; done
}
ports_in_use() {
    local p
    for p in $(seq "$PORT" $((PORT + NODES))); do
        if ss -Hltn "sport = :$p" 2>/dev/null | grep -q .; then echo "$p"; fi
    done
}

export SLURM_CONF=$CONF

# ---------------------------------------------------------------- already up?
if [ $FRESH = 0 ] && all_alive && scontrol ping 2>/dev/null | grep -q UP; then
    log "already running (pids: $(awk '{printf "%s %s  ", $1, $2}' "$DIR/state/pids"))"
    exit 0
fi
if [ -f "$DIR/state/pids" ]; then
    log "stopping the previous (partial, resized or --fresh) instance in $DIR by PID"
    ZPAR_SLURM_DIR=$DIR "$HERE/slurm-down.sh" --quiet || true
fi
busy=$(ports_in_use)
[ -z "$busy" ] || die "ports in use: $busy (set ZPAR_SLURM_PORT to another base)"

T0=$(date +%s.%N)
# ---------------------------------------------------------------- layout
rm -rf "$DIR/spool" "$DIR/tmp" "$DIR/run" "$DIR/state"
mkdir -p "$DIR"/{etc,log,run,state,munge,spool/ctld,tmp}
# munged refuses a socket dir (and parents) not executable by all
chmod 755 "$DIR" "$DIR/munge" "$DIR/run"
for n in $(node_names); do mkdir -p "$DIR/spool/slurmd-$n" "$DIR/tmp/$n"; done
: >"$DIR/state/pids"
echo "$NODES" >"$DIR/state/nodes"

# ---------------------------------------------------------------- munge
if [ ! -s "$DIR/munge/munge.key" ]; then
    mungekey --create --keyfile="$DIR/munge/munge.key" 2>/dev/null \
        || dd if=/dev/urandom of="$DIR/munge/munge.key" bs=1024 count=1 status=none
fi
chmod 400 "$DIR/munge/munge.key"
rm -f "$DIR/munge/munge.socket" "$DIR/munge/munge.socket.lock" "$DIR/run/munged.pid"
munged --key-file="$DIR/munge/munge.key" --socket="$DIR/munge/munge.socket" \
    --pid-file="$DIR/run/munged.pid" --log-file="$DIR/log/munged.log" \
    --seed-file="$DIR/munge/munged.seed"
echo "munged $(cat "$DIR/run/munged.pid")" >>"$DIR/state/pids"
munge -S "$DIR/munge/munge.socket" -n | unmunge -S "$DIR/munge/munge.socket" >/dev/null \
    || die "munge self-test failed; see $DIR/log/munged.log"

# ---------------------------------------------------------------- slurm.conf
CPUS=$((SOCKETS * CORES * THREADS))
TOPO="CPUs=$CPUS Sockets=$SOCKETS CoresPerSocket=$CORES ThreadsPerCore=$THREADS RealMemory=$MEM"
if [ "$NODES" = 1 ]; then
    NODELINE="NodeName=$HOST NodeAddr=127.0.0.1 Port=$((PORT + 1)) $TOPO State=UNKNOWN"
    NODELIST=$HOST
else
    NODELINE="NodeName=n[1-$NODES] NodeHostname=$HOST NodeAddr=127.0.0.1 Port=[$((PORT + 1))-$((PORT + NODES))] $TOPO State=UNKNOWN"
    NODELIST="n[1-$NODES]"
fi
cat >"$CONF" <<EOF
# generated by zpar tests/lib/slurm-up.sh on $(date -Is)
ClusterName=zpartest
SlurmctldHost=$HOST(127.0.0.1)
SlurmctldPort=$PORT
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$DIR/munge/munge.socket
StateSaveLocation=$DIR/spool/ctld
SlurmdSpoolDir=$DIR/spool/slurmd-%n
# the PMIx plugin puts spmix_appdir_* under TmpFS: one per virtual node
TmpFS=$DIR/tmp/%n
SlurmctldPidFile=$DIR/run/slurmctld.pid
SlurmdPidFile=$DIR/run/slurmd-%n.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd-%n.log
SlurmctldDebug=info
SlurmdDebug=info
# declared CPUs exceed the real ones: keep the declared values
SlurmdParameters=config_overrides
ProctrackType=proctrack/linuxproc
# task/affinity fails with over-declared CPUs
TaskPlugin=task/none
# Debian's Open MPI is direct-launched only through PMIx
MpiDefault=pmix
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0,sched_min_interval=0
ReturnToService=2
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
KillWait=5
MinJobAge=60
InactiveLimit=0
Waittime=0
$NODELINE
PartitionName=debug Nodes=$NODELIST Default=YES MaxTime=INFINITE State=UP
EOF
if [ "$NODES" = 1 ]; then BTL=self,vader,tcp; else BTL=self,tcp; fi
cat >"$DIR/env.sh" <<EOF
# source me: the zpar Slurm test bed in $DIR + Open MPI as root
export SLURM_CONF=$CONF
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_pml=ob1 OMPI_MCA_btl=$BTL OMPI_MCA_rmaps_base_oversubscribe=1
EOF

# ---------------------------------------------------------------- daemons
wait_pidfile() { # FILE NAME
    local i
    for i in $(seq 1 50); do pidfile_ours "$1" "$2" && return 0; sleep 0.1; done
    return 1
}
slurmctld
wait_pidfile "$DIR/run/slurmctld.pid" slurmctld || die "slurmctld did not start; see $DIR/log/slurmctld.log"
echo "slurmctld $(cat "$DIR/run/slurmctld.pid")" >>"$DIR/state/pids"
for n in $(node_names); do
    if [ "$NODES" = 1 ]; then slurmd; else slurmd -N "$n"; fi
    wait_pidfile "$DIR/run/slurmd-$n.pid" slurmd || die "slurmd $n did not start; see $DIR/log/slurmd-$n.log"
    echo "slurmd-$n $(cat "$DIR/run/slurmd-$n.pid")" >>"$DIR/state/pids"
done

deadline=$(($(date +%s) + TIMEOUT))
while :; do
    states=$(sinfo -h -N -o '%T' 2>/dev/null | sort -u | tr '\n' ' ')
    [ "$states" = "idle " ] && break
    [ "$(date +%s)" -lt "$deadline" ] || die "nodes not idle after ${TIMEOUT}s (states: $states); see $DIR/log/"
    sleep 0.1
done
log "started $NODES node(s) on port $PORT in $(awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')s: . $DIR/env.sh"
exit 0
