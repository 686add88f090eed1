# zpar.m4 - configure helpers: dependencies found where a site installed
# them (--with-X=DIR, MPICC), run paths for them, and the summary that says
# what a missing optional dependency disables.  doc/install.md is the manual.

# ZPAR_SUMMARY(TEXT): add a line to the summary printed at the end of
# configure.  TEXT is expanded by the shell when the line is added.
AC_DEFUN([ZPAR_SUMMARY],
[zpar_summary="$zpar_summary
$1"])

# ZPAR_SYSTEM_LIBDIRS: set zpar_sys_libdirs to the directories the compiler
# and the dynamic loader search by default (physical paths, one per line).
AC_DEFUN([ZPAR_SYSTEM_LIBDIRS],
[AC_REQUIRE([AC_PROG_CC])
zpar_sys_libdirs=
zpar_save_IFS=$IFS
IFS=:
for zpar_d in `$CC -print-search-dirs 2>/dev/null | sed -n 's/^libraries: =//p'` /lib /usr/lib /lib64 /usr/lib64; do
    IFS=$zpar_save_IFS
    zpar_p=`cd "$zpar_d" 2>/dev/null && pwd -P` && zpar_sys_libdirs="$zpar_sys_libdirs
$zpar_p"
done
IFS=$zpar_save_IFS
])

# ZPAR_ADD_RPATH(VAR): for every -LDIR in $VAR that is not a system library
# directory and has no run path yet, append -Wl,-rpath,DIR, so that the
# installed zpar finds a library of a site prefix without LD_LIBRARY_PATH.
# Nothing with --disable-rpath.
AC_DEFUN([ZPAR_ADD_RPATH],
[AC_REQUIRE([ZPAR_SYSTEM_LIBDIRS])
AS_IF([test "x$enable_rpath" != xno], [
    for zpar_f in $$1; do
        case $zpar_f in
        -L/*) ;;
        *) continue ;;
        esac
        zpar_d=`echo "$zpar_f" | sed 's/^-L//'`
        zpar_p=`cd "$zpar_d" 2>/dev/null && pwd -P` || continue
        echo "$zpar_sys_libdirs" | grep -qxF "$zpar_p" && continue
        case " $$1 " in
        *rpath*"$zpar_d "*) continue ;;
        esac
        $1="$$1 -Wl,-rpath,$zpar_d"
    done
])])

# ZPAR_FIND_LIB(VAR, NAME, MODULE, MINVERSION, HEADER, LIB, FUNC, CHECK, REQUIRED)
#
# Find library NAME (the name of its --with-NAME option) and set VAR_CFLAGS,
# VAR_LIBS and zpar_VAR (yes/no) and zpar_VAR_why (where it was found, or
# why not).
#   --with-NAME=DIR     DIR is the installation prefix: MODULE.pc under
#                       DIR/lib/pkgconfig, DIR/lib64/pkgconfig or
#                       DIR/share/pkgconfig if there is one, else
#                       DIR/include/HEADER and -LDIR/lib64 or -LDIR/lib -lLIB.
#                       Not found there: an error.
#   --with-NAME         pkg-config MODULE; not found: an error.
#   (nothing)           pkg-config MODULE; not found: an error when REQUIRED
#                       is "required", else zpar_VAR=no.
#   --without-NAME      an error when REQUIRED, else zpar_VAR=no.
# CHECK is a C program body (after #include <HEADER>) that must compile and
# link with what was found (the API zpar uses); else the version is too old.
AC_DEFUN([ZPAR_FIND_LIB],
[AC_REQUIRE([PKG_PROG_PKG_CONFIG])
zpar_$1=no
zpar_$1_why=
zpar_with=$with_$2
AS_IF([test "x$zpar_with" = x], [zpar_with=check])
case $zpar_with in
no)
    AS_IF([test "x$9" = xrequired],
        [AC_MSG_ERROR([$2 is required: --without-$2 is not possible])])
    zpar_$1_why="--without-$2" ;;
yes | check) ;;
/*) AS_IF([test -d "$zpar_with"], [],
        [AC_MSG_ERROR([--with-$2=$zpar_with: no such directory])]) ;;
*) AC_MSG_ERROR([--with-$2=$zpar_with: give the absolute path of $2's installation prefix]) ;;
esac
AS_CASE([$zpar_with],
[/*], [
    AC_MSG_CHECKING([for $3 in $zpar_with])
    zpar_save_PKG_CONFIG_PATH=$PKG_CONFIG_PATH
    PKG_CONFIG_PATH="$zpar_with/lib/pkgconfig:$zpar_with/lib64/pkgconfig:$zpar_with/share/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
    export PKG_CONFIG_PATH
    zpar_pc=`$PKG_CONFIG --variable=pcfiledir "$3" 2>/dev/null`
    zpar_real_with=`cd "$zpar_with" && pwd -P`
    zpar_real_pc=`cd "$zpar_pc" 2>/dev/null && pwd -P`
    AS_CASE([$zpar_real_pc],
    ["$zpar_real_with"/*], [
        AC_MSG_RESULT([$zpar_pc/$3.pc])
        AS_IF([$PKG_CONFIG --atleast-version="$4" "$3"], [],
            [AC_MSG_ERROR([--with-$2=$zpar_with: $3 `$PKG_CONFIG --modversion "$3"` is older than $4])])
        $1_CFLAGS=`$PKG_CONFIG --cflags "$3"`
        $1_LIBS=`$PKG_CONFIG --libs "$3"`
        zpar_$1=yes
        zpar_$1_why="$3 `$PKG_CONFIG --modversion "$3"`, $zpar_pc/$3.pc"],
    [
        zpar_libdir=$zpar_with/lib
        AS_IF([test -d "$zpar_with/lib64" && test ! -d "$zpar_with/lib"], [zpar_libdir=$zpar_with/lib64])
        AS_IF([test -f "$zpar_with/lib64/lib$6.so" && test ! -f "$zpar_with/lib/lib$6.so"],
            [zpar_libdir=$zpar_with/lib64])
        AS_IF([test -f "$zpar_with/include/$5"], [
            AC_MSG_RESULT([$zpar_with/include/$5, $zpar_libdir/lib$6])
            $1_CFLAGS="-I$zpar_with/include"
            $1_LIBS="-L$zpar_libdir -l$6"
            zpar_$1=yes
            zpar_$1_why="$zpar_with/include/$5, $zpar_libdir/lib$6"],
        [
            AC_MSG_RESULT([no])
            AC_MSG_ERROR([--with-$2=$zpar_with: neither $3.pc under $zpar_with/lib*/pkgconfig nor $zpar_with/include/$5])])])
    PKG_CONFIG_PATH=$zpar_save_PKG_CONFIG_PATH],
