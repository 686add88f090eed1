#!/bin/sh
# t0960-disk-full: the task records on a full filesystem.  The controller's
# directory (and so its records, tasks.sqlite) is on a small tmpfs this
# test mounts and fills with a file.  While it is full:
#   - the controller keeps running tasks (3,000 here);
#   - `zpar status` says the records are not being saved, since when and how
#     many wait (text and --json);
#   - every task is found (`zpar result`, a client's future): none is "no
#     such task";
#   - the backlog is bounded: with a small bound (ZPAR_RECORDS_BACKLOG),
#     submissions past it are refused with a clear error result, and every
#     task that was accepted still gets its result;
# and once space comes back, the controller saves everything by itself
# (counted in SQLite).  (t0961: a SIGKILL while the disk is full.)
# Needs root (mount); the mount is removed on exit, whatever happens.
. "$(cd "$(dirname "$0")/.." && pwd)/lib/sharness-lite.sh"
zt_require_zpar
zt_find_testclient
zt_find_testfn

MNT=$ZT_TMP/disk
N=${ZPAR_T0900_TASKS:-3000}

# the processes holding files on the mount first, then the mount, then the
# library's own cleanup (which sees the exit status of the script)
t0960_exit () {
    t0960_rc=$?
    t0960_ours=
    for t0960_p in $(cat "$ZT_PIDS" 2>/dev/null) $(zt_cluster_pids); do
        if zt_is_ours "$t0960_p"; then t0960_ours="$t0960_ours $t0960_p"; fi
    done
    # shellcheck disable=SC2086
    zt_kill_pids $t0960_ours
    # shellcheck disable=SC2046
    zt_kill_pids $(zt_marked_pids)
    if mountpoint -q "$MNT" 2>/dev/null; then
        umount "$MNT" 2>/dev/null || umount -l "$MNT"
    fi
    (exit $t0960_rc)
    zt_cleanup
}

if [ "$(id -u)" = 0 ] && command -v sqlite3 >/dev/null 2>&1 && mkdir -p "$MNT" &&
    mount -t tmpfs -o size=24m,mode=0755 zpar-t0960 "$MNT" 2>/dev/null; then
    trap t0960_exit EXIT
    test_set_prereq TMPFS
fi

fill () { dd if=/dev/zero of="$MNT/filler" bs=64k >/dev/null 2>&1; sync; true; }
unfill () { rm -f "$MNT/filler"; }
# the number after "records: NOT SAVED ... :" in `zpar status`
waiting () { sed -n 's/^records: NOT SAVED.*: \([0-9][0-9]*\) waiting.*/\1/p' "$1"; }
db_count () { sqlite3 "file:$1?mode=ro" "$2" 2>/dev/null; }

# the ids of the tasks in a `zpar-testclient run --count` output
run_ids () { sed -n 's/^[0-9]*\.id=//p' "$1"; }
run_status_count () { grep -c "^[0-9-]*\.status=$2\$" "$1"; }

# ------------------------------------------------------------ 3,000 tasks

test_expect_success TMPFS,TESTCLIENT,TESTFN 'a controller on a tmpfs, two engines' '
	zt_controller "$MNT/c1" &&
	echo $ZT_CONTROLLER_PID >c1.pid &&
	zt_engine "$MNT/c1" e1 && zt_engine "$MNT/c1" e2 &&
	wait_for 30 "test \$(zt_engines_in_state idle) = 2" &&
	zt_timeout 20 $ZPAR submit --wait -- true &&
	test -s "$MNT/c1/tasks.sqlite"
'

test_expect_success TMPFS,TESTCLIENT,TESTFN "disk full: $N tasks still run" '
	fill &&
	df -k "$MNT" &&
	test "$(df -k --output=avail "$MNT" | tail -n 1 | tr -d " ")" -lt 64 &&
	zt_timeout 300 "$TESTCLIENT" -t 240 run --count $N --wait 240 --function "$TESTFN:zt_echo" \
		--input x --inline >run1.out 2>run1.err
	rc=$?
	tail -n 3 run1.err
	run_ids run1.out >ids1.txt &&
	echo "ran $(wc -l <ids1.txt) tasks, ok: $(run_status_count run1.out ok)" &&
	expect_eq "run exit status" 0 $rc &&
	expect_eq "tasks ok" $N "$(run_status_count run1.out ok)"
'

test_expect_success TMPFS,TESTCLIENT,TESTFN 'zpar status says the records are not being saved' '
	zt_timeout 20 $ZPAR status >st1.txt
	cat st1.txt &&
	expect_grep "^records: NOT SAVED since .*: [0-9]+ waiting" st1.txt &&
	test "$(waiting st1.txt)" -gt 0 &&
	zt_timeout 20 $ZPAR status --json >st1.json &&
	cat st1.json &&
	jq -e ".records.saved == false and .records.unsaved > 0 and .records.since_us > 0
	       and (.records.error | length) > 0" st1.json
'

