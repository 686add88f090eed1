/* records_spill.c - a copy of the task records' unsaved batch outside the
 * database. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "records_spill.h"

#define MAGIC      "ZPARSPL1"
#define HDR_LEN    36
#define MAX_RECORD ((size_t)1 << 30)

struct zpar_spill {
    char dir[PATH_MAX];
    char path[PATH_MAX];
    char tmp[PATH_MAX + 8];
    int fd; /* open for appending, -1 */
};

static uint64_t fnv1a (const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) {
        h ^= (uint8_t)*s;
        h *= 1099511628211ull;
    }
    return h;
}

/* The directory dir/zpar-<uid>, created (mode 0700) if create; ours alone:
 * nobody else may put a spill there for us to read.  0 / -1 (ENOENT, EPERM). */
static int check_dir (const char *sub, int create)
{
    struct stat st;
    if (create && mkdir (sub, 0700) < 0 && errno != EEXIST)
        return -1;
    if (lstat (sub, &st) < 0)
        return -1;
    if (!S_ISDIR (st.st_mode) || st.st_uid != getuid () || (st.st_mode & 077)) {
        errno = EPERM;
        return -1;
    }
    return 0;
}

zpar_spill_t *zpar__spill_open (const char *dir, const char *db_path)
{
    char real[PATH_MAX];
    zpar_spill_t *sp;
    int n;

    if (!dir || !*dir || !db_path || !realpath (db_path, real)) {
        if (!errno || !db_path)
            errno = EINVAL;
        return NULL;
    }
    if (!(sp = calloc (1, sizeof (*sp))))
        return NULL;
    sp->fd = -1;
    n = snprintf (sp->dir, sizeof (sp->dir), "%s/zpar-%u", dir, (unsigned)getuid ());
    if (n > 0 && (size_t)n < sizeof (sp->dir))
        n = snprintf (sp->path, sizeof (sp->path), "%s/records-%016llx", sp->dir,
                      (unsigned long long)fnv1a (real));
    if (n < 0 || (size_t)n >= sizeof (sp->path)) {
        free (sp);
        errno = ENAMETOOLONG;
        return NULL;
    }
    snprintf (sp->tmp, sizeof (sp->tmp), "%s.new", sp->path);
    return sp;
}

void zpar__spill_close (zpar_spill_t *sp)
{
    if (sp) {
        int saved = errno;
        if (sp->fd >= 0)
            close (sp->fd);
        free (sp);
        errno = saved;
    }
}

const char *zpar__spill_path (const zpar_spill_t *sp)
{
    return sp ? sp->path : "";
}

static void put_le (uint8_t *p, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le (const uint8_t *p, int bytes)
{
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static int write_all (int fd, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    while (len) {
        ssize_t w = write (fd, p, len);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

/* kind u32, id u64, client u32, engine u32, status u32, when u64, len u32 */
static int write_op (int fd, const zpar_rec_op_t *op)
{
    uint8_t h[HDR_LEN];
    if (op->len > MAX_RECORD) {
        errno = EFBIG;
        return -1;
    }
    put_le (h, (uint64_t)op->kind, 4);
    put_le (h + 4, op->id, 8);
    put_le (h + 12, op->client, 4);
    put_le (h + 16, op->engine, 4);
    put_le (h + 20, (uint64_t)(uint32_t)op->status, 4);
    put_le (h + 24, op->when, 8);
    put_le (h + 32, op->len, 4);
    if (write_all (fd, h, sizeof (h)) < 0 || (op->len && write_all (fd, op->blob, op->len) < 0))
        return -1;
    return 0;
}

int zpar__spill_rewrite (zpar_spill_t *sp, const zpar_rec_op_t *ops, size_t n)
{
    int fd;
    if (!sp || (n && !ops)) {
        errno = EINVAL;
        return -1;
    }
    if (sp->fd >= 0) {
        close (sp->fd);
        sp->fd = -1;
    }
    if (check_dir (sp->dir, 1) < 0)
        return -1;
    (void)unlink (sp->tmp);
    if ((fd = open (sp->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0)
        return -1;
    if (write_all (fd, MAGIC, 8) < 0)
        goto error;
    for (size_t i = 0; i < n; i++)
        if (write_op (fd, &ops[i]) < 0)
            goto error;
    if (rename (sp->tmp, sp->path) < 0)
        goto error;
    sp->fd = fd; /* appends go to the renamed file */
    return 0;
error : {
    int saved = errno;
    close (fd);
    (void)unlink (sp->tmp);
    errno = saved;
    return -1;
}
}

int zpar__spill_append (zpar_spill_t *sp, const zpar_rec_op_t *op)
{
    if (!sp || !op) {
        errno = EINVAL;
        return -1;
    }
    if (sp->fd < 0) {
        errno = EBADF; /* no rewrite yet */
        return -1;
    }
    return write_op (sp->fd, op);
}

int zpar__spill_remove (zpar_spill_t *sp)
{
    if (!sp) {
        errno = EINVAL;
        return -1;
    }
    if (sp->fd >= 0) {
        close (sp->fd);
        sp->fd = -1;
    }
    return unlink (sp->path);
}

long zpar__spill_replay (zpar_spill_t *sp, zpar_spill_f cb, void *arg)
{
    uint8_t h[HDR_LEN], magic[8];
    struct stat st;
    void *blob = NULL;
    long n = 0;
    FILE *f;
    int fd;

    if (!sp || !cb) {
        errno = EINVAL;
        return -1;
    }
    if (check_dir (sp->dir, 0) < 0 || (fd = open (sp->path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
        return errno == ENOENT ? 0 : -1;
    if (fstat (fd, &st) < 0 || !S_ISREG (st.st_mode) || st.st_uid != getuid () ||
        (st.st_mode & 077)) {
        close (fd);
        errno = EPERM;
        return -1;
    }
    if (!(f = fdopen (fd, "rb"))) {
        close (fd);
        return -1;
    }
    if (fread (magic, 1, 8, f) != 8 || memcmp (magic, MAGIC, 8) != 0) {
        fclose (f);
        errno = EPROTO;
        return -1;
    }
    while (fread (h, 1, sizeof (h), f) == sizeof (h)) {
        zpar_rec_op_t op = {
            .kind = (zpar_rec_op_kind_t)get_le (h, 4),
            .id = get_le (h + 4, 8),
            .client = (uint32_t)get_le (h + 12, 4),
            .engine = (uint32_t)get_le (h + 16, 4),
            .status = (int)(uint32_t)get_le (h + 20, 4),
            .when = get_le (h + 24, 8),
            .len = (size_t)get_le (h + 32, 4),
        };
        void *nb;
        if (op.kind > ZPAR_REC_OP_ENGINE || op.len > MAX_RECORD)
            break; /* not ours to read further */
        if (op.len) {
            if (!(nb = realloc (blob, op.len))) {
                n = -1;
                errno = ENOMEM;
                break;
            }
            blob = nb;
            if (fread (blob, 1, op.len, f) != op.len)
                break; /* cut short by a crash */
            op.blob = blob;
        }
        if (cb (arg, &op) < 0) {
            n = -1;
            break;
        }
        n++;
    }
    {
        int saved = errno;
        free (blob);
        fclose (f);
        errno = saved;
    }
    return n;
}
