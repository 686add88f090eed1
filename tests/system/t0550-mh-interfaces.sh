#!/bin/sh
# t0550-mh-interfaces: hosts with interfaces the others cannot reach
# (tests/lib/netns-bed.sh, 4 hosts, no Slurm).  On top of the bed:
#   h1  (where rank 0, the controller, runs) lists first an address no other
#       host can reach: 10.99.0.1/24, added to its eth0 before the bed's
#       address; an eth1 on a second bridge that only h1 and h2 share
#       (10.98.0.0/24); a container-style bridge docker0 172.31.0.1/16 with
#       one container; and ib0 10.97.0.1/24, up but without a carrier
#       (its other end is down: never a candidate)
#   h2  eth1 10.98.0.2/24 on that second bridge
#   h3  docker0 172.31.0.1/16 too: the same address as h1's (as on every
#       node of a site with docker)
#   h4  mgmt0 10.99.0.4/24: the same subnet as h1's first address, but no
#       wire to it (a management network that reaches other hosts, not h1)
# Candidates are the addresses of interfaces up with a carrier (ib0 is not
# one).  Checks: under mpirun --hostfile, `zpar run` with its default options has
# every engine register (7 of 7, on the 4 hosts; before the candidate
# addresses the controller advertised 10.99.0.1 and only h1's engine
# registered), the controller putting first the address that routes to the
# nodes PMIx names; a controller that knows no node lists 10.99.0.1 first,
# and h4's engine, which shares that subnet, tries it and then the next and
# registers; a controller told the job's nodes (SLURM_JOB_NODELIST)
# advertises the address that routes to them first; ZPAR_INTERFACE on an
# engine chooses the second bridge, and one that cannot reach it gives up
# with an error naming the address it tried; --interface on the controller
# side (zpar run --interface eth1; mpirun told not to end the job at the
# first rank that fails, so that each says why) leaves the hosts off that network out
# and their engines say which address they tried; ZPAR_INTERFACE on a
# controller keeps its addresses on that network only; an unknown
# interface is a clear error at start.
LIBDIR=$(cd "$(dirname "$0")/../lib" && pwd)
. "$LIBDIR/sharness-lite.sh"
zt_require_zpar
. "$LIBDIR/netns-bed.sh"
command -v mpirun >/dev/null 2>&1 || skip_all "no mpirun (Open MPI)"
zt_find_testclient || skip_all "no zpar-testclient in the build tree"
bed_up 4
ON=$BED_DIR/bin/on

NS1=$BED_PREFIX-h1
NS2=$BED_PREFIX-h2
B2=$BED_PREFIX-b2
H1=$(bed_ip h1)
HF=$(bed_hostfile)

# the extra interfaces are named with the bed's prefix or live inside its
# namespaces: bed_down removes them with the bed

# inner_bridge HOST NAME ADDR/P: a bridge inside HOST with one port (a veth
# whose other end stays there: a container), so that it has a carrier
inner_bridge () {
	ip -n "$BED_PREFIX-$1" link add "$2" type bridge stp_state 0 forward_delay 0 &&
	ip -n "$BED_PREFIX-$1" addr add "$3" dev "$2" &&
	ip -n "$BED_PREFIX-$1" link add "$2p" type veth peer name "$2c" &&
	ip -n "$BED_PREFIX-$1" link set "$2p" master "$2" up &&
	ip -n "$BED_PREFIX-$1" link set "$2c" up && ip -n "$BED_PREFIX-$1" link set "$2" up
}

# reach HOST ADDR: HOST reaches ADDR (a TCP connection refused: the host
# answered), within 2 s
reach () {
	"$ON" "$1" timeout 2 bash -c "exec 3<>/dev/tcp/$2/9" 2>&1 | grep -q refused
}

# engines_of FILE [HOST]: the hosts of the engines that registered, one a
# line, from the client's list (the client on HOST, default head)
engines_of () {
	zt_timeout 10 "$ON" "${2:-head}" env ZPAR_CONNECTION_FILE="$1" "$TESTCLIENT" engines 2>/dev/null |
		awk "\$1 == \"engine\" && !/state=dead/ { for (i = 2; i <= NF; i++) if (\$i ~ /^host=/) print substr(\$i, 6) }" |
		sort
}

