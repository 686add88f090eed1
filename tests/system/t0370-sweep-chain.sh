#!/bin/sh
# t0370-sweep-chain: a sweep of 60 points of 20 s each in Slurm jobs of
# --time=1 (the real local Slurm) finishes in a chain of jobs that submit
# each other (`zpar run --sweep FILE --resubmit`): every point succeeds,
# none runs twice, none is started that cannot finish before its job ends
# (each point writes "start" then "end" into its own file: a point cut by
# the end of its job would leave a "start" without its "end", or two
# "start"s), and `zpar sweep status` shows the chain (each job names the
# next, the last finished the sweep and submitted nothing).
#
# The batch script has no --signal: the runner knows the job's end from
# Slurm, starts only points that fit (the sweep's estimate: 22 s, the 20 s
# of sleep and some slack) and ends
# with "time is up, points left", which submits the continuation.  15
# engines run 2 rounds of points per job: 2 jobs of about a minute, 3 when
# the machine is slow.
LIBDIR=$(cd "$(dirname "$0")/../lib" && pwd)
. "$LIBDIR/sharness-lite.sh"
zt_require_zpar
. "$LIBDIR/slurm-test.sh"
command -v python3 >/dev/null 2>&1 || skip_all "no python3 (reads the JSON status)"

W=$ZT_TMP/w
mkdir -p "$W/mark"
NAME=zpar-t0370-$$
NPTS=${ZPAR_T0370_POINTS:-60}
LIMIT=6

# the chain's jobs are not all in $ZT_TMP/jobs (the last ones are submitted
# by the jobs themselves): cancel them by name first
t0370_cleanup () {
    t0370_rc=$?
    scancel --name="$NAME" 2>/dev/null
    (exit $t0370_rc)
    zt_slurm_cleanup
}
trap t0370_cleanup EXIT

cat >"$W/chain.yaml" <<EOF
name: chain
command: ["sh", "-c", "echo start >> $W/mark/{i}; sleep 20; echo end >> $W/mark/{i}"]
estimate: 22
params:
  i: {range: [0, $NPTS]}
EOF
cat >"$W/chain.sbatch" <<'EOF'
#!/bin/sh
# one sweep job of the chain: rank 0 the controller (and runner), the
# others engines; the runner submits the next job when its time is up
exec srun --kill-on-bad-exit=0 "$ZPAR" run --sweep "$SWEEP" --resubmit="$LIMIT"
EOF

status_json () {
    zt_timeout 30 "$ZPAR" sweep status "$W/chain.yaml" --json >"$1"
}

test_expect_success SLURM "$NPTS points of 20 s in --time=1 jobs: the chain finishes the sweep" '
	t0=$(date +%s) &&
	J=$(zt_timeout 30 sbatch --parsable --job-name="$NAME" --ntasks=16 --time=1 \
		-o "$W/job-%j.out" --export=ALL,SWEEP=$W/chain.yaml,ZPAR=$ZPAR,LIMIT=$LIMIT \
		"$W/chain.sbatch") && echo $J >>"$ZT_TMP/jobs" && echo "first job $J" &&
	wait_for 420 "status_json st.json && python3 -c \"
import json, sys
s = json.load(open(\\\"st.json\\\"))
sys.exit(0 if s[\\\"succeeded\\\"] == $NPTS and s[\\\"jobs\\\"] and s[\\\"jobs\\\"][-1][\\\"ended\\\"] else 1)
\" && ! squeue -h --name=$NAME 2>/dev/null | grep -q ." ;
	rc=$?;
	echo "the chain took $(($(date +%s) - t0)) s from the first sbatch" >chain.txt;
	for f in "$W"/job-*.out; do echo "== $f"; cat "$f"; done;
	zt_timeout 30 "$ZPAR" sweep status "$W/chain.yaml";
	test $rc = 0
'

test_expect_success SLURM 'no point ran twice, none was started that could not finish' '
	bad=0 &&
	for i in $(seq 0 $((NPTS - 1))); do
		got=$(tr "\n" " " <"$W/mark/$i" 2>/dev/null)
		if [ "$got" != "start end " ]; then echo "point $i: $got"; bad=$((bad + 1)); fi
	done &&
	expect_eq "points that did not run exactly once, start to end" 0 $bad
'

test_expect_success SLURM 'zpar sweep status shows the chain of jobs' '
	status_json st.json && python3 -c "
import json
s = json.load(open(\"st.json\"))
jobs = s[\"jobs\"]
for j in jobs: print(j)
assert len(jobs) >= 2, \"one job did it all: the test proves nothing\"
assert len(jobs) <= $LIMIT + 1, jobs
for k, j in enumerate(jobs):
    assert j[\"chain\"] == k, (k, j)
    assert j[\"ended\"] and j[\"done\"] > 0, j
    if k + 1 < len(jobs):
        assert j[\"next_job\"] == jobs[k + 1][\"job\"], (j, jobs[k + 1])
        assert j[\"outcome\"] == \"time up\" and j[\"left\"] > 0, j
assert jobs[-1][\"next_job\"] is None and jobs[-1][\"left\"] == 0, jobs[-1]
assert sum(j[\"done\"] for j in jobs) == $NPTS, [j[\"done\"] for j in jobs]
summary = \"%d jobs, points per job %s, seconds per job %s\" % (len(jobs), [j[\"done\"] for j in jobs], [round(j[\"ended\"] - j[\"started\"]) for j in jobs])
print(summary)
open(\"chain.txt\", \"a\").write(summary + \"\\n\")
"
'
[ -f chain.txt ] && zt_diag "$(cat chain.txt)"

test_expect_success SLURM 'nothing is left running' '
	! squeue -h --name=$NAME 2>/dev/null | grep -q . &&
	test -z "$(ps -eo args | grep -F "$(dirname "$ZPAR")/.libs/zpar run" | grep -v grep)"
'

test_done
