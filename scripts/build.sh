#!/bin/sh
# Configure and build zpar out of tree in ${ZPAR_BUILD:-build/} (idempotent).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=${ZPAR_BUILD:-$top/build}
cd "$top"
[ -x configure ] && [ configure -nt configure.ac ] && [ -f config/tap-driver.sh ] || ./autogen.sh
mkdir -p "$build"
cd "$build"
[ -f Makefile ] || "$top/configure" -q ${ZPAR_CONFIGURE_FLAGS:-}
make -s -j"$(nproc)" >/dev/null
echo "zpar: built in $build"
