/* hub_hb.c - the hub's side of the heartbeat (watch, unwatch, the
 * heartbeat thread's events: suspect, revived, dead, a closed connection
 * of an engine whose process is gone; a host whose engines all died at
 * once is logged as lost) and the open-files check of registrations.
 * Part of the hub (hub.h); runs in the hub's thread. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "clock.h"
#include "hub.h"
#include "log.h"
#include "proto_hb.h"

#define DRAIN_MAX 4096
/* Deaths of a host's engines up to the death limit (HB_MISSES + 1/2
 * periods) plus this many periods apart are one event: the same loss can
 * be found at once for one engine (its connection closed, the kernel's
 * word) and on silence for another. */
#define HOST_LOST_SLACK_PERIODS 2

/* ---------------------------------------------------------------- watch */

void zpar__hub_engine_watch (zpar_hub_t *h, zpar_hub_engine_t *e)
{
    zpar_hb_pipe_msg_t m = {.kind = ZPAR_HB_PIPE_WATCH, .engine = e->id.v, .route = e->route};
    /* an engine of this host whose process the kernel showed: the
     * heartbeat thread may ask the kernel about it */
    if (e->proc_start)
        m.pid = (uint32_t)e->pid;
    if (++h->hb_gen == 0)
        h->hb_gen = 1;
    e->hb_gen = m.gen = h->hb_gen;
    e->suspect = 0;
    e->closed_us = 0;
    if (h->hb_pipe && zpar__hb_pipe_send (h->hb_pipe, &m, ZMQ_DONTWAIT) < 0)
        zpar__err ("engine %u: cannot tell the heartbeat thread to watch it: %s", e->id.v,
                   zmq_strerror (errno));
}

int zpar__hub_engine_watched (const zpar_hub_engine_t *e)
{
    return e && e->state == ZPAR_HUB_ENGINE_ALIVE && e->hb_gen != 0;
}

void zpar__hub_engine_unwatch (zpar_hub_t *h, zpar_hub_engine_t *e)
{
    zpar_hb_pipe_msg_t m = {.kind = ZPAR_HB_PIPE_UNWATCH, .engine = e->id.v};
    e->hb_gen = 0;
    e->suspect = 0;
    if (h->hb_pipe)
        (void)zpar__hb_pipe_send (h->hb_pipe, &m, ZMQ_DONTWAIT);
}

/* --------------------------------------------------------------- events */

/* 1 if engine e runs on this host (the kernel can tell about its process) */
static int engine_here (const zpar_hub_engine_t *e)
{
    char host[256] = "";
    return e->pid > 0 && gethostname (host, sizeof (host) - 1) == 0 && strcmp (host, e->host) == 0;
}

/* Process pid as /proc/PID/stat shows it: its state letter in *state and
 * its start time (clock ticks after boot).  0, or -1 with errno (ENOENT:
 * no such process). */
static int proc_stat (int pid, char *state, uint64_t *start)
{
    char path[64], buf[1024], *p;
    FILE *f;
    size_t n;
    int field = 3;
    snprintf (path, sizeof (path), "/proc/%d/stat", pid);
    if (!(f = fopen (path, "r")))
        return -1;
    n = fread (buf, 1, sizeof (buf) - 1, f);
    fclose (f);
    buf[n] = '\0';
    /* "pid (comm) S ppid ...": the fields after the last ')' */
    if (!(p = strrchr (buf, ')')) || p[1] != ' ' || !p[2]) {
        errno = EPROTO;
        return -1;
    }
    *state = p[2];
    p += 3;
    /* starttime is field 22 */
    while (*p && field < 22) {
        if (*p++ == ' ')
            field++;
    }
    *start = strtoull (p, NULL, 10);
    return 0;
}

void zpar__hub_engine_proc (zpar_hub_engine_t *e)
{
    char state;
    uint64_t start;
    e->proc_start = 0;
    if (engine_here (e) && proc_stat (e->pid, &state, &start) == 0 && state != 'Z' && state != 'X')
        e->proc_start = start ? start : 1;
}

/* 1 if engine e runs on this host, its process was seen when it
 * registered, and that process no longer exists (or is a zombie, or its
 * pid now names a later process): the kernel's word that it died. */
static int engine_process_gone (const zpar_hub_engine_t *e)
{
    char state;
    uint64_t start;
    if (!e->proc_start)
        return 0;
    if (kill (e->pid, 0) < 0)
        return errno == ESRCH;
    if (proc_stat (e->pid, &state, &start) < 0)
        return errno == ENOENT;
    return state == 'Z' || state == 'X' || (e->proc_start > 1 && start != e->proc_start);
}

