#!/bin/sh
# t0310-run-mpi: `zpar run` under the real Open MPI mpirun of this machine
# (oversubscribed on 2 cores): rank 0 the controller, the other ranks
# engines.  A command run by rank 0 and its exit code, a sweep, binding
# reports, serving until `zpar stop` (nothing left behind), and the
# pbs/sweep.pbs template inside an emulated PBS job (tests/lib/pbs-emulate.sh).
#
# Skips the whole script when $ZPAR is unset; tests needing mpirun are
# skipped one by one when it is missing.  Every wait is bounded and scaled by
# ZPAR_TEST_TIMEOUT_SCALE.
LIBDIR=$(cd "$(dirname "$0")/../lib" && pwd)
. "$LIBDIR/sharness-lite.sh"
zt_require_zpar
PATH=$PATH:/usr/sbin:/sbin
export PATH
. "$LIBDIR/env.sh"
TOP=$(cd "$LIBDIR/../.." && pwd)

if command -v mpirun >/dev/null 2>&1; then
    test_set_prereq MPIRUN
else
    zt_diag "mpirun not found (apt-get install openmpi-bin): mpirun tests skipped"
fi
command -v python3 >/dev/null 2>&1 && test_set_prereq PYTHON

# the directory of the real binary behind the libtool wrapper: every zpar
# process of this build has it in its argv[0]
BUILD=$(cd "$(dirname "$ZPAR")" && pwd)
# zpar processes of this build whose arguments contain $1, or (no $1) that
# carry this script's marker in their environment
zpar_procs () {
    ps -eo pid,args | awk -v b="$BUILD/" -v k="${1:-}" -v me=$$ '
        $1 != me && index($0, b) && $0 ~ /zpar / && (k == "" || index($0, k)) && !/awk/' |
        while read -r zt_pp_pid zt_pp_args; do
            if [ -n "${1:-}" ] || zt_is_ours "$zt_pp_pid"; then echo "$zt_pp_pid $zt_pp_args"; fi
        done
}
no_zpar_procs () {
    zt_np_left=$(zpar_procs "$1")
    [ -z "$zt_np_left" ] && return 0
    echo "zpar processes left:" >&2
    echo "$zt_np_left" >&2
    return 1
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

MPIRUN="mpirun --oversubscribe"

# ------------------------------------------------------------ commands

test_expect_success MPIRUN 'mpirun -n 4 zpar run -- zpar px hostname: [e1] [e2] [e3]' '
	zt_timeout 120 $MPIRUN -n 4 "$ZPAR" run -- "$ZPAR" px hostname >px.out 2>px.err
	rc=$?; cat px.out px.err
	expect_eq "exit" 0 $rc &&
	expect_eq "engine prefixes" "[e1] [e2] [e3]" "$(cut -d" " -f1 px.out | sort | tr "\n" " " | sed "s/ \$//")" &&
	expect_eq "lines" 3 "$(wc -l <px.out | tr -d " ")" &&
	expect_eq "hosts" "$(hostname)" "$(cut -d" " -f2 px.out | sort -u)"
'

test_expect_success MPIRUN 'the command runs with ZPAR_CONNECTION_FILE set, in the default dir' '
	zt_timeout 120 $MPIRUN -n 2 "$ZPAR" run -- sh -c "echo \"cf=\$ZPAR_CONNECTION_FILE\"" >cf.out 2>&1
	rc=$?; cat cf.out
	expect_eq "exit" 0 $rc &&
	expect_grep "^cf=$ZPAR_DIR/local/client.json\$" cf.out
'

test_expect_success MPIRUN 'exit code passthrough: -- sh -c "exit 7" makes mpirun exit 7' '
	zt_timeout 120 $MPIRUN -n 3 "$ZPAR" run -- sh -c "exit 7" >ex7.out 2>&1
	rc=$?; cat ex7.out
	expect_eq "exit" 7 $rc
'

test_expect_success MPIRUN 'exit code passthrough: -- true makes mpirun exit 0' '
	zt_timeout 120 $MPIRUN -n 3 "$ZPAR" run -- true >ex0.out 2>&1
	rc=$?; cat ex0.out
	expect_eq "exit" 0 $rc
'

test_expect_success MPIRUN '--report-bindings: one line per engine with cpus=' '
	zt_timeout 120 $MPIRUN -n 4 "$ZPAR" run --report-bindings -- true >rb.out 2>&1
	rc=$?; cat rb.out
	expect_eq "exit" 0 $rc &&
	grep "cpus=" rb.out >rb.lines &&
	expect_eq "binding lines" 3 "$(wc -l <rb.lines | tr -d " ")" &&
	expect_eq "ranks" "1 2 3" "$(sed -n "s/.* rank=\([0-9]*\) .*/\1/p" rb.lines | sort -n | tr "\n" " " | sed "s/ \$//")" &&
	expect_eq "lines with a host and a non-empty cpuset" 3 "$(grep -c "host=[^ ][^ ]* .*cpus=[0-9]" rb.lines)"
'

# ------------------------------------------------------------ sweeps

mkdir -p "$ZT_TMP/sw"
cat >"$ZT_TMP/sw/small.yaml" <<'EOF'
name: small
command: ["sh", "-c", "echo point {i} x={x}"]
params:
  i: {range: [0, 4]}
  x: [a, b]
EOF
cat >"$ZT_TMP/sw/bad.yaml" <<'EOF'
name: bad
command: ["sh", "-c", "test {i} != 2"]
params:
  i: {range: [0, 4]}
EOF

test_expect_success MPIRUN,PYTHON 'mpirun -n 3 zpar run --sweep: every point succeeded (JSON report)' '
	zt_timeout 180 $MPIRUN -n 3 "$ZPAR" run --sweep "$ZT_TMP/sw/small.yaml" >sw.out 2>&1
	rc=$?; cat sw.out
	expect_eq "exit" 0 $rc &&
	check_report "$ZT_TMP/sw/small.yaml" 8 &&
	expect_grep "^point 2 x=b\$" "$ZT_TMP/sw/small.out/5.out" &&
	expect_grep "8 points: 8 succeeded" sw.out
'

test_expect_success MPIRUN,PYTHON 'the same sweep again: nothing runs, exit 0' '
	zt_timeout 180 $MPIRUN -n 3 "$ZPAR" run --sweep "$ZT_TMP/sw/small.yaml" >sw2.out 2>&1
	rc=$?; cat sw2.out
	expect_eq "exit" 0 $rc &&
	expect_grep "0 succeeded, 0 failed, 8 skipped" sw2.out
'

test_expect_success MPIRUN,PYTHON 'a sweep with a failing point: mpirun exits 1, the point is failed' '
	zt_timeout 180 $MPIRUN -n 3 "$ZPAR" run --sweep "$ZT_TMP/sw/bad.yaml" >bad.out 2>&1
	rc=$?; cat bad.out
	expect_eq "exit" 1 $rc &&
	zt_timeout 30 "$ZPAR" sweep report "$ZT_TMP/sw/bad.yaml" --format json >bad.json &&
	expect_eq "states" "succeeded succeeded failed succeeded" \
		"$(python3 -c "import json; print(\" \".join(r[\"state\"] for r in json.load(open(\"bad.json\"))))")"
'

# ------------------------------------------------------------ serving

test_expect_success MPIRUN 'mpirun -n 3 zpar run --dir D &: px and stop through D/client.json' '
	D=$ZT_TMP/serve &&
	zt_spawn serve $MPIRUN -n 3 "$ZPAR" run --dir "$D" &&
	P=$ZT_LAST_PID &&
	wait_for 60 "grep -q \"cluster ready with 2 engines\" \"$ZT_TMP/serve.err\" \"$ZT_TMP/serve.out\" || ! zt_alive $P" &&
	zt_alive $P && test -f "$D/client.json" &&
	expect_eq "client.json mode" 600 "$(stat -c %a "$D/client.json")" &&
	zt_timeout 30 "$ZPAR" --connection-file "$D/client.json" px true &&
	zt_timeout 30 "$ZPAR" --connection-file "$D/client.json" px hostname >serve-px.out &&
	expect_eq "engines" 2 "$(grep -c "^\[e[12]\] " serve-px.out)" &&
	zt_timeout 30 "$ZPAR" --connection-file "$D/client.json" stop &&
	wait_for 30 "! zt_alive $P" || { cat "$ZT_TMP/serve.out" "$ZT_TMP/serve.err"; return 1; }
	wait $P; rc=$?
	cat "$ZT_TMP/serve.out" "$ZT_TMP/serve.err"
	expect_eq "mpirun exit" 0 $rc &&
	wait_for 10 "test -z \"\$(zpar_procs \"$D\")\"" ; no_zpar_procs "$D"
'

test_expect_success MPIRUN 'no zpar process of this build is left by the tests above' '
	wait_for 10 "test -z \"\$(zpar_procs)\"" ; no_zpar_procs ""
'

# ------------------------------------------------------------ PBS

test_expect_success MPIRUN,PYTHON 'PBS emulation 1x4: pbs/sweep.pbs with -v SWEEP: exit 0, all succeeded' '
	mkdir -p pbsw && cp "$ZT_TMP/sw/small.yaml" pbsw/p.yaml &&
	( cd pbsw && PBS_EMU_DIR=$ZT_TMP/pbs-emu zt_timeout 180 "$LIBDIR/pbs-emulate.sh" \
		-l nodes=1:ppn=4,walltime=00:03:00 -o "$ZT_TMP/pbs.out" -j oe \
		-v "SWEEP=$ZT_TMP/pbsw/p.yaml,ZPAR=$ZPAR,ZPAR_DIR,OMPI_ALLOW_RUN_AS_ROOT,OMPI_ALLOW_RUN_AS_ROOT_CONFIRM,OMPI_MCA_pml,OMPI_MCA_btl,OMPI_MCA_rmaps_base_oversubscribe,ZPAR_TEST_MARK" \
		"$TOP/pbs/sweep.pbs" ) 2>pbs.err
	rc=$?; cat pbs.err "$ZT_TMP/pbs.out"
	expect_eq "job exit" 0 $rc &&
	jid=$(sed -n "s/^pbs-emulate: job //p" pbs.err) && test -n "$jid" &&
	expect_eq "recorded exit" 0 "$(cat "$ZT_TMP/pbs-emu/aux/$jid.exit")" &&
	check_report "$ZT_TMP/pbsw/p.yaml" 8 &&
	expect_grep "8 points: 8 succeeded" "$ZT_TMP/pbs.out" &&
	test -d "$ZPAR_DIR/job-$jid" &&
	wait_for 10 "test -z \"\$(zpar_procs \"$ZT_TMP/pbsw\")\"" ; no_zpar_procs "$ZT_TMP/pbsw"
'

test_done
