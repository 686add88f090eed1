# mpi-test.sh - for the system tests of MPI tasks (source after
# sharness-lite.sh and zt_require_zpar).  Skips the script without the MPI
# test programs (a build without MPI) or without mpirun.  Sets:
#   MPITASK   tests/lib/mpi-task (one MPI task through an engine's runner)
#   WHERE     tests/lib/mpi-where (the MPI program: where each rank runs)
# and exports ZPAR_MPI_RANK_WRAPPER (the build tree's zpar-rank),
# ZPAR_TASK_NICE=0 (at the default nice 19 the tasks of a loaded machine
# crawl: their session's autogroup against everything else) and
# XDG_RUNTIME_DIR=$ZT_TMP (where relays put their sockets).
MPITASK=$builddir/tests/lib/mpi-task
WHERE=$builddir/tests/lib/mpi-where
[ -x "$MPITASK" ] && [ -x "$WHERE" ] || skip_all "no tests/lib/mpi-where (built with MPI only)"
command -v mpirun >/dev/null 2>&1 || skip_all "no mpirun (Open MPI)"
ZPAR_MPI_RANK_WRAPPER=$builddir/zpar-rank
ZPAR_TASK_NICE=0
XDG_RUNTIME_DIR=$ZT_TMP
export ZPAR_MPI_RANK_WRAPPER ZPAR_TASK_NICE XDG_RUNTIME_DIR
