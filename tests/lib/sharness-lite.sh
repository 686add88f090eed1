# sharness-lite.sh - a tiny TAP test library for zpar's system tests.
#
# Source it from a test script (plain POSIX sh):
#
#   . "${srcdir:-$(dirname "$0")/../..}/tests/lib/sharness-lite.sh"
#   zt_require_zpar                        # 1..0 # SKIP when $ZPAR is unset
#   test_expect_success 'what it proves' '
#       zt_cluster_start 2 &&
#       $ZPAR px -- true
#   '
#   test_done
#
# Every test body runs (eval) in the script's shell, with its output sent to
# a log that is shown as TAP diagnostics when the test fails (or live on
# stderr with -v / ZPAR_TEST_VERBOSE=1).  Prerequisites: test_set_prereq NAME;
# test_expect_success NAME,NAME 'desc' 'body' skips unless all are set.
#
# Isolation and cleanup: each script gets a private temp dir ($ZT_TMP), its
# own ZPAR_DIR and HOME under it, and an exported marker (ZPAR_TEST_MARK)
# that every process it starts inherits.  On exit (normal, error, INT, TERM)
# the EXIT trap kills exactly: the PIDs recorded by zt_spawn, the PIDs listed
# in the clusters' "pids" files under our ZPAR_DIR, and any process still
# carrying our unique marker in its environment (a daemonised cluster, the
# engines' task children); then it removes the temp dir (kept with
# ZPAR_TEST_KEEP=1 or when -d is given).
#
# Timeouts: wait_for and zt_timeout scale their limits by
# ZPAR_TEST_TIMEOUT_SCALE (default 1) for slow or loaded machines.

ZT_NAME=$(basename "$0" .sh)
zt_count=0
zt_failed=0
zt_passed=0
zt_skipped=0
zt_verbose=${ZPAR_TEST_VERBOSE:-0}
zt_debug=${ZPAR_TEST_KEEP:-0}
zt_prereqs=" "
for zt_arg in "$@"; do
    case $zt_arg in
    -v | --verbose) zt_verbose=1 ;;
    -d | --debug) zt_debug=1 ;;
    esac
done

: "${ZPAR_TEST_TIMEOUT_SCALE:=1}"
export ZPAR_TEST_TIMEOUT_SCALE

# short heartbeat for every controller the tests start
: "${ZPAR_HB_PERIOD_MS:=200}"
: "${ZPAR_HB_MISSES:=3}"
export ZPAR_HB_PERIOD_MS ZPAR_HB_MISSES

# the build tree (test programs) and the source tree
: "${builddir:=$(pwd)}"
: "${srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
export builddir srcdir

zt_say () { printf '%s\n' "$*"; }
zt_diag () { printf '%s\n' "$*" | sed 's/^/# /'; }
zt_err () { printf '%s: %s\n' "$ZT_NAME" "$*" >&2; }

# scale SECONDS by ZPAR_TEST_TIMEOUT_SCALE (fractions allowed)
zt_scale () {
    awk -v t="$1" -v s="$ZPAR_TEST_TIMEOUT_SCALE" 'BEGIN { v = t * s; if (v <= 0) v = t; printf "%g\n", v }'
}

# ------------------------------------------------------------ temp dir

