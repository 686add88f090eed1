#!/usr/bin/python3
"""report.py - the table and the JSON of bench/run.sh.

    report.py META RAW [JSON]

META: "key<TAB>value" lines (mode, reps, date, load_start, load_end, ...).
RAW: "rep<TAB>key<TAB>value" lines, one per measured value per repetition
(rep 0: measured once per run).  Prints the table to stdout: every figure as
min/median/max over the repetitions, every ratio paired per repetition
(zpar_i / floor_i, then min/median/max of those ratios), the target and the
verdict (on the median ratio, with how many repetitions met it).  Writes
JSON to the file JSON when given: the metadata, every repetition's raw
values and the rows of the table.  Exit status 0, or 2 on bad input.
"""
import json
import statistics
import sys

# Reference figures for the peers, shown "(ref)" when they are not measured
# in the run: the product owner's measurements on this machine.
REF = {
    "ipp_rtt_p50_us": 4600.0,
    "dask_rtt_p50_us": 10600.0,
    "ipp_tput_per_s": 330.0,
    "dask_tput_per_s": 630.0,
    "ipp_start_s": 8.0,
}

# (label, zpar key, floor key, floor label, unit, target) where target is
# None or (what, op, limit): what = "ratio" or "value", op = "le" or "ge".
ROWS = [
    ("round trip, load-balanced, inline, p50", "lb_inline_p50_us", "broker_rtt_p50_us",
     "broker", "us", ("ratio", "le", 1.3)),
    ("round trip, load-balanced, inline, p99", "lb_inline_p99_us", "broker_rtt_p99_us",
     "broker", "us", ("ratio", "le", 2.0)),
    ("round trip, direct, inline, p50", "direct_inline_p50_us", "broker_rtt_p50_us",
     "broker", "us", None),
    ("round trip, direct, inline, p99", "direct_inline_p99_us", "broker_rtt_p99_us",
     "broker", "us", None),
    ("round trip, load-balanced, isolated, p50", "lb_iso_p50_us", "broker_rtt_p50_us",
     "broker", "us", None),
    ("round trip, load-balanced, isolated, p99", "lb_iso_p99_us", "broker_rtt_p99_us",
     "broker", "us", None),
    ("round trip, direct, isolated, p50", "direct_iso_p50_us", "broker_rtt_p50_us",
     "broker", "us", None),
    ("round trip, direct, isolated, p99", "direct_iso_p99_us", "broker_rtt_p99_us",
     "broker", "us", None),
    ("  the same, load-balanced inline p50: ipyparallel", "lb_inline_p50_us", "ipp_rtt_p50_us",
     "ipp", "us", None),
    ("  the same: Dask", "lb_inline_p50_us", "dask_rtt_p50_us", "dask", "us", None),
    ("no-op tasks/s, pipelined, inline, 2 engines", "tput_inline_per_s", "broker_msgs_per_s",
     "broker msg/s", "/s", ("ratio", "ge", 0.25)),
    ("  the same: ipyparallel (peer)", "tput_inline_per_s", "ipp_tput_per_s", "ipp",
     "/s", ("ratio", "ge", 100.0)),
    ("  the same: Dask (peer)", "tput_inline_per_s", "dask_tput_per_s", "dask", "/s", None),
    ("no-op tasks/s, pipelined, isolated", "tput_iso_per_s", "broker_msgs_per_s",
     "broker msg/s", "/s", None),
    ("/bin/true tasks/s, 2 engines", "cmd_per_s", "spawn2_per_s", "spawn x2",
     "/s", ("ratio", "ge", 0.95)),
    ("  the same: posix_spawn one at a time", "cmd_per_s", "spawn1_per_s", "spawn x1",
     "/s", None),
    ("  the same: a bare relay and two spawning workers", "cmd_per_s", "relay_cmds_per_s",
     "relay+2", "/s", None),
    ("  that relay against spawn x2 (no zpar)", "relay_cmds_per_s", "spawn2_per_s", "spawn x2",
     "/s", None),
    ("  the same: GNU parallel -j 2 (peer)", "cmd_per_s", "gnup_cmd_per_s", "GNU parallel",
     "/s", None),
    ("  the same: xargs -P 2 (peer)", "cmd_per_s", "xargs_cmd_per_s", "xargs", "/s", None),
    ("  CPU of each /bin/true itself (clone to exit)", "cmd_task_cpu_us", "spawn2_cmd_cpu_us",
     "spawn x2", "us", None),
    ("controller CPU per /bin/true task at 1,000/s", "ctl_rate_cpu_us", "broker_rate_cpu_us",
     "broker", "us", None),
    ("  the same: context switches per task", "ctl_rate_cs", "broker_rate_cs", "broker", "ratio",
     None),
    ("  the same against a relay with its own TCP I/O", "ctl_rate_cpu_us", "own_rate_cpu_us",
     "own-I/O relay", "us", None),
    ("  its context switches per task", "ctl_rate_cs", "own_rate_cs", "own-I/O relay", "ratio",
     None),
    ("cluster ready, 2 engines", "start_ready_s", "ipp_start_s", "ipp", "s",
     ("value", "le", 0.5)),
    ("controller RSS, idle", "rss_idle_kb", "broker_rss_kb", "broker", "kb",
     ("value", "le", 16384)),
    ("controller peak RSS (VmHWM) in the burst", "burst_hwm_kb", None, "", "kb",
     ("value", "le", 32768)),
    ("controller RSS settled after the burst", "rss_settled_kb", None, "", "kb",
     ("value", "le", 16384)),
    ("no-op tasks/s over the burst", "burst_per_s", "broker_msgs_per_s", "broker msg/s",
     "/s", None),
    ("task records: bytes per record", "bytes_per_record", None, "", "B",
     ("value", "le", 200)),
    ("task records in the database", "db_records", None, "", "", None),
]

