/* test_hub_hostlost.c - the hub's "host lost" line (hub_hb.c): engines of
 * two other hosts and of this one register; the heartbeat thread's DEAD
 * events arrive over a real inproc pipe; the controller's log (stderr,
 * captured in a file) must name a host once all its live engines died
 * within the death limit plus two periods of each other, with the count
 * of those that died together, and
 * never name this host or a host that still has a live engine. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zmq.h>

#include "hub.h"
#include "hub_fixture.h"
#include "log.h"
#include "proto_hb.h"
#include "tap.h"
#include "zpar.h"

static char tmpdir[] = "/tmp/zpar-test-hostlost-XXXXXX";
static char logpath[300];
static long logpos;

static void reg_pid (zpar_hub_t *h, const char *peer, const char *host, int pid)
{
    hfx_engine_t e = {.uuid = peer, .host = host, .pid = (uint64_t)pid, .rank = 1};
    zpar__msg_destroy (hfx_engine_register (h, peer, &e));
}

static void reg (zpar_hub_t *h, const char *peer, const char *host)
{
    reg_pid (h, peer, host, 4242);
}

/* The n-th engine that registered (0-based). */
static zpar_hub_engine_t *nth (zpar_hub_t *h, uint32_t n)
{
    return n < h->nengines ? h->engines[n] : NULL;
}

/* The heartbeat thread says engine e is dead; the hub reads it. */
static void dead (zpar_hub_t *h, void *thread_end, zpar_hub_engine_t *e)
{
    zpar_hb_pipe_msg_t m = {.kind = ZPAR_HB_PIPE_DEAD, .silent_ms = 2000, .missed = 3};
    m.engine = e->id.v;
    m.gen = e->hb_gen;
    if (zpar__hb_pipe_send (thread_end, &m, 0) < 0)
        diag ("send: %s", zmq_strerror (errno));
    zpar__hub_on_hb (NULL, NULL, 0, h);
}

/* The heartbeat thread says engine e's connection closed. */
static void closed (zpar_hub_t *h, void *thread_end, zpar_hub_engine_t *e)
{
    zpar_hb_pipe_msg_t m = {.kind = ZPAR_HB_PIPE_CLOSED, .silent_ms = 300};
    m.engine = e->id.v;
    m.gen = e->hb_gen;
    if (zpar__hb_pipe_send (thread_end, &m, 0) < 0)
        diag ("send: %s", zmq_strerror (errno));
    zpar__hub_on_hb (NULL, NULL, 0, h);
}

/* 1 once process pid is a zombie (within 10 s) */
static int zombie (pid_t pid)
{
    char path[64], buf[512], *p;
    for (int i = 0; i < 1000; i++) {
        FILE *f;
        size_t n;
        snprintf (path, sizeof (path), "/proc/%d/stat", (int)pid);
        if (!(f = fopen (path, "r")))
            return 0;
        n = fread (buf, 1, sizeof (buf) - 1, f);
        fclose (f);
        buf[n] = '\0';
        if ((p = strrchr (buf, ')')) && p[1] == ' ' && p[2] == 'Z')
            return 1;
        usleep (10 * 1000);
    }
    return 0;
}

/* What the log got since the last call. */
static char *log_since (void)
{
    static char buf[8192];
    FILE *f;
    size_t n;
    fflush (stderr);
    buf[0] = '\0';
    if (!(f = fopen (logpath, "r")))
        return buf;
    fseek (f, logpos, SEEK_SET);
    n = fread (buf, 1, sizeof (buf) - 1, f);
    buf[n] = '\0';
    logpos += (long)n;
    fclose (f);
    return buf;
}

static int count (const char *text, const char *what)
{
    int n = 0;
    for (const char *p = text; (p = strstr (p, what)); p += strlen (what))
        n++;
    return n;
}