/* Engine e (of another host) was just declared dead by the heartbeat,
 * for reason: if no engine of its host is alive any more, and the others
 * died with it (within the window above), the host is lost: one line
 * that names it.  The controller's own host is never "lost" (its kernel
 * tells deaths apart, and the controller runs there). */
static void host_check (zpar_hub_t *h, zpar_hub_engine_t *e, const char *reason)
{
    uint64_t now = zpar__mono_us ();
    uint64_t window = (uint64_t)(h->hb_period_ms > 0 ? h->hb_period_ms : 1000) * 1000u *
                      (uint64_t)((h->hb_misses > 0 ? h->hb_misses : 3) + HOST_LOST_SLACK_PERIODS);
    char me[256] = "";
    unsigned n = 0;
    e->died_us = now;
    if (gethostname (me, sizeof (me) - 1) == 0 && strcmp (me, e->host) == 0)
        return;
    for (uint32_t i = 0; i < h->nengines; i++) {
        const zpar_hub_engine_t *o = h->engines[i];
        if (!o || strcmp (o->host, e->host) != 0)
            continue;
        if (o->state == ZPAR_HUB_ENGINE_ALIVE)
            return; /* the host still answers */
        if (o->state == ZPAR_HUB_ENGINE_DEAD && o->died_us && now - o->died_us <= window)
            n++;
    }
    zpar__warn ("host %s lost: %u engine%s dead (%s)", e->host, n, n == 1 ? "" : "s", reason);
}

/* Suspect, answers-again and slow lines: at most HB_LINES_PER_S a second
 * one by one, the others counted in one summary line (a start storm of
 * 10,000 engines made 100,000 of them, and logging them cost the hub 5 %
 * of a core).  The summary of a second goes out with the next event. */
#define HB_LINES_PER_S 20
static int line_ok (int kind)
{
    static uint64_t window_us;
    static unsigned lines, more[3];
    uint64_t now = zpar__mono_us ();
    int k = kind == ZPAR_HB_PIPE_SUSPECT ? 0 : kind == ZPAR_HB_PIPE_REVIVED ? 1 : 2;
    if (now - window_us >= 1000000u) {
        if (more[0] + more[1] + more[2])
            zpar__info ("heartbeat: %u more suspect, %u more answering again, %u more slow in a "
                        "second (not logged one by one)",
                        more[0], more[1], more[2]);
        window_us = now;
        lines = more[0] = more[1] = more[2] = 0;
    }
    if (lines < HB_LINES_PER_S) {
        lines++;
        return 1;
    }
    more[k]++;
    return 0;
}

/* e's heartbeat connection closed and its process is gone: dead. */
static void closed_dead (zpar_hub_t *h, zpar_hub_engine_t *e, uint32_t silent_ms)
{
    char why[160];
    snprintf (why, sizeof (why),
              "declared dead: its process is gone (pid %d on this host; its heartbeat "
              "connection closed, silent %.1f s)",
              e->pid, silent_ms / 1e3);
    e->closed_us = 0;
    zpar__hub_engine_died (h, e, why);
}

/* e's heartbeat connection closed but its process is still there: a
 * process that is dying closes its sockets before it is gone from /proc,
 * and an engine of this host that reconnects keeps its process.  Looked
 * at again at each flush for a while (zpar__hub_closed_recheck). */
static void closed_watch (zpar_hub_t *h, zpar_hub_engine_t *e, uint32_t silent_ms)
{
    if (!e->proc_start)
        return;
    if (!e->closed_us) {
        unsigned k = 0;
        /* (still listed if it registered again since its last close) */
        while (k < h->nclosed_watch && h->closed_watch[k] != e->id.v)
            k++;
        if (k == h->nclosed_watch) {
            if (h->nclosed_watch >= ZPAR_HUB_CLOSED_WATCH)
                return; /* the probe of the heartbeat thread decides */
            h->closed_watch[h->nclosed_watch++] = e->id.v;
        }
    }
    e->closed_us = zpar__mono_us ();
    e->closed_silent_ms = silent_ms;
}

