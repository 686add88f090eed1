/* outfiles.c - the files a sweep run writes for its points. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "conn.h"
#include "outfiles.h"

enum { SLOT_WORKDIR, SLOT_OUTPUT };

static int ensure (zpar_sweep_dircache_t *dc, int slot, const char *dir)
{
    if (strcmp (dc->last[slot], dir) == 0)
        return 0;
    if (zpar__mkdir_p (dir, 0777) < 0)
        return -1;
    snprintf (dc->last[slot], sizeof (dc->last[slot]), "%s", dir);
    return 0;
}

int zpar__sweep_ensure_dir (zpar_sweep_dircache_t *dc, const char *dir)
{
    if (!dc || !dir) {
        errno = EINVAL;
        return -1;
    }
    return ensure (dc, SLOT_WORKDIR, dir);
}

static int ensure_parent (zpar_sweep_dircache_t *dc, const char *path)
{
    char dir[PATH_MAX];
    const char *slash = strrchr (path, '/');
    size_t n;
    if (!slash || slash == path)
        return 0;
    n = (size_t)(slash - path);
    if (n >= sizeof (dir)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy (dir, path, n);
    dir[n] = '\0';
    return ensure (dc, SLOT_OUTPUT, dir);
}

static int write_all (int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t n = write (fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int zpar__sweep_write_output (zpar_sweep_dircache_t *dc, const char *path, const void *data,
                              size_t len, const void *more, size_t mlen)
{
    int fd, e;
    if (!dc || !path || (len && !data) || (mlen && !more)) {
        errno = EINVAL;
        return -1;
    }
    if (len == 0 && mlen == 0) {
        /* no output, no file (and none left from an earlier run): creating
         * two empty files per point costs more than a short task */
        if (unlink (path) < 0 && errno != ENOENT)
            return -1;
        return 0;
    }
    if (ensure_parent (dc, path) < 0)
        return -1;
    if ((fd = open (path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666)) < 0)
        return -1;
    if ((len && write_all (fd, data, len) < 0) || (mlen && write_all (fd, more, mlen) < 0)) {
        e = errno;
        close (fd);
        errno = e;
        return -1;
    }
    return close (fd);
}
