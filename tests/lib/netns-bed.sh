# netns-bed.sh - N real hosts on this machine for multi-host system tests:
# network namespaces on a bridge, optionally with a real Slurm across them
# (adapted from the project's netns-cluster recipe).  POSIX sh; source it
# after sharness-lite.sh (or, outside a test, define skip_all REASON first):
#
#   . "$LIBDIR/sharness-lite.sh"
#   . "$LIBDIR/netns-bed.sh"
#   bed_up 4 --slurm          # skips the test when the machine cannot
#   srun -N 4 -n 4 hostname   # h1 h2 h3 h4
#   bed_on h2 CMD...          # CMD "on" host h2
#   bed_fault partition h3    # heal, kill, poweroff, revive
#   mpirun --hostfile "$(bed_hostfile)" -n 8 CMD
#
# bed_up N [--slurm] builds hosts h1..hN: host hK is a network namespace
# with its own host name (UTS namespace) and /etc/hosts (a private mount
# namespace, through $BED_DIR/bin/on), a veth "eth0" on the bridge, address
# $BED_NET.(10+K)/24.  The bridge has $BED_NET.1, host "head": the root
# namespace.  With --slurm also munged, slurmctld on $BED_NET.1 and one
# slurmd per host, SLURM_CONF exported (and MpiDefault=pmix, 2 CPUs per host).
# Exported too, also in $BED_DIR/env.sh: the Open MPI variables for the bed
# (root allowed, ob1 + TCP over the bridge subnet only, mpirun starts its
# orteds through the bed's rsh agent, so a --hostfile works without ssh).
#
# Unique per run (several beds run at once; the recipe's own bed too): the
# name prefix zb$$ (netns zb$$-hK, bridge zb$$-br, veths zb$$-vK; a letter
# is added when taken), the subnet 10.24x.y (from $$, the next one when it
# is routed here already), the slurmctld port (from $$, the next free one),
# the state dir ($ZT_TMP/bed).  The choice is made under a lock
# (flock on /run/netns) and the bridge address taken before it is
# released.
#
# Teardown: bed_up installs an EXIT trap that runs bed_down and then the
# test's own EXIT action (chained).  bed_down SIGKILLs the bed's processes
# only (the daemons it recorded, every process in its namespaces, every
# process started by bin/on: they carry BED_MARK=$BED_DIR) and deletes its
# veths, namespaces and bridge, and any other interface or namespace named
# with the bed's prefix ("$BED_PREFIX-..."): name what a test adds that way
# and it is removed with the bed.  A reaper process (tests/lib/bed/bed-reaper.sh)
# does the same if the test is SIGKILLed before its trap could run.
#
# Variables: BED_N, BED_NET (first 3 octets), BED_DIR, BED_HOSTS ("h1 .. hN"),
# BED_PREFIX, BED_ENV (the env file).  Functions: bed_up, bed_on, bed_fault,
# bed_hostfile, bed_down, bed_ip HOST, bed_procs STRING, bed_expect_known.
BED_LIB=${srcdir:-.}/tests/lib
[ -f "$BED_LIB/bed/bed-up.sh" ] || BED_LIB=$(cd "$(dirname "$0")/../lib" && pwd)
# the choice is serialised by a lock on /run/netns (a directory every bed
# needs anyway: nothing is left behind)
BED_LOCK=/run/netns

