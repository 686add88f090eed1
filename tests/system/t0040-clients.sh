#!/bin/sh
# t0040-clients: several clients at once, each gets exactly its own results;
# every client sees all IOPub output.
. "$(cd "$(dirname "$0")/.." && pwd)/lib/sharness-lite.sh"
zt_require_zpar
zt_find_testclient || skip_all "no zpar-testclient in $builddir"
TC="$TESTCLIENT"

test_expect_success 'start a cluster of 3 engines' '
	zt_cluster_start 3
'

test_expect_success '4 concurrent clients x 1000 tasks: each exactly its own results' '
	zt_timeout 150 "$TC" -t 120 clients 4 1000 >clients.out &&
	cat clients.out &&
	test $(grep -c "^client k=[0-3] id=[0-9]* ok=1$" clients.out) = 4 &&
	expect_grep "^clients completed=4000 failed=0$" clients.out &&
	expect_grep "^clients k=4 n=1000 ok=1" clients.out
'

test_expect_success 'two clients subscribed to all output both see a third client task stdout' '
	zt_timeout 60 "$TC" iopub >iopub.out &&
	cat iopub.out &&
	expect_grep "^iopub a_seen=[1-9][0-9]* b_seen=[1-9]" iopub.out &&
	expect_grep "^iopub mine_only_foreign=0$" iopub.out
'

test_expect_success 'output pieces carry their offset: a late subscriber sees where its first piece belongs' '
	zt_timeout 60 "$TC" iopub-offset >iopoff.out &&
	cat iopoff.out &&
	expect_grep "^iopub-offset a pieces=3 first=0 bad=0 covered=13$" iopoff.out &&
	expect_grep "^iopub-offset b pieces=[12] first=(4|8) bad=0 covered=13$" iopoff.out
'

test_expect_success 'concurrent CLI clients: submit, wait, result, each its own' '
	for k in 1 2 3 4; do
		(
			for i in 1 2 3 4 5; do
				id=$(zt_timeout 20 $ZPAR submit -- echo "cli-$k-$i") || exit 1
				zt_timeout 30 $ZPAR wait --timeout 20 $id || exit 1
				zt_timeout 20 $ZPAR result $id >r-$k-$i.out || exit 1
				grep -q "cli-$k-$i" r-$k-$i.out || { echo "client $k task $i: wrong result"; cat r-$k-$i.out; exit 1; }
				grep -v "cli-$k-$i" r-$k-$i.out | grep -q "cli-" && { echo "foreign output"; exit 1; }
			done
			echo ok >cli-$k.done
		) &
	done &&
	wait &&
	for k in 1 2 3 4; do test -f cli-$k.done || { echo "CLI client $k failed"; return 1; }; done
'

test_expect_success 'a client can fetch a task submitted by another client' '
	id=$(zt_timeout 20 $ZPAR submit -- echo shared-result) &&
	zt_timeout 30 $ZPAR wait --timeout 20 $id &&
	zt_timeout 20 $ZPAR result $id >shared.out &&
	expect_grep "shared-result" shared.out
'

test_expect_success 'stop the cluster' '
	zt_cluster_stop
'

test_done
