#!/bin/sh
# bench/relay-local.sh [PAIRS [N]] - what a relay on the controller's own
# node costs a task: a controller and 2 engines on this host, once straight
# to the controller (tcp loopback) and once through one `zpar relay` (ipc),
# alternated PAIRS times (default 3).  For each: N (default 2000)
# sequential load-balanced no-op function tasks (zpar-bench rtt lb inline:
# p50 and p99 of the round trip), then N pipelined (zpar-bench tput inline,
# 100 at a time), and the relay's CPU (utime + stime, /proc) and context
# switches (voluntary + not) over those tasks, per task.  The round trips
# are wall-clock (noisy on a shared machine: compare within a pair); the
# relay's CPU and switches per task are the cost it adds to the node.
# Prints "direct|relay key value" lines and a table.
# RELAY_CALLGRIND=1: the relay runs under valgrind --tool=callgrind and its
# instructions over the tasks are counted (callgrind_control -z before, -d
# after), per task: noise-free, unlike the rest (which it slows down).
#
# Environment: ZPAR_BUILD (default ./build).
set -u
PAIRS=${1:-3}
N=${2:-2000}
SRC=$(cd "$(dirname "$0")/.." && pwd)
ZB=${ZPAR_BUILD:-$SRC/build}
case $ZB in /*) ;; *) ZB=$PWD/$ZB ;; esac
ZPAR=$ZB/zpar
[ -x "$ZPAR" ] || { echo "relay-local.sh: no $ZPAR (set ZPAR_BUILD)" >&2; exit 1; }
W=$(mktemp -d /tmp/zpar-relay-local.XXXXXX)
pids=
stop () {
    for p in $pids; do kill -TERM "$p" 2>/dev/null; done
    for p in $pids; do
        i=0
        while kill -0 "$p" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
        kill -KILL "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    pids=
}
trap 'stop; rm -rf "$W"' EXIT
trap 'exit 130' INT TERM
CC=${CC:-cc}
$CC -O2 -fPIC -shared -I"$SRC/include" -o "$W/noop.so" "$SRC/bench/noop.c" &&
    $CC -O2 -I"$SRC/include" -o "$W/zpar-bench" "$SRC/bench/zpar-bench.c" -L"$ZB/.libs" \
        -Wl,-rpath,"$ZB/.libs" -lzpar || exit 1
ticks () { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
switches () { awk '/ctxt_switches/ { s += $2 } END { print s + 0 }' "/proc/$1/status" 2>/dev/null; }
HZ=$(getconf CLK_TCK)

one () { # MODE REP
    d=$W/$1.$2
    mkdir -p "$d"
    "$ZPAR" controller --dir "$d" >"$d/controller.log" 2>&1 &
    pids=$!
    i=0
    until [ -s "$d/engine.json" ] && [ -s "$d/client.json" ] || [ $i -gt 300 ]; do
        sleep 0.1
        i=$((i + 1))
    done
    via=
    rp=
    if [ "$1" = relay ]; then
        if [ "${RELAY_CALLGRIND:-0}" = 1 ]; then
            "$ZB/libtool" --mode=execute valgrind --tool=callgrind --callgrind-out-file="$d/cg.%p" \
                "$ZPAR" relay --connection-file "$d/engine.json" --dir "$d/r" >"$d/relay.log" 2>&1 &
        else
            "$ZPAR" relay --connection-file "$d/engine.json" --dir "$d/r" >"$d/relay.log" 2>&1 &
        fi
        rp=$!
        pids="$pids $rp"
        i=0
        until [ -S "$d/r/registrar" ] || [ $i -gt 300 ]; do sleep 0.1; i=$((i + 1)); done
        via="--relay $d/r"
    fi
    for e in 1 2; do
        # shellcheck disable=SC2086
        "$ZPAR" engine --connection-file "$d/engine.json" $via >"$d/engine$e.log" 2>&1 &
        pids="$pids $!"
    done
    export ZPAR_CONNECTION_FILE="$d/client.json" ZPAR_DIR="$d"
    ZPAR_BENCH_TIMEOUT=60 "$W/zpar-bench" start 2 60 -- true >/dev/null 2>&1
    c0=0 s0=0
    [ -n "$rp" ] && c0=$(ticks "$rp") && s0=$(switches "$rp")
    [ -n "$rp" ] && [ "${RELAY_CALLGRIND:-0}" = 1 ] && callgrind_control -z "$rp" >/dev/null 2>&1
    ZPAR_BENCH_TIMEOUT=120 "$W/zpar-bench" rtt lb inline "$W/noop.so" "$N" >"$d/rtt.out" 2>&1
    ZPAR_BENCH_TIMEOUT=120 "$W/zpar-bench" tput inline "$W/noop.so" "$N" 100 >"$d/tput.out" 2>&1
    c1=0 s1=0
    [ -n "$rp" ] && c1=$(ticks "$rp") && s1=$(switches "$rp")
    ins=-
    if [ -n "$rp" ] && [ "${RELAY_CALLGRIND:-0}" = 1 ]; then
        callgrind_control -d "$rp" >/dev/null 2>&1
        sleep 1
        ins=$(cat "$d"/cg.* 2>/dev/null | awk -v n=$((2 * N)) '$1 == "totals:" || $1 == "summary:" { t = $2 } END { if (t) printf "%.0f", t / n; else print "-" }')
    fi
    p50=$(awk '$1 == "rtt_median_us" { print $2 }' "$d/rtt.out")
    p99=$(awk '$1 == "rtt_p99_us" { print $2 }' "$d/rtt.out")
    tput=$(awk '$1 == "tput_per_s" { print $2 }' "$d/tput.out")
    cpu=$(awk -v t=$((c1 - c0)) -v h="$HZ" -v n=$((2 * N)) 'BEGIN { printf "%.1f", 1e6 * t / h / n }')
    sw=$(awk -v s=$((s1 - s0)) -v n=$((2 * N)) 'BEGIN { printf "%.2f", s / n }')
    echo "$1 rep $2 rtt_p50_us ${p50:-?} rtt_p99_us ${p99:-?} tput_per_s ${tput:-?} relay_cpu_us_per_task $cpu relay_switches_per_task $sw relay_instructions_per_task $ins"
    stop
}

r=1
while [ $r -le "$PAIRS" ]; do
    one direct $r
    one relay $r
    r=$((r + 1))
done | tee "$W/all"
echo
echo "| path | round trip p50 (µs) min/med/max | p99 (µs) | pipelined tasks/s | relay CPU µs/task | relay switches/task |"
echo "|---|---|---|---|---|---|"
for m in direct relay; do
    awk -v m=$m '$1 == m { p50 = p50 " " $5; p99 = p99 " " $7; t = t " " $9; c = c " " $11; s = s " " $13 }
        function mmm(l,   a, n, i, j, x) { n = split(l, a, " ");
            for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { x = a[i]; a[i] = a[j]; a[j] = x }
            return a[1] " / " a[int((n + 1) / 2)] " / " a[n] }
        END { printf "| %s | %s | %s | %s | %s | %s |\n", m, mmm(p50), mmm(p99), mmm(t), mmm(c), mmm(s) }' "$W/all"
done
