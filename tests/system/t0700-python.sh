#!/bin/sh
# t0700-python: the Python client (bindings/python, doc/python.md) with the
# python3 configure found (Debian's /usr/bin/python3 first): its unit tests
# (standard unittest runner, no cluster), then against a real cluster of 2
# engines its system tests (futures as concurrent.futures sees them, errors
# with zpar's text, map, px, status, function tasks, live output, Ctrl-C in
# a wait, sweeps), the notebook-style example, and the package as `make
# install` puts it, found through the documented PYTHONPATH with no other
# help (its libzpar and zpar program from the install, not the build).
. "$(cd "$(dirname "$0")/.." && pwd)/lib/sharness-lite.sh"
zt_require_zpar
[ -n "${PYTHON:-}" ] || skip_all "no python3 (configure found none: --disable-python or none installed)"
"$PYTHON" -c 'import ctypes' 2>/dev/null || skip_all "$PYTHON cannot import ctypes"
lib=$builddir/.libs/libzpar.so.0
[ -f "$lib" ] || skip_all "no $lib"
zt_find_testfn && ZPAR_TEST_FN=$TESTFN
ZPAR_LIBRARY=$lib
PYTHONPATH=$srcdir/bindings/python
# no __pycache__ in the source tree
PYTHONDONTWRITEBYTECODE=1
export ZPAR_LIBRARY PYTHONPATH ZPAR_TEST_FN ZPAR PYTHONDONTWRITEBYTECODE

# run the unittest module $1; its report in $1.out; every test ran (a
# skipped test would be a test that proves nothing here)
py_unittest () {
    TMPDIR=$ZT_TMP zt_timeout 300 "$PYTHON" -m unittest discover -v -s "$srcdir/tests/python" -p "$1.py" \
        >"$1.out" 2>&1
    rc=$?
    cat "$1.out"
    [ $rc = 0 ] && expect_grep '^OK$' "$1.out"
}

test_expect_success "unit tests ($PYTHON, no cluster)" '
	py_unittest test_unit
'

test_expect_success 'a cluster of 2 engines' '
	zt_cluster_start 2
'

test_expect_success 'system tests against the cluster' '
	py_unittest test_cluster
'

test_expect_success 'the notebook-style example runs a sweep and reads its results' '
	cp "$srcdir/examples/python-sweep.py" . &&
	TMPDIR=$ZT_TMP zt_timeout 120 "$PYTHON" python-sweep.py >ex.out 2>ex.err &&
	cat ex.out ex.err &&
	expect_grep "^points 12, succeeded 12, failed 0$" ex.out &&
	expect_grep "^best: " ex.out
'

prefix=$ZT_TMP/prefix
test_expect_success 'make install: import zpar with the documented PYTHONPATH alone' '
	zt_timeout 300 make -C "$builddir" -s install prefix="$prefix" >install.out 2>&1 ||
		{ cat install.out; false; } &&
	test -f "$prefix/lib/python3/site-packages/zpar/client.py" &&
	env -u ZPAR_LIBRARY -u ZPAR PYTHONPATH="$prefix/lib/python3/site-packages" \
		"$PYTHON" -c "
import zpar, sys
print(zpar.library_path)
from zpar.sweep import zpar_program
print(zpar_program())
with zpar.Client() as c:
    print(c.submit([\"echo\", \"installed\"]).result(30).stdout.decode().strip())
" >inst.out 2>&1 &&
	cat inst.out &&
	expect_grep "^$prefix/lib/libzpar.so.0$" inst.out &&
	expect_grep "^$prefix/bin/zpar$" inst.out &&
	expect_grep "^installed$" inst.out
'

test_done
