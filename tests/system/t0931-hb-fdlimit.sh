#!/bin/sh
# t0931-hb-fdlimit: the controller under a low open-files limit.  It
# raises its soft limit to the hard one and says how many engines that
# allows; an engine past that is refused with a clear error (which limit,
# how many files are needed) in the controller's log and in the engine's
# (the registration reply carries it), the engines already registered go
# on working, and 'zpar cluster stop' still stops the cluster.
. "$(cd "$(dirname "$0")/.." && pwd)/lib/sharness-lite.sh"
zt_require_zpar
zt_find_testclient || skip_all "no zpar-testclient in $builddir"
TC="$TESTCLIENT"
D=$ZPAR_DIR/fd
LIMIT=220

test_expect_success "a cluster of 4 engines under ulimit -n $LIMIT (soft and hard)" '
	(ulimit -n $LIMIT && exec "$ZPAR" cluster start -n 4 --dir "$D" --timeout 30) \
		>start.out 2>start.err
	rc=$?
	# shellcheck disable=SC2046
	zt_record_pid $(zt_cluster_pids)
	cat start.out start.err
	test $rc = 0 &&
	ZPAR_CONNECTION_FILE=$D/client.json && export ZPAR_CONNECTION_FILE &&
	grep "open files" "$D/controller.log" &&
	expect_grep "open files: limit $LIMIT \(hard $LIMIT\): room for about [0-9]+ engines" "$D/controller.log"
'

test_expect_success 'engines past what the files allow are refused, saying why' '
	for i in $(seq 1 20); do
		zt_engine "$D" x$i || return 1
	done &&
	wait_for 30 "grep -q \"out of file descriptors\" \"$D/controller.log\"" &&
	grep "refused" "$D/controller.log" | head -2 &&
	expect_grep "engine refused \(1 so far\): controller out of file descriptors: the open-files limit \(RLIMIT_NOFILE, ulimit -n\) is $LIMIT and [0-9]+ engines use it \(about 7 files each" "$D/controller.log" &&
	wait_for 30 "cat \"$ZT_TMP\"/x*.err | grep -q \"refused registration: controller out of file descriptors\"" &&
	cat "$ZT_TMP"/x*.err | grep -m1 "refused registration"
'

test_expect_success 'the controller still serves the engines it has' '
	live=$("$TC" engines | grep -c "state=idle\|state=busy") &&
	echo "$live live engines" &&
	test "$live" -ge 4 &&
	zt_timeout 60 "$TC" direct >direct.out &&
	test "$(grep -c "^direct engine=[0-9]* ok" direct.out)" = "$live"
'

test_expect_success 'zpar cluster stop stops it' '
	zt_timeout 60 "$ZPAR" cluster stop --dir "$D" >stop.out 2>&1
	rc=$?
	cat stop.out
	test $rc = 0 &&
	expect_grep "stopped the cluster" stop.out &&
	test ! -e "$D/pids"
'

test_expect_success "zpar cluster start -n 40 under ulimit -n $LIMIT: fails saying how many registered, and why" '
	(ulimit -n $LIMIT && exec "$ZPAR" cluster start -n 40 --dir "$D.2" --timeout 15) \
		>start2.out 2>start2.err
	rc=$?
	# shellcheck disable=SC2046
	zt_record_pid $(zt_cluster_pids)
	head -3 start2.err
	test $rc != 0 &&
	expect_grep "only [0-9]+ of 40 engines registered within 15 s" start2.err &&
	expect_grep "controller out of file descriptors: the open-files limit \(RLIMIT_NOFILE, ulimit -n\) is $LIMIT" "$D.2/controller.log" &&
	grep -l "refused registration: controller out of file descriptors" "$D.2"/engine-*.log | wc -l
'

test_done
