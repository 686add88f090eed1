#!/bin/bash
# bench/python.sh [--quick] [--reps N] [--keep] - the Python client's
# overhead per task against the C client's, in one run, on one cluster.
#
# Builds the C driver (bench/zpar-bench.c) and the no-op task library
# (bench/noop.c) as bench/run.sh does, starts a private 2-engine cluster,
# then repeats N times (default 3), the C driver and the same loop written
# with the Python client (package zpar, this tree's bindings/python,
# through /usr/bin/python3) one after the other:
#
#   rtt   one no-op function task (inline, load-balanced) at a time:
#         submit, wait, next; the median round trip (us)
#   tput  no-op function tasks (inline) in pipelined batches of 1,000:
#         submit 1,000, wait for all, check each result; tasks per second
#   cmd   /bin/true command tasks in batches of 1,000; tasks per second;
#         Python twice: futures (submit + concurrent.futures.wait) and
#         Client.map (no Future per task)
#   cpu   the client process's CPU (user + system) per task, of the tput
#         and cmd loops: (CPU of a run of N tasks - CPU of a run of N/5) /
#         (0.8 N), which leaves out start-up (the interpreter's too),
#         connection and warm-up for both
#
# and prints each figure as min/median/max over the repetitions, with the
# ratio Python / C paired per repetition (for rates: the C rate over the
# Python rate, so that every ratio reads "times the C client's cost per
# task"); the target of issue 13 is a ratio <= 2.
#
# Where zpar comes from: $ZPAR_BUILD (a build directory), else ./build,
# else <source>/build.  Environment: ZPAR_BENCH_TIMEOUT (seconds a phase
# may take, default 300), CC (default gcc).  Not part of `make check`.

set -u
export LC_ALL=C
QUICK=0 KEEP=0 REPS=
while [ $# -gt 0 ]; do
    case "$1" in
    --quick) QUICK=1 ;;
    --keep) KEEP=1 ;;
    --reps) REPS=${2:-}; shift ;;
    --reps=*) REPS=${1#--reps=} ;;
    -h | --help)
        sed -n '2,/^$/s/^# \{0,1\}//p' "$0"
        exit 0
        ;;
    *)
        echo "python.sh: unknown argument '$1' (see --help)" >&2
        exit 2
        ;;
    esac
    shift
done
BENCH=$(cd "$(dirname "$0")" && pwd)
SRC=$(dirname "$BENCH")
CC=${CC:-gcc}
PY=/usr/bin/python3
[ -x $PY ] || PY=$(command -v python3) || { echo "python.sh: no python3" >&2; exit 1; }
export ZPAR_BENCH_TIMEOUT=${ZPAR_BENCH_TIMEOUT:-300}
if [ $QUICK = 1 ]; then
    RTT_N=300 TPUT_N=3000 CMD_N=600 REPS=${REPS:-1}
else
    RTT_N=3000 TPUT_N=20000 CMD_N=3000 REPS=${REPS:-3}
