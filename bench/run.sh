#!/bin/bash
# bench/run.sh [--quick] [--reps N] [--json FILE] - zpar against its floors
# and its peers, side by side, in one run.
#
# Builds the floor programs (raw libzmq ROUTER-DEALER broker, posix_spawn
# loops), the no-op task library and the libzpar driver (bench/zpar-bench.c)
# into a private work directory, then repeats N times (default 3): the
# floors, a fresh private 2-engine zpar cluster (started, measured, stopped:
# always, a trap), and the peers (ipyparallel, Dask) when installed.  Prints
# one table, every figure as min/median/max over the repetitions, and every
# ratio paired per repetition (zpar_i / floor_i, then min/median/max of the
# ratios):
#
#   metric | zpar | floor or peer | ratio | target | verdict
#
# and writes every repetition's raw values, the load average and the table's
# rows as JSON (bench/report.py).  doc/benchmarks.md says what each row is.
#
# Where zpar comes from: $ZPAR_BUILD, a build directory holding the `zpar`
# program and .libs/libzpar.so (a libtool build directory), or an install
# prefix's bin/ directory (libzpar then from ../lib or pkg-config zpar).
# Default: ./build, then <source>/build, then the directory of `zpar` on PATH.
# The driver (zpar-bench.c, noop.c) is compiled from the build's own source
# tree when the build directory names it (so an older build is measured with
# its own zpar.h), else from this tree.
#
#   --quick      reduced counts and 1 repetition: a sanity run of under a
#                minute (peers skipped)
#   --reps N     repetitions (default 3; 1 with --quick)
#   --json FILE  where the JSON goes (default bench-out/run-<UTC time>.json
#                under the current directory; "-" for none)
#   --peers      measure the peers even with --quick
#   --no-peers   do not measure the peers (their reference figures are shown)
#   --no-many    skip the 1,000-engine case
#   --keep       keep the work directory (logs, databases, raw outputs)
#   --curve      the zpar clusters use CurveZMQ (cluster start --curve); for
#                the cost side by side, bench/curve.sh
#
# Peers: ipyparallel 7.1 and Dask distributed, measured in the same run when
# the Debian packages are installed (scripts/bench-deps.sh, as root: apt-get
# install --no-install-recommends python3-ipyparallel python3-distributed;
# bench/peers.py through /usr/bin/python3), else the reference figures are
# shown, marked "(ref)".
#
# The load average is read at the start and at the end; a loud warning says
# when the machine was busy (load above 1.5 at the start, or above 6 at the
# end: more than this benchmark's own processes make).  Figures from a busy
# machine are not comparable with others.
#
# Environment: ZPAR_BUILD (above), ZPAR_BENCH_TIMEOUT (seconds any one
# phase may take, default 300), CC (default gcc).
# Not part of `make check`: these are measurements, not tests.  Exit status
# 0 when everything ran (whatever the verdicts), 1 when a phase failed.

set -u
export LC_ALL=C

QUICK=0 KEEP=0 CURVE= PEERS= REPS= JSON= MANY=1 PIN=
while [ $# -gt 0 ]; do
    case "$1" in
    --quick) QUICK=1 ;;
    --keep) KEEP=1 ;;
    --curve) CURVE=--curve ;;
    --peers) PEERS=1 ;;
    --no-peers) PEERS=0 ;;
    --no-many) MANY=0 ;;
    --pin-controller) PIN=${2:-}; shift ;;
    --reps) REPS=${2:-}; shift ;;
    --reps=*) REPS=${1#--reps=} ;;
    --json) JSON=${2:-}; shift ;;
    --json=*) JSON=${1#--json=} ;;
    -h | --help)
        sed -n '2,/^$/s/^# \{0,1\}//p' "$0"
        exit 0
        ;;
    *)
        echo "run.sh: unknown argument '$1' (see --help)" >&2
        exit 2
        ;;
    esac
    shift
done

BENCH=$(cd "$(dirname "$0")" && pwd)
SRC=$(dirname "$BENCH")
CC=${CC:-gcc}
export ZPAR_BENCH_TIMEOUT=${ZPAR_BENCH_TIMEOUT:-300}

if [ $QUICK = 1 ]; then
    FLOOR_RTT=2000 FLOOR_TPUT=20000 SPAWN_N=300
    RTT_INLINE=500 RTT_ISO=200 TPUT_N=2000 TPUT_ISO_N=500 CMD_N=300 BURST_N=10000
    PEER_RTT=100 PEER_TPUT=300 SETTLE=1
    PEERS=${PEERS:-0} REPS=${REPS:-1}
