#!/bin/sh
# t0710-install-user: zpar builds, installs and runs without root.  From the
# source tarball `make dist` gives, an unprivileged user (uid 65534 when the
# tests run as root, else the user running them) with a HOME of its own runs
# ./configure --prefix=$HOME/zpar && make && make install, loads the
# environment module make install wrote (module load zpar: PATH, MANPATH,
# PKG_CONFIG_PATH, LD_LIBRARY_PATH, PYTHONPATH when the Python package is
# installed), builds a C client with pkg-config, starts a cluster, runs tasks
# on it and stops it; and leaves nothing behind: no process, and no file of
# that user in the directories every user may write (/tmp, /var/tmp,
# /dev/shm) outside this test's own directory.  doc/install.md.
. "$(cd "$(dirname "$0")/.." && pwd)/lib/sharness-lite.sh"
zt_require_zpar

[ -f "$builddir/Makefile" ] || skip_all "no build tree at $builddir"
if [ "$(id -u)" = 0 ]; then
	USER_ID=65534
	command -v setpriv >/dev/null || skip_all "setpriv (util-linux) is needed to drop root"
else
	USER_ID=$(id -u)
fi
# environment-modules (scripts/install-deps.sh installs it) or Lmod
MODULES_INIT=
for f in /usr/share/modules/init/sh /usr/share/lmod/lmod/init/sh; do
	if [ -r "$f" ]; then MODULES_INIT=$f && break; fi
done
[ -n "$MODULES_INIT" ] && test_set_prereq MODULES

# the user's world: $U (its HOME is $U/home); this test's directory must
# be traversable for it
U=$ZT_TMP/user
chmod 0711 "$ZT_TMP"
mkdir -p "$U/home" "$U/run"
chmod 0700 "$U/run"
[ "$(id -u)" = 0 ] && chown -R "$USER_ID:$USER_ID" "$U"
PREFIX=$U/home/zpar
SYSPATH=/usr/local/bin:/usr/bin:/bin

# as_user SCRIPT: run SCRIPT with sh as the unprivileged user, in $U, with
# only the environment a fresh login would give it (no MAKEFLAGS of this
# make check, no pyenv shims of root's PATH), plus this test's marker so
# that the cleanup finds anything it leaves running
as_user () {
	if [ "$(id -u)" = 0 ]; then
		set -- setpriv --reuid="$USER_ID" --regid="$USER_ID" --clear-groups
	else
		set --
	fi
	(cd "$U" && zt_timeout 1200 "$@" env -i HOME="$U/home" USER=zparuser LOGNAME=zparuser \
		PATH="$SYSPATH" LANG=C LC_ALL=C SHELL=/bin/sh XDG_RUNTIME_DIR="$U/run" \
		ZPAR_TEST_MARK="$ZPAR_TEST_MARK" ZPAR_HB_PERIOD_MS="$ZPAR_HB_PERIOD_MS" \
		ZPAR_HB_MISSES="$ZPAR_HB_MISSES" MODULES_INIT="$MODULES_INIT" PREFIX="$PREFIX" \
		sh -c "$as_user_script")
}

# the files the user owns in the directories every user may write, but
# this test's own (and other tests' zpar-tNNNN directories)
user_files_outside () {
	find /tmp /var/tmp /dev/shm -xdev -user "$USER_ID" 2>/dev/null |
		grep -v -e "^$ZT_TMP" -e '^/tmp/zpar-t[0-9]' | sort
}

test_expect_success 'make dist gives a source tarball without build products' '
	user_files_outside >files.before &&
	zt_timeout 300 make -s -C "$builddir" dist-gzip >dist.out 2>&1 &&
	tarball=$(ls "$builddir"/zpar-*.tar.gz) &&
	mv "$tarball" "$U/" &&
	chmod 0644 "$U"/zpar-*.tar.gz &&
	tar tzf "$U"/zpar-*.tar.gz >dist.list &&
	expect_grep "/configure$" dist.list &&
	expect_grep "/config/modulefile.in$" dist.list &&
	expect_no_grep "\.(o|lo|la|trs|log)$|/\.libs/|/\.deps/" dist.list &&
	expect_no_grep "/tests/lib/wireup-probe$|/tests/unit/test_[a-z_]*$" dist.list
'

test_expect_success 'the user configures with --prefix=$HOME/zpar; the summary says what is built' '
	as_user_script="tar xzf zpar-*.tar.gz && cd zpar-*/ && ./configure --prefix=\$HOME/zpar" &&
	as_user >configure.out 2>configure.err &&
	cat configure.out &&
	expect_grep "^  prefix +$PREFIX$" configure.out &&
	expect_grep "environment module $PREFIX/share/modulefiles/zpar/" configure.out &&
	expect_grep "^  required +libzmq [0-9]" configure.out &&
	expect_grep "^  PMIx +(yes: |NO \\(.*\\))" configure.out &&
	expect_grep "^  MPI +(yes: |NO \\(.*\\))" configure.out
