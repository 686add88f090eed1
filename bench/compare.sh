#!/bin/bash
# bench/compare.sh [--quick] [--reps N] [--keep] [--json FILE] BUILD_BEFORE BUILD_AFTER
#
# The "no regression" comparison of two zpar builds, from one run: runs
# bench/run.sh --reps 1 (no peers, no 1,000-engine case) for each build,
# alternately and in pairs (repetition i: before then after when i is odd,
# after then before when it is even, so that a drifting load favours
# neither), and prints for every figure of run.sh:
#
#   metric | before min/med/max | after min/med/max | after/before min/med/max | noise | verdict
#
# after/before is paired per repetition (after_i / before_i, then min /
# median / max of those ratios).  noise = the larger relative spread
# (max - min) / median of the two builds; the verdict is "WORSE" when the
# median paired ratio moved the wrong way by more than that noise (lower is
# better for times, memory and bytes, higher for rates), "better" when it
# moved the right way by more, else "same" ("-" with one repetition: no
# spread to judge by).  The floors are listed too:
# they should come out "same" (if not, the load changed under the run).
# The zpar / floor ratios of run.sh's targets are compared as well.
#
# BUILD_* are build directories (holding zpar and .libs/libzpar.so), given
# to run.sh as ZPAR_BUILD.  This tree's run.sh measures both; it compiles
# each build's driver (bench/zpar-bench.c) from that build's own source
# tree (named by the build's Makefile), against that tree's include/zpar.h.
#   --quick      run.sh --quick (a sanity run, a few seconds a run)
#   --reps N     repetitions per build (default 3)
#   --keep       keep the raw outputs (their directory is printed)
#   --json FILE  also write the comparison as JSON
# Do not run it while other heavy jobs share the machine: the figures are
# only comparable when both builds see the same load (run.sh's load warning
# is repeated).  Exit status 0 when every run completed, 1 otherwise.
set -u
export LC_ALL=C
REPS=3 QUICK= KEEP=0 JSON=
args=()
while [ $# -gt 0 ]; do
    case "$1" in
    --quick) QUICK=--quick ;;
    --reps) REPS=${2:-}; shift ;;
    --reps=*) REPS=${1#--reps=} ;;
    --json) JSON=${2:-}; shift ;;
    --json=*) JSON=${1#--json=} ;;
    --keep) KEEP=1 ;;
    -h | --help) sed -n '2,/^$/s/^# \{0,1\}//p' "$0"; exit 0 ;;
    -*) echo "compare.sh: unknown option $1" >&2; exit 2 ;;
    *) args+=("$1") ;;
    esac
    shift
