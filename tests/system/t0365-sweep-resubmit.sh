#!/bin/sh
# t0365-sweep-resubmit: automatic continuation of a sweep in a batch job,
# decided and submitted by the runner, against stand-in squeue, scontrol,
# sbatch, qstat and qsub (shell scripts that log their arguments): no
# scheduler needed, so every rule is checked in seconds.  The chain on the
# real Slurm is t0370.
#
# A job stopped for its end (SIGTERM while it is RUNNING) with points left
# submits `sbatch --dependency=afterany:JOB` of its own batch script with
# the job's options and an environment without the old job's variables;
# the next job resumes and records its place in the chain; the limit, a
# cancelled job, no --resubmit, no progress and a failing sbatch submit
# nothing; the sweep file's `resubmit:` key; PBS's qsub -W depend.
LIBDIR=$(cd "$(dirname "$0")/../lib" && pwd)
. "$LIBDIR/sharness-lite.sh"
zt_require_zpar

W=$ZT_TMP/w
B=$ZT_TMP/bin
mkdir -p "$W/end" "$B"
CALLS=$ZT_TMP/calls
export CALLS B W
unset SLURM_JOB_ID PBS_JOBID ZPAR_CONNECTION_FILE

cat >"$B/squeue" <<'EOF'
#!/bin/sh
echo "squeue $*" >>"$CALLS"
echo "${FAKE_STATE:-RUNNING}"
EOF
cat >"$B/scontrol" <<'EOF'
#!/bin/sh
echo "scontrol $*" >>"$CALLS"
case "$1" in
show) cat <<EOT
JobId=$3 JobName=long sweep
   Priority=1 Nice=0 Account=(null) QOS=(null)
   JobState=RUNNING Reason=None Dependency=(null)
   RunTime=00:00:10 TimeLimit=00:01:00 TimeMin=N/A
   Partition=debug AllocNode:Sid=localhost:1
   NumNodes=1 NumCPUs=3 NumTasks=3 CPUs/Task=1 ReqB:S:C:T=0:0:*:*
   NtasksPerN:B:S:C=0:0:*:* CoreSpec=*
   MinCPUsNode=1 MinMemoryNode=0 MinTmpDiskNode=0
   Command=/somewhere/sweep.sbatch
   WorkDir=$W
   StdErr=$W/job-$3.out
   StdIn=/dev/null
   StdOut=$W/job-$3.out
EOT
;;
write) printf '#!/bin/sh\n#SBATCH --ntasks=3\nsrun zpar run --sweep "$SWEEP"\n' ;;
*) exit 1 ;;
esac
EOF
cat >"$B/sbatch" <<'EOF'
#!/bin/sh
echo "sbatch $*" >>"$CALLS"
for a; do last=$a; done
cp "$last" "$CALLS.script"
env >"$CALLS.env"
[ -n "$FAKE_SBATCH_FAIL" ] && { echo "sbatch: error: Batch job submission failed" >&2; exit 1; }
echo "${FAKE_NEXT:-778}"
EOF
cat >"$B/qstat" <<'EOF'
#!/bin/sh
echo "qstat $*" >>"$CALLS"
cat <<EOT
Job Id: $2
    Job_Name = zpar-sweep
    job_state = ${FAKE_STATE:-R}
    Submit_arguments = -l walltime=00:01:00 -v 'SWEEP=$W/s.yaml' 
	sweep.pbs
