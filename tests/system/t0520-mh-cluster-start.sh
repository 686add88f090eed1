#!/bin/sh
# t0520-mh-cluster-start: `zpar cluster start --launcher slurm -n 8 -- -N 4`
# run on the head of 4 real hosts (tests/lib/netns-bed.sh; 3 CPUs declared
# per host, as the job has 9 tasks: the controller and 8 engines; "-N 4"
# goes to sbatch).  Checks: the job spans the 4 hosts; `zpar px hostname`
# from the head gets an answer from each of the 8 engines, from every host
# of the job; `zpar cluster stop` ends the job and leaves no zpar process on
# any host.
LIBDIR=$(cd "$(dirname "$0")/../lib" && pwd)
. "$LIBDIR/sharness-lite.sh"
zt_require_zpar
. "$LIBDIR/netns-bed.sh"
BED_CPUS=3
bed_up 4 --slurm
C=$ZT_TMP/c

test_expect_success 'zpar cluster start --launcher slurm -n 8 -- -N 4 on the head: a job on the 4 hosts' '
	zt_timeout 90 "$BED_DIR/bin/on" head "$ZPAR" cluster start --launcher slurm -n 8 \
		--dir "$C" --timeout 60 -- -N 4 >start.out 2>start.err;
	rc=$?; cat start.out start.err; expect_eq "exit" 0 $rc &&
	J=$(awk "{ print \$2; exit }" "$C/launcher") && echo "job $J" &&
	scontrol show hostnames "$(squeue -h -j "$J" -o %N)" >job.hosts && cat job.hosts &&
	expect_eq "hosts of the job" 4 "$(wc -l <job.hosts)"
'

test_expect_success 'zpar px hostname from the head: 8 engines answer, from every host of the job' '
	zt_timeout 30 "$BED_DIR/bin/on" head "$ZPAR" --connection-file "$C/client.json" px hostname \
		>px.out 2>px.err;
	rc=$?; cat px.out px.err; expect_eq "exit" 0 $rc &&
	expect_eq "answers" 8 "$(grep -c "^\[e[0-9]*\] h[1-4]\$" px.out)" &&
	expect_eq "hosts" "$(sort job.hosts | tr "\n" " ")" \
		"$(sed -n "s/^\[e[0-9]*\] //p" px.out | sort -u | tr "\n" " ")"
'

test_expect_success 'zpar cluster stop ends the job, no zpar process left on the hosts' '
	zt_timeout 60 "$BED_DIR/bin/on" head "$ZPAR" cluster stop --dir "$C" &&
	wait_for 30 "! squeue -h -j $J 2>/dev/null | grep -q ." &&
	wait_for 15 "test -z \"\$(bed_procs \"$ZPAR\")\"" || { bed_procs "$ZPAR"; return 1; }
'

test_done
