#!/bin/sh
# t0932-hb-scale: the short form of tests/scale/engines.sh: 200 engines on
# this machine under command-task load; no engine is declared dead, no
# task is answered "engine died", every task succeeds.  (The long form,
# 1,000 engines, is run by hand: tests/scale/engines.sh 1000 4000.)
. "$(cd "$(dirname "$0")/.." && pwd)/lib/sharness-lite.sh"
zt_require_zpar
SCALE=$builddir/tests/scale/zpar-scale
[ -x "$SCALE" ] || skip_all "no zpar-scale in $builddir/tests/scale"
N=${ZPAR_SCALE_CI_ENGINES:-200}
[ "$(ulimit -n)" = unlimited ] || [ "$(ulimit -Hn)" = unlimited ] || [ "$(ulimit -Hn)" -ge $((N * 8 + 256)) ] ||
	skip_all "the open-files hard limit $(ulimit -Hn) is too low for $N engines"
# the default heartbeat of a real cluster, not the tests' fast one
ZPAR_HB_PERIOD_MS=1000
export ZPAR_HB_PERIOD_MS

test_expect_success "$N engines, $((N * 4)) command tasks: no false death, no engine-died" '
	ZPAR_BUILD=$builddir ZPAR_SCALE_TIMEOUT=$(zt_scale 120) TMPDIR=$ZT_TMP \
		zt_timeout 300 "$srcdir/tests/scale/engines.sh" $N $((N * 4)) sleep 0.1 \
		>scale.out 2>scale.err
	rc=$?
	cat scale.out scale.err
	test $rc = 0 &&
	expect_grep "^false_deaths 0$" scale.out &&
	expect_grep "^engine_died 0$" scale.out &&
	expect_grep "^ok $((N * 4))$" scale.out
'

test_done
