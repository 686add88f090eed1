#!/bin/sh
# t0901-engine-stopped: an engine that was stopped (SIGSTOP) for longer than
# the heartbeat death limit comes back as a working engine, not a zombie:
# the controller declared it dead, and once it runs again it registers
# again (same id) and is given new tasks.  A task it was running when it
# was stopped was retried elsewhere: the engine is told to drop it when it
# registers again, kills it, and the task's side effect happens once.
# (doc/engine.md, "Registration and controller loss".)
. "$(cd "$(dirname "$0")/.." && pwd)/lib/sharness-lite.sh"
zt_require_zpar
zt_find_testclient || skip_all "no zpar-testclient in $builddir"

D=$ZT_TMP/ctl
TC="$TESTCLIENT"

# the state / id the controller lists for the engine of pid $1
state_of () { "$TC" engines 2>/dev/null | sed -n "s/^engine id=[0-9]* state=\([a-z]*\) pid=$1 .*/\1/p"; }
id_of () { "$TC" engines 2>/dev/null | sed -n "s/^engine id=\([0-9]*\) state=[a-z]* pid=$1 .*/\1/p"; }

# the processes below pid $1
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

# stop engine $1 until the controller declares it dead, one period more,
# then let it run again
stop_until_dead () {
	kill -STOP "$1" &&
	wait_for 20 "test \"\$(state_of $1)\" = dead" &&
	sleep 0.5 &&
	kill -CONT "$1"
}

test_expect_success 'a controller and two engines' '
	zt_controller "$D" &&
	zt_engine "$D" engine1 && echo $ZT_LAST_PID >e1.pid &&
	zt_engine "$D" engine2 && echo $ZT_LAST_PID >e2.pid &&
	zt_timeout 40 "$TC" wait-engines 2 &&
	id_of $(cat e1.pid) >e1.id && test -s e1.id
'

test_expect_success 'SIGSTOP an idle engine past the death limit, then SIGCONT' '
	stop_until_dead $(cat e1.pid) &&
	"$TC" engines
'

test_expect_success 'it registers again: the controller lists it alive, same id' '
	wait_for 15 "test -n \"\$(state_of $(cat e1.pid))\" && test \"\$(state_of $(cat e1.pid))\" != dead" ||
	{ "$TC" engines; cat "$ZT_TMP/engine1.err" | tail -n 20; false; } &&
	expect_eq "engine id" "$(cat e1.id)" "$(id_of $(cat e1.pid))"
'

test_expect_success 'it is given new tasks (targeted at it, and load-balanced)' '
	ids= &&
	for i in 1 2 3 4; do
		ids="$ids $(zt_timeout 20 $ZPAR submit -t $(cat e1.id) -- sh -c "echo t$i")" || return 1
	done &&
	zt_timeout 40 $ZPAR wait --timeout 30 $ids &&
	lb= &&
	for i in 1 2 3 4 5 6 7 8; do
		lb="$lb $(zt_timeout 20 $ZPAR submit -- sh -c "sleep 0.3; echo b$i")" || return 1
	done &&
	zt_timeout 40 $ZPAR wait --timeout 30 $lb &&
	n=0 &&
	for t in $lb; do
		zt_timeout 20 $ZPAR result --json $t >r.json &&
		if grep -q "\"engine\": *$(cat e1.id)[,}]" r.json; then n=$((n + 1)); fi
	done &&
	echo "load-balanced tasks run by the engine that was stopped: $n of 8" &&
	test $n -gt 0
'

test_expect_success 'a task running on an engine stopped past the death limit runs once' '
	: >runs && : >side &&
	T=$(zt_timeout 60 $ZPAR submit --retries 2 -- sh -c \
		"echo \$\$ >>$ZT_TMP/runs; sleep 6; echo done \$\$ >>$ZT_TMP/side") ||
	{ echo "the submit did not answer"; false; } &&
	echo $T >t.id &&
	wait_for 40 "test -s runs" ||
	{ echo "the task did not start"; "$TC" engines; false; } &&
	first=$(head -n 1 runs) &&
	rm -f victim.pid &&
	for e in $(cat e1.pid) $(cat e2.pid); do
		if desc_of $e | grep -qx "$first"; then echo $e >victim.pid; fi
	done &&
	test -s victim.pid ||
	{ echo "task shell $first: no engine is its ancestor (ended already?)"; ps -o pid,ppid,etime,args -p "$first"; false; } &&
	echo "task shell $first runs on engine pid $(cat victim.pid)" &&
	stop_until_dead $(cat victim.pid) &&
	wait_for 20 "test \$(wc -l <runs) -ge 2" &&
	echo "retried: $(cat runs | tr "\n" " ")" &&
	wait_for 15 "! zt_alive $first" ||
	{ echo "the first run is still alive"; "$TC" engines; false; } &&
	zt_timeout 40 $ZPAR wait --timeout 30 $T &&
	sleep 1 &&
	cat side &&
	expect_eq "runs that did the side effect" 1 $(grep -c "^done " side) &&
	expect_no_grep "^done $first\$" side
'

# Fencing (doc/engine.md): the engine stays stopped past the end of the
# task's work.  Before fencing the task's shell (not stopped with its
# engine) finished and did its side effect while the controller ran the
# task again elsewhere: twice.  Now the keeper kills it before the
# controller's death limit, and the retry's side effect is the only one.
test_expect_success 'a task whose engine stays stopped past its end does its side effect once' '
	: >runs2 && : >side2 &&
	T=$(zt_timeout 20 $ZPAR submit --retries 1 -- sh -c \
		"echo \$\$ >>$ZT_TMP/runs2; sleep 5; echo fence-once >>$ZT_TMP/side2") &&
	wait_for 20 "test -s runs2" &&
	first=$(head -n 1 runs2) && rm -f victim.pid &&
	for e in $(cat e1.pid) $(cat e2.pid); do
		if desc_of $e | grep -qx "$first"; then echo $e >victim.pid; fi
	done &&
	test -s victim.pid &&
	v=$(cat victim.pid) &&
	kill -STOP $v &&
	wait_for 20 "test \"\$(state_of $v)\" = dead" &&
	sleep 6 &&
	kill -CONT $v &&
	zt_timeout 40 $ZPAR wait --timeout 30 $T &&
	sleep 1 &&
	echo "runs: $(cat runs2 | tr "\n" " ") side effects: $(grep -c fence-once side2)" &&
	expect_eq "runs that did the side effect" 1 $(grep -c fence-once side2) &&
	zt_timeout 20 $ZPAR result --json $T >r2.json &&
	grep -q "\"status\": *\"ok\"" r2.json ||
	{ cat r2.json; grep -i fenc "$ZT_TMP"/engine*.err; false; }
'

test_expect_success 'the stopped engine is alive again and runs tasks' '
	v=$(cat victim.pid) &&
	wait_for 15 "test \"\$(state_of $v)\" != dead" &&
	vid=$(id_of $v) &&
	t=$(zt_timeout 20 $ZPAR submit -t $vid -- echo after) &&
	zt_timeout 30 $ZPAR wait --timeout 20 $t
'

test_done
