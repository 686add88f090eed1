#!/bin/sh
# Install the dependencies, build zpar, and run the main job on a local
# default: the example parameter sweep (examples/sweep.yaml, 50 points of
# examples/lyapunov.c) on a private local cluster of one engine per core,
# then print the results table.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/install-deps.sh"
export ZPAR_BUILD=${ZPAR_BUILD:-$top/build}
"$top/scripts/build.sh"
zpar="$ZPAR_BUILD/zpar"
cc -O2 -o "$top/examples/lyapunov" "$top/examples/lyapunov.c" -lm
# a private zpar directory, so that nothing of the user's is touched
ZPAR_DIR=${ZPAR_DIR:-$ZPAR_BUILD/zpar-dir}
export ZPAR_DIR
cd "$top/examples"
echo
echo "== zpar sweep run examples/sweep.yaml  (a private local cluster of $(nproc) engines)"
rc=0
"$zpar" sweep run sweep.yaml --retry-failed || rc=$?
echo
echo "== zpar sweep report examples/sweep.yaml --format csv  (first rows)"
"$zpar" sweep report sweep.yaml --format csv | head -12
echo "..."
echo
echo "== one point's output (examples/lyapunov.out/49.out):"
cat lyapunov.out/49.out 2>/dev/null || true
echo
echo "Run it again: points already done are skipped.  Full table:"
echo "  $zpar sweep report $top/examples/sweep.yaml --format csv"
exit "$rc"
