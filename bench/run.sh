#!/bin/bash
# bench/run.sh [--quick] - zpar against its floors, side by side, in one run.
#
# Builds the floor programs (raw libzmq ROUTER-DEALER broker, posix_spawn
# loop), the no-op task library and the libzpar driver (bench/zpar-bench.c)
# into a private work directory, starts a private 2-engine cluster, measures,
# stops the cluster (always: trap), and prints one table:
#
#   metric | zpar | floor | ratio | target | verdict | peers
#
# Where zpar comes from: $ZPAR_BUILD, a build directory holding the `zpar`
# program and .libs/libzpar.so (a libtool build directory), or an install
# prefix's bin/ directory (libzpar then from ../lib or pkg-config zpar).
# Default: ./build, then <source>/build, then the directory of `zpar` on PATH.
#
#   --quick     reduced counts, a sanity run of under 30 s (peers skipped)
#   --peers     measure the peers even with --quick
#   --no-peers  do not measure the peers (their reference figures are shown)
#   --keep      keep the work directory (logs, databases) for inspection
#   --curve     the zpar clusters use CurveZMQ (cluster start --curve); for the
#               cost side by side, bench/curve.sh
#
# Peers: ipyparallel and Dask distributed, measured in the same run when the
# Debian packages are installed (apt-get install --no-install-recommends
# python3-ipyparallel python3-distributed; bench/peers.py, /usr/bin/python3),
# else the product owner's reference figures are shown, marked "(ref)".
#
# Environment: ZPAR_BUILD (above), ZPAR_BENCH_TIMEOUT (seconds any one
# phase may take, default 300), CC (default gcc).
# Not part of `make check`: these are measurements, not tests.  Exit status
# 0 when everything ran (whatever the verdicts), 1 when a phase failed.

set -u
export LC_ALL=C

QUICK=0
KEEP=0
CURVE=
PEERS=
for a in "$@"; do
    case "$a" in
    --quick) QUICK=1 ;;
    --keep) KEEP=1 ;;
    --curve) CURVE=--curve ;;
    --peers) PEERS=1 ;;
    --no-peers) PEERS=0 ;;
    -h | --help)
        sed -n '2,/^$/s/^# \{0,1\}//p' "$0"
        exit 0
        ;;
    *)
        echo "run.sh: unknown argument '$a' (use --quick, --peers, --no-peers, --keep, --curve)" >&2
        exit 2
        ;;
    esac
done

BENCH=$(cd "$(dirname "$0")" && pwd)
SRC=$(dirname "$BENCH")
CC=${CC:-gcc}
export ZPAR_BENCH_TIMEOUT=${ZPAR_BENCH_TIMEOUT:-300}

if [ $QUICK = 1 ]; then
    FLOOR_RTT=2000 FLOOR_TPUT=20000 SPAWN_N=300 START_RUNS=2
    RTT_INLINE=500 RTT_ISO=200 TPUT_N=2000 TPUT_ISO_N=1000 CMD_N=300 RECORDS_N=10000
    PEER_RTT=100 PEER_TPUT=300
    PEERS=${PEERS:-0}
else
    FLOOR_RTT=20000 FLOOR_TPUT=200000 SPAWN_N=2000 START_RUNS=5
    RTT_INLINE=5000 RTT_ISO=2000 TPUT_N=20000 TPUT_ISO_N=20000 CMD_N=2000 RECORDS_N=100000
    PEER_RTT=1000 PEER_TPUT=2000
    PEERS=${PEERS:-1}
fi
RECORDS_BATCH=10000

say() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
fail() {
    say "FAILED: $*"
    FAILED=1
}
FAILED=0

# ------------------------------------------------------------- find zpar
find_build() {
    local d
    for d in "${ZPAR_BUILD:-}" "$PWD/build" "$SRC/build"; do
        [ -n "$d" ] && [ -x "$d/zpar" ] && { (cd "$d" && pwd); return 0; }
    done
    d=$(command -v zpar 2>/dev/null) && { dirname "$d"; return 0; }
    return 1
}
if ! ZB=$(find_build); then
    echo "run.sh: no zpar build found: set ZPAR_BUILD to a build directory (with zpar and" >&2
    echo "        .libs/libzpar.so), or put zpar on PATH" >&2
    exit 1
