/* wireup_pmi2.c - ranks and the blob exchange over the PMI-2 wire protocol
 * (see wireup.h): the socket a PMI-2 server hands its processes in PMI_FD
 * (Slurm's `srun --mpi=pmi2`, MPICH's Hydra `mpiexec`).  No PMI library is
 * linked: the protocol is a few text commands.
 *
 * Framing: one PMI-1 style line first ("cmd=init pmi_version=2
 * pmi_subversion=0\n", answered by "cmd=response_to_init ... rc=0\n"),
 * then every command and answer is a 6-character decimal length, padded
 * with blanks, followed by that many bytes of "key=value;" pairs (a ';'
 * inside a value doubled).  Every read has the wire-up's deadline. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"

#include "error.h"
#include "wireup_impl.h"

#define PMI2_MSG_MAX   4096 /* bytes of one command or answer */
#define PMI2_CHUNK     400  /* encoded bytes of the blob per key */
#define PMI2_INIT_S    10.0 /* the server answers init at once */
#define PMI2_KEY_COUNT ZPAR_WIREUP_PMIX_KEY ".n"

/* ------------------------------------------------------------------ I/O */

/* Wait until fd is readable (events POLLIN) or writable; 0, or -1 with
 * errno ETIMEDOUT / EPIPE / the poll error. */
static int wait_fd (int fd, short events, double deadline)
{
    for (;;) {
        double left = deadline - zpar__mono_s ();
        struct pollfd p = {.fd = fd, .events = events};
        int ms = left <= 0 ? 0 : left > 1e6 ? 1000000000 : (int)(left * 1000.0) + 1;
        int n = poll (&p, 1, ms);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0) {
            errno = ETIMEDOUT;
            return -1;
        }
        if (p.revents & (events | POLLHUP))
            return 0;
        errno = EPIPE;
        return -1;
    }
}

/* Write (out) or read all len bytes of buf by the deadline; 0, or -1 with
 * errno (EPIPE: the server closed the connection). */
