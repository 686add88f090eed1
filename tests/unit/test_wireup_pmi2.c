/* test_wireup_pmi2.c - unit tests of src/launch/wireup_pmi2.c: the PMI-2
 * answer parser, PMI_process_mapping, and the whole wire-up against a fake
 * PMI-2 server on a socketpair (a thread): rank discovery, a blob with
 * every awkward byte through kvs-put / kvs-fence / kvs-get in chunks, both
 * header alignments (Slurm's and Hydra's), and the clean fallback to the
 * launcher's environment when the server is absent, refuses, errs or never
 * answers (bounded by the timeout).  The real servers are exercised by
 * tests/system/t0650-launch-slurm.sh and t0660-launch-hydra.sh. */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"
#include "tap.h"
#include "wireup.h"
#include "wireup_impl.h"

/* ------------------------------------------------------------------ fake server */

typedef enum { SRV_OK, SRV_REFUSE, SRV_SILENT, SRV_FULLINIT_RC, SRV_NO_MAPPING } srv_mode_t;

static struct {
    char key[64][64];
    char val[64][1024];
    int n;
    pthread_mutex_t lock;
} kvs = {.lock = PTHREAD_MUTEX_INITIALIZER};

typedef struct {
    int fd;
    srv_mode_t mode;
    int rank, size;
    int right_align; /* Hydra's header */
    const char *mapping;
    int commands; /* counted */
    int finalized;
} srv_t;

static int srv_read (int fd, char *buf, size_t n)
{
    while (n > 0) {
        ssize_t r = read (fd, buf, n);
        if (r <= 0)
            return -1;
        buf += r;
        n -= (size_t)r;
    }
    return 0;
}

static void srv_send (srv_t *s, const char *msg)
{
    char out[8192];
    int n = s->right_align ? snprintf (out, sizeof (out), "%6zu%s", strlen (msg), msg)
                           : snprintf (out, sizeof (out), "%-6zu%s", strlen (msg), msg);
    if (write (s->fd, out, (size_t)n) != n)
        return;
}

static void *srv_main (void *arg)
{
    srv_t *s = arg;
    char line[256], hdr[7], msg[8192], key[64], val[1024], resp[2048];
    size_t n = 0;

    while (n + 1 < sizeof (line) && read (s->fd, line + n, 1) == 1 && line[n++] != '\n')
        ;
    line[n] = '\0';
    if (s->mode == SRV_SILENT) {
        char c;
        while (read (s->fd, &c, 1) == 1) /* until the client gives up */
            ;
        return NULL;
    }
    if (s->mode == SRV_REFUSE) {
        static const char no[] = "cmd=response_to_init pmi_version=1 rc=-1\n";
        (void)!write (s->fd, no, sizeof (no) - 1);
        return NULL;
    }
    static const char yes[] = "cmd=response_to_init pmi_version=2 pmi_subversion=0 rc=0\n";
    (void)!write (s->fd, yes, sizeof (yes) - 1);
    for (;;) {
        int len;
        if (srv_read (s->fd, hdr, 6) < 0)
            return NULL;
        hdr[6] = '\0';
        len = atoi (hdr);
        if (len <= 0 || len >= (int)sizeof (msg) || srv_read (s->fd, msg, (size_t)len) < 0)
            return NULL;
        msg[len] = '\0';
        s->commands++;
        if (!strncmp (msg, "cmd=fullinit;", 13)) {
            if (s->mode == SRV_FULLINIT_RC)
                srv_send (s, "cmd=fullinit-response;rc=-1;errmsg=no;;such rank;");
            else {
                snprintf (resp, sizeof (resp),
                          "cmd=fullinit-response;pmi-version=2;pmi-subversion=0;rank=%d;"
                          "size=%d;appnum=0;debugged=FALSE;pmiverbose=FALSE;rc=0;",
                          s->rank, s->size);
                srv_send (s, resp);
            }
        } else if (!strncmp (msg, "cmd=info-getjobattr;", 20)) {
            if (s->mode == SRV_NO_MAPPING || !s->mapping)
                srv_send (s, "cmd=info-getjobattr-response;found=FALSE;rc=0;");
            else {
                snprintf (resp, sizeof (resp),
                          "cmd=info-getjobattr-response;found=TRUE;value=%s;rc=0;", s->mapping);
                srv_send (s, resp);
            }
        } else if (!strncmp (msg, "cmd=kvs-put;", 12)) {
            if (zpar__wireup_pmi2_field (msg, "key", key, sizeof (key)) != 1 ||
                zpar__wireup_pmi2_field (msg, "value", val, sizeof (val)) != 1 ||
                strlen (val) > 1000) /* a real server's limit is about 1 KiB */
                srv_send (s, "cmd=kvs-put-response;rc=1;errmsg=bad put;");
            else {
                pthread_mutex_lock (&kvs.lock);
                snprintf (kvs.key[kvs.n], sizeof (kvs.key[0]), "%s", key);
                snprintf (kvs.val[kvs.n], sizeof (kvs.val[0]), "%s", val);
                kvs.n++;
                pthread_mutex_unlock (&kvs.lock);
                srv_send (s, "cmd=kvs-put-response;rc=0;");
            }
        } else if (!strncmp (msg, "cmd=kvs-fence;", 14)) {
            srv_send (s, "cmd=kvs-fence-response;rc=0;");
        } else if (!strncmp (msg, "cmd=kvs-get;", 12)) {
            int found = -1;
            zpar__wireup_pmi2_field (msg, "key", key, sizeof (key));
            pthread_mutex_lock (&kvs.lock);
            for (int i = 0; i < kvs.n; i++)
                if (!strcmp (kvs.key[i], key))
                    found = i;
            if (found < 0)
                snprintf (resp, sizeof (resp), "cmd=kvs-get-response;found=FALSE;rc=0;");
            else
                snprintf (resp, sizeof (resp), "cmd=kvs-get-response;found=TRUE;value=%s;rc=0;",
                          kvs.val[found]);
            pthread_mutex_unlock (&kvs.lock);
            srv_send (s, resp);
        } else if (!strncmp (msg, "cmd=finalize;", 13)) {
            s->finalized = 1;
            srv_send (s, "cmd=finalize-response;rc=0;");
        } else
            srv_send (s, "cmd=unknown-response;rc=-1;");
    }
}