fi
ZPAR="$ZB/zpar"
if [ -f "$ZB/.libs/libzpar.so" ]; then
    ZLIBS="-L$ZB/.libs -Wl,-rpath,$ZB/.libs -lzpar"
    ZCFLAGS="-I$SRC/include"
elif [ -f "$ZB/../lib/libzpar.so" ]; then
    ZLIBS="-L$ZB/../lib -Wl,-rpath,$ZB/../lib -lzpar"
    ZCFLAGS="-I$ZB/../include"
elif pkg-config --exists zpar 2>/dev/null; then
    ZLIBS=$(pkg-config --libs zpar)
    ZCFLAGS=$(pkg-config --cflags zpar)
else
    echo "run.sh: libzpar not found beside $ZPAR (no .libs/libzpar.so, ../lib, pkg-config zpar)" >&2
    exit 1
fi

# ------------------------------------------------------ work dir, cleanup
WORK=$(mktemp -d /tmp/zpar-bench.XXXXXX)
export ZPAR_DIR="$WORK/zpar"
unset ZPAR_CONNECTION_FILE SLURM_JOB_ID PBS_JOBID
CLUSTER_DIR="$ZPAR_DIR/local"

# the controller's pid: the connection file's "pid"
controller_pid() {
    sed -n 's/.*"pid"[ ]*:[ ]*\([0-9][0-9]*\).*/\1/p' "$CLUSTER_DIR/client.json" 2>/dev/null | head -1
}
# every pid this cluster recorded: the pids file ("controller PID START",
# "engine N PID START") and the connection file
cluster_pids() {
    {
        [ -f "$CLUSTER_DIR/pids" ] &&
            awk '$1 == "controller" { print $2 } $1 == "engine" { print $3 }' "$CLUSTER_DIR/pids"
        controller_pid
    } 2>/dev/null | grep -E '^[0-9]+$' | sort -u
}
stop_cluster() {
    local pids p i
    pids=$(cluster_pids)
    [ -z "$pids" ] && [ ! -e "$CLUSTER_DIR/client.json" ] && return 0
    timeout 20 "$ZPAR" cluster stop >>"$WORK/cluster.log" 2>&1
    # bounded wait, then make sure: these are the processes this script started
    for i in $(seq 1 50); do
        alive=""
        for p in $pids; do
            # still one of ours: alive and still running zpar (not a recycled pid)
            kill -0 "$p" 2>/dev/null && tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -q zpar &&
                alive="$alive $p"
        done
        [ -z "$alive" ] && break
        sleep 0.1
    done
    for p in ${alive:-}; do
        say "cluster process $p still alive after 'zpar cluster stop': killing it"
        kill -KILL "$p" 2>/dev/null
    done
    alive=""
}
cleanup() {
    stop_cluster
    if [ $KEEP = 1 ] || [ $FAILED = 1 ]; then
        say "work directory kept: $WORK"
    else
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# key value lookup in a result file
get() { awk -v k="$2" '$1 == k { print $2; exit }' "$1"; }

rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null; }

# ---------------------------------------------------------------- build
say "zpar: $ZPAR; work directory: $WORK"
ZMQ_FLAGS=$(pkg-config --cflags --libs libzmq) || {
    echo "run.sh: pkg-config libzmq failed (apt-get install libzmq3-dev)" >&2
    exit 1
}
B="$WORK/bin"
mkdir -p "$B" "$ZPAR_DIR"
$CC -O2 -o "$B/floor-broker" "$BENCH/floor-broker.c" $ZMQ_FLAGS &&
    $CC -O2 -o "$B/floor-spawn" "$BENCH/floor-spawn.c" &&
    $CC -O2 -fPIC -shared $ZCFLAGS -o "$B/noop.so" "$BENCH/noop.c" &&
    $CC -O2 $ZCFLAGS -o "$B/zpar-bench" "$BENCH/zpar-bench.c" $ZLIBS || {
    FAILED=1
    echo "run.sh: building the benchmark programs failed" >&2
    exit 1
}
NOOP="$B/noop.so"
ZB_RUN="$B/zpar-bench"

