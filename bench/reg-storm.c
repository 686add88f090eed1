/* reg-storm.c - the controller's side of a registration storm, alone:
 * N engines registering through R relays at once, as the controller sees
 * them, from one process that costs it little (bench/registrations.sh).
 *
 *   reg-storm -n N -r R --connection-file DIR/engine.json [--pid PID]
 *             [--timeout S]
 *
 * Each relay is one DEALER under a relay identity ('R' and 16 random
 * bytes, as zpar relay draws), connected to the controller's registrar;
 * each engine is a routing frame of its own on it and a signer (session)
 * of its own, so that the controller gets what a relay forwards from an
 * engine: [relay id, engine's DEALER identity, signed REGISTER_ENGINE].
 * Every registration goes at once; one without a reply after 1 s is sent
 * again (as an engine does, on the same "socket").  Then every engine
 * unregisters (the controller must not watch them).  Printed, as "key
 * value" lines: engines, relays, registered (replies with an id),
 * refused, resent, registered_s (from the first send to the last reply),
 * controller_cpu_s (its utime + stime meanwhile, with --pid).  It does not
 * connect the engines' other sockets nor answer pings: the heartbeat,
 * tasks and connection costs are bench/many.sh's.
 * Exit 0 when every engine was registered, 1 otherwise, 2 on usage.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "clock.h"
#include "conn.h"
#include "error.h"
#include "msg.h"
#include "proto_registrar.h"
#include "route.h"
#include "wire.h"

typedef struct {
    zpar_signer_t *signer;
    char uuid[40];
    zpar_ident_t ident;
    uint32_t id; /* 0: no reply yet */
    uint64_t sent_us;
} seng_t;

