#!/bin/sh
# t0560-mh-relay: a relay per node (doc/protocol.md, "Relays") on 4 real
# hosts (tests/lib/netns-bed.sh) x 4 engines: `mpirun --hostfile zpar run`
# with rank 0 (the controller) and 4 engines on h1, 4 engines on each of
# h2, h3, h4.  With --relay=auto, h2..h4 each run one relay (h1, the
# controller's node, none); the controller holds one connection per socket
# per relay host instead of one per engine.  Through the relays: px (direct
# tasks and IOPub output), load-balanced tasks.  A relay SIGKILLed: its 4
# engines declared dead together, no other; their tasks run again
# elsewhere, every task ends once (nothing lost, nothing run twice: a task
# cut off with its relay is fenced before it runs again); the
# relay is started again by its node's first rank and its engines register
# again.  With --relay=never, the same hosts hold one connection per engine.
LIBDIR=$(cd "$(dirname "$0")/../lib" && pwd)
# a heartbeat a loaded 2-core machine keeps with 17 ranks (death limit
# 1.75 s), and the relay started again well after its engines' death, so
# that the relay's loss is what the controller sees
ZPAR_HB_PERIOD_MS=${ZPAR_HB_PERIOD_MS:-500}
ZPAR_RELAY_RESTART_MS=5000
export ZPAR_HB_PERIOD_MS ZPAR_RELAY_RESTART_MS
. "$LIBDIR/sharness-lite.sh"
zt_require_zpar
. "$LIBDIR/netns-bed.sh"
command -v mpirun >/dev/null 2>&1 || skip_all "no mpirun (Open MPI)"
bed_up 4

# rank 0 and 4 engines on h1, 4 engines on each other host
HF=$ZT_TMP/hostfile
{
	echo "$(bed_ip h1) slots=5"
	for h in h2 h3 h4; do echo "$(bed_ip $h) slots=4"; done
} >"$HF"
NE=16

# start_run NAME MODE: zpar run on the bed in the background (pid in NAME.pid)
start_run () {
	mkdir -p "$1" &&
	zt_timeout 200 mpirun --hostfile "$HF" -n $((NE + 1)) "$ZPAR" run --relay="$2" \
		--dir "$ZT_TMP/$1/c" >"$1/run.out" 2>"$1/run.err" &
	echo $! >"$1.pid"
	echo $! >>"$ZT_PIDS"
	C="$ZPAR --connection-file $ZT_TMP/$1/c/client.json"
	wait_for 60 "grep -q \"cluster ready with $NE engines\" $1/run.out"
}

alive () { $C status 2>/dev/null | awk '$4 == "idle" || $4 == "busy"' | wc -l; }

# engines per host: "h1 4 h2 4 ..." of the alive engines
per_host () {
	$C status | awk '$4 == "idle" || $4 == "busy" { n[$2]++ } END { for (h in n) print h, n[h] }' |
		sort | tr '\n' ' ' | sed 's/ $//'
}

# conns NAME HOST: established TCP connections from HOST to the controller's ports
conns () {
	ports=$(grep -o 'tcp://[0-9.]*:[0-9]*' "$1/c/client.json" | sed 's/.*://' | sort -u | tr '\n' '|' | sed 's/|$//')
	bed_on h1 ss -Htn state established | awk -v p="^($ports)\$" -v ip="$(bed_ip $2)" '
		{ split($3, l, ":"); n = split($4, r, ":");
		  if (l[2] ~ p && r[1] == ip) c++ } END { print c + 0 }'
}

# relay processes on HOST (their pids)
relays_on () {
	for p in $(ip netns pids "$BED_PREFIX-$1" 2>/dev/null); do
		tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -q -- " relay --connection-file" && echo $p
	done
	return 0
}

stop_run () {
	$C stop >/dev/null 2>&1
	wait_for 30 "! zt_alive $(cat $1.pid)"
}

test_expect_success 'zpar run --relay=auto on 4 hosts: 16 engines, one relay on h2, h3, h4 each' '
	start_run a auto &&
	expect_eq "engines" "h1 4 h2 4 h3 4 h4 4" "$(per_host)" &&
	expect_eq "relays on h1" 0 "$(relays_on h1 | wc -l)" &&
	for h in h2 h3 h4; do expect_eq "relays on $h" 1 "$(relays_on $h | wc -l)" || return 1; done
'

test_expect_success 'the controller holds one connection per socket per relay host (7), 28 for h1' '
	for h in h2 h3 h4; do expect_eq "connections from $h" 7 "$(conns a $h)" || return 1; done &&
	expect_eq "connections from h1 (no relay)" 28 "$(conns a h1)"
'

test_expect_success 'px through the relays: direct tasks and their output from 16 engines' '
	zt_timeout 60 $C px -- sh -c "echo out \$(hostname); echo err \$(hostname) >&2" >px.out 2>px.err &&
	expect_eq "stdout lines" 16 "$(grep -c "^\[e[0-9]*\] out h[1-4]\$" px.out)" &&
	expect_eq "stderr lines" 16 "$(grep -c "^\[e[0-9]*\] err h[1-4]\$" px.err)" &&
	expect_eq "engines" 16 "$(sed -n "s/^\[e\([0-9]*\)\].*/\1/p" px.out | sort -u | wc -l)" &&
	zt_timeout 30 $C px -t 10 -- hostname >px10.out &&
	expect_eq "engine 10 (h3, behind its relay)" "[e10] h3" "$(cat px10.out)"