else
    FLOOR_RTT=20000 FLOOR_TPUT=200000 SPAWN_N=2000
    RTT_INLINE=5000 RTT_ISO=2000 TPUT_N=20000 TPUT_ISO_N=5000 CMD_N=2000 BURST_N=100000
    PEER_RTT=1000 PEER_TPUT=2000 SETTLE=3
    PEERS=${PEERS:-1} REPS=${REPS:-3}
fi
case "$REPS" in
'' | *[!0-9]* | 0)
    echo "run.sh: --reps wants a positive number" >&2
    exit 2
    ;;
esac
RATE=1000 # the low rate: tasks (and the broker's round trips) per second
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
[ -z "$JSON" ] && JSON="$PWD/bench-out/run-$STAMP.json"

say() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
fail() {
    say "FAILED: $*"
    FAILED=1
}
FAILED=0
PY=/usr/bin/python3
[ -x $PY ] || PY=$(command -v python3) || {
    echo "run.sh: python3 is needed for the report (bench/report.py)" >&2
    exit 1
}

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
# the driver from the build's own source tree, when it names one
DSRC=$(sed -n 's/^abs_top_srcdir = //p' "$ZB/Makefile" 2>/dev/null)
[ -n "$DSRC" ] && [ -f "$DSRC/bench/zpar-bench.c" ] && [ -f "$DSRC/include/zpar.h" ] || DSRC=$SRC
if [ -f "$ZB/.libs/libzpar.so" ]; then
    ZLIBS="-L$ZB/.libs -Wl,-rpath,$ZB/.libs -lzpar"
    ZCFLAGS="-I$DSRC/include"
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
RAW=$WORK/raw.tsv META=$WORK/meta.tsv
: >"$RAW"
: >"$META"

