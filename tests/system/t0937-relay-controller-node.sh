#!/bin/sh
# t0937-relay-controller-node: under `zpar run --relay=auto` (the default)
# the controller's own node goes through a relay when it runs
# ZPAR_RELAY_CONTROLLER_NODE engines or more (default 256; relay_node.h),
# so that the controller holds 7 connections for the node instead of 7 per
# engine.  Here on one host with the threshold at 4: 5 engines join
# through one relay, the controller holds the relay's connections only,
# tasks reach every engine; the relay SIGKILLed: its engines are declared
# dead together, the relay is started again by the node's first rank, its
# engines register again through it and run tasks, nothing is left at the
# end.  Below the threshold (the default 64 here) the engines stay direct.
. "$(cd "$(dirname "$0")/.." && pwd)/lib/sharness-lite.sh"
zt_require_zpar
. "$srcdir/tests/lib/env.sh"
command -v mpirun >/dev/null 2>&1 || skip_all "no mpirun"
command -v ss >/dev/null 2>&1 || skip_all "no ss"
# the relay's directory is $XDG_RUNTIME_DIR/zpar-relay/HASH, under $ZT_TMP
NE=5

# relay processes of this test (their pids)
relays () {
	for p in $(zt_marked_pids); do
		tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -q -- " relay --connection-file" && echo $p
	done
	return 0
}

# established TCP connections to the controller's ports of run $1
conns () {
	ports=$(grep -o 'tcp://[0-9.]*:[0-9]*' "$ZT_TMP/$1/client.json" | sed 's/.*://' | sort -u |
		tr '\n' '|' | sed 's/|$//')
	ss -Htn state established | awk -v p="^($ports)\$" '
		{ n = split($3, l, ":"); if (l[n] ~ p) c++ } END { print c + 0 }'
}

alive () { $C status 2>/dev/null | awk '$4 == "idle" || $4 == "busy"' | wc -l; }

# start NAME THRESHOLD: zpar run serving with NE engines on this host
start () {
	ZPAR_RELAY_CONTROLLER_NODE=$2 zt_spawn "$1" mpirun -x ZPAR_RELAY_CONTROLLER_NODE \
		-x XDG_RUNTIME_DIR -n $((NE + 1)) "$ZPAR" run --dir "$ZT_TMP/$1" &&
	echo "$ZT_LAST_PID" >"$1.pid" &&
	C="$ZPAR --connection-file $ZT_TMP/$1/client.json" &&
	wait_for 60 "test -f $ZT_TMP/$1/client.json" &&
	wait_for 60 "test \$(alive) = $NE"
}

stop () {
	$C stop >/dev/null 2>&1
	wait_for 30 "! zt_alive $(cat "$1.pid")"
}

test_expect_success "threshold 4: $NE engines of the controller's node join through one relay" '
	start r 4 &&
	expect_eq "relays" 1 "$(relays | wc -l)"
'

test_expect_success 'the controller holds the relay'"'"'s connections, not 7 per engine' '
	n=$(conns r) && zt_diag "connections to the controller: $n" &&
	test "$n" -ge 7 && test "$n" -lt $((NE * 7))
'

test_expect_success 'tasks through the relay: direct ones on every engine, load-balanced ones' '
	zt_timeout 30 $C px hostname >px1.out 2>&1 &&
	expect_eq "engines that answered" $NE "$(grep -c "^\[e" px1.out)" &&
	ids= && for i in 1 2 3 4 5 6 7 8; do ids="$ids $($C submit -- true)" || return 1; done &&
	zt_timeout 60 $C wait $ids
'

test_expect_success 'the relay SIGKILLed: its engines die together, it is started again, they register again' '
	r=$(relays) && test -n "$r" &&
	kill -KILL $r &&
	wait_for 30 "grep -q \"declared dead\" r.err" &&
	wait_for 60 "test \"\$(relays | wc -l)\" = 1 && test \"\$(relays)\" != \"$r\"" &&
	wait_for 60 "test \$(alive) = $NE" &&
	zt_timeout 30 $C px true >px2.out 2>&1
'

test_expect_success 'zpar stop ends the run, its relay and engines' '
	stop r &&
	wait_for 10 "test -z \"\$(relays)\""
'

test_expect_success 'below the threshold (default) the engines of the controller'"'"'s node stay direct' '
	start d "" &&
	expect_eq "relays" 0 "$(relays | wc -l)" &&
	n=$(conns d) && zt_diag "connections to the controller: $n" &&
	test "$n" -ge $((NE * 7)) &&
	stop d
'

test_done
