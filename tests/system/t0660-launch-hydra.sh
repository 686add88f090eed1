#!/bin/sh
# t0660-launch-hydra: `zpar run` under MPICH's Hydra (`mpiexec.hydra`, from
# Debian's mpich, installed by scripts/install-deps.sh next to Open MPI,
# which stays the default `mpirun`/`mpiexec`): on one node, and PBS-style in
# a job reproduced by tests/lib/pbs-emulate.sh (2 virtual nodes x 2 through
# a fake rsh agent; Hydra reads $PBS_NODEFILE itself, or from -f).  Ranks
# and endpoints go over PMI-2; with PMI-2 skipped or its descriptor broken,
# over PMI_RANK/PMI_SIZE and a connection file, and two such launches in a
# row both work (the first one's file is gone once its engines registered).
# A few seconds in all.
LIBDIR=$(cd "$(dirname "$0")/../lib" && pwd)
. "$LIBDIR/sharness-lite.sh"
zt_require_zpar
. "$LIBDIR/env.sh"
command -v mpiexec.hydra >/dev/null 2>&1 && test_set_prereq HYDRA
dpkg-query -W -f='${Status}' mpich 2>/dev/null | grep -q "install ok installed" &&
    test_set_prereq DEBMPICH

test_expect_success DEBMPICH 'with mpich installed, Open MPI is still the default mpirun, mpiexec and mpicc' '
	PATH=$PATH:/usr/sbin:/sbin
	for a in mpirun mpi; do
		update-alternatives --query $a | sed -n "s/^Value: //p" >alt.$a
		echo "$a -> $(cat alt.$a)"
	done
	expect_eq mpirun /usr/bin/mpirun.openmpi "$(cat alt.mpirun)" &&
	expect_eq mpi /usr/bin/mpicc.openmpi "$(cat alt.mpi)" &&
	mpiexec --version 2>&1 | grep -q "Open MPI\|OpenRTE" &&
	mpirun --version 2>&1 | grep -q "Open MPI"
'

# hyd NAME [VAR=VAL...]: mpiexec.hydra -n 3 zpar run -v, a px task that
# prints whether it sees PMI_FD; exit 0, both engines answered
hyd () {
    n=$1
    shift
    (
        for a in "$@"; do export "$a"; done
        zt_timeout 120 mpiexec.hydra -n 3 "$ZPAR" run -v --wait-timeout 30 -- \
            "$ZPAR" px sh -c 'echo "pmi_fd=${PMI_FD:-none}"' >$n.out 2>$n.err
    )
    rc=$?
    grep -E "wire-up|warning|error|^\[e" $n.out $n.err
    expect_eq "exit" 0 $rc && expect_eq "engines answering" 2 "$(grep -c '^\[e[12]\] pmi_fd=none$' $n.out)"
}

test_expect_success HYDRA 'mpiexec.hydra -n 3: ranks and endpoints over PMI-2, tasks do not inherit PMI_FD' '
	hyd h &&
	expect_grep "info: wire-up: 3 ranks \(3 on this node\) from pmi2, endpoints over pmi2$" h.err
'

test_expect_success HYDRA 'PMI-2 skipped, twice in a row: PMI_RANK/PMI_SIZE and a file that does not outlive its job' '
	hyd f1 ZPAR_WIREUP_SKIP=pmi2 &&
	expect_grep "from pmi-env, endpoints over file $ZPAR_DIR/zpar-wireup\.nojob \(not used: pmi2: skipped\)$" f1.err &&
	test -z "$(ls "$ZPAR_DIR" | grep zpar-wireup)" &&
	hyd f2 ZPAR_WIREUP_SKIP=pmi2 &&
	test -z "$(ls "$ZPAR_DIR" | grep zpar-wireup)"
'

test_expect_success HYDRA 'a PMI_FD that is not open: a warning says so, the job runs over the file' '
	zt_timeout 120 mpiexec.hydra -n 3 sh -c "PMI_FD=97 exec \"$ZPAR\" run --wait-timeout 30 -- \"$ZPAR\" px true" \
		>bad.out 2>bad.err; rc=$?
	cat bad.out bad.err; expect_eq "exit" 0 $rc &&
	expect_grep "warning: wire-up: 3 ranks .* from pmi-env, endpoints over file .* \(not used: pmi2: PMI_FD=.97. is not an open descriptor\)$" bad.err
