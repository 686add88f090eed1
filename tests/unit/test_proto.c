/* test_proto.c - the typed codecs of tasks, results, control and IOPub
 * messages (proto_task, proto_result, proto_control, proto_iopub), the
 * typed ids, and the bad-parameter table of every codec; the registrar's
 * codecs are in test_proto_registrar.c.  Each message kind round trips
 * (struct -> wire bytes -> struct -> the same bytes), the bytes are those
 * the hand-written encoders produced, every truncation inside a field and
 * every field of the wrong type, length or range is rejected with EPROTO,
 * unknown names are rejected, and bad parameters give EINVAL. */
#include "config.h"

#include "test_proto.h"

/* -------------------------------------------------------------- tasks */

static void test_task (void)
{
    const char *argv[] = {"echo", "hello world", NULL};
    const char *env[] = {"A=1", "B=", NULL};
    zpar_tid_t after[] = {{0x300000001ull}, {0x200000009ull}};
    zpar_eid_t targets[] = {{1}, {4}, {UINT32_MAX}};
    zpar_proto_task_t t = {.h = H,
                           .kind = ZPAR_TASK_COMMAND,
                           .argv = argv,
                           .argc = 2,
                           .env = env,
                           .envc = 2,
                           .cwd = "/tmp",
                           .timeout_ms = 1500,
                           .retries = 2,
                           .after = after,
                           .nafter = 2,
                           .targets = targets,
                           .ntargets = 3,
                           .priority = -5,
                           .attempt = 2,
                           .output_cap = 4096,
                           .all_engines = 1,
                           .stop_signal = 10,
                           .stop_grace_ms = 60000};
    zpar_proto_task_t d;
    zpar_msg_t *m = zpar__msg_create (ZPAR_MSG_NONE);
    zpar_msg_t *old = zpar__msg_create (ZPAR_MSG_TASK);
    zpar_error_t err;
    static const int req[] = {ZPAR_F_KIND};

    ok (zpar__proto_task_encode (m, &t) == 0, "task: encodes");
    check_all ("task", m, re_task);
    check_required ("task", m, req, 1);
    ok (zpar__proto_task_decode (m, &d, &err) == 0, "task: decodes");
    ok (d.h.task.v == H.task.v && d.h.engine.v == 5 && d.h.client.v == 3 && d.h.flags == 2,
        "task: header ids");
    ok (d.kind == ZPAR_TASK_COMMAND && d.argc == 2 && !strcmp (d.argv[1], "hello world") &&
            d.argv[2] == NULL,
        "task: argv (NULL-terminated)");
    ok (d.envc == 2 && !strcmp (d.env[1], "B=") && d.env[2] == NULL, "task: env");
    ok (d.cwd && !strcmp (d.cwd, "/tmp") && d.timeout_ms == 1500 && d.retries == 2,
        "task: cwd, timeout, retries");
    ok (d.nafter == 2 && d.after[1].v == 0x200000009ull, "task: after");
    ok (d.ntargets == 3 && d.targets[2].v == UINT32_MAX, "task: targets");
    ok (d.priority == -5 && d.attempt == 2 && d.output_cap == 4096 && d.all_engines == 1,
        "task: priority, attempt, output cap, all engines");
    ok (d.lib == NULL && d.input == NULL && d.inline_fn == 0, "task: no function fields");
    ok (d.stop_signal == 10 && d.stop_grace_ms == 60000, "task: stop signal and grace");
    zpar__proto_task_clear (&d);

    /* a function task */
    memset (&t, 0, sizeof (t));
    t.h = H;
    t.kind = ZPAR_TASK_FUNCTION;
    t.lib = "libx.so";
    t.symbol = "fn";
    t.input = "\0\1\2";
    t.input_len = 3;
    t.inline_fn = 1;
    ok (zpar__proto_task_encode (m, &t) == 0, "function task: encodes");
    check_all ("function task", m, re_task);
    ok (zpar__proto_task_decode (m, &d, &err) == 0 && d.kind == ZPAR_TASK_FUNCTION &&
            !strcmp (d.lib, "libx.so") && !strcmp (d.symbol, "fn") && d.input_len == 3 &&
            memcmp (d.input, "\0\1\2", 3) == 0 && d.inline_fn == 1 && d.argc == 0,
        "function task: decodes");
    ok (d.input == zpar__msg_get_bytes (m, ZPAR_F_INPUT, NULL), "input is borrowed from m");
    zpar__proto_task_clear (&d);

    /* an empty function input is still sent */
    t.input = NULL;
    t.input_len = 0;
    ok (zpar__proto_task_encode (m, &t) == 0 && zpar__msg_count (m, ZPAR_F_INPUT) == 1,
        "function task: empty input sent");

    /* the bytes zpar_task_t has always built */
    zpar__msg_add_u64 (old, ZPAR_F_KIND, ZPAR_TASK_COMMAND);
    zpar__msg_add_str (old, ZPAR_F_ARGV, "true");
    zpar__msg_add_str (old, ZPAR_F_ENV, "X=y");
    zpar__msg_add_u64 (old, ZPAR_F_TIMEOUT_MS, 2000);
    zpar__msg_add_u64 (old, ZPAR_F_TARGET, 7);
    memset (&t, 0, sizeof (t));
    t.kind = ZPAR_TASK_COMMAND;
    t.argv = (const char *[]){"true"};
    t.argc = 1;
    t.env = (const char *[]){"X=y"};
    t.envc = 1;
    t.timeout_ms = 2000;
    t.targets = (zpar_eid_t[]){{7}};
    t.ntargets = 1;
    ok (zpar__proto_task_encode (m, &t) == 0 && m->len == old->len &&
            memcmp (m->body, old->body, m->len) == 0,
        "task: the same body bytes as the hand-built request");
    zpar__msg_destroy (old);
    zpar__msg_destroy (m);
}

