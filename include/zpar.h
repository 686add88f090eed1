/* zpar.h - the zpar client library (libzpar).
 *
 * Connect to a zpar cluster (a controller and its engines), submit command
 * and function tasks, direct (to named engines) or load-balanced, wait for
 * their results, follow their output, and query the controller.
 *
 *   zpar_client_t *c = zpar_client_connect (NULL, &err);  // the usual file
 *   const char *argv[] = {"hostname", NULL};
 *   zpar_task_t *t = zpar_task_command (argv);
 *   zpar_future_t *f = zpar_submit (c, t, &err);          // load-balanced
 *   zpar_task_destroy (t);
 *   if (zpar_future_wait (f, 10.0, &err) == 0)
 *       fwrite (zpar_result_stdout (zpar_future_result (f), &n), 1, n, stdout);
 *   zpar_future_destroy (f);
 *   zpar_client_destroy (c);
 *
 * Errors: functions return -1 (or NULL) and set errno; where they take a
 * zpar_error_t *err (which may be NULL) it receives a one-line explanation.
 * Common errno values: ETIMEDOUT (a wait ran out), ENOENT (no such task,
 * engine or file), EINVAL (bad argument), EHOSTUNREACH (the controller did
 * not answer a request), ECONNREFUSED (the connection file's controller is
 * dead: stale file), EHOSTDOWN (a wait lost the controller: it stopped
 * answering; see ping_period in zpar_client_opts_t), EDEADLK (a waiting
 * call made from inside a callback of this client).
 *
 * Ownership: *_create / *_connect / zpar_task_* / zpar_submit* return objects
 * the caller owns and frees with the matching *_destroy (NULL-safe).  A
 * zpar_result_t returned by zpar_future_result() is owned by the future.
 * Strings and buffers returned by getters live as long as their owner.
 *
 * Thread-safety: a zpar_client_t and everything obtained from it must be
 * used by one thread at a time (all network I/O happens inside the calls;
 * there is no background thread).  Callbacks (output, engine events) run
 * inside the client's calls and must not call functions of the same client
 * that wait on the network (EDEADLK).  Different clients are independent and
 * may be used from different threads.  Function-task context functions
 * (zpar_fn_*) are called only from inside a task function.
 */
#ifndef ZPAR_H
#define ZPAR_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "zpar/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) && defined(ZPAR_BUILDING)
#define ZPAR_API __attribute__ ((visibility ("default")))
#else
#define ZPAR_API
#endif

#define ZPAR_VERSION_MAJOR 0
#define ZPAR_VERSION_MINOR 1
#define ZPAR_VERSION_PATCH 0

/* Ids are wrapped so that the compiler rejects mixing them up. */
typedef struct {
    uint64_t id; /* (client number << 32) | sequence; 0 = none */
} zpar_task_id_t;

typedef struct {
    uint32_t id; /* from 1 */
} zpar_engine_id_t;

typedef struct zpar_client zpar_client_t;
typedef struct zpar_task zpar_task_t;
typedef struct zpar_future zpar_future_t;
typedef struct zpar_result zpar_result_t;
typedef struct zpar_fn_ctx zpar_fn_ctx_t;

/* Final state of a task. */
typedef enum {
    ZPAR_STATUS_PENDING = 0,     /* not finished (never in a final result) */
    ZPAR_STATUS_OK = 1,          /* exit status 0 / function returned 0 */
    ZPAR_STATUS_FAILED = 2,      /* non-zero exit status / return value */
    ZPAR_STATUS_SIGNALED = 3,    /* killed by a signal (segfault, abort, OOM kill) */
    ZPAR_STATUS_TIMEOUT = 4,     /* ran past its timeout and was killed */
    ZPAR_STATUS_ENGINE_DIED = 5, /* its engine died and no retry was left */
    ZPAR_STATUS_ERROR = 6,       /* could not run: missing executable, bad library... */
    ZPAR_STATUS_ABORTED = 7,     /* aborted before it ran, or interrupted */
    ZPAR_STATUS_DEPENDENCY = 8,  /* a task it depended on did not succeed */
} zpar_status_t;

typedef enum {
    ZPAR_TASK_COMMAND = 1,
    ZPAR_TASK_FUNCTION = 2,
} zpar_task_kind_t;

/* "ok", "failed", "signaled", ... */
ZPAR_API const char *zpar_status_name (zpar_status_t s);

/* Format / parse a task id as text ("3.17": client 3, task 17). */
ZPAR_API void zpar_task_id_format (zpar_task_id_t id, char *buf, size_t size);
ZPAR_API int zpar_task_id_parse (const char *text, zpar_task_id_t *id);

