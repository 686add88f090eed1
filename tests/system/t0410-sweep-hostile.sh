#!/bin/sh
# t0410-sweep-hostile: hostile sweep files fail fast, with FILE:LINE:COLUMN,
# in bounded time and memory, and never run a value as shell code nor
# write outside the output directory.
#
# Covers (issue 8, item 7): a placeholder inside double quotes with
# shell: true; a YAML alias bomb (4 MiB anchor, 200 aliases) and nesting
# 100,000 deep; 10^12 points fully or partly excluded (counted without
# iterating; `sweep status` stops on SIGINT); values with ../ or an
# absolute path in stdout and workdir; int64 ranges and a linspace count
# past 2^62.  Every command runs under zt_timeout; memory is read from
# /usr/bin/time -v when it is there.
LIBDIR=$(cd "$(dirname "$0")/../lib" && pwd)
. "$LIBDIR/sharness-lite.sh"
zt_require_zpar
TOP=$(cd "$LIBDIR/../.." && pwd)
DATA=$TOP/tests/data/sweep

W=$ZT_TMP/w
mkdir -p "$W/out"
cp "$DATA"/hostile-*.yaml "$W/"
command -v python3 >/dev/null 2>&1 && test_set_prereq PYTHON
/usr/bin/time -v true >/dev/null 2>&1 && test_set_prereq GNUTIME

# bad FILE 'LOCATION' 'TEXT': `zpar sweep status FILE` exits 2 with
# "FILE:LOCATION..." and TEXT on stderr, within 30 s
bad () {
    zt_timeout 30 $ZPAR sweep status "$W/$1" >"$W/status.out" 2>"$W/status.err"
    rc=$?
    cat "$W/status.err"
    [ $rc -eq 2 ] &&
    grep -q "$W/$1:$2" "$W/status.err" &&
    grep -q -- "$3" "$W/status.err"
}

# rss_kb FILE: the maximum resident size of a /usr/bin/time -v report
rss_kb () { awk -F: '/Maximum resident set size/ { gsub(/ /, "", $2); print $2 }' "$1"; }

# fast FILE: `zpar sweep status FILE` takes under 5 s of CPU (user + system).
# CPU, not wall time: a loaded machine ran these 0.2 s of CPU in 5-7 s;
# what would have to be caught (expanding the aliases, walking every level)
# costs CPU wherever it runs.
fast () {
    zt_timeout 30 /usr/bin/time -f "cpu %U %S" -o "$W/cpu.txt" $ZPAR sweep status "$W/$1" >/dev/null 2>&1
    ms=$(awk '$1 == "cpu" { printf "%d\n", ($2 + $3) * 1000 }' "$W/cpu.txt")
    echo "$1: $ms ms of CPU"
    [ -n "$ms" ] && [ "$ms" -lt 5000 ]
}

test_expect_success 'shell: true with "label={p}" is refused at its line and column' '
	bad hostile-shell.yaml 4:23: "inside double quotes"
'

