#!/bin/sh
# t0903-engine-stopped-queue: an engine stopped (SIGSTOP) past the death
# limit while it runs one task and holds more in its queue.  The controller
# declares it dead and gives every one of its tasks to the other engine.
# When the stopped engine runs again it must not start the tasks it still
# holds in its queue before the controller has told it they went elsewhere:
# every side effect happens once.  (The pings that piled up while it was
# stopped are not word from the controller: doc/engine.md, "Fencing".)
#
# Run R rounds (T0903_ROUNDS, default 3): each round stops the engine that
# holds the queue, once the tasks are queued on it.
. "$(cd "$(dirname "$0")/.." && pwd)/lib/sharness-lite.sh"
zt_require_zpar
zt_find_testclient || skip_all "no zpar-testclient in $builddir"

ZPAR_HB_PERIOD_MS=300
ZPAR_HB_MISSES=3
export ZPAR_HB_PERIOD_MS ZPAR_HB_MISSES
D=$ZT_TMP/ctl
TC="$TESTCLIENT"
rounds=${T0903_ROUNDS:-3}

state_of () { "$TC" engines 2>/dev/null | sed -n "s/^engine id=[0-9]* state=\([a-z]*\) pid=$1 .*/\1/p"; }

test_expect_success 'a controller and one engine' '
	zt_controller "$D" &&
	zt_engine "$D" engine1 && echo $ZT_LAST_PID >e1.pid &&
	zt_timeout 40 "$TC" wait-engines 1
'

# one round: engine $1 (the only live one) gets a long task and 3 quick
# ones queued behind it; a second engine is started; $1 is stopped until
# the controller declared it dead and the other engine ran everything,
# then resumed
round () {
	r=$1 v=$2
	: >"side.$r"
	# the long one runs until the test lets it go (open.$r): under load
	# the submits of the quick ones took longer than a fixed sleep, and the
	# engine was idle again before it could be stopped
	ids=$(zt_timeout 20 $ZPAR submit --retries 3 -- sh -c \
		"while [ ! -e $ZT_TMP/open.$r ]; do sleep 0.05; done; echo long >>$ZT_TMP/side.$r") || return 1
	for i in 1 2 3; do
		ids="$ids $(zt_timeout 20 $ZPAR submit --retries 3 -- sh -c \
			"echo quick$i >>$ZT_TMP/side.$r")" || return 1
	done
	echo "$ids" >"ids.$r"
	# the long one runs, the quick ones wait in the engine's queue
	wait_for 10 "test \"\$(state_of $v)\" = busy" || return 1
	sleep 0.3
	kill -STOP "$v" || return 1
	zt_engine "$D" "engine-r$r" && echo $ZT_LAST_PID >"e.r$r.pid" &&
	wait_for 20 "test \"\$(state_of $v)\" = dead" || { kill -CONT "$v"; return 1; }
	# the long one may end now: where it was first started it was fenced
	# (killed while its engine was stopped); if not, it says so twice
	touch "$ZT_TMP/open.$r"
	# the others ran them all (the long one too) while it was stopped
	zt_timeout 40 $ZPAR wait --timeout 30 $ids || { kill -CONT "$v"; return 1; }
	kill -CONT "$v" || return 1
	# it registers again and is told to drop what it held
	wait_for 20 "test \"\$(state_of $v)\" != dead" || return 1
	sleep 1
	echo "round $r side effects: $(tr "\n" " " <"side.$r")"
	for w in long quick1 quick2 quick3; do
		n=$(grep -cx "$w" "side.$r")
		[ "$n" = 1 ] || { echo "round $r: $w ran $n times"; echo "$r $w $n" >>twice; }
	done
	# the new engine stops; the stopped one is the only live one again
	kill -TERM "$(cat e.r$r.pid)" &&
	wait_for 20 "test \"\$(state_of $(cat e.r$r.pid))\" = dead || test -z \"\$(state_of $(cat e.r$r.pid))\""
}

test_expect_success "$rounds rounds: stop the engine that holds queued tasks, resume it" '
	: >twice &&
	v=$(cat e1.pid) &&
	r=1 &&
	while [ $r -le $rounds ]; do
		round $r $v || { echo "round $r did not complete"; "$TC" engines; return 1; }
		r=$((r + 1))
	done
'

test_expect_success 'every side effect happened once' '
	cat twice &&
	grep -h "fenc\|drop" "$ZT_TMP"/engine1.err | tail -n 20 &&
	test ! -s twice
'

test_done
