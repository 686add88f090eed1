/* test_proto_registrar.c - the registrar's typed codecs (proto_registrar:
 * registration, unregistration, queries and their replies): round trips,
 * the hub's hand-built bytes, truncations, wrong types, unknown names,
 * required fields (see test_proto.h). */
#include "config.h"

#include "test_proto.h"

/* ---------------------------------------------------------- registrar */

static void test_registrar (void)
{
    zpar_msg_t *m = zpar__msg_create (ZPAR_MSG_NONE);
    zpar_msg_t *old = zpar__msg_create (ZPAR_MSG_REGISTER_ENGINE_REPLY);
    zpar_error_t err;
    zpar_proto_reg_engine_t re = {.h = {.engine = {3}},
                                  .host = "n1",
                                  .pid = 77,
                                  .rank = -1,
                                  .want = {3},
                                  .uuid = "u-1"},
                            dre;
    zpar_proto_reg_engine_reply_t rr = {.h = {.engine = {3}},
                                        .addr = {[ZPAR_ADDR_MUX] = "tcp://a:1",
                                                 [ZPAR_ADDR_TASK] = "tcp://a:2",
                                                 [ZPAR_ADDR_CONTROL] = "tcp://a:3",
                                                 [ZPAR_ADDR_IOPUB] = "tcp://a:4",
                                                 [ZPAR_ADDR_HB_PING] = "tcp://a:5",
                                                 [ZPAR_ADDR_HB_PONG] = "tcp://a:6"},
                                        .hb_period_ms = 500,
                                        .hb_misses = 4,
                                        .scheme = ZPAR_SCHEME_PURE},
                                  drr;
    zpar_proto_reg_client_reply_t cr = {.h = {.client = {12}},
                                        .id = {12},
                                        .addr = {[ZPAR_ADDR_MUX] = "tcp://a:7",
                                                 [ZPAR_ADDR_TASK] = "tcp://a:8",
                                                 [ZPAR_ADDR_CONTROL] = "tcp://a:9",
                                                 [ZPAR_ADDR_IOPUB] = "tcp://a:10",
                                                 [ZPAR_ADDR_NOTIFY] = "tcp://a:11"},
                                        .scheme = ZPAR_SCHEME_LEASTLOAD},
                                  dcr;
    zpar_proto_reg_client_t rc = {.h = H};
    zpar_proto_unregister_t un = {.h = {.engine = {3}}}, dun;
    static const int eng_req[] = {ZPAR_F_ROUTE,        ZPAR_F_ADDR_MUX,   ZPAR_F_ADDR_TASK,
                                  ZPAR_F_ADDR_CONTROL, ZPAR_F_ADDR_IOPUB, ZPAR_F_ADDR_HB_PING,
                                  ZPAR_F_ADDR_HB_PONG};
    static const int cli_req[] = {ZPAR_F_CLIENT_ID,    ZPAR_F_ADDR_MUX,   ZPAR_F_ADDR_TASK,
                                  ZPAR_F_ADDR_CONTROL, ZPAR_F_ADDR_IOPUB, ZPAR_F_ADDR_NOTIFY};

    ok (zpar__proto_reg_engine_encode (m, &re) == 0, "register_engine: encodes");
    check_all ("register_engine", m, re_reg_engine);
    ok (zpar__proto_reg_engine_decode (m, &dre, &err) == 0 && !strcmp (dre.host, "n1") &&
            dre.pid == 77 && dre.rank == -1 && dre.want.v == 3 && !strcmp (dre.uuid, "u-1") &&
            zpar__msg_u64_or (m, ZPAR_F_RANK, 0) == UINT64_MAX,
        "register_engine: decodes; rank -1 is 2^64-1 on the wire");
    zpar__proto_reg_engine_clear (&dre);
    ok (zpar__proto_reg_engine_decode (m, &dre, &err) == 0 && dre.nheld == 0 && dre.held == NULL &&
            zpar__msg_count (m, ZPAR_F_HELD) == 0,
        "register_engine without HELD (an older engine): decodes as no held task");
    zpar__proto_reg_engine_clear (&dre);
    {
        static const zpar_tid_t held[] = {{0x100000001ull}, {0x100000002ull}, {0x700000009ull}};
        static const zpar_tid_t zero[] = {{5}, {0}};
        zpar_proto_reg_engine_t h = re;
        h.held = held;
        h.nheld = 3;
        ok (zpar__proto_reg_engine_encode (m, &h) == 0 && zpar__msg_count (m, ZPAR_F_HELD) == 3,
            "register_engine with 3 held tasks: encodes 3 HELD fields");
        check_all ("register_engine with HELD", m, re_reg_engine);
        ok (zpar__proto_reg_engine_decode (m, &dre, &err) == 0 && dre.nheld == 3 &&
                dre.held[0].v == held[0].v && dre.held[1].v == held[1].v &&
                dre.held[2].v == held[2].v && !strcmp (dre.uuid, "u-1"),
            "register_engine with HELD: decodes the ids in order");
        zpar__proto_reg_engine_clear (&dre);
        h.held = zero;
        h.nheld = 2;
        errno = 0;
        ok (zpar__proto_reg_engine_encode (m, &h) < 0 && errno == EINVAL,
            "register_engine holding task id 0: EINVAL");
        h.held = NULL;
        h.nheld = 1;
        errno = 0;
        ok (zpar__proto_reg_engine_encode (m, &h) < 0 && errno == EINVAL,
            "register_engine with nheld 1 and no array: EINVAL");
        ok (zpar__proto_reg_engine_encode (m, &re) == 0 &&
                zpar__msg_add_u64 (m, ZPAR_F_HELD, 0) == 0 &&
                zpar__proto_reg_engine_decode (m, &dre, &err) < 0 && errno == EPROTO &&
                dre.held == NULL,
            "register_engine with HELD 0 on the wire: malformed");
    }

    ok (zpar__proto_reg_engine_reply_encode (m, &rr) < 0 && errno == EINVAL,
        "register_engine_reply without a route: EINVAL");
    (void)zpar__route_make (zpar__eid (4), &rr.route);
    ok (zpar__proto_reg_engine_reply_encode (m, &rr) < 0 && errno == EINVAL,
        "register_engine_reply with a route for another engine: EINVAL");
    (void)zpar__route_make (zpar__eid (3), &rr.route);
    ok (zpar__proto_reg_engine_reply_encode (m, &rr) == 0, "register_engine_reply: encodes");
    check_all ("register_engine_reply", m, re_reg_engine_reply);
    check_required ("register_engine_reply", m, eng_req, 7);
    ok (zpar__proto_reg_engine_reply_decode (m, &drr, &err) == 0 &&
            memcmp (drr.route.b, rr.route.b, ZPAR_ROUTE_LEN) == 0 &&
            !strcmp (drr.addr[ZPAR_ADDR_HB_PONG], "tcp://a:6") && drr.hb_period_ms == 500 &&
            drr.hb_misses == 4 && drr.scheme == ZPAR_SCHEME_PURE &&
            drr.addr[ZPAR_ADDR_NOTIFY] == NULL,
        "register_engine_reply: decodes");
    zpar__proto_reg_engine_reply_clear (&drr);
    /* the bytes the hub has always built, the route first */
    zpar__msg_add_bytes (old, ZPAR_F_ROUTE, rr.route.b, sizeof (rr.route.b));
    zpar__msg_add_str (old, ZPAR_F_ADDR_MUX, "tcp://a:1");
    zpar__msg_add_str (old, ZPAR_F_ADDR_TASK, "tcp://a:2");
    zpar__msg_add_str (old, ZPAR_F_ADDR_CONTROL, "tcp://a:3");
    zpar__msg_add_str (old, ZPAR_F_ADDR_IOPUB, "tcp://a:4");
    zpar__msg_add_str (old, ZPAR_F_TASK_SCHEME, "pure");
    zpar__msg_add_str (old, ZPAR_F_ADDR_HB_PING, "tcp://a:5");
    zpar__msg_add_str (old, ZPAR_F_ADDR_HB_PONG, "tcp://a:6");
    zpar__msg_add_u64 (old, ZPAR_F_HB_PERIOD_MS, 500);
    zpar__msg_add_u64 (old, ZPAR_F_HB_MISSES, 4);
    ok (m->len == old->len && memcmp (m->body, old->body, m->len) == 0,
        "register_engine_reply: the same body bytes as the hub built by hand");
    ok (zpar__proto_reg_engine_reply_decode (old, &drr, &err) == 0 && drr.ndrop == 0 &&
            drr.drop == NULL,
        "register_engine_reply without DROP (an older hub): decodes as nothing to drop");
    zpar__proto_reg_engine_reply_clear (&drr);
    {
        static const zpar_tid_t drop[] = {{0x100000002ull}, {0x300000004ull}};
        zpar_proto_reg_engine_reply_t d = rr;
        d.drop = drop;
        d.ndrop = 2;
        ok (zpar__proto_reg_engine_reply_encode (m, &d) == 0 &&
                zpar__msg_count (m, ZPAR_F_DROP) == 2,
            "register_engine_reply with 2 tasks to drop: encodes 2 DROP fields");
        check_all ("register_engine_reply with DROP", m, re_reg_engine_reply);
        ok (zpar__proto_reg_engine_reply_decode (m, &drr, &err) == 0 && drr.ndrop == 2 &&
                drr.drop[0].v == drop[0].v && drr.drop[1].v == drop[1].v && drr.hb_misses == 4,
            "register_engine_reply with DROP: decodes the ids in order");
        zpar__proto_reg_engine_reply_clear (&drr);
        d.h.engine.v = 0;
        memset (&d.route, 0, sizeof (d.route));
        d.errnum = EBUSY;
        errno = 0;
        ok (zpar__proto_reg_engine_reply_encode (m, &d) < 0 && errno == EINVAL,
            "register_engine_reply refused with a DROP list: EINVAL");
    }
    /* refused */
    memset (&rr, 0, sizeof (rr));
    rr.errnum = EINVAL;
    rr.error = "registration without an engine uuid";
    ok (zpar__proto_reg_engine_reply_encode (m, &rr) == 0,
        "register_engine_reply refused: encodes");
    check_all ("register_engine_reply refused", m, re_reg_engine_reply);
    ok (zpar__proto_reg_engine_reply_decode (m, &drr, &err) == 0 && drr.h.engine.v == 0 &&
            drr.errnum == EINVAL && !strcmp (drr.error, rr.error),
        "register_engine_reply refused: decodes");
    zpar__proto_reg_engine_reply_clear (&drr);

    ok (zpar__proto_reg_client_encode (m, &rc) == 0 && m->len == 0, "register_client: encodes");
    check_all ("register_client", m, re_reg_client);

    ok (zpar__proto_reg_client_reply_encode (m, &cr) == 0, "register_client_reply: encodes");
    check_all ("register_client_reply", m, re_reg_client_reply);
    check_required ("register_client_reply", m, cli_req, 6);
    ok (zpar__proto_reg_client_reply_decode (m, &dcr, &err) == 0 && dcr.id.v == 12 &&
            dcr.h.client.v == 12 && !strcmp (dcr.addr[ZPAR_ADDR_NOTIFY], "tcp://a:11") &&
            dcr.scheme == ZPAR_SCHEME_LEASTLOAD && dcr.addr[ZPAR_ADDR_HB_PING] == NULL,
        "register_client_reply: decodes");
    zpar__proto_reg_client_reply_clear (&dcr);
    memset (&cr, 0, sizeof (cr));
    cr.errnum = EIO;
    cr.error = "cannot assign a client number";
    ok (zpar__proto_reg_client_reply_encode (m, &cr) == 0 &&
            zpar__proto_reg_client_reply_decode (m, &dcr, &err) == 0 && dcr.errnum == EIO &&
            dcr.id.v == 0,
        "register_client_reply refused: round trip");
    zpar__proto_reg_client_reply_clear (&dcr);

    ok (zpar__proto_unregister_encode (m, &un) == 0, "unregister: encodes");
    check_all ("unregister", m, re_unregister);
    ok (zpar__proto_unregister_decode (m, &dun, &err) == 0 && dun.h.engine.v == 3,
        "unregister: decodes");

    ok (zpar__scheme_name (ZPAR_SCHEME_LEASTLOAD) &&
            !strcmp (zpar__scheme_name (ZPAR_SCHEME_LEASTLOAD), "leastload") &&
            zpar__scheme_name (9) == NULL,
        "scheme names");
    {
        zpar_task_scheme_t s = ZPAR_SCHEME_NONE;
        ok (zpar__scheme_parse ("pure", &s) == 0 && s == ZPAR_SCHEME_PURE, "scheme parse");
        errno = 0;
        ok (zpar__scheme_parse ("fifo", &s) < 0 && errno == EINVAL, "unknown scheme: EINVAL");
    }
    zpar__msg_destroy (old);
    zpar__msg_destroy (m);
}

