#!/bin/bash
# bench/rtt-tail.sh [N] - where the round trip's tail comes from.
#
# Measures the load-balanced inline no-op round trip (zpar-bench rtt lb
# inline, N round trips, default 5000) and the raw broker's (floor-broker),
# quiet and then loaded (two busy loops at nice 0, one per core, this
# script's own and stopped after), and for each zpar run counts the thread
# hand-offs of one round trip: the voluntary context switches (each one a
# thread that went to sleep and had to be woken again) per round trip of
# every thread of the controller and the engines (/proc/PID/task/TID/status),
# and of the client (perf stat -e context-switches, when perf is there), and
# the same per thread of the broker floor's three processes (floor-broker
# with FLOOR_SWITCHES set).  With --sched it also records
# `perf sched` over one loaded zpar run and prints the threads' wake-up
# latencies (perf sched latency: time from wake-up to running) and, per
# thread of zpar and of the broker floor, how often per round trip a
# wake-up waited more than 0.1 and 1 ms for a core (perf sched timehist).  With
# --hub-batch it then measures again with the controller's main thread (the
# hub, off the round trip's path) switched to SCHED_BATCH (chrt -b: it keeps
# its share of the CPU but no longer preempts a thread it wakes), labels
# quiet_hubbatch and loaded_hubbatch: the scheduler thread's preemptions per
# round trip show what the hub's wake-ups cost the path.
#
#   rtt-tail.sh [--sched] [--hub-batch] [N]
#
# Needs a zpar build as bench/run.sh finds it (ZPAR_BUILD).  Prints "key
# value" lines and a table; the work directory is removed (--keep keeps it).
set -u
export LC_ALL=C
N=5000 SCHED=0 KEEP=0 HUBB=0
for a in "$@"; do
    case "$a" in
    --sched) SCHED=1 ;;
    --keep) KEEP=1 ;;
    --hub-batch) HUBB=1 ;;
    -h | --help) sed -n '2,/^$/s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *[!0-9]* | '') echo "rtt-tail.sh: unknown argument $a" >&2; exit 2 ;;
    *) N=$a ;;
    esac
