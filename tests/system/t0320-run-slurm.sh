#!/bin/sh
# t0320-run-slurm: `zpar run` under the project's real Slurm test bed
# (tests/lib/slurm-up.sh: munge + slurmctld + slurmd on localhost): the
# slurm/sweep.sbatch template through `sbatch --wait`, an salloc-style
# session (allocation, then `srun --jobid=J zpar run &` and clients that find
# the cluster by SLURM_JOB_ID alone), explicit `srun --mpi=pmix` and
# `--mpi=none` wire-ups, `zpar cluster start --launcher slurm`, and scancel of
# a running slurm/cluster.sbatch job (nothing of the job may survive).
#
# Slurm is brought up with tests/lib/slurm-up.sh if it is not up
# (ZPAR_SLURM_DIR, default /tmp/zpar-slurm) and brought down at the end only
# if this script started it.  Only the jobs this script submitted are ever
# cancelled.  Skips the whole script when $ZPAR is unset; each Slurm test
# when Slurm is not installed or cannot be started.  Every wait is bounded and
# scaled by ZPAR_TEST_TIMEOUT_SCALE.
LIBDIR=$(cd "$(dirname "$0")/../lib" && pwd)
. "$LIBDIR/sharness-lite.sh"
zt_require_zpar
PATH=$PATH:/usr/sbin:/sbin
export PATH
. "$LIBDIR/env.sh"
TOP=$(cd "$LIBDIR/../.." && pwd)
command -v python3 >/dev/null 2>&1 && test_set_prereq PYTHON

have_slurm=1
for b in srun sbatch salloc scancel squeue scontrol slurmctld slurmd munged; do
    command -v $b >/dev/null 2>&1 || have_slurm=0
done
[ "$(id -u)" = 0 ] || have_slurm=0 # the test bed runs its daemons as root

t0320_started_slurm=0
t0320_cleanup () {
    t0320_rc=$?
    # only the jobs this script submitted
    for j in $(cat "$ZT_TMP/jobs" 2>/dev/null); do scancel "$j" 2>/dev/null; done
    if [ $t0320_started_slurm = 1 ]; then
        zt_timeout 60 "$LIBDIR/slurm-down.sh" --quiet >&2 || true
    fi
    (exit $t0320_rc)
    zt_cleanup
}
trap t0320_cleanup EXIT

if [ $have_slurm = 1 ]; then
    if zt_timeout 10 scontrol ping 2>/dev/null | grep -q UP; then
        zt_diag "using the running Slurm test bed in $ZPAR_SLURM_DIR"
        test_set_prereq SLURM
    else
        # the daemons must not carry our marker: our cleanup would kill them
        t0320_started_slurm=1
        if zt_timeout 300 env -u ZPAR_TEST_MARK "$LIBDIR/slurm-up.sh" --quiet >&2; then
            test_set_prereq SLURM
        else
            zt_diag "slurm-up.sh failed: Slurm tests skipped"
        fi
    fi
else
    zt_diag "Slurm (srun sbatch salloc scancel squeue slurmctld slurmd munged) not installed or not root: Slurm tests skipped"
fi