/* Task ids from text: one id ("3.17") or a comma-separated list of them
 * ("3.1,3.2"), appended to the malloc'd array *ids of *n ids (start with
 * NULL and 0; free() it).  -1 with EINVAL (err: which part is not an id)
 * or ENOMEM; then *n is unchanged (*ids may have been reallocated). */
ZPAR_API int zpar_task_id_list_parse (const char *text, zpar_task_id_t **ids, size_t *n,
                                      zpar_error_t *err);

/* An engine list "1,3-5": ids from 1, inclusive ranges, duplicates dropped,
 * sorted.  *ids is malloc'd (free()).  -1 with EINVAL (err says why) or
 * ENOMEM; outputs untouched on error. */
ZPAR_API int zpar_engine_list_parse (const char *text, zpar_engine_id_t **ids, size_t *n,
                                     zpar_error_t *err);

/* ---------------------------------------------------------------------
 * Client
 * --------------------------------------------------------------------- */

/* How to connect (zpar_client_connect_opts).  Fill it with
 * zpar_client_opts_init, which sets size and every default, then change
 * what you need.  Fields are only ever added at the end: the library reads
 * the first `size` bytes, so a program built against an older zpar.h keeps
 * working with a newer library. */
typedef struct {
    size_t size;                 /* sizeof (zpar_client_opts_t), set by _init */
    const char *connection_file; /* the cluster's client.json; NULL: find it (below) */
    const char *cluster_dir;     /* with no connection_file: <cluster_dir>/client.json;
                                    NULL: $ZPAR_CONNECTION_FILE, else this job's or the
                                    local cluster's directory under $ZPAR_DIR (~/.zpar) */
    double connect_timeout;      /* seconds the controller has to answer a request;
                                    0: $ZPAR_CONNECT_TIMEOUT, else 10 */
    double replay_window;        /* seconds a message's timestamp may differ from our
                                    clock; 0: $ZPAR_REPLAY_WINDOW, else 600 */
    double ping_period;          /* controller-loss detection: while a call waits and the
                                    controller has been silent this long, ask it; two
                                    questions unanswered for connect_timeout each mean
                                    it is lost (EHOSTDOWN).  0: 5 s; < 0: never */
    unsigned flags;              /* ZPAR_CLIENT_* bits */
    double reconnect_timeout;    /* seconds a waiting call goes on asking a lost controller
                                    (it may be restarting: the client reconnects, registers
                                    again and resynchronises its futures by itself) before it
                                    fails with EHOSTDOWN; 0: $ZPAR_RECONNECT_TIMEOUT, else
                                    60; < 0: fail as soon as it is lost */
} zpar_client_opts_t;

enum {
    /* do not fail fast when the connection file's controller is a dead
     * process of this host (wait connect_timeout for it instead, e.g. for
     * a controller about to be restarted with the same file) */
    ZPAR_CLIENT_NO_STALE_CHECK = 1,
    /* send every load-balanced submit at once as its own message instead
     * of packing the submits made between polls into one batch (see
     * zpar_submit); $ZPAR_CLIENT_BATCH=0 does the same */
    ZPAR_CLIENT_NO_BATCH = 2,
    /* make zpar_client_wake usable (one more descriptor, an eventfd, in
     * the client's poll set) */
    ZPAR_CLIENT_WAKEABLE = 4,
};

/* Defaults: everything 0 / NULL, size = sizeof (*o). */
ZPAR_API void zpar_client_opts_init (zpar_client_opts_t *o);

/* Connect to the cluster that opts (NULL: all defaults) describe: find
 * and read its connection file, check that its controller still runs,
 * register with the hub and open the queue sockets.
 * Fails with (errno):
 *   EINVAL        bad options (size too small, negative timeout, unknown flag)
 *   ENOENT        no connection file (err says how to start a cluster)
 *   ECONNREFUSED  the connection file's controller is a dead process of
 *                 this host: the cluster is gone (stale file), no waiting
 *   EHOSTUNREACH  the controller did not answer within connect_timeout
 *   EPROTO        the controller refused or answered nonsense */
ZPAR_API zpar_client_t *zpar_client_connect_opts (const zpar_client_opts_t *opts,
                                                  zpar_error_t *err);

/* zpar_client_connect_opts with every default but connection_file. */
ZPAR_API zpar_client_t *zpar_client_connect (const char *connection_file, zpar_error_t *err);

/* The connection file opts lead to (the search of zpar_client_connect_opts),
 * into buf.  0, or -1 with ENOENT (none: err says how to start a cluster),
 * ENAMETOOLONG, EINVAL. */
