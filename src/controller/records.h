/* records.h - the hub's task records, in SQLite (WAL mode), written in
 * batches.
 *
 * The hub calls zpar__records_put_* as tasks are submitted, start and end;
 * those calls only append to an in-memory batch.  zpar__records_flush
 * writes the batch in one transaction; the hub calls it every ~50 ms and
 * when the batch reaches ZPAR_RECORDS_BATCH records, so the hot path (the
 * schedulers, in other threads) never waits on the disk.  Lookups read
 * through the same connection after flushing.
 *
 * A record's request and result are given and handed back as packed
 * messages: the encoded header (ZPAR_HDR_LEN bytes) followed by the body,
 * i.e. what zpar__msg_pack makes and zpar__msg_unpack reads.  The put
 * functions take them as two pieces (header, body) so that the hub can
 * store received frames without re-encoding them.  The database keeps them
 * in a compact form (proto_record.h, doc/records.md: layout 2, one row per
 * finished task): every body field comes back; the header's session and
 * seq come back as 0.
 *
 * When a batch cannot be written (disk full, I/O error), nothing is lost
 * while the controller lives: the batch stays in memory, lookups see it
 * (zpar__records_get answers from the database and the batch together),
 * and writing is tried again at most every ZPAR_RECORDS_RETRY_MS until it
 * succeeds.  zpar__records_health says whether records are being saved,
 * since when, how many wait and how much memory they take; past the bound
 * (zpar__records_set_limit) the hub refuses new tasks (admit.h), so the
 * backlog grows only by the results of the tasks already accepted.  A
 * crash while records are not saved loses the batch: a task is durable
 * only once the batch holding its request committed.
 *
 * Ownership: a zpar_records_t belongs to one thread (the hub's).  Blobs
 * passed in are copied; blobs handed out are malloc'd for the caller.
 * Errors: 0 / -1 with errno (EINVAL bad parameter, ENOMEM, EIO database,
 * ENOENT no such task), plus text in a zpar_error_t where one is taken.
 */
#ifndef ZPAR__RECORDS_H
#define ZPAR__RECORDS_H

#include <stddef.h>
#include <stdint.h>

#include "ids.h"
#include "zpar/error.h"

#define ZPAR_RECORDS_BATCH 4096
/* While writes fail: the time between two tries. */
#define ZPAR_RECORDS_RETRY_MS 1000
/* Once they work again: the most written per flush (the rest at once, at
 * the next one), so that a big backlog does not stop the hub for long. */
#define ZPAR_RECORDS_CATCHUP 8192
/* The default bound on the memory of the records waiting to be saved. */
#define ZPAR_RECORDS_LIMIT_DEFAULT ((size_t)256 << 20)

typedef struct zpar_records zpar_records_t;

typedef enum {
    ZPAR_REC_PENDING = 0,
    ZPAR_REC_RUNNING = 1,
    ZPAR_REC_DONE = 2,
} zpar_rec_state_t;

/* Open (create) the database at path.  NULL with errno and err (EINVAL:
 * no path; EIO: cannot open, not a database, cannot create the schema;
 * EPROTO: a database of another record layout, left as it is). */
zpar_records_t *zpar__records_open (const char *path, zpar_error_t *err);
/* Flush, then close.  NULL-safe, keeps errno. */
void zpar__records_close (zpar_records_t *r);

/* A task (id != 0) was submitted: its request as header + body (copied;
 * body may be NULL when blen is 0).  when_us: wall clock. */
int zpar__records_put_request (zpar_records_t *r, zpar_tid_t id, zpar_cid_t client,
                               zpar_eid_t engine, const void *hdr, size_t hlen, const void *body,
                               size_t blen, uint64_t when_us);
/* A task was handed to an engine. */
int zpar__records_put_running (zpar_records_t *r, zpar_tid_t id, zpar_eid_t engine,
                               uint64_t when_us);
/* A task finished: its result as header + body (copied) and its status
 * (zpar_status_t). */
int zpar__records_put_result (zpar_records_t *r, zpar_tid_t id, zpar_eid_t engine, int status,
                              const void *hdr, size_t hlen, const void *body, size_t blen,
                              uint64_t when_us);

/* Write the batch in one transaction.  0 / -1 with errno (ENOSPC disk
 * full, EIO...; the batch is kept, to be tried again) and err.  After a
 * failure, a call before ZPAR_RECORDS_RETRY_MS have passed does not try:
 * -1 EAGAIN, err holding the last failure.  When writes work again, a
 * backlog of more than ZPAR_RECORDS_CATCHUP is written that many per call:
 * -1 EAGAIN ("catching up") until the last part. */