# "CPU_NS SWITCHES" of process $1 so far, all its threads
proc_usage() {
    local t cpu=0 cs=0 a b
    for t in /proc/$1/task/*; do
        read -r a _ <"$t/schedstat" 2>/dev/null || continue
        b=$(awk '/^(non)?voluntary_ctxt_switches:/ { s += $2 } END { print s + 0 }' "$t/status" 2>/dev/null)
        cpu=$((cpu + a))
        cs=$((cs + ${b:-0}))
    done
    echo "$cpu $cs"
}
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
    local pids p i alive=""
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
    for p in $alive; do
        say "cluster process $p still alive after 'zpar cluster stop': killing it"
        kill -KILL "$p" 2>/dev/null
    done
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

# key value lookup in a "key value" file
get() { awk -v k="$2" '$1 == k { print $2; exit }' "$1" 2>/dev/null; }
# one raw value of repetition $REP: put KEY VALUE (nothing when VALUE is empty)
put() { [ -n "${2:-}" ] && printf '%s\t%s\t%s\n' "$REP" "$1" "$2" >>"$RAW"; }
meta() { printf '%s\t%s\n' "$1" "$2" >>"$META"; }
status_kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status" 2>/dev/null; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

# ---------------------------------------------------------------- build
LOAD_START=$(loadavg)
say "zpar: $ZPAR (driver from $DSRC); work directory: $WORK; load average $LOAD_START"
ZMQ_FLAGS=$(pkg-config --cflags --libs libzmq) || {
    echo "run.sh: pkg-config libzmq failed (apt-get install libzmq3-dev)" >&2
    exit 1
}
B="$WORK/bin"
mkdir -p "$B" "$ZPAR_DIR"
$CC -O2 -o "$B/floor-broker" -I"$BENCH/../src/common" "$BENCH/floor-broker.c" "$BENCH/../src/common/zmtp.c" $ZMQ_FLAGS &&
    $CC -O2 -o "$B/floor-spawn" "$BENCH/floor-spawn.c" &&
    $CC -O2 -fPIC -shared $ZCFLAGS -o "$B/noop.so" "$DSRC/bench/noop.c" &&
    $CC -O2 $ZCFLAGS -o "$B/zpar-bench" "$DSRC/bench/zpar-bench.c" $ZLIBS || {
    FAILED=1
    echo "run.sh: building the benchmark programs failed" >&2
    exit 1
}
# the low-rate client (bench/lowrate.sh's), when the build's tree has it
LOWRATE=
[ -f "$DSRC/bench/lowrate-client.c" ] &&
    $CC -O2 $ZCFLAGS -o "$B/lowrate-client" "$DSRC/bench/lowrate-client.c" $ZLIBS && LOWRATE="$B/lowrate-client"
NOOP="$B/noop.so"
ZB_RUN="$B/zpar-bench"

MODE=full
[ $QUICK = 1 ] && MODE=quick
meta mode $MODE
meta reps "$REPS"
meta date "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
meta cores "$(nproc)"
meta kernel "$(uname -r)"
meta zpar_build "$ZB"
meta zpar_source "$DSRC"
meta zpar_commit "$(git -C "$DSRC" describe --always --dirty 2>/dev/null || echo unknown)"
meta curve "${CURVE:+yes}"
meta load_start "$LOAD_START"
for k in FLOOR_RTT FLOOR_TPUT SPAWN_N RTT_INLINE RTT_ISO TPUT_N TPUT_ISO_N CMD_N BURST_N PEER_RTT PEER_TPUT SETTLE RATE; do
    meta "n_$(echo $k | tr 'A-Z' 'a-z')" "${!k}"
done

# --------------------------------------------------------------- phases
floors() { # -> floor-broker.out, spawn1.out, spawn2.out in $D
    say "rep $REP: floor: raw libzmq broker ($FLOOR_RTT round trips, $FLOOR_TPUT pipelined)"
    timeout "$ZPAR_BENCH_TIMEOUT" "$B/floor-broker" -r "$FLOOR_RTT" -t "$FLOOR_TPUT" \
        -R "$RATE" -n "$CMD_N" >"$D/floor-broker.out" || fail "floor-broker"
    put broker_rtt_p50_us "$(get "$D/floor-broker.out" floor_rtt_median_us)"
    put broker_rtt_p99_us "$(get "$D/floor-broker.out" floor_rtt_p99_us)"
    put broker_msgs_per_s "$(get "$D/floor-broker.out" floor_tput_msgs)"
    put broker_rss_kb "$(get "$D/floor-broker.out" floor_broker_rss_kb)"
    put broker_rate_cpu_us "$(get "$D/floor-broker.out" floor_rate_broker_cpu_us)"
    put broker_rate_cs "$(get "$D/floor-broker.out" floor_rate_broker_switches)"
    # the same relay doing its own TCP I/O (no libzmq I/O thread): the floor
    # of a scheduler that reads and writes its connections itself
    timeout "$ZPAR_BENCH_TIMEOUT" "$B/floor-broker" -b own -r 200 -t 2000 \
        -R "$RATE" -n "$CMD_N" >"$D/floor-own.out" || fail "floor-broker -b own"
    put own_rate_cpu_us "$(get "$D/floor-own.out" floor_rate_broker_cpu_us)"
    put own_rate_cs "$(get "$D/floor-own.out" floor_rate_broker_switches)"
    # the command floor of a dispatcher: the same relay, two workers that
    # spawn /bin/true for every message, no per-task work but relaying
    say "rep $REP: floor: $CMD_N x /bin/true through a bare relay to two spawning workers"
    timeout "$ZPAR_BENCH_TIMEOUT" "$B/floor-broker" -b own -c "$CMD_N" >"$D/floor-cmds.out" ||
        fail "floor-broker -b own -c"
    put relay_cmds_per_s "$(get "$D/floor-cmds.out" floor_cmds_per_s)"
    say "rep $REP: floor: posix_spawn /bin/true x $SPAWN_N, one at a time, then two at a time"
    timeout "$ZPAR_BENCH_TIMEOUT" "$B/floor-spawn" "$SPAWN_N" >"$D/spawn1.out" || fail "floor-spawn"
    timeout "$ZPAR_BENCH_TIMEOUT" "$B/floor-spawn" -j 2 "$SPAWN_N" >"$D/spawn2.out" || fail "floor-spawn -j 2"
    put spawn1_per_s "$(get "$D/spawn1.out" floor_spawn_per_s)"
    put spawn2_per_s "$(get "$D/spawn2.out" floor_spawn_per_s)"
    # CPU per spawn of the commands themselves and of the loops (JSON only)
    put spawn2_cmd_cpu_us "$(get "$D/spawn2.out" floor_cmd_cpu_us)"
    put spawn2_loop_cpu_us "$(get "$D/spawn2.out" floor_loop_cpu_us)"
}

run_zb() { # name args... -> $D/name.out
    local name=$1
    shift
    say "rep $REP: zpar: $name ($*)"
    if ! "$ZB_RUN" "$@" >"$D/$name.out" 2>"$D/$name.err"; then
        tail -5 "$D/$name.err" >&2
        fail "$name (rep $REP)"
    fi
}

zpar_phases() {
    local cpid
    rm -rf "$ZPAR_DIR"
    mkdir -p "$ZPAR_DIR"
    say "rep $REP: zpar cluster start -n 2 (timed)"
    if ! "$ZB_RUN" start 2 30 -- "$ZPAR" cluster start -n 2 $CURVE >"$D/start.out" 2>>"$WORK/cluster.log"; then
        cat "$D/start.out" >&2
        fail "cannot start the cluster (rep $REP), see $WORK/cluster.log"
        stop_cluster
        return 1
    fi
    # ready = the command returned AND both engines are registered
    put start_ready_s "$(awk '$1 == "start_return_s" { r = $2 } $1 == "start_engines_s" { e = $2 }
        END { if (r >= 0 && e >= 0) print (r > e ? r : e) }' "$D/start.out")"
    cpid=$(controller_pid)
    [ -n "$cpid" ] || fail "no controller pid in $CLUSTER_DIR/client.json"
    [ -n "$PIN" ] && { taskset -a -p -c "$PIN" "$cpid" >/dev/null || fail "taskset -c $PIN $cpid"; }
    sleep 1
    put rss_idle_kb "$(status_kb "$cpid" VmRSS)"

    run_zb rtt_lb_inline rtt lb inline "$NOOP" "$RTT_INLINE"
    run_zb rtt_direct_inline rtt direct inline "$NOOP" "$RTT_INLINE"
    run_zb rtt_lb_iso rtt lb isolated "$NOOP" "$RTT_ISO"
    run_zb rtt_direct_iso rtt direct isolated "$NOOP" "$RTT_ISO"
    run_zb tput_inline tput inline "$NOOP" "$TPUT_N" "$TPUT_N"
    run_zb tput_iso tput isolated "$NOOP" "$TPUT_ISO_N" "$TPUT_ISO_N"
    run_zb cmd cmd "$CMD_N" "$CMD_N"
    local m
    for m in lb_inline direct_inline lb_iso direct_iso; do
        put "${m}_p50_us" "$(get "$D/rtt_$m.out" rtt_median_us)"
        put "${m}_p99_us" "$(get "$D/rtt_$m.out" rtt_p99_us)"
    done
    put tput_inline_per_s "$(get "$D/tput_inline.out" tput_per_s)"
    put tput_iso_per_s "$(get "$D/tput_iso.out" tput_per_s)"
    put cmd_per_s "$(get "$D/cmd.out" cmd_per_s)"
    put cmd_task_cpu_us "$(get "$D/cmd.out" cmd_task_cpu_us)"

    # the controller's CPU and context switches per /bin/true task at a
    # fixed RATE per second (each task alone: every thread wakes for it),
    # over the client's measured phase (lowrate-client's marks)
    if [ -n "$LOWRATE" ]; then
        local mark="$WORK/mark.$REP" c0 c1 t
        rm -f "$mark".*
        say "rep $REP: zpar: cmd_rate ($CMD_N /bin/true tasks at $RATE/s)"
        LOWRATE_MARK=$mark timeout "$ZPAR_BENCH_TIMEOUT" "$LOWRATE" rate cmd "$NOOP" "$RATE" "$CMD_N" \
            >"$D/cmd_rate.out" 2>"$D/cmd_rate.err" &
        local lpid=$!
        for t in $(seq 1 600); do [ -e "$mark.start" ] || ! kill -0 $lpid 2>/dev/null && break; sleep 0.1; done
        c0=$(proc_usage "$cpid")
        touch "$mark.go"
        if wait $lpid; then
            c1=$(proc_usage "$cpid")
            local n
            n=$(get "$D/cmd_rate.out" tasks)
            put ctl_rate_cpu_us "$(echo "$c0 $c1 $n" | awk '$5 > 0 { printf "%.1f", ($3 - $1) / 1e3 / $5 }')"
            put ctl_rate_cs "$(echo "$c0 $c1 $n" | awk '$5 > 0 { printf "%.2f", ($4 - $2) / $5 }')"
            put ctl_rate_per_s "$(get "$D/cmd_rate.out" per_s)"
        else
            tail -5 "$D/cmd_rate.err" >&2
            fail "cmd_rate (rep $REP)"
        fi
    fi

    # the burst: BURST_N no-op tasks submitted at once, then all waited for;
    # the controller's peak RSS over it (VmHWM, reset just before: clear_refs 5)
    put rss_before_burst_kb "$(status_kb "$cpid" VmRSS)"
    if echo 5 >"/proc/$cpid/clear_refs" 2>/dev/null; then
        run_zb burst tput inline "$NOOP" "$BURST_N" "$BURST_N"
        put burst_hwm_kb "$(status_kb "$cpid" VmHWM)"
    else
        say "cannot reset the controller's VmHWM (/proc/$cpid/clear_refs): its peak is over its whole life"
        run_zb burst tput inline "$NOOP" "$BURST_N" "$BURST_N"
        put burst_hwm_life_kb "$(status_kb "$cpid" VmHWM)"
    fi
    put burst_per_s "$(get "$D/burst.out" tput_per_s)"
    sleep "$SETTLE"
    put rss_settled_kb "$(status_kb "$cpid" VmRSS)"
    "$ZB_RUN" status >"$D/status.out" 2>>"$WORK/cluster.log"
    put completed_tasks "$(get "$D/status.out" completed)"
    put failed_tasks "$(get "$D/status.out" failed)"
    stop_cluster
    # the records, once the controller closed them (its WAL checkpointed)
    local bytes=0 rows=""
    for f in "$CLUSTER_DIR"/tasks.sqlite "$CLUSTER_DIR"/tasks.sqlite-wal; do
        [ -f "$f" ] && bytes=$((bytes + $(stat -c %s "$f")))
    done
    [ -f "$CLUSTER_DIR/tasks.sqlite" ] && command -v sqlite3 >/dev/null &&
        rows=$(sqlite3 "$CLUSTER_DIR/tasks.sqlite" 'SELECT count(*) FROM tasks;' 2>/dev/null)
    [ -z "$rows" ] && rows=$(get "$D/status.out" completed)
    put db_bytes "$bytes"
    put db_records "$rows"
    [ "${rows:-0}" -gt 0 ] && put bytes_per_record "$((bytes / rows))"
    return 0
}

# The command-line tools a sweep of commands is often run with, on the
# same /bin/true x CMD_N, two at a time: GNU parallel (scripts/bench-deps.sh
# installs it) and xargs -P 2 (findutils).  rate NAME CMD...: tasks/s of CMD
# reading the numbers 1..CMD_N on its input.
cmd_peers() {
    local t0 t1
    if command -v parallel >/dev/null 2>&1; then
        say "rep $REP: peer: GNU parallel -j 2 /bin/true x $CMD_N"
        t0=$(date +%s%N)
        if seq "$CMD_N" | timeout "$ZPAR_BENCH_TIMEOUT" parallel -j 2 /bin/true >/dev/null 2>&1; then
            t1=$(date +%s%N)
            put gnup_cmd_per_s "$(awk -v n="$CMD_N" -v d=$((t1 - t0)) 'BEGIN { printf "%.0f", n / (d / 1e9) }')"
        else
            say "peer GNU parallel failed (rep $REP)"
        fi
    else
        say "peer GNU parallel: not installed (scripts/bench-deps.sh as root)"
    fi
    say "rep $REP: peer: xargs -P 2 -n 1 /bin/true x $CMD_N"
    t0=$(date +%s%N)
    if seq "$CMD_N" | timeout "$ZPAR_BENCH_TIMEOUT" xargs -P 2 -n 1 /bin/true; then
        t1=$(date +%s%N)
        put xargs_cmd_per_s "$(awk -v n="$CMD_N" -v d=$((t1 - t0)) 'BEGIN { printf "%.0f", n / (d / 1e9) }')"
    else
        say "peer xargs failed (rep $REP)"
    fi
}

peers() {
    local p mod
    for p in ipp dask; do
        mod=ipyparallel
        [ $p = dask ] && mod=distributed
        if ! /usr/bin/python3 -c "import $mod" 2>/dev/null; then
            say "peer $p: /usr/bin/python3 cannot import $mod: reference figures shown" \
                "(install: scripts/bench-deps.sh as root)"
            continue
        fi
        say "rep $REP: peer: $p ($PEER_RTT round trips, $PEER_TPUT pipelined)"
        if timeout -k 5 "$ZPAR_BENCH_TIMEOUT" /usr/bin/python3 "$BENCH/peers.py" $p "$PEER_RTT" "$PEER_TPUT" \
            >"$D/peer.$p.out" 2>"$D/peer.$p.err"; then
            put ${p}_start_s "$(get "$D/peer.$p.out" ${p}_start_s)"
            put ${p}_rtt_p50_us "$(get "$D/peer.$p.out" ${p}_rtt_median_us)"
            put ${p}_rtt_p99_us "$(get "$D/peer.$p.out" ${p}_rtt_p99_us)"
            put ${p}_tput_per_s "$(get "$D/peer.$p.out" ${p}_tput_per_s)"
            put ${p}_rss_kb "$(get "$D/peer.$p.out" ${p}_rss_kb)"
        else
            tail -5 "$D/peer.$p.err" >&2
            say "peer $p failed (rep $REP): its reference figures are shown instead"
        fi
    done
}

# The 1,000-engine case: bench/many.sh (engine-farm processes, its own
# controller), once per run, direct and through 10 relays; its
# "many engines=N relays=R key=value ..." lines become raw values of rep 0
# named many_N_R_key.  Needs bench/engine-farm and tests/scale/zpar-scale in
# the build (make -C BUILD check TESTS= builds them).
many() {
    local line kv n r
    if [ ! -f "$BENCH/many.sh" ]; then
        meta many "pending: bench/many.sh is not in this tree"
        return
    fi
    if [ $QUICK = 1 ]; then
        meta many "skipped with --quick"
        return
    fi
    # check programs: `make` alone does not bring them up to date with zpar
    if [ -f "$ZB/Makefile" ]; then
        say "bringing bench/engine-farm and tests/scale/zpar-scale up to date in $ZB"
        make -C "$ZB" -s bench/engine-farm tests/scale/zpar-scale >"$WORK/many-build.log" 2>&1 ||
            say "building them failed: $WORK/many-build.log"
    fi
    say "the 1,000-engine case: bench/many.sh 1000:0 1000:10 (idle ${MANY_IDLE:-10} s, ${MANY_TASKS:-20000} tasks)"
    REP=0
    if ! ZPAR_BUILD=$ZB MANY_IDLE=${MANY_IDLE:-10} MANY_TASKS=${MANY_TASKS:-20000} \
        MANY_TIMEOUT=${MANY_TIMEOUT:-120} \
        timeout -k 10 600 sh "$BENCH/many.sh" 1000:0 1000:10 >"$WORK/many.out" 2>"$WORK/many.err"; then
        tail -5 "$WORK/many.err" >&2
        say "bench/many.sh failed or found a fault (its output: $WORK/many.out)"
        KEEP=1
    fi
    if grep -q '^many ' "$WORK/many.out"; then
        meta many "bench/many.sh 1000:0 1000:10"
    else
        meta many "failed: no figures from bench/many.sh ($WORK/many.err)"
    fi
    while read -r line; do
        n="" r=""
        for kv in $line; do
            case "$kv" in
            engines=*) n=${kv#engines=} ;;
            relays=*) r=${kv#relays=} ;;
            esac
        done
        [ -n "$n" ] && [ -n "$r" ] || continue
        for kv in $line; do
            case "$kv" in
            *=*) put "many_${n}_${r}_${kv%%=*}" "${kv#*=}" ;;
            esac
        done
    done < <(grep '^many ' "$WORK/many.out")
}

# ----------------------------------------------------------- repetitions
for REP in $(seq 1 "$REPS"); do
    D=$WORK/rep$REP
    mkdir -p "$D"
    put load_at_rep_start "$(cut -d' ' -f1 /proc/loadavg)"
    floors
    zpar_phases
    [ "$PEERS" = 1 ] && peers
    [ "$PEERS" = 1 ] && cmd_peers
done
REP=0
[ $MANY = 1 ] && many

LOAD_END=$(loadavg)
meta load_end "$LOAD_END"
meta peers "$([ "$PEERS" = 1 ] && echo measured || echo skipped)"
say "load average at the end: $LOAD_END"

# ------------------------------------------------------------ the report
if [ "$JSON" != - ]; then
    mkdir -p "$(dirname "$JSON")"
else
    JSON=""
fi
$PY "$BENCH/report.py" "$META" "$RAW" "$JSON" || fail "bench/report.py"
[ -n "$JSON" ] && [ -f "$JSON" ] && echo "JSON: $JSON"
[ $FAILED = 1 ] && echo "some phases FAILED: see the messages above and $WORK"
exit $FAILED
