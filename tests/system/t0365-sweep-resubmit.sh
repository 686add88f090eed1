#!/bin/sh
# t0365-sweep-resubmit: automatic continuation of a sweep in a batch job,
# decided and submitted by the runner, against stand-in squeue, scontrol,
# sbatch, qstat and qsub (shell scripts that log their arguments): no
# scheduler needed, so every rule is checked in seconds.  The chain on the
# real Slurm is t0370.
#
# A job submits `sbatch --dependency=afterany:JOB` of its own batch script
# with the job's options and an environment without the old job's
# variables as soon as it has a point to run (so that a job killed without
# a word still has its continuation), and keeps it when it is stopped for
# its end (SIGTERM while it is RUNNING) with points left; the next job
# resumes and records its place in the chain; the limit, no --resubmit and
# a failing sbatch submit nothing; a cancelled job, one that made no
# progress and one that finished the sweep cancel the continuation
# (scancel / qdel); a job killed by SIGKILL leaves it, and the next job
# records what the killed one did; a continuation whose job before was
# cancelled does not run; the sweep file's `resubmit:` key; PBS's qsub -W
# depend.
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
case "$*" in
*"-t all"*) echo "${FAKE_PREV_STATE:-COMPLETED}" ;; # the job before (it has ended)
*"%T|%r"*) echo "${FAKE_STATE:-RUNNING}|${FAKE_REASON:-None}" ;;
*) echo "${FAKE_STATE:-RUNNING}" ;;
esac
EOF
cat >"$B/scancel" <<'EOF'
#!/bin/sh
echo "scancel $*" >>"$CALLS"
EOF
cat >"$B/qdel" <<'EOF'
#!/bin/sh
echo "qdel $*" >>"$CALLS"
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
    sleep 1 # the two results on their way to the runner
    kill -TERM $rj_pid
    wait $rj_pid
    rj_rc=$?
    sed 's/^/  | /' "$ZT_TMP/$rj_name.out"
    sed 's/^/  calls: /' "$CALLS"
}

# the user's SBATCH_* settings (here Slurm's --signal, which no job can
# read back from Slurm) reach the continuation's sbatch
export SBATCH_SIGNAL=TERM@5
test_expect_success 'stopped by SIGTERM with points left: sbatch --dependency=afterany of its own script' '
	run_job j777 777 --resubmit=2 &&
	expect_eq "exit status" 143 $rj_rc &&
	expect_grep "^squeue -h -j 777 -o %T\|%r$" "$CALLS" &&
	expect_grep "^scontrol write batch_script 777 -$" "$CALLS" &&
	expect_grep "^sbatch --parsable --dependency=afterany:777 --kill-on-invalid-dep=yes --job-name=long sweep --partition=debug --chdir=$W --time=00:01:00 --nodes=1 --ntasks=3 --output=$W/job-%j.out " "$CALLS" &&
	expect_grep "srun zpar run --sweep" "$CALLS.script" &&
	expect_grep "submitted job 778, held until job 777 ends \(continuation 1 of at most 2\)" "$ZT_TMP/j777.out" &&
	expect_grep "[0-9]+ points left: job 778 \(submitted at the start\) continues when job 777 ends \(continuation 1 of at most 2\)" "$ZT_TMP/j777.out" &&
	expect_no_grep "^scancel" "$CALLS" &&
	expect_eq "sbatch calls" 1 "$(grep -c "^sbatch" "$CALLS")" &&
	test "$(grep -n "^sbatch" "$CALLS" | cut -d: -f1)" -lt "$(grep -n "^squeue -h -j 777 -o %T|%r" "$CALLS" | cut -d: -f1)"
'

test_expect_success 'the continuation sees none of the old job'"'"'s variables' '
	expect_no_grep "^(SLURM_JOB_ID|SLURM_STEP_ID|PMIX_RANK)=" "$CALLS.env" &&
	expect_grep "^SWEEP=$W/s.yaml$" "$CALLS.env" &&
	expect_grep "^SBATCH_SIGNAL=TERM@5$" "$CALLS.env"
'
unset SBATCH_SIGNAL

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

test_expect_success 'a cancelled job (no longer RUNNING) cancels its continuation' '
	fresh && FAKE_STATE=CANCELLED run_job j779 779 --resubmit &&
	expect_grep "^sbatch --parsable --dependency=afterany:779 " "$CALLS" &&
	expect_grep "^scancel 778$" "$CALLS" &&
	expect_grep "no continuation: the job is CANCELLED, not RUNNING \(cancelled\?\): cancelled job 778" "$ZT_TMP/j779.out" &&
	$ZPAR sweep status "$W/s.yaml" --json >st.json &&
	python3 -c "
