#!/bin/sh
# t0961-disk-full-kill: a SIGKILL of the controller while its records'
# filesystem (a tmpfs this test mounts) is full.  Tasks submitted before the
# disk filled, and tasks submitted while it is full: of those whose
# submission was acknowledged (`zpar submit` printed an id: it waits for the
# controller to confirm the task recorded, SYNC), none may be lost after
# space comes back and the controller restarts with --reuse; the others
# must have been told "not acknowledged" with the reason.  The records the
# dead controller could not save are read back from its spill ($ZT_TMP/spill,
# set by sharness-lite; by default /dev/shm), so a task that finished while
# the disk was full does not run a second time.
# Needs root (mount); the mount is removed on exit, whatever happens.
. "$(cd "$(dirname "$0")/.." && pwd)/lib/sharness-lite.sh"
zt_require_zpar
zt_find_testclient
zt_find_testfn

MNT=$ZT_TMP/disk

# the processes holding files on the mount first, then the mount, then the
# library's own cleanup (which sees the exit status of the script)
t0961_exit () {
    t0961_rc=$?
    t0961_ours=
    for t0961_p in $(cat "$ZT_PIDS" 2>/dev/null) $(zt_cluster_pids); do
        if zt_is_ours "$t0961_p"; then t0961_ours="$t0961_ours $t0961_p"; fi
    done
    # shellcheck disable=SC2086
    zt_kill_pids $t0961_ours
    # shellcheck disable=SC2046
    zt_kill_pids $(zt_marked_pids)
    if mountpoint -q "$MNT" 2>/dev/null; then
        umount "$MNT" 2>/dev/null || umount -l "$MNT"
    fi
    (exit $t0961_rc)
    zt_cleanup
}

if [ "$(id -u)" = 0 ] && command -v sqlite3 >/dev/null 2>&1 && mkdir -p "$MNT" &&
    mount -t tmpfs -o size=24m,mode=0755 zpar-t0961 "$MNT" 2>/dev/null; then
    trap t0961_exit EXIT
    test_set_prereq TMPFS
fi

fill () { dd if=/dev/zero of="$MNT/filler" bs=64k >/dev/null 2>&1; sync; true; }
unfill () { rm -f "$MNT/filler"; }

# ------------------------------------------------------------ SIGKILL while full

test_expect_success TMPFS,TESTCLIENT,TESTFN 'a controller; tasks submitted while the disk has space' '
	unfill &&
	zt_controller "$MNT/c3" &&
	echo $ZT_CONTROLLER_PID >c3.pid &&
	cp "$MNT/c3/client.json" "$ZT_TMP/saved3.json" &&
	zt_engine "$MNT/c3" e5 && zt_engine "$MNT/c3" e6 &&
	wait_for 30 "test \$(zt_engines_in_state idle) = 2" &&
	: >acked.txt &&
	for i in $(seq 1 40); do
		zt_timeout 20 $ZPAR submit -- sh -c "sleep 0.3; echo before$i >>$ZT_TMP/runs.txt; echo before$i" \
			>>acked.txt || return 1
	done &&
	wc -l <acked.txt
'

test_expect_success TMPFS,TESTCLIENT,TESTFN 'disk full, more submissions, SIGKILL, space back, restart: no acknowledged task lost' '
	fill &&
	: >full.txt && nack=0 &&
	for i in $(seq 1 60); do
		if zt_timeout 10 $ZPAR submit -- echo full$i >id.txt 2>sub.err; then
			cat id.txt >>full.txt
		else
			nack=$((nack + 1)); cp sub.err last-refusal.err
		fi
	done
	echo "submitted while full: acknowledged $(wc -l <full.txt), not acknowledged $nack" &&
	if [ $nack -gt 0 ]; then
		cat last-refusal.err &&
		expect_grep "not acknowledged|not being saved|did not confirm" last-refusal.err || return 1
	fi &&
	cat full.txt >>acked.txt &&
	wait_for 30 "zt_timeout 10 $ZPAR status >st5.txt 2>/dev/null && grep -q \"0 pending, 0 running\" st5.txt"
	cat st5.txt
	kill -KILL $(cat c3.pid) &&
	wait_for 10 "! zt_alive $(cat c3.pid)" &&
	unfill &&
	zt_spawn controller-c3b "$ZPAR" controller --dir "$MNT/c3" --reuse "$ZT_TMP/saved3.json" &&
	echo $ZT_LAST_PID >c3.pid &&
	wait_for 20 "grep -q \"\\\"pid\\\": $ZT_LAST_PID\" $MNT/c3/client.json" &&
	wait_for 30 "test \$(zt_engines_in_state idle) = 2" &&
	zt_timeout 120 "$TESTCLIENT" -t 60 future-for $(cat acked.txt) >ff3.out 2>ff3.err
	nacked=$(wc -l <acked.txt)
	okn=$(grep -c "status=ok" ff3.out)
	lost=$((nacked - okn))
	grep -v "status=ok" ff3.out | head -n 5
	echo "acknowledged $nacked, with a result $okn, lost $lost" &&
	twice=$(sort "$ZT_TMP/runs.txt" | uniq -d | wc -l) &&
	echo "tasks submitted before the disk filled that ran twice: $twice" &&
	expect_eq "acknowledged tasks lost" 0 $lost &&
	expect_eq "tasks run twice" 0 $twice
'

test_expect_success TMPFS,TESTCLIENT,TESTFN 'stop the controller' '
	zt_timeout 30 $ZPAR stop &&
	wait_for 20 "! zt_alive $(cat c3.pid)"
'

test_done