static int xfer_all (int fd, char *buf, size_t len, bool out, double deadline)
{
    while (len > 0) {
        ssize_t n;
        if (wait_fd (fd, out ? POLLOUT : POLLIN, deadline) < 0)
            return -1;
        n = out ? write (fd, buf, len) : read (fd, buf, len);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n <= 0) {
            if (n == 0)
                errno = EPIPE;
            return -1;
        }
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

static int write_all (int fd, const char *buf, size_t len, double deadline)
{
    return xfer_all (fd, (char *)buf, len, true, deadline);
}

static int read_all (int fd, char *buf, size_t len, double deadline)
{
    return xfer_all (fd, buf, len, false, deadline);
}

/* The I/O failed: the connection is unusable from now on (an answer may
 * still be on its way). */
static int io_error (zpar_wireup_t *w, const char *what, zpar_error_t *err)
{
    int e = errno;
    w->pmi2_fd = -1; /* left open: see zpar__wireup_from_pmi2 */
    if (e == ETIMEDOUT)
        return zpar__errnoprintf (err, ETIMEDOUT,
                                  "PMI-2 %s: no answer within %.0f s (some rank did not reach "
                                  "the wire-up?)",
                                  what, w->timeout_ms / 1000.0);
    return zpar__errnoprintf (err, EIO, "PMI-2 %s: %s", what,
                              e == EPIPE ? "the PMI server closed the connection" : strerror (e));
}

/* Send one framed command and read its framed answer into resp (NUL
 * terminated).  0 or -1 (errno, err). */
static int pmi2_call (zpar_wireup_t *w, const char *cmd, char *resp, double deadline,
                      const char *what, zpar_error_t *err)
{
    char hdr[7], msg[PMI2_MSG_MAX + 8];
    size_t len = strlen (cmd);
    int n;

    if (w->pmi2_fd < 0)
        return zpar__errnoprintf (err, EIO, "PMI-2 %s: the connection is closed", what);
    if (len > PMI2_MSG_MAX)
        return zpar__errnoprintf (err, EINVAL, "PMI-2 %s: command of %zu bytes", what, len);
    n = snprintf (msg, sizeof (msg), "%-6zu%s", len, cmd);
    if (write_all (w->pmi2_fd, msg, (size_t)n, deadline) < 0 ||
        read_all (w->pmi2_fd, hdr, 6, deadline) < 0)
        return io_error (w, what, err);
    hdr[6] = '\0';
    /* blank-padded on either side (Slurm left-aligns, Hydra right-aligns) */
    for (char *p = hdr + 5; p > hdr && *p == ' '; p--)
        *p = '\0';
    const char *num = hdr + strspn (hdr, " ");
    if (zpar__wireup_parse_uint (num, &n) < 0 || n > PMI2_MSG_MAX) {
        errno = EPROTO;
        io_error (w, what, NULL);
        return zpar__errnoprintf (err, EPROTO, "PMI-2 %s: bad answer header '%s'", what, hdr);
    }
    if (read_all (w->pmi2_fd, resp, (size_t)n, deadline) < 0)
        return io_error (w, what, err);
    resp[n] = '\0';
    return 0;
}

/* ------------------------------------------------------------------ parsing */

/* The value of key in a "k=v;k=v;" answer (";;" is a ';' of a value),
 * copied into out; 1 found, 0 absent, -1 longer than cap. */
int zpar__wireup_pmi2_field (const char *msg, const char *key, char *out, size_t cap)
{
    size_t klen = strlen (key);
    const char *p = msg;
    while (*p) {
        const char *eq = strchr (p, '=');
        size_t o = 0;
        bool match;
        if (!eq)
            return 0;
        match = (size_t)(eq - p) == klen && !strncmp (p, key, klen);
        p = eq + 1;
        for (;;) {
            char c = *p;
            if (c == '\0')
                break;
            if (c == ';') {
                if (p[1] != ';') {
                    p++;
                    break;
                }
                p++; /* an escaped ';' */
            }
            if (match) {
                if (o + 1 >= cap)
                    return -1;
                out[o++] = c;
            }
            p++;
        }
        if (match) {
            out[o] = '\0';
            return 1;
        }
    }
    return 0;
}

/* The answer must be "cmd=<want>;...rc=0": 0, else -1 (EPROTO/EIO). */
static int check_answer (const char *resp, const char *want, const char *what, zpar_error_t *err)
{
    char cmd[64], rc[16], msg[256];
    if (zpar__wireup_pmi2_field (resp, "cmd", cmd, sizeof (cmd)) != 1 || strcmp (cmd, want))
        return zpar__errnoprintf (err, EPROTO, "PMI-2 %s: unexpected answer '%.200s'", what, resp);
    if (zpar__wireup_pmi2_field (resp, "rc", rc, sizeof (rc)) == 1 && strcmp (rc, "0")) {
        if (zpar__wireup_pmi2_field (resp, "errmsg", msg, sizeof (msg)) != 1)
            snprintf (msg, sizeof (msg), "no message");
        return zpar__errnoprintf (err, EIO, "PMI-2 %s: the server says rc=%s (%s)", what, rc, msg);
    }
    return 0;
}

/* Ranks of PMI_process_mapping "(vector,(node,nodes,ranks-per-node),...)":
 * the blocks give ranks to nodes in order, and repeat until every rank of
 * the job has a node (a cyclic layout is a repeated block).  0 with
 * *local_rank / *local_size of rank, -1 if malformed. */
int zpar__wireup_pmi2_mapping (const char *map, int size, int rank, int *local_rank,
                               int *local_size)
{
    enum { MAXB = 256 };
    long blk[MAXB][3];
    int nb = 0, mynode = -1, lr = 0, ls = 0;
    const char *p = map;

    if (!map || strncmp (p, "(vector,", 8) != 0 || size < 1 || rank < 0 || rank >= size)
        return -1;
    p += 8;
    for (;;) {
        char *end;
        if (*p != '(' || nb == MAXB)
            return -1;
        p++;
        for (int k = 0; k < 3; k++) {
            if (*p < '0' || *p > '9')
                return -1;
            blk[nb][k] = strtol (p, &end, 10);
            if (blk[nb][k] > INT_MAX / 2)
                return -1;
            p = end;
            if (*p++ != (k < 2 ? ',' : ')'))
                return -1;
        }
        if (blk[nb][1] < 1 || blk[nb][2] < 1)
            return -1;
        nb++;
        if (*p == ')' && p[1] == '\0')
            break;
        if (*p++ != ',')
            return -1;
    }
    /* two passes: find my node, then count the ranks before me on it */
    for (int pass = 0; pass < 2; pass++) {
        int r = 0;
        while (r < size) {
            for (int b = 0; b < nb && r < size; b++)
                for (long n = 0; n < blk[b][1] && r < size; n++)
                    for (long k = 0; k < blk[b][2] && r < size; k++, r++) {
                        long node = blk[b][0] + n;
                        if (pass == 0 && r == rank)
                            mynode = (int)node;
                        if (pass == 1 && node == mynode) {
                            if (r < rank)
                                lr++;
                            ls++;
                        }
                    }
        }
    }
    *local_rank = lr;
    *local_size = ls;
    return 0;
}

/* ------------------------------------------------------------------ source */

/* Local rank and size: PMI_process_mapping, else the launcher's variables
 * (Slurm's, Hydra's), else as if on one node. */
static void pmi2_local (zpar_wireup_t *w, double deadline)
{
    char resp[PMI2_MSG_MAX + 1], map[PMI2_MSG_MAX];
    int lr, ls;
    if (pmi2_call (w, "cmd=info-getjobattr;key=PMI_process_mapping;", resp, deadline,
                   "info-getjobattr", NULL) == 0 &&
        check_answer (resp, "info-getjobattr-response", "info-getjobattr", NULL) == 0 &&
        zpar__wireup_pmi2_field (resp, "found", map, sizeof (map)) == 1 && !strcmp (map, "TRUE") &&
        zpar__wireup_pmi2_field (resp, "value", map, sizeof (map)) == 1 &&
        zpar__wireup_pmi2_mapping (map, w->size, w->rank, &lr, &ls) == 0) {
        w->local_rank = lr;
        w->local_size = ls;
        return;
    }
    const char *a = getenv ("MPI_LOCALRANKID"), *b = getenv ("MPI_LOCALNRANKS");
    if (a && b && zpar__wireup_parse_uint (a, &lr) == 0 && zpar__wireup_parse_uint (b, &ls) == 0 &&
        lr < ls && ls <= w->size) {
        w->local_rank = lr;
        w->local_size = ls;
        return;
    }
    w->local_rank = w->rank;
    w->local_size = w->size;
}

/* fullinit on descriptor fd (PMI_FD=fds): 1, 0 (fall back), -1. */
static int pmi2_init (zpar_wireup_t *w, int fd, const char *fds, zpar_error_t *err)
{
    const char *prank = getenv ("PMI_RANK"), *pjob = getenv ("PMI_JOBID");
    char line[256], buf[64], resp[PMI2_MSG_MAX + 1], cmd[512];
    zpar_error_t e = {{0}};
    double deadline = zpar__mono_s () + PMI2_INIT_S;
    size_t n = 0;

    if (w->timeout_ms / 1000.0 < PMI2_INIT_S)
        deadline = zpar__mono_s () + w->timeout_ms / 1000.0;
    w->pmi2_fd = fd;
    /* the PMI-1 style greeting, then PMI-2 framing */
    static const char hello[] = "cmd=init pmi_version=2 pmi_subversion=0\n";
    if (write_all (fd, hello, sizeof (hello) - 1, deadline) < 0)
        goto io;
    while (n + 1 < sizeof (line)) {
        if (read_all (fd, line + n, 1, deadline) < 0)
            goto io;
        if (line[n++] == '\n')
            break;
    }
    line[n] = '\0';
    if (!strstr (line, "cmd=response_to_init") || !strstr (line, "rc=0") ||
        !strstr (line, "pmi_version=2")) {
        zpar__wireup_note (w, "pmi2: the server on PMI_FD=%s refused PMI-2: '%.80s'", fds, line);
        goto refused;
    }
    snprintf (cmd, sizeof (cmd), "cmd=fullinit;%s%s%spmirank=%s;threaded=FALSE;",
              pjob ? "pmijobid=" : "", pjob ? pjob : "", pjob ? ";" : "", prank ? prank : "0");
    if (pmi2_call (w, cmd, resp, deadline, "fullinit", &e) < 0) {
        zpar__wireup_note (w, "pmi2: %s", e.text);
        goto drop;
    }
    if (check_answer (resp, "fullinit-response", "fullinit", &e) < 0) {
        zpar__wireup_note (w, "pmi2: %s", e.text);
        goto drop;
    }
    if (zpar__wireup_pmi2_field (resp, "rank", buf, sizeof (buf)) != 1 ||
        zpar__wireup_parse_uint (buf, &w->rank) < 0 ||
        zpar__wireup_pmi2_field (resp, "size", buf, sizeof (buf)) != 1 ||
        zpar__wireup_parse_uint (buf, &w->size) < 0) {
        zpar__wireup_note (w, "pmi2: fullinit: no rank/size in '%.120s'", resp);
        goto drop;
    }
    w->pmi2_up = true;
    pmi2_local (w, deadline);
    if (w->pmi2_fd < 0) /* info-getjobattr broke the connection */
        return zpar__errnoprintf (err, EIO, "PMI-2: the connection broke after fullinit");
    w->source = ZPAR_WIREUP_SRC_PMI2;
    if (zpar__wireup_check_ranks (w, "PMI-2", err) < 0) {
        errno = EPROTO;
        return -1;
    }
    return 1;
io:
    zpar__wireup_note (w, "pmi2: PMI_FD=%s: %s", fds,
                       errno == ETIMEDOUT ? "no answer to init" : strerror (errno));
refused:
    w->pmi2_fd = -1;
drop:
    /* The descriptor stays open: a PMI server takes a closed connection
     * for the death of the process and ends the job (Hydra does, also for
     * a process that exits after init without finalize).  After a failed
     * fullinit it is kept (pmi2_up false) so that finalize says goodbye at
     * exit. */
    w->fell_back = true;
    w->rank = 0;
    w->size = w->local_size = 1;
    w->local_rank = 0;
    return 0; /* fall back to the launcher's environment */
}

int zpar__wireup_from_pmi2 (zpar_wireup_t *w, zpar_error_t *err)
{
    const char *env = getenv ("PMI_FD");
    char fds[32];
    int fd = -1, rc = 0;

    w->pmi2_fd = -1;
    if (!env)
        return 0; /* not a PMI-2 launch: nothing to say */
    snprintf (fds, sizeof (fds), "%s", env);
    if (zpar__wireup_parse_uint (fds, &fd) < 0 || fcntl (fd, F_GETFD) < 0) {
        zpar__wireup_note (w, "pmi2: PMI_FD='%s' is not an open descriptor", fds);
        w->fell_back = true;
        fd = -1;
    } else if (w->flags & ZPAR_WIREUP_NO_PMI2)
        zpar__wireup_note (w, "pmi2: skipped");
    else
        rc = pmi2_init (w, fd, fds, err);
    /* used or not, the launcher's connection is not for the tasks: a task
     * that is itself a PMI program starts alone */
    if (fd >= 0)
        (void)fcntl (fd, F_SETFD, FD_CLOEXEC);
    unsetenv ("PMI_FD");
    return rc;
}

/* ------------------------------------------------------------------ exchange */

static double xdeadline (const zpar_wireup_t *w)
{
    return zpar__mono_s () + w->timeout_ms / 1000.0;
}

int zpar__wireup_pmi2_fence (zpar_wireup_t *w, zpar_error_t *err)
{
    char resp[PMI2_MSG_MAX + 1];
    if (pmi2_call (w, "cmd=kvs-fence;", resp, xdeadline (w), "kvs-fence", err) < 0)
        return -1;
    return check_answer (resp, "kvs-fence-response", "kvs-fence", err);
}

static int pmi2_put (zpar_wireup_t *w, const char *key, const char *val, zpar_error_t *err)
{
    char cmd[PMI2_MSG_MAX], resp[PMI2_MSG_MAX + 1];
    snprintf (cmd, sizeof (cmd), "cmd=kvs-put;key=%s;value=%s;", key, val);
    if (pmi2_call (w, cmd, resp, xdeadline (w), "kvs-put", err) < 0)
        return -1;
    return check_answer (resp, "kvs-put-response", "kvs-put", err);
}

/* A value safe in any PMI server: bytes outside [!-~] and ';' '=' '%'
 * as %XX.  Encodes from *src until PMI2_CHUNK bytes; advances *src. */
static void encode_chunk (const char **src, char *out)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    const unsigned char *s = (const unsigned char *)*src;
    while (*s && o + 3 < PMI2_CHUNK) {
        if (*s > ' ' && *s <= '~' && *s != ';' && *s != '=' && *s != '%')
            out[o++] = (char)*s;
        else {
            out[o++] = '%';
            out[o++] = hex[*s >> 4];
            out[o++] = hex[*s & 15];
        }
        s++;
    }
    out[o] = '\0';
    *src = (const char *)s;
}