EOT
EOF
cat >"$B/qsub" <<'EOF'
#!/bin/sh
echo "qsub $* (in $(pwd))" >>"$CALLS"
echo "13.srv"
EOF
chmod +x "$B"/*

# 10 points of 2 s on 2 engines; each writes an end marker when it finishes
{
    echo "name: s"
    echo "command: [\"sh\", \"-c\", \"sleep 2; echo {i} >> $W/end/{i}\"]"
    echo "params:"
    echo "  i: {range: [0, 10]}"
} >"$W/s.yaml"
# a sweep nothing has run yet
fresh () { rm -f "$W"/end/* "$W"/s.yaml.journal.sqlite*; }
ends () { cat "$W"/end/* 2>/dev/null | wc -l | tr -d ' '; }

# run_job NAME JOB [options]: a sweep run as job JOB; SIGTERM once two more
# points have ended (Slurm's --signal before the end of the job)
run_job () {
    rj_name=$1 rj_job=$2
    shift 2
    rj_before=$(ends)
    : >"$CALLS"
    SLURM_JOB_ID=$rj_job SLURM_STEP_ID=0 PMIX_RANK=0 SWEEP=$W/s.yaml PATH=$B:$PATH \
        "$ZPAR" sweep run -n 2 "$@" "$W/s.yaml" >"$ZT_TMP/$rj_name.out" 2>&1 &
    rj_pid=$!
    zt_record_pid $rj_pid
    if ! wait_for 30 "! kill -0 $rj_pid 2>/dev/null || [ \$(ends) -ge $((rj_before + 2)) ]"; then
        cat "$ZT_TMP/$rj_name.out"
        return 1
    fi
    kill -TERM $rj_pid
    wait $rj_pid
    rj_rc=$?
    sed 's/^/  | /' "$ZT_TMP/$rj_name.out"
    sed 's/^/  calls: /' "$CALLS"
}

test_expect_success 'stopped by SIGTERM with points left: sbatch --dependency=afterany of its own script' '
	run_job j777 777 --resubmit=2 &&
	expect_eq "exit status" 143 $rj_rc &&
	expect_grep "^squeue -h -j 777 -o %T$" "$CALLS" &&
	expect_grep "^scontrol write batch_script 777 -$" "$CALLS" &&
	expect_grep "^sbatch --parsable --dependency=afterany:777 --kill-on-invalid-dep=yes --job-name=long sweep --partition=debug --chdir=$W --time=00:01:00 --nodes=1 --ntasks=3 --output=$W/job-%j.out " "$CALLS" &&
	expect_grep "srun zpar run --sweep" "$CALLS.script" &&
	expect_grep "submitted job 778 to continue when job 777 ends \(continuation 1 of at most 2\)" "$ZT_TMP/j777.out"
'

test_expect_success 'the continuation sees none of the old job'"'"'s variables' '
	expect_no_grep "^(SLURM_JOB_ID|SLURM_STEP_ID|PMIX_RANK)=" "$CALLS.env" &&
	expect_grep "^SWEEP=$W/s.yaml$" "$CALLS.env"
'

test_expect_success 'the next job is the chain'"'"'s second; at the limit it submits nothing' '
	run_job j778 778 --resubmit=1 &&
	expect_eq "exit status" 143 $rj_rc &&
	expect_no_grep "^sbatch" "$CALLS" &&
	expect_grep "no continuation: the chain has reached its limit \(1 continuation\)" "$ZT_TMP/j778.out" &&
	$ZPAR sweep status "$W/s.yaml" --json >st.json &&
	python3 -c "
import json, sys
j = json.load(open(\"st.json\"))[\"jobs\"]
print(j)
assert [r[\"job\"] for r in j] == [\"777\", \"778\"], j
assert [r[\"chain\"] for r in j] == [0, 1], j
assert j[0][\"next_job\"] == \"778\" and j[1][\"next_job\"] is None, j
assert all(r[\"done\"] >= 1 and r[\"outcome\"] == \"signal 15\" for r in j), j
"
'

test_expect_success 'a cancelled job (no longer RUNNING) submits nothing' '
	fresh && FAKE_STATE=CANCELLED run_job j779 779 --resubmit &&
	expect_no_grep "^sbatch" "$CALLS" &&
	expect_grep "no continuation: the job is CANCELLED, not RUNNING" "$ZT_TMP/j779.out"
'

test_expect_success 'without --resubmit nothing is asked of Slurm' '
	fresh && run_job j780 780 &&
	expect_eq "scheduler calls (but the end time)" "" "$(grep -v "^squeue -h -j 780 -o %e$" "$CALLS")" &&
	expect_no_grep "continuation" "$ZT_TMP/j780.out"
'

test_expect_success 'a failing sbatch is reported; the exit status stays the run'"'"'s' '
	fresh && FAKE_SBATCH_FAIL=1 run_job j781 781 --resubmit &&
	expect_eq "exit status" 143 $rj_rc &&
	expect_grep "could not submit the continuation of job 781: sbatch failed" "$ZT_TMP/j781.out"
'

test_expect_success 'the sweep file'"'"'s resubmit: key; --resubmit=0 overrides it' '
	echo "resubmit: 3" >>"$W/s.yaml" &&
	fresh && run_job j782 782 &&
	expect_grep "^sbatch --parsable --dependency=afterany:782" "$CALLS" &&
	expect_grep "continuation 1 of at most 3" "$ZT_TMP/j782.out" &&
	fresh && run_job j783 783 --resubmit=0 &&
	expect_no_grep "^sbatch" "$CALLS"
'

test_expect_success 'time is up (exit 75: the runner saw the end coming): the continuation is submitted' '
	fresh && : >"$CALLS" &&
	echo "estimate: 2" >>"$W/s.yaml" &&
	SLURM_JOB_ID=790 PATH=$B:$PATH zt_timeout 60 "$ZPAR" sweep run -n 2 --end-time +12 --resubmit=4 "$W/s.yaml" >tu.out 2>&1;
	rc=$?; sed "s/^/  | /" tu.out "$CALLS";
	sed -i "/^estimate:/d" "$W/s.yaml" &&
	expect_eq "exit status" 75 $rc &&
	expect_grep "^sbatch --parsable --dependency=afterany:790 " "$CALLS" &&
	expect_grep "submitted job 778 to continue when job 790 ends \(continuation 1 of at most 4\)" tu.out &&
	$ZPAR sweep status "$W/s.yaml" --json >st.json &&
	python3 -c "
import json
j = json.load(open(\"st.json\"))[\"jobs\"][-1]
print(j)
assert j[\"job\"] == \"790\" and j[\"outcome\"] == \"time up\" and j[\"next_job\"] == \"778\", j
assert j[\"left\"] > 0 and j[\"done\"] > 0 and j[\"done\"] + j[\"left\"] == 10, j
"
'

test_expect_success 'a bad resubmit: value is refused with its place' '
	sed "s/^resubmit: 3/resubmit: many/" "$W/s.yaml" >"$W/bad.yaml" &&
	$ZPAR sweep run "$W/bad.yaml" -n 1 2>err.txt; rc=$?;
	expect_eq "exit status" 2 $rc &&
	expect_grep "bad.yaml:[0-9]+:[0-9]+: resubmit must be true, false or an integer" err.txt
'

test_expect_success 'PBS: qsub -W depend=afterany with the job'"'"'s submit arguments' '
	mkdir -p "$W/pbswd"; sed -i "/^resubmit:/d" "$W/s.yaml"; fresh; : >"$CALLS"
	PBS_JOBID=12.srv PBS_O_WORKDIR=$W/pbswd PATH=$B:$PATH \
		"$ZPAR" sweep run -n 2 --resubmit "$W/s.yaml" >pbs.out 2>&1 &
	p=$! && zt_record_pid $p &&
	wait_for 30 "[ \$(ends) -ge 2 ]" && kill -TERM $p; wait $p;
	sed "s/^/  | /" pbs.out "$CALLS" &&
	expect_grep "^qsub -W depend=afterany:12.srv -l walltime=00:01:00 -v SWEEP=$W/s.yaml sweep.pbs \(in $W/pbswd\)$" "$CALLS" &&
	expect_grep "submitted job 13.srv to continue when job 12.srv ends" pbs.out
'

test_expect_success 'the last job finishes the sweep and submits nothing' '
	: >"$CALLS" &&
	PBS_JOBID=13.srv PATH=$B:$PATH $ZPAR sweep run -n 2 --resubmit "$W/s.yaml" >last.out 2>&1 &&
	expect_no_grep "^qsub" "$CALLS" &&
	$ZPAR sweep status "$W/s.yaml" >st.txt && cat st.txt &&
	expect_grep "succeeded +10" st.txt &&
	expect_grep "^  1 +13.srv .* finished" st.txt
'

test_done
