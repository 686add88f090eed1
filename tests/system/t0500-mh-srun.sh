#!/bin/sh
# t0500-mh-srun: `srun -N 4 -n 8 zpar run -- zpar px hostname` on 4 real
# hosts (tests/lib/netns-bed.sh: network namespaces on a bridge, a real Slurm
# across them): the controller (rank 0) on one host, 7 engines on the 4
# hosts, every engine answers px with its own host's name, over the bridge
# (with the default relays on the hosts of 2 engines, and with --relay never).
# The first checks test the bed itself (names, addresses, Slurm, mpirun
# through the rsh agent, a partition cuts a host off and heal brings it back,
# kill and poweroff of a host, revive).
LIBDIR=$(cd "$(dirname "$0")/../lib" && pwd)
. "$LIBDIR/sharness-lite.sh"
zt_require_zpar
. "$LIBDIR/netns-bed.sh"
bed_up 4 --slurm

# reach HOST PORT from host FROM (bash's /dev/tcp; 1 s at most)
reach () {
    bed_on "$1" timeout 1 bash -c "exec 3<>/dev/tcp/$2/$3" 2>/dev/null
}

test_expect_success 'bed: 4 hosts with their own names, addresses and /etc/hosts' '
	for h in $BED_HOSTS; do
		expect_eq "hostname of $h" "$h" "$(bed_on $h hostname)" &&
		expect_eq "address of $h" "$(bed_ip $h)" \
			"$(bed_on $h ip -4 -o addr show dev eth0 | awk "{ sub(\"/.*\", \"\", \$4); print \$4 }")" &&
		expect_eq "h3 seen from $h" "$(bed_ip h3)" "$(bed_on $h getent hosts h3 | awk "{ print \$1 }")" ||
		return 1
	done &&
	expect_eq "head" "$(bed_ip head)" "$(bed_on h1 getent hosts head | awk "{ print \$1 }")" &&
	expect_eq "hostname of head" head "$(bed_on head hostname)"
'

test_expect_success 'bed: Slurm runs a step on the 4 hosts, mpirun --hostfile too' '
	zt_timeout 30 srun -N 4 -n 8 hostname | sort | uniq -c >srun.out &&
	cat srun.out && expect_eq "srun hosts" "h1 h2 h3 h4" "$(awk "\$1 == 2 { print \$2 }" srun.out | tr "\n" " " | sed "s/ \$//")" &&
	zt_timeout 30 mpirun --hostfile "$(bed_hostfile)" -n 8 hostname | sort | uniq -c >mpirun.out &&
	cat mpirun.out && expect_eq "mpirun hosts" "h1 h2 h3 h4" "$(awk "\$1 == 2 { print \$2 }" mpirun.out | tr "\n" " " | sed "s/ \$//")"
'

test_expect_success 'bed: a partitioned host is cut off from all, heal brings it back' '
	reach h2 h3 6818 && reach h2 head "$BED_CTLD_PORT" &&
	bed_fault partition h3 &&
	! reach h2 h3 6818 && ! reach h3 head "$BED_CTLD_PORT" &&
	reach h2 h4 6818 &&
	bed_fault heal h3 &&
	wait_for 10 "reach h2 h3 6818"
'

test_expect_success 'bed: kill leaves a host without any process, revive restarts its slurmd' '
	bed_on h4 sleep 300 &
	wait_for 10 "bed_procs \"sleep 300\" | grep -q \"^h4:\"" &&
	bed_fault kill h4 &&
	expect_eq "processes on h4" "" "$(ip netns pids $BED_PREFIX-h4)" &&
	{ bed_on h2 timeout 2 bash -c "exec 3<>/dev/tcp/h4/6818" 2>/dev/null; rc=$?; } &&
	expect_eq "connect to the killed slurmd (refused at once, not silence)" 1 $rc &&
	bed_fault revive h4 &&
	zt_timeout 30 srun -N 4 -n 4 hostname | sort | tr "\n" " " >revived.out &&
	expect_eq "hosts" "h1 h2 h3 h4 " "$(cat revived.out)"
'

test_expect_success 'bed: poweroff leaves a host silent and without processes, revive brings it back' '
	bed_on h3 sleep 300 &
	wait_for 10 "bed_procs \"sleep 300\" | grep -q \"^h3:\"" &&
	bed_fault poweroff h3 &&
	expect_eq "processes on h3" "" "$(ip netns pids $BED_PREFIX-h3)" &&
	{ bed_on h2 timeout 1 bash -c "exec 3<>/dev/tcp/h3/6818" 2>/dev/null; rc=$?; } &&
	expect_eq "connect to the powered-off host (silence: timeout)" 124 $rc &&
	bed_fault revive h3 &&
	zt_timeout 30 srun -N 4 -n 4 hostname | sort | tr "\n" " " >revived3.out &&
	expect_eq "hosts" "h1 h2 h3 h4 " "$(cat revived3.out)"
'

test_expect_success 'srun -N 4 -n 8 zpar run -- zpar px hostname: engines on 4 distinct hosts answer' '
	zt_timeout 60 srun -N 4 -n 8 "$ZPAR" run -- "$ZPAR" px hostname >px.out 2>px.err;
	rc=$?; cat px.out px.err;
	expect_eq "exit" 0 $rc &&
	expect_eq "answers" 7 "$(grep -c "^\[e[0-9]*\] h[1-4]\$" px.out)" &&
	expect_eq "distinct hosts" "h1 h2 h3 h4" "$(sed -n "s/^\[e[0-9]*\] //p" px.out | sort -u | tr "\n" " " | sed "s/ \$//")" &&
	expect_eq "engine ids" "1 2 3 4 5 6 7" "$(sed -n "s/^\[e\([0-9]*\)\] .*/\1/p" px.out | sort -n | tr "\n" " " | sed "s/ \$//")"
'

test_expect_success 'the same with --relay never: every engine connects to the controller itself' '
	zt_timeout 60 srun -N 4 -n 8 "$ZPAR" run --relay never -- "$ZPAR" px hostname >pxn.out 2>pxn.err;
	rc=$?; cat pxn.out pxn.err;
	expect_eq "exit" 0 $rc &&
	expect_eq "answers" 7 "$(grep -c "^\[e[0-9]*\] h[1-4]\$" pxn.out)" &&
	expect_eq "distinct hosts" "h1 h2 h3 h4" "$(sed -n "s/^\[e[0-9]*\] //p" pxn.out | sort -u | tr "\n" " " | sed "s/ \$//")"
'

test_expect_success 'the cluster the engines joined is on the bridge, not loopback' '
	zt_timeout 60 srun -N 4 -n 8 "$ZPAR" run -- sh -c "cat \"\$ZPAR_CONNECTION_FILE\"" >conn.json 2>conn.err;
	rc=$?; cat conn.json conn.err;
	expect_eq "exit" 0 $rc &&
	grep -q "tcp://$BED_NET\." conn.json && ! grep -q "tcp://127\." conn.json
'

test_done
