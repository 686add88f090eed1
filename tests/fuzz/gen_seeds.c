/* gen_seeds.c - write the seed inputs of the fuzz corpora from real
 * encoded messages (run by `tests/fuzz/fuzz.sh seeds`).
 *
 *   gen_seeds CORPUS_DIR
 *
 * Writes CORPUS_DIR/wire/seed-<kind>-<mode> for every message kind the
 * codec carries (packed, header+body, framed, framed and signed: see
 * fuzz_wire.c for the input layout), the same messages packed into the
 * corpus of the typed codec of their kind (proto_task, proto_result,
 * proto_control, proto_registrar, proto_iopub: see codec.h) and framed
 * behind every monitor tag (proto_monitor), every hub <-> scheduler pipe
 * message (proto_pipe), and CORPUS_DIR/conn/seed-* and CORPUS_DIR/json/seed-*
 * from a connection file written by conn.c, and CORPUS_DIR/zmtp/seed-* from
 * ZMTP streams a peer of a zrouter may send (see fuzz_zmtp.c for the
 * input layout).
 * The sweep corpus is seeded from examples/ and tests/data/ by hand.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zmq.h>

#include "conn.h"
#include "msg.h"
#include "proto_check.h"
#include "proto_hb.h"
#include "proto_monitor.h"
#include "proto_pipe.h"
#include "zmtp.h"

static const char *dir;

static void put (const char *sub, const char *name, const void *data, size_t len)
{
    char path[4096];
    FILE *f;

    snprintf (path, sizeof (path), "%s/%s", dir, sub);
    (void)mkdir (path, 0755);
    snprintf (path, sizeof (path), "%s/%s/seed-%s", dir, sub, name);
    if (!(f = fopen (path, "wb")) || fwrite (data, 1, len, f) != len || fclose (f) != 0) {
        fprintf (stderr, "gen_seeds: %s: %s\n", path, strerror (errno));
        exit (1);
    }
}

static void frame (uint8_t **p, const void *data, size_t len, int last)
{
    if (!last) {
        (*p)[0] = (uint8_t)len;
        (*p)[1] = (uint8_t)(len >> 8);
        *p += 2;
    }
    memcpy (*p, data, len);
    *p += len;
}

static void wire (const char *name, zpar_msg_t *m)
{
    uint8_t *packed, *buf, *p, hdr[ZPAR_HDR_LEN], sig[ZPAR_SIG_LEN] = {0};
    size_t len;
    char n[128];

    m->hdr.version = ZPAR_PROTO_VERSION;
    m->hdr.session = 0x1234567890abcdefull;
    m->hdr.seq = 7;
    m->hdr.time_us = 1764600000000000ull;
    if (zpar__msg_pack (m, &packed, &len) < 0)
        exit (1);
    if (!(buf = malloc (len + 256)))
        exit (1);
    buf[0] = 0; /* mode 0: packed */
    memcpy (buf + 1, packed, len);
    snprintf (n, sizeof (n), "%s-packed", name);
    put ("wire", n, buf, len + 1);
    buf[0] = 1; /* mode 1: header length, header, body */
    buf[1] = ZPAR_HDR_LEN;
    memcpy (buf + 2, packed, len);
    snprintf (n, sizeof (n), "%s-decode", name);
    put ("wire", n, buf, len + 2);
    for (int mode = 2; mode <= 3; mode++) {
        p = buf;
        *p++ = (uint8_t)mode; /* frames: identity, delimiter, signature, header, body */
        frame (&p, "\0k\x8b\x45\x67", 5, 0);
        frame (&p, ZPAR_PROTO_DELIM, strlen (ZPAR_PROTO_DELIM), 0);
        frame (&p, sig, sizeof (sig), 0);
        zpar__hdr_encode (&m->hdr, hdr);
        frame (&p, hdr, sizeof (hdr), 0);
        frame (&p, m->body, m->len, 1);
        snprintf (n, sizeof (n), "%s-%s", name, mode == 2 ? "frames" : "signed");
        put ("wire", n, buf, (size_t)(p - buf));
    }
    /* the typed codec of this kind, which must accept it */
    {
        zpar_error_t err;
        const char *t = NULL;
        switch (m->hdr.type) {
        case ZPAR_MSG_TASK:
            t = "proto_task";
            break;
        case ZPAR_MSG_RESULT:
            t = "proto_result";
            break;
        case ZPAR_MSG_ABORT:
        case ZPAR_MSG_INTERRUPT:
        case ZPAR_MSG_SHUTDOWN:
        case ZPAR_MSG_CONTROL_REPLY:
            t = "proto_control";
            break;
        case ZPAR_MSG_STREAM:
        case ZPAR_MSG_TASK_STATUS:
        case ZPAR_MSG_NOTIFY:
            t = "proto_iopub";
            break;
        default:
            t = "proto_registrar";
            break;
        }
        if (zpar__proto_check (m, &err) < 0)
            fprintf (stderr, "gen_seeds: warning: seed %s is refused by its codec: %s\n", name,
                     err.text);
        put (t, name, packed, len);
    }
    /* monitor records ("ZM" 1 0, then kind, u32 length, payload): one
     * item of each kind behind this message */
    for (int k = ZPAR_MON_TASK_IN; k < ZPAR_MON_KIND_MAX; k++) {
        const char *tag = zpar__monitor_tag ((zpar_monitor_kind_t)k);
        size_t plen = k == ZPAR_MON_TASK_RUN ? 12 : len;
        p = buf;
        memcpy (p, "ZM\x01\x00", 4);
        p += 4;
        *p++ = (uint8_t)k;
        for (int i = 0; i < 4; i++)
            *p++ = (uint8_t)(plen >> (8 * i));
        memcpy (p, k == ZPAR_MON_TASK_RUN ? packed + 24 : packed, plen);
        p += plen;
        snprintf (n, sizeof (n), "%s-%s", name, tag);
        put ("proto_monitor", n, buf, (size_t)(p - buf));
    }
    free (buf);
    free (packed);
}