static void test_query (void)
{
    zpar_msg_t *m = zpar__msg_create (ZPAR_MSG_NONE);
    zpar_msg_t *rec = zpar__msg_create (ZPAR_MSG_NONE);
    zpar_error_t err;
    zpar_proto_query_t q = {.h = H, .kind = ZPAR_QUERY_PURGE, .task = {0x100000001ull}}, dq;
    zpar_proto_engine_info_t engines[] = {
        {.id = {1}, .host = "n1", .pid = 10, .rank = 0, .state = ZPAR_ENGINE_IDLE},
        {.id = {2},
         .host = "n2",
         .pid = 11,
         .rank = -1,
         .state = ZPAR_ENGINE_DEAD,
         .outstanding = 3}};
    zpar_proto_query_reply_t r, dr;
    uint8_t *buf;
    size_t len;
    static const int qreq[] = {ZPAR_F_QUERY};
    zpar_proto_result_t res;

    ok (zpar__proto_query_encode (m, &q) == 0, "query: encodes");
    check_all ("query", m, re_query);
    check_required ("query", m, qreq, 1);
    ok (zpar__proto_query_decode (m, &dq, &err) == 0 && dq.kind == ZPAR_QUERY_PURGE &&
            dq.task.v == 0x100000001ull,
        "query: decodes");
    for (int k = ZPAR_QUERY_ENGINES; k <= ZPAR_QUERY_SHUTDOWN; k++) {
        q.kind = (zpar_query_kind_t)k;
        q.task.v = 0;
        ok (zpar__proto_query_encode (m, &q) == 0 && zpar__proto_query_decode (m, &dq, &err) == 0 &&
                dq.kind == (zpar_query_kind_t)k && zpar__msg_count (m, ZPAR_F_TASK_ID) == 0,
            "query %s: round trip", zpar__query_name ((zpar_query_kind_t)k));
    }

    /* engines */
    memset (&r, 0, sizeof (r));
    r.h = H;
    r.kind = ZPAR_QUERY_ENGINES;
    r.engines = engines;
    r.nengines = 2;
    ok (zpar__proto_query_reply_encode (m, &r) == 0, "query_reply engines: encodes");
    check_all ("query_reply engines", m, re_query_reply);
    ok (zpar__proto_query_reply_decode (m, &dr, &err) == 0 && dr.nengines == 2 &&
            dr.engines[1].id.v == 2 && !strcmp (dr.engines[1].host, "n2") &&
            dr.engines[1].state == ZPAR_ENGINE_DEAD && dr.engines[1].rank == -1 &&
            dr.engines[1].outstanding == 3 && dr.engines[0].state == ZPAR_ENGINE_IDLE,
        "query_reply engines: decodes");
    zpar__proto_query_reply_clear (&dr);
    /* a bad engine record inside */
    zpar__msg_reset (rec, ZPAR_MSG_NOTIFY);
    zpar__msg_add_str (rec, ZPAR_F_STATE, "sleeping");
    zpar__msg_pack (rec, &buf, &len);
    zpar__msg_reset (m, ZPAR_MSG_QUERY_REPLY);
    zpar__msg_add_str (m, ZPAR_F_QUERY, "engines");
    zpar__msg_add_bytes (m, ZPAR_F_RECORD, buf, len);
    ok (rejected (m), "query_reply engines: an unknown engine state is malformed");
    zpar__msg_reset (m, ZPAR_MSG_QUERY_REPLY);
    zpar__msg_add_str (m, ZPAR_F_QUERY, "engines");
    zpar__msg_add_bytes (m, ZPAR_F_RECORD, buf, len - 1);
    ok (rejected (m), "query_reply engines: a truncated engine record is malformed");
    free (buf);
    zpar__msg_reset (rec, ZPAR_MSG_RESULT);
    zpar__msg_pack (rec, &buf, &len);
    zpar__msg_reset (m, ZPAR_MSG_QUERY_REPLY);
    zpar__msg_add_str (m, ZPAR_F_QUERY, "engines");
    zpar__msg_add_bytes (m, ZPAR_F_RECORD, buf, len);
    ok (rejected (m), "query_reply engines: a record of another type is malformed");
    free (buf);

    /* status */
    memset (&r, 0, sizeof (r));
    r.kind = ZPAR_QUERY_STATUS;
    r.pending = 1;
    r.running = 2;
    r.completed = 3;
    r.failed = 4;
    r.dropped = 5;
    ok (zpar__proto_query_reply_encode (m, &r) == 0, "query_reply status: encodes");
    check_all ("query_reply status", m, re_query_reply);
    ok (zpar__proto_query_reply_decode (m, &dr, &err) == 0 && dr.pending == 1 && dr.running == 2 &&
            dr.completed == 3 && dr.failed == 4 && dr.dropped == 5,
        "query_reply status: decodes");
    ok (dr.records_since_us == 0 && dr.records_error == NULL,
        "query_reply status: records saved: no RECORDS_* fields");
    zpar__proto_query_reply_clear (&dr);
    /* status while the records are not being saved */
    r.records_since_us = 1700000000000000ull;
    r.records_unsaved = 2200;
    r.records_bytes = 1 << 20;
    r.records_limit = 256 << 20;
    r.records_refusing = 1;
    r.records_error = "database or disk is full";
    ok (zpar__proto_query_reply_encode (m, &r) == 0,
        "query_reply status, records unsaved: encodes");
    check_all ("query_reply status, records unsaved", m, re_query_reply);
    ok (zpar__proto_query_reply_decode (m, &dr, &err) == 0 &&
            dr.records_since_us == 1700000000000000ull && dr.records_unsaved == 2200 &&
            dr.records_bytes == 1 << 20 && dr.records_limit == 256 << 20 &&
            dr.records_refusing == 1 && dr.records_error &&
            !strcmp (dr.records_error, "database or disk is full") && dr.completed == 3,
        "query_reply status, records unsaved: decodes");
    zpar__proto_query_reply_clear (&dr);
    zpar__msg_reset (m, ZPAR_MSG_QUERY_REPLY);
    zpar__msg_add_str (m, ZPAR_F_QUERY, "status");
    zpar__msg_add_u64 (m, ZPAR_F_RECORDS_REFUSING, 2);
    ok (rejected (m), "query_reply status: RECORDS_REFUSING 2 is malformed");
    memset (&r, 0, sizeof (r));

    /* result: a packed result inside */
    zpar__proto_result_error (&res, zpar__tid (0x100000001ull), zpar__eid (1), zpar__cid (1),
                              ZPAR_STATUS_ABORTED, "aborted before it ran");
    zpar__proto_result_encode (rec, &res);
    zpar__msg_pack (rec, &buf, &len);
    memset (&r, 0, sizeof (r));
    r.kind = ZPAR_QUERY_RESULT;
    r.task.v = 0x100000001ull;
    r.state = ZPAR_TASK_STATE_DONE;
    r.record = buf;
    r.record_len = len;
    ok (zpar__proto_query_reply_encode (m, &r) == 0, "query_reply result: encodes");
    check_all ("query_reply result", m, re_query_reply);
    ok (zpar__proto_query_reply_decode (m, &dr, &err) == 0 && dr.state == ZPAR_TASK_STATE_DONE &&
            dr.task.v == 0x100000001ull && dr.record_len == len &&
            memcmp (dr.record, buf, len) == 0,
        "query_reply result: decodes, record borrowed");
    zpar__proto_query_reply_clear (&dr);
    free (buf);

    /* purge, shutdown, an error */
    memset (&r, 0, sizeof (r));
    r.kind = ZPAR_QUERY_PURGE;
    r.count = 17;
    ok (zpar__proto_query_reply_encode (m, &r) == 0, "query_reply purge: encodes");
    check_all ("query_reply purge", m, re_query_reply);
    r.kind = ZPAR_QUERY_SHUTDOWN;
    ok (zpar__proto_query_reply_encode (m, &r) == 0 && zpar__msg_count (m, ZPAR_F_COUNT) == 0,
        "query_reply shutdown: encodes (no fields but QUERY)");
    check_all ("query_reply shutdown", m, re_query_reply);
    memset (&r, 0, sizeof (r));
    r.kind = ZPAR_QUERY_RESULT;
    r.task.v = 0x100000009ull;
    r.errnum = ENOENT;
    r.error = "no such task";
    ok (zpar__proto_query_reply_encode (m, &r) == 0, "query_reply error: encodes");
    check_all ("query_reply error", m, re_query_reply);
    ok (zpar__proto_query_reply_decode (m, &dr, &err) == 0 && dr.errnum == ENOENT &&
            !strcmp (dr.error, "no such task") && dr.state == ZPAR_TASK_STATE_NONE,
        "query_reply error: decodes");
    zpar__proto_query_reply_clear (&dr);
    memset (&r, 0, sizeof (r));
    r.errnum = EINVAL;
    r.error = "unknown query";
    ok (zpar__proto_query_reply_encode (m, &r) == 0 &&
            zpar__proto_query_reply_decode (m, &dr, &err) == 0 && dr.kind == ZPAR_QUERY_NONE &&
            dr.errnum == EINVAL,
        "query_reply without QUERY (an error) round trips");
    zpar__proto_query_reply_clear (&dr);
    zpar__msg_destroy (rec);
    zpar__msg_destroy (m);
}

