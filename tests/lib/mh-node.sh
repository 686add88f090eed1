# mh-node.sh - what the whole-node failure tests (t0570 kill, t0575
# power-off, t0580 partition) share.  Source it after netns-bed.sh and
# bed_up.
#
#   mh_slurmd_timeout SECS      slurmctld declares a silent host DOWN after
#                               SECS (the bed's default is 30): srun --no-kill
#                               returns only once every lost host is DOWN
#   mh_sweep NAME NPTS SECS     writes sw/NAME.yaml: NPTS points, each writes
#                               "start I HOST MS" to $SIDE, sleeps SECS, writes
#                               "end I HOST MS" (MS: epoch ms); 3 retries
#   mh_running_on HOST          true when a point runs on HOST (a start line
#                               without its end)
#   mh_check_sweep LOG REPORT FAULT_MS HOST NPTS KIND
#                               the checks after a host was lost mid-sweep
#                               (see below); appends figures to $ZT_TMP/figures
SIDE=$ZT_TMP/side
: >"$SIDE"
mkdir -p "$ZT_TMP/sw"

mh_slurmd_timeout () {
    sed -i "s/^SlurmdTimeout=.*/SlurmdTimeout=$1/" "$SLURM_CONF" &&
        zt_timeout 30 scontrol reconfigure
}

mh_sweep () {
    cat >"$ZT_TMP/sw/$1.yaml" <<EOF
name: $1
command: ["sh", "-c", "echo start {i} \$(hostname) \$(date +%s%3N) >>$SIDE; sleep $3; echo end {i} \$(hostname) \$(date +%s%3N) >>$SIDE"]
params:
  i: {range: [0, $2]}
retries: 3
EOF
}

mh_running_on () {
    awk -v h="$1" '$3 == h && $1 == "start" { run[$2] = 1 }
        $3 == h && $1 == "end" { delete run[$2] }
        END { for (i in run) n++; exit n ? 0 : 1 }' "$SIDE"
}

# mh_check_sweep LOG REPORT FAULT_MS HOST NPTS KIND: LOG is the controller's
# log (srun's or the batch job's output, ZPAR_LOG=info), REPORT the sweep
# report (JSON), FAULT_MS when HOST was lost.  Checks: every point
# succeeded in the report and none is recorded on HOST unless it ended
# there before the fault; the points HOST was running at the fault (at
# least one) started again on another host after it; no point ended twice
# on the surviving hosts; a point that ended on HOST and again elsewhere
# ended on HOST at most 1 s before the fault (its result died with the
# host); every engine of HOST was declared dead, after the fault, and one
# line "host HOST lost: N engines dead" names them all.  Figures: the
# detection time (fault -> the last "declared dead" line), when their
# tasks were queued again (ZPAR_LOG=info) and the recovery time (fault ->
# the first and the last retried point's start).
mh_check_sweep () {
    python3 - "$1" "$2" "$3" "$4" "$5" "$6" "$SIDE" "$ZT_TMP/figures" <<-\PY
	import collections, datetime, json, re, sys
	log, report, fault, host, npts, kind, side, figs = sys.argv[1:9]
	fault, npts = int(fault), int(npts)
	def ms(stamp):
	    t = datetime.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ")
	    return int(t.replace(tzinfo=datetime.timezone.utc).timestamp() * 1000)
	text = open(log, errors="replace").read()
	reg = set(re.findall(r"engine (\d+) registered \(%s pid" % host, text))
	dead = {}
	for stamp, eid in re.findall(r"^(\S+) zpar\[\S+ \d+\] warning: engine (\d+) \(%s pid \d+\) declared dead" % host, text, re.M):
	    dead[eid] = ms(stamp)
	requeued = [ms(stamp) for stamp, eid in re.findall(r"^(\S+) zpar\[\S+ \d+\] info: task \d+: engine (\d+) died, retrying elsewhere", text, re.M) if eid in reg]
	lost = re.findall(r"^(\S+) zpar\[\S+ \d+\] warning: host %s lost: (\d+) engines? dead \(([^)]*)\)" % host, text, re.M)
	ok = True
	def bad(msg):
	    global ok
	    ok = False
	    print("FAIL:", msg)
	print("engines of %s: %s; declared dead: %s; host lines: %s" % (host, sorted(reg), sorted(dead), lost))
	if not reg:
	    bad("no engine of %s registered" % host)
	if set(dead) != reg:
	    bad("engines of %s declared dead %s, registered %s" % (host, sorted(dead), sorted(reg)))
	if any(t < fault for t in dead.values()):
	    bad("an engine of %s was declared dead before the fault" % host)
	if len(lost) != 1 or int(lost[0][1]) != len(reg):
	    bad("want one line 'host %s lost: %d engines dead', got %s" % (host, len(reg), lost))
	starts, ends = collections.defaultdict(list), collections.defaultdict(list)
	for line in open(side):
	    f = line.split()
	    if len(f) == 4:
	        (starts if f[0] == "start" else ends)[int(f[1])].append((f[2], int(f[3])))
	rows = {r["index"]: r for r in json.load(open(report))}
	notok = [i for i in range(npts) if rows.get(i, {}).get("state") != "succeeded"]
	if notok:
	    bad("points not succeeded in the report: %s" % notok)
	inflight = [i for i in range(npts) if any(h == host and t <= fault for h, t in starts[i])
	            and not any(h == host for h, t in ends[i])]
	print("points running on %s at the fault: %s" % (host, inflight))
	if not inflight:
	    bad("no point was running on %s at the fault" % host)
	retried = []
	for i in inflight:
	    later = [t for h, t in starts[i] if h != host and t >= fault]
	    if not later:
	        bad("point %d (lost on %s) never started again elsewhere" % (i, host))
	    else:
	        retried.append(min(later) - fault)
	    if rows.get(i, {}).get("host") == host:
	        bad("point %d is recorded on %s" % (i, host))
	twice = 0
	for i in range(npts):
	    surv = [t for h, t in ends[i] if h != host]
	    mine = [t for h, t in ends[i] if h == host]
	    if len(surv) > 1:
	        bad("point %d ended %d times on the other hosts" % (i, len(surv)))
	    if not surv and not mine:
	        bad("point %d never ended" % i)
	    if surv and mine:
	        twice += 1
	        if max(mine) < fault - 1000:
	            bad("point %d ended on %s %d ms before the fault and ran again" % (i, host, fault - max(mine)))
	if dead and retried:
	    line = ("%s %s: detection %d ms (fault -> its %d engines declared dead), "
	            "their tasks queued again at %s ms, recovery %d ms (fault -> first retried "
	            "point started), all %d lost points restarted by %d ms; points whose end died "
	            "with the host: %d"
	            % (kind, host, max(dead.values()) - fault, len(dead),
	               min(requeued) - fault if requeued else "?", min(retried),
	               len(retried), max(retried), twice))
	    print(line)
	    open(figs, "a").write(line + "\n")
	sys.exit(0 if ok else 1)
	PY
}
