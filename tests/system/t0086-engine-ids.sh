#!/bin/sh
# t0086-engine-ids: an engine asking for a huge id is refused with a clear
# message, and the controller's memory does not follow the ids asked for
# (before, 'zpar engine --id 1048575' made it allocate 522 MB: its tables
# were arrays indexed by engine id).
. "$(cd "$(dirname "$0")/.." && pwd)/lib/sharness-lite.sh"
zt_require_zpar
D=$ZT_TMP/ctl
REG=$builddir/tests/lib/engine-register
if [ -x "$REG" ]; then test_set_prereq REG; fi

rss_kb () { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

# the controller's RSS has grown by less than 32 MB since the start
small () {
	r=$(rss_kb $ZT_CONTROLLER_PID)
	echo "controller RSS ${r} kB (${R0} kB at the start)"
	test -n "$r" && test "$r" -lt $((R0 + 32768))
}

test_expect_success 'start a controller' '
	zt_controller "$D" &&
	sleep 1 &&
	R0=$(rss_kb $ZT_CONTROLLER_PID) &&
	echo "RSS $R0 kB"
'

test_expect_success 'zpar engine --id 1048575 is refused with a clear message' '
	zt_spawn big "$ZPAR" engine --connection-file "$D/engine.json" --id 1048575 &&
	P=$ZT_LAST_PID &&
	wait_for 20 "grep -q \"engine id 1048575 refused\" \"$ZT_TMP/big.err\"" &&
	kill $P && wait $P 2>/dev/null
	cat "$ZT_TMP/big.err" &&
	expect_grep "engine ids go from 1 to 65535" "$ZT_TMP/big.err"
'

test_expect_success 'the controller did not grow' 'small'

test_expect_success REG 'registrations asking for 4294967295, 16777216 and 65536 are refused' '
	for id in 4294967295 16777216 65536; do
		zt_timeout 20 "$REG" "$D/engine.json" $id >reg.out || return 1
		cat reg.out &&
		expect_grep "^engine=0 errnum=22 error=engine id $id refused" reg.out || return 1
	done &&
	small
'

test_expect_success REG 'the highest id, 65535, is accepted and costs little' '
	zt_timeout 20 "$REG" "$D/engine.json" 65535 >reg.out &&
	cat reg.out &&
	expect_grep "^engine=65535 errnum=0" reg.out &&
	small
'

test_expect_success 'the controller still answers and runs tasks on a real engine' '
	zt_alive $ZT_CONTROLLER_PID &&
	zt_engine "$D" engine1 &&
	wait_for 30 "zt_timeout 10 $ZPAR status 2>/dev/null | grep -q \"1 idle\"" &&
	zt_timeout 30 $ZPAR px echo ran-after >run.out &&
	cat run.out &&
	expect_grep "ran-after" run.out &&
	small
'

test_done
