#!/bin/sh
# Install everything zpar needs to build, test and run on Debian 12 (root).
# Idempotent: packages already installed are left alone.
set -eu
PKGS="build-essential autoconf automake libtool pkg-config make gcc \
libzmq3-dev libsodium-dev libyaml-dev libsqlite3-dev sqlite3 libhwloc-dev hwloc \
openmpi-bin libopenmpi-dev libpmix-dev \
slurm-wlm slurmd slurmctld slurm-client munge slurm-wlm-torque \
python3 procps psmisc valgrind bc \
clang clang-format libclang-rt-14-dev"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    if [ "$(id -u)" != 0 ]; then
        echo "zpar: missing packages:$missing (run this script as root, or apt-get install them)" >&2
        exit 1
    fi
    echo "zpar: installing:$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
echo "zpar: dependencies present"