/* a pipe message, framed as frames.h reads it */
static void pipe_seed (const char *name, const zpar_pipe_msg_t *pm)
{
    zpar_frames_t f;
    uint8_t buf[4096], *p = buf;

    if (zpar__pipe_encode (pm, &f) < 0) {
        fprintf (stderr, "gen_seeds: pipe %s: %s\n", name, strerror (errno));
        exit (1);
    }
    for (int i = 0; i < f.n; i++) {
        if (zmq_msg_size (&f.part[i]) + 2 > sizeof (buf) - (size_t)(p - buf))
            exit (1);
        frame (&p, zmq_msg_data (&f.part[i]), zmq_msg_size (&f.part[i]), i == f.n - 1);
    }
    zpar__frames_close (&f);
    put ("proto_pipe", name, buf, (size_t)(p - buf));
}

/* ZMTP streams: an owner byte and a cut seed (fuzz_zmtp.c), then what a
 * peer sends, built with zmtp.c's encoders */
typedef struct {
    uint8_t b[4096];
    size_t n;
} zs_t;

static void zs_bytes (zs_t *z, const void *p, size_t len)
{
    memcpy (z->b + z->n, p, len);
    z->n += len;
}

static void zs_start (zs_t *z, uint8_t owner, uint8_t cut)
{
    z->n = 0;
    z->b[z->n++] = owner;
    z->b[z->n++] = cut;
    zpar__zmtp_greeting (z->b + z->n);
    z->n += ZPAR_ZMTP_GREETING_SIZE;
}

/* a command frame: name, then data */
static void zs_command (zs_t *z, const char *name, const void *data, size_t len, int flags)
{
    uint8_t body[1024];
    size_t nl = strlen (name);
    body[0] = (uint8_t)nl;
    memcpy (body + 1, name, nl);
    memcpy (body + 1 + nl, data, len);
    z->n += zpar__zmtp_header_encode (z->b + z->n, ZPAR_ZMTP_COMMAND | flags, 1 + nl + len);
    zs_bytes (z, body, 1 + nl + len);
}

