#!/bin/sh
# fuzz.sh - build and run zpar's libFuzzer targets (called by `make fuzz`).
#
#   fuzz.sh build            build tests/fuzz/bin/fuzz_<target> with clang
#   fuzz.sh run [TARGET...]  build, then fuzz each target for FUZZ_SECONDS
#                            (default 600) on a scratch copy of its corpus,
#                            and merge (-merge=1) what grew into
#                            $srcdir/tests/fuzz/corpus/<target>/
#   fuzz.sh seeds            write the generated seeds into the corpora
#   fuzz.sh list             print the target names
#
# Environment (set by make fuzz): srcdir, builddir (default: the current
# directory), FUZZ_CC (clang), FUZZ_CPPFLAGS (config.h and dependency
# include paths), FUZZ_LIBS, FUZZ_SECONDS, FUZZ_JOBS (targets fuzzed at
# once, default 1), FUZZ_NICE (default 19).  Crashes are written to
# $builddir/tests/fuzz/crashes/<target>/ and make the run fail.
set -eu
srcdir=${srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
builddir=${builddir:-$(pwd)}
FUZZ_CC=${FUZZ_CC:-clang}
FUZZ_SECONDS=${FUZZ_SECONDS:-600}
FUZZ_JOBS=${FUZZ_JOBS:-1}
FUZZ_NICE=${FUZZ_NICE:-19}
FUZZ_CPPFLAGS=${FUZZ_CPPFLAGS:-"-I$builddir"}
FUZZ_LIBS=${FUZZ_LIBS:-"-lzmq -lsodium -lyaml -lm -lpthread"}
flags="-g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all"
out=$builddir/tests/fuzz
inc="-DHAVE_CONFIG_H $FUZZ_CPPFLAGS -I$srcdir/include -I$srcdir/src/common -I$srcdir/src \
-I$srcdir/src/sweep -I$srcdir/launchers -I$srcdir/tests/fuzz -DZPAR_BUILDING -DZPAR_LIBEXECDIR=\"/nowhere\""

# Every target is tests/fuzz/fuzz_<name>.c; the names are the corpora.
targets ()
{
    for f in "$srcdir"/tests/fuzz/fuzz_*.c; do
        n=${f##*/fuzz_}
        echo "${n%.c}"
    done
}

build ()
{
    command -v "$FUZZ_CC" >/dev/null || { echo "fuzz.sh: $FUZZ_CC not found (apt-get install clang libclang-rt-14-dev)" >&2; exit 1; }
    mkdir -p "$out/obj" "$out/bin"
    rm -f "$out/obj"/*.o "$out/libfuzzdeps.a"
    # the decoders: every common and sweep module, with coverage
    # instrumentation; targets take only what they use from the archive
    for c in "$srcdir"/src/common/*.c "$srcdir"/src/sweep/*.c; do
        o=$out/obj/$(basename "$c" .c).o
        # shellcheck disable=SC2086
        $FUZZ_CC $flags -fsanitize=fuzzer-no-link $inc -std=gnu11 -c "$c" -o "$o"
    done
    ar rcs "$out/libfuzzdeps.a" "$out"/obj/*.o
    for t in $(targets); do
        # shellcheck disable=SC2086
        $FUZZ_CC $flags -fsanitize=fuzzer $inc -std=gnu11 -o "$out/bin/fuzz_$t" \
            "$srcdir/tests/fuzz/fuzz_$t.c" "$out/libfuzzdeps.a" $FUZZ_LIBS
    done
    echo "fuzz.sh: built $(targets | wc -l) targets in $out/bin"
}

# fuzz one target for FUZZ_SECONDS, then merge into the committed corpus
run_one ()
{
    t=$1
    corpus=$srcdir/tests/fuzz/corpus/$t
    work=$out/work/$t
    crashes=$out/crashes/$t
    rm -rf "$work"
    mkdir -p "$corpus" "$work" "$crashes"
    cp "$corpus"/* "$work"/ 2>/dev/null || true
    before=$(find "$corpus" -type f | wc -l)
    log=$out/fuzz_$t.log
    start=$(date +%s)
    set +e
    nice -n "$FUZZ_NICE" "$out/bin/fuzz_$t" -max_total_time="$FUZZ_SECONDS" -timeout=10 \
        -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 -artifact_prefix="$crashes/" \
        "$work" >"$log" 2>&1
    rc=$?
    secs=$(($(date +%s) - start))
    nice -n "$FUZZ_NICE" "$out/bin/fuzz_$t" -merge=1 "$corpus" "$work" >>"$log" 2>&1
    set -e
    after=$(find "$corpus" -type f | wc -l)
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
    echo "fuzz $t: $(date -u -d "@$start" +%H:%M:%S)Z, ${secs}s (of ${FUZZ_SECONDS}s), ${execs:-?} executions, $cov, corpus $before -> $after files ($(du -sk "$corpus" | cut -f1) KiB), exit $rc"
    [ "$rc" -eq 0 ] || { echo "fuzz $t: FAILED, see $log and $crashes" >&2; return 1; }
}

case ${1:-run} in
build)
    build
    ;;
list)
    targets
    ;;
seeds)
    mkdir -p "$out/bin"
    # shellcheck disable=SC2086
    ${CC:-cc} $inc -std=gnu11 -o "$out/bin/gen_seeds" "$srcdir/tests/fuzz/gen_seeds.c" \
        "$builddir/.libs/libzpar_common.a" $FUZZ_LIBS
    "$out/bin/gen_seeds" "$srcdir/tests/fuzz/corpus"
    ;;
run)
    shift || true
    build
    list=${*:-$(targets)}
    fail=0 running=0 pids=""
    for t in $list; do
        run_one "$t" &
        pids="$pids $!"
        running=$((running + 1))
        if [ "$running" -ge "$FUZZ_JOBS" ]; then
            for p in $pids; do wait "$p" || fail=1; done
            pids="" running=0
        fi
    done
    for p in $pids; do wait "$p" || fail=1; done
    exit "$fail"
    ;;
*)
    echo "usage: fuzz.sh build|run [TARGET...]|seeds|list" >&2
    exit 2
    ;;
esac
