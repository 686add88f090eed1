/* engine-farm.c - many engines in one process, real protocol and sockets,
 * to load one controller with thousands (bench/many.sh, t0936).
 *
 *   engine-farm -n N --connection-file DIR/engine.json [--relay DIR]...
 *               [--status FILE] [--time-limit S] [--io-threads K] [--fresh-resend 1]
 *               [--go FILE]
 *
 * Each of the N engines does on the wire what `zpar engine` does: it
 * registers on a DEALER of its own (sent again on it after 1, 2, 4, then
 * every 8 s until answered, a fresh one to register again, as the engine
 * does; with --fresh-resend 1 a fresh one at every resend, as engines did
 * before), takes its routing identity, id, heartbeat period and addresses
 * from the signed reply, connects its mux, task and control DEALERs and
 * its heart's pong DEALER under that identity, its ping SUB and its IOPub
 * PUB; it echoes every ping of its controller's session byte for byte,
 * registers again on a nudge or a new session, answers every task on the
 * queue it came from with a signed ok result (status ok, exit 0, its pid
 * and host, the attempt and flags of the task), a work-stealing abort
 * with COUNT 0 (the task already ran), abort and interrupt on control with
 * COUNT 0, and shutdown with COUNT 1, then unregisters and closes that
 * engine.  Each engine has its own signer (session).  With --relay DIR
 * (once per relay) engine i joins through relay i * R / N, on its ipc
 * endpoints, as `zpar engine --relay` does.
 *
 * What it does NOT exercise: the engine's task runner, runner and keeper
 * (no process is forked, no task runs, no output or task status is
 * published, no fence), its heart thread (the echo is done by the one
 * loop: a farm process that is starved delays every pong of its
 * engines), the address candidates (the connection file's addresses are
 * used as written) and Curve.  It measures the controller and the relays,
 * not the engine.
 *
 * --go FILE stages the start: the registration DEALERs are connected, the
 * status says "ready 1", and all registrations go once FILE exists (the
 * clock of all_registered_s starts then, after the farm's own start).
 * One loop: an epoll set of every socket's ZMQ_FD (edge-triggered: each
 * socket is drained and its ZMQ_EVENTS checked again after every send on
 * it), a signalfd and a 50 ms tick (resends, the status file); the socket
 * and file limits are raised for 7 sockets (14 files) per engine.
 * --status FILE is rewritten every half second (and at the end) with "key
 * value" lines: engines, registered (now), registered_ever, all_registered_s
 * (from the start until every engine had its first reply, -1 before),
 * registrations_sent, registered_again, nudges, new_session, pings, tasks,
 * engines_with_tasks, control, dropped.  Ends on SIGTERM/SIGINT, at
 * --time-limit, or when every engine was shut down, printing the status.
 * Exit 0, 1 on a setup error, 2 on usage.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <unistd.h>
#include <zmq.h>

#include "clock.h"
#include "conn.h"
#include "error.h"
#include "farm.h"
#include "relay/relay.h"

/* ------------------------------------------------------------- the run */

static void write_status (farm_t *f, const char *path, FILE *also)
{
    uint64_t busy = 0;
    char tmp[4096];
    FILE *fp = NULL;
    for (int i = 0; i < f->n; i++)
        busy += f->e[i].tasks > 0;
    if (path && snprintf (tmp, sizeof (tmp), "%s.tmp", path) < (int)sizeof (tmp))
        fp = fopen (tmp, "w");
    for (int pass = 0; pass < 2; pass++) {
        FILE *o = pass ? also : fp;
        if (!o)
            continue;
        fprintf (o,
                 "engines %d\nregistered %d\nregistered_ever %d\nall_registered_s %.3f\n"
                 "registrations_sent %lu\nregistered_again %lu\nnudges %lu\nnew_session %lu\n"
                 "pings %lu\ntasks %lu\nengines_with_tasks %lu\ncontrol %lu\ndropped %lu\n"
                 "shut_down %d\nready %d\n",
                 f->n, f->registered, f->ever, f->all_at ? (double)(f->all_at - f->t0) / 1e6 : -1.0,
                 (unsigned long)f->regs_sent, (unsigned long)f->again, (unsigned long)f->nudges,
                 (unsigned long)f->new_session, (unsigned long)f->pings, (unsigned long)f->tasks,
                 (unsigned long)busy, (unsigned long)f->control, (unsigned long)f->dropped,
                 f->stopped, f->ready);
    }
    if (fp && fclose (fp) == 0)
        (void)rename (tmp, path);
}

static void make_uuid (char *buf)
{
    uint8_t r[16] = {0};
    (void)getrandom (r, sizeof (r), 0);
    for (size_t i = 0; i < sizeof (r); i++)
        snprintf (buf + 2 * i, 3, "%02x", r[i]);
}