static size_t zs_prop (uint8_t *p, const char *name, const char *value)
{
    size_t nl = strlen (name), vl = strlen (value);
    p[0] = (uint8_t)nl;
    memcpy (p + 1, name, nl);
    p[1 + nl] = (uint8_t)(vl >> 24);
    p[2 + nl] = (uint8_t)(vl >> 16);
    p[3 + nl] = (uint8_t)(vl >> 8);
    p[4 + nl] = (uint8_t)vl;
    memcpy (p + 5 + nl, value, vl);
    return 5 + nl + vl;
}

/* READY with Socket-Type type and, when id is not NULL, Identity id */
static void zs_ready (zs_t *z, const char *type, const char *id)
{
    uint8_t props[512];
    size_t n = zs_prop (props, "Socket-Type", type);
    if (id)
        n += zs_prop (props + n, "Identity", id);
    zs_command (z, "READY", props, n, 0);
}

static void zs_frame (zs_t *z, const void *data, size_t len, int more)
{
    z->n += zpar__zmtp_header_encode (z->b + z->n, more ? ZPAR_ZMTP_MORE : 0, len);
    zs_bytes (z, data, len);
}

static void zmtp_seeds (void)
{
    static const uint8_t ping[] = {0, 100, 'c', 't', 'x'}; /* TTL 10 s, context */
    uint8_t big[1200];
    zs_t z;

    for (size_t i = 0; i < sizeof (big); i++)
        big[i] = (uint8_t)(i * 7 + 3);
    /* maxmsg 256: DEALER with an identity, a three-frame message */
    zs_start (&z, 2, 1);
    zs_ready (&z, "DEALER", "engine-7");
    zs_frame (&z, "", 0, 1);
    zs_frame (&z, "task", 4, 1);
    zs_frame (&z, big, 200, 0);
    put ("zmtp", "ready-identity", z.b, z.n);
    /* no identity (one is made), PING, PONG, a one-frame message */
    zs_start (&z, 2, 2);
    zs_ready (&z, "REQ", NULL);
    zs_command (&z, "PING", ping, sizeof (ping), 0);
    zs_command (&z, "PONG", "ctx", 3, 0);
    zs_frame (&z, "hello", 5, 0);
    put ("zmtp", "ping", z.b, z.n);
    /* a message of more frames than are kept, then one that fits */
    zs_start (&z, 1, 3);
    zs_ready (&z, "ROUTER", "r");
    for (int i = 0; i < 10; i++)
        zs_frame (&z, big + i, (size_t)i, i < 9);
    zs_frame (&z, "a", 1, 1);
    zs_frame (&z, "b", 1, 0);
    put ("zmtp", "many-frames", z.b, z.n);
    /* maxmsg 65536: long frames (8-byte sizes), a later command ignored */
    zs_start (&z, 3, 4);
    zs_ready (&z, "DEALER", "x");
    zs_frame (&z, big, 256, 1);
    zs_frame (&z, big, sizeof (big), 0);
    zs_command (&z, "SUBSCRIBE", "t", 1, 0);
    zs_frame (&z, big, 300, 0);
    put ("zmtp", "long", z.b, z.n);
    /* maxmsg 16: a frame of 17 bytes after one of 16 */
    zs_start (&z, 0, 5);
    zs_ready (&z, "DEALER", NULL);
    zs_frame (&z, big, 16, 0);
    zs_frame (&z, big, 17, 0);
    put ("zmtp", "oversized", z.b, z.n);
    /* a long header announcing 2^40 bytes */
    zs_start (&z, 3, 6);
    zs_ready (&z, "DEALER", NULL);
    z.n += zpar__zmtp_header_encode (z.b + z.n, 0, (uint64_t)1 << 40);
    zs_bytes (&z, big, 10);
    put ("zmtp", "huge", z.b, z.n);
    /* cut: the greeting, READY, a frame body */
    zs_start (&z, 2, 7);
    put ("zmtp", "cut-greeting", z.b, 2 + 30);
    zs_ready (&z, "DEALER", "abc");
    put ("zmtp", "cut-ready", z.b, z.n - 5);
    zs_frame (&z, big, 100, 0);
    put ("zmtp", "cut-body", z.b, z.n - 40);
    /* not ZMTP, version 2, mechanism PLAIN */
    put ("zmtp", "http", "\x02\x00GET / HTTP/1.0\r\n\r\n", 20);
    zs_start (&z, 2, 8);
    z.b[2 + 10] = 2;
    put ("zmtp", "version2", z.b, z.n);
    zs_start (&z, 2, 8);
    memcpy (z.b + 2 + 12, "PLAIN", 5);
    put ("zmtp", "plain", z.b, z.n);
    /* rules broken after the greeting */
    zs_start (&z, 2, 9);
    zs_frame (&z, "early", 5, 0);
    put ("zmtp", "data-before-ready", z.b, z.n);
    zs_start (&z, 2, 9);
    zs_ready (&z, "PUB", NULL);
    put ("zmtp", "socket-pub", z.b, z.n);
    zs_start (&z, 2, 9);
    zs_ready (&z, "DEALER", NULL);
    zs_ready (&z, "DEALER", NULL);
    put ("zmtp", "ready-twice", z.b, z.n);
    zs_start (&z, 2, 10);
    zs_ready (&z, "DEALER", "id");
    zs_frame (&z, "a", 1, 1);
    zs_command (&z, "PING", ping, sizeof (ping), 0);
    zs_frame (&z, "b", 1, 0);
    put ("zmtp", "command-in-message", z.b, z.n);
    zs_start (&z, 2, 10);
    zs_ready (&z, "DEALER", "id");
    zs_command (&z, "PING", ping, sizeof (ping), ZPAR_ZMTP_MORE);
    put ("zmtp", "command-more", z.b, z.n);
    zs_start (&z, 2, 11);
    zs_ready (&z, "DEALER", "id");
    zs_command (&z, "ERROR", "\003bye", 4, 0);
    put ("zmtp", "error", z.b, z.n);
    zs_start (&z, 2, 11);
    zs_ready (&z, "DEALER", "id");
    zs_bytes (&z, "\x08\x01x", 3); /* a reserved flag bit */
    put ("zmtp", "reserved-flag", z.b, z.n);
    /* the owner's send fails (PING), the owner refuses the peer */
    zs_start (&z, 2 | 4, 12);
    zs_ready (&z, "DEALER", NULL);
    zs_command (&z, "PING", ping, sizeof (ping), 0);
    zs_frame (&z, "after", 5, 0);
    put ("zmtp", "send-fails", z.b, z.n);
    zs_start (&z, 2 | 8, 12);
    zs_ready (&z, "DEALER", "taken");
    zs_frame (&z, "after", 5, 0);
    put ("zmtp", "refused", z.b, z.n);
}

