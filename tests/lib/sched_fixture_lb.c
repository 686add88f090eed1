/* sched_fixture_lb.c - the load-balanced scheduler with a fake hub, for
 * the scheduler tests (see sched_fixture.h). */
#include "config.h"

#include "sched_fixture.h"

#include <stdio.h>
#include <zmq.h>

#include "proto_pipe.h"
#include "sched_lb_io.h"

zpar_sched_lb_io_t *sfx_lb_start (void *ctx, const char *name, const char *scheme, unsigned hwm,
                                  char *client_ep, char *engine_ep, size_t epsize,
                                  const uint8_t *key, int subscribe, void **mon, void **pipe,
                                  zpar_error_t *err)
{
    char mep[64], pep[64];
    zpar_sched_lb_io_t *io;
    snprintf (mep, sizeof (mep), "inproc://%s-mon", name);
    snprintf (pep, sizeof (pep), "inproc://%s-pipe", name);
    *mon = zmq_socket (ctx, ZMQ_SUB);
    if (subscribe)
        zmq_setsockopt (*mon, ZMQ_SUBSCRIBE, "", 0);
    zmq_bind (*mon, mep);
    io = zpar__sched_lb_io_start (ctx, scheme, hwm, client_ep, engine_ep, epsize, mep, pep, key,
                                  err);
    *pipe = sfx_peer (ctx, ZMQ_PAIR, NULL, 0, pep);
    return io;
}

int sfx_lb_stop (zpar_sched_lb_io_t *io, void *mon, void *pipe)
{
    int rc = zpar__pipe_send_term (pipe, 0);
    zpar__sched_lb_io_stop (io);
    zmq_close (pipe);
    zmq_close (mon);
    return rc;
}
