# bench/lib.sh - sourced (bash) by the bench scripts that start a private
# cluster's processes by hand (lowrate.sh, profile.sh).  They set: ZPAR
# (the zpar program), D (the cluster's directory), WORK (the work
# directory), KEEP (1: keep WORK), PIDS (an array: the processes started)
# and a say function.

# bench_cleanup: stop the cluster, wait (at most 20 s) for every process in
# PIDS to end, SIGKILL those still alive, and remove WORK unless KEEP=1.
# For `trap bench_cleanup EXIT`.
bench_cleanup() {
    local p i alive=
    if [ -e "$D/client.json" ]; then
        timeout 60 "$ZPAR" stop >/dev/null 2>&1
    fi
    for i in $(seq 1 100); do
        alive=
        for p in "${PIDS[@]}"; do kill -0 "$p" 2>/dev/null && alive="$alive $p"; done
        [ -z "$alive" ] && break
        sleep 0.2
    done
    for p in $alive; do kill -KILL "$p" 2>/dev/null; done
    [ $KEEP = 1 ] && say "work directory kept: $WORK" || rm -rf "$WORK"
}
