/* journal.h - the SQLite journal of a sweep: what ran, where, and how it
 * ended.  Internal.
 *
 * One row per point, keyed by the point's stable key (spec.h), plus a meta
 * table (sweep name, sweep file hash, schema version).  The database runs in
 * WAL mode with synchronous=NORMAL.
 *
 * Every write error is reported (disk full: "database or disk is full");
 * a record whose commit failed is not in the journal, whatever it said.
 *
 * Writes are batched: records go into an open transaction that is committed
 * by zpar__journal_flush, automatically after `max_records` records, or by
 * the first record or zpar__journal_tick once it is `max_ms` old.  A crash
 * (even SIGKILL) loses at most the uncommitted batch, and the database stays
 * consistent: only committed states are trusted.  A point whose success was
 * not committed runs again; a point whose success was committed never runs
 * again.  Reads through this handle see its own uncommitted records.
 *
 * A journal handle is not thread-safe; use one per thread.
 */
#ifndef ZPAR__SWEEP_JOURNAL_H
#define ZPAR__SWEEP_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

#include "zpar/error.h"

typedef struct zpar_journal zpar_journal_t;

typedef enum {
    ZPAR_JSTATE_ABSENT = 0, /* the key is not in the journal */
    ZPAR_JSTATE_PENDING = 1,
    ZPAR_JSTATE_RUNNING = 2,
    ZPAR_JSTATE_SUCCEEDED = 3,
    ZPAR_JSTATE_FAILED = 4,
    ZPAR_JSTATE_COUNT = 5,
} zpar_jstate_t;

/* Defaults of the automatic flush. */
#define ZPAR_JOURNAL_BATCH_RECORDS 256
#define ZPAR_JOURNAL_BATCH_MS      1000

/* A point handed to an engine.  Strings are copied; NULL means unknown. */
typedef struct {
    const char *key; /* required */
    uint64_t index;
    const char *params_json; /* required: {"x":1,...} */
    const char *stdout_path;
    const char *stderr_path;
    const char *task_id; /* the task's id (zpar_task_id_format), recorded before
                            the task is submitted: it stays the point's
                            "inflight" task until its end is recorded */
    const char *engine;
    const char *host;
    const char *cluster; /* identity of the cluster it goes to (NULL: unknown) */
} zpar_journal_dispatch_t;

/* How a dispatched point ended. */
typedef struct {
    const char *key;     /* required; must have been dispatched */
    zpar_jstate_t state; /* ZPAR_JSTATE_SUCCEEDED or ZPAR_JSTATE_FAILED (or
                            PENDING: a lost attempt that will be retried) */
    int exit_code;       /* -1 when the process did not exit normally */
    int signal;          /* 0 when not killed by a signal */
    double wall_s;       /* < 0 when unknown */
    int64_t max_rss_kb;  /* < 0 when unknown */
    const char *engine;  /* NULL: keep the value recorded at dispatch */
    const char *host;
    const char *error; /* NULL or a human explanation (timeout, lost engine) */
} zpar_journal_result_t;

/* One journal row.  Strings belong to the journal and stay valid until the
 * next call on the handle (or the callback returns); NULL when unknown. */
typedef struct {
    const char *key;
    uint64_t index;
    const char *params_json;
    zpar_jstate_t state;
    int exit_code; /* -1 when none */
    int signal;    /* 0 when none */
    int attempts;
    double wall_s;      /* -1 when unknown */
    int64_t max_rss_kb; /* -1 when unknown */
    const char *engine;
    const char *host;
    const char *stdout_path;
    const char *stderr_path;
    const char *task_id;
    const char *error;
    double created, started, finished; /* Unix time, 0 when not set */
    const char *inflight;              /* the task submitted and not known to have ended (its
                                          id), or NULL */
    const char *cluster;               /* the cluster it was submitted to, or NULL */
} zpar_journal_row_t;

/* Return 0 to continue, anything else to stop the iteration (which then
 * returns that value). */
typedef int (*zpar_journal_row_f) (const zpar_journal_row_t *row, void *arg);

/* "pending", "running", "succeeded", "failed", "absent". */
const char *zpar__journal_state_name (zpar_jstate_t s);

/* Open the journal at path, creating it (and its schema) if needed.  If
 * the journal already belongs to a sweep of another name, fail with
 * EEXIST.  NULL with errno and err on any failure (the file is not created
 * when sweep_name is invalid). */
zpar_journal_t *zpar__journal_open (const char *path, const char *sweep_name, zpar_error_t *err);

/* Flush (errors are ignored: unflushed records are lost as after a crash)
 * and close.  NULL-safe; keeps errno. */
