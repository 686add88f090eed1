/* test_task_runner.c - the engine's task queue without sockets: tasks are
 * handed over as messages, what it sends and publishes is recorded by
 * fake callbacks. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "engine/task_runner.h"
#include "msg.h"
#include "proto_control.h"
#include "proto_result.h"
#include "proto_task.h"
#include "reactor.h"
#include "tap.h"
#include "zpar.h"

#define MAXSENT 64

typedef struct {
    zpar_engine_queue_t q;
    zpar_msg_type_t type;
    uint64_t task;
    uint32_t engine;
    int nenv;
    uint64_t status, count;
    char err[128];
    char out[64];
} sent_t;

static sent_t sent[MAXSENT];
static int nsent, npub_status, npub_stream, shutdowns, connected = 1;
static zpar_reactor_t *reactor;

static int fake_send (void *arg, zpar_engine_queue_t q, zpar_msg_t *m)
{
    zpar_proto_result_t res;
    zpar_proto_control_reply_t rep;
    zpar_error_t err;
    sent_t *s;
    (void)arg;
    if (!connected) {
        errno = ENOTCONN;
        return -1;
    }
    if (nsent == MAXSENT)
        return 0;
    s = &sent[nsent++];
    memset (s, 0, sizeof (*s));
    s->q = q;
    s->type = m->hdr.type;
    s->nenv = m->nenv;
    s->count = 99;
    if (m->hdr.type == ZPAR_MSG_RESULT && zpar__proto_result_decode (m, &res, &err) == 0) {
        s->task = res.h.task.v;
        s->engine = res.h.engine.v;
        s->status = res.status;
        snprintf (s->err, sizeof (s->err), "%s", res.error ? res.error : "");
        snprintf (s->out, sizeof (s->out), "%.*s", (int)res.stdout_len,
                  res.stdout_len ? (const char *)res.stdout_buf : "");
        zpar__proto_result_clear (&res);
    } else if (m->hdr.type == ZPAR_MSG_CONTROL_REPLY &&
               zpar__proto_control_reply_decode (m, &rep, &err) == 0) {
        s->task = rep.h.task.v;
        s->engine = rep.h.engine.v;
        s->count = rep.count;
        zpar__proto_control_reply_clear (&rep);
    } else {
        diag ("fake_send: undecodable %s: %s", zpar__msg_type_name (m->hdr.type), err.text);
        s->type = ZPAR_MSG_NONE;
    }
    return 0;
}

static void fake_publish (void *arg, zpar_msg_t *m)
{
    (void)arg;
    if (m->hdr.type == ZPAR_MSG_TASK_STATUS)
        npub_status++;
    else if (m->hdr.type == ZPAR_MSG_STREAM)
        npub_stream++;
}

static void fake_shutdown (void *arg)
{
    (void)arg;
    shutdowns++;
}

/* A command task with a stop signal (what its timeout sends first; 0:
 * none). */
static zpar_msg_t *task_cmd_stop (uint64_t id, const char *shell, int sig)
{
    const char *argv[] = {"sh", "-c", shell, NULL};
    zpar_proto_task_t t = {
        .h = {.task = zpar__tid (id), .client = zpar__cid (1), .engine = zpar__eid (3)},
        .kind = ZPAR_TASK_COMMAND,
        .argv = argv,
        .argc = 3,
        .stop_signal = (uint64_t)sig,
        .stop_grace_ms = sig ? 2000 : 0,
    };
    zpar_msg_t *m = zpar__msg_create (ZPAR_MSG_TASK);
    (void)zpar__msg_push_ident (m, "c1", 2);
    if (zpar__proto_task_encode (m, &t) < 0)
        diag ("task encode: %s", strerror (errno));
    return m;
}

static zpar_msg_t *task_cmd (uint64_t id, const char *shell)
{
    return task_cmd_stop (id, shell, 0);
}

