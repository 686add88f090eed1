#!/bin/sh
# t0995-partition: the partition test, on hosts made of network namespaces.
#
# The test builds its own test bed (the network part of
# /work/shared/recipes/netns-cluster, without Slurm): a bridge with the
# address .1 of a private /24 in the root namespace, and two hosts, network
# namespaces each with one veth port on the bridge (.11, .12).  The
# controller runs in the root namespace bound to the bridge address (--ip:
# it advertises that address in engine.json), one engine on each host (with
# the host's own name: a UTS namespace, so the controller does not take it
# for a process of its own host), so every heartbeat and task crosses the
# bridge.  The bed is torn down by the
# EXIT trap (processes first, then veths, namespaces, bridge).  Skipped,
# with the reason, when not root or the kernel refuses namespaces.
#
# The test: two command tasks run, one on each engine; host A is cut off
# (its bridge port stops forwarding: a silent drop, like a pulled cable)
# for 10 s while its task runs, then healed.  Checks: the controller
# declares A's engine dead; A's task is retried on B; after the heal A's
# engine registers again and 8 new tasks go partly to it; every task has
# one result (the hub counts 10 completed for 10 tasks, A's stale result
# for the task B ran is not the one recorded, and zpar status counts at
# least one duplicate dropped); the cut-off task did its side effect once
# (A's engine, hearing nothing, fenced it: doc/engine.md).
#
# Checks named in tests/netns/known-failing are expected failures (TAP
# "# TODO") until their fix lands; a TODO check that passes is reported as
# an unexpected pass, which fails the suite: then remove its line there.
. "$(cd "$(dirname "$0")/.." && pwd)/lib/sharness-lite.sh"
zt_require_zpar

[ "$(id -u)" = 0 ] || skip_all "needs root (network namespaces, a bridge)"
for c in ip bridge nsenter unshare; do
    command -v $c >/dev/null 2>&1 || skip_all "no $c program (iproute2, util-linux)"
done

# names unique to this run: interface names have at most 15 characters
NT=zt$(($$ % 100000))
NET=10.253.$(($$ % 250 + 1))
BR=${NT}b
NS_A=${NT}a NS_B=${NT}c
V_A=${NT}va V_B=${NT}vb
CTL_IP=$NET.1

netns_down () {
    for ns in $NS_A $NS_B; do
        # our processes inside the host (they carry our marker)
        for p in $(ip netns pids "$ns" 2>/dev/null); do
            zt_is_ours "$p" && kill -KILL "$p" 2>/dev/null
        done
    done
    bridge link set dev "$V_A" state 3 2>/dev/null
    ip link del "$V_A" 2>/dev/null
    ip link del "$V_B" 2>/dev/null
    ip netns del "$NS_A" 2>/dev/null
    ip netns del "$NS_B" 2>/dev/null
    ip link del "$BR" 2>/dev/null
    return 0
}
trap 'zt_nrc=$?; netns_down; (exit $zt_nrc); zt_cleanup' EXIT

if ! ip netns add "$NS_A" 2>netns.err; then
    skip_all "the kernel refuses network namespaces: $(cat netns.err)"
fi
if ! { ip link add "$BR" type bridge stp_state 0 forward_delay 0 &&
    ip addr add "$CTL_IP/24" dev "$BR" && ip link set "$BR" up &&
    ip netns add "$NS_B" &&
    ip link add "$V_A" type veth peer name eth0 netns "$NS_A" &&
    ip link add "$V_B" type veth peer name eth0 netns "$NS_B" &&
    ip link set "$V_A" master "$BR" up && ip link set "$V_B" master "$BR" up &&
    ip -n "$NS_A" addr add "$NET.11/24" dev eth0 && ip -n "$NS_B" addr add "$NET.12/24" dev eth0 &&
    ip -n "$NS_A" link set lo up && ip -n "$NS_B" link set lo up &&
    ip -n "$NS_A" link set eth0 up && ip -n "$NS_B" link set eth0 up; } 2>netns.err; then
    skip_all "cannot build the namespace hosts (bridge, veth): $(cat netns.err)"
fi

known=$(sed 's/#.*//' "$srcdir/tests/netns/known-failing" 2>/dev/null | awk 'NF == 1 { printf " %s", $1 }')
sometimes=$(sed 's/#.*//' "$srcdir/tests/netns/known-failing" 2>/dev/null |
    awk '$2 == "sometimes" { printf " %s", $1 }')