# bed__choose: prefix, subnet and port unique to this run; takes the bridge
# (with its address) while holding the lock.  Writes bed__chosen.
bed__choose () {
    (
        flock -w 30 9 || { echo "cannot take $BED_LOCK" >&2; exit 1; }
        pre=
        for l in "" a b c d e f g; do
            p=zb$$$l
            if [ ! -e "/run/netns/$p-h1" ] && ! ip link show "$p-br" >/dev/null 2>&1 &&
                ! ip link show "$p-v1" >/dev/null 2>&1; then
                pre=$p
                break
            fi
        done
        [ -n "$pre" ] || { echo "no free name prefix zb$$*" >&2; exit 1; }
        i=$(($$ % 2500))
        net=
        for _ in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
            n=10.$((240 + i / 250)).$((i % 250 + 1))
            if ! ip -4 route show to match "$n.1" | grep -v '^default' | grep -q . &&
                ! ip -4 -o addr show | grep -qF " $n."; then
                net=$n
                break
            fi
            i=$(((i + 1) % 2500))
        done
        [ -n "$net" ] || { echo "no free subnet 10.24x.y" >&2; exit 1; }
        port=$((20000 + $$ % 20000))
        while ss -Hltn "sport = :$port" 2>/dev/null | grep -q .; do port=$((port + 1)); done
        echo "bridge $pre-br" >>"$BED_DIR/state/net"
        ip link add "$pre-br" type bridge stp_state 0 forward_delay 0 &&
            ip addr add "$net.1/24" dev "$pre-br" || exit 1
        echo "BED_PREFIX=$pre BED_NET=$net BED_CTLD_PORT=$port" >"$BED_DIR/state/chosen"
    ) 9<"$BED_LOCK"
}

# bed_up N [--slurm]
bed_up () {
    BED_N=$1
    bed__slurm=0
    [ "${2:-}" = --slurm ] && bed__slurm=1
    PATH=$PATH:/usr/sbin:/sbin
    export PATH
    [ "$(id -u)" = 0 ] || skip_all "needs root (network namespaces, a bridge, Slurm daemons)"
    for c in ip bridge nsenter unshare flock ss setsid; do
        command -v $c >/dev/null 2>&1 || skip_all "no $c program (iproute2, util-linux)"
    done
    if [ $bed__slurm = 1 ]; then
        for c in munged slurmctld slurmd srun sbatch sinfo scontrol; do
            command -v $c >/dev/null 2>&1 || skip_all "no $c program (slurm-wlm, munge)"
        done
    fi
    if [ -n "${ZT_TMP:-}" ]; then
        BED_DIR=$ZT_TMP/bed
        # munged wants every directory above its socket searchable by all
        chmod go+x "$ZT_TMP"
    else
        BED_DIR=$(mktemp -d /tmp/zpar-bed.XXXXXX) || exit 1
        chmod 755 "$BED_DIR"
        bed__own_dir=1
    fi
    mkdir -p "$BED_DIR/state" "$BED_DIR/log"
    : >"$BED_DIR/state/net"
    : >"$BED_DIR/state/pids"

    # teardown: our EXIT action first, then the one already installed
    trap >"$BED_DIR/state/traps"
    bed__prev=
    eval "$(sed -n 's/^trap -- \(.*\) EXIT$/bed__prev=\1/p' "$BED_DIR/state/traps")"
    # shellcheck disable=SC2064
    trap "bed__rc=\$?; bed_down; (exit \$bed__rc); $bed__prev" EXIT
    # ... and the reaper, for a test killed by SIGKILL
    bed__start=$(awk '{ print $22 }' /proc/$$/stat)
    env -u ZPAR_TEST_MARK setsid "$BED_LIB/bed/bed-reaper.sh" $$ "$bed__start" "$BED_DIR" \
        "${ZT_TMP:-}" </dev/null >/dev/null 2>&1 &
    echo $! >"$BED_DIR/state/reaper"

    # can this machine make a namespace at all?
    if ! ip netns add "zb$$-probe" 2>"$BED_DIR/log/probe.err"; then
        skip_all "the kernel refuses network namespaces: $(cat "$BED_DIR/log/probe.err")"
    fi
    ip netns del "zb$$-probe"

    bed__choose 2>"$BED_DIR/log/choose.err" || {
        echo "Bail out! netns-bed: $(cat "$BED_DIR/log/choose.err")"
        exit 1
    }
    . "$BED_DIR/state/chosen"
    if ! BED_DIR=$BED_DIR BED_PREFIX=$BED_PREFIX BED_NET=$BED_NET BED_N=$BED_N \
        BED_SLURM=$bed__slurm BED_CTLD_PORT=$BED_CTLD_PORT BED_CPUS=${BED_CPUS:-2} \
        BED_TIMEOUT=$(zt_scale 30 2>/dev/null || echo 30) \
        "$BED_LIB/bed/bed-up.sh" >"$BED_DIR/log/up.log" 2>&1; then
        echo "Bail out! netns-bed: bed_up $BED_N failed: $(tail -n 3 "$BED_DIR/log/up.log" | tr '\n' ' ')"
        exit 1
    fi
    BED_HOSTS=$(seq -f 'h%g' 1 "$BED_N" | tr '\n' ' ')
    BED_HOSTS=${BED_HOSTS% }
    BED_ENV=$BED_DIR/env.sh
    . "$BED_ENV"
    export BED_N BED_NET BED_DIR BED_HOSTS BED_PREFIX BED_ENV
}

