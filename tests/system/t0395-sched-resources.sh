#!/bin/sh
# t0395-sched-resources: the load-balanced scheduler places tasks that ask
# for more than one core (doc/sweeps.md "Resources"; sched_gang.c) on a
# cluster of 4 one-core engines of one node:
#   - a mix of 1-, 2- and 4-core tasks never oversubscribes: each task
#     prints the engines it holds (ZPAR_TASK_SLOTS; a 1-core task: its
#     engine) and when it ran, and no engine is in two tasks at once;
#   - a task no set of engines can ever hold fails at once, saying why;
#   - a 4-core task is not starved by a stream of 1-core tasks (it
#     reserves: it ends long before the stream does);
#   - the leader of a 2-core task killed while it runs: the task is run
#     again elsewhere (retries) and its other engine is released;
#   - a sweep with cores: in it places its points the same way.
LIBDIR=$(cd "$(dirname "$0")/../lib" && pwd)
. "$LIBDIR/sharness-lite.sh"
zt_require_zpar
command -v python3 >/dev/null 2>&1 && test_set_prereq PYTHON

z () { zt_timeout 120 "$ZPAR" "$@"; }
# the engines a task printed (slots), else the one that ran it
# shellcheck disable=SC2016
show='s=$(date +%s.%N); sleep 0.4; e=$(date +%s.%N); echo "run $s $e ${ZPAR_TASK_SLOTS:-}"'

test_expect_success 'a cluster of 4 engines' '
	zt_cluster_start 4
'

test_expect_success PYTHON 'a mix of 1-, 2- and 4-core tasks: no engine in two tasks at once' '
	: >ids &&
	for c in 1 2 4 1 1 2 1 4 2 2 1 1 4 1 2 1 1 2 4 1; do
		id=$(z submit --cores $c -- sh -c "$show") || return 1
		echo "$id $c" >>ids
	done &&
	z wait --timeout 100 $(cut -d" " -f1 ids) &&
	while read id c; do
		z result --json $id >r.$id.json || return 1
	done <ids &&
	python3 - ids <<-\EOF
	import json, sys
	tasks = []
	for line in open(sys.argv[1]):
	    tid, cores = line.split()
	    r = json.load(open("r.%s.json" % tid))
	    out = r.get("stdout", "")
	    run = [l for l in out.splitlines() if l.startswith("run ")][0].split(" ", 3)
	    start, end = float(run[1]), float(run[2])
	    slots = run[3].strip() if len(run) > 3 else ""
	    if slots:
	        engines = sorted(int(s.split()[0]) for s in slots.split(";"))
	    else:
	        engines = [int(r["engine"])]
	    assert len(engines) == int(cores), (tid, cores, engines)
	    assert engines[0] == int(r["engine"]) or slots, (tid, r["engine"], engines)
	    tasks.append((tid, start, end, set(engines)))
	    print(tid, cores, engines, "%.2f-%.2f" % (start, end))
	clash = 0
	for i, a in enumerate(tasks):
	    for b in tasks[i + 1:]:
	        if a[1] < b[2] and b[1] < a[2] and a[3] & b[3]:
	            print("CLASH", a, b)
	            clash += 1
	print("clashes", clash)
	sys.exit(1 if clash else 0)
	EOF
'

test_expect_success 'a task no set of engines can hold fails at once, saying why' '
	z submit --wait --cores 8 -- true >c8.out 2>&1;
	rc=$?; cat c8.out;
	expect_eq "exit" 1 $rc &&
	expect_grep "needs 8 cores on one node; the largest node has 4" c8.out &&
	z submit --wait --gpus 1 -- true >g1.out 2>&1;
	cat g1.out &&
	expect_grep "needs 1 GPUs on one node; the largest node has 0" g1.out
'

# 80 one-second tasks on 4 engines are 20 s of work, and the engines
# prefetch (16 tasks each): without a reservation the 4-core task would
# find all 4 idle only at the end of the stream
test_expect_success 'a 4-core task is not starved by a stream of 1-core tasks' '
	: >stream &&
	for i in $(seq 1 40); do z submit -- sh -c "sleep 1; date +%s.%N" >>stream || return 1; done &&
	big=$(z submit --cores 4 -- sh -c "date +%s.%N") &&
	for i in $(seq 1 40); do z submit -- sh -c "sleep 1; date +%s.%N" >>stream || return 1; done &&
	z wait --timeout 100 $big $(cat stream) &&
	tb=$(z result $big | head -1) &&
	last=$(for i in $(cat stream); do z result $i | head -1; done | sort -n | tail -1) &&
	echo "the 4-core task ran at $tb, the stream ended at $last" &&
	awk -v b="$tb" -v l="$last" "BEGIN { exit !(b < l - 5) }"
'

test_expect_success 'the leader of a 2-core task is killed: run again elsewhere, the other engine released' '
	id=$(z submit --retries 1 --cores 2 -- sh -c "echo \$PPID >>$ZT_TMP/leaders; sleep 3; echo done") &&
	wait_for 30 "test -s $ZT_TMP/leaders" &&
	pid=$(head -1 $ZT_TMP/leaders) &&
	echo "leader engine pid $pid" &&
	kill -9 $pid &&
	z wait --timeout 100 $id &&
	z result --json $id >k.json && cat k.json &&
	expect_grep "\"status\": *\"ok\"" k.json &&
	expect_eq "runs started" 2 "$(wc -l <$ZT_TMP/leaders)" &&
	a=$(z submit -- true) && b=$(z submit -- true) && c=$(z submit -- true) &&
	z wait --timeout 60 $a $b $c
'

test_expect_success 'a sweep with cores: places its points on sets of engines' '
	cat >s.yaml <<-\EOF &&
	name: s
	shell: true
	command: "echo slots=$ZPAR_TASK_SLOTS"
	params:
	  c: [2, 3, 1]
	cores: "{c}"
	EOF
	z sweep run s.yaml >sweep.out 2>&1; rc=$?; cat sweep.out; cat s.out/*.out;
	expect_eq "sweep exit" 0 $rc &&
	expect_eq "point 0: 2 slots" 2 "$(sed -n "s/^slots=//p" s.out/0.out | tr ";" "\n" | grep -c .)" &&
	expect_eq "point 1: 3 slots" 3 "$(sed -n "s/^slots=//p" s.out/1.out | tr ";" "\n" | grep -c .)" &&
	expect_eq "point 2: none" 0 "$(sed -n "s/^slots=//p" s.out/2.out | tr ";" "\n" | grep -c .)"
'

test_done