'

test_expect_success 'make and make install as the user' '
	as_user_script="cd zpar-*/ && make -j2 >../make.out 2>&1 && make install >../install.out 2>&1" &&
	as_user || { tail -40 "$U"/make.out "$U"/install.out; false; }
'

test_expect_success 'the installation is the user'"'"'s, under the prefix, with a modulefile' '
	(cd "$PREFIX" && find . -type f | sort) >installed.list &&
	cat installed.list &&
	for f in ./bin/zpar ./include/zpar.h ./lib/pkgconfig/zpar.pc ./share/man/man1/zpar.1 \
		./share/man/man3/zpar.3 ./share/modulefiles/zpar/$(cd "$U" && ls -d zpar-*/ | sed "s|zpar-||; s|/||"); do
		grep -qxF "$f" installed.list || { echo "missing $f"; return 1; }
	done &&
	ls "$PREFIX"/lib/libzpar.so.* >/dev/null &&
	test -z "$(find "$PREFIX" ! -user "$USER_ID")"
'

# the environment the module changes, as KEY=VALUE lines
cat >"$U/env.sh" <<'EOF'
for v in PATH MANPATH PKG_CONFIG_PATH LD_LIBRARY_PATH PYTHONPATH ZPAR_ROOT; do
	eval "echo $v=\${$v-(unset)}"
done
EOF
chmod 0644 "$U/env.sh"

test_expect_success MODULES 'module load zpar sets PATH, MANPATH, PKG_CONFIG_PATH, LD_LIBRARY_PATH; unload undoes it' '
	as_user_script=". \$MODULES_INIT && sh env.sh >env.before &&
		module use \$HOME/zpar/share/modulefiles && module load zpar && sh env.sh >env.loaded &&
		command -v zpar >which.out && pkg-config --modversion zpar >pc.out &&
		pkg-config --variable=libdir zpar >pclib.out &&
		man -w zpar >man1.out && man -w 3 zpar >man3.out && man -w zpar-sweep >man5.out &&
		module unload zpar && sh env.sh >env.after" &&
	as_user &&
	cat "$U/env.before" "$U/env.loaded" "$U/env.after" &&
	expect_eq "zpar on PATH" "$PREFIX/bin/zpar" "$(cat "$U/which.out")" &&
	expect_eq "pkg-config libdir" "$PREFIX/lib" "$(cat "$U/pclib.out")" &&
	expect_grep "^[0-9]+\.[0-9]+" "$U/pc.out" &&
	expect_eq "man 1" "$PREFIX/share/man/man1/zpar.1" "$(cat "$U/man1.out")" &&
	expect_eq "man 3" "$PREFIX/share/man/man3/zpar.3" "$(cat "$U/man3.out")" &&
	expect_eq "man 5" "$PREFIX/share/man/man5/zpar-sweep.5" "$(cat "$U/man5.out")" &&
	expect_grep "^LD_LIBRARY_PATH=$PREFIX/lib(:|$)" "$U/env.loaded" &&
	expect_grep "^PKG_CONFIG_PATH=$PREFIX/lib/pkgconfig(:|$)" "$U/env.loaded" &&
	expect_grep "^MANPATH=$PREFIX/share/man(:|$)" "$U/env.loaded" &&
	expect_grep "^ZPAR_ROOT=$PREFIX$" "$U/env.loaded" &&
	grep -v "^MANPATH=" "$U/env.before" >env.b && grep -v "^MANPATH=" "$U/env.after" >env.a &&
	cmp env.b env.a
'

test_expect_success MODULES 'with the module loaded the user'"'"'s man still finds the system pages' '
	test -e /usr/share/man/man1/ls.1.gz || test -e /usr/share/man/man1/ls.1 || { echo "no system man pages here"; return 0; }
	as_user_script=". \$MODULES_INIT && module use \$HOME/zpar/share/modulefiles && module load zpar && man -w ls" &&
	as_user >manls.out 2>&1 &&
	expect_grep "^/usr/share/man/man1/ls\.1" manls.out
'

