#!/bin/bash
# bench/profile.sh [--mode cpu|perf|trace|callgrind] [--rtt] [--tasks N] [--keep] BUILD [OUT]
#
# Where the pipelined no-op throughput goes (with --rtt: where the
# synchronous round trip goes, zpar-bench rtt lb inline, one task at a
# time, the figures then per round trip): the same load as run.sh's
# "no-op tasks/s pipelined, inline" row (N load-balanced inline no-op
# function tasks on 2 engines, all submitted, then all waited for) on a
# private cluster of BUILD (a build directory: zpar, .libs/libzpar.so),
# its controller and engines started by hand so that they can run under a
# profiler.  Prints, per process (controller, engine 1, engine 2, client):
#
#   cpu        CPU time (user + system, from /proc) per 10,000 tasks, over
#              the measured phase only; and the tasks/s
#   perf       the same, and `perf record -g` (cpu-clock) of every process
#              during the phase: OUT/perf.PROC.data, reports in
#              OUT/perf.PROC.txt (self time by symbol)
#   trace      the same, and `perf trace -s` of every process during the
#              phase: system calls by thread and kind, OUT/trace.PROC.txt
#   callgrind  every process under valgrind --tool=callgrind, counts zeroed
#              before the phase and dumped after it: instructions per 10,000
#              tasks (noise-free: other jobs on the machine do not change
#              them), OUT/callgrind.PROC.out, OUT/callgrind.PROC.txt
#
# --tasks N: tasks in the phase (default 20000, callgrind 10000).  OUT
# defaults to a new directory under /tmp (printed).  Not a test: a tool for
# doc/benchmarks.md's profiles.  Every process it starts is stopped on exit.
set -u
export LC_ALL=C
MODE=cpu N= KEEP=0 RTT=0
args=()
while [ $# -gt 0 ]; do
    case "$1" in
    --mode) MODE=$2; shift ;;
    --mode=*) MODE=${1#--mode=} ;;
    --tasks) N=$2; shift ;;
    --tasks=*) N=${1#--tasks=} ;;
    --keep) KEEP=1 ;;
    --rtt) RTT=1 ;;
    -h | --help) sed -n '2,/^set -u$/s/^# \{0,1\}//p' "$0" | sed '$d'; exit 0 ;;
    -*) echo "profile.sh: unknown option $1" >&2; exit 2 ;;
    *) args+=("$1") ;;
    esac
    shift
done
case "$MODE" in cpu | perf | trace | callgrind) ;; *) echo "profile.sh: --mode cpu|perf|trace|callgrind" >&2; exit 2 ;; esac
if [ ${#args[@]} -lt 1 ] || [ ${#args[@]} -gt 2 ] || [ ! -x "${args[0]}/zpar" ]; then
    echo "usage: bench/profile.sh [--mode cpu|perf|trace|callgrind] [--tasks N] [--keep] BUILD [OUT]" >&2
    exit 2
fi
[ -n "$N" ] || { [ "$MODE" = callgrind ] && N=10000 || N=20000; }
ZB=$(cd "${args[0]}" && pwd)
ZPAR=$ZB/zpar
# the program itself, not libtool's wrapper script (a profiler would
# profile the shell)
ZPARBIN=$ZPAR
[ "$MODE" = callgrind ] && [ -x "$ZB/.libs/zpar" ] && ZPARBIN=$ZB/.libs/zpar
BENCH=$(cd "$(dirname "$0")" && pwd)
SRC=$(sed -n 's/^abs_top_srcdir = //p' "$ZB/Makefile" 2>/dev/null)
[ -n "$SRC" ] && [ -f "$SRC/include/zpar.h" ] || SRC=$(dirname "$BENCH")
OUT=${args[1]:-$(mktemp -d /tmp/zpar-profile.XXXXXX)}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
WORK=$(mktemp -d /tmp/zpar-profile-work.XXXXXX)
export ZPAR_DIR=$WORK/zpar
unset ZPAR_CONNECTION_FILE SLURM_JOB_ID PBS_JOBID
D=$ZPAR_DIR/local
TMO=${ZPAR_BENCH_TIMEOUT:-600}
PIDS=()

say() { echo "profile.sh: $*" >&2; }
. "$BENCH/lib.sh"
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$WORK/bin" "$D"
gcc -O2 -fPIC -shared -I"$SRC/include" -o "$WORK/bin/noop.so" "$BENCH/noop.c" &&
    gcc -O2 -g -I"$SRC/include" -o "$WORK/bin/zpar-bench" "$BENCH/zpar-bench.c" \
        -L"$ZB/.libs" -Wl,-rpath,"$ZB/.libs" -lzpar || { say "building the driver failed"; exit 1; }
ZBENCH=$WORK/bin/zpar-bench

# wrap NAME: the profiler's command prefix for process NAME
wrap() {
    case "$MODE" in
    callgrind) echo env LD_LIBRARY_PATH="$ZB/.libs" valgrind -q --tool=callgrind \
        --callgrind-out-file="$OUT/callgrind.$1.out" ;;
    *) echo ;;
    esac
}
cpu_ticks() { # pid -> utime + stime in clock ticks
    awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0
}