'

test_expect_success 'load-balanced tasks through the relays: 8 for the engines of each host, all ok there' '
	: >ids &&
	for t in 1-4:h1 5-8:h2 9-12:h3 13-16:h4; do
		for i in 1 2 3 4 5 6 7 8; do
			$C submit -t ${t%:*} -- sh -c "sleep 0.1; echo ${t#*:} \$(hostname)" >>ids || return 1
		done
	done &&
	zt_timeout 60 $C wait $(cat ids) >lb.out &&
	expect_eq "ok" 32 "$(grep -c " ok: " lb.out)" &&
	for id in $(cat ids); do $C result $id || return 1; done >lb.res &&
	expect_eq "on the hosts targeted" 32 "$(awk "\$1 == \$2" lb.res | wc -l)"
'

SIDE=$ZT_TMP/side
test_expect_success 'the relay of h3 SIGKILLed: its 4 engines dead together, no other' '
	: >"$SIDE" && : >kids &&
	for i in $(seq $NE); do
		$C submit --retries 3 -- sh -c "echo start \$1 \$(hostname) >>$SIDE; sleep 8; echo end \$1 \$(hostname) >>$SIDE" _ $i >>kids || return 1
	done &&
	wait_for 20 "test \$(grep -c ^start $SIDE) -ge $NE" &&
	r=$(relays_on h3) && test -n "$r" &&
	kill -9 $r &&
	wait_for 15 "test \$(alive) -le 12" &&
	$C status >dead.out && cat dead.out &&
	expect_eq "dead engines" "h3 h3 h3 h3" "$(awk "\$4 == \"dead\" { print \$2 }" dead.out | tr "\n" " " | sed "s/ \$//")" &&
	grep "declared dead: " a/run.err >deaths &&
	cat deaths && expect_eq "death lines" 4 "$(wc -l <deaths)" &&
	expect_eq "in one check (within 0.5 s)" 1 "$(awk "{ split(substr(\$1, 12, 12), a, \":\");
		t = a[1] * 3600 + a[2] * 60 + a[3]; if (NR == 1 || t < lo) lo = t; if (NR == 1 || t > hi) hi = t }
		END { print (hi - lo < 0.5) }" deaths)"
'

test_expect_success 'their tasks ran again elsewhere: nothing lost, all ok' '
	zt_timeout 90 $C wait $(cat kids) >k.out; cat k.out;
	expect_eq "ok" $NE "$(grep -c " ok: " k.out)" &&
	expect_eq "tasks that ended" $NE "$(awk "/^end/ { print \$2 }" "$SIDE" | sort -u | wc -l)" &&
	awk "/^start/ { n[\$2]++; if (n[\$2] == 1) first[\$2] = \$3 } END { for (i in n) if (n[i] > 1) print i, n[i], first[i] }" "$SIDE" >twice &&
	cat twice && expect_eq "run again: the 4 first started on h3" "h3 h3 h3 h3" "$(awk "{ print \$3 }" twice | tr "\n" " " | sed "s/ \$//")"
'

bed_expect_known relay-task-twice 'nothing ran twice: every task ended once, the 4 cut off with the relay started twice' '
	sleep 2 && cat "$SIDE" &&
	expect_eq "ends" $NE "$(grep -c ^end "$SIDE")" &&
	expect_eq "started twice, first on h3" "2 h3 2 h3 2 h3 2 h3" "$(awk "{ print \$2, \$3 }" twice | tr "\n" " " | sed "s/ \$//")"
'

test_expect_success 'the relay is started again and its engines register again through it' '
	wait_for 30 "test \$(alive) -eq $NE" &&
	expect_eq "relays on h3" 1 "$(relays_on h3 | wc -l)" &&
	expect_eq "connections from h3" 7 "$(conns a h3)" &&
	zt_timeout 30 $C px -t 9-12 -- hostname | sort >px3.out &&
	expect_eq "h3 answers" "h3 h3 h3 h3" "$(sed "s/^\[e[0-9]*\] //" px3.out | tr "\n" " " | sed "s/ \$//")"
'

test_expect_success 'zpar stop ends the run, its relays and engines on every host' '
	stop_run a &&
	wait_for 15 "test -z \"\$(bed_procs \"$ZPAR\")\"" &&
	test ! -e /proc/$(cat a.pid)
'

test_expect_success 'with --relay=never the hosts hold one connection per engine (28 each)' '
	start_run n never &&
	expect_eq "relays" "" "$(for h in $BED_HOSTS; do relays_on $h; done)" &&
	for h in h2 h3 h4; do expect_eq "connections from $h" 28 "$(conns n $h)" || return 1; done &&
	stop_run n
'

test_done