done
BENCH=$(cd "$(dirname "$0")" && pwd)
SRC=$(dirname "$BENCH")
ZB=${ZPAR_BUILD:-$SRC/build}
ZB=$(cd "$ZB" && pwd) || exit 1
[ -x "$ZB/zpar" ] || { echo "rtt-tail.sh: no $ZB/zpar (set ZPAR_BUILD)" >&2; exit 1; }
WORK=$(mktemp -d /tmp/zpar-rtt-tail.XXXXXX)
export ZPAR_DIR=$WORK/zpar
unset ZPAR_CONNECTION_FILE SLURM_JOB_ID PBS_JOBID
CL=$ZPAR_DIR/local
HOGS=""
cleanup() {
    local p
    for p in $HOGS; do kill "$p" 2>/dev/null; done
    HOGS=""
    timeout 20 "$ZB/zpar" cluster stop >/dev/null 2>&1
    [ $KEEP = 1 ] && echo "work directory: $WORK" >&2 || rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
say() { printf '[rtt-tail %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
get() { awk -v k="$2" '$1 == k { print $2; exit }' "$1"; }

B=$WORK/bin
mkdir -p "$B" "$ZPAR_DIR"
gcc -O2 -o "$B/floor-broker" -I"$BENCH/../src/common" "$BENCH/floor-broker.c" "$BENCH/../src/common/zmtp.c" $(pkg-config --cflags --libs libzmq) &&
    gcc -O2 -fPIC -shared -I"$SRC/include" -o "$B/noop.so" "$BENCH/noop.c" &&
    gcc -O2 -I"$SRC/include" -o "$B/zpar-bench" "$BENCH/zpar-bench.c" \
        -L"$ZB/.libs" -Wl,-rpath,"$ZB/.libs" -lzpar || exit 1
PERF=$(command -v perf)

"$B/zpar-bench" start 2 30 -- "$ZB/zpar" cluster start -n 2 >/dev/null 2>"$WORK/cluster.log" || {
    cat "$WORK/cluster.log" >&2
    exit 1
}
CPID=$(sed -n 's/.*"pid"[ ]*:[ ]*\([0-9][0-9]*\).*/\1/p' "$CL/client.json" | head -1)
EPIDS=$(awk '$1 == "engine" { print $3 }' "$CL/pids")

# "role/thread-name voluntary nonvoluntary" for every thread of the cluster
snapshot() {
    local p t role
    for p in $CPID $EPIDS; do
        role=engine
        [ "$p" = "$CPID" ] && role=controller
        for t in /proc/$p/task/*; do
            printf '%s/%s %s %s\n' "$role" "$(cat "$t/comm" 2>/dev/null | tr ' ' _)" \
                "$(awk '/^voluntary_ctxt_switches/ { print $2 }' "$t/status" 2>/dev/null)" \
                "$(awk '/^nonvoluntary_ctxt_switches/ { print $2 }' "$t/status" 2>/dev/null)"
        done
    done | awk '{ v[$1] += $2; n[$1] += $3 } END { for (k in v) print k, v[k], n[k] }' | sort
}

hogs_on() {
    local i
    for i in 1 2; do
        sh -c 'while :; do :; done' &
        HOGS="$HOGS $!"
    done
}
hogs_off() {
    local p
    for p in $HOGS; do kill "$p" 2>/dev/null; done
    for p in $HOGS; do wait "$p" 2>/dev/null; done
    HOGS=""
}

measure() { # label
    local l=$1 cs
    say "$l: floor-broker ($N round trips)"
    FLOOR_SWITCHES=1 "$B/floor-broker" -r "$N" -t 1 >"$WORK/fb.$l"
    awk -v n="$N" -v l="$l" '$1 == "floor_switches" { v = $3 / (n + 200); p = $4 / (n + 200)
        if (v >= 0.005 || p >= 0.005) printf "floor_switches_per_rtt_%s %s voluntary %.2f preempted %.2f\n", l, $2, v, p }' "$WORK/fb.$l"
    echo "broker_p50_us_$l $(get "$WORK/fb.$l" floor_rtt_median_us)"
    echo "broker_p99_us_$l $(get "$WORK/fb.$l" floor_rtt_p99_us)"
    say "$l: zpar rtt lb inline ($N round trips)"
    snapshot >"$WORK/snap0.$l"
    if [ -n "$PERF" ]; then
        $PERF stat -x, -e context-switches -o "$WORK/zc.$l.perf" \
            "$B/zpar-bench" rtt lb inline "$B/noop.so" "$N" >"$WORK/zb.$l"
        cs=$(awk -F, '/context-switches/ { print $1 }' "$WORK/zc.$l.perf")
        echo "client_switches_per_rtt_$l $(awk -v c="$cs" -v n="$N" 'BEGIN { printf "%.2f", c / (n + 50) }')"
    else
        "$B/zpar-bench" rtt lb inline "$B/noop.so" "$N" >"$WORK/zb.$l"
    fi
    snapshot >"$WORK/snap1.$l"
    echo "zpar_p50_us_$l $(get "$WORK/zb.$l" rtt_median_us)"
    echo "zpar_p99_us_$l $(get "$WORK/zb.$l" rtt_p99_us)"
    # per thread: voluntary (woken) and involuntary (preempted) switches per round trip
    join "$WORK/snap0.$l" "$WORK/snap1.$l" | awk -v n="$N" -v l="$l" '{
        v = ($4 - $2) / (n + 50); p = ($5 - $3) / (n + 50)
        if (v >= 0.005 || p >= 0.005) printf "switches_per_rtt_%s %s voluntary %.2f preempted %.2f\n", l, $1, v, p }'
}

measure quiet
hogs_on
sleep 1
measure loaded
if [ $SCHED = 1 ] && [ -n "$PERF" ]; then
    say "loaded: perf sched over 2000 round trips"
    $PERF sched record -a -o "$WORK/sched.data" -- "$B/zpar-bench" rtt lb inline "$B/noop.so" 2000 \
        >/dev/null 2>>"$WORK/sched.err"
    $PERF sched latency -i "$WORK/sched.data" --sort max 2>/dev/null |
        grep -E 'zpar|lt-zpar|ZMQbg|engine|hub|sched|iopub|heart|sh:' | head -25
    # per thread of the cluster and the client: how often it waited to run
    # after a wake-up (perf sched timehist "sch delay"), per round trip
    $PERF sched timehist -i "$WORK/sched.data" 2>/dev/null | awk -v n=2050 -v c="$CPID" \
        -v e=" $(echo $EPIDS) " '
        $3 ~ /\[[0-9]+(\/[0-9]+)?\]$/ {
            name = $3; id = name; sub(/\[.*/, "", name); sub(/.*\[/, "", id); sub(/\]/, "", id)
            pid = id; sub(/.*\//, "", pid)
            role = ""
            if (pid == c) role = "controller"
            else if (index(e, " " pid " ")) role = "engine"
            else if (name == "zpar-bench") role = "client"
            if (role == "") next
            k = role "/" name; d = $5 + 0
            cnt[k]++; sum[k] += d; if (d > 0.1) o1[k]++; if (d > 1) o2[k]++; if (d > mx[k]) mx[k] = d
        }
        END { for (k in cnt) printf "sched_delay_per_rtt %s runs %.2f over_0.1ms %.3f over_1ms %.4f mean_us %.1f max_ms %.2f\n",
            k, cnt[k] / n, o1[k] / n, o2[k] / n, 1000 * sum[k] / cnt[k], mx[k] }' | sort
    say "loaded: perf sched over the broker floor's 2000 round trips"
    $PERF sched record -a -o "$WORK/sched-floor.data" -- "$B/floor-broker" -r 2000 -t 1 \
        >/dev/null 2>>"$WORK/sched.err"
    $PERF sched timehist -i "$WORK/sched-floor.data" 2>/dev/null >"$WORK/timehist-floor"
    # the floor's three processes: every pid with a thread named floor-broker
    awk -v n=2200 '
        $3 ~ /\[[0-9]+(\/[0-9]+)?\]$/ {
            name = $3; id = name; sub(/\[.*/, "", name); sub(/.*\[/, "", id); sub(/\]/, "", id)
            pid = id; sub(/.*\//, "", pid)
            if (FNR == NR) { if (name == "floor-broker") fb[pid] = 1; next }
            if (!(pid in fb)) next
            k = "floor/" name; d = $5 + 0
            cnt[k]++; sum[k] += d; if (d > 0.1) o1[k]++; if (d > 1) o2[k]++; if (d > mx[k]) mx[k] = d
        }
        END { for (k in cnt) printf "sched_delay_per_rtt %s runs %.2f over_0.1ms %.3f over_1ms %.4f mean_us %.1f max_ms %.2f\n",
            k, cnt[k] / n, o1[k] / n, o2[k] / n, 1000 * sum[k] / cnt[k], mx[k] }' \
        "$WORK/timehist-floor" "$WORK/timehist-floor" | sort
fi
hogs_off
if [ $HUBB = 1 ]; then
    if chrt -b -p 0 "$CPID" >/dev/null; then
        measure quiet_hubbatch
        hogs_on
        sleep 1
        measure loaded_hubbatch
        hogs_off
    else
        say "chrt -b -p 0 $CPID failed: no SCHED_BATCH run"
    fi
fi