/* INTERRUPT of one task only (zpar_client_stop). */
static zpar_msg_t *stop_request (uint64_t task)
{
    zpar_proto_control_t c = {
        .h = {.task = zpar__tid (task), .client = zpar__cid (1), .engine = zpar__eid (3)},
        .op = ZPAR_CONTROL_INTERRUPT,
        .only_task = task};
    zpar_msg_t *m = zpar__msg_create (ZPAR_MSG_INTERRUPT);
    (void)zpar__proto_control_encode (m, &c);
    m->hdr.engine = 3;
    return m;
}

static zpar_msg_t *request (zpar_msg_type_t type, uint64_t task)
{
    zpar_proto_control_t c = {
        .h = {.task = zpar__tid (task), .client = zpar__cid (1), .engine = zpar__eid (3)},
        .op = (zpar_control_op_t)type};
    zpar_msg_t *m = zpar__msg_create (type);
    if (type == ZPAR_MSG_ABORT || type == ZPAR_MSG_INTERRUPT || type == ZPAR_MSG_SHUTDOWN)
        (void)zpar__proto_control_encode (m, &c);
    else
        m->hdr.task = task; /* a message of a kind the queues do not take */
    m->hdr.engine = 3;
    return m;
}

/* Hand m over; frees it if the task runner did not keep it. */
static int give (zpar_task_runner_t *tr, zpar_engine_queue_t q, zpar_msg_t *m)
{
    int rc = zpar__task_runner_recv (tr, q, &m);
    zpar__msg_destroy (m);
    return rc;
}

static const sent_t *find (zpar_msg_type_t type, uint64_t task)
{
    for (int i = 0; i < nsent; i++)
        if (sent[i].type == type && sent[i].task == task)
            return &sent[i];
    return NULL;
}

/* Run the reactor until a message of type for task is sent (or 10 s). */
static const sent_t *wait_for (zpar_msg_type_t type, uint64_t task)
{
    uint64_t end = zpar__mono_us () + 10000000u;
    const sent_t *s;
    while (!(s = find (type, task)) && zpar__mono_us () < end)
        (void)zpar__reactor_run_once (reactor, 50);
    return s;
}

/* Run the reactor until cond (tr) holds (or 10 s: a loaded machine may
 * start a process late; the checks that follow say what did not happen) */
static void run_until (int (*cond) (const zpar_task_runner_t *tr), const zpar_task_runner_t *tr)
{
    uint64_t end = zpar__mono_us () + 10000000u;
    while (!cond (tr) && zpar__mono_us () < end)
        (void)zpar__reactor_run_once (reactor, 10);
}

/* nothing queued: the one task given has started */
static int started (const zpar_task_runner_t *tr)
{
    return zpar__task_runner_queued (tr) == 0;
}

static int two_kept (const zpar_task_runner_t *tr)
{
    return zpar__task_runner_outbox (tr) == 2;
}

static int one_kept (const zpar_task_runner_t *tr)
{
    return zpar__task_runner_outbox (tr) == 1;
}

static const char *ready_mark;

/* the file a task writes once it is ready for its signal exists */
static int marked (const zpar_task_runner_t *tr)
{
    (void)tr;
    return access (ready_mark, F_OK) == 0;
}

static void run_for (unsigned ms)
{
    uint64_t end = zpar__mono_us () + ms * 1000u;
    while (zpar__mono_us () < end)
        (void)zpar__reactor_run_once (reactor, 10);
}

