#!/bin/sh
# t0620-curve: CurveZMQ on every socket (--curve).  A cluster started with
# --curve runs load-balanced and direct tasks and px; its connection files
# give each side only its own key pair; a peer without a key (no CURVE, or
# a random key pair with the server's public key) completes no handshake on
# any of the twelve sockets and nothing it sends is counted as dropped; the
# engine key is refused on client sockets and the client key on engine
# sockets.  A sniffer (strace of every socket send/recv of the cluster and
# of the client, when strace can trace here) sees the argv, env and output
# markers of a task without --curve and none of them with it.  `zpar run
# --curve` under mpirun (when installed) carries the keys in its wire-up.
. "$(cd "$(dirname "$0")/.." && pwd)/lib/sharness-lite.sh"
zt_require_zpar
zt_find_testclient
. "$srcdir/tests/lib/env.sh" # mpirun as root, loopback MPI
ATTACK=$builddir/tests/lib/attack-curve
C=$ZPAR_DIR/curve
P=$ZPAR_DIR/plain
command -v mpirun >/dev/null 2>&1 && test_set_prereq MPIRUN
strace -f -qq -o /dev/null -e trace=sendto true >/dev/null 2>&1 && test_set_prereq STRACE

# dropped ROUTER/PUB/SUB messages the controller counted so far
dropped () {
	zt_timeout 20 $ZPAR --connection-file "$1/client.json" status --json >"$ZT_TMP/st.json" &&
	zt_json_num "$ZT_TMP/st.json" dropped
}

test_expect_success 'zpar cluster start --curve -n 2' '
	test -x "$ATTACK" &&
	zt_cluster_start 2 --dir "$C" --curve &&
	expect_eq "connection file" "$C/client.json" "$ZPAR_CONNECTION_FILE" &&
	expect_grep "CURVE" "$C/controller.log"
'

test_expect_success 'each connection file holds its side s keys only, mode 0600' '
	for f in client engine controller; do
		expect_eq "$f.json mode" 600 "$(stat -c %a "$C/$f.json")" || return 1
	done &&
	expect_grep "\"curve_server_public\"" "$C/client.json" &&
	expect_grep "\"curve_client_secret\"" "$C/client.json" &&
	! grep -q "curve_engine_secret\|curve_server_secret" "$C/client.json" &&
	expect_grep "\"curve_engine_secret\"" "$C/engine.json" &&
	! grep -q "curve_client_secret\|curve_server_secret" "$C/engine.json" &&
	expect_grep "\"curve_server_secret\"" "$C/controller.json"
'

test_expect_success TESTCLIENT 'load-balanced and direct tasks run under CURVE' '
	zt_timeout 60 "$TESTCLIENT" balanced 8 0.1 >lb.out &&
	cat lb.out &&
	expect_grep "^balanced total=8 engines_used=2 failures=0" lb.out &&
	zt_timeout 60 "$TESTCLIENT" direct >direct.out &&
	cat direct.out &&
	test $(grep -c "^direct engine=[0-9]* ok" direct.out) = 2
'

test_expect_success 'px and submit/wait/result run under CURVE' '
	zt_timeout 30 $ZPAR px echo curve-px >px.out &&
	cat px.out &&
	expect_eq "px answers" 2 "$(grep -c "curve-px" px.out)" &&
	id=$(zt_timeout 20 $ZPAR submit -- echo curve-lb) &&
	zt_timeout 20 $ZPAR wait "$id" &&
	zt_timeout 20 $ZPAR result "$id" >res.out &&
	expect_grep "curve-lb" res.out
'

test_expect_success 'a peer without CURVE completes no handshake on any socket' '
	d0=$(dropped "$C") &&
	zt_timeout 120 "$ATTACK" "$C/client.json" plain 2000 >plain.out &&
	cat plain.out &&
	expect_grep "^connected=0 " plain.out
'

test_expect_success 'a random key pair (with the server key) is refused on every socket' '
	zt_timeout 120 "$ATTACK" "$C/client.json" random 2000 >random.out &&
	cat random.out &&
	expect_grep "^connected=0 refused=12 " random.out &&
	expect_grep "curve: connection from .* refused" "$C/controller.log"
'

test_expect_success 'nothing the keyless peers sent was even counted as dropped' '
	d1=$(dropped "$C") &&
	expect_eq "dropped before/after" "$d0" "$d1"
'

test_expect_success 'the client key opens only the client sockets (and the registrar)' '
	zt_timeout 120 "$ATTACK" "$C/client.json" client 2000 >client.out &&
	cat client.out &&
	expect_grep "^connected=6 refused=6 " client.out &&
	for ep in registration notification mux_client control_client task_client iopub_client; do
		expect_grep "^ep=$ep result=connected" client.out || return 1
	done
'

test_expect_success 'the engine key opens only the engine sockets (and the registrar)' '
	zt_timeout 120 "$ATTACK" "$C/engine.json" engine 2000 >engine.out &&
	cat engine.out &&
	expect_grep "^connected=7 refused=5 " engine.out &&
	for ep in registration hb_ping hb_pong mux_engine control_engine task_engine iopub_engine; do
		expect_grep "^ep=$ep result=connected" engine.out || return 1
	done
'

test_expect_success 'a client given engine.json is told to use client.json' '
	! zt_timeout 20 $ZPAR --connection-file "$C/engine.json" status 2>eng.err &&
	cat eng.err &&
	expect_grep "no client CURVE keys" eng.err
'