# test_expect_known KEY 'description' 'body': test_expect_success, but an
# expected failure (TAP TODO) while KEY is listed in known-failing ("KEY
# sometimes": TODO only when it fails)
test_expect_known () {
    case " $known $sometimes " in
    *" $1 "*) ;;
    *)
        test_expect_success "$2" "$3"
        return
        ;;
    esac
    zt_count=$((zt_count + 1))
    todo="# TODO known failing on main (tests/netns/known-failing: $1)"
    if zt_run_body "$3"; then
        zt_passed=$((zt_passed + 1))
        case " $known " in
        *" $1 "*) echo "ok $zt_count - $2 $todo" ;;
        *) echo "ok $zt_count - $2" ;;
        esac
    else
        echo "not ok $zt_count - $2 $todo"
        [ "$zt_verbose" = 1 ] || tail -n 30 "$ZT_LOG" | sed 's/^/# /'
    fi
}

# how host A is cut off: its bridge port stops forwarding (port, the
# default), or its link goes down (link: the peers' TCP sees the link come
# back differently, see the recipe); ZPAR_PARTITION_MODE=link to try it
mode=${ZPAR_PARTITION_MODE:-port}
cut_a () {
    if [ "$mode" = link ]; then ip link set "$V_A" down; else bridge link set dev "$V_A" state 0; fi
}
heal_a () {
    if [ "$mode" = link ]; then
        ip link set "$V_A" up && ip -n "$NS_A" link set eth0 up || return 1
        i=0
        while [ $i -lt 20 ] && ! bridge link set dev "$V_A" state 3 2>/dev/null; do
            sleep 0.1
            i=$((i + 1))
        done
    fi
    bridge link set dev "$V_A" state 3
}

export ZPAR_HB_PERIOD_MS=500 ZPAR_HB_MISSES=3
D=$ZPAR_DIR/part
SIDE=$ZT_TMP/side
: >"$SIDE"

# the engine id of the engine whose pid is $1 (from zpar status --json)
engine_id_of () {
    zt_timeout 10 "$ZPAR" status --json 2>/dev/null | tr '{' '\n' |
        sed -n "s/.*\"id\":\\([0-9]*\\),.*\"pid\":$1,.*/\\1/p" | head -n 1
}
# the state of engine $1 (idle, busy, dead)
engine_state () {
    zt_timeout 10 "$ZPAR" status --json 2>/dev/null | tr '{' '\n' |
        sed -n "s/^\"id\":$1,.*\"state\":\"\\([a-z]*\\)\".*/\\1/p" | head -n 1
}
# a task labelled $1 that runs $2 s: its side effects are the lines
# "start LABEL ENGINEPID" and "end LABEL ENGINEPID" in $SIDE
submit_task () {
    zt_timeout 20 "$ZPAR" submit --retries 3 -- sh -c \
        "echo start \$0 \$PPID >>$SIDE; sleep $2; echo end \$0 \$PPID >>$SIDE; echo \$0" "$1"
}

test_expect_success 'a controller on the bridge address, one engine on each of two hosts' '
	zt_controller "$D" --ip "$CTL_IP" &&
	grep -q "$CTL_IP" "$D/engine.json" &&
	zt_spawn engine-a nsenter --net=/run/netns/$NS_A unshare --uts sh -c "hostname $NS_A && exec \"\$0\" engine --connection-file \"\$1\"" "$ZPAR" "$D/engine.json" &&
	echo $ZT_LAST_PID >pid.a &&
	zt_spawn engine-b nsenter --net=/run/netns/$NS_B unshare --uts sh -c "hostname $NS_B && exec \"\$0\" engine --connection-file \"\$1\"" "$ZPAR" "$D/engine.json" &&
	echo $ZT_LAST_PID >pid.b &&
	wait_for 30 "zt_timeout 10 $ZPAR status 2>/dev/null | grep -q \"^engines: 2 (2 idle\"" &&
	engine_id_of $(cat pid.a) >id.a && engine_id_of $(cat pid.b) >id.b &&
	test -s id.a && test -s id.b &&
	echo "engine A: id $(cat id.a) pid $(cat pid.a) in $NS_A; engine B: id $(cat id.b) pid $(cat pid.b) in $NS_B"
'

test_expect_success 'two tasks run, one on each host' '
	submit_task t1 6 >task.1 && submit_task t2 6 >task.2 &&
	wait_for 20 "grep -c ^start $SIDE | grep -qx 2" &&
	grep -q "^start [a-z0-9]* $(cat pid.a)\$" $SIDE && grep -q "^start [a-z0-9]* $(cat pid.b)\$" $SIDE &&
	sed -n "s/^start \\([a-z0-9]*\\) $(cat pid.a)\$/\\1/p" $SIDE >label.a &&
	cat $SIDE
'

