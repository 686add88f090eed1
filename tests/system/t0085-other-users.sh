#!/bin/sh
# t0085-other-users: a cluster directory or connection file that another
# local user controls is refused, and nothing runs.  The attack: another user
# makes the victim's cluster directory first (mode 0777) and puts a forged
# engine.json in it that points at the attacker's controller; the victim's
# 'zpar engine' then runs the attacker's tasks as the victim.  Also: no
# shared /tmp default when HOME is unset, and what zpar creates is private.
# "Another user" is uid 65534: the tests run as root, and root owns
# everything it creates.
. "$(cd "$(dirname "$0")/.." && pwd)/lib/sharness-lite.sh"
zt_require_zpar
OTHER=65534
A=$ZT_TMP/attacker
S=$ZT_TMP/shared # the victim's ZPAR_DIR
umask 022

if [ "$(id -u)" = 0 ]; then test_set_prereq ROOT; fi

# a clear error: exit status 1..123 and a message on stderr matching $1
refused () {
	zt_rc_pat=$1
	shift
	zt_timeout 30 "$@" >ref.out 2>ref.err
	ref_rc=$?
	echo "exit $ref_rc: $*"
	cat ref.out ref.err
	test $ref_rc -ge 1 && test $ref_rc -le 123 && expect_grep "$zt_rc_pat" ref.err
}

test_expect_success 'the attacker runs a controller of their own' '
	zt_controller "$A" &&
	unset ZPAR_CONNECTION_FILE
'

test_expect_success ROOT 'the attacker makes the victim'"'"'s cluster directory first, 0777, with a forged engine.json' '
	mkdir -p "$S/local" &&
	cp "$A/engine.json" "$S/local/engine.json" &&
	cp "$A/client.json" "$S/local/client.json" &&
	chmod 0777 "$S/local" &&
	chmod 0666 "$S/local/engine.json" "$S/local/client.json" &&
	chown -R $OTHER:$OTHER "$S/local" &&
	ls -la "$S/local"
'

test_expect_success ROOT 'zpar engine refuses the forged engine.json and registers nowhere' '
	refused "refusing .*$S/local" env ZPAR_DIR="$S" "$ZPAR" engine &&
	expect_grep "owned by uid $OTHER|writable by group or others" ref.err
'

test_expect_success ROOT 'zpar cluster start refuses the directory and starts nothing' '
	cksum "$S/local/engine.json" >before.sum &&
	refused "refusing cluster directory $S/local" env ZPAR_DIR="$S" "$ZPAR" cluster start -n 1 &&
	expect_grep "owned by uid $OTHER" ref.err &&
	test ! -e "$S/local/pids" &&
	cksum "$S/local/engine.json" | cmp -s - before.sum
'

test_expect_success ROOT 'zpar controller and zpar status refuse it too' '
	refused "refusing cluster directory $S/local" env ZPAR_DIR="$S" "$ZPAR" controller &&
	refused "refusing .*$S/local/client.json" env ZPAR_DIR="$S" "$ZPAR" status
'

test_expect_success ROOT 'zpar cluster stop does not kill what its pids file names' '
	echo "controller $ZT_CONTROLLER_PID" >"$S/local/pids" &&
	chown $OTHER:$OTHER "$S/local/pids" &&
	refused "refusing cluster directory $S/local" env ZPAR_DIR="$S" "$ZPAR" cluster stop &&
	sleep 1 &&
	zt_alive $ZT_CONTROLLER_PID &&
	rm -f "$S/local/pids"
'

test_expect_success ROOT 'the same directory made by the victim, left 0777: refused' '
	chown -R 0:0 "$S/local" &&
	chmod 0600 "$S/local/engine.json" &&
	refused "refusing cluster directory $S/local: it is writable by group or others \(mode 777\)" \
		env ZPAR_DIR="$S" "$ZPAR" cluster start -n 1 &&
	refused "refusing connection file $S/local/engine.json: the directory $S/local above it" \
		env ZPAR_DIR="$S" "$ZPAR" engine
'

test_expect_success ROOT 'a connection file of another user in a sticky directory: refused' '
	mkdir -p sticky && chmod 1777 sticky &&
	cp "$A/engine.json" sticky/engine.json && chmod 0600 sticky/engine.json &&
	chown $OTHER:$OTHER sticky/engine.json &&
	refused "refusing connection file .*sticky/engine.json: it is owned by uid $OTHER" \
		"$ZPAR" engine --connection-file sticky/engine.json
'

test_expect_success 'a connection file anyone may write: refused' '
	cp "$A/engine.json" open.json && chmod 0666 open.json &&
	refused "refusing connection file .*open.json: it is writable by group or others \(mode 666\)" \
		"$ZPAR" engine --connection-file open.json
'

test_expect_success 'no engine ever registered with the attacker'"'"'s controller' '
	zt_alive $ZT_CONTROLLER_PID &&
	expect_no_grep "registered" "$ZT_TMP/controller-attacker.err"
'

test_expect_success 'HOME and XDG_RUNTIME_DIR unset: a clear error, no /tmp default' '
	refused "none of ZPAR_DIR, HOME and XDG_RUNTIME_DIR is set" \
		env -u HOME -u XDG_RUNTIME_DIR -u ZPAR_DIR "$ZPAR" cluster start -n 1 &&
	refused "ZPAR_DIR" env -u HOME -u XDG_RUNTIME_DIR -u ZPAR_DIR "$ZPAR" engine &&
	refused "ZPAR_DIR" env -u HOME -u XDG_RUNTIME_DIR -u ZPAR_DIR -u ZPAR_CONNECTION_FILE \
		"$ZPAR" status
'

# run "$@" as a user without HOME whose XDG_RUNTIME_DIR is $R
xdg () {
	(unset HOME ZPAR_DIR ZPAR_CONNECTION_FILE; XDG_RUNTIME_DIR=$R; export XDG_RUNTIME_DIR; "$@")
}

test_expect_success 'HOME unset: the cluster lives in XDG_RUNTIME_DIR, private' '
	R=$ZPAR_DIR/run && mkdir -p "$R" && chmod 0700 "$R" &&
	xdg zt_timeout 60 "$ZPAR" cluster start -n 1 >xdg.out 2>xdg.err
	rc=$?
	cat xdg.out xdg.err
	zt_record_pid $(zt_cluster_pids)
	expect_eq "cluster start" 0 $rc &&
	expect_grep "^$R/zpar/local/client.json" xdg.out &&
	xdg zt_timeout 30 "$ZPAR" status &&
	for f in "$R/zpar" "$R/zpar/local"; do
		expect_eq "mode of $f" 700 "$(stat -c %a "$f")" || return 1
	done &&
	for f in client.json engine.json tasks.sqlite tasks.sqlite-wal tasks.sqlite-shm; do
		expect_eq "mode of $f" 600 "$(stat -c %a "$R/zpar/local/$f")" || return 1
	done &&
	xdg zt_timeout 60 "$ZPAR" cluster stop
'

test_done
