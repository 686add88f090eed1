#!/bin/bash
# bench/lowrate.sh [--tasks N] [--rate R] [--keep] BUILD
#
# What one task costs when tasks come one at a time: a private 2-engine
# cluster of BUILD (a build directory: zpar, .libs/libzpar.so), and a
# client (bench/lowrate-client.c) that runs, one phase after the other:
#
#   cmd-rate   N /bin/true command tasks submitted at R per second
#   noop-rate  N inline no-op function tasks at R per second
#   cmd-sync   N/2 /bin/true tasks, synchronous (submit, wait) round trips
#   noop-sync  N/2 inline no-op tasks, synchronous round trips
#   cmd-pipe   N /bin/true tasks submitted as fast as the client can
#              (saturation; not in the default set), with the two-at-a-time
#              posix_spawn floor (bench/floor-spawn.c -j 2) measured just
#              before and after it, and the ratio
#
# and prints, per phase, per task: CPU (microseconds, from
# /proc/PID/task/TID/schedstat) and context switches (voluntary +
# involuntary, /proc/PID/task/TID/status) of the controller, each engine,
# each engine's keeper process and the client; the controller, engines and
# keepers also per thread (named by their comm, "main" for the first).  The
# commands themselves are not counted (a command's own CPU is not the
# engine's).  Context switches are counts per task that a busy machine
# changes little; CPU figures grow when the machine is busy.
#
# --pin-controller CPU: every thread of the controller on that CPU
# (taskset); --pin-sched CPU: the task scheduler's thread and its libzmq
# I/O thread on that CPU (the controller's own ZPAR_CONTROLLER_CPU does
# this for all its schedulers; set ZPAR_CONTROLLER_CPU=none to compare);
# --tasks N (default 4000), --rate R (default 1000); --phases "a b" (the
# phases to run, default all four); --perf DIR: also `perf record -a -g`
# of the whole machine during each phase, into DIR/PHASE.perf.data (for
# perf report --sort comm,dso,sym), and of the controller and the engines
# alone (with their task children) into DIR/PHASE.zpar.perf.data; --trace: also `perf trace -s` of the
# controller and the engines during each phase (system calls per thread;
# the CPU figures then include the tracing's cost), printed after the phase; --callgrind:
# the controller runs under valgrind --tool=callgrind, and each phase also
# prints its instructions per task, per thread (noise-free: other jobs on
# the machine do not change them; the CPU and context switch figures of the
# controller are then valgrind's, ignore them).  Every process it
# starts is stopped on exit.  Not a test: a tool for doc/benchmarks.md.
set -u
export LC_ALL=C
N=4000 RATE=1000 KEEP=0 TRACE=0 CG=0 PERFDIR= PIN= PINSCHED= PHASES="cmd-rate noop-rate cmd-sync noop-sync"
args=()
while [ $# -gt 0 ]; do
    case "$1" in
    --tasks) N=$2; shift ;;
    --rate) RATE=$2; shift ;;
    --keep) KEEP=1 ;;
    --trace) TRACE=1 ;;
    --perf) PERFDIR=$2; shift ;;
    --callgrind) CG=1 ;;
    --phases) PHASES=$2; shift ;;
    --pin-controller) PIN=$2; shift ;;
    --pin-sched) PINSCHED=$2; shift ;;
    -h | --help) sed -n '2,/^set -u$/s/^# \{0,1\}//p' "$0" | sed '$d'; exit 0 ;;
    -*) echo "lowrate.sh: unknown option $1" >&2; exit 2 ;;
    *) args+=("$1") ;;
    esac
    shift