# ---------------------------------------------------------------- floors
say "floor: raw libzmq ROUTER-DEALER broker ($FLOOR_RTT round trips, $FLOOR_TPUT pipelined)"
timeout "$ZPAR_BENCH_TIMEOUT" "$B/floor-broker" -r "$FLOOR_RTT" -t "$FLOOR_TPUT" >"$WORK/floor.out" ||
    fail "floor-broker"
say "floor: posix_spawn /bin/true x $SPAWN_N"
timeout "$ZPAR_BENCH_TIMEOUT" "$B/floor-spawn" "$SPAWN_N" >>"$WORK/floor.out" || fail "floor-spawn"
cat "$WORK/floor.out" >&2

# ------------------------------------------------------- cluster start-up
: >"$WORK/start.out"
for i in $(seq 1 "$START_RUNS"); do
    say "start-up $i/$START_RUNS: zpar cluster start -n 2"
    rm -rf "$ZPAR_DIR"
    mkdir -p "$ZPAR_DIR"
    if "$ZB_RUN" start 2 30 -- "$ZPAR" cluster start -n 2 $CURVE >"$WORK/start.$i" 2>>"$WORK/cluster.log"; then
        cat "$WORK/start.$i" >>"$WORK/start.out"
    else
        cat "$WORK/start.$i" >&2
        fail "cluster start (run $i), see $WORK/cluster.log"
    fi
    stop_cluster
done
median_of() { # key -> median over start runs
    awk -v k="$1" '$1 == k && $2 >= 0 { v[n++] = $2 } END {
        if (!n) { print ""; exit }
        for (i = 0; i < n; i++) for (j = i + 1; j < n; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
        print v[int(n / 2)] }' "$WORK/start.out"
}
START_RET=$(median_of start_return_s)
START_ENG=$(median_of start_engines_s)
# ready = the command returned AND both engines are registered (per run: the later one)
START_READY=$(awk '$1 == "start_return_s" { r = $2 } $1 == "start_engines_s" { e = $2; if (r >= 0 && e >= 0) print (r > e ? r : e) }' \
    "$WORK/start.out" | sort -g | awk '{ v[n++] = $1 } END { if (n) print v[int(n / 2)] }')

# ------------------------------------------------- the measured cluster
rm -rf "$ZPAR_DIR"
mkdir -p "$ZPAR_DIR"
say "starting the measured cluster"
if ! "$ZB_RUN" start 2 30 -- "$ZPAR" cluster start -n 2 $CURVE >"$WORK/start.main" 2>>"$WORK/cluster.log"; then
    cat "$WORK/start.main" "$WORK/cluster.log" >&2
    fail "cannot start the cluster to measure"
    exit 1
fi
CPID=$(controller_pid)
[ -n "$CPID" ] || fail "no controller pid in $CLUSTER_DIR/client.json"
sleep 1
RSS_IDLE=$(rss_kb "$CPID")

run_zb() { # name args... -> $WORK/name.out
    local name=$1
    shift
    say "zpar: $name ($*)"
    if ! "$ZB_RUN" "$@" >"$WORK/$name.out" 2>"$WORK/$name.err"; then
        cat "$WORK/$name.err" >&2
        fail "$name"
    fi
}
run_zb rtt_direct_inline rtt direct inline "$NOOP" "$RTT_INLINE"
run_zb rtt_lb_inline rtt lb inline "$NOOP" "$RTT_INLINE"
run_zb rtt_direct_iso rtt direct isolated "$NOOP" "$RTT_ISO"
run_zb rtt_lb_iso rtt lb isolated "$NOOP" "$RTT_ISO"
run_zb tput_inline tput inline "$NOOP" "$TPUT_N" "$TPUT_N"
run_zb tput_iso tput isolated "$NOOP" "$TPUT_ISO_N" "$TPUT_ISO_N"
run_zb cmd cmd "$CMD_N" "$CMD_N"