ZPAR_API int zpar_connection_file_find (const zpar_client_opts_t *opts, char *buf, size_t size,
                                        zpar_error_t *err);

/* Is the controller that wrote connection_file gone?  1 when its pid is
 * a process of this host that no longer exists (err says so), 0 when it
 * runs or cannot be checked from here (another host, no pid), -1 with
 * errno when the file cannot be read (ENOENT, EINVAL: not a connection file). */
ZPAR_API int zpar_connection_file_stale (const char *connection_file, zpar_error_t *err);

/* The connection file this client was connected with. */
ZPAR_API const char *zpar_client_connection_file (const zpar_client_t *c);

/* Disconnect and free.  Unfinished futures stay valid but never complete. */
ZPAR_API void zpar_client_destroy (zpar_client_t *c);

/* This client's number (assigned by the hub at registration). */
ZPAR_API uint32_t zpar_client_id (const zpar_client_t *c);

/* Process everything that has arrived (results, output, notifications)
 * waiting at most timeout seconds (0: do not wait, <0: forever) for the
 * first event.  Returns the number of events handled (0: the time ran
 * out, or a signal handler interrupted the wait), or -1 (EHOSTDOWN: the
 * controller is lost; EDEADLK: called from a callback). */
ZPAR_API int zpar_client_poll (zpar_client_t *c, double timeout, zpar_error_t *err);

/* Output streamed by engines: called from inside zpar_client_poll / waits. */
typedef void (*zpar_output_f) (void *arg, zpar_engine_id_t engine, zpar_task_id_t task,
                               int stream /* 1 stdout, 2 stderr */, const void *data, size_t len);
/* Subscribe to IOPub (every engine's output, from every client's tasks,
 * unless mine_only).  NULL cb unsubscribes.  Output is published, not
 * queued: a subscriber can miss pieces (the first ones, while the
 * subscription is still on its way to the engines; any, when it reads too
 * slowly).  The task's result holds its whole output;
 * zpar_client_output_offset tells where each piece belongs. */
ZPAR_API int zpar_client_on_output (zpar_client_t *c, zpar_output_f cb, void *arg, int mine_only);

/* Inside an output callback: how many bytes of its stream came before this
 * piece (a piece starting beyond what was received means some were
 * missed).  -1 outside a callback, or when the engine did not say. */
ZPAR_API int64_t zpar_client_output_offset (const zpar_client_t *c);

/* Futures reaching their end: cb is called, from inside the client's
 * calls like the output callback, once for each future of this client
 * (own tasks and zpar_client_future_for) when its result arrives or it
 * fails for good (zpar_future_wait would then return at once), with the
 * future; it stays owned by the caller.  For a program that drives the
 * client with zpar_client_poll and must learn what finished without
 * looking at every future.  NULL cb unsubscribes.  0, or -1 EINVAL. */
typedef void (*zpar_done_f) (void *arg, zpar_future_t *f);
ZPAR_API int zpar_client_on_done (zpar_client_t *c, zpar_done_f cb, void *arg);

/* The done queue: with on != 0, every future that would be passed to the
 * done callback (zpar_client_on_done, which works as before) is also kept
 * in a queue of the client, in the order they ended, until taken with
 * zpar_client_take_done; on == 0 stops it and empties the queue.  For a
 * program that reaches the library through a foreign-function interface,
 * where one call that takes many futures costs less than a callback per
 * future.  0, or -1 EINVAL. */
ZPAR_API int zpar_client_collect_done (zpar_client_t *c, int on);

/* Take up to max futures from the done queue, oldest first, into fs[] and,
 * if status is not NULL, the status of each one's result into status[]
 * (ZPAR_STATUS_PENDING for a future that ended with an error and no
 * result: zpar_future_wait then says which).  The futures stay owned by
 * the caller; destroying a queued future takes it out of the queue.  Call
 * it between the library's calls, not from a done or wait callback: the
 * futures that zpar_client_wait_ids and zpar_submit_to make and destroy
 * inside one call pass through the queue too.  Returns the number taken
 * (0: none, or none because c or fs is NULL, with errno EINVAL; errno is
 * not changed otherwise).  Does no I/O. */
ZPAR_API size_t zpar_client_take_done (zpar_client_t *c, zpar_future_t **fs, int *status,
                                       size_t max);

/* Wake the client: the zpar_client_poll in progress (or the next one, if
 * none is) returns at once, having handled what had arrived, as when a
 * signal interrupts it; other waits (zpar_future_wait...) go on.  The one
 * call of this API that another thread may make while the client's thread
 * is inside a call: e.g. a thread that queues work for the client's
 * thread.  The client must have been connected with ZPAR_CLIENT_WAKEABLE.
 * 0, or -1 with EINVAL (no client, or not wakeable). */
