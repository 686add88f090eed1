#!/bin/bash
# bench/curve.sh [--quick] [--rounds K] - the cost of CurveZMQ (--curve):
# the same measurements on a 2-engine cluster started without and with
# --curve, side by side, K rounds alternating (default 3; median shown).
#
#   metric | plain | curve | curve/plain
#
# Round trips (median and p99) of a no-op function task, load-balanced and
# direct, inline; pipelined no-op tasks/s (inline); command tasks/s
# (/bin/true); cluster start-up.  Uses bench/zpar-bench.c and bench/noop.c
# like bench/run.sh; zpar from $ZPAR_BUILD, ./build or <source>/build.
# Not part of `make check`.  Exit 0 when everything ran, 1 otherwise.

set -u
export LC_ALL=C
QUICK=0 ROUNDS=3
while [ $# -gt 0 ]; do
    case "$1" in
    --quick) QUICK=1 ;;
    --rounds) ROUNDS=$2; shift ;;
    -h | --help) sed -n '2,/^$/s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) echo "curve.sh: unknown argument '$1'" >&2; exit 2 ;;
    esac
    shift
done
if [ $QUICK = 1 ]; then
    RTT_N=500 TPUT_N=2000 CMD_N=300
else
    RTT_N=5000 TPUT_N=20000 CMD_N=2000
fi
BENCH=$(cd "$(dirname "$0")" && pwd)
SRC=$(dirname "$BENCH")
CC=${CC:-gcc}
ZB=
for d in "${ZPAR_BUILD:-}" "$PWD/build" "$SRC/build"; do
    [ -n "$d" ] && [ -x "$d/zpar" ] && [ -f "$d/.libs/libzpar.so" ] && { ZB=$(cd "$d" && pwd); break; }
done
[ -n "$ZB" ] || { echo "curve.sh: no zpar build directory (set ZPAR_BUILD)" >&2; exit 1; }
ZPAR=$ZB/zpar
WORK=$(mktemp -d /tmp/zpar-bench-curve.XXXXXX)
unset ZPAR_CONNECTION_FILE SLURM_JOB_ID PBS_JOBID
FAILED=0
say() { printf '[curve %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
stop() { [ -f "$ZPAR_DIR/local/client.json" ] && timeout 20 "$ZPAR" cluster stop >/dev/null 2>&1; }
cleanup() { stop; [ $FAILED = 1 ] && say "work directory kept: $WORK" || rm -rf "$WORK"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

B=$WORK/bin
mkdir -p "$B"
$CC -O2 -fPIC -shared -I"$SRC/include" -o "$B/noop.so" "$BENCH/noop.c" &&
    $CC -O2 -I"$SRC/include" -o "$B/zpar-bench" "$BENCH/zpar-bench.c" \
        -L"$ZB/.libs" -Wl,-rpath,"$ZB/.libs" -lzpar || { FAILED=1; exit 1; }

# one round of variant $1 ("plain" or "curve") into $WORK/$1.$2
measure() {
    local v=$1 r=$2 out=$WORK/$1.$2 flag=
    [ "$v" = curve ] && flag=--curve
    export ZPAR_DIR=$WORK/$v
    rm -rf "$ZPAR_DIR"
    mkdir -p -m 700 "$ZPAR_DIR"
    say "$v round $r: start"
    "$B/zpar-bench" start 2 30 -- "$ZPAR" cluster start -n 2 $flag >"$out" 2>>"$WORK/log" ||
        { FAILED=1; say "$v: cluster start failed"; return 1; }
    if [ "$v" = curve ] && ! grep -q curve_server_public "$ZPAR_DIR/local/client.json"; then
        FAILED=1; say "curve: the cluster has no CURVE keys"; return 1
    fi
    sleep 0.5
    for m in "rtt lb inline $B/noop.so $RTT_N" "rtt direct inline $B/noop.so $RTT_N" \
        "tput inline $B/noop.so $TPUT_N $TPUT_N" "cmd $CMD_N $CMD_N"; do
        set -- $m
        "$B/zpar-bench" "$@" >"$WORK/m" 2>>"$WORK/log" || { FAILED=1; say "$v: $m failed"; }
        sed "s/^/$1_$2_/" "$WORK/m" >>"$out"
    done
    stop
}
for r in $(seq 1 "$ROUNDS"); do
    measure plain "$r"
    measure curve "$r"
done

med() { # variant key -> median over rounds
    cat "$WORK/$1".* 2>/dev/null | awk -v k="$2" '$1 == k && $2 >= 0 { v[n++] = $2 } END {
        if (!n) { print "-"; exit }
        for (i = 0; i < n; i++) for (j = i + 1; j < n; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
        print v[int(n / 2)] }'
}
row() { printf '%-40s | %12s | %12s | %8s\n' "$@"; }
line() {
    local p c
    p=$(med plain "$2") c=$(med curve "$2")
    row "$1" "$p$3" "$c$3" "$(awk -v a="$c" -v b="$p" 'BEGIN { if (b + 0 == 0 || a == "-") print "-"; else printf "%.2f", a / b }')"
}
echo
echo "CurveZMQ cost ($([ $QUICK = 1 ] && echo quick || echo full) run, median of $ROUNDS rounds," \
    "$(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores)"
row metric plain curve curve/plain
row "----------------------------------------" "------------" "------------" "--------"
line "round trip, load-balanced, median" rtt_lb_rtt_median_us " us"
line "round trip, load-balanced, p99" rtt_lb_rtt_p99_us " us"
line "round trip, direct, median" rtt_direct_rtt_median_us " us"
line "round trip, direct, p99" rtt_direct_rtt_p99_us " us"
line "no-op tasks/s, $TPUT_N pipelined" tput_inline_tput_per_s ""
line "command tasks/s, $CMD_N x /bin/true" cmd_${CMD_N}_cmd_per_s ""
line "cluster start, 2 engines registered" start_engines_s " s"
exit $FAILED
