#!/bin/sh
# bench/startup.sh - start-up time of a zpar cluster under mpirun and srun.
#
#   ZPAR_BUILD=build bench/startup.sh [N...]      (default N: 2 4 8 16)
#
# For each N (ranks, oversubscribed on this machine): the launcher's own
# cost (`mpirun -n N /bin/true`, `srun -n N /bin/true`) and the time from
# launching `zpar run` to the moment every engine (N-1) is registered —
# rank 0 runs `date` as its command exactly then — median of 3 runs each.
# srun figures need a running Slurm (tests/lib/slurm-up.sh); they are
# skipped otherwise.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
build=${ZPAR_BUILD:-$top/build}
zpar=$build/zpar
[ -x "$zpar" ] || { echo "startup.sh: no zpar in $build (set ZPAR_BUILD)" >&2; exit 2; }
. "$top/tests/lib/env.sh"
ns=${*:-2 4 8 16}
ZPAR_DIR=$(mktemp -d /tmp/zpar-startup.XXXXXX)
export ZPAR_DIR
trap 'rm -rf "$ZPAR_DIR"' EXIT

now () { date +%s.%N; }
median3 () { printf '%s\n' "$@" | sort -g | sed -n 2p; }
fmt () { if [ "$1" = "-" ]; then echo "-"; else printf '%.3f s' "$1"; fi; }

# run3 CMD...: median wall time of 3 runs
run3 () {
    t=""
    for k in 1 2 3; do
        a=$(now)
        timeout 120 "$@" >/dev/null 2>&1
        b=$(now)
        t="$t $(echo "$b - $a" | bc)"
    done
    median3 $t
}

# ready3 LAUNCHER...: median time from launch to "every engine registered"
ready3 () {
    t=""
    for k in 1 2 3; do
        a=$(now)
        r=$(timeout 120 "$@" "$zpar" run --bind none --dir "$ZPAR_DIR/r$k" -- date +%s.%N 2>/dev/null | tail -1)
        [ -n "$r" ] || { echo "-"; return; }
        t="$t $(echo "$r - $a" | bc)"
    done
    median3 $t
}

slurm=0
command -v srun >/dev/null 2>&1 && timeout 5 scontrol ping 2>/dev/null | grep -q UP && slurm=1

printf '%-4s | %-22s | %-22s | %-10s | %-22s | %-22s | %-10s\n' N \
    "mpirun -n N /bin/true" "mpirun zpar run: ready" "overhead" \
    "srun -n N /bin/true" "srun zpar run: ready" "overhead"
printf '%s\n' "-----+------------------------+------------------------+------------+------------------------+------------------------+-----------"
for n in $ns; do
    mt=$(run3 mpirun -n "$n" /bin/true)
    mr=$(ready3 mpirun -n "$n")
    mo=$( [ "$mr" != "-" ] && echo "$mr - $mt" | bc || echo "-")
    if [ $slurm = 1 ]; then
        st=$(run3 srun -n "$n" /bin/true)
        sr=$(ready3 srun -n "$n")
        so=$( [ "$sr" != "-" ] && echo "$sr - $st" | bc || echo "-")
    else
        st=- sr=- so=-
    fi
    printf '%-4s | %-22s | %-22s | %-10s | %-22s | %-22s | %-10s\n' "$n" \
        "$(fmt "$mt")" "$(fmt "$mr")" "$(fmt "$mo")" "$(fmt "$st")" "$(fmt "$sr")" "$(fmt "$so")"
done
echo "(seconds, median of 3; 'ready' = launch until all N-1 engines are registered;"
echo " 'overhead' = ready minus the launcher's own /bin/true time; 2 cores, oversubscribed)"