void zpar__hub_closed_recheck (zpar_hub_t *h)
{
    uint64_t now = zpar__mono_us ();
    unsigned k = 0;
    while (k < h->nclosed_watch) {
        zpar_hub_engine_t *e = zpar__hub_engine_get (h, zpar__eid (h->closed_watch[k]));
        int keep = 0;
        if (e && e->closed_us && e->state == ZPAR_HUB_ENGINE_ALIVE && e->hb_gen) {
            uint64_t since = now > e->closed_us ? now - e->closed_us : 0;
            if (engine_process_gone (e)) {
                closed_dead (h, e, e->closed_silent_ms + (uint32_t)(since / 1000u));
                if (e->state == ZPAR_HUB_ENGINE_DEAD)
                    host_check (h, e, "their processes are gone");
            } else if (since <= (uint64_t)ZPAR_HUB_CLOSED_WATCH_MS * 1000u)
                keep = 1;
        }
        if (keep) {
            k++;
            continue;
        }
        if (e)
            e->closed_us = 0;
        h->closed_watch[k] = h->closed_watch[--h->nclosed_watch];
    }
}

/* engine_process_gone for a suspect engine, with the last live answer
 * kept 100 ms: in a start storm thousands of engines of one process (a
 * test farm, engines sharing a pid) are suspect together, and /proc need
 * not be read for each. */
static int suspect_gone (const zpar_hub_engine_t *e)
{
    static int live_pid;
    static uint64_t live_us;
    uint64_t now = zpar__mono_us ();
    if (e->pid == live_pid && now - live_us < 100000u)
        return 0;
    if (engine_process_gone (e))
        return 1;
    live_pid = e->pid;
    live_us = now;
    return 0;
}

/* An event of the heartbeat thread about an engine. */
static void heart_event (zpar_hub_t *h, const zpar_hb_pipe_msg_t *m)
{
    zpar_hub_engine_t *e = zpar__hub_engine_get (h, zpar__eid (m->engine));
    char why[160], reason[96] = "";
    /* about an earlier registration of this engine (crossed a WATCH) */
    if (!e || e->state != ZPAR_HUB_ENGINE_ALIVE || !m->gen || e->hb_gen != m->gen)
        return;
    switch (m->kind) {
    case ZPAR_HB_PIPE_SUSPECT:
        /* an engine of this host whose process is gone need not wait for
         * the death limit: the kernel's word (its connection's close may
         * not have told us: one closed before its first pong on a new
         * connection names no engine) */
        if (suspect_gone (e)) {
            snprintf (why, sizeof (why),
                      "declared dead: its process is gone (pid %d on this host; suspect, silent "
                      "%.1f s)",
                      e->pid, m->silent_ms / 1e3);
            snprintf (reason, sizeof (reason), "their processes are gone");
            zpar__hub_engine_died (h, e, why);
            break;
        }
        e->suspect = 1;
        if (line_ok (m->kind))
            zpar__info ("engine %u (%s pid %d) suspect: silent %.1f s, %u ping(s) unanswered",
                        e->id.v, e->host, e->pid, m->silent_ms / 1e3, m->missed);
        break;
    case ZPAR_HB_PIPE_REVIVED:
        e->suspect = 0;
        if (line_ok (m->kind))
            zpar__info ("engine %u (%s pid %d) answers again after %.1f s of silence", e->id.v,
                        e->host, e->pid, m->silent_ms / 1e3);
        break;
    case ZPAR_HB_PIPE_SLOW:
        if (line_ok (m->kind))
            zpar__info ("engine %u (%s pid %d) silent %.1f s, %u pings unanswered, but its process "
                        "runs on this host: slow, not dead (declared dead only after %d times the "
                        "limit)",
                        e->id.v, e->host, e->pid, m->silent_ms / 1e3, m->missed,
                        ZPAR_HEARTBEAT_COLLECTIVE_FACTOR);
        break;
    case ZPAR_HB_PIPE_CLOSED:
        /* its heartbeat connection closed: proof of death only if the
         * process is gone, which this host's kernel can tell for an
         * engine on this host; otherwise the silence rules decide */
        if (!engine_process_gone (e)) {
            zpar__debug ("engine %u: its heartbeat connection closed (reconnecting?)", e->id.v);
            closed_watch (h, e, m->silent_ms);
            break;
        }
        closed_dead (h, e, m->silent_ms);
        snprintf (reason, sizeof (reason), "their processes are gone");
        break;
    case ZPAR_HB_PIPE_GONE:
        /* its connection closed and it answered no ping sent after that:
         * its process ended (its kernel closed the connection) or it can
         * no longer reach us.  An engine of this host whose process is
         * still there is left to the silence rules (slow, not dead). */
        if (e->proc_start && !engine_process_gone (e)) {
            zpar__debug ("engine %u: connection closed, no answer since, but its process is "
                         "there: left to the heartbeat",
                         e->id.v);
            break;
        }
        snprintf (why, sizeof (why),
                  "declared dead: connection closed (%s; no answer to a ping sent after it, "
                  "silent %.1f s)",
                  e->proc_start ? "its process is gone" : "the engine did not connect again",
                  m->silent_ms / 1e3);
        snprintf (reason, sizeof (reason), "their connections closed");
        zpar__hub_engine_died (h, e, why);
        break;
    case ZPAR_HB_PIPE_DEAD:
        if (engine_process_gone (e))
            snprintf (why, sizeof (why),
                      "declared dead: its process is gone (pid %d on this host; silent %.1f s, %u "
                      "pings unanswered)",
                      e->pid, m->silent_ms / 1e3, m->missed);
        else
            snprintf (why, sizeof (why),
                      "declared dead: silent %.1f s, %u pings unanswered (heartbeat %d ms x %d)",
                      m->silent_ms / 1e3, m->missed, h->hb_period_ms, h->hb_misses);
        snprintf (reason, sizeof (reason), "silent %.1f s, %u pings unanswered", m->silent_ms / 1e3,
                  m->missed);
        e->hb_gen = 0; /* the thread no longer watches it */
        zpar__hub_engine_died (h, e, why);
        break;
    default:
        zpar__warn ("hub: unexpected %d from the heartbeat thread", (int)m->kind);
        break;
    }
    /* it was alive when the event came: dead now, by this event */
    if (e->state == ZPAR_HUB_ENGINE_DEAD)
        host_check (h, e, reason[0] ? reason : "declared dead by the heartbeat");
}