int zpar__wireup_pmi2_publish (zpar_wireup_t *w, const char *blob, zpar_error_t *err)
{
    char key[64], val[PMI2_CHUNK + 1];
    const char *p = blob;
    int n = 0;
    while (*p) {
        encode_chunk (&p, val);
        snprintf (key, sizeof (key), "%s.%d", ZPAR_WIREUP_PMIX_KEY, n++);
        if (pmi2_put (w, key, val, err) < 0)
            return -1;
    }
    snprintf (val, sizeof (val), "%d", n);
    if (pmi2_put (w, PMI2_KEY_COUNT, val, err) < 0)
        return -1;
    return zpar__wireup_pmi2_fence (w, err);
}

/* kvs-get of rank 0's key into val (cap bytes); 0 or -1. */
static int pmi2_get (zpar_wireup_t *w, const char *key, char *val, size_t cap, zpar_error_t *err)
{
    char cmd[256], resp[PMI2_MSG_MAX + 1], found[16];
    snprintf (cmd, sizeof (cmd), "cmd=kvs-get;srcid=0;key=%s;", key);
    if (pmi2_call (w, cmd, resp, xdeadline (w), "kvs-get", err) < 0 ||
        check_answer (resp, "kvs-get-response", "kvs-get", err) < 0)
        return -1;
    if (zpar__wireup_pmi2_field (resp, "found", found, sizeof (found)) != 1 ||
        strcmp (found, "TRUE") || zpar__wireup_pmi2_field (resp, "value", val, cap) != 1)
        return zpar__errnoprintf (err, EPROTO,
                                  "PMI-2: rank 0's key %s is not there after the fence "
                                  "(answer '%.200s')",
                                  key, resp);
    return 0;
}