/* ------------------------------------------------------------ results */

static void test_result (void)
{
    zpar_proto_result_t r = {.h = H,
                             .status = ZPAR_STATUS_FAILED,
                             .exit_code = 3,
                             .ran = 1,
                             .signal = 0,
                             .wall_us = 1000,
                             .utime_us = 200,
                             .stime_us = 100,
                             .maxrss_kb = 4096,
                             .started_us = 1700000000000000ull,
                             .finished_us = 1700000000001000ull,
                             .pid = 4242,
                             .host = "node1",
                             .stdout_buf = "out\n",
                             .stdout_len = 4,
                             .stderr_buf = "err\n",
                             .stderr_len = 4,
                             .output = "\0x",
                             .output_len = 2,
                             .truncated = 3,
                             .error = "exit status 3",
                             .attempt = 2,
                             .submitted_us = 1699999999999999ull,
                             .errnum = 0};
    zpar_proto_result_t d;
    zpar_msg_t *m = zpar__msg_create (ZPAR_MSG_NONE);
    zpar_msg_t *old = zpar__msg_create (ZPAR_MSG_RESULT);
    zpar_error_t err;
    static const int req[] = {ZPAR_F_STATUS};

    ok (zpar__proto_result_encode (m, &r) == 0, "result: encodes");
    check_all ("result", m, re_result);
    check_required ("result", m, req, 1);
    ok (zpar__proto_result_decode (m, &d, &err) == 0, "result: decodes");
    ok (d.status == ZPAR_STATUS_FAILED && d.exit_code == 3 && d.ran && d.pid == 4242 &&
            d.wall_us == 1000 && d.maxrss_kb == 4096 && d.finished_us == 1700000000001000ull,
        "result: numbers");
    ok (!strcmp (d.host, "node1") && !strcmp (d.error, "exit status 3") && d.stdout_len == 4 &&
            !memcmp (d.stdout_buf, "out\n", 4) && d.stderr_len == 4 && d.output_len == 2 &&
            d.truncated == 3 && d.attempt == 2,
        "result: strings and bytes");
    zpar__proto_result_clear (&d);

    /* the error result: what taskq, hub, relay, client and engine built */
    ok (zpar__proto_result_encode_error (m, zpar__tid (0x100000002ull), zpar__eid (4),
                                         zpar__cid (1), ZPAR_STATUS_ENGINE_DIED,
                                         "engine 4 died while running this task") == 0,
        "error result: encodes");
    check_all ("error result", m, re_result);
    old->hdr.task = 0x100000002ull;
    zpar__msg_add_u64 (old, ZPAR_F_STATUS, ZPAR_STATUS_ENGINE_DIED);
    zpar__msg_add_u64 (old, ZPAR_F_EXIT, (uint64_t)-1);
    zpar__msg_add_str (old, ZPAR_F_ERROR, "engine 4 died while running this task");
    ok (m->len == old->len && memcmp (m->body, old->body, m->len) == 0 && m->hdr.engine == 4 &&
            m->hdr.client == 1 && m->hdr.task == 0x100000002ull,
        "error result: the same bytes as the hub built by hand");
    ok (zpar__proto_result_decode (m, &d, &err) == 0 && d.exit_code == -1 && !d.ran &&
            d.status == ZPAR_STATUS_ENGINE_DIED,
        "error result: no exit status, did not run");
    zpar__proto_result_clear (&d);
    zpar__proto_result_error (&r, zpar__tid (9), zpar__eid (2), zpar__cid (0), ZPAR_STATUS_ERROR,
                              "engine 2 is not connected");
    r.errnum = EHOSTUNREACH;
    r.attempt = 1;
    ok (zpar__proto_result_encode (m, &r) == 0 &&
            zpar__msg_u64_or (m, ZPAR_F_ERRNO, 0) == EHOSTUNREACH &&
            zpar__msg_u64_or (m, ZPAR_F_ATTEMPT, 0) == 1,
        "error result with errno and attempt");

    /* the bytes the engine has always built for a run task */
    zpar__msg_reset (old, ZPAR_MSG_RESULT);
    zpar__msg_add_u64 (old, ZPAR_F_STATUS, ZPAR_STATUS_OK);
    zpar__msg_add_str (old, ZPAR_F_HOST, "h");
    zpar__msg_add_u64 (old, ZPAR_F_ATTEMPT, 1);
    zpar__msg_add_u64 (old, ZPAR_F_EXIT, 0);
    zpar__msg_add_u64 (old, ZPAR_F_SIGNAL, 0);
    zpar__msg_add_u64 (old, ZPAR_F_WALL_US, 10);
    zpar__msg_add_u64 (old, ZPAR_F_UTIME_US, 1);
    zpar__msg_add_u64 (old, ZPAR_F_STIME_US, 2);
    zpar__msg_add_u64 (old, ZPAR_F_MAXRSS_KB, 3);
    zpar__msg_add_u64 (old, ZPAR_F_STARTED_US, 4);
    zpar__msg_add_u64 (old, ZPAR_F_FINISHED_US, 14);
    zpar__msg_add_u64 (old, ZPAR_F_PID, 99);
    zpar__msg_add_bytes (old, ZPAR_F_STDOUT, "hi\n", 3);
    memset (&r, 0, sizeof (r));
    r.status = ZPAR_STATUS_OK;
    r.host = "h";
    r.attempt = 1;
    r.ran = 1;
    r.wall_us = 10;
    r.utime_us = 1;
    r.stime_us = 2;
    r.maxrss_kb = 3;
    r.started_us = 4;
    r.finished_us = 14;
    r.pid = 99;
    r.stdout_buf = "hi\n";
    r.stdout_len = 3;
    ok (zpar__proto_result_encode (m, &r) == 0 && m->len == old->len &&
            memcmp (m->body, old->body, m->len) == 0,
        "result: the same body bytes as the engine built by hand");
    zpar__msg_destroy (old);
    zpar__msg_destroy (m);
}

