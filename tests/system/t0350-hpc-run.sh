#!/bin/sh
# t0350-hpc-run: `zpar run` inside real HPC launches: Open MPI's mpirun,
# the project's own Slurm on localhost (sbatch of the slurm/ template, an
# salloc-style session, srun --mpi=pmix, cluster start --launcher slurm,
# scancel), and a PBS job reproduced around mpirun.
LIBDIR=$(cd "$(dirname "$0")/../lib" && pwd)
. "$LIBDIR/sharness-lite.sh"
zt_require_zpar
. "$LIBDIR/slurm-test.sh"
TOP=$(cd "$LIBDIR/../.." && pwd)
command -v mpirun >/dev/null 2>&1 && test_set_prereq MPIRUN

# processes of this zpar build still running (none may be left)
leftover () { ps -eo pid,args | grep -F "$ZPAR_BIN" | grep -v grep || true; }
ZPAR_BIN=$(dirname "$ZPAR")/.libs/zpar
[ -x "$ZPAR_BIN" ] || ZPAR_BIN=$ZPAR

# a small sweep: 6 points writing their index
cat >"$ZT_TMP/small.yaml" <<'EOF'
name: small
command: ["sh", "-c", "echo point {i} on $(hostname)"]
params:
  i: {range: [0, 6]}
EOF
all_succeeded () {
    zt_timeout 30 $ZPAR sweep report "$1" --format json >"$1.json" &&
    python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); sys.exit(0 if r and all(x["state"]=="succeeded" for x in r) else 1)' "$1.json"
}

# ------------------------------------------------------------------- mpirun