test_expect_success 'extra interfaces: h1 lists an address nobody reaches first' '
	ip -n "$NS1" addr flush dev eth0 &&
	ip -n "$NS1" addr add 10.99.0.1/24 dev eth0 &&
	ip -n "$NS1" addr add "$H1/24" dev eth0 &&
	ip link add "$B2" type bridge stp_state 0 forward_delay 0 && ip link set "$B2" up &&
	ip link add "$BED_PREFIX-w1" type veth peer name eth1 netns "$NS1" &&
	ip link add "$BED_PREFIX-w2" type veth peer name eth1 netns "$NS2" &&
	ip link set "$BED_PREFIX-w1" master "$B2" up && ip link set "$BED_PREFIX-w2" master "$B2" up &&
	ip -n "$NS1" addr add 10.98.0.1/24 dev eth1 && ip -n "$NS1" link set eth1 up &&
	ip -n "$NS2" addr add 10.98.0.2/24 dev eth1 && ip -n "$NS2" link set eth1 up &&
	inner_bridge h1 docker0 172.31.0.1/16 && inner_bridge h3 docker0 172.31.0.1/16 &&
	inner_bridge h4 mgmt0 10.99.0.4/24 &&
	ip -n "$NS1" link add ib0 type veth peer name ib0p && ip -n "$NS1" addr add 10.97.0.1/24 dev ib0 &&
	ip -n "$NS1" link set ib0 up &&
	bed_on h1 ip link show ib0 | grep -q NO-CARRIER &&
	bed_on h1 ip -4 -o addr show >h1.addrs && cat h1.addrs &&
	expect_eq "first address of h1" 10.99.0.1 \
		"$(awk "\$2 != \"lo\" { sub(\"/.*\", \"\", \$4); print \$4; exit }" h1.addrs)" &&
	wait_for 10 "reach h2 10.98.0.1" && reach h1 "$(bed_ip h4)" &&
	! reach h2 10.99.0.1 && ! reach h4 10.99.0.1 && ! reach h3 10.98.0.1
'

test_expect_success 'zpar run under mpirun --hostfile, default options: every engine registers' '
	zt_timeout 80 mpirun --hostfile "$HF" -n 8 "$ZPAR" run --wait-timeout 30 -- \
		sh -c "\"$TESTCLIENT\" engines; cat \"\$ZPAR_CONNECTION_FILE\"" >run1.out 2>run1.err;
	rc=$?; cat run1.out run1.err;
	n=$(grep -c "^engine .*host=h[1-4]" run1.out);
	echo "engines registered: $n of 7";
	expect_eq "exit" 0 $rc && expect_eq "engines" 7 "$n" &&
	expect_eq "hosts" "h1 h2 h3 h4" "$(sed -n "s/.*host=\(h[1-4]\).*/\1/p" run1.out | sort -u | tr "\n" " " | sed "s/ \$//")" &&
	expect_grep "\"candidates\": \"$H1/24@eth0,10.99.0.1/24@eth0,10.98.0.1/24@eth1,172.31.0.1/16@docker0\"" run1.out
'

D=$ZT_TMP/ctl
test_expect_success 'a controller that knows no node lists its addresses in order; an engine skips the first' '
	mkdir -p "$D.0" &&
	zt_spawn ctl0 "$ON" h1 env -u ZPAR_NODES "$ZPAR" controller --ip "*" --dir "$D.0" &&
	wait_for 20 "test -s $D.0/engine.json" && cat "$D.0/engine.json" &&
	expect_grep "\"candidates\": \"10.99.0.1/24@eth0,$H1/24@eth0,10.98.0.1/24@eth1,172.31.0.1/16@docker0\"" "$D.0/engine.json" &&
	zt_spawn e40 "$ON" h4 "$ZPAR" engine --connection-file "$D.0/engine.json" &&
	wait_for 30 "grep -q \"registered as engine\" e40.err" && cat e40.err &&
	expect_grep "registering with the controller at tcp://10.99.0.1:[0-9]+ \\(on a subnet shared with 10.99.0.4/24@mgmt0; the others in turn" e40.err &&
	zt_timeout 20 "$ON" h1 env ZPAR_CONNECTION_FILE="$D.0/client.json" "$ZPAR" stop &&
	wait_for 20 "! zt_alive $ZT_PID_ctl0 && ! zt_alive $ZT_PID_e40"
'

test_expect_success 'a controller told the nodes (SLURM_JOB_NODELIST) advertises the route to them' '
	mkdir -p "$D" &&
	zt_spawn ctl bed_on h1 env SLURM_JOB_NODELIST="h[1-4]" "$ZPAR" controller --ip "*" --dir "$D" &&
	wait_for 20 "test -s $D/engine.json" && cat "$D/engine.json" ctl.err &&
	expect_grep "\"registration\": \"tcp://$H1:" "$D/engine.json" &&
	expect_grep "\"candidates\": \"$H1/24@eth0," "$D/engine.json" &&
	expect_grep "advertising $H1 \\(the route to 3 of 3 other nodes \\(SLURM_JOB_NODELIST\\)\\)" ctl.err
'

