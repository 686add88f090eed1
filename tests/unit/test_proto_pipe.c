/* test_proto_pipe.c - the hub <-> scheduler pipe codec and the monitor
 * copies: every kind round-trips, every truncation and wrong type is
 * rejected, the bytes are those the hub and the schedulers exchanged
 * before the codec, bad parameters are refused. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "msg.h"
#include "proto_pipe.h"
#include "tap.h"
#include "wire.h"

static int frames_from (zpar_frames_t *f, int n, const void *const *parts, const size_t *sizes)
{
    f->n = 0;
    f->delim = -1;
    for (int i = 0; i < n; i++) {
        if (zmq_msg_init_size (&f->part[i], sizes[i]) < 0)
            return -1;
        memcpy (zmq_msg_data (&f->part[i]), parts[i], sizes[i]);
        f->n++;
    }
    return 0;
}

static int frame_eq (zpar_frames_t *f, int i, const void *data, size_t len)
{
    return zmq_msg_size (&f->part[i]) == len && memcmp (zmq_msg_data (&f->part[i]), data, len) == 0;
}

static void test_roundtrip (void)
{
    uint8_t req[ZPAR_HDR_LEN + 5];
    zpar_pipe_msg_t in[] = {
        {.kind = ZPAR_PIPE_UP, .engine = 7},
        {.kind = ZPAR_PIPE_UP, .engine = 0xfffffffeu},
        {.kind = ZPAR_PIPE_DOWN, .engine = 0xfffffffeu},
        {.kind = ZPAR_PIPE_DONE, .task = 0x0123456789abcdefull, .ok = 1},
        {.kind = ZPAR_PIPE_DONE, .task = 42, .ok = 0},
        {.kind = ZPAR_PIPE_REQUEUE, .data = req, .len = sizeof (req)},
        {.kind = ZPAR_PIPE_TERM},
        {.kind = ZPAR_PIPE_DEP_QUERY, .task = 99},
    };
    for (size_t i = 0; i < sizeof (req); i++)
        req[i] = (uint8_t)i;
    (void)zpar__route_make (zpar__eid (7), &in[0].route);
    (void)zpar__route_make (zpar__eid (0xfffffffeu), &in[1].route);
    for (size_t i = 0; i < sizeof (in) / sizeof (in[0]); i++) {
        zpar_frames_t f;
        zpar_pipe_msg_t out;
        zpar_error_t err;
        const char *name = zpar__pipe_kind_name (in[i].kind);
        ok (zpar__pipe_encode (&in[i], &f) == 0, "%s: encoded", name);
        ok (frame_eq (&f, 0, name, strlen (name)), "%s: first frame is the command word", name);
        ok (zpar__pipe_decode (&f, &out, &err) == 0, "%s: decoded", name);
        ok (out.kind == in[i].kind && out.engine == in[i].engine && out.task == in[i].task &&
                out.ok == in[i].ok && out.len == in[i].len &&
                memcmp (out.route.b, in[i].route.b, ZPAR_ROUTE_LEN) == 0 &&
                (!in[i].data || memcmp (out.data, in[i].data, in[i].len) == 0),
            "%s: round trip", name);
        /* every truncation (a frame fewer) is rejected */
        if (f.n > 1) {
            zmq_msg_close (&f.part[--f.n]);
            ok (zpar__pipe_decode (&f, &out, &err) < 0 && errno == EPROTO &&
                    out.kind == ZPAR_PIPE_NONE,
                "%s: truncated (%d frames) rejected: %s", name, f.n, err.text);
        }
        zpar__frames_close (&f);
    }
}

