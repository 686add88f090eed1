/* outfiles.h - the files a sweep run writes for its points: working
 * directories and the stdout/stderr files of each result.  Internal.
 *
 * Directories are made like mkdir -p; the last directory made for each
 * purpose is remembered so that the common case (every point in the same
 * directory) costs no system call.
 */
#ifndef ZPAR__SWEEP_OUTFILES_H
#define ZPAR__SWEEP_OUTFILES_H

#include <limits.h>
#include <stddef.h>

/* Zero it before use. */
typedef struct {
    char last[2][PATH_MAX];
} zpar_sweep_dircache_t;

/* mkdir -p dir (0777 before umask), unless it is the last one made for
 * this purpose.  0 / -1 with errno. */
int zpar__sweep_ensure_dir (zpar_sweep_dircache_t *dc, const char *dir);

/* Replace the file at path with data (len bytes) followed by more (mlen
 * bytes; may be NULL), creating its parent directories.  With no bytes at
 * all no file is made, and one left by an earlier run is removed.
 * 0 / -1 with errno (ENAMETOOLONG, or from mkdir/open/write). */
int zpar__sweep_write_output (zpar_sweep_dircache_t *dc, const char *path, const void *data,
                              size_t len, const void *more, size_t mlen);

#endif