static int setup (farm_t *f, int io_threads)
{
    struct rlimit rl;
    sigset_t mask;
    zpar_error_t err;
    long need = (long)f->n * FILES_PER_E + 256;
    if (getrlimit (RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        (void)setrlimit (RLIMIT_NOFILE, &rl);
        if (rl.rlim_cur != RLIM_INFINITY && (long)rl.rlim_cur < need) {
            fprintf (stderr, "engine-farm: %d engines need %ld open files, the limit is %ld\n",
                     f->n, need, (long)rl.rlim_cur);
            return -1;
        }
    }
    if (gethostname (f->host, sizeof (f->host) - 1) < 0)
        strcpy (f->host, "localhost");
    if (!(f->zctx = zmq_ctx_new ()) || zmq_ctx_set (f->zctx, ZMQ_MAX_SOCKETS, f->n * 8 + 64) < 0 ||
        zmq_ctx_set (f->zctx, ZMQ_IO_THREADS, io_threads) < 0 ||
        (f->ep = epoll_create1 (EPOLL_CLOEXEC)) < 0 || !(f->rx = zpar__msg_create (0)) ||
        !(f->tx = zpar__msg_create (0)) || !(f->e = calloc ((size_t)f->n, sizeof (*f->e))) ||
        !(f->dirty = calloc ((size_t)f->n * S_N + 1, sizeof (*f->dirty)))) {
        fprintf (stderr, "engine-farm: setup: %s\n", strerror (errno));
        return -1;
    }
    sigemptyset (&mask);
    sigaddset (&mask, SIGTERM);
    sigaddset (&mask, SIGINT);
    sigprocmask (SIG_BLOCK, &mask, NULL);
    {
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
        if ((f->sfd = signalfd (-1, &mask, SFD_CLOEXEC)) < 0 ||
            epoll_ctl (f->ep, EPOLL_CTL_ADD, f->sfd, &ev) < 0)
            return -1;
    }
    for (int i = 0; i < f->n; i++) {
        feng_t *e = &f->e[i];
        e->f = f;
        e->relayed = f->nrelays > 0;
        e->ci = f->nrelays ? &f->rci[(long)i * f->nrelays / f->n] : &f->ci;
        make_uuid (e->uuid);
        if (!(e->signer = zpar__signer_create (f->ci.key, 0))) {
            zpar__errprintf (&err, "signer: %s", strerror (errno));
            fprintf (stderr, "engine-farm: %s\n", err.text);
            return -1;
        }
    }
    return 0;
}

static int usage (void)
{
    fprintf (stderr, "usage: engine-farm -n N --connection-file FILE [--relay DIR]... [--status "
                     "FILE] [--time-limit S] [--io-threads K] [--fresh-resend 0|1] [--go FILE]\n");
    return 2;
}

int main (int argc, char **argv)
{
    static farm_t farm;
    farm_t *f = &farm;
    const char *conn = NULL, *status = NULL, *relays[MAX_RELAYS];
    double limit = 0;
    int io_threads = 1;
    uint64_t next_status = 0;
    zpar_error_t err;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v)
            return usage ();
        if (!strcmp (a, "-n"))
            f->n = atoi (v);
        else if (!strcmp (a, "--connection-file"))
            conn = v;
        else if (!strcmp (a, "--relay") && f->nrelays < MAX_RELAYS)
            relays[f->nrelays++] = v;
        else if (!strcmp (a, "--status"))
            status = v;
        else if (!strcmp (a, "--time-limit"))
            limit = atof (v);
        else if (!strcmp (a, "--io-threads"))
            io_threads = atoi (v);
        else if (!strcmp (a, "--fresh-resend"))
            f->fresh_resend = atoi (v);
        else if (!strcmp (a, "--go"))
            f->go = v;
        else
            return usage ();
        i++;
    }
    if (f->n <= 0 || !conn || io_threads < 1)
        return usage ();
    if (zpar__conn_read (conn, &f->ci, &err) < 0) {
        fprintf (stderr, "engine-farm: %s\n", err.text);
        return 1;
    }
    if (f->nrelays && !(f->rci = calloc ((size_t)f->nrelays, sizeof (*f->rci))))
        return 1;
    for (int r = 0; r < f->nrelays; r++) {
        f->rci[r] = f->ci;
        if (zpar__relay_engine_addrs (relays[r], &f->rci[r]) < 0) {
            fprintf (stderr, "engine-farm: --relay %s: %s\n", relays[r], strerror (errno));
            return 1;
        }
    }
    if (setup (f, io_threads) < 0)
        return 1;
    for (int i = 0; f->go && i < f->n; i++) /* staged: the sockets first */
        if (farm_reg_open (&f->e[i]) < 0)
            return 1;
    if ((f->ready = f->go != NULL))
        write_status (f, status, NULL);
    for (int t = 0; f->go && access (f->go, F_OK) < 0 && t < limit * 1000 / TICK_MS; t++)
        usleep (TICK_MS * 1000);
    f->t0 = zpar__mono_us ();
    for (int i = 0; i < f->n; i++) /* the start storm: all at once */
        farm_reg_send (&f->e[i], !f->go);
    for (int quit = 0; !quit;) {
        struct epoll_event evs[256];
        uint64_t now;
        int n = epoll_wait (f->ep, evs, 256, TICK_MS);
        for (int i = 0; i < n; i++) {
            sref_t *r = evs[i].data.ptr;
            if (!r)
                quit = 1;
            else
                farm_drain (r->e, r->k);
        }
        while (f->ndirty > 0) { /* sockets sent on: what they hold */
            sref_t *r = f->dirty[--f->ndirty];
            if (!r)
                continue;
            r->dirty = 0;
            farm_drain (r->e, r->k);
        }
        now = zpar__mono_us ();
        if (n == 0 || now >= next_status) {
            for (int i = 0; i < f->n; i++) {
                feng_t *e = &f->e[i];
                if (!e->connected && !e->stopped && now >= e->next_reg_us)
                    farm_reg_send (e, f->fresh_resend);
            }
        }
        if (now >= next_status) {
            write_status (f, status, NULL);
            next_status = now + STATUS_US;
        }
        if ((limit > 0 && now - f->t0 > (uint64_t)(limit * 1e6)) || f->stopped == f->n)
            quit = 1;
    }
    write_status (f, status, stdout);
    for (int i = 0; i < f->n; i++) {
        farm_close (&f->e[i]);
        zpar__signer_destroy (f->e[i].signer);
    }
    zmq_ctx_term (f->zctx);
    return 0;
}