/* The bytes as the hub and the scheduler wrote them before the codec. */
static void test_bytes (void)
{
    uint32_t eid = 5;
    uint64_t id = 77;
    uint8_t yes = 1, no = 2;
    zpar_frames_t f;
    zpar_pipe_msg_t m;
    zpar_error_t err;
    const void *p[3];
    size_t s[3];

    {
        zpar_pipe_msg_t up = {.kind = ZPAR_PIPE_UP, .engine = eid};
        (void)zpar__route_make (zpar__eid (eid), &up.route);
        ok (zpar__pipe_encode (&up, &f) == 0 && f.n == 3 && frame_eq (&f, 0, "up", 2) &&
                frame_eq (&f, 1, &eid, 4) && frame_eq (&f, 2, up.route.b, ZPAR_ROUTE_LEN),
            "up: [\"up\", u32, route]");
        zpar__frames_close (&f);
        up.engine = eid + 1;
        ok (zpar__pipe_encode (&up, &f) < 0 && errno == EINVAL,
            "up whose route names another engine: EINVAL");
    }
    ok (zpar__pipe_encode (&(zpar_pipe_msg_t){.kind = ZPAR_PIPE_DONE, .task = id, .ok = 1}, &f) ==
                0 &&
            f.n == 3 && frame_eq (&f, 0, "done", 4) && frame_eq (&f, 1, &id, 8) &&
            frame_eq (&f, 2, &yes, 1),
        "done ok: [\"done\", u64, 1]");
    zpar__frames_close (&f);
    ok (zpar__pipe_encode (&(zpar_pipe_msg_t){.kind = ZPAR_PIPE_DONE, .task = id}, &f) == 0 &&
            frame_eq (&f, 2, &no, 1),
        "done not ok: [\"done\", u64, 2]");
    zpar__frames_close (&f);
    ok (zpar__pipe_encode (&(zpar_pipe_msg_t){.kind = ZPAR_PIPE_TERM}, &f) == 0 && f.n == 1 &&
            frame_eq (&f, 0, "$TERM", 5),
        "term: [\"$TERM\"]");
    zpar__frames_close (&f);
    ok (zpar__pipe_encode (&(zpar_pipe_msg_t){.kind = ZPAR_PIPE_DEP_QUERY, .task = id}, &f) == 0 &&
            f.n == 2 && frame_eq (&f, 0, "dep?", 4) && frame_eq (&f, 1, &id, 8),
        "dep query: [\"dep?\", u64]");
    zpar__frames_close (&f);

    /* hand-made frames decode */
    p[0] = "down";
    s[0] = 4;
    p[1] = &eid;
    s[1] = 4;
    frames_from (&f, 2, p, s);
    ok (zpar__pipe_decode (&f, &m, &err) == 0 && m.kind == ZPAR_PIPE_DOWN && m.engine == 5,
        "hand-made down decoded");
    zpar__frames_close (&f);
}

static void test_malformed (void)
{
    uint32_t eid = 1;
    uint64_t id = 1;
    uint8_t bad = 3, one = 1, hdr[ZPAR_HDR_LEN - 1] = {0};
    zpar_route_t route, other;
    (void)zpar__route_make (zpar__eid (1), &route);
    (void)zpar__route_make (zpar__eid (2), &other);
    struct {
        const char *what;
        int n;
        const void *p[4];
        size_t s[4];
    } cases[] = {
        {"unknown command", 2, {"upp", &eid}, {3, 4}},
        {"command prefix", 2, {"u", &eid}, {1, 4}},
        {"empty command", 1, {""}, {0}},
        {"up with a short id", 3, {"up", &eid, route.b}, {2, 3, ZPAR_ROUTE_LEN}},
        {"up with a long id", 3, {"up", &id, route.b}, {2, 8, ZPAR_ROUTE_LEN}},
        {"up without a route", 2, {"up", &eid}, {2, 4}},
        {"up with the old name e1", 3, {"up", &eid, "e1"}, {2, 4, 2}},
        {"up whose route names another engine", 3, {"up", &eid, other.b}, {2, 4, ZPAR_ROUTE_LEN}},
        {"up with an extra frame", 4, {"up", &eid, route.b, &eid}, {2, 4, ZPAR_ROUTE_LEN, 4}},
        {"down without id", 1, {"down"}, {4}},
        {"done without ok", 2, {"done", &id}, {4, 8}},
        {"done with ok 3", 3, {"done", &id, &bad}, {4, 8, 1}},
        {"done with a short id", 3, {"done", &eid, &one}, {4, 4, 1}},
        {"done with a long ok", 3, {"done", &id, &id}, {4, 8, 8}},
        {"req shorter than a header", 2, {"req", hdr}, {3, sizeof (hdr)}},
        {"req without request", 1, {"req"}, {3}},
        {"$TERM with a frame", 2, {"$TERM", &eid}, {5, 4}},
        {"dep? with a short id", 2, {"dep?", &eid}, {4, 4}},
        {"TERMINATE is not $TERM", 1, {"TERMINATE"}, {9}},
    };
    for (size_t i = 0; i < sizeof (cases) / sizeof (cases[0]); i++) {
        zpar_frames_t f;
        zpar_pipe_msg_t m;
        zpar_error_t err = {{0}};
        frames_from (&f, cases[i].n, cases[i].p, cases[i].s);
        ok (zpar__pipe_decode (&f, &m, &err) < 0 && errno == EPROTO && m.kind == ZPAR_PIPE_NONE &&
                err.text[0],
            "%s rejected: %s", cases[i].what, err.text);
        zpar__frames_close (&f);
    }
}

