#!/usr/bin/env python3
# sweep-markers.py DIR STOP [SLACK] [--once] - check the marker files of a
# walltime test's sweep: each point appends "start T" before its work and
# "end T" after it to DIR/<point>.  Fails (exit 1, one line why) when a
# point started and did not finish (it was cut), or finished after STOP
# (Unix seconds) + SLACK (default 0.5: the marker is written just before
# the process exits); with --once, also when a point ran more than once.
# Prints the number of starts.
import os
import sys

args = [a for a in sys.argv[1:] if a != "--once"]
once = "--once" in sys.argv[1:]
d, stop = args[0], float(args[1])
slack = float(args[2]) if len(args) > 2 else 0.5
started = 0
for f in sorted(os.listdir(d)):
    words = open(os.path.join(d, f)).read().split()
    pairs = list(zip(words[::2], words[1::2]))
    starts = [float(v) for k, v in pairs if k == "start"]
    ends = [float(v) for k, v in pairs if k == "end"]
    started += len(starts)
    if len(starts) != len(ends):
        sys.exit("point %s: started %d times, finished %d (cut)" % (f, len(starts), len(ends)))
    if once and len(starts) > 1:
        sys.exit("point %s: ran %d times" % (f, len(starts)))
    late = [e for e in ends if e > stop + slack]
    if late:
        sys.exit("point %s: finished at %.2f, after the stop time %.2f" % (f, late[0], stop))
print(started)
