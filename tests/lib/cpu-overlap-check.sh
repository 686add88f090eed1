#!/bin/sh
# cpu-overlap-check.sh FILE... - no CPU of a host used by two tasks at once.
# Reads the lines "use host=H cpus=LIST start=T0 end=T1 point=P" that the
# processes of the tasks printed (LIST their Cpus_allowed_list, T0 and T1
# seconds when they started and ended: a conservative window, inside the
# process's life) and fails when two of them of different points P share
# a CPU of the same host for more than 10 ms.  Prints "N uses checked" and
# returns 0, else every overlap on stderr and 1.
cat "$@" | awk '
function expand(list, out,    n, parts, i, ab, c, k) {
    k = 0
    n = split(list, parts, ",")
    for (i = 1; i <= n; i++) {
        if (split(parts[i], ab, "-") == 2) { for (c = ab[1] + 0; c <= ab[2] + 0; c++) out[++k] = c }
        else out[++k] = parts[i] + 0
    }
    return k
}
/^use / {
    delete v
    for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
    u++
    host[u] = v["host"]; s[u] = v["start"] + 0; e[u] = v["end"] + 0; p[u] = v["point"]
    nc[u] = expand(v["cpus"], tmp)
    for (j = 1; j <= nc[u]; j++) cpu[u, j] = tmp[j]
}
END {
    bad = 0
    for (a = 1; a <= u; a++) for (b = a + 1; b <= u; b++) {
        if (host[a] != host[b] || p[a] == p[b]) continue
        lo = (s[a] > s[b]) ? s[a] : s[b]; hi = (e[a] < e[b]) ? e[a] : e[b]
        if (hi - lo <= 0.01) continue
        for (i = 1; i <= nc[a]; i++) for (j = 1; j <= nc[b]; j++) if (cpu[a, i] == cpu[b, j]) {
            printf "CPU %s of %s: point %s (%.3f-%.3f) and point %s (%.3f-%.3f) at once\n", cpu[a, i], host[a], p[a], s[a], e[a], p[b], s[b], e[b] > "/dev/stderr"
            bad = 1; i = nc[a] + 1; break
        }
    }
    print u + 0 " uses checked"
    exit bad
}'
