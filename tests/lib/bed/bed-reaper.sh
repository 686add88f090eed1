#!/bin/sh
# bed-reaper.sh PID START DIR [TEST_MARK] - started by netns-bed.sh beside a
# test: waits until the test's shell (PID, with start time START in
# /proc/PID/stat) is gone, then tears its bed down (bed-down.sh DIR) if the
# test could not (it was SIGKILLed: no EXIT trap ran; or its teardown was
# cut short and its state dir removed: the bed's name prefix, read while
# the test runs, still names what is left), and removes DIR.
# bed-down.sh kills this process when the test tears its bed down itself.
pid=$1 start=$2 dir=$3 mark=${4:-}
here=$(cd "$(dirname "$0")" && pwd)
prefix=
while [ "$(awk '{ print $22 }' "/proc/$pid/stat" 2>/dev/null)" = "$start" ]; do
    # the bed's name prefix, kept here: the test may lose its state dir
    [ -n "$prefix" ] || prefix=$(sed -n 's/^BED_PREFIX=\([^ ]*\) .*/\1/p' "$dir/state/chosen" 2>/dev/null)
    sleep 0.5
done
if [ -f "$dir/state/net" ] || [ -f "$dir/state/pids" ] ||
    { [ -n "$prefix" ] && ip netns list 2>/dev/null | grep -q "^$prefix-"; }; then
    "$here/bed-down.sh" "$dir" "$mark" "$prefix" >/dev/null 2>&1
    rm -rf "$dir"
    # the test's own temp dir, when the bed lives in it (sharness-lite's ZT_TMP)
    [ -n "$mark" ] && [ "${dir#"$mark"/}" != "$dir" ] && rm -rf "$mark"
fi
exit 0
