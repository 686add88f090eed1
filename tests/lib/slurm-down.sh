#!/usr/bin/env bash
# slurm-down.sh - stop the Slurm test bed started by tests/lib/slurm-up.sh.
#
# Cancels the jobs through Slurm first, then stops exactly the PIDs recorded
# in $ZPAR_SLURM_DIR/state/pids (each checked to still run the recorded
# program with our SLURM_CONF in its environment: a recycled PID is never
# killed), and any slurmstepd (plus its tasks) carrying our SLURM_CONF,
# which our slurmd forked.  Never pkill/killall.  Safe to run twice.
#   ZPAR_SLURM_DIR   state dir   [/tmp/zpar-slurm]
#   --purge          also delete the state dir
#   --quiet          print only warnings
set -uo pipefail
DIR=${ZPAR_SLURM_DIR:-/tmp/zpar-slurm}
PURGE=0 QUIET=0
for a in "$@"; do
    case "$a" in
    --purge) PURGE=1 ;;
    --quiet) QUIET=1 ;;
    -h | --help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "slurm-down.sh: unknown argument: $a" >&2; exit 2 ;;
    esac
done
export PATH=$PATH:/usr/sbin:/sbin
CONF=$DIR/etc/slurm.conf
PIDS=$DIR/state/pids
log() { [ "$QUIET" = 1 ] || printf '[zpar-slurm] %s\n' "$*"; }

ours() {
    local p=$1 name=$2
    case "$p" in '' | *[!0-9]*) return 1 ;; esac
    [ -d "/proc/$p" ] || return 1
    [ "$(awk '{print $3}' "/proc/$p/stat" 2>/dev/null)" != Z ] || return 1
    tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | awk '{print $1}' | grep -q "$name\$" || return 1
    { tr '\0' '\n' <"/proc/$p/environ"; } 2>/dev/null | grep -qxF "SLURM_CONF=$CONF"
}

# stop PID NAME: TERM, up to 10 s, then KILL
stop() {
    local p=$1 name=$2 i
    ours "$p" "$name" || return 0
    kill -TERM "$p" 2>/dev/null
    for i in $(seq 1 100); do
        ours "$p" "$name" || { log "stopped $name (pid $p)"; return 0; }
        sleep 0.1
    done
    printf '[zpar-slurm] %s (pid %s) ignored SIGTERM for 10 s: SIGKILL\n' "$name" "$p" >&2
    kill -KILL "$p" 2>/dev/null
    for i in $(seq 1 20); do ours "$p" "$name" || return 0; sleep 0.1; done
    printf '[zpar-slurm] WARNING: %s (pid %s) still alive\n' "$name" "$p" >&2
}

# all processes below PID
descendants() {
    ps -eo pid=,ppid= | awk -v root="$1" -v me=$$ '
        { parent[$1] = $2 }
        END { for (p in parent) { q = p; while (q in parent && q != root && q > 1) q = parent[q];
                                  if (q == root && p != root && p != me) printf "%s ", p } }'
}

if [ ! -f "$PIDS" ]; then
    log "nothing recorded in $PIDS: nothing to stop"
    if [ $PURGE = 1 ] && [ -d "$DIR" ]; then rm -rf "$DIR"; log "purged $DIR"; fi
    exit 0
fi
pid_of() { awk -v k="$1" '$1 == k { print $2 }' "$PIDS"; }
CTLD=$(pid_of slurmctld)

# 1. cancel the jobs while the controller answers
if [ -f "$CONF" ] && ours "$CTLD" slurmctld; then
    export SLURM_CONF=$CONF
    jobs=$(timeout 10 squeue -h -o %i 2>/dev/null | tr '\n' ' ')
    if [ -n "${jobs// /}" ]; then
        log "cancelling jobs: $jobs"
        # shellcheck disable=SC2086
        timeout 10 scancel $jobs 2>/dev/null
        for _ in $(seq 1 150); do # KillWait=5 s
            [ -z "$(timeout 5 squeue -h -o %i 2>/dev/null)" ] && break
            sleep 0.1
        done
    fi
fi

# 2. slurmd(s)
while read -r key pid; do
    case "$key" in slurmd-*) stop "$pid" slurmd ;; esac
done <"$PIDS"

# 3. slurmstepd left behind by our slurmd, and their tasks
for d in /proc/[0-9]*; do
    p=${d#/proc/}
    [ "$({ cat "$d/comm"; } 2>/dev/null)" = slurmstepd ] || continue
    if { tr '\0' '\n' <"$d/environ"; } 2>/dev/null | grep -qxF "SLURM_CONF=$CONF"; then
        kids=$(descendants "$p")
        log "leftover slurmstepd pid $p (tasks: ${kids:-none}): killing"
        # shellcheck disable=SC2086
        [ -z "$kids" ] || kill -KILL $kids 2>/dev/null
        kill -KILL "$p" 2>/dev/null
    fi
done

# 4. controller, then munged
stop "$CTLD" slurmctld
stop "$(pid_of munged)" munged

rm -f "$PIDS" "$DIR/munge/munge.socket" "$DIR/munge/munge.socket.lock"
log "stopped"
if [ $PURGE = 1 ]; then rm -rf "$DIR"; log "purged $DIR"; fi
exit 0
