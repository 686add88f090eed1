#!/bin/sh
# t0380-task-resources: what a task holding several engines gets
# (doc/engine.md, "Resources per task").  `zpar run` under mpirun binds its
# engines on a saved topology of 2 cores and 4 CUDA GPUs taken as this
# machine's (HWLOC_XMLFILE + HWLOC_THISSYSTEM: the cores are CPUs 0 and 1,
# the GPUs exist only in the file), one GPU per engine; each engine
# reports its cpuset, cores and GPU; a task asking for 2 cores or 2 GPUs
# holds both engines and runs on both CPUs (Cpus_allowed_list read in the
# task) with OMP_NUM_THREADS=2 and both GPUs in CUDA_VISIBLE_DEVICES; a
# task that allocates beyond its memory limit fails with a clear result and
# the engine runs the next task.
LIBDIR=$(cd "$(dirname "$0")/../lib" && pwd)
. "$LIBDIR/sharness-lite.sh"
zt_require_zpar
. "$LIBDIR/env.sh"
command -v mpirun >/dev/null 2>&1 && test_set_prereq MPIRUN
command -v python3 >/dev/null 2>&1 && test_set_prereq PYTHON
# the topology names CPUs 0 and 1: they must be ours
case "$(sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' /proc/self/status)" in
0-*) test_set_prereq CPU01 ;;
esac
# the resource options of zpar submit (the scheduler places such tasks)
"$ZPAR" submit --help 2>&1 | grep -q -- "--cores" && test_set_prereq RESOURCES

TOPO=$(cd "$LIBDIR/../data" && pwd)/topo-2core-4cuda.xml
D=$ZT_TMP/c
CF=$D/client.json
z () { zt_timeout 60 "$ZPAR" --connection-file "$CF" "$@"; }

test_expect_success MPIRUN,CPU01 'zpar run on the 2-core 4-GPU topology: 2 engines, 1 core and 1 GPU each' '
	zt_spawn serve env HWLOC_XMLFILE="$TOPO" HWLOC_THISSYSTEM=1 \
		mpirun -x HWLOC_XMLFILE -x HWLOC_THISSYSTEM -n 3 \
		"$ZPAR" run --gpus-per-engine 1 --report-bindings --dir "$D" &&
	echo $ZT_LAST_PID >serve.pid &&
	wait_for 60 "test -f $CF" || { cat "$ZT_TMP/serve.out" "$ZT_TMP/serve.err"; false; } &&
	wait_for 60 "z status 2>/dev/null | grep -q \"2 idle\"" &&
	cat "$ZT_TMP/serve.out" &&
	expect_eq "binding lines" 2 "$(grep -c "bind=core cpus=[01] gpus=cuda:[0-3]" "$ZT_TMP/serve.out")"
'

test_expect_success MPIRUN,CPU01 'each engine says what it holds (ZPAR_ENGINE_*), as it reports at registration' '
	z px sh -c "echo cpuset=\$ZPAR_ENGINE_CPUSET cores=\$ZPAR_ENGINE_CORES gpus=\$ZPAR_ENGINE_GPUS cuda=\$CUDA_VISIBLE_DEVICES size=\$ZPAR_ENGINE_LOCAL_SIZE" >px.out &&
	cat px.out &&
	expect_eq "engines" 2 "$(grep -c "cpuset=[01] cores=1 gpus=cuda:[0-3] cuda=[0-3] size=3" px.out)" &&
	expect_eq "distinct cpus" 2 "$(sed -n "s/.*cpuset=\([01]\).*/\1/p" px.out | sort -u | wc -l)" &&
	expect_eq "distinct gpus" 2 "$(sed -n "s/.*gpus=\(cuda:[0-3]\).*/\1/p" px.out | sort -u | wc -l)"
'

show='grep Cpus_allowed_list /proc/self/status; echo "omp=$OMP_NUM_THREADS cores=$ZPAR_TASK_CORES cpuset=$ZPAR_TASK_CPUSET cuda=$CUDA_VISIBLE_DEVICES slots=$ZPAR_TASK_SLOTS"'