# The 1,000-engine case, measured once per run (rep 0) by bench/many.sh:
# raw keys many_<engines>_<relays>_<field>.  (field, label, unit, target)
MANY_FIELDS = [
    ("registered_s", "all registered in", "s", ("value", "le", 5.0)),
    ("rss_kib_per_engine", "controller RSS per engine", "KiB", ("value", "le", 20.0)),
    ("hb_cpu_pct", "heartbeat CPU idle, % of a core", "%", ("value", "le", 5.0)),
    ("fds_per_engine", "controller fds per engine", "ratio", None),
    ("engines_with_tasks", "engines that ran a task", "", None),
    ("tasks_per_s", "no-op tasks/s", "/s", None),
    ("false_deaths", "engines declared dead", "", ("value", "le", 0)),
]


def fmt(v, unit):
    if v is None:
        return "-"
    if unit == "kb":
        return "%.1f" % (v / 1024.0)
    if unit == "s":
        return "%.3f" % v
    if unit in ("KiB", "%"):
        return "%.1f" % v
    if unit == "us":
        return "%.0f" % v
    if unit == "ratio":
        return "%.2f" % v if v < 10 else "%.0f" % v
    return "%.0f" % v


UNIT_TEXT = {"KiB": " KiB", "%": " %", "ratio": "", "kb": " MiB", "s": " s", "us": " us", "/s": "/s", "B": " B", "": ""}


def spread(vals):
    vals = [v for v in vals if v is not None]
    if not vals:
        return None
    return {"min": min(vals), "median": statistics.median(vals), "max": max(vals), "n": len(vals)}


def spread_text(s, unit, mark=""):
    if not s:
        return "-"
    if s["n"] == 1:
        return fmt(s["median"], unit) + UNIT_TEXT.get(unit, "") + mark
    return "/".join(fmt(s[k], unit) for k in ("min", "median", "max")) + UNIT_TEXT.get(unit, "") + mark


def meets(v, op, limit):
    return v <= limit if op == "le" else v >= limit


