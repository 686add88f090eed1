#!/bin/bash
# bench/rtt-ab.sh [--reps N] [--rtts N] BUILD_A BUILD_B - the round trip of
# two zpar builds in alternating pairs, each beside the raw broker floor.
#
# Repetition i measures, for A then B (B then A when i is even, so that a
# drifting load favours neither): the floor (floor-broker, --rtts round
# trips) and a fresh private 2-engine cluster of the build (zpar cluster
# start -n 2) running `zpar-bench rtt-split` (load-balanced inline no-op
# round trips whose function stamps the time it ran: the way there and the
# way back, bench/noop.c).  The floor is measured right before each build
# so that every zpar/floor ratio is paired with its own floor.  Prints one
# "key value" line per figure and repetition, then per build the medians
# over the repetitions and the paired B/A ratios:
#
#   ab <A|B> rep <i> p50 <us> p99 <us> there <us> back <us> floor_p50 <us> floor_p99 <us>
#   summary <A|B> p50/floor ... p99/floor ... there ... back ...
#   paired B/A p50 min/med/max ...
#
# The same driver (this tree's zpar-bench.c and noop.c) is linked against
# each build's libzpar.  Not a test; every process it starts is stopped.
set -u
export LC_ALL=C
REPS=5 N=3000
args=()
while [ $# -gt 0 ]; do
    case "$1" in
    --reps | --rtts)
        [ "$1" = --reps ] && REPS=${2:-} || N=${2:-}
        shift 2 || exit 2
        continue ;;
    -h | --help) sed -n '2,/^set -u$/s/^# \{0,1\}//p' "$0" | sed '$d'; exit 0 ;;
    -*) echo "rtt-ab.sh: unknown option $1" >&2; exit 2 ;;
    esac
    args+=("$1")
    shift
done
[ ${#args[@]} = 2 ] || { echo "usage: bench/rtt-ab.sh [--reps N] [--rtts N] BUILD_A BUILD_B" >&2; exit 2; }
BENCH=$(cd "$(dirname "$0")" && pwd)
SRC=$(dirname "$BENCH")
WORK=$(mktemp -d /tmp/zpar-rtt-ab.XXXXXX)
B=$WORK/bin
mkdir -p "$B"
declare -A ZB
ZB[A]=$(cd "${args[0]}" && pwd) && ZB[B]=$(cd "${args[1]}" && pwd) || exit 2
gcc -O2 -o "$B/floor-broker" -I"$BENCH/../src/common" "$BENCH/floor-broker.c" "$BENCH/../src/common/zmtp.c" $(pkg-config --cflags --libs libzmq) &&
    gcc -O2 -fPIC -shared -I"$SRC/include" -o "$B/noop.so" "$BENCH/noop.c" || exit 1
for s in A B; do
    gcc -O2 -I"$SRC/include" -o "$B/zpar-bench.$s" "$BENCH/zpar-bench.c" \
        -L"${ZB[$s]}/.libs" -Wl,-rpath,"${ZB[$s]}/.libs" -lzpar || exit 1
done
CUR=
cleanup() {
    [ -n "$CUR" ] && ZPAR_DIR=$WORK/zpar.$CUR timeout 30 "${ZB[$CUR]}/zpar" cluster stop >/dev/null 2>&1
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
get() { awk -v k="$2" '$1 == k { print $2; exit }' "$1"; }

one() { # side rep
    local s=$1 i=$2 o=$WORK/out.$1.$2
    "$B/floor-broker" -r "$N" -t 1 >"$o.floor"
    export ZPAR_DIR=$WORK/zpar.$s
    rm -rf "$ZPAR_DIR"
    mkdir -p "$ZPAR_DIR"
    CUR=$s
    "$B/zpar-bench.$s" start 2 60 -- "${ZB[$s]}/zpar" cluster start -n 2 >/dev/null 2>"$o.start" ||
        { cat "$o.start" >&2; return 1; }
    "$B/zpar-bench.$s" rtt-split "$B/noop.so" "$N" >"$o" 2>"$o.err"
    timeout 30 "${ZB[$s]}/zpar" cluster stop >/dev/null 2>&1
    CUR=
    echo "ab $s rep $i p50 $(get "$o" rtt_median_us) p99 $(get "$o" rtt_p99_us)" \
        "there $(get "$o" there_median_us) back $(get "$o" back_median_us)" \
        "floor_p50 $(get "$o.floor" floor_rtt_median_us) floor_p99 $(get "$o.floor" floor_rtt_p99_us)" |
        tee -a "$WORK/lines"
}

echo "load_start $(cut -d' ' -f1-3 /proc/loadavg)"
for i in $(seq 1 "$REPS"); do
    order="A B"
    [ $((i % 2)) = 0 ] && order="B A"
    for s in $order; do one "$s" "$i" || exit 1; done
done
echo "load_end $(cut -d' ' -f1-3 /proc/loadavg)"
awk '
function med(a, n,   i, j, t) { for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
$1 == "ab" { s = $2; r = $4; p50[s, r] = $6; p99[s, r] = $8; th[s, r] = $10; bk[s, r] = $12; f50[s, r] = $14; f99[s, r] = $16; if (r > nr) nr = r }
END {
    for (k = 0; k < 2; k++) { s = k ? "B" : "A"
        for (r = 1; r <= nr; r++) { a[r] = p50[s, r] / f50[s, r]; b[r] = p99[s, r] / f99[s, r]; c[r] = th[s, r]; d[r] = bk[s, r]; e[r] = p50[s, r] }
        printf "summary %s p50_us %.1f p50/floor %.2f p99/floor %.2f there_us %.1f back_us %.1f (medians of %d)\n", s, med(e, nr), med(a, nr), med(b, nr), med(c, nr), med(d, nr), nr }
    for (r = 1; r <= nr; r++) { a[r] = p50["B", r] / p50["A", r]; b[r] = p99["B", r] / p99["A", r] }
    n = nr; x = med(a, n); y = med(b, n)
    printf "paired B/A p50 min %.2f med %.2f max %.2f | p99 min %.2f med %.2f max %.2f\n", a[1], x, a[n], b[1], y, b[n] }' "$WORK/lines"