test_expect_success MPIRUN,CPU01,RESOURCES 'a task asking 2 cores holds both engines: both CPUs, OMP_NUM_THREADS=2, both GPUs' '
	z submit --wait --cores 2 -- sh -c "$show" >c2.out 2>&1;
	rc=$?; cat c2.out;
	expect_eq "exit" 0 $rc &&
	expect_grep "Cpus_allowed_list:[[:space:]]+0-1" c2.out &&
	expect_grep "omp=2 cores=2 cpuset=0-1 cuda=[0-3],[0-3] " c2.out &&
	expect_eq "slots" 2 "$(sed -n "s/.*slots=//p" c2.out | tr ";" "\n" | grep -c .)"
'

test_expect_success MPIRUN,CPU01,RESOURCES 'a task asking 2 GPUs: CUDA_VISIBLE_DEVICES holds both engines'"'"' GPUs' '
	z px sh -c "echo \$ZPAR_ENGINE_GPUS" | sed -n "s/.*cuda:\([0-3]\).*/\1/p" | sort >gpus.want &&
	z submit --wait --gpus 2 -- sh -c "$show" >g2.out 2>&1;
	rc=$?; cat g2.out;
	expect_eq "exit" 0 $rc &&
	sed -n "s/.* cuda=\([0-9,]*\) .*/\1/p" g2.out | tr "," "\n" | sort >gpus.got &&
	expect_eq "the GPUs" "$(cat gpus.want | tr "\n" " ")" "$(cat gpus.got | tr "\n" " ")"
'

test_expect_success MPIRUN,CPU01,RESOURCES 'a 1-core task gets none of it: its engine'"'"'s CPU, no ZPAR_TASK_*' '
	z submit --wait -- sh -c "$show" >c1.out 2>&1;
	rc=$?; cat c1.out;
	expect_eq "exit" 0 $rc &&
	expect_grep "Cpus_allowed_list:[[:space:]]+[01]$" c1.out &&
	expect_grep "omp= cores= cpuset= cuda=[0-3] slots=$" c1.out
'

test_expect_success MPIRUN,CPU01,RESOURCES,PYTHON 'beyond its memory limit a task fails with a clear result; the engine runs the next' '
	z submit --wait --json --memory 64M -- python3 -c "bytearray(256 << 20)" >m1.out 2>&1;
	rc=$?; cat m1.out;
	expect_eq "exit" 1 $rc &&
	expect_grep "\"status\":\"failed\"" m1.out &&
	expect_grep "MemoryError" m1.out &&
	expect_grep "\"error\":\"exited with status 1 \(its memory limit is 64 MiB\)\"" m1.out &&
	z submit --wait --memory 512M -- python3 -c "bytearray(256 << 20); print(\"fits\")" >m2.out 2>&1;
	rc=$?; cat m2.out;
	expect_eq "exit" 0 $rc && expect_grep "^fits" m2.out &&
	expect_eq "engines" 2 "$(z px echo alive 2>&1 | grep -c "^\[e[0-9]*\] alive")"
'

test_expect_success MPIRUN,CPU01 'zpar stop: the job ends, nothing left' '
	z stop &&
	P=$(cat serve.pid) &&
	wait_for 30 "! zt_alive $P" &&
	{ wait $P; rc=$?; } ; expect_eq "mpirun exit" 0 $rc
'

test_expect_success MPIRUN 'zpar run --bind none: an outer engine'"'"'s ZPAR_ENGINE_* are not reported as its own' '
	ZPAR_ENGINE_CPUSET=5 ZPAR_ENGINE_GPUS=cuda:9 zt_timeout 120 \
		mpirun -x ZPAR_ENGINE_CPUSET -x ZPAR_ENGINE_GPUS -n 2 "$ZPAR" run --bind none \
		--dir "$ZT_TMP/n" -- "$ZPAR" px sh -c "echo cpuset=\${ZPAR_ENGINE_CPUSET-unset} gpus=\${ZPAR_ENGINE_GPUS-unset} size=\$ZPAR_ENGINE_LOCAL_SIZE" >n.out 2>&1;
	rc=$?; cat n.out;
	expect_eq "exit" 0 $rc &&
	expect_grep "^\[e1\] cpuset=unset gpus=unset size=2$" n.out
'

test_done