/* ------------------------------------------------------------ control */

static void test_control (void)
{
    zpar_msg_t *m = zpar__msg_create (ZPAR_MSG_NONE);
    zpar_proto_control_t c = {.h = H, .op = ZPAR_CONTROL_ABORT}, dc;
    zpar_proto_control_reply_t r = {.h = H,
                                    .count = 1,
                                    .engine = {6},
                                    .errnum = EHOSTUNREACH,
                                    .error = "not connected"},
                               dr;
    zpar_error_t err;
    const zpar_control_op_t ops[] = {ZPAR_CONTROL_ABORT, ZPAR_CONTROL_INTERRUPT,
                                     ZPAR_CONTROL_SHUTDOWN};

    for (size_t i = 0; i < 3; i++) {
        c.op = ops[i];
        ok (zpar__proto_control_encode (m, &c) == 0 && m->len == 0 &&
                m->hdr.type == (uint16_t)ops[i],
            "%s: encodes (header only)", zpar__msg_type_name (ops[i]));
        check_all (zpar__msg_type_name (ops[i]), m, re_control);
        ok (zpar__proto_control_decode (m, &dc, &err) == 0 && dc.op == ops[i] &&
                dc.h.task.v == H.task.v,
            "%s: decodes", zpar__msg_type_name (ops[i]));
    }
    /* INTERRUPT of one task only */
    c.op = ZPAR_CONTROL_INTERRUPT;
    c.only_task = H.task.v;
    ok (zpar__proto_control_encode (m, &c) == 0 && m->len > 0, "interrupt of one task: encodes");
    check_all ("interrupt of one task", m, re_control);
    ok (zpar__proto_control_decode (m, &dc, &err) == 0 && dc.only_task == H.task.v,
        "interrupt of one task: decodes with its task");
    c.op = ZPAR_CONTROL_ABORT;
    errno = 0;
    ok (zpar__proto_control_encode (m, &c) < 0 && errno == EINVAL, "only_task on an abort: EINVAL");
    c.only_task = 0;
    ok (zpar__proto_control_encode (m, &c) == 0 && zpar__proto_control_decode (m, &dc, &err) == 0 &&
            dc.only_task == 0,
        "abort: no only_task");
    ok (zpar__proto_control_reply_encode (m, &r) == 0, "control_reply: encodes");
    check_all ("control_reply", m, re_control_reply);
    ok (zpar__proto_control_reply_decode (m, &dr, &err) == 0 && dr.count == 1 && dr.engine.v == 6 &&
            dr.errnum == EHOSTUNREACH && !strcmp (dr.error, "not connected"),
        "control_reply: decodes");
    zpar__proto_control_reply_clear (&dr);
    /* a relay's "engine unreachable" control reply has no COUNT */
    zpar__msg_reset (m, ZPAR_MSG_CONTROL_REPLY);
    zpar__msg_add_u64 (m, ZPAR_F_STATUS, ZPAR_STATUS_ERROR);
    zpar__msg_add_str (m, ZPAR_F_ERROR, "x");
    ok (zpar__proto_control_reply_decode (m, &dr, &err) == 0 && dr.count == 0,
        "control_reply without COUNT decodes as 0");
    zpar__proto_control_reply_clear (&dr);
    zpar__msg_destroy (m);
}