static int unhex (char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

char *zpar__wireup_pmi2_fetch (zpar_wireup_t *w, zpar_error_t *err)
{
    /* a value longer than a chunk does not fit val (zpar__wireup_pmi2_field
     * fails), so each chunk decodes to at most PMI2_CHUNK bytes of blob */
    char key[64], val[PMI2_CHUNK + 1];
    char *blob = NULL;
    size_t len = 0;
    int n;

    if (zpar__wireup_pmi2_fence (w, err) < 0 ||
        pmi2_get (w, PMI2_KEY_COUNT, val, sizeof (val), err) < 0)
        return NULL;
    if (zpar__wireup_parse_uint (val, &n) < 0 || n < 1 || n > ZPAR_WIREUP_BLOB_MAX / 100 + 2) {
        zpar__errnoprintf (err, EPROTO, "PMI-2: rank 0's %s is '%s'", PMI2_KEY_COUNT, val);
        return NULL;
    }
    if (!(blob = malloc ((size_t)n * PMI2_CHUNK + 1))) {
        zpar__errnoprintf (err, ENOMEM, "out of memory");
        return NULL;
    }
    for (int i = 0; i < n; i++) {
        snprintf (key, sizeof (key), "%s.%d", ZPAR_WIREUP_PMIX_KEY, i);
        if (pmi2_get (w, key, val, sizeof (val), err) < 0)
            goto error;
        for (const char *p = val; *p; p++) {
            if (*p == '%') {
                int hi = unhex (p[1]), lo = hi < 0 ? -1 : unhex (p[2]);
                if (lo < 0) {
                    zpar__errnoprintf (err, EPROTO, "PMI-2: rank 0's %s is malformed", key);
                    goto error;
                }
                blob[len++] = (char)(hi * 16 + lo);
                p += 2;
            } else
                blob[len++] = *p;
        }
    }
    blob[len] = '\0';
    if (len == 0 || strlen (blob) != len) {
        zpar__errnoprintf (err, EPROTO, "PMI-2: rank 0's blob is empty or has a NUL");
        goto error;
    }
    return blob;
error:
    free (blob);
    return NULL;
}

void zpar__wireup_pmi2_finalize (zpar_wireup_t *w)
{
    char resp[PMI2_MSG_MAX + 1];
    if (w->pmi2_fd >= 0) {
        (void)pmi2_call (w, "cmd=finalize;", resp, zpar__mono_s () + 2.0, "finalize", NULL);
        if (w->pmi2_fd >= 0)
            close (w->pmi2_fd);
    }
    w->pmi2_fd = -1;
    w->pmi2_up = false;
}
