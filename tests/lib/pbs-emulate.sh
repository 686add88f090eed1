#!/usr/bin/env bash
# pbs-emulate.sh - run a job script the way a Torque/OpenPBS mom would, on
# this host (Debian has no PBS server/mom: see the local HPC recipe §6).
#
#   pbs-emulate.sh [qsub options] SCRIPT [ARGS...]
#
# qsub options (also read from the script's leading "#PBS" lines; the
# command line wins):
#   -l nodes=N:ppn=P        Torque chunk (also -l select=N:ncpus=P[:mpiprocs=P])
#   -l walltime=[[H:]M:]S   enforced: SIGTERM at the limit, SIGKILL 2 s later
#                           (Torque's default kill_delay); Torque's exit_status
#                           271 (256+SIGTERM) is written to aux/<jobid>.exit and
#                           this command exits 143 (a shell's view of it)
#   -N NAME  -q QUEUE       job name (default: script basename), queue [batch]
#   -V                      pass the whole submitting environment (qsub -V)
#   -v VAR[=VAL],...        pass these variables
#   -o FILE  -e FILE  -j oe output files (default: this command's stdout/stderr)
#
# What the job sees: a fresh environment (HOME, USER, LOGNAME, SHELL, PATH,
# LANG, TZ; plus -V / -v), PBS_ENVIRONMENT=PBS_BATCH, PBS_JOBID=<seq>.<host>,
# PBS_JOBNAME, PBS_QUEUE, PBS_O_QUEUE, PBS_SERVER, PBS_O_HOST, PBS_O_WORKDIR
# (the submit dir), PBS_O_HOME/PATH/SHELL/LOGNAME/LANG/SYSTEM, PBS_NODEFILE
# ($PBS_EMU_DIR/aux/<jobid>: one line per slot, grouped by node: n1..nN, or
# this host's short name when N=1), PBS_NODENUM=0, PBS_TASKNUM=1,
# PBS_VNODENUM=0, PBS_MOMPORT, PBS_JOBCOOKIE, PBS_JOBDIR=$HOME, PBS_NUM_NODES,
# PBS_NUM_PPN, PBS_NP, PBS_WALLTIME (s), NCPUS, OMP_NUM_THREADS, TMPDIR (a
# per-job dir, removed afterwards).  The script is copied to the spool first
# (editing it afterwards changes nothing) and starts in $HOME, so it must
# `cd "$PBS_O_WORKDIR"` like a real job.
#
# Stand-in for TM: Debian's Open MPI has no tm support, so mpirun inside the
# job needs `--hostfile $PBS_NODEFILE`; with N>1 nodes the fake names do not
# resolve, so OMPI_MCA_plm_rsh_agent is set to a fake rsh agent (runs the
# orted here, FAKE_NODE=<name>), OMPI_MCA_btl=self,tcp (vader breaks across
# virtual nodes) and OMPI_MCA_rtc_hwloc_vmhole=none (two orteds on one host
# segfault in hwloc_shmem_topology_write about 1 run in 5 otherwise) -- the
# only non-PBS variables the job gets.
#
#   PBS_EMU_DIR   state (seq, aux/, spool/, tmp/)        [/tmp/zpar-pbs-emu]
#   PBS_EMU_NODES node names for PBS_NODEFILE instead of n1..nN (one per
#                 node, space-separated: real hosts, e.g. a netns-bed.sh bed)
#   PBS_EMU_RSH   the rsh agent the job's mpirun uses to reach them (instead
#                 of the fake one; OMPI_MCA_btl/vmhole are then left alone)
# Exit status: the job's (also written to $PBS_EMU_DIR/aux/<jobid>.exit),
# 143 after a walltime kill, 2 on a usage error.  The job id goes to stderr
# as "pbs-emulate: job <jobid>" (qsub prints it).
set -euo pipefail

die() { echo "pbs-emulate: $*" >&2; exit 2; }
usage() { sed -n '2,40p' "$0" >&2; exit 2; }

ROOT=${PBS_EMU_DIR:-/tmp/zpar-pbs-emu}
nodes= ppn= walltime= name= queue= passall=0 passvars= out= errf= join=