test_expect_success 'sweep run refuses it too, and the value never runs' '
	(cd "$W" && zt_timeout 60 $ZPAR sweep run hostile-shell.yaml >run.out 2>run.err)
	rc=$?
	cat "$W/run.err"
	[ $rc -eq 2 ] && [ ! -e "$W/MARKER" ] && ! ls "$W"/*.out/MARKER 2>/dev/null
'

test_expect_success PYTHON,GNUTIME 'an alias bomb (4 MiB anchor, 200 aliases) fails fast at its alias' '
	python3 -c "
import sys
big = \"x\" * (4 * 1024 * 1024 - 4096)
open(sys.argv[1], \"w\").write(\"command: echo {s}\nparams:\n  s: [&a \\\"%s\\\", %s]\n\" % (big, \", \".join([\"*a\"] * 200)))
" "$W/alias.yaml" &&
	start=$(zt_now_ms) &&
	bad alias.yaml 3: "aliases expand to more than" &&
	end=$(zt_now_ms) &&
	echo "took $((end - start)) ms" &&
	fast alias.yaml
'

test_expect_success PYTHON,GNUTIME 'the alias bomb stays under 100 MB' '
	zt_timeout 30 /usr/bin/time -v $ZPAR sweep status "$W/alias.yaml" >/dev/null 2>"$W/time.err"
	kb=$(rss_kb "$W/time.err") && echo "max RSS $kb kB" &&
	[ -n "$kb" ] && [ "$kb" -lt 100000 ]
'

test_expect_success PYTHON,GNUTIME 'nesting 100,000 deep fails fast at the 65th level' '
	python3 -c "
import sys
open(sys.argv[1], \"w\").write(\"command: echo {x}\nparams:\n  x: \" + \"[\" * 100000 + \"1\" + \"]\" * 100000 + \"\n\")
" "$W/deep.yaml" &&
	start=$(zt_now_ms) &&
	bad deep.yaml 3:68: "nesting deeper than 64 levels" &&
	end=$(zt_now_ms) &&
	echo "took $((end - start)) ms" &&
	fast deep.yaml
'

test_expect_success PYTHON,GNUTIME 'the deep file stays under 100 MB' '
	zt_timeout 30 /usr/bin/time -v $ZPAR sweep status "$W/deep.yaml" >/dev/null 2>"$W/time.err"
	kb=$(rss_kb "$W/time.err") && echo "max RSS $kb kB" &&
	[ -n "$kb" ] && [ "$kb" -lt 100000 ]
'

test_expect_success '10^12 points all excluded: refused at once, not after 10^12 steps' '
	bad hostile-count.yaml 8:3: "exclude removes every point"
'

test_expect_success 'sweep status over 10^12 points stops on SIGINT' '
	start=$(zt_now_ms)
	zt_timeout 30 timeout -k 5 -s INT 2 $ZPAR sweep status "$W/hostile-big.yaml" >"$W/big.out" 2>"$W/big.err"
	rc=$?
	end=$(zt_now_ms)
	cat "$W/big.err"; echo "rc $rc after $((end - start)) ms"
	[ $rc -eq 124 ] && [ $((end - start)) -lt 6000 ]
'

# sweep run keeps SIGINT blocked (its reactor reads it): counting the
# points before the loop must not take 10^12 steps
test_expect_success 'sweep run of 10^12 points with a partial exclude starts and stops on SIGINT' '
	start=$(zt_now_ms)
	(cd "$W" && zt_timeout 60 timeout -k 20 -s INT 8 $ZPAR sweep run hostile-big.yaml >big-run.out 2>big-run.err)
	rc=$?
	end=$(zt_now_ms)
	cat "$W/big-run.err" "$W/big-run.out"; echo "rc $rc after $((end - start)) ms"
	[ $rc -eq 124 ] && [ $((end - start)) -lt 20000 ] &&
	grep -q "interrupted by signal 2" "$W/big-run.err" &&
	grep -q "zpar: 999998999999 points" "$W/big-run.err" &&
	for p in $(awk "\$1 == \"controller\" { print \$2 } \$1 == \"engine\" { print \$3 }" "$W/hostile-big.out/.cluster/pids" 2>/dev/null); do
		! kill -0 "$p" 2>/dev/null || { echo "cluster process $p left running"; false; } || return 1
	done
'

test_expect_success 'a value with ../ in stdout is refused at the stdout line' '
	bad hostile-paths.yaml 6:9: "takes the value .../../../escaped." &&
	(cd "$W" && zt_timeout 60 $ZPAR sweep run hostile-paths.yaml >run.out 2>run.err)
	rc=$?
	[ $rc -eq 2 ] && [ ! -e "$ZT_TMP/escaped.out" ] && [ ! -e "$W/escaped.out" ]
'

test_expect_success 'an absolute value as workdir is refused' '
	bad hostile-workdir.yaml 6:10: "one path component"
'

test_expect_success 'range [-9e18, 9e18, 6e18] of integers has 3 points' '
	zt_timeout 30 $ZPAR sweep status "$W/hostile-overflow.yaml" >"$W/ov.out" 2>&1
	rc=$?
	cat "$W/ov.out"
	[ $rc -eq 0 ] && grep -q ": 3 points" "$W/ov.out"
'

test_expect_success 'a linspace count past 2^62 is refused without a negative count' '
	bad hostile-linspace.yaml 5:24: "more than 2^62" &&
	! grep -q -- "-9223372036854775808" "$W/status.err"
'

test_done
