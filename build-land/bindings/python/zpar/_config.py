"""Where make install put zpar (written by make)."""
LIBDIR = "/usr/local/lib"
BINDIR = "/usr/local/bin"