void zpar__journal_close (zpar_journal_t *j);

/* Set the automatic flush: after max_records records (>= 1) or when the
 * batch is max_ms milliseconds old (0: no age limit).  EINVAL otherwise. */
int zpar__journal_set_batch (zpar_journal_t *j, unsigned max_records, unsigned max_ms);

/* Start a run: points left 'running' by a previous run that died become
 * 'pending' again, keeping their task in flight (a cluster that is still
 * running may have their results: zpar__journal_adopted) (*requeued, if
 * not NULL, gets their number); record the
 * sweep file's hash (*file_changed, if not NULL, is 1 when it differs from
 * the previous run's).  Commits immediately. */
int zpar__journal_begin_run (zpar_journal_t *j, const char *file_hash, int *requeued,
                             int *file_changed, zpar_error_t *err);

/* State of key (ZPAR_JSTATE_ABSENT if unknown) and, if attempts is not
 * NULL, its attempt count.  0, or -1 with errno and err. */
int zpar__journal_lookup (zpar_journal_t *j, const char *key, zpar_jstate_t *state, int *attempts,
                          zpar_error_t *err);

/* The row of key: 1 and *row filled, 0 when absent, -1 on error. */
int zpar__journal_get (zpar_journal_t *j, const char *key, zpar_journal_row_t *row,
                       zpar_error_t *err);

/* Record a dispatch: the point becomes 'running', its attempt count grows
 * by one (a new point starts at 1), and d->task_id (with d->cluster)
 * becomes its task in flight until zpar__journal_finished.  Batched: to
 * have the id durable before the task can run, flush before submitting. */
int zpar__journal_dispatched (zpar_journal_t *j, const zpar_journal_dispatch_t *d,
                              zpar_error_t *err);

/* A later run takes over the task in flight of a point (its result will
 * come from the cluster that still has it): the point is 'running' again,
 * its attempt count unchanged.  ENOENT when the point has no task in
 * flight.  Batched. */
int zpar__journal_adopted (zpar_journal_t *j, const char *key, zpar_error_t *err);

/* Record the end of an attempt (the point has no task in flight any
 * more).  ENOENT if the key was never dispatched, EINVAL on a bad state.
 * Batched. */
int zpar__journal_finished (zpar_journal_t *j, const zpar_journal_result_t *r, zpar_error_t *err);

/* Commit the current batch, if any. */
int zpar__journal_flush (zpar_journal_t *j, zpar_error_t *err);

/* Commit the current batch if it is older than the age limit. */
int zpar__journal_tick (zpar_journal_t *j, zpar_error_t *err);

/* Number of records not yet committed. */
unsigned zpar__journal_unflushed (const zpar_journal_t *j);

/* counts[s] = number of rows in state s, for every s < ZPAR_JSTATE_COUNT
 * (counts[ZPAR_JSTATE_ABSENT] = 0). */
int zpar__journal_counts (zpar_journal_t *j, uint64_t counts[ZPAR_JSTATE_COUNT], zpar_error_t *err);

/* The set of keys of the current sweep (a temporary table of this handle):
 * clear it, add to it, then list the rows whose key is not in it (points
 * that the edited sweep file no longer has), in index order.  Adding is
 * batched like the records. */
int zpar__journal_current_clear (zpar_journal_t *j, zpar_error_t *err);
int zpar__journal_current_add (zpar_journal_t *j, const char *key, zpar_error_t *err);
int zpar__journal_foreach_removed (zpar_journal_t *j, zpar_journal_row_f cb, void *arg,
                                   zpar_error_t *err);

/* Every row, in index order (then key). */
int zpar__journal_foreach (zpar_journal_t *j, zpar_journal_row_f cb, void *arg, zpar_error_t *err);

/* Take the run lock of the journal at path: an exclusive flock on
 * "<path>.lock" (created), held until the returned descriptor is closed.
 * The descriptor, or -1 with errno and err: EWOULDBLOCK when another run
 * holds it, ENAMETOOLONG, EINVAL, or open's errno. */
int zpar__journal_lock (const char *path, zpar_error_t *err);

/* The database under the journal, for the tables other modules keep in
 * it (resubmit.h: jobs).  They commit the journal's batch first
 * (zpar__journal_flush) and their own writes before they return. */
struct zpar_db;
struct zpar_db *zpar__journal_db (zpar_journal_t *j);

/* A meta value (malloc'd; NULL with ENOENT when unset). */
char *zpar__journal_meta_get (zpar_journal_t *j, const char *name);

#endif
