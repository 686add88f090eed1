#!/bin/sh
# t0540-mh-salloc: an salloc-style session on 4 real hosts
# (tests/lib/netns-bed.sh): `salloc -N 4 -n 8` on the head runs a session
# script there that starts `srun zpar run` in the background (controller on
# the first host, 7 engines on the 4 hosts) and then uses the cluster with
# no option at all: `zpar status`, `zpar px hostname` and `zpar stop` find it
# through SLURM_JOB_ID ($ZPAR_DIR/job-ID/client.json) and reach it across
# the bridge.  Checks: the session ends with exit 0, px answers from all 7
# engines on the 4 hosts, zpar stop ends the step, no zpar process is left.
LIBDIR=$(cd "$(dirname "$0")/../lib" && pwd)
. "$LIBDIR/sharness-lite.sh"
zt_require_zpar
. "$LIBDIR/netns-bed.sh"
command -v salloc >/dev/null 2>&1 || skip_all "no salloc (slurm-client)"
bed_up 4 --slurm

S=$ZT_TMP/ss
mkdir -p "$S"
cat >"$S/session.sh" <<EOF
#!/bin/sh
# what a user types in the salloc shell
ZPAR=$ZPAR
echo "session on \$(hostname), job \$SLURM_JOB_ID"
srun "\$ZPAR" run >$S/run.out 2>&1 &
step=\$!
i=0
until "\$ZPAR" status 2>/dev/null | grep -q "^engines: 7 (7 idle"; do
    i=\$((i + 1))
    [ \$i -lt 600 ] || { echo "no cluster with 7 idle engines after 60 s"; kill \$step; exit 1; }
    sleep 0.1
done
"\$ZPAR" status
"\$ZPAR" px hostname >$S/px.out 2>$S/px.err
echo "px exit \$?"
"\$ZPAR" stop
echo "stop exit \$?"
wait \$step
echo "srun exit \$?"
EOF
chmod +x "$S/session.sh"

test_expect_success 'salloc -N 4 -n 8: a session where zpar status, px, stop need no option' '
	zt_timeout 80 "$BED_DIR/bin/on" head salloc -N 4 -n 8 "$S/session.sh" >ss.out 2>&1;
	rc=$?; cat ss.out; echo "--- px:"; cat "$S/px.out" "$S/px.err"; echo "--- run:"; cat "$S/run.out";
	expect_eq "salloc exit" 0 $rc &&
	expect_grep "^session on head, job [0-9]" ss.out &&
	expect_grep "^px exit 0" ss.out && expect_grep "^stop exit 0" ss.out &&
	expect_grep "^srun exit 0" ss.out
'

test_expect_success 'px answered from the 7 engines, on the 4 hosts' '
	expect_eq "answers" 7 "$(grep -c "^\[e[0-9]*\] h[1-4]\$" "$S/px.out")" &&
	expect_eq "hosts" "h1 h2 h3 h4" "$(sed -n "s/^\[e[0-9]*\] //p" "$S/px.out" | sort -u | tr "\n" " " | sed "s/ \$//")"
'

test_expect_success 'no zpar process left on the hosts' '
	expect_eq "left" "" "$(bed_procs "$ZPAR")"
'

test_done
