#!/bin/sh
# Install the dependencies, build with -Werror, run the whole test suite
# (unit tests, system tests with real controllers and engines, mpirun and a
# real Slurm on localhost).  Ends with "N passed, N failed".
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/install-deps.sh" || exit 1
export ZPAR_BUILD=${ZPAR_BUILD:-$top/build}
ZPAR_CONFIGURE_FLAGS="--enable-werror" "$top/scripts/build.sh" || { echo "0 passed, 1 failed"; exit 1; }
cd "$ZPAR_BUILD"
make -s -j2 check >/dev/null 2>&1
rc=$?
# summarise the TAP logs
pass=0 fail=0 skip=0
for log in $(find . -name '*.log' -path './tests/*' ! -name 'test-suite.log'); do
    p=$(grep -c '^PASS:' "$log" 2>/dev/null || true)
    f=$(grep -cE '^(FAIL|ERROR|XPASS):' "$log" 2>/dev/null || true)
    s=$(grep -c '^SKIP:' "$log" 2>/dev/null || true)
    pass=$((pass + p)); fail=$((fail + f)); skip=$((skip + s))
done
for log in $(find . -name '*.log' -path './tests/*' ! -name 'test-suite.log'); do
    if grep -qE '^(FAIL|ERROR):' "$log"; then
        echo "---- $log"; grep -E '^(FAIL|ERROR):|^#' "$log" | head -40
    fi
done
grep -E '^# (TOTAL|PASS|SKIP|FAIL|ERROR)' test-suite.log 2>/dev/null
[ "$rc" -eq 0 ] || [ "$fail" -gt 0 ] || fail=1
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