test_expect_success TMPFS,TESTCLIENT,TESTFN 'every task is found while the disk is full' '
	zt_timeout 300 "$TESTCLIENT" -t 10 future-for $(cat ids1.txt) >ff1.out 2>ff1.err
	found=$(grep -c "status=ok" ff1.out)
	missing=$(grep -c "errno=" ff1.out)
	grep "errno=" ff1.out | head -n 3
	echo "found $found of $N, not found $missing" &&
	expect_eq "tasks found" $N "$found" &&
	for t in $(sed -n "1p;500p;1500p;\$p" ids1.txt); do
		zt_timeout 20 $ZPAR result $t >r.txt 2>r.err || { cat r.err; return 1; }
	done
'

test_expect_success TMPFS,TESTCLIENT,TESTFN 'space back: everything is saved by itself' '
	unfill &&
	wait_for 30 "zt_timeout 10 $ZPAR status >st2.txt 2>/dev/null && ! grep -q \"NOT SAVED\" st2.txt" &&
	cat st2.txt &&
	done_rows=$(db_count "$MNT/c1/tasks.sqlite" "SELECT count(*) FROM tasks") &&
	echo "finished records in SQLite: $done_rows" &&
	expect_eq "finished records" $((N + 1)) "$done_rows" &&
	zt_timeout 20 $ZPAR result $(tail -n 1 ids1.txt)
'

test_expect_success TMPFS,TESTCLIENT,TESTFN 'stop the first controller' '
	zt_timeout 30 $ZPAR stop &&
	wait_for 20 "! zt_alive $(cat c1.pid)"
'

# ------------------------------------------------------------ the bound

test_expect_success TMPFS,TESTCLIENT,TESTFN 'a controller with a 256 KiB backlog bound' '
	unfill &&
	export ZPAR_RECORDS_BACKLOG=256K &&
	zt_controller "$MNT/c2" &&
	unset ZPAR_RECORDS_BACKLOG &&
	echo $ZT_CONTROLLER_PID >c2.pid &&
	zt_engine "$MNT/c2" e3 && zt_engine "$MNT/c2" e4 &&
	wait_for 30 "test \$(zt_engines_in_state idle) = 2" &&
	zt_timeout 20 $ZPAR submit --wait -- true
'

test_expect_success TMPFS,TESTCLIENT,TESTFN 'past the bound, submissions are refused with a clear error' '
	fill &&
	: >run2.out &&
	for b in 1 2 3 4 5 6; do
		zt_timeout 300 "$TESTCLIENT" -t 240 run --count $((N / 6)) --wait 240 \
			--function "$TESTFN:zt_echo" --input x --inline >run2.$b.out 2>run2.err || return 1
		sed "s/^/$b-/" run2.$b.out >>run2.out
	done &&
	ok=$(run_status_count run2.out ok)
	refused=$(grep -c "^[0-9-]*\.error=new.x20tasks.x20refused:.*records.x20are.x20not.x20being.x20saved" run2.out)
	echo "ok $ok, refused $refused" &&
	grep -m 1 "^[0-9-]*\.error=new" run2.out
	test "$refused" -gt 0 &&
	expect_eq "ok + refused" $((N / 6 * 6)) $((ok + refused)) &&
	zt_timeout 20 $ZPAR status >st3.txt
	cat st3.txt &&
	expect_grep "^records: new submissions are refused" st3.txt &&
	zt_timeout 60 "$TESTCLIENT" -t 30 run --engine 1 --function "$TESTFN:zt_echo" --input x \
		--inline >direct.out 2>&1
	cat direct.out &&
	expect_grep "^error=new.x20tasks.x20refused" direct.out &&
	expect_grep "^status=error" direct.out
'

test_expect_success TMPFS,TESTCLIENT,TESTFN 'every accepted task is found, and saved once space is back' '
	awk -F= "/^[0-9-]*\\.id=/ { split(\$1, k, \".\"); id[k[1]] = \$2 }
	         /^[0-9-]*\\.status=ok\$/ { split(\$1, k, \".\"); print id[k[1]] }" run2.out >ok2.txt &&
	test -s ok2.txt &&
	zt_timeout 300 "$TESTCLIENT" -t 10 future-for $(cat ok2.txt) >ff2.out 2>ff2.err
	echo "found $(grep -c status=ok ff2.out) of $(wc -l <ok2.txt)" &&
	expect_eq "accepted tasks found" "$(wc -l <ok2.txt)" "$(grep -c status=ok ff2.out)" &&
	unfill &&
	wait_for 30 "zt_timeout 10 $ZPAR status >st4.txt 2>/dev/null && ! grep -q \"NOT SAVED\" st4.txt" &&
	done_rows=$(db_count "$MNT/c2/tasks.sqlite" "SELECT count(*) FROM tasks") &&
	echo "finished records in SQLite: $done_rows" &&
	expect_eq "finished records" $(($(wc -l <ok2.txt) + 1)) "$done_rows" &&
	zt_timeout 20 $ZPAR submit --wait -- true
'

test_expect_success TMPFS,TESTCLIENT,TESTFN 'stop the second controller' '
	zt_timeout 30 $ZPAR stop &&
	wait_for 20 "! zt_alive $(cat c2.pid)"
'

test_done