[yes | check], [
    PKG_CHECK_MODULES([$1], [$3 >= $4], [
        zpar_$1=yes
        zpar_$1_why="$3 `$PKG_CONFIG --modversion "$3"`"
        zpar_pc=`$PKG_CONFIG --variable=pcfiledir "$3" 2>/dev/null`
        AS_IF([test -n "$zpar_pc"], [zpar_$1_why="$zpar_$1_why, $zpar_pc/$3.pc"])], [
        AS_IF([$PKG_CONFIG --exists "$3" 2>/dev/null],
            [zpar_$1_why="$3 `$PKG_CONFIG --modversion "$3"` is older than $4"],
            [zpar_$1_why="no $3.pc on the pkg-config path"])
        AS_IF([test "x$9" = xrequired || test "x$zpar_with" = xyes],
            [AC_MSG_ERROR([$2: $zpar_$1_why.  Install it (Debian: scripts/install-deps.sh), or give --with-$2=DIR for an installation in DIR, or add its lib/pkgconfig directory to PKG_CONFIG_PATH])])])])
AS_IF([test "x$zpar_$1" = xyes], [
    AC_MSG_CHECKING([whether $2 has the calls zpar uses])
    zpar_save_CFLAGS=$CFLAGS
    zpar_save_LIBS=$LIBS
    CFLAGS="$CFLAGS $$1_CFLAGS"
    LIBS="$$1_LIBS $LIBS"
    AC_LINK_IFELSE([AC_LANG_PROGRAM([[#include <$5>]], [$8])],
        [AC_MSG_RESULT([yes])],
        [AC_MSG_RESULT([no])
         zpar_$1=no
         zpar_$1_why="$zpar_$1_why: too old or unusable (see config.log), zpar needs $3 >= $4"
         AS_IF([test "x$9" = xrequired || test "x$zpar_with" != xcheck],
            [AC_MSG_ERROR([$2: $zpar_$1_why])])])
    CFLAGS=$zpar_save_CFLAGS
    LIBS=$zpar_save_LIBS])
AS_IF([test "x$zpar_$1" = xyes], [ZPAR_ADD_RPATH([$1_LIBS])],
    [$1_CFLAGS=
     $1_LIBS=])
AC_SUBST([$1_CFLAGS])
AC_SUBST([$1_LIBS])
])

# ZPAR_MPI_WRAPPER_FLAGS(WRAPPER): set MPI_CFLAGS and MPI_LIBS from an MPI
# compiler wrapper: Open MPI's --showme:compile/--showme:link, else the
# MPICH family's -show (the compiler command it would run: its -I/-D flags go
# to MPI_CFLAGS, its -L/-l/-Wl flags to MPI_LIBS).
AC_DEFUN([ZPAR_MPI_WRAPPER_FLAGS],
[AS_IF([zpar_c=`$1 --showme:compile 2>/dev/null` && zpar_l=`$1 --showme:link 2>/dev/null`], [
    MPI_CFLAGS=$zpar_c
    MPI_LIBS=$zpar_l
], [zpar_s=`$1 -show 2>/dev/null`], [
    MPI_CFLAGS=
    MPI_LIBS=
    zpar_first=yes
    for zpar_f in $zpar_s; do
        AS_IF([test $zpar_first = yes], [zpar_first=no; continue])
        case $zpar_f in
        -I* | -D*) MPI_CFLAGS="$MPI_CFLAGS $zpar_f" ;;
        -pthread) MPI_CFLAGS="$MPI_CFLAGS $zpar_f"; MPI_LIBS="$MPI_LIBS $zpar_f" ;;
        -L* | -l* | -Wl,*) MPI_LIBS="$MPI_LIBS $zpar_f" ;;
        esac
    done
], [
    MPI_CFLAGS=
    MPI_LIBS=
])])