static void test_bad_params (void)
{
    zpar_frames_t f = {0};
    zpar_pipe_msg_t m;
    zpar_error_t err;
    uint8_t req[ZPAR_HDR_LEN];
    struct {
        const char *what;
        zpar_pipe_msg_t m;
    } enc[] = {
        {"kind NONE", {.kind = ZPAR_PIPE_NONE}},
        {"kind out of range", {.kind = ZPAR_PIPE_KIND_MAX}},
        {"negative kind", {.kind = (zpar_pipe_kind_t)-1}},
        {"requeue without data", {.kind = ZPAR_PIPE_REQUEUE, .len = 100}},
        {"requeue too short", {.kind = ZPAR_PIPE_REQUEUE, .data = req, .len = ZPAR_HDR_LEN - 1}},
    };
    for (size_t i = 0; i < sizeof (enc) / sizeof (enc[0]); i++)
        ok (zpar__pipe_encode (&enc[i].m, &f) < 0 && errno == EINVAL && f.n == 0,
            "encode %s: EINVAL", enc[i].what);
    ok (zpar__pipe_encode (NULL, &f) < 0 && errno == EINVAL, "encode NULL message: EINVAL");
    ok (zpar__pipe_encode (&(zpar_pipe_msg_t){.kind = ZPAR_PIPE_TERM}, NULL) < 0 && errno == EINVAL,
        "encode NULL frames: EINVAL");
    ok (zpar__pipe_decode (NULL, &m, &err) < 0 && errno == EINVAL, "decode NULL frames: EINVAL");
    ok (zpar__pipe_decode (&f, NULL, &err) < 0 && errno == EINVAL, "decode NULL message: EINVAL");
    f.n = 0;
    ok (zpar__pipe_decode (&f, &m, NULL) < 0 && errno == EPROTO, "decode no frames: EPROTO");
    ok (zpar__pipe_send (NULL, &enc[0].m, 0) < 0 && errno == EINVAL, "send on NULL socket: EINVAL");
    ok (zpar__pipe_recv (NULL, &f, &m, 0, &err) < 0 && errno == EINVAL,
        "recv on NULL socket: EINVAL");
    ok (zpar__pipe_inject_is_term (NULL) < 0 && errno == EPROTO, "inject NULL: EPROTO");
    ok (strcmp (zpar__pipe_kind_name (ZPAR_PIPE_KIND_MAX), "?") == 0 &&
            strcmp (zpar__pipe_kind_name (ZPAR_PIPE_NONE), "?") == 0,
        "unknown kinds are named ?");
}

static void test_requeue_frames (void)
{
    zpar_msg_t *m = zpar__msg_create (ZPAR_MSG_TASK), *r = zpar__msg_create (ZPAR_MSG_NONE);
    zpar_frames_t f;
    zpar_pipe_msg_t pm;
    zpar_hdr_t h;
    zpar_error_t err;
    uint8_t *buf = NULL;
    size_t len = 0;

    m->hdr.task = 1234;
    m->hdr.client = 3;
    zpar__msg_add_str (m, ZPAR_F_ARGV, "true");
    ok (zpar__msg_pack (m, &buf, &len) == 0, "a recorded request");
    pm = (zpar_pipe_msg_t){.kind = ZPAR_PIPE_REQUEUE, .data = buf, .len = len};
    ok (zpar__pipe_requeue_frames (&pm, &f) == 0 && f.n == 5 && f.delim == 1 &&
            frame_eq (&f, 0, "hub", 3),
        "requeue: frames of a request from 'hub'");
    ok (zpar__frames_check (NULL, &f, &h, &err) == 0 && h.type == ZPAR_MSG_TASK && h.task == 1234 &&
            zpar__frames_decode (&f, r, &err) == 0 && r->hdr.client == 3,
        "requeue: the request checks and decodes");
    zpar__frames_close (&f);
    pm.len = ZPAR_HDR_LEN - 1;
    ok (zpar__pipe_requeue_frames (&pm, &f) < 0 && errno == EINVAL && f.n == 0,
        "requeue too short: EINVAL");
    pm.kind = ZPAR_PIPE_UP;
    pm.len = len;
    ok (zpar__pipe_requeue_frames (&pm, &f) < 0 && errno == EINVAL,
        "requeue of another kind: EINVAL");
    ok (zpar__pipe_requeue_frames (NULL, &f) < 0 && errno == EINVAL, "requeue NULL: EINVAL");
    free (buf);
    zpar__msg_destroy (m);
    zpar__msg_destroy (r);
}