test_expect_success "host A is cut off mid-task ($mode): its engine is declared dead" '
	date +%s%3N >cut.ms &&
	cut_a &&
	wait_for 9 "test \"\$(engine_state $(cat id.a))\" = dead" &&
	echo "partition: engine A declared dead $(($(date +%s%3N) - $(cat cut.ms))) ms after the cut" | tee -a $ZT_TMP/figures
'

test_expect_success 'its task is retried on the engine of host B' '
	wait_for 9 "grep -q \"^start $(cat label.a) $(cat pid.b)\$\" $SIDE" &&
	cat $SIDE
'

test_expect_known re-register 'the heal after 10 s: engine A registers again' '
	now=$(date +%s%3N) && left=$((10000 - (now - $(cat cut.ms)))) &&
	if [ $left -gt 0 ]; then sleep $(awk -v l=$left "BEGIN { print l / 1000 }"); fi &&
	heal_a &&
	date +%s%3N >heal.ms &&
	zt_alive $(cat pid.a) &&
	wait_for 30 "s=\$(engine_state $(cat id.a)); test \"\$s\" = idle || test \"\$s\" = busy" &&
	echo "partition: engine A alive again $(($(date +%s%3N) - $(cat heal.ms))) ms after the heal" | tee -a $ZT_TMP/figures &&
	zt_timeout 10 $ZPAR status
'

test_expect_known stale-result 'the two tasks finish, each with one result: the one B ran for A'"'"'s task' '
	for t in $(cat task.1 task.2); do zt_timeout 60 $ZPAR wait --timeout 50 $t || return 1; done &&
	zt_timeout 20 $ZPAR result --json $(cat task.1) >r1.json &&
	zt_timeout 20 $ZPAR result --json $(cat task.2) >r2.json &&
	cat r1.json r2.json &&
	if [ "$(cat label.a)" = t1 ]; then ra=r1.json; else ra=r2.json; fi &&
	expect_eq "engine of the retried task" "$(cat id.b)" "$(zt_json_num $ra engine)"
'

test_expect_known new-tasks 'after the heal, 8 new tasks: some go to engine A' '
	: >task.new &&
	for i in 1 2 3 4 5 6 7 8; do submit_task n$i 1 >>task.new || return 1; done &&
	for t in $(cat task.new); do zt_timeout 60 $ZPAR wait --timeout 50 $t || return 1; done &&
	na=$(grep -c "^end n[0-9] $(cat pid.a)\$" $SIDE) &&
	nb=$(grep -c "^end n[0-9] $(cat pid.b)\$" $SIDE) &&
	echo "partition: new tasks after the heal: $na on engine A, $nb on engine B" | tee -a $ZT_TMP/figures &&
	test "$na" -gt 0
'

test_expect_known completed-twice 'no duplicate result: 10 tasks, 10 completed, each new task ran once' '
	zt_timeout 10 $ZPAR status >status.txt && cat status.txt &&
	echo "partition: $(grep "^tasks:" status.txt)" >>$ZT_TMP/figures &&
	echo "partition: runs of the cut-off task: $(grep -c "^end $(cat label.a) " $SIDE) (2 before fencing: its engine finished it during the cut)" >>$ZT_TMP/figures &&
	expect_grep "^tasks: 0 pending, 0 running, 10 completed, 0 failed" status.txt &&
	dup=$(sed -n "s/^duplicates dropped: \([0-9][0-9]*\).*/\1/p" status.txt) &&
	echo "partition: duplicates dropped ${dup:-?} (zpar status)" >>$ZT_TMP/figures &&
	stale=$(sed -n "s/^dropped messages: \([0-9][0-9]*\).*/\1/p" status.txt) &&
	echo "partition: dropped messages ${stale:-0} (a stale result that came on the old route after A registered again)" >>$ZT_TMP/figures &&
	test $((${dup:-0} + ${stale:-0})) -ge 1 &&
	for i in 1 2 3 4 5 6 7 8; do expect_eq "runs of n$i" 1 "$(grep -c "^end n$i " $SIDE)" || return 1; done
'

# fencing (doc/engine.md): engine A, cut off, hears nothing and its keeper
# kills the task before the controller's death limit; before fencing the
# task finished on A during the cut while B ran it again (2 runs)
test_expect_success 'the cut-off task did its side effect once (its engine fenced it)' '
	expect_eq "runs of the cut-off task" 1 "$(grep -c "^end $(cat label.a) " $SIDE)"
'

test_expect_success 'the cluster stops' '
	zt_timeout 30 $ZPAR stop &&
	wait_for 20 "! zt_alive $ZT_CONTROLLER_PID"
'

[ -s "$ZT_TMP/figures" ] && zt_diag "$(cat "$ZT_TMP/figures")"
test_done
