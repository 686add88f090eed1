/* proto_monitor.c - the schedulers' copies to the hub's monitor socket. */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <zmq.h>

#include "error.h"
#include "proto_monitor.h"

static const char *const tags[ZPAR_MON_KIND_MAX] = {
    [ZPAR_MON_TASK_IN] = "task_in",   [ZPAR_MON_TASK_RUN] = "task_run",
    [ZPAR_MON_TASK_OUT] = "task_out", [ZPAR_MON_MUX_IN] = "mux_in",
    [ZPAR_MON_MUX_OUT] = "mux_out",   [ZPAR_MON_CTL_OUT] = "ctl_out",
};

static int kind_ok (zpar_monitor_kind_t kind)
{
    return (int)kind > ZPAR_MON_NONE && kind < ZPAR_MON_KIND_MAX;
}

const char *zpar__monitor_tag (zpar_monitor_kind_t kind)
{
    return kind_ok (kind) ? tags[kind] : "?";
}

zpar_monitor_kind_t zpar__monitor_kind (const void *tag, size_t len)
{
    if (!tag)
        return ZPAR_MON_NONE;
    for (int k = ZPAR_MON_NONE + 1; k < ZPAR_MON_KIND_MAX; k++)
        if (strlen (tags[k]) == len && memcmp (tags[k], tag, len) == 0)
            return (zpar_monitor_kind_t)k;
    return ZPAR_MON_NONE;
}

int zpar__monitor_copy (void *sock, zpar_monitor_kind_t kind, zpar_frames_t *f,
                        const zpar_hdr_t *hdr)
{
    const char *tag;
    uint8_t hb[ZPAR_HDR_LEN];

    if (!sock || !f || !kind_ok (kind) || f->delim < 0 || f->delim >= f->n ||
        (hdr && f->n < f->delim + 3)) {
        errno = EINVAL;
        return -1;
    }
    tag = tags[kind];
    if (zmq_send (sock, tag, strlen (tag), ZMQ_SNDMORE) < 0)
        return -1;
    for (int i = f->delim; i < f->n; i++) {
        int more = i < f->n - 1 ? ZMQ_SNDMORE : 0;
        zmq_msg_t m;
        if (hdr && i == f->delim + 2) {
            zpar__hdr_encode (hdr, hb);
            if (zmq_send (sock, hb, sizeof (hb), more) < 0)
                return -1;
            continue;
        }
        zmq_msg_init (&m);
        if (zmq_msg_copy (&m, &f->part[i]) < 0 || zmq_msg_send (&m, sock, more) < 0) {
            zmq_msg_close (&m);
            return -1;
        }
    }
    return 0;
}

int zpar__monitor_send_msg (void *sock, zpar_signer_t *s, zpar_monitor_kind_t kind, zpar_msg_t *m)
{
    const char *tag;
    if (!sock || !s || !m || !kind_ok (kind)) {
        errno = EINVAL;
        return -1;
    }
    tag = tags[kind];
    m->nenv = 0;
    if (zpar__msg_push_ident (m, tag, strlen (tag)) < 0)
        return -1;
    return zpar__wire_send (sock, s, m, ZMQ_DONTWAIT);
}

int zpar__monitor_decode (zpar_frames_t *f, zpar_monitor_kind_t *kind, zpar_msg_t *m,
                          zpar_error_t *err)
{
    zpar_monitor_kind_t k;
    char tag[16] = "";
    size_t tl;

    if (!f || !kind || !m) {
        errno = EINVAL;
        return zpar__errprintf (err, "invalid argument");
    }
    *kind = ZPAR_MON_NONE;
    if (f->n < 1)
        return zpar__errnoprintf (err, EPROTO, "empty monitor message");
    tl = zmq_msg_size (&f->part[0]);
    if (tl < sizeof (tag))
        memcpy (tag, zmq_msg_data (&f->part[0]), tl);
    k = zpar__monitor_kind (zmq_msg_data (&f->part[0]), tl);
    if (k == ZPAR_MON_NONE)
        return zpar__errnoprintf (err, EPROTO, "unknown monitor tag (%zu bytes)", tl);
    if (zpar__frames_check (NULL, f, NULL, err) < 0) {
        errno = EPROTO;
        return -1;
    }
    if (f->delim != 1)
        return zpar__errnoprintf (err, EPROTO, "monitor message %s: %d frames before the delimiter",
                                  tag, f->delim);
    if (zpar__frames_decode (f, m, err) < 0) {
        errno = EPROTO;
        return -1;
    }
    *kind = k;
    return 0;
}
