#!/bin/sh
# t0711-configure-deps: configure finds dependencies where a site installed
# them and says what a missing one disables.  Each case runs the source
# tree's configure in a directory of its own (a shared cache holds only the
# compiler checks) and reads its summary and the Makefile it wrote:
#   --with-hwloc=DIR   a site prefix with hwloc.pc (made here from the
#                      system's hwloc): its flags and a run path to DIR/lib
#   --with-pmix=DIR    Debian's private PMIx prefix, which has no .pc file:
#                      DIR/include + DIR/lib, and a run path
#   --with-mpi=DIR     Open MPI's prefix with its ompi.pc
#   MPICC=wrapper      the flags the wrapper gives (--showme, or -show for
#                      MPICH's when it is installed)
#   PMIx absent        (a pkg-config path without it): configure succeeds,
#                      the summary says PMIx NO and what that disables
#   --with-X=missing   an error naming what was looked for
# doc/install.md.
. "$(cd "$(dirname "$0")/.." && pwd)/lib/sharness-lite.sh"

[ -x "$srcdir/configure" ] || skip_all "no configure in $srcdir (run autogen.sh)"
command -v pkg-config >/dev/null || skip_all "no pkg-config"
pkg-config --exists hwloc || skip_all "no hwloc.pc"
PMIX_PREFIX=$(pkg-config --variable=prefix pmix 2>/dev/null)
[ -n "$PMIX_PREFIX" ] && [ -f "$PMIX_PREFIX/include/pmix.h" ] && test_set_prereq PMIX
# Open MPI's own prefix (Debian: /usr/lib/x86_64-linux-gnu/openmpi), whose
# lib/pkgconfig holds an ompi.pc
OMPI_PREFIX=$(dirname "$(pkg-config --variable=libdir ompi 2>/dev/null || echo /nonexistent/lib)")
[ -n "$OMPI_PREFIX" ] && [ -f "$OMPI_PREFIX/lib/pkgconfig/ompi.pc" ] && test_set_prereq OMPI_PC
command -v mpicc.openmpi >/dev/null && test_set_prereq OMPI_CC
# MPICH's wrapper, with its headers (libmpich-dev)
if command -v mpicc.mpich >/dev/null; then
	inc=$(mpicc.mpich -show 2>/dev/null | tr " " "\n" | sed -n "s/^-I//p" | head -n 1)
	[ -f "${inc:-/nonexistent}/mpi.h" ] && test_set_prereq MPICH_CC
fi

# run_configure NAME ARGS...: configure in $ZT_TMP/NAME (output NAME.out,
# NAME.err, its status NAME.rc) with the compiler checks of the first run
run_configure () {
	rc_name=$1
	shift
	mkdir -p "$ZT_TMP/$rc_name"
	if [ -f "$ZT_TMP/cache.base" ]; then
		cp "$ZT_TMP/cache.base" "$ZT_TMP/$rc_name/cache"
	fi
	(cd "$ZT_TMP/$rc_name" && zt_timeout 600 "$srcdir/configure" --cache-file=cache "$@" \
		>"$ZT_TMP/$rc_name.out" 2>"$ZT_TMP/$rc_name.err")
	echo $? >"$ZT_TMP/$rc_name.rc"
	if [ ! -f "$ZT_TMP/cache.base" ] && [ -f "$ZT_TMP/$rc_name/cache" ]; then
		# only what does not depend on the options: no pkg-config results,
		# no program paths or library checks of ours
		grep -v -e pkg_cv_ -e zpar -e _cv_path_ -e _cv_prog_PKG -e ac_cv_env_ "$ZT_TMP/$rc_name/cache" >"$ZT_TMP/cache.base"
	fi
	cat "$ZT_TMP/$rc_name.out"
	tail -n 5 "$ZT_TMP/$rc_name.err"
	return "$(cat "$ZT_TMP/$rc_name.rc")"
}

# mk_var NAME VAR: VAR's value in the Makefile of run NAME
mk_var () {
	sed -n "s/^$2 = //p" "$ZT_TMP/$1/Makefile"
}

# expect_found RUN SUMMARY_RE VAR VAR_RE DEFINE: run RUN found the library:
# its summary line, its flags in the Makefile, and DEFINE in config.h
expect_found () {
	expect_grep "$2" "$ZT_TMP/$1.out" &&
		mk_var "$1" "$3" >"$ZT_TMP/$1.var" && cat "$ZT_TMP/$1.var" &&
		expect_grep "$4" "$ZT_TMP/$1.var" &&
		expect_grep "define $5 1" "$ZT_TMP/$1/config.h"
}