BUILD=$(cd "$(dirname "$ZPAR")" && pwd)
record_job () { echo "$1" >>"$ZT_TMP/jobs"; }
# in squeue (any state, CG included)
job_queued () { squeue -h -j "$1" -o %i 2>/dev/null | grep -qx "$1"; }
job_state () { squeue -h -j "$1" -o %T 2>/dev/null; }
# processes of job $1 started from this script (our marker and SLURM_JOB_ID
# in their environment): zpar ranks, srun, the batch shell, task children
job_procs () {
    for d in /proc/[0-9]*; do
        p=${d#/proc/}
        [ "$p" = $$ ] && continue
        if { tr '\0' '\n' <"$d/environ"; } 2>/dev/null | grep -qxF "SLURM_JOB_ID=$1" &&
            zt_is_ours "$p"; then
            echo "$p $(tr '\0' ' ' <"$d/cmdline" 2>/dev/null)"
        fi
    done
}
# zpar processes (of this build) of job $1
job_zpar_procs () { job_procs "$1" | grep -F "$BUILD/" | grep "zpar"; }
# zpar processes of this build whose arguments contain $1
zpar_procs_with () {
    ps -eo pid,args | awk -v b="$BUILD/" -v k="$1" '
        index($0, b) && $0 ~ /zpar / && index($0, k) && !/awk/'
}

# check_report SWEEP N: the JSON report has N points, all succeeded
check_report () {
    zt_timeout 30 "$ZPAR" sweep report "$1" --format json >"$1.report.json" || return 1
    python3 - "$1.report.json" "$2" <<'EOF'
import json, sys
rows = json.load(open(sys.argv[1]))
want = int(sys.argv[2])
bad = [r for r in rows if r["state"] != "succeeded"]
print("report: %d points, %d not succeeded" % (len(rows), len(bad)))
for r in bad:
    print("  point %s: %s exit=%s" % (r["index"], r["state"], r["exit_code"]))
sys.exit(0 if len(rows) == want and not bad else 1)
EOF
}

# wait for engines: `zpar status` (with the given env) lists N idle
engines_idle () { # N [zpar args]
    zt_ei_n=$1
    shift
    zt_timeout 15 "$ZPAR" "$@" status 2>/dev/null | grep -q "engines: $zt_ei_n ($zt_ei_n idle"
}

# ------------------------------------------------------------ sbatch --wait

mkdir -p "$ZT_TMP/sb"
cat >"$ZT_TMP/sb/small.yaml" <<'EOF'
name: small
command: ["sh", "-c", "echo point {i} on $(hostname) job $SLURM_JOB_ID"]
params:
  i: {range: [0, 8]}
EOF
cat >"$ZT_TMP/sb/bad.yaml" <<'EOF'
name: bad
command: ["sh", "-c", "test {i} != 1"]
params:
  i: {range: [0, 3]}
EOF

test_expect_success SLURM,PYTHON 'sbatch --wait slurm/sweep.sbatch (3 tasks): job exit 0, all points succeeded' '
	zt_timeout 180 sbatch --wait --parsable --ntasks=3 -o "$ZT_TMP/sb/job-%j.out" \
		--export=ALL,SWEEP=$ZT_TMP/sb/small.yaml,ZPAR=$ZPAR "$TOP/slurm/sweep.sbatch" >sb.id 2>sb.err
	rc=$?; cat sb.id sb.err; J=$(head -n 1 sb.id); record_job "$J"
	cat "$ZT_TMP/sb/job-$J.out"
	expect_eq "sbatch --wait exit (the job'"'"'s)" 0 $rc &&
	check_report "$ZT_TMP/sb/small.yaml" 8 &&
	expect_grep "8 points: 8 succeeded" "$ZT_TMP/sb/job-$J.out" &&
	expect_grep "^point 3 on .* job $J\$" "$ZT_TMP/sb/small.out/3.out"
'

test_expect_success SLURM,PYTHON 'sbatch --wait of a sweep with a failing point: the job fails' '
	zt_timeout 180 sbatch --wait --parsable --ntasks=3 -o "$ZT_TMP/sb/bad-%j.out" \
		--export=ALL,SWEEP=$ZT_TMP/sb/bad.yaml,ZPAR=$ZPAR "$TOP/slurm/sweep.sbatch" >bad.id 2>bad.err
	rc=$?; cat bad.id bad.err; J=$(head -n 1 bad.id); record_job "$J"
	cat "$ZT_TMP/sb/bad-$J.out"
	expect_eq "sbatch --wait exit" 1 $rc &&
	expect_grep "3 points: 2 succeeded, 1 failed" "$ZT_TMP/sb/bad-$J.out"
'

# ------------------------------------------------------------ salloc session