# records: RSS idle, then after RECORDS_N more no-op tasks
RSS_BEFORE=$(rss_kb "$CPID")
run_zb records tput inline "$NOOP" "$RECORDS_N" "$RECORDS_BATCH"
sleep 0.5 # one record flush period and then some
RSS_AFTER=$(rss_kb "$CPID")
"$ZB_RUN" status >"$WORK/status.out" 2>>"$WORK/cluster.log"
DB_BYTES=0
for f in "$CLUSTER_DIR"/tasks.sqlite "$CLUSTER_DIR"/tasks.sqlite-wal; do
    [ -f "$f" ] && DB_BYTES=$((DB_BYTES + $(stat -c %s "$f")))
done
DB_RECORDS=$(get "$WORK/status.out" completed)
stop_cluster

# ---------------------------------------------------------------- peers
: >"$WORK/peers.out"
PEERS_MEASURED=""
if [ "$PEERS" = 1 ]; then
    for p in ipp dask; do
        mod=ipyparallel
        [ $p = dask ] && mod=distributed
        if /usr/bin/python3 -c "import $mod" 2>/dev/null; then
            say "peer: $p ($PEER_RTT round trips, $PEER_TPUT pipelined)"
            if timeout -k 5 "$ZPAR_BENCH_TIMEOUT" /usr/bin/python3 "$BENCH/peers.py" $p "$PEER_RTT" "$PEER_TPUT" \
                >>"$WORK/peers.out" 2>"$WORK/peers.$p.err"; then
                PEERS_MEASURED="$PEERS_MEASURED $p"
            else
                tail -5 "$WORK/peers.$p.err" >&2
                say "peer $p failed: its reference figures are shown instead"
            fi
        else
            say "peer $p: python3 module $mod not installed: reference figures shown"
        fi
    done
fi

# ------------------------------------------------------------- the table
F=$WORK/floor.out
FL_RTT=$(get "$F" floor_rtt_median_us)
FL_RTT99=$(get "$F" floor_rtt_p99_us)
FL_TPUT=$(get "$F" floor_tput_msgs)
FL_SPAWN=$(get "$F" floor_spawn_per_s)
FL_BRSS=$(get "$F" floor_broker_rss_kb)

row() { printf '%-44s | %12s | %12s | %7s | %-22s | %-7s | %s\n' "$@"; }
# ratio a b -> a/b with 2 decimals ("" if either is missing)
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b + 0 == 0) print "-"; else printf "%.2f", a / b }'; }
verdict() { # value op limit
    awk -v v="$1" -v op="$2" -v l="$3" 'BEGIN {
        if (v == "" || v == "-") { print "n/a"; exit }
        ok = (op == "le") ? (v + 0 <= l + 0) : (v + 0 >= l + 0); print ok ? "PASS" : "FAIL" }'
}
num() { [ -n "$1" ] && printf '%s' "$1" || printf -- '-'; }
mib() { awk -v k="$1" 'BEGIN { if (k == "") print "-"; else printf "%.1f MiB", k / 1024 }'; }

R() { get "$WORK/$1.out" "$2"; }
LB_IN=$(R rtt_lb_inline rtt_median_us)
LB_IN99=$(R rtt_lb_inline rtt_p99_us)
DI_IN=$(R rtt_direct_inline rtt_median_us)
DI_IN99=$(R rtt_direct_inline rtt_p99_us)
LB_ISO=$(R rtt_lb_iso rtt_median_us)
LB_ISO99=$(R rtt_lb_iso rtt_p99_us)
DI_ISO=$(R rtt_direct_iso rtt_median_us)
DI_ISO99=$(R rtt_direct_iso rtt_p99_us)
TP_IN=$(R tput_inline tput_per_s)
TP_ISO=$(R tput_iso tput_per_s)
CMD=$(R cmd cmd_per_s)
CMD_PER=$(awk -v c="$CMD" 'BEGIN { if (c == "") print ""; else printf "%.0f", c / 2 }')
REC_TP=$(R records tput_per_s)
RSS_GROWTH=$(awk -v a="$RSS_AFTER" -v b="$RSS_BEFORE" 'BEGIN { if (a == "" || b == "") print ""; else print a - b }')
BYTES_PER_REC=$(awk -v b="$DB_BYTES" -v n="$DB_RECORDS" 'BEGIN { if (n + 0 == 0) print "-"; else printf "%.0f", b / n }')
LB_RATIO=$(ratio "$LB_IN" "$FL_RTT")
CMD_RATIO=$(ratio "$CMD" "$FL_SPAWN")
MODE=full
[ $QUICK = 1 ] && MODE=quick