int zpar__records_flush (zpar_records_t *r, zpar_error_t *err);
/* Give back the database connection's cache (after a burst; the next
 * lookups read the pages again).  NULL-safe. */
void zpar__records_trim (zpar_records_t *r);

/* Number of puts waiting for a flush (0 for NULL). */
size_t zpar__records_batched (const zpar_records_t *r);

/* Whether records are being saved. */
typedef struct {
    size_t unsaved;    /* puts waiting to be written (also between two normal flushes) */
    size_t bytes;      /* the memory they hold */
    size_t limit;      /* the bound on bytes (zpar__records_set_limit) */
    uint64_t since_us; /* wall clock of the first failed write; 0: saving works */
    uint64_t failures; /* failed writes since then */
    int refusing;      /* writes fail and bytes >= limit: refuse new tasks */
    int errnum;        /* errno of the last failure (ENOSPC: disk full), 0 */
    int catching_up;   /* writes work again; the backlog is being written */
    char error[ZPAR_ERROR_TEXT_MAX]; /* the last failure ("" when saving works) */
} zpar_records_health_t;

/* Fill *h.  0 / -1 EINVAL. */
int zpar__records_health (const zpar_records_t *r, zpar_records_health_t *h);
/* Set the bound on the memory of unsaved records (0: the default).
 * NULL-safe. */
void zpar__records_set_limit (zpar_records_t *r, size_t bytes);
/* Called (in the records' thread) each time "refusing" of the health
 * changes, with the new value: the hub opens and closes the door to new
 * tasks there (admit.h), before anything else happens.  fn NULL: none. */
typedef void (*zpar_records_refusing_f) (void *arg, int refusing);
void zpar__records_on_refusing (zpar_records_t *r, zpar_records_refusing_f fn, void *arg);

/* For tests: make the database refuse to grow past pages pages (SQLite's
 * max_page_count), as a full disk does.  0 / -1 errno. */
int zpar__records_test_max_pages (zpar_records_t *r, unsigned long pages);

/* Look a task up (flushes first; a batch that could not be written is
 * looked at too).  *state, *status set; *req and *res (each may be NULL
 * when not wanted): malloc'd copies the caller frees, NULL when absent.
 * -1 ENOENT if no such task, EIO, ENOMEM. */
int zpar__records_get (zpar_records_t *r, zpar_tid_t id, int *state, int *status, uint8_t **req,
                       size_t *reqlen, uint8_t **res, size_t *reslen);

/* A task's state and status only, as zpar__records_get, without writing
 * the batch first (for the hot path).  -1 ENOENT, EIO, ENOMEM, EINVAL. */
int zpar__records_state (zpar_records_t *r, zpar_tid_t id, int *state, int *status);

/* Delete finished records: one id, or all (id 0).  Returns the count
 * deleted, -1 with errno (ENOSPC or EIO: records not saved, nothing
 * deleted; try again once they are). */
long zpar__records_purge (zpar_records_t *r, zpar_tid_t id);

/* Called for each task recorded pending or running, in id order, with its
 * request (NULL, 0 if none was recorded).  req is valid during the call. */
typedef void (*zpar_records_unfinished_f) (void *arg, zpar_tid_t id, int state, zpar_eid_t engine,
                                           const void *req, size_t len);
/* Tasks recorded pending or running (for recovery after a restart). */
int zpar__records_unfinished (zpar_records_t *r, zpar_records_unfinished_f cb, void *arg);

/* Counts of finished records: status ok and not ok. */
int zpar__records_counts (zpar_records_t *r, uint64_t *ok, uint64_t *notok);

/* Increment the persistent counter name (created at 0) and return its new
 * value in *v (e.g. the next client number).  While records are not
 * saved, the increment joins the batch (values stay unique while the
 * controller lives). */
int zpar__records_next_counter (zpar_records_t *r, const char *name, uint64_t *v);

/* The engine id last given to the engine with this uuid, kept across
 * controller restarts so that an id is not given to another process.
 * get: 0, -1 ENOENT (never seen), EIO.  put: record it, and raise the
 * persistent "engine_next" counter (zpar__records_counter: the highest id
 * handed out so far) to next_engine if it is lower.  0 / -1 errno. */
int zpar__records_engine_get (zpar_records_t *r, const char *uuid, zpar_eid_t *id);
int zpar__records_engine_put (zpar_records_t *r, const char *uuid, zpar_eid_t id,
                              uint32_t next_engine);
/* Raise the persistent counter name to v (no change if it is higher). */
int zpar__records_counter_raise (zpar_records_t *r, const char *name, uint64_t v);
/* The value of the persistent counter name (0 if it was never set). */
int zpar__records_counter (zpar_records_t *r, const char *name, uint64_t *v);

#endif