done
if [ ${#args[@]} -ne 2 ] || ! [ "$REPS" -ge 1 ] 2>/dev/null; then
    echo "usage: bench/compare.sh [--quick] [--reps N] [--keep] [--json FILE] BUILD_BEFORE BUILD_AFTER" >&2
    exit 2
fi
HERE=$(cd "$(dirname "$0")" && pwd)
for b in "${args[@]}"; do
    [ -x "$b/zpar" ] || { echo "compare.sh: $b/zpar not found (not a build directory)" >&2; exit 2; }
done
BEFORE=$(cd "${args[0]}" && pwd)
AFTER=$(cd "${args[1]}" && pwd)
OUT=$(mktemp -d /tmp/zpar-compare.XXXXXX)
say() { printf '[compare %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
FAILED=0
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
for i in $(seq 1 "$REPS"); do
    order="before after"
    [ $((i % 2)) = 0 ] && order="after before"
    for side in $order; do
        [ $side = before ] && b=$BEFORE || b=$AFTER
        say "run $i/$REPS, $side: ZPAR_BUILD=$b run.sh ${QUICK:-} --reps 1 --no-peers --no-many"
        if ! ZPAR_BUILD=$b bash "$HERE/run.sh" $QUICK --reps 1 --no-peers --no-many \
            --json "$OUT/$side.$i.json" >"$OUT/$side.$i" 2>"$OUT/$side.$i.err"; then
            say "run $i $side FAILED (see $OUT/$side.$i.err)"
            FAILED=1
            KEEP=1
        fi
    done
done
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

PY=/usr/bin/python3
[ -x $PY ] || PY=python3
$PY - "$OUT" "$REPS" "$BEFORE" "$AFTER" "${QUICK:+quick}" "$LOAD_START" "$LOAD_END" "$JSON" <<'EOF'
import json, os, statistics, sys, time

out, reps, before, after, quick, load_start, load_end, jpath = sys.argv[1:9]
reps = int(reps)

def load(side, i):
    try:
        with open(os.path.join(out, "%s.%d.json" % (side, i))) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None

runs = {s: [load(s, i) for i in range(1, reps + 1)] for s in ("before", "after")}
first = next((r for s in ("after", "before") for r in runs[s] if r), None)
if not first:
    print("compare.sh: no run produced its JSON")
    sys.exit(1)

# (label, key or (numerator, denominator), higher is better)
metrics = []
seen = set()
for row in first["rows"]:
    k, unit = row["key"], row["unit"]
    if k not in seen and not k.startswith(("ipp_", "dask_")):
        seen.add(k)
        metrics.append((row["metric"].strip(), k, unit))
for row in first["rows"]:
    if row.get("target") and row["target"]["on"] == "ratio" and not row["floor_key"].startswith(("ipp_", "dask_")):
        metrics.append(("  ratio: " + row["metric"].strip() + " / " + row["floor_label"],
                        (row["key"], row["floor_key"]), "ratio"))
for k, label, unit in (("broker_rtt_p50_us", "floor: broker round trip p50", "us"),
                       ("broker_rtt_p99_us", "floor: broker round trip p99", "us"),
                       ("broker_msgs_per_s", "floor: broker pipelined msg/s", "/s"),
                       ("spawn1_per_s", "floor: posix_spawn one at a time", "/s"),
                       ("spawn2_per_s", "floor: posix_spawn two at a time", "/s")):
    metrics.append((label, k, unit))

def higher_better(key, unit):
    if isinstance(key, tuple):
        return key[0].endswith("_per_s")
    return unit == "/s" or key in ("db_records",)

def value(run, key):
    if not run or not run.get("raw"):
        return None
    raw = run["raw"][0]
    if isinstance(key, tuple):
        a, b = raw.get(key[0]), raw.get(key[1])
        return a / b if a is not None and b else None
    return raw.get(key)

def fmtv(v, unit):
    if v is None:
        return "-"
    if unit == "kb":
        return "%.1f" % (v / 1024)
    if unit in ("s", "ratio"):
        return "%.3g" % v
    return "%.0f" % v

UNIT = {"kb": " MiB", "s": " s", "us": " us", "/s": "/s", "B": " B"}

def mmm(vals, unit):
    v = [x for x in vals if x is not None]
    if not v:
        return None, "-"
    s = (min(v), statistics.median(v), max(v), len(v))
    return s, "/".join(fmtv(x, unit) for x in s[:3]) + UNIT.get(unit, "")

print("zpar before/after (%s runs, %d each, alternating in pairs, %s, %s cores)" % (
    "quick" if quick else "full", reps, time.strftime("%Y-%m-%dT%H:%MZ", time.gmtime()),
    first["meta"].get("cores", "?")))
print("before: %s (%s)" % (before, next((r["meta"].get("zpar_commit") for r in runs["before"] if r), "?")))
print("after:  %s (%s)" % (after, next((r["meta"].get("zpar_commit") for r in runs["after"] if r), "?")))
print("load average at the start %s, at the end %s" % (load_start, load_end))
try:
    if float(load_start.split()[0]) > 1.5 or float(load_end.split()[0]) > 6:
        print("!" * 78)
        print("!!! WARNING: the machine was busy (load above 1.5 at the start or 6 at the end):")
        print("!!! the comparison is only as good as the load was equal for both builds")
        print("!" * 78)
except (ValueError, IndexError):
    pass
w = max(len(m[0]) for m in metrics) + 1
fr = "%-" + str(w) + "s | %-22s | %-22s | %-18s | %-6s | %s"
print(fr % ("metric", "before min/med/max", "after min/med/max", "after/before paired", "noise", "verdict"))
print(fr % ("-" * w, "-" * 22, "-" * 22, "-" * 18, "-" * 6, "-" * 7))
result = []
for label, key, unit in metrics:
    bv = [value(r, key) for r in runs["before"]]
    av = [value(r, key) for r in runs["after"]]
    pr = [a / b if a is not None and b else None for a, b in zip(av, bv)]
    bs, bt = mmm(bv, unit)
    as_, at = mmm(av, unit)
    ps, pt = mmm(pr, "ratio")
    if not bs or not as_ or not ps:
        print(fr % (label, bt, at, "-", "-", "missing"))
        continue
    noise = max((s[2] - s[0]) / s[1] if s[1] else 0 for s in (bs, as_))
    r = ps[1]
    hb = higher_better(key, unit)
    if key == "db_records" or min(bs[3], as_[3]) < 2:
        verdict = "-"  # no spread to judge by with one repetition
    elif (r < 1 - noise) if hb else (r > 1 + noise):
        verdict = "WORSE"
    elif (r > 1 + noise) if hb else (r < 1 - noise):
        verdict = "better"
    else:
        verdict = "same"
    print(fr % (label, bt, at, pt, "%.0f%%" % (noise * 100), verdict))
    result.append({"metric": label, "key": key if isinstance(key, str) else "/".join(key),
                   "before": bv, "after": av, "paired_ratio": pr, "noise": noise,
                   "verdict": verdict})
if jpath:
    with open(jpath, "w") as f:
        json.dump({"before": before, "after": after, "reps": reps, "load_start": load_start,
                   "load_end": load_end, "metrics": result}, f, indent=1)
        f.write("\n")
EOF
[ $? = 0 ] || FAILED=1
if [ $KEEP = 1 ]; then
    echo "raw outputs: $OUT"
else
    rm -rf "$OUT"
fi
exit $FAILED