test_expect_success SLURM 'salloc-style session: srun --jobid=J zpar run &, clients find it by SLURM_JOB_ID' '
	zt_timeout 60 salloc -n 3 --no-shell -J t0320-salloc >salloc.out 2>&1
	rc=$?; cat salloc.out
	J=$(sed -n "s/.*Granted job allocation \([0-9][0-9]*\).*/\1/p" salloc.out)
	test -n "$J" && record_job "$J" && expect_eq "salloc exit" 0 $rc || return 1
	wait_for 60 "test \"\$(job_state $J)\" = RUNNING" &&
	zt_spawn step srun --jobid="$J" -n 3 "$ZPAR" run &&
	P=$ZT_LAST_PID &&
	wait_for 60 "test -f \"$ZPAR_DIR/job-$J/client.json\" || ! zt_alive $P" &&
	wait_for 60 "SLURM_JOB_ID=$J engines_idle 2 || ! zt_alive $P" &&
	zt_alive $P || { cat "$ZT_TMP/step.out" "$ZT_TMP/step.err"; return 1; }
	SLURM_JOB_ID=$J zt_timeout 30 "$ZPAR" px hostname >sa-px.out; rc=$?
	cat sa-px.out; expect_eq "px exit" 0 $rc &&
	expect_eq "engine prefixes" "[e1] [e2]" "$(cut -d" " -f1 sa-px.out | sort | tr "\n" " " | sed "s/ \$//")" &&
	SLURM_JOB_ID=$J zt_timeout 30 "$ZPAR" submit -- sh -c "echo task in \$SLURM_JOB_ID" >sa-sub.out &&
	T=$(cat sa-sub.out) && SLURM_JOB_ID=$J zt_timeout 30 "$ZPAR" wait "$T" &&
	SLURM_JOB_ID=$J zt_timeout 30 "$ZPAR" result "$T" >sa-res.out && cat sa-res.out &&
	expect_grep "task in $J" sa-res.out &&
	SLURM_JOB_ID=$J zt_timeout 30 "$ZPAR" stop &&
	wait_for 30 "! zt_alive $P" || { cat "$ZT_TMP/step.out" "$ZT_TMP/step.err"; return 1; }
	wait $P; rc=$?
	cat "$ZT_TMP/step.out" "$ZT_TMP/step.err"
	expect_eq "srun step exit" 0 $rc &&
	expect_eq "allocation still held" RUNNING "$(job_state $J)" &&
	wait_for 10 "test -z \"\$(job_zpar_procs $J)\"" || { job_zpar_procs $J; return 1; }
	scancel "$J" && wait_for 60 "! job_queued $J"
'

# ------------------------------------------------------------ wire-up

test_expect_success SLURM 'srun --mpi=pmix -n 3 zpar run -- zpar px hostname: 2 engines' '
	zt_timeout 120 srun --mpi=pmix -n 3 "$ZPAR" run --dir "$ZT_TMP/pmix" -- "$ZPAR" px hostname \
		>pmix.out 2>pmix.err
	rc=$?; cat pmix.out pmix.err
	expect_eq "exit" 0 $rc &&
	expect_eq "engine prefixes" "[e1] [e2]" "$(cut -d" " -f1 pmix.out | sort | tr "\n" " " | sed "s/ \$//")" &&
	expect_no_grep "zpar-wireup" pmix.err &&
	test -z "$(ls "$ZPAR_DIR" | grep zpar-wireup)"
'

test_expect_success SLURM 'srun --mpi=pmix: exit code passthrough (exit 5)' '
	zt_timeout 120 srun --mpi=pmix -n 2 "$ZPAR" run --dir "$ZT_TMP/pmix5" -- sh -c "exit 5" \
		>pmix5.out 2>&1
	rc=$?; cat pmix5.out
	expect_eq "exit" 5 $rc
'

test_expect_success SLURM 'srun --mpi=none -n 3 --connection-dir D: wire-up through a file' '
	mkdir -p "$ZT_TMP/cdir" &&
	zt_timeout 120 srun --mpi=none -n 3 "$ZPAR" run --connection-dir "$ZT_TMP/cdir" \
		--dir "$ZT_TMP/none1" -- "$ZPAR" px hostname >none1.out 2>none1.err
	rc=$?; cat none1.out none1.err
	expect_eq "exit" 0 $rc &&
	expect_eq "lines" 2 "$(grep -c "^\[e[12]\] " none1.out)"
