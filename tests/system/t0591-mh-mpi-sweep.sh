#!/bin/sh
# t0591-mh-mpi-sweep: a sweep mixing 1-core points and 4-rank MPI points on
# 4 real hosts (tests/lib/netns-bed.sh, 2 CPUs each), on a cluster of 8
# engines bound to one core each (2 per host):
#   - under Slurm: `srun -N 4 -n 9 zpar run --sweep` (the MPI points start
#     with srun --overlap inside the job);
#   - under mpirun: `mpirun --host h1:3,h2:2,h3:2,h4:2 zpar run --sweep`
#     (the MPI points start with mpirun --host).
# Checks, each time: every point succeeded; every MPI point ran as one
# MPI job of 4 ranks, each rank on the host and the CPU of an engine that
# was reserved for that point (ZPAR_TASK_SLOTS, tests/lib/mpi-ranks-check.sh);
# no CPU of any host was used by two points at once
# (tests/lib/cpu-overlap-check.sh: every process prints its CPUs and when
# it started and ended).  The sweep key mpi-launcher: mpirun inside the
# Slurm job starts the MPI points with mpirun instead.  And the example sweep with mixed resources
# (examples/mixed.yaml, examples/mpi-pi.c) under Slurm.
LIBDIR=$(cd "$(dirname "$0")/../lib" && pwd)
. "$LIBDIR/sharness-lite.sh"
zt_require_zpar
. "$LIBDIR/mpi-test.sh"
. "$LIBDIR/netns-bed.sh"
bed_up 4 --slurm

# point.sh KIND INDEX: what every process of a point runs (each rank of an
# MPI point): the MPI program, or a 1 s sleep; then its "use" line
cat >point.sh <<EOF
#!/bin/sh
t0=\$(date +%s.%N)
if [ "\$1" = mpi ]; then
	[ "\${ZPAR_RANK:-}" = 0 ] && echo "slots=\$ZPAR_TASK_SLOTS"
	"$WHERE" 1 || exit 1
else
	sleep 1
fi
echo "use host=\$(hostname) cpus=\$(sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' /proc/self/status) start=\$t0 end=\$(date +%s.%N) point=\$2"
EOF
chmod +x point.sh

# sweep NAME: 12 points, every third one 4-rank MPI.  One retry: in about
# one run of 10 under Slurm, a rank of an MPI point died in Open MPI
# (SIGSEGV at address 0, its peer then "failed to TCP connect"); the
# retry's output replaces the failed attempt's, and the test says how many
# points needed it (attempts_note)
sweep () {
	cat >"$1.yaml" <<EOF
name: $1
command: ["$ZT_TMP/point.sh", "{kind}", "{index}"]
ranks: "{ranks}"
combine: zip
timeout: 120s
retries: 1
params:
  kind: [one, one, mpi, one, one, mpi, one, one, mpi, one, one, mpi]
  ranks: [0, 0, 4, 0, 0, 4, 0, 0, 4, 0, 0, 4]
EOF
}

# attempts_note NAME: the points that needed more than one attempt
attempts_note () {
	"$ZPAR" sweep report "$1.yaml" --format csv >"$1.csv" 2>/dev/null &&
	awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "attempts") a = i; next }
		a && $a > 1 { n++ } END { print "points attempted twice: " n + 0 }' "$1.csv"
}

# check NAME LAUNCHER: the points' outputs
check () {
	out=$1.out
	n=0
	for f in "$out"/*.out; do
		grep -q "^slots=" "$f" || continue
		n=$((n + 1))
		slots=$(sed -n "s/^slots=//p" "$f")
		echo "$(basename "$f"): $slots"
		"$LIBDIR/mpi-ranks-check.sh" "$f" 4 "$slots" &&
		expect_eq "ranks started by $2" 4 "$(grep -c " via=$2\$" "$f")" || return 1
	done
	expect_eq "MPI points" 4 $n &&
	"$LIBDIR/cpu-overlap-check.sh" "$out"/*.out >overlap.txt && cat overlap.txt &&
	expect_eq "uses" "$((8 + 4 * 4)) uses checked" "$(cat overlap.txt)"
}

test_expect_success 'Slurm: srun zpar run --sweep, 1-core and 4-rank points, every point succeeded' '
	sweep slurm &&
	zt_timeout 300 srun -N 4 -n 9 -O "$ZPAR" run --sweep slurm.yaml >slurm.log 2>&1;
	rc=$? && tail -n 5 slurm.log && expect_eq "exit" 0 $rc &&
	expect_grep "12 points: 12 succeeded" slurm.log && attempts_note slurm
'

test_expect_success 'Slurm: every rank on a reserved engine, no CPU used twice at once' '
	check slurm srun
'

test_expect_success 'mpirun: mpirun zpar run --sweep, the same' '
	sweep mpi &&
	zt_timeout 300 "$BED_DIR/bin/on" head mpirun --host h1:3,h2:2,h3:2,h4:2 -n 9 \
		"$ZPAR" run --sweep "$ZT_TMP/mpi.yaml" >mpi.log 2>&1;
	rc=$? && tail -n 5 mpi.log && expect_eq "exit" 0 $rc &&
	expect_grep "12 points: 12 succeeded" mpi.log && attempts_note mpi &&
	check mpi mpirun
'

test_expect_success 'Slurm: mpi-launcher: mpirun starts the MPI points with mpirun inside the job' '
	cat >ml.yaml <<-EOF &&
	name: ml
	command: ["$ZT_TMP/point.sh", "{kind}", "{index}"]
	ranks: "{ranks}"
	mpi-launcher: mpirun
	combine: zip
	timeout: 120s
	params:
	  kind: [one, mpi, one, mpi]
	  ranks: [0, 4, 0, 4]
	EOF
	zt_timeout 300 srun -N 4 -n 9 -O "$ZPAR" run --sweep ml.yaml >ml.log 2>&1;
	rc=$? && tail -n 3 ml.log && expect_eq "exit" 0 $rc &&
	expect_grep "4 points: 4 succeeded" ml.log &&
	for i in 1 3; do
		slots=$(sed -n "s/^slots=//p" ml.out/$i.out) &&
		"$LIBDIR/mpi-ranks-check.sh" ml.out/$i.out 4 "$slots" &&
		expect_eq "ranks started by mpirun" 4 "$(grep -c " via=mpirun\$" ml.out/$i.out)" || return 1
	done
'

test_expect_success 'the example examples/mixed.yaml: 1-rank, 2-core and 4-rank points succeed' '
	mkdir -p ex && cp "$srcdir/examples/mixed.yaml" ex/ && cp "$builddir/examples/mpi-pi" ex/ &&
	zt_timeout 300 srun -N 4 -n 9 -O "$ZPAR" run --sweep ex/mixed.yaml >ex.log 2>&1;
	rc=$? && tail -n 3 ex.log && expect_eq "exit" 0 $rc &&
	expect_grep "6 points: 6 succeeded" ex.log &&
	for i in 3 4 5; do
		expect_grep "^pi=3\.14159.* ranks=4 " ex/pi-mixed.out/$i.out &&
		expect_eq "ranks of point $i" 4 "$(grep -c "^rank=" ex/pi-mixed.out/$i.out)" || return 1
	done &&
	expect_grep "^pi=3\.14159.* ranks=1 " ex/pi-mixed.out/2.out &&
	expect_grep "^rank=0 host=h[1-4] cpus=0-1\$" ex/pi-mixed.out/2.out
'

test_done
