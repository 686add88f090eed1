#!/bin/sh
# t0575-mh-poweroff: a host powered off mid-sweep (silent: its bridge port
# stops forwarding, then every process on it is killed, so nobody hears a
# FIN or RST), on 4 real hosts (tests/lib/netns-bed.sh), under
# `srun --no-kill -N 4 -n 8 zpar run --sweep`: the controller on h1, 7
# engines on the 4 hosts; h3 goes silent while points run on it.
# Checks: srun (the step) is not ended by the node failure and exits 0 once
# the sweep is done; the controller declares both engines of h3 dead on
# silence alone and logs one line naming the host ("host h3 lost: 2
# engines dead (silent ...)"), before Slurm reports the node failure; the
# points h3 was running start again on the other hosts and every point
# succeeds once in the journal.  Prints the detection and recovery times.
# Heartbeat 500 ms x 3; SlurmdTimeout 10 s (srun returns once Slurm has
# declared the host DOWN).
LIBDIR=$(cd "$(dirname "$0")/../lib" && pwd)
. "$LIBDIR/sharness-lite.sh"
zt_require_zpar
. "$LIBDIR/netns-bed.sh"
command -v python3 >/dev/null 2>&1 || skip_all "no python3 (reads the JSON report)"
bed_up 4 --slurm
. "$LIBDIR/mh-node.sh"

NPTS=40
export ZPAR_DIR=$ZT_TMP/zd ZPAR_HB_PERIOD_MS=500 ZPAR_HB_MISSES=3 ZPAR_LOG=info
mh_sweep off $NPTS 1.5
OUT=$ZT_TMP/sw/srun.out

test_expect_success 'SlurmdTimeout 10 s' '
	mh_slurmd_timeout 10
'

test_expect_success 'srun --no-kill -N 4 -n 8 zpar run --sweep: points run on h3' '
	{ zt_timeout 85 srun --no-kill -N 4 -n 8 "$ZPAR" run --sweep "$ZT_TMP/sw/off.yaml" >"$OUT" 2>&1
	  echo $? >"$ZT_TMP/srun.rc"; } &
	wait_for 40 "mh_running_on h3"
'

test_expect_success 'h3 powered off (silent): both its engines declared dead, the host named' '
	zt_now_ms >"$ZT_TMP/fault.ms" &&
	bed_fault poweroff h3 &&
	wait_for 20 "grep -q \"host h3 lost: \" \"$OUT\"" &&
	grep -E "declared dead|host h3 lost" "$OUT"
'

test_expect_success 'zpar saw it before Slurm did' '
	wait_for 60 "grep -q \"Node failure on h3\" \"$OUT\"" &&
	grep -n -E "host h3 lost|Node failure on h3" "$OUT" >order &&
	cat order && head -n 1 order | grep -q "host h3 lost"
'

test_expect_success 'srun ends with exit 0 (the step was not killed): every point succeeded' '
	wait_for 80 "test -s \"$ZT_TMP/srun.rc\"" &&
	grep -v "sweep off:" "$OUT" | grep -v -E "registered|registering|fencing" &&
	expect_eq "srun exit" 0 "$(cat "$ZT_TMP/srun.rc")" &&
	expect_grep "$NPTS points: $NPTS succeeded" "$OUT"
'

test_expect_success 'the lost points ran again elsewhere; every point done once in the journal' '
	zt_timeout 30 "$ZPAR" sweep report "$ZT_TMP/sw/off.yaml" --format json >report.json &&
	mh_check_sweep "$OUT" report.json "$(cat "$ZT_TMP/fault.ms")" h3 $NPTS poweroff
'

[ -s "$ZT_TMP/figures" ] && zt_diag "$(cat "$ZT_TMP/figures")"
test_done
