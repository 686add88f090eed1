#!/bin/sh
# t0398-node-memory: memory: requests never add up to more than a node
# has (src/engine/engine_res.h; sched_gang.c).  The node's memory here is
# the Slurm job's (SLURM_MEM_PER_NODE=400, in MiB, as a job with --mem
# would set it; smaller than any machine or cgroup), and tasks ask for
# 300 MiB each, so two at once would over-commit it:
#   - zpar cluster start -n 2: each engine reports half the node (200
#     MiB), so a 300 MiB task holds both engines: the tasks run one by one;
#   - two engines started apart (each takes the whole node, 400 MiB, for
#     its share): the scheduler still runs one 300 MiB task at a time on
#     the node, and a task asking more than the node fails at once.
# Each task writes when it ran; no two of these intervals may overlap.
LIBDIR=$(cd "$(dirname "$0")/../lib" && pwd)
. "$LIBDIR/sharness-lite.sh"
zt_require_zpar
"$ZPAR" submit --help 2>&1 | grep -q -- "--memory" || skip_all "no zpar submit --memory"

z () { zt_timeout 120 "$ZPAR" "$@"; }
# shellcheck disable=SC2016
show='s=$(date +%s.%N); sleep 1; e=$(date +%s.%N); echo "$s $e $ZPAR_ENGINE_ID" >>"$RUNS"'

# run3 NAME: three 300 MiB tasks; their intervals into NAME.runs
run3 () {
	RUNS=$ZT_TMP/$1.runs && export RUNS && : >"$RUNS" && : >$1.ids &&
	for i in 1 2 3; do
		z submit --memory 300M --env RUNS="$RUNS" -- sh -c "$show" >>$1.ids || return 1
	done &&
	z wait --timeout 100 $(cat $1.ids) && cat "$RUNS" &&
	expect_eq "tasks run" 3 "$(wc -l <"$RUNS")"
}

# overlaps FILE: how many tasks started before the one before them ended
overlaps () {
	sort -n "$1" | awk 'NR > 1 && $1 < end { n++ } { end = $2 } END { print n + 0 }'
}

test_expect_success 'zpar cluster start -n 2: each engine reports half the node' '
	SLURM_MEM_PER_NODE=400 && export SLURM_MEM_PER_NODE && zt_cluster_start 2 &&
	unset SLURM_MEM_PER_NODE &&
	run3 local && expect_eq "tasks running at once beyond the node" 0 "$(overlaps "$ZT_TMP/local.runs")" &&
	zt_cluster_stop
'

D2=$ZT_TMP/apart
test_expect_success 'two engines started apart, each saying the whole node: one task at a time' '
	zt_controller "$D2" &&
	zt_spawn e1 env SLURM_MEM_PER_NODE=400 "$ZPAR" engine --connection-file "$D2/engine.json" &&
	zt_spawn e2 env SLURM_MEM_PER_NODE=400 "$ZPAR" engine --connection-file "$D2/engine.json" &&
	wait_for 30 "z status 2>/dev/null | grep -q \"2 idle\"" &&
	run3 apart && expect_eq "tasks running at once beyond the node" 0 "$(overlaps "$ZT_TMP/apart.runs")"
'

test_expect_success 'a task asking more than the node fails at once, saying so' '
	! z submit --wait --memory 500M -- true >big.out 2>&1;
	cat big.out && expect_grep "largest node has 419430400" big.out
'

test_done