test_expect_success MPIRUN 'mpirun -n 4 zpar run -- zpar px hostname: 3 engines answer' '
	zt_timeout 120 mpirun -n 4 "$ZPAR" run --dir "$ZT_TMP/m1" -- "$ZPAR" px hostname >m1.out 2>m1.err;
	rc=$?; cat m1.out m1.err;
	expect_eq "exit" 0 $rc &&
	for e in 1 2 3; do expect_grep "^\[e$e\] " m1.out || return 1; done &&
	expect_eq "lines" 3 "$(grep -c "^\[e" m1.out)"
'

test_expect_success MPIRUN 'the exit code of the command is the job'"'"'s' '
	zt_timeout 120 mpirun -n 3 "$ZPAR" run --dir "$ZT_TMP/m2" -- sh -c "exit 7" >/dev/null 2>&1;
	expect_eq "exit" 7 $?
'

test_expect_success MPIRUN '--report-bindings: one line per engine with its cpuset' '
	zt_timeout 120 mpirun -n 3 "$ZPAR" run --report-bindings --dir "$ZT_TMP/m3" -- true >m3.out 2>&1;
	rc=$?; cat m3.out;
	expect_eq "exit" 0 $rc &&
	expect_eq "binding lines" 2 "$(grep -c "zpar run: host=.* rank=[12] .* cpus=" m3.out)"
'

test_expect_success MPIRUN 'mpirun zpar run --sweep: every point succeeds' '
	cp "$ZT_TMP/small.yaml" m4.yaml &&
	zt_timeout 120 mpirun -n 3 "$ZPAR" run --dir "$ZT_TMP/m4" --sweep m4.yaml >m4.out 2>&1;
	rc=$?; cat m4.out;
	expect_eq "exit" 0 $rc && all_succeeded m4.yaml
'

test_expect_success MPIRUN 'serving: zpar run with no command until zpar stop, nothing left' '
	zt_spawn serve mpirun -n 3 "$ZPAR" run --dir "$ZT_TMP/m5" &&
	P=$ZT_LAST_PID &&
	wait_for 60 "test -f $ZT_TMP/m5/client.json" &&
	wait_for 60 "zt_timeout 10 $ZPAR --connection-file $ZT_TMP/m5/client.json status 2>/dev/null | grep -q \"2 idle\"" &&
	zt_timeout 30 $ZPAR --connection-file "$ZT_TMP/m5/client.json" px true &&
	zt_timeout 30 $ZPAR --connection-file "$ZT_TMP/m5/client.json" stop &&
	wait_for 30 "! zt_alive $P" &&
	{ wait $P; rc=$?; } ; expect_eq "mpirun exit" 0 $rc &&
	test -z "$(leftover | grep -F "$ZT_TMP/m5")"
'

test_expect_success MPIRUN 'PBS: the pbs/ template under a reproduced PBS job (PBS_NODEFILE, mpirun)' '
	mkdir -p pbs && cp "$ZT_TMP/small.yaml" pbs/p.yaml &&
	PBS_EMU_DIR="$ZT_TMP/pbsemu" ZPAR="$ZPAR" zt_timeout 180 "$LIBDIR/pbs-emulate.sh" \
		-l nodes=1:ppn=3,walltime=00:02:00 -v "SWEEP=$ZT_TMP/pbs/p.yaml,ZPAR=$ZPAR,ZPAR_DIR=$ZPAR_DIR,OMPI_ALLOW_RUN_AS_ROOT=1,OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1,OMPI_MCA_pml=ob1,OMPI_MCA_rmaps_base_oversubscribe=1" \
		"$TOP/pbs/sweep.pbs" >pbs.out 2>&1;
	rc=$?; cat pbs.out;
	expect_eq "job exit" 0 $rc && all_succeeded pbs/p.yaml
'

# -------------------------------------------------------------------- Slurm

test_expect_success SLURM 'sbatch slurm/sweep.sbatch: srun zpar run --sweep, job exit 0' '
	mkdir -p sb && cp "$ZT_TMP/small.yaml" sb/s.yaml &&
	J=$(zt_timeout 30 sbatch --parsable --ntasks=3 -o "$ZT_TMP/sb/job.out" \
		--export=ALL,SWEEP=$ZT_TMP/sb/s.yaml,ZPAR=$ZPAR "$TOP/slurm/sweep.sbatch") &&
	echo $J >>"$ZT_TMP/jobs" &&
	wait_for 120 "! squeue -h -j $J 2>/dev/null | grep -q ." &&
	cat sb/job.out &&
	all_succeeded sb/s.yaml &&
	expect_grep "6 points: 6 succeeded" sb/job.out
'

test_expect_success SLURM 'salloc-style session: srun zpar run &, then zpar px with no option' '
	J=$(zt_timeout 30 sbatch --parsable --ntasks=3 -o /dev/null --wrap "sleep 300") &&
	echo $J >>"$ZT_TMP/jobs" &&
	wait_for 60 "squeue -h -j $J -o %T | grep -q RUNNING" &&
	zt_spawn step srun --jobid=$J -n 3 "$ZPAR" run &&
	P=$ZT_LAST_PID &&
	wait_for 60 "test -f $ZPAR_DIR/job-$J/client.json" &&
	wait_for 60 "SLURM_JOB_ID=$J zt_timeout 10 $ZPAR status 2>/dev/null | grep -q \"2 idle\"" &&
	SLURM_JOB_ID=$J zt_timeout 30 $ZPAR px hostname >s2.out &&
	cat s2.out && expect_eq "engines" 2 "$(grep -c "^\[e" s2.out)" &&
	SLURM_JOB_ID=$J zt_timeout 30 $ZPAR stop &&
	wait_for 60 "! zt_alive $P" &&
	scancel $J
'

test_expect_success SLURM 'srun --mpi=pmix: wire-up through PMIx' '
	zt_timeout 120 srun --mpi=pmix -n 3 "$ZPAR" run --dir "$ZT_TMP/s3" -- "$ZPAR" px true >s3.out 2>&1;
	rc=$?; cat s3.out; expect_eq "exit" 0 $rc
'

test_expect_success SLURM 'zpar cluster start --launcher slurm -n 2, px, cluster stop ends the job' '
	zt_timeout 120 $ZPAR cluster start --launcher slurm -n 2 --dir "$ZT_TMP/s4" --timeout 90 >s4.out &&
	cat s4.out &&
	J=$(awk "{print \$2; exit}" "$ZT_TMP/s4/launcher") && echo $J >>"$ZT_TMP/jobs" &&
	zt_timeout 30 $ZPAR --connection-file "$ZT_TMP/s4/client.json" px hostname >s4px.out &&
	cat s4px.out && expect_eq "engines" 2 "$(grep -c "^\[e" s4px.out)" &&
	zt_timeout 90 $ZPAR cluster stop --dir "$ZT_TMP/s4" &&
	! squeue -h -j $J 2>/dev/null | grep -q .
'

command -v qsub >/dev/null 2>&1 && command -v qstat >/dev/null 2>&1 && test_set_prereq QSUB
test_expect_success SLURM,QSUB 'zpar cluster start --launcher pbs (qsub) -n 2, px, cluster stop (qdel)' '
	zt_timeout 120 $ZPAR cluster start --launcher pbs -n 2 --dir "$ZT_TMP/q1" --timeout 90 >q1.out &&
	cat q1.out &&
	J=$(awk "{print \$2; exit}" "$ZT_TMP/q1/launcher") && echo $J >>"$ZT_TMP/jobs" &&
	zt_timeout 30 $ZPAR --connection-file "$ZT_TMP/q1/client.json" px hostname >q1px.out &&
	cat q1px.out && expect_eq "engines" 2 "$(grep -c "^\[e" q1px.out)" &&
	zt_timeout 90 $ZPAR cluster stop --dir "$ZT_TMP/q1" &&
	! squeue -h -j $J 2>/dev/null | grep -q .
'

test_expect_success SLURM 'scancel of a running cluster job leaves no zpar process' '
	J=$(zt_timeout 30 sbatch --parsable --ntasks=3 -o /dev/null --export=ALL,ZPAR=$ZPAR \
		"$TOP/slurm/cluster.sbatch") &&
	echo $J >>"$ZT_TMP/jobs" &&
	wait_for 60 "test -f $ZPAR_DIR/job-$J/client.json" &&
	wait_for 60 "SLURM_JOB_ID=$J zt_timeout 10 $ZPAR status 2>/dev/null | grep -q \"2 idle\"" &&
	scancel $J &&
	wait_for 60 "! squeue -h -j $J 2>/dev/null | grep -q ." &&
	wait_for 30 "test -z \"\$(leftover | grep -F job-$J)\"" &&
	test -z "$(ps -eo pid,args | grep -F "$ZPAR_BIN run" | grep -v grep)"
'

test_done