done
if [ ${#args[@]} -ne 1 ] || [ ! -x "${args[0]}/zpar" ]; then
    echo "usage: bench/lowrate.sh [--tasks N] [--rate R] [--keep] BUILD" >&2
    exit 2
fi
ZB=$(cd "${args[0]}" && pwd)
ZPAR=$ZB/zpar
BENCH=$(cd "$(dirname "$0")" && pwd)
SRC=$(sed -n 's/^abs_top_srcdir = //p' "$ZB/Makefile" 2>/dev/null)
[ -n "$SRC" ] && [ -f "$SRC/include/zpar.h" ] || SRC=$(dirname "$BENCH")
WORK=$(mktemp -d /tmp/zpar-lowrate.XXXXXX)
export ZPAR_DIR=$WORK/zpar
unset ZPAR_CONNECTION_FILE SLURM_JOB_ID PBS_JOBID
D=$ZPAR_DIR/local
PIDS=()

say() { echo "lowrate.sh: $*" >&2; }
. "$BENCH/lib.sh"
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$WORK/bin" "$D"
gcc -O2 -fPIC -shared -I"$SRC/include" -o "$WORK/bin/noop.so" "$BENCH/noop.c" &&
    gcc -O2 -g -I"$SRC/include" -o "$WORK/bin/lowrate-client" "$BENCH/lowrate-client.c" \
        -L"$ZB/.libs" -Wl,-rpath,"$ZB/.libs" -lzpar || { say "building the client failed"; exit 1; }
gcc -O2 -o "$WORK/bin/floor-spawn" "$BENCH/floor-spawn.c" || { say "building the floor failed"; exit 1; }
CLIENT=$WORK/bin/lowrate-client

CTL=("$ZPAR")
[ -n "$PIN" ] && CTL=(taskset -c "$PIN" "$ZPAR")
if [ $CG = 1 ]; then
    [ -x "$ZB/.libs/zpar" ] && CTL=(env LD_LIBRARY_PATH="$ZB/.libs" valgrind -q --tool=callgrind \
        --separate-threads=yes --callgrind-out-file="$WORK/cg.%p" "$ZB/.libs/zpar")
fi
"${CTL[@]}" controller --dir "$D" >"$WORK/controller.log" 2>&1 &
PIDS+=($!)
CPID=$!
for i in $(seq 1 600); do [ -s "$D/engine.json" ] && break; sleep 0.1; done
[ -s "$D/engine.json" ] || { say "the controller did not start"; cat "$WORK/controller.log" >&2; exit 1; }
for k in 1 2; do
    "$ZPAR" engine --connection-file "$D/engine.json" >"$WORK/engine$k.log" 2>&1 &
    PIDS+=($!)
    eval EPID$k=$!
done

# --pin-sched CPU: the task scheduler's thread and the libzmq I/O thread of
# its context (the controller's first ZMQbg/IO/0) on one core
if [ -n "$PINSCHED" ]; then
    sleep 0.5
    for t in $(ls /proc/$CPID/task | sort -n); do
        c=$(cat /proc/$CPID/task/$t/comm 2>/dev/null)
        case "$c" in
        zpar-sched) taskset -p -c "$PINSCHED" "$t" >/dev/null ;;
        ZMQbg/IO/0) [ -z "${io_pinned:-}" ] && taskset -p -c "$PINSCHED" "$t" >/dev/null && io_pinned=$t ;;
        esac
    done
fi

