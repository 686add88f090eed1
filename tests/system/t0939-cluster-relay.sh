#!/bin/sh
# t0939-cluster-relay: `zpar cluster start` puts its engines behind one
# relay from ZPAR_RELAY_CONTROLLER_NODE engines (256 by default; 4 here),
# as `zpar run` does on the controller's node (launchers/local_relay.h):
# the controller holds the relay's connections, not 7 per engine; tasks
# reach every engine; the relay SIGKILLed is started again by its keeper
# and the engines register again through it; `zpar cluster stop` ends the
# relay too and leaves no relay directory or file; below the threshold and
# with --relay never the engines stay direct, with --relay always even one
# engine goes through the relay; --launcher mpi passes --relay to zpar run.
. "$(cd "$(dirname "$0")/.." && pwd)/lib/sharness-lite.sh"
zt_require_zpar
command -v ss >/dev/null 2>&1 || skip_all "no ss (iproute2)"
NE=6

# the relay processes of this test: the keeper (relay --keep) and its relay
keepers () {
	for p in $(zt_marked_pids); do
		tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -q -- " relay --keep " && echo "$p"
	done
	return 0
}
relays () {
	for p in $(zt_marked_pids); do
		tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -q -- " relay --connection-file" &&
			echo "$p"
	done
	return 0
}

conns () { zt_controller_tcp "$ZT_TMP/$1/client.json"; }
live () { $C status 2>/dev/null | awk '$4 ~ /^(idle|busy)$/ { n++ } END { print n + 0 }'; }

# start NAME N [ARGS...]: a cluster of N engines in $ZT_TMP/NAME
start () {
	name=$1 n=$2
	shift 2
	ZPAR_RELAY_CONTROLLER_NODE=4 zt_cluster_start "$n" --dir "$ZT_TMP/$name" "$@" &&
	C="$ZPAR --connection-file $ZT_TMP/$name/client.json" &&
	wait_for 60 "test \$(live) = $n"
}

test_expect_success "threshold 4: $NE engines join through one relay, recorded in the pids file" '
	start r $NE &&
	expect_eq "keepers" 1 "$(keepers | wc -l)" &&
	expect_eq "relays" 1 "$(relays | wc -l)" &&
	expect_grep "^relay [0-9]" r/pids &&
	test -S r/relay/registrar &&
	expect_grep "relay .* ready" r/relay.log
'

test_expect_success 'the controller holds the relay'"'"'s connections, not 7 per engine' '
	tcp=$(conns r) &&
	zt_diag "the controller: $tcp TCP connections for $NE engines" &&
	test "$tcp" -ge 7 && test "$tcp" -lt $((NE * 7))
'

test_expect_success 'every engine runs a direct task through the relay, and load-balanced tasks run' '
	zt_timeout 30 $C px hostname >px1.out 2>&1 &&
	expect_eq "engines that answered" $NE "$(grep -c "^\[e" px1.out)" &&
	seq 8 | while read -r i; do $C submit -- true || exit 1; done >ids &&
	expect_eq "submitted" 8 "$(wc -l <ids)" &&
	zt_timeout 60 $C wait $(cat ids)
'

test_expect_success 'the relay SIGKILLed: its keeper starts it again, the engines register again' '
	old=$(relays) && test -n "$old" && kill -KILL $old &&
	wait_for 30 "grep -q \"declared dead\" r/controller.log" &&
	wait_for 60 "test -n \"\$(relays)\" && test \"\$(relays)\" != $old" &&
	wait_for 60 "test \$(live) = $NE" &&
	zt_timeout 30 $C px true >px2.out 2>&1 &&
	expect_eq "keepers" 1 "$(keepers | wc -l)" && expect_eq "relays" 1 "$(relays | wc -l)"
'

test_expect_success 'zpar cluster stop ends the relay too and leaves no relay directory or file' '
	zt_timeout 30 "$ZPAR" cluster stop --dir "$ZT_TMP/r" >stop.out 2>&1 &&
	expect_grep "stopped the cluster" stop.out &&
	wait_for 10 "test -z \"\$(relays)\" && test -z \"\$(keepers)\"" &&
	test ! -e r/relay && test ! -e r/relay.json && test ! -e r/pids
'

test_expect_success 'below the threshold the engines stay direct' '
	start d 3 &&
	expect_eq "relays" 0 "$(relays | wc -l)" &&
	! grep -q "^relay" d/pids &&
	n=$(conns d) && zt_diag "connections to the controller: $n" &&
	test "$n" -ge $((3 * 7)) &&
	zt_timeout 30 "$ZPAR" cluster stop --dir "$ZT_TMP/d" >/dev/null 2>&1
'

test_expect_success '--relay never: direct; --relay always: one engine through the relay' '
	start n $NE --relay never &&
	expect_eq "relays" 0 "$(relays | wc -l)" &&
	zt_timeout 30 "$ZPAR" cluster stop --dir "$ZT_TMP/n" >/dev/null 2>&1 &&
	start a 1 --relay always &&
	expect_eq "relays" 1 "$(relays | wc -l)" &&
	zt_timeout 30 $C px true >px3.out 2>&1 &&
	zt_timeout 30 "$ZPAR" cluster stop --dir "$ZT_TMP/a" >/dev/null 2>&1 &&
	wait_for 10 "test -z \"\$(relays)\""
'

command -v mpirun >/dev/null 2>&1 && test_set_prereq MPIRUN
test_expect_success MPIRUN '--launcher mpi --relay always: zpar run relays its node; the stop ends it' '
	OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 zt_timeout 90 "$ZPAR" cluster start \
		--launcher mpi -n 2 --dir "$ZT_TMP/m" --relay always >m.out 2>&1 &&
	C="$ZPAR --connection-file $ZT_TMP/m/client.json" &&
	wait_for 60 "test \$(live) = 2" &&
	expect_eq "relays" 1 "$(relays | wc -l)" &&
	zt_timeout 30 "$ZPAR" cluster stop --dir "$ZT_TMP/m" >/dev/null 2>&1 &&
	wait_for 30 "test -z \"\$(relays)\""
'

test_expect_success 'a bad --relay is refused' '
	"$ZPAR" cluster start -n 2 --dir "$ZT_TMP/b" --relay sometimes >bad.out 2>&1
	expect_eq "exit status" 2 $? &&
	expect_grep "say auto, always or never" bad.out
'

test_done