/* Start a server for one process: PMI_FD, PMI_RANK, PMI_SIZE set. */
static int srv_start (srv_t *s, pthread_t *t, int rank, int size)
{
    int sv[2];
    char b[32];
    if (socketpair (AF_UNIX, SOCK_STREAM, 0, sv) < 0)
        return -1;
    s->fd = sv[1];
    s->rank = rank;
    s->size = size;
    snprintf (b, sizeof (b), "%d", sv[0]);
    setenv ("PMI_FD", b, 1);
    snprintf (b, sizeof (b), "%d", rank);
    setenv ("PMI_RANK", b, 1);
    snprintf (b, sizeof (b), "%d", size);
    setenv ("PMI_SIZE", b, 1);
    if (pthread_create (t, NULL, srv_main, s) != 0)
        return -1;
    return sv[0];
}

static void srv_stop (srv_t *s, pthread_t t, int cfd)
{
    if (cfd >= 0)
        close (cfd); /* the client leaves it open when it falls back */
    shutdown (s->fd, SHUT_RDWR);
    pthread_join (t, NULL);
    close (s->fd);
    unsetenv ("PMI_FD");
    unsetenv ("PMI_RANK");
    unsetenv ("PMI_SIZE");
}

/* ------------------------------------------------------------------ tests */

static void test_field (void)
{
    char out[32];
    const char *m = "cmd=kvs-get-response;found=TRUE;value=a;;b=c;rc=0;";
    is_int (zpar__wireup_pmi2_field (m, "value", out, sizeof (out)), 1, "field: found");
    is_str (out, "a;b=c", "field: ';;' is a ';' of the value, '=' inside a value is kept");
    is_int (zpar__wireup_pmi2_field (m, "rc", out, sizeof (out)), 1, "field: last one");
    is_str (out, "0", "field: rc=0");
    is_int (zpar__wireup_pmi2_field (m, "val", out, sizeof (out)), 0,
            "field: a prefix of a key is not the key");
    is_int (zpar__wireup_pmi2_field (m, "value", out, 3), -1, "field: too long for the buffer");
    is_int (zpar__wireup_pmi2_field ("garbage", "cmd", out, sizeof (out)), 0, "field: no '='");
}

