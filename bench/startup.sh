#!/bin/sh
# bench/startup.sh - start-up time of a zpar cluster under mpirun and srun.
#
#   ZPAR_BUILD=build bench/startup.sh [N...]      (default N: 2 4 8 16)
#   ZPAR_BUILD=build bench/startup.sh --mh        (the 4-host part only)
#
# For each N (ranks, oversubscribed on this machine): the launcher's own
# cost (`mpirun -n N /bin/true`, `srun -n N /bin/true`) and the time from
# launching `zpar run` to the moment every engine (N-1) is registered —
# rank 0 runs `date` as its command exactly then — median of 3 runs each.
# srun figures need a running Slurm (tests/lib/slurm-up.sh); they are
# skipped otherwise.
#
# Then, as root when the 4-host bed can be built (tests/lib/netns-bed.sh:
# network namespaces on a bridge, a real Slurm across them): the ready time
# of `srun -N 4 -n 8 zpar run` (controller + 7 engines on 4 hosts, every
# registration over the bridge) against `srun -N 4 -n 8 /bin/true`,
# and of the same with --relay never, ZPAR_BENCH_MH_REPS repetitions
# (default 7), the three run back to back in each: min / median / max of
# each and of the ratio to /bin/true per repetition.
# ZPAR_BENCH_MH=0 skips that part.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
build=${ZPAR_BUILD:-$top/build}
zpar=$build/zpar
[ -x "$zpar" ] || { echo "startup.sh: no zpar in $build (set ZPAR_BUILD)" >&2; exit 2; }
. "$top/tests/lib/env.sh"
mh_only=0
if [ "${1:-}" = --mh ]; then
    mh_only=1
    shift
fi
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

# min median max of the numbers given
stats () { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
    m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
    printf "%.3f %.3f %.3f\n", v[1], m, v[NR] }'; }

# the 4-host part (in a subshell: the bed's EXIT trap tears it down)
multihost () (
    srcdir=$top
    skip_all () { echo "multi-host: skipped ($*)"; exit 0; }
    . "$top/tests/lib/netns-bed.sh"
    bed_up 4 --slurm >/dev/null
    reps=${ZPAR_BENCH_MH_REPS:-7}
    tt="" tr="" tq="" rat="" raq=""
    k=0
    while [ $k -lt "$reps" ]; do
        k=$((k + 1))
        a=$(now)
        timeout 120 srun -N 4 -n 8 /bin/true >/dev/null 2>&1 || { echo "multi-host: srun /bin/true failed"; exit 1; }
        b=$(now)
        t=$(echo "$b - $a" | bc)
        a=$(now)
        r=$(timeout 120 srun -N 4 -n 8 "$zpar" run --bind none --dir "$ZPAR_DIR/mh$k" -- date +%s.%N 2>/dev/null | tail -1)
        [ -n "$r" ] || { echo "multi-host: srun zpar run failed"; exit 1; }
        r=$(echo "$r - $a" | bc)
        a=$(now)
        q=$(timeout 120 srun -N 4 -n 8 "$zpar" run --relay never --bind none --dir "$ZPAR_DIR/mq$k" -- date +%s.%N 2>/dev/null | tail -1)
        [ -n "$q" ] || { echo "multi-host: srun zpar run --relay never failed"; exit 1; }
        q=$(echo "$q - $a" | bc)
        tt="$tt $t" tr="$tr $r" tq="$tq $q"
        rat="$rat $(echo "scale=3; $r / $t" | bc)" raq="$raq $(echo "scale=3; $q / $t" | bc)"
    done
    echo
    echo "4 hosts (network namespaces on a bridge, Slurm across them), $reps repetitions:"
    printf '%-38s | %-7s | %-7s | %-7s\n' "" min median max
    printf '%s\n' "---------------------------------------+---------+---------+--------"
    set -- $(stats $tt)
    printf '%-38s | %-7s | %-7s | %-7s\n' "srun -N 4 -n 8 /bin/true (s)" "$1" "$2" "$3"
    set -- $(stats $tr)
    printf '%-38s | %-7s | %-7s | %-7s\n' "srun -N 4 -n 8 zpar run: ready (s)" "$1" "$2" "$3"
    set -- $(stats $tq)
    printf '%-38s | %-7s | %-7s | %-7s\n' "  the same, --relay never (s)" "$1" "$2" "$3"
    set -- $(stats $rat)
    printf '%-38s | %-7s | %-7s | %-7s\n' "ratio ready / true (per repetition)" "$1" "$2" "$3"
    set -- $(stats $raq)
    printf '%-38s | %-7s | %-7s | %-7s\n' "  the same, --relay never" "$1" "$2" "$3"
    echo "('ready' = launch until rank 0 runs its command, all 7 engines registered;"
    echo " the default --relay auto puts a relay on each host with 2 engines but the controller's)"
)

if [ $mh_only = 1 ]; then
    multihost
    exit $?
fi

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
if [ "${ZPAR_BENCH_MH:-1}" != 0 ]; then
    if [ "$(id -u)" = 0 ]; then multihost; else echo "multi-host: skipped (needs root)"; fi
fi