int main (void)
{
    zpar_hub_t h;
    zpar_error_t err;
    char path[256], me[256] = "", line[300];
    void *ctx, *hub_end, *thread_end;
    const char *text;
    int fd;

    if (!mkdtemp (tmpdir)) {
        perror ("mkdtemp");
        return 1;
    }
    (void)gethostname (me, sizeof (me) - 1);
    snprintf (path, sizeof (path), "%s/tasks.sqlite", tmpdir);
    snprintf (logpath, sizeof (logpath), "%s/log", tmpdir);
    memset (&h, 0, sizeof (h));
    h.scheme = "leastload";
    h.hb_period_ms = 100;
    h.hb_misses = 3;
    ok ((h.records = zpar__records_open (path, &err)) != NULL, "open the records");
    ok (zpar__hub_init (&h) == 0, "hub init");
    reg (&h, "a1", "hostA");
    reg (&h, "a2", "hostA");
    reg (&h, "b1", "hostB");
    reg (&h, "b2", "hostB");
    reg (&h, "m1", me);
    ok (h.nengines == 5, "5 engines registered");

    /* the heartbeat pipe, a real one; the log, into a file */
    ctx = zmq_ctx_new ();
    hub_end = zmq_socket (ctx, ZMQ_PAIR);
    thread_end = zmq_socket (ctx, ZMQ_PAIR);
    ok (zmq_bind (thread_end, "inproc://hostlost") == 0 &&
            zmq_connect (hub_end, "inproc://hostlost") == 0,
        "heartbeat pipe");
    h.hb_pipe = hub_end;
    fflush (stderr);
    if ((fd = open (logpath, O_WRONLY | O_CREAT | O_TRUNC, 0600)) < 0 || dup2 (fd, 2) < 0)
        return 1;
    close (fd);
    zpar__log_set_level (ZPAR_LOG_WARN);

    dead (&h, thread_end, nth (&h, 0));
    text = log_since ();
    ok (count (text, "(hostA pid 4242) declared dead") == 1 && count (text, "lost") == 0,
        "one engine of hostA dead, the other alive: a death line naming the host, no host line");
    dead (&h, thread_end, nth (&h, 1));
    text = log_since ();
    ok (count (text, "host hostA lost: 2 engines dead (silent 2.0 s, 3 pings unanswered)") == 1,
        "the second one in the same check: 'host hostA lost: 2 engines dead (...)'");

    dead (&h, thread_end, nth (&h, 2));
    usleep (250 * 1000); /* 2.5 periods: one engine closed, the other silent */
    dead (&h, thread_end, nth (&h, 3));
    text = log_since ();
    ok (count (text, "host hostB lost: 2 engines dead") == 1 && count (text, "hostB lost") == 1,
        "hostB's engines died 2.5 periods apart (within the limit + 2): one event, both counted");
    reg (&h, "b1", "hostB");
    reg (&h, "b2", "hostB");
    dead (&h, thread_end, nth (&h, 2));
    usleep (900 * 1000); /* nine periods: more than the limit + 2 */
    dead (&h, thread_end, nth (&h, 3));
    text = log_since ();
    ok (count (text, "host hostB lost: 1 engine dead") == 1 && count (text, "hostB lost") == 1,
        "hostB's engines died nine periods apart: the host line counts the last one");

    dead (&h, thread_end, nth (&h, 4));
    snprintf (line, sizeof (line), "host %s lost", me);
    text = log_since ();
    ok (count (text, "declared dead") == 1 && count (text, line) == 0,
        "the controller's own host is never lost");

    reg (&h, "a1", "hostA");
    ok (nth (&h, 0)->state == ZPAR_HUB_ENGINE_ALIVE, "an engine of hostA registers again");
    dead (&h, thread_end, nth (&h, 0));
    text = log_since ();
    ok (count (text, "host hostA lost: 1 engine dead") == 1,
        "it dies: hostA lost again, with its one live engine");

    /* a stale event (old watch number) is ignored, no line */
    {
        zpar_hb_pipe_msg_t m = {.kind = ZPAR_HB_PIPE_DEAD, .engine = nth (&h, 1)->id.v, .gen = 1};
        (void)zpar__hb_pipe_send (thread_end, &m, 0);
        zpar__hub_on_hb (NULL, NULL, 0, &h);
        ok (strlen (log_since ()) == 0, "an event for a dead engine's old watch: nothing logged");
    }

    /* an engine of this host whose connection closed while its process
     * was still there (a dying process closes its sockets a moment before
     * it is a zombie): looked at again at each flush, dead once its
     * process is gone; one still there after the window is left to the
     * heartbeat */
    {
        pid_t child = fork ();
        zpar_hub_engine_t *z;
        if (child == 0) {
            pause ();
            _exit (0);
        }
        reg_pid (&h, "z1", me, (int)child);
        z = nth (&h, h.nengines - 1);
        (void)log_since ();
        closed (&h, thread_end, z);
        ok (z->state == ZPAR_HUB_ENGINE_ALIVE && h.nclosed_watch == 1,
            "connection closed, process there: alive, watched for its end");
        zpar__hub_closed_recheck (&h);
        ok (z->state == ZPAR_HUB_ENGINE_ALIVE && h.nclosed_watch == 1,
            "looked at again while the process is there: still alive");
        kill (child, SIGKILL);
        ok (zombie (child), "the process is a zombie");
        zpar__hub_closed_recheck (&h);
        snprintf (line, sizeof (line),
                  "declared dead: its process is gone (pid %d on this host; its heartbeat "
                  "connection closed",
                  (int)child);
        text = log_since ();
        ok (z->state == ZPAR_HUB_ENGINE_DEAD && count (text, line) == 1 && h.nclosed_watch == 0,
            "looked at again once it is gone: dead, because its connection closed");
        (void)waitpid (child, NULL, 0);

        child = fork ();
        if (child == 0) {
            pause ();
            _exit (0);
        }
        reg_pid (&h, "z2", me, (int)child);
        z = nth (&h, h.nengines - 1);
        closed (&h, thread_end, z);
        z->closed_us -= (uint64_t)(ZPAR_HUB_CLOSED_WATCH_MS + 100) * 1000u;
        zpar__hub_closed_recheck (&h);
        ok (z->state == ZPAR_HUB_ENGINE_ALIVE && h.nclosed_watch == 0 && z->closed_us == 0,
            "still there after the window: alive, no longer watched (the heartbeat decides)");
        kill (child, SIGKILL);
        (void)waitpid (child, NULL, 0);
        (void)log_since ();

        /* suspect, its process gone (its connection's close named no
         * engine): dead, and the reason names the process */
        child = fork ();
        if (child == 0) {
            pause ();
            _exit (0);
        }
        reg_pid (&h, "z3", me, (int)child);
        z = nth (&h, h.nengines - 1);
        kill (child, SIGKILL);
        (void)waitpid (child, NULL, 0);
        {
            zpar_hb_pipe_msg_t m = {.kind = ZPAR_HB_PIPE_SUSPECT, .silent_ms = 1600, .missed = 1};
            m.engine = z->id.v;
            m.gen = z->hb_gen;
            (void)zpar__hb_pipe_send (thread_end, &m, 0);
            zpar__hub_on_hb (NULL, NULL, 0, &h);
        }
        snprintf (line, sizeof (line),
                  "declared dead: its process is gone (pid %d on this host; suspect, silent 1.6 s)",
                  (int)child);
        ok (z->state == ZPAR_HUB_ENGINE_DEAD && count (log_since (), line) == 1,
            "suspect and its process gone: dead, the reason names the process");

        /* our host name, a pid this kernel does not show (another pid
         * namespace): never dead by the kernel's word, only on silence */
        reg_pid (&h, "z4", me, 0x7ffffff0);
        z = nth (&h, h.nengines - 1);
        ok (z->proc_start == 0, "a pid this kernel does not show: its end cannot be told");
        {
            zpar_hb_pipe_msg_t m = {.kind = ZPAR_HB_PIPE_SUSPECT, .silent_ms = 1600, .missed = 1};
            m.engine = z->id.v;
            m.gen = z->hb_gen;
            (void)zpar__hb_pipe_send (thread_end, &m, 0);
            zpar__hub_on_hb (NULL, NULL, 0, &h);
        }
        closed (&h, thread_end, z);
        ok (z->state == ZPAR_HUB_ENGINE_ALIVE && h.nclosed_watch == 0,
            "suspect, its connection closed: still alive (the heartbeat decides)");
    }

    h.hb_pipe = NULL;
    zmq_close (hub_end);
    zmq_close (thread_end);
    zmq_ctx_term (ctx);
    zpar__hub_free_state (&h);
    zpar__records_close (h.records);
    unlink (logpath);
    hfx_unlink_db (path);
    rmdir (tmpdir);
    return done_testing ();
}