ZPAR_API int zpar_client_wake (zpar_client_t *c);

/* Engine events (registered, unregistered, died) from the hub. */
typedef void (*zpar_engine_event_f) (void *arg, zpar_engine_id_t engine, const char *event);
ZPAR_API int zpar_client_on_engine_event (zpar_client_t *c, zpar_engine_event_f cb, void *arg);

/* ---------------------------------------------------------------------
 * Task descriptions
 * --------------------------------------------------------------------- */

/* A command task: argv[0] searched in PATH on the engine; argv is copied.
 * NULL with EINVAL if argv is NULL or empty. */
ZPAR_API zpar_task_t *zpar_task_command (const char *const argv[]);

/* A function task: the engine dlopen()s lib (once per engine) and calls
 * symbol, a zpar_task_fn, with a copy of input. */
ZPAR_API zpar_task_t *zpar_task_function (const char *lib, const char *symbol, const void *input,
                                          size_t len);
ZPAR_API void zpar_task_destroy (zpar_task_t *t);

/* Options; each returns 0 or -1 EINVAL / ENOMEM. */
ZPAR_API int zpar_task_setenv (zpar_task_t *t, const char *name, const char *value);
ZPAR_API int zpar_task_set_cwd (zpar_task_t *t, const char *dir);
ZPAR_API int zpar_task_set_timeout (zpar_task_t *t, double seconds); /* 0: none */
/* What a command task's timeout does: send signum (default SIGTERM) to its
 * process group, then SIGKILL grace seconds later (default 1; at most a
 * day) -- e.g. SIGUSR1 and a minute for a code that writes a checkpoint
 * when told.  EINVAL for a signal outside 1..64 or SIGKILL/SIGSTOP. */
ZPAR_API int zpar_task_set_stop_signal (zpar_task_t *t, int signum, double grace);
ZPAR_API int zpar_task_set_retries (zpar_task_t *t, unsigned retries);
ZPAR_API int zpar_task_add_after (zpar_task_t *t, zpar_task_id_t dep); /* run after dep succeeded */
ZPAR_API int zpar_task_add_target (zpar_task_t *t, zpar_engine_id_t e); /* allowed engines */
ZPAR_API int zpar_task_set_priority (zpar_task_t *t, int priority);     /* higher first */
ZPAR_API int zpar_task_set_inline (zpar_task_t *t, int enable); /* function task in the engine */
ZPAR_API int zpar_task_set_output_cap (zpar_task_t *t, size_t bytes); /* stdout/stderr kept */

/* Resources a task holds while it runs (doc/sweeps.md "Resources"):
 * cores (0 or 1: one core), gpus, memory in bytes (0: no limit) on ONE
 * node; for an MPI task ranks (0: not MPI), optionally over nodes nodes
 * and ranks_per_node ranks on each (0: any).  The scheduler places the
 * task on engines of one node (of the nodes, for ranks) that together
 * hold them; a task no set of engines can ever hold fails at once. */
typedef struct {
    unsigned cores, gpus;
    uint64_t memory;
    unsigned ranks, nodes, ranks_per_node;
} zpar_resources_t;

/* Set t's resources (NULL: back to one core).  -1 EINVAL: cores above
 * 65536, gpus above 4096, ranks above 2^20, nodes above 65536,
 * ranks_per_node above 2^20, nodes or ranks_per_node without ranks. */
ZPAR_API int zpar_task_set_resources (zpar_task_t *t, const zpar_resources_t *r);

/* Set one resource of r from text, as `zpar submit` options and sweep
 * keys give it: key "cores", "gpus", "ranks", "nodes", "ranks-per-node"
 * (a whole number; "ranks_per_node" too) or "memory" (a SIZE: a number
 * with an optional K, M, G or T suffix, powers of 1024, "KiB"/"GB"
 * spellings and any case allowed; a plain number is bytes).  -1 EINVAL
 * with err naming the key and the value (unknown key, junk, out of the
 * range zpar_task_set_resources accepts). */
ZPAR_API int zpar_resources_set (zpar_resources_t *r, const char *key, const char *value,
                                 zpar_error_t *err);

/* zpar_task_setenv from one "NAME=VALUE" entry (a name of 1 to 255
 * characters).  -1 with EINVAL. */
ZPAR_API int zpar_task_putenv (zpar_task_t *t, const char *entry);