test_expect_success 'SIGKILL the controller, restart it with --reuse: CURVE and keys kept' '
	cp "$C/client.json" saved.json &&
	cpid=$(awk "/^controller/ {print \$2}" "$C/pids") &&
	kill -KILL $cpid &&
	wait_for 10 "! zt_alive $cpid" &&
	zt_spawn controller2 "$ZPAR" controller --dir "$C" --reuse saved.json &&
	wait_for 20 "grep -q \"\\\"pid\\\": $ZT_LAST_PID\" $C/client.json" &&
	expect_grep "reusing the CURVE keys" "$ZT_TMP/controller2.err" &&
	expect_eq "same client key" "$(grep curve_client_secret saved.json)" \
		"$(grep curve_client_secret "$C/client.json")" &&
	wait_for 30 "zt_timeout 10 $ZPAR status 2>/dev/null | grep -q \"2 idle\"" &&
	zt_timeout 120 "$ATTACK" "$C/client.json" random 2000 >random2.out &&
	expect_grep "^connected=0 refused=12 " random2.out
'

test_expect_success 'the curve cluster still works and stops' '
	zt_timeout 30 $ZPAR px true &&
	zt_timeout 30 $ZPAR cluster stop --dir "$C"
'

test_expect_success 'without --curve a keyless peer connects everywhere (the attack is real)' '
	zt_cluster_start 1 --dir "$P" &&
	zt_timeout 120 "$ATTACK" "$P/client.json" plain 2000 >plainctl.out &&
	cat plainctl.out &&
	expect_grep "^connected=12 " plainctl.out &&
	zt_timeout 30 $ZPAR cluster stop --dir "$P"
'

# sniff DIR [--curve]: a cluster and one task, every socket send/recv of
# every process traced; the traces in DIR.trace*
MARK_ARG=zpmarkargv7131
MARK_ENV=zpmarkenv5523
sniff () {
	zt_sn_dir=$1
	shift
	strace -f -qq -s 65536 -e trace=sendto,recvfrom,sendmsg,recvmsg -o "$zt_sn_dir.trace" \
		"$ZPAR" cluster start -n 1 --dir "$zt_sn_dir" "$@" >"$zt_sn_dir.start" 2>&1 &
	zt_sn_pid=$!
	zt_record_pid $zt_sn_pid
	wait_for 60 "test -s $zt_sn_dir/client.json && grep -q json $zt_sn_dir.start" || return 1
	zt_record_pid $(zt_cluster_pids)
	zt_timeout 60 strace -f -qq -s 65536 -e trace=sendto,recvfrom,sendmsg,recvmsg \
		-o "$zt_sn_dir.trace-client" "$ZPAR" --connection-file "$zt_sn_dir/client.json" \
		submit --wait --env "SECRET_TOKEN=$MARK_ENV" -- sh -c "echo zpmark\"\"out9; echo \$SECRET_TOKEN; : $MARK_ARG" \
		>"$zt_sn_dir.result" 2>&1
	zt_sn_rc=$?
	zt_timeout 30 $ZPAR cluster stop --dir "$zt_sn_dir" >/dev/null 2>&1
	zt_timeout 30 sh -c "while kill -0 $zt_sn_pid 2>/dev/null; do sleep 0.1; done"
	cat "$zt_sn_dir.result"
	return $zt_sn_rc
}
marks () { cat "$@" | grep -o "$MARK_ARG\|$MARK_ENV\|zpmarkout9" | sort -u | tr "\n" " "; }

test_expect_success STRACE 'sniffer: without --curve argv, env and output are on the wire' '
	sniff "$ZPAR_DIR/sniff-plain" &&
	expect_grep "zpmarkout9" "$ZPAR_DIR/sniff-plain.result" &&
	expect_grep "$MARK_ENV" "$ZPAR_DIR/sniff-plain.result" &&
	seen=$(marks "$ZPAR_DIR/sniff-plain.trace" "$ZPAR_DIR/sniff-plain.trace-client") &&
	expect_eq "markers on the wire" "$MARK_ARG $MARK_ENV zpmarkout9 " "$seen"
'

test_expect_success STRACE 'sniffer: with --curve none of them is' '
	sniff "$ZPAR_DIR/sniff-curve" --curve &&
	expect_grep "zpmarkout9" "$ZPAR_DIR/sniff-curve.result" &&
	expect_grep "$MARK_ENV" "$ZPAR_DIR/sniff-curve.result" &&
	test -s "$ZPAR_DIR/sniff-curve.trace" &&
	expect_grep "sendto" "$ZPAR_DIR/sniff-curve.trace" &&
	seen=$(marks "$ZPAR_DIR/sniff-curve.trace" "$ZPAR_DIR/sniff-curve.trace-client") &&
	expect_eq "markers on the wire" "" "$seen"
'

test_expect_success MPIRUN 'mpirun -n 3 zpar run --curve: the engines get their keys, px answers' '
	zt_timeout 120 mpirun -n 3 "$ZPAR" run --curve --bind none --dir "$ZT_TMP/r1" -- \
		sh -c "cp \"\$ZPAR_CONNECTION_FILE\" r1-client.json && \"$ZPAR\" px echo run-curve" \
		>r1.out 2>r1.err
	rc=$?
	cat r1.out r1.err &&
	expect_eq "zpar run exit" 0 $rc &&
	expect_eq "px answers" 2 "$(grep -c run-curve r1.out)" &&
	expect_grep "\"curve_client_secret\"" r1-client.json
'

test_done
