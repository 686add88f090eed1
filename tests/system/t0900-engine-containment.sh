#!/bin/sh
# t0900-engine-containment: a task's processes never outlive their engine.
# A command task that starts a grandchild, and a forked function task, run
# on an engine that is then killed with SIGKILL (no engine code runs): every
# process of the task must be gone within a few seconds, the killed run's
# side effect must not happen, and the retry elsewhere runs it once.  The
# same when the engine is stopped with SIGTERM.  (doc/engine.md,
# "Containment".)
. "$(cd "$(dirname "$0")/.." && pwd)/lib/sharness-lite.sh"
zt_require_zpar
zt_find_testclient || skip_all "no zpar-testclient in $builddir"
zt_find_testfn || skip_all "no test function library in $builddir"

D=$ZT_TMP/ctl
TC="$TESTCLIENT"

# the processes below pid $1 (children, grandchildren, ...), one per line
desc_of () {
	ps -e -o pid=,ppid= | awk -v root="$1" '
		{ parent[$1] = $2; pids[n++] = $1 }
		END {
			for (i = 0; i < n; i++) {
				p = pids[i]; q = parent[p]; hops = 0
				while (q != "" && q != 0 && q != root && hops++ < 64) q = parent[q]
				if (q == root && p != root) print p
			}
		}'
}

# true when no pid listed in file $1 is alive
none_alive () {
	for p in $(cat "$1"); do
		zt_alive "$p" && { echo "still alive: $(ps -o pid=,pgid=,sid=,args= -p "$p")"; return 1; }
	done
	return 0
}

# the task process children of engine $1: the group leaders below it but
# its keeper (a task's child starts a session of its own, or, when the
# engine made it a group leader first, a group in the engine's session)
task_children () {
	for p in $(desc_of "$1"); do
		ps -o pid=,pgid=,comm= -p "$p" | awk '$1 == $2 && $3 != "zpar-keeper" { print $1 }'
	done
}

test_expect_success 'a controller and one engine' '
	zt_controller "$D" &&
	zt_engine "$D" engine1 && E1=$ZT_LAST_PID && echo $E1 >e1.pid &&
	zt_timeout 40 "$TC" wait-engines 1
'

test_expect_success 'a command task with a grandchild runs on it' '
	: >pids && : >side &&
	ID=$(zt_timeout 20 $ZPAR submit --retries 1 -- sh -c \
		"echo \$\$ >>$ZT_TMP/pids; sleep 60 & echo \$! >>$ZT_TMP/pids; sleep 3; echo done \$\$ >>$ZT_TMP/side") &&
	echo "$ID" >id.txt &&
	wait_for 20 "test \$(wc -l <pids) -ge 2" &&
	cat pids &&
	for p in $(cat pids); do zt_alive $p || return 1; done &&
	desc_of $(cat e1.pid) >e1.desc && cat e1.desc &&
	cat pids e1.desc | sort -u >killset
'

test_expect_success 'SIGKILL of the engine: every process of the task is gone' '
	t0=$(zt_now_ms) &&
	kill -KILL $(cat e1.pid) &&
	wait_for 10 "! zt_alive $(cat e1.pid)" &&
	wait_for 5 "none_alive killset >/dev/null" ||
	{ none_alive killset; false; } &&
	echo "all gone $(( $(zt_now_ms) - t0 )) ms after the kill"
'

test_expect_success 'the killed run did not do its side effect' '
	sleep 4 &&
	cat side &&
	first=$(head -n 1 pids) &&
	expect_no_grep "^done $first\$" side
'

test_expect_success 'the retry on another engine runs the task once' '
	zt_engine "$D" engine2 && echo $ZT_LAST_PID >e2.pid &&
	zt_timeout 60 $ZPAR wait --timeout 50 $(cat id.txt) &&
	cat side &&
	expect_eq "runs that did the side effect" 1 $(grep -c "^done " side)
'

test_expect_success 'a forked function task dies with its engine too' '
	E2=$(cat e2.pid) &&
	printf 30 >in.txt &&
	FID=$(zt_timeout 20 $ZPAR submit --function "$TESTFN:zt_sleep" --input in.txt) &&
	wait_for 20 "test -n \"\$(task_children $E2)\"" &&
	task_children $E2 >fn.pids && desc_of $E2 >e2.desc &&
	cat fn.pids e2.desc | sort -u >killset2 && cat killset2 &&
	kill -KILL $E2 &&
	wait_for 10 "! zt_alive $E2" &&
	wait_for 5 "none_alive killset2 >/dev/null" ||
	{ none_alive killset2; false; }
'

test_expect_success 'SIGTERM of the engine kills the task group, grandchildren included' '
	zt_engine "$D" engine3 && E3=$ZT_LAST_PID &&
	: >pids3 &&
	zt_timeout 20 $ZPAR submit -- sh -c \
		"echo \$\$ >>$ZT_TMP/pids3; sleep 60 & echo \$! >>$ZT_TMP/pids3; sleep 60" >/dev/null &&
	wait_for 30 "test \$(wc -l <pids3) -ge 2" &&
	desc_of $E3 >e3.desc && cat pids3 e3.desc | sort -u >killset3 &&
	kill -TERM $E3 &&
	wait_for 10 "! zt_alive $E3" &&
	wait_for 5 "none_alive killset3 >/dev/null" ||
	{ none_alive killset3; false; }
'

test_expect_success 'nothing of ours is left but the controller' '
	for p in $(zt_marked_pids); do
		test "$p" = "$ZT_CONTROLLER_PID" && continue
		ps -o pid=,ppid=,args= -p $p
		return 1
	done
'

test_done
