#!/bin/sh
# apt-ensure.sh PKG...: install, on Debian, those of the packages PKG...
# that are not installed yet (as root; otherwise name them and fail).
# Idempotent: packages already installed are left alone.  Used by
# install-deps.sh and bench-deps.sh.
set -eu
missing=""
for p in "$@"; do
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
