#!/bin/sh
# t0340-mpi-kernel: under `mpirun zpar run --mpi`, a function task sent to
# every engine at once gets an engines-only MPI communicator (the
# controller, rank 0, is not in it) and runs a collective across them.
. "$(cd "$(dirname "$0")/.." && pwd)/lib/sharness-lite.sh"
zt_require_zpar
. "$srcdir/tests/lib/env.sh"
MPIFN="$builddir/tests/lib/.libs/mpifn.so"
command -v mpirun >/dev/null 2>&1 && test -f "$MPIFN" && test_set_prereq MPIKERNEL

test_expect_success MPIKERNEL 'an MPI allreduce across 3 engines, asked for by a client' '
	zt_timeout 120 mpirun -n 4 --oversubscribe "$ZPAR" run --mpi --bind none --dir "$ZT_TMP/c" -- \
		"$ZPAR" px --inline --function "$MPIFN:zt_allreduce" >px.out 2>px.err;
	rc=$?; cat px.out px.err;
	expect_eq "exit code" 0 $rc &&
	# engine ids are the ranks 1..3: every engine sees sum 6 over 3 engines
	expect_eq "engines answering" 3 "$(grep -c "sum=6 size=3" px.out)" &&
	for e in 1 2 3; do expect_grep "^\[e$e\] sum=6 size=3" px.out || return 1; done
'

test_expect_success MPIKERNEL 'without --mpi the function says it has no communicator' '
	zt_timeout 120 mpirun -n 3 --oversubscribe "$ZPAR" run --bind none --dir "$ZT_TMP/d" -- \
		"$ZPAR" px --inline --function "$MPIFN:zt_allreduce" >px2.out 2>&1;
	rc=$?; cat px2.out;
	test $rc -ne 0 && expect_grep "no MPI communicator" px2.out
'

test_done