fi
say() { printf '[python.sh %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

ZB=
for d in "${ZPAR_BUILD:-}" "$PWD/build" "$SRC/build"; do
    [ -n "$d" ] && [ -x "$d/zpar" ] && [ -f "$d/.libs/libzpar.so" ] && { ZB=$(cd "$d" && pwd); break; }
done
[ -n "$ZB" ] || { echo "python.sh: no zpar build: set ZPAR_BUILD to a build directory" >&2; exit 1; }
ZPAR=$ZB/zpar

WORK=$(mktemp -d /tmp/zpar-pybench.XXXXXX)
export ZPAR_DIR=$WORK/zpar XDG_RUNTIME_DIR=$WORK/run
mkdir -p "$ZPAR_DIR" "$WORK/bin"
mkdir -m 700 "$XDG_RUNTIME_DIR"
unset ZPAR_CONNECTION_FILE SLURM_JOB_ID PBS_JOBID
cleanup() {
    [ -e "$ZPAR_DIR/local/client.json" ] && timeout 30 "$ZPAR" cluster stop >/dev/null 2>&1
    [ $KEEP = 1 ] && say "work directory kept: $WORK" || rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say "zpar: $ZB; work directory $WORK; load average $(cut -d' ' -f1-3 /proc/loadavg)"
$CC -O2 -fPIC -shared -I"$SRC/include" -o "$WORK/bin/noop.so" "$SRC/bench/noop.c" &&
    $CC -O2 -I"$SRC/include" -o "$WORK/bin/zpar-bench" "$SRC/bench/zpar-bench.c" \
        -L"$ZB/.libs" -Wl,-rpath,"$ZB/.libs" -lzpar || {
    echo "python.sh: building the C driver failed" >&2
    exit 1
}
timeout 120 "$ZPAR" cluster start -n 2 >"$WORK/start.out" 2>&1 || {
    cat "$WORK/start.out" >&2
    exit 1
}

ZPAR_LIBRARY=$ZB/.libs/libzpar.so.0 PYTHONPATH=$SRC/bindings/python PYTHONDONTWRITEBYTECODE=1 \
    RTT_N=$RTT_N TPUT_N=$TPUT_N CMD_N=$CMD_N REPS=$REPS \
    CDRIVER=$WORK/bin/zpar-bench NOOP=$WORK/bin/noop.so \
    "$PY" - "$WORK" <<'EOF'
import os, resource, statistics, subprocess, sys, time

work = sys.argv[1]
env = os.environ
RTT_N, TPUT_N, CMD_N, REPS = (int(env[k]) for k in ("RTT_N", "TPUT_N", "CMD_N", "REPS"))
TMO = float(env.get("ZPAR_BENCH_TIMEOUT", "300"))
NOOP = env["NOOP"]

# the Python driver: the loops of bench/zpar-bench.c, written with package zpar
DRIVER = r'''
import concurrent.futures as cf, statistics, sys, time, zpar
mode, n, noop = sys.argv[1], int(sys.argv[2]), sys.argv[3]
c = zpar.Client()
live = [e for e in c.engines() if e["state"] != "dead"]
def task():
    if mode.startswith("cmd"):
        return c.submit(["/bin/true"])
    return c.function(noop, "noop", b"", inline=True)
if mode == "rtt":
    lat = []
    for i in range(-50, n):
        t0 = time.perf_counter()
        r = task().result()
        if i >= 0:
            lat.append(time.perf_counter() - t0)
    lat.sort()
    print("rtt_median_us %.1f" % (lat[n // 2] * 1e6))
else:
    for _ in range(20 * len(live)):
        task().result()
    t0 = time.perf_counter()
    done = 0
    while done < n:
        k = min(1000, n - done)
        if mode == "cmdmap":
            assert all(r.ok for r in c.map(["/bin/true"], range(k)))
        else:
            fs = [task() for _ in range(k)]
            cf.wait(fs)
            assert all(f.result().ok for f in fs)
        done += k
    el = time.perf_counter() - t0
    print("%s_per_s %.0f" % ("cmd" if mode.startswith("cmd") else "tput", n / el))
c.close()
'''
pyfile = os.path.join(work, "pydriver.py")
with open(pyfile, "w") as f:
    f.write(DRIVER)


def run(argv):
    """Run a driver; its "key value" lines and its CPU seconds."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=TMO,
                       text=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode != 0:
        sys.exit("python.sh: %s failed (%d): %s" % (argv[:3], p.returncode, p.stderr))
    kv = dict(line.split()[:2] for line in p.stdout.splitlines() if len(line.split()) >= 2)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return kv, cpu


C = [env["CDRIVER"]]
P = [sys.executable, pyfile]
rows = {}  # metric -> list of (c, py)


def add(metric, c, p):
    rows.setdefault(metric, []).append((c, p))


for rep in range(1, REPS + 1):
    print("[python.sh] rep %d/%d" % (rep, REPS), file=sys.stderr, flush=True)
    kc, _ = run(C + ["rtt", "lb", "inline", NOOP, str(RTT_N)])
    kp, _ = run(P + ["rtt", str(RTT_N), NOOP])
    add("rtt_us", float(kc["rtt_median_us"]), float(kp["rtt_median_us"]))
    for what, n, cargs, pmodes in (("tput", TPUT_N, ["tput", "inline", NOOP], ["tput"]),
                                   ("cmd", CMD_N, ["cmd"], ["cmd", "cmdmap"])):
        small = max(n // 5, 100)
        kc, cc = run(C + cargs + [str(n), "1000"])
        _, cc0 = run(C + cargs + [str(small), "1000"])
        for pm in pmodes:
            kp, cp = run(P + [pm, str(n), NOOP])
            _, cp0 = run(P + [pm, str(small), NOOP])
            name = what + ("_map" if pm == "cmdmap" else "")
            add(name + "_per_s", float(kc[what + "_per_s"]), float(kp[what + "_per_s"]))
            add(name + "_cpu_us", (cc - cc0) / (n - small) * 1e6, (cp - cp0) / (n - small) * 1e6)


def mmm(v):
    return "%s/%s/%s" % tuple(("%.0f" if abs(x) >= 100 else "%.2f") % x
                              for x in (min(v), statistics.median(v), max(v)))


print("metric           | C client (min/med/max) | Python (min/med/max) | Python/C cost (min/med/max) | target")
for m, pairs in rows.items():
    cs = [c for c, _ in pairs]
    ps = [p for _, p in pairs]
    # every ratio reads "times the C client's cost per task"
    ratios = [c / p if m.endswith("per_s") else p / c for c, p in pairs]
    print("%-16s | %22s | %20s | %27s | <= 2" % (m, mmm(cs), mmm(ps), mmm(ratios)))
print("reps %d, rtt %d tasks, tput %d tasks, cmd %d tasks, 2 engines, load average %s"
      % (REPS, RTT_N, TPUT_N, CMD_N, open("/proc/loadavg").read().split()[0]))
EOF