static void test_sockets (void *ctx)
{
    void *a = zmq_socket (ctx, ZMQ_PAIR), *b = zmq_socket (ctx, ZMQ_PAIR);
    uint8_t req[ZPAR_HDR_LEN + 3] = {1, 2, 3};
    zpar_frames_t f;
    zpar_pipe_msg_t m;
    zpar_error_t err;
    zpar_route_t r3, r9, got;

    ok (zmq_bind (a, "inproc://pipe") == 0 && zmq_connect (b, "inproc://pipe") == 0, "pipe pair");
    (void)zpar__route_make (zpar__eid (3), &r3);
    (void)zpar__route_make (zpar__eid (9), &r9);
    ok (zpar__pipe_send_up (b, NULL, 0) < 0 && errno == EINVAL, "up without a route: EINVAL");
    ok (zpar__pipe_send_up (b, &r3, 0) == 0 && zpar__pipe_send_down (b, 4, 0) == 0 &&
            zpar__pipe_send_done (b, 5, 1, 0) == 0 &&
            zpar__pipe_send_requeue (b, req, sizeof (req), 0) == 0 &&
            zpar__pipe_send_dep_query (b, 6, 0) == 0 && zpar__pipe_send_term (b, 0) == 0,
        "every shorthand sends");
    ok (zpar__pipe_recv (a, &f, &m, 0, &err) == 0 && m.kind == ZPAR_PIPE_UP && m.engine == 3 &&
            memcmp (m.route.b, r3.b, ZPAR_ROUTE_LEN) == 0,
        "up received with its route");
    zpar__frames_close (&f);
    ok (zpar__pipe_recv (a, &f, &m, 0, &err) == 0 && m.kind == ZPAR_PIPE_DOWN && m.engine == 4,
        "down received");
    zpar__frames_close (&f);
    ok (zpar__pipe_recv (a, &f, &m, 0, &err) == 0 && m.kind == ZPAR_PIPE_DONE && m.task == 5 &&
            m.ok,
        "done received");
    zpar__frames_close (&f);
    ok (zpar__pipe_recv (a, &f, &m, 0, &err) == 0 && m.kind == ZPAR_PIPE_REQUEUE &&
            m.len == sizeof (req) && memcmp (m.data, req, sizeof (req)) == 0,
        "req received");
    zpar__frames_close (&f);
    ok (zpar__pipe_recv (a, &f, &m, 0, &err) == 0 && m.kind == ZPAR_PIPE_DEP_QUERY && m.task == 6,
        "dep? received");
    zpar__frames_close (&f);
    ok (zpar__pipe_recv (a, &f, &m, 0, &err) == 0 && m.kind == ZPAR_PIPE_TERM, "$TERM received");
    ok (zpar__pipe_inject_is_term (&f) == 1, "$TERM stops a relay");
    zpar__frames_close (&f);
    ok (zpar__pipe_recv (a, &f, &m, ZMQ_DONTWAIT, &err) < 0 && errno == EAGAIN,
        "nothing more: EAGAIN");
    zmq_send (b, "junk", 4, 0);
    ok (zpar__pipe_recv (a, &f, &m, 0, &err) < 0 && errno == EPROTO, "junk: EPROTO (%s)", err.text);
    ok (zpar__pipe_inject_is_term (&f) == -1 && errno == EPROTO,
        "junk is neither stop nor forward");
    zpar__frames_close (&f);
    zmq_send (b, "e1", 2, ZMQ_SNDMORE);
    zmq_send (b, "x", 1, 0);
    ok (zpar__frames_recv (a, &f, 0) == 0 && zpar__pipe_inject_is_term (&f) == 0 &&
            zpar__pipe_inject_route (&f, &got) == 0,
        "[identity, frames] is forwarded");
    zpar__frames_close (&f);
    /* the relay's routes */
    ok (zpar__pipe_send_route (b, NULL, 0) < 0 && errno == EINVAL, "route NULL: EINVAL");
    ok (zpar__pipe_send_route (b, &r9, 0) == 0, "route sent");
    ok (zpar__frames_recv (a, &f, 0) == 0 && zpar__pipe_inject_route (&f, &got) == 1 &&
            memcmp (got.b, r9.b, ZPAR_ROUTE_LEN) == 0,
        "[\"$ROUTE\", route] is a route for engine 9");
    zpar__frames_close (&f);
    zmq_send (b, "$ROUTE", 6, ZMQ_SNDMORE);
    zmq_send (b, "e9", 2, 0);
    ok (zpar__frames_recv (a, &f, 0) == 0 && zpar__pipe_inject_route (&f, &got) == -1 &&
            errno == EPROTO,
        "a route that is not one: EPROTO");
    zpar__frames_close (&f);
    ok (zpar__pipe_inject_route (NULL, &got) == -1 && errno == EINVAL, "inject_route NULL: EINVAL");
    zmq_close (a);
    zmq_close (b);
}

