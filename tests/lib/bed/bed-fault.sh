#!/usr/bin/env bash
# bed-fault.sh DIR CMD HOST - a fault on host HOST (hK) of the bed in DIR:
#   partition  its bridge port stops forwarding: every frame to and from it is
#              dropped silently (no RST, no ICMP), until heal
#   heal       undo partition/poweroff isolation
#   kill       SIGKILL every process in its namespace (slurmd, steps, tasks,
#              engines): its kernel stays up, peers see FIN/RST at once
#   poweroff   partition, then kill: peers see only silence
#   revive     heal, restart its slurmd when the bed has Slurm, resume the node
#              in Slurm if it was set DOWN, wait until it is idle again
set -uo pipefail
export PATH=$PATH:/usr/sbin:/sbin
DIR=$1 CMD=$2 H=$3
die() { printf 'bed-fault: %s\n' "$*" >&2; exit 1; }
NET=$DIR/state/net
[ -f "$NET" ] || die "no bed in $DIR"
BR=$(awk '$1 == "bridge" { print $2; exit }' "$NET")
PREFIX=${BR%-br}
NS=$PREFIX-$H V=$PREFIX-v${H#h}
grep -qx "netns $NS" "$NET" || die "no host '$H' in this bed"
ts() { date +%H:%M:%S.%3N; }
ns_pids() {
    local p
    for p in $(ip netns pids "$NS" 2>/dev/null); do
        [ "$(awk '{ print $3 }' "/proc/$p/stat" 2>/dev/null)" = Z ] && continue
        [ -d "/proc/$p" ] && printf '%s ' "$p"
    done
}
isolate() { bridge link set dev "$V" state 0; }
heal() {
    ip link set "$V" up && ip -n "$NS" link set eth0 up || return 1
    for _ in 1 2 3 4 5 6 7 8 9 10; do bridge link set dev "$V" state 3 2>/dev/null && return 0; sleep 0.1; done
    return 1
}
kill_all() {
    local n=0 left
    for _ in $(seq 1 20); do
        left=$(ns_pids)
        [ -n "$left" ] || break
        n=$((n + $(echo "$left" | wc -w)))
        # shellcheck disable=SC2086
        kill -KILL $left 2>/dev/null
        sleep 0.05
    done
    left=$(ns_pids)
    echo "$(ts) bed-fault: $H: $n processes SIGKILLed${left:+ (still alive: $left)}"
    [ -z "$left" ]
}
case "$CMD" in
partition) isolate && echo "$(ts) bed-fault: $H partitioned" ;;
heal) heal && echo "$(ts) bed-fault: $H healed" ;;
kill) kill_all ;;
poweroff) isolate && kill_all && echo "$(ts) bed-fault: $H powered off" ;;
revive)
    heal || die "cannot heal $H"
    conf=$DIR/etc/slurm.conf
    if [ -f "$conf" ]; then
        export SLURM_CONF=$conf
        pf=$DIR/run/slurmd-$H.pid
        p=$(cat "$pf" 2>/dev/null)
        if [ -z "$p" ] || [ ! -d "/proc/$p" ] || [ "$(awk '{ print $3 }' "/proc/$p/stat" 2>/dev/null)" = Z ]; then
            rm -f "$pf"
            env -u ZPAR_TEST_MARK "$DIR/bin/on" "$H" slurmd -N "$H" || die "slurmd $H did not start"
            for _ in $(seq 1 100); do [ -s "$pf" ] && break; sleep 0.05; done
            sed -i "/^slurmd-$H /d" "$DIR/state/pids"
            echo "slurmd-$H $(cat "$pf")" >>"$DIR/state/pids"
        fi
        for i in $(seq 1 300); do
            st=$(sinfo -h -N -n "$H" -o %T 2>/dev/null | head -n 1)
            case $st in
            idle | mixed | allocated) break ;;
            down* | drain* | fail*) [ $((i % 10)) = 1 ] && scontrol update nodename="$H" state=resume 2>/dev/null ;;
            esac
            sleep 0.1
        done
        [ "$i" -lt 300 ] || die "$H not idle after 30 s (state: $st)"
    fi
    echo "$(ts) bed-fault: $H revived"
    ;;
*) die "unknown fault '$CMD' (partition heal kill poweroff revive)" ;;
esac