/* -------------------------------------------------------------- iopub */

static void test_iopub (void)
{
    zpar_msg_t *m = zpar__msg_create (ZPAR_MSG_NONE);
    zpar_error_t err;
    zpar_proto_stream_t s = {.h = H, .stream = ZPAR_STREAM_STDERR, .data = "abc", .len = 3}, ds;
    zpar_proto_task_status_t ts = {.h = H,
                                   .event = ZPAR_TASK_EVENT_FINISHED,
                                   .status = ZPAR_STATUS_TIMEOUT},
                             dts;
    zpar_proto_notify_t n = {.h = {.engine = {4}}, .event = ZPAR_NOTIFY_DIED}, dn;
    static const int sreq[] = {ZPAR_F_STREAM, ZPAR_F_DATA};
    static const int treq[] = {ZPAR_F_EVENT};
    char topic[8];

    ok (zpar__proto_stream_encode (m, &s) == 0, "stream: encodes");
    ok (m->nenv == 1 && m->env[0].len == 5 && memcmp (m->env[0].data, "c3.e5", 5) == 0,
        "stream: topic c<client>.e<engine>");
    check_all ("stream", m, re_stream);
    check_required ("stream", m, sreq, 2);
    ok (zpar__proto_stream_decode (m, &ds, &err) == 0 && ds.stream == ZPAR_STREAM_STDERR &&
            ds.len == 3 && !memcmp (ds.data, "abc", 3) && !ds.has_offset,
        "stream: decodes (no offset: has_offset 0)");
    s.offset = 1ull << 40;
    s.has_offset = 1;
    ok (zpar__proto_stream_encode (m, &s) == 0 && zpar__proto_stream_decode (m, &ds, &err) == 0 &&
            ds.has_offset && ds.offset == 1ull << 40 && ds.len == 3,
        "stream: the offset goes through");
    check_all ("stream with offset", m, re_stream);
    s.has_offset = 0;

    ok (zpar__proto_task_status_encode (m, &ts) == 0 && m->nenv == 1, "task_status: encodes");
    check_all ("task_status", m, re_task_status);
    check_required ("task_status", m, treq, 1);
    ok (zpar__proto_task_status_decode (m, &dts, &err) == 0 &&
            dts.event == ZPAR_TASK_EVENT_FINISHED && dts.status == ZPAR_STATUS_TIMEOUT,
        "task_status: decodes");
    ts.event = ZPAR_TASK_EVENT_STARTED;
    ts.status = 0;
    ok (zpar__proto_task_status_encode (m, &ts) == 0 && zpar__msg_count (m, ZPAR_F_STATUS) == 0 &&
            zpar__proto_task_status_decode (m, &dts, &err) == 0 && dts.status == 0,
        "task_status started: no status");

    ok (zpar__proto_notify_encode (m, &n) == 0 && m->nenv == 1 &&
            memcmp (m->env[0].data, "notify", 6) == 0,
        "notify: encodes with topic notify");
    check_all ("notify", m, re_notify);
    check_required ("notify", m, treq, 1);
    for (int e = ZPAR_NOTIFY_REGISTERED; e <= ZPAR_NOTIFY_SHUTDOWN; e++) {
        n.event = (zpar_notify_event_t)e;
        ok (zpar__proto_notify_encode (m, &n) == 0 &&
                zpar__proto_notify_decode (m, &dn, &err) == 0 &&
                dn.event == (zpar_notify_event_t)e && dn.h.engine.v == 4,
            "notify %s: round trip", zpar__notify_event_name ((zpar_notify_event_t)e));
    }
    errno = 0;
    ok (zpar__proto_iopub_topic (topic, sizeof (topic), zpar__cid (123), zpar__eid (4567)) < 0 &&
            errno == ENOSPC,
        "topic that does not fit: ENOSPC");
    zpar__msg_destroy (m);
}