/* RESUBMIT and SYNC (C5): round trips, strict decoding, bad parameters. */
static void test_resubmit_sync (void)
{
    zpar_msg_t *m = zpar__msg_create (ZPAR_MSG_NONE);
    static const zpar_tid_t ids[] = {{5}, {0x100000002ull}, {9}};
    const char req[] = "a packed request, header and body, at least 48 bytes long";
    zpar_proto_query_t q = {.kind = ZPAR_QUERY_RESUBMIT,
                            .task = {5},
                            .record = req,
                            .record_len = sizeof (req)},
                       dq;
    zpar_proto_query_reply_t rep = {0}, drep;
    zpar_proto_mem_t mem = {0};
    const zpar_tid_t *got;
    size_t n = 0;
    zpar_error_t err;

    ok (zpar__proto_query_encode (m, &q) == 0 && zpar__proto_query_decode (m, &dq, &err) == 0 &&
            dq.kind == ZPAR_QUERY_RESUBMIT && dq.task.v == 5 && dq.record_len == sizeof (req) &&
            !memcmp (dq.record, req, sizeof (req)),
        "resubmit: round trip (task id and request)");
    zpar__msg_reset (m, ZPAR_MSG_QUERY);
    zpar__msg_add_str (m, ZPAR_F_QUERY, "resubmit");
    zpar__msg_add_u64 (m, ZPAR_F_TASK_ID, 5);
    ok (zpar__proto_query_decode (m, &dq, &err) < 0 && errno == EPROTO,
        "resubmit without its request: malformed (%s)", err.text);
    errno = 0;
    q.record = NULL;
    q.record_len = 0;
    ok (zpar__proto_query_encode (m, &q) < 0 && errno == EINVAL, "encode resubmit without request");
    q = (zpar_proto_query_t){.kind = ZPAR_QUERY_SYNC, .ids = ids, .nids = 3};
    ok (zpar__proto_query_encode (m, &q) == 0 && zpar__proto_query_decode (m, &dq, &err) == 0 &&
            dq.kind == ZPAR_QUERY_SYNC && dq.task.v == 5 &&
            zpar__proto_query_ids (m, &mem, &got, &n, &err) == 0 && n == 3 &&
            got[1].v == 0x100000002ull && got[2].v == 9,
        "sync: round trip (three ids, in order)");
    zpar__proto_mem_free (&mem);
    q.nids = 0;
    ok (zpar__proto_query_encode (m, &q) < 0 && errno == EINVAL, "encode sync without ids");
    {
        static const zpar_tid_t zero[] = {{3}, {0}};
        q.ids = zero;
        q.nids = 2;
        ok (zpar__proto_query_encode (m, &q) < 0 && errno == EINVAL, "encode sync with id 0");
    }
    zpar__msg_reset (m, ZPAR_MSG_QUERY);
    zpar__msg_add_str (m, ZPAR_F_QUERY, "sync");
    ok (zpar__proto_query_decode (m, &dq, &err) < 0 && errno == EPROTO,
        "sync without ids: malformed (%s)", err.text);
    zpar__msg_add_u64 (m, ZPAR_F_TASK_ID, 0);
    ok (zpar__proto_query_decode (m, &dq, &err) < 0 && errno == EPROTO,
        "sync with id 0: malformed (%s)", err.text);

    rep.kind = ZPAR_QUERY_SYNC;
    rep.count = 2;
    rep.ids = ids + 2;
    rep.nids = 1;
    ok (zpar__proto_query_reply_encode (m, &rep) == 0 &&
            zpar__proto_query_reply_decode (m, &drep, &err) == 0 && drep.kind == ZPAR_QUERY_SYNC &&
            drep.count == 2 && drep.nids == 1 && drep.ids[0].v == 9,
        "sync reply: round trip (count, unknown ids)");
    zpar__proto_query_reply_clear (&drep);
    rep = (zpar_proto_query_reply_t){
        .kind = ZPAR_QUERY_RESUBMIT, .task = {5}, .count = 0, .state = ZPAR_TASK_STATE_RUNNING};
    ok (zpar__proto_query_reply_encode (m, &rep) == 0 &&
            zpar__proto_query_reply_decode (m, &drep, &err) == 0 &&
            drep.kind == ZPAR_QUERY_RESUBMIT && drep.task.v == 5 && drep.count == 0 &&
            drep.state == ZPAR_TASK_STATE_RUNNING,
        "resubmit reply: round trip (known, running)");
    zpar__proto_query_reply_clear (&drep);
    rep = (zpar_proto_query_reply_t){.kind = ZPAR_QUERY_STATUS, .duplicates = 17};
    ok (zpar__proto_query_reply_encode (m, &rep) == 0 &&
            zpar__proto_query_reply_decode (m, &drep, &err) == 0 && drep.duplicates == 17,
        "status reply: duplicates round trip");
    zpar__proto_query_reply_clear (&drep);
    ok (zpar__proto_query_ids (NULL, &mem, &got, &n, &err) < 0 && errno == EINVAL,
        "query_ids NULL: EINVAL");
    ok (!strcmp (zpar__query_name (ZPAR_QUERY_RESUBMIT), "resubmit") &&
            !strcmp (zpar__query_name (ZPAR_QUERY_SYNC), "sync"),
        "query names");
    zpar__msg_destroy (m);
}

int main (void)
{
    test_resubmit_sync ();
    test_registrar ();
    test_query ();
    return done_testing ();
}