to_seconds() { # [[H:]M:]S -> seconds
    local IFS=: a b c
    read -r a b c <<<"$1"
    if [ -n "${c:-}" ]; then echo $((10#$a * 3600 + 10#$b * 60 + 10#$c))
    elif [ -n "${b:-}" ]; then echo $((10#$a * 60 + 10#$b))
    else echo $((10#$a)); fi
}

# apply one -l resource list (comma-separated); $1 = list, $2 = 1 to override
apply_l() {
    local item k v set=$2
    local IFS=,
    for item in $1; do
        k=${item%%=*} v=${item#*=}
        case "$k" in
        nodes | select)
            local n=${v%%:*} rest p=
            rest=${v#"$n"}
            case "$n" in '' | *[!0-9]*) die "bad -l $k=$v (want N[:ppn=P])" ;; esac
            case "$rest" in *ppn=*) p=${rest#*ppn=} ;; *mpiprocs=*) p=${rest#*mpiprocs=} ;;
                *ncpus=*) p=${rest#*ncpus=} ;; esac
            p=${p%%:*}
            if [ "$set" = 1 ] || [ -z "$nodes" ]; then nodes=$n; fi
            if [ -n "$p" ] && { [ "$set" = 1 ] || [ -z "$ppn" ]; }; then ppn=$p; fi ;;
        walltime)
            case "$v" in '' | *[!0-9:]*) die "bad walltime '$v' (want [[H:]M:]S)" ;; esac
            if [ "$set" = 1 ] || [ -z "$walltime" ]; then walltime=$(to_seconds "$v"); fi ;;
        *) ;; # mem, ncpus, ... accepted and ignored
        esac
    done
}

# parse qsub options from "$@"; $1 = override flag; sets ARGS_LEFT
parse_opts() {
    local set=$1
    shift
    OPTIND=1
    while getopts ":l:N:q:Vv:o:e:j:" o "$@"; do
        case "$o" in
        l) apply_l "$OPTARG" "$set" ;;
        N) if [ "$set" = 1 ] || [ -z "$name" ]; then name=$OPTARG; fi ;;
        q) if [ "$set" = 1 ] || [ -z "$queue" ]; then queue=$OPTARG; fi ;;
        V) passall=1 ;;
        v) passvars="$passvars,$OPTARG" ;;
        o) if [ "$set" = 1 ] || [ -z "$out" ]; then out=$OPTARG; fi ;;
        e) if [ "$set" = 1 ] || [ -z "$errf" ]; then errf=$OPTARG; fi ;;
        j) join=$OPTARG ;;
        :) die "option -$OPTARG needs a value" ;;
        *) die "unknown option -$OPTARG" ;;
        esac
    done
    ARGS_LEFT=$((OPTIND - 1))
}

parse_opts 1 "$@"
shift "$ARGS_LEFT"
[ $# -ge 1 ] || usage
script=$1
shift
[ -f "$script" ] || die "no such job script: $script"
# the script's #PBS directives (before the first command), command line wins
while IFS= read -r line; do
    case "$line" in
    '#!'* | '') continue ;;
    '#PBS '*)
        # shellcheck disable=SC2086
        eval "parse_opts 0 ${line#'#PBS '}" ;;
    '#'*) continue ;;
    *) break ;;
    esac
done <"$script"
nodes=${nodes:-1} ppn=${ppn:-1} queue=${queue:-batch}
name=${name:-$(basename "$script")}
case "$nodes$ppn" in *[!0-9]*) die "bad nodes/ppn" ;; esac
[ "$nodes" -ge 1 ] && [ "$ppn" -ge 1 ] || die "nodes and ppn must be >= 1"

host=$(hostname -s)
mkdir -p "$ROOT/aux" "$ROOT/spool" "$ROOT/tmp" "$ROOT/bin"
exec 9>"$ROOT/seq.lock"
flock 9
seq=$(($(cat "$ROOT/seq" 2>/dev/null || echo 0) + 1))
echo "$seq" >"$ROOT/seq"
flock -u 9
exec 9>&-
jobid=$seq.$host
nodefile=$ROOT/aux/$jobid
: >"$nodefile"
read -r -a emu_nodes <<<"${PBS_EMU_NODES:-}"
[ -z "${PBS_EMU_NODES:-}" ] || [ "${#emu_nodes[@]}" -ge "$nodes" ] ||
    die "PBS_EMU_NODES names ${#emu_nodes[@]} nodes, the job wants $nodes"
for i in $(seq 1 "$nodes"); do
    n=n$i
    [ "$nodes" = 1 ] && n=$host
    [ -z "${PBS_EMU_NODES:-}" ] || n=${emu_nodes[$((i - 1))]}
    for _ in $(seq 1 "$ppn"); do echo "$n" >>"$nodefile"; done
