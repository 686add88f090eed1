#!/bin/sh
# t0020-function: function tasks from a shared library (tests/lib/testfn.c),
# isolated in a child (the default) and --inline in the engine.
. "$(cd "$(dirname "$0")/.." && pwd)/lib/sharness-lite.sh"
zt_require_zpar
zt_find_testclient
zt_find_testfn || skip_all "no testfn.so in $builddir (build the check programs)"

run_fn () { # run_fn OUT SYMBOL [ARGS...]: run a function task, results in OUT
	zt_o=$1 zt_s=$2
	shift 2
	zt_timeout 60 "$TESTCLIENT" run --function "$TESTFN:$zt_s" "$@" >"$zt_o"
	zt_r=$?
	cat "$zt_o"
	return $zt_r
}

test_expect_success 'start a cluster of 2 engines' '
	zt_cluster_start 2
'

test_expect_success TESTCLIENT 'zt_noop: a function task succeeds' '
	run_fn noop.out zt_noop &&
	expect_grep "^status=ok$" noop.out
'

test_expect_success TESTCLIENT 'zt_echo: the input comes back as the output (isolated)' '
	run_fn echo.out zt_echo --input "hello function" &&
	expect_grep "^status=ok$" echo.out &&
	expect_grep "^output=hello\\\\x20function$" echo.out
'

test_expect_success TESTCLIENT 'zt_echo --inline: the same, in the engine process' '
	run_fn echoi.out zt_echo --inline --input "inline-bytes" &&
	expect_grep "^status=ok$" echoi.out &&
	expect_grep "^output=inline-bytes$" echoi.out
'

test_expect_success TESTCLIENT 'many inline and isolated function tasks, each its own output' '
	zt_timeout 90 "$TESTCLIENT" clients 2 100 "$TESTFN" >fclients.out &&
	cat fclients.out &&
	expect_grep "^clients k=2 n=100 ok=1" fclients.out
'

test_expect_success TESTCLIENT 'zt_fail: a non-zero return is a failed task' '
	run_fn fail.out zt_fail &&
	expect_grep "^status=failed$" fail.out
'

test_expect_success TESTCLIENT 'zt_rank: the context gives the engine and rank' '
	run_fn rank.out zt_rank &&
	expect_grep "^status=ok$" rank.out &&
	e=$(sed -n "s/^engine=//p" rank.out) &&
	expect_grep "^output=engine=$e\\\\x20rank=-?[0-9]+$" rank.out
'

test_expect_success TESTCLIENT,JQ 'zt_segv (isolated): signaled, and the engine lives on' '
	zt_timeout 20 $ZPAR status --json >before.json &&
	run_fn segv.out zt_segv &&
	expect_grep "^status=signaled$" segv.out &&
	expect_grep "^signal=11$" segv.out &&
	zt_timeout 20 $ZPAR status --json >after.json &&
	expect_eq "engines and pids" "$(jq -c "[.engines[] | [.id, .pid, .state]]" before.json)" \
		"$(jq -c "[.engines[] | [.id, .pid, .state]]" after.json)" &&
	zt_timeout 60 "$TESTCLIENT" direct
'

test_expect_success TESTCLIENT 'zt_abort (isolated): signaled with SIGABRT' '
	run_fn abort.out zt_abort &&
	expect_grep "^status=signaled$" abort.out &&
	expect_grep "^signal=6$" abort.out
'

test_expect_success TESTCLIENT 'zt_sleep with a timeout: killed, status timeout' '
	run_fn sleep.out zt_sleep --input 30 --timeout 0.5 &&
	expect_grep "^status=timeout$" sleep.out
'

test_expect_success TESTCLIENT 'a missing symbol: a clear error result naming it' '
	run_fn nosym.out zt_no_such_symbol &&
	expect_grep "^status=error$" nosym.out &&
	expect_grep "^error=.*zt_no_such_symbol" nosym.out
'

test_expect_success TESTCLIENT 'a missing library: a clear error result naming it' '
	zt_timeout 60 "$TESTCLIENT" run --function "$ZT_TMP/nowhere/libnothing.so:zt_noop" >nolib.out &&
	cat nolib.out &&
	expect_grep "^status=error$" nolib.out &&
	expect_grep "^error=.*libnothing\.so" nolib.out
'

test_expect_success 'zpar submit --function with --input FILE, then wait and result' '
	printf "from-a-file" >input.bin &&
	id=$(zt_timeout 20 $ZPAR submit --function "$TESTFN:zt_echo" --input input.bin) &&
	echo "id=$id" &&
	zt_timeout 30 $ZPAR wait --timeout 20 $id &&
	zt_timeout 20 $ZPAR result $id >fres.out &&
	cat fres.out &&
	expect_grep "from-a-file" fres.out
'

test_expect_success 'zpar submit --function --inline' '
	printf "inline-file" >input2.bin &&
	id=$(zt_timeout 20 $ZPAR submit --function "$TESTFN:zt_echo" --input input2.bin --inline) &&
	zt_timeout 30 $ZPAR wait --timeout 20 $id &&
	zt_timeout 20 $ZPAR result $id >fres2.out &&
	cat fres2.out &&
	expect_grep "inline-file" fres2.out
'

test_expect_success 'zpar wait exits 1 for a failing function task' '
	id=$(zt_timeout 20 $ZPAR submit --function "$TESTFN:zt_fail") &&
	{ zt_timeout 30 $ZPAR wait --timeout 20 $id; rc=$?; } &&
	expect_eq "wait exit status" 1 $rc
'

test_expect_success 'stop the cluster' '
	zt_cluster_stop
'

test_done