def main():
    if len(sys.argv) not in (3, 4):
        print(__doc__, file=sys.stderr)
        return 2
    meta = {}
    with open(sys.argv[1]) as f:
        for line in f:
            k, _, v = line.rstrip("\n").partition("\t")
            meta[k] = v
    reps = int(meta.get("reps", "1"))
    raw = {}  # rep -> {key: value}
    with open(sys.argv[2]) as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 3:
                continue
            try:
                raw.setdefault(int(parts[0]), {})[parts[1]] = float(parts[2])
            except ValueError:
                continue
    per_rep = [raw.get(i, {}) for i in range(1, reps + 1)]

    rows = []
    for label, zk, fk, flabel, unit, target in ROWS:
        zv = [r.get(zk) for r in per_rep]
        fv = [r.get(fk) for r in per_rep] if fk else [None] * reps
        ref = False
        if fk and all(v is None for v in fv) and fk in REF:
            fv = [REF[fk]] * reps
            ref = True
        ratios = [z / f if z is not None and f else None for z, f in zip(zv, fv)] if fk else []
        zs, fs, rs = spread(zv), spread(fv), spread(ratios)
        row = {"metric": label, "key": zk, "unit": unit, "zpar": zs, "zpar_values": zv,
               "floor_key": fk, "floor_label": flabel, "floor": fs, "floor_values": fv,
               "floor_is_reference": ref, "ratio": rs, "ratio_values": ratios,
               "target": None, "verdict": None}
        if target:
            what, op, limit = target
            vals = ratios if what == "ratio" else zv
            s = rs if what == "ratio" else zs
            row["target"] = {"on": what, "op": op, "limit": limit}
            if s:
                ok = [v for v in vals if v is not None and meets(v, op, limit)]
                row["verdict"] = "%s %d/%d" % ("PASS" if meets(s["median"], op, limit) else "FAIL",
                                               len(ok), s["n"]) + (" (ref)" if ref and what == "ratio" else "")
            else:
                row["verdict"] = "n/a"
        rows.append(row)
    once = raw.get(0, {})
    many_rows = []
    cases = sorted({tuple(int(x) for x in k.split("_")[1:3]) for k in once
                    if k.startswith("many_") and k.split("_")[1].isdigit()
                    and k.split("_")[2].isdigit()})
    for n, rl in cases:
        for field, label, unit, target in MANY_FIELDS:
            k = "many_%d_%d_%s" % (n, rl, field)
            if k not in once:
                continue
            s = spread([once[k]])
            row = {"metric": "%s engines, %s: %s" % (
                       format(n, ","), "direct" if rl == 0 else "%d relays" % rl, label),
                   "key": k, "unit": unit, "zpar": s, "zpar_values": [once[k]],
                   "floor_key": None, "floor": None, "ratio": None, "target": None,
                   "verdict": None}
            if field == "engines_with_tasks":
                target = ("value", "ge", float(n))
            if target:
                what, op, limit = target
                row["target"] = {"on": what, "op": op, "limit": limit}
                row["verdict"] = "PASS" if meets(once[k], op, limit) else "FAIL"
            many_rows.append(row)
    many = meta.get("many", "")
    load_start = meta.get("load_start", "")
    load_end = meta.get("load_end", "")
    warnings = []
    try:
        ls, le = float(load_start.split()[0]), float(load_end.split()[0])
        if ls > 1.5:
            warnings.append("the machine was BUSY at the start (load average %.2f > 1.5): these "
                            "figures are not comparable with a quiet run" % ls)
        if le > 6:
            warnings.append("the load ROSE to %.2f during the run (this benchmark alone makes "
                            "about 3-4): something else ran meanwhile" % le)
    except (ValueError, IndexError):
        pass

    # ------------------------------------------------------------ table
    w = max(len(r["metric"]) for r in rows + many_rows) + 1
    print()
    print("zpar benchmark (%s run, %d repetition%s%s, %s, %s cores, %s)" % (
        meta.get("mode", "?"), reps, "" if reps == 1 else "s",
        ", CurveZMQ" if meta.get("curve") else "", meta.get("date", "?"),
        meta.get("cores", "?"), meta.get("kernel", "?")))
    print("zpar %s (%s)" % (meta.get("zpar_build", "?"), meta.get("zpar_commit", "?")))
    print("load average at the start %s, at the end %s" % (load_start, load_end))
    for wmsg in warnings:
        print("!" * 78)
        print("!!! WARNING: " + wmsg)
        print("!" * 78)
    print("figures: min/median/max over the repetitions; ratio = zpar / floor, paired per "
          "repetition, then min/median/max;")
    print("verdict on the median ratio (or value), with the number of repetitions that met "
          "the target.  (ref) = reference")
    print("figure of the peer, not measured in this run (scripts/bench-deps.sh installs the "
          "peers).")
    print()
    fmt_row = "%-" + str(w) + "s | %-24s | %-32s | %-16s | %-10s | %s"
    print(fmt_row % ("metric", "zpar", "floor or peer", "ratio", "target", "verdict"))
    print(fmt_row % ("-" * w, "-" * 24, "-" * 32, "-" * 16, "-" * 10, "-" * 12))
    for r in rows + many_rows:
        floor = "-"
        if r["floor_key"]:
            floor = r["floor_label"] + " " + spread_text(
                r["floor"], r["unit"], " (ref)" if r["floor_is_reference"] else "")
        ratio = spread_text(r["ratio"], "ratio") if r["floor_key"] else "-"
        t = r["target"]
        if t:
            lim = t["limit"]
            if t["on"] == "value" and r["unit"] == "kb":
                lim_text = "%g MiB" % (lim / 1024)
            elif t["on"] == "value":
                lim_text = "%g%s" % (lim, UNIT_TEXT.get(r["unit"], ""))
            else:
                lim_text = "%gx" % lim
            target = ("<= " if t["op"] == "le" else ">= ") + lim_text
        else:
            target = "-"
        print(fmt_row % (r["metric"], spread_text(r["zpar"], r["unit"]), floor, ratio, target,
                         r["verdict"] or "-"))
    if not many_rows:
        print(fmt_row % ("controller RSS per engine, 1,000 engines", "-", "-", "-",
                         "<= 20 KiB", many or "not run"))
    print()
    tot = spread([r.get("completed_tasks") for r in per_rep])
    print("details: burst = %s no-op tasks submitted at once then waited for; the controller "
          "had completed %s tasks" % (meta.get("n_burst_n", "?"), spread_text(tot, "")))
    print("by the settled reading (%s s after the burst); bytes per record = tasks.sqlite (+ WAL) "
          "after the controller stopped / rows" % meta.get("n_settle", "?"))
    print("in its tasks table.  Counts: broker %s round trips, %s pipelined; spawn %s; zpar %s "
          "inline / %s isolated round" % (
              meta.get("n_floor_rtt"), meta.get("n_floor_tput"), meta.get("n_spawn_n"),
              meta.get("n_rtt_inline"), meta.get("n_rtt_iso")))
    print("trips, %s inline / %s isolated pipelined, %s commands; peers %s (%s round trips, %s "
          "pipelined)." % (meta.get("n_tput_n"), meta.get("n_tput_iso_n"), meta.get("n_cmd_n"),
                           meta.get("peers"), meta.get("n_peer_rtt"), meta.get("n_peer_tput")))
    if many_rows:
        print("1,000 engines: %s, once per run (engine-farm processes; the controller's RSS and "
              "fds with the engines" % meta.get("many", "bench/many.sh"))
        print("minus before them, over the engines; heartbeat CPU over an idle spell)." )

    if len(sys.argv) == 4 and sys.argv[3]:
        doc = {"meta": meta, "warnings": warnings,
               "raw": [dict(raw.get(i, {}), rep=i) for i in range(1, reps + 1)],
               "once": once, "rows": rows + many_rows}
        with open(sys.argv[3], "w") as f:
            json.dump(doc, f, indent=1, sort_keys=False)
            f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
