#!/bin/sh
# t0012-task-io: the schedulers' sockets doing their own TCP I/O (zrouter,
# the default without Curve) and the same cluster on libzmq's sockets
# (ZPAR_TASK_IO=zmq): load-balanced, direct and control traffic, many
# clients, junk on the task ports, a client that goes away with tasks in
# flight, and the log says which one runs.
. "$(cd "$(dirname "$0")/.." && pwd)/lib/sharness-lite.sh"
zt_require_zpar
zt_find_testclient

# junk DATA to PORT on 127.0.0.1 from a raw TCP socket (python3)
junk () {
	zt_timeout 10 "$PYTHON" - "$1" "$2" <<-'EOF'
	import socket, sys
	s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
	s.sendall(sys.argv[2].encode("utf-8", "surrogateescape") * 64)
	try:
	    s.recv(4096)
	except OSError:
	    pass
	s.close()
	EOF
}

port_of () { # NAME: the port of the client.json endpoint NAME
	sed -n "s/.*\"$1\": *\"tcp:\/\/[^:]*:\([0-9]*\)\".*/\1/p" "$ZPAR_CONNECTION_FILE"
}

for io in zpar libzmq; do
	if [ $io = libzmq ]; then
		ZPAR_TASK_IO=zmq
		export ZPAR_TASK_IO
	fi
	D=$ZT_TMP/c-$io

	test_expect_success "$io: a cluster of 2 engines; the log names the task I/O" '
		zt_cluster_start 2 --dir "$D" &&
		expect_grep "task I/O $io," "$D/controller.log"
	'

	test_expect_success TESTCLIENT "$io: 2000 load-balanced tasks, each its own result" '
		zt_timeout 120 "$TESTCLIENT" balanced 2000 >lb-$io.out &&
		expect_grep "^balanced total=2000 engines_used=2 failures=0" lb-$io.out
	'

	test_expect_success TESTCLIENT "$io: direct tasks on every engine and the control calls" '
		zt_timeout 60 "$TESTCLIENT" direct >direct-$io.out &&
		zt_timeout 60 "$TESTCLIENT" control >control-$io.out &&
		cat direct-$io.out control-$io.out &&
		! grep -q "^FAIL" direct-$io.out control-$io.out &&
		expect_grep "^control .*ok" control-$io.out
	'

	test_expect_success TESTCLIENT "$io: 4 clients at once, each only its own results" '
		zt_timeout 120 "$TESTCLIENT" clients 4 500 >clients-$io.out &&
		cat clients-$io.out &&
		expect_grep "ok" clients-$io.out &&
		! grep -q "^FAIL" clients-$io.out
	'

	test_expect_success TESTCLIENT "$io: junk on the task ports is closed; tasks still run" '
		for name in task_client task_engine mux_client mux_engine; do
			p=$(port_of $name) && test -n "$p" || { echo "no port for $name"; return 1; }
			junk "$p" "GET / HTTP/1.0" || return 1
			junk "$p" "$(printf "\377\000\000\000\000\000\000\000\001\177\003\000PLAIN")" || return 1
		done &&
		echo "junk sent" &&
		zt_timeout 60 "$TESTCLIENT" balanced 200 >lb2-$io.out &&
		expect_grep "^balanced total=200 engines_used=2 failures=0" lb2-$io.out &&
		for p in $(zt_cluster_pids); do zt_alive $p || return 1; done
	'

	test_expect_success TESTCLIENT "$io: a client killed with tasks in flight; the next one runs" '
		"$TESTCLIENT" balanced 3000 0.001 >/dev/null 2>&1 &
		kpid=$! &&
		sleep 0.5 &&
		kill -9 $kpid; wait $kpid 2>/dev/null;
		zt_timeout 120 "$TESTCLIENT" balanced 500 >lb3-$io.out &&
		expect_grep "^balanced total=500 engines_used=2 failures=0" lb3-$io.out
	'

	test_expect_success "$io: the cluster stops" '
		zt_timeout 30 "$ZPAR" cluster stop --dir "$D"
	'
done

test_done
