#!/bin/sh
# bench/registrations.sh - the controller's time and CPU for a storm of
# registrations, alone (issue 11: 10,000 engines registered within 5 s):
# bench/reg-storm sends N registrations through R relay identities at
# once from one process and waits for every reply, then unregisters them.
#
#   ZPAR_BUILD=build bench/registrations.sh [N:R...]   (default 10000:100)
#
# REG_ZPAR=OTHER/zpar runs another build's controller (the before of a
# change).  Prints reg-storm's lines per case (registered_s: from the
# first send to the last reply; controller_cpu_s: its CPU meanwhile;
# resent: registrations sent again after 1 s without a reply), then one
# line per case:  registrations engines=N relays=R registered_s=...
# watch_lost: engines the heartbeat thread was never told to watch.
# It measures the controller, not the relays, the engines' other sockets
# or the heartbeat (bench/many.sh does those).  Every wait is bounded.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
build=${ZPAR_BUILD:-$top/build}
case $build in /*) ;; *) build=$PWD/$build ;; esac
zpar=${REG_ZPAR:-$build/zpar}
storm=$build/bench/reg-storm
for x in "$zpar" "$storm"; do
	[ -x "$x" ] || {
		echo "registrations.sh: no $x (make -C $build check TESTS= builds it)" >&2
		exit 2
	}
done
cases=${*:-10000:100}
D=
cpid=
cleanup () {
	[ -n "$cpid" ] && kill -TERM "$cpid" 2>/dev/null && wait "$cpid" 2>/dev/null
	cpid=
	[ -n "$D" ] && rm -rf "$D"
	D=
}
trap cleanup EXIT
trap 'exit 130' INT TERM
ulimit -n "$(ulimit -Hn)" 2>/dev/null
rc=0
lines=
for c in $cases; do
	n=${c%%:*}
	r=${c#*:}
	D=$(mktemp -d "${TMPDIR:-/tmp}/zpar-regs.XXXXXX")
	"$zpar" controller --dir "$D" >"$D/controller.log" 2>&1 &
	cpid=$!
	i=0
	until [ -s "$D/engine.json" ] || [ $i -gt 300 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	sleep 1
	echo "== $n engines through $r relays"
	timeout 300 "$storm" -n "$n" -r "$r" --connection-file "$D/engine.json" --pid "$cpid" \
		--timeout 240 >"$D/out" 2>&1 || rc=1
	# engines the heartbeat thread was never told to watch (its pipe full):
	# each would be nudged to register again at its first pong
	echo "watch_lost $(grep -c "cannot tell the heartbeat thread to watch" "$D/controller.log")" >>"$D/out"
	cat "$D/out"
	lines="${lines}registrations $(awk '{ printf "%s=%s ", $1, $2 }' "$D/out")
"
	cleanup
done
printf '%s' "$lines"
exit $rc