'

test_expect_success HYDRA 'a PMIx that does not answer (PMIX_NAMESPACE without a server): a warning, PMI-2 is used' '
	zt_timeout 120 mpiexec.hydra -n 3 sh -c "PMIX_NAMESPACE=bogus exec \"$ZPAR\" run --wait-timeout 30 -- \"$ZPAR\" px true" \
		>nopmix.out 2>nopmix.err; rc=$?
	cat nopmix.out nopmix.err; expect_eq "exit" 0 $rc &&
	expect_grep "warning: wire-up: 3 ranks .* from pmi2, endpoints over pmi2 \(not used: pmix: PMIx_Init: " nopmix.err
'

test_expect_success HYDRA 'zpar run --mpi under Hydra (zpar built with another MPI): a clear error, no hang' '
	zt_timeout 60 mpiexec.hydra -n 2 "$ZPAR" run --mpi --wait-timeout 10 -- true >mpi.out 2>&1; rc=$?
	cat mpi.out; test $rc != 0 && test $rc != 124 &&
	expect_grep "MPI sees rank 0 of 1 but the launcher \(pmi2\) says rank 1 of 2" mpi.out
'

cat >fake-rsh <<'EOF'
#!/bin/sh
# rsh agent for virtual nodes: drop the options and the host, run here
while [ $# -gt 0 ]; do case "$1" in -*) shift ;; *) break ;; esac; done
FAKE_NODE=$1
export FAKE_NODE
shift
exec /bin/sh -c "$*"
EOF
chmod 755 fake-rsh
cat >job.sh <<'EOF'
#!/bin/bash
cd "$PBS_O_WORKDIR" || exit 1
echo "nodefile: $(tr '\n' ' ' <"$PBS_NODEFILE")"
set --
[ "$HOSTFILE" = 1 ] && set -- -f "$PBS_NODEFILE" -n "$PBS_NP"
mpiexec.hydra -launcher rsh -launcher-exec "$PBS_O_WORKDIR/fake-rsh" "$@" "$ZPAR" run -v \
	--wait-timeout 30 -- "$ZPAR" px sh -c 'echo "node=$FAKE_NODE"'
EOF

# pbs_job NAME HOSTFILE: the job above on 2 virtual nodes x 2 (HOSTFILE=1:
# mpiexec -f $PBS_NODEFILE -n $PBS_NP)
pbs_job () {
    PBS_EMU_DIR=$ZT_TMP/pbs zt_timeout 120 "$LIBDIR/pbs-emulate.sh" -l nodes=2:ppn=2 \
        -v "ZPAR=$ZPAR,ZPAR_DIR=$ZPAR_DIR,XDG_RUNTIME_DIR=$XDG_RUNTIME_DIR,ZPAR_TEST_MARK=$ZPAR_TEST_MARK,HOSTFILE=$2" \
        job.sh >$1.out 2>&1
    n=$1
    rc=$?
    grep -E "nodefile|wire-up|warning|error|^\[e|pbs-emulate" $n.out
    expect_eq "job exit" 0 $rc &&
        expect_eq "engines answering" 3 "$(grep -c "^\[e[123]\] node=n[12]$" $n.out)" &&
        expect_eq "engines on n2" 2 "$(grep -c "^\[e[123]\] node=n2$" $n.out)" &&
        expect_grep "info: wire-up: 4 ranks \(2 on this node\) from pmi2, endpoints over pmi2$" $n.out
}

test_expect_success HYDRA 'PBS-style mpiexec (Hydra reads $PBS_NODEFILE), 2 nodes x 2: PMI-2, 2 ranks per node' '
	pbs_job pbs 0
'

test_expect_success HYDRA 'PBS-style mpiexec -f $PBS_NODEFILE -n 4' '
	pbs_job pbsf 1
'

test_done
