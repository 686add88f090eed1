#!/bin/sh
# bench/run-node.sh [N...] - the controller's memory and files per engine
# in the deployment `zpar run` gives by default, on this one node:
# `mpirun -n N+1 zpar run` (rank 0 the controller, N real engines), with
# --relay=auto as it is (from ZPAR_RELAY_CONTROLLER_NODE engines, default
# 256, the controller's node goes through a relay) and with the controller's
# node direct (ZPAR_RELAY_CONTROLLER_NODE=0, as before).  For each N
# (default 100) and mode: rank 0's VmRSS and open files once all engines
# are live and after 10N load-balanced `true` tasks from one client
# (tests/scale/zpar-scale, built by `make check`), the same of a run
# without engines (N = 0) subtracted, divided by N; and the relay's VmRSS.
# Prints "mode N key value" lines and a table.
#
# Environment: ZPAR_BUILD (default ./build).  Heavy: N real engines.
set -u
SRC=$(cd "$(dirname "$0")/.." && pwd)
ZB=${ZPAR_BUILD:-$SRC/build}
case $ZB in /*) ;; *) ZB=$PWD/$ZB ;; esac
ZPAR=$ZB/zpar
[ -x "$ZPAR" ] || { echo "run-node.sh: no $ZPAR (set ZPAR_BUILD)" >&2; exit 1; }
[ -x "$ZB/tests/scale/zpar-scale" ] || { echo "run-node.sh: no zpar-scale (make -C $ZB check TESTS=)" >&2; exit 1; }
command -v mpirun >/dev/null 2>&1 || { echo "run-node.sh: no mpirun" >&2; exit 1; }
. "$SRC/tests/lib/env.sh"
W=$(mktemp -d /tmp/zpar-run-node.XXXXXX)
XDG_RUNTIME_DIR=$W/xdg
mkdir -m 700 "$XDG_RUNTIME_DIR"
export XDG_RUNTIME_DIR
ulimit -n "$(ulimit -Hn)" 2>/dev/null
mp=
trap '[ -n "$mp" ] && kill -TERM $mp 2>/dev/null; wait 2>/dev/null; rm -rf "$W"' EXIT
trap 'exit 130' INT TERM
rss () { awk '$1 == "VmRSS:" { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
nfd () { ls "/proc/$1/fd" 2>/dev/null | wc -l; }
# the pid listening on the registrar port of run $1 (rank 0)
rank0 () {
    port=$(sed -n 's/.*"registration": *"tcp:\/\/[0-9.]*:\([0-9]*\)".*/\1/p' "$1/client.json")
    ss -Htlnp "sport = :$port" | sed -n 's/.*pid=\([0-9]*\).*/\1/p' | head -1
}
relay_pid () {
    for p in $(pgrep -f " relay --connection-file" 2>/dev/null); do
        tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qxF "XDG_RUNTIME_DIR=$XDG_RUNTIME_DIR" &&
            echo "$p"
    done | head -1
}

one () { # MODE N -> "rss0 fd0 rss1 fd1 rss2 relay_rss"
    d=$W/$1.$2
    th=
    [ "$1" = direct ] && th=0
    ZPAR_RELAY_CONTROLLER_NODE=$th mpirun -x ZPAR_RELAY_CONTROLLER_NODE -x XDG_RUNTIME_DIR \
        -n $(($2 + 1)) "$ZPAR" run --wait-timeout 300 --dir "$d" >"$d.out" 2>"$d.err" &
    mp=$!
    C="$ZPAR --connection-file $d/client.json"
    i=0
    until [ -s "$d/client.json" ] && [ "$($C status 2>/dev/null | awk '$4 == "idle" || $4 == "busy"' | wc -l)" -ge "$2" ]; do
        i=$((i + 1))
        [ $i -gt 1200 ] && { echo "run-node.sh: $1 $2: not ready" >&2; break; }
        kill -0 $mp 2>/dev/null || { echo "run-node.sh: $1 $2: zpar run ended: $(grep -v info: "$d.err" | tail -1)" >&2; break; }
        sleep 0.5
    done
    sleep 2
    p=$(rank0 "$d")
    r1=$(rss "$p") f1=$(nfd "$p")
    if [ "$2" -gt 0 ]; then
        ZPAR_CONNECTION_FILE=$d/client.json timeout 300 "$ZB/tests/scale/zpar-scale" tasks \
            $((10 * $2)) 240 - -- true >"$d.tasks" 2>&1 ||
            echo "run-node.sh: $1 $2: tasks failed: $(tail -1 "$d.tasks")" >&2
        sleep 1
    fi
    r2=$(rss "$p")
    rp=$(relay_pid)
    rr=0
    [ -n "$rp" ] && rr=$(rss "$rp")
    $C stop >/dev/null 2>&1
    wait $mp
    mp=
    echo "$r1 $f1 $r2 $rr"
}

set -- "${@:-100}"
base=$(one direct 0)
b_rss=${base%% *}
b_fd=$(echo "$base" | awk '{ print $2 }')
echo "base 0 rank0_rss_kb $b_rss rank0_fds $b_fd"
rows=
for n in "$@"; do
    for m in auto direct; do
        set -- $(one $m "$n")
        line="$m $n rank0_rss_kb $1 rank0_fds $2 rank0_rss_kb_after_tasks $3 relay_rss_kb $4"
        echo "$line"
        rows="$rows$(awk -v m=$m -v n="$n" -v r1="$1" -v f1="$2" -v r2="$3" -v rr="$4" -v b="$b_rss" -v bf="$b_fd" 'BEGIN {
            printf "| %s | %s | %.1f | %.1f | %.2f | %.1f |", n, m, (r1 - b) / n, (r2 - b) / n, (f1 - bf) / n, rr / n }')
"
    done
done
echo
echo "| engines | --relay auto / controller's node direct | controller KiB/engine | after tasks | files/engine | relay KiB/engine |"
echo "|---|---|---|---|---|---|"
printf '%s' "$rows"
