#!/bin/bash
# bench/compare.sh [--quick] [--reps N] [--keep] BUILD_BEFORE BUILD_AFTER
#
# The "no regression" comparison of two zpar builds, from one run: runs
# bench/run.sh (--no-peers) for each build alternately (before, after,
# before, after, ...; N repetitions each, default 3) and prints, for every
# zpar metric of run.sh's table, the min / median / max of both builds, the
# ratio of the medians after/before, the run-to-run noise and a verdict:
#
#   metric | before min/med/max | after min/med/max | after/before | noise | verdict
#
# noise = the larger relative spread (max - min) / median of the two
# builds; "worse" when the median moved the wrong way by more than that
# noise (lower is better for times and memory, higher for tasks/s).
#
# BUILD_* are build directories (holding zpar and .libs/libzpar.so), given
# to run.sh as ZPAR_BUILD.  Each build is measured with the bench/run.sh of
# its own source tree (found from the build's Makefile), so the driver
# compiles against that tree's include/zpar.h; else with this tree's.
#   --quick    run.sh --quick (a sanity run, about 30 s a run)
#   --reps N   repetitions per build (default 3)
#   --keep     keep the raw outputs (their directory is printed)
# Do not run it while other heavy jobs share the machine: the figures are
# only comparable when both builds see the same load.  Exit status 0 when
# every run completed, 1 otherwise.
set -u
export LC_ALL=C
REPS=3 QUICK= KEEP=0
args=()
while [ $# -gt 0 ]; do
    case "$1" in
    --quick) QUICK=--quick ;;
    --reps) REPS=$2; shift ;;
    --reps=*) REPS=${1#--reps=} ;;
    --keep) KEEP=1 ;;
    -h | --help) sed -n '2,/^$/s/^# \{0,1\}//p' "$0"; exit 0 ;;
    -*) echo "compare.sh: unknown option $1" >&2; exit 2 ;;
    *) args+=("$1") ;;
    esac
    shift
done
if [ ${#args[@]} -ne 2 ] || ! [ "$REPS" -ge 1 ] 2>/dev/null; then
    echo "usage: bench/compare.sh [--quick] [--reps N] [--keep] BUILD_BEFORE BUILD_AFTER" >&2
    exit 2
fi
HERE=$(cd "$(dirname "$0")" && pwd)
declare -A RUNSH
for b in "${args[@]}"; do
    [ -x "$b/zpar" ] || { echo "compare.sh: $b/zpar not found (not a build directory)" >&2; exit 2; }
    src=$(sed -n 's/^abs_top_srcdir = //p' "$b/Makefile" 2>/dev/null)
    if [ -n "$src" ] && [ -f "$src/bench/run.sh" ]; then
        RUNSH[$b]=$src/bench/run.sh
    else
        RUNSH[$b]=$HERE/run.sh
    fi
done
BEFORE=$(cd "${args[0]}" && pwd)
AFTER=$(cd "${args[1]}" && pwd)
RUNSH[$BEFORE]=${RUNSH[${args[0]}]}
RUNSH[$AFTER]=${RUNSH[${args[1]}]}
OUT=$(mktemp -d /tmp/zpar-compare.XXXXXX)
say() { printf '[compare %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
FAILED=0
for i in $(seq 1 "$REPS"); do
    for side in before after; do
        [ $side = before ] && b=$BEFORE || b=$AFTER
        say "run $i/$REPS, $side: ZPAR_BUILD=$b ${RUNSH[$b]} ${QUICK:-} --no-peers"
        if ! ZPAR_BUILD=$b bash "${RUNSH[$b]}" $QUICK --no-peers >"$OUT/$side.$i" 2>"$OUT/$side.$i.err"; then
            say "run $i $side FAILED (see $OUT/$side.$i.err)"
            FAILED=1
            KEEP=1
        fi
    done
done

# rows of run.sh's table: "metric | zpar | floor | ..." -> "side<TAB>metric<TAB>value"
for side in before after; do
    for i in $(seq 1 "$REPS"); do
        awk -F'|' -v side=$side '
            NF >= 6 && $1 !~ /^metric/ && $1 !~ /^---/ {
                m = $1; gsub(/^ +| +$/, "", m)
                v = $2; gsub(/^ +| +$/, "", v)
                if (match(v, /^-?[0-9.]+/)) {
                    unit = substr(v, RLENGTH + 1); gsub(/^ +/, "", unit)
                    print side "\t" m "\t" substr(v, 1, RLENGTH) "\t" unit
                }
            }' "$OUT/$side.$i"
    done
done >"$OUT/values.tsv"

echo "zpar before/after ($([ -n "$QUICK" ] && echo quick || echo full) runs, $REPS each, alternating, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores)"
echo "before: $BEFORE"
echo "after:  $AFTER"
awk -F'\t' '
    function sort(a, n,   i, j, t) {
        for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
    }
    function med(a, n) { return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
    function fmt(v) { return v >= 100 ? sprintf("%.0f", v) : sprintf("%.3g", v) }
    {
        if (!($2 in seen)) { seen[$2] = 1; order[++nm] = $2; unit[$2] = $4 }
        k = $1 SUBSEP $2; n[k]++; val[k, n[k]] = $3 + 0
    }
    END {
        printf "%-44s | %-24s | %-24s | %-12s | %-6s | %s\n", "metric", "before min/median/max", "after min/median/max", "after/before", "noise", "verdict"
        printf "%-44s-+-%-24s-+-%-24s-+-%-12s-+-%-6s-+-%s\n", "--------------------------------------------", "------------------------", "------------------------", "------------", "------", "-------"
        for (j = 1; j <= nm; j++) {
            m = order[j]; u = unit[m]
            # higher is better for rates, lower for times, sizes and memory
            higher = (m ~ /tasks\/s/ || m ~ /records in the database/)
            neutral = (m ~ /records in the database/)
            for (s = 0; s < 2; s++) {
                side = s ? "after" : "before"; k = side SUBSEP m; c = n[k] + 0
                delete a; for (i = 1; i <= c; i++) a[i] = val[k, i]
                sort(a, c)
                cnt[s] = c
                if (c) { lo[s] = a[1]; md[s] = med(a, c); hi[s] = a[c] }
            }
            if (!cnt[0] || !cnt[1]) { printf "%-44s | %s\n", m, "missing in one build"; continue }
            r = md[0] ? md[1] / md[0] : 0
            nz = 0
            for (s = 0; s < 2; s++) if (md[s]) { x = (hi[s] - lo[s]) / md[s]; if (x > nz) nz = x }
            worse = higher ? (r < 1 - nz) : (r > 1 + nz)
            verdict = neutral ? "-" : (worse ? "WORSE" : (higher ? (r > 1 + nz ? "better" : "same") : (r < 1 - nz ? "better" : "same")))
            printf "%-44s | %-24s | %-24s | %-12s | %-6s | %s\n", m,
                fmt(lo[0]) "/" fmt(md[0]) "/" fmt(hi[0]) (u ? " " u : ""),
                fmt(lo[1]) "/" fmt(md[1]) "/" fmt(hi[1]) (u ? " " u : ""),
                md[0] ? sprintf("%.2f", r) : "-", sprintf("%.0f%%", nz * 100), verdict
        }
    }' "$OUT/values.tsv"
if [ $KEEP = 1 ]; then
    echo "raw outputs: $OUT"
else
    rm -rf "$OUT"
fi
exit $FAILED
