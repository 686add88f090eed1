#!/usr/bin/env python3
# sweep-once.py REPORT.json N SIDE: the check of a sweep run across the
# multi-host bed (t0510, t0530).  REPORT.json is `zpar sweep report
# --format json`, N the number of points, SIDE the side-effect file (one
# line "INDEX HOST" per run of a point).  Exit 0 when every point
# succeeded in one attempt, ran exactly once, on the host the report
# names, and the points ran on at least two of h1..h4; 1 otherwise.
import collections
import json
import sys

rows = json.load(open(sys.argv[1]))
n = int(sys.argv[2])
side = [l.split() for l in open(sys.argv[3]) if l.strip()]
bad = [r for r in rows if r["state"] != "succeeded" or r["attempts"] != 1]
ran = collections.Counter(int(i) for i, h in side)
hosts = collections.Counter(r["host"] for r in rows)
print("points per host (report):", dict(sorted(hosts.items())))
print("side effects per point:", dict(sorted(ran.items())))
ok = len(rows) == n and not bad
ok = ok and sorted(ran) == list(range(n)) and set(ran.values()) == {1}
where = {int(i): h for i, h in side}
ok = ok and all(r["host"] == where.get(r["index"]) for r in rows)
ok = ok and len(hosts) >= 2 and set(hosts) <= {"h1", "h2", "h3", "h4"}
if bad:
    print("not succeeded once:", bad)
sys.exit(0 if ok else 1)
