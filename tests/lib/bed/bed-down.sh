#!/usr/bin/env bash
# bed-down.sh DIR [TEST_MARK [PREFIX]] - tear down the test bed whose state is in DIR
# (made by bed-up.sh): SIGKILL every process of the bed, then delete its
# veths, namespaces and bridge.  The bed's processes are: the daemons
# recorded in DIR/state/pids (each checked to run the recorded program),
# every process inside one of its host namespaces (`ip netns pids`), and
# every process carrying BED_MARK=DIR (all that bin/on started, on head too).
# Interfaces and namespaces a test added with the bed's name prefix
# ($BED_PREFIX-...) are deleted too.
# With TEST_MARK (used by the reaper once the test itself is gone) also the
# processes carrying ZPAR_TEST_MARK=TEST_MARK.  With PREFIX (the bed's name
# prefix), it works also when DIR is gone: every namespace and interface
# named PREFIX-... is the bed's.  Nothing is killed by name.  It ignores
# SIGTERM/SIGINT/SIGHUP (a test's timeout signals the whole process group:
# the teardown must not stop half-way), and every step that reads other
# processes is bounded in time.  Safe to run twice; quiet unless something
# is left.
set -uo pipefail
trap '' TERM INT HUP
export PATH=$PATH:/usr/sbin:/sbin
DIR=$1
MARK=${2:-}
PREFIX=${3:-}
NET=$DIR/state/net
PIDS=$DIR/state/pids
[ -f "$NET" ] || [ -f "$PIDS" ] || [ -n "$PREFIX" ] || exit 0
net_of() { [ -f "$NET" ] && awk -v k="$1" '$1 == k { print $2 }' "$NET"; }
[ -n "$PREFIX" ] || PREFIX=$(net_of bridge | sed -n '1s/-br$//p')
# the bed's namespaces: recorded, or named with its prefix
bed_netns() {
    {
        net_of netns
        [ -z "$PREFIX" ] || timeout 5 ip netns list 2>/dev/null | awk -v p="$PREFIX-" 'index($1, p) == 1 { print $1 }'
    } | sort -u
}

# the bed's live processes (not this one, not zombies)
bed_pids() {
    local p key pid ns
    {
        if [ -f "$PIDS" ]; then
            while read -r key pid; do
                name=${key%%-*}
                [ -d "/proc/$pid" ] &&
                    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | awk '{ print $1 }' | grep -q "$name\$" &&
                    echo "$pid"
            done <"$PIDS"
        fi
        for ns in $(bed_netns); do timeout 5 ip netns pids "$ns" 2>/dev/null; done
        timeout 5 grep -lzxF "BED_MARK=$DIR" /proc/[0-9]*/environ 2>/dev/null | cut -d/ -f3
        [ -z "$MARK" ] || timeout 5 grep -lzxF "ZPAR_TEST_MARK=$MARK" /proc/[0-9]*/environ 2>/dev/null | cut -d/ -f3
    } | sort -un | while read -r p; do
        [ "$p" = $$ ] && continue
        [ "$p" = "$PPID" ] && continue
        [ "$(awk '{ print $3 }' "/proc/$p/stat" 2>/dev/null)" = Z ] && continue
        [ -d "/proc/$p" ] && echo "$p"
    done
}
end=$(($(date +%s) + 15))
while [ "$(date +%s)" -lt "$end" ]; do # repeat: a dying parent may just have forked
    left=$(bed_pids)
    [ -n "$left" ] || break
    # shellcheck disable=SC2086
    kill -KILL $left 2>/dev/null
    sleep 0.05
done
left=$(bed_pids)
[ -z "$left" ] || echo "bed-down: processes still alive: $left" >&2

nslist=$(bed_netns)
for v in $(net_of veth); do ip link del "$v" 2>/dev/null; done
for ns in $nslist; do [ -e "/run/netns/$ns" ] && ip netns del "$ns"; done
for b in $(net_of bridge); do ip link del "$b" 2>/dev/null; done
# whatever else a test made with the bed's prefix (an extra bridge, veths):
# the prefix is this bed's alone
if [ -n "$PREFIX" ]; then
    for l in $(ip -o link show 2>/dev/null | awk -F': ' -v p="$PREFIX-" '{ sub(/@.*/, "", $2) } index($2, p) == 1 { print $2 }'); do
        ip link del "$l" 2>/dev/null
    done
fi
rc=0
for ns in $nslist; do [ ! -e "/run/netns/$ns" ] || { echo "bed-down: netns $ns left" >&2; rc=1; }; done
for l in $(net_of veth) $(net_of bridge); do
    ! ip link show "$l" >/dev/null 2>&1 || { echo "bed-down: interface $l left" >&2; rc=1; }
done
reaper=$(cat "$DIR/state/reaper" 2>/dev/null)
rm -f "$NET" "$PIDS" "$DIR/state/reaper" "$DIR/munge/munge.socket" "$DIR/munge/munge.socket.lock"
# the reaper (tests/lib/bed/bed-reaper.sh), unless it is the one running us
if [ -n "$reaper" ] && [ "$reaper" != "$PPID" ] && [ -d "/proc/$reaper" ] &&
    grep -qF bed-reaper "/proc/$reaper/cmdline" 2>/dev/null; then
    kill -KILL "$reaper" 2>/dev/null
fi
exit $rc
