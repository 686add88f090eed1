#!/bin/sh
# Install everything zpar needs to build, test and run on Debian 12 (root).
# Idempotent: packages already installed are left alone.
set -eu
PKGS="build-essential autoconf automake libtool pkg-config make gcc \
libzmq3-dev libsodium-dev libyaml-dev libsqlite3-dev sqlite3 libhwloc-dev hwloc \
openmpi-bin libopenmpi-dev libpmix-dev mpich \
slurm-wlm slurmd slurmctld slurm-client munge slurm-wlm-torque \
python3 procps psmisc valgrind bc \
clang clang-format libclang-rt-14-dev"
# the environment-module test of make install (t0710: module load zpar)
PKGS="$PKGS environment-modules"
# shellcheck disable=SC2086
sh "$(dirname "$0")/apt-ensure.sh" $PKGS
# mpich (MPICH's Hydra mpiexec, for the launcher tests) must leave Open MPI
# the default MPI
sh "$(dirname "$0")/mpi-default.sh"
echo "zpar: dependencies present"
