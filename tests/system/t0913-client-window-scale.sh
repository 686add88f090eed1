#!/bin/sh
# t0913-client-window-scale: the client's window grows with the cluster.
# With a base window of 8 ($ZPAR_CLIENT_WINDOW=8) and 24 engines, a burst
# of tasks of 2 s each keeps more than 8 engines busy at once (the window
# is max(base, 2 x prefetch x the live engines the client knows of));
# a fixed window of 8 would leave 16 of the 24 engines idle all along.
# Every task still runs exactly once.
. "$(cd "$(dirname "$0")/.." && pwd)/lib/sharness-lite.sh"
zt_require_zpar
CR=$builddir/tests/lib/client-restart
[ -x "$CR" ] || skip_all "no $CR (build the check programs)"
E=24 W=8 N=120

# the engines busy now (with a task outstanding), per the controller
busy () {
	zt_timeout 10 $ZPAR status 2>/dev/null |
		sed -n 's/^engines: [0-9]* ([0-9]* idle, \([0-9]*\) busy.*/\1/p'
}

test_expect_success "a cluster of $E engines" '
	zt_restart_cluster $E
'

# the most engines busy at once so far, in most.txt; true once above $W
more_than_window () {
	v=$(busy)
	m=$(cat most.txt 2>/dev/null || echo 0)
	[ -n "$v" ] && [ "$v" -gt "$m" ] && echo "$v" >most.txt
	[ "$(cat most.txt 2>/dev/null || echo 0)" -gt $W ]
}

test_expect_success "$N tasks of 2 s at once, base window $W: more than $W engines busy at once" '
	ZPAR_CLIENT_WINDOW=$W zt_spawn client "$CR" -t 200 -n $N -b $N -r 1000000 -s 2 -p 1 \
		"$PWD/side.txt" &&
	echo $ZT_LAST_PID >client.pid &&
	ok=0 && wait_for 15 more_than_window && ok=1
	zt_diag "most engines busy at once: $(cat most.txt 2>/dev/null) of $E (base window $W)" &&
	[ $ok = 1 ]
'

test_expect_success 'the client finishes, every future ok, every task run once' '
	wait_for 200 "! zt_alive $(cat client.pid)" &&
	out=$ZT_TMP/client.out &&
	zt_diag "$(grep "^final " "$out")" &&
	grep -q "^final ok=$N failed=0 incomplete=0 " "$out" &&
	distinct=$(sort -n side.txt | uniq | wc -l) &&
	twice=$(sort -n side.txt | uniq -d | wc -l) &&
	[ "$distinct" -eq $N ] && [ "$twice" -eq 0 ]
'

test_expect_success 'zpar stop ends the controller and the engines' '
	zt_timeout 30 $ZPAR stop &&
	wait_for 20 "! zt_alive $(cat ctl.pid)"
'

test_done
