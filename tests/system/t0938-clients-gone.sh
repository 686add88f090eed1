#!/bin/sh
# t0938-clients-gone: what a client that has come and gone leaves in the
# controller.  Every client subscribes to the hub's notification PUB; when
# it disconnects, libzmq frees that connection's pipe, session and buffers
# only once the hub's thread calls into the socket, which it did only to
# publish an engine event: an idle controller answering one-shot clients
# (`zpar status`, `zpar submit` in a script) kept ~16 KiB of each for good
# (8 MiB after 500).  The hub now settles the socket on its 50 ms timer
# (sockutil.h, zpar__socket_settle).  Here: 300 one-shot clients, then 300
# more; the controller's RSS may grow while the allocator warms up, but not
# by more than 2 MiB over the second 300 (it grew ~4.7 MiB before).
. "$(cd "$(dirname "$0")/.." && pwd)/lib/sharness-lite.sh"
zt_require_zpar

rss () { awk '$1 == "VmRSS:" { print $2 }' "/proc/$1/status"; }
clients () {
	i=0
	while [ $i -lt "$1" ]; do
		zt_timeout 10 "$ZPAR" status >/dev/null 2>&1 || return 1
		i=$((i + 1))
	done
}

test_expect_success 'a cluster of one engine' '
	zt_cluster_start 1 &&
	C=$(awk "\$1 == \"controller\" { print \$2 }" "$ZT_CLUSTER_DIR/pids") &&
	zt_alive "$C"
'

test_expect_success '300 one-shot clients, then 300 more: the controller keeps nothing of them' '
	clients 300 && sleep 1 && r1=$(rss $C) &&
	clients 300 && sleep 1 && r2=$(rss $C) &&
	zt_diag "controller RSS after 300 clients: $r1 KiB, after 600: $r2 KiB" &&
	test $((r2 - r1)) -lt 2048
'

test_expect_success 'the cluster still answers, and stops' '
	zt_timeout 30 "$ZPAR" px true &&
	zt_cluster_stop
'

test_done
