#!/bin/sh
# t0371-sweep-chain-kill: a job of a sweep chain that dies without a word
# still has its continuation, and one the user cancels has none (the real
# local Slurm).
#
# 1. A --time=2 job runs a sweep with --resubmit; as soon as it has points
#    to run it submits its continuation (held by afterany on itself).  Its
#    runner (task 0: controller and runner) is killed with SIGKILL mid-sweep:
#    no "time is up", no SIGTERM, nothing recorded at its end.  The step
#    ends (srun --kill-on-bad-exit=1), the job ends, the continuation starts
#    and finishes every point.  Each point appends "start" and "end" to its
#    own marker file: every point ended, its last word is "end", and only
#    the points in flight at the kill (at most one per engine) ran again;
#    every point's success is recorded once (the jobs' counts add up to the
#    sweep).  `zpar sweep status` shows the chain: the killed job (outcome
#    "killed", its points counted from the journal) names the next one, and
#    the last job, which finished the sweep, cancelled the continuation it
#    had submitted itself.
# 2. `scancel` of a job that has submitted its continuation: the runner sees
#    the job cancelled and cancels the continuation (or, when Slurm's
#    signals to the job killed the runner's squeue too, keeps it, and the
#    continuation sees its job before CANCELLED and runs nothing); nothing
#    of the chain runs after it.
LIBDIR=$(cd "$(dirname "$0")/../lib" && pwd)
. "$LIBDIR/sharness-lite.sh"
zt_require_zpar
. "$LIBDIR/slurm-test.sh"
command -v python3 >/dev/null 2>&1 || skip_all "no python3 (reads the JSON status)"
unset ZPAR_END_TIME

W=$ZT_TMP/w
mkdir -p "$W/m" "$W/c"
NAME=zpar-t0371-$$
NPTS=20
ENGINES=4

t0371_cleanup () {
    t0371_rc=$?
    scancel --name="$NAME" 2>/dev/null
    scancel --name="$NAME-c" 2>/dev/null
    (exit $t0371_rc)
    zt_slurm_cleanup
}
trap t0371_cleanup EXIT

# mk FILE DIR: NPTS points of 3 s, each writing start/end to DIR/<i>
mk () {
    cat >"$1" <<EOF
name: $(basename "$1" .yaml)
command: ["sh", "-c", "echo start >> $2/{i}; sleep 3; echo end >> $2/{i}"]
estimate: 4
params:
  i: {range: [0, $NPTS]}
EOF
}
mk "$W/kill.yaml" "$W/m"
mk "$W/cancel.yaml" "$W/c"
# task 0 the controller and runner, the others engines; a task that dies
# ends the step (so the job ends at once when the runner is killed)
cat >"$W/job.sbatch" <<'EOF'
#!/bin/sh
exec srun --kill-on-bad-exit=1 "$ZPAR" run --sweep "$SWEEP" --resubmit=3
EOF

