#!/bin/sh
# Install the dependencies, build with -Werror, run the whole test suite
# (unit tests, fuzz-corpus replay, system tests with real controllers and
# engines, mpirun and a real Slurm on localhost), then the CI habits:
# clang-format on the changed files (scripts/check-format.sh) and a second
# build with AddressSanitizer + UBSan (in ${ZPAR_ASAN_BUILD:-build-asan/})
# running the unit tests and the corpus replay.  Ends with
# "N passed, N failed, N skipped".  ZPAR_SANITIZE=0 skips the second build.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/install-deps.sh" || exit 1
export ZPAR_BUILD=${ZPAR_BUILD:-$top/build}
asan=${ZPAR_ASAN_BUILD:-$top/build-asan}
ZPAR_CONFIGURE_FLAGS="--enable-werror" "$top/scripts/build.sh" || { echo "0 passed, 1 failed, 0 skipped"; exit 1; }
pass=0 fail=0 skip=0

# count every TAP result of every test program of build dir $1 (from
# automake's .trs files); $2 names the run in failure reports
count ()
{
    for trs in $(cd "$1" && find tests -name '*.trs' | sort); do
        p=$(grep -c '^:test-result: PASS' "$1/$trs" || true)
        x=$(grep -c '^:test-result: XFAIL' "$1/$trs" || true)
        f=$(grep -cE '^:test-result: (FAIL|XPASS|ERROR)' "$1/$trs" || true)
        s=$(grep -c '^:test-result: SKIP' "$1/$trs" || true)
        pass=$((pass + p + x)); fail=$((fail + f)); skip=$((skip + s))
        if [ "$f" -gt 0 ]; then
            log=$1/${trs%.trs}.log
            echo "---- $2: $log"
            grep -E '^(not ok|# )|runtime error|Sanitizer|^ +#[0-9] ' "$log" | head -40
        fi
    done
}

# 1. the whole suite, one test at a time: the system tests start clusters,
# mpirun and Slurm, and time out on heartbeats; two cores are not enough to
# run them side by side
cd "$ZPAR_BUILD" || exit 1
make -s check >/dev/null 2>&1
rc=$?
count "$ZPAR_BUILD" check
grep -E '^# (TOTAL|PASS|SKIP|FAIL|ERROR)' test-suite.log 2>/dev/null
[ "$rc" -eq 0 ] || [ "$fail" -gt 0 ] || fail=$((fail + 1))

# 2. clang-format on the changed files (TAP)
out=$(sh "$top/scripts/check-format.sh")
echo "$out" | grep -E '^(not ok|ok .*# SKIP|#)'
p=$(echo "$out" | grep -E '^ok ' | grep -vc '# SKIP' || true)
s=$(echo "$out" | grep -c '^ok .*# SKIP' || true)
f=$(echo "$out" | grep -c '^not ok' || true)
pass=$((pass + p)); fail=$((fail + f)); skip=$((skip + s))

# 3. AddressSanitizer + UndefinedBehaviorSanitizer: unit tests and corpus
# replay; any report ends the test program (-fno-sanitize-recover=all)
if [ "${ZPAR_SANITIZE:-1}" != 0 ]; then
    if ZPAR_BUILD=$asan ZPAR_CONFIGURE_FLAGS="--enable-werror --enable-sanitizers" \
        "$top/scripts/build.sh" >/dev/null 2>&1; then
        find "$asan/tests" -name '*.trs' -exec rm -f {} + 2>/dev/null
        # handle_segv=0: the runner's tests need a real SIGSEGV in their
        # children; HWLOC_COMPONENTS=-pci: hwloc's PCI discovery leaks inside
        # libpciaccess (third-party), and no test needs it
        ASAN_OPTIONS=handle_segv=0:detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1 \
            UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 HWLOC_COMPONENTS=-pci \
            make -C "$asan" -s check-unit >/dev/null 2>&1
        arc=$?
        f0=$fail
        count "$asan" sanitizers
        grep -E '^# (TOTAL|FAIL|ERROR)' "$asan/test-suite.log" 2>/dev/null | sed 's/^# /# sanitizers: /'
        [ "$arc" -eq 0 ] || [ "$fail" -gt "$f0" ] || fail=$((fail + 1))
    else
        echo "---- sanitizers: the build in $asan failed (ZPAR_BUILD=$asan ZPAR_CONFIGURE_FLAGS=--enable-sanitizers sh scripts/build.sh)"
        fail=$((fail + 1))
    fi
fi
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
