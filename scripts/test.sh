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
# one test at a time: the system tests start clusters, mpirun and Slurm,
# and time out on heartbeats; two cores are not enough to run them side by side
make -s check >/dev/null 2>&1
rc=$?
# count every TAP result of every test program (from automake's .trs files)
pass=0 fail=0 skip=0
for trs in $(find tests -name '*.trs' | sort); do
    p=$(grep -c '^:test-result: PASS' "$trs" || true)
    x=$(grep -c '^:test-result: XFAIL' "$trs" || true)
    f=$(grep -cE '^:test-result: (FAIL|XPASS|ERROR)' "$trs" || true)
    s=$(grep -c '^:test-result: SKIP' "$trs" || true)
    pass=$((pass + p + x)); fail=$((fail + f)); skip=$((skip + s))
    if [ "$f" -gt 0 ]; then
        log=${trs%.trs}.log
        echo "---- $log"
        grep -E '^(not ok|# )' "$log" | head -40
    fi
done
grep -E '^# (TOTAL|PASS|SKIP|FAIL|ERROR)' test-suite.log 2>/dev/null
[ "$rc" -eq 0 ] || [ "$fail" -gt 0 ] || fail=1
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