static void test_mapping (void)
{
    int lr = -1, ls = -1;
    is_int (zpar__wireup_pmi2_mapping ("(vector,(0,1,3))", 3, 1, &lr, &ls), 0, "mapping: 1 node");
    ok (lr == 1 && ls == 3, "mapping: 1 node x 3: rank 1 is local 1 of 3 (%d of %d)", lr, ls);
    zpar__wireup_pmi2_mapping ("(vector,(0,2,2))", 4, 2, &lr, &ls);
    ok (lr == 0 && ls == 2, "mapping: block 2x2: rank 2 is local 0 of 2 (%d of %d)", lr, ls);
    zpar__wireup_pmi2_mapping ("(vector,(0,2,1))", 4, 2, &lr, &ls);
    ok (lr == 1 && ls == 2, "mapping: cyclic (repeated block): rank 2 is local 1 of 2 (%d of %d)",
        lr, ls);
    zpar__wireup_pmi2_mapping ("(vector,(0,1,3),(1,1,1))", 4, 3, &lr, &ls);
    ok (lr == 0 && ls == 1, "mapping: uneven 3+1: rank 3 is alone on node 1 (%d of %d)", lr, ls);
    zpar__wireup_pmi2_mapping ("(vector,(0,1,3),(1,1,1))", 4, 2, &lr, &ls);
    ok (lr == 2 && ls == 3, "mapping: uneven 3+1: rank 2 is local 2 of 3 (%d of %d)", lr, ls);
    static const char *const bad[] = {"",
                                      "(vector)",
                                      "(vector,(0,1))",
                                      "(vector,(0,0,3))",
                                      "(vector,(0,1,3)",
                                      "(vector,(0,1,3)) ",
                                      "(vector,(0,1,-3))",
                                      "(list,(0,1,3))",
                                      "(vector,(0,1,99999999999))",
                                      NULL};
    for (int i = 0; bad[i]; i++)
        is_int (zpar__wireup_pmi2_mapping (bad[i], 3, 0, &lr, &ls), -1, "mapping: '%s' refused",
                bad[i]);
}

/* create with a fake server; returns the object (or NULL) */
static zpar_wireup_t *create (int timeout_ms, zpar_error_t *err)
{
    zpar_wireup_params_t p;
    zpar__wireup_params_init (&p);
    p.timeout_ms = timeout_ms;
    return zpar__wireup_create (&p, err);
}

static void test_exchange (int right_align)
{
    srv_t s0 = {.right_align = right_align, .mapping = "(vector,(0,2,2))"};
    srv_t s3 = {.right_align = right_align, .mapping = "(vector,(0,2,2))"};
    pthread_t t0, t3;
    zpar_error_t err = {{0}};
    const char *how = right_align ? "Hydra's header" : "Slurm's header";
    char blob[3000];
    int fd0, fd3;

    /* every byte a PMI value could choke on, and more than one chunk */
    size_t o = 0;
    while (o < 2500) {
        static const char pat[] = "{\"k\": \"a;b=c%d e\\n\"}\n\t;;==%%";
        memcpy (blob + o, pat, sizeof (pat) - 1);
        o += sizeof (pat) - 1;
    }
    blob[o] = '\0';
    kvs.n = 0;
    fd0 = srv_start (&s0, &t0, 0, 4);
    zpar_wireup_t *w0 = create (5000, &err);
    ok (w0 && zpar__wireup_source (w0) == ZPAR_WIREUP_SRC_PMI2 &&
            zpar__wireup_exchange_method (w0) == ZPAR_WIREUP_XCHG_PMI2,
        "%s: rank 0 from pmi2, exchange pmi2 (%s)", how, w0 ? "" : err.text);
    ok (w0 && zpar__wireup_rank (w0) == 0 && zpar__wireup_size (w0) == 4 &&
            zpar__wireup_local_size (w0) == 2,
        "%s: rank 0 of 4, 2 on its node", how);
    ok (!getenv ("PMI_FD"), "%s: PMI_FD is gone from the environment (tasks start alone)", how);
    is_int (w0 ? zpar__wireup_publish (w0, blob, &err) : -1, 0, "%s: publish %zu bytes (%s)", how,
            strlen (blob), err.text);
    ok (kvs.n > 2, "%s: the blob went in %d keys (chunks + count)", how, kvs.n);
    int maxlen = 0;
    for (int i = 0; i < kvs.n; i++) {
        if ((int)strlen (kvs.val[i]) > maxlen)
            maxlen = (int)strlen (kvs.val[i]);
        if (strpbrk (kvs.val[i], ";= \n"))
            maxlen = 99999;
    }
    ok (maxlen <= 400, "%s: every value at most 400 bytes, without ';' '=' blank or newline (%d)",
        how, maxlen);

    fd3 = srv_start (&s3, &t3, 3, 4);
    zpar_wireup_t *w3 = create (5000, &err);
    ok (w3 && zpar__wireup_rank (w3) == 3 && zpar__wireup_local_rank (w3) == 1 &&
            zpar__wireup_local_size (w3) == 2,
        "%s: rank 3 is local 1 of 2 (from PMI_process_mapping)", how);
    char *got = w3 ? zpar__wireup_fetch (w3, &err) : NULL;
    ok (got && !strcmp (got, blob), "%s: rank 3 fetched rank 0's blob intact (%s)", how,
        got ? "" : err.text);
    free (got);
    got = w3 ? zpar__wireup_fetch (w3, &err) : NULL;
    ok (!got && errno == EBUSY, "%s: a second fetch is refused (the fence is collective)", how);
    is_int (w3 ? zpar__wireup_barrier (w3, &err) : -1, 0, "%s: barrier is a fence", how);
    zpar__wireup_destroy (w0);
    zpar__wireup_destroy (w3);
    ok (s0.finalized && s3.finalized, "%s: both said finalize", how);
    (void)fd0;
    (void)fd3;
    srv_stop (&s0, t0, -1); /* destroy closed them */
    srv_stop (&s3, t3, -1);
}