test_expect_success 'default: everything found, the summary names each dependency' '
	run_configure default &&
	expect_grep "^  required +libzmq [0-9]" default.out &&
	expect_grep "^ +hwloc: hwloc [0-9]" default.out &&
	expect_grep "^  PMIx +(yes|NO)" default.out &&
	expect_grep "^  MPI +(yes|NO)" default.out &&
	expect_grep "^  run paths +yes" default.out
'

test_expect_success '--with-hwloc=DIR: a site prefix with its hwloc.pc is used, with a run path' '
	site=$ZT_TMP/site-hwloc &&
	mkdir -p "$site/include" "$site/lib/pkgconfig" &&
	inc=$(pkg-config --variable=includedir hwloc) && lib=$(pkg-config --variable=libdir hwloc) &&
	ln -s "$inc/hwloc.h" "$inc/hwloc" "$site/include/" &&
	ln -s "$lib"/libhwloc.so* "$site/lib/" &&
	sed -e "s|^prefix=.*|prefix=$site|" -e "s|^libdir=.*|libdir=$site/lib|" \
		-e "s|^includedir=.*|includedir=$site/include|" -e "s|^exec_prefix=.*|exec_prefix=$site|" \
		"$(pkg-config --variable=pcfiledir hwloc)/hwloc.pc" >"$site/lib/pkgconfig/hwloc.pc" &&
	run_configure hwloc --with-hwloc="$site" &&
	expect_grep "hwloc: hwloc [0-9.]+, $site/lib/pkgconfig/hwloc.pc" hwloc.out &&
	mk_var hwloc HWLOC_LIBS >libs && cat libs &&
	expect_grep "^-L$site/lib -lhwloc.* -Wl,-rpath,$site/lib$" libs &&
	mk_var hwloc HWLOC_CFLAGS >cflags && cat cflags &&
	expect_grep "^-I$site/include" cflags
'

test_expect_success '--with-hwloc=DIR with nothing there: an error naming what it looked for' '
	mkdir -p "$ZT_TMP/empty" &&
	! run_configure nohwloc --with-hwloc="$ZT_TMP/empty" &&
	expect_grep "with-hwloc=$ZT_TMP/empty: neither hwloc.pc under .*pkgconfig nor $ZT_TMP/empty/include/hwloc.h" nohwloc.err
'

test_expect_success '--without-hwloc: an error, hwloc is required' '
	! run_configure withouthwloc --without-hwloc &&
	expect_grep "hwloc is required" withouthwloc.err
'

test_expect_success PMIX '--with-pmix=DIR without a .pc there: DIR/include and DIR/lib, with a run path' '
	run_configure pmix --with-pmix="$PMIX_PREFIX" &&
	expect_found pmix "^  PMIx +yes: $PMIX_PREFIX/include/pmix.h, $PMIX_PREFIX/lib/libpmix" \
		PMIX_LIBS "^-L$PMIX_PREFIX/lib -lpmix -Wl,-rpath,$PMIX_PREFIX/lib$" HAVE_PMIX
'

test_expect_success 'PMIx absent from the pkg-config path: configure goes on, the summary says what is disabled' '
	mkdir -p "$ZT_TMP/pc" &&
	for d in $(pkg-config --variable pc_path pkg-config | tr ":" " ") $(echo "${PKG_CONFIG_PATH:-}" | tr ":" " "); do
		for f in "$d"/*.pc; do
			case $f in */pmix.pc | "$d/*.pc") continue ;; esac
			test -e "$ZT_TMP/pc/${f##*/}" || ln -s "$f" "$ZT_TMP/pc/" || return 1
		done
	done &&
	! PKG_CONFIG_LIBDIR=$ZT_TMP/pc PKG_CONFIG_PATH= pkg-config --exists pmix &&
	(PKG_CONFIG_LIBDIR=$ZT_TMP/pc && PKG_CONFIG_PATH= && export PKG_CONFIG_LIBDIR PKG_CONFIG_PATH &&
		run_configure nopmix) &&
	expect_grep "^  PMIx +NO \\(no pmix.pc on the pkg-config path\\)" nopmix.out &&
	expect_grep "disabled: PMIx wire-up" nopmix.out &&
	expect_grep "To enable: --with-pmix=DIR" nopmix.out &&
	! grep -q "define HAVE_PMIX" nopmix/config.h
'

test_expect_success 'a required library absent (libzmq): an error naming it, its package and PKG_CONFIG_PATH' '
	mkdir -p "$ZT_TMP/pc-nozmq" &&
	for f in "$ZT_TMP"/pc/*.pc; do
		case $f in */libzmq.pc) continue ;; esac
		ln -s "$(readlink "$f")" "$ZT_TMP/pc-nozmq/" || return 1
	done &&
	! (PKG_CONFIG_LIBDIR=$ZT_TMP/pc-nozmq && PKG_CONFIG_PATH= && export PKG_CONFIG_LIBDIR PKG_CONFIG_PATH &&
		run_configure nozmq) &&
	expect_grep "libzmq >= [0-9.]+ not found: install the Debian package libzmq3-dev" nozmq.err &&
	expect_grep "add DIR/lib/pkgconfig to PKG_CONFIG_PATH" nozmq.err