done
spooled=$ROOT/spool/$jobid.SC
cp "$script" "$spooled"
tmpdir=$ROOT/tmp/pbs.$jobid
mkdir -p "$tmpdir"
workdir=$PWD

envv=(HOME="$HOME" USER="${USER:-$(id -un)}" LOGNAME="${LOGNAME:-$(id -un)}"
    SHELL="${SHELL:-/bin/bash}" PATH="$PATH" LANG="${LANG:-C}")
[ -n "${TZ:-}" ] && envv+=(TZ="$TZ")
if [ "$passall" = 1 ]; then
    while IFS= read -r -d '' kv; do
        case "$kv" in PBS_* | BASH_FUNC_*) continue ;; esac
        envv+=("$kv")
    done < <(env -0)
fi
IFS=, read -r -a vs <<<"${passvars#,}"
for v in "${vs[@]}"; do
    [ -n "$v" ] || continue
    case "$v" in *=*) envv+=("$v") ;; *) [ -n "${!v+x}" ] && envv+=("$v=${!v}") ;; esac
done
if [ -n "${PBS_EMU_RSH:-}" ]; then
    envv+=(OMPI_MCA_plm_rsh_agent="$PBS_EMU_RSH")
elif [ "$nodes" -gt 1 ]; then
    rsh=$ROOT/bin/fake-rsh
    cat >"$rsh" <<'EOF'
#!/bin/sh
# fake rsh agent for Open MPI: drop the ssh options and the host, run here
while [ $# -gt 0 ]; do case "$1" in -*) shift ;; *) break ;; esac; done
FAKE_NODE=$1
export FAKE_NODE
shift
# one session directory per virtual node: Open MPI's orteds of two
# "nodes" on one host race to create the same one ("File exists")
TMPDIR=${TMPDIR:-/tmp}/$FAKE_NODE
mkdir -p "$TMPDIR"
export TMPDIR
exec /bin/sh -c "$*"
EOF
    chmod 755 "$rsh"
    envv+=(OMPI_MCA_plm_rsh_agent="$rsh" OMPI_MCA_btl=self,tcp OMPI_MCA_rtc_hwloc_vmhole=none)
fi
envv+=(PBS_ENVIRONMENT=PBS_BATCH PBS_JOBID="$jobid" PBS_JOBNAME="$name"
    PBS_QUEUE="$queue" PBS_O_QUEUE="$queue" PBS_SERVER="$host" PBS_O_HOST="$host"
    PBS_O_WORKDIR="$workdir" PBS_O_HOME="$HOME" PBS_O_PATH="$PATH"
    PBS_O_SHELL="${SHELL:-/bin/bash}" PBS_O_LOGNAME="${LOGNAME:-$(id -un)}"
    PBS_O_LANG="${LANG:-C}" PBS_O_SYSTEM="$(uname -s)" PBS_NODEFILE="$nodefile"
    PBS_NODENUM=0 PBS_TASKNUM=1 PBS_VNODENUM=0 PBS_MOMPORT=15003
    PBS_JOBCOOKIE="$(printf '%016X' "$seq")" PBS_JOBDIR="$HOME"
    PBS_NUM_NODES="$nodes" PBS_NUM_PPN="$ppn" PBS_NP=$((nodes * ppn))
    NCPUS="$ppn" OMP_NUM_THREADS="$ppn" TMPDIR="$tmpdir")
[ -n "$walltime" ] && envv+=(PBS_WALLTIME="$walltime")

if [ -n "$out" ]; then exec 3>"$out"; else exec 3>&1; fi
if [ "$join" = oe ]; then exec 4>&3; elif [ -n "$errf" ]; then exec 4>"$errf"; else exec 4>&2; fi

echo "pbs-emulate: job $jobid" >&2
cd "$HOME" # a PBS job starts in $HOME
set +e
if [ -n "$walltime" ]; then
    timeout -k 2 "$walltime" env -i "${envv[@]}" bash "$spooled" "$@" >&3 2>&4
    rc=$?
    if [ $rc = 124 ] || [ $rc = 137 ]; then
        echo "=>> PBS: job killed: walltime $walltime exceeded limit $walltime" >&4
        echo 271 >"$ROOT/aux/$jobid.exit"
        rc=143
    else
        echo "$rc" >"$ROOT/aux/$jobid.exit"
    fi
else
    env -i "${envv[@]}" bash "$spooled" "$@" >&3 2>&4
    rc=$?
    echo "$rc" >"$ROOT/aux/$jobid.exit"
fi
rm -rf "$tmpdir" "$spooled"
exit $rc