ends () { cat "$1"/* 2>/dev/null | grep -c '^end$'; }
status_json () { zt_timeout 30 "$ZPAR" sweep status "$1" --json >"$2"; }
# the pid of task 0 of the job's step 0 (the runner), from Slurm
runner_pid () {
    scontrol listpids "$1" 2>/dev/null | awk '$3 == 0 && $5 == 0 { print $1 }' | while read -r p; do
        tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -q -- "--sweep" && echo "$p"
    done | head -n 1
}

test_expect_success SLURM 'SIGKILL of the runner mid-sweep: the continuation submitted at the start finishes the sweep' '
	t0=$(date +%s) &&
	J=$(zt_timeout 30 sbatch --parsable --job-name="$NAME" --ntasks=$((ENGINES + 1)) --time=2 \
		-o "$W/job-%j.out" --export=ALL,SWEEP=$W/kill.yaml,ZPAR=$ZPAR "$W/job.sbatch") &&
	echo $J >>"$ZT_TMP/jobs" && echo "first job $J" &&
	wait_for 120 "grep -q \"submitted job [0-9]*, held until job $J ends\" \"$W/job-$J.out\" 2>/dev/null && [ \$(ends $W/m) -ge 6 ]" &&
	P=$(runner_pid $J) && test -n "$P" && echo "runner: pid $P, $(ends $W/m) points ended" &&
	kill -KILL $P &&
	NEXT=$(sed -n "s/.*submitted job \([0-9]*\), held until job $J ends.*/\1/p" "$W/job-$J.out") &&
	echo "continuation: $NEXT" && echo $NEXT >>"$ZT_TMP/jobs" &&
	wait_for 240 "status_json $W/kill.yaml st.json && python3 -c \"
import json, sys
s = json.load(open(\\\"st.json\\\"))
sys.exit(0 if s[\\\"succeeded\\\"] == $NPTS and s[\\\"jobs\\\"][-1][\\\"ended\\\"] else 1)
\" && ! squeue -h --name=$NAME 2>/dev/null | grep -q ." ;
	rc=$?;
	echo "the chain took $(($(date +%s) - t0)) s from the first sbatch";
	for f in "$W"/job-*.out; do echo "== $f"; cat "$f"; done;
	zt_timeout 30 "$ZPAR" sweep status "$W/kill.yaml";
	test $rc = 0
'

test_expect_success SLURM 'every point ended; only the points in flight at the kill ran again' '
	python3 - "$W/m" $NPTS $ENGINES <<-\EOF
	import os, sys
	d, n, engines = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
	again = []
	for i in range(n):
	    words = open(os.path.join(d, str(i))).read().split()
	    assert words and words[-1] == "end", (i, words)
	    if words.count("start") > 1:
	        again.append((i, words))
	    assert words.count("start") <= 2, (i, words)
	print("points run again after the kill:", again)
	assert len(again) <= engines, again
	EOF
'

test_expect_success SLURM 'zpar sweep status: the killed job, its continuation, each success recorded once' '
	status_json "$W/kill.yaml" st.json && python3 -c "
import json
s = json.load(open(\"st.json\"))
jobs = s[\"jobs\"]
for j in jobs: print(j)
assert len(jobs) == 2, jobs
k, c = jobs
assert k[\"outcome\"] == \"killed\" and k[\"next_job\"] == c[\"job\"] and k[\"done\"] >= 1, k
assert k[\"left\"] is None, k
assert c[\"chain\"] == 1 and c[\"outcome\"] == \"finished\" and c[\"left\"] == 0, c
assert c[\"next_job\"] is None, c
assert k[\"done\"] + c[\"done\"] == $NPTS, (k[\"done\"], c[\"done\"])
" &&
	C=$(python3 -c "import json; print(json.load(open(\"st.json\"))[\"jobs\"][1][\"job\"])") &&
	expect_grep "was killed before it could record its end" "$W/job-$C.out" &&
	expect_grep "the sweep is done: cancelled job [0-9]+, the continuation submitted at the start" "$W/job-$C.out"
'

test_expect_success SLURM 'scancel of a job: its continuation is cancelled, nothing of the chain runs after it' '
	J=$(zt_timeout 30 sbatch --parsable --job-name="$NAME-c" --ntasks=$((ENGINES + 1)) --time=2 \
		-o "$W/cjob-%j.out" --export=ALL,SWEEP=$W/cancel.yaml,ZPAR=$ZPAR "$W/job.sbatch") &&
	echo $J >>"$ZT_TMP/jobs" &&
	wait_for 120 "grep -q \"submitted job [0-9]*, held until job $J ends\" \"$W/cjob-$J.out\" 2>/dev/null && [ \$(ends $W/c) -ge 2 ]" &&
	NEXT=$(sed -n "s/.*submitted job \([0-9]*\), held until job $J ends.*/\1/p" "$W/cjob-$J.out") &&
	echo $NEXT >>"$ZT_TMP/jobs" && echo "job $J, continuation $NEXT: scancel $J" &&
	scancel $J &&
	wait_for 60 "! squeue -h --name=$NAME-c 2>/dev/null | grep -q ." ;
	rc=$?; cat "$W/cjob-$J.out"; [ -f "$W/cjob-$NEXT.out" ] && cat "$W/cjob-$NEXT.out"; test $rc = 0 &&
	sleep 3 && expect_eq "jobs of the chain after the cancel" "" "$(squeue -h --name=$NAME-c 2>/dev/null)" &&
	status_json "$W/cancel.yaml" cst.json && python3 -c "
import json
jobs = json.load(open(\"cst.json\"))[\"jobs\"]
print(jobs)
assert jobs[0][\"outcome\"] == \"signal 15\", jobs
if len(jobs) == 1:
    # the run saw its job cancelled and cancelled the continuation
    assert jobs[0][\"next_job\"] is None, jobs
else:
    # Slurm killed the run'"'"'s squeue too: the continuation was kept, and
    # ran nothing because the job before it was cancelled
    assert len(jobs) == 2 and jobs[1][\"outcome\"].startswith(\"not run\"), jobs
    assert jobs[1][\"done\"] == 0, jobs
" &&
	if grep -q "keeping job $NEXT" "$W/cjob-$J.out"; then
		expect_grep "was cancelled: the chain stops here" "$W/cjob-$NEXT.out"
	else
		expect_grep "no continuation: the job is [A-Z_]+, not RUNNING \(cancelled\?\): cancelled job $NEXT" "$W/cjob-$J.out"
	fi
'

test_expect_success SLURM 'nothing is left running' '
	! squeue -h --name=$NAME 2>/dev/null | grep -q . &&
	! squeue -h --name=$NAME-c 2>/dev/null | grep -q . &&
	test -z "$(ps -eo args | grep -F "$(dirname "$ZPAR")/.libs/zpar run" | grep -v grep)"
'

test_done