test_expect_success MODULES 'a C client builds with pkg-config zpar and runs with the module'"'"'s LD_LIBRARY_PATH only' '
	cat >"$U/client.c" <<-\EOF &&
	#include <stdio.h>
	#include <zpar.h>
	int main (void)
	{
	    const char *argv[] = {"echo", "from-c", NULL};
	    zpar_error_t err;
	    zpar_client_t *c = zpar_client_connect (NULL, &err);
	    zpar_task_t *t;
	    zpar_future_t *f;
	    if (!c) {
	        fprintf (stderr, "connect: %s\n", err.text);
	        return 1;
	    }
	    t = zpar_task_command (argv);
	    if (!(f = zpar_submit (c, t, &err)) || zpar_future_wait (f, 60, &err) < 0) {
	        fprintf (stderr, "task: %s\n", err.text);
	        return 1;
	    }
	    printf ("task %s\n", zpar_status_name (zpar_result_status (zpar_future_result (f))));
	    zpar_future_destroy (f);
	    zpar_task_destroy (t);
	    zpar_client_destroy (c);
	    return 0;
	}
	EOF
	chmod 0644 "$U/client.c" &&
	as_user_script=". \$MODULES_INIT && module use \$HOME/zpar/share/modulefiles && module load zpar &&
		cc -o client client.c \$(pkg-config --cflags --libs zpar) &&
		zpar cluster start -n 2 >start.out 2>&1 &&
		zpar px hostname >px.out 2>&1 &&
		id=\$(zpar submit -- echo from-cli) && zpar wait \$id && zpar result \$id >result.out 2>&1 &&
		./client >client.out 2>&1;
		rc=\$?; module unload zpar; ./client >client-nomodule.out 2>&1; echo \$? >client-nomodule.rc;
		module load zpar; zpar cluster stop >stop.out 2>&1; exit \$rc" &&
	as_user; rc=$?
	for f in start px result client client-nomodule stop; do cat "$U/$f.out"; done 2>/dev/null
	test $rc = 0 &&
	expect_eq "px lines" 2 "$(grep -c . "$U/px.out")" &&
	expect_grep "from-cli" "$U/result.out" &&
	expect_grep "^task ok$" "$U/client.out" &&
	expect_grep "libzpar" "$U/client-nomodule.out" &&
	test "$(cat "$U/client-nomodule.rc")" != 0
'

test_expect_success 'without the module: the installed zpar runs from its path, a cluster starts and stops' '
	as_user_script="\$HOME/zpar/bin/zpar cluster start -n 1 >start2.out 2>&1 &&
		\$HOME/zpar/bin/zpar px -- echo plain >px2.out 2>&1; rc=\$?;
		\$HOME/zpar/bin/zpar cluster stop >stop2.out 2>&1; exit \$rc" &&
	as_user; rc=$?
	cat "$U/start2.out" "$U/px2.out" "$U/stop2.out"
	test $rc = 0 && expect_grep "plain" "$U/px2.out"
'

test_expect_success 'the Python package, when installed, is found through the module'"'"'s PYTHONPATH' '
	pkg=$(find "$PREFIX" -path "*/zpar/__init__.py" | head -n 1)
	if [ -z "$pkg" ]; then
		expect_no_grep "^ *Python( client)?:? +yes" configure.out
		return
	fi
	test_have_prereq MODULES || { echo "no module system to test it with"; return 1; }
	as_user_script=". \$MODULES_INIT && module use \$HOME/zpar/share/modulefiles && module load zpar &&
		cd / && /usr/bin/python3 -c \"import zpar; print(zpar.__file__)\"" &&
	as_user >py.out 2>&1 &&
	cat py.out &&
	expect_eq "imported" "$pkg" "$(tail -n 1 py.out)"
'

test_expect_success 'make install DESTDIR=stage: the staged modulefile names the prefix, not the stage' '
	as_user_script="cd zpar-*/ && make install DESTDIR=\$HOME/stage >../stage.out 2>&1" &&
	{ as_user || { tail -20 "$U/stage.out"; false; }; } &&
	mf=$(find "$U/home/stage" -path "*/share/modulefiles/zpar/*" -type f) &&
	test -n "$mf" && cat "$mf" &&
	expect_grep "^prepend-path PATH \"$PREFIX/bin\"$" "$mf" &&
	expect_no_grep "/stage" "$mf"
'

test_expect_success 'make uninstall as the user removes every file make install wrote' '
	as_user_script="cd zpar-*/ && make uninstall >../uninstall.out 2>&1" &&
	{ as_user || { tail -20 "$U/uninstall.out"; false; }; } &&
	(cd "$PREFIX" && find . ! -type d) >left.list &&
	cat left.list &&
	test ! -s left.list
'

test_expect_success 'nothing is left behind: no process, no file outside the test directory' '
	wait_for 20 "test -z \"\$(zt_marked_pids)\"" || { ps -o pid,user,args -p "$(zt_marked_pids | tr "\n" ",")0"; false; } &&
	user_files_outside >files.after &&
	diff files.before files.after
'

test_done