'

test_expect_success '--with-pmix=DIR that holds no PMIx, and --with-pmix=relative: errors' '
	! run_configure badpmix --with-pmix="$ZT_TMP/empty" &&
	expect_grep "with-pmix=$ZT_TMP/empty: neither pmix.pc" badpmix.err &&
	! run_configure relpmix --with-pmix=opt/pmix &&
	expect_grep "give the absolute path" relpmix.err
'

test_expect_success '--without-pmix --without-mpi: the summary says they were turned off' '
	run_configure without --without-pmix --without-mpi &&
	expect_grep "^  PMIx +NO \\(--without-pmix\\)" without.out &&
	expect_grep "^  MPI +NO \\(--without-mpi\\)" without.out &&
	expect_grep "disabled: zpar run --mpi" without.out &&
	expect_eq "MPI_LIBS" "" "$(mk_var without MPI_LIBS)"
'

test_expect_success OMPI_PC '--with-mpi=DIR: the ompi.pc of that prefix' '
	run_configure mpidir --with-mpi="$OMPI_PREFIX" &&
	expect_found mpidir "^  MPI +yes: ompi [0-9.]+, $OMPI_PREFIX/lib/pkgconfig/ompi.pc" \
		MPI_LIBS "-lmpi" HAVE_MPI
'

test_expect_success OMPI_CC 'MPICC=an Open MPI wrapper: its --showme flags' '
	w=$ZT_TMP/my-mpicc &&
	printf "#!/bin/sh\necho \"\$*\" >>$ZT_TMP/wrapper.calls\nexec mpicc.openmpi \"\$@\"\n" >"$w" &&
	chmod +x "$w" &&
	run_configure mpicc MPICC="$w" &&
	cat wrapper.calls &&
	expect_grep "^--showme:compile$" wrapper.calls &&
	expect_grep "^  MPI +yes: $w$" mpicc.out &&
	expect_eq "MPI_CFLAGS" "$(mpicc.openmpi --showme:compile)" "$(mk_var mpicc MPI_CFLAGS)"
'

# an MPICH-family wrapper (MPICH, Intel MPI, MVAPICH) knows no --showme and
# tells its flags with -show, the whole compiler command; made here from
# Open MPI's flags so that the parse runs where libmpich-dev is absent
test_expect_success OMPI_CC 'MPICC=an MPICH-style wrapper: the -I/-L/-l flags of its -show' '
	w=$ZT_TMP/mpich-like &&
	{
		echo "#!/bin/sh" &&
		echo "case \$1 in -show) echo gcc -Wl,-z,relro $(mpicc.openmpi --showme:compile) $(mpicc.openmpi --showme:link) -DMPICH_LIKE; exit 0 ;; esac" &&
		echo "echo unknown option \$1 >&2; exit 1"
	} >"$w" &&
	chmod +x "$w" && cat "$w" &&
	run_configure mpichlike MPICC="$w" &&
	expect_found mpichlike "^  MPI +yes: $w$" MPI_LIBS "-Wl,-z,relro .*-lmpi" HAVE_MPI &&
	mk_var mpichlike MPI_CFLAGS >cflags && cat cflags &&
	expect_grep "^ *$(mpicc.openmpi --showme:compile | sed "s/ .*//") .*-DMPICH_LIKE$" cflags &&
	expect_no_grep "^gcc| gcc| -Wl| -l| -L" cflags
'

test_expect_success MPICH_CC 'MPICC=MPICH'"'"'s wrapper: the flags of its -show' '
	run_configure mpich MPICC=mpicc.mpich &&
	expect_grep "^  MPI +yes: mpicc.mpich$" mpich.out &&
	mk_var mpich MPI_LIBS >libs && cat libs &&
	expect_grep "-lmpi" libs
'

test_expect_success 'MPICC that gives no flags, and --with-mpi=DIR without MPI: errors' '
	! run_configure mpifalse MPICC=/bin/true &&
	expect_grep "/bin/true does not tell its flags" mpifalse.err &&
	! run_configure mpiempty --with-mpi="$ZT_TMP/empty" &&
	expect_grep "with-mpi=$ZT_TMP/empty: no bin/mpicc" mpiempty.err
'

test_expect_success '--with-modulefiledir: the summary and the Makefile name it' '
	run_configure mfd --prefix=/opt/zpar --with-modulefiledir=/site/modulefiles/zpar &&
	expect_grep "environment module /site/modulefiles/zpar/" mfd.out &&
	expect_eq modulefiledir /site/modulefiles/zpar "$(mk_var mfd modulefiledir)"
'

test_done