'

# doc/slurm.md ("How ranks find each other") and `zpar run --help`: without
# PMIx the connection file goes to --connection-dir, default $ZPAR_DIR
test_expect_success SLURM 'srun --mpi=none -n 3 without --connection-dir: the default is $ZPAR_DIR' '
	zt_timeout 120 srun --mpi=none -n 3 "$ZPAR" run --dir "$ZT_TMP/none2" -- "$ZPAR" px hostname \
		>none2.out 2>none2.err
	rc=$?; cat none2.out none2.err
	expect_eq "exit" 0 $rc &&
	expect_eq "lines" 2 "$(grep -c "^\[e[12]\] " none2.out)"
'

# ------------------------------------------------------------ cluster start

test_expect_success SLURM 'zpar cluster start --launcher slurm -n 2; px hostname; cluster stop: job gone' '
	zt_timeout 120 "$ZPAR" cluster start --launcher slurm -n 2 --timeout 90 >cs.out 2>cs.err
	rc=$?; cat cs.out cs.err
	L=$ZPAR_DIR/local/launcher
	J=$(awk "\$1 == \"slurm\" { print \$2; exit }" "$L" 2>/dev/null)
	test -n "$J" && record_job "$J"
	expect_eq "cluster start exit" 0 $rc && test -n "$J" &&
	cf=$(grep -E "^/.*json\$" cs.out | tail -n 1) && test -f "$cf" &&
	expect_eq "job state" RUNNING "$(job_state $J)" &&
	zt_timeout 30 "$ZPAR" px hostname >cs-px.out; rc=$?
	cat cs-px.out; expect_eq "px exit" 0 $rc &&
	expect_eq "lines" 2 "$(wc -l <cs-px.out | tr -d " ")" &&
	expect_eq "engine prefixes" "[e1] [e2]" "$(cut -d" " -f1 cs-px.out | sort | tr "\n" " " | sed "s/ \$//")" &&
	zt_timeout 90 "$ZPAR" cluster stop &&
	wait_for 30 "! job_queued $J" &&
	wait_for 10 "test -z \"\$(job_zpar_procs $J)\"" || { squeue -j "$J"; job_procs "$J"; return 1; }
'

# ------------------------------------------------------------ scancel

test_expect_success SLURM 'scancel of a running slurm/cluster.sbatch job: nothing of it remains' '
	J=$(zt_timeout 30 sbatch --parsable --ntasks=3 -o "$ZT_TMP/cl-%j.out" \
		--export=ALL,ZPAR=$ZPAR "$TOP/slurm/cluster.sbatch") && test -n "$J" && record_job "$J" &&
	wait_for 60 "test -f \"$ZPAR_DIR/job-$J/client.json\" || ! job_queued $J" &&
	wait_for 60 "SLURM_JOB_ID=$J engines_idle 2 || ! job_queued $J" &&
	job_queued $J || { cat "$ZT_TMP/cl-$J.out"; return 1; }
	# a long task running on an engine: its process must go too
	SLURM_JOB_ID=$J zt_timeout 30 "$ZPAR" submit -- sleep 3171 >cl-sub.out &&
	wait_for 30 "job_procs $J | grep -q \"sleep 3171\"" &&
	job_procs $J >cl-before.txt && cat cl-before.txt &&
	expect_eq "zpar ranks before scancel" 3 "$(grep -F "$BUILD/.libs/" cl-before.txt | grep -c " run")" &&
	scancel "$J" &&
	wait_for 60 "! job_queued $J" || { squeue -j "$J"; return 1; }
	wait_for 30 "test -z \"\$(job_procs $J)\""; rc=$?
	cat "$ZT_TMP/cl-$J.out"
	test $rc = 0 || { echo "left after scancel:"; job_procs $J; return 1; }
	test -z "$(ps -eo pid,args | grep "sleep 3171" | grep -v grep)"
'

test_done