test_expect_success 'ZPAR_INTERFACE on engines: h2 by the second bridge; h3, off it, names what it tried' '
	zt_spawn e4 bed_on h4 "$ZPAR" engine --connection-file "$D/engine.json" &&
	zt_spawn e2 bed_on h2 env ZPAR_INTERFACE=eth1 "$ZPAR" engine --connection-file "$D/engine.json" &&
	zt_timeout 30 "$ON" h3 env ZPAR_INTERFACE=10.98.0.0/24 "$ZPAR" engine --register-timeout 4 \
		--connection-file "$D/engine.json" >e3.out 2>e3.err;
	rc=$?; cat e3.err;
	expect_eq "h3 engine exit (unreachable)" 3 $rc &&
	expect_grep "error: no answer from the controller within 4.0 s at tcp://10.98.0.1:[0-9]+" e3.err &&
	wait_for 20 "test \"\$(engines_of $D/client.json | tr \"\n\" \" \")\" = \"h2 h4 \"" &&
	cat e2.err e4.err &&
	expect_grep "registering with the controller at tcp://10.98.0.1:[0-9]+ \\(on the subnet of eth1" e2.err &&
	expect_grep "registering with the controller at tcp://$H1:" e4.err
'

test_expect_success 'the controller stops cleanly' '
	ZPAR_CONNECTION_FILE=$D/client.json zt_timeout 20 "$ZPAR" stop &&
	wait_for 20 "! zt_alive $ZT_PID_ctl && ! zt_alive $ZT_PID_e2 && ! zt_alive $ZT_PID_e4"
'

test_expect_success 'zpar run --interface eth1 --relay never: the hosts off it name the address they tried' '
	zt_timeout 80 mpirun --mca orte_abort_on_non_zero_status 0 --hostfile "$HF" -n 8 "$ZPAR" run --relay never --interface eth1 --wait-timeout 8 -- \
		true >run2.out 2>&1;
	cat run2.out;
	expect_grep "only 3 of 7 engines registered" run2.out &&
	expect_eq "engines that gave up" 4 \
		"$(grep -c "engine: no answer from the controller within 6.0 s at tcp://10.98.0.1:[0-9]*" run2.out)"
'

test_expect_success 'the same through the nodes'"'"' relays: the output names the address tried' '
	zt_timeout 80 mpirun --mca orte_abort_on_non_zero_status 0 --hostfile "$HF" -n 8 "$ZPAR" run --relay always --interface eth1 --wait-timeout 8 -- \
		true >run2r.out 2>&1;
	cat run2r.out;
	expect_grep "only 3 of 7 engines registered" run2r.out &&
	expect_grep "tcp://10.98.0.1:[0-9]+" run2r.out
'

test_expect_success 'ZPAR_INTERFACE on a controller: its addresses on that network only' '
	mkdir -p "$D.2" &&
	zt_spawn ctl2 bed_on h1 env ZPAR_INTERFACE=10.98.0.0/16 "$ZPAR" controller --dir "$D.2" &&
	wait_for 20 "test -s $D.2/engine.json" && cat "$D.2/engine.json" &&
	expect_grep "\"registration\": \"tcp://10.98.0.1:" "$D.2/engine.json" &&
	expect_grep "\"candidates\": \"10.98.0.1/24@eth1\"" "$D.2/engine.json" &&
	zt_timeout 20 "$ON" h1 env ZPAR_CONNECTION_FILE="$D.2/client.json" "$ZPAR" stop &&
	wait_for 20 "! zt_alive $ZT_PID_ctl2"
'

test_expect_success 'zpar cluster start --interface: the local controller publishes that one' '
	zt_timeout 60 "$ON" h2 "$ZPAR" cluster start -n 1 --interface eth1 --dir "$D.3" >cs.out 2>&1;
	rc=$?; cat cs.out;
	expect_eq "start" 0 $rc &&
	expect_grep "\"candidates\": \"10.98.0.2/24@eth1\"" "$D.3/client.json" &&
	expect_eq "engines" "h2" "$(engines_of "$D.3/client.json" h2 | tr "\n" " " | sed "s/ \$//")" &&
	zt_timeout 30 "$ON" h2 "$ZPAR" cluster stop --dir "$D.3"
'

test_expect_success 'an unknown interface is a clear error at start' '
	zt_timeout 60 mpirun --hostfile "$HF" -n 4 "$ZPAR" run --interface eth7 --wait-timeout 20 -- \
		true >run3.out 2>&1;
	rc=$?; cat run3.out;
	test $rc != 0 &&
	expect_grep "controller failed: --interface eth7: no interface of this host matches eth7 \\(this host has: 10.99.0.1/24@eth0, $H1/24@eth0" run3.out
'

test_expect_success 'nothing of ours is left on the hosts' '
	expect_eq "zpar processes" "" "$(bed_procs "$ZPAR")"
'

test_done
