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
	zt_timeout 20 "$ZPAR" engine --connection-file "$D/engine.json" --id 1048575 >big.out 2>big.err
	rc=$?
	cat big.err &&
	test $rc -ge 1 && test $rc -le 123 &&
	expect_grep "engine id from 1 to 65535" big.err
'

test_expect_success 'the controller did not grow' 'small'

test_expect_success REG 'registrations asking for 4294967295, 16777216, 1048575 and 65536 are refused' '
	for id in 4294967295 16777216 1048575 65536; do
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
	wait_for 30 "zt_timeout 10 $ZPAR status --json >st.json 2>/dev/null && test \"\$(jq -c \"[.engines[] | [.id, .state]]\" st.json | grep -o idle | wc -l)\" = 1 && jq -e \".engines[] | select(.id == 65535) | .state == \\\"dead\\\"\" st.json >/dev/null" &&
	jq -c "[.engines[] | [.id, .state]]" st.json &&
	zt_timeout 30 $ZPAR px echo ran-after >run.out &&
	cat run.out &&
	expect_grep "ran-after" run.out &&
	small
'

test_done