# snapshot FILE: "proc tid comm cpu_ns cs" for every thread of the
# controller and the engines
snapshot() {
    local x pid t comm ns cs
    local procs="controller:$CPID engine1:$EPID1 engine2:$EPID2" e c
    # each engine's keeper process (its child named zpar-keeper)
    for e in engine1:$EPID1 engine2:$EPID2; do
        for c in $(cat /proc/${e#*:}/task/*/children 2>/dev/null); do
            e=${e%%:*}
            [ "$(cat /proc/$c/comm 2>/dev/null)" = zpar-keeper ] && procs="$procs keeper${e#engine}:$c"
        done
        :
    done
    for x in $procs; do
        pid=${x#*:}
        for t in $(ls /proc/$pid/task | sort -n); do
            t=/proc/$pid/task/$t
            [ -r "$t/schedstat" ] || continue
            comm=$(tr ' ' _ <"$t/comm" 2>/dev/null)
            [ "${t##*/}" = "$pid" ] && comm=main
            read -r ns _ <"$t/schedstat" 2>/dev/null || continue
            cs=$(awk '/ctxt_switches/ { s += $2 } END { print s + 0 }' "$t/status" 2>/dev/null)
            echo "${x%%:*} ${t##*/} $comm $ns $cs"
        done | awk '{ k = $1 " " $3; r[k]++; if (r[k] > 1) $3 = $3 "#" r[k]; print }'
    done >"$1"
}

# a pause without a process: read with a timeout from a pipe nobody writes
# (a `sleep` every 5 ms would be 200 processes a second on the measured cores)
exec {NAPFD}<> <(:)
nap() { read -r -t "$1" -u "$NAPFD" _ 2>/dev/null; :; }
wait_for() { # FILE PID: until FILE exists or PID is gone (bounded: 300 s)
    local i
    for i in $(seq 1 15000); do
        [ -e "$1" ] && return 0
        kill -0 "$2" 2>/dev/null || return 1
        nap 0.02
    done
    return 1
}

report() { # NAME TASKS BEFORE AFTER CLIENT_OUT
    awk -v name="$1" -v N="$2" '
        FNR == 1 { f++ }
        f == 1 { ns0[$1 " " $2] = $4; cs0[$1 " " $2] = $5; next }
        f == 2 { k = $1 " " $2; if (!(k in ns0)) { ns0[k] = 0; cs0[k] = 0 }
                 th = $1 "/" $3; dns[th] += $4 - ns0[k]; dcs[th] += $5 - cs0[k]
                 pn[$1] += $4 - ns0[k]; pc[$1] += $5 - cs0[k]
                 if (!(th in seen)) { seen[th] = 1; order[n++] = th } next }
        f == 3 { cl[$1] = $2 }
        END {
            printf "== %s: %d tasks in %.2f s (%.0f/s), %d failed; per task:\n", name, N, cl["seconds"], cl["per_s"], cl["failed"]
            printf "  %-28s %9s %9s\n", "process / thread", "cpu_us", "ctx_sw"
            split("controller engine1 engine2 keeper1 keeper2", P, " ")
            for (p = 1; p <= 5; p++) {
                printf "  %-28s %9.1f %9.2f\n", P[p], pn[P[p]] / 1e3 / N, pc[P[p]] / N
                for (i = 0; i < n; i++) { th = order[i]; split(th, a, "/")
                    if (a[1] != P[p] || (dns[th] == 0 && dcs[th] == 0)) continue
                    printf "    %-26s %9.1f %9.2f\n", substr(th, length(a[1]) + 2), dns[th] / 1e3 / N, dcs[th] / N }
            }
            printf "  %-28s %9.1f %9.2f\n", "client", cl["client_cpu_us"], cl["client_cs"]
            for (p = 1; p <= 5; p++) { an += pn[P[p]]; ac += pc[P[p]] }
            printf "  %-28s %9.1f %9.2f\n", "all", an / 1e3 / N + cl["client_cpu_us"], ac / N + cl["client_cs"]
            if (cl["task_cpu_us"] > 0)
                printf "  %-28s %9.1f\n", "the commands themselves", cl["task_cpu_us"]
        }' "$3" "$4" "$5"
}

phase() { # NAME TASKS CLIENT-ARGS...
    local name=$1 n=$2 cpid rc
    shift 2
    rm -f "$WORK/mark."*
    LOWRATE_MARK=$WORK/mark "$CLIENT" "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" &
    cpid=$!
    local tpid=
    if [ $TRACE = 1 ] && wait_for "$WORK/mark.start" $cpid; then
        perf trace -s -o "$WORK/$name.trace" -p "$CPID,$EPID1,$EPID2" >/dev/null 2>&1 &
        tpid=$!
        sleep 1
    fi
    if [ $CG = 1 ] && wait_for "$WORK/mark.start" $cpid; then
        rm -f "$WORK"/cg.*
        callgrind_control -z $CPID >/dev/null 2>&1
    fi
    local ppid=
    if [ -n "$PERFDIR" ] && wait_for "$WORK/mark.start" $cpid; then
        perf record -a -g -o "$PERFDIR/$name.perf.data" >/dev/null 2>"$WORK/$name.perf.err" &
        ppid=$!
        perf record -g -p "$CPID,$EPID1,$EPID2" -o "$PERFDIR/$name.zpar.perf.data" >/dev/null \
            2>>"$WORK/$name.perf.err" &
        ppid="$ppid $!"
        sleep 0.5
    fi
    wait_for "$WORK/mark.start" $cpid && snapshot "$WORK/$name.before" && : >"$WORK/mark.go"
    wait_for "$WORK/mark.end" $cpid && snapshot "$WORK/$name.after"
    if [ -n "$ppid" ]; then
        kill -INT $ppid
        wait $ppid 2>/dev/null
    fi
    [ $CG = 1 ] && callgrind_control -d $CPID >/dev/null 2>&1
    if [ -n "$tpid" ]; then
        kill -INT $tpid
        wait $tpid
    fi
    wait $cpid
    rc=$?
    if [ $rc != 0 ] || [ ! -s "$WORK/$name.after" ]; then
        say "phase $name failed (exit $rc)"
        cat "$WORK/$name.err" >&2
        return 1
    fi
    report "$name" "$n" "$WORK/$name.before" "$WORK/$name.after" "$WORK/$name.out"
    if [ $CG = 1 ]; then
        # thread k of valgrind is the k-th thread created: name it from the
        # snapshot (threads in the order of their ids)
        echo "  controller instructions per task (callgrind), per thread:"
        awk '$1 == "controller" { print $3 }' "$WORK/$name.after" >"$WORK/names"
        for f in $(ls "$WORK"/cg.* 2>/dev/null | grep -- '-[0-9][0-9]*$' | sort -t- -k2n); do
            awk -v N="$n" -v f="$f" '
                FNR == NR { nm[NR] = $1; next }
                /^thread:/ { t = $2 }
                /^(summary|totals):/ { s = $2 }
                END { if (s > 0) printf "    %-26s %12.0f\n", (t in nm ? nm[t] : "thread " t), s / N }' \
                "$WORK/names" "$f"
        done | awk '{ print; s += $NF } END { printf "    %-26s %12.0f\n", "all", s }'
    fi
    if [ -n "$tpid" ]; then
        echo "  controller and engine system calls during the phase (perf trace -s):"
        sed -n '/events/,$p' "$WORK/$name.trace" | grep -v '^ *$' | sed 's/^/    /'
    fi
}

echo "bench/lowrate.sh: $(date -u +%FT%TZ), build $ZB ($(git -C "$SRC" rev-parse --short HEAD 2>/dev/null)), load $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cpus"
rc=0
for p in $PHASES; do
    case $p in
    cmd-rate) phase cmd-rate "$N" rate cmd "$WORK/bin/noop.so" "$RATE" "$N" || rc=1 ;;
    noop-rate) phase noop-rate "$N" rate noop "$WORK/bin/noop.so" "$RATE" "$N" || rc=1 ;;
    cmd-sync) phase cmd-sync $((N / 2)) sync cmd "$WORK/bin/noop.so" $((N / 2)) || rc=1 ;;
    noop-sync) phase noop-sync $((N / 2)) sync noop "$WORK/bin/noop.so" $((N / 2)) || rc=1 ;;
    cmd-pipe)
        "$WORK/bin/floor-spawn" -j 2 "$N" >"$WORK/floor0.out"
        phase cmd-pipe "$N" rate cmd "$WORK/bin/noop.so" 1000000 "$N" || rc=1
        "$WORK/bin/floor-spawn" -j 2 "$N" >"$WORK/floor1.out"
        f0=$(awk '$1 == "floor_spawn_per_s" { print $2 }' "$WORK/floor0.out")
        f1=$(awk '$1 == "floor_spawn_per_s" { print $2 }' "$WORK/floor1.out")
        awk '{ v[$1] += $2 / 2 } END { printf "  the floor per spawn (mean of its two runs): the commands themselves %.1f cpu_us, its two loops %.1f cpu_us\n", v["floor_cmd_cpu_us"], v["floor_loop_cpu_us"] }' \
            "$WORK/floor0.out" "$WORK/floor1.out"
        awk -v a="$f0" -v b="$f1" -v z="$(awk '$1 == "per_s" { print $2 }' "$WORK/cmd-pipe.out")" \
            'BEGIN { f = (a + b) / 2; printf "  two-at-a-time posix_spawn floor %s and %s /s; zpar %.0f /s = %.2f of their mean\n", a, b, z, z / f }'
        ;;
    *) say "unknown phase $p"; rc=1 ;;
    esac
done
echo "load at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
exit $rc
