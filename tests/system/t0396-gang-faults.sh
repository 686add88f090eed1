#!/bin/sh
# t0396-gang-faults: an engine of a running multi-engine task dies
# (doc/architecture.md "Faults", sched_gang.c), on a local cluster of
# one-core engines of one node.  Outcomes are counted, never timed:
#   - a member (not the leader) of a 3-core task SIGKILLed while it runs:
#     the leader stops the task (its process sees SIGTERM), the task runs
#     again (--retries 1) and succeeds: two runs started, one stopped, one
#     answer; no engine stays held (a 3-core task on the 3 engines left
#     runs at once);
#   - the same with no retry left: answered "engine died", naming the
#     member and its host; the engines left are free again;
#   - several 2-, 3- and 4-core tasks and plain ones submitted at once
#     all run, each once, no engine in two tasks at once;
#   - MPI (mpirun on this host): the leader of a 2-rank task SIGKILLed: no
#     rank process is left, the task runs once more and succeeds.
LIBDIR=$(cd "$(dirname "$0")/../lib" && pwd)
. "$LIBDIR/sharness-lite.sh"
zt_require_zpar
. "$LIBDIR/env.sh"
command -v python3 >/dev/null 2>&1 && test_set_prereq PYTHON
WHERE=$builddir/tests/lib/mpi-where
[ -x "$WHERE" ] && command -v mpirun >/dev/null 2>&1 && test_set_prereq MPI
ZPAR_MPI_RANK_WRAPPER=$builddir/zpar-rank
ZPAR_TASK_NICE=0
# the ranks SIGKILLed here would leave Open MPI's shared-memory segments
# in /dev/shm: they talk over TCP
OMPI_MCA_btl=self,tcp
export ZPAR_MPI_RANK_WRAPPER ZPAR_TASK_NICE OMPI_MCA_btl

z () { zt_timeout 120 "$ZPAR" "$@"; }

# engine_pids: "ENGINE PID" of every live engine (each runs `echo $PPID`)
engine_pids () {
	z px -- sh -c "echo pid=\$PPID" | sed -n "s/^\[e\([0-9]*\)\] pid=\([0-9]*\)$/\1 \2/p" | sort -n
}

# member_of FILE: the engine id of the second slot of the first "start"
# line in FILE (the task printed its ZPAR_TASK_SLOTS there)
member_of () {
	sed -n "s/^start //p" "$1" | head -1 | cut -d";" -f2 | cut -d" " -f1
}

# the task of the member tests: its first run waits (a minute) for a
# SIGTERM, the next one ends at once
cat >gang-task.sh <<'EOF'
#!/bin/sh
runs=$1
echo "start $ZPAR_TASK_SLOTS" >>"$runs"
if [ "$(grep -c "^start" "$runs")" = 1 ]; then
	trap 'echo stopped >>"$runs"; exit 143' TERM
	sleep 60 &
	wait
	echo "not stopped" >>"$runs"
fi
echo done
EOF
chmod +x gang-task.sh

test_expect_success 'a cluster of 5 engines' '
	zt_cluster_start 5 &&
	engine_pids >pids1 && cat pids1 &&
	expect_eq "engines" 5 "$(wc -l <pids1)"
'

test_expect_success 'a member of a running 3-core task dies: stopped, run again, answered once' '
	id=$(z submit --retries 1 --cores 3 -- "$ZT_TMP/gang-task.sh" "$ZT_TMP/runs1") &&
	wait_for 60 "grep -q ^start $ZT_TMP/runs1" &&
	m=$(member_of runs1) && pid=$(sed -n "s/^$m //p" pids1) &&
	echo "member engine $m, pid $pid" && zt_is_ours "$pid" &&
	kill -KILL "$pid" &&
	z wait --timeout 100 $id &&
	z result --json $id >r1.json; cat r1.json runs1 &&
	expect_grep "\"status\": *\"ok\"" r1.json &&
	expect_eq "runs started" 2 "$(grep -c ^start runs1)" &&
	expect_eq "runs stopped" 1 "$(grep -c ^stopped runs1)" &&
	expect_eq "runs not stopped" 0 "$(grep -c "^not stopped" runs1)" &&
	! sed -n "2s/^start //p" runs1 | tr ";" "\n" | grep -q "^$m "
'

test_expect_success 'no engine stays held: a 4-core task on the 4 engines left, then 4 plain ones' '
	z submit --wait --cores 4 -- true &&
	a=$(z submit -- true) && b=$(z submit -- true) && c=$(z submit -- true) &&
	d=$(z submit -- true) && z wait --timeout 60 $a $b $c $d
'