import json
j = json.load(open(\"st.json\"))[\"jobs\"][-1]
print(j)
assert j[\"job\"] == \"779\" and j[\"next_job\"] is None and j[\"outcome\"] == \"signal 15\", j
"
'

test_expect_success 'killed at its time limit (COMPLETING, reason TimeLimit): the continuation stays' '
	fresh && FAKE_STATE=COMPLETING FAKE_REASON=TimeLimit run_job j784 784 --resubmit &&
	expect_no_grep "^scancel" "$CALLS" &&
	expect_grep "job 778 \(submitted at the start\) continues when job 784 ends" "$ZT_TMP/j784.out"
'

test_expect_success 'no point ended in the job: its continuation is cancelled' '
	fresh && : >"$CALLS" &&
	SLURM_JOB_ID=785 PATH=$B:$PATH "$ZPAR" sweep run -n 2 --resubmit "$W/s.yaml" >np.out 2>&1 &
	p=$! && zt_record_pid $p &&
	wait_for 30 "grep -q \"submitted job 778\" np.out" && expect_eq "points ended" 0 "$(ends)" &&
	kill -TERM $p; wait $p; rc=$?;
	sed "s/^/  | /" np.out "$CALLS";
	expect_eq "exit status" 143 $rc &&
	expect_grep "^scancel 778$" "$CALLS" &&
	expect_grep "no continuation: no point ended in this job .*: cancelled job 778" np.out
'

test_expect_success 'a job killed by SIGKILL keeps its continuation; the next job records the killed one' '
	fresh && : >"$CALLS" &&
	SLURM_JOB_ID=786 PATH=$B:$PATH "$ZPAR" sweep run -n 2 --resubmit=3 "$W/s.yaml" >k1.out 2>&1 &
	p=$! && zt_record_pid $p &&
	wait_for 30 "[ \$(ends) -ge 2 ]" && kill -KILL $p; wait $p;
	sleep 1; sed "s/^/  | /" k1.out "$CALLS";
	expect_grep "^sbatch --parsable --dependency=afterany:786 " "$CALLS" &&
	expect_no_grep "^scancel" "$CALLS" &&
	: >"$CALLS" &&
	SLURM_JOB_ID=778 PATH=$B:$PATH zt_timeout 60 "$ZPAR" sweep run -n 2 --resubmit=3 "$W/s.yaml" >k2.out 2>&1;
	rc=$?; sed "s/^/  | /" k2.out "$CALLS";
	expect_eq "exit status of the continuation" 0 $rc &&
	expect_grep "job 786, the one before this one in the chain, was killed before it could record its end \([0-9]+ points ended in it\)" k2.out &&
	expect_grep "^squeue -h -t all -j 786 -o %T$" "$CALLS" &&
	expect_grep "the sweep is done: cancelled job 778, the continuation submitted at the start" k2.out &&
	$ZPAR sweep status "$W/s.yaml" --json >st.json && $ZPAR sweep status "$W/s.yaml" &&
	python3 -c "
import json
s = json.load(open(\"st.json\"))
j = s[\"jobs\"][-2:]
print(j)
assert s[\"succeeded\"] == 10, s
assert j[0][\"job\"] == \"786\" and j[0][\"outcome\"] == \"killed\" and j[0][\"next_job\"] == \"778\", j
assert j[0][\"done\"] >= 1 and j[0][\"left\"] is None and j[0][\"ended\"] >= j[0][\"started\"], j
assert j[1][\"job\"] == \"778\" and j[1][\"chain\"] == j[0][\"chain\"] + 1 and j[1][\"next_job\"] is None, j
assert j[1][\"outcome\"] == \"finished\" and j[1][\"left\"] == 0, j
"
'

test_expect_success 'a continuation whose job before was cancelled does not run the sweep' '
	fresh && : >"$CALLS" &&
	SLURM_JOB_ID=787 PATH=$B:$PATH "$ZPAR" sweep run -n 2 --resubmit=3 "$W/s.yaml" >c1.out 2>&1 &
	p=$! && zt_record_pid $p &&
	wait_for 30 "[ \$(ends) -ge 2 ]" && kill -KILL $p; wait $p;
	sleep 1; n=$(ends) && : >"$CALLS" &&
	FAKE_PREV_STATE=CANCELLED SLURM_JOB_ID=778 PATH=$B:$PATH zt_timeout 60 "$ZPAR" sweep run -n 2 --resubmit=3 "$W/s.yaml" >c2.out 2>&1;
	rc=$?; sed "s/^/  | /" c2.out;
	expect_eq "exit status" 1 $rc &&
	expect_grep "job 787, the one before this one in the chain, was cancelled: the chain stops here" c2.out &&
	expect_eq "points ended (none ran)" $n "$(ends)" &&
	expect_no_grep "^sbatch" "$CALLS"
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
	expect_grep "job 778 \(submitted at the start\) continues when job 790 ends \(continuation 1 of at most 4\)" tu.out &&
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
	expect_grep "job 13.srv \(submitted at the start\) continues when job 12.srv ends" pbs.out
'

test_expect_success 'the last job finishes the sweep and cancels the continuation it submitted' '
	: >"$CALLS" &&
	PBS_JOBID=13.srv PATH=$B:$PATH $ZPAR sweep run -n 2 --resubmit "$W/s.yaml" >last.out 2>&1 &&
	sed "s/^/  | /" last.out "$CALLS" &&
	expect_grep "^qsub -W depend=afterany:13.srv " "$CALLS" &&
	expect_grep "^qdel 13.srv$" "$CALLS" &&
	expect_grep "the sweep is done: cancelled job 13.srv, the continuation submitted at the start" last.out &&
	$ZPAR sweep status "$W/s.yaml" >st.txt && cat st.txt &&
	expect_grep "succeeded +10" st.txt &&
	expect_grep "^  1 +13.srv .* finished" st.txt
'

test_done
