#!/bin/sh
# bench/relay.sh [ENGINES_PER_HOST [TASKS]] - the controller's cost with and
# without a relay per node, on 4 real hosts (tests/lib/netns-bed.sh, run as
# root): `mpirun --hostfile zpar run` with the controller and E engines on
# h1 and E engines on each of h2..h4 (default E = 16: 64 engines), once
# with --relay=never and once with --relay=always (every host, h1 too).
# For each: the controller's open files (/proc/PID/fd) and established TCP
# connections (ss), its CPU time (/proc/PID/stat, utime + stime) idle for
# 10 s (the heartbeat alone) and over TASKS load-balanced /bin/true tasks
# (default 2000, submitted 500 at a time by bench/zpar-bench.c from the
# head), and the tasks' throughput.  Not part of `make check`.
#
# Environment: ZPAR_BUILD (a build directory: ./build by default).
set -u
E=${1:-16}
TASKS=${2:-2000}
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${ZPAR_BUILD:-$SRC/build}
ZPAR=$BUILD/zpar
[ -x "$ZPAR" ] || { echo "relay.sh: no $ZPAR (set ZPAR_BUILD)" >&2; exit 1; }
ZT_TMP=$(mktemp -d /tmp/zpar-bench-relay.XXXXXX)
export ZT_TMP
ZPAR_DIR=$ZT_TMP/zpar
mkdir -p "$ZPAR_DIR"
export ZPAR_DIR
skip_all () { echo "relay.sh: cannot run: $*" >&2; exit 1; }
. "$SRC/tests/lib/netns-bed.sh"
bed_up 4
trap 'bed_down; rm -rf "$ZT_TMP"' EXIT

B=$ZT_TMP/bin
mkdir -p "$B"
cc -O2 -I"$SRC/include" -o "$B/zpar-bench" "$SRC/bench/zpar-bench.c" -L"$BUILD/.libs" -lzpar \
    -Wl,-rpath,"$BUILD/.libs" || exit 1

HF=$ZT_TMP/hostfile
{
    echo "$(bed_ip h1) slots=$((E + 1))"
    for h in h2 h3 h4; do echo "$(bed_ip $h) slots=$E"; done
} >"$HF"
N=$((4 * E))

ticks () { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
HZ=$(getconf CLK_TCK)

measure () { # MODE
    d=$ZT_TMP/$1
    mkdir -p "$d"
    timeout 600 mpirun --hostfile "$HF" -n $((N + 1)) "$ZPAR" run --relay="$1" --wait-timeout 300 \
        --dir "$d/c" >"$d/run.out" 2>"$d/run.err" &
    mp=$!
    i=0
    until grep -q "cluster ready with $N engines" "$d/run.out" 2>/dev/null; do
        i=$((i + 1))
        [ $i -gt 3000 ] && { echo "$1: not ready" >&2; kill $mp; return 1; }
        kill -0 $mp 2>/dev/null || { echo "$1: zpar run ended" >&2; tail "$d/run.err" >&2; return 1; }
        sleep 0.1
    done
    reg=$(sed -n 's/.*"registration": *"tcp:\/\/[0-9.]*:\([0-9]*\)".*/\1/p' "$d/c/client.json")
    pid=$(bed_on h1 ss -Htlnp "sport = :$reg" | sed -n 's/.*pid=\([0-9]*\).*/\1/p' | head -1)
    ports=$(grep -o 'tcp://[0-9.]*:[0-9]*' "$d/c/client.json" | sed 's/.*://' | sort -u | tr '\n' '|' | sed 's/|$//')
    sleep 3
    fds=$(ls "/proc/$pid/fd" | wc -l)
    conns=$(bed_on h1 ss -Htn state established | awk -v p="^($ports)\$" '{ split($3, l, ":"); if (l[2] ~ p) c++ } END { print c + 0 }')
    t0=$(ticks $pid)
    sleep 10
    idle=$(( $(ticks $pid) - t0 ))
    t0=$(ticks $pid)
    ZPAR_CONNECTION_FILE=$d/c/client.json "$B/zpar-bench" cmd "$TASKS" 500 >"$d/bench.out" 2>"$d/bench.err"
    busy=$(( $(ticks $pid) - t0 ))
    rate=$(awk '$1 == "cmd_per_s" { print $2 }' "$d/bench.out")
    failed=$(awk '$1 == "cmd_failed" { print $2 }' "$d/bench.out")
    relays=0
    for h in $BED_HOSTS; do
        for p in $(ip netns pids "$BED_PREFIX-$h"); do
            tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -q -- " relay --connection-file" && relays=$((relays + 1))
        done
    done
    printf '%-7s %7s %6s %11s %13s %12s %10s %7s\n' "$1" "$relays" "$fds" "$conns" \
        "$(awk -v t=$idle -v h=$HZ 'BEGIN { printf "%.2f", t / h }')" \
        "$(awk -v t=$busy -v h=$HZ 'BEGIN { printf "%.2f", t / h }')" "${rate:-?}" "${failed:-?}"
    ZPAR_CONNECTION_FILE=$d/c/client.json "$ZPAR" stop >/dev/null 2>&1
    wait $mp
}

echo "4 hosts x $E engines ($N engines), $TASKS /bin/true tasks; controller pid figures"
printf '%-7s %7s %6s %11s %13s %12s %10s %7s\n' relay relays fds connections "cpu idle 10s" \
    "cpu $TASKS" "tasks/s" failed
measure never
measure always