test_expect_success 'the same with no retry: answered "engine died", naming the member' '
	engine_pids >pids2 && cat pids2 &&
	id=$(z submit --cores 2 -- "$ZT_TMP/gang-task.sh" "$ZT_TMP/runs2") &&
	wait_for 60 "grep -q ^start $ZT_TMP/runs2" &&
	m=$(member_of runs2) && pid=$(sed -n "s/^$m //p" pids2) &&
	echo "member engine $m, pid $pid" && zt_is_ours "$pid" &&
	kill -KILL "$pid" &&
	{ z wait --timeout 100 $id; true; } &&
	z result --json $id >r2.json; cat r2.json runs2 &&
	expect_grep "\"status\": *\"engine-died\"" r2.json &&
	expect_grep "engine $m .host [^ ]*. of its set died while it ran" r2.json &&
	expect_eq "runs started" 1 "$(grep -c ^start runs2)" &&
	expect_eq "runs stopped" 1 "$(grep -c ^stopped runs2)" &&
	z submit --wait --cores 3 -- true
'

# show: what every task prints (the engines it holds, when it ran)
# shellcheck disable=SC2016
show='s=$(date +%s.%N); sleep 0.3; e=$(date +%s.%N); echo "run $s $e ${ZPAR_TASK_SLOTS:-}"'

test_expect_success PYTHON 'several big tasks at once: each runs once, no engine in two tasks' '
	: >ids &&
	for c in 3 2 3 1 2 1 3 1 2 1 3 2; do
		id=$(z submit --cores $c -- sh -c "$show") || return 1
		echo "$id $c" >>ids
	done &&
	z wait --timeout 100 $(cut -d" " -f1 ids) &&
	while read id c; do
		z result --json $id >m.$id.json || return 1
	done <ids &&
	python3 - ids <<-\EOF
	import json, sys
	tasks = []
	for line in open(sys.argv[1]):
	    tid, cores = line.split()
	    r = json.load(open("m.%s.json" % tid))
	    assert r["status"] == "ok", (tid, r["status"])
	    runs = [l for l in r.get("stdout", "").splitlines() if l.startswith("run ")]
	    assert len(runs) == 1, (tid, runs)
	    run = runs[0].split(" ", 3)
	    slots = run[3].strip() if len(run) > 3 else ""
	    engines = set(int(s.split()[0]) for s in slots.split(";")) if slots else {int(r["engine"])}
	    assert len(engines) == int(cores), (tid, cores, engines)
	    tasks.append((tid, float(run[1]), float(run[2]), engines))
	clash = sum(1 for i, a in enumerate(tasks) for b in tasks[i + 1:]
	            if a[1] < b[2] and b[1] < a[2] and a[3] & b[3])
	print(len(tasks), "tasks, clashes", clash)
	sys.exit(1 if clash else 0)
	EOF
'

# ranks_left: processes of ours that run the first run's ranks (mpi-where 120)
ranks_left () {
	for p in $(pgrep -f "$WHERE 120"); do
		zt_is_ours "$p" && tr "\0" " " <"/proc/$p/cmdline" && echo
	done
	true
}

cat >mpi-task.sh <<EOF
#!/bin/sh
# each rank: its first run waits two minutes in the MPI program, the next one not
[ "\$ZPAR_RANK" = 0 ] && echo "start \$ZPAR_TASK_SLOTS" >>"$ZT_TMP/runs3"
if [ -e "$ZT_TMP/rank.\$ZPAR_RANK" ]; then exec "$WHERE"; fi
touch "$ZT_TMP/rank.\$ZPAR_RANK"
exec "$WHERE" 120
EOF
chmod +x mpi-task.sh

test_expect_success MPI 'the leader of a 2-rank MPI task dies: no rank is left, run again once' '
	id=$(z submit --retries 1 --ranks 2 -- "$ZT_TMP/mpi-task.sh") &&
	wait_for 60 "test \$(ranks_left | wc -l) -ge 2" || { ranks_left; z result $id; false; } &&
	ranks_left &&
	mp=$(for p in $(pgrep -x mpirun); do zt_is_ours $p && echo $p; done | head -1) &&
	leader=$(ps -o ppid= -p "$mp" | tr -d " ") &&
	echo "mpirun $mp, its engine $leader" && zt_is_ours "$leader" &&
	kill -KILL "$leader" &&
	z wait --timeout 100 $id &&
	z result --json $id >r3.json; cat r3.json runs3 &&
	expect_grep "\"status\": *\"ok\"" r3.json &&
	expect_eq "runs started" 2 "$(grep -c ^start runs3)" &&
	wait_for 30 "test -z \"\$(ranks_left)\"" || { ranks_left; false; }
'

test_done