static void test_bad_params (const zpar_task_runner_ops_t *ops, const zpar_task_runner_opts_t *to,
                             zpar_task_runner_t *tr)
{
    zpar_task_runner_ops_t nosend = *ops;
    zpar_error_t err;
    zpar_msg_t *m = NULL;
    static const struct {
        zpar_engine_queue_t q;
        zpar_msg_type_t type;
        const char *what;
    } wrong[] = {
        {ZPAR_ENGINE_Q_MUX, ZPAR_MSG_RESULT, "RESULT on the MUX queue"},
        {ZPAR_ENGINE_Q_MUX, ZPAR_MSG_ABORT, "ABORT on the MUX queue"},
        {ZPAR_ENGINE_Q_TASK, ZPAR_MSG_INTERRUPT, "INTERRUPT on the task queue"},
        {ZPAR_ENGINE_Q_CONTROL, ZPAR_MSG_TASK, "TASK on the control queue"},
        {ZPAR_ENGINE_Q_CONTROL, ZPAR_MSG_STREAM, "STREAM on the control queue"},
    };

    nosend.send = NULL;
    ok (zpar__task_runner_create (NULL, ops, to, &err) == NULL && errno == EINVAL,
        "create without reactor: EINVAL");
    ok (zpar__task_runner_create (reactor, NULL, to, &err) == NULL && errno == EINVAL,
        "create without callbacks: EINVAL");
    ok (zpar__task_runner_create (reactor, &nosend, to, &err) == NULL && errno == EINVAL,
        "create without send: EINVAL");
    ok (zpar__task_runner_create (reactor, ops, NULL, &err) == NULL && errno == EINVAL,
        "create without options: EINVAL");
    ok (zpar__task_runner_recv (NULL, ZPAR_ENGINE_Q_MUX, &m) < 0 && errno == EINVAL,
        "recv(NULL): EINVAL");
    ok (zpar__task_runner_recv (tr, ZPAR_ENGINE_Q_MUX, NULL) < 0 && errno == EINVAL,
        "recv(NULL message pointer): EINVAL");
    ok (zpar__task_runner_recv (tr, ZPAR_ENGINE_Q_MUX, &m) < 0 && errno == EINVAL,
        "recv(NULL message): EINVAL");
    m = request (ZPAR_MSG_TASK, 1);
    ok (zpar__task_runner_recv (tr, (zpar_engine_queue_t)7, &m) < 0 && errno == EINVAL && m,
        "recv on queue 7: EINVAL, message left to the caller");
    zpar__msg_destroy (m);
    for (size_t i = 0; i < sizeof (wrong) / sizeof (wrong[0]); i++) {
        m = request (wrong[i].type, 1);
        ok (zpar__task_runner_recv (tr, wrong[i].q, &m) < 0 && errno == EPROTO && m != NULL,
            "%s: EPROTO, not kept", wrong[i].what);
        zpar__msg_destroy (m);
    }
    nsent = 0;
    m = zpar__msg_create (ZPAR_MSG_TASK); /* no KIND */
    m->hdr.task = 9;
    m->hdr.engine = 3;
    ok (zpar__task_runner_recv (tr, ZPAR_ENGINE_Q_MUX, &m) < 0 && errno == EPROTO && m != NULL,
        "a task without KIND: EPROTO, not kept");
    ok (nsent == 1 && sent[0].type == ZPAR_MSG_RESULT && sent[0].status == ZPAR_STATUS_ERROR &&
            strstr (sent[0].err, "kind") != NULL,
        "... and answered with an ERROR result naming the field");
    if (nsent)
        diag ("  error: %s", sent[0].err);
    zpar__msg_destroy (m);
    zpar__task_runner_destroy (NULL);
    ok (zpar__task_runner_queued (NULL) == 0 && zpar__task_runner_done (NULL) == 0,
        "NULL-safe destroy and counters");
}

