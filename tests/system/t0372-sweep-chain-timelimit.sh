#!/bin/sh
# t0372-sweep-chain-timelimit: a run that does not know its job's end
# (--end-time none) is ended by Slurm at the job's time limit (SIGTERM; the
# job is COMPLETING for reason TimeLimit, not RUNNING; Slurm's signals to
# the job may kill the runner's squeue too, and then the state is not
# known): its continuation, submitted at the start, is kept -- not taken
# for a cancelled job's -- and finishes the sweep (the real local Slurm, a
# --time=1 job: about 2 min).
LIBDIR=$(cd "$(dirname "$0")/../lib" && pwd)
. "$LIBDIR/sharness-lite.sh"
zt_require_zpar
. "$LIBDIR/slurm-test.sh"
command -v python3 >/dev/null 2>&1 || skip_all "no python3 (reads the JSON status)"
unset ZPAR_END_TIME

W=$ZT_TMP/w
mkdir -p "$W/m"
NAME=zpar-t0372-$$
NPTS=60

t0372_cleanup () {
    t0372_rc=$?
    scancel --name="$NAME" 2>/dev/null
    (exit $t0372_rc)
    zt_slurm_cleanup
}
trap t0372_cleanup EXIT

# 60 points of 5 s on 3 engines: 100 s of work per engine, more than the
# job holds (Slurm enforces the limit up to half a minute late)
cat >"$W/tl.yaml" <<EOF
name: tl
command: ["sh", "-c", "echo start >> $W/m/{i}; sleep 5; echo end >> $W/m/{i}"]
params:
  i: {range: [0, $NPTS]}
EOF
cat >"$W/job.sbatch" <<'EOF'
#!/bin/sh
exec srun --kill-on-bad-exit=0 "$ZPAR" run --sweep "$SWEEP" --resubmit=2 --end-time none
EOF

test_expect_success SLURM 'ended by Slurm at its time limit: the continuation stays and finishes the sweep' '
	J=$(zt_timeout 30 sbatch --parsable --job-name="$NAME" --ntasks=4 --time=1 \
		-o "$W/job-%j.out" --export=ALL,SWEEP=$W/tl.yaml,ZPAR=$ZPAR "$W/job.sbatch") &&
	echo $J >>"$ZT_TMP/jobs" &&
	wait_for 240 "zt_timeout 30 \"$ZPAR\" sweep status \"$W/tl.yaml\" --json >st.json && python3 -c \"
import json, sys
s = json.load(open(\\\"st.json\\\"))
sys.exit(0 if s[\\\"succeeded\\\"] == $NPTS and s[\\\"jobs\\\"][-1][\\\"ended\\\"] else 1)
\" && ! squeue -h --name=$NAME 2>/dev/null | grep -q ." ;
	rc=$?;
	for f in "$W"/job-*.out; do echo "== $f"; cat "$f"; done;
	zt_timeout 30 "$ZPAR" sweep status "$W/tl.yaml";
	test $rc = 0 &&
	expect_grep "job [0-9]+ \(submitted at the start\) continues when job $J ends" "$W/job-$J.out" &&
	expect_no_grep "cancelled job" "$W/job-$J.out" &&
	python3 -c "
import json
jobs = json.load(open(\"st.json\"))[\"jobs\"]
assert len(jobs) == 2, jobs
assert jobs[0][\"outcome\"] == \"signal 15\" and jobs[0][\"next_job\"] == jobs[1][\"job\"], jobs
assert jobs[0][\"done\"] > 0 and jobs[1][\"outcome\"] == \"finished\", jobs
"
'

test_expect_success SLURM 'nothing is left running' '
	! squeue -h --name=$NAME 2>/dev/null | grep -q . &&
	test -z "$(ps -eo args | grep -F "$(dirname "$ZPAR")/.libs/zpar run" | grep -v grep)"
'

test_done