/* ------------------------------------------------------------- params */

static void test_params (void)
{
    zpar_msg_t *m = zpar__msg_create (ZPAR_MSG_TASK);
    zpar_error_t err;
    zpar_proto_task_t t = {.kind = ZPAR_TASK_COMMAND};
    zpar_proto_result_t r = {.status = ZPAR_STATUS_OK};
    zpar_proto_control_t c = {.op = ZPAR_CONTROL_ABORT};
    zpar_proto_control_reply_t cr = {.h.flags = 0};
    zpar_proto_reg_engine_t re = {.h.flags = 0};
    zpar_proto_reg_engine_reply_t rr = {.h.flags = 0};
    zpar_proto_reg_client_t rc = {.h.flags = 0};
    zpar_proto_reg_client_reply_t ccr = {.errnum = EIO};
    zpar_proto_unregister_t un = {.h.flags = 0};
    zpar_proto_query_t q = {.kind = ZPAR_QUERY_STATUS};
    zpar_proto_query_reply_t qr = {.h.flags = 0};
    zpar_proto_stream_t s = {.stream = ZPAR_STREAM_STDOUT};
    zpar_proto_task_status_t ts = {.event = ZPAR_TASK_EVENT_STARTED};
    zpar_proto_notify_t n = {.event = ZPAR_NOTIFY_SHUTDOWN};
    struct {
        const char *name;
        int rc;
    } enc[] = {
        {"task_encode (NULL, t)", zpar__proto_task_encode (NULL, &t)},
        {"task_encode (m, NULL)", zpar__proto_task_encode (m, NULL)},
        {"task_encode kind 0", zpar__proto_task_encode (m, &(zpar_proto_task_t){.kind = 0})},
        {"task_encode argc without argv",
         zpar__proto_task_encode (m, &(zpar_proto_task_t){.kind = 1, .argc = 1})},
        {"task_encode NULL argv[0]",
         zpar__proto_task_encode (
             m, &(zpar_proto_task_t){.kind = 1, .argc = 1, .argv = (const char *[]){NULL}})},
        {"task_encode input_len without input",
         zpar__proto_task_encode (m, &(zpar_proto_task_t){.kind = 2, .input_len = 1})},
        {"result_encode (NULL, r)", zpar__proto_result_encode (NULL, &r)},
        {"result_encode (m, NULL)", zpar__proto_result_encode (m, NULL)},
        {"result_encode status 0",
         zpar__proto_result_encode (m, &(zpar_proto_result_t){.h.flags = 0})},
        {"result_encode status 9",
         zpar__proto_result_encode (m, &(zpar_proto_result_t){.status = 9})},
        {"result_encode stdout_len without data",
         zpar__proto_result_encode (m, &(zpar_proto_result_t){.status = 1, .stdout_len = 2})},
        {"result_encode_error (NULL...)",
         zpar__proto_result_encode_error (NULL, zpar__tid (1), zpar__eid (1), zpar__cid (1),
                                          ZPAR_STATUS_ERROR, "x")},
        {"control_encode (NULL, c)", zpar__proto_control_encode (NULL, &c)},
        {"control_encode (m, NULL)", zpar__proto_control_encode (m, NULL)},
        {"control_encode op 0",
         zpar__proto_control_encode (m, &(zpar_proto_control_t){.h.flags = 0})},
        {"control_reply_encode (NULL, r)", zpar__proto_control_reply_encode (NULL, &cr)},
        {"control_reply_encode (m, NULL)", zpar__proto_control_reply_encode (m, NULL)},
        {"reg_engine_encode (NULL, r)", zpar__proto_reg_engine_encode (NULL, &re)},
        {"reg_engine_encode (m, NULL)", zpar__proto_reg_engine_encode (m, NULL)},
        {"reg_engine_encode rank -2",
         zpar__proto_reg_engine_encode (m, &(zpar_proto_reg_engine_t){.rank = -2})},
        {"reg_engine_reply_encode (NULL, r)", zpar__proto_reg_engine_reply_encode (NULL, &rr)},
        {"reg_engine_reply_encode (m, NULL)", zpar__proto_reg_engine_reply_encode (m, NULL)},
        {"reg_engine_reply_encode accepted without addresses",
         zpar__proto_reg_engine_reply_encode (
             m, &(zpar_proto_reg_engine_reply_t){.h = {.engine = {1}}})},
        {"reg_engine_reply_encode scheme 7",
         zpar__proto_reg_engine_reply_encode (m, &(zpar_proto_reg_engine_reply_t){.scheme = 7})},
        {"reg_client_encode (NULL, r)", zpar__proto_reg_client_encode (NULL, &rc)},
        {"reg_client_encode (m, NULL)", zpar__proto_reg_client_encode (m, NULL)},
        {"reg_client_reply_encode (NULL, r)", zpar__proto_reg_client_reply_encode (NULL, &ccr)},
        {"reg_client_reply_encode (m, NULL)", zpar__proto_reg_client_reply_encode (m, NULL)},
        {"reg_client_reply_encode accepted without id",
         zpar__proto_reg_client_reply_encode (m, &(zpar_proto_reg_client_reply_t){.h.flags = 0})},
        {"unregister_encode (NULL, u)", zpar__proto_unregister_encode (NULL, &un)},
        {"unregister_encode (m, NULL)", zpar__proto_unregister_encode (m, NULL)},
        {"query_encode (NULL, q)", zpar__proto_query_encode (NULL, &q)},
        {"query_encode (m, NULL)", zpar__proto_query_encode (m, NULL)},
        {"query_encode kind 0", zpar__proto_query_encode (m, &(zpar_proto_query_t){.h.flags = 0})},
        {"query_encode kind 99", zpar__proto_query_encode (m, &(zpar_proto_query_t){.kind = 99})},
        {"query_reply_encode (NULL, r)", zpar__proto_query_reply_encode (NULL, &qr)},
        {"query_reply_encode (m, NULL)", zpar__proto_query_reply_encode (m, NULL)},
        {"query_reply_encode nengines without engines",
         zpar__proto_query_reply_encode (
             m, &(zpar_proto_query_reply_t){.kind = ZPAR_QUERY_ENGINES, .nengines = 1})},
        {"query_reply_encode state 9",
         zpar__proto_query_reply_encode (m, &(zpar_proto_query_reply_t){.state = 9})},
        {"stream_encode (NULL, s)", zpar__proto_stream_encode (NULL, &s)},
        {"stream_encode (m, NULL)", zpar__proto_stream_encode (m, NULL)},
        {"stream_encode stream 0",
         zpar__proto_stream_encode (m, &(zpar_proto_stream_t){.h.flags = 0})},
        {"task_status_encode (NULL, s)", zpar__proto_task_status_encode (NULL, &ts)},
        {"task_status_encode (m, NULL)", zpar__proto_task_status_encode (m, NULL)},
        {"task_status_encode event 0",
         zpar__proto_task_status_encode (m, &(zpar_proto_task_status_t){.h.flags = 0})},
        {"task_status_encode status 42",
         zpar__proto_task_status_encode (m, &(zpar_proto_task_status_t){.event = 1, .status = 42})},
        {"notify_encode (NULL, n)", zpar__proto_notify_encode (NULL, &n)},
        {"notify_encode (m, NULL)", zpar__proto_notify_encode (m, NULL)},
        {"notify_encode event 0",
         zpar__proto_notify_encode (m, &(zpar_proto_notify_t){.h.flags = 0})},
        {"iopub_topic (NULL)", zpar__proto_iopub_topic (NULL, 8, zpar__cid (1), zpar__eid (1))},
    };
    size_t nenc = sizeof (enc) / sizeof (enc[0]);
    int all = 1;

    (void)nenc;
    for (size_t i = 0; i < nenc; i++)
        is_int (enc[i].rc, -1, "%s fails", enc[i].name);

        /* every decoder refuses NULLs with EINVAL (errno checked one by one) */
#define DEC_NULLS(NAME, X)                                                                         \
    do {                                                                                           \
        errno = 0;                                                                                 \
        all = zpar__proto_##NAME##_decode (NULL, &X, &err) == -1 && errno == EINVAL;               \
        errno = 0;                                                                                 \
        all = all && zpar__proto_##NAME##_decode (m, NULL, &err) == -1 && errno == EINVAL;         \
        ok (all, #NAME "_decode: NULL message or struct is EINVAL");                               \
    } while (0)
    DEC_NULLS (task, t);
    DEC_NULLS (result, r);
    DEC_NULLS (control, c);
    DEC_NULLS (control_reply, cr);
    DEC_NULLS (reg_engine, re);
    DEC_NULLS (reg_engine_reply, rr);
    DEC_NULLS (reg_client, rc);
    DEC_NULLS (reg_client_reply, ccr);
    DEC_NULLS (unregister, un);
    DEC_NULLS (query, q);
    DEC_NULLS (query_reply, qr);
    DEC_NULLS (stream, s);
    DEC_NULLS (task_status, ts);
    DEC_NULLS (notify, n);
    errno = 0;
    ok (zpar__proto_check (NULL, &err) < 0 && errno == EINVAL, "check (NULL): EINVAL");
    errno = 0;
    ok (zpar__proto_task_encode (NULL, &t) < 0 && errno == EINVAL, "encode errno is EINVAL");
    /* a failed encode leaves the body empty */
    zpar__msg_add_u64 (m, ZPAR_F_KIND, 1);
    ok (zpar__proto_query_encode (m, &(zpar_proto_query_t){.kind = 99}) < 0 && m->len == 1 * 14,
        "a refused parameter does not touch the message");
    /* clears are NULL-safe */
    zpar__proto_task_clear (NULL);
    zpar__proto_result_clear (NULL);
    zpar__proto_control_reply_clear (NULL);
    zpar__proto_reg_engine_clear (NULL);
    zpar__proto_reg_engine_reply_clear (NULL);
    zpar__proto_reg_client_reply_clear (NULL);
    zpar__proto_query_reply_clear (NULL);
    ok (1, "clear functions accept NULL");
    zpar__msg_destroy (m);
}

static void test_ids (void)
{
    zpar_tid_t t = zpar__tid_make (zpar__cid (7), 42);
    ok (t.v == ((7ull << 32) | 42) && zpar__tid_client (t).v == 7 && zpar__tid_seq (t) == 42,
        "task id = client << 32 | sequence");
    ok (zpar__eid_eq (zpar__eid (3), zpar__eid (3)) &&
            !zpar__eid_eq (zpar__eid (3), zpar__eid (4)) && zpar__tid_eq (t, zpar__tid (t.v)) &&
            zpar__cid_eq (zpar__cid (1), zpar__cid (1)),
        "id comparisons");
}

/* The status peek and the query-name check used by the hub, the
 * scheduler and the registrar on frames they do not decode whole. */
static void test_peeks (void)
{
    zpar_msg_t *m = zpar__msg_create (ZPAR_MSG_RESULT);
    ok (zpar__proto_result_status (NULL) == ZPAR_STATUS_ERROR, "status of NULL: error");
    ok (zpar__proto_result_status (m) == ZPAR_STATUS_ERROR, "status absent: error");
    zpar__msg_add_u64 (m, ZPAR_F_STATUS, ZPAR_STATUS_TIMEOUT);
    ok (zpar__proto_result_status (m) == ZPAR_STATUS_TIMEOUT, "status timeout read");
    zpar__msg_reset (m, ZPAR_MSG_RESULT);
    zpar__msg_add_u64 (m, ZPAR_F_STATUS, 99);
    ok (zpar__proto_result_status (m) == ZPAR_STATUS_ERROR, "status out of range: error");
    zpar__msg_reset (m, ZPAR_MSG_RESULT);
    zpar__msg_add_str (m, ZPAR_F_STATUS, "x");
    ok (zpar__proto_result_status (m) == ZPAR_STATUS_ERROR, "status of the wrong length: error");
    zpar__msg_reset (m, ZPAR_MSG_QUERY);
    ok (!zpar__proto_query_named (m) && !zpar__proto_query_named (NULL), "a query naming none");
    zpar__msg_add_str (m, ZPAR_F_QUERY, "nonsense");
    ok (zpar__proto_query_named (m), "a query naming an unknown kind");
    zpar__msg_destroy (m);
}

int main (void)
{
    test_peeks ();
    test_ids ();
    test_task ();
    test_result ();
    test_control ();
    test_iopub ();
    test_params ();
    return done_testing ();
}