int main (void)
{
    zpar_task_runner_ops_t ops = {
        .send = fake_send, .publish = fake_publish, .shutdown = fake_shutdown};
    zpar_task_runner_opts_t to = {.host = "testhost", .rank = -1};
    zpar_error_t err = {{0}};
    zpar_task_runner_t *tr;
    const sent_t *s;

    plan (NO_PLAN);
    ok (zpar__reactor_block_signals () == 0, "signals blocked as in the zpar program");
    reactor = zpar__reactor_create ();
    tr = zpar__task_runner_create (reactor, &ops, &to, &err);
    ok (reactor && tr, "task runner created");
    if (!tr) {
        diag ("%s", err.text);
        return done_testing ();
    }
    zpar__task_runner_set_engine (tr, 3);
    test_bad_params (&ops, &to, tr);

    /* a request signed for another engine is not ours (a capture of
     * engine 4's task replayed to us), on any queue */
    for (int q = 0; q < ZPAR_ENGINE_NQ; q++) {
        zpar_msg_t *m = q == ZPAR_ENGINE_Q_CONTROL ? request (ZPAR_MSG_SHUTDOWN, 90)
                                                   : task_cmd (90, "echo stolen");
        m->hdr.engine = 4;
        errno = 0;
        ok (give (tr, (zpar_engine_queue_t)q, m) < 0 && errno == EPERM && shutdowns == 0,
            "queue %d: a request for engine 4 is refused (EPERM)", q);
    }
    {
        zpar_msg_t *m = task_cmd (91, "echo");
        m->hdr.engine = 0;
        errno = 0;
        ok (give (tr, ZPAR_ENGINE_Q_MUX, m) < 0 && errno == EPERM,
            "a direct task naming no engine is refused");
        m = request (ZPAR_MSG_SHUTDOWN, 92);
        m->hdr.engine = 0;
        errno = 0;
        ok (give (tr, ZPAR_ENGINE_Q_CONTROL, m) < 0 && errno == EPERM && shutdowns == 0,
            "a control request naming no engine is refused");
    }

    /* one task: result on its queue, with its envelope; IOPub reports */
    ok (give (tr, ZPAR_ENGINE_Q_MUX, task_cmd (101, "echo hi")) == 0, "task 101 handed over");
    s = wait_for (ZPAR_MSG_RESULT, 101);
    ok (s && s->q == ZPAR_ENGINE_Q_MUX && s->status == ZPAR_STATUS_OK && s->engine == 3 &&
            s->nenv == 1 && strcmp (s->out, "hi\n") == 0,
        "result: on the MUX queue, ok, engine 3, envelope kept, stdout");
    ok (npub_status == 2 && npub_stream >= 1, "IOPub: started, finished and the stream");

    /* abort and steal of queued tasks; steal of the running one */
    nsent = 0;
    give (tr, ZPAR_ENGINE_Q_TASK, task_cmd (201, "sleep 0.5"));
    give (tr, ZPAR_ENGINE_Q_TASK, task_cmd (202, "sleep 0.3"));
    give (tr, ZPAR_ENGINE_Q_TASK, task_cmd (203, "true"));
    give (tr, ZPAR_ENGINE_Q_CONTROL, request (ZPAR_MSG_ABORT, 201));
    s = find (ZPAR_MSG_RESULT, 201);
    ok (s && s->status == ZPAR_STATUS_ABORTED && strstr (s->err, "aborted before it ran"),
        "abort in the wake-up it came in: the task never ran");
    s = find (ZPAR_MSG_CONTROL_REPLY, 201);
    ok (s && s->q == ZPAR_ENGINE_Q_CONTROL && s->count == 1, "abort: control reply, count 1");
    run_for (50); /* 202 starts */
    give (tr, ZPAR_ENGINE_Q_TASK, task_cmd (204, "true"));
    give (tr, ZPAR_ENGINE_Q_TASK, request (ZPAR_MSG_ABORT, 203));
    s = find (ZPAR_MSG_RESULT, 203);
    ok (s && s->q == ZPAR_ENGINE_Q_TASK && s->status == ZPAR_STATUS_ABORTED,
        "steal of a queued task: aborted result on the task queue");
    ok (!find (ZPAR_MSG_CONTROL_REPLY, 203), "steal of a queued task: no control reply");
    ok (wait_for (ZPAR_MSG_RESULT, 202) && wait_for (ZPAR_MSG_RESULT, 204), "the others ran");
    is_int ((int)zpar__task_runner_queued (tr), 0, "queue empty");

    /* steal and interrupt of the running task */
    nsent = 0;
    give (tr, ZPAR_ENGINE_Q_TASK, task_cmd (301, "sleep 10"));
    run_until (started, tr);
    give (tr, ZPAR_ENGINE_Q_TASK, request (ZPAR_MSG_ABORT, 301));
    s = find (ZPAR_MSG_CONTROL_REPLY, 301);
    ok (s && s->q == ZPAR_ENGINE_Q_TASK && s->count == 0,
        "steal of the running task: reply count 0 on the task queue");
    give (tr, ZPAR_ENGINE_Q_CONTROL, request (ZPAR_MSG_INTERRUPT, 301));
    s = wait_for (ZPAR_MSG_RESULT, 301);
    ok (s && s->status == ZPAR_STATUS_ABORTED && strstr (s->err, "interrupted"),
        "interrupt: aborted, interrupted");
    s = &sent[1];
    ok (nsent >= 2 && s->type == ZPAR_MSG_CONTROL_REPLY && s->count == 1 &&
            s->q == ZPAR_ENGINE_Q_CONTROL,
        "interrupt: control reply count 1");
    give (tr, ZPAR_ENGINE_Q_CONTROL, request (ZPAR_MSG_INTERRUPT, 302));
    ok (nsent > 0 && sent[nsent - 1].count == 0, "interrupt with nothing running: count 0");

    /* stop of one task: only that one, with its stop signal */
    nsent = 0;
    {
        static char mark[128], cmd[512];
        snprintf (mark, sizeof (mark), "/tmp/zpar-test-usr1.%d", (int)getpid ());
        (void)remove (mark);
        ready_mark = mark;
        snprintf (cmd, sizeof (cmd),
                  "trap 'echo usr1; exit 0' USR1; : >%s; sleep 10 & wait; echo woke", mark);
        give (tr, ZPAR_ENGINE_Q_TASK, task_cmd_stop (311, cmd, SIGUSR1));
        give (tr, ZPAR_ENGINE_Q_TASK, task_cmd (312, "true"));
        run_until (marked, tr); /* its trap is set */
        (void)remove (mark);
    }
    give (tr, ZPAR_ENGINE_Q_CONTROL, stop_request (312));
    s = find (ZPAR_MSG_CONTROL_REPLY, 312);
    ok (s && s->count == 0 && !find (ZPAR_MSG_RESULT, 311),
        "stop of a task that is not the running one: count 0, the running one goes on");
    give (tr, ZPAR_ENGINE_Q_CONTROL, stop_request (311));
    s = find (ZPAR_MSG_CONTROL_REPLY, 311);
    ok (s && s->count == 1 && s->q == ZPAR_ENGINE_Q_CONTROL, "stop of the running task: count 1");
    s = wait_for (ZPAR_MSG_RESULT, 311);
    ok (s && s->status == ZPAR_STATUS_ABORTED && strstr (s->err, "stopped on request") &&
            strstr (s->out, "usr1") && !strstr (s->out, "woke"),
        "stopped with its stop signal (USR1): aborted, 'stopped on request' (%s, %s)",
        s ? s->err : "-", s ? s->out : "-");
    ok (wait_for (ZPAR_MSG_RESULT, 312) != NULL, "the next task runs");

    /* the task scheduler's stop, on the task queue (an engine of the
     * task's set died): a queued task is taken out, the running one
     * stopped */
    nsent = 0;
    give (tr, ZPAR_ENGINE_Q_TASK, task_cmd (321, "sleep 10 & wait; echo woke"));
    give (tr, ZPAR_ENGINE_Q_TASK, task_cmd (322, "echo ran"));
    run_for (200);
    give (tr, ZPAR_ENGINE_Q_TASK, stop_request (322));
    s = find (ZPAR_MSG_RESULT, 322);
    ok (s && s->status == ZPAR_STATUS_ABORTED && !strstr (s->out, "ran"),
        "the scheduler's stop of a queued task: taken out, aborted (%s)", s ? s->err : "-");
    give (tr, ZPAR_ENGINE_Q_TASK, stop_request (321));
    s = find (ZPAR_MSG_CONTROL_REPLY, 321);
    ok (s && s->count == 1 && s->q == ZPAR_ENGINE_Q_TASK,
        "the scheduler's stop of the running task: count 1, on the task queue");
    s = wait_for (ZPAR_MSG_RESULT, 321);
    ok (s && s->status == ZPAR_STATUS_ABORTED && strstr (s->err, "stopped on request") &&
            !strstr (s->out, "woke"),
        "... stopped (%s, %s)", s ? s->err : "-", s ? s->out : "-");

    /* results wait in the outbox while not connected */
    nsent = 0;
    connected = 0;
    give (tr, ZPAR_ENGINE_Q_MUX, task_cmd (401, "true"));
    give (tr, ZPAR_ENGINE_Q_MUX, task_cmd (402, "true"));
    run_until (two_kept, tr);
    is_int ((int)zpar__task_runner_outbox (tr), 2, "not connected: two results kept");
    connected = 1;
    s = wait_for (ZPAR_MSG_RESULT, 402);
    ok (s && nsent == 2 && sent[0].task == 401, "connected again: sent in order by the retry");
    is_int ((int)zpar__task_runner_outbox (tr), 0, "outbox empty");

    /* held tasks (REGISTER_ENGINE's HELD) and DROP */
    {
        zpar_tid_t ids[8];
        size_t n;
        FILE *f;
        char mark[256], cmd[512];
        snprintf (mark, sizeof (mark), "/tmp/zpar-test-drop.%d", (int)getpid ());
        (void)remove (mark);
        ok (zpar__task_runner_drop (NULL, zpar__tid (1)) < 0 && errno == EINVAL,
            "drop (NULL): EINVAL");
        ok (zpar__task_runner_drop (tr, zpar__tid (0)) < 0 && errno == EINVAL,
            "drop task 0: EINVAL");
        ok (zpar__task_runner_held (NULL, ids, 8) == 0, "held (NULL): none");
        nsent = 0;
        connected = 0;
        give (tr, ZPAR_ENGINE_Q_MUX, task_cmd (451, "true"));
        run_until (one_kept, tr); /* 451 done, its result in the outbox */
        /* 452 runs with a grandchild; a dropped run must not write mark */
        snprintf (cmd, sizeof (cmd), "sleep 30 & sleep 3; echo ran >%s", mark);
        give (tr, ZPAR_ENGINE_Q_TASK, task_cmd (452, cmd));
        give (tr, ZPAR_ENGINE_Q_TASK, task_cmd (453, "true"));
        give (tr, ZPAR_ENGINE_Q_TASK, task_cmd (454, "true"));
        run_for (100);
        n = zpar__task_runner_held (tr, ids, 8);
        ok (n == 4 && ids[0].v == 452 && ids[1].v == 453 && ids[2].v == 454 && ids[3].v == 451,
            "held: the running task, the queued ones, then the undelivered result (%zu)", n);
        ok (zpar__task_runner_held (tr, ids, 2) == 4, "held with room for 2: still counts 4");
        ok (zpar__task_runner_drop (tr, zpar__tid (453)) == 1, "drop a queued task");
        ok (zpar__task_runner_drop (tr, zpar__tid (451)) == 1, "drop an undelivered result");
        ok (zpar__task_runner_drop (tr, zpar__tid (452)) == 1, "drop the running task");
        ok (zpar__task_runner_drop (tr, zpar__tid (999)) == 0, "drop a task not held: 0");
        n = zpar__task_runner_held (tr, ids, 8);
        ok (n == 1 && ids[0].v == 454, "held now: only the task left in the queue");
        connected = 1;
        s = wait_for (ZPAR_MSG_RESULT, 454);
        ok (s != NULL, "the next task runs once the dropped one has ended");
        run_for (3500);
        ok (!find (ZPAR_MSG_RESULT, 451) && !find (ZPAR_MSG_RESULT, 452) &&
                !find (ZPAR_MSG_RESULT, 453),
            "no result for the dropped tasks");
        f = fopen (mark, "r");
        ok (f == NULL, "the dropped run was killed before its side effect");
        if (f)
            fclose (f);
        (void)remove (mark);
    }

    /* a lost controller may have lost what was sent: sent again (with its
     * envelope), only what was sent since the given time, once */
    {
        uint64_t before = zpar__mono_us ();
        nsent = 0;
        is_int ((int)zpar__task_runner_resend (tr, before), 0, "resend: nothing sent since then");
        give (tr, ZPAR_ENGINE_Q_MUX, task_cmd (403, "true"));
        s = wait_for (ZPAR_MSG_RESULT, 403);
        ok (s && nsent == 1, "a result sent");
        is_int ((int)zpar__task_runner_resend (tr, before), 1, "resend: the result sent since");
        ok (nsent == 2 && sent[1].task == 403 && sent[1].nenv == sent[0].nenv &&
                sent[1].q == ZPAR_ENGINE_Q_MUX,
            "sent again on its queue, with its envelope");
        /* the results are kept as they were sent: a big one and a small
         * one, each sent again whole */
        give (tr, ZPAR_ENGINE_Q_MUX, task_cmd (404, "head -c 300000 /dev/zero | tr '\\0' x"));
        s = wait_for (ZPAR_MSG_RESULT, 404);
        give (tr, ZPAR_ENGINE_Q_MUX, task_cmd (405, "echo small"));
        s = wait_for (ZPAR_MSG_RESULT, 405);
        ok (s && !strcmp (s->out, "small\n"), "a big result, then a small one");
        nsent = 0;
        is_int ((int)zpar__task_runner_resend (tr, before), 3, "resend: the three results since");
        ok (nsent == 3 && sent[0].task == 403 && sent[1].task == 404 && sent[2].task == 405 &&
                sent[1].status == ZPAR_STATUS_OK && !strncmp (sent[1].out, "xxxx", 4) &&
                !strcmp (sent[2].out, "small\n"),
            "sent again, oldest first, each with its own output");
        is_int ((int)zpar__task_runner_resend (tr, zpar__mono_us () + 1), 0,
                "resend since a later time: nothing");
        is_int ((int)zpar__task_runner_resend (NULL, 0), 0, "resend NULL: 0");
    }

    /* shutdown and stop */
    nsent = 0;
    give (tr, ZPAR_ENGINE_Q_CONTROL, request (ZPAR_MSG_SHUTDOWN, 0));
    ok (shutdowns == 1 && nsent == 1 && sent[0].count == 1, "shutdown: answered, passed on");
    give (tr, ZPAR_ENGINE_Q_MUX, task_cmd (501, "sleep 10"));
    run_until (started, tr);
    ok (zpar__task_runner_stop (tr) == 1, "stop kills the running task");
    run_for (100);
    ok (!find (ZPAR_MSG_RESULT, 501), "no result for the killed task");
    give (tr, ZPAR_ENGINE_Q_MUX, task_cmd (502, "true"));
    run_for (200);
    ok (!find (ZPAR_MSG_RESULT, 502) && zpar__task_runner_queued (tr) == 1,
        "stopped: nothing starts");
    diag ("%llu tasks run", (unsigned long long)zpar__task_runner_done (tr));

    zpar__task_runner_destroy (tr);
    zpar__reactor_destroy (reactor);
    return done_testing ();
}