static double cpu_s (int pid)
{
    char path[64];
    unsigned long ut = 0, st = 0;
    FILE *f;
    snprintf (path, sizeof (path), "/proc/%d/stat", pid);
    if (pid <= 0 || !(f = fopen (path, "r")))
        return 0;
    /* after the command's closing parenthesis: fields 3.. */
    if (fscanf (f, "%*d (%*[^)]) %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) !=
        2)
        ut = st = 0;
    fclose (f);
    return (double)(ut + st) / (double)sysconf (_SC_CLK_TCK);
}

static int send_reg (void *s, seng_t *e, zpar_msg_t *m, int unreg)
{
    zpar__msg_reset (m, unreg ? ZPAR_MSG_UNREGISTER : ZPAR_MSG_REGISTER_ENGINE);
    if (zpar__msg_set_envelope (m, 1, &e->ident) < 0)
        return -1;
    if (unreg) {
        zpar_proto_unregister_t u = {.h = {.engine = zpar__eid (e->id)}};
        if (zpar__proto_unregister_encode (m, &u) < 0)
            return -1;
    } else {
        zpar_proto_reg_engine_t req = {.host = "reg-storm", .pid = (uint64_t)getpid (), .rank = -1};
        req.uuid = e->uuid;
        if (zpar__proto_reg_engine_encode (m, &req) < 0)
            return -1;
    }
    return zpar__wire_send_chan (s, e->signer, ZPAR_CHAN_REGISTRAR, m, 0);
}

int main (int argc, char **argv)
{
    const char *conn = NULL;
    int n = 0, r = 1, pid = 0, tmo = 60, zero = 0;
    long resent = 0, refused = 0, got = 0;
    zpar_conninfo_t ci;
    zpar_error_t err;
    void *ctx, **socks;
    seng_t *e;
    zpar_msg_t *m, *rx;
    zpar_signer_t **vrx; /* verify the replies: one per socket (a session's order is
                            kept on each, not across them) */
    double cpu0;
    uint64_t t0, t1 = 0, deadline;

    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp (argv[i], "-n"))
            n = atoi (argv[i + 1]);
        else if (!strcmp (argv[i], "-r"))
            r = atoi (argv[i + 1]);
        else if (!strcmp (argv[i], "--connection-file"))
            conn = argv[i + 1];
        else if (!strcmp (argv[i], "--pid"))
            pid = atoi (argv[i + 1]);
        else if (!strcmp (argv[i], "--timeout"))
            tmo = atoi (argv[i + 1]);
        else
            n = 0;
    }
    if (n <= 0 || r <= 0 || !conn || argc % 2 == 0) {
        fprintf (stderr, "usage: reg-storm -n N -r R --connection-file FILE [--pid PID] "
                         "[--timeout S]\n");
        return 2;
    }
    if (zpar__conn_read (conn, &ci, &err) < 0) {
        fprintf (stderr, "reg-storm: %s\n", err.text);
        return 1;
    }
    ctx = zmq_ctx_new ();
    socks = calloc ((size_t)r, sizeof (*socks));
    e = calloc ((size_t)n, sizeof (*e));
    m = zpar__msg_create (0);
    rx = zpar__msg_create (0);
    vrx = calloc ((size_t)r, sizeof (*vrx));
    if (!ctx || !socks || !e || !m || !rx || !vrx)
        return 1;
    for (int k = 0; k < r; k++) {
        uint8_t id[ZPAR_RELAY_ID_LEN];
        if (zpar__relay_id_make (id) < 0 || !(vrx[k] = zpar__signer_create (ci.key, 0)) ||
            !(socks[k] = zmq_socket (ctx, ZMQ_DEALER)) ||
            zmq_setsockopt (socks[k], ZMQ_LINGER, &zero, sizeof (zero)) < 0 ||
            zmq_setsockopt (socks[k], ZMQ_SNDHWM, &zero, sizeof (zero)) < 0 ||
            zmq_setsockopt (socks[k], ZMQ_RCVHWM, &zero, sizeof (zero)) < 0 ||
            zmq_setsockopt (socks[k], ZMQ_ROUTING_ID, id, sizeof (id)) < 0 ||
            zmq_connect (socks[k], ci.addr[ZPAR_EP_REGISTRAR]) < 0) {
            fprintf (stderr, "reg-storm: relay %d: %s\n", k, zmq_strerror (errno));
            return 1;
        }
    }
    for (int i = 0; i < n; i++) {
        if (!(e[i].signer = zpar__signer_create (ci.key, 0)))
            return 1;
        snprintf (e[i].uuid, sizeof (e[i].uuid), "%08x-%04x-reg-storm-%012d", (unsigned)getpid (),
                  (unsigned)i & 0xffffu, i);
        e[i].ident.len =
            (size_t)snprintf ((char *)e[i].ident.data, sizeof (e[i].ident.data), "e%d", i);
    }
    sleep (1); /* the relays' connections made */
    cpu0 = cpu_s (pid);
    t0 = zpar__mono_us ();
    deadline = t0 + (uint64_t)tmo * 1000000u;
    for (int i = 0; i < n; i++) {
        e[i].sent_us = zpar__mono_us ();
        (void)send_reg (socks[i % r], &e[i], m, 0);
    }
    /* one loop over the sockets, a millisecond's sleep when none had a
     * reply (this process must cost the machine little) */
    while (got + refused < n && zpar__mono_us () < deadline) {
        uint64_t now;
        int any = 0;
        for (int k = 0; k < r; k++) {
            while (zpar__wire_recv_chan (socks[k], vrx[k], ZPAR_CHAN_REGISTRAR, rx, ZMQ_DONTWAIT,
                                         &err) == 0) {
                any = 1;
                int i;
                if (rx->nenv != 1 || rx->env[0].len < 2 || rx->env[0].data[0] != 'e')
                    continue;
                {
                    char num[16] = "";
                    size_t len = rx->env[0].len - 1 < sizeof (num) - 1 ? rx->env[0].len - 1
                                                                       : sizeof (num) - 1;
                    memcpy (num, rx->env[0].data + 1, len);
                    i = atoi (num);
                }
                if (i < 0 || i >= n || e[i].id || rx->hdr.type != ZPAR_MSG_REGISTER_ENGINE_REPLY)
                    continue;
                if (rx->hdr.engine == 0) {
                    refused++;
                    e[i].id = UINT32_MAX;
                    continue;
                }
                e[i].id = rx->hdr.engine;
                got++;
                t1 = zpar__mono_us ();
            }
        }
        if (!any)
            usleep (1000);
        now = zpar__mono_us ();
        for (int i = 0; i < n; i++)
            if (!e[i].id && now - e[i].sent_us >= 1000000u) {
                e[i].sent_us = now;
                resent++;
                (void)send_reg (socks[i % r], &e[i], m, 0);
            }
    }
    printf ("engines %d\nrelays %d\nregistered %ld\nrefused %ld\nresent %ld\n"
            "registered_s %.3f\ncontroller_cpu_s %.2f\n",
            n, r, got, refused, resent, t1 ? (double)(t1 - t0) / 1e6 : -1.0, cpu_s (pid) - cpu0);
    for (int i = 0; i < n; i++) {
        if (e[i].id && e[i].id != UINT32_MAX)
            (void)send_reg (socks[i % r], &e[i], m, 1);
        zpar__signer_destroy (e[i].signer);
    }
    sleep (1); /* the unregistrations sent */
    for (int k = 0; k < r; k++) {
        zmq_close (socks[k]);
        zpar__signer_destroy (vrx[k]);
    }
    zmq_ctx_term (ctx);
    zpar__msg_destroy (m);
    zpar__msg_destroy (rx);
    free (vrx);
    free (socks);
    free (e);
    return got == n ? 0 : 1;
}
