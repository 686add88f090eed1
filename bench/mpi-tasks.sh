#!/bin/sh
# bench/mpi-tasks.sh - MPI tasks per second: zpar's 2-rank MPI tasks
# against `srun -n 2` and `mpirun -n 2` in a loop, in the same allocation.
#
#   ZPAR_BUILD=build bench/mpi-tasks.sh [K]        (K tasks per run, default 20)
#
# As root: builds 2 hosts (tests/lib/netns-bed.sh: network namespaces on a
# bridge, a real Slurm across them, 2 CPUs each) and runs, in ONE batch job
# of both hosts, 3 repetitions of, back to back:
#   srun     K x `srun --overlap -N 2 -n 2 mpi-where` (one job step each)
#   mpirun   K x `mpirun --host h1,h2 -n 2 mpi-where`
#   runner   K 2-rank MPI tasks one after the other through an engine's
#            runner (tests/lib/mpi-task: what the leader engine does, with
#            srun --overlap, the rank map and zpar-rank; no controller)
#   zpar     a sweep of K points with `ranks: 2` on `srun -n 5 zpar run`
#            (a controller and 4 engines, 2 per host: 2 tasks at a time),
#            `zpar sweep run` timed from its start to its end (the cluster
#            is up before)
# mpi-where (tests/lib/mpi-where.c) is an MPI program that calls
# MPI_Allreduce once and prints a line per rank.  Tasks per second:
# min / median / max of the 3 repetitions, and each row's median against
# the srun loop's.  Engines run their tasks at nice 0 (ZPAR_TASK_NICE=0),
# like the loops: on a loaded machine the default nice 19 would measure
# the load, not zpar.  Wall-clock figures: take them on a quiet machine.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
build=${ZPAR_BUILD:-$top/build}
zpar=$build/zpar
where=$build/tests/lib/mpi-where
mpitask=$build/tests/lib/mpi-task
K=${1:-20}
for f in "$zpar" "$where" "$mpitask" "$build/zpar-rank"; do
    [ -x "$f" ] || { echo "mpi-tasks.sh: no $f (make -C $build check TESTS= first; needs MPI)" >&2; exit 2; }
done
[ "$(id -u)" = 0 ] || { echo "mpi-tasks.sh: needs root (the test bed's namespaces and Slurm)" >&2; exit 2; }

work=$(mktemp -d /tmp/zpar-mpi-tasks.XXXXXX)
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT

# the job: every row, 3 times; "ROW REP SECONDS" lines in $work/times
cat >"$work/job.sh" <<EOF
#!/bin/sh
now () { date +%s.%N; }
cd "$work"
export ZPAR_TASK_NICE=0 ZPAR_DIR="$work/zpar"
export ZPAR_MPI_RANK_WRAPPER="$build/zpar-rank"
: >times
for rep in 1 2 3; do
    a=\$(now)
    i=0; while [ \$i -lt $K ]; do srun --overlap -N 2 -n 2 "$where" >/dev/null || echo "srun failed" >&2; i=\$((i + 1)); done
    echo "srun \$rep \$(echo "\$(now) - \$a" | bc)" >>times
    a=\$(now)
    i=0; while [ \$i -lt $K ]; do mpirun --host h1,h2 -n 2 "$where" >/dev/null || echo "mpirun failed" >&2; i=\$((i + 1)); done
    echo "mpirun \$rep \$(echo "\$(now) - \$a" | bc)" >>times
    a=\$(now)
    "$mpitask" -n $K -r 2 -s "1 h1 0 - 0" -s "2 h2 0 - 0" -- "$where" >/dev/null 2>runner.err ||
        { echo "runner failed:" >&2; tail -3 runner.err >&2; }
    echo "runner \$rep \$(echo "\$(now) - \$a" | bc)" >>times
    # zpar: a cluster of 4 engines, then the sweep
    srun --overlap -O -N 2 -n 5 "$zpar" run --dir "$work/c\$rep" >cluster\$rep.out 2>&1 &
    ok=0
    for t in \$(seq 1 300); do
        if ZPAR_CONNECTION_FILE="$work/c\$rep/client.json" timeout 5 "$zpar" status 2>/dev/null | grep -q "4 idle"; then ok=1; break; fi
        sleep 0.1
    done
    if [ \$ok = 1 ]; then
        cat >mpi\$rep.yaml <<YAML
name: mpi\$rep
command: ["$where"]
ranks: 2
params:
  i: {range: [0, $K]}
YAML
        a=\$(now)
        if ZPAR_CONNECTION_FILE="$work/c\$rep/client.json" timeout 600 "$zpar" sweep run mpi\$rep.yaml >sweep\$rep.out 2>&1 &&
            grep -q "$K succeeded" sweep\$rep.out; then
            echo "zpar \$rep \$(echo "\$(now) - \$a" | bc)" >>times
        else
            echo "zpar sweep failed:" >&2; tail -5 sweep\$rep.out >&2
        fi
    else
        echo "zpar cluster not up:" >&2; tail -5 cluster\$rep.out >&2
    fi
    ZPAR_CONNECTION_FILE="$work/c\$rep/client.json" timeout 30 "$zpar" stop >/dev/null 2>&1
    wait
done
EOF
chmod +x "$work/job.sh"

(
    srcdir=$top
    skip_all () { echo "mpi-tasks.sh: skipped ($*)"; exit 0; }
    . "$top/tests/lib/netns-bed.sh"
    BED_CPUS=2 bed_up 2 --slurm >/dev/null
    timeout 1800 sbatch --wait -N 2 -n 4 -o "$work/job.out" "$work/job.sh" >/dev/null
    cat "$work/job.out" >&2
)

[ -s "$work/times" ] || { echo "mpi-tasks.sh: no figures (see above)" >&2; exit 1; }
# tasks/s per row: min median max; and the median against srun's
awk -v k="$K" '
{ r[$1] = r[$1] " " k / $3 }
END {
    split("srun mpirun runner zpar", rows, " ")
    name["srun"] = "srun --overlap -N 2 -n 2, in a loop"
    name["mpirun"] = "mpirun --host h1,h2 -n 2, in a loop"
    name["runner"] = "zpar engine runner, one after the other"
    name["zpar"] = "zpar sweep, ranks: 2, 4 engines"
    printf "%-42s | %-8s | %-8s | %-8s | %s\n", "2-rank MPI tasks (" k " per run), tasks/s", "min", "median", "max", "median / srun"
    print "-------------------------------------------+----------+----------+----------+--------------"
    for (i = 1; i <= 4; i++) {
        x = rows[i]
        if (!(x in r)) { printf "%-42s | %-8s | %-8s | %-8s | %s\n", name[x], "-", "-", "-", "-"; continue }
        n = split(r[x], v, " ")
        for (a = 1; a <= n; a++) for (b = a + 1; b <= n; b++) if (v[b] < v[a]) { t = v[a]; v[a] = v[b]; v[b] = t }
        med[x] = (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
        printf "%-42s | %-8.1f | %-8.1f | %-8.1f | %.2f\n", name[x], v[1], med[x], v[n], ("srun" in med) ? med[x] / med["srun"] : 0
    }
}' "$work/times"
echo "(2 hosts of the test bed on one machine, 2 CPUs each; 3 repetitions; the rows run back to back)"
