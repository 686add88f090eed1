#!/bin/sh
# t0948-records-restart: the task records of layout 2 (doc/records.md)
# across a controller restart.  Tasks finished (one that writes to stdout
# and stderr and fails) and one still running are recorded; the controller
# is SIGKILLed and restarted with --reuse: `zpar result --json` gives the
# same answer as before, field for field, and the running task finishes.
# A controller on a task database of the older layout does not start, and
# says why.
. "$(cd "$(dirname "$0")/.." && pwd)/lib/sharness-lite.sh"
zt_require_zpar
command -v sqlite3 >/dev/null 2>&1 || skip_all "needs the sqlite3 program (to make an old database)"

test_expect_success 'a cluster of 2 engines' '
	zt_restart_cluster 2
'

test_expect_success 'tasks finish: ok, failed with output on both streams' '
	A=$(zt_timeout 20 $ZPAR submit -- echo "hello records") && echo "$A" >a.id &&
	B=$(zt_timeout 20 $ZPAR submit -- sh -c "echo out; echo err >&2; exit 3") && echo "$B" >b.id &&
	zt_timeout 30 $ZPAR wait --timeout 20 "$A" &&
	! zt_timeout 30 $ZPAR wait --timeout 20 "$B" &&
	zt_timeout 20 $ZPAR result --json "$A" >a.before &&
	{ zt_timeout 20 $ZPAR result --json "$B" >b.before || true; } &&
	grep -q "hello records" a.before && grep -q "\"exit_code\": *3" b.before
'

test_expect_success 'a task still running when the controller dies' '
	C=$(zt_timeout 20 $ZPAR submit -- sh -c "sleep 2; echo late") && echo "$C" >c.id &&
	sleep 0.5
'

test_expect_success 'SIGKILL the controller, restart it with --reuse' '
	zt_restart_controller 1 &&
	wait_for 30 "zt_timeout 10 $ZPAR status 2>/dev/null | grep -q \"2 \""
'

test_expect_success 'zpar result after the restart: the same answers' '
	zt_timeout 20 $ZPAR result --json "$(cat a.id)" >a.after &&
	{ zt_timeout 20 $ZPAR result --json "$(cat b.id)" >b.after || true; } &&
	zt_diag "$(cat a.after)" &&
	cmp a.before a.after && cmp b.before b.after
'

test_expect_success 'the task that was running finishes' '
	zt_timeout 40 $ZPAR wait --timeout 30 "$(cat c.id)" &&
	zt_timeout 20 $ZPAR result "$(cat c.id)" 2>/dev/null | grep -q late
'

test_expect_success 'zpar status counts them' '
	zt_timeout 20 $ZPAR status >status.out && zt_diag "$(cat status.out)" &&
	grep -q "2 completed, 1 failed" status.out
'

test_expect_success 'zpar stop' '
	zt_timeout 30 $ZPAR stop
'

test_expect_success 'a controller on a database of the older layout refuses to start' '
	mkdir old &&
	sqlite3 old/tasks.sqlite "CREATE TABLE tasks (id INTEGER PRIMARY KEY, client INTEGER, engine INTEGER, state INTEGER NOT NULL DEFAULT 0, status INTEGER NOT NULL DEFAULT 0, submitted_us INTEGER, started_us INTEGER, completed_us INTEGER, request BLOB, result BLOB); INSERT INTO tasks(id,state) VALUES(7,2);" &&
	! zt_timeout 20 $ZPAR controller --dir "$PWD/old" >old.out 2>old.err &&
	zt_diag "$(cat old.err)" &&
	grep -q "record layout 1" old.err &&
	test "$(sqlite3 old/tasks.sqlite "SELECT count(*) FROM tasks")" = 1
'

test_done