/* A function task from "LIB.so:SYMBOL" (a LIB with a '/' is made absolute,
 * since the engine runs elsewhere) and the contents of input_file ("-":
 * standard input; NULL: no input).  NULL with EINVAL (bad spec), the
 * errno of realpath or of reading the file, ENOMEM; err says which. */
ZPAR_API zpar_task_t *zpar_task_function_spec (const char *spec, const char *input_file,
                                               zpar_error_t *err);

/* All of a file ("-": standard input) into a malloc'd *data of *len bytes
 * (free()).  -1 with the errno of fopen/fread, ENOMEM, EINVAL. */
ZPAR_API int zpar_read_file (const char *path, void **data, size_t *len);

/* ---------------------------------------------------------------------
 * Submission and futures
 * --------------------------------------------------------------------- */

/* Load-balanced: the task scheduler picks an idle engine (least load),
 * honouring targets, dependencies and priority.  Does not block on the
 * network.  The task description may be destroyed right after.
 *
 * Batching: the load-balanced submits made between two calls that read
 * the network are packed and sent as one message (signed once, handled by
 * the scheduler as that many tasks).  They leave at the latest when the
 * client next polls, waits or asks the controller anything (any
 * zpar_client_poll, zpar_future_wait, zpar_client_wait_all,
 * zpar_client_sync, query or control call), at zpar_flush, at
 * zpar_future_destroy of a task's future, at zpar_client_destroy, after
 * 256 of them, or at a submit that finds the oldest 1 ms old.  Nothing
 * waits to fill a batch: a submit followed by a wait is sent at once.  A
 * program that submits and then does something else for long without
 * calling the library must call zpar_flush (as a stdio program calls
 * fflush) or its tasks wait in the client.  ZPAR_CLIENT_NO_BATCH (or
 * $ZPAR_CLIENT_BATCH=0) sends each submit at once instead.
 *
 * The window: at most max(base, 32 x engines) of a client's load-balanced
 * tasks are in the controller unfinished at once; base = 4,096 or
 * $ZPAR_CLIENT_WINDOW (0: no bound at all), 32 = twice the scheduler's
 * per-engine prefetch (16, or $ZPAR_HWM if set in the client's
 * environment), engines = the live engines the client knows of (those
 * that answered its tasks or registered while it was connected, less those
 * the controller said died or left).  So a small cluster bounds a burst
 * by the base and a large one keeps every engine's prefetch full.  A
 * submit beyond it never blocks and never fails for it: the task waits
 * in the client, in submission order, and is sent as results come back,
 * while the program polls or waits (any call that reads the network); so
 * a burst of a million tasks waits in the program, not in the
 * controller's memory.  A task that waits there is not known to the
 * controller yet (zpar_client_abort answers it at once as aborted, without
 * the controller); zpar_client_sync and zpar_client_destroy send every
 * waiting task first, as does zpar_future_destroy for its own task.
 * Tasks bound to engines (targets) without dependencies do not count and
 * never wait. */
ZPAR_API zpar_future_t *zpar_submit (zpar_client_t *c, const zpar_task_t *t, zpar_error_t *err);

/* Submit n load-balanced tasks, as n calls of zpar_submit in order would:
 * fs[i] gets the future of ts[i] and, if ids is not NULL, ids[i] its id.
 * Stops at the first task that cannot be submitted.  Returns the number
 * submitted, k: when k < n, errno and err are zpar_submit's for ts[k], and
 * fs[k..n-1] are NULL.  For a program that reaches the library through a
 * foreign-function interface, where one call costs more than the submit. */
ZPAR_API size_t zpar_submit_many (zpar_client_t *c, const zpar_task_t *const *ts, size_t n,
                                  zpar_future_t **fs, zpar_task_id_t *ids, zpar_error_t *err);

/* Send the load-balanced submits not sent yet (see zpar_submit) now, as
 * far as the window allows (those beyond it go as results come back).
 * 0 (also when there are none), or -1 with EINVAL (no client) or the
 * socket's errno: the tasks then stay pending and the next call that
 * sends tries again. */
ZPAR_API int zpar_flush (zpar_client_t *c, zpar_error_t *err);

/* Direct: run on the given engine (MUX queue).  Retries and dependencies
 * do not apply to direct tasks (they are engine-specific by definition). */
ZPAR_API zpar_future_t *zpar_submit_to (zpar_client_t *c, zpar_engine_id_t e, const zpar_task_t *t,
                                        zpar_error_t *err);

ZPAR_API zpar_task_id_t zpar_future_id (const zpar_future_t *f);