/* Adopt lists: "up" with one (in one message) and "adopt". */
static void test_adopt (void)
{
    uint8_t *list = NULL, req[ZPAR_HDR_LEN + 3];
    size_t len = 0, pos = 0, rl;
    zpar_pipe_msg_t m = {0}, d;
    zpar_frames_t f;
    zpar_error_t err;
    uint64_t task;
    const void *rp;

    memset (req, 0xab, sizeof (req));
    ok (zpar__pipe_adopt_add (&list, &len, 41, req, sizeof (req)) == 0 &&
            zpar__pipe_adopt_add (&list, &len, 42, NULL, 0) == 0,
        "adopt list: two entries (one with its request)");
    errno = 0;
    ok (zpar__pipe_adopt_add (&list, &len, 0, NULL, 0) < 0 && errno == EINVAL &&
            zpar__pipe_adopt_add (&list, &len, 43, req, 5) < 0 &&
            zpar__pipe_adopt_add (&list, &len, 43, NULL, 60) < 0 &&
            zpar__pipe_adopt_add (NULL, &len, 43, NULL, 0) < 0,
        "adopt list: task 0, a request shorter than a header, a length without data: EINVAL");
    m.kind = ZPAR_PIPE_UP;
    m.engine = 9;
    ok (zpar__route_make (zpar__eid (9), &m.route) == 0, "a route for engine 9");
    m.adopt = list;
    m.adopt_len = len;
    ok (zpar__pipe_encode (&m, &f) == 0 && f.n == 4, "up with an adopt list: 4 frames");
    ok (zpar__pipe_decode (&f, &d, &err) == 0 && d.kind == ZPAR_PIPE_UP && d.engine == 9 &&
            d.adopt_len == len,
        "decoded");
    ok (zpar__pipe_adopt_next (&d, &pos, &task, &rp, &rl) == 1 && task == 41 &&
            rl == sizeof (req) && !memcmp (rp, req, rl),
        "first entry: task 41 with its request");
    ok (zpar__pipe_adopt_next (&d, &pos, &task, &rp, &rl) == 1 && task == 42 && rl == 0 && !rp,
        "second entry: task 42 without");
    ok (zpar__pipe_adopt_next (&d, &pos, &task, &rp, &rl) == 0, "then the end");
    zpar__frames_close (&f);
    memset (&m, 0, sizeof (m));
    m.kind = ZPAR_PIPE_ADOPT;
    m.engine = 9;
    m.adopt = list;
    m.adopt_len = len;
    ok (zpar__pipe_encode (&m, &f) == 0 && f.n == 3 && zpar__pipe_decode (&f, &d, &err) == 0 &&
            d.kind == ZPAR_PIPE_ADOPT && d.engine == 9 && d.adopt_len == len,
        "adopt: round trip");
    zpar__frames_close (&f);
    /* malformed: a cut list, an empty one, engine 0 */
    m.adopt_len = len - 1;
    errno = 0;
    ok (zpar__pipe_encode (&m, &f) < 0 && errno == EINVAL, "encode adopt with a cut list: EINVAL");
    m.adopt_len = 0;
    ok (zpar__pipe_encode (&m, &f) < 0 && errno == EINVAL, "encode adopt without a list: EINVAL");
    {
        uint32_t eng = 9;
        const void *parts[] = {"adopt", &eng, list};
        size_t sizes[] = {5, 4, len - 3};
        ok (frames_from (&f, 3, parts, sizes) == 0 && zpar__pipe_decode (&f, &d, &err) < 0 &&
                errno == EPROTO,
            "adopt with a cut list rejected: %s", err.text);
        zpar__frames_close (&f);
        eng = 0;
        sizes[2] = len;
        ok (frames_from (&f, 3, parts, sizes) == 0 && zpar__pipe_decode (&f, &d, &err) < 0 &&
                errno == EPROTO,
            "adopt for engine 0 rejected");
        zpar__frames_close (&f);
    }
    free (list);
}

int main (void)
{
    test_adopt ();
    void *ctx = zmq_ctx_new ();
    plan (NO_PLAN);
    test_roundtrip ();
    test_bytes ();
    test_malformed ();
    test_bad_params ();
    test_requeue_frames ();
    test_sockets (ctx);
    zmq_ctx_term (ctx);
    return done_testing ();
}
