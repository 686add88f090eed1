#!/bin/sh
# Install the peers bench/run.sh measures zpar against, on Debian 12 (root):
# ipyparallel 7.1 and Dask distributed (python3-ipyparallel,
# python3-distributed; bench/peers.py runs them through /usr/bin/python3),
# and GNU parallel (the command peer; xargs comes with findutils).
# Idempotent: packages already installed are left alone.  Not needed to
# build, test or run zpar; without them run.sh shows reference figures.
set -eu
PKGS="python3 python3-ipyparallel python3-distributed parallel"
# shellcheck disable=SC2086
sh "$(dirname "$0")/apt-ensure.sh" $PKGS
for m in ipyparallel distributed; do
    if ! /usr/bin/python3 -c "import $m" 2>/dev/null; then
        echo "zpar: /usr/bin/python3 cannot import $m after the install" >&2
        exit 1
    fi
done
echo "zpar: benchmark peers present: $(/usr/bin/python3 -c 'import ipyparallel, distributed; print("ipyparallel", ipyparallel.__version__, "distributed", distributed.__version__)'), $(parallel --version 2>/dev/null | head -1)"