/* a server that fails in mode m: the ranks come from PMI_RANK/PMI_SIZE, the
 * exchange is the file (a directory is given), a reason is noted */
static void test_fallback (srv_mode_t m, const char *name, const char *reason)
{
    srv_t s = {.mode = m};
    pthread_t t;
    zpar_error_t err = {{0}};
    zpar_wireup_params_t p;
    int fd = srv_start (&s, &t, 1, 3);
    double t0 = zpar__mono_s ();
    zpar__wireup_params_init (&p);
    p.timeout_ms = 300;
    p.connection_dir = "/tmp";
    zpar_wireup_t *w = zpar__wireup_create (&p, &err);
    double dt = zpar__mono_s () - t0;
    ok (w && zpar__wireup_source (w) == ZPAR_WIREUP_SRC_PMI_ENV &&
            zpar__wireup_exchange_method (w) == ZPAR_WIREUP_XCHG_FILE,
        "%s: falls back to PMI_RANK/PMI_SIZE and the file (%s)", name, w ? "" : err.text);
    ok (w && zpar__wireup_rank (w) == 1 && zpar__wireup_size (w) == 3, "%s: rank 1 of 3", name);
    ok (w && zpar__wireup_fell_back (w) && strstr (zpar__wireup_notes (w), reason),
        "%s: the note says why: '%s'", name, w ? zpar__wireup_notes (w) : "");
    ok (dt < 2.0, "%s: decided in %.2f s (timeout 0.3 s)", name, dt);
    zpar__wireup_destroy (w);
    if (m == SRV_FULLINIT_RC) {
        /* the connection was up: kept, and finalized at the end (a PMI
         * server ends the job of a process that leaves without it) */
        ok (s.finalized, "%s: the kept connection said finalize at destroy", name);
        fd = -1; /* closed by destroy */
    }
    srv_stop (&s, t, fd);
}

