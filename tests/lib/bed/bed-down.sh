#!/usr/bin/env bash
# bed-down.sh DIR [TEST_MARK] - tear down the test bed whose state is in DIR
# (made by bed-up.sh): SIGKILL every process of the bed, then delete its
# veths, namespaces and bridge.  The bed's processes are: the daemons
# recorded in DIR/state/pids (each checked to run the recorded program),
# every process inside one of its host namespaces (`ip netns pids`), and
# every process carrying BED_MARK=DIR (all that bin/on started, on head too).
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
