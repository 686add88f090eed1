#!/bin/sh
# mpi-default.sh: keep Open MPI the default MPI of the machine (the `mpi`
# and `mpirun` alternatives: mpicc, mpirun, mpiexec) once other MPI
# implementations are installed next to it (Debian's mpich, whose Hydra
# `mpiexec.hydra` the launcher tests use by its own name).  zpar is built
# against Open MPI (libopenmpi-dev) and its MPI tests run `mpirun`.
# Idempotent; as root it switches an alternative that points elsewhere
# back to Open MPI (a no-op in Debian's automatic mode, where Open MPI's
# priority 50 beats MPICH's 40); prints what it found, exits 1 if an
# alternative still does not point to Open MPI.
set -u
PATH=$PATH:/usr/sbin:/sbin
rc=0
for pair in mpi:/usr/bin/mpicc.openmpi mpirun:/usr/bin/mpirun.openmpi; do
    name=${pair%%:*} want=${pair#*:}
    [ -e "$want" ] || { echo "zpar: $want missing (is openmpi-bin / libopenmpi-dev installed?)" >&2; rc=1; continue; }
    cur=$(update-alternatives --query "$name" 2>/dev/null | sed -n 's/^Value: //p')
    if [ "$cur" != "$want" ] && [ "$(id -u)" = 0 ]; then
        echo "zpar: the $name alternative is ${cur:-unset}: setting it to $want"
        update-alternatives --set "$name" "$want" >/dev/null
        cur=$(update-alternatives --query "$name" 2>/dev/null | sed -n 's/^Value: //p')
    fi
    if [ "$cur" != "$want" ]; then
        echo "zpar: the $name alternative is ${cur:-unset}, not $want" >&2
        rc=1
    fi
done
exit $rc