say "$MODE, $N tasks, build $ZB, output $OUT"
$(wrap controller) "$ZPARBIN" controller --dir "$D" >"$WORK/controller.log" 2>&1 &
PIDS+=($!)
CPID=$!
for i in $(seq 1 $((TMO * 10))); do [ -s "$D/engine.json" ] && break; sleep 0.1; done
[ -s "$D/engine.json" ] || { say "the controller did not start"; cat "$WORK/controller.log" >&2; exit 1; }
for k in 1 2; do
    $(wrap engine$k) "$ZPARBIN" engine --connection-file "$D/engine.json" >"$WORK/engine$k.log" 2>&1 &
    PIDS+=($!)
    eval EPID$k=$!
done
for i in $(seq 1 $((TMO * 10))); do
    [ "$("$ZBENCH" status 2>/dev/null | awk '$1 == "engines" { print $2 }')" = 2 ] && break
    sleep 0.2
done
[ "$("$ZBENCH" status 2>/dev/null | awk '$1 == "engines" { print $2 }')" = 2 ] ||
    { say "2 engines did not register"; exit 1; }

# the client: its own process, measured from its start (connect and 40
# warm-up tasks are in its figure, a small part)
ticks0=()
for p in $CPID $EPID1 $EPID2; do ticks0+=("$(cpu_ticks "$p")"); done
if [ "$MODE" = callgrind ]; then
    for p in $CPID $EPID1 $EPID2; do callgrind_control -z "$p" >/dev/null; done
fi
STATEV=task-clock,context-switches,raw_syscalls:sys_enter
if [ "$MODE" = cpu ] && command -v perf >/dev/null; then
    for x in controller:$CPID engine1:$EPID1 engine2:$EPID2; do
        perf stat --per-thread -e $STATEV -o "$OUT/stat.${x%%:*}.txt" -p "${x#*:}" 2>/dev/null &
        PERFS+=($!)
    done
    sleep 0.5
fi
if [ "$MODE" = trace ]; then
    for x in controller:$CPID engine1:$EPID1 engine2:$EPID2; do
        perf trace -s -o "$OUT/trace.${x%%:*}.txt" -p "${x#*:}" 2>/dev/null &
        PERFS+=($!)
    done
    sleep 1
fi
if [ "$MODE" = perf ]; then
    for x in controller:$CPID engine1:$EPID1 engine2:$EPID2; do
        perf record -q -g -e cpu-clock -o "$OUT/perf.${x%%:*}.data" -p "${x#*:}" 2>/dev/null &
        PERFS+=($!)
    done
    sleep 0.5
fi
LOAD=(tput inline "$WORK/bin/noop.so" "$N" "$N")
[ $RTT = 1 ] && LOAD=(rtt lb inline "$WORK/bin/noop.so" "$N")
load=$(cut -d' ' -f1-3 /proc/loadavg)
t0=$(date +%s.%N)
case "$MODE" in
perf) perf record -q -g -e cpu-clock -o "$OUT/perf.client.data" -- "$ZBENCH" "${LOAD[@]}" >"$WORK/tput.out" ;;
callgrind) $(wrap client) "$ZBENCH" "${LOAD[@]}" >"$WORK/tput.out" ;;
*) if command -v perf >/dev/null; then
       perf stat -e $STATEV -o "$OUT/stat.client.txt" -- \
           "$ZBENCH" "${LOAD[@]}" >"$WORK/tput.out" &
   else
       "$ZBENCH" "${LOAD[@]}" >"$WORK/tput.out" &
   fi
   CLPID=$!
   while kill -0 $CLPID 2>/dev/null; do ct=$(cpu_ticks $CLPID); [ "$ct" != 0 ] && CT=$ct; sleep 0.05; done
   wait $CLPID ;;