void zpar__hub_on_hb (zpar_reactor_t *r, zpar_watcher_t *w, int revents, void *arg)
{
    zpar_hub_t *h = arg;
    for (int k = 0; k < DRAIN_MAX; k++) {
        zpar_hb_pipe_msg_t m;
        zpar_error_t err;
        if (zpar__hb_pipe_recv (h->hb_pipe, &m, ZMQ_DONTWAIT, &err) < 0) {
            if (errno == EPROTO) {
                zpar__warn ("hub: bad message from the heartbeat thread: %s", err.text);
                continue;
            }
            break;
        }
        heart_event (h, &m);
    }
    (void)r, (void)w, (void)revents;
}

/* ----------------------------------------------------------- file limits */

/* Files open in this process now, -1 if /proc cannot say. */
long zpar__hub_files_open (void)
{
    DIR *d = opendir ("/proc/self/fd");
    struct dirent *de;
    long n = 0;
    if (!d)
        return -1;
    while ((de = readdir (d)))
        if (de->d_name[0] != '.')
            n++;
    closedir (d);
    return n - 1; /* the directory itself */
}

int zpar__hub_engine_room (zpar_hub_t *h, char *text, size_t size)
{
    long alive, need;
    if (!h || h->fd_limit <= 0)
        return 0;
    /* the engines straight to us hold about 7 files each; those behind a
     * relay none (their relay's 7 connections were open before them);
     * with room for every slot of the table, none is counted */
    if (h->fd_base + ((long)h->nengines + 1) * ZPAR_HUB_FDS_PER_ENGINE + ZPAR_HUB_FDS_RESERVE <=
        h->fd_limit)
        return 0;
    alive = 0;
    for (uint32_t i = 0; i < h->nengines; i++)
        alive += h->engines[i]->state == ZPAR_HUB_ENGINE_ALIVE &&
                 !zpar__route_relayed (&h->engines[i]->route);
    need = h->fd_base + (alive + 1) * ZPAR_HUB_FDS_PER_ENGINE + ZPAR_HUB_FDS_RESERVE;
    if (need <= h->fd_limit)
        return 0;
    snprintf (text, size,
              "controller out of file descriptors: the open-files limit (RLIMIT_NOFILE, ulimit -n) "
              "is %ld and %ld engines use it (about %d files each, %ld "
              "for the controller "
              "itself); %ld engines need about %ld: raise the hard limit (ulimit -Hn, "
              "limits.conf, LimitNOFILE=) before starting the controller",
              h->fd_limit, alive, ZPAR_HUB_FDS_PER_ENGINE, h->fd_base + ZPAR_HUB_FDS_RESERVE,
              alive + 1, need);
    if (h->fd_refused++ == 0 || h->fd_refused % 100 == 0)
        zpar__err ("engine refused (%llu so far): %s", (unsigned long long)h->fd_refused, text);
    errno = EMFILE;
    return -1;
}