echo
echo "zpar benchmark ($MODE run${CURVE:+, CurveZMQ}, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(uname -r))"
P=$WORK/peers.out
pv() { # peer key scale fmt reference -> the measured value (scaled, formatted) or "reference (ref)"
    local v
    v=$(get "$P" "$2")
    case " $PEERS_MEASURED " in
    *" $1 "*)
        if [ -n "$v" ] && [ "$v" != -1 ]; then
            awk -v v="$v" -v s="$3" -v f="$4" 'BEGIN { printf f, v * s }'
            return
        fi
        ;;
    esac
    printf '%s (ref)' "$5"
}
PC_RTT="ipp $(pv ipp ipp_rtt_median_us 0.001 '%.1f ms' '4.6 ms'), Dask $(pv dask dask_rtt_median_us 0.001 '%.1f ms' '10.6 ms')"
PC_RTT99="ipp $(pv ipp ipp_rtt_p99_us 0.001 '%.1f ms' '-'), Dask $(pv dask dask_rtt_p99_us 0.001 '%.1f ms' '-')"
PC_TPUT="ipp $(pv ipp ipp_tput_per_s 1 '%.0f/s' '~330/s'), Dask $(pv dask dask_tput_per_s 1 '%.0f/s' '~630/s')"
PC_START="ipp $(pv ipp ipp_start_s 1 '%.1f s' '~8 s'), Dask $(pv dask dask_start_s 1 '%.2f s' '-')"
PC_RSS="ipp hub $(pv ipp ipp_rss_kb 0.0009765625 '%.0f MiB' '82-137 MiB'), Dask sched+client $(pv dask dask_rss_kb 0.0009765625 '%.0f MiB' '-')"
echo "floors measured in this run.  peers: ipyparallel 7.1 (ipp) and Dask distributed 2022.12, from"
if [ -n "$PEERS_MEASURED" ]; then
    echo "Debian, measured in this run ($PEER_RTT round trips, $PEER_TPUT pipelined no-op Python tasks, 2 engines"
    echo "or workers):$PEERS_MEASURED; figures marked (ref) are the product owner's reference figures, not"
    echo "measured in this run."
else
    echo "the product owner's measurements on this machine: reference figures, NOT measured in this run"
    echo "(ipyparallel/Dask not installed here, or --quick / --no-peers)."
fi
echo
row "metric" "zpar" "floor" "ratio" "target" "verdict" "peers"
row "--------------------------------------------" "------------" "------------" "-------" "----------------------" "-------" "-----------------"
row "round trip, load-balanced, inline, median" "$(num "$LB_IN") us" "$(num "$FL_RTT") us" "$LB_RATIO" "<= 2x floor" \
    "$(verdict "$LB_RATIO" le 2)" "$PC_RTT"