ZT_TMP=$(mktemp -d "${TMPDIR:-/tmp}/zpar-$ZT_NAME.XXXXXX") || {
    echo "1..0 # SKIP cannot create a temp dir"
    exit 0
}
ZT_PIDS=$ZT_TMP/.pids
: >"$ZT_PIDS"
ZPAR_TEST_MARK=$ZT_TMP
ZPAR_DIR=$ZT_TMP/zpar
HOME=$ZT_TMP/home
# the controllers' copy of task records they cannot save (default
# /dev/shm) stays in our temp dir too
ZPAR_RECORDS_SPILL_DIR=$ZT_TMP/spill
mkdir -p "$ZPAR_DIR" "$HOME" "$ZPAR_RECORDS_SPILL_DIR"
# the nodes' relays (zpar run) keep their ipc endpoints under
# $XDG_RUNTIME_DIR/zpar-relay: in our temp dir too, gone with it even when
# a host is killed under them
XDG_RUNTIME_DIR=$ZT_TMP/run
mkdir -m 700 "$XDG_RUNTIME_DIR"
export XDG_RUNTIME_DIR
unset ZPAR_CONNECTION_FILE SLURM_JOB_ID PBS_JOBID
export ZPAR_TEST_MARK ZPAR_DIR HOME ZPAR_RECORDS_SPILL_DIR
ZT_LOG=$ZT_TMP/.log
# absolute paths before we move into the temp dir
case ${ZPAR:-} in
'' | /*) ;;
*) ZPAR=$(pwd)/$ZPAR ;;
esac
case $builddir in
/*) ;;
*) builddir=$(cd "$builddir" && pwd) ;;
esac
cd "$ZT_TMP" || exit 1
ZT_CLUSTER_DIR=$ZPAR_DIR/local

# ------------------------------------------------------------ process control

# is pid $1 running (a zombie, a child not reaped yet, counts as dead)
zt_alive () {
    kill -0 "$1" 2>/dev/null || return 1
    case $(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null) in
    Z* | X*) return 1 ;;
    esac
    return 0
}

# true when none of the pids listed in file $1 is alive
zt_all_dead () {
    for zt_p in $(cat "$1"); do
        zt_alive "$zt_p" && return 1
    done
    return 0
}

# is pid $1 ours: it carries our marker in its environment
zt_is_ours () {
    [ -r "/proc/$1/environ" ] || return 1
    { tr '\0' '\n' <"/proc/$1/environ"; } 2>/dev/null | grep -qxF "ZPAR_TEST_MARK=$ZT_TMP"
}

# record a pid to be killed at exit
zt_record_pid () {
    for zt_p in "$@"; do
        case $zt_p in
        '' | *[!0-9]*) ;;
        *) echo "$zt_p" >>"$ZT_PIDS" ;;
        esac
    done
}

# zt_spawn NAME CMD ARGS... : start CMD in the background, output to
# $ZT_TMP/NAME.out / NAME.err; sets ZT_LAST_PID and records it.
zt_spawn () {
    zt_sp_name=$1
    shift
    "$@" >"$ZT_TMP/$zt_sp_name.out" 2>"$ZT_TMP/$zt_sp_name.err" &
    ZT_LAST_PID=$!
    zt_record_pid "$ZT_LAST_PID"
    eval "ZT_PID_$(echo "$zt_sp_name" | tr -c 'A-Za-z0-9_\n' '_')=$ZT_LAST_PID"
}

# pids of the clusters started under our ZPAR_DIR (their "pids" files:
# "controller PID START" and "engine N PID START" lines, or bare pids)
zt_cluster_pids () {
    find "$ZPAR_DIR" -name pids -type f 2>/dev/null | while read -r zt_f; do
        awk '$1 == "controller" { print $2; next }
             $1 == "engine" { print $3; next }
             $1 == "relay" { print $2; next }
             $1 ~ /^[0-9]+$/ { print $1 }' "$zt_f"
    done | grep -E '^[0-9]+$'
}

# every process that still carries our marker, but not this shell
zt_marked_pids () {
    for zt_d in /proc/[0-9]*; do
        zt_p=${zt_d#/proc/}
        [ "$zt_p" = "$$" ] && continue
        zt_is_ours "$zt_p" && echo "$zt_p"
    done
}

# kill the given pids (only those that are alive), TERM then KILL after 3 s
zt_kill_pids () {
    zt_live=
    for zt_p in "$@"; do
        [ "$zt_p" = "$$" ] && continue
        zt_alive "$zt_p" && zt_live="$zt_live $zt_p"
    done
    [ -n "$zt_live" ] || return 0
    # shellcheck disable=SC2086
    kill -TERM $zt_live 2>/dev/null
    zt_i=0
    while [ $zt_i -lt 30 ]; do
        zt_any=
        for zt_p in $zt_live; do
            zt_alive "$zt_p" && zt_any=1
        done
        [ -z "$zt_any" ] && return 0
        sleep 0.1
        zt_i=$((zt_i + 1))
    done
    # shellcheck disable=SC2086
    kill -KILL $zt_live 2>/dev/null
    return 0
}

zt_cleanup () {
    zt_rc=$?
    trap - EXIT INT TERM HUP
    set +e
    # recorded pids, then the cluster's pids (only those carrying our marker:
    # a stale pids file must not make us kill a recycled pid)
    zt_ours=
    for zt_p in $(cat "$ZT_PIDS" 2>/dev/null) $(zt_cluster_pids); do
        if zt_is_ours "$zt_p"; then zt_ours="$zt_ours $zt_p"; fi
    done
    # shellcheck disable=SC2086
    zt_kill_pids $zt_ours
    # anything else we started (daemons, task children)
    # shellcheck disable=SC2046
    zt_kill_pids $(zt_marked_pids)
    # reap our direct children
    wait 2>/dev/null
    if [ "$zt_debug" = 1 ]; then
        zt_err "keeping $ZT_TMP"
    else
        rm -rf "$ZT_TMP"
    fi
    exit $zt_rc
}
trap zt_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# ------------------------------------------------------------ TAP

skip_all () {
    echo "1..0 # SKIP $*"
    zt_skip_all=1
    exit 0
}

test_set_prereq () { zt_prereqs="$zt_prereqs$1 "; }
test_have_prereq () {
    zt_hp_ok=0
    for zt_q in $(echo "$1" | tr ',' ' '); do
        case $zt_prereqs in
        *" $zt_q "*) ;;
        *) zt_hp_ok=1 ;;
        esac
    done
    return $zt_hp_ok
}

zt_run_body () {
    if [ "$zt_verbose" = 1 ]; then
        eval "$1" >&2
    else
        eval "$1" >"$ZT_LOG" 2>&1
    fi
}

# test_expect_success [PREREQS] 'description' 'body'
test_expect_success () {
    if [ $# = 3 ]; then
        zt_pre=$1
        shift
    else
        zt_pre=
    fi
    zt_count=$((zt_count + 1))
    if [ -n "$zt_pre" ] && ! test_have_prereq "$zt_pre"; then
        zt_skipped=$((zt_skipped + 1))
        echo "ok $zt_count # skip $1 (missing $zt_pre)"
        return 0
    fi
    if [ -n "$ZPAR_TEST_SKIP" ] && echo " $ZPAR_TEST_SKIP " | grep -q " $ZT_NAME.$zt_count "; then
        zt_skipped=$((zt_skipped + 1))
        echo "ok $zt_count # skip $1 (ZPAR_TEST_SKIP)"
        return 0
    fi
    zt_t0=$(date +%s.%N)
    if zt_run_body "$2"; then
        zt_passed=$((zt_passed + 1))
        echo "ok $zt_count - $1"
    else
        zt_failed=$((zt_failed + 1))
        echo "not ok $zt_count - $1"
        zt_diag "$2"
        if [ "$zt_verbose" != 1 ] && [ -s "$ZT_LOG" ]; then
            echo "# --- output:"
            tail -n 60 "$ZT_LOG" | sed 's/^/# /'
        fi
        zt_dump_cluster_logs
    fi
    [ "${ZPAR_TEST_TIMES:-0}" = 1 ] \
        && zt_diag "$(awk -v a="$zt_t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f s", b - a }')"
    return 0
}

# After a failure, while its processes still run: the warnings and errors
# the cluster logs of this script hold (the last 20 lines of each of at
# most 12 logs), so that a failure in CI says what the controller, the
# engines and the relays saw; the directory itself is removed at exit.
zt_dump_cluster_logs () {
    find "$ZT_TMP" \( -name controller.log -o -name 'engine-*.log' -o -name 'relay*.log' \) \
        -type f 2>/dev/null | sort | head -n 12 | while read -r zt_lf; do
        zt_lw=$(grep -v ' info: \| debug: ' "$zt_lf" 2>/dev/null | tail -n 20)
        [ -n "$zt_lw" ] || continue
        echo "# --- ${zt_lf#"$ZT_TMP"/} (warnings and errors, the last 20):"
        printf '%s\n' "$zt_lw" | sed 's/^/# /'
    done
}

# test_skip 'description' 'reason'
test_skip () {
    zt_count=$((zt_count + 1))
    zt_skipped=$((zt_skipped + 1))
    echo "ok $zt_count # skip $1 ($2)"
}

test_done () {
    echo "1..$zt_count"
    zt_diag "$ZT_NAME: $zt_passed passed, $zt_failed failed, $zt_skipped skipped"
    [ $zt_failed = 0 ]
    exit $?
}

# ------------------------------------------------------------ helpers

# zt_require_zpar: skip the whole script unless $ZPAR is an executable
zt_require_zpar () {
    [ -n "$ZPAR" ] || skip_all "ZPAR is not set (run through make check)"
    [ -x "$ZPAR" ] || skip_all "ZPAR=$ZPAR is not executable"
}

# the test driver and the task-function library, from the build tree
zt_find_testclient () {
    for zt_c in "$builddir/tests/lib/zpar-testclient" "$builddir/zpar-testclient"; do
        if [ -x "$zt_c" ]; then
            TESTCLIENT=$zt_c
            test_set_prereq TESTCLIENT
            return 0
        fi
    done
    return 1
}
zt_find_testfn () {
    for zt_c in "$builddir/tests/lib/.libs/testfn.so" "$builddir/.libs/testfn.so" \
        "$builddir/tests/lib/testfn.so"; do
        if [ -f "$zt_c" ]; then
            TESTFN=$zt_c
            test_set_prereq TESTFN
            return 0
        fi
    done
    return 1
}
command -v jq >/dev/null 2>&1 && test_set_prereq JQ

# zt_timeout SECONDS CMD ARGS... : run CMD, killed after SECONDS (scaled)
zt_timeout () {
    zt_to=$(zt_scale "$1")
    shift
    timeout -k 3 "$zt_to" "$@"
}

# wait_for SECONDS 'shell condition' : poll every 0.1 s until the
# condition holds (0) or SECONDS (scaled) have passed (1)
wait_for () {
    zt_wf_limit=$(zt_scale "$1")
    zt_wf_end=$(awk -v t="$zt_wf_limit" -v n="$(date +%s.%N)" 'BEGIN { printf "%.3f\n", n + t }')
    while :; do
        if eval "$2"; then
            return 0
        fi
        if awk -v e="$zt_wf_end" -v n="$(date +%s.%N)" 'BEGIN { exit !(n > e) }'; then
            echo "wait_for: timed out after ${zt_wf_limit}s waiting for: $2" >&2
            return 1
        fi
        sleep 0.1
    done
}

# milliseconds since the epoch
zt_now_ms () { date +%s%3N; }

# ------------------------------------------------------------ clusters

# zt_cluster_start N [ARGS...]: zpar cluster start -n N in the background
# of our ZPAR_DIR; exports ZPAR_CONNECTION_FILE (the path it prints).
zt_cluster_start () {
    zt_n=$1
    shift
    zt_timeout 60 "$ZPAR" cluster start -n "$zt_n" "$@" >"$ZT_TMP/cluster-start.out" \
        2>"$ZT_TMP/cluster-start.err"
    zt_rc=$?
    # record what it started even if it failed half-way
    # shellcheck disable=SC2046
    zt_record_pid $(zt_cluster_pids)
    if [ $zt_rc != 0 ]; then
        echo "zpar cluster start -n $zt_n failed ($zt_rc):" >&2
        cat "$ZT_TMP/cluster-start.out" "$ZT_TMP/cluster-start.err" >&2
        return 1
    fi
    ZPAR_CONNECTION_FILE=$(grep -E '^/' "$ZT_TMP/cluster-start.out" | grep 'json' | tail -n 1)
    if [ -z "$ZPAR_CONNECTION_FILE" ] || [ ! -f "$ZPAR_CONNECTION_FILE" ]; then
        echo "zpar cluster start did not print a connection file path:" >&2
        cat "$ZT_TMP/cluster-start.out" >&2
        return 1
    fi
    export ZPAR_CONNECTION_FILE
    return 0
}

zt_cluster_stop () {
    zt_timeout 30 "$ZPAR" cluster stop
}

# zt_controller DIR: start a controller by hand; waits for DIR/client.json
zt_controller () {
    zt_cd=$1
    shift
    mkdir -p "$zt_cd"
    zt_cn=controller-$(basename "$zt_cd")
    zt_spawn "$zt_cn" "$ZPAR" controller --dir "$zt_cd" "$@" || return 1
    ZT_CONTROLLER_PID=$ZT_LAST_PID
    wait_for 20 "test -s '$zt_cd/client.json' && test -s '$zt_cd/engine.json' || ! zt_alive $ZT_CONTROLLER_PID" \
        || return 1
    if ! zt_alive "$ZT_CONTROLLER_PID"; then
        echo "the controller exited:" >&2
        cat "$ZT_TMP/$zt_cn.err" >&2
        return 1
    fi
    ZPAR_CONNECTION_FILE=$zt_cd/client.json
    export ZPAR_CONNECTION_FILE
}

# zt_engine DIR [NAME]: start an engine by hand against DIR/engine.json;
# sets ZT_LAST_PID
zt_engine () {
    zt_spawn "${2:-engine}" "$ZPAR" engine --connection-file "$1/engine.json"
}

# ------------------------------------------------------------ controller restarts
#
# The restart tests keep in their work directory: dir.txt (the cluster's
# directory), ctl.pid (the live controller's pid) and saved.json (the
# connection file a controller started with --reuse takes its ports and
# key from).

# zt_restart_cluster N: a cluster of N engines (zt_cluster_start), its
# directory into dir.txt, its controller's pid into ctl.pid; waits until
# the N engines are idle
zt_restart_cluster () {
    zt_cluster_start "$1" || return 1
    zt_rd=$(dirname "$ZPAR_CONNECTION_FILE")
    echo "$zt_rd" >dir.txt &&
        awk '/^controller/ {print $2}' "$zt_rd/pids" >ctl.pid &&
        wait_for 30 "zt_timeout 10 $ZPAR status 2>/dev/null | grep -q \"$1 idle\""
}

# zt_start_reusing TAG: start a controller in the cluster's directory with
# --reuse saved.json (its pid into ctl.pid; output in
# $ZT_TMP/controllerTAG-TRY.*) and wait until it wrote its connection
# file; again while its port is not free yet (a client reconnecting to a
# port nobody listens on can hold it for a moment on loopback)
zt_start_reusing () {
    zt_rd=$(cat dir.txt)
    for zt_try in 1 2 3 4 5 6 7 8 9 10; do
        zt_spawn "controller$1-$zt_try" "$ZPAR" controller --dir "$zt_rd" --reuse saved.json &&
            echo $ZT_LAST_PID >ctl.pid &&
            wait_for 20 "grep -q \"\\\"pid\\\": $ZT_LAST_PID\" $zt_rd/client.json || ! zt_alive $ZT_LAST_PID" &&
            zt_alive $ZT_LAST_PID && return 0
        grep -q "already in use" "$ZT_TMP/controller$1-$zt_try.err" || return 1
        sleep 0.5
    done
    return 1
}

# zt_restart_controller TAG [PID]: save the cluster's connection file into
# saved.json, SIGKILL the controller (PID, default the one in ctl.pid) and
# start another on the same ports and key (zt_start_reusing TAG)
zt_restart_controller () {
    zt_rd=$(cat dir.txt) &&
        cp "$zt_rd/client.json" saved.json &&
        zt_rpid=${2:-$(cat ctl.pid)} &&
        kill -KILL "$zt_rpid" &&
        wait_for 10 "! zt_alive $zt_rpid" &&
        zt_start_reusing "$1"
}

# the number of engines the controller lists in a given state (default any
# live state: idle or busy), through the test client
zt_engines_in_state () {
    "$TESTCLIENT" engines 2>/dev/null | awk -v s="${1:-live}" '
        $1 == "engine" { for (i = 2; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
                         if (s == "live" ? (f["state"] != "dead") : (f["state"] == s)) n++ }
        END { print n + 0 }'
}

# zt_controller_tcp CLIENT_JSON: the established TCP connections to the
# ports of the controller of that connection file (ss)
zt_controller_tcp () {
    zt_ports=$(grep -o 'tcp://[0-9.]*:[0-9]*' "$1" | sed 's/.*://' | sort -u | paste -sd '|')
    ss -Htn state established | awk -v p="^($zt_ports)\$" '
        { k = split($3, l, ":"); if (l[k] ~ p) c++ } END { print c + 0 }'
}

# zt_json_num FILE KEY: the first number after "KEY": in FILE
zt_json_num () {
    sed -n "s/.*\"$2\"[[:space:]]*:[[:space:]]*\\([0-9][0-9]*\\).*/\\1/p" "$1" | head -n 1
}

# expect_eq WHAT EXPECTED ACTUAL
expect_eq () {
    if [ "$2" != "$3" ]; then
        echo "expected $1 = '$2', got '$3'" >&2
        return 1
    fi
}

# expect_grep PATTERN FILE : grep -E with the file shown on failure
expect_grep () {
    if ! grep -E -- "$1" "$2" >/dev/null; then
        echo "expected /$1/ in $2:" >&2
        sed 's/^/  | /' "$2" >&2
        return 1
    fi
}
expect_no_grep () {
    if grep -E -- "$1" "$2" >/dev/null; then
        echo "did not expect /$1/ in $2:" >&2
        sed 's/^/  | /' "$2" >&2
        return 1
    fi
}