/* The id that the n-th next submission of this client (zpar_submit or
 * zpar_submit_to, n >= 1) will get, provided no other call on the client
 * comes in between: for a program that must record a task's id durably
 * before the task can run (record the ids, then submit).  Id 0 for a NULL
 * client or n == 0.  Does no I/O. */
ZPAR_API zpar_task_id_t zpar_client_next_task_id (const zpar_client_t *c, unsigned n);

/* 1 if the result has arrived, else 0 (does no I/O). */
ZPAR_API int zpar_future_done (const zpar_future_t *f);

/* Wait up to timeout seconds (<0: forever) for the result.  0 when it has
 * arrived (whatever its status), else -1 with ETIMEDOUT, EHOSTDOWN (the
 * controller stopped answering: the task may still finish, ask again
 * later), ENOENT (zpar_client_future_for: no such task), ENOTCONN (the
 * client was destroyed), EDEADLK (called from a callback). */
ZPAR_API int zpar_future_wait (zpar_future_t *f, double timeout, zpar_error_t *err);

/* The result once done, else NULL.  Owned by the future. */
ZPAR_API const zpar_result_t *zpar_future_result (const zpar_future_t *f);
ZPAR_API void zpar_future_destroy (zpar_future_t *f);

/* A future for a task submitted by any client (its id as printed by
 * zpar_task_id_format), e.g. to wait for it from another process.  It is
 * done when the hub has recorded the task finished; zpar_future_wait then
 * behaves as for this client's own tasks, and fails with ENOENT when the hub
 * does not know the id (a task submitted a moment ago is given a second to
 * appear).  While waited for, the library asks the hub about the task
 * (backing off from 5 ms to 200 ms).  EINVAL for id 0, EEXIST if this
 * client already has a future for id. */
ZPAR_API zpar_future_t *zpar_client_future_for (zpar_client_t *c, zpar_task_id_t id,
                                                zpar_error_t *err);

/* Wait for every outstanding future of this client.  0 / -1 ETIMEDOUT,
 * EHOSTDOWN, EDEADLK as zpar_future_wait. */
ZPAR_API int zpar_client_wait_all (zpar_client_t *c, double timeout, zpar_error_t *err);

/* Number of futures of this client still waiting for a result. */
ZPAR_API size_t zpar_client_outstanding (const zpar_client_t *c);

/* Wait until the controller has recorded (durably: committed to its
 * records database) every task this client submitted that has no result
 * yet, submitting again, with the same id, any task it does not know (a
 * task accepted by a controller that died before recording it).  Call it
 * before exiting after fire-and-forget submissions.  0 / -1 with
 * ETIMEDOUT (timeout seconds passed; < 0: no limit), EHOSTDOWN (the
 * controller is lost: see reconnect_timeout), ENOENT (a task could not be
 * submitted again), EDEADLK (called from a callback), or the controller's
 * error. */
ZPAR_API int zpar_client_sync (zpar_client_t *c, double timeout, zpar_error_t *err);

/* How many times this client found a restarted controller (a new hub
 * session) and registered with it again by itself, resynchronising its
 * unfinished futures.  0 for NULL. */
ZPAR_API unsigned zpar_client_reconnects (const zpar_client_t *c);

/* ---------------------------------------------------------------------
 * Results
 * --------------------------------------------------------------------- */

ZPAR_API zpar_task_id_t zpar_result_id (const zpar_result_t *r);
ZPAR_API zpar_status_t zpar_result_status (const zpar_result_t *r);
ZPAR_API int zpar_result_exit_code (const zpar_result_t *r); /* -1 if none */
ZPAR_API int zpar_result_signal (const zpar_result_t *r);    /* 0 if none */
ZPAR_API double zpar_result_wall (const zpar_result_t *r);   /* seconds */
ZPAR_API double zpar_result_cpu (const zpar_result_t *r);    /* user+system seconds */
ZPAR_API long zpar_result_maxrss_kb (const zpar_result_t *r);
ZPAR_API zpar_engine_id_t zpar_result_engine (const zpar_result_t *r);
ZPAR_API const char *zpar_result_host (const zpar_result_t *r);
ZPAR_API unsigned zpar_result_attempts (const zpar_result_t *r);
ZPAR_API const char *zpar_result_error (const zpar_result_t *r); /* "" if none */
ZPAR_API const void *zpar_result_stdout (const zpar_result_t *r, size_t *len);
ZPAR_API const void *zpar_result_stderr (const zpar_result_t *r, size_t *len);
ZPAR_API const void *zpar_result_output (const zpar_result_t *r, size_t *len); /* function output */
ZPAR_API int zpar_result_truncated (const zpar_result_t *r); /* bit 0 stdout, bit 1 stderr */