row "round trip, load-balanced, inline, p99" "$(num "$LB_IN99") us" "$(num "$FL_RTT99") us" "$(ratio "$LB_IN99" "$FL_RTT99")" "-" "-" "$PC_RTT99"
row "round trip, direct, inline, median" "$(num "$DI_IN") us" "$(num "$FL_RTT") us" "$(ratio "$DI_IN" "$FL_RTT")" "-" "-" ""
row "round trip, direct, inline, p99" "$(num "$DI_IN99") us" "$(num "$FL_RTT99") us" "$(ratio "$DI_IN99" "$FL_RTT99")" "-" "-" ""
row "round trip, load-balanced, isolated, median" "$(num "$LB_ISO") us" "$(num "$FL_RTT") us" "$(ratio "$LB_ISO" "$FL_RTT")" "-" "-" ""
row "round trip, load-balanced, isolated, p99" "$(num "$LB_ISO99") us" "$(num "$FL_RTT99") us" "$(ratio "$LB_ISO99" "$FL_RTT99")" "-" "-" ""
row "round trip, direct, isolated, median" "$(num "$DI_ISO") us" "$(num "$FL_RTT") us" "$(ratio "$DI_ISO" "$FL_RTT")" "-" "-" ""
row "round trip, direct, isolated, p99" "$(num "$DI_ISO99") us" "$(num "$FL_RTT99") us" "$(ratio "$DI_ISO99" "$FL_RTT99")" "-" "-" ""
row "no-op tasks/s, $TPUT_N pipelined, inline" "$(num "$TP_IN")" "$(num "$FL_TPUT")" "$(ratio "$TP_IN" "$FL_TPUT")" ">= 20000/s" \
    "$(verdict "$TP_IN" ge 20000)" "$PC_TPUT"
row "no-op tasks/s, $TPUT_ISO_N pipelined, isolated" "$(num "$TP_ISO")" "$(num "$FL_TPUT")" "$(ratio "$TP_ISO" "$FL_TPUT")" "-" "-" ""
row "command tasks/s, $CMD_N x /bin/true, total" "$(num "$CMD")" "$(num "$FL_SPAWN")" "$CMD_RATIO" ">= 0.80x floor" \
    "$(verdict "$CMD_RATIO" ge 0.8)" ""
row "command tasks/s, per engine" "$(num "$CMD_PER")" "$(num "$FL_SPAWN")" "$(ratio "$CMD_PER" "$FL_SPAWN")" "-" "-" ""
row "cluster ready, 2 engines (median of $START_RUNS)" "$(num "$START_READY") s" "-" "-" "<= 0.5 s" \
    "$(verdict "$START_READY" le 0.5)" "$PC_START"
row "controller RSS, idle" "$(mib "$RSS_IDLE")" "$(mib "$FL_BRSS")" "$(ratio "$RSS_IDLE" "$FL_BRSS")" "<= 16 MiB" \
    "$(verdict "$RSS_IDLE" le 16384)" ""
row "controller RSS, after $RECORDS_N more tasks" "$(mib "$RSS_AFTER")" "$(mib "$FL_BRSS")" "$(ratio "$RSS_AFTER" "$FL_BRSS")" "<= 16 MiB, bounded" \
    "$(verdict "$RSS_AFTER" le 16384)" "$PC_RSS"
row "controller RSS growth over those tasks" "$(mib "$RSS_GROWTH")" "-" "-" "bounded cache" "-" ""
row "task records in the database (ok)" "$(num "$DB_RECORDS")" "-" "-" "-" "-" ""
row "task database size" "$(mib $((DB_BYTES / 1024)))" "-" "-" "-" "-" ""
row "task database bytes per record" "$(num "$BYTES_PER_REC")" "-" "-" "-" "-" ""
row "no-op tasks/s over those $RECORDS_N tasks" "$(num "$REC_TP")" "$(num "$FL_TPUT")" "$(ratio "$REC_TP" "$FL_TPUT")" "-" "-" ""
echo
echo "details: start command returned (median) $(num "$START_RET") s; 2 engines registered (median)" \
    "$(num "$START_ENG") s; floor broker pipelined $FL_TPUT msg/s, posix_spawn floor on one core."
echo "controller pid $CPID: RSS idle $(num "$RSS_IDLE") kB, before records $(num "$RSS_BEFORE") kB, after $(num "$RSS_AFTER") kB;" \
    "hub: $(tr '\n' ' ' <"$WORK/status.out" 2>/dev/null)"
[ $FAILED = 1 ] && echo "some phases FAILED: see the messages above and $WORK"
exit $FAILED