int main (void)
{
    plan (NO_PLAN);
    unsetenv ("PMIX_NAMESPACE");
    unsetenv ("OMPI_COMM_WORLD_RANK");
    unsetenv ("SLURM_PROCID");
    test_field ();
    test_mapping ();
    test_exchange (0);
    test_exchange (1);
    /* a chunk longer than the publisher ever writes (a buggy or hostile
     * server, another process of the job putting the key): refused, not
     * decoded past the blob's room */
    {
        srv_t s = {.mapping = "(vector,(0,2,2))"};
        pthread_t t;
        zpar_error_t err = {{0}};
        int fd;
        kvs.n = 2;
        snprintf (kvs.key[0], sizeof (kvs.key[0]), "%s.n", ZPAR_WIREUP_PMIX_KEY);
        snprintf (kvs.val[0], sizeof (kvs.val[0]), "1");
        snprintf (kvs.key[1], sizeof (kvs.key[1]), "%s.0", ZPAR_WIREUP_PMIX_KEY);
        memset (kvs.val[1], 'A', 415);
        kvs.val[1][415] = '\0';
        fd = srv_start (&s, &t, 1, 2);
        zpar_wireup_t *w = create (5000, &err);
        char *got = w ? zpar__wireup_fetch (w, &err) : NULL;
        ok (w && !got, "a 415-byte chunk (the publisher writes at most 400) is refused (%s)",
            got ? "fetched" : err.text);
        free (got);
        zpar__wireup_destroy (w);
        (void)fd;
        srv_stop (&s, t, -1);
    }
    test_fallback (SRV_REFUSE, "server refuses PMI-2", "refused PMI-2");
    test_fallback (SRV_SILENT, "server never answers", "no answer to init");
    test_fallback (SRV_FULLINIT_RC, "fullinit rc=-1", "no;such rank");

    /* no mapping: the local rank/size come from Hydra's variables */
    {
        srv_t s = {.mode = SRV_NO_MAPPING};
        pthread_t t;
        zpar_error_t err = {{0}};
        int fd = srv_start (&s, &t, 2, 4);
        setenv ("MPI_LOCALRANKID", "0", 1);
        setenv ("MPI_LOCALNRANKS", "2", 1);
        zpar_wireup_t *w = create (2000, &err);
        ok (w && zpar__wireup_local_rank (w) == 0 && zpar__wireup_local_size (w) == 2,
            "no PMI_process_mapping: MPI_LOCALRANKID/MPI_LOCALNRANKS give local 0 of 2");
        zpar__wireup_destroy (w);
        (void)fd;
        srv_stop (&s, t, -1);
        unsetenv ("MPI_LOCALRANKID");
        unsetenv ("MPI_LOCALNRANKS");
    }
    /* PMI_FD names no open descriptor */
    {
        zpar_error_t err = {{0}};
        setenv ("PMI_FD", "987", 1);
        setenv ("PMI_RANK", "0", 1);
        setenv ("PMI_SIZE", "2", 1);
        zpar_wireup_t *w = create (2000, &err);
        ok (w && zpar__wireup_source (w) == ZPAR_WIREUP_SRC_PMI_ENV && zpar__wireup_fell_back (w) &&
                strstr (zpar__wireup_notes (w), "not an open descriptor"),
            "PMI_FD=987 (closed): PMI_RANK/PMI_SIZE, noted (%s)", w ? zpar__wireup_notes (w) : "");
        zpar__wireup_destroy (w);
        /* skipped by request: no fallback warning, a note */
        unsigned f = 0;
        zpar_wireup_params_t p;
        is_int (zpar__wireup_skip_parse ("pmix,pmi2", &f, &err), 0, "skip list pmix,pmi2");
        ok (f == (ZPAR_WIREUP_NO_PMIX | ZPAR_WIREUP_NO_PMI2), "skip flags");
        is_int (zpar__wireup_skip_parse ("pmi3", &f, &err), -1, "skip list: pmi3 refused");
        ok (strstr (err.text, "pmi3") != NULL, "the error names it: %s", err.text);
        zpar__wireup_params_init (&p);
        p.flags = ZPAR_WIREUP_NO_PMI2;
        ok (!getenv ("PMI_FD"), "PMI_FD is removed even when it was not usable");
        setenv ("PMI_FD", "0", 1); /* open, but not to be used */
        w = zpar__wireup_create (&p, &err);
        ok (!getenv ("PMI_FD"), "PMI_FD is removed when PMI-2 is skipped");
        ok (w && !zpar__wireup_fell_back (w) && strstr (zpar__wireup_notes (w), "pmi2: skipped"),
            "skipped: noted, not a fallback (%s)", w ? zpar__wireup_notes (w) : "");
        zpar__wireup_destroy (w);
        unsetenv ("PMI_FD");
        unsetenv ("PMI_RANK");
        unsetenv ("PMI_SIZE");
    }
    return done_testing ();
}