/* Results fetched from the hub (zpar_client_fetch_result) are owned by
 * the caller and freed with this. */
ZPAR_API void zpar_result_destroy (zpar_result_t *r);

/* One line describing a result, into buf (truncated to size):
 * "3.17 ok: exit 0, 0.010 s wall, 0.002 s cpu, engine 1 (host)", or
 * "3.18 timeout: ran past its timeout and was killed, ...", with ", N
 * attempts" when it ran more than once.  -1 with EINVAL. */
ZPAR_API int zpar_result_summary (const zpar_result_t *r, char *buf, size_t size);

/* A result as one JSON object and a newline on f: id, status, exit_code
 * (null if none), signal, wall, cpu, maxrss_kb, engine (null if none),
 * host, attempts, error, stdout, stderr (JSON strings), stdout_truncated,
 * stderr_truncated, output (base64) and output_encoding ("base64").
 * -1 with EINVAL, or EIO if writing failed. */
ZPAR_API int zpar_result_write_json (const zpar_result_t *r, FILE *f);

/* ---------------------------------------------------------------------
 * Hub queries
 * --------------------------------------------------------------------- */

typedef struct {
    zpar_engine_id_t id;
    char host[256];
    int pid;
    int rank;
    char state[16]; /* "idle", "busy", "dead" */
    unsigned outstanding;
} zpar_engine_info_t;

typedef struct {
    uint64_t pending;
    uint64_t running;
    uint64_t completed; /* finished with status ok */
    uint64_t failed;    /* finished with any other status */
    uint64_t dropped;   /* messages the controller dropped (malformed, forged, replayed) */
    /* The task records (results kept for `zpar result` and restarts): while
     * the controller cannot save them (disk full, I/O error), since_us is
     * when that began (wall clock, microseconds since the epoch) and the
     * rest says how many wait in its memory; all 0 / "" while they are saved. */
    uint64_t records_unsaved_since_us;
    uint64_t records_unsaved;       /* records waiting to be saved */
    uint64_t records_unsaved_bytes; /* their memory in the controller */
    uint64_t records_limit_bytes;   /* the bound on it */
    int records_refusing;           /* bound reached: new tasks are refused */
    char records_error[256];        /* why they cannot be saved */
    uint64_t duplicates;            /* second results and submissions of a task dropped, and tasks
                                       engines were told to drop (the task ran or runs elsewhere) */
} zpar_queue_status_t;

/* The engines the hub knows, in id order.  *list is malloc'd (free()). */
ZPAR_API int zpar_client_engines (zpar_client_t *c, zpar_engine_info_t **list, size_t *n,
                                  zpar_error_t *err);
ZPAR_API int zpar_client_queue_status (zpar_client_t *c, zpar_queue_status_t *st,
                                       zpar_error_t *err);

/* Number of engines the hub knows that are alive (idle or busy), or -1. */
ZPAR_API int zpar_client_engines_alive (zpar_client_t *c, zpar_error_t *err);

/* Wait until at least n engines are registered and alive, at most timeout
 * seconds (< 0: forever).  Returns the number alive (>= n), or -1 with
 * ETIMEDOUT (err: "only K of N engines registered within T s"), EHOSTDOWN
 * (controller lost), EINVAL. */
ZPAR_API int zpar_client_wait_engines (zpar_client_t *c, unsigned n, double timeout,
                                       zpar_error_t *err);

/* The record of any task, submitted by any client, any time earlier.
 * ENOENT if the hub has no such task (an unknown id is asked about again
 * for a second: the hub learns of a task a moment after its submission).
 * A task not finished yet gives a result with status ZPAR_STATUS_PENDING;
 * to wait for it, use zpar_client_future_for. */
ZPAR_API zpar_result_t *zpar_client_fetch_result (zpar_client_t *c, zpar_task_id_t id,
                                                  zpar_error_t *err);

/* Submit again, as a new load-balanced task, the request of an earlier
 * task (from any client).  The new future has a new id. */
ZPAR_API zpar_future_t *zpar_client_resubmit (zpar_client_t *c, zpar_task_id_t id,
                                              zpar_error_t *err);

/* Forget finished tasks: the given one, or all (id.id == 0). */
ZPAR_API int zpar_client_purge (zpar_client_t *c, zpar_task_id_t id, zpar_error_t *err);

/* Control: abort a queued task (load-balanced or on an engine), interrupt
 * (SIGINT, then kill after grace seconds) the task an engine is running. */