esac
rc=$?
t1=$(date +%s.%N)
[ $rc = 0 ] || { say "the driver failed"; cat "$WORK/tput.out" >&2; exit 1; }
sleep 0.2 # the last flush of the records
ticks1=()
for p in $CPID $EPID1 $EPID2; do ticks1+=("$(cpu_ticks "$p")"); done
if [ "$MODE" = callgrind ]; then
    for p in $CPID $EPID1 $EPID2; do callgrind_control -d "$p" >/dev/null; done
fi
if [ -n "${PERFS:-}" ]; then
    for p in "${PERFS[@]}"; do kill -INT "$p"; done
    wait "${PERFS[@]}" 2>/dev/null
fi
HZ=$(getconf CLK_TCK)
[ $RTT = 1 ] && what="synchronous load-balanced inline no-op round trips" || what="pipelined inline no-op tasks"
echo "profile of $N $what, $(date -u +%FT%TZ), load before: $load, build $ZB"
awk '$1 == "tput_per_s" { printf "tasks/s %s (wall %.2f s)\n", $2, '"$t1 - $t0"' }
     $1 ~ /^rtt_/ { print }' "$WORK/tput.out"
names=(controller engine1 engine2)
for i in 0 1 2; do
    awk -v n="${names[$i]}" -v d=$((ticks1[i] - ticks0[i])) -v hz="$HZ" -v N="$N" \
        'BEGIN { printf "cpu ms per 10k tasks, %-10s %8.1f\n", n, d * 1000 / hz * 10000 / N }'
done
[ -n "${CT:-}" ] && awk -v d="$CT" -v hz="$HZ" -v N="$N" \
    'BEGIN { printf "cpu ms per 10k tasks, %-10s %8.1f (whole client run)\n", "client", d * 1000 / hz * 10000 / N }'
case "$MODE" in
cpu)
    # perf stat: per thread, per 10k tasks
    for x in controller engine1 engine2 client; do
        [ -f "$OUT/stat.$x.txt" ] || continue
        echo "--- $x, per 10k tasks: thread, cpu ms, context switches, system calls"
        awk -v N="$N" '
            $0 ~ /task-clock|context-switches|sys_enter/ {
                # --per-thread lines: "comm-tid value event", else "value event"
                if ($1 ~ /^[0-9.,]+$/) { th = "(all)"; v = $1; ev = $2 " " $3 } else { th = $1; v = $2; ev = $3 " " $4 }
                gsub(",", "", v)
                if (!(th in seen)) { seen[th] = 1; order[n++] = th }
                if (ev ~ /task-clock/) ms[th] = v; else if (ev ~ /context/) cs[th] = v; else sc[th] = v
            }
            END {
                for (i = 0; i < n; i++) { t = order[i]
                    if (ms[t] + cs[t] + sc[t] == 0) continue
                    printf "  %-24s %8.1f %9.0f %9.0f\n", t, ms[t] * 10000 / N, cs[t] * 10000 / N, sc[t] * 10000 / N }
            }' "$OUT/stat.$x.txt"
    done
    ;;
perf)
    for x in controller engine1 engine2 client; do
        perf report -q -i "$OUT/perf.$x.data" --no-children --sort dso,sym --percent-limit 0.5 \
            --stdio -g none >"$OUT/perf.$x.txt" 2>/dev/null
        echo "--- perf, $x: top self time (OUT/perf.$x.txt)"
        head -25 "$OUT/perf.$x.txt"
    done
    ;;
callgrind)
    sleep 1
    for x in controller engine1 engine2 client; do
        f=$(ls -t "$OUT"/callgrind.$x.out* 2>/dev/null | head -1)
        [ -n "$f" ] || continue
        callgrind_annotate --inclusive=no "$f" >"$OUT/callgrind.$x.txt" 2>/dev/null
        tot=$(awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1; exit }' "$OUT/callgrind.$x.txt")
        awk -v n="$x" -v t="${tot:-0}" -v N="$N" \
            'BEGIN { printf "instructions per 10k tasks, %-10s %14.0f\n", n, t * 10000 / N }'
    done
    ;;
esac
say "output in $OUT"
