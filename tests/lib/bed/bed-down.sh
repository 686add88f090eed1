#!/usr/bin/env bash
# bed-down.sh DIR [TEST_MARK] - tear down the test bed whose state is in DIR
# (made by bed-up.sh): SIGKILL every process of the bed, then delete its
# veths, namespaces and bridge.  The bed's processes are: the daemons
# recorded in DIR/state/pids (each checked to run the recorded program),
# every process inside one of its host namespaces (`ip netns pids`), and
# every process carrying BED_MARK=DIR (all that bin/on started, on head too).
# Interfaces and namespaces a test added with the bed's name prefix
# ($BED_PREFIX-...) are deleted too.
# With TEST_MARK (used by the reaper once the test itself is gone) also the
# processes carrying ZPAR_TEST_MARK=TEST_MARK.  Nothing is killed by name.
# Safe to run twice; quiet unless something is left.
set -uo pipefail
export PATH=$PATH:/usr/sbin:/sbin
DIR=$1
MARK=${2:-}
NET=$DIR/state/net
PIDS=$DIR/state/pids
[ -f "$NET" ] || [ -f "$PIDS" ] || exit 0
net_of() { [ -f "$NET" ] && awk -v k="$1" '$1 == k { print $2 }' "$NET"; }

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
        for ns in $(net_of netns); do ip netns pids "$ns" 2>/dev/null; done
        grep -lzxF "BED_MARK=$DIR" /proc/[0-9]*/environ 2>/dev/null | cut -d/ -f3
        [ -z "$MARK" ] || grep -lzxF "ZPAR_TEST_MARK=$MARK" /proc/[0-9]*/environ 2>/dev/null | cut -d/ -f3
    } | sort -un | while read -r p; do
        [ "$p" = $$ ] && continue
        [ "$p" = "$PPID" ] && continue
        [ "$(awk '{ print $3 }' "/proc/$p/stat" 2>/dev/null)" = Z ] && continue
        [ -d "/proc/$p" ] && echo "$p"
    done
}
for _ in $(seq 1 30); do # repeat: a dying parent may just have forked
    left=$(bed_pids)
    [ -n "$left" ] || break
    # shellcheck disable=SC2086
    kill -KILL $left 2>/dev/null
    sleep 0.05
done
left=$(bed_pids)
[ -z "$left" ] || echo "bed-down: processes still alive: $left" >&2

for v in $(net_of veth); do ip link del "$v" 2>/dev/null; done
for ns in $(net_of netns); do [ -e "/run/netns/$ns" ] && ip netns del "$ns"; done
for b in $(net_of bridge); do ip link del "$b" 2>/dev/null; done
# whatever else a test made with the bed's prefix (an extra bridge, veths,
# namespaces): the prefix is this bed's alone
PREFIX=$(net_of bridge | sed -n '1s/-br$//p')
if [ -n "$PREFIX" ]; then
    for ns in $(ip netns list 2>/dev/null | awk -v p="$PREFIX-" 'index($1, p) == 1 { print $1 }'); do
        ip netns pids "$ns" 2>/dev/null | xargs -r kill -KILL 2>/dev/null
        ip netns del "$ns"
    done
    for l in $(ip -o link show 2>/dev/null | awk -F': ' -v p="$PREFIX-" '{ sub(/@.*/, "", $2) } index($2, p) == 1 { print $2 }'); do
        ip link del "$l" 2>/dev/null
    done
fi
rc=0
for ns in $(net_of netns); do [ ! -e "/run/netns/$ns" ] || { echo "bed-down: netns $ns left" >&2; rc=1; }; done
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