# bed_on HOST CMD [ARGS...]: run CMD on host HOST (hK or head)
bed_on () { "$BED_DIR/bin/on" "$@"; }

# bed_fault partition|heal|kill|poweroff|revive HOST
bed_fault () { "$BED_LIB/bed/bed-fault.sh" "$BED_DIR" "$@"; }

# bed_hostfile [--names]: the path of an mpirun hostfile of the bed's hosts
# (addresses: works from any shell; --names: host names, for a command run
# with bed_on head)
bed_hostfile () {
    if [ "${1:-}" = --names ]; then echo "$BED_DIR/etc/hostfile"; else echo "$BED_DIR/etc/hostfile.ip"; fi
}

# bed_ip HOST: the address of hK (or head)
bed_ip () {
    case $1 in
    head) echo "$BED_NET.1" ;;
    *) echo "$BED_NET.$((10 + ${1#h}))" ;;
    esac
}

# bed_procs STRING: "HOST: command line" of every process on the bed's hosts
# whose command line contains STRING (e.g. "$ZPAR": what a test left)
bed_procs () {
    for bed__h in $BED_HOSTS; do
        for bed__p in $(ip netns pids "$BED_PREFIX-$bed__h" 2>/dev/null); do
            tr '\0' ' ' <"/proc/$bed__p/cmdline" 2>/dev/null | grep -F -- "$1" | sed "s/^/$bed__h: /"
        done
    done
    return 0
}

# bed_down: remove everything of the bed (safe to call twice)
bed_down () {
    [ -n "${BED_DIR:-}" ] && [ -d "$BED_DIR/state" ] || return 0
    "$BED_LIB/bed/bed-down.sh" "$BED_DIR" "" "${BED_PREFIX:-}"
    bed__drc=$?
    # a state dir of our own (outside a test's temp dir) goes too
    [ "${bed__own_dir:-0}" = 0 ] || rm -rf "$BED_DIR"
    return $bed__drc
}

# bed_expect_known KEY 'description' 'body': test_expect_success, but an
# expected failure (TAP "# TODO") while KEY is listed in
# tests/lib/bed/known-failing (a check that fails on main until a named fix
# lands).  "KEY sometimes": TODO only when it fails, a plain ok when it
# passes.  A listed KEY (without "sometimes") that passes is reported
# "ok ... # TODO": an unexpected pass, which fails the suite: then remove
# its line.
bed_expect_known () {
    bed__kf=$BED_LIB/bed/known-failing
    bed__k=$(sed 's/#.*//' "$bed__kf" 2>/dev/null | awk -v k="$1" '$1 == k { print ($2 == "sometimes") ? "sometimes" : "always" }')
    if [ -z "$bed__k" ]; then
        test_expect_success "$2" "$3"
        return
    fi
    zt_count=$((zt_count + 1))
    bed__todo="# TODO known failing (tests/lib/bed/known-failing: $1)"
    if zt_run_body "$3"; then
        zt_passed=$((zt_passed + 1))
        if [ "$bed__k" = always ]; then echo "ok $zt_count - $2 $bed__todo"; else echo "ok $zt_count - $2"; fi
    else
        echo "not ok $zt_count - $2 $bed__todo"
        [ "$zt_verbose" = 1 ] || tail -n 30 "$ZT_LOG" | sed 's/^/# /'
    fi
}
