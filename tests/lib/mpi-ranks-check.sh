#!/bin/sh
# mpi-ranks-check.sh FILE N SLOT... - check the lines of tests/lib/mpi-where
# in FILE against the slots of the MPI task that printed them: exactly N
# ranks (0..N-1, each once, every one with size=N and the sum of all
# ranks: one MPI job); each rank holds an engine of the slots ("ENGINE_ID
# HOST CPUSET GPUS MEMBYTES", as ZPAR_TASK_SLOTS lists them, or one ';'
# separated argument), no engine twice when there are as many slots as
# ranks; it ran on that engine's host, and its CPU affinity is that
# engine's cpuset (when bound).  Silent and 0 when all holds; else each
# problem on stderr and 1.
f=$1
n=$2
shift 2
slots=$(printf '%s;' "$@")
awk -v n="$n" -v slots="$slots" '
BEGIN {
    ns = split(slots, s, ";")
    k = 0
    for (i = 1; i <= ns; i++) {
        if (s[i] == "") continue
        split(s[i], f, " ")
        k++
        host[f[1]] = f[2]; cpus[f[1]] = f[3]
    }
    nslots = k
    bad = 0
}
/^rank=/ {
    delete v
    for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = substr($i, length(kv[1]) + 2) }
    r = v["rank"]; lines++
    if (r in seen) { print "rank " r " printed twice" > "/dev/stderr"; bad = 1 }
    seen[r] = 1
    if (v["size"] != n) { print "rank " r ": size " v["size"] ", expected " n > "/dev/stderr"; bad = 1 }
    if (v["sum"] != n * (n - 1) / 2) { print "rank " r ": sum " v["sum"] " (not one job of " n ")" > "/dev/stderr"; bad = 1 }
    e = v["engine"]
    if (!(e in host)) { print "rank " r ": engine " e " is not one of the slots" > "/dev/stderr"; bad = 1; next }
    if (nslots == n && (e in used)) { print "rank " r ": engine " e " already held by rank " used[e] > "/dev/stderr"; bad = 1 }
    used[e] = r
    if (v["host"] != host[e]) { print "rank " r ": on " v["host"] ", its engine " e " is on " host[e] > "/dev/stderr"; bad = 1 }
    if (cpus[e] != "-" && v["cpus"] != cpus[e]) { print "rank " r ": cpus " v["cpus"] ", its engine " e " holds " cpus[e] > "/dev/stderr"; bad = 1 }
}
END {
    for (r = 0; r < n; r++) if (!(r in seen)) { print "rank " r " missing" > "/dev/stderr"; bad = 1 }
    if (lines != n) { print lines + 0 " rank lines, expected " n > "/dev/stderr"; bad = 1 }
    exit bad
}' "$f"