int main (int argc, char **argv)
{
    zpar_msg_t *m, *rec;
    zpar_conninfo_t ci;
    uint8_t *packed;
    size_t len;
    char *text;

    if (argc != 2) {
        fprintf (stderr, "usage: gen_seeds CORPUS_DIR\n");
        return 2;
    }
    dir = argv[1];
    (void)mkdir (dir, 0755);

    m = zpar__msg_create (ZPAR_MSG_TASK);
    m->hdr.task = 42;
    m->hdr.client = 3;
    zpar__msg_add_u64 (m, ZPAR_F_KIND, 1);
    zpar__msg_add_str (m, ZPAR_F_ARGV, "/bin/echo");
    zpar__msg_add_str (m, ZPAR_F_ARGV, "hello");
    zpar__msg_add_str (m, ZPAR_F_ENV, "OMP_NUM_THREADS=1");
    zpar__msg_add_str (m, ZPAR_F_CWD, "/tmp");
    zpar__msg_add_u64 (m, ZPAR_F_TIMEOUT_MS, 30000);
    zpar__msg_add_u64 (m, ZPAR_F_RETRIES, 2);
    zpar__msg_add_u64 (m, ZPAR_F_AFTER, 41);
    zpar__msg_add_u64 (m, ZPAR_F_TARGET, 1);
    zpar__msg_add_u64 (m, ZPAR_F_PRIORITY, (uint64_t)-5);
    zpar__msg_add_u64 (m, ZPAR_F_ATTEMPT, 1);
    zpar__msg_add_u64 (m, ZPAR_F_OUTPUT_CAP, 1 << 20);
    zpar__msg_add_u64 (m, ZPAR_F_SUBMITTED_US, 1764600000000000ull);
    wire ("task", m);

    zpar__msg_reset (m, ZPAR_MSG_TASK);
    m->hdr.task = 43;
    zpar__msg_add_u64 (m, ZPAR_F_KIND, 2);
    zpar__msg_add_str (m, ZPAR_F_LIB, "/usr/lib/libtestfn.so");
    zpar__msg_add_str (m, ZPAR_F_SYMBOL, "square");
    zpar__msg_add_bytes (m, ZPAR_F_INPUT, "\x03\x00\x00\x00", 4);
    zpar__msg_add_u64 (m, ZPAR_F_INLINE, 1);
    zpar__msg_add_u64 (m, ZPAR_F_ALL_ENGINES, 1);
    wire ("function", m);

    zpar__msg_reset (m, ZPAR_MSG_RESULT);
    m->hdr.task = 42;
    m->hdr.engine = 2;
    zpar__msg_add_u64 (m, ZPAR_F_STATUS, 1);
    zpar__msg_add_u64 (m, ZPAR_F_EXIT, 0);
    zpar__msg_add_u64 (m, ZPAR_F_SIGNAL, 0);
    zpar__msg_add_u64 (m, ZPAR_F_WALL_US, 1234);
    zpar__msg_add_u64 (m, ZPAR_F_UTIME_US, 1000);
    zpar__msg_add_u64 (m, ZPAR_F_STIME_US, 200);
    zpar__msg_add_u64 (m, ZPAR_F_MAXRSS_KB, 2048);
    zpar__msg_add_str (m, ZPAR_F_HOST, "node01");
    zpar__msg_add_bytes (m, ZPAR_F_STDOUT, "hello\n", 6);
    zpar__msg_add_bytes (m, ZPAR_F_STDERR, "", 0);
    zpar__msg_add_u64 (m, ZPAR_F_STARTED_US, 1764600000000100ull);
    zpar__msg_add_u64 (m, ZPAR_F_FINISHED_US, 1764600000001334ull);
    zpar__msg_add_u64 (m, ZPAR_F_PID, 4242);
    zpar__msg_add_u64 (m, ZPAR_F_TRUNCATED, 0);
    zpar__msg_add_u64 (m, ZPAR_F_ATTEMPT, 1);
    wire ("result", m);

    zpar__msg_reset (m, ZPAR_MSG_REGISTER_ENGINE);
    zpar__msg_add_u64 (m, ZPAR_F_RANK, 1);
    zpar__msg_add_str (m, ZPAR_F_ENGINE_UUID, "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0");
    zpar__msg_add_str (m, ZPAR_F_HOST, "node01");
    zpar__msg_add_u64 (m, ZPAR_F_PID, 999);
    wire ("register-engine", m);

    zpar__msg_reset (m, ZPAR_MSG_REGISTER_ENGINE_REPLY);
    m->hdr.engine = 1;
    zpar__msg_add_u64 (m, ZPAR_F_ENGINE_ID, 1);
    zpar__msg_add_str (m, ZPAR_F_ADDR_MUX, "tcp://127.0.0.1:40001");
    zpar__msg_add_str (m, ZPAR_F_ADDR_TASK, "tcp://127.0.0.1:40002");
    zpar__msg_add_str (m, ZPAR_F_ADDR_CONTROL, "tcp://127.0.0.1:40003");
    zpar__msg_add_str (m, ZPAR_F_ADDR_IOPUB, "tcp://127.0.0.1:40004");
    zpar__msg_add_str (m, ZPAR_F_ADDR_HB_PING, "tcp://127.0.0.1:40005");
    zpar__msg_add_str (m, ZPAR_F_ADDR_HB_PONG, "tcp://127.0.0.1:40006");
    zpar__msg_add_u64 (m, ZPAR_F_HB_PERIOD_MS, 1000);
    zpar__msg_add_u64 (m, ZPAR_F_HB_MISSES, 3);
    zpar__msg_add_str (m, ZPAR_F_TASK_SCHEME, "leastload");
    wire ("register-engine-reply", m);

    /* registering again: the tasks held, and those to drop */
    zpar__msg_reset (m, ZPAR_MSG_REGISTER_ENGINE);
    m->hdr.engine = 1;
    zpar__msg_add_u64 (m, ZPAR_F_RANK, 1);
    zpar__msg_add_u64 (m, ZPAR_F_ENGINE_ID, 1);
    zpar__msg_add_str (m, ZPAR_F_ENGINE_UUID, "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0");
    zpar__msg_add_u64 (m, ZPAR_F_HELD, 0x100000001ull);
    zpar__msg_add_u64 (m, ZPAR_F_HELD, 0x100000002ull);
    wire ("register-engine-held", m);

    zpar__msg_reset (m, ZPAR_MSG_REGISTER_ENGINE_REPLY);
    m->hdr.engine = 1;
    zpar__msg_add_str (m, ZPAR_F_ADDR_MUX, "tcp://127.0.0.1:40001");
    zpar__msg_add_str (m, ZPAR_F_ADDR_TASK, "tcp://127.0.0.1:40002");
    zpar__msg_add_str (m, ZPAR_F_ADDR_CONTROL, "tcp://127.0.0.1:40003");
    zpar__msg_add_str (m, ZPAR_F_ADDR_IOPUB, "tcp://127.0.0.1:40004");
    zpar__msg_add_str (m, ZPAR_F_ADDR_HB_PING, "tcp://127.0.0.1:40005");
    zpar__msg_add_str (m, ZPAR_F_ADDR_HB_PONG, "tcp://127.0.0.1:40006");
    {
        zpar_route_t r;
        (void)zpar__route_make (zpar__eid (1), &r);
        zpar__msg_add_bytes (m, ZPAR_F_ROUTE, r.b, sizeof (r.b));
    }
    zpar__msg_add_u64 (m, ZPAR_F_DROP, 0x100000002ull);
    wire ("register-engine-reply-drop", m);

    zpar__msg_reset (m, ZPAR_MSG_REGISTER_CLIENT);
    wire ("register-client", m);
    zpar__msg_reset (m, ZPAR_MSG_REGISTER_CLIENT_REPLY);
    m->hdr.client = 3;
    zpar__msg_add_u64 (m, ZPAR_F_CLIENT_ID, 3);
    zpar__msg_add_str (m, ZPAR_F_ADDR_MUX, "tcp://127.0.0.1:40001");
    zpar__msg_add_str (m, ZPAR_F_ADDR_TASK, "tcp://127.0.0.1:40002");
    zpar__msg_add_str (m, ZPAR_F_ADDR_CONTROL, "tcp://127.0.0.1:40003");
    zpar__msg_add_str (m, ZPAR_F_ADDR_IOPUB, "tcp://127.0.0.1:40004");
    zpar__msg_add_str (m, ZPAR_F_ADDR_NOTIFY, "tcp://127.0.0.1:40007");
    zpar__msg_add_str (m, ZPAR_F_TASK_SCHEME, "leastload");
    wire ("register-client-reply", m);
    zpar__msg_reset (m, ZPAR_MSG_UNREGISTER);
    m->hdr.engine = 1;
    wire ("unregister", m);

    zpar__msg_reset (m, ZPAR_MSG_QUERY);
    zpar__msg_add_str (m, ZPAR_F_QUERY, "result");
    zpar__msg_add_u64 (m, ZPAR_F_TASK_ID, 42);
    zpar__msg_add_u64 (m, ZPAR_F_TASK_ID, 43);
    wire ("query", m);

    rec = zpar__msg_create (ZPAR_MSG_RESULT);
    rec->hdr.version = ZPAR_PROTO_VERSION;
    rec->hdr.task = 42;
    zpar__msg_add_u64 (rec, ZPAR_F_STATUS, 1);
    zpar__msg_add_bytes (rec, ZPAR_F_STDOUT, "x", 1);
    zpar__msg_pack (rec, &packed, &len);
    zpar__msg_reset (m, ZPAR_MSG_QUERY_REPLY);
    zpar__msg_add_u64 (m, ZPAR_F_COUNT, 1);
    zpar__msg_add_bytes (m, ZPAR_F_RECORD, packed, len);
    zpar__msg_add_u64 (m, ZPAR_F_PENDING, 0);
    zpar__msg_add_u64 (m, ZPAR_F_RUNNING, 1);
    zpar__msg_add_u64 (m, ZPAR_F_COMPLETED, 5);
    zpar__msg_add_u64 (m, ZPAR_F_FAILED, 0);
    zpar__msg_add_u64 (m, ZPAR_F_DROPPED, 0);
    zpar__msg_add_u64 (m, ZPAR_F_OUTSTANDING, 1);
    zpar__msg_add_str (m, ZPAR_F_STATE, "running");
    wire ("query-reply", m);
    /* a status while the task records are not being saved */
    zpar__msg_reset (m, ZPAR_MSG_QUERY_REPLY);
    zpar__msg_add_str (m, ZPAR_F_QUERY, "status");
    zpar__msg_add_u64 (m, ZPAR_F_COMPLETED, 3000);
    zpar__msg_add_u64 (m, ZPAR_F_RECORDS_SINCE_US, 1764612000000000ull);
    zpar__msg_add_u64 (m, ZPAR_F_RECORDS_UNSAVED, 9005);
    zpar__msg_add_u64 (m, ZPAR_F_RECORDS_BYTES, 1572864);
    zpar__msg_add_u64 (m, ZPAR_F_RECORDS_LIMIT, 268435456);
    zpar__msg_add_u64 (m, ZPAR_F_RECORDS_REFUSING, 0);
    zpar__msg_add_str (m, ZPAR_F_RECORDS_ERROR, "database or disk is full");
    wire ("query-reply-records-unsaved", m);
    free (packed);
    zpar__msg_destroy (rec);

    zpar__msg_reset (m, ZPAR_MSG_ABORT);
    m->hdr.task = 42;
    wire ("abort", m);
    zpar__msg_reset (m, ZPAR_MSG_INTERRUPT);
    m->hdr.task = 42;
    wire ("interrupt", m);
    zpar__msg_reset (m, ZPAR_MSG_SHUTDOWN);
    wire ("shutdown", m);
    zpar__msg_reset (m, ZPAR_MSG_CONTROL_REPLY);
    zpar__msg_add_u64 (m, ZPAR_F_ERRNO, 0);
    zpar__msg_add_str (m, ZPAR_F_ERROR, "");
    wire ("control-reply", m);
    zpar__msg_reset (m, ZPAR_MSG_STREAM);
    m->hdr.task = 42;
    zpar__msg_add_u64 (m, ZPAR_F_STREAM, 1);
    zpar__msg_add_bytes (m, ZPAR_F_DATA, "partial line", 12);
    wire ("stream", m);
    zpar__msg_reset (m, ZPAR_MSG_TASK_STATUS);
    m->hdr.task = 42;
    zpar__msg_add_str (m, ZPAR_F_EVENT, "started");
    wire ("task-status", m);
    zpar__msg_reset (m, ZPAR_MSG_NOTIFY);
    zpar__msg_add_str (m, ZPAR_F_EVENT, "died");
    zpar__msg_add_u64 (m, ZPAR_F_ENGINE_ID, 2);
    wire ("notify", m);
    /* the hub <-> scheduler pipe, every kind; a requeue carries a task */
    {
        zpar_pipe_msg_t pm;
        zpar__msg_reset (m, ZPAR_MSG_TASK);
        m->hdr.version = ZPAR_PROTO_VERSION;
        m->hdr.task = 44;
        zpar__msg_add_u64 (m, ZPAR_F_KIND, 1);
        zpar__msg_add_str (m, ZPAR_F_ARGV, "/bin/true");
        zpar__msg_pack (m, &packed, &len);
        memset (&pm, 0, sizeof (pm));
        pm.kind = ZPAR_PIPE_UP, pm.engine = 3;
        (void)zpar__route_make (zpar__eid (3), &pm.route);
        pipe_seed ("up", &pm);
        pm.kind = ZPAR_PIPE_DOWN;
        pipe_seed ("down", &pm);
        pm.kind = ZPAR_PIPE_DONE, pm.task = 44, pm.ok = 1;
        pipe_seed ("done-ok", &pm);
        pm.ok = 0;
        pipe_seed ("done-failed", &pm);
        pm.kind = ZPAR_PIPE_DEP_QUERY;
        pipe_seed ("dep-query", &pm);
        pm.kind = ZPAR_PIPE_TERM;
        pipe_seed ("term", &pm);
        pm.kind = ZPAR_PIPE_REQUEUE, pm.data = packed, pm.len = len;
        pipe_seed ("requeue", &pm);
        free (packed);
        /* a relay inject message: identity, then wire frames */
        {
            static const uint8_t inj[] = {5, 0,   0,   'k', 0x8b, 0x45, 0x67, 5,
                                          0, 'Z', 'P', 'A', 'R',  '1',  0};
            put ("proto_pipe", "inject", inj, sizeof (inj));
        }
    }
    zpar__msg_destroy (m);

    /* heartbeat pings */
    {
        zpar_proto_ping_t ping = {
            .seq = 1, .time_us = 1764600000000000ull, .session = 0x1234567890abcdefull};
        uint8_t out[ZPAR_HB_PING_LEN];
        zpar__proto_ping_encode (&ping, out);
        put ("proto_hb", "ping", out, sizeof (out));
        ping.seq = UINT64_MAX;
        zpar__proto_ping_encode (&ping, out);
        put ("proto_hb", "ping-last", out, sizeof (out));
    }

    /* a connection file as the controller writes it */
    memset (&ci, 0, sizeof (ci));
    for (int i = 0; i < ZPAR_KEY_LEN; i++)
        ci.key[i] = (uint8_t)(i * 37 + 11);
    for (int i = 0; i < ZPAR_EP_COUNT; i++)
        snprintf (ci.addr[i], sizeof (ci.addr[i]), "tcp://127.0.0.1:%d", 40000 + i);
    snprintf (ci.host, sizeof (ci.host), "node01");
    snprintf (ci.scheme, sizeof (ci.scheme), "leastload");
    snprintf (ci.job, sizeof (ci.job), "local");
    ci.pid = 31337;
    text = zpar__conn_to_string (&ci);
    put ("conn", "client.json", text, strlen (text));
    put ("json", "client.json", text, strlen (text));
    free (text);
    snprintf (ci.addr[0], sizeof (ci.addr[0]), "ipc:///tmp/zpar-1000/registrar");
    snprintf (ci.host, sizeof (ci.host), "h\xc3\xa9te \"quoted\"\\");
    snprintf (ci.job, sizeof (ci.job), "12345.pbs01");
    text = zpar__conn_to_string (&ci);
    put ("conn", "ipc.json", text, strlen (text));
    put ("json", "escapes.json", text, strlen (text));
    free (text);
    {
        static const char j1[] =
            "{\"a\": 1.5e3, \"b\": true, \"c\": null, \"d\": \"\\u00e9\\ud83d\\ude00\\n\"}";
        static const char j2[] = "{\"s\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\",\"n\":-0.0e-0,\"f\":false}";
        put ("json", "types.json", j1, strlen (j1));
        put ("json", "escapes2.json", j2, strlen (j2));
        put ("json", "empty.json", "{}", 2);
    }
    zmtp_seeds ();
    return 0;
}