ZPAR_API int zpar_client_abort (zpar_client_t *c, zpar_task_id_t id, zpar_error_t *err);
ZPAR_API int zpar_client_interrupt (zpar_client_t *c, zpar_engine_id_t e, zpar_error_t *err);

/* Stop a task wherever it is: taken back while it is queued (as
 * zpar_client_abort), else its engine stops it the way its timeout would
 * -- its stop signal (zpar_task_set_stop_signal; SIGTERM by default), then
 * SIGKILL after its stop grace -- and its result is ABORTED ("stopped on
 * request").  Any task of the cluster, also one another client submitted
 * (followed with zpar_client_future_for); the engine touches nothing else
 * (not the task it runs after that one ended).  0 when it was taken back
 * or is being stopped; -1 with ESRCH when it is neither queued nor running
 * (it has ended), or the errno of the request. */
ZPAR_API int zpar_client_stop (zpar_client_t *c, zpar_task_id_t id, zpar_error_t *err);

/* Run one task on every live engine, or on the ntargets listed, at once
 * (direct submissions), and report per engine: output() with each line
 * of its stdout (stream 1) or stderr (2) as it streams (a line ends in
 * '\n', except the last one of a stream that has none), completed at the
 * end with what streaming missed (the rest of the result's stdout/stderr,
 * unless truncated) and a function task's output (as stream 1); then
 * done() with its result (owned by the call), or with NULL for the engines
 * whose result did not arrive within timeout seconds (< 0: no limit).
 * Engines finish in any order.  The call takes over zpar_client_on_output
 * while it runs and unsubscribes at its end.  Returns 0 once done() was
 * called for every engine; -1 with ENOENT (a target is not an engine of
 * the cluster), ESRCH (a target is dead), ENODEV (no live engine),
 * EHOSTDOWN (the controller was lost; engines done so far were reported),
 * EINVAL, or the errno of zpar_client_engines / zpar_submit_to; err says
 * which. */
typedef struct {
    void (*output) (void *arg, zpar_engine_id_t e, int stream, const void *data, size_t len);
    void (*done) (void *arg, zpar_engine_id_t e, const zpar_result_t *r);
} zpar_each_ops_t;
ZPAR_API int zpar_run_each (zpar_client_t *c, const zpar_task_t *t, const zpar_engine_id_t *targets,
                            size_t ntargets, double timeout, const zpar_each_ops_t *ops, void *arg,
                            zpar_error_t *err);

/* Wait for tasks submitted by any client, by id, at most timeout seconds
 * (< 0: no limit): cb is called once per task as it finishes (in the
 * order they finish) with its index in ids and its result (owned by the
 * call), or with r NULL and cb_err's text when the hub has no such task.
 * Returns 0 once every task was reported; -1 with ETIMEDOUT (the tasks not
 * reported are not finished), EHOSTDOWN (the controller was lost), EINVAL,
 * or the errno of zpar_client_future_for / zpar_future_wait. */
typedef void (*zpar_wait_f) (void *arg, size_t i, zpar_task_id_t id, const zpar_result_t *r,
                             const zpar_error_t *cb_err);
ZPAR_API int zpar_client_wait_ids (zpar_client_t *c, const zpar_task_id_t *ids, size_t n,
                                   double timeout, zpar_wait_f cb, void *arg, zpar_error_t *err);

/* Shut the whole cluster down (engines kill their tasks and exit; the
 * controller flushes its records and exits). */
ZPAR_API int zpar_client_shutdown (zpar_client_t *c, zpar_error_t *err);

/* ---------------------------------------------------------------------
 * Function tasks: what a task function sees
 * --------------------------------------------------------------------- */

/* A task function returns 0 for success, anything else for failure. */
typedef int (zpar_task_fn) (zpar_fn_ctx_t *ctx, const void *input, size_t len);

/* Append bytes to the task's output (returned in zpar_result_output). */
ZPAR_API int zpar_fn_output (zpar_fn_ctx_t *ctx, const void *data, size_t len);
ZPAR_API zpar_engine_id_t zpar_fn_engine (const zpar_fn_ctx_t *ctx);
ZPAR_API int zpar_fn_rank (const zpar_fn_ctx_t *ctx);      /* launcher rank, -1 if none */
ZPAR_API int zpar_fn_cancelled (const zpar_fn_ctx_t *ctx); /* 1 when asked to stop */
/* The engines-only MPI communicator (an MPI_Comm *) when the engine runs
 * under MPI, else NULL. */
ZPAR_API void *zpar_fn_mpi_comm (const zpar_fn_ctx_t *ctx);

#ifdef __cplusplus
}
#endif
#endif
